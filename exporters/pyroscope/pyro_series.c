/* A batch as Pyroscope series: labels from the resource, one gzip'd pprof per translator
 * group, the push.v1 encoding and the /ingest query (see pyroscope_int.h). */
#include "exporters/pyroscope/pyroscope_int.h"

#include "pipeline/core/err.h"
#include "pipeline/core/samples.h"
#include "pipeline/translate/pprof.h"
#include "pyroscope/push/v1/push.pb-c.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Pyroscope's profile type names by first sample type (its ingest derives `__name__` so). */
const char *pyro_profile_name(const char *type)
{
    static const struct {
        const char *type, *name;
    } MAP[] = {
        {"cpu", "process_cpu"},       {"samples", "process_cpu"},  {"wall", "wall"},
        {"alloc_objects", "memory"},  {"alloc_space", "memory"},   {"inuse_objects", "memory"},
        {"inuse_space", "memory"},    {"goroutine", "goroutines"}, {"goroutines", "goroutines"},
        {"contentions", "mutex"},     {"delay", "mutex"},          {"exception", "exceptions"},
        {"exceptions", "exceptions"},
    };
    for (size_t i = 0; i < sizeof MAP / sizeof MAP[0]; i++)
        if (strcmp(MAP[i].type, type) == 0) return MAP[i].name;
    return type;
}

/* Sets label name (copied, sanitised unless raw) to value (copied), replacing an earlier
 * one of that name. 0 or PG_ENOMEM. */
static int set_label(pyro_series *s, const char *name, const char *value, int raw)
{
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return PG_ENOMEM;
    }
    for (char *p = n; !raw && *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_') *p = '_';
    if (!raw && isdigit((unsigned char)n[0])) n[0] = '_';
    for (size_t i = 0; i < s->n_labels; i++)
        if (strcmp(s->labels[i].name, n) == 0) {
            free(n);
            free(s->labels[i].value);
            s->labels[i].value = v;
            return 0;
        }
    pyro_label *l = realloc(s->labels, (s->n_labels + 1) * sizeof *l);
    if (!l) {
        free(n);
        free(v);
        return PG_ENOMEM;
    }
    s->labels = l;
    s->labels[s->n_labels++] = (pyro_label){n, v};
    return 0;
}

/* Returns the label's value, or NULL. */
static const char *get_label(const pyro_series *s, const char *name)
{
    for (size_t i = 0; i < s->n_labels; i++)
        if (strcmp(s->labels[i].name, name) == 0) return s->labels[i].value;
    return NULL;
}

/* Writes attribute value v as text into out. */
static void any_text(const pg_otlp_dict *d, const pg_otlp_any *v, char *out, size_t outlen)
{
    out[0] = '\0';
    if (!v) return;
    switch (v->value_case) {
    case PG_ANY_STRING:
        snprintf(out, outlen, "%s", v->string_value ? v->string_value : "");
        break;
    case PG_ANY_STRINDEX:
        if (v->string_value_strindex > 0 && (size_t)v->string_value_strindex < d->n_string_table)
            snprintf(out, outlen, "%s", d->string_table[v->string_value_strindex]);
        break;
    case PG_ANY_INT:
        snprintf(out, outlen, "%" PRId64, v->int_value);
        break;
    case PG_ANY_BOOL:
        snprintf(out, outlen, "%s", v->bool_value ? "true" : "false");
        break;
    case PG_ANY_DOUBLE:
        snprintf(out, outlen, "%.17g", v->double_value);
        break;
    default:
        break;
    }
}

