/* AnyValue bytes written by hand (pipeline/translate/otlp_any_wire.c) against protobuf-c's
 * own packing of the same value: every scalar case with zero, empty, negative, extreme and
 * special values (a NULL string, -0.0, NaN, INT64_MIN, a negative string index), values
 * unset, arrays and key-value lists (handed to protobuf-c), and a value with unknown fields
 * (also protobuf-c's). Size and bytes must agree exactly, after bytes already in the
 * buffer. */
#include "testlib.h"

#include "pipeline/translate/otlp_any_wire.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* Hand bytes of v equal protobuf-c's, written after a prefix. */
static void same(const pg_otlp_any *v, const char *what)
{
    size_t want = protobuf_c_message_get_packed_size(&v->base);
    uint8_t *ref = malloc(want + 1);
    size_t packed = protobuf_c_message_pack(&v->base, ref);
    size_t got = pg_otlp_any_body_size(v);
    CHECK_MSG(got == want && packed == want, "%s: size %zu, protobuf-c %zu", what, got, want);
    pg_buf b = {0};
    pg_buf_append(&b, "ab", 2);
    if (!pg_buf_reserve(&b, got))
        b.len = (size_t)(pg_otlp_any_write_body(b.data + b.len, v) - b.data);
    CHECK_MSG(!b.failed && b.len == 2 + want && !memcmp(b.data, "ab", 2) &&
                  (want == 0 || !memcmp(b.data + 2, ref, want)),
              "%s: %zu bytes written, protobuf-c %zu, or they differ", what, b.len - 2, want);
    pg_buf_free(&b);
    free(ref);
}

static pg_otlp_any value(int value_case)
{
    pg_otlp_any v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    v.value_case = value_case;
    return v;
}

static void scalars(void)
{
    pg_otlp_any v = value(PG_ANY_NONE);
    same(&v, "unset");
    const char *strings[] = {"", "x", "4bf92f3577b34da6a3ce929d0e0e4736"};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        v = value(PG_ANY_STRING);
        v.string_value = (char *)strings[i];
        same(&v, strings[i][0] ? "string" : "empty string");
    }
    char long_string[300];
    memset(long_string, 'q', sizeof long_string - 1);
    long_string[sizeof long_string - 1] = 0;
    v.string_value = long_string;
    same(&v, "string of 299 bytes (two-byte length)");
    v.string_value = NULL;
    same(&v, "NULL string");
    for (int t = 0; t < 2; t++) {
        v = value(PG_ANY_BOOL);
        v.bool_value = t;
        same(&v, t ? "true" : "false");
    }
    const int64_t ints[] = {0, 1, 127, 128, -1, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        v = value(PG_ANY_INT);
        v.int_value = ints[i];
        same(&v, "int");
    }
    const double doubles[] = {0.0, -0.0, 1.5, -1e300, INFINITY, NAN};
    for (size_t i = 0; i < sizeof doubles / sizeof doubles[0]; i++) {
        v = value(PG_ANY_DOUBLE);
        v.double_value = doubles[i];
        same(&v, "double");
    }
    v = value(PG_ANY_BYTES);
    same(&v, "empty bytes");
    uint8_t raw[200];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (uint8_t)i;
    v.bytes_value.data = raw;
    v.bytes_value.len = sizeof raw;
    same(&v, "bytes");
    const int32_t idx[] = {0, 5, 300, -1, INT32_MIN};
    for (size_t i = 0; i < sizeof idx / sizeof idx[0]; i++) {
        v = value(PG_ANY_STRINDEX);
        v.string_value_strindex = idx[i];
        same(&v, "string index");
    }
}

/* Arrays, key-value lists and unknown fields go through protobuf-c, all the same bytes. */
static void through_protobuf_c(void)
{
    pg_otlp_any one = value(PG_ANY_INT), two = value(PG_ANY_STRING);
    one.int_value = 42;
    two.string_value = "two";
    pg_otlp_any *items[] = {&one, &two};
    Opentelemetry__Proto__Common__V1__ArrayValue arr =
        OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
    arr.n_values = 2;
    arr.values = items;
    pg_otlp_any v = value(PG_ANY_ARRAY);
    v.array_value = &arr;
    same(&v, "array");
    Opentelemetry__Proto__Common__V1__KeyValue kv =
        OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
    kv.key = "k";
    kv.value = &one;
    Opentelemetry__Proto__Common__V1__KeyValue *kvs[] = {&kv};
    Opentelemetry__Proto__Common__V1__KeyValueList list =
        OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE_LIST__INIT;
    list.n_values = 1;
    list.values = kvs;
    v = value(PG_ANY_KVLIST);
    v.kvlist_value = &list;
    same(&v, "key-value list");
    uint8_t extra[] = {7, 7, 7};
    ProtobufCMessageUnknownField unk = {.tag = 15,
                                        .wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED,
                                        .len = sizeof extra,
                                        .data = extra};
    v = value(PG_ANY_STRING);
    v.string_value = "kept";
    v.base.n_unknown_fields = 1;
    v.base.unknown_fields = &unk;
    same(&v, "string with an unknown field");
}

int main(void)
{
    scalars();
    through_protobuf_c();
    TEST_MAIN_END();
}
