/* The dictionary's stack table in columns (pipeline/core/stacks.h) and stack interning
 * (pg_dict_stack*): element 0 is the empty stack, equal stacks dedupe whatever width they
 * are given in, the pool widens 1 -> 2 -> 4 keeping earlier stacks readable and findable,
 * struct-form dictionaries (built by hand or unpacked by protobuf-c) are converted by
 * pg_dict_adopt, pg_dict_with_stack_structs round-trips, hints give the same answers, the
 * index grows to 100k stacks, and pg_dict_stack_reserve sizes index and pool ahead. */
#include "testlib.h"

#include "pipeline/core/adopt.h"
#include "pipeline/core/dict.h"
#include "pipeline/core/err.h"
#include "pipeline/core/stacks.h"
#include "pipeline/translate/otlp_codec.h"

#include <stdlib.h>

#define V(...) ((const int32_t[]){__VA_ARGS__}), (sizeof((const int32_t[]){__VA_ARGS__}) / 4)

/* True when stack i of d holds exactly v[0..n). */
static int stack_is(const pg_otlp_dict *d, size_t i, const int32_t *v, size_t n)
{
    if (i >= pg_dict_stack_count(d)) return 0;
    pg_stack_ref r;
    pg_dict_stack_at(d, i, &r);
    if (r.n != n) return 0;
    for (size_t j = 0; j < n; j++)
        if (pg_stack_loc(&r, j) != v[j]) return 0;
    return 1;
}

/* v[0..n) stored `width` bytes wide in out (values must fit). */
static void narrow(const int32_t *v, size_t n, uint8_t width, void *out)
{
    for (size_t j = 0; j < n; j++) {
        if (width == 1)
            ((uint8_t *)out)[j] = (uint8_t)v[j];
        else if (width == 2)
            ((uint16_t *)out)[j] = (uint16_t)v[j];
        else
            ((int32_t *)out)[j] = v[j];
    }
}

/* Interns v[0..n) given `width` bytes wide (heap copy, so ASan sees overreads). */
static int32_t intern_w(pg_batch *b, const int32_t *v, size_t n, uint8_t width)
{
    void *p = malloc(n ? n * width : 1);
    narrow(v, n, width, p);
    int32_t r = pg_dict_stack_w(b, p, n, width);
    free(p);
    return r;
}

/* Interns v in every width that holds all its values; all must answer `want`. */
static void intern_all_widths(pg_batch *b, const int32_t *v, size_t n, int32_t want)
{
    uint8_t need = 1;
    for (size_t j = 0; j < n; j++) {
        uint8_t w = pg_stack_width_for(v[j]);
        if (w > need) need = w;
    }
    for (uint8_t w = need; w <= 4; w *= 2) {
        int32_t got = intern_w(b, v, n, w);
        CHECK_MSG(got == want, "width %u: got %d, want %d", w, got, want);
    }
    CHECK(pg_dict_stack(b, v, n) == want);
}

/* The columns of b's dictionary (borrowed). */
static const pg_stacks *cols(const pg_batch *b)
{
    return pg_dict_stacks(pg_batch_dict(b));
}

/* A fresh batch: columns of width 1 holding only the empty stack at index 0. */
static void test_fresh(void)
{
    pg_batch *b = pg_batch_new(0);
    const pg_otlp_dict *d = pg_batch_dict(b);
    CHECK(cols(b) != NULL);
    CHECK(d->n_stack_table == 0);
    CHECK(pg_dict_stack_count(d) == 1);
    CHECK(stack_is(d, 0, NULL, 0));
    CHECK(cols(b)->width == 1);
    CHECK(pg_dict_stack(b, NULL, 0) == 0);
    CHECK(pg_dict_stack_w(b, NULL, 0, 1) == 0);
    CHECK(pg_dict_stack_w(b, NULL, 0, 2) == 0);
    CHECK(pg_dict_stack_count(d) == 1);
    pg_batch_free(b);
}

/* pg_stack_width_for at its boundaries (negative values need 4). */
static void test_width_for(void)
{
    CHECK(pg_stack_width_for(0) == 1);
    CHECK(pg_stack_width_for(255) == 1);
    CHECK(pg_stack_width_for(256) == 2);
    CHECK(pg_stack_width_for(65535) == 2);
    CHECK(pg_stack_width_for(65536) == 4);
    CHECK(pg_stack_width_for(INT32_MAX) == 4);
    CHECK(pg_stack_width_for(-1) == 4);
    CHECK(pg_stack_width_for(INT32_MIN) == 4);
}

