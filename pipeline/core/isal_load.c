/* The on-demand loader of isal_load.h. */
#include "pipeline/core/isal_load.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

#ifndef PG_ISAL_SONAME
#define PG_ISAL_SONAME "libisal.so.2"
#endif

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int tried;             /* guarded by mu */
static void *handle;          /* guarded by mu; kept for the process */
static pg_isal fns;           /* filled once, under mu, before `loaded` is published */
static const pg_isal *loaded; /* guarded by mu */
static const char *library = PG_ISAL_SONAME;

/* Opens the library and looks the two functions up; NULL when either fails. Called under
 * mu. */
static const pg_isal *load(void)
{
    handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!handle) return NULL;
    fns.deflate_init = (void (*)(struct isal_zstream *))dlsym(handle, "isal_deflate_init");
    fns.deflate = (int (*)(struct isal_zstream *))dlsym(handle, "isal_deflate");
    if (!fns.deflate_init || !fns.deflate) {
        dlclose(handle);
        handle = NULL;
        return NULL;
    }
    return &fns;
}

/* See isal_load.h; the result is static. */
const pg_isal *pg_isal_get(void)
{
    pthread_mutex_lock(&mu);
    if (!tried) {
        tried = 1;
        loaded = load();
    }
    const pg_isal *r = loaded;
    pthread_mutex_unlock(&mu);
    return r;
}

/* Test hook: see isal_load.h. */
void pg_isal_set_library(const char *name)
{
    pthread_mutex_lock(&mu);
    library = name ? name : PG_ISAL_SONAME;
    tried = 0;
    loaded = NULL;
    /* an earlier handle stays open: a function pointer taken from it may still be held */
    pthread_mutex_unlock(&mu);
}
