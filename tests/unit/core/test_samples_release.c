/* Handing a batch's sample pages back. pg_batch_drop_samples: every profile ends with no
 * samples and the stack table with the zero stack only; the whole pages of the columns are
 * handed back at once (mincore); the other tables stay and the tree still encodes and
 * decodes; a batch without samples and a second call are no-ops. The releasers: read in
 * order with a release after every sample, each sample and its stack read back intact
 * (also a stack an early sample and a late one share, and the zero stack), and the pages
 * are gone at the end. */
#include "testlib.h"

#include "pipeline/core/dict.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/samples.h"
#include "pipeline/core/stacks.h"
#include "pipeline/translate/otlp_codec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define N_SAMPLES 30000

/* Resident pages among the whole pages inside [p, p + n). */
static size_t resident_pages(const void *p, size_t n)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)p + page - 1) & ~(page - 1);
    uintptr_t hi = ((uintptr_t)p + n) & ~(page - 1);
    if (hi <= lo) return 0;
    size_t np = (hi - lo) / page, res = 0;
    unsigned char *v = malloc(np);
    CHECK(v && mincore((void *)lo, hi - lo, v) == 0);
    for (size_t i = 0; v && i < np; i++)
        res += v[i] & 1;
    free(v);
    return res;
}

/* A batch of one profile of N_SAMPLES samples, each with its own stack of three of 64
 * locations (but every 5000th: sample 3000's, and every 7000th: the zero stack), two values,
 * an attribute and two timestamps. */
static pg_batch *busy_batch(void)
{
    pg_batch *b = pg_batch_new(0);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    pg_profile *p = pg_profile_add(b, sp, 0);
    CHECK(b && sp && p);
    int32_t locs[64];
    for (int i = 0; i < 64; i++) {
        pg_otlp_location l = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LOCATION__INIT;
        l.address = 0x1000u + (unsigned)i;
        locs[i] = pg_dict_location(b, &l);
    }
    int32_t attr = pg_dict_attr_str(b, "thread", "main", 4);
    pg_samples_builder sb = {0};
    for (size_t i = 0; i < N_SAMPLES; i++) {
        size_t j = i % 5000 == 4999 ? 3000 : i;
        int32_t st[3] = {locs[j % 64], locs[(j / 64) % 64], locs[(j / 4096) % 64]};
        int64_t v[2] = {(int64_t)i, 1};
        uint64_t ts[2] = {1700000000000000000ull + i, 1700000000000000001ull + i};
        pg_sample_ref r = {.stack = i % 7000 == 6999 ? 0 : pg_dict_stack(b, st, 3),
                           .attrs = &attr,
                           .n_attrs = 1,
                           .values = v,
                           .n_values = 2,
                           .ts = ts,
                           .n_ts = 2};
        CHECK(r.stack >= 0 && pg_samples_builder_add(&sb, &r) == 0);
    }
    CHECK(pg_samples_builder_finish(&sb, pg_batch_arena(b), &p->msg, NULL) == 0);
    return b;
}

static void test_drop(void)
{
    pg_batch *b = busy_batch();
    pg_otlp_dict *d = pg_batch_dict(b);
    const pg_profile *p =
        pg_profile_cof(pg_batch_data(b)->resource_profiles[0]->scope_profiles[0]->profiles[0]);
    const pg_samples c = p->samples;
    const pg_stacks s = *pg_dict_stacks(d);
    size_t n_loc = d->n_location_table, n_attr = d->n_attribute_table;
    CHECK(c.n == N_SAMPLES && s.n > N_SAMPLES / 2);
    /* sizes read before: the released pages read as zeros */
    size_t values = c.val_off[c.n] * sizeof *c.values, ts = c.ts_off[c.n] * sizeof *c.ts;
    size_t before = resident_pages(c.values, values) + resident_pages(c.ts, ts) +
                    resident_pages(s.off, (s.n + 1) * sizeof *s.off);
    CHECK_MSG(before > 100, "%zu resident column pages before", before);

    pg_batch_drop_samples(b);
    size_t after = resident_pages(c.values, values) + resident_pages(c.ts, ts) +
                   resident_pages(s.off + 2, (s.n - 1) * sizeof *s.off);
    CHECK_MSG(after == 0, "%zu of %zu column pages still resident", after, before);
    CHECK(pg_batch_sample_count(b) == 0);
    CHECK(pg_dict_stack_count(d) == 1);
    pg_stack_ref z;
    pg_dict_stack_at(d, 0, &z);
    CHECK(z.n == 0);
    CHECK(d->n_location_table == n_loc && d->n_attribute_table == n_attr);

    /* the tree is still a valid batch: it encodes, and decodes with its tables */
    pg_buf out = {0};
    CHECK(pg_otlp_encode(b, &out, NULL, 0) == 0);
    pg_batch *back = pg_batch_new(0);
    char err[256] = "";
    CHECK_MSG(pg_otlp_decode(back, out.data, out.len, NULL, err, sizeof err) == 0, "%s", err);
    CHECK(pg_batch_sample_count(back) == 0 && pg_batch_profile_count(back) == 1);
    CHECK(pg_batch_dict(back)->n_location_table == n_loc);
    pg_buf_free(&out);
    pg_batch_free(back);

    pg_batch_drop_samples(b); /* twice: nothing left to drop */
    CHECK(pg_batch_sample_count(b) == 0 && pg_dict_stack_count(d) == 1);
    pg_batch_free(b);

    pg_batch *empty = pg_batch_new(0);
    pg_batch_drop_samples(empty);
    CHECK(pg_dict_stack_count(pg_batch_dict(empty)) == 1);
    pg_batch_free(empty);
}

