/* The `otlp` receiver's gRPC server (gRPC C core): ProfilesService/Export registered with
 * the payload read up front, one generic request outstanding that answers UNIMPLEMENTED
 * for any other method, per-message decompression off so that a gzip request is inflated
 * by the project's bounded inflate (the core would inflate before its size check), bearer
 * auth, TLS/mTLS, keepalive, and N threads on one completion queue. */
#define _POSIX_C_SOURCE 200809L
#include "receivers/otlp/otlp_receiver_int.h"

#include "pipeline/core/decompress.h"
#include "pipeline/telemetry/log.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXPORT_METHOD "/opentelemetry.proto.collector.profiles.v1development.ProfilesService/Export"
#define TRACES_METHOD "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#define PENDING_CALLS 16
#define MAX_MD 64 /* metadata entries looked at per call */

struct otlp_grpc {
    grpc_server *server;
    grpc_completion_queue *cq;
    void *method;
    void *traces_method; /* NULL: no traces pipeline names the receiver */
    pthread_t *threads;
    int nthreads;
    atomic_bool stopping;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool shut; /* the server's shutdown tag came back */
    bool done; /* threads joined and server destroyed */
    int shutdown_tag;
};

typedef enum { CALL_EXPORT, CALL_TRACES, CALL_GENERIC } call_kind;

typedef struct call {
    call_kind kind;
    int answered; /* 0: waiting for a call; 1: the answer batch is in flight */
    otlp_receiver *r;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_call_details details; /* generic only */
    grpc_byte_buffer *payload;
    grpc_byte_buffer *response;
    grpc_slice status_details;
    int cancelled;
} call;

static void log_fn(gpr_log_func_args *a)
{
    if (a->severity == GPR_LOG_SEVERITY_ERROR) pg_log(PG_LOG_WARN, "grpc", "%s", a->message);
}

/* Posts a request for the next call of kind; frees c when the server refuses it. */
static void post(otlp_receiver *r, call_kind kind)
{
    call *c = calloc(1, sizeof *c);
    if (!c) return;
    c->kind = kind;
    c->r = r;
    grpc_metadata_array_init(&c->md);
    grpc_call_error e;
    if (kind != CALL_GENERIC)
        e = grpc_server_request_registered_call(
            r->grpc->server, kind == CALL_EXPORT ? r->grpc->method : r->grpc->traces_method,
            &c->call, &c->deadline, &c->md, &c->payload, r->grpc->cq, r->grpc->cq, c);
    else {
        grpc_call_details_init(&c->details);
        e = grpc_server_request_call(r->grpc->server, &c->call, &c->details, &c->md, r->grpc->cq,
                                     r->grpc->cq, c);
    }
    if (e != GRPC_CALL_OK) {
        if (kind == CALL_GENERIC) grpc_call_details_destroy(&c->details);
        grpc_metadata_array_destroy(&c->md);
        free(c);
    }
}

static void call_free(call *c)
{
    if (c->call) grpc_call_unref(c->call);
    if (c->kind == CALL_GENERIC) grpc_call_details_destroy(&c->details);
    grpc_metadata_array_destroy(&c->md);
    if (c->payload) grpc_byte_buffer_destroy(c->payload);
    if (c->response) grpc_byte_buffer_destroy(c->response);
    grpc_slice_unref(c->status_details);
    free(c);
}

/* Sends the answer (response when status is OK) in one batch; c is freed when it completes. */
static void answer(call *c, int grpc_status, const char *message, const pg_buf *resp)
{
    grpc_op ops[4];
    memset(ops, 0, sizeof ops);
    size_t n = 0;
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (grpc_status == GRPC_STATUS_OK && resp) {
        grpc_slice s = grpc_slice_from_copied_buffer(
            (const char *)(resp->data ? resp->data : (const uint8_t *)""), resp->len);
        c->response = grpc_raw_byte_buffer_create(&s, 1);
        grpc_slice_unref(s);
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = c->response;
    }
    c->status_details = grpc_slice_from_copied_string(message ? message : "");
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = (grpc_status_code)grpc_status;
    ops[n++].data.send_status_from_server.status_details =
        grpc_status == GRPC_STATUS_OK ? NULL : &c->status_details;
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n++].data.recv_close_on_server.cancelled = &c->cancelled;
    c->answered = 1;
    if (grpc_call_start_batch(c->call, ops, n, c, NULL) != GRPC_CALL_OK) call_free(c);
}

