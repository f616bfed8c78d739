/* Scalar parsers: booleans, integers, numbers, Go-style durations, sizes with units, and
 * "host:port" endpoints. Each writes a complete human message ("invalid duration "5x":
 * unknown unit "x" ...") on failure. */
#include "pipeline/config/config_int.h"
#include "pipeline/core/err.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DURATION_UNITS "ns, us, ms, s, m or h"
#define SIZE_UNITS "B, KB, MB, GB, TB, KiB, MiB, GiB or TiB"

/* YAML 1.2 core booleans. Returns 0 or PG_EINVAL (no message: the caller has the context). */
int pg_cfg_parse_bool(const char *s, bool *v)
{
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        *v = true;
    else if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        *v = false;
    else
        return PG_EINVAL;
    return 0;
}

/* Decimal, 0x hex or 0o octal, optional sign, into int64. */
int pg_cfg_parse_int(const char *s, int64_t *v, char *err, size_t errlen)
{
    const char *p = s;
    bool neg = *p == '-';
    if (*p == '-' || *p == '+') p++;
    unsigned base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        base = 16, p += 2;
    else if (p[0] == '0' && p[1] == 'o')
        base = 8, p += 2;
    if (!*p) return pg_err(err, errlen, PG_EINVAL, "expected an integer, got \"%s\"", s);
    uint64_t acc = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; *p; p++) {
        unsigned dv;
        if (isdigit((unsigned char)*p))
            dv = (unsigned)(*p - '0');
        else if (base == 16 && isxdigit((unsigned char)*p))
            dv = (unsigned)(tolower((unsigned char)*p) - 'a' + 10);
        else
            return pg_err(err, errlen, PG_EINVAL, "expected an integer, got \"%s\"", s);
        if (dv >= base) return pg_err(err, errlen, PG_EINVAL, "expected an integer, got \"%s\"", s);
        if (acc > (limit - dv) / base)
            return pg_err(err, errlen, PG_EINVAL, "integer \"%s\" is too large", s);
        acc = acc * base + dv;
    }
    *v = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return 0;
}

/* A finite decimal number ("1", "-0.5", "2e3"); no hex floats, inf or nan. */
int pg_cfg_parse_double(const char *s, double *v, char *err, size_t errlen)
{
    const char *p = s;
    if (*p == '-' || *p == '+') p++;
    bool digits = false;
    while (isdigit((unsigned char)*p))
        p++, digits = true;
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p))
            p++, digits = true;
    }
    if (digits && (*p == 'e' || *p == 'E')) {
        p++;
        if (*p == '-' || *p == '+') p++;
        if (!isdigit((unsigned char)*p)) digits = false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (!digits || *p) return pg_err(err, errlen, PG_EINVAL, "expected a number, got \"%s\"", s);
    errno = 0;
    double d = strtod(s, NULL);
    if (!isfinite(d) || errno == ERANGE)
        return pg_err(err, errlen, PG_EINVAL, "number \"%s\" is out of range", s);
    *v = d;
    return 0;
}

/* Nanoseconds per duration unit u[0..n), or 0 when unknown (µ and μ both accepted). */
static uint64_t duration_unit(const char *u, size_t n)
{
    static const struct {
        const char *name;
        uint64_t ns;
    } units[] = {
        {"ns", 1},       {"us", 1000},      {"\xc2\xb5s", 1000},   {"\xce\xbcs", 1000},
        {"ms", 1000000}, {"s", 1000000000}, {"m", 60000000000ull}, {"h", 3600000000000ull}};
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (strlen(units[i].name) == n && !memcmp(units[i].name, u, n)) return units[i].ns;
    return 0;
}

/* Go's time.ParseDuration: a sequence of decimal numbers with units ("1h2m3.5s"), optional
 * sign, "0" alone needs no unit. */
int pg_cfg_parse_duration(const char *s, int64_t *ns, char *err, size_t errlen)
{
    const char *p = s;
    bool neg = *p == '-';
    if (*p == '-' || *p == '+') p++;
    if (!strcmp(p, "0")) {
        *ns = 0;
        return 0;
    }
    if (!*p) goto invalid;
    if (strpbrk(p, " \t"))
        return pg_err(err, errlen, PG_EINVAL,
                      "invalid duration \"%s\": no spaces allowed (examples: 250ms, 10s, 1m30s)",
                      s);
    const uint64_t max = (uint64_t)INT64_MAX + 1;
    uint64_t total = 0;
    while (*p) {
        if (!(*p == '.' || isdigit((unsigned char)*p))) goto invalid;
        uint64_t v = 0, f = 0;
        double scale = 1;
        bool pre = false, post = false;
        for (; isdigit((unsigned char)*p); p++, pre = true) {
            uint64_t dg = (uint64_t)(*p - '0');
            if (v > (max - dg) / 10) goto toolarge;
            v = v * 10 + dg;
        }
        if (*p == '.') {
            for (p++; isdigit((unsigned char)*p); p++, post = true) {
                if (f > (max - 9) / 10) continue; /* precision beyond ns is dropped */
                f = f * 10 + (uint64_t)(*p - '0');
                scale *= 10;
            }
        }
        if (!pre && !post) goto invalid;
        size_t ul = 0;
        while (p[ul] && p[ul] != '.' && !isdigit((unsigned char)p[ul]))
            ul++;
        if (ul == 0)
            return pg_err(err, errlen, PG_EINVAL,
                          "invalid duration \"%s\": missing unit (" DURATION_UNITS ")", s);
        uint64_t unit = duration_unit(p, ul);
        if (!unit)
            return pg_err(err, errlen, PG_EINVAL,
                          "invalid duration \"%s\": unknown unit \"%.*s\" (" DURATION_UNITS ")", s,
                          (int)ul, p);
        p += ul;
        if (v > max / unit) goto toolarge;
        v *= unit;
        if (f) {
            uint64_t add = (uint64_t)((double)f * ((double)unit / scale));
            if (add > max - v) goto toolarge;
            v += add;
        }
        if (v > max - total) goto toolarge;
        total += v;
    }
    if (!neg && total > (uint64_t)INT64_MAX) goto toolarge;
    *ns = neg ? (int64_t)(0 - total) : (int64_t)total;
    return 0;
invalid:
    return pg_err(err, errlen, PG_EINVAL,
                  "invalid duration \"%s\" (examples: 250ms, 10s, 1m30s, 1h)", s);
toolarge:
    return pg_err(err, errlen, PG_EINVAL, "duration \"%s\" is too large", s);
}

