/* The graph's traces routing, with fake components: a receiver named by two traces
 * pipelines and a profiles pipeline gets a traces consumer that hands a request's span ids
 * to each traces pipeline's processors in order (never to the profiles pipeline's), a
 * processor refusing for now (PG_EAGAIN) stopping its pipeline; a receiver no traces
 * pipeline names gets none. Instances of one processor id share state
 * through pg_host_share (refcounted, freed with the last). */
#include "pipeline/core/err.h"
#include "pipeline/graph.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

static const pg_cfg_field NO_FIELDS[] = {{0}};

static pg_traces_consumer got_traces[2]; /* per fake receiver: rx, rx/other */
static char calls[256];                  /* "<processor id>;" per consume_traces call */

static int rx_create(const pg_component_settings *s, const void *cfg, pg_consumer next, void **self,
                     char *err, size_t errlen)
{
    (void)cfg, (void)next, (void)err, (void)errlen;
    got_traces[strcmp(s->id, "rx") ? 1 : 0] = s->traces;
    *self = NULL;
    return 0;
}

/* A processor instance: its id (borrowed from the config). */
static int proc_create(const pg_component_settings *s, const void *cfg, pg_consumer next,
                       void **self, char *err, size_t errlen)
{
    (void)cfg, (void)next, (void)err, (void)errlen;
    *self = (void *)s->id;
    return 0;
}

static int proc_consume(void *self, pg_batch *b, char *err, size_t errlen)
{
    (void)self, (void)err, (void)errlen;
    pg_batch_free(b);
    return 0;
}

/* Records the call; fails for "sink/bad" to check the status goes back, and refuses for
 * now (PG_EAGAIN, as a memory limiter does) for "sink/busy". */
static int proc_traces(void *self, const pg_spans *s, char *err, size_t errlen)
{
    strcat(calls, self);
    strcat(calls, ";");
    if (s->n != 1) return pg_err(err, errlen, PG_EINVAL, "want one span");
    if (!strcmp(self, "sink/busy")) return pg_err(err, errlen, PG_EAGAIN, "busy");
    return strcmp(self, "sink/bad") ? 0 : pg_err(err, errlen, PG_EINVAL, "refused");
}

static const pg_component_factory RX = {
    .type = "rx",
    .kind = PG_CFG_RECEIVER,
    .config = {.table = NO_FIELDS,
               .size = sizeof(int),
               .signals = PG_SIGNAL_PROFILES | PG_SIGNAL_TRACES},
    .create = rx_create,
};
static const pg_component_factory SINK = {
    .type = "sink",
    .kind = PG_CFG_PROCESSOR,
    .config = {.table = NO_FIELDS,
               .size = sizeof(int),
               .signals = PG_SIGNAL_PROFILES | PG_SIGNAL_TRACES},
    .create = proc_create,
    .consume = proc_consume,
    .consume_traces = proc_traces,
};
static const pg_component_factory EX = {
    .type = "ex",
    .kind = PG_CFG_EXPORTER,
    .config = {.table = NO_FIELDS, .size = sizeof(int)},
    .create = proc_create,
    .consume = proc_consume,
};

static const pg_component_factory *lookup(pg_cfg_kind kind, const char *type)
{
    const pg_component_factory *all[] = {&RX, &SINK, &EX};
    for (int i = 0; i < 3; i++)
        if (all[i]->kind == kind && !strcmp(all[i]->type, type)) return all[i];
    return NULL;
}

static const pg_cfg_component_desc *desc_lookup(void *ud, pg_cfg_kind kind, const char *type)
{
    (void)ud;
    const pg_component_factory *f = lookup(kind, type);
    return f ? &f->config : NULL;
}

static const char YAML[] = "receivers:\n  rx:\n  rx/other:\nprocessors:\n  sink:\n  sink/b:\n"
                           "  sink/bad:\n  sink/busy:\n  sink/after:\n"
                           "exporters:\n  ex:\nservice:\n  pipelines:\n"
                           "    profiles:\n      receivers: [rx, rx/other]\n"
                           "      processors: [sink/b]\n      exporters: [ex]\n"
                           "    traces:\n      receivers: [rx]\n      processors: [sink, sink/b]\n"
                           "    traces/2:\n      receivers: [rx]\n      processors: [sink/bad]\n"
                           "    traces/3:\n      receivers: [rx]\n"
                           "      processors: [sink/busy, sink/after]\n";

static void test_routing(void)
{
    pg_cfg_registry reg = {desc_lookup, NULL, NULL};
    pg_cfg_source src = {"graph.yaml", YAML, sizeof YAML - 1};
    pg_cfg_diags *d = pg_cfg_diags_new();
    pg_config *cfg = NULL;
    CHECK(pg_config_load(&src, 1, &reg, &cfg, d) == 0);
    pg_cfg_diags_write(d, PG_CFG_ERROR, stderr);
    pg_host *h = pg_host_new();
    pg_graph *g = NULL;
    char err[256] = "";
    CHECK_MSG(cfg && pg_graph_build(cfg, lookup, h, &g, err, sizeof err) == 0, "%s", err);
    CHECK(got_traces[0].consume != NULL && got_traces[1].consume == NULL);
    pg_spans s = {0};
    uint8_t t[16] = {1}, sp[8] = {2};
    CHECK(pg_spans_push(&s, t, sp, 0) == 0);
    if (got_traces[0].consume) {
        int rc = got_traces[0].consume(got_traces[0].ctx, &s, err, sizeof err);
        /* a refusal for now stops its pipeline (sink/after never sees the spans) and is
         * the status the sender gets, so that it retries */
        CHECK_MSG(!strcmp(calls, "sink;sink/b;sink/bad;sink/busy;"), "calls %s", calls);
        CHECK_MSG(rc == PG_EAGAIN && strstr(err, "sink/busy: busy"), "%d %s", rc, err);
    }
    pg_spans_free(&s);
    pg_graph_free(g);
    pg_host_free(h);
    pg_config_free(cfg);
    pg_cfg_diags_free(d);
}

static int made, dropped;
static void *make(void *arg)
{
    made++;
    return arg;
}
static void drop(void *obj)
{
    (void)obj;
    dropped++;
}

static void test_share(void)
{
    pg_host *h = pg_host_new();
    int a = 1, b = 2;
    CHECK(pg_host_share(h, "k", make, &a, drop) == &a);
    CHECK(pg_host_share(h, "k", make, &b, drop) == &a && made == 1); /* shared, not made again */
    CHECK(pg_host_share(h, "other", make, &b, drop) == &b && made == 2);
    pg_host_unshare(h, "k");
    CHECK(dropped == 0);
    pg_host_unshare(h, "k");
    CHECK(dropped == 1);
    pg_host_unshare(h, "missing"); /* a no-op */
    pg_host_free(h);               /* drops what is left ("other") */
    CHECK(dropped == 2);
}

int main(void)
{
    pg_log_set_output(tmpfile());
    test_routing();
    test_share();
    TEST_MAIN_END();
}
