/* OTLP protobuf decoding of the dictionary's stack table, read by hand into columns
 * (pipeline/translate/otlp_decode_dict.c), through the public API: packed, unpacked and
 * mixed location_indices, unknown Stack fields, an empty table, a non-empty element 0,
 * out-of-range and negative indices, pools 1, 2 and 4 bytes wide (indices past 255 and
 * 65535, also when the widening happens mid-table), a dictionary given twice, and every
 * accepted input checked against protobuf-c's own reading of the same bytes, and of the
 * encoder's output for it (every width, a 2-byte pool around the varint lengths' edges). Also the
 * reader's other duties: singular messages given twice, strings with a NUL, the nesting
 * limit, and pg_otlp_decode_owned, which releases the input while it reads. */
#include "testlib.h"

#include "pipeline/core/err.h"
#include "pipeline/core/samples.h"
#include "pipeline/core/stacks.h"
#include "pipeline/core/wire.h"
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/otlp_dump.h"

#include <stdlib.h>

/* One stack as the test writes it. */
typedef struct tstack {
    const int64_t *loc;
    size_t n;
    int form; /* 0 packed, 1 one varint per index, 2 first half packed then varints,
                 3 packed with an unknown field 2 before it, 4 field 1 as fixed32 (bad) */
} tstack;

#define LOCS(...) ((const int64_t[]){__VA_ARGS__}), (sizeof((const int64_t[]){__VA_ARGS__}) / 8)
#define NO_LOCS NULL, 0

static void sub(pg_buf *b, uint32_t field, pg_buf *s)
{
    pg_wire_put_bytes(b, field, s->data, s->len);
    s->len = 0;
}

static void str(pg_buf *b, uint32_t field, const char *s, size_t n)
{
    pg_wire_put_bytes(b, field, s, n);
}

/* A Stack message (field 7 of ProfilesDictionary) in the given form. */
static void put_stack(pg_buf *dict, const tstack *t)
{
    pg_buf s = {0};
    size_t half = t->form == 2 ? t->n / 2 : t->n;
    if (t->form == 3) pg_wire_put_uint(&s, 2, 42);
    if (t->form == 4) {
        pg_wire_put_tag(&s, 1, PG_WT_I32);
        pg_buf_append(&s, "\1\0\0\0", 4);
    } else if (t->form == 1) {
        for (size_t i = 0; i < t->n; i++) {
            pg_wire_put_tag(&s, 1, PG_WT_VARINT);
            pg_wire_put_varint(&s, (uint64_t)t->loc[i]);
        }
    } else {
        if (half) pg_wire_put_packed_i64(&s, 1, t->loc, half);
        for (size_t i = half; i < t->n; i++) {
            pg_wire_put_tag(&s, 1, PG_WT_VARINT);
            pg_wire_put_varint(&s, (uint64_t)t->loc[i]);
        }
    }
    pg_wire_put_bytes(dict, 7, s.data, s.len);
    pg_buf_free(&s);
}

/* A dictionary: n_loc locations after the zero one (address = index), strings "",
 * "samples", "count", then the stacks. */
static void put_dict(pg_buf *out, size_t n_loc, const tstack *st, size_t n_st)
{
    pg_buf d = {0}, l = {0};
    pg_wire_put_bytes(&d, 2, "", 0);
    for (size_t i = 1; i <= n_loc; i++) {
        pg_wire_put_uint(&l, 2, i);
        sub(&d, 2, &l);
    }
    str(&d, 5, "", 0);
    str(&d, 5, "samples", 7);
    str(&d, 5, "count", 5);
    for (size_t i = 0; i < n_st; i++)
        put_stack(&d, &st[i]);
    sub(out, 2, &d);
    pg_buf_free(&d);
    pg_buf_free(&l);
}

/* ResourceProfiles > ScopeProfiles > one Profile "samples/count" whose n samples use
 * stacks stack[i] (value i + 1). `scope` / `resource` (may be NULL) are written as given,
 * before the profile. */
