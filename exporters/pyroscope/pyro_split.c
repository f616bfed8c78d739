/* One translator group as pprofs that fit Pyroscope's max_samples and max_profile_size
 * (see pyroscope_int.h): the group is tried whole; over a limit, the samples whose values
 * are all 0 are left out (Pyroscope's ingest drops them, and a split by position would
 * otherwise send parts holding nothing else), then the sample positions are cut into
 * equal ranges, each encoded (uncompressed) and measured, cut again while over a limit.
 * A range is shown to the encoder by giving each profile the kept samples' columns
 * (pg_profile_keep writes new columns and leaves the old ones in the arena), and the
 * base columns are put back afterwards. */
#include "exporters/pyroscope/pyroscope_int.h"

#include "pipeline/core/decompress.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/core/samples.h"
#include "pipeline/core/vec.h"

#include <stdlib.h>
#include <string.h>

typedef struct split {
    pg_batch *b;
    const pg_pprof_group *g;
    const pyro_limits *l;
    const pg_cfg_strmap *ext;
    pyro_series_vec *out;
    pyro_limit_counts *cnt;
    pg_samples *base; /* each profile's columns the ranges are cut from */
    uint8_t *keep;    /* scratch mask */
    size_t n;         /* positions: the most samples a profile of the group holds */
    char *err;
    size_t errlen;
} split;

/* Profile k of the group, writable (the batch is the caller's own). */
static pg_profile *prof(const split *s, size_t k)
{
    return pg_profile_of((pg_otlp_profile *)(uintptr_t)s->g->profiles[k]);
}

/* Puts the base columns back. */
static void show_base(split *s)
{
    for (size_t k = 0; k < s->g->n_profiles; k++)
        prof(s, k)->samples = s->base[k];
}

/* Samples one pprof of positions [lo, hi) holds: hi - lo when the profiles correspond by
 * position, else the sum over the profiles. */
static size_t range_samples(const split *s, size_t lo, size_t hi)
{
    if (s->g->positional) return hi - lo;
    size_t t = 0;
    for (size_t k = 0; k < s->g->n_profiles; k++)
        if (s->base[k].n > lo) t += (s->base[k].n < hi ? s->base[k].n : hi) - lo;
    return t;
}

/* Gives every profile the samples [lo, hi) of its base columns. 0 or a status. */
static int show_range(split *s, size_t lo, size_t hi)
{
    for (size_t k = 0; k < s->g->n_profiles; k++) {
        pg_profile *p = prof(s, k);
        p->samples = s->base[k];
        if (lo == 0 && hi >= p->samples.n) continue;
        for (size_t i = 0; i < p->samples.n; i++)
            s->keep[i] = i >= lo && i < hi;
        int rc = pg_profile_keep(s->b, p, s->keep);
        if (rc) return rc;
    }
    return 0;
}

/* Appends a series of the shown samples with `plain` (an uncompressed pprof) gzip'd. */
static int append(split *s, const pg_buf *plain)
{
    pyro_series_vec *o = s->out;
    if (PG_VEC_RESERVE(o->v, o->cap, o->n + 1, 8))
        return pg_err(s->err, s->errlen, PG_ENOMEM, "out of memory");
    pyro_series *ser = &o->v[o->n];
    memset(ser, 0, sizeof *ser);
    int rc = pg_gzip_compress(plain->data, plain->len, 1, &ser->pprof, s->err, s->errlen);
    if (rc == 0 && pyro_series_init(s->b, s->g, s->ext, ser))
        rc = pg_err(s->err, s->errlen, PG_ENOMEM, "out of memory");
    if (rc) {
        pyro_series_free_one(ser);
        return rc;
    }
    o->n++;
    return 0;
}

/* Encodes positions [lo, hi) and appends them when the pprof fits max_profile_size (or
 * holds no sample: nothing to split, sent as it is); otherwise appends nothing and sets
 * *over to its size. 0 or a status. */
static int try_range(split *s, size_t lo, size_t hi, size_t *over)
{
    pg_pprof_encode_opts o = {.gzip = 0, .resource_as_labels = 0, .links_as_labels = 1};
    pg_buf plain = {0};
    *over = 0;
    int rc = show_range(s, lo, hi);
    if (rc)
        rc = pg_err(s->err, s->errlen, rc, "limits: cutting a profile's samples");
    else
        rc = pg_pprof_encode(s->b, s->g, &o, &plain, s->err, s->errlen);
    if (rc == 0 && lo < hi && s->l->max_profile_size && plain.len > s->l->max_profile_size)
        *over = plain.len;
    else if (rc == 0)
        rc = append(s, &plain);
    show_base(s);
    pg_buf_free(&plain);
    return rc;
}

