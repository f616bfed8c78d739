/* The arena's cache of freed small blocks: a freed arena's blocks serve the next arena (the
 * same memory, newest first), a block comes back writable and uncorrupted, the cap bounds
 * what is kept (0 = no cache), big blocks are never cached, and live bytes count only what
 * live arenas hold. */
#include "pipeline/core/arena.h"

#include <stdint.h>
#include <string.h>

#include "testlib.h"

/* The first small allocation of a new arena: the start of the block it got. */
static unsigned char *first_small(pg_arena **out)
{
    *out = pg_arena_new(0);
    CHECK(*out != NULL);
    return *out ? pg_arena_alloc(*out, 64) : NULL;
}

static void test_reuse(void)
{
    pg_arena_set_cache_limit(PG_ARENA_CACHE_DEFAULT);
    size_t live0 = pg_arena_live_bytes();
    pg_arena *a;
    unsigned char *p = first_small(&a);
    CHECK(p != NULL);
    if (!p) return;
    memset(p, 0xab, 64);
    CHECK(pg_arena_live_bytes() > live0);
    pg_arena_free(a);
    CHECK_MSG(pg_arena_live_bytes() == live0, "live bytes %zu after free, want %zu",
              pg_arena_live_bytes(), live0);
    pg_arena *b;
    unsigned char *q = first_small(&b);
    CHECK_MSG(q == p, "a new arena's first block is not the block just freed");
    if (q) {
        memset(q, 0x5c, 64); /* writable (ASan: unpoisoned) */
        CHECK(q[0] == 0x5c && q[63] == 0x5c);
    }
    /* a big allocation gets its own block, which is never cached */
    unsigned char *big = pg_arena_alloc(b, 1 << 20);
    CHECK(big != NULL);
    if (big) big[(1 << 20) - 1] = 1;
    pg_arena_free(b);
    CHECK(pg_arena_live_bytes() == live0);
}

static void test_limit(void)
{
    /* room for one block only: of two freed arenas, the first one's block is kept */
    pg_arena_set_cache_limit(0); /* empties the cache */
    pg_arena_set_cache_limit((size_t)100 << 10);
    pg_arena *a, *b, *c;
    unsigned char *pa = first_small(&a), *pb = first_small(&b);
    CHECK(pa && pb && pa != pb);
    pg_arena_free(a);
    pg_arena_free(b);
    unsigned char *pc = first_small(&c);
    CHECK_MSG(pc == pa, "the cached block is not the first arena's");
    /* many arenas at once: what does not fit is freed (ASan/LSan see no leak) */
    enum { N = 200 };
    pg_arena *as[N];
    for (int i = 0; i < N; i++) {
        as[i] = pg_arena_new(0);
        CHECK(as[i] && pg_arena_alloc(as[i], 1000));
    }
    for (int i = 0; i < N; i++)
        pg_arena_free(as[i]);
    pg_arena_free(c);
    pg_arena_set_cache_limit(PG_ARENA_CACHE_DEFAULT);
}

int main(void)
{
    test_reuse();
    test_limit();
    TEST_MAIN_END();
}