/* Copies metadata into md (keys and values NUL-terminated in one malloc'd block *store).
 * Returns the count. */
static size_t copy_md(const grpc_metadata_array *a, pg_otlp_md *md, char **store)
{
    size_t total = 0, n = a->count < MAX_MD ? a->count : MAX_MD;
    for (size_t i = 0; i < n; i++)
        total +=
            GRPC_SLICE_LENGTH(a->metadata[i].key) + GRPC_SLICE_LENGTH(a->metadata[i].value) + 2;
    char *p = *store = malloc(total ? total : 1);
    if (!p) return 0;
    for (size_t i = 0; i < n; i++) {
        const grpc_slice *ks = &a->metadata[i].key, *vs = &a->metadata[i].value;
        md[i].key = p;
        memcpy(p, GRPC_SLICE_START_PTR(*ks), GRPC_SLICE_LENGTH(*ks));
        p += GRPC_SLICE_LENGTH(*ks);
        *p++ = '\0';
        md[i].value = p;
        memcpy(p, GRPC_SLICE_START_PTR(*vs), GRPC_SLICE_LENGTH(*vs));
        p += GRPC_SLICE_LENGTH(*vs);
        *p++ = '\0';
    }
    return n;
}

/* Constant-time comparison of a NUL-terminated value with the expected "Bearer <token>". */
static bool bearer_ok(const char *want, const pg_otlp_md *md, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(md[i].key, "authorization") != 0) continue;
        size_t wl = strlen(want), gl = strlen(md[i].value);
        unsigned diff = wl != gl;
        for (size_t k = 0; k < wl; k++)
            diff |= (unsigned)(want[k] ^ (k < gl ? md[i].value[k] : 0));
        return diff == 0;
    }
    return false;
}

/* Reads the payload (still compressed when the sender used gzip) and inflates it with the
 * receiver's cap into out. */
static int read_payload(otlp_receiver *r, grpc_byte_buffer *bb, pg_buf *out, char *err,
                        size_t errlen)
{
    if (!bb) return pg_err(err, errlen, PG_EINVAL, "no request message");
    pg_buf raw = {0};
    grpc_byte_buffer_reader rd;
    grpc_compression_algorithm alg = bb->data.raw.compression;
    if (!grpc_byte_buffer_reader_init(&rd, bb))
        return pg_err(err, errlen, PG_EINTERNAL, "unreadable payload");
    grpc_slice s;
    int rc = 0;
    while (rc == 0 && grpc_byte_buffer_reader_next(&rd, &s)) {
        if (pg_buf_append(&raw, GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s)))
            rc = pg_err(err, errlen, PG_ENOMEM, "out of memory");
        grpc_slice_unref(s);
    }
    grpc_byte_buffer_reader_destroy(&rd);
    if (rc == 0 && alg == GRPC_COMPRESS_NONE) {
        *out = raw;
        return 0;
    }
    if (rc == 0 && alg != GRPC_COMPRESS_GZIP)
        rc = pg_err(err, errlen, PG_EUNSUP, "grpc compression %d not supported (gzip only)",
                    (int)alg);
    if (rc == 0)
        rc = pg_decompress(PG_ENC_GZIP, raw.data, raw.len, r->req.limits.max_decompressed, out, err,
                           errlen);
    pg_buf_free(&raw);
    return rc;
}

/* Handles an Export call (profiles or traces): auth, payload, request logic, answer. */
static void handle_export(call *c)
{
    otlp_handle_fn handle =
        c->kind == CALL_TRACES ? pg_otlp_traces_handle : pg_otlp_profiles_handle;
    otlp_receiver *r = c->r;
    pg_otlp_md md[MAX_MD];
    char *store = NULL, err[512] = "";
    size_t n = copy_md(&c->md, md, &store);
    size_t wire = c->payload ? grpc_byte_buffer_length(c->payload) : 0;
    int64_t t0 = pg_now_mono_ns();
    int rc = 0;
    if (r->bearer && !bearer_ok(r->bearer, md, n))
        rc = pg_err(err, sizeof err, PG_EUNAUTH, "missing or invalid bearer token");
    pg_buf body = {0};
    if (rc == 0 && (rc = read_payload(r, c->payload, &body, err, sizeof err)) == 0) {
        pg_otlp_result res;
        rc = handle(r, body.data, body.len, wire, PG_OTLP_CT_PROTOBUF, md, n, &res);
        pg_buf_free(&body);
        if (rc) pg_log(PG_LOG_DEBUG, r->id, "export refused: %s", res.message);
        answer(c, pg_status_grpc(rc), res.message, &res.response);
        pg_otlp_result_free(&res);
        free(store);
        return;
    }
    pg_buf_free(&body);
    free(store);
    pg_otlp_stats_request(&r->stats, rc, wire, (double)(pg_now_mono_ns() - t0) / 1e9);
    answer(c, pg_status_grpc(rc), err, NULL);
}

