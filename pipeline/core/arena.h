/* Arena: one owner for every allocation of a batch. Freeing the arena frees all. */
#ifndef PG_ARENA_H
#define PG_ARENA_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

typedef struct pg_arena pg_arena;

/* Returns a new arena (caller owns; free with pg_arena_free). `limit` caps the bytes the
 * arena may hold (0 = no cap); an allocation past the cap returns NULL. */
pg_arena *pg_arena_new(size_t limit);

/* Frees the arena and everything allocated from it. NULL is a no-op. */
void pg_arena_free(pg_arena *a);

/* Returns `n` bytes aligned to 8 (enough for every protobuf-c struct), owned by the arena;
 * NULL when over the cap. */
void *pg_arena_alloc(pg_arena *a, size_t n);

/* Like pg_arena_alloc, zero-filled. */
void *pg_arena_calloc(pg_arena *a, size_t count, size_t size);

/* Grows (or shrinks) an allocation made from this arena, keeping its first
 * min(old_n, new_n) bytes. Large blocks are resized in place by realloc; the newest small
 * allocation grows in place when room remains. Returns NULL when over the cap (the old
 * allocation stays valid). `p` may be NULL (then old_n must be 0). */
void *pg_arena_realloc(pg_arena *a, void *p, size_t old_n, size_t new_n);

/* Copies `n` bytes of `s` plus a NUL into the arena; returns the copy or NULL. */
char *pg_arena_strndup(pg_arena *a, const char *s, size_t n);

/* Copies `n` bytes into the arena; returns the copy or NULL (n == 0 returns a valid ptr). */
void *pg_arena_memdup(pg_arena *a, const void *p, size_t n);

/* Returns the status of the arena's newest failed allocation: PG_ELIMIT when it would
 * have gone past the arena's cap, PG_ENOMEM when malloc failed (also for NULL or an arena
 * that never failed). Callers return it when a pg_arena_* call returned NULL. */
int pg_arena_status(const pg_arena *a);

/* Bytes the arena may still take before its cap; SIZE_MAX when it has none. */
size_t pg_arena_room(const pg_arena *a);

/* Moves every block of src into dst and frees src: what was allocated from src lives on
 * until dst is freed (two threads can fill an arena each, then join them). dst's cap
 * counts src's blocks from then on: over it, the status is PG_ELIMIT (the blocks are moved
 * all the same); src's failure status, if any, becomes dst's; else 0. NULL src is a no-op. */
int pg_arena_absorb(pg_arena *dst, pg_arena *src);

/* Bytes currently held by the arena (blocks, not the sum of requests). */
size_t pg_arena_bytes(const pg_arena *a);

/* Bytes held by every live arena of the process: what batches hold, wherever they are
 * (receivers, processors, queues). Thread-safe. */
size_t pg_arena_live_bytes(void);

/* Freed arenas keep up to this many bytes of their small blocks for the next arenas of the
 * process (pg_arena_set_cache_limit changes it; 0 turns the cache off). */
#define PG_ARENA_CACHE_DEFAULT ((size_t)4 << 20)
void pg_arena_set_cache_limit(size_t bytes);

/* Bytes the cache holds now: free memory kept for reuse, which a memory measurement should
 * not count as in use. Thread-safe. */
size_t pg_arena_cached_bytes(void);

/* A protobuf-c allocator that allocates from `a` and never frees (the arena does). */
ProtobufCAllocator pg_arena_protobuf_allocator(pg_arena *a);

#endif
