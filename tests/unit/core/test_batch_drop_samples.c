/* pg_batch_drop_samples: every profile ends with no samples and the stack table with the
 * zero stack only; the whole pages of the columns are handed back at once (mincore); the
 * other tables stay and the tree still encodes and decodes; a batch without samples and
 * a second call are no-ops. */
#include "testlib.h"

#include "pipeline/core/dict.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/samples.h"
#include "pipeline/core/stacks.h"
#include "pipeline/translate/otlp_codec.h"

#include <stdint.h>
#include <stdlib.h>
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
 * locations, two values, an attribute and a timestamp. */
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
        int32_t st[3] = {locs[i % 64], locs[(i / 64) % 64], locs[(i / 4096) % 64]};
        int64_t v[2] = {(int64_t)i, 1};
        uint64_t ts[2] = {1700000000000000000ull + i, 1700000000000000001ull + i};
        pg_sample_ref r = {.stack = pg_dict_stack(b, st, 3),
                           .attrs = &attr,
                           .n_attrs = 1,
                           .values = v,
                           .n_values = 2,
                           .ts = ts,
                           .n_ts = 2};
        CHECK(r.stack > 0 && pg_samples_builder_add(&sb, &r) == 0);
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

int main(void)
{
    test_drop();
    TEST_MAIN_END();
}
