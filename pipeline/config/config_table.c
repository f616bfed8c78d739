/* Checking a component's config table for programming errors: structure (keys, types,
 * enum values, sections, bounds) and every default decoded like input, within its bounds. */
#include "pipeline/config/config_int.h"
#include "pipeline/core/err.h"

#include <stdlib.h>
#include <string.h>

/* Bytes a table's fields reach into their struct. */
static size_t table_extent(const pg_cfg_field *table)
{
    size_t ext = 0;
    for (const pg_cfg_field *f = table; f->key; f++) {
        size_t sz;
        switch (f->type) {
        case PG_CFG_BOOL:
        case PG_CFG_PRESENT:
            sz = sizeof(bool);
            break;
        case PG_CFG_INT:
        case PG_CFG_DURATION:
            sz = sizeof(int64_t);
            break;
        case PG_CFG_DOUBLE:
            sz = sizeof(double);
            break;
        case PG_CFG_SIZE:
            sz = sizeof(uint64_t);
            break;
        case PG_CFG_STRING:
            sz = sizeof(char *);
            break;
        case PG_CFG_ENUM:
            sz = sizeof(int);
            break;
        case PG_CFG_STRING_LIST:
            sz = sizeof(pg_cfg_strlist);
            break;
        case PG_CFG_STRING_MAP:
            sz = sizeof(pg_cfg_strmap);
            break;
        case PG_CFG_ENDPOINT:
            sz = sizeof(pg_cfg_endpoint);
            break;
        case PG_CFG_SECTION:
            sz = f->section ? table_extent(f->section) : 0;
            break;
        case PG_CFG_SECTION_LIST:
            sz = sizeof(pg_cfg_seclist);
            break;
        case PG_CFG_REGEX:
            sz = sizeof(char *);
            break;
        case PG_CFG_COMPONENT:
            sz = sizeof(pg_cfg_component_ref);
            break;
        default:
            sz = 0;
        }
        if (f->offset + sz > ext) ext = f->offset + sz;
    }
    return ext;
}

/* Parses a field's bound text as a double for ordering (exact enough for a table check). */
static int bound_value(const pg_cfg_field *f, const char *text, double *v)
{
    int64_t i;
    uint64_t u;
    int rc;
    if (f->type == PG_CFG_INT)
        rc = pg_cfg_parse_int(text, &i, NULL, 0), *v = (double)i;
    else if (f->type == PG_CFG_DURATION)
        rc = pg_cfg_parse_duration(text, &i, NULL, 0), *v = (double)i;
    else if (f->type == PG_CFG_SIZE)
        rc = pg_cfg_parse_size(text, &u, NULL, 0), *v = (double)u;
    else
        rc = pg_cfg_parse_double(text, v, NULL, 0);
    return rc;
}

/* Structural checks of one table level (recursing into sections). */
static int check_structure(const pg_cfg_field *table, char *err, size_t errlen)
{
    for (const pg_cfg_field *f = table; f->key; f++) {
        for (const pg_cfg_field *g = table; g != f; g++)
            if (!strcmp(g->key, f->key))
                return pg_err(err, errlen, PG_EINVAL, "%s: duplicate key in table", f->key);
        if ((unsigned)f->type > PG_CFG_COMPONENT)
            return pg_err(err, errlen, PG_EINVAL, "%s: invalid type", f->key);
        if (f->type == PG_CFG_PRESENT && (f->def || f->required))
            return pg_err(err, errlen, PG_EINVAL, "%s: PRESENT takes no default", f->key);
        if (f->type == PG_CFG_ENUM && (!f->enum_values || !f->enum_values[0]))
            return pg_err(err, errlen, PG_EINVAL, "%s: ENUM without values", f->key);
        if (f->required && f->def)
            return pg_err(err, errlen, PG_EINVAL, "%s: required key with a default", f->key);
        bool bounded = f->type == PG_CFG_INT || f->type == PG_CFG_DOUBLE ||
                       f->type == PG_CFG_DURATION || f->type == PG_CFG_SIZE;
        if (!bounded && (f->min || f->max))
            return pg_err(err, errlen, PG_EINVAL, "%s: bounds on a type without bounds", f->key);
        double lo = 0, hi = 0;
        if ((f->min && bound_value(f, f->min, &lo)) || (f->max && bound_value(f, f->max, &hi)))
            return pg_err(err, errlen, PG_EINVAL, "%s: bad bound text", f->key);
        if (f->min && f->max && lo > hi)
            return pg_err(err, errlen, PG_EINVAL, "%s: min is above max", f->key);
        if (f->type == PG_CFG_COMPONENT && (f->def || f->section))
            return pg_err(err, errlen, PG_EINVAL, "%s: COMPONENT takes no default and no table",
                          f->key);
        if (f->type == PG_CFG_SECTION_LIST) {
            if (!f->section || f->def || !pg_cfg_item_size(f->section) || f->required)
                return pg_err(err, errlen, PG_EINVAL,
                              "%s: SECTION_LIST needs a table, an item size, no default and is "
                              "never required",
                              f->key);
            int rc = check_structure(f->section, err, errlen);
            if (rc) {
                pg_err_prefix(err, errlen, f->key);
                return rc;
            }
        }
        if (f->type == PG_CFG_SECTION) {
            if (!f->section || f->def)
                return pg_err(err, errlen, PG_EINVAL, "%s: SECTION needs a table and no default",
                              f->key);
            int rc = check_structure(f->section, err, errlen);
            if (rc) {
                pg_err_prefix(err, errlen, f->key);
                return rc;
            }
        }
    }
    return 0;
}

/* See config.h: structure first, then every default decoded (bounds included). */
int pg_cfg_table_check(const pg_cfg_field *table, char *err, size_t errlen)
{
    int rc = check_structure(table, err, errlen);
    if (rc) return rc;
    pg_arena *out = pg_arena_new(0), *tmp = pg_arena_new(0);
    pg_cfg_diags *d = pg_cfg_diags_new();
    void *buf = calloc(1, table_extent(table) + 16);
    rc = PG_ENOMEM;
    if (out && tmp && d && buf) {
        pg_cfg_dctx c = {.out = out, .tmp = tmp, .diags = d, .what = "table"};
        pg_cfg_pos owner = {"<table>", 0, 0};
        rc = pg_cfg_apply_defaults(&c, table, buf, &owner);
        if (!rc && pg_cfg_diags_count(d, PG_CFG_ERROR)) {
            rc =
                pg_err(err, errlen, PG_EINVAL, "%s", pg_cfg_diags_get(d, PG_CFG_ERROR, 0)->message);
        }
    }
    if (rc == PG_ENOMEM) pg_err(err, errlen, rc, "out of memory");
    free(buf);
    pg_cfg_diags_free(d);
    pg_arena_free(out);
    pg_arena_free(tmp);
    return rc;
}