/* One stack given in widths 1, 2 and 4 is one element; values that fit do not widen. */
static void test_dedupe_across_widths(void)
{
    pg_batch *b = pg_batch_new(0);
    const pg_otlp_dict *d = pg_batch_dict(b);
    int32_t s1 = intern_w(b, V(1, 2, 3), 4);
    CHECK(s1 == 1);
    CHECK(cols(b)->width == 1); /* given 4 wide, but every value fits one byte */
    intern_all_widths(b, V(1, 2, 3), s1);
    int32_t s2 = intern_w(b, V(3, 2, 1), 2);
    CHECK(s2 == 2);
    intern_all_widths(b, V(3, 2, 1), s2);
    /* a prefix and an extension are different stacks */
    int32_t s3 = intern_w(b, V(1, 2), 1);
    int32_t s4 = intern_w(b, V(1, 2, 3, 4), 2);
    CHECK(s3 == 3 && s4 == 4);
    CHECK(cols(b)->width == 1);
    CHECK(pg_dict_stack_count(d) == 5);
    CHECK(stack_is(d, 1, V(1, 2, 3)));
    CHECK(stack_is(d, 2, V(3, 2, 1)));
    CHECK(stack_is(d, 3, V(1, 2)));
    CHECK(stack_is(d, 4, V(1, 2, 3, 4)));
    pg_batch_free(b);
}

/* The pool widens 1 -> 2 -> 4 mid-way: earlier stacks keep their indices and contents and
 * are still found by interning, in any width. */
static void test_widen_midway(void)
{
    pg_batch *b = pg_batch_new(0);
    const pg_otlp_dict *d = pg_batch_dict(b);
    CHECK(intern_w(b, V(1, 2), 1) == 1);
    CHECK(intern_w(b, V(255, 0, 7), 1) == 2);
    CHECK(intern_w(b, V(9), 4) == 3);
    CHECK(cols(b)->width == 1);

    CHECK(intern_w(b, V(1, 256), 2) == 4); /* 256 needs two bytes */
    CHECK(cols(b)->width == 2);
    CHECK(stack_is(d, 1, V(1, 2)));
    CHECK(stack_is(d, 2, V(255, 0, 7)));
    CHECK(stack_is(d, 3, V(9)));
    CHECK(stack_is(d, 4, V(1, 256)));
    intern_all_widths(b, V(1, 2), 1);
    intern_all_widths(b, V(255, 0, 7), 2);
    intern_all_widths(b, V(9), 3);
    intern_all_widths(b, V(1, 256), 4);
    CHECK(intern_w(b, V(65535, 3), 4) == 5); /* still two bytes */
    CHECK(cols(b)->width == 2);

    CHECK(intern_w(b, V(65536), 4) == 6); /* four bytes */
    CHECK(cols(b)->width == 4);
    CHECK(intern_w(b, V(2, -1), 4) == 7); /* negative (invalid, but held) */
    CHECK(intern_w(b, V(INT32_MIN, INT32_MAX), 4) == 8);
    CHECK(cols(b)->width == 4);
    const int32_t *all[9] = {NULL};
    size_t lens[9] = {0};
    static const int32_t s1[] = {1, 2}, s2[] = {255, 0, 7}, s3[] = {9}, s4[] = {1, 256},
                         s5[] = {65535, 3}, s6[] = {65536}, s7[] = {2, -1},
                         s8[] = {INT32_MIN, INT32_MAX};
    all[1] = s1, lens[1] = 2;
    all[2] = s2, lens[2] = 3;
    all[3] = s3, lens[3] = 1;
    all[4] = s4, lens[4] = 2;
    all[5] = s5, lens[5] = 2;
    all[6] = s6, lens[6] = 1;
    all[7] = s7, lens[7] = 2;
    all[8] = s8, lens[8] = 2;
    CHECK(pg_dict_stack_count(d) == 9);
    CHECK(stack_is(d, 0, NULL, 0));
    for (int32_t i = 1; i < 9; i++) {
        CHECK_MSG(stack_is(d, (size_t)i, all[i], lens[i]), "stack %d after widening to 4", i);
        intern_all_widths(b, all[i], lens[i], i);
    }
    CHECK(pg_dict_stack_count(d) == 9);
    pg_batch_free(b);
}

/* A negative value given 4 wide into a pool of width 1 widens straight to 4. */
static void test_negative_widens(void)
{
    pg_batch *b = pg_batch_new(0);
    const pg_otlp_dict *d = pg_batch_dict(b);
    CHECK(intern_w(b, V(5), 1) == 1);
    CHECK(intern_w(b, V(-5, 5), 4) == 2);
    CHECK(cols(b)->width == 4);
    CHECK(stack_is(d, 1, V(5)));
    CHECK(stack_is(d, 2, V(-5, 5)));
    /* -5 is not 251 nor 65531 */
    CHECK(intern_w(b, V(251, 5), 1) == 3);
    CHECK(intern_w(b, V(65531, 5), 2) == 4);
    CHECK(intern_w(b, V(-5, 5), 4) == 2);
    pg_batch_free(b);
}

