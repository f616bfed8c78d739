/* OTLP/JSON for whole batches, on top of the descriptor-driven codec in otlp_json.c. */
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/otlp_decode_int.h"
#include "pipeline/translate/otlp_json.h"
#include "pipeline/core/adopt.h"
#include "pipeline/core/decompress.h"
#include "pipeline/core/err.h"
#include "pipeline/core/samples.h"
#include "pipeline/core/stacks.h"

/* Decodes JSON (gzip/zstd sniffed) into b: in place when b is empty, else merged. */
int pg_otlp_decode_json(pg_batch *b, const uint8_t *data, size_t len, const pg_decode_limits *lim,
                        char *err, size_t errlen)
{
    pg_decode_limits deflim;
    lim = pg_decode_limits_or_default(lim, &deflim);
    pg_buf raw = {0};
    int rc =
        pg_decompress_input(&data, &len, lim->max_decompressed, &raw, "otlp_json", err, errlen);
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

/* Views for the descriptor-driven writer: each profile's samples and the dictionary's
 * stacks are columns in a batch, Sample and Stack structs in the writer's eyes. A profile's
 * structs live in a scratch arena only while that profile is written, so the whole tree
 * is never materialised at once. */
typedef struct json_views {
    pg_arena *profile; /* the profile being written */
    pg_arena *dict;    /* the dictionary's stack structs */
} json_views;

static const ProtobufCMessage *json_view(void *ctx, const ProtobufCMessage *m)
{
    json_views *v = ctx;
    if (m->descriptor == &PG_OTLP_DESC(profile)) {
        if (!v->profile && !(v->profile = pg_arena_new(0))) return NULL;
        return (const ProtobufCMessage *)pg_profile_with_sample_structs(v->profile,
                                                                        (const pg_otlp_profile *)m);
    }
    if (m->descriptor == &PG_OTLP_DESC(profiles_dictionary)) {
        if (!v->dict && !(v->dict = pg_arena_new(0))) return NULL;
        return (const ProtobufCMessage *)pg_dict_with_stack_structs(v->dict,
                                                                    (const pg_otlp_dict *)m);
    }
    return m;
}

static void json_view_done(void *ctx, const ProtobufCMessage *m, const ProtobufCMessage *view)
{
    json_views *v = ctx;
    (void)view;
    pg_arena **a = m->descriptor == &PG_OTLP_DESC(profile) ? &v->profile : &v->dict;
    pg_arena_free(*a);
    *a = NULL;
}

/* Encodes the batch's tree as OTLP/JSON (appends to caller-owned out, which may flush). */
int pg_otlp_encode_json(const pg_batch *b, pg_buf *out, char *err, size_t errlen)
{
    json_views v = {NULL, NULL};
    pg_json_enc_hooks hooks = {json_view, json_view_done, &v};
    int rc = pg_otlp_json_encode_with((const ProtobufCMessage *)pg_batch_data(b), &hooks, out, err,
                                      errlen);
    pg_arena_free(v.profile);
    pg_arena_free(v.dict);
    return rc;
}
