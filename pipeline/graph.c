#include "pipeline/graph.h"
#include "pipeline/core/err.h"
#include "pipeline/core/merge.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/telemetry/metrics.h"

#include <stdlib.h>
#include <string.h>

/* One created component. */
typedef struct node {
    const pg_component_factory *f;
    pg_component_settings set;
    void *self;
    int started;
    pg_component_metrics cm; /* processors: incoming/outgoing/dropped */
    struct node *next_proc;  /* processors: the next processor of its pipeline */
    struct fanout *next_fan; /* the last processor (or the pipeline entry): exporters */
} node;

/* Sends one batch to several consumers. `clone[i]` is set when target i (or anything after
 * it) changes batches: it gets its own copy; the others share the batch by reference. */
typedef struct fanout {
    pg_consumer *targets;
    int *clone;
    size_t n;
} fanout;

/* A pipeline: its first step (a processor node, or straight to the exporters' fan-out).
 * A traces pipeline has processors only (each takes the span ids in turn). */
typedef struct pipeline {
    node *first;
    fanout *exporters;
    int mutates;
    unsigned signal; /* PG_SIGNAL_PROFILES or PG_SIGNAL_TRACES */
} pipeline;

/* Hands the span ids of one trace request to several traces pipelines. */
typedef struct traces_fanout {
    pipeline **pipes;
    size_t n;
} traces_fanout;

struct pg_graph {
    pg_host *host;
    node *nodes; /* receivers, processors, exporters, extensions */
    size_t n_nodes, cap_nodes;
    pipeline *pipes;
    size_t n_pipes;
    fanout *fans; /* one per pipeline (exporters) + one per receiver */
    size_t n_fans;
    traces_fanout *tfans; /* one per receiver */
    size_t n_tfans;
};

/* Hands b to every target; returns the worst status (retryable before permanent).
 * Targets that do not change batches share b by reference; the others get clones (or b
 * itself when every target changes batches). All copies are taken before any target
 * runs, since a target may free its reference at once. */
static int fanout_consume(void *ctx, pg_batch *b, char *err, size_t errlen)
{
    fanout *f = ctx;
    if (f->n == 0) {
        pg_batch_free(b);
        return 0;
    }
    pg_batch *one[8], **mine = f->n <= 8 ? one : calloc(f->n, sizeof *mine);
    if (!mine) {
        pg_batch_free(b);
        return pg_err(err, errlen, PG_ENOMEM, "fan-out: out of memory");
    }
    size_t owner = f->n - 1;
    for (size_t i = 0; i < f->n; i++)
        if (!f->clone[i]) owner = i;
    int worst = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (i == owner)
            mine[i] = b;
        else if (f->clone[i])
            mine[i] = pg_batch_clone(b, 0);
        else
            mine[i] = pg_batch_retain(b);
        if (!mine[i])
            worst = pg_err(err, errlen, PG_ENOMEM, "fan-out: out of memory cloning a batch");
    }
    for (size_t i = 0; i < f->n; i++) {
        if (!mine[i]) continue;
        char e2[256] = "";
        int rc = pg_consume(&f->targets[i], mine[i], e2, sizeof e2);
        if (rc && (worst == 0 || rc == PG_EAGAIN)) {
            worst = rc;
            pg_err(err, errlen, rc, "%s", e2);
        }
    }
    if (mine != one) free(mine);
    return worst;
}

/* Runs one processor, counting what goes in and out. */
static int processor_consume(void *ctx, pg_batch *b, char *err, size_t errlen)
{
    node *n = ctx;
    size_t profiles = pg_batch_profile_count(b);
    pg_counter_add(n->cm.incoming_profiles, profiles);
    int rc = n->f->consume(n->self, b, err, errlen);
    if (rc == 0)
        pg_counter_add(n->cm.outgoing_profiles, profiles);
    else if (rc != PG_EAGAIN)
        pg_counter_add(n->cm.dropped_profiles, profiles);
    return rc;
}

/* Exporter consumers call the factory directly. */
static int exporter_consume(void *ctx, pg_batch *b, char *err, size_t errlen)
{
    node *n = ctx;
    return n->f->consume(n->self, b, err, errlen);
}

static int pipeline_consume(void *ctx, pg_batch *b, char *err, size_t errlen)
{
    pipeline *p = ctx;
    if (p->first) return processor_consume(p->first, b, err, errlen);
    return fanout_consume(p->exporters, b, err, errlen);
}

/* Runs the processors of a traces pipeline on s (borrowed), in order; the worst status. A
 * processor that refuses the request for now (PG_EAGAIN: the sender retries it, as a memory
 * limiter does) stops it there, as it would stop a batch of profiles: the processors after
 * it do not see it. */
