/* Test helper: what the kernel holds resident of a mapping (mincore), and whether it can
 * fault pages in on request (MADV_POPULATE_WRITE, Linux 5.14), for tests that check which
 * pages a component faulted in ahead or handed back. */
#ifndef PG_TEST_RESIDENT_PAGES_H
#define PG_TEST_RESIDENT_PAGES_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Resident pages among the np pages from m (page-aligned), -1 when mincore fails. */
static inline long tg_resident_pages(const void *m, size_t np)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *vec = malloc(np ? np : 1);
    long r = -1;
    if (vec && mincore((void *)(uintptr_t)m, np * page, vec) == 0) {
        r = 0;
        for (size_t i = 0; i < np; i++)
            r += vec[i] & 1;
    }
    free(vec);
    return r;
}

/* Whether the kernel has MADV_POPULATE_WRITE: without it nothing is faulted in on request,
 * which only residency checks can see. */
static inline int tg_kernel_populates(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *m = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return 0;
#ifdef MADV_POPULATE_WRITE
    int ok = madvise(m, page, MADV_POPULATE_WRITE) == 0;
#else
    int ok = 0;
#endif
    munmap(m, page);
    return ok;
}

#endif
