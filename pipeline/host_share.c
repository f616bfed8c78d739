/* The host's shared objects (see host.h: pg_host_share): a short list of refcounted
 * entries by key under one mutex. Lives beside host.c, which owns the list's head. */
#include "pipeline/host.h"
#include "pipeline/host_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct pg_host_shared {
    struct pg_host_shared *next;
    char *key;
    void *obj;
    void (*drop)(void *obj);
    size_t refs;
};

static pthread_mutex_t share_mu = PTHREAD_MUTEX_INITIALIZER;

/* The entry under key in the host's list, or NULL; the caller holds share_mu. */
static pg_host_shared *find(pg_host *h, const char *key)
{
    for (pg_host_shared *e = *pg_host_shared_list(h); e; e = e->next)
        if (!strcmp(e->key, key)) return e;
    return NULL;
}

/* See host.h. make runs under the lock (it must not call back into the host's sharing). */
void *pg_host_share(pg_host *h, const char *key, void *(*make)(void *arg), void *arg,
                    void (*drop)(void *obj))
{
    pthread_mutex_lock(&share_mu);
    pg_host_shared *e = find(h, key);
    if (!e && (e = calloc(1, sizeof *e)) != NULL) {
        e->key = strdup(key);
        e->obj = e->key ? make(arg) : NULL;
        if (!e->obj) {
            free(e->key);
            free(e);
            e = NULL;
        } else {
            e->drop = drop;
            e->next = *pg_host_shared_list(h);
            *pg_host_shared_list(h) = e;
        }
    }
    void *obj = e ? e->obj : NULL;
    if (e) e->refs++;
    pthread_mutex_unlock(&share_mu);
    return obj;
}

/* See host.h. */
void pg_host_unshare(pg_host *h, const char *key)
{
    pthread_mutex_lock(&share_mu);
    pg_host_shared **at = pg_host_shared_list(h);
    while (*at && strcmp((*at)->key, key))
        at = &(*at)->next;
    pg_host_shared *e = *at;
    if (e && --e->refs == 0)
        *at = e->next;
    else
        e = NULL;
    pthread_mutex_unlock(&share_mu);
    if (!e) return;
    if (e->drop) e->drop(e->obj);
    free(e->key);
    free(e);
}

/* See host_int.h: drops whatever is left (a component that never unshared). */
void pg_host_shared_free_all(pg_host *h)
{
    pthread_mutex_lock(&share_mu);
    pg_host_shared *e = *pg_host_shared_list(h);
    *pg_host_shared_list(h) = NULL;
    pthread_mutex_unlock(&share_mu);
    while (e) {
        pg_host_shared *next = e->next;
        if (e->drop) e->drop(e->obj);
        free(e->key);
        free(e);
        e = next;
    }
}
