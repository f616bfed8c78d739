/* The exporter helper's config tables (defaults as documented in exporterhelper.h), the
 * programmatic defaults, and the cross-field checks. */
#include "pipeline/core/err.h"
#include "pipeline/exporterhelper/exporterhelper.h"

#include <string.h>

static const char *const FSYNC_POLICIES[] = {"never", "batch", "always", NULL};

typedef struct pg_queue_config QC;
typedef struct pg_retry_config RC;
typedef struct pg_batching_config BC;

const pg_cfg_field pg_queue_fields[] = {
    {.key = "enabled",
     .type = PG_CFG_BOOL,
     .offset = offsetof(QC, enabled),
     .def = "true",
     .doc = "queue batches and send them from consumer threads (false: send in the caller)"},
    {.key = "num_consumers",
     .type = PG_CFG_INT,
     .offset = offsetof(QC, num_consumers),
     .def = "10",
     .min = "1",
     .max = "1000",
     .doc = "concurrent senders"},
    {.key = "queue_size",
     .type = PG_CFG_INT,
     .offset = offsetof(QC, queue_size),
     .def = "1000",
     .min = "1",
     .doc = "capacity in batches (queued, batching or being sent)"},
    {.key = "queue_bytes",
     .type = PG_CFG_SIZE,
     .offset = offsetof(QC, queue_bytes),
     .def = "256MiB",
     .min = "1KiB",
     .doc = "capacity in bytes: encoded requests as sent (compressed when compression is on), "
            "or OTLP protobuf size for batching and persistent queues"},
    {.key = "block_on_overflow",
     .type = PG_CFG_BOOL,
     .offset = offsetof(QC, block_on_overflow),
     .def = "false",
     .doc = "wait for room instead of refusing when full"},
    {.key = "directory",
     .type = PG_CFG_STRING,
     .offset = offsetof(QC, directory),
     .doc = "persistent queue folder (write-ahead, replayed on start); unset: in memory"},
    {.key = "fsync",
     .type = PG_CFG_ENUM,
     .offset = offsetof(QC, fsync),
     .def = "batch",
     .enum_values = FSYNC_POLICIES,
     .doc = "persistent queue durability: never, batch (within 100ms), always (before ack)"},
    {0},
};

const pg_cfg_field pg_retry_fields[] = {
    {.key = "enabled",
     .type = PG_CFG_BOOL,
     .offset = offsetof(RC, enabled),
     .def = "true",
     .doc = "retry retryable failures"},
    {.key = "initial_interval",
     .type = PG_CFG_DURATION,
     .offset = offsetof(RC, initial_interval),
     .def = "5s",
     .min = "1ms",
     .doc = "first wait"},
    {.key = "max_interval",
     .type = PG_CFG_DURATION,
     .offset = offsetof(RC, max_interval),
     .def = "30s",
     .min = "1ms",
     .doc = "cap on one wait"},
    {.key = "max_elapsed_time",
     .type = PG_CFG_DURATION,
     .offset = offsetof(RC, max_elapsed_time),
     .def = "300s",
     .doc = "give up (drop) after this long; 0 retries forever"},
    {.key = "multiplier",
     .type = PG_CFG_DOUBLE,
     .offset = offsetof(RC, multiplier),
     .def = "1.5",
     .min = "1",
     .doc = "growth of the wait per retry"},
    {.key = "randomization_factor",
     .type = PG_CFG_DOUBLE,
     .offset = offsetof(RC, randomization_factor),
     .def = "0.5",
     .min = "0",
     .max = "1",
     .doc = "jitter: each wait is drawn from interval * [1 - f, 1 + f]"},
    {0},
};

