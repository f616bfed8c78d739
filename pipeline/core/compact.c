/* Dictionary compaction (see compact.h): mark what the tree reaches, follow the
 * dictionary's own references, give the kept entries new indices in order, then rewrite
 * every table and reference. Arrays that may be shared (attribute index arrays, value
 * types, sample columns) are rewritten into new arena copies; elements the dictionary
 * alone holds (functions, locations' lines, attributes' values, resource and scope
 * KeyValues) are rewritten in place. */
#include "pipeline/core/compact.h"
#include "pipeline/core/dict.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/core/stacks.h"

#include <stdlib.h>
#include <string.h>

enum { T_STR, T_ATTR, T_LINK, T_STACK, T_LOC, T_FN, T_MAP, T_N };

#define MAX_DEPTH 256 /* AnyValue nesting walked (decoders admit less) */

typedef struct cx {
    pg_batch *b;
    pg_arena *a;
    pg_otlp_dict *d;
    size_t n[T_N];
    int32_t *map[T_N]; /* marking: 0/1; then the new index, or -1 when removed */
    int bad;           /* a reference out of range or nesting too deep */
    int rewrite;       /* 0 while marking, 1 while rewriting */
} cx;

/* Marks (or, when rewriting, re-indexes) one reference of table t. */
static void ref(cx *c, int t, int32_t *slot)
{
    int32_t i = *slot;
    if (i < 0 || (size_t)i >= c->n[t]) {
        c->bad = 1;
        return;
    }
    if (c->rewrite)
        *slot = c->map[t][i];
    else
        c->map[t][i] = 1;
}

/* The string references inside an AnyValue (recursively). */
static void any_refs(cx *c, pg_otlp_any *v, int depth)
{
    if (!v) return;
    if (depth > MAX_DEPTH) {
        c->bad = 1;
        return;
    }
    if (v->value_case == PG_ANY_STRINDEX)
        ref(c, T_STR, &v->string_value_strindex);
    else if (v->value_case == PG_ANY_ARRAY && v->array_value)
        for (size_t i = 0; i < v->array_value->n_values; i++)
            any_refs(c, v->array_value->values[i], depth + 1);
    else if (v->value_case == PG_ANY_KVLIST && v->kvlist_value)
        for (size_t i = 0; i < v->kvlist_value->n_values; i++) {
            pg_otlp_kv *kv = v->kvlist_value->values[i];
            ref(c, T_STR, &kv->key_strindex);
            any_refs(c, kv->value, depth + 1);
        }
}

/* The string references of a KeyValue list (key and value), in place. */
static void kvs_refs(cx *c, pg_otlp_kv **kvs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ref(c, T_STR, &kvs[i]->key_strindex);
        any_refs(c, kvs[i]->value, 1);
    }
}

/* The string references of every resource's and scope's KeyValues (in place: each
 * resource and scope holds its own). */
static void resource_scope_refs(cx *c)
{
    pg_otlp_data *data = pg_batch_data(c->b);
    for (size_t r = 0; r < data->n_resource_profiles; r++) {
        pg_otlp_rprofiles *rp = data->resource_profiles[r];
        if (rp->resource) kvs_refs(c, rp->resource->attributes, rp->resource->n_attributes);
        for (size_t s = 0; s < rp->n_scope_profiles; s++)
            if (rp->scope_profiles[s]->scope)
                kvs_refs(c, rp->scope_profiles[s]->scope->attributes,
                         rp->scope_profiles[s]->scope->n_attributes);
    }
}

/* Marks every index of a read-only array. */
static void mark_all(cx *c, int t, const int32_t *ix, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int32_t v = ix[i];
        ref(c, t, &v);
    }
}

