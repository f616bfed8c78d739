/* Config tables: a test component with one field of every type, decoded from a good file
 * (values, env, defaults for an empty section, service settings), and the message for each
 * type given a value of the wrong shape. argv[1] is the test data directory. */
#include "pipeline/config/config.h"
#include "pipeline/core/err.h"
#include "testlib.h"

#include <limits.h>
#include <stddef.h>
#include <stdlib.h>

typedef struct {
    bool flag;
    int64_t count;
    double ratio;
    int64_t timeout;
    uint64_t buffer;
    char *name;
    int mode;
    pg_cfg_strlist tags;
    pg_cfg_strmap headers;
    pg_cfg_endpoint endpoint;
    struct nested {
        int64_t retries;
        char *path;
        bool enabled;
    } nested;
} all_rcv;

static const char *const MODES[] = {"slow", "fast", NULL};
static const pg_cfg_field ALL_NESTED[] = {
    {.key = "retries",
     .type = PG_CFG_INT,
     .offset = offsetof(struct nested, retries),
     .def = "3",
     .min = "0",
     .max = "10"},
    {.key = "path", .type = PG_CFG_STRING, .offset = offsetof(struct nested, path)},
    {.key = "enabled",
     .type = PG_CFG_BOOL,
     .offset = offsetof(struct nested, enabled),
     .def = "true"},
    {0},
};
static const pg_cfg_field ALL_RCV[] = {
    {.key = "flag", .type = PG_CFG_BOOL, .offset = offsetof(all_rcv, flag)},
    {.key = "count",
     .type = PG_CFG_INT,
     .offset = offsetof(all_rcv, count),
     .def = "10",
     .min = "-100",
     .max = "100"},
    {.key = "ratio",
     .type = PG_CFG_DOUBLE,
     .offset = offsetof(all_rcv, ratio),
     .def = "0.5",
     .min = "0",
     .max = "1"},
    {.key = "timeout", .type = PG_CFG_DURATION, .offset = offsetof(all_rcv, timeout), .def = "5s"},
    {.key = "buffer", .type = PG_CFG_SIZE, .offset = offsetof(all_rcv, buffer), .def = "512KiB"},
    {.key = "name", .type = PG_CFG_STRING, .offset = offsetof(all_rcv, name), .def = "unnamed"},
    {.key = "mode",
     .type = PG_CFG_ENUM,
     .offset = offsetof(all_rcv, mode),
     .def = "slow",
     .enum_values = MODES},
    {.key = "tags", .type = PG_CFG_STRING_LIST, .offset = offsetof(all_rcv, tags), .def = "[x, y]"},
    {.key = "headers",
     .type = PG_CFG_STRING_MAP,
     .offset = offsetof(all_rcv, headers),
     .def = "{k: v}"},
    {.key = "endpoint",
     .type = PG_CFG_ENDPOINT,
     .offset = offsetof(all_rcv, endpoint),
     .def = "localhost:7000"},
    {.key = "nested",
     .type = PG_CFG_SECTION,
     .offset = offsetof(all_rcv, nested),
     .section = ALL_NESTED},
    {0},
};

static const char *const VERBOSITY[] = {"basic", "detailed", NULL};
static const pg_cfg_field DEBUG_EXP[] = {
    {.key = "verbosity",
     .type = PG_CFG_ENUM,
     .offset = 0,
     .def = "basic",
     .enum_values = VERBOSITY},
    {0},
};

static const pg_cfg_component_desc ALL_DESC = {.table = ALL_RCV, .size = sizeof(all_rcv)};
static const pg_cfg_component_desc DEBUG_DESC = {.table = DEBUG_EXP, .size = sizeof(int)};

/* A registry of two: receiver alltypes, exporter debug. */
static const pg_cfg_component_desc *lookup(void *ud, pg_cfg_kind kind, const char *type)
{
    (void)ud;
    if (kind == PG_CFG_RECEIVER && !strcmp(type, "alltypes")) return &ALL_DESC;
    if (kind == PG_CFG_EXPORTER && !strcmp(type, "debug")) return &DEBUG_DESC;
    return NULL;
}

static const pg_cfg_registry REG = {lookup, NULL, NULL};

