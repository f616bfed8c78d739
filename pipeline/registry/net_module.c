/* Finding, loading and checking the network module (profgate-net.so) for the executable's
 * registry: $PROFGATE_NET_MODULE when set, else the first of <bindir>/, <bindir>/../lib/profgate/
 * and PG_NET_MODULE_DIR that holds the file (docs/packaging.md). Loaded once, never
 * unloaded (its libraries start threads). */
#define _GNU_SOURCE
#include "pipeline/core/err.h"
#include "pipeline/registry/net_module.h"

#include "pipeline/telemetry/log.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef PG_NET_MODULE_ID
#define PG_NET_MODULE_ID "unset"
#endif
#ifndef PG_NET_MODULE_DIR
#define PG_NET_MODULE_DIR "/usr/local/lib/profgate"
#endif

static pthread_mutex_t module_lock = PTHREAD_MUTEX_INITIALIZER;
static void *module;     /* the handle once loaded */
static int module_tried; /* 1 after the first attempt, loaded or not */

/* Writes the running executable's directory into dir; 0, or -1 when /proc/self/exe cannot be
 * read (then only PG_NET_MODULE_DIR is searched). */
static int exe_dir(char *dir, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", dir, cap - 1);
    if (n <= 0 || (size_t)n >= cap - 1) return PG_EIO;
    dir[n] = 0;
    char *slash = strrchr(dir, '/');
    if (!slash) return PG_EIO;
    *slash = 0;
    return 0;
}

/* Opens the module at path and checks its build id; the handle, or NULL with the reason in
 * why. */
static void *open_module(const char *path, char *why, size_t cap)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(why, cap, "%s", dlerror());
        return NULL;
    }
    const char *id = dlsym(h, "pg_net_module_id");
    if (!id || strcmp(id, PG_NET_MODULE_ID) != 0) {
        snprintf(why, cap, "%s was built with another profgate (module id %s, executable %s)", path,
                 id ? id : "missing", PG_NET_MODULE_ID);
        dlclose(h);
        return NULL;
    }
    return h;
}

/* Loads the module from the first candidate path holding the file (a file there that does not
 * load is an error, not a reason to try an older one elsewhere); the reason in why when none
 * loads. */
static void *load_module(char *why, size_t cap)
{
    char dir[PATH_MAX], cand[3][PATH_MAX + 64];
    size_t n = 0;
    const char *env = secure_getenv(PG_NET_MODULE_ENV);
    if (env && *env) {
        snprintf(cand[n++], sizeof cand[0], "%s", env);
    } else {
        if (exe_dir(dir, sizeof dir) == 0) {
            snprintf(cand[n++], sizeof cand[0], "%s/" PG_NET_MODULE_FILE, dir);
            snprintf(cand[n++], sizeof cand[0], "%s/../lib/profgate/" PG_NET_MODULE_FILE, dir);
        }
        snprintf(cand[n++], sizeof cand[0], PG_NET_MODULE_DIR "/" PG_NET_MODULE_FILE);
    }
    for (size_t i = 0; i < n; i++) {
        if (access(cand[i], F_OK) != 0 && errno == ENOENT) continue;
        return open_module(cand[i], why, cap);
    }
    snprintf(why, cap, "%s is not installed: looked for %s%s%s%s%s (or set %s to its path)",
             PG_NET_MODULE_FILE, cand[0], n > 1 ? ", " : "", n > 1 ? cand[1] : "",
             n > 2 ? ", " : "", n > 2 ? cand[2] : "", PG_NET_MODULE_ENV);
    return NULL;
}

const pg_component_factory *pg_net_module_factory(const char *symbol, pg_cfg_kind kind,
                                                  const char *type)
{
    static char why[PATH_MAX * 4];
    pthread_mutex_lock(&module_lock);
    if (!module_tried) {
        module = load_module(why, sizeof why);
        module_tried = 1;
    }
    void *h = module;
    pthread_mutex_unlock(&module_lock);
    if (!h) {
        pg_log(PG_LOG_ERROR, "registry",
               "the %s type %s is in the network module, which cannot be loaded: %s",
               pg_cfg_kind_name(kind), type, why);
        return NULL;
    }
    const pg_component_factory *f = dlsym(h, symbol);
    if (!f || f->kind != kind || strcmp(f->type, type) != 0) {
        pg_log(PG_LOG_ERROR, "registry", "the network module has no %s type %s (symbol %s)",
               pg_cfg_kind_name(kind), type, symbol);
        return NULL;
    }
    return f;
}
