/* Process metrics read from /proc at scrape time (the names the Prometheus client
 * libraries use): resident and virtual memory, CPU seconds, start time, open and max fds. */
#include "pipeline/telemetry/metrics.h"
#include "pipeline/core/arena.h"
#include "pipeline/core/utf8.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PG_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(PG_ASAN)
#define PG_ASAN 1
#endif
#ifndef PG_ASAN
#define PG_ASAN 0
#endif
#if PG_ASAN
/* From the sanitizer runtime (sanitizer/allocator_interface.h, which gcc does not ship). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif
#include "pipeline/core/err.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Reads up to cap-1 bytes of a small /proc file into buf (NUL-terminated). Returns the
 * length, or PG_EIO. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return PG_EIO;
    size_t len = 0;
    while (len + 1 < cap) {
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r <= 0) break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = 0;
    return (ssize_t)len;
}

/* RSS in bytes from /proc/self/statm (second field, in pages); 0 when unknown. */
uint64_t pg_process_rss_bytes(void)
{
    char buf[128];
    if (read_small("/proc/self/statm", buf, sizeof buf) <= 0) return 0;
    unsigned long long size, resident;
    if (sscanf(buf, "%llu %llu", &size, &resident) != 2) return 0;
    long page = sysconf(_SC_PAGESIZE);
    return (uint64_t)resident * (uint64_t)(page > 0 ? page : 4096);
}

/* Fields of /proc/self/stat counted from 1 as in proc(5): 14 utime, 15 stime (ticks),
 * 22 starttime (ticks after boot), 23 vsize (bytes). Returns 0, PG_EIO or PG_EINVAL. */
static int proc_stat(unsigned long long *utime, unsigned long long *stime,
                     unsigned long long *start, unsigned long long *vsize)
{
    char buf[1024];
    if (read_small("/proc/self/stat", buf, sizeof buf) <= 0) return PG_EIO;
    char *p = strrchr(buf, ')'); /* the command name may contain spaces and parentheses */
    if (!p) return PG_EINVAL;
    p++;
    unsigned long long v[24] = {0};
    for (int field = 3; field <= 23; field++) {
        while (*p == ' ')
            p++;
        if (!*p) return PG_EINVAL;
        char *end;
        v[field] = strtoull(p, &end, 10);
        if (end == p) { /* the state letter (field 3) */
            while (*p && *p != ' ')
                p++;
        } else {
            p = end;
        }
    }
    *utime = v[14];
    *stime = v[15];
    *start = v[22];
    *vsize = v[23];
    return 0;
}

static double ticks_per_second(void)
{
    long t = sysconf(_SC_CLK_TCK);
    return t > 0 ? (double)t : 100.0;
}

/* malloc's own figure of the bytes it has handed out and not had back (small chunks plus
 * mmapped ones): unlike RSS it falls as soon as memory is freed. Under AddressSanitizer,
 * whose allocator replaces malloc, the sanitizer's own figure. 0 when unknown. */
uint64_t pg_process_heap_in_use_bytes(void)
{
#if PG_ASAN
    return (uint64_t)__sanitizer_get_current_allocated_bytes(); /* the sanitizer's heap */
#elif defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    return (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
#else
    return 0;
#endif
}

static double heap_fn(void *ctx)
{
    (void)ctx;
    return (double)pg_process_heap_in_use_bytes();
}

static double arena_fn(void *ctx)
{
    (void)ctx;
    return (double)pg_arena_live_bytes();
}

static double repaired_fn(void *ctx)
{
    (void)ctx;
    return (double)pg_utf8_repairs();
}

static double rss_fn(void *ctx)
{
    (void)ctx;
    return (double)pg_process_rss_bytes();
}

static double vsize_fn(void *ctx)
{
    unsigned long long u, s, st, vs;
    (void)ctx;
    return proc_stat(&u, &s, &st, &vs) == 0 ? (double)vs : 0;
}

static double cpu_fn(void *ctx)
{
    unsigned long long u, s, st, vs;
    (void)ctx;
    return proc_stat(&u, &s, &st, &vs) == 0 ? (double)(u + s) / ticks_per_second() : 0;
}

/* Boot time (/proc/stat btime) + starttime ticks; computed once, it does not change. */
static double start_fn(void *ctx)
{
    static _Atomic double cached;
    (void)ctx;
    double c = cached;
    if (c > 0) return c;
    char buf[8192];
    unsigned long long u, s, st, vs;
    if (read_small("/proc/stat", buf, sizeof buf) <= 0 || proc_stat(&u, &s, &st, &vs) != 0)
        return 0;
    const char *b = strstr(buf, "\nbtime ");
    if (!b) return 0;
    c = (double)strtoull(b + 7, NULL, 10) + (double)st / ticks_per_second();
    cached = c;
    return c;
}

static double open_fds_fn(void *ctx)
{
    (void)ctx;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return 0;
    double n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the directory stream's own fd */
}

static double max_fds_fn(void *ctx)
{
    struct rlimit rl;
    (void)ctx;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
    return rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur;
}

/* Registers the process series (callbacks with no context: nothing to forget); every one
 * is tried. Returns 0 or the status of the first registration that failed. */
int pg_metrics_add_process(pg_metrics *m)
{
    static const struct {
        bool counter;
        const char *name, *help;
        double (*fn)(void *ctx);
    } series[] = {
        {false, "process_resident_memory_bytes", "Resident memory size in bytes.", rss_fn},
        {false, "process_virtual_memory_bytes", "Virtual memory size in bytes.", vsize_fn},
        {true, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
         cpu_fn},
        {false, "process_start_time_seconds",
         "Start time of the process since unix epoch in seconds.", start_fn},
        {false, "process_open_fds", "Number of open file descriptors.", open_fds_fn},
        {false, "process_max_fds", "Maximum number of open file descriptors.", max_fds_fn},
        {false, "profgate_process_heap_in_use_bytes",
         "Bytes the allocator has handed out and not had back.", heap_fn},
        {false, "profgate_batch_bytes",
         "Bytes held by live batches (their arenas), wherever they are.", arena_fn},
        {true, "profgate_strings_repaired_total",
         "Strings that were not valid UTF-8 when they entered a batch; each invalid byte became "
         "U+FFFD.",
         repaired_fn},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof series / sizeof series[0]; i++) {
        int (*add)(pg_metrics *, const char *, const char *, const char *, double (*)(void *),
                   void *) = series[i].counter ? pg_metrics_counter_fn : pg_metrics_gauge_fn;
        int r = add(m, series[i].name, series[i].help, NULL, series[i].fn, NULL);
        if (r && !rc) rc = r;
    }
    return rc;
}
