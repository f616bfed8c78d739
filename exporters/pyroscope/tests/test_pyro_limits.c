/* The pyroscope exporter's limits, pure parts: the UTF-8 cut, series labels cut to their
 * lengths (a repeated cut name dropped, the spy pointer kept valid), and a Go heap
 * profile through pyro_limits_series: split by max_samples without parts holding only
 * all-zero samples, split by max_profile_size with every part fitting, totals kept, a
 * sample that cannot fit dropped and counted. */
#include "exporters/pyroscope/pyroscope_int.h"
#include "pipeline/core/decompress.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/core/samples.h"
#include "pipeline/translate/pprof.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_utf8_cut(void)
{
    const char *euro = "\xe2\x82\xac\xe2\x82\xac"; /* two 3-byte characters */
    CHECK(pyro_utf8_cut("abc", 3, 3) == 3);
    CHECK(pyro_utf8_cut("abcdef", 6, 4) == 4);
    CHECK(pyro_utf8_cut(euro, 6, 5) == 3);
    CHECK(pyro_utf8_cut(euro, 6, 4) == 3);
    CHECK(pyro_utf8_cut(euro, 6, 3) == 3);
    CHECK(pyro_utf8_cut(euro, 6, 2) == 0);
    CHECK(pyro_utf8_cut("a\xf0\x9f\x98\x80z", 6, 4) == 1);       /* inside a 4-byte character */
    CHECK(pyro_utf8_cut("a\xc3\xa9z", 4, 2) == 1);               /* inside a 2-byte character */
    CHECK(pyro_utf8_cut("\x80\x80\x80\x80\x80\x80", 6, 5) == 5); /* not UTF-8: cut as is */
}

static void add_label(pyro_series *s, const char *name, const char *value)
{
    s->labels = realloc(s->labels, (s->n_labels + 1) * sizeof *s->labels);
    s->labels[s->n_labels++] = (pyro_label){strdup(name), strdup(value)};
}

static void test_labels_fit(void)
{
    pyro_series s = {0};
    char name[40], value[40];
    memset(name, 'n', 30);
    name[30] = '\0';
    strcpy(value, "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"); /* 9 bytes */
    add_label(&s, "service_name", "svc");
    add_label(&s, name, "first");
    name[29] = 'm'; /* the same 20-byte prefix */
    add_label(&s, name, "second");
    add_label(&s, "big", value);
    add_label(&s, PYRO_ATTR_SPY, "gospy");
    pyro_limits l = {.max_label_name = 20, .max_label_value = 8};
    pyro_limit_counts c = {0};
    pyro_labels_fit(&s, &l, NULL, &c);
    CHECK(s.n_labels == 4);
    CHECK(c.cut_labels == 3 && c.dropped_labels == 1);
    CHECK_STR(s.labels[1].name, "nnnnnnnnnnnnnnnnnnnn");
    CHECK_STR(s.labels[1].value, "first");
    CHECK_STR(pyro_series_label(&s, "big"), "\xe2\x82\xac\xe2\x82\xac");
    CHECK(s.spy && strcmp(s.spy, "gospy") == 0);
    pyro_series_free_one(&s);
}

/* Past max_label_names labels go, the profile's resource attributes before the user's
 * external labels, each from the last on; those Pyroscope needs stay wherever they are;
 * a series within the count keeps every label. */
