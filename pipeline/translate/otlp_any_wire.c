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

void pg_otlp_any_put_body(pg_buf *b, const pg_otlp_any *v, size_t size)
{
    if (!by_hand(v)) {
        if (pg_buf_reserve(b, size)) return;
        b->len += protobuf_c_message_pack(&v->base, b->data + b->len);
        return;
    }
    switch (v->value_case) {
    case PG_ANY_STRING:
        if (v->string_value) pg_wire_put_bytes(b, 1, v->string_value, strlen(v->string_value));
        break;
    case PG_ANY_BOOL:
        pg_wire_put_tag(b, 2, PG_WT_VARINT);
        pg_wire_put_varint(b, v->bool_value ? 1 : 0);
        break;
    case PG_ANY_INT:
        pg_wire_put_tag(b, 3, PG_WT_VARINT);
        pg_wire_put_varint(b, (uint64_t)v->int_value);
        break;
    case PG_ANY_DOUBLE: {
        uint64_t bits;
        memcpy(&bits, &v->double_value, sizeof bits);
        pg_wire_put_fixed64(b, 4, bits);
        break;
    }
    case PG_ANY_BYTES:
        pg_wire_put_bytes(b, 7, v->bytes_value.data, v->bytes_value.len);
        break;
    case PG_ANY_STRINDEX:
        pg_wire_put_tag(b, 8, PG_WT_VARINT);
        pg_wire_put_varint(b, (uint64_t)(int64_t)v->string_value_strindex);
        break;
    default:
        break;
    }
}
