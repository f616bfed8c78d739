/* pg_vec_*: growth policy, overflow safety, failure codes and the arena variant. */
#include "pipeline/core/vec.h"

#include <stdint.h>
#include <stdlib.h>

#include "pipeline/core/err.h"
#include "testlib.h"

static void test_policy(void)
{
    CHECK(pg_vec_next_cap(0, 1, 4, 16) == 16);
    CHECK(pg_vec_next_cap(0, 17, 4, 16) == 32);
    CHECK(pg_vec_next_cap(16, 17, 4, 16) == 32);
    CHECK(pg_vec_next_cap(32, 1000, 4, 16) == 1024);
    CHECK(pg_vec_next_cap(3, 4, 4, 16) == 16); /* below the minimum: jump to it */
    CHECK(pg_vec_next_cap(0, 1, 4, 0) == 1);   /* no minimum */
    CHECK(pg_vec_next_cap(100, 101, 1, 1) == 200);
    /* overflow: need * elem past SIZE_MAX fails; doubling past it takes need exactly */
    CHECK(pg_vec_next_cap(0, SIZE_MAX / 8 + 1, 8, 16) == 0);
    CHECK(pg_vec_next_cap(SIZE_MAX / 16 + 1, SIZE_MAX / 8, 8, 16) == SIZE_MAX / 8);
    CHECK(pg_vec_next_cap(SIZE_MAX / 2 + 1, SIZE_MAX, 1, 1) == SIZE_MAX);
}

static void test_malloc(void)
{
    int *v = NULL;
    size_t cap = 0;
    for (int i = 0; i < 1000; i++) {
        CHECK_MSG(PG_VEC_RESERVE(v, cap, (size_t)i + 1, 8) == 0, "reserve %d", i);
        v[i] = i;
    }
    CHECK(cap == 1024);
    int ok = 1;
    for (int i = 0; i < 1000; i++)
        ok &= v[i] == i;
    CHECK(ok);
    int *keep = v;
    CHECK(PG_VEC_RESERVE(v, cap, 1024, 8) == 0 && v == keep && cap == 1024); /* room: no-op */
    CHECK(pg_vec_reserve((void **)&v, &cap, SIZE_MAX / 2, sizeof *v, 8) == PG_ENOMEM);
    CHECK(v == keep && cap == 1024); /* unchanged on failure */
    free(v);
}

static void test_arena(void)
{
    pg_arena *a = pg_arena_new(64 * 1024);
    uint64_t *v = NULL;
    size_t cap = 0;
    CHECK(PG_VEC_RESERVE_ARENA(a, v, cap, 10, 4) == 0 && cap == 16);
    for (int i = 0; i < 10; i++)
        v[i] = (uint64_t)i * 3;
    CHECK(PG_VEC_RESERVE_ARENA(a, v, cap, 1000, 4) == 0 && cap == 1024);
    CHECK(v[9] == 27);
    uint64_t *keep = v;
    /* past the arena's 64 KiB cap: a limit, not out of memory */
    CHECK(PG_VEC_RESERVE_ARENA(a, v, cap, 100000, 4) == PG_ELIMIT);
    CHECK(v == keep && cap == 1024 && v[9] == 27);
    CHECK(pg_arena_status(a) == PG_ELIMIT);
    CHECK(pg_vec_reserve_arena(a, (void **)&v, &cap, SIZE_MAX, sizeof *v, 4) == PG_ENOMEM);
    pg_arena_free(a);

    pg_arena *u = pg_arena_new(0); /* no cap: a request past size_t is out of memory */
    uint16_t *c = NULL;
    size_t cc = 0;
    CHECK(PG_VEC_RESERVE_ARENA(u, c, cc, SIZE_MAX / 2 + 1, 1) == PG_ENOMEM);
    CHECK(c == NULL && cc == 0);
    CHECK(pg_arena_status(u) == PG_ENOMEM);
    pg_arena_free(u);
}

int main(void)
{
    test_policy();
    test_malloc();
    test_arena();
    TEST_MAIN_END();
}
