/* CPU count, the policy of the two-thread paths (gzip_member.c, the pprof sample reader,
 * the OTLP decoder and encoder) and the start of their helper threads. */
#define _GNU_SOURCE /* sched_getaffinity, sched_getcpu, CPU_*, pthread_attr_setaffinity_np */
#include "pipeline/core/cpus.h"

#include <pthread.h>
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

/* Sets up attributes with the calling thread's CPU left out of the process's set; 0 when
 * there is nothing to leave out (then no attributes). */
static int attr_apart(pthread_attr_t *attr)
{
#if defined(__linux__) && defined(CPU_ISSET)
    cpu_set_t set;
    int cpu = sched_getcpu();
    if (cpu < 0 || sched_getaffinity(0, sizeof set, &set) || !CPU_ISSET(cpu, &set) ||
        CPU_COUNT(&set) < 2)
        return 0;
    CPU_CLR(cpu, &set);
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

/* See cpus.h; the thread is the caller's to join. */
int pg_thread_create_apart(pthread_t *t, const char *name, void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    int apart = attr_apart(&attr);
    int rc = pthread_create(t, apart ? &attr : NULL, fn, arg);
    if (apart) pthread_attr_destroy(&attr);
    if (!rc) (void)pthread_setname_np(*t, name); /* a name too long is left out */
    return rc;
}
