/* Status codes: -1 is not a code; every code has a name, an HTTP status, a gRPC status and
 * a retry answer, each checked against the table the header documents. */
#include "pipeline/core/err.h"

#include <string.h>

#include "testlib.h"

typedef struct {
    int code;
    int http;
    int grpc;
    bool retry;
} expect;

/* The documented mapping, written out once more by hand. */
static const expect table[] = {
    {PG_OK, 200, 0, false},         {PG_EINVAL, 400, 3, false},  /* INVALID_ARGUMENT */
    {PG_ENOMEM, 503, 8, true},                                   /* RESOURCE_EXHAUSTED */
    {PG_ELIMIT, 413, 8, false},                                  /* RESOURCE_EXHAUSTED */
    {PG_EAGAIN, 503, 14, true},                                  /* UNAVAILABLE */
    {PG_EIO, 500, 14, true},                                     /* UNAVAILABLE */
    {PG_EUNSUP, 415, 12, false},                                 /* UNIMPLEMENTED */
    {PG_EUNAUTH, 401, 16, false},                                /* UNAUTHENTICATED */
    {PG_EPERM, 403, 7, false},                                   /* PERMISSION_DENIED */
    {PG_ENOTFOUND, 404, 5, false},  {PG_ETIMEOUT, 504, 4, true}, /* DEADLINE_EXCEEDED */
    {PG_ECANCELED, 503, 1, true},                                /* CANCELLED */
    {PG_EINTERNAL, 500, 13, false},
};
#define N_TABLE (sizeof table / sizeof table[0])

static void test_table(void)
{
    /* every code from PG_STATUS_MIN to 0 except -1 is in the table, once */
    CHECK(N_TABLE == (size_t)(-PG_STATUS_MIN));
    for (int c = PG_STATUS_MIN; c <= 0; c++) {
        int found = 0;
        for (size_t i = 0; i < N_TABLE; i++)
            found += table[i].code == c;
        CHECK_MSG(found == (c == -1 ? 0 : 1), "code %d listed %d times", c, found);
    }
    for (size_t i = 0; i < N_TABLE; i++) {
        const expect *e = &table[i];
        CHECK_MSG(pg_status_valid(e->code), "%d valid", e->code);
        CHECK_MSG(pg_status_http(e->code) == e->http, "%d: http %d", e->code,
                  pg_status_http(e->code));
        CHECK_MSG(pg_status_grpc(e->code) == e->grpc, "%d: grpc %d", e->code,
                  pg_status_grpc(e->code));
        CHECK_MSG(pg_status_retryable(e->code) == e->retry, "%d: retry", e->code);
        const char *n = pg_status_name(e->code);
        CHECK_MSG(n && *n && strcmp(n, "unknown status"), "%d: name", e->code);
        for (size_t j = 0; j < i; j++)
            CHECK_MSG(strcmp(n, pg_status_name(table[j].code)), "%s twice", n);
    }
    CHECK_STR(pg_status_name(PG_OK), "ok");
    CHECK_STR(pg_status_name(PG_EAGAIN), "try again");
}

static void test_unknown(void)
{
    /* -1 (the old catch-all) and anything outside the range is unknown: 500 / INTERNAL */
    const int bad[] = {-1, 1, 2, 400, PG_STATUS_MIN - 1, -100, -1000, -2147483647 - 1, 2147483647};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_MSG(!pg_status_valid(bad[i]), "%d valid", bad[i]);
        CHECK_STR(pg_status_name(bad[i]), "unknown status");
        CHECK(pg_status_http(bad[i]) == 500);
        CHECK(pg_status_grpc(bad[i]) == PG_GRPC_INTERNAL);
        CHECK(!pg_status_retryable(bad[i]));
    }
}

static void test_gprc_numbers(void)
{
    /* numbers from grpc/doc/statuscodes.md */
    CHECK(PG_GRPC_CANCELLED == 1 && PG_GRPC_INVALID_ARGUMENT == 3 &&
          PG_GRPC_DEADLINE_EXCEEDED == 4);
    CHECK(PG_GRPC_NOT_FOUND == 5 && PG_GRPC_PERMISSION_DENIED == 7 &&
          PG_GRPC_RESOURCE_EXHAUSTED == 8);
    CHECK(PG_GRPC_UNIMPLEMENTED == 12 && PG_GRPC_INTERNAL == 13 && PG_GRPC_UNAVAILABLE == 14);
    CHECK(PG_GRPC_UNAUTHENTICATED == 16);
}

static void test_err_message(void)
{
    char e[32] = "";
    CHECK(pg_err(e, sizeof e, PG_ELIMIT, "body over %d bytes", 10) == PG_ELIMIT);
    CHECK_STR(e, "body over 10 bytes");
    CHECK(pg_err(NULL, 0, PG_EIO, "x") == PG_EIO);
    pg_err_prefix(e, sizeof e, "otlp");
    CHECK_STR(e, "otlp: body over 10 bytes");
}

int main(void)
{
    test_table();
    test_unknown();
    test_gprc_numbers();
    test_err_message();
    TEST_MAIN_END();
}
