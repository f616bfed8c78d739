/* The `otlp` receiver's factory: config table (Collector-shaped: protocols.grpc with
 * endpoint, max_recv_msg_size_mib, keepalive.server_parameters / enforcement_policy, tls,
 * auth; protocols.http with the listener stack's keys, profiles_url_path, traces_url_path
 * and cors), max_spans for traces,
 * validation, lifecycle. The servers are otlp_grpc.c and otlp_http.c, the request logic
 * otlp_request.c. */
#include "receivers/otlp/otlp_receiver.h"
#include "receivers/otlp/otlp_receiver_int.h"

#include "pipeline/core/err.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define C otlp_config
#define G otlp_grpc_config
#define H otlp_http_config

static const pg_cfg_field KEEPALIVE_SERVER[] = {
    {"max_connection_idle", PG_CFG_DURATION, offsetof(otlp_keepalive_server, max_connection_idle),
     "0", .doc = "close connections idle this long (0 = never)"},
    {"max_connection_age", PG_CFG_DURATION, offsetof(otlp_keepalive_server, max_connection_age),
     "0", .doc = "close connections this old (0 = never)"},
    {"max_connection_age_grace", PG_CFG_DURATION,
     offsetof(otlp_keepalive_server, max_connection_age_grace), "0",
     .doc = "time calls get to finish after max_connection_age (0 = unbounded)"},
    {"time", PG_CFG_DURATION, offsetof(otlp_keepalive_server, time), "2h",
     .doc = "ping a connection idle this long"},
    {"timeout", PG_CFG_DURATION, offsetof(otlp_keepalive_server, timeout), "20s",
     .doc = "close when a ping is not answered within this"},
    {0},
};

static const pg_cfg_field KEEPALIVE_POLICY[] = {
    {"min_time", PG_CFG_DURATION, offsetof(otlp_keepalive_policy, min_time), "5m",
     .doc = "clients pinging more often than this are disconnected"},
    {"permit_without_stream", PG_CFG_BOOL, offsetof(otlp_keepalive_policy, permit_without_stream),
     "false", .doc = "allow client pings without active calls"},
    {0},
};

static const pg_cfg_field KEEPALIVE[] = {
    {"server_parameters", PG_CFG_SECTION, offsetof(otlp_keepalive, server_parameters),
     .section = KEEPALIVE_SERVER, .doc = "server-side keepalive"},
    {"enforcement_policy", PG_CFG_SECTION, offsetof(otlp_keepalive, enforcement_policy),
     .section = KEEPALIVE_POLICY, .doc = "what client keepalive is allowed"},
    {0},
};

static const pg_cfg_field TLS[] = {
    {"cert_file", PG_CFG_STRING, offsetof(otlp_tls, cert_file),
     .doc = "server certificate chain (PEM); with key_file enables TLS"},
    {"key_file", PG_CFG_STRING, offsetof(otlp_tls, key_file), .doc = "server private key (PEM)"},
    {"client_ca_file", PG_CFG_STRING, offsetof(otlp_tls, client_ca_file),
     .doc = "CA bundle (PEM) client certificates must chain to (mTLS)"},
    {0},
};

static const pg_cfg_field AUTH[] = {
    {"bearer_token_file", PG_CFG_STRING, offsetof(otlp_auth, bearer_token_file),
     .doc = "file holding the token clients send as `authorization: Bearer <token>`"},
    {0},
};

static const pg_cfg_field GRPC[] = {
    PG_CFG_PRESENT_FIELD(G, present),
    {"endpoint", PG_CFG_ENDPOINT, offsetof(G, endpoint), "localhost:4317",
     .doc = "host:port to listen on for gRPC"},
    {"max_recv_msg_size_mib", PG_CFG_INT, offsetof(G, max_recv_msg_size_mib), "4", "1", "2047",
     .doc = "largest request message as received (compressed), MiB"},
    {"max_concurrent_streams", PG_CFG_INT, offsetof(G, max_concurrent_streams), "0", "0", "1000000",
     .doc = "concurrent calls per connection (0 = gRPC default)"},
    {"completion_queue_threads", PG_CFG_INT, offsetof(G, completion_queue_threads), "2", "1", "64",
     .doc = "threads serving the completion queue (each handles one request at a time)"},
    {"keepalive", PG_CFG_SECTION, offsetof(G, keepalive), .section = KEEPALIVE,
     .doc = "keepalive settings (as the Collector)"},
    {"tls", PG_CFG_SECTION, offsetof(G, tls), .section = TLS, .doc = "TLS and mTLS"},
    {"auth", PG_CFG_SECTION, offsetof(G, auth), .section = AUTH, .doc = "client authentication"},
    {0},
};

