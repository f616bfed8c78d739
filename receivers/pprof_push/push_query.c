/* The /ingest query: URL decoding, Pyroscope times (`attime`) and the `name` parameter's
 * app name and {k=v} labels (see pprof_push_int.h). */
#include "receivers/pprof_push/pprof_push_int.h"

#include "pipeline/core/err.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Pyroscope's per-type app name suffixes (an SDK names a series `app.<type>`). */
static const char *const TYPE_SUFFIXES[] = {
    "cpu",
    "wall",
    "itimer",
    "alloc_objects",
    "alloc_space",
    "inuse_objects",
    "inuse_space",
    "goroutines",
    "mutex_count",
    "mutex_duration",
    "block_count",
    "block_duration",
    "lock_count",
    "lock_duration",
    "alloc_in_new_tlab_objects",
    "alloc_in_new_tlab_bytes",
    "alloc_outside_tlab_objects",
    "alloc_outside_tlab_bytes",
    "exceptions",
};

/* Returns the value of one hex digit, or -2 when c is not one. */
static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -2;
}

/* Returns a malloc'd, percent- and '+'-decoded copy of s[0..n), or NULL (OOM, bad escape
 * or a decoded NUL; *bad tells which). */
static char *url_decode(const char *s, size_t n, int *bad)
{
    char *o = malloc(n + 1);
    size_t k = 0;
    *bad = 0;
    if (!o) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+')
            o[k++] = ' ';
        else if (s[i] == '%') {
            int h = i + 2 < n ? hexval(s[i + 1]) : -2;
            int l = i + 2 < n ? hexval(s[i + 2]) : -2;
            if (h < 0 || l < 0 || (h == 0 && l == 0)) {
                free(o);
                *bad = 1;
                return NULL;
            }
            o[k++] = (char)(h * 16 + l);
            i += 2;
        } else
            o[k++] = s[i];
    }
    o[k] = '\0';
    return o;
}

/* See pprof_push_int.h. */
int push_time_parse(const char *s, uint64_t now_ns, uint64_t *out_ns)
{
    if (!s || !*s) return PG_EINVAL;
    if (strncmp(s, "now", 3) == 0) {
        const char *p = s + 3;
        if (!*p) {
            *out_ns = now_ns;
            return 0;
        }
        if (*p != '-' || !isdigit((unsigned char)p[1])) return PG_EINVAL;
        char *end;
        unsigned long long v = strtoull(p + 1, &end, 10);
        uint64_t unit = 0;
        if (end[0] && !end[1]) {
            switch (end[0]) {
            case 's':
                unit = 1000000000ull;
                break;
            case 'm':
                unit = 60ull * 1000000000ull;
                break;
            case 'h':
                unit = 3600ull * 1000000000ull;
                break;
            case 'd':
                unit = 86400ull * 1000000000ull;
                break;
            default:
                break;
            }
        }
        if (!unit || v > now_ns / unit) return PG_EINVAL;
        *out_ns = now_ns - v * unit;
        return 0;
    }
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (!isdigit((unsigned char)*p) || v > (UINT64_MAX - 9) / 10) return PG_EINVAL;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    /* seconds until year 5138, then ms, us, ns */
    if (v < 100000000000ull) {
        if (v > UINT64_MAX / 1000000000ull) return PG_EINVAL;
        *out_ns = v * 1000000000ull;
    } else if (v < 100000000000000ull)
        *out_ns = v * 1000000ull;
    else if (v < 100000000000000000ull)
        *out_ns = v * 1000ull;
    else
        *out_ns = v;
    return 0;
}

/* Sets *dst to a decoded copy of the value; PG_EINVAL or PG_ENOMEM with a message. */
static int take(char **dst, const char *key, const char *v, size_t vl, char *err, size_t errlen)
{
    int bad;
    char *d = url_decode(v, vl, &bad);
    if (!d)
        return bad ? pg_err(err, errlen, PG_EINVAL, "query %s: bad percent escape", key)
                   : pg_err(err, errlen, PG_ENOMEM, "out of memory");
    free(*dst);
    *dst = d;
    return 0;
}

