/* An AnyValue's protobuf bytes by hand for the scalar cases (string, bool, int, double,
 * bytes, string_value_strindex), protobuf-c for arrays, key-value lists and values that
 * carry unknown fields: byte-identical to protobuf_c_message_pack either way. The OTLP
 * encoder writes one per attribute-table entry, and a profile with trace correlation has
 * tens of thousands of them. */
#ifndef PG_OTLP_ANY_WIRE_H
#define PG_OTLP_ANY_WIRE_H

#include <stddef.h>

#include "pipeline/core/buf.h"
#include "pipeline/core/otlp_types.h"

/* Bytes of v's encoding (the message body, without a tag or length). Borrows v. */
size_t pg_otlp_any_body_size(const pg_otlp_any *v);

/* Appends v's body of `size` bytes (from pg_otlp_any_body_size) to b; a failed reserve
 * leaves b->failed set, as every pg_buf append does. Borrows v. */
void pg_otlp_any_put_body(pg_buf *b, const pg_otlp_any *v, size_t size);

#endif
