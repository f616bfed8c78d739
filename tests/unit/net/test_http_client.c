/* The outgoing HTTP client against the project's listener stack on 127.0.0.1 (libevent,
 * http-parser, nghttp2, OpenSSL: a separate implementation of each protocol): HTTP/1.1 and
 * h2c with prior knowledge, h2 over TLS by ALPN with a CA made here by openssl, a wrong CA
 * refused with the certificate named, server_name_override, basic and bearer auth accepted
 * by the server's own checks, connection reuse, a body cap, status codes with Retry-After
 * (seconds and HTTP date), a deadline, the pool under concurrent callers, and the
 * Retry-After parser. */
#include <curl/curl.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "pipeline/component.h"
#include "pipeline/core/err.h"
#include "pipeline/net/http_client.h"
#include "pipeline/net/http_server.h"
#include "testlib.h"

static char dir[256], cert[300], key[300], ca[300], other_ca[300], token_path[300], pw_path[300];

static void *loop_main(void *arg)
{
    event_base_loop(arg, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

/* Echoes the body, the protocol and the test header back. */
static void on_echo(void *ctx, const pg_http_request *req, pg_http_reply *r)
{
    const char *x = pg_http_header(req, "x-test");
    pg_http_reply_header(r, "x-proto", pg_http_proto_name(req->proto));
    pg_http_reply_header(r, "x-echo", x ? x : "-");
    pg_http_reply_set(r, 200, "application/x-protobuf", req->body, req->body_len);
    pg_http_reply_send(r);
}

/* The status and Retry-After named by the query: "429&5" or "503&date". */
static void on_status(void *ctx, const pg_http_request *req, pg_http_reply *r)
{
    int st = atoi(req->query);
    const char *amp = strchr(req->query, '&');
    if (amp && strcmp(amp + 1, "date") == 0) {
        char date[64];
        time_t t = time(NULL) + 120;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        pg_http_reply_header(r, "Retry-After", date);
    } else if (amp) {
        pg_http_reply_header(r, "Retry-After", amp + 1);
    }
    pg_http_reply_set(r, st, "text/plain", "refused: reason\n", 16);
    pg_http_reply_send(r);
}

/* A body of 100 KiB. */
static void on_big(void *ctx, const pg_http_request *req, pg_http_reply *r)
{
    static char big[100 * 1024];
    memset(big, 'b', sizeof big);
    pg_http_reply_set(r, 200, NULL, big, sizeof big);
    pg_http_reply_send(r);
}

/* Answers after 600 ms. */
static void on_slow(void *ctx, const pg_http_request *req, pg_http_reply *r)
{
    usleep(600000);
    pg_http_reply_set(r, 200, NULL, "late", 4);
    pg_http_reply_send(r);
}

static void tune_none(pg_http_server_config *c)
{
    (void)c;
}
static void tune_tls(pg_http_server_config *c)
{
    c->tls.cert_file = cert;
    c->tls.key_file = key;
}
static void tune_bearer(pg_http_server_config *c)
{
    c->auth.bearer_token_file = token_path;
}
static void tune_basic(pg_http_server_config *c)
{
    c->auth.basic.username = "agent";
    c->auth.basic.password_file = pw_path;
}

static pg_http_server *server(struct event_base *base, void (*tune)(pg_http_server_config *))
{
    pg_http_server_config cfg;
    pg_http_server_config_default(&cfg);
    cfg.endpoint.host = "127.0.0.1";
    cfg.endpoint.port = 0;
    cfg.workers = 4;
    tune(&cfg);
    pg_http_server *s = NULL;
    char err[256] = "";
    int rc = pg_http_server_new(base, NULL, "t", &cfg, &s, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    if (rc) return NULL;
    pg_http_server_route(s, "POST", "/echo", on_echo, NULL);
    pg_http_server_route(s, "POST", "/status", on_status, NULL);
    pg_http_server_route(s, "GET", "/big", on_big, NULL);
    pg_http_server_route(s, "POST", "/slow", on_slow, NULL);
    rc = pg_http_server_start(s, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    return s;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void make_certs(void)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd %s && exec >log 2>&1 && "
             "for c in ca other; do openssl req -x509 -newkey rsa:2048 -nodes -keyout $c.key "
             "-out $c.crt -days 2 -subj /CN=test$c || exit 1; done && "
             "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
             "-subj /CN=server && "
             "printf 'subjectAltName=IP:127.0.0.1,DNS:profgate.test\\n' > server.ext && "
             "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "-out server.crt -days 2 -extfile server.ext",
             dir);
    CHECK(system(cmd) == 0);
    snprintf(cert, sizeof cert, "%s/server.crt", dir);
    snprintf(key, sizeof key, "%s/server.key", dir);
    snprintf(ca, sizeof ca, "%s/ca.crt", dir);
    snprintf(other_ca, sizeof other_ca, "%s/other.crt", dir);
}

static pg_http_client *client(int version, const pg_tls_client_config *tls, size_t pool)
{
    pg_http_client_config cc;
    pg_http_client_config_default(&cc);
    cc.version = version;
    cc.tls = tls;
    cc.pool_size = pool;
    cc.max_response_body = 64 * 1024;
    pg_http_client *hc = NULL;
    char err[256] = "";
    int rc = pg_http_client_new(&cc, &hc, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    return hc;
}

/* One POST; returns the status code of pg_http_client_do. */
static int post(pg_http_client *hc, const char *url, const char *const *hdr, size_t nh,
                const char *body, pg_http_client_resp *rs, char *err, size_t errlen)
{
    pg_http_client_req rq = {.method = "POST",
                             .url = url,
                             .headers = hdr,
                             .n_headers = nh,
                             .body = body,
                             .body_len = strlen(body)};
    return pg_http_client_do(hc, &rq, rs, err, errlen);
}

static void test_plain(uint16_t port)
{
    char url[128], err[512];
    pg_http_client_resp rs;
    const char *hdr[] = {"X-Test: hello", "Content-Type: application/x-protobuf"};
    for (int v = PG_HTTP_CLIENT_HTTP1; v <= PG_HTTP_CLIENT_HTTP2; v++) {
        pg_http_client *hc = client(v, NULL, 2);
        if (!hc) return;
        snprintf(url, sizeof url, "http://127.0.0.1:%u/echo", port);
        for (int i = 0; i < 3; i++) {
            int rc = post(hc, url, hdr, 2, "payload", &rs, err, sizeof err);
            CHECK_MSG(rc == 0, "%s", err);
            CHECK(rs.status == 200);
            CHECK(rs.body.len == 7 && memcmp(rs.body.data, "payload", 7) == 0);
            CHECK_STR(rs.content_type, "application/x-protobuf");
            CHECK(rs.http_version == (v == PG_HTTP_CLIENT_HTTP2 ? 2 : 1));
            CHECK(rs.retry_after == -1);
            /* one connection serves them all (h2c: one each with a libcurl before 8.0.0) */
            bool h2c_fresh = v == PG_HTTP_CLIENT_HTTP2 &&
                             curl_version_info(CURLVERSION_NOW)->version_num < 0x080000;
            CHECK(rs.reused == (i > 0 && !h2c_fresh));
            pg_http_client_resp_free(&rs);
        }
        /* statuses with Retry-After, seconds and date */
        snprintf(url, sizeof url, "http://127.0.0.1:%u/status?429&7", port);
        CHECK(post(hc, url, NULL, 0, "x", &rs, err, sizeof err) == 0);
        CHECK(rs.status == 429 && rs.retry_after == 7);
        CHECK(rs.body.len == 16 && memcmp(rs.body.data, "refused: reason\n", 16) == 0);
        pg_http_client_resp_free(&rs);
        snprintf(url, sizeof url, "http://127.0.0.1:%u/status?503&date", port);
        CHECK(post(hc, url, NULL, 0, "x", &rs, err, sizeof err) == 0);
        CHECK_MSG(rs.status == 503 && rs.retry_after >= 115 && rs.retry_after <= 121, "%lld",
                  (long long)rs.retry_after);
        pg_http_client_resp_free(&rs);
        snprintf(url, sizeof url, "http://127.0.0.1:%u/status?400", port);
        CHECK(post(hc, url, NULL, 0, "x", &rs, err, sizeof err) == 0);
        CHECK(rs.status == 400 && rs.retry_after == -1);
        pg_http_client_resp_free(&rs);
        /* body cap: 100 KiB answered, 64 KiB kept */
        snprintf(url, sizeof url, "http://127.0.0.1:%u/big", port);
        pg_http_client_req get = {.url = url};
        CHECK(pg_http_client_do(hc, &get, &rs, err, sizeof err) == 0);
        CHECK(rs.status == 200 && rs.truncated && rs.body.len == 64 * 1024);
        pg_http_client_resp_free(&rs);
        /* deadline */
        snprintf(url, sizeof url, "http://127.0.0.1:%u/slow", port);
        pg_http_client_req slow = {
            .url = url, .body = "x", .body_len = 1, .deadline_ns = pg_now_mono_ns() + 150000000};
        int rc = pg_http_client_do(hc, &slow, &rs, err, sizeof err);
        CHECK_MSG(rc == PG_ETIMEOUT, "%d %s", rc, err);
        CHECK(rs.status == 0 && rs.body.len == 0);
        pg_http_client_free(hc);
    }
}

typedef struct par {
    pg_http_client *hc;
    char url[128];
    atomic_int ok;
} par;

static void *par_main(void *arg)
{
    par *p = arg;
    for (int i = 0; i < 20; i++) {
        pg_http_client_resp rs;
        char err[256];
        if (post(p->hc, p->url, NULL, 0, "abc", &rs, err, sizeof err) == 0 && rs.status == 200 &&
            rs.body.len == 3)
            atomic_fetch_add(&p->ok, 1);
        pg_http_client_resp_free(&rs);
    }
    return NULL;
}

/* 8 threads over a pool of 2 handles. */
static void test_pool(uint16_t port)
{
    par p = {.hc = client(PG_HTTP_CLIENT_HTTP1, NULL, 2)};
    if (!p.hc) return;
    atomic_init(&p.ok, 0);
    snprintf(p.url, sizeof p.url, "http://127.0.0.1:%u/echo", port);
    pthread_t t[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, par_main, &p);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    CHECK(atomic_load(&p.ok) == 160);
    pg_http_client_free(p.hc);
}

static void test_tls(uint16_t port)
{
    char url[128], err[512];
    pg_http_client_resp rs;
    snprintf(url, sizeof url, "https://127.0.0.1:%u/echo", port);
    pg_tls_client_config good = {.ca_file = ca};
    pg_http_client *hc = client(PG_HTTP_CLIENT_AUTO, &good, 1);
    if (hc) {
        int rc = post(hc, url, NULL, 0, "tls", &rs, err, sizeof err);
        CHECK_MSG(rc == 0, "%s", err);
        CHECK(rs.status == 200 && rs.http_version == 2);
        pg_http_client_resp_free(&rs);
        pg_http_client_free(hc);
    }
    hc = client(PG_HTTP_CLIENT_HTTP1, &good, 1);
    if (hc) {
        CHECK(post(hc, url, NULL, 0, "tls", &rs, err, sizeof err) == 0);
        CHECK(rs.status == 200 && rs.http_version == 1);
        pg_http_client_resp_free(&rs);
        pg_http_client_free(hc);
    }
    /* a CA that did not sign the server's certificate */
    pg_tls_client_config wrong = {.ca_file = other_ca};
    hc = client(PG_HTTP_CLIENT_AUTO, &wrong, 1);
    if (hc) {
        int rc = post(hc, url, NULL, 0, "tls", &rs, err, sizeof err);
        CHECK_MSG(rc == PG_EIO && strstr(err, "certificate"), "%d %s", rc, err);
        pg_http_client_free(hc);
    }
    pg_tls_client_config skip = {.ca_file = other_ca, .insecure_skip_verify = true};
    hc = client(PG_HTTP_CLIENT_AUTO, &skip, 1);
    if (hc) {
        CHECK(post(hc, url, NULL, 0, "tls", &rs, err, sizeof err) == 0 && rs.status == 200);
        pg_http_client_resp_free(&rs);
        pg_http_client_free(hc);
    }
    /* the certificate names profgate.test: reached as localhost with the override */
    snprintf(url, sizeof url, "https://localhost:%u/echo", port);
    pg_tls_client_config named = {.ca_file = ca, .server_name_override = "profgate.test"};
    hc = client(PG_HTTP_CLIENT_AUTO, &named, 1);
    if (hc) {
        int rc = post(hc, url, NULL, 0, "tls", &rs, err, sizeof err);
        CHECK_MSG(rc == 0 && rs.status == 200, "%d %s", rc, err);
        pg_http_client_resp_free(&rs);
        pg_http_client_free(hc);
    }
    hc = client(PG_HTTP_CLIENT_AUTO, &good, 1);
    if (hc) {
        CHECK(post(hc, url, NULL, 0, "tls", &rs, err, sizeof err) == PG_EIO);
        pg_http_client_free(hc);
    }
    pg_tls_client_config missing = {.ca_file = "/nonexistent/ca.pem"};
    pg_http_client_config cc;
    pg_http_client_config_default(&cc);
    cc.tls = &missing;
    pg_http_client *none = NULL;
    CHECK(pg_http_client_new(&cc, &none, err, sizeof err) == PG_EINVAL && strstr(err, "ca_file"));
    pg_tls_client_config half = {.cert_file = cert};
    cc.tls = &half;
    CHECK(pg_http_client_new(&cc, &none, err, sizeof err) == PG_EINVAL);
}

static void test_auth(uint16_t bearer_port, uint16_t basic_port)
{
    char url[128], err[512], line[256];
    pg_http_client_resp rs;
    pg_http_client *hc = client(PG_HTTP_CLIENT_AUTO, NULL, 1);
    if (!hc) return;
    snprintf(url, sizeof url, "http://127.0.0.1:%u/echo", bearer_port);
    CHECK(pg_http_client_bearer_auth("s3cret-token", line, sizeof line) == 0);
    const char *h1[] = {line};
    CHECK(post(hc, url, h1, 1, "a", &rs, err, sizeof err) == 0 && rs.status == 200);
    pg_http_client_resp_free(&rs);
    CHECK(post(hc, url, NULL, 0, "a", &rs, err, sizeof err) == 0 && rs.status == 401);
    pg_http_client_resp_free(&rs);
    snprintf(url, sizeof url, "http://127.0.0.1:%u/echo", basic_port);
    CHECK(pg_http_client_basic_auth("agent", "pass:word", line, sizeof line) == 0);
    CHECK(post(hc, url, h1, 1, "a", &rs, err, sizeof err) == 0 && rs.status == 200);
    pg_http_client_resp_free(&rs);
    CHECK(pg_http_client_basic_auth("agent", "wrong", line, sizeof line) == 0);
    CHECK(post(hc, url, h1, 1, "a", &rs, err, sizeof err) == 0 && rs.status == 401);
    pg_http_client_resp_free(&rs);
    CHECK(pg_http_client_basic_auth("agent", "pass:word", line, 10) == PG_ELIMIT);
    pg_http_client_free(hc);
    /* nobody listening */
    hc = client(PG_HTTP_CLIENT_AUTO, NULL, 1);
    snprintf(url, sizeof url, "http://127.0.0.1:1/echo");
    CHECK(post(hc, url, NULL, 0, "a", &rs, err, sizeof err) == PG_EIO);
    pg_http_client_free(hc);
}

static void test_retry_after(void)
{
    CHECK(pg_http_client_parse_retry_after("120", 0) == 120);
    CHECK(pg_http_client_parse_retry_after(" 0 ", 0) == 0);
    CHECK(pg_http_client_parse_retry_after("", 0) == -1);
    CHECK(pg_http_client_parse_retry_after("soon", 0) == -1);
    CHECK(pg_http_client_parse_retry_after("-5", 0) == -1);
    /* Wed, 21 Oct 2015 07:28:00 GMT = 1445412480 */
    CHECK(pg_http_client_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412400) == 80);
    CHECK(pg_http_client_parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", 1445412400) == 80);
    CHECK(pg_http_client_parse_retry_after("Wed Oct 21 07:28:00 2015", 1445412400) == 80);
    CHECK(pg_http_client_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412500) == 0);
}

int main(int argc, char **argv)
{
    snprintf(dir, sizeof dir, "/tmp/pg_http_client_test.XXXXXX");
    if (!mkdtemp(dir)) return 2;
    snprintf(token_path, sizeof token_path, "%s/token", dir);
    write_file(token_path, "s3cret-token\n");
    snprintf(pw_path, sizeof pw_path, "%s/pw", dir);
    write_file(pw_path, "pass:word\n");
    make_certs();
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    struct event_base *base = event_base_new();
    pthread_t loop;
    pthread_create(&loop, NULL, loop_main, base);
    pg_http_server *plain = server(base, tune_none), *tls = server(base, tune_tls);
    pg_http_server *bearer = server(base, tune_bearer), *basic = server(base, tune_basic);
    test_retry_after();
    if (plain && tls && bearer && basic) {
        test_plain(pg_http_server_port(plain));
        test_pool(pg_http_server_port(plain));
        test_tls(pg_http_server_port(tls));
        test_auth(pg_http_server_port(bearer), pg_http_server_port(basic));
    }
    pg_http_server_free(plain);
    pg_http_server_free(tls);
    pg_http_server_free(bearer);
    pg_http_server_free(basic);
    event_base_loopbreak(base);
    pthread_join(loop, NULL);
    event_base_free(base);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "cannot remove %s\n", dir);
    TEST_MAIN_END();
}
