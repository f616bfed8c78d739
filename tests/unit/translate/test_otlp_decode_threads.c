/* The OTLP decoder reading a scope's profiles on two threads (pipeline/translate/
 * otlp_decode.c, read_two) gives the batch it gives on one: the same canonical dump, the
 * same OTLP bytes when encoded again, and the same sharing of identity columns between
 * neighbouring profiles (the helper's first profile is matched with the one before it only
 * after both are read). Scopes of two to six profiles whose identity columns are all equal,
 * or differ from the previous profile in the stack of the last sample, the attributes of
 * the first, or a link; borrowed and owned input (whose pages both threads hand back as
 * they read); and failures on either side (a truncated sample, the batch's memory cap)
 * with the same status and message. */
#include "testlib.h"
#include "core/edit_fixture.h"
#include "translate/pprof_builder.h"

#include "pipeline/core/dict.h"
#include "pipeline/core/samples.h"
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/otlp_decode_int.h"
#include "pipeline/translate/otlp_dump.h"

#include <stdlib.h>

/* How profile k differs from profile k - 1: '=' not at all, 's' in the stack of the last
 * sample, 'a' in the attributes of the first, 'l' in the link of the middle one. */
static pg_batch *make_batch(const char *pattern, size_t n)
{
    pg_batch *b = pg_batch_new(0);
    int32_t locs[64];
    for (int i = 0; i < 64; i++)
        locs[i] = fx_loc(b, i);
    uint8_t trace[16] = {1, 2, 3}, span[8] = {9, 8, 7};
    int32_t link = pg_dict_link(b, trace, 16, span, 8);
    int32_t attrs[2] = {pg_dict_attr_str(b, "thread", "main", 4), pg_dict_attr_int(b, "n", 7, "")};
    pg_arena *a = pg_batch_arena(b);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    const pg_samples *prev = NULL;
    int32_t diff_stack = pg_dict_stack(b, locs + 50, 3), odd_link = 0, odd_attrs = 1;
    for (size_t k = 0; pattern[k]; k++) {
        char c = pattern[k];
        if (c == 's') diff_stack = pg_dict_stack(b, locs + k, 5);
        if (c == 'l') odd_link = !odd_link;
        if (c == 'a') odd_attrs = !odd_attrs;
        pg_samples_builder sb = {0};
        for (size_t i = 0; i < n; i++) {
            int64_t v = (int64_t)(i * 31 + k);
            pg_sample_ref r = {
                .stack = i + 1 == n ? diff_stack : pg_dict_stack(b, locs + i % 40, 1 + i % 20),
                .link = i == n / 2 && odd_link ? link
                        : i % 7 == 0           ? link
                                               : 0,
                .attrs = attrs,
                .n_attrs = i == 0 ? (size_t)odd_attrs + 1 : i % 3,
                .values = &v,
                .n_values = 1,
            };
            CHECK(r.stack >= 0 && pg_samples_builder_add(&sb, &r) == 0);
        }
        pg_otlp_profile *p = pg_otlp_profile_new(a);
        CHECK(p && pg_samples_builder_finish(&sb, a, p, prev) == 0);
        pg_samples_builder_free(&sb);
        CHECK(pg_otlp_push(a, (void ***)&sp->profiles, &sp->n_profiles, p) == 0);
        prev = pg_profile_columns(p);
    }
    return b;
}

/* What one decode gave: status, message, dump, OTLP bytes, and for each profile after the
 * first which identity columns it shares with the one before (bits: stack, link, attrs). */
typedef struct result {
    int rc;
    char err[512];
    pg_buf dump, otlp;
    unsigned shared[16];
    size_t n_profiles;
} result;

static void sharing(const pg_batch *b, result *r)
{
    const pg_otlp_data *d = pg_batch_data(b);
    const pg_otlp_sprofiles *sp = d->resource_profiles[0]->scope_profiles[0];
    r->n_profiles = sp->n_profiles;
    for (size_t k = 1; k < sp->n_profiles && k < 16; k++) {
        const pg_samples *c = pg_profile_columns(sp->profiles[k]);
        const pg_samples *p = pg_profile_columns(sp->profiles[k - 1]);
        r->shared[k] = (c->stack == p->stack) | (c->link && c->link == p->link) << 1 |
                       (c->attrs && c->attrs == p->attrs && c->attr_off == p->attr_off) << 2;
    }
}

/* Decodes in[0..n) (an owned copy when `owned`) with the scope read on two threads or one. */
static void decode(const pg_buf *in, int owned, int threaded, const pg_decode_limits *lim,
                   result *r)
{
    memset(r, 0, sizeof *r);
    pg_otlp_unpack_set_thread(threaded ? 1 : SIZE_MAX, threaded);
    pg_batch *b = pg_batch_new(lim ? lim->max_arena : 0);
    if (owned) {
        pg_buf copy = {0};
        pg_buf_append(&copy, in->data, in->len);
        r->rc = pg_otlp_decode_owned(b, &copy, lim, r->err, sizeof r->err);
    } else {
        r->rc = pg_otlp_decode(b, in->data, in->len, lim, r->err, sizeof r->err);
    }
    if (r->rc == 0) {
        if (in->len < ((size_t)1 << 20)) /* (the OTLP bytes say it for a large one) */
            pg_otlp_dump(b, PG_DUMP_CANONICAL, &r->dump);
        char e[256];
        CHECK(pg_otlp_encode(b, &r->otlp, e, sizeof e) == 0);
        sharing(b, r);
    }
    pg_batch_free(b);
    pg_otlp_unpack_set_thread(0, 0);
}

