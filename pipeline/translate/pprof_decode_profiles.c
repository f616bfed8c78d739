/* pprof -> OTLP: builds the scope, one Profile per sample type (default first), and the
 * samples, decoded in one pass over the top-level message's sample fields. */
#include "pipeline/translate/pprof_decode_int.h"
#include "pipeline/translate/semconv.h"
#include "pipeline/core/dict.h"
#include "pipeline/core/err.h"
#include "pipeline/core/samples.h"
#include "pipeline/core/vec.h"

#include <stdlib.h>
#include <string.h>

/* The sample columns being written: stack and attributes shared by every profile of the
 * pprof, one value column per profile (all arena-owned but the growing attribute pool). */
typedef struct out_cols {
    int32_t *stack;     /* n */
    uint32_t *attr_off; /* n + 1 */
    int32_t *attrs;     /* grown in the arena */
    size_t n_attrs, cap_attrs;
    pg_value_col *values; /* per profile, n each */
} out_cols;

/* What commit_sample writes into: the decoder, the columns, the profiles' value order. */
typedef struct commit_ctx {
    pg_pprof_dec *d;
    out_cols *oc;
    size_t n_out, n_types;
    const size_t *order;
} commit_ctx;

/* Interns sample number i, read into s, and writes it to every output profile
 * (pg_pprof_commit_fn; cx is a commit_ctx). */
static int commit_sample(void *cx, size_t i, pg_pprof_scratch *s)
{
    const commit_ctx *c = cx;
    pg_pprof_dec *d = c->d;
    out_cols *oc = c->oc;
    size_t n_out = c->n_out, n_types = c->n_types;
    const size_t *order = c->order;
    int rc;
    int32_t stack =
        s->stack_done ? s->stack_id
                      : pg_dict_stack_hinted(d->b, s->locs, s->nlocs, d->loc_width, s->stack_hash);
    if (stack < 0) return pg_pprof_dec_mem(d, stack);
    size_t na = 0;
    if (s->nl &&
        (rc = pg_pprof_labels_to_attrs(d, s->lk, s->ls, s->ln, s->lu, s->nl, s->attrs, &na)))
        return rc;
    oc->stack[i] = stack;
    oc->attr_off[i] = (uint32_t)oc->n_attrs;
    if (na) {
        pg_arena *a = pg_batch_arena(d->b);
        if ((rc = PG_VEC_RESERVE_ARENA(a, oc->attrs, oc->cap_attrs, oc->n_attrs + na, 1024)))
            return pg_pprof_dec_mem(d, rc);
        memcpy(oc->attrs + oc->n_attrs, s->attrs, na * sizeof(int32_t));
        oc->n_attrs += na;
    }
    if (n_types) {
        pg_arena *a = pg_batch_arena(d->b);
        for (size_t k = 0; k < n_out; k++)
            if ((rc = pg_value_col_set(a, &oc->values[k], i, s->vals[order[k]])))
                return pg_pprof_dec_mem(d, rc);
    }
    return 0;
}

/* Attaches the finished columns to the profiles: identity columns shared, one value column
 * each (a pprof with no sample types gets samples without values). */
static int attach_columns(pg_pprof_dec *d, out_cols *oc, pg_otlp_profile **profs, size_t n_out,
                          size_t n, size_t n_types)
{
    pg_arena *a = pg_batch_arena(d->b);
    oc->attr_off[n] = (uint32_t)oc->n_attrs;
    const int32_t *attrs = oc->n_attrs ? oc->attrs : NULL;
    uint32_t *zero_off = NULL;
    if (!n_types && !(zero_off = pg_arena_calloc(a, n + 1, sizeof *zero_off))) return PG_ELIMIT;
    for (size_t k = 0; k < n_out; k++) {
        pg_samples cs = {0}, *c = &cs;
        c->n = n;
        c->stack = oc->stack;
        if (oc->n_attrs) {
            c->attr_off = oc->attr_off;
            c->attrs = attrs;
        }
        if (n_types)
            pg_value_col_attach(&oc->values[k], c);
        else
            c->val_off = zero_off;
        pg_profile_set_samples(profs[k], c);
    }
    return 0;
}

