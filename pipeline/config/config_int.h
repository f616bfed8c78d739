/* Config internals shared by the config_*.c files (and the config unit tests): the YAML node
 * tree with positions, diagnostics, env expansion, merge, table decoding. Not for
 * components: they see pipeline/config/config.h only. */
#ifndef PG_CONFIG_INT_H
#define PG_CONFIG_INT_H

#include "pipeline/config/config.h"
#include "pipeline/core/arena.h"

#include <stdarg.h>

#define PG_CFG_MAX_FILE (16u << 20) /* bytes of one config file */
#define PG_CFG_MAX_DEPTH 64         /* nesting of mappings and lists */
#define PG_CFG_MAX_NODES 1000000    /* nodes after alias expansion */

/* ---- YAML node tree (config_doc.c) ----------------------------------------------------- */

typedef enum { PG_CFG_NODE_SCALAR, PG_CFG_NODE_MAP, PG_CFG_NODE_SEQ } pg_cfg_node_kind;

typedef struct pg_cfg_node pg_cfg_node;

typedef struct pg_cfg_pair {
    pg_cfg_node *key; /* always a scalar */
    pg_cfg_node *value;
} pg_cfg_pair;

/* A node, arena-owned. Nodes may be shared (aliases, merge): never free one, and mutate only
 * scalars' text during env expansion (guarded by `expanded`). */
struct pg_cfg_node {
    pg_cfg_node_kind kind;
    pg_cfg_pos pos;
    bool null;     /* plain "", "~", "null" */
    bool quoted;   /* scalar was quoted or a block scalar */
    bool expanded; /* env expansion done */
    bool bad;      /* an error was reported for this value already: decode skips it */
    char *str;     /* scalar text, NUL-terminated */
    size_t len;
    pg_cfg_node **items; /* SEQ */
    pg_cfg_pair *pairs;  /* MAP, in document order */
    size_t n, cap;
    size_t weight; /* nodes in this subtree, aliases counted in full */
};

/* Parses one YAML document of `len` bytes. `file` must outlive the tree (positions point at
 * it). Nodes are owned by `a`. An empty stream gives a null scalar at 1:1. Syntax errors
 * (fatal) and duplicate keys (reported, the later pair dropped) go to d. Returns 0 with
 * *root set, PG_EINVAL after a fatal error, PG_ENOMEM. */
int pg_cfg_doc_parse(pg_arena *a, const char *file, const char *text, size_t len, pg_cfg_diags *d,
                     pg_cfg_node **root);

/* Returns a new scalar node owned by a, or NULL. */
pg_cfg_node *pg_cfg_node_scalar(pg_arena *a, const pg_cfg_pos *pos, const char *s, size_t n);

/* Returns the pair of map whose key is `key`, or NULL. Borrows map. */
pg_cfg_pair *pg_cfg_map_find(const pg_cfg_node *map, const char *key);

/* True for NULL or a null scalar. */
bool pg_cfg_node_is_null(const pg_cfg_node *n);

/* Writes "a mapping", "a list", "null" or the quoted (shortened) scalar text into buf. */
void pg_cfg_node_describe(const pg_cfg_node *n, char *buf, size_t len);

/* ---- Diagnostics (config_diag.c) ------------------------------------------------------- */

/* Appends a diagnostic at pos (may be NULL). Out of memory is remembered (see _oom). */
void pg_cfg_diag_add(pg_cfg_diags *d, pg_cfg_severity s, const pg_cfg_pos *pos, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));
void pg_cfg_diag_vadd(pg_cfg_diags *d, pg_cfg_severity s, const pg_cfg_pos *pos, const char *fmt,
                      va_list ap);

/* Registers a file name so that sorting puts its diagnostics in load order. */
void pg_cfg_diags_add_file(pg_cfg_diags *d, const char *file);

/* Sorts errors and warnings by file order, line, column (stable). */
void pg_cfg_diags_sort(pg_cfg_diags *d);

/* True when a diagnostic could not be recorded for lack of memory. */
bool pg_cfg_diags_oom(const pg_cfg_diags *d);

/* Returns the candidate closest to `word` (edit distance <= 2 and less than its length), or
 * NULL. Borrows everything. */
const char *pg_cfg_suggest(const char *word, const char *const *cands, size_t n);

/* Appends ", "-joined candidates to buf (NUL-terminated, truncated with "..."). */
void pg_cfg_join(char *buf, size_t len, const char *const *cands, size_t n);

/* ---- Env expansion (config_env.c) and merge (config_merge.c) --------------------------- */

/* Expands ${...} and $$ in every scalar value (not keys) under root, in place. Errors and
 * unset-variable warnings go to d. Returns 0 or PG_ENOMEM. */
int pg_cfg_env_expand(pg_arena *a, pg_cfg_node *root, pg_cfg_diags *d);

/* Returns src merged over dst (either may be NULL): new map nodes where both are maps,
 * shared subtrees elsewhere; the inputs are not modified. NULL when out of memory (or when
 * both are NULL). */
