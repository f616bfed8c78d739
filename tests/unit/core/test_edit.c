/* The sample edit API (pipeline/core/edit.h): iteration order, values set in place and
 * widened, several values and timestamps per sample, drop and keep, stack / attribute /
 * link replacement with range checks, copy-on-write between profiles that share columns
 * (the others unchanged, only the changed column copied, and only once), dictionary
 * appends, and edits that survive OTLP and pprof encoding. */
#include "edit_fixture.h"

#include <inttypes.h>

/* Two resources: the first with an empty scope and a scope of two profiles, the second
 * with one profile; the iterator visits the three in order with their positions. */
static void test_iterate(void)
{
    pg_batch *b = pg_batch_new(0);
    pg_otlp_rprofiles *r0 = NULL, *r1 = NULL;
    pg_otlp_sprofiles *empty = pg_batch_add_scope(b, &r0);
    (void)empty;
    pg_otlp_sprofiles *s01 = pg_otlp_sprofiles_new(pg_batch_arena(b));
    CHECK(pg_otlp_push(pg_batch_arena(b), (void ***)&r0->scope_profiles, &r0->n_scope_profiles,
                       s01) == 0);
    pg_profile *a = pg_profile_add(b, s01, 1), *c = pg_profile_add(b, s01, 2);
    pg_otlp_sprofiles *s10 = pg_batch_add_scope(b, &r1);
    pg_profile *d = pg_profile_add(b, s10, 3);
    pg_batch_add_scope(b, NULL); /* a trailing resource without profiles */
    pg_profile_iter it;
    pg_profile_iter_init(&it, b);
    CHECK(pg_profile_iter_next(&it) && it.profile == a && it.r == 0 && it.s == 1 && it.p == 0 &&
          it.scope == s01 && it.resource == r0);
    CHECK(pg_profile_iter_next(&it) && it.profile == c && it.r == 0 && it.s == 1 && it.p == 1);
    CHECK(pg_profile_iter_next(&it) && it.profile == d && it.r == 1 && it.s == 0 && it.p == 0 &&
          it.resource == r1);
    CHECK(!pg_profile_iter_next(&it) && it.profile == NULL);
    CHECK(!pg_profile_iter_next(&it));
    CHECK(pg_batch_profile_count(b) == 3 && pg_batch_sample_count(b) == 6);
    /* a fresh profile: empty stacks, one value 0, columns of its own */
    CHECK(d->samples.n == 3 && d->samples.stack[2] == 0 && pg_sample_value(d, 2, 0) == 0);
    CHECK(d->msg.n_samples == 0 && pg_profile_of(&d->msg) == d);
    pg_batch_free(b);
}

/* One value per sample kept narrow, widened 1 -> 2 -> 4 -> 8 as values need. */
static void test_values_widen(void)
{
    pg_batch *b = pg_batch_new(0);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    pg_profile *p = pg_profile_add(b, sp, 5);
    const pg_samples *c = &p->samples;
    CHECK(c->narrow && c->width == 1);
    CHECK(pg_sample_set_value(b, p, 0, 0, -128) == 0 && c->width == 1);
    CHECK(pg_sample_set_value(b, p, 1, 0, 1000) == 0 && c->width == 2);
    CHECK(pg_sample_set_value(b, p, 2, 0, -70000) == 0 && c->width == 4);
    CHECK(pg_sample_set_value(b, p, 3, 0, 5) == 0 && c->width == 4);
    CHECK(pg_sample_set_value(b, p, 4, 0, INT64_MIN) == 0 && c->narrow == NULL &&
          c->values != NULL);
    static const int64_t want[5] = {-128, 1000, -70000, 5, INT64_MIN};
    for (size_t i = 0; i < 5; i++)
        CHECK_MSG(pg_sample_value(p, i, 0) == want[i], "sample %zu: %" PRId64, i,
                  pg_sample_value(p, i, 0));
    /* out of range */
    CHECK(pg_sample_set_value(b, p, 5, 0, 1) == PG_EINVAL);
    CHECK(pg_sample_set_value(b, p, 0, 1, 1) == PG_EINVAL);
    /* several values, then timestamps, per sample */
    int64_t three[3] = {7, 8, INT64_MAX};
    CHECK(pg_sample_set_values(b, p, 1, three, 3) == 0 && c->val_off != NULL);
    CHECK(pg_sample_set_values(b, p, 3, NULL, 0) == 0);
    CHECK(pg_sample_set_value(b, p, 1, 2, -1) == 0);
    CHECK(pg_sample_set_value(b, p, 3, 0, 1) == PG_EINVAL);
    uint64_t ts[2] = {11, 12};
    CHECK(pg_sample_set_timestamps(b, p, 2, ts, 2) == 0);
    pg_sample_ref r;
    pg_samples_at(c, 0, &r);
    CHECK(r.n_values == 1 && r.values[0] == -128 && r.n_ts == 0);
    pg_samples_at(c, 1, &r);
    CHECK(r.n_values == 3 && r.values[0] == 7 && r.values[1] == 8 && r.values[2] == -1);
    pg_samples_at(c, 2, &r);
    CHECK(r.n_values == 1 && r.values[0] == -70000 && r.n_ts == 2 && r.ts[1] == 12);
    pg_samples_at(c, 3, &r);
    CHECK(r.n_values == 0);
    pg_samples_at(c, 4, &r);
    CHECK(r.n_values == 1 && r.values[0] == INT64_MIN && r.n_ts == 0);
    CHECK(pg_sample_set_timestamps(b, p, 2, NULL, 0) == 0 && c->ts_off == NULL); /* none left */
    pg_batch_free(b);
}

