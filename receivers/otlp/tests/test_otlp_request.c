/* The otlp receiver's request logic without a transport: version header cases, malformed
 * and oversized requests, refusal by the pipeline (retryable), metadata kept and bounded,
 * partial_success for profiles without samples, the JSON content type; and the config
 * table through the real registry. argv[1] is the test data directory. */
#include "testlib.h"

#include "component_harness.h"
#include "pipeline/core/decompress.h"
#include "pipeline/core/samples.h"
#include "pipeline/translate/otlp_codec.h"
#include "receivers/otlp/otlp_receiver.h"
#include "receivers/otlp/otlp_request.h"

#define RESP Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceResponse
#define RESP_UNPACK                                                                                \
    opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__unpack
#define RESP_FREE                                                                                  \
    opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__free_unpacked

static char corpus[512];
static hx_capture cap = {.mu = PTHREAD_MUTEX_INITIALIZER};
static pg_buf cpu; /* go_cpu.otlp */

/* A request config sending to the capture, accepting versions 1 (and 3 when two). */
static pg_otlp_req_config base(int two_versions)
{
    pg_otlp_req_config c = {.id = "otlp/t", .versions = {1, 3}, .n_versions = two_versions ? 2 : 1};
    pg_decode_limits_default(&c.limits);
    c.next = hx_capture_consumer(&cap);
    return c;
}

/* Handles cpu with metadata md[0..n) under c; returns the status (message in res, freed). */
static int run(const pg_otlp_req_config *c, const pg_otlp_md *md, size_t n, char *msg,
               size_t msglen)
{
    pg_otlp_result res;
    int rc = pg_otlp_request_handle(c, cpu.data, cpu.len, 0, PG_OTLP_CT_PROTOBUF, md, n, &res);
    CHECK(rc == res.status);
    if (msg) snprintf(msg, msglen, "%s", res.message);
    pg_otlp_result_free(&res);
    return rc;
}

static void test_versions(void)
{
    pg_otlp_req_config c = base(1);
    char msg[512];
    hx_capture_reset(&cap);
    CHECK(run(&c, NULL, 0, msg, sizeof msg) == 0); /* missing = 1 */
    pg_otlp_md v1 = {PG_OTLP_VERSION_KEY, "1"}, v3 = {PG_OTLP_VERSION_KEY, "3"};
    CHECK(run(&c, &v1, 1, msg, sizeof msg) == 0);
    CHECK(run(&c, &v3, 1, msg, sizeof msg) == 0);
    CHECK(hx_capture_accepted(&cap) == 3);
    const char *bad[] = {"2", "0", "-1", "+1", "1.0", "", " 1", "abc", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pg_otlp_md m = {PG_OTLP_VERSION_KEY, bad[i]};
        CHECK_MSG(run(&c, &m, 1, msg, sizeof msg) == PG_EINVAL, "version \"%s\"", bad[i]);
        CHECK_MSG(strstr(msg, "accepted: 1, 3") && strstr(msg, PG_OTLP_VERSION_HEADER), "%s", msg);
    }
    pg_otlp_md twice[] = {v1, v1};
    CHECK(run(&c, twice, 2, msg, sizeof msg) == PG_EINVAL);
    CHECK(strstr(msg, "more than once") != NULL);
    pg_otlp_req_config one = base(0);
    CHECK(run(&one, &v3, 1, msg, sizeof msg) == PG_EINVAL);
    CHECK_MSG(strstr(msg, "3 is not supported; accepted: 1"), "%s", msg);
    CHECK(hx_capture_accepted(&cap) == 3); /* nothing refused reached the pipeline */
    CHECK(pg_status_grpc(PG_EINVAL) == PG_GRPC_INVALID_ARGUMENT &&
          pg_status_http(PG_EINVAL) == 400);
}

static void test_malformed_and_limits(void)
{
    pg_otlp_req_config c = base(0);
    pg_otlp_result res;
    hx_capture_reset(&cap);
    const uint8_t junk[] = {0xff, 0xff, 0xff};
    CHECK(pg_otlp_request_handle(&c, junk, sizeof junk, 0, PG_OTLP_CT_PROTOBUF, NULL, 0, &res) ==
          PG_EINVAL);
    CHECK(res.response.len == 0);
    pg_otlp_result_free(&res);
    /* truncated real request */
    CHECK(pg_otlp_request_handle(&c, cpu.data, cpu.len / 2, 0, PG_OTLP_CT_PROTOBUF, NULL, 0,
                                 &res) == PG_EINVAL);
    pg_otlp_result_free(&res);
    /* JSON that is not JSON */
    CHECK(pg_otlp_request_handle(&c, (const uint8_t *)"{", 1, 0, PG_OTLP_CT_JSON, NULL, 0, &res) ==
          PG_EINVAL);
    pg_otlp_result_free(&res);
    /* over the sample limit, and over the decompressed cap (gzip) */
    c.limits.max_samples = 3;
    CHECK(run(&c, NULL, 0, NULL, 0) == PG_ELIMIT);
    c = base(0);
    pg_buf gz = {0};
    CHECK(pg_gzip_compress(cpu.data, cpu.len, 6, &gz, NULL, 0) == 0);
    c.limits.max_decompressed = cpu.len - 1;
    CHECK(pg_otlp_request_handle(&c, gz.data, gz.len, 0, PG_OTLP_CT_PROTOBUF, NULL, 0, &res) ==
          PG_ELIMIT);
    pg_otlp_result_free(&res);
    c.limits.max_decompressed = cpu.len;
    CHECK(pg_otlp_request_handle(&c, gz.data, gz.len, 0, PG_OTLP_CT_PROTOBUF, NULL, 0, &res) == 0);
    pg_otlp_result_free(&res);
    pg_buf_free(&gz);
    CHECK(hx_capture_accepted(&cap) == 1);
    CHECK(pg_status_grpc(PG_ELIMIT) == PG_GRPC_RESOURCE_EXHAUSTED);
}

