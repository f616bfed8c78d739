/* The OTLP encoder's dictionary (ProfilesData.dictionary, field 2): sized ahead (the stack
 * table in slices that two threads share, one of them first sizing the other tables), then
 * written. The
 * large tables (locations, attributes, stacks) go out in windows that two threads share;
 * the small ones through pg_buf's writers. */
#include "pipeline/translate/otlp_encode_int.h"
#include "pipeline/translate/otlp_any_wire.h"
#include "pipeline/core/err.h"
#include "pipeline/core/stacks.h"

#include <stdlib.h>
#include <string.h>

static size_t mapping_size(const pg_otlp_mapping *m)
{
    return sz_uint(m->memory_start) + sz_uint(m->memory_limit) + sz_uint(m->file_offset) +
           sz_uint((uint64_t)(int64_t)m->filename_strindex) +
           sz_packed_i32(m->attribute_indices, m->n_attribute_indices);
}

static size_t line_size(const pg_otlp_line *l)
{
    return sz_uint((uint64_t)(int64_t)l->function_index) + sz_uint((uint64_t)l->line) +
           sz_uint((uint64_t)l->column);
}

static size_t location_size(const pg_otlp_location *l)
{
    size_t n = sz_uint((uint64_t)(int64_t)l->mapping_index) + sz_uint(l->address) +
               sz_packed_i32(l->attribute_indices, l->n_attribute_indices);
    for (size_t i = 0; i < l->n_lines; i++)
        n += sz_len(line_size(l->lines[i]));
    return n;
}

static size_t function_size(const pg_otlp_function *f)
{
    return sz_uint((uint64_t)(int64_t)f->name_strindex) +
           sz_uint((uint64_t)(int64_t)f->system_name_strindex) +
           sz_uint((uint64_t)(int64_t)f->filename_strindex) + sz_uint((uint64_t)f->start_line);
}

static size_t link_size(const pg_otlp_link *l)
{
    return (l->trace_id.len ? sz_len(l->trace_id.len) : 0) +
           (l->span_id.len ? sz_len(l->span_id.len) : 0);
}

/* Bytes of an attribute's value body (0 without a value). */
static size_t attr_value_body(const pg_otlp_attr *a)
{
    return a->value ? pg_otlp_any_body_size(a->value) : 0;
}

/* Size of an attribute whose value's body takes vbody bytes (attr_value_body). */
static size_t attr_size(const pg_otlp_attr *a, size_t vbody)
{
    return sz_uint((uint64_t)(int64_t)a->key_strindex) + (a->value ? sz_len(vbody) : 0) +
           sz_uint((uint64_t)(int64_t)a->unit_strindex);
}

/* Bytes of a stack's packed location indices. */
static size_t stack_body_size(const pg_stack_ref *st)
{
    size_t body = 0;
    if (st->width == 1) { /* one byte each, two for those >= 128: count high bits */
        const uint8_t *v = st->loc;
        size_t j = 0;
        body = st->n;
        for (; j + 8 <= st->n; j += 8) {
            uint64_t w;
            memcpy(&w, v + j, 8);
            /* one bit per byte >= 128, summed by a multiply into the top byte */
            body += (size_t)((((w >> 7) & 0x0101010101010101ull) * 0x0101010101010101ull) >> 56);
        }
        for (; j < st->n; j++)
            body += v[j] >> 7;
        return body;
    }
    if (st->width == 2) { /* two bytes for those >= 128, three for those >= 16384 */
        const uint16_t *v = st->loc;
        const uint64_t ones = 0x0001000100010001ull;
        size_t j = 0;
        body = st->n;
        for (; j + 4 <= st->n; j += 4) {
            uint64_t w;
            memcpy(&w, v + j, 8);
            /* per 16-bit lane: bit 9 of (x >> 7) + 0x1ff is set when x >= 128; a bit of
             * x >> 14 when x >= 16384; the lanes' sums add up through a multiply */
            uint64_t over7 = ((((w >> 7) & (0x1ff * ones)) + 0x1ff * ones) >> 9) & ones;
            uint64_t hi = (w >> 14) & (3 * ones);
            uint64_t over14 = (hi | hi >> 1) & ones;
            body += (size_t)(((over7 + over14) * ones) >> 48);
        }
        for (; j < st->n; j++)
            body += (size_t)(v[j] >= 128) + (v[j] >= 16384);
        return body;
    }
    for (size_t j = 0; j < st->n; j++)
        body += VSZ((uint64_t)(int64_t)pg_stack_loc(st, j));
    return body;
}

