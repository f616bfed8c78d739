/* Sniff, then decode: the one entry point that turns an input of any supported format into
 * a batch (see format.h). */
#include "pipeline/translate/format.h"

#include "pipeline/core/err.h"
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/pprof.h"

#include <stdio.h>

/* Sniffs data (borrowed) into *g and settles the format to decode in *f; *whole receives
 * the inflated input when sniffing inflated all of it. Returns 0, or PG_EINVAL with err
 * for an empty input or an unknown format that was not given. */
static int settle(const uint8_t *data, size_t len, pg_format *f, pg_format_guess *g, pg_buf *whole,
                  char *err, size_t errlen)
{
    pg_format_sniff_input_whole(data, len, g, whole);
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
    pg_buf whole = {0};
    int rc = settle(data, len, &f, g, &whole, err, errlen);
    if (rc) {
        pg_buf_free(&whole);
        if (owned) pg_buf_free(owned);
        return rc;
    }
    pg_decode_limits deflim;
    size_t cap = pg_decode_limits_or_default(lim, &deflim)->max_decompressed;
    if (whole.data && (!cap || whole.len <= cap)) {
        /* a small compressed input the sniffer inflated whole: decoded from those bytes
         * instead of inflating it a second time */
        if (owned) pg_buf_free(owned);
        owned = &whole;
        data = whole.data;
        len = whole.len;
    } else {
        pg_buf_free(&whole);
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
