/* Trim (see downscale_int.h): the call tree's node weights from the samples' weights,
 * then each stack cut back to its deepest node that weighs enough. */
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/core/hash.h"
#include "pipeline/core/stacks.h"
#include "pipeline/core/vec.h"
#include "processors/downscale/downscale_int.h"

#include <stdlib.h>

/* The call tree: node 0 is the root above every stack; a child is found by (parent,
 * location) in `ix`. */
typedef struct tree {
    pg_u64map ix;
    int64_t *weight;
    size_t n, cap;
} tree;

/* The child of parent for location loc, made when missing. Returns its id or PG_ENOMEM. */
static int64_t child(tree *t, uint32_t parent, int32_t loc)
{
    uint64_t key = (uint64_t)parent << 32 | (uint32_t)loc;
    uint32_t id = pg_u64map_get(&t->ix, key);
    if (id != UINT32_MAX) return id;
    if (t->n >= UINT32_MAX - 1 || PG_VEC_RESERVE(t->weight, t->cap, t->n + 1, 256))
        return PG_ENOMEM;
    id = (uint32_t)t->n++;
    t->weight[id] = 0;
    if (pg_u64map_put(&t->ix, key, id) < 0) return PG_ENOMEM;
    return id;
}

/* Adds every kept sample's weight along its stack, root first. */
static int weigh(tree *t, const pg_otlp_dict *d, const pg_samples *c, const int64_t *w,
                 const uint8_t *keep)
{
    for (size_t i = 0; i < c->n; i++) {
        if (!keep[i] || !w[i]) continue;
        pg_stack_ref st;
        pg_dict_stack_at(d, (size_t)c->stack[i], &st);
        uint32_t node = 0;
        t->weight[0] += w[i];
        for (size_t j = st.n; j-- > 0;) {
            int64_t id = child(t, node, pg_stack_loc(&st, j));
            if (id < 0) return PG_ENOMEM;
            node = (uint32_t)id;
            t->weight[node] += w[i];
        }
    }
    return 0;
}

/* How many root-side frames of the stack stay: down to the last node weighing >= thr,
 * at least one. */
static size_t kept_depth(const tree *t, const pg_stack_ref *st, double thr)
{
    uint32_t node = 0;
    size_t depth = 0;
    for (size_t j = st->n; j-- > 0;) {
        uint64_t key = (uint64_t)node << 32 | (uint32_t)pg_stack_loc(st, j);
        uint32_t id = pg_u64map_get(&t->ix, key);
        if (id == UINT32_MAX || (double)t->weight[id] < thr) break;
        node = id;
        depth++;
    }
    return depth ? depth : 1;
}

/* Weighs, then maps each distinct stack once (memo) to the stack it keeps. */
int pg_ds_trim(pg_batch *b, const pg_samples *c, const int64_t *w, const uint8_t *keep, double frac,
               int32_t *out, uint64_t *changed)
{
    const pg_otlp_dict *d = pg_batch_dict(b);
    tree t = {0};
    pg_u64map memo = {0};
    int rc = 0;
    if (PG_VEC_RESERVE(t.weight, t.cap, 1, 256)) return PG_ENOMEM;
    t.n = 1;
    t.weight[0] = 0;
    if ((rc = weigh(&t, d, c, w, keep))) goto out;
    double thr = frac * (double)t.weight[0];
    if (t.weight[0] <= 0) goto out;
    for (size_t i = 0; i < c->n && !rc; i++) {
        if (!keep[i]) continue;
        int32_t s = c->stack[i];
        uint32_t m = pg_u64map_get(&memo, (uint64_t)(uint32_t)s);
        if (m == UINT32_MAX) {
            pg_stack_ref st;
            pg_dict_stack_at(pg_batch_dict(b), (size_t)s, &st);
            size_t depth = kept_depth(&t, &st, thr);
            int32_t ns = depth >= st.n ? s : pg_dict_stack_root_prefix(b, s, depth);
            if (ns < 0) {
                rc = ns;
                break;
            }
            m = (uint32_t)ns;
            if (pg_u64map_put(&memo, (uint64_t)(uint32_t)s, m) < 0) {
                rc = PG_ENOMEM;
                break;
            }
        }
        if ((int32_t)m != s) (*changed)++;
        out[i] = (int32_t)m;
    }
out:
    pg_u64map_free(&t.ix);
    pg_u64map_free(&memo);
    free(t.weight);
    return rc;
}
