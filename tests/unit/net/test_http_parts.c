/* Pieces of the HTTP server stack without sockets: the config table and its checks, the
 * auth comparison, the worker pool's bound, reply headers, deflate inflation with a cap. */
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include "pipeline/core/decompress.h"
#include "pipeline/core/err.h"
#include "pipeline/net/http_internal.h"
#include "pipeline/net/workers.h"
#include "testlib.h"

typedef struct rcv_cfg {
    pg_http_server_config http;
} rcv_cfg;

static const pg_cfg_field table[] = {
    PG_HTTP_SERVER_FIELDS(rcv_cfg, http, "0.0.0.0:4318"),
    {0},
};

static void test_config(void)
{
    char err[256] = "";
    CHECK_MSG(pg_cfg_table_check(table, err, sizeof err) == 0, "%s", err);
    CHECK(pg_cfg_table_check(pg_http_tls_fields, err, sizeof err) == 0);
    CHECK(pg_cfg_table_check(pg_http_auth_fields, err, sizeof err) == 0);
    pg_http_server_config c;
    pg_http_server_config_default(&c);
    CHECK(c.max_request_body_size == 20u << 20);
    CHECK(pg_http_server_config_validate(&c, err, sizeof err) == 0);
    c.tls.key_file = "k.pem";
    CHECK(pg_http_server_config_validate(&c, err, sizeof err) == PG_EINVAL);
    c.tls.cert_file = "c.pem";
    CHECK(pg_http_server_config_validate(&c, err, sizeof err) == 0);
    c.auth.bearer_token_file = "t";
    c.auth.basic.username = "u";
    c.auth.basic.password_file = "p";
    CHECK(pg_http_server_config_validate(&c, err, sizeof err) == PG_EINVAL);
    CHECK(strstr(err, "exclude") != NULL);
}

static void test_auth(void)
{
    pg_http_server s;
    memset(&s, 0, sizeof s);
    CHECK(pg_http_auth_check(&s, NULL) == 0); /* no auth configured */
    s.bearer = "tok";
    CHECK(pg_http_auth_check(&s, "Bearer tok") == 0);
    CHECK(pg_http_auth_check(&s, "bearer tok") == 0);
    CHECK(pg_http_auth_check(&s, "Bearer tok2") == PG_EUNAUTH);
    CHECK(pg_http_auth_check(&s, "Bearer to") == PG_EUNAUTH);
    CHECK(pg_http_auth_check(&s, "Basic tok") == PG_EUNAUTH);
    CHECK(pg_http_auth_check(&s, NULL) == PG_EUNAUTH);
    s.bearer = NULL;
    s.basic = "user:pa ss";
    CHECK(pg_http_auth_check(&s, "Basic dXNlcjpwYSBzcw==") == 0);      /* user:pa ss */
    CHECK(pg_http_auth_check(&s, "Basic dXNlcjpwYSBz") == PG_EUNAUTH); /* user:pa s */
    CHECK(pg_http_auth_check(&s, "Basic !!!!") == PG_EUNAUTH);
    CHECK(pg_http_auth_check(&s, "Basic abc") == PG_EUNAUTH);
    CHECK(pg_http_auth_check(&s, "Bearer user:pa ss") == PG_EUNAUTH);
}

static atomic_int ran, gate, started;
static void job(void *arg)
{
    atomic_fetch_add(&started, 1);
    while (!atomic_load(&gate))
        usleep(1000);
    atomic_fetch_add(&ran, 1);
}

static void test_workers(void)
{
    pg_workers *w = NULL;
    char err[128];
    CHECK(pg_workers_new(1, 2, &w, err, sizeof err) == 0);
    if (!w) return;
    CHECK(pg_workers_submit(w, job, NULL) == 0);
    for (int i = 0; i < 5000 && !atomic_load(&started); i++)
        usleep(1000);
    /* one running, two queued, the fourth refused */
    CHECK(pg_workers_submit(w, job, NULL) == 0);
    CHECK(pg_workers_submit(w, job, NULL) == 0);
    CHECK(pg_workers_submit(w, job, NULL) == PG_EAGAIN);
    size_t pending = pg_workers_pending(w);
    CHECK(pending == 3);
    atomic_store(&gate, 1);
    pg_workers_stop(w); /* runs what was queued */
    CHECK(atomic_load(&ran) == (int)pending);
}

static void test_reply_headers(void)
{
    pg_http_ex ex;
    memset(&ex, 0, sizeof ex);
    CHECK(pg_http_reply_header(&ex, "X-A", "1") == 0);
    CHECK(pg_http_reply_header(&ex, "X-B", "a\r\nInjected: 1") == PG_EINVAL);
    CHECK(pg_http_reply_header(&ex, "X B", "1") == PG_EINVAL);
    CHECK(pg_http_reply_set(&ex, 200, "text/plain", "hi", 2) == 0);
    pg_buf head = {0};
    CHECK(pg_http_h1_head(&ex, true, &head) == 0);
    pg_buf_append(&head, "", 1);
    CHECK_MSG(strcmp((char *)head.data,
                     "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n"
                     "content-type: text/plain\r\nx-a: 1\r\n\r\n") == 0,
              "%s", (char *)head.data);
    pg_buf_free(&head);
    ex.conn = NULL;
    ex.state = EX_WORK;
    free(ex.ctype);
    free(ex.rhn[0]);
    free(ex.rhv[0]);
    free(ex.rhn);
    free(ex.rhv);
    pg_buf_free(&ex.rbody);
}

static void test_deflate(void)
{
    static uint8_t zeros[1 << 20];
    uint8_t z[8192], raw[8192];
    uLongf zl = sizeof z;
    CHECK(compress2(z, &zl, zeros, sizeof zeros, 9) == Z_OK);
    CHECK(pg_encoding_from_name("deflate") == PG_ENC_DEFLATE);
    pg_buf out = {0};
    char err[128];
    CHECK(pg_decompress(PG_ENC_DEFLATE, z, zl, sizeof zeros, &out, err, sizeof err) == 0);
    CHECK(out.len == sizeof zeros);
    out.len = 0;
    CHECK(pg_decompress(PG_ENC_DEFLATE, z, zl, 1000, &out, err, sizeof err) == PG_ELIMIT);
    CHECK(out.len <= 1000 + 65536);
    out.len = 0;
    CHECK(pg_decompress(PG_ENC_DEFLATE, z, zl / 2, 0, &out, err, sizeof err) == PG_EINVAL);
    out.len = 0;
    /* raw deflate, as some clients send it */
    z_stream s = {0};
    deflateInit2(&s, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    s.next_in = (Bytef *)"hello hello";
    s.avail_in = 11;
    s.next_out = raw;
    s.avail_out = sizeof raw;
    deflate(&s, Z_FINISH);
    size_t rn = sizeof raw - s.avail_out;
    deflateEnd(&s);
    CHECK(pg_decompress(PG_ENC_DEFLATE, raw, rn, 100, &out, err, sizeof err) == 0);
    CHECK(out.len == 11 && memcmp(out.data, "hello hello", 11) == 0);
    out.len = 0;
    CHECK(pg_decompress(PG_ENC_DEFLATE, (const uint8_t *)"garbage!", 8, 100, &out, err,
                        sizeof err) == PG_EINVAL);
    pg_buf_free(&out);
}

int main(void)
{
    test_config();
    test_auth();
    test_workers();
    test_reply_headers();
    test_deflate();
    TEST_MAIN_END();
}