/* Stacks deeper than the 1 KiB probe buffer (probe converted through malloc). */
static void test_deep_stack(void)
{
    pg_batch *b = pg_batch_new(0);
    const pg_otlp_dict *d = pg_batch_dict(b);
    enum { N = 3000 };
    int32_t *v = malloc(N * sizeof *v);
    for (size_t j = 0; j < N; j++)
        v[j] = (int32_t)(j % 250) + 1;
    CHECK(intern_w(b, v, N, 4) == 1); /* 4 wide, stored 1 wide */
    CHECK(cols(b)->width == 1);
    CHECK(stack_is(d, 1, v, N));
    intern_all_widths(b, v, N, 1);
    CHECK(intern_w(b, V(70000), 4) == 2);
    CHECK(cols(b)->width == 4);
    intern_all_widths(b, v, N, 1); /* 1 and 2 wide probes are converted up through malloc */
    CHECK(stack_is(d, 1, v, N));
    free(v);
    pg_batch_free(b);
}

/* pg_stacks_append and pg_stacks_widen on columns of their own. */
static void test_append_widen(void)
{
    pg_arena *a = pg_arena_new(0);
    pg_otlp_dict *d = pg_otlp_dict_new(a);
    CHECK(pg_dict_stack_count(d) == 0);
    pg_stacks *s = pg_dict_stack_columns(a, d);
    CHECK(s != NULL && pg_dict_stacks(d) == s);
    CHECK(pg_dict_stack_columns(a, d) == s); /* idempotent */
    CHECK(s->n == 1 && s->width == 1 && pg_dict_stack_count(d) == 1);
    CHECK(stack_is(d, 0, NULL, 0));

    uint8_t b1[2] = {1, 200};
    CHECK(pg_stacks_append(a, s, b1, 2, 1) == 1);
    CHECK(pg_stacks_append(a, s, b1, 2, 1) == 2);   /* append does not dedupe */
    CHECK(pg_stacks_append(a, s, NULL, 0, 1) == 3); /* nor skip empty stacks */
    uint16_t b2[2] = {300, 4};
    CHECK(pg_stacks_append(a, s, b2, 2, 2) == 4);
    CHECK(s->width == 2);
    uint16_t b2small[2] = {7, 8};
    CHECK(pg_stacks_append(a, s, b2small, 2, 2) == 5);
    CHECK(s->width == 2);
    int32_t b4[3] = {1, -1, 65535};
    CHECK(pg_stacks_append(a, s, b4, 3, 4) == 6);
    CHECK(s->width == 4);
    uint8_t b1b[1] = {255};
    CHECK(pg_stacks_append(a, s, b1b, 1, 1) == 7);         /* narrower input into a wide pool */
    CHECK(pg_stacks_widen(a, s, 2) == 0 && s->width == 4); /* never narrower */
    CHECK(pg_stacks_widen(a, s, 4) == 0 && s->width == 4);
    CHECK(pg_dict_stack_count(d) == 8);
    CHECK(stack_is(d, 0, NULL, 0));
    CHECK(stack_is(d, 1, V(1, 200)));
    CHECK(stack_is(d, 2, V(1, 200)));
    CHECK(stack_is(d, 3, NULL, 0));
    CHECK(stack_is(d, 4, V(300, 4)));
    CHECK(stack_is(d, 5, V(7, 8)));
    CHECK(stack_is(d, 6, V(1, -1, 65535)));
    CHECK(stack_is(d, 7, V(255)));
    CHECK(s->off[8] == 2 + 2 + 0 + 2 + 2 + 3 + 1);

    /* explicit widening 1 -> 4 of a pool that has never grown */
    pg_otlp_dict *d2 = pg_otlp_dict_new(a);
    pg_stacks *s2 = pg_dict_stack_columns(a, d2);
    CHECK(pg_stacks_append(a, s2, b1, 2, 1) == 1);
    CHECK(pg_stacks_widen(a, s2, 4) == 0 && s2->width == 4);
    CHECK(stack_is(d2, 1, V(1, 200)));
    /* and a pool widened while holding only the empty stack */
    pg_otlp_dict *d3 = pg_otlp_dict_new(a);
    pg_stacks *s3 = pg_dict_stack_columns(a, d3);
    CHECK(pg_stacks_widen(a, s3, 2) == 0 && s3->width == 2);
    CHECK(pg_stacks_append(a, s3, b2, 2, 2) == 1);
    CHECK(stack_is(d3, 0, NULL, 0) && stack_is(d3, 1, V(300, 4)));
    pg_arena_free(a);
}

