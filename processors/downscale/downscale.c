/* downscale processor (see downscale.h): config, the decision per group of profiles, the
 * metrics, consume. The arithmetic is in thin.c and trim.c. */
#include "processors/downscale/downscale.h"
#include "pipeline/core/compact.h"
#include "pipeline/core/err.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/telemetry/metrics.h"
#include "pipeline/translate/pprof.h"
#include "processors/downscale/downscale_int.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef pg_downscale_config ds_config;

static const char *const POLICY[] = {"pass", "scale", NULL};

static const pg_cfg_field DS_FIELDS[] = {
    {.key = "target_period",
     .type = PG_CFG_DURATION,
     .offset = offsetof(ds_config, target_period),
     .def = "0",
     .doc = "period to bring CPU-time profiles to (e.g. 50ms for 20 Hz); 0 = unset"},
    {.key = "factor",
     .type = PG_CFG_DOUBLE,
     .offset = offsetof(ds_config, factor),
     .def = "0",
     .min = "0",
     .doc = "keep one event in `factor` (period x factor) where target_period does not apply"},
    {.key = "seed",
     .type = PG_CFG_INT,
     .offset = offsetof(ds_config, seed),
     .def = "0",
     .doc = "random seed for reproducible output (0 = from the clock)"},
    {.key = "trim",
     .type = PG_CFG_DOUBLE,
     .offset = offsetof(ds_config, trim),
     .def = "0",
     .min = "0",
     .max = "0.5",
     .doc = "fold stacks under this fraction of a profile's total into their longest kept "
            "prefix (0 = off)"},
    {.key = "estimate_types",
     .type = PG_CFG_STRING_LIST,
     .offset = offsetof(ds_config, estimate_types),
     .def = "[alloc_objects, alloc_space, inuse_objects, inuse_space, contentions, delay]",
     .doc = "sample types whose values are already estimates scaled by the producer"},
    {.key = "estimates",
     .type = PG_CFG_ENUM,
     .offset = offsetof(ds_config, estimates),
     .def = "pass",
     .enum_values = POLICY,
     .doc = "estimate_types profiles: pass untouched, or scale (keep a sample with "
            "probability 1/factor, values x factor)"},
    {.key = "unknown_rate",
     .type = PG_CFG_ENUM,
     .offset = offsetof(ds_config, unknown_rate),
     .def = "pass",
     .enum_values = POLICY,
     .doc = "profiles without a period: pass untouched, or scale as for estimates"},
    {0},
};

/* A rate to reach: target_period or factor (> 1). */
static int ds_validate(const void *cfg, char *err, size_t errlen)
{
    const ds_config *c = cfg;
    if (c->target_period <= 0 && c->factor <= 0)
        return pg_err(err, errlen, PG_EINVAL, "set target_period or factor");
    if (c->factor > 0 && c->factor < 1)
        return pg_err(err, errlen, PG_EINVAL,
                      "factor must be at least 1 (keep one event in factor)");
    return 0;
}

/* Why a profile was (not) thinned: the `result` label. */
enum { R_THINNED, R_SCALED, R_ESTIMATE, R_UNKNOWN_RATE, R_AT_RATE, R_NO_TARGET, R_N };
static const char *const RESULT[R_N] = {"thinned",      "scaled",  "estimate",
                                        "unknown_rate", "at_rate", "no_target"};

typedef struct ds {
    char *id;
    pg_consumer next;
    int64_t target_period;
    double factor, trim;
    uint64_t seed;
    char **estimate_types;
    size_t n_estimate_types;
    int estimates, unknown_rate;
    _Atomic uint64_t batches;
    pg_counter *results[R_N], *removed, *trimmed;
} ds;

static void ds_destroy(void *self)
{
    ds *d = self;
    if (!d) return;
    for (size_t i = 0; i < d->n_estimate_types; i++)
        free(d->estimate_types[i]);
    free(d->estimate_types);
    free(d->id);
    free(d);
}

