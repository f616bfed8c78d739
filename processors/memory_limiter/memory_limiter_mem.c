/* How much memory the process uses and may use, read from the allocator, /proc and the
 * cgroup files.
 *
 * What counts: the bytes the process actually holds, that is malloc's own in-use figure
 * (glibc mallinfo2: small chunks plus mmapped ones), which includes every batch's arena
 * (pg_arena_live_bytes, exported as profgate_batch_bytes) and what the libraries allocate.
 * RSS is not used while that figure is known: freed heap stays resident until malloc
 * returns it, so after a burst RSS stays high and a limiter reading it would refuse
 * everything for good (a livelock seen with large inputs). Arenas of large batches hand
 * free pages back to the kernel when freed (pipeline/core/arena.c) and the limiter trims
 * while over its limit, so RSS follows. Without an allocator figure (another libc, or a
 * sanitizer's allocator) the limiter falls back to RSS. */
#include "processors/memory_limiter/memory_limiter.h"
#include "pipeline/core/arena.h"
#include "pipeline/core/err.h"
#include "pipeline/telemetry/metrics.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

uint64_t pg_memory_limiter_memory_in_use(void)
{
    uint64_t heap = pg_process_heap_in_use_bytes();
    uint64_t used = heap ? heap : pg_process_rss_bytes();
    uint64_t cached = pg_arena_cached_bytes(); /* freed blocks kept for reuse: not in use */
    return used > cached ? used - cached : 0;
}

/* Reads a small file into buf (NUL-terminated); returns 0 or PG_EIO. */
static int read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return PG_EIO;
    ssize_t r = read(fd, buf, cap - 1);
    close(fd);
    if (r <= 0) return PG_EIO;
    buf[r] = 0;
    return 0;
}

/* A cgroup limit file: a byte count, or "max" (none). Returns 0 when absent or none.
 * v1 reports "no limit" as a huge page-aligned number: anything above 2^60 is none. */
static uint64_t cgroup_limit(const char *path)
{
    char buf[64];
    if (read_small(path, buf, sizeof buf) != 0 || strncmp(buf, "max", 3) == 0) return 0;
    char *end;
    unsigned long long v = strtoull(buf, &end, 10);
    if (end == buf || v >= (1ull << 60)) return 0;
    return (uint64_t)v;
}

/* The cgroup v2 limit of this process's own cgroup (from /proc/self/cgroup "0::/path"),
 * else of the root of the visible hierarchy (a container's cgroup namespace). */
static uint64_t cgroup2_limit(void)
{
    char buf[1024], path[1200];
    if (read_small("/proc/self/cgroup", buf, sizeof buf) == 0) {
        char *p = strstr(buf, "0::");
        if (p) {
            p += 3;
            char *nl = strchr(p, '\n');
            if (nl) *nl = 0;
            snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", strcmp(p, "/") ? p : "");
            uint64_t v = cgroup_limit(path);
            if (v) return v;
        }
    }
    return cgroup_limit("/sys/fs/cgroup/memory.max");
}

uint64_t pg_memory_limiter_total_memory(void)
{
    uint64_t total = 0;
    char buf[4096];
    if (read_small("/proc/meminfo", buf, sizeof buf) == 0) {
        const char *p = strstr(buf, "MemTotal:");
        if (p) total = (uint64_t)strtoull(p + 9, NULL, 10) * 1024u; /* kB */
    }
    uint64_t cg = cgroup2_limit();
    if (!cg) cg = cgroup_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    if (cg && (!total || cg < total)) total = cg;
    return total;
}