static void test_label_count(void)
{
    pyro_series s = {0};
    char name[16];
    add_label(&s, "__name__", "memory");
    add_label(&s, "service_name", "svc");
    for (int i = 0; i < 6; i++) {
        snprintf(name, sizeof name, "l%d", i);
        add_label(&s, name, "v");
    }
    add_label(&s, "team", "a");
    add_label(&s, "regi", "b"); /* cut from the external name "region" */
    add_label(&s, PYRO_ATTR_SPY, "gospy");
    add_label(&s, "__delta__", "false"); /* required, after the surplus */
    char *keys[2] = {"team", "region"}, *values[2] = {"a", "b"};
    pg_cfg_strmap external = {keys, values, 2};
    pyro_limits l = {.max_label_name = 1024, .max_label_value = 2048, .max_label_names = 6};
    pyro_limit_counts c = {0};
    pyro_labels_fit(&s, &l, &external, &c);
    CHECK_MSG(s.n_labels == 6, "%zu labels", s.n_labels);
    CHECK(c.surplus_labels == 6 && c.dropped_labels == 0 && c.cut_labels == 0);
    const char *want[6] = {"__name__", "service_name", "l0", "team", "regi", "__delta__"};
    for (size_t i = 0; i < 6 && i < s.n_labels; i++)
        CHECK_STR(s.labels[i].name, want[i]);
    CHECK(s.spy == NULL); /* the spy label was past the limit: no dangling pointer */
    pyro_series_free_one(&s);

    pyro_series u = {0}; /* too many external labels: the last of them go too */
    add_label(&u, "__name__", "cpu");
    add_label(&u, "service_name", "svc");
    add_label(&u, "l0", "v");
    add_label(&u, "team", "a");
    add_label(&u, "region", "b");
    l.max_label_names = 3;
    c = (pyro_limit_counts){0};
    pyro_labels_fit(&u, &l, &external, &c);
    CHECK(u.n_labels == 3 && c.surplus_labels == 2);
    CHECK_STR(u.labels[2].name, "team");
    pyro_series_free_one(&u);

    pyro_series t = {0};
    add_label(&t, "__name__", "cpu");
    add_label(&t, "service_name", "svc");
    add_label(&t, PYRO_ATTR_SPY, "gospy");
    l.max_label_names = 3;
    c = (pyro_limit_counts){0};
    pyro_labels_fit(&t, &l, NULL, &c);
    CHECK(t.n_labels == 3 && c.surplus_labels == 0 && t.spy && strcmp(t.spy, "gospy") == 0);
    l.max_label_names = 2; /* only the required ones fit */
    pyro_labels_fit(&t, &l, NULL, &c);
    CHECK(t.n_labels == 2 && c.surplus_labels == 1 && !t.spy);
    CHECK_STR(t.labels[1].name, "service_name");
    pyro_series_free_one(&t);
}

/* Per-type totals, samples and samples with a value other than 0 of a gzip'd pprof;
 * *plain its uncompressed size. */
typedef struct summary {
    int64_t total[8];
    size_t samples, nonzero, plain;
} summary;

static void summarise(const pg_buf *gz, summary *out)
{
    char err[256];
    pg_buf raw = {0};
    CHECK(pg_decompress(PG_ENC_GZIP, gz->data, gz->len, 1 << 26, &raw, err, sizeof err) == 0);
    out->plain += raw.len;
    pg_batch *b = pg_batch_new(0);
    CHECK_MSG(pg_pprof_decode(b, raw.data, raw.len, NULL, NULL, err, sizeof err) == 0, "%s", err);
    pg_profile *p[8];
    size_t np = 0;
    pg_profile_iter it;
    pg_profile_iter_init(&it, b);
    while (pg_profile_iter_next(&it) && np < 8) /* the data profiles: positional */
        if (it.profile->msg.sample_type && it.profile->msg.sample_type->type_strindex > 0)
            p[np++] = it.profile;
    size_t n = np ? pg_profile_sample_count(&p[0]->msg) : 0;
    for (size_t i = 0; i < n; i++) {
        int any = 0;
        for (size_t k = 0; k < np; k++) {
            int64_t v = pg_sample_value(p[k], i, 0);
            out->total[k] += v;
            any |= v != 0;
        }
        out->samples++;
        out->nonzero += (size_t)any;
    }
    pg_batch_free(b);
    pg_buf_free(&raw);
}

/* Runs the limits on b and sums what the series hold; *most the most samples, *largest
 * the largest uncompressed pprof. */
