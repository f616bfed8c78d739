/* The aggregate processor's window state (private). A window is one group per distinct
 * batch metadata (tenant headers never mix); a group is one batch that becomes the output:
 * its dictionary receives every input's dictionary, its tree one ResourceProfiles per
 * resource + scope seen, one Profile per series (profile type, period and the chosen
 * profile attributes) whose rows accumulate in a builder until the flush. */
#ifndef PG_AGGREGATE_INT_H
#define PG_AGGREGATE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/ack.h"
#include "pipeline/core/batch.h"
#include "pipeline/core/hash.h"
#include "pipeline/core/samples.h"

typedef struct ag_scope {
    uint8_t *key; /* resource + scope, serialised (malloc-owned) */
    size_t key_len;
    pg_otlp_sprofiles *sp; /* in the group's batch */
    size_t first_series;   /* its first series (siblings share identity columns) */
} ag_scope;

typedef struct ag_series {
    uint8_t *key; /* scope key + profile type + chosen attributes (malloc-owned) */
    size_t key_len;
    size_t scope;
    pg_profile *profile;   /* in the group's batch; its samples are attached at the flush */
    pg_samples_builder sb; /* the rows so far */
    pg_index rows;         /* rows with one value and no timestamps, by identity */
} ag_series;

typedef struct ag_group {
    uint8_t *meta_key; /* the batch metadata, serialised */
    size_t meta_len;
    pg_batch *b;
    uint64_t window_start; /* unix ns */
    ag_scope *scopes;
    size_t n_scopes, cap_scopes;
    pg_index scope_ix;
    ag_series *series;
    size_t n_series, cap_series;
    pg_index series_ix;
    pg_ack **holds; /* one per input ack that reached this group */
    size_t n_holds, cap_holds;
    struct ag_group *next;
} ag_group;

/* What the state needs from the config. */
typedef struct ag_opts {
    char **group_by; /* profile attribute keys that separate series */
    size_t n_group_by;
    char **drop; /* sample attribute keys removed before merging */
    size_t n_drop;
    uint64_t window_ns;
} ag_opts;

typedef struct ag_counts {
    uint64_t profiles, samples, merged, skipped;
} ag_counts;

/* Serialises b's metadata (sorted) into *key (malloc-owned). Returns 0 or PG_ENOMEM. */
int pg_ag_meta_key(const pg_batch *b, uint8_t **key, size_t *len);

/* A new group for batches with src's metadata (copied), window starting at start. NULL
 * on OOM. */
ag_group *pg_ag_group_new(const pg_batch *src, const uint8_t *meta_key, size_t meta_len,
                          uint64_t start);

/* Adds every profile of src (borrowed) to g. Returns 0 or a negative status with err. */
int pg_ag_group_add(ag_group *g, const pg_batch *src, const ag_opts *o, ag_counts *c, char *err,
                    size_t errlen);

/* Memory g holds: its batch's arena and its builders and indexes. */
size_t pg_ag_group_bytes(const ag_group *g);

/* Attaches every series' rows to its profile, compacts the dictionary and returns the
 * batch (the caller owns it; g keeps its holds and must still be freed). NULL and err on
 * failure. */
pg_batch *pg_ag_group_finish(ag_group *g, char *err, size_t errlen);

/* Frees g's state and batch (if not taken by finish); the holds are the caller's to
 * settle first (g->n_holds is not looked at). */
void pg_ag_group_free(ag_group *g);

#endif