/* Adds a KeyValue to the scope's attributes (value borrowed -> copied by the caller's arena). */
static int scope_attr(pg_arena *a, pg_otlp_scope *sc, const char *key, pg_otlp_any *v)
{
    pg_otlp_kv *kv = pg_otlp_kv_new(a);
    if (!kv || !(kv->key = pg_arena_strndup(a, key, strlen(key)))) return pg_arena_status(a);
    kv->value = v;
    return pg_otlp_push(a, (void ***)&sc->attributes, &sc->n_attributes, kv);
}

/* Interns the profile-level attributes (comments, drop/keep frames, doc_url). */
static int profile_attrs(pg_pprof_dec *d, const pg_pprof_header *h, int32_t *out, size_t *n)
{
    *n = 0;
    if (h->n_comments) {
        pg_otlp_any **ptrs = malloc(h->n_comments * (sizeof(pg_otlp_any *) + sizeof(pg_otlp_any)));
        if (!ptrs) return pg_err(d->err, d->errlen, PG_ENOMEM, "pprof: out of memory");
        pg_otlp_any *vals = (pg_otlp_any *)(ptrs + h->n_comments);
        int rc = 0;
        for (size_t i = 0; i < h->n_comments && !rc; i++) {
            static const pg_otlp_any init = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
            int32_t s;
            vals[i] = init;
            rc = pg_pprof_dec_str(d, h->comments[i], &s);
            vals[i].value_case = PG_ANY_STRING;
            vals[i].string_value = rc ? NULL : pg_batch_dict(d->b)->string_table[s];
            ptrs[i] = &vals[i];
        }
        pg_otlp_array arr = OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT;
        arr.values = ptrs;
        arr.n_values = h->n_comments;
        pg_otlp_any v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
        v.value_case = PG_ANY_ARRAY;
        v.array_value = &arr;
        int32_t key = rc ? rc : pg_dict_string(d->b, PG_SC_COMMENT, strlen(PG_SC_COMMENT));
        int32_t at = key < 0 ? key : pg_dict_attr(d->b, key, &v, 0);
        free(ptrs);
        if (rc) return rc;
        if (at < 0) return pg_pprof_dec_mem(d, at);
        out[(*n)++] = at;
    }
    const struct {
        const char *key;
        int64_t ix;
    } strs[3] = {{PG_SC_DROP_FRAMES, h->drop_frames},
                 {PG_SC_KEEP_FRAMES, h->keep_frames},
                 {PG_SC_DOC_URL, h->doc_url}};
    for (int i = 0; i < 3; i++) {
        if (!strs[i].ix) continue;
        const char *t;
        size_t tn;
        if (pg_pprof_dec_text(d, strs[i].ix, &t, &tn)) return PG_EINVAL;
        if (tn == 0) continue; /* an index of an empty string is the same as unset */
        int32_t at = pg_dict_attr_str(d->b, strs[i].key, t, tn);
        if (at < 0) return pg_pprof_dec_mem(d, at);
        out[(*n)++] = at;
    }
    return 0;
}

/* Chooses the profile order (default first) and the scope attributes that restore the
 * pprof order and default (docs/translation.md has the rules). types holds (type, unit)
 * string indices in pairs. */
