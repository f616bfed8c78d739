/* The dictionary's location (ProfilesDictionary field 2), function (3) and string (5)
 * tables read by hand, entry by entry, into the structs protobuf-c would build from the
 * same bytes, in the same arena.
 *
 * Location: mapping_index (1), address (2), lines (3: Line with function_index 1, line 2,
 * column 3) and packed attribute_indices (4); Function: the four varints 1-4. Each scalar
 * at most once, with the wire type its field declares. An entry of any other shape (an
 * unknown field, a field given twice, unpacked attribute indices, a malformed payload) is
 * unpacked by protobuf-c on its own: protobuf-c unpacks a repeated message field one
 * element at a time, so the table comes out the same either way, and a payload it rejects
 * fails the decode as it would have.
 *
 * protobuf-c's generic reader kept a 32-byte scan record per table entry in the arena
 * (its scratch is freed into an arena, which keeps it) and needed a copy of the tables'
 * bytes; here nothing is kept but the entries, and the input pages are handed back as
 * they are read. */
#include "pipeline/translate/otlp_decode_int.h"
#include "pipeline/core/vec.h"

#include <stdlib.h>
#include <string.h>

enum { OK = PG_OTLP_UNPACK_OK, FALLBACK = PG_OTLP_UNPACK_FALLBACK, NOMEM = PG_OTLP_UNPACK_NOMEM };
enum { NOT_BY_HAND = -1 };

/* Reads one varint field (wire type checked) into *x; NOT_BY_HAND when it is not one. */
static int varint_field(pg_wire *w, int wt, uint64_t *x)
{
    return wt == PG_WT_VARINT && pg_wire_varint(w, x) == 0 ? OK : NOT_BY_HAND;
}

/* Reads a message of varint fields 1..n only, each at most once, into v[1..n] (left as
 * they are when absent); OK or NOT_BY_HAND. */
static int read_varint_fields(pg_wire w, uint64_t *v, uint32_t n)
{
    unsigned seen = 0;
    uint32_t f;
    int wt, t;
    while ((t = pg_wire_tag(&w, &f, &wt)) == 1) {
        if (f < 1 || f > n || (seen & (1u << f)) || varint_field(&w, wt, &v[f])) return NOT_BY_HAND;
        seen |= 1u << f;
    }
    return t < 0 ? NOT_BY_HAND : OK;
}

/* Reads a Line payload into ln (already initialised); OK or NOT_BY_HAND. */
static int read_line(pg_wire w, pg_otlp_line *ln)
{
    uint64_t v[4] = {0};
    if (read_varint_fields(w, v, 3)) return NOT_BY_HAND;
    ln->function_index = (int32_t)(uint32_t)v[1];
    ln->line = (int64_t)v[2];
    ln->column = (int64_t)v[3];
    return OK;
}

/* Counts the varints of a packed payload; NOT_BY_HAND when one is cut short. */
static int count_varints(pg_wire w, size_t *n)
{
    size_t k = 0;
    while (w.p < w.end) {
        uint64_t x;
        if (pg_wire_varint(&w, &x)) return NOT_BY_HAND;
        k++;
    }
    *n = k;
    return OK;
}

/* Reads a packed int32 payload into a new arena array. */
static int read_packed_i32(pg_arena *a, pg_wire w, int32_t **out, size_t *n_out)
{
    size_t n;
    if (count_varints(w, &n)) return NOT_BY_HAND;
    if (!n) return OK;
    int32_t *v = pg_arena_alloc(a, n * sizeof *v);
    if (!v) return NOMEM;
    for (size_t i = 0; i < n; i++) {
        uint64_t x;
        pg_wire_varint(&w, &x);
        v[i] = (int32_t)(uint32_t)x;
    }
    *out = v;
    *n_out = n;
    return OK;
}

/* Reads a Location payload into a new arena entry; OK, NOMEM or NOT_BY_HAND. The lines
 * are gathered in dr's scratch, then copied into one arena array. */
