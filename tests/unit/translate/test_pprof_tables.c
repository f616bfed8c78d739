/* Mappings, locations and functions that no sample reaches survive pprof -> OTLP -> pprof,
 * mappings in their order, also when two pprofs share one batch (merged in either order,
 * then compacted): each pprof written back gets exactly its own entries. */
#include "testlib.h"
#include "pprof_builder.h"

#include "pipeline/core/batch.h"
#include "pipeline/core/compact.h"
#include "pipeline/core/merge.h"
#include "pipeline/core/wire.h"
#include "pipeline/translate/pprof.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A one-sample pprof: strings st[0..ns) (1 "samples", 2 "count", 3 the function, 4 its
 * file), mappings (start, limit, filename) m[0..nm), location 1 in mapping `used` at addr
 * calling function 1. Callers append more tables (fields may come in any order). */
static void one_sample(pg_buf *b, const char *const *st, size_t ns, const uint64_t (*m)[3],
                       size_t nm, uint64_t used, uint64_t addr)
{
    tb_value_type(b, 1, 1, 2);
    const uint64_t locs[] = {1}, fn1[] = {1};
    const int64_t vals[] = {7}, ln[] = {12};
    tb_sample(b, locs, 1, vals, 1);
    for (size_t i = 0; i < nm; i++)
        tb_mapping(b, i + 1, m[i][0], m[i][1], m[i][2]);
    tb_location(b, 1, used, addr, fn1, ln, 1);
    tb_function(b, 1, 3, 3, 4, 10);
    for (size_t i = 0; i < ns; i++)
        tb_str(b, st[i]);
}

/* pprof A: mapping[0] /bin/a (used), [vdso] and [vsyscall] (no location), function
 * orphan.fn (no location), location 2 (no sample). */
static void pprof_a(pg_buf *b)
{
    static const char *const st[] = {"",       "samples", "count",      "a.main",
                                     "/bin/a", "[vdso]",  "[vsyscall]", "orphan.fn"};
    static const uint64_t m[][3] = {
        {0x400000, 0x500000, 4}, {0x7ffd0000, 0x7ffd2000, 5}, {0xff600000, 0xff601000, 6}};
    one_sample(b, st, sizeof st / sizeof st[0], m, 3, 1, 0x401000);
    tb_location(b, 2, 1, 0x402000, NULL, NULL, 0);
    tb_function(b, 2, 7, 7, 0, 0);
}

/* pprof B: mapping[0] /bin/b (no location: an orphan main binary), libx.so (used) and
 * [vdso] equal to A's (one dictionary entry once merged); nothing else unreached. */
static void pprof_b(pg_buf *b)
{
    static const char *const st[] = {"",       "samples",      "count", "b.main",
                                     "/bin/b", "/lib/libx.so", "[vdso]"};
    static const uint64_t m[][3] = {
        {0x600000, 0x700000, 4}, {0x7f0000000000, 0x7f0000100000, 5}, {0x7ffd0000, 0x7ffd2000, 6}};
    one_sample(b, st, sizeof st / sizeof st[0], m, 3, 2, 0x7f0000001000);
}

/* pprof C: one mapping, one location, one function, all used. */
static void pprof_c(pg_buf *b)
{
    static const char *const st[] = {"", "samples", "count", "c.main", "/bin/c"};
    static const uint64_t m[][3] = {{0x400000, 0x500000, 4}};
    one_sample(b, st, sizeof st / sizeof st[0], m, 1, 1, 0x401000);
}

static const char *const WANT_A = "maps=/bin/a,[vdso],[vsyscall] locs=2 fns=a.main,orphan.fn";
static const char *const WANT_B = "maps=/bin/b,/lib/libx.so,[vdso] locs=1 fns=b.main";
static const char *const WANT_C = "maps=/bin/c locs=1 fns=c.main";

/* Summarises the tables of a plain pprof: mapping files in table order, the location
 * count, function names in table order. */
static void tables_of(const pg_buf *pb, char *out, size_t outlen)
{
    const char *strs[64] = {0};
    size_t ns = 0, nm = 0, nf = 0, nl = 0;
    uint64_t mfile[16], fname[16];
    pg_wire r = pg_wire_of(pb->data, pb->len), sub;
    uint32_t f, g;
    int wt, wt2;
    while (pg_wire_tag(&r, &f, &wt) == 1) {
        if (wt != PG_WT_LEN) {
            pg_wire_skip(&r, wt);
            continue;
        }
        pg_wire_len(&r, &sub);
        if (f == 6 && ns < 64) {
            char *s = calloc(1, (size_t)(sub.end - sub.p) + 1);
            memcpy(s, sub.p, (size_t)(sub.end - sub.p));
            strs[ns++] = s;
        } else if (f == 4) {
            nl++;
        } else if ((f == 3 && nm < 16) || (f == 5 && nf < 16)) {
            uint64_t v = 0, want = f == 3 ? 5 : 2, got = 0;
            while (pg_wire_tag(&sub, &g, &wt2) == 1) {
                if (wt2 == PG_WT_VARINT)
                    pg_wire_varint(&sub, &v);
                else
                    pg_wire_skip(&sub, wt2);
                if (g == want) got = v;
            }
            if (f == 3)
                mfile[nm++] = got;
            else
                fname[nf++] = got;
        }
    }
    size_t o = (size_t)snprintf(out, outlen, "maps=");
    for (size_t i = 0; i < nm; i++)
        o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? "," : "",
                              mfile[i] < ns ? strs[mfile[i]] : "?");
    o += (size_t)snprintf(out + o, outlen - o, " locs=%zu fns=", nl);
    for (size_t i = 0; i < nf; i++)
        o += (size_t)snprintf(out + o, outlen - o, "%s%s", i ? "," : "",
                              fname[i] < ns ? strs[fname[i]] : "?");
    for (size_t i = 0; i < ns; i++)
        free((void *)strs[i]);
}

