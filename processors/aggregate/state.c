/* aggregate's window state (see aggregate_int.h): groups, scopes, series and their rows. */
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/core/merge.h"
#include "pipeline/core/compact.h"
#include "pipeline/core/vec.h"
#include "pipeline/translate/pprof_tables.h"
#include "processors/aggregate/aggregate_int.h"
#include "processors/aggregate/aggregate_keys.h"

#include <stdlib.h>
#include <string.h>

/* A new group: an empty batch carrying src's metadata. */
ag_group *pg_ag_group_new(const pg_batch *src, const uint8_t *meta_key, size_t meta_len,
                          uint64_t start)
{
    ag_group *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->b = pg_batch_new(0);
    g->meta_key = malloc(meta_len);
    if (!g->b || !g->meta_key) goto fail;
    memcpy(g->meta_key, meta_key, meta_len);
    g->meta_len = meta_len;
    g->window_start = start;
    for (size_t i = 0; i < pg_batch_meta_count(src); i++) {
        const pg_meta_entry *e = pg_batch_meta_at(src, i);
        if (pg_batch_meta_set(g->b, e->key, e->value)) goto fail;
    }
    return g;
fail:
    pg_ag_group_free(g);
    return NULL;
}

void pg_ag_group_free(ag_group *g)
{
    if (!g) return;
    for (size_t i = 0; i < g->n_scopes; i++)
        free(g->scopes[i].key);
    for (size_t i = 0; i < g->n_series; i++) {
        free(g->series[i].key);
        pg_samples_builder_free(&g->series[i].sb);
        pg_index_free(&g->series[i].rows);
    }
    free(g->scopes);
    free(g->series);
    pg_index_free(&g->scope_ix);
    pg_index_free(&g->series_ix);
    free(g->holds);
    free(g->meta_key);
    pg_batch_free(g->b);
    free(g);
}

/* ---- finding scopes and series by key ---- */

typedef struct keyprobe {
    const uint8_t *p;
    size_t n;
} keyprobe;

static int scope_eq(const void *ctx, const void *key, uint32_t id)
{
    const ag_group *g = ctx;
    const keyprobe *k = key;
    return g->scopes[id].key_len == k->n && memcmp(g->scopes[id].key, k->p, k->n) == 0;
}

static int series_eq(const void *ctx, const void *key, uint32_t id)
{
    const ag_group *g = ctx;
    const keyprobe *k = key;
    return g->series[id].key_len == k->n && memcmp(g->series[id].key, k->p, k->n) == 0;
}

/* The scope entry for key (made, with copies of rp's resource and sp's scope, when new).
 * Returns its index or a negative status. */
static int64_t find_scope(ag_group *g, const pg_buf *key, const pg_otlp_rprofiles *rp,
                          const pg_otlp_sprofiles *sp)
{
    keyprobe k = {key->data, key->len};
    uint64_t h = pg_hash_bytes(k.p, k.n, 17);
    uint32_t id = pg_index_find(&g->scope_ix, h, scope_eq, g, &k);
    if (id != UINT32_MAX) return id;
    pg_arena *a = pg_batch_arena(g->b);
    if (PG_VEC_RESERVE(g->scopes, g->cap_scopes, g->n_scopes + 1, 8)) return PG_ENOMEM;
    pg_otlp_rprofiles *orp = NULL;
    pg_otlp_sprofiles *osp = pg_batch_add_scope(g->b, &orp);
    if (!osp) return pg_arena_status(a);
    if (rp->schema_url &&
        !(orp->schema_url = pg_arena_strndup(a, rp->schema_url, strlen(rp->schema_url))))
        return pg_arena_status(a);
    if (rp->resource && !(orp->resource = pg_otlp_resource_copy(a, rp->resource)))
        return pg_arena_status(a);
    if (sp->schema_url &&
        !(osp->schema_url = pg_arena_strndup(a, sp->schema_url, strlen(sp->schema_url))))
        return pg_arena_status(a);
    if (sp->scope && !(osp->scope = pg_otlp_scope_copy(a, sp->scope))) return pg_arena_status(a);
    ag_scope *s = &g->scopes[g->n_scopes];
    memset(s, 0, sizeof *s);
    if (!(s->key = malloc(k.n))) return PG_ENOMEM;
    memcpy(s->key, k.p, k.n);
    s->key_len = k.n;
    s->sp = osp;
    s->first_series = SIZE_MAX;
    if (pg_index_insert(&g->scope_ix, h, (uint32_t)g->n_scopes)) return PG_ENOMEM;
    return (int64_t)g->n_scopes++;
}

