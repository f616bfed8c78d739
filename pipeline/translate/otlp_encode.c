/* OTLP protobuf encoder for the batch tree. Hand-written for the messages that repeat per
 * sample and per dictionary entry (protobuf-c's generic packer was a third of a
 * conversion), attribute values too (otlp_any_wire.c); small common messages (Resource,
 * InstrumentationScope) still go through protobuf-c. Output is byte-identical to
 * protobuf_c_message_pack. */
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/otlp_any_wire.h"
#include "pipeline/core/cpus.h"
#include "pipeline/core/duo.h"
#include "pipeline/core/err.h"
#include "pipeline/core/samples.h"
#include "pipeline/core/stacks.h"
#include "pipeline/core/wire.h"

#include <stdlib.h>
#include <string.h>

#define VSZ pg_wire_varint_size

/* Size of a field holding a varint (0 when proto3 omits the zero value). */
static inline size_t sz_uint(uint64_t v)
{
    return v ? 1 + VSZ(v) : 0;
}

/* Size of a length-delimited field of n payload bytes (tag < 16 takes one byte). */
static inline size_t sz_len(size_t n)
{
    return 1 + VSZ(n) + n;
}

static size_t sz_packed_i32(const int32_t *v, size_t n)
{
    if (!n) return 0;
    size_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += VSZ((uint64_t)(int64_t)v[i]);
    return sz_len(s);
}

static size_t body_packed_i32(const int32_t *v, size_t n)
{
    size_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += VSZ((uint64_t)(int64_t)v[i]);
    return s;
}

static void put_packed_i32(pg_buf *b, uint32_t f, const int32_t *v, size_t n)
{
    if (!n) return;
    pg_wire_put_tag(b, f, PG_WT_LEN);
    pg_wire_put_varint(b, body_packed_i32(v, n));
    for (size_t i = 0; i < n; i++)
        pg_wire_put_varint(b, (uint64_t)(int64_t)v[i]);
}

static void put_i32(pg_buf *b, uint32_t f, int32_t v)
{
    pg_wire_put_uint(b, f, (uint64_t)(int64_t)v);
}

/* ---- messages written by hand ---- */

static size_t sample_size(const pg_sample_ref *s)
{
    size_t n = sz_uint((uint64_t)(int64_t)s->stack) + sz_packed_i32(s->attrs, s->n_attrs) +
               sz_uint((uint64_t)(int64_t)s->link);
    if (s->n_values) {
        size_t v = 0;
        for (size_t i = 0; i < s->n_values; i++)
            v += VSZ((uint64_t)s->values[i]);
        n += sz_len(v);
    }
    if (s->n_ts) n += sz_len(8 * s->n_ts);
    return n;
}

static void put_sample(pg_buf *b, const pg_sample_ref *s, size_t size)
{
    pg_wire_put_tag(b, 2, PG_WT_LEN); /* Profile.samples */
    pg_wire_put_varint(b, size);
    put_i32(b, 1, s->stack);
    put_packed_i32(b, 2, s->attrs, s->n_attrs);
    put_i32(b, 3, s->link);
    pg_wire_put_packed_i64(b, 4, s->values, s->n_values);
    if (s->n_ts) {
        size_t n = 8 * s->n_ts;
        pg_wire_put_tag(b, 5, PG_WT_LEN);
        pg_wire_put_varint(b, n);
        if (pg_buf_reserve(b, n)) return;
        for (size_t i = 0; i < s->n_ts; i++) {
            uint64_t t = s->ts[i];
            for (int k = 0; k < 8; k++)
                b->data[b->len++] = (uint8_t)(t >> (8 * k));
        }
    }
}

static size_t value_type_size(const pg_otlp_valuetype *v)
{
    return sz_uint((uint64_t)(int64_t)v->type_strindex) +
           sz_uint((uint64_t)(int64_t)v->unit_strindex);
}

static void put_value_type(pg_buf *b, uint32_t f, const pg_otlp_valuetype *v)
{
    if (!v) return;
    pg_wire_put_tag(b, f, PG_WT_LEN);
    pg_wire_put_varint(b, value_type_size(v));
    put_i32(b, 1, v->type_strindex);
    put_i32(b, 2, v->unit_strindex);
}

static size_t str_field(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n ? sz_len(n) : 0;
}

static void put_str(pg_buf *b, uint32_t f, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n) pg_wire_put_bytes(b, f, s, n);
}

/* ---- samples held in columns with at most one value each (what pprof gives) ---- */

