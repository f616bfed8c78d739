/* OTLP/JSON for whole batches, on top of the descriptor-driven codec in otlp_json.c. */
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/otlp_decode_int.h"
#include "pipeline/translate/otlp_json.h"
#include "pipeline/core/adopt.h"
#include "pipeline/core/decompress.h"
#include "pipeline/core/err.h"
#include "pipeline/core/samples.h"

/* Decodes JSON (gzip/zstd sniffed) into b: in place when b is empty, else merged. */
int pg_otlp_decode_json(pg_batch *b, const uint8_t *data, size_t len,
                        const pg_decode_limits *lim, char *err, size_t errlen)
{
    pg_decode_limits deflim;
    lim = pg_decode_limits_or_default(lim, &deflim);
    pg_buf raw = {0};
    int rc = pg_decompress_input(&data, &len, lim->max_decompressed, &raw, "otlp_json", err, errlen);
    if (rc) goto out;
    pg_batch *tmp = pg_otlp_decode_target(b, lim);
    if (!tmp) {
        rc = pg_err(err, errlen, PG_ENOMEM, "otlp_json: out of memory");
        goto out;
    }
    ProtobufCMessage *m = NULL;
    rc = pg_otlp_json_decode(&PG_OTLP_DESC(profiles_data), data, len, pg_batch_arena(tmp),
                             (size_t)lim->max_nesting + 8, &m, err, errlen);
    /* the batch's form: profiles and dictionary in columns, as the binary decoder gives */
    if (!rc && pg_otlp_data_adopt(pg_batch_arena(tmp), (pg_otlp_data *)m))
        rc = pg_err(err, errlen, PG_ELIMIT, "otlp-json: batch memory limit reached");
    if (!rc) rc = pg_otlp_install(b, tmp, (pg_otlp_data *)m, lim, err, errlen);
    if (tmp != b) pg_batch_free(tmp);
out:
    pg_buf_free(&raw);
    return rc;
}

/* Encodes the batch's tree as OTLP/JSON (appends to caller-owned out). */
int pg_otlp_encode_json(const pg_batch *b, pg_buf *out, char *err, size_t errlen)
{
    /* the descriptor-driven codec needs Sample structs: a scratch view materialises them */
    pg_arena *scratch = pg_arena_new(0);
    pg_otlp_data *d = scratch ? pg_otlp_data_with_sample_structs(scratch, pg_batch_data(b)) : NULL;
    int rc = d ? pg_otlp_json_encode((const ProtobufCMessage *)d, out, err, errlen)
               : pg_err(err, errlen, PG_ENOMEM, "otlp_json: out of memory");
    pg_arena_free(scratch);
    return rc;
}
