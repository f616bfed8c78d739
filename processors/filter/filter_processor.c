/* filter processor (see filter_processor.h): config, lifecycle, counters. */
#include "processors/filter/filter_processor.h"
#include "pipeline/core/err.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/telemetry/metrics.h"
#include "processors/filter/filter_rules.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef pg_filter_rule_config rule_cfg;

static const char *const ON[] = {"resource_attribute", "sample_attribute", "profile_type", "frame",
                                 NULL};

static const pg_cfg_field RULE_FIELDS[] = {
    {.key = "on",
     .type = PG_CFG_ENUM,
     .offset = offsetof(rule_cfg, on),
     .enum_values = ON,
     .required = true,
     .doc = "what the rule looks at: resource_attribute, sample_attribute, profile_type "
            "(\"type:unit\"), frame (a function name in the stack)"},
    {.key = "key",
     .type = PG_CFG_STRING,
     .offset = offsetof(rule_cfg, key),
     .doc = "the attribute key (resource_attribute, sample_attribute)"},
    {.key = "equals",
     .type = PG_CFG_STRING,
     .offset = offsetof(rule_cfg, equals),
     .doc = "matches when the value's text equals this"},
    {.key = "regex",
     .type = PG_CFG_REGEX,
     .offset = offsetof(rule_cfg, regex),
     .doc = "matches when this regular expression matches the value's text (unanchored)"},
    {.key = "exists",
     .type = PG_CFG_BOOL,
     .offset = offsetof(rule_cfg, exists),
     .doc = "matches when the attribute is present (the default without equals/regex)"},
    {.offset = sizeof(rule_cfg)},
};

static const pg_cfg_field FILTER_FIELDS[] = {
    {.key = "include",
     .type = PG_CFG_SECTION_LIST,
     .offset = offsetof(pg_filter_config, include),
     .section = RULE_FIELDS,
     .doc = "when not empty, keep only samples some of these rules match"},
    {.key = "exclude",
     .type = PG_CFG_SECTION_LIST,
     .offset = offsetof(pg_filter_config, exclude),
     .section = RULE_FIELDS,
     .doc = "drop samples any of these rules match"},
    {0},
};

/* Checks one list: a key exactly for attribute rules, one condition at most, a pattern
 * for profile types and frames. */
static int validate_list(const pg_cfg_seclist *l, const char *name, char *err, size_t errlen)
{
    const rule_cfg *r = l->items;
    for (size_t i = 0; i < l->n; i++, r++) {
        int attr =
            r->on == PG_FILTER_ON_RESOURCE_ATTRIBUTE || r->on == PG_FILTER_ON_SAMPLE_ATTRIBUTE;
        int conds = (r->equals != NULL) + (r->regex != NULL) + (r->exists ? 1 : 0);
        if (attr && (!r->key || !*r->key))
            return pg_err(err, errlen, PG_EINVAL, "%s[%zu]: on: %s needs a key", name, i,
                          ON[r->on]);
        if (!attr && r->key)
            return pg_err(err, errlen, PG_EINVAL, "%s[%zu]: key does not apply to on: %s", name, i,
                          ON[r->on]);
        if (conds > 1)
            return pg_err(err, errlen, PG_EINVAL, "%s[%zu]: give one of equals, regex, exists",
                          name, i);
        if (!attr && !r->equals && !r->regex)
            return pg_err(err, errlen, PG_EINVAL, "%s[%zu]: on: %s needs equals or regex", name, i,
                          ON[r->on]);
    }
    return 0;
}

static int filter_validate(const void *cfg, char *err, size_t errlen)
{
    const pg_filter_config *c = cfg;
    int rc = validate_list(&c->include, "include", err, errlen);
    return rc ? rc : validate_list(&c->exclude, "exclude", err, errlen);
}

typedef struct filter {
    char *id;
    pg_consumer next;
    fr_rules rules;
    pg_counter *profiles[2], *samples[2]; /* [0] not included, [1] excluded */
    atomic_bool logged[2];
} filter;

/* Nothing to stop: consume is final when it returns. */
static void filter_shutdown(void *self, int64_t deadline_ns)
{
    (void)self;
    (void)deadline_ns;
}

static void filter_destroy(void *self)
{
    filter *f = self;
    if (!f) return;
    fr_rules_free(&f->rules);
    free(f->id);
    free(f);
}

/* Compiles the rules (cfg borrowed) and registers the drop counters. */
static int filter_create(const pg_component_settings *s, const void *cfg, pg_consumer next,
                         void **self, char *err, size_t errlen)
{
    int rc = filter_validate(cfg, err, errlen);
    if (rc) return rc;
    filter *f = calloc(1, sizeof *f);
    if (!f || !(f->id = strdup(s->id ? s->id : "filter"))) {
        free(f);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    f->next = next;
    if ((rc = fr_rules_compile(&f->rules, cfg, err, errlen))) {
        filter_destroy(f);
        return rc;
    }
    pg_metrics *reg = pg_host_metrics(s->host);
    static const char *const REASON[2] = {"include", "exclude"};
    for (int i = 0; i < 2; i++) {
        char labels[512] = "";
        pg_metrics_label(labels, sizeof labels, "processor", f->id);
        pg_metrics_label(labels, sizeof labels, "reason", REASON[i]);
        f->profiles[i] = pg_metrics_counter(reg, "profgate_filter_dropped_profiles_total",
                                            "Profiles the filter dropped, by reason.", labels);
        f->samples[i] = pg_metrics_counter(reg, "profgate_filter_dropped_samples_total",
                                           "Samples the filter dropped, by reason.", labels);
    }
    *self = f;
    return 0;
}

/* Takes b: filters it in place, hands on what is left (frees an emptied batch). */
static int filter_consume(void *self, pg_batch *b, char *err, size_t errlen)
{
    filter *f = self;
    fr_result res = {{0, 0}, {0, 0}};
    int rc = fr_apply(&f->rules, b, &res, err, errlen);
    if (rc) {
        pg_batch_free(b);
        return rc;
    }
    static const char *const WHY[2] = {"matched no include rule", "matched an exclude rule"};
    for (int i = 0; i < 2; i++) {
        pg_counter_add(f->profiles[i], res.profiles[i]);
        pg_counter_add(f->samples[i], res.samples[i]);
        if (res.samples[i] + res.profiles[i] && !atomic_exchange(&f->logged[i], true))
            pg_log(PG_LOG_INFO, f->id,
                   "dropping samples that %s (first time; counted in "
                   "profgate_filter_dropped_*_total)",
                   WHY[i]);
    }
    if (pg_batch_profile_count(b) == 0 || !f->next.consume) {
        pg_batch_free(b);
        return 0;
    }
    return pg_consume(&f->next, b, err, errlen);
}

const pg_component_factory pg_filter_processor_factory = {
    .type = "filter",
    .kind = PG_CFG_PROCESSOR,
    .config = {.table = FILTER_FIELDS,
               .size = sizeof(pg_filter_config),
               .validate = filter_validate},
    .create = filter_create,
    .shutdown = filter_shutdown,
    .destroy = filter_destroy,
    .consume = filter_consume,
    .mutates = 1,
};
