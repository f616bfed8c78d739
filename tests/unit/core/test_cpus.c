/* CPUs a second thread may use (pipeline/core/cpus.c, cgroup_cpu.c): a control group's
 * CPU quota, v2 and v1, the smallest along the group's path, read from a file tree built
 * here; the quota caps pg_cpus_usable and so the two-thread paths; a helper running
 * holds its CPU until it returns, so concurrent work does not take more helpers than
 * there are CPUs for. */
#define _GNU_SOURCE
#include "pipeline/core/cgroup_cpu.h"
#include "pipeline/core/cpus.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testlib.h"

static char root[256];

/* Writes `text` to root/path, making its directories. */
static void put(const char *path, const char *text)
{
    char full[512];
    snprintf(full, sizeof full, "%s%s", root, path);
    for (char *p = full + strlen(root) + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        mkdir(full, 0755);
        *p = '/';
    }
    FILE *f = fopen(full, "w");
    CHECK_MSG(f != NULL, "cannot write %s", full);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* A fresh tree under a new temporary root, read from now on. */
static void fresh_root(void)
{
    snprintf(root, sizeof root, "/tmp/pg-cgroup-XXXXXX");
    CHECK(mkdtemp(root) != NULL);
    pg_cgroup_cpu_set_root(root);
}

/* Removes the tree (a test directory of a few files). */
static void drop_root(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    CHECK(system(cmd) == 0);
}

static void test_v2(void)
{
    fresh_root();
    put("/proc/self/cgroup", "0::/kubepods/pod1/c1\n");
    put("/sys/fs/cgroup/kubepods/pod1/c1/cpu.max", "max 100000\n");
    put("/sys/fs/cgroup/kubepods/pod1/cpu.max", "150000 100000\n");
    put("/sys/fs/cgroup/kubepods/cpu.max", "400000 100000\n");
    CHECK_MSG(pg_cgroup_cpu_limit() == 2, "1.5 CPUs at the pod, 4 above: %d",
              pg_cgroup_cpu_limit());
    /* read again only after a second or a new root */
    put("/sys/fs/cgroup/kubepods/pod1/c1/cpu.max", "50000 100000\n");
    CHECK(pg_cgroup_cpu_limit() == 2);
    pg_cgroup_cpu_set_root(root);
    CHECK_MSG(pg_cgroup_cpu_limit() == 1, "half a CPU in the group: %d", pg_cgroup_cpu_limit());
    drop_root();

    fresh_root(); /* no limit anywhere */
    put("/proc/self/cgroup", "0::/a\n");
    put("/sys/fs/cgroup/a/cpu.max", "max 100000\n");
    put("/sys/fs/cgroup/cpu.max", "max\n");
    CHECK(pg_cgroup_cpu_limit() == 0);
    drop_root();

    fresh_root(); /* the group is not under the mount: the mount is the container's group */
    put("/proc/self/cgroup", "0::/docker/abc\n");
    put("/sys/fs/cgroup/cpu.max", "200000 100000\n");
    CHECK_MSG(pg_cgroup_cpu_limit() == 2, "own group at the mount: %d", pg_cgroup_cpu_limit());
    drop_root();

    fresh_root(); /* nonsense and missing files read as no limit */
    put("/proc/self/cgroup", "0::/x\n");
    put("/sys/fs/cgroup/x/cpu.max", "lots\n");
    put("/sys/fs/cgroup/cpu.max", "100000 0\n");
    CHECK(pg_cgroup_cpu_limit() == 0);
    drop_root();
    fresh_root();
    CHECK(pg_cgroup_cpu_limit() == 0); /* no /proc/self/cgroup at all */
    drop_root();
}

static void test_v1(void)
{
    fresh_root(); /* the cpu controller's line wins over the unified one */
    put("/proc/self/cgroup", "5:memory:/m\n4:cpu,cpuacct:/docker/x\n0::/\n");
    put("/sys/fs/cgroup/cpu,cpuacct/docker/x/cpu.cfs_quota_us", "300000\n");
    put("/sys/fs/cgroup/cpu,cpuacct/docker/x/cpu.cfs_period_us", "100000\n");
    put("/sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_quota_us", "-1\n");
    put("/sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_period_us", "100000\n");
    put("/sys/fs/cgroup/cpu.max", "100000 100000\n"); /* v2's file: not read */
    CHECK_MSG(pg_cgroup_cpu_limit() == 3, "v1 quota of 3 CPUs: %d", pg_cgroup_cpu_limit());
    put("/sys/fs/cgroup/cpu,cpuacct/docker/cpu.cfs_quota_us", "120000\n");
    pg_cgroup_cpu_set_root(root);
    CHECK_MSG(pg_cgroup_cpu_limit() == 2, "parent's 1.2 CPUs: %d", pg_cgroup_cpu_limit());
    drop_root();

    fresh_root(); /* a controller of its own, "cpuacct" alone does not count */
    put("/proc/self/cgroup", "2:cpuacct:/\n1:cpu:/\n0::/\n");
    put("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1\n");
    put("/sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n");
    CHECK(pg_cgroup_cpu_limit() == 0);
    put("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "100000\n");
    pg_cgroup_cpu_set_root(root);
    CHECK(pg_cgroup_cpu_limit() == 1);
    drop_root();
}

/* With a quota of one CPU the process gets no second thread, whatever its affinity. */
static void test_quota_caps_threads(void)
{
    fresh_root();
    put("/proc/self/cgroup", "0::/\n");
    put("/sys/fs/cgroup/cpu.max", "100000 100000\n");
    CHECK(pg_cpus_usable() == 1);
    pg_two_threads g = {1, 1, 0};
    CHECK(!pg_two_threads_worth(&g, 10));
    g.force = 1;
    CHECK(pg_two_threads_worth(&g, 10)); /* tests may still force it */
    drop_root();
    pg_cgroup_cpu_set_root(NULL);
}

static atomic_int release_helper;

/* A helper that runs until released. */
static void *hold(void *arg)
{
    (void)arg;
    while (!atomic_load(&release_helper))
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    return NULL;
}

/* A running helper holds a CPU: on two CPUs, a second piece of work gets no helper while
 * the first's runs, and gets one again once it returned. */
static void test_helpers_hold_cpus(void)
{
    pg_cgroup_cpu_set_root(NULL);
    int usable = pg_cpus_usable();
    pg_two_threads g = {1, 1, 0};
    CHECK(pg_cpus_helpers_live() == 0);
    CHECK(pg_two_threads_worth(&g, 10) == (usable >= 2));
    pthread_t t;
    CHECK(pg_thread_create_apart(&t, "pg-test-hold", hold, NULL) == 0);
    CHECK(pg_cpus_helpers_live() == 1);
    CHECK_MSG(pg_two_threads_worth(&g, 10) == (usable >= 3), "%d CPUs, one helper running", usable);
    atomic_store(&release_helper, 1);
    pthread_join(t, NULL);
    CHECK(pg_cpus_helpers_live() == 0);
    CHECK(pg_two_threads_worth(&g, 10) == (usable >= 2));
}

int main(void)
{
    test_v2();
    test_v1();
    test_quota_caps_threads();
    test_helpers_hold_cpus();
    TEST_MAIN_END();
}