static const pg_cfg_field HTTP[] = {
    PG_CFG_PRESENT_FIELD(H, present),
    PG_HTTP_SERVER_FIELDS(H, server, "localhost:4318"),
    {"profiles_url_path", PG_CFG_STRING, offsetof(H, profiles_url_path), PG_OTLP_HTTP_PATH,
     .doc = "path of the export route (POST)"},
    {"traces_url_path", PG_CFG_STRING, offsetof(H, traces_url_path), PG_OTLP_HTTP_TRACES_PATH,
     .doc = "path of the traces route (POST; served when a traces pipeline names the receiver)"},
    PG_HTTP_CORS_FIELD(H, cors),
    {0},
};

static const pg_cfg_field PROTOCOLS[] = {
    {"grpc", PG_CFG_SECTION, offsetof(otlp_protocols, grpc), .section = GRPC,
     .doc = "the gRPC server (started when given)"},
    {"http", PG_CFG_SECTION, offsetof(otlp_protocols, http), .section = HTTP,
     .doc = "the OTLP/HTTP server on the shared listener stack (started when given)"},
    {0},
};

static const pg_cfg_field TABLE[] = {
    {"protocols", PG_CFG_SECTION, offsetof(C, protocols), .section = PROTOCOLS,
     .doc = "transports: grpc, http or both"},
    {"accepted_versions", PG_CFG_STRING_LIST, offsetof(C, accepted_versions), "[1]",
     .doc = "accepted OTLP-Profiles-Development-Version values (positive integers; missing header "
            "= 1)"},
    {"include_metadata", PG_CFG_BOOL, offsetof(C, include_metadata), "false",
     .doc = "keep the request metadata named in metadata_keys on the batch"},
    {"metadata_keys", PG_CFG_STRING_LIST, offsetof(C, metadata_keys),
     .doc = "metadata keys kept when include_metadata (required then)"},
    {"max_metadata_value", PG_CFG_SIZE, offsetof(C, max_metadata_value), "4KiB", "1", "1MiB",
     .doc = "largest kept metadata value (repeated values joined with ,)"},
    {"max_decompressed", PG_CFG_SIZE, offsetof(C, max_decompressed), "64MiB", "1",
     .doc = "cap on a request once inflated (gzip, zstd)"},
    {"max_samples", PG_CFG_INT, offsetof(C, max_samples), "10000000", "1",
     .doc = "most samples one request may hold"},
    {"max_spans", PG_CFG_INT, offsetof(C, max_spans), "1000000", "1", "100000000",
     .doc = "most spans one trace request may hold"},
    {0},
};

/* Parses the accepted versions into out; 0 or PG_EINVAL. Borrows c. */
static int parse_versions(const C *c, int64_t *out, size_t *n, char *err, size_t errlen)
{
    if (c->accepted_versions.n == 0 || c->accepted_versions.n > PG_OTLP_MAX_VERSIONS)
        return pg_err(err, errlen, PG_EINVAL, "accepted_versions: give 1 to %d versions",
                      PG_OTLP_MAX_VERSIONS);
    for (size_t i = 0; i < c->accepted_versions.n; i++) {
        const char *s = c->accepted_versions.items[i];
        char *end = NULL;
        long long v = s ? strtoll(s, &end, 10) : 0;
        if (!s || !isdigit((unsigned char)s[0]) || *end || v <= 0)
            return pg_err(err, errlen, PG_EINVAL,
                          "accepted_versions[%zu]: \"%s\" is not a positive integer", i,
                          s ? s : "");
        out[i] = v;
    }
    *n = c->accepted_versions.n;
    return 0;
}

