/* A bounded worker pool: N threads run jobs from a queue of at most `queue_cap` waiting
 * jobs. Submitting to a full queue fails at once (the caller answers "busy"), so a flood of
 * requests never grows memory without bound and a slow job never stalls the event loop. */
#ifndef PG_NET_WORKERS_H
#define PG_NET_WORKERS_H

#include <stddef.h>

typedef struct pg_workers pg_workers;

typedef void (*pg_work_fn)(void *arg);

/* Starts nthreads (>= 1) threads. Returns 0 and *out (caller owns; pg_workers_stop), or
 * PG_ENOMEM / PG_EIO with a message. */
int pg_workers_new(size_t nthreads, size_t queue_cap, pg_workers **out, char *err, size_t errlen);

/* Queues fn(arg) (arg borrowed by the pool until fn runs; fn owns it then). From any
 * thread. Returns 0, PG_EAGAIN when the queue is full, PG_ECANCELED after stop began,
 * PG_ENOMEM. On failure fn is not called. */
int pg_workers_submit(pg_workers *w, pg_work_fn fn, void *arg);

/* Jobs waiting plus jobs running. */
size_t pg_workers_pending(pg_workers *w);

/* Refuses new jobs, runs every queued one, joins the threads and frees w. Never from a
 * worker thread. NULL is a no-op. */
void pg_workers_stop(pg_workers *w);

#endif
