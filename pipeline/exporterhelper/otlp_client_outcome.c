/* The OTLP specification's retry rules for the otlp / otlphttp exporters (see
 * otlp_client.h): an answer becomes delivered, retry (with the server's delay) or drop,
 * counted by reason and logged once per reason; partial_success and version refusals. */
#include "pipeline/exporterhelper/otlp_client_int.h"

#include "pipeline/core/arena.h"
#include "pipeline/core/err.h"
#include "pipeline/core/otlp_types.h"
#include "pipeline/exporterhelper/exporterhelper.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/translate/otlp_json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef Opentelemetry__Proto__Collector__Profiles__V1development__ExportProfilesServiceResponse
    export_response;
#define RESPONSE_DESC                                                                              \
    opentelemetry__proto__collector__profiles__v1development__export_profiles_service_response__descriptor

static const char *const GRPC_NAMES[] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

const char *pg_otlp_grpc_code_name(int code)
{
    return code >= 0 && code <= 16 ? GRPC_NAMES[code] : "UNKNOWN_CODE";
}

/* True the first time `reason` is seen by c (so it is logged once). */
static bool first_time(pg_otlp_client *c, const char *reason)
{
    bool first = true;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n_seen && first; i++)
        if (strcmp(c->seen[i], reason) == 0) first = false;
    if (first && c->n_seen < PG_OTLP_CLIENT_MAX_SEEN) {
        char *copy = strdup(reason);
        if (copy) c->seen[c->n_seen++] = copy;
    }
    if (first && c->n_seen >= PG_OTLP_CLIENT_MAX_SEEN) first = false; /* bounded: quiet now */
    pthread_mutex_unlock(&c->mu);
    return first;
}

/* Adds v to the counter `name`{exporter, reason}. */
static void count(pg_otlp_client *c, const char *name, const char *help, const char *reason,
                  uint64_t v)
{
    if (!c->metrics) return;
    char lab[320] = "";
    pg_metrics_label(lab, sizeof lab, "exporter", c->id);
    pg_metrics_label(lab, sizeof lab, "reason", reason);
    pg_counter_add(pg_metrics_counter(c->metrics, name, help, lab), v);
}

/* The server's message as one printable line (at most 300 bytes) in out. */
static void message_line(const pg_otlp_answer *a, char *out, size_t outlen)
{
    size_t n = 0, len = a->message ? a->message_len : 0;
    for (size_t i = 0; i < len && n + 1 < outlen && n < 300; i++) {
        unsigned char ch = (unsigned char)a->message[i];
        out[n++] = ch == '\n' || ch == '\r' || ch == '\t' ? ' ' : isprint(ch) ? (char)ch : '?';
    }
    while (n && out[n - 1] == ' ')
        n--;
    out[n] = 0;
}

/* True when msg (a refusal) is about the format version header. */
static bool version_refusal(const char *msg)
{
    char low[320];
    size_t n = 0;
    for (; msg[n] && n + 1 < sizeof low; n++)
        low[n] = (char)tolower((unsigned char)msg[n]);
    low[n] = 0;
    return strstr(low, PG_OTLP_CLIENT_VERSION_KEY) != NULL;
}

