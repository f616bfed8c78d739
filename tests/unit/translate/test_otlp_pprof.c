/* OTLP produced elsewhere -> pprof -> OTLP: the three sample shapes, profiles merged into
 * one pprof by identity, links as labels; and malformed OTLP input. */
#include "testlib.h"
#include "testdump.h"

#include "pipeline/core/dict.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/core/samples.h"
#include "pipeline/core/wire.h"
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/otlp_dump.h"
#include "pipeline/translate/pprof.h"

#include <stdlib.h>

static int32_t S(pg_batch *b, const char *s)
{
    return pg_dict_string(b, s, strlen(s));
}

static pg_otlp_valuetype *vt(pg_batch *b, const char *t, const char *u)
{
    pg_otlp_valuetype *v = pg_otlp_valuetype_new(pg_batch_arena(b));
    v->type_strindex = S(b, t);
    v->unit_strindex = S(b, u);
    return v;
}

/* A stack of n frames named f<base+i>. */
static int32_t stack(pg_batch *b, int base, int n)
{
    int32_t locs[8];
    for (int i = 0; i < n; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", base + i);
        int32_t fn = pg_dict_function(b, S(b, name), S(b, name), S(b, "x.c"), 0);
        pg_otlp_line line = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINE__INIT, *lp = &line;
        line.function_index = fn;
        line.line = base + i;
        pg_otlp_location l = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LOCATION__INIT;
        l.address = 0x1000u + (unsigned)(base + i);
        l.lines = &lp;
        l.n_lines = 1;
        locs[i] = pg_dict_location(b, &l);
    }
    return pg_dict_stack(b, locs, (size_t)n);
}

/* A profile of n samples (empty stack, one value 0 each) appended to sp. */
static pg_profile *profile(pg_batch *b, pg_otlp_sprofiles *sp, const char *t, const char *u,
                           size_t n)
{
    pg_profile *pp = pg_profile_add(b, sp, n);
    pg_otlp_profile *p = &pp->msg;
    p->sample_type = vt(b, t, u);
    p->period_type = vt(b, "cpu", "nanoseconds");
    p->period = 10000000;
    p->time_unix_nano = 1700000000000000000ull;
    p->duration_nano = 10000000000ull;
    return pp;
}

static void set_values(pg_batch *b, pg_profile *p, size_t i, const int64_t *v, size_t n)
{
    CHECK(pg_sample_set_values(b, p, i, v, n) == 0);
}

static char *dump(const pg_batch *b)
{
    return pg_test_dump(b);
}

/* otlp -> pprof bytes -> otlp; returns the new batch (or NULL) and the status. */
static pg_batch *through_pprof(const pg_batch *b, int *rc, char *err, size_t errlen)
{
    pg_pprof_group *g = NULL;
    size_t ng = 0;
    *rc = pg_pprof_plan(b, &g, &ng, err, errlen);
    if (*rc) return NULL;
    pg_batch *out = pg_batch_new(0);
    pg_pprof_encode_opts o = {.gzip = 1, .links_as_labels = 1};
    for (size_t i = 0; i < ng && !*rc; i++) {
        pg_buf buf = {0};
        *rc = pg_pprof_encode(b, &g[i], &o, &buf, err, errlen);
        if (!*rc) *rc = pg_pprof_decode(out, buf.data, buf.len, NULL, NULL, err, errlen);
        pg_buf_free(&buf);
    }
    pg_pprof_groups_free(g, ng);
    return out;
}

