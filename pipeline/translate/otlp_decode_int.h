/* Hand-written OTLP tree reader that keeps samples and the stack table in columns (see
 * otlp_decode.c and otlp_decode_dict.c). Private to pipeline/translate. */
#ifndef PG_OTLP_DECODE_INT_H
#define PG_OTLP_DECODE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/batch.h"
#include "pipeline/core/buf.h"
#include "pipeline/core/otlp_types.h"
#include "pipeline/core/samples.h"
#include "pipeline/core/stacks.h"
#include "pipeline/core/wire.h"
#include "pipeline/translate/decode_limits.h"

/* MALFORMED: the input is not valid protobuf and parts of it were already handed back to
 * the OS (release mode), so protobuf-c cannot be asked instead. DEEP: messages nest deeper
 * than allowed. */
enum {
    PG_OTLP_UNPACK_OK = 0,
    PG_OTLP_UNPACK_FALLBACK = 1,
    PG_OTLP_UNPACK_NOMEM = 2,
    PG_OTLP_UNPACK_MALFORMED = 3,
    PG_OTLP_UNPACK_DEEP = 4
};

/* Walks the wire bytes of a message of descriptor `desc`; PG_ELIMIT when message fields nest
 * deeper than `depth` levels (the message itself being one), else 0 (other malformations
 * are left to protobuf-c). See otlp_decode_depth.c. */
int pg_otlp_check_depth(pg_wire r, const ProtobufCMessageDescriptor *desc, int depth);

/* Decodes ProfilesData bytes into the arena. Returns OK with *out, FALLBACK when the input
 * needs protobuf-c's general decoder (the arena may hold partial data; the caller checks
 * the nesting of the whole input first), NOMEM when the arena refused an allocation,
 * MALFORMED (only with `release`), or DEEP when a part handed to protobuf-c nests deeper
 * than `depth` levels counted from ProfilesData (as pg_otlp_check_depth counts).
 * With `release` the caller owns data[0..len) and lets the reader hand the pages it has
 * consumed back to the OS (they read as zeros afterwards): everything the batch keeps is
 * copied out first, and the only inputs the reader gives up on are those protobuf-c would
 * reject too. Without it the bytes are borrowed and left untouched. */
int pg_otlp_unpack(pg_arena *a, const uint8_t *data, size_t len, int release, int depth,
                   pg_otlp_data **out);

/* Test hook: scopes whose profiles take at least min_bytes (0 = the default, 1 MiB) are
 * read on two threads; force does so on one CPU too. */
void pg_otlp_unpack_set_thread(size_t min_bytes, int force);

/* Pages of the input handed back as they are consumed (see pg_pages_release_consumed);
 * `done` NULL = the input is borrowed. `any` is set once some range was released. */
typedef struct pg_otlp_release {
    const uint8_t *done;
    int any;
} pg_otlp_release;

/* Releases the input up to p (consumed) once enough is pending; a no-op when borrowed. */
void pg_otlp_release_upto(pg_otlp_release *rl, const uint8_t *p);

/* A ProfilesDictionary read by hand: the stack table (field 7) goes straight into columns,
 * every other field's bytes are kept, in order, for protobuf-c. Dictionaries given twice
 * accumulate (protobuf's rule: the message is the concatenation of both). */
typedef struct pg_otlp_dict_reader {
    pg_stacks *stacks; /* arena-owned; NULL until a Stack is seen */
    pg_buf rest;       /* the other fields' bytes */
    int seen;          /* a dictionary field was read */
    int32_t *tmp;      /* one stack's locations (general path) */
    size_t cap_tmp;
    /* the attribute table (otlp_decode_attrs.c): its entries' bytes as read, and the
     * entries read by hand until one is not (then protobuf-c reads them all) */
    pg_buf attr_raw;
    pg_otlp_attr **attrs; /* malloc'd array of arena entries */
    size_t n_attrs, cap_attrs;
    int attrs_by_protobuf_c;
    /* the location, function and string tables (otlp_decode_tables.c): malloc'd arrays
     * of arena entries in input order, and one location's lines while it is read */
    pg_otlp_location **locs;
    size_t n_locs, cap_locs;
    pg_otlp_function **funcs;
    size_t n_funcs, cap_funcs;
    char **strs;
    size_t n_strs, cap_strs;
    pg_otlp_line *lines;
    size_t cap_lines;
} pg_otlp_dict_reader;

/* Reads one ProfilesDictionary payload. Returns PG_OTLP_UNPACK_OK, FALLBACK (a shape
 * protobuf-c rejects too) or NOMEM. */
