/* Connect unary requests and errors (see connect.h). */
#include "pipeline/net/connect.h"

#include "pipeline/core/buf.h"
#include "pipeline/core/err.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* 1 when content type ct (borrowed, may be NULL) is `want` with optional parameters. */
static int ct_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    if (!ct || strncasecmp(ct, want, n) != 0) return 0;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

/* See connect.h. */
int pg_connect_request(const pg_http_request *req, pg_connect_codec *codec, char *err,
                       size_t errlen)
{
    const char *ct = pg_http_header(req, "content-type");
    if (ct_is(ct, PG_CONNECT_CT_PROTO))
        *codec = PG_CONNECT_PROTO;
    else if (ct_is(ct, PG_CONNECT_CT_JSON))
        *codec = PG_CONNECT_JSON;
    else
        return pg_err(err, errlen, PG_EUNSUP,
                      "content type \"%.64s\" is not accepted; accepted: " PG_CONNECT_CT_PROTO
                      ", " PG_CONNECT_CT_JSON " (Connect unary)",
                      ct ? ct : "");
    const char *v = pg_http_header(req, "connect-protocol-version");
    if (v && strcmp(v, "1") != 0)
        return pg_err(err, errlen, PG_EINVAL, "connect-protocol-version \"%.16s\": only 1", v);
    return 0;
}

/* Connect's code names and HTTP statuses, indexed by gRPC code. */
static const struct {
    const char *name;
    int http;
} CODES[] = {
    {"ok", 200},
    {"canceled", 499},
    {"unknown", 500},
    {"invalid_argument", 400},
    {"deadline_exceeded", 504},
    {"not_found", 404},
    {"already_exists", 409},
    {"permission_denied", 403},
    {"resource_exhausted", 429},
    {"failed_precondition", 400},
    {"aborted", 409},
    {"out_of_range", 400},
    {"unimplemented", 501},
    {"internal", 500},
    {"unavailable", 503},
    {"data_loss", 500},
    {"unauthenticated", 401},
};

/* Returns the gRPC code of status, bounded to the table. */
static int code_of(int status)
{
    int g = pg_status_grpc(status);
    return g >= 0 && (size_t)g < sizeof CODES / sizeof CODES[0] ? g : PG_GRPC_UNKNOWN;
}

const char *pg_connect_code_name(int status)
{
    return CODES[code_of(status)].name;
}

int pg_connect_http_status(int status)
{
    return CODES[code_of(status)].http;
}

/* See connect.h. */
int pg_connect_reply_error(pg_http_reply *r, int status, const char *msg)
{
    json_t *o =
        json_pack("{s:s,s:s}", "code", pg_connect_code_name(status), "message", msg ? msg : "");
    if (!o) /* a message that is not UTF-8 */
        o = json_pack("{s:s,s:s}", "code", pg_connect_code_name(status), "message",
                      "(message not UTF-8)");
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text) return PG_ENOMEM;
    int rc = pg_http_reply_set(r, pg_connect_http_status(status), PG_CONNECT_CT_JSON, text,
                               strlen(text));
    free(text);
    int http = pg_connect_http_status(status);
    if (rc == 0 && (http == 503 || http == 429)) rc = pg_http_reply_header(r, "Retry-After", "1");
    return rc;
}
