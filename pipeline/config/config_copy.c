/* Deep copies of decoded config structs, driven by their tables: what a component keeps
 * when it creates other components after its own create returned (the config it was
 * given is freed on reload). */
#include "pipeline/config/config_int.h"

#include <string.h>

/* Copies the NUL-terminated s into a (NULL stays NULL); sets *oom when it cannot. */
static char *dup_str(pg_arena *a, const char *s, bool *oom)
{
    if (!s) return NULL;
    char *d = pg_arena_strndup(a, s, strlen(s));
    if (!d) *oom = true;
    return d;
}

/* Copies an array of n strings into a. */
static char **dup_strs(pg_arena *a, char *const *v, size_t n, bool *oom)
{
    if (!v) return NULL;
    char **d = pg_arena_calloc(a, n ? n : 1, sizeof *d);
    if (!d) {
        *oom = true;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        d[i] = dup_str(a, v[i], oom);
    return d;
}

/* Replaces every pointer of the struct at base (already a shallow copy) with a copy in a. */
static void copy_fields(pg_arena *a, const pg_cfg_field *table, char *base, pg_cfg_str_fn fn,
                        void *ud, bool *oom)
{
    for (const pg_cfg_field *f = table; f->key && !*oom; f++) {
        void *p = base + f->offset;
        switch (f->type) {
        case PG_CFG_STRING: {
            char **s = p;
            if (*s && fn) {
                char *r = fn(ud, a, *s);
                if (!r) *oom = true;
                *s = r == *s ? dup_str(a, r, oom) : r;
            } else {
                *s = dup_str(a, *s, oom);
            }
            break;
        }
        case PG_CFG_STRING_LIST: {
            pg_cfg_strlist *l = p;
            l->items = dup_strs(a, l->items, l->n, oom);
            break;
        }
        case PG_CFG_STRING_MAP: {
            pg_cfg_strmap *m = p;
            m->keys = dup_strs(a, m->keys, m->n, oom);
            m->values = dup_strs(a, m->values, m->n, oom);
            break;
        }
        case PG_CFG_ENDPOINT: {
            pg_cfg_endpoint *e = p;
            e->text = dup_str(a, e->text, oom);
            e->host = dup_str(a, e->host, oom);
            break;
        }
        case PG_CFG_REGEX: {
            char **s = p;
            *s = dup_str(a, *s, oom); /* a pattern: never rewritten */
            break;
        }
        case PG_CFG_SECTION:
            if (f->section) copy_fields(a, f->section, p, fn, ud, oom);
            break;
        case PG_CFG_SECTION_LIST: {
            pg_cfg_seclist *l = p;
            size_t isz = pg_cfg_item_size(f->section);
            if (!l->items) break;
            l->items = pg_arena_memdup(a, l->items, (l->n ? l->n : 1) * isz);
            if (!l->items) *oom = true;
            for (size_t i = 0; l->items && i < l->n && !*oom; i++)
                copy_fields(a, f->section, (char *)l->items + i * isz, fn, ud, oom);
            break;
        }
        case PG_CFG_COMPONENT: {
            pg_cfg_component_ref *r = p;
            if (!r->cfg) break;
            r->type = dup_str(a, r->type, oom);
            r->cfg = pg_cfg_copy(a, r->desc->table, r->desc->size, r->cfg, fn, ud);
            if (!r->cfg) *oom = true;
            break;
        }
        default:
            break;
        }
    }
}

/* See config.h. */
void *pg_cfg_copy(pg_arena *a, const pg_cfg_field *table, size_t size, const void *src,
                  pg_cfg_str_fn fn, void *ud)
{
    void *out = pg_arena_memdup(a, src, size ? size : 1);
    if (!out) return NULL;
    bool oom = false;
    copy_fields(a, table, out, fn, ud, &oom);
    return oom ? NULL : out;
}

/* See config.h. */
const pg_cfg_field *pg_cfg_field_find(const pg_cfg_field *table, const char *key)
{
    for (const pg_cfg_field *f = table; f && f->key; f++)
        if (!strcmp(f->key, key)) return f;
    return NULL;
}
