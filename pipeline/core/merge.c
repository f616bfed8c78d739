#include "pipeline/core/merge.h"
#include "pipeline/core/anyvalue.h"
#include "pipeline/core/dict.h"
#include "pipeline/core/err.h"
#include "pipeline/core/samples.h"
#include "pipeline/core/stacks.h"
#include "pipeline/core/vec.h"

#include <stdlib.h>
#include <string.h>

/* Index maps from the source dictionary's tables to the destination's (merge.h). */
typedef pg_dict_remap remap;

static void remap_free(remap *r)
{
    free(r->str);
    free(r->fn);
    free(r->map);
    free(r->loc);
    free(r->stack);
    free(r->attr);
    free(r->link);
}

static int32_t *ints_map(const int32_t *src, size_t n, const int32_t *map, int32_t *tmp)
{
    for (size_t i = 0; i < n; i++)
        tmp[i] = map[src[i]];
    return tmp;
}

/* Interns every element of s's dictionary into dst, filling the maps. */
static int build_remap(pg_batch *dst, const pg_otlp_dict *s, remap *r)
{
    r->str = malloc(s->n_string_table * sizeof *r->str);
    r->fn = malloc(s->n_function_table * sizeof *r->fn);
    r->map = malloc(s->n_mapping_table * sizeof *r->map);
    r->loc = malloc(s->n_location_table * sizeof *r->loc);
    size_t n_stacks = pg_dict_stack_count(s);
    r->stack = malloc((n_stacks ? n_stacks : 1) * sizeof *r->stack);
    r->attr = malloc(s->n_attribute_table * sizeof *r->attr);
    r->link = malloc(s->n_link_table * sizeof *r->link);
    if (!r->str || !r->fn || !r->map || !r->loc || !r->stack || !r->attr || !r->link)
        return PG_ENOMEM;
    for (size_t i = 0; i < s->n_string_table; i++)
        if ((r->str[i] = pg_dict_string(dst, s->string_table[i], strlen(s->string_table[i]))) < 0)
            return r->str[i];
    /* Element 0 of every table means "none" and maps to element 0. */
    r->str[0] = r->fn[0] = r->map[0] = r->loc[0] = r->stack[0] = r->attr[0] = r->link[0] = 0;
    for (size_t i = 1; i < s->n_attribute_table; i++) {
        const pg_otlp_attr *a = s->attribute_table[i];
        if ((r->attr[i] = pg_dict_attr(dst, r->str[a->key_strindex], a->value,
                                       r->str[a->unit_strindex])) < 0)
            return r->attr[i];
    }
    for (size_t i = 1; i < s->n_function_table; i++) {
        const pg_otlp_function *f = s->function_table[i];
        if ((r->fn[i] =
                 pg_dict_function(dst, r->str[f->name_strindex], r->str[f->system_name_strindex],
                                  r->str[f->filename_strindex], f->start_line)) < 0)
            return r->fn[i];
    }
    size_t tmp_n = 64;
    int32_t *tmp = malloc(tmp_n * sizeof *tmp);
    if (!tmp) return PG_ENOMEM;
    int rc = 0;
    for (size_t i = 1; i < s->n_mapping_table && !rc; i++) {
        pg_otlp_mapping m = *s->mapping_table[i];
        if ((rc = PG_VEC_RESERVE(tmp, tmp_n, m.n_attribute_indices, 64))) break;
        m.filename_strindex = r->str[m.filename_strindex];
        m.attribute_indices = ints_map(m.attribute_indices, m.n_attribute_indices, r->attr, tmp);
        if ((r->map[i] = pg_dict_mapping(dst, &m)) < 0) rc = r->map[i];
    }
    for (size_t i = 1; i < s->n_location_table && !rc; i++) {
        pg_otlp_location l = *s->location_table[i];
        if ((rc = PG_VEC_RESERVE(tmp, tmp_n, l.n_attribute_indices, 64))) break;
        l.mapping_index = r->map[l.mapping_index];
        l.attribute_indices = ints_map(l.attribute_indices, l.n_attribute_indices, r->attr, tmp);
        pg_otlp_line *lines =
            malloc((l.n_lines ? l.n_lines : 1) * (sizeof *lines + sizeof(void *)));
        if (!lines) {
            rc = PG_ENOMEM;
            break;
        }
        pg_otlp_line **lp = (pg_otlp_line **)(lines + l.n_lines);
        for (size_t j = 0; j < l.n_lines; j++) {
            lines[j] = *l.lines[j];
            lines[j].function_index = r->fn[lines[j].function_index];
            lp[j] = &lines[j];
        }
        l.lines = lp;
        if ((r->loc[i] = pg_dict_location(dst, &l)) < 0) rc = r->loc[i];
        free(lines);
    }
    for (size_t i = 1; i < n_stacks && !rc; i++) {
        pg_stack_ref st;
        pg_dict_stack_at(s, i, &st);
        if ((rc = PG_VEC_RESERVE(tmp, tmp_n, st.n, 64))) break;
        for (size_t j = 0; j < st.n; j++)
            tmp[j] = r->loc[pg_stack_loc(&st, j)];
        if ((r->stack[i] = pg_dict_stack(dst, tmp, st.n)) < 0) rc = r->stack[i];
    }
    for (size_t i = 1; i < s->n_link_table && !rc; i++) {
        const pg_otlp_link *k = s->link_table[i];
        if ((r->link[i] = pg_dict_link(dst, k->trace_id.data, k->trace_id.len, k->span_id.data,
                                       k->span_id.len)) < 0)
            rc = r->link[i];
    }
    free(tmp);
    return rc;
}

