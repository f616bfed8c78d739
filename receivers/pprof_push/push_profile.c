/* One pprof into a batch with its series labels as resource attributes, the metadata and
 * hand-on around a request, and sample_type_config (see pprof_push_int.h). */
#include "receivers/pprof_push/pprof_push_int.h"

#include "pipeline/core/err.h"
#include "pipeline/translate/pprof.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Appends a string attribute key=value to res (arena-owned copies). */
static int add_attr(pg_arena *a, pg_otlp_resource *res, const char *key, const char *value)
{
    pg_otlp_kv *kv = pg_otlp_kv_new(a);
    pg_otlp_any *v = pg_otlp_any_new(a);
    if (!kv || !v) return PG_ELIMIT;
    kv->key = pg_arena_strndup(a, key, strlen(key));
    v->value_case = PG_ANY_STRING;
    v->string_value = pg_arena_strndup(a, value, strlen(value));
    kv->value = v;
    if (!kv->key || !v->string_value) return PG_ELIMIT;
    return pg_otlp_push(a, (void ***)&res->attributes, &res->n_attributes, kv) ? PG_ELIMIT : 0;
}

/* See pprof_push_int.h. */
const char *push_type_name(pg_batch *b, const pg_otlp_profile *p)
{
    const pg_otlp_dict *d = pg_batch_dict(b);
    if (!p->sample_type) return "";
    int32_t i = p->sample_type->type_strindex;
    return i > 0 && (size_t)i < d->n_string_table ? d->string_table[i] : "";
}

/* Leaves out of sp the profiles whose sample type types[0..n) does not name; counts them.
 * A profile without a sample type (the translator's table-entries record) stays. */
static void select_types(push_receiver *r, pg_batch *b, pg_otlp_sprofiles *sp, char *const *types,
                         size_t n)
{
    size_t keep = 0;
    for (size_t i = 0; i < sp->n_profiles; i++) {
        const char *t = push_type_name(b, sp->profiles[i]);
        int named = !*t; /* no type: the translator's record of unreached table entries */
        for (size_t k = 0; k < n && !named; k++)
            named = strcmp(types[k], t) == 0;
        if (named)
            sp->profiles[keep++] = sp->profiles[i];
        else
            pg_counter_add(r->dropped_types, 1);
    }
    sp->n_profiles = keep;
}

/* See pprof_push_int.h. Borrows p, ls, spy, types. */
int push_add_pprof(push_receiver *r, pg_batch *b, const uint8_t *p, size_t n, const push_labels *ls,
                   const char *spy, uint64_t from_ns, uint64_t until_ns, char *const *types,
                   size_t n_types, char *err, size_t errlen)
{
    if (n == 0) return pg_err(err, errlen, PG_EINVAL, "empty profile");
    pg_otlp_sprofiles *sp = NULL;
    int rc = pg_pprof_decode(b, p, n, &r->limits, &sp, err, errlen);
    if (rc) return rc;
    if (r->limits.max_samples && pg_batch_sample_count(b) > r->limits.max_samples)
        return pg_err(err, errlen, PG_ELIMIT, "request holds more than %zu samples (max_samples)",
                      r->limits.max_samples);
    if (types) select_types(r, b, sp, types, n_types);
    int has_time = 0; /* the pprof's own time_nanos / duration_nanos win */
    for (size_t i = 0; i < sp->n_profiles; i++)
        has_time |= sp->profiles[i]->time_unix_nano != 0 || sp->profiles[i]->duration_nano != 0;
    for (size_t i = 0; i < sp->n_profiles && !has_time && from_ns; i++) {
        sp->profiles[i]->time_unix_nano = from_ns;
        if (until_ns > from_ns) sp->profiles[i]->duration_nano = until_ns - from_ns;
    }
    pg_otlp_data *d = pg_batch_data(b);
    pg_otlp_rprofiles *rp = d->resource_profiles[d->n_resource_profiles - 1];
    pg_arena *a = pg_batch_arena(b);
    if (!rp->resource && !(rp->resource = pg_otlp_resource_new(a)))
        return pg_err(err, errlen, PG_ELIMIT, "batch over its arena cap");
    rc = ls->service ? add_attr(a, rp->resource, "service.name", ls->service) : 0;
    for (size_t i = 0; rc == 0 && i < ls->n; i++)
        rc = add_attr(a, rp->resource, ls->l[i].name, ls->l[i].value);
    if (rc == 0 && ls->profile_name)
        rc = add_attr(a, rp->resource, PUSH_ATTR_PROFILE_NAME, ls->profile_name);
    if (rc == 0 && spy && *spy) rc = add_attr(a, rp->resource, PUSH_ATTR_SPY, spy);
    if (rc) return pg_err(err, errlen, rc, "batch over its arena cap");
    return 0;
}

