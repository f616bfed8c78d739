/* Span ids from OTLP trace data: protobuf (max_spans enforced, wrong-size ids skipped and
 * counted) and OTLP/JSON (camelCase and proto names, hex of either case, ids of the wrong
 * length skipped, non-hex ids, wrong JSON types and bad JSON refused with a message). */
#include "pipeline/core/buf.h"
#include "pipeline/core/wire.h"
#include "pipeline/traces/spans.h"
#include "testlib.h"

#include <string.h>

static const uint8_t T[16] = {0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd,
                              0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c};
static const uint8_t SP[8] = {0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31};

/* Decodes json; returns the status, the spans in *s (caller frees). */
static int dec_json(const char *json, size_t max, pg_spans *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    return pg_spans_decode_otlp_json((const uint8_t *)json, strlen(json), max, s, err, errlen);
}

static void test_json(void)
{
    char err[256] = "";
    pg_spans s;
    CHECK(dec_json(
              "{\"resourceSpans\":[{\"resource\":{},\"scopeSpans\":[{\"scope\":{},\"spans\":["
              "{\"traceId\":\"0AF7651916CD43DD8448EB211C80319C\",\"spanId\":\"b7ad6b7169203331\","
              "\"name\":\"x\",\"attributes\":[]},"
              "{\"traceId\":\"\",\"spanId\":\"b7ad6b7169203331\"},{\"name\":\"no ids\"}]}]},"
              "{\"resource_spans_unknown\":1,\"scope_spans\":[{\"spans\":[{\"trace_id\":"
              "\"0af7651916cd43dd8448eb211c80319c\",\"span_id\":\"b7ad6b7169203331\"}]}]}]}",
              0, &s, err, sizeof err) == 0);
    CHECK_MSG(s.n == 2 && s.skipped == 2, "n %zu skipped %zu (%s)", s.n, s.skipped, err);
    CHECK(s.n == 2 && !memcmp(s.items[0].trace, T, 16) && !memcmp(s.items[0].span, SP, 8) &&
          !memcmp(s.items[1].trace, T, 16));
    pg_spans_free(&s);
    CHECK(dec_json("{}", 0, &s, err, sizeof err) == 0 && s.n == 0);
    pg_spans_free(&s);
    static const struct {
        const char *json, *want;
    } bad[] = {
        {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":"
         "\"zzf7651916cd43dd8448eb211c80319c\",\"spanId\":\"b7ad6b7169203331\"}]}]}]}",
         "must be hex"},
        {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":7}]}]}]}", "must be hex"},
        {"{\"resourceSpans\":{}}", "must be arrays"},
        {"{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[3]}]}]}", "not a JSON object"},
        {"[1]", "not a JSON object"},
        {"{\"resourceSpans\":[", "invalid JSON at line 1"},
        {"{\"a\":1,\"a\":2}", "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        CHECK_MSG(dec_json(bad[i].json, 0, &s, err, sizeof err) == PG_EINVAL &&
                      strstr(err, bad[i].want),
                  "case %zu: %s", i, err);
        pg_spans_free(&s);
    }
    /* the cap */
    const char *two =
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":["
        "{\"traceId\":\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":\"1111111111111111\"},"
        "{\"traceId\":\"0af7651916cd43dd8448eb211c80319c\",\"spanId\":\"2222222222222222\"}"
        "]}]}]}";
    CHECK(dec_json(two, 1, &s, err, sizeof err) == PG_ELIMIT && strstr(err, "more than 1 spans"));
    pg_spans_free(&s);
    CHECK(dec_json(two, 2, &s, err, sizeof err) == 0 && s.n == 2);
    pg_spans_free(&s);
}

static void test_protobuf(void)
{
    pg_buf span = {0}, scope = {0}, rs = {0}, req = {0};
    pg_wire_put_bytes(&span, 1, T, 16);
    pg_wire_put_bytes(&span, 2, SP, 8);
    for (int i = 0; i < 3; i++)
        pg_wire_put_bytes(&scope, 2, span.data, span.len);
    pg_wire_put_bytes(&scope, 2, "\x0a\x01\x01", 3); /* a 1-byte trace id: skipped */
    pg_wire_put_bytes(&rs, 2, scope.data, scope.len);
    pg_wire_put_bytes(&req, 1, rs.data, rs.len);
    char err[256] = "";
    pg_spans s = {0};
    CHECK(pg_spans_decode_otlp(req.data, req.len, 0, &s, err, sizeof err) == 0);
    CHECK(s.n == 3 && s.skipped == 1 && !memcmp(s.items[2].span, SP, 8));
    pg_spans_free(&s);
    CHECK(pg_spans_decode_otlp(req.data, req.len, 2, &s, err, sizeof err) == PG_ELIMIT &&
          strstr(err, "more than 2 spans") && s.n == 2);
    pg_spans_free(&s);
    CHECK(pg_spans_decode_otlp(req.data, req.len - 1, 0, &s, err, sizeof err) == PG_EINVAL &&
          strstr(err, "malformed"));
    pg_spans_free(&s);
    pg_buf_free(&span);
    pg_buf_free(&scope);
    pg_buf_free(&rs);
    pg_buf_free(&req);
}

int main(void)
{
    test_json();
    test_protobuf();
    TEST_MAIN_END();
}
