/* The sample edit API: what every processor uses to read and change a batch's profiles.
 *
 * - Iterate: pg_profile_iter walks resource -> scope -> profile; a profile's samples are
 *   read with pg_samples_at(&p->samples, i, &ref) (samples.h) or pg_sample_value.
 * - Change a sample: set a value (a value that does not fit the profile's narrow value
 *   column widens that column), its values, timestamps, stack, attributes or link; drop
 *   one sample, or many at once with pg_profile_keep.
 * - Append dictionary entries: the interning functions of pipeline/core/dict.h
 *   (pg_dict_string, pg_dict_attr*, pg_dict_link, pg_dict_stack, pg_dict_location,
 *   pg_dict_function, pg_dict_mapping): tables are append-only, an equal entry is reused.
 * - Remove what nothing references any more: pg_batch_compact (pipeline/core/compact.h),
 *   explicitly, once a processor is done removing things.
 *
 * Copy-on-write: the identity columns of the profiles decoded from one pprof are shared.
 * The first change to a column of a profile copies that column only (stack, link,
 * attributes, values or timestamps) and marks it as the profile's own
 * (pg_samples.owned); later changes write in place. Other profiles never see the change.
 *
 * Costs: value, stack and link setters are O(1) after the first copy. Setters that change
 * the number of attributes, values or timestamps of one sample rewrite that column
 * (O(samples)); a processor that rewrites most samples builds new columns with
 * pg_samples_builder (samples.h) instead. Dropping one sample is O(samples): drop many at
 * once with pg_profile_keep.
 *
 * Every function takes the batch the profile belongs to (its arena and dictionary), which
 * the caller must own alone (pg_batch_refs(b) == 1), and returns 0 or a negative status
 * from pipeline/core/err.h: PG_EINVAL for an index out of range (sample, value, or a
 * dictionary reference), PG_ELIMIT when the batch's arena is over its cap. */
#ifndef PG_EDIT_H
#define PG_EDIT_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/batch.h"
#include "pipeline/core/samples.h"

/* A position in a batch's tree. Borrowed pointers, valid while the tree is not changed
 * structurally (profiles added or removed). */
typedef struct pg_profile_iter {
    pg_otlp_data *data;
    size_t r, s, p;              /* indices of `profile` in its resource, scope */
    pg_otlp_rprofiles *resource; /* the ResourceProfiles holding `profile` */
    pg_otlp_sprofiles *scope;    /* the ScopeProfiles holding `profile` */
    pg_profile *profile;
    int started;
} pg_profile_iter;

/* Starts an iteration over b's profiles (b borrowed). */
void pg_profile_iter_init(pg_profile_iter *it, const pg_batch *b);

/* Moves to the next profile in resource, scope, profile order. Returns 1 with
 * it->profile (and resource, scope, r, s, p) set, or 0 past the last one. */
int pg_profile_iter_next(pg_profile_iter *it);

/* Appends a new profile of n samples to scope sp of b: every sample has the empty stack
 * and one value, 0 (its columns are the profile's own). Returns it (arena-owned), or NULL
 * over the arena's cap. */
pg_profile *pg_profile_add(pg_batch *b, pg_otlp_sprofiles *sp, size_t n);

/* Value k of sample i (0 when out of range). */
int64_t pg_sample_value(const pg_profile *p, size_t i, size_t k);

/* Sets value k (< the sample's value count) of sample i to v, widening the profile's
 * value column when v does not fit its width. */
int pg_sample_set_value(pg_batch *b, pg_profile *p, size_t i, size_t k, int64_t v);

/* Replaces sample i's values with v[0..n) (copied; n may differ from the current count). */
int pg_sample_set_values(pg_batch *b, pg_profile *p, size_t i, const int64_t *v, size_t n);

/* Replaces sample i's timestamps with ts[0..n) (copied). */
int pg_sample_set_timestamps(pg_batch *b, pg_profile *p, size_t i, const uint64_t *ts, size_t n);

/* Sets sample i's stack index (< the dictionary's stack count). */
int pg_sample_set_stack(pg_batch *b, pg_profile *p, size_t i, int32_t stack);

/* Sets sample i's link index (< the link table's size; 0 = none). */
int pg_sample_set_link(pg_batch *b, pg_profile *p, size_t i, int32_t link);

/* Replaces sample i's attribute indices with attrs[0..n) (copied; each < the attribute
 * table's size). */
int pg_sample_set_attrs(pg_batch *b, pg_profile *p, size_t i, const int32_t *attrs, size_t n);

/* Removes sample i (later samples move down by one). */
int pg_sample_drop(pg_batch *b, pg_profile *p, size_t i);

/* Keeps the samples whose keep[i] is non-zero (i < the sample count), in order, and
 * removes the others, in one pass. */
int pg_profile_keep(pg_batch *b, pg_profile *p, const uint8_t *keep);

/* The profile's stack column, its own and writable (copied on first use), for bulk
 * rewrites; entries must stay valid stack indices. NULL over the arena's cap. */
int32_t *pg_profile_stack_col(pg_batch *b, pg_profile *p);

/* The profile's link column, its own and writable (all 0 when no sample had a link).
 * NULL over the arena's cap or when the profile has no samples. */
int32_t *pg_profile_link_col(pg_batch *b, pg_profile *p);

