/* Decoding a YAML mapping against a component's config table: defaults first (parsed from
 * their text exactly like input), then every key of the mapping; unknown keys, wrong types,
 * bad values, out-of-range values and missing required keys are all reported, never only the
 * first. Decoded strings and arrays live in the config's arena. */
#include "pipeline/config/config_int.h"
#include "pipeline/core/err.h"
#include "pipeline/core/regex.h"
#include "pipeline/core/vec.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PATH_MAX_LEN 256

/* Reports "<what>: <path>: message" at pos and counts it. */
void pg_cfg_dctx_error(pg_cfg_dctx *c, const pg_cfg_pos *pos, const char *path, const char *fmt,
                       ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *what = c->what ? c->what : "config";
    const char *tag = c->in_default ? "bad default in the config table: " : "";
    if (path && *path)
        pg_cfg_diag_add(c->diags, PG_CFG_ERROR, pos, "%s: %s: %s%s", what, path, tag, msg);
    else
        pg_cfg_diag_add(c->diags, PG_CFG_ERROR, pos, "%s: %s%s", what, tag, msg);
    c->errors++;
}

/* "a boolean", "an integer", ... for "expected X, got Y". */
static const char *type_desc(pg_cfg_type t)
{
    switch (t) {
    case PG_CFG_BOOL:
        return "a boolean (true or false)";
    case PG_CFG_INT:
        return "an integer";
    case PG_CFG_DOUBLE:
        return "a number";
    case PG_CFG_DURATION:
        return "a duration (e.g. 10s)";
    case PG_CFG_SIZE:
        return "a size (e.g. 4MiB)";
    case PG_CFG_STRING:
        return "a string";
    case PG_CFG_ENUM:
        return "one of the allowed values"; /* not used: the values are listed */
    case PG_CFG_STRING_LIST:
        return "a list of strings";
    case PG_CFG_STRING_MAP:
        return "a mapping of strings";
    case PG_CFG_ENDPOINT:
        return "an endpoint (host:port)";
    case PG_CFG_SECTION:
        return "a mapping";
    case PG_CFG_PRESENT:
        return "nothing (not a key)";
    case PG_CFG_SECTION_LIST:
        return "a list of mappings";
    case PG_CFG_REGEX:
        return "a regular expression";
    case PG_CFG_COMPONENT:
        return "a mapping of one component type to its settings";
    }
    return "a value";
}

/* Writes "path.key" (or "key" at the top) into out. */
static void child_path(char *out, const char *path, const char *key)
{
    snprintf(out, PATH_MAX_LEN, "%s%s%s", path, *path ? "." : "", key);
}

/* Compares a parsed value against the field's bounds (text parsed like the value). `v` is
 * the value as int64, uint64 or double by type. Returns 0 in range, PG_EINVAL (reported). */
static int check_bounds(pg_cfg_dctx *c, const pg_cfg_field *f, const pg_cfg_node *n,
                        const char *path, int64_t iv, uint64_t uv, double dv)
{
    bool below = false, above = false;
    const char *bounds[2] = {f->min, f->max};
    for (int b = 0; b < 2; b++) {
        if (!bounds[b]) continue;
        int64_t bi = 0;
        uint64_t bu = 0;
        double bd = 0;
        int rc = 0;
        if (f->type == PG_CFG_INT)
            rc = pg_cfg_parse_int(bounds[b], &bi, NULL, 0);
        else if (f->type == PG_CFG_DURATION)
            rc = pg_cfg_parse_duration(bounds[b], &bi, NULL, 0);
        else if (f->type == PG_CFG_SIZE)
            rc = pg_cfg_parse_size(bounds[b], &bu, NULL, 0);
        else
            rc = pg_cfg_parse_double(bounds[b], &bd, NULL, 0);
        if (rc) {
            pg_cfg_dctx_error(c, &n->pos, path, "bad bound \"%s\" in the config table", bounds[b]);
            return PG_EINVAL;
        }
        bool out;
        if (f->type == PG_CFG_SIZE)
            out = b ? uv > bu : uv < bu;
        else if (f->type == PG_CFG_DOUBLE)
            out = b ? dv > bd : dv < bd;
        else
            out = b ? iv > bi : iv < bi;
        if (b)
            above = out;
        else
            below = out;
    }
    if (f->type == PG_CFG_DURATION && !f->min && iv < 0) {
        pg_cfg_dctx_error(c, &n->pos, path, "duration \"%s\" must not be negative", n->str);
        return PG_EINVAL;
    }
    if (!below && !above) return 0;
    if (f->min && f->max)
        pg_cfg_dctx_error(c, &n->pos, path, "\"%s\" is out of range: must be between %s and %s",
                          n->str, f->min, f->max);
    else if (below)
        pg_cfg_dctx_error(c, &n->pos, path, "\"%s\" is out of range: must be at least %s", n->str,
                          f->min);
    else
        pg_cfg_dctx_error(c, &n->pos, path, "\"%s\" is out of range: must be at most %s", n->str,
                          f->max);
    return PG_EINVAL;
}

