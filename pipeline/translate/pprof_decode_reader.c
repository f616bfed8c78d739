/* pprof -> OTLP: the loop over the samples of a pprof, reading each (pprof_decode_sample.c)
 * and handing it to the profile builder's commit in order.
 *
 * A large profile on a machine with two CPUs is read on a helper thread (pipeline/core/duo.c):
 * it parses the next chunk of samples (location indices, values and labels back to back,
 * and the stack's hash) while the calling thread interns the chunk before, the two chunks
 * taking turns, so reading and interning overlap. The helper works on its own copy of the
 * decoder, which it only reads (tables, limits) but for its own error buffer, and on the
 * input, which the calling thread does not touch; the calling thread alone touches the
 * batch. A failure on either side stops both; the committer reports the helper's failure
 * only after committing every sample before it, as the loop on one thread does. */
#include "pipeline/translate/pprof_decode_int.h"
#include "pipeline/core/cpus.h"
#include "pipeline/core/dict.h"
#include "pipeline/core/duo.h"
#include "pipeline/core/err.h"
#include "pipeline/core/pages.h"
#include "pipeline/core/stacks.h"
#include "pipeline/core/vec.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Consumed input is handed back in steps of this many bytes (when the decoder owns it). */
#define RELEASE_STEP ((size_t)256 << 10)
/* Profiles with fewer samples are read on the calling thread. */
#define THREAD_MIN_SAMPLES 2048
#define CHUNK_SAMPLES 256

static pg_two_threads policy = {THREAD_MIN_SAMPLES, THREAD_MIN_SAMPLES, 0};

/* Test hook: see pprof_decode_int.h. */
void pg_pprof_reader_set_thread(size_t min_samples, int force)
{
    pg_two_threads_set(&policy, min_samples, force);
}

static _Atomic size_t helper_chunks;

/* Test hook: see pprof_decode_int.h. */
size_t pg_pprof_reader_helper_chunks(void)
{
    return helper_chunks;
}

/* Moves top to the next sample field and slices it into sr; 0 when there is none. */
static int next_sample(pg_wire *top, pg_wire *sr)
{
    uint32_t f;
    int wt;
    while (pg_wire_tag(top, &f, &wt) == 1) {
        if (f == 2) return pg_wire_len(top, sr) == 0; /* validated by the first pass */
        if (pg_wire_skip(top, wt)) return 0;
    }
    return 0;
}

/* Hands back the input pages the loop has read past (all but the string table): in steps,
 * or all of them once reading is over. */
static void release_read(pg_pprof_header *h, const uint8_t *upto, int over)
{
    if (h->release_done)
        pg_pages_release_consumed(&h->release_done, upto, h->keep_lo, h->keep_hi,
                                  over ? 1 : RELEASE_STEP);
}

/* One thread: sample i is parsed, and its stack's index slot fetched, while sample i - 1 is
 * committed (the slot is rarely in cache for a large profile). */
static int read_inline(pg_pprof_dec *d, pg_pprof_header *h, pg_wire top, size_t n_types,
                       pg_pprof_commit_fn commit, void *ctx)
{
    pg_pprof_scratch s[2];
    memset(s, 0, sizeof s);
    pg_wire sr;
    size_t i = 0;
    int rc = 0;
    /* stops after the last sample: what follows may be released (pprof_decode.c) */
    while (!rc && i < h->n_samples && next_sample(&top, &sr)) {
        pg_pprof_scratch *cur = &s[i & 1];
        rc = pg_pprof_parse_sample(d, sr, i, cur, n_types);
        if (!rc)
            cur->stack_hash = pg_dict_stack_prefetch(d->b, cur->locs, cur->nlocs, d->loc_width);
        if (!rc && i > 0) rc = commit(ctx, i - 1, &s[(i - 1) & 1]);
        i++;
        release_read(h, top.p, i == h->n_samples);
    }
    if (!rc && i > 0) rc = commit(ctx, i - 1, &s[(i - 1) & 1]);
    pg_pprof_scratch_free(&s[0]);
    pg_pprof_scratch_free(&s[1]);
    return rc;
}

/* Up to CHUNK_SAMPLES samples, parsed back to back into one scratch: sample k's location
 * bytes are s.locs[loc_off[k], loc_off[k + 1]), its values s.vals[k * n_types ...], its
 * labels s.lk/ls/ln/lu[lab_off[k], lab_off[k + 1]). The vectors are reused.
 * A chunk starts on a cache line of its own: the two chunks lie side by side, and the
 * counters at the end of one (n, which the helper bumps for every sample it reads) shared
 * a line with the head of the other (its scratch's pointers and offsets, which the
 * committing thread reads for every sample it commits), so that line went back and forth
 * between the CPUs twice a sample. Aligned, the helper reads the heap profile's samples in
 * 19 ms instead of 45-51 and the busy 5 MB profile's in 14 instead of 23. */