/* Can the column loop below write p's samples? */
static int simple_columns(const pg_samples *c)
{
    return c && !c->val_off && !c->ts_off;
}

/* Value i of simple columns; *has says whether the sample has a value at all. */
static inline int64_t col_value(const pg_samples *c, size_t i, int *has)
{
    *has = c->narrow || c->values;
    return c->narrow ? pg_narrow_get(c->narrow, c->width, i) : c->values ? c->values[i] : 0;
}

/* Size of sample i's identity fields (stack, attributes, link); *abody receives the
 * packed attribute body size. */
static inline size_t col_ident_size(const pg_samples *c, size_t i, size_t *abody)
{
    int32_t st = c->stack[i], lk = c->link ? c->link[i] : 0;
    size_t n = sz_uint((uint64_t)(int64_t)st) + sz_uint((uint64_t)(int64_t)lk);
    *abody = 0;
    if (c->attr_off && c->attrs) {
        for (uint32_t j = c->attr_off[i]; j < c->attr_off[i + 1]; j++)
            *abody += VSZ((uint64_t)(int64_t)c->attrs[j]);
        if (*abody) n += sz_len(*abody);
    }
    return n;
}

/* Size of sample i's value field (a packed field of one value: its length fits a byte). */
static inline size_t col_value_size(const pg_samples *c, size_t i)
{
    int has;
    int64_t v = col_value(c, i, &has);
    return has ? 2 + VSZ((uint64_t)v) : 0;
}

