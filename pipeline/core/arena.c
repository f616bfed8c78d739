#include "pipeline/core/arena.h"
#include "pipeline/core/pages.h"

#include <pthread.h>
#include <stdatomic.h>
#include "pipeline/core/err.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#define PG_ARENA_ALIGN 8u
#define PG_ARENA_BLOCK (64u * 1024u)
#define PG_ARENA_BIG (16u * 1024u) /* allocations at least this big get their own block */
/* Freeing an arena at least this big hands free heap pages back to the kernel, so that a
 * burst of large batches does not leave the process's resident size high for good. */
#define PG_ARENA_TRIM_AFTER ((size_t)32 << 20)

/* Bytes held by every live arena of the process (updated per block, not per allocation). */
static _Atomic size_t live_bytes;

#if defined(__SANITIZE_ADDRESS__)
#define PG_ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PG_ARENA_ASAN 1
#endif
#endif
#ifdef PG_ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* A block of small allocations, or one big allocation (then used == size). */
typedef struct block {
    struct block *next, *prev;
    size_t size; /* payload bytes */
    size_t used;
    int big;
    int pad_;
    /* payload follows, aligned */
} block;

#define BLOCK_HDR ((sizeof(block) + PG_ARENA_ALIGN - 1) & ~(size_t)(PG_ARENA_ALIGN - 1))

struct pg_arena {
    block *head;  /* every block, newest first */
    block *small; /* block small allocations come from */
    void *last;   /* newest small allocation, for in-place growth */
    size_t held;  /* bytes held in blocks */
    size_t limit; /* 0 = no cap */
    int fail;     /* status of the newest failed allocation (PG_ELIMIT or PG_ENOMEM) */
};

static inline size_t align_up(size_t n)
{
    return (n + PG_ARENA_ALIGN - 1) & ~(size_t)(PG_ARENA_ALIGN - 1);
}

static inline unsigned char *payload(block *b)
{
    return (unsigned char *)b + BLOCK_HDR;
}

/* Records why an allocation failed (over the cap: PG_ELIMIT, else PG_ENOMEM); returns NULL. */
static void *fail(pg_arena *a, int over_cap)
{
    a->fail = over_cap ? PG_ELIMIT : PG_ENOMEM;
    return NULL;
}

/* Process-wide cache of freed small blocks (PG_ARENA_BLOCK payload bytes each), reused by
 * the next arenas: a process converting one small batch after another (a gateway) neither
 * hands the same pages to the kernel and faults them in again each time (glibc trims the
 * heap's top as soon as it holds 128 KiB free) nor pays a malloc and a prefault per block.
 * At most cache_limit bytes stay cached; the rest is freed as before. */
static struct {
    pthread_mutex_t mu;
    block *head;
    size_t bytes, limit;
} cache = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, PG_ARENA_CACHE_DEFAULT};

/* Sets the cache's cap (0 = no cache) and frees what no longer fits. */
void pg_arena_set_cache_limit(size_t bytes)
{
    pthread_mutex_lock(&cache.mu);
    cache.limit = bytes;
    while (cache.head && cache.bytes > cache.limit) {
        block *b = cache.head;
        UNPOISON(payload(b), PG_ARENA_BLOCK);
        cache.head = b->next;
        cache.bytes -= BLOCK_HDR + b->size;
        free(b);
    }
    pthread_mutex_unlock(&cache.mu);
}

/* Reads the cache's size under its lock. */
size_t pg_arena_cached_bytes(void)
{
    pthread_mutex_lock(&cache.mu);
    size_t n = cache.bytes;
    pthread_mutex_unlock(&cache.mu);
    return n;
}

/* A cached small block, or NULL. */
static block *cache_take(void)
{
    if (!cache.limit) return NULL; /* racy read: at worst one more malloc */
    pthread_mutex_lock(&cache.mu);
    block *b = cache.head;
    if (b) {
        UNPOISON(payload(b), PG_ARENA_BLOCK);
        cache.head = b->next;
        cache.bytes -= BLOCK_HDR + b->size;
    }
    pthread_mutex_unlock(&cache.mu);
    return b;
}

