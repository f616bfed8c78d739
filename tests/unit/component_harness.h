/* Helpers for component tests: a real pg_host with its loop on a thread, component configs
 * decoded from YAML through the registry, a capturing consumer, temp dirs, waiting.
 * Header-only (static functions) so each test executable stays one .c file. */
#ifndef PG_COMPONENT_HARNESS_H
#define PG_COMPONENT_HARNESS_H

#include "pipeline/component.h"
#include "pipeline/config/config.h"
#include "pipeline/core/err.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/registry/registry.h"
#include "pipeline/translate/format.h"
#include "pipeline/translate/otlp_dump.h"

#include <errno.h>
#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "testfs.h"
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- host with a loop thread ------------------------------------------------------------ */

typedef struct hx_host {
    pg_host *host;
    pthread_t thread;
} hx_host;

static inline void *hx_loop(void *arg)
{
    pg_host_run_loop(arg);
    return NULL;
}

static inline void hx_host_start(hx_host *h)
{
    h->host = pg_host_new();
    pthread_create(&h->thread, NULL, hx_loop, h->host);
}

static inline void hx_host_stop(hx_host *h)
{
    pg_host_stop_loop(h->host);
    pthread_join(h->thread, NULL);
    pg_host_free(h->host);
    h->host = NULL;
}

/* ---- config from YAML ------------------------------------------------------------------- */

/* Loads yaml (printed on errors) through the real registry; returns the config (caller
 * frees) and, in *cfg, the decoded struct of component (kind, id), or NULL. */
static inline pg_config *hx_load(const char *yaml, pg_cfg_kind kind, const char *id,
                                 const void **cfg)
{
    pg_cfg_source src = {"test.yaml", yaml, strlen(yaml)};
    pg_cfg_diags *d = pg_cfg_diags_new();
    pg_config *c = NULL;
    *cfg = NULL;
    if (pg_config_load(&src, 1, pg_registry_for_config(), &c, d) != 0) {
        fprintf(stderr, "config failed:\n%s\n", yaml);
        pg_cfg_diags_write(d, PG_CFG_ERROR, stderr);
    }
    pg_cfg_diags_free(d);
    const pg_cfg_component *comp = c ? pg_config_find(c, kind, id) : NULL;
    if (comp) *cfg = comp->cfg;
    return c;
}

/* Returns the first error of loading yaml (malloc-owned) or NULL when it loads. */
static inline char *hx_load_error(const char *yaml)
{
    pg_cfg_source src = {"test.yaml", yaml, strlen(yaml)};
    pg_cfg_diags *d = pg_cfg_diags_new();
    pg_config *c = NULL;
    char *msg = NULL;
    if (pg_config_load(&src, 1, pg_registry_for_config(), &c, d) != 0) {
        const pg_cfg_diag *e = pg_cfg_diags_get(d, PG_CFG_ERROR, 0);
        msg = strdup(e ? e->text : "?");
    }
    pg_config_free(c);
    pg_cfg_diags_free(d);
    return msg;
}

/* ---- capturing consumer ----------------------------------------------------------------- */

typedef struct hx_capture {
    pthread_mutex_t mu;
    int calls;       /* consume calls */
    int accepted;    /* batches kept */
    int refuse_next; /* refuse this many calls with PG_EAGAIN */
    char *dumps[64]; /* canonical dump of each accepted batch */
    char *origins[64];
} hx_capture;

/* Canonical rendering of b (malloc-owned, NUL-terminated). */
static inline char *hx_dump(const pg_batch *b)
{
    pg_buf o = {0};
    pg_otlp_dump(b, PG_DUMP_CANONICAL, &o);
    pg_buf_append(&o, "", 1);
    return (char *)o.data;
}

