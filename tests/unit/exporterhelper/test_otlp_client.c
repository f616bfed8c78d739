/* The shared OTLP exporter client: the retry rules for every gRPC code and HTTP status that
 * matters, Retry-After / RetryInfo handed to the helper, partial_success (protobuf and
 * JSON), headers (static, version, from metadata), the body (gzip and zstd round trips,
 * attribute references that decode back to the same keys), and the exporters' config
 * tables and validation through the real registry. */
#include <string.h>

#include "component_harness.h"
#include "pipeline/core/batch.h"
#include "pipeline/core/decompress.h"
#include "pipeline/core/err.h"
#include "pipeline/exporterhelper/otlp_client.h"
#include "pipeline/registry/registry.h"
#include "pipeline/translate/otlp_codec.h"
#include "testlib.h"

static pg_otlp_client *client(bool refs, int compression, int64_t version)
{
    pg_otlp_client_config cfg = {0};
    char *keys[] = {"X-Static"}, *vals[] = {"fixed"}, *meta[] = {"X-Scope-OrgID"};
    cfg.headers = (pg_cfg_strmap){keys, vals, 1};
    cfg.headers_from_metadata = (pg_cfg_strlist){meta, 1};
    cfg.attribute_references = refs;
    cfg.compression = compression;
    cfg.format_version = version;
    pg_component_settings s = {.id = "otlp/test"};
    pg_otlp_client *c = NULL;
    char err[256];
    CHECK(pg_otlp_client_new(&s, &cfg, &c, err, sizeof err) == 0);
    return c;
}

static int outcome(pg_otlp_client *c, bool grpc, int code, int64_t delay, const char *msg)
{
    pg_otlp_answer a = {.grpc = grpc,
                        .answered = true,
                        .code = code,
                        .retry_after_ns = delay,
                        .message = msg,
                        .message_len = strlen(msg)};
    char err[512];
    return pg_otlp_client_outcome(c, &a, 3, err, sizeof err);
}

static void test_rules(void)
{
    pg_otlp_client *c = client(false, PG_OTLP_COMPRESSION_GZIP, 1);
    if (!c) return;
    /* gRPC */
    CHECK(outcome(c, true, PG_GRPC_OK, -1, "") == 0);
    CHECK(outcome(c, true, PG_GRPC_UNAVAILABLE, -1, "down") == PG_EAGAIN);
    CHECK(outcome(c, true, PG_GRPC_CANCELLED, -1, "") == PG_EAGAIN);
    CHECK(outcome(c, true, PG_GRPC_DEADLINE_EXCEEDED, -1, "") == PG_EAGAIN);
    CHECK(outcome(c, true, PG_GRPC_ABORTED, -1, "") == PG_EAGAIN);
    CHECK(outcome(c, true, PG_GRPC_DATA_LOSS, -1, "") == PG_EAGAIN);
    CHECK(outcome(c, true, PG_GRPC_RESOURCE_EXHAUSTED, -1, "quota") == PG_ELIMIT);
    CHECK(outcome(c, true, PG_GRPC_RESOURCE_EXHAUSTED, 2000000000, "later") == PG_EAGAIN);
    CHECK(outcome(c, true, PG_GRPC_INVALID_ARGUMENT, -1, "bad") == PG_EINVAL);
    CHECK(outcome(c, true, PG_GRPC_UNAUTHENTICATED, -1, "who") == PG_EUNAUTH);
    CHECK(outcome(c, true, PG_GRPC_PERMISSION_DENIED, -1, "no") == PG_EPERM);
    CHECK(outcome(c, true, PG_GRPC_UNIMPLEMENTED, -1, "no") == PG_EUNSUP);
    CHECK(outcome(c, true, PG_GRPC_INTERNAL, -1, "oops") == PG_EINTERNAL);
    /* HTTP */
    CHECK(outcome(c, false, 200, -1, "") == 0);
    CHECK(outcome(c, false, 202, -1, "") == 0);
    for (int st = 429; st <= 504; st++)
        if (st == 429 || st == 502 || st == 503 || st == 504)
            CHECK(outcome(c, false, st, -1, "busy") == PG_EAGAIN);
    CHECK(outcome(c, false, 400, -1, "bad") == PG_EINVAL);
    CHECK(outcome(c, false, 401, -1, "") == PG_EUNAUTH);
    CHECK(outcome(c, false, 403, -1, "") == PG_EPERM);
    CHECK(outcome(c, false, 413, -1, "") == PG_ELIMIT);
    CHECK(outcome(c, false, 500, -1, "") == PG_EINTERNAL);
    /* no answer at all */
    pg_otlp_answer none = {.answered = false, .transport_status = PG_EIO, .message = "refused"};
    none.message_len = strlen(none.message);
    char err[512];
    CHECK(pg_otlp_client_outcome(c, &none, 1, err, sizeof err) == PG_EAGAIN);
    CHECK(strstr(err, "unreachable") != NULL);
    /* a version refusal is permanent and named */
    int rc = pg_otlp_client_outcome(
        c,
        &(pg_otlp_answer){.answered = true,
                          .code = 400,
                          .retry_after_ns = -1,
                          .message = "OTLP-Profiles-Development-Version 1 is not supported",
                          .message_len = 52},
        1, err, sizeof err);
    CHECK(rc == PG_EINVAL && strstr(err, "version refused"));
    /* partial success: 2 rejected (protobuf: field 1 { field 1 = 2, field 2 = "old" }) */
    static const uint8_t pb[] = {0x0a, 0x07, 0x08, 0x02, 0x12, 0x03, 'o', 'l', 'd'};
    pg_otlp_answer ok = {.answered = true, .code = 200, .response = pb, .response_len = sizeof pb};
    CHECK(pg_otlp_client_outcome(c, &ok, 1, err, sizeof err) == 0);
    static const char js[] =
        "{\"partialSuccess\":{\"rejectedProfiles\":\"3\",\"errorMessage\":\"x\"}}";
    pg_otlp_answer okj = {.answered = true,
                          .code = 200,
                          .response = (const uint8_t *)js,
                          .response_len = sizeof js - 1,
                          .response_json = true};
    CHECK(pg_otlp_client_outcome(c, &okj, 1, err, sizeof err) == 0);
    CHECK_STR(pg_otlp_grpc_code_name(14), "UNAVAILABLE");
    CHECK_STR(pg_otlp_grpc_code_name(99), "UNKNOWN_CODE");
    pg_otlp_client_free(c);
}