/* Writes a varint at q; returns the end. */
static inline uint8_t *raw_varint(uint8_t *q, uint64_t v)
{
    while (v >= 0x80) {
        *q++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *q++ = (uint8_t)v;
    return q;
}

/* Writes sample i's identity fields at q (room checked by the caller); returns the end. */
static uint8_t *put_col_ident(uint8_t *q, const pg_samples *c, size_t i, size_t abody)
{
    int32_t st = c->stack[i], lk = c->link ? c->link[i] : 0;
    if (st) {
        *q++ = 0x08;
        q = raw_varint(q, (uint64_t)(int64_t)st);
    }
    if (abody) {
        *q++ = 0x12;
        q = raw_varint(q, abody);
        for (uint32_t j = c->attr_off[i]; j < c->attr_off[i + 1]; j++)
            q = raw_varint(q, (uint64_t)(int64_t)c->attrs[j]);
    }
    if (lk) {
        *q++ = 0x18;
        q = raw_varint(q, (uint64_t)(int64_t)lk);
    }
    return q;
}

/* Writes sample i's value field at q; returns the end. */
static inline uint8_t *put_col_value(uint8_t *q, const pg_samples *c, size_t i)
{
    int has;
    int64_t v = col_value(c, i, &has);
    if (has) {
        *q++ = 0x22;
        *q++ = (uint8_t)VSZ((uint64_t)v);
        q = raw_varint(q, (uint64_t)v);
    }
    return q;
}

/* The identity fields of every sample, encoded once for all the profiles of a pprof
 * (they share their identity columns and differ only in values). malloc-owned. */
typedef struct ident_cache {
    pg_samples key; /* the identity columns it holds (compared by pointer) */
    uint8_t *sz;    /* identity size of each sample */
    uint8_t *bytes; /* identity fields, back to back */
    size_t total;   /* sum of sz */
    uint8_t max;    /* largest sz */
    int state;      /* 0 = empty, 1 = built, -1 = cannot (a size over 255, or no memory) */
    pg_duo *duo;    /* the helper thread that builds half of it, or NULL (borrowed) */
} ident_cache;

/* Frees what ic holds (not its helper). */
static void ident_free(ident_cache *ic)
{
    pg_duo *duo = ic->duo;
    free(ic->sz);
    free(ic->bytes);
    memset(ic, 0, sizeof *ic);
    ic->duo = duo;
}

/* Half of the building of an ident cache: samples [lo, hi). */
typedef struct ident_job {
    ident_cache *ic;
    const pg_samples *c;
    size_t lo, hi;
    size_t total; /* sizing: the range's identity bytes */
    uint8_t max;  /* sizing: its largest */
    int over;     /* sizing: a size over 255 */
    uint8_t *q;   /* writing: where the range's bytes go */
} ident_job;

/* pg_duo_fn: sizes the job's samples into ic->sz. */
static void ident_size_range(void *arg)
{
    ident_job *j = arg;
    size_t total = 0, abody;
    uint8_t max = 0;
    for (size_t i = j->lo; i < j->hi; i++) {
        size_t n = col_ident_size(j->c, i, &abody);
        if (n > 255) {
            j->over = 1;
            return;
        }
        j->ic->sz[i] = (uint8_t)n;
        if (n > max) max = (uint8_t)n;
        total += n;
    }
    j->total = total;
    j->max = max;
}

/* pg_duo_fn: writes the job's identity fields at j->q. */
static void ident_write_range(void *arg)
{
    ident_job *j = arg;
    uint8_t *q = j->q;
    size_t abody;
    for (size_t i = j->lo; i < j->hi; i++) {
        col_ident_size(j->c, i, &abody);
        q = put_col_ident(q, j->c, i, abody);
    }
}

/* Runs fn over both jobs: the first on ic's helper when there is one. */
static void ident_both(const ident_cache *ic, pg_duo_fn fn, ident_job *first, ident_job *second)
{
    if (ic->duo)
        pg_duo_run(ic->duo, fn, first);
    else
        fn(first);
    fn(second);
    if (ic->duo) pg_duo_wait(ic->duo);
}

/* Returns the cache for c's identity columns, building it when they differ from the
 * ones it holds (in two halves, the first on the helper when there is one); NULL when it
 * cannot be used. */
static const ident_cache *ident_for(ident_cache *ic, const pg_samples *c)
{
    if (!ic) return NULL;
    if (ic->state && ic->key.n == c->n && ic->key.stack == c->stack && ic->key.link == c->link &&
        ic->key.attr_off == c->attr_off && ic->key.attrs == c->attrs)
        return ic->state > 0 ? ic : NULL;
    ident_free(ic);
    ic->key = *c;
    ic->state = -1;
    if (!(ic->sz = malloc(c->n ? c->n : 1))) return NULL;
    size_t mid = c->n / 2;
    ident_job a = {.ic = ic, .c = c, .lo = 0, .hi = mid},
              b = {.ic = ic, .c = c, .lo = mid, .hi = c->n};
    ident_both(ic, ident_size_range, &a, &b);
    if (a.over || b.over) return NULL;
    ic->total = a.total + b.total;
    ic->max = a.max > b.max ? a.max : b.max;
    if (!(ic->bytes = malloc(ic->total ? ic->total : 1))) return NULL;
    a.q = ic->bytes;
    b.q = ic->bytes + a.total;
    ident_both(ic, ident_write_range, &a, &b);
    ic->state = 1;
    return ic;
}

/* Sum of the encoded sizes of the samples of simple columns. */
static size_t col_samples_size(ident_cache *cache, const pg_samples *c)
{
    const ident_cache *ic = ident_for(cache, c);
    size_t n = 0, abody;
    if (ic && ic->max + 12 < 128) {
        /* every body is shorter than 128 bytes (a value field takes at most 12): each
         * sample costs its tag and a one-byte length besides its fields */
        n = 2 * c->n + ic->total;
        if (c->narrow && c->width == 1) {
            const int8_t *v = c->narrow;
            for (size_t i = 0; i < c->n; i++)
                n += v[i] < 0 ? 12 : 3;
        } else {
            for (size_t i = 0; i < c->n; i++)
                n += col_value_size(c, i);
        }
        return n;
    }
    for (size_t i = 0; i < c->n; i++)
        n += sz_len((ic ? ic->sz[i] : col_ident_size(c, i, &abody)) + col_value_size(c, i));
    return n;
}

/* Writes samples [lo, hi) of simple columns at q, their identity fields from the cache
 * from *id on (advanced past them); the caller checked the room. Returns the end. */
static uint8_t *put_col_range(uint8_t *q, const ident_cache *ic, const uint8_t **id,
                              const pg_samples *c, size_t lo, size_t hi)
{
    const uint8_t *from = *id;
    for (size_t i = lo; i < hi; i++) {
        size_t isz = ic->sz[i];
        *q++ = 0x12; /* field 2, length-delimited */
        q = raw_varint(q, isz + col_value_size(c, i));
        memcpy(q, from, isz);
        q += isz;
        from += isz;
        q = put_col_value(q, c, i);
    }
    *id = from;
    return q;
}

/* Bytes that samples [lo, hi) take, and in *ident the bytes of their identity fields. */
static size_t col_range_size(const ident_cache *ic, const pg_samples *c, size_t lo, size_t hi,
                             size_t *ident)
{
    size_t n = 0, id = 0;
    for (size_t i = lo; i < hi; i++) {
        size_t body = ic->sz[i] + col_value_size(c, i);
        n += 1 + VSZ(body) + body;
        id += ic->sz[i];
    }
    *ident = id;
    return n;
}

/* The first part of a window, written by the helper thread: fn(ctx, q, lo, hi) writes
 * items [lo, hi) at q and returns the end. */
typedef struct half_job {
    uint8_t *(*fn)(const void *ctx, uint8_t *q, size_t lo, size_t hi);
    const void *ctx;
    uint8_t *q, *end;
    size_t lo, hi;
} half_job;

/* pg_duo_fn: writes the job's part. */
static void run_half_job(void *arg)
{
    half_job *j = arg;
    j->end = j->fn(j->ctx, j->q, j->lo, j->hi);
}

/* Waits for the helper's part j and checks that it ended at `at`, where this thread's part
 * began; returns 1, or 0 with b->failed set when the parts do not meet. */
static int join_half(pg_buf *b, pg_duo *duo, const half_job *j, const uint8_t *at)
{
    pg_duo_wait(duo);
    if (j->end == at) return 1;
    b->failed = PG_EINTERNAL;
    return 0;
}

/* The samples of a part: identity bytes from id (those of its first sample) on. */
typedef struct samples_part {
    const ident_cache *ic;
    const pg_samples *c;
    const uint8_t *id;
} samples_part;

/* half_job.fn for samples (ctx is a samples_part). */
static uint8_t *write_samples_part(const void *ctx, uint8_t *q, size_t lo, size_t hi)
{
    const samples_part *sp = ctx;
    const uint8_t *id = sp->id;
    return put_col_range(q, sp->ic, &id, sp->c, lo, hi);
}

/* Items per window of put_col_samples and put_stack_table: a window of at most about 64
 * KiB, the file sink's (so a flushing buffer does not grow for it), and at least 64. */
static size_t window_samples(size_t per_item)
{
    size_t w = ((size_t)64 << 10) / per_item;
    return w < 64 ? 64 : w;
}

/* Writes the samples of simple columns (Profile.samples, field 2) in windows, one room
 * check each. With duo, the helper writes the first 5/8 of each window while this thread
 * sizes that part and writes the rest after it. */
static void put_col_samples(pg_buf *b, ident_cache *cache, const pg_samples *c, pg_duo *duo)
{
    const ident_cache *ic = ident_for(cache, c);
    if (!ic) {
        for (size_t i = 0; i < c->n; i++) {
            size_t abody = 0, isz = col_ident_size(c, i, &abody);
            size_t body = isz + col_value_size(c, i);
            if (b->cap - b->len < body + 11 && pg_buf_reserve(b, body + 11)) return;
            uint8_t *q = b->data + b->len;
            *q++ = 0x12; /* field 2, length-delimited */
            q = raw_varint(q, body);
            q = put_col_ident(q, c, i, abody);
            q = put_col_value(q, c, i);
            b->len = (size_t)(q - b->data);
        }
        return;
    }
    size_t per = (size_t)ic->max + 15; /* tag, length (2 bytes: body < 270) and a value */
    size_t w = window_samples(per);
    const uint8_t *id = ic->bytes;
    for (size_t lo = 0; lo < c->n;) {
        size_t hi = c->n - lo < w ? c->n : lo + w;
        if (pg_buf_reserve(b, (hi - lo) * per)) return;
        uint8_t *q = b->data + b->len, *end;
        if (duo && hi - lo >= 128) {
            size_t mid = lo + (hi - lo) * 5 / 8, ident; /* this thread also sizes the first part */
            samples_part first = {ic, c, id};
            half_job j = {write_samples_part, &first, q, NULL, lo, mid};
            pg_duo_run(duo, run_half_job, &j);
            size_t skip = col_range_size(ic, c, lo, mid, &ident);
            id += ident;
            end = put_col_range(q + skip, ic, &id, c, mid, hi);
            if (!join_half(b, duo, &j, q + skip)) return;
        } else {
            end = put_col_range(q, ic, &id, c, lo, hi);
        }
        b->len = (size_t)(end - b->data);
        lo = hi;
    }
}

static size_t profile_size(const pg_otlp_profile *p, ident_cache *ic)
{
    size_t n = 0;
    if (p->sample_type) n += sz_len(value_type_size(p->sample_type));
    const pg_samples *c = pg_profile_columns(p);
    size_t ns = simple_columns(c) ? 0 : pg_profile_sample_count(p);
    if (simple_columns(c)) n += col_samples_size(ic, c);
    for (size_t i = 0; i < ns; i++) {
        pg_sample_ref r;
        pg_sample_at(p, i, &r);
        n += sz_len(sample_size(&r));
    }
    if (p->time_unix_nano) n += 9;
    n += sz_uint(p->duration_nano);
    if (p->period_type) n += sz_len(value_type_size(p->period_type));
    n += sz_uint((uint64_t)p->period);
    if (p->profile_id.len) n += sz_len(p->profile_id.len);
    n += sz_uint(p->dropped_attributes_count);
    n += str_field(p->original_payload_format);
    if (p->original_payload.len) n += sz_len(p->original_payload.len);
    n += sz_packed_i32(p->attribute_indices, p->n_attribute_indices);
    return n;
}

static void put_profile(pg_buf *b, const pg_otlp_profile *p, size_t size, ident_cache *ic,
                        pg_duo *duo)
{
    pg_wire_put_tag(b, 2, PG_WT_LEN); /* ScopeProfiles.profiles */
    pg_wire_put_varint(b, size);
    put_value_type(b, 1, p->sample_type);
    const pg_samples *c = pg_profile_columns(p);
    size_t ns = simple_columns(c) ? 0 : pg_profile_sample_count(p);
    if (simple_columns(c)) put_col_samples(b, ic, c, duo);
    for (size_t i = 0; i < ns; i++) {
        pg_sample_ref r;
        pg_sample_at(p, i, &r);
        put_sample(b, &r, sample_size(&r));
    }
    if (p->time_unix_nano) pg_wire_put_fixed64(b, 3, p->time_unix_nano);
    pg_wire_put_uint(b, 4, p->duration_nano);
    put_value_type(b, 5, p->period_type);
    pg_wire_put_uint(b, 6, (uint64_t)p->period);
    if (p->profile_id.len) pg_wire_put_bytes(b, 7, p->profile_id.data, p->profile_id.len);
    pg_wire_put_uint(b, 8, p->dropped_attributes_count);
    put_str(b, 9, p->original_payload_format);
    if (p->original_payload.len)
        pg_wire_put_bytes(b, 10, p->original_payload.data, p->original_payload.len);
    put_packed_i32(b, 11, p->attribute_indices, p->n_attribute_indices);
}

/* protobuf-c for small common messages: size and write of field f holding message m. */
static size_t pc_size(const void *m)
{
    return m ? sz_len(protobuf_c_message_get_packed_size(m)) : 0;
}

static void pc_put(pg_buf *b, uint32_t f, const void *m)
{
    if (!m) return;
    size_t n = protobuf_c_message_get_packed_size(m);
    pg_wire_put_tag(b, f, PG_WT_LEN);
    pg_wire_put_varint(b, n);
    if (pg_buf_reserve(b, n)) return;
    b->len += protobuf_c_message_pack(m, b->data + b->len);
}

static size_t scope_size(const pg_otlp_sprofiles *sp, const size_t *psz)
{
    size_t n = pc_size(sp->scope) + str_field(sp->schema_url);
    for (size_t i = 0; i < sp->n_profiles; i++)
        n += sz_len(psz[i]);
    return n;
}

/* ---- dictionary ---- */

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

/* Size of an attribute whose value's body takes vbody bytes (pg_otlp_any_body_size). */
static size_t attr_size(const pg_otlp_attr *a, size_t vbody)
{
    return sz_uint((uint64_t)(int64_t)a->key_strindex) + (a->value ? sz_len(vbody) : 0) +
           sz_uint((uint64_t)(int64_t)a->unit_strindex);
}

/* Bytes of an attribute's value body (0 without a value). */
static size_t attr_value_body(const pg_otlp_attr *a)
{
    return a->value ? pg_otlp_any_body_size(a->value) : 0;
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
    for (size_t j = 0; j < st->n; j++)
        body += VSZ((uint64_t)(int64_t)pg_stack_loc(st, j));
    return body;
}

/* Is the stack pool its own encoding (one byte per index, none >= 128: the common case)?
 * Then a stack's packed body is as long as the stack. */
static int stacks_verbatim(const pg_otlp_dict *d)
{
    const pg_stacks *cols = pg_dict_stacks(d);
    if (!cols || cols->width != 1) return 0;
    const uint8_t *v = cols->loc;
    size_t n = cols->off[cols->n], j = 0;
    uint64_t any = 0;
    for (; j + 8 <= n; j += 8) {
        uint64_t w;
        memcpy(&w, v + j, 8);
        any |= w;
    }
    for (; j < n; j++)
        any |= v[j];
    return (any & 0x8080808080808080ull) == 0;
}

/* Bytes of stack i's entry in the stack table (field 7); body as in put_stack_range. */
static inline size_t stack_entry_size(const pg_stack_ref *st, size_t body)
{
    return sz_len(st->n ? sz_len(body) : 0);
}

/* Size of the dictionary; when stack_body is non-NULL it receives each stack's packed
 * location-index body size, so writing does not compute it again. */
static size_t dict_size(const pg_otlp_dict *d, uint32_t *stack_body, int verbatim)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n_mapping_table; i++)
        n += sz_len(mapping_size(d->mapping_table[i]));
    for (size_t i = 0; i < d->n_location_table; i++)
        n += sz_len(location_size(d->location_table[i]));
    for (size_t i = 0; i < d->n_function_table; i++)
        n += sz_len(function_size(d->function_table[i]));
    for (size_t i = 0; i < d->n_link_table; i++)
        n += sz_len(link_size(d->link_table[i]));
    for (size_t i = 0; i < d->n_string_table; i++)
        n += sz_len(strlen(d->string_table[i]));
    for (size_t i = 0; i < d->n_attribute_table; i++)
        n += sz_len(attr_size(d->attribute_table[i], attr_value_body(d->attribute_table[i])));
    for (size_t i = 0, ns = pg_dict_stack_count(d); i < ns; i++) {
        pg_stack_ref st;
        pg_dict_stack_at(d, i, &st);
        size_t body = verbatim ? st.n : stack_body_size(&st);
        if (stack_body) stack_body[i] = (uint32_t)body;
        n += stack_entry_size(&st, body);
    }
    return n;
}

