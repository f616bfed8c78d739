/* Private to exporterhelper*.c: the helper's state, the queued item, and the unit of
 * sending.
 *
 * Flow:  consume ─► [persist write] ─► q (pg_eh_item) ─┬─► consumers ─► send (+ retry)
 *                                                   └─► batcher ─► ready (pg_eh_unit) ─► consumers
 * A pg_eh_item is one accepted batch; it holds a slot of q's capacity from consume until it
 * is finished (sent, dropped, or left at shutdown), whatever stage it is in. A pg_eh_unit is
 * what one send covers: one item, several merged items, or one part of a split item;
 * parts of one split share a pg_eh_cover, and the items are finished when the last part is. */
#ifndef PG_EXPORTERHELPER_INT_H
#define PG_EXPORTERHELPER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "pipeline/exporterhelper/exporterhelper.h"
#include "pipeline/telemetry/metrics.h"
#include "pipeline/exporterhelper/persist.h"
#include "pipeline/exporterhelper/queue.h"

typedef struct pg_eh_item {
    pg_queue_item link; /* first member */
    pg_batch *b;        /* owned; NULL when not loaded yet (replay) or merged away */
    void *req;          /* owned request made by pg_prepare_ops.prepare (then b is NULL) */
    uint64_t seq;       /* persistent file, 0 = in memory only */
    uint64_t bytes;     /* accounted against the queue's byte capacity */
    size_t profiles, samples;
    pg_ack *ack; /* a hold on the batch's ack (in-memory queue only), settled at finish */
} pg_eh_item;

typedef struct pg_eh_cover {
    pg_eh_item *items; /* linked through link.next; owned */
    atomic_int refs;
    atomic_bool keep; /* a part was left at shutdown: keep the files */
    atomic_int worst; /* the worst pg_ack_outcome of the parts so far */
} pg_eh_cover;

typedef struct pg_eh_unit {
    pg_queue_item link; /* first member */
    pg_batch *b;        /* owned */
    void *req;          /* owned prepared request (then b is NULL) */
    pg_eh_cover *cover; /* NULL when sending synchronously (queue disabled) */
    size_t profiles, samples;
    uint64_t bytes;
} pg_eh_unit;

/* How a unit ended. */
typedef enum { PG_EH_SENT, PG_EH_DROPPED, PG_EH_LEFT } pg_eh_outcome;

enum { PG_EH_NEW, PG_EH_RUNNING, PG_EH_STOPPING, PG_EH_STOPPED };

typedef struct pg_eh_batcher pg_eh_batcher;

struct pg_exporter_helper {
    char *id;
    const pg_exporter_helper_config *cfg; /* borrowed */
    pg_send_fn send;
    void *send_ctx;
    const pg_prepare_ops *prep; /* NULL: batches are queued and sent as batches */
    pg_metrics *metrics;
    pg_component_metrics cm;
    pg_counter *quarantined; /* persistent queue files that did not decode on replay */
    pg_queue *q;             /* accepted items (queue enabled) */
    pg_queue *ready;         /* merged units (batching) */
    pg_persist *persist;
    pg_eh_batcher *batcher;
    pthread_t *threads;
    size_t nthreads;
    pthread_t batcher_thread;
    bool batcher_on;
    pthread_mutex_t mu; /* state, deadline, active callers; cv wakes retry sleepers */
    pthread_cond_t cv;
    int state;
    bool hard_stop;
    int64_t deadline;
    size_t active; /* consume calls in progress */
    /* left at shutdown, for the one summary line */
    atomic_size_t left_units, left_profiles, left_samples;
};

/* The deadline for one send attempt: now + timeout, capped by the shutdown deadline. */
int64_t pg_eh_send_deadline(pg_exporter_helper *h);

/* Sleeps until until_ns; false when shutdown interrupts (hard stop, or a drain deadline
 * before until_ns). */
bool pg_eh_sleep_until(pg_exporter_helper *h, int64_t until_ns);

/* Sends u with retries and finishes it (counts, frees u->b and, with a cover, the items
 * when it is the last part). u itself is freed when heap-owned (free_u). Returns the
 * outcome and, in *status (may be NULL), the last send status (0 when sent), with the
 * last send error message in err (may be NULL). */
pg_eh_outcome pg_eh_unit_send(pg_exporter_helper *h, pg_eh_unit *u, bool free_u, int *status,
                              char *err, size_t errlen);

/* Finishes u without sending it (leftover at shutdown, or a part that cannot be built). */
void pg_eh_unit_finish(pg_exporter_helper *h, pg_eh_unit *u, pg_eh_outcome how, bool free_u);

/* Loads a replayed item's batch from disk. On failure (quarantined or unreadable) the
 * item is finished and freed, and pg_persist_load's status returned. */
int pg_eh_item_load(pg_exporter_helper *h, pg_eh_item *it);

/* Finishes an item that never became part of a unit (leftover at shutdown). */
void pg_eh_item_leave(pg_exporter_helper *h, pg_eh_item *it);

/* A cover owning the single item it (refs 1); NULL on OOM. */
pg_eh_cover *pg_eh_cover_new(pg_eh_item *it);

/* Consumer thread: pops units (batching) or items and sends them until stopped. */
void *pg_eh_consumer_main(void *arg);

/* Batcher (exporterhelper_batch.c): state, thread, leftovers. */
pg_eh_batcher *pg_eh_batcher_new(void);
void *pg_eh_batcher_main(void *arg);
/* After the batcher thread stopped: finishes every pending group as left. */
void pg_eh_batcher_leave_all(pg_exporter_helper *h);
void pg_eh_batcher_free(pg_eh_batcher *bt);

/* Splits b (borrowed) by profiles into parts of at most max_samples samples each (a profile
 * larger than that is a part on its own); *parts (caller owns the array and the batches)
 * keeps b's metadata and origin. Returns the number of parts, or PG_ENOMEM. */
int pg_eh_split(const pg_batch *b, size_t max_samples, pg_batch ***parts);

#endif