/* One completion-queue thread: serves events until the queue shuts down. */
static void *cq_thread(void *arg)
{
    otlp_receiver *r = arg;
    otlp_grpc *g = r->grpc;
    for (;;) {
        grpc_event ev =
            grpc_completion_queue_next(g->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN) break;
        if (ev.type != GRPC_OP_COMPLETE) continue;
        if (ev.tag == &g->shutdown_tag) {
            pthread_mutex_lock(&g->mu);
            g->shut = true;
            pthread_cond_broadcast(&g->cv);
            pthread_mutex_unlock(&g->mu);
            continue;
        }
        call *c = ev.tag;
        if (c->answered || !ev.success) { /* answer sent, or a request ended by shutdown */
            call_free(c);
            continue;
        }
        if (!atomic_load(&g->stopping)) post(r, c->kind);
        if (c->kind == CALL_GENERIC)
            answer(c, GRPC_STATUS_UNIMPLEMENTED, "unknown method; profgate serves " EXPORT_METHOD,
                   NULL);
        else
            handle_export(c);
    }
    return NULL;
}

/* Adds an integer channel arg (names are static strings). */
static void arg_int(grpc_arg *a, size_t *n, char *key, int64_t v)
{
    a[*n].type = GRPC_ARG_INTEGER;
    a[*n].key = key;
    a[*n].value.integer = v > 2147483647 ? 2147483647 : (int)v;
    (*n)++;
}

/* Channel args from the config into a (at least 12 entries); returns how many. */
static size_t server_args(const otlp_receiver *r, grpc_arg *a)
{
    size_t n = 0;
    const otlp_keepalive_server *k = &r->keepalive.server_parameters;
    const otlp_keepalive_policy *p = &r->keepalive.enforcement_policy;
    arg_int(a, &n, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, (int64_t)r->max_recv_bytes);
    arg_int(a, &n, GRPC_ARG_ENABLE_PER_MESSAGE_DECOMPRESSION, 0);
    if (r->max_concurrent_streams)
        arg_int(a, &n, GRPC_ARG_MAX_CONCURRENT_STREAMS, r->max_concurrent_streams);
    if (k->max_connection_idle)
        arg_int(a, &n, GRPC_ARG_MAX_CONNECTION_IDLE_MS, k->max_connection_idle / 1000000);
    if (k->max_connection_age)
        arg_int(a, &n, GRPC_ARG_MAX_CONNECTION_AGE_MS, k->max_connection_age / 1000000);
    if (k->max_connection_age_grace)
        arg_int(a, &n, GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, k->max_connection_age_grace / 1000000);
    if (k->time) arg_int(a, &n, GRPC_ARG_KEEPALIVE_TIME_MS, k->time / 1000000);
    if (k->timeout) arg_int(a, &n, GRPC_ARG_KEEPALIVE_TIMEOUT_MS, k->timeout / 1000000);
    arg_int(a, &n, GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, p->min_time / 1000000);
    arg_int(a, &n, GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, p->permit_without_stream);
    return n;
}

/* Credentials: TLS (mTLS with a client CA) or insecure. Caller releases. */
static grpc_server_credentials *make_creds(const otlp_receiver *r)
{
    if (!r->cert_pem) return grpc_insecure_server_credentials_create();
    grpc_ssl_pem_key_cert_pair pair = {r->key_pem, r->cert_pem};
    return grpc_ssl_server_credentials_create_ex(
        r->client_ca_pem, &pair, 1,
        r->client_ca_pem ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                         : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
        NULL);
}