static void test_values_only_roundtrip(void)
{
    pg_batch *b = pg_batch_new(0);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    pg_profile *p1 = profile(b, sp, "samples", "count", 3);
    pg_profile *p2 = profile(b, sp, "cpu", "nanoseconds", 3);
    int32_t st[3] = {stack(b, 0, 3), stack(b, 10, 2), stack(b, 20, 1)};
    int32_t attr = pg_dict_attr_str(b, "thread", "main", 4);
    int32_t num = pg_dict_attr_int(b, "bytes", 4096, "bytes");
    for (int i = 0; i < 3; i++) {
        int64_t c = i + 1, ns = (i + 1) * 10000000;
        CHECK(pg_sample_set_stack(b, p1, (size_t)i, st[i]) == 0 &&
              pg_sample_set_stack(b, p2, (size_t)i, st[i]) == 0);
        set_values(b, p1, (size_t)i, &c, 1);
        set_values(b, p2, (size_t)i, &ns, 1);
        int32_t ix[2] = {attr, num};
        CHECK(pg_sample_set_attrs(b, p1, (size_t)i, ix, (size_t)(i == 2 ? 2 : 1)) == 0);
        CHECK(pg_sample_set_attrs(b, p2, (size_t)i, ix, (size_t)(i == 2 ? 2 : 1)) == 0);
    }
    char err[256] = "";
    int rc;
    pg_batch *back = through_pprof(b, &rc, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    char *x = dump(b), *y = dump(back);
    CHECK_MSG(strcmp(x, y) == 0,
              "values-only O -> pprof -> O differs:\n--- before\n%s--- after\n%s", x, y);
    free(x);
    free(y);
    pg_batch_free(back);
    pg_batch_free(b);
}

static void test_shapes(void)
{
    /* timestamps only -> count; values + timestamps -> sum; duplicates merged by identity */
    pg_batch *b = pg_batch_new(0);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    pg_profile *p = profile(b, sp, "events", "count", 3);
    int32_t s0 = stack(b, 0, 2);
    uint64_t ts[3] = {1700000000000000001ull, 1700000000000000002ull, 1700000000000000003ull};
    for (size_t i = 0; i < 3; i++)
        CHECK(pg_sample_set_stack(b, p, i, s0) == 0);
    set_values(b, p, 0, NULL, 0);
    CHECK(pg_sample_set_timestamps(b, p, 0, ts, 3) == 0);
    int64_t v2[2] = {5, 7};
    set_values(b, p, 1, v2, 2);
    CHECK(pg_sample_set_timestamps(b, p, 1, ts, 2) == 0);
    int64_t one = 1;
    set_values(b, p, 2, &one, 1);
    char err[256] = "";
    int rc;
    pg_batch *back = through_pprof(b, &rc, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    const pg_otlp_profile *q =
        pg_batch_data(back)->resource_profiles[0]->scope_profiles[0]->profiles[0];
    CHECK(pg_profile_sample_count(q) == 1);
    pg_sample_ref r = {0};
    if (pg_profile_sample_count(q) == 1) pg_sample_at(q, 0, &r);
    CHECK_MSG(r.n_values == 1 && r.values[0] == 3 + 12 + 1, "merged value %lld",
              r.n_values ? (long long)r.values[0] : -1LL);
    pg_batch_free(back);

    /* more than one value without timestamps is refused */
    CHECK(pg_sample_set_timestamps(b, p, 0, NULL, 0) == 0);
    CHECK(pg_sample_set_timestamps(b, p, 1, NULL, 0) == 0);
    back = through_pprof(b, &rc, err, sizeof err);
    CHECK_MSG(rc != 0 && strstr(err, "several values"), "rc=%d %s", rc, err);
    pg_batch_free(back);
    pg_batch_free(b);
}

static void test_links(void)
{
    pg_batch *b = pg_batch_new(0);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    pg_profile *p = profile(b, sp, "samples", "count", 1);
    uint8_t trace[16], span[8];
    for (int i = 0; i < 16; i++)
        trace[i] = (uint8_t)(0xa0 + i);
    for (int i = 0; i < 8; i++)
        span[i] = (uint8_t)(0x10 + i);
    CHECK(pg_sample_set_link(b, p, 0, pg_dict_link(b, trace, 16, span, 8)) == 0);
    CHECK(pg_sample_set_stack(b, p, 0, stack(b, 0, 1)) == 0);
    int64_t one = 1;
    set_values(b, p, 0, &one, 1);
    char err[256] = "";
    int rc;
    pg_batch *back = through_pprof(b, &rc, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    char *y = dump(back);
    CHECK_MSG(strstr(y, "span_id=\"1011121314151617\"") &&
                  strstr(y, "trace_id=\"a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\""),
              "link labels missing:\n%s", y);
    free(y);
    pg_batch_free(back);
    pg_batch_free(b);
}

/* Malformed OTLP: each class is refused with a message. */
static void expect_otlp_error(const uint8_t *p, size_t n, const char *expect)
{
    pg_batch *b = pg_batch_new(0);
    char err[256] = "";
    int rc = pg_otlp_decode(b, p, n, NULL, err, sizeof err);
    CHECK_MSG(rc != 0 && strstr(err, expect), "expected \"%s\", got rc=%d \"%s\"", expect, rc, err);
    pg_batch_free(b);
}

static void test_malformed_otlp(void)
{
    pg_batch *b = pg_batch_new(0);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    pg_profile *p = profile(b, sp, "samples", "count", 1);
    CHECK(pg_sample_set_stack(b, p, 0, stack(b, 0, 2)) == 0);
    int64_t one = 1;
    set_values(b, p, 0, &one, 1);
    pg_buf ok = {0};
    CHECK(pg_otlp_encode(b, &ok, NULL, 0) == 0);
    pg_batch *good = pg_batch_new(0);
    char err[256] = "";
    CHECK_MSG(pg_otlp_decode(good, ok.data, ok.len, NULL, err, sizeof err) == 0, "%s", err);
    pg_batch_free(good);
    /* truncated */
    expect_otlp_error(ok.data, ok.len - 3, "malformed");
    /* out-of-range stack index (the setter refuses it: written into the column) */
    CHECK(pg_sample_set_stack(b, p, 0, 999) == PG_EINVAL);
    pg_profile_stack_col(b, p)[0] = 999;
    pg_buf bad = {0};
    pg_otlp_encode(b, &bad, NULL, 0);
    expect_otlp_error(bad.data, bad.len, "stack index 999 out of range");
    pg_buf_free(&bad);
    pg_profile_stack_col(b, p)[0] = 1;
    /* missing zero element: a non-zero function at index 0 */
    pg_otlp_dict *d = pg_batch_dict(b);
    pg_otlp_function *saved = d->function_table[0];
    d->function_table[0] = d->function_table[1];
    pg_otlp_encode(b, &bad, NULL, 0);
    expect_otlp_error(bad.data, bad.len, "function_table[0] must be the zero Function");
    pg_buf_free(&bad);
    d->function_table[0] = saved;
    /* a bad link */
    uint8_t t5[5] = {1, 2, 3, 4, 5};
    CHECK(pg_sample_set_link(b, p, 0, pg_dict_link(b, t5, 5, t5, 5)) == 0);
    pg_otlp_encode(b, &bad, NULL, 0);
    expect_otlp_error(bad.data, bad.len, "trace_id must be 16 bytes");
    pg_buf_free(&bad);
    /* wrong wire type: field 1 (resource_profiles) as a varint */
    uint8_t wt[] = {0x08, 0x01};
    expect_otlp_error(wt, sizeof wt, "malformed");
    /* a nesting bomb: AnyValue arrays 10000 levels deep in the attribute table */
    pg_buf bomb = {0}, inner = {0};
    for (int i = 0; i < 10000; i++) {
        pg_buf next = {0};
        pg_wire_put_bytes(&next, 1, inner.data, inner.len); /* ArrayValue.values */
        pg_buf any = {0};
        pg_wire_put_bytes(&any, 5, next.data, next.len); /* AnyValue.array_value */
        pg_buf_free(&inner);
        pg_buf_free(&next);
        inner = any;
    }
    pg_buf kvu = {0}, dict = {0};
    pg_wire_put_bytes(&kvu, 2, inner.data, inner.len);
    pg_wire_put_bytes(&dict, 6, kvu.data, kvu.len);
    pg_wire_put_bytes(&bomb, 2, dict.data, dict.len);
    expect_otlp_error(bomb.data, bomb.len, "nest deeper");
    pg_buf_free(&bomb);
    pg_buf_free(&inner);
    pg_buf_free(&kvu);
    pg_buf_free(&dict);
    pg_buf_free(&ok);
    pg_batch_free(b);
}

static void test_merge_reindexes(void)
{
    /* Two batches with different dictionaries merge into one that renders the same. */
    pg_batch *a = pg_batch_new(0), *b = pg_batch_new(0), *m = pg_batch_new(0);
    pg_otlp_sprofiles *sa = pg_batch_add_scope(a, NULL), *sb = pg_batch_add_scope(b, NULL);
    S(b, "padding-to-shift-indices");
    pg_profile *pa = profile(a, sa, "samples", "count", 1),
               *pb = profile(b, sb, "alloc", "bytes", 1);
    CHECK(pg_sample_set_stack(a, pa, 0, stack(a, 0, 3)) == 0);
    CHECK(pg_sample_set_stack(b, pb, 0, stack(b, 1, 3)) == 0);
    int64_t one = 1;
    set_values(a, pa, 0, &one, 1);
    set_values(b, pb, 0, &one, 1);
    char err[128];
    CHECK(pg_batch_merge(m, a, err, sizeof err) == 0);
    CHECK(pg_batch_merge(m, b, err, sizeof err) == 0);
    char *x = dump(a), *y = dump(b), *z = dump(m);
    size_t lx = strlen(x);
    CHECK_MSG(strncmp(z, x, lx) == 0 && strcmp(z + lx, y) == 0, "merge differs:\n%s\n%s\n%s", x, y,
              z);
    /* shared frames deduplicated: f1, f2 appear in both stacks */
    CHECK(pg_batch_dict(m)->n_function_table == 1 + 4);
    free(x);
    free(y);
    free(z);
    pg_batch_free(a);
    pg_batch_free(b);
    pg_batch_free(m);
}

/* The checks of sample columns: a fault in a later sample of a second profile is found
 * (identity columns equal to the first profile's are checked once, others again), and a
 * sample whose value and timestamp counts differ is refused. */
static void test_column_checks(void)
{
    pg_batch *b = pg_batch_new(0);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    pg_profile *p0 = profile(b, sp, "samples", "count", 3), *p1 = profile(b, sp, "cpu", "ns", 3);
    int64_t one = 1;
    for (size_t i = 0; i < 3; i++) {
        int32_t st = stack(b, (int)i, 2);
        CHECK(pg_sample_set_stack(b, p0, i, st) == 0 && pg_sample_set_stack(b, p1, i, st) == 0);
        set_values(b, p0, i, &one, 1);
        set_values(b, p1, i, &one, 1);
    }
    pg_buf good = {0}, bad = {0};
    CHECK(pg_otlp_encode(b, &good, NULL, 0) == 0);
    pg_batch *back = pg_batch_new(0);
    char err[256] = "";
    CHECK_MSG(pg_otlp_decode(back, good.data, good.len, NULL, err, sizeof err) == 0, "%s", err);
    pg_batch_free(back);
    /* profile 1's link column (its own) points past the link table in sample 2 */
    int32_t *links = pg_profile_link_col(b, p1);
    CHECK(links != NULL);
    if (links) {
        links[2] = 77;
        CHECK(pg_otlp_encode(b, &bad, NULL, 0) == 0);
        expect_otlp_error(bad.data, bad.len, "profile 1 sample 2: link index 77 out of range");
        pg_buf_free(&bad);
        links[2] = 0;
    }
    /* profile 1's stack column (its own now) is out of range in sample 1 */
    int32_t *stacks = pg_profile_stack_col(b, p1);
    CHECK(stacks != NULL);
    if (stacks) {
        stacks[1] = -4;
        CHECK(pg_otlp_encode(b, &bad, NULL, 0) == 0);
        expect_otlp_error(bad.data, bad.len, "profile 1 sample 1: stack index -4 out of range");
        pg_buf_free(&bad);
        stacks[1] = stacks[0];
    }
    /* two values but three timestamps in sample 2 of profile 0 */
    int64_t two[2] = {1, 2};
    uint64_t three[3] = {10, 20, 30};
    set_values(b, p0, 2, two, 2);
    CHECK(pg_sample_set_timestamps(b, p0, 2, three, 3) == 0);
    CHECK(pg_otlp_encode(b, &bad, NULL, 0) == 0);
    expect_otlp_error(bad.data, bad.len, "profile 0 sample 2: 2 values but 3 timestamps");
    pg_buf_free(&bad);
    pg_buf_free(&good);
    pg_batch_free(b);
}

/* Labels of attributes and links met once, twice and more (the encoder keeps an entry's
 * labels from its second use on): every sample gets its own, whatever came before. */
static void test_label_memo(void)
{
    pg_batch *b = pg_batch_new(0);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    pg_profile *p = profile(b, sp, "samples", "count", 7);
    uint8_t t1[16] = {0xa1}, t2[16] = {0xb2}, t3[16] = {0xc3}, span[8] = {0x51};
    int32_t l1 = pg_dict_link(b, t1, 16, span, 8), l2 = pg_dict_link(b, t2, 16, span, 8);
    int32_t l3 = pg_dict_link(b, t3, 16, span, 8);
    int32_t thread = pg_dict_attr_str(b, "thread", "main", 4);
    int32_t solo = pg_dict_attr_str(b, "request", "solo", 4);
    int32_t bytes = pg_dict_attr_int(b, "bytes", 4096, "bytes");
    int32_t tid = pg_dict_attr_str(b, "trace_id", "00ff", 4);
    const int32_t attrs[7][2] = {{thread}, {solo, bytes}, {thread}, {thread, tid},
                                 {bytes},  {thread},      {0}};
    const size_t n_attrs[7] = {1, 2, 1, 2, 1, 1, 0};
    const int32_t links[7] = {l1, 0, 0, l2, l1, l3, l1};
    for (size_t i = 0; i < 7; i++) {
        int64_t v = (int64_t)i + 1;
        CHECK(pg_sample_set_stack(b, p, i, stack(b, 10 * (int)i, 1)) == 0);
        set_values(b, p, i, &v, 1);
        CHECK(pg_sample_set_attrs(b, p, i, attrs[i], n_attrs[i]) == 0);
        if (links[i]) CHECK(pg_sample_set_link(b, p, i, links[i]) == 0);
    }
    char err[256] = "";
    int rc;
    pg_batch *back = through_pprof(b, &rc, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    static const char *const want[7] = {
        "values=[1] {span_id=\"5100000000000000\", thread=\"main\", "
        "trace_id=\"a1000000000000000000000000000000\"}\n",
        "values=[2] {bytes=4096 (bytes), request=\"solo\"}\n",
        "values=[3] {thread=\"main\"}\n",
        "values=[4] {thread=\"main\", trace_id=\"00ff\"}\n", /* the label wins over the link */
        "values=[5] {bytes=4096 (bytes), span_id=\"5100000000000000\", "
        "trace_id=\"a1000000000000000000000000000000\"}\n",
        "values=[6] {span_id=\"5100000000000000\", thread=\"main\", "
        "trace_id=\"c3000000000000000000000000000000\"}\n",
        "values=[7] {span_id=\"5100000000000000\", "
        "trace_id=\"a1000000000000000000000000000000\"}\n"};
    char *y = dump(back);
    for (size_t i = 0; i < 7; i++)
        CHECK_MSG(strstr(y, want[i]), "sample %zu: want %s in\n%s", i, want[i], y);
    free(y);
    pg_batch_free(back);
    pg_batch_free(b);
}

int main(void)
{
    test_values_only_roundtrip();
    test_shapes();
    test_links();
    test_label_memo();
    test_malformed_otlp();
    test_column_checks();
    test_merge_reindexes();
    TEST_MAIN_END();
}
