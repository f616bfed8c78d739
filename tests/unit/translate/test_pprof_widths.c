/* pprof decoding of sample fields (pipeline/translate/pprof_decode_profiles.c) through the public
 * API: packed, unpacked, empty and mixed location_id / value fields, location tables that
 * need 1, 2 and 4 byte stack indices (255/256 and 65535/65536 locations), multi-byte and
 * sparse ids, id 0, unknown ids, value counts, negative values, the stack depth limit, and a
 * large gzip input whose consumed pages are released while decoding. Every successful
 * decode is checked sample by sample (stacks mapped back to pprof ids through location
 * addresses) and again after pprof encode -> decode. */
#include "testlib.h"
#include "pprof_builder.h"

#include "pipeline/core/err.h"
#include "pipeline/core/samples.h"
#include "pipeline/core/stacks.h"
#include "pipeline/translate/otlp_dump.h"
#include "pipeline/translate/pprof.h"

#include <inttypes.h>
#include <stdlib.h>
#include <zlib.h>

#define ADDR(id) (0x100000u + (uint64_t)(id))
#define IDS(...) ((const uint64_t[]){__VA_ARGS__}), (sizeof((const uint64_t[]){__VA_ARGS__}) / 8)
#define VALS(...) ((const int64_t[]){__VA_ARGS__}), (sizeof((const int64_t[]){__VA_ARGS__}) / 8)

/* String table: "", "samples", "count", "alloc", "bytes", "fn", "k", label values... */
enum { S_SAMPLES = 1, S_COUNT, S_ALLOC, S_BYTES, S_FN, S_K, S_FIRST_LABEL };

/* The header of a profile: n_types sample types ("samples/count", then "alloc/bytes"). */
static void types(pg_buf *b, size_t n_types)
{
    if (n_types > 0) tb_value_type(b, 1, S_SAMPLES, S_COUNT);
    if (n_types > 1) tb_value_type(b, 1, S_ALLOC, S_BYTES);
}

/* The string table (see the enum), then n_labels label values "label-<i>". */
static void strings(pg_buf *b, size_t n_labels)
{
    static const char *const s[] = {"", "samples", "count", "alloc", "bytes", "fn", "k"};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        tb_str(b, s[i]);
    for (size_t i = 0; i < n_labels; i++) {
        char t[32];
        snprintf(t, sizeof t, "label-%zu", i);
        tb_str(b, t);
    }
}

/* Locations with ids ids[0..n) (or 1..n when ids is NULL), address ADDR(id), no lines
 * except the first, which has one line of function 1. */
static void locations(pg_buf *b, const uint64_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t id = ids ? ids[i] : i + 1, fn = 1;
        int64_t line = 7;
        tb_location(b, id, 0, ADDR(id), &fn, &line, i == 0 ? 1 : 0);
    }
    tb_function(b, 1, S_FN, S_FN, 0, 0);
}

/* Sample fields: location ids (field 1) and values (field 2), packed or one varint each. A
 * packed field is written even when empty (tag and zero length). */
static void ids_packed(pg_buf *s, const uint64_t *v, size_t n)
{
    if (n) {
        pg_wire_put_packed_u64(s, 1, v, n);
    } else {
        pg_wire_put_tag(s, 1, PG_WT_LEN);
        pg_wire_put_varint(s, 0);
    }
}

static void ids_unpacked(pg_buf *s, const uint64_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pg_wire_put_tag(s, 1, PG_WT_VARINT);
        pg_wire_put_varint(s, v[i]);
    }
}

static void vals_packed(pg_buf *s, const int64_t *v, size_t n)
{
    if (n) {
        pg_wire_put_packed_i64(s, 2, v, n);
    } else {
        pg_wire_put_tag(s, 2, PG_WT_LEN);
        pg_wire_put_varint(s, 0);
    }
}

static void vals_unpacked(pg_buf *s, const int64_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pg_wire_put_tag(s, 2, PG_WT_VARINT);
        pg_wire_put_varint(s, (uint64_t)v[i]);
    }
}

/* One string label k = label-<i>. */
static void label(pg_buf *s, size_t i)
{
    pg_buf l = {0};
    pg_wire_put_uint(&l, 1, S_K);
    pg_wire_put_uint(&l, 2, S_FIRST_LABEL + i);
    tb_sub(s, 3, &l);
    pg_buf_free(&l);
}

/* One expected sample: pprof location ids (leaf first) and one value per sample type. */
typedef struct want {
    const uint64_t *ids;
    size_t n;
    int64_t v[2];
} want;

/* Decodes a heap copy of in into b (caller owns both); returns pg_pprof_decode's status. */
static int decode(pg_batch *b, const pg_buf *in, const pg_decode_limits *lim, char *err,
                  size_t errlen)
{
    uint8_t *copy = malloc(in->len ? in->len : 1); /* ASan sees reads past the end */
    if (in->len) memcpy(copy, in->data, in->len);
    int rc = pg_pprof_decode(b, copy, in->len, lim, NULL, err, errlen);
    free(copy);
    return rc;
}

/* The profile of the last pprof decoded into b whose sample type is `type` (0 = the one
 * profile of a pprof without sample types). */
