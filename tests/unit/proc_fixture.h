/* Shared by the processor unit tests (resource, filter, tracelink): a processor created
 * from YAML through the real registry and config loader, a consumer that keeps the last
 * batch it got, a hand-built batch of two resources, and a compact rendering of a batch
 * (one line per profile) for exact expectations. Header-only. */
#ifndef PG_TEST_PROC_FIXTURE_H
#define PG_TEST_PROC_FIXTURE_H

#include "component_harness.h"
#include "core/edit_fixture.h"
#include "dict_check.h"
#include "pipeline/core/anyvalue.h"

/* A consumer that keeps the last batch (freeing the one before). */
typedef struct pf_keep {
    pg_batch *last;
    int calls;
} pf_keep;

static inline int pf_keep_consume(void *ctx, pg_batch *b, char *err, size_t errlen)
{
    pf_keep *k = ctx;
    (void)err;
    (void)errlen;
    pg_batch_free(k->last);
    k->last = b;
    k->calls++;
    return 0;
}

/* A processor of type `type` built from the YAML body of processors.<id> (a full config
 * around it with a file receiver and a nop exporter). */
typedef struct pf_proc {
    const pg_component_factory *f;
    pg_config *cfg;
    void *self;
    pf_keep out;
} pf_proc;

/* Creates and starts it; returns 0 or a status (message printed). */
static inline int pf_open(pf_proc *p, hx_host *h, const char *id, const char *body)
{
    char yaml[8192], type[64], err[512] = "";
    snprintf(type, sizeof type, "%s", id);
    char *slash = strchr(type, '/');
    if (slash) *slash = 0;
    snprintf(yaml, sizeof yaml,
             "receivers:\n  file:\n    include: [a]\nexporters:\n  nop:\nprocessors:\n  %s:\n%s"
             "service:\n  pipelines:\n    profiles:\n      receivers: [file]\n"
             "      processors: [%s]\n      exporters: [nop]\n",
             id, body, id);
    memset(p, 0, sizeof *p);
    p->f = pg_registry_lookup(PG_CFG_PROCESSOR, type);
    const void *c = NULL;
    p->cfg = hx_load(yaml, PG_CFG_PROCESSOR, id, &c);
    if (!p->f || !c) return PG_EINVAL;
    pg_component_settings s = {.id = id, .kind = PG_CFG_PROCESSOR, .host = h->host};
    int rc =
        p->f->create(&s, c, (pg_consumer){pf_keep_consume, &p->out}, &p->self, err, sizeof err);
    if (!rc && p->f->start) rc = p->f->start(p->self, err, sizeof err);
    if (rc) fprintf(stderr, "%s: %s\n", id, err);
    return rc;
}

/* Hands b to the processor; returns its status and leaves the output in p->out.last. */
static inline int pf_run(pf_proc *p, pg_batch *b)
{
    char err[512] = "";
    pg_batch_free(p->out.last);
    p->out.last = NULL;
    int rc = p->f->consume(p->self, b, err, sizeof err);
    if (rc) fprintf(stderr, "consume: %s\n", err);
    return rc;
}

static inline void pf_close(pf_proc *p)
{
    pg_batch_free(p->out.last);
    p->out.last = NULL;
    hx_stop(p->f, &p->self, &p->cfg);
}

/* Appends a resource with attribute service.name=<svc> holding one scope with a
 * samples/count and a cpu/nanoseconds profile of n samples each (fx_profile). */
static inline pg_otlp_rprofiles *pf_resource(pg_batch *b, const char *svc, size_t n)
{
    pg_otlp_rprofiles *rp = NULL;
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, &rp);
    pg_otlp_any v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    v.value_case = PG_ANY_STRING;
    v.string_value = (char *)svc;
    if (svc) pg_resource_attr_set(b, rp, "service.name", &v);
    fx_profile(b, sp, "samples", "count", n, 1);
    fx_profile(b, sp, "cpu", "nanoseconds", n, 1000);
    return rp;
}