/* Keeps small block b for reuse when the cache has room; else frees it. */
static void cache_put(block *b)
{
    if (b->big || b->size != PG_ARENA_BLOCK) {
        free(b);
        return;
    }
    pthread_mutex_lock(&cache.mu);
    if (cache.bytes + BLOCK_HDR + b->size <= cache.limit) {
        b->next = cache.head;
        cache.head = b;
        cache.bytes += BLOCK_HDR + b->size;
        POISON(payload(b), b->size);
        b = NULL;
    }
    pthread_mutex_unlock(&cache.mu);
    free(b);
}

/* Allocates and links a block of `size` payload bytes; the arena owns it. */
static block *block_new(pg_arena *a, size_t size, int big)
{
    if (size > SIZE_MAX - BLOCK_HDR) return fail(a, a->limit != 0);
    if (a->limit && (a->held + size > a->limit)) return fail(a, 1);
    block *b = !big && size == PG_ARENA_BLOCK ? cache_take() : NULL;
    if (!b) {
        if (!(b = malloc(BLOCK_HDR + size))) return fail(a, 0);
        if (!big) pg_pages_populate(b, BLOCK_HDR + size); /* filled front to back right away */
    }
    b->size = size;
    b->used = big ? size : 0;
    b->big = big;
    b->prev = NULL;
    b->next = a->head;
    if (a->head) a->head->prev = b;
    a->head = b;
    a->held += size;
    atomic_fetch_add_explicit(&live_bytes, size, memory_order_relaxed);
    return b;
}

/* Returns an empty arena owned by the caller. */
pg_arena *pg_arena_new(size_t limit)
{
    pg_arena *a = calloc(1, sizeof *a);
    if (a) a->limit = limit;
    return a;
}

/* Frees every block and the arena. */
void pg_arena_free(pg_arena *a)
{
    if (!a) return;
    for (block *b = a->head, *n; b; b = n) {
        n = b->next;
        cache_put(b);
    }
    atomic_fetch_sub_explicit(&live_bytes, a->held, memory_order_relaxed);
#ifdef __GLIBC__
    if (a->held >= PG_ARENA_TRIM_AFTER) malloc_trim(0);
#endif
    free(a);
}

/* The cap minus what is held. */
size_t pg_arena_room(const pg_arena *a)
{
    if (!a->limit) return SIZE_MAX;
    return a->limit > a->held ? a->limit - a->held : 0;
}

/* Splices src's block list in front of dst's; dst keeps its own small block. */
int pg_arena_absorb(pg_arena *dst, pg_arena *src)
{
    if (!src) return 0;
    block *tail = src->head;
    while (tail && tail->next)
        tail = tail->next;
    if (tail) {
        tail->next = dst->head;
        if (dst->head) dst->head->prev = tail;
        dst->head = src->head;
    }
    dst->held += src->held; /* live_bytes counted src's blocks already */
    int rc = 0;
    if (src->fail)
        rc = dst->fail = src->fail;
    else if (dst->limit && dst->held > dst->limit)
        rc = dst->fail = PG_ELIMIT;
    free(src);
    return rc;
}

/* Sum over live arenas. */
size_t pg_arena_live_bytes(void)
{
    return atomic_load_explicit(&live_bytes, memory_order_relaxed);
}

