/* Merging config documents, as the Collector does with several --config flags: a later
 * mapping merges into an earlier one key by key (recursively); anything else (scalar, list,
 * null, or a mapping over a non-mapping) replaces. Keys keep the place they first had in the
 * order; every value keeps the position of the file it came from, and a key present in both
 * files takes the later file's key position. */
#include "pipeline/config/config_int.h"

#include <string.h>

/* Returns the merge of src over dst (see config_int.h); inputs are untouched. */
pg_cfg_node *pg_cfg_merge(pg_arena *a, pg_cfg_node *dst, pg_cfg_node *src)
{
    if (!src) return dst;
    if (!dst || dst->kind != PG_CFG_NODE_MAP || src->kind != PG_CFG_NODE_MAP) return src;
    pg_cfg_node *m = pg_arena_calloc(a, 1, sizeof *m);
    if (!m) return NULL;
    *m = *dst;
    m->cap = dst->n + src->n;
    m->pairs = pg_arena_calloc(a, m->cap ? m->cap : 1, sizeof *m->pairs);
    if (!m->pairs) return NULL;
    if (dst->n) memcpy(m->pairs, dst->pairs, dst->n * sizeof *m->pairs);
    m->n = dst->n;
    m->weight = dst->weight;
    for (size_t i = 0; i < src->n; i++) {
        pg_cfg_pair *sp = &src->pairs[i];
        pg_cfg_pair *dp = pg_cfg_map_find(m, sp->key->str);
        if (!dp) {
            m->pairs[m->n++] = *sp;
            m->weight += sp->value->weight;
            continue;
        }
        pg_cfg_node *v = pg_cfg_merge(a, dp->value, sp->value);
        if (!v) return NULL;
        m->weight = m->weight - dp->value->weight + v->weight;
        dp->value = v;
        /* the key now comes from src: a position for "unknown key" in the later file */
        dp->key = sp->key;
    }
    return m;
}
