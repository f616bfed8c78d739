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
    pyro_labels_fit(&s, &l, &c);
    CHECK(s.n_labels == 4);
    CHECK(c.cut_labels == 3 && c.dropped_labels == 1);
    CHECK_STR(s.labels[1].name, "nnnnnnnnnnnnnnnnnnnn");
    CHECK_STR(s.labels[1].value, "first");
    CHECK_STR(pyro_series_label(&s, "big"), "\xe2\x82\xac\xe2\x82\xac");
    CHECK(s.spy && strcmp(s.spy, "gospy") == 0);
    pyro_series_free_one(&s);
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
    test_heap(argc > 1 ? argv[1] : "tests/data");
    TEST_MAIN_END();
}
