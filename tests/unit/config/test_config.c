/* Config loader tests: the table of broken files under data/config/broken (each *.yaml with
 * the exact expected errors in *.err, and warnings in *.warn when present), merging two
 * files, unused-component warnings, small inline configs, table checks. (Every field type:
 * test_config_types.c.)
 * argv[1] is the test data directory. PG_CONFIG_REGEN=1 rewrites the .err/.warn files that
 * differ; every rewrite still fails the run, and CI=... refuses it. */
#include "pipeline/config/config.h"
#include "pipeline/core/err.h"
#include "testlib.h"

#include <dirent.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- a fake registry ---- */

typedef struct {
    pg_cfg_strlist include;
    int format;
    int64_t poll_interval;
    uint64_t max_file_size;
} file_rcv;

static const char *const FILE_FORMATS[] = {"auto", "pprof", "otlp_proto", "otlp_json", NULL};
static const pg_cfg_field FILE_RCV[] = {
    {.key = "include",
     .type = PG_CFG_STRING_LIST,
     .offset = offsetof(file_rcv, include),
     .required = true,
     .doc = "globs of files to read"},
    {.key = "format",
     .type = PG_CFG_ENUM,
     .offset = offsetof(file_rcv, format),
     .def = "auto",
     .enum_values = FILE_FORMATS},
    {.key = "poll_interval",
     .type = PG_CFG_DURATION,
     .offset = offsetof(file_rcv, poll_interval),
     .def = "1s",
     .min = "10ms",
     .max = "1h"},
    {.key = "max_file_size",
     .type = PG_CFG_SIZE,
     .offset = offsetof(file_rcv, max_file_size),
     .def = "64MiB",
     .min = "1KiB",
     .max = "1GiB"},
    {0},
};

typedef struct {
    struct grpc {
        pg_cfg_endpoint endpoint;
        uint64_t max_recv_msg_size;
    } grpc;
    struct http {
        pg_cfg_endpoint endpoint;
    } http;
} otlp_rcv;

static const pg_cfg_field OTLP_GRPC[] = {
    {.key = "endpoint",
     .type = PG_CFG_ENDPOINT,
     .offset = offsetof(struct grpc, endpoint),
     .def = "localhost:4317"},
    {.key = "max_recv_msg_size",
     .type = PG_CFG_SIZE,
     .offset = offsetof(struct grpc, max_recv_msg_size),
     .def = "4MiB"},
    {0},
};
static const pg_cfg_field OTLP_HTTP[] = {
    {.key = "endpoint",
     .type = PG_CFG_ENDPOINT,
     .offset = offsetof(struct http, endpoint),
     .def = "localhost:4318"},
    {0},
};
static const pg_cfg_field OTLP_PROTOCOLS[] = {
    {.key = "grpc",
     .type = PG_CFG_SECTION,
     .offset = offsetof(otlp_rcv, grpc),
     .section = OTLP_GRPC},
    {.key = "http",
     .type = PG_CFG_SECTION,
     .offset = offsetof(otlp_rcv, http),
     .section = OTLP_HTTP},
    {0},
};
static const pg_cfg_field OTLP_RCV[] = {
    {.key = "protocols", .type = PG_CFG_SECTION, .offset = 0, .section = OTLP_PROTOCOLS},
    {0},
};

typedef struct {
    int64_t timeout, send_batch_size;
} batch_proc;
static const pg_cfg_field BATCH_PROC[] = {
    {.key = "timeout",
     .type = PG_CFG_DURATION,
     .offset = offsetof(batch_proc, timeout),
     .def = "200ms"},
    {.key = "send_batch_size",
     .type = PG_CFG_INT,
     .offset = offsetof(batch_proc, send_batch_size),
     .def = "8192",
     .min = "1",
     .max = "1000000"},
    {0},
};
static const pg_cfg_field SAMPLE_PROC[] = {
    {.key = "ratio", .type = PG_CFG_DOUBLE, .offset = 0, .def = "1", .min = "0", .max = "1"},
    {0},
};

