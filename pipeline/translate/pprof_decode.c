/* pprof -> OTLP: decodes pprof wire bytes straight into a batch's OTLP tree. */
#include "pipeline/translate/pprof.h"
#include "pipeline/translate/pprof_decode_int.h"
#include "pipeline/translate/pprof_tables.h"
#include "pipeline/translate/semconv.h"
#include "pipeline/core/decompress.h"
#include "pipeline/core/dict.h"
#include "pipeline/core/err.h"
#include "pipeline/core/pages.h"
#include "pipeline/core/stacks.h"
#include "pipeline/core/vec.h"
#include "pipeline/core/wire.h"

#include <stdlib.h>
#include <string.h>

/* Growable array of wire slices (malloc-owned). */
typedef struct slices {
    pg_wire *v;
    size_t n, cap;
} slices;

static int slices_push(slices *s, pg_wire w)
{
    int rc = PG_VEC_RESERVE(s->v, s->cap, s->n + 1, 64);
    if (rc) return rc;
    s->v[s->n++] = w;
    return 0;
}

/* Everything pass 1 learns about the top-level message. */
typedef struct top {
    slices strings, sample_types, mappings, locations, functions;
    pg_wire period_type;
    int has_period_type;
    size_t n_samples, sample_bytes; /* sample fields, and their payloads' bytes */
    int64_t drop_frames, keep_frames, time_nanos, duration_nanos, period, default_type, doc_url;
    int64_t *comments;
    size_t n_comments, cap_comments;
    /* the span from the first mapping, location or function field to the end of the last;
     * `tables_mixed` when any other field lies inside it */
    const uint8_t *tables_lo, *tables_hi, *samples_end;
    int tables_mixed, other_since_table;
} top;

static void top_free(top *t)
{
    free(t->strings.v);
    free(t->sample_types.v);
    free(t->mappings.v);
    free(t->locations.v);
    free(t->functions.v);
    free(t->comments);
}

static int push_comment(void *ctx, uint64_t v)
{
    top *t = ctx;
    int rc = PG_VEC_RESERVE(t->comments, t->cap_comments, t->n_comments + 1, 8);
    if (rc) return rc;
    t->comments[t->n_comments++] = (int64_t)v;
    return 0;
}

/* Tracks the span of the table fields (mapping 3, location 4, function 5) as scan_top meets
 * field f starting at `at`. */
static void note_table_span(top *t, uint32_t f, const uint8_t *at)
{
    if (f < 3 || f > 5) {
        if (t->tables_lo) t->other_since_table = 1;
        return;
    }
    if (!t->tables_lo) t->tables_lo = at;
    if (t->other_since_table) t->tables_mixed = 1;
    t->other_since_table = 0;
}

/* Once the tables are decoded their slices are done with: frees them, and when the input is
 * the decoder's own, the table fields lie together and after the last sample (Go's layout),
 * hands their whole pages back: the profile builder reads samples only up to the last one,
 * and the strings and value types it reads are outside that span. */
static void drop_tables(top *t, int owned)
{
    if (owned && t->tables_lo && !t->tables_mixed && t->tables_lo >= t->samples_end)
        pg_pages_release(t->tables_lo, (size_t)(t->tables_hi - t->tables_lo));
    free(t->mappings.v);
    free(t->locations.v);
    free(t->functions.v);
    memset(&t->mappings, 0, sizeof t->mappings);
    memset(&t->locations, 0, sizeof t->locations);
    memset(&t->functions, 0, sizeof t->functions);
}

static int bad_wt(char *err, size_t errlen, const char *msg, uint32_t f, int wt)
{
    return pg_err(err, errlen, PG_EINVAL, "pprof: %s field %u has wire type %d", msg, f, wt);
}