static const pg_otlp_profile *profile_of(const pg_batch *b, const char *type)
{
    const pg_otlp_data *d = pg_batch_data(b);
    if (!d->n_resource_profiles) return NULL;
    const pg_otlp_rprofiles *rp = d->resource_profiles[d->n_resource_profiles - 1];
    const pg_otlp_sprofiles *sp = rp->scope_profiles[rp->n_scope_profiles - 1];
    const pg_otlp_dict *dict = pg_batch_dict(b);
    for (size_t k = 0; k < sp->n_profiles; k++) {
        const pg_otlp_profile *p = sp->profiles[k];
        if (!type) return p;
        if (p->sample_type && strcmp(dict->string_table[p->sample_type->type_strindex], type) == 0)
            return p;
    }
    return NULL;
}

/* Checks b's last decoded pprof against w[0..n) with n_types values each. */
static void check_batch(const pg_batch *b, size_t n_types, const want *w, size_t n,
                        const char *what)
{
    static const char *const names[2] = {"samples", "alloc"};
    const pg_otlp_dict *d = pg_batch_dict(b);
    for (size_t t = 0; t < (n_types ? n_types : 1); t++) {
        const pg_otlp_profile *p = profile_of(b, n_types ? names[t] : NULL);
        CHECK_MSG(p != NULL, "%s: no profile for type %zu", what, t);
        if (!p) return;
        CHECK_MSG(pg_profile_sample_count(p) == n, "%s: %zu samples, want %zu", what,
                  pg_profile_sample_count(p), n);
        for (size_t i = 0; i < n && i < pg_profile_sample_count(p); i++) {
            pg_sample_ref r;
            pg_sample_at(p, i, &r);
            CHECK_MSG(r.stack >= 0 && (size_t)r.stack < pg_dict_stack_count(d),
                      "%s: sample %zu stack %d", what, i, r.stack);
            if (r.stack < 0 || (size_t)r.stack >= pg_dict_stack_count(d)) continue;
            pg_stack_ref s;
            pg_dict_stack_at(d, (size_t)r.stack, &s);
            int same = s.n == w[i].n;
            for (size_t j = 0; same && j < s.n; j++) {
                int32_t li = pg_stack_loc(&s, j);
                same = li > 0 && (size_t)li < d->n_location_table &&
                       d->location_table[li]->address == ADDR(w[i].ids[j]);
            }
            CHECK_MSG(same, "%s: sample %zu stack differs (%zu locations, want %zu)", what, i, s.n,
                      w[i].n);
            if (n_types) {
                CHECK_MSG(r.n_values == 1 && r.values[0] == w[i].v[t],
                          "%s: sample %zu type %zu value %" PRId64 " (%zu values), want %" PRId64,
                          what, i, t, r.n_values ? r.values[0] : 0, r.n_values, w[i].v[t]);
            } else {
                CHECK_MSG(r.n_values == 0, "%s: sample %zu has %zu values, want none", what, i,
                          r.n_values);
            }
        }
    }
}

/* pprof bytes of every group of b (plain protobuf), decoded again into a new batch. */
static pg_batch *re_decode(const pg_batch *b, const char *what)
{
    pg_pprof_group *g = NULL;
    size_t ng = 0;
    char err[256] = "";
    int rc = pg_pprof_plan(b, &g, &ng, err, sizeof err);
    CHECK_MSG(rc == 0 && ng == 1, "%s: plan rc=%d groups=%zu %s", what, rc, ng, err);
    pg_batch *c = pg_batch_new(0);
    if (rc == 0 && ng == 1) {
        pg_buf out = {0};
        pg_pprof_encode_opts o = {.gzip = 0, .links_as_labels = 1};
        rc = pg_pprof_encode(b, &g[0], &o, &out, err, sizeof err);
        CHECK_MSG(rc == 0, "%s: encode: %s", what, err);
        rc = decode(c, &out, NULL, err, sizeof err);
        CHECK_MSG(rc == 0, "%s: decode of the encoded pprof: %s", what, err);
        pg_buf_free(&out);
    }
    pg_pprof_groups_free(g, ng);
    return c;
}

/* Decodes `in`, which must succeed, checks it (and that the stack pool is `width` bytes
 * wide), encodes it back and checks that too. */
static void ok(const pg_buf *in, const pg_decode_limits *lim, size_t n_types, const want *w,
               size_t n, uint8_t width, const char *what)
{
    pg_batch *b = pg_batch_new(0);
    char err[256] = "";
    int rc = decode(b, in, lim, err, sizeof err);
    CHECK_MSG(rc == 0, "%s: rc=%d %s", what, rc, err);
    if (rc == 0) {
        check_batch(b, n_types, w, n, what);
        const pg_stacks *st = pg_dict_stacks(pg_batch_dict(b));
        CHECK_MSG(st && st->width == width, "%s: stack pool width %u, want %u", what,
                  st ? st->width : 0, width);
        char again[128];
        snprintf(again, sizeof again, "%s (re-encoded)", what);
        pg_batch *c = re_decode(b, what);
        check_batch(c, n_types, w, n, again);
        pg_batch_free(c);
    }
    pg_batch_free(b);
}

