/* The `otlp` exporter: each batch is sent as one ProfilesService/Export call over gRPC
 * (otlp_channel.c), with the configured metadata, the format version and the batch's
 * metadata headers; the status goes through the OTLP retry rules
 * (pipeline/exporterhelper/otlp_client.h). Built on the exporter helper (queue, retry,
 * persistent queue, batching by metadata). */
#include "exporters/otlp/otlp_exporter.h"

#include "exporters/otlp/otlp_exporter_int.h"
#include "pipeline/core/err.h"

#include <grpc/grpc.h>
#include <stdlib.h>
#include <string.h>

typedef otlp_exporter_config C;

static const char *const BALANCERS[] = {"pick_first", "round_robin", NULL};

static const pg_cfg_field KEEPALIVE[] = {
    {.key = "time",
     .type = PG_CFG_DURATION,
     .offset = offsetof(otlp_exporter_keepalive, time),
     .def = "0",
     .doc = "ping an idle connection after this long (0: no pings)"},
    {.key = "timeout",
     .type = PG_CFG_DURATION,
     .offset = offsetof(otlp_exporter_keepalive, timeout),
     .def = "20s",
     .min = "1ms",
     .doc = "close the connection when a ping is not answered within it"},
    {.key = "permit_without_stream",
     .type = PG_CFG_BOOL,
     .offset = offsetof(otlp_exporter_keepalive, permit_without_stream),
     .def = "false",
     .doc = "ping even when no call is in flight"},
    {0},
};

static const pg_cfg_field TABLE[] = {
    {.key = "endpoint",
     .type = PG_CFG_STRING,
     .offset = offsetof(C, endpoint),
     .def = "localhost:4317",
     .doc = "host:port (a DNS name may resolve to a tier of backends); http:// or https:// "
            "prefix sets tls.insecure"},
    {.key = "balancer_name",
     .type = PG_CFG_ENUM,
     .offset = offsetof(C, balancer),
     .def = "pick_first",
     .enum_values = BALANCERS,
     .doc = "pick_first: one address at a time; round_robin: every resolved address in turn"},
    {.key = "keepalive",
     .type = PG_CFG_SECTION,
     .offset = offsetof(C, keepalive),
     .section = KEEPALIVE,
     .doc = "HTTP/2 pings on the connection"},
    {.key = "max_response_size",
     .type = PG_CFG_SIZE,
     .offset = offsetof(C, max_response_size),
     .def = "4MiB",
     .min = "1KiB",
     .max = "64MiB",
     .doc = "largest answer message accepted"},
    PG_OTLP_CLIENT_FIELDS(C, otlp),
    PG_EXPORTER_HELPER_FIELDS(C, helper),
    {0},
};

/* Borrows cfg: compression the core can do, tls, and the helper's cross-field checks. */
static int validate(const void *vcfg, char *err, size_t errlen)
{
    const C *c = vcfg;
    if (c->otlp.compression == PG_OTLP_COMPRESSION_ZSTD)
        return pg_err(err, errlen, PG_EUNSUP,
                      "compression: zstd is not available over gRPC (the gRPC C core compresses "
                      "with gzip or deflate only); use gzip or none, or the otlphttp exporter");
    if (!c->endpoint || !c->endpoint[0]) return pg_err(err, errlen, PG_EINVAL, "endpoint: empty");
    int rc = pg_otlp_client_config_validate(&c->otlp, err, errlen);
    return rc ? rc : pg_exporter_helper_config_validate(&c->helper, err, errlen);
}

typedef struct otlp_exporter {
    pg_exporter_base base; /* first: settings, helper */
    otlp_channel *ch;
    pg_otlp_client *otlp;
    bool grpc_on; /* grpc_init was called */
} otlp_exporter;

/* pg_prepare_ops.prepare: the protobuf body (gzip level 1 with libdeflate when
 * compression is gzip: the core sends it marked compressed, as zlib at its default level
 * cost four times the CPU) and headers of b (borrowed); *bytes is the body's size. */
static int prepare(void *ctx, const pg_batch *b, void **req, uint64_t *bytes, char *err,
                   size_t errlen)
{
    otlp_exporter *e = ctx;
    return pg_otlp_request_prepare(e->otlp, b, false, true, req, bytes, err, errlen);
}

/* pg_prepare_ops.send: one Export call with r (borrowed), then the retry rules. */
static int send_request(void *ctx, void *req, int64_t deadline_ns, char *err, size_t errlen)
{
    otlp_exporter *e = ctx;
    const pg_otlp_request *r = req;
    pg_buf store = {0};
    pg_otlp_answer a;
    int rc = pg_otlp_channel_export(e->ch, &r->body, r->headers, r->n_headers, deadline_ns, &a,
                                    &store, err, errlen);
    if (rc == 0)
        rc = pg_otlp_client_outcome(e->otlp, &a, r->profiles, err, errlen);
    else if (rc == PG_ENOMEM)
        rc = PG_EAGAIN;
    pg_buf_free(&store);
    return rc;
}

/* pg_send_fn (no queue, persistent queue, batching): prepares b (borrowed) and sends it. */
static int send_batch(void *ctx, const pg_batch *b, int64_t deadline_ns, char *err, size_t errlen)
{
    otlp_exporter *e = ctx;
    return pg_otlp_request_send_batch(e->otlp, b, false, true, send_request, e, deadline_ns, err,
                                      errlen);
}

static const pg_prepare_ops PREPARE = {prepare, send_request, pg_otlp_request_free_req};

static void destroy(void *self)
{
    otlp_exporter *e = self;
    if (!e) return;
    pg_exporter_base_fini(&e->base); /* stops the senders before their channel goes */
    pg_otlp_channel_free(e->ch);
    pg_otlp_client_free(e->otlp);
    if (e->grpc_on) grpc_shutdown();
    free(e);
}

/* Builds the exporter, its channel and its helper; copies what it keeps of s and cfg. */
static int create(const pg_component_settings *s, const void *vcfg, pg_consumer next, void **self,
                  char *err, size_t errlen)
{
    (void)next;
    const C *c = vcfg;
    *self = NULL;
    otlp_exporter *e = calloc(1, sizeof *e);
    if (!e) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    grpc_init();
    e->grpc_on = true;
    int rc = pg_otlp_channel_new(c, s->id, &e->ch, err, errlen);
    if (rc == 0) rc = pg_otlp_client_new(s, &c->otlp, &e->otlp, err, errlen);
    if (rc == 0) rc = pg_exporter_base_init(&e->base, s, &c->helper, send_batch, e, err, errlen);
    if (rc == 0) pg_exporter_helper_set_prepare(e->base.helper, &PREPARE);
    if (rc) {
        destroy(e);
        return rc;
    }
    *self = e;
    return 0;
}

const pg_component_factory pg_otlp_exporter_factory = {
    .type = "otlp",
    .kind = PG_CFG_EXPORTER,
    .config = {.table = TABLE, .size = sizeof(C), .validate = validate},
    .create = create,
    .start = pg_exporter_base_start,
    .shutdown = pg_exporter_base_shutdown,
    .destroy = destroy,
    .consume = pg_exporter_base_consume,
};
