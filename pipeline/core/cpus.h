/* How many CPUs the process may run on: whether work is worth a second thread. */
#ifndef PG_CPUS_H
#define PG_CPUS_H

/* CPUs in the process's affinity mask (the online count where that cannot be read; 1 when
 * neither can), at most the CPUs' worth of time its control group's quota allows. */
int pg_cpus_usable(void);

/* Helper threads of pg_thread_create_apart running now, in the whole process. */
int pg_cpus_helpers_live(void);

#include <pthread.h>
#include <stddef.h>

/* When work is worth a second thread: at least `min` units of it (`deflt` when set to 0),
 * and, unless `force` (tests force it on one CPU), a usable CPU for it that no other
 * helper of the process holds: with several conversions at once (a gateway's workers),
 * the first take helpers and the rest run on one thread, rather than every conversion
 * spinning against the others on too few CPUs. */
typedef struct pg_two_threads {
    size_t min, deflt;
    int force;
} pg_two_threads;

/* Sets the threshold (0 = the default) and the force flag: the components' test hooks. */
void pg_two_threads_set(pg_two_threads *g, size_t min, int force);
/* Whether n units are worth the second thread. */
int pg_two_threads_worth(const pg_two_threads *g, size_t n);

/* pthread_create for a helper thread, started off the CPU the calling thread is on now
 * when the process may use another one: a helper woken from a sleep is often put on its
 * waker's CPU, and the two threads then take turns on one CPU while the other idles (on a
 * 2-CPU VM, most runs of a 1 MB profile's two-thread sample loop did so, 13 ms instead of
 * 5.5). The caller, not pinned, is moved off a busy CPU by the scheduler as usual. The
 * thread is named `name` (at most 15 bytes; `top -H` and profilers show it) and counted in
 * pg_cpus_helpers_live until fn returns. Returns pthread_create's result (ENOMEM when out
 * of memory). */
int pg_thread_create_apart(pthread_t *t, const char *name, void *(*fn)(void *), void *arg);

/* Moves helper thread t off the CPU the calling thread is on now, as
 * pg_thread_create_apart starts one: for a helper kept between uses (duo.c), whose
 * caller may be on another CPU than the one that started it. */
void pg_thread_move_apart(pthread_t t);

/* A helper of pg_thread_create_apart kept idle between uses (duo.c) holds no CPU: parked,
 * it leaves pg_cpus_helpers_live's count; unparked, it counts again. */
void pg_cpus_helper_parked(void);
void pg_cpus_helper_unparked(void);

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
