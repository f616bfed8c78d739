/* The resource processor's actions (see resource_processor.h): on resource KeyValues
 * through the edit API, and on sample attributes as one rewrite pass per action, each
 * input attribute transformed once per batch (memoised by attribute index). */
#include "pipeline/core/compact.h"
#include "pipeline/core/dict.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "processors/resource/resource_int.h"

#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXT_MAX 4096

/* SHA-256 hex of s. */
void ra_hash_hex(const char *s, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, strlen(s), md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Parses t as type into out (strings point at t). 1 when it parsed. */
int ra_convert(const char *t, int type, pg_otlp_any *out)
{
    char *end = NULL;
    switch (type) {
    case PG_RES_TO_INT: {
        long long v = strtoll(t, &end, 10);
        if (!*t || *end) return 0;
        out->value_case = PG_ANY_INT;
        out->int_value = v;
        return 1;
    }
    case PG_RES_TO_DOUBLE: {
        double v = strtod(t, &end);
        if (!*t || *end) return 0;
        out->value_case = PG_ANY_DOUBLE;
        out->double_value = v;
        return 1;
    }
    case PG_RES_TO_BOOL:
        if (strcmp(t, "true") && strcmp(t, "false")) return 0;
        out->value_case = PG_ANY_BOOL;
        out->bool_value = !strcmp(t, "true");
        return 1;
    default:
        out->value_case = PG_ANY_STRING;
        out->string_value = (char *)t;
        return 1;
    }
}

static pg_otlp_any str_value(const char *s)
{
    pg_otlp_any v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    v.value_case = PG_ANY_STRING;
    v.string_value = (char *)s;
    return v;
}

/* One action on one resource. Returns 0 or a status. */
static int resource_action(const ra_action *a, pg_batch *b, pg_otlp_rprofiles *rp)
{
    int at = pg_resource_attr_find(b, rp, a->key), rc = 0;
    char text[TEXT_MAX];
    const pg_otlp_any *cur = at >= 0 ? rp->resource->attributes[at]->value : NULL;
    if (cur) pg_any_text(b, cur, text, sizeof text);
    switch (a->action) {
    case PG_RES_INSERT:
    case PG_RES_UPDATE:
    case PG_RES_UPSERT: {
        if ((a->action == PG_RES_INSERT && at >= 0) || (a->action == PG_RES_UPDATE && at < 0))
            return 0;
        if (a->from) {
            int f = pg_resource_attr_find(b, rp, a->from);
            return f < 0 ? 0
                         : pg_resource_attr_set(b, rp, a->key, rp->resource->attributes[f]->value);
        }
        pg_otlp_any v = str_value(a->value ? a->value : "");
        return pg_resource_attr_set(b, rp, a->key, &v);
    }
    case PG_RES_DELETE:
        pg_resource_attr_delete(b, rp, a->key);
        return 0;
    case PG_RES_RENAME:
        rc = pg_resource_attr_rename(b, rp, a->key, a->new_key);
        return rc < 0 ? rc : 0;
    default:
        break;
    }
    if (!cur) return 0;
    if (a->action == PG_RES_HASH) {
        char hex[65];
        ra_hash_hex(text, hex);
        pg_otlp_any v = str_value(hex);
        return pg_resource_attr_set(b, rp, a->key, &v);
    }
    if (a->action == PG_RES_CONVERT) {
        pg_otlp_any v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
        return ra_convert(text, a->converted_type, &v) ? pg_resource_attr_set(b, rp, a->key, &v)
                                                       : 0;
    }
    /* extract */
    long st[PG_REGEX_MAX_GROUPS];
    size_t ln[PG_REGEX_MAX_GROUPS];
    if (!pg_regex_named_match(a->re, text, st, ln)) return 0;
    for (size_t g = 0; g < pg_regex_named_count(a->re) && !rc; g++) {
        if (st[g] < 0) continue;
        char part[TEXT_MAX];
        snprintf(part, sizeof part, "%.*s", (int)ln[g], text + st[g]);
        pg_otlp_any v = str_value(part);
        rc = pg_resource_attr_set(b, rp, pg_regex_named_name(a->re, g), &v);
    }
    return rc;
}

/* See resource_int.h. */
int ra_apply_resource_actions(const ra_plan *p, pg_batch *b)
{
    pg_otlp_data *d = pg_batch_data(b);
    for (size_t r = 0; r < d->n_resource_profiles; r++)
        for (size_t i = 0; i < p->nres; i++) {
            int rc = resource_action(&p->res[i], b, d->resource_profiles[r]);
            if (rc) return rc;
        }
    return 0;
}

/* See resource_int.h. */
int ra_resource_refs(const pg_batch *b)
{
    const pg_otlp_data *d = pg_batch_data(b);
    for (size_t r = 0; r < d->n_resource_profiles; r++) {
        const pg_otlp_resource *res = d->resource_profiles[r]->resource;
        for (size_t i = 0; res && i < res->n_attributes; i++)
            if (res->attributes[i]->key_strindex ||
                (res->attributes[i]->value &&
                 res->attributes[i]->value->value_case == PG_ANY_STRINDEX))
                return 1;
    }
    return 0;
}

/* See resource_int.h: detected attributes inserted (upserted with override). */
int ra_apply_detected(const ra_plan *p, pg_batch *b)
{
    pg_otlp_data *d = pg_batch_data(b);
    for (size_t r = 0; r < d->n_resource_profiles; r++) {
        pg_otlp_rprofiles *rp = d->resource_profiles[r];
        for (size_t i = 0; i < p->ndetected; i++) {
            if (!p->override && pg_resource_attr_find(b, rp, p->detected[i].key) >= 0) continue;
            pg_otlp_any v = str_value(p->detected[i].value);
            int rc = pg_resource_attr_set(b, rp, p->detected[i].key, &v);
            if (rc) return rc;
        }
    }
    return 0;
}

/* ---- sample attributes ------------------------------------------------------------------ */

typedef struct sctx {
    const ra_action *a;
    pg_batch *b;
    int32_t key, from, newkey, literal; /* string indices; literal: interned (key, value) */
    int32_t *memo;                      /* per input attribute: the transformed one (0: not yet) */
    int32_t **ext;                      /* extract: per input attribute, its new attributes */
    uint8_t *next;                      /* extract: how many */
    int32_t gkey[PG_REGEX_MAX_GROUPS];  /* extract: string index of each group name */
    size_t nmemo;
    int rc;
} sctx;

/* Copies in[] to out[] leaving out attributes keyed k1 or k2 (0 = none); returns the count. */
static size_t copy_without(const pg_batch *b, const int32_t *in, size_t n, int32_t k1, int32_t k2,
                           int32_t *out)
{
    const pg_otlp_dict *d = pg_batch_dict(b);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t k = d->attribute_table[in[i]]->key_strindex;
        if ((k1 && k == k1) || (k2 && k == k2)) continue;
        out[m++] = in[i];
    }
    return m;
}