/* Appends positions [lo, hi) (not empty) as pprofs within the limits: cut into equal
 * ranges while over one; a single position over max_profile_size is dropped, counted. */
static int fit_range(split *s, size_t lo, size_t hi)
{
    size_t width = hi - lo, samples = range_samples(s, lo, hi);
    size_t max = (size_t)s->l->max_samples, parts, over = 0;
    if (width > 1 && max && samples > max)
        parts = (samples + max - 1) / max;
    else {
        int rc = try_range(s, lo, hi, &over);
        if (rc || !over) return rc;
        if (width == 1) {
            s->cnt->oversize_samples += samples;
            if (over > s->cnt->largest_dropped) s->cnt->largest_dropped = over;
            return 0;
        }
        parts = (over + s->l->max_profile_size - 1) / s->l->max_profile_size;
    }
    if (parts > width) parts = width;
    for (size_t i = 0; i < parts; i++) {
        int rc = fit_range(s, lo + width * i / parts, lo + width * (i + 1) / parts);
        if (rc) return rc;
    }
    return 0;
}

/* 1 when sample i of columns c has a value other than 0. */
static int nonzero(const pg_samples *c, size_t i)
{
    pg_sample_ref r;
    pg_samples_at(c, i, &r);
    for (size_t v = 0; v < r.n_values; v++)
        if (r.values[v]) return 1;
    return 0;
}

/* Leaves out the samples whose values are all 0 (at that position in every profile when
 * they correspond by position) and makes the result the base. Counted. 0 or a status. */
static int drop_zero(split *s)
{
    const pg_pprof_group *g = s->g;
    if (g->zero_types) return 0; /* samples without values are all there is */
    s->n = 0;
    for (size_t k = 0; k < g->n_profiles; k++) {
        pg_profile *p = prof(s, k);
        size_t n = s->base[k].n, kept = 0;
        size_t from = g->positional ? 0 : k, to = g->positional ? g->n_profiles : k + 1;
        for (size_t i = 0; i < n; i++) {
            int any = 0;
            for (size_t j = from; j < to && !any; j++)
                any = nonzero(&s->base[j], i);
            s->keep[i] = (uint8_t)any;
            kept += (size_t)any;
        }
        if (!g->positional || k == 0) s->cnt->zero_samples += n - kept;
        int rc = pg_profile_keep(s->b, p, s->keep);
        if (rc) return pg_err(s->err, s->errlen, rc, "limits: leaving out zero samples");
        if (kept > s->n) s->n = kept;
    }
    for (size_t k = 0; k < g->n_profiles; k++) /* after every mask was computed */
        s->base[k] = prof(s, k)->samples;
    return 0;
}

/* See pyroscope_int.h. */
int pyro_split_group(pg_batch *b, const pg_pprof_group *g, const pyro_limits *l,
                     const pg_cfg_strmap *external, pyro_series_vec *out, pyro_limit_counts *cnt,
                     char *err, size_t errlen)
{
    split s = {.b = b,
               .g = g,
               .l = l,
               .ext = external,
               .out = out,
               .cnt = cnt,
               .err = err,
               .errlen = errlen};
    s.base = calloc(g->n_profiles ? g->n_profiles : 1, sizeof *s.base);
    for (size_t k = 0; s.base && k < g->n_profiles; k++) {
        s.base[k] = prof(&s, k)->samples;
        if (s.base[k].n > s.n) s.n = s.base[k].n;
    }
    s.keep = malloc(s.n ? s.n : 1);
    if (!s.base || !s.keep) {
        free(s.base);
        free(s.keep);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    size_t before = out->n, over = 1, max = (size_t)l->max_samples;
    int rc = 0;
    if (!max || range_samples(&s, 0, s.n) <= max) rc = try_range(&s, 0, s.n, &over);
    if (rc == 0 && over) { /* over a limit as it is */
        rc = drop_zero(&s);
        if (rc == 0 && s.n) rc = fit_range(&s, 0, s.n);
    }
    if (out->n - before > 1) cnt->splits += out->n - before - 1;
    free(s.base);
    free(s.keep);
    return rc;
}
