#include "pipeline/core/anyvalue.h"
#include "pipeline/core/err.h"
#include "pipeline/core/utf8.h"
#include "pipeline/core/hash.h"

#include <string.h>

static const pg_otlp_any empty_any = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;

static inline const pg_otlp_any *or_empty(const pg_otlp_any *v)
{
    return v ? v : &empty_any;
}

static uint64_t hash_str(const char *s, uint64_t h)
{
    return pg_hash_bytes(s ? s : "", s ? strlen(s) : 0, h);
}

/* Hashes v recursively; borrows v. */
uint64_t pg_any_hash(const pg_otlp_any *v, uint64_t seed)
{
    v = or_empty(v);
    uint64_t h = pg_hash_mix(seed, (uint64_t)v->value_case);
    switch (v->value_case) {
    case PG_ANY_STRING:
        return hash_str(v->string_value, h);
    case PG_ANY_BOOL:
        return pg_hash_mix(h, (uint64_t) !!v->bool_value);
    case PG_ANY_INT:
        return pg_hash_mix(h, (uint64_t)v->int_value);
    case PG_ANY_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, &v->double_value, 8);
        return pg_hash_mix(h, bits);
    }
    case PG_ANY_BYTES:
        return pg_hash_bytes(v->bytes_value.data, v->bytes_value.len, h);
    case PG_ANY_STRINDEX:
        return pg_hash_mix(h, (uint64_t)(uint32_t)v->string_value_strindex);
    case PG_ANY_ARRAY:
        if (v->array_value)
            for (size_t i = 0; i < v->array_value->n_values; i++)
                h = pg_any_hash(v->array_value->values[i], h);
        return h;
    case PG_ANY_KVLIST:
        if (v->kvlist_value)
            for (size_t i = 0; i < v->kvlist_value->n_values; i++) {
                const pg_otlp_kv *kv = v->kvlist_value->values[i];
                h = hash_str(kv->key, pg_hash_mix(h, (uint64_t)(uint32_t)kv->key_strindex));
                h = pg_any_hash(kv->value, h);
            }
        return h;
    default:
        return h;
    }
}

static int str_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Compares a and b recursively; borrows both. */
int pg_any_equal(const pg_otlp_any *a, const pg_otlp_any *b)
{
    a = or_empty(a);
    b = or_empty(b);
    if (a->value_case != b->value_case) return 0;
    switch (a->value_case) {
    case PG_ANY_STRING:
        return str_eq(a->string_value, b->string_value);
    case PG_ANY_BOOL:
        return !!a->bool_value == !!b->bool_value;
    case PG_ANY_INT:
        return a->int_value == b->int_value;
    case PG_ANY_DOUBLE:
        return memcmp(&a->double_value, &b->double_value, 8) == 0;
    case PG_ANY_BYTES:
        return a->bytes_value.len == b->bytes_value.len &&
               (a->bytes_value.len == 0 ||
                memcmp(a->bytes_value.data, b->bytes_value.data, a->bytes_value.len) == 0);
    case PG_ANY_STRINDEX:
        return a->string_value_strindex == b->string_value_strindex;
    case PG_ANY_ARRAY: {
        size_t na = a->array_value ? a->array_value->n_values : 0;
        size_t nb = b->array_value ? b->array_value->n_values : 0;
        if (na != nb) return 0;
        for (size_t i = 0; i < na; i++)
            if (!pg_any_equal(a->array_value->values[i], b->array_value->values[i])) return 0;
        return 1;
    }
    case PG_ANY_KVLIST: {
        size_t na = a->kvlist_value ? a->kvlist_value->n_values : 0;
        size_t nb = b->kvlist_value ? b->kvlist_value->n_values : 0;
        if (na != nb) return 0;
        for (size_t i = 0; i < na; i++) {
            const pg_otlp_kv *x = a->kvlist_value->values[i], *y = b->kvlist_value->values[i];
            if (x->key_strindex != y->key_strindex || !str_eq(x->key, y->key) ||
                !pg_any_equal(x->value, y->value))
                return 0;
        }
        return 1;
    }
    default:
        return 1;
    }
}

/* Copies src's content into dst, allocating children in the arena. */
int pg_any_copy_into(pg_arena *a, pg_otlp_any *dst, const pg_otlp_any *src)
{
    src = or_empty(src);
    *dst = *src;
    switch (src->value_case) {
    case PG_ANY_STRING: {
        const char *s = src->string_value ? src->string_value : "";
        dst->string_value = pg_arena_strndup(a, s, strlen(s));
        return dst->string_value ? 0 : pg_arena_status(a);
    }
    case PG_ANY_BYTES:
        dst->bytes_value.data = pg_arena_memdup(a, src->bytes_value.data, src->bytes_value.len);
        return dst->bytes_value.data ? 0 : pg_arena_status(a);
    case PG_ANY_ARRAY: {
        pg_otlp_array *arr = pg_otlp_array_new(a);
        if (!arr) return pg_arena_status(a);
        size_t n = src->array_value ? src->array_value->n_values : 0;
        arr->values = pg_arena_alloc(a, (n ? n : 1) * sizeof *arr->values);
        if (!arr->values) return pg_arena_status(a);
        for (size_t i = 0; i < n; i++)
            if (!(arr->values[i] = pg_any_copy(a, src->array_value->values[i])))
                return pg_arena_status(a);
        arr->n_values = n;
        dst->array_value = arr;
        return 0;
    }
    case PG_ANY_KVLIST: {
        pg_otlp_kvlist *l = pg_otlp_kvlist_new(a);
        if (!l) return pg_arena_status(a);
        size_t n = src->kvlist_value ? src->kvlist_value->n_values : 0;
        l->values = pg_arena_alloc(a, (n ? n : 1) * sizeof *l->values);
        if (!l->values) return pg_arena_status(a);
        for (size_t i = 0; i < n; i++) {
            const pg_otlp_kv *s = src->kvlist_value->values[i];
            pg_otlp_kv *d = pg_otlp_kv_new(a);
            if (!d) return pg_arena_status(a);
            d->key_strindex = s->key_strindex;
            const char *k = s->key ? s->key : "";
            if (!(d->key = pg_arena_strndup(a, k, strlen(k)))) return pg_arena_status(a);
            if (!(d->value = pg_any_copy(a, s->value))) return pg_arena_status(a);
            l->values[i] = d;
        }
        l->n_values = n;
        dst->kvlist_value = l;
        return 0;
    }
    default:
        return 0;
    }
}

