/* OTLP protobuf decoding of the ProfilesData tree. The tree levels (ResourceProfiles,
 * ScopeProfiles, Profile) and the samples are read here, the samples straight into columns
 * (pipeline/core/samples.h); the dictionary, Resource and InstrumentationScope go through
 * protobuf-c with the batch arena as allocator. Anything this reader does not expect (a
 * singular message given twice, a wire type that does not match) makes the caller fall
 * back to protobuf-c for the whole message, so protobuf's merge rules still hold. */
#include "pipeline/translate/otlp_unpack.h"
#include "pipeline/core/samples.h"
#include "pipeline/core/wire.h"

#include <stdlib.h>
#include <string.h>

enum { OK = 0, FALLBACK = 1, NOMEM = 2 };

typedef struct rd {
    pg_arena *a;
    ProtobufCAllocator al;
    int32_t *tmp_i32;
    int64_t *tmp_i64;
    uint64_t *tmp_u64;
    size_t cap_i32, cap_i64, cap_u64;
} rd;

static int grow(void *pp, size_t *cap, size_t need, size_t el)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *n = realloc(*(void **)pp, c * el);
    if (!n) return -1;
    *(void **)pp = n;
    *cap = c;
    return 0;
}

/* Unpacks a sub-message with protobuf-c into the arena (NULL on failure). */
static void *pc_unpack(rd *r, const ProtobufCMessageDescriptor *d, pg_wire w)
{
    return protobuf_c_message_unpack(d, &r->al, (size_t)(w.end - w.p), w.p);
}

static char *str_copy(rd *r, pg_wire w)
{
    size_t n = (size_t)(w.end - w.p);
    if (memchr(w.p, 0, n)) return NULL; /* kept as C strings */
    return pg_arena_strndup(r->a, (const char *)w.p, n);
}

/* Collects a repeated int32 field (packed or not) into r->tmp_i32 from position *n. */
static int read_i32s(rd *r, pg_wire *w, int wt, size_t *n)
{
    uint64_t v;
    if (wt == PG_WT_VARINT) {
        if (pg_wire_varint(w, &v) || grow(&r->tmp_i32, &r->cap_i32, *n + 1, 4)) return FALLBACK;
        r->tmp_i32[(*n)++] = (int32_t)(int64_t)v;
        return OK;
    }
    pg_wire sub;
    if (wt != PG_WT_LEN || pg_wire_len(w, &sub)) return FALLBACK;
    while (sub.p < sub.end) {
        if (pg_wire_varint(&sub, &v) || grow(&r->tmp_i32, &r->cap_i32, *n + 1, 4)) return FALLBACK;
        r->tmp_i32[(*n)++] = (int32_t)(int64_t)v;
    }
    return OK;
}

static int read_i64s(rd *r, pg_wire *w, int wt, size_t *n)
{
    uint64_t v;
    if (wt == PG_WT_VARINT) {
        if (pg_wire_varint(w, &v) || grow(&r->tmp_i64, &r->cap_i64, *n + 1, 8)) return FALLBACK;
        r->tmp_i64[(*n)++] = (int64_t)v;
        return OK;
    }
    pg_wire sub;
    if (wt != PG_WT_LEN || pg_wire_len(w, &sub)) return FALLBACK;
    while (sub.p < sub.end) {
        if (pg_wire_varint(&sub, &v) || grow(&r->tmp_i64, &r->cap_i64, *n + 1, 8)) return FALLBACK;
        r->tmp_i64[(*n)++] = (int64_t)v;
    }
    return OK;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--) v = (v << 8) | p[k];
    return v;
}

static int read_fixed64s(rd *r, pg_wire *w, int wt, size_t *n)
{
    if (wt == PG_WT_I64) {
        if (w->end - w->p < 8 || grow(&r->tmp_u64, &r->cap_u64, *n + 1, 8)) return FALLBACK;
        r->tmp_u64[(*n)++] = le64(w->p);
        w->p += 8;
        return OK;
    }
    pg_wire sub;
    if (wt != PG_WT_LEN || pg_wire_len(w, &sub) || (sub.end - sub.p) % 8) return FALLBACK;
    size_t k = (size_t)(sub.end - sub.p) / 8;
    if (grow(&r->tmp_u64, &r->cap_u64, *n + k, 8)) return FALLBACK;
    for (size_t i = 0; i < k; i++) r->tmp_u64[(*n)++] = le64(sub.p + 8 * i);
    return OK;
}

/* One Sample into the builder. Scratch layout: attrs in tmp_i32, values in tmp_i64,
 * timestamps in tmp_u64 (all from 0). */
