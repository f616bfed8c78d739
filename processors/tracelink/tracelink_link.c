/* Linking samples to spans (see tracelink_processor.h). Per batch, every attribute is
 * classified once (trace id / span id label, parsed or not); per sample, its attributes
 * pick the best trace and span id, and the link is interned once per distinct pair. */
#include "pipeline/core/compact.h"
#include "pipeline/core/dict.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "processors/tracelink/tracelink_int.h"

#include <stdlib.h>
#include <string.h>

enum { K_NONE, K_TRACE, K_SPAN, K_BAD };

int tl_parse_id(const char *s, int decimal, uint8_t *out, size_t n)
{
    size_t len = strlen(s);
    int nonzero = 0;
    if (decimal) {
        if (!len || len > 20 || n != 8) return 0;
        uint64_t v = 0;
        for (size_t i = 0; i < len; i++) {
            if (s[i] < '0' || s[i] > '9') return 0;
            uint64_t d = (uint64_t)(s[i] - '0');
            if (v > (UINT64_MAX - d) / 10) return 0;
            v = v * 10 + d;
        }
        for (size_t i = 0; i < 8; i++)
            out[i] = (uint8_t)(v >> (56 - 8 * i));
        return v != 0;
    }
    if (len != 2 * n) return 0;
    for (size_t i = 0; i < 2 * n; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : 16;
        if (d == 16) return 0;
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(d << 4);
        else
            out[i / 2] |= (uint8_t)d;
        nonzero |= d;
    }
    return nonzero != 0;
}

/* Per-attribute classification of one batch. */
typedef struct cls {
    uint8_t *kind;     /* K_* per attribute */
    uint16_t *rank;    /* position of its key in its list */
    uint8_t (*id)[16]; /* parsed id (8 bytes for spans) */
    size_t n;
} cls;

static int in_list(char *const *l, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(l[i], key)) return (int)i;
    return PG_ENOTFOUND;
}

/* Classifies every attribute of b. */
static int classify(const tl_keys *k, const pg_batch *b, cls *c)
{
    size_t na = pg_batch_dict(b)->n_attribute_table;
    c->n = na;
    c->kind = calloc(na ? na : 1, 1);
    c->rank = calloc(na ? na : 1, sizeof *c->rank);
    c->id = calloc(na ? na : 1, sizeof *c->id);
    if (!c->kind || !c->rank || !c->id) return PG_ENOMEM;
    char buf[128];
    for (size_t a = 1; a < na; a++) {
        const char *key = pg_attr_key(b, (int32_t)a);
        int t = in_list(k->trace, k->ntrace, key), s = t < 0 ? in_list(k->span, k->nspan, key) : -1;
        if (t < 0 && s < 0) continue;
        const pg_otlp_any *v = pg_attr_value(b, (int32_t)a);
        const char *text = pg_any_str(b, v);
        if (!text && v && v->value_case == PG_ANY_INT) text = pg_any_text(b, v, buf, sizeof buf);
        int dec = in_list(k->decimal, k->ndecimal, key) >= 0;
        int ok = text && tl_parse_id(text, dec, c->id[a], t >= 0 ? 16 : 8);
        c->kind[a] = !ok ? K_BAD : t >= 0 ? K_TRACE : K_SPAN;
        c->rank[a] = (uint16_t)(t >= 0 ? t : s);
    }
    return 0;
}

static void cls_free(cls *c)
{
    free(c->kind);
    free(c->rank);
    free(c->id);
}

/* The best trace and span attributes of sample s (0 when none); counts unparsable ids. */
static void pick(const cls *c, const pg_sample_ref *s, int32_t *tr, int32_t *sp, uint64_t *bad)
{
    *tr = *sp = 0;
    for (size_t i = 0; i < s->n_attrs; i++) {
        int32_t a = s->attrs[i];
        uint8_t kd = c->kind[a];
        if (kd == K_BAD) (*bad)++;
        if (kd == K_TRACE && (!*tr || c->rank[a] < c->rank[*tr])) *tr = a;
        if (kd == K_SPAN && (!*sp || c->rank[a] < c->rank[*sp])) *sp = a;
    }
}

static int zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

/* The span id of an existing link whose trace id is missing (all zero), or NULL. */
static const uint8_t *half_link(const pg_batch *b, int32_t link)
{
    if (link <= 0) return NULL;
    const pg_otlp_link *l = pg_batch_dict(b)->link_table[link];
    if (l->span_id.len != 8 || zero(l->span_id.data, 8)) return NULL;
    if (l->trace_id.len == 16 && !zero(l->trace_id.data, 16)) return NULL;
    return l->span_id.data;
}