/* Decodes a success answer's partial_success; counts and logs rejections. */
static void partial(pg_otlp_client *c, const pg_otlp_answer *a)
{
    if (!a->response_len) return;
    int64_t rejected = 0;
    char why[320] = "";
    if (a->response_json) {
        pg_arena *ar = pg_arena_new(1 << 20);
        ProtobufCMessage *m = NULL;
        char err[128];
        if (ar && pg_otlp_json_decode(&RESPONSE_DESC, a->response, a->response_len, ar, 0, &m, err,
                                      sizeof err) == 0) {
            export_response *r = (export_response *)m;
            if (r->partial_success) {
                rejected = r->partial_success->rejected_profiles;
                snprintf(why, sizeof why, "%s", r->partial_success->error_message);
            }
        }
        pg_arena_free(ar);
    } else {
        export_response *r = (export_response *)protobuf_c_message_unpack(
            &RESPONSE_DESC, NULL, a->response_len, a->response);
        if (r && r->partial_success) {
            rejected = r->partial_success->rejected_profiles;
            snprintf(why, sizeof why, "%s", r->partial_success->error_message);
        }
        if (r) protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    if (rejected <= 0 && !why[0]) return;
    if (rejected > 0) pg_counter_add(c->partial_profiles, (uint64_t)rejected);
    char reason[360];
    snprintf(reason, sizeof reason, "partial:%s", why);
    if (first_time(c, reason))
        pg_log(PG_LOG_WARN, c->id, "server accepted the request but rejected %lld profiles: %s",
               (long long)rejected, why[0] ? why : "(no message)");
}

/* The reason label and whether the answer is retryable. */
static bool classify(const pg_otlp_answer *a, char *reason, size_t rlen)
{
    if (!a->answered) {
        snprintf(reason, rlen, "%s",
                 a->transport_status == PG_ETIMEOUT ? "timeout" : "unreachable");
        return true;
    }
    if (a->grpc) {
        snprintf(reason, rlen, "%s", pg_otlp_grpc_code_name(a->code));
        switch (a->code) {
        case PG_GRPC_CANCELLED:
        case PG_GRPC_DEADLINE_EXCEEDED:
        case PG_GRPC_ABORTED:
        case PG_GRPC_OUT_OF_RANGE:
        case PG_GRPC_UNAVAILABLE:
        case PG_GRPC_DATA_LOSS:
            return true;
        case PG_GRPC_RESOURCE_EXHAUSTED:
            return a->retry_after_ns >= 0;
        default:
            return false;
        }
    }
    snprintf(reason, rlen, "http_%d", a->code);
    return a->code == 429 || a->code == 502 || a->code == 503 || a->code == 504;
}

/* The PG_E* a permanent refusal stands for (what the helper logs and counts). */
static int permanent_status(const pg_otlp_answer *a)
{
    int c = a->code;
    if (a->grpc)
        return c == PG_GRPC_INVALID_ARGUMENT     ? PG_EINVAL
               : c == PG_GRPC_UNAUTHENTICATED    ? PG_EUNAUTH
               : c == PG_GRPC_PERMISSION_DENIED  ? PG_EPERM
               : c == PG_GRPC_RESOURCE_EXHAUSTED ? PG_ELIMIT
               : c == PG_GRPC_UNIMPLEMENTED      ? PG_EUNSUP
               : c == PG_GRPC_NOT_FOUND          ? PG_ENOTFOUND
                                                 : PG_EINTERNAL;
    return c == 400   ? PG_EINVAL
           : c == 401 ? PG_EUNAUTH
           : c == 403 ? PG_EPERM
           : c == 404 ? PG_ENOTFOUND
           : c == 413 ? PG_ELIMIT
           : c == 415 ? PG_EUNSUP
                      : PG_EINTERNAL;
}

/* See otlp_client.h. */
int pg_otlp_client_outcome(pg_otlp_client *c, const pg_otlp_answer *a, size_t profiles, char *err,
                           size_t errlen)
{
    if (a->answered && (a->grpc ? a->code == PG_GRPC_OK : a->code >= 200 && a->code < 300)) {
        partial(c, a);
        return 0;
    }
    char reason[64], msg[320];
    message_line(a, msg, sizeof msg);
    bool retry = classify(a, reason, sizeof reason);
    if (retry) {
        count(c, "profgate_exporter_otlp_retryable_answers",
              "answers the exporter retries, by reason (gRPC code, http_<status>, timeout, "
              "unreachable)",
              reason, 1);
        if (a->retry_after_ns > 0) pg_exporter_helper_retry_after(a->retry_after_ns);
        if (a->retry_after_ns >= 0)
            return pg_err(err, errlen, PG_EAGAIN, "%s (server asks to wait %.3fs): %s", reason,
                          (double)a->retry_after_ns / 1e9, msg);
        return pg_err(err, errlen, PG_EAGAIN, "%s: %s", reason, msg);
    }
    bool version = version_refusal(msg);
    if (version) snprintf(reason, sizeof reason, "version");
    count(c, "profgate_exporter_otlp_rejected_batches",
          "batches the server refused for good and the exporter dropped, by reason", reason, 1);
    count(c, "profgate_exporter_otlp_rejected_profiles",
          "profiles in the batches the server refused for good, by reason", reason, profiles);
    char key[400];
    snprintf(key, sizeof key, "drop:%s", reason);
    if (first_time(c, key)) {
        if (version)
            pg_log(PG_LOG_ERROR, c->id,
                   "server refused format version %lld (%s): %s; set profiles_version to a "
                   "version it accepts; such batches are dropped, not retried",
                   (long long)c->version, PG_OTLP_CLIENT_VERSION_HEADER, msg);
        else
            pg_log(PG_LOG_ERROR, c->id,
                   "server refuses with %s (not retryable: such batches are dropped): %s", reason,
                   msg);
    }
    return pg_err(err, errlen, permanent_status(a), "%s%s: %s", version ? "version refused, " : "",
                  reason, msg);
}