/* A struct-form dictionary with stacks [{}, v1, v2, ...] in b's arena (a plain protobuf-c
 * message, as protobuf-c unpacks one), adopted and installed in b. */
static pg_otlp_dict *struct_dict(pg_batch *b, const int32_t *const *v, const size_t *n,
                                 size_t count)
{
    pg_arena *a = pg_batch_arena(b);
    pg_otlp_data *data = pg_otlp_data_new(a);
    static const pg_otlp_dict init =
        OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__PROFILES_DICTIONARY__INIT;
    pg_otlp_dict *d = pg_arena_memdup(a, &init, sizeof init);
    char *empty = pg_arena_strndup(a, "", 0);
    pg_otlp_push(a, (void ***)&d->string_table, &d->n_string_table, empty);
    for (size_t i = 0; i < count; i++) {
        pg_otlp_stack *st = pg_otlp_stack_new(a);
        st->n_location_indices = n[i];
        st->location_indices = n[i] ? pg_arena_memdup(a, v[i], n[i] * sizeof *v[i]) : NULL;
        CHECK(pg_otlp_push(a, (void ***)&d->stack_table, &d->n_stack_table, st) == 0);
    }
    data->dictionary = pg_dict_adopt(a, d);
    CHECK(data->dictionary != NULL && data->dictionary != d);
    pg_batch_set_data(b, data);
    return data->dictionary;
}

/* Interning into a batch whose dictionary came with protobuf-c Stack structs. */
static void test_struct_form(void)
{
    static const int32_t e[1] = {0}, a1[] = {1, 2}, a2[] = {300, 1}, a3[] = {1, 2}, a4[] = {7};
    const int32_t *v[5] = {e, a1, a2, a3, a4};
    size_t n[5] = {0, 2, 2, 2, 1};
    pg_batch *b = pg_batch_new(0);
    pg_otlp_dict *d = struct_dict(b, v, n, 5);
    CHECK(d->n_stack_table == 0); /* converted to columns, as narrow as the values allow */
    CHECK(pg_dict_stack_count(d) == 5);
    pg_stack_ref r;
    pg_dict_stack_at(d, 2, &r);
    CHECK(r.width == 2 && r.n == 2 && pg_stack_loc(&r, 0) == 300);
    for (size_t i = 0; i < 5; i++)
        CHECK(stack_is(d, i, v[i], n[i]));

    /* the first of two equal stacks answers; indices are kept */
    CHECK(intern_w(b, V(1, 2), 1) == 1);
    CHECK(cols(b)->width == 2);
    CHECK(pg_dict_stack_count(d) == 5);
    for (size_t i = 0; i < 5; i++)
        CHECK_MSG(stack_is(d, i, v[i], n[i]), "stack %zu after conversion", i);
    intern_all_widths(b, V(300, 1), 2);
    intern_all_widths(b, V(7), 4);
    CHECK(intern_w(b, V(44, 1), 1) == 5);
    CHECK(intern_w(b, V(1, 70000), 4) == 6);
    CHECK(cols(b)->width == 4);
    intern_all_widths(b, V(1, 2), 1);
    intern_all_widths(b, V(44, 1), 5);
    CHECK(pg_dict_stack_count(d) == 7);
    pg_batch_free(b);

    /* a struct-form dictionary with no stacks at all gets the zero stack */
    b = pg_batch_new(0);
    d = struct_dict(b, v, n, 0);
    CHECK(pg_dict_stack_count(d) == 0);
    CHECK(intern_w(b, V(3), 1) == 1);
    CHECK(pg_dict_stack_count(d) == 2 && stack_is(d, 0, NULL, 0) && stack_is(d, 1, V(3)));
    pg_batch_free(b);

    /* a negative (invalid) index in a struct: converted 4 wide, kept as it is */
    static const int32_t neg[] = {-3, 2};
    const int32_t *vn[2] = {e, neg};
    size_t nn[2] = {0, 2};
    b = pg_batch_new(0);
    d = struct_dict(b, vn, nn, 2);
    CHECK(intern_w(b, V(2), 1) == 2);
    CHECK(cols(b)->width == 4);
    CHECK(stack_is(d, 1, V(-3, 2)));
    CHECK(intern_w(b, V(-3, 2), 4) == 1);
    CHECK(intern_w(b, V(253, 2), 1) == 3);
    pg_batch_free(b);

    /* the hinted path on a struct-form dictionary (no index yet: the hint is 0) */
    b = pg_batch_new(0);
    d = struct_dict(b, v, n, 5);
    uint8_t p[2] = {1, 2};
    uint64_t h = pg_dict_stack_prefetch(b, p, 2, 1);
    CHECK(pg_dict_stack_hinted(b, p, 2, 1, h) == 1);
    pg_batch_free(b);
}