/* Loads data/config/good/<file>; returns the config or NULL (errors printed). */
static pg_config *load(const char *data, const char *file, pg_cfg_diags *d)
{
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/config/good/%s", data, file);
    const char *paths[] = {path};
    pg_config *cfg = NULL;
    int rc = pg_config_load_files(paths, 1, &REG, &cfg, d);
    CHECK_MSG(rc == 0 && cfg, "load failed: rc %d", rc);
    if (rc) pg_cfg_diags_write(d, PG_CFG_ERROR, stderr);
    return cfg;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static void test_alltypes(const char *data)
{
    setenv("PG_TEST_TAG", "from-env", 1);
    unsetenv("PG_TEST_TENANT");
    pg_cfg_diags *d = pg_cfg_diags_new();
    const char *files[] = {"alltypes.yaml"};
    pg_config *cfg = load(data, files[0], d);
    CHECK(pg_cfg_diags_count(d, PG_CFG_WARNING) == 0);
    if (!cfg) goto out;
    const pg_cfg_component *c = pg_config_find(cfg, PG_CFG_RECEIVER, "alltypes/full");
    CHECK(c && !strcmp(c->type, "alltypes") && !strcmp(c->name, "full") && c->used);
    CHECK(c && c->pos.line == 3 && c->pos.column == 3 && ends_with(c->pos.file, "alltypes.yaml"));
    const all_rcv *a = c ? c->cfg : NULL;
    if (a) {
        CHECK(a->flag == true);
        CHECK(a->count == -42);
        CHECK(a->ratio == 0.25);
        CHECK(a->timeout == 90000000000LL);
        CHECK(a->buffer == 4u << 20);
        CHECK_STR(a->name, "quoted: string");
        CHECK(a->mode == 1);
        CHECK(a->tags.n == 3);
        if (a->tags.n == 3) {
            CHECK_STR(a->tags.items[0], "a");
            CHECK_STR(a->tags.items[1], "b c");
            CHECK_STR(a->tags.items[2], "from-env");
        }
        CHECK(a->headers.n == 2);
        if (a->headers.n == 2) {
            CHECK_STR(a->headers.keys[0], "X-Tenant");
            CHECK_STR(a->headers.values[0], "anonymous");
            CHECK_STR(a->headers.keys[1], "X-Price");
            CHECK_STR(a->headers.values[1], "$5");
        }
        CHECK_STR(a->endpoint.text, "[::1]:4317");
        CHECK_STR(a->endpoint.host, "::1");
        CHECK(a->endpoint.port == 4317);
        CHECK(a->nested.retries == 7);
        CHECK_STR(a->nested.path, "/var/lib/profgate");
        CHECK(a->nested.enabled == true);
    }
    /* `alltypes:` with a null value: every default */
    c = pg_config_find(cfg, PG_CFG_RECEIVER, "alltypes");
    a = c ? c->cfg : NULL;
    CHECK(c && !strcmp(c->name, ""));
    if (a) {
        CHECK(!a->flag && a->count == 10 && a->ratio == 0.5 && a->timeout == 5000000000LL);
        CHECK(a->buffer == 512 * 1024 && !strcmp(a->name, "unnamed") && a->mode == 0);
        CHECK(a->tags.n == 2 && !strcmp(a->tags.items[1], "y"));
        CHECK(a->headers.n == 1 && !strcmp(a->headers.keys[0], "k") &&
              !strcmp(a->headers.values[0], "v"));
        CHECK(a->endpoint.port == 7000 && !strcmp(a->endpoint.host, "localhost"));
        CHECK(a->nested.retries == 3 && a->nested.path == NULL && a->nested.enabled);
    }
    const pg_cfg_service *s = pg_config_service(cfg);
    CHECK(s->telemetry.logs.level == PG_CFG_LOG_WARN);
    CHECK(s->telemetry.logs.encoding == PG_CFG_LOG_JSON);
    CHECK(s->telemetry.metrics.level == PG_CFG_METRICS_NONE);
    CHECK(s->telemetry.metrics.address.port == 9999 &&
          !strcmp(s->telemetry.metrics.address.host, ""));
    CHECK(s->shutdown_timeout == 2500000000LL);
    CHECK(pg_config_pipeline_count(cfg) == 1);
    const pg_cfg_pipeline *p = pg_config_pipeline_at(cfg, 0);
    CHECK(p && !strcmp(p->name, "profiles") && p->nreceivers == 2 && p->nexporters == 1 &&
          p->nprocessors == 0);
    if (p && p->nreceivers == 2) {
        CHECK_STR(p->receivers[0]->id, "alltypes/full");
        CHECK_STR(p->receivers[1]->id, "alltypes");
        CHECK(*(int *)p->exporters[0]->cfg == 1); /* verbosity: detailed */
    }
    CHECK(pg_config_component_count(cfg) == 3);
    CHECK(pg_config_component_at(cfg, 2) &&
          pg_config_component_at(cfg, 2)->kind == PG_CFG_EXPORTER);
out:
    pg_config_free(cfg);
    pg_cfg_diags_free(d);
    unsetenv("PG_TEST_TAG");
}

/* Each type given a value of the wrong shape (and a few bad scalars): one error each, all
 * reported, in order. */
static void test_wrong_shapes(void)
{
    static const char text[] =
        "receivers:\n"
        "  alltypes:\n"
        "    flag: 1\n"
        "    count: 1.5\n"
        "    ratio: {}\n"
        "    timeout: [1s]\n"
        "    buffer: -1\n"
        "    name: {a: b}\n"
        "    mode: [fast]\n"
        "    tags: [a, [b], {c: d}, ~]\n"
        "    headers: [a]\n"
        "    endpoint: 4317\n"
        "    nested: [retries]\n"
        "  alltypes/2:\n"
        "    headers: {a: [b], c: ~, e: f}\n"
        "    count: 101\n"
        "    ratio: -0.1\n"
        "    nested: {retries: 11, path: ''}\n"
        "exporters:\n"
        "  debug:\n"
        "service:\n"
        "  pipelines:\n"
        "    profiles: {receivers: [alltypes, alltypes/2], exporters: [debug]}\n";
    static const char want[] =
        "w.yaml:3:11: receiver alltypes: flag: expected a boolean (true or false), got \"1\"\n"
        "w.yaml:4:12: receiver alltypes: count: expected an integer, got \"1.5\"\n"
        "w.yaml:5:12: receiver alltypes: ratio: expected a number, got a mapping\n"
        "w.yaml:6:14: receiver alltypes: timeout: expected a duration (e.g. 10s), got a list\n"
        "w.yaml:7:13: receiver alltypes: buffer: invalid size \"-1\" (examples: 100, 512KiB, "
        "4MiB, 10MB)\n"
        "w.yaml:8:11: receiver alltypes: name: expected a string, got a mapping\n"
        "w.yaml:9:11: receiver alltypes: mode: expected one of slow, fast; got a list\n"
        "w.yaml:10:15: receiver alltypes: tags[1]: expected a string, got a list\n"
        "w.yaml:10:20: receiver alltypes: tags[2]: expected a string, got a mapping\n"
        "w.yaml:10:28: receiver alltypes: tags[3]: expected a string, got null\n"
        "w.yaml:11:14: receiver alltypes: headers: expected a mapping of strings, got a list\n"
        "w.yaml:12:15: receiver alltypes: endpoint: invalid endpoint \"4317\": missing port "
        "(expected host:port)\n"
        "w.yaml:13:13: receiver alltypes: nested: expected a mapping, got a list\n"
        "w.yaml:15:18: receiver alltypes/2: headers.a: expected a string, got a list\n"
        "w.yaml:15:26: receiver alltypes/2: headers.c: expected a string, got null\n"
        "w.yaml:16:12: receiver alltypes/2: count: \"101\" is out of range: must be between -100 "
        "and 100\n"
        "w.yaml:17:12: receiver alltypes/2: ratio: \"-0.1\" is out of range: must be between 0 "
        "and 1\n"
        "w.yaml:18:23: receiver alltypes/2: nested.retries: \"11\" is out of range: must be "
        "between 0 and 10";
    pg_cfg_source src = {"w.yaml", text, sizeof text - 1};
    pg_cfg_diags *d = pg_cfg_diags_new();
    pg_config *cfg = NULL;
    CHECK(pg_config_load(&src, 1, &REG, &cfg, d) == PG_EINVAL && !cfg);
    char got[8192] = "";
    for (size_t i = 0; i < pg_cfg_diags_count(d, PG_CFG_ERROR); i++) {
        size_t used = strlen(got);
        snprintf(got + used, sizeof got - used, "%s%s", i ? "\n" : "",
                 pg_cfg_diags_get(d, PG_CFG_ERROR, i)->text);
    }
    CHECK_MSG(!strcmp(got, want), "\n--- want\n%s\n--- got\n%s", want, got);
    pg_cfg_diags_free(d);
}

/* Broken tables are caught by pg_cfg_table_check. */
static void test_bad_tables(void)
{
    char err[256];
    static const pg_cfg_field bad_def[] = {
        {.key = "t", .type = PG_CFG_DURATION, .offset = 0, .def = "5 seconds"}, {0}};
    CHECK(pg_cfg_table_check(bad_def, err, sizeof err) == PG_EINVAL);
    CHECK_STR(err, "table: t: bad default in the config table: invalid duration \"5 seconds\": "
                   "no spaces allowed (examples: 250ms, 10s, 1m30s)");
    static const pg_cfg_field out_of_bounds[] = {
        {.key = "n", .type = PG_CFG_INT, .offset = 0, .def = "0", .min = "1"}, {0}};
    CHECK(pg_cfg_table_check(out_of_bounds, err, sizeof err) == PG_EINVAL);
    static const pg_cfg_field no_values[] = {{.key = "e", .type = PG_CFG_ENUM, .offset = 0}, {0}};
    CHECK(pg_cfg_table_check(no_values, err, sizeof err) == PG_EINVAL);
    static const pg_cfg_field inverted[] = {
        {.key = "s", .type = PG_CFG_SIZE, .offset = 0, .min = "2MiB", .max = "1MiB"}, {0}};
    CHECK(pg_cfg_table_check(inverted, err, sizeof err) == PG_EINVAL);
    static const pg_cfg_field req_def[] = {
        {.key = "s", .type = PG_CFG_STRING, .offset = 0, .def = "x", .required = true}, {0}};
    CHECK(pg_cfg_table_check(req_def, err, sizeof err) == PG_EINVAL);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
        return 2;
    }
    char table_err[256];
    CHECK_MSG(pg_cfg_table_check(ALL_RCV, table_err, sizeof table_err) == 0, "%s", table_err);
    test_alltypes(argv[1]);
    test_wrong_shapes();
    test_bad_tables();
    TEST_MAIN_END();
}
