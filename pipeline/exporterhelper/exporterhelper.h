/* The exporter helper every exporter is built on: a bounded sending queue (in memory or
 * persistent on disk), consumer threads, retry with exponential backoff and jitter,
 * a per-send timeout, and optional batching (merging batches into one dictionary).
 * An exporter supplies only a send function. */
#ifndef PG_EXPORTERHELPER_H
#define PG_EXPORTERHELPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/component.h"

enum { PG_FSYNC_NEVER, PG_FSYNC_BATCH, PG_FSYNC_ALWAYS };

typedef struct pg_exporter_helper_config {
    int64_t timeout; /* per send, ns; default 5s; 0 = no per-send deadline */
    struct pg_queue_config {
        bool enabled;           /* default true */
        int64_t num_consumers;  /* default 10 */
        int64_t queue_size;     /* batches; default 1000 */
        uint64_t queue_bytes;   /* encoded bytes (OTLP protobuf size); default 256MiB */
        bool block_on_overflow; /* default false: refuse with PG_EAGAIN when full */
        char *directory;        /* persistent queue folder; NULL = in memory */
        int fsync;              /* PG_FSYNC_*: never, batch (default), always */
    } sending_queue;
    struct pg_retry_config {
        bool enabled;                /* default true */
        int64_t initial_interval;    /* default 5s */
        int64_t max_interval;        /* default 30s */
        int64_t max_elapsed_time;    /* default 300s; 0 = retry forever */
        double multiplier;           /* default 1.5 */
        double randomization_factor; /* default 0.5 */
    } retry_on_failure;
    struct pg_batching_config {
        bool enabled;          /* default false */
        int64_t flush_timeout; /* default 200ms */
        int64_t min_size;      /* samples; default 8192 */
        int64_t max_size;      /* samples; 0 = no cap */
    } batch;
} pg_exporter_helper_config;

/* The config table entries for a pg_exporter_helper_config member `m` of struct `T`:
 * put PG_EXPORTER_HELPER_FIELDS(T, m) inside an exporter's table. */
#define PG_EXPORTER_HELPER_FIELDS(T, m)                                                            \
    {"timeout", PG_CFG_DURATION, offsetof(T, m.timeout), "5s", "0", NULL, NULL,                    \
     NULL,      false,           "per-send timeout"},                                              \
        {"sending_queue",                                                                          \
         PG_CFG_SECTION,                                                                           \
         offsetof(T, m.sending_queue),                                                             \
         NULL,                                                                                     \
         NULL,                                                                                     \
         NULL,                                                                                     \
         NULL,                                                                                     \
         pg_queue_fields,                                                                          \
         false,                                                                                    \
         "bounded queue in front of the senders"},                                                 \
        {"retry_on_failure",                                                                       \
         PG_CFG_SECTION,                                                                           \
         offsetof(T, m.retry_on_failure),                                                          \
         NULL,                                                                                     \
         NULL,                                                                                     \
         NULL,                                                                                     \
         NULL,                                                                                     \
         pg_retry_fields,                                                                          \
         false,                                                                                    \
         "exponential backoff for retryable errors"},                                              \
    {                                                                                              \
        "batch", PG_CFG_SECTION, offsetof(T, m.batch), NULL, NULL, NULL, NULL, pg_batch_fields,    \
            false, "merge batches before sending"                                                  \
    }

extern const pg_cfg_field pg_queue_fields[];
extern const pg_cfg_field pg_retry_fields[];
extern const pg_cfg_field pg_batch_fields[];

/* Fills cfg with the defaults above (for exporters and tests that build a config by hand). */
void pg_exporter_helper_config_default(pg_exporter_helper_config *cfg);

/* Cross-field checks the tables cannot express (batch or directory without the queue,
 * max_size below min_size, ...). Exporters may call it from their validate; new() does. */
int pg_exporter_helper_config_validate(const pg_exporter_helper_config *cfg, char *err,
                                       size_t errlen);

/* Sends one batch (borrowed) before deadline_ns (CLOCK_MONOTONIC). Returns 0, PG_EAGAIN
 * (retryable) or another negative status (permanent: dropped and counted). Runs on a
 * consumer thread; several may run at once when num_consumers > 1. */
