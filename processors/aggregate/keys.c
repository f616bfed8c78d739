/* Series keys for aggregate (see aggregate_int.h): resources, scopes, profile types and
 * attributes serialised into bytes, order-independent where OTLP order means nothing
 * (attribute lists are sorted by key). */
#include "pipeline/core/buf.h"
#include "pipeline/core/err.h"
#include "processors/aggregate/aggregate_int.h"
#include "processors/aggregate/aggregate_keys.h"

#include <stdlib.h>
#include <string.h>

static void put(pg_buf *k, const void *p, size_t n, int *fail)
{
    *fail |= pg_buf_append(k, p, n) != 0;
}

static void put_u64(pg_buf *k, uint64_t v, int *fail)
{
    put(k, &v, sizeof v, fail);
}

/* A length-prefixed string (NULL as empty). */
void pg_ag_put_str(pg_buf *k, const char *s, int *fail)
{
    size_t n = s ? strlen(s) : 0;
    put_u64(k, n, fail);
    put(k, s, n, fail);
}

/* An AnyValue with its type; string references resolved through strs (n of them). */
void pg_ag_put_any(pg_buf *k, const pg_otlp_any *v, char *const *strs, size_t n, int depth,
                   int *fail)
{
    if (!v || depth > 16) {
        put_u64(k, 0, fail);
        return;
    }
    switch (v->value_case) {
    case PG_ANY_STRINDEX:
        put_u64(k, PG_ANY_STRING, fail);
        pg_ag_put_str(k,
                      v->string_value_strindex >= 0 && (size_t)v->string_value_strindex < n
                          ? strs[v->string_value_strindex]
                          : "",
                      fail);
        return;
    default:
        put_u64(k, (uint64_t)v->value_case, fail);
        break;
    }
    switch (v->value_case) {
    case PG_ANY_STRING:
        pg_ag_put_str(k, v->string_value, fail);
        break;
    case PG_ANY_BOOL:
        put_u64(k, (uint64_t)v->bool_value, fail);
        break;
    case PG_ANY_INT:
        put_u64(k, (uint64_t)v->int_value, fail);
        break;
    case PG_ANY_DOUBLE:
        put(k, &v->double_value, sizeof v->double_value, fail);
        break;
    case PG_ANY_BYTES:
        put_u64(k, v->bytes_value.len, fail);
        put(k, v->bytes_value.data, v->bytes_value.len, fail);
        break;
    case PG_ANY_ARRAY:
        put_u64(k, v->array_value ? v->array_value->n_values : 0, fail);
        for (size_t i = 0; v->array_value && i < v->array_value->n_values; i++)
            pg_ag_put_any(k, v->array_value->values[i], strs, n, depth + 1, fail);
        break;
    case PG_ANY_KVLIST:
        pg_ag_put_kvs(k, v->kvlist_value ? v->kvlist_value->values : NULL,
                      v->kvlist_value ? v->kvlist_value->n_values : 0, strs, n, depth + 1, fail);
        break;
    default:
        break;
    }
}

static int kv_cmp(const void *a, const void *b)
{
    const pg_otlp_kv *x = *(pg_otlp_kv *const *)a, *y = *(pg_otlp_kv *const *)b;
    return strcmp(x->key ? x->key : "", y->key ? y->key : "");
}

/* KeyValues sorted by key. */
void pg_ag_put_kvs(pg_buf *k, pg_otlp_kv *const *kvs, size_t nkv, char *const *strs, size_t n,
                   int depth, int *fail)
{
    put_u64(k, nkv, fail);
    if (!nkv) return;
    pg_otlp_kv **s = malloc(nkv * sizeof *s);
    if (!s) {
        *fail = 1;
        return;
    }
    memcpy(s, kvs, nkv * sizeof *s);
    qsort(s, nkv, sizeof *s, kv_cmp);
    for (size_t i = 0; i < nkv; i++) {
        pg_ag_put_str(k, s[i]->key, fail);
        pg_ag_put_any(k, s[i]->value, strs, n, depth, fail);
    }
    free(s);
}

static int meta_cmp(const void *a, const void *b)
{
    const pg_meta_entry *x = *(const pg_meta_entry *const *)a,
                        *y = *(const pg_meta_entry *const *)b;
    return strcmp(x->key, y->key);
}

/* Metadata entries sorted by key. */
int pg_ag_meta_key(const pg_batch *b, uint8_t **key, size_t *len)
{
    pg_buf k = {0};
    int fail = 0;
    size_t n = pg_batch_meta_count(b);
    const pg_meta_entry **s = malloc((n ? n : 1) * sizeof *s);
    if (!s) return PG_ENOMEM;
    for (size_t i = 0; i < n; i++)
        s[i] = pg_batch_meta_at(b, i);
    qsort(s, n, sizeof *s, meta_cmp);
    put_u64(&k, n, &fail);
    for (size_t i = 0; i < n; i++) {
        pg_ag_put_str(&k, s[i]->key, &fail);
        pg_ag_put_str(&k, s[i]->value, &fail);
    }
    free(s);
    put(&k, "", 1, &fail); /* never empty */
    if (fail) {
        pg_buf_free(&k);
        return PG_ENOMEM;
    }
    *key = k.data;
    *len = k.len;
    return 0;
}