/* Pass 1: slices and scalars of the top-level Profile message (borrows r's bytes). */
static int scan_top(pg_wire r, top *t, char *err, size_t errlen)
{
    uint32_t f;
    int wt, rc;
    const uint8_t *field_at = r.p;
    while ((rc = pg_wire_tag(&r, &f, &wt)) == 1) {
        pg_wire sub;
        uint64_t v;
        slices *dst = NULL;
        note_table_span(t, f, field_at);
        switch (f) {
        case 1:
            dst = &t->sample_types;
            break;
        case 3:
            dst = &t->mappings;
            break;
        case 4:
            dst = &t->locations;
            break;
        case 5:
            dst = &t->functions;
            break;
        case 6:
            dst = &t->strings;
            break;
        default:
            break;
        }
        if (dst || f == 2 || f == 11) {
            if (wt != PG_WT_LEN) return bad_wt(err, errlen, "Profile", f, wt);
            if (pg_wire_len(&r, &sub))
                return pg_err(err, errlen, PG_EINVAL, "pprof: truncated field %u", f);
            if (f >= 3 && f <= 5) t->tables_hi = sub.end;
            field_at = r.p;
            if (f == 2) {
                t->n_samples++;
                t->sample_bytes += (size_t)(sub.end - sub.p);
                t->samples_end = sub.end;
            } else if (f == 11) {
                t->period_type = sub;
                t->has_period_type = 1;
            } else if (slices_push(dst, sub))
                return pg_err(err, errlen, PG_ENOMEM, "pprof: out of memory");
            continue;
        }
        if (f == 13) {
            rc = pg_wire_each_varint(&r, wt, push_comment, t);
            if (rc)
                return rc == PG_ENOMEM
                           ? pg_err(err, errlen, rc, "pprof: out of memory")
                           : pg_err(err, errlen, PG_EINVAL, "pprof: malformed comment field");
            field_at = r.p;
            continue;
        }
        int64_t *scalar = NULL;
        switch (f) {
        case 7:
            scalar = &t->drop_frames;
            break;
        case 8:
            scalar = &t->keep_frames;
            break;
        case 9:
            scalar = &t->time_nanos;
            break;
        case 10:
            scalar = &t->duration_nanos;
            break;
        case 12:
            scalar = &t->period;
            break;
        case 14:
            scalar = &t->default_type;
            break;
        case 15:
            scalar = &t->doc_url;
            break;
        default:
            break;
        }
        if (scalar) {
            if (wt != PG_WT_VARINT) return bad_wt(err, errlen, "Profile", f, wt);
            if (pg_wire_varint(&r, &v))
                return pg_err(err, errlen, PG_EINVAL, "pprof: truncated field %u", f);
            *scalar = (int64_t)v;
            field_at = r.p;
            continue;
        }
        if (pg_wire_skip(&r, wt))
            return pg_err(err, errlen, PG_EINVAL, "pprof: truncated unknown field %u", f);
        field_at = r.p;
    }
    if (rc < 0) return pg_err(err, errlen, PG_EINVAL, "pprof: malformed protobuf (bad tag)");
    return 0;
}

/* Reads a ValueType {type=1, unit=2} into two string indices. */
static int read_value_type(pg_wire r, int64_t *type, int64_t *unit)
{
    uint32_t f;
    int wt, rc;
    *type = *unit = 0;
    while ((rc = pg_wire_tag(&r, &f, &wt)) == 1) {
        uint64_t v;
        if ((f == 1 || f == 2) && wt == PG_WT_VARINT) {
            if (pg_wire_varint(&r, &v)) return PG_EINVAL;
            *(f == 1 ? type : unit) = (int64_t)v;
        } else if ((f == 1 || f == 2) || pg_wire_skip(&r, wt)) {
            return PG_EINVAL;
        }
    }
    return rc;
}

/* Validates the string table and prepares the lazy string map (malloc-owned). */
static int init_strings(pg_pprof_dec *d, const top *t, char *err, size_t errlen)
{
    d->n_strings = t->strings.n;
    d->strings = t->strings.v;
    if (d->n_strings && d->strings[0].p != d->strings[0].end)
        return pg_err(err, errlen, PG_EINVAL, "pprof: string_table[0] must be the empty string");
    for (size_t i = 0; i < d->n_strings; i++)
        if (memchr(d->strings[i].p, 0, (size_t)(d->strings[i].end - d->strings[i].p)))
            return pg_err(err, errlen, PG_EINVAL, "pprof: string_table[%zu] contains a NUL byte",
                          i);
    d->smap = malloc((d->n_strings ? d->n_strings : 1) * sizeof *d->smap);
    if (!d->smap) return pg_err(err, errlen, PG_ENOMEM, "pprof: out of memory");
    for (size_t i = 0; i < d->n_strings; i++)
        d->smap[i] = -1;
    return 0;
}