/* Stacks decoded from OTLP bytes (protobuf-c packed from structs), then interned into. */
static void test_otlp_decoded(void)
{
    pg_arena *a = pg_arena_new(0);
    pg_otlp_data *data = pg_otlp_data_new(a);
    pg_otlp_dict *d = pg_otlp_dict_new(a);
    data->dictionary = d;
    char *empty = pg_arena_strndup(a, "", 0);
    pg_otlp_push(a, (void ***)&d->string_table, &d->n_string_table, empty);
    enum { NLOC = 301 };
    d->location_table = pg_arena_alloc(a, NLOC * sizeof *d->location_table);
    for (size_t i = 0; i < NLOC; i++) {
        d->location_table[i] = pg_otlp_location_new(a);
        d->location_table[i]->address = i;
    }
    d->n_location_table = NLOC;
    static const int32_t s1[] = {1, 2}, s2[] = {300, 1}, s3[] = {5};
    const int32_t *v[4] = {NULL, s1, s2, s3};
    size_t n[4] = {0, 2, 2, 1};
    for (size_t i = 0; i < 4; i++) {
        pg_otlp_stack *st = pg_otlp_stack_new(a);
        st->n_location_indices = n[i];
        st->location_indices = (int32_t *)v[i];
        pg_otlp_push(a, (void ***)&d->stack_table, &d->n_stack_table, st);
    }
    size_t len = protobuf_c_message_get_packed_size(&data->base);
    uint8_t *bytes = malloc(len);
    CHECK(protobuf_c_message_pack(&data->base, bytes) == len);
    pg_arena_free(a);

    pg_batch *b = pg_batch_new(0);
    char err[256] = "";
    int rc = pg_otlp_decode(b, bytes, len, NULL, err, sizeof err);
    CHECK_MSG(rc == 0, "decode: %s", err);
    free(bytes);
    pg_otlp_dict *bd = pg_batch_dict(b);
    CHECK(bd->n_stack_table == 0 && pg_dict_stacks(bd)->width == 2);
    CHECK(pg_dict_stack_count(bd) == 4);
    for (size_t i = 0; i < 4; i++)
        CHECK_MSG(stack_is(bd, i, v[i], n[i]), "decoded stack %zu", i);
    intern_all_widths(b, V(1, 2), 1);
    intern_all_widths(b, V(300, 1), 2);
    intern_all_widths(b, V(5), 3);
    CHECK(intern_w(b, V(299, 300), 2) == 4);
    CHECK(pg_dict_stack_count(bd) == 5);
    for (size_t i = 0; i < 4; i++)
        CHECK(stack_is(bd, i, v[i], n[i]));
    pg_batch_free(b);
}

/* Columns -> structs (a shallow copy; d untouched) -> columns again in another batch. */
static void test_with_structs(void)
{
    pg_batch *b = pg_batch_new(0);
    pg_otlp_dict *d = pg_batch_dict(b);
    CHECK(pg_dict_stack(b, V(1, 2, 3)) == 1);
    CHECK(pg_dict_stack(b, V(400)) == 2);
    CHECK(pg_dict_stack(b, V(3, 2, 1)) == 3);
    CHECK(cols(b)->width == 2);
    pg_arena *scratch = pg_arena_new(0);
    pg_otlp_dict *c = pg_dict_with_stack_structs(scratch, d);
    CHECK(c != NULL && c != d);
    CHECK(c->n_stack_table == 4);
    CHECK(c->stack_table[0]->n_location_indices == 0);
    CHECK(c->stack_table[1]->n_location_indices == 3 &&
          c->stack_table[1]->location_indices[2] == 3);
    CHECK(c->stack_table[2]->n_location_indices == 1 &&
          c->stack_table[2]->location_indices[0] == 400);
    CHECK(c->stack_table[3]->n_location_indices == 3 &&
          c->stack_table[3]->location_indices[0] == 3 &&
          c->stack_table[3]->location_indices[2] == 1);
    CHECK(c->string_table == d->string_table);                   /* shallow */
    CHECK(d->n_stack_table == 0 && pg_dict_stack_count(d) == 4); /* d untouched */

    /* the struct copy adopted into a batch is columns again */
    pg_batch *b2 = pg_batch_new(0);
    pg_otlp_data *data = pg_otlp_data_new(pg_batch_arena(b2));
    data->dictionary =
        pg_dict_adopt(pg_batch_arena(b2), pg_dict_with_stack_structs(pg_batch_arena(b2), d));
    pg_batch_set_data(b2, data);
    CHECK(pg_dict_stack(b2, V(400)) == 2);
    CHECK(pg_batch_dict(b2)->n_stack_table == 0);
    CHECK(stack_is(pg_batch_dict(b2), 1, V(1, 2, 3)));
    CHECK(stack_is(pg_batch_dict(b2), 3, V(3, 2, 1)));
    CHECK(pg_dict_stack_count(pg_batch_dict(b2)) == 4);
    pg_batch_free(b2);
    pg_arena_free(scratch);

    pg_batch_free(b);
}