static int traces_pipeline_consume(pipeline *p, const pg_spans *s, char *err, size_t errlen)
{
    int worst = 0;
    for (node *n = p->first; n && worst != PG_EAGAIN; n = n->next_proc) {
        char e2[256] = "";
        int rc = n->f->consume_traces ? n->f->consume_traces(n->self, s, e2, sizeof e2) : 0;
        if (rc && (worst == 0 || rc == PG_EAGAIN)) {
            worst = rc;
            pg_err(err, errlen, rc, "%s: %s", n->set.id, e2);
        }
    }
    return worst;
}

/* A receiver's traces consumer: every traces pipeline naming it gets s (borrowed). */
static int traces_fanout_consume(void *ctx, const pg_spans *s, char *err, size_t errlen)
{
    traces_fanout *f = ctx;
    int worst = 0;
    for (size_t i = 0; i < f->n; i++) {
        int rc = traces_pipeline_consume(f->pipes[i], s, err, errlen);
        if (rc && (worst == 0 || rc == PG_EAGAIN)) worst = rc;
    }
    return worst;
}

static node *add_node(pg_graph *g)
{
    if (g->n_nodes == g->cap_nodes) return NULL; /* sized up front: pointers stay valid */
    node *n = &g->nodes[g->n_nodes++];
    memset(n, 0, sizeof *n);
    return n;
}

static node *find_node(pg_graph *g, pg_cfg_kind kind, const char *id)
{
    for (size_t i = 0; i < g->n_nodes; i++)
        if (g->nodes[i].set.kind == kind && g->nodes[i].f->kind == kind &&
            !strcmp(g->nodes[i].set.id, id))
            return &g->nodes[i];
    return NULL;
}

/* Creates one component instance with `next` (and, for receivers, `traces`) as its
 * downstream. */
static node *create_node(pg_graph *g, const pg_cfg_component *c, pg_factory_lookup lookup,
                         pg_consumer next, pg_traces_consumer traces, char *err, size_t errlen)
{
    const pg_component_factory *f = lookup(c->kind, c->type);
    if (!f) {
        pg_err(err, errlen, PG_EINVAL, "%s %s: unknown type", pg_cfg_kind_name(c->kind), c->id);
        return NULL;
    }
    node *n = add_node(g);
    if (!n) {
        pg_err(err, errlen, PG_ENOMEM, "graph: too many components");
        return NULL;
    }
    n->f = f;
    n->set.id = c->id;
    n->set.kind = c->kind;
    n->set.host = g->host;
    n->set.traces = traces;
    if (f->create(&n->set, c->cfg, next, &n->self, err, errlen)) {
        pg_err_prefix(err, errlen, c->id);
        g->n_nodes--;
        return NULL;
    }
    if (c->kind == PG_CFG_PROCESSOR)
        pg_component_metrics_init(&n->cm, pg_host_metrics(g->host), "processor", c->id);
    return n;
}

static int fan_init(fanout *f, size_t n)
{
    f->targets = calloc(n ? n : 1, sizeof *f->targets);
    f->clone = calloc(n ? n : 1, sizeof *f->clone);
    f->n = 0;
    return f->targets && f->clone ? 0 : PG_ENOMEM;
}

/* Builds exporters, then each pipeline's processors (last first, so each knows its next),
 * then receivers with a fan-out into their pipelines, then extensions. */