static int plan_order(pg_pprof_dec *d, const pg_pprof_header *h, const int32_t *types,
                      size_t *order, pg_otlp_scope **scope_out)
{
    size_t n = h->n_sample_types, dflt = n ? n - 1 : 0;
    int matched = 0;
    pg_otlp_dict *dict = pg_batch_dict(d->b);
    const char *dtext = NULL;
    size_t dlen = 0;
    int64_t default_type = h->default_type;
    if (default_type) {
        if (pg_pprof_dec_text(d, default_type, &dtext, &dlen)) return PG_EINVAL;
        if (dlen == 0) default_type = 0; /* an empty name is the same as unset */
    }
    if (default_type) {
        for (size_t k = 0; k < n && !matched; k++) {
            const char *t = dict->string_table[types[2 * k]];
            if (strlen(t) == dlen && memcmp(t, dtext, dlen) == 0) {
                dflt = k;
                matched = 1;
            }
        }
    }
    size_t m = 0;
    if (n) order[m++] = dflt;
    for (size_t k = 0; k < n; k++)
        if (k != dflt) order[m++] = k;
    int identity = 1;
    for (size_t k = 0; k < n; k++)
        identity &= order[k] == k;
    /* Repeated sample types would be split apart by the way back unless the order says
     * they belong to one pprof. */
    int repeated = 0;
    for (size_t k = 0; k < n && !repeated; k++)
        for (size_t j = 0; j < k && !repeated; j++)
            repeated = types[2 * k] == types[2 * j] && types[2 * k + 1] == types[2 * j + 1];
    int emit_order = !identity || n == 0 || repeated;
    /* Without attributes the way back takes the first type as the default; with the order
     * attribute it takes "unset" unless the default attribute says otherwise. */
    int emit_default = default_type && !(n > 1 && dflt == 0 && matched && !emit_order);
    *scope_out = NULL;
    if (!emit_order && !emit_default) return 0;
    pg_arena *a = pg_batch_arena(d->b);
    pg_otlp_scope *sc = pg_otlp_scope_new(a);
    if (!sc) return pg_pprof_dec_mem(d, 0);
    if (emit_default) {
        pg_otlp_any *v = pg_otlp_any_new(a);
        if (!v || !(v->string_value = pg_arena_strndup(a, dtext, dlen)) ||
            scope_attr(a, sc, PG_SC_DEFAULT_SAMPLE_TYPE, v))
            return pg_pprof_dec_mem(d, 0);
        v->value_case = PG_ANY_STRING;
    }
    if (emit_order) {
        pg_otlp_any *v = pg_otlp_any_new(a);
        pg_otlp_array *arr = pg_otlp_array_new(a);
        if (!v || !arr || !(arr->values = pg_arena_alloc(a, (n ? n : 1) * sizeof *arr->values)))
            return pg_pprof_dec_mem(d, 0);
        for (size_t k = 0; k < n; k++) {
            pg_otlp_any *e = pg_otlp_any_new(a);
            if (!e) return pg_pprof_dec_mem(d, 0);
            e->value_case = PG_ANY_INT;
            e->int_value = (int64_t)order[k];
            arr->values[k] = e;
        }
        arr->n_values = n;
        v->value_case = PG_ANY_ARRAY;
        v->array_value = arr;
        if (scope_attr(a, sc, PG_SC_SAMPLE_TYPE_ORDER, v)) return pg_pprof_dec_mem(d, 0);
    }
    *scope_out = sc;
    return 0;
}