/* Round trip through pg_otlp_encode / _json with valid location references, for pools of
 * width 1 with indices below 128 only, width 1 with indices >= 128, and width 2. */
static void test_codec_round_trip(void)
{
    static const unsigned nlocs[3] = {100, 200, 300};
    for (int json = 0; json < 2; json++) {
        for (int t = 0; t < 3; t++) {
            unsigned n = nlocs[t];
            pg_batch *b = pg_batch_new(0);
            for (unsigned i = 1; i <= n; i++) {
                pg_otlp_location l = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LOCATION__INIT;
                l.address = 0x1000u + i;
                CHECK(pg_dict_location(b, &l) == (int32_t)i);
            }
            const int32_t hi[3] = {(int32_t)n, (int32_t)n - 1, n < 128 ? 50 : 127};
            CHECK(pg_dict_stack(b, V(1, 2, 3)) == 1);
            CHECK(pg_dict_stack(b, hi, 3) == 2);
            CHECK(pg_dict_stack(b, V(7)) == 3);
            CHECK(pg_dict_stack(b, V(99, 1, 99)) == 4);
            CHECK(cols(b)->width == (n < 256 ? 1 : 2));
            pg_buf out = {0};
            char err[256] = "";
            const char *what = json ? "json" : "proto";
            int rc = json ? pg_otlp_encode_json(b, &out, err, sizeof err)
                          : pg_otlp_encode(b, &out, err, sizeof err);
            CHECK_MSG(rc == 0, "%s %u encode: %s", what, n, err);
            CHECK(json || out.len == pg_otlp_encoded_size(b));
            pg_batch *c = pg_batch_new(0);
            rc = json ? pg_otlp_decode_json(c, out.data, out.len, NULL, err, sizeof err)
                      : pg_otlp_decode(c, out.data, out.len, NULL, err, sizeof err);
            CHECK_MSG(rc == 0, "%s %u decode: %s", what, n, err);
            if (rc == 0) {
                const pg_otlp_dict *cd = pg_batch_dict(c);
                CHECK_MSG(pg_dict_stack_count(cd) == 5, "%s %u: %zu stacks", what, n,
                          pg_dict_stack_count(cd));
                CHECK(stack_is(cd, 0, NULL, 0));
                CHECK_MSG(stack_is(cd, 1, V(1, 2, 3)), "%s %u: stack 1", what, n);
                CHECK_MSG(stack_is(cd, 2, hi, 3), "%s %u: stack 2", what, n);
                CHECK_MSG(stack_is(cd, 3, V(7)), "%s %u: stack 3", what, n);
                CHECK_MSG(stack_is(cd, 4, V(99, 1, 99)), "%s %u: stack 4", what, n);
                CHECK(pg_dict_stack(c, hi, 3) == 2);
            }
            pg_buf_free(&out);
            pg_batch_free(c);
            pg_batch_free(b);
        }
    }
}

/* The i-th of the large test's stacks: 1..8 locations, values growing past 255 and 65535
 * part way through (so the pool widens twice while the index holds tens of thousands). */
static size_t big_stack(size_t i, int32_t *out)
{
    size_t n = 1 + i % 8;
    uint32_t x = (uint32_t)i * 2654435761u;
    int32_t scale = i < 30000 ? 255 : i < 60000 ? 65535 : 200000;
    for (size_t j = 0; j < n; j++) {
        x = x * 1103515245u + 12345u;
        out[j] = 1 + (int32_t)((x >> 8) % (uint32_t)scale);
    }
    return n;
}

