/* ISA-L's deflate, loaded from its shared library the first time it is wanted: only the
 * gzip of a large pprof output uses it (pipeline/core/gzip_member.c, the head of a member
 * split over two threads), and a library linked into the executable costs every start its
 * loading and relocation (about 0.1 ms here, a twentieth of converting a 50 KB profile). */
#ifndef PG_ISAL_LOAD_H
#define PG_ISAL_LOAD_H

#include <isa-l/igzip_lib.h>

typedef struct pg_isal {
    void (*deflate_init)(struct isal_zstream *stream);
    int (*deflate)(struct isal_zstream *stream);
} pg_isal;

/* The library's functions, loaded on the first call (any thread); NULL when it cannot be
 * loaded (then the caller goes without: gzip stays on one thread with libdeflate). The
 * answer is kept for the process. */
const pg_isal *pg_isal_get(void);

/* Test hook: the file name loaded from now on (NULL = the default, the soname the build
 * found); forgets what was loaded before. Not for use while another thread may call
 * pg_isal_get. */
void pg_isal_set_library(const char *name);

#endif
