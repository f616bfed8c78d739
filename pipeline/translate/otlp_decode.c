/* OTLP protobuf decoding of the ProfilesData tree. The tree levels (ResourceProfiles,
 * ScopeProfiles, Profile) and the samples are read here, the samples straight into columns
 * (pipeline/core/samples.h), the dictionary's stack table too (otlp_decode_dict.c); the
 * rest of the dictionary, Resource and InstrumentationScope go through protobuf-c with the
 * batch arena as allocator. A singular message given twice is merged as protobuf says (the
 * concatenation of both encodings). Anything else this reader does not expect (a wire
 * type that does not match, a truncated field) is also rejected by protobuf-c; the caller
 * falls back to protobuf-c for the whole message, unless consumed input was released. */
#include "pipeline/translate/otlp_decode_int.h"
#include "pipeline/core/cpus.h"
#include "pipeline/core/duo.h"
#include "pipeline/core/samples.h"
#include "pipeline/core/vec.h"

#include <stdlib.h>
#include <string.h>

enum {
    OK = PG_OTLP_UNPACK_OK,
    FALLBACK = PG_OTLP_UNPACK_FALLBACK,
    NOMEM = PG_OTLP_UNPACK_NOMEM,
    DEEP = PG_OTLP_UNPACK_DEEP
};

/* Nesting levels the hand-read part spans (ProfilesData down to Sample, a leaf): the
 * smallest depth budget under which pg_otlp_check_depth lets a Sample through. */
#define HAND_LEVELS 5

typedef struct rd {
    pg_arena *a;
    ProtobufCAllocator al;
    pg_otlp_release rl; /* rl.done NULL: the input is borrowed */
    int depth;          /* nesting budget at ProfilesData (pg_otlp_check_depth's count) */
    pg_otlp_dict_reader dict;
    int32_t *tmp_i32;
    int64_t *tmp_i64;
    uint64_t *tmp_u64;
    size_t cap_i32, cap_i64, cap_u64;
} rd;

/* Frees a reader's scratch vectors (the reader itself is the caller's). */
static void rd_scratch_free(rd *r)
{
    free(r->tmp_i32);
    free(r->tmp_i64);
    free(r->tmp_u64);
}

/* Unpacks a singular sub-message with protobuf-c into the arena as *m, once its nesting
 * (`depth` levels left, itself included) is checked; a repeat merges into what *m holds by
 * unpacking the re-encoded first one followed by the new bytes. */
static int pc_unpack(rd *r, const ProtobufCMessageDescriptor *d, int depth, void **m, pg_wire w)
{
    if (pg_otlp_check_depth(w, d, depth)) return DEEP;
    size_t n = (size_t)(w.end - w.p);
    if (!*m) {
        *m = protobuf_c_message_unpack(d, &r->al, n, w.p);
        return *m ? OK : FALLBACK;
    }
    size_t n0 = protobuf_c_message_get_packed_size(*m);
    uint8_t *cat = malloc(n0 + n + 1);
    if (!cat) return NOMEM;
    protobuf_c_message_pack(*m, cat);
    if (n) memcpy(cat + n0, w.p, n);
    void *merged = protobuf_c_message_unpack(d, &r->al, n0 + n, cat);
    free(cat);
    if (!merged) return FALLBACK;
    *m = merged;
    return OK;
}

/* A string field, kept as a C string as protobuf-c keeps it (an embedded NUL ends it). */
static int str_copy(rd *r, pg_wire w, char **out)
{
    *out = pg_arena_strndup(r->a, (const char *)w.p, (size_t)(w.end - w.p));
    return *out ? OK : NOMEM;
}

/* Collects a repeated int32 field (packed or not) into r->tmp_i32 from position *n. */
static int read_i32s(rd *r, pg_wire *w, int wt, size_t *n)
{
    uint64_t v;
    if (wt == PG_WT_VARINT) {
        if (pg_wire_varint(w, &v)) return FALLBACK;
        if (PG_VEC_RESERVE(r->tmp_i32, r->cap_i32, *n + 1, 64)) return NOMEM;
        r->tmp_i32[(*n)++] = (int32_t)(int64_t)v;
        return OK;
    }
    pg_wire sub;
    if (wt != PG_WT_LEN || pg_wire_len(w, &sub)) return FALLBACK;
    while (sub.p < sub.end) {
        if (pg_wire_varint(&sub, &v)) return FALLBACK;
        if (PG_VEC_RESERVE(r->tmp_i32, r->cap_i32, *n + 1, 64)) return NOMEM;
        r->tmp_i32[(*n)++] = (int32_t)(int64_t)v;
    }
    return OK;
}