typedef int (*pg_send_fn)(void *ctx, const pg_batch *b, int64_t deadline_ns, char *err,
                          size_t errlen);

typedef struct pg_exporter_helper pg_exporter_helper;

/* An exporter that can build its request from a batch up front gives these: the in-memory
 * queue (no directory, batching off) then calls prepare once, in consume, keeps only the
 * request (the batch is freed at once: a queued 50 KB profile holds its request bytes,
 * not its decoded tree), counts *bytes against queue_bytes, and sends it with send, as
 * often as retries need, without encoding again. prepare borrows b and returns 0 with
 * *req (owned by the helper until it calls free_req) or a status (the batch is refused);
 * send has pg_send_fn's contract. */
typedef struct pg_prepare_ops {
    int (*prepare)(void *ctx, const pg_batch *b, void **req, uint64_t *bytes, char *err,
                   size_t errlen);
    int (*send)(void *ctx, void *req, int64_t deadline_ns, char *err, size_t errlen);
    void (*free_req)(void *req);
} pg_prepare_ops;

/* Installs ops (borrowed for the helper's life; ctx is the send_ctx). Call before start. */
void pg_exporter_helper_set_prepare(pg_exporter_helper *h, const pg_prepare_ops *ops);

/* Called by a send function, on the thread the helper runs it on, before it returns
 * PG_EAGAIN: the server asked for delay_ns before the next attempt (Retry-After, gRPC
 * RetryInfo). The helper then waits the longer of that and its backoff; a delay that would
 * pass retry_on_failure.max_elapsed_time ends the retries (dropped, logged). */
void pg_exporter_helper_retry_after(int64_t delay_ns);

/* Creates a helper for exporter `s->id`; borrows s, cfg and send_ctx for its life.
 * Registers the exporter's standard metrics (pg_component_metrics_init) and the gauges
 * profgate_exporter_queue_{size,capacity,size_bytes,capacity_bytes}{exporter="<id>"}
 * (read at scrape time; forgotten by pg_exporter_helper_free). */
int pg_exporter_helper_new(const pg_component_settings *s, const pg_exporter_helper_config *cfg,
                           pg_send_fn send, void *send_ctx, pg_exporter_helper **out, char *err,
                           size_t errlen);
/* Starts consumer threads; replays a persistent queue left by an earlier run (taking the
 * directory's lock: PG_EAGAIN when another helper or process holds it). */
int pg_exporter_helper_start(pg_exporter_helper *h, char *err, size_t errlen);
/* Enqueues (or, with the queue disabled, sends) b; takes ownership. An in-memory queue
 * holds b's delivery acknowledgement (pipeline/core/ack.h) until the batch is sent
 * (delivered), dropped for good (dropped) or left at shutdown (abandoned); a persistent
 * queue's batch is safe once written, so it takes no hold. Returns 0 once the
 * batch is acknowledged (in memory, or written to disk per the fsync policy), PG_EAGAIN
 * when the queue is full and block_on_overflow is off, before start or once shutdown
 * began, PG_ELIMIT when b alone is larger than queue_bytes. With the queue disabled,
 * returns the send's status (PG_EAGAIN once retries are spent). The persistent queue
 * delivers AT LEAST ONCE: a crash between a send and the deletion of its file resends. */
int pg_exporter_helper_consume(pg_exporter_helper *h, pg_batch *b, char *err, size_t errlen);
/* Stops taking data, drains the queue until deadline_ns, then stops the threads. Whatever
 * a persistent queue still holds stays on disk for the next start (and its directory lock
 * is released); what an in-memory queue still holds is dropped, counted as send_failed and
 * logged once. Sends started during the drain get deadline_ns as their deadline; a send
 * already running runs until its own deadline (at most `timeout` after it started). */
void pg_exporter_helper_shutdown(pg_exporter_helper *h, int64_t deadline_ns);
void pg_exporter_helper_free(pg_exporter_helper *h);

/* Batches held: accepted and not yet finished (queued, being batched, sent or retried);
 * this is what queue_size and queue_bytes bound (for tests and metrics). */
size_t pg_exporter_helper_queue_size(const pg_exporter_helper *h);

#endif
