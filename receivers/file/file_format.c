/* Format sniffing and decoding of whole files for the file receiver: gzip / zstd inflated
 * once (bounded), then pprof, OTLP protobuf or OTLP/JSON, sniffed when not configured. */
#include "receivers/file/file_receiver_int.h"

#include "pipeline/core/decompress.h"
#include "pipeline/core/err.h"
#include "pipeline/core/wire.h"
#include "pipeline/translate/decode_limits.h"
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/pprof.h"

/* Returns a static name. */
const char *pg_file_format_name(int fmt)
{
    switch (fmt) {
    case PG_FILE_FMT_PPROF:
        return "pprof";
    case PG_FILE_FMT_OTLP_PROTO:
        return "otlp_proto";
    case PG_FILE_FMT_OTLP_JSON:
        return "otlp_json";
    default:
        return "auto";
    }
}

/* Walks the top-level tags of borrowed protobuf bytes: ProfilesData and
 * ExportProfilesServiceRequest only use fields 1 and 2, pprof's Profile writes its string
 * table (6) and scalars up to 15, so any field above 2 means pprof. Bytes that are not
 * protobuf at all are left to the pprof decoder to reject. */
static int sniff_proto(const uint8_t *p, size_t n)
{
    pg_wire r = pg_wire_of(p, n);
    uint32_t f;
    int wt, saw_any = 0;
    while (pg_wire_tag(&r, &f, &wt) == 1) {
        saw_any = 1;
        if (f > 2) return PG_FILE_FMT_PPROF;
        if (pg_wire_skip(&r, wt)) break;
    }
    return saw_any ? PG_FILE_FMT_OTLP_PROTO : PG_FILE_FMT_PPROF;
}

/* Borrows p; returns the sniffed format (never AUTO). */
int pg_file_format_sniff(const uint8_t *p, size_t n)
{
    size_t i = 0;
    if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) i = 3; /* UTF-8 BOM */
    while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
        i++;
    if (i < n && p[i] == '{') return PG_FILE_FMT_OTLP_JSON;
    return sniff_proto(p, n);
}

/* Inflates (if compressed), sniffs (if AUTO) and decodes into b. The inflated copy is
 * owned here and freed before returning; the batch owns everything decoded. */
int pg_file_decode(pg_batch *b, const uint8_t *data, size_t len, int format,
                   size_t max_decompressed, int *used, char *err, size_t errlen)
{
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    lim.max_decompressed = max_decompressed;
    pg_buf raw = {0};
    pg_encoding enc = pg_sniff_encoding(data, len);
    if (enc != PG_ENC_NONE) {
        int rc = pg_decompress(enc, data, len, max_decompressed, &raw, err, errlen);
        if (rc) {
            pg_buf_free(&raw);
            return rc;
        }
        data = raw.data;
        len = raw.len;
    } else if (max_decompressed && len > max_decompressed) {
        return pg_err(err, errlen, PG_ELIMIT, "%zu bytes is over max_decompressed (%zu)", len,
                      max_decompressed);
    }
    if (format == PG_FILE_FMT_AUTO) format = pg_file_format_sniff(data, len);
    if (used) *used = format;
    int rc;
    if (format == PG_FILE_FMT_PPROF)
        rc = pg_pprof_decode(b, data, len, &lim, NULL, err, errlen);
    else if (format == PG_FILE_FMT_OTLP_PROTO)
        rc = pg_otlp_decode(b, data, len, &lim, err, errlen);
    else
        rc = pg_otlp_decode_json(b, data, len, &lim, err, errlen);
    pg_buf_free(&raw);
    return rc;
}
