/* service: telemetry and shutdown_timeout (decoded with a config table like any component),
 * extensions (ids of defined extensions), and pipelines: `profiles`, `traces`,
 * `profiles/<name>` or `traces/<name>`, each naming receivers, processors and exporters that
 * must be defined and must handle the pipeline's signal. */
#include "pipeline/config/config_int.h"
#include "pipeline/core/err.h"

#include <ctype.h>
#include <stddef.h>
#include <string.h>

static const char *const LOG_LEVELS[] = {"debug", "info", "warn", "error", NULL};
static const char *const LOG_ENCODINGS[] = {"text", "json", NULL};
static const char *const METRICS_LEVELS[] = {"none", "basic", "normal", "detailed", NULL};

static const pg_cfg_field LOGS_TABLE[] = {
    {.key = "level",
     .type = PG_CFG_ENUM,
     .offset = offsetof(struct pg_cfg_telemetry_logs, level),
     .def = "info",
     .enum_values = LOG_LEVELS,
     .doc = "lowest level logged"},
    {.key = "encoding",
     .type = PG_CFG_ENUM,
     .offset = offsetof(struct pg_cfg_telemetry_logs, encoding),
     .def = "text",
     .enum_values = LOG_ENCODINGS,
     .doc = "one line per event, as text or JSON"},
    {0},
};

static const pg_cfg_field METRICS_TABLE[] = {
    {.key = "address",
     .type = PG_CFG_ENDPOINT,
     .offset = offsetof(struct pg_cfg_telemetry_metrics, address),
     .def = "127.0.0.1:8888",
     .doc = "where Prometheus scrapes the self-metrics"},
    {.key = "level",
     .type = PG_CFG_ENUM,
     .offset = offsetof(struct pg_cfg_telemetry_metrics, level),
     .def = "normal",
     .enum_values = METRICS_LEVELS,
     .doc = "none turns the endpoint off"},
    {0},
};

static const pg_cfg_field TELEMETRY_TABLE[] = {
    {.key = "logs",
     .type = PG_CFG_SECTION,
     .offset = offsetof(pg_cfg_telemetry, logs),
     .section = LOGS_TABLE,
     .doc = "profgate's own logs"},
    {.key = "metrics",
     .type = PG_CFG_SECTION,
     .offset = offsetof(pg_cfg_telemetry, metrics),
     .section = METRICS_TABLE,
     .doc = "profgate's own metrics"},
    {0},
};

static const pg_cfg_field SERVICE_TABLE[] = {
    {.key = "telemetry",
     .type = PG_CFG_SECTION,
     .offset = offsetof(pg_cfg_service, telemetry),
     .section = TELEMETRY_TABLE,
     .doc = "self-observability"},
    {.key = "shutdown_timeout",
     .type = PG_CFG_DURATION,
     .offset = offsetof(pg_cfg_service, shutdown_timeout),
     .def = "10s",
     .doc = "how long SIGTERM waits for queues to drain"},
    {0},
};

static const char *const SERVICE_OWN_KEYS[] = {"extensions", "pipelines", NULL};
static const char *const PIPELINE_KEYS[] = {"receivers", "processors", "exporters"};

/* The signals desc handles (0 in the descriptor means profiles). */
static unsigned desc_signals(const pg_cfg_component_desc *desc)
{
    return desc && desc->signals ? desc->signals : PG_SIGNAL_PROFILES;
}

/* See config.h. */
const char *pg_cfg_signal_name(unsigned signal)
{
    return signal == PG_SIGNAL_TRACES ? "traces" : "profiles";
}

/* Reports at `at` that comp does not handle signal; names what it handles. */
static void wrong_signal(pg_cfg_diags *d, const pg_cfg_pos *at, const char *where,
                         const pg_cfg_component *comp, unsigned signal)
{
    unsigned has = desc_signals(comp->desc);
    pg_cfg_diag_add(d, PG_CFG_ERROR, at, "%s: %s \"%s\" does not handle %s (it handles %s%s)",
                    where, pg_cfg_kind_name(comp->kind), comp->id, pg_cfg_signal_name(signal),
                    has & PG_SIGNAL_PROFILES ? "profiles" : "",
                    has & PG_SIGNAL_TRACES ? (has & PG_SIGNAL_PROFILES ? " and traces" : "traces")
                                           : " only");
}

