/* Joining arenas (pg_arena_absorb) and the room under a cap (pg_arena_room): what was
 * allocated from the absorbed arena, small and big, stays readable and writable until the
 * joined arena is freed (ASan and LeakSanitizer watch both), the held bytes add up, live
 * bytes do not move, the joined arena's cap counts the absorbed blocks (PG_ELIMIT over it),
 * and the absorbed arena's failure status carries over. */
#include "pipeline/core/arena.h"
#include "pipeline/core/err.h"

#include <stdint.h>
#include <string.h>

#include "testlib.h"

static void test_room(void)
{
    pg_arena *a = pg_arena_new(0);
    CHECK(pg_arena_room(a) == SIZE_MAX);
    pg_arena_free(a);
    a = pg_arena_new(1 << 20);
    CHECK(pg_arena_room(a) == 1 << 20);
    CHECK(pg_arena_alloc(a, 100 << 10) != NULL); /* a big block of its own */
    size_t room = pg_arena_room(a);
    CHECK(room == (1u << 20) - pg_arena_bytes(a) && room < (1u << 20) - (100u << 10) + 1);
    CHECK(pg_arena_alloc(a, 2 << 20) == NULL && pg_arena_room(a) == room);
    pg_arena_free(a);
}

static void test_join(void)
{
    size_t live0 = pg_arena_live_bytes();
    pg_arena *dst = pg_arena_new(0), *src = pg_arena_new(0);
    unsigned char *d_small = pg_arena_alloc(dst, 100), *s_small = pg_arena_alloc(src, 200);
    unsigned char *s_big = pg_arena_alloc(src, 300 << 10);
    CHECK(d_small && s_small && s_big);
    memset(s_small, 0x5a, 200);
    memset(s_big, 0xa5, 300 << 10);
    size_t held = pg_arena_bytes(dst) + pg_arena_bytes(src), live = pg_arena_live_bytes();
    CHECK(live - live0 == held);
    CHECK(pg_arena_absorb(dst, src) == 0); /* src is gone */
    CHECK(pg_arena_bytes(dst) == held && pg_arena_live_bytes() == live);
    CHECK(s_small[0] == 0x5a && s_small[199] == 0x5a && s_big[(300 << 10) - 1] == 0xa5);
    /* dst allocates on from its own small block, and can grow the absorbed big block */
    unsigned char *more = pg_arena_alloc(dst, 100);
    CHECK(more == d_small + 104);
    unsigned char *grown = pg_arena_realloc(dst, s_big, 300 << 10, 600 << 10);
    CHECK(grown && grown[0] == 0xa5 && grown[(300 << 10) - 1] == 0xa5);
    memset(grown + (300 << 10), 1, 300 << 10);
    CHECK(pg_arena_absorb(dst, NULL) == 0);
    CHECK(pg_arena_absorb(dst, pg_arena_new(0)) == 0); /* an empty one */
    pg_arena_free(dst);
    CHECK(pg_arena_live_bytes() == live0);
}

static void test_cap_and_status(void)
{
    /* the joined blocks go over dst's cap: moved all the same, PG_ELIMIT */
    pg_arena *dst = pg_arena_new(256 << 10), *src = pg_arena_new(0);
    CHECK(pg_arena_alloc(dst, 200 << 10) && pg_arena_alloc(src, 200 << 10));
    size_t held = pg_arena_bytes(dst) + pg_arena_bytes(src);
    CHECK(pg_arena_absorb(dst, src) == PG_ELIMIT);
    CHECK(pg_arena_status(dst) == PG_ELIMIT && pg_arena_bytes(dst) == held);
    CHECK(pg_arena_room(dst) == 0 && pg_arena_alloc(dst, 64) == NULL);
    pg_arena_free(dst);
    /* src had failed (over its own cap): dst takes its status */
    dst = pg_arena_new(0);
    src = pg_arena_new(64 << 10);
    CHECK(pg_arena_alloc(src, 128 << 10) == NULL);
    CHECK(pg_arena_absorb(dst, src) == PG_ELIMIT && pg_arena_status(dst) == PG_ELIMIT);
    pg_arena_free(dst);
}

int main(void)
{
    test_room();
    test_join();
    test_cap_and_status();
    TEST_MAIN_END();
}
