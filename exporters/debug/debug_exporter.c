/* The `debug` exporter: basic logs one summary line per batch, normal one line per profile,
 * detailed the whole tree (a header line in the log, the tree itself on stderr). Sampled
 * like the Collector's: in each second the first `sampling_initial` batches are shown,
 * then every `sampling_thereafter`-th. Built on the exporter helper like every exporter. */
#include "exporters/debug/debug_exporter.h"

#include "pipeline/core/err.h"
#include "pipeline/exporterhelper/exporter_base.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/translate/otlp_dump.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { V_BASIC, V_NORMAL, V_DETAILED };

typedef struct debug_exporter_config {
    int verbosity;
    int64_t sampling_initial;
    int64_t sampling_thereafter;
    pg_exporter_helper_config helper;
} C;

static const char *const VERBOSITY[] = {"basic", "normal", "detailed", NULL};

static const pg_cfg_field TABLE[] = {
    {.key = "verbosity",
     .type = PG_CFG_ENUM,
     .offset = offsetof(C, verbosity),
     .def = "basic",
     .enum_values = VERBOSITY,
     .doc = "basic: a line per batch; normal: a line per profile; detailed: the whole tree"},
    {.key = "sampling_initial",
     .type = PG_CFG_INT,
     .offset = offsetof(C, sampling_initial),
     .def = "2",
     .min = "0",
     .doc = "batches shown each second before sampling starts"},
    {.key = "sampling_thereafter",
     .type = PG_CFG_INT,
     .offset = offsetof(C, sampling_thereafter),
     .def = "1",
     .min = "1",
     .doc = "then every n-th batch of that second is shown"},
    PG_EXPORTER_HELPER_FIELDS(C, helper),
    {0},
};

/* Borrows cfg: the helper's cross-field checks. */
static int validate(const void *vcfg, char *err, size_t errlen)
{
    const C *c = vcfg;
    return pg_exporter_helper_config_validate(&c->helper, err, errlen);
}

typedef struct debug_exporter {
    pg_exporter_base base; /* first: settings, helper */
    C cfg;
    pthread_mutex_t mu; /* sampling window */
    int64_t window;     /* second (monotonic) of the current window */
    int64_t seen;       /* batches in it */
} debug_exporter;

/* True when this batch is shown (the Collector's sampler, per second). */
static bool sampled(debug_exporter *e)
{
    int64_t sec = pg_now_mono_ns() / 1000000000;
    pthread_mutex_lock(&e->mu);
    if (sec != e->window) {
        e->window = sec;
        e->seen = 0;
    }
    int64_t k = ++e->seen;
    pthread_mutex_unlock(&e->mu);
    if (k <= e->cfg.sampling_initial) return true;
    return (k - e->cfg.sampling_initial) % e->cfg.sampling_thereafter == 0;
}

/* One log line per profile of b (borrowed). */
static void log_profiles(const debug_exporter *e, const pg_batch *b)
{
    const pg_otlp_data *d = pg_batch_data(b);
    pg_buf line = {0};
    for (size_t r = 0; r < d->n_resource_profiles; r++) {
        const pg_otlp_rprofiles *rp = d->resource_profiles[r];
        for (size_t s = 0; s < rp->n_scope_profiles; s++) {
            const pg_otlp_sprofiles *sp = rp->scope_profiles[s];
            for (size_t p = 0; p < sp->n_profiles; p++) {
                line.len = 0;
                if (pg_otlp_dump_profile_line(b, sp->profiles[p], &line) != 0) continue;
                size_t lo = 0, hi = line.len;
                while (lo < hi && line.data[lo] == ' ')
                    lo++;
                while (hi > lo && line.data[hi - 1] == '\n')
                    hi--;
                pg_log(PG_LOG_INFO, e->base.settings.id, "resource %zu scope %zu: %.*s", r, s,
                       (int)(hi - lo), (const char *)line.data + lo);
            }
        }
    }
    pg_buf_free(&line);
}

/* pg_send_fn: renders b (borrowed). Only out of memory fails (retryable). */
static int send_batch(void *ctx, const pg_batch *b, int64_t deadline_ns, char *err, size_t errlen)
{
    (void)deadline_ns;
    debug_exporter *e = ctx;
    if (!sampled(e)) return 0;
    const pg_otlp_data *d = pg_batch_data(b);
    const char *origin = pg_batch_origin(b);
    pg_log(PG_LOG_INFO, e->base.settings.id,
           "batch: %zu resources, %zu profiles, %zu samples, origin=%s, received_unix_nano=%llu",
           d->n_resource_profiles, pg_batch_profile_count(b), pg_batch_sample_count(b),
           origin ? origin : "-", (unsigned long long)pg_batch_received(b));
    if (e->cfg.verbosity == V_NORMAL) log_profiles(e, b);
    if (e->cfg.verbosity == V_DETAILED) {
        pg_buf out = {0};
        int rc = pg_otlp_dump(b, PG_DUMP_DETAILED, &out);
        if (rc == 0 && out.len) {
            flockfile(stderr);
            fwrite(out.data, 1, out.len, stderr);
            fflush(stderr);
            funlockfile(stderr);
        }
        pg_buf_free(&out);
        if (rc) return pg_err(err, errlen, PG_EAGAIN, "out of memory rendering the batch");
    }
    return 0;
}

static void destroy(void *self)
{
    debug_exporter *e = self;
    if (!e) return;
    pg_exporter_base_fini(&e->base);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

/* Builds the exporter and its helper; copies what it keeps of s and cfg. */
static int create(const pg_component_settings *s, const void *vcfg, pg_consumer next, void **self,
                  char *err, size_t errlen)
{
    (void)next;
    const C *c = vcfg;
    *self = NULL;
    debug_exporter *e = calloc(1, sizeof *e);
    if (!e) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    pthread_mutex_init(&e->mu, NULL);
    e->window = -1;
    e->cfg = *c;
    e->cfg.helper.sending_queue.directory = NULL; /* the base keeps its own copy */
    if (e->cfg.sampling_thereafter < 1) e->cfg.sampling_thereafter = 1;
    int rc = pg_exporter_base_init(&e->base, s, &c->helper, send_batch, e, err, errlen);
    if (rc) {
        destroy(e);
        return rc;
    }
    *self = e;
    return 0;
}

const pg_component_factory pg_debug_exporter_factory = {
    .type = "debug",
    .kind = PG_CFG_EXPORTER,
    .config = {.table = TABLE, .size = sizeof(C), .validate = validate},
    .create = create,
    .start = pg_exporter_base_start,
    .shutdown = pg_exporter_base_shutdown,
    .destroy = destroy,
    .consume = pg_exporter_base_consume,
};
