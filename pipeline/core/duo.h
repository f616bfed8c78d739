/* A second thread for fork-join work inside one call: the caller hands one job at a time
 * to the helper, does its own share, then waits for the helper's. Handovers spin briefly
 * before they sleep, since the next job or the end of one is usually microseconds away.
 * Used where one large output is cut into ranges that two threads write side by side. */
#ifndef PG_DUO_H
#define PG_DUO_H

typedef struct pg_duo pg_duo;
typedef void (*pg_duo_fn)(void *arg);

/* Starts the helper thread (malloc-owned; stop it with pg_duo_stop). NULL when no thread
 * can be started: the caller then does all the work itself. */
pg_duo *pg_duo_start(void);

/* Runs fn(arg) on the helper. The previous job must have been waited for; arg is borrowed
 * until pg_duo_wait returns. */
void pg_duo_run(pg_duo *d, pg_duo_fn fn, void *arg);

/* Waits until the job given last has finished (returns at once when none is running). */
void pg_duo_wait(pg_duo *d);

/* Waits for the running job and gives the helper up (NULL is a no-op): the process keeps
 * one idle helper for the next pg_duo_start, any other ends and is freed. */
void pg_duo_stop(pg_duo *d);

#endif
