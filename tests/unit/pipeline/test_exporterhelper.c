/* The exporter helper in memory: retries (nothing lost, retries counted), permanent
 * errors (dropped, counted, not retried), retry budget, queue full in both modes and by
 * bytes, synchronous mode, shutdown (drain, leftovers counted), batching (merge by
 * metadata, content equal to the inputs, max_size split, flush on shutdown), gauges. */
#include "pipeline/core/dict.h"
#include "pipeline/core/err.h"
#include "pipeline/core/merge.h"
#include "pipeline/exporterhelper.h"
#include "pipeline/host.h"
#include "pipeline/translate/otlp_dump.h"
#include "testlib.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000LL

/* ---- batches: profile i of batch `tag` has sample type "t<tag>_<i>" ---- */

static int32_t S(pg_batch *b, const char *s)
{
    return pg_dict_string(b, s, strlen(s));
}

static pg_batch *mk(int tag, size_t nprof, size_t nsamples, const char *tenant)
{
    pg_batch *b = pg_batch_new(0);
    pg_arena *a = pg_batch_arena(b);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    for (size_t p = 0; p < nprof; p++) {
        char name[32];
        snprintf(name, sizeof name, "t%d_%zu", tag, p);
        pg_otlp_profile *pr = pg_otlp_profile_new(a);
        pr->sample_type = pg_otlp_valuetype_new(a);
        pr->sample_type->type_strindex = S(b, name);
        pr->sample_type->unit_strindex = S(b, "count");
        pr->samples = pg_arena_alloc(a, (nsamples ? nsamples : 1) * sizeof *pr->samples);
        pg_otlp_sample *s = pg_otlp_samples_new(a, nsamples);
        for (size_t i = 0; i < nsamples; i++) {
            char fn[32];
            snprintf(fn, sizeof fn, "fn%zu", i % 3);
            int32_t f = pg_dict_function(b, S(b, fn), S(b, fn), S(b, "x.c"), 0);
            pg_otlp_line line = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINE__INIT, *lp = &line;
            line.function_index = f;
            pg_otlp_location l = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LOCATION__INIT;
            l.lines = &lp;
            l.n_lines = 1;
            int32_t loc = pg_dict_location(b, &l);
            s[i].stack_index = pg_dict_stack(b, &loc, 1);
            int64_t v = (int64_t)(tag * 100 + i + 1);
            s[i].values = pg_arena_memdup(a, &v, sizeof v);
            s[i].n_values = 1;
            pr->samples[i] = &s[i];
        }
        pr->n_samples = nsamples;
        pg_otlp_push(a, (void ***)&sp->profiles, &sp->n_profiles, pr);
    }
    if (tenant) pg_batch_meta_set(b, "x-tenant", tenant);
    pg_batch_set_origin(b, "test", 1);
    return b;
}

static char *dump(const pg_batch *b)
{
    pg_buf o = {0};
    pg_otlp_dump(b, PG_DUMP_CANONICAL, &o);
    pg_buf_append(&o, "", 1);
    return (char *)o.data;
}

/* ---- the sink ---- */

typedef struct sink {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fail_first;    /* the first N calls return PG_EAGAIN */
    int fail_code;     /* when set, every call returns it */
    bool gate;         /* calls wait while set (until their deadline: then PG_EAGAIN) */
    int calls, batches;
    size_t profiles, samples;
    char tags[256][16]; /* every profile delivered */
    int ntags;
    pg_batch *got[16]; /* clones of the first batches delivered */
    char tenants[16][16];
} sink;

static void sink_init(sink *s)
{
    memset(s, 0, sizeof *s);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
}

static void sink_free(sink *s)
{
    for (int i = 0; i < 16; i++) pg_batch_free(s->got[i]);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
}

