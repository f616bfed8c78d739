/* OTLP Profiles codec (protobuf via protobuf-c into the batch's arena; JSON in otlp_json.h). */
#ifndef PG_OTLP_CODEC_H
#define PG_OTLP_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/batch.h"
#include "pipeline/core/buf.h"
#include "pipeline/core/merge.h"
#include "pipeline/translate/decode_limits.h"

/* Decodes an ExportProfilesServiceRequest / ProfilesData (wire-identical; gzip or zstd
 * sniffed) into batch b, which must be empty or is merged into. Rejects nesting deeper than
 * lim->max_nesting before unpacking, then checks every index and zero element, and
 * resolves string references in resource, scope and attribute-table values. */
int pg_otlp_decode(pg_batch *b, const uint8_t *data, size_t len, const pg_decode_limits *lim,
                   char *err, size_t errlen);

/* Like pg_otlp_decode on in->data[0..in->len), but the decoder owns the bytes: the parts it
 * has consumed are handed back to the OS while it reads (so the input and the decoded
 * batch do not peak together), and *in is freed and left empty on return, success or not.
 * in must be a plain malloc-backed pg_buf (no flush sink). */
int pg_otlp_decode_owned(pg_batch *b, pg_buf *in, const pg_decode_limits *lim, char *err,
                         size_t errlen);

/* Decodes OTLP/JSON text into batch b (same checks as pg_otlp_decode). */
int pg_otlp_decode_json(pg_batch *b, const uint8_t *data, size_t len, const pg_decode_limits *lim,
                        char *err, size_t errlen);

/* Checks a decoded tree: indices in range, zero elements, id lengths, sample shapes;
 * resolves string references in place. Adds missing zero elements to empty tables. */
int pg_otlp_validate(pg_arena *a, pg_otlp_data *d, const pg_decode_limits *lim, char *err,
                     size_t errlen);

/* Appends the batch as ProfilesData protobuf bytes to out. A batch of many samples is
 * written by two threads when the process may use two CPUs (same bytes). */
int pg_otlp_encode(const pg_batch *b, pg_buf *out, char *err, size_t errlen);

/* Test hook: batches of at least min_samples samples (0 = the default) are written by two
 * threads; force does so on one CPU too. */
void pg_otlp_encode_set_threads(size_t min_samples, int force);

/* Number of bytes pg_otlp_encode writes for the batch (for queue byte accounting). */
size_t pg_otlp_encoded_size(const pg_batch *b);

/* Appends the batch as OTLP/JSON to out. */
int pg_otlp_encode_json(const pg_batch *b, pg_buf *out, char *err, size_t errlen);

#endif