static void test_refused_retryable(void)
{
    pg_otlp_req_config c = base(0);
    char msg[512];
    hx_capture_reset(&cap);
    cap.refuse_next = 1;
    int rc = run(&c, NULL, 0, msg, sizeof msg);
    CHECK(rc == PG_EAGAIN);
    CHECK(pg_status_retryable(rc) && pg_status_grpc(rc) == PG_GRPC_UNAVAILABLE &&
          pg_status_http(rc) == 503);
    CHECK_MSG(strstr(msg, "busy"), "%s", msg);
    CHECK(run(&c, NULL, 0, NULL, 0) == 0); /* the retry goes through */
    CHECK(hx_capture_accepted(&cap) == 1 && hx_capture_calls(&cap) == 2);
}

/* A consumer that records the tenant metadata and the origin of what it takes. */
static char seen_tenant[8192], seen_origin[64];
static size_t seen_meta;
static int meta_consume(void *ctx, pg_batch *b, char *err, size_t errlen)
{
    (void)ctx, (void)err, (void)errlen;
    const char *t = pg_batch_meta_get(b, "x-scope-orgid");
    snprintf(seen_tenant, sizeof seen_tenant, "%s", t ? t : "(none)");
    snprintf(seen_origin, sizeof seen_origin, "%s", pg_batch_origin(b));
    seen_meta = pg_batch_meta_count(b);
    CHECK(pg_batch_ack(b) != NULL && pg_batch_received(b) > 0);
    pg_batch_free(b);
    return 0;
}

static void test_metadata(void)
{
    pg_otlp_req_config c = base(0);
    char *keys[] = {"x-scope-orgid"};
    c.next = (pg_consumer){meta_consume, NULL};
    pg_otlp_md md[] = {
        {"x-scope-orgid", "team-a"}, {"authorization", "secret"}, {"x-scope-orgid", "team-b"}};
    CHECK(run(&c, md, 3, NULL, 0) == 0);
    CHECK_STR(seen_tenant, "(none)"); /* include_metadata off */
    CHECK(seen_meta == 0);
    CHECK_STR(seen_origin, "otlp/t");
    c.include_metadata = true;
    c.metadata_keys = keys;
    c.n_metadata_keys = 1;
    CHECK(run(&c, md, 3, NULL, 0) == 0);
    CHECK_STR(seen_tenant, "team-a,team-b");
    CHECK(seen_meta == 1); /* authorization is not kept */
    c.max_metadata_value = 8;
    char msg[512];
    CHECK(run(&c, md, 3, msg, sizeof msg) == PG_ELIMIT);
    CHECK_MSG(strstr(msg, "x-scope-orgid"), "%s", msg);
}

/* cpu with one more profile without samples; encoded into out. */
static void with_empty_profile(pg_buf *out)
{
    pg_batch *b = pg_batch_new(0);
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    CHECK(pg_otlp_decode(b, cpu.data, cpu.len, &lim, NULL, 0) == 0);
    pg_otlp_sprofiles *sp = pg_batch_data(b)->resource_profiles[0]->scope_profiles[0];
    pg_arena *a = pg_batch_arena(b);
    pg_otlp_profile **np = pg_arena_alloc(a, (sp->n_profiles + 1) * sizeof *np);
    memcpy(np, sp->profiles, sp->n_profiles * sizeof *np);
    np[sp->n_profiles] = &pg_profile_new(a)->msg;
    sp->profiles = np;
    sp->n_profiles++;
    CHECK(pg_otlp_encode(b, out, NULL, 0) == 0);
    pg_batch_free(b);
}

