/* resource processor (see resource_processor.h): config tables, the compiled plan,
 * lifecycle and consume. */
#include "processors/resource/resource_processor.h"
#include "pipeline/core/compact.h"
#include "pipeline/core/err.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/telemetry/metrics.h"
#include "processors/resource/resource_int.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef pg_resource_action_config act_cfg;
typedef pg_resource_move_config move_cfg;

static const char *const ACTIONS[] = {"insert",  "update", "upsert",  "delete", "hash",
                                      "extract", "rename", "convert", NULL};
static const char *const TYPES[] = {"string", "int", "double", "bool", NULL};

static const pg_cfg_field ACTION_FIELDS[] = {
    {.key = "key",
     .type = PG_CFG_STRING,
     .offset = offsetof(act_cfg, key),
     .required = true,
     .doc = "the attribute acted on"},
    {.key = "action",
     .type = PG_CFG_ENUM,
     .offset = offsetof(act_cfg, action),
     .enum_values = ACTIONS,
     .required = true,
     .doc = "insert, update, upsert, delete, hash, extract, rename or convert"},
    {.key = "value",
     .type = PG_CFG_STRING,
     .offset = offsetof(act_cfg, value),
     .doc = "insert/update/upsert: the value (a literal; ${env:VAR} works)"},
    {.key = "from_attribute",
     .type = PG_CFG_STRING,
     .offset = offsetof(act_cfg, from_attribute),
     .doc = "insert/update/upsert: take the value of this attribute instead"},
    {.key = "pattern",
     .type = PG_CFG_REGEX,
     .offset = offsetof(act_cfg, pattern),
     .doc = "extract: a regex whose named groups become attributes"},
    {.key = "new_key",
     .type = PG_CFG_STRING,
     .offset = offsetof(act_cfg, new_key),
     .doc = "rename: the new key"},
    {.key = "converted_type",
     .type = PG_CFG_ENUM,
     .offset = offsetof(act_cfg, converted_type),
     .enum_values = TYPES,
     .def = "string",
     .doc = "convert: string, int, double or bool"},
    {.offset = sizeof(act_cfg)},
};

static const pg_cfg_field MOVE_FIELDS[] = {
    {.key = "key",
     .type = PG_CFG_STRING,
     .offset = offsetof(move_cfg, key),
     .required = true,
     .doc = "the attribute moved"},
    {.key = "to",
     .type = PG_CFG_STRING,
     .offset = offsetof(move_cfg, to),
     .doc = "its key where it lands (default: the same key)"},
    {.offset = sizeof(move_cfg)},
};

static const pg_cfg_field RESOURCE_FIELDS[] = {
    {.key = "detectors",
     .type = PG_CFG_STRING_LIST,
     .offset = offsetof(pg_resource_config, detectors),
     .doc = "env (OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME), system (host.name, os.type, "
            "host.arch); evaluated once at start"},
    {.key = "override",
     .type = PG_CFG_BOOL,
     .offset = offsetof(pg_resource_config, override),
     .def = "false",
     .doc = "detected attributes replace existing ones"},
    {.key = "attributes",
     .type = PG_CFG_SECTION_LIST,
     .offset = offsetof(pg_resource_config, attributes),
     .section = ACTION_FIELDS,
     .doc = "actions on resource attributes, in order"},
    {.key = "sample_attributes",
     .type = PG_CFG_SECTION_LIST,
     .offset = offsetof(pg_resource_config, sample_attributes),
     .section = ACTION_FIELDS,
     .doc = "actions on every sample's attributes (pprof labels), in order"},
    {.key = "promote",
     .type = PG_CFG_SECTION_LIST,
     .offset = offsetof(pg_resource_config, promote),
     .section = MOVE_FIELDS,
     .doc = "sample attributes with one value per profile moved to the resource"},
    {.key = "demote",
     .type = PG_CFG_SECTION_LIST,
     .offset = offsetof(pg_resource_config, demote),
     .section = MOVE_FIELDS,
     .doc = "resource attributes moved onto every sample"},
    {0},
};

