/* The page-faulting helper of pages_ahead.h: a job on the process's fork-join helper
 * (duo.c), which the conversion's later two-thread phases take over. */
#include "pipeline/core/pages_ahead.h"

#include "pipeline/core/cpus.h"
#include "pipeline/core/duo.h"
#include "pipeline/core/pages.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#define DEFAULT_MIN ((size_t)256 << 10)
/* One MADV_POPULATE_WRITE call: small enough that a writer overtaking the helper waits
 * little on the step it runs into, a whole large page where the range has them. */
#define STEP ((size_t)2 << 20)

struct pg_pages_ahead {
    pg_duo *duo;
    uint8_t *p;
    size_t n;
    atomic_int stop;
};

static pg_two_threads policy = {DEFAULT_MIN, DEFAULT_MIN, 0};
static atomic_size_t helpers_started, steps_done;

/* Test hook: see pages_ahead.h. */
void pg_pages_ahead_set_policy(size_t min_bytes, int force)
{
    pg_two_threads_set(&policy, min_bytes, force);
}

/* See pages_ahead.h. */
size_t pg_pages_ahead_started(void)
{
    return atomic_load(&helpers_started);
}

/* See pages_ahead.h. */
size_t pg_pages_ahead_steps(void)
{
    return atomic_load(&steps_done);
}

/* The helper's job: populates a's range step by step until done or told to stop. a is
 * the starter's. */
static void fault_ahead(void *arg)
{
    pg_pages_ahead *a = arg;
    for (size_t at = 0; at < a->n && !atomic_load_explicit(&a->stop, memory_order_relaxed);
         at += STEP) {
        pg_pages_populate(a->p + at, a->n - at < STEP ? a->n - at : STEP);
        atomic_fetch_add_explicit(&steps_done, 1, memory_order_relaxed);
    }
}

/* See pages_ahead.h; the range stays the caller's. */
pg_pages_ahead *pg_pages_ahead_start(void *p, size_t n)
{
    if (!p || !pg_two_threads_worth(&policy, n)) return NULL;
    pg_pages_ahead *a = malloc(sizeof *a);
    if (!a) return NULL;
    a->p = p;
    a->n = n;
    atomic_init(&a->stop, 0);
    if (!(a->duo = pg_duo_start())) {
        free(a);
        return NULL;
    }
    pg_duo_run(a->duo, fault_ahead, a);
    atomic_fetch_add(&helpers_started, 1);
    return a;
}

/* See pages_ahead.h; frees a. */
void pg_pages_ahead_stop(pg_pages_ahead *a)
{
    if (!a) return;
    atomic_store_explicit(&a->stop, 1, memory_order_relaxed);
    pg_duo_stop(a->duo); /* waits for the job, then parks the helper */
    free(a);
}
