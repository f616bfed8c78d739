/* The span index: put/get, refresh, expiry after the TTL, eviction of the oldest when
 * full (counted by reason), all-zero ids ignored, waiting, and OTLP trace bytes (built
 * here with the wire writer, field numbers of trace.proto): spans with good ids indexed,
 * others skipped, malformed bytes refused. */
#include "pipeline/core/buf.h"
#include "pipeline/core/wire.h"
#include "pipeline/traces/span_index.h"
#include "testlib.h"

#include <string.h>

#define S 1000000000LL

static void ids(int n, uint8_t span[8], uint8_t trace[16])
{
    memset(span, 0, 8);
    memset(trace, 0, 16);
    span[7] = (uint8_t)n;
    span[0] = 0xaa;
    trace[15] = (uint8_t)n;
    trace[0] = 0xbb;
}

static void test_put_get(void)
{
    pg_span_index *ix = pg_span_index_new(3, 10 * S);
    uint8_t sp[8], tr[16], got[16];
    for (int i = 1; i <= 3; i++) {
        ids(i, sp, tr);
        CHECK(pg_span_index_put(ix, sp, tr, i * S) == 0);
    }
    ids(2, sp, tr);
    CHECK(pg_span_index_get(ix, sp, got, 4 * S) == 1 && memcmp(got, tr, 16) == 0);
    /* a fourth span evicts the oldest (1) */
    ids(4, sp, tr);
    pg_span_index_put(ix, sp, tr, 5 * S);
    ids(1, sp, tr);
    CHECK(pg_span_index_get(ix, sp, got, 5 * S) == 0);
    /* refreshing 2 moves it to the back: the next eviction takes 3 */
    ids(2, sp, tr);
    tr[1] = 0x77;
    pg_span_index_put(ix, sp, tr, 6 * S);
    ids(5, sp, tr);
    pg_span_index_put(ix, sp, tr, 6 * S);
    ids(3, sp, tr);
    CHECK(pg_span_index_get(ix, sp, got, 6 * S) == 0);
    ids(2, sp, tr);
    CHECK(pg_span_index_get(ix, sp, got, 6 * S) == 1 && got[1] == 0x77);
    /* expiry: 4 was added at 5 s, 2 and 5 at 6 s; at 15.5 s only 4 is gone */
    ids(4, sp, tr);
    CHECK(pg_span_index_get(ix, sp, got, 15 * S + S / 2) == 0);
    ids(5, sp, tr);
    CHECK(pg_span_index_get(ix, sp, got, 15 * S + S / 2) == 1);
    pg_span_index_stats st;
    pg_span_index_stats_get(ix, &st);
    CHECK(st.added == 6 && st.evicted_full == 2 && st.evicted_ttl == 1 && st.entries == 2);
    CHECK(st.lookups == 6 && st.hits == 3);
    /* zero ids are ignored */
    uint8_t zs[8] = {0}, zt[16] = {0};
    ids(9, sp, tr);
    pg_span_index_put(ix, zs, tr, 16 * S);
    pg_span_index_put(ix, sp, zt, 16 * S);
    pg_span_index_stats_get(ix, &st);
    CHECK(st.added == 6);
    CHECK(pg_span_index_new(0, S) == NULL && pg_span_index_new(1, 0) == NULL);
    pg_span_index_wait(ix, 0); /* a deadline in the past returns at once */
    pg_span_index_free(ix);
}

/* Many spans through a small table: every live one is found (probe chains survive
 * deletions). */
static void test_churn(void)
{
    pg_span_index *ix = pg_span_index_new(100, 1000 * S);
    uint8_t sp[8], tr[16], got[16];
    int bad = 0;
    for (int i = 1; i <= 5000; i++) {
        memset(sp, 0, 8);
        memset(tr, 0, 16);
        memcpy(sp, &i, sizeof i);
        memcpy(tr + 4, &i, sizeof i);
        pg_span_index_put(ix, sp, tr, S);
        for (int k = i > 100 ? i - 99 : 1; k <= i; k += 7) {
            memset(sp, 0, 8);
            memcpy(sp, &k, sizeof k);
            if (!pg_span_index_get(ix, sp, got, S) || memcmp(got + 4, &k, sizeof k)) bad++;
        }
    }
    CHECK_MSG(bad == 0, "%d live spans not found", bad);
    pg_span_index_free(ix);
}

/* Appends a Span with the given id sizes to buf. */
static void put_span(pg_buf *scope, int n, size_t tlen, size_t slen)
{
    uint8_t sp[8], tr[16];
    ids(n, sp, tr);
    pg_buf span = {0};
    pg_wire_put_bytes(&span, 1, tr, tlen);
    pg_wire_put_bytes(&span, 2, sp, slen);
    pg_wire_put_bytes(&span, 5, "GET /", 5); /* name: skipped */
    pg_wire_put_tag(&span, 7, PG_WT_I64);    /* start_time_unix_nano (fixed64) */
    pg_buf_append(&span, "\1\0\0\0\0\0\0\0", 8);
    pg_wire_put_bytes(scope, 2, span.data, span.len);
    pg_buf_free(&span);
}

static void test_otlp(void)
{
    pg_buf scope = {0}, rs = {0}, req = {0};
    put_span(&scope, 1, 16, 8);
    put_span(&scope, 2, 16, 8);
    put_span(&scope, 3, 15, 8); /* wrong size: skipped */
    pg_wire_put_bytes(&rs, 2, scope.data, scope.len);
    pg_wire_put_bytes(&rs, 3, "https://x", 9);
    pg_wire_put_bytes(&req, 1, rs.data, rs.len);
    pg_span_index *ix = pg_span_index_new(10, 60 * S);
    char err[256] = "";
    size_t added = 0, skipped = 0;
    CHECK(pg_span_index_add_otlp(ix, req.data, req.len, S, &added, &skipped, err, sizeof err) == 0);
    CHECK(added == 2 && skipped == 1);
    uint8_t sp[8], tr[16], got[16];
    ids(2, sp, tr);
    CHECK(pg_span_index_get(ix, sp, got, S) == 1 && memcmp(got, tr, 16) == 0);
    /* truncated: refused */
    CHECK(pg_span_index_add_otlp(ix, req.data, req.len - 3, S, &added, &skipped, err, sizeof err) ==
          PG_EINVAL);
    CHECK(strstr(err, "malformed") != NULL);
    CHECK(pg_span_index_add_otlp(ix, (const uint8_t *)"", 0, S, &added, &skipped, err,
                                 sizeof err) == 0 &&
          added == 0);
    pg_span_index_free(ix);
    pg_buf_free(&scope);
    pg_buf_free(&rs);
    pg_buf_free(&req);
}

int main(void)
{
    test_put_get();
    test_churn();
    test_otlp();
    TEST_MAIN_END();
}