/* Maps a pprof string index to a dictionary string index, interning on first use. */
int pg_pprof_dec_str(pg_pprof_dec *d, int64_t i, int32_t *out)
{
    if (i == 0) {
        *out = 0;
        return 0;
    }
    if (i < 0 || (uint64_t)i >= d->n_strings)
        return pg_err(d->err, d->errlen, PG_EINVAL,
                      "pprof: string index %lld out of range (table has %zu)", (long long)i,
                      d->n_strings);
    if (d->smap[i] < 0) {
        int32_t s = pg_dict_string(d->b, (const char *)d->strings[i].p,
                                   (size_t)(d->strings[i].end - d->strings[i].p));
        if (s < 0) return pg_pprof_dec_mem(d, s);
        d->smap[i] = s;
    }
    *out = d->smap[i];
    return 0;
}

/* Text of pprof string index i, borrowed from the input. */
static int str_text(pg_pprof_dec *d, int64_t i, const char **s, size_t *n)
{
    if (i == 0) {
        *s = "";
        *n = 0;
        return 0;
    }
    if (i < 0 || (uint64_t)i >= d->n_strings)
        return pg_err(d->err, d->errlen, PG_EINVAL, "pprof: string index %lld out of range",
                      (long long)i);
    *s = (const char *)d->strings[i].p;
    *n = (size_t)(d->strings[i].end - d->strings[i].p);
    return 0;
}

/* Sizes the dense part of an id map for a table of n entries (malloc-owned). */
static int idmap_init(pg_idmap *m, size_t n)
{
    m->n_dense = n + 1;
    m->dense = malloc(m->n_dense * sizeof *m->dense);
    if (!m->dense) return PG_ENOMEM;
    memset(m->dense, 0xff, m->n_dense * sizeof *m->dense);
    return 0;
}

static void idmap_free(pg_idmap *m)
{
    free(m->dense);
    pg_u64map_free(&m->sparse);
}

/* Registers id -> index in map m, rejecting id 0 and duplicates. */
int pg_pprof_dec_map_id(pg_pprof_dec *d, pg_idmap *m, const char *what, uint64_t id, int32_t idx)
{
    if (id == 0) return pg_err(d->err, d->errlen, PG_EINVAL, "pprof: %s with id 0", what);
    int rc;
    if (id < m->n_dense) {
        rc = m->dense[id] >= 0;
        if (!rc) m->dense[id] = idx;
    } else {
        rc = pg_u64map_put(&m->sparse, id, (uint32_t)idx);
        if (rc < 0) return pg_err(d->err, d->errlen, PG_ENOMEM, "pprof: out of memory");
    }
    if (rc == 1)
        return pg_err(d->err, d->errlen, PG_EINVAL, "pprof: duplicate %s id %llu", what,
                      (unsigned long long)id);
    return 0;
}

/* Reports a failed allocation into the batch: rc when it is a status, else the arena's. */
int pg_pprof_dec_mem(pg_pprof_dec *d, int rc)
{
    if (rc >= 0) rc = pg_arena_status(pg_batch_arena(d->b));
    return pg_err(d->err, d->errlen, rc, "pprof: %s",
                  rc == PG_ELIMIT ? "batch memory limit reached" : "out of memory");
}

/* Resolves a referenced id (0 = none) through m. */
int pg_pprof_dec_ref(pg_pprof_dec *d, const pg_idmap *m, const char *what, uint64_t id,
                     int32_t *out)
{
    if (id == 0) {
        *out = 0;
        return 0;
    }
    uint32_t v = id < m->n_dense ? (uint32_t)m->dense[id] : pg_u64map_get(&m->sparse, id);
    if (v == UINT32_MAX)
        return pg_err(d->err, d->errlen, PG_EINVAL, "pprof: reference to unknown %s id %llu", what,
                      (unsigned long long)id);
    *out = (int32_t)v;
    return 0;
}