/* ---- Stack prefixes (downscale's trim, aggregation) -------------------------------------
 * A stack's locations are leaf first; its root-side prefix of length len is its last len
 * locations, the caller chain above the leaf frames it drops. */

/* Interns the root-side prefix of len locations of stack `stack` (< the stack count) of
 * b's dictionary and returns its index (stack itself when len >= its length; 0, the empty
 * stack, when len == 0), or a negative status (PG_EINVAL, PG_ELIMIT, PG_ENOMEM). */
int32_t pg_dict_stack_root_prefix(pg_batch *b, int32_t stack, size_t len);
/* ---- Attributes: resource KeyValues and per-sample attributes (processors resource,
 * filter, tracelink). Keys and string values may be given inline or as string-table
 * references (key_strindex, string_value_strindex): readers see both, writers keep the
 * form an existing KeyValue has. Changes leave unreferenced entries behind: call
 * pg_batch_compact once done. ---- */

/* The key text of kv: kv->key, or the string kv->key_strindex names in b's dictionary
 * ("" when out of range). Borrowed. */
const char *pg_kv_key(const pg_batch *b, const pg_otlp_kv *kv);

/* The text of a string value (inline or a string-table reference; "" when out of range),
 * or NULL when v is not a string. Borrowed. */
const char *pg_any_str(const pg_batch *b, const pg_otlp_any *v);

/* Writes v as text into buf (strings as they are, ints in decimal, doubles %.17g, bools
 * true/false, bytes in lower-case hex, arrays and kvlists as "") and returns buf. */
const char *pg_any_text(const pg_batch *b, const pg_otlp_any *v, char *buf, size_t len);

/* Position of the resource attribute named key in rp (rp->resource may be NULL), or
 * PG_ENOTFOUND. */
int pg_resource_attr_find(const pg_batch *b, const pg_otlp_rprofiles *rp, const char *key);

/* Sets resource attribute key of rp to a deep copy of v (string references in v are
 * resolved against b's dictionary), replacing its value when present (the key keeps its
 * form), appending it otherwise (creating rp->resource when NULL). Returns 0, PG_EINVAL
 * or the arena's status. */
int pg_resource_attr_set(pg_batch *b, pg_otlp_rprofiles *rp, const char *key, const pg_otlp_any *v);

/* Removes resource attribute key from rp. Returns 1 when removed, 0 when absent. */
int pg_resource_attr_delete(pg_batch *b, pg_otlp_rprofiles *rp, const char *key);

/* Renames resource attribute `from` to `to` (an existing `to` is replaced). Returns 1 when
 * renamed, 0 when `from` is absent, or the arena's status. */
int pg_resource_attr_rename(pg_batch *b, pg_otlp_rprofiles *rp, const char *from, const char *to);

/* The key text of attribute-table entry a ("" when out of range). Borrowed. */
const char *pg_attr_key(const pg_batch *b, int32_t a);

/* The value of attribute-table entry a (NULL when out of range). Borrowed. */
const pg_otlp_any *pg_attr_value(const pg_batch *b, int32_t a);

/* Position in attrs[0..n) of the attribute whose key is the string `key_str` (a string
 * index of b), or PG_ENOTFOUND. */
int pg_attrs_find(const pg_batch *b, const int32_t *attrs, size_t n, int32_t key_str);

/* Interns an attribute of key text `key` and a copy of value v (string references in v
 * resolved); returns its index or a negative status (see dict.h). */
int32_t pg_dict_attr_kv(pg_batch *b, const char *key, const pg_otlp_any *v);

/* Rewrites the attributes of every sample of p in one pass: fn(ctx, in, n, out, cap)
 * writes the sample's new list to out[0..cap) (cap = n + extra) and returns its length
 * (or a negative status, which stops the rewrite). New columns are the profile's own.
 * Returns 0 or a negative status. */
typedef int (*pg_attrs_rewrite_fn)(void *ctx, const int32_t *in, size_t n, int32_t *out,
                                   size_t cap);
int pg_profile_rewrite_attrs(pg_batch *b, pg_profile *p, size_t extra, pg_attrs_rewrite_fn fn,
                             void *ctx);

/* Sets the attribute list of profile p (the message's attribute_indices) to a copy of
 * attrs[0..n). Returns 0, PG_EINVAL or the arena's status. */
int pg_profile_set_attrs(pg_batch *b, pg_profile *p, const int32_t *attrs, size_t n);

/* Appends a new ResourceProfiles to b holding a deep copy of rp's resource (attributes,
 * entity refs) and schema_url, without scopes. Returns it (arena-owned) or NULL over the
 * arena's cap. */
pg_otlp_rprofiles *pg_resource_clone_empty(pg_batch *b, const pg_otlp_rprofiles *rp);

/* Appends a new ScopeProfiles to rp holding a copy of sp's scope and schema_url, without
 * profiles. Returns it (arena-owned) or NULL over the arena's cap. */
pg_otlp_sprofiles *pg_scope_clone_empty(pg_batch *b, pg_otlp_rprofiles *rp,
                                        const pg_otlp_sprofiles *sp);

/* Removes the profiles whose drop[k] is non-zero (k: position in pg_profile_iter order,
 * < pg_batch_profile_count(b)), then every scope and resource left without profiles.
 * Returns the number of profiles removed, or PG_EINVAL when b is shared. */
int pg_batch_drop_profiles(pg_batch *b, const uint8_t *drop);

#endif