/* Decodes `in`, which must fail with `code` and a message containing `msg`. */
static void fails(const pg_buf *in, const pg_decode_limits *lim, int code, const char *msg,
                  const char *what)
{
    pg_batch *b = pg_batch_new(0);
    char err[256] = "";
    int rc = decode(b, in, lim, err, sizeof err);
    CHECK_MSG(rc == code && strstr(err, msg), "%s: rc=%d \"%s\", want %d \"%s\"", what, rc, err,
              code, msg);
    pg_batch_free(b);
}

/* Empty packed fields are valid and hold nothing; unpacked and mixed fields add up. */
static void test_field_forms(void)
{
    pg_buf b = {0}, s = {0};
    types(&b, 2);
    /* 0: empty packed ids, empty packed values, then the values unpacked */
    ids_packed(&s, NULL, 0);
    vals_packed(&s, NULL, 0);
    vals_unpacked(&s, VALS(5, 6));
    tb_sub(&b, 2, &s);
    /* 1: unpacked ids and values */
    ids_unpacked(&s, IDS(3, 2, 1));
    vals_unpacked(&s, VALS(7, 8));
    tb_sub(&b, 2, &s);
    /* 2: packed {1, 2}, unpacked 3, empty packed, packed {4}; values mixed the same way */
    ids_packed(&s, IDS(1, 2));
    vals_packed(&s, NULL, 0);
    ids_unpacked(&s, IDS(3));
    vals_unpacked(&s, VALS(9));
    ids_packed(&s, NULL, 0);
    ids_packed(&s, IDS(4));
    vals_packed(&s, VALS(10));
    tb_sub(&b, 2, &s);
    /* 3: fields interleaved: value, id, value, id */
    vals_unpacked(&s, VALS(11));
    ids_unpacked(&s, IDS(4));
    vals_packed(&s, VALS(12));
    ids_packed(&s, IDS(1));
    tb_sub(&b, 2, &s);
    /* 4: only packed, the common form */
    ids_packed(&s, IDS(1, 2, 3, 4));
    vals_packed(&s, VALS(13, 14));
    tb_sub(&b, 2, &s);
    locations(&b, NULL, 4);
    strings(&b, 0);
    const want w[] = {
        {NULL, 0, {5, 6}},     {IDS(3, 2, 1), {7, 8}},      {IDS(1, 2, 3, 4), {9, 10}},
        {IDS(4, 1), {11, 12}}, {IDS(1, 2, 3, 4), {13, 14}},
    };
    ok(&b, NULL, 2, w, 5, 1, "field forms");
    pg_buf_free(&b);

    /* no sample types: samples with empty packed values and no values at all */
    b = (pg_buf){0};
    ids_packed(&s, IDS(2));
    vals_packed(&s, NULL, 0);
    tb_sub(&b, 2, &s);
    ids_unpacked(&s, IDS(1, 2));
    tb_sub(&b, 2, &s);
    locations(&b, NULL, 2);
    strings(&b, 0);
    const want w0[] = {{IDS(2), {0, 0}}, {IDS(1, 2), {0, 0}}};
    ok(&b, NULL, 0, w0, 2, 1, "no sample types");
    pg_buf_free(&b);
    pg_buf_free(&s);
}

/* A sample list over n locations (ids 1..n), with stacks that touch the ends. */
static void table_widths(size_t n, uint8_t width, const char *what)
{
    pg_buf b = {0}, s = {0};
    types(&b, 1);
    uint64_t mid = n / 2 + 1;
    const uint64_t st0[] = {n, 1, mid, n};
    const uint64_t st1[] = {127, 128, 129, 1};
    const uint64_t st2[] = {n >= 255 ? 255 : 5, n >= 256 ? 256 : 6, n >= 300 ? 300 : 7};
    const uint64_t st3[] = {n >= 65535 ? 65535 : 8, n >= 65536 ? 65536 : 9, n};
    ids_packed(&s, st0, 4);
    vals_packed(&s, VALS(1));
    tb_sub(&b, 2, &s);
    ids_unpacked(&s, st1, 4);
    vals_packed(&s, VALS(2));
    tb_sub(&b, 2, &s);
    ids_packed(&s, st2, 1);
    ids_unpacked(&s, st2 + 1, 2);
    vals_packed(&s, VALS(3));
    tb_sub(&b, 2, &s);
    ids_packed(&s, st3, 3);
    vals_packed(&s, VALS(4));
    tb_sub(&b, 2, &s);
    ids_packed(&s, st0, 4); /* the same stack again */
    vals_packed(&s, VALS(5));
    tb_sub(&b, 2, &s);
    locations(&b, NULL, n);
    strings(&b, 0);
    const want w[] = {
        {st0, 4, {1, 0}}, {st1, 4, {2, 0}}, {st2, 3, {3, 0}}, {st3, 3, {4, 0}}, {st0, 4, {5, 0}}};
    ok(&b, NULL, 1, w, 5, width, what);
    pg_buf_free(&b);
    pg_buf_free(&s);
}

