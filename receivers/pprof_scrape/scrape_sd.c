/* pprof_scrape file_sd: Prometheus's file-based discovery. Each file (JSON or YAML: JSON
 * is read as YAML, which it is) holds a list of groups `{targets: [host:port, ...],
 * labels: {k: v}}`. The globs are re-expanded and the files' names, sizes and mtimes
 * compared every refresh_interval; on a change every file is read again and the file
 * targets are synced (unchanged targets keep their state). A file that cannot be read or
 * parsed keeps the previous target set (counted, logged once per change). */
#include "receivers/pprof_scrape/pprof_scrape_int.h"

#include "pipeline/core/err.h"
#include "pipeline/core/hash.h"
#include "pipeline/telemetry/log.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#define MAX_SD_FILE (16u << 20)

/* See pprof_scrape_int.h. */
void pg_scrape_sd_free_list(pg_scrape_target_cfg *l, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(l[i].endpoint);
        for (size_t k = 0; k < l[i].labels.n; k++) {
            free(l[i].labels.keys[k]);
            free(l[i].labels.values[k]);
        }
        free(l[i].labels.keys);
        free(l[i].labels.values);
    }
    free(l);
}

/* Scalar text of node n of doc, or NULL when not a scalar. */
static const char *scalar(yaml_document_t *doc, int n)
{
    yaml_node_t *x = yaml_document_get_node(doc, n);
    return x && x->type == YAML_SCALAR_NODE ? (const char *)x->data.scalar.value : NULL;
}

/* Appends one target (endpoint ep, labels of the group's mapping node lab, may be 0). */
static int add_target(yaml_document_t *doc, const char *ep, int lab, pg_scrape_target_cfg **out,
                      size_t *n)
{
    pg_scrape_target_cfg *l = realloc(*out, (*n + 1) * sizeof *l);
    if (!l) return PG_ENOMEM;
    *out = l;
    pg_scrape_target_cfg *t = &l[*n];
    memset(t, 0, sizeof *t);
    (*n)++;
    if (!(t->endpoint = strdup(ep))) return PG_ENOMEM;
    yaml_node_t *m = lab ? yaml_document_get_node(doc, lab) : NULL;
    if (!m || m->type != YAML_MAPPING_NODE) return 0;
    size_t cnt = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
    t->labels.keys = calloc(cnt + 1, sizeof(char *));
    t->labels.values = calloc(cnt + 1, sizeof(char *));
    if (!t->labels.keys || !t->labels.values) return PG_ENOMEM;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const char *k = scalar(doc, p->key), *v = scalar(doc, p->value);
        if (!k || !v) continue;
        t->labels.keys[t->labels.n] = strdup(k);
        t->labels.values[t->labels.n] = strdup(v);
        if (!t->labels.keys[t->labels.n] || !t->labels.values[t->labels.n++]) return PG_ENOMEM;
    }
    return 0;
}

/* Walks the document: a list of groups. */
static int walk(yaml_document_t *doc, pg_scrape_target_cfg **out, size_t *n, char *err,
                size_t errlen)
{
    yaml_node_t *root = yaml_document_get_root_node(doc);
    if (!root || (root->type == YAML_SCALAR_NODE && !root->data.scalar.length)) return 0;
    if (root->type != YAML_SEQUENCE_NODE)
        return pg_err(err, errlen, PG_EINVAL, "expected a list of target groups");
    for (yaml_node_item_t *g = root->data.sequence.items.start; g < root->data.sequence.items.top;
         g++) {
        yaml_node_t *grp = yaml_document_get_node(doc, *g);
        if (!grp || grp->type != YAML_MAPPING_NODE)
            return pg_err(err, errlen, PG_EINVAL, "a target group must be a mapping");
        int targets = 0, labels = 0;
        for (yaml_node_pair_t *p = grp->data.mapping.pairs.start; p < grp->data.mapping.pairs.top;
             p++) {
            const char *k = scalar(doc, p->key);
            if (k && !strcmp(k, "targets"))
                targets = p->value;
            else if (k && !strcmp(k, "labels"))
                labels = p->value;
            else
                return pg_err(err, errlen, PG_EINVAL, "unknown key \"%s\" in a target group",
                              k ? k : "?");
        }
        yaml_node_t *tl = targets ? yaml_document_get_node(doc, targets) : NULL;
        if (!tl || tl->type != YAML_SEQUENCE_NODE)
            return pg_err(err, errlen, PG_EINVAL, "a target group needs a targets list");
        for (yaml_node_item_t *t = tl->data.sequence.items.start; t < tl->data.sequence.items.top;
             t++) {
            const char *ep = scalar(doc, *t);
            if (!ep || !*ep) return pg_err(err, errlen, PG_EINVAL, "a target must be host:port");
            if (add_target(doc, ep, labels, out, n))
                return pg_err(err, errlen, PG_ENOMEM, "out of memory");
        }
    }
    return 0;
}

