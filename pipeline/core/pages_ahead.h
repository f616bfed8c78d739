/* Faulting a big buffer in on a helper thread while the calling thread fills it from the
 * front. A fresh page costs a fault whoever touches it first (several microseconds each on
 * a virtual machine whose host backs guest memory lazily); a helper that faults the pages
 * ahead of the writer takes that cost off the writer's path. */
#ifndef PG_PAGES_AHEAD_H
#define PG_PAGES_AHEAD_H

#include <stddef.h>

typedef struct pg_pages_ahead pg_pages_ahead;

/* Starts faulting in the whole pages of [p, p + n) writable, front to back in steps, as a
 * job of the process's fork-join helper (duo.h); the caller may write anywhere in the range
 * meanwhile. NULL when the range is too small to be worth a thread, no CPU is free for one
 * (pg_two_threads_worth), or no helper could be had: the caller then faults the pages itself
 * (pg_pages_populate or on touch). The range stays the caller's; it must not be freed or moved
 * before pg_pages_ahead_stop. */
pg_pages_ahead *pg_pages_ahead_start(void *p, size_t n);

/* Stops the job after its current step, waits for it and gives the helper back; frees a
 * (NULL is a no-op). */
void pg_pages_ahead_stop(pg_pages_ahead *a);

/* Test hook: the least range worth the helper (0 = the default, 256 KiB) and whether to take
 * it on one CPU too. */
void pg_pages_ahead_set_policy(size_t min_bytes, int force);

/* Helpers started, and steps they faulted in, since the process started (tests). */
size_t pg_pages_ahead_started(void);
size_t pg_pages_ahead_steps(void);

#endif
