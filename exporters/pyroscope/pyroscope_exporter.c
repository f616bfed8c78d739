/* The `pyroscope` exporter's factory and send: config (endpoint, protocol, labels, tenant,
 * headers, auth, TLS, the exporter helper's queue and retry), the HTTP client, and the
 * answer's meaning (2xx sent; 408, 429, 5xx and transport errors retried, a Retry-After
 * handed to the exporter helper's backoff; other statuses dropped for good). */
#include "exporters/pyroscope/pyroscope_exporter.h"
#include "exporters/pyroscope/pyroscope_int.h"

#include "pipeline/core/err.h"
#include "pipeline/exporterhelper/exporter_base.h"
#include "pipeline/host.h"
#include "pipeline/net/http_client.h"
#include "pipeline/net/http_server.h"
#include "pipeline/net/multipart.h"
#include "pipeline/telemetry/log.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { PROTO_PUSH, PROTO_INGEST };
static const char *const PROTOCOLS[] = {"push", "ingest", NULL};

typedef struct pyro_config {
    char *endpoint;
    int protocol;
    pg_cfg_strmap external_labels;
    char *tenant_id;
    char *tenant_from_metadata;
    pg_cfg_strmap headers;
    pg_http_auth_config auth;
    pg_tls_client_config tls;
    uint64_t max_response_body;
    pyro_limits limits;
    pg_exporter_helper_config helper;
} C;

static const pg_cfg_field LIMITS[] = {
    {"enabled", PG_CFG_BOOL, offsetof(pyro_limits, enabled), "false",
     .doc = "reshape profiles over Pyroscope's limits before sending (counted)"},
    {"max_samples", PG_CFG_INT, offsetof(pyro_limits, max_samples), "16000", "1",
     .doc = "samples of one pprof; more are split over several (Pyroscope: 16000)"},
    {"max_stack_depth", PG_CFG_INT, offsetof(pyro_limits, max_stack_depth), "1000", "1",
     .doc = "frames of one stack; deeper ones keep the leaf-most (Pyroscope: 1000)"},
    {"max_labels_per_sample", PG_CFG_INT, offsetof(pyro_limits, max_labels), "100", "1",
     .doc = "labels of one sample; the first ones are kept (Pyroscope: 100)"},
    {"max_profile_size", PG_CFG_SIZE, offsetof(pyro_limits, max_profile_size), "4MiB", "1KiB",
     .doc = "bytes of one uncompressed pprof; larger ones are split (Pyroscope: 4MiB)"},
    {"max_label_name_length", PG_CFG_INT, offsetof(pyro_limits, max_label_name), "1024", "1",
     .doc = "bytes of a series label name; longer ones are cut (Pyroscope: 1024)"},
    {"max_label_value_length", PG_CFG_INT, offsetof(pyro_limits, max_label_value), "2048", "1",
     .doc = "bytes of a series label value; longer ones are cut (Pyroscope: 2048)"},
    {"max_label_names_per_series", PG_CFG_INT, offsetof(pyro_limits, max_label_names), "30", "2",
     .doc = "labels of one series, __name__ and service_name included; the last ones past "
            "it are dropped (Pyroscope: 30)"},
    {0},
};