/* Checks one action list: the fields each action needs and no others. */
static int validate_actions(const pg_cfg_seclist *l, const char *name, char *err, size_t errlen)
{
    const act_cfg *a = l->items;
    for (size_t i = 0; i < l->n; i++, a++) {
        int sets = a->action <= PG_RES_UPSERT;
        const char *what = ACTIONS[a->action];
        if (sets && !a->value == !a->from_attribute)
            return pg_err(err, errlen, PG_EINVAL, "%s[%zu]: %s needs value or from_attribute", name,
                          i, what);
        if (!sets && (a->value || a->from_attribute))
            return pg_err(err, errlen, PG_EINVAL, "%s[%zu]: %s takes no value", name, i, what);
        if ((a->action == PG_RES_EXTRACT) != (a->pattern != NULL))
            return pg_err(err, errlen, PG_EINVAL, "%s[%zu]: pattern goes with extract (only)", name,
                          i);
        if ((a->action == PG_RES_RENAME) != (a->new_key != NULL))
            return pg_err(err, errlen, PG_EINVAL, "%s[%zu]: new_key goes with rename (only)", name,
                          i);
    }
    return 0;
}

static int resource_validate(const void *cfg, char *err, size_t errlen)
{
    const pg_resource_config *c = cfg;
    for (size_t i = 0; i < c->detectors.n; i++)
        if (strcmp(c->detectors.items[i], "env") && strcmp(c->detectors.items[i], "system"))
            return pg_err(err, errlen, PG_EINVAL,
                          "detectors[%zu]: unknown detector \"%s\" (known: env, system)", i,
                          c->detectors.items[i]);
    int rc = validate_actions(&c->attributes, "attributes", err, errlen);
    return rc ? rc : validate_actions(&c->sample_attributes, "sample_attributes", err, errlen);
}

static char *dup_or_null(const char *s, int *oom)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d) *oom = 1;
    return d;
}

/* Compiles one action list. */
static int compile_actions(const pg_cfg_seclist *l, ra_action **out, size_t *n, char *err,
                           size_t errlen)
{
    *out = calloc(l->n ? l->n : 1, sizeof **out);
    if (!*out) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    const act_cfg *c = l->items;
    int oom = 0;
    for (size_t i = 0; i < l->n; i++, c++) {
        ra_action *a = &(*out)[i];
        *n = i + 1;
        a->action = c->action;
        a->converted_type = c->converted_type;
        a->key = dup_or_null(c->key, &oom);
        a->value = dup_or_null(c->value, &oom);
        a->from = dup_or_null(c->from_attribute, &oom);
        a->new_key = dup_or_null(c->new_key, &oom);
        if (oom) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
        if (c->pattern) {
            int rc = pg_regex_compile(c->pattern, &a->re, err, errlen);
            if (rc) return rc;
        }
    }
    return 0;
}

static int compile_moves(const pg_cfg_seclist *l, ra_move **out, size_t *n, char *err,
                         size_t errlen)
{
    *out = calloc(l->n ? l->n : 1, sizeof **out);
    if (!*out) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    const move_cfg *c = l->items;
    int oom = 0;
    for (size_t i = 0; i < l->n; i++, c++) {
        (*out)[i].key = dup_or_null(c->key, &oom);
        (*out)[i].to = dup_or_null(c->to, &oom);
        *n = i + 1;
    }
    return oom ? pg_err(err, errlen, PG_ENOMEM, "out of memory") : 0;
}

/* See resource_int.h. */
int ra_plan_build(ra_plan *p, const pg_resource_config *cfg, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    p->override = cfg->override;
    int rc = compile_actions(&cfg->attributes, &p->res, &p->nres, err, errlen);
    if (!rc) rc = compile_actions(&cfg->sample_attributes, &p->smp, &p->nsmp, err, errlen);
    if (!rc) rc = compile_moves(&cfg->promote, &p->promote, &p->npromote, err, errlen);
    if (!rc) rc = compile_moves(&cfg->demote, &p->demote, &p->ndemote, err, errlen);
    if (!rc && p->npromote > 64) rc = pg_err(err, errlen, PG_EINVAL, "promote: at most 64 keys");
    for (size_t i = 0; !rc && i < cfg->detectors.n; i++)
        rc = ra_detect(p, cfg->detectors.items[i], err, errlen);
    if (rc) ra_plan_free(p);
    return rc;
}

