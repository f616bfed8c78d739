/* Metrics registry: the exposition parsed back (HELP/TYPE once per name and before its
 * samples, counters, cumulative histogram buckets, label escaping), exact concurrent
 * counts, callbacks and their removal, the standard component and process series. */
#include "pipeline/core/err.h"
#include "pipeline/telemetry/metrics.h"
#include "testlib.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- a small parser for the text format ---- */

typedef struct sample {
    char name[128];
    char labels[512]; /* as written between the braces (escaped) */
    double value;
} sample;

typedef struct family {
    char name[128], type[16], help[256];
    int n_help, n_type;
} family;

typedef struct expo {
    sample s[512];
    size_t ns;
    family f[128];
    size_t nf;
    int errors; /* lines that did not parse or came out of order */
} expo;

static family *fam(expo *e, const char *name)
{
    for (size_t i = 0; i < e->nf; i++)
        if (strcmp(e->f[i].name, name) == 0) return &e->f[i];
    if (e->nf == 128) return NULL;
    family *f = &e->f[e->nf++];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    return f;
}

/* The family a sample name belongs to (histogram suffixes stripped when the base is one). */
static family *fam_of_sample(expo *e, const char *name)
{
    static const char *const sfx[] = {"_bucket", "_sum", "_count"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(name), k = strlen(sfx[i]);
        if (n > k && strcmp(name + n - k, sfx[i]) == 0) {
            char base[128];
            snprintf(base, sizeof base, "%.*s", (int)(n - k), name);
            for (size_t j = 0; j < e->nf; j++)
                if (strcmp(e->f[j].name, base) == 0 && strcmp(e->f[j].type, "histogram") == 0)
                    return &e->f[j];
        }
    }
    for (size_t j = 0; j < e->nf; j++)
        if (strcmp(e->f[j].name, name) == 0) return &e->f[j];
    return NULL;
}

static void parse(expo *e, const char *text)
{
    memset(e, 0, sizeof *e);
    char *copy = strdup(text), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[128];
        if (strncmp(line, "# HELP ", 7) == 0) {
            if (sscanf(line + 7, "%127s", name) != 1) {
                e->errors++;
                continue;
            }
            family *f = fam(e, name);
            if (!f || f->n_type) {
                e->errors++;
                continue;
            } /* HELP after TYPE */
            f->n_help++;
            snprintf(f->help, sizeof f->help, "%s", line + 7 + strlen(name) + 1);
        } else if (strncmp(line, "# TYPE ", 7) == 0) {
            char type[16];
            if (sscanf(line + 7, "%127s %15s", name, type) != 2) {
                e->errors++;
                continue;
            }
            family *f = fam(e, name);
            if (!f) {
                e->errors++;
                continue;
            }
            f->n_type++;
            snprintf(f->type, sizeof f->type, "%s", type);
        } else if (line[0] == '#') {
            e->errors++;
        } else {
            if (e->ns == 512) {
                e->errors++;
                continue;
            }
            sample *s = &e->s[e->ns];
            size_t n = strcspn(line, "{ ");
            snprintf(s->name, sizeof s->name, "%.*s", (int)n, line);
            const char *p = line + n;
            s->labels[0] = 0;
            if (*p == '{') {
                /* find the closing brace outside quotes */
                const char *q = p + 1;
                int inq = 0;
                for (; *q && (inq || *q != '}'); q++) {
                    if (inq && *q == '\\' && q[1]) {
                        q++;
                        continue;
                    }
                    if (*q == '"') inq = !inq;
                }
                if (*q != '}') {
                    e->errors++;
                    continue;
                }
                snprintf(s->labels, sizeof s->labels, "%.*s", (int)(q - p - 1), p + 1);
                p = q + 1;
            }
            if (*p != ' ') {
                e->errors++;
                continue;
            }
            char *end;
            s->value = strcmp(p + 1, "+Inf") == 0 ? INFINITY : strtod(p + 1, &end);
            family *f = fam_of_sample(e, s->name);
            if (!f || !f->n_type) {
                e->errors++;
                continue;
            } /* sample before its TYPE */
            e->ns++;
        }
    }
    free(copy);
}