/* Writes stacks [lo, hi) of the stack table (field 7) at q (room checked by the caller);
 * stack_body holds each stack's packed body size, or is NULL for a verbatim pool
 * (stacks_verbatim). Returns the end. */
static uint8_t *put_stack_range(uint8_t *q, const pg_otlp_dict *d, const uint32_t *stack_body,
                                size_t lo, size_t hi)
{
    for (size_t i = lo; i < hi; i++) {
        pg_stack_ref s;
        pg_dict_stack_at(d, i, &s);
        size_t body = stack_body ? stack_body[i] : s.n;
        *q++ = 0x3a; /* field 7, length-delimited */
        if (!s.n) {
            *q++ = 0;
            continue;
        }
        q = raw_varint(q, sz_len(body));
        *q++ = 0x0a; /* Stack.location_indices (field 1), packed */
        q = raw_varint(q, body);
        if (body == s.n && s.width == 1) { /* every index below 128: bytes are varints */
            memcpy(q, s.loc, body);
            q += body;
        } else {
            for (size_t j = 0; j < s.n; j++)
                q = raw_varint(q, (uint64_t)(int64_t)pg_stack_loc(&s, j));
        }
    }
    return q;
}

/* The stacks of a part. */
typedef struct stacks_part {
    const pg_otlp_dict *d;
    const uint32_t *stack_body;
} stacks_part;

