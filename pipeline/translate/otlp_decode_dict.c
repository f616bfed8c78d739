/* OTLP ProfilesDictionary reading: the stack table straight into columns
 * (pipeline/core/stacks.h), the attribute table by hand (otlp_decode_attrs.c), the
 * location, function and string tables by hand (otlp_decode_tables.c), the rest of the
 * dictionary (mappings, links) through protobuf-c. A stack table
 * of 262k stacks of 22 frames costs 7 MB as columns instead of 38 MB of protobuf-c Stack
 * structs. Each Stack is field 1 (location_indices, packed or not); other Stack fields are
 * skipped, as protobuf-c would keep them only as unknown fields. */
#include "pipeline/translate/otlp_decode_int.h"
#include "pipeline/core/adopt.h"
#include "pipeline/core/pages.h"
#include "pipeline/core/vec.h"

#include <stdlib.h>
#include <string.h>

enum { OK = PG_OTLP_UNPACK_OK, FALLBACK = PG_OTLP_UNPACK_FALLBACK, NOMEM = PG_OTLP_UNPACK_NOMEM };

/* How many consumed bytes are handed back to the OS at once. */
#define RELEASE_STEP ((size_t)1 << 20)

/* Releases [rl->done, p) once RELEASE_STEP bytes are pending (nothing is kept: the reader
 * copies all it needs out of the input). */
void pg_otlp_release_upto(pg_otlp_release *rl, const uint8_t *p)
{
    if (!rl || !rl->done || p < rl->done || (size_t)(p - rl->done) < RELEASE_STEP) return;
    pg_pages_release_consumed(&rl->done, p, NULL, NULL, RELEASE_STEP);
    rl->any = 1;
}

/* True when every byte of p[0..n) is below 0x80: a packed payload of one-byte varints,
 * which is already the location list one byte wide. */
static int all_one_byte(const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        if (v & 0x8080808080808080ull) return 0;
    }
    for (; i < n; i++)
        if (p[i] & 0x80) return 0;
    return 1;
}

/* Collects the location indices of field 1 (packed or one varint) into dr->tmp at *n. */
static int stack_locations(pg_otlp_dict_reader *dr, pg_wire *w, int wt, size_t *n)
{
    pg_wire sub = *w;
    if (wt == PG_WT_LEN) {
        if (pg_wire_len(w, &sub)) return FALLBACK;
    } else if (wt == PG_WT_VARINT) {
        uint64_t v;
        if (pg_wire_varint(w, &v)) return FALLBACK;
        sub.end = w->p; /* the one varint just read */
    } else {
        return FALLBACK;
    }
    /* at most one value per byte */
    size_t need = *n + (size_t)(sub.end - sub.p);
    if (PG_VEC_RESERVE(dr->tmp, dr->cap_tmp, need, 64)) return NOMEM;
    while (sub.p < sub.end) {
        uint64_t v;
        if (pg_wire_varint(&sub, &v)) return FALLBACK;
        dr->tmp[(*n)++] = (int32_t)(int64_t)v;
    }
    return OK;
}

/* Creates the columns on the first Stack (element 0 is whatever the input says; the
 * validator checks it is empty). */
static int ensure_columns(pg_otlp_dict_reader *dr, pg_arena *a)
{
    if (dr->stacks) return OK;
    pg_stacks *s = pg_arena_calloc(a, 1, sizeof *s);
    if (!s) return NOMEM;
    s->width = 1;
    if (pg_stacks_reserve(a, s, 1024, 16384)) return NOMEM;
    s->off[0] = 0;
    dr->stacks = s;
    return OK;
}

/* Appends one Stack message's locations to the columns. */
static int read_stack(pg_otlp_dict_reader *dr, pg_arena *a, pg_wire w)
{
    int rc = ensure_columns(dr, a);
    if (rc) return rc;
    /* the common shape: one packed field 1 of one-byte varints, copied as it is */
    if (w.end - w.p >= 2 && w.p[0] == 0x0a && w.p[1] < 0x80 &&
        (size_t)(w.end - w.p) == 2u + w.p[1] && all_one_byte(w.p + 2, w.p[1]))
        return pg_stacks_append(a, dr->stacks, w.p + 2, w.p[1], 1) < 0 ? NOMEM : OK;
    size_t n = 0;
    uint32_t f;
    int wt, t;
    while ((t = pg_wire_tag(&w, &f, &wt)) == 1) {
        if (f == 1) {
            if ((rc = stack_locations(dr, &w, wt, &n))) return rc;
        } else if (pg_wire_skip(&w, wt)) {
            return FALLBACK;
        }
    }
    if (t < 0) return FALLBACK;
    return pg_stacks_append(a, dr->stacks, dr->tmp, n, 4) < 0 ? NOMEM : OK;
}