/* Returns an arena copy of a scalar for a string field, or NULL (c->oom set). */
static char *copy_str(pg_cfg_dctx *c, const pg_cfg_node *n)
{
    char *s = pg_arena_strndup(c->out, n->str, n->len);
    if (!s) c->oom = true;
    return s;
}

/* Decodes a scalar value of a scalar-typed field into dst. */
static void decode_scalar(pg_cfg_dctx *c, const pg_cfg_field *f, const pg_cfg_node *n, void *dst,
                          const char *path)
{
    char msg[512];
    const char *s = n->str;
    switch (f->type) {
    case PG_CFG_BOOL:
        if (pg_cfg_parse_bool(s, (bool *)dst))
            pg_cfg_dctx_error(c, &n->pos, path, "expected %s, got \"%s\"", type_desc(f->type), s);
        return;
    case PG_CFG_INT: {
        int64_t v;
        if (pg_cfg_parse_int(s, &v, msg, sizeof msg))
            pg_cfg_dctx_error(c, &n->pos, path, "%s", msg);
        else if (!check_bounds(c, f, n, path, v, 0, 0))
            *(int64_t *)dst = v;
        return;
    }
    case PG_CFG_DOUBLE: {
        double v;
        if (pg_cfg_parse_double(s, &v, msg, sizeof msg))
            pg_cfg_dctx_error(c, &n->pos, path, "%s", msg);
        else if (!check_bounds(c, f, n, path, 0, 0, v))
            *(double *)dst = v;
        return;
    }
    case PG_CFG_DURATION: {
        int64_t v;
        if (pg_cfg_parse_duration(s, &v, msg, sizeof msg))
            pg_cfg_dctx_error(c, &n->pos, path, "%s", msg);
        else if (!check_bounds(c, f, n, path, v, 0, 0))
            *(int64_t *)dst = v;
        return;
    }
    case PG_CFG_SIZE: {
        uint64_t v;
        if (pg_cfg_parse_size(s, &v, msg, sizeof msg))
            pg_cfg_dctx_error(c, &n->pos, path, "%s", msg);
        else if (!check_bounds(c, f, n, path, 0, v, 0))
            *(uint64_t *)dst = v;
        return;
    }
    case PG_CFG_STRING:
        *(char **)dst = copy_str(c, n);
        return;
    case PG_CFG_REGEX: {
        pg_regex *re = NULL;
        int rc = pg_regex_compile(s, &re, msg, sizeof msg);
        pg_regex_free(re);
        if (rc == PG_ENOMEM) c->oom = true;
        if (rc)
            pg_cfg_dctx_error(c, &n->pos, path, "%s", msg);
        else
            *(char **)dst = copy_str(c, n);
        return;
    }
    case PG_CFG_ENUM: {
        for (int i = 0; f->enum_values && f->enum_values[i]; i++)
            if (!strcasecmp(f->enum_values[i], s)) {
                *(int *)dst = i;
                return;
            }
        msg[0] = 0;
        size_t nv = 0;
        while (f->enum_values && f->enum_values[nv])
            nv++;
        pg_cfg_join(msg, sizeof msg, f->enum_values, nv);
        pg_cfg_dctx_error(c, &n->pos, path, "invalid value \"%s\"; allowed: %s", s, msg);
        return;
    }
    case PG_CFG_ENDPOINT: {
        pg_cfg_endpoint *ep = dst;
        char *host = NULL;
        uint16_t port;
        int rc = pg_cfg_parse_endpoint(s, &host, &port, msg, sizeof msg);
        if (rc == PG_ENOMEM) c->oom = true;
        if (rc) {
            if (rc != PG_ENOMEM) pg_cfg_dctx_error(c, &n->pos, path, "%s", msg);
            for (size_t i = 0; i < c->neps; i++) /* no port check on the default it replaced */
                if (c->eps[i].ep == ep) {
                    memmove(&c->eps[i], &c->eps[i + 1], (c->neps - i - 1) * sizeof *c->eps);
                    c->neps--;
                    break;
                }
            return;
        }
        ep->text = copy_str(c, n);
        ep->host = pg_arena_strndup(c->out, host, strlen(host));
        ep->port = port;
        free(host);
        if (!ep->host) c->oom = true;
        if (!c->collect_eps) return;
        char *pcopy = pg_arena_strndup(c->tmp, path, strlen(path));
        if (!pcopy) c->oom = true;
        pg_cfg_epref ref = {ep, n->pos, c->what, pcopy, c->owner, c->in_default};
        for (size_t i = 0; i < c->neps; i++)
            if (c->eps[i].ep == ep) { /* a value replacing the default */
                c->eps[i] = ref;
                return;
            }
        if (PG_VEC_RESERVE_ARENA(c->tmp, c->eps, c->capeps, c->neps + 1, 8)) {
            c->oom = true;
            return;
        }
        c->eps[c->neps++] = ref;
        return;
    }
    default:
        return;
    }
}

