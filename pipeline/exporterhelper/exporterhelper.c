/* The exporter helper's lifecycle: new, start (replay), consume (admission: capacity,
 * write-ahead), shutdown (drain until the deadline, then stop) and free. Sending and
 * retrying are in exporterhelper_send.c, batching in exporterhelper_batch.c.
 *
 * Capacity: queue_size counts accepted batches and queue_bytes their OTLP protobuf size
 * (pg_otlp_encoded_size of the batch's tree for the in-memory queue, which
 * is exactly what pg_otlp_encode would write; the file size for the persistent queue; the
 * request's size when the exporter prepares requests at admission), from
 * consume until the batch is finished, so batches being merged, sent or waiting for a
 * retry still count. A batch larger than queue_bytes is refused with PG_ELIMIT.
 *
 * Delivery: the persistent queue is AT LEAST ONCE. A file is deleted only after its batch
 * was sent or dropped for good; a crash between a successful send and the deletion sends
 * the batch again after the restart, and so does a shutdown that leaves one part of a
 * split batch unsent (the whole input batch is replayed). */
#include "pipeline/core/err.h"
#include "pipeline/exporterhelper/exporterhelper_int.h"
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double gauge_size(void *ctx)
{
    const pg_exporter_helper *h = ctx;
    return h->q ? (double)pg_queue_held(h->q) : 0;
}

static double gauge_bytes(void *ctx)
{
    const pg_exporter_helper *h = ctx;
    return h->q ? (double)pg_queue_held_bytes(h->q) : 0;
}

static double gauge_capacity(void *ctx)
{
    const pg_exporter_helper *h = ctx;
    return h->q ? (double)h->cfg->sending_queue.queue_size : 0;
}

static double gauge_capacity_bytes(void *ctx)
{
    const pg_exporter_helper *h = ctx;
    return h->q ? (double)h->cfg->sending_queue.queue_bytes : 0;
}

/* Registers the queue gauges, read at scrape time through h (forgotten in free). */
static void register_gauges(pg_exporter_helper *h)
{
    char labels[512] = "";
    if (!h->metrics || pg_metrics_label(labels, sizeof labels, "exporter", h->id)) return;
    pg_metrics_gauge_fn(h->metrics, "profgate_exporter_queue_size",
                        "Batches held by the sending queue (queued, batching, being sent).", labels,
                        gauge_size, h);
    pg_metrics_gauge_fn(h->metrics, "profgate_exporter_queue_capacity",
                        "Capacity of the sending queue in batches.", labels, gauge_capacity, h);
    pg_metrics_gauge_fn(h->metrics, "profgate_exporter_queue_size_bytes",
                        "Encoded bytes held by the sending queue.", labels, gauge_bytes, h);
    pg_metrics_gauge_fn(h->metrics, "profgate_exporter_queue_capacity_bytes",
                        "Capacity of the sending queue in encoded bytes.", labels,
                        gauge_capacity_bytes, h);
    h->quarantined = pg_metrics_counter(
        h->metrics, "profgate_exporter_queue_quarantined_total",
        "Persistent queue files that did not decode on replay, moved to corrupt/.", labels);
}

/* Builds the helper; borrows s, cfg and send_ctx. No thread runs until start. */
int pg_exporter_helper_new(const pg_component_settings *s, const pg_exporter_helper_config *cfg,
                           pg_send_fn send, void *send_ctx, pg_exporter_helper **out, char *err,
                           size_t errlen)
{
    *out = NULL;
    int rc = pg_exporter_helper_config_validate(cfg, err, errlen);
    if (rc) {
        pg_err_prefix(err, errlen, s->id);
        return rc;
    }
    pg_exporter_helper *h = calloc(1, sizeof *h);
    if (!h || !(h->id = strdup(s->id))) {
        free(h);
        return pg_err(err, errlen, PG_ENOMEM, "%s: out of memory", s->id);
    }
    h->cfg = cfg;
    h->send = send;
    h->send_ctx = send_ctx;
    h->state = PG_EH_NEW;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (cfg->sending_queue.enabled && !(h->q = pg_queue_new((size_t)cfg->sending_queue.queue_size,
                                                            cfg->sending_queue.queue_bytes))) {
        pg_exporter_helper_free(h);
        return pg_err(err, errlen, PG_ENOMEM, "%s: out of memory", s->id);
    }
    h->metrics = s->host ? pg_host_metrics(s->host) : NULL;
    pg_component_metrics_init(&h->cm, h->metrics, "exporter", h->id);
    register_gauges(h);
    *out = h;
    return 0;
}

