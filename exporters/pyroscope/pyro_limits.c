/* Pyroscope's ingestion limits applied before sending, so that a profile over them is
 * reshaped here (and counted) instead of being refused by the backend: stacks cut to their
 * leaf-most frames, surplus sample labels dropped, profiles split by sample position
 * (see pyroscope_int.h). Values are never changed: the totals stay. */
#include "exporters/pyroscope/pyroscope_int.h"

#include "pipeline/core/dict.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/core/merge.h"
#include "pipeline/core/stacks.h"

#include <stdlib.h>
#include <string.h>

/* 1 for a profile without a sample type: the translator's record of unreached table
 * entries, whose samples are not data. */
static int is_record(const pg_otlp_profile *p)
{
    return !p->sample_type || p->sample_type->type_strindex <= 0;
}

/* Cuts stacks and labels in every data profile of b (owned alone). */
static int trim(pg_batch *b, const pyro_limits *l, pyro_limit_counts *cnt)
{
    size_t depth = (size_t)l->max_stack_depth, nlab = (size_t)l->max_labels;
    int32_t *tmp = malloc((depth + nlab + 1) * sizeof *tmp);
    if (!tmp) return PG_ENOMEM;
    pg_profile_iter it;
    pg_profile_iter_init(&it, b);
    int rc = 0;
    while (rc == 0 && pg_profile_iter_next(&it)) {
        pg_profile *p = it.profile;
        if (is_record(&p->msg)) continue;
        size_t n = pg_profile_sample_count(&p->msg);
        int32_t *col = NULL;
        for (size_t i = 0; i < n && rc == 0; i++) {
            pg_sample_ref r;
            pg_samples_at(&p->samples, i, &r);
            pg_stack_ref st;
            pg_dict_stack_at(pg_batch_dict(b), (size_t)r.stack, &st);
            if (depth && st.n > depth) {
                for (size_t j = 0; j < depth; j++)
                    tmp[j] = pg_stack_loc(&st, j);
                int32_t idx = pg_dict_stack(b, tmp, depth);
                if (!col) col = pg_profile_stack_col(b, p);
                if (idx < 0 || !col) {
                    rc = idx < 0 ? idx : PG_ELIMIT;
                    break;
                }
                col[i] = idx;
                cnt->trimmed_stacks++;
            }
            if (nlab && r.n_attrs > nlab) {
                memcpy(tmp, r.attrs, nlab * sizeof *tmp);
                rc = pg_sample_set_attrs(b, p, i, tmp, nlab);
                cnt->trimmed_labels++;
            }
        }
    }
    free(tmp);
    return rc;
}

/* The most samples a data profile of b holds. */
static size_t most_samples(const pg_batch *b)
{
    size_t most = 0;
    pg_profile_iter it;
    pg_profile_iter_init(&it, b);
    while (pg_profile_iter_next(&it))
        if (!is_record(&it.profile->msg) && pg_profile_sample_count(&it.profile->msg) > most)
            most = pg_profile_sample_count(&it.profile->msg);
    return most;
}

/* Keeps samples [from, from + count) of every data profile of b and removes the data
 * profiles left without samples. */
static int keep_range(pg_batch *b, size_t from, size_t count)
{
    pg_otlp_data *d = pg_batch_data(b);
    for (size_t r = 0; r < d->n_resource_profiles; r++)
        for (size_t s = 0; s < d->resource_profiles[r]->n_scope_profiles; s++) {
            pg_otlp_sprofiles *sp = d->resource_profiles[r]->scope_profiles[s];
            size_t out = 0;
            for (size_t k = 0; k < sp->n_profiles; k++) {
                pg_otlp_profile *m = sp->profiles[k];
                if (!is_record(m)) {
                    size_t n = pg_profile_sample_count(m);
                    uint8_t *keep = calloc(n ? n : 1, 1);
                    if (!keep) return PG_ENOMEM;
                    for (size_t i = from; i < n && i < from + count; i++)
                        keep[i] = 1;
                    int rc = pg_profile_keep(b, pg_profile_of(m), keep);
                    free(keep);
                    if (rc) return rc;
                    if (pg_profile_sample_count(m) == 0) continue;
                }
                sp->profiles[out++] = m;
            }
            sp->n_profiles = out;
        }
    return 0;
}

/* See pyroscope_int.h. */
int pyro_limits_apply(const pg_batch *b, const pyro_limits *l, pg_batch ***parts, size_t *n,
                      pyro_limit_counts *cnt, char *err, size_t errlen)
{
    *parts = NULL;
    *n = 0;
    pg_batch *work = pg_batch_clone(b, 0);
    if (!work) return pg_err(err, errlen, PG_ENOMEM, "out of memory copying the batch");
    int rc = trim(work, l, cnt);
    if (rc) {
        pg_batch_free(work);
        return pg_err(err, errlen, rc, "applying the limits");
    }
    size_t most = most_samples(work), per = (size_t)l->max_samples;
    size_t k = per && most > per ? (most + per - 1) / per : 1;
    pg_batch **out = calloc(k, sizeof *out);
    if (!out) {
        pg_batch_free(work);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    if (k == 1) {
        out[0] = work;
        *parts = out;
        *n = 1;
        return 0;
    }
    for (size_t c = 0; c < k && rc == 0; c++) {
        if (!(out[c] = pg_batch_clone(work, 0))) rc = PG_ENOMEM;
        if (rc == 0) rc = keep_range(out[c], c * per, per);
    }
    pg_batch_free(work);
    if (rc) {
        for (size_t c = 0; c < k; c++)
            pg_batch_free(out[c]);
        free(out);
        return pg_err(err, errlen, rc, "splitting the batch");
    }
    cnt->splits += k - 1;
    *parts = out;
    *n = k;
    return 0;
}
