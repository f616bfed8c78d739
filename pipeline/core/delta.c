/* Cumulative to delta (see delta.h): the series state and the per-profile subtraction. */
#include "pipeline/core/delta_int.h"

#include "pipeline/core/compact.h"
#include "pipeline/core/err.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_SERIES 10000

/* An identity -> value table, open addressing with linear probing; key 0 = empty. */
typedef struct dtab {
    uint64_t *keys;
    int64_t *vals;
    size_t cap, count; /* cap a power of two, or 0 */
} dtab;

typedef struct dseries {
    uint64_t key;
    uint64_t last_seen; /* now_ns of the last profile */
    uint64_t prev_time; /* time_unix_nano of the previous profile */
    dtab prev;
} dseries;

struct pg_delta {
    pthread_mutex_t mu;
    pg_delta_opts o;
    dseries **series; /* dense */
    size_t n, cap;
    uint64_t last_sweep;
};

/* Frees a table's storage. */
static void dtab_free(dtab *t)
{
    free(t->keys);
    free(t->vals);
    memset(t, 0, sizeof *t);
}

/* Sizes t (emptied) for n keys at load <= 1/2. Returns 0 or PG_ENOMEM. */
static int dtab_init(dtab *t, size_t n)
{
    size_t cap = 16;
    while (cap < n * 2)
        cap <<= 1;
    memset(t, 0, sizeof *t);
    t->keys = calloc(cap, sizeof *t->keys);
    t->vals = malloc(cap * sizeof *t->vals);
    if (!t->keys || !t->vals) {
        dtab_free(t);
        return PG_ENOMEM;
    }
    t->cap = cap;
    return 0;
}

/* The slot of key in t: where it is, or the empty slot where it would go. */
static size_t dtab_slot(const dtab *t, uint64_t key)
{
    size_t mask = t->cap - 1, i = (size_t)(key * 0x9e3779b97f4a7c15ull >> 17) & mask;
    while (t->keys[i] && t->keys[i] != key)
        i = (i + 1) & mask;
    return i;
}

/* Value of key in t into *v; returns 1 when present. */
static int dtab_get(const dtab *t, uint64_t key, int64_t *v)
{
    if (!t->cap) return 0;
    size_t i = dtab_slot(t, key);
    if (!t->keys[i]) return 0;
    *v = t->vals[i];
    return 1;
}

/* See delta.h. */
pg_delta *pg_delta_new(const pg_delta_opts *o)
{
    pg_delta *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    if (o) d->o = *o;
    if (!d->o.max_series) d->o.max_series = DEFAULT_MAX_SERIES;
    pthread_mutex_init(&d->mu, NULL);
    return d;
}

/* Frees one series. */
static void series_free(dseries *s)
{
    if (!s) return;
    dtab_free(&s->prev);
    free(s);
}

/* See delta.h. */
void pg_delta_free(pg_delta *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->n; i++)
        series_free(d->series[i]);
    free(d->series);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

/* Removes series i (swap with the last). */
static void series_remove(pg_delta *d, size_t i)
{
    series_free(d->series[i]);
    d->series[i] = d->series[--d->n];
}

/* The series of key, or NULL. Linear: series are few per call and the scan is cheap
 * next to hashing a profile. */
static dseries *series_find(pg_delta *d, uint64_t key)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->series[i]->key == key) return d->series[i];
    return NULL;
}

/* Adds a new empty series for key, evicting the least recently seen one when full.
 * Returns it or NULL (out of memory). */
static dseries *series_add(pg_delta *d, uint64_t key, pg_delta_stats *st)
{
    if (d->n >= d->o.max_series && d->n) {
        size_t oldest = 0;
        for (size_t i = 1; i < d->n; i++)
            if (d->series[i]->last_seen < d->series[oldest]->last_seen) oldest = i;
        series_remove(d, oldest);
        st->evicted++;
    }
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 16;
        dseries **ns = realloc(d->series, nc * sizeof *ns);
        if (!ns) return NULL;
        d->series = ns;
        d->cap = nc;
    }
    dseries *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->key = key;
    d->series[d->n++] = s;
    return s;
}

/* Drops the series not seen within the expiry (at most every expiry / 4). */
static void sweep(pg_delta *d, uint64_t now, pg_delta_stats *st)
{
    if (d->o.expiry_ns <= 0) return;
    uint64_t exp = (uint64_t)d->o.expiry_ns;
    if (now - d->last_sweep < exp / 4 && d->last_sweep) return;
    d->last_sweep = now;
    for (size_t i = 0; i < d->n;) {
        if (now > d->series[i]->last_seen && now - d->series[i]->last_seen > exp) {
            series_remove(d, i);
            st->expired++;
        } else {
            i++;
        }
    }
}

