/* The part every exporter built on the exporter helper shares: its settings, a copy of the
 * helper config it owns, and the helper. Embed it as the FIRST member of an exporter's
 * struct; the pg_exporter_base_* functions then serve as its factory's start, shutdown and
 * consume. */
#ifndef PG_EXPORTER_BASE_H
#define PG_EXPORTER_BASE_H

#include "pipeline/exporterhelper/exporterhelper.h"

typedef struct pg_exporter_base {
    pg_component_settings settings;       /* id copied */
    pg_exporter_helper_config helper_cfg; /* queue directory copied */
    pg_exporter_helper *helper;
} pg_exporter_base;

/* Copies s and cfg into b and creates the helper with send(send_ctx). On failure b is
 * left for pg_exporter_base_fini. */
int pg_exporter_base_init(pg_exporter_base *b, const pg_component_settings *s,
                          const pg_exporter_helper_config *cfg, pg_send_fn send, void *send_ctx,
                          char *err, size_t errlen);

/* Frees the helper and the copies (not b itself). */
void pg_exporter_base_fini(pg_exporter_base *b);

/* Factory callbacks for a struct whose first member is a pg_exporter_base. */
int pg_exporter_base_start(void *self, char *err, size_t errlen);
void pg_exporter_base_shutdown(void *self, int64_t deadline_ns);
int pg_exporter_base_consume(void *self, pg_batch *b, char *err, size_t errlen);

#endif
