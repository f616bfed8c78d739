/* Shared state of the pprof decoder's parts (private to pipeline/translate). */
#ifndef PG_PPROF_DECODE_INT_H
#define PG_PPROF_DECODE_INT_H

#include "pipeline/core/hash.h"
#include "pipeline/core/wire.h"
#include "pipeline/translate/pprof.h"

/* pprof id -> dictionary index: ids up to the table size (what Go writes: 1..n) in an
 * array, others in a hash map. */
typedef struct pg_idmap {
    int32_t *dense; /* -1 = absent */
    size_t n_dense;
    int identity; /* every id of 1..n_dense-1 is present and dense[id] == id */
    pg_u64map sparse;
} pg_idmap;

typedef struct pg_pprof_dec {
    pg_batch *b;
    const pg_decode_limits *lim;
    char *err;
    size_t errlen;
    const pg_wire *strings; /* borrowed slices of the input */
    size_t n_strings;
    int32_t *smap; /* pprof string index -> dictionary index, -1 = not yet */
    pg_idmap functions, mappings, locations; /* pprof id -> dictionary index */
    int32_t *src_fn, *src_map, *src_loc; /* dictionary index of each table entry, in source order */
    size_t n_src_fn, n_src_map, n_src_loc;
    uint8_t loc_width;          /* bytes that hold any location index (see core/stacks.h) */
    uint8_t *reached;           /* per dictionary location, a bit: set once a sample holds it
                                 * (pg_pprof_reached; malloc) */
    struct pg_label_memo *memo; /* single-label samples -> attribute (malloc-owned, lazy) */
    size_t memo_hint;           /* the memo is sized for this many samples */
    char *text;                 /* NUL-terminated copies of label values (malloc-owned) */
    size_t cap_text;
} pg_pprof_dec;

/* The top-level scalars and slices the profile builder needs. */
typedef struct pg_pprof_header {
    const pg_wire *sample_types;
    size_t n_sample_types;
    const pg_wire *period_type;     /* NULL when absent */
    size_t n_samples, sample_bytes; /* sample fields, and their payloads' bytes */
    int64_t drop_frames, keep_frames, time_nanos, duration_nanos, period, default_type, doc_url;
    const int64_t *comments;
    size_t n_comments;
    /* When the decoder owns the input (it inflated it): samples already decoded are
     * released as the loop goes, all but [keep_lo, keep_hi) (the string table). */
    const uint8_t *release_done, *keep_lo, *keep_hi;
} pg_pprof_header;

int pg_pprof_dec_str(pg_pprof_dec *d, int64_t i, int32_t *out);
int pg_pprof_dec_text(pg_pprof_dec *d, int64_t i, const char **s, size_t *n);
int pg_pprof_dec_ref(pg_pprof_dec *d, const pg_idmap *m, const char *what, uint64_t id,
                     int32_t *out);
/* Writes the message for a failed allocation into the batch and returns its status: rc
 * when negative (PG_ELIMIT: the batch arena's cap, PG_ENOMEM), else the arena's record. */
int pg_pprof_dec_mem(pg_pprof_dec *d, int rc);
/* Notes that pprof id `id` (not 0, not seen before: else PG_EINVAL with a message) of a
 * table (`what`: "function", "mapping", "location") is dictionary element idx. */
int pg_pprof_dec_map_id(pg_pprof_dec *d, pg_idmap *m, const char *what, uint64_t id, int32_t idx);
/* Decodes and interns the Location messages v[0..n), in order, into d's batch, noting each
 * one's index (pprof_decode_locations.c). Returns 0 or a negative status (message in
 * d->err). */
int pg_pprof_decode_locations(pg_pprof_dec *d, const pg_wire *v, size_t n);
/* Location tables of at least min_locations entries (default 16384; 0 restores it) are read
 * by two threads when the process may use two CPUs; `force` does so on one CPU too. For
 * tests. */
void pg_pprof_locations_set_thread(size_t min_locations, int force);
/* Locations the helper read in the last table read by two threads (0: one thread). For
 * tests. */
size_t pg_pprof_locations_last_split(void);
int pg_pprof_dec_value_type(pg_pprof_dec *d, pg_wire r, int32_t *type, int32_t *unit);

/* Samples as read (pprof_decode_sample.c): vectors reused across samples (malloc-owned).
 * A sample is written at the `at_*` offsets (0 for one sample at a time; a reader that
 * collects several back to back moves them past each sample it keeps). */
typedef struct pg_pprof_scratch {
    uint8_t *locs; /* the stack probe, d->loc_width bytes per location */
    int64_t *vals, *lk, *ls, *ln, *lu;
    int32_t *attrs; /* room for nl attribute indices, filled by the caller */
    size_t cap_locs, cap_vals, cap_labels;
    size_t at_locs, at_vals, at_labels; /* bytes into locs, elements into vals and labels */
    size_t nlocs, nl;                   /* what the last pg_pprof_parse_sample read */
    uint64_t stack_hash;                /* pg_dict_stack_hash of the probe, 0 = none */
    int stack_done;                     /* stack_id holds the interned probe (the reader's) */
    int32_t stack_id;
} pg_pprof_scratch;

void pg_pprof_scratch_free(pg_pprof_scratch *s);
int pg_pprof_parse_sample(pg_pprof_dec *d, pg_wire r, size_t i, pg_pprof_scratch *s,
                          size_t n_types);

/* Hands every sample of `top`, read, to commit(ctx, i, s) in order (pprof_decode_reader.c);
 * s is valid for that call only. Stops at the first failure; returns 0 or its status, with
 * the message in d->err. */
typedef int (*pg_pprof_commit_fn)(void *ctx, size_t i, pg_pprof_scratch *s);
int pg_pprof_read_samples(pg_pprof_dec *d, pg_pprof_header *h, pg_wire top, size_t n_types,
                          pg_pprof_commit_fn commit, void *ctx);
/* Profiles of at least min_samples samples (default 2048; 0 restores it) are read on a
 * helper thread when the process may use two CPUs; `force` uses it on one CPU too. For
 * tests. */
void pg_pprof_reader_set_thread(size_t min_samples, int force);
/* How many chunks of samples the helper interned the stacks of, in the last read on it (it
 * does when samples carry more than 1.5 labels on average). For tests. */
size_t pg_pprof_reader_helper_chunks(void);
/* Bytes of the stack pool the helper faulted in ahead of the committer in the last read on
 * it (0 when the pool was not reserved for every stack to come). For tests. */
size_t pg_pprof_reader_pool_faulted(void);

/* Builds the scope and its profiles, decoding samples from the top-level message `top`. */
int pg_pprof_build_profiles(pg_pprof_dec *d, pg_pprof_header *h, pg_wire top,
                            pg_otlp_sprofiles **scope_out);

/* Picks the semantic-convention key for a pprof build id: Go build ids ("a/b") go to
 * .go, everything else to .gnu. */
const char *pg_pprof_build_id_key(const char *id, size_t n);

/* Converts a sample's labels into attribute indices (see pprof_decode_labels.c). `keys`,
 * `strs`, `nums`, `units` are parallel arrays of n pprof labels; out receives at most n
 * indices; *n_out is set. */
int pg_pprof_labels_to_attrs(pg_pprof_dec *d, const int64_t *keys, const int64_t *strs,
                             const int64_t *nums, const int64_t *units, size_t n, int32_t *out,
                             size_t *n_out);

#endif
