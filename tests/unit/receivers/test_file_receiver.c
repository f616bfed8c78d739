/* The file receiver through its factory, on a real host: pprof, OTLP protobuf and OTLP/JSON
 * files picked up and decoded as the translator decodes them; no re-read after a restart
 * (state file); a retry after PG_EAGAIN; a growing file left alone until stable; a corrupt
 * file logged once and skipped for good; exclude, max_file_size, delete_after_read; the
 * format sniffer. argv[1] is the test data directory. */
#include "testlib.h"

#include "component_harness.h"
#include "testfs.h"
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/pprof.h"
#include "receivers/file/file_receiver.h"
#include "receivers/file/file_receiver_int.h"

static const char *corpus; /* tests/fuzz/corpus */
static char tmp[256];      /* this run's temp dir */
static FILE *log_cap;      /* captured log lines */

static const pg_component_factory *F = &pg_file_receiver_factory;

/* A running receiver: config, instance, capture. */
typedef struct rx {
    pg_config *cfg;
    void *self;
    hx_capture cap;
} rx;

/* Creates and starts receiver "file/in" on host h from YAML body `opts` (indented two
 * levels, under `file/in:`); returns 0 when both succeed. */
static int rx_start(rx *r, hx_host *h, const char *opts)
{
    char yaml[4096];
    snprintf(yaml, sizeof yaml,
             "receivers:\n  file/in:\n%s\nexporters:\n  debug:\nservice:\n  pipelines:\n"
             "    profiles:\n      receivers: [file/in]\n      exporters: [debug]\n",
             opts);
    const void *c = NULL;
    r->cfg = hx_load(yaml, PG_CFG_RECEIVER, "file/in", &c);
    if (!c) return -1;
    pg_component_settings s = {.id = "file/in", .kind = PG_CFG_RECEIVER, .host = h->host};
    char err[512] = "";
    if (F->create(&s, c, hx_capture_consumer(&r->cap), &r->self, err, sizeof err)) {
        fprintf(stderr, "create: %s\n", err);
        return -1;
    }
    if (F->start(r->self, err, sizeof err)) {
        fprintf(stderr, "start: %s\n", err);
        return -1;
    }
    return 0;
}

static void rx_stop(rx *r)
{
    if (r->self) {
        F->shutdown(r->self, pg_now_mono_ns() + 1000000000);
        F->destroy(r->self);
    }
    r->self = NULL;
    pg_config_free(r->cfg);
    r->cfg = NULL;
}

typedef struct want {
    hx_capture *cap;
    int n;
} want;

static bool have_n(void *ctx)
{
    want *w = ctx;
    return hx_capture_accepted(w->cap) >= w->n;
}

/* Copies corpus/<rel> to <dir>/<name>. */
static void put_file(const char *rel, const char *dir, const char *name)
{
    char src[512], dst[512];
    pg_buf b;
    snprintf(src, sizeof src, "%s/%s", corpus, rel);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    CHECK_MSG(hx_read(src, &b) == 0, "cannot read %s", src);
    CHECK(hx_write(dst, b.data, b.len, "wb") == 0);
    pg_buf_free(&b);
}

/* The canonical dump of corpus/<rel> decoded directly with the translator. */
static char *expected(const char *rel, pg_format fmt)
{
    char path[512], err[256];
    pg_buf in;
    snprintf(path, sizeof path, "%s/%s", corpus, rel);
    if (hx_read(path, &in)) return strdup("unreadable");
    pg_batch *b = pg_batch_new(0);
    pg_format used = PG_FORMAT_UNKNOWN;
    int rc = pg_file_decode(b, in.data, in.len, fmt, 1 << 30, &used, err, sizeof err);
    char *d = rc ? strdup(err) : hx_dump(b);
    pg_batch_free(b);
    pg_buf_free(&in);
    return d;
}

/* Is one of the captured dumps equal to e? */
static bool captured(rx *r, const char *e)
{
    for (int i = 0; i < r->cap.accepted; i++)
        if (strcmp(r->cap.dumps[i], e) == 0) return true;
    return false;
}