const pg_cfg_field pg_batch_fields[] = {
    {.key = "enabled",
     .type = PG_CFG_BOOL,
     .offset = offsetof(BC, enabled),
     .def = "false",
     .doc = "merge queued batches with equal metadata before sending"},
    {.key = "flush_timeout",
     .type = PG_CFG_DURATION,
     .offset = offsetof(BC, flush_timeout),
     .def = "200ms",
     .min = "1ms",
     .doc = "send a partial batch after this long"},
    {.key = "min_size",
     .type = PG_CFG_INT,
     .offset = offsetof(BC, min_size),
     .def = "8192",
     .min = "0",
     .doc = "samples that make a batch ready"},
    {.key = "max_size",
     .type = PG_CFG_INT,
     .offset = offsetof(BC, max_size),
     .def = "0",
     .min = "0",
     .doc = "samples per sent batch, split by profiles; 0 = no cap"},
    {0},
};

/* Fills cfg with the table defaults (directory NULL). */
void pg_exporter_helper_config_default(pg_exporter_helper_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->timeout = 5000000000LL;
    cfg->sending_queue.enabled = true;
    cfg->sending_queue.num_consumers = 10;
    cfg->sending_queue.queue_size = 1000;
    cfg->sending_queue.queue_bytes = 256ull << 20;
    cfg->sending_queue.fsync = PG_FSYNC_BATCH;
    cfg->retry_on_failure.enabled = true;
    cfg->retry_on_failure.initial_interval = 5000000000LL;
    cfg->retry_on_failure.max_interval = 30000000000LL;
    cfg->retry_on_failure.max_elapsed_time = 300000000000LL;
    cfg->retry_on_failure.multiplier = 1.5;
    cfg->retry_on_failure.randomization_factor = 0.5;
    cfg->batch.flush_timeout = 200000000LL;
    cfg->batch.min_size = 8192;
}

/* Checks what the tables cannot: combinations and bounds of hand-built configs. */
int pg_exporter_helper_config_validate(const pg_exporter_helper_config *cfg, char *err,
                                       size_t errlen)
{
    const struct pg_queue_config *q = &cfg->sending_queue;
    const struct pg_retry_config *r = &cfg->retry_on_failure;
    const struct pg_batching_config *b = &cfg->batch;
    if (cfg->timeout < 0) return pg_err(err, errlen, PG_EINVAL, "timeout must not be negative");
    if (!q->enabled && q->directory)
        return pg_err(err, errlen, PG_EINVAL,
                      "sending_queue.directory needs sending_queue.enabled: true");
    if (!q->enabled && b->enabled)
        return pg_err(err, errlen, PG_EINVAL, "batch needs sending_queue.enabled: true");
    if (q->enabled && (q->num_consumers < 1 || q->queue_size < 1 || q->queue_bytes < 1))
        return pg_err(
            err, errlen, PG_EINVAL,
            "sending_queue: num_consumers, queue_size and queue_bytes must be at least 1");
    if (q->directory && !*q->directory)
        return pg_err(err, errlen, PG_EINVAL, "sending_queue.directory is empty");
    if (q->fsync < PG_FSYNC_NEVER || q->fsync > PG_FSYNC_ALWAYS)
        return pg_err(err, errlen, PG_EINVAL, "sending_queue.fsync: unknown policy");
    if (r->enabled &&
        (r->initial_interval <= 0 || r->max_interval <= 0 || r->multiplier < 1 ||
         r->max_elapsed_time < 0 || r->randomization_factor < 0 || r->randomization_factor > 1))
        return pg_err(err, errlen, PG_EINVAL,
                      "retry_on_failure: intervals must be positive, "
                      "multiplier at least 1, randomization_factor in [0, 1]");
    if (r->enabled && r->max_interval < r->initial_interval)
        return pg_err(err, errlen, PG_EINVAL,
                      "retry_on_failure.max_interval is below initial_interval");
    if (b->enabled && (b->flush_timeout <= 0 || b->min_size < 0 || b->max_size < 0))
        return pg_err(err, errlen, PG_EINVAL,
                      "batch: flush_timeout must be positive, sizes not negative");
    if (b->enabled && b->max_size && b->max_size < b->min_size)
        return pg_err(err, errlen, PG_EINVAL, "batch.max_size is below batch.min_size");
    return 0;
}
