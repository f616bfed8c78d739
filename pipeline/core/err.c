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

/* Returns a static name for code. */
const char *pg_status_name(int code)
{
    switch (code) {
    case PG_OK: return "ok";
    case PG_EINVAL: return "invalid";
    case PG_ENOMEM: return "out of memory";
    case PG_ELIMIT: return "limit exceeded";
    case PG_EIO: return "i/o error";
    case PG_EUNSUP: return "unsupported";
    case PG_EAGAIN: return "try again";
    default: return "error";
    }
}
