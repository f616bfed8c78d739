/* resource processor: sets the resource attributes profiles are attributed by
 * (service.name, service.version, deployment.environment.name, cloud.region, ...) and
 * edits per-sample attributes (pprof labels).
 *
 * Order of work on each batch, every step optional:
 *   1. detectors (evaluated once at start): env (OTEL_RESOURCE_ATTRIBUTES,
 *      OTEL_SERVICE_NAME) and system (host.name, os.type, host.arch), inserted into every
 *      resource (upserted with override: true);
 *   2. promote: a sample attribute whose value is the same on every sample of a profile
 *      moves to the resource (under `to`, default its own key); profiles of one resource
 *      that promote different values are split into resources of their own;
 *   3. attributes: actions on resource attributes;
 *   4. sample_attributes: the same actions on every sample's attributes;
 *   5. demote: resource attributes copied onto every sample (under `to`) and removed from
 *      the resource (for pprof-bound exports, which have no resource).
 * Actions (Collector-shaped): insert (only when absent), update (only when present), upsert,
 * delete, hash (SHA-256 hex of the value's text), extract (named groups of `pattern`
 * upserted as attributes), rename (to `new_key`), convert (to `converted_type`: string,
 * int, double, bool; values that do not parse stay). Values: `value` (a literal;
 * `${env:VAR}` is expanded by the config loader) or `from_attribute` (another attribute
 * of the same resource / sample). Keys given as key_strindex references are read and
 * written. The dictionary is compacted after sample attributes changed. */
#ifndef PG_RESOURCE_PROCESSOR_H
#define PG_RESOURCE_PROCESSOR_H

#include <stdbool.h>

#include "pipeline/component.h"

enum {
    PG_RES_INSERT,
    PG_RES_UPDATE,
    PG_RES_UPSERT,
    PG_RES_DELETE,
    PG_RES_HASH,
    PG_RES_EXTRACT,
    PG_RES_RENAME,
    PG_RES_CONVERT,
};

enum { PG_RES_TO_STRING, PG_RES_TO_INT, PG_RES_TO_DOUBLE, PG_RES_TO_BOOL };

typedef struct pg_resource_action_config {
    char *key;
    int action; /* PG_RES_* */
    char *value;
    char *from_attribute;
    char *pattern; /* extract */
    char *new_key; /* rename */
    int converted_type;
} pg_resource_action_config;

typedef struct pg_resource_move_config {
    char *key;
    char *to; /* NULL: the same key */
} pg_resource_move_config;

typedef struct pg_resource_config {
    pg_cfg_strlist detectors; /* env, system */
    bool override;
    pg_cfg_seclist attributes;        /* of pg_resource_action_config */
    pg_cfg_seclist sample_attributes; /* of pg_resource_action_config */
    pg_cfg_seclist promote;           /* of pg_resource_move_config */
    pg_cfg_seclist demote;            /* of pg_resource_move_config */
} pg_resource_config;

extern const pg_component_factory pg_resource_processor_factory;

#endif