/* Checks across fields; borrows cfg. */
static int validate(const void *vcfg, char *err, size_t errlen)
{
    const C *c = vcfg;
    int64_t v[PG_OTLP_MAX_VERSIONS];
    size_t n;
    int rc = parse_versions(c, v, &n, err, errlen);
    if (rc) return rc;
    if (c->include_metadata && c->metadata_keys.n == 0)
        return pg_err(err, errlen, PG_EINVAL,
                      "include_metadata: name the keys to keep in metadata_keys");
    if (!c->protocols.grpc.present && !c->protocols.http.present)
        return pg_err(err, errlen, PG_EINVAL, "protocols: give grpc, http or both");
    if (c->protocols.http.present) {
        const char *p = c->protocols.http.profiles_url_path;
        const char *tp = c->protocols.http.traces_url_path;
        if (!p || p[0] != '/' || strpbrk(p, "?# "))
            return pg_err(err, errlen, PG_EINVAL,
                          "protocols.http.profiles_url_path: a path starting with /");
        if (!tp || tp[0] != '/' || strpbrk(tp, "?# "))
            return pg_err(err, errlen, PG_EINVAL,
                          "protocols.http.traces_url_path: a path starting with /");
        if (!strcmp(p, tp))
            return pg_err(err, errlen, PG_EINVAL,
                          "protocols.http: profiles_url_path and traces_url_path are both %s", p);
        if ((rc = pg_http_server_config_validate(&c->protocols.http.server, err, errlen))) {
            pg_err_prefix(err, errlen, "protocols.http");
            return rc;
        }
    }
    const otlp_tls *t = &c->protocols.grpc.tls;
    if (!t->cert_file != !t->key_file)
        return pg_err(err, errlen, PG_EINVAL,
                      "protocols.grpc.tls: cert_file and key_file go together");
    if (t->client_ca_file && !t->cert_file)
        return pg_err(err, errlen, PG_EINVAL,
                      "protocols.grpc.tls: client_ca_file needs cert_file and key_file");
    return 0;
}

static void destroy(void *self)
{
    otlp_receiver *r = self;
    if (!r) return;
    pg_otlp_http_shutdown(r);
    free(r->http_path);
    free(r->http_traces_path);
    if (r->grpc_on) pg_otlp_grpc_destroy(r);
    for (size_t i = 0; i < r->req.n_metadata_keys; i++)
        free(r->req.metadata_keys[i]);
    free(r->req.metadata_keys);
    free(r->cert_pem);
    free(r->key_pem);
    free(r->client_ca_pem);
    free(r->bearer);
    free(r->target);
    free(r->paths[0]);
    free(r->paths[1]);
    free(r->paths[2]);
    free(r->paths[3]);
    free(r->id);
    free(r);
}

/* Copies s (may be NULL) into *dst; false on OOM. */
static bool dup_opt(char **dst, const char *s)
{
    *dst = s ? strdup(s) : NULL;
    return !s || *dst;
}