static void put_tree(pg_buf *out, const int32_t *stack, size_t n, const pg_buf *scope,
                     const pg_buf *resource)
{
    pg_buf rp = {0}, sp = {0}, p = {0}, s = {0}, vt = {0};
    pg_wire_put_uint(&vt, 1, 1);
    pg_wire_put_uint(&vt, 2, 2);
    sub(&p, 1, &vt);
    for (size_t i = 0; i < n; i++) {
        pg_wire_put_uint(&s, 1, (uint64_t)stack[i]);
        int64_t v = (int64_t)i + 1;
        pg_wire_put_packed_i64(&s, 4, &v, 1);
        sub(&p, 2, &s);
    }
    if (scope) pg_buf_append(&sp, scope->data, scope->len);
    sub(&sp, 2, &p);
    if (resource) pg_buf_append(&rp, resource->data, resource->len);
    sub(&rp, 2, &sp);
    sub(out, 1, &rp);
    pg_buf_free(&rp);
    pg_buf_free(&sp);
    pg_buf_free(&p);
    pg_buf_free(&s);
    pg_buf_free(&vt);
}

/* Decodes a heap copy of in (ASan sees reads past the end); the batch is the caller's. */
static int decode(pg_batch *b, const pg_buf *in, const pg_decode_limits *lim, char *err,
                  size_t errlen)
{
    uint8_t *copy = malloc(in->len ? in->len : 1);
    if (in->len) memcpy(copy, in->data, in->len);
    int rc = pg_otlp_decode(b, copy, in->len, lim, err, errlen);
    free(copy);
    return rc;
}

/* The same, handing a copy over with pg_otlp_decode_owned. */
static int decode_owned(pg_batch *b, const pg_buf *in, const pg_decode_limits *lim, char *err,
                        size_t errlen)
{
    pg_buf copy = {0};
    pg_buf_append(&copy, in->data, in->len);
    int rc = pg_otlp_decode_owned(b, &copy, lim, err, errlen);
    CHECK(copy.data == NULL && copy.len == 0);
    return rc;
}

/* Checks that the decoded dictionary holds, as columns `width` bytes wide, the stacks
 * protobuf-c reads from the same bytes. */
static void same_as_protobuf_c(const pg_batch *b, const pg_buf *in, uint8_t width, const char *what)
{
    const pg_otlp_dict *d = pg_batch_dict(b);
    const pg_stacks *cols = pg_dict_stacks(d);
    CHECK_MSG(cols != NULL, "%s: stacks are not columns", what);
    CHECK_MSG(!cols || cols->width == width, "%s: pool %u bytes wide, want %u", what,
              cols ? cols->width : 0, width);
    pg_otlp_data *ref = (pg_otlp_data *)protobuf_c_message_unpack(&PG_OTLP_DESC(profiles_data),
                                                                  NULL, in->len, in->data);
    CHECK_MSG(ref != NULL, "%s: protobuf-c rejects the input", what);
    if (!ref) return;
    size_t want_n = ref->dictionary ? ref->dictionary->n_stack_table : 0;
    if (want_n == 0) want_n = 1; /* the zero stack the validator adds */
    CHECK_MSG(pg_dict_stack_count(d) == want_n, "%s: %zu stacks, want %zu", what,
              pg_dict_stack_count(d), want_n);
    for (size_t i = 0; i < want_n && i < pg_dict_stack_count(d); i++) {
        pg_stack_ref r;
        pg_dict_stack_at(d, i, &r);
        const pg_otlp_stack *s = ref->dictionary && ref->dictionary->n_stack_table
                                     ? ref->dictionary->stack_table[i]
                                     : NULL;
        size_t n = s ? s->n_location_indices : 0;
        int eq = r.n == n;
        for (size_t j = 0; eq && j < n; j++)
            eq = pg_stack_loc(&r, j) == s->location_indices[j];
        CHECK_MSG(eq, "%s: stack %zu differs from protobuf-c's", what, i);
    }
    CHECK_MSG(ref->dictionary == NULL || d->n_location_table == ref->dictionary->n_location_table,
              "%s: %zu locations, protobuf-c has %zu", what, d->n_location_table,
              ref->dictionary ? ref->dictionary->n_location_table : 0);
    protobuf_c_message_free_unpacked(&ref->base, NULL);
}

