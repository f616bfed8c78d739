/* The Connect protocol's unary shape (connectrpc.com/docs/protocol), as far as profgate
 * serves and sends it: `POST /<package>.<Service>/<Method>`, `Content-Type:
 * application/proto` or `application/json`, optional `Connect-Protocol-Version: 1`,
 * compression by Content-Encoding; success is 200 with the response message; an error is
 * a JSON body {"code": "...", "message": "..."} with the HTTP status of its code. */
#ifndef PG_NET_CONNECT_H
#define PG_NET_CONNECT_H

#include "pipeline/net/http_server.h"

typedef enum { PG_CONNECT_PROTO = 0, PG_CONNECT_JSON = 1 } pg_connect_codec;

#define PG_CONNECT_CT_PROTO "application/proto"
#define PG_CONNECT_CT_JSON "application/json"

/* Checks a unary request's Content-Type (parameters such as charset ignored) and
 * Connect-Protocol-Version (absent or "1"). Returns 0 with *codec, PG_EUNSUP naming the
 * accepted types, or PG_EINVAL for another protocol version. Borrows req. */
int pg_connect_request(const pg_http_request *req, pg_connect_codec *codec, char *err,
                       size_t errlen);

/* The Connect code name ("invalid_argument") and HTTP status of a PG_* status, through
 * its gRPC code (pg_status_grpc). */
const char *pg_connect_code_name(int status);
int pg_connect_http_status(int status);

/* Sets r to the Connect error for status with message msg (JSON-escaped); a retryable
 * status adds Retry-After: 1. Returns 0 or PG_ENOMEM. */
int pg_connect_reply_error(pg_http_reply *r, int status, const char *msg);

#endif