static int read_i64s(rd *r, pg_wire *w, int wt, size_t *n)
{
    uint64_t v;
    if (wt == PG_WT_VARINT) {
        if (pg_wire_varint(w, &v)) return FALLBACK;
        if (PG_VEC_RESERVE(r->tmp_i64, r->cap_i64, *n + 1, 64)) return NOMEM;
        r->tmp_i64[(*n)++] = (int64_t)v;
        return OK;
    }
    pg_wire sub;
    if (wt != PG_WT_LEN || pg_wire_len(w, &sub)) return FALLBACK;
    while (sub.p < sub.end) {
        if (pg_wire_varint(&sub, &v)) return FALLBACK;
        if (PG_VEC_RESERVE(r->tmp_i64, r->cap_i64, *n + 1, 64)) return NOMEM;
        r->tmp_i64[(*n)++] = (int64_t)v;
    }
    return OK;
}

static int read_fixed64s(rd *r, pg_wire *w, int wt, size_t *n)
{
    if (wt == PG_WT_I64) {
        if (w->end - w->p < 8) return FALLBACK;
        if (PG_VEC_RESERVE(r->tmp_u64, r->cap_u64, *n + 1, 64)) return NOMEM;
        r->tmp_u64[(*n)++] = pg_wire_le64(w->p);
        w->p += 8;
        return OK;
    }
    pg_wire sub;
    if (wt != PG_WT_LEN || pg_wire_len(w, &sub) || (sub.end - sub.p) % 8) return FALLBACK;
    size_t k = (size_t)(sub.end - sub.p) / 8;
    if (PG_VEC_RESERVE(r->tmp_u64, r->cap_u64, *n + k, 64)) return NOMEM;
    for (size_t i = 0; i < k; i++)
        r->tmp_u64[(*n)++] = pg_wire_le64(sub.p + 8 * i);
    return OK;
}

/* One Sample into the columns. Scratch layout: attrs in tmp_i32, values in tmp_i64,
 * timestamps in tmp_u64 (all from 0). */
static int read_sample(rd *r, pg_wire w, pg_otlp_cols *cols)
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
        } else if (f == 2)
            rc = read_i32s(r, &w, wt, &na);
        else if (f == 4)
            rc = read_i64s(r, &w, wt, &nv);
        else if (f == 5)
            rc = read_fixed64s(r, &w, wt, &nt);
        else if (pg_wire_skip(&w, wt))
            return FALLBACK;
        if (rc) return rc;
    }
    if (t < 0) return FALLBACK;
    s.attrs = r->tmp_i32;
    s.n_attrs = na;
    s.values = r->tmp_i64;
    s.n_values = nv;
    s.ts = r->tmp_u64;
    s.n_ts = nt;
    return pg_otlp_cols_add(cols, &s) ? NOMEM : OK;
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
        } else if (pg_wire_skip(&w, wt))
            return FALLBACK;
    }
    return t < 0 ? FALLBACK : OK;
}

static int bytes_field(rd *r, pg_wire w, ProtobufCBinaryData *out)
{
    out->len = (size_t)(w.end - w.p);
    out->data = out->len ? pg_arena_memdup(r->a, w.p, out->len) : NULL;
    return out->len && !out->data ? NOMEM : OK;
}

/* Number of Sample fields (2) of a Profile payload, as far as it reads. */
static size_t count_samples(pg_wire w)
{
    size_t n = 0;
    uint32_t f;
    int wt;
    while (pg_wire_tag(&w, &f, &wt) == 1) {
        n += f == 2;
        if (pg_wire_skip(&w, wt)) break;
    }
    return n;
}

/* One Profile: its fields, samples into columns (identity columns shared with `like`
 * when equal: the profiles of one pprof). */
