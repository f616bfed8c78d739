/* Unit tests for the OTLP/JSON codec (pipeline/translate/otlp_json.c).
 * argv[1] is the tests/data folder (defaults to the one beside this source file).
 * `test_otlp_json --dump FILE` writes the packed hand-built ProfilesData, from which the
 * reference goldens in data/json were made (see data/json/README.md). */
#include "testlib.h"

#include "pipeline/core/buf.h"
#include "pipeline/core/err.h"
#include "pipeline/core/otlp_types.h"
#include "pprof/profile.pb-c.h"
#include "pipeline/translate/otlp_json.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define D_DATA PG_OTLP_DESC(profiles_data)
#define D_ANY opentelemetry__proto__common__v1__any_value__descriptor
#define D_ARRAY opentelemetry__proto__common__v1__array_value__descriptor
#define D_REQ                                                                                      \
    opentelemetry__proto__collector__profiles__v1development__export_profiles_service_request__descriptor

static char data_dir[1024];

/* Appends item to the arena pointer array (*arr, *n); aborts the test on failure. */
#define PUSH(a, arr, n, item)                                                                      \
    do {                                                                                           \
        if (pg_otlp_push((a), (void ***)&(arr), &(n), (item))) abort();                            \
    } while (0)

/* Returns an arena copy of n values of the given element type. */
#define ARR(a, T, ...) ((T *)pg_arena_memdup((a), (T[]){__VA_ARGS__}, sizeof((T[]){__VA_ARGS__})))
#define NARR(T, ...) (sizeof((T[]){__VA_ARGS__}) / sizeof(T))

static ProtobufCBinaryData bin(pg_arena *a, const char *p, size_t n)
{
    ProtobufCBinaryData b = {n, pg_arena_memdup(a, p, n)};
    return b;
}

static pg_otlp_any *any_int(pg_arena *a, int64_t v)
{
    pg_otlp_any *x = pg_otlp_any_new(a);
    x->value_case = PG_ANY_INT, x->int_value = v;
    return x;
}

static pg_otlp_any *any_double(pg_arena *a, double v)
{
    pg_otlp_any *x = pg_otlp_any_new(a);
    x->value_case = PG_ANY_DOUBLE, x->double_value = v;
    return x;
}

static pg_otlp_any *any_str(pg_arena *a, const char *s)
{
    pg_otlp_any *x = pg_otlp_any_new(a);
    x->value_case = PG_ANY_STRING, x->string_value = pg_arena_strndup(a, s, strlen(s));
    return x;
}

static pg_otlp_kv *kv(pg_arena *a, const char *key, int32_t key_strindex, pg_otlp_any *v)
{
    pg_otlp_kv *x = pg_otlp_kv_new(a);
    if (key) x->key = pg_arena_strndup(a, key, strlen(key));
    x->key_strindex = key_strindex, x->value = v;
    return x;
}

/* Adds an attribute_table entry with value v (may be NULL). */
static void attr(pg_arena *a, pg_otlp_dict *d, int32_t key, pg_otlp_any *v)
{
    pg_otlp_attr *x = pg_otlp_attr_new(a);
    x->key_strindex = key, x->value = v, x->unit_strindex = key ? 6 : 0;
    PUSH(a, d->attribute_table, d->n_attribute_table, x);
}