/* Stack, attributes and link setters, with their range checks. */
static void test_replace(void)
{
    pg_batch *b = pg_batch_new(0);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    pg_profile *p = fx_profile(b, sp, "samples", "count", 3, 1);
    int32_t st = fx_stack(b, 100, 3);
    CHECK(pg_sample_set_stack(b, p, 0, st) == 0 && p->samples.stack[0] == st);
    CHECK(pg_sample_set_stack(b, p, 0, (int32_t)pg_dict_stack_count(pg_batch_dict(b))) ==
          PG_EINVAL);
    CHECK(pg_sample_set_stack(b, p, 0, -1) == PG_EINVAL);
    CHECK(pg_sample_set_stack(b, p, 3, 0) == PG_EINVAL);
    int32_t a2[2] = {pg_dict_attr_str(b, "k", "v", 1), pg_dict_attr_int(b, "n", 5, "bytes")};
    CHECK(pg_sample_set_attrs(b, p, 0, a2, 2) == 0);
    CHECK(pg_sample_set_attrs(b, p, 1, NULL, 0) == 0);
    int32_t bad = (int32_t)pg_batch_dict(b)->n_attribute_table;
    CHECK(pg_sample_set_attrs(b, p, 2, &bad, 1) == PG_EINVAL);
    uint8_t tid[16] = {1}, sid[8] = {2};
    int32_t link = pg_dict_link(b, tid, 16, sid, 8);
    CHECK(link == 1);
    CHECK(p->samples.link == NULL);
    CHECK(pg_sample_set_link(b, p, 2, 0) == 0 && p->samples.link == NULL); /* nothing to store */
    CHECK(pg_sample_set_link(b, p, 2, link) == 0 && p->samples.link != NULL);
    CHECK(pg_sample_set_link(b, p, 2, link + 1) == PG_EINVAL);
    pg_sample_ref r;
    pg_samples_at(&p->samples, 0, &r);
    CHECK(r.stack == st && r.n_attrs == 2 && r.attrs[0] == a2[0] && r.attrs[1] == a2[1] &&
          r.link == 0);
    pg_samples_at(&p->samples, 1, &r);
    CHECK(r.n_attrs == 0 && r.values[0] == 2);
    pg_samples_at(&p->samples, 2, &r);
    CHECK(r.n_attrs == 0 && r.link == link && r.values[0] == 3);
    /* a batch held by two is read-only */
    pg_batch_retain(b);
    CHECK(pg_sample_set_stack(b, p, 0, 0) == PG_EINVAL);
    pg_batch_free(b);
    pg_batch_free(b);
}

