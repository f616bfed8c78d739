/* Cumulative to delta on hand-built profiles: priming, exact deltas across batches whose
 * dictionaries differ, repeated identities, restarts, inuse_* untouched, expiry,
 * max_series, times. */
#include "edit_fixture.h"

#include "pipeline/core/delta.h"

/* One sample of a hand-built profile: a stack of frames f<base>..f<base+n-1>, a value and
 * optional attributes (k=v pairs, given as "k", "v", ...). */
typedef struct hs {
    int base, frames;
    int64_t value;
    const char *attrs[4];
} hs;

/* A batch with one profile of type t/bytes at time `t` holding samples s[0..n). With
 * `reverse`, dictionary entries are interned in the opposite order (other indices). */
static pg_batch *mk(const char *t, uint64_t time, const hs *s, size_t n, int reverse)
{
    pg_batch *b = pg_batch_new(0);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    if (reverse) /* intern the stacks backwards first: indices differ from a forward batch */
        for (size_t j = n; j-- > 0;)
            fx_stack(b, s[j].base, s[j].frames);
    pg_profile *p = pg_profile_add(b, sp, n);
    p->msg.sample_type = fx_vt(b, t, "bytes");
    p->msg.period_type = fx_vt(b, "space", "bytes");
    p->msg.time_unix_nano = time;
    for (size_t i = 0; i < n; i++) {
        CHECK(pg_sample_set_stack(b, p, i, fx_stack(b, s[i].base, s[i].frames)) == 0);
        CHECK(pg_sample_set_value(b, p, i, 0, s[i].value) == 0);
        int32_t at[2];
        size_t na = 0;
        for (size_t a = 0; a < 4 && s[i].attrs[a]; a += 2)
            at[na++] =
                pg_dict_attr_str(b, s[i].attrs[a], s[i].attrs[a + 1], strlen(s[i].attrs[a + 1]));
        if (na) CHECK(pg_sample_set_attrs(b, p, i, at, na) == 0);
    }
    return b;
}

/* Classifier: inuse_* passes, everything else is cumulative keyed by its type hash. */
static pg_delta_mode classify(void *ud, pg_batch *b, const pg_profile_iter *it, uint64_t *series)
{
    (void)ud;
    if (pg_delta_is_inuse(b, &it->profile->msg)) return PG_DELTA_PASS;
    *series = pg_delta_type_hash(b, &it->profile->msg);
    return PG_DELTA_CUMULATIVE;
}

/* The value of the sample whose leaf frame is f<base> (and first attribute value `av`,
 * or none when NULL) in b's only profile; -1 when absent. */
static int64_t value_of(pg_batch *b, int base, const char *av)
{
    pg_profile_iter it;
    pg_profile_iter_init(&it, b);
    if (!pg_profile_iter_next(&it)) return -1;
    const pg_otlp_dict *d = pg_batch_dict(b);
    pg_sample_ref r;
    char want[16];
    snprintf(want, sizeof want, "f%d", base);
    for (size_t i = 0; i < it.profile->samples.n; i++) {
        pg_samples_at(&it.profile->samples, i, &r);
        pg_stack_ref st;
        pg_dict_stack_at(d, (size_t)r.stack, &st);
        const pg_otlp_location *l = d->location_table[pg_stack_loc(&st, 0)];
        const pg_otlp_function *f = d->function_table[l->lines[0]->function_index];
        if (strcmp(d->string_table[f->name_strindex], want)) continue;
        const char *got = NULL;
        if (r.n_attrs) {
            const pg_otlp_any *v = d->attribute_table[r.attrs[0]]->value;
            got = v->value_case == PG_ANY_STRINDEX ? d->string_table[v->string_value_strindex]
                                                   : v->string_value;
        }
        if ((av == NULL) != (got == NULL) || (av && strcmp(av, got))) continue;
        return r.values[0];
    }
    return -1;
}

