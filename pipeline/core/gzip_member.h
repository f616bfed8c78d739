/* One gzip member from a buffer, on two cores when the buffer is large: a helper thread
 * deflates the head with ISA-L (ending on a byte-aligned, non-final empty stored block) while
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

/* The same member for a buffer that is still being written: the helper thread deflates
 * the head with ISA-L while the writer goes on, and the tail is deflated with libdeflate
 * once the writer is done, so the compression of the head overlaps the writing. Where the
 * head ends (the cut) is the writer's choice, made from its data, never from how far the
 * helper got: the member's bytes depend on the input alone. The head's input pages are
 * handed back to the OS as they are deflated (the writer never reads behind the cut). */
typedef struct pg_gzip_pipe pg_gzip_pipe;

/* Starts the helper over buf[0..cap), which must stay where it is (not be moved or freed)
 * until pg_gzip_pipe_head or pg_gzip_pipe_abort. Until the cut, the helper also faults in
 * the pages of the 256 KiB after the written mark (within cap), so the writer stores into
 * present pages. The head's output is reserved at once for
 * the most a head of cap bytes deflates to (address space: its pages are touched as they
 * are written, and it never moves). NULL when no thread could be started or no memory: the
 * caller then compresses at the end as before. */
pg_gzip_pipe *pg_gzip_pipe_start(const uint8_t *buf, size_t cap, int level);

/* The writer has written buf[0..n) for good; the helper may deflate up to there (not past
 * the cut). Cheap enough to call every few tens of KiB. */
void pg_gzip_pipe_written(pg_gzip_pipe *p, size_t n);

/* The head ends at `cut`, which must be at least every n passed to pg_gzip_pipe_written
 * before. At most once; without it, the head ends at the last n passed to
 * pg_gzip_pipe_written. */
void pg_gzip_pipe_cut(pg_gzip_pipe *p, size_t cut);

/* Ends the head: waits for the helper to deflate up to the cut, appends the gzip header and
 * the head's stream (byte-aligned, not final) to out (an empty, non-flushing out takes the
 * helper's buffer itself instead of a copy of it), sets *crc to the head's CRC-32 and
 * *cut to where the head ends, and frees p. What follows is the caller's: a raw deflate
 * stream of buf[*cut..) ending in a final block, then the trailer (pg_gzip_trailer).
 * Returns 0, PG_ENOMEM or PG_EINTERNAL (p is freed either way). */
int pg_gzip_pipe_head(pg_gzip_pipe *p, pg_buf *out, uint32_t *crc, size_t *cut);

/* Completes the member once the writer is done with buf[0..n): the head (as
 * pg_gzip_pipe_head), the tail deflated here by libdeflate, the trailer. Frees p. */
int pg_gzip_pipe_finish(pg_gzip_pipe *p, size_t n, pg_buf *out);

/* Stops the helper and frees p (after a failure: nothing is appended anywhere). NULL is a
 * no-op. */
void pg_gzip_pipe_abort(pg_gzip_pipe *p);

/* Whether an input of n bytes is split over two threads (see pg_gzip_member_set_split). */
int pg_gzip_member_splits(size_t n);

/* Appends a gzip header as pg_gzip_member writes it (for a member built piecewise). */
int pg_gzip_header(pg_buf *out, int level);

/* Appends a gzip trailer: the CRC-32 and the length (mod 2^32) of the whole input. */
int pg_gzip_trailer(pg_buf *out, uint32_t crc, uint64_t n);

#endif
