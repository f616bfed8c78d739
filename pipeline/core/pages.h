/* Handing memory a decoder has finished reading back to the OS while the buffer stays
 * allocated: a large input is released as it is consumed, so the input and what is
 * decoded from it do not peak together. */
#ifndef PG_PAGES_H
#define PG_PAGES_H

#include <stddef.h>
#include <stdint.h>

/* Releases the whole pages inside [p, p + n) of a malloc'd buffer the caller owns and
 * will not read there again (they read back as zeros). Writes by the allocator at the
 * buffer's edges are unaffected. A no-op where the OS offers no way to do it. */
void pg_pages_release(const uint8_t *p, size_t n);

/* Releases the consumed bytes [*done, upto) of an owned buffer, except those inside the
 * range [keep_lo, keep_hi) still needed, once at least `step` bytes are pending; *done
 * advances to upto when it does. */
void pg_pages_release_consumed(const uint8_t **done, const uint8_t *upto, const uint8_t *keep_lo,
                               const uint8_t *keep_hi, size_t step);

/* Asks for large pages under [p, p + n) of a big buffer about to be filled: one fault per
 * 2 MiB instead of one per 4 KiB. A hint; a no-op where the OS has no such thing. */
void pg_pages_hint_large(const uint8_t *p, size_t n);

/* Grows the malloc heap once by about `bytes` of address space, keeps it (no trimming)
 * and marks it for large pages, so a one-shot process that fills tens of MiB faults its
 * memory in 2 MiB at a time. Only address space is taken; RSS grows as pages are touched.
 * For short-lived commands (convert), not the service: freed memory stays in the heap.
 * Best effort: a no-op for 0 bytes, outside glibc, and where the heap cannot grow. */
void pg_pages_heap_large(size_t bytes);

#endif
