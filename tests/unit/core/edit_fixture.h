/* Shared by the edit API tests: small batch builders (frames, stacks, profiles through
 * pg_profile_add), a pprof round trip and a canonical dump. */
#ifndef PG_TEST_EDIT_FIXTURE_H
#define PG_TEST_EDIT_FIXTURE_H

#include "testlib.h"
#include "testdump.h"

#include "pipeline/core/dict.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/core/stacks.h"
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/otlp_dump.h"
#include "pipeline/translate/pprof.h"

#include <stdio.h>
#include <stdlib.h>

static inline int32_t fx_str(pg_batch *b, const char *s)
{
    return pg_dict_string(b, s, strlen(s));
}

/* The location of a frame named f<i> in x.c, line i. */
static inline int32_t fx_loc(pg_batch *b, int i)
{
    char name[16];
    snprintf(name, sizeof name, "f%d", i);
    int32_t fn = pg_dict_function(b, fx_str(b, name), fx_str(b, name), fx_str(b, "x.c"), 0);
    pg_otlp_line line = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINE__INIT, *lp = &line;
    line.function_index = fn;
    line.line = i;
    pg_otlp_location l = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LOCATION__INIT;
    l.address = 0x1000u + (unsigned)i;
    l.lines = &lp;
    l.n_lines = 1;
    return pg_dict_location(b, &l);
}

/* A stack of n frames f<base>..f<base+n-1>. */
static inline int32_t fx_stack(pg_batch *b, int base, int n)
{
    int32_t locs[16];
    for (int i = 0; i < n; i++)
        locs[i] = fx_loc(b, base + i);
    return pg_dict_stack(b, locs, (size_t)n);
}

static inline pg_otlp_valuetype *fx_vt(pg_batch *b, const char *t, const char *u)
{
    pg_otlp_valuetype *v = pg_otlp_valuetype_new(pg_batch_arena(b));
    v->type_strindex = fx_str(b, t);
    v->unit_strindex = fx_str(b, u);
    return v;
}

/* A profile of type t/u with n samples: sample i has stack f<10i>.. (2 frames), value
 * base + i and, for odd i, the attribute thread=main. */
static inline pg_profile *fx_profile(pg_batch *b, pg_otlp_sprofiles *sp, const char *t,
                                     const char *u, size_t n, int64_t base)
{
    pg_profile *p = pg_profile_add(b, sp, n);
    p->msg.sample_type = fx_vt(b, t, u);
    p->msg.period_type = fx_vt(b, "cpu", "nanoseconds");
    p->msg.period = 10000000;
    p->msg.time_unix_nano = 1700000000000000000ull;
    int32_t attr = pg_dict_attr_str(b, "thread", "main", 4);
    for (size_t i = 0; i < n; i++) {
        CHECK(pg_sample_set_stack(b, p, i, fx_stack(b, (int)i * 10, 2)) == 0);
        CHECK(pg_sample_set_value(b, p, i, 0, base + (int64_t)i) == 0);
        if (i % 2) CHECK(pg_sample_set_attrs(b, p, i, &attr, 1) == 0);
    }
    return p;
}

/* A batch whose one scope holds two profiles (samples/count and cpu/nanoseconds) of n
 * samples with the same identity columns, decoded from the pprof they make: their stack
 * and attribute columns are shared, as for any pprof with two sample types. */
static inline pg_batch *fx_pprof_batch(size_t n)
{
    pg_batch *src = pg_batch_new(0);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(src, NULL);
    fx_profile(src, sp, "samples", "count", n, 1);
    fx_profile(src, sp, "cpu", "nanoseconds", n, 1000);
    pg_pprof_group *g = NULL;
    size_t ng = 0;
    char err[256] = "";
    pg_batch *out = pg_batch_new(0);
    CHECK_MSG(pg_pprof_plan(src, &g, &ng, err, sizeof err) == 0 && ng == 1, "%s", err);
    pg_pprof_encode_opts o = {.gzip = 0, .links_as_labels = 1};
    pg_buf buf = {0};
    CHECK_MSG(ng == 1 && pg_pprof_encode(src, &g[0], &o, &buf, err, sizeof err) == 0, "%s", err);
    CHECK_MSG(pg_pprof_decode(out, buf.data, buf.len, NULL, NULL, err, sizeof err) == 0, "%s", err);
    pg_buf_free(&buf);
    pg_pprof_groups_free(g, ng);
    pg_batch_free(src);
    return out;
}

/* Profile k of the batch (in iteration order). */
static inline pg_profile *fx_nth(pg_batch *b, size_t k)
{
    pg_profile_iter it;
    for (pg_profile_iter_init(&it, b); pg_profile_iter_next(&it);)
        if (k-- == 0) return it.profile;
    return NULL;
}

/* b -> OTLP bytes -> a new batch (NULL on failure). */
static inline pg_batch *fx_through_otlp(const pg_batch *b)
{
    pg_buf buf = {0};
    char err[256] = "";
    pg_batch *out = pg_batch_new(0);
    int rc = pg_otlp_encode(b, &buf, err, sizeof err);
    if (!rc) rc = pg_otlp_decode(out, buf.data, buf.len, NULL, err, sizeof err);
    CHECK_MSG(rc == 0, "otlp round trip: %s", err);
    pg_buf_free(&buf);
    return out;
}

/* b -> pprof (one per group) -> a new batch. */
static inline pg_batch *fx_through_pprof(const pg_batch *b)
{
    pg_pprof_group *g = NULL;
    size_t ng = 0;
    char err[256] = "";
    int rc = pg_pprof_plan(b, &g, &ng, err, sizeof err);
    pg_batch *out = pg_batch_new(0);
    pg_pprof_encode_opts o = {.gzip = 1, .links_as_labels = 1};
    for (size_t i = 0; i < ng && !rc; i++) {
        pg_buf buf = {0};
        rc = pg_pprof_encode(b, &g[i], &o, &buf, err, sizeof err);
        if (!rc) rc = pg_pprof_decode(out, buf.data, buf.len, NULL, NULL, err, sizeof err);
        pg_buf_free(&buf);
    }
    CHECK_MSG(rc == 0, "pprof round trip: %s", err);
    pg_pprof_groups_free(g, ng);
    return out;
}

/* 1 when the dumps of a and b are equal (prints both otherwise). */
static inline int fx_same(const pg_batch *a, const pg_batch *b, const char *what)
{
    char *x = pg_test_dump(a), *y = pg_test_dump(b);
    int same = strcmp(x, y) == 0;
    if (!same) fprintf(stderr, "%s differs:\n--- before\n%s--- after\n%s", what, x, y);
    free(x);
    free(y);
    return same;
}

#endif
