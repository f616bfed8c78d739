/* profiler_overhead processor (see profiler_overhead.h): config, per-service series,
 * consume. Matching frames is in match.c. */
#include "processors/profiler_overhead/profiler_overhead.h"
#include "pipeline/core/dict.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/telemetry/metrics.h"
#include "processors/profiler_overhead/overhead_int.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef pg_profiler_overhead_config po_config;

static const pg_cfg_field PO_FIELDS[] = {
    {.key = "frames",
     .type = PG_CFG_STRING_LIST,
     .offset = offsetof(po_config, frames),
     .def = "[" PG_PO_DEFAULT_FRAMES "]",
     .doc = "regular expressions (pipeline/core/regex.h, unanchored) for the profiler's own "
            "function names"},
    {.key = "add_attribute",
     .type = PG_CFG_BOOL,
     .offset = offsetof(po_config, add_attribute),
     .def = "false",
     .doc = "also set the profile attribute profiler.overhead.ratio on CPU profiles"},
    {.key = "max_services",
     .type = PG_CFG_INT,
     .offset = offsetof(po_config, max_services),
     .def = "1000",
     .min = "1",
     .doc = "services with their own series at most (others are counted, not tracked)"},
    {0},
};

/* Every pattern compiles. */
static int po_validate(const void *cfg, char *err, size_t errlen)
{
    const po_config *c = cfg;
    for (size_t i = 0; i < c->frames.n; i++) {
        pg_regex *re = NULL;
        char msg[256] = "";
        int rc = pg_regex_compile(c->frames.items[i], &re, msg, sizeof msg);
        if (rc) return pg_err(err, errlen, rc, "frames[%zu]: %s", i, msg);
        pg_regex_free(re);
    }
    return 0;
}

/* One service's series. */
typedef struct svc {
    char *name;
    _Atomic uint64_t ratio_bits; /* the latest ratio, a double's bits */
    pg_counter *matched, *total;
    struct svc *next;
} svc;

typedef struct po {
    char *id;
    pg_consumer next;
    pg_metrics *reg;
    pg_po_matcher m;
    bool add_attribute;
    size_t max_services, n_services;
    pthread_mutex_t mu; /* services */
    svc *services;
    pg_counter *untracked, *profiles;
} po;

