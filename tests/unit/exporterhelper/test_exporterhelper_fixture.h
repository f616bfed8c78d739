/* Shared by the exporter helper tests: a batch builder, a recording sink with failure
 * modes and a gate, and helpers to create and start a helper against a shared host. */
#ifndef PG_TEST_EXPORTERHELPER_FIXTURE_H
#define PG_TEST_EXPORTERHELPER_FIXTURE_H

#include "pipeline/core/dict.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/core/merge.h"
#include "pipeline/exporterhelper/exporterhelper.h"
#include "pipeline/host.h"
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/otlp_dump.h"
#include "testlib.h"
#include "testdump.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000LL

/* ---- batches: profile i of batch `tag` has sample type "t<tag>_<i>" ---- */

static inline int32_t S(pg_batch *b, const char *s)
{
    return pg_dict_string(b, s, strlen(s));
}

static inline pg_batch *mk(int tag, size_t nprof, size_t nsamples, const char *tenant)
{
    pg_batch *b = pg_batch_new(0);
    pg_arena *a = pg_batch_arena(b);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    for (size_t p = 0; p < nprof; p++) {
        char name[32];
        snprintf(name, sizeof name, "t%d_%zu", tag, p);
        pg_profile *prof = pg_profile_add(b, sp, nsamples);
        pg_otlp_profile *pr = &prof->msg;
        pr->sample_type = pg_otlp_valuetype_new(a);
        pr->sample_type->type_strindex = S(b, name);
        pr->sample_type->unit_strindex = S(b, "count");
        for (size_t i = 0; i < nsamples; i++) {
            char fn[32];
            snprintf(fn, sizeof fn, "fn%zu", i % 3);
            int32_t f = pg_dict_function(b, S(b, fn), S(b, fn), S(b, "x.c"), 0);
            pg_otlp_line line = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINE__INIT,
                         *lp = &line;
            line.function_index = f;
            pg_otlp_location l = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LOCATION__INIT;
            l.lines = &lp;
            l.n_lines = 1;
            int32_t loc = pg_dict_location(b, &l);
            pg_sample_set_stack(b, prof, i, pg_dict_stack(b, &loc, 1));
            pg_sample_set_value(b, prof, i, 0, (int64_t)(tag * 100 + i + 1));
        }
    }
    if (tenant) pg_batch_meta_set(b, "x-tenant", tenant);
    pg_batch_set_origin(b, "test", 1);
    return b;
}

static inline char *dump(const pg_batch *b)
{
    return pg_test_dump(b);
}

/* ---- the sink ---- */

typedef struct sink {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fail_first; /* the first N calls return PG_EAGAIN */
    int fail_code;  /* when set, every call returns it */
    bool gate;      /* calls wait while set (until their deadline: then PG_EAGAIN) */
    int calls, batches;
    size_t profiles, samples;
    char tags[256][16]; /* every profile delivered */
    int ntags;
    pg_batch *got[16]; /* clones of the first batches delivered */
    char tenants[16][16];
} sink;

static inline void sink_init(sink *s)
{
    memset(s, 0, sizeof *s);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
}

static inline void sink_free(sink *s)
{
    for (int i = 0; i < 16; i++)
        pg_batch_free(s->got[i]);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
}

static inline void sink_gate(sink *s, bool closed)
{
    pthread_mutex_lock(&s->mu);
    s->gate = closed;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static inline int sink_send(void *ctx, const pg_batch *b, int64_t deadline, char *err,
                            size_t errlen)
{
    sink *s = ctx;
    pthread_mutex_lock(&s->mu);
    s->calls++;
    while (s->gate && pg_now_mono_ns() < deadline) {
        struct timespec ts = {(time_t)(deadline / 1000000000), (long)(deadline % 1000000000)};
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    int rc = 0;
    if (s->gate)
        rc = pg_err(err, errlen, PG_EAGAIN, "deadline passed");
    else if (s->fail_code)
        rc = pg_err(err, errlen, s->fail_code, "sink refuses");
    else if (s->calls <= s->fail_first)
        rc = pg_err(err, errlen, PG_EAGAIN, "sink busy");
    if (!rc) {
        const pg_otlp_data *d = pg_batch_data(b);
        for (size_t r = 0; r < d->n_resource_profiles; r++)
            for (size_t c = 0; c < d->resource_profiles[r]->n_scope_profiles; c++) {
                const pg_otlp_sprofiles *sp = d->resource_profiles[r]->scope_profiles[c];
                for (size_t p = 0; p < sp->n_profiles && s->ntags < 256; p++)
                    snprintf(
                        s->tags[s->ntags++], 16, "%s",
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
static inline bool sink_wait(sink *s, size_t profiles)
{
    int64_t until = pg_now_mono_ns() + 5000 * MS;
    struct timespec ts = {(time_t)(until / 1000000000), (long)(until % 1000000000)};
    pthread_mutex_lock(&s->mu);
    while (s->profiles < profiles && pg_now_mono_ns() < until)
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    bool ok = s->profiles >= profiles;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

static inline int tag_count(sink *s, const char *tag)
{
    int n = 0;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->ntags; i++)
        n += strcmp(s->tags[i], tag) == 0;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static inline bool wait_empty(pg_exporter_helper *h)
{
    for (int i = 0; i < 5000 && pg_exporter_helper_queue_size(h); i++)
        usleep(1000);
    return pg_exporter_helper_queue_size(h) == 0;
}

/* ---- fixture ---- */

static pg_host *host;

static inline void fast_cfg(pg_exporter_helper_config *c)
{
    pg_exporter_helper_config_default(c);
    c->timeout = 2000 * MS;
    c->sending_queue.num_consumers = 2;
    c->retry_on_failure.initial_interval = 1 * MS;
    c->retry_on_failure.max_interval = 2 * MS;
    c->retry_on_failure.max_elapsed_time = 5000 * MS;
}

static inline pg_exporter_helper *mk_helper(const char *id, const pg_exporter_helper_config *c,
                                            sink *s, pg_component_metrics *cm)
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

#endif