/* half_job.fn for stacks (ctx is a stacks_part). */
static uint8_t *write_stacks_part(const void *ctx, uint8_t *q, size_t lo, size_t hi)
{
    const stacks_part *sp = ctx;
    return put_stack_range(q, sp->d, sp->stack_body, lo, hi);
}

/* Writes the stack table in windows of about 64 KiB, one room check each; with duo the
 * helper writes the first half of each window while this thread writes the second. */
static void put_stack_table(pg_buf *b, const pg_otlp_dict *d, const uint32_t *stack_body,
                            pg_duo *duo)
{
    size_t ns = pg_dict_stack_count(d);
    const pg_stacks *cols = pg_dict_stacks(d);
    size_t avg = cols && ns ? cols->off[ns] * cols->width / ns + 8 : 8; /* bytes per stack */
    size_t w = window_samples(avg);
    for (size_t lo = 0; lo < ns;) {
        size_t hi = ns - lo < w ? ns : lo + w, mid = lo + (hi - lo) / 2, half = 0, all = 0;
        for (size_t i = lo; i < hi; i++) {
            pg_stack_ref st;
            pg_dict_stack_at(d, i, &st);
            if (i == mid) half = all;
            all += stack_entry_size(&st, stack_body ? stack_body[i] : st.n);
        }
        if (pg_buf_reserve(b, all)) return;
        uint8_t *q = b->data + b->len, *end;
        if (duo && hi - lo >= 64) {
            stacks_part part = {d, stack_body};
            half_job j = {write_stacks_part, &part, q, NULL, lo, mid};
            pg_duo_run(duo, run_half_job, &j);
            end = put_stack_range(q + half, d, stack_body, mid, hi);
            if (!join_half(b, duo, &j, q + half)) return;
        } else {
            end = put_stack_range(q, d, stack_body, lo, hi);
        }
        b->len = (size_t)(end - b->data);
        lo = hi;
    }
}