/* Dropping one sample and keeping a subset: every column follows. */
static void test_drop_keep(void)
{
    pg_batch *b = pg_batch_new(0);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    pg_profile *p = fx_profile(b, sp, "samples", "count", 6, 10);
    uint64_t ts = 99;
    CHECK(pg_sample_set_timestamps(b, p, 3, &ts, 1) == 0);
    int64_t two[2] = {-5, 300};
    CHECK(pg_sample_set_values(b, p, 5, two, 2) == 0);
    int32_t st[6];
    for (size_t i = 0; i < 6; i++)
        st[i] = p->samples.stack[i];
    CHECK(pg_sample_drop(b, p, 0) == 0 && p->samples.n == 5);
    CHECK(pg_sample_drop(b, p, 5) == PG_EINVAL);
    uint8_t keep[5] = {1, 0, 1, 0, 1}; /* old samples 1, 3, 5 stay */
    CHECK(pg_profile_keep(b, p, keep) == 0 && p->samples.n == 3);
    static const size_t was[3] = {1, 3, 5};
    for (size_t i = 0; i < 3; i++) {
        pg_sample_ref r;
        pg_samples_at(&p->samples, i, &r);
        CHECK_MSG(r.stack == st[was[i]], "kept %zu: stack %d", i, r.stack);
        CHECK(r.n_attrs == 1); /* odd samples carry thread=main */
        CHECK(r.n_ts == (was[i] == 3 ? 1u : 0u));
        if (was[i] == 5)
            CHECK(r.n_values == 2 && r.values[0] == -5 && r.values[1] == 300);
        else
            CHECK(r.n_values == 1 && r.values[0] == 10 + (int64_t)was[i]);
    }
    uint8_t none[3] = {0, 0, 0};
    CHECK(pg_profile_keep(b, p, none) == 0 && p->samples.n == 0 && pg_batch_sample_count(b) == 0);
    pg_batch_free(b);
}

/* Profiles decoded from one pprof share columns; editing one leaves the other as it was,
 * copies only the column it changes, and copies it once. */
static void test_copy_on_write(void)
{
    pg_batch *b = fx_pprof_batch(4);
    pg_profile *p0 = fx_nth(b, 0), *p1 = fx_nth(b, 1);
    CHECK(p0 && p1 && p0 != p1);
    if (!p0 || !p1) return;
    CHECK(p0->samples.stack == p1->samples.stack && p0->samples.attrs == p1->samples.attrs);
    CHECK(p0->samples.owned == 0 && p1->samples.owned == 0);
    char *before = pg_test_dump(b);
    const int32_t *stack1 = p1->samples.stack, *attrs1 = p1->samples.attrs;
    const void *vals1 = p1->samples.narrow ? p1->samples.narrow : (const void *)p1->samples.values;

    int32_t st = fx_stack(b, 500, 2);
    CHECK(pg_sample_set_stack(b, p0, 1, st) == 0);
    const int32_t *copied = p0->samples.stack;
    CHECK(copied != stack1 && (p0->samples.owned & PG_COL_STACK));
    CHECK(p0->samples.attrs == attrs1); /* untouched columns stay shared */
    CHECK(pg_sample_set_stack(b, p0, 2, st) == 0 && p0->samples.stack == copied); /* once */
    CHECK(pg_sample_set_value(b, p0, 0, 0, 77) == 0);
    int32_t at = pg_dict_attr_str(b, "edited", "yes", 3);
    CHECK(pg_sample_set_attrs(b, p0, 3, &at, 1) == 0 && p0->samples.attrs != attrs1);
    uint8_t tid[16] = {9}, sid[8] = {9};
    CHECK(pg_sample_set_link(b, p0, 0, pg_dict_link(b, tid, 16, sid, 8)) == 0);
    CHECK(pg_sample_drop(b, p0, 0) == 0);

    /* the sibling: same pointers, same content */
    CHECK(p1->samples.stack == stack1 && p1->samples.attrs == attrs1 && p1->samples.link == NULL);
    CHECK((p1->samples.narrow ? p1->samples.narrow : (const void *)p1->samples.values) == vals1);
    CHECK(p1->samples.n == 4 && p1->samples.owned == 0);
    char *after = pg_test_dump(b);
    /* the dump lists profile 0 then profile 1: profile 1's part is unchanged */
    const char *t0 = strstr(before, "profile type=cpu/"), *t1 = strstr(after, "profile type=cpu/");
    CHECK_MSG(t0 && t1 && strcmp(t0, t1) == 0, "\n--- before\n%s\n--- after\n%s", t0 ? t0 : "",
              t1 ? t1 : "");
    CHECK(pg_sample_value(p0, 0, 0) == 2 && p0->samples.n == 3); /* old sample 1 moved down */
    free(before);
    free(after);
    pg_batch_free(b);
}

