/* Internals of the resource processor shared by its files. */
#ifndef PG_RESOURCE_INT_H
#define PG_RESOURCE_INT_H

#include <stddef.h>

#include "pipeline/core/batch.h"
#include "pipeline/core/regex.h"
#include "processors/resource/resource_processor.h"

/* One compiled action (strings malloc'd). */
typedef struct ra_action {
    int action, converted_type;
    char *key, *value, *from, *new_key;
    pg_regex *re;
} ra_action;

typedef struct ra_move {
    char *key, *to;
} ra_move;

/* A detected resource attribute (malloc'd). */
typedef struct ra_kv {
    char *key, *value;
} ra_kv;

typedef struct ra_plan {
    ra_action *res, *smp;
    size_t nres, nsmp;
    ra_move *promote, *demote;
    size_t npromote, ndemote;
    ra_kv *detected;
    size_t ndetected;
    int override;
} ra_plan;

/* Builds the plan from cfg (borrowed); runs the detectors. 0 or a status. */
int ra_plan_build(ra_plan *p, const pg_resource_config *cfg, char *err, size_t errlen);
void ra_plan_free(ra_plan *p);

/* Detectors (resource_detect.c): appends the attributes of detector `name` to p. */
int ra_detect(ra_plan *p, const char *name, char *err, size_t errlen);

/* Steps on a batch held alone (resource_actions.c, resource_promote.c). */
int ra_apply_detected(const ra_plan *p, pg_batch *b);
int ra_apply_resource_actions(const ra_plan *p, pg_batch *b);
int ra_apply_sample_actions(const ra_plan *p, pg_batch *b, char *err, size_t errlen);
int ra_promote(const ra_plan *p, pg_batch *b);
int ra_demote(const ra_plan *p, pg_batch *b);

/* 1 when a resource attribute of b refers to the string table (key or value). */
int ra_resource_refs(const pg_batch *b);

/* Writes the SHA-256 of s as 64 hex digits + NUL into out. */
void ra_hash_hex(const char *s, char out[65]);

/* Converts v (text t) into out per type; returns 1 when it parsed, else 0. */
int ra_convert(const char *t, int type, pg_otlp_any *out);

#endif
