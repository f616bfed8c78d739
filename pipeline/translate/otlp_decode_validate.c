/* Checks a decoded OTLP tree before anything else reads it: every index in range, zero
 * elements in place, id lengths, sample shapes; resolves v1.10 string references. */
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/otlp_decode_int.h"
#include "pipeline/core/anyvalue.h"
#include "pipeline/core/dict.h"
#include "pipeline/core/err.h"
#include "pipeline/core/samples.h"
#include "pipeline/core/stacks.h"

#include <string.h>

typedef struct vctx {
    const pg_otlp_dict *d;
    char *err;
    size_t errlen;
    int depth;
    pg_samples checked; /* the identity columns last found valid (n == 0: none yet) */
} vctx;

#define BAD(...) pg_err(v->err, v->errlen, PG_EINVAL, "otlp: " __VA_ARGS__)

static int in_range(int32_t i, size_t n)
{
    return i >= 0 && (size_t)i < n;
}

/* Checks a list of attribute indices: in range and unique keys. */
static int check_attrs(vctx *v, const int32_t *ix, size_t n, const char *where, size_t pos)
{
    for (size_t i = 0; i < n; i++) {
        if (!in_range(ix[i], v->d->n_attribute_table))
            return BAD("%s[%zu]: attribute index %d out of range (table has %zu)", where, pos,
                       ix[i], v->d->n_attribute_table);
        for (size_t j = 0; j < i; j++)
            if (v->d->attribute_table[ix[j]]->key_strindex ==
                    v->d->attribute_table[ix[i]]->key_strindex &&
                ix[j] != 0)
                return BAD("%s[%zu]: duplicate attribute key \"%s\"", where, pos,
                           v->d->string_table[v->d->attribute_table[ix[i]]->key_strindex]);
    }
    return 0;
}

static int check_str(vctx *v, int32_t s, const char *where, size_t pos)
{
    if (!in_range(s, v->d->n_string_table))
        return BAD("%s[%zu]: string index %d out of range (table has %zu)", where, pos, s,
                   v->d->n_string_table);
    return 0;
}

/* Adds the zero element to empty tables; rejects a table whose element 0 is not zero. */
static int check_zero_elements(pg_arena *a, pg_otlp_dict *d, vctx *v)
{
    pg_otlp_dict *fresh = pg_otlp_dict_new(a);
    if (!fresh || pg_dict_add_zero_elements(a, fresh))
        return pg_err(v->err, v->errlen, PG_ENOMEM, "otlp: out of memory");
#define FILL(t)                                                                                    \
    do {                                                                                           \
        if (d->n_##t == 0) {                                                                       \
            d->t = fresh->t;                                                                       \
            d->n_##t = 1;                                                                          \
        }                                                                                          \
    } while (0)
    FILL(mapping_table);
    FILL(location_table);
    FILL(function_table);
    FILL(link_table);
    FILL(string_table);
    FILL(attribute_table);
#undef FILL
    if (pg_dict_stack_count(d) == 0 && !pg_dict_stack_columns(a, d))
        return pg_err(v->err, v->errlen, PG_ENOMEM, "otlp: out of memory");
    const pg_otlp_mapping *m = d->mapping_table[0];
    if (m->memory_start || m->memory_limit || m->file_offset || m->filename_strindex ||
        m->n_attribute_indices)
        return BAD("dictionary.mapping_table[0] must be the zero Mapping");
    const pg_otlp_location *l = d->location_table[0];
    if (l->mapping_index || l->address || l->n_lines || l->n_attribute_indices)
        return BAD("dictionary.location_table[0] must be the zero Location");
    const pg_otlp_function *f = d->function_table[0];
    if (f->name_strindex || f->system_name_strindex || f->filename_strindex || f->start_line)
        return BAD("dictionary.function_table[0] must be the zero Function");
    const pg_otlp_link *k = d->link_table[0];
    for (size_t i = 0; i < k->trace_id.len; i++)
        if (k->trace_id.data[i]) return BAD("dictionary.link_table[0] must be the zero Link");
    for (size_t i = 0; i < k->span_id.len; i++)
        if (k->span_id.data[i]) return BAD("dictionary.link_table[0] must be the zero Link");
    if (d->string_table[0][0]) return BAD("dictionary.string_table[0] must be the empty string");
    const pg_otlp_attr *at = d->attribute_table[0];
    if (at->key_strindex || at->unit_strindex ||
        (at->value && at->value->value_case != PG_ANY_NONE))
        return BAD("dictionary.attribute_table[0] must be the zero KeyValueAndUnit");
    pg_stack_ref s0;
    pg_dict_stack_at(d, 0, &s0);
    if (s0.n) return BAD("dictionary.stack_table[0] must be the empty Stack");
    return 0;
}

