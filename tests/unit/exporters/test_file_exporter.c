/* The file exporter through its factory, on a real host: files in each of the three formats
 * decode back to the batch that was sent (canonical dump), pprof writes one gzipped file
 * per pprof profile, names are generated and safe, rotation by count and by total size
 * deletes the oldest (also files of an earlier run), crash leftovers are removed, and a
 * directory that cannot be written gives a retryable error. argv[1] is the test data
 * directory. */
#include "testlib.h"

#include "component_harness.h"
#include "exporters/file/file_exporter.h"
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/pprof.h"

#include <dirent.h>
#include <regex.h>

static const char *corpus;
static char tmp[256];
static const pg_component_factory *F = &pg_file_exporter_factory;

typedef struct ex {
    pg_config *cfg;
    void *self;
} ex;

/* Creates and starts exporter "file/out" from YAML options (indented four spaces). */
static int ex_start(ex *e, hx_host *h, const char *opts)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "receivers:\n  file:\n    include: [/nonexistent/*]\nexporters:\n  file/out:\n%s\n"
             "service:\n  pipelines:\n    profiles:\n      receivers: [file]\n"
             "      exporters: [file/out]\n",
             opts);
    const void *c = NULL;
    e->cfg = hx_load(yaml, PG_CFG_EXPORTER, "file/out", &c);
    if (!c) return -1;
    pg_component_settings s = {.id = "file/out", .kind = PG_CFG_EXPORTER, .host = h->host};
    char err[512] = "";
    if (F->create(&s, c, (pg_consumer){0}, &e->self, err, sizeof err)) {
        fprintf(stderr, "create: %s\n", err);
        return -1;
    }
    if (F->start(e->self, err, sizeof err)) {
        fprintf(stderr, "start: %s\n", err);
        return -1;
    }
    return 0;
}

/* Shuts down (draining the queue) and frees. */
static void ex_stop(ex *e)
{
    hx_stop(F, &e->self, &e->cfg);
}

/* Decodes corpus/<rel> (pprof when is_pprof, else OTLP protobuf) into a new batch. */
static pg_batch *load(const char *rel, int is_pprof)
{
    char path[512], err[256];
    pg_buf in;
    snprintf(path, sizeof path, "%s/%s", corpus, rel);
    if (hx_read(path, &in)) return NULL;
    pg_batch *b = pg_batch_new(0);
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    int rc = is_pprof ? pg_pprof_decode(b, in.data, in.len, &lim, NULL, err, sizeof err)
                      : pg_otlp_decode(b, in.data, in.len, &lim, err, sizeof err);
    pg_buf_free(&in);
    if (rc) {
        fprintf(stderr, "%s: %s\n", rel, err);
        pg_batch_free(b);
        return NULL;
    }
    return b;
}

/* Sorted names of the regular entries of dir (not starting with '.'); returns count. */
static int list(const char *dir, char names[][128], int max)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) && n < max)
        if (e->d_name[0] != '.') snprintf(names[n++], 128, "%.127s", e->d_name);
    if (d) closedir(d);
    qsort(names, (size_t)n, 128, (int (*)(const void *, const void *))strcmp);
    return n;
}

static int consume(ex *e, pg_batch *b)
{
    char err[512] = "";
    int rc = F->consume(e->self, b, err, sizeof err);
    if (rc) fprintf(stderr, "consume: %s\n", err);
    return rc;
}

