/* Page-level care of big buffers: handing memory a decoder has finished reading back to the
 * OS while the buffer stays allocated (a large input is released as it is consumed, so the
 * input and what is decoded from it do not peak together), and faulting in at once, or in
 * large pages, buffers about to be filled. */
#ifndef PG_PAGES_H
#define PG_PAGES_H

#include <stddef.h>
#include <stdint.h>

/* Releases the whole pages inside [p, p + n) of a malloc'd buffer the caller owns and
 * will not read there again (they read back as zeros). Writes by the allocator at the
 * buffer's edges are unaffected. A no-op where the OS offers no way to do it. */
void pg_pages_release(const uint8_t *p, size_t n);

/* Frees a malloc'd buffer of n bytes (NULL is a no-op), handing its whole pages back to the
 * OS first when it is large: glibc keeps a freed block in the middle of its heap resident,
 * so a big scratch table freed before the next phase of a conversion would otherwise still
 * count towards that phase's peak. Takes ownership of p. */
void pg_pages_free(void *p, size_t n);

/* A step of pg_pages_release_consumed worth its system call, for readers that hand pages
 * back as they go. */
#define PG_PAGES_RELEASE_STEP ((size_t)64 << 10)

/* Releases the consumed bytes [*done, upto) of an owned buffer, except those inside the
 * range [keep_lo, keep_hi) still needed, once at least `step` bytes are pending; *done
 * advances to the start of the page holding upto when it does (that page is released by a
 * later call). */
void pg_pages_release_consumed(const uint8_t **done, const uint8_t *upto, const uint8_t *keep_lo,
                               const uint8_t *keep_hi, size_t step);

/* Asks for large pages under [p, p + n) of a big buffer about to be filled: one fault per
 * 2 MiB instead of one per 4 KiB. A hint; a no-op where the OS has no such thing. */
void pg_pages_hint_large(const uint8_t *p, size_t n);

/* Faults in the whole pages inside [p, p + n) of a buffer about to be written in full, in
 * one call instead of one fault per page. Best effort: a no-op where the OS has no such
 * call (Linux before 5.14 refuses it; the pages then fault in as they are touched). */
void pg_pages_populate(void *p, size_t n);

/* Faulting in ahead of a writer that fills [0, cap) of a buffer front to back, from a
 * thread that mostly waits for it: the writer's mark is `used`, what was faulted in ends at
 * `done` (the faulting thread's own). */
typedef struct pg_pages_front {
    size_t cap, done;
    size_t ahead, step; /* fault in up to `ahead` past the mark, `step` or more at a time */
} pg_pages_front;

/* Whether the mark `used` leaves at least f->step bytes to fault in. */
int pg_pages_front_due(const pg_pages_front *f, size_t used);

/* Faults in base[max(done, used) .. min(used + ahead, cap)) when due, and moves done to
 * its end. base stays the caller's (it must not move meanwhile). */
void pg_pages_front_fault(pg_pages_front *f, uint8_t *base, size_t used);

#endif
