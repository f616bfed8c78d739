#include "pipeline/translate/otlp_dump.h"
#include "pipeline/core/err.h"
#include "pipeline/core/samples.h"
#include "pipeline/core/stacks.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* printf into the buffer. */
static void put(pg_buf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(pg_buf *o, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        pg_buf_append(o, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        o->failed = PG_ENOMEM;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    pg_buf_append(o, big, (size_t)n);
    free(big);
}

static void put_quoted(pg_buf *o, const char *s)
{
    pg_buf_append(o, "\"", 1);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            put(o, "\\%c", c);
        else if (c < 0x20)
            put(o, "\\x%02x", c);
        else
            pg_buf_append(o, s, 1);
    }
    pg_buf_append(o, "\"", 1);
}

static void put_any(pg_buf *o, const pg_otlp_any *v)
{
    switch (v ? v->value_case : PG_ANY_NONE) {
    case PG_ANY_STRING:
        put_quoted(o, v->string_value);
        break;
    case PG_ANY_BOOL:
        put(o, "%s", v->bool_value ? "true" : "false");
        break;
    case PG_ANY_INT:
        put(o, "%" PRId64, v->int_value);
        break;
    case PG_ANY_DOUBLE:
        put(o, "%.17g", v->double_value);
        break;
    case PG_ANY_STRINDEX:
        put(o, "strindex(%d)", v->string_value_strindex);
        break;
    case PG_ANY_BYTES:
        put(o, "0x");
        for (size_t i = 0; i < v->bytes_value.len; i++)
            put(o, "%02x", v->bytes_value.data[i]);
        break;
    case PG_ANY_ARRAY:
        put(o, "[");
        for (size_t i = 0; v->array_value && i < v->array_value->n_values; i++) {
            if (i) put(o, ", ");
            put_any(o, v->array_value->values[i]);
        }
        put(o, "]");
        break;
    case PG_ANY_KVLIST:
        put(o, "{");
        for (size_t i = 0; v->kvlist_value && i < v->kvlist_value->n_values; i++) {
            const pg_otlp_kv *kv = v->kvlist_value->values[i];
            put(o, "%s%s=", i ? ", " : "", kv->key ? kv->key : "");
            put_any(o, kv->value);
        }
        put(o, "}");
        break;
    default:
        put(o, "<empty>");
        break;
    }
}

typedef struct ctx {
    const pg_otlp_dict *d;
    pg_buf *o;
    int mode;
} ctx;

static const char *S(const ctx *c, int32_t i)
{
    return c->d->string_table[i];
}

static int cmp_attr_key(const void *a, const void *b, void *d)
{
    const pg_otlp_dict *dict = d;
    const pg_otlp_attr *x = dict->attribute_table[*(const int32_t *)a];
    const pg_otlp_attr *y = dict->attribute_table[*(const int32_t *)b];
    return strcmp(dict->string_table[x->key_strindex], dict->string_table[y->key_strindex]);
}

/* Sorts a copy of ix by key (insertion sort: lists are short). */
static void sort_attrs(const pg_otlp_dict *d, int32_t *ix, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && cmp_attr_key(&ix[j - 1], &ix[j], (void *)d) > 0; j--) {
            int32_t t = ix[j];
            ix[j] = ix[j - 1];
            ix[j - 1] = t;
        }
}

static void put_attrs(ctx *c, const int32_t *ix, size_t n)
{
    if (!n) return;
    int32_t tmp[64], *v = n <= 64 ? tmp : malloc(n * sizeof *v);
    if (!v) {
        c->o->failed = PG_ENOMEM;
        return;
    }
    memcpy(v, ix, n * sizeof *v);
    if (c->mode & PG_DUMP_CANONICAL) sort_attrs(c->d, v, n);
    put(c->o, " {");
    for (size_t i = 0; i < n; i++) {
        const pg_otlp_attr *a = c->d->attribute_table[v[i]];
        put(c->o, "%s%s=", i ? ", " : "", S(c, a->key_strindex));
        put_any(c->o, a->value);
        if (a->unit_strindex) put(c->o, " (%s)", S(c, a->unit_strindex));
    }
    put(c->o, "}");
    if (v != tmp) free(v);
}

static void put_kvs(ctx *c, pg_otlp_kv **kvs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        put(c->o, "%s%s=", i ? ", " : "", kvs[i]->key ? kvs[i]->key : "");
        put_any(c->o, kvs[i]->value);
    }
}

