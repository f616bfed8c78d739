#include "pipeline/core/pages.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

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

/* The largest piece pg_pages_heap_large asks for at once: glibc's ceiling for its mmap
 * threshold, so every piece comes from the heap (brk), not from a separate mapping. */
#define HEAP_PIECE ((size_t)32 << 20)

/* Allocates the heap up to `bytes` in pieces, frees them (they merge into the heap's top,
 * kept by the raised trim threshold) and hints the span for huge pages. The hint is given
 * only when the pieces lie in order inside the brk heap, as glibc lays them out; any other
 * allocator (a sanitizer's, say) just gets its memory back. */
void pg_pages_heap_large(size_t bytes)
{
#if defined(__GLIBC__) && defined(MADV_HUGEPAGE) && defined(M_TOP_PAD)
    enum { MAX_PIECES = 64 };
    const size_t piece_size = HEAP_PIECE - 4096;
    uint8_t *piece[MAX_PIECES];
    size_t n = 0;
    if (!bytes || !mallopt(M_MMAP_THRESHOLD, (int)HEAP_PIECE) ||
        !mallopt(M_TRIM_THRESHOLD, INT_MAX) || !mallopt(M_TOP_PAD, (int)HEAP_PIECE))
        return;
    while (n < MAX_PIECES && n * piece_size < bytes && (piece[n] = malloc(piece_size)))
        n++;
    uint8_t *end = sbrk(0);
    int in_heap = n > 0 && end != (uint8_t *)-1;
    for (size_t i = 0; in_heap && i < n; i++)
        in_heap = piece[i] + piece_size <= end && (i == 0 || piece[i] > piece[i - 1]);
    uint8_t *lo = in_heap ? piece[0] : NULL; /* only compared and hinted after the frees */
    for (size_t i = 0; i < n; i++)
        free(piece[i]);
    if (lo) pg_pages_hint_large(lo, (size_t)(end - lo));
#else
    (void)bytes;
#endif
}