/* The value of the sample name{labels}; NAN when absent. */
static double val(const expo *e, const char *name, const char *labels)
{
    for (size_t i = 0; i < e->ns; i++)
        if (strcmp(e->s[i].name, name) == 0 && strcmp(e->s[i].labels, labels) == 0)
            return e->s[i].value;
    return NAN;
}

static const family *family_named(const expo *e, const char *name)
{
    for (size_t i = 0; i < e->nf; i++)
        if (strcmp(e->f[i].name, name) == 0) return &e->f[i];
    return NULL;
}

static void render(pg_metrics *m, expo *e)
{
    pg_buf b = {0};
    CHECK(pg_metrics_write(m, &b) == 0);
    pg_buf_append(&b, "", 1);
    parse(e, (const char *)b.data);
    pg_buf_free(&b);
}

/* ---- tests ---- */

static void test_exposition(void)
{
    pg_metrics *m = pg_metrics_new();
    pg_counter *a = pg_metrics_counter(m, "pg_test_requests_total", "Requests.\nSecond \\ line",
                                       "exporter=\"file/out\"");
    pg_counter *b =
        pg_metrics_counter(m, "pg_test_requests_total", "ignored", "exporter=\"debug\"");
    CHECK(a && b && a != b);
    CHECK(pg_metrics_counter(m, "pg_test_requests_total", NULL, "exporter = \"file/out\"") == a);
    pg_counter_add(a, 5);
    pg_counter_add(a, 2);
    pg_counter_add(b, 1);
    CHECK(pg_counter_get(a) == 7);
    /* a counter without _total gets it */
    pg_counter *c = pg_metrics_counter(m, "pg_test_plain", "Plain.", NULL);
    pg_counter_add(c, 3);
    CHECK(pg_metrics_counter(m, "pg_test_plain_total", NULL, "") == c);
    pg_gauge *g = pg_metrics_gauge(m, "pg_test_queue_size", "Queue size.", "exporter=\"x\"");
    pg_gauge_set(g, 10);
    pg_gauge_add(g, -3);
    CHECK(pg_gauge_get(g) == 7);
    pg_gauge *neg = pg_metrics_gauge(m, "pg_test_neg", "Negative.", NULL);
    pg_gauge_set(neg, -42);

    expo e;
    render(m, &e);
    CHECK(e.errors == 0);
    const family *f = family_named(&e, "pg_test_requests_total");
    CHECK(f && f->n_help == 1 && f->n_type == 1 && strcmp(f->type, "counter") == 0);
    if (f) CHECK_STR(f->help, "Requests.\\nSecond \\\\ line");
    CHECK(val(&e, "pg_test_requests_total", "exporter=\"file/out\"") == 7);
    CHECK(val(&e, "pg_test_requests_total", "exporter=\"debug\"") == 1);
    f = family_named(&e, "pg_test_plain_total");
    CHECK(f && strcmp(f->type, "counter") == 0);
    CHECK(val(&e, "pg_test_plain_total", "") == 3);
    f = family_named(&e, "pg_test_queue_size");
    CHECK(f && strcmp(f->type, "gauge") == 0 && f->n_type == 1);
    CHECK(val(&e, "pg_test_queue_size", "exporter=\"x\"") == 7);
    CHECK(val(&e, "pg_test_neg", "") == -42);
    pg_metrics_free(m);
}

