/* The pprof decoder's location table read by two threads (pipeline/translate/
 * pprof_decode_locations.c) decodes every profile exactly as one thread does: the same
 * status and message, canonical dump and OTLP bytes. Tables of a few thousand locations
 * with one to three lines, none, mappings, folded locations (read again by the calling
 * thread), locations equal to earlier ones in the other thread's part and in the same one,
 * sparse ids; and failures in either part: a malformed location, unknown function and
 * mapping ids, a duplicate and a zero location id, both parts failing (the earlier one is
 * reported), and a memory cap. */
#include "testlib.h"
#include "pprof_builder.h"

#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/otlp_dump.h"
#include "pipeline/translate/pprof.h"
#include "pipeline/translate/pprof_decode_int.h"

#include <stdlib.h>

/* How a test table looks. */
typedef struct shape {
    size_t n;           /* locations */
    int sparse;         /* ids far apart */
    size_t malformed;   /* location with a bad wire type (SIZE_MAX: none) */
    size_t bad_fn;      /* location referring to an unknown function */
    size_t bad_mapping; /* location referring to an unknown mapping */
    size_t dup_id;      /* location reusing the first one's id */
    size_t zero_id;     /* location with id 0 */
} shape;

#define NONE SIZE_MAX

static uint64_t loc_id(const shape *sh, size_t i)
{
    return sh->sparse ? (i + 1) * 1000003 : i + 1;
}

/* Appends location i of the shape. */
static void location(pg_buf *b, const shape *sh, size_t i)
{
    uint64_t id = i == sh->dup_id ? loc_id(sh, 0) : i == sh->zero_id ? 0 : loc_id(sh, i);
    uint64_t fn[3] = {i % 50 + 1, (i * 7) % 50 + 1, (i * 11) % 50 + 1};
    int64_t line[3] = {(int64_t)i, (int64_t)i + 3, -(int64_t)i};
    if (i == sh->bad_fn) fn[1] = 777;
    uint64_t mapping = i == sh->bad_mapping ? 9 : i % 3; /* mappings 1 and 2 exist */
    uint64_t addr = 0x400000 + i * 16;
    if (i % 97 == 5) addr = 0x400000 + 5 * 16; /* equal to location 5 (same lines below) */
    size_t nl = i % 4;
    if (i % 97 == 5) {
        fn[0] = 5 % 50 + 1, fn[1] = 35 % 50 + 1, fn[2] = 55 % 50 + 1;
        line[0] = 5, line[1] = 8, line[2] = -5;
        mapping = 5 % 3;
        nl = 5 % 4;
    }
    pg_buf t = {0}, l = {0};
    pg_wire_put_uint(&t, 1, id);
    pg_wire_put_uint(&t, 2, mapping);
    pg_wire_put_uint(&t, 3, addr);
    for (size_t k = 0; k < nl; k++) {
        pg_wire_put_uint(&l, 1, fn[k]);
        pg_wire_put_uint(&l, 2, (uint64_t)line[k]);
        tb_sub(&t, 4, &l);
    }
    if (i % 500 == 7) pg_wire_put_uint(&t, 5, 1); /* is_folded */
    if (i == sh->malformed) {
        pg_wire_put_tag(&t, 3, PG_WT_LEN); /* the address as a length-delimited field */
        pg_wire_put_varint(&t, 0);
    }
    tb_sub(b, 4, &t);
    pg_buf_free(&t);
    pg_buf_free(&l);
}

/* A pprof with the shape's table and samples over the first locations. */
static void make(pg_buf *b, const shape *sh)
{
    tb_value_type(b, 1, 1, 2);
    for (size_t s = 0; s < 64; s++) {
        uint64_t ids[3] = {loc_id(sh, (s % 40 + 1) % sh->n), loc_id(sh, (s % 13 + 1) % sh->n),
                           loc_id(sh, 1 % sh->n)};
        int64_t v = (int64_t)s + 1;
        tb_sample(b, ids, 3, &v, 1);
    }
    tb_mapping(b, 1, 0x400000, 0x800000, 3);
    tb_mapping(b, 2, 0x900000, 0x980000, 4);
    for (size_t i = 0; i < sh->n; i++)
        location(b, sh, i);
    for (uint64_t f = 1; f <= 50; f++)
        tb_function(b, f, 3 + f % 2, 3, 4, (int64_t)f);
    static const char *const s[] = {"", "samples", "count", "fn_a", "fn_b", "file.go"};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        tb_str(b, s[i]);
}

/* What one decode gave. */
typedef struct result {
    int rc;
    char err[512];
    pg_buf dump, otlp;
} result;