/* Samples of the one profile point at stacks `want` (after decoding). */
static void samples_are(const pg_batch *b, const int32_t *want, size_t n, const char *what)
{
    const pg_otlp_data *d = pg_batch_data(b);
    const pg_otlp_profile *p = d->resource_profiles[0]->scope_profiles[0]->profiles[0];
    CHECK_MSG(pg_profile_sample_count(p) == n, "%s: %zu samples", what, pg_profile_sample_count(p));
    for (size_t i = 0; i < n && i < pg_profile_sample_count(p); i++) {
        pg_sample_ref r;
        pg_sample_at(p, i, &r);
        CHECK_MSG(r.stack == want[i] && r.n_values == 1 && r.values[0] == (int64_t)i + 1,
                  "%s: sample %zu has stack %d value %lld", what, i, r.stack,
                  r.n_values ? (long long)r.values[0] : -1);
    }
}

/* A whole input: tree with samples on `use`, dictionary with the stacks. */
static void build(pg_buf *in, size_t n_loc, const tstack *st, size_t n_st, const int32_t *use,
                  size_t n_use, int dict_first)
{
    in->len = 0;
    if (dict_first) put_dict(in, n_loc, st, n_st);
    put_tree(in, use, n_use, NULL, NULL);
    if (!dict_first) put_dict(in, n_loc, st, n_st);
}

/* Decodes (borrowed and owned, dictionary last and first); must succeed with stacks as
 * protobuf-c reads them. */
static void accept(size_t n_loc, const tstack *st, size_t n_st, const int32_t *use, size_t n_use,
                   uint8_t width, const char *what)
{
    for (int mode = 0; mode < 4; mode++) {
        pg_buf in = {0};
        build(&in, n_loc, st, n_st, use, n_use, mode & 1);
        pg_batch *b = pg_batch_new(0);
        char err[256] = "";
        int rc = mode & 2 ? decode_owned(b, &in, NULL, err, sizeof err)
                          : decode(b, &in, NULL, err, sizeof err);
        CHECK_MSG(rc == 0, "%s (mode %d): %s", what, mode, err);
        if (rc == 0) {
            same_as_protobuf_c(b, &in, width, what);
            samples_are(b, use, n_use, what);
            /* and the encoder writes the stacks back as they were read */
            pg_buf out = {0};
            rc = pg_otlp_encode(b, &out, err, sizeof err);
            CHECK_MSG(rc == 0, "%s (mode %d): encoding: %s", what, mode, err);
            if (rc == 0) same_as_protobuf_c(b, &out, width, what);
            pg_buf_free(&out);
        }
        pg_batch_free(b);
        pg_buf_free(&in);
    }
}

/* Decodes; must fail with an error containing `want`. */
static void reject(size_t n_loc, const tstack *st, size_t n_st, const int32_t *use, size_t n_use,
                   const char *want, const char *what)
{
    for (int mode = 0; mode < 4; mode++) {
        pg_buf in = {0};
        build(&in, n_loc, st, n_st, use, n_use, mode & 1);
        pg_batch *b = pg_batch_new(0);
        char err[256] = "";
        int rc = mode & 2 ? decode_owned(b, &in, NULL, err, sizeof err)
                          : decode(b, &in, NULL, err, sizeof err);
        CHECK_MSG(rc != 0 && strstr(err, want), "%s (mode %d): rc=%d err=\"%s\", want \"%s\"", what,
                  mode, rc, err, want);
        pg_batch_free(b);
        pg_buf_free(&in);
    }
}

