/* Delivery acknowledgement (see ack.h): two atomic counters, holds and references. */
#include "pipeline/core/ack.h"

#include <stdatomic.h>
#include <stdlib.h>

struct pg_ack {
    atomic_int holds;
    atomic_int refs;
    atomic_int worst;
    atomic_int fired;
    pg_ack_fn fn;
    void *ctx;
};

/* Returns a new ack owned by the caller (one hold, one reference). */
pg_ack *pg_ack_new(pg_ack_fn fn, void *ctx)
{
    pg_ack *a = malloc(sizeof *a);
    if (!a) return NULL;
    atomic_init(&a->holds, 1);
    atomic_init(&a->refs, 1);
    atomic_init(&a->worst, PG_ACK_DELIVERED);
    atomic_init(&a->fired, 0);
    a->fn = fn;
    a->ctx = ctx;
    return a;
}

pg_ack *pg_ack_ref(pg_ack *a)
{
    if (a) atomic_fetch_add(&a->refs, 1);
    return a;
}

void pg_ack_unref(pg_ack *a)
{
    if (a && atomic_fetch_sub(&a->refs, 1) == 1) free(a);
}

pg_ack *pg_ack_hold(pg_ack *a)
{
    if (!a) return NULL;
    atomic_fetch_add(&a->refs, 1);
    atomic_fetch_add(&a->holds, 1);
    return a;
}

/* Raises the worst outcome to o (a compare-and-swap loop: outcomes only get worse). */
static void note_outcome(pg_ack *a, pg_ack_outcome o)
{
    int cur = atomic_load(&a->worst);
    while ((int)o > cur && !atomic_compare_exchange_weak(&a->worst, &cur, (int)o)) {
    }
}

void pg_ack_settle(pg_ack *a, pg_ack_outcome outcome)
{
    if (!a) return;
    note_outcome(a, outcome);
    if (atomic_fetch_sub(&a->holds, 1) == 1) {
        atomic_store(&a->fired, 1);
        if (a->fn) a->fn(a->ctx, (pg_ack_outcome)atomic_load(&a->worst));
    }
    pg_ack_unref(a);
}

void pg_ack_release(pg_ack *a)
{
    pg_ack_settle(a, PG_ACK_DELIVERED);
}

int pg_ack_fired(const pg_ack *a)
{
    return atomic_load(&((pg_ack *)a)->fired);
}

const char *pg_ack_outcome_name(pg_ack_outcome o)
{
    switch (o) {
    case PG_ACK_DELIVERED:
        return "delivered";
    case PG_ACK_DROPPED:
        return "dropped";
    case PG_ACK_ABANDONED:
        return "abandoned";
    }
    return "unknown";
}