/* Returns a new arena-owned copy of src. */
pg_otlp_any *pg_any_copy(pg_arena *a, const pg_otlp_any *src)
{
    pg_otlp_any *d = pg_otlp_any_new(a);
    if (!d || pg_any_copy_into(a, d, src)) return NULL;
    return d;
}

/* Resolves references in place (strings are borrowed from the table, which must outlive v). */
int pg_any_resolve_refs(pg_otlp_any *v, char *const *strings, size_t n, int max_depth)
{
    if (!v) return 0;
    if (max_depth <= 0) return PG_ELIMIT;
    switch (v->value_case) {
    case PG_ANY_STRINDEX: {
        int32_t i = v->string_value_strindex;
        if (i < 0 || (size_t)i >= n) return PG_EINVAL;
        v->value_case = PG_ANY_STRING;
        v->string_value = strings[i];
        return 0;
    }
    case PG_ANY_ARRAY: {
        int rc = 0;
        for (size_t i = 0; !rc && v->array_value && i < v->array_value->n_values; i++)
            rc = pg_any_resolve_refs(v->array_value->values[i], strings, n, max_depth - 1);
        return rc;
    }
    case PG_ANY_KVLIST: {
        int rc = 0;
        for (size_t i = 0; !rc && v->kvlist_value && i < v->kvlist_value->n_values; i++)
            rc = pg_kv_resolve_refs(v->kvlist_value->values[i], strings, n, max_depth - 1);
        return rc;
    }
    default:
        return 0;
    }
}

/* Resolves key_strindex (when non-zero) and the value's references. */
int pg_kv_resolve_refs(pg_otlp_kv *kv, char *const *strings, size_t n, int max_depth)
{
    if (kv->key_strindex != 0) {
        if (kv->key_strindex < 0 || (size_t)kv->key_strindex >= n) return PG_EINVAL;
        kv->key = strings[kv->key_strindex];
        kv->key_strindex = 0;
    }
    return pg_any_resolve_refs(kv->value, strings, n, max_depth);
}

/* Reads v, borrowed. */
int pg_any_utf8_valid(const pg_otlp_any *v)
{
    if (!v) return 1;
    switch (v->value_case) {
    case PG_ANY_STRING:
        return !v->string_value || pg_utf8_valid(v->string_value, strlen(v->string_value));
    case PG_ANY_ARRAY:
        for (size_t i = 0; v->array_value && i < v->array_value->n_values; i++)
            if (!pg_any_utf8_valid(v->array_value->values[i])) return 0;
        return 1;
    case PG_ANY_KVLIST:
        for (size_t i = 0; v->kvlist_value && i < v->kvlist_value->n_values; i++) {
            const pg_otlp_kv *kv = v->kvlist_value->values[i];
            if ((kv->key && !pg_utf8_valid(kv->key, strlen(kv->key))) ||
                !pg_any_utf8_valid(kv->value))
                return 0;
        }
        return 1;
    default:
        return 1;
    }
}

/* Replaces *s (borrowed before, arena-owned after a repair). */
int pg_str_utf8_repair(pg_arena *a, char **s)
{
    if (!*s) return 0;
    size_t n = strlen(*s);
    if (pg_utf8_valid(*s, n)) return 0;
    size_t m = pg_utf8_repaired_len(*s, n);
    char *r = pg_arena_alloc(a, m + 1);
    if (!r) return PG_ENOMEM;
    pg_utf8_repair(*s, n, r);
    r[m] = 0;
    *s = r;
    pg_utf8_note_repair();
    return 0;
}

/* Walks v (owned by the caller's batch, not shared) and repairs its strings. */
int pg_any_utf8_repair(pg_arena *a, pg_otlp_any *v)
{
    if (!v) return 0;
    switch (v->value_case) {
    case PG_ANY_STRING:
        return pg_str_utf8_repair(a, &v->string_value);
    case PG_ANY_ARRAY:
        for (size_t i = 0; v->array_value && i < v->array_value->n_values; i++)
            if (pg_any_utf8_repair(a, v->array_value->values[i])) return PG_ENOMEM;
        return 0;
    case PG_ANY_KVLIST:
        for (size_t i = 0; v->kvlist_value && i < v->kvlist_value->n_values; i++) {
            pg_otlp_kv *kv = v->kvlist_value->values[i];
            if (pg_str_utf8_repair(a, &kv->key) || pg_any_utf8_repair(a, kv->value))
                return PG_ENOMEM;
        }
        return 0;
    default:
        return 0;
    }
}
