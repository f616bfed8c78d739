/* filter processor: drops whole profiles or single samples by rules on resource
 * attributes, the profile type (sample type and unit, as "type:unit"), sample attributes
 * (pprof labels) or a frame (a function name anywhere in the sample's stack).
 *
 * Each rule names what it looks at (`on`), a `key` for attributes, and one condition:
 * `equals` (text), `regex` (pipeline/core/regex.h) or `exists` (the default for
 * attributes). A sample is kept when `include` is empty or some include rule matches it
 * (profile-level rules match every sample of their profile), and no exclude rule matches
 * it. A profile left without samples is dropped; rules on resource attributes and the
 * profile type alone decide whole profiles without looking at samples. The dictionary is
 * compacted after anything was dropped. Dropped profiles and samples are counted
 * (profgate_filter_dropped_{profiles,samples}_total{processor, reason="include|exclude"})
 * and logged once per rule list the first time it drops something. */
#ifndef PG_FILTER_PROCESSOR_H
#define PG_FILTER_PROCESSOR_H

#include <stdbool.h>

#include "pipeline/component.h"

enum {
    PG_FILTER_ON_RESOURCE_ATTRIBUTE,
    PG_FILTER_ON_SAMPLE_ATTRIBUTE,
    PG_FILTER_ON_PROFILE_TYPE,
    PG_FILTER_ON_FRAME,
};

typedef struct pg_filter_rule_config {
    int on; /* PG_FILTER_ON_* */
    char *key;
    char *equals;
    char *regex;
    bool exists;
} pg_filter_rule_config;

typedef struct pg_filter_config {
    pg_cfg_seclist include; /* of pg_filter_rule_config */
    pg_cfg_seclist exclude;
} pg_filter_config;

extern const pg_component_factory pg_filter_processor_factory;

#endif