/* Runs one batch through d; returns it (NULL when no profile is left, freed). */
static pg_batch *run(pg_delta *d, pg_batch *b, uint64_t now, pg_delta_stats *st)
{
    char err[256] = "";
    int rc = pg_delta_batch(d, b, classify, NULL, now, st, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    if (pg_batch_profile_count(b)) return b;
    CHECK(pg_batch_data(b)->n_resource_profiles == 0);
    pg_batch_free(b);
    return NULL;
}

static void test_sequence(void)
{
    pg_delta_opts o = {0};
    pg_delta *d = pg_delta_new(&o);
    pg_delta_stats st = {0};
    const uint64_t t0 = 1000000000000ull;
    hs s1[] = {{0, 2, 10, {0}}, {10, 3, 20, {"thread", "main"}}, {20, 1, 7, {0}}};
    CHECK(run(d, mk("alloc_space", t0, s1, 3, 0), 1, &st) == NULL);
    CHECK(st.primed == 1 && st.emitted == 0);

    /* other dictionary order; f0 grew by 5, f10 same (removed), f20 +1, new f30 */
    hs s2[] = {{30, 2, 4, {0}}, {10, 3, 20, {"thread", "main"}}, {0, 2, 15, {0}}, {20, 1, 8, {0}}};
    pg_batch *b = run(d, mk("alloc_space", t0 + 10, s2, 4, 1), 2, &st);
    CHECK(b != NULL);
    if (b) {
        CHECK(value_of(b, 0, NULL) == 5);
        CHECK(value_of(b, 20, NULL) == 1);
        CHECK(value_of(b, 30, NULL) == 4);
        CHECK(value_of(b, 10, "main") == -1);
        CHECK(pg_batch_sample_count(b) == 3);
        pg_profile_iter it;
        pg_profile_iter_init(&it, b);
        CHECK(pg_profile_iter_next(&it));
        CHECK(it.profile->msg.time_unix_nano == t0);
        CHECK(it.profile->msg.duration_nano == 10);
        pg_batch_free(b);
    }
    CHECK(st.emitted == 1 && st.removed_samples == 1);

    /* the same identity twice in one profile: summed (f0: 9 + 8 = 17, +2), one sample;
     * attributes in another order are the same identity; another attribute value is not */
    hs s3[] = {{0, 2, 9, {0}},
               {0, 2, 8, {0}},
               {10, 3, 26, {"thread", "main"}},
               {10, 3, 3, {"thread", "gc"}},
               {20, 1, 8, {0}},
               {30, 2, 4, {0}}};
    b = run(d, mk("alloc_space", t0 + 20, s3, 6, 0), 3, &st);
    CHECK(b != NULL);
    if (b) {
        CHECK(value_of(b, 0, NULL) == 2);
        CHECK(value_of(b, 10, "main") == 6);
        CHECK(value_of(b, 10, "gc") == 3);
        CHECK(pg_batch_sample_count(b) == 3);
        pg_batch_free(b);
    }

    /* a value going down: restart, re-primed, nothing emitted; then deltas from there */
    hs s4[] = {{0, 2, 1, {0}}, {10, 3, 40, {"thread", "main"}}};
    CHECK(run(d, mk("alloc_space", t0 + 30, s4, 2, 0), 4, &st) == NULL);
    CHECK(st.restarts == 1);
    hs s5[] = {{0, 2, 4, {0}}, {10, 3, 41, {"thread", "main"}}};
    b = run(d, mk("alloc_space", t0 + 40, s5, 2, 0), 5, &st);
    CHECK(b != NULL);
    if (b) {
        CHECK(value_of(b, 0, NULL) == 3);
        CHECK(value_of(b, 10, "main") == 1);
        pg_batch_free(b);
    }
    CHECK(pg_delta_series_count(d) == 1);
    CHECK(pg_delta_state_bytes(d) > 0);
    pg_delta_free(d);
}

/* inuse_* is left untouched, even the first time; another type is its own series. */
static void test_inuse_and_types(void)
{
    pg_delta *d = pg_delta_new(NULL);
    pg_delta_stats st = {0};
    hs s[] = {{0, 2, 10, {0}}, {10, 1, 20, {0}}};
    for (int round = 0; round < 3; round++) {
        pg_batch *b = run(d, mk("inuse_space", 5, s, 2, round & 1), (uint64_t)round + 1, &st);
        CHECK(b != NULL);
        if (!b) continue;
        CHECK(value_of(b, 0, NULL) == 10 && value_of(b, 10, NULL) == 20);
        pg_batch_free(b);
    }
    CHECK(st.passed == 3 && st.primed == 0);
    CHECK(run(d, mk("alloc_space", 5, s, 2, 0), 4, &st) == NULL);
    CHECK(run(d, mk("alloc_objects", 5, s, 2, 0), 5, &st) == NULL);
    CHECK(st.primed == 2 && pg_delta_series_count(d) == 2);
    pg_delta_free(d);
}

/* A series unseen for longer than the expiry is dropped and primes again; max_series
 * evicts the least recently seen. */
static void test_bounds(void)
{
    pg_delta_opts o = {.max_series = 2, .expiry_ns = 1000};
    pg_delta *d = pg_delta_new(&o);
    pg_delta_stats st = {0};
    hs s[] = {{0, 2, 10, {0}}};
    CHECK(run(d, mk("a", 1, s, 1, 0), 100, &st) == NULL);
    CHECK(run(d, mk("b", 1, s, 1, 0), 200, &st) == NULL);
    CHECK(run(d, mk("c", 1, s, 1, 0), 300, &st) == NULL); /* evicts a */
    CHECK(st.evicted == 1 && pg_delta_series_count(d) == 2);
    CHECK(run(d, mk("a", 1, s, 1, 0), 400, &st) == NULL); /* primes again, evicts b */
    CHECK(st.primed == 4 && st.evicted == 2);
    hs s2[] = {{0, 2, 12, {0}}};
    pg_batch *b = run(d, mk("a", 2, s2, 1, 0), 500, &st);
    CHECK(b && value_of(b, 0, NULL) == 2);
    pg_batch_free(b);
    /* 5000 ns later both series expired: a primes again */
    CHECK(run(d, mk("a", 3, s2, 1, 0), 5500, &st) == NULL);
    CHECK(st.expired == 2 && st.primed == 5 && pg_delta_series_count(d) == 1);
    pg_delta_free(d);
}

/* Identity hashes: by content, attribute order free, link-free. */
static void test_identity(void)
{
    hs s[] = {{0, 2, 1, {"a", "1", "b", "2"}}, {0, 2, 1, {"b", "2", "a", "1"}}};
    pg_batch *b = mk("x", 1, s, 2, 0);
    pg_profile_iter it;
    pg_profile_iter_init(&it, b);
    CHECK(pg_profile_iter_next(&it));
    pg_sample_ref r0, r1;
    pg_samples_at(&it.profile->samples, 0, &r0);
    pg_samples_at(&it.profile->samples, 1, &r1);
    CHECK(pg_delta_sample_hash(b, &r0) == pg_delta_sample_hash(b, &r1));
    r1.link = 3;
    CHECK(pg_delta_sample_hash(b, &r0) == pg_delta_sample_hash(b, &r1));
    r1.n_attrs = 1;
    CHECK(pg_delta_sample_hash(b, &r0) != pg_delta_sample_hash(b, &r1));
    pg_batch_free(b);
}

int main(void)
{
    test_sequence();
    test_inuse_and_types();
    test_bounds();
    test_identity();
    TEST_MAIN_END();
}