static int decode_map(pg_cfg_dctx *c, const pg_cfg_field *table, const pg_cfg_node *map,
                      const pg_cfg_pos *owner, char *base, const char *path,
                      const char *const *skip);
static int apply_defaults_at(pg_cfg_dctx *c, const pg_cfg_field *table, char *base,
                             const char *path, const pg_cfg_pos *owner);

/* The nested table for a COMPONENT field f: desc's own, or (when f names keys its owner
 * sets itself, in f->enum_values) a copy in c->tmp where those keys are not required. */
static const pg_cfg_field *component_table(pg_cfg_dctx *c, const pg_cfg_field *f,
                                           const pg_cfg_component_desc *desc)
{
    if (!f->enum_values) return desc->table;
    size_t n = 0;
    while (desc->table[n].key)
        n++;
    pg_cfg_field *t = pg_arena_memdup(c->tmp, desc->table, (n + 1) * sizeof *t);
    if (!t) return NULL;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; f->enum_values[k]; k++)
            if (!strcmp(t[i].key, f->enum_values[k])) t[i].required = false;
    return t;
}

/* Runs desc->validate on cfg, or, when f names keys its owner sets, on a copy where those
 * that are unset (STRING, ENDPOINT) hold a placeholder endpoint. Returns its status. */
static int component_validate(pg_cfg_dctx *c, const pg_cfg_field *f,
                              const pg_cfg_component_desc *desc, const void *cfg, char *err,
                              size_t errlen)
{
    if (!f->enum_values) return desc->validate(cfg, err, errlen);
    char *copy = pg_arena_memdup(c->tmp, cfg, desc->size ? desc->size : 1);
    if (!copy) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    static char host[] = "localhost", text[] = "localhost:4317";
    for (size_t k = 0; f->enum_values[k]; k++) {
        const pg_cfg_field *g = pg_cfg_field_find(desc->table, f->enum_values[k]);
        if (g && g->type == PG_CFG_STRING && !*(char **)(copy + g->offset))
            *(char **)(copy + g->offset) = text;
        if (g && g->type == PG_CFG_ENDPOINT && !((pg_cfg_endpoint *)(copy + g->offset))->text)
            *(pg_cfg_endpoint *)(copy + g->offset) = (pg_cfg_endpoint){text, host, 4317};
    }
    return desc->validate(copy, err, errlen);
}

/* Decodes a COMPONENT value n (a mapping) of field f: its one key names a type of c->kind,
 * whose value is decoded with that type's table (defaults, keys, required keys but those
 * the owner sets) and validate into a new struct in c->out; ref is set only when that type
 * exists. */
