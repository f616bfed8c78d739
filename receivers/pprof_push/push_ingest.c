/* POST /ingest (and /pyroscope/ingest): Pyroscope's ingest API for pprof, raw (gzip or
 * not) or the multipart/form-data body SDKs send; POST /v1/pprof: a raw pprof as the
 * Collector contrib pprof receiver takes it. */
#include "receivers/pprof_push/pprof_push_int.h"

#include "pipeline/core/err.h"
#include "pipeline/net/multipart.h"
#include "pipeline/translate/format.h"

#include <stdlib.h>
#include <string.h>

#define ACCEPTED                                                                                   \
    "accepted: format=pprof with a pprof body (gzip or not), or a multipart/form-data body "       \
    "with a `profile` part (optional `prev_profile`, `sample_type_config`)"

/* Decides how to read the body: 1 multipart (boundary filled), 0 raw pprof, or a status
 * (PG_EUNSUP naming the accepted formats, PG_EINVAL for a bad multipart type). */
static int body_kind(const pg_http_request *req, const push_query *q, char *boundary, size_t bl,
                     char *err, size_t errlen)
{
    const char *ct = pg_http_header(req, "content-type");
    int rc = pg_multipart_boundary(ct, boundary, bl, err, errlen);
    if (rc != PG_EUNSUP) { /* multipart (or a broken multipart type) */
        if (rc) return rc;
        if (q->format[0] && strcmp(q->format, "pprof") != 0)
            return pg_err(err, errlen, PG_EUNSUP, "format=%.32s is not accepted; " ACCEPTED,
                          q->format);
        return 1;
    }
    if (strcmp(q->format, "pprof") == 0) return 0;
    if (q->format[0])
        return pg_err(err, errlen, PG_EUNSUP, "format=%.32s is not accepted; " ACCEPTED, q->format);
    if (ct && (strstr(ct, "+trie") || strstr(ct, "+tree")))
        return pg_err(err, errlen, PG_EUNSUP, "content type %.64s is not accepted; " ACCEPTED, ct);
    /* no format: Pyroscope reads folded text; take the body when it is a pprof */
    pg_format_guess g;
    pg_format_sniff_input(req->body, req->body_len, &g);
    if (g.format == PG_FORMAT_PPROF) return 0;
    return pg_err(
        err, errlen, PG_EUNSUP,
        "no format given and the body is not a pprof (folded text is not accepted); " ACCEPTED);
}

/* Reads the multipart body into b. Borrows everything. */
static int ingest_multipart(push_receiver *r, const pg_http_request *req, const char *boundary,
                            const push_query *q, push_labels *ls, pg_batch *b, char *err,
                            size_t errlen)
{
    pg_multipart_part *parts = calloc(r->max_parts, sizeof *parts);
    if (!parts) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    size_t n = 0;
    int rc = pg_multipart_parse(req->body, req->body_len, boundary, parts, r->max_parts, &n, err,
                                errlen);
    const pg_multipart_part *prof = rc ? NULL : pg_multipart_find(parts, n, "profile");
    const pg_multipart_part *prev = rc ? NULL : pg_multipart_find(parts, n, "prev_profile");
    const pg_multipart_part *stc = rc ? NULL : pg_multipart_find(parts, n, "sample_type_config");
    if (rc == 0 && !prof)
        rc = pg_err(err, errlen, PG_EINVAL, "multipart body without a `profile` part; " ACCEPTED);
    if (rc == 0 && prev && prev->len && r->prev_mode == PUSH_PREV_REJECT)
        rc = pg_err(err, errlen, PG_EINVAL,
                    "prev_profile is not accepted here (prev_profile: reject, as in Pyroscope: "
                    "send delta profiles, e.g. with godeltaprof)");
    push_stc st = {0};
    if (rc == 0 && stc) rc = push_sample_type_config(stc->data, stc->len, &st, err, errlen);
    if (rc == 0 && st.profile_name && !ls->profile_name) {
        ls->profile_name = st.profile_name;
        st.profile_name = NULL;
    }
    if (rc == 0)
        rc = push_add_pprof(r, b, prof->data, prof->len, ls, q->spy_name, q->from_ns, q->until_ns,
                            stc ? st.types : NULL, st.n, err, errlen);
    if (rc == 0 && prev && prev->len)
        rc = push_prev_delta(r, b, prev->data, prev->len, stc ? &st : NULL, err, errlen);
    push_stc_free(&st);
    free(parts);
    return rc;
}

/* Parses, decodes and hands on one /ingest request; the status (message in err). */
static int ingest(push_receiver *r, const pg_http_request *req, char *err, size_t errlen)
{
    push_query q;
    push_labels ls = {0};
    int rc = push_query_parse(req->query, pg_now_unix_ns(), &q, err, errlen);
    if (rc) return rc;
    push_label_limits lim = {r->max_labels, r->max_name, r->max_value};
    char boundary[PG_MULTIPART_MAX_BOUNDARY + 1];
    int kind = body_kind(req, &q, boundary, sizeof boundary, err, errlen);
    rc = kind < 0 ? kind : push_name_parse(q.name, &lim, &ls, err, errlen);
    pg_batch *b = NULL;
    if (rc == 0 && !(b = pg_batch_new(r->limits.max_arena)))
        rc = pg_err(err, errlen, PG_ENOMEM, "out of memory");
    if (rc == 0)
        rc = kind == 1 ? ingest_multipart(r, req, boundary, &q, &ls, b, err, errlen)
                       : push_add_pprof(r, b, req->body, req->body_len, &ls, q.spy_name, q.from_ns,
                                        q.until_ns, NULL, 0, err, errlen);
    push_labels_free(&ls);
    push_query_free(&q);
    if (rc) {
        pg_batch_free(b);
        return rc;
    }
    return push_hand_on(r, req, b, err, errlen);
}

/* Sends the answer: ok_status with an empty body, or the error. */
static void answer(pg_http_reply *reply, int rc, int ok_status, const char *msg)
{
    if (rc)
        pg_http_reply_error(reply, rc, msg);
    else
        pg_http_reply_set(reply, ok_status, NULL, NULL, 0);
    pg_http_reply_send(reply);
}

/* Route handler for /ingest and /pyroscope/ingest (worker thread). ctx: the receiver. */
void push_on_ingest(void *ctx, const pg_http_request *req, pg_http_reply *reply)
{
    push_receiver *r = ctx;
    int64_t t0 = pg_now_mono_ns();
    char err[512] = "";
    int rc = ingest(r, req, err, sizeof err);
    push_count(r, req, rc, t0);
    answer(reply, rc, 200, err);
}

/* Route handler for /v1/pprof (worker thread): a raw pprof, no labels; 204 on success. */
void push_on_raw(void *ctx, const pg_http_request *req, pg_http_reply *reply)
{
    push_receiver *r = ctx;
    int64_t t0 = pg_now_mono_ns();
    char err[512] = "";
    push_labels ls = {0};
    pg_batch *b = pg_batch_new(r->limits.max_arena);
    int rc = b ? push_add_pprof(r, b, req->body, req->body_len, &ls, NULL, 0, 0, NULL, 0, err,
                                sizeof err)
               : pg_err(err, sizeof err, PG_ENOMEM, "out of memory");
    if (rc == 0)
        rc = push_hand_on(r, req, b, err, sizeof err);
    else
        pg_batch_free(b);
    push_count(r, req, rc, t0);
    answer(reply, rc, 204, err);
}