/* Fills s's labels for group g of b. */
static int series_labels(const pg_batch *b, const pg_pprof_group *g, const pg_cfg_strmap *ext,
                         pyro_series *s)
{
    const pg_otlp_dict *d = pg_batch_dict(b);
    const pg_otlp_resource *res = g->resource ? g->resource->resource : NULL;
    char val[2048];
    int rc = 0;
    for (size_t i = 0; res && i < res->n_attributes && rc == 0; i++) {
        const pg_otlp_kv *kv = res->attributes[i];
        if (!kv->key) continue;
        any_text(d, kv->value, val, sizeof val);
        if (strcmp(kv->key, "service.name") == 0)
            rc = set_label(s, "service_name", val, 1);
        else if (strcmp(kv->key, PYRO_ATTR_PROFILE_NAME) == 0)
            rc = set_label(s, "__name__", val, 1);
        else if (strncmp(kv->key, "__", 2) != 0)
            rc = set_label(s, kv->key, val, 0);
    }
    if (rc == 0 && !get_label(s, "__name__")) {
        /* the first sample type Pyroscope knows names it, else the first type's name */
        const char *name = NULL, *first = NULL;
        for (size_t i = 0; i < g->n_profiles && !name; i++) {
            const pg_otlp_profile *p = g->profiles[i];
            if (!p->sample_type || p->sample_type->type_strindex <= 0 ||
                (size_t)p->sample_type->type_strindex >= d->n_string_table)
                continue;
            const char *type = d->string_table[p->sample_type->type_strindex];
            if (!first) first = type;
            if (strcmp(pyro_profile_name(type), type) != 0 || strcmp(type, "wall") == 0)
                name = pyro_profile_name(type);
        }
        rc = set_label(s, "__name__", name ? name : first && *first ? first : "unknown", 1);
    }
    if (rc == 0 && !get_label(s, "service_name"))
        rc = set_label(s, "service_name", "unknown_service", 1);
    for (size_t i = 0; ext && i < ext->n && rc == 0; i++)
        rc = set_label(s, ext->keys[i], ext->values[i], strcmp(ext->keys[i], "__name__") == 0);
    s->spy = get_label(s, PYRO_ATTR_SPY);
    return rc;
}

/* See pyroscope_int.h. Borrows b, g and external. */
int pyro_series_init(const pg_batch *b, const pg_pprof_group *g, const pg_cfg_strmap *external,
                     pyro_series *s)
{
    int rc = series_labels(b, g, external, s);
    for (size_t k = 0; rc == 0 && k < g->n_profiles; k++) /* data profiles only */
        if (g->profiles[k]->sample_type && g->profiles[k]->sample_type->type_strindex > 0)
            s->samples += pg_profile_sample_count(g->profiles[k]);
    if (rc == 0 && g->n_profiles) {
        s->time_ns = g->profiles[0]->time_unix_nano;
        s->duration_ns = g->profiles[0]->duration_nano;
    }
    return rc;
}

/* Frees what one series owns (not s itself). */
void pyro_series_free_one(pyro_series *s)
{
    for (size_t k = 0; k < s->n_labels; k++) {
        free(s->labels[k].name);
        free(s->labels[k].value);
    }
    free(s->labels);
    pg_buf_free(&s->pprof);
}

void pyro_series_free(pyro_series *s, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        pyro_series_free_one(&s[i]);
    free(s);
}