/* A copy of a source value type with remapped strings (NULL stays NULL). */
static pg_otlp_valuetype *vt_copy(pg_arena *a, const pg_otlp_valuetype *v, const pg_dict_remap *r,
                                  int *fail)
{
    if (!v) return NULL;
    pg_otlp_valuetype *c = pg_otlp_valuetype_new(a);
    if (!c) {
        *fail = 1;
        return NULL;
    }
    c->type_strindex = r->str[v->type_strindex];
    c->unit_strindex = r->str[v->unit_strindex];
    return c;
}

/* The series for key in scope si (a new profile modelled on p when new). Returns its index
 * or a negative status. */
static int64_t find_series(ag_group *g, const pg_buf *key, size_t si, const pg_otlp_profile *p,
                           const int32_t *attrs, size_t n_attrs, const pg_dict_remap *r,
                           const ag_opts *o)
{
    keyprobe k = {key->data, key->len};
    uint64_t h = pg_hash_bytes(k.p, k.n, 29);
    uint32_t id = pg_index_find(&g->series_ix, h, series_eq, g, &k);
    if (id != UINT32_MAX) return id;
    pg_arena *a = pg_batch_arena(g->b);
    if (PG_VEC_RESERVE(g->series, g->cap_series, g->n_series + 1, 8)) return PG_ENOMEM;
    pg_profile *np = pg_profile_add(g->b, g->scopes[si].sp, 0);
    if (!np) return pg_arena_status(a);
    int fail = 0;
    np->msg.sample_type = vt_copy(a, p->sample_type, r, &fail);
    np->msg.period_type = vt_copy(a, p->period_type, r, &fail);
    np->msg.period = p->period;
    np->msg.time_unix_nano = g->window_start;
    np->msg.duration_nano = o->window_ns;
    if (n_attrs) {
        int32_t *ai = pg_arena_alloc(a, n_attrs * sizeof *ai);
        if (!ai) return pg_arena_status(a);
        for (size_t i = 0; i < n_attrs; i++)
            ai[i] = r->attr[attrs[i]];
        np->msg.attribute_indices = ai;
        np->msg.n_attribute_indices = n_attrs;
    }
    if (fail) return pg_arena_status(a);
    ag_series *s = &g->series[g->n_series];
    memset(s, 0, sizeof *s);
    if (!(s->key = malloc(k.n))) return PG_ENOMEM;
    memcpy(s->key, k.p, k.n);
    s->key_len = k.n;
    s->scope = si;
    s->profile = np;
    if (g->scopes[si].first_series == SIZE_MAX) g->scopes[si].first_series = g->n_series;
    if (pg_index_insert(&g->series_ix, h, (uint32_t)g->n_series)) return PG_ENOMEM;
    return (int64_t)g->n_series++;
}

/* ---- rows ---- */

typedef struct rowprobe {
    int32_t stack, link;
    const int32_t *attrs;
    size_t n_attrs;
} rowprobe;

static int row_eq(const void *ctx, const void *key, uint32_t id)
{
    const pg_samples_builder *sb = ctx;
    const rowprobe *r = key;
    if (sb->stack[id] != r->stack || sb->link[id] != r->link) return 0;
    size_t a0 = sb->attr_off[id], a1 = id + 1 < sb->n ? sb->attr_off[id + 1] : sb->n_attrs;
    return a1 - a0 == r->n_attrs &&
           (!r->n_attrs || memcmp(sb->attrs + a0, r->attrs, r->n_attrs * 4) == 0);
}

static uint64_t row_hash(const rowprobe *r)
{
    uint64_t h = pg_hash_mix(0x51ed27, (uint64_t)(uint32_t)r->stack);
    h = pg_hash_mix(h, (uint64_t)(uint32_t)r->link);
    for (size_t i = 0; i < r->n_attrs; i++)
        h = pg_hash_mix(h, (uint64_t)(uint32_t)r->attrs[i]);
    return h;
}

/* Adds p's samples (source references mapped through r; attributes through attr_map,
 * where -1 drops one) to series s: a one-value sample equal in stack, link and attributes
 * to a row is summed into it, any other shape appended. */
