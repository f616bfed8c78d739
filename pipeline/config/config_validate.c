/* Document-level validation: top-level keys, component ids and types (through the
 * registry), each component's section decoded against its table and checked by its
 * validate hook, then service and pipelines (config_service.c), unused components (warnings)
 * and listening endpoints that share a port. */
#include "pipeline/config/config_int.h"
#include "pipeline/core/err.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static const char *const SECTION_KEYS[] = {"receivers", "processors", "exporters", "extensions"};
static const char *const TOP_KEYS[] = {"receivers", "processors", "exporters", "extensions",
                                       "service"};

/* Singular kind names, indexed by pg_cfg_kind. */
const char *pg_cfg_kind_name(pg_cfg_kind kind)
{
    static const char *const names[] = {"receiver", "processor", "exporter", "extension"};
    return (unsigned)kind < 4 ? names[kind] : "component";
}

/* Linear search of the decoded components (configs hold a handful). */
pg_cfg_component *pg_cfg_find_component(pg_config *cfg, pg_cfg_kind kind, const char *id)
{
    for (size_t i = 0; i < cfg->ncomponents; i++)
        if (cfg->components[i].kind == kind && !strcmp(cfg->components[i].id, id))
            return &cfg->components[i];
    return NULL;
}

/* Checks `type` or `type/name`; reports and returns false when malformed. */
static bool valid_id(pg_cfg_diags *d, const pg_cfg_node *key, const char *section)
{
    const char *id = key->str, *slash = strchr(id, '/');
    size_t tl = slash ? (size_t)(slash - id) : strlen(id);
    bool ok = tl > 0 && isalpha((unsigned char)id[0]);
    for (size_t i = 0; ok && i < tl; i++)
        ok = isalnum((unsigned char)id[i]) || id[i] == '_';
    const char *why = NULL;
    if (!ok)
        why = "the type must start with a letter and hold only letters, digits and '_'";
    else if (slash && !slash[1])
        why = "the name after '/' must not be empty";
    else if (slash) {
        for (const char *p = slash + 1; *p && !why; p++)
            if (isspace((unsigned char)*p)) why = "the name must not contain spaces";
    }
    if (why)
        pg_cfg_diag_add(d, PG_CFG_ERROR, &key->pos, "%s: invalid component id \"%s\": %s", section,
                        id, why);
    return !why;
}

/* See config_int.h: "unknown <kind> type ..." with the known types and the nearest one. */
void pg_cfg_unknown_type_msg(char *buf, size_t len, const pg_cfg_registry *reg, pg_cfg_kind kind,
                             const char *type)
{
    const char *known[64] = {0};
    size_t n = 0;
    while (reg->type_at && n < 64 && (known[n] = reg->type_at(reg->ud, kind, n)))
        n++;
    char list[512] = "";
    pg_cfg_join(list, sizeof list, known, n);
    const char *near = pg_cfg_suggest(type, known, n);
    char hint[128] = "";
    if (near) snprintf(hint, sizeof hint, " (did you mean \"%s\"?)", near);
    if (n)
        snprintf(buf, len, "unknown %s type \"%s\"%s; known: %s", pg_cfg_kind_name(kind), type,
                 hint, list);
    else
        snprintf(buf, len, "unknown %s type \"%s\"; no %s types are known", pg_cfg_kind_name(kind),
                 type, pg_cfg_kind_name(kind));
}

/* Reports an unknown type at pos. */
static void unknown_type(pg_cfg_diags *d, const pg_cfg_registry *reg, pg_cfg_kind kind,
                         const char *type, const pg_cfg_pos *pos)
{
    char msg[768];
    pg_cfg_unknown_type_msg(msg, sizeof msg, reg, kind, type);
    pg_cfg_diag_add(d, PG_CFG_ERROR, pos, "%s", msg);
}

/* Copies s into the config arena; NULL when out of memory. */
static char *keep(pg_config *cfg, const char *s, size_t n)
{
    return pg_arena_strndup(cfg->arena, s, n);
}

