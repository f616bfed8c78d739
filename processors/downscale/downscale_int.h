/* The downscale processor's parts (private): how one group of profiles is thinned and
 * trimmed. A group is the profiles of one pprof (samples correspond by position: one
 * sample's count and its other values) or one profile alone. */
#ifndef PG_DOWNSCALE_INT_H
#define PG_DOWNSCALE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/batch.h"
#include "pipeline/core/samples.h"
#include "processors/downscale/binomial.h"

/* What happens to a group's values. */
typedef enum {
    PG_DS_KEEP = 0, /* values untouched (trim may still apply) */
    PG_DS_THIN, /* binomial thinning of each sample's count, the others kept at count x period */
    PG_DS_SCALE /* each sample kept with probability p and its values scaled by 1/p */
} pg_ds_mode;

typedef struct pg_ds_group {
    pg_profile **members; /* borrowed; positional members share sample positions */
    size_t n_members;
    size_t count_member; /* the member whose unit is "count", or n_members when none */
    pg_ds_mode mode;
    double p;           /* probability of keeping one event */
    int64_t period;     /* the group's period before */
    int64_t new_period; /* and after (period / p) */
    double trim;        /* fold stacks under this fraction of the total (0 = off) */
} pg_ds_group;

typedef struct pg_ds_counts {
    uint64_t removed; /* samples removed (zero after thinning) */
    uint64_t trimmed; /* samples whose stack was folded into a prefix */
} pg_ds_counts;

/* Thins and trims the group's members in b (held alone): new columns built per member,
 * sharing identity columns between members where they stay equal; periods updated.
 * Draws from rng. Adds to *counts. Returns 0 or a negative status with err. */
int pg_ds_group_apply(pg_batch *b, const pg_ds_group *g, pg_ds_rng *rng, pg_ds_counts *counts,
                      char *err, size_t errlen);

/* Trim: for n samples of columns c (stack column read) with weights w (non-negative; a
 * sample whose keep[i] is 0 weighs nothing), writes to out[i] the stack each sample
 * keeps: its own, or the root-side prefix of it whose node in the call tree (every
 * sample through that prefix) weighs at least frac x the total, the root frame at least.
 * Interns new prefixes into b. *changed counts the samples given a prefix. Returns 0 or a
 * negative status. */
int pg_ds_trim(pg_batch *b, const pg_samples *c, const int64_t *w, const uint8_t *keep, double frac,
               int32_t *out, uint64_t *changed);

#endif