static inline int hx_capture_consume(void *ctx, pg_batch *b, char *err, size_t errlen)
{
    hx_capture *c = ctx;
    pthread_mutex_lock(&c->mu);
    c->calls++;
    int rc = 0;
    if (c->refuse_next > 0) {
        c->refuse_next--;
        rc = pg_err(err, errlen, PG_EAGAIN, "test consumer is busy");
    } else if (c->accepted < 64) {
        c->dumps[c->accepted] = hx_dump(b);
        c->origins[c->accepted] = strdup(pg_batch_origin(b) ? pg_batch_origin(b) : "");
        c->accepted++;
    }
    pthread_mutex_unlock(&c->mu);
    pg_batch_free(b);
    return rc;
}

static inline pg_consumer hx_capture_consumer(hx_capture *c)
{
    return (pg_consumer){hx_capture_consume, c};
}

static inline int hx_capture_accepted(hx_capture *c)
{
    pthread_mutex_lock(&c->mu);
    int n = c->accepted;
    pthread_mutex_unlock(&c->mu);
    return n;
}

static inline int hx_capture_calls(hx_capture *c)
{
    pthread_mutex_lock(&c->mu);
    int n = c->calls;
    pthread_mutex_unlock(&c->mu);
    return n;
}

static inline void hx_capture_reset(hx_capture *c)
{
    pthread_mutex_lock(&c->mu);
    for (int i = 0; i < c->accepted; i++) {
        free(c->dumps[i]);
        free(c->origins[i]);
    }
    c->accepted = c->calls = c->refuse_next = 0;
    pthread_mutex_unlock(&c->mu);
}

/* ---- time, files ------------------------------------------------------------------------ */

static inline void hx_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Polls cond(ctx) every 10 ms for up to timeout_ms; returns its last value. */
static inline bool hx_wait(bool (*cond)(void *), void *ctx, long timeout_ms)
{
    for (long t = 0; t < timeout_ms; t += 10) {
        if (cond(ctx)) return true;
        hx_sleep_ms(10);
    }
    return cond(ctx);
}

/* Shuts a component down (draining, 5 s at most), destroys it and frees its config. */
static inline void hx_stop(const pg_component_factory *f, void **self, pg_config **cfg)
{
    if (*self) {
        f->shutdown(*self, pg_now_mono_ns() + 5000000000LL);
        f->destroy(*self);
    }
    *self = NULL;
    pg_config_free(*cfg);
    *cfg = NULL;
}

/* Removes a tree (the test's temp dir); does not follow symlinks. */
static inline void hx_rm_rf(const char *path)
{
    rm_rf(path);
}

/* Reads a whole file (malloc-owned buf); returns 0 or -1. */
static inline int hx_read(const char *path, pg_buf *out)
{
    char err[256];
    memset(out, 0, sizeof *out);
    return pg_buf_read_file(out, path, 0, err, sizeof err) ? -1 : 0;
}

/* Decodes the file at path, in any format (sniffed), into a new batch (caller frees), or
 * NULL with the reason on stderr. */
static inline pg_batch *hx_load_batch(const char *path)
{
    char err[512];
    pg_buf in;
    if (hx_read(path, &in)) {
        fprintf(stderr, "cannot read %s\n", path);
        return NULL;
    }
    pg_batch *b = pg_batch_new(0);
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    if (b && pg_format_decode_owned(b, &in, PG_FORMAT_UNKNOWN, &lim, NULL, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", path, err);
        pg_batch_free(b);
        b = NULL;
    }
    pg_buf_free(&in);
    return b;
}

/* Writes n bytes to path (not atomically: tests use it to make half-written files). */
static inline int hx_write(const char *path, const void *p, size_t n, const char *mode)
{
    FILE *f = fopen(path, mode);
    if (!f) return -1;
    int ok = n == 0 || fwrite(p, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Counts the directory entries of dir whose name ends with suffix. */
static inline int hx_count_files(const char *dir, const char *suffix)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ls -1a '%s' 2>/dev/null | grep -c -- '%s$'", dir, suffix);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1) n = -1;
        pclose(p);
    }
    return n;
}

/* Counts lines of a FILE (rewound) containing needle. */
static inline int hx_count_lines(FILE *f, const char *needle)
{
    fflush(f);
    rewind(f);
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, needle)) n++;
    fseek(f, 0, SEEK_END);
    return n;
}

#endif