static void test_headers(void)
{
    pg_otlp_client *c = client(false, PG_OTLP_COMPRESSION_NONE, 1);
    pg_otlp_client *nov = client(false, PG_OTLP_COMPRESSION_NONE, 0);
    if (!c || !nov) return;
    pg_batch *b = pg_batch_new(0);
    pg_otlp_header h[8];
    size_t n = pg_otlp_client_headers(c, b, h, 8);
    CHECK(n == 2); /* static + version; no metadata on the batch */
    CHECK_STR(h[0].key, "X-Static");
    CHECK_STR(h[1].key, "OTLP-Profiles-Development-Version");
    CHECK_STR(h[1].value, "1");
    pg_batch_meta_set(b, "x-scope-orgid", "tenant-7");
    n = pg_otlp_client_headers(c, b, h, 8);
    CHECK(n == 3 && strcmp(h[2].key, "X-Scope-OrgID") == 0 && strcmp(h[2].value, "tenant-7") == 0);
    CHECK(pg_otlp_client_headers(nov, b, h, 8) == 2); /* version 0: not sent */
    CHECK(pg_otlp_client_max_headers(c) == 3);
    CHECK(pg_otlp_client_content_encoding(c) == NULL);
    pg_batch_free(b);
    pg_otlp_client_free(c);
    pg_otlp_client_free(nov);
}

/* The body of a Go CPU profile: gzip and zstd inflate to the plain encoding, gRPC gets it
 * uncompressed, JSON on request; with attribute references the bytes differ and decode
 * back to the same keys, and the source batch is left unchanged. */