/* Sets m->identity when every id of the dense part maps to itself, as when a pprof that
 * numbers its locations 1..n is the first source of a batch: the sample reader then skips
 * the lookup for every frame of every sample. */
static void note_identity(pg_idmap *m)
{
    m->identity = 0;
    for (size_t id = 1; id < m->n_dense; id++)
        if (m->dense[id] != (int32_t)id) return;
    m->identity = 1;
}

/* The zeroed per-location "reached" bit set (n bytes, the caller frees): cache lines of
 * their own, as the reader thread reads them for every location of every sample while the
 * committing thread writes its own small allocations, which would otherwise share a line. */
static uint8_t *reached_alloc(size_t n)
{
    size_t size = (n + 63) & ~(size_t)63;
    void *p = NULL;
    if (posix_memalign(&p, 64, size)) return NULL;
    memset(p, 0, size);
    return p;
}

/* Decodes every Function and interns it. */
static int decode_functions(pg_pprof_dec *d, const slices *s)
{
    for (size_t i = 0; i < s->n; i++) {
        pg_wire r = s->v[i];
        uint64_t v[6] = {0};
        uint32_t f;
        int wt, rc;
        while ((rc = pg_wire_tag(&r, &f, &wt)) == 1) {
            if (f >= 1 && f <= 5) {
                if (wt != PG_WT_VARINT || pg_wire_varint(&r, &v[f]))
                    return pg_err(d->err, d->errlen, PG_EINVAL,
                                  "pprof: malformed function[%zu] field %u", i, f);
            } else if (pg_wire_skip(&r, wt))
                rc = PG_EINVAL;
            if (rc < 0) break;
        }
        if (rc < 0)
            return pg_err(d->err, d->errlen, PG_EINVAL, "pprof: malformed function[%zu]", i);
        int32_t name, sys, file;
        if (pg_pprof_dec_str(d, (int64_t)v[2], &name) || pg_pprof_dec_str(d, (int64_t)v[3], &sys) ||
            pg_pprof_dec_str(d, (int64_t)v[4], &file))
            return PG_EINVAL;
        int32_t idx = pg_dict_function(d->b, name, sys, file, (int64_t)v[5]);
        if (idx < 0) return pg_pprof_dec_mem(d, idx);
        if (pg_pprof_dec_map_id(d, &d->functions, "function", v[1], idx)) return PG_EINVAL;
        d->src_fn[d->n_src_fn++] = idx;
    }
    return 0;
}

/* Decodes every Mapping; build id and has_* flags become attributes. */
static int decode_mappings(pg_pprof_dec *d, const slices *s)
{
    static const char *const has_keys[4] = {PG_SC_HAS_FUNCTIONS, PG_SC_HAS_FILENAMES,
                                            PG_SC_HAS_LINE_NUMBERS, PG_SC_HAS_INLINE_FRAMES};
    for (size_t i = 0; i < s->n; i++) {
        pg_wire r = s->v[i];
        uint64_t v[11] = {0};
        uint32_t f;
        int wt, rc;
        while ((rc = pg_wire_tag(&r, &f, &wt)) == 1) {
            if (f >= 1 && f <= 10) {
                if (wt != PG_WT_VARINT || pg_wire_varint(&r, &v[f])) {
                    rc = PG_EINVAL;
                    break;
                }
            } else if (pg_wire_skip(&r, wt)) {
                rc = PG_EINVAL;
                break;
            }
        }
        if (rc < 0) return pg_err(d->err, d->errlen, PG_EINVAL, "pprof: malformed mapping[%zu]", i);
        pg_otlp_mapping m = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__MAPPING__INIT;
        int32_t attrs[5];
        size_t na = 0;
        m.memory_start = v[2];
        m.memory_limit = v[3];
        m.file_offset = v[4];
        if ((rc = pg_pprof_dec_str(d, (int64_t)v[5], &m.filename_strindex))) return rc;
        if (v[6]) {
            const char *bid = "";
            size_t bn = 0;
            if (str_text(d, (int64_t)v[6], &bid, &bn)) return PG_EINVAL;
            int32_t a = pg_dict_attr_str(d->b, pg_pprof_build_id_key(bid, bn), bid, bn);
            if (a < 0) return pg_pprof_dec_mem(d, a);
            attrs[na++] = a;
        }
        for (int k = 0; k < 4; k++) {
            if (!v[7 + k]) continue;
            int32_t a = pg_dict_attr_bool(d->b, has_keys[k], 1);
            if (a < 0) return pg_pprof_dec_mem(d, a);
            attrs[na++] = a;
        }
        m.attribute_indices = attrs;
        m.n_attribute_indices = na;
        int32_t idx = pg_dict_mapping(d->b, &m);
        if (idx < 0) return pg_pprof_dec_mem(d, idx);
        if (pg_pprof_dec_map_id(d, &d->mappings, "mapping", v[1], idx)) return PG_EINVAL;
        d->src_map[d->n_src_map++] = idx;
    }
    return 0;
}

