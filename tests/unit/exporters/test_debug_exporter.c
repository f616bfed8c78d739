/* The debug exporter through its factory, on a real host: basic logs one line per batch,
 * normal one per profile, detailed writes the whole tree to stderr; sampling per second;
 * the default queue is drained at shutdown. argv[1] is the test data directory. */
#include "testlib.h"

#include "component_harness.h"
#include "exporters/debug/debug_exporter.h"
#include "pipeline/translate/otlp_codec.h"

#include <fcntl.h>

static const char *corpus;
static FILE *log_cap;
static const pg_component_factory *F = &pg_debug_exporter_factory;

typedef struct ex {
    pg_config *cfg;
    void *self;
} ex;

static int ex_start(ex *e, hx_host *h, const char *opts)
{
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "receivers:\n  file:\n    include: [/nonexistent/*]\nexporters:\n  debug:\n%s\n"
             "service:\n  pipelines:\n    profiles:\n      receivers: [file]\n"
             "      exporters: [debug]\n",
             opts);
    const void *c = NULL;
    e->cfg = hx_load(yaml, PG_CFG_EXPORTER, "debug", &c);
    if (!c) return -1;
    pg_component_settings s = {.id = "debug", .kind = PG_CFG_EXPORTER, .host = h->host};
    char err[512] = "";
    if (F->create(&s, c, (pg_consumer){0}, &e->self, err, sizeof err) ||
        F->start(e->self, err, sizeof err)) {
        fprintf(stderr, "create/start: %s\n", err);
        return -1;
    }
    return 0;
}

static void ex_stop(ex *e)
{
    hx_stop(F, &e->self, &e->cfg);
}

/* go_heap.otlp decoded, with an origin. */
static pg_batch *heap(void)
{
    char path[512], err[256];
    pg_buf in;
    snprintf(path, sizeof path, "%s/otlp/go_heap.otlp", corpus);
    if (hx_read(path, &in)) return NULL;
    pg_batch *b = pg_batch_new(0);
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    if (pg_otlp_decode(b, in.data, in.len, &lim, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        pg_batch_free(b);
        b = NULL;
    } else {
        pg_batch_set_origin(b, "file/test", 1700000000000000000ull);
    }
    pg_buf_free(&in);
    return b;
}

static int consume(ex *e, pg_batch *b)
{
    char err[512] = "";
    return F->consume(e->self, b, err, sizeof err);
}

static void test_config(void)
{
    char err[256] = "";
    CHECK_MSG(pg_cfg_table_check(F->config.table, err, sizeof err) == 0, "%s", err);
    char *e = hx_load_error("receivers:\n  file:\n    include: [a]\nexporters:\n  debug:\n"
                            "    verbosity: loud\nservice:\n  pipelines:\n    profiles:\n"
                            "      receivers: [file]\n      exporters: [debug]\n");
    CHECK_MSG(e && strstr(e, "loud"), "%s", e ? e : "(loaded)");
    free(e);
}

static void test_basic_normal(hx_host *h)
{
    pg_batch *b = heap();
    CHECK(b != NULL);
    if (!b) return;
    size_t profiles = pg_batch_profile_count(b);
    char want[256];
    snprintf(want, sizeof want, "batch: 1 resources, %zu profiles, %zu samples, origin=file/test",
             profiles, pg_batch_sample_count(b));
    ex e = {0};
    int before = hx_count_lines(log_cap, want);
    CHECK(ex_start(&e, h, "    verbosity: basic") == 0); /* default queue */
    CHECK(consume(&e, b) == 0);
    ex_stop(&e); /* drains */
    CHECK(hx_count_lines(log_cap, want) - before == 1);
    CHECK(hx_count_lines(log_cap, "scope 0: profile") == 0);

    before = hx_count_lines(log_cap, "resource 0 scope 0: profile type=");
    CHECK(ex_start(&e, h, "    verbosity: normal\n    sending_queue: {enabled: false}") == 0);
    CHECK(consume(&e, heap()) == 0);
    ex_stop(&e);
    CHECK((size_t)(hx_count_lines(log_cap, "resource 0 scope 0: profile type=") - before) ==
          profiles);
}

static void test_detailed(hx_host *h)
{
    FILE *cap = tmpfile();
    fflush(stderr);
    int saved = dup(2);
    dup2(fileno(cap), 2);
    ex e = {0};
    CHECK(ex_start(&e, h, "    verbosity: detailed\n    sending_queue: {enabled: false}") == 0);
    CHECK(consume(&e, heap()) == 0);
    ex_stop(&e);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    CHECK(hx_count_lines(cap, "    sample values=[") > 10);
    CHECK(hx_count_lines(cap, "resource {") == 1);
    fclose(cap);
}

/* sampling_initial 2, thereafter 3: of 8 batches in one second, #1 #2 #5 #8 are shown. */
static void test_sampling(hx_host *h)
{
    ex e = {0};
    CHECK(ex_start(&e, h,
                   "    sampling_initial: 2\n    sampling_thereafter: 3\n"
                   "    sending_queue: {enabled: false}") == 0);
    pg_batch *bs[8];
    for (int i = 0; i < 8; i++)
        bs[i] = heap();
    while (pg_now_mono_ns() % 1000000000 > 300000000)
        hx_sleep_ms(5); /* early in a second */
    int before = hx_count_lines(log_cap, "origin=file/test");
    for (int i = 0; i < 8; i++)
        CHECK(consume(&e, bs[i]) == 0);
    CHECK(hx_count_lines(log_cap, "origin=file/test") - before == 4);
    ex_stop(&e);
}

int main(int argc, char **argv)
{
    static char corpus_buf[512];
    snprintf(corpus_buf, sizeof corpus_buf, "%s/../fuzz/corpus", argc > 1 ? argv[1] : "tests/data");
    corpus = corpus_buf;
    log_cap = tmpfile();
    pg_log_set_output(log_cap);
    test_config();
    hx_host h;
    hx_host_start(&h);
    test_basic_normal(&h);
    test_detailed(&h);
    test_sampling(&h);
    hx_host_stop(&h);
    pg_log_set_output(NULL);
    if (pg_test_failed) {
        rewind(log_cap);
        char line[4096];
        while (fgets(line, sizeof line, log_cap))
            fputs(line, stderr);
    }
    fclose(log_cap);
    TEST_MAIN_END();
}
