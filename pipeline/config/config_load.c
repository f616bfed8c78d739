/* Loading: read each source, parse it into a node tree (scratch arena), expand ${env:...},
 * merge the trees in order, validate the merged document into a pg_config (its own arena),
 * sort the diagnostics. Also the pg_config accessors. */
#include "pipeline/config/config_int.h"
#include "pipeline/core/err.h"
#include "pipeline/core/vec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Reads a whole file (capped) into a malloc'd buffer the caller owns. Returns 0, or
 * PG_EIO / PG_ELIMIT / PG_ENOMEM with a message in err. */
static int read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) return pg_err(err, errlen, PG_EIO, "cannot open config file: %s", strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    int rc = buf ? 0 : pg_err(err, errlen, PG_ENOMEM, "out of memory");
    while (!rc) {
        if (n == cap) {
            if (cap >= PG_CFG_MAX_FILE) {
                rc = pg_err(err, errlen, PG_ELIMIT, "config file is larger than %u MiB",
                            PG_CFG_MAX_FILE >> 20);
                break;
            }
            if (PG_VEC_RESERVE(buf, cap, cap + 1, 0)) {
                rc = pg_err(err, errlen, PG_ENOMEM, "out of memory");
                break;
            }
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f))
                rc = pg_err(err, errlen, PG_EIO, "cannot read config file: %s", strerror(errno));
            break;
        }
    }
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    *text = buf;
    *len = n;
    return 0;
}

/* Parses one source into *root (NULL for an empty document); reports problems to d.
 * Returns 0, PG_EINVAL (reported) or PG_ENOMEM. */
static int load_one(pg_arena *tmp, const char *name, const pg_cfg_source *src, pg_cfg_diags *d,
                    pg_cfg_node **root)
{
    char *owned = NULL, err[256];
    const char *text = src->text;
    size_t len = src->len;
    *root = NULL;
    if (!text) {
        int rc = read_file(src->name, &owned, &len, err, sizeof err);
        if (rc == PG_ENOMEM) return rc;
        if (rc) {
            pg_cfg_pos pos = {name, 0, 0};
            pg_cfg_diag_add(d, PG_CFG_ERROR, &pos, "%s", err);
            return PG_EINVAL;
        }
        text = owned;
    }
    pg_cfg_node *n = NULL;
    int rc = pg_cfg_doc_parse(tmp, name, text, len, d, &n);
    free(owned);
    if (rc) return rc;
    if (pg_cfg_node_is_null(n)) return 0;
    if (n->kind != PG_CFG_NODE_MAP) {
        char got[64];
        pg_cfg_node_describe(n, got, sizeof got);
        pg_cfg_diag_add(d, PG_CFG_ERROR, &n->pos, "the top level must be a mapping, got %s", got);
        return PG_EINVAL;
    }
    rc = pg_cfg_env_expand(tmp, n, d);
    if (!rc) *root = n;
    return rc;
}

/* See config.h. */
int pg_config_load(const pg_cfg_source *srcs, size_t n, const pg_cfg_registry *reg, pg_config **out,
                   pg_cfg_diags *d)
{
    *out = NULL;
    if (!d || !reg || !reg->lookup) return PG_EINVAL;
    size_t errors_before = pg_cfg_diags_count(d, PG_CFG_ERROR);
    pg_config *cfg = calloc(1, sizeof *cfg);
    pg_arena *tmp = pg_arena_new(0);
    int rc = PG_ENOMEM;
    if (!cfg || !tmp || !(cfg->arena = pg_arena_new(0))) goto done;
    if (n == 0) {
        pg_cfg_diag_add(d, PG_CFG_ERROR, NULL, "no config file given");
        rc = 0;
        goto done;
    }
    pg_cfg_node *merged = NULL;
    pg_cfg_pos start = {NULL, 1, 1};
    bool failed = false;
    for (size_t i = 0; i < n; i++) {
        const char *nm = srcs[i].name ? srcs[i].name : "<config>";
        char *name = pg_arena_strndup(cfg->arena, nm, strlen(nm));
        if (!name) goto done;
        if (!start.file) start.file = name;
        pg_cfg_diags_add_file(d, name);
        pg_cfg_node *root;
        rc = load_one(tmp, name, &srcs[i], d, &root);
        if (rc == PG_ENOMEM) goto done;
        if (rc) {
            failed = true;
            continue;
        }
        if (root && !(merged = pg_cfg_merge(tmp, merged, root))) {
            rc = PG_ENOMEM;
            goto done;
        }
    }
    rc = failed ? 0 : pg_cfg_validate_document(cfg, tmp, merged, &start, reg, d);
done:
    if (!rc && pg_cfg_diags_oom(d)) rc = PG_ENOMEM;
    if (!rc && pg_cfg_diags_count(d, PG_CFG_ERROR) > errors_before) rc = PG_EINVAL;
    if (rc == PG_ENOMEM) pg_cfg_diag_add(d, PG_CFG_ERROR, NULL, "out of memory");
    pg_cfg_diags_sort(d);
    pg_arena_free(tmp);
    if (rc)
        pg_config_free(cfg);
    else
        *out = cfg;
    return rc;
}

/* See config.h. */
int pg_config_load_files(const char *const *paths, size_t n, const pg_cfg_registry *reg,
                         pg_config **out, pg_cfg_diags *d)
{
    pg_cfg_source stack[8] = {{0}}, *srcs = n <= 8 ? stack : calloc(n, sizeof *srcs);
    *out = NULL;
    if (!srcs) return PG_ENOMEM;
    for (size_t i = 0; i < n; i++)
        srcs[i] = (pg_cfg_source){paths[i], NULL, 0};
    int rc = pg_config_load(srcs, n, reg, out, d);
    if (srcs != stack) free(srcs);
    return rc;
}

/* Frees the arena (every struct and string) and the config. */
void pg_config_free(pg_config *cfg)
{
    if (!cfg) return;
    pg_arena_free(cfg->arena);
    free(cfg);
}

size_t pg_config_component_count(const pg_config *cfg)
{
    return cfg->ncomponents;
}

const pg_cfg_component *pg_config_component_at(const pg_config *cfg, size_t i)
{
    return i < cfg->ncomponents ? &cfg->components[i] : NULL;
}

const pg_cfg_component *pg_config_find(const pg_config *cfg, pg_cfg_kind kind, const char *id)
{
    return pg_cfg_find_component((pg_config *)cfg, kind, id);
}

size_t pg_config_pipeline_count(const pg_config *cfg)
{
    return cfg->npipelines;
}

const pg_cfg_pipeline *pg_config_pipeline_at(const pg_config *cfg, size_t i)
{
    return i < cfg->npipelines ? &cfg->pipelines[i] : NULL;
}

const pg_cfg_service *pg_config_service(const pg_config *cfg)
{
    return &cfg->service;
}