static int read_sample(rd *r, pg_wire w, pg_samples_builder *sb)
{
    pg_sample_ref s = {0};
    size_t na = 0, nv = 0, nt = 0;
    uint32_t f;
    int wt, t;
    uint64_t v;
    while ((t = pg_wire_tag(&w, &f, &wt)) == 1) {
        int rc = OK;
        if (f == 1 || f == 3) {
            if (wt != PG_WT_VARINT || pg_wire_varint(&w, &v)) return FALLBACK;
            *(f == 1 ? &s.stack : &s.link) = (int32_t)(int64_t)v;
        } else if (f == 2) rc = read_i32s(r, &w, wt, &na);
        else if (f == 4) rc = read_i64s(r, &w, wt, &nv);
        else if (f == 5) rc = read_fixed64s(r, &w, wt, &nt);
        else if (pg_wire_skip(&w, wt)) return FALLBACK;
        if (rc) return rc;
    }
    if (t < 0) return FALLBACK;
    s.attrs = r->tmp_i32;
    s.n_attrs = na;
    s.values = r->tmp_i64;
    s.n_values = nv;
    s.ts = r->tmp_u64;
    s.n_ts = nt;
    return pg_samples_builder_add(sb, &s) ? NOMEM : OK;
}

/* A ValueType read into *vt (allocated on first sight; a repeat merges into it). */
static int read_value_type(rd *r, pg_wire w, pg_otlp_valuetype **vt)
{
    if (!*vt && !(*vt = pg_otlp_valuetype_new(r->a))) return NOMEM;
    uint32_t f;
    int wt, t;
    uint64_t v;
    while ((t = pg_wire_tag(&w, &f, &wt)) == 1) {
        if (f == 1 || f == 2) {
            if (wt != PG_WT_VARINT || pg_wire_varint(&w, &v)) return FALLBACK;
            *(f == 1 ? &(*vt)->type_strindex : &(*vt)->unit_strindex) = (int32_t)(int64_t)v;
        } else if (pg_wire_skip(&w, wt)) return FALLBACK;
    }
    return t < 0 ? FALLBACK : OK;
}

static int bytes_field(rd *r, pg_wire w, ProtobufCBinaryData *out)
{
    out->len = (size_t)(w.end - w.p);
    out->data = out->len ? pg_arena_memdup(r->a, w.p, out->len) : NULL;
    return out->len && !out->data ? NOMEM : OK;
}

/* One Profile: its fields, samples into columns (identity columns shared with `like`
 * when equal: the profiles of one pprof). */
static int read_profile(rd *r, pg_wire w, const pg_samples *like, pg_otlp_profile **out)
{
    pg_otlp_profile *p = pg_otlp_profile_new(r->a);
    if (!p) return NOMEM;
    pg_samples_builder sb = {0};
    size_t n_attr = 0, cap_pattrs = 0;
    int32_t *pattrs = NULL;
    uint32_t f;
    int wt, t, rc = OK;
    uint64_t v;
    while (rc == OK && (t = pg_wire_tag(&w, &f, &wt)) == 1) {
        pg_wire sub;
        if (f == 3) {
            if (wt != PG_WT_I64 || w.end - w.p < 8) { rc = FALLBACK; break; }
            p->time_unix_nano = le64(w.p);
            w.p += 8;
        } else if (f == 4 || f == 6 || f == 8) {
            if (wt != PG_WT_VARINT || pg_wire_varint(&w, &v)) { rc = FALLBACK; break; }
            if (f == 4) p->duration_nano = v;
            else if (f == 6) p->period = (int64_t)v;
            else p->dropped_attributes_count = (uint32_t)v;
        } else if (f == 11) {
            /* the profile's attribute indices get their own array (samples use tmp_i32) */
            int32_t *save = r->tmp_i32;
            size_t save_cap = r->cap_i32;
            r->tmp_i32 = pattrs;
            r->cap_i32 = cap_pattrs;
            rc = read_i32s(r, &w, wt, &n_attr);
            pattrs = r->tmp_i32;
            cap_pattrs = r->cap_i32;
            r->tmp_i32 = save;
            r->cap_i32 = save_cap;
        } else if (f == 1 || f == 2 || f == 5 || f == 7 || f == 9 || f == 10) {
            if (wt != PG_WT_LEN || pg_wire_len(&w, &sub)) { rc = FALLBACK; break; }
            if (f == 1) rc = read_value_type(r, sub, &p->sample_type);
            else if (f == 5) rc = read_value_type(r, sub, &p->period_type);
            else if (f == 2) rc = read_sample(r, sub, &sb);
            else if (f == 7) rc = bytes_field(r, sub, &p->profile_id);
            else if (f == 10) rc = bytes_field(r, sub, &p->original_payload);
            else if (!(p->original_payload_format = str_copy(r, sub))) rc = FALLBACK;
        } else if (pg_wire_skip(&w, wt)) {
            rc = FALLBACK;
        }
    }
    if (rc == OK && t < 0) rc = FALLBACK;
    if (rc == OK && n_attr) {
        p->attribute_indices = pg_arena_memdup(r->a, pattrs, n_attr * sizeof *pattrs);
        p->n_attribute_indices = n_attr;
        if (!p->attribute_indices) rc = NOMEM;
    }
    free(pattrs);
    if (rc == OK && pg_samples_builder_finish(&sb, r->a, p, like)) rc = NOMEM;
    pg_samples_builder_free(&sb);
    *out = p;
    return rc;
}

