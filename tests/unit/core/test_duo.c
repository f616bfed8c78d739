/* The fork-join helper (pipeline/core/duo.c): jobs run on the helper, one at a time, and
 * pg_duo_wait returns after the job's effects; thousands of quick handovers complete (the
 * spin and the sleep paths both: a job that outlasts the spin); the helper runs off the CPU
 * the caller was on when it started, where the process may use another one. */
#define _GNU_SOURCE /* sched_getcpu, pthread_getaffinity_np */
#include "pipeline/core/duo.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#include "testlib.h"

typedef struct job {
    int runs;
    long sleep_ns;
    cpu_set_t mask;
    int mask_ok;
} job;

/* Counts the run, sleeps if asked, and records the helper's CPU mask. */
static void work(void *arg)
{
    job *j = arg;
    j->runs++;
    if (j->sleep_ns) nanosleep(&(struct timespec){0, j->sleep_ns}, NULL);
    j->mask_ok = pthread_getaffinity_np(pthread_self(), sizeof j->mask, &j->mask) == 0;
}

static void test_handovers(void)
{
    pg_duo *d = pg_duo_start();
    CHECK(d != NULL);
    if (!d) return;
    job j = {0};
    for (int i = 0; i < 5000; i++) {
        pg_duo_run(d, work, &j);
        pg_duo_wait(d);
        if (j.runs != i + 1) break;
    }
    CHECK(j.runs == 5000);
    j.sleep_ns = 2000000; /* 2 ms: past the spin, both sides sleep */
    for (int i = 0; i < 5; i++) {
        pg_duo_run(d, work, &j);
        pg_duo_wait(d);
    }
    CHECK(j.runs == 5005);
    pg_duo_stop(d);
    pg_duo_stop(NULL);
}

static void test_apart(void)
{
    cpu_set_t mine;
    if (sched_getaffinity(0, sizeof mine, &mine) || CPU_COUNT(&mine) < 2) {
        printf("one CPU: the helper shares it\n");
        return;
    }
    for (int tries = 0; tries < 20; tries++) {
        int before = sched_getcpu();
        pg_duo *d = pg_duo_start();
        int after = sched_getcpu();
        CHECK(d != NULL);
        if (!d) return;
        job j = {0};
        pg_duo_run(d, work, &j);
        pg_duo_wait(d);
        pg_duo_stop(d);
        if (before != after) continue; /* the caller moved meanwhile: no claim */
        CHECK(j.mask_ok && !CPU_ISSET(before, &j.mask) && CPU_COUNT(&j.mask) >= 1);
        return;
    }
}

int main(void)
{
    test_handovers();
    test_apart();
    TEST_MAIN_END();
}
