/* OTLP protobuf decode (protobuf-c with the batch arena as allocator) and encode. */
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/core/adopt.h"
#include "pipeline/core/decompress.h"
#include "pipeline/core/err.h"
#include "pipeline/core/wire.h"
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/otlp_decode_int.h"

#include <string.h>

/* The decoder behind both entry points. `owned` (may be NULL) holds the input when the
 * caller handed it over: it is released as it is consumed and freed here. An inflated
 * copy of a compressed input is ours too, and released the same way. */
static int decode(pg_batch *b, const uint8_t *data, size_t len, pg_buf *owned,
                  const pg_decode_limits *lim, char *err, size_t errlen)
{
    pg_decode_limits deflim;
    lim = pg_decode_limits_or_default(lim, &deflim);
    pg_buf raw = {0};
    int rc = pg_decompress_input(&data, &len, lim->max_decompressed, &raw, "otlp", err, errlen);
    if (rc) goto out;
    if (raw.data && owned) pg_buf_free(owned); /* the compressed bytes are done with */
    int release = raw.data != NULL || owned != NULL;
    const ProtobufCMessageDescriptor *desc = &PG_OTLP_DESC(profiles_data);
    int depth = lim->max_nesting + 8;
    pg_batch *tmp = pg_otlp_decode_target(b, lim);
    if (!tmp) {
        rc = pg_err(err, errlen, PG_ENOMEM, "otlp: out of memory");
        goto out;
    }
    /* the tree, samples and stacks by hand (as columns), protobuf-c for the rest (its
     * nesting checked first); inputs the hand reader does not expect go through protobuf-c
     * whole, nesting checked over the whole input first (when the reader released consumed
     * input, it only gives up on inputs protobuf-c rejects too) */
    pg_otlp_data *fast = NULL;
    ProtobufCMessage *m = NULL;
    int u = pg_otlp_unpack(pg_batch_arena(tmp), data, len, release, depth, &fast);
    if (u == PG_OTLP_UNPACK_FALLBACK && pg_otlp_check_depth(pg_wire_of(data, len), desc, depth))
        u = PG_OTLP_UNPACK_DEEP;
    if (u == PG_OTLP_UNPACK_OK) {
        m = &fast->base;
    } else if (u == PG_OTLP_UNPACK_FALLBACK) {
        ProtobufCAllocator al = pg_arena_protobuf_allocator(pg_batch_arena(tmp));
        m = protobuf_c_message_unpack(desc, &al, len, data);
        /* the batch's form: profiles and dictionary in columns, as the hand reader gives */
        if (m && pg_otlp_data_adopt(pg_batch_arena(tmp), (pg_otlp_data *)m)) m = NULL;
    }
    if (u == PG_OTLP_UNPACK_DEEP) {
        rc = pg_err(err, errlen, PG_EINVAL, "otlp: messages nest deeper than %d levels",
                    lim->max_nesting);
    } else if (!m) {
        rc = pg_err(err, errlen, PG_EINVAL,
                    "otlp: malformed protobuf (truncated, wrong wire type or over the memory "
                    "limit)");
    } else {
        rc = pg_otlp_install(b, tmp, (pg_otlp_data *)m, lim, err, errlen);
    }
    if (tmp != b) pg_batch_free(tmp);
out:
    pg_buf_free(&raw);
    if (owned) pg_buf_free(owned);
    return rc;
}

/* Unpacks with the batch arena as protobuf-c's allocator; the input stays the caller's. */
int pg_otlp_decode(pg_batch *b, const uint8_t *data, size_t len, const pg_decode_limits *lim,
                   char *err, size_t errlen)
{
    return decode(b, data, len, NULL, lim, err, errlen);
}

/* Like pg_otlp_decode, taking *in over (see otlp.h). */
int pg_otlp_decode_owned(pg_batch *b, pg_buf *in, const pg_decode_limits *lim, char *err,
                         size_t errlen)
{
    return decode(b, in->data, in->len, in, lim, err, errlen);
}
