/* gRPC unary pieces of the listener stack: content types, the length prefix, grpc-timeout,
 * grpc-message percent-encoding and the statuses of early HTTP answers. The transport is
 * tested end to end with grpcio (receivers/pprof_push/tests/test_pprof_push_grpc.py). */
#include "pipeline/core/err.h"
#include "pipeline/net/grpc.h"
#include "testlib.h"

#include <stdint.h>
#include <string.h>

static void test_content_type(void)
{
    CHECK(pg_grpc_content_type("application/grpc") == PG_GRPC_CT_PROTO);
    CHECK(pg_grpc_content_type("application/grpc+proto") == PG_GRPC_CT_PROTO);
    CHECK(pg_grpc_content_type("Application/GRPC; charset=x") == PG_GRPC_CT_PROTO);
    CHECK(pg_grpc_content_type("application/grpc+json") == PG_GRPC_CT_OTHER);
    CHECK(pg_grpc_content_type("application/grpc+protox") == PG_GRPC_CT_OTHER);
    CHECK(pg_grpc_content_type("application/grpc-web") == PG_GRPC_CT_NONE);
    CHECK(pg_grpc_content_type("application/proto") == PG_GRPC_CT_NONE);
    CHECK(pg_grpc_content_type(NULL) == PG_GRPC_CT_NONE);
}

static void test_unframe(void)
{
    char err[256];
    bool z;
    size_t off, len;
    const uint8_t one[] = {0, 0, 0, 0, 3, 'a', 'b', 'c'};
    CHECK(pg_grpc_unframe(one, sizeof one, &z, &off, &len, err, sizeof err) == 0);
    CHECK(!z && off == 5 && len == 3);
    const uint8_t zipped[] = {1, 0, 0, 0, 0};
    CHECK(pg_grpc_unframe(zipped, sizeof zipped, &z, &off, &len, err, sizeof err) == 0);
    CHECK(z && len == 0);
    CHECK(pg_grpc_unframe(one, 0, &z, &off, &len, err, sizeof err) == PG_EINVAL);
    CHECK(pg_grpc_unframe(one, 4, &z, &off, &len, err, sizeof err) == PG_EINVAL);
    CHECK(pg_grpc_unframe(one, 7, &z, &off, &len, err, sizeof err) == PG_EINVAL); /* cut */
    const uint8_t two[] = {0, 0, 0, 0, 1, 'a', 0, 0, 0, 0, 0};
    CHECK(pg_grpc_unframe(two, sizeof two, &z, &off, &len, err, sizeof err) == PG_EINVAL);
    CHECK(strstr(err, "more than one") != NULL);
    const uint8_t flags[] = {2, 0, 0, 0, 0};
    CHECK(pg_grpc_unframe(flags, sizeof flags, &z, &off, &len, err, sizeof err) == PG_EINVAL);
    const uint8_t huge[] = {0, 0xff, 0xff, 0xff, 0xff, 'x'};
    CHECK(pg_grpc_unframe(huge, sizeof huge, &z, &off, &len, err, sizeof err) == PG_EINVAL);
}

static void test_timeout(void)
{
    int64_t ns = 0;
    CHECK(pg_grpc_timeout_parse("1S", &ns) == 0 && ns == 1000000000LL);
    CHECK(pg_grpc_timeout_parse("250m", &ns) == 0 && ns == 250000000LL);
    CHECK(pg_grpc_timeout_parse("99999999u", &ns) == 0 && ns == 99999999000LL);
    CHECK(pg_grpc_timeout_parse("2H", &ns) == 0 && ns == 7200000000000LL);
    CHECK(pg_grpc_timeout_parse("5n", &ns) == 0 && ns == 5);
    CHECK(pg_grpc_timeout_parse("3M", &ns) == 0 && ns == 180000000000LL);
    CHECK(pg_grpc_timeout_parse("99999999H", &ns) == 0 && ns == INT64_MAX); /* saturates */
    CHECK(pg_grpc_timeout_parse("123456789S", &ns) == PG_EINVAL);           /* 9 digits */
    CHECK(pg_grpc_timeout_parse("S", &ns) == PG_EINVAL);
    CHECK(pg_grpc_timeout_parse("1", &ns) == PG_EINVAL);
    CHECK(pg_grpc_timeout_parse("1x", &ns) == PG_EINVAL);
    CHECK(pg_grpc_timeout_parse("1SS", &ns) == PG_EINVAL);
    CHECK(pg_grpc_timeout_parse(NULL, &ns) == PG_EINVAL);
}

static void test_percent(void)
{
    char out[32];
    pg_grpc_percent_encode("a b%c\n\xc3\xa9", out, sizeof out);
    CHECK_STR(out, "a b%25c%0A%C3%A9");
    pg_grpc_percent_encode("abcdefgh%", out, 11); /* an escape is never cut */
    CHECK_STR(out, "abcdefgh");
    pg_grpc_percent_encode(NULL, out, sizeof out);
    CHECK_STR(out, "");
}

static void test_statuses(void)
{
    CHECK(pg_status_grpc(pg_grpc_status_of_http(401)) == PG_GRPC_UNAUTHENTICATED);
    CHECK(pg_status_grpc(pg_grpc_status_of_http(404)) == PG_GRPC_UNIMPLEMENTED);
    CHECK(pg_status_grpc(pg_grpc_status_of_http(405)) == PG_GRPC_UNIMPLEMENTED);
    CHECK(pg_status_grpc(pg_grpc_status_of_http(413)) == PG_GRPC_RESOURCE_EXHAUSTED);
    CHECK(pg_status_grpc(pg_grpc_status_of_http(431)) == PG_GRPC_RESOURCE_EXHAUSTED);
    CHECK(pg_status_grpc(pg_grpc_status_of_http(503)) == PG_GRPC_UNAVAILABLE);
    CHECK(pg_status_grpc(pg_grpc_status_of_http(400)) == PG_GRPC_INVALID_ARGUMENT);
    CHECK(pg_status_grpc(pg_grpc_status_of_http(500)) == PG_GRPC_INTERNAL);
}

int main(void)
{
    test_content_type();
    test_unframe();
    test_timeout();
    test_percent();
    test_statuses();
    TEST_MAIN_END();
}