static void test_partial_success(void)
{
    pg_otlp_req_config c = base(0);
    pg_buf req = {0};
    with_empty_profile(&req);
    hx_capture_reset(&cap);
    pg_otlp_result res;
    CHECK(pg_otlp_request_handle(&c, req.data, req.len, 0, PG_OTLP_CT_PROTOBUF, NULL, 0, &res) ==
          0);
    CHECK(res.rejected_profiles == 1);
    RESP *r = RESP_UNPACK(NULL, res.response.len, res.response.data);
    CHECK(r && r->partial_success && r->partial_success->rejected_profiles == 1 &&
          strstr(r->partial_success->error_message, "without samples"));
    if (r) RESP_FREE(r, NULL);
    pg_otlp_result_free(&res);
    CHECK(hx_capture_accepted(&cap) == 1);
    /* the profile with samples went on unchanged */
    pg_batch *orig = pg_batch_new(0);
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    pg_otlp_decode(orig, cpu.data, cpu.len, &lim, NULL, 0);
    char *want = hx_dump(orig);
    CHECK(strcmp(want, cap.dumps[0]) == 0);
    free(want);
    pg_batch_free(orig);
    /* a full request: an empty response (no partial_success) */
    CHECK(pg_otlp_request_handle(&c, cpu.data, cpu.len, 0, PG_OTLP_CT_PROTOBUF, NULL, 0, &res) ==
          0);
    CHECK(res.rejected_profiles == 0 && res.response.len == 0);
    pg_otlp_result_free(&res);
    /* JSON in, JSON out */
    pg_batch *b = pg_batch_new(0);
    pg_buf json = {0};
    pg_otlp_decode(b, req.data, req.len, &lim, NULL, 0);
    CHECK(pg_otlp_encode_json(b, &json, NULL, 0) == 0);
    pg_batch_free(b);
    CHECK(pg_otlp_request_handle(&c, json.data, json.len, 0, PG_OTLP_CT_JSON, NULL, 0, &res) == 0);
    pg_buf_append(&res.response, "", 1);
    CHECK_MSG(strstr((char *)res.response.data, "\"rejectedProfiles\""), "%s",
              (char *)res.response.data);
    pg_otlp_result_free(&res);
    pg_buf_free(&json);
    pg_buf_free(&req);
}

static void test_config(void)
{
    char err[256] = "";
    const pg_component_factory *F = &pg_otlp_receiver_factory;
    CHECK_MSG(pg_cfg_table_check(F->config.table, err, sizeof err) == 0, "%s", err);
    CHECK(pg_registry_lookup(PG_CFG_RECEIVER, "otlp") == F);
#define PIPE                                                                                       \
    "exporters:\n  nop:\nservice:\n  pipelines:\n    profiles:\n      receivers: [otlp]\n      "   \
    "exporters: [nop]\n"
    const char *good[] = {
        "receivers:\n  otlp:\n    protocols:\n      grpc:\n" PIPE,
        "receivers:\n  otlp:\n    protocols:\n      http:\n" PIPE,
        "receivers:\n  otlp:\n    protocols:\n      grpc:\n      http: {profiles_url_path: /p, "
        "cors: {allowed_origins: [\"https://*.example.com\"], max_age: 60}}\n" PIPE,
    };
    char *e;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        e = hx_load_error(good[i]);
        CHECK_MSG(e == NULL, "good %zu: %s", i, e);
        free(e);
    }
    const char *bad[][2] = {
        {"receivers:\n  otlp:\n    accepted_versions: [0]\n" PIPE, "positive integer"},
        {"receivers:\n  otlp:\n    include_metadata: true\n" PIPE, "metadata_keys"},
        {"receivers:\n  otlp:\n    protocols:\n      grpc:\n        tls:\n          cert_file: "
         "a\n" PIPE,
         "key_file"},
        {"receivers:\n  otlp:\n" PIPE, "give grpc, http or both"},
        {"receivers:\n  otlp:\n    protocols:\n      http: {profiles_url_path: v1}\n" PIPE,
         "profiles_url_path"},
        {"receivers:\n  otlp:\n    protocols:\n      http: {tls: {cert_file: a}}\n" PIPE,
         "protocols.http: tls: cert_file and key_file go together"},
        {"receivers:\n  otlp:\n    protocols:\n      http: {cors: {max_age: -1}}\n" PIPE,
         "max_age"},
        {"receivers:\n  otlp:\n    protocols:\n      grpc:\n        max_recv_msg_size_mib: "
         "0\n" PIPE,
         "max_recv_msg_size_mib"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e = hx_load_error(bad[i][0]);
        CHECK_MSG(e && strstr(e, bad[i][1]), "case %zu: %s", i, e ? e : "(loaded)");
        free(e);
    }
}

int main(int argc, char **argv)
{
    snprintf(corpus, sizeof corpus, "%s/../fuzz/corpus/otlp/go_cpu.otlp",
             argc > 1 ? argv[1] : "tests/data");
    if (hx_read(corpus, &cpu)) {
        fprintf(stderr, "cannot read %s\n", corpus);
        return 1;
    }
    test_versions();
    test_malformed_and_limits();
    test_refused_retryable();
    test_metadata();
    test_partial_success();
    test_config();
    hx_capture_reset(&cap);
    pg_buf_free(&cpu);
    TEST_MAIN_END();
}