static void test_config(void)
{
    char err[256] = "";
    CHECK_MSG(pg_cfg_table_check(F->config.table, err, sizeof err) == 0, "%s", err);
    static const char *const bad[][2] = {
        {"    format: otlp_proto", "directory"},
        {"    directory: /tmp/x\n    prefix: ../evil", "prefix"},
        {"    directory: /tmp/x\n    prefix: .hidden", "prefix"},
        {"    directory: /tmp/x\n    format: parquet", "parquet"},
        {"    directory: /tmp/x\n    max_files: -1", "max_files"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char yaml[1024];
        snprintf(yaml, sizeof yaml,
                 "receivers:\n  file:\n    include: [a]\nexporters:\n  file:\n%s\nservice:\n"
                 "  pipelines:\n    profiles:\n      receivers: [file]\n      exporters: [file]\n",
                 bad[i][0]);
        char *e = hx_load_error(yaml);
        CHECK_MSG(e && strstr(e, bad[i][1]), "%s: %s", bad[i][0], e ? e : "(loaded)");
        free(e);
    }
}

/* Decodes a written file by its extension and appends to b. */
static int decode_file(const char *path, pg_batch *b)
{
    pg_buf in;
    char err[256];
    if (hx_read(path, &in)) return -1;
    size_t n = strlen(path);
    int rc;
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    if (n > 6 && strcmp(path + n - 6, ".pb.gz") == 0)
        rc = (in.len > 2 && in.data[0] == 0x1f && in.data[1] == 0x8b)
                 ? pg_pprof_decode(b, in.data, in.len, &lim, NULL, err, sizeof err)
                 : -1;
    else if (strstr(path, ".otlp.json"))
        rc = pg_otlp_decode_json(b, in.data, in.len, &lim, err, sizeof err);
    else
        rc = pg_otlp_decode(b, in.data, in.len, &lim, err, sizeof err);
    if (rc) fprintf(stderr, "%s: %s\n", path, rc == -1 ? "not gzip" : err);
    pg_buf_free(&in);
    return rc;
}

/* Sends `src` batch(es) in format fmt through the queue; every file decodes back, in
 * order, to what was sent. */
static void roundtrip(hx_host *h, const char *fmt, const char *ext, int from_pprof,
                      const char *const *rels, int nrel, int want_files)
{
    char dir[300], opts[1024];
    snprintf(dir, sizeof dir, "%s/rt_%s_%d", tmp, fmt, nrel);
    snprintf(opts, sizeof opts, "    directory: %s\n    format: %s\n    fsync: true", dir, fmt);
    ex e = {0};
    CHECK(ex_start(&e, h, opts) == 0);
    pg_batch *b = pg_batch_new(0);
    for (int i = 0; i < nrel; i++) {
        char path[512], err[256];
        pg_buf in;
        snprintf(path, sizeof path, "%s/%s", corpus, rels[i]);
        CHECK(hx_read(path, &in) == 0);
        /* append into one batch: pprof appends a resource per profile */
        pg_decode_limits lim;
        pg_decode_limits_default(&lim);
        int rc = from_pprof ? pg_pprof_decode(b, in.data, in.len, &lim, NULL, err, sizeof err)
                            : pg_otlp_decode(b, in.data, in.len, &lim, err, sizeof err);
        CHECK_MSG(rc == 0, "%s", err);
        pg_buf_free(&in);
    }
    char *want = hx_dump(b);
    CHECK(consume(&e, b) == 0);
    ex_stop(&e); /* drains */
    char names[16][128];
    int n = list(dir, names, 16);
    CHECK_MSG(n == want_files, "%s: %d files", fmt, n);
    regex_t re;
    char pat[128] = "^profiles-[0-9]{13}-[0-9]{6}";
    size_t pl = strlen(pat);
    for (const char *x = ext; *x && pl + 3 < sizeof pat; x++) {
        if (*x == '.') pat[pl++] = '\\';
        pat[pl++] = *x;
    }
    pat[pl++] = '$';
    pat[pl] = 0;
    CHECK(regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) == 0);
    pg_batch *back = pg_batch_new(0);
    for (int i = 0; i < n; i++) {
        CHECK_MSG(regexec(&re, names[i], 0, NULL, 0) == 0, "unsafe or unexpected name %s",
                  names[i]);
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        CHECK(decode_file(path, back) == 0);
    }
    regfree(&re);
    char *got = hx_dump(back);
    CHECK_MSG(strcmp(want, got) == 0, "%s: files do not decode back to the batch", fmt);
    pg_batch_free(back);
    free(want);
    free(got);
}

static void test_roundtrip(hx_host *h)
{
    static const char *const otlp[] = {"otlp/go_heap.otlp"};
    static const char *const cpu[] = {"pprof/go_cpu.pb.gz"};
    static const char *const two[] = {"pprof/go_cpu.pb.gz", "pprof/go_heap.pb.gz"};
    roundtrip(h, "otlp_proto", ".otlp.pb", 0, otlp, 1, 1);
    roundtrip(h, "otlp_json", ".otlp.json", 0, otlp, 1, 1);
    roundtrip(h, "otlp_proto", ".otlp.pb", 1, two, 2, 1);
    roundtrip(h, "pprof", ".pb.gz", 1, cpu, 1, 1);
    roundtrip(h, "pprof", ".pb.gz", 1, two, 2, 2); /* one file per pprof profile */
}

/* max_files keeps the newest n (also counting an earlier run's files); max_total_bytes
 * keeps what fits; a crash's temp file is removed at start; an empty batch writes nothing. */