pg_cfg_node *pg_cfg_merge(pg_arena *a, pg_cfg_node *dst, pg_cfg_node *src);

/* ---- Scalars (config_value.c) ---------------------------------------------------------- */

int pg_cfg_parse_bool(const char *s, bool *v);
int pg_cfg_parse_int(const char *s, int64_t *v, char *err, size_t errlen);
int pg_cfg_parse_double(const char *s, double *v, char *err, size_t errlen);

/* ---- Table decoding (config_decode.c) -------------------------------------------------- */

/* The item size of a SECTION_LIST's table: the `offset` of its {0}-keyed terminator. */
static inline size_t pg_cfg_item_size(const pg_cfg_field *table)
{
    const pg_cfg_field *f = table;
    while (f->key)
        f++;
    return f->offset;
}

/* A decoded ENDPOINT field, remembered for the port-conflict check. */
typedef struct pg_cfg_epref {
    const pg_cfg_endpoint *ep;
    pg_cfg_pos pos;    /* of the value, or of the component for a default */
    const char *what;  /* "receiver otlp/a" */
    const char *path;  /* "protocols.grpc.endpoint" */
    const void *owner; /* dctx owner when decoded (a pg_cfg_component, or NULL) */
    bool defaulted;
} pg_cfg_epref;

typedef struct pg_cfg_dctx {
    pg_arena *out; /* owns decoded strings and arrays */
    pg_arena *tmp; /* scratch: parsed defaults, endpoint refs */
    pg_cfg_diags *diags;
    const char *what; /* message prefix, e.g. "receiver otlp/a" */
    int errors;       /* errors reported through this context */
    bool oom;
    pg_cfg_epref *eps; /* in tmp; only when collect_eps */
    size_t neps, capeps;
    bool collect_eps;
    bool in_default;   /* decoding a default (set by the decoder) */
    const void *owner; /* copied into endpoint refs */
    /* COMPONENT fields: where nested types are looked up (NULL: such fields are errors)
     * and the kind they have (the kind of the component being decoded) */
    const pg_cfg_registry *reg;
    pg_cfg_kind kind;
} pg_cfg_dctx;

/* Fills `out` (already zeroed) from the table's defaults, then from `map` (NULL or null:
 * defaults only). `owner` is where "missing required key" errors point. Keys in skip_keys
 * (NULL-terminated, may be NULL) are left to the caller but count as known. Errors go to
 * c->diags as "<what>: <path>: message". Returns 0 or PG_ENOMEM. */
int pg_cfg_decode(pg_cfg_dctx *c, const pg_cfg_field *table, const pg_cfg_node *map,
                  const pg_cfg_pos *owner, void *out, const char *const *skip_keys);

/* Fills `out` from the table's defaults only (no required-key checks); errors in a default
 * are reported as table bugs. Returns 0 or PG_ENOMEM. */
int pg_cfg_apply_defaults(pg_cfg_dctx *c, const pg_cfg_field *table, void *out,
                          const pg_cfg_pos *owner);

/* Reports an error "<what>: <path>: message" at pos through c. */
void pg_cfg_dctx_error(pg_cfg_dctx *c, const pg_cfg_pos *pos, const char *path, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));

/* ---- The loaded config (config_load.c, config_validate.c) ------------------------------ */

struct pg_config {
    pg_arena *arena; /* owns everything below */
    pg_cfg_component *components;
    size_t ncomponents;
    pg_cfg_pipeline *pipelines;
    size_t npipelines;
    pg_cfg_service service;
};

/* Validates the merged document `root` (NULL when every file was empty; `start` is where
 * "empty" is reported) into cfg: components, service, pipelines, unused components, shared
 * ports. `tmp` is scratch. Returns 0 (errors are in d) or PG_ENOMEM. */
int pg_cfg_validate_document(pg_config *cfg, pg_arena *tmp, const pg_cfg_node *root,
                             const pg_cfg_pos *start, const pg_cfg_registry *reg, pg_cfg_diags *d);

/* service (config_service.c): telemetry, shutdown_timeout and extensions into cfg->service
 * (the components must be decoded already), through c. Returns 0 or PG_ENOMEM. */
int pg_cfg_validate_service(pg_config *cfg, pg_cfg_dctx *c, const pg_cfg_pair *service);

/* service.pipelines into cfg->pipelines, marking components used. `at` is where a missing
 * pipelines section is reported. Returns 0 or PG_ENOMEM. */
int pg_cfg_validate_pipelines(pg_config *cfg, const pg_cfg_pair *service, const pg_cfg_pos *at,
                              pg_cfg_diags *d);

/* Writes "unknown <kind> type ..." into buf, listing the known types and the nearest one. */
void pg_cfg_unknown_type_msg(char *buf, size_t len, const pg_cfg_registry *reg, pg_cfg_kind kind,
                             const char *type);

/* The component of kind with id among cfg->components, or NULL. */
pg_cfg_component *pg_cfg_find_component(pg_config *cfg, pg_cfg_kind kind, const char *id);

#endif
