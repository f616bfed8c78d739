/* Merging batches: copies one batch's tree into another, re-indexing every reference of
 * the source dictionary into the destination's (deduplicating as it goes). */
#ifndef PG_MERGE_H
#define PG_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/batch.h"

/* Appends src's resources, scopes and profiles to dst. src is borrowed and unchanged;
 * everything copied is owned by dst's arena. Returns 0 or a negative status. */
int pg_batch_merge(pg_batch *dst, const pg_batch *src, char *err, size_t errlen);

/* Returns a new batch holding a copy of src (same metadata), or NULL on OOM. */
pg_batch *pg_batch_clone(const pg_batch *src, size_t arena_limit);

/* ---- Re-indexing into another batch's dictionary (aggregation) --------------------------
 * The pieces pg_batch_merge is made of, for components that copy parts of a batch. */

/* Index maps from a source dictionary's tables to a destination batch's (malloc-owned;
 * element 0 maps to 0). Sizes are the source tables'. */
typedef struct pg_dict_remap {
    int32_t *str, *fn, *map, *loc, *stack, *attr, *link;
} pg_dict_remap;

/* Interns every element of src (borrowed) into dst's dictionary and fills r (zeroed by
 * the caller; free with pg_dict_remap_free, also after a failure). Returns 0 or a
 * negative status. */
int pg_dict_remap_build(pg_batch *dst, const pg_otlp_dict *src, pg_dict_remap *r);
void pg_dict_remap_free(pg_dict_remap *r);

/* Deep copies of a Resource / InstrumentationScope into arena a (keys copied as text:
 * key_strindex references are not carried). NULL over the arena's cap. */
pg_otlp_resource *pg_otlp_resource_copy(pg_arena *a, const pg_otlp_resource *s);
pg_otlp_scope *pg_otlp_scope_copy(pg_arena *a, const pg_otlp_scope *s);

#endif