/* 100k stacks: indices stable, every stack found again, hints agree with no hints. */
static void test_large(void)
{
    enum { N = 100000 };
    pg_batch *b = pg_batch_new(0), *h = pg_batch_new(0);
    int32_t *idx = malloc(N * sizeof *idx);
    int32_t v[8], prev[8];
    size_t prev_n = 0;
    uint8_t probe[2][8 * 4];
    int bad = 0, bad_hint = 0;
    uint64_t hash = 0;
    for (size_t i = 0; i < N; i++) {
        size_t n = big_stack(i, v);
        idx[i] = pg_dict_stack(b, v, n);
        if (idx[i] < 1) bad++;
        /* the decoder's pattern on h: prefetch stack i, intern stack i - 1, then i */
        uint8_t w = cols(h)->width; /* the probe at the pool's width when it fits */
        for (size_t j = 0; j < n; j++)
            if (pg_stack_width_for(v[j]) > w) w = pg_stack_width_for(v[j]);
        narrow(v, n, w, probe[i & 1]);
        hash = pg_dict_stack_prefetch(h, probe[i & 1], n, w);
        if (i > 0) {
            int32_t got = pg_dict_stack(h, prev, prev_n);
            if (got != idx[i - 1]) bad_hint++;
        }
        int32_t got = pg_dict_stack_hinted(h, probe[i & 1], n, w, hash);
        if (got != idx[i]) bad_hint++;
        memcpy(prev, v, n * sizeof *v);
        prev_n = n;
    }
    CHECK_MSG(bad == 0, "%d stacks failed to intern", bad);
    CHECK_MSG(bad_hint == 0, "%d hinted answers differ from unhinted ones", bad_hint);
    const pg_otlp_dict *d = pg_batch_dict(b);
    size_t count = pg_dict_stack_count(d);
    printf("large: %zu distinct stacks of %d, pool width %u\n", count - 1, N, cols(b)->width);
    CHECK(cols(b)->width == 4);
    CHECK(count > N / 2);
    CHECK(pg_dict_stack_count(pg_batch_dict(h)) == count);
    /* indices are first-seen order, contents intact, everything found again */
    int32_t next = 1;
    int wrong = 0;
    for (size_t i = 0; i < N; i++) {
        size_t n = big_stack(i, v);
        if (idx[i] == next)
            next++;
        else if (idx[i] > next)
            wrong++;
        if (!stack_is(d, (size_t)idx[i], v, n)) wrong++;
        if (intern_w(b, v, n, 4) != idx[i]) wrong++;
    }
    CHECK_MSG(wrong == 0, "%d stacks wrong after 100k", wrong);
    CHECK((size_t)next == count);
    CHECK(pg_dict_stack_count(d) == count);
    free(idx);
    pg_batch_free(b);
    pg_batch_free(h);
}

/* A stale hint (taken before the pool widened) is not used for the widened probe. */
static void test_hint_across_widening(void)
{
    pg_batch *b = pg_batch_new(0), *ref = pg_batch_new(0);
    CHECK(pg_dict_stack(b, V(1, 2)) == 1);
    uint8_t p[2] = {3, 4};
    uint64_t h = pg_dict_stack_prefetch(b, p, 2, 1);
    CHECK(h != 0);                            /* index built at width 1 */
    CHECK(pg_dict_stack(b, V(1, 1000)) == 2); /* widens to 2 between hint and use */
    CHECK(pg_dict_stack_hinted(b, p, 2, 1, h) == 3);
    CHECK(pg_dict_stack_hinted(b, p, 2, 1, h) == 3);
    CHECK(pg_dict_stack(b, V(3, 4)) == 3);
    /* a hint for a probe 2 wide while the pool is 1 wide: none given */
    uint16_t q[1] = {9};
    CHECK(pg_dict_stack_prefetch(ref, q, 1, 2) == 0);
    CHECK(pg_dict_stack_hinted(ref, q, 1, 2, 0) == 1);
    CHECK(pg_dict_stack_prefetch(ref, NULL, 0, 1) == 0);
    CHECK(pg_dict_stack_hinted(ref, NULL, 0, 1, 0) == 0);
    pg_batch_free(b);
    pg_batch_free(ref);
}

/* Stacks appended to a batch's columns directly (as the OTLP reader does) are found by
 * interning afterwards, also after such an append widened the pool under the index. */
static void test_direct_append(void)
{
    pg_batch *b = pg_batch_new(0);
    pg_arena *a = pg_batch_arena(b);
    const pg_otlp_dict *d = pg_batch_dict(b);
    CHECK(pg_dict_stack(b, V(1, 2)) == 1); /* the index exists from here on */
    pg_stacks *s = (pg_stacks *)cols(b);
    uint8_t p1[2] = {5, 6};
    CHECK(pg_stacks_append(a, s, p1, 2, 1) == 2);
    CHECK(pg_stacks_append(a, s, p1, 2, 1) == 3); /* a duplicate: the first answers */
    intern_all_widths(b, V(5, 6), 2);
    int32_t p4[1] = {70000};
    CHECK(pg_stacks_append(a, s, p4, 1, 4) == 4); /* widens under the index */
    CHECK(s->width == 4);
    intern_all_widths(b, V(5, 6), 2);
    intern_all_widths(b, V(1, 2), 1);
    intern_all_widths(b, V(70000), 4);
    CHECK(intern_w(b, V(6, 5), 1) == 5);
    CHECK(pg_dict_stack_count(d) == 6);
    CHECK(stack_is(d, 3, V(5, 6)));
    pg_batch_free(b);
}