/* Checks every dictionary table's references. */
static int check_dictionary(vctx *v, pg_otlp_dict *d)
{
    int rc;
    for (size_t i = 0; i < d->n_mapping_table; i++) {
        const pg_otlp_mapping *m = d->mapping_table[i];
        if ((rc = check_str(v, m->filename_strindex, "mapping_table", i)) ||
            (rc = check_attrs(v, m->attribute_indices, m->n_attribute_indices, "mapping_table", i)))
            return rc;
    }
    for (size_t i = 0; i < d->n_function_table; i++) {
        const pg_otlp_function *f = d->function_table[i];
        if ((rc = check_str(v, f->name_strindex, "function_table", i)) ||
            (rc = check_str(v, f->system_name_strindex, "function_table", i)) ||
            (rc = check_str(v, f->filename_strindex, "function_table", i)))
            return rc;
    }
    for (size_t i = 0; i < d->n_location_table; i++) {
        const pg_otlp_location *l = d->location_table[i];
        if (!in_range(l->mapping_index, d->n_mapping_table))
            return BAD("location_table[%zu]: mapping index %d out of range", i, l->mapping_index);
        for (size_t j = 0; j < l->n_lines; j++)
            if (!in_range(l->lines[j]->function_index, d->n_function_table))
                return BAD("location_table[%zu].lines[%zu]: function index %d out of range", i, j,
                           l->lines[j]->function_index);
        if ((rc =
                 check_attrs(v, l->attribute_indices, l->n_attribute_indices, "location_table", i)))
            return rc;
    }
    for (size_t i = 0, ns = pg_dict_stack_count(d); i < ns; i++) {
        pg_stack_ref s;
        pg_dict_stack_at(d, i, &s);
        for (size_t j = 0; j < s.n; j++)
            if (!in_range(pg_stack_loc(&s, j), d->n_location_table))
                return BAD("stack_table[%zu]: location index %d out of range", i,
                           pg_stack_loc(&s, j));
    }
    for (size_t i = 1; i < d->n_link_table; i++) {
        const pg_otlp_link *k = d->link_table[i];
        if (k->trace_id.len != 16 || k->span_id.len != 8)
            return BAD("link_table[%zu]: trace_id must be 16 bytes and span_id 8 (got %zu and %zu)",
                       i, k->trace_id.len, k->span_id.len);
    }
    for (size_t i = 0; i < d->n_attribute_table; i++) {
        pg_otlp_attr *at = d->attribute_table[i];
        if ((rc = check_str(v, at->key_strindex, "attribute_table", i)) ||
            (rc = check_str(v, at->unit_strindex, "attribute_table", i)))
            return rc;
        if (pg_any_resolve_refs(at->value, d->string_table, d->n_string_table, v->depth))
            return BAD("attribute_table[%zu]: string reference out of range or nesting too deep",
                       i);
    }
    return 0;
}

static int check_kvs(vctx *v, pg_otlp_kv **kvs, size_t n, const char *where)
{
    for (size_t i = 0; i < n; i++)
        if (pg_kv_resolve_refs(kvs[i], v->d->string_table, v->d->n_string_table, v->depth))
            return BAD("%s attribute %zu: string reference out of range or nesting too deep", where,
                       i);
    return 0;
}

static int check_value_type(vctx *v, const pg_otlp_valuetype *t, size_t pos)
{
    int rc;
    if (!t) return 0;
    if ((rc = check_str(v, t->type_strindex, "profile", pos)) ||
        (rc = check_str(v, t->unit_strindex, "profile", pos)))
        return rc;
    return 0;
}

/* Index of the first entry of ids[0, n) outside [0, limit), or n when there is none. The
 * common case, every entry in range, is one pass that compilers vectorise. */
static size_t first_out_of_range(const int32_t *ids, size_t n, size_t limit)
{
    uint32_t worst = 0;
    for (size_t i = 0; i < n; i++)
        worst = (uint32_t)ids[i] > worst ? (uint32_t)ids[i] : worst;
    if (worst < limit) return n;
    size_t i = 0;
    while (in_range(ids[i], limit))
        i++;
    return i;
}

