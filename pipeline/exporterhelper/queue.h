/* A bounded blocking FIFO for the exporter helper. Capacity is counted in items and in
 * bytes and covers everything *held*: a slot is taken by pg_queue_reserve before the item
 * is pushed and given back by pg_queue_release when the item is finished (sent, dropped),
 * not when it is popped, so items being batched, sent or retried still count. Items are
 * intrusive: embed pg_queue_item as the first member. Thread-safe. */
#ifndef PG_QUEUE_H
#define PG_QUEUE_H

#include <stddef.h>
#include <stdint.h>

typedef struct pg_queue_item {
    struct pg_queue_item *next;
} pg_queue_item;

typedef struct pg_queue pg_queue;

/* How pg_queue_reserve behaves when the queue is full. FORCE takes the slot even over
 * capacity (replaying a persistent queue; internal hand-offs). */
typedef enum { PG_QUEUE_REFUSE, PG_QUEUE_BLOCK, PG_QUEUE_FORCE } pg_queue_mode;

/* pg_queue_pop results. */
enum { PG_QUEUE_ITEM, PG_QUEUE_TIMEOUT, PG_QUEUE_CLOSED, PG_QUEUE_STOPPED };

/* Returns a queue (caller owns; pg_queue_free) holding at most max_items items and
 * max_bytes bytes (0 = no limit for either), or NULL on OOM. */
pg_queue *pg_queue_new(size_t max_items, uint64_t max_bytes);

/* Frees the queue. Items still linked are not touched (take them first). */
void pg_queue_free(pg_queue *q);

/* Takes one slot of `bytes`. Returns 0; PG_EAGAIN when full (REFUSE), when closed, or when
 * closed while blocked (BLOCK); PG_ELIMIT when bytes alone exceed the byte capacity. */
int pg_queue_reserve(pg_queue *q, uint64_t bytes, pg_queue_mode mode, char *err, size_t errlen);

/* Appends an item (ownership moves to the queue) whose slot was reserved. */
void pg_queue_push(pg_queue *q, pg_queue_item *it);

/* Takes the oldest item into *out (ownership moves to the caller; its slot stays held).
 * Waits until an item arrives, until_ns (CLOCK_MONOTONIC; INT64_MAX = no limit) passes
 * (PG_QUEUE_TIMEOUT), the queue is closed and empty (PG_QUEUE_CLOSED) or stopped
 * (PG_QUEUE_STOPPED). */
int pg_queue_pop(pg_queue *q, int64_t until_ns, pg_queue_item **out);

/* Gives back one slot of `bytes` (an item finished, or a reservation not used). */
void pg_queue_release(pg_queue *q, uint64_t bytes);

/* Refuses new reservations (blocked reservers get PG_EAGAIN); pops drain what is queued,
 * then report PG_QUEUE_CLOSED. */
void pg_queue_close(pg_queue *q);

/* Makes every pop return PG_QUEUE_STOPPED at once (implies close). */
void pg_queue_stop(pg_queue *q);

/* Unlinks every queued item and returns them as a list (caller owns; slots stay held). */
pg_queue_item *pg_queue_take_all(pg_queue *q);

/* Waits until nothing is held (0) or deadline_ns passes (PG_EAGAIN). */
int pg_queue_wait_idle(pg_queue *q, int64_t deadline_ns);

/* Items and bytes held (queued, reserved, or popped and not released). */
size_t pg_queue_held(const pg_queue *q);
uint64_t pg_queue_held_bytes(const pg_queue *q);

#endif