/* Location tables whose stack indices need 1, 2 and 4 bytes. */
static void test_table_widths(void)
{
    table_widths(200, 1, "200 locations");
    table_widths(255, 1, "255 locations");
    table_widths(256, 2, "256 locations");
    table_widths(300, 2, "300 locations");
    table_widths(65535, 2, "65535 locations");
    table_widths(65536, 4, "65536 locations");
    table_widths(70000, 4, "70000 locations");
}

/* Ids far above the table size (the sparse map), one-byte ids of a small table that are
 * not in it, and ids >= 128 in the one-byte fast path. */
static void test_sparse_ids(void)
{
    pg_buf b = {0}, s = {0};
    types(&b, 1);
    const uint64_t ids[] = {1000, 3, 5000, 1, (uint64_t)1 << 40, 2};
    ids_packed(&s, IDS(3, 1000, 1, 5000, (uint64_t)1 << 40, 2));
    vals_packed(&s, VALS(1));
    tb_sub(&b, 2, &s);
    ids_unpacked(&s, IDS(5000, 3));
    vals_unpacked(&s, VALS(2));
    tb_sub(&b, 2, &s);
    locations(&b, ids, 6);
    strings(&b, 0);
    const want w[] = {{IDS(3, 1000, 1, 5000, (uint64_t)1 << 40, 2), {1, 0}},
                      {IDS(5000, 3), {2, 0}}};
    ok(&b, NULL, 1, w, 2, 1, "sparse ids");
    pg_buf_free(&b);

    /* ids 1, 2 and 200 over 3 locations: a packed run that leaves the fast path part way */
    b = (pg_buf){0};
    types(&b, 1);
    const uint64_t ids2[] = {1, 2, 200};
    ids_packed(&s, IDS(1, 2, 200, 2, 1, 200, 1));
    vals_packed(&s, VALS(3));
    tb_sub(&b, 2, &s);
    locations(&b, ids2, 3);
    strings(&b, 0);
    const want w2[] = {{IDS(1, 2, 200, 2, 1, 200, 1), {3, 0}}};
    ok(&b, NULL, 1, w2, 1, 1, "fast path left part way");
    pg_buf_free(&b);
    pg_buf_free(&s);
}

/* A valid profile of 3 locations and one type, plus one bad sample built by `bad`. */
static void with_bad_sample(pg_buf *b, void (*bad)(pg_buf *s))
{
    pg_buf s = {0};
    types(b, 1);
    ids_packed(&s, IDS(1, 2));
    vals_packed(&s, VALS(1));
    tb_sub(b, 2, &s);
    bad(&s);
    tb_sub(b, 2, &s);
    locations(b, NULL, 3);
    strings(b, 0);
    pg_buf_free(&s);
}

/* Builders of one bad sample each (fields appended to s). */
static void bad_zero_packed(pg_buf *s)
{
    ids_packed(s, IDS(1, 0, 2));
    vals_packed(s, VALS(1));
}
static void bad_zero_first(pg_buf *s)
{
    ids_packed(s, IDS(0));
    vals_packed(s, VALS(1));
}
static void bad_zero_unpacked(pg_buf *s)
{
    ids_unpacked(s, IDS(2, 0));
    vals_packed(s, VALS(1));
}
static void bad_unknown_small(pg_buf *s)
{
    ids_packed(s, IDS(1, 4));
    vals_packed(s, VALS(1));
}
static void bad_unknown_big(pg_buf *s)
{
    ids_packed(s, IDS(1, 300));
    vals_packed(s, VALS(1));
}
static void bad_unknown_unpacked(pg_buf *s)
{
    ids_unpacked(s, IDS(99));
    vals_packed(s, VALS(1));
}
static void bad_unknown_huge(pg_buf *s)
{
    ids_unpacked(s, IDS(UINT64_MAX));
    vals_packed(s, VALS(1));
}
static void bad_two_values(pg_buf *s)
{
    ids_packed(s, IDS(1));
    vals_packed(s, VALS(1, 2));
}
static void bad_split_values(pg_buf *s)
{
    ids_packed(s, IDS(1));
    vals_packed(s, VALS(1));
    vals_unpacked(s, VALS(2));
}
static void bad_no_values(pg_buf *s)
{
    ids_packed(s, IDS(1));
    vals_packed(s, NULL, 0);
}
static void bad_ids_fixed64(pg_buf *s)
{
    pg_wire_put_tag(s, 1, PG_WT_I64);
    uint8_t z[8] = {1};
    pg_buf_append(s, z, 8);
    vals_packed(s, VALS(1));
}
static void bad_truncated_packed(pg_buf *s)
{
    pg_wire_put_tag(s, 1, PG_WT_LEN);
    pg_wire_put_varint(s, 2);
    uint8_t t[2] = {1, 0x80}; /* a varint cut by the field's end */
    pg_buf_append(s, t, 2);
    vals_packed(s, VALS(1));
}
static void bad_many_values(pg_buf *s)
{
    enum { N = 65537 };
    int64_t *v = calloc(N, sizeof *v);
    ids_packed(s, IDS(1));
    vals_packed(s, v, N);
    free(v);
}

static void bad_many_unpacked(pg_buf *s)
{
    enum { N = 65537 };
    int64_t *v = calloc(N, sizeof *v);
    ids_packed(s, IDS(1));
    vals_unpacked(s, v, N);
    free(v);
}