/* Resolves a list of ids of `kind` (a YAML sequence) into an arena array of component
 * pointers, marking them used by `signal` (0: not a pipeline, nothing checked), and
 * reporting components that do not handle it. `where` prefixes messages
 * ("pipeline \"profiles\""). */
static int resolve_ids(pg_config *cfg, pg_cfg_diags *d, const pg_cfg_node *list, pg_cfg_kind kind,
                       unsigned signal, const char *where, const pg_cfg_component ***out,
                       size_t *nout)
{
    char got[64];
    *out = NULL;
    *nout = 0;
    if (pg_cfg_node_is_null(list) || list->bad) return 0;
    if (list->kind != PG_CFG_NODE_SEQ) {
        pg_cfg_node_describe(list, got, sizeof got);
        pg_cfg_diag_add(d, PG_CFG_ERROR, &list->pos, "%s: expected a list of %s ids, got %s", where,
                        pg_cfg_kind_name(kind), got);
        return 0;
    }
    const pg_cfg_component **v = pg_arena_calloc(cfg->arena, list->n ? list->n : 1, sizeof *v);
    if (!v) return PG_ENOMEM;
    for (size_t i = 0; i < list->n; i++) {
        const pg_cfg_node *it = list->items[i];
        if (it->bad) continue;
        if (it->kind != PG_CFG_NODE_SCALAR || it->null) {
            pg_cfg_node_describe(it, got, sizeof got);
            pg_cfg_diag_add(d, PG_CFG_ERROR, &it->pos, "%s: expected a %s id, got %s", where,
                            pg_cfg_kind_name(kind), got);
            continue;
        }
        pg_cfg_component *comp = pg_cfg_find_component(cfg, kind, it->str);
        if (!comp) {
            const char *ids[64];
            size_t n = 0;
            for (size_t k = 0; k < cfg->ncomponents && n < 64; k++)
                if (cfg->components[k].kind == kind) ids[n++] = cfg->components[k].id;
            char list_txt[512] = "";
            pg_cfg_join(list_txt, sizeof list_txt, ids, n);
            if (n)
                pg_cfg_diag_add(d, PG_CFG_ERROR, &it->pos,
                                "%s: %s \"%s\" is not defined (defined: %s)", where,
                                pg_cfg_kind_name(kind), it->str, list_txt);
            else
                pg_cfg_diag_add(d, PG_CFG_ERROR, &it->pos,
                                "%s: %s \"%s\" is not defined (no %ss are defined)", where,
                                pg_cfg_kind_name(kind), it->str, pg_cfg_kind_name(kind));
            continue;
        }
        bool dup = false;
        for (size_t k = 0; k < *nout; k++)
            dup |= v[k] == comp;
        if (dup) {
            pg_cfg_diag_add(d, PG_CFG_ERROR, &it->pos, "%s: %s \"%s\" is listed twice", where,
                            pg_cfg_kind_name(kind), it->str);
            continue;
        }
        if (signal && comp->desc && !(desc_signals(comp->desc) & signal)) {
            wrong_signal(d, &it->pos, where, comp, signal);
            continue;
        }
        comp->used = true;
        comp->signals |= signal;
        v[(*nout)++] = comp;
    }
    *out = v;
    return 0;
}

/* See config_int.h. */
int pg_cfg_validate_service(pg_config *cfg, pg_cfg_dctx *c, const pg_cfg_pair *service)
{
    const pg_cfg_node *v = service ? service->value : NULL;
    pg_cfg_pos none = {NULL, 0, 0};
    const pg_cfg_pos *owner = service ? &service->key->pos : &none;
    int rc = pg_cfg_decode(c, SERVICE_TABLE, v, owner, &cfg->service, SERVICE_OWN_KEYS);
    if (rc || pg_cfg_node_is_null(v) || v->kind != PG_CFG_NODE_MAP) return rc;
    const pg_cfg_pair *ext = pg_cfg_map_find(v, "extensions");
    if (!ext) return 0;
    return resolve_ids(cfg, c->diags, ext->value, PG_CFG_EXTENSION, 0, "service: extensions",
                       &cfg->service.extensions, &cfg->service.nextensions);
}