size_t tl_count_unresolved(const tl_keys *k, pg_span_index *ix, const pg_batch *b, int64_t now_ns)
{
    cls c = {0};
    size_t n = 0;
    uint64_t bad = 0;
    uint8_t trace[16];
    if (!ix || classify(k, b, &c)) goto out;
    pg_profile_iter it;
    for (pg_profile_iter_init(&it, b); pg_profile_iter_next(&it);)
        for (size_t i = 0; i < it.profile->samples.n; i++) {
            pg_sample_ref s;
            pg_samples_at(&it.profile->samples, i, &s);
            int32_t tr, sp;
            pick(&c, &s, &tr, &sp, &bad);
            const uint8_t *span = s.link ? half_link(b, s.link) : (!tr && sp ? c.id[sp] : NULL);
            if (span && !pg_span_index_get(ix, span, trace, now_ns)) n++;
        }
out:
    cls_free(&c);
    return n;
}

/* Drops the id labels of linked samples (pg_attrs_rewrite_fn; ctx: the link pass). */
typedef struct strip {
    const cls *c;
    const uint8_t *linked;
    size_t i;
} strip;

static int strip_step(void *ctx, const int32_t *in, size_t n, int32_t *out, size_t cap)
{
    strip *st = ctx;
    size_t m = 0;
    (void)cap;
    int drop = st->linked[st->i++];
    for (size_t k = 0; k < n; k++)
        if (!drop || (st->c->kind[in[k]] != K_TRACE && st->c->kind[in[k]] != K_SPAN))
            out[m++] = in[k];
    return (int)m;
}

/* Links one profile's samples; marks linked[i]. */
static int link_profile(const cls *c, pg_span_index *ix, pg_batch *b, pg_profile *p, int64_t now,
                        uint8_t *linked, tl_result *res)
{
    int32_t *col = NULL, last_tr = -1, last_sp = -1, last_link = 0;
    int last_from_index = 0;
    uint8_t trace[16];
    for (size_t i = 0; i < p->samples.n; i++) {
        pg_sample_ref s;
        pg_samples_at(&p->samples, i, &s);
        int32_t tr, sp, link = 0;
        linked[i] = 0;
        pick(c, &s, &tr, &sp, &res->unparsable);
        if (s.link) { /* already linked: only complete a missing trace id */
            const uint8_t *span = half_link(b, s.link);
            if (!span) continue;
            if (!ix || !pg_span_index_get(ix, span, trace, now)) {
                res->unresolved++;
                continue;
            }
            uint8_t sp8[8];
            memcpy(sp8, span, 8);
            link = pg_dict_link(b, trace, 16, sp8, 8);
            res->resolved++;
            res->completed++;
        } else if (sp) {
            int from_index = 0;
            if (tr == last_tr && sp == last_sp) {
                link = last_link;
                from_index = last_from_index;
            } else if (tr) {
                link = pg_dict_link(b, c->id[tr], 16, c->id[sp], 8);
            } else if (ix && pg_span_index_get(ix, c->id[sp], trace, now)) {
                link = pg_dict_link(b, trace, 16, c->id[sp], 8);
                from_index = 1;
            } else {
                res->unresolved++;
                continue;
            }
            res->resolved += (uint64_t)from_index;
            last_tr = tr;
            last_sp = sp;
            last_link = link;
            last_from_index = from_index;
        } else {
            continue;
        }
        if (link < 0) return link;
        if (!col && !(col = pg_profile_link_col(b, p))) return PG_ELIMIT;
        col[i] = link;
        linked[i] = 1;
        res->linked++;
    }
    return 0;
}

int tl_link_batch(const tl_keys *k, pg_span_index *ix, pg_batch *b, int64_t now_ns, tl_result *res,
                  char *err, size_t errlen)
{
    cls c = {0};
    uint8_t *linked = NULL;
    size_t cap = 0;
    int rc = classify(k, b, &c), stripped = 0;
    if (rc) goto out;
    pg_profile_iter it;
    for (pg_profile_iter_init(&it, b); !rc && pg_profile_iter_next(&it);) {
        pg_profile *p = it.profile;
        if (!p->samples.n) continue;
        if (p->samples.n > cap) {
            free(linked);
            cap = p->samples.n;
            if (!(linked = malloc(cap))) {
                rc = PG_ENOMEM;
                break;
            }
        }
        uint64_t before = res->linked;
        rc = link_profile(&c, ix, b, p, now_ns, linked, res);
        if (!rc && k->remove_labels && res->linked > before) {
            strip st = {&c, linked, 0};
            rc = pg_profile_rewrite_attrs(b, p, 0, strip_step, &st);
            stripped = 1;
        }
    }
    if (!rc && (stripped || res->completed)) {
        cls_free(&c);
        memset(&c, 0, sizeof c);
        rc = pg_batch_compact(b, NULL, err, errlen);
        goto out_msg;
    }
out:
    if (rc) pg_err(err, errlen, rc, "tracelink: %s", pg_status_name(rc));
out_msg:
    cls_free(&c);
    free(linked);
    return rc;
}
