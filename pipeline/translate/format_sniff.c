/* The one format sniffer (see format.h) and the table of format names. */
#include "pipeline/translate/format.h"

#include "pipeline/core/decompress.h"
#include "pipeline/core/err.h"
#include "pipeline/core/wire.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    pg_format format;
    const char *name;
} NAMES[] = {
    {PG_FORMAT_PPROF, PG_FORMAT_NAME_PPROF},
    {PG_FORMAT_OTLP_PROTO, PG_FORMAT_NAME_OTLP_PROTO},
    {PG_FORMAT_OTLP_JSON, PG_FORMAT_NAME_OTLP_JSON},
};

#define N_NAMES (sizeof NAMES / sizeof NAMES[0])

/* Returns a static string. */
const char *pg_format_name(pg_format f)
{
    for (size_t i = 0; i < N_NAMES; i++)
        if (NAMES[i].format == f) return NAMES[i].name;
    return "unknown";
}

/* Borrows name; writes *out only on success. */
int pg_format_parse(const char *name, pg_format *out, char *err, size_t errlen)
{
    for (size_t i = 0; i < N_NAMES; i++) {
        if (strcmp(NAMES[i].name, name) == 0) {
            *out = NAMES[i].format;
            return 0;
        }
    }
    return pg_err(err, errlen, PG_EINVAL, "unknown format \"%s\" (accepted: %s)", name,
                  PG_FORMAT_NAME_LIST);
}

/* Sets the guess and its reason (printf-style). */
static void say(pg_format_guess *g, pg_format f, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(pg_format_guess *g, pg_format f, const char *fmt, ...)
{
    g->format = f;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->reason, sizeof g->reason, fmt, ap);
    va_end(ap);
}

/* pprof's Profile, fields 3-15: name and wire type (-1: varint, or packed when repeated). */
static const struct {
    const char *name;
    int wt;
} PPROF_FIELDS[16] = {
    [3] = {"mapping", PG_WT_LEN},
    [4] = {"location", PG_WT_LEN},
    [5] = {"function", PG_WT_LEN},
    [6] = {"string_table", PG_WT_LEN},
    [7] = {"drop_frames", PG_WT_VARINT},
    [8] = {"keep_frames", PG_WT_VARINT},
    [9] = {"time_nanos", PG_WT_VARINT},
    [10] = {"duration_nanos", PG_WT_VARINT},
    [11] = {"period_type", PG_WT_LEN},
    [12] = {"period", PG_WT_VARINT},
    [13] = {"comment", -1},
    [14] = {"default_sample_type", PG_WT_VARINT},
    [15] = {"doc_url", PG_WT_VARINT},
};

/* Classifies the payload of a leading top-level field 1, possibly cut short: pprof's
 * sample_type is a ValueType (varint fields 1/2 only), OTLP's a ResourceProfiles
 * (length-delimited fields 1-3 only). UNKNOWN when it says neither (empty, mixed,
 * malformed). Borrows the bytes. */
static pg_format classify_first(pg_wire sub)
{
    uint32_t f;
    int wt, varints = 0, lens = 0;
    while (pg_wire_tag(&sub, &f, &wt) == 1) {
        if (wt == PG_WT_VARINT && f <= 2)
            varints++;
        else if (wt == PG_WT_LEN && f <= 3)
            lens++;
        else
            return PG_FORMAT_UNKNOWN;
        if (pg_wire_skip(&sub, wt)) break; /* cut by the prefix: judge what was seen */
    }
    if (varints && !lens) return PG_FORMAT_PPROF;
    if (lens && !varints) return PG_FORMAT_OTLP_PROTO;
    return PG_FORMAT_UNKNOWN;
}

/* True when a tag that failed to parse at p may just be cut by the end (a varint whose
 * every byte has the continuation bit). */
static int tag_cut(const uint8_t *p, const uint8_t *end)
{
    if (end - p >= 5) return 0;
    for (; p < end; p++)
        if (!(*p & 0x80)) return 0;
    return 1;
}

