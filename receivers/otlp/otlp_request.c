/* The `otlp` receiver's request logic (see otlp_request.h): version header, decode and the
 * checks the decoder leaves to receivers, metadata, ack, the pipeline call and the answer. */
#include "receivers/otlp/otlp_request.h"

#include "pipeline/core/samples.h"
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/otlp_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define RESP_PB                                                                                    \
    Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceResponse
#define PS_PB Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesPartialSuccess

/* Registers the series (pg_rx_stats_init). */
void pg_otlp_stats_init(pg_otlp_stats *st, pg_metrics *m, const char *id)
{
    pg_rx_stats_init(st, m, id);
}

/* Counts one answered request (pg_rx_stats_request); st may be NULL. */
void pg_otlp_stats_request(pg_otlp_stats *st, int status, size_t bytes, double seconds)
{
    pg_rx_stats_request(st, status, bytes, seconds);
}

/* Parses a positive decimal integer without sign, spaces or overflow; 0 on success. */
static int parse_version(const char *s, int64_t *v)
{
    int64_t x = 0;
    if (!s || !*s) return PG_EINVAL;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || x > (INT64_MAX - 9) / 10) return PG_EINVAL;
        x = x * 10 + (*p - '0');
    }
    if (x <= 0) return PG_EINVAL;
    *v = x;
    return 0;
}

/* Writes "1, 2" (the accepted set) into out. */
static void versions_text(const pg_otlp_req_config *c, char *out, size_t outlen)
{
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < c->n_versions && at < outlen; i++)
        at += (size_t)snprintf(out + at, outlen - at, "%s%lld", i ? ", " : "",
                               (long long)c->versions[i]);
}

/* Borrows everything; returns 0 with *version, or PG_EINVAL. */
int pg_otlp_check_version(const pg_otlp_req_config *c, const pg_otlp_md *md, size_t n,
                          int64_t *version, char *err, size_t errlen)
{
    const char *val = NULL;
    char acc[128];
    versions_text(c, acc, sizeof acc);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(md[i].key, PG_OTLP_VERSION_KEY) != 0) continue;
        if (val)
            return pg_err(err, errlen, PG_EINVAL, "%s given more than once; accepted: %s",
                          PG_OTLP_VERSION_HEADER, acc);
        val = md[i].value;
    }
    int64_t v = 1;
    if (val && parse_version(val, &v))
        return pg_err(err, errlen, PG_EINVAL,
                      "%s \"%.32s\" is not a positive integer; accepted: %s",
                      PG_OTLP_VERSION_HEADER, val, acc);
    for (size_t i = 0; i < c->n_versions; i++)
        if (c->versions[i] == v) {
            *version = v;
            return 0;
        }
    return pg_err(err, errlen, PG_EINVAL, "%s %lld is not supported; accepted: %s",
                  PG_OTLP_VERSION_HEADER, (long long)v, acc);
}

/* Refuses two attributes with one key in a KeyValue list (the decoder checks the
 * dictionary's attribute index lists, not resource and scope attributes). */
static int check_unique_keys(pg_otlp_kv **kvs, size_t n, const char *where, size_t pos, char *err,
                             size_t errlen)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (kvs[i]->key && kvs[j]->key && strcmp(kvs[i]->key, kvs[j]->key) == 0)
                return pg_err(err, errlen, PG_EINVAL,
                              "otlp: %s %zu: duplicate attribute key \"%.64s\"", where, pos,
                              kvs[i]->key);
    return 0;
}

/* Checks resource and scope attributes, and drops profiles without samples (counted in
 * *rejected). Owns b's tree in place (b is not shared yet). */
static int check_and_trim(pg_batch *b, int64_t *rejected, char *err, size_t errlen)
{
    pg_otlp_data *d = pg_batch_data(b);
    int rc;
    for (size_t r = 0; r < d->n_resource_profiles; r++) {
        pg_otlp_rprofiles *rp = d->resource_profiles[r];
        if (rp->resource &&
            (rc = check_unique_keys(rp->resource->attributes, rp->resource->n_attributes,
                                    "resource", r, err, errlen)))
            return rc;
        for (size_t s = 0; s < rp->n_scope_profiles; s++) {
            pg_otlp_sprofiles *sp = rp->scope_profiles[s];
            if (sp->scope && (rc = check_unique_keys(sp->scope->attributes, sp->scope->n_attributes,
                                                     "scope", s, err, errlen)))
                return rc;
            size_t keep = 0;
            for (size_t p = 0; p < sp->n_profiles; p++) {
                if (pg_profile_sample_count(sp->profiles[p]) == 0) {
                    (*rejected)++;
                    continue;
                }
                sp->profiles[keep++] = sp->profiles[p];
            }
            sp->n_profiles = keep;
        }
    }
    return 0;
}

