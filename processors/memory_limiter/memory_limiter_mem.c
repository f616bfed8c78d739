/* How much memory the process uses and may use, read from /proc and the cgroup files.
 *
 * Why RSS: it is what the kernel charges and what the OOM killer and a container's memory
 * limit act on. malloc's own statistics (mallinfo2) miss memory that libraries map
 * themselves (gRPC, OpenSSL, libevent buffers) and hide fragmentation; virtual size counts
 * address space never touched. RSS is cheap (one small read of /proc/self/statm). Its
 * drawback, that freed heap stays resident until malloc returns it, is handled by the
 * limiter asking malloc to trim while it is over the limit. */
#include "processors/memory_limiter/memory_limiter.h"
#include "pipeline/core/err.h"
#include "pipeline/telemetry/metrics.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

uint64_t pg_memory_limiter_memory_in_use(void)
{
    return pg_process_rss_bytes();
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
