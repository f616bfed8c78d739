/* Sniff, then decode: the one entry point that turns an input of any supported format into
 * a batch (see format.h). */
#include "pipeline/translate/format.h"

#include "pipeline/core/err.h"
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/pprof.h"

#include <stdio.h>

/* Profiles inflate to a few times their compressed size; an input that says it inflates to
 * more than this many times (a bomb, most likely) is judged on a prefix first. */
#define PLAUSIBLE_RATIO 32

/* A compressed input is inflated whole, once: every decoder reads all of it anyway, and the
 * sniffer then reads the plain bytes instead of inflating a prefix of its own. Returns 1
 * with *plain (the caller's) and *g filled; 0 when the input is plain, does not say what it
 * inflates to or says more than PLAUSIBLE_RATIO times its size, or does not inflate within
 * the cap (then the prefix sniffer and the decoder judge it, as they judge any input). */
static int inflate_first(const uint8_t *data, size_t len, size_t cap, pg_buf *plain,
                         pg_format_guess *g)
{
    pg_encoding enc = pg_sniff_encoding(data, len);
    if (enc == PG_ENC_NONE) return 0;
    size_t says = pg_decompressed_size_hint(enc, data, len);
    if (!says || says / PLAUSIBLE_RATIO > len) return 0;
    char err[256];
    if (pg_decompress(enc, data, len, cap, plain, err, sizeof err)) {
        pg_buf_free(plain);
        return 0;
    }
    pg_format_sniff_inflated(plain->data, plain->len, enc, g);
    return 1;
}

/* Settles the format to decode in *f from the guess g of an input of len bytes. Returns 0,
 * or PG_EINVAL with err for an empty input or an unknown format that was not given. */
static int settle(size_t len, const pg_format_guess *g, pg_format *f, char *err, size_t errlen)
{
    if (len == 0 || g->empty) return pg_err(err, errlen, PG_EINVAL, "empty input");
    if (*f != PG_FORMAT_UNKNOWN) return 0;
    if (g->format == PG_FORMAT_UNKNOWN)
        return pg_err(err, errlen, PG_EINVAL, "cannot tell the format (%s)", g->reason);
    *f = g->format;
    return 0;
}

/* Puts what was decoded as, and why, in front of a decoder's message in err. */
static void name_guess(pg_format f, int given, const pg_format_guess *g, char *err, size_t errlen)
{
    char ctx[sizeof g->reason + 96];
    if (!given)
        snprintf(ctx, sizeof ctx, "guessed %s (%s)", pg_format_name(f), g->reason);
    else if (g->format != PG_FORMAT_UNKNOWN && g->format != f)
        snprintf(ctx, sizeof ctx, "as %s (the input looks like %s: %s)", pg_format_name(f),
                 pg_format_name(g->format), g->reason);
    else
        snprintf(ctx, sizeof ctx, "as %s", pg_format_name(f));
    pg_err_prefix(err, errlen, ctx);
}

/* Borrows data unless owned is set (then data is owned->data and owned is freed). */
static int decode(pg_batch *b, const uint8_t *data, size_t len, pg_buf *owned, pg_format f,
                  const pg_decode_limits *lim, pg_format_guess *gout, char *err, size_t errlen)
{
    pg_format_guess local;
    pg_format_guess *g = gout ? gout : &local;
    int given = f != PG_FORMAT_UNKNOWN;
    pg_decode_limits deflim;
    size_t cap = pg_decode_limits_or_default(lim, &deflim)->max_decompressed;
    pg_buf plain = {0};
    if (inflate_first(data, len, cap, &plain, g)) {
        if (owned) pg_buf_free(owned); /* the compressed bytes are done with */
        owned = &plain;
        data = plain.data;
        len = plain.len;
    } else {
        pg_format_sniff_input(data, len, g);
    }
    int rc = settle(len, g, &f, err, errlen);
    if (rc) {
        if (owned) pg_buf_free(owned);
        return rc;
    }
    if (f == PG_FORMAT_OTLP_PROTO && owned)
        rc = pg_otlp_decode_owned(b, owned, lim, err, errlen);
    else if (f == PG_FORMAT_OTLP_PROTO)
        rc = pg_otlp_decode(b, data, len, lim, err, errlen);
    else if (f == PG_FORMAT_OTLP_JSON)
        rc = pg_otlp_decode_json(b, data, len, lim, err, errlen);
    else if (owned)
        rc = pg_pprof_decode_owned(b, owned, lim, NULL, err, errlen);
    else
        rc = pg_pprof_decode(b, data, len, lim, NULL, err, errlen);
    if (owned) pg_buf_free(owned);
    if (rc) name_guess(f, given, g, err, errlen);
    return rc;
}

int pg_format_decode(pg_batch *b, const uint8_t *data, size_t len, pg_format f,
                     const pg_decode_limits *lim, pg_format_guess *g, char *err, size_t errlen)
{
    return decode(b, data, len, NULL, f, lim, g, err, errlen);
}

int pg_format_decode_owned(pg_batch *b, pg_buf *in, pg_format f, const pg_decode_limits *lim,
                           pg_format_guess *g, char *err, size_t errlen)
{
    return decode(b, in->data, in->len, in, f, lim, g, err, errlen);
}
