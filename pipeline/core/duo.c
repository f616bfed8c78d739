/* The fork-join helper of duo.h: one thread, one job slot, a spin then a condition
 * variable on each side. */
#include "pipeline/core/duo.h"
#include "pipeline/core/cpus.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

/* Rounds of a waiting side's spin before it sleeps (about 0.5 ms here): a handover that
 * finds the other side asleep costs a wake-up of an idle CPU, which on a virtualised one
 * took longer than the job (4000 rounds left the two-thread sample loop of a 1 MB
 * profile at 7.5 ms, 20000 at 6.2). */
#define SPIN_ROUNDS 20000

/* Job states of the slot. */
enum { IDLE, QUEUED, STOP, PARKED };

struct pg_duo {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_int state; /* IDLE, QUEUED (a job waits or runs), STOP, PARKED */
    pg_duo_fn fn;
    void *arg;
};

/* One helper kept between uses for the whole process: pg_duo_stop parks its helper here
 * when the slot is empty instead of ending the thread, and pg_duo_start takes it back. A
 * conversion's two-thread phases (faulting in the inflated input, the location table, the
 * samples, the encoding) then share one thread instead of starting one each: a start took 70-140 us
 * and an end 30-60 us on a 2-CPU VM, 0.4 ms of a 1 MB profile's 14 ms conversion. The parked helper
 * sleeps on its condition variable at once (no spin: it would take the other CPU from whatever runs
 * there next) and holds no CPU in pg_two_threads_worth's count. */
static pg_duo *_Atomic parked;

/* Spins a little while d's state is `is`; returns whether it changed meanwhile. */
static int spin_while(pg_duo *d, int is)
{
    for (int k = 0; k < SPIN_ROUNDS; k++) {
        if (atomic_load_explicit(&d->state, memory_order_acquire) != is) return 1;
        pg_cpu_relax();
    }
    return 0;
}

/* Sets the state and wakes whoever sleeps on it. */
static void set_state(pg_duo *d, int s)
{
    pthread_mutex_lock(&d->mu);
    atomic_store_explicit(&d->state, s, memory_order_release);
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

/* Sleeps until d's state is no longer `is`. */
static void sleep_while(pg_duo *d, int is)
{
    pthread_mutex_lock(&d->mu);
    while (atomic_load_explicit(&d->state, memory_order_acquire) == is)
        pthread_cond_wait(&d->cv, &d->mu);
    pthread_mutex_unlock(&d->mu);
}

/* The helper: runs queued jobs until told to stop, sleeping while parked. d is the
 * caller's until pg_duo_stop. */
static void *helper_main(void *arg)
{
    pg_duo *d = arg;
    for (;;) {
        if (!spin_while(d, IDLE)) sleep_while(d, IDLE);
        int state = atomic_load_explicit(&d->state, memory_order_acquire);
        if (state == STOP) return NULL;
        if (state == PARKED) {
            sleep_while(d, PARKED);
            continue;
        }
        d->fn(d->arg);
        set_state(d, IDLE);
    }
}

/* See duo.h. */
pg_duo *pg_duo_start(void)
{
    pg_duo *d = atomic_exchange(&parked, NULL);
    if (d) {
        pg_cpus_helper_unparked();
        pg_thread_move_apart(d->thread);
        set_state(d, IDLE);
        return d;
    }
    d = calloc(1, sizeof *d);
    if (!d) return NULL;
    atomic_init(&d->state, IDLE);
    if (pthread_mutex_init(&d->mu, NULL)) {
        free(d);
        return NULL;
    }
    if (pthread_cond_init(&d->cv, NULL)) {
        pthread_mutex_destroy(&d->mu);
        free(d);
        return NULL;
    }
    if (pg_thread_create_apart(&d->thread, "profgate-duo", helper_main, d)) {
        pthread_cond_destroy(&d->cv);
        pthread_mutex_destroy(&d->mu);
        free(d);
        return NULL;
    }
    return d;
}

/* See duo.h; fn and arg are the caller's. */
void pg_duo_run(pg_duo *d, pg_duo_fn fn, void *arg)
{
    d->fn = fn;
    d->arg = arg;
    set_state(d, QUEUED);
}

/* See duo.h. */
void pg_duo_wait(pg_duo *d)
{
    if (!spin_while(d, QUEUED)) sleep_while(d, QUEUED);
}

/* See duo.h; parks d or frees it. */
void pg_duo_stop(pg_duo *d)
{
    if (!d) return;
    pg_duo_wait(d);
    set_state(d, PARKED); /* before it is in the slot, where another thread may take it */
    pg_duo *none = NULL;
    if (atomic_compare_exchange_strong(&parked, &none, d)) {
        pg_cpus_helper_parked();
        return;
    }
    set_state(d, STOP);
    pthread_join(d->thread, NULL);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d);
}
