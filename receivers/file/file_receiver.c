/* The `file` receiver's factory: config table, lifecycle and the poll timer on the host's
 * event loop. The poll itself is file_poll.c; what was read is file_state.c. */
#include "receivers/file/file_receiver.h"
#include "receivers/file/file_receiver_int.h"

#include "pipeline/core/err.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#define C pg_file_receiver_config

/* Indexed by pg_format: "auto" is PG_FORMAT_UNKNOWN. */
static const char *const FORMATS[] = {"auto", PG_FORMAT_NAME_PPROF, PG_FORMAT_NAME_OTLP_PROTO,
                                      PG_FORMAT_NAME_OTLP_JSON, NULL};

static const pg_cfg_field TABLE[] = {
    {.key = "include",
     .type = PG_CFG_STRING_LIST,
     .offset = offsetof(C, include),
     .required = true,
     .doc = "globs of the files to read (glob(3), {a,b} allowed)"},
    {.key = "exclude",
     .type = PG_CFG_STRING_LIST,
     .offset = offsetof(C, exclude),
     .doc = "patterns to skip: with a '/' matched against the path, else the base name"},
    {.key = "format",
     .type = PG_CFG_ENUM,
     .offset = offsetof(C, format),
     .def = "auto",
     .enum_values = FORMATS,
     .doc = "file format: auto (sniffed per file), pprof, otlp_proto or otlp_json"},
    {.key = "poll_interval",
     .type = PG_CFG_DURATION,
     .offset = offsetof(C, poll_interval),
     .def = "1s",
     .min = "10ms",
     .max = "24h",
     .doc = "how often the globs are expanded; a file must be unchanged for this long"},
    {.key = "max_file_size",
     .type = PG_CFG_SIZE,
     .offset = offsetof(C, max_file_size),
     .def = "64MiB",
     .min = "1",
     .doc = "larger files are skipped (logged once)"},
    {.key = "max_decompressed",
     .type = PG_CFG_SIZE,
     .offset = offsetof(C, max_decompressed),
     .def = "256MiB",
     .min = "1",
     .doc = "cap on a gzip or zstd file once inflated"},
    {.key = "storage_directory",
     .type = PG_CFG_STRING,
     .offset = offsetof(C, storage_directory),
     .doc = "where the list of files already read is kept (default ./data/file_receiver/<id>)"},
    {.key = "quarantine_directory",
     .type = PG_CFG_STRING,
     .offset = offsetof(C, quarantine_directory),
     .doc = "where files skipped as malformed or too large are moved, each with a .reason file "
            "beside it (default: left in place)"},
    {.key = "delete_after_read",
     .type = PG_CFG_BOOL,
     .offset = offsetof(C, delete_after_read),
     .def = "false",
     .doc = "delete each file once handed on"},
    {0},
};

/* Checks what the table cannot; borrows cfg. */
static int validate(const void *vcfg, char *err, size_t errlen)
{
    const C *c = vcfg;
    if (c->include.n == 0)
        return pg_err(err, errlen, PG_EINVAL, "include: at least one glob is required");
    for (size_t i = 0; i < c->include.n; i++)
        if (!c->include.items[i] || !c->include.items[i][0])
            return pg_err(err, errlen, PG_EINVAL, "include: a glob is empty");
    if (c->storage_directory && !c->storage_directory[0])
        return pg_err(err, errlen, PG_EINVAL, "storage_directory: must not be empty");
    if (c->quarantine_directory && !c->quarantine_directory[0])
        return pg_err(err, errlen, PG_EINVAL, "quarantine_directory: must not be empty");
    return 0;
}

/* Copies a string list; returns 0 or PG_ENOMEM (partial copies are freed by free_list). */
static int dup_list(pg_cfg_strlist *dst, const pg_cfg_strlist *src)
{
    dst->n = 0;
    dst->items = src->n ? calloc(src->n, sizeof *dst->items) : NULL;
    if (src->n && !dst->items) return PG_ENOMEM;
    for (size_t i = 0; i < src->n; i++) {
        if (!(dst->items[i] = strdup(src->items[i] ? src->items[i] : ""))) return PG_ENOMEM;
        dst->n++;
    }
    return 0;
}