static void decode_component(pg_cfg_dctx *c, const pg_cfg_field *f, const pg_cfg_node *n,
                             pg_cfg_component_ref *ref, const char *path)
{
    if (n->n != 1) {
        pg_cfg_dctx_error(c, &n->pos, path,
                          "expected exactly one component type (such as `otlp: {...}`), got %zu",
                          n->n);
        return;
    }
    const pg_cfg_pair *p = &n->pairs[0];
    const char *type = p->key->str;
    const pg_cfg_component_desc *desc = c->reg ? c->reg->lookup(c->reg->ud, c->kind, type) : NULL;
    if (!desc) {
        char msg[768] = "component types are not known here";
        if (c->reg) pg_cfg_unknown_type_msg(msg, sizeof msg, c->reg, c->kind, type);
        pg_cfg_dctx_error(c, &p->key->pos, path, "%s", msg);
        return;
    }
    void *cfg = pg_arena_calloc(c->out, 1, desc->size ? desc->size : 1);
    char *tcopy = copy_str(c, p->key);
    const pg_cfg_field *table = component_table(c, f, desc);
    if (!cfg || !tcopy || !table) {
        c->oom = true;
        return;
    }
    char cp[PATH_MAX_LEN];
    child_path(cp, path, type);
    int before = c->errors;
    if (apply_defaults_at(c, table, cfg, cp, &p->key->pos) ||
        decode_map(c, table, p->value, &p->key->pos, cfg, cp, NULL))
        return;
    if (c->errors == before && desc->validate) {
        char err[512] = "";
        if (component_validate(c, f, desc, cfg, err, sizeof err))
            pg_cfg_dctx_error(c, &p->key->pos, cp, "%s", err[0] ? err : "invalid config");
    }
    *ref = (pg_cfg_component_ref){tcopy, desc, cfg, p->key->pos};
}

/* Decodes a list of mappings (SECTION_LIST) into one struct per item, defaults first. */
static void decode_section_list(pg_cfg_dctx *c, const pg_cfg_field *f, const pg_cfg_node *n,
                                void *dst, const char *path)
{
    char ipath[PATH_MAX_LEN + 32];
    pg_cfg_seclist *l = dst;
    l->n = 0;
    l->items = pg_arena_calloc(c->out, n->n ? n->n : 1, pg_cfg_item_size(f->section));
    if (!l->items) {
        c->oom = true;
        return;
    }
    for (size_t i = 0; i < n->n; i++) {
        const pg_cfg_node *it = n->items[i];
        char *item = (char *)l->items + l->n * pg_cfg_item_size(f->section);
        snprintf(ipath, sizeof ipath, "%s[%zu]", path, i);
        if (it->bad) continue;
        if (apply_defaults_at(c, f->section, item, ipath, &it->pos)) return;
        if (it->kind != PG_CFG_NODE_MAP) {
            char got[64];
            pg_cfg_node_describe(it, got, sizeof got);
            pg_cfg_dctx_error(c, &it->pos, ipath, "expected a mapping, got %s", got);
            continue;
        }
        if (decode_map(c, f->section, it, &it->pos, item, ipath, NULL)) return;
        l->n++;
    }
}