static int read_profile(rd *r, pg_wire w, const pg_samples *like, pg_otlp_profile **out)
{
    pg_otlp_profile *p = pg_otlp_profile_new(r->a);
    if (!p) return NOMEM;
    pg_otlp_cols cols;
    if (pg_otlp_cols_init(&cols, r->a, count_samples(w), like)) return NOMEM;
    size_t n_attr = 0, cap_pattrs = 0;
    int32_t *pattrs = NULL;
    uint32_t f;
    int wt, t, rc = OK;
    uint64_t v;
    while (rc == OK && (t = pg_wire_tag(&w, &f, &wt)) == 1) {
        pg_wire sub;
        if (f == 3) {
            if (wt != PG_WT_I64 || w.end - w.p < 8) {
                rc = FALLBACK;
                break;
            }
            p->time_unix_nano = pg_wire_le64(w.p);
            w.p += 8;
        } else if (f == 4 || f == 6 || f == 8) {
            if (wt != PG_WT_VARINT || pg_wire_varint(&w, &v)) {
                rc = FALLBACK;
                break;
            }
            if (f == 4)
                p->duration_nano = v;
            else if (f == 6)
                p->period = (int64_t)v;
            else
                p->dropped_attributes_count = (uint32_t)v;
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
            if (wt != PG_WT_LEN || pg_wire_len(&w, &sub)) {
                rc = FALLBACK;
                break;
            }
            if (f == 1)
                rc = read_value_type(r, sub, &p->sample_type);
            else if (f == 5)
                rc = read_value_type(r, sub, &p->period_type);
            else if (f == 2) {
                rc = read_sample(r, sub, &cols);
                pg_otlp_release_upto(&r->rl, sub.end);
            } else if (f == 7)
                rc = bytes_field(r, sub, &p->profile_id);
            else if (f == 10)
                rc = bytes_field(r, sub, &p->original_payload);
            else
                rc = str_copy(r, sub, &p->original_payload_format);
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
    if (rc == OK && pg_otlp_cols_finish(&cols, p)) rc = NOMEM;
    *out = p;
    return rc;
}

/* A run of profiles one thread reads: their payloads, where they go, how it went. */
typedef struct profile_run {
    rd *r;
    const pg_wire *subs;
    size_t n;
    pg_otlp_profile **out; /* n */
    int rc;
} profile_run;

/* Reads a run's profiles in order, each sharing identity columns with the one before;
 * stops at the first failure (pg_duo_fn). */
static void read_run(void *arg)
{
    profile_run *pr = arg;
    pr->rc = OK;
    for (size_t k = 0; k < pr->n && pr->rc == OK; k++)
        pr->rc = read_profile(pr->r, pr->subs[k], k ? pg_profile_columns(pr->out[k - 1]) : NULL,
                              &pr->out[k]);
}

/* Scopes whose profiles take at least this many bytes are read on two threads. */
#define THREAD_MIN_BYTES ((size_t)1 << 20)
static pg_two_threads policy = {THREAD_MIN_BYTES, THREAD_MIN_BYTES, 0};

/* Test hook: see otlp_decode_int.h. */
void pg_otlp_unpack_set_thread(size_t min_bytes, int force)
{
    pg_two_threads_set(&policy, min_bytes, force);
}

/* Reads profiles subs[0..n) into out on two threads: the first m on this one, the others
 * on a helper with an arena, scratch and release cursor of its own (it releases only pages
 * wholly after subs[m] starts; this thread's cursor stays before it). The helper's arena
 * then joins r's, and its first profile shares what it can with out[m - 1]. Returns the
 * first failure in profile order, or OK; *ran is 0 when no thread could be had (nothing
 * was read then). Every profile of out is set when OK. */
static int read_two(rd *r, const pg_wire *subs, size_t n, size_t m, pg_otlp_profile **out, int *ran)
{
    *ran = 0;
    size_t room = pg_arena_room(r->a);
    pg_arena *ha = pg_arena_new(room == SIZE_MAX ? 0 : room);
    pg_duo *duo = ha ? pg_duo_start() : NULL;
    if (!duo) {
        pg_arena_free(ha);
        return OK;
    }
    *ran = 1;
    rd h = {.a = ha,
            .al = pg_arena_protobuf_allocator(ha),
            .rl = {r->rl.done ? subs[m].p : NULL, 0},
            .depth = r->depth};
    profile_run mine = {r, subs, m, out, OK}, theirs = {&h, subs + m, n - m, out + m, OK};
    pg_duo_run(duo, read_run, &theirs);
    read_run(&mine);
    pg_duo_stop(duo);
    rd_scratch_free(&h);
    r->rl.any |= h.rl.any;
    int rc = mine.rc != OK ? mine.rc : theirs.rc;
    if (pg_arena_absorb(r->a, ha) && rc == OK) rc = NOMEM;
    if (rc == OK) pg_otlp_cols_share(pg_profile_columns(out[m - 1]), out + m, n - m);
    return rc;
}

/* Reads the n profiles of a scope into out: on two threads when they are large enough and
 * the arena's cap leaves room for the helper to read without sharing (a profile's columns
 * take at most four times its bytes, twice that is asked for), else in one run. */
static int read_profiles(rd *r, const pg_wire *subs, size_t n, pg_otlp_profile **out)
{
    size_t bytes = 0;
    for (size_t k = 0; k < n; k++)
        bytes += (size_t)(subs[k].end - subs[k].p);
    if (n >= 2 && pg_two_threads_worth(&policy, bytes) && pg_arena_room(r->a) / 8 >= bytes) {
        size_t m = 1, head = 0, best = SIZE_MAX; /* the split whose larger side is smallest */
        for (size_t k = 1; k < n; k++) {
            head += (size_t)(subs[k - 1].end - subs[k - 1].p);
            size_t larger = head > bytes - head ? head : bytes - head;
            if (larger < best) {
                best = larger;
                m = k;
            }
        }
        int ran, rc = read_two(r, subs, n, m, out, &ran);
        if (ran) return rc;
    }
    profile_run all = {r, subs, n, out, OK};
    read_run(&all);
    return all.rc;
}

/* ScopeProfiles: the scope through protobuf-c, profiles by hand once the scope's fields are
 * read (all of them at once, so that large ones can be read side by side). */
static int read_scope(rd *r, pg_wire w, pg_otlp_sprofiles **out)
{
    pg_otlp_sprofiles *sp = pg_otlp_sprofiles_new(r->a);
    if (!sp) return NOMEM;
    pg_wire *subs = NULL;
    size_t n = 0, cap = 0;
    uint32_t f;
    int wt, t, rc = OK;
    while (rc == OK && (t = pg_wire_tag(&w, &f, &wt)) == 1) {
        pg_wire sub;
        if (f >= 1 && f <= 3) {
            if (wt != PG_WT_LEN || pg_wire_len(&w, &sub)) {
                rc = FALLBACK;
            } else if (f == 1) {
                rc = pc_unpack(r,
                               &opentelemetry__proto__common__v1__instrumentation_scope__descriptor,
                               r->depth - 3, (void **)&sp->scope, sub);
            } else if (f == 2) {
                if (PG_VEC_RESERVE(subs, cap, n + 1, 8))
                    rc = NOMEM;
                else
                    subs[n++] = sub;
            } else {
                rc = str_copy(r, sub, &sp->schema_url);
            }
        } else if (pg_wire_skip(&w, wt)) {
            rc = FALLBACK;
        }
    }
    if (rc == OK && t < 0) rc = FALLBACK;
    pg_otlp_profile **profs = rc == OK && n ? calloc(n, sizeof *profs) : NULL;
    if (rc == OK && n && !profs) rc = NOMEM;
    if (rc == OK && n) rc = read_profiles(r, subs, n, profs);
    for (size_t k = 0; rc == OK && k < n; k++)
        if (pg_otlp_push(r->a, (void ***)&sp->profiles, &sp->n_profiles, profs[k])) rc = NOMEM;
    free(profs);
    free(subs);
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
                rc = pc_unpack(r, &opentelemetry__proto__resource__v1__resource__descriptor,
                               r->depth - 2, (void **)&rp->resource, sub);
            } else if (f == 2) {
                pg_otlp_sprofiles *sp = NULL;
                rc = read_scope(r, sub, &sp);
                if (rc == OK &&
                    pg_otlp_push(r->a, (void ***)&rp->scope_profiles, &rp->n_scope_profiles, sp))
                    rc = NOMEM;
            } else {
                rc = str_copy(r, sub, &rp->schema_url);
            }
        } else if (pg_wire_skip(&w, wt))
            return FALLBACK;
    }
    if (rc == OK && t < 0) rc = FALLBACK;
    *out = rp;
    return rc;
}