/* Bytes of a stack's entry in the stack table (field 7) whose packed body takes `body`. */
static inline size_t stack_entry_size(const pg_stack_ref *st, size_t body)
{
    return sz_len(st->n ? sz_len(body) : 0);
}

/* Bytes of d's tables before the stack table; loc_body and attr_body (each NULL or one
 * entry per location and attribute) receive the locations' body sizes and the attributes'
 * value body sizes, so writing does not compute them again. */
static size_t tables_size(const pg_otlp_dict *d, uint32_t *loc_body, uint32_t *attr_body)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n_mapping_table; i++)
        n += sz_len(mapping_size(d->mapping_table[i]));
    for (size_t i = 0; i < d->n_location_table; i++) {
        size_t body = location_size(d->location_table[i]);
        if (loc_body) loc_body[i] = (uint32_t)body;
        n += sz_len(body);
    }
    for (size_t i = 0; i < d->n_function_table; i++)
        n += sz_len(function_size(d->function_table[i]));
    for (size_t i = 0; i < d->n_link_table; i++)
        n += sz_len(link_size(d->link_table[i]));
    for (size_t i = 0; i < d->n_string_table; i++)
        n += sz_len(strlen(d->string_table[i]));
    for (size_t i = 0; i < d->n_attribute_table; i++) {
        const pg_otlp_attr *a = d->attribute_table[i];
        size_t vbody = attr_value_body(a);
        if (attr_body) attr_body[i] = (uint32_t)vbody;
        n += sz_len(attr_size(a, vbody));
    }
    return n;
}

/* Bytes of stacks [lo, hi) of d's stack table; stack_body (NULL, or one entry per stack)
 * receives each stack's packed body size. */
static size_t stacks_size(const pg_otlp_dict *d, uint32_t *stack_body, size_t lo, size_t hi)
{
    size_t n = 0;
    for (size_t i = lo; i < hi; i++) {
        pg_stack_ref st;
        pg_dict_stack_at(d, i, &st);
        size_t body = stack_body_size(&st);
        if (stack_body) stack_body[i] = (uint32_t)body;
        n += stack_entry_size(&st, body);
    }
    return n;
}

size_t pg_otlp_dict_size(const pg_otlp_dict *d)
{
    return tables_size(d, NULL, NULL) + stacks_size(d, NULL, 0, pg_dict_stack_count(d));
}

/* An array of n uint32s (malloc-owned; one entry when n is 0). */
static uint32_t *u32s(size_t n)
{
    return malloc((n ? n : 1) * sizeof(uint32_t));
}

int pg_otlp_dict_plan_init(pg_otlp_dict_plan *p, const pg_otlp_dict *d)
{
    memset(p, 0, sizeof *p);
    p->d = d;
    if (!d) return 0;
    if (!(p->loc_body = u32s(d->n_location_table)) ||
        !(p->attr_body = u32s(d->n_attribute_table)) ||
        !(p->stack_body = u32s(pg_dict_stack_count(d))))
        return PG_ENOMEM;
    return 0;
}

void pg_otlp_dict_plan_tables(pg_otlp_dict_plan *p)
{
    if (p->d) p->tables = tables_size(p->d, p->loc_body, p->attr_body);
}

/* Stacks per slice of the stack table's sizing. */
#define STACK_SLICE 4096