static void test_forms(void)
{
    for (int form = 0; form <= 3; form++) {
        tstack st[] = {{NO_LOCS, form},
                       {LOCS(1, 2, 3), form},
                       {LOCS(3, 2), form},
                       {LOCS(4), form},
                       {LOCS(1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4), form}};
        int32_t use[] = {1, 2, 2, 4, 3, 0};
        char what[32];
        snprintf(what, sizeof what, "form %d", form);
        accept(4, st, 5, use, 6, 1, what);
    }
    /* an empty packed field, and stacks of mixed forms */
    tstack mixed[] = {{NO_LOCS, 0}, {LOCS(2), 1}, {LOCS(1, 2), 2}, {LOCS(2, 1), 3}, {LOCS(1), 0}};
    int32_t use[] = {1, 2, 3, 4};
    accept(2, mixed, 5, use, 4, 1, "mixed forms");
}

static void test_empty_table(void)
{
    int32_t use[] = {0, 0};
    accept(3, NULL, 0, use, 2, 1, "no stacks");
    tstack only_zero[] = {{NO_LOCS, 0}};
    accept(3, only_zero, 1, use, 2, 1, "only the zero stack");
    reject(3, NULL, 0, (const int32_t[]){1}, 1, "stack index 1 out of range",
           "no stacks, sample uses 1");
}

static void test_bad(void)
{
    tstack zero[] = {{LOCS(1), 0}, {LOCS(1, 2), 0}};
    reject(2, zero, 2, (const int32_t[]){1}, 1, "stack_table[0] must be the empty Stack",
           "non-empty element 0");
    tstack zero_unpacked[] = {{LOCS(2), 1}};
    reject(2, zero_unpacked, 1, (const int32_t[]){0}, 1, "stack_table[0] must be the empty Stack",
           "non-empty element 0, unpacked");
    tstack range[] = {{NO_LOCS, 0}, {LOCS(1, 2), 0}, {LOCS(1, 5), 0}};
    reject(4, range, 3, (const int32_t[]){1, 2}, 2, "stack_table[2]: location index 5 out of range",
           "index past the table");
    tstack neg[] = {{NO_LOCS, 0}, {LOCS(1, -1), 0}};
    reject(4, neg, 2, (const int32_t[]){1}, 1, "stack_table[1]: location index -1 out of range",
           "negative index");
    tstack past[] = {{NO_LOCS, 0}, {LOCS(70000), 1}};
    reject(300, past, 2, (const int32_t[]){1}, 1, "location index 70000 out of range",
           "wide index past the table");
    tstack wire[] = {{NO_LOCS, 0}, {LOCS(1), 4}};
    reject(2, wire, 2, (const int32_t[]){1}, 1, "malformed", "location_indices as fixed32");
    reject(2, NULL, 0, (const int32_t[]){-1}, 1, "stack index -1 out of range",
           "negative stack index");
}

static void test_widths(void)
{
    tstack w2[] = {{NO_LOCS, 0}, {LOCS(1, 255), 0}, {LOCS(256, 1), 1}, {LOCS(300, 299, 298), 0}};
    int32_t use[] = {1, 2, 3};
    accept(300, w2, 4, use, 3, 2, "past 255");
    /* small stacks first, so the pool widens mid-table: 1 -> 4 bytes, then 1 -> 2 -> 4 */
    tstack w4[] = {{NO_LOCS, 0},
                   {LOCS(1, 2, 3), 0},
                   {LOCS(65535, 65536), 0},
                   {LOCS(70000, 1), 1},
                   {LOCS(7), 2}};
    int32_t use4[] = {1, 2, 3, 4};
    accept(70000, w4, 5, use4, 4, 4, "past 65535");
    tstack steps[] = {
        {NO_LOCS, 0}, {LOCS(5), 0}, {LOCS(1000, 5), 0}, {LOCS(5, 65536), 0}, {LOCS(65535), 0}};
    accept(70000, steps, 5, use4, 4, 4, "1, 2, then 4 bytes");
    /* a 2-byte pool around the varint lengths' edges, stacks of 1 to 9 indices (whole and
     * partial groups of four for the encoder's size count) */
    tstack edges[] = {{NO_LOCS, 0},
                      {LOCS(128), 0},
                      {LOCS(127, 128, 16383, 16384), 0},
                      {LOCS(65535, 1, 16384, 16383, 128), 0},
                      {LOCS(0, 127, 65535, 65534, 300, 16385, 2, 9000, 128), 0},
                      {LOCS(16384, 16384, 16384, 16384, 16384, 16384, 16384, 16384), 0}};
    int32_t use5[] = {1, 2, 3, 4, 5};
    accept(65536, edges, 6, use5, 5, 2, "2 bytes, varint edges");
}