/* What the top-level walk found. */
typedef struct walk {
    size_t fields;        /* complete top-level fields */
    uint32_t pprof_field; /* first field 3-15 seen, 0 if none */
    pg_format by_first;   /* what a leading field 1's payload says */
    int cut;              /* the bytes end inside a field */
    size_t cut_at;        /* offset of that field's tag */
} walk;

/* Walks top-level tags of p[0..n); returns 0, or PG_EINVAL after say()ing UNKNOWN for
 * bytes that neither format writes. */
static int walk_tags(const uint8_t *p, size_t n, walk *w, pg_format_guess *g)
{
    pg_wire r = pg_wire_of(p, n);
    uint32_t f;
    int wt;
    for (;;) {
        const uint8_t *at = r.p;
        int rc = pg_wire_tag(&r, &f, &wt);
        if (rc == 0) return 0;
        if (rc < 0) {
            if (tag_cut(at, r.end)) {
                w->cut = 1;
                w->cut_at = (size_t)(at - p);
                return 0;
            }
            say(g, PG_FORMAT_UNKNOWN, "not protobuf: byte 0x%02x at offset %zu is not a field tag",
                *at, (size_t)(at - p));
            return PG_EINVAL;
        }
        if (f > 15) {
            say(g, PG_FORMAT_UNKNOWN,
                "top-level field %u at offset %zu: pprof's Profile stops at 15, OTLP at 2", f,
                (size_t)(at - p));
            return PG_EINVAL;
        }
        if (f <= 2 && wt != PG_WT_LEN) {
            say(g, PG_FORMAT_UNKNOWN,
                "top-level field %u with wire type %d: pprof and OTLP both write it "
                "length-delimited",
                f, wt);
            return PG_EINVAL;
        }
        if (f > 2) {
            int want = PPROF_FIELDS[f].wt;
            if (want >= 0 ? wt != want : (wt != PG_WT_VARINT && wt != PG_WT_LEN)) {
                say(g, PG_FORMAT_UNKNOWN,
                    "top-level field %u with wire type %d: pprof's %s is not written that way", f,
                    wt, PPROF_FIELDS[f].name);
                return PG_EINVAL;
            }
            if (!w->pprof_field) w->pprof_field = f;
        }
        if (w->fields == 0 && f == 1) {
            pg_wire at_len = r;
            uint64_t len;
            if (pg_wire_varint(&at_len, &len) == 0) {
                size_t avail = (size_t)(r.end - at_len.p);
                w->by_first =
                    classify_first(pg_wire_of(at_len.p, len < avail ? (size_t)len : avail));
            }
        }
        if (pg_wire_skip(&r, wt)) {
            w->cut = 1;
            w->cut_at = (size_t)(at - p);
            return 0;
        }
        w->fields++;
    }
}

/* Protobuf: decides from the walk (see format.h). */
static void sniff_proto(const uint8_t *p, size_t n, int whole, pg_format_guess *g)
{
    walk w = {0};
    if (walk_tags(p, n, &w, g)) return;
    g->truncated = whole && w.cut;
    char tail[64] = "";
    if (g->truncated)
        snprintf(tail, sizeof tail, "; the input is truncated at offset %zu", w.cut_at);
    if (w.pprof_field && w.by_first == PG_FORMAT_OTLP_PROTO) {
        say(g, PG_FORMAT_UNKNOWN,
            "mixed: field 1 holds OTLP's ResourceProfiles but field %u is pprof's %s%s",
            w.pprof_field, PPROF_FIELDS[w.pprof_field].name, tail);
    } else if (w.pprof_field) {
        say(g, PG_FORMAT_PPROF, "top-level field %u (pprof's %s; OTLP uses only 1 and 2)%s",
            w.pprof_field, PPROF_FIELDS[w.pprof_field].name, tail);
    } else if (w.by_first == PG_FORMAT_PPROF) {
        say(g, PG_FORMAT_PPROF, "first field 1 holds varints (pprof's sample_type)%s", tail);
    } else if (w.by_first == PG_FORMAT_OTLP_PROTO) {
        say(g, PG_FORMAT_OTLP_PROTO,
            "first field 1 holds length-delimited fields (OTLP's ResourceProfiles)%s", tail);
    } else if (g->truncated || (w.fields == 0 && w.cut)) {
        say(g, PG_FORMAT_UNKNOWN,
            "input ends inside its first fields (offset %zu): too short "
            "to tell pprof from OTLP",
            w.cut_at);
    } else {
        g->ambiguous = 1;
        say(g, PG_FORMAT_OTLP_PROTO,
            "only top-level fields 1-2, used by both OTLP and pprof; OTLP assumed");
    }
}