static void put_location(ctx *c, int32_t li)
{
    const pg_otlp_location *l = c->d->location_table[li];
    put(c->o, "      0x%" PRIx64, l->address);
    if (l->mapping_index) {
        const pg_otlp_mapping *m = c->d->mapping_table[l->mapping_index];
        put(c->o, " M[0x%" PRIx64 "-0x%" PRIx64 "@0x%" PRIx64 " %s", m->memory_start,
            m->memory_limit, m->file_offset, S(c, m->filename_strindex));
        put_attrs(c, m->attribute_indices, m->n_attribute_indices);
        put(c->o, "]");
    }
    for (size_t j = 0; j < l->n_lines; j++) {
        const pg_otlp_line *ln = l->lines[j];
        const pg_otlp_function *f = c->d->function_table[ln->function_index];
        put(c->o, "%s %s", j ? " |" : "", S(c, f->name_strindex));
        if (f->system_name_strindex != f->name_strindex)
            put(c->o, " [%s]", S(c, f->system_name_strindex));
        put(c->o, " %s:%" PRId64 ":%" PRId64 " s=%" PRId64, S(c, f->filename_strindex), ln->line,
            ln->column, f->start_line);
    }
    put_attrs(c, l->attribute_indices, l->n_attribute_indices);
    put(c->o, "\n");
}

static void put_vt(ctx *c, const char *name, const pg_otlp_valuetype *v)
{
    if (v) put(c->o, " %s=%s/%s", name, S(c, v->type_strindex), S(c, v->unit_strindex));
}

static void put_profile(ctx *c, const pg_otlp_profile *p)
{
    put(c->o, "  profile");
    put_vt(c, "type", p->sample_type);
    size_t ns = pg_profile_sample_count(p);
    put(c->o, " samples=%zu time=%" PRIu64 " duration=%" PRIu64, ns, p->time_unix_nano,
        p->duration_nano);
    put_vt(c, "period_type", p->period_type);
    put(c->o, " period=%" PRId64, p->period);
    if (p->profile_id.len) {
        put(c->o, " id=");
        for (size_t i = 0; i < p->profile_id.len; i++)
            put(c->o, "%02x", p->profile_id.data[i]);
    }
    put_attrs(c, p->attribute_indices, p->n_attribute_indices);
    put(c->o, "\n");
    if (!(c->mode & (PG_DUMP_DETAILED | PG_DUMP_CANONICAL))) return;
    for (size_t i = 0; i < ns; i++) {
        pg_sample_ref s;
        pg_sample_at(p, i, &s);
        put(c->o, "    sample values=[");
        for (size_t k = 0; k < s.n_values; k++)
            put(c->o, "%s%" PRId64, k ? "," : "", s.values[k]);
        put(c->o, "]");
        if (s.n_ts) {
            put(c->o, " timestamps=[");
            for (size_t k = 0; k < s.n_ts; k++)
                put(c->o, "%s%" PRIu64, k ? "," : "", s.ts[k]);
            put(c->o, "]");
        }
        if (s.link) {
            const pg_otlp_link *l = c->d->link_table[s.link];
            put(c->o, " link=");
            for (size_t k = 0; k < l->trace_id.len; k++)
                put(c->o, "%02x", l->trace_id.data[k]);
            put(c->o, "/");
            for (size_t k = 0; k < l->span_id.len; k++)
                put(c->o, "%02x", l->span_id.data[k]);
        }
        put_attrs(c, s.attrs, s.n_attrs);
        put(c->o, "\n");
        pg_stack_ref st;
        pg_dict_stack_at(c->d, (size_t)s.stack, &st);
        for (size_t k = 0; k < st.n; k++)
            put_location(c, pg_stack_loc(&st, k));
    }
}

/* Renders the whole tree. */
int pg_otlp_dump(const pg_batch *b, int mode, pg_buf *out)
{
    const pg_otlp_data *d = pg_batch_data(b);
    ctx c = {d->dictionary, out, mode};
    for (size_t r = 0; r < d->n_resource_profiles; r++) {
        const pg_otlp_rprofiles *rp = d->resource_profiles[r];
        put(out, "resource {");
        if (rp->resource) put_kvs(&c, rp->resource->attributes, rp->resource->n_attributes);
        put(out, "}%s%s\n", rp->schema_url && *rp->schema_url ? " schema=" : "",
            rp->schema_url ? rp->schema_url : "");
        for (size_t s = 0; s < rp->n_scope_profiles; s++) {
            const pg_otlp_sprofiles *sp = rp->scope_profiles[s];
            const pg_otlp_scope *sc = sp->scope;
            put(out, " scope %s %s {", sc && sc->name ? sc->name : "",
                sc && sc->version ? sc->version : "");
            if (sc) put_kvs(&c, sc->attributes, sc->n_attributes);
            put(out, "}\n");
            for (size_t p = 0; p < sp->n_profiles; p++)
                put_profile(&c, sp->profiles[p]);
        }
    }
    return out->failed;
}

/* One summary line for a profile. */
int pg_otlp_dump_profile_line(const pg_batch *b, const pg_otlp_profile *p, pg_buf *out)
{
    ctx c = {pg_batch_dict(b), out, PG_DUMP_SUMMARY};
    put_profile(&c, p);
    return out->failed;
}