void pg_otlp_dict_plan_stacks(void *arg)
{
    pg_otlp_dict_plan *p = arg;
    size_t ns = p->d ? pg_dict_stack_count(p->d) : 0;
    for (;;) {
        size_t lo = atomic_fetch_add_explicit(&p->next, STACK_SLICE, memory_order_relaxed);
        if (lo >= ns) return;
        size_t hi = ns - lo < STACK_SLICE ? ns : lo + STACK_SLICE;
        atomic_fetch_add_explicit(&p->stacks, stacks_size(p->d, p->stack_body, lo, hi),
                                  memory_order_relaxed);
    }
}

void pg_otlp_dict_plan_free(pg_otlp_dict_plan *p)
{
    free(p->loc_body);
    free(p->attr_body);
    free(p->stack_body);
    p->loc_body = p->attr_body = p->stack_body = NULL;
}

/* ---- the large tables, in windows ---- */

/* pg_otlp_table.entry_size of the location table (ctx is the plan). */
static size_t location_entry(const void *ctx, size_t i)
{
    const pg_otlp_dict_plan *p = ctx;
    return sz_len(p->loc_body[i]);
}

/* pg_otlp_range_fn: locations [lo, hi) (field 2). */
static uint8_t *put_location_range(const void *ctx, uint8_t *q, size_t lo, size_t hi)
{
    const pg_otlp_dict_plan *p = ctx;
    for (size_t i = lo; i < hi; i++) {
        const pg_otlp_location *l = p->d->location_table[i];
        *q++ = 0x12; /* field 2, length-delimited */
        q = pg_wire_raw_varint(q, p->loc_body[i]);
        q = raw_i32_field(q, 0x08, l->mapping_index);
        q = raw_uint_field(q, 0x10, l->address);
        for (size_t j = 0; j < l->n_lines; j++) {
            const pg_otlp_line *ln = l->lines[j];
            *q++ = 0x1a; /* Location.lines (field 3) */
            q = pg_wire_raw_varint(q, line_size(ln));
            q = raw_i32_field(q, 0x08, ln->function_index);
            q = raw_uint_field(q, 0x10, (uint64_t)ln->line);
            q = raw_uint_field(q, 0x18, (uint64_t)ln->column);
        }
        q = raw_packed_i32(q, 0x22, l->attribute_indices, l->n_attribute_indices);
    }
    return q;
}

/* pg_otlp_table.entry_size of the attribute table (ctx is the plan). */
static size_t attr_entry(const void *ctx, size_t i)
{
    const pg_otlp_dict_plan *p = ctx;
    return sz_len(attr_size(p->d->attribute_table[i], p->attr_body[i]));
}

/* pg_otlp_range_fn: attributes [lo, hi) (field 6). */
static uint8_t *put_attr_range(const void *ctx, uint8_t *q, size_t lo, size_t hi)
{
    const pg_otlp_dict_plan *p = ctx;
    for (size_t i = lo; i < hi; i++) {
        const pg_otlp_attr *a = p->d->attribute_table[i];
        *q++ = 0x32; /* field 6, length-delimited */
        q = pg_wire_raw_varint(q, attr_size(a, p->attr_body[i]));
        q = raw_i32_field(q, 0x08, a->key_strindex);
        if (a->value) {
            *q++ = 0x12; /* KeyValueAndUnit.value (field 2) */
            q = pg_wire_raw_varint(q, p->attr_body[i]);
            q = pg_otlp_any_write_body(q, a->value);
        }
        q = raw_i32_field(q, 0x18, a->unit_strindex);
    }
    return q;
}

/* pg_otlp_table.entry_size of the stack table (ctx is the plan). */
static size_t stack_entry(const void *ctx, size_t i)
{
    const pg_otlp_dict_plan *p = ctx;
    pg_stack_ref st;
    pg_dict_stack_at(p->d, i, &st);
    return stack_entry_size(&st, p->stack_body[i]);
}