static void test_sniff(void)
{
    static const char *const files[][2] = {
        {"pprof/go_cpu.pb.gz", "pprof"},     {"pprof/go_cpu_plain.pb", "pprof"},
        {"pprof/go_heap.pb.gz", "pprof"},    {"otlp/go_cpu.otlp", "otlp_proto"},
        {"otlp/go_heap.otlp", "otlp_proto"}, {"otlp_json/go_cpu.json", "otlp_json"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[512], err[256];
        pg_buf in;
        snprintf(path, sizeof path, "%s/%s", corpus, files[i][0]);
        CHECK(hx_read(path, &in) == 0);
        pg_batch *b = pg_batch_new(0);
        pg_format used = PG_FORMAT_UNKNOWN;
        int rc =
            pg_file_decode(b, in.data, in.len, PG_FORMAT_UNKNOWN, 1 << 30, &used, err, sizeof err);
        CHECK_MSG(rc == 0, "%s: %s", files[i][0], err);
        CHECK_STR(pg_format_name(used), files[i][1]);
        CHECK(pg_batch_profile_count(b) > 0);
        pg_batch_free(b);
        pg_buf_free(&in);
    }
    pg_format_guess g;
    pg_format_sniff((const uint8_t *)"  \n{\"resourceProfiles\":[]}", 25, 1, &g);
    CHECK(g.format == PG_FORMAT_OTLP_JSON);
    pg_format_sniff((const uint8_t *)"", 0, 1, &g); /* empty input is refused, not guessed */
    CHECK(g.format == PG_FORMAT_UNKNOWN && g.empty);
    /* max_decompressed applies to the inflated bytes */
    char path[512], err[256];
    pg_buf in;
    snprintf(path, sizeof path, "%s/pprof/go_cpu.pb.gz", corpus);
    CHECK(hx_read(path, &in) == 0);
    pg_batch *b = pg_batch_new(0);
    CHECK(pg_file_decode(b, in.data, in.len, PG_FORMAT_UNKNOWN, 100, NULL, err, sizeof err) ==
          PG_ELIMIT);
    pg_batch_free(b);
    pg_buf_free(&in);
}

static void test_config(void)
{
    char err[256] = "";
    CHECK_MSG(pg_cfg_table_check(F->config.table, err, sizeof err) == 0, "%s", err);
    char *e = hx_load_error("receivers:\n  file:\n    format: auto\nexporters:\n  debug:\n"
                            "service:\n  pipelines:\n    profiles:\n      receivers: [file]\n"
                            "      exporters: [debug]\n");
    CHECK_MSG(e && strstr(e, "include"), "%s", e ? e : "(loaded)");
    free(e);
    e = hx_load_error("receivers:\n  file:\n    include: [a]\n    format: gif\nexporters:\n"
                      "  debug:\nservice:\n  pipelines:\n    profiles:\n      receivers: [file]\n"
                      "      exporters: [debug]\n");
    CHECK_MSG(e && strstr(e, "gif"), "%s", e ? e : "(loaded)");
    free(e);
}

/* Three formats picked up; restart does not re-read; a new file after restart is read. */
static void test_pickup_and_restart(hx_host *h)
{
    char in[300], opts[1024];
    snprintf(in, sizeof in, "%s/pick", tmp);
    mkdir(in, 0755);
    put_file("pprof/go_cpu.pb.gz", in, "cpu.pb.gz");
    put_file("otlp/go_heap.otlp", in, "heap.otlp");
    put_file("otlp_json/go_cpu.json", in, "cpu.json");
    snprintf(opts, sizeof opts,
             "    include: [\"%s/*\"]\n    poll_interval: 50ms\n    storage_directory: %s/state1",
             in, tmp);
    rx r = {.cap = {.mu = PTHREAD_MUTEX_INITIALIZER}};
    CHECK(rx_start(&r, h, opts) == 0);
    want w = {&r.cap, 3};
    CHECK(hx_wait(have_n, &w, 5000));
    hx_sleep_ms(200);
    CHECK(hx_capture_accepted(&r.cap) == 3);
    char *e1 = expected("pprof/go_cpu.pb.gz", PG_FORMAT_PPROF);
    char *e2 = expected("otlp/go_heap.otlp", PG_FORMAT_OTLP_PROTO);
    char *e3 = expected("otlp_json/go_cpu.json", PG_FORMAT_OTLP_JSON);
    CHECK(captured(&r, e1));
    CHECK(captured(&r, e2));
    CHECK(captured(&r, e3));
    for (int i = 0; i < r.cap.accepted; i++)
        CHECK_STR(r.cap.origins[i], "file/in");
    pg_metrics *m = pg_host_metrics(h->host);
    pg_counter *acc = pg_metrics_counter(m, "profgate_receiver_accepted_profiles_total", "",
                                         "receiver=\"file/in\"");
    CHECK(pg_counter_get(acc) > 0);
    rx_stop(&r);

    char state[400];
    snprintf(state, sizeof state, "%s/state1/files.state", tmp);
    CHECK(access(state, F_OK) == 0);

    /* restart: nothing is read again; a new file is */
    hx_capture_reset(&r.cap);
    CHECK(rx_start(&r, h, opts) == 0);
    hx_sleep_ms(300);
    CHECK(hx_capture_accepted(&r.cap) == 0);
    put_file("otlp/go_cpu.otlp", in, "cpu2.otlp");
    w.n = 1;
    CHECK(hx_wait(have_n, &w, 5000));
    hx_sleep_ms(200);
    CHECK(hx_capture_accepted(&r.cap) == 1);
    char *e4 = expected("otlp/go_cpu.otlp", PG_FORMAT_OTLP_PROTO);
    CHECK(captured(&r, e4));
    /* a renamed file is the same file: not read again */
    char a[400], b[400];
    snprintf(a, sizeof a, "%s/cpu2.otlp", in);
    snprintf(b, sizeof b, "%s/cpu2-renamed.otlp", in);
    CHECK(rename(a, b) == 0);
    hx_sleep_ms(300);
    CHECK(hx_capture_accepted(&r.cap) == 1);
    rx_stop(&r);
    hx_capture_reset(&r.cap);
    free(e1);
    free(e2);
    free(e3);
    free(e4);
}

/* PG_EAGAIN twice: the file is retried at the next polls and handed on once. */
static void test_retry(hx_host *h)
{
    char in[300], opts[1024];
    snprintf(in, sizeof in, "%s/retry", tmp);
    mkdir(in, 0755);
    put_file("pprof/go_heap.pb.gz", in, "heap.pb.gz");
    snprintf(opts, sizeof opts,
             "    include: [\"%s/*.pb.gz\"]\n    poll_interval: 50ms\n"
             "    storage_directory: %s/state2",
             in, tmp);
    rx r = {.cap = {.mu = PTHREAD_MUTEX_INITIALIZER, .refuse_next = 2}};
    long before = hx_count_lines(log_cap, "retrying");
    CHECK(rx_start(&r, h, opts) == 0);
    want w = {&r.cap, 1};
    CHECK(hx_wait(have_n, &w, 5000));
    hx_sleep_ms(200);
    CHECK(hx_capture_accepted(&r.cap) == 1);
    CHECK(hx_capture_calls(&r.cap) == 3);
    CHECK(hx_count_lines(log_cap, "retrying") - before == 1); /* logged once, not per poll */
    pg_counter *ref =
        pg_metrics_counter(pg_host_metrics(h->host), "profgate_receiver_refused_profiles_total", "",
                           "receiver=\"file/in\"");
    CHECK(pg_counter_get(ref) > 0);
    rx_stop(&r);
    hx_capture_reset(&r.cap);
}

/* Refused again and again (a memory limiter that keeps refusing): the file is not read and
 * decoded at every poll but after a doubling backoff (10, 20, 40, 80, 160 ms ... after
 * 10 ms polls: about 6 tries in 600 ms instead of 60). */
static void test_refusal_backoff(hx_host *h)
{
    char in[300], opts[1024];
    snprintf(in, sizeof in, "%s/backoff", tmp);
    mkdir(in, 0755);
    put_file("pprof/go_heap.pb.gz", in, "heap.pb.gz");
    snprintf(opts, sizeof opts,
             "    include: [\"%s/*.pb.gz\"]\n    poll_interval: 10ms\n"
             "    storage_directory: %s/state_backoff",
             in, tmp);
    rx r = {.cap = {.mu = PTHREAD_MUTEX_INITIALIZER, .refuse_next = 1000}};
    CHECK(rx_start(&r, h, opts) == 0);
    hx_sleep_ms(600);
    int calls = hx_capture_calls(&r.cap);
    CHECK_MSG(calls >= 3 && calls <= 9, "%d tries in 600 ms", calls);
    CHECK(hx_capture_accepted(&r.cap) == 0);
    rx_stop(&r);
    hx_capture_reset(&r.cap);
}

/* A file that keeps growing is not read until it stops changing. */
static void test_growing(hx_host *h)
{
    char in[300], opts[1024], path[400], src[512];
    snprintf(in, sizeof in, "%s/grow", tmp);
    mkdir(in, 0755);
    snprintf(path, sizeof path, "%s/heap.pb.gz", in);
    snprintf(src, sizeof src, "%s/pprof/go_heap.pb.gz", corpus);
    pg_buf whole;
    CHECK(hx_read(src, &whole) == 0);
    CHECK(hx_write(path, whole.data, 100, "wb") == 0);
    snprintf(opts, sizeof opts,
             "    include: [\"%s/*\"]\n    poll_interval: 250ms\n    storage_directory: %s/state3",
             in, tmp);
    rx r = {.cap = {.mu = PTHREAD_MUTEX_INITIALIZER}};
    long bad_before = hx_count_lines(log_cap, "skipping");
    CHECK(rx_start(&r, h, opts) == 0);
    for (size_t off = 100; off < whole.len; off += 100) { /* ~30 steps of 20 ms */
        size_t n = whole.len - off < 100 ? whole.len - off : 100;
        hx_sleep_ms(20);
        CHECK(hx_write(path, whole.data + off, n, "ab") == 0);
    }
    CHECK(hx_capture_calls(&r.cap) == 0);
    want w = {&r.cap, 1};
    CHECK(hx_wait(have_n, &w, 5000));
    hx_sleep_ms(250);
    CHECK(hx_capture_accepted(&r.cap) == 1);
    CHECK(hx_count_lines(log_cap, "skipping") == bad_before);
    char *e = expected("pprof/go_heap.pb.gz", PG_FORMAT_PPROF);
    CHECK(captured(&r, e));
    free(e);
    pg_buf_free(&whole);
    rx_stop(&r);
    hx_capture_reset(&r.cap);
}

/* A corrupt file is logged once, remembered (also across a restart), never handed on; an
 * excluded file and one over max_file_size are not read; delete_after_read deletes. */
static void test_bad_exclude_delete(hx_host *h)
{
    char in[300], opts[1024], path[400];
    snprintf(in, sizeof in, "%s/bad", tmp);
    mkdir(in, 0755);
    snprintf(path, sizeof path, "%s/corrupt.pb", in);
    static const char junk[] = "\x0a\xff\xff\xff\xff\x0f garbage that is no profile";
    CHECK(hx_write(path, junk, sizeof junk - 1, "wb") == 0);
    put_file("pprof/go_cpu.pb.gz", in, "skip.tmp.pb");
    put_file("otlp/go_heap.otlp", in, "big.pb"); /* 8081 bytes: over max_file_size */
    put_file("otlp/go_cpu.otlp", in, "good.pb");
    snprintf(opts, sizeof opts,
             "    include: [\"%s/*.pb\", \"%s/good.*\"]\n    exclude: [\"*.tmp.pb\"]\n"
             "    poll_interval: 50ms\n    max_file_size: 5000\n    delete_after_read: true\n"
             "    storage_directory: %s/state4",
             in, in, tmp);
    long bad_before = hx_count_lines(log_cap, "skipping");
    rx r = {.cap = {.mu = PTHREAD_MUTEX_INITIALIZER}};
    CHECK(rx_start(&r, h, opts) == 0);
    want w = {&r.cap, 1};
    CHECK(hx_wait(have_n, &w, 5000));
    hx_sleep_ms(300);
    CHECK(hx_capture_calls(&r.cap) == 1);
    char *e = expected("otlp/go_cpu.otlp", PG_FORMAT_OTLP_PROTO);
    CHECK(captured(&r, e));
    free(e);
    char p2[400];
    snprintf(p2, sizeof p2, "%s/good.pb", in);
    CHECK(access(p2, F_OK) != 0);                                 /* deleted after read */
    CHECK(access(path, F_OK) == 0);                               /* bad files are kept */
    CHECK(hx_count_lines(log_cap, "skipping") - bad_before == 2); /* corrupt + too big, once each */
    rx_stop(&r);
    hx_capture_reset(&r.cap);
    CHECK(rx_start(&r, h, opts) == 0);
    hx_sleep_ms(300);
    CHECK(hx_capture_calls(&r.cap) == 0);
    CHECK(hx_count_lines(log_cap, "skipping") - bad_before == 2); /* not again after restart */
    rx_stop(&r);
    char state[400], line[1024];
    snprintf(state, sizeof state, "%s/state4/files.state", tmp);
    FILE *f = fopen(state, "r");
    int nbad = 0;
    while (f && fgets(line, sizeof line, f))
        if (line[0] == 'b') nbad++;
    if (f) fclose(f);
    CHECK(nbad == 2);
    hx_capture_reset(&r.cap);
}

/* quarantine_directory: malformed and too-large files are moved there with a .reason
 * beside them and counted by reason; a second instance on the same storage_directory is
 * refused at start. */
static void test_quarantine_and_lock(hx_host *h)
{
    char in[300], q[300], path[400], opts[1024];
    snprintf(in, sizeof in, "%s/quarantine_in", tmp);
    snprintf(q, sizeof q, "%s/quarantine", tmp);
    mkdir(in, 0755);
    snprintf(path, sizeof path, "%s/corrupt.pb", in);
    static const char junk[] = "\x0a\xff\xff\xff\xff\x0f garbage that is no profile";
    CHECK(hx_write(path, junk, sizeof junk - 1, "wb") == 0);
    put_file("otlp/go_heap.otlp", in, "big.pb"); /* 8081 bytes: over max_file_size */
    snprintf(opts, sizeof opts,
             "    include: [\"%s/*.pb\"]\n    poll_interval: 50ms\n    max_file_size: 5000\n"
             "    quarantine_directory: %s\n    storage_directory: %s/state5",
             in, q, tmp);
    rx r = {.cap = {.mu = PTHREAD_MUTEX_INITIALIZER}},
       second = {.cap = {.mu = PTHREAD_MUTEX_INITIALIZER}};
    CHECK(rx_start(&r, h, opts) == 0);
    hx_sleep_ms(300);
    CHECK(access(path, F_OK) != 0);
    CHECK(count_files(q, ".pb") == 2 && count_files(q, ".reason") == 2);
    pg_metrics *m = pg_host_metrics(h->host);
    pg_counter *mal = pg_metrics_counter(m, "profgate_receiver_file_skipped_total", "",
                                         "receiver=\"file/in\",reason=\"malformed\"");
    pg_counter *big = pg_metrics_counter(m, "profgate_receiver_file_skipped_total", "",
                                         "receiver=\"file/in\",reason=\"too_large\"");
    CHECK_MSG(pg_counter_get(mal) == 1 && pg_counter_get(big) == 1,
              "malformed %llu, too large %llu", (unsigned long long)pg_counter_get(mal),
              (unsigned long long)pg_counter_get(big));
    CHECK_MSG(rx_start(&second, h, opts) != 0, "a second instance on the same storage_directory");
    rx_stop(&second);
    rx_stop(&r);
    CHECK(rx_start(&r, h, opts) == 0); /* the lock went with the first instance */
    rx_stop(&r);
    hx_capture_reset(&r.cap);
}

/* Without storage_directory the state goes to ./data/file_receiver/<id, sanitised>. */
static void test_default_storage(hx_host *h)
{
    char cwd[1024], opts[512];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(tmp) == 0);
    snprintf(opts, sizeof opts, "    include: [\"%s/nothing/*\"]", tmp);
    rx r = {.cap = {.mu = PTHREAD_MUTEX_INITIALIZER}};
    CHECK(rx_start(&r, h, opts) == 0);
    struct stat sb;
    CHECK(stat("data/file_receiver/file_in", &sb) == 0 && S_ISDIR(sb.st_mode));
    rx_stop(&r);
    CHECK(chdir(cwd) == 0);
}

int main(int argc, char **argv)
{
    static char corpus_buf[512];
    snprintf(corpus_buf, sizeof corpus_buf, "%s/../fuzz/corpus", argc > 1 ? argv[1] : "tests/data");
    corpus = corpus_buf;
    snprintf(tmp, sizeof tmp, "/tmp/pg_file_receiver_XXXXXX");
    if (!mkdtemp(tmp)) return 1;
    log_cap = tmpfile();
    pg_log_set_output(log_cap);
    test_sniff();
    test_config();
    hx_host h;
    hx_host_start(&h);
    test_pickup_and_restart(&h);
    test_refusal_backoff(&h);
    test_quarantine_and_lock(&h);
    test_retry(&h);
    test_growing(&h);
    test_bad_exclude_delete(&h);
    test_default_storage(&h);
    hx_host_stop(&h);
    pg_log_set_output(NULL);
    if (pg_test_failed) {
        fflush(log_cap);
        rewind(log_cap);
        char line[4096];
        while (fgets(line, sizeof line, log_cap))
            fputs(line, stderr);
    }
    fclose(log_cap);
    hx_rm_rf(tmp);
    TEST_MAIN_END();
}
