/* The batch: the unit that flows through the pipeline. One OTLP ProfilesData-shaped value
 * (dictionary + resource/scope/profile tree) plus metadata, all owned by one arena.
 *
 * The tree is protobuf-c's, with one form for the two big tables: every Profile is the
 * `msg` of a pg_profile holding its samples in columns (samples.h), the dictionary is the
 * `msg` of a pg_dictionary holding its stacks in columns (stacks.h); `samples` and
 * `stack_table` of the messages are always empty. Change samples through the edit API
 * (edit.h) and dictionary entries through dict.h / compact.h.
 *
 * Arrays inside the tree (sample columns, attribute indices, values) may be shared between
 * messages of one batch (the identity columns of a pprof's samples serve all its OTLP
 * profiles): code that changes a batch replaces an array with a new arena copy, never
 * writes into it in place, unless the edit API marked it the profile's own. */
#ifndef PG_BATCH_H
#define PG_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/ack.h"
#include "pipeline/core/otlp_types.h"

typedef struct pg_batch pg_batch;
typedef struct pg_dict_index pg_dict_index;

/* One metadata entry (e.g. a tenant header) carried from receiver to exporter. */
typedef struct pg_meta_entry {
    const char *key;   /* lower-case, arena-owned */
    const char *value; /* arena-owned */
} pg_meta_entry;

/* Returns a new empty batch whose dictionary holds only the zero elements. `arena_limit`
 * caps the arena (0 = no cap). Caller owns; free with pg_batch_free. NULL on OOM. */
pg_batch *pg_batch_new(size_t arena_limit);

/* Drops one reference; the last one frees the batch, its arena and every index built
 * over it. NULL is a no-op. */
void pg_batch_free(pg_batch *b);

/* Adds a reference (fan-out shares a batch between consumers that do not change it;
 * a shared batch is read-only). Returns b. */
pg_batch *pg_batch_retain(pg_batch *b);

/* Number of references (1 = the holder owns it alone and may change it). */
int pg_batch_refs(const pg_batch *b);

/* Borrowed views; valid until the batch is freed. data->dictionary is never NULL. */
pg_arena *pg_batch_arena(pg_batch *b);
pg_otlp_data *pg_batch_data(const pg_batch *b);
pg_otlp_dict *pg_batch_dict(const pg_batch *b);

/* Replaces the batch's tree with `d` (allocated from this batch's arena), drops every
 * interning index. Used by decoders that build the tree in place. */
void pg_batch_set_data(pg_batch *b, pg_otlp_data *d);

/* The interning index over the dictionary (built lazily by pipeline/core/dict.c). */
pg_dict_index **pg_batch_dict_index(pg_batch *b);

/* Frees the interning index (for a batch that is only read from now on, such as one about
 * to be encoded): the tables stay as they are, and anything that interns again rebuilds
 * the index over them. */
void pg_batch_drop_index(pg_batch *b);

/* Empties every profile's samples and the stack table (all but the zero stack), handing
 * the pages of their columns back to the OS at once instead of with the arena: for a batch
 * that is read on only for its other tables, such as one whose samples a pprof encoder has
 * written. The tree stays valid. b must not be shared. */
void pg_batch_drop_samples(pg_batch *b);

/* Metadata: set (copying key and value into the arena; key lower-cased; returns 0 or
 * pg_arena_status of the batch arena) and get. */
int pg_batch_meta_set(pg_batch *b, const char *key, const char *value);
const char *pg_batch_meta_get(const pg_batch *b, const char *key);
size_t pg_batch_meta_count(const pg_batch *b);
const pg_meta_entry *pg_batch_meta_at(const pg_batch *b, size_t i);

/* Receive time (unix ns) and the id of the component that produced the batch (borrowed
 * static or arena string). */
void pg_batch_set_origin(pg_batch *b, const char *component_id, uint64_t received_unix_nano);
const char *pg_batch_origin(const pg_batch *b);
uint64_t pg_batch_received(const pg_batch *b);

/* The delivery acknowledgement the batch carries (see pipeline/core/ack.h), borrowed, or
 * NULL. set_ack replaces it, taking a reference on a (not a hold). */
void pg_batch_set_ack(pg_batch *b, pg_ack *a);
pg_ack *pg_batch_ack(const pg_batch *b);

/* What a batch derived from src (a clone, a part of a split) carries over: metadata,
 * origin, receive time and the acknowledgement. Returns 0 or PG_ENOMEM. */
int pg_batch_inherit(pg_batch *dst, const pg_batch *src);

/* Counts over the tree: profiles and samples. */
size_t pg_batch_profile_count(const pg_batch *b);
size_t pg_batch_sample_count(const pg_batch *b);

/* Appends an empty ResourceProfiles with one empty ScopeProfiles; returns the scope
 * (arena-owned) and, if rp_out is non-NULL, the resource. NULL over the arena cap. */
pg_otlp_sprofiles *pg_batch_add_scope(pg_batch *b, pg_otlp_rprofiles **rp_out);

#endif