/* See otlp_receiver_int.h. */
int pg_otlp_grpc_start(otlp_receiver *r, char *err, size_t errlen)
{
    otlp_grpc *g = calloc(1, sizeof *g);
    if (!g) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    r->grpc = g;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    atomic_init(&g->stopping, false);
    gpr_set_log_function(log_fn);
    grpc_init();
    grpc_arg args[12];
    grpc_channel_args ca = {server_args(r, args), args};
    g->server = grpc_server_create(&ca, NULL);
    g->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(g->server, g->cq, NULL);
    g->method = grpc_server_register_method(g->server, EXPORT_METHOD, NULL,
                                            GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
    if (r->traces.consume)
        g->traces_method = grpc_server_register_method(
            g->server, TRACES_METHOD, NULL, GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
    grpc_server_credentials *creds = make_creds(r);
    r->port = creds ? grpc_server_add_http2_port(g->server, r->target, creds) : 0;
    if (creds) grpc_server_credentials_release(creds);
    if (r->port <= 0) { /* never started: nothing was requested on the queue */
        grpc_server_destroy(g->server);
        g->server = NULL;
        grpc_completion_queue_shutdown(g->cq);
        while (grpc_completion_queue_next(g->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
               GRPC_QUEUE_SHUTDOWN)
            ;
        g->done = true;
        return pg_err(err, errlen, PG_EIO, "protocols.grpc: cannot listen on %s%s", r->target,
                      creds ? "" : " (bad TLS material)");
    }
    grpc_server_start(g->server);
    for (int i = 0; i < PENDING_CALLS; i++) {
        post(r, CALL_EXPORT);
        if (g->traces_method) post(r, CALL_TRACES);
    }
    post(r, CALL_GENERIC);
    g->threads = calloc((size_t)r->threads, sizeof *g->threads);
    for (int i = 0; g->threads && i < r->threads; i++)
        if (pthread_create(&g->threads[i], NULL, cq_thread, r) == 0) g->nthreads++;
    if (g->nthreads == 0)
        return pg_err(err, errlen, PG_ENOMEM, "protocols.grpc: no completion-queue thread");
    return 0;
}

/* Waits on the shutdown tag until deadline (monotonic ns); true when it came. */
static bool wait_shut(otlp_grpc *g, int64_t deadline_ns)
{
    pthread_mutex_lock(&g->mu);
    while (!g->shut) {
        int64_t left = deadline_ns - pg_now_mono_ns();
        if (left <= 0) break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t step = left < 50000000 ? left : 50000000;
        ts.tv_nsec += step;
        ts.tv_sec += ts.tv_nsec / 1000000000;
        ts.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
    }
    bool shut = g->shut;
    pthread_mutex_unlock(&g->mu);
    return shut;
}

/* See otlp_receiver_int.h: calls in flight get until 3/4 of the time left, then are
 * cancelled (clients see UNAVAILABLE / CANCELLED and retry). */
void pg_otlp_grpc_shutdown(otlp_receiver *r, int64_t deadline_ns)
{
    otlp_grpc *g = r->grpc;
    if (!g || g->done) return;
    atomic_store(&g->stopping, true);
    grpc_server_shutdown_and_notify(g->server, g->cq, &g->shutdown_tag);
    int64_t now = pg_now_mono_ns();
    if (!wait_shut(g, now + (deadline_ns - now) * 3 / 4)) {
        grpc_server_cancel_all_calls(g->server);
        if (!wait_shut(g, pg_now_mono_ns() + 2000000000LL))
            pg_log(PG_LOG_WARN, r->id, "gRPC server did not stop in time");
    }
    grpc_server_destroy(g->server);
    g->server = NULL;
    grpc_completion_queue_shutdown(g->cq);
    for (int i = 0; i < g->nthreads; i++)
        pthread_join(g->threads[i], NULL);
    g->done = true;
}

/* See otlp_receiver_int.h. */
void pg_otlp_grpc_destroy(otlp_receiver *r)
{
    otlp_grpc *g = r->grpc;
    if (!g) return;
    if (!g->done) pg_otlp_grpc_shutdown(r, pg_now_mono_ns() + 5000000000LL);
    if (g->cq) grpc_completion_queue_destroy(g->cq);
    free(g->threads);
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
    r->grpc = NULL;
    grpc_shutdown();
}