static void put_dict(pg_buf *b, const pg_otlp_dict *d, const uint32_t *stack_body, pg_duo *duo)
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
    for (size_t i = 0; i < d->n_location_table; i++) {
        const pg_otlp_location *l = d->location_table[i];
        pg_wire_put_tag(b, 2, PG_WT_LEN);
        pg_wire_put_varint(b, location_size(l));
        put_i32(b, 1, l->mapping_index);
        pg_wire_put_uint(b, 2, l->address);
        for (size_t j = 0; j < l->n_lines; j++) {
            const pg_otlp_line *ln = l->lines[j];
            pg_wire_put_tag(b, 3, PG_WT_LEN);
            pg_wire_put_varint(b, line_size(ln));
            put_i32(b, 1, ln->function_index);
            pg_wire_put_uint(b, 2, (uint64_t)ln->line);
            pg_wire_put_uint(b, 3, (uint64_t)ln->column);
        }
        put_packed_i32(b, 4, l->attribute_indices, l->n_attribute_indices);
    }
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
    for (size_t i = 0; i < d->n_attribute_table; i++) {
        const pg_otlp_attr *a = d->attribute_table[i];
        pg_wire_put_tag(b, 6, PG_WT_LEN);
        size_t vbody = attr_value_body(a);
        pg_wire_put_varint(b, attr_size(a, vbody));
        put_i32(b, 1, a->key_strindex);
        if (a->value) {
            pg_wire_put_tag(b, 2, PG_WT_LEN);
            pg_wire_put_varint(b, vbody);
            pg_otlp_any_put_body(b, a->value, vbody);
        }
        put_i32(b, 3, a->unit_strindex);
    }
    put_stack_table(b, d, stack_body, duo);
}

