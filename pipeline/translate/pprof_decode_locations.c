/* pprof -> OTLP: the location table. Each Location is read (its lines' function ids and its
 * mapping id resolved), copied into the batch and interned, in the table's order.
 *
 * A large table, when the process may use two CPUs, is read by two threads: a helper
 * (pipeline/core/duo.c) reads the last part of the table and builds each location's copy
 * in an arena of its own, with its hash, while the calling thread reads, builds and interns
 * the first part; then the calling thread interns the helper's copies in order (a copy that
 * turns out equal to an earlier location is dropped, as a lookup would), and the helper's
 * arena joins the batch's. The helper only reads the decoder's id maps, and writes its own
 * arena, arrays and error buffer; the batch is the calling thread's. A folded location
 * needs an attribute interned first, so the calling thread reads it again itself. The
 * table and its failures come out as one thread makes them. */
#include "pipeline/translate/pprof_decode_int.h"
#include "pipeline/translate/semconv.h"
#include "pipeline/core/arena.h"
#include "pipeline/core/cpus.h"
#include "pipeline/core/dict.h"
#include "pipeline/core/duo.h"
#include "pipeline/core/err.h"
#include "pipeline/core/vec.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tables with fewer locations are read by one thread (at 4096 since the sample reader's
 * chunks stopped sharing a cache line: busy_medium's 8400 locations 0.25 ms faster on two
 * threads in 41 interleaved runs, where before the start and hand-overs cost what they
 * saved). */
#define THREAD_MIN_LOCATIONS 4096
/* The calling thread reads this share (in 1/100) of the table, the helper the rest: the
 * caller interns all of it too, but building the copies costs several times more. */
#define CALLER_PERCENT 45

static pg_two_threads policy = {THREAD_MIN_LOCATIONS, THREAD_MIN_LOCATIONS, 0};

/* Test hook: see pprof_decode_int.h. */
void pg_pprof_locations_set_thread(size_t min_locations, int force)
{
    pg_two_threads_set(&policy, min_locations, force);
}

static _Atomic size_t last_split;

/* Test hook: see pprof_decode_int.h. */
size_t pg_pprof_locations_last_split(void)
{
    return last_split;
}

/* Lines of the location being read (reused from one location to the next; malloc-owned). */
typedef struct line_scratch {
    pg_otlp_line *lines;
    pg_otlp_line **ptr;
    size_t cap;
} line_scratch;

static void line_scratch_free(line_scratch *s)
{
    free(s->lines);
    free(s->ptr);
}

/* Decodes one Line message into l. Returns 0, 1 when the message is malformed (the caller
 * says where), or a negative status with the message already in d->err. */
static int decode_line(pg_pprof_dec *d, pg_wire r, pg_otlp_line *l)
{
    uint64_t v[4] = {0};
    uint32_t f;
    int wt, rc;
    while ((rc = pg_wire_tag(&r, &f, &wt)) == 1) {
        if (f >= 1 && f <= 3) {
            if (wt != PG_WT_VARINT || pg_wire_varint(&r, &v[f])) return 1;
        } else if (pg_wire_skip(&r, wt))
            return 1;
    }
    if (rc < 0) return 1;
    if ((rc = pg_pprof_dec_ref(d, &d->functions, "function", v[1], &l->function_index))) return rc;
    l->line = (int64_t)v[2];
    l->column = (int64_t)v[3];
    return 0;
}

/* Reads location i (slice r) into *l, its lines in sc (valid until the next call), its id
 * into *id and whether it is folded into *folded; the mapping id is resolved. Touches only
 * d's id maps and error buffer. Returns 0 or a negative status (message in d->err). */
