/* AnyValue bytes by hand (see otlp_any_wire.h). protobuf-c writes a oneof member whenever it
 * is the set case, zero values included, except a NULL string, which it leaves out; int64 and
 * int32 values go out as sign-extended varints, doubles as fixed64. */
#include "pipeline/translate/otlp_any_wire.h"

#include "pipeline/core/wire.h"

#include <string.h>

/* True when v is one of the cases written by hand. */
static int by_hand(const pg_otlp_any *v)
{
    if (v->base.n_unknown_fields) return 0;
    switch (v->value_case) {
    case PG_ANY_NONE:
    case PG_ANY_STRING:
    case PG_ANY_BOOL:
    case PG_ANY_INT:
    case PG_ANY_DOUBLE:
    case PG_ANY_BYTES:
    case PG_ANY_STRINDEX:
        return 1;
    default:
        return 0;
    }
}

size_t pg_otlp_any_body_size(const pg_otlp_any *v)
{
    if (!by_hand(v)) return protobuf_c_message_get_packed_size(&v->base);
    switch (v->value_case) {
    case PG_ANY_STRING: {
        if (!v->string_value) return 0;
        size_t n = strlen(v->string_value);
        return 1 + pg_wire_varint_size(n) + n;
    }
    case PG_ANY_BOOL:
        return 2;
    case PG_ANY_INT:
        return 1 + pg_wire_varint_size((uint64_t)v->int_value);
    case PG_ANY_DOUBLE:
        return 9;
    case PG_ANY_BYTES:
        return 1 + pg_wire_varint_size(v->bytes_value.len) + v->bytes_value.len;
    case PG_ANY_STRINDEX:
        return 1 + pg_wire_varint_size((uint64_t)(int64_t)v->string_value_strindex);
    default:
        return 0;
    }
}

/* Writes a varint field's tag (field < 16) and value at q; returns the end. */
static uint8_t *varint_field(uint8_t *q, uint32_t field, uint64_t v)
{
    *q++ = (uint8_t)(field << 3 | PG_WT_VARINT);
    return pg_wire_raw_varint(q, v);
}

/* Writes a length-delimited field's tag (field < 16), length and bytes at q. */
static uint8_t *bytes_field(uint8_t *q, uint32_t field, const void *p, size_t n)
{
    *q++ = (uint8_t)(field << 3 | PG_WT_LEN);
    q = pg_wire_raw_varint(q, n);
    if (n) memcpy(q, p, n);
    return q + n;
}

uint8_t *pg_otlp_any_write_body(uint8_t *q, const pg_otlp_any *v)
{
    if (!by_hand(v)) return q + protobuf_c_message_pack(&v->base, q);
    switch (v->value_case) {
    case PG_ANY_STRING:
        return v->string_value ? bytes_field(q, 1, v->string_value, strlen(v->string_value)) : q;
    case PG_ANY_BOOL:
        return varint_field(q, 2, v->bool_value ? 1 : 0);
    case PG_ANY_INT:
        return varint_field(q, 3, (uint64_t)v->int_value);
    case PG_ANY_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, &v->double_value, sizeof bits);
        *q++ = (uint8_t)(4 << 3 | PG_WT_I64);
        for (int k = 0; k < 8; k++)
            *q++ = (uint8_t)(bits >> (8 * k));
        return q;
    }
    case PG_ANY_BYTES:
        return bytes_field(q, 7, v->bytes_value.data, v->bytes_value.len);
    case PG_ANY_STRINDEX:
        return varint_field(q, 8, (uint64_t)(int64_t)v->string_value_strindex);
    default:
        return q;
    }
}