/* Decodes every component of one section (receivers: ...) into cfg->components. */
static int decode_section(pg_config *cfg, pg_cfg_dctx *c, const pg_cfg_registry *reg,
                          pg_cfg_kind kind, const pg_cfg_pair *sec)
{
    const pg_cfg_node *v = sec->value;
    char got[64], what[300];
    if (pg_cfg_node_is_null(v) || v->bad) return 0;
    if (v->kind != PG_CFG_NODE_MAP) {
        pg_cfg_node_describe(v, got, sizeof got);
        pg_cfg_diag_add(c->diags, PG_CFG_ERROR, &v->pos,
                        "%s: expected a mapping of component ids, got %s", SECTION_KEYS[kind], got);
        return 0;
    }
    for (size_t i = 0; i < v->n; i++) {
        const pg_cfg_node *key = v->pairs[i].key, *val = v->pairs[i].value;
        const char *id = key->str, *slash = strchr(id, '/');
        size_t tl = slash ? (size_t)(slash - id) : strlen(id);
        pg_cfg_component *comp = &cfg->components[cfg->ncomponents++];
        comp->kind = kind;
        comp->pos = key->pos;
        if (!(comp->id = keep(cfg, id, strlen(id))) || !(comp->type = keep(cfg, id, tl)) ||
            !(comp->name = keep(cfg, slash ? slash + 1 : "", slash ? strlen(slash + 1) : 0)))
            return PG_ENOMEM;
        if (!valid_id(c->diags, key, SECTION_KEYS[kind])) continue;
        comp->desc = reg->lookup(reg->ud, kind, comp->type);
        if (!comp->desc) {
            unknown_type(c->diags, reg, kind, comp->type, &key->pos);
            continue;
        }
        if (!(comp->cfg = pg_arena_calloc(cfg->arena, 1, comp->desc->size ? comp->desc->size : 1)))
            return PG_ENOMEM;
        snprintf(what, sizeof what, "%s %s", pg_cfg_kind_name(kind), id);
        if (!(c->what = pg_arena_strndup(c->tmp, what, strlen(what)))) return PG_ENOMEM;
        c->owner = comp;
        c->kind = kind;
        int before = c->errors;
        int rc = pg_cfg_decode(c, comp->desc->table, val, &key->pos, comp->cfg, NULL);
        c->owner = NULL;
        if (rc) return rc;
        if (c->errors == before && comp->desc->validate) {
            char err[512] = "";
            if (comp->desc->validate(comp->cfg, err, sizeof err))
                pg_cfg_dctx_error(c, &key->pos, NULL, "%s", err[0] ? err : "invalid config");
        }
    }
    return 0;
}

/* True for the hosts that mean "every interface". */
static bool wildcard(const char *h)
{
    return !*h || !strcmp(h, "0.0.0.0") || !strcmp(h, "::");
}

/* True for the loopback names that "localhost" may resolve to. */
static bool loopback(const char *h)
{
    return !strcasecmp(h, "localhost") || !strcmp(h, "127.0.0.1") || !strcmp(h, "::1");
}

/* True when binding both hosts on one port would collide. */
static bool hosts_overlap(const char *a, const char *b)
{
    if (wildcard(a) || wildcard(b) || !strcasecmp(a, b)) return true;
    return (!strcasecmp(a, "localhost") && loopback(b)) ||
           (!strcasecmp(b, "localhost") && loopback(a));
}

/* True when the endpoint is one profgate listens on: a used receiver or extension, or the
 * metrics address when metrics are on. Exporter and processor endpoints are peers. */
static bool listening(const pg_config *cfg, const pg_cfg_epref *r)
{
    const pg_cfg_component *comp = r->owner;
    if (!comp) return cfg->service.telemetry.metrics.level != PG_CFG_METRICS_NONE;
    return (comp->kind == PG_CFG_RECEIVER || comp->kind == PG_CFG_EXTENSION) && comp->used;
}

/* Reports each listening endpoint whose port an earlier one already takes. */
static void check_ports(const pg_config *cfg, const pg_cfg_dctx *c)
{
    for (size_t i = 0; i < c->neps; i++) {
        const pg_cfg_epref *b = &c->eps[i];
        if (!b->ep->text || b->ep->port == 0 || !listening(cfg, b)) continue;
        for (size_t j = 0; j < i; j++) {
            const pg_cfg_epref *a = &c->eps[j];
            if (!a->ep->text || a->ep->port != b->ep->port || !listening(cfg, a) ||
                !hosts_overlap(a->ep->host, b->ep->host))
                continue;
            pg_cfg_diag_add(c->diags, PG_CFG_ERROR, &b->pos,
                            "%s: %s: \"%s\"%s uses port %u, already used by %s: %s \"%s\"%s "
                            "at %s:%d:%d",
                            b->what, b->path, b->ep->text, b->defaulted ? " (default)" : "",
                            (unsigned)b->ep->port, a->what, a->path, a->ep->text,
                            a->defaulted ? " (default)" : "", a->pos.file, a->pos.line,
                            a->pos.column);
            break;
        }
    }
}