static int add_samples(ag_series *s, const pg_otlp_profile *p, const pg_dict_remap *r,
                       const int32_t *attr_map, ag_counts *c)
{
    size_t n = pg_profile_sample_count(p), cap = 0;
    int32_t *tmp = NULL;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        pg_sample_ref x;
        pg_sample_at(p, i, &x);
        if (PG_VEC_RESERVE(tmp, cap, x.n_attrs + 1, 16)) {
            rc = PG_ENOMEM;
            break;
        }
        size_t na = 0;
        for (size_t j = 0; j < x.n_attrs; j++)
            if (attr_map[x.attrs[j]] >= 0) tmp[na++] = attr_map[x.attrs[j]];
        x.stack = r->stack[x.stack];
        x.link = r->link[x.link];
        x.attrs = tmp;
        x.n_attrs = na;
        if (x.n_values != 1 || x.n_ts) {
            rc = pg_samples_builder_add(&s->sb, &x);
            continue;
        }
        rowprobe pr = {x.stack, x.link, tmp, na};
        uint64_t h = row_hash(&pr);
        uint32_t id = pg_index_find(&s->rows, h, row_eq, &s->sb, &pr);
        if (id != UINT32_MAX) {
            int64_t *v = &s->sb.values[s->sb.val_off[id]];
            if (__builtin_add_overflow(*v, x.values[0], v))
                *v = x.values[0] > 0 ? INT64_MAX : INT64_MIN;
            c->merged++;
            continue;
        }
        if (!(rc = pg_samples_builder_add(&s->sb, &x)))
            rc = pg_index_insert(&s->rows, h, (uint32_t)(s->sb.n - 1));
    }
    c->samples += n;
    free(tmp);
    return rc;
}

/* The source attribute's key text. */
static const char *attr_key(const pg_otlp_dict *d, int32_t i)
{
    const pg_otlp_attr *a = d->attribute_table[i];
    return a->key_strindex >= 0 && (size_t)a->key_strindex < d->n_string_table
               ? d->string_table[a->key_strindex]
               : "";
}

static int in_list(char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0) return 1;
    return 0;
}

/* The series key of p in scope key sk: type, period and the group_by attributes (their
 * source indices into chosen, n_chosen). */
static void series_key(pg_buf *k, const pg_buf *sk, const pg_otlp_dict *d, const pg_otlp_profile *p,
                       const ag_opts *o, int32_t *chosen, size_t *n_chosen, int *fail)
{
    char *const *strs = d->string_table;
    size_t ns = d->n_string_table;
#define S(i) ((i) >= 0 && (size_t)(i) < ns ? strs[i] : "")
    *fail |= pg_buf_append(k, sk->data, sk->len) != 0;
    pg_ag_put_str(k, p->sample_type ? S(p->sample_type->type_strindex) : "", fail);
    pg_ag_put_str(k, p->sample_type ? S(p->sample_type->unit_strindex) : "", fail);
    pg_ag_put_str(k, p->period_type ? S(p->period_type->type_strindex) : "", fail);
    pg_ag_put_str(k, p->period_type ? S(p->period_type->unit_strindex) : "", fail);
    *fail |= pg_buf_append(k, &p->period, sizeof p->period) != 0;
    *n_chosen = 0;
    for (size_t g = 0; g < o->n_group_by; g++) {
        int32_t found = -1;
        for (size_t j = 0; j < p->n_attribute_indices && found < 0; j++) {
            int32_t ai = p->attribute_indices[j];
            if (ai > 0 && (size_t)ai < d->n_attribute_table &&
                strcmp(attr_key(d, ai), o->group_by[g]) == 0)
                found = ai;
        }
        if (found < 0) {
            pg_ag_put_str(k, "", fail);
            continue;
        }
        chosen[(*n_chosen)++] = found;
        pg_ag_put_str(k, o->group_by[g], fail);
        pg_ag_put_any(k, d->attribute_table[found]->value, strs, ns, 0, fail);
        pg_ag_put_str(k, S(d->attribute_table[found]->unit_strindex), fail);
    }
#undef S
}

/* Resource and scope as key bytes. */
static void scope_key(pg_buf *k, const pg_otlp_dict *d, const pg_otlp_rprofiles *rp,
                      const pg_otlp_sprofiles *sp, int *fail)
{
    char *const *strs = d->string_table;
    size_t ns = d->n_string_table;
    const pg_otlp_resource *res = rp->resource;
    pg_ag_put_kvs(k, res ? res->attributes : NULL, res ? res->n_attributes : 0, strs, ns, 0, fail);
    pg_ag_put_str(k, rp->schema_url, fail);
    const pg_otlp_scope *sc = sp->scope;
    pg_ag_put_str(k, sc ? sc->name : "", fail);
    pg_ag_put_str(k, sc ? sc->version : "", fail);
    pg_ag_put_kvs(k, sc ? sc->attributes : NULL, sc ? sc->n_attributes : 0, strs, ns, 0, fail);
    pg_ag_put_str(k, sp->schema_url, fail);
}