/* Decodes p with the location table on two threads or one, under a cap (0: none). */
static void decode(const pg_buf *p, int two, size_t cap, result *r)
{
    memset(r, 0, sizeof *r);
    pg_pprof_locations_set_thread(two ? 1 : SIZE_MAX, two);
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    lim.max_arena = cap;
    pg_batch *b = pg_batch_new(cap);
    r->rc = pg_pprof_decode(b, p->data, p->len, &lim, NULL, r->err, sizeof r->err);
    if (!r->rc) {
        pg_otlp_dump(b, PG_DUMP_CANONICAL, &r->dump);
        char e[256];
        CHECK(pg_otlp_encode(b, &r->otlp, e, sizeof e) == 0);
    }
    pg_batch_free(b);
    pg_pprof_locations_set_thread(0, 0);
}

/* Decodes the shape both ways; they must agree, and succeed or fail as expected (`want` in
 * the message of a failure). */
static void check(const shape *sh, size_t cap, const char *want, const char *what)
{
    pg_buf p = {0};
    make(&p, sh);
    result one, two;
    decode(&p, 0, cap, &one);
    decode(&p, 1, cap, &two);
    CHECK_MSG(want ? one.rc != 0 && strstr(one.err, want) != NULL : one.rc == 0,
              "%s: one thread rc %d (%s)", what, one.rc, one.err);
    CHECK_MSG(two.rc == one.rc && !strcmp(two.err, one.err),
              "%s: '%s' (%d) on two, '%s' (%d) on one", what, two.err, two.rc, one.err, one.rc);
    CHECK_MSG(one.dump.len == two.dump.len &&
                  (!one.dump.len || !memcmp(one.dump.data, two.dump.data, one.dump.len)),
              "%s: dumps differ", what);
    CHECK_MSG(one.otlp.len == two.otlp.len &&
                  (!one.otlp.len || !memcmp(one.otlp.data, two.otlp.data, one.otlp.len)),
              "%s: OTLP bytes differ", what);
    pg_buf_free(&one.dump);
    pg_buf_free(&one.otlp);
    pg_buf_free(&two.dump);
    pg_buf_free(&two.otlp);
    pg_buf_free(&p);
}

int main(void)
{
    static const size_t sizes[] = {1, 10, 4000, 6001};
    char what[96];
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        for (int sparse = 0; sparse < 2; sparse++) {
            shape sh = {sizes[k], sparse, NONE, NONE, NONE, NONE, NONE};
            snprintf(what, sizeof what, "%zu locations%s", sizes[k], sparse ? ", sparse ids" : "");
            check(&sh, 0, NULL, what);
            CHECK_MSG(sizes[k] < 100 || pg_pprof_locations_last_split() > 0,
                      "%s: the table was not split", what);
        }
    /* failures in the calling thread's part (the first 30%) and in the helper's */
    static const size_t at[] = {3, 2502, 5999}; /* (locations with two lines or more) */
    for (size_t k = 0; k < 3; k++) {
        size_t i = at[k];
        snprintf(what, sizeof what, "malformed location %zu", i);
        check(&(shape){6000, 0, i, NONE, NONE, NONE, NONE}, 0, "malformed location", what);
        snprintf(what, sizeof what, "unknown function at %zu", i);
        check(&(shape){6000, 0, NONE, i, NONE, NONE, NONE}, 0, "unknown function id 777", what);
        snprintf(what, sizeof what, "unknown mapping at %zu", i);
        check(&(shape){6000, 1, NONE, NONE, i, NONE, NONE}, 0, "unknown mapping id 9", what);
        snprintf(what, sizeof what, "duplicate id at %zu", i);
        check(&(shape){6000, 0, NONE, NONE, NONE, i, NONE}, 0, "duplicate location id", what);
        snprintf(what, sizeof what, "id 0 at %zu", i);
        check(&(shape){6000, 0, NONE, NONE, NONE, NONE, i}, 0, "location with id 0", what);
    }
    /* both parts fail: the earlier failure is the one reported */
    check(&(shape){6000, 0, 4000, 103, NONE, NONE, NONE}, 0, "unknown function", "both parts");
    check(&(shape){6000, 0, 100, NONE, NONE, 4000, NONE}, 0, "malformed", "both parts, other way");
    /* the helper's part: a duplicate id (found when interning) before a malformed location */
    check(&(shape){6000, 0, 5000, NONE, NONE, 4000, NONE}, 0, "duplicate location id",
          "a duplicate id, then a malformed location");
    /* caps: too small for the table, and one that leaves room for two threads */
    check(&(shape){6000, 0, NONE, NONE, NONE, NONE, NONE}, 256 << 10, "memory limit",
          "256 KiB cap");
    check(&(shape){6000, 0, NONE, NONE, NONE, NONE, NONE}, 64 << 20, NULL, "64 MiB cap");
    TEST_MAIN_END();
}
