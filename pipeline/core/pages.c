#include "pipeline/core/pages.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Drops the pages wholly inside the range (caller keeps owning the buffer). */
void pg_pages_release(const uint8_t *p, size_t n)
{
#ifdef MADV_DONTNEED
    static uintptr_t page;
    if (!page) {
        long ps = sysconf(_SC_PAGESIZE);
        page = ps > 0 ? (uintptr_t)ps : 4096;
    }
    uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1);
    uintptr_t hi = ((uintptr_t)p + n) & ~(page - 1);
    if (hi > lo) madvise((void *)lo, hi - lo, MADV_DONTNEED);
#else
    (void)p;
    (void)n;
#endif
}

/* Releases [*done, upto) minus [keep_lo, keep_hi) in steps. */
void pg_pages_release_consumed(const uint8_t **done, const uint8_t *upto, const uint8_t *keep_lo,
                               const uint8_t *keep_hi, size_t step)
{
    const uint8_t *from = *done;
    if (upto <= from || (size_t)(upto - from) < step) return;
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
    uintptr_t lo = ((uintptr_t)p + 4095) & ~(uintptr_t)4095,
              hi = ((uintptr_t)p + n) & ~(uintptr_t)4095;
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
