/* Config: Collector-shaped YAML (receivers/processors/exporters/extensions/service) read with
 * libyaml, `${env:VAR}` expansion, several files merged, each component's section decoded
 * against the component's static config table, and every error reported at once as
 * `file:line:column: message`.
 *
 * Typical use (the CLI's `validate`):
 *
 *     pg_cfg_diags *d = pg_cfg_diags_new();
 *     pg_config *cfg = NULL;
 *     int rc = pg_config_load_files(paths, npaths, &registry, &cfg, d);
 *     pg_cfg_diags_write(d, PG_CFG_WARNING, stderr);
 *     pg_cfg_diags_write(d, PG_CFG_ERROR, stderr);   // rc != 0: exit 2
 *     ... pg_config_free(cfg); pg_cfg_diags_free(d);
 *
 * Semantics (details in the .c files):
 * - YAML: one document per file; anchors and aliases are resolved (an alias shares the
 *   anchored node, positions point at the anchor); `<<` merge keys are rejected; duplicate
 *   keys in one mapping are errors. A plain empty scalar, `~` or `null` is null: for a field it
 *   means "keep the default", for a component it means "all defaults".
 * - Env: `${env:VAR}`, `${env:VAR:-default}`, and the legacy `${VAR}` / `${VAR:-default}`
 *   are expanded in scalar values (never in keys), quoted or not; `$$` is a literal `$`.
 *   As in the Collector, the default applies only when VAR is unset (not when it is empty),
 *   and an unset VAR without default expands to the empty string (with a warning). The result
 *   stays a scalar (a list cannot come from one variable).
 *   `${file:...}` and other providers are errors.
 * - Merge: later files merge over earlier ones; mappings merge key by key, recursively;
 *   scalars, lists and nulls replace. Positions keep pointing at the file a value came from
 *   (a key present in both files points at the later one).
 * - Messages: `file:line:column: <kind> <id>: <key.path>: message` for a component's keys
 *   (`receiver otlp/a: protocols.grpc.endpoint: ...`, list items as `include[2]`),
 *   `file:line:column: message` for the rest; warnings read `file:line:column: warning: ...`.
 *   A syntax error in any file stops the load after every file was parsed (all syntax errors
 *   are reported); otherwise every check runs and all errors come back together, sorted.
 * - Ports: ENDPOINT fields of used receivers, of extensions listed in service.extensions and
 *   service.telemetry.metrics.address (unless metrics level is none) are listening addresses;
 *   two of them on one port with overlapping hosts are an error ("", 0.0.0.0 and :: overlap
 *   everything; localhost overlaps 127.0.0.1 and ::1; port 0 never conflicts). Endpoints of
 *   exporters and processors are peers and not checked.
 * - Warnings (not errors): components no pipeline uses, extensions not in
 *   service.extensions, unset environment variables without a default.
 */
#ifndef PG_CONFIG_H
#define PG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct pg_arena pg_arena;

/* ---- Config tables --------------------------------------------------------------------- */

/* Field types and what each stores at `offset`:
 *   BOOL bool · INT int64_t · DOUBLE double · DURATION int64_t nanoseconds (`10s`, `1m30s`,
 *   `250ms`, `500us`, `1h`, `0`) · SIZE uint64_t bytes (`100`, `512KiB`, `4MiB`, `10MB`) ·
 *   STRING char * (NULL when unset) · ENUM int (index into enum_values) · STRING_LIST
 *   pg_cfg_strlist · STRING_MAP pg_cfg_strmap · ENDPOINT pg_cfg_endpoint · SECTION a nested
 *   struct at `offset`, decoded with `section` (its offsets are relative to that struct) ·
 *   PRESENT bool, not a YAML key: set to true when the mapping whose table holds it is given
 *   (`http:`, `http: {}` or with keys), false when it is absent; for optional sections such
 *   as the Collector's `protocols.grpc` / `protocols.http` (PG_CFG_PRESENT_FIELD) ·
 *   SECTION_LIST pg_cfg_seclist: a YAML list of mappings, each decoded with `section` into
 *   one struct per item (defaults applied per item; no `def`); the item table's terminator
 *   gives the item struct's size in `offset`: `{.offset = sizeof(struct item)}` · REGEX char *
 *   (the pattern text), checked at load with pg_regex_compile (pipeline/core/regex.h) so a
 *   bad pattern is reported at its file:line:column ·
 *   COMPONENT pg_cfg_component_ref: another component's config, of the same kind as the
 *   component being decoded, written as a mapping of exactly one key, its type
 *   (`protocol: { otlp: {...} }`), decoded with that type's own table and validate. A
 *   COMPONENT field's `enum_values` (NULL-terminated, may be NULL) names the nested keys its
 *   owner sets itself (the loadbalancing exporter's `endpoint`): they are not required in
 *   the section, and the nested validate sees a placeholder endpoint in them when unset. */
