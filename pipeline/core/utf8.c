/* UTF-8 validation and repair (see utf8.h). */
#include "pipeline/core/utf8.h"

#include <stdatomic.h>
#include <string.h>

static _Atomic uint64_t repairs;

void pg_utf8_note_repair(void)
{
    atomic_fetch_add_explicit(&repairs, 1, memory_order_relaxed);
}

uint64_t pg_utf8_repairs(void)
{
    return atomic_load_explicit(&repairs, memory_order_relaxed);
}

/* Bytes from i on that are plain ASCII, skipped a word at a time. */
static size_t ascii_run(const unsigned char *u, size_t i, size_t n)
{
    while (i + 8 <= n) {
        uint64_t w;
        memcpy(&w, u + i, 8);
        if (w & 0x8080808080808080ull) break;
        i += 8;
    }
    while (i < n && u[i] < 0x80)
        i++;
    return i;
}

/* Scans s, borrowed. */
int pg_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = ascii_run(u, 0, n); i < n; i = ascii_run(u, i, n)) {
        size_t k = pg_utf8_seq_len(u + i, n - i);
        if (!k) return 0;
        i += k;
    }
    return 1;
}

/* Scans s, borrowed. */
size_t pg_utf8_repaired_len(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t out = 0;
    for (size_t i = 0; i < n;) {
        size_t k = pg_utf8_seq_len(u + i, n - i);
        out += k ? k : 3;
        i += k ? k : 1;
    }
    return out;
}

/* Copies s (borrowed) into out (caller-owned, pg_utf8_repaired_len bytes). */
size_t pg_utf8_repair(const char *s, size_t n, char *out)
{
    static const char fffd[3] = {(char)0xef, (char)0xbf, (char)0xbd};
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = pg_utf8_seq_len(u + i, n - i);
        if (k) {
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(out + o, fffd, 3);
            o += 3;
            i++;
        }
    }
    return o;
}
