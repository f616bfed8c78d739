/* Logging: one line per event, prefixed with the component id, text or JSON, to stderr.
 * Thread-safe. Configured once from service.telemetry.logs. */
#ifndef PG_LOG_H
#define PG_LOG_H

#include <stdio.h>

typedef enum { PG_LOG_DEBUG, PG_LOG_INFO, PG_LOG_WARN, PG_LOG_ERROR } pg_log_level;

/* Sets the minimum level and the encoding (json = 0: text). */
void pg_log_configure(pg_log_level min_level, int json);

/* True when lvl would be written (to skip building expensive messages). */
int pg_log_enabled(pg_log_level lvl);

/* Writes one line: time, level, component id (NULL = "service"), message. */
void pg_log(pg_log_level lvl, const char *component_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sends lines to f (borrowed; NULL = stderr, the default). For tests and embedding. */
void pg_log_set_output(FILE *f);

#endif
