/* Sending: consumer threads, retry with backoff, per-send deadlines, and finishing units
 * and items (counters, file deletion, capacity release). */
#include "pipeline/core/err.h"
#include "pipeline/exporterhelper/exporterhelper_int.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/exporterhelper/retry.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t pg_eh_send_deadline(pg_exporter_helper *h)
{
    int64_t now = pg_now_mono_ns(), t = h->cfg->timeout;
    int64_t dl = t > 0 && t < INT64_MAX - now ? now + t : INT64_MAX;
    pthread_mutex_lock(&h->mu);
    if (h->state == PG_EH_STOPPING && h->deadline < dl) dl = h->deadline;
    pthread_mutex_unlock(&h->mu);
    return dl;
}

/* False once shutdown forbids waiting until until_ns (mu held). */
static bool may_wait(const pg_exporter_helper *h, int64_t until_ns)
{
    return !h->hard_stop && !(h->state == PG_EH_STOPPING && until_ns > h->deadline);
}

bool pg_eh_sleep_until(pg_exporter_helper *h, int64_t until_ns)
{
    bool ok = false;
    struct timespec ts = {(time_t)(until_ns / 1000000000), (long)(until_ns % 1000000000)};
    pthread_mutex_lock(&h->mu);
    for (;;) {
        if (!may_wait(h, until_ns)) break;
        if (pg_now_mono_ns() >= until_ns) {
            ok = true;
            break;
        }
        pthread_cond_timedwait(&h->cv, &h->mu, &ts);
    }
    pthread_mutex_unlock(&h->mu);
    return ok;
}

pg_eh_cover *pg_eh_cover_new(pg_eh_item *it)
{
    pg_eh_cover *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    it->link.next = NULL;
    c->items = it;
    atomic_init(&c->refs, 1);
    atomic_init(&c->keep, false);
    atomic_init(&c->worst, PG_ACK_DELIVERED);
    return c;
}

/* Deletes the item's file unless kept, settles its ack hold with `outcome`, frees it, and
 * gives its slot back (last: shutdown may proceed as soon as nothing is held). */
static void finish_item(pg_exporter_helper *h, pg_eh_item *it, bool keep, pg_ack_outcome outcome)
{
    if (it->seq && !keep && h->persist) pg_persist_remove(h->persist, it->seq);
    pg_ack_settle(it->ack, outcome);
    pg_batch_free(it->b);
    if (it->req) h->prep->free_req(it->req);
    uint64_t bytes = it->bytes;
    free(it);
    pg_queue_release(h->q, bytes);
}

/* What an ending means for the source of the data (see pipeline/core/ack.h). */
static pg_ack_outcome ack_outcome(pg_eh_outcome how)
{
    return how == PG_EH_SENT      ? PG_ACK_DELIVERED
           : how == PG_EH_DROPPED ? PG_ACK_DROPPED
                                  : PG_ACK_ABANDONED;
}

/* Counters for one ending; leftovers of the in-memory queue are lost, so also failures. */
static void count(pg_exporter_helper *h, size_t profiles, size_t samples, uint64_t bytes,
                  pg_eh_outcome how)
{
    const pg_component_metrics *cm = &h->cm;
    if (how == PG_EH_SENT) {
        pg_counter_add(cm->sent_profiles, profiles);
        pg_counter_add(cm->sent_samples, samples);
        pg_counter_add(cm->sent_bytes, bytes);
        return;
    }
    if (how == PG_EH_LEFT) {
        atomic_fetch_add(&h->left_units, 1);
        atomic_fetch_add(&h->left_profiles, profiles);
        atomic_fetch_add(&h->left_samples, samples);
        if (h->persist) return;
    }
    pg_counter_add(cm->failed_profiles, profiles);
    pg_counter_add(cm->failed_samples, samples);
}

void pg_eh_unit_finish(pg_exporter_helper *h, pg_eh_unit *u, pg_eh_outcome how, bool free_u)
{
    count(h, u->profiles, u->samples, u->bytes, how);
    pg_batch_free(u->b);
    u->b = NULL;
    if (u->req) h->prep->free_req(u->req);
    u->req = NULL;
    pg_eh_cover *c = u->cover;
    if (free_u) free(u);
    if (!c) return;
    if (how == PG_EH_LEFT && h->persist) atomic_store(&c->keep, true);
    int o = (int)ack_outcome(how), cur = atomic_load(&c->worst);
    while (o > cur && !atomic_compare_exchange_weak(&c->worst, &cur, o)) {
    }
    if (atomic_fetch_sub(&c->refs, 1) != 1) return;
    bool keep = atomic_load(&c->keep);
    pg_ack_outcome worst = (pg_ack_outcome)atomic_load(&c->worst);
    for (pg_eh_item *it = c->items, *next; it; it = next) {
        next = (pg_eh_item *)it->link.next;
        finish_item(h, it, keep, worst);
    }
    free(c);
}

void pg_eh_item_leave(pg_exporter_helper *h, pg_eh_item *it)
{
    count(h, it->profiles, it->samples, it->bytes, PG_EH_LEFT);
    finish_item(h, it, true, PG_ACK_ABANDONED);
}

