/* pg_pages_release / pg_pages_release_consumed: only whole pages inside the released range
 * are handed back; bytes outside it, in its partial edge pages and in the keep range are
 * unchanged; released bytes read as their old value or zero (the header promises zeros
 * where the OS can release, a no-op elsewhere); the step threshold holds back small
 * releases; the buffer can still be freed. pg_pages_hint_large changes no contents;
 * pg_pages_populate maps exactly its whole pages and changes no contents. pg_pages_free
 * hands a large heap block's interior pages back (mincore) and frees small ones as they are. */
#include "testlib.h"
#include "resident_pages.h"

#include "pipeline/core/pages.h"

#include <stdint.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sys/mman.h>
#include <unistd.h>

static size_t page;

/* Never zero, so a released byte is told from a kept one. */
static uint8_t pattern(size_t i)
{
    return (uint8_t)(1 + (i * 31 + i / 4096) % 251);
}

/* Writes the pattern over b[0..n) (caller owns b). */
static void fill(uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b[i] = pattern(i);
}

/* The whole pages inside [lo, hi) as offsets into b: [*plo, *phi), empty when none. */
static void whole_pages(const uint8_t *b, size_t lo, size_t hi, size_t *plo, size_t *phi)
{
    uintptr_t a = ((uintptr_t)(b + lo) + page - 1) & ~(uintptr_t)(page - 1);
    uintptr_t z = (uintptr_t)(b + hi) & ~(uintptr_t)(page - 1);
    if (hi <= lo || z <= a) {
        *plo = *phi = lo;
        return;
    }
    *plo = (size_t)(a - (uintptr_t)b);
    *phi = (size_t)(z - (uintptr_t)b);
}

/* Checks b[0..n) against the pattern: bytes in one of the `k` released ranges
 * [rel[2i], rel[2i+1]) may be zero, every other byte must be intact. Returns the number of
 * zeroed bytes. */
static size_t check_buf(const uint8_t *b, size_t n, const size_t *rel, size_t k, const char *what)
{
    size_t changed = 0, zeroed = 0, bad_released = 0;
    for (size_t i = 0; i < n; i++) {
        int released = 0;
        for (size_t r = 0; r < k; r++)
            released |= i >= rel[2 * r] && i < rel[2 * r + 1];
        if (b[i] == pattern(i)) continue;
        if (!released) {
            if (changed++ == 0)
                fprintf(stderr, "%s: byte %zu changed (%u, want %u)\n", what, i, b[i], pattern(i));
        } else if (b[i] == 0) {
            zeroed++;
        } else {
            bad_released++;
        }
    }
    CHECK_MSG(changed == 0, "%s: %zu bytes outside the released pages changed", what, changed);
    CHECK_MSG(bad_released == 0, "%s: %zu released bytes are neither kept nor zero", what,
              bad_released);
    return zeroed;
}

enum { NPAGES = 64 };

/* A fresh malloc'd buffer of NPAGES pages plus a ragged end, filled with the pattern. */
static uint8_t *buffer(size_t *n)
{
    *n = NPAGES * page + 123;
    uint8_t *b = malloc(*n);
    fill(b, *n);
    return b;
}