/* Appends reuse equal entries and return named codes over the arena's cap. */
static void test_appends(void)
{
    pg_batch *b = pg_batch_new(0);
    const pg_otlp_dict *d = pg_batch_dict(b);
    int32_t s = fx_str(b, "hello");
    CHECK(s == 1 && fx_str(b, "hello") == 1 && d->n_string_table == 2);
    int32_t a = pg_dict_attr_str(b, "k", "v", 1);
    CHECK(a == 1 && pg_dict_attr_str(b, "k", "v", 1) == a && d->n_attribute_table == 2);
    int32_t f = pg_dict_function(b, s, s, 0, 3);
    CHECK(f == 1 && pg_dict_function(b, s, s, 0, 3) == f);
    pg_otlp_mapping m = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__MAPPING__INIT;
    m.memory_start = 0x1000;
    m.memory_limit = 0x2000;
    int32_t mi = pg_dict_mapping(b, &m);
    CHECK(mi == 1 && pg_dict_mapping(b, &m) == mi);
    int32_t l = fx_loc(b, 1);
    CHECK(l == 1 && fx_loc(b, 1) == l);
    int32_t st = pg_dict_stack(b, &l, 1);
    CHECK(st == 1 && pg_dict_stack(b, &l, 1) == st && pg_dict_stack_count(d) == 2);
    /* the frame tables' indexes dropped: rebuilt when needed, equal entries still found,
     * and twice is harmless */
    size_t nf = d->n_function_table, nl = d->n_location_table, nm = d->n_mapping_table;
    pg_dict_drop_frame_indexes(b);
    pg_dict_drop_frame_indexes(b);
    CHECK(pg_dict_function(b, s, s, 0, 3) == f && pg_dict_mapping(b, &m) == mi &&
          fx_loc(b, 1) == l && d->n_location_table == nl && d->n_function_table == nf &&
          d->n_mapping_table == nm);
    int32_t f2 = pg_dict_function(b, s, s, 0, 4), l2 = fx_loc(b, 2);
    CHECK(f2 == (int32_t)nf && l2 == (int32_t)nl && fx_loc(b, 2) == l2 &&
          pg_dict_function(b, s, s, 0, 4) == f2 && d->n_location_table == nl + 1);
    pg_batch_free(b);

    /* over the cap: a named status, never a bare -1 */
    b = pg_batch_new(64 * 1024);
    int32_t last = 0;
    char big[512];
    memset(big, 'x', sizeof big);
    for (int i = 0; i < 10000 && last >= 0; i++) {
        snprintf(big, sizeof big, "%d", i);
        big[strlen(big)] = 'x';
        big[sizeof big - 1] = 0;
        last = pg_dict_string(b, big, sizeof big - 1);
    }
    CHECK_MSG(last == PG_ELIMIT, "got %d", (int)last);
    pg_batch_free(b);
}

/* Edits survive OTLP and pprof: both profiles edited alike (their identity stays shared
 * as pprof needs), then both round trips give back exactly what was edited. */
static void test_edited_encodes(void)
{
    pg_batch *b = fx_pprof_batch(5);
    int32_t st = fx_stack(b, 700, 3);
    int32_t at = pg_dict_attr_str(b, "edited", "yes", 3);
    pg_profile_iter it;
    for (pg_profile_iter_init(&it, b); pg_profile_iter_next(&it);) {
        pg_profile *p = it.profile;
        CHECK(pg_sample_set_stack(b, p, 1, st) == 0);
        CHECK(pg_sample_set_attrs(b, p, 2, &at, 1) == 0);
        CHECK(pg_sample_set_value(b, p, 3, 0, (int64_t)1 << 40) == 0); /* widens */
        CHECK(pg_sample_drop(b, p, 4) == 0);
    }
    pg_batch *o = fx_through_otlp(b);
    CHECK(fx_same(b, o, "edited batch through OTLP"));
    pg_batch *pp = fx_through_pprof(b);
    CHECK(fx_same(b, pp, "edited batch through pprof"));
    pg_profile *q = fx_nth(pp, 1);
    CHECK(q && q->samples.n == 4 && pg_sample_value(q, 3, 0) == (int64_t)1 << 40);
    pg_batch_free(o);
    pg_batch_free(pp);
    pg_batch_free(b);
}

int main(void)
{
    test_iterate();
    test_values_widen();
    test_replace();
    test_drop_keep();
    test_copy_on_write();
    test_appends();
    test_edited_encodes();
    TEST_MAIN_END();
}