/* The memoised transform of attribute `at` (present, keyed a->key) for hash / convert /
 * rename, or a from_attribute copy; 0 when it does not apply. */
static int32_t transform(sctx *c, int32_t at)
{
    if ((size_t)at < c->nmemo && c->memo[at]) return c->memo[at];
    char text[TEXT_MAX];
    pg_any_text(c->b, pg_attr_value(c->b, at), text, sizeof text);
    int32_t r = 0;
    const ra_action *a = c->a;
    if (a->action == PG_RES_HASH) {
        char hex[65];
        ra_hash_hex(text, hex);
        pg_otlp_any v = str_value(hex);
        r = pg_dict_attr_kv(c->b, a->key, &v);
    } else if (a->action == PG_RES_CONVERT) {
        pg_otlp_any v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
        r = ra_convert(text, a->converted_type, &v) ? pg_dict_attr_kv(c->b, a->key, &v) : at;
    } else if (a->action == PG_RES_RENAME) {
        r = pg_dict_attr_kv(c->b, a->new_key, pg_attr_value(c->b, at));
    } else { /* insert/update/upsert from another attribute */
        r = pg_dict_attr_kv(c->b, a->key, pg_attr_value(c->b, at));
    }
    if (r < 0) return r;
    if ((size_t)at < c->nmemo) c->memo[at] = r;
    return r;
}

/* The new attributes extract makes from attribute at (memoised). */
static int extract(sctx *c, int32_t at)
{
    if (c->ext[at]) return 0;
    char text[TEXT_MAX];
    pg_any_text(c->b, pg_attr_value(c->b, at), text, sizeof text);
    size_t ng = pg_regex_named_count(c->a->re);
    c->ext[at] = calloc(ng ? ng : 1, sizeof **c->ext);
    if (!c->ext[at]) return PG_ENOMEM;
    long st[PG_REGEX_MAX_GROUPS];
    size_t ln[PG_REGEX_MAX_GROUPS];
    c->next[at] = 0;
    if (!pg_regex_named_match(c->a->re, text, st, ln)) return 0;
    for (size_t g = 0; g < ng; g++) {
        if (st[g] < 0) continue;
        char part[TEXT_MAX];
        snprintf(part, sizeof part, "%.*s", (int)ln[g], text + st[g]);
        pg_otlp_any v = str_value(part);
        int32_t r = pg_dict_attr_kv(c->b, pg_regex_named_name(c->a->re, g), &v);
        if (r < 0) return r;
        c->ext[at][c->next[at]++] = r;
    }
    return 0;
}