/* See pprof_push_int.h. */
int push_query_parse(const char *query, uint64_t now_ns, push_query *q, char *err, size_t errlen)
{
    memset(q, 0, sizeof *q);
    q->sample_rate = 100;
    char *from = NULL, *until = NULL, *rate = NULL;
    int rc = 0;
    const char *s = query ? query : "";
    while (*s && rc == 0) {
        const char *amp = strchr(s, '&');
        size_t pl = amp ? (size_t)(amp - s) : strlen(s);
        const char *eq = memchr(s, '=', pl);
        size_t kl = eq ? (size_t)(eq - s) : pl;
        const char *v = eq ? eq + 1 : s + pl;
        size_t vl = eq ? pl - kl - 1 : 0;
        char **dst = NULL;
#define KEY(k) (kl == sizeof(k) - 1 && memcmp(s, k, kl) == 0)
        if (KEY("name"))
            dst = &q->name;
        else if (KEY("format"))
            dst = &q->format;
        else if (KEY("spyName"))
            dst = &q->spy_name;
        else if (KEY("from"))
            dst = &from;
        else if (KEY("until"))
            dst = &until;
        else if (KEY("sampleRate"))
            dst = &rate;
#undef KEY
        if (dst) rc = take(dst, dst == &q->name ? "name" : "parameter", v, vl, err, errlen);
        s += pl + (amp ? 1 : 0);
    }
    if (rc == 0 && !q->format && !(q->format = strdup("")))
        rc = pg_err(err, errlen, PG_ENOMEM, "out of memory");
    if (rc == 0 && !q->spy_name && !(q->spy_name = strdup("")))
        rc = pg_err(err, errlen, PG_ENOMEM, "out of memory");
    if (rc == 0 && from && *from && push_time_parse(from, now_ns, &q->from_ns))
        rc = pg_err(err, errlen, PG_EINVAL,
                    "query from=\"%.40s\": not a unix time (s, ms, us or ns) or now[-<n>s|m|h|d]",
                    from);
    if (rc == 0 && until && *until && push_time_parse(until, now_ns, &q->until_ns))
        rc = pg_err(err, errlen, PG_EINVAL,
                    "query until=\"%.40s\": not a unix time (s, ms, us or ns) or now[-<n>s|m|h|d]",
                    until);
    if (rc == 0 && rate && *rate) { /* as Pyroscope: an invalid rate means the default */
        char *end;
        long long v = strtoll(rate, &end, 10);
        if (!*end && v > 0) q->sample_rate = v;
    }
    free(from);
    free(until);
    free(rate);
    if (rc) push_query_free(q);
    return rc;
}

void push_query_free(push_query *q)
{
    free(q->name);
    free(q->format);
    free(q->spy_name);
    memset(q, 0, sizeof *q);
}

/* 1 when s[0..n) is a label name: [A-Za-z_][A-Za-z0-9_.]*. */
static int label_name_ok(const char *s, size_t n)
{
    if (n == 0 || isdigit((unsigned char)s[0]) || s[0] == '.') return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '.') return 0;
    return 1;
}