/* See pprof_scrape_int.h. */
int pg_scrape_sd_parse(const char *path, pg_scrape_target_cfg **out, size_t *n, char *err,
                       size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) return pg_err(err, errlen, PG_EIO, "%s: cannot open", path);
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && st.st_size > (off_t)MAX_SD_FILE) {
        fclose(f);
        return pg_err(err, errlen, PG_ELIMIT, "%s: larger than 16 MiB", path);
    }
    yaml_parser_t p;
    yaml_document_t doc;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_file(&p, f);
    int rc;
    if (!yaml_parser_load(&p, &doc)) {
        rc = pg_err(err, errlen, PG_EINVAL, "%s:%zu:%zu: %s", path, p.problem_mark.line + 1,
                    p.problem_mark.column + 1, p.problem ? p.problem : "syntax error");
    } else {
        rc = walk(&doc, out, n, err, errlen);
        if (rc) pg_err_prefix(err, errlen, path);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&p);
    fclose(f);
    return rc;
}

/* The files the globs match now and a signature of their names, sizes and mtimes. */
static uint64_t expand(scrape_rx *rx, glob_t *g)
{
    memset(g, 0, sizeof *g);
    for (size_t i = 0; i < rx->n_globs; i++)
        glob(rx->sd_globs[i], i ? GLOB_APPEND : 0, NULL, g);
    uint64_t h = 0x9d;
    for (size_t i = 0; i < g->gl_pathc; i++) {
        struct stat st;
        h = pg_hash_mix(h, pg_hash_bytes(g->gl_pathv[i], strlen(g->gl_pathv[i]), 1));
        if (stat(g->gl_pathv[i], &st) == 0) {
            h = pg_hash_mix(h, (uint64_t)st.st_size);
            h = pg_hash_mix(h, (uint64_t)st.st_mtim.tv_sec * 1000000000u +
                                   (uint64_t)st.st_mtim.tv_nsec);
            h = pg_hash_mix(h, (uint64_t)st.st_ino);
        }
    }
    return h;
}

/* See pprof_scrape_int.h. */
void pg_scrape_sd_refresh(scrape_rx *rx, bool force)
{
    if (!rx->n_globs) return;
    glob_t g;
    uint64_t sig = expand(rx, &g);
    if (!force && sig == rx->sd_sig) {
        globfree(&g);
        return;
    }
    pg_scrape_target_cfg *list = NULL;
    size_t n = 0;
    char err[512] = "";
    int rc = 0;
    for (size_t i = 0; !rc && i < g.gl_pathc; i++)
        rc = pg_scrape_sd_parse(g.gl_pathv[i], &list, &n, err, sizeof err);
    globfree(&g);
    if (!rc) rc = pg_scrape_targets_sync(rx, list, n, true);
    pg_scrape_sd_free_list(list, n);
    rx->sd_sig = sig; /* a bad file is reported once, until it changes again */
    if (rc) {
        pg_counter_add(rx->sd_errors, 1);
        pg_log(PG_LOG_WARN, rx->id, "file_sd: keeping the previous targets: %s", err);
        return;
    }
    pg_counter_add(rx->sd_reloads, 1);
    pg_scrape_targets_arm(rx);
}
