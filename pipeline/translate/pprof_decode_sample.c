/* pprof -> OTLP: reads one Sample message (location ids resolved to dictionary indices,
 * values, labels) into scratch vectors; interning is the caller's (pprof_decode_profiles.c). */
#include "pipeline/translate/pprof_decode_int.h"
#include "pipeline/translate/pprof_tables.h"
#include "pipeline/core/err.h"
#include "pipeline/core/stacks.h"
#include "pipeline/core/vec.h"

#include <stdlib.h>
#include <string.h>

/* Frees the vectors (the struct is the caller's). */
void pg_pprof_scratch_free(pg_pprof_scratch *s)
{
    free(s->locs);
    free(s->vals);
    free(s->lk);
    free(s->ls);
    free(s->ln);
    free(s->lu);
    free(s->attrs);
}

/* Makes room for `need` labels in every label vector. */
static int grow_labels(pg_pprof_scratch *s, size_t need)
{
    if (need <= s->cap_labels) return 0;
    size_t c = s->cap_labels;
    size_t c2 = c, c3 = c, c4 = c, c5 = c;
    if (pg_vec_reserve((void **)&s->lk, &c, need, 8, 16) ||
        pg_vec_reserve((void **)&s->ls, &c2, need, 8, 16) ||
        pg_vec_reserve((void **)&s->ln, &c3, need, 8, 16) ||
        pg_vec_reserve((void **)&s->lu, &c4, need, 8, 16) ||
        pg_vec_reserve((void **)&s->attrs, &c5, need, 4, 16))
        return PG_ENOMEM;
    s->cap_labels = c;
    return 0;
}

/* Reports sample i as malformed (out of line: the reader's loops stay small). */
static __attribute__((noinline, cold)) int malformed(pg_pprof_dec *d, size_t i)
{
    return pg_err(d->err, d->errlen, PG_EINVAL, "pprof: malformed sample %zu", i);
}

/* The varints of one repeated field of sample i: a packed field's payload (r moves past
 * it), or, unpacked, r itself (the caller reads one varint and moves r). */
static inline int repeated_payload(pg_pprof_dec *d, pg_wire *r, int wt, pg_wire *out, size_t i)
{
    if (wt == PG_WT_VARINT) {
        *out = *r;
        return 0;
    }
    if (wt == PG_WT_LEN && !pg_wire_len(r, out)) return 0;
    return malformed(d, i);
}

/* Reads the location ids of one field 1 (packed or not), appends their dictionary
 * indices to the stack probe at s->at_locs, d->loc_width bytes each, and marks them in
 * d->reached. */
static int read_locations(pg_pprof_dec *d, pg_wire *r, int wt, pg_pprof_scratch *s, size_t *n,
                          size_t i)
{
    pg_wire ids;
    if (repeated_payload(d, r, wt, &ids, i)) return PG_EINVAL;
    size_t most = wt == PG_WT_LEN ? (size_t)(ids.end - ids.p) : 1; /* at least a byte each */
    size_t max = d->lim->max_stack_depth;
    if (pg_vec_reserve((void **)&s->locs, &s->cap_locs, s->at_locs + (*n + most) * 4, 1, 16))
        return pg_err(d->err, d->errlen, PG_ENOMEM, "pprof: out of memory");
    uint8_t *locs = s->locs + s->at_locs;
    const int32_t *dense = d->locations.dense;
    size_t n_dense = d->locations.n_dense, k = *n;
    int identity = d->locations.identity;
    uint8_t w = d->loc_width, *reached = d->reached;
    if (w == 1 && wt == PG_WT_LEN && (!max || k + most <= max)) {
        /* the common case: one-byte ids of a table below 256 locations */
        /* the end in a local: the byte stores below could alias ids were it in memory */
        const uint8_t *p = ids.p, *end = ids.end;
        for (; p < end; p++) {
            int32_t ix;
            if (*p >= 0x80 || *p >= n_dense || (ix = dense[*p]) < 0) break;
            locs[k++] = (uint8_t)ix;
            pg_pprof_reach(reached, (size_t)ix);
        }
        ids.p = p;
        if (p == end) {
            *n = k;
            return 0;
        }
    }
    for (int once = 1; wt == PG_WT_LEN ? ids.p < ids.end : once; once = 0) {
        uint64_t id;
        if (pg_wire_varint(&ids, &id)) return malformed(d, i);
        int32_t ix;
        if (id == 0)
            return pg_err(d->err, d->errlen, PG_EINVAL, "pprof: sample refers to location id 0");
        if (identity && id < n_dense)
            ix = (int32_t)id;
        else if (id < n_dense && dense[id] >= 0)
            ix = dense[id];
        else if (pg_pprof_dec_ref(d, &d->locations, "location", id, &ix))
            return PG_EINVAL;
        if (max && k >= max)
            return pg_err(d->err, d->errlen, PG_ELIMIT,
                          "pprof: sample %zu is deeper than the limit of %zu locations", i, max);
        pg_stack_put(locs, k, w, ix);
        pg_pprof_reach(reached, (size_t)ix);
        k++;
    }
    if (wt == PG_WT_VARINT) *r = ids;
    *n = k;
    return 0;
}

