/* The otlp / otlphttp exporters' prepared request (see otlp_client.h): what a send needs
 * of a batch, built once when the batch is queued so that the queue holds request bytes
 * rather than decoded trees, and a retry does not encode again. */
#include "pipeline/exporterhelper/otlp_client_int.h"

#include "pipeline/core/err.h"

#include <stdlib.h>
#include <string.h>

/* Copies the values of hs[0..n) into one block after the header array of r. Returns false
 * on OOM. */
static bool copy_headers(pg_otlp_request *r, const pg_otlp_header *hs, size_t n)
{
    size_t text = 0;
    for (size_t i = 0; i < n; i++)
        text += strlen(hs[i].value) + 1;
    r->headers = malloc(n * sizeof *r->headers + text + 1);
    if (!r->headers) return false;
    char *p = (char *)(r->headers + n);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(hs[i].value) + 1;
        memcpy(p, hs[i].value, len);
        r->headers[i] = (pg_otlp_header){hs[i].key, p};
        p += len;
    }
    r->n_headers = n;
    return true;
}

/* See otlp_client.h. Header keys stay borrowed from c (its config copies), values are
 * copied (they live in b's arena). */
int pg_otlp_client_request(pg_otlp_client *c, const pg_batch *b, bool json, bool compress,
                           pg_otlp_request **out, char *err, size_t errlen)
{
    *out = NULL;
    pg_otlp_request *r = calloc(1, sizeof *r);
    if (!r) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    int rc = pg_otlp_client_body(c, b, json, compress, &r->body, err, errlen);
    size_t max = pg_otlp_client_max_headers(c);
    pg_otlp_header hs[max ? max : 1];
    size_t n = pg_otlp_client_headers(c, b, hs, max);
    if (rc == 0 && !copy_headers(r, hs, n)) rc = pg_err(err, errlen, PG_ENOMEM, "out of memory");
    if (rc) {
        pg_otlp_request_free(r);
        return rc;
    }
    r->profiles = pg_batch_profile_count(b);
    *out = r;
    return 0;
}

/* Frees the body, the headers and r. NULL is a no-op. */
void pg_otlp_request_free(pg_otlp_request *r)
{
    if (!r) return;
    pg_buf_free(&r->body);
    free(r->headers);
    free(r);
}

/* See otlp_client.h. */
int pg_otlp_request_prepare(pg_otlp_client *c, const pg_batch *b, bool json, bool compress,
                            void **req, uint64_t *bytes, char *err, size_t errlen)
{
    pg_otlp_request *r;
    int rc = pg_otlp_client_request(c, b, json, compress, &r, err, errlen);
    if (rc) return rc == PG_ENOMEM ? PG_EAGAIN : rc;
    *req = r;
    *bytes = r->body.len;
    return 0;
}

void pg_otlp_request_free_req(void *req)
{
    pg_otlp_request_free(req);
}

/* See otlp_client.h. */
int pg_otlp_request_send_batch(pg_otlp_client *c, const pg_batch *b, bool json, bool compress,
                               int (*send)(void *, void *, int64_t, char *, size_t), void *ctx,
                               int64_t deadline_ns, char *err, size_t errlen)
{
    void *r;
    uint64_t bytes;
    int rc = pg_otlp_request_prepare(c, b, json, compress, &r, &bytes, err, errlen);
    if (rc) return rc;
    rc = send(ctx, r, deadline_ns, err, errlen);
    pg_otlp_request_free(r);
    return rc;
}