static void test_rotation(hx_host *h)
{
    char dir[300], opts[1024], names[16][128];
    snprintf(dir, sizeof dir, "%s/rot", tmp);
    mkdir(dir, 0755);
    char stale[400];
    snprintf(stale, sizeof stale, "%s/.profiles-1700000000000-000001.otlp.pb.tmp", dir);
    CHECK(hx_write(stale, "x", 1, "wb") == 0);
    char foreign[400];
    snprintf(foreign, sizeof foreign, "%s/not-ours.otlp.pb", dir);
    CHECK(hx_write(foreign, "x", 1, "wb") == 0);
    snprintf(opts, sizeof opts,
             "    directory: %s\n    max_files: 3\n    sending_queue:\n      enabled: false", dir);
    ex e = {0};
    CHECK(ex_start(&e, h, opts) == 0);
    CHECK(access(stale, F_OK) != 0);
    for (int i = 0; i < 5; i++)
        CHECK(consume(&e, load("otlp/go_cpu.otlp", 0)) == 0);
    CHECK(consume(&e, pg_batch_new(0)) == 0); /* nothing to write */
    int n = list(dir, names, 16);
    CHECK(n == 4);                           /* 3 of ours + the foreign file */
    CHECK_STR(names[0], "not-ours.otlp.pb"); /* never ours to delete */
    CHECK(strstr(names[1], "-000002.otlp.pb") && strstr(names[3], "-000004.otlp.pb"));
    ex_stop(&e);

    /* an earlier run's files count: one more file, still three */
    CHECK(ex_start(&e, h, opts) == 0);
    CHECK(consume(&e, load("otlp/go_cpu.otlp", 0)) == 0);
    n = list(dir, names, 16);
    CHECK(n == 4);
    CHECK_MSG(strstr(names[1], "-000003.otlp.pb") && strstr(names[3], "-000005.otlp.pb"),
              "%s %s %s", names[1], names[2], names[3]);
    ex_stop(&e);

    /* by size: each file is the same size s; a cap of 2.5 s keeps two */
    struct stat sb;
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, names[1]);
    CHECK(stat(p, &sb) == 0);
    snprintf(dir, sizeof dir, "%s/rot_size", tmp);
    snprintf(opts, sizeof opts,
             "    directory: %s\n    max_total_bytes: %lld\n    sending_queue:\n"
             "      enabled: false",
             dir, (long long)sb.st_size * 5 / 2);
    CHECK(ex_start(&e, h, opts) == 0);
    for (int i = 0; i < 4; i++)
        CHECK(consume(&e, load("otlp/go_cpu.otlp", 0)) == 0);
    CHECK(list(dir, names, 16) == 2);
    ex_stop(&e);
}

/* A directory replaced by a file: the send fails with PG_EAGAIN and a message. */
static void test_unwritable(hx_host *h)
{
    char dir[300], opts[1024];
    snprintf(dir, sizeof dir, "%s/gone", tmp);
    snprintf(opts, sizeof opts,
             "    directory: %s\n    sending_queue:\n      enabled: false\n"
             "    retry_on_failure:\n      enabled: false",
             dir);
    ex e = {0};
    CHECK(ex_start(&e, h, opts) == 0);
    CHECK(rmdir(dir) == 0);
    CHECK(hx_write(dir, "x", 1, "wb") == 0); /* now a file: nothing can go in it */
    char err[512] = "";
    int rc = F->consume(e.self, load("otlp/go_cpu.otlp", 0), err, sizeof err);
    CHECK_MSG(rc == PG_EAGAIN, "rc=%d %s", rc, err);
    CHECK_MSG(strstr(err, "cannot write") != NULL, "%s", err);
    ex_stop(&e);
}

int main(int argc, char **argv)
{
    static char corpus_buf[512];
    snprintf(corpus_buf, sizeof corpus_buf, "%s/../fuzz/corpus", argc > 1 ? argv[1] : "tests/data");
    corpus = corpus_buf;
    snprintf(tmp, sizeof tmp, "/tmp/pg_file_exporter_XXXXXX");
    if (!mkdtemp(tmp)) return 1;
    FILE *logf = tmpfile();
    pg_log_set_output(logf);
    test_config();
    hx_host h;
    hx_host_start(&h);
    test_roundtrip(&h);
    test_rotation(&h);
    test_unwritable(&h);
    hx_host_stop(&h);
    pg_log_set_output(NULL);
    if (pg_test_failed) {
        rewind(logf);
        char line[4096];
        while (fgets(line, sizeof line, logf))
            fputs(line, stderr);
    }
    fclose(logf);
    hx_rm_rf(tmp);
    TEST_MAIN_END();
}