/* Reads the values of one field 2 (packed or not) into s->vals at s->at_vals, after the *n
 * already read. */
static int read_values(pg_pprof_dec *d, pg_wire *r, int wt, pg_pprof_scratch *s, size_t *n,
                       size_t i)
{
    pg_wire v = {NULL, NULL};
    if (repeated_payload(d, r, wt, &v, i)) return PG_EINVAL;
    size_t want = *n + (wt == PG_WT_LEN ? (size_t)(v.end - v.p) : 1); /* a byte each at least */
    if (pg_vec_reserve((void **)&s->vals, &s->cap_vals, s->at_vals + (want < 65536 ? want : 65536),
                       8, 16))
        return pg_err(d->err, d->errlen, PG_ENOMEM, "pprof: out of memory");
    int64_t *vals = s->vals + s->at_vals;
    size_t k = *n;
    /* the cursor in locals: the stores into vals could alias it were it in memory */
    const uint8_t *p = v.p, *end = v.end;
    for (int once = 1; wt == PG_WT_LEN ? p < end : once; once = 0) {
        if (k >= 65536) /* more values than any sample type list allows */
            return pg_err(d->err, d->errlen, PG_EINVAL,
                          "pprof: sample %zu has more than 65536 values", i);
        uint64_t x;
        if (!(p = pg_wire_varint_at(p, end, &x))) return malformed(d, i);
        vals[k++] = (int64_t)x;
    }
    if (wt == PG_WT_VARINT) r->p = p;
    *n = k;
    return 0;
}

/* Decodes one Label message [p, end) into the scratch arrays at position i; PG_EINVAL
 * when malformed. */
static int decode_label(const uint8_t *p, const uint8_t *end, pg_pprof_scratch *s, size_t i)
{
    uint64_t v[5] = {0};
    while (p < end) {
        uint8_t t = *p;
        if (t >= 0x08 && t <= 0x20 && (t & 7) == PG_WT_VARINT) { /* fields 1-4, varints */
            if (!(p = pg_wire_varint_at(p + 1, end, &v[t >> 3]))) return PG_EINVAL;
            continue;
        }
        pg_wire r = {p, end};
        uint32_t f;
        int wt;
        if (pg_wire_tag(&r, &f, &wt) != 1) return PG_EINVAL;
        if (f >= 1 && f <= 4) { /* a tag written in more bytes than it needs */
            if (wt != PG_WT_VARINT || pg_wire_varint(&r, &v[f])) return PG_EINVAL;
        } else if (pg_wire_skip(&r, wt)) {
            return PG_EINVAL;
        }
        p = r.p;
    }
    s->lk[i] = (int64_t)v[1];
    s->ls[i] = (int64_t)v[2];
    s->ln[i] = (int64_t)v[3];
    s->lu[i] = (int64_t)v[4];
    return 0;
}

/* Reads sample number i (slice r) into s at its `at_*` offsets: reads d's tables and limits
 * and writes only s, d->reached and d->err, so a thread with its own copy of d (with its
 * own error buffer) may run it while the owner of d commits samples, which touches
 * neither. */
int pg_pprof_parse_sample(pg_pprof_dec *d, pg_wire r, size_t i, pg_pprof_scratch *s, size_t n_types)
{
    size_t nlocs = 0, nvals = 0, nl = 0;
    uint32_t f;
    int wt, rc;
    while ((rc = pg_wire_tag(&r, &f, &wt)) == 1) {
        if (f == 1) {
            if ((rc = read_locations(d, &r, wt, s, &nlocs, i))) return rc;
        } else if (f == 2) {
            if ((rc = read_values(d, &r, wt, s, &nvals, i))) return rc;
        } else if (f == 3) {
            pg_wire lr;
            if (d->lim->max_labels && nl >= d->lim->max_labels)
                return pg_err(d->err, d->errlen, PG_ELIMIT,
                              "pprof: sample %zu has more than %zu labels", i, d->lim->max_labels);
            if (grow_labels(s, s->at_labels + nl + 1))
                return pg_err(d->err, d->errlen, PG_ENOMEM, "pprof: out of memory");
            if (wt != PG_WT_LEN || pg_wire_len(&r, &lr) ||
                decode_label(lr.p, lr.end, s, s->at_labels + nl))
                return malformed(d, i);
            nl++;
        } else if (pg_wire_skip(&r, wt)) {
            return malformed(d, i);
        }
    }
    if (rc < 0) return malformed(d, i);
    if (nvals != n_types)
        return pg_err(d->err, d->errlen, PG_EINVAL,
                      "pprof: sample %zu has %zu values for %zu sample types", i, nvals, n_types);
    s->nlocs = nlocs;
    s->nl = nl;
    return 0;
}