/* A dictionary given twice: every repeated field continues (protobuf's merge), stacks too. */
static void test_two_dictionaries(void)
{
    tstack a[] = {{NO_LOCS, 0}, {LOCS(1, 2), 0}};
    tstack b2[] = {{LOCS(3, 2, 1), 1}, {LOCS(1000), 0}};
    int32_t use[] = {1, 2, 3};
    pg_buf in = {0};
    put_tree(&in, use, 3, NULL, NULL);
    put_dict(&in, 3, a, 2);
    put_dict(&in, 997, b2, 2); /* 3 + 1 + 997 locations in all */
    pg_batch *b = pg_batch_new(0);
    char err[256] = "";
    int rc = decode(b, &in, NULL, err, sizeof err);
    CHECK_MSG(rc == 0, "two dictionaries: %s", err);
    if (rc == 0) {
        same_as_protobuf_c(b, &in, 2, "two dictionaries");
        CHECK(pg_batch_dict(b)->n_location_table == 3 + 1 + 997 + 1);
        CHECK(pg_batch_dict(b)->n_string_table == 6);
    }
    pg_batch_free(b);
    pg_buf_free(&in);
}

/* Scope and resource given twice merge; strings with a NUL end there (as protobuf-c keeps
 * them). */
static void test_tree_merges(void)
{
    pg_buf scope = {0}, resource = {0}, m = {0}, kv = {0}, av = {0};
    str(&m, 1, "first", 5);
    sub(&scope, 1, &m);
    str(&m, 2, "v2", 2);
    sub(&scope, 1, &m);
    str(&scope, 3, "sch\0ema", 7);
    str(&av, 1, "svc", 3);
    str(&kv, 1, "service.name", 12);
    sub(&kv, 2, &av);
    sub(&m, 1, &kv);
    sub(&resource, 1, &m);
    pg_wire_put_uint(&m, 2, 3);
    sub(&resource, 1, &m);
    tstack st[] = {{NO_LOCS, 0}, {LOCS(1), 0}};
    int32_t use[] = {1};
    for (int owned = 0; owned < 2; owned++) {
        pg_buf in = {0};
        put_tree(&in, use, 1, &scope, &resource);
        put_dict(&in, 1, st, 2);
        pg_batch *b = pg_batch_new(0);
        char err[256] = "";
        int rc = owned ? decode_owned(b, &in, NULL, err, sizeof err)
                       : decode(b, &in, NULL, err, sizeof err);
        CHECK_MSG(rc == 0, "merges: %s", err);
        if (rc == 0) {
            const pg_otlp_rprofiles *rp = pg_batch_data(b)->resource_profiles[0];
            const pg_otlp_sprofiles *sp = rp->scope_profiles[0];
            CHECK(sp->scope && !strcmp(sp->scope->name, "first") &&
                  !strcmp(sp->scope->version, "v2"));
            CHECK(sp->schema_url && !strcmp(sp->schema_url, "sch"));
            CHECK(rp->resource && rp->resource->n_attributes == 1 &&
                  rp->resource->dropped_attributes_count == 3);
        }
        pg_batch_free(b);
        pg_buf_free(&in);
    }
    pg_buf_free(&scope);
    pg_buf_free(&resource);
    pg_buf_free(&m);
    pg_buf_free(&kv);
    pg_buf_free(&av);
}

/* Nesting past the limit inside a resource (protobuf-c territory) is refused before
 * protobuf-c sees it, whichever way the input is read. */
