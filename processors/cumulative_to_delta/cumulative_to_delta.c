/* cumulative_to_delta processor (see cumulative_to_delta.h): config, the classifier
 * (series = resource attributes + profile type) and consume. */
#include "processors/cumulative_to_delta/cumulative_to_delta.h"

#include "pipeline/core/delta.h"
#include "pipeline/core/err.h"
#include "pipeline/core/hash.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/telemetry/metrics_delta.h"

#include <stdlib.h>
#include <string.h>

typedef pg_cumulative_to_delta_config c2d_config;

static const pg_cfg_field C2D_FIELDS[] = {
    {.key = "max_series",
     .type = PG_CFG_INT,
     .offset = offsetof(c2d_config, max_series),
     .def = "10000",
     .min = "1",
     .max = "10000000",
     .doc = "series (resource + profile type) kept; the least recently seen is evicted"},
    {.key = "expiry",
     .type = PG_CFG_DURATION,
     .offset = offsetof(c2d_config, expiry),
     .def = "10m",
     .min = "1s",
     .doc = "a series not seen for this long is dropped (its next profile primes again)"},
    {.key = "sample_types",
     .type = PG_CFG_STRING_LIST,
     .offset = offsetof(c2d_config, sample_types),
     .def = "[alloc_objects, alloc_space, contentions, delay]",
     .doc = "sample types that are cumulative (\"*\" = every type); inuse_* never are"},
    {0},
};

typedef struct c2d {
    char *id;
    pg_consumer next;
    pg_delta *delta;
    pg_delta_metrics dm;
    char **types; /* owned copies */
    size_t n_types;
    int all_types;
} c2d;

/* Frees everything create made. */
static void c2d_free(c2d *p)
{
    if (!p) return;
    pg_delta_metrics_forget(&p->dm);
    pg_delta_free(p->delta);
    for (size_t i = 0; i < p->n_types; i++)
        free(p->types[i]);
    free(p->types);
    free(p->id);
    free(p);
}

/* Builds the processor from cfg (borrowed, copied). */
static int c2d_create(const pg_component_settings *s, const void *cfg, pg_consumer next,
                      void **self, char *err, size_t errlen)
{
    const c2d_config *c = cfg;
    c2d *p = calloc(1, sizeof *p);
    if (!p) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    pg_delta_opts o = {.max_series = (size_t)c->max_series, .expiry_ns = c->expiry};
    p->id = strdup(s->id ? s->id : "cumulative_to_delta");
    p->next = next;
    p->delta = pg_delta_new(&o);
    p->types = calloc(c->sample_types.n ? c->sample_types.n : 1, sizeof *p->types);
    if (!p->id || !p->delta || !p->types) {
        c2d_free(p);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < c->sample_types.n; i++) {
        if (!strcmp(c->sample_types.items[i], "*")) p->all_types = 1;
        if (!(p->types[p->n_types++] = strdup(c->sample_types.items[i]))) {
            c2d_free(p);
            return pg_err(err, errlen, PG_ENOMEM, "out of memory");
        }
    }
    char labels[512] = "";
    pg_metrics_label(labels, sizeof labels, "processor", p->id);
    pg_delta_metrics_init(&p->dm, pg_host_metrics(s->host), labels, p->delta);
    *self = p;
    return 0;
}

/* 1 when p's sample type is one of the configured cumulative types. */
static int listed(const c2d *c, const pg_batch *b, const pg_otlp_profile *p)
{
    if (c->all_types) return 1;
    const pg_otlp_dict *d = pg_batch_dict(b);
    int32_t i = p->sample_type ? p->sample_type->type_strindex : 0;
    if (i <= 0 || (size_t)i >= d->n_string_table) return 0;
    for (size_t k = 0; k < c->n_types; k++)
        if (!strcmp(c->types[k], d->string_table[i])) return 1;
    return 0;
}

/* Classifier: cumulative when listed and not inuse_*; series = resource + type. */
static pg_delta_mode classify(void *ud, pg_batch *b, const pg_profile_iter *it, uint64_t *series)
{
    const c2d *c = ud;
    const pg_otlp_profile *p = &it->profile->msg;
    if (pg_delta_is_inuse(b, p) || !listed(c, b, p)) return PG_DELTA_PASS;
    *series =
        pg_hash_mix(pg_delta_resource_hash(b, it->resource->resource), pg_delta_type_hash(b, p));
    return PG_DELTA_CUMULATIVE;
}

/* Takes b: its cumulative profiles become deltas; a batch left without profiles (all
 * primed) is freed here (its data is final: kept as the baseline), else passed on. */
static int c2d_consume(void *self, pg_batch *b, char *err, size_t errlen)
{
    c2d *p = self;
    pg_delta_stats st = {0};
    int rc = pg_delta_batch(p->delta, b, classify, p, (uint64_t)pg_now_mono_ns(), &st, err, errlen);
    pg_delta_metrics_add(&p->dm, &st);
    if (rc) {
        pg_log(PG_LOG_WARN, p->id, "batch dropped: %s", err);
        pg_batch_free(b);
        return rc;
    }
    if (!pg_batch_profile_count(b) || !p->next.consume) {
        pg_batch_free(b);
        return 0;
    }
    return pg_consume(&p->next, b, err, errlen);
}

/* Nothing to drain: consume finishes its work before it returns. */
static void c2d_shutdown(void *self, int64_t deadline_ns)
{
    (void)self, (void)deadline_ns;
}

static void c2d_destroy(void *self)
{
    c2d_free(self);
}

const pg_component_factory pg_cumulative_to_delta_factory = {
    .type = "cumulative_to_delta",
    .kind = PG_CFG_PROCESSOR,
    .config = {.table = C2D_FIELDS, .size = sizeof(c2d_config), .validate = NULL},
    .create = c2d_create,
    .shutdown = c2d_shutdown,
    .destroy = c2d_destroy,
    .consume = c2d_consume,
    .mutates = 1,
};
