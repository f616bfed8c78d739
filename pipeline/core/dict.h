/* Interning into a batch's dictionary: each call returns the index of an equal element,
 * appending a copy when none exists (the append half of the edit API, edit.h: tables are
 * append-only until pg_batch_compact). Indexes are built lazily over what the tables
 * already hold, so a decoded batch can be extended too. Returns a negative status from
 * pipeline/core/err.h instead of an index: PG_ELIMIT when the arena is over its cap (or a
 * table is full), PG_ENOMEM when memory for the index runs out. */
#ifndef PG_DICT_H
#define PG_DICT_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/batch.h"

/* Fills an empty dictionary with the zero element of every table (index 0 = "none"). */
int pg_dict_add_zero_elements(pg_arena *a, pg_otlp_dict *d);

/* Frees an interning index (NULL is a no-op). */
void pg_dict_index_free(pg_dict_index *ix);

int32_t pg_dict_string(pg_batch *b, const char *s, size_t n);
int32_t pg_dict_function(pg_batch *b, int32_t name, int32_t system_name, int32_t filename,
                         int64_t start_line);
/* Copies m (and its attribute index array). */
int32_t pg_dict_mapping(pg_batch *b, const pg_otlp_mapping *m);
/* Copies l (lines and attribute index array). */
/* A location built ahead, off the batch, for pg_dict_location_built: a copy of l in arena a
 * (which must join the batch's arena before the batch is freed) and, in *hash, its hash.
 * Touches nothing of any batch, so another thread may do it. NULL when a fails. */
pg_otlp_location *pg_dict_location_build(pg_arena *a, const pg_otlp_location *l, uint64_t *hash);
/* Interns a location from pg_dict_location_build: the table takes that copy itself when it
 * holds no equal location. Returns its index or a negative status. */
int32_t pg_dict_location_built(pg_batch *b, pg_otlp_location *l, uint64_t hash);
int32_t pg_dict_location(pg_batch *b, const pg_otlp_location *l);
int32_t pg_dict_stack(pg_batch *b, const int32_t *locations, size_t n);
/* Interns a stack whose n location indices are stored `width` (1, 2 or 4) bytes wide
 * (see pipeline/core/stacks.h); the stack table is kept in columns. */
int32_t pg_dict_stack_w(pg_batch *b, const void *locations, size_t n, uint8_t width);
/* Sizes the stack index and pool ahead for n_more stacks holding n_more_locs location
 * indices in all, given `width` bytes wide (guesses: a pprof's sample count, and its
 * samples' bytes, since an index takes a byte at least), spending at most max_bytes on the
 * index; the pool is widened to `width` first when it holds only the zero stack. Returns 0
 * or a negative status. */
int pg_dict_stack_reserve(pg_batch *b, size_t n_more, size_t n_more_locs, uint8_t width,
                          size_t max_bytes);
/* Whether n_more stacks holding n_more_locs location indices in all, given `width` bytes
 * wide, can be interned without the pool growing or widening: interning them then
 * allocates nothing from the batch's arena (only the index may grow, with malloc), so a
 * thread that owns the stack table may do it while another allocates from the arena. */
int pg_dict_stack_room(const pg_batch *b, size_t n_more, size_t n_more_locs, uint8_t width);
/* Frees the interning indexes of the mapping, function and location tables (a decoder
 * done with them); the next call that interns into one of them rebuilds its index over
 * the table. */
void pg_dict_drop_frame_indexes(pg_batch *b);
/* Sizes the string, function and location indexes ahead for that many elements to come
 * (a decoder's upper bounds). Returns 0 or a negative status. */
int pg_dict_reserve(pg_batch *b, size_t strings, size_t functions, size_t locations);
/* A hint that pg_dict_stack_w(b, locations, n, width) follows soon: fetches the memory
 * the lookup will read first and returns the probe's hash (0 when it cannot tell), to
 * hand to pg_dict_stack_hinted. */
uint64_t pg_dict_stack_prefetch(pg_batch *b, const void *locations, size_t n, uint8_t width);
/* The same hash from the probe's bytes alone (no batch: any thread may compute it; a
 * valid hint whenever the pool is at that width, ignored otherwise), and the fetch for it
 * on the batch's thread (0 when there was nothing to fetch). */
uint64_t pg_dict_stack_hash(const void *locations, size_t n, uint8_t width);
int pg_dict_stack_prefetch_hash(pg_batch *b, uint64_t hash, uint8_t width);
int32_t pg_dict_stack_hinted(pg_batch *b, const void *locations, size_t n, uint8_t width,
                             uint64_t hint);
/* Copies value deeply. */
int32_t pg_dict_attr(pg_batch *b, int32_t key, const pg_otlp_any *value, int32_t unit);
int32_t pg_dict_link(pg_batch *b, const uint8_t *trace_id, size_t trace_len, const uint8_t *span_id,
                     size_t span_len);

/* Convenience: interns a string attribute / int attribute / bool attribute by key text. */
int32_t pg_dict_attr_str(pg_batch *b, const char *key, const char *value, size_t value_len);
int32_t pg_dict_attr_int(pg_batch *b, const char *key, int64_t value, const char *unit);
int32_t pg_dict_attr_bool(pg_batch *b, const char *key, int value);

#endif
