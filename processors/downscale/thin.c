/* Thinning one group of profiles (see downscale_int.h): new values per member and sample,
 * then the trim, then new columns through pg_samples_builder. */
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/core/vec.h"
#include "processors/downscale/downscale_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* New rows of one member: values and timestamps per sample (malloc-owned vectors). */
typedef struct rows {
    uint32_t *val_off, *ts_off; /* n + 1 each */
    int64_t *vals;
    uint64_t *ts;
    size_t n_vals, cap_vals, n_ts, cap_ts;
} rows;

static void rows_free(rows *r)
{
    free(r->val_off);
    free(r->ts_off);
    free(r->vals);
    free(r->ts);
}

static int push_val(rows *r, int64_t v)
{
    if (PG_VEC_RESERVE(r->vals, r->cap_vals, r->n_vals + 1, 64)) return PG_ENOMEM;
    r->vals[r->n_vals++] = v;
    return 0;
}

static int push_ts(rows *r, uint64_t t)
{
    if (PG_VEC_RESERVE(r->ts, r->cap_ts, r->n_ts + 1, 64)) return PG_ENOMEM;
    r->ts[r->n_ts++] = t;
    return 0;
}

/* Binomial thinning of a signed count. */
static int64_t thin_count(pg_ds_rng *rng, int64_t c, double p)
{
    return c < 0 ? -pg_ds_binomial(rng, -c, p) : pg_ds_binomial(rng, c, p);
}

/* Horvitz-Thompson: v / p with probability p, else 0. */
static int64_t scale_value(pg_ds_rng *rng, int64_t v, double p)
{
    if (pg_ds_rng_uniform(rng) >= p) return 0;
    return (int64_t)llround((double)v / p);
}

/* v rescaled from (c events at `period`) to (k events at `new_period`): stays k x
 * new_period when v was c x period. */
static int64_t rescale(int64_t v, int64_t c, int64_t k, const pg_ds_group *g)
{
    if (g->period > 0 && v == c * g->period) return k * g->new_period;
    long double x = (long double)v * (long double)k * (long double)g->new_period /
                    ((long double)c * (long double)g->period);
    return (int64_t)llroundl(x);
}

/* One value of a profile alone: its count when it is the count unit, else the count it
 * stands for at `period` (when a multiple of it), else scaled (Horvitz-Thompson). */
static int64_t thin_alone(const pg_ds_group *g, pg_ds_rng *rng, int64_t v, int is_count)
{
    if (g->mode == PG_DS_KEEP || v == 0) return v;
    if (g->mode == PG_DS_SCALE) return scale_value(rng, v, g->p);
    if (is_count) return thin_count(rng, v, g->p);
    if (g->period > 0 && v % g->period == 0)
        return thin_count(rng, v / g->period, g->p) * g->new_period;
    return scale_value(rng, v, g->p);
}

/* Sample i of positional members: one draw for the count, the other values rescaled. */
static void thin_positional(const pg_ds_group *g, pg_ds_rng *rng, size_t i, int64_t *out)
{
    size_t M = g->n_members, cm = g->count_member;
    int64_t c = 0;
    int known = 0;
    if (cm < M) {
        c = pg_sample_value(g->members[cm], i, 0);
        known = c != 0;
    } else {
        int64_t v0 = pg_sample_value(g->members[0], i, 0);
        if (g->period > 0 && v0 % g->period == 0 && v0 != 0) {
            c = v0 / g->period;
            known = 1;
        }
    }
    if (g->mode == PG_DS_THIN && known) {
        int64_t k = thin_count(rng, c, g->p);
        for (size_t m = 0; m < M; m++)
            out[m] = m == cm ? k : rescale(pg_sample_value(g->members[m], i, 0), c, k, g);
        return;
    }
    /* SCALE, or no count to thin: one coin for the whole sample */
    int kept = g->mode == PG_DS_KEEP || pg_ds_rng_uniform(rng) < g->p;
    for (size_t m = 0; m < M; m++) {
        int64_t v = pg_sample_value(g->members[m], i, 0);
        out[m] = g->mode == PG_DS_KEEP ? v : kept ? (int64_t)llround((double)v / g->p) : 0;
    }
}

/* Sample i of a profile alone, any shape: values per timestamp thinned one by one (a
 * timestamp whose value reaches zero goes), one count over n timestamps thinned per
 * timestamp, other values one by one with the timestamps kept. Returns 1 when something
 * remains. */