/* Copies the config (cfg borrowed) and registers the series. */
static int ds_create(const pg_component_settings *s, const void *cfg, pg_consumer next, void **self,
                     char *err, size_t errlen)
{
    const ds_config *c = cfg;
    int rc = ds_validate(c, err, errlen);
    if (rc) return rc;
    ds *d = calloc(1, sizeof *d);
    if (!d) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    d->id = strdup(s->id ? s->id : "downscale");
    d->estimate_types = calloc(c->estimate_types.n + 1, sizeof *d->estimate_types);
    if (!d->id || !d->estimate_types) goto oom;
    for (size_t i = 0; i < c->estimate_types.n; i++, d->n_estimate_types++)
        if (!(d->estimate_types[i] = strdup(c->estimate_types.items[i]))) goto oom;
    d->next = next;
    d->target_period = c->target_period;
    d->factor = c->factor;
    d->trim = c->trim;
    d->estimates = c->estimates;
    d->unknown_rate = c->unknown_rate;
    d->seed = c->seed ? (uint64_t)c->seed : pg_now_unix_ns() ^ (uint64_t)pg_now_mono_ns();
    pg_metrics *reg = pg_host_metrics(s->host);
    for (int r = 0; r < R_N; r++) {
        char labels[512] = "";
        pg_metrics_label(labels, sizeof labels, "processor", d->id);
        pg_metrics_label(labels, sizeof labels, "result", RESULT[r]);
        d->results[r] = pg_metrics_counter(reg, "profgate_downscale_profiles_total",
                                           "Profiles seen by downscale, by what it did.", labels);
    }
    char labels[512] = "";
    pg_metrics_label(labels, sizeof labels, "processor", d->id);
    d->removed = pg_metrics_counter(reg, "profgate_downscale_removed_samples_total",
                                    "Samples removed because thinning took them to zero.", labels);
    d->trimmed = pg_metrics_counter(reg, "profgate_downscale_trimmed_samples_total",
                                    "Samples whose stack trim folded into a prefix.", labels);
    *self = d;
    return 0;
oom:
    ds_destroy(d);
    return pg_err(err, errlen, PG_ENOMEM, "out of memory");
}

/* The dictionary string at index i ("" when out of range). */
static const char *str_at(const pg_otlp_dict *d, int32_t i)
{
    return i > 0 && (size_t)i < d->n_string_table ? d->string_table[i] : "";
}

static int is_estimate(const ds *x, const pg_otlp_dict *d, const pg_otlp_profile *p)
{
    const char *t = p->sample_type ? str_at(d, p->sample_type->type_strindex) : "";
    for (size_t i = 0; i < x->n_estimate_types; i++)
        if (strcmp(t, x->estimate_types[i]) == 0) return 1;
    return 0;
}

/* Decides mode, p and periods for group g (members set); returns the result label. */
static int decide(const ds *x, const pg_otlp_dict *d, pg_ds_group *g)
{
    const pg_otlp_profile *m0 = &g->members[0]->msg;
    g->mode = PG_DS_KEEP;
    g->p = 1;
    g->period = g->new_period = m0->period;
    g->count_member = g->n_members;
    for (size_t m = 0; m < g->n_members; m++) {
        const pg_otlp_profile *pm = &g->members[m]->msg;
        if (pm->sample_type && strcmp(str_at(d, pm->sample_type->unit_strindex), "count") == 0) {
            g->count_member = m;
            break;
        }
    }
    int estimate = 0;
    for (size_t m = 0; m < g->n_members; m++)
        estimate |= is_estimate(x, d, &g->members[m]->msg);
    int unknown = !m0->period_type || m0->period_type->type_strindex == 0 || m0->period <= 0;
    if (estimate || unknown) {
        int policy = estimate ? x->estimates : x->unknown_rate;
        if (policy == 0 || x->factor <= 1) return estimate ? R_ESTIMATE : R_UNKNOWN_RATE;
        g->mode = PG_DS_SCALE;
        g->p = 1.0 / x->factor;
        return R_SCALED;
    }
    const char *unit = str_at(d, m0->period_type->unit_strindex);
    if (x->target_period > 0 && strcmp(unit, "nanoseconds") == 0) {
        if (m0->period >= x->target_period) return R_AT_RATE;
        g->new_period = x->target_period;
    } else if (x->factor > 1) {
        double np = round((double)m0->period * x->factor);
        if (np >= 9.2e18) return R_NO_TARGET;
        g->new_period = (int64_t)np;
    } else {
        return R_NO_TARGET;
    }
    g->mode = PG_DS_THIN;
    g->p = (double)m0->period / (double)g->new_period;
    return R_THINNED;
}