/* Builds the receiver; copies everything it keeps from s and cfg. No I/O. */
static int create(const pg_component_settings *s, const void *vcfg, pg_consumer next, void **self,
                  char *err, size_t errlen)
{
    const C *c = vcfg;
    const G *g = &c->protocols.grpc;
    *self = NULL;
    otlp_receiver *r = calloc(1, sizeof *r);
    if (!r) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    int rc = parse_versions(c, r->req.versions, &r->req.n_versions, err, errlen);
    if (rc) {
        free(r);
        return rc;
    }
    r->req.next = next;
    pg_decode_limits_default(&r->req.limits);
    r->req.limits.max_decompressed = c->max_decompressed;
    r->req.limits.max_samples = (size_t)c->max_samples;
    r->max_spans = c->max_spans;
    r->traces = s->traces;
    r->req.include_metadata = c->include_metadata;
    r->req.max_metadata_value = c->max_metadata_value;
    r->max_recv_bytes = (size_t)g->max_recv_msg_size_mib << 20;
    r->max_concurrent_streams = (int)g->max_concurrent_streams;
    r->threads = (int)g->completion_queue_threads;
    r->keepalive = g->keepalive;
    const char *host = g->endpoint.host ? g->endpoint.host : "localhost";
    size_t tl = strlen(host) + 16;
    bool ok = (r->id = strdup(s->id)) && (r->target = malloc(tl));
    if (ok)
        snprintf(r->target, tl, strchr(host, ':') ? "[%s]:%u" : "%s:%u", *host ? host : "0.0.0.0",
                 g->endpoint.port);
    ok = ok && dup_opt(&r->paths[0], g->tls.cert_file) && dup_opt(&r->paths[1], g->tls.key_file) &&
         dup_opt(&r->paths[2], g->tls.client_ca_file) &&
         dup_opt(&r->paths[3], g->auth.bearer_token_file);
    if (ok && c->metadata_keys.n) {
        ok = (r->req.metadata_keys = calloc(c->metadata_keys.n, sizeof(char *))) != NULL;
        for (size_t i = 0; ok && i < c->metadata_keys.n; i++) {
            ok = (r->req.metadata_keys[i] = strdup(c->metadata_keys.items[i])) != NULL;
            if (ok) r->req.n_metadata_keys++;
            for (char *p = ok ? r->req.metadata_keys[i] : NULL; p && *p; p++)
                *p = (char)tolower((unsigned char)*p);
        }
    }
    if (!ok) {
        destroy(r);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    r->req.id = r->id;
    pg_otlp_stats_init(&r->stats, pg_host_metrics(s->host), r->id);
    r->req.stats = &r->stats;
    if (r->traces.consume) pg_otlp_traces_stats_init(r, pg_host_metrics(s->host));
    r->grpc_on = g->present;
    if (c->protocols.http.present &&
        (rc = pg_otlp_http_create(r, s->host, &c->protocols.http, err, errlen))) {
        destroy(r);
        return rc;
    }
    *self = r;
    return 0;
}

/* Reads a small PEM or token file into *out (malloc'd, NUL-terminated). */
static int read_small(const char *path, char **out, const char *what, char *err, size_t errlen)
{
    pg_buf b = {0};
    int rc = pg_buf_read_file(&b, path, 1 << 20, err, errlen);
    if (rc == 0 && pg_buf_append(&b, "", 1)) rc = pg_err(err, errlen, PG_ENOMEM, "out of memory");
    if (rc) {
        pg_buf_free(&b);
        pg_err_prefix(err, errlen, what);
        return rc;
    }
    *out = (char *)b.data;
    return 0;
}

/* Reads the TLS and token files, then starts the gRPC server. */
static int start(void *self, char *err, size_t errlen)
{
    otlp_receiver *r = self;
    int rc = r->http ? pg_otlp_http_start(r, err, errlen) : 0;
    if (rc || !r->grpc_on) return rc;
    if (r->paths[0] &&
        ((rc = read_small(r->paths[0], &r->cert_pem, "tls.cert_file", err, errlen)) ||
         (rc = read_small(r->paths[1], &r->key_pem, "tls.key_file", err, errlen))))
        return rc;
    if (r->paths[2] &&
        (rc = read_small(r->paths[2], &r->client_ca_pem, "tls.client_ca_file", err, errlen)))
        return rc;
    if (r->paths[3]) {
        char *tok = NULL;
        if ((rc = read_small(r->paths[3], &tok, "auth.bearer_token_file", err, errlen))) return rc;
        size_t n = strlen(tok);
        while (n && isspace((unsigned char)tok[n - 1]))
            tok[--n] = '\0';
        if (n == 0) {
            free(tok);
            return pg_err(err, errlen, PG_EINVAL, "auth.bearer_token_file: %s is empty",
                          r->paths[3]);
        }
        r->bearer = malloc(n + 8);
        if (r->bearer) snprintf(r->bearer, n + 8, "Bearer %s", tok);
        free(tok);
        if (!r->bearer) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    if ((rc = pg_otlp_grpc_start(r, err, errlen))) return rc;
    pg_log(PG_LOG_INFO, r->id, "gRPC listening on %s (port %d)%s%s", r->target, r->port,
           r->cert_pem ? (r->client_ca_pem ? ", mTLS" : ", TLS") : "",
           r->bearer ? ", bearer auth" : "");
    return 0;
}

static void shutdown_(void *self, int64_t deadline_ns)
{
    otlp_receiver *r = self;
    pg_otlp_http_shutdown(r);
    if (r->grpc_on) pg_otlp_grpc_shutdown(r, deadline_ns);
}

const pg_component_factory pg_otlp_receiver_factory = {
    .type = "otlp",
    .kind = PG_CFG_RECEIVER,
    .config = {.table = TABLE,
               .size = sizeof(C),
               .validate = validate,
               .signals = PG_SIGNAL_PROFILES | PG_SIGNAL_TRACES},
    .create = create,
    .start = start,
    .shutdown = shutdown_,
    .destroy = destroy,
};