/* Size of the tree's encoding (the same pass pg_otlp_encode makes first). */
size_t pg_otlp_encoded_size(const pg_batch *b)
{
    const pg_otlp_data *d = pg_batch_data(b);
    size_t total = 0;
    for (size_t r = 0; r < d->n_resource_profiles; r++) {
        const pg_otlp_rprofiles *rp = d->resource_profiles[r];
        size_t rsz = pc_size(rp->resource) + str_field(rp->schema_url);
        for (size_t s = 0; s < rp->n_scope_profiles; s++) {
            const pg_otlp_sprofiles *sp = rp->scope_profiles[s];
            size_t ssz = pc_size(sp->scope) + str_field(sp->schema_url);
            for (size_t p = 0; p < sp->n_profiles; p++)
                ssz += sz_len(profile_size(sp->profiles[p], NULL));
            rsz += sz_len(ssz);
        }
        total += sz_len(rsz);
    }
    if (d->dictionary)
        total += sz_len(dict_size(d->dictionary, NULL, stacks_verbatim(d->dictionary)));
    return total;
}

/* Batches with fewer samples are written by one thread. */
#define THREAD_MIN_SAMPLES 65536

static pg_two_threads threads = {THREAD_MIN_SAMPLES, THREAD_MIN_SAMPLES, 0};

/* Test hook: see otlp_codec.h. */
void pg_otlp_encode_set_threads(size_t min_samples, int force)
{
    pg_two_threads_set(&threads, min_samples, force);
}

/* The dictionary's encoding plan: whether the stack pool is verbatim, each stack's body
 * size otherwise (malloc-owned), the dictionary's size; rc is 0 or PG_ENOMEM. */
typedef struct dict_plan {
    const pg_otlp_dict *d;
    uint32_t *stack_body;
    int verbatim, rc;
    size_t size;
} dict_plan;

/* pg_duo_fn (or a plain call): fills the plan of p->d (may be NULL). */
static void plan_dict(void *arg)
{
    dict_plan *p = arg;
    if (!p->d) return;
    p->verbatim = stacks_verbatim(p->d);
    if (!p->verbatim &&
        !(p->stack_body = malloc((pg_dict_stack_count(p->d) + 1) * sizeof *p->stack_body))) {
        p->rc = PG_ENOMEM;
        return;
    }
    p->size = dict_size(p->d, p->stack_body, p->verbatim);
}