/* One line per profile: "[k=v,...] type:unit: value{attr=v,...}|link ..." (resource
 * attributes in order, sample attributes in order, link as trace/span hex when set).
 * malloc-owned. */
static inline char *pf_render(const pg_batch *b)
{
    pg_buf o = {0};
    char line[4096], buf[256];
    const pg_otlp_dict *d = pg_batch_dict(b);
    pg_profile_iter it;
    for (pg_profile_iter_init(&it, b); pg_profile_iter_next(&it);) {
        size_t n = 0;
        n += (size_t)snprintf(line + n, sizeof line - n, "[");
        const pg_otlp_resource *r = it.resource->resource;
        for (size_t i = 0; r && i < r->n_attributes; i++)
            n += (size_t)snprintf(line + n, sizeof line - n, "%s%s=%s", i ? "," : "",
                                  pg_kv_key(b, r->attributes[i]),
                                  pg_any_text(b, r->attributes[i]->value, buf, sizeof buf));
        const pg_otlp_valuetype *t = it.profile->msg.sample_type;
        n += (size_t)snprintf(line + n, sizeof line - n,
                              "] %s:%s:", d->string_table[t->type_strindex],
                              d->string_table[t->unit_strindex]);
        pg_otlp_profile *m = &it.profile->msg;
        for (size_t i = 0; i < m->n_attribute_indices && n < sizeof line - 200; i++)
            n += (size_t)snprintf(
                line + n, sizeof line - n, "%s%s=%s", i ? "," : " <",
                pg_attr_key(b, m->attribute_indices[i]),
                pg_any_text(b, pg_attr_value(b, m->attribute_indices[i]), buf, sizeof buf));
        if (m->n_attribute_indices) n += (size_t)snprintf(line + n, sizeof line - n, ">");
        for (size_t i = 0; i < it.profile->samples.n && n < sizeof line - 200; i++) {
            pg_sample_ref s;
            pg_samples_at(&it.profile->samples, i, &s);
            n += (size_t)snprintf(line + n, sizeof line - n, " %lld",
                                  (long long)(s.n_values ? s.values[0] : 0));
            for (size_t k = 0; k < s.n_attrs; k++)
                n += (size_t)snprintf(
                    line + n, sizeof line - n, "%s%s=%s", k ? "," : "{", pg_attr_key(b, s.attrs[k]),
                    pg_any_text(b, pg_attr_value(b, s.attrs[k]), buf, sizeof buf));
            if (s.n_attrs) n += (size_t)snprintf(line + n, sizeof line - n, "}");
            if (s.link > 0) {
                const pg_otlp_link *l = d->link_table[s.link];
                n += (size_t)snprintf(line + n, sizeof line - n, "|");
                for (size_t k = 0; k < l->trace_id.len; k++)
                    n += (size_t)snprintf(line + n, sizeof line - n, "%02x", l->trace_id.data[k]);
                n += (size_t)snprintf(line + n, sizeof line - n, "/");
                for (size_t k = 0; k < l->span_id.len; k++)
                    n += (size_t)snprintf(line + n, sizeof line - n, "%02x", l->span_id.data[k]);
            }
        }
        n += (size_t)snprintf(line + n, sizeof line - n, "\n");
        pg_buf_append(&o, line, n);
    }
    pg_buf_append(&o, "", 1);
    return (char *)o.data;
}

/* 1 when pf_render(b) equals want (prints both otherwise). */
static inline int pf_is(const pg_batch *b, const char *want)
{
    if (!b) {
        fprintf(stderr, "no batch came out; wanted:\n%s", want);
        return 0;
    }
    char *got = pf_render(b);
    int ok = strcmp(got, want) == 0;
    if (!ok) fprintf(stderr, "--- want\n%s--- got\n%s", want, got);
    free(got);
    return ok;
}

#endif