/* See pprof_push_int.h. Takes b. */
int push_hand_on(push_receiver *r, const pg_http_request *req, pg_batch *b, char *err,
                 size_t errlen)
{
    pg_rx_md *md = NULL;
    int rc = 0;
    if (r->md.include && req->nheaders) {
        if (!(md = malloc(req->nheaders * sizeof *md)))
            rc = pg_err(err, errlen, PG_ENOMEM, "out of memory");
        for (size_t i = 0; md && i < req->nheaders; i++)
            md[i] = (pg_rx_md){req->header_names[i], req->header_values[i]};
    }
    if (rc == 0) rc = pg_rx_keep_metadata(&r->md, b, md, md ? req->nheaders : 0, err, errlen);
    free(md);
    if (rc) {
        pg_batch_free(b);
        return rc;
    }
    if (pg_batch_profile_count(b) == 0) {
        pg_batch_free(b);
        return 0;
    }
    const char *cl = pg_http_header(req, "content-length");
    size_t wire = cl ? (size_t)strtoull(cl, NULL, 10) : req->body_len;
    return pg_rx_hand_on(b, r->id, &r->next, &r->stats, wire ? wire : req->body_len, err, errlen);
}

/* See pprof_push_int.h. */
void push_count(push_receiver *r, const pg_http_request *req, int status, int64_t t0_ns)
{
    const char *cl = pg_http_header(req, "content-length");
    size_t wire = cl ? (size_t)strtoull(cl, NULL, 10) : req->body_len;
    pg_rx_stats_request(&r->stats, status, wire, (double)(pg_now_mono_ns() - t0_ns) / 1e9);
}

void push_stc_free(push_stc *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->types[i]);
    free(s->types);
    free(s->cumulative);
    free(s->profile_name);
    *s = (push_stc){0};
}

/* See pprof_push_int.h. Borrows json. */
int push_sample_type_config(const uint8_t *json, size_t n, push_stc *out, char *err, size_t errlen)
{
    *out = (push_stc){0};
    json_error_t je;
    json_t *root = json_loadb((const char *)json, n, JSON_REJECT_DUPLICATES, &je);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return pg_err(err, errlen, PG_EINVAL, "sample_type_config: not a JSON object (%s)",
                      root ? "other JSON value" : je.text);
    }
    size_t cnt = json_object_size(root);
    out->types = calloc(cnt ? cnt : 1, sizeof *out->types);
    out->cumulative = calloc(cnt ? cnt : 1, sizeof *out->cumulative);
    int rc = out->types && out->cumulative ? 0 : pg_err(err, errlen, PG_ENOMEM, "out of memory");
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        if (rc) break;
        if (!json_is_object(val)) {
            rc =
                pg_err(err, errlen, PG_EINVAL, "sample_type_config[\"%.64s\"]: not an object", key);
            break;
        }
        json_t *dn = json_object_get(val, "display-name");
        const char *dns = json_is_string(dn) ? json_string_value(dn) : "";
        const char *pn = strncmp(dns, "mutex_", 6) == 0   ? "mutex"
                         : strncmp(dns, "block_", 6) == 0 ? "block"
                                                          : NULL;
        if (pn && !out->profile_name && !(out->profile_name = strdup(pn)))
            rc = pg_err(err, errlen, PG_ENOMEM, "out of memory");
        out->cumulative[out->n] = json_is_true(json_object_get(val, "cumulative"));
        if (rc == 0 && !(out->types[out->n++] = strdup(key)))
            rc = pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    json_decref(root);
    if (rc) push_stc_free(out);
    return rc;
}