static int read_location(pg_otlp_dict_reader *dr, pg_arena *a, pg_wire w, pg_otlp_location **out)
{
    pg_otlp_location *l = pg_otlp_location_new(a);
    if (!l) return NOMEM;
    static const pg_otlp_line line_init = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINE__INIT;
    size_t n_lines = 0;
    unsigned seen = 0;
    uint32_t f;
    int wt, t;
    while ((t = pg_wire_tag(&w, &f, &wt)) == 1) {
        uint64_t x;
        pg_wire sub;
        if (f == 1 || f == 2) {
            if ((seen & (1u << f)) || varint_field(&w, wt, &x)) return NOT_BY_HAND;
            seen |= 1u << f;
            if (f == 1)
                l->mapping_index = (int32_t)(uint32_t)x;
            else
                l->address = x;
        } else if (f == 3) {
            if (wt != PG_WT_LEN || pg_wire_len(&w, &sub)) return NOT_BY_HAND;
            if (PG_VEC_RESERVE(dr->lines, dr->cap_lines, n_lines + 1, 16)) return NOMEM;
            dr->lines[n_lines] = line_init;
            if (read_line(sub, &dr->lines[n_lines])) return NOT_BY_HAND;
            n_lines++;
        } else if (f == 4) {
            if ((seen & (1u << f)) || wt != PG_WT_LEN || pg_wire_len(&w, &sub)) return NOT_BY_HAND;
            seen |= 1u << f;
            int rc = read_packed_i32(a, sub, &l->attribute_indices, &l->n_attribute_indices);
            if (rc) return rc;
        } else {
            return NOT_BY_HAND;
        }
    }
    if (t < 0) return NOT_BY_HAND;
    if (n_lines) {
        pg_otlp_line *lines = pg_arena_alloc(a, n_lines * sizeof *lines);
        pg_otlp_line **ptrs = pg_arena_alloc(a, n_lines * sizeof *ptrs);
        if (!lines || !ptrs) return NOMEM;
        memcpy(lines, dr->lines, n_lines * sizeof *lines);
        for (size_t i = 0; i < n_lines; i++)
            ptrs[i] = &lines[i];
        l->lines = ptrs;
        l->n_lines = n_lines;
    }
    *out = l;
    return OK;
}

/* Reads a Function payload into a new arena entry; OK, NOMEM or NOT_BY_HAND. */
static int read_function(pg_arena *a, pg_wire w, pg_otlp_function **out)
{
    pg_otlp_function *fn = pg_otlp_function_new(a);
    if (!fn) return NOMEM;
    uint64_t v[5] = {0};
    if (read_varint_fields(w, v, 4)) return NOT_BY_HAND;
    fn->name_strindex = (int32_t)(uint32_t)v[1];
    fn->system_name_strindex = (int32_t)(uint32_t)v[2];
    fn->filename_strindex = (int32_t)(uint32_t)v[3];
    fn->start_line = (int64_t)v[4];
    *out = fn;
    return OK;
}

/* Unpacks one entry with protobuf-c (the shapes read_* leave to it). */
static int unpack_entry(pg_arena *a, const ProtobufCMessageDescriptor *desc, pg_wire w, void **out)
{
    ProtobufCAllocator al = pg_arena_protobuf_allocator(a);
    *out = protobuf_c_message_unpack(desc, &al, (size_t)(w.end - w.p), w.p);
    return *out ? OK : FALLBACK;
}

/* Appends p to a malloc'd pointer array. */
static int push(void ***v, size_t *n, size_t *cap, void *p)
{
    if (pg_vec_reserve((void **)v, cap, *n + 1, sizeof **v, 256)) return NOMEM;
    (*v)[(*n)++] = p;
    return OK;
}

int pg_otlp_dict_table_entry(pg_otlp_dict_reader *dr, pg_arena *a, uint32_t field, pg_wire payload)
{
    void *e = NULL;
    int rc;
    if (field == 5) { /* a string: protobuf-c's copy, NUL-terminated */
        if (!(e = pg_arena_strndup(a, (const char *)payload.p, (size_t)(payload.end - payload.p))))
            return NOMEM;
        return push((void ***)&dr->strs, &dr->n_strs, &dr->cap_strs, e);
    }
    if (field == 2) {
        rc = read_location(dr, a, payload, (pg_otlp_location **)&e);
        if (rc == NOT_BY_HAND)
            rc = unpack_entry(a,
                              &opentelemetry__proto__profiles__v1development__location__descriptor,
                              payload, &e);
        return rc ? rc : push((void ***)&dr->locs, &dr->n_locs, &dr->cap_locs, e);
    }
    rc = read_function(a, payload, (pg_otlp_function **)&e);
    if (rc == NOT_BY_HAND)
        rc = unpack_entry(a, &opentelemetry__proto__profiles__v1development__function__descriptor,
                          payload, &e);
    return rc ? rc : push((void ***)&dr->funcs, &dr->n_funcs, &dr->cap_funcs, e);
}

/* Copies a malloc'd pointer array into an arena array of its exact size (NULL when empty,
 * as protobuf-c leaves an absent repeated field). */
static int to_arena(pg_arena *a, void **v, size_t n, void ***out, size_t *n_out)
{
    if (!n) return OK;
    void **t = pg_arena_alloc(a, n * sizeof *t);
    if (!t) return NOMEM;
    memcpy(t, v, n * sizeof *t);
    *out = t;
    *n_out = n;
    return OK;
}

int pg_otlp_dict_tables_finish(pg_otlp_dict_reader *dr, pg_arena *a, pg_otlp_dict *plain)
{
    if (to_arena(a, (void **)dr->locs, dr->n_locs, (void ***)&plain->location_table,
                 &plain->n_location_table) ||
        to_arena(a, (void **)dr->funcs, dr->n_funcs, (void ***)&plain->function_table,
                 &plain->n_function_table) ||
        to_arena(a, (void **)dr->strs, dr->n_strs, (void ***)&plain->string_table,
                 &plain->n_string_table))
        return NOMEM;
    return OK;
}