static void test_labels(void)
{
    pg_metrics *m = pg_metrics_new();
    char l[256] = "";
    CHECK(pg_metrics_label(l, sizeof l, "receiver", "we\"ird\\id\nx") == 0);
    CHECK(pg_metrics_label(l, sizeof l, "tenant", "t1") == 0);
    CHECK_STR(l, "receiver=\"we\\\"ird\\\\id\\nx\",tenant=\"t1\"");
    CHECK(pg_metrics_label(l, sizeof l, "bad-name", "v") == PG_EINVAL);
    char tiny[12] = "";
    CHECK(pg_metrics_label(tiny, sizeof tiny, "abc", "0123456789") == PG_ELIMIT);
    CHECK_STR(tiny, "");

    pg_counter *c = pg_metrics_counter(m, "pg_test_esc_total", "Escapes.", l);
    CHECK(c != NULL);
    pg_counter_add(c, 1);
    /* malformed label text is refused (NULL, no crash on use) */
    CHECK(pg_metrics_counter(m, "pg_test_bad_total", "x", "a=\"unterminated") == NULL);
    CHECK(pg_metrics_counter(m, "pg_test_bad_total", "x", "a=unquoted") == NULL);
    CHECK(pg_metrics_counter(m, "pg_test_bad_total", "x", "1a=\"v\"") == NULL);
    CHECK(pg_metrics_counter(m, "pg_test_bad_total", "x", "a=\"bad \\q escape\"") == NULL);
    pg_counter_add(NULL, 1);
    CHECK(pg_counter_get(NULL) == 0);
    /* a name registered with another type */
    CHECK(pg_metrics_gauge(m, "pg_test_esc_total", "x", NULL) == NULL);
    /* invalid characters in a name */
    pg_gauge *g = pg_metrics_gauge(m, "pg.test-dots", "Dots.", NULL);
    pg_gauge_set(g, 1);

    expo e;
    render(m, &e);
    CHECK(e.errors == 0);
    CHECK(val(&e, "pg_test_esc_total", "receiver=\"we\\\"ird\\\\id\\nx\",tenant=\"t1\"") == 1);
    CHECK(val(&e, "pg_test_dots", "") == 1);
    CHECK(family_named(&e, "pg_test_bad_total") == NULL);
    pg_metrics_free(m);
}

static void test_histogram(void)
{
    pg_metrics *m = pg_metrics_new();
    const double bounds[] = {0.1, 1, 0.5, 1}; /* unsorted, duplicate: normalised */
    pg_histogram *h =
        pg_metrics_histogram(m, "pg_test_latency_seconds", "Latency.", "exporter=\"e\"", bounds, 4);
    CHECK(h != NULL);
    CHECK(pg_metrics_histogram(m, "pg_test_latency_seconds", NULL, "exporter=\"e\"", NULL, 0) == h);
    CHECK(pg_metrics_histogram(m, "pg_test_latency_seconds", NULL, "le=\"1\"", bounds, 4) == NULL);
    const double obs[] = {0.05, 0.1, 0.3, 0.7, 0.9, 2, 100};
    double sum = 0;
    for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++) {
        pg_histogram_observe(h, obs[i]);
        sum += obs[i];
    }
    pg_histogram_observe(h, NAN); /* ignored */
    CHECK(pg_histogram_count(h) == 7);

    expo e;
    render(m, &e);
    CHECK(e.errors == 0);
    const family *f = family_named(&e, "pg_test_latency_seconds");
    CHECK(f && strcmp(f->type, "histogram") == 0 && f->n_help == 1 && f->n_type == 1);
    const char *name = "pg_test_latency_seconds_bucket";
    CHECK(val(&e, name, "exporter=\"e\",le=\"0.1\"") == 2); /* le is inclusive */
    CHECK(val(&e, name, "exporter=\"e\",le=\"0.5\"") == 3);
    CHECK(val(&e, name, "exporter=\"e\",le=\"1\"") == 5);
    CHECK(val(&e, name, "exporter=\"e\",le=\"+Inf\"") == 7);
    CHECK(val(&e, "pg_test_latency_seconds_count", "exporter=\"e\"") == 7);
    CHECK(fabs(val(&e, "pg_test_latency_seconds_sum", "exporter=\"e\"") - sum) < 1e-9);
    /* cumulative: non-decreasing in order of appearance, last is +Inf */
    double prev = -1;
    int nb = 0;
    const char *last = NULL;
    for (size_t i = 0; i < e.ns; i++)
        if (strcmp(e.s[i].name, name) == 0) {
            CHECK(e.s[i].value >= prev);
            prev = e.s[i].value;
            last = e.s[i].labels;
            nb++;
        }
    CHECK(nb == 4);
    CHECK(last && strstr(last, "le=\"+Inf\"") != NULL);
    pg_metrics_free(m);
}

