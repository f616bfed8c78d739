/* The span index (see span_index.h): a ring of entries in insertion order (oldest first,
 * for expiry and eviction) and an open-addressing table of ring positions keyed by span
 * id, with backward-shift deletion, under one mutex. */
#include "pipeline/traces/span_index.h"
#include "pipeline/core/err.h"
#include "pipeline/core/hash.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct entry {
    uint64_t span; /* the 8 id bytes as a native integer; 0 = free */
    uint8_t trace[16];
    int64_t added;
} entry;

struct pg_span_index {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    entry *ring;
    size_t cap, head, count; /* oldest at head; count includes holes */
    size_t live;             /* entries that are not holes */
    uint32_t *slots;         /* ring position + 1; 0 = empty */
    size_t nslots;           /* power of two, >= 2 * cap */
    int64_t ttl;
    pg_span_index_stats st;
};

static size_t home(const pg_span_index *ix, uint64_t span)
{
    return (size_t)(pg_hash_mix(0x5350414eull, span) & (ix->nslots - 1));
}

/* Slot holding span, or the empty slot where it would go. */
static size_t probe(const pg_span_index *ix, uint64_t span)
{
    size_t i = home(ix, span);
    while (ix->slots[i] && ix->ring[ix->slots[i] - 1].span != span)
        i = (i + 1) & (ix->nslots - 1);
    return i;
}

/* Removes the slot at i, shifting later members of its cluster back. */
static void slot_remove(pg_span_index *ix, size_t i)
{
    size_t mask = ix->nslots - 1, j = i;
    ix->slots[i] = 0;
    for (;;) {
        j = (j + 1) & mask;
        if (!ix->slots[j]) return;
        size_t h = home(ix, ix->ring[ix->slots[j] - 1].span);
        /* move j back to i when its home is not in (i, j] (cyclically) */
        if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) {
            ix->slots[i] = ix->slots[j];
            ix->slots[j] = 0;
            i = j;
        }
    }
}

pg_span_index *pg_span_index_new(size_t max_entries, int64_t ttl_ns)
{
    if (max_entries < 1 || max_entries > (1u << 30) || ttl_ns <= 0) return NULL;
    pg_span_index *ix = calloc(1, sizeof *ix);
    if (!ix) return NULL;
    ix->cap = max_entries;
    ix->nslots = 16;
    while (ix->nslots < 2 * max_entries)
        ix->nslots <<= 1;
    ix->ring = calloc(max_entries, sizeof *ix->ring);
    ix->slots = calloc(ix->nslots, sizeof *ix->slots);
    ix->ttl = ttl_ns;
    if (!ix->ring || !ix->slots) {
        free(ix->ring);
        free(ix->slots);
        free(ix);
        return NULL;
    }
    pthread_mutex_init(&ix->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ix->cv, &ca);
    pthread_condattr_destroy(&ca);
    return ix;
}

void pg_span_index_free(pg_span_index *ix)
{
    if (!ix) return;
    pthread_mutex_destroy(&ix->mu);
    pthread_cond_destroy(&ix->cv);
    free(ix->ring);
    free(ix->slots);
    free(ix);
}

/* Drops the oldest entry (the ring's head); the caller holds mu. */
static void drop_oldest(pg_span_index *ix)
{
    entry *e = &ix->ring[ix->head];
    if (e->span) {
        size_t s = probe(ix, e->span);
        if (ix->slots[s] == ix->head + 1) slot_remove(ix, s);
        ix->live--;
    }
    e->span = 0;
    ix->head = (ix->head + 1) % ix->cap;
    ix->count--;
}

/* Drops entries older than the TTL; the caller holds mu. */
static void expire(pg_span_index *ix, int64_t now)
{
    while (ix->count) {
        entry *e = &ix->ring[ix->head];
        if (e->span && now - e->added < ix->ttl) return;
        if (e->span) ix->st.evicted_ttl++;
        drop_oldest(ix);
    }
}

static uint64_t load8(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

int pg_span_index_put(pg_span_index *ix, const uint8_t span_id[8], const uint8_t trace_id[16],
                      int64_t now_ns)
{
    uint64_t span = load8(span_id);
    if (!span || (!load8(trace_id) && !load8(trace_id + 8))) return 0;
    pthread_mutex_lock(&ix->mu);
    expire(ix, now_ns);
    size_t s = probe(ix, span);
    if (ix->slots[s]) { /* seen again: forget the old entry, add it anew */
        entry *old = &ix->ring[ix->slots[s] - 1];
        slot_remove(ix, s);
        old->span = 0; /* a hole in the ring, skipped when it reaches the head */
        ix->live--;
    }
    if (ix->count == ix->cap) {
        while (!ix->ring[ix->head].span && ix->count)
            drop_oldest(ix); /* holes first */
        if (ix->count == ix->cap) {
            ix->st.evicted_full++;
            drop_oldest(ix);
        }
    }
    size_t pos = (ix->head + ix->count) % ix->cap;
    entry *e = &ix->ring[pos];
    e->span = span;
    memcpy(e->trace, trace_id, 16);
    e->added = now_ns;
    ix->count++;
    ix->live++;
    ix->slots[probe(ix, span)] = (uint32_t)pos + 1;
    ix->st.added++;
    pthread_cond_broadcast(&ix->cv);
    pthread_mutex_unlock(&ix->mu);
    return 0;
}

/* Borrows s; one put per pair. */
void pg_span_index_put_spans(pg_span_index *ix, const pg_spans *s, int64_t now_ns)
{
    for (size_t i = 0; i < s->n; i++)
        pg_span_index_put(ix, s->items[i].span, s->items[i].trace, now_ns);
}

int pg_span_index_get(pg_span_index *ix, const uint8_t span_id[8], uint8_t trace_id[16],
                      int64_t now_ns)
{
    uint64_t span = load8(span_id);
    int found = 0;
    pthread_mutex_lock(&ix->mu);
    expire(ix, now_ns);
    ix->st.lookups++;
    if (span) {
        size_t s = probe(ix, span);
        if (ix->slots[s]) {
            memcpy(trace_id, ix->ring[ix->slots[s] - 1].trace, 16);
            found = 1;
            ix->st.hits++;
        }
    }
    pthread_mutex_unlock(&ix->mu);
    return found;
}

void pg_span_index_wait(pg_span_index *ix, int64_t deadline_ns)
{
    struct timespec now, until = {deadline_ns / 1000000000, deadline_ns % 1000000000};
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((int64_t)now.tv_sec * 1000000000 + now.tv_nsec >= deadline_ns) return;
    pthread_mutex_lock(&ix->mu);
    pthread_cond_timedwait(&ix->cv, &ix->mu, &until);
    pthread_mutex_unlock(&ix->mu);
}

void pg_span_index_stats_get(pg_span_index *ix, pg_span_index_stats *out)
{
    pthread_mutex_lock(&ix->mu);
    *out = ix->st;
    out->entries = ix->live;
    pthread_mutex_unlock(&ix->mu);
}