int pg_eh_item_load(pg_exporter_helper *h, pg_eh_item *it)
{
    if (it->b || it->req) return 0;
    char msg[512] = "";
    int rc = pg_persist_load(h->persist, it->seq, &it->b, msg, sizeof msg);
    if (rc) {
        /* an undecodable file was quarantined (and logged) by pg_persist_load; one that
         * cannot be read now stays for the next start */
        if (rc == PG_EIO || rc == PG_ENOMEM)
            pg_log(PG_LOG_ERROR, h->id, "persistent queue: batch %llu kept for the next start: %s",
                   (unsigned long long)it->seq, msg);
        else
            pg_counter_add(h->quarantined, 1);
        finish_item(h, it, true, PG_ACK_ABANDONED);
        return rc;
    }
    it->profiles = pg_batch_profile_count(it->b);
    it->samples = pg_batch_sample_count(it->b);
    return 0;
}

/* The delay the current send asked for (0 = none); per consumer thread. */
static _Thread_local int64_t retry_hint;

void pg_exporter_helper_retry_after(int64_t delay_ns)
{
    retry_hint = delay_ns > 0 ? delay_ns : 0;
}

/* Sends with retries; see exporterhelper_int.h. */
pg_eh_outcome pg_eh_unit_send(pg_exporter_helper *h, pg_eh_unit *u, bool free_u, int *status,
                              char *err, size_t errlen)
{
    const struct pg_retry_config *rc = &h->cfg->retry_on_failure;
    pg_backoff bo;
    char msg[512];
    int64_t first = pg_now_mono_ns();
    pg_eh_outcome how = PG_EH_DROPPED;
    int st = 0;
    for (int attempt = 1;; attempt++) {
        int64_t dl = pg_eh_send_deadline(h), t0 = pg_now_mono_ns();
        msg[0] = 0;
        retry_hint = 0;
        st = u->req ? h->prep->send(h->send_ctx, u->req, dl, msg, sizeof msg)
                    : h->send(h->send_ctx, u->b, dl, msg, sizeof msg);
        int64_t now = pg_now_mono_ns();
        pg_histogram_observe(h->cm.send_latency, (double)(now - t0) / 1e9);
        if (!msg[0]) snprintf(msg, sizeof msg, "%s", pg_status_name(st));
        if (st == 0) {
            how = PG_EH_SENT;
            break;
        }
        if (st != PG_EAGAIN || !rc->enabled) {
            pg_log(PG_LOG_ERROR, h->id, "dropping %zu profiles (%zu samples): %s error: %s",
                   u->profiles, u->samples,
                   st == PG_EAGAIN ? "retryable (retry disabled)" : "permanent", msg);
            break;
        }
        if (attempt == 1) pg_backoff_init(&bo, rc, first, (uint64_t)(uintptr_t)u ^ (uint64_t)first);
        int64_t wait = pg_backoff_next(&bo, now);
        if (wait >= 0 && retry_hint > wait) {
            wait = retry_hint;
            if (rc->max_elapsed_time > 0 && now + wait - first > rc->max_elapsed_time)
                wait = PG_BACKOFF_STOP; /* the server's delay is past the retry budget */
        }
        if (wait < 0) {
            pg_log(PG_LOG_ERROR, h->id,
                   "dropping %zu profiles (%zu samples) after %d attempts in %.3fs: %s",
                   u->profiles, u->samples, attempt, (double)(now - first) / 1e9, msg);
            break;
        }
        pthread_mutex_lock(&h->mu);
        bool may = may_wait(h, now + wait);
        pthread_mutex_unlock(&h->mu);
        if (may)
            pg_log(PG_LOG_WARN, h->id,
                   "send of %zu profiles failed (attempt %d), retrying in %.3fs: %s", u->profiles,
                   attempt, (double)wait / 1e9, msg);
        if (!may || !pg_eh_sleep_until(h, now + wait)) {
            how = PG_EH_LEFT;
            break;
        }
        pg_counter_add(h->cm.retries, 1);
    }
    if (how != PG_EH_SENT && err) snprintf(err, errlen, "%s", msg);
    if (status) *status = st;
    pg_eh_unit_finish(h, u, how, free_u);
    return how;
}

/* Wraps a popped item in a heap unit with its own cover. NULL on OOM. */
static pg_eh_unit *unit_of(pg_eh_item *it)
{
    pg_eh_unit *u = calloc(1, sizeof *u);
    pg_eh_cover *c = u ? pg_eh_cover_new(it) : NULL;
    if (!c) {
        free(u);
        return NULL;
    }
    u->b = it->b;
    it->b = NULL;
    u->req = it->req;
    it->req = NULL;
    u->cover = c;
    u->profiles = it->profiles;
    u->samples = it->samples;
    u->bytes = it->bytes;
    return u;
}

void *pg_eh_consumer_main(void *arg)
{
    pg_exporter_helper *h = arg;
    for (;;) {
        pg_queue_item *qi;
        if (h->ready) {
            if (pg_queue_pop(h->ready, INT64_MAX, &qi) != PG_QUEUE_ITEM) break;
            pg_eh_unit_send(h, (pg_eh_unit *)qi, true, NULL, NULL, 0);
            continue;
        }
        if (pg_queue_pop(h->q, INT64_MAX, &qi) != PG_QUEUE_ITEM) break;
        pg_eh_item *it = (pg_eh_item *)qi;
        if (pg_eh_item_load(h, it)) continue;
        pg_eh_unit *u = unit_of(it);
        if (!u) {
            pg_log(PG_LOG_ERROR, h->id, "out of memory: %zu profiles not sent", it->profiles);
            pg_eh_item_leave(h, it);
            continue;
        }
        pg_eh_unit_send(h, u, true, NULL, NULL, 0);
    }
    return NULL;
}