/* The value a sample counts with: its first value, or its timestamp count without one. */
static int64_t sample_value(const pg_sample_ref *r)
{
    return r->n_values ? r->values[0] : (int64_t)r->n_ts;
}

typedef enum { OUT_EMIT, OUT_REMOVE } outcome;

/* Builds the table of p's summed values per identity (hash[i] receives sample i's). */
static int sum_profile(pg_delta_keys *k, const pg_profile *p, uint64_t *hash, dtab *cur)
{
    const pg_samples *c = &p->samples;
    if (dtab_init(cur, c->n)) return PG_ENOMEM;
    pg_sample_ref r;
    for (size_t i = 0; i < c->n; i++) {
        pg_samples_at(c, i, &r);
        hash[i] = pg_delta_keys_sample(k, &r);
        size_t s = dtab_slot(cur, hash[i]);
        if (!cur->keys[s]) {
            cur->keys[s] = hash[i];
            cur->vals[s] = 0;
            cur->count++;
        }
        cur->vals[s] += sample_value(&r);
    }
    return 0;
}

/* 1 when some identity of cur is below its previous value. */
static int went_down(const dtab *prev, const dtab *cur)
{
    for (size_t i = 0; i < cur->cap; i++) {
        int64_t pv;
        if (cur->keys[i] && dtab_get(prev, cur->keys[i], &pv) && cur->vals[i] < pv) return 1;
    }
    return 0;
}

/* Writes the deltas into p: the first sample of each identity carries cur - prev, the
 * rest and zero deltas are removed. `done` is scratch of cur->cap bytes. */
static int write_deltas(pg_batch *b, pg_profile *p, const uint64_t *hash, const dtab *prev,
                        const dtab *cur, uint8_t *done, uint8_t *keep, pg_delta_stats *st)
{
    size_t n = p->samples.n, kept = 0;
    pg_sample_ref r;
    for (size_t i = 0; i < n; i++) {
        pg_samples_at(&p->samples, i, &r);
        size_t s = dtab_slot(cur, hash[i]);
        keep[i] = 0;
        if (!r.n_values) { /* nothing to subtract from (timestamps only): kept as is */
            keep[i] = 1;
            kept++;
            continue;
        }
        if (done[s]) continue;
        done[s] = 1;
        int64_t pv = 0, dv;
        dtab_get(prev, hash[i], &pv);
        dv = cur->vals[s] - pv;
        if (!dv) continue;
        if (dv != r.values[0]) {
            int rc = pg_sample_set_value(b, p, i, 0, dv);
            if (rc) return rc;
        }
        keep[i] = 1;
        kept++;
    }
    st->removed_samples += n - kept;
    return kept == n ? 0 : pg_profile_keep(b, p, keep);
}

/* Applies the series state to profile p. Sets *out. The state moves to p's values. */
static int apply_one(pg_delta *d, dseries *s, pg_delta_keys *k, pg_batch *b, pg_profile *p,
                     uint64_t now, outcome *out, pg_delta_stats *st)
{
    size_t n = p->samples.n;
    uint64_t *hash = malloc((n ? n : 1) * sizeof *hash);
    uint8_t *keep = malloc(n ? n : 1);
    dtab cur = {0};
    int rc = hash && keep ? sum_profile(k, p, hash, &cur) : PG_ENOMEM;
    uint8_t *done = rc ? NULL : calloc(cur.cap, 1);
    if (!rc && !done) rc = PG_ENOMEM;
    int primed = s->prev.cap == 0 && s->last_seen == 0;
    if (!rc && primed) {
        *out = OUT_REMOVE;
        st->primed++;
    } else if (!rc && went_down(&s->prev, &cur)) {
        *out = OUT_REMOVE;
        st->restarts++;
    } else if (!rc) {
        rc = write_deltas(b, p, hash, &s->prev, &cur, done, keep, st);
        *out = OUT_EMIT;
        uint64_t t = p->msg.time_unix_nano;
        if (s->prev_time && t > s->prev_time) {
            p->msg.time_unix_nano = s->prev_time;
            p->msg.duration_nano = t - s->prev_time;
        }
        if (!rc) st->emitted++;
        s->prev_time = t;
    }
    if (*out == OUT_REMOVE) s->prev_time = p->msg.time_unix_nano;
    dtab_free(&s->prev);
    if (!rc) {
        s->prev = cur; /* the new baseline */
        s->last_seen = now ? now : 1;
    } else {
        dtab_free(&cur);
        s->last_seen = 0; /* reset: the next profile primes */
        s->prev_time = 0;
    }
    free(hash);
    free(keep);
    free(done);
    (void)d;
    return rc;
}

