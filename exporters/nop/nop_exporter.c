/* The `nop` exporter, as the Collector's: no config keys; every batch is accepted and
 * freed at once. What it takes is counted as delivered in the standard exporter series
 * (profgate_exporter_sent_{profiles,samples,bytes}_total{exporter="<id>"}; bytes are the
 * batch's OTLP protobuf size, as the exporter helper counts them). No queue, no thread:
 * consume runs on the caller's thread and never fails. */
#include "exporters/nop/nop_exporter.h"

#include "pipeline/core/err.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/metrics.h"
#include "pipeline/translate/otlp_codec.h"

#include <stdlib.h>

/* No keys: the table holds only its terminator (the struct is never read). */
typedef struct nop_exporter_config {
    char unused;
} C;

static const pg_cfg_field TABLE[] = {{0}};

typedef struct nop_exporter {
    pg_component_metrics cm; /* series owned by the host's registry */
} nop_exporter;

/* Registers the exporter's series; keeps nothing of s or cfg. */
static int nop_create(const pg_component_settings *s, const void *cfg, pg_consumer next,
                      void **self, char *err, size_t errlen)
{
    (void)cfg;
    (void)next;
    nop_exporter *e = calloc(1, sizeof *e);
    if (!e) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    pg_component_metrics_init(&e->cm, pg_host_metrics(s->host), "exporter", s->id);
    *self = e;
    return 0;
}

static int nop_start(void *self, char *err, size_t errlen)
{
    (void)self;
    (void)err;
    (void)errlen;
    return 0;
}

static void nop_shutdown(void *self, int64_t deadline_ns)
{
    (void)self;
    (void)deadline_ns;
}

static void nop_destroy(void *self)
{
    free(self);
}

/* Takes b (owned from here), counts it, frees it. Always 0. */
static int nop_consume(void *self, pg_batch *b, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    nop_exporter *e = self;
    pg_counter_add(e->cm.sent_profiles, pg_batch_profile_count(b));
    pg_counter_add(e->cm.sent_samples, pg_batch_sample_count(b));
    pg_counter_add(e->cm.sent_bytes, pg_otlp_encoded_size(b));
    pg_batch_free(b);
    return 0;
}

const pg_component_factory pg_nop_exporter_factory = {
    .type = "nop",
    .kind = PG_CFG_EXPORTER,
    .config = {.table = TABLE, .size = sizeof(C)},
    .create = nop_create,
    .start = nop_start,
    .shutdown = nop_shutdown,
    .destroy = nop_destroy,
    .consume = nop_consume,
};
