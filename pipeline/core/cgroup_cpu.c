/* A container's CPU limit from its control group (cgroup_cpu.h). */
#define _GNU_SOURCE /* strtok_r in older libcs' strict modes */
#include "pipeline/core/cgroup_cpu.h"
#include "pipeline/core/err.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define RECHECK_NS 1000000000LL

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char root[256];                /* "" = the real file system; under mu */
static atomic_int cached;             /* the last limit read */
static _Atomic int64_t checked_at_ns; /* when it was read; 0 = never */

/* Monotonic nanoseconds. */
static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Reads the start of file root + path into buf (NUL-terminated); 0 or PG_ENOTFOUND. */
static int read_small(const char *path, char *buf, size_t cap)
{
    char full[PATH_MAX + 512];
    snprintf(full, sizeof full, "%s%s", root, path);
    FILE *f = fopen(full, "re");
    if (!f) return PG_ENOTFOUND;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = 0;
    return 0;
}

/* Whether directory root + path exists. */
static int dir_exists(const char *path)
{
    char full[PATH_MAX + 512];
    snprintf(full, sizeof full, "%s%s", root, path);
    struct stat st;
    return stat(full, &st) == 0 && S_ISDIR(st.st_mode);
}

/* CPUs (rounded up) of a quota per period; 0 for none or nonsense. */
static int cpus_of(long long quota, long long period)
{
    if (quota <= 0 || period <= 0) return 0;
    long long n = (quota + period - 1) / period;
    return n > INT_MAX ? INT_MAX : (int)n;
}

/* cgroup v2: cpu.max is "max PERIOD" or "QUOTA PERIOD". */
static int limit_v2(const char *dir)
{
    char path[PATH_MAX + 32], buf[64];
    snprintf(path, sizeof path, "%s/cpu.max", dir);
    long long quota, period;
    if (read_small(path, buf, sizeof buf) || strncmp(buf, "max", 3) == 0 ||
        sscanf(buf, "%lld %lld", &quota, &period) != 2)
        return 0;
    return cpus_of(quota, period);
}

/* cgroup v1: cpu.cfs_quota_us (-1 = none) over cpu.cfs_period_us. */
static int limit_v1(const char *dir)
{
    char path[PATH_MAX + 32], buf[64];
    long long quota, period;
    snprintf(path, sizeof path, "%s/cpu.cfs_quota_us", dir);
    if (read_small(path, buf, sizeof buf) || sscanf(buf, "%lld", &quota) != 1) return 0;
    snprintf(path, sizeof path, "%s/cpu.cfs_period_us", dir);
    if (read_small(path, buf, sizeof buf) || sscanf(buf, "%lld", &period) != 1) return 0;
    return cpus_of(quota, period);
}

/* The smallest limit from group `group` (a path in the hierarchy mounted at `mount`) up to
 * the mount's root. A group that is not there under the mount is the mount's root itself
 * (a container without its own cgroup namespace sees its group mounted as the root). */
static int walk_up(const char *mount, const char *group, int (*limit)(const char *))
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s%s", mount, strcmp(group, "/") ? group : "");
    if (!dir_exists(dir)) snprintf(dir, sizeof dir, "%s", mount);
    size_t base = strlen(mount);
    int best = 0;
    for (;;) {
        int n = limit(dir);
        if (n && (!best || n < best)) best = n;
        char *slash = strrchr(dir, '/');
        if (strlen(dir) <= base || !slash || (size_t)(slash - dir) < base) break;
        *slash = 0;
    }
    return best;
}

/* Whether the comma-separated controller list names "cpu". */
static int names_cpu(const char *list)
{
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == 3 && strncmp(p, "cpu", 3) == 0) return 1;
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

/* Reads the limit now (under mu): the v1 cpu controller's group when there is one, else
 * the v2 group. */
static int read_limit(void)
{
    char lines[8192], v1[PATH_MAX] = "", v2[PATH_MAX] = "";
    int has_v1 = 0, has_v2 = 0;
    if (read_small("/proc/self/cgroup", lines, sizeof lines)) return 0;
    char *save = NULL;
    for (char *line = strtok_r(lines, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2) continue;
        *c2 = 0;
        if (strncmp(line, "0:", 2) == 0 && c1[1] == 0) {
            snprintf(v2, sizeof v2, "%s", c2 + 1);
            has_v2 = 1;
        } else if (names_cpu(c1 + 1)) {
            snprintf(v1, sizeof v1, "%s", c2 + 1);
            has_v1 = 1;
        }
    }
    if (has_v1) {
        static const char *const mounts[] = {"/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/cpu",
                                             "/sys/fs/cgroup/cpuacct,cpu"};
        for (size_t i = 0; i < sizeof mounts / sizeof *mounts; i++)
            if (dir_exists(mounts[i])) return walk_up(mounts[i], v1, limit_v1);
        return 0;
    }
    return has_v2 ? walk_up("/sys/fs/cgroup", v2, limit_v2) : 0;
}

/* See cgroup_cpu.h. */
int pg_cgroup_cpu_limit(void)
{
    int64_t now = now_ns(), at = atomic_load(&checked_at_ns);
    if (at && now - at < RECHECK_NS) return atomic_load(&cached);
    pthread_mutex_lock(&mu);
    at = atomic_load(&checked_at_ns);
    if (!at || now - at >= RECHECK_NS) {
        atomic_store(&cached, read_limit());
        atomic_store(&checked_at_ns, now ? now : 1);
    }
    pthread_mutex_unlock(&mu);
    return atomic_load(&cached);
}

/* See cgroup_cpu.h. */
void pg_cgroup_cpu_set_root(const char *r)
{
    pthread_mutex_lock(&mu);
    snprintf(root, sizeof root, "%s", r ? r : "");
    atomic_store(&checked_at_ns, 0);
    pthread_mutex_unlock(&mu);
}
