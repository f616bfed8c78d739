/* The `pprof_push` receiver's factory: config table (the listener stack's keys plus
 * metadata and decode limits), validation, lifecycle and the routes. The protocols are in
 * push_ingest.c and push_connect.c. */
#include "receivers/pprof_push/pprof_push_receiver.h"
#include "receivers/pprof_push/pprof_push_int.h"

#include "pipeline/core/err.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define C push_config

static const char *const PREV_MODES[] = {"delta", "reject", NULL};

static const pg_cfg_field TABLE[] = {
    PG_HTTP_SERVER_FIELDS(C, http, "localhost:4040"),
    {"include_metadata", PG_CFG_BOOL, offsetof(C, include_metadata), "false",
     .doc = "keep the request headers named in metadata_keys on the batch (e.g. x-scope-orgid)"},
    {"metadata_keys", PG_CFG_STRING_LIST, offsetof(C, metadata_keys),
     .doc = "header names kept when include_metadata (required then)"},
    {"max_metadata_value", PG_CFG_SIZE, offsetof(C, max_metadata_value), "4KiB", "1", "1MiB",
     .doc = "largest kept header value (repeated values joined with ,)"},
    {"max_decompressed", PG_CFG_SIZE, offsetof(C, max_decompressed), "64MiB", "1",
     .doc = "cap on one pprof once inflated (gzip inside a body)"},
    {"max_samples", PG_CFG_INT, offsetof(C, max_samples), "10000000", "1",
     .doc = "most samples (x sample types) one request may hold"},
    {"max_series_labels", PG_CFG_INT, offsetof(C, max_series_labels), "30", "1", "10000",
     .doc = "series labels (name{...} or a push series) besides service_name (Pyroscope: 30)"},
    {"max_label_name_length", PG_CFG_SIZE, offsetof(C, max_label_name), "1024", "1", "1MiB",
     .doc = "bytes of a series label name (Pyroscope: 1024)"},
    {"max_label_value_length", PG_CFG_SIZE, offsetof(C, max_label_value), "2048", "1", "1MiB",
     .doc = "bytes of a series label value (Pyroscope: 2048)"},
    {"max_parts", PG_CFG_INT, offsetof(C, max_parts), "8", "1", "1000",
     .doc = "parts of one multipart/form-data body"},
    {.key = "prev_profile",
     .type = PG_CFG_ENUM,
     .offset = offsetof(C, prev_profile),
     .def = "delta",
     .enum_values = PREV_MODES,
     .doc = "a non-empty multipart prev_profile: delta (cumulative types become profile - "
            "prev_profile) or reject (400, as Pyroscope)"},
    {0},
};

/* Checks across fields; borrows cfg. */
static int validate(const void *vcfg, char *err, size_t errlen)
{
    const C *c = vcfg;
    if (c->include_metadata && c->metadata_keys.n == 0)
        return pg_err(err, errlen, PG_EINVAL,
                      "include_metadata: name the headers to keep in metadata_keys");
    return pg_http_server_config_validate(&c->http, err, errlen);
}

/* Frees what create made (after shutdown). */
static void destroy(void *self)
{
    push_receiver *r = self;
    if (!r) return;
    pg_http_server_free(r->srv);
    for (size_t i = 0; i < r->md.n_keys; i++)
        free(r->md_keys[i]);
    free(r->md_keys);
    free(r->id);
    free(r);
}

/* Builds the receiver; copies what it keeps from s and cfg (the http config is copied by
 * the server at start). No I/O. */
static int create(const pg_component_settings *s, const void *vcfg, pg_consumer next, void **self,
                  char *err, size_t errlen)
{
    const C *c = vcfg;
    *self = NULL;
    push_receiver *r = calloc(1, sizeof *r);
    if (!r || !(r->id = strdup(s->id))) {
        free(r);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    r->next = next;
    pg_decode_limits_default(&r->limits);
    r->limits.max_decompressed = c->max_decompressed;
    r->limits.max_samples = (size_t)c->max_samples;
    r->max_labels = (size_t)c->max_series_labels;
    r->max_name = c->max_label_name;
    r->max_value = c->max_label_value;
    r->max_parts = (size_t)c->max_parts;
    r->prev_mode = c->prev_profile;
    r->md.include = c->include_metadata;
    r->md.max_value = c->max_metadata_value;
    if (c->metadata_keys.n && !(r->md_keys = calloc(c->metadata_keys.n, sizeof(char *)))) {
        destroy(r);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < c->metadata_keys.n; i++) {
        if (!(r->md_keys[i] = strdup(c->metadata_keys.items[i]))) {
            destroy(r);
            return pg_err(err, errlen, PG_ENOMEM, "out of memory");
        }
        r->md.n_keys++;
        for (char *p = r->md_keys[i]; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    }
    r->md.keys = r->md_keys;
    r->metrics = pg_host_metrics(s->host);
    pg_rx_stats_init(&r->stats, r->metrics, r->id);
    char lab[256] = "";
    pg_metrics_label(lab, sizeof lab, "receiver", r->id);
    r->dropped_types = pg_metrics_counter(
        r->metrics, "profgate_receiver_pprof_push_dropped_sample_types_total",
        "Sample types of pushed pprofs left out because sample_type_config did not name them.",
        lab);
    pg_delta_metrics_init(&r->dm, r->metrics, lab, NULL);
    int rc = pg_http_server_new(pg_host_event_base(s->host), r->metrics, r->id, &c->http, &r->srv,
                                err, errlen);
    if (rc == 0) rc = pg_http_server_route(r->srv, "POST", "/ingest", push_on_ingest, r);
    if (rc == 0) rc = pg_http_server_route(r->srv, "POST", "/pyroscope/ingest", push_on_ingest, r);
    if (rc == 0) rc = pg_http_server_route(r->srv, "POST", "/v1/pprof", push_on_raw, r);
    if (rc == 0)
        rc =
            pg_http_server_route(r->srv, "POST", "/push.v1.PusherService/Push", push_on_connect, r);
    if (rc == 0) rc = pg_http_server_route_grpc(r->srv, "/push.v1.PusherService/Push");
    if (rc) {
        destroy(r);
        if (!err[0]) pg_err(err, errlen, rc, "cannot set up the routes");
        return rc;
    }
    *self = r;
    return 0;
}

/* Starts listening (reads TLS files and secrets). */
static int start(void *self, char *err, size_t errlen)
{
    push_receiver *r = self;
    int rc = pg_http_server_start(r->srv, err, errlen);
    if (rc) return rc;
    pg_log(PG_LOG_INFO, r->id,
           "listening on port %u (/ingest, /push.v1.PusherService/Push, "
           "/v1/pprof)",
           (unsigned)pg_http_server_port(r->srv));
    return 0;
}

/* Stops listening; queued requests are answered first. */
static void shutdown_(void *self, int64_t deadline_ns)
{
    push_receiver *r = self;
    (void)deadline_ns;
    pg_http_server_free(r->srv);
    r->srv = NULL;
}

const pg_component_factory pg_pprof_push_receiver_factory = {
    .type = "pprof_push",
    .kind = PG_CFG_RECEIVER,
    .config = {.table = TABLE, .size = sizeof(C), .validate = validate},
    .create = create,
    .start = start,
    .shutdown = shutdown_,
    .destroy = destroy,
};
