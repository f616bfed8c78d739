/* CORS of the HTTP server stack without sockets: the config table, origin patterns (exact,
 * one wildcard, any), and the preflight answer for allowed and refused origins, methods and
 * headers, and the Access-Control-Allow-Origin header on other replies. */
#include <stdlib.h>
#include <string.h>

#include "pipeline/core/err.h"
#include "pipeline/net/http_internal.h"
#include "testlib.h"

/* A server struct with CORS from origins / headers (NULL-terminated) and one POST route. */
static void setup(pg_http_server *s, pg_http_route *route, const char **origins,
                  const char **headers, int64_t max_age)
{
    memset(s, 0, sizeof *s);
    pg_http_server_config_default(&s->cfg);
    route->method = "POST";
    route->path = "/v1development/profiles";
    s->routes = route;
    s->nroutes = 1;
    pg_http_cors_config c = {.max_age = max_age};
    while (origins && origins[c.allowed_origins.n])
        c.allowed_origins.n++;
    while (headers && headers[c.allowed_headers.n])
        c.allowed_headers.n++;
    c.allowed_origins.items = (char **)origins;
    c.allowed_headers.items = (char **)headers;
    CHECK(pg_http_server_cors(s, &c) == 0);
}

/* An exchange for method/path with headers "name", "value", ... (NULL-terminated); the
 * request view filled as after its headers. */
static pg_http_ex *request(pg_http_server *s, const char *method, const char *path,
                           const char **hdrs)
{
    pg_http_ex *ex = calloc(1, sizeof *ex);
    ex->srv = s;
    CHECK(pg_http_ex_start_line(ex, method, path, strlen(path)) == 0);
    for (size_t i = 0; hdrs && hdrs[i]; i += 2)
        CHECK(pg_http_ex_header(ex, hdrs[i], strlen(hdrs[i]), hdrs[i + 1], strlen(hdrs[i + 1])) ==
              0);
    ex->req.method = ex->method;
    ex->req.path = ex->target;
    ex->req.nheaders = ex->nh;
    ex->req.header_names = (const char *const *)ex->hn;
    ex->req.header_values = (const char *const *)ex->hv;
    return ex;
}

/* The reply header `name` of ex, or NULL. */
static const char *reply_header(const pg_http_ex *ex, const char *name)
{
    for (size_t i = 0; i < ex->nrh; i++)
        if (!strcmp(ex->rhn[i], name)) return ex->rhv[i];
    return NULL;
}

static void test_origins(void)
{
    pg_http_server s;
    pg_http_route r;
    const char *origins[] = {"https://*.Example.com", "http://localhost:3000", NULL};
    setup(&s, &r, origins, NULL, 0);
    CHECK(pg_http_cors_origin_allowed(&s, "https://app.example.com"));
    CHECK(pg_http_cors_origin_allowed(&s, "https://a.b.EXAMPLE.com"));
    CHECK(pg_http_cors_origin_allowed(&s, "http://localhost:3000"));
    CHECK(!pg_http_cors_origin_allowed(&s, "http://app.example.com"));
    CHECK(!pg_http_cors_origin_allowed(&s, "https://example.com.evil.test"));
    CHECK(!pg_http_cors_origin_allowed(&s, "https://evilexample.org"));
    CHECK(!pg_http_cors_origin_allowed(&s, "http://localhost:30000"));
    CHECK(!pg_http_cors_origin_allowed(&s, ""));
    CHECK(!pg_http_cors_origin_allowed(&s, NULL));
    pg_http_cors_free(&s);
    const char *any[] = {"*", NULL};
    setup(&s, &r, any, NULL, 0);
    CHECK(pg_http_cors_origin_allowed(&s, "https://anything.test"));
    pg_http_cors_free(&s);
    setup(&s, &r, NULL, NULL, 0); /* no origins: CORS off */
    CHECK(s.cors == NULL && !pg_http_cors_origin_allowed(&s, "https://app.example.com"));
}

static void test_preflight(void)
{
    pg_http_server s;
    pg_http_route r;
    const char *origins[] = {"https://*.example.com", NULL};
    const char *headers[] = {"X-Scope-OrgID", NULL};
    setup(&s, &r, origins, headers, 600);
    const char *ok[] = {"Origin", "https://app.example.com",        "Access-Control-Request-Method",
                        "POST",   "Access-Control-Request-Headers", "content-type, X-Scope-OrgID",
                        NULL};
    pg_http_ex *ex = request(&s, "OPTIONS", "/v1development/profiles", ok);
    CHECK(pg_http_cors_is_preflight(ex, true));
    CHECK(!pg_http_cors_is_preflight(ex, false)); /* unknown path: 404 as usual */
    pg_http_cors_preflight(ex);
    CHECK(ex->status == 204 && ex->rbody.len == 0);
    CHECK(reply_header(ex, "access-control-allow-origin") &&
          !strcmp(reply_header(ex, "access-control-allow-origin"), "https://app.example.com"));
    CHECK(reply_header(ex, "access-control-allow-methods") &&
          !strcmp(reply_header(ex, "access-control-allow-methods"), "POST"));
    CHECK(reply_header(ex, "access-control-allow-headers") &&
          strstr(reply_header(ex, "access-control-allow-headers"), "X-Scope-OrgID"));
    CHECK(reply_header(ex, "access-control-max-age") &&
          !strcmp(reply_header(ex, "access-control-max-age"), "600"));
    pg_http_ex_free(ex);
    /* refused: another origin, a method not routed, a header not allowed */
    const char *bad[][7] = {
        {"Origin", "https://evil.test", "Access-Control-Request-Method", "POST", NULL},
        {"Origin", "https://app.example.com", "Access-Control-Request-Method", "PUT", NULL},
        {"Origin", "https://app.example.com", "Access-Control-Request-Method", "POST",
         "Access-Control-Request-Headers", "x-other", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ex = request(&s, "OPTIONS", "/v1development/profiles", bad[i]);
        pg_http_cors_preflight(ex);
        CHECK_MSG(ex->status == 204 && !reply_header(ex, "access-control-allow-origin") &&
                      reply_header(ex, "vary"),
                  "case %zu", i);
        pg_http_ex_free(ex);
    }
    /* a POST from an allowed origin, and one from another */
    const char *post[] = {"Origin", "https://app.example.com", NULL};
    ex = request(&s, "POST", "/v1development/profiles", post);
    pg_http_reply_set(ex, 200, NULL, NULL, 0);
    pg_http_cors_decorate(ex);
    CHECK(reply_header(ex, "access-control-allow-origin") &&
          !strcmp(reply_header(ex, "access-control-allow-origin"), "https://app.example.com"));
    pg_http_ex_free(ex);
    const char *other[] = {"Origin", "https://evil.test", NULL};
    ex = request(&s, "POST", "/v1development/profiles", other);
    pg_http_reply_set(ex, 200, NULL, NULL, 0);
    pg_http_cors_decorate(ex);
    CHECK(!reply_header(ex, "access-control-allow-origin") && reply_header(ex, "vary"));
    pg_http_ex_free(ex);
    /* not a preflight without Access-Control-Request-Method */
    ex = request(&s, "OPTIONS", "/v1development/profiles", post);
    CHECK(!pg_http_cors_is_preflight(ex, true));
    pg_http_ex_free(ex);
    pg_http_cors_free(&s);
}

int main(void)
{
    char err[256] = "";
    CHECK_MSG(pg_cfg_table_check(pg_http_cors_fields, err, sizeof err) == 0, "%s", err);
    test_origins();
    test_preflight();
    TEST_MAIN_END();
}
