/* The resource processor's detectors (see resource_processor.h), run once at start: env
 * reads OTEL_RESOURCE_ATTRIBUTES (comma-separated key=value, values percent-decoded) and
 * OTEL_SERVICE_NAME (wins over a service.name there); system reads the host name and
 * uname (os.type lower-cased; host.arch in the OpenTelemetry spelling: amd64, arm64, ...). */
#include "pipeline/core/err.h"
#include "processors/resource/resource_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

/* Appends (or replaces) key=value in p->detected (copies both). */
static int put(ra_plan *p, const char *key, size_t klen, const char *value, size_t vlen)
{
    char *k = strndup(key, klen), *v = strndup(value, vlen);
    if (!k || !v) {
        free(k);
        free(v);
        return PG_ENOMEM;
    }
    for (size_t i = 0; i < p->ndetected; i++)
        if (!strcmp(p->detected[i].key, k)) {
            free(p->detected[i].value);
            free(k);
            p->detected[i].value = v;
            return 0;
        }
    ra_kv *n = realloc(p->detected, (p->ndetected + 1) * sizeof *n);
    if (!n) {
        free(k);
        free(v);
        return PG_ENOMEM;
    }
    p->detected = n;
    p->detected[p->ndetected++] = (ra_kv){k, v};
    return 0;
}

static int hexval(char c)
{
    return isdigit((unsigned char)c) ? c - '0' : (tolower((unsigned char)c) - 'a' + 10);
}

/* Percent-decodes s[0..n) in place; returns the new length. */
static size_t pct_decode(char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            s[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            s[o++] = s[i];
        }
    }
    return o;
}

/* Trims spaces around s[0..*n): returns the new start and sets *n. */
static const char *trim(const char *s, size_t *n)
{
    while (*n && isspace((unsigned char)*s))
        s++, (*n)--;
    while (*n && isspace((unsigned char)s[*n - 1]))
        (*n)--;
    return s;
}

static int detect_env(ra_plan *p, char *err, size_t errlen)
{
    const char *ra = getenv("OTEL_RESOURCE_ATTRIBUTES");
    int rc = 0;
    if (ra && *ra) {
        char *copy = strdup(ra);
        if (!copy) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
        for (char *save = NULL, *item = strtok_r(copy, ",", &save); item && !rc;
             item = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(item, '=');
            if (!eq) continue; /* malformed pairs are skipped, as the SDKs do */
            size_t kn = (size_t)(eq - item), vn = strlen(eq + 1);
            const char *k = trim(item, &kn);
            char *v = (char *)trim(eq + 1, &vn);
            vn = pct_decode(v, vn);
            if (kn) rc = put(p, k, kn, v, vn);
        }
        free(copy);
    }
    const char *svc = getenv("OTEL_SERVICE_NAME");
    if (!rc && svc && *svc) rc = put(p, "service.name", 12, svc, strlen(svc));
    return rc ? pg_err(err, errlen, rc, "out of memory") : 0;
}

static int detect_system(ra_plan *p, char *err, size_t errlen)
{
    char host[256] = "";
    struct utsname u;
    int rc = 0;
    if (gethostname(host, sizeof host - 1) == 0 && host[0])
        rc = put(p, "host.name", 9, host, strlen(host));
    if (!rc && uname(&u) == 0) {
        char os[sizeof u.sysname];
        size_t i = 0;
        for (; u.sysname[i] && i < sizeof os - 1; i++)
            os[i] = (char)tolower((unsigned char)u.sysname[i]);
        os[i] = 0;
        rc = put(p, "os.type", 7, os, strlen(os));
        static const char *const ARCH[][2] = {{"x86_64", "amd64"},  {"aarch64", "arm64"},
                                              {"i686", "x86"},      {"i386", "x86"},
                                              {"ppc64le", "ppc64"}, {"s390x", "s390x"}};
        const char *arch = u.machine;
        for (size_t k = 0; k < sizeof ARCH / sizeof ARCH[0]; k++)
            if (!strcmp(u.machine, ARCH[k][0])) arch = ARCH[k][1];
        if (!rc) rc = put(p, "host.arch", 9, arch, strlen(arch));
    }
    return rc ? pg_err(err, errlen, rc, "out of memory") : 0;
}

/* See resource_int.h. */
int ra_detect(ra_plan *p, const char *name, char *err, size_t errlen)
{
    if (!strcmp(name, "env")) return detect_env(p, err, errlen);
    if (!strcmp(name, "system")) return detect_system(p, err, errlen);
    return pg_err(err, errlen, PG_EINVAL, "detectors: unknown detector \"%s\" (known: env, system)",
                  name);
}