static void free_list(pg_cfg_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

/* Returns "./data/file_receiver/<id>" with every byte outside [A-Za-z0-9._-] (and a
 * leading '.') replaced by '_' (malloc-owned), or NULL. */
static char *default_storage(const char *id)
{
    static const char prefix[] = "./data/file_receiver/";
    size_t n = strlen(id);
    char *s = malloc(sizeof prefix + n + 1);
    if (!s) return NULL;
    memcpy(s, prefix, sizeof prefix - 1);
    char *o = s + sizeof prefix - 1;
    for (size_t i = 0; i < n; i++) {
        char ch = id[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || (ch == '.' && i > 0);
        o[i] = ok ? ch : '_';
    }
    if (n == 0) o[n++] = '_';
    o[n] = '\0';
    return s;
}

static void destroy(void *self)
{
    pg_file_receiver *r = self;
    if (!r) return;
    if (r->timer) event_free(r->timer);
    /* every exporter has stopped: each flight has settled (or never will) */
    size_t open_flights = pg_file_flights_collect(r);
    if (open_flights)
        pg_log(PG_LOG_WARN, r->id,
               "%zu files handed on were never acknowledged; they are read again at the next start",
               open_flights);
    if (r->flights_ev) event_free(r->flights_ev);
    pg_file_flights_free(r);
    pthread_mutex_destroy(&r->flights_mu);
    pg_file_state_free(r->state);
    pg_file_pending_free(r->pending, r->npending);
    free_list(&r->cfg.include);
    free_list(&r->cfg.exclude);
    free(r->cfg.storage_directory);
    free(r->cfg.quarantine_directory);
    free(r->id);
    free(r);
}

/* Wake-up from an ack callback (loop thread): commits settled flights. */
static void on_flights(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pg_file_flights_collect(arg);
}

/* Timer callback (loop thread): one poll, then re-arm unless stopping. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    pg_file_receiver *r = arg;
    if (atomic_load(&r->stopping)) return;
    pg_file_poll(r);
    if (atomic_load(&r->stopping)) return;
    struct timeval tv = {(time_t)(r->cfg.poll_interval / 1000000000),
                         (suseconds_t)(r->cfg.poll_interval % 1000000000 / 1000)};
    event_add(r->timer, &tv);
}

/* Builds the receiver; copies everything it keeps from s and cfg. */
static int create(const pg_component_settings *s, const void *vcfg, pg_consumer next, void **self,
                  char *err, size_t errlen)
{
    const C *c = vcfg;
    *self = NULL;
    pg_file_receiver *r = calloc(1, sizeof *r);
    if (!r) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    r->host = s->host;
    r->next = next;
    r->cfg = *c;
    r->cfg.include = (pg_cfg_strlist){0};
    r->cfg.exclude = (pg_cfg_strlist){0};
    r->cfg.storage_directory = NULL;
    r->cfg.quarantine_directory = NULL;
    atomic_init(&r->stopping, false);
    pthread_mutex_init(&r->flights_mu, NULL);
    bool ok = (r->id = strdup(s->id)) != NULL;
    ok = ok && dup_list(&r->cfg.include, &c->include) == 0;
    ok = ok && dup_list(&r->cfg.exclude, &c->exclude) == 0;
    ok = ok && (r->cfg.storage_directory =
                    c->storage_directory ? strdup(c->storage_directory) : default_storage(s->id));
    ok = ok && (!c->quarantine_directory ||
                (r->cfg.quarantine_directory = strdup(c->quarantine_directory)));
    if (ok) {
        r->timer = event_new(pg_host_event_base(s->host), -1, 0, on_timer, r);
        r->flights_ev = event_new(pg_host_event_base(s->host), -1, 0, on_flights, r);
        ok = r->timer != NULL && r->flights_ev != NULL;
    }
    if (!ok) {
        destroy(r);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    pg_component_metrics_init(&r->cm, pg_host_metrics(s->host), "receiver", r->id);
    char labels[512] = "";
    if (pg_host_metrics(s->host) && !pg_metrics_label(labels, sizeof labels, "receiver", r->id))
        r->abandoned = pg_metrics_counter(
            pg_host_metrics(s->host), "profgate_receiver_file_abandoned_total",
            "Files handed on but not delivered before a stop (read again at the next start).",
            labels);
    for (int i = 0; i < 2; i++) {
        static const char *const why[2] = {"malformed", "too_large"};
        char all[600];
        snprintf(all, sizeof all, "%s", labels); /* pg_metrics_label appends */
        if (!labels[0] || pg_metrics_label(all, sizeof all, "reason", why[i])) continue;
        r->skipped[i] =
            pg_metrics_counter(pg_host_metrics(s->host), "profgate_receiver_file_skipped_total",
                               "Input files skipped for good, by reason.", all);
    }
    *self = r;
    return 0;
}

/* Loads the state and schedules the first poll at once. */
static int start(void *self, char *err, size_t errlen)
{
    pg_file_receiver *r = self;
    int rc = pg_file_state_open(r->cfg.storage_directory, r->id, &r->state, err, errlen);
    if (rc) return rc;
    struct timeval now = {0, 0};
    if (event_add(r->timer, &now) != 0)
        return pg_err(err, errlen, PG_EIO, "cannot schedule the poll timer");
    pg_log(PG_LOG_INFO, r->id, "watching %zu glob(s), state in %s", r->cfg.include.n,
           r->cfg.storage_directory);
    return 0;
}

/* Stops polling: a poll under way stops after the file it is on (event_del waits for the
 * callback when it runs on the loop thread). The state was saved by the last poll. */
static void shutdown_(void *self, int64_t deadline_ns)
{
    (void)deadline_ns;
    pg_file_receiver *r = self;
    atomic_store(&r->stopping, true);
    if (r->timer) event_del(r->timer);
    pg_file_receiver_save(r);
}

const pg_component_factory pg_file_receiver_factory = {
    .type = "file",
    .kind = PG_CFG_RECEIVER,
    .config = {.table = TABLE, .size = sizeof(C), .validate = validate},
    .create = create,
    .start = start,
    .shutdown = shutdown_,
    .destroy = destroy,
};
