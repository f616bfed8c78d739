/* aggregate: config; profiles of one series summed per identical stack + attributes
 * (time = window start, duration = window), siblings of one pprof still one pprof; two
 * services or two tenants never mixed; drop_attributes collapses labels; max_series and
 * max_bytes force a flush; shutdown flushes; input acknowledgements are held until the
 * merged batch is final downstream and carry its outcome; the timer closes windows. */
#include "processors/aggregate/aggregate.h"
#include "component_harness.h"
#include "core/edit_fixture.h"

#include "pipeline/core/anyvalue.h"
#include "pipeline/telemetry/metrics.h"

static const pg_component_factory *F = &pg_aggregate_processor_factory;

/* A consumer that keeps every batch (up to 16) with a hold on its ack, as a queue does,
 * and may refuse. */
typedef struct sink {
    pthread_mutex_t mu;
    pg_batch *got[16];
    int n, refuse;
} sink;

static int sink_consume(void *ctx, pg_batch *b, char *err, size_t errlen)
{
    sink *s = ctx;
    pthread_mutex_lock(&s->mu);
    int refuse = s->refuse;
    if (!refuse && s->n < 16) {
        pg_ack_hold(pg_batch_ack(b));
        s->got[s->n++] = b;
        b = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    pg_batch_free(b);
    return refuse ? pg_err(err, errlen, PG_EAGAIN, "busy") : 0;
}

static void sink_clear(sink *s)
{
    for (int i = 0; i < s->n; i++) {
        pg_ack_settle(pg_batch_ack(s->got[i]), PG_ACK_DELIVERED);
        pg_batch_free(s->got[i]);
    }
    s->n = 0;
}

typedef struct proc {
    pg_config *cfg;
    void *self;
    hx_host h;
    sink out;
} proc;

static int proc_open(proc *p, const char *body)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "receivers:\n  file:\n    include: [/nonexistent]\nprocessors:\n  aggregate:\n%s"
             "exporters:\n  nop:\nservice:\n  pipelines:\n    profiles:\n      receivers: [file]\n"
             "      processors: [aggregate]\n      exporters: [nop]\n",
             body);
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->out.mu, NULL);
    const void *c = NULL;
    p->cfg = hx_load(yaml, PG_CFG_PROCESSOR, "aggregate", &c);
    CHECK(c != NULL);
    if (!c) return PG_EINVAL;
    hx_host_start(&p->h);
    pg_component_settings s = {.id = "aggregate", .kind = PG_CFG_PROCESSOR, .host = p->h.host};
    char err[256] = "";
    int rc = F->create(&s, c, (pg_consumer){sink_consume, &p->out}, &p->self, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    if (!rc) rc = F->start(p->self, err, sizeof err);
    return rc;
}

static void proc_close(proc *p)
{
    hx_stop(F, &p->self, &p->cfg);
    sink_clear(&p->out);
    hx_host_stop(&p->h);
}

static void consume(proc *p, pg_batch *b)
{
    char err[256] = "";
    CHECK_MSG(F->consume(p->self, b, err, sizeof err) == 0, "%s", err);
}

/* One scope (resource service.name = svc) holding samples/count and cpu/nanoseconds
 * profiles of 4 samples (values base + i and 1000 x that) decoded from one pprof; sample
 * i carries attribute thread=main for odd i and req=<req> on every sample. */
static pg_batch *svc_batch(const char *svc, const char *tenant, int64_t base, const char *req)
{
    pg_batch *src = pg_batch_new(0);
    pg_otlp_rprofiles *rp = NULL;
    pg_otlp_sprofiles *sp = pg_batch_add_scope(src, &rp);
    pg_profile *a = fx_profile(src, sp, "samples", "count", 4, base);
    pg_profile *c = fx_profile(src, sp, "cpu", "nanoseconds", 4, base * 1000);
    int32_t th = pg_dict_attr_str(src, "thread", "main", 4);
    int32_t rq = pg_dict_attr_str(src, "req", req, strlen(req));
    for (size_t i = 0; i < 4; i++) {
        int32_t at[2] = {rq, th};
        pg_sample_set_attrs(src, a, i, at, i % 2 ? 2 : 1);
        pg_sample_set_attrs(src, c, i, at, i % 2 ? 2 : 1);
        pg_sample_set_value(src, c, i, 0, (base + (int64_t)i) * 1000);
    }
    pg_pprof_group *g = NULL;
    size_t ng = 0;
    char err[256] = "";
    pg_batch *out = pg_batch_new(0);
    pg_buf buf = {0};
    pg_pprof_encode_opts o = {.links_as_labels = 1};
    CHECK(pg_pprof_plan(src, &g, &ng, err, sizeof err) == 0 && ng == 1);
    CHECK(pg_pprof_encode(src, &g[0], &o, &buf, err, sizeof err) == 0);
    pg_otlp_sprofiles *osp = NULL;
    CHECK_MSG(pg_pprof_decode(out, buf.data, buf.len, NULL, &osp, err, sizeof err) == 0, "%s", err);
    pg_buf_free(&buf);
    pg_pprof_groups_free(g, ng);
    pg_batch_free(src);
    pg_arena *ar = pg_batch_arena(out);
    pg_otlp_rprofiles *orp = pg_batch_data(out)->resource_profiles[0];
    pg_otlp_resource *res = pg_otlp_resource_new(ar);
    pg_otlp_kv *kv = pg_otlp_kv_new(ar);
    kv->key = pg_arena_strndup(ar, "service.name", 12);
    kv->value = pg_otlp_any_new(ar);
    kv->value->value_case = PG_ANY_STRING;
    kv->value->string_value = pg_arena_strndup(ar, svc, strlen(svc));
    pg_otlp_push(ar, (void ***)&res->attributes, &res->n_attributes, kv);
    orp->resource = res;
    if (tenant) pg_batch_meta_set(out, "x-scope-orgid", tenant);
    return out;
}