/* See pprof_push_int.h. */
int push_labels_add(push_labels *ls, const char *name, size_t nl, const char *value, size_t vl,
                    const push_label_limits *lim, char *err, size_t errlen)
{
    if (!label_name_ok(name, nl))
        return pg_err(err, errlen, PG_EINVAL, "label name \"%.*s\" is not [A-Za-z_][A-Za-z0-9_.]*",
                      (int)(nl > 64 ? 64 : nl), name);
    if (nl > lim->max_name)
        return pg_err(err, errlen, PG_ELIMIT, "label name \"%.32s...\" over %zu bytes", name,
                      lim->max_name);
    if (vl > lim->max_value)
        return pg_err(err, errlen, PG_ELIMIT, "label %.*s: value over %zu bytes",
                      (int)(nl > 64 ? 64 : nl), name, lim->max_value);
    int is_name = nl == 8 && memcmp(name, "__name__", 8) == 0;
    if (!is_name && nl >= 2 && name[0] == '_' && name[1] == '_') return 0; /* derived again */
    char *v = strndup(value, vl);
    if (!v) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    if (is_name) {
        free(ls->profile_name);
        ls->profile_name = v;
        return 0;
    }
    if (nl == 12 && memcmp(name, "service_name", 12) == 0) {
        free(ls->service);
        ls->service = v;
        return 0;
    }
    for (size_t i = 0; i < ls->n; i++)
        if (strlen(ls->l[i].name) == nl && memcmp(ls->l[i].name, name, nl) == 0) {
            free(ls->l[i].value);
            ls->l[i].value = v;
            return 0;
        }
    if (ls->n >= lim->max_labels) {
        free(v);
        return pg_err(err, errlen, PG_ELIMIT, "more than %zu series labels", lim->max_labels);
    }
    if (ls->n == ls->cap) {
        size_t cap = ls->cap ? ls->cap * 2 : 8;
        push_label *nlp = realloc(ls->l, cap * sizeof *nlp);
        if (!nlp) {
            free(v);
            return pg_err(err, errlen, PG_ENOMEM, "out of memory");
        }
        ls->l = nlp;
        ls->cap = cap;
    }
    char *k = strndup(name, nl);
    if (!k) {
        free(v);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    ls->l[ls->n++] = (push_label){k, v};
    return 0;
}

void push_labels_free(push_labels *ls)
{
    for (size_t i = 0; i < ls->n; i++) {
        free(ls->l[i].name);
        free(ls->l[i].value);
    }
    free(ls->l);
    free(ls->service);
    free(ls->profile_name);
    memset(ls, 0, sizeof *ls);
}

/* Trims spaces around s[*b..*e). */
static void trim(const char *s, size_t *b, size_t *e)
{
    while (*b < *e && s[*b] == ' ')
        (*b)++;
    while (*e > *b && s[*e - 1] == ' ')
        (*e)--;
}

/* The app name s[0..n) without a known type suffix: its length. */
static size_t app_base(const char *s, size_t n)
{
    const char *dot = NULL;
    for (size_t i = n; i > 0; i--)
        if (s[i - 1] == '.') {
            dot = s + i - 1;
            break;
        }
    if (!dot) return n;
    size_t sl = n - (size_t)(dot - s) - 1;
    for (size_t i = 0; i < sizeof TYPE_SUFFIXES / sizeof TYPE_SUFFIXES[0]; i++)
        if (strlen(TYPE_SUFFIXES[i]) == sl && memcmp(dot + 1, TYPE_SUFFIXES[i], sl) == 0)
            return (size_t)(dot - s);
    return n;
}

/* See pprof_push_int.h. */
int push_name_parse(const char *name, const push_label_limits *lim, push_labels *ls, char *err,
                    size_t errlen)
{
    const char *s = name ? name : "";
    size_t n = strlen(s);
    const char *br = memchr(s, '{', n);
    size_t an = br ? (size_t)(br - s) : n, ab = 0;
    trim(s, &ab, &an);
    int rc = 0;
    if (br) {
        if (s[n - 1] != '}')
            return pg_err(err, errlen, PG_EINVAL, "name \"%.64s\": labels not closed by '}'", s);
        size_t i = (size_t)(br - s) + 1, end = n - 1;
        while (i < end && rc == 0) {
            const char *comma = memchr(s + i, ',', end - i);
            size_t pe = comma ? (size_t)(comma - s) : end;
            const char *eq = memchr(s + i, '=', pe - i);
            size_t kb = i, ke = eq ? (size_t)(eq - s) : pe;
            trim(s, &kb, &ke);
            if (!eq && ke == kb) { /* empty element (trailing comma) */
                i = pe + 1;
                continue;
            }
            if (!eq) return pg_err(err, errlen, PG_EINVAL, "name \"%.64s\": label without '='", s);
            size_t vb = (size_t)(eq - s) + 1, ve = pe;
            trim(s, &vb, &ve);
            if (memchr(s + vb, '{', ve - vb) || memchr(s + vb, '}', ve - vb))
                return pg_err(err, errlen, PG_EINVAL, "name \"%.64s\": '{' or '}' in a value", s);
            rc = push_labels_add(ls, s + kb, ke - kb, s + vb, ve - vb, lim, err, errlen);
            i = pe + 1;
        }
    }
    if (rc == 0 && !ls->service && an > ab) {
        size_t bl = app_base(s + ab, an - ab);
        if (!(ls->service = strndup(s + ab, bl)))
            rc = pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    return rc;
}