/* Decodes one present value of field f into dst (null values keep the default). */
static void decode_value(pg_cfg_dctx *c, const pg_cfg_field *f, const pg_cfg_node *n, void *dst,
                         const char *path, const pg_cfg_pos *keypos)
{
    if (n && n->bad) return;
    if (pg_cfg_node_is_null(n)) {
        /* `section:` with no value is present: its own required keys still apply */
        if (f->type == PG_CFG_SECTION) decode_map(c, f->section, NULL, keypos, dst, path, NULL);
        return;
    }
    char got[64], ipath[PATH_MAX_LEN + 32];
    pg_cfg_node_describe(n, got, sizeof got);
    pg_cfg_node_kind want =
        f->type == PG_CFG_SECTION || f->type == PG_CFG_STRING_MAP || f->type == PG_CFG_COMPONENT
            ? PG_CFG_NODE_MAP
        : f->type == PG_CFG_STRING_LIST || f->type == PG_CFG_SECTION_LIST ? PG_CFG_NODE_SEQ
                                                                          : PG_CFG_NODE_SCALAR;
    if (n->kind != want && f->type == PG_CFG_ENUM) {
        char list[256] = "";
        size_t nv = 0;
        while (f->enum_values && f->enum_values[nv])
            nv++;
        pg_cfg_join(list, sizeof list, f->enum_values, nv);
        pg_cfg_dctx_error(c, &n->pos, path, "expected one of %s; got %s", list, got);
        return;
    }
    if (n->kind != want) {
        pg_cfg_dctx_error(c, &n->pos, path, "expected %s, got %s", type_desc(f->type), got);
        return;
    }
    if (f->type == PG_CFG_SECTION) {
        decode_map(c, f->section, n, keypos, dst, path, NULL);
    } else if (f->type == PG_CFG_COMPONENT) {
        decode_component(c, f, n, dst, path);
    } else if (f->type == PG_CFG_SECTION_LIST) {
        decode_section_list(c, f, n, dst, path);
    } else if (f->type == PG_CFG_STRING_LIST) {
        pg_cfg_strlist *l = dst;
        l->n = 0;
        l->items = pg_arena_calloc(c->out, n->n ? n->n : 1, sizeof *l->items);
        if (!l->items) c->oom = true;
        for (size_t i = 0; l->items && i < n->n; i++) {
            const pg_cfg_node *it = n->items[i];
            snprintf(ipath, sizeof ipath, "%s[%zu]", path, i);
            pg_cfg_node_describe(it, got, sizeof got);
            if (it->bad) continue;
            if (it->kind != PG_CFG_NODE_SCALAR || it->null)
                pg_cfg_dctx_error(c, &it->pos, ipath, "expected a string, got %s", got);
            else
                l->items[l->n++] = copy_str(c, it);
        }
    } else if (f->type == PG_CFG_STRING_MAP) {
        pg_cfg_strmap *m = dst;
        m->n = 0;
        m->keys = pg_arena_calloc(c->out, n->n ? n->n : 1, sizeof *m->keys);
        m->values = pg_arena_calloc(c->out, n->n ? n->n : 1, sizeof *m->values);
        if (!m->keys || !m->values) c->oom = true;
        for (size_t i = 0; m->keys && m->values && i < n->n; i++) {
            const pg_cfg_pair *p = &n->pairs[i];
            child_path(ipath, path, p->key->str);
            pg_cfg_node_describe(p->value, got, sizeof got);
            if (p->value->bad) continue;
            if (p->value->kind != PG_CFG_NODE_SCALAR || p->value->null) {
                pg_cfg_dctx_error(c, &p->value->pos, ipath, "expected a string, got %s", got);
                continue;
            }
            m->keys[m->n] = copy_str(c, p->key);
            m->values[m->n++] = copy_str(c, p->value);
        }
    } else {
        decode_scalar(c, f, n, dst, path);
    }
}

/* True when table has a PRESENT field (an optional section). */
static bool has_present(const pg_cfg_field *table)
{
    for (const pg_cfg_field *f = table; f && f->key; f++)
        if (f->type == PG_CFG_PRESENT) return true;
    return false;
}

/* Fills every field of table under base from its default text. The default endpoints of an
 * optional section are port-checked only when the section is given (decode_map). */
static int apply_defaults_at(pg_cfg_dctx *c, const pg_cfg_field *table, char *base,
                             const char *path, const pg_cfg_pos *owner)
{
    for (const pg_cfg_field *f = table; f->key; f++) {
        char cp[PATH_MAX_LEN];
        child_path(cp, path, f->key);
        if (f->type == PG_CFG_SECTION) {
            bool collect = c->collect_eps;
            if (has_present(f->section)) c->collect_eps = false;
            int rc = f->section ? apply_defaults_at(c, f->section, base + f->offset, cp, owner) : 0;
            c->collect_eps = collect;
            if (rc) return PG_ENOMEM;
            continue;
        }
        if (!f->def) continue;
        pg_cfg_node *n = NULL;
        int rc = pg_cfg_doc_parse(c->tmp, "<default>", f->def, strlen(f->def), c->diags, &n);
        if (rc == PG_ENOMEM) return rc;
        if (rc) {
            c->errors++;
            continue;
        }
        /* a default is reported at the component, as a table bug */
        n->pos = *owner;
        c->in_default = true;
        decode_value(c, f, n, base + f->offset, cp, owner);
        c->in_default = false;
        if (c->oom) return PG_ENOMEM;
    }
    return 0;
}