/* Encodes the whole tree; sizes of profiles are computed once and reused (the
 * dictionary's on the helper thread, when there is one, meanwhile). With a flushing
 * buffer (pg_buf.flush) the output streams out in windows instead of being held whole. */
int pg_otlp_encode(const pg_batch *b, pg_buf *out, char *err, size_t errlen)
{
    const pg_otlp_data *d = pg_batch_data(b);
    size_t np = 0, n_samples = 0;
    for (size_t r = 0; r < d->n_resource_profiles; r++)
        for (size_t s = 0; s < d->resource_profiles[r]->n_scope_profiles; s++) {
            const pg_otlp_sprofiles *sp = d->resource_profiles[r]->scope_profiles[s];
            np += sp->n_profiles;
            for (size_t p = 0; p < sp->n_profiles; p++)
                n_samples += pg_profile_sample_count(sp->profiles[p]);
        }
    size_t *psz = malloc((np ? np : 1) * sizeof *psz);
    if (!psz) return pg_err(err, errlen, PG_ENOMEM, "otlp: out of memory");
    pg_duo *duo = pg_two_threads_worth(&threads, n_samples) ? pg_duo_start() : NULL;
    dict_plan dp = {.d = d->dictionary};
    if (duo)
        pg_duo_run(duo, plan_dict, &dp);
    else
        plan_dict(&dp);
    ident_cache ic = {0};
    size_t total = 0, k = 0;
    for (size_t r = 0; r < d->n_resource_profiles; r++) {
        const pg_otlp_rprofiles *rp = d->resource_profiles[r];
        size_t rsz = pc_size(rp->resource) + str_field(rp->schema_url);
        for (size_t s = 0; s < rp->n_scope_profiles; s++) {
            const pg_otlp_sprofiles *sp = rp->scope_profiles[s];
            for (size_t p = 0; p < sp->n_profiles; p++)
                psz[k + p] = profile_size(sp->profiles[p], &ic);
            rsz += sz_len(scope_size(sp, &psz[k]));
            k += sp->n_profiles;
        }
        total += sz_len(rsz);
    }
    if (duo) pg_duo_wait(duo);
    ic.duo = duo; /* from here on the helper is free to build identity caches */
    if (d->dictionary) total += sz_len(dp.size);
    int rc = dp.rc;
    if (!rc && !out->flush && pg_buf_reserve(out, total)) rc = PG_ENOMEM;
    size_t start = out->flushed + out->len;
    k = 0;
    for (size_t r = 0; !rc && r < d->n_resource_profiles; r++) {
        const pg_otlp_rprofiles *rp = d->resource_profiles[r];
        size_t rsz = pc_size(rp->resource) + str_field(rp->schema_url), k0 = k;
        for (size_t s = 0; s < rp->n_scope_profiles; s++) {
            rsz += sz_len(scope_size(rp->scope_profiles[s], &psz[k]));
            k += rp->scope_profiles[s]->n_profiles;
        }
        pg_wire_put_tag(out, 1, PG_WT_LEN);
        pg_wire_put_varint(out, rsz);
        pc_put(out, 1, rp->resource);
        for (size_t s = 0; s < rp->n_scope_profiles; s++) {
            const pg_otlp_sprofiles *sp = rp->scope_profiles[s];
            pg_wire_put_tag(out, 2, PG_WT_LEN);
            pg_wire_put_varint(out, scope_size(sp, &psz[k0]));
            pc_put(out, 1, sp->scope);
            for (size_t p = 0; p < sp->n_profiles; p++)
                put_profile(out, sp->profiles[p], psz[k0 + p], &ic, duo);
            put_str(out, 3, sp->schema_url);
            k0 += sp->n_profiles;
        }
        put_str(out, 3, rp->schema_url);
    }
    if (!rc && d->dictionary) {
        pg_wire_put_tag(out, 2, PG_WT_LEN);
        pg_wire_put_varint(out, dp.size);
        put_dict(out, d->dictionary, dp.stack_body, duo);
    }
    pg_duo_stop(duo);
    free(psz);
    ident_free(&ic);
    free(dp.stack_body);
    if (rc) return pg_err(err, errlen, PG_ENOMEM, "otlp: out of memory (%zu bytes)", total);
    size_t wrote = out->flushed + out->len - start;
    if (out->failed || wrote != total)
        return pg_err(err, errlen, out->flush ? PG_EIO : PG_ENOMEM,
                      "otlp: encoding failed (%zu of %zu bytes)", wrote, total);
    return 0;
}