typedef enum {
    PG_CFG_BOOL,
    PG_CFG_INT,
    PG_CFG_DOUBLE,
    PG_CFG_DURATION,
    PG_CFG_SIZE,
    PG_CFG_STRING,
    PG_CFG_ENUM,
    PG_CFG_STRING_LIST,
    PG_CFG_STRING_MAP,
    PG_CFG_ENDPOINT,
    PG_CFG_SECTION,
    PG_CFG_PRESENT,
    PG_CFG_SECTION_LIST,
    PG_CFG_REGEX,
    PG_CFG_COMPONENT,
} pg_cfg_type;

/* One key of a component's config. A table is a static const array ended by {0} (key NULL).
 * `def`, `min` and `max` are YAML text parsed exactly like input (`def = "[a, b]"` for a
 * list); NULL means zero / unbounded. Bounds apply to INT, DOUBLE, DURATION and SIZE; a
 * DURATION without `min` rejects negative values. Scalars are typed by content, not by
 * quoting ("10" and 10 both decode as INT 10, and both as STRING "10"); ENUM names match
 * case-insensitively. `required` keys must be present with a non-null value (a SECTION may
 * be null); the required keys of an absent optional SECTION are not checked. */
typedef struct pg_cfg_field {
    const char *key;
    pg_cfg_type type;
    size_t offset;                      /* offsetof(struct, member) */
    const char *def;                    /* default, or NULL (zero value) */
    const char *min, *max;              /* bounds, or NULL */
    const char *const *enum_values;     /* ENUM: NULL-terminated names */
    const struct pg_cfg_field *section; /* SECTION: nested table */
    bool required;                      /* must be present and not null */
    const char *doc;                    /* one line for humans */
} pg_cfg_field;

/* The PRESENT field of a section table: member m (bool) of struct T. Its key never matches
 * YAML and is not listed among the valid keys. */
#define PG_CFG_PRESENT_FIELD(T, m)                                                                 \
    {                                                                                              \
        .key = "<present>", .type = PG_CFG_PRESENT, .offset = offsetof(T, m),                      \
        .doc = "set when the section is given"                                                     \
    }

typedef struct pg_cfg_strlist {
    char **items;
    size_t n;
} pg_cfg_strlist;

typedef struct pg_cfg_strmap {
    char **keys; /* in document order; keys are unique */
    char **values;
    size_t n;
} pg_cfg_strmap;

/* A decoded SECTION_LIST: n structs of the field's item_size bytes, contiguous. */
typedef struct pg_cfg_seclist {
    void *items;
    size_t n;
} pg_cfg_seclist;

typedef struct pg_cfg_endpoint {
    char *text; /* as written: "host:port", "[::1]:4317", ":8888"; NULL when unset */
    char *host; /* without brackets; "" means every interface */
    uint16_t port;
} pg_cfg_endpoint;

/* A position in a config file; line and column are 1-based (0 = unknown). */
typedef struct pg_cfg_pos {
    const char *file;
    int line, column;
} pg_cfg_pos;

struct pg_cfg_component_desc;

/* A COMPONENT field: the nested component's type, its descriptor (borrowed from the
 * registry) and its decoded config (desc->size bytes). All NULL when the key is absent. */
typedef struct pg_cfg_component_ref {
    const char *type;
    const struct pg_cfg_component_desc *desc;
    void *cfg;
    pg_cfg_pos pos; /* of the type key */
} pg_cfg_component_ref;

/* Checks a table for programming errors (bad default or bound text, default out of bounds,
 * ENUM without values, SECTION without table, duplicate keys, required with a default).
 * Borrows table; writes the first problem to err; returns 0 or PG_EINVAL. Meant for the unit
 * tests of each component. */
int pg_cfg_table_check(const pg_cfg_field *table, char *err, size_t errlen);

/* Scalar parsers used by the decoder, exposed for flags and tests. Each borrows `s`, writes
 * the result on success, and otherwise writes a message to err and returns PG_EINVAL. */
int pg_cfg_parse_duration(const char *s, int64_t *ns, char *err, size_t errlen);
int pg_cfg_parse_size(const char *s, uint64_t *bytes, char *err, size_t errlen);
/* `host` receives a malloc'd copy (brackets removed) owned by the caller. */
int pg_cfg_parse_endpoint(const char *s, char **host, uint16_t *port, char *err, size_t errlen);

