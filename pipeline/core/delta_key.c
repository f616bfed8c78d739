/* Content hashes for cumulative-to-delta: sample identities (stack and attributes by
 * content, never by dictionary index), profile types and resources. */
#include "pipeline/core/delta_int.h"

#include "pipeline/core/anyvalue.h"
#include "pipeline/core/err.h"
#include "pipeline/core/hash.h"
#include "pipeline/core/stacks.h"

#include <stdlib.h>
#include <string.h>

#define SEED_STR 0x5d1e7a0f3c2b9e11ull
#define SEED_ATTR 0x2f6b1c9d8e3a4705ull

/* Hash of dictionary string i of d (the empty string for an index out of range). */
static uint64_t str_hash(const pg_otlp_dict *d, int32_t i)
{
    const char *s = i > 0 && (size_t)i < d->n_string_table ? d->string_table[i] : "";
    return pg_hash_bytes(s, strlen(s), SEED_STR);
}

/* Hash of an attribute value by content: string references resolved to their text. */
static uint64_t any_hash(const pg_otlp_dict *d, const pg_otlp_any *v)
{
    if (v && v->value_case == PG_ANY_STRINDEX)
        return pg_hash_mix(str_hash(d, v->string_value_strindex), PG_ANY_STRING);
    if (v && v->value_case == PG_ANY_STRING)
        return pg_hash_mix(pg_hash_bytes(v->string_value, strlen(v->string_value), SEED_STR),
                           PG_ANY_STRING);
    return pg_any_hash(v, SEED_ATTR);
}

/* Hash of attribute-table entry i (key, value, unit by content). */
static uint64_t attr_hash(const pg_otlp_dict *d, int32_t i)
{
    if (i <= 0 || (size_t)i >= d->n_attribute_table) return 0;
    const pg_otlp_attr *a = d->attribute_table[i];
    uint64_t h = pg_hash_mix(str_hash(d, a->key_strindex), any_hash(d, a->value));
    return pg_hash_mix(h, str_hash(d, a->unit_strindex));
}

/* Hash of location i by content (address and every line's function and position). */
static uint64_t loc_hash(const pg_otlp_dict *d, int32_t i)
{
    if (i <= 0 || (size_t)i >= d->n_location_table) return 0x77;
    const pg_otlp_location *l = d->location_table[i];
    uint64_t h = pg_hash_mix(0x1f, l->address);
    for (size_t j = 0; j < l->n_lines; j++) {
        const pg_otlp_line *ln = l->lines[j];
        int32_t fi = ln->function_index;
        if (fi > 0 && (size_t)fi < d->n_function_table) {
            const pg_otlp_function *f = d->function_table[fi];
            h = pg_hash_mix(h, str_hash(d, f->name_strindex));
            h = pg_hash_mix(h, str_hash(d, f->system_name_strindex));
            h = pg_hash_mix(h, str_hash(d, f->filename_strindex));
        }
        h = pg_hash_mix(h, (uint64_t)ln->line);
        h = pg_hash_mix(h, (uint64_t)ln->column);
    }
    return h;
}

/* See delta_int.h. */
int pg_delta_keys_init(pg_delta_keys *k, const pg_batch *b)
{
    const pg_otlp_dict *d = pg_batch_dict(b);
    memset(k, 0, sizeof *k);
    k->b = b;
    k->n_stack = pg_dict_stack_count(d);
    k->n_loc = d->n_location_table;
    k->stack = calloc(k->n_stack ? k->n_stack : 1, sizeof *k->stack);
    k->loc = calloc(k->n_loc ? k->n_loc : 1, sizeof *k->loc);
    if (!k->stack || !k->loc) {
        pg_delta_keys_free(k);
        return PG_ENOMEM;
    }
    return 0;
}

/* See delta_int.h. */
void pg_delta_keys_free(pg_delta_keys *k)
{
    free(k->stack);
    free(k->loc);
    k->stack = k->loc = NULL;
}

/* Hash of stack i, cached. */
static uint64_t stack_hash(pg_delta_keys *k, int32_t i)
{
    if (i < 0 || (size_t)i >= k->n_stack) return 0x55;
    if (k->stack[i]) return k->stack[i];
    const pg_otlp_dict *d = pg_batch_dict(k->b);
    pg_stack_ref r;
    pg_dict_stack_at(d, (size_t)i, &r);
    uint64_t h = pg_hash_mix(0x3b, r.n);
    for (size_t j = 0; j < r.n; j++) {
        int32_t li = pg_stack_loc(&r, j);
        uint64_t lh;
        if (li > 0 && (size_t)li < k->n_loc) {
            if (!k->loc[li]) k->loc[li] = loc_hash(d, li) | 1;
            lh = k->loc[li];
        } else {
            lh = loc_hash(d, li);
        }
        h = pg_hash_mix(h, lh);
    }
    return k->stack[i] = h | 1;
}

/* See delta_int.h. */
uint64_t pg_delta_keys_sample(pg_delta_keys *k, const pg_sample_ref *s)
{
    const pg_otlp_dict *d = pg_batch_dict(k->b);
    uint64_t attrs = 0;
    for (size_t j = 0; j < s->n_attrs; j++)
        attrs += pg_hash_mix(SEED_ATTR, attr_hash(d, s->attrs[j])); /* order-free */
    uint64_t h = pg_hash_mix(stack_hash(k, s->stack), attrs);
    return pg_hash_mix(h, s->n_attrs) | 1;
}

/* See delta.h. */
uint64_t pg_delta_sample_hash(const pg_batch *b, const pg_sample_ref *s)
{
    pg_delta_keys k;
    if (pg_delta_keys_init(&k, b)) return 1;
    uint64_t h = pg_delta_keys_sample(&k, s);
    pg_delta_keys_free(&k);
    return h;
}

/* Hash of a ValueType's two strings (0 for NULL). */
static uint64_t vt_hash(const pg_otlp_dict *d, const pg_otlp_valuetype *v)
{
    if (!v) return 0;
    return pg_hash_mix(str_hash(d, v->type_strindex), str_hash(d, v->unit_strindex));
}

/* See delta.h. */
uint64_t pg_delta_type_hash(const pg_batch *b, const pg_otlp_profile *p)
{
    const pg_otlp_dict *d = pg_batch_dict(b);
    return pg_hash_mix(vt_hash(d, p->sample_type), vt_hash(d, p->period_type));
}

/* See delta.h. */
uint64_t pg_delta_resource_hash(const pg_batch *b, const pg_otlp_resource *r)
{
    if (!r) return 0;
    const pg_otlp_dict *d = pg_batch_dict(b);
    uint64_t h = 0;
    for (size_t i = 0; i < r->n_attributes; i++) {
        const pg_otlp_kv *kv = r->attributes[i];
        uint64_t kh = kv->key && *kv->key ? pg_hash_bytes(kv->key, strlen(kv->key), SEED_STR)
                                          : str_hash(d, kv->key_strindex);
        h += pg_hash_mix(kh, any_hash(d, kv->value));
    }
    return pg_hash_mix(h, r->n_attributes);
}

/* See delta.h. */
int pg_delta_is_inuse(const pg_batch *b, const pg_otlp_profile *p)
{
    const pg_otlp_dict *d = pg_batch_dict(b);
    if (!p->sample_type) return 0;
    int32_t i = p->sample_type->type_strindex;
    if (i <= 0 || (size_t)i >= d->n_string_table) return 0;
    return strncmp(d->string_table[i], "inuse_", 6) == 0;
}