/* Returns arena-owned memory of n bytes. */
void *pg_arena_alloc(pg_arena *a, size_t n)
{
    if (n == 0) n = 1;
    if (n >= PG_ARENA_BIG) {
        if (n > SIZE_MAX - PG_ARENA_ALIGN) return fail(a, a->limit != 0);
        block *b = block_new(a, align_up(n), 1);
        return b ? payload(b) : NULL;
    }
    size_t need = align_up(n);
    block *s = a->small;
    if (!s || s->size - s->used < need) {
        size_t bs = PG_ARENA_BLOCK;
        if (a->limit && a->limit - a->held < bs) bs = a->limit > a->held ? a->limit - a->held : 0;
        if (bs < need) return fail(a, 1);
        s = block_new(a, bs, 0);
        if (!s) return NULL;
        a->small = s;
    }
    void *p = payload(s) + s->used;
    s->used += need;
    a->last = p;
    return p;
}

/* Returns zeroed arena-owned memory; NULL on overflow or over the cap. */
void *pg_arena_calloc(pg_arena *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) return fail(a, a->limit != 0);
    void *p = pg_arena_alloc(a, count * size);
    if (p) memset(p, 0, count * size);
    return p;
}

/* Resizes an arena allocation; the arena keeps owning it. */
void *pg_arena_realloc(pg_arena *a, void *p, size_t old_n, size_t new_n)
{
    if (!p) return pg_arena_alloc(a, new_n);
    if (new_n <= old_n) return p;
    if (old_n >= PG_ARENA_BIG) {
        /* p is the payload of its own big block: resize that block in place. */
        block *b = (block *)((unsigned char *)p - BLOCK_HDR);
        size_t sz = align_up(new_n);
        if (a->limit && a->held - b->size + sz > a->limit) return fail(a, 1);
        block *prev = b->prev, *next = b->next;
        size_t old_size = b->size;
        if (sz > SIZE_MAX - BLOCK_HDR) return fail(a, a->limit != 0);
        block *nb = realloc(b, BLOCK_HDR + sz);
        if (!nb) return fail(a, 0);
        nb->size = nb->used = sz;
        if (prev)
            prev->next = nb;
        else
            a->head = nb;
        if (next) next->prev = nb;
        a->held = a->held - old_size + sz;
        atomic_fetch_add_explicit(&live_bytes, sz, memory_order_relaxed);
        atomic_fetch_sub_explicit(&live_bytes, old_size, memory_order_relaxed);
        return payload(nb);
    }
    block *s = a->small;
    if (p == a->last && s && new_n < PG_ARENA_BIG) {
        size_t start = (size_t)((unsigned char *)p - payload(s));
        if (start + align_up(new_n) <= s->size) {
            s->used = start + align_up(new_n);
            return p;
        }
    }
    void *q = pg_arena_alloc(a, new_n);
    if (q) memcpy(q, p, old_n);
    return q;
}

/* Returns an arena-owned NUL-terminated copy of s[0..n). */
char *pg_arena_strndup(pg_arena *a, const char *s, size_t n)
{
    char *d = pg_arena_alloc(a, n + 1);
    if (!d) return NULL;
    if (n) memcpy(d, s, n);
    d[n] = 0;
    return d;
}

/* Returns an arena-owned copy of p[0..n). */
void *pg_arena_memdup(pg_arena *a, const void *p, size_t n)
{
    void *d = pg_arena_alloc(a, n);
    if (d && n) memcpy(d, p, n);
    return d;
}

/* Returns the bytes the arena holds. */
size_t pg_arena_bytes(const pg_arena *a)
{
    return a->held;
}

static void *pb_alloc(void *ctx, size_t n)
{
    return pg_arena_alloc(ctx, n);
}

static void pb_free(void *ctx, void *p)
{
    (void)ctx;
    (void)p;
}

/* Returns an allocator view of the arena; the arena must outlive its use. */
ProtobufCAllocator pg_arena_protobuf_allocator(pg_arena *a)
{
    ProtobufCAllocator al = {pb_alloc, pb_free, a};
    return al;
}

/* Reads the arena's record of its newest failure. */
int pg_arena_status(const pg_arena *a)
{
    return a && a->fail ? a->fail : PG_ENOMEM;
}