/* Sample i and its stack as they were built (see busy_batch). */
static int sample_intact(const pg_otlp_dict *d, const pg_samples *c, size_t i, int32_t want_stack)
{
    pg_sample_ref r;
    pg_samples_at(c, i, &r);
    int ok = r.stack == want_stack && r.n_values == 2 && r.values[0] == (int64_t)i &&
             r.values[1] == 1 && r.n_ts == 2 && r.ts[0] == 1700000000000000000ull + i &&
             r.n_attrs == 1 && r.attrs[0] > 0;
    pg_stack_ref s;
    pg_dict_stack_at(d, (size_t)r.stack, &s);
    size_t j = i % 5000 == 4999 ? 3000 : i;
    if (i % 7000 == 6999) return ok && r.stack == 0 && s.n == 0;
    return ok && s.n == 3 && d->location_table[pg_stack_loc(&s, 0)]->address == 0x1000u + j % 64 &&
           d->location_table[pg_stack_loc(&s, 1)]->address == 0x1000u + (j / 64) % 64 &&
           d->location_table[pg_stack_loc(&s, 2)]->address == 0x1000u + (j / 4096) % 64;
}

static void test_releasers(void)
{
    pg_batch *b = busy_batch();
    pg_otlp_dict *d = pg_batch_dict(b);
    const pg_profile *p =
        pg_profile_cof(pg_batch_data(b)->resource_profiles[0]->scope_profiles[0]->profiles[0]);
    const pg_samples *c = &p->samples;
    const pg_stacks *s = pg_dict_stacks(d);
    int32_t *want = malloc(N_SAMPLES * sizeof *want);
    CHECK(want != NULL);
    memcpy(want, c->stack, N_SAMPLES * sizeof *want);
    size_t values = c->val_off[c->n] * sizeof *c->values;
    size_t loc_bytes = (size_t)s->off[s->n] * s->width, off_bytes = (s->n + 1) * sizeof *s->off;
    const void *values_p = c->values, *loc_p = s->loc, *off_p = s->off;

    pg_samples_releaser sr;
    pg_stacks_releaser kr;
    /* a profile sharing c's identity columns leaves them to c's releaser */
    int64_t own_values[4] = {0};
    pg_samples other = *c;
    other.values = own_values;
    pg_samples_releaser_init(&sr, &other, c);
    CHECK(sr.done[0] == NULL && sr.done[3] == NULL && sr.done[5] == (const uint8_t *)own_values);
    pg_samples_releaser_init(&sr, c, NULL);
    CHECK(pg_stacks_releaser_init(&kr, s, c->stack, c->n) == 0);
    size_t bad = 0;
    for (size_t i = 0; i < N_SAMPLES; i++) {
        if (!sample_intact(d, c, i, want[i]) && bad++ < 3)
            CHECK_MSG(0, "sample %zu (stack %d) read back wrong after its predecessors went", i,
                      want[i]);
        pg_samples_releaser_advance(&sr, i + 1);
        pg_stacks_releaser_advance(&kr, i + 1);
    }
    CHECK_MSG(bad == 0, "%zu samples read back wrong", bad);
    /* what is left: at most the partial first and last page of each of the three */
    size_t left = resident_pages(values_p, values) + resident_pages(loc_p, loc_bytes) +
                  resident_pages(off_p, off_bytes);
    CHECK_MSG(left <= 6, "%zu column pages still resident after the last sample", left);
    pg_stacks_releaser_free(&kr);
    pg_batch_drop_samples(b);
    pg_stack_ref z;
    pg_dict_stack_at(d, 0, &z);
    CHECK(pg_dict_stack_count(d) == 1 && z.n == 0);
    free(want);
    pg_batch_free(b);
}

int main(void)
{
    test_drop();
    test_releasers();
    TEST_MAIN_END();
}
