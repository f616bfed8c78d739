/* The `otlp` exporter's gRPC side (gRPC C core): one channel per exporter (TLS or
 * insecure, keepalive, pick_first or round_robin over the resolved addresses, gzip
 * bodies compressed by the caller and marked so for the core), one unary ProfilesService/Export
 * call per send on its own pluck completion queue, and the answer's status, message, response and
 * RetryInfo. */
#include "exporters/otlp/otlp_exporter_int.h"

#include "pipeline/core/err.h"
#include "pipeline/telemetry/log.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT_METHOD "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"
#define NO_DELAY ((int64_t)-1) /* no RetryInfo */
#define RETRY_INFO_TYPE "type.googleapis.com/google.rpc.RetryInfo"

struct otlp_channel {
    grpc_channel *ch;
    char *target;
    bool tls;
    bool gzip; /* bodies come gzip-compressed (compression: gzip) */
};

/* Reads a PEM file into a NUL-terminated malloc'd string (NULL path: NULL, 0). */
static int read_pem(const char *path, const char *key, char **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!path) return 0;
    pg_buf b = {0};
    int rc = pg_buf_read_file(&b, path, 1 << 20, err, errlen);
    if (rc == 0 && pg_buf_append(&b, "", 1)) rc = PG_ENOMEM;
    if (rc) {
        pg_buf_free(&b);
        return pg_err(err, errlen, PG_EINVAL, "tls.%s: cannot read %s", key, path);
    }
    *out = (char *)b.data;
    return 0;
}

/* TLS credentials from cfg->otlp.tls (files read now). NULL with err on failure. */
static grpc_channel_credentials *tls_creds(const pg_tls_client_config *t, char *err, size_t errlen)
{
    char *ca = NULL, *cert = NULL, *key = NULL;
    grpc_channel_credentials *cr = NULL;
    if (read_pem(t->ca_file, "ca_file", &ca, err, errlen) ||
        read_pem(t->cert_file, "cert_file", &cert, err, errlen) ||
        read_pem(t->key_file, "key_file", &key, err, errlen))
        goto out;
    if (t->insecure_skip_verify) {
        grpc_tls_credentials_options *o = grpc_tls_credentials_options_create();
        grpc_tls_identity_pairs *pairs = NULL;
        if (cert) {
            pairs = grpc_tls_identity_pairs_create();
            grpc_tls_identity_pairs_add_pair(pairs, key, cert);
        }
        grpc_tls_certificate_provider *prov =
            grpc_tls_certificate_provider_static_data_create(ca, pairs);
        grpc_tls_credentials_options_set_certificate_provider(o, prov);
        grpc_tls_certificate_provider_release(prov);
        if (ca) grpc_tls_credentials_options_watch_root_certs(o);
        if (cert) grpc_tls_credentials_options_watch_identity_key_cert_pairs(o);
        grpc_tls_credentials_options_set_verify_server_cert(o, 0);
        grpc_tls_certificate_verifier *v = grpc_tls_certificate_verifier_no_op_create();
        grpc_tls_credentials_options_set_certificate_verifier(o, v);
        grpc_tls_certificate_verifier_release(v);
        grpc_tls_credentials_options_set_check_call_host(o, 0);
        cr = grpc_tls_credentials_create(o);
    } else {
        grpc_ssl_pem_key_cert_pair pair = {key, cert};
        cr = grpc_ssl_credentials_create(ca, cert ? &pair : NULL, NULL, NULL);
    }
    if (!cr) pg_err(err, errlen, PG_EINVAL, "tls: the gRPC core refused the TLS settings");
out:
    free(ca);
    free(cert);
    free(key);
    return cr;
}

static void arg_int(grpc_arg *a, size_t *n, char *key, int64_t v)
{
    a[*n].type = GRPC_ARG_INTEGER;
    a[*n].key = key;
    a[*n].value.integer = v > 2147483647 ? 2147483647 : (int)v;
    (*n)++;
}

static void arg_str(grpc_arg *a, size_t *n, char *key, char *v)
{
    a[*n].type = GRPC_ARG_STRING;
    a[*n].key = key;
    a[*n].value.string = v;
    (*n)++;
}

