/* The fork-join helper (pipeline/core/duo.c): jobs run on the helper, one at a time, and
 * pg_duo_wait returns after the job's effects; thousands of quick handovers complete (the
 * spin and the sleep paths both: a job that outlasts the spin); the helper runs off the CPU
 * the caller was on when it started (or was taken back), where the process may use another
 * one; a stopped helper is parked and the next start takes the same thread back, holding no
 * CPU while parked; a second helper at the same time is a thread of its own, ended when
 * stopped while one is parked. */
#define _GNU_SOURCE /* sched_getcpu, pthread_getaffinity_np */
#include "pipeline/core/cpus.h"
#include "pipeline/core/duo.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

typedef struct job {
    int runs;
    pid_t tid; /* the kernel's id of the thread it ran on (pthread_t values are reused) */
    long sleep_ns;
    cpu_set_t mask;
    int mask_ok;
} job;

/* Counts the run, sleeps if asked, and records the helper's CPU mask. */
static void work(void *arg)
{
    job *j = arg;
    j->runs++;
    j->tid = gettid();
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

/* Runs one job on d; returns the thread it ran on. */
static pid_t ran_on(pg_duo *d)
{
    job j = {0};
    pg_duo_run(d, work, &j);
    pg_duo_wait(d);
    CHECK(j.runs == 1);
    return j.tid;
}

static void test_parked(void)
{
    int live0 = pg_cpus_helpers_live();
    pg_duo *d = pg_duo_start();
    CHECK(d != NULL);
    if (!d) return;
    CHECK_MSG(pg_cpus_helpers_live() == live0 + 1, "a helper in use holds a CPU");
    pid_t first = ran_on(d);
    pg_duo_stop(d);
    CHECK_MSG(pg_cpus_helpers_live() == live0, "a parked helper holds no CPU (%d, want %d)",
              pg_cpus_helpers_live(), live0);
    pg_duo *again = pg_duo_start();
    CHECK(again != NULL);
    if (!again) return;
    CHECK_MSG(ran_on(again) == first, "the parked thread was not taken back");
    CHECK(pg_cpus_helpers_live() == live0 + 1);
    /* a second helper meanwhile is another thread; of the two stopped, one is parked */
    pg_duo *other = pg_duo_start();
    CHECK(other != NULL);
    if (other) {
        CHECK(ran_on(other) != first);
        CHECK(pg_cpus_helpers_live() == live0 + 2);
        pg_duo_stop(other); /* parked */
    }
    pg_duo_stop(again); /* the slot is taken: this one ends */
    CHECK(pg_cpus_helpers_live() == live0);
    pg_duo *last = pg_duo_start();
    CHECK(last != NULL);
    if (last) {
        CHECK_MSG(ran_on(last) != first, "the ended helper came back");
        pg_duo_stop(last);
    }
}

int main(void)
{
    test_handovers();
    test_apart();
    test_parked();
    TEST_MAIN_END();
}