static size_t run(const pg_batch *b, const pyro_limits *l, pyro_limit_counts *c, summary *sum,
                  size_t *most, size_t *largest)
{
    char err[256];
    pyro_series *s = NULL;
    size_t n = 0;
    CHECK_MSG(pyro_limits_series(b, l, NULL, &s, &n, c, err, sizeof err) == 0, "%s", err);
    *most = *largest = 0;
    for (size_t i = 0; i < n; i++) {
        summary one = {0};
        summarise(&s[i].pprof, &one);
        CHECK(one.nonzero > 0); /* no part holds only all-zero samples */
        for (int k = 0; k < 8; k++)
            sum->total[k] += one.total[k];
        sum->samples += one.samples;
        sum->nonzero += one.nonzero;
        if (one.samples > *most) *most = one.samples;
        if (one.plain > *largest) *largest = one.plain;
    }
    pyro_series_free(s, n);
    return n;
}

static void test_heap(const char *data_dir)
{
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/../fuzz/corpus/pprof/go_heap.pb.gz", data_dir);
    pg_buf in = {0};
    CHECK(pg_buf_read_file(&in, path, 0, err, sizeof err) == 0);
    summary src = {0};
    summarise(&in, &src);
    CHECK(src.samples == 73 && src.nonzero < src.samples);
    pg_batch *b = pg_batch_new(0);
    CHECK(pg_pprof_decode(b, in.data, in.len, NULL, NULL, err, sizeof err) == 0);
    pyro_limits l = {.enabled = true,
                     .max_samples = 10,
                     .max_stack_depth = 1000,
                     .max_labels = 100,
                     .max_profile_size = 4 << 20,
                     .max_label_name = 1024,
                     .max_label_value = 2048};

    /* by samples: the all-zero samples are left out, the others split in equal parts */
    pyro_limit_counts c = {0};
    summary sum = {0};
    size_t most, largest;
    size_t n = run(b, &l, &c, &sum, &most, &largest);
    CHECK_MSG(n == (src.nonzero + 9) / 10, "%zu pprofs", n);
    CHECK(most <= 10 && c.splits == n - 1);
    CHECK(c.zero_samples == src.samples - src.nonzero && sum.nonzero == src.nonzero);
    CHECK(memcmp(sum.total, src.total, sizeof sum.total) == 0);

    /* a profile within the limits is sent as it is, zero samples included */
    l.max_samples = 1000;
    memset(&c, 0, sizeof c);
    memset(&sum, 0, sizeof sum);
    CHECK(run(b, &l, &c, &sum, &most, &largest) == 1);
    CHECK(sum.samples == src.samples && c.splits == 0 && c.zero_samples == 0);

    /* by size: every part fits, totals kept */
    l.max_profile_size = 1500;
    memset(&c, 0, sizeof c);
    memset(&sum, 0, sizeof sum);
    n = run(b, &l, &c, &sum, &most, &largest);
    CHECK_MSG(n > 1 && largest <= 1500, "%zu pprofs, the largest %zu bytes", n, largest);
    CHECK(c.oversize_samples == 0 && c.splits == n - 1);
    CHECK(memcmp(sum.total, src.total, sizeof sum.total) == 0);

    /* a size no sample fits alone: every one dropped and counted, nothing sent */
    l.max_profile_size = 100;
    memset(&c, 0, sizeof c);
    memset(&sum, 0, sizeof sum);
    CHECK(run(b, &l, &c, &sum, &most, &largest) == 0);
    CHECK(c.oversize_samples == src.nonzero && c.largest_dropped > 100);
    pg_batch_free(b);
    pg_buf_free(&in);
}

int main(int argc, char **argv)
{
    test_utf8_cut();
    test_labels_fit();
    test_label_count();
    test_heap(argc > 1 ? argv[1] : "tests/data");
    TEST_MAIN_END();
}