/* A label whose body is `body` (n bytes) after location 1 and value 1. */
static void with_label_body(pg_buf *s, const uint8_t *body, size_t n)
{
    ids_packed(s, IDS(1));
    vals_packed(s, VALS(1));
    pg_wire_put_tag(s, 3, PG_WT_LEN);
    pg_wire_put_varint(s, n);
    pg_buf_append(s, body, n);
}
static void bad_label_key_len(pg_buf *s)
{
    const uint8_t body[] = {0x0a, 0x01, 0x06}; /* key (field 1) as a length-delimited field */
    with_label_body(s, body, sizeof body);
}
static void bad_label_cut_varint(pg_buf *s)
{
    const uint8_t body[] = {0x08, 0x06, 0x18, 0x80}; /* num's varint cut by the label's end */
    with_label_body(s, body, sizeof body);
}
static void bad_label_cut_unknown(pg_buf *s)
{
    const uint8_t body[] = {0x08, 0x06, 0x3a, 0x05, 'x'}; /* field 7 longer than the label */
    with_label_body(s, body, sizeof body);
}
static void bad_label_tag(pg_buf *s)
{
    const uint8_t body[] = {0x08, 0x06, 0x0b}; /* field 1, wire type 3 (groups) */
    with_label_body(s, body, sizeof body);
}
static void bad_value_cut(pg_buf *s)
{
    ids_packed(s, IDS(1));
    const uint8_t v[] = {0x12, 0x02, 0x05, 0x80}; /* packed values, the second varint cut */
    pg_buf_append(s, v, sizeof v);
}
static void bad_value_long(pg_buf *s)
{
    ids_packed(s, IDS(1));
    /* a varint of 11 bytes */
    const uint8_t v[] = {0x12, 0x0b, 0x80, 0x80, 0x80, 0x80, 0x80,
                         0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    pg_buf_append(s, v, sizeof v);
}
static void bad_value_unpacked_cut(pg_buf *s)
{
    ids_packed(s, IDS(1));
    const uint8_t v[] = {0x10, 0xff}; /* one unpacked value, cut by the sample's end */
    pg_buf_append(s, v, sizeof v);
}

/* Location id 0, unknown ids, wrong value counts, wrong wire types, malformed labels. */
static void test_errors(void)
{
    static const struct {
        void (*fn)(pg_buf *);
        int code;
        const char *msg;
        const char *what;
    } cases[] = {
        {bad_zero_packed, PG_EINVAL, "location id 0", "id 0 packed"},
        {bad_zero_first, PG_EINVAL, "location id 0", "id 0 alone"},
        {bad_zero_unpacked, PG_EINVAL, "location id 0", "id 0 unpacked"},
        {bad_unknown_small, PG_EINVAL, "unknown location id 4", "unknown one-byte id"},
        {bad_unknown_big, PG_EINVAL, "unknown location id 300", "unknown two-byte id"},
        {bad_unknown_unpacked, PG_EINVAL, "unknown location id 99", "unknown unpacked id"},
        {bad_unknown_huge, PG_EINVAL, "unknown location id 18446744073709551615", "unknown 2^64-1"},
        {bad_two_values, PG_EINVAL, "2 values for 1 sample types", "two values"},
        {bad_split_values, PG_EINVAL, "2 values for 1 sample types", "two values, split"},
        {bad_no_values, PG_EINVAL, "0 values for 1 sample types", "no values"},
        {bad_ids_fixed64, PG_EINVAL, "malformed sample 1", "ids as fixed64"},
        {bad_truncated_packed, PG_EINVAL, "malformed sample 1", "truncated packed ids"},
        {bad_many_values, PG_EINVAL, "more than 65536 values", "65537 values"},
        {bad_many_unpacked, PG_EINVAL, "more than 65536 values", "65537 unpacked values"},
        {bad_label_key_len, PG_EINVAL, "malformed sample 1", "label key not a varint"},
        {bad_label_cut_varint, PG_EINVAL, "malformed sample 1", "label varint cut"},
        {bad_label_cut_unknown, PG_EINVAL, "malformed sample 1", "label unknown field cut"},
        {bad_label_tag, PG_EINVAL, "malformed sample 1", "label wire type 3"},
        {bad_value_cut, PG_EINVAL, "malformed sample 1", "packed value cut"},
        {bad_value_long, PG_EINVAL, "malformed sample 1", "value of 11 bytes"},
        {bad_value_unpacked_cut, PG_EINVAL, "malformed sample 1", "unpacked value cut"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pg_buf b = {0};
        with_bad_sample(&b, cases[i].fn);
        fails(&b, NULL, cases[i].code, cases[i].msg, cases[i].what);
        pg_buf_free(&b);
    }
    /* values with no sample types */
    pg_buf b = {0}, s = {0};
    ids_packed(&s, IDS(1));
    vals_packed(&s, VALS(4));
    tb_sub(&b, 2, &s);
    locations(&b, NULL, 1);
    strings(&b, 0);
    fails(&b, NULL, PG_EINVAL, "1 values for 0 sample types", "value without a type");
    pg_buf_free(&b);
    pg_buf_free(&s);
}

/* Negative values (10-byte varints) and the int64 extremes, packed and not. */
static void test_negative_values(void)
{
    static const uint64_t one[1] = {1};
    pg_buf b = {0}, s = {0};
    types(&b, 2);
    const int64_t v[][2] = {
        {-1, INT64_MIN},
        {INT64_MAX, -128},
        {-129, INT16_MIN},
        {INT16_MIN - 1, INT32_MIN},
        {(int64_t)INT32_MIN - 1, 0},
        {0, -1},
    };
    enum { N = sizeof v / sizeof v[0] };
    want w[N];
    for (size_t i = 0; i < N; i++) {
        ids_packed(&s, IDS(1));
        if (i % 2)
            vals_unpacked(&s, v[i], 2);
        else
            vals_packed(&s, v[i], 2);
        tb_sub(&b, 2, &s);
        w[i] = (want){one, 1, {v[i][0], v[i][1]}};
    }
    locations(&b, NULL, 1);
    strings(&b, 0);
    ok(&b, NULL, 2, w, N, 1, "negative values");
    pg_buf_free(&b);

    /* small negatives only: a narrow column, sign-extended */
    b = (pg_buf){0};
    types(&b, 1);
    const int64_t small[] = {-1, -128, 127, 0, -2};
    want ws[5];
    for (size_t i = 0; i < 5; i++) {
        ids_unpacked(&s, IDS(1));
        vals_packed(&s, &small[i], 1);
        tb_sub(&b, 2, &s);
        ws[i] = (want){one, 1, {small[i], 0}};
    }
    locations(&b, NULL, 1);
    strings(&b, 0);
    ok(&b, NULL, 1, ws, 5, 1, "small negative values");
    pg_batch *batch = pg_batch_new(0);
    char err[256];
    CHECK(decode(batch, &b, NULL, err, sizeof err) == 0);
    const pg_samples *c = pg_profile_columns(profile_of(batch, "samples"));
    CHECK(c && c->narrow && c->width == 1);
    pg_batch_free(batch);
    pg_buf_free(&b);
    pg_buf_free(&s);
}

/* A stack deeper than max_stack_depth is refused; exactly the limit is fine. */
static void test_depth_limit(void)
{
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    lim.max_stack_depth = 3;
    static const struct {
        int packed;
        size_t nlocs;
        int big_ids;
        int ok;
        const char *what;
    } cases[] = {
        {1, 3, 0, 1, "3 packed one-byte ids"},
        {1, 4, 0, 0, "4 packed one-byte ids"},
        {0, 3, 0, 1, "3 unpacked ids"},
        {0, 4, 0, 0, "4 unpacked ids"},
        {1, 3, 1, 1, "3 packed two-byte ids (6 bytes)"},
        {1, 4, 1, 0, "4 packed two-byte ids"},
        {2, 3, 0, 1, "2 packed + 1 unpacked"},
        {2, 4, 0, 0, "2 packed + 2 unpacked"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        for (int big_table = 0; big_table < 2; big_table++) {
            pg_buf b = {0}, s = {0};
            types(&b, 1);
            uint64_t ids[4];
            for (size_t j = 0; j < 4; j++)
                ids[j] = cases[k].big_ids ? 200 + j : 1 + j;
            size_t n = cases[k].nlocs;
            if (cases[k].packed == 1)
                ids_packed(&s, ids, n);
            else if (cases[k].packed == 0)
                ids_unpacked(&s, ids, n);
            else {
                ids_packed(&s, ids, 2);
                ids_unpacked(&s, ids + 2, n - 2);
            }
            vals_packed(&s, VALS(1));
            tb_sub(&b, 2, &s);
            locations(&b, NULL, big_table ? 300 : 210); /* 2- and 1-byte stack indices */
            strings(&b, 0);
            char what[128];
            snprintf(what, sizeof what, "depth limit: %s, %s table", cases[k].what,
                     big_table ? "300" : "210");
            if (cases[k].ok) {
                const want w[] = {{ids, n, {1, 0}}};
                /* the samples' stacks fit one byte; the 300 table's locations above 255 are
                 * reached by no sample and recorded by a stack (pprof.profile.table_entries),
                 * which needs two */
                ok(&b, &lim, 1, w, 1, big_table ? 2 : 1, what);
            } else {
                fails(&b, &lim, PG_ELIMIT, "deeper than the limit of 3 locations", what);
            }
            pg_buf_free(&b);
            pg_buf_free(&s);
        }
    }
}

/* Gzip of in (as Go writes pprof). */
static void gzip_buf(const pg_buf *in, pg_buf *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    CHECK(deflateInit2(&zs, 1, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    size_t bound = deflateBound(&zs, (uLong)in->len) + 64;
    CHECK(pg_buf_reserve(out, bound) == 0);
    zs.next_in = in->data;
    zs.avail_in = (uInt)in->len;
    zs.next_out = out->data + out->len;
    zs.avail_out = (uInt)bound;
    CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END);
    out->len += bound - zs.avail_out;
    deflateEnd(&zs);
}

/* The canonical dump of b (malloc'd, caller frees). */
static char *dump(const pg_batch *b)
{
    pg_buf o = {0};
    pg_otlp_dump(b, PG_DUMP_CANONICAL, &o);
    pg_buf_append(&o, "", 1);
    return (char *)o.data;
}

/* Label values live in their attributes only: b's string table holds none of the
 * "label-<i>" values, and exactly n_labels attributes of key "k" hold them. */
static void check_label_values(const pg_batch *b, size_t n_labels, const char *what)
{
    const pg_otlp_dict *d = pg_batch_dict(b);
    for (size_t i = 0; i < d->n_string_table; i++)
        CHECK_MSG(strncmp(d->string_table[i], "label-", 6) != 0,
                  "%s: label value \"%s\" in the string table", what, d->string_table[i]);
    size_t n = 0;
    for (size_t i = 1; i < d->n_attribute_table; i++) {
        const pg_otlp_attr *a = d->attribute_table[i];
        if (strcmp(d->string_table[a->key_strindex], "k") != 0) continue;
        CHECK_MSG(a->value && a->value->value_case == PG_ANY_STRING &&
                      strncmp(a->value->string_value, "label-", 6) == 0,
                  "%s: attribute %zu of key k is not a label value", what, i);
        n++;
    }
    CHECK_MSG(n == n_labels, "%s: %zu label attributes, want %zu", what, n, n_labels);
}

/* A few MB of samples with labels, gzip'd: the decoder releases consumed pages as it goes
 * and must keep the string table, wherever it lies. The result equals the plain decode. */
static void test_large_gzip(void)
{
    enum { NS = 120000, NLOC = 300, NLAB = 50 };
    for (int strings_first = 0; strings_first < 2; strings_first++) {
        pg_buf b = {0}, s = {0};
        types(&b, 2);
        if (strings_first) strings(&b, NLAB);
        locations(&b, NULL, NLOC);
        uint32_t x = 7;
        for (size_t i = 0; i < NS; i++) {
            uint64_t ids[12];
            size_t n = 1 + i % 12;
            for (size_t j = 0; j < n; j++) {
                x = x * 1103515245u + 12345u;
                ids[j] = 1 + (x >> 8) % NLOC;
            }
            ids_packed(&s, ids, n);
            int64_t v[2] = {(int64_t)(i % 1000) - 500, (int64_t)i * 1000};
            vals_packed(&s, v, 2);
            if (i % 3) label(&s, i % NLAB);
            tb_sub(&b, 2, &s);
        }
        if (!strings_first) strings(&b, NLAB);
        pg_buf z = {0};
        gzip_buf(&b, &z);
        pg_batch *plain = pg_batch_new(0), *zipped = pg_batch_new(0);
        char err[256] = "";
        int rc1 = decode(plain, &b, NULL, err, sizeof err);
        CHECK_MSG(rc1 == 0, "large plain: %s", err);
        int rc2 = decode(zipped, &z, NULL, err, sizeof err);
        CHECK_MSG(rc2 == 0, "large gzip: %s", err);
        if (rc1 == 0 && rc2 == 0) {
            char *d1 = dump(plain), *d2 = dump(zipped);
            CHECK_MSG(strcmp(d1, d2) == 0, "large gzip (strings %s): decodes differ",
                      strings_first ? "first" : "last");
            free(d1);
            free(d2);
            CHECK(pg_batch_sample_count(zipped) == 2 * NS);
            check_label_values(zipped, NLAB, "large gzip");
        }
        printf("large gzip: %zu bytes raw, %zu gzip'd\n", b.len, z.len);
        pg_batch_free(plain);
        pg_batch_free(zipped);
        pg_buf_free(&z);
        pg_buf_free(&b);
        pg_buf_free(&s);
    }
}

/* A small pprof (the label cache at its smallest): repeated labels give one attribute,
 * which holds its value; the way back writes the same labels. */
static void test_small_labels(void)
{
    pg_buf b = {0}, s = {0};
    types(&b, 1);
    for (size_t i = 0; i < 3; i++) {
        ids_packed(&s, IDS(1));
        vals_packed(&s, VALS(1));
        label(&s, i == 1);
        tb_sub(&b, 2, &s);
    }
    locations(&b, NULL, 1);
    strings(&b, 2);
    pg_batch *batch = pg_batch_new(0);
    char err[256] = "";
    CHECK_MSG(decode(batch, &b, NULL, err, sizeof err) == 0, "%s", err);
    check_label_values(batch, 2, "small labels");
    const pg_otlp_profile *p = profile_of(batch, "samples");
    CHECK(p && pg_profile_sample_count(p) == 3);
    if (p && pg_profile_sample_count(p) == 3) {
        pg_sample_ref r[3];
        for (size_t i = 0; i < 3; i++)
            pg_sample_at(p, i, &r[i]);
        CHECK(r[0].n_attrs == 1 && r[1].n_attrs == 1 && r[2].n_attrs == 1);
        CHECK(r[0].attrs[0] == r[2].attrs[0] && r[0].attrs[0] != r[1].attrs[0]);
        const pg_otlp_dict *d = pg_batch_dict(batch);
        CHECK(strcmp(d->attribute_table[r[1].attrs[0]]->value->string_value, "label-1") == 0);
        pg_batch *c = re_decode(batch, "small labels");
        check_label_values(c, 2, "small labels (re-encoded)");
        pg_batch_free(c);
    }
    pg_batch_free(batch);
    pg_buf_free(&b);
    pg_buf_free(&s);
}

/* A profile of one sample whose one label has body `body` (n bytes); its canonical dump
 * (malloc'd), or NULL when it does not decode. */
static char *label_dump(const uint8_t *body, size_t n)
{
    pg_buf b = {0}, s = {0};
    types(&b, 1);
    with_label_body(&s, body, n);
    tb_sub(&b, 2, &s);
    locations(&b, NULL, 1);
    strings(&b, 1);
    pg_batch *batch = pg_batch_new(0);
    char err[256] = "";
    char *out = decode(batch, &b, NULL, err, sizeof err) == 0 ? dump(batch) : NULL;
    CHECK_MSG(out != NULL, "label form: %s", err);
    pg_batch_free(batch);
    pg_buf_free(&b);
    pg_buf_free(&s);
    return out;
}

/* The forms one label may take read as the plain one: fields in another order, unknown
 * fields of every wire type among them, a field given twice (the last counts), and
 * multi-byte varints; a numeric label with its unit the same way. */
static void test_label_forms(void)
{
    static const uint8_t str_plain[] = {0x08, S_K, 0x10, S_FIRST_LABEL};
    static const uint8_t str_forms[][24] = {
        {0x10, S_FIRST_LABEL, 0x08, S_K},
        {0x48, 0x05, 0x08, S_K, 0x3a, 0x02, 'x', 'y', 0x10, S_FIRST_LABEL, 0x45, 1, 2, 3, 4},
        {0x08, 0x03, 0x10, 0x01, 0x08, S_K, 0x51, 1, 2, 3, 4, 5, 6, 7, 8, 0x10, S_FIRST_LABEL},
        {0x88, 0x80, 0x00, S_K, 0x10, 0x80 | S_FIRST_LABEL, 0x00},
    };
    static const size_t str_len[] = {4, 15, 17, 7};
    char *plain = label_dump(str_plain, sizeof str_plain);
    for (size_t i = 0; plain && i < sizeof str_len / sizeof str_len[0]; i++) {
        char *got = label_dump(str_forms[i], str_len[i]);
        CHECK_MSG(got && strcmp(got, plain) == 0, "string label form %zu differs", i);
        free(got);
    }
    free(plain);
    /* num 300 (two bytes), unit "bytes" */
    static const uint8_t num_plain[] = {0x08, S_K, 0x18, 0xac, 0x02, 0x20, S_BYTES};
    static const uint8_t num_form[] = {0x20, S_BYTES, 0x3a, 0x00, 0x18, 0x01, 0x18,
                                       0xac, 0x82,    0x80, 0x00, 0x08, S_K};
    plain = label_dump(num_plain, sizeof num_plain);
    char *got = label_dump(num_form, sizeof num_form);
    CHECK_MSG(plain && got && strcmp(got, plain) == 0, "numeric label form differs");
    free(plain);
    free(got);
}

/* Two pprofs into one batch: the second one's tables are larger (width 2 after width 1). */
static void test_two_into_one(void)
{
    pg_buf a = {0}, b = {0}, s = {0};
    types(&a, 1);
    ids_packed(&s, IDS(1, 2));
    vals_packed(&s, VALS(1));
    tb_sub(&a, 2, &s);
    locations(&a, NULL, 2);
    strings(&a, 0);
    types(&b, 1);
    ids_packed(&s, IDS(300, 1));
    vals_packed(&s, VALS(2));
    tb_sub(&b, 2, &s);
    ids_packed(&s, IDS(1, 2));
    vals_packed(&s, VALS(3));
    tb_sub(&b, 2, &s);
    locations(&b, NULL, 300);
    strings(&b, 0);
    pg_batch *batch = pg_batch_new(0);
    char err[256] = "";
    CHECK(decode(batch, &a, NULL, err, sizeof err) == 0);
    CHECK_MSG(decode(batch, &b, NULL, err, sizeof err) == 0, "%s", err);
    const want w[] = {{IDS(300, 1), {2, 0}}, {IDS(1, 2), {3, 0}}};
    check_batch(batch, 1, w, 2, "second pprof in one batch");
    /* the first pprof's stack {1, 2} and the second's are one dictionary element */
    const pg_otlp_data *d = pg_batch_data(batch);
    CHECK(d->n_resource_profiles == 2);
    if (d->n_resource_profiles == 2) {
        pg_sample_ref r1, r2;
        pg_sample_at(d->resource_profiles[0]->scope_profiles[0]->profiles[0], 0, &r1);
        pg_sample_at(d->resource_profiles[1]->scope_profiles[0]->profiles[0], 1, &r2);
        CHECK(r1.stack == r2.stack);
    }
    pg_batch_free(batch);
    pg_buf_free(&a);
    pg_buf_free(&b);
    pg_buf_free(&s);
}

int main(void)
{
    test_field_forms();
    test_table_widths();
    test_sparse_ids();
    test_errors();
    test_negative_values();
    test_depth_limit();
    test_large_gzip();
    test_small_labels();
    test_label_forms();
    test_two_into_one();
    TEST_MAIN_END();
}
