/* Status codes and the caller-owned error message convention.
 *
 * Every function that can fail returns an int status: 0 (PG_OK) on success, one of the
 * negative codes below on failure, and writes the human message into a caller-owned
 * `char *err, size_t errlen`. The codes start at -2 on purpose: -1 is NOT a status code, so
 * a stray bare `return -1` shows up as "unknown status" (pg_status_name) and as HTTP 500 /
 * gRPC INTERNAL, never as a plausible answer. Functions that return an index or a count
 * return these same negative codes on failure (test `< 0`, never `== -1`). */
#ifndef PG_ERR_H
#define PG_ERR_H

#include <stdbool.h>
#include <stddef.h>

enum {
    PG_OK = 0,
    /* The input (bytes from a client or a file, a config value, an argument) is malformed
     * or violates a rule of its format. Sending it again will not help.
     * HTTP 400, gRPC INVALID_ARGUMENT. */
    PG_EINVAL = -2,
    /* An allocation failed (malloc, or growth of a process-owned buffer). Transient for
     * a server: the same request may fit later. HTTP 503, gRPC RESOURCE_EXHAUSTED, retry. */
    PG_ENOMEM = -3,
    /* The input is over a configured cap (body size, decompressed size, sample count,
     * nesting depth, a batch arena's byte cap). The same request will fail again.
     * HTTP 413, gRPC RESOURCE_EXHAUSTED, no retry. */
    PG_ELIMIT = -4,
    /* Back-pressure: the component cannot take the data now (queue full, memory limiter
     * refusing, exporter temporarily failing); the same data may succeed later.
     * HTTP 503, gRPC UNAVAILABLE, retry. */
    PG_EAGAIN = -5,
    /* A file, socket or pipe operation failed (open, read, write, rename, fsync).
     * HTTP 500, gRPC UNAVAILABLE, retry. */
    PG_EIO = -6,
    /* Well-formed but not supported here: a format, version, compression or shape this
     * build does not handle. HTTP 415, gRPC UNIMPLEMENTED, no retry. */
    PG_EUNSUP = -7,
    /* The client did not authenticate (no or bad credentials).
     * HTTP 401, gRPC UNAUTHENTICATED, no retry. */
    PG_EUNAUTH = -8,
    /* The client is authenticated but not allowed to do this (tenant, path, method).
     * HTTP 403, gRPC PERMISSION_DENIED, no retry. */
    PG_EPERM = -9,
    /* The named thing (path, component, file, key) does not exist.
     * HTTP 404, gRPC NOT_FOUND, no retry. */
    PG_ENOTFOUND = -10,
    /* A deadline passed before the work finished (request, export, drain).
     * HTTP 504, gRPC DEADLINE_EXCEEDED, retry. */
    PG_ETIMEOUT = -11,
    /* The work was cancelled: the process is shutting down or the caller went away.
     * HTTP 503, gRPC CANCELLED, retry (elsewhere or later). */
    PG_ECANCELED = -12,
    /* A bug or broken invariant inside profgate; never the client's fault.
     * HTTP 500, gRPC INTERNAL, no retry. */
    PG_EINTERNAL = -13,
};

/* The lowest (most negative) status code; codes are PG_OK and PG_STATUS_MIN..PG_EINVAL. */
#define PG_STATUS_MIN PG_EINTERNAL

/* gRPC status codes (grpc/doc/statuscodes.md), as pg_status_grpc returns them. */
enum {
    PG_GRPC_OK = 0,
    PG_GRPC_CANCELLED = 1,
    PG_GRPC_UNKNOWN = 2,
    PG_GRPC_INVALID_ARGUMENT = 3,
    PG_GRPC_DEADLINE_EXCEEDED = 4,
    PG_GRPC_NOT_FOUND = 5,
    PG_GRPC_ALREADY_EXISTS = 6,
    PG_GRPC_PERMISSION_DENIED = 7,
    PG_GRPC_RESOURCE_EXHAUSTED = 8,
    PG_GRPC_FAILED_PRECONDITION = 9,
    PG_GRPC_ABORTED = 10,
    PG_GRPC_OUT_OF_RANGE = 11,
    PG_GRPC_UNIMPLEMENTED = 12,
    PG_GRPC_INTERNAL = 13,
    PG_GRPC_UNAVAILABLE = 14,
    PG_GRPC_DATA_LOSS = 15,
    PG_GRPC_UNAUTHENTICATED = 16,
};

/* Formats a message into err (if non-NULL) and returns code. */
int pg_err(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefixes an existing message in err with a context string ("context: message"). */
void pg_err_prefix(char *err, size_t errlen, const char *context);

/* Returns true when code is PG_OK or one of the status codes above. */
bool pg_status_valid(int code);

/* Returns a short static name for a status code; "unknown status" for anything else
 * (including -1 and positive values). */
const char *pg_status_name(int code);

/* Returns the HTTP status an HTTP receiver answers for code: 200 for PG_OK, 500 for an
 * unknown code (see each code above). */
int pg_status_http(int code);

/* Returns the gRPC status code (PG_GRPC_*) for code: OK for PG_OK, INTERNAL for an
 * unknown code (see each code above). */
int pg_status_grpc(int code);

/* Returns true when a client (or the exporter helper) may retry the same request later
 * with a chance of success; false for PG_OK, permanent failures and unknown codes. */
bool pg_status_retryable(int code);

#endif