/* Checks the sample columns of profile number pos. Identity columns (stacks, links,
 * attributes) found valid before are not checked again: the profiles of one pprof share
 * them, so a profile with four sample types costs one pass, not four. */
static int check_samples(vctx *v, const pg_samples *c, size_t pos)
{
    size_t n = c->n, i;
    const pg_samples *last = &v->checked;
    int known = last->n == n && last->stack == c->stack && last->link == c->link &&
                last->attr_off == c->attr_off && last->attrs == c->attrs;
    if (n && !known) {
        if ((i = first_out_of_range(c->stack, n, pg_dict_stack_count(v->d))) < n)
            return BAD("profile %zu sample %zu: stack index %d out of range", pos, i, c->stack[i]);
        if (c->link && (i = first_out_of_range(c->link, n, v->d->n_link_table)) < n)
            return BAD("profile %zu sample %zu: link index %d out of range", pos, i, c->link[i]);
        if (c->attr_off && c->attrs) { /* as pg_samples_at reads them */
            int rc;
            for (i = 0; i < n; i++)
                if ((rc = check_attrs(v, c->attrs + c->attr_off[i],
                                      c->attr_off[i + 1] - c->attr_off[i], "sample", i)))
                    return rc;
        }
        v->checked = *c;
    }
    if (c->ts_off && c->ts) {
        pg_sample_ref r;
        for (i = 0; i < n; i++) {
            pg_samples_at(c, i, &r);
            if (r.n_values && r.n_ts && r.n_values != r.n_ts)
                return BAD("profile %zu sample %zu: %zu values but %zu timestamps", pos, i,
                           r.n_values, r.n_ts);
        }
    }
    return 0;
}

/* Checks one profile's fields and samples. */
static int check_profile(vctx *v, const pg_otlp_profile *p, size_t pos, size_t *samples,
                         size_t max_samples)
{
    int rc;
    if ((rc = check_value_type(v, p->sample_type, pos)) ||
        (rc = check_value_type(v, p->period_type, pos)) ||
        (rc = check_attrs(v, p->attribute_indices, p->n_attribute_indices, "profile", pos)))
        return rc;
    if (p->profile_id.len != 0 && p->profile_id.len != 16)
        return BAD("profile %zu: profile_id must be 16 bytes (got %zu)", pos, p->profile_id.len);
    size_t ns = pg_profile_sample_count(p);
    *samples += ns;
    if (max_samples && *samples > max_samples)
        return pg_err(v->err, v->errlen, PG_ELIMIT, "otlp: more than %zu samples", max_samples);
    return check_samples(v, pg_profile_columns(p), pos);
}

/* Validates d in place (the arena owns any zero elements added). */
int pg_otlp_validate(pg_arena *a, pg_otlp_data *d, const pg_decode_limits *lim, char *err,
                     size_t errlen)
{
    vctx vc = {.err = err, .errlen = errlen, .depth = lim->max_nesting}, *v = &vc;
    if (!d->dictionary && !(d->dictionary = pg_otlp_dict_new(a)))
        return pg_err(err, errlen, PG_ENOMEM, "otlp: out of memory");
    vc.d = d->dictionary;
    int rc;
    if ((rc = check_zero_elements(a, d->dictionary, v)) ||
        (rc = check_dictionary(v, d->dictionary)))
        return rc;
    size_t pos = 0, samples = 0;
    for (size_t r = 0; r < d->n_resource_profiles; r++) {
        pg_otlp_rprofiles *rp = d->resource_profiles[r];
        if (rp->resource &&
            (rc = check_kvs(v, rp->resource->attributes, rp->resource->n_attributes, "resource")))
            return rc;
        for (size_t s = 0; s < rp->n_scope_profiles; s++) {
            pg_otlp_sprofiles *sp = rp->scope_profiles[s];
            if (sp->scope &&
                (rc = check_kvs(v, sp->scope->attributes, sp->scope->n_attributes, "scope")))
                return rc;
            for (size_t p = 0; p < sp->n_profiles; p++, pos++)
                if ((rc = check_profile(v, sp->profiles[p], pos, &samples, lim->max_samples)))
                    return rc;
        }
    }
    if (pg_otlp_utf8_repair(a, d)) return pg_err(err, errlen, PG_ENOMEM, "otlp: out of memory");
    return 0;
}
