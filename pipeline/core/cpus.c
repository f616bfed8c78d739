/* CPU count, the policy of the two-thread paths (gzip_member.c, the pprof sample reader,
 * the OTLP decoder and encoder) and the start of their helper threads. */
#define _GNU_SOURCE /* sched_getaffinity, sched_getcpu, CPU_*, pthread_attr_setaffinity_np */
#include "pipeline/core/cpus.h"
#include "pipeline/core/cgroup_cpu.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

/* Helper threads started by pg_thread_create_apart that have not returned yet. */
static atomic_int live_helpers;

/* Asks the kernel for the affinity each time: it can change (taskset, cpusets), and the
 * callers only ask for work large enough that a system call does not matter. A control
 * group's CPU quota (a container's CPU limit) caps it: a process limited to one CPU's time
 * on a large machine gains nothing from a second thread, and its spinning costs quota. */
int pg_cpus_usable(void)
{
    cpu_set_t set;
    int n;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        n = CPU_COUNT(&set);
    } else {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        n = online > 0 ? (int)online : 1;
    }
    int quota = pg_cgroup_cpu_limit();
    return quota && quota < n ? quota : n;
}

/* See cpus.h. */
int pg_cpus_helpers_live(void)
{
    return atomic_load(&live_helpers);
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
    return n >= g->min && (g->force || pg_cpus_usable() >= 2 + atomic_load(&live_helpers));
}

/* The calling thread's CPU set without the CPU it is on now; 0 when there is nothing to
 * leave out (one CPU, or the current one is not known). */
static int set_apart(cpu_set_t *set)
{
#if defined(__linux__) && defined(CPU_ISSET)
    int cpu = sched_getcpu();
    if (cpu < 0 || sched_getaffinity(0, sizeof *set, set) || !CPU_ISSET(cpu, set) ||
        CPU_COUNT(set) < 2)
        return 0;
    CPU_CLR(cpu, set);
    return 1;
#else
    (void)set;
    return 0;
#endif
}

/* Sets up attributes with the calling thread's CPU left out of the process's set; 0 when
 * there is nothing to leave out (then no attributes). */
static int attr_apart(pthread_attr_t *attr)
{
#if defined(__linux__) && defined(CPU_ISSET)
    cpu_set_t set;
    if (!set_apart(&set)) return 0;
    if (pthread_attr_init(attr)) return 0;
    if (pthread_attr_setaffinity_np(attr, sizeof set, &set)) {
        pthread_attr_destroy(attr);
        return 0;
    }
    return 1;
#else
    (void)attr;
    return 0;
#endif
}

/* See cpus.h. */
void pg_thread_move_apart(pthread_t t)
{
#if defined(__linux__) && defined(CPU_ISSET)
    cpu_set_t set;
    if (set_apart(&set)) (void)pthread_setaffinity_np(t, sizeof set, &set);
#else
    (void)t;
#endif
}

/* See cpus.h. */
void pg_cpus_helper_parked(void)
{
    atomic_fetch_sub(&live_helpers, 1);
}

/* See cpus.h. */
void pg_cpus_helper_unparked(void)
{
    atomic_fetch_add(&live_helpers, 1);
}

/* What a helper runs: the caller's function, counted in live_helpers while it runs. */
typedef struct helper_start {
    void *(*fn)(void *);
    void *arg;
} helper_start;

/* The helper's body: frees its start record, runs the function, leaves the count. */
static void *helper_body(void *p)
{
    helper_start hs = *(helper_start *)p;
    free(p);
    void *r = hs.fn(hs.arg);
    atomic_fetch_sub(&live_helpers, 1);
    return r;
}

/* See cpus.h; the thread is the caller's to join. */
int pg_thread_create_apart(pthread_t *t, const char *name, void *(*fn)(void *), void *arg)
{
    helper_start *hs = malloc(sizeof *hs);
    if (!hs) return ENOMEM; /* as pthread_create reports it */
    hs->fn = fn;
    hs->arg = arg;
    pthread_attr_t attr;
    int apart = attr_apart(&attr);
    atomic_fetch_add(&live_helpers, 1);
    int rc = pthread_create(t, apart ? &attr : NULL, helper_body, hs);
    if (apart) pthread_attr_destroy(&attr);
    if (rc) {
        atomic_fetch_sub(&live_helpers, 1);
        free(hs);
        return rc;
    }
    (void)pthread_setname_np(*t, name); /* a name too long is left out */
    return 0;
}