/* Reads one dictionary payload: stacks into columns, other fields kept verbatim. */
int pg_otlp_dict_read(pg_otlp_dict_reader *dr, pg_arena *a, pg_wire w, pg_otlp_release *rl)
{
    dr->seen = 1;
    uint32_t f;
    int wt, t;
    const uint8_t *at = w.p;
    while ((t = pg_wire_tag(&w, &f, &wt)) == 1) {
        if (f == 7) {
            pg_wire sub;
            if (wt != PG_WT_LEN || pg_wire_len(&w, &sub)) return FALLBACK;
            int rc = read_stack(dr, a, sub);
            if (rc) return rc;
            pg_otlp_release_upto(rl, w.p);
        } else if ((f == 2 || f == 3 || f == 5) && wt == PG_WT_LEN) {
            pg_wire sub;
            if (pg_wire_len(&w, &sub)) return FALLBACK;
            int rc = pg_otlp_dict_table_entry(dr, a, f, sub);
            if (rc) return rc;
            pg_otlp_release_upto(rl, w.p);
        } else if (f == 6 && wt == PG_WT_LEN) {
            pg_wire sub;
            if (pg_wire_len(&w, &sub)) return FALLBACK;
            int rc = pg_otlp_dict_attr(dr, a, at, (size_t)(w.p - at), sub);
            if (rc) return rc;
            pg_otlp_release_upto(rl, w.p);
        } else {
            if (pg_wire_skip(&w, wt)) return FALLBACK;
            if (pg_buf_append(&dr->rest, at, (size_t)(w.p - at))) return NOMEM;
        }
        at = w.p;
    }
    return t < 0 ? FALLBACK : OK;
}

/* protobuf-c for the rest, then the columns in place of the (empty) Stack structs. */
int pg_otlp_dict_finish(pg_otlp_dict_reader *dr, pg_arena *a, int depth, pg_otlp_dict **out)
{
    *out = NULL;
    if (!dr->seen) return OK;
    if (dr->attrs_by_protobuf_c && dr->attr_raw.len)
        pg_buf_append(&dr->rest, dr->attr_raw.data, dr->attr_raw.len);
    pg_buf_free(&dr->attr_raw);
    if (dr->rest.failed) return NOMEM;
    const ProtobufCMessageDescriptor *desc =
        &opentelemetry__proto__profiles__v1development__profiles_dictionary__descriptor;
    static const uint8_t none[1];
    const uint8_t *p = dr->rest.len ? dr->rest.data : none;
    if (pg_otlp_check_depth(pg_wire_of(p, dr->rest.len), desc, depth)) return PG_OTLP_UNPACK_DEEP;
    ProtobufCAllocator al = pg_arena_protobuf_allocator(a);
    pg_otlp_dict *plain = (pg_otlp_dict *)protobuf_c_message_unpack(desc, &al, dr->rest.len, p);
    if (!plain) return FALLBACK;
    if (pg_otlp_dict_attrs_finish(dr, a, plain) || pg_otlp_dict_tables_finish(dr, a, plain))
        return NOMEM;
    /* the batch's form: a pg_dictionary holding the columns read by hand */
    pg_otlp_dict *d = pg_dict_adopt(a, plain);
    if (!d) return NOMEM;
    if (dr->stacks) pg_dictionary_of(d)->stacks = *dr->stacks;
    *out = d;
    return OK;
}

/* Frees the scratch; the arena owns the columns. */
void pg_otlp_dict_reader_free(pg_otlp_dict_reader *dr)
{
    pg_buf_free(&dr->rest);
    pg_buf_free(&dr->attr_raw);
    free(dr->attrs);
    free(dr->tmp);
    free(dr->locs);
    free(dr->funcs);
    free(dr->strs);
    free(dr->lines);
    memset(dr, 0, sizeof *dr);
}
