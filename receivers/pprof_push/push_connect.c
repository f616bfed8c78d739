/* `push.v1.PusherService/Push` over Connect (application/proto and application/json,
 * HTTP/1.1 and h2) and over gRPC (h2; the stack unframes it, pipeline/net/grpc.h): each
 * series' labels become the resource attributes of each of its raw pprofs. */
#include "receivers/pprof_push/pprof_push_int.h"

#include "pipeline/core/err.h"
#include "pipeline/net/connect.h"
#include "pipeline/net/grpc.h"
#include "pipeline/translate/otlp_json.h"
#include "pyroscope/push/v1/push.pb-c.h"

#include <stdio.h>
#include <string.h>

/* Decodes the request's series into b. Borrows req and m. */
static int push_series(push_receiver *r, const Push__V1__PushRequest *m, pg_batch *b, char *err,
                       size_t errlen)
{
    push_label_limits lim = {r->max_labels, r->max_name, r->max_value};
    int rc = 0;
    for (size_t s = 0; s < m->n_series && rc == 0; s++) {
        const Push__V1__RawProfileSeries *ser = m->series[s];
        push_labels ls = {0};
        const char *spy = NULL;
        for (size_t i = 0; i < ser->n_labels && rc == 0; i++) {
            const Types__V1__LabelPair *lp = ser->labels[i];
            const char *nm = lp->name ? lp->name : "", *v = lp->value ? lp->value : "";
            if (strcmp(nm, PUSH_ATTR_SPY) == 0)
                spy = v;
            else
                rc = push_labels_add(&ls, nm, strlen(nm), v, strlen(v), &lim, err, errlen);
        }
        for (size_t k = 0; k < ser->n_samples && rc == 0; k++) {
            const Push__V1__RawSample *smp = ser->samples[k];
            rc = push_add_pprof(r, b, smp->raw_profile.data, smp->raw_profile.len, &ls, spy, 0, 0,
                                NULL, 0, err, errlen);
            if (rc) {
                char where[64];
                snprintf(where, sizeof where, "series %zu sample %zu", s, k);
                pg_err_prefix(err, errlen, where);
            }
        }
        push_labels_free(&ls);
    }
    return rc;
}

/* Decodes the request (proto or JSON) and hands the batch on; the status. */
static int push(push_receiver *r, const pg_http_request *req, pg_connect_codec codec, char *err,
                size_t errlen)
{
    pg_batch *b = pg_batch_new(r->limits.max_arena);
    pg_arena *tmp = codec == PG_CONNECT_JSON ? pg_arena_new(r->limits.max_arena) : NULL;
    if (!b || (codec == PG_CONNECT_JSON && !tmp)) {
        pg_batch_free(b);
        pg_arena_free(tmp);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    Push__V1__PushRequest *m = NULL;
    int rc = 0;
    if (codec == PG_CONNECT_JSON) {
        ProtobufCMessage *pm = NULL;
        rc = pg_otlp_json_decode(&push__v1__push_request__descriptor, req->body, req->body_len, tmp,
                                 8, &pm, err, errlen);
        m = (Push__V1__PushRequest *)pm;
    } else if (!(m = push__v1__push_request__unpack(NULL, req->body_len, req->body)))
        rc = pg_err(err, errlen, PG_EINVAL, "not a push.v1.PushRequest (protobuf)");
    if (rc == 0 && m->n_series == 0) rc = pg_err(err, errlen, PG_EINVAL, "no series");
    if (rc == 0) rc = push_series(r, m, b, err, errlen);
    if (codec == PG_CONNECT_PROTO && m) push__v1__push_request__free_unpacked(m, NULL);
    pg_arena_free(tmp);
    if (rc) {
        pg_batch_free(b);
        return rc;
    }
    return push_hand_on(r, req, b, err, errlen);
}

/* Route handler for /push.v1.PusherService/Push, Connect or gRPC (worker thread). ctx: the
 * receiver. */
void push_on_connect(void *ctx, const pg_http_request *req, pg_http_reply *reply)
{
    push_receiver *r = ctx;
    int64_t t0 = pg_now_mono_ns();
    char err[512] = "";
    pg_connect_codec codec = PG_CONNECT_PROTO;
    int rc = req->grpc ? 0 : pg_connect_request(req, &codec, err, sizeof err);
    if (rc == 0) rc = push(r, req, codec, err, sizeof err);
    push_count(r, req, rc, t0);
    if (req->grpc && rc)
        pg_grpc_reply_error(reply, rc, err);
    else if (req->grpc)
        pg_grpc_reply(reply, NULL, 0); /* an empty PushResponse */
    else if (rc == PG_EUNSUP)          /* not a Connect unary request: plain 415 */
        pg_http_reply_error(reply, rc, err);
    else if (rc)
        pg_connect_reply_error(reply, rc, err);
    else if (codec == PG_CONNECT_JSON)
        pg_http_reply_set(reply, 200, PG_CONNECT_CT_JSON, "{}", 2);
    else
        pg_http_reply_set(reply, 200, PG_CONNECT_CT_PROTO, NULL, 0);
    pg_http_reply_send(reply);
}