/* Sum of every value of every profile of type t in b. */
static int64_t total(const pg_batch *b, const char *t)
{
    const pg_otlp_dict *d = pg_batch_dict(b);
    int64_t s = 0;
    pg_profile_iter it;
    for (pg_profile_iter_init(&it, b); pg_profile_iter_next(&it);) {
        const pg_otlp_profile *p = &it.profile->msg;
        if (!p->sample_type || strcmp(d->string_table[p->sample_type->type_strindex], t)) continue;
        for (size_t i = 0; i < it.profile->samples.n; i++)
            s += pg_sample_value(it.profile, i, 0);
    }
    return s;
}

static void test_config(void)
{
    char err[256] = "";
    CHECK_STR(F->type, "aggregate");
    CHECK(F->kind == PG_CFG_PROCESSOR && F->consume && !F->mutates);
    CHECK_MSG(pg_cfg_table_check(F->config.table, err, sizeof err) == 0, "%s", err);
}

/* Three inputs of one service: one profile per type, 4 rows, sums. */
static void test_merge_one_series(void)
{
    proc p;
    if (proc_open(&p, "    window: 1h\n")) return;
    consume(&p, svc_batch("a", NULL, 1, "r1"));
    consume(&p, svc_batch("a", NULL, 10, "r1"));
    consume(&p, svc_batch("a", NULL, 100, "r1"));
    CHECK(p.out.n == 0);
    pg_aggregate_flush_now(p.self);
    CHECK(p.out.n == 1);
    if (p.out.n == 1) {
        pg_batch *b = p.out.got[0];
        CHECK(pg_batch_profile_count(b) == 2 && pg_batch_sample_count(b) == 8);
        CHECK(total(b, "samples") ==
              (1 + 2 + 3 + 4) + (10 + 11 + 12 + 13) + (100 + 101 + 102 + 103));
        CHECK(total(b, "cpu") == 1000 * total(b, "samples"));
        pg_profile *x = fx_nth(b, 0);
        CHECK(x->msg.duration_nano == 3600000000000ull &&
              x->msg.time_unix_nano % 3600000000000ull == 0 && x->msg.time_unix_nano > 0);
        pg_pprof_group *g = NULL;
        size_t ng = 0;
        char err[256] = "";
        CHECK(pg_pprof_plan(b, &g, &ng, err, sizeof err) == 0 && ng == 1 && g[0].n_profiles == 2 &&
              g[0].positional);
        pg_pprof_groups_free(g, ng);
    }
    proc_close(&p);
}

/* Two services, two tenants: never mixed. drop_attributes: req collapses. */
static void test_separation_and_drop(void)
{
    proc p;
    if (proc_open(&p, "    window: 1h\n    drop_attributes: [req]\n")) return;
    consume(&p, svc_batch("a", "t1", 1, "r1"));
    consume(&p, svc_batch("a", "t1", 1, "r2")); /* same after dropping req */
    consume(&p, svc_batch("b", "t1", 5, "r1"));
    consume(&p, svc_batch("a", "t2", 7, "r1"));
    pg_aggregate_flush_now(p.self);
    CHECK_MSG(p.out.n == 2, "%d batches", p.out.n);
    for (int i = 0; i < p.out.n; i++) {
        pg_batch *b = p.out.got[i];
        const char *t = pg_batch_meta_get(b, "x-scope-orgid");
        CHECK(t != NULL);
        if (!t) continue;
        if (strcmp(t, "t1") == 0) {
            CHECK(pg_batch_data(b)->n_resource_profiles == 2);
            CHECK(pg_batch_sample_count(b) == 16); /* 2 services x 2 types x 4 rows */
            CHECK(total(b, "samples") == 2 * 10 + (5 + 6 + 7 + 8));
        } else {
            CHECK(pg_batch_sample_count(b) == 8 && total(b, "samples") == 7 + 8 + 9 + 10);
        }
        /* no req attribute left in the dictionary */
        const pg_otlp_dict *d = pg_batch_dict(b);
        for (size_t k = 1; k < d->n_attribute_table; k++)
            CHECK(strcmp(d->string_table[d->attribute_table[k]->key_strindex], "req") != 0);
    }
    proc_close(&p);
}