static void sink_gate(sink *s, bool closed)
{
    pthread_mutex_lock(&s->mu);
    s->gate = closed;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static int sink_send(void *ctx, const pg_batch *b, int64_t deadline, char *err, size_t errlen)
{
    sink *s = ctx;
    pthread_mutex_lock(&s->mu);
    s->calls++;
    while (s->gate && pg_now_mono_ns() < deadline) {
        struct timespec ts = {(time_t)(deadline / 1000000000), (long)(deadline % 1000000000)};
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    int rc = 0;
    if (s->gate) rc = pg_err(err, errlen, PG_EAGAIN, "deadline passed");
    else if (s->fail_code) rc = pg_err(err, errlen, s->fail_code, "sink refuses");
    else if (s->calls <= s->fail_first) rc = pg_err(err, errlen, PG_EAGAIN, "sink busy");
    if (!rc) {
        const pg_otlp_data *d = pg_batch_data(b);
        for (size_t r = 0; r < d->n_resource_profiles; r++)
            for (size_t c = 0; c < d->resource_profiles[r]->n_scope_profiles; c++) {
                const pg_otlp_sprofiles *sp = d->resource_profiles[r]->scope_profiles[c];
                for (size_t p = 0; p < sp->n_profiles && s->ntags < 256; p++)
                    snprintf(s->tags[s->ntags++], 16, "%s",
                             d->dictionary->string_table[sp->profiles[p]->sample_type->type_strindex]);
            }
        if (s->batches < 16) {
            s->got[s->batches] = pg_batch_clone(b, 0);
            const char *t = pg_batch_meta_get(b, "x-tenant");
            snprintf(s->tenants[s->batches], 16, "%s", t ? t : "");
        }
        s->batches++;
        s->profiles += pg_batch_profile_count(b);
        s->samples += pg_batch_sample_count(b);
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Waits until the sink delivered `profiles` profiles (5 s at most). */
static bool sink_wait(sink *s, size_t profiles)
{
    int64_t until = pg_now_mono_ns() + 5000 * MS;
    struct timespec ts = {(time_t)(until / 1000000000), (long)(until % 1000000000)};
    pthread_mutex_lock(&s->mu);
    while (s->profiles < profiles && pg_now_mono_ns() < until) pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    bool ok = s->profiles >= profiles;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

static int tag_count(sink *s, const char *tag)
{
    int n = 0;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->ntags; i++) n += strcmp(s->tags[i], tag) == 0;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static bool wait_empty(pg_exporter_helper *h)
{
    for (int i = 0; i < 5000 && pg_exporter_helper_queue_size(h); i++) usleep(1000);
    return pg_exporter_helper_queue_size(h) == 0;
}

/* ---- fixture ---- */

static pg_host *host;

static void fast_cfg(pg_exporter_helper_config *c)
{
    pg_exporter_helper_config_default(c);
    c->timeout = 2000 * MS;
    c->sending_queue.num_consumers = 2;
    c->retry_on_failure.initial_interval = 1 * MS;
    c->retry_on_failure.max_interval = 2 * MS;
    c->retry_on_failure.max_elapsed_time = 5000 * MS;
}

static pg_exporter_helper *mk_helper(const char *id, const pg_exporter_helper_config *c, sink *s,
                                     pg_component_metrics *cm)
{
    static pg_component_settings st[32];
    static int n;
    pg_component_settings *set = &st[n++ % 32];
    *set = (pg_component_settings){.id = id, .kind = PG_CFG_EXPORTER, .host = host};
    pg_exporter_helper *h = NULL;
    char err[256] = "";
    int rc = pg_exporter_helper_new(set, c, sink_send, s, &h, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    rc = pg_exporter_helper_start(h, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    pg_component_metrics_init(cm, pg_host_metrics(host), "exporter", id);
    return h;
}

static void test_retry_then_success(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    sink s;
    sink_init(&s);
    s.fail_first = 7;
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("retry/ok", &c, &s, &cm);
    for (int i = 0; i < 5; i++) CHECK(pg_exporter_helper_consume(h, mk(i, 2, 3, NULL), NULL, 0) == 0);
    CHECK(sink_wait(&s, 10));
    CHECK(wait_empty(h));
    pg_exporter_helper_shutdown(h, pg_now_mono_ns() + 1000 * MS);
    for (int i = 0; i < 5; i++) {
        char t[16];
        snprintf(t, sizeof t, "t%d_1", i);
        CHECK_MSG(tag_count(&s, t) == 1, "%s delivered %d times", t, tag_count(&s, t));
    }
    CHECK(s.calls == 12 && s.batches == 5);
    CHECK_MSG(pg_counter_get(cm.retries) == 7, "retries %llu", (unsigned long long)pg_counter_get(cm.retries));
    CHECK(pg_counter_get(cm.sent_profiles) == 10 && pg_counter_get(cm.sent_samples) == 30);
    CHECK(pg_counter_get(cm.sent_bytes) > 0);
    CHECK(pg_counter_get(cm.failed_profiles) == 0);
    CHECK(pg_histogram_count(cm.send_latency) == 12);
    pg_exporter_helper_free(h);
    sink_free(&s);
}

static void test_permanent_error(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    sink s;
    sink_init(&s);
    s.fail_code = PG_EINVAL;
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("retry/permanent", &c, &s, &cm);
    for (int i = 0; i < 3; i++) CHECK(pg_exporter_helper_consume(h, mk(i, 1, 4, NULL), NULL, 0) == 0);
    CHECK(wait_empty(h));
    CHECK(s.calls == 3); /* not retried */
    CHECK(pg_counter_get(cm.retries) == 0 && pg_counter_get(cm.sent_profiles) == 0);
    CHECK(pg_counter_get(cm.failed_profiles) == 3 && pg_counter_get(cm.failed_samples) == 12);
    pg_exporter_helper_free(h);
    sink_free(&s);
}

static void test_retry_budget_spent(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.retry_on_failure.max_elapsed_time = 30 * MS;
    sink s;
    sink_init(&s);
    s.fail_code = PG_EAGAIN;
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("retry/budget", &c, &s, &cm);
    CHECK(pg_exporter_helper_consume(h, mk(1, 1, 2, NULL), NULL, 0) == 0);
    CHECK(wait_empty(h));
    CHECK(s.calls > 3 && pg_counter_get(cm.retries) == (uint64_t)s.calls - 1);
    CHECK(pg_counter_get(cm.failed_profiles) == 1 && pg_counter_get(cm.sent_profiles) == 0);
    pg_exporter_helper_free(h);
    sink_free(&s);
}

static void test_queue_full_refuse(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.sending_queue.num_consumers = 1;
    c.sending_queue.queue_size = 2;
    sink s;
    sink_init(&s);
    sink_gate(&s, true);
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("full/refuse", &c, &s, &cm);
    char err[256] = "";
    CHECK(pg_exporter_helper_consume(h, mk(1, 1, 1, NULL), err, sizeof err) == 0);
    CHECK(pg_exporter_helper_consume(h, mk(2, 1, 1, NULL), err, sizeof err) == 0);
    CHECK(pg_exporter_helper_consume(h, mk(3, 1, 5, NULL), err, sizeof err) == PG_EAGAIN);
    CHECK_STR(err, "full/refuse: sending queue is full");
    CHECK(pg_counter_get(cm.enqueue_failed_profiles) == 1);
    CHECK(pg_counter_get(cm.enqueue_failed_samples) == 5);
    CHECK(pg_exporter_helper_queue_size(h) == 2);
    sink_gate(&s, false);
    CHECK(sink_wait(&s, 2));
    CHECK(wait_empty(h));
    CHECK(pg_exporter_helper_consume(h, mk(4, 1, 1, NULL), err, sizeof err) == 0);
    CHECK(sink_wait(&s, 3));
    CHECK(tag_count(&s, "t3_0") == 0);
    pg_exporter_helper_free(h);
    sink_free(&s);
}

static void test_queue_full_bytes(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.sending_queue.num_consumers = 1;
    pg_batch *probe = mk(1, 1, 50, NULL);
    uint64_t one = protobuf_c_message_get_packed_size(&pg_batch_data(probe)->base);
    pg_batch_free(probe);
    c.sending_queue.queue_bytes = one + one / 2; /* room for one such batch */
    sink s;
    sink_init(&s);
    sink_gate(&s, true);
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("full/bytes", &c, &s, &cm);
    char err[256] = "";
    CHECK(pg_exporter_helper_consume(h, mk(1, 1, 50, NULL), err, sizeof err) == 0);
    CHECK(pg_exporter_helper_consume(h, mk(2, 1, 50, NULL), err, sizeof err) == PG_EAGAIN);
    CHECK(pg_exporter_helper_consume(h, mk(3, 1, 500, NULL), err, sizeof err) == PG_ELIMIT);
    CHECK(strstr(err, "exceeds the queue capacity") != NULL);
    sink_gate(&s, false);
    CHECK(sink_wait(&s, 1));
    pg_exporter_helper_free(h);
    sink_free(&s);
}

typedef struct producer {
    pg_exporter_helper *h;
    pg_batch *b;
    atomic_int done;
    int rc;
} producer;

static void *produce(void *arg)
{
    producer *p = arg;
    p->rc = pg_exporter_helper_consume(p->h, p->b, NULL, 0);
    atomic_store(&p->done, 1);
    return NULL;
}

static void test_queue_full_block(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.sending_queue.num_consumers = 1;
    c.sending_queue.queue_size = 1;
    c.sending_queue.block_on_overflow = true;
    c.timeout = 100 * MS; /* a send in progress at shutdown runs until its own deadline */
    sink s;
    sink_init(&s);
    sink_gate(&s, true);
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("full/block", &c, &s, &cm);
    CHECK(pg_exporter_helper_consume(h, mk(1, 1, 1, NULL), NULL, 0) == 0);
    producer p = {.h = h, .b = mk(2, 1, 1, NULL)};
    pthread_t t;
    pthread_create(&t, NULL, produce, &p);
    usleep(50000);
    CHECK(!atomic_load(&p.done)); /* blocked while full */
    sink_gate(&s, false);
    pthread_join(t, NULL);
    CHECK(p.rc == 0);
    CHECK(sink_wait(&s, 2));
    CHECK(tag_count(&s, "t1_0") == 1 && tag_count(&s, "t2_0") == 1);
    /* blocked producers are released with PG_EAGAIN by shutdown */
    sink_gate(&s, true);
    CHECK(pg_exporter_helper_consume(h, mk(3, 1, 1, NULL), NULL, 0) == 0);
    producer q = {.h = h, .b = mk(4, 1, 1, NULL)};
    pthread_create(&t, NULL, produce, &q);
    usleep(30000);
    CHECK(!atomic_load(&q.done));
    pg_exporter_helper_shutdown(h, pg_now_mono_ns() + 50 * MS);
    pthread_join(t, NULL);
    CHECK(q.rc == PG_EAGAIN);
    CHECK(pg_counter_get(cm.failed_profiles) == 1); /* t3 was left in memory: dropped */
    CHECK(pg_counter_get(cm.enqueue_failed_profiles) == 1);
    pg_exporter_helper_free(h);
    sink_free(&s);
}

static void test_shutdown(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.retry_on_failure.initial_interval = 10000 * MS;
    c.retry_on_failure.max_interval = 10000 * MS;
    c.retry_on_failure.max_elapsed_time = 0; /* retry forever: only shutdown stops it */
    sink s;
    sink_init(&s);
    s.fail_code = PG_EAGAIN;
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("shutdown/left", &c, &s, &cm);
    char err[256];
    CHECK(pg_exporter_helper_consume(h, mk(1, 2, 2, NULL), NULL, 0) == 0);
    CHECK(pg_exporter_helper_consume(h, mk(2, 2, 2, NULL), NULL, 0) == 0);
    CHECK(pg_exporter_helper_consume(h, mk(3, 2, 2, NULL), NULL, 0) == 0);
    usleep(20000);
    int64_t t0 = pg_now_mono_ns();
    pg_exporter_helper_shutdown(h, t0 + 100 * MS);
    /* retries due after the deadline are given up at once */
    CHECK_MSG(pg_now_mono_ns() - t0 < 90 * MS, "took %lld ms", (long long)((pg_now_mono_ns() - t0) / MS));
    CHECK(pg_counter_get(cm.failed_profiles) == 6 && pg_counter_get(cm.failed_samples) == 12);
    CHECK(pg_exporter_helper_queue_size(h) == 0);
    CHECK(pg_exporter_helper_consume(h, mk(4, 1, 1, NULL), err, sizeof err) == PG_EAGAIN);
    CHECK_STR(err, "shutdown/left: exporter is shutting down");
    pg_exporter_helper_free(h);
    sink_free(&s);

    /* a drain within the deadline delivers everything */
    fast_cfg(&c);
    sink_init(&s);
    h = mk_helper("shutdown/drain", &c, &s, &cm);
    for (int i = 0; i < 20; i++) CHECK(pg_exporter_helper_consume(h, mk(i, 1, 1, NULL), NULL, 0) == 0);
    pg_exporter_helper_shutdown(h, pg_now_mono_ns() + 2000 * MS);
    CHECK(s.profiles == 20 && pg_counter_get(cm.sent_profiles) == 20);
    pg_exporter_helper_free(h);
    sink_free(&s);

    /* not started: refused; free without start or shutdown is fine */
    pg_component_settings st = {.id = "shutdown/new", .kind = PG_CFG_EXPORTER, .host = host};
    sink_init(&s);
    CHECK(pg_exporter_helper_new(&st, &c, sink_send, &s, &h, err, sizeof err) == 0);
    CHECK(pg_exporter_helper_consume(h, mk(1, 1, 1, NULL), err, sizeof err) == PG_EAGAIN);
    CHECK_STR(err, "shutdown/new: exporter not started");
    pg_exporter_helper_free(h);
    sink_free(&s);
}

static void test_sync_mode(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.sending_queue.enabled = false;
    sink s;
    sink_init(&s);
    s.fail_first = 2;
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("sync", &c, &s, &cm);
    char err[256] = "";
    CHECK(pg_exporter_helper_consume(h, mk(1, 1, 1, NULL), err, sizeof err) == 0);
    CHECK(s.batches == 1 && pg_counter_get(cm.retries) == 2);
    s.fail_code = PG_EUNSUP;
    CHECK(pg_exporter_helper_consume(h, mk(2, 1, 1, NULL), err, sizeof err) == PG_EUNSUP);
    CHECK_STR(err, "sync: sink refuses");
    CHECK(pg_counter_get(cm.failed_profiles) == 1);
    pg_exporter_helper_free(h);
    sink_free(&s);
    /* invalid combinations are refused at creation */
    pg_exporter_helper_config bad;
    fast_cfg(&bad);
    bad.sending_queue.enabled = false;
    bad.batch.enabled = true;
    pg_component_settings st = {.id = "bad", .kind = PG_CFG_EXPORTER, .host = host};
    CHECK(pg_exporter_helper_new(&st, &bad, sink_send, &s, &h, err, sizeof err) == PG_EINVAL);
    CHECK_STR(err, "bad: batch needs sending_queue.enabled: true");
}

static void test_batching_merges(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.batch.enabled = true;
    c.batch.min_size = 5 * 2 * 3; /* five batches of 2 profiles x 3 samples */
    c.batch.flush_timeout = 10000 * MS;
    sink s;
    sink_init(&s);
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("batch/merge", &c, &s, &cm);
    pg_batch *want = pg_batch_new(0);
    for (int i = 0; i < 5; i++) {
        pg_batch *b = mk(i, 2, 3, "acme");
        CHECK(pg_batch_merge(want, b, NULL, 0) == 0);
        CHECK(pg_exporter_helper_consume(h, b, NULL, 0) == 0);
    }
    CHECK(sink_wait(&s, 10));
    CHECK(s.batches == 1 && s.samples == 30);
    CHECK_STR(s.tenants[0], "acme");
    char *a = dump(want), *b = dump(s.got[0]);
    CHECK_MSG(strcmp(a, b) == 0, "merged batch differs:\n%s\n---\n%s", a, b);
    free(a);
    free(b);
    CHECK(strcmp(pg_batch_origin(s.got[0]), "test") == 0);
    CHECK(wait_empty(h)); /* the unit is finished (and counted) after the send returns */
    CHECK(pg_counter_get(cm.sent_profiles) == 10);
    pg_batch_free(want);
    pg_exporter_helper_free(h);
    sink_free(&s);
}

static void test_batching_by_metadata_and_timeout(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.batch.enabled = true;
    c.batch.min_size = 1000;
    c.batch.flush_timeout = 30 * MS;
    sink s;
    sink_init(&s);
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("batch/meta", &c, &s, &cm);
    for (int i = 0; i < 6; i++)
        CHECK(pg_exporter_helper_consume(h, mk(i, 1, 2, i % 2 ? "odd" : "even"), NULL, 0) == 0);
    CHECK(sink_wait(&s, 6));
    CHECK(s.batches == 2);
    for (int k = 0; k < 2 && k < s.batches; k++) {
        bool odd = strcmp(s.tenants[k], "odd") == 0;
        CHECK(odd || strcmp(s.tenants[k], "even") == 0);
        const pg_otlp_data *d = pg_batch_data(s.got[k]);
        int mismatched = 0;
        for (size_t r = 0; r < d->n_resource_profiles; r++) {
            const pg_otlp_sprofiles *sp = d->resource_profiles[r]->scope_profiles[0];
            const char *t = d->dictionary->string_table[sp->profiles[0]->sample_type->type_strindex];
            mismatched += ((t[1] - '0') % 2 == 1) != odd;
        }
        CHECK(d->n_resource_profiles == 3 && mismatched == 0);
    }
    pg_exporter_helper_free(h);
    sink_free(&s);
}

static void test_batching_max_size_and_shutdown_flush(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.sending_queue.num_consumers = 1;
    c.batch.enabled = true;
    c.batch.min_size = 6;
    c.batch.max_size = 6;
    c.batch.flush_timeout = 10000 * MS;
    sink s;
    sink_init(&s);
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("batch/max", &c, &s, &cm);
    /* 4 profiles x 3 samples = 12 > 6: split into 2 parts of 6 */
    pg_batch *big = mk(7, 4, 3, NULL), *want = pg_batch_clone(big, 0);
    CHECK(pg_exporter_helper_consume(h, big, NULL, 0) == 0);
    CHECK(sink_wait(&s, 4));
    CHECK(s.batches == 2 && s.samples == 12);
    CHECK(pg_batch_sample_count(s.got[0]) == 6 && pg_batch_sample_count(s.got[1]) == 6);
    pg_batch *joined = pg_batch_new(0);
    pg_batch_merge(joined, s.got[0], NULL, 0);
    pg_batch_merge(joined, s.got[1], NULL, 0);
    char *a = dump(want), *b = dump(joined);
    /* the parts hold the same profiles (the view splits scopes, so compare profiles) */
    CHECK(pg_batch_profile_count(joined) == 4 && tag_count(&s, "t7_0") == 1 && tag_count(&s, "t7_3") == 1);
    free(a);
    free(b);
    pg_batch_free(joined);
    pg_batch_free(want);
    CHECK(wait_empty(h));
    /* 4 + 4 samples: the second would pass max_size, so the first is flushed alone */
    CHECK(pg_exporter_helper_consume(h, mk(8, 1, 4, NULL), NULL, 0) == 0);
    CHECK(pg_exporter_helper_consume(h, mk(9, 1, 4, NULL), NULL, 0) == 0);
    CHECK(sink_wait(&s, 5));
    CHECK(s.batches == 3);
    /* the pending group is flushed by shutdown */
    pg_exporter_helper_shutdown(h, pg_now_mono_ns() + 2000 * MS);
    CHECK(s.batches == 4 && tag_count(&s, "t9_0") == 1);
    CHECK(pg_counter_get(cm.sent_profiles) == 6 && pg_counter_get(cm.failed_profiles) == 0);
    pg_exporter_helper_free(h);
    sink_free(&s);
}

static void test_gauges(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.sending_queue.queue_size = 7;
    sink s;
    sink_init(&s);
    sink_gate(&s, true);
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("gauge/x", &c, &s, &cm);
    CHECK(pg_exporter_helper_consume(h, mk(1, 1, 1, NULL), NULL, 0) == 0);
    pg_buf out = {0};
    pg_metrics_write(pg_host_metrics(host), &out);
    pg_buf_append(&out, "", 1);
    CHECK(strstr((char *)out.data, "profgate_exporter_queue_size{exporter=\"gauge/x\"} 1") != NULL);
    CHECK(strstr((char *)out.data, "profgate_exporter_queue_capacity{exporter=\"gauge/x\"} 7") != NULL);
    pg_buf_free(&out);
    sink_gate(&s, false);
    pg_exporter_helper_free(h);
    /* freed helpers are forgotten by the registry */
    pg_metrics_write(pg_host_metrics(host), &out);
    pg_buf_append(&out, "", 1);
    CHECK(strstr((char *)out.data, "profgate_exporter_queue_capacity{exporter=\"gauge/x\"}") == NULL);
    CHECK(strstr((char *)out.data, "profgate_exporter_queue_size{exporter=\"gauge/x\"}") == NULL);
    pg_buf_free(&out);
    sink_free(&s);
}

int main(void)
{
    host = pg_host_new();
    test_retry_then_success();
    test_permanent_error();
    test_retry_budget_spent();
    test_queue_full_refuse();
    test_queue_full_bytes();
    test_queue_full_block();
    test_shutdown();
    test_sync_mode();
    test_batching_merges();
    test_batching_by_metadata_and_timeout();
    test_batching_max_size_and_shutdown_flush();
    test_gauges();
    pg_host_free(host);
    TEST_MAIN_END();
}
