/* The pprof <-> OTLP translator. Nothing else in profgate knows pprof's layout. */
#ifndef PG_PPROF_H
#define PG_PPROF_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/batch.h"
#include "pipeline/core/buf.h"
#include "pipeline/translate/decode_limits.h"

/* Decodes one pprof profile (gzip, zstd or plain protobuf) from borrowed bytes and appends
 * it to batch b as a new ResourceProfiles with one ScopeProfiles holding one Profile per
 * sample type, default type first (see docs/translation.md). On success *scope_out (if
 * non-NULL) is the new scope. On error b may hold a partial tree: callers discard b. */
int pg_pprof_decode(pg_batch *b, const uint8_t *data, size_t len, const pg_decode_limits *lim,
                    pg_otlp_sprofiles **scope_out, char *err, size_t errlen);

/* Like pg_pprof_decode on in->data[0..in->len), but the decoder owns the bytes: compressed
 * input is freed once inflated, and the samples it has decoded are handed back to the OS
 * while it reads, so the input and the decoded batch do not peak together. *in is freed
 * and left empty on return, success or not. in must be a plain malloc-backed pg_buf (no
 * flush sink). */
int pg_pprof_decode_owned(pg_batch *b, pg_buf *in, const pg_decode_limits *lim,
                          pg_otlp_sprofiles **scope_out, char *err, size_t errlen);

/* A set of OTLP profiles that become one pprof profile. */
typedef struct pg_pprof_group {
    const pg_otlp_rprofiles *resource;
    const pg_otlp_sprofiles *scope;
    const pg_otlp_profile **profiles; /* in pprof sample-type order */
    size_t n_profiles;
    int positional;                /* samples correspond one to one by position */
    int from_pprof;                /* scope carries pprof.scope.* attributes */
    const char *default_type;      /* NULL = unset */
    int zero_types;                /* one profile standing for a pprof with no sample types */
    const pg_otlp_profile *tables; /* the scope's record of unreached table entries, or NULL */
} pg_pprof_group;

/* Splits the batch's profiles into pprof groups (arena-free: malloc-owned array, free
 * with pg_pprof_groups_free). */
int pg_pprof_plan(const pg_batch *b, pg_pprof_group **groups, size_t *n, char *err, size_t errlen);
void pg_pprof_groups_free(pg_pprof_group *groups, size_t n);

typedef struct pg_pprof_encode_opts {
    int gzip;               /* gzip the output (as Go writes pprof) */
    int resource_as_labels; /* add resource and scope attributes as labels */
    int links_as_labels;    /* synthesise trace_id/span_id labels from links (default 1) */
    /* When set, called once the encoding is complete and the encoder's tables are freed,
     * before the output is compressed: neither the batch nor the group is read after it,
     * so a caller done with the batch may free it there and the compressed output does
     * not come on top of it. */
    void (*encoded)(void *ctx);
    void *encoded_ctx;
    /* The batch being encoded, when it is not shared and nothing reads its samples or
     * stack table after this encoding (the last group of a batch about to be freed): the
     * encoder hands their pages back as it writes the samples (in position order) and
     * leaves the batch without them (pg_batch_drop_samples) before the tables and strings
     * are written, so those do not come on top of them. NULL: the batch is only read. */
    pg_batch *consume_samples;
} pg_pprof_encode_opts;

/* Encodes one group of batch b as a pprof profile, appending to out. */
int pg_pprof_encode(const pg_batch *b, const pg_pprof_group *g, const pg_pprof_encode_opts *o,
                    pg_buf *out, char *err, size_t errlen);

#endif
