/* OTLP protobuf decode (protobuf-c with the batch arena as allocator) and encode. */
#include "pipeline/translate/otlp.h"
#include "pipeline/core/decompress.h"
#include "pipeline/core/err.h"
#include "pipeline/core/wire.h"
#include "pipeline/translate/otlp_unpack.h"

#include <string.h>

/* Walks the wire bytes of a message of descriptor `desc`, failing when message fields
 * nest deeper than `depth` levels. Other malformations are left to protobuf-c. */
static int check_depth(pg_wire r, const ProtobufCMessageDescriptor *desc, int depth)
{
    if (depth <= 0) return -1;
    uint32_t f;
    int wt, rc;
    while ((rc = pg_wire_tag(&r, &f, &wt)) == 1) {
        const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(desc, f);
        if (fd && fd->type == PROTOBUF_C_TYPE_MESSAGE && wt == PG_WT_LEN) {
            pg_wire sub;
            if (pg_wire_len(&r, &sub)) return 0;
            if (check_depth(sub, fd->descriptor, depth - 1)) return -1;
        } else if (pg_wire_skip(&r, wt)) {
            return 0;
        }
    }
    return 0;
}

/* Installs a validated tree in b, merging when b already holds data. */
static int adopt(pg_batch *b, pg_batch *tmp, pg_otlp_data *d, const pg_decode_limits *lim,
                 char *err, size_t errlen)
{
    int rc = pg_otlp_validate(pg_batch_arena(tmp), d, lim, err, errlen);
    if (rc) return rc;
    pg_batch_set_data(tmp, d);
    if (tmp == b) return 0;
    return pg_batch_merge(b, tmp, err, errlen);
}

/* Unpacks with the batch arena as protobuf-c's allocator. */
int pg_otlp_decode(pg_batch *b, const uint8_t *data, size_t len, const pg_decode_limits *lim,
                   char *err, size_t errlen)
{
    pg_decode_limits deflim;
    if (!lim) {
        pg_decode_limits_default(&deflim);
        lim = &deflim;
    }
    pg_buf raw = {0};
    int rc = pg_decompress_input(&data, &len, lim->max_decompressed, &raw, "otlp", err, errlen);
    if (rc) goto out;
    const ProtobufCMessageDescriptor *desc = &PG_OTLP_DESC(profiles_data);
    if (check_depth(pg_wire_of(data, len), desc, lim->max_nesting + 8)) {
        rc = pg_err(err, errlen, PG_EINVAL, "otlp: messages nest deeper than %d levels",
                    lim->max_nesting);
        goto out;
    }
    /* An empty batch decodes in place; a non-empty one decodes aside and merges. */
    int empty = pg_batch_data(b)->n_resource_profiles == 0;
    pg_batch *tmp = empty ? b : pg_batch_new(lim->max_arena);
    if (!tmp) {
        rc = pg_err(err, errlen, PG_ENOMEM, "otlp: out of memory");
        goto out;
    }
    /* the tree and samples by hand (samples as columns), protobuf-c for the rest; inputs the
     * hand reader does not expect go through protobuf-c whole */
    pg_otlp_data *fast = NULL;
    ProtobufCMessage *m = NULL;
    int u = pg_otlp_unpack(pg_batch_arena(tmp), data, len, &fast);
    if (u == PG_OTLP_UNPACK_OK) {
        m = &fast->base;
    } else if (u == PG_OTLP_UNPACK_FALLBACK) {
        ProtobufCAllocator al = pg_arena_protobuf_allocator(pg_batch_arena(tmp));
        m = protobuf_c_message_unpack(desc, &al, len, data);
    }
    if (!m) {
        rc = pg_err(err, errlen, PG_EINVAL,
                    "otlp: malformed protobuf (truncated, wrong wire type or over the memory "
                    "limit)");
    } else {
        rc = adopt(b, tmp, (pg_otlp_data *)m, lim, err, errlen);
    }
    if (tmp != b) pg_batch_free(tmp);
out:
    pg_buf_free(&raw);
    return rc;
}