typedef struct seen {
    int calls;
    pg_ack_outcome outcome;
} seen;

static void on_ack(void *ctx, pg_ack_outcome o)
{
    seen *s = ctx;
    s->calls++;
    s->outcome = o;
}

/* Bounds force a flush; acks fire only once the merged batch is final downstream. */
static void test_bounds_and_acks(void)
{
    proc p;
    if (proc_open(&p, "    window: 1h\n    max_series: 4\n")) return;
    seen s1 = {0}, s2 = {0}, s3 = {0};
    pg_batch *b1 = svc_batch("a", NULL, 1, "r"), *b2 = svc_batch("b", NULL, 1, "r"),
             *b3 = svc_batch("c", NULL, 1, "r");
    pg_ack *a1 = pg_ack_new(on_ack, &s1), *a2 = pg_ack_new(on_ack, &s2),
           *a3 = pg_ack_new(on_ack, &s3);
    pg_batch_set_ack(b1, a1);
    pg_batch_set_ack(b2, a2);
    pg_batch_set_ack(b3, a3);
    consume(&p, b1);
    pg_ack_release(a1);
    consume(&p, b2);
    pg_ack_release(a2);
    CHECK(s1.calls == 0 && s2.calls == 0 && p.out.n == 0);
    consume(&p, b3); /* 4 series held + 2 more > 4: flush a and b first */
    pg_ack_release(a3);
    CHECK_MSG(p.out.n == 1 && s1.calls == 0 && s3.calls == 0, "%d %d %d", p.out.n, s1.calls,
              s3.calls);
    /* the sink holds the merged batch: its ack (and so a1, a2) fires when it is settled */
    sink_clear(&p.out);
    CHECK(s1.calls == 1 && s1.outcome == PG_ACK_DELIVERED && s2.calls == 1 && s3.calls == 0);
    /* refused downstream: the inputs are not delivered */
    p.out.refuse = 1;
    pg_aggregate_flush_now(p.self);
    CHECK(s3.calls == 1 && s3.outcome == PG_ACK_ABANDONED);
    p.out.refuse = 0;
    pg_metrics *m = pg_host_metrics(p.h.host);
    pg_buf t = {0};
    pg_metrics_write(m, &t);
    pg_buf_append(&t, "", 1);
    CHECK(strstr(
        (char *)t.data,
        "profgate_aggregate_flushes_total{processor=\"aggregate\",reason=\"max_series\"} 1"));
    pg_buf_free(&t);
    proc_close(&p);
    /* max_bytes */
    if (proc_open(&p, "    window: 1h\n    max_bytes: 1KiB\n")) return;
    consume(&p, svc_batch("a", NULL, 1, "r"));
    CHECK(p.out.n == 1);
    proc_close(&p);
}

/* Shutdown flushes; the timer closes a short window. */
static void test_shutdown_and_timer(void)
{
    proc p;
    if (proc_open(&p, "    window: 1h\n")) return;
    consume(&p, svc_batch("a", NULL, 1, "r"));
    F->shutdown(p.self, pg_now_mono_ns() + 1000000000);
    CHECK(p.out.n == 1);
    proc_close(&p);
    if (proc_open(&p, "    window: 100ms\n")) return;
    consume(&p, svc_batch("a", NULL, 1, "r"));
    for (int i = 0; i < 100; i++) {
        pthread_mutex_lock(&p.out.mu);
        int n = p.out.n;
        pthread_mutex_unlock(&p.out.mu);
        if (n) break;
        hx_sleep_ms(10);
    }
    pthread_mutex_lock(&p.out.mu);
    CHECK_MSG(p.out.n == 1, "%d batches after the window", p.out.n);
    pthread_mutex_unlock(&p.out.mu);
    proc_close(&p);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    pg_log_configure(PG_LOG_ERROR, 0);
    test_config();
    test_merge_one_series();
    test_separation_and_drop();
    test_bounds_and_acks();
    test_shutdown_and_timer();
    TEST_MAIN_END();
}
