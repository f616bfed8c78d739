/* pg_buf latches the status of its first failure: the flush's own status, PG_EIO when the
 * flush gives none, and later appends and reserves return the same status. */
#include "pipeline/core/buf.h"
#include "pipeline/core/err.h"
#include "testlib.h"

static int flush_rc;
static size_t flushed_bytes;

static int flush(void *ctx, const uint8_t *p, size_t n)
{
    (void)ctx;
    (void)p;
    if (flush_rc) return flush_rc;
    flushed_bytes += n;
    return 0;
}

static void test_flush_status(int rc, int want)
{
    pg_buf b = {0};
    b.flush = flush;
    uint8_t chunk[200] = {0};
    flush_rc = 0;
    CHECK(pg_buf_append(&b, chunk, sizeof chunk) == 0 && b.failed == 0);
    flush_rc = rc;
    /* 200 + 200 > the first 256 bytes: the buffer flushes first, which fails */
    CHECK_MSG(pg_buf_append(&b, chunk, sizeof chunk) == want, "flush %d", rc);
    CHECK(b.failed == want);
    flush_rc = 0;
    CHECK(pg_buf_append(&b, chunk, 1) == want); /* latched */
    CHECK(pg_buf_append(&b, chunk, 0) == want); /* even for nothing */
    CHECK(pg_buf_reserve(&b, 1) == want);
    pg_buf_free(&b);
}

int main(void)
{
    test_flush_status(PG_EIO, PG_EIO);
    test_flush_status(PG_EAGAIN, PG_EAGAIN); /* a status passes through */
    test_flush_status(1, PG_EIO);            /* a non-status failure becomes PG_EIO */
    pg_buf ok = {0};
    CHECK(pg_buf_append(&ok, "abc", 3) == 0 && ok.len == 3 && ok.failed == 0);
    pg_buf_free(&ok);
    TEST_MAIN_END();
}
