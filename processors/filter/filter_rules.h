/* The filter's rule engine (filter_rules.c): compiled rules, and the per-batch evaluation
 * that marks which profiles and samples go. */
#ifndef PG_FILTER_RULES_H
#define PG_FILTER_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/batch.h"
#include "pipeline/core/regex.h"
#include "processors/filter/filter_processor.h"

typedef struct fr_rule {
    int on;
    char *key;    /* malloc'd or NULL */
    char *equals; /* malloc'd or NULL */
    pg_regex *re; /* or NULL */
} fr_rule;

typedef struct fr_rules {
    fr_rule *inc, *exc;
    size_t ninc, nexc;
    int inc_samples, exc_samples; /* some rule of the list looks at samples */
} fr_rules;

/* What one batch lost. */
typedef struct fr_result {
    uint64_t profiles[2], samples[2]; /* [0] not included, [1] excluded */
} fr_result;

/* Compiles cfg's rules into r (caller frees with fr_rules_free). 0 or a status. */
int fr_rules_compile(fr_rules *r, const pg_filter_config *cfg, char *err, size_t errlen);
void fr_rules_free(fr_rules *r);

/* Drops what the rules drop from b (held alone), compacting the dictionary when anything
 * went; adds to *res. Returns 0 or a negative status. */
int fr_apply(const fr_rules *r, pg_batch *b, fr_result *res, char *err, size_t errlen);

#endif