typedef struct chunk {
    pg_pprof_scratch s;
    size_t loc_off[CHUNK_SAMPLES + 1], lab_off[CHUNK_SAMPLES + 1];
    uint64_t hash[CHUNK_SAMPLES];
    int32_t stack[CHUNK_SAMPLES]; /* interned stacks, when stacks_done */
    int stacks_done;
    size_t first, n; /* samples first .. first + n - 1 */
    int rc;          /* the reader's failure right after them, 0 = none */
    int last;        /* the reader stops after this chunk */
} __attribute__((aligned(64))) chunk;
_Static_assert(_Alignof(chunk) == 64 && sizeof(chunk) % 64 == 0, "a chunk owns its cache lines");

/* How far past the committer's end of the stack pool the helper faults the pool's pages
 * in, and the least it does at a time. */
#define POOL_AHEAD ((size_t)256 << 10)
#define POOL_AHEAD_STEP ((size_t)64 << 10)

/* One array of the stack pool (its location indices, or its offsets) that the helper
 * faults in ahead of the committer, who appends to it: a fresh page costs several
 * microseconds on a VM whose host backs guest memory lazily, and the heap profile's 262k
 * new stacks took the committing thread about 1,700 of them. Only for a pool reserved for
 * every stack to come (it does not move while the samples are read). */
typedef struct pool_ahead {
    uint8_t *base;        /* NULL: nothing to fault in */
    _Atomic size_t used;  /* bytes filled, as the committer last said */
    size_t start;         /* done when the read began */
    pg_pages_front front; /* the helper's */
} pool_ahead;

static _Atomic size_t pool_faulted;

/* Test hook: see pprof_decode_int.h. */
size_t pg_pprof_reader_pool_faulted(void)
{
    return pool_faulted;
}

/* The helper's side: its copy of the decoder, where it is in the input, the chunk it
 * fills. The calling thread sets `c` and reads the rest only between jobs. */
typedef struct reader {
    pg_pprof_dec d; /* the reader's copy of the decoder, with err below */
    char err[512];  /* the reader's error message */
    pg_pprof_header *h;
    pg_wire top;
    size_t next, n_types; /* the next sample to parse */
    chunk *c;             /* the chunk the job fills */
    int intern;           /* the job interns the chunk's stacks too (it owns the stack table) */
    pool_ahead pool[2];   /* the pool's location indices and offsets */
} reader;

/* Bytes filled of the pool's location indices (k = 0) or offsets (k = 1). */
static size_t pool_filled(const pg_stacks *st, int k)
{
    return k ? (st->n + 1) * sizeof *st->off : st->off[st->n] * st->width;
}

/* Sets a up over base[0..cap), of which `used` bytes are filled. */
static void pool_ahead_set(pool_ahead *a, uint8_t *base, size_t cap, size_t used)
{
    a->base = base;
    a->start = used;
    a->front = (pg_pages_front){cap, used, POOL_AHEAD, POOL_AHEAD_STEP};
    atomic_init(&a->used, used);
}

/* Sets up r->pool when the stack pool can take every stack of the h->n_samples to come
 * without growing (calling thread, before the first job). */
static void pool_ahead_init(reader *r, pg_batch *b, const pg_pprof_header *h, uint8_t width)
{
    if (!pg_dict_stack_room(b, h->n_samples, h->sample_bytes, width)) return;
    const pg_stacks *st = pg_dict_stacks(pg_batch_dict(b));
    pool_ahead_set(&r->pool[0], st->loc, st->cap_loc * st->width, pool_filled(st, 0));
    pool_ahead_set(&r->pool[1], (uint8_t *)st->off, st->cap * sizeof *st->off, pool_filled(st, 1));
}

/* Says how much of the pool is filled (calling thread, after committing a chunk). */
static void pool_ahead_publish(reader *r, pg_batch *b)
{
    if (!r->pool[0].base) return;
    const pg_stacks *st = pg_dict_stacks(pg_batch_dict(b));
    for (int k = 0; k < 2; k++)
        atomic_store_explicit(&r->pool[k].used, pool_filled(st, k), memory_order_relaxed);
}