/* pg_pages_release on sub-page, unaligned, aligned and whole-buffer ranges. */
static void test_release(void)
{
    size_t n;
    uint8_t *b = buffer(&n);
    size_t rel[2];

    /* nothing, less than a page, a range inside one page: unchanged */
    pg_pages_release(b + 5, 0);
    pg_pages_release(b + 5, page - 10);
    pg_pages_release(b + page / 2, page / 2 + 1);
    check_buf(b, n, NULL, 0, "sub-page ranges");

    /* an unaligned range of several pages: only its whole pages */
    size_t lo = page + 7, hi = 9 * page - 3;
    pg_pages_release(b + lo, hi - lo);
    whole_pages(b, lo, hi, &rel[0], &rel[1]);
    CHECK(rel[1] - rel[0] >= 6 * page);
    size_t z = check_buf(b, n, rel, 1, "unaligned range");
    printf("unaligned range: %zu of %zu released bytes read as zero\n", z, rel[1] - rel[0]);
    free(b);

    /* the whole buffer, allocator header pages included: free still works */
    b = buffer(&n);
    pg_pages_release(b, n);
    whole_pages(b, 0, n, &rel[0], &rel[1]);
    check_buf(b, n, rel, 1, "whole buffer");
    free(b);

    /* a page-aligned range: exactly its pages */
    b = buffer(&n);
    size_t first =
        (size_t)(((uintptr_t)b + page - 1) & ~(uintptr_t)(page - 1)) - (size_t)(uintptr_t)b;
    pg_pages_release(b + first + page, 3 * page);
    rel[0] = first + page;
    rel[1] = first + 4 * page;
    check_buf(b, n, rel, 1, "aligned range");
    /* bytes released can be written again and read back */
    for (size_t i = rel[0]; i < rel[1]; i++)
        b[i] = pattern(i);
    check_buf(b, n, NULL, 0, "rewritten");
    free(b);
}

/* The start of the page holding p. */
static const uint8_t *page_of(const uint8_t *p)
{
    return (const uint8_t *)((uintptr_t)p & ~(uintptr_t)(page - 1));
}

/* One release_consumed call on a fresh buffer: done starts at `from`, releases up to
 * `upto`, keeping [klo, khi) (offsets). Checks *done and the bytes. */
static void consumed(size_t from, size_t upto, size_t klo, size_t khi, size_t step,
                     int expect_release, const char *what)
{
    size_t n;
    uint8_t *b = buffer(&n);
    const uint8_t *done = b + from;
    pg_pages_release_consumed(&done, b + upto, b + klo, b + khi, step);
    if (expect_release) {
        CHECK_MSG(done == page_of(b + upto), "%s: done at %td, want the page of %zu", what,
                  done - b, upto);
    } else {
        CHECK_MSG(done == b + from, "%s: done moved to %td", what, done - b);
        check_buf(b, n, NULL, 0, what);
        free(b);
        return;
    }
    /* what may be released: [from, upto) minus [klo, khi), whole pages only */
    size_t rel[4];
    size_t k = 0;
    if (khi > klo && klo < upto && khi > from) {
        if (klo > from) whole_pages(b, from, klo, &rel[2 * k], &rel[2 * k + 1]), k++;
        if (upto > khi) whole_pages(b, khi, upto, &rel[2 * k], &rel[2 * k + 1]), k++;
    } else {
        whole_pages(b, from, upto, &rel[0], &rel[1]);
        k = 1;
    }
    check_buf(b, n, rel, k, what);
    /* and in particular the keep range */
    int keep_ok = 1;
    for (size_t i = klo; i < khi && i < n; i++)
        keep_ok &= b[i] == pattern(i);
    CHECK_MSG(keep_ok, "%s: keep range changed", what);
    free(b);
}