/* The per-sample step of one action (pg_attrs_rewrite_fn). */
static int sample_step(void *ctx, const int32_t *in, size_t n, int32_t *out, size_t cap)
{
    sctx *c = ctx;
    const ra_action *a = c->a;
    int pos = pg_attrs_find(c->b, in, n, c->key);
    int32_t cur = pos >= 0 ? in[pos] : 0;
    size_t m;
    int32_t add = 0;
    (void)cap;
    switch (a->action) {
    case PG_RES_INSERT:
    case PG_RES_UPDATE:
    case PG_RES_UPSERT:
        if ((a->action == PG_RES_INSERT && cur) || (a->action == PG_RES_UPDATE && !cur)) break;
        if (a->from) {
            int f = pg_attrs_find(c->b, in, n, c->from);
            if (f < 0) break;
            add = transform(c, in[f]);
        } else {
            add = c->literal;
        }
        break;
    case PG_RES_DELETE:
        return (int)copy_without(c->b, in, n, c->key, 0, out);
    case PG_RES_HASH:
    case PG_RES_CONVERT:
        if (cur) add = transform(c, cur);
        break;
    case PG_RES_RENAME:
        if (!cur) break;
        add = transform(c, cur);
        m = copy_without(c->b, in, n, c->key, c->newkey, out);
        if (add < 0) return add;
        out[m++] = add;
        return (int)m;
    case PG_RES_EXTRACT: {
        if (!cur) break;
        int rc = extract(c, cur);
        if (rc) return rc;
        m = 0;
        for (size_t i = 0; i < n; i++) { /* drop attributes the groups replace */
            int32_t k = pg_batch_dict(c->b)->attribute_table[in[i]]->key_strindex, hit = 0;
            for (size_t j = 0; j < c->next[cur]; j++)
                hit |= pg_batch_dict(c->b)->attribute_table[c->ext[cur][j]]->key_strindex == k;
            if (!hit) out[m++] = in[i];
        }
        for (size_t j = 0; j < c->next[cur]; j++)
            out[m++] = c->ext[cur][j];
        return (int)m;
    }
    }
    if (add < 0) return add;
    memcpy(out, in, n * sizeof *in);
    if (!add) return (int)n;
    m = copy_without(c->b, in, n, c->key, 0, out);
    out[m++] = add;
    return (int)m;
}

/* Runs one action over every sample of b. */
static int sample_action(const ra_action *a, pg_batch *b)
{
    sctx c = {.a = a, .b = b};
    size_t na = pg_batch_dict(b)->n_attribute_table;
    int rc = 0;
    if ((c.key = pg_dict_string(b, a->key, strlen(a->key))) < 0) return c.key;
    if (a->from && (c.from = pg_dict_string(b, a->from, strlen(a->from))) < 0) return c.from;
    if (a->new_key && (c.newkey = pg_dict_string(b, a->new_key, strlen(a->new_key))) < 0)
        return c.newkey;
    if (!a->from && a->value) {
        pg_otlp_any v = str_value(a->value);
        if ((c.literal = pg_dict_attr_kv(b, a->key, &v)) < 0) return c.literal;
    }
    c.nmemo = na;
    c.memo = calloc(na ? na : 1, sizeof *c.memo);
    size_t extra = 1;
    if (a->action == PG_RES_EXTRACT) {
        c.ext = calloc(na ? na : 1, sizeof *c.ext);
        c.next = calloc(na ? na : 1, 1);
        extra = pg_regex_named_count(a->re);
        if (!c.ext || !c.next) rc = PG_ENOMEM;
    }
    if (!c.memo) rc = PG_ENOMEM;
    pg_profile_iter it;
    for (pg_profile_iter_init(&it, b); !rc && pg_profile_iter_next(&it);)
        rc = pg_profile_rewrite_attrs(b, it.profile, extra, sample_step, &c);
    for (size_t i = 0; c.ext && i < na; i++)
        free(c.ext[i]);
    free(c.ext);
    free(c.next);
    free(c.memo);
    return rc;
}

/* See resource_int.h. */
int ra_apply_sample_actions(const ra_plan *p, pg_batch *b, char *err, size_t errlen)
{
    for (size_t i = 0; i < p->nsmp; i++) {
        int rc = sample_action(&p->smp[i], b);
        if (rc) return pg_err(err, errlen, rc, "sample_attributes[%zu]: %s", i, pg_status_name(rc));
    }
    return 0;
}