/* Applies one group (members borrowed) and counts its profiles. */
static int run_group(ds *x, pg_batch *b, pg_profile **members, size_t n, pg_ds_rng *rng,
                     pg_ds_counts *counts, char *err, size_t errlen)
{
    pg_ds_group g = {.members = members, .n_members = n, .trim = x->trim};
    int r = decide(x, pg_batch_dict(b), &g);
    pg_counter_add(x->results[r], n);
    return pg_ds_group_apply(b, &g, rng, counts, err, errlen);
}

/* Thins every pprof group of b (profiles of one pprof together, others alone), compacts
 * when samples or stacks went, and passes b on. Takes b. */
static int ds_consume(void *self, pg_batch *b, char *err, size_t errlen)
{
    ds *x = self;
    pg_pprof_group *groups = NULL;
    size_t ng = 0;
    pg_ds_rng rng;
    pg_ds_rng_seed(&rng, x->seed + 0x9e3779b97f4a7c15ull * atomic_fetch_add(&x->batches, 1));
    pg_ds_counts counts = {0};
    int rc = pg_pprof_plan(b, &groups, &ng, err, errlen);
    for (size_t i = 0; i < ng && !rc; i++) {
        pg_pprof_group *gr = &groups[i];
        if (gr->zero_types || !gr->n_profiles) continue;
        pg_profile **m = malloc(gr->n_profiles * sizeof *m);
        if (!m) {
            rc = pg_err(err, errlen, PG_ENOMEM, "out of memory");
            break;
        }
        for (size_t k = 0; k < gr->n_profiles; k++)
            m[k] = pg_profile_of((pg_otlp_profile *)gr->profiles[k]);
        if (gr->positional)
            rc = run_group(x, b, m, gr->n_profiles, &rng, &counts, err, errlen);
        else
            for (size_t k = 0; k < gr->n_profiles && !rc; k++)
                rc = run_group(x, b, m + k, 1, &rng, &counts, err, errlen);
        free(m);
    }
    pg_pprof_groups_free(groups, ng);
    if (!rc && (counts.removed || counts.trimmed)) rc = pg_batch_compact(b, NULL, err, errlen);
    pg_counter_add(x->removed, counts.removed);
    pg_counter_add(x->trimmed, counts.trimmed);
    if (rc) {
        pg_batch_free(b);
        return rc;
    }
    if (!x->next.consume) {
        pg_batch_free(b);
        return 0;
    }
    return pg_consume(&x->next, b, err, errlen);
}

/* Nothing runs in the background: nothing to stop. */
static void ds_shutdown(void *self, int64_t deadline_ns)
{
    (void)self;
    (void)deadline_ns;
}

const pg_component_factory pg_downscale_processor_factory = {
    .type = "downscale",
    .kind = PG_CFG_PROCESSOR,
    .config = {.table = DS_FIELDS, .size = sizeof(ds_config), .validate = ds_validate},
    .create = ds_create,
    .shutdown = ds_shutdown,
    .destroy = ds_destroy,
    .consume = ds_consume,
    .mutates = 1,
};