/* See otlp_decode_int.h. */
int pg_otlp_unpack(pg_arena *a, const uint8_t *data, size_t len, int release, int depth,
                   pg_otlp_data **out)
{
    if (depth < HAND_LEVELS) return PG_OTLP_UNPACK_FALLBACK;
    rd r = {.a = a,
            .al = pg_arena_protobuf_allocator(a),
            .rl = {release ? data : NULL, 0},
            .depth = depth};
    pg_otlp_data *d = pg_otlp_data_new(a);
    if (!d) return PG_OTLP_UNPACK_NOMEM;
    pg_wire w = pg_wire_of(data, len);
    uint32_t f;
    int wt, t, rc = OK;
    while (rc == OK && (t = pg_wire_tag(&w, &f, &wt)) == 1) {
        pg_wire sub;
        if (f == 1 || f == 2) {
            if (wt != PG_WT_LEN || pg_wire_len(&w, &sub)) {
                rc = FALLBACK;
                break;
            }
            if (f == 2) {
                rc = pg_otlp_dict_read(&r.dict, a, sub, &r.rl);
            } else {
                pg_otlp_rprofiles *rp = NULL;
                rc = read_resource(&r, sub, &rp);
                if (rc == OK &&
                    pg_otlp_push(a, (void ***)&d->resource_profiles, &d->n_resource_profiles, rp))
                    rc = NOMEM;
            }
        } else if (pg_wire_skip(&w, wt)) {
            rc = FALLBACK;
        }
    }
    if (rc == OK && t < 0) rc = FALLBACK;
    if (rc == OK) rc = pg_otlp_dict_finish(&r.dict, a, depth - 1, &d->dictionary);
    pg_otlp_dict_reader_free(&r.dict);
    rd_scratch_free(&r);
    if (rc == NOMEM || rc == DEEP) return rc;
    if (rc) return r.rl.any ? PG_OTLP_UNPACK_MALFORMED : PG_OTLP_UNPACK_FALLBACK;
    *out = d;
    return PG_OTLP_UNPACK_OK;
}
