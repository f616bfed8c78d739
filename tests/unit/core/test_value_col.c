/* Narrow value columns (pipeline/core/samples.h): widths at the int8/16/32/64 boundaries,
 * widening part way through keeps earlier values, pg_sample_at reads narrow columns
 * sign-extended, the samples builder stores single-value columns narrow, and
 * pg_otlp_data_with_sample_structs turns narrow columns back into int64 values. */
#include "testlib.h"

#include "pipeline/core/adopt.h"
#include "pipeline/core/batch.h"
#include "pipeline/core/dict.h"
#include "pipeline/core/err.h"
#include "pipeline/core/samples.h"
#include "pipeline/translate/otlp_codec.h"

#include <inttypes.h>
#include <stdlib.h>

/* Entry i of a column of any width (8 included). */
static int64_t col_get(const pg_value_col *c, size_t i)
{
    return c->width == 8 ? ((const int64_t *)c->p)[i] : pg_narrow_get(c->p, c->width, i);
}

/* pg_narrow_width_for at every boundary. */
static void test_width_for(void)
{
    static const struct {
        int64_t v;
        uint8_t w;
    } cases[] = {
        {0, 1},
        {-1, 1},
        {1, 1},
        {INT8_MAX, 1},
        {INT8_MIN, 1},
        {INT8_MAX + 1, 2},
        {INT8_MIN - 1, 2},
        {255, 2},
        {-255, 2},
        {INT16_MAX, 2},
        {INT16_MIN, 2},
        {INT16_MAX + 1, 4},
        {INT16_MIN - 1, 4},
        {65535, 4},
        {INT32_MAX, 4},
        {INT32_MIN, 4},
        {(int64_t)INT32_MAX + 1, 8},
        {(int64_t)INT32_MIN - 1, 8},
        {UINT32_MAX, 8},
        {INT64_MAX, 8},
        {INT64_MIN, 8},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_MSG(pg_narrow_width_for(cases[i].v) == cases[i].w, "%" PRId64 ": width %u, want %u",
                  cases[i].v, pg_narrow_width_for(cases[i].v), cases[i].w);
}

/* pg_narrow_get sign-extends each width. */
static void test_narrow_get(void)
{
    int8_t a[3] = {-1, INT8_MIN, INT8_MAX};
    int16_t b[3] = {-1, INT16_MIN, INT16_MAX};
    int32_t c[3] = {-1, INT32_MIN, INT32_MAX};
    CHECK(pg_narrow_get(a, 1, 0) == -1 && pg_narrow_get(a, 1, 1) == INT8_MIN &&
          pg_narrow_get(a, 1, 2) == INT8_MAX);
    CHECK(pg_narrow_get(b, 2, 0) == -1 && pg_narrow_get(b, 2, 1) == INT16_MIN &&
          pg_narrow_get(b, 2, 2) == INT16_MAX);
    CHECK(pg_narrow_get(c, 4, 0) == -1 && pg_narrow_get(c, 4, 1) == INT32_MIN &&
          pg_narrow_get(c, 4, 2) == INT32_MAX);
}

/* Values set one by one, each widening the column when it must; after every set the
 * values set so far all read back. */
static void test_set_widen(void)
{
    static const int64_t vals[] = {
        -1,
        INT8_MAX,
        INT8_MIN,
        0, /* width 1 */
        INT8_MAX + 1,
        INT16_MIN,
        INT16_MAX,
        -129, /* width 2 */
        INT16_MAX + 1,
        INT32_MIN,
        INT32_MAX,
        -32769, /* width 4 */
        INT64_MIN,
        INT64_MAX,
        (int64_t)INT32_MAX + 1, /* width 8 */
        -1,
        5,
    };
    static const uint8_t widths[] = {1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 8, 8, 8, 8, 8};
    enum { N = sizeof vals / sizeof vals[0] };
    pg_arena *a = pg_arena_new(0);
    pg_value_col c;
    CHECK(pg_value_col_init(a, &c, N) == 0);
    CHECK(c.width == 1 && c.n == N && c.p != NULL);
    for (size_t i = 0; i < N; i++) {
        CHECK(pg_value_col_set(a, &c, i, vals[i]) == 0);
        CHECK_MSG(c.width == widths[i], "after value %zu: width %u, want %u", i, c.width,
                  widths[i]);
        for (size_t j = 0; j <= i; j++)
            CHECK_MSG(col_get(&c, j) == vals[j],
                      "after value %zu: entry %zu is %" PRId64 ", want %" PRId64, i, j,
                      col_get(&c, j), vals[j]);
    }
    /* overwriting in a wide column, and never narrower */
    CHECK(pg_value_col_set(a, &c, 0, 3) == 0 && col_get(&c, 0) == 3 && c.width == 8);
    CHECK(pg_value_col_widen(a, &c, 2) == 0 && c.width == 8);
    pg_arena_free(a);

    /* writes in any order: the last entry first, then widening under it */
    a = pg_arena_new(0);
    CHECK(pg_value_col_init(a, &c, 4) == 0);
    CHECK(pg_value_col_set(a, &c, 3, -7) == 0);
    CHECK(pg_value_col_set(a, &c, 0, 100) == 0);
    CHECK(pg_value_col_set(a, &c, 1, 40000) == 0 && c.width == 4);
    CHECK(pg_value_col_set(a, &c, 2, -40000) == 0);
    CHECK(col_get(&c, 0) == 100 && col_get(&c, 1) == 40000 && col_get(&c, 2) == -40000 &&
          col_get(&c, 3) == -7);
    pg_arena_free(a);

    /* explicit widening in every step (1 -> 2 -> 4 -> 8) and 1 -> 8 in one go */
    for (int direct = 0; direct < 2; direct++) {
        a = pg_arena_new(0);
        CHECK(pg_value_col_init(a, &c, 3) == 0);
        pg_value_col_set(a, &c, 0, INT8_MIN);
        pg_value_col_set(a, &c, 1, -1);
        pg_value_col_set(a, &c, 2, INT8_MAX);
        if (!direct) {
            CHECK(pg_value_col_widen(a, &c, 2) == 0 && c.width == 2);
            CHECK(pg_value_col_widen(a, &c, 4) == 0 && c.width == 4);
        }
        CHECK(pg_value_col_widen(a, &c, 8) == 0 && c.width == 8);
        CHECK(col_get(&c, 0) == INT8_MIN && col_get(&c, 1) == -1 && col_get(&c, 2) == INT8_MAX);
        pg_arena_free(a);
    }

    /* an empty column */
    a = pg_arena_new(0);
    CHECK(pg_value_col_init(a, &c, 0) == 0 && c.n == 0);
    CHECK(pg_value_col_widen(a, &c, 8) == 0 && c.width == 8);
    pg_arena_free(a);
}

/* A large column widened late: the first many thousand entries survive each rewrite. */
static void test_large_widen(void)
{
    enum { N = 200000 };
    pg_arena *a = pg_arena_new(0);
    pg_value_col c;
    CHECK(pg_value_col_init(a, &c, N) == 0);
    int bad = 0;
    for (size_t i = 0; i < N; i++) {
        int64_t v = (int64_t)(i % 256) - 128;
        if (i == N / 2) v = 1000;
        if (i == N / 2 + 1) v = -100000;
        if (i == N - 1) v = INT64_MIN;
        if (pg_value_col_set(a, &c, i, v)) bad++;
    }
    CHECK(c.width == 8);
    for (size_t i = 0; i < N; i++) {
        int64_t v = (int64_t)(i % 256) - 128;
        if (i == N / 2) v = 1000;
        if (i == N / 2 + 1) v = -100000;
        if (i == N - 1) v = INT64_MIN;
        if (col_get(&c, i) != v) bad++;
    }
    CHECK_MSG(bad == 0, "%d entries wrong", bad);
    pg_arena_free(a);
}

/* Over the arena's cap, widening fails and leaves the column as it was. */
static void test_over_cap(void)
{
    enum { N = 20000 };
    pg_arena *a = pg_arena_new(100000);
    pg_value_col c;
    CHECK(pg_value_col_init(a, &c, N) == 0);
    for (size_t i = 0; i < N; i++)
        CHECK(pg_value_col_set(a, &c, i, (int64_t)(i % 100) - 50) == 0);
    CHECK(pg_value_col_set(a, &c, 0, INT64_MIN) == PG_ELIMIT); /* 160 kB at width 8 */
    CHECK(c.width < 8);
    int bad = 0;
    for (size_t i = 0; i < N; i++)
        bad += col_get(&c, i) != (int64_t)(i % 100) - 50;
    CHECK_MSG(bad == 0, "%d entries changed by a failed widening", bad);
    pg_arena_free(a);
}

/* A profile whose samples are columns: stack i, one value each from column c. */
static pg_otlp_profile *profile_with(pg_arena *a, const pg_value_col *c)
{
    pg_otlp_profile *p = pg_otlp_profile_new(a);
    pg_samples cs = {0}, *cols = &cs;
    int32_t *stack = pg_arena_alloc(a, (c->n ? c->n : 1) * sizeof *stack);
    for (size_t i = 0; i < c->n; i++)
        stack[i] = (int32_t)i;
    cols->n = c->n;
    cols->stack = stack;
    pg_value_col_attach(c, cols);
    pg_profile_set_samples(p, cols);
    return p;
}

/* pg_value_col_attach + pg_sample_at for every width. */
static void test_attach_sample_at(void)
{
    static const int64_t sets[4][3] = {
        {INT8_MIN, -1, INT8_MAX},
        {INT16_MIN, -1, INT16_MAX},
        {INT32_MIN, -1, INT32_MAX},
        {INT64_MIN, -1, INT64_MAX},
    };
    static const uint8_t widths[4] = {1, 2, 4, 8};
    pg_arena *a = pg_arena_new(0);
    for (int k = 0; k < 4; k++) {
        pg_value_col c;
        CHECK(pg_value_col_init(a, &c, 3) == 0);
        for (size_t i = 0; i < 3; i++)
            CHECK(pg_value_col_set(a, &c, i, sets[k][i]) == 0);
        CHECK(c.width == widths[k]);
        pg_otlp_profile *p = profile_with(a, &c);
        const pg_samples *cols = pg_profile_columns(p);
        CHECK(cols != NULL && cols->val_off == NULL);
        if (widths[k] == 8)
            CHECK(cols->values != NULL && cols->narrow == NULL);
        else
            CHECK(cols->narrow != NULL && cols->values == NULL && cols->width == widths[k]);
        CHECK(pg_profile_sample_count(p) == 3);
        pg_sample_ref r[3];
        for (size_t i = 0; i < 3; i++)
            pg_sample_at(p, i, &r[i]);
        for (size_t i = 0; i < 3; i++) {
            CHECK(r[i].stack == (int32_t)i);
            CHECK(r[i].n_values == 1);
            CHECK_MSG(r[i].values[0] == sets[k][i],
                      "width %u sample %zu: %" PRId64 ", want %" PRId64, widths[k], i,
                      r[i].values[0], sets[k][i]);
            if (widths[k] < 8) CHECK(r[i].values == &r[i].value1);
        }
    }
    pg_arena_free(a);
}

/* Runs values through a builder (one value per sample) into a profile. */
static pg_otlp_profile *built(pg_arena *a, const int64_t *v, size_t n)
{
    pg_samples_builder sb = {0};
    for (size_t i = 0; i < n; i++) {
        pg_sample_ref r = {0};
        r.stack = (int32_t)(i % 5);
        r.values = &v[i];
        r.n_values = 1;
        CHECK(pg_samples_builder_add(&sb, &r) == 0);
    }
    pg_otlp_profile *p = pg_otlp_profile_new(a);
    CHECK(pg_samples_builder_finish(&sb, a, p, NULL) == 0);
    return p;
}

/* Checks that p holds one value v[i] per sample i, on stack i % 5 (as `built` makes). */
static void check_values(const pg_otlp_profile *p, const int64_t *v, size_t n, const char *what)
{
    CHECK(pg_profile_sample_count(p) == n);
    for (size_t i = 0; i < n && i < pg_profile_sample_count(p); i++) {
        pg_sample_ref r;
        pg_sample_at(p, i, &r);
        CHECK_MSG(r.n_values == 1 && r.values[0] == v[i],
                  "%s: sample %zu has %zu values, first %" PRId64 ", want %" PRId64, what, i,
                  r.n_values, r.n_values ? r.values[0] : 0, v[i]);
        CHECK(r.stack == (int32_t)(i % 5));
    }
}

/* The builder picks the narrowest width that holds every value. */
static void test_builder(void)
{
    pg_arena *a = pg_arena_new(0);
    static const int64_t w1[] = {0, -1, INT8_MIN, INT8_MAX, 3};
    static const int64_t w2[] = {0, -1, INT8_MIN, INT8_MAX + 1, INT16_MIN, INT16_MAX, -129};
    static const int64_t w4[] = {0,         -1,    127,       -128,      128,
                                 INT16_MIN, 40000, INT32_MIN, INT32_MAX, -32769};
    static const int64_t w8a[] = {1, -1, INT64_MAX, 2};
    static const int64_t w8b[] = {INT64_MIN, -1, 0, (int64_t)INT32_MIN - 1};
    static const struct {
        const int64_t *v;
        size_t n;
        uint8_t width;
        const char *name;
    } cases[] = {
        {w1, 5, 1, "int8"},       {w2, 7, 2, "int16"},      {w4, 10, 4, "int32"},
        {w8a, 4, 8, "int64 max"}, {w8b, 4, 8, "int64 min"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        pg_otlp_profile *p = built(a, cases[k].v, cases[k].n);
        const pg_samples *c = pg_profile_columns(p);
        CHECK(c != NULL && c->val_off == NULL);
        if (cases[k].width == 8)
            CHECK_MSG(c->values != NULL && c->narrow == NULL, "%s", cases[k].name);
        else
            CHECK_MSG(c->narrow != NULL && c->values == NULL && c->width == cases[k].width,
                      "%s: width %u", cases[k].name, c->width);
        check_values(p, cases[k].v, cases[k].n, cases[k].name);
    }

    /* many samples: narrow for the first 100k, then one value needs 8 bytes */
    enum { N = 100001 };
    int64_t *big = malloc(N * sizeof *big);
    for (size_t i = 0; i < N; i++)
        big[i] = (int64_t)(i % 200) - 100;
    pg_otlp_profile *p = built(a, big, N - 1);
    CHECK(pg_profile_columns(p)->width == 1);
    check_values(p, big, N - 1, "100k int8");
    big[N - 1] = INT64_MIN;
    p = built(a, big, N);
    CHECK(pg_profile_columns(p)->narrow == NULL);
    check_values(p, big, N, "100k + int64");
    free(big);

    /* no samples */
    pg_samples_builder sb = {0};
    p = pg_otlp_profile_new(a);
    CHECK(pg_samples_builder_finish(&sb, a, p, NULL) == 0);
    CHECK(pg_profile_columns(p) != NULL && pg_profile_sample_count(p) == 0);

    /* several values per sample, or none: offsets and int64 values */
    int64_t two[2] = {INT64_MIN, -1}, one = 300;
    pg_sample_ref r = {0};
    r.stack = 1;
    r.values = two;
    r.n_values = 2;
    CHECK(pg_samples_builder_add(&sb, &r) == 0);
    r.values = &one;
    r.n_values = 1;
    CHECK(pg_samples_builder_add(&sb, &r) == 0);
    r.values = NULL;
    r.n_values = 0;
    CHECK(pg_samples_builder_add(&sb, &r) == 0);
    p = pg_otlp_profile_new(a);
    CHECK(pg_samples_builder_finish(&sb, a, p, NULL) == 0);
    const pg_samples *c = pg_profile_columns(p);
    CHECK(c->val_off != NULL && c->narrow == NULL);
    pg_sample_ref q;
    pg_sample_at(p, 0, &q);
    CHECK(q.n_values == 2 && q.values[0] == INT64_MIN && q.values[1] == -1);
    pg_sample_at(p, 1, &q);
    CHECK(q.n_values == 1 && q.values[0] == 300);
    pg_sample_at(p, 2, &q);
    CHECK(q.n_values == 0);

    /* copying a ref taken from a narrow column (value1 storage goes with the copy) */
    p = built(a, w2, 7);
    pg_sample_ref a0, a1;
    pg_sample_at(p, 3, &a0);
    pg_sample_at(p, 4, &a1);
    CHECK(a0.values[0] == INT8_MAX + 1 && a1.values[0] == INT16_MIN);
    pg_arena_free(a);
}

/* A batch with one profile per width, materialised as Sample structs. */
static void test_with_sample_structs(void)
{
    static const int64_t w1[] = {INT8_MIN, -1, 0, INT8_MAX};
    static const int64_t w2[] = {INT16_MIN, -1, 1, INT16_MAX};
    static const int64_t w4[] = {INT32_MIN, -1, 2, INT32_MAX};
    static const int64_t w8[] = {INT64_MIN, -1, 3, INT64_MAX};
    const int64_t *sets[4] = {w1, w2, w4, w8};
    static const uint8_t widths[4] = {1, 2, 4, 8};
    pg_batch *b = pg_batch_new(0);
    pg_arena *a = pg_batch_arena(b);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    for (int k = 0; k < 4; k++) {
        pg_otlp_profile *p = built(a, sets[k], 4);
        const pg_samples *c = pg_profile_columns(p);
        CHECK(widths[k] == 8 ? c->narrow == NULL : c->width == widths[k]);
        CHECK(pg_otlp_push(a, (void ***)&sp->profiles, &sp->n_profiles, p) == 0);
    }
    /* and one hand-built struct profile, adopted into columns like a protobuf-c one */
    static const pg_otlp_profile pinit =
        OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__PROFILE__INIT;
    pg_otlp_profile plain = pinit;
    pg_otlp_sample *s = pg_otlp_samples_new(a, 1);
    int64_t v = -77;
    s->values = &v;
    s->n_values = 1;
    pg_otlp_sample *sv[1] = {s};
    plain.samples = sv;
    plain.n_samples = 1;
    pg_otlp_profile *sp_struct = pg_profile_adopt(a, &plain, NULL);
    CHECK(sp_struct != NULL && sp_struct->n_samples == 0 &&
          pg_profile_sample_count(sp_struct) == 1);
    CHECK(pg_otlp_push(a, (void ***)&sp->profiles, &sp->n_profiles, sp_struct) == 0);

    pg_arena *scratch = pg_arena_new(0);
    pg_otlp_data *d = pg_otlp_data_with_sample_structs(scratch, pg_batch_data(b));
    CHECK(d != NULL);
    const pg_otlp_sprofiles *cs = d->resource_profiles[0]->scope_profiles[0];
    CHECK(cs->n_profiles == 5);
    for (int k = 0; k < 4; k++) {
        const pg_otlp_profile *p = cs->profiles[k];
        CHECK(p != sp->profiles[k]); /* a view, not the batch's profile */
        CHECK(p->n_samples == 4);
        for (size_t i = 0; i < 4; i++) {
            CHECK(p->samples[i]->n_values == 1);
            CHECK_MSG(p->samples[i]->values[0] == sets[k][i],
                      "width %u sample %zu: %" PRId64 ", want %" PRId64, widths[k], i,
                      p->samples[i]->values[0], sets[k][i]);
            CHECK(p->samples[i]->stack_index == (int32_t)(i % 5));
        }
        /* every struct has storage of its own */
        CHECK(p->samples[0]->values != p->samples[1]->values);
    }
    CHECK(cs->profiles[4] != sp_struct && cs->profiles[4]->n_samples == 1);
    CHECK(cs->profiles[4]->samples[0]->values[0] == -77);
    /* the batch still holds its columns */
    for (int k = 0; k < 5; k++)
        CHECK(sp->profiles[k]->n_samples == 0 &&
              pg_profile_sample_count(sp->profiles[k]) == (k < 4 ? 4u : 1u));
    pg_arena_free(scratch);
    pg_batch_free(b);
}

/* Narrow columns through the OTLP protobuf and JSON codecs and back: equal int64 values. */
static void test_codecs(void)
{
    static const int64_t w1[] = {INT8_MIN, -1, 0, INT8_MAX, 5};
    static const int64_t w2[] = {INT16_MIN, -1, 1, INT16_MAX, -129};
    static const int64_t w4[] = {INT32_MIN, -1, 2, INT32_MAX, -32769};
    static const int64_t w8[] = {INT64_MIN, -1, 3, INT64_MAX, (int64_t)INT32_MIN - 1};
    const int64_t *sets[4] = {w1, w2, w4, w8};
    for (int json = 0; json < 2; json++) {
        pg_batch *b = pg_batch_new(0);
        pg_arena *a = pg_batch_arena(b);
        pg_otlp_location l = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LOCATION__INIT;
        l.address = 0x1000;
        int32_t loc = pg_dict_location(b, &l);
        int32_t locs[4] = {loc, loc, loc, loc};
        for (size_t n = 1; n <= 4; n++)
            CHECK(pg_dict_stack(b, locs, n) == (int32_t)n);
        pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
        static const char *const names[4] = {"w1", "w2", "w4", "w8"};
        for (int k = 0; k < 4; k++) {
            pg_otlp_profile *p = built(a, sets[k], 5);
            p->sample_type = pg_otlp_valuetype_new(a);
            p->sample_type->type_strindex = pg_dict_string(b, names[k], 2);
            CHECK(pg_otlp_push(a, (void ***)&sp->profiles, &sp->n_profiles, p) == 0);
        }
        pg_buf out = {0};
        char err[256] = "";
        int rc = json ? pg_otlp_encode_json(b, &out, err, sizeof err)
                      : pg_otlp_encode(b, &out, err, sizeof err);
        CHECK_MSG(rc == 0, "%s encode: %s", json ? "json" : "proto", err);
        pg_batch *c = pg_batch_new(0);
        rc = json ? pg_otlp_decode_json(c, out.data, out.len, NULL, err, sizeof err)
                  : pg_otlp_decode(c, out.data, out.len, NULL, err, sizeof err);
        CHECK_MSG(rc == 0, "%s decode: %s", json ? "json" : "proto", err);
        if (rc == 0) {
            const pg_otlp_sprofiles *cs = pg_batch_data(c)->resource_profiles[0]->scope_profiles[0];
            CHECK(cs->n_profiles == 4);
            for (size_t k = 0; k < 4 && k < cs->n_profiles; k++) {
                char what[32];
                snprintf(what, sizeof what, "%s %s", json ? "json" : "proto", names[k]);
                check_values(cs->profiles[k], sets[k], 5, what);
            }
        }
        pg_buf_free(&out);
        pg_batch_free(c);
        pg_batch_free(b);
    }
}

int main(void)
{
    test_width_for();
    test_narrow_get();
    test_set_widen();
    test_large_widen();
    test_over_cap();
    test_attach_sample_at();
    test_builder();
    test_with_sample_structs();
    test_codecs();
    TEST_MAIN_END();
}