int pg_otlp_dict_read(pg_otlp_dict_reader *dr, pg_arena *a, pg_wire w, pg_otlp_release *rl);

/* Unpacks the kept fields with protobuf-c into the arena (after checking they nest at
 * most `depth` levels, the dictionary being one) and attaches the stack columns. *out is
 * NULL when no dictionary was read. Returns OK, FALLBACK, NOMEM or DEEP. */
int pg_otlp_dict_finish(pg_otlp_dict_reader *dr, pg_arena *a, int depth, pg_otlp_dict **out);

/* Takes one attribute-table entry: rec[0..n) is the whole field as read (tag and length
 * included), payload its KeyValueAndUnit bytes. Returns OK or NOMEM. */
int pg_otlp_dict_attr(pg_otlp_dict_reader *dr, pg_arena *a, const uint8_t *rec, size_t n,
                      pg_wire payload);

/* Puts the entries read by hand in plain's attribute table (an arena array); a no-op when
 * protobuf-c read the table. Returns OK or NOMEM. */
int pg_otlp_dict_attrs_finish(pg_otlp_dict_reader *dr, pg_arena *a, pg_otlp_dict *plain);

/* Takes one entry of the location (field 2), function (3) or string (5) table, payload
 * being its bytes. Returns OK, FALLBACK (a payload protobuf-c rejects too) or NOMEM. */
int pg_otlp_dict_table_entry(pg_otlp_dict_reader *dr, pg_arena *a, uint32_t field, pg_wire payload);

/* Puts the entries of those tables in plain's (arena arrays). Returns OK or NOMEM. */
int pg_otlp_dict_tables_finish(pg_otlp_dict_reader *dr, pg_arena *a, pg_otlp_dict *plain);

/* Frees the reader's malloc'd scratch (the arena keeps the columns). */
void pg_otlp_dict_reader_free(pg_otlp_dict_reader *dr);

/* One profile's sample columns being written in the arena (otlp_decode_samples.c). */
typedef struct pg_otlp_cols {
    pg_arena *a;
    size_t n, i;            /* samples expected, written */
    const pg_samples *like; /* the previous profile's columns (same n), or NULL */
    int32_t *stack, *link;  /* own columns; NULL while equal to like's (link: or all 0) */
    uint32_t *attr_off;     /* own; NULL while equal to like's (or none) */
    int32_t *attrs;
    size_t n_attrs, cap_attrs;
    pg_value_col vals; /* while every sample has one value */
    uint32_t *val_off; /* from the first sample that has not */
    int64_t *values;
    size_t n_values, cap_values;
    uint32_t *ts_off; /* from the first sample with timestamps */
    uint64_t *ts;
    size_t n_ts, cap_ts;
} pg_otlp_cols;

/* Prepares columns for n samples. Returns 0 or -1 over the arena's cap. */
int pg_otlp_cols_init(pg_otlp_cols *c, pg_arena *a, size_t n, const pg_samples *like);
/* Writes the next sample (arrays copied). Returns 0, or -1 over the cap or past n. */
int pg_otlp_cols_add(pg_otlp_cols *c, const pg_sample_ref *s);
/* Attaches the columns to p; -1 when fewer than n samples were written or over the cap. */
int pg_otlp_cols_finish(pg_otlp_cols *c, pg_otlp_profile *p);

/* For profiles ps[0..n) read in one run after a run ending with the profile whose columns
 * are prev (so ps[0] could not be compared with it while it was read): every identity
 * column of ps[0] equal to prev's is replaced by prev's, in ps[0] and in the profiles after
 * it that shared it, and its pages are handed back; the result is what reading all of
 * them in one run gives. */
void pg_otlp_cols_share(const pg_samples *prev, pg_otlp_profile *const *ps, size_t n);

/* Makes every string of d valid UTF-8 in place (otlp_decode_utf8.c). Returns 0 or
 * PG_ENOMEM. */
int pg_otlp_utf8_repair(pg_arena *a, pg_otlp_data *d);

/* The batch a decoder builds into: b itself when it is empty, else a new batch (the
 * caller frees it when it is not b) whose tree pg_otlp_install merges into b. NULL on OOM.
 * (otlp_decode_install.c) */
pg_batch *pg_otlp_decode_target(pg_batch *b, const pg_decode_limits *lim);

/* Validates d (built in tmp's arena), installs it as tmp's tree, and merges tmp into b
 * when they differ. Returns 0 or a negative status with err. */
int pg_otlp_install(pg_batch *b, pg_batch *tmp, pg_otlp_data *d, const pg_decode_limits *lim,
                    char *err, size_t errlen);

#endif
