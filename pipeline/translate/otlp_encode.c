/* OTLP protobuf encoder for the batch tree. Hand-written for the messages that repeat per
 * sample and per dictionary entry (protobuf-c's generic packer was a third of a
 * conversion), attribute values too (otlp_any_wire.c); small common messages (Resource,
 * InstrumentationScope) still go through protobuf-c. Output is byte-identical to
 * protobuf_c_message_pack. */
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/otlp_encode_int.h"
#include "pipeline/core/cpus.h"
#include "pipeline/core/err.h"
#include "pipeline/core/samples.h"

#include <stdlib.h>
#include <string.h>

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

/* Writes sample i's identity fields at q (room checked by the caller); returns the end. */
static uint8_t *put_col_ident(uint8_t *q, const pg_samples *c, size_t i, size_t abody)
{
    int32_t st = c->stack[i], lk = c->link ? c->link[i] : 0;
    if (st) {
        *q++ = 0x08;
        q = pg_wire_raw_varint(q, (uint64_t)(int64_t)st);
    }
    if (abody) {
        *q++ = 0x12;
        q = pg_wire_raw_varint(q, abody);
        for (uint32_t j = c->attr_off[i]; j < c->attr_off[i + 1]; j++)
            q = pg_wire_raw_varint(q, (uint64_t)(int64_t)c->attrs[j]);
    }
    if (lk) {
        *q++ = 0x18;
        q = pg_wire_raw_varint(q, (uint64_t)(int64_t)lk);
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
        q = pg_wire_raw_varint(q, (uint64_t)v);
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
        q = pg_wire_raw_varint(q, isz + col_value_size(c, i));
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

/* The samples of a part: identity bytes from id (those of its first sample) on. */
typedef struct samples_part {
    const ident_cache *ic;
    const pg_samples *c;
    const uint8_t *id;
} samples_part;

/* pg_otlp_range_fn for samples (ctx is a samples_part). */
static uint8_t *write_samples_part(const void *ctx, uint8_t *q, size_t lo, size_t hi)
{
    const samples_part *sp = ctx;
    const uint8_t *id = sp->id;
    return put_col_range(q, sp->ic, &id, sp->c, lo, hi);
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
            q = pg_wire_raw_varint(q, body);
            q = put_col_ident(q, c, i, abody);
            q = put_col_value(q, c, i);
            b->len = (size_t)(q - b->data);
        }
        return;
    }
    size_t per = (size_t)ic->max + 15; /* tag, length (2 bytes: body < 270) and a value */
    size_t w = pg_otlp_window_items(per);
    const uint8_t *id = ic->bytes;
    for (size_t lo = 0; lo < c->n;) {
        size_t hi = c->n - lo < w ? c->n : lo + w;
        if (pg_buf_reserve(b, (hi - lo) * per)) return;
        uint8_t *q = b->data + b->len, *end;
        if (duo && hi - lo >= 128) {
            size_t mid = lo + (hi - lo) * 5 / 8, ident; /* this thread also sizes the first part */
            samples_part first = {ic, c, id};
            pg_otlp_half j = {write_samples_part, &first, q, NULL, lo, mid};
            pg_duo_run(duo, pg_otlp_half_run, &j);
            size_t skip = col_range_size(ic, c, lo, mid, &ident);
            id += ident;
            end = put_col_range(q + skip, ic, &id, c, mid, hi);
            if (!pg_otlp_half_join(b, duo, &j, q + skip)) return;
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
    if (d->dictionary) total += sz_len(pg_otlp_dict_size(d->dictionary));
    return total;
}

/* Batches with fewer samples are written by one thread (at 10k samples two already save a
 * twentieth of a conversion; the helper starts in about 0.1 ms). */
#define THREAD_MIN_SAMPLES 8192

static pg_two_threads threads = {THREAD_MIN_SAMPLES, THREAD_MIN_SAMPLES, 0};

/* Test hook: see otlp_codec.h. */
void pg_otlp_encode_set_threads(size_t min_samples, int force)
{
    pg_two_threads_set(&threads, min_samples, force);
}

/* Encodes the whole tree; sizes are computed once and reused. With a flushing
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
    /* the helper sizes the stack table while this thread sizes the other tables, then
     * joins it; then the profiles, their identity cache built by both threads */
    pg_otlp_dict_plan dp;
    int rc = pg_otlp_dict_plan_init(&dp, d->dictionary);
    if (!rc) {
        if (duo) pg_duo_run(duo, pg_otlp_dict_plan_stacks, &dp);
        pg_otlp_dict_plan_tables(&dp);
        pg_otlp_dict_plan_stacks(&dp); /* the slices the helper has not claimed */
        if (duo) pg_duo_wait(duo);
    }
    ident_cache ic = {.duo = duo};
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
    size_t dict_bytes = dp.tables + dp.stacks;
    if (d->dictionary) total += sz_len(dict_bytes);
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
        pg_wire_put_varint(out, dict_bytes);
        pg_otlp_put_dict(out, &dp, duo);
    }
    pg_duo_stop(duo);
    free(psz);
    ident_free(&ic);
    pg_otlp_dict_plan_free(&dp);
    if (rc) return pg_err(err, errlen, PG_ENOMEM, "otlp: out of memory (%zu bytes)", total);
    size_t wrote = out->flushed + out->len - start;
    if (out->failed || wrote != total)
        return pg_err(err, errlen, out->flush ? PG_EIO : PG_ENOMEM,
                      "otlp: encoding failed (%zu of %zu bytes)", wrote, total);
    return 0;
}