typedef struct {
    struct tls {
        char *cert_file;
        bool insecure;
    } tls;
} auth_proc;
static const pg_cfg_field AUTH_TLS[] = {
    {.key = "cert_file",
     .type = PG_CFG_STRING,
     .offset = offsetof(struct tls, cert_file),
     .required = true},
    {.key = "insecure", .type = PG_CFG_BOOL, .offset = offsetof(struct tls, insecure)},
    {0},
};
static const pg_cfg_field AUTH_PROC[] = {
    {.key = "tls", .type = PG_CFG_SECTION, .offset = offsetof(auth_proc, tls), .section = AUTH_TLS},
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

typedef struct {
    char *directory;
    int format;
    struct rotation {
        int64_t max_megabytes, max_backups;
    } rotation;
} file_exp;
static const char *const EXP_FORMATS[] = {"otlp_proto", "otlp_json", "pprof", NULL};
static const pg_cfg_field FILE_ROTATION[] = {
    {.key = "max_megabytes",
     .type = PG_CFG_INT,
     .offset = offsetof(struct rotation, max_megabytes),
     .def = "100",
     .min = "1"},
    {.key = "max_backups",
     .type = PG_CFG_INT,
     .offset = offsetof(struct rotation, max_backups),
     .def = "10",
     .min = "0"},
    {0},
};
static const pg_cfg_field FILE_EXP[] = {
    {.key = "directory",
     .type = PG_CFG_STRING,
     .offset = offsetof(file_exp, directory),
     .required = true},
    {.key = "format",
     .type = PG_CFG_ENUM,
     .offset = offsetof(file_exp, format),
     .def = "otlp_proto",
     .enum_values = EXP_FORMATS},
    {.key = "rotation",
     .type = PG_CFG_SECTION,
     .offset = offsetof(file_exp, rotation),
     .section = FILE_ROTATION},
    {0},
};

/* The file exporter's validate hook: a directory must be named. */
static int file_exp_validate(const void *cfg, char *err, size_t errlen)
{
    const file_exp *f = cfg;
    if (!f->directory || !f->directory[0])
        return pg_err(err, errlen, PG_EINVAL, "directory must not be empty");
    return 0;
}

static const pg_cfg_field HEALTH_EXT[] = {
    {.key = "endpoint", .type = PG_CFG_ENDPOINT, .offset = 0, .def = "localhost:13133"},
    {0},
};

typedef struct {
    pg_cfg_kind kind;
    const char *type;
    pg_cfg_component_desc desc;
} fake;

static const fake FAKES[] = {
    {PG_CFG_RECEIVER, "file", {.table = FILE_RCV, .size = sizeof(file_rcv)}},
    {PG_CFG_RECEIVER, "otlp", {.table = OTLP_RCV, .size = sizeof(otlp_rcv)}},
    {PG_CFG_PROCESSOR, "batch", {.table = BATCH_PROC, .size = sizeof(batch_proc)}},
    {PG_CFG_PROCESSOR, "sample", {.table = SAMPLE_PROC, .size = sizeof(double)}},
    {PG_CFG_PROCESSOR, "auth", {.table = AUTH_PROC, .size = sizeof(auth_proc)}},
    {PG_CFG_EXPORTER, "debug", {.table = DEBUG_EXP, .size = sizeof(int)}},
    {PG_CFG_EXPORTER,
     "file",
     {.table = FILE_EXP, .size = sizeof(file_exp), .validate = file_exp_validate}},
    {PG_CFG_EXTENSION, "health_check", {.table = HEALTH_EXT, .size = sizeof(pg_cfg_endpoint)}},
};
#define NFAKES (sizeof FAKES / sizeof *FAKES)

static const pg_cfg_component_desc *fake_lookup(void *ud, pg_cfg_kind kind, const char *type)
{
    (void)ud;
    for (size_t i = 0; i < NFAKES; i++)
        if (FAKES[i].kind == kind && !strcmp(FAKES[i].type, type)) return &FAKES[i].desc;
    return NULL;
}

static const char *fake_type_at(void *ud, pg_cfg_kind kind, size_t i)
{
    (void)ud;
    for (size_t k = 0; k < NFAKES; k++)
        if (FAKES[k].kind == kind && i-- == 0) return FAKES[k].type;
    return NULL;
}

static const pg_cfg_registry REG = {fake_lookup, fake_type_at, NULL};

/* ---- helpers ---- */

/* Returns the malloc'd contents of path (trailing newlines removed), or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    fclose(f);
    while (buf && n && buf[n - 1] == '\n')
        buf[--n] = 0;
    return buf;
}

/* Joins the texts of one severity with newlines into buf. */
static void joined(const pg_cfg_diags *d, pg_cfg_severity s, char *buf, size_t len)
{
    buf[0] = 0;
    for (size_t i = 0; i < pg_cfg_diags_count(d, s); i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s", i ? "\n" : "", pg_cfg_diags_get(d, s, i)->text);
    }
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Compares the diagnostics of `name` with the expected file `name` + ext. With regen set,
 * a differing (or missing) file is rewritten, and the mismatch still counts as a failure:
 * regeneration updates goldens, it never turns a run green. */
static void compare(const char *name, const char *ext, const char *got, bool regen, bool must)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%.*s%s", (int)(strlen(name) - 5), name, ext);
    char *want = slurp(path);
    if (!want && !must) {
        CHECK_MSG(!got[0], "%s: unexpected %s:\n%s", name, ext, got);
    } else {
        CHECK_MSG(want && !strcmp(want, got), "%s: %s differ\n--- want\n%s\n--- got\n%s\n", name,
                  ext, want ? want : "(missing)", got);
    }
    bool differs = want ? strcmp(want, got) != 0 : (must || got[0]);
    if (regen && differs) {
        FILE *f = fopen(path, "w");
        if (f) fprintf(f, "%s\n", got), fclose(f);
        fprintf(stderr, "%s: rewrote %s (this run still fails; run again to check)\n", name, path);
    }
    free(want);
}

/* Loads every broken YAML file (by relative name) and checks its .err (and .warn). */
static void test_broken(const char *data)
{
    char dir[PATH_MAX + 32], cwd[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/config/broken", data);
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(dir) == 0);
    bool regen = getenv("PG_CONFIG_REGEN") != NULL;
    if (regen && getenv("CI")) {
        CHECK_MSG(0, "PG_CONFIG_REGEN is refused when CI is set: goldens are regenerated by hand");
        regen = false;
    }
    DIR *dp = opendir(".");
    CHECK(dp != NULL);
    char *names[256];
    size_t n = 0;
    for (struct dirent *e; dp && (e = readdir(dp)) && n < 256;) {
        size_t l = strlen(e->d_name);
        if (l > 5 && !strcmp(e->d_name + l - 5, ".yaml")) names[n++] = strdup(e->d_name);
    }
    if (dp) closedir(dp);
    qsort(names, n, sizeof *names, by_name);
    CHECK(n >= 15);
    char *got = malloc(1 << 16);
    for (size_t i = 0; i < n; i++) {
        pg_cfg_diags *d = pg_cfg_diags_new();
        pg_config *cfg = (pg_config *)1;
        const char *paths[] = {names[i]};
        int rc = pg_config_load_files(paths, 1, &REG, &cfg, d);
        CHECK_MSG(rc == PG_EINVAL && cfg == NULL, "%s: rc %d", names[i], rc);
        CHECK_MSG(pg_cfg_diags_count(d, PG_CFG_ERROR) > 0, "%s: no errors", names[i]);
        joined(d, PG_CFG_ERROR, got, 1 << 16);
        compare(names[i], ".err", got, regen, true);
        joined(d, PG_CFG_WARNING, got, 1 << 16);
        compare(names[i], ".warn", got, regen, false);
        pg_cfg_diags_free(d);
        free(names[i]);
    }
    free(got);
    CHECK(chdir(cwd) == 0);
}

/* Loads files under data/config/good; returns the config (NULL on errors, printed). */
static pg_config *load_good(const char *data, const char *const *files, size_t n, pg_cfg_diags *d)
{
    char paths[4][PATH_MAX + 256];
    const char *p[4];
    for (size_t i = 0; i < n && i < 4; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/config/good/%s", data, files[i]);
        p[i] = paths[i];
    }
    pg_config *cfg = NULL;
    int rc = pg_config_load_files(p, n, &REG, &cfg, d);
    CHECK_MSG(rc == 0 && cfg, "load failed: rc %d", rc);
    if (rc) pg_cfg_diags_write(d, PG_CFG_ERROR, stderr);
    return cfg;
}

/* Ends-with for file names in positions (data may be any absolute path). */
static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static void test_merge(const char *data)
{
    pg_cfg_diags *d = pg_cfg_diags_new();
    const char *files[] = {"merge_base.yaml", "merge_override.yaml"};
    pg_config *cfg = load_good(data, files, 2, d);
    CHECK(pg_cfg_diags_count(d, PG_CFG_WARNING) == 0);
    if (!cfg) goto out;
    const pg_cfg_component *o = pg_config_find(cfg, PG_CFG_RECEIVER, "otlp");
    const otlp_rcv *oc = o ? o->cfg : NULL;
    CHECK(oc && oc->grpc.max_recv_msg_size == 16u << 20);         /* from the override */
    CHECK(oc && !strcmp(oc->grpc.endpoint.text, "0.0.0.0:4317")); /* kept from the base */
    CHECK(oc && !strcmp(oc->http.endpoint.text, "0.0.0.0:4318"));
    /* the key exists in both files: it points at the later one */
    CHECK(o && ends_with(o->pos.file, "merge_override.yaml") && o->pos.line == 3);
    const pg_cfg_component *f = pg_config_find(cfg, PG_CFG_RECEIVER, "file");
    const file_rcv *fc = f ? f->cfg : NULL;
    CHECK(fc && fc->include.n == 2 && !strcmp(fc->include.items[0], "/override/a.pprof"));
    CHECK(fc && fc->poll_interval == 5000000000LL);
    const pg_cfg_component *dbg = pg_config_find(cfg, PG_CFG_EXPORTER, "debug");
    CHECK(dbg && ends_with(dbg->pos.file, "merge_base.yaml") && dbg->pos.line == 12 &&
          dbg->pos.column == 3);
    const pg_cfg_component *fo = pg_config_find(cfg, PG_CFG_EXPORTER, "file/out");
    CHECK(fo && ends_with(fo->pos.file, "merge_override.yaml") && fo->pos.line == 11);
    const pg_cfg_pipeline *p = pg_config_pipeline_at(cfg, 0);
    CHECK(p && p->nreceivers == 2 && p->nexporters == 2);
    CHECK(p && p->nexporters == 2 && !strcmp(p->exporters[1]->id, "file/out"));
    pg_config_free(cfg);

    /* an error in the later file points at the later file; one in the earlier at that one */
    pg_cfg_diags_clear(d);
    const char *srcs_text[] = {"receivers:\n  otlp:\n    protocols:\n      grpc:\n"
                               "        endpoint: 0.0.0.0:4317\n",
                               "receivers:\n  otlp:\n    protocols:\n      grpc:\n"
                               "        max_recv_msg_size: 3 parsecs\n"
                               "exporters:\n  debug:\n"
                               "service:\n  pipelines:\n    profiles:\n"
                               "      receivers: [otlp, nope]\n      exporters: [debug]\n"};
    pg_cfg_source srcs[] = {{"a.yaml", srcs_text[0], strlen(srcs_text[0])},
                            {"b.yaml", srcs_text[1], strlen(srcs_text[1])}};
    cfg = NULL;
    CHECK(pg_config_load(srcs, 2, &REG, &cfg, d) == PG_EINVAL && !cfg);
    char got[2048];
    joined(d, PG_CFG_ERROR, got, sizeof got);
    CHECK_STR(got, "b.yaml:5:28: receiver otlp: protocols.grpc.max_recv_msg_size: invalid size "
                   "\"3 parsecs\": unknown unit \"parsecs\" (B, KB, MB, GB, TB, KiB, MiB, GiB or "
                   "TiB)\n"
                   "b.yaml:11:25: pipeline \"profiles\": receiver \"nope\" is not defined "
                   "(defined: otlp)");
out:
    pg_config_free(cfg);
    pg_cfg_diags_free(d);
}

static void test_unused(const char *data)
{
    pg_cfg_diags *d = pg_cfg_diags_new();
    const char *files[] = {"unused.yaml"};
    pg_config *cfg = load_good(data, files, 1, d);
    CHECK(cfg != NULL);
    CHECK(pg_cfg_diags_count(d, PG_CFG_ERROR) == 0);
    CHECK(pg_cfg_diags_count(d, PG_CFG_WARNING) == 4);
    static const struct {
        int line;
        const char *message;
    } want[] = {
        {3, "receiver \"file/spare\" is defined but not used by any pipeline"},
        {6, "processor \"batch\" is defined but not used by any pipeline"},
        {9, "exporter \"file/spare\" is defined but not used by any pipeline"},
        {12, "extension \"health_check\" is defined but not listed in service.extensions"},
    };
    for (size_t i = 0; i < 4; i++) {
        const pg_cfg_diag *w = pg_cfg_diags_get(d, PG_CFG_WARNING, i);
        CHECK_MSG(w && w->severity == PG_CFG_WARNING && w->line == want[i].line && w->column == 3 &&
                      ends_with(w->file, "unused.yaml") && !strcmp(w->message, want[i].message),
                  "warning %zu: %s", i, w ? w->text : "(none)");
    }
    const pg_cfg_diag *w0 = pg_cfg_diags_get(d, PG_CFG_WARNING, 0);
    CHECK(w0 && ends_with(w0->text, "unused.yaml:3:3: warning: receiver \"file/spare\" is "
                                    "defined but not used by any pipeline"));
    const pg_cfg_component *c = cfg ? pg_config_find(cfg, PG_CFG_RECEIVER, "file/spare") : NULL;
    CHECK(c && !c->used);
    pg_config_free(cfg);
    pg_cfg_diags_free(d);
}

/* Every fake table passes the table check. */
static void test_tables(void)
{
    char err[256];
    for (size_t i = 0; i < NFAKES; i++)
        CHECK_MSG(pg_cfg_table_check(FAKES[i].desc.table, err, sizeof err) == 0, "%s: %s",
                  FAKES[i].type, err);
}

/* Small configs given as text: each with its exact errors ("" = loads fine). */
static void test_inline(void)
{
    static const char *const tail = "receivers:\n  otlp:\nexporters:\n  debug:\nservice:\n"
                                    "  pipelines:\n    profiles:\n      receivers: [otlp]\n"
                                    "      processors: [auth]\n      exporters: [debug]\n";
    static const struct {
        const char *head, *errors;
    } cases[] = {
        /* an absent optional section does not check its required keys; a present one does */
        {"processors:\n  auth:\n", ""},
        {"processors:\n  auth:\n    tls:\n",
         "t.yaml:3:5: processor auth: tls.cert_file: missing required key"},
        {"processors:\n  auth:\n    tls: {insecure: yes}\n",
         "t.yaml:3:5: processor auth: tls.cert_file: missing required key\n"
         "t.yaml:3:21: processor auth: tls.insecure: expected a boolean (true or false), got "
         "\"yes\""},
        /* env through a whole load: set, unset with default, escaped */
        {"processors:\n  auth:\n    tls:\n      cert_file: ${env:PG_TEST_CERT}\n"
         "      insecure: ${env:PG_TEST_UNSET:-true}\n",
         ""},
        {"processors:\n  auth:\n    tls:\n      cert_file: x\n      insecure: "
         "${env:PG_TEST_UNSET}\n",
         "t.yaml:5:17: processor auth: tls.insecure: expected a boolean (true or false), got \"\""},
        /* anchors and aliases are resolved */
        {"x-defaults: &tls {cert_file: /c.pem}\nprocessors:\n  auth:\n    tls: *tls\n",
         "t.yaml:1:1: unknown top-level key \"x-defaults\"; valid keys: receivers, processors, "
         "exporters, extensions, service"},
        {"processors:\n  auth:\n    tls: &tls {cert_file: /c.pem}\n  auth/2:\n    tls: *tls\n", ""},
        /* a scalar where a section is expected */
        {"processors:\n  auth: yes\n",
         "t.yaml:2:9: processor auth: expected a mapping, got \"yes\""},
    };
    setenv("PG_TEST_CERT", "/etc/cert.pem", 1);
    unsetenv("PG_TEST_UNSET");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[2048], got[4096];
        snprintf(text, sizeof text, "%s%s", cases[i].head, tail);
        pg_cfg_source src = {"t.yaml", text, strlen(text)};
        pg_cfg_diags *d = pg_cfg_diags_new();
        pg_config *cfg = NULL;
        int rc = pg_config_load(&src, 1, &REG, &cfg, d);
        joined(d, PG_CFG_ERROR, got, sizeof got);
        CHECK_MSG(!strcmp(got, cases[i].errors), "case %zu:\n--- want\n%s\n--- got\n%s", i,
                  cases[i].errors, got);
        CHECK_MSG((rc == 0) == !cases[i].errors[0] && (cfg != NULL) == (rc == 0), "case %zu: rc %d",
                  i, rc);
        if (i == 3 && cfg) {
            const auth_proc *ap = pg_config_find(cfg, PG_CFG_PROCESSOR, "auth")->cfg;
            CHECK_STR(ap->tls.cert_file, "/etc/cert.pem");
            CHECK(ap->tls.insecure);
        }
        pg_config_free(cfg);
        pg_cfg_diags_free(d);
    }
    unsetenv("PG_TEST_CERT");

    /* no source, a missing file, two files with syntax errors (both reported, in order) */
    pg_cfg_diags *d = pg_cfg_diags_new();
    pg_config *cfg = NULL;
    char got[2048];
    CHECK(pg_config_load(NULL, 0, &REG, &cfg, d) == PG_EINVAL && !cfg);
    CHECK(pg_cfg_diags_count(d, PG_CFG_ERROR) == 1 &&
          !strcmp(pg_cfg_diags_get(d, PG_CFG_ERROR, 0)->text, "no config file given"));
    pg_cfg_diags_clear(d);
    const char *missing[] = {"/nonexistent/profgate.yaml"};
    CHECK(pg_config_load_files(missing, 1, &REG, &cfg, d) == PG_EINVAL && !cfg);
    joined(d, PG_CFG_ERROR, got, sizeof got);
    CHECK_STR(got,
              "/nonexistent/profgate.yaml: cannot open config file: No such file or directory");
    pg_cfg_diags_clear(d);
    pg_cfg_source two[] = {{"z.yaml", "a: [\n", 5}, {"a.yaml", "b: c: d\n", 8}};
    CHECK(pg_config_load(two, 2, &REG, &cfg, d) == PG_EINVAL && !cfg);
    joined(d, PG_CFG_ERROR, got, sizeof got);
    CHECK_STR(got, "z.yaml:2:1: YAML syntax error: did not find expected node content (while "
                   "parsing a flow node at line 2, column 1)\n"
                   "a.yaml:1:5: YAML syntax error: mapping values are not allowed in this context");
    pg_cfg_diags_free(d);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DATA_DIR\n", argv[0]);
        return 2;
    }
    char data[PATH_MAX];
    if (!realpath(argv[1], data)) {
        perror(argv[1]);
        return 2;
    }
    test_tables();
    test_broken(data);
    test_merge(data);
    test_unused(data);
    test_inline();
    TEST_MAIN_END();
}