/* Walks src's tree: keys, series, samples. */
int pg_ag_group_add(ag_group *g, const pg_batch *src, const ag_opts *o, ag_counts *c, char *err,
                    size_t errlen)
{
    const pg_otlp_data *sd = pg_batch_data(src);
    const pg_otlp_dict *d = sd->dictionary;
    pg_dict_remap r = {0};
    pg_buf sk = {0}, k = {0};
    int32_t *attr_map = malloc((d->n_attribute_table + 1) * sizeof *attr_map);
    int32_t *chosen = malloc((o->n_group_by + 1) * sizeof *chosen);
    int rc = !attr_map || !chosen ? PG_ENOMEM : pg_dict_remap_build(g->b, d, &r);
    for (size_t i = 0; !rc && i < d->n_attribute_table; i++)
        attr_map[i] =
            i > 0 && in_list(o->drop, o->n_drop, attr_key(d, (int32_t)i)) ? -1 : r.attr[i];
    for (size_t ri = 0; ri < sd->n_resource_profiles && !rc; ri++) {
        const pg_otlp_rprofiles *rp = sd->resource_profiles[ri];
        for (size_t si = 0; si < rp->n_scope_profiles && !rc; si++) {
            const pg_otlp_sprofiles *sp = rp->scope_profiles[si];
            int fail = 0;
            sk.len = 0;
            scope_key(&sk, d, rp, sp, &fail);
            int64_t sc = fail ? PG_ENOMEM : find_scope(g, &sk, rp, sp);
            if (sc < 0) {
                rc = (int)sc;
                break;
            }
            for (size_t pi = 0; pi < sp->n_profiles && !rc; pi++) {
                const pg_otlp_profile *p = sp->profiles[pi];
                if (pg_pprof_tables_is_marker(d, p)) {
                    c->skipped++;
                    continue;
                }
                size_t n_chosen = 0;
                k.len = 0;
                series_key(&k, &sk, d, p, o, chosen, &n_chosen, &fail);
                int64_t se =
                    fail ? PG_ENOMEM : find_series(g, &k, (size_t)sc, p, chosen, n_chosen, &r, o);
                if (se < 0) {
                    rc = (int)se;
                    break;
                }
                c->profiles++;
                rc = add_samples(&g->series[se], p, &r, attr_map, c);
            }
        }
    }
    pg_dict_remap_free(&r);
    pg_buf_free(&sk);
    pg_buf_free(&k);
    free(attr_map);
    free(chosen);
    if (rc) return pg_err(err, errlen, rc, "aggregate: %s", pg_status_name(rc));
    return 0;
}

/* Arena bytes plus the builders' and indexes' capacities. */
size_t pg_ag_group_bytes(const ag_group *g)
{
    size_t n = g->b ? pg_arena_bytes(pg_batch_arena(g->b)) : 0;
    n += g->cap_scopes * sizeof *g->scopes + g->cap_series * sizeof *g->series;
    n += (g->scope_ix.cap + g->series_ix.cap) * 8;
    for (size_t i = 0; i < g->n_series; i++) {
        const ag_series *s = &g->series[i];
        n += s->key_len + s->rows.cap * 8 + s->sb.cap * 20 + s->sb.cap_attrs * 4 +
             s->sb.cap_values * 8 + s->sb.cap_ts * 8;
    }
    for (size_t i = 0; i < g->n_scopes; i++)
        n += g->scopes[i].key_len;
    return n;
}

/* Attaches the rows (siblings in a scope share identity columns when equal), compacts. */
pg_batch *pg_ag_group_finish(ag_group *g, char *err, size_t errlen)
{
    pg_arena *a = pg_batch_arena(g->b);
    for (size_t i = 0; i < g->n_series; i++) {
        ag_series *s = &g->series[i];
        size_t first = g->scopes[s->scope].first_series;
        const pg_samples *like = first < i ? &g->series[first].profile->samples : NULL;
        if (pg_samples_builder_finish(&s->sb, a, &s->profile->msg, like)) {
            pg_err(err, errlen, pg_arena_status(a), "aggregate: flush: %s",
                   pg_status_name(pg_arena_status(a)));
            return NULL;
        }
        pg_index_free(&s->rows);
    }
    if (pg_batch_compact(g->b, NULL, err, errlen)) return NULL;
    pg_batch *b = g->b;
    g->b = NULL;
    return b;
}