/* Top-level: decompress, scan, build tables, samples, then profiles. Borrows data unless
 * owned is set (then data is owned->data, and owned is freed: as soon as it is inflated when
 * compressed, else at the end, its consumed samples handed back on the way). */
static int decode(pg_batch *b, const uint8_t *data, size_t len, pg_buf *owned,
                  const pg_decode_limits *lim, pg_otlp_sprofiles **scope_out, char *err,
                  size_t errlen)
{
    pg_decode_limits deflim;
    if (err && errlen) err[0] = 0;
    lim = pg_decode_limits_or_default(lim, &deflim);
    pg_buf raw = {0};
    int drc = pg_decompress_input(&data, &len, lim->max_decompressed, &raw, "pprof", err, errlen);
    if (owned && (drc || raw.data)) pg_buf_free(owned); /* the compressed bytes are done with */
    if (drc) {
        pg_buf_free(&raw);
        return drc;
    }
    if (owned && owned->data) { /* plain input: its bytes become raw's */
        raw = *owned;
        memset(owned, 0, sizeof *owned);
    }
    top t = {0};
    pg_pprof_dec d = {.b = b, .lim = lim, .err = err, .errlen = errlen};
    int rc = scan_top(pg_wire_of(data, len), &t, err, errlen);
    /* the limit counts OTLP samples, one per pprof sample and sample type, as the OTLP
     * decoder counts them: what this decoder admits, the OTLP decoder of its output
     * admits too */
    size_t per = t.sample_types.n ? t.sample_types.n : 1;
    if (!rc && lim->max_samples && (t.n_samples > lim->max_samples / per))
        rc = pg_err(err, errlen, PG_ELIMIT,
                    "pprof: %zu samples x %zu sample types exceed the limit of %zu samples",
                    t.n_samples, per, lim->max_samples);
    d.memo_hint = t.n_samples;
    if (!rc) rc = init_strings(&d, &t, err, errlen);
    if (!rc && (idmap_init(&d.functions, t.functions.n) || idmap_init(&d.mappings, t.mappings.n) ||
                idmap_init(&d.locations, t.locations.n) ||
                !(d.src_fn = malloc((t.functions.n + 1) * sizeof *d.src_fn)) ||
                !(d.src_map = malloc((t.mappings.n + 1) * sizeof *d.src_map)) ||
                !(d.src_loc = malloc((t.locations.n + 1) * sizeof *d.src_loc))))
        rc = pg_err(err, errlen, PG_ENOMEM, "pprof: out of memory");
    if (!rc && (rc = pg_dict_reserve(b, t.strings.n, t.functions.n, t.locations.n)))
        rc = pg_err(err, errlen, rc, "pprof: %s",
                    rc == PG_ELIMIT ? "batch memory limit reached" : "out of memory");
    if (!rc) rc = decode_functions(&d, &t.functions);
    if (!rc) rc = decode_mappings(&d, &t.mappings);
    if (!rc) rc = pg_pprof_decode_locations(&d, t.locations.v, t.locations.n);
    if (!rc) drop_tables(&t, raw.data != NULL);
    /* samples intern stacks, attributes and strings: the frame tables' indexes are memory
     * the sample columns can reuse */
    if (!rc) pg_dict_drop_frame_indexes(b);
    if (!rc) d.loc_width = pg_stack_width_for((int32_t)(pg_batch_dict(b)->n_location_table - 1));
    if (!rc) note_identity(&d.locations);
    if (!rc && !(d.reached = reached_alloc(pg_batch_dict(b)->n_location_table / 8 + 1)))
        rc = pg_err(err, errlen, PG_ENOMEM, "pprof: out of memory");
    if (!rc) {
        pg_pprof_header h = {
            .sample_types = t.sample_types.v,
            .n_sample_types = t.sample_types.n,
            .period_type = t.has_period_type ? &t.period_type : NULL,
            .n_samples = t.n_samples,
            .sample_bytes = t.sample_bytes,
            .drop_frames = t.drop_frames,
            .keep_frames = t.keep_frames,
            .time_nanos = t.time_nanos,
            .duration_nanos = t.duration_nanos,
            .period = t.period,
            .default_type = t.default_type,
            .doc_url = t.doc_url,
            .comments = t.comments,
            .n_comments = t.n_comments,
        };
        if (raw.data) { /* the input is ours (inflated or owned): hand samples back once decoded */
            h.release_done = data;
            h.keep_lo = data + len;
            h.keep_hi = data;
            for (size_t i = 0; i < t.strings.n; i++) {
                if (t.strings.v[i].p < h.keep_lo) h.keep_lo = t.strings.v[i].p;
                if (t.strings.v[i].end > h.keep_hi) h.keep_hi = t.strings.v[i].end;
            }
        }
        pg_otlp_sprofiles *sp = NULL;
        rc = pg_pprof_build_profiles(&d, &h, pg_wire_of(data, len), &sp);
        pg_pprof_src_tables st = {d.src_map,   d.src_loc,  d.src_fn, d.n_src_map,
                                  d.n_src_loc, d.n_src_fn, d.reached};
        if (!rc && (rc = pg_pprof_tables_record(b, sp, &st)) < 0) rc = pg_pprof_dec_mem(&d, rc);
        if (!rc && scope_out) *scope_out = sp;
    }
    top_free(&t);
    free(d.smap);
    free(d.reached);
    free(d.memo);
    free(d.text);
    idmap_free(&d.functions);
    idmap_free(&d.mappings);
    idmap_free(&d.locations);
    free(d.src_fn);
    free(d.src_map);
    free(d.src_loc);
    pg_buf_free(&raw);
    return rc;
}