/* Faults in up to POOL_AHEAD bytes past what the committer last said it filled (helper). */
static void pool_ahead_fault(pool_ahead *a)
{
    if (a->base)
        pg_pages_front_fault(&a->front, a->base,
                             atomic_load_explicit(&a->used, memory_order_relaxed));
}

/* Empties chunk c for samples from `first` on. */
static void chunk_reset(chunk *c, size_t first)
{
    c->first = first;
    c->n = 0;
    c->rc = 0;
    c->stacks_done = 0;
    c->loc_off[0] = c->lab_off[0] = 0;
    c->s.at_locs = c->s.at_vals = c->s.at_labels = 0;
}

/* Keeps the sample just parsed into c's scratch as its sample c->n. */
static void chunk_keep(chunk *c, uint8_t width, size_t n_types)
{
    size_t k = c->n++;
    pg_pprof_scratch *s = &c->s;
    c->hash[k] = pg_dict_stack_hash(s->locs + s->at_locs, s->nlocs, width);
    s->at_locs += s->nlocs * width;
    s->at_vals += n_types;
    s->at_labels += s->nl;
    c->loc_off[k + 1] = s->at_locs;
    c->lab_off[k + 1] = s->at_labels;
}

/* Interns the stacks of chunk c into the batch of decoder d, in order, every index slot
 * fetched first (the loads overlap). A failure cuts the chunk before its sample and
 * becomes the chunk's failure (message in d->err), ahead of any the reading met later. */
static void intern_stacks(pg_pprof_dec *d, chunk *c)
{
    uint8_t width = d->loc_width;
    for (size_t k = 0; k < c->n; k++)
        pg_dict_stack_prefetch_hash(d->b, c->hash[k], width);
    for (size_t k = 0; k < c->n; k++) {
        int32_t id =
            pg_dict_stack_hinted(d->b, c->s.locs + c->loc_off[k],
                                 (c->loc_off[k + 1] - c->loc_off[k]) / width, width, c->hash[k]);
        if (id < 0) {
            c->rc = pg_pprof_dec_mem(d, id);
            c->n = k;
            c->last = 1;
            break;
        }
        c->stack[k] = id;
    }
    c->stacks_done = 1;
}

/* The helper's job (pg_duo_run): parses the next samples into r->c. */
static void fill_chunk(void *arg)
{
    reader *r = arg;
    chunk *c = r->c;
    size_t n = r->h->n_samples;
    pg_wire sr;
    int more = 1;
    chunk_reset(c, r->next);
    while (c->n < CHUNK_SAMPLES && (more = r->next < n && next_sample(&r->top, &sr))) {
        int rc = pg_pprof_parse_sample(&r->d, sr, r->next, &c->s, r->n_types);
        if (rc) {
            c->rc = rc;
            break;
        }
        chunk_keep(c, r->d.loc_width, r->n_types);
        r->next++;
    }
    c->last = c->rc || !more || r->next == n;
    release_read(r->h, r->top.p, c->last);
    if (r->intern) {
        intern_stacks(&r->d, c); /* those read before a failure too */
    } else if (!c->last) {
        pool_ahead_fault(&r->pool[0]);
        pool_ahead_fault(&r->pool[1]);
    }
}

/* Commits chunk c's samples, then reports the reader's failure after them; returns the
 * first failure. v is the committer's scratch. */
static int commit_chunk(pg_pprof_dec *d, const reader *r, const chunk *c, pg_pprof_scratch *v,
                        pg_pprof_commit_fn commit, void *ctx)
{
    uint8_t width = d->loc_width;
    size_t n_types = r->n_types;
    int rc = 0;
    /* every index slot of the chunk is fetched first: the loads overlap */
    for (size_t k = 0; k < c->n && !c->stacks_done; k++)
        pg_dict_stack_prefetch_hash(d->b, c->hash[k], width);
    for (size_t k = 0; k < c->n && !rc; k++) {
        size_t nl = c->lab_off[k + 1] - c->lab_off[k];
        if (pg_vec_reserve((void **)&v->attrs, &v->cap_labels, nl, 4, 16))
            return pg_err(d->err, d->errlen, PG_ENOMEM, "pprof: out of memory");
        v->locs = c->s.locs + c->loc_off[k];
        v->nlocs = (c->loc_off[k + 1] - c->loc_off[k]) / width;
        v->vals = c->s.vals + k * n_types;
        v->lk = c->s.lk + c->lab_off[k];
        v->ls = c->s.ls + c->lab_off[k];
        v->ln = c->s.ln + c->lab_off[k];
        v->lu = c->s.lu + c->lab_off[k];
        v->nl = nl;
        v->stack_hash = c->hash[k];
        v->stack_done = c->stacks_done;
        v->stack_id = c->stacks_done ? c->stack[k] : 0;
        rc = commit(ctx, c->first + k, v);
    }
    if (!rc && c->rc) {
        rc = c->rc;
        if (d->err && d->errlen) snprintf(d->err, d->errlen, "%s", r->err);
    }
    return rc;
}

