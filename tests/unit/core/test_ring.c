/* The consistent-hash ring: keys spread evenly; removing one member of N moves about 1/N
 * of the keys and only those it owned; adding one takes keys only for itself; the order
 * of the names does not matter; bad input is refused. */
#include "pipeline/core/err.h"
#include "pipeline/core/ring.h"
#include "testlib.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define NKEYS 100000
#define VNODES 150

static char names[10][32];
static const char *ptrs[10];

/* Owner name of every key "service-<k>" on a ring over the given names. */
static void owners(const char *const *nm, size_t n, const char **out)
{
    pg_ring *r = NULL;
    CHECK(pg_ring_new(nm, n, VNODES, &r) == 0);
    for (int k = 0; k < NKEYS; k++) {
        char key[32];
        int len = snprintf(key, sizeof key, "service-%d", k);
        size_t m = pg_ring_lookup(r, pg_ring_key_hash(key, (size_t)len));
        out[k] = m < n ? nm[m] : NULL;
    }
    pg_ring_free(r);
}

static void test_spread_and_moves(void)
{
    for (int i = 0; i < 10; i++) {
        snprintf(names[i], sizeof names[i], "10.0.0.%d:4317", i + 1);
        ptrs[i] = names[i];
    }
    const char **all = calloc(NKEYS, sizeof *all), **less = calloc(NKEYS, sizeof *less);
    owners(ptrs, 10, all);
    int count[10] = {0};
    for (int k = 0; k < NKEYS; k++)
        for (int i = 0; i < 10; i++)
            count[i] += all[k] == ptrs[i];
    for (int i = 0; i < 10; i++) /* even within 30% of the fair share */
        CHECK_MSG(count[i] > NKEYS / 10 * 7 / 10 && count[i] < NKEYS / 10 * 13 / 10,
                  "member %d owns %d keys", i, count[i]);

    /* remove member 3: only its keys move, and they are about 1/10 */
    const char *nine[9];
    for (int i = 0, j = 0; i < 10; i++)
        if (i != 3) nine[j++] = ptrs[i];
    owners(nine, 9, less);
    int moved = 0, wrong = 0;
    for (int k = 0; k < NKEYS; k++) {
        if (all[k] == less[k]) continue;
        moved++;
        wrong += all[k] != ptrs[3];
    }
    CHECK_MSG(wrong == 0, "%d keys of other members moved", wrong);
    CHECK(moved == count[3]);
    CHECK_MSG(moved > NKEYS / 20 && moved < NKEYS * 3 / 20, "moved %d of %d", moved, NKEYS);

    /* names in another order (member 3 re-added last): the same owners as the first ring */
    const char *again[10];
    for (int i = 0; i < 9; i++)
        again[i] = nine[8 - i];
    again[9] = ptrs[3];
    const char **re = calloc(NKEYS, sizeof *re);
    owners(again, 10, re);
    int diff = 0;
    for (int k = 0; k < NKEYS; k++)
        diff += re[k] != all[k];
    CHECK_MSG(diff == 0, "%d keys differ after re-adding in another order", diff);
    free(all);
    free(less);
    free(re);
}

static void test_edges(void)
{
    pg_ring *r = NULL;
    CHECK(pg_ring_new(NULL, 0, VNODES, &r) == 0);
    CHECK(pg_ring_lookup(r, 42) == SIZE_MAX);
    CHECK(pg_ring_members(r) == 0);
    pg_ring_free(r);
    const char *one[] = {"a:1"};
    CHECK(pg_ring_new(one, 1, 1, &r) == 0);
    CHECK(pg_ring_lookup(r, 0) == 0 && pg_ring_lookup(r, UINT64_MAX) == 0);
    pg_ring_free(r);
    const char *dup[] = {"a:1", "b:1", "a:1"};
    CHECK(pg_ring_new(dup, 3, 10, &r) == PG_EINVAL && r == NULL);
    CHECK(pg_ring_new(one, 1, 0, &r) == PG_EINVAL);
    CHECK(pg_ring_new(one, 1, 65537, &r) == PG_EINVAL);
}

int main(void)
{
    test_spread_and_moves();
    test_edges();
    TEST_MAIN_END();
}
