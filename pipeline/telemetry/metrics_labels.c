/* Metric names, label text and value formatting for the Prometheus text format 0.0.4:
 * names [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*, label values escaped
 * as \\ \" \n, HELP text escaped as \\ \n. */
#include "pipeline/telemetry/metrics_int.h"
#include "pipeline/core/err.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool name_char(char c, bool first, bool colon)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
    if (colon && c == ':') return true;
    return !first && c >= '0' && c <= '9';
}

/* Returns a malloc'd sanitized metric name (see metrics_int.h), NULL on OOM. */
char *pg_metrics_sanitize_name(const char *name, bool total)
{
    size_t n = strlen(name);
    bool lead = n == 0 || (name[0] >= '0' && name[0] <= '9');
    bool add_total = total && (n < 6 || strcmp(name + n - 6, "_total") != 0);
    char *out = malloc(n + (lead ? 1 : 0) + (add_total ? 6 : 0) + 1);
    if (!out) return NULL;
    size_t k = 0;
    if (lead) out[k++] = '_';
    for (size_t i = 0; i < n; i++)
        out[k++] = name_char(name[i], false, true) ? name[i] : '_';
    if (add_total) {
        memcpy(out + k, "_total", 6);
        k += 6;
    }
    out[k] = 0;
    return out;
}

int pg_metrics_put_escaped(pg_buf *out, const char *s, bool help)
{
    const char *run = s;
    for (; *s; s++) {
        const char *esc = NULL;
        if (*s == '\\')
            esc = "\\\\";
        else if (*s == '\n')
            esc = "\\n";
        else if (*s == '"' && !help)
            esc = "\\\"";
        if (!esc) continue;
        pg_buf_append(out, run, (size_t)(s - run));
        pg_buf_append(out, esc, 2);
        run = s + 1;
    }
    pg_buf_append(out, run, (size_t)(s - run));
    return out->failed;
}

static void skip_ws(const char **p)
{
    while (**p == ' ' || **p == '\t')
        (*p)++;
}

/* Parses the label text into canonical form (see metrics_int.h). */
char *pg_metrics_canon_labels(const char *labels, bool forbid_le, bool *bad)
{
    pg_buf out = {0};
    *bad = false;
    const char *p = labels ? labels : "";
    skip_ws(&p);
    while (*p) {
        const char *name = p;
        if (!name_char(*p, true, false)) goto malformed;
        while (name_char(*p, false, false))
            p++;
        size_t nlen = (size_t)(p - name);
        if (forbid_le && nlen == 2 && memcmp(name, "le", 2) == 0) goto malformed;
        skip_ws(&p);
        if (*p++ != '=') goto malformed;
        skip_ws(&p);
        if (*p++ != '"') goto malformed;
        if (out.len) pg_buf_append(&out, ",", 1);
        pg_buf_append(&out, name, nlen);
        pg_buf_append(&out, "=\"", 2);
        for (;;) {
            char c = *p++;
            if (c == 0) goto malformed;
            if (c == '"') break;
            if (c == '\\') {
                char e = *p++;
                if (e == 'n')
                    pg_buf_append(&out, "\\n", 2);
                else if (e == '\\' || e == '"')
                    pg_buf_append(&out, (char[]){'\\', e}, 2);
                else
                    goto malformed;
            } else if (c == '\n') {
                pg_buf_append(&out, "\\n", 2);
            } else {
                pg_buf_append(&out, &c, 1);
            }
        }
        pg_buf_append(&out, "\"", 1);
        skip_ws(&p);
        if (*p == ',') {
            p++;
            skip_ws(&p);
            if (!*p) break; /* a trailing comma is allowed */
        } else if (*p) {
            goto malformed;
        }
    }
    pg_buf_append(&out, "", 1);
    if (out.failed) {
        pg_buf_free(&out);
        return NULL;
    }
    return (char *)out.data;
malformed:
    pg_buf_free(&out);
    *bad = true;
    return NULL;
}

/* Appends `name="value"` (value escaped) to the label text in out, after a comma when out
 * is not empty. Borrows everything. Returns 0, PG_ELIMIT when out is too small (out is then
 * left unchanged), PG_EINVAL when name is not a valid label name, or PG_ENOMEM. */
int pg_metrics_label(char *out, size_t outlen, const char *name, const char *value)
{
    if (!out || !outlen || !name || !*name || !name_char(name[0], true, false)) return PG_EINVAL;
    for (const char *q = name; *q; q++)
        if (!name_char(*q, false, false)) return PG_EINVAL;
    pg_buf b = {0};
    size_t used = strnlen(out, outlen);
    if (used == outlen) return PG_ELIMIT;
    if (used) pg_buf_append(&b, ",", 1);
    pg_buf_append(&b, name, strlen(name));
    pg_buf_append(&b, "=\"", 2);
    pg_metrics_put_escaped(&b, value ? value : "", false);
    pg_buf_append(&b, "\"", 1);
    int rc = b.failed ? b.failed : PG_ELIMIT;
    if (!b.failed && used + b.len < outlen) {
        memcpy(out + used, b.data, b.len);
        out[used + b.len] = 0;
        rc = 0;
    }
    pg_buf_free(&b);
    return rc;
}

/* Writes the shortest decimal text that reads back as v (integers without exponent up to
 * 2^53), or NaN / +Inf / -Inf. */
void pg_metrics_fmt_double(char *out, size_t outlen, double v)
{
    if (isnan(v)) {
        snprintf(out, outlen, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, outlen, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == trunc(v) && fabs(v) <= 9007199254740992.0) {
        snprintf(out, outlen, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, outlen, "%.*g", prec, v);
        if (strtod(out, NULL) == v) return;
    }
}