/* Keeps the configured metadata keys on b (pg_rx_keep_metadata). Borrows md. */
static int keep_metadata(const pg_otlp_req_config *c, pg_batch *b, const pg_otlp_md *md, size_t n,
                         char *err, size_t errlen)
{
    pg_rx_metadata m = {c->include_metadata, c->metadata_keys, c->n_metadata_keys,
                        c->max_metadata_value};
    return pg_rx_keep_metadata(&m, b, md, n, err, errlen);
}

/* Encodes the response (partial_success when something was rejected) into res->response. */
static int encode_response(pg_otlp_content ct, pg_otlp_result *res)
{
    RESP_PB resp;
    PS_PB ps;
    opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__init(
        &resp);
    opentelemetry__proto__collector__profiles__v1development__export_profiles_partial_success__init(
        &ps);
    if (res->rejected_profiles) {
        ps.rejected_profiles = res->rejected_profiles;
        ps.error_message = res->reject_reason;
        resp.partial_success = &ps;
    }
    if (ct == PG_OTLP_CT_JSON)
        return pg_otlp_json_encode(&resp.base, &res->response, res->message, sizeof res->message);
    size_t n =
        opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__get_packed_size(
            &resp);
    if (pg_buf_reserve(&res->response, n ? n : 1))
        return pg_err(res->message, sizeof res->message, PG_ENOMEM, "out of memory");
    res->response.len =
        opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__pack(
            &resp, res->response.data);
    return 0;
}

/* Decodes, checks and hands on; returns the status (message in res). */
static int handle(const pg_otlp_req_config *c, const uint8_t *body, size_t len, size_t wire_len,
                  pg_otlp_content ct, const pg_otlp_md *md, size_t n, pg_otlp_result *res)
{
    char *err = res->message;
    size_t errlen = sizeof res->message;
    int64_t version;
    int rc = pg_otlp_check_version(c, md, n, &version, err, errlen);
    if (rc) return rc;
    pg_batch *b = pg_batch_new(c->limits.max_arena);
    if (!b) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    rc = ct == PG_OTLP_CT_JSON ? pg_otlp_decode_json(b, body, len, &c->limits, err, errlen)
                               : pg_otlp_decode(b, body, len, &c->limits, err, errlen);
    if (rc == 0) rc = check_and_trim(b, &res->rejected_profiles, err, errlen);
    if (rc == 0) rc = keep_metadata(c, b, md, n, err, errlen);
    if (rc) {
        pg_batch_free(b);
        return rc;
    }
    if (res->rejected_profiles)
        snprintf(res->reject_reason, sizeof res->reject_reason,
                 "%lld profiles without samples dropped", (long long)res->rejected_profiles);
    if (pg_batch_profile_count(b) == 0) { /* nothing left to hand on */
        pg_batch_free(b);
        return encode_response(ct, res);
    }
    rc = pg_rx_hand_on(b, c->id, &c->next, c->stats, wire_len, err, errlen);
    if (c->stats) pg_counter_add(c->stats->rejected_profiles, (uint64_t)res->rejected_profiles);
    if (rc) return rc;
    return encode_response(ct, res);
}

/* See otlp_request.h. */
int pg_otlp_request_handle(const pg_otlp_req_config *c, const uint8_t *body, size_t len,
                           size_t wire_len, pg_otlp_content ct, const pg_otlp_md *md, size_t n,
                           pg_otlp_result *res)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    memset(res, 0, sizeof *res);
    if (wire_len == 0) wire_len = len;
    res->status = handle(c, body, len, wire_len, ct, md, n, res);
    if (res->status) res->response.len = 0;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pg_otlp_stats_request(c->stats, res->status, wire_len,
                          (double)(t1.tv_sec - t0.tv_sec) +
                              (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    return res->status;
}

/* Frees the response buffer. */
void pg_otlp_result_free(pg_otlp_result *res)
{
    pg_buf_free(&res->response);
}