/* See pyroscope_int.h. Borrows b and external. */
int pyro_series_build(const pg_batch *b, const pg_cfg_strmap *external, pyro_series **out,
                      size_t *n, char *err, size_t errlen)
{
    pg_pprof_group *g = NULL;
    size_t ng = 0;
    *out = NULL;
    *n = 0;
    int rc = pg_pprof_plan(b, &g, &ng, err, errlen);
    if (rc) return rc;
    pyro_series *s = calloc(ng ? ng : 1, sizeof *s);
    if (!s) rc = pg_err(err, errlen, PG_ENOMEM, "out of memory");
    pg_pprof_encode_opts o = {.gzip = 1, .resource_as_labels = 0, .links_as_labels = 1};
    for (size_t i = 0; rc == 0 && i < ng; i++) {
        rc = pg_pprof_encode(b, &g[i], &o, &s[i].pprof, err, errlen);
        if (rc == 0 && pyro_series_init(b, &g[i], external, &s[i]))
            rc = pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    pg_pprof_groups_free(g, ng);
    if (rc) {
        pyro_series_free(s, ng);
        return rc;
    }
    *out = s;
    *n = ng;
    return 0;
}

/* See pyroscope_int.h. */
int pyro_push_encode(const pyro_series *s, size_t n, pg_buf *out)
{
    Push__V1__PushRequest req = PUSH__V1__PUSH_REQUEST__INIT;
    Push__V1__RawProfileSeries *ser = calloc(n ? n : 1, sizeof *ser);
    Push__V1__RawProfileSeries **serp = calloc(n ? n : 1, sizeof *serp);
    Push__V1__RawSample *smp = calloc(n ? n : 1, sizeof *smp);
    Push__V1__RawSample **smpp = calloc(n ? n : 1, sizeof *smpp);
    size_t nl = 0;
    for (size_t i = 0; i < n; i++)
        nl += s[i].n_labels;
    Types__V1__LabelPair *lp = calloc(nl ? nl : 1, sizeof *lp);
    Types__V1__LabelPair **lpp = calloc(nl ? nl : 1, sizeof *lpp);
    int rc = ser && serp && smp && smpp && lp && lpp ? 0 : PG_ENOMEM;
    for (size_t i = 0, k = 0; rc == 0 && i < n; i++) {
        push__v1__raw_profile_series__init(&ser[i]);
        push__v1__raw_sample__init(&smp[i]);
        ser[i].labels = &lpp[k];
        ser[i].n_labels = s[i].n_labels;
        for (size_t j = 0; j < s[i].n_labels; j++, k++) {
            types__v1__label_pair__init(&lp[k]);
            lp[k].name = s[i].labels[j].name;
            lp[k].value = s[i].labels[j].value;
            lpp[k] = &lp[k];
        }
        smp[i].raw_profile.data = s[i].pprof.data;
        smp[i].raw_profile.len = s[i].pprof.len;
        smpp[i] = &smp[i];
        ser[i].samples = &smpp[i];
        ser[i].n_samples = 1;
        serp[i] = &ser[i];
    }
    if (rc == 0) {
        req.series = serp;
        req.n_series = n;
        size_t sz = push__v1__push_request__get_packed_size(&req);
        rc = pg_buf_reserve(out, sz ? sz : 1);
        if (rc == 0) out->len += push__v1__push_request__pack(&req, out->data + out->len);
    }
    free(ser);
    free(serp);
    free(smp);
    free(smpp);
    free(lp);
    free(lpp);
    return rc;
}

/* Appends s percent-encoded (unreserved characters kept). */
static void put_escaped(pg_buf *out, const char *s)
{
    static const char HEX[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
            pg_buf_append(out, s, 1);
        else {
            char e[3] = {'%', HEX[c >> 4], HEX[c & 15]};
            pg_buf_append(out, e, 3);
        }
    }
}

/* See pyroscope_int.h. */
int pyro_ingest_query(const pyro_series *s, pg_buf *out, size_t *skipped)
{
    const char *svc = get_label(s, "service_name");
    pg_buf name = {0};
    pg_buf_append(&name, svc ? svc : "unknown_service", strlen(svc ? svc : "unknown_service"));
    pg_buf_append(&name, "{", 1);
    int first = 1;
    for (size_t i = 0; i < s->n_labels; i++) {
        const pyro_label *l = &s->labels[i];
        if (strcmp(l->name, "service_name") == 0 || strcmp(l->name, PYRO_ATTR_SPY) == 0 ||
            strcmp(l->name, "__name__") == 0) /* /ingest derives __name__ itself */
            continue;
        if (strpbrk(l->value, ",{}=")) {
            (*skipped)++;
            continue;
        }
        if (!first) pg_buf_append(&name, ",", 1);
        first = 0;
        pg_buf_append(&name, l->name, strlen(l->name));
        pg_buf_append(&name, "=", 1);
        pg_buf_append(&name, l->value, strlen(l->value));
    }
    pg_buf_append(&name, "}", 2); /* with the NUL */
    if (name.failed) {
        pg_buf_free(&name);
        return PG_ENOMEM;
    }
    pg_buf_append(out, "name=", 5);
    put_escaped(out, (const char *)name.data);
    pg_buf_free(&name);
    char num[96];
    if (s->time_ns) {
        uint64_t from = s->time_ns / 1000000000ull;
        uint64_t until = (s->time_ns + s->duration_ns) / 1000000000ull;
        snprintf(num, sizeof num, "&from=%" PRIu64 "&until=%" PRIu64, from,
                 until > from ? until : from);
        pg_buf_append(out, num, strlen(num));
    }
    if (s->spy) {
        pg_buf_append(out, "&spyName=", 9);
        put_escaped(out, s->spy);
    }
    return pg_buf_append(out, "", 1);
}

/* See pyroscope_int.h. */
const char *pyro_series_name(const pyro_series *s)
{
    return get_label(s, "__name__");
}

/* See pyroscope_int.h. */
const char *pyro_series_label(const pyro_series *s, const char *name)
{
    return get_label(s, name);
}
