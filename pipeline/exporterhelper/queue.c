#include "pipeline/exporterhelper/queue.h"
#include "pipeline/core/err.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct pg_queue {
    pthread_mutex_t mu;
    pthread_cond_t items; /* an item was pushed, or closed / stopped */
    pthread_cond_t room;  /* a slot was released, or closed */
    pthread_cond_t idle;  /* nothing held any more */
    pg_queue_item *head, *tail;
    size_t max_items, held;
    uint64_t max_bytes, held_bytes;
    bool closed, stopped;
};

static void abs_time(int64_t ns, struct timespec *ts)
{
    ts->tv_sec = (time_t)(ns / 1000000000);
    ts->tv_nsec = (long)(ns % 1000000000);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Waits on cv until woken or until_ns (INT64_MAX = forever); mu held. */
static void wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t until_ns)
{
    if (until_ns == INT64_MAX) {
        pthread_cond_wait(cv, mu);
        return;
    }
    struct timespec ts;
    abs_time(until_ns, &ts);
    pthread_cond_timedwait(cv, mu, &ts);
}

/* Creates the queue with monotonic-clock condition variables. */
pg_queue *pg_queue_new(size_t max_items, uint64_t max_bytes)
{
    pg_queue *q = calloc(1, sizeof *q);
    if (!q) return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->items, &ca);
    pthread_cond_init(&q->room, &ca);
    pthread_cond_init(&q->idle, &ca);
    pthread_condattr_destroy(&ca);
    q->max_items = max_items;
    q->max_bytes = max_bytes;
    return q;
}

void pg_queue_free(pg_queue *q)
{
    if (!q) return;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->items);
    pthread_cond_destroy(&q->room);
    pthread_cond_destroy(&q->idle);
    free(q);
}

static bool has_room(const pg_queue *q, uint64_t bytes)
{
    return (!q->max_items || q->held < q->max_items) &&
           (!q->max_bytes || q->held_bytes + bytes <= q->max_bytes);
}

/* Takes a slot per mode; see the header. */
int pg_queue_reserve(pg_queue *q, uint64_t bytes, pg_queue_mode mode, char *err, size_t errlen)
{
    if (mode != PG_QUEUE_FORCE && q->max_bytes && bytes > q->max_bytes)
        return pg_err(err, errlen, PG_ELIMIT,
                      "batch of %llu bytes exceeds the queue capacity of %llu bytes",
                      (unsigned long long)bytes, (unsigned long long)q->max_bytes);
    pthread_mutex_lock(&q->mu);
    while (mode != PG_QUEUE_FORCE && !q->closed && !has_room(q, bytes)) {
        if (mode == PG_QUEUE_REFUSE) {
            pthread_mutex_unlock(&q->mu);
            return pg_err(err, errlen, PG_EAGAIN, "sending queue is full");
        }
        pthread_cond_wait(&q->room, &q->mu);
    }
    if (q->closed && mode != PG_QUEUE_FORCE) {
        pthread_mutex_unlock(&q->mu);
        return pg_err(err, errlen, PG_EAGAIN, "exporter is shutting down");
    }
    q->held++;
    q->held_bytes += bytes;
    pthread_mutex_unlock(&q->mu);
    return 0;
}

void pg_queue_push(pg_queue *q, pg_queue_item *it)
{
    it->next = NULL;
    pthread_mutex_lock(&q->mu);
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    pthread_cond_signal(&q->items);
    pthread_mutex_unlock(&q->mu);
}

/* Pops the head; see the header for the wake-up conditions. */
int pg_queue_pop(pg_queue *q, int64_t until_ns, pg_queue_item **out)
{
    int st;
    *out = NULL;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        if (q->stopped) {
            st = PG_QUEUE_STOPPED;
            break;
        }
        if (q->head) {
            *out = q->head;
            q->head = q->head->next;
            if (!q->head) q->tail = NULL;
            (*out)->next = NULL;
            st = PG_QUEUE_ITEM;
            break;
        }
        if (q->closed) {
            st = PG_QUEUE_CLOSED;
            break;
        }
        if (until_ns != INT64_MAX && now_ns() >= until_ns) {
            st = PG_QUEUE_TIMEOUT;
            break;
        }
        wait_until(&q->items, &q->mu, until_ns);
    }
    pthread_mutex_unlock(&q->mu);
    return st;
}

void pg_queue_release(pg_queue *q, uint64_t bytes)
{
    pthread_mutex_lock(&q->mu);
    if (q->held) q->held--;
    q->held_bytes = q->held_bytes >= bytes ? q->held_bytes - bytes : 0;
    pthread_cond_broadcast(&q->room);
    if (!q->held) pthread_cond_broadcast(&q->idle);
    pthread_mutex_unlock(&q->mu);
}

void pg_queue_close(pg_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_cond_broadcast(&q->items);
    pthread_cond_broadcast(&q->room);
    pthread_mutex_unlock(&q->mu);
}

void pg_queue_stop(pg_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = q->stopped = true;
    pthread_cond_broadcast(&q->items);
    pthread_cond_broadcast(&q->room);
    pthread_mutex_unlock(&q->mu);
}

pg_queue_item *pg_queue_take_all(pg_queue *q)
{
    pthread_mutex_lock(&q->mu);
    pg_queue_item *all = q->head;
    q->head = q->tail = NULL;
    pthread_mutex_unlock(&q->mu);
    return all;
}

int pg_queue_wait_idle(pg_queue *q, int64_t deadline_ns)
{
    int rc = 0;
    pthread_mutex_lock(&q->mu);
    while (q->held) {
        if (now_ns() >= deadline_ns) {
            rc = PG_EAGAIN;
            break;
        }
        wait_until(&q->idle, &q->mu, deadline_ns);
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

size_t pg_queue_held(const pg_queue *q)
{
    pg_queue *m = (pg_queue *)q;
    pthread_mutex_lock(&m->mu);
    size_t n = m->held;
    pthread_mutex_unlock(&m->mu);
    return n;
}

uint64_t pg_queue_held_bytes(const pg_queue *q)
{
    pg_queue *m = (pg_queue *)q;
    pthread_mutex_lock(&m->mu);
    uint64_t n = m->held_bytes;
    pthread_mutex_unlock(&m->mu);
    return n;
}
