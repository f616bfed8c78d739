/* Merging batches: copies one batch's tree into another, re-indexing every reference of
 * the source dictionary into the destination's (deduplicating as it goes). */
#ifndef PG_MERGE_H
#define PG_MERGE_H

#include <stddef.h>

#include "pipeline/core/batch.h"

/* Appends src's resources, scopes and profiles to dst. src is borrowed and unchanged;
 * everything copied is owned by dst's arena. Returns 0 or a negative status. */
int pg_batch_merge(pg_batch *dst, const pg_batch *src, char *err, size_t errlen);

/* Returns a new batch holding a copy of src (same metadata), or NULL on OOM. */
pg_batch *pg_batch_clone(const pg_batch *src, size_t arena_limit);

/* Deep copies of a Resource / InstrumentationScope into arena a (keys copied as text:
 * key_strindex references are not carried). NULL over the arena's cap. */
pg_otlp_resource *pg_otlp_resource_copy(pg_arena *a, const pg_otlp_resource *s);
pg_otlp_scope *pg_otlp_scope_copy(pg_arena *a, const pg_otlp_scope *s);

#endif
