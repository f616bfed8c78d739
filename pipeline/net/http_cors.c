/* CORS for the HTTP server stack (the Collector's confighttp `cors`): the config table,
 * origin matching, preflight answers (OPTIONS with Access-Control-Request-Method) and the
 * Access-Control-Allow-Origin header on every other reply to an allowed origin. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pipeline/core/err.h"
#include "pipeline/net/http_internal.h"

const pg_cfg_field pg_http_cors_fields[] = {
    {.key = "allowed_origins",
     .type = PG_CFG_STRING_LIST,
     .offset = offsetof(pg_http_cors_config, allowed_origins),
     .doc = "origins browsers may send from: exact, one `*` wildcard (https://*.example.com), "
            "or `*`; empty: CORS off"},
    {.key = "allowed_headers",
     .type = PG_CFG_STRING_LIST,
     .offset = offsetof(pg_http_cors_config, allowed_headers),
     .doc = "request headers allowed besides Accept, Content-Type, X-Requested-With, Origin "
            "(`*`: any)"},
    {.key = "max_age",
     .type = PG_CFG_INT,
     .offset = offsetof(pg_http_cors_config, max_age),
     .def = "0",
     .min = "0",
     .max = "86400",
     .doc = "seconds browsers may cache a preflight answer (0: not sent)"},
    {0},
};

/* Always allowed request headers (as rs/cors, which the Collector uses). */
static const char *const ALWAYS_HEADERS[] = {"accept", "content-type", "x-requested-with",
                                             "origin"};

/* A server's copy of its CORS settings (strings lower-cased, owned). */
struct pg_http_cors {
    char **origins, **headers;
    size_t norigins, nheaders;
    int64_t max_age;
};

static void cors_free(struct pg_http_cors *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->norigins; i++)
        free(c->origins[i]);
    for (size_t i = 0; i < c->nheaders; i++)
        free(c->headers[i]);
    free(c->origins);
    free(c->headers);
    free(c);
}

/* Copies list l (borrowed) lower-cased into *out / *n; false when out of memory. */
static bool copy_lower(const pg_cfg_strlist *l, char ***out, size_t *n)
{
    *n = 0;
    *out = calloc(l->n ? l->n : 1, sizeof **out);
    if (!*out) return false;
    for (size_t i = 0; i < l->n; i++) {
        char *s = strdup(l->items[i] ? l->items[i] : "");
        if (!s) return false;
        for (char *p = s; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        (*out)[(*n)++] = s;
    }
    return true;
}

/* See http_server.h: copies cfg; no allowed_origins leaves CORS off. */
int pg_http_server_cors(pg_http_server *s, const pg_http_cors_config *cfg)
{
    if (s->started) return PG_EINVAL;
    cors_free(s->cors);
    s->cors = NULL;
    if (!cfg || cfg->allowed_origins.n == 0) return 0;
    struct pg_http_cors *c = calloc(1, sizeof *c);
    if (!c || !copy_lower(&cfg->allowed_origins, &c->origins, &c->norigins) ||
        !copy_lower(&cfg->allowed_headers, &c->headers, &c->nheaders)) {
        cors_free(c);
        return PG_ENOMEM;
    }
    c->max_age = cfg->max_age;
    s->cors = c;
    return 0;
}

/* Frees the server's CORS settings (from pg_http_server_free). */
void pg_http_cors_free(pg_http_server *s)
{
    cors_free(s->cors);
    s->cors = NULL;
}

/* True when origin (borrowed, any case) matches pattern (lower-case): equal, "*", or one
 * `*` standing for at least nothing between a prefix and a suffix. */
static bool origin_match(const char *pattern, const char *origin)
{
    if (!strcmp(pattern, "*")) return true;
    const char *star = strchr(pattern, '*');
    size_t ol = strlen(origin);
    if (!star) return ol == strlen(pattern) && strncasecmp(pattern, origin, ol) == 0;
    size_t pl = (size_t)(star - pattern), sl = strlen(star + 1);
    return ol >= pl + sl && strncasecmp(origin, pattern, pl) == 0 &&
           strncasecmp(origin + ol - sl, star + 1, sl) == 0;
}

/* See http_server.h. */
bool pg_http_cors_origin_allowed(const pg_http_server *s, const char *origin)
{
    if (!s->cors || !origin || !*origin) return false;
    for (size_t i = 0; i < s->cors->norigins; i++)
        if (origin_match(s->cors->origins[i], origin)) return true;
    return false;
}

/* True when header name h (n bytes, any case) may be sent. */
static bool header_allowed(const struct pg_http_cors *c, const char *h, size_t n)
{
    for (size_t i = 0; i < sizeof ALWAYS_HEADERS / sizeof *ALWAYS_HEADERS; i++)
        if (strlen(ALWAYS_HEADERS[i]) == n && !strncasecmp(ALWAYS_HEADERS[i], h, n)) return true;
    for (size_t i = 0; i < c->nheaders; i++)
        if (!strcmp(c->headers[i], "*") ||
            (strlen(c->headers[i]) == n && !strncasecmp(c->headers[i], h, n)))
            return true;
    return false;
}

/* True when every name of the comma-separated list (borrowed; NULL = none) is allowed. */
static bool headers_allowed(const struct pg_http_cors *c, const char *list)
{
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if (t > p && !header_allowed(c, p, (size_t)(t - p))) return false;
        p = e;
    }
    return true;
}