/* ---- Copies of decoded configs (config_copy.c) --------------------------------------- */

/* Rewrites one STRING value while copying: returns the new text (allocated from a) or s
 * itself (borrowed) to keep it; NULL when out of memory. */
typedef char *(*pg_cfg_str_fn)(void *ud, pg_arena *a, const char *s);

/* Deep-copies the decoded struct src (size bytes, described by table) into a new struct
 * allocated from a, with every string, list, map, endpoint, section and nested COMPONENT
 * config copied into a too; STRING values go through fn (may be NULL). A component that
 * creates others after its own create returned keeps its nested configs this way. Returns
 * the copy, or NULL when out of memory. */
void *pg_cfg_copy(pg_arena *a, const pg_cfg_field *table, size_t size, const void *src,
                  pg_cfg_str_fn fn, void *ud);

/* The top-level field of table named key, or NULL. */
const pg_cfg_field *pg_cfg_field_find(const pg_cfg_field *table, const char *key);

/* ---- Diagnostics ----------------------------------------------------------------------- */

typedef enum { PG_CFG_ERROR, PG_CFG_WARNING } pg_cfg_severity;

typedef struct pg_cfg_diag {
    pg_cfg_severity severity;
    const char *file;    /* NULL for problems not tied to a file */
    int line, column;    /* 1-based; 0 when unknown */
    const char *message; /* without position */
    const char *text;    /* "file:line:column: message" ("... : warning: message") */
} pg_cfg_diag;

typedef struct pg_cfg_diags pg_cfg_diags;

/* Returns an empty diagnostics list owned by the caller (free with pg_cfg_diags_free), or
 * NULL when out of memory. */
pg_cfg_diags *pg_cfg_diags_new(void);

/* Frees the list and every message. NULL is a no-op. */
void pg_cfg_diags_free(pg_cfg_diags *d);

/* Empties the list so it can be reused for another load. */
void pg_cfg_diags_clear(pg_cfg_diags *d);

/* Number of errors or warnings. */
size_t pg_cfg_diags_count(const pg_cfg_diags *d, pg_cfg_severity s);

/* The i-th error or warning, sorted by file (in load order), line, column; borrowed from d,
 * valid until the next load, clear or free. NULL when i is out of range. */
const pg_cfg_diag *pg_cfg_diags_get(const pg_cfg_diags *d, pg_cfg_severity s, size_t i);

/* Writes the errors or warnings, one `text` per line, to f. Returns how many. */
size_t pg_cfg_diags_write(const pg_cfg_diags *d, pg_cfg_severity s, FILE *f);

/* ---- Registry -------------------------------------------------------------------------- */

typedef enum {
    PG_CFG_RECEIVER,
    PG_CFG_PROCESSOR,
    PG_CFG_EXPORTER,
    PG_CFG_EXTENSION,
} pg_cfg_kind;

/* Singular kind name: "receiver", "processor", "exporter", "extension". */
const char *pg_cfg_kind_name(pg_cfg_kind kind);

/* Telemetry signals a pipeline carries and a component handles (a bit set). */
enum { PG_SIGNAL_PROFILES = 1u << 0, PG_SIGNAL_TRACES = 1u << 1 };

/* Singular signal name of one bit: "profiles", "traces". */
const char *pg_cfg_signal_name(unsigned signal);

/* What the loader needs of one component type. `validate` (optional) sees a fully decoded
 * config (borrowed) and returns 0, or a negative status with a message in err. `signals`
 * is the set of signals the type handles (0 means PG_SIGNAL_PROFILES: most components);
 * a pipeline may name only components that handle its signal. `check_signals` (optional)
 * runs once per used component with the signals of the pipelines that name it (a set that
 * is never empty) and returns 0, or a negative status with a message: the rules a config
 * must follow to serve those signals (tracelink's span index for traces). */
typedef struct pg_cfg_component_desc {
    const pg_cfg_field *table;
    size_t size; /* sizeof the config struct */
    int (*validate)(const void *cfg, char *err, size_t errlen);
    unsigned signals;
    int (*check_signals)(const void *cfg, unsigned used_by, char *err, size_t errlen);
} pg_cfg_component_desc;

/* The loader's view of the component registry. `lookup` returns the descriptor of (kind,
 * type), borrowed for the life of the config, or NULL when the type is unknown. `type_at`
 * (optional) returns the i-th known type of kind, or NULL past the end; it lists the known
 * types in "unknown receiver type" errors. */
typedef struct pg_cfg_registry {
    const pg_cfg_component_desc *(*lookup)(void *ud, pg_cfg_kind kind, const char *type);
    const char *(*type_at)(void *ud, pg_cfg_kind kind, size_t i);
    void *ud;
} pg_cfg_registry;