/* The step threshold and every placement of the keep range, then successive calls. */
static void test_release_consumed(void)
{
    size_t P = page, step = 8 * page;
    /* the step threshold: one byte short holds back, exactly the step releases */
    consumed(100, 100 + step - 1, 0, 0, step, 0, "one byte short of the step");
    consumed(100, 100 + step, 0, 0, step, 1, "exactly the step");
    consumed(100, 100, 0, 0, 0, 0, "nothing pending, step 0");
    consumed(100, 50, 0, 0, 0, 0, "upto before done");

    /* keep range before, inside, after, overlapping each end, covering all, empty */
    consumed(20 * P + 11, 40 * P + 5, 3 * P, 6 * P + 9, step, 1, "keep before");
    consumed(3 * P + 11, 40 * P + 5, 10 * P + 100, 12 * P + 200, step, 1, "keep inside");
    consumed(3 * P + 11, 40 * P + 5, 40 * P + 5, 50 * P, step, 1, "keep right after");
    consumed(3 * P + 11, 40 * P + 5, 45 * P, 50 * P, step, 1, "keep after");
    consumed(10 * P, 40 * P, 2 * P + 1, 20 * P + 17, step, 1, "keep over the start");
    consumed(10 * P, 40 * P, 30 * P + 3, 55 * P, step, 1, "keep over the end");
    consumed(10 * P + 1, 40 * P - 1, 2 * P, 50 * P, step, 1, "keep over everything");
    consumed(3 * P + 11, 40 * P + 5, 3 * P + 11, 40 * P + 5, step, 1, "keep equal to the range");
    consumed(3 * P + 11, 40 * P + 5, 30 * P, 10 * P, step, 1, "empty keep (hi < lo)");
    consumed(3 * P + 11, 40 * P + 5, 0, 0, step, 1, "no keep");
    consumed(3 * P + 11, 40 * P + 5, 20 * P + 1, 20 * P + 2, step, 1, "one-byte keep");

    /* successive calls over one buffer, as the decoder makes them */
    size_t n;
    uint8_t *b = buffer(&n);
    const uint8_t *done = b, *klo = b + 30 * P + 50, *khi = b + 31 * P + 70;
    size_t moves = 0;
    for (size_t at = 0; at <= n; at += P / 3) {
        const uint8_t *before = done;
        pg_pages_release_consumed(&done, b + at, klo, khi, 4 * P);
        if (done != before) {
            moves++;
            CHECK(done == page_of(b + at) && (size_t)(b + at - before) >= 4 * P);
        } else {
            CHECK((size_t)(b + at - done) < 4 * P + P); /* the page of the last cut */
        }
    }
    CHECK(moves >= NPAGES / 5); /* about one per 4 pages and a third */
    int keep_ok = 1;
    for (const uint8_t *p = klo; p < khi; p++)
        keep_ok &= *p == pattern((size_t)(p - b));
    CHECK_MSG(keep_ok, "successive calls: keep range changed");
    /* bytes past the last release point are untouched */
    int tail_ok = 1;
    for (const uint8_t *p = done; p < b + n; p++)
        tail_ok &= *p == pattern((size_t)(p - b));
    CHECK(tail_ok);
    free(b);
}

/* pg_pages_hint_large is only a hint: contents stay as written, writes after it land,
 * and releasing 4 KiB pages inside a hinted range keeps everything outside them. */
static void test_hint_large(void)
{
    size_t n = ((size_t)8 << 20) + 777;
    uint8_t *b = malloc(n);
    fill(b, n);
    pg_pages_hint_large(b, n);
    check_buf(b, n, NULL, 0, "after the large-page hint");
    pg_pages_hint_large(b + 3, 5);
    pg_pages_hint_large(b, 0);
    check_buf(b, n, NULL, 0, "after tiny hints");
    uint8_t *c = malloc(n); /* hinted before it is filled, as the inflate buffer is */
    pg_pages_hint_large(c, n);
    fill(c, n);
    check_buf(c, n, NULL, 0, "filled after the hint");
    const uint8_t *done = c + 1000;
    pg_pages_release_consumed(&done, c + (5u << 20) + 3, c + (3u << 20) + 5, c + (3u << 20) + 9000,
                              1u << 20);
    CHECK(done == page_of(c + (5u << 20) + 3));
    size_t rel[4];
    whole_pages(c, 1000, (3u << 20) + 5, &rel[0], &rel[1]);
    whole_pages(c, (3u << 20) + 9000, (5u << 20) + 3, &rel[2], &rel[3]);
    check_buf(c, n, rel, 2, "released inside a hinted range");
    free(b);
    free(c);
}

/* pg_pages_populate maps the whole pages inside its range before any touch (seen by
 * mincore on a fresh anonymous mapping, where the kernel supports the call), leaves the
 * pages outside it alone, and changes no byte already written. */