static int read_location(pg_pprof_dec *d, pg_wire r, size_t i, line_scratch *sc,
                         pg_otlp_location *l, uint64_t *id, int *folded)
{
    uint64_t mapping = 0, address = 0, fold = 0;
    size_t nl = 0;
    uint32_t f;
    int wt, t;
    *id = 0;
    while ((t = pg_wire_tag(&r, &f, &wt)) == 1) {
        uint64_t *dst = f == 1 ? id : f == 2 ? &mapping : f == 3 ? &address : f == 5 ? &fold : NULL;
        if (dst) {
            if (wt != PG_WT_VARINT || pg_wire_varint(&r, dst)) t = PG_EINVAL;
        } else if (f == 4) {
            pg_wire lr;
            if (wt != PG_WT_LEN || pg_wire_len(&r, &lr)) {
                t = PG_EINVAL;
            } else {
                size_t cap_lines = sc->cap; /* lines and ptr share cap */
                if (PG_VEC_RESERVE(sc->lines, cap_lines, nl + 1, 8) ||
                    PG_VEC_RESERVE(sc->ptr, sc->cap, nl + 1, 8))
                    return pg_err(d->err, d->errlen, PG_ENOMEM, "pprof: out of memory");
                static const pg_otlp_line init =
                    OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINE__INIT;
                sc->lines[nl] = init;
                int lr_rc = decode_line(d, lr, &sc->lines[nl]);
                if (lr_rc < 0) return lr_rc;
                if (lr_rc) t = PG_EINVAL;
                nl++;
            }
        } else if (pg_wire_skip(&r, wt))
            t = PG_EINVAL;
        if (t < 0) break;
    }
    if (t < 0) return pg_err(d->err, d->errlen, PG_EINVAL, "pprof: malformed location[%zu]", i);
    static const pg_otlp_location init =
        OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LOCATION__INIT;
    *l = init;
    int rc = pg_pprof_dec_ref(d, &d->mappings, "mapping", mapping, &l->mapping_index);
    if (rc) return rc;
    l->address = address;
    for (size_t k = 0; k < nl; k++)
        sc->ptr[k] = &sc->lines[k];
    l->lines = sc->ptr;
    l->n_lines = nl;
    *folded = fold != 0;
    return 0;
}

/* Notes location i's dictionary index idx under its pprof id. */
static int record(pg_pprof_dec *d, uint64_t id, int32_t idx)
{
    int rc = pg_pprof_dec_map_id(d, &d->locations, "location", id, idx);
    if (!rc) d->src_loc[d->n_src_loc++] = idx;
    return rc;
}

/* Reads and interns location i on the calling thread. */
static int decode_one(pg_pprof_dec *d, pg_wire r, size_t i, line_scratch *sc)
{
    pg_otlp_location l;
    uint64_t id;
    int folded, rc = read_location(d, r, i, sc, &l, &id, &folded);
    if (rc) return rc;
    int32_t attr = 0;
    if (folded) {
        if ((attr = pg_dict_attr_bool(d->b, PG_SC_IS_FOLDED, 1)) < 0)
            return pg_pprof_dec_mem(d, attr);
        l.attribute_indices = &attr;
        l.n_attribute_indices = 1;
    }
    int32_t idx = pg_dict_location(d->b, &l);
    if (idx < 0) return pg_pprof_dec_mem(d, idx);
    return record(d, id, idx);
}

/* The helper's part: locations [lo, hi), read and built in its own arena. */
typedef struct part {
    pg_pprof_dec d;           /* the helper's copy of the decoder, with err below */
    char err[512];            /* its error message */
    const pg_wire *v;         /* the table's slices */
    size_t lo, hi, failed;    /* failed: the location it stopped at (hi: none) */
    int rc;                   /* its failure, or 0 */
    pg_arena *arena;          /* where the copies live until they join the batch's */
    pg_otlp_location **built; /* per location: the copy, or NULL for a folded one */
    uint64_t *hash, *id;      /* per location */
} part;

/* Frees p and its arrays (its arena is the caller's to free or absorb). */
static void part_free(part *p)
{
    if (!p) return;
    free(p->built);
    free(p->hash);
    free(p->id);
    free(p);
}