static double ratio_of(void *ctx)
{
    svc *s = ctx;
    uint64_t bits = atomic_load(&s->ratio_bits);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static void po_destroy(void *self)
{
    po *x = self;
    if (!x) return;
    while (x->services) {
        svc *s = x->services;
        x->services = s->next;
        pg_metrics_forget(x->reg, s);
        free(s->name);
        free(s);
    }
    pg_po_matcher_free(&x->m);
    pthread_mutex_destroy(&x->mu);
    free(x->id);
    free(x);
}

/* Compiles the patterns (cfg borrowed) and registers the processor's series. */
static int po_create(const pg_component_settings *s, const void *cfg, pg_consumer next, void **self,
                     char *err, size_t errlen)
{
    const po_config *c = cfg;
    int rc = po_validate(c, err, errlen);
    if (rc) return rc;
    po *x = calloc(1, sizeof *x);
    if (!x) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    pthread_mutex_init(&x->mu, NULL);
    x->id = strdup(s->id ? s->id : "profiler_overhead");
    x->next = next;
    x->reg = pg_host_metrics(s->host);
    x->add_attribute = c->add_attribute;
    x->max_services = (size_t)c->max_services;
    if (!x->id || pg_po_matcher_init(&x->m, c->frames.items, c->frames.n)) {
        po_destroy(x);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    char l[512] = "";
    pg_metrics_label(l, sizeof l, "processor", x->id);
    x->untracked = pg_metrics_counter(x->reg, "profgate_profiler_overhead_untracked_profiles_total",
                                      "CPU profiles of services past max_services.", l);
    x->profiles = pg_metrics_counter(x->reg, "profgate_profiler_overhead_profiles_total",
                                     "CPU profiles measured.", l);
    *self = x;
    return 0;
}

/* The series of service `name` (made when new), or NULL past max_services or on OOM. */
static svc *service(po *x, const char *name)
{
    pthread_mutex_lock(&x->mu);
    svc *s = x->services;
    while (s && strcmp(s->name, name) != 0)
        s = s->next;
    if (!s && x->n_services < x->max_services && (s = calloc(1, sizeof *s))) {
        char l[1024] = "";
        pg_metrics_label(l, sizeof l, "processor", x->id);
        if (!(s->name = strdup(name)) || pg_metrics_label(l, sizeof l, "service_name", name)) {
            free(s->name);
            free(s);
            s = NULL;
        } else {
            s->matched =
                pg_metrics_counter(x->reg, "profgate_profiler_overhead_samples_total",
                                   "CPU samples (counts) whose stacks hold profiler frames.", l);
            s->total = pg_metrics_counter(x->reg, "profgate_profiler_cpu_samples_total",
                                          "CPU samples (counts) measured.", l);
            pg_metrics_gauge_fn(x->reg, "profgate_profiler_overhead_ratio",
                                "Share of the latest CPU profile's samples in the profiler's "
                                "own frames.",
                                l, ratio_of, s);
            s->next = x->services;
            x->services = s;
            x->n_services++;
        }
    }
    pthread_mutex_unlock(&x->mu);
    return s;
}

/* service.name of a resource ("unknown_service" when absent). */
static const char *service_name(const pg_otlp_rprofiles *rp)
{
    const pg_otlp_resource *r = rp->resource;
    for (size_t i = 0; r && i < r->n_attributes; i++) {
        const pg_otlp_kv *kv = r->attributes[i];
        if (kv->key && strcmp(kv->key, "service.name") == 0 && kv->value &&
            kv->value->value_case == PG_ANY_STRING && kv->value->string_value)
            return kv->value->string_value;
    }
    return "unknown_service";
}

/* Appends the ratio attribute to every CPU profile of sp. */
static int add_attr(pg_batch *b, pg_otlp_sprofiles *sp, double ratio)
{
    pg_otlp_any v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    v.value_case = PG_ANY_DOUBLE;
    v.double_value = ratio;
    int32_t key = pg_dict_string(b, PG_PO_ATTRIBUTE, strlen(PG_PO_ATTRIBUTE));
    if (key < 0) return key;
    int32_t a = pg_dict_attr(b, key, &v, 0);
    if (a < 0) return a;
    pg_arena *ar = pg_batch_arena(b);
    const pg_otlp_dict *d = pg_batch_dict(b);
    for (size_t k = 0; k < sp->n_profiles; k++) {
        pg_otlp_profile *p = sp->profiles[k];
        if (!pg_po_is_cpu(d, p)) continue;
        int32_t *ai = pg_arena_alloc(ar, (p->n_attribute_indices + 1) * sizeof *ai);
        if (!ai) return pg_arena_status(ar);
        if (p->n_attribute_indices) memcpy(ai, p->attribute_indices, p->n_attribute_indices * 4);
        ai[p->n_attribute_indices] = a;
        p->attribute_indices = ai;
        p->n_attribute_indices++;
    }
    return 0;
}

/* Measures the CPU profile of every scope, updates the series, passes b on. */
static int po_consume(void *self, pg_batch *b, char *err, size_t errlen)
{
    po *x = self;
    pg_po_memo memo = {0};
    const pg_otlp_data *data = pg_batch_data(b);
    int rc = 0;
    for (size_t r = 0; r < data->n_resource_profiles && !rc; r++) {
        pg_otlp_rprofiles *rp = data->resource_profiles[r];
        for (size_t s = 0; s < rp->n_scope_profiles && !rc; s++) {
            pg_otlp_sprofiles *sp = rp->scope_profiles[s];
            const pg_otlp_profile *p = pg_po_pick(data->dictionary, sp);
            if (!p) continue;
            uint64_t matched = 0, total = 0;
            if ((rc = pg_po_measure(&x->m, &memo, data->dictionary, p, &matched, &total))) break;
            pg_counter_add(x->profiles, 1);
            double ratio = total ? (double)matched / (double)total : 0;
            svc *sv = service(x, service_name(rp));
            if (sv) {
                uint64_t bits;
                memcpy(&bits, &ratio, sizeof bits);
                atomic_store(&sv->ratio_bits, bits);
                pg_counter_add(sv->matched, matched);
                pg_counter_add(sv->total, total);
            } else {
                pg_counter_add(x->untracked, 1);
            }
            if (x->add_attribute && total) rc = add_attr(b, sp, ratio);
        }
    }
    pg_po_memo_free(&memo);
    if (rc) {
        pg_batch_free(b);
        return pg_err(err, errlen, rc, "profiler_overhead: %s", pg_status_name(rc));
    }
    if (!x->next.consume) {
        pg_batch_free(b);
        return 0;
    }
    return pg_consume(&x->next, b, err, errlen);
}

static void po_shutdown(void *self, int64_t deadline_ns)
{
    (void)self;
    (void)deadline_ns;
}

const pg_component_factory pg_profiler_overhead_processor_factory = {
    .type = "profiler_overhead",
    .kind = PG_CFG_PROCESSOR,
    .config = {.table = PO_FIELDS, .size = sizeof(po_config), .validate = po_validate},
    .create = po_create,
    .shutdown = po_shutdown,
    .destroy = po_destroy,
    .consume = po_consume,
    .mutates = 1,
};