/* Queues what an earlier run left on disk, in sequence order, over capacity if need be
 * (the batches stay on disk until a consumer loads them). */
static int replay(pg_exporter_helper *h, char *err, size_t errlen)
{
    const pg_persist_entry *left;
    size_t n = pg_persist_leftovers(h->persist, &left);
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        pg_eh_item *it = calloc(1, sizeof *it);
        if (!it) return pg_err(err, errlen, PG_ENOMEM, "%s: out of memory replaying", h->id);
        it->seq = left[i].seq;
        it->bytes = left[i].size;
        bytes += it->bytes;
        pg_queue_reserve(h->q, it->bytes, PG_QUEUE_FORCE, NULL, 0);
        pg_queue_push(h->q, &it->link);
    }
    if (n)
        pg_log(PG_LOG_INFO, h->id,
               "persistent queue %s: replaying %zu batches (%llu bytes) left by an earlier run",
               h->cfg->sending_queue.directory, n, (unsigned long long)bytes);
    return 0;
}

/* Stops every thread at once and finishes what they leave (memory: dropped and counted;
 * persistent: kept on disk). Used by shutdown after the drain and by a failed start. */
static void stop_all(pg_exporter_helper *h)
{
    pthread_mutex_lock(&h->mu);
    h->hard_stop = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    if (h->q) pg_queue_stop(h->q);
    if (h->ready) pg_queue_stop(h->ready);
    if (h->batcher_on) pthread_join(h->batcher_thread, NULL);
    h->batcher_on = false;
    for (size_t i = 0; i < h->nthreads; i++)
        pthread_join(h->threads[i], NULL);
    h->nthreads = 0;
    /* callers inside consume return promptly now (reservations fail, sleeps end) */
    pthread_mutex_lock(&h->mu);
    while (h->active)
        pthread_cond_wait(&h->cv, &h->mu);
    pthread_mutex_unlock(&h->mu);
    for (pg_queue_item *qi = h->ready ? pg_queue_take_all(h->ready) : NULL, *next; qi; qi = next) {
        next = qi->next;
        pg_eh_unit_finish(h, (pg_eh_unit *)qi, PG_EH_LEFT, true);
    }
    if (h->batcher) pg_eh_batcher_leave_all(h);
    for (pg_queue_item *qi = h->q ? pg_queue_take_all(h->q) : NULL, *next; qi; qi = next) {
        next = qi->next;
        pg_eh_item_leave(h, (pg_eh_item *)qi);
    }
}

/* Spawns the batcher and the consumers; on failure everything started is stopped. */
static int spawn(pg_exporter_helper *h, char *err, size_t errlen)
{
    const pg_exporter_helper_config *c = h->cfg;
    if (c->batch.enabled) {
        if (!(h->ready = pg_queue_new(0, 0)) || !(h->batcher = pg_eh_batcher_new()))
            return pg_err(err, errlen, PG_ENOMEM, "%s: out of memory", h->id);
        if (pthread_create(&h->batcher_thread, NULL, pg_eh_batcher_main, h))
            return pg_err(err, errlen, PG_ENOMEM, "%s: cannot start the batcher thread", h->id);
        h->batcher_on = true;
    }
    size_t n = (size_t)c->sending_queue.num_consumers;
    if (!(h->threads = calloc(n, sizeof *h->threads)))
        return pg_err(err, errlen, PG_ENOMEM, "%s: out of memory", h->id);
    for (size_t i = 0; i < n; i++) {
        if (pthread_create(&h->threads[i], NULL, pg_eh_consumer_main, h))
            return pg_err(err, errlen, PG_ENOMEM, "%s: cannot start consumer threads", h->id);
        h->nthreads++;
    }
    return 0;
}

