/* Status codes and the caller-owned error message convention. */
#ifndef PG_ERR_H
#define PG_ERR_H

#include <stddef.h>

enum {
    PG_OK = 0,
    PG_EINVAL = -1,   /* malformed input */
    PG_ENOMEM = -2,   /* allocation failed */
    PG_ELIMIT = -3,   /* a configured limit was exceeded */
    PG_EIO = -4,      /* file or socket error */
    PG_EUNSUP = -5,   /* valid but unsupported (format, version, shape) */
    PG_EAGAIN = -6,   /* temporary: try again later */
};

/* Formats a message into err (if non-NULL) and returns code. */
int pg_err(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefixes an existing message in err with a context string ("context: message"). */
void pg_err_prefix(char *err, size_t errlen, const char *context);

/* Returns a short name for a status code. */
const char *pg_status_name(int code);

#endif
