/* Pyroscope's ingestion limits applied before sending, so that a profile over them is
 * reshaped here (and counted) instead of being refused by the backend: stacks cut to their
 * leaf-most frames and surplus sample labels dropped on a copy of the batch, then each
 * translator group written as pprofs that fit (pyro_split.c) and series labels cut to
 * their lengths (pyro_label_limits.c); see pyroscope_int.h. Values are never changed. */
#include "exporters/pyroscope/pyroscope_int.h"

#include "pipeline/core/dict.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/core/merge.h"
#include "pipeline/core/samples.h"
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

/* See pyroscope_int.h. */
int pyro_limits_series(const pg_batch *b, const pyro_limits *l, const pg_cfg_strmap *external,
                       pyro_series **out, size_t *n, pyro_limit_counts *cnt, char *err,
                       size_t errlen)
{
    *out = NULL;
    *n = 0;
    pg_batch *work = pg_batch_clone(b, 0);
    if (!work) return pg_err(err, errlen, PG_ENOMEM, "out of memory copying the batch");
    int rc = trim(work, l, cnt);
    if (rc) {
        pg_batch_free(work);
        return pg_err(err, errlen, rc, "applying the limits");
    }
    pg_pprof_group *g = NULL;
    size_t ng = 0;
    pyro_series_vec v = {0};
    rc = pg_pprof_plan(work, &g, &ng, err, errlen);
    for (size_t i = 0; rc == 0 && i < ng; i++)
        rc = pyro_split_group(work, &g[i], l, external, &v, cnt, err, errlen);
    for (size_t i = 0; rc == 0 && i < v.n; i++)
        pyro_labels_fit(&v.v[i], l, external, cnt);
    pg_pprof_groups_free(g, ng);
    pg_batch_free(work);
    if (rc) {
        pyro_series_free(v.v, v.n);
        return rc;
    }
    *out = v.v;
    *n = v.n;
    return 0;
}