/* Checks "profiles" / "traces" with an optional "/<name>"; returns the signal, or reports
 * and returns 0. */
static unsigned valid_pipeline_id(pg_cfg_diags *d, const pg_cfg_node *key)
{
    const char *id = key->str, *slash = strchr(id, '/');
    size_t sl = slash ? (size_t)(slash - id) : strlen(id);
    static const char *const others[] = {"metrics", "logs"};
    unsigned signal = sl == 8 && !memcmp(id, "profiles", 8) ? PG_SIGNAL_PROFILES
                      : sl == 6 && !memcmp(id, "traces", 6) ? PG_SIGNAL_TRACES
                                                            : 0;
    if (!signal) {
        bool known = false;
        for (int i = 0; i < 2; i++)
            known |= strlen(others[i]) == sl && !memcmp(id, others[i], sl);
        if (known)
            pg_cfg_diag_add(d, PG_CFG_ERROR, &key->pos,
                            "service: pipelines: %s: profgate handles profiles (and traces to "
                            "index their spans) only",
                            id);
        else
            pg_cfg_diag_add(d, PG_CFG_ERROR, &key->pos,
                            "service: pipelines: %s: unknown signal \"%.*s\"; use profiles or "
                            "traces",
                            id, (int)sl, id);
        return 0;
    }
    const char *why = NULL;
    if (slash && !slash[1]) why = "the name after '/' must not be empty";
    for (const char *p = slash ? slash + 1 : ""; *p && !why; p++)
        if (isspace((unsigned char)*p)) why = "the name must not contain spaces";
    if (why)
        pg_cfg_diag_add(d, PG_CFG_ERROR, &key->pos,
                        "service: pipelines: invalid pipeline id \"%s\": %s", id, why);
    return why ? 0 : signal;
}

/* Decodes one pipeline's mapping into p. */
static int one_pipeline(pg_config *cfg, pg_cfg_diags *d, const pg_cfg_pair *pp, pg_cfg_pipeline *p)
{
    char where[300], got[64];
    snprintf(where, sizeof where, "pipeline \"%s\"", pp->key->str);
    const pg_cfg_node *v = pp->value;
    if (!(p->name = pg_arena_strndup(cfg->arena, pp->key->str, pp->key->len))) return PG_ENOMEM;
    p->pos = pp->key->pos;
    if (v->bad) return 0;
    if (!pg_cfg_node_is_null(v) && v->kind != PG_CFG_NODE_MAP) {
        pg_cfg_node_describe(v, got, sizeof got);
        pg_cfg_diag_add(d, PG_CFG_ERROR, &v->pos, "%s: expected a mapping, got %s", where, got);
        return 0;
    }
    size_t n = pg_cfg_node_is_null(v) ? 0 : v->n;
    for (size_t i = 0; i < n; i++) {
        const pg_cfg_node *key = v->pairs[i].key;
        int k = 0;
        while (k < 3 && strcmp(key->str, PIPELINE_KEYS[k]))
            k++;
        if (k < 3) continue;
        const char *near = pg_cfg_suggest(key->str, PIPELINE_KEYS, 3);
        if (near)
            pg_cfg_diag_add(d, PG_CFG_ERROR, &key->pos,
                            "%s: unknown key \"%s\" (did you mean \"%s\"?)", where, key->str, near);
        else
            pg_cfg_diag_add(d, PG_CFG_ERROR, &key->pos,
                            "%s: unknown key \"%s\"; valid keys: receivers, processors, exporters",
                            where, key->str);
    }
    const pg_cfg_pair *r = n ? pg_cfg_map_find(v, "receivers") : NULL;
    const pg_cfg_pair *pr = n ? pg_cfg_map_find(v, "processors") : NULL;
    const pg_cfg_pair *e = n ? pg_cfg_map_find(v, "exporters") : NULL;
    int rc = resolve_ids(cfg, d, r ? r->value : NULL, PG_CFG_RECEIVER, p->signal, where,
                         &p->receivers, &p->nreceivers);
    if (!rc)
        rc = resolve_ids(cfg, d, pr ? pr->value : NULL, PG_CFG_PROCESSOR, p->signal, where,
                         &p->processors, &p->nprocessors);
    if (!rc)
        rc = resolve_ids(cfg, d, e ? e->value : NULL, PG_CFG_EXPORTER, p->signal, where,
                         &p->exporters, &p->nexporters);
    if (rc) return rc;
    bool listed_procs =
        pr && !pg_cfg_node_is_null(pr->value) && pr->value->kind == PG_CFG_NODE_SEQ && pr->value->n;
    if (p->signal == PG_SIGNAL_TRACES && !listed_procs)
        pg_cfg_diag_add(d, PG_CFG_ERROR, &pp->key->pos,
                        "%s: has no processor that handles traces (traces are indexed, never "
                        "exported: name a tracelink processor with span_index.enabled)",
                        where);
    /* an empty list is "no receivers"; a list of only undefined ids was reported already */
    if (!r || pg_cfg_node_is_null(r->value) || (r->value->kind == PG_CFG_NODE_SEQ && !r->value->n))
        pg_cfg_diag_add(d, PG_CFG_ERROR, &pp->key->pos, "%s: has no receivers", where);
    if (p->signal == PG_SIGNAL_PROFILES && (!e || pg_cfg_node_is_null(e->value) ||
                                            (e->value->kind == PG_CFG_NODE_SEQ && !e->value->n)))
        pg_cfg_diag_add(d, PG_CFG_ERROR, &pp->key->pos, "%s: has no exporters", where);
    return 0;
}