static int thin_row(const pg_ds_group *g, pg_ds_rng *rng, size_t i, int is_count, rows *r,
                    int *fail)
{
    pg_sample_ref s;
    pg_samples_at(&g->members[0]->samples, i, &s);
    int any = 0;
    if (s.n_ts && s.n_values == s.n_ts) {
        for (size_t j = 0; j < s.n_ts; j++) {
            int64_t v = thin_alone(g, rng, s.values[j], is_count);
            if (v == 0 && g->mode != PG_DS_KEEP) continue;
            *fail |= push_val(r, v) | push_ts(r, s.ts[j]);
            any = 1;
        }
    } else if (s.n_ts && s.n_values == 1 && is_count && s.values[0] == (int64_t)s.n_ts &&
               g->mode == PG_DS_THIN) {
        int64_t kept = 0;
        for (size_t j = 0; j < s.n_ts; j++)
            if (pg_ds_rng_uniform(rng) < g->p) {
                *fail |= push_ts(r, s.ts[j]);
                kept++;
            }
        if (kept) *fail |= push_val(r, kept);
        any = kept > 0;
    } else {
        size_t v0 = r->n_vals, t0 = r->n_ts;
        for (size_t j = 0; j < s.n_values; j++) {
            int64_t v = thin_alone(g, rng, s.values[j], is_count);
            any |= v != 0;
            *fail |= push_val(r, v);
        }
        for (size_t j = 0; j < s.n_ts; j++)
            *fail |= push_ts(r, s.ts[j]);
        if (g->mode == PG_DS_KEEP) any = 1;
        if (!any) r->n_vals = v0, r->n_ts = t0;
    }
    return any;
}

/* Builds member m's columns from the kept samples, new values and stacks. */
static int build(pg_batch *b, const pg_ds_group *g, size_t m, const uint8_t *keep,
                 const int32_t *stacks, const int64_t *single, const rows *r)
{
    pg_profile *p = g->members[m];
    size_t n = p->samples.n, M = g->n_members;
    pg_samples_builder sb = {0};
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (!keep[i]) continue;
        pg_sample_ref s;
        pg_samples_at(&p->samples, i, &s);
        s.stack = stacks[i];
        if (r) {
            s.values = r->vals + r->val_off[i];
            s.n_values = r->val_off[i + 1] - r->val_off[i];
            s.ts = r->ts + r->ts_off[i];
            s.n_ts = r->ts_off[i + 1] - r->ts_off[i];
        } else {
            s.value1 = single[i * M + m];
            s.values = &s.value1;
            s.n_values = 1;
        }
        rc = pg_samples_builder_add(&sb, &s);
    }
    const pg_samples *like = m > 0 ? &g->members[0]->samples : NULL;
    if (!rc && pg_samples_builder_finish(&sb, pg_batch_arena(b), &p->msg, like))
        rc = pg_arena_status(pg_batch_arena(b));
    pg_samples_builder_free(&sb);
    return rc;
}

/* Phase 1 (values), phase 2 (trim), phase 3 (columns); see downscale_int.h. */
int pg_ds_group_apply(pg_batch *b, const pg_ds_group *g, pg_ds_rng *rng, pg_ds_counts *counts,
                      char *err, size_t errlen)
{
    size_t M = g->n_members, n = g->members[0]->samples.n;
    if (n == 0 || (g->mode == PG_DS_KEEP && g->trim <= 0)) return 0;
    int positional = M > 1, fail = 0, rc = 0;
    uint8_t *keep = malloc(n);
    int32_t *stacks = malloc(n * sizeof *stacks);
    int64_t *w = malloc(n * sizeof *w);
    int64_t *single = positional ? malloc(n * M * sizeof *single) : NULL;
    rows r = {0};
    if (!positional) {
        r.val_off = malloc((n + 1) * sizeof *r.val_off);
        r.ts_off = malloc((n + 1) * sizeof *r.ts_off);
    }
    if (!keep || !stacks || !w || (positional ? !single : !r.val_off || !r.ts_off)) {
        rc = PG_ENOMEM;
        goto out;
    }
    size_t wm = g->count_member < M ? g->count_member : 0;
    int is_count = g->count_member == 0;
    uint64_t removed = 0;
    for (size_t i = 0; i < n; i++) {
        stacks[i] = g->members[0]->samples.stack[i];
        if (positional) {
            thin_positional(g, rng, i, single + i * M);
            int any = g->mode == PG_DS_KEEP;
            for (size_t m = 0; m < M; m++)
                any |= single[i * M + m] != 0;
            keep[i] = (uint8_t)any;
            w[i] = llabs(single[i * M + wm]);
        } else {
            r.val_off[i] = (uint32_t)r.n_vals;
            r.ts_off[i] = (uint32_t)r.n_ts;
            keep[i] = (uint8_t)thin_row(g, rng, i, is_count, &r, &fail);
            int64_t s = 0;
            for (size_t j = r.val_off[i]; j < r.n_vals; j++)
                s += llabs(r.vals[j]);
            w[i] = s;
        }
        removed += !keep[i];
    }
    if (!positional) {
        r.val_off[n] = (uint32_t)r.n_vals;
        r.ts_off[n] = (uint32_t)r.n_ts;
    }
    if (fail) {
        rc = PG_ENOMEM;
        goto out;
    }
    if (g->trim > 0 &&
        (rc = pg_ds_trim(b, &g->members[0]->samples, w, keep, g->trim, stacks, &counts->trimmed)))
        goto out;
    for (size_t m = 0; m < M && !rc; m++)
        rc = build(b, g, m, keep, stacks, single, positional ? NULL : &r);
    if (!rc && g->mode == PG_DS_THIN)
        for (size_t m = 0; m < M; m++)
            g->members[m]->msg.period = g->new_period;
    counts->removed += removed;
out:
    free(keep);
    free(stacks);
    free(w);
    free(single);
    rows_free(&r);
    if (rc) return pg_err(err, errlen, rc, "downscale: %s", pg_status_name(rc));
    return 0;
}
