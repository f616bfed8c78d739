/* The gRPC protocol's server side (grpc/doc/PROTOCOL-HTTP2.md), unary calls only, as the
 * listener stack serves it next to plain HTTP and Connect on the same port: a request over
 * HTTP/2 with `content-type: application/grpc` or `application/grpc+proto` carries one
 * length-prefixed message (1 byte compressed flag, 4 bytes big-endian length), compressed
 * by `grpc-encoding` (gzip, deflate, zstd, identity) when the flag is set. The answer is
 * HTTP 200 with `content-type: application/grpc`, the response message length-prefixed,
 * then the trailers `grpc-status` and `grpc-message` (percent-encoded); an error is a
 * "trailers-only" answer (one HEADERS frame holding the status).
 *
 * The stack does the transport (http_exchange.c): it marks such requests (req->grpc),
 * answers gRPC over HTTP/1.1 with 505, strips the prefix and inflates the message under
 * max_request_body_size before the handler sees req->body, answers DEADLINE_EXCEEDED to a
 * request whose `grpc-timeout` passed while it waited for a worker, and turns every error
 * it answers (auth, limits, busy pool, pg_http_reply_error) into gRPC statuses. A handler
 * answers with pg_grpc_reply or pg_http_reply_error. */
#ifndef PG_NET_GRPC_H
#define PG_NET_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/net/http_server.h"

#define PG_GRPC_CT "application/grpc"
/* The encodings accepted in grpc-encoding (sent back as grpc-accept-encoding). */
#define PG_GRPC_ACCEPT_ENCODING "identity,gzip,deflate,zstd"

/* What a content type says about gRPC: PG_GRPC_CT_NONE (not gRPC), PG_GRPC_CT_PROTO
 * (application/grpc or application/grpc+proto, parameters ignored) or PG_GRPC_CT_OTHER
 * (another application/grpc+<codec>, which profgate does not decode). */
enum { PG_GRPC_CT_NONE = 0, PG_GRPC_CT_PROTO, PG_GRPC_CT_OTHER };
int pg_grpc_content_type(const char *ct);

/* Reads the one length-prefixed message of a unary request body p[0..n) (borrowed): sets
 * *compressed, *off and *len of the message inside p. PG_EINVAL when the body is not
 * exactly one well-formed message. */
int pg_grpc_unframe(const uint8_t *p, size_t n, bool *compressed, size_t *off, size_t *len,
                    char *err, size_t errlen);

/* Parses a grpc-timeout value (1 to 8 digits and a unit H M S m u n) into ns. Returns 0 or
 * PG_EINVAL. */
int pg_grpc_timeout_parse(const char *v, int64_t *ns);

/* Writes msg (borrowed) percent-encoded for grpc-message (bytes outside 0x20..0x7e and '%'
 * as %XX) into out (cap bytes, always terminated; cut at a whole escape). */
void pg_grpc_percent_encode(const char *msg, char *out, size_t cap);

/* The PG_* status a gRPC request answered early with HTTP status http (401, 404, 413, ...)
 * stands for: an unknown method (404/405) is PG_EUNSUP (UNIMPLEMENTED). */
int pg_grpc_status_of_http(int http);

/* Sets r to a successful unary answer: msg[0..len) (borrowed; len 0: an empty message)
 * length-prefixed, uncompressed, then grpc-status 0. Returns 0 or PG_ENOMEM. */
int pg_grpc_reply(pg_http_reply *r, const void *msg, size_t len);

/* Sets r to a trailers-only error: grpc-status pg_status_grpc(status) and grpc-message msg.
 * Returns 0 or PG_ENOMEM. */
int pg_grpc_reply_error(pg_http_reply *r, int status, const char *msg);

#endif
