/* The filter's rule engine (see filter_rules.h). Per batch, each sample-level rule is
 * first evaluated once per dictionary entry (attributes; functions -> locations ->
 * stacks for frames), so a sample costs a few table reads per rule whatever its depth. */
#include "processors/filter/filter_rules.h"
#include "pipeline/core/compact.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/core/stacks.h"

#include <stdlib.h>
#include <string.h>

/* Compiles one list. */
static int compile_list(const pg_cfg_seclist *l, fr_rule **out, size_t *n, int *samples, char *err,
                        size_t errlen)
{
    *out = calloc(l->n ? l->n : 1, sizeof **out);
    if (!*out) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    const pg_filter_rule_config *items = l->items;
    for (size_t i = 0; i < l->n; i++) {
        const pg_filter_rule_config *c = &items[i];
        fr_rule *r = &(*out)[i];
        *n = i + 1;
        r->on = c->on;
        if ((c->key && !(r->key = strdup(c->key))) ||
            (c->equals && !(r->equals = strdup(c->equals))))
            return pg_err(err, errlen, PG_ENOMEM, "out of memory");
        if (c->regex) {
            int rc = pg_regex_compile(c->regex, &r->re, err, errlen);
            if (rc) return rc;
        }
        if (c->on == PG_FILTER_ON_SAMPLE_ATTRIBUTE || c->on == PG_FILTER_ON_FRAME) *samples = 1;
    }
    return 0;
}

/* See filter_rules.h. */
int fr_rules_compile(fr_rules *r, const pg_filter_config *cfg, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    int rc = compile_list(&cfg->include, &r->inc, &r->ninc, &r->inc_samples, err, errlen);
    if (!rc) rc = compile_list(&cfg->exclude, &r->exc, &r->nexc, &r->exc_samples, err, errlen);
    if (rc) fr_rules_free(r);
    return rc;
}

static void free_list(fr_rule *l, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(l[i].key);
        free(l[i].equals);
        pg_regex_free(l[i].re);
    }
    free(l);
}

void fr_rules_free(fr_rules *r)
{
    free_list(r->inc, r->ninc);
    free_list(r->exc, r->nexc);
    memset(r, 0, sizeof *r);
}

/* The rule's condition on a present value's text. */
static int cond(const fr_rule *r, const char *text)
{
    if (r->equals) return strcmp(text, r->equals) == 0;
    if (r->re) return pg_regex_match(r->re, text);
    return 1;
}

/* Per-batch tables of one sample-level rule: hit[i] for attributes or stacks. */
typedef struct fr_eval {
    uint8_t *hit;
} fr_eval;

/* Marks the attributes that satisfy an attribute rule. */
static int eval_attrs(const fr_rule *r, const pg_batch *b, fr_eval *e)
{
    const pg_otlp_dict *d = pg_batch_dict(b);
    e->hit = calloc(d->n_attribute_table ? d->n_attribute_table : 1, 1);
    if (!e->hit) return PG_ENOMEM;
    char buf[512];
    for (size_t a = 1; a < d->n_attribute_table; a++)
        if (!strcmp(pg_attr_key(b, (int32_t)a), r->key))
            e->hit[a] =
                (uint8_t)cond(r, pg_any_text(b, pg_attr_value(b, (int32_t)a), buf, sizeof buf));
    return 0;
}

/* Marks the stacks holding a frame whose function name satisfies a frame rule. */
static int eval_frames(const fr_rule *r, const pg_batch *b, fr_eval *e)
{
    const pg_otlp_dict *d = pg_batch_dict(b);
    size_t nf = d->n_function_table, nl = d->n_location_table, ns = pg_dict_stack_count(d);
    uint8_t *fn = calloc(nf ? nf : 1, 1), *loc = calloc(nl ? nl : 1, 1);
    e->hit = calloc(ns ? ns : 1, 1);
    int rc = 0;
    if (!fn || !loc || !e->hit) {
        rc = PG_ENOMEM;
        goto out;
    }
    for (size_t i = 1; i < nf; i++) {
        int32_t s = d->function_table[i]->name_strindex;
        if (s > 0 && (size_t)s < d->n_string_table) fn[i] = (uint8_t)cond(r, d->string_table[s]);
    }
    for (size_t i = 1; i < nl; i++) {
        const pg_otlp_location *l = d->location_table[i];
        for (size_t j = 0; j < l->n_lines && !loc[i]; j++) {
            int32_t f = l->lines[j]->function_index;
            if (f > 0 && (size_t)f < nf) loc[i] = fn[f];
        }
    }
    for (size_t i = 1; i < ns; i++) {
        pg_stack_ref st;
        pg_dict_stack_at(d, i, &st);
        for (size_t j = 0; j < st.n && !e->hit[i]; j++) {
            int32_t l = pg_stack_loc(&st, j);
            if (l > 0 && (size_t)l < nl) e->hit[i] = loc[l];
        }
    }
out:
    free(fn);
    free(loc);
    return rc;
}

/* Evaluates a list's sample-level rules over b's dictionary. */
static int eval_list(const fr_rule *l, size_t n, const pg_batch *b, fr_eval *ev)
{
    for (size_t i = 0; i < n; i++) {
        int rc = 0;
        if (l[i].on == PG_FILTER_ON_SAMPLE_ATTRIBUTE)
            rc = eval_attrs(&l[i], b, &ev[i]);
        else if (l[i].on == PG_FILTER_ON_FRAME)
            rc = eval_frames(&l[i], b, &ev[i]);
        if (rc) return rc;
    }
    return 0;
}