int pg_pprof_decode(pg_batch *b, const uint8_t *data, size_t len, const pg_decode_limits *lim,
                    pg_otlp_sprofiles **scope_out, char *err, size_t errlen)
{
    return decode(b, data, len, NULL, lim, scope_out, err, errlen);
}

/* Like pg_pprof_decode, taking *in over (see pprof.h). */
int pg_pprof_decode_owned(pg_batch *b, pg_buf *in, const pg_decode_limits *lim,
                          pg_otlp_sprofiles **scope_out, char *err, size_t errlen)
{
    return decode(b, in->data, in->len, in, lim, scope_out, err, errlen);
}

/* Reads a ValueType slice into interned strings (exported for the profile builder). */
int pg_pprof_dec_value_type(pg_pprof_dec *d, pg_wire r, int32_t *type, int32_t *unit)
{
    int64_t ti, ui;
    if (read_value_type(r, &ti, &ui) < 0)
        return pg_err(d->err, d->errlen, PG_EINVAL, "pprof: malformed ValueType");
    int rc = pg_pprof_dec_str(d, ti, type);
    return rc ? rc : pg_pprof_dec_str(d, ui, unit);
}

/* Borrowed text of a pprof string index. */
int pg_pprof_dec_text(pg_pprof_dec *d, int64_t i, const char **s, size_t *n)
{
    return str_text(d, i, s, n);
}