/* See http_internal.h: an OPTIONS request with Origin and Access-Control-Request-Method to a
 * routed path, while CORS is on. */
bool pg_http_cors_is_preflight(const pg_http_ex *ex, bool path_known)
{
    return ex->srv->cors && path_known && !strcmp(ex->req.method, "OPTIONS") &&
           pg_http_header(&ex->req, "origin") &&
           pg_http_header(&ex->req, "access-control-request-method");
}

/* See http_internal.h: 204; the Access-Control-Allow-* headers only when the origin, the
 * method (one routed on this path) and every requested header are allowed. */
void pg_http_cors_preflight(pg_http_ex *ex)
{
    const struct pg_http_cors *c = ex->srv->cors;
    const char *origin = pg_http_header(&ex->req, "origin");
    const char *method = pg_http_header(&ex->req, "access-control-request-method");
    const char *hdrs = pg_http_header(&ex->req, "access-control-request-headers");
    pg_http_reply_set(ex, 204, NULL, NULL, 0);
    pg_http_reply_header(ex, "vary",
                         "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
    bool method_ok = false;
    for (size_t i = 0; i < ex->srv->nroutes && !method_ok; i++)
        method_ok = !strcmp(ex->srv->routes[i].path, ex->req.path) &&
                    !strcasecmp(ex->srv->routes[i].method, method);
    if (!pg_http_cors_origin_allowed(ex->srv, origin) || !method_ok || !headers_allowed(c, hdrs))
        return; /* the browser refuses the actual request */
    pg_http_reply_header(ex, "access-control-allow-origin", origin);
    pg_http_reply_header(ex, "access-control-allow-methods", method);
    if (hdrs && *hdrs) pg_http_reply_header(ex, "access-control-allow-headers", hdrs);
    if (c->max_age > 0) {
        char age[24];
        snprintf(age, sizeof age, "%lld", (long long)c->max_age);
        pg_http_reply_header(ex, "access-control-max-age", age);
    }
}

/* See http_internal.h: adds Access-Control-Allow-Origin to a reply to an allowed origin. */
void pg_http_cors_decorate(pg_http_ex *ex)
{
    const char *origin = pg_http_header(&ex->req, "origin");
    if (!ex->srv->cors || !origin) return;
    pg_http_reply_header(ex, "vary", "Origin");
    if (pg_http_cors_origin_allowed(ex->srv, origin))
        pg_http_reply_header(ex, "access-control-allow-origin", origin);
}