/* Over the arena's cap interning returns PG_ELIMIT; what was interned stays readable and found. */
static void test_over_cap(void)
{
    pg_batch *b = pg_batch_new(256 * 1024);
    const pg_otlp_dict *d = pg_batch_dict(b);
    int32_t v[16];
    size_t i = 0, n_ok = 0;
    int32_t last = 0;
    for (; i < 100000; i++) {
        for (size_t j = 0; j < 16; j++)
            v[j] = (int32_t)((i * 16 + j) % 250) + 1;
        v[0] = (int32_t)(i % 250) + 1;
        v[1] = (int32_t)(i / 250) + (i > 2000 ? 70000 : 1); /* widens to 4 on the way */
        last = pg_dict_stack(b, v, 16);
        if (last < 0) break;
        n_ok++;
    }
    CHECK_MSG(last == PG_ELIMIT, "no limit failure over the cap after %zu stacks (%d)", n_ok,
              (int)last);
    size_t count = pg_dict_stack_count(d);
    CHECK_MSG(count == n_ok + 1, "%zu stacks after %zu interned", count,
              n_ok); /* the failed one is not there */
    int bad = 0;
    for (size_t k = 0; k < n_ok; k++) {
        for (size_t j = 0; j < 16; j++)
            v[j] = (int32_t)((k * 16 + j) % 250) + 1;
        v[0] = (int32_t)(k % 250) + 1;
        v[1] = (int32_t)(k / 250) + (k > 2000 ? 70000 : 1);
        if (!stack_is(d, k + 1, v, 16)) bad++;
        if (pg_dict_stack_w(b, v, 16, 4) != (int32_t)(k + 1)) bad++;
    }
    CHECK_MSG(bad == 0, "%d of %zu stacks lost after the cap was hit", bad, n_ok);
    printf("over the cap: %zu stacks before -1, pool width %u\n", n_ok, cols(b)->width);
    pg_batch_free(b);
}

/* pg_dict_stack_reserve: a fresh pool is widened to the width given and sized for the
 * stacks and indices announced, so interning them never moves it; under a cap smaller than
 * twice that, the pool is left to grow on demand; a pool with stacks is not widened ahead. */
static void test_reserve(void)
{
    pg_batch *b = pg_batch_new(0);
    CHECK(pg_dict_stack_reserve(b, 1000, 20000, 2, 1 << 20) == 0);
    const pg_stacks *s = cols(b);
    CHECK(s->width == 2 && s->cap >= 1001 && s->cap_loc >= 20000);
    const uint8_t *pool = s->loc;
    const uint32_t *off = s->off;
    int moved = 0, bad = 0;
    int32_t v[20];
    for (size_t i = 0; i < 1000; i++) {
        for (size_t j = 0; j < 20; j++)
            v[j] = (int32_t)((i * 7 + j * 13) % 3000) + 1;
        v[0] = (int32_t)i + 1; /* distinct stacks */
        if (pg_dict_stack(b, v, 20) != (int32_t)i + 1) bad++;
        moved |= s->loc != pool || s->off != off;
    }
    CHECK_MSG(bad == 0 && !moved, "%d stacks misplaced, pool moved: %d", bad, moved);
    for (size_t i = 0; i < 1000; i += 97) { /* all still found and intact */
        for (size_t j = 0; j < 20; j++)
            v[j] = (int32_t)((i * 7 + j * 13) % 3000) + 1;
        v[0] = (int32_t)i + 1;
        CHECK(stack_is(pg_batch_dict(b), i + 1, v, 20) &&
              pg_dict_stack(b, v, 20) == (int32_t)i + 1);
    }
    pg_batch_free(b);

    b = pg_batch_new(256 * 1024); /* the pool would take 400 KB: not reserved */
    CHECK(pg_dict_stack_reserve(b, 1000, 200000, 2, 1 << 20) == 0);
    CHECK(cols(b)->cap_loc < 200000);
    CHECK(pg_dict_stack(b, V(1, 300)) == 1); /* still grows on demand */
    pg_batch_free(b);

    b = pg_batch_new(0);
    CHECK(pg_dict_stack(b, V(1, 2)) == 1);
    CHECK(pg_dict_stack_reserve(b, 100, 1000, 4, 1 << 20) == 0);
    CHECK(cols(b)->width == 1 && cols(b)->cap_loc >= 1002 &&
          stack_is(pg_batch_dict(b), 1, V(1, 2)));
    pg_batch_free(b);
}

int main(void)
{
    test_fresh();
    test_width_for();
    test_dedupe_across_widths();
    test_widen_midway();
    test_negative_widens();
    test_deep_stack();
    test_append_widen();
    test_struct_form();
    test_otlp_decoded();
    test_with_structs();
    test_codec_round_trip();
    test_large();
    test_hint_across_widening();
    test_direct_append();
    test_over_cap();
    test_reserve();
    TEST_MAIN_END();
}
