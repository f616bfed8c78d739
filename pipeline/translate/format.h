/* Profile formats: their names (one set, used by config, the command line and logs) and the
 * one format sniffer, shared by the file receiver, `convert` and the network receivers. */
#ifndef PG_FORMAT_H
#define PG_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/batch.h"
#include "pipeline/core/buf.h"
#include "pipeline/core/decompress.h"
#include "pipeline/translate/decode_limits.h"

/* The names, defined once; config tables and the command line spell formats this way. */
#define PG_FORMAT_NAME_PPROF "pprof"
#define PG_FORMAT_NAME_OTLP_PROTO "otlp_proto"
#define PG_FORMAT_NAME_OTLP_JSON "otlp_json"
/* The accepted values, for usage and config messages. */
#define PG_FORMAT_NAME_LIST "pprof, otlp_proto, otlp_json"

typedef enum pg_format {
    PG_FORMAT_UNKNOWN = 0, /* not told / could not tell */
    PG_FORMAT_PPROF,
    PG_FORMAT_OTLP_PROTO,
    PG_FORMAT_OTLP_JSON,
} pg_format;

/* How much decompressed input the sniffer looks at (a longer input is judged on this
 * prefix). */
#define PG_FORMAT_SNIFF_BYTES ((size_t)64 << 10)

/* What the sniffer guessed and why: `reason` is a short human phrase ("top-level field 6
 * (pprof's string table)"), meant to be quoted in errors ("guessed pprof: ..."). */
typedef struct pg_format_guess {
    pg_format format; /* PG_FORMAT_UNKNOWN when it cannot tell */
    int ambiguous;    /* a guess by default: the bytes fit more than one format */
    int truncated;    /* the whole input ends inside a protobuf field */
    int empty;        /* nothing at all (after decompression) */
    char reason[160];
} pg_format_guess;

/* Returns the static name of f ("pprof", "otlp_proto", "otlp_json"; "unknown"). */
const char *pg_format_name(pg_format f);

/* Parses a format name (exactly one of PG_FORMAT_NAME_LIST) into *out. Returns 0, or
 * PG_EINVAL with "unknown format \"x\" (accepted: pprof, otlp_proto, otlp_json)" in err. */
int pg_format_parse(const char *name, pg_format *out, char *err, size_t errlen);

/* Sniffs decompressed bytes p[0..n) (borrowed). `whole` says whether they are the whole
 * input (a field cut at the end then means a truncated input) or only its prefix (a cut
 * field is expected). Only the first PG_FORMAT_SNIFF_BYTES are looked at. Rules:
 *  - an optional UTF-8 BOM and whitespace, then `{` and `"` or `}`: OTLP/JSON;
 *  - else protobuf, walked by top-level tags: pprof's Profile uses fields 1-15 (its string
 *    table is 6), OTLP's ProfilesData / ExportProfilesServiceRequest only 1 and 2; when only
 *    1 and 2 show, the payload of a leading field 1 decides (pprof's ValueType holds
 *    varints, OTLP's ResourceProfiles length-delimited fields); still undecided, OTLP is
 *    assumed (ambiguous) unless the whole input is truncated (unknown);
 *  - empty input, text, invalid tags and wire types neither format writes: unknown.
 * Fills *g (format, flags, reason); never fails. */
void pg_format_sniff(const uint8_t *p, size_t n, int whole, pg_format_guess *g);

/* The same on raw input that may be gzip or zstd compressed: inflates at most
 * PG_FORMAT_SNIFF_BYTES of it (bounded, whatever the input's size) and sniffs that, noting
 * the compression in the reason. Borrows p. */
void pg_format_sniff_input(const uint8_t *p, size_t n, pg_format_guess *g);
/* The same on the whole of an input that was compressed with enc, already inflated to
 * p[0..n): the guess and reason pg_format_sniff_input gives for the compressed bytes. */
void pg_format_sniff_inflated(const uint8_t *p, size_t n, pg_encoding enc, pg_format_guess *g);

/* Decodes one input in format f into the empty batch b, with the caller's limits (gzip and
 * zstd inflated once, at most lim->max_decompressed). The input is always sniffed first (the
 * guess goes to *g, which may be NULL): a compressed input is inflated whole first and
 * sniffed from those bytes (pg_format_sniff_inflated), which the decoder then reads; one that
 * does not inflate within the cap is sniffed on a bounded prefix (pg_format_sniff_input) and
 * left to the decoder, which says why. An empty input is refused (PG_EINVAL, "empty input", as Go's
 * pprof parser does), and with f == PG_FORMAT_UNKNOWN the guess picks the decoder, or the call
 * fails with "cannot tell the format (reason)" without inflating further. Decoder errors name what
 * was guessed: "guessed pprof (reason): ..." or "as pprof: ..." when f was given (plus what the
 * sniffer saw when it disagrees). Borrows data. Returns 0 or a negative status; on error b may hold
 * a partial tree and must be discarded. */
int pg_format_decode(pg_batch *b, const uint8_t *data, size_t len, pg_format f,
                     const pg_decode_limits *lim, pg_format_guess *g, char *err, size_t errlen);

/* The same on an owned malloc-backed buffer: *in is freed and left empty on return, and
 * OTLP protobuf is decoded with pg_otlp_decode_owned (input pages released as it goes). */
int pg_format_decode_owned(pg_batch *b, pg_buf *in, pg_format f, const pg_decode_limits *lim,
                           pg_format_guess *g, char *err, size_t errlen);

#endif