/* Runs each used component's check_signals with the signals of the pipelines naming it;
 * errors at the component's id. */
static void check_component_signals(pg_config *cfg, pg_cfg_diags *d)
{
    for (size_t i = 0; i < cfg->ncomponents; i++) {
        const pg_cfg_component *c = &cfg->components[i];
        if (!c->signals || !c->desc || !c->desc->check_signals || !c->cfg) continue;
        char err[400] = "";
        if (c->desc->check_signals(c->cfg, c->signals, err, sizeof err))
            pg_cfg_diag_add(d, PG_CFG_ERROR, &c->pos, "%s %s: %s", pg_cfg_kind_name(c->kind), c->id,
                            err);
    }
}

/* See config_int.h. */
int pg_cfg_validate_pipelines(pg_config *cfg, const pg_cfg_pair *service, const pg_cfg_pos *at,
                              pg_cfg_diags *d)
{
    char got[64];
    const pg_cfg_node *sv = service ? service->value : NULL;
    const pg_cfg_pair *pl = NULL;
    if (sv && sv->kind == PG_CFG_NODE_MAP)
        pl = pg_cfg_map_find(sv, "pipelines");
    else if (sv && !pg_cfg_node_is_null(sv))
        return 0; /* reported by the service decode */
    if (!pl || pg_cfg_node_is_null(pl->value) ||
        (pl->value->kind == PG_CFG_NODE_MAP && pl->value->n == 0)) {
        const pg_cfg_pos *pos = pl ? &pl->key->pos : service ? &service->key->pos : at;
        pg_cfg_diag_add(d, PG_CFG_ERROR, pos, "no pipelines: define service.pipelines.profiles");
        return 0;
    }
    const pg_cfg_node *v = pl->value;
    if (v->bad) return 0;
    if (v->kind != PG_CFG_NODE_MAP) {
        pg_cfg_node_describe(v, got, sizeof got);
        pg_cfg_diag_add(d, PG_CFG_ERROR, &v->pos,
                        "service: pipelines: expected a mapping of pipeline ids, got %s", got);
        return 0;
    }
    cfg->pipelines = pg_arena_calloc(cfg->arena, v->n, sizeof *cfg->pipelines);
    if (!cfg->pipelines) return PG_ENOMEM;
    for (size_t i = 0; i < v->n; i++) {
        unsigned signal = valid_pipeline_id(d, v->pairs[i].key);
        if (!signal) continue;
        cfg->pipelines[cfg->npipelines].signal = signal;
        int rc = one_pipeline(cfg, d, &v->pairs[i], &cfg->pipelines[cfg->npipelines]);
        if (rc) return rc;
        cfg->npipelines++;
    }
    check_component_signals(cfg, d);
    return 0;
}