/* Removes the profiles marked in `drop` (in iteration order) from b's tree, and scopes and
 * resources left empty. */
static void prune(pg_batch *b, const uint8_t *drop)
{
    pg_otlp_data *data = pg_batch_data(b);
    size_t idx = 0, nr = 0;
    for (size_t r = 0; r < data->n_resource_profiles; r++) {
        pg_otlp_rprofiles *rp = data->resource_profiles[r];
        size_t ns = 0;
        for (size_t s = 0; s < rp->n_scope_profiles; s++) {
            pg_otlp_sprofiles *sp = rp->scope_profiles[s];
            size_t np = 0;
            for (size_t p = 0; p < sp->n_profiles; p++)
                if (!drop[idx++]) sp->profiles[np++] = sp->profiles[p];
            int had = sp->n_profiles > 0;
            sp->n_profiles = np;
            if (np || !had) rp->scope_profiles[ns++] = sp;
        }
        int had = rp->n_scope_profiles > 0;
        rp->n_scope_profiles = ns;
        if (ns || !had) data->resource_profiles[nr++] = rp;
    }
    data->n_resource_profiles = nr;
}

/* See delta.h. */
int pg_delta_batch(pg_delta *d, pg_batch *b, pg_delta_classify_fn fn, void *ud, uint64_t now_ns,
                   pg_delta_stats *st, char *err, size_t errlen)
{
    pg_delta_stats dummy = {0};
    if (!st) st = &dummy;
    size_t np = pg_batch_profile_count(b);
    uint8_t *drop = calloc(np ? np : 1, 1);
    pg_delta_keys k;
    if (!drop || pg_delta_keys_init(&k, b)) {
        free(drop);
        return pg_err(err, errlen, PG_ENOMEM, "cumulative to delta: out of memory");
    }
    int rc = 0;
    size_t idx = 0, removed = 0, changed = 0;
    pthread_mutex_lock(&d->mu);
    sweep(d, now_ns, st);
    pg_profile_iter it;
    pg_profile_iter_init(&it, b);
    while (!rc && pg_profile_iter_next(&it)) {
        uint64_t key = 0;
        size_t at = idx++;
        if (!it.profile->msg.sample_type) continue; /* a table-entries record: see below */
        if (fn(ud, b, &it, &key) != PG_DELTA_CUMULATIVE) {
            st->passed++;
            continue;
        }
        dseries *s = series_find(d, key);
        if (!s && !(s = series_add(d, key, st))) {
            rc = PG_ENOMEM;
            break;
        }
        size_t before = it.profile->samples.n;
        outcome out = OUT_EMIT;
        rc = apply_one(d, s, &k, b, it.profile, now_ns, &out, st);
        drop[at] = out == OUT_REMOVE;
        removed += drop[at];
        changed += it.profile->samples.n != before;
    }
    pthread_mutex_unlock(&d->mu);
    pg_delta_keys_free(&k);
    if (rc) {
        free(drop);
        return pg_err(err, errlen, rc, "cumulative to delta: %s", pg_status_name(rc));
    }
    if (removed) {
        /* what is left without a sample type (a table-entries record) goes with them when
         * no typed profile is left */
        size_t typed = 0;
        idx = 0;
        pg_profile_iter_init(&it, b);
        while (pg_profile_iter_next(&it))
            typed += !drop[idx++] && it.profile->msg.sample_type;
        if (!typed) memset(drop, 1, np);
        prune(b, drop);
    }
    free(drop);
    if ((removed || changed) && pg_batch_profile_count(b))
        return pg_batch_compact(b, NULL, err, errlen);
    return 0;
}

/* See delta.h. */
size_t pg_delta_series_count(pg_delta *d)
{
    pthread_mutex_lock(&d->mu);
    size_t n = d->n;
    pthread_mutex_unlock(&d->mu);
    return n;
}

/* See delta.h. */
size_t pg_delta_state_bytes(pg_delta *d)
{
    pthread_mutex_lock(&d->mu);
    size_t bytes = d->cap * sizeof *d->series;
    for (size_t i = 0; i < d->n; i++)
        bytes += sizeof(dseries) + d->series[i]->prev.cap * (sizeof(uint64_t) + sizeof(int64_t));
    pthread_mutex_unlock(&d->mu);
    return bytes;
}
