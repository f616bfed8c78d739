/* Stack prefixes (see the "Stack prefixes" block of edit.h). */
#include "pipeline/core/dict.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/core/stacks.h"

#include <stdlib.h>

/* Copies the last len locations of the stack into a scratch array and interns them. */
int32_t pg_dict_stack_root_prefix(pg_batch *b, int32_t stack, size_t len)
{
    const pg_otlp_dict *d = pg_batch_dict(b);
    if (stack < 0 || (size_t)stack >= pg_dict_stack_count(d)) return PG_EINVAL;
    pg_stack_ref r;
    pg_dict_stack_at(d, (size_t)stack, &r);
    if (len >= r.n) return stack;
    if (len == 0) return 0;
    int32_t small[64], *locs = len <= 64 ? small : malloc(len * sizeof *locs);
    if (!locs) return PG_ENOMEM;
    for (size_t j = 0; j < len; j++)
        locs[j] = pg_stack_loc(&r, r.n - len + j);
    int32_t out = pg_dict_stack(b, locs, len);
    if (locs != small) free(locs);
    return out;
}