/* ---- The loaded config ----------------------------------------------------------------- */

/* One configured component. Every pointer is owned by the config. */
typedef struct pg_cfg_component {
    pg_cfg_kind kind;
    const char *id;   /* "type" or "type/name" */
    const char *type; /* the part before the first '/' */
    const char *name; /* the part after it, "" when none */
    void *cfg;        /* decoded struct of desc->size bytes */
    const pg_cfg_component_desc *desc;
    pg_cfg_pos pos;   /* of the id key */
    bool used;        /* named by a pipeline (extensions: by service.extensions) */
    unsigned signals; /* PG_SIGNAL_* of the pipelines that name it */
} pg_cfg_component;

/* One pipeline: "profiles", "profiles/<name>", "traces" or "traces/<name>", with its
 * components in the order given. A traces pipeline needs no exporters. */
typedef struct pg_cfg_pipeline {
    const char *name;
    unsigned signal; /* PG_SIGNAL_PROFILES or PG_SIGNAL_TRACES */
    pg_cfg_pos pos;
    const pg_cfg_component **receivers, **processors, **exporters;
    size_t nreceivers, nprocessors, nexporters;
} pg_cfg_pipeline;

enum { PG_CFG_LOG_DEBUG, PG_CFG_LOG_INFO, PG_CFG_LOG_WARN, PG_CFG_LOG_ERROR };
enum { PG_CFG_LOG_TEXT, PG_CFG_LOG_JSON };
enum { PG_CFG_METRICS_NONE, PG_CFG_METRICS_BASIC, PG_CFG_METRICS_NORMAL, PG_CFG_METRICS_DETAILED };

/* service.telemetry */
typedef struct pg_cfg_telemetry {
    struct pg_cfg_telemetry_logs {
        int level;    /* PG_CFG_LOG_*: debug, info (default), warn, error */
        int encoding; /* PG_CFG_LOG_TEXT (default) or PG_CFG_LOG_JSON */
    } logs;
    struct pg_cfg_telemetry_metrics {
        pg_cfg_endpoint address; /* default 127.0.0.1:8888 */
        int level;               /* PG_CFG_METRICS_*: none, basic, normal (default), detailed */
    } metrics;
} pg_cfg_telemetry;

/* service: settings other than pipelines. */
typedef struct pg_cfg_service {
    pg_cfg_telemetry telemetry;
    int64_t shutdown_timeout;            /* nanoseconds, default 10s */
    const pg_cfg_component **extensions; /* in the order of service.extensions */
    size_t nextensions;
} pg_cfg_service;

typedef struct pg_config pg_config;

/* One config source: the file `name`, or, when `text` is non-NULL, `len` bytes of YAML
 * shown as `name` in messages (an embedded default config, a test). */
typedef struct pg_cfg_source {
    const char *name;
    const char *text;
    size_t len;
} pg_cfg_source;

/* Loads, expands, merges (later over earlier) and validates the sources. Borrows srcs and
 * reg (descriptors must outlive the config). Appends every error and warning to d (which
 * must not be NULL), sorted. On success returns 0 and *out (caller owns; pg_config_free);
 * with any error returns PG_EINVAL (PG_ENOMEM when out of memory) and *out = NULL. */
int pg_config_load(const pg_cfg_source *srcs, size_t n, const pg_cfg_registry *reg, pg_config **out,
                   pg_cfg_diags *d);

/* pg_config_load over files given by path (`--config` given several times). */
int pg_config_load_files(const char *const *paths, size_t n, const pg_cfg_registry *reg,
                         pg_config **out, pg_cfg_diags *d);

/* Frees the config, every decoded struct and every string in them. NULL is a no-op. */
void pg_config_free(pg_config *cfg);

/* Components in kind order (receivers, processors, exporters, extensions), then document
 * order. Borrowed from cfg. */
size_t pg_config_component_count(const pg_config *cfg);
const pg_cfg_component *pg_config_component_at(const pg_config *cfg, size_t i);

/* The component of `kind` with `id`, or NULL. Borrowed from cfg. */
const pg_cfg_component *pg_config_find(const pg_config *cfg, pg_cfg_kind kind, const char *id);

/* Pipelines in document order. Borrowed from cfg. */
size_t pg_config_pipeline_count(const pg_config *cfg);
const pg_cfg_pipeline *pg_config_pipeline_at(const pg_config *cfg, size_t i);

/* service settings. Borrowed from cfg. */
const pg_cfg_service *pg_config_service(const pg_config *cfg);

#endif
