/* Serialising key parts for aggregate (keys.c; private). Each appends to k and sets *fail
 * on OOM. String references (string_value_strindex) resolve through strs[0..n). */
#ifndef PG_AGGREGATE_KEYS_H
#define PG_AGGREGATE_KEYS_H

#include <stddef.h>

#include "pipeline/core/buf.h"
#include "pipeline/core/otlp_types.h"

void pg_ag_put_str(pg_buf *k, const char *s, int *fail);
void pg_ag_put_any(pg_buf *k, const pg_otlp_any *v, char *const *strs, size_t n, int depth,
                   int *fail);
void pg_ag_put_kvs(pg_buf *k, pg_otlp_kv *const *kvs, size_t nkv, char *const *strs, size_t n,
                   int depth, int *fail);

#endif