/* Warns about components no pipeline (or service.extensions) names. */
static void warn_unused(const pg_config *cfg, pg_cfg_diags *d)
{
    for (size_t i = 0; i < cfg->ncomponents; i++) {
        const pg_cfg_component *comp = &cfg->components[i];
        if (comp->used) continue;
        if (comp->kind == PG_CFG_EXTENSION)
            pg_cfg_diag_add(d, PG_CFG_WARNING, &comp->pos,
                            "extension \"%s\" is defined but not listed in service.extensions",
                            comp->id);
        else
            pg_cfg_diag_add(d, PG_CFG_WARNING, &comp->pos,
                            "%s \"%s\" is defined but not used by any pipeline",
                            pg_cfg_kind_name(comp->kind), comp->id);
    }
}

/* Reports unknown top-level keys and connectors. */
static void check_top_keys(const pg_cfg_node *root, pg_cfg_diags *d)
{
    const size_t ntop = sizeof TOP_KEYS / sizeof *TOP_KEYS;
    for (size_t i = 0; i < root->n; i++) {
        const pg_cfg_node *key = root->pairs[i].key;
        bool known = false;
        for (size_t k = 0; k < ntop; k++)
            known |= !strcmp(key->str, TOP_KEYS[k]);
        if (known) continue;
        if (!strcmp(key->str, "connectors")) {
            pg_cfg_diag_add(d, PG_CFG_ERROR, &key->pos,
                            "connectors are not supported (profgate runs profiles pipelines "
                            "from receivers to exporters)");
            continue;
        }
        const char *near = pg_cfg_suggest(key->str, TOP_KEYS, ntop);
        char list[256] = "";
        pg_cfg_join(list, sizeof list, TOP_KEYS, ntop);
        if (near)
            pg_cfg_diag_add(d, PG_CFG_ERROR, &key->pos,
                            "unknown top-level key \"%s\" (did you mean \"%s\"?)", key->str, near);
        else
            pg_cfg_diag_add(d, PG_CFG_ERROR, &key->pos,
                            "unknown top-level key \"%s\"; valid keys: %s", key->str, list);
    }
}

/* See config_int.h. */
int pg_cfg_validate_document(pg_config *cfg, pg_arena *tmp, const pg_cfg_node *root,
                             const pg_cfg_pos *start, const pg_cfg_registry *reg, pg_cfg_diags *d)
{
    if (pg_cfg_node_is_null(root) || root->n == 0) {
        pg_cfg_diag_add(d, PG_CFG_ERROR, start,
                        "config is empty: define receivers, exporters and service.pipelines");
        return 0;
    }
    check_top_keys(root, d);
    size_t total = 0;
    for (int k = 0; k < 4; k++) {
        const pg_cfg_pair *p = pg_cfg_map_find(root, SECTION_KEYS[k]);
        if (p && p->value->kind == PG_CFG_NODE_MAP) total += p->value->n;
    }
    cfg->components = pg_arena_calloc(cfg->arena, total ? total : 1, sizeof *cfg->components);
    if (!cfg->components) return PG_ENOMEM;
    pg_cfg_dctx c = {.out = cfg->arena, .tmp = tmp, .diags = d, .collect_eps = true, .reg = reg};
    for (int k = 0; k < 4; k++) {
        const pg_cfg_pair *p = pg_cfg_map_find(root, SECTION_KEYS[k]);
        int rc = p ? decode_section(cfg, &c, reg, (pg_cfg_kind)k, p) : 0;
        if (rc) return rc;
    }
    const pg_cfg_pair *service = pg_cfg_map_find(root, "service");
    c.what = "service";
    int rc = pg_cfg_validate_service(cfg, &c, service);
    if (!rc) rc = pg_cfg_validate_pipelines(cfg, service, &root->pos, d);
    if (rc) return rc;
    warn_unused(cfg, d);
    check_ports(cfg, &c);
    return pg_cfg_diags_oom(d) ? PG_ENOMEM : 0;
}