static int is_blank(uint8_t c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* Borrows p; fills *g. */
void pg_format_sniff(const uint8_t *p, size_t n, int whole, pg_format_guess *g)
{
    memset(g, 0, sizeof *g);
    if (n > PG_FORMAT_SNIFF_BYTES) {
        n = PG_FORMAT_SNIFF_BYTES;
        whole = 0;
    }
    if (n == 0) {
        g->empty = whole;
        say(g, PG_FORMAT_UNKNOWN, whole ? "empty input" : "no bytes to look at");
        return;
    }
    size_t i = 0;
    int bom = n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf;
    if (bom) i = 3;
    while (i < n && is_blank(p[i]))
        i++;
    const char *lead = bom ? " after a UTF-8 BOM" : i ? " after whitespace" : "";
    if (i < n && p[i] == '{') {
        size_t j = i + 1;
        while (j < n && is_blank(p[j]))
            j++;
        if (j == n || p[j] == '"' || p[j] == '}') {
            say(g, PG_FORMAT_OTLP_JSON, "starts with a JSON object%s", lead);
            return;
        }
    }
    if (bom || i == n) {
        say(g, PG_FORMAT_UNKNOWN, "%s that is not a JSON object",
            i == n ? "only whitespace" : "UTF-8 text");
        return;
    }
    sniff_proto(p, n, whole, g);
}

/* Notes the compression enc in front of g's reason. */
static void note_encoding(pg_format_guess *g, pg_encoding enc)
{
    char inner[sizeof g->reason];
    memcpy(inner, g->reason, sizeof inner);
    snprintf(g->reason, sizeof g->reason, "%s, then %.*s", enc == PG_ENC_GZIP ? "gzip" : "zstd",
             (int)sizeof inner - 12, inner);
}

/* See format.h. */
void pg_format_sniff_inflated(const uint8_t *p, size_t n, pg_encoding enc, pg_format_guess *g)
{
    pg_format_sniff(p, n, 1, g);
    note_encoding(g, enc);
}

/* Borrows p; the inflated prefix is owned here and freed before returning. */
void pg_format_sniff_input(const uint8_t *p, size_t n, pg_format_guess *g)
{
    pg_encoding enc = pg_sniff_encoding(p, n);
    if (enc == PG_ENC_NONE) {
        pg_format_sniff(p, n, 1, g);
        return;
    }
    pg_buf raw = {0};
    int complete = 0;
    char err[128] = "";
    if (pg_decompress_prefix(enc, p, n, PG_FORMAT_SNIFF_BYTES, &raw, &complete, err, sizeof err)) {
        pg_buf_free(&raw); /* may have grown before failing */
        memset(g, 0, sizeof *g);
        say(g, PG_FORMAT_UNKNOWN, "%s data that does not inflate: %s",
            enc == PG_ENC_GZIP ? "gzip" : "zstd", err);
        return;
    }
    pg_format_sniff(raw.data, raw.len, complete, g);
    pg_buf_free(&raw);
    note_encoding(g, enc);
}