/* See otlp_exporter_int.h. */
int pg_otlp_channel_new(const otlp_exporter_config *cfg, const char *id, otlp_channel **out,
                        char *err, size_t errlen)
{
    *out = NULL;
    const char *ep = cfg->endpoint;
    bool tls = !cfg->otlp.tls.insecure;
    if (strncmp(ep, "https://", 8) == 0) {
        ep += 8;
        tls = true;
    } else if (strncmp(ep, "http://", 7) == 0) {
        ep += 7;
        tls = false;
    }
    if (!*ep) return pg_err(err, errlen, PG_EINVAL, "endpoint: empty");
    otlp_channel *c = calloc(1, sizeof *c);
    if (!c || !(c->target = strdup(ep))) {
        free(c);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    size_t n = strlen(c->target);
    if (n && c->target[n - 1] == '/') c->target[n - 1] = 0;
    c->tls = tls;
    c->gzip = cfg->otlp.compression == PG_OTLP_COMPRESSION_GZIP;
    grpc_channel_credentials *cr =
        tls ? tls_creds(&cfg->otlp.tls, err, errlen) : grpc_insecure_credentials_create();
    if (!cr) {
        free(c->target);
        free(c);
        return PG_EINVAL;
    }
    grpc_arg a[12];
    size_t na = 0;
    const otlp_exporter_keepalive *k = &cfg->keepalive;
    if (k->time > 0) {
        arg_int(a, &na, GRPC_ARG_KEEPALIVE_TIME_MS, k->time / 1000000);
        arg_int(a, &na, GRPC_ARG_KEEPALIVE_TIMEOUT_MS, k->timeout / 1000000);
        arg_int(a, &na, GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, k->permit_without_stream);
    }
    arg_str(a, &na, GRPC_ARG_LB_POLICY_NAME,
            cfg->balancer == PG_OTLP_LB_ROUND_ROBIN ? "round_robin" : "pick_first");
    arg_int(a, &na, GRPC_COMPRESSION_CHANNEL_DEFAULT_ALGORITHM,
            cfg->otlp.compression == PG_OTLP_COMPRESSION_GZIP ? GRPC_COMPRESS_GZIP
                                                              : GRPC_COMPRESS_NONE);
    arg_int(a, &na, GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, -1);
    arg_int(a, &na, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, (int64_t)cfg->max_response_size);
    arg_str(a, &na, GRPC_ARG_PRIMARY_USER_AGENT_STRING, "profgate-otlp");
    if (tls && cfg->otlp.tls.server_name_override)
        arg_str(a, &na, GRPC_SSL_TARGET_NAME_OVERRIDE_ARG, cfg->otlp.tls.server_name_override);
    grpc_channel_args args = {na, a};
    c->ch = grpc_channel_create(c->target, cr, &args);
    grpc_channel_credentials_release(cr);
    if (!c->ch) {
        free(c->target);
        free(c);
        return pg_err(err, errlen, PG_EINVAL, "endpoint: gRPC cannot make a channel to %s", ep);
    }
    pg_log(PG_LOG_INFO, id, "sending OTLP/gRPC to %s (%s, %s)", c->target, tls ? "TLS" : "insecure",
           cfg->balancer == PG_OTLP_LB_ROUND_ROBIN ? "round_robin" : "pick_first");
    *out = c;
    return 0;
}

void pg_otlp_channel_free(otlp_channel *ch)
{
    if (!ch) return;
    if (ch->ch) grpc_channel_destroy(ch->ch);
    free(ch->target);
    free(ch);
}

/* Reads a varint at *p (< end); false when malformed. */
static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return true;
    }
    return false;
}

/* Calls fn(ctx, field, data, len) for each length-delimited field of p[0..n) and
 * fn(ctx, field, NULL, value) for each varint; false when malformed. */
