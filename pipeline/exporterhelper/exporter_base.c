#include "pipeline/exporterhelper/exporter_base.h"
#include "pipeline/core/err.h"

#include <stdlib.h>
#include <string.h>

/* Copies what the helper borrows, then creates it. */
int pg_exporter_base_init(pg_exporter_base *b, const pg_component_settings *s,
                          const pg_exporter_helper_config *cfg, pg_send_fn send, void *send_ctx,
                          char *err, size_t errlen)
{
    b->settings = *s;
    b->helper_cfg = *cfg;
    b->settings.id = strdup(s->id);
    const char *qdir = cfg->sending_queue.directory;
    b->helper_cfg.sending_queue.directory = qdir ? strdup(qdir) : NULL;
    if (!b->settings.id || (qdir && !b->helper_cfg.sending_queue.directory))
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    return pg_exporter_helper_new(&b->settings, &b->helper_cfg, send, send_ctx, &b->helper, err,
                                  errlen);
}

void pg_exporter_base_fini(pg_exporter_base *b)
{
    pg_exporter_helper_free(b->helper);
    b->helper = NULL;
    free(b->helper_cfg.sending_queue.directory);
    free((char *)b->settings.id);
}

int pg_exporter_base_start(void *self, char *err, size_t errlen)
{
    return pg_exporter_helper_start(((pg_exporter_base *)self)->helper, err, errlen);
}

void pg_exporter_base_shutdown(void *self, int64_t deadline_ns)
{
    pg_exporter_helper_shutdown(((pg_exporter_base *)self)->helper, deadline_ns);
}

/* Takes ownership of b (see pg_consumer). */
int pg_exporter_base_consume(void *self, pg_batch *b, char *err, size_t errlen)
{
    return pg_exporter_helper_consume(((pg_exporter_base *)self)->helper, b, err, errlen);
}