/* Opens the persistent queue (lock, replay), then starts the threads. */
int pg_exporter_helper_start(pg_exporter_helper *h, char *err, size_t errlen)
{
    pthread_mutex_lock(&h->mu);
    int state = h->state;
    pthread_mutex_unlock(&h->mu);
    if (state != PG_EH_NEW) return pg_err(err, errlen, PG_EINVAL, "%s: started twice", h->id);
    const struct pg_queue_config *qc = &h->cfg->sending_queue;
    int rc = 0;
    if (qc->enabled && qc->directory) {
        rc = pg_persist_open(qc->directory, qc->fsync, h->id, &h->persist, err, errlen);
        if (rc) pg_err_prefix(err, errlen, h->id);
        if (!rc) rc = replay(h, err, errlen);
    }
    if (!rc && qc->enabled) rc = spawn(h, err, errlen);
    pthread_mutex_lock(&h->mu);
    h->state = rc ? PG_EH_STOPPED : PG_EH_RUNNING;
    pthread_mutex_unlock(&h->mu);
    if (rc) {
        stop_all(h);
        pg_persist_close(h->persist);
        h->persist = NULL;
    }
    return rc;
}

/* Counts a refused batch and frees it. */
static int refuse(pg_exporter_helper *h, pg_batch *b, size_t profiles, size_t samples, int rc)
{
    pg_counter_add(h->cm.enqueue_failed_profiles, profiles);
    pg_counter_add(h->cm.enqueue_failed_samples, samples);
    pg_batch_free(b);
    return rc;
}

void pg_exporter_helper_set_prepare(pg_exporter_helper *h, const pg_prepare_ops *ops)
{
    h->prep = ops;
}

/* Whether queued batches become prepared requests at admission (in-memory queue, no
 * batching: nothing later needs the tree). */
static bool prepares(const pg_exporter_helper *h)
{
    return h->prep && !h->persist && !h->cfg->batch.enabled;
}

/* The queued form of b and its size: a persistent queue's file image (*img), a prepared
 * request (*req), or the batch itself (its encoded size). Borrows b. */
static int admission_form(pg_exporter_helper *h, const pg_batch *b, pg_buf *img, void **req,
                          uint64_t *bytes, char *err, size_t errlen)
{
    int rc = 0;
    if (h->persist) {
        rc = pg_persist_encode(b, img, err, errlen);
        *bytes = img->len;
    } else if (prepares(h)) {
        rc = h->prep->prepare(h->send_ctx, b, req, bytes, err, errlen);
    } else {
        *bytes = pg_otlp_encoded_size(b);
    }
    return rc;
}

/* Admission into the queue: size, reserve (maybe blocking), write-ahead, push. */
static int enqueue(pg_exporter_helper *h, pg_batch *b, size_t profiles, size_t samples, char *err,
                   size_t errlen)
{
    const struct pg_queue_config *qc = &h->cfg->sending_queue;
    pg_buf img = {0};
    void *req = NULL;
    uint64_t bytes = 0;
    int rc = admission_form(h, b, &img, &req, &bytes, err, errlen);
    if (rc) {
        pg_buf_free(&img);
        return refuse(h, b, profiles, samples, rc);
    }
    pg_eh_item *it = calloc(1, sizeof *it);
    if (!it) {
        pg_buf_free(&img);
        if (req) h->prep->free_req(req);
        return refuse(h, b, profiles, samples, pg_err(err, errlen, PG_ENOMEM, "out of memory"));
    }
    rc = pg_queue_reserve(h->q, bytes, qc->block_on_overflow ? PG_QUEUE_BLOCK : PG_QUEUE_REFUSE,
                          err, errlen);
    if (!rc && h->persist) {
        rc = pg_persist_write(h->persist, &img, &it->seq, err, errlen);
        if (rc) {
            /* one line per failed write: each is a refusal the sender sees */
            pg_log(PG_LOG_ERROR, h->id, "%s", err ? err : "persistent queue write failed");
            pg_queue_release(h->q, bytes);
            rc = PG_EAGAIN;
        }
    }
    pg_buf_free(&img);
    if (rc) {
        free(it);
        if (req) h->prep->free_req(req);
        return refuse(h, b, profiles, samples, rc);
    }
    it->bytes = bytes;
    it->profiles = profiles;
    it->samples = samples;
    /* a persistent queue's batch is safe once written; an in-memory one only once sent */
    if (!h->persist) it->ack = pg_ack_hold(pg_batch_ack(b));
    if (req) { /* the request is all a send needs: the tree goes now */
        it->req = req;
        pg_batch_free(b);
    } else {
        it->b = b;
    }
    pg_queue_push(h->q, &it->link);
    return 0;
}

