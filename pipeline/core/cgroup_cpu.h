/* The CPU time a control group lets the process use (a container's CPU limit), read from
 * cgroup v2's cpu.max or v1's cpu.cfs_quota_us / cpu.cfs_period_us. */
#ifndef PG_CGROUP_CPU_H
#define PG_CGROUP_CPU_H

/* CPUs' worth of time the process's control group and its ancestors allow, rounded up
 * (a quota of 1.5 CPUs is 2), the smallest along the path; 0 when none sets a limit or
 * none can be read. Read again at most once a second. */
int pg_cgroup_cpu_limit(void);

/* Test hook: reads /proc/self/cgroup and /sys/fs/cgroup under `root` instead of `/`
 * (NULL = the real ones) and forgets the cached limit. The string is copied (255 bytes
 * at most). */
void pg_cgroup_cpu_set_root(const char *root);

#endif
