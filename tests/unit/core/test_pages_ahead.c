/* pg_pages_ahead (pipeline/core/pages_ahead.c): a range under the policy's least size gets
 * no helper; a helper faults in exactly the whole pages of its range (mincore), while the
 * caller writes into it without a byte lost; stopping a helper early stops it after its
 * step, not at the end of a huge range; gunzip of a large member takes a helper and inflates
 * the same bytes as without one. */
#define _GNU_SOURCE
#include "testlib.h"
#include "resident_pages.h"

#include "pipeline/core/buf.h"
#include "pipeline/core/decompress.h"
#include "pipeline/core/pages_ahead.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

static size_t page;

/* Waits (at most 10 s) until the helpers have done `want` steps in all. */
static int wait_steps(size_t want)
{
    for (int k = 0; k < 10000; k++) {
        if (pg_pages_ahead_steps() >= want) return 1;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    return 0;
}

/* Under the least size: no helper, nothing faulted. */
static void test_small(void)
{
    pg_pages_ahead_set_policy(0, 1);
    uint8_t *m = mmap(NULL, 63 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    if (m == MAP_FAILED) return;
    CHECK(pg_pages_ahead_start(m, 63 * page) == NULL); /* under 256 KiB, the default */
    CHECK(pg_pages_ahead_start(NULL, 1 << 30) == NULL);
    CHECK(tg_resident_pages(m, 63) == 0);
    pg_pages_ahead_stop(NULL);
    munmap(m, 63 * page);
}

/* A helper over pages 3..(np - 3) of a fresh mapping (its range starting and ending inside
 * pages) faults in those whole pages and no others, while this thread writes a pattern over
 * the whole range from the front: every byte written reads back. */
static void test_range(int populates)
{
    pg_pages_ahead_set_policy(1, 1);
    size_t np = 1600; /* more than two steps of 2 MiB with 4 KiB pages */
    uint8_t *m = mmap(NULL, np * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    if (m == MAP_FAILED) return;
    /* no large pages: residency is then counted page by page */
    madvise(m, np * page, MADV_NOHUGEPAGE);
    size_t before = pg_pages_ahead_steps();
    uint8_t *lo = m + 2 * page + 100, *hi = m + (np - 3) * page + 5;
    size_t n = (size_t)(hi - lo);
    pg_pages_ahead *a = pg_pages_ahead_start(lo, n);
    CHECK(a != NULL);
    for (size_t i = 0; i < n; i += 97)
        lo[i] = (uint8_t)(i % 251 + 1);
    size_t steps = (n + (2u << 20) - 1) / (2u << 20);
    CHECK_MSG(wait_steps(before + steps), "the helper did not finish its %zu steps", steps);
    pg_pages_ahead_stop(a);
    int same = 1;
    for (size_t i = 0; i < n; i += 97)
        same &= lo[i] == (uint8_t)(i % 251 + 1);
    CHECK_MSG(same, "a byte written while the helper ran was lost");
    if (populates) {
        /* pages 3 .. np - 4 are whole inside the range; 0..2 and np - 3.. are not */
        CHECK_MSG(tg_resident_pages(m + 3 * page, np - 6) == (long)(np - 6),
                  "pages inside the range not all resident");
        CHECK(tg_resident_pages(m, 2) == 0);
        CHECK(tg_resident_pages(m + (np - 2) * page, 2) == 0);
    }
    munmap(m, np * page);
}

/* Stopped right away over 256 MiB reserved without backing: the helper ends after a step or
 * two (it does not fault the whole range in). */
static void test_stop_early(int populates)
{
    pg_pages_ahead_set_policy(1, 1);
    size_t n = (size_t)256 << 20;
    uint8_t *m =
        mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(m != MAP_FAILED);
    if (m == MAP_FAILED) return;
    size_t before = pg_pages_ahead_steps();
    pg_pages_ahead *a = pg_pages_ahead_start(m, n);
    CHECK(a != NULL);
    pg_pages_ahead_stop(a);
    size_t done = pg_pages_ahead_steps() - before;
    CHECK_MSG(done < 16, "the helper went on for %zu steps after being stopped", done);
    if (populates) CHECK(tg_resident_pages(m + n - 64 * page, 64) == 0);
    munmap(m, n);
}

/* gunzip of an 8 MiB member: one helper is taken when the policy allows
 * it, none when it asks for more than the member, and both inflate the same bytes. */
static void test_gunzip(void)
{
    size_t n = 8u << 20;
    uint8_t *src = malloc(n);
    uLongf zn = compressBound(n) + 64;
    uint8_t *gz = malloc(zn);
    CHECK(src && gz);
    if (!src || !gz) {
        free(src);
        free(gz);
        return;
    }
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        src[i] = (uint8_t)((x >> 16) % 16 + 'a'); /* compressible, not trivially */
    }
    z_stream z = {0};
    CHECK(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    z.next_in = src;
    z.avail_in = (uInt)n;
    z.next_out = gz;
    z.avail_out = (uInt)zn;
    CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END);
    size_t gn = z.total_out;
    deflateEnd(&z);
    for (int helper = 0; helper < 2; helper++) {
        pg_pages_ahead_set_policy(helper ? 1 : (size_t)1 << 40, 1);
        size_t before = pg_pages_ahead_started();
        pg_buf out = {0};
        char err[256] = "";
        int rc = pg_decompress(PG_ENC_GZIP, gz, gn, (size_t)64 << 20, &out, err, sizeof err);
        CHECK_MSG(rc == 0, "inflate: %s", err);
        CHECK(out.len == n && memcmp(out.data, src, n) == 0);
        size_t started = pg_pages_ahead_started() - before;
        CHECK_MSG(started == (size_t)helper, "gunzip took %zu helpers, want %d", started, helper);
        pg_buf_free(&out);
    }
    pg_pages_ahead_set_policy(0, 0);
    free(src);
    free(gz);
}

int main(void)
{
    page = (size_t)sysconf(_SC_PAGESIZE);
    int populates = tg_kernel_populates();
    test_small();
    test_range(populates);
    test_stop_early(populates);
    test_gunzip();
    TEST_MAIN_END();
}
