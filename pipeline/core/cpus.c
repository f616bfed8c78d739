/* CPU count and the policy of the two-thread paths (gzip_member.c, the pprof sample
 * reader). */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "pipeline/core/cpus.h"

#include <sched.h>
#include <unistd.h>

/* Asks the kernel each time: affinity can change (taskset, cgroups), and the callers only
 * ask for work large enough that a system call does not matter. */
int pg_cpus_usable(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* See cpus.h; g is the caller's (a component's static policy). */
void pg_two_threads_set(pg_two_threads *g, size_t min, int force)
{
    g->min = min ? min : g->deflt;
    g->force = force;
}

/* See cpus.h. */
int pg_two_threads_worth(const pg_two_threads *g, size_t n)
{
    return n >= g->min && (g->force || pg_cpus_usable() >= 2);
}
