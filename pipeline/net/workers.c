#include "pipeline/net/workers.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/core/err.h"

typedef struct job {
    pg_work_fn fn;
    void *arg;
} job;

struct pg_workers {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job *ring; /* queue_cap slots */
    size_t cap, head, count, running;
    bool stopping;
    pthread_t *threads;
    size_t nthreads;
};

/* Worker thread: takes jobs until stop and an empty queue. Borrows w. */
static void *worker_main(void *arg)
{
    pg_workers *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->count == 0 && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->count == 0) break;
        job j = w->ring[w->head];
        w->head = (w->head + 1) % w->cap;
        w->count--;
        w->running++;
        pthread_mutex_unlock(&w->mu);
        j.fn(j.arg);
        pthread_mutex_lock(&w->mu);
        w->running--;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Allocates the pool and starts its threads; on failure stops what started. */
int pg_workers_new(size_t nthreads, size_t queue_cap, pg_workers **out, char *err, size_t errlen)
{
    *out = NULL;
    if (nthreads == 0) nthreads = 1;
    if (queue_cap == 0) queue_cap = 1;
    pg_workers *w = calloc(1, sizeof *w);
    if (!w) return pg_err(err, errlen, PG_ENOMEM, "out of memory (workers)");
    w->ring = calloc(queue_cap, sizeof *w->ring);
    w->threads = calloc(nthreads, sizeof *w->threads);
    if (!w->ring || !w->threads) {
        free(w->ring);
        free(w->threads);
        free(w);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory (workers)");
    }
    w->cap = queue_cap;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    for (size_t i = 0; i < nthreads; i++) {
        if (pthread_create(&w->threads[i], NULL, worker_main, w) != 0) {
            pg_workers_stop(w);
            return pg_err(err, errlen, PG_EIO, "cannot start worker thread %zu", i);
        }
        w->nthreads++;
    }
    *out = w;
    return 0;
}

/* Queues one job; never blocks. */
int pg_workers_submit(pg_workers *w, pg_work_fn fn, void *arg)
{
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    if (w->stopping)
        rc = PG_ECANCELED;
    else if (w->count == w->cap)
        rc = PG_EAGAIN;
    else {
        w->ring[(w->head + w->count) % w->cap] = (job){fn, arg};
        w->count++;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* Reads the queue length and running count under the lock. */
size_t pg_workers_pending(pg_workers *w)
{
    pthread_mutex_lock(&w->mu);
    size_t n = w->count + w->running;
    pthread_mutex_unlock(&w->mu);
    return n;
}

/* Drains, joins and frees w. */
void pg_workers_stop(pg_workers *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < w->nthreads; i++)
        pthread_join(w->threads[i], NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w->ring);
    free(w->threads);
    free(w);
}
