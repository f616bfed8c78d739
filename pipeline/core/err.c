#include "pipeline/core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Writes the formatted message into the caller's buffer. */
int pg_err(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Rewrites err in place as "context: err". */
void pg_err_prefix(char *err, size_t errlen, const char *context)
{
    if (!err || !errlen) return;
    size_t cl = strlen(context), el = strnlen(err, errlen - 1);
    if (cl + 2 >= errlen) return;
    if (cl + 2 + el >= errlen) el = errlen - cl - 3;
    memmove(err + cl + 2, err, el);
    memcpy(err, context, cl);
    err[cl] = ':';
    err[cl + 1] = ' ';
    err[cl + 2 + el] = 0;
}

/* One row per status code: its name, HTTP status, gRPC status and whether to retry. */
typedef struct {
    const char *name;
    short http;
    signed char grpc;
    bool retry;
} status_row;

/* Indexed by -code (PG_OK at 0; row 1, for -1, is deliberately empty). */
static const status_row rows[] = {
    [-PG_OK] = {"ok", 200, PG_GRPC_OK, false},
    [-PG_EINVAL] = {"invalid input", 400, PG_GRPC_INVALID_ARGUMENT, false},
    [-PG_ENOMEM] = {"out of memory", 503, PG_GRPC_RESOURCE_EXHAUSTED, true},
    [-PG_ELIMIT] = {"limit exceeded", 413, PG_GRPC_RESOURCE_EXHAUSTED, false},
    [-PG_EAGAIN] = {"try again", 503, PG_GRPC_UNAVAILABLE, true},
    [-PG_EIO] = {"i/o error", 500, PG_GRPC_UNAVAILABLE, true},
    [-PG_EUNSUP] = {"unsupported", 415, PG_GRPC_UNIMPLEMENTED, false},
    [-PG_EUNAUTH] = {"unauthenticated", 401, PG_GRPC_UNAUTHENTICATED, false},
    [-PG_EPERM] = {"permission denied", 403, PG_GRPC_PERMISSION_DENIED, false},
    [-PG_ENOTFOUND] = {"not found", 404, PG_GRPC_NOT_FOUND, false},
    [-PG_ETIMEOUT] = {"deadline exceeded", 504, PG_GRPC_DEADLINE_EXCEEDED, true},
    [-PG_ECANCELED] = {"cancelled", 503, PG_GRPC_CANCELLED, true},
    [-PG_EINTERNAL] = {"internal error", 500, PG_GRPC_INTERNAL, false},
};

/* Returns the row of a known code, or NULL (the -1 row has no name). */
static const status_row *row(int code)
{
    if (code > 0 || code < PG_STATUS_MIN || !rows[-code].name) return NULL;
    return &rows[-code];
}

/* True for PG_OK and every defined code. */
bool pg_status_valid(int code)
{
    return row(code) != NULL;
}

/* Returns a static name for code. */
const char *pg_status_name(int code)
{
    const status_row *r = row(code);
    return r ? r->name : "unknown status";
}

/* Returns the HTTP status for code (500 when unknown). */
int pg_status_http(int code)
{
    const status_row *r = row(code);
    return r ? r->http : 500;
}

/* Returns the gRPC status for code (INTERNAL when unknown). */
int pg_status_grpc(int code)
{
    const status_row *r = row(code);
    return r ? r->grpc : PG_GRPC_INTERNAL;
}

/* True when retrying the same request later may succeed. */
bool pg_status_retryable(int code)
{
    const status_row *r = row(code);
    return r && r->retry;
}