static int same_buf(const pg_buf *x, const pg_buf *y)
{
    return x->len == y->len && (!x->len || !memcmp(x->data, y->data, x->len));
}

/* Decodes `in` both ways, borrowed and owned; expects success (1), failure (0) or either
 * (-1), alike on one thread and two. */
static void check(const pg_buf *in, const pg_decode_limits *lim, int expect_ok, const char *what)
{
    for (int owned = 0; owned < 2; owned++) {
        result one, two;
        decode(in, owned, 0, lim, &one);
        decode(in, owned, 1, lim, &two);
        const char *form = owned ? "owned" : "borrowed";
        CHECK_MSG(expect_ok < 0 || (one.rc == 0) == expect_ok, "%s, %s: one thread rc %d (%s)",
                  what, form, one.rc, one.err);
        CHECK_MSG(two.rc == one.rc && !strcmp(one.err, two.err),
                  "%s, %s: two threads rc %d '%s', one %d '%s'", what, form, two.rc, two.err,
                  one.rc, one.err);
        CHECK_MSG(same_buf(&one.dump, &two.dump), "%s, %s: dumps differ", what, form);
        CHECK_MSG(same_buf(&one.otlp, &two.otlp), "%s, %s: OTLP bytes differ", what, form);
        CHECK_MSG(one.n_profiles == two.n_profiles &&
                      !memcmp(one.shared, two.shared, sizeof one.shared),
                  "%s, %s: columns shared otherwise", what, form);
        free(one.dump.data);
        free(one.otlp.data);
        free(two.dump.data);
        free(two.otlp.data);
    }
}

/* Copies message w into out field by field, going down ProfilesData.resource_profiles,
 * ResourceProfiles.scope_profiles and ScopeProfiles.profiles (level 0, 1, 2); in Profile
 * number `target` (level 3; *seen counts them) the first sample becomes a truncated one. */
static void rewrite(pg_wire w, int level, size_t target, size_t *seen, pg_buf *out)
{
    static const uint32_t down[3] = {1, 2, 2};
    int is_target = level == 3 && (*seen)++ == target, replaced = 0;
    uint32_t f;
    int wt;
    const uint8_t *start = w.p;
    while (pg_wire_tag(&w, &f, &wt) == 1) {
        pg_wire sub;
        if (wt == PG_WT_LEN && ((level < 3 && f == down[level]) || (is_target && f == 2))) {
            CHECK(pg_wire_len(&w, &sub) == 0);
            pg_buf part = {0};
            if (level < 3)
                rewrite(sub, level + 1, target, seen, &part);
            else if (replaced++)
                pg_buf_append(&part, sub.p, (size_t)(sub.end - sub.p));
            else
                pg_buf_append(&part, "\x08", 1); /* field 1 without its varint */
            tb_sub(out, f, &part);
            pg_buf_free(&part);
        } else {
            CHECK(pg_wire_skip(&w, wt) == 0);
            pg_buf_append(out, start, (size_t)(w.p - start));
        }
        start = w.p;
    }
}

/* Encodes the batch of `pattern` and checks its decode; returns the bytes (caller frees). */
static pg_buf encoded(const char *pattern, size_t n)
{
    pg_batch *b = make_batch(pattern, n);
    pg_buf out = {0};
    char err[256] = "";
    CHECK_MSG(pg_otlp_encode(b, &out, err, sizeof err) == 0, "%s", err);
    pg_batch_free(b);
    return out;
}

int main(void)
{
    static const char *const patterns[] = {"==",  "=s",   "=a",   "=l",   "===",   "==s",
                                           "=s=", "====", "=a==", "==l=", "=====", "==sa=l"};
    static const size_t counts[] = {1, 5, 300, 3000};
    char what[96];
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++)
        for (size_t p = 0; p < sizeof patterns / sizeof patterns[0]; p++) {
            pg_buf in = encoded(patterns[p], counts[c]);
            snprintf(what, sizeof what, "\"%s\", %zu samples", patterns[p], counts[c]);
            check(&in, NULL, 1, what);
            pg_buf_free(&in);
        }
    /* large enough for both threads to hand input pages back as they read */
    pg_buf big = encoded("====", 60000);
    check(&big, NULL, 1, "\"====\", 60000 samples");
    pg_buf_free(&big);
    /* sharing the helper's first profile is seen, and its own columns went */
    pg_buf in = encoded("====", 5000);
    result r;
    decode(&in, 0, 1, NULL, &r);
    CHECK(r.rc == 0 && r.n_profiles == 4 && r.shared[1] == 7 && r.shared[2] == 7 &&
          r.shared[3] == 7);
    free(r.dump.data);
    free(r.otlp.data);

    /* failures: a sample cut short in the helper's part (the last profile) or this
     * thread's (the first), and the memory cap */
    for (size_t target = 0; target < 4; target++) {
        pg_buf bad = {0};
        size_t seen = 0;
        rewrite(pg_wire_of(in.data, in.len), 0, target, &seen, &bad);
        CHECK(seen == 4 && bad.len < in.len);
        snprintf(what, sizeof what, "a truncated sample in profile %zu", target);
        check(&bad, NULL, 0, what);
        pg_buf_free(&bad);
    }
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    /* too small to read at all, to read on two threads, and enough for two */
    const size_t caps[] = {32 << 10, 200 << 10, in.len * 2, in.len * 16};
    for (size_t k = 0; k < 4; k++) {
        lim.max_arena = caps[k];
        snprintf(what, sizeof what, "memory cap %zu KiB", caps[k] >> 10);
        check(&in, &lim, k < 2 ? 0 : k == 3 ? 1 : -1, what);
    }
    pg_buf_free(&in);
    TEST_MAIN_END();
}