static double fn_value(void *ctx)
{
    return *(double *)ctx;
}

static void test_callbacks(void)
{
    pg_metrics *m = pg_metrics_new();
    double v1 = 12.5, v2 = 3;
    CHECK(pg_metrics_gauge_fn(m, "pg_test_fn", "Fn.", "q=\"1\"", fn_value, &v1) == 0);
    CHECK(pg_metrics_gauge_fn(m, "pg_test_fn", "Fn.", "q=\"2\"", fn_value, &v2) == 0);
    CHECK(pg_metrics_counter_fn(m, "pg_test_fn_count_total", "Fn count.", NULL, fn_value, &v2) ==
          0);
    expo e;
    render(m, &e);
    CHECK(e.errors == 0);
    CHECK(val(&e, "pg_test_fn", "q=\"1\"") == 12.5);
    CHECK(val(&e, "pg_test_fn", "q=\"2\"") == 3);
    CHECK(val(&e, "pg_test_fn_count_total", "") == 3);
    /* re-registration re-points; forget removes every series of a ctx */
    CHECK(pg_metrics_gauge_fn(m, "pg_test_fn", "Fn.", "q=\"1\"", fn_value, &v2) == 0);
    pg_metrics_forget(m, &v1);
    render(m, &e);
    CHECK(val(&e, "pg_test_fn", "q=\"1\"") == 3);
    pg_metrics_forget(m, &v2);
    render(m, &e);
    CHECK(e.errors == 0);
    CHECK(family_named(&e, "pg_test_fn") == NULL); /* no series left: no HELP/TYPE either */
    CHECK(isnan(val(&e, "pg_test_fn_count_total", "")));
    pg_metrics_free(m);
}

enum { THREADS = 4, PER_THREAD = 250000 };

typedef struct worker_arg {
    pg_metrics *m;
    pg_counter *c;
} worker_arg;

static void *worker(void *arg)
{
    worker_arg *w = arg;
    pg_histogram *h = pg_metrics_histogram(w->m, "pg_test_conc_seconds", "Conc.", NULL,
                                           (const double[]){1, 2}, 2);
    for (int i = 0; i < PER_THREAD; i++) {
        pg_counter_add(w->c, 1);
        if (i % 100 == 0) pg_histogram_observe(h, (double)(i % 3));
        if (i % 50000 == 0) { /* registration and exposition while others update */
            pg_counter_add(pg_metrics_counter(w->m, "pg_test_conc_total", "Conc.", NULL), 0);
            pg_buf b = {0};
            pg_metrics_write(w->m, &b);
            pg_buf_free(&b);
        }
    }
    return NULL;
}

static void test_concurrency(void)
{
    pg_metrics *m = pg_metrics_new();
    worker_arg w = {m, pg_metrics_counter(m, "pg_test_conc_total", "Conc.", NULL)};
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, &w);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    CHECK(pg_counter_get(w.c) == (uint64_t)THREADS * PER_THREAD);
    expo e;
    render(m, &e);
    CHECK(val(&e, "pg_test_conc_total", "") == (double)THREADS * PER_THREAD);
    CHECK(val(&e, "pg_test_conc_seconds_count", "") == THREADS * PER_THREAD / 100);
    pg_metrics_free(m);
}