/* The dictionary: every table, zero entries first, AnyValue of every kind. */
static pg_otlp_dict *build_dict(pg_arena *a)
{
    pg_otlp_dict *d = pg_otlp_dict_new(a);
    pg_otlp_mapping *m = pg_otlp_mapping_new(a);
    PUSH(a, d->mapping_table, d->n_mapping_table, pg_otlp_mapping_new(a));
    m->memory_start = 0x400000, m->memory_limit = UINT64_MAX, m->file_offset = 0x1000;
    m->filename_strindex = 1, m->attribute_indices = ARR(a, int32_t, 1), m->n_attribute_indices = 1;
    PUSH(a, d->mapping_table, d->n_mapping_table, m);

    pg_otlp_location *l = pg_otlp_location_new(a);
    PUSH(a, d->location_table, d->n_location_table, pg_otlp_location_new(a));
    pg_otlp_line *lines = pg_otlp_lines_new(a, 2);
    lines[0].function_index = 1, lines[0].line = 42, lines[0].column = -7;
    lines[1].function_index = 1, lines[1].line = INT64_MAX, lines[1].column = INT64_MIN;
    PUSH(a, l->lines, l->n_lines, &lines[0]);
    PUSH(a, l->lines, l->n_lines, &lines[1]);
    l->mapping_index = 1, l->address = 0xdeadbeefcafeULL;
    l->attribute_indices = ARR(a, int32_t, 1, 2), l->n_attribute_indices = 2;
    PUSH(a, d->location_table, d->n_location_table, l);

    pg_otlp_function *f = pg_otlp_function_new(a);
    PUSH(a, d->function_table, d->n_function_table, pg_otlp_function_new(a));
    f->name_strindex = 2, f->system_name_strindex = 3, f->filename_strindex = 4, f->start_line = -1;
    PUSH(a, d->function_table, d->n_function_table, f);

    pg_otlp_link *k = pg_otlp_link_new(a);
    PUSH(a, d->link_table, d->n_link_table, pg_otlp_link_new(a));
    k->trace_id = bin(a, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10", 16);
    k->span_id = bin(a, "\xa0\xa1\xa2\xa3\xa4\xa5\xa6\xa7", 8);
    PUSH(a, d->link_table, d->n_link_table, k);

    static const char *strs[] = {"",
                                 "libfoo.so",
                                 "main",
                                 "main_sys",
                                 "/src/main.c",
                                 "cpu",
                                 "nanoseconds",
                                 "key",
                                 "unicode \xc3\xa9 \xe2\x9c\x93 \xf0\x9d\x84\x9e",
                                 "q\" b\\ n\n t\t c\x01 del\x7f / </script>"};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
        PUSH(a, d->string_table, d->n_string_table, pg_arena_strndup(a, strs[i], strlen(strs[i])));

    attr(a, d, 0, NULL);
    attr(a, d, 7, any_str(a, "")); /* oneof member set to "" must survive */
    pg_otlp_any *b = pg_otlp_any_new(a);
    b->value_case = PG_ANY_BOOL, b->bool_value = 0;
    attr(a, d, 7, b);
    attr(a, d, 7, any_int(a, 0));
    attr(a, d, 7, any_int(a, INT64_MIN));
    attr(a, d, 7, any_int(a, INT64_MAX));
    const double dbl[] = {
        0.0,  NAN,  INFINITY, -INFINITY,     -0.0, 0.1, 5e-324, 1.7976931348623157e308,
        -2.5, 1e16, 1e17,     123456789.125, 3};
    for (size_t i = 0; i < sizeof dbl / sizeof *dbl; i++)
        attr(a, d, 7, any_double(a, dbl[i]));
    const char *bytes[] = {"", "\x00\xff\x10", "\xfb", "\xfb\xff", "\xfb\xff\xbf\x00"};
    const size_t blen[] = {0, 3, 1, 2, 4};
    for (size_t i = 0; i < 5; i++) {
        pg_otlp_any *x = pg_otlp_any_new(a);
        x->value_case = PG_ANY_BYTES, x->bytes_value = bin(a, bytes[i], blen[i]);
        attr(a, d, 7, x);
    }
    pg_otlp_any *si = pg_otlp_any_new(a);
    si->value_case = PG_ANY_STRINDEX, si->string_value_strindex = 0;
    attr(a, d, 7, si);

    /* array [ "a", 1, [ kvlist{ k: -1 } ], {} ] */
    pg_otlp_kvlist *inner = pg_otlp_kvlist_new(a);
    PUSH(a, inner->values, inner->n_values, kv(a, "k", 0, any_int(a, -1)));
    pg_otlp_any *ikv = pg_otlp_any_new(a);
    ikv->value_case = PG_ANY_KVLIST, ikv->kvlist_value = inner;
    pg_otlp_array *arr2 = pg_otlp_array_new(a);
    PUSH(a, arr2->values, arr2->n_values, ikv);
    pg_otlp_any *iarr = pg_otlp_any_new(a);
    iarr->value_case = PG_ANY_ARRAY, iarr->array_value = arr2;
    pg_otlp_array *arr = pg_otlp_array_new(a);
    PUSH(a, arr->values, arr->n_values, any_str(a, "a"));
    PUSH(a, arr->values, arr->n_values, any_int(a, 1));
    PUSH(a, arr->values, arr->n_values, iarr);
    PUSH(a, arr->values, arr->n_values, pg_otlp_any_new(a));
    pg_otlp_any *av = pg_otlp_any_new(a);
    av->value_case = PG_ANY_ARRAY, av->array_value = arr;
    attr(a, d, 7, av);

    /* kvlist { k: -1, <strindex 7>: kvlist{}, "empty": (no value) }, and an empty array */
    pg_otlp_kvlist *kl = pg_otlp_kvlist_new(a);
    pg_otlp_any *ek = pg_otlp_any_new(a);
    ek->value_case = PG_ANY_KVLIST, ek->kvlist_value = pg_otlp_kvlist_new(a);
    PUSH(a, kl->values, kl->n_values, kv(a, "k", 0, any_int(a, -1)));
    PUSH(a, kl->values, kl->n_values, kv(a, NULL, 7, ek));
    PUSH(a, kl->values, kl->n_values, kv(a, "empty", 0, NULL));
    pg_otlp_any *kvv = pg_otlp_any_new(a);
    kvv->value_case = PG_ANY_KVLIST, kvv->kvlist_value = kl;
    attr(a, d, 7, kvv);
    pg_otlp_any *ea = pg_otlp_any_new(a);
    ea->value_case = PG_ANY_ARRAY, ea->array_value = pg_otlp_array_new(a);
    attr(a, d, 7, ea);
    attr(a, d, 7, pg_otlp_any_new(a)); /* value present, oneof not set */

    pg_otlp_stack *s = pg_otlp_stack_new(a);
    PUSH(a, d->stack_table, d->n_stack_table, pg_otlp_stack_new(a));
    s->location_indices = ARR(a, int32_t, 1, 1, 0), s->n_location_indices = 3;
    PUSH(a, d->stack_table, d->n_stack_table, s);
    return d;
}

static pg_otlp_valuetype *vt(pg_arena *a, int32_t type, int32_t unit)
{
    pg_otlp_valuetype *v = pg_otlp_valuetype_new(a);
    v->type_strindex = type, v->unit_strindex = unit;
    return v;
}

/* A ProfilesData touching every message and scalar kind of the pinned protos. */
static pg_otlp_data *build_full(pg_arena *a)
{
    pg_otlp_data *data = pg_otlp_data_new(a);
    data->dictionary = build_dict(a);

    pg_otlp_rprofiles *rp = pg_otlp_rprofiles_new(a);
    rp->resource = pg_otlp_resource_new(a);
    pg_otlp_any *sv = pg_otlp_any_new(a);
    sv->value_case = PG_ANY_STRINDEX, sv->string_value_strindex = 8;
    PUSH(a, rp->resource->attributes, rp->resource->n_attributes, kv(a, NULL, 7, sv));
    PUSH(a, rp->resource->attributes, rp->resource->n_attributes,
         kv(a, "service.name", 0, any_str(a, "svc")));
    rp->resource->dropped_attributes_count = 3;
    pg_otlp_entityref *er = pg_arena_alloc(a, sizeof *er);
    *er = (pg_otlp_entityref)OPENTELEMETRY__PROTO__COMMON__V1__ENTITY_REF__INIT;
    er->schema_url = "https://opentelemetry.io/schemas/1.30.0", er->type = "service";
    er->id_keys = ARR(a, char *, "service.name"), er->n_id_keys = 1;
    er->description_keys = ARR(a, char *, "a", "b"), er->n_description_keys = 2;
    PUSH(a, rp->resource->entity_refs, rp->resource->n_entity_refs, er);
    rp->schema_url = "https://example.com/rp";

    pg_otlp_sprofiles *sp = pg_otlp_sprofiles_new(a);
    sp->scope = pg_otlp_scope_new(a);
    sp->scope->name = "scope", sp->scope->version = "1.2.3",
    sp->scope->dropped_attributes_count = 1;
    PUSH(a, sp->scope->attributes, sp->scope->n_attributes, kv(a, "x", 0, any_double(a, 1.5)));
    sp->schema_url = "https://example.com/sp";

    pg_otlp_profile *p = pg_otlp_profile_new(a);
    p->sample_type = vt(a, 5, 6);
    p->period_type = vt(a, 5, 6);
    p->period = -10000000, p->time_unix_nano = UINT64_MAX - 1, p->duration_nano = 1000000000;
    p->profile_id = bin(a, "\xff\xee\xdd\xcc\xbb\xaa\x99\x88\x77\x66\x55\x44\x33\x22\x11\x00", 16);
    p->dropped_attributes_count = 7, p->original_payload_format = "pprof";
    p->original_payload = bin(a, "\x1f\x8b\x08\x00\x00", 5);
    p->attribute_indices = ARR(a, int32_t, 0, 2147483647, -2147483647 - 1);
    p->n_attribute_indices = 3;
    pg_otlp_sample *smp = pg_otlp_samples_new(a, 3);
    smp[0].stack_index = 1, smp[0].link_index = 1;
    smp[0].attribute_indices = ARR(a, int32_t, 1, 2), smp[0].n_attribute_indices = 2;
    smp[0].values = ARR(a, int64_t, -1, INT64_MAX, INT64_MIN, 0), smp[0].n_values = 4;
    smp[0].timestamps_unix_nano = ARR(a, uint64_t, UINT64_MAX, 0, 1);
    smp[0].n_timestamps_unix_nano = 3;
    smp[2].values = ARR(a, int64_t, 5), smp[2].n_values = 1;
    for (int i = 0; i < 3; i++)
        PUSH(a, p->samples, p->n_samples, &smp[i]);
    PUSH(a, sp->profiles, sp->n_profiles, p);
    PUSH(a, rp->scope_profiles, rp->n_scope_profiles, sp);
    PUSH(a, rp->scope_profiles, rp->n_scope_profiles, pg_otlp_sprofiles_new(a));
    PUSH(a, data->resource_profiles, data->n_resource_profiles, rp);
    return data;
}

/* Returns 1 when x and y pack to the same bytes. */
static int same_pack(const ProtobufCMessage *x, const ProtobufCMessage *y)
{
    size_t nx = protobuf_c_message_get_packed_size(x), ny = protobuf_c_message_get_packed_size(y);
    if (nx != ny) return 0;
    uint8_t *bx = malloc(nx + 1), *by = malloc(ny + 1);
    protobuf_c_message_pack(x, bx);
    protobuf_c_message_pack(y, by);
    int same = memcmp(bx, by, nx) == 0;
    free(bx);
    free(by);
    return same;
}

/* Decodes text as descriptor d into arena a; returns the message or NULL (err filled). */
static ProtobufCMessage *decode(const ProtobufCMessageDescriptor *d, const char *text, size_t n,
                                pg_arena *a, size_t depth, char *err, size_t errlen)
{
    ProtobufCMessage *m = NULL;
    int rc = pg_otlp_json_decode(d, (const uint8_t *)text, n, a, depth, &m, err, errlen);
    CHECK_MSG(rc == 0 && m, "decode failed (%d): %s", rc, err);
    return rc ? NULL : m;
}

/* Reads data/json/<name> into b; returns 0 or -1. */
static int read_data(const char *name, pg_buf *b)
{
    char path[1200], err[256];
    snprintf(path, sizeof path, "%s/json/%s", data_dir, name);
    int rc = pg_buf_read_file(b, path, 1 << 20, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    return rc;
}

/* Checks decode(d, json) fails with code and an error containing want. */
static void expect_err(const ProtobufCMessageDescriptor *d, const char *json, size_t depth,
                       int code, const char *want)
{
    pg_arena *a = pg_arena_new(0);
    ProtobufCMessage *m = (ProtobufCMessage *)&m;
    char err[512] = "";
    int rc =
        pg_otlp_json_decode(d, (const uint8_t *)json, strlen(json), a, depth, &m, err, sizeof err);
    CHECK_MSG(rc == code, "rc %d (want %d) for %s: %s", rc, code, json, err);
    CHECK(m == NULL);
    CHECK_MSG(strstr(err, want) != NULL, "error \"%s\" lacks \"%s\"", err, want);
    pg_arena_free(a);
}

static void test_roundtrip(void)
{
    pg_arena *a = pg_arena_new(0);
    pg_otlp_data *orig = build_full(a);
    pg_buf js = {0}, js2 = {0};
    char err[512] = "";
    CHECK_MSG(pg_otlp_json_encode(&orig->base, &js, err, sizeof err) == 0, "%s", err);
    ProtobufCMessage *back = decode(&D_DATA, (const char *)js.data, js.len, a, 0, err, sizeof err);
    CHECK(back && same_pack(&orig->base, back));
    if (back) CHECK(pg_otlp_json_encode(back, &js2, err, sizeof err) == 0);
    CHECK(js.len == js2.len && memcmp(js.data, js2.data, js.len) == 0); /* deterministic */

    /* Spot checks of names and value forms against the OTLP/JSON mapping. */
    pg_buf_append(&js, "", 1);
    const char *s = (const char *)js.data;
    static const char *want[] = {
        "{\"resourceProfiles\":[{\"resource\":{\"attributes\":[{\"value\":{\"stringValueStrindex\":"
        "8},\"keyStrindex\":7},",
        "\"droppedAttributesCount\":3,\"entityRefs\":[{\"schemaUrl\":",
        "\"idKeys\":[\"service.name\"],\"descriptionKeys\":[\"a\",\"b\"]}]},\"scopeProfiles\":[{"
        "\"scope\":{\"name\":\"scope\"",
        "\"sampleType\":{\"typeStrindex\":5,\"unitStrindex\":6},\"samples\":[{\"stackIndex\":1,"
        "\"attributeIndices\":[1,2],\"linkIndex\":1,",
        "\"values\":[\"-1\",\"9223372036854775807\",\"-9223372036854775808\",\"0\"],",
        "\"timestampsUnixNano\":[\"18446744073709551615\",\"0\",\"1\"]},{},{\"values\":[\"5\"]}]",
        "\"timeUnixNano\":\"18446744073709551614\",\"durationNano\":\"1000000000\",\"periodType\":",
        "\"period\":\"-10000000\",\"profileId\":\"ffeeddccbbaa99887766554433221100\",",
        "\"originalPayloadFormat\":\"pprof\",\"originalPayload\":\"H4sIAAA=\",\"attributeIndices\":"
        "[0,2147483647,-2147483648]}",
        "{}],\"schemaUrl\":\"https://example.com/"
        "rp\"}],\"dictionary\":{\"mappingTable\":[{},{\"memoryStart\":\"4194304\",\"memoryLimit\":"
        "\"18446744073709551615\",\"fileOffset\":\"4096\",\"filenameStrindex\":1,",
        "\"lines\":[{\"functionIndex\":1,\"line\":\"42\",\"column\":\"-7\"},",
        "\"functionTable\":[{},{\"nameStrindex\":2,\"systemNameStrindex\":3,\"filenameStrindex\":4,"
        "\"startLine\":\"-1\"}]",
        "\"linkTable\":[{},{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":"
        "\"a0a1a2a3a4a5a6a7\"}]",
        "\"q\\\" b\\\\ n\\n t\\t c\\u0001 del\x7f / </script>\"",
        "\"attributeTable\":[{},{\"keyStrindex\":7,\"value\":{\"stringValue\":\"\"},"
        "\"unitStrindex\":6}",
        "{\"boolValue\":false}",
        "{\"intValue\":\"0\"}",
        "{\"intValue\":\"-9223372036854775808\"}",
        "{\"doubleValue\":0}",
        "{\"doubleValue\":\"NaN\"}",
        "{\"doubleValue\":\"Infinity\"}",
        "{\"doubleValue\":\"-Infinity\"}",
        "{\"doubleValue\":-0.0}",
        "{\"doubleValue\":0.1}",
        "{\"doubleValue\":5e-324}",
        "{\"doubleValue\":1.7976931348623157e+308}",
        "{\"doubleValue\":1e+16}",
        "{\"doubleValue\":1e+17}",
        "{\"doubleValue\":3}",
        "{\"bytesValue\":\"\"}",
        "{\"bytesValue\":\"AP8Q\"}",
        "{\"bytesValue\":\"+w==\"}",
        "{\"bytesValue\":\"+/8=\"}",
        "{\"bytesValue\":\"+/+/AA==\"}",
        "{\"stringValueStrindex\":0}",
        "{\"arrayValue\":{\"values\":[{\"stringValue\":\"a\"},{\"intValue\":\"1\"},{\"arrayValue\":"
        "{\"values\":[{\"kvlistValue\":{\"values\":[{\"key\":\"k\",\"value\":{\"intValue\":\"-1\"}}"
        "]}}]}},{}]}}",
        "{\"kvlistValue\":{\"values\":[{\"key\":\"k\",\"value\":{\"intValue\":\"-1\"}},{\"value\":{"
        "\"kvlistValue\":{}},\"keyStrindex\":7},{\"key\":\"empty\"}]}}",
        "{\"keyStrindex\":7,\"value\":{\"arrayValue\":{}},\"unitStrindex\":6},{\"keyStrindex\":7,"
        "\"value\":{},\"unitStrindex\":6}]",
        "\"stackTable\":[{},{\"locationIndices\":[1,1,0]}]}}",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        CHECK_MSG(strstr(s, want[i]) != NULL, "output lacks %s", want[i]);

    /* The same message under the collector request descriptor (same field layout). */
    pg_otlp_export_request *rq = NULL;
    rq = (pg_otlp_export_request *)decode(&D_REQ, s, strlen(s), a, 0, err, sizeof err);
    CHECK(rq && rq->n_resource_profiles == 1 && rq->dictionary &&
          rq->dictionary->n_attribute_table == orig->dictionary->n_attribute_table);
    pg_buf_free(&js);
    pg_buf_free(&js2);
    pg_arena_free(a);
}

/* Field names checked against protoc's json_name for every field (data/json/json_names.txt). */
static void test_json_names(void)
{
    pg_buf b = {0};
    if (read_data("json_names.txt", &b)) return;
    pg_buf_append(&b, "", 1);
    int lines = 0, bad = 0;
    char *save = NULL;
    for (char *ln = strtok_r((char *)b.data, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
        char msg[200], field[100], json[100], out[100];
        if (ln[0] == '#' || sscanf(ln, "%199s %99s %99s", msg, field, json) != 3) continue;
        lines++;
        pg_otlp_json_field_name(field, out, sizeof out);
        if (strcmp(out, json)) bad++, fprintf(stderr, "%s.%s: %s != %s\n", msg, field, out, json);
    }
    CHECK(lines == 84);
    CHECK(bad == 0);
    char small[4];
    CHECK(pg_otlp_json_field_name("time_unix_nano", small, sizeof small) == 12);
    CHECK_STR(small, "tim");
    pg_buf_free(&b);
}

/* Goldens written by protobuf's reference json_format (camel and snake_case, ids as hex)
 * decode to exactly the hand-built message; so do unknown-field documents. */
static void test_reference_goldens(void)
{
    static const char *files[] = {"full_reference_camel.json", "full_reference_snake.json",
                                  "full_unknown_fields.json"};
    pg_arena *a = pg_arena_new(0);
    pg_otlp_data *orig = build_full(a);
    for (size_t i = 0; i < 3; i++) {
        pg_buf b = {0};
        char err[512] = "";
        if (read_data(files[i], &b)) continue;
        ProtobufCMessage *m = decode(&D_DATA, (const char *)b.data, b.len, a, 0, err, sizeof err);
        CHECK_MSG(m && same_pack(&orig->base, m), "%s differs", files[i]);
        pg_buf_free(&b);
    }
    pg_arena_free(a);
}

static void test_small_inputs(void)
{
    pg_arena *a = pg_arena_new(0);
    char err[512] = "";
    const char *snake =
        "{\"resource_profiles\":[{\"scope_profiles\":[{\"profiles\":[{\"sample_type\":"
        "{\"type_strindex\":1},\"samples\":[{\"stack_index\":2,\"timestamps_unix_nano\":[\"7\"],"
        "\"values\":[3, -4, \"-9223372036854775808\", 9223372036854775807, 1e2]}],"
        "\"profile_id\":\"ABCDEF0123456789abcdef0123456789\",\"time_unix_nano\":18446744073709551,"
        "\"duration_nano\":\"18446744073709551615\",\"original_payload\":\"-_8\"}]}]}],"
        "\"dictionary\":{\"string_table\":[\"\",\"cpu\"],\"link_table\":[{\"trace_id\":\"\","
        "\"span_id\":null}],\"attribute_table\":[{\"key_strindex\":1,\"value\":{\"double_value\":"
        "\"-Infinity\"}},{\"value\":{\"doubleValue\":\"1.25e3\"}},{\"value\":{\"int_value\":-5}},"
        "{\"value\":{\"stringValue\":\"x\",\"intValue\":null}},{\"value\":{\"string_value_"
        "strindex\":\"12\"}}]}}";
    pg_otlp_data *d = (pg_otlp_data *)decode(&D_DATA, snake, strlen(snake), a, 0, err, sizeof err);
    if (d) {
        pg_otlp_profile *p = d->resource_profiles[0]->scope_profiles[0]->profiles[0];
        CHECK(p->sample_type->type_strindex == 1 && p->n_samples == 1);
        CHECK(p->samples[0]->stack_index == 2 && p->samples[0]->n_values == 5);
        CHECK(p->samples[0]->values[0] == 3 && p->samples[0]->values[1] == -4);
        CHECK(p->samples[0]->values[2] == INT64_MIN && p->samples[0]->values[3] == INT64_MAX);
        CHECK(p->samples[0]->values[4] == 100);
        CHECK(p->samples[0]->n_timestamps_unix_nano == 1 &&
              p->samples[0]->timestamps_unix_nano[0] == 7);
        CHECK(p->profile_id.len == 16 && p->profile_id.data[0] == 0xab &&
              p->profile_id.data[15] == 0x89);
        CHECK(p->time_unix_nano == 18446744073709551ULL && p->duration_nano == UINT64_MAX);
        CHECK(p->original_payload.len == 2 && p->original_payload.data[0] == 0xfb &&
              p->original_payload.data[1] == 0xff);
        pg_otlp_dict *dc = d->dictionary;
        CHECK(dc->n_string_table == 2 && !strcmp(dc->string_table[1], "cpu"));
        CHECK(dc->n_link_table == 1 && dc->link_table[0]->trace_id.len == 0);
        CHECK(dc->n_attribute_table == 5);
        CHECK(dc->attribute_table[0]->value->value_case == PG_ANY_DOUBLE &&
              isinf(dc->attribute_table[0]->value->double_value) &&
              dc->attribute_table[0]->value->double_value < 0);
        CHECK(dc->attribute_table[1]->value->double_value == 1250.0);
        CHECK(dc->attribute_table[2]->value->value_case == PG_ANY_INT &&
              dc->attribute_table[2]->value->int_value == -5);
        CHECK(dc->attribute_table[3]->value->value_case == PG_ANY_STRING);
        CHECK(dc->attribute_table[4]->value->value_case == PG_ANY_STRINDEX &&
              dc->attribute_table[4]->value->string_value_strindex == 12);
    }
    /* Not-set oneof and zero values encode to {}, and encode appends. */
    pg_otlp_any *any = pg_otlp_any_new(a);
    pg_buf out = {0};
    pg_buf_append(&out, "x", 1);
    CHECK(pg_otlp_json_encode(&any->base, &out, err, sizeof err) == 0);
    CHECK(out.len == 3 && !memcmp(out.data, "x{}", 3));
    /* Invalid UTF-8 is replaced, valid multi-byte text kept. */
    any = any_str(a, "a\xff"
                     "b\xc3\xa9\xed\xa0\x80\xf0\x9f");
    out.len = 0;
    CHECK(pg_otlp_json_encode(&any->base, &out, err, sizeof err) == 0);
    CHECK(
        out.len ==
            strlen("{\"stringValue\":\"a\\ufffdb\xc3\xa9\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"}") &&
        !memcmp(out.data,
                "{\"stringValue\":\"a\\ufffdb\xc3\xa9\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"}",
                out.len));
    /* A generic message of another proto (pprof) round-trips too. */
    Perftools__Profiles__Profile pp = PERFTOOLS__PROFILES__PROFILE__INIT;
    char *st[] = {"", "samples", "count"};
    int64_t cm[] = {-1, 3};
    pp.string_table = st, pp.n_string_table = 3, pp.comment = cm, pp.n_comment = 2;
    pp.time_nanos = INT64_MIN, pp.duration_nanos = 1, pp.drop_frames = -2;
    out.len = 0;
    CHECK(pg_otlp_json_encode(&pp.base, &out, err, sizeof err) == 0);
    ProtobufCMessage *pb = decode(&perftools__profiles__profile__descriptor, (const char *)out.data,
                                  out.len, a, 0, err, sizeof err);
    CHECK(pb && same_pack(&pp.base, pb));
    pg_buf_free(&out);
    pg_arena_free(a);
}

static void test_depth(void)
{
    /* ArrayValue(1) > AnyValue(2) > ArrayValue(3) > ... : n levels of {"values":[{"arrayValue": */
    for (size_t levels = 1; levels <= 70; levels += 69) {
        pg_buf b = {0};
        for (size_t i = 0; i < levels; i++)
            pg_buf_append(&b, "{\"values\":[{\"arrayValue\":", 25);
        pg_buf_append(&b, "{}", 2);
        for (size_t i = 0; i < levels; i++)
            pg_buf_append(&b, "}]}", 3);
        size_t depth = 2 * levels + 1; /* messages on the deepest path */
        pg_arena *a = pg_arena_new(0);
        ProtobufCMessage *m = NULL;
        char err[512] = "";
        int ok = pg_otlp_json_decode(&D_ARRAY, b.data, b.len, a, depth, &m, err, sizeof err);
        CHECK_MSG(ok == 0 && m, "%s", err);
        int rc = pg_otlp_json_decode(&D_ARRAY, b.data, b.len, a, depth - 1, &m, err, sizeof err);
        CHECK(rc == PG_ELIMIT && m == NULL && strstr(err, "nested deeper than"));
        rc = pg_otlp_json_decode(&D_ARRAY, b.data, b.len, a, 0, &m, err, sizeof err);
        CHECK(levels == 1 ? rc == 0 : rc == PG_ELIMIT); /* default 64 */
        if (levels > 1) CHECK(strstr(err, "values[0].arrayValue.values[0].arrayValue") == err);
        pg_buf_free(&b);
        pg_arena_free(a);
    }
    /* Beyond jansson's own nesting cap: an error, not a crash. */
    pg_buf b = {0};
    for (int i = 0; i < 5000; i++)
        pg_buf_append(&b, "{\"a\":", 5);
    pg_buf_append(&b, "", 1);
    expect_err(&D_DATA, (const char *)b.data, 0, PG_EINVAL, "invalid JSON");
    pg_buf_free(&b);
    /* Encoder cap on deep in-memory messages. */
    pg_arena *a = pg_arena_new(0);
    pg_otlp_any *top = pg_otlp_any_new(a), *cur = top;
    for (int i = 0; i < 400; i++) {
        pg_otlp_array *arr = pg_otlp_array_new(a);
        pg_otlp_any *next = pg_otlp_any_new(a);
        cur->value_case = PG_ANY_ARRAY, cur->array_value = arr;
        PUSH(a, arr->values, arr->n_values, next);
        cur = next;
    }
    pg_buf out = {0};
    char err[256];
    pg_buf_append(&out, "keep", 4);
    CHECK(pg_otlp_json_encode(&top->base, &out, err, sizeof err) == PG_ELIMIT && out.len == 4);
    pg_buf_free(&out);
    pg_arena_free(a);
}

static void test_rejections(void)
{
    const char *P =
        "{\"resourceProfiles\":[{\"scopeProfiles\":[{},{\"profiles\":[{\"samples\":[{},{},{},";
    char buf[512];
    snprintf(buf, sizeof buf, "%s{\"values\":[true]}]}]}]}]}", P);
    expect_err(&D_DATA, buf, 0, PG_EINVAL,
               "resourceProfiles[0].scopeProfiles[1].profiles[0].samples[3].values[0]: expected "
               "integer string");
    snprintf(buf, sizeof buf, "%s{\"values\":[\"1\",\"12a\"]}]}]}]}]}", P);
    expect_err(&D_DATA, buf, 0, PG_EINVAL, "samples[3].values[1]: invalid integer \"12a\"");
    snprintf(buf, sizeof buf, "%s{\"values\":[1.5]}]}]}]}]}", P);
    expect_err(&D_DATA, buf, 0, PG_EINVAL, "values[0]: expected integer string");
    snprintf(buf, sizeof buf, "%s{\"values\":[\"9223372036854775808\"]}]}]}]}]}", P);
    expect_err(&D_DATA, buf, 0, PG_EINVAL, "values[0]: integer out of range for int64");
    snprintf(buf, sizeof buf, "%s{\"values\":[\"-9223372036854775809\"]}]}]}]}]}", P);
    expect_err(&D_DATA, buf, 0, PG_EINVAL, "out of range for int64");
    snprintf(buf, sizeof buf, "%s{\"timestampsUnixNano\":[\"18446744073709551616\"]}]}]}]}]}", P);
    expect_err(&D_DATA, buf, 0, PG_EINVAL,
               "timestampsUnixNano[0]: integer out of range for uint64");
    snprintf(buf, sizeof buf, "%s{\"timestampsUnixNano\":[\"-1\"]}]}]}]}]}", P);
    expect_err(&D_DATA, buf, 0, PG_EINVAL, "out of range for uint64");
    snprintf(buf, sizeof buf, "%s{\"stackIndex\":2147483648}]}]}]}]}", P);
    expect_err(&D_DATA, buf, 0, PG_EINVAL, "samples[3].stackIndex: integer out of range for int32");
    snprintf(buf, sizeof buf, "%s{\"stackIndex\":\"x\"}]}]}]}]}", P);
    expect_err(&D_DATA, buf, 0, PG_EINVAL, "stackIndex: invalid integer");
    snprintf(buf, sizeof buf, "%s{\"values\":{}}]}]}]}]}", P);
    expect_err(&D_DATA, buf, 0, PG_EINVAL, "samples[3].values: expected array");
    snprintf(buf, sizeof buf, "%s{\"stackIndex\":1,\"stack_index\":2}]}]}]}]}", P);
    expect_err(&D_DATA, buf, 0, PG_EINVAL, "samples[3].stack_index: field given twice");
    expect_err(&D_DATA, "{\"resourceProfiles\":[}", 0, PG_EINVAL, "invalid JSON at line 1");
    expect_err(&D_DATA, "", 0, PG_EINVAL, "invalid JSON");
    expect_err(&D_DATA, "{} x", 0, PG_EINVAL, "invalid JSON");
    expect_err(&D_DATA, "{\"a\":1,\"a\":2}", 0, PG_EINVAL, "duplicate");
    expect_err(&D_DATA, "[]", 0, PG_EINVAL, "<root>: expected object");
    expect_err(&D_DATA, "{\"resourceProfiles\":{}}", 0, PG_EINVAL,
               "resourceProfiles: expected array");
    expect_err(&D_DATA, "{\"resourceProfiles\":[null]}", 0, PG_EINVAL,
               "resourceProfiles[0]: expected object");
    expect_err(&D_DATA, "{\"dictionary\":[]}", 0, PG_EINVAL, "dictionary: expected object");
    expect_err(&D_DATA, "{\"dictionary\":{\"stringTable\":[1]}}", 0, PG_EINVAL,
               "dictionary.stringTable[0]: expected string");
    expect_err(&D_DATA, "{\"dictionary\":{\"stringTable\":[\"a\\u0000b\"]}}", 0, PG_EINVAL,
               "invalid JSON");
    expect_err(&D_DATA, "{\"dictionary\":{\"linkTable\":[{},{\"traceId\":\"abc\"}]}}", 0, PG_EINVAL,
               "dictionary.linkTable[1].traceId: hex id has odd length 3");
    expect_err(&D_DATA, "{\"dictionary\":{\"linkTable\":[{\"spanId\":\"zz00\"}]}}", 0, PG_EINVAL,
               "linkTable[0].spanId: invalid hex character at offset 0");
    expect_err(&D_DATA, "{\"dictionary\":{\"linkTable\":[{\"spanId\":12}]}}", 0, PG_EINVAL,
               "spanId: expected hex string");
    expect_err(&D_ANY, "{\"bytesValue\":\"a\"}", 0, PG_EINVAL, "bytesValue: invalid base64 length");
    expect_err(&D_ANY, "{\"bytesValue\":\"ab!c\"}", 0, PG_EINVAL,
               "invalid base64 character at offset 2");
    expect_err(&D_ANY, "{\"bytesValue\":\"ab=c\"}", 0, PG_EINVAL, "invalid base64 character");
    expect_err(&D_ANY, "{\"bytesValue\":\"ab===\"}", 0, PG_EINVAL, "invalid base64");
    expect_err(&D_ANY, "{\"stringValue\":\"a\",\"intValue\":\"1\"}", 0, PG_EINVAL,
               "intValue: oneof already set by field \"string_value\"");
    expect_err(&D_ANY, "{\"intValue\":\"\\n1\\u00e9\"}", 0, PG_EINVAL, "invalid integer \"?1??\"");
    expect_err(&D_ANY, "{\"boolValue\":\"true\"}", 0, PG_EINVAL,
               "boolValue: expected true or false");
    expect_err(&D_ANY, "{\"stringValue\":5}", 0, PG_EINVAL, "stringValue: expected string");
    expect_err(&D_ANY, "{\"doubleValue\":\"nan\"}", 0, PG_EINVAL, "doubleValue: invalid number");
    expect_err(&D_ANY, "{\"doubleValue\":\"1e999\"}", 0, PG_EINVAL, "invalid number");
    expect_err(&D_ANY, "{\"doubleValue\":[]}", 0, PG_EINVAL, "doubleValue: expected number");
    expect_err(&D_ANY, "{\"intValue\":18446744073709551615}", 0, PG_EINVAL, "too big integer");
    expect_err(&D_ANY, "{\"intValue\":1e300}", 0, PG_EINVAL, "intValue: expected integer string");
    expect_err(&D_ANY,
               "{\"arrayValue\":{\"values\":[{\"kvlistValue\":{\"values\":[{\"key\":1}]}}]}}", 0,
               PG_EINVAL, "arrayValue.values[0].kvlistValue.values[0].key: expected string");
    expect_err(&opentelemetry__proto__common__v1__instrumentation_scope__descriptor,
               "{\"droppedAttributesCount\":-1}", 0, PG_EINVAL, "out of range for uint32");
    /* Arena cap: a clean refusal, nothing leaked (ASan run). */
    pg_arena *a = pg_arena_new(1024);
    ProtobufCMessage *m = NULL;
    char err[256];
    pg_buf b = {0};
    pg_buf_append(&b, "{\"dictionary\":{\"stringTable\":[", 30);
    for (int i = 0; i < 5000; i++)
        pg_buf_append(&b, i ? ",\"abcdefgh\"" : "\"\"", i ? 11 : 2);
    pg_buf_append(&b, "]}}", 3);
    CHECK(pg_otlp_json_decode(&D_DATA, b.data, b.len, a, 0, &m, err, sizeof err) == PG_ELIMIT &&
          m == NULL && strstr(err, "arena"));
    pg_buf_free(&b);
    pg_arena_free(a);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--dump")) {
        pg_arena *a = pg_arena_new(0);
        pg_otlp_data *d = build_full(a);
        pg_buf b = {0};
        char err[256];
        pg_buf_reserve(&b, protobuf_c_message_get_packed_size(&d->base));
        b.len = protobuf_c_message_pack(&d->base, b.data);
        int rc = pg_buf_write_file(&b, argv[2], err, sizeof err);
        pg_buf_free(&b);
        pg_arena_free(a);
        return rc ? 1 : 0;
    }
    if (argc > 1) {
        snprintf(data_dir, sizeof data_dir, "%s", argv[1]);
    } else { /* .../tests/unit/translate/test_otlp_json.c -> .../tests/data */
        snprintf(data_dir, sizeof data_dir, "%s", __FILE__);
        char *cut = strstr(data_dir, "unit/translate/test_otlp_json.c");
        if (cut)
            strcpy(cut, "data");
        else
            snprintf(data_dir, sizeof data_dir, "tests/data");
    }
    test_roundtrip();
    test_json_names();
    test_reference_goldens();
    test_small_inputs();
    test_depth();
    test_rejections();
    TEST_MAIN_END();
}