/* Decodes the pprof `build` writes into b (a new batch when NULL); returns b. */
static pg_batch *decoded(void (*build)(pg_buf *), pg_batch *b)
{
    pg_buf in = {0};
    build(&in);
    if (!b) b = pg_batch_new(0);
    char err[256] = "";
    int rc = pg_pprof_decode(b, in.data, in.len, NULL, NULL, err, sizeof err);
    CHECK_MSG(rc == 0, "decode: %s", err);
    pg_buf_free(&in);
    return b;
}

/* Plans b, which must give n pprofs, and checks each one's tables against want[]. */
static void check_out(const pg_batch *b, const char *const *want, size_t n, const char *what)
{
    pg_pprof_group *g = NULL;
    size_t ng = 0;
    char err[256] = "";
    int rc = pg_pprof_plan(b, &g, &ng, err, sizeof err);
    CHECK_MSG(rc == 0 && ng == n, "%s: plan rc=%d, %zu pprofs, want %zu", what, rc, ng, n);
    for (size_t i = 0; rc == 0 && i < ng && i < n; i++) {
        pg_buf out = {0};
        pg_pprof_encode_opts o = {.gzip = 0, .links_as_labels = 1};
        rc = pg_pprof_encode(b, &g[i], &o, &out, err, sizeof err);
        CHECK_MSG(rc == 0, "%s: encode: %s", what, err);
        char got[512];
        tables_of(&out, got, sizeof got);
        CHECK_MSG(strcmp(got, want[i]) == 0, "%s, pprof %zu: got \"%s\", want \"%s\"", what, i, got,
                  want[i]);
        pg_buf_free(&out);
    }
    pg_pprof_groups_free(g, ng);
}

int main(void)
{
    pg_batch *a = decoded(pprof_a, NULL), *b = decoded(pprof_b, NULL);
    check_out(a, &WANT_A, 1, "A alone");
    check_out(b, &WANT_B, 1, "B alone");

    const char *const ab[] = {WANT_A, WANT_B}, *const ba[] = {WANT_B, WANT_A};
    /* decoded one after the other into one batch: B's sample stack is A's location in
     * another mapping, so nothing is shared but [vdso] */
    pg_batch *one = decoded(pprof_b, decoded(pprof_a, NULL));
    check_out(one, ab, 2, "A and B decoded into one batch");
    pg_batch_free(one);

    char err[256] = "";
    pg_batch *m = pg_batch_new(0), *r = pg_batch_new(0);
    CHECK(pg_batch_merge(m, a, err, sizeof err) == 0 && pg_batch_merge(m, b, err, sizeof err) == 0);
    CHECK(pg_batch_merge(r, b, err, sizeof err) == 0 && pg_batch_merge(r, a, err, sizeof err) == 0);
    check_out(m, ab, 2, "A then B merged");
    check_out(r, ba, 2, "B then A merged");
    pg_compact_stats st;
    CHECK(pg_batch_compact(m, &st, err, sizeof err) == 0);
    CHECK(pg_batch_compact(r, &st, err, sizeof err) == 0);
    check_out(m, ab, 2, "A then B merged, compacted");
    check_out(r, ba, 2, "B then A merged, compacted");

    /* a pprof with nothing unreached gets no record: its scope keeps one profile per type */
    pg_buf in = {0};
    pprof_c(&in);
    pg_batch *c = pg_batch_new(0);
    pg_otlp_sprofiles *sp = NULL;
    CHECK(pg_pprof_decode(c, in.data, in.len, NULL, &sp, err, sizeof err) == 0);
    CHECK(sp && sp->n_profiles == 1);
    check_out(c, &WANT_C, 1, "C alone");
    pg_buf_free(&in);
    /* A's scope: its sample type, then the record */
    const pg_otlp_data *d = pg_batch_data(a);
    CHECK(d->n_resource_profiles == 1 &&
          d->resource_profiles[0]->scope_profiles[0]->n_profiles == 2);

    pg_batch_free(a);
    pg_batch_free(b);
    pg_batch_free(c);
    pg_batch_free(m);
    pg_batch_free(r);
    TEST_MAIN_END();
}
