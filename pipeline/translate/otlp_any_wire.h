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

/* Writes v's body at q, into the pg_otlp_any_body_size bytes the caller made room for;
 * returns the end. Borrows v. */
uint8_t *pg_otlp_any_write_body(uint8_t *q, const pg_otlp_any *v);

#endif
