#include "pipeline/core/pages.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* The OS page size (asked once; every thread computes the same value). */
static uintptr_t page_size(void)
{
    static _Atomic uintptr_t page;
    uintptr_t p = page;
    if (!p) {
        long ps = sysconf(_SC_PAGESIZE);
        page = p = ps > 0 ? (uintptr_t)ps : 4096;
    }
    return p;
}

/* Drops the pages wholly inside the range (caller keeps owning the buffer). */
void pg_pages_release(const uint8_t *p, size_t n)
{
#ifdef MADV_DONTNEED
    uintptr_t page = page_size();
    uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1);
    uintptr_t hi = ((uintptr_t)p + n) & ~(page - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
#else
    (void)p;
    (void)n;
#endif
}

/* A buffer smaller than this is freed as it is: the madvise call would cost more than
 * the few pages it could return. */
#define FREE_RELEASE_MIN ((size_t)64 << 10)

/* Releases the interior pages of a large buffer, then frees it. */
void pg_pages_free(void *p, size_t n)
{
    if (p && n >= FREE_RELEASE_MIN) pg_pages_release(p, n);
    free(p);
}

/* Releases [*done, upto) minus [keep_lo, keep_hi) in steps, up to the page holding upto:
 * its bytes before upto go with the next call, so no page is skipped between calls. */
void pg_pages_release_consumed(const uint8_t **done, const uint8_t *upto, const uint8_t *keep_lo,
                               const uint8_t *keep_hi, size_t step)
{
    const uint8_t *from = *done;
    if (upto <= from || (size_t)(upto - from) < step) return;
    upto = (const uint8_t *)((uintptr_t)upto & ~(page_size() - 1));
    if (upto <= from) return;
    if (keep_hi > keep_lo && keep_lo < upto && keep_hi > from) {
        if (keep_lo > from) pg_pages_release(from, (size_t)(keep_lo - from));
        if (upto > keep_hi) pg_pages_release(keep_hi, (size_t)(upto - keep_hi));
    } else {
        pg_pages_release(from, (size_t)(upto - from));
    }
    *done = upto;
}

/* MADV_POPULATE_WRITE over the page-aligned interior of the range. */
void pg_pages_populate(void *p, size_t n)
{
#ifdef MADV_POPULATE_WRITE
    uintptr_t page = page_size();
    uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1), hi = ((uintptr_t)p + n) & ~(page - 1);
    if (hi > lo) (void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)n;
#endif
}

/* Marks the 2 MiB-aligned interior of the range for transparent huge pages. */
void pg_pages_hint_large(const uint8_t *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t hi = ((uintptr_t)p + n) & ~(huge - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

/* The end of what f faults in for the mark `used`, and its start in *from. */
static size_t front_range(const pg_pages_front *f, size_t used, size_t *from)
{
    *from = f->done > used ? f->done : used;
    return f->cap - used > f->ahead ? used + f->ahead : f->cap;
}

/* See pages.h. */
int pg_pages_front_due(const pg_pages_front *f, size_t used)
{
    size_t from, to = used <= f->cap ? front_range(f, used, &from) : 0;
    return to > from && to - from >= f->step;
}

/* See pages.h. */
void pg_pages_front_fault(pg_pages_front *f, uint8_t *base, size_t used)
{
    if (!pg_pages_front_due(f, used)) return;
    size_t from, to = front_range(f, used, &from);
    pg_pages_populate(base + from, to - from);
    f->done = to;
}