static const pg_cfg_field TABLE[] = {
    {"endpoint", PG_CFG_STRING, offsetof(C, endpoint), .required = true,
     .doc = "base URL of Pyroscope (http:// or https://), e.g. http://localhost:4040"},
    {"protocol", PG_CFG_ENUM, offsetof(C, protocol), "push", .enum_values = PROTOCOLS,
     .doc = "push: Connect push.v1.PusherService/Push; ingest: /ingest multipart"},
    {"external_labels", PG_CFG_STRING_MAP, offsetof(C, external_labels),
     .doc = "labels added to every series (overriding the resource's)"},
    {"tenant_id", PG_CFG_STRING, offsetof(C, tenant_id),
     .doc = "X-Scope-OrgID sent with every request"},
    {"tenant_from_metadata", PG_CFG_STRING, offsetof(C, tenant_from_metadata),
     .doc = "batch metadata key (e.g. x-scope-orgid) whose value is sent as X-Scope-OrgID"},
    {"headers", PG_CFG_STRING_MAP, offsetof(C, headers), .doc = "extra request headers"},
    {"auth", PG_CFG_SECTION, offsetof(C, auth), .section = pg_http_auth_fields,
     .doc = "bearer_token_file, or basic: username + password_file"},
    {"tls", PG_CFG_SECTION, offsetof(C, tls), .section = pg_tls_client_fields,
     .doc = "CA, client certificate (mTLS), server name"},
    {"max_response_body", PG_CFG_SIZE, offsetof(C, max_response_body), "64KiB", "1", "16MiB",
     .doc = "bytes of an answer kept (error messages)"},
    {"limits", PG_CFG_SECTION, offsetof(C, limits), .section = LIMITS,
     .doc = "Pyroscope's ingestion limits applied here (off by default)"},
    PG_EXPORTER_HELPER_FIELDS(C, helper),
    {0},
};

/* Borrows cfg. */
static int validate(const void *vcfg, char *err, size_t errlen)
{
    const C *c = vcfg;
    if (strncmp(c->endpoint, "http://", 7) != 0 && strncmp(c->endpoint, "https://", 8) != 0)
        return pg_err(err, errlen, PG_EINVAL, "endpoint: \"%s\" is not an http:// or https:// URL",
                      c->endpoint);
    if (c->tenant_id && c->tenant_from_metadata)
        return pg_err(err, errlen, PG_EINVAL,
                      "tenant_id and tenant_from_metadata: give one of them");
    if (c->auth.bearer_token_file && c->auth.basic.username)
        return pg_err(err, errlen, PG_EINVAL, "auth: bearer_token_file or basic, not both");
    if (!c->auth.basic.username != !c->auth.basic.password_file)
        return pg_err(err, errlen, PG_EINVAL, "auth.basic: username and password_file go together");
    int rc = pg_tls_client_config_validate(&c->tls, err, errlen);
    return rc ? rc : pg_exporter_helper_config_validate(&c->helper, err, errlen);
}

/* The counters of what the limits changed, in pyro_limit_counts' order. */
enum {
    LIM_SPLITS,
    LIM_STACKS,
    LIM_LABELS,
    LIM_ZERO,
    LIM_OVERSIZE,
    LIM_CUT,
    LIM_DROPPED,
    LIM_SURPLUS,
    LIM_N
};
static const struct {
    const char *name, *help;
} LIMIT_COUNTERS[LIM_N] = {
    {"profgate_exporter_pyroscope_limit_splits_total",
     "Extra pprofs made by splitting profiles over max_samples or max_profile_size."},
    {"profgate_exporter_pyroscope_limit_trimmed_stacks_total",
     "Samples whose stack was cut to max_stack_depth."},
    {"profgate_exporter_pyroscope_limit_trimmed_labels_total",
     "Samples whose labels were cut to max_labels_per_sample."},
    {"profgate_exporter_pyroscope_limit_zero_samples_total",
     "Samples with every value 0 left out of a profile split by the limits."},
    {"profgate_exporter_pyroscope_limit_dropped_samples_total",
     "Samples dropped: alone they encode to a pprof over max_profile_size."},
    {"profgate_exporter_pyroscope_limit_cut_series_labels_total",
     "Series label names or values cut to max_label_name_length / max_label_value_length."},
    {"profgate_exporter_pyroscope_limit_dropped_series_labels_total",
     "Series labels dropped: once cut, their name repeats another label's."},
    {"profgate_exporter_pyroscope_limit_surplus_series_labels_total",
     "Series labels dropped: past max_label_names_per_series."},
};

