/* The exporter helper's bounded queue (capacity in items and bytes, refuse / block /
 * force, close and stop semantics, timed pops) and the retry backoff sequence. */
#include "pipeline/component.h"
#include "pipeline/core/err.h"
#include "pipeline/exporterhelper/queue.h"
#include "pipeline/exporterhelper/retry.h"
#include "testlib.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void test_capacity_items_and_bytes(void)
{
    pg_queue *q = pg_queue_new(2, 100);
    char err[128];
    CHECK(pg_queue_reserve(q, 40, PG_QUEUE_REFUSE, err, sizeof err) == 0);
    CHECK(pg_queue_reserve(q, 70, PG_QUEUE_REFUSE, err, sizeof err) == PG_EAGAIN); /* bytes */
    CHECK(pg_queue_reserve(q, 60, PG_QUEUE_REFUSE, err, sizeof err) == 0);
    CHECK(pg_queue_reserve(q, 0, PG_QUEUE_REFUSE, err, sizeof err) == PG_EAGAIN); /* items */
    CHECK_STR(err, "sending queue is full");
    CHECK(pg_queue_reserve(q, 101, PG_QUEUE_BLOCK, err, sizeof err) == PG_ELIMIT);
    CHECK(pg_queue_reserve(q, 500, PG_QUEUE_FORCE, err, sizeof err) == 0);
    CHECK(pg_queue_held(q) == 3 && pg_queue_held_bytes(q) == 600);
    pg_queue_release(q, 500);
    pg_queue_release(q, 60);
    CHECK(pg_queue_held(q) == 1 && pg_queue_held_bytes(q) == 40);
    pg_queue_release(q, 40);
    CHECK(pg_queue_wait_idle(q, now_ns()) == 0);
    pg_queue_free(q);
}

static void test_fifo_and_timeout(void)
{
    pg_queue *q = pg_queue_new(0, 0);
    pg_queue_item it[3], *out;
    for (int i = 0; i < 3; i++) {
        CHECK(pg_queue_reserve(q, 1, PG_QUEUE_REFUSE, NULL, 0) == 0);
        pg_queue_push(q, &it[i]);
    }
    for (int i = 0; i < 3; i++)
        CHECK(pg_queue_pop(q, now_ns(), &out) == PG_QUEUE_ITEM && out == &it[i]);
    int64_t t0 = now_ns();
    CHECK(pg_queue_pop(q, t0 + 20000000, &out) == PG_QUEUE_TIMEOUT && !out);
    CHECK(now_ns() - t0 >= 20000000);
    CHECK(pg_queue_held(q) == 3); /* popped is still held until released */
    CHECK(pg_queue_wait_idle(q, now_ns() + 1000000) == PG_EAGAIN);
    for (int i = 0; i < 3; i++)
        pg_queue_release(q, 1);
    pg_queue_push(q, &it[0]);
    pg_queue_close(q);
    CHECK(pg_queue_reserve(q, 1, PG_QUEUE_BLOCK, NULL, 0) == PG_EAGAIN);
    CHECK(pg_queue_pop(q, INT64_MAX, &out) == PG_QUEUE_ITEM); /* close drains */
    CHECK(pg_queue_pop(q, INT64_MAX, &out) == PG_QUEUE_CLOSED);
    pg_queue_push(q, &it[1]);
    pg_queue_stop(q);
    CHECK(pg_queue_pop(q, INT64_MAX, &out) == PG_QUEUE_STOPPED); /* stop does not */
    CHECK(pg_queue_take_all(q) == &it[1] && !pg_queue_take_all(q));
    pg_queue_free(q);
}

typedef struct blocker {
    pg_queue *q;
    atomic_int done;
    int rc;
} blocker;

static void *reserve_blocking(void *arg)
{
    blocker *b = arg;
    b->rc = pg_queue_reserve(b->q, 1, PG_QUEUE_BLOCK, NULL, 0);
    atomic_store(&b->done, 1);
    return NULL;
}

static void test_block_release_and_close(void)
{
    pg_queue *q = pg_queue_new(1, 0);
    CHECK(pg_queue_reserve(q, 1, PG_QUEUE_REFUSE, NULL, 0) == 0);
    blocker b = {.q = q};
    pthread_t t;
    pthread_create(&t, NULL, reserve_blocking, &b);
    usleep(30000);
    CHECK(!atomic_load(&b.done));
    pg_queue_release(q, 1); /* room: the blocked producer gets the slot */
    pthread_join(t, NULL);
    CHECK(b.rc == 0 && pg_queue_held(q) == 1);
    blocker c = {.q = q};
    pthread_create(&t, NULL, reserve_blocking, &c);
    usleep(30000);
    CHECK(!atomic_load(&c.done));
    pg_queue_close(q); /* shutdown: the blocked producer is refused */
    pthread_join(t, NULL);
    CHECK(c.rc == PG_EAGAIN && pg_queue_held(q) == 1);
    pg_queue_free(q);
}

static void test_backoff(void)
{
    struct pg_retry_config rc = {.enabled = true,
                                 .initial_interval = 5000000000LL,
                                 .max_interval = 30000000000LL,
                                 .max_elapsed_time = 300000000000LL,
                                 .multiplier = 1.5,
                                 .randomization_factor = 0.5};
    pg_backoff bo;
    pg_backoff_init(&bo, &rc, 0, 42);
    double want = 5e9;
    int64_t t = 0;
    int n = 0, within = 1;
    for (;;) {
        int64_t w = pg_backoff_next(&bo, t);
        if (w < 0) break;
        if (w < 0.5 * want - 1 || w > 1.5 * want + 1) within = 0;
        want = want * 1.5 > 30e9 ? 30e9 : want * 1.5;
        t += w;
        n++;
    }
    CHECK(within);
    CHECK(t <= 300000000000LL);
    CHECK(n > 8 && n < 30); /* ~ 5, 7.5, 11, 17, 25, 30, 30 ... within 300 s */
    /* no jitter: exact sequence, and max_elapsed 0 never stops */
    rc.randomization_factor = 0;
    rc.max_elapsed_time = 0;
    rc.initial_interval = 1000000;
    rc.max_interval = 4000000;
    rc.multiplier = 2;
    pg_backoff_init(&bo, &rc, 0, 1);
    int64_t seq[6];
    for (int i = 0; i < 6; i++)
        seq[i] = pg_backoff_next(&bo, (int64_t)i * 1000000000000LL);
    CHECK(seq[0] == 1000000 && seq[1] == 2000000 && seq[2] == 4000000 && seq[5] == 4000000);
}

int main(void)
{
    test_capacity_items_and_bytes();
    test_fifo_and_timeout();
    test_block_release_and_close();
    test_backoff();
    TEST_MAIN_END();
}
