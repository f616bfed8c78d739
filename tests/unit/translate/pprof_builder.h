/* A tiny pprof writer for tests: builds Profile messages field by field so that tests can
 * make valid edge cases and every kind of malformed input. */
#ifndef PG_TEST_PPROF_BUILDER_H
#define PG_TEST_PPROF_BUILDER_H

#include "pipeline/core/wire.h"

#include <string.h>

/* Appends a nested message field built in `sub` to `b` and resets `sub`. */
static inline void tb_sub(pg_buf *b, uint32_t field, pg_buf *sub)
{
    pg_wire_put_bytes(b, field, sub->data, sub->len);
    sub->len = 0;
}

static inline void tb_str(pg_buf *b, const char *s)
{
    pg_wire_put_bytes(b, 6, s, strlen(s));
}

static inline void tb_value_type(pg_buf *b, uint32_t field, uint64_t type, uint64_t unit)
{
    pg_buf t = {0};
    pg_wire_put_uint(&t, 1, type);
    pg_wire_put_uint(&t, 2, unit);
    tb_sub(b, field, &t);
    pg_buf_free(&t);
}

static inline void tb_function(pg_buf *b, uint64_t id, uint64_t name, uint64_t sys, uint64_t file,
                               int64_t start)
{
    pg_buf t = {0};
    pg_wire_put_uint(&t, 1, id);
    pg_wire_put_uint(&t, 2, name);
    pg_wire_put_uint(&t, 3, sys);
    pg_wire_put_uint(&t, 4, file);
    pg_wire_put_uint(&t, 5, (uint64_t)start);
    tb_sub(b, 5, &t);
    pg_buf_free(&t);
}

/* A mapping (no build id, no has_* flags). */
static inline void tb_mapping(pg_buf *b, uint64_t id, uint64_t start, uint64_t limit, uint64_t file)
{
    pg_buf t = {0};
    pg_wire_put_uint(&t, 1, id);
    pg_wire_put_uint(&t, 2, start);
    pg_wire_put_uint(&t, 3, limit);
    pg_wire_put_uint(&t, 5, file);
    tb_sub(b, 3, &t);
    pg_buf_free(&t);
}

/* A location with one line per (function id, line) pair. */
static inline void tb_location(pg_buf *b, uint64_t id, uint64_t mapping, uint64_t addr,
                               const uint64_t *fns, const int64_t *lines, size_t n)
{
    pg_buf t = {0}, l = {0};
    pg_wire_put_uint(&t, 1, id);
    pg_wire_put_uint(&t, 2, mapping);
    pg_wire_put_uint(&t, 3, addr);
    for (size_t i = 0; i < n; i++) {
        pg_wire_put_uint(&l, 1, fns[i]);
        pg_wire_put_uint(&l, 2, (uint64_t)lines[i]);
        tb_sub(&t, 4, &l);
    }
    tb_sub(b, 4, &t);
    pg_buf_free(&t);
    pg_buf_free(&l);
}

/* A sample with packed location ids and values. */
static inline void tb_sample(pg_buf *b, const uint64_t *locs, size_t nl, const int64_t *vals,
                             size_t nv)
{
    pg_buf t = {0};
    pg_wire_put_packed_u64(&t, 1, locs, nl);
    pg_wire_put_packed_i64(&t, 2, vals, nv);
    tb_sub(b, 2, &t);
    pg_buf_free(&t);
}

#endif