/* ScopeProfiles: the scope through protobuf-c, profiles by hand. */
static int read_scope(rd *r, pg_wire w, pg_otlp_sprofiles **out)
{
    pg_otlp_sprofiles *sp = pg_otlp_sprofiles_new(r->a);
    if (!sp) return NOMEM;
    uint32_t f;
    int wt, t, rc = OK;
    while (rc == OK && (t = pg_wire_tag(&w, &f, &wt)) == 1) {
        pg_wire sub;
        if (f >= 1 && f <= 3) {
            if (wt != PG_WT_LEN || pg_wire_len(&w, &sub)) return FALLBACK;
            if (f == 1) {
                if (sp->scope) return FALLBACK; /* merge semantics: leave it to protobuf-c */
                if (!(sp->scope = pc_unpack(r, &opentelemetry__proto__common__v1__instrumentation_scope__descriptor, sub)))
                    return FALLBACK;
            } else if (f == 2) {
                pg_otlp_profile *p = NULL;
                const pg_samples *like = sp->n_profiles ? pg_profile_columns(sp->profiles[sp->n_profiles - 1]) : NULL;
                rc = read_profile(r, sub, like, &p);
                if (rc == OK && pg_otlp_push(r->a, (void ***)&sp->profiles, &sp->n_profiles, p)) rc = NOMEM;
            } else if (!(sp->schema_url = str_copy(r, sub))) return FALLBACK;
        } else if (pg_wire_skip(&w, wt)) return FALLBACK;
    }
    if (rc == OK && t < 0) rc = FALLBACK;
    *out = sp;
    return rc;
}

/* ResourceProfiles: the resource through protobuf-c, scopes by hand. */
static int read_resource(rd *r, pg_wire w, pg_otlp_rprofiles **out)
{
    pg_otlp_rprofiles *rp = pg_otlp_rprofiles_new(r->a);
    if (!rp) return NOMEM;
    uint32_t f;
    int wt, t, rc = OK;
    while (rc == OK && (t = pg_wire_tag(&w, &f, &wt)) == 1) {
        pg_wire sub;
        if (f >= 1 && f <= 3) {
            if (wt != PG_WT_LEN || pg_wire_len(&w, &sub)) return FALLBACK;
            if (f == 1) {
                if (rp->resource) return FALLBACK;
                if (!(rp->resource = pc_unpack(r, &opentelemetry__proto__resource__v1__resource__descriptor, sub)))
                    return FALLBACK;
            } else if (f == 2) {
                pg_otlp_sprofiles *sp = NULL;
                rc = read_scope(r, sub, &sp);
                if (rc == OK && pg_otlp_push(r->a, (void ***)&rp->scope_profiles, &rp->n_scope_profiles, sp)) rc = NOMEM;
            } else if (!(rp->schema_url = str_copy(r, sub))) return FALLBACK;
        } else if (pg_wire_skip(&w, wt)) return FALLBACK;
    }
    if (rc == OK && t < 0) rc = FALLBACK;
    *out = rp;
    return rc;
}

/* See otlp_unpack.h. */
int pg_otlp_unpack(pg_arena *a, const uint8_t *data, size_t len, pg_otlp_data **out)
{
    rd r = {.a = a, .al = pg_arena_protobuf_allocator(a)};
    pg_otlp_data *d = pg_otlp_data_new(a);
    if (!d) return PG_OTLP_UNPACK_NOMEM;
    pg_wire w = pg_wire_of(data, len);
    uint32_t f;
    int wt, t, rc = OK;
    while (rc == OK && (t = pg_wire_tag(&w, &f, &wt)) == 1) {
        pg_wire sub;
        if (f == 1 || f == 2) {
            if (wt != PG_WT_LEN || pg_wire_len(&w, &sub)) { rc = FALLBACK; break; }
            if (f == 2) {
                if (d->dictionary) { rc = FALLBACK; break; }
                d->dictionary = pc_unpack(&r, &opentelemetry__proto__profiles__v1development__profiles_dictionary__descriptor, sub);
                if (!d->dictionary) rc = FALLBACK;
            } else {
                pg_otlp_rprofiles *rp = NULL;
                rc = read_resource(&r, sub, &rp);
                if (rc == OK && pg_otlp_push(a, (void ***)&d->resource_profiles, &d->n_resource_profiles, rp)) rc = NOMEM;
            }
        } else if (pg_wire_skip(&w, wt)) {
            rc = FALLBACK;
        }
    }
    if (rc == OK && t < 0) rc = FALLBACK;
    free(r.tmp_i32);
    free(r.tmp_i64);
    free(r.tmp_u64);
    if (rc) return rc == NOMEM ? PG_OTLP_UNPACK_NOMEM : PG_OTLP_UNPACK_FALLBACK;
    *out = d;
    return PG_OTLP_UNPACK_OK;
}