/* pg_otlp_range_fn: stacks [lo, hi) (field 7). */
static uint8_t *put_stack_range(const void *ctx, uint8_t *q, size_t lo, size_t hi)
{
    const pg_otlp_dict_plan *p = ctx;
    for (size_t i = lo; i < hi; i++) {
        pg_stack_ref s;
        pg_dict_stack_at(p->d, i, &s);
        size_t body = p->stack_body[i];
        *q++ = 0x3a; /* field 7, length-delimited */
        if (!s.n) {
            *q++ = 0;
            continue;
        }
        q = pg_wire_raw_varint(q, sz_len(body));
        *q++ = 0x0a; /* Stack.location_indices (field 1), packed */
        q = pg_wire_raw_varint(q, body);
        if (body == s.n && s.width == 1) { /* every index below 128: bytes are varints */
            memcpy(q, s.loc, body);
            q += body;
        } else if (s.width == 2) {
            const uint16_t *v = s.loc;
            for (size_t j = 0; j < s.n; j++)
                q = pg_wire_raw_varint(q, v[j]);
        } else {
            for (size_t j = 0; j < s.n; j++)
                q = pg_wire_raw_varint(q, (uint64_t)(int64_t)pg_stack_loc(&s, j));
        }
    }
    return q;
}

/* ---- the small tables, through pg_buf ---- */

static void put_mappings(pg_buf *b, const pg_otlp_dict *d)
{
    for (size_t i = 0; i < d->n_mapping_table; i++) {
        const pg_otlp_mapping *m = d->mapping_table[i];
        pg_wire_put_tag(b, 1, PG_WT_LEN);
        pg_wire_put_varint(b, mapping_size(m));
        pg_wire_put_uint(b, 1, m->memory_start);
        pg_wire_put_uint(b, 2, m->memory_limit);
        pg_wire_put_uint(b, 3, m->file_offset);
        put_i32(b, 4, m->filename_strindex);
        put_packed_i32(b, 5, m->attribute_indices, m->n_attribute_indices);
    }
}

static void put_functions_links_strings(pg_buf *b, const pg_otlp_dict *d)
{
    for (size_t i = 0; i < d->n_function_table; i++) {
        const pg_otlp_function *f = d->function_table[i];
        pg_wire_put_tag(b, 3, PG_WT_LEN);
        pg_wire_put_varint(b, function_size(f));
        put_i32(b, 1, f->name_strindex);
        put_i32(b, 2, f->system_name_strindex);
        put_i32(b, 3, f->filename_strindex);
        pg_wire_put_uint(b, 4, (uint64_t)f->start_line);
    }
    for (size_t i = 0; i < d->n_link_table; i++) {
        const pg_otlp_link *l = d->link_table[i];
        pg_wire_put_tag(b, 4, PG_WT_LEN);
        pg_wire_put_varint(b, link_size(l));
        if (l->trace_id.len) pg_wire_put_bytes(b, 1, l->trace_id.data, l->trace_id.len);
        if (l->span_id.len) pg_wire_put_bytes(b, 2, l->span_id.data, l->span_id.len);
    }
    for (size_t i = 0; i < d->n_string_table; i++)
        pg_wire_put_bytes(b, 5, d->string_table[i], strlen(d->string_table[i]));
}

void pg_otlp_put_dict(pg_buf *b, const pg_otlp_dict_plan *p, pg_duo *duo)
{
    const pg_otlp_dict *d = p->d;
    put_mappings(b, d);
    pg_otlp_table locations = {d->n_location_table, 32, location_entry, put_location_range, p};
    pg_otlp_put_table(b, &locations, duo);
    put_functions_links_strings(b, d);
    pg_otlp_table attrs = {d->n_attribute_table, 48, attr_entry, put_attr_range, p};
    pg_otlp_put_table(b, &attrs, duo);
    const pg_stacks *cols = pg_dict_stacks(d);
    size_t ns = pg_dict_stack_count(d);
    size_t per = cols && ns ? cols->off[ns] * cols->width / ns + 8 : 8;
    pg_otlp_table stacks = {ns, per, stack_entry, put_stack_range, p};
    pg_otlp_put_table(b, &stacks, duo);
}