static bool fields(const uint8_t *p, size_t n,
                   void (*fn)(void *ctx, uint64_t f, const uint8_t *d, uint64_t len), void *ctx)
{
    const uint8_t *end = p + n;
    while (p < end) {
        uint64_t key, v;
        if (!varint(&p, end, &key)) return false;
        int wt = (int)(key & 7);
        if (wt == 0) {
            if (!varint(&p, end, &v)) return false;
            fn(ctx, key >> 3, NULL, v);
        } else if (wt == 2) {
            if (!varint(&p, end, &v) || v > (uint64_t)(end - p)) return false;
            fn(ctx, key >> 3, p, v);
            p += v;
        } else if (wt == 1 || wt == 5) {
            size_t skip = wt == 1 ? 8 : 4;
            if ((size_t)(end - p) < skip) return false;
            p += skip;
        } else {
            return false;
        }
    }
    return true;
}

typedef struct scan {
    const uint8_t *type_url, *value, *duration;
    uint64_t type_len, value_len, dur_len;
    int64_t seconds, nanos, delay;
} scan;

static void on_duration(void *ctx, uint64_t f, const uint8_t *d, uint64_t v)
{
    scan *s = ctx;
    if (!d && f == 1) s->seconds = (int64_t)v;
    if (!d && f == 2) s->nanos = (int64_t)v;
}

static void on_retry_info(void *ctx, uint64_t f, const uint8_t *d, uint64_t len)
{
    scan *s = ctx;
    if (d && f == 1) {
        s->duration = d;
        s->dur_len = len;
    }
}

static void on_any(void *ctx, uint64_t f, const uint8_t *d, uint64_t len)
{
    scan *s = ctx;
    if (d && f == 1) {
        s->type_url = d;
        s->type_len = len;
    } else if (d && f == 2) {
        s->value = d;
        s->value_len = len;
    }
}

static void on_status(void *ctx, uint64_t f, const uint8_t *d, uint64_t len)
{
    scan *s = ctx;
    if (!d || f != 3 || s->delay >= 0) return;
    scan any = {0};
    if (!fields(d, len, on_any, &any) || !any.type_url ||
        any.type_len != sizeof RETRY_INFO_TYPE - 1 ||
        memcmp(any.type_url, RETRY_INFO_TYPE, any.type_len) != 0)
        return;
    scan ri = {0};
    if (any.value) fields(any.value, any.value_len, on_retry_info, &ri);
    if (ri.duration) fields(ri.duration, ri.dur_len, on_duration, &ri);
    if (ri.seconds < 0 || ri.seconds > 86400) ri.seconds = 86400;
    s->delay = ri.seconds * 1000000000LL + (ri.nanos > 0 ? ri.nanos : 0);
}

/* See otlp_exporter_int.h. */
int64_t pg_otlp_retry_info_delay(const uint8_t *p, size_t n)
{
    scan s = {.delay = NO_DELAY};
    if (!fields(p, n, on_status, &s)) return NO_DELAY;
    return s.delay;
}

/* Copies a byte buffer's bytes into store. */
static int read_bb(grpc_byte_buffer *bb, pg_buf *store)
{
    grpc_byte_buffer_reader rd;
    if (!grpc_byte_buffer_reader_init(&rd, bb)) return PG_EINTERNAL;
    grpc_slice s;
    int rc = 0;
    while (grpc_byte_buffer_reader_next(&rd, &s)) {
        if (rc == 0 && pg_buf_append(store, GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s)))
            rc = PG_ENOMEM;
        grpc_slice_unref(s);
    }
    grpc_byte_buffer_reader_destroy(&rd);
    return rc;
}

/* Lower-cases src into dst (gRPC metadata keys are lower case). */
static void lower(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < cap; i++)
        dst[i] = (char)(src[i] >= 'A' && src[i] <= 'Z' ? src[i] + 32 : src[i]);
    dst[i] = 0;
}