int pg_graph_build(const pg_config *cfg, pg_factory_lookup lookup, pg_host *h, pg_graph **out,
                   char *err, size_t errlen)
{
    pg_graph *g = calloc(1, sizeof *g);
    if (!g) return pg_err(err, errlen, PG_ENOMEM, "graph: out of memory");
    g->host = h;
    pg_host_set_factories(h, lookup);
    size_t np = pg_config_pipeline_count(cfg), nc = pg_config_component_count(cfg), procs = 0;
    for (size_t i = 0; i < np; i++)
        procs += pg_config_pipeline_at(cfg, i)->nprocessors;
    g->cap_nodes = nc + procs;
    g->nodes = calloc(g->cap_nodes ? g->cap_nodes : 1, sizeof *g->nodes);
    g->pipes = calloc(np ? np : 1, sizeof *g->pipes);
    g->fans = calloc(np + nc + 1, sizeof *g->fans);
    g->tfans = calloc(nc + 1, sizeof *g->tfans);
    int rc = (g->nodes && g->pipes && g->fans && g->tfans)
                 ? 0
                 : pg_err(err, errlen, PG_ENOMEM, "graph: out of memory");
    pg_consumer none = {NULL, NULL};
    pg_traces_consumer no_traces = {NULL, NULL};
    for (size_t i = 0; i < nc && !rc; i++) {
        const pg_cfg_component *c = pg_config_component_at(cfg, i);
        if (c->kind == PG_CFG_EXPORTER && c->used &&
            !create_node(g, c, lookup, none, no_traces, err, errlen))
            rc = PG_EINVAL;
    }
    for (size_t i = 0; i < np && !rc; i++) {
        const pg_cfg_pipeline *p = pg_config_pipeline_at(cfg, i);
        pipeline *pp = &g->pipes[g->n_pipes++];
        pp->signal = p->signal ? p->signal : PG_SIGNAL_PROFILES;
        fanout *ex = &g->fans[g->n_fans++];
        if (fan_init(ex, p->nexporters)) {
            rc = pg_err(err, errlen, PG_ENOMEM, "graph: out of memory");
            break;
        }
        for (size_t k = 0; k < p->nexporters && pp->signal == PG_SIGNAL_PROFILES; k++) {
            node *e = find_node(g, PG_CFG_EXPORTER, p->exporters[k]->id);
            ex->targets[ex->n++] = (pg_consumer){exporter_consume, e};
        }
        pp->exporters = ex;
        pg_consumer next = {fanout_consume, ex};
        node *after = NULL;
        for (size_t k = p->nprocessors; k-- > 0 && !rc;) {
            node *n =
                create_node(g, p->processors[k], lookup,
                            pp->signal == PG_SIGNAL_PROFILES ? next : none, no_traces, err, errlen);
            if (!n) {
                rc = PG_EINVAL;
                break;
            }
            n->next_proc = after;
            pp->mutates |= n->f->mutates;
            next = (pg_consumer){processor_consume, n};
            after = n;
        }
        pp->first = after;
    }
    for (size_t i = 0; i < nc && !rc; i++) {
        const pg_cfg_component *c = pg_config_component_at(cfg, i);
        if (c->kind != PG_CFG_RECEIVER || !c->used) continue;
        fanout *f = &g->fans[g->n_fans++];
        traces_fanout *tf = &g->tfans[g->n_tfans++];
        if (fan_init(f, np) || !(tf->pipes = calloc(np ? np : 1, sizeof *tf->pipes))) {
            rc = pg_err(err, errlen, PG_ENOMEM, "graph: out of memory");
            break;
        }
        for (size_t k = 0; k < np; k++) {
            const pg_cfg_pipeline *p = pg_config_pipeline_at(cfg, k);
            for (size_t r = 0; r < p->nreceivers; r++) {
                if (p->receivers[r] != c) continue;
                if (g->pipes[k].signal == PG_SIGNAL_TRACES) {
                    tf->pipes[tf->n++] = &g->pipes[k];
                    continue;
                }
                f->clone[f->n] = g->pipes[k].mutates;
                f->targets[f->n++] = (pg_consumer){pipeline_consume, &g->pipes[k]};
            }
        }
        pg_traces_consumer tc = {tf->n ? traces_fanout_consume : NULL, tf};
        if (!create_node(g, c, lookup, (pg_consumer){fanout_consume, f}, tc, err, errlen))
            rc = PG_EINVAL;
    }
    const pg_cfg_service *svc = pg_config_service(cfg);
    for (size_t i = 0; i < svc->nextensions && !rc; i++)
        if (!create_node(g, svc->extensions[i], lookup, none, no_traces, err, errlen))
            rc = PG_EINVAL;
    if (rc) {
        pg_graph_free(g);
        return rc;
    }
    *out = g;
    return 0;
}

/* Start order: extensions, exporters, processors, receivers (downstream first). */
static const pg_cfg_kind start_order[4] = {PG_CFG_EXTENSION, PG_CFG_EXPORTER, PG_CFG_PROCESSOR,
                                           PG_CFG_RECEIVER};

int pg_graph_start(pg_graph *g, char *err, size_t errlen)
{
    for (int k = 0; k < 4; k++)
        for (size_t i = 0; i < g->n_nodes; i++) {
            node *n = &g->nodes[i];
            if (n->set.kind != start_order[k]) continue;
            if (n->f->start && n->f->start(n->self, err, errlen)) {
                pg_err_prefix(err, errlen, n->set.id);
                pg_graph_shutdown(g, pg_now_mono_ns() + 5000000000LL);
                return PG_EINVAL;
            }
            n->started = 1;
            pg_log(PG_LOG_DEBUG, n->set.id, "started");
        }
    pg_host_set_ready(g->host, true);
    return 0;
}

/* Shutdown order is the reverse: receivers first. */
void pg_graph_shutdown(pg_graph *g, int64_t deadline_ns)
{
    pg_host_set_ready(g->host, false);
    for (int k = 3; k >= 0; k--)
        for (size_t i = 0; i < g->n_nodes; i++) {
            node *n = &g->nodes[i];
            if (n->set.kind != start_order[k] || !n->started) continue;
            if (n->f->shutdown) n->f->shutdown(n->self, deadline_ns);
            n->started = 0;
        }
}

void pg_graph_free(pg_graph *g)
{
    if (!g) return;
    for (size_t i = g->n_nodes; i-- > 0;)
        if (g->nodes[i].f->destroy) g->nodes[i].f->destroy(g->nodes[i].self);
    for (size_t i = 0; i < g->n_fans; i++) {
        free(g->fans[i].targets);
        free(g->fans[i].clone);
    }
    free(g->fans);
    for (size_t i = 0; i < g->n_tfans; i++)
        free(g->tfans[i].pipes);
    free(g->tfans);
    free(g->pipes);
    free(g->nodes);
    free(g);
}