/* Builds the profiles of one pprof input; the batch's arena owns everything built. */
int pg_pprof_build_profiles(pg_pprof_dec *d, pg_pprof_header *h, pg_wire top,
                            pg_otlp_sprofiles **scope_out)
{
    size_t n = h->n_sample_types, n_out = n ? n : 1;
    pg_arena *a = pg_batch_arena(d->b);
    int32_t *types = calloc(2 * n_out, sizeof *types);
    size_t *order = calloc(n_out, sizeof *order);
    pg_otlp_profile **profs = calloc(n_out, sizeof *profs);
    out_cols oc = {0};
    oc.values = calloc(n_out, sizeof *oc.values);
    int rc = 0;
    if (!types || !order || !profs || !oc.values) {
        rc = pg_err(d->err, d->errlen, PG_ENOMEM, "pprof: out of memory");
        goto done;
    }
    for (size_t k = 0; k < n && !rc; k++)
        rc = pg_pprof_dec_value_type(d, h->sample_types[k], &types[2 * k], &types[2 * k + 1]);
    int32_t pt_type = 0, pt_unit = 0;
    if (!rc && h->period_type) rc = pg_pprof_dec_value_type(d, *h->period_type, &pt_type, &pt_unit);
    int32_t pattrs[8];
    size_t n_pattrs = 0;
    if (!rc) rc = profile_attrs(d, h, pattrs, &n_pattrs);
    pg_otlp_scope *scope = NULL;
    if (!rc) {
        rc = plan_order(d, h, types, order, &scope);
    }
    if (rc) goto done;
    pg_otlp_sprofiles *sp = pg_batch_add_scope(d->b, NULL);
    if (!sp) {
        rc = pg_pprof_dec_mem(d, 0);
        goto done;
    }
    sp->scope = scope;
    for (size_t k = 0; k < n_out; k++) {
        pg_otlp_profile *p = pg_otlp_profile_new(a);
        if (!p) {
            rc = pg_pprof_dec_mem(d, 0);
            goto done;
        }
        if (n) {
            if (!(p->sample_type = pg_otlp_valuetype_new(a))) {
                rc = PG_ELIMIT;
                goto done;
            }
            p->sample_type->type_strindex = types[2 * order[k]];
            p->sample_type->unit_strindex = types[2 * order[k] + 1];
        }
        p->time_unix_nano = (uint64_t)h->time_nanos;
        p->duration_nano = (uint64_t)h->duration_nanos;
        p->period = h->period;
        if (h->period_type) {
            if (!(p->period_type = pg_otlp_valuetype_new(a))) {
                rc = PG_ELIMIT;
                goto done;
            }
            p->period_type->type_strindex = pt_type;
            p->period_type->unit_strindex = pt_unit;
        }
        if (n_pattrs) {
            p->attribute_indices = pg_arena_memdup(a, pattrs, n_pattrs * sizeof *pattrs);
            p->n_attribute_indices = n_pattrs;
        }
        profs[k] = p;
        if (n && pg_value_col_init(a, &oc.values[k], h->n_samples)) {
            rc = PG_ELIMIT;
            goto done;
        }
        if (n_pattrs && !p->attribute_indices) {
            rc = PG_ELIMIT;
            goto done;
        }
        if (pg_otlp_push(a, (void ***)&sp->profiles, &sp->n_profiles, p)) {
            rc = PG_ELIMIT;
            goto done;
        }
    }
    /* Profilers aggregate samples by stack, so there are about as many stacks as samples:
     * size the stack index once instead of rehashing it as it fills, spending at most half
     * the input's size on it, and the pool for every location id the samples' bytes could
     * hold, so it is not copied as it grows (hints: both still grow on demand). */
    (void)pg_dict_stack_reserve(d->b, h->n_samples, h->sample_bytes, d->loc_width,
                                (size_t)(top.end - top.p) / 2);
    oc.stack = pg_arena_alloc(a, (h->n_samples ? h->n_samples : 1) * sizeof *oc.stack);
    oc.attr_off = pg_arena_alloc(a, (h->n_samples + 1) * sizeof *oc.attr_off);
    if (!oc.stack || !oc.attr_off) {
        rc = PG_ELIMIT;
        goto done;
    }
    commit_ctx cx = {d, &oc, n_out, n, order};
    rc = pg_pprof_read_samples(d, h, top, n, commit_sample, &cx);
    if (!rc) rc = attach_columns(d, &oc, profs, n_out, h->n_samples, n);
    if (!rc && scope_out) *scope_out = sp;
done:
    if ((rc == PG_ELIMIT || rc == PG_ENOMEM) && d->err && !d->err[0]) pg_pprof_dec_mem(d, rc);
    free(types);
    free(order);
    free(profs);
    free(oc.values);
    return rc;
}
