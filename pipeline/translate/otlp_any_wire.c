/* AnyValue bytes by hand (see otlp_any_wire.h). protobuf-c writes a oneof member whenever it
 * is the set case, zero values included, except a NULL string, which it leaves out; int64 and
 * int32 values go out as sign-extended varints, doubles as fixed64. */
#include "pipeline/translate/otlp_any_wire.h"

#include "pipeline/core/wire.h"

#include <string.h>

#define ANY(c) OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_##c

/* True when v is one of the cases written by hand. */
static int by_hand(const pg_otlp_any *v)
{
    if (v->base.n_unknown_fields) return 0;
    switch (v->value_case) {
    case ANY(_NOT_SET):
    case ANY(STRING_VALUE):
    case ANY(BOOL_VALUE):
    case ANY(INT_VALUE):
    case ANY(DOUBLE_VALUE):
    case ANY(BYTES_VALUE):
    case ANY(STRING_VALUE_STRINDEX):
        return 1;
    default:
        return 0;
    }
}

size_t pg_otlp_any_body_size(const pg_otlp_any *v)
{
    if (!by_hand(v)) return protobuf_c_message_get_packed_size(&v->base);
    switch (v->value_case) {
    case ANY(STRING_VALUE): {
        if (!v->string_value) return 0;
        size_t n = strlen(v->string_value);
        return 1 + pg_wire_varint_size(n) + n;
    }
    case ANY(BOOL_VALUE):
        return 2;
    case ANY(INT_VALUE):
        return 1 + pg_wire_varint_size((uint64_t)v->int_value);
    case ANY(DOUBLE_VALUE):
        return 9;
    case ANY(BYTES_VALUE):
        return 1 + pg_wire_varint_size(v->bytes_value.len) + v->bytes_value.len;
    case ANY(STRING_VALUE_STRINDEX):
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
    case ANY(STRING_VALUE):
        if (v->string_value) pg_wire_put_bytes(b, 1, v->string_value, strlen(v->string_value));
        break;
    case ANY(BOOL_VALUE):
        pg_wire_put_tag(b, 2, PG_WT_VARINT);
        pg_wire_put_varint(b, v->bool_value ? 1 : 0);
        break;
    case ANY(INT_VALUE):
        pg_wire_put_tag(b, 3, PG_WT_VARINT);
        pg_wire_put_varint(b, (uint64_t)v->int_value);
        break;
    case ANY(DOUBLE_VALUE): {
        uint64_t bits;
        memcpy(&bits, &v->double_value, sizeof bits);
        uint8_t le[8];
        for (int i = 0; i < 8; i++)
            le[i] = (uint8_t)(bits >> (8 * i));
        pg_wire_put_tag(b, 4, PG_WT_I64);
        pg_buf_append(b, le, sizeof le);
        break;
    }
    case ANY(BYTES_VALUE):
        pg_wire_put_bytes(b, 7, v->bytes_value.data, v->bytes_value.len);
        break;
    case ANY(STRING_VALUE_STRINDEX):
        pg_wire_put_tag(b, 8, PG_WT_VARINT);
        pg_wire_put_varint(b, (uint64_t)(int64_t)v->string_value_strindex);
        break;
    default:
        break;
    }
}