static char *dup_str(pg_arena *a, const char *s)
{
    return pg_arena_strndup(a, s ? s : "", s ? strlen(s) : 0);
}

/* Deep-copies a KeyValue list into the arena. */
static int copy_kvs(pg_arena *a, pg_otlp_kv **src, size_t n, pg_otlp_kv ***dst, size_t *dn)
{
    *dst = NULL;
    *dn = 0;
    if (!n) return 0;
    pg_otlp_kv **arr = pg_arena_alloc(a, n * sizeof *arr);
    if (!arr) return pg_arena_status(a);
    for (size_t i = 0; i < n; i++) {
        pg_otlp_kv *kv = pg_otlp_kv_new(a);
        if (!kv || !(kv->key = dup_str(a, src[i]->key)) ||
            !(kv->value = pg_any_copy(a, src[i]->value)))
            return pg_arena_status(a);
        arr[i] = kv;
    }
    *dst = arr;
    *dn = n;
    return 0;
}

static int copy_strs(pg_arena *a, char **src, size_t n, char ***dst)
{
    *dst = n ? pg_arena_alloc(a, n * sizeof **dst) : NULL;
    if (n && !*dst) return pg_arena_status(a);
    for (size_t i = 0; i < n; i++)
        if (!((*dst)[i] = dup_str(a, src[i]))) return pg_arena_status(a);
    return 0;
}

static pg_otlp_resource *copy_resource(pg_arena *a, const pg_otlp_resource *s)
{
    pg_otlp_resource *r = pg_otlp_resource_new(a);
    if (!r || copy_kvs(a, s->attributes, s->n_attributes, &r->attributes, &r->n_attributes))
        return NULL;
    r->dropped_attributes_count = s->dropped_attributes_count;
    if (s->n_entity_refs) {
        if (!(r->entity_refs = pg_arena_alloc(a, s->n_entity_refs * sizeof *r->entity_refs)))
            return NULL;
        for (size_t i = 0; i < s->n_entity_refs; i++) {
            const pg_otlp_entityref *e = s->entity_refs[i];
            pg_otlp_entityref *c = pg_arena_memdup(a, e, sizeof *e);
            if (!c || !(c->schema_url = dup_str(a, e->schema_url)) ||
                !(c->type = dup_str(a, e->type)) ||
                copy_strs(a, e->id_keys, e->n_id_keys, &c->id_keys) ||
                copy_strs(a, e->description_keys, e->n_description_keys, &c->description_keys))
                return NULL;
            r->entity_refs[i] = c;
        }
        r->n_entity_refs = s->n_entity_refs;
    }
    return r;
}

static pg_otlp_scope *copy_scope(pg_arena *a, const pg_otlp_scope *s)
{
    pg_otlp_scope *c = pg_otlp_scope_new(a);
    if (!c || !(c->name = dup_str(a, s->name)) || !(c->version = dup_str(a, s->version)) ||
        copy_kvs(a, s->attributes, s->n_attributes, &c->attributes, &c->n_attributes))
        return NULL;
    c->dropped_attributes_count = s->dropped_attributes_count;
    return c;
}

static pg_otlp_valuetype *copy_vt(pg_arena *a, const pg_otlp_valuetype *s, const remap *r,
                                  int *fail)
{
    if (!s) return NULL;
    pg_otlp_valuetype *v = pg_otlp_valuetype_new(a);
    if (!v) {
        *fail = 1;
        return NULL;
    }
    v->type_strindex = r->str[s->type_strindex];
    v->unit_strindex = r->str[s->unit_strindex];
    return v;
}

static int32_t *map_ints(pg_arena *a, const int32_t *src, size_t n, const int32_t *map)
{
    if (!n) return NULL;
    int32_t *d = pg_arena_alloc(a, n * sizeof *d);
    if (d) ints_map(src, n, map, d);
    return d;
}

