/* Decoding of whole files for the file receiver, through the one sniffer and decoder entry
 * point of pipeline/translate/format.h. */
#include "receivers/file/file_receiver_int.h"

#include "pipeline/translate/decode_limits.h"

/* Borrows data; the batch owns everything decoded. */
int pg_file_decode(pg_batch *b, const uint8_t *data, size_t len, pg_format format,
                   size_t max_decompressed, pg_format *used, char *err, size_t errlen)
{
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    lim.max_decompressed = max_decompressed;
    pg_format_guess g;
    int rc = pg_format_decode(b, data, len, format, &lim, &g, err, errlen);
    if (used) *used = format != PG_FORMAT_UNKNOWN ? format : g.format;
    return rc;
}