typedef struct pyro_exporter {
    pg_exporter_base base; /* first */
    char *url;             /* endpoint + path */
    int protocol;
    pg_cfg_strmap external; /* copies */
    char *tenant_id, *tenant_key;
    char **headers; /* "Name: value" lines */
    size_t n_headers;
    char *auth_paths[3]; /* bearer file, basic user, basic password file */
    char auth_line[1024];
    pg_tls_client_config tls; /* copies of the strings */
    size_t max_response_body;
    pg_http_client *client;
    atomic_uint_fast64_t seq;
    pyro_limits limits;
    pg_counter *limit[LIM_N]; /* LIMIT_COUNTERS */
} pyro_exporter;

static char *dup0(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void destroy(void *self)
{
    pyro_exporter *e = self;
    if (!e) return;
    pg_exporter_base_fini(&e->base);
    pg_http_client_free(e->client);
    for (size_t i = 0; i < e->external.n; i++) {
        free(e->external.keys[i]);
        free(e->external.values[i]);
    }
    free(e->external.keys);
    free(e->external.values);
    for (size_t i = 0; i < e->n_headers; i++)
        free(e->headers[i]);
    free(e->headers);
    for (int i = 0; i < 3; i++)
        free(e->auth_paths[i]);
    free(e->tls.ca_file);
    free(e->tls.cert_file);
    free(e->tls.key_file);
    free(e->tls.server_name_override);
    free(e->tenant_id);
    free(e->tenant_key);
    free(e->url);
    free(e);
}

/* Reads a secret file's first line (trimmed) into out. */
static int read_secret(const char *path, char *out, size_t outlen, const char *what, char *err,
                       size_t errlen)
{
    pg_buf b = {0};
    int rc = pg_buf_read_file(&b, path, 64 << 10, err, errlen);
    if (rc) {
        pg_err_prefix(err, errlen, what);
        return rc;
    }
    size_t n = b.len;
    while (n && isspace(b.data[n - 1]))
        n--;
    if (n == 0 || n >= outlen) {
        pg_buf_free(&b);
        return pg_err(err, errlen, PG_EINVAL, "%s: %s is empty or too long", what, path);
    }
    memcpy(out, b.data, n);
    out[n] = '\0';
    pg_buf_free(&b);
    return 0;
}

static int send_batch(void *ctx, const pg_batch *b, int64_t deadline_ns, char *err, size_t errlen);

/* Copies what it keeps from s and cfg; no I/O. */
static int create(const pg_component_settings *s, const void *vcfg, pg_consumer next, void **self,
                  char *err, size_t errlen)
{
    (void)next;
    const C *c = vcfg;
    *self = NULL;
    pyro_exporter *e = calloc(1, sizeof *e);
    if (!e) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    e->protocol = c->protocol;
    e->max_response_body = c->max_response_body;
    e->limits = c->limits;
    pg_metrics *m = pg_host_metrics(s->host);
    char lab[256] = "";
    pg_metrics_label(lab, sizeof lab, "exporter", s->id);
    for (int i = 0; i < LIM_N; i++)
        e->limit[i] = pg_metrics_counter(m, LIMIT_COUNTERS[i].name, LIMIT_COUNTERS[i].help, lab);
    size_t ul = strlen(c->endpoint) + 40;
    int ok = (e->url = malloc(ul)) != NULL;
    if (ok) {
        size_t el = strlen(c->endpoint);
        while (el && c->endpoint[el - 1] == '/')
            el--;
        snprintf(e->url, ul, "%.*s%s", (int)el, c->endpoint,
                 c->protocol == PROTO_PUSH ? "/push.v1.PusherService/Push" : "/ingest");
    }
    size_t ne = c->external_labels.n;
    ok = ok && (!ne || ((e->external.keys = calloc(ne, sizeof(char *))) &&
                        (e->external.values = calloc(ne, sizeof(char *)))));
    for (size_t i = 0; ok && i < ne; i++) {
        ok = (e->external.keys[i] = strdup(c->external_labels.keys[i])) &&
             (e->external.values[i] = strdup(c->external_labels.values[i]));
        e->external.n = i + 1;
    }
    size_t nh = c->headers.n;
    ok = ok && (!nh || (e->headers = calloc(nh, sizeof(char *))));
    for (size_t i = 0; ok && i < nh; i++) {
        size_t l = strlen(c->headers.keys[i]) + strlen(c->headers.values[i]) + 3;
        ok = (e->headers[i] = malloc(l)) != NULL;
        if (ok) snprintf(e->headers[i], l, "%s: %s", c->headers.keys[i], c->headers.values[i]);
        e->n_headers = i + 1;
    }
    e->tenant_id = dup0(c->tenant_id);
    e->tenant_key = dup0(c->tenant_from_metadata);
    e->auth_paths[0] = dup0(c->auth.bearer_token_file);
    e->auth_paths[1] = dup0(c->auth.basic.username);
    e->auth_paths[2] = dup0(c->auth.basic.password_file);
    e->tls = c->tls;
    e->tls.ca_file = dup0(c->tls.ca_file);
    e->tls.cert_file = dup0(c->tls.cert_file);
    e->tls.key_file = dup0(c->tls.key_file);
    e->tls.server_name_override = dup0(c->tls.server_name_override);
    ok = ok && (!c->tenant_id || e->tenant_id) && (!c->tenant_from_metadata || e->tenant_key);
    if (!ok) {
        destroy(e);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    for (char *p = e->tenant_key; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    int rc = pg_exporter_base_init(&e->base, s, &c->helper, send_batch, e, err, errlen);
    if (rc) {
        destroy(e);
        return rc;
    }
    *self = e;
    return 0;
}

/* Reads the secrets, makes the client, starts the helper. */
static int start(void *self, char *err, size_t errlen)
{
    pyro_exporter *e = self;
    char secret[768];
    int rc = 0;
    if (e->auth_paths[0]) {
        rc = read_secret(e->auth_paths[0], secret, sizeof secret, "auth.bearer_token_file", err,
                         errlen);
        if (rc == 0 && pg_http_client_bearer_auth(secret, e->auth_line, sizeof e->auth_line))
            rc = pg_err(err, errlen, PG_EINVAL, "auth: token too long");
    } else if (e->auth_paths[1]) {
        rc = read_secret(e->auth_paths[2], secret, sizeof secret, "auth.basic.password_file", err,
                         errlen);
        if (rc == 0 &&
            pg_http_client_basic_auth(e->auth_paths[1], secret, e->auth_line, sizeof e->auth_line))
            rc = pg_err(err, errlen, PG_EINVAL, "auth: credentials too long");
    }
    memset(secret, 0, sizeof secret);
    if (rc) return rc;
    pg_http_client_config cc;
    pg_http_client_config_default(&cc);
    cc.tls = &e->tls;
    cc.max_response_body = e->max_response_body;
    cc.pool_size = (size_t)(e->base.helper_cfg.sending_queue.num_consumers > 0
                                ? e->base.helper_cfg.sending_queue.num_consumers
                                : 1);
    if ((rc = pg_http_client_new(&cc, &e->client, err, errlen))) return rc;
    pg_log(PG_LOG_INFO, e->base.settings.id, "sending to %s (%s)", e->url, PROTOCOLS[e->protocol]);
    return pg_exporter_base_start(self, err, errlen);
}

/* Maps an answer to a status: 0 for 2xx; PG_EAGAIN for 408, 429, 5xx (a Retry-After is
 * handed to the helper, which waits the longer of it and its backoff); PG_EINVAL otherwise
 * (dropped), with the body quoted. */
static int answer_status(const pg_http_client_resp *rs, char *err, size_t errlen)
{
    if (rs->status >= 200 && rs->status < 300) return 0;
    int retry = rs->status == 408 || rs->status == 429 || rs->status >= 500;
    if (retry && rs->retry_after > 0)
        pg_exporter_helper_retry_after(rs->retry_after * 1000000000ll);
    return pg_err(err, errlen, retry ? PG_EAGAIN : PG_EINVAL, "HTTP %ld: %.*s", rs->status,
                  (int)(rs->body.len > 300 ? 300 : rs->body.len), (const char *)rs->body.data);
}

/* Posts body with content type ct (and the common headers) to url. */
static int post(pyro_exporter *e, const pg_batch *b, const char *url, const char *ct,
                const pg_buf *body, int64_t deadline_ns, char *err, size_t errlen)
{
    const char **h = calloc(e->n_headers + 4, sizeof *h);
    if (!h) return pg_err(err, errlen, PG_EAGAIN, "out of memory");
    char ctl[160], tenant[1100];
    size_t n = 0;
    snprintf(ctl, sizeof ctl, "Content-Type: %s", ct);
    h[n++] = ctl;
    if (e->protocol == PROTO_PUSH) h[n++] = "Connect-Protocol-Version: 1";
    const char *t = e->tenant_id    ? e->tenant_id
                    : e->tenant_key ? pg_batch_meta_get(b, e->tenant_key)
                                    : NULL;
    if (t) {
        snprintf(tenant, sizeof tenant, "X-Scope-OrgID: %s", t);
        h[n++] = tenant;
    }
    if (e->auth_line[0]) h[n++] = e->auth_line;
    for (size_t i = 0; i < e->n_headers; i++)
        h[n++] = e->headers[i];
    pg_http_client_req rq = {.method = "POST",
                             .url = url,
                             .headers = h,
                             .n_headers = n,
                             .body = body->data,
                             .body_len = body->len,
                             .deadline_ns = deadline_ns};
    pg_http_client_resp rs;
    int rc = pg_http_client_do(e->client, &rq, &rs, err, errlen);
    free(h);
    if (rc) return rc == PG_EINVAL ? rc : PG_EAGAIN; /* unreachable, timed out: retry */
    rc = answer_status(&rs, err, errlen);
    pg_http_client_resp_free(&rs);
    return rc;
}

/* /ingest: one multipart request per series. */
static int send_ingest(pyro_exporter *e, const pg_batch *b, const pyro_series *s, size_t n,
                       int64_t deadline_ns, char *err, size_t errlen)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        pg_buf url = {0}, body = {0};
        size_t skipped = 0;
        char boundary[48], ct[96];
        snprintf(boundary, sizeof boundary, "profgate%016llx%08llx",
                 (unsigned long long)pg_now_unix_ns(),
                 (unsigned long long)atomic_fetch_add(&e->seq, 1));
        snprintf(ct, sizeof ct, "multipart/form-data; boundary=%s", boundary);
        pg_buf_append(&url, e->url, strlen(e->url));
        pg_buf_append(&url, "?", 1);
        rc = pyro_ingest_query(&s[i], &url, &skipped);
        pg_multipart_write_part(&body, boundary, "profile", "profile.pprof",
                                "application/octet-stream", s[i].pprof.data, s[i].pprof.len);
        const char *nm = pyro_series_name(&s[i]);
        if (nm && (strcmp(nm, "mutex") == 0 || strcmp(nm, "block") == 0)) {
            char stc[256];
            snprintf(stc, sizeof stc,
                     "{\"contentions\":{\"display-name\":\"%s_count\",\"units\":\"lock_samples\","
                     "\"cumulative\":false},\"delay\":{\"display-name\":\"%s_duration\",\"units\":"
                     "\"lock_nanoseconds\",\"cumulative\":false}}",
                     nm, nm);
            pg_multipart_write_part(&body, boundary, "sample_type_config",
                                    "sample_type_config.json", NULL, stc, strlen(stc));
        }
        if (pg_multipart_write_end(&body, boundary) || url.failed || rc)
            rc = pg_err(err, errlen, PG_EAGAIN, "out of memory");
        if (rc == 0) rc = post(e, b, (const char *)url.data, ct, &body, deadline_ns, err, errlen);
        pg_buf_free(&url);
        pg_buf_free(&body);
    }
    return rc;
}

/* Adds what the limits changed to the counters and logs the drops with their reason. */
static void note_limits(pyro_exporter *e, const pyro_limit_counts *c)
{
    const uint64_t v[LIM_N] = {c->splits,         c->trimmed_stacks,   c->trimmed_labels,
                               c->zero_samples,   c->oversize_samples, c->cut_labels,
                               c->dropped_labels, c->surplus_labels};
    for (int i = 0; i < LIM_N; i++)
        pg_counter_add(e->limit[i], v[i]);
    const char *id = e->base.settings.id;
    if (c->oversize_samples)
        pg_log(PG_LOG_WARN, id,
               "limits: %llu sample(s) dropped: alone each encodes to a pprof over "
               "max_profile_size (%llu bytes; the largest %zu bytes)",
               (unsigned long long)c->oversize_samples,
               (unsigned long long)e->limits.max_profile_size, c->largest_dropped);
    if (c->dropped_labels)
        pg_log(PG_LOG_WARN, id,
               "limits: %llu series label(s) dropped: cut to max_label_name_length (%lld), "
               "their name repeats another label's",
               (unsigned long long)c->dropped_labels, (long long)e->limits.max_label_name);
    if (c->surplus_labels)
        pg_log(PG_LOG_WARN, id,
               "limits: %llu series label(s) dropped: past max_label_names_per_series (%lld), "
               "the last ones of their series",
               (unsigned long long)c->surplus_labels, (long long)e->limits.max_label_names);
    if (c->zero_samples)
        pg_log(PG_LOG_DEBUG, id,
               "limits: %llu sample(s) with every value 0 left out of a split profile "
               "(Pyroscope drops them at ingest)",
               (unsigned long long)c->zero_samples);
}

/* The series of b (borrowed): under the limits when they are on. */
static int build_series(pyro_exporter *e, const pg_batch *b, pyro_series **out, size_t *n,
                        char *err, size_t errlen)
{
    if (!e->limits.enabled) return pyro_series_build(b, &e->external, out, n, err, errlen);
    pyro_limit_counts cnt = {0};
    int rc = pyro_limits_series(b, &e->limits, &e->external, out, n, &cnt, err, errlen);
    if (rc == 0) note_limits(e, &cnt);
    return rc;
}

/* pg_send_fn: b borrowed. */
static int send_batch(void *ctx, const pg_batch *b, int64_t deadline_ns, char *err, size_t errlen)
{
    pyro_exporter *e = ctx;
    pyro_series *s = NULL;
    size_t n = 0;
    int rc = build_series(e, b, &s, &n, err, errlen);
    if (rc) return rc == PG_ENOMEM ? PG_EAGAIN : rc;
    if (n == 0) {
        pyro_series_free(s, n);
        return 0;
    }
    if (e->protocol == PROTO_PUSH) {
        pg_buf body = {0};
        rc = pyro_push_encode(s, n, &body);
        if (rc)
            rc = pg_err(err, errlen, PG_EAGAIN, "out of memory");
        else
            rc = post(e, b, e->url, "application/proto", &body, deadline_ns, err, errlen);
        pg_buf_free(&body);
    } else
        rc = send_ingest(e, b, s, n, deadline_ns, err, errlen);
    pyro_series_free(s, n);
    return rc;
}

const pg_component_factory pg_pyroscope_exporter_factory = {
    .type = "pyroscope",
    .kind = PG_CFG_EXPORTER,
    .config = {.table = TABLE, .size = sizeof(C), .validate = validate},
    .create = create,
    .start = start,
    .shutdown = pg_exporter_base_shutdown,
    .destroy = destroy,
    .consume = pg_exporter_base_consume,
};
