/* AnyValue helpers: deep hash, deep equality, deep copy into an arena, and resolution of
 * v1.10 string references (key_strindex / string_value_strindex) into inline strings. */
#ifndef PG_ANYVALUE_H
#define PG_ANYVALUE_H

#include <stdint.h>

#include "pipeline/core/otlp_types.h"

/* Hash of v's content (NULL hashes like an empty value). */
uint64_t pg_any_hash(const pg_otlp_any *v, uint64_t seed);

/* 1 when a and b hold the same value (NULL equals an empty value), else 0. */
int pg_any_equal(const pg_otlp_any *a, const pg_otlp_any *b);

/* Deep-copies src into dst (dst's storage is caller's; children go to the arena).
 * Returns 0 or pg_arena_status(a) (PG_ELIMIT over the arena's cap, PG_ENOMEM). */
int pg_any_copy_into(pg_arena *a, pg_otlp_any *dst, const pg_otlp_any *src);

/* Returns an arena-owned deep copy of src (NULL src gives an empty value), NULL over cap. */
pg_otlp_any *pg_any_copy(pg_arena *a, const pg_otlp_any *src);

/* Rewrites string references in v (recursively through arrays and kvlists) into inline
 * strings from strings[0..n). Returns 0, PG_EINVAL when an index is out of range, or
 * PG_ELIMIT when the nesting exceeds max_depth. */
int pg_any_resolve_refs(pg_otlp_any *v, char *const *strings, size_t n, int max_depth);

/* Same for a KeyValue: key_strindex becomes key. */
int pg_kv_resolve_refs(pg_otlp_kv *kv, char *const *strings, size_t n, int max_depth);

/* True when every string in v (values and kvlist keys, recursively) is valid UTF-8. */
int pg_any_utf8_valid(const pg_otlp_any *v);

/* Repairs, in place, every string of v that is not valid UTF-8 (pipeline/core/utf8.h),
 * the repaired copies allocated in a; counts each. Returns 0 or PG_ENOMEM. */
int pg_any_utf8_repair(pg_arena *a, pg_otlp_any *v);

/* Repairs the NUL-terminated string *s in place the same way (NULL is fine). */
int pg_str_utf8_repair(pg_arena *a, char **s);

#endif
