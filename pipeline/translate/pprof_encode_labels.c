/* OTLP attributes -> pprof labels (the inverse of pprof_decode_labels.c, plus faithful text for
 * values pprof has no type for: bool, double, bytes and kvlist become string labels). */
#include "pipeline/translate/pprof_encode_int.h"
#include "pipeline/translate/semconv.h"
#include "pipeline/core/err.h"
#include "pipeline/core/vec.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int push(pg_labels *l, int64_t key, int64_t str, int64_t num, int64_t unit)
{
    if (key < 0 || str < 0 || unit < 0) return (int)(key < 0 ? key : str < 0 ? str : unit);
    int rc = PG_VEC_RESERVE(l->v, l->cap, l->n + 1, 16);
    if (rc) return rc;
    l->v[l->n++] = (pg_label){key, str, num, unit};
    return 0;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

/* Renders a value as text (malloc'd); used for types pprof cannot hold. */
static char *to_text(const pg_otlp_any *v)
{
    char tmp[64];
    switch (v ? v->value_case : PG_ANY_NONE) {
    case PG_ANY_STRING:
        return strdup(v->string_value ? v->string_value : "");
    case PG_ANY_BOOL:
        return strdup(v->bool_value ? "true" : "false");
    case PG_ANY_INT:
        snprintf(tmp, sizeof tmp, "%" PRId64, v->int_value);
        return strdup(tmp);
    case PG_ANY_DOUBLE:
        snprintf(tmp, sizeof tmp, "%.17g", v->double_value);
        return strdup(tmp);
    case PG_ANY_BYTES: {
        char *s = malloc(2 * v->bytes_value.len + 1);
        if (s) hex(v->bytes_value.data, v->bytes_value.len, s);
        return s;
    }
    case PG_ANY_ARRAY:
    case PG_ANY_KVLIST: {
        /* [a,b] or {k=v,...}: a readable rendering, not a format */
        int arr = v->value_case == PG_ANY_ARRAY;
        size_t n = arr ? (v->array_value ? v->array_value->n_values : 0)
                       : (v->kvlist_value ? v->kvlist_value->n_values : 0);
        size_t len = 2, cap = 64;
        char *s = malloc(cap);
        if (!s) return NULL;
        s[0] = arr ? '[' : '{';
        s[1] = 0;
        len = 1;
        for (size_t i = 0; i < n; i++) {
            const pg_otlp_kv *kv = arr ? NULL : v->kvlist_value->values[i];
            char *e = to_text(arr ? v->array_value->values[i] : kv->value);
            if (!e) {
                free(s);
                return NULL;
            }
            size_t need = len + strlen(e) + (kv && kv->key ? strlen(kv->key) : 0) + 4;
            if (PG_VEC_RESERVE(s, cap, need, 64)) {
                free(e);
                free(s);
                return NULL;
            }
            len += (size_t)sprintf(s + len, "%s%s%s%s", i ? "," : "",
                                   kv ? (kv->key ? kv->key : "") : "", kv ? "=" : "", e);
            free(e);
        }
        s[len++] = arr ? ']' : '}';
        s[len] = 0;
        return s;
    }
    default:
        return strdup("");
    }
}

static int push_text(pg_labels *out, pg_strtab *t, int64_t key, const pg_otlp_any *v)
{
    char *s = to_text(v);
    if (!s) return PG_ENOMEM;
    int64_t str = pg_strtab_add(t, s, strlen(s), 1);
    free(s);
    return push(out, key, str, 0, 0);
}

/* A {value: int, unit: string} element written for a num label with its own unit. */
static int unit_pair(const pg_otlp_any *e, int64_t *num, const char **unit)
{
    if (e->value_case != PG_ANY_KVLIST || !e->kvlist_value || e->kvlist_value->n_values != 2)
        return 0;
    const pg_otlp_kv *a = e->kvlist_value->values[0], *b = e->kvlist_value->values[1];
    if (!a->key || !b->key || strcmp(a->key, PG_SC_LABEL_VALUE) ||
        strcmp(b->key, PG_SC_LABEL_UNIT) || !a->value || a->value->value_case != PG_ANY_INT ||
        !b->value || b->value->value_case != PG_ANY_STRING)
        return 0;
    *num = a->value->int_value;
    *unit = b->value->string_value;
    return 1;
}

/* Appends one label per value of v under key (arrays give several). */
static int value_labels(pg_labels *out, pg_strtab *t, int64_t key, const pg_otlp_any *v,
                        int64_t unit)
{
    switch (v ? v->value_case : PG_ANY_NONE) {
    case PG_ANY_NONE:
        return push(out, key, 0, 0, unit);
    case PG_ANY_STRING: {
        const char *s = v->string_value ? v->string_value : "";
        return push(out, key, pg_strtab_add(t, s, strlen(s), 0), 0, 0);
    }
    case PG_ANY_INT:
        return push(out, key, 0, v->int_value, unit);
    case PG_ANY_ARRAY:
        for (size_t i = 0; v->array_value && i < v->array_value->n_values; i++) {
            const pg_otlp_any *e = v->array_value->values[i];
            int64_t num;
            const char *u;
            int rc;
            if (unit_pair(e, &num, &u))
                rc = push(out, key, 0, num, pg_strtab_add(t, u, strlen(u), 0));
            else if (e->value_case == PG_ANY_STRING || e->value_case == PG_ANY_INT)
                rc = value_labels(out, t, key, e, unit);
            else
                rc = push_text(out, t, key, e);
            if (rc) return rc;
        }
        return 0;
    default:
        return push_text(out, t, key, v);
    }
}

/* Labels for one dictionary attribute. */
int pg_labels_from_attr(pg_labels *out, pg_strtab *t, const pg_otlp_dict *d,
                        const pg_otlp_attr *attr)
{
    int64_t key = pg_strtab_dict(t, d, attr->key_strindex);
    int64_t unit = pg_strtab_dict(t, d, attr->unit_strindex);
    if (key < 0 || unit < 0) return (int)(key < 0 ? key : unit);
    return value_labels(out, t, key, attr->value, unit);
}

/* Labels for a resource or scope KeyValue. */
int pg_labels_from_kv(pg_labels *out, pg_strtab *t, const pg_otlp_kv *kv)
{
    const char *k = kv->key ? kv->key : "";
    int64_t key = pg_strtab_add(t, k, strlen(k), 0);
    if (key < 0) return (int)key;
    return value_labels(out, t, key, kv->value, 0);
}

/* trace_id / span_id labels in lowercase hex. */
int pg_labels_from_link(pg_labels *out, pg_strtab *t, const pg_otlp_link *l)
{
    char buf[2 * 16 + 1];
    hex(l->trace_id.data, l->trace_id.len > 16 ? 16 : l->trace_id.len, buf);
    int64_t k1 = pg_strtab_add(t, PG_SC_LABEL_TRACE_ID, strlen(PG_SC_LABEL_TRACE_ID), 0);
    int rc = push(out, k1, pg_strtab_add(t, buf, strlen(buf), 1), 0, 0);
    if (rc) return rc;
    hex(l->span_id.data, l->span_id.len > 8 ? 8 : l->span_id.len, buf);
    int64_t k2 = pg_strtab_add(t, PG_SC_LABEL_SPAN_ID, strlen(PG_SC_LABEL_SPAN_ID), 0);
    return push(out, k2, pg_strtab_add(t, buf, strlen(buf), 1), 0, 0);
}

/* Payload bytes of one Label message. */
static size_t label_len(const pg_label *x)
{
    size_t n = 0;
    if (x->key) n += 1 + pg_wire_varint_size((uint64_t)x->key);
    if (x->str) n += 1 + pg_wire_varint_size((uint64_t)x->str);
    if (x->num) n += 1 + pg_wire_varint_size((uint64_t)x->num);
    if (x->unit) n += 1 + pg_wire_varint_size((uint64_t)x->unit);
    return n;
}

/* A non-zero varint field with a one-byte tag. */
static uint8_t *put_field(uint8_t *p, uint8_t tag, uint64_t v)
{
    if (!v) return p;
    *p++ = tag;
    return pg_wire_raw_varint(p, v);
}

/* Sum of the length-delimited Sample.label fields. */
size_t pg_labels_size(const pg_labels *l)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) {
        size_t k = label_len(&l->v[i]);
        n += 1 + pg_wire_varint_size(k) + k;
    }
    return n;
}

/* Writes each label as a length-delimited Sample.label at p (room checked by the caller). */
uint8_t *pg_labels_put(uint8_t *p, const pg_labels *l)
{
    for (size_t i = 0; i < l->n; i++) {
        const pg_label *x = &l->v[i];
        *p++ = (3 << 3) | PG_WT_LEN;
        p = pg_wire_raw_varint(p, label_len(x));
        p = put_field(p, (1 << 3) | PG_WT_VARINT, (uint64_t)x->key);
        p = put_field(p, (2 << 3) | PG_WT_VARINT, (uint64_t)x->str);
        p = put_field(p, (3 << 3) | PG_WT_VARINT, (uint64_t)x->num);
        p = put_field(p, (4 << 3) | PG_WT_VARINT, (uint64_t)x->unit);
    }
    return p;
}
