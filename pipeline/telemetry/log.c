/* Logging: one line per event to stderr (or a test's FILE), text or JSON, level-filtered.
 * The whole line is built in memory and written with one fwrite under the stdio lock, so
 * lines from concurrent threads never interleave. Messages are escaped: a text line never
 * contains a raw control character (so an event is always one line) and a JSON line is
 * valid JSON with valid UTF-8 (invalid bytes become U+FFFD). */
#include "pipeline/telemetry/log.h"
#include "pipeline/core/utf8.h"
#include "pipeline/core/vec.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static atomic_int log_min = PG_LOG_INFO;
static atomic_int log_json;
static FILE *_Atomic log_out; /* NULL: stderr */

/* A small growable line buffer: starts on the stack, moves to the heap when needed. When
 * memory runs out the line is truncated, never lost. */
typedef struct line {
    char *p;
    size_t len, cap;
    bool heap;
    char stack[1024];
} line;

/* Appends n bytes; on allocation failure drops them (the line is still written). */
static void put(line *l, const char *s, size_t n)
{
    if (l->len + n > l->cap) {
        size_t cap = n > SIZE_MAX - l->len ? 0 : pg_vec_next_cap(l->cap, l->len + n, 1, 0);
        char *np = !cap ? NULL : l->heap ? realloc(l->p, cap) : malloc(cap);
        if (!np) return;
        if (!l->heap) memcpy(np, l->p, l->len);
        l->p = np;
        l->cap = cap;
        l->heap = true;
    }
    memcpy(l->p + l->len, s, n);
    l->len += n;
}

static void puts_(line *l, const char *s)
{
    put(l, s, strlen(s));
}

/* Appends s escaped: JSON string content (json) or text with C-style escapes for control
 * characters and backslashes kept as is. Borrows s. */
static void put_escaped(line *l, const char *s, bool json)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    char tmp[8];
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        const char *esc = NULL;
        switch (c) {
        case '\n':
            esc = "\\n";
            break;
        case '\r':
            esc = "\\r";
            break;
        case '\t':
            esc = "\\t";
            break;
        case '"':
            esc = json ? "\\\"" : NULL;
            break;
        case '\\':
            esc = json ? "\\\\" : NULL;
            break;
        default:
            break;
        }
        if (esc) {
            puts_(l, esc);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(tmp, sizeof tmp, json ? "\\u%04x" : "\\x%02x", c);
            puts_(l, tmp);
            i++;
        } else if (c < 0x80) {
            put(l, (const char *)u + i, 1);
            i++;
        } else {
            size_t k = json ? pg_utf8_seq_len(u + i, n - i) : 1;
            if (k == 0) {
                puts_(l, "\\ufffd");
                i++;
            } else {
                put(l, (const char *)u + i, k);
                i += k;
            }
        }
    }
}

static const char *level_name(pg_log_level lvl)
{
    switch (lvl) {
    case PG_LOG_DEBUG:
        return "debug";
    case PG_LOG_INFO:
        return "info";
    case PG_LOG_WARN:
        return "warn";
    case PG_LOG_ERROR:
        return "error";
    }
    return "info";
}

/* Writes the current UTC time as 2026-11-22T10:00:00.123Z into out (>= 32 bytes). */
static void format_time(char *out, size_t outlen)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (tm.tm_year + 1900) % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100, (int)(ts.tv_nsec / 1000000) % 1000);
}

void pg_log_configure(pg_log_level min_level, int json)
{
    atomic_store(&log_min, (int)min_level);
    atomic_store(&log_json, json ? 1 : 0);
}

int pg_log_enabled(pg_log_level lvl)
{
    return (int)lvl >= atomic_load(&log_min);
}

/* Borrows f (NULL: back to stderr); the caller keeps it open while logging may happen. */
void pg_log_set_output(FILE *f)
{
    atomic_store(&log_out, f);
}

/* Formats the message (heap only when it exceeds the stack buffer), builds the line and
 * writes it at once. Borrows every argument. */
void pg_log(pg_log_level lvl, const char *component_id, const char *fmt, ...)
{
    if (!pg_log_enabled(lvl)) return;
    char mstack[512], *msg = mstack;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(mstack, sizeof mstack, fmt, ap);
    va_end(ap);
    if (n < 0) {
        snprintf(mstack, sizeof mstack, "(unformattable log message)");
    } else if ((size_t)n >= sizeof mstack) {
        char *big = malloc((size_t)n + 1);
        if (big) {
            va_start(ap, fmt);
            vsnprintf(big, (size_t)n + 1, fmt, ap);
            va_end(ap);
            msg = big;
        }
    }
    const char *comp = component_id && *component_id ? component_id : "service";
    bool json = atomic_load(&log_json);
    char ts[40];
    format_time(ts, sizeof ts);

    line l = {.len = 0, .cap = sizeof l.stack, .heap = false};
    l.p = l.stack;
    if (json) {
        puts_(&l, "{\"ts\":\"");
        puts_(&l, ts);
        puts_(&l, "\",\"level\":\"");
        puts_(&l, level_name(lvl));
        puts_(&l, "\",\"component\":\"");
        put_escaped(&l, comp, true);
        puts_(&l, "\",\"msg\":\"");
        put_escaped(&l, msg, true);
        puts_(&l, "\"}\n");
    } else {
        puts_(&l, ts);
        puts_(&l, " ");
        puts_(&l, level_name(lvl));
        puts_(&l, " ");
        put_escaped(&l, comp, false);
        puts_(&l, ": ");
        put_escaped(&l, msg, false);
        puts_(&l, "\n");
    }
    FILE *f = atomic_load(&log_out);
    if (!f) f = stderr;
    flockfile(f);
    fwrite(l.p, 1, l.len, f);
    fflush(f);
    funlockfile(f);
    if (l.heap) free(l.p);
    if (msg != mstack) free(msg);
}