/* 1 when a profile-level rule of the list matches profile p of resource rp. */
static int profile_hit(const fr_rule *l, size_t n, const pg_batch *b, const pg_otlp_rprofiles *rp,
                       const pg_profile *p)
{
    char buf[512];
    const pg_otlp_dict *d = pg_batch_dict(b);
    for (size_t i = 0; i < n; i++) {
        const fr_rule *r = &l[i];
        if (r->on == PG_FILTER_ON_RESOURCE_ATTRIBUTE) {
            int at = pg_resource_attr_find(b, rp, r->key);
            if (at >= 0 &&
                cond(r, pg_any_text(b, rp->resource->attributes[at]->value, buf, sizeof buf)))
                return 1;
        } else if (r->on == PG_FILTER_ON_PROFILE_TYPE) {
            const pg_otlp_valuetype *t = p->msg.sample_type;
            int32_t ts = t ? t->type_strindex : 0, us = t ? t->unit_strindex : 0;
            const char *ty = ts >= 0 && (size_t)ts < d->n_string_table ? d->string_table[ts] : "";
            const char *un = us >= 0 && (size_t)us < d->n_string_table ? d->string_table[us] : "";
            snprintf(buf, sizeof buf, "%s:%s", ty, un);
            if (cond(r, buf)) return 1;
        }
    }
    return 0;
}

/* 1 when a sample-level rule of the list matches sample s. */
static int sample_hit(const fr_rule *l, size_t n, const fr_eval *ev, const pg_sample_ref *s)
{
    for (size_t i = 0; i < n; i++) {
        if (l[i].on == PG_FILTER_ON_FRAME && ev[i].hit[s->stack]) return 1;
        if (l[i].on == PG_FILTER_ON_SAMPLE_ATTRIBUTE)
            for (size_t k = 0; k < s->n_attrs; k++)
                if (ev[i].hit[s->attrs[k]]) return 1;
    }
    return 0;
}

/* Decides one profile's samples; fills keep and returns how many stay. */
static size_t decide_samples(const fr_rules *r, const fr_eval *ei, const fr_eval *ee,
                             const pg_profile *p, int pinc, uint8_t *keep, fr_result *res)
{
    size_t kept = 0;
    for (size_t i = 0; i < p->samples.n; i++) {
        pg_sample_ref s;
        pg_samples_at(&p->samples, i, &s);
        int inc = !r->ninc || pinc || (r->inc_samples && sample_hit(r->inc, r->ninc, ei, &s));
        int exc = r->exc_samples && sample_hit(r->exc, r->nexc, ee, &s);
        keep[i] = (uint8_t)(inc && !exc);
        kept += keep[i];
        if (!inc)
            res->samples[0]++;
        else if (exc)
            res->samples[1]++;
    }
    return kept;
}

/* See filter_rules.h. */
int fr_apply(const fr_rules *r, pg_batch *b, fr_result *res, char *err, size_t errlen)
{
    size_t np = pg_batch_profile_count(b), k = 0, dropped = 0, changed = 0;
    fr_eval *ei = calloc(r->ninc + 1, sizeof *ei), *ee = calloc(r->nexc + 1, sizeof *ee);
    uint8_t *drop = calloc(np ? np : 1, 1), *keep = NULL;
    size_t keep_cap = 0;
    int rc = 0;
    if (!ei || !ee || !drop) {
        rc = pg_err(err, errlen, PG_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = eval_list(r->inc, r->ninc, b, ei)) || (rc = eval_list(r->exc, r->nexc, b, ee))) {
        pg_err(err, errlen, rc, "out of memory");
        goto out;
    }
    pg_profile_iter it;
    for (pg_profile_iter_init(&it, b); pg_profile_iter_next(&it); k++) {
        pg_profile *p = it.profile;
        size_t n = p->samples.n;
        int pinc = r->ninc && profile_hit(r->inc, r->ninc, b, it.resource, p);
        int reason = -1;
        if (r->nexc && profile_hit(r->exc, r->nexc, b, it.resource, p))
            reason = 1;
        else if (r->ninc && !pinc && !r->inc_samples)
            reason = 0;
        if (reason >= 0) {
            drop[k] = 1;
            res->profiles[reason]++;
            res->samples[reason] += n;
            dropped++;
            continue;
        }
        if (!n || !((r->ninc && !pinc) || r->exc_samples)) continue;
        if (n > keep_cap) {
            free(keep);
            if (!(keep = malloc(n))) {
                rc = pg_err(err, errlen, PG_ENOMEM, "out of memory");
                goto out;
            }
            keep_cap = n;
        }
        uint64_t before_exc = res->samples[1];
        size_t kept = decide_samples(r, ei, ee, p, pinc, keep, res);
        if (kept == n) continue;
        changed++;
        if (kept == 0) {
            drop[k] = 1;
            res->profiles[res->samples[1] > before_exc ? 1 : 0]++;
            dropped++;
        } else if ((rc = pg_profile_keep(b, p, keep))) {
            pg_err(err, errlen, rc, "filter: cannot drop samples");
            goto out;
        }
    }
    if (dropped) pg_batch_drop_profiles(b, drop);
    if (dropped || changed) rc = pg_batch_compact(b, NULL, err, errlen);
out:
    for (size_t i = 0; i < r->ninc; i++)
        free(ei ? ei[i].hit : NULL);
    for (size_t i = 0; i < r->nexc; i++)
        free(ee ? ee[i].hit : NULL);
    free(ei);
    free(ee);
    free(drop);
    free(keep);
    return rc;
}