/* Copies one profile with remapped references. */
static pg_otlp_profile *copy_profile(pg_arena *a, const pg_otlp_profile *s, const remap *r)
{
    pg_otlp_profile *p = pg_otlp_profile_new(a);
    if (!p) return NULL;
    int fail = 0;
    p->sample_type = copy_vt(a, s->sample_type, r, &fail);
    p->period_type = copy_vt(a, s->period_type, r, &fail);
    p->time_unix_nano = s->time_unix_nano;
    p->duration_nano = s->duration_nano;
    p->period = s->period;
    p->dropped_attributes_count = s->dropped_attributes_count;
    p->profile_id.len = s->profile_id.len;
    p->profile_id.data = pg_arena_memdup(a, s->profile_id.data, s->profile_id.len);
    p->original_payload_format = dup_str(a, s->original_payload_format);
    p->original_payload.len = s->original_payload.len;
    p->original_payload.data =
        pg_arena_memdup(a, s->original_payload.data, s->original_payload.len);
    p->n_attribute_indices = s->n_attribute_indices;
    p->attribute_indices = map_ints(a, s->attribute_indices, s->n_attribute_indices, r->attr);
    if (fail || !p->profile_id.data || !p->original_payload_format || !p->original_payload.data ||
        (s->n_attribute_indices && !p->attribute_indices))
        return NULL;
    /* samples are written as columns, references re-indexed */
    pg_samples_builder sb = {0};
    size_t ns = pg_profile_sample_count(s), cap = 0;
    int32_t *attrs = NULL;
    for (size_t i = 0; i < ns; i++) {
        pg_sample_ref x;
        pg_sample_at(s, i, &x);
        if (PG_VEC_RESERVE(attrs, cap, x.n_attrs, 16)) break;
        x.stack = r->stack[x.stack];
        x.link = r->link[x.link];
        x.attrs = ints_map(x.attrs, x.n_attrs, r->attr, attrs);
        if (pg_samples_builder_add(&sb, &x)) break;
    }
    free(attrs);
    if (sb.n != ns || pg_samples_builder_finish(&sb, a, p, NULL)) {
        pg_samples_builder_free(&sb);
        return NULL;
    }
    return p;
}

/* Copies the tree of src into dst with re-indexed references. */
int pg_batch_merge(pg_batch *dst, const pg_batch *src, char *err, size_t errlen)
{
    remap r = {0};
    pg_arena *a = pg_batch_arena(dst);
    pg_otlp_data *dd = pg_batch_data(dst);
    const pg_otlp_data *sd = pg_batch_data(src);
    int rc = 0;
    if ((rc = build_remap(dst, sd->dictionary, &r))) goto out;
    for (size_t i = 0; i < sd->n_resource_profiles && !rc; i++) {
        const pg_otlp_rprofiles *srp = sd->resource_profiles[i];
        pg_otlp_rprofiles *rp = pg_otlp_rprofiles_new(a);
        if (!rp || !(rp->schema_url = dup_str(a, srp->schema_url)) ||
            (srp->resource && !(rp->resource = copy_resource(a, srp->resource)))) {
            rc = pg_arena_status(a);
            break;
        }
        for (size_t j = 0; j < srp->n_scope_profiles && !rc; j++) {
            const pg_otlp_sprofiles *ssp = srp->scope_profiles[j];
            pg_otlp_sprofiles *sp = pg_otlp_sprofiles_new(a);
            if (!sp || !(sp->schema_url = dup_str(a, ssp->schema_url)) ||
                (ssp->scope && !(sp->scope = copy_scope(a, ssp->scope))) ||
                pg_otlp_push(a, (void ***)&rp->scope_profiles, &rp->n_scope_profiles, sp)) {
                rc = pg_arena_status(a);
                break;
            }
            for (size_t k = 0; k < ssp->n_profiles && !rc; k++) {
                pg_otlp_profile *p = copy_profile(a, ssp->profiles[k], &r);
                if (!p || pg_otlp_push(a, (void ***)&sp->profiles, &sp->n_profiles, p))
                    rc = pg_arena_status(a);
            }
        }
        if (!rc && pg_otlp_push(a, (void ***)&dd->resource_profiles, &dd->n_resource_profiles, rp))
            rc = pg_arena_status(a);
    }
out:
    if (rc)
        rc = pg_err(err, errlen, rc, "merge: %s",
                    rc == PG_ELIMIT ? "batch memory limit reached" : "out of memory");
    remap_free(&r);
    return rc;
}

/* Clones src into a fresh batch (tree, dictionary, metadata, origin and ack). */
pg_batch *pg_batch_clone(const pg_batch *src, size_t arena_limit)
{
    pg_batch *b = pg_batch_new(arena_limit);
    if (!b) return NULL;
    if (pg_batch_merge(b, src, NULL, 0)) {
        pg_batch_free(b);
        return NULL;
    }
    if (pg_batch_inherit(b, src)) {
        pg_batch_free(b);
        return NULL;
    }
    return b;
}

/* Public names of the pieces above (see merge.h). */
int pg_dict_remap_build(pg_batch *dst, const pg_otlp_dict *src, pg_dict_remap *r)
{
    return build_remap(dst, src, r);
}

void pg_dict_remap_free(pg_dict_remap *r)
{
    remap_free(r);
    memset(r, 0, sizeof *r);
}

/* See merge.h: deep copies for code that splits a tree within one batch. */
pg_otlp_resource *pg_otlp_resource_copy(pg_arena *a, const pg_otlp_resource *s)
{
    return copy_resource(a, s);
}

pg_otlp_scope *pg_otlp_scope_copy(pg_arena *a, const pg_otlp_scope *s)
{
    return copy_scope(a, s);
}