/* pg_duo_fn: reads and builds the part's locations, stopping at the first failure. */
static void build_part(void *arg)
{
    part *p = arg;
    line_scratch sc = {0};
    for (size_t i = p->lo; i < p->hi; i++) {
        pg_otlp_location l;
        int folded;
        size_t k = i - p->lo;
        p->rc = read_location(&p->d, p->v[i], i, &sc, &l, &p->id[k], &folded);
        if (!p->rc && !folded && !(p->built[k] = pg_dict_location_build(p->arena, &l, &p->hash[k])))
            p->rc = pg_pprof_dec_mem(&p->d, pg_arena_status(p->arena));
        if (p->rc) {
            p->failed = i;
            break;
        }
    }
    line_scratch_free(&sc);
}

/* Interns the helper's locations in order after the caller's, up to its failure. */
static int intern_part(pg_pprof_dec *d, const part *p, line_scratch *sc)
{
    for (size_t i = p->lo; i < p->hi; i++) {
        size_t k = i - p->lo;
        if (i == p->failed) {
            snprintf(d->err, d->errlen, "%s", p->err);
            return p->rc;
        }
        if (!p->built[k]) { /* folded: read again here */
            int rc = decode_one(d, p->v[i], i, sc);
            if (rc) return rc;
            continue;
        }
        int32_t idx = pg_dict_location_built(d->b, p->built[k], p->hash[k]);
        if (idx < 0) return pg_pprof_dec_mem(d, idx);
        int rc = record(d, p->id[k], idx);
        if (rc) return rc;
    }
    return 0;
}

/* Two threads, when they are worth it and the batch has room for the helper's copies
 * twice over; returns 1 when it ran (status in *rc), 0 to leave the table to one thread. */
static int decode_two(pg_pprof_dec *d, const pg_wire *v, size_t n, line_scratch *sc, int *rc)
{
    if (!pg_two_threads_worth(&policy, n)) return 0;
    size_t mid = n * CALLER_PERCENT / 100, bytes = 0;
    for (size_t i = mid; i < n; i++)
        bytes += (size_t)(v[i].end - v[i].p);
    pg_arena *batch = pg_batch_arena(d->b);
    /* a copy takes about 8 times its wire bytes: room for twice that */
    if (pg_arena_room(batch) / 16 < bytes) return 0;
    part *p = calloc(1, sizeof *p);
    size_t m = n - mid;
    if (p) {
        p->built = calloc(m, sizeof *p->built);
        p->hash = malloc(m * sizeof *p->hash);
        p->id = malloc(m * sizeof *p->id);
        p->arena = pg_arena_new(0);
    }
    pg_duo *duo = p && p->built && p->hash && p->id && p->arena ? pg_duo_start() : NULL;
    if (!duo) {
        if (p) pg_arena_free(p->arena);
        part_free(p);
        return 0;
    }
    p->d = *d;
    p->d.err = p->err;
    p->d.errlen = sizeof p->err;
    p->v = v;
    p->lo = mid;
    p->hi = p->failed = n;
    last_split = m;
    pg_duo_run(duo, build_part, p);
    *rc = 0;
    for (size_t i = 0; i < mid && !*rc; i++)
        *rc = decode_one(d, v[i], i, sc);
    pg_duo_stop(duo); /* waits for the part */
    if (!*rc) *rc = intern_part(d, p, sc);
    /* the copies join the batch, interned or not (memory it is charged for either way) */
    int arc = pg_arena_absorb(batch, p->arena);
    if (arc && !*rc) *rc = pg_pprof_dec_mem(d, arc);
    part_free(p);
    return 1;
}

/* See pprof_decode_int.h. */
int pg_pprof_decode_locations(pg_pprof_dec *d, const pg_wire *v, size_t n)
{
    line_scratch sc = {0};
    int rc = 0;
    last_split = 0;
    if (!decode_two(d, v, n, &sc, &rc))
        for (size_t i = 0; i < n && !rc; i++)
            rc = decode_one(d, v[i], i, &sc);
    line_scratch_free(&sc);
    return rc;
}