static void test_nesting(void)
{
    pg_buf v = {0}, t = {0}, kv = {0}, m = {0}, resource = {0};
    str(&v, 1, "leaf", 4);
    for (int i = 0; i < 40; i++) { /* AnyValue{array_value: ArrayValue{values: [v]}} */
        sub(&t, 1, &v);
        sub(&v, 5, &t);
    }
    str(&kv, 1, "deep", 4);
    sub(&kv, 2, &v);
    sub(&m, 1, &kv);
    sub(&resource, 1, &m);
    tstack st[] = {{NO_LOCS, 0}};
    int32_t use[] = {0};
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    lim.max_nesting = 16;
    for (int mode = 0; mode < 3; mode++) {
        pg_buf in = {0};
        if (mode == 2) pg_wire_put_uint(&in, 1, 1); /* a wire type protobuf-c rejects first */
        put_tree(&in, use, 1, NULL, &resource);
        put_dict(&in, 1, st, 1);
        pg_batch *b = pg_batch_new(0);
        char err[256] = "";
        int rc = mode == 1 ? decode_owned(b, &in, &lim, err, sizeof err)
                           : decode(b, &in, &lim, err, sizeof err);
        CHECK_MSG(rc != 0 && strstr(err, "nest deeper than 16"), "nesting (mode %d): %s", mode,
                  err);
        pg_batch_free(b);
        pg_buf_free(&in);
    }
    pg_buf_free(&v);
    pg_buf_free(&t);
    pg_buf_free(&kv);
    pg_buf_free(&m);
    pg_buf_free(&resource);
}

/* An input of several MiB read with pg_otlp_decode_owned (pages released as samples and
 * stacks are consumed) decodes as the borrowed reading does, dictionary first or last; cut
 * short, it fails cleanly. */
static void test_owned_large(void)
{
    enum { N = 300000, NLOC = 600 };
    tstack *st = calloc(N + 1, sizeof *st);
    int64_t *locs = malloc((size_t)N * 4 * sizeof *locs);
    int32_t *use = malloc(N * sizeof *use);
    for (size_t i = 0; i < N; i++) {
        for (size_t j = 0; j < 4; j++)
            locs[i * 4 + j] = (int64_t)((i * 7 + j * 13) % NLOC) + 1;
        st[i + 1] = (tstack){&locs[i * 4], 4, (int)(i % 3)};
        use[i] = (int32_t)(N - i);
    }
    st[0] = (tstack){NO_LOCS, 0};
    for (int dict_first = 0; dict_first < 2; dict_first++) {
        pg_buf in = {0};
        build(&in, NLOC, st, N + 1, use, N, dict_first);
        CHECK(in.len > (4u << 20));
        pg_batch *a = pg_batch_new(0), *b = pg_batch_new(0);
        char err[256] = "", err2[256] = "";
        int ra = decode(a, &in, NULL, err, sizeof err);
        int rb = decode_owned(b, &in, NULL, err2, sizeof err2);
        CHECK_MSG(ra == 0 && rb == 0, "large: %s / %s", err, err2);
        if (ra == 0 && rb == 0) {
            pg_buf x = {0}, y = {0};
            pg_otlp_dump(a, PG_DUMP_DETAILED, &x);
            pg_otlp_dump(b, PG_DUMP_DETAILED, &y);
            CHECK(x.len == y.len && x.len > 0 && !memcmp(x.data, y.data, x.len));
            same_as_protobuf_c(b, &in, 2, "large, owned");
            samples_are(b, use, N, "large, owned");
            pg_buf_free(&x);
            pg_buf_free(&y);
        }
        pg_batch_free(a);
        pg_batch_free(b);
        /* cut inside the last part: refused, whatever was released by then */
        pg_buf cut = {0};
        pg_buf_append(&cut, in.data, in.len - 3);
        pg_batch *c = pg_batch_new(0);
        int rc = decode_owned(c, &cut, NULL, err, sizeof err);
        CHECK_MSG(rc != 0 && strstr(err, "malformed"), "large, cut: rc=%d %s", rc, err);
        pg_batch_free(c);
        pg_buf_free(&cut);
        pg_buf_free(&in);
    }
    free(st);
    free(locs);
    free(use);
}

int main(void)
{
    test_forms();
    test_empty_table();
    test_bad();
    test_widths();
    test_two_dictionaries();
    test_tree_merges();
    test_nesting();
    test_owned_large();
    TEST_MAIN_END();
}