/* Queue disabled: sends on the caller's thread, retrying as configured. */
static int send_now(pg_exporter_helper *h, pg_batch *b, size_t profiles, size_t samples, char *err,
                    size_t errlen)
{
    pg_eh_unit u = {.b = b, .profiles = profiles, .samples = samples};
    u.bytes = pg_otlp_encoded_size(b);
    int status = 0;
    pg_eh_outcome o = pg_eh_unit_send(h, &u, false, &status, err, errlen);
    if (o == PG_EH_SENT) return 0;
    if (o == PG_EH_LEFT) return pg_err(err, errlen, PG_EAGAIN, "exporter is shutting down");
    return status ? status : PG_EIO;
}

int pg_exporter_helper_consume(pg_exporter_helper *h, pg_batch *b, char *err, size_t errlen)
{
    if (!b) return pg_err(err, errlen, PG_EINVAL, "%s: no batch", h->id);
    size_t profiles = pg_batch_profile_count(b), samples = pg_batch_sample_count(b);
    pthread_mutex_lock(&h->mu);
    int state = h->state;
    if (state == PG_EH_RUNNING) h->active++;
    pthread_mutex_unlock(&h->mu);
    if (state != PG_EH_RUNNING)
        return refuse(h, b, profiles, samples,
                      pg_err(err, errlen, PG_EAGAIN, "%s: exporter %s", h->id,
                             state == PG_EH_NEW ? "not started" : "is shutting down"));
    int rc = h->q ? enqueue(h, b, profiles, samples, err, errlen)
                  : send_now(h, b, profiles, samples, err, errlen);
    if (rc) pg_err_prefix(err, errlen, h->id);
    pthread_mutex_lock(&h->mu);
    if (!--h->active) pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return rc;
}

/* Waits (mu held) until no consume call is active or the deadline passes. */
static void wait_callers(pg_exporter_helper *h, int64_t deadline_ns)
{
    struct timespec ts = {(time_t)(deadline_ns / 1000000000), (long)(deadline_ns % 1000000000)};
    while (h->active && pg_now_mono_ns() < deadline_ns)
        pthread_cond_timedwait(&h->cv, &h->mu, &ts);
}

/* Refuses new data, drains until the deadline, stops, and reports what was left. */
void pg_exporter_helper_shutdown(pg_exporter_helper *h, int64_t deadline_ns)
{
    pthread_mutex_lock(&h->mu);
    if (h->state != PG_EH_RUNNING) {
        if (h->state == PG_EH_NEW) h->state = PG_EH_STOPPED;
        pthread_mutex_unlock(&h->mu);
        return;
    }
    h->state = PG_EH_STOPPING;
    h->deadline = deadline_ns;
    pthread_cond_broadcast(&h->cv);
    if (!h->q) wait_callers(h, deadline_ns);
    pthread_mutex_unlock(&h->mu);
    if (h->q) {
        pg_queue_close(h->q);
        pg_queue_wait_idle(h->q, deadline_ns);
    }
    stop_all(h);
    size_t units = atomic_load(&h->left_units);
    if (units && h->persist)
        pg_log(PG_LOG_INFO, h->id,
               "shutdown: %zu batches (%zu profiles, %zu samples) stay in %s for the next start",
               units, atomic_load(&h->left_profiles), atomic_load(&h->left_samples),
               h->cfg->sending_queue.directory);
    else if (units)
        pg_log(PG_LOG_WARN, h->id,
               "shutdown: dropped %zu batches (%zu profiles, %zu samples) not sent by the deadline",
               units, atomic_load(&h->left_profiles), atomic_load(&h->left_samples));
    pg_persist_close(h->persist);
    h->persist = NULL;
    pthread_mutex_lock(&h->mu);
    h->state = PG_EH_STOPPED;
    pthread_mutex_unlock(&h->mu);
}

/* Shuts down at once if still running, then frees everything. */
void pg_exporter_helper_free(pg_exporter_helper *h)
{
    if (!h) return;
    pg_exporter_helper_shutdown(h, pg_now_mono_ns());
    pg_metrics_forget(h->metrics, h);
    pg_persist_close(h->persist);
    pg_eh_batcher_free(h->batcher);
    pg_queue_free(h->ready);
    pg_queue_free(h->q);
    free(h->threads);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h->id);
    free(h);
}

size_t pg_exporter_helper_queue_size(const pg_exporter_helper *h)
{
    return h->q ? pg_queue_held(h->q) : 0;
}
