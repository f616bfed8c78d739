/* One gzip member from a buffer, on two cores when the buffer is large: a helper thread
 * deflates the head with zlib (ending on a byte-aligned, non-final empty stored block) while
 * the calling thread deflates the tail with libdeflate, and the two raw streams are joined
 * under one header and one CRC. The result is a single ordinary member: readers that stop
 * after the first member read all of it. */
#ifndef PG_GZIP_MEMBER_H
#define PG_GZIP_MEMBER_H

#include "pipeline/core/buf.h"

#include <stddef.h>
#include <stdint.h>

/* Compresses in[0..n) at level (1..9) as one gzip member appended to out. With `exact`,
 * out grows by what it takes at most, without the doubling slack (not for flushing
 * buffers). Returns 0, PG_ENOMEM, or PG_EINTERNAL (a compressor failed). */
int pg_gzip_member(const uint8_t *in, size_t n, int level, pg_buf *out, int exact);

/* Inputs of at least `min_bytes` are split over two threads when the process may run on
 * two CPUs or more (default 256 KiB; 0 restores it). `force` splits them on one CPU too:
 * for tests. */
void pg_gzip_member_set_split(size_t min_bytes, int force);

#endif
