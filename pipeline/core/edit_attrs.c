/* The attribute half of the edit API (see edit.h): resource KeyValues read and written in
 * either key form, attribute-table lookups, and a one-pass rewrite of every sample's
 * attribute list into columns the profile owns. */
#include "pipeline/core/anyvalue.h"
#include "pipeline/core/dict.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/core/merge.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* String i of b's table, "" when out of range. Borrowed. */
static const char *str_at(const pg_batch *b, int32_t i)
{
    const pg_otlp_dict *d = pg_batch_dict(b);
    if (i < 0 || (size_t)i >= d->n_string_table || !d->string_table[i]) return "";
    return d->string_table[i];
}

/* Key text of kv (borrowed). */
const char *pg_kv_key(const pg_batch *b, const pg_otlp_kv *kv)
{
    if (kv->key && kv->key[0]) return kv->key;
    return kv->key_strindex ? str_at(b, kv->key_strindex) : "";
}

/* String value text (borrowed) or NULL. */
const char *pg_any_str(const pg_batch *b, const pg_otlp_any *v)
{
    if (!v) return NULL;
    if (v->value_case == PG_ANY_STRING) return v->string_value ? v->string_value : "";
    if (v->value_case == PG_ANY_STRINDEX) return str_at(b, v->string_value_strindex);
    return NULL;
}

/* v as text in buf (see edit.h). */
const char *pg_any_text(const pg_batch *b, const pg_otlp_any *v, char *buf, size_t len)
{
    const char *s = pg_any_str(b, v);
    if (len) buf[0] = 0;
    if (s) {
        snprintf(buf, len, "%s", s);
        return buf;
    }
    if (!v) return buf;
    switch (v->value_case) {
    case PG_ANY_INT:
        snprintf(buf, len, "%" PRId64, v->int_value);
        break;
    case PG_ANY_BOOL:
        snprintf(buf, len, "%s", v->bool_value ? "true" : "false");
        break;
    case PG_ANY_DOUBLE:
        snprintf(buf, len, "%.17g", v->double_value);
        break;
    case PG_ANY_BYTES:
        for (size_t i = 0; i < v->bytes_value.len && 2 * i + 2 < len; i++)
            snprintf(buf + 2 * i, 3, "%02x", v->bytes_value.data[i]);
        break;
    default:
        break;
    }
    return buf;
}

/* Position of key among rp's resource attributes, or PG_ENOTFOUND. */
int pg_resource_attr_find(const pg_batch *b, const pg_otlp_rprofiles *rp, const char *key)
{
    const pg_otlp_resource *r = rp->resource;
    for (size_t i = 0; r && i < r->n_attributes; i++)
        if (!strcmp(pg_kv_key(b, r->attributes[i]), key)) return (int)i;
    return PG_ENOTFOUND;
}

/* A deep copy of v in b's arena with string references made inline; NULL over the cap. */
static pg_otlp_any *copy_resolved(pg_batch *b, const pg_otlp_any *v)
{
    pg_arena *a = pg_batch_arena(b);
    pg_otlp_any *c = pg_any_copy(a, v);
    if (!c) return NULL;
    const pg_otlp_dict *d = pg_batch_dict(b);
    if (pg_any_resolve_refs(c, d->string_table, d->n_string_table, 64)) {
        /* a dangling reference reads as "" rather than failing the edit */
        if (c->value_case == PG_ANY_STRINDEX) {
            c->value_case = PG_ANY_STRING;
            c->string_value = "";
        }
    }
    return c;
}

/* Sets (replaces or appends) a resource attribute (see edit.h). */
int pg_resource_attr_set(pg_batch *b, pg_otlp_rprofiles *rp, const char *key, const pg_otlp_any *v)
{
    pg_arena *a = pg_batch_arena(b);
    if (pg_batch_refs(b) != 1 || !key) return PG_EINVAL;
    pg_otlp_any *c = copy_resolved(b, v);
    if (!c) return pg_arena_status(a);
    int at = pg_resource_attr_find(b, rp, key);
    if (at >= 0) {
        rp->resource->attributes[at]->value = c;
        return 0;
    }
    if (!rp->resource && !(rp->resource = pg_otlp_resource_new(a))) return pg_arena_status(a);
    pg_otlp_kv *kv = pg_otlp_kv_new(a);
    if (!kv || !(kv->key = pg_arena_strndup(a, key, strlen(key)))) return pg_arena_status(a);
    kv->value = c;
    pg_otlp_resource *r = rp->resource;
    return pg_otlp_push(a, (void ***)&r->attributes, &r->n_attributes, kv);
}