static void test_body(const char *data)
{
    char path[512];
    snprintf(path, sizeof path, "%s/../fuzz/corpus/otlp/go_cpu.otlp", data);
    pg_batch *b = hx_load_batch(path);
    CHECK(b != NULL);
    if (!b) return;
    pg_otlp_client *gz = client(false, PG_OTLP_COMPRESSION_GZIP, 1);
    pg_otlp_client *zs = client(false, PG_OTLP_COMPRESSION_ZSTD, 1);
    pg_otlp_client *refs = client(true, PG_OTLP_COMPRESSION_NONE, 1);
    char err[512];
    pg_buf plain = {0}, z = {0}, out = {0}, r = {0}, js = {0};
    CHECK(pg_otlp_encode(b, &plain, err, sizeof err) == 0);
    CHECK(pg_otlp_client_body(gz, b, false, true, &z, err, sizeof err) == 0);
    CHECK(pg_decompress(PG_ENC_GZIP, z.data, z.len, 1 << 26, &out, err, sizeof err) == 0);
    CHECK(out.len == plain.len && memcmp(out.data, plain.data, plain.len) == 0);
    z.len = out.len = 0;
    CHECK(pg_otlp_client_body(zs, b, false, true, &z, err, sizeof err) == 0);
    CHECK(pg_decompress(PG_ENC_ZSTD, z.data, z.len, 1 << 26, &out, err, sizeof err) == 0);
    CHECK(out.len == plain.len && memcmp(out.data, plain.data, plain.len) == 0);
    z.len = 0;
    CHECK(pg_otlp_client_body(gz, b, false, false, &z, err, sizeof err) == 0); /* gRPC: raw */
    CHECK(z.len == plain.len);
    CHECK(pg_otlp_client_body(gz, b, true, false, &js, err, sizeof err) == 0);
    CHECK(js.len > 0 && js.data[0] == '{');
    /* references: different bytes, same batch once decoded (keys resolved) */
    CHECK(pg_otlp_client_body(refs, b, false, true, &r, err, sizeof err) == 0);
    CHECK(r.len != plain.len || memcmp(r.data, plain.data, plain.len) != 0);
    pg_batch *back = pg_batch_new(0);
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    CHECK(pg_otlp_decode(back, r.data, r.len, &lim, err, sizeof err) == 0);
    const pg_otlp_data *d = pg_batch_data(back);
    bool keys_ok = d->n_resource_profiles > 0;
    for (size_t i = 0; keys_ok && i < d->n_resource_profiles; i++) {
        const pg_otlp_rprofiles *rp = d->resource_profiles[i];
        const pg_otlp_rprofiles *orig = pg_batch_data(b)->resource_profiles[i];
        if (!rp->resource) continue;
        for (size_t k = 0; k < rp->resource->n_attributes; k++)
            keys_ok &=
                strcmp(rp->resource->attributes[k]->key, orig->resource->attributes[k]->key) == 0;
    }
    CHECK(keys_ok);
    /* the source batch is unchanged */
    out.len = 0;
    CHECK(pg_otlp_encode(b, &out, err, sizeof err) == 0);
    CHECK(out.len == plain.len && memcmp(out.data, plain.data, plain.len) == 0);
    pg_batch_free(back);
    pg_buf_free(&plain);
    pg_buf_free(&z);
    pg_buf_free(&out);
    pg_buf_free(&r);
    pg_buf_free(&js);
    pg_otlp_client_free(gz);
    pg_otlp_client_free(zs);
    pg_otlp_client_free(refs);
    pg_batch_free(b);
}

static void test_config(void)
{
    char err[256];
    const pg_component_factory *g = pg_registry_lookup(PG_CFG_EXPORTER, "otlp");
    const pg_component_factory *h = pg_registry_lookup(PG_CFG_EXPORTER, "otlphttp");
    CHECK(g && h);
    if (!g || !h) return;
    CHECK_MSG(pg_cfg_table_check(g->config.table, err, sizeof err) == 0, "%s", err);
    CHECK_MSG(pg_cfg_table_check(h->config.table, err, sizeof err) == 0, "%s", err);
    char *e = hx_load_error("exporters:\n  otlp:\n    compression: zstd\n"
                            "receivers:\n  file:\n    include: [x]\n"
                            "service:\n  pipelines:\n    profiles:\n      receivers: [file]\n"
                            "      exporters: [otlp]\n");
    CHECK_MSG(e && strstr(e, "zstd is not available over gRPC"), "%s", e ? e : "(loaded)");
    free(e);
    e = hx_load_error("exporters:\n  otlphttp:\n    endpoint: localhost:4318\n"
                      "receivers:\n  file:\n    include: [x]\n"
                      "service:\n  pipelines:\n    profiles:\n      receivers: [file]\n"
                      "      exporters: [otlphttp]\n");
    CHECK_MSG(e && strstr(e, "not an http:// or https:// URL"), "%s", e ? e : "(loaded)");
    free(e);
    e = hx_load_error("exporters:\n  otlphttp:\n    tls:\n      cert_file: /x.pem\n"
                      "receivers:\n  file:\n    include: [x]\n"
                      "service:\n  pipelines:\n    profiles:\n      receivers: [file]\n"
                      "      exporters: [otlphttp]\n");
    CHECK_MSG(e && strstr(e, "cert_file and key_file go together"), "%s", e ? e : "(loaded)");
    free(e);
    e = hx_load_error("exporters:\n  otlp:\n    compression: none\n    balancer_name: round_robin\n"
                      "    tls:\n      insecure: true\n    keepalive:\n      time: 30s\n"
                      "    headers_from_metadata: [X-Scope-OrgID]\n    attribute_references: true\n"
                      "  otlphttp:\n    encoding: json\n    compression: zstd\n"
                      "    http_version: http2\n"
                      "receivers:\n  file:\n    include: [x]\n"
                      "service:\n  pipelines:\n    profiles:\n      receivers: [file]\n"
                      "      exporters: [otlp, otlphttp]\n");
    CHECK_MSG(e == NULL, "%s", e);
    free(e);
}

int main(int argc, char **argv)
{
    test_rules();
    test_headers();
    test_body(argc > 1 ? argv[1] : "tests/data");
    test_config();
    TEST_MAIN_END();
}
