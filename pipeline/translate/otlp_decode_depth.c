/* The nesting check that runs before protobuf-c unpacks a message: protobuf-c recurses
 * once per nested message, so depth is bounded on the wire bytes first. */
#include "pipeline/translate/otlp_decode_int.h"

#include "pipeline/core/err.h"

/* True when messages of `desc` hold no message fields (they cannot nest any deeper). */
static int is_leaf(const ProtobufCMessageDescriptor *desc)
{
    for (unsigned i = 0; i < desc->n_fields; i++)
        if (desc->fields[i].type == PROTOBUF_C_TYPE_MESSAGE) return 0;
    return 1;
}

/* Walks the wire bytes of a message of descriptor `desc`, failing when message fields
 * nest deeper than `depth` levels. Other malformations are left to protobuf-c. Runs of one
 * field (samples, stacks) look their descriptor up once; leaf messages are not entered. */
int pg_otlp_check_depth(pg_wire r, const ProtobufCMessageDescriptor *desc, int depth)
{
    if (depth <= 0) return PG_ELIMIT;
    uint32_t f, last_f = 0;
    int wt, rc, leaf = 0;
    const ProtobufCFieldDescriptor *fd = NULL;
    while ((rc = pg_wire_tag(&r, &f, &wt)) == 1) {
        if (f != last_f) {
            fd = protobuf_c_message_descriptor_get_field(desc, f);
            leaf = fd && fd->type == PROTOBUF_C_TYPE_MESSAGE && is_leaf(fd->descriptor);
            last_f = f;
        }
        if (fd && fd->type == PROTOBUF_C_TYPE_MESSAGE && wt == PG_WT_LEN) {
            pg_wire sub;
            if (pg_wire_len(&r, &sub)) return 0;
            if (leaf ? depth - 1 <= 0 : pg_otlp_check_depth(sub, fd->descriptor, depth - 1))
                return PG_ELIMIT;
        } else if (pg_wire_skip(&r, wt)) {
            return 0;
        }
    }
    return 0;
}