/* See otlp_exporter_int.h. */
int pg_otlp_channel_export(otlp_channel *ch, const pg_buf *body, const pg_otlp_header *md, size_t n,
                           int64_t deadline_ns, pg_otlp_answer *a, pg_buf *store, char *err,
                           size_t errlen)
{
    memset(a, 0, sizeof *a);
    a->grpc = true;
    a->retry_after_ns = -1;
    gpr_timespec dl = gpr_inf_future(GPR_CLOCK_MONOTONIC);
    if (deadline_ns != INT64_MAX) {
        int64_t left = deadline_ns - pg_now_mono_ns();
        if (left < 1000000) left = 1000000;
        dl = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_nanos(left, GPR_TIMESPAN));
    }
    grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_slice method = grpc_slice_from_static_string(EXPORT_METHOD);
    grpc_call *call =
        grpc_channel_create_call(ch->ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method, NULL, dl, NULL);
    grpc_metadata meta[n ? n : 1];
    char keys[n ? n : 1][128];
    size_t nm = 0;
    for (size_t i = 0; i < n; i++) {
        lower(keys[nm], sizeof keys[nm], md[i].key);
        meta[nm].key = grpc_slice_from_static_string(keys[nm]);
        meta[nm].value = grpc_slice_from_static_string(md[i].value);
        memset(&meta[nm].internal_data, 0, sizeof meta[nm].internal_data);
        if (grpc_header_key_is_legal(meta[nm].key) &&
            (grpc_is_binary_header(meta[nm].key) ||
             grpc_header_nonbin_value_is_legal(meta[nm].value)))
            nm++;
    }
    grpc_slice payload =
        grpc_slice_from_static_buffer(body->data ? body->data : (uint8_t *)"", body->len);
    /* a gzip body is marked compressed: the core sends it as is (grpc-encoding: gzip from the
     * channel's default) instead of compressing it again with zlib */
    grpc_byte_buffer *send =
        ch->gzip ? grpc_raw_compressed_byte_buffer_create(&payload, 1, GRPC_COMPRESS_GZIP)
                 : grpc_raw_byte_buffer_create(&payload, 1);
    grpc_byte_buffer *recv = NULL;
    grpc_metadata_array init_md, trail_md;
    grpc_metadata_array_init(&init_md);
    grpc_metadata_array_init(&trail_md);
    grpc_status_code status = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = nm;
    ops[0].data.send_initial_metadata.metadata = meta;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &init_md;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &trail_md;
    ops[5].data.recv_status_on_client.status = &status;
    ops[5].data.recv_status_on_client.status_details = &details;
    int rc = 0, tag = 0;
    if (!call || grpc_call_start_batch(call, ops, 6, &tag, NULL) != GRPC_CALL_OK) {
        rc = pg_err(err, errlen, PG_EINTERNAL, "gRPC: cannot start the call");
    } else {
        grpc_completion_queue_pluck(cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        /* the store holds: details text, then the response message */
        size_t dlen = GRPC_SLICE_LENGTH(details);
        if (pg_buf_append(store, GRPC_SLICE_START_PTR(details), dlen) ||
            (recv && read_bb(recv, store)))
            rc = pg_err(err, errlen, PG_ENOMEM, "out of memory");
        a->answered = true;
        a->code = (int)status;
        a->message = (const char *)store->data;
        a->message_len = dlen;
        a->response = store->data ? store->data + dlen : NULL;
        a->response_len = store->len - dlen;
        for (size_t i = 0; i < trail_md.count; i++) {
            grpc_slice k = trail_md.metadata[i].key, v = trail_md.metadata[i].value;
            if (grpc_slice_str_cmp(k, "grpc-status-details-bin") == 0)
                a->retry_after_ns =
                    pg_otlp_retry_info_delay(GRPC_SLICE_START_PTR(v), GRPC_SLICE_LENGTH(v));
        }
        if (status == GRPC_STATUS_UNAVAILABLE || status == GRPC_STATUS_DEADLINE_EXCEEDED) {
            /* no answer from a server: say so, the core's text may be terse */
            if (dlen == 0) {
                a->message = ch->target;
                a->message_len = strlen(ch->target);
            }
        }
    }
    if (call) grpc_call_unref(call);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
    grpc_byte_buffer_destroy(send);
    if (recv) grpc_byte_buffer_destroy(recv);
    grpc_slice_unref(details);
    grpc_metadata_array_destroy(&init_md);
    grpc_metadata_array_destroy(&trail_md);
    return rc;
}
