/* OTLP protobuf decoding of an input the caller hands over (see pg_otlp_decode in otlp.h
 * for what is checked). Kept apart from otlp.h until that header lists it. */
#ifndef PG_OTLP_DECODE_OWNED_H
#define PG_OTLP_DECODE_OWNED_H

#include "pipeline/core/batch.h"
#include "pipeline/core/buf.h"
#include "pipeline/translate/limits.h"

/* Like pg_otlp_decode on in->data[0..in->len), but the decoder owns the bytes: the parts it
 * has consumed are handed back to the OS while it reads (so the input and the decoded
 * batch do not peak together), and *in is freed and left empty on return, success or not.
 * in must be a plain malloc-backed pg_buf (no flush sink). */
int pg_otlp_decode_owned(pg_batch *b, pg_buf *in, const pg_decode_limits *lim, char *err,
                         size_t errlen);

#endif
