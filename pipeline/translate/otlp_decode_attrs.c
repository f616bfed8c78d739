/* The dictionary's attribute table (ProfilesDictionary field 6, KeyValueAndUnit) read by
 * hand: key_strindex (1), value (2: an AnyValue holding one scalar: string 1, bool 2, int 3,
 * double 4, non-empty bytes 7, string_value_strindex 8) and unit_strindex (3), each at most
 * once. The structs are the ones protobuf-c would build from the same bytes, in the same
 * arena. An entry of any other shape (an array or key-value list, an unknown field, a field
 * given twice, a string holding a NUL, empty bytes, a malformed payload) sends the whole
 * table to protobuf-c instead, from the entries' bytes kept as read, so the table keeps its
 * order and protobuf-c's rules decide. A trace-correlated profile has an entry per
 * trace_id and span_id value, and protobuf-c's generic reader was most of the dictionary's
 * cost. */
#include "pipeline/translate/otlp_decode_int.h"
#include "pipeline/core/vec.h"

#include <stdlib.h>
#include <string.h>

enum { OK = PG_OTLP_UNPACK_OK, NOMEM = PG_OTLP_UNPACK_NOMEM, NOT_BY_HAND = -1 };

/* Reads an AnyValue payload into a new arena value; OK, NOMEM or NOT_BY_HAND. */
static int read_any(pg_arena *a, pg_wire w, pg_otlp_any **out)
{
    pg_otlp_any *v = pg_otlp_any_new(a);
    if (!v) return NOMEM;
    *out = v;
    if (w.p == w.end) return OK; /* present, nothing set */
    uint32_t f;
    int wt;
    uint64_t x;
    pg_wire sub;
    if (pg_wire_tag(&w, &f, &wt) != 1) return NOT_BY_HAND;
    switch (f) {
    case 1: /* string_value */
        if (wt != PG_WT_LEN || pg_wire_len(&w, &sub)) return NOT_BY_HAND;
        if (memchr(sub.p, 0, (size_t)(sub.end - sub.p))) return NOT_BY_HAND;
        if (!(v->string_value =
                  pg_arena_strndup(a, (const char *)sub.p, (size_t)(sub.end - sub.p))))
            return NOMEM;
        break;
    case 7: /* bytes_value */
        if (wt != PG_WT_LEN || pg_wire_len(&w, &sub) || sub.p == sub.end) return NOT_BY_HAND;
        v->bytes_value.len = (size_t)(sub.end - sub.p);
        if (!(v->bytes_value.data = pg_arena_memdup(a, sub.p, v->bytes_value.len))) return NOMEM;
        break;
    case 2: /* bool_value, int_value, string_value_strindex */
    case 3:
    case 8:
        if (wt != PG_WT_VARINT || pg_wire_varint(&w, &x)) return NOT_BY_HAND;
        if (f == 2)
            v->bool_value = x != 0;
        else if (f == 3)
            v->int_value = (int64_t)x;
        else
            v->string_value_strindex = (int32_t)(uint32_t)x;
        break;
    case 4: { /* double_value, fixed64 little-endian */
        if (wt != PG_WT_I64 || w.end - w.p < 8) return NOT_BY_HAND;
        uint64_t bits = pg_wire_le64(w.p);
        memcpy(&v->double_value, &bits, sizeof bits);
        w.p += 8;
        break;
    }
    default:
        return NOT_BY_HAND;
    }
    v->value_case = (int)f;
    return w.p == w.end ? OK : NOT_BY_HAND; /* a second field: protobuf-c's rules */
}

/* Reads a KeyValueAndUnit payload into a new arena entry; OK, NOMEM or NOT_BY_HAND. */
static int read_attr(pg_arena *a, pg_wire w, pg_otlp_attr **out)
{
    pg_otlp_attr *at = pg_otlp_attr_new(a);
    if (!at) return NOMEM;
    unsigned seen = 0;
    uint32_t f;
    int wt, t;
    while ((t = pg_wire_tag(&w, &f, &wt)) == 1) {
        if (f > 3 || (seen & (1u << f))) return NOT_BY_HAND;
        seen |= 1u << f;
        if (f == 2) {
            pg_wire sub;
            if (wt != PG_WT_LEN || pg_wire_len(&w, &sub)) return NOT_BY_HAND;
            int rc = read_any(a, sub, &at->value);
            if (rc) return rc;
        } else {
            uint64_t x;
            if (wt != PG_WT_VARINT || pg_wire_varint(&w, &x)) return NOT_BY_HAND;
            if (f == 1)
                at->key_strindex = (int32_t)(uint32_t)x;
            else
                at->unit_strindex = (int32_t)(uint32_t)x;
        }
    }
    if (t < 0) return NOT_BY_HAND;
    *out = at;
    return OK;
}

int pg_otlp_dict_attr(pg_otlp_dict_reader *dr, pg_arena *a, const uint8_t *rec, size_t n,
                      pg_wire payload)
{
    if (pg_buf_append(&dr->attr_raw, rec, n)) return NOMEM;
    if (dr->attrs_by_protobuf_c) return OK;
    pg_otlp_attr *at = NULL;
    int rc = read_attr(a, payload, &at);
    if (rc == NOMEM) return NOMEM;
    if (rc == NOT_BY_HAND) {
        dr->attrs_by_protobuf_c = 1;
        return OK;
    }
    if (PG_VEC_RESERVE(dr->attrs, dr->cap_attrs, dr->n_attrs + 1, 64)) return NOMEM;
    dr->attrs[dr->n_attrs++] = at;
    return OK;
}

int pg_otlp_dict_attrs_finish(pg_otlp_dict_reader *dr, pg_arena *a, pg_otlp_dict *plain)
{
    if (dr->attrs_by_protobuf_c || !dr->n_attrs) return OK;
    pg_otlp_attr **t = pg_arena_alloc(a, dr->n_attrs * sizeof *t);
    if (!t) return NOMEM;
    memcpy(t, dr->attrs, dr->n_attrs * sizeof *t);
    plain->attribute_table = t;
    plain->n_attribute_table = dr->n_attrs;
    return OK;
}