/* Removes a resource attribute (see edit.h). */
int pg_resource_attr_delete(pg_batch *b, pg_otlp_rprofiles *rp, const char *key)
{
    int at = pg_resource_attr_find(b, rp, key);
    if (at < 0) return 0;
    pg_otlp_resource *r = rp->resource;
    memmove(&r->attributes[at], &r->attributes[at + 1],
            (r->n_attributes - (size_t)at - 1) * sizeof *r->attributes);
    r->n_attributes--;
    return 1;
}

/* Renames a resource attribute (see edit.h). */
int pg_resource_attr_rename(pg_batch *b, pg_otlp_rprofiles *rp, const char *from, const char *to)
{
    int at = pg_resource_attr_find(b, rp, from);
    if (at < 0) return 0;
    if (!strcmp(from, to)) return 1;
    pg_otlp_kv *kv = rp->resource->attributes[at];
    pg_resource_attr_delete(b, rp, to);
    char *k = pg_arena_strndup(pg_batch_arena(b), to, strlen(to));
    if (!k) return pg_arena_status(pg_batch_arena(b));
    kv->key = k;
    kv->key_strindex = 0;
    return 1;
}

/* Key text of attribute a (borrowed). */
const char *pg_attr_key(const pg_batch *b, int32_t a)
{
    const pg_otlp_dict *d = pg_batch_dict(b);
    if (a < 0 || (size_t)a >= d->n_attribute_table) return "";
    return str_at(b, d->attribute_table[a]->key_strindex);
}

/* Value of attribute a (borrowed) or NULL. */
const pg_otlp_any *pg_attr_value(const pg_batch *b, int32_t a)
{
    const pg_otlp_dict *d = pg_batch_dict(b);
    if (a < 0 || (size_t)a >= d->n_attribute_table) return NULL;
    return d->attribute_table[a]->value;
}

/* Position of the attribute keyed key_str in attrs, or PG_ENOTFOUND. */
int pg_attrs_find(const pg_batch *b, const int32_t *attrs, size_t n, int32_t key_str)
{
    const pg_otlp_dict *d = pg_batch_dict(b);
    for (size_t i = 0; i < n; i++)
        if (attrs[i] > 0 && (size_t)attrs[i] < d->n_attribute_table &&
            d->attribute_table[attrs[i]]->key_strindex == key_str)
            return (int)i;
    return PG_ENOTFOUND;
}

/* Interns (key text, copy of v). */
int32_t pg_dict_attr_kv(pg_batch *b, const char *key, const pg_otlp_any *v)
{
    int32_t k = pg_dict_string(b, key, strlen(key));
    if (k < 0) return k;
    if (v && v->value_case == PG_ANY_STRINDEX) {
        pg_otlp_any *c = copy_resolved(b, v);
        if (!c) return pg_arena_status(pg_batch_arena(b));
        v = c;
    }
    return pg_dict_attr(b, k, v, 0);
}

/* Rewrites every sample's attribute list (see edit.h). */
int pg_profile_rewrite_attrs(pg_batch *b, pg_profile *p, size_t extra, pg_attrs_rewrite_fn fn,
                             void *ctx)
{
    if (pg_batch_refs(b) != 1) return PG_EINVAL;
    pg_samples *c = &p->samples;
    size_t n = c->n, total = c->attr_off && c->attrs ? c->attr_off[n] : 0;
    if (!n) return 0;
    size_t cap = total + n * extra;
    pg_arena *a = pg_batch_arena(b);
    uint32_t *off = pg_arena_alloc(a, (n + 1) * sizeof *off);
    int32_t *pool = pg_arena_alloc(a, (cap ? cap : 1) * sizeof *pool);
    if (!off || !pool) return pg_arena_status(a);
    size_t used = 0, na = pg_batch_dict(b)->n_attribute_table;
    off[0] = 0;
    for (size_t i = 0; i < n; i++) {
        const int32_t *in = NULL;
        size_t nin = 0;
        if (c->attr_off && c->attrs) {
            in = c->attrs + c->attr_off[i];
            nin = c->attr_off[i + 1] - c->attr_off[i];
        }
        int k = fn(ctx, in, nin, pool + used, nin + extra);
        if (k < 0) return k;
        if ((size_t)k > nin + extra) return PG_EINTERNAL;
        na = pg_batch_dict(b)->n_attribute_table; /* fn may intern attributes */
        for (int j = 0; j < k; j++)
            if (pool[used + (size_t)j] < 0 || (size_t)pool[used + (size_t)j] >= na)
                return PG_EINVAL;
        used += (size_t)k;
        off[i + 1] = (uint32_t)used;
    }
    if (used == 0) {
        c->attr_off = NULL;
        c->attrs = NULL;
    } else {
        c->attr_off = off;
        c->attrs = pool;
    }
    c->owned |= PG_COL_ATTRS;
    return 0;
}