/* Bytes per size unit u[0..n) (case-insensitive), or 0 when unknown. */
static uint64_t size_unit(const char *u, size_t n)
{
    static const struct {
        const char *name;
        uint64_t bytes;
    } units[] = {{"", 1},
                 {"b", 1},
                 {"kb", 1000ull},
                 {"mb", 1000000ull},
                 {"gb", 1000000000ull},
                 {"tb", 1000000000000ull},
                 {"kib", 1ull << 10},
                 {"mib", 1ull << 20},
                 {"gib", 1ull << 30},
                 {"tib", 1ull << 40}};
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (strlen(units[i].name) == n && !strncasecmp(units[i].name, u, n)) return units[i].bytes;
    return 0;
}

/* "100", "512KiB", "4 MiB", "1.5GiB", "10MB": decimal number, optional unit; the result is
 * rounded down to whole bytes. */
int pg_cfg_parse_size(const char *s, uint64_t *bytes, char *err, size_t errlen)
{
    const char *p = s;
    uint64_t v = 0, f = 0;
    double scale = 1;
    bool digits = false;
    for (; isdigit((unsigned char)*p); p++, digits = true) {
        uint64_t dg = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - dg) / 10) goto toolarge;
        v = v * 10 + dg;
    }
    if (!digits) goto invalid;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) goto invalid;
        for (; isdigit((unsigned char)*p); p++) {
            if (f > (UINT64_MAX - 9) / 10) continue;
            f = f * 10 + (uint64_t)(*p - '0');
            scale *= 10;
        }
    }
    while (*p == ' ')
        p++;
    size_t ul = strlen(p);
    uint64_t unit = size_unit(p, ul);
    if (!unit) {
        if (ul && !isalpha((unsigned char)*p)) goto invalid;
        return pg_err(err, errlen, PG_EINVAL,
                      "invalid size \"%s\": unknown unit \"%s\" (" SIZE_UNITS ")", s, p);
    }
    if (v > UINT64_MAX / unit) goto toolarge;
    v *= unit;
    if (f) {
        double add = floor((double)f * ((double)unit / scale));
        if (add >= (double)(UINT64_MAX - v)) goto toolarge;
        v += (uint64_t)add;
    }
    *bytes = v;
    return 0;
invalid:
    return pg_err(err, errlen, PG_EINVAL, "invalid size \"%s\" (examples: 100, 512KiB, 4MiB, 10MB)",
                  s);
toolarge:
    return pg_err(err, errlen, PG_EINVAL, "size \"%s\" is too large", s);
}

/* "host:port", "[v6]:port" or ":port" (every interface). *host is malloc'd for the caller. */
int pg_cfg_parse_endpoint(const char *s, char **host, uint16_t *port, char *err, size_t errlen)
{
    const char *why, *h, *pp;
    size_t hl;
    if (strstr(s, "://")) {
        why = "expected host:port, not a URL";
        goto bad;
    }
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close) {
            why = "missing ']' after an IPv6 address";
            goto bad;
        }
        if (close[1] != ':') {
            why = "missing port (expected [host]:port)";
            goto bad;
        }
        h = s + 1;
        hl = (size_t)(close - h);
        pp = close + 2;
        if (hl == 0) {
            why = "empty IPv6 address";
            goto bad;
        }
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon) {
            why = "missing port (expected host:port)";
            goto bad;
        }
        h = s;
        hl = (size_t)(colon - s);
        pp = colon + 1;
        if (memchr(h, ':', hl)) {
            why = "IPv6 addresses must be in brackets, e.g. [::1]:4317";
            goto bad;
        }
    }
    for (size_t i = 0; i < hl; i++)
        if (isspace((unsigned char)h[i]) || strchr("/[]@?#", h[i])) {
            why = "invalid character in host";
            goto bad;
        }
    size_t pl = strlen(pp);
    unsigned long pv = 0;
    if (pl == 0) {
        why = "missing port";
        goto bad;
    }
    for (size_t i = 0; i < pl; i++) {
        if (!isdigit((unsigned char)pp[i]) || pl > 5) {
            why = "the port must be a number from 0 to 65535";
            goto bad;
        }
        pv = pv * 10 + (unsigned long)(pp[i] - '0');
    }
    if (pv > 65535) {
        why = "the port must be a number from 0 to 65535";
        goto bad;
    }
    if (!(*host = strndup(h, hl))) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    *port = (uint16_t)pv;
    return 0;
bad:
    return pg_err(err, errlen, PG_EINVAL, "invalid endpoint \"%s\": %s", s, why);
}