/* Decodes the keys of map into the fields of table at base; reports unknown and missing. */
static int decode_map(pg_cfg_dctx *c, const pg_cfg_field *table, const pg_cfg_node *map,
                      const pg_cfg_pos *owner, char *base, const char *path,
                      const char *const *skip)
{
    char cp[PATH_MAX_LEN], got[64];
    if (map && map->bad) return 0;
    if (!pg_cfg_node_is_null(map) && map->kind != PG_CFG_NODE_MAP) {
        pg_cfg_node_describe(map, got, sizeof got);
        pg_cfg_dctx_error(c, &map->pos, path, "expected a mapping, got %s", got);
        return 0;
    }
    size_t nmap = pg_cfg_node_is_null(map) ? 0 : map->n;
    if (has_present(table)) { /* an optional section, given: its defaults count now */
        if (apply_defaults_at(c, table, base, path, owner)) return PG_ENOMEM;
        for (const pg_cfg_field *f = table; f->key; f++)
            if (f->type == PG_CFG_PRESENT) *(bool *)(base + f->offset) = true;
    }
    for (size_t i = 0; i < nmap; i++) {
        const pg_cfg_pair *p = &map->pairs[i];
        const char *key = p->key->str;
        const pg_cfg_field *f = table;
        while (f->key && (f->type == PG_CFG_PRESENT || strcmp(f->key, key)))
            f++;
        if (f->key) {
            child_path(cp, path, key);
            decode_value(c, f, p->value, base + f->offset, cp, &p->key->pos);
            if (c->oom) return PG_ENOMEM;
            continue;
        }
        bool skipped = false;
        for (size_t k = 0; skip && skip[k]; k++)
            skipped |= !strcmp(skip[k], key);
        if (skipped) continue;
        const char *known[128];
        size_t nk = 0;
        for (const pg_cfg_field *t = table; t->key && nk < 120; t++)
            if (t->type != PG_CFG_PRESENT) known[nk++] = t->key;
        for (size_t k = 0; skip && skip[k] && nk < 128; k++)
            known[nk++] = skip[k];
        const char *near = pg_cfg_suggest(key, known, nk);
        char list[512] = "";
        if (near) {
            pg_cfg_dctx_error(c, &p->key->pos, path, "unknown key \"%s\" (did you mean \"%s\"?)",
                              key, near);
        } else if (nk) {
            pg_cfg_join(list, sizeof list, known, nk);
            pg_cfg_dctx_error(c, &p->key->pos, path, "unknown key \"%s\"; valid keys: %s", key,
                              list);
        } else {
            pg_cfg_dctx_error(c, &p->key->pos, path, "unknown key \"%s\"; this takes no keys", key);
        }
    }
    for (const pg_cfg_field *f = table; f->key; f++) {
        if (!f->required) continue;
        child_path(cp, path, f->key);
        const pg_cfg_pair *p = nmap ? pg_cfg_map_find(map, f->key) : NULL;
        if (!p)
            pg_cfg_dctx_error(c, owner, cp, "missing required key");
        else if (pg_cfg_node_is_null(p->value) && f->type != PG_CFG_SECTION)
            pg_cfg_dctx_error(c, &p->key->pos, cp, "required key has no value");
    }
    return c->oom ? PG_ENOMEM : 0;
}

/* See config_int.h. */
int pg_cfg_decode(pg_cfg_dctx *c, const pg_cfg_field *table, const pg_cfg_node *map,
                  const pg_cfg_pos *owner, void *out, const char *const *skip_keys)
{
    int rc = pg_cfg_apply_defaults(c, table, out, owner);
    if (!rc) rc = decode_map(c, table, map, owner, out, "", skip_keys);
    return rc ? rc : c->oom ? PG_ENOMEM : 0;
}

/* See config_int.h. */
int pg_cfg_apply_defaults(pg_cfg_dctx *c, const pg_cfg_field *table, void *out,
                          const pg_cfg_pos *owner)
{
    return apply_defaults_at(c, table, out, "", owner);
}