/* Replaces the profile message's attribute indices. */
int pg_profile_set_attrs(pg_batch *b, pg_profile *p, const int32_t *attrs, size_t n)
{
    size_t na = pg_batch_dict(b)->n_attribute_table;
    if (pg_batch_refs(b) != 1) return PG_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (attrs[i] < 0 || (size_t)attrs[i] >= na) return PG_EINVAL;
    int32_t *c = pg_arena_memdup(pg_batch_arena(b), attrs, n * sizeof *attrs);
    if (!c) return pg_arena_status(pg_batch_arena(b));
    p->msg.attribute_indices = n ? c : NULL;
    p->msg.n_attribute_indices = n;
    return 0;
}

/* A new empty ResourceProfiles copying rp's resource. */
pg_otlp_rprofiles *pg_resource_clone_empty(pg_batch *b, const pg_otlp_rprofiles *rp)
{
    pg_arena *a = pg_batch_arena(b);
    pg_otlp_rprofiles *n = pg_otlp_rprofiles_new(a);
    if (!n) return NULL;
    if (rp->resource) {
        if (!(n->resource = pg_otlp_resource_copy(a, rp->resource))) return NULL;
        for (size_t i = 0; i < rp->resource->n_attributes; i++) { /* keys as text */
            const char *k = pg_kv_key(b, rp->resource->attributes[i]);
            if (!(n->resource->attributes[i]->key = pg_arena_strndup(a, k, strlen(k)))) return NULL;
        }
    }
    const char *su = rp->schema_url ? rp->schema_url : "";
    if (!(n->schema_url = pg_arena_strndup(a, su, strlen(su)))) return NULL;
    pg_otlp_data *d = pg_batch_data(b);
    if (pg_otlp_push(a, (void ***)&d->resource_profiles, &d->n_resource_profiles, n)) return NULL;
    return n;
}

/* A new empty ScopeProfiles in rp copying sp's scope. */
pg_otlp_sprofiles *pg_scope_clone_empty(pg_batch *b, pg_otlp_rprofiles *rp,
                                        const pg_otlp_sprofiles *sp)
{
    pg_arena *a = pg_batch_arena(b);
    pg_otlp_sprofiles *n = pg_otlp_sprofiles_new(a);
    if (!n) return NULL;
    if (sp->scope && !(n->scope = pg_otlp_scope_copy(a, sp->scope))) return NULL;
    const char *su = sp->schema_url ? sp->schema_url : "";
    if (!(n->schema_url = pg_arena_strndup(a, su, strlen(su)))) return NULL;
    if (pg_otlp_push(a, (void ***)&rp->scope_profiles, &rp->n_scope_profiles, n)) return NULL;
    return n;
}

/* Removes dropped profiles and the scopes and resources they leave empty (see edit.h). */
int pg_batch_drop_profiles(pg_batch *b, const uint8_t *drop)
{
    if (pg_batch_refs(b) != 1) return PG_EINVAL;
    pg_otlp_data *d = pg_batch_data(b);
    size_t k = 0, removed = 0, nr = 0;
    for (size_t r = 0; r < d->n_resource_profiles; r++) {
        pg_otlp_rprofiles *rp = d->resource_profiles[r];
        size_t ns = 0;
        for (size_t s = 0; s < rp->n_scope_profiles; s++) {
            pg_otlp_sprofiles *sp = rp->scope_profiles[s];
            size_t np = 0, had = sp->n_profiles;
            for (size_t p = 0; p < sp->n_profiles; p++, k++)
                if (drop[k])
                    removed++;
                else
                    sp->profiles[np++] = sp->profiles[p];
            sp->n_profiles = np;
            if (np || !had) rp->scope_profiles[ns++] = sp;
        }
        size_t had_scopes = rp->n_scope_profiles;
        rp->n_scope_profiles = ns;
        if (ns || !had_scopes) d->resource_profiles[nr++] = rp;
    }
    d->n_resource_profiles = nr;
    return (int)removed;
}
