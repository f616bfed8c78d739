/* `profgate convert [--from F] [--to F] IN OUT`: pprof, OTLP protobuf and OTLP/JSON files
 * in any direction, formats sniffed when not given, "-" for stdin/stdout. */
#include "pipeline/cmd_convert.h"
#include "pipeline/core/decompress.h"
#include "pipeline/core/err.h"
#include "pipeline/core/wire.h"
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/pprof.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { FMT_AUTO, FMT_PPROF, FMT_OTLP, FMT_OTLP_JSON } fmt;

static fmt parse_fmt(const char *s)
{
    if (!strcmp(s, "pprof")) return FMT_PPROF;
    if (!strcmp(s, "otlp") || !strcmp(s, "otlp-proto") || !strcmp(s, "otlp_proto")) return FMT_OTLP;
    if (!strcmp(s, "otlp-json") || !strcmp(s, "otlp_json") || !strcmp(s, "json")) return FMT_OTLP_JSON;
    return (fmt)-1;
}

static const char *fmt_name(fmt f)
{
    return f == FMT_PPROF ? "pprof" : f == FMT_OTLP ? "otlp" : "otlp-json";
}

/* How much of a compressed input is inflated to sniff its format. */
#define SNIFF_PREFIX ((size_t)64 << 10)

/* Classifies the payload of a leading top-level field 1, possibly cut short: pprof's is a
 * ValueType (varint fields 1/2 only), OTLP's a ResourceProfiles (length-delimited fields
 * 1/2/3 only). AUTO when it says neither (empty, mixed, or malformed). Borrows the bytes. */
static fmt sniff_first_field(pg_wire sub)
{
    uint32_t f;
    int wt;
    int varints = 0, lens = 0;
    while (pg_wire_tag(&sub, &f, &wt) == 1) {
        if (wt == PG_WT_VARINT && f <= 2) varints++;
        else if (wt == PG_WT_LEN && f <= 3) lens++;
        else return FMT_AUTO;
        if (pg_wire_skip(&sub, wt)) break; /* cut by the prefix: judge what was seen */
    }
    if (varints && !lens) return FMT_PPROF;
    if (lens && !varints) return FMT_OTLP;
    return FMT_AUTO;
}

/* Tells pprof from OTLP protobuf on the whole input or a prefix of it (a field cut short
 * means "undecided so far", not an error): OTLP's top level only uses fields 1 and 2,
 * pprof writes its string table (field 6) and scalars 7-15; when only fields 1/2 show,
 * the payload of a leading field 1 decides. Borrows the bytes. */
static fmt sniff_proto(const uint8_t *p, size_t n)
{
    pg_wire r = pg_wire_of(p, n);
    uint32_t f;
    int wt;
    int saw_any = 0;
    fmt by_first = FMT_AUTO;
    while (pg_wire_tag(&r, &f, &wt) == 1) {
        if (f > 2) return FMT_PPROF;
        if (!saw_any && f == 1 && wt == PG_WT_LEN) {
            pg_wire at = r;
            uint64_t len;
            if (pg_wire_varint(&at, &len) == 0) {
                size_t avail = (size_t)(r.end - at.p);
                by_first = sniff_first_field(pg_wire_of(at.p, len < avail ? (size_t)len : avail));
            }
        }
        saw_any = 1;
        if (pg_wire_skip(&r, wt)) break;
    }
    if (by_first != FMT_AUTO) return by_first;
    return saw_any ? FMT_OTLP : FMT_PPROF;
}

/* Sniffs the input format, looking through gzip/zstd at a bounded prefix only (the
 * decoder inflates the whole input once, afterwards). */
static fmt sniff_input(const pg_buf *in)
{
    const uint8_t *p = in->data;
    size_t n = in->len;
    pg_buf raw = {0};
    pg_encoding enc = pg_sniff_encoding(p, n);
    if (enc != PG_ENC_NONE) {
        if (pg_decompress_prefix(enc, p, n, SNIFF_PREFIX, &raw, NULL, NULL, 0) == 0) {
            p = raw.data;
            n = raw.len;
        }
    }
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t')) i++;
    fmt f = (i < n && p[i] == '{') ? FMT_OTLP_JSON : sniff_proto(p, n);
    pg_buf_free(&raw);
    return f;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Guesses the output format from OUT's name; AUTO when the name says nothing. */
static fmt fmt_from_name(const char *path)
{
    if (ends_with(path, ".json")) return FMT_OTLP_JSON;
    if (ends_with(path, ".pb.gz") || ends_with(path, ".pprof") || ends_with(path, ".prof"))
        return FMT_PPROF;
    if (ends_with(path, ".otlp") || ends_with(path, ".otlp.pb") || ends_with(path, ".binpb"))
        return FMT_OTLP;
    return FMT_AUTO;
}

/* Builds the name of the i-th pprof output (i > 0): "out.pb.gz" -> "out.1.pb.gz". */
static char *nth_name(const char *path, size_t i)
{
    size_t n = strlen(path) + 32;
    char *s = malloc(n);
    if (!s) return NULL;
    const char *ext = ends_with(path, ".pb.gz") ? ".pb.gz" : "";
    size_t stem = strlen(path) - strlen(ext);
    snprintf(s, n, "%.*s.%zu%s", (int)stem, path, i, ext);
    return s;
}

/* Writes every pprof group of b. */
static int write_pprof(const pg_batch *b, const char *out, const pg_pprof_encode_opts *o,
                       char *err, size_t errlen)
{
    pg_pprof_group *groups = NULL;
    size_t ng = 0;
    int rc = pg_pprof_plan(b, &groups, &ng, err, errlen);
    if (rc) return rc;
    if (ng == 0) rc = pg_err(err, errlen, PG_EINVAL, "the input holds no profiles");
    if (!rc && ng > 1 && strcmp(out, "-") == 0)
        rc = pg_err(err, errlen, PG_EINVAL, "the input holds %zu profiles; give an output file name", ng);
    for (size_t i = 0; i < ng && !rc; i++) {
        pg_buf buf = {0};
        char *name = i ? nth_name(out, i) : NULL;
        rc = pg_pprof_encode(b, &groups[i], o, &buf, err, errlen);
        if (!rc) rc = pg_buf_write_file(&buf, name ? name : out, err, errlen);
        if (!rc && ng > 1) fprintf(stderr, "profgate convert: wrote %s\n", name ? name : out);
        free(name);
        pg_buf_free(&buf);
    }
    pg_pprof_groups_free(groups, ng);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: profgate convert [--from pprof|otlp|otlp-json] [--to otlp|otlp-json|pprof]\n"
            "                        [--no-gzip] [--resource-labels] [--no-link-labels]\n"
            "                        [--max-size BYTES] IN OUT\n"
            "  IN/OUT may be '-' for stdin/stdout; formats are sniffed when not given.\n");
}