/* A new arena copy of ix[0..n) re-indexed through table t (NULL for n == 0). */
static int32_t *remapped(cx *c, int t, const int32_t *ix, size_t n)
{
    if (!n) return NULL;
    int32_t *o = pg_arena_alloc(c->a, n * sizeof *o);
    if (!o) {
        c->bad = -1;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        o[i] = c->map[t][ix[i]];
    return o;
}

/* The tree's roots: resources, scopes, profiles and their samples. */
static void mark_tree(cx *c)
{
    resource_scope_refs(c);
    pg_profile_iter it;
    for (pg_profile_iter_init(&it, c->b); pg_profile_iter_next(&it);) {
        const pg_otlp_profile *m = &it.profile->msg;
        const pg_samples *sc = &it.profile->samples;
        if (m->sample_type) {
            mark_all(c, T_STR, &m->sample_type->type_strindex, 1);
            mark_all(c, T_STR, &m->sample_type->unit_strindex, 1);
        }
        if (m->period_type) {
            mark_all(c, T_STR, &m->period_type->type_strindex, 1);
            mark_all(c, T_STR, &m->period_type->unit_strindex, 1);
        }
        mark_all(c, T_ATTR, m->attribute_indices, m->n_attribute_indices);
        if (sc->stack) mark_all(c, T_STACK, sc->stack, sc->n);
        if (sc->link) mark_all(c, T_LINK, sc->link, sc->n);
        if (sc->attr_off && sc->attrs) mark_all(c, T_ATTR, sc->attrs, sc->attr_off[sc->n]);
    }
}

/* Follows the dictionary's references from the marked stacks down to strings. */
static void mark_dict(cx *c)
{
    pg_otlp_dict *d = c->d;
    const pg_stacks *st = pg_dict_stacks(d);
    for (size_t i = 0; i < c->n[T_STACK]; i++) {
        if (!c->map[T_STACK][i]) continue;
        pg_stack_ref r;
        pg_stacks_at(st, i, &r);
        for (size_t j = 0; j < r.n; j++) {
            int32_t v = pg_stack_loc(&r, j);
            ref(c, T_LOC, &v);
        }
    }
    for (size_t i = 0; i < c->n[T_LOC]; i++) {
        if (!c->map[T_LOC][i]) continue;
        pg_otlp_location *l = d->location_table[i];
        mark_all(c, T_MAP, &l->mapping_index, 1);
        for (size_t j = 0; j < l->n_lines; j++)
            mark_all(c, T_FN, &l->lines[j]->function_index, 1);
        mark_all(c, T_ATTR, l->attribute_indices, l->n_attribute_indices);
    }
    for (size_t i = 0; i < c->n[T_MAP]; i++) {
        if (!c->map[T_MAP][i]) continue;
        mark_all(c, T_STR, &d->mapping_table[i]->filename_strindex, 1);
        mark_all(c, T_ATTR, d->mapping_table[i]->attribute_indices,
                 d->mapping_table[i]->n_attribute_indices);
    }
    for (size_t i = 0; i < c->n[T_FN]; i++) {
        if (!c->map[T_FN][i]) continue;
        const pg_otlp_function *f = d->function_table[i];
        mark_all(c, T_STR, &f->name_strindex, 1);
        mark_all(c, T_STR, &f->system_name_strindex, 1);
        mark_all(c, T_STR, &f->filename_strindex, 1);
    }
    for (size_t i = 0; i < c->n[T_ATTR]; i++) {
        if (!c->map[T_ATTR][i]) continue;
        pg_otlp_attr *at = d->attribute_table[i];
        mark_all(c, T_STR, &at->key_strindex, 1);
        mark_all(c, T_STR, &at->unit_strindex, 1);
        any_refs(c, at->value, 1);
    }
}

/* Turns marks into new indices (element 0 always kept at 0). */
static void assign(cx *c)
{
    for (int t = 0; t < T_N; t++) {
        int32_t next = 0;
        for (size_t i = 0; i < c->n[t]; i++)
            c->map[t][i] = i == 0 || c->map[t][i] ? next++ : -1;
    }
}

/* Keeps the marked pointers of a pointer table, in order, in a new arena array. */
static void keep_table(cx *c, int t, void ***arr, size_t *n)
{
    size_t m = 0;
    for (size_t i = 0; i < *n; i++)
        m += c->map[t][i] >= 0;
    if (m == *n) return;
    void **na = pg_arena_alloc(c->a, (m ? m : 1) * sizeof *na);
    if (!na) {
        c->bad = -1;
        return;
    }
    for (size_t i = 0; i < *n; i++)
        if (c->map[t][i] >= 0) na[c->map[t][i]] = (*arr)[i];
    *arr = na;
    *n = m;
}

/* Rewrites the dictionary's own references, then drops the removed entries. */
static void rewrite_dict(cx *c)
{
    pg_otlp_dict *d = c->d;
    for (size_t i = 0; i < c->n[T_ATTR]; i++) {
        if (c->map[T_ATTR][i] < 0) continue;
        pg_otlp_attr *at = d->attribute_table[i];
        ref(c, T_STR, &at->key_strindex);
        ref(c, T_STR, &at->unit_strindex);
        any_refs(c, at->value, 1);
    }
    for (size_t i = 0; i < c->n[T_FN]; i++) {
        if (c->map[T_FN][i] < 0) continue;
        pg_otlp_function *f = d->function_table[i];
        ref(c, T_STR, &f->name_strindex);
        ref(c, T_STR, &f->system_name_strindex);
        ref(c, T_STR, &f->filename_strindex);
    }
    for (size_t i = 0; i < c->n[T_MAP]; i++) {
        if (c->map[T_MAP][i] < 0) continue;
        pg_otlp_mapping *m = d->mapping_table[i];
        ref(c, T_STR, &m->filename_strindex);
        m->attribute_indices = remapped(c, T_ATTR, m->attribute_indices, m->n_attribute_indices);
    }
    for (size_t i = 0; i < c->n[T_LOC]; i++) {
        if (c->map[T_LOC][i] < 0) continue;
        pg_otlp_location *l = d->location_table[i];
        ref(c, T_MAP, &l->mapping_index);
        for (size_t j = 0; j < l->n_lines; j++)
            ref(c, T_FN, &l->lines[j]->function_index);
        l->attribute_indices = remapped(c, T_ATTR, l->attribute_indices, l->n_attribute_indices);
    }
    keep_table(c, T_STR, (void ***)&d->string_table, &d->n_string_table);
    keep_table(c, T_ATTR, (void ***)&d->attribute_table, &d->n_attribute_table);
    keep_table(c, T_LINK, (void ***)&d->link_table, &d->n_link_table);
    keep_table(c, T_FN, (void ***)&d->function_table, &d->n_function_table);
    keep_table(c, T_MAP, (void ***)&d->mapping_table, &d->n_mapping_table);
    keep_table(c, T_LOC, (void ***)&d->location_table, &d->n_location_table);
}

/* Builds new stack columns from the kept stacks, their locations re-indexed. */
static void rewrite_stacks(cx *c)
{
    pg_stacks *old = &pg_dictionary_of(c->d)->stacks, ns = {0};
    ns.width = 1;
    size_t total = 0, longest = 0, kept = 0;
    for (size_t i = 0; i < old->n; i++) {
        size_t len = old->off[i + 1] - old->off[i];
        if (c->map[T_STACK][i] >= 0) {
            total += len;
            kept++;
        }
        if (len > longest) longest = len;
    }
    int32_t *tmp = malloc((longest ? longest : 1) * sizeof *tmp);
    if (!tmp || pg_stacks_reserve(c->a, &ns, kept, total)) {
        free(tmp);
        c->bad = -1;
        return;
    }
    for (size_t i = 0; i < old->n && c->bad == 0; i++) {
        if (c->map[T_STACK][i] < 0) continue;
        pg_stack_ref r;
        pg_stacks_at(old, i, &r);
        for (size_t j = 0; j < r.n; j++)
            tmp[j] = c->map[T_LOC][pg_stack_loc(&r, j)];
        if (pg_stacks_append(c->a, &ns, tmp, r.n, 4) < 0) c->bad = -1;
    }
    free(tmp);
    if (!c->bad) *old = ns;
}

/* Re-indexed sample columns, one new column per distinct old one (profiles of one pprof
 * share theirs, and keep sharing the new ones). */
typedef struct memo {
    const void **from, **to;
    size_t n, cap;
} memo;

/* The re-indexed copy of column col (n entries), made once per distinct col. */
static const int32_t *remap_col(cx *c, memo *mo, int t, const int32_t *col, size_t n)
{
    if (!col || !n) return col;
    for (size_t i = 0; i < mo->n; i++)
        if (mo->from[i] == col) return mo->to[i];
    int32_t *o = remapped(c, t, col, n);
    if (!o) return NULL;
    if (mo->n == mo->cap) {
        size_t nc = mo->cap ? mo->cap * 2 : 16;
        const void **f = realloc(mo->from, nc * sizeof *f);
        if (f) mo->from = f;
        const void **to = f ? realloc(mo->to, nc * sizeof *to) : NULL;
        if (!to) {
            c->bad = -1;
            return o;
        }
        mo->to = to;
        mo->cap = nc;
    }
    mo->from[mo->n] = col;
    mo->to[mo->n++] = o;
    return o;
}

/* A re-indexed copy of a ValueType (value types may be shared between profiles). */
static pg_otlp_valuetype *remap_vt(cx *c, const pg_otlp_valuetype *v)
{
    if (!v) return NULL;
    pg_otlp_valuetype *o = pg_otlp_valuetype_new(c->a);
    if (!o) {
        c->bad = -1;
        return NULL;
    }
    o->type_strindex = c->map[T_STR][v->type_strindex];
    o->unit_strindex = c->map[T_STR][v->unit_strindex];
    return o;
}

/* Rewrites the tree's references. */
static void rewrite_tree(cx *c)
{
    resource_scope_refs(c);
    memo stacks = {0}, links = {0}, attrs = {0};
    pg_profile_iter it;
    for (pg_profile_iter_init(&it, c->b); pg_profile_iter_next(&it) && !c->bad;) {
        pg_otlp_profile *m = &it.profile->msg;
        pg_samples *sc = &it.profile->samples;
        m->sample_type = remap_vt(c, m->sample_type);
        m->period_type = remap_vt(c, m->period_type);
        m->attribute_indices = remapped(c, T_ATTR, m->attribute_indices, m->n_attribute_indices);
        sc->stack = remap_col(c, &stacks, T_STACK, sc->stack, sc->n);
        sc->link = remap_col(c, &links, T_LINK, sc->link, sc->n);
        if (sc->attr_off && sc->attrs)
            sc->attrs = remap_col(c, &attrs, T_ATTR, sc->attrs, sc->attr_off[sc->n]);
        /* new columns may be shared between profiles now: none is written in place */
        sc->owned &= (uint8_t) ~(PG_COL_STACK | PG_COL_LINK | PG_COL_ATTRS);
    }
    free(stacks.from);
    free(stacks.to);
    free(links.from);
    free(links.to);
    free(attrs.from);
    free(attrs.to);
}

/* Marks, assigns, rewrites (see the top of this file); the maps are malloc'd scratch. */
int pg_batch_compact(pg_batch *b, pg_compact_stats *stats, char *err, size_t errlen)
{
    if (pg_batch_refs(b) != 1)
        return pg_err(err, errlen, PG_EINVAL, "compact: the batch is shared");
    cx c = {.b = b, .a = pg_batch_arena(b), .d = pg_batch_dict(b)};
    pg_otlp_dict *d = c.d;
    if (!pg_dict_stack_columns(c.a, d))
        return pg_err(err, errlen, PG_ELIMIT, "compact: batch memory limit reached");
    c.n[T_STR] = d->n_string_table;
    c.n[T_ATTR] = d->n_attribute_table;
    c.n[T_LINK] = d->n_link_table;
    c.n[T_STACK] = pg_dict_stack_count(d);
    c.n[T_LOC] = d->n_location_table;
    c.n[T_FN] = d->n_function_table;
    c.n[T_MAP] = d->n_mapping_table;
    int rc = 0;
    for (int t = 0; t < T_N; t++) {
        if (!c.n[t]) {
            rc = pg_err(err, errlen, PG_EINVAL,
                        "compact: a dictionary table lacks its zero element");
            goto out;
        }
        if (!(c.map[t] = calloc(c.n[t], sizeof *c.map[t]))) {
            rc = pg_err(err, errlen, PG_ENOMEM, "compact: out of memory");
            goto out;
        }
    }
    mark_tree(&c);
    mark_dict(&c);
    if (c.bad) {
        rc = pg_err(err, errlen, PG_EINVAL, "compact: a reference is out of range");
        goto out;
    }
    assign(&c);
    c.rewrite = 1;
    rewrite_tree(&c);
    rewrite_stacks(&c);
    rewrite_dict(&c);
    if (c.bad) {
        rc = pg_err(err, errlen, PG_ELIMIT,
                    "compact: batch memory limit reached (the batch is left inconsistent)");
        goto out;
    }
    pg_dict_index_free(*pg_batch_dict_index(b));
    *pg_batch_dict_index(b) = NULL;
    if (stats) {
        stats->strings = c.n[T_STR] - d->n_string_table;
        stats->attributes = c.n[T_ATTR] - d->n_attribute_table;
        stats->links = c.n[T_LINK] - d->n_link_table;
        stats->stacks = c.n[T_STACK] - pg_dict_stack_count(d);
        stats->locations = c.n[T_LOC] - d->n_location_table;
        stats->functions = c.n[T_FN] - d->n_function_table;
        stats->mappings = c.n[T_MAP] - d->n_mapping_table;
    }
out:
    for (int t = 0; t < T_N; t++)
        free(c.map[t]);
    return rc;
}