static void test_component_and_process(void)
{
    pg_metrics *m = pg_metrics_new();
    pg_component_metrics r, p, x;
    pg_component_metrics_init(&r, m, "receiver", "file/in");
    pg_component_metrics_init(&p, m, "processor", "memory_limiter");
    pg_component_metrics_init(&x, m, "exporter", "file/out");
    CHECK(r.accepted_profiles && r.accepted_samples && r.accepted_bytes && r.refused_profiles &&
          r.refused_samples && !r.sent_profiles && !r.incoming_profiles);
    CHECK(p.incoming_profiles && p.outgoing_profiles && p.dropped_profiles && !p.accepted_profiles);
    CHECK(x.sent_profiles && x.sent_samples && x.sent_bytes && x.failed_profiles &&
          x.failed_samples && x.enqueue_failed_profiles && x.enqueue_failed_samples && x.retries &&
          x.send_latency && !x.accepted_profiles);
    pg_counter_add(r.accepted_profiles, 2);
    pg_counter_add(x.retries, 4);
    pg_histogram_observe(x.send_latency, 0.02);
    CHECK(pg_metrics_add_process(m) == 0);
    CHECK(pg_process_rss_bytes() > 0);

    expo e;
    render(m, &e);
    CHECK(e.errors == 0);
    for (size_t i = 0; i < e.nf; i++)
        CHECK_MSG(e.f[i].n_help == 1 && e.f[i].n_type == 1, "%s", e.f[i].name);
    static const char *const names[] = {"profgate_receiver_accepted_profiles_total",
                                        "profgate_receiver_accepted_samples_total",
                                        "profgate_receiver_accepted_bytes_total",
                                        "profgate_receiver_refused_profiles_total",
                                        "profgate_receiver_refused_samples_total",
                                        "profgate_processor_incoming_profiles_total",
                                        "profgate_processor_outgoing_profiles_total",
                                        "profgate_processor_dropped_profiles_total",
                                        "profgate_exporter_sent_profiles_total",
                                        "profgate_exporter_sent_samples_total",
                                        "profgate_exporter_sent_bytes_total",
                                        "profgate_exporter_send_failed_profiles_total",
                                        "profgate_exporter_send_failed_samples_total",
                                        "profgate_exporter_enqueue_failed_profiles_total",
                                        "profgate_exporter_enqueue_failed_samples_total",
                                        "profgate_exporter_retries_total",
                                        "profgate_exporter_send_latency_seconds",
                                        "process_resident_memory_bytes",
                                        "process_virtual_memory_bytes",
                                        "process_cpu_seconds_total",
                                        "process_start_time_seconds",
                                        "process_open_fds",
                                        "process_max_fds"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CHECK_MSG(family_named(&e, names[i]) != NULL, "missing %s", names[i]);
    CHECK(val(&e, "profgate_receiver_accepted_profiles_total", "receiver=\"file/in\"") == 2);
    CHECK(val(&e, "profgate_exporter_retries_total", "exporter=\"file/out\"") == 4);
    CHECK(val(&e, "profgate_exporter_send_latency_seconds_bucket",
              "exporter=\"file/out\",le=\"0.025\"") == 1);
    CHECK(val(&e, "profgate_exporter_send_latency_seconds_bucket",
              "exporter=\"file/out\",le=\"0.01\"") == 0);
    CHECK(val(&e, "process_resident_memory_bytes", "") > 1e6);
    CHECK(val(&e, "process_open_fds", "") >= 3);
    double start = val(&e, "process_start_time_seconds", "");
    CHECK(start > 1.6e9 && start < 4e9);
    CHECK(val(&e, "process_cpu_seconds_total", "") >= 0);
    const family *f = family_named(&e, "process_cpu_seconds_total");
    CHECK(f && strcmp(f->type, "counter") == 0);
    pg_metrics_free(m);
}

int main(void)
{
    test_exposition();
    test_labels();
    test_histogram();
    test_callbacks();
    test_concurrency();
    test_component_and_process();
    TEST_MAIN_END();
}
