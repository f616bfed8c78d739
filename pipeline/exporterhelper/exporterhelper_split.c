/* Splitting a batch by profiles for batch.max_size: consecutive profiles are grouped while
 * their samples fit, and pg_batch_split (pipeline/core/split.h) builds the parts. */
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/core/split.h"
#include "pipeline/exporterhelper/exporterhelper_int.h"

#include <stdlib.h>

/* See exporterhelper_int.h. */
int pg_eh_split(const pg_batch *b, size_t max_samples, pg_batch ***parts)
{
    *parts = NULL;
    size_t np = pg_batch_profile_count(b), ng = 0, in_group = 0, i = 0;
    uint32_t *group = malloc((np ? np : 1) * sizeof *group);
    if (!group) return PG_ENOMEM;
    pg_profile_iter it;
    for (pg_profile_iter_init(&it, b); pg_profile_iter_next(&it) && i < np; i++) {
        size_t ns = it.profile->samples.n;
        if (ng == 0 || (in_group && in_group + ns > max_samples)) {
            ng++;
            in_group = 0;
        }
        in_group += ns;
        group[i] = (uint32_t)(ng - 1);
    }
    pg_batch **out = ng ? malloc(ng * sizeof *out) : NULL;
    int rc = ng && !out ? PG_ENOMEM : pg_batch_split(b, group, ng, out);
    free(group);
    if (rc) {
        free(out);
        return rc;
    }
    *parts = out;
    return (int)ng;
}