static void free_actions(ra_action *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].key);
        free(a[i].value);
        free(a[i].from);
        free(a[i].new_key);
        pg_regex_free(a[i].re);
    }
    free(a);
}

static void free_moves(ra_move *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i].key);
        free(m[i].to);
    }
    free(m);
}

void ra_plan_free(ra_plan *p)
{
    free_actions(p->res, p->nres);
    free_actions(p->smp, p->nsmp);
    free_moves(p->promote, p->npromote);
    free_moves(p->demote, p->ndemote);
    for (size_t i = 0; i < p->ndetected; i++) {
        free(p->detected[i].key);
        free(p->detected[i].value);
    }
    free(p->detected);
    memset(p, 0, sizeof *p);
}

typedef struct resource {
    char *id;
    pg_consumer next;
    ra_plan plan;
    pg_counter *failed;
} resource;

static void resource_destroy(void *self)
{
    resource *r = self;
    if (!r) return;
    ra_plan_free(&r->plan);
    free(r->id);
    free(r);
}

/* Builds the plan (cfg borrowed), runs the detectors once, logs what they found. */
static int resource_create(const pg_component_settings *s, const void *cfg, pg_consumer next,
                           void **self, char *err, size_t errlen)
{
    int rc = resource_validate(cfg, err, errlen);
    if (rc) return rc;
    resource *r = calloc(1, sizeof *r);
    if (!r || !(r->id = strdup(s->id ? s->id : "resource"))) {
        free(r);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    r->next = next;
    if ((rc = ra_plan_build(&r->plan, cfg, err, errlen))) {
        resource_destroy(r);
        return rc;
    }
    for (size_t i = 0; i < r->plan.ndetected; i++)
        pg_log(PG_LOG_INFO, r->id, "detected %s=%s", r->plan.detected[i].key,
               r->plan.detected[i].value);
    char labels[512] = "";
    pg_metrics_label(labels, sizeof labels, "processor", r->id);
    r->failed =
        pg_metrics_counter(pg_host_metrics(s->host), "profgate_resource_failed_profiles_total",
                           "Profiles dropped because an edit failed (arena cap).", labels);
    *self = r;
    return 0;
}

static void resource_shutdown(void *self, int64_t deadline_ns)
{
    (void)self;
    (void)deadline_ns;
}

/* Takes b: runs the steps in order, compacts, hands it on. */
static int resource_consume(void *self, pg_batch *b, char *err, size_t errlen)
{
    resource *r = self;
    const ra_plan *p = &r->plan;
    int refs = p->nres && ra_resource_refs(b); /* edits may orphan referenced strings */
    int rc = ra_apply_detected(p, b);
    if (!rc) rc = ra_promote(p, b);
    if (!rc) rc = ra_apply_resource_actions(p, b);
    if (!rc) rc = ra_apply_sample_actions(p, b, err, errlen);
    if (!rc) rc = ra_demote(p, b);
    if (!rc && (refs || p->nsmp || p->npromote || p->ndemote))
        rc = pg_batch_compact(b, NULL, err, errlen);
    if (rc) {
        pg_counter_add(r->failed, pg_batch_profile_count(b));
        pg_log(PG_LOG_WARN, r->id, "dropping a batch of %zu profiles: %s",
               pg_batch_profile_count(b), pg_status_name(rc));
        pg_batch_free(b);
        return pg_err(err, errlen, rc, "resource: %s", pg_status_name(rc));
    }
    if (!r->next.consume) {
        pg_batch_free(b);
        return 0;
    }
    return pg_consume(&r->next, b, err, errlen);
}

const pg_component_factory pg_resource_processor_factory = {
    .type = "resource",
    .kind = PG_CFG_PROCESSOR,
    .config = {.table = RESOURCE_FIELDS,
               .size = sizeof(pg_resource_config),
               .validate = resource_validate},
    .create = resource_create,
    .shutdown = resource_shutdown,
    .destroy = resource_destroy,
    .consume = resource_consume,
    .mutates = 1,
};