/* Whether the reader should intern the stacks, judged on the first chunk c: when samples
 * carry more than 1.5 labels on average, turning them into attributes
 * keeps this thread busier than reading keeps the reader, and the stacks even the two
 * out (a heap profile with a label per sample and a new stack per sample stays as it is).
 * Only when the stack table can take every stack to come without the pool growing: the
 * reader may not allocate from the batch's arena while this thread does. */
static int reader_interns(pg_pprof_dec *d, const reader *r, const chunk *c)
{
    if (c->rc || c->last || !c->n) return 0;
    size_t labels = c->lab_off[c->n];
    if (labels * 2 <= c->n * 3) return 0;
    return pg_dict_stack_room(d->b, r->h->n_samples - c->first, r->h->sample_bytes, d->loc_width);
}

/* Two chunks take turns: the helper fills one while this thread commits the other. With
 * reader_interns, the helper interns the stacks of the chunk it fills as well: it then
 * owns the stack table (the two threads' turns keep the order of first appearance). */
static int commit_chunks(pg_pprof_dec *d, reader *r, pg_duo *duo, pg_pprof_commit_fn commit,
                         void *ctx)
{
    chunk c[2];
    memset(c, 0, sizeof c);
    pg_pprof_scratch v;
    memset(&v, 0, sizeof v);
    r->c = &c[0];
    pg_duo_run(duo, fill_chunk, r);
    pg_duo_wait(duo);
    if (reader_interns(d, r, &c[0])) { /* from the next chunk on: this one's stacks first */
        if (!c[0].rc) intern_stacks(&r->d, &c[0]); /* (failing, as the reader would) */
        r->intern = 1;
    }
    int rc = 0;
    size_t by_helper = 0;
    for (size_t k = 0;; k++) {
        chunk *cur = &c[k & 1];
        int last = cur->last;
        by_helper += k > 0 && cur->stacks_done;
        if (!last) {
            r->c = &c[(k + 1) & 1];
            pg_duo_run(duo, fill_chunk, r);
        }
        rc = commit_chunk(d, r, cur, &v, commit, ctx);
        pool_ahead_publish(r, d->b);
        if (!last) pg_duo_wait(duo); /* the helper reads on even after a failure here */
        if (rc || last) break;
    }
    helper_chunks = by_helper;
    free(v.attrs);
    pg_pprof_scratch_free(&c[0].s);
    pg_pprof_scratch_free(&c[1].s);
    return rc;
}

/* Two threads: the helper reads, this one commits. Sets *ran to 0 when no thread could be
 * started (nothing was read then). */
static int read_threaded(pg_pprof_dec *d, pg_pprof_header *h, pg_wire top, size_t n_types,
                         pg_pprof_commit_fn commit, void *ctx, int *ran)
{
    *ran = 0;
    reader *r = calloc(1, sizeof *r);
    pg_duo *duo = r ? pg_duo_start() : NULL;
    if (!duo) {
        free(r);
        return 0;
    }
    r->d = *d;
    r->d.err = r->err;
    r->d.errlen = sizeof r->err;
    r->h = h;
    r->top = top;
    r->n_types = n_types;
    pool_ahead_init(r, d->b, h, d->loc_width);
    int rc = commit_chunks(d, r, duo, commit, ctx);
    pool_faulted =
        r->pool[0].front.done - r->pool[0].start + r->pool[1].front.done - r->pool[1].start;
    *ran = 1;
    pg_duo_stop(duo);
    free(r);
    return rc;
}

/* See pprof_decode_int.h. */
int pg_pprof_read_samples(pg_pprof_dec *d, pg_pprof_header *h, pg_wire top, size_t n_types,
                          pg_pprof_commit_fn commit, void *ctx)
{
    if (pg_two_threads_worth(&policy, h->n_samples)) {
        int ran, rc = read_threaded(d, h, top, n_types, commit, ctx, &ran);
        if (ran) return rc;
    }
    return read_inline(d, h, top, n_types, commit, ctx);
}
