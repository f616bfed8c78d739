/* How many CPUs the process may run on: whether work is worth a second thread. */
#ifndef PG_CPUS_H
#define PG_CPUS_H

/* CPUs in the process's affinity mask (the online count where that cannot be read; 1 when
 * neither can). */
int pg_cpus_usable(void);

#include <stddef.h>

/* When work is worth a second thread: at least `min` units of it (`deflt` when set to 0),
 * and two CPUs to run on unless `force` (tests force it on one CPU). */
typedef struct pg_two_threads {
    size_t min, deflt;
    int force;
} pg_two_threads;

/* Sets the threshold (0 = the default) and the force flag: the components' test hooks. */
void pg_two_threads_set(pg_two_threads *g, size_t min, int force);
/* Whether n units are worth the second thread. */
int pg_two_threads_worth(const pg_two_threads *g, size_t n);

/* One pause of a spin-wait loop (tells the CPU the thread is waiting). */
static inline void pg_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

#endif