static void test_populate(void)
{
    size_t n = 64 * page;
    uint8_t *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    if (m == MAP_FAILED) return;
    pg_pages_populate(m + 8 * page + 1, 16 * page); /* whole pages 9..23 */
    unsigned char vec[64];
    int probe = madvise(m, page, MADV_POPULATE_WRITE) == 0; /* the kernel has the call */
    if (probe && mincore(m, n, vec) == 0) {
        int ok = 1;
        for (size_t i = 1; i < 64; i++) {
            int inside = i >= 9 && i < 24;
            ok &= (vec[i] & 1) == inside;
        }
        CHECK_MSG(ok, "populated pages are 9..23 only");
    } else {
        CHECK(1); /* kernels before 5.14: a no-op, nothing to see */
    }
    munmap(m, n);
    uint8_t *b = malloc(n);
    CHECK(b != NULL);
    if (!b) return;
    fill(b, n);
    pg_pages_populate(b + 3, n - 7);
    pg_pages_populate(b, 0);
    pg_pages_populate(NULL, 0);
    check_buf(b, n, NULL, 0, "populated after writing");
    free(b);
}

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) /* ASan's allocator keeps freed blocks */
#define CHECK_HEAP_FREE 1
#endif

/* pg_pages_free: a large block inside glibc's heap (the mmap threshold raised, a guard
 * allocation after it so the heap's top is not trimmed) has its interior pages handed back
 * after the free, where the same free without it leaves them resident; a small block and
 * NULL are plain frees. */
static void test_free(void)
{
#ifdef CHECK_HEAP_FREE
    CHECK(mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1);
    CHECK(mallopt(M_TRIM_THRESHOLD, 64 << 20) == 1);
    for (int release = 0; release < 2; release++) {
        size_t n = 128 * page;
        uint8_t *b = malloc(n);
        void *guard = malloc(64);
        CHECK(b && guard);
        fill(b, n);
        uint8_t *lo = (uint8_t *)(((uintptr_t)b + 4 * page) & ~(uintptr_t)(page - 1));
        if (release)
            pg_pages_free(b, n);
        else
            free(b);
        long r = tg_resident_pages(lo, 64);
        if (r >= 0) {
            if (release)
                CHECK_MSG(r == 0, "pg_pages_free left %ld of 64 interior pages resident", r);
            else
                CHECK_MSG(r == 64, "free alone left %ld of 64 pages resident (want 64)", r);
        }
        free(guard);
    }
    mallopt(M_MMAP_THRESHOLD, 128 << 10);
#endif
    uint8_t *small = malloc(100);
    fill(small, 100);
    pg_pages_free(small, 100);
    pg_pages_free(NULL, 1 << 20);
}

/* pg_pages_front: due only when `step` or more lies between what is faulted in (or the
 * mark, when the writer passed it) and `ahead` past the mark, within cap; a fault covers
 * exactly that range (mincore, where the kernel populates on request). */
static void test_front(void)
{
    size_t cap = 256 * page;
    pg_pages_front f = {cap, 0, 64 * page, 16 * page};
    CHECK(pg_pages_front_due(&f, 0));
    uint8_t *m = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    if (m == MAP_FAILED) return;
    madvise(m, cap, MADV_NOHUGEPAGE);
    pg_pages_front_fault(&f, m, 0);
    CHECK(f.done == 64 * page);
    CHECK(!pg_pages_front_due(&f, 15 * page)); /* 15 pages more: under a step */
    CHECK(pg_pages_front_due(&f, 16 * page));
    pg_pages_front_fault(&f, m, 100 * page); /* the writer passed what was faulted in */
    CHECK(f.done == 164 * page);
    if (tg_kernel_populates()) {
        CHECK(tg_resident_pages(m, 64) == 64);
        CHECK(tg_resident_pages(m + 64 * page, 36) == 0); /* written by the writer, not here */
        CHECK(tg_resident_pages(m + 100 * page, 64) == 64);
        CHECK(tg_resident_pages(m + 164 * page, 92) == 0);
    }
    pg_pages_front_fault(&f, m, 200 * page); /* ends at cap */
    CHECK(f.done == cap);
    CHECK(!pg_pages_front_due(&f, 250 * page));
    CHECK(!pg_pages_front_due(&f, cap));
    munmap(m, cap);
}

int main(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    page = ps > 0 ? (size_t)ps : 4096;
    test_release();
    test_release_consumed();
    test_hint_large();
    test_populate();
    test_free();
    test_front();
    TEST_MAIN_END();
}