/* Parses flags, converts, returns 0 on success, 1 on conversion errors, 2 on usage errors. */
int pg_cmd_convert(int argc, char **argv)
{
    fmt from = FMT_AUTO, to = FMT_AUTO;
    pg_pprof_encode_opts eo = {.gzip = 1, .links_as_labels = 1};
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    lim.max_decompressed = (size_t)1 << 31; /* files: 2 GiB unless told otherwise */
    lim.max_arena = 0;
    const char *pos[2];
    int npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "--from") || !strcmp(a, "--to")) && i + 1 < argc) {
            fmt f = parse_fmt(argv[++i]);
            if ((int)f < 0) {
                fprintf(stderr, "profgate convert: unknown format \"%s\"\n", argv[i]);
                return 2;
            }
            *(a[2] == 'f' ? &from : &to) = f;
        } else if (!strcmp(a, "--no-gzip")) {
            eo.gzip = 0;
        } else if (!strcmp(a, "--resource-labels")) {
            eo.resource_as_labels = 1;
        } else if (!strcmp(a, "--no-link-labels")) {
            eo.links_as_labels = 0;
        } else if (!strcmp(a, "--max-size") && i + 1 < argc) {
            lim.max_decompressed = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "profgate convert: unknown option %s\n", a);
            usage(stderr);
            return 2;
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (npos != 2) {
        usage(stderr);
        return 2;
    }
    char err[512] = "";
    pg_buf in = {0};
    pg_batch *b = NULL;
    int rc = pg_buf_read_file(&in, pos[0], 0, err, sizeof err);
    if (!rc && from == FMT_AUTO) from = sniff_input(&in);
    if (!rc && to == FMT_AUTO) to = fmt_from_name(pos[1]);
    if (!rc && to == FMT_AUTO) to = from == FMT_PPROF ? FMT_OTLP : FMT_PPROF;
    if (!rc && !(b = pg_batch_new(lim.max_arena))) rc = pg_err(err, sizeof err, PG_ENOMEM, "out of memory");
    if (!rc) {
        if (from == FMT_PPROF) rc = pg_pprof_decode(b, in.data, in.len, &lim, NULL, err, sizeof err);
        else if (from == FMT_OTLP) rc = pg_otlp_decode_owned(b, &in, &lim, err, sizeof err);
        else rc = pg_otlp_decode_json(b, in.data, in.len, &lim, err, sizeof err);
    }
    pg_buf_free(&in);
    if (!rc) {
        if (to == FMT_PPROF) {
            rc = write_pprof(b, pos[1], &eo, err, sizeof err);
        } else if (to == FMT_OTLP) {
            /* streamed: the encoding never sits whole in memory */
            pg_buf out = {0};
            pg_file_sink sink;
            rc = pg_file_sink_open(&sink, pos[1], err, sizeof err);
            if (!rc) {
                pg_file_sink_attach(&sink, &out);
                rc = pg_otlp_encode(b, &out, err, sizeof err);
                if (!rc) rc = pg_file_sink_commit(&sink, &out, err, sizeof err);
                else pg_file_sink_abort(&sink);
            }
            pg_buf_free(&out);
        } else {
            pg_buf out = {0};
            rc = pg_otlp_encode_json(b, &out, err, sizeof err);
            if (!rc) rc = pg_buf_write_file(&out, pos[1], err, sizeof err);
            pg_buf_free(&out);
        }
    }
    pg_batch_free(b);
    if (rc) {
        fprintf(stderr, "profgate convert: %s -> %s: %s\n", fmt_name(from == FMT_AUTO ? FMT_PPROF : from),
                fmt_name(to == FMT_AUTO ? FMT_OTLP : to), err);
        return 1;
    }
    return 0;
}
