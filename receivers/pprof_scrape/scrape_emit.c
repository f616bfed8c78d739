/* pprof_scrape results: a finished transfer becomes a batch (pprof decoded with the
 * translator), its resource gets the target's labels, service.name, job, instance and the
 * URL, cumulative profiles become deltas (pipeline/core/delta.h), and the batch goes on.
 * Health per job: up, last duration, samples, errors; a log line on each state change. */
#include "receivers/pprof_scrape/pprof_scrape_int.h"

#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/core/hash.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/translate/pprof.h"

#include <stdio.h>
#include <string.h>

const char *const pg_scrape_reason_names[SR_COUNT] = {"connect",        "timeout", "http_status",
                                                      "body_too_large", "empty",   "decode",
                                                      "transport",      "refused"};

/* Gauge/counter callbacks of one job (read at metrics scrape time). */
static double job_up(void *ctx)
{
    return (double)atomic_load(&((scrape_job *)ctx)->up);
}
static double job_duration(void *ctx)
{
    return (double)atomic_load(&((scrape_job *)ctx)->duration_ns) / 1e9;
}
static double job_samples(void *ctx)
{
    return (double)atomic_load(&((scrape_job *)ctx)->samples);
}
static double job_errors(void *ctx)
{
    return (double)atomic_load(&((scrape_job *)ctx)->errors);
}

/* See pprof_scrape_int.h. */
void pg_scrape_job_metrics(scrape_rx *rx, scrape_job *j)
{
    char labels[1024] = "";
    pg_metrics_label(labels, sizeof labels, "receiver", rx->id);
    pg_metrics_label(labels, sizeof labels, "instance", j->t->endpoint);
    pg_metrics_label(labels, sizeof labels, "profile", rx->kinds[j->kind].name);
    pg_metrics_gauge_fn(rx->m, "profgate_scrape_target_up",
                        "1 when the last scrape of the target's profile type succeeded.", labels,
                        job_up, j);
    pg_metrics_gauge_fn(rx->m, "profgate_scrape_target_duration_seconds",
                        "Duration of the last scrape of the target's profile type.", labels,
                        job_duration, j);
    pg_metrics_gauge_fn(rx->m, "profgate_scrape_target_samples",
                        "Samples passed on from the last scrape (after deltas).", labels,
                        job_samples, j);
    pg_metrics_counter_fn(rx->m, "profgate_scrape_target_errors_total",
                          "Failed scrapes of the target's profile type.", labels, job_errors, j);
    j->registered = true;
}

/* Records a failed scrape: counters, health, one log line when the job goes down. */
static void failed(scrape_rx *rx, scrape_job *j, scrape_reason r, const char *detail)
{
    pg_counter_add(rx->errors[r], 1);
    atomic_fetch_add(&j->errors, 1);
    atomic_store(&j->up, 0);
    atomic_store(&j->samples, 0);
    if (j->state != 0)
        pg_log(PG_LOG_WARN, rx->id, "%s is down: %s: %s", j->url, pg_scrape_reason_names[r],
               detail);
    j->state = 0;
}

/* Classifier for pg_delta_batch: the job's kind decides; inuse_* always passes; series =
 * target x kind x profile type. */
static pg_delta_mode classify(void *ud, pg_batch *b, const pg_profile_iter *it, uint64_t *series)
{
    const scrape_job *j = ud;
    const pg_otlp_profile *p = &it->profile->msg;
    if (!j->rx->kinds[j->kind].delta || pg_delta_is_inuse(b, p)) return PG_DELTA_PASS;
    *series = pg_hash_mix(pg_hash_mix(j->t->seed, j->kind + 1), pg_delta_type_hash(b, p));
    return PG_DELTA_CUMULATIVE;
}

/* Sets a string resource attribute. */
static int set_attr(pg_batch *b, pg_otlp_rprofiles *rp, const char *k, const char *v)
{
    pg_otlp_any a = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    a.value_case = PG_ANY_STRING;
    a.string_value = (char *)v;
    return pg_resource_attr_set(b, rp, k, &a);
}

/* Labels, service.name, job, instance and URL on every resource of b; the scrape time
 * where the profile has none. */
static int decorate(scrape_rx *rx, scrape_job *j, pg_batch *b)
{
    const scrape_target *t = j->t;
    const char *service = rx->job;
    pg_otlp_data *d = pg_batch_data(b);
    int rc = 0;
    for (size_t i = 0; i < t->nl; i++)
        if (!strcmp(t->lk[i], "service_name")) service = t->lv[i];
    for (size_t r = 0; !rc && r < d->n_resource_profiles; r++) {
        pg_otlp_rprofiles *rp = d->resource_profiles[r];
        for (size_t i = 0; !rc && i < t->nl; i++)
            if (strncmp(t->lk[i], "__", 2)) rc = set_attr(b, rp, t->lk[i], t->lv[i]);
        if (!rc) rc = set_attr(b, rp, "service.name", service);
        if (!rc) rc = set_attr(b, rp, "job", rx->job);
        if (!rc) rc = set_attr(b, rp, "instance", t->endpoint);
        if (!rc) rc = set_attr(b, rp, "url.full", j->url);
        if (!rc) rc = set_attr(b, rp, "pprof_scrape.profile", rx->kinds[j->kind].name);
    }
    pg_profile_iter it;
    pg_profile_iter_init(&it, b);
    while (pg_profile_iter_next(&it))
        if (!it.profile->msg.time_unix_nano) it.profile->msg.time_unix_nano = j->started_unix;
    return rc;
}

/* Decodes the body and hands the result on. Returns 0 or the reason of a failure
 * (detail in err). */
static int emit(scrape_rx *rx, scrape_job *j, char *err, size_t errlen, scrape_reason *why)
{
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    pg_batch *b = pg_batch_new(lim.max_arena);
    if (!b) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    *why = SR_DECODE;
    int rc = pg_pprof_decode(b, j->body.data, j->body.len, &lim, NULL, err, errlen);
    if (!rc) rc = decorate(rx, j, b);
    pg_delta_stats st = {0};
    if (!rc)
        rc =
            pg_delta_batch(rx->delta, b, classify, j, (uint64_t)pg_now_mono_ns(), &st, err, errlen);
    pg_delta_metrics_add(&rx->dm, &st);
    if (rc) {
        pg_batch_free(b);
        return rc;
    }
    size_t profiles = pg_batch_profile_count(b), samples = pg_batch_sample_count(b);
    atomic_store(&j->samples, (int64_t)samples);
    if (!profiles) { /* primed: nothing to pass on yet */
        pg_batch_free(b);
        return 0;
    }
    pg_batch_set_origin(b, rx->id, j->started_unix);
    *why = SR_REFUSED;
    rc = rx->next.consume ? pg_consume(&rx->next, b, err, errlen) : (pg_batch_free(b), 0);
    if (rc) {
        pg_counter_add(rx->cm.refused_profiles, profiles);
        pg_counter_add(rx->cm.refused_samples, samples);
        return rc;
    }
    pg_counter_add(rx->cm.accepted_profiles, profiles);
    pg_counter_add(rx->cm.accepted_samples, samples);
    return 0;
}

/* See pprof_scrape_int.h. */
void pg_scrape_done(scrape_rx *rx, scrape_job *j, CURLcode res)
{
    char err[512] = "";
    long status = 0;
    atomic_store(&j->duration_ns, pg_now_mono_ns() - j->started_mono);
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
    if (res != CURLE_OK) {
        scrape_reason r =
            res == CURLE_OPERATION_TIMEDOUT                                     ? SR_TIMEOUT
            : res == CURLE_COULDNT_CONNECT || res == CURLE_COULDNT_RESOLVE_HOST ? SR_CONNECT
            : (res == CURLE_WRITE_ERROR && j->too_large) || res == CURLE_FILESIZE_EXCEEDED
                ? SR_BODY_TOO_LARGE
                : SR_TRANSPORT;
        failed(rx, j, r, curl_easy_strerror(res));
    } else if (status != 200) {
        snprintf(err, sizeof err, "HTTP %ld", status);
        failed(rx, j, SR_HTTP_STATUS, err);
    } else if (!j->body.len) {
        failed(rx, j, SR_EMPTY, "empty body");
    } else {
        pg_counter_add(rx->cm.accepted_bytes, j->body.len);
        scrape_reason why = SR_DECODE;
        if (emit(rx, j, err, sizeof err, &why)) {
            if (why == SR_REFUSED) { /* not the target's fault: it stays up */
                pg_counter_add(rx->errors[SR_REFUSED], 1);
                pg_log(PG_LOG_WARN, rx->id, "%s: profiles dropped, refused downstream: %s", j->url,
                       err);
            } else {
                failed(rx, j, why, err);
            }
        } else {
            atomic_store(&j->up, 1);
            if (j->state == 0) pg_log(PG_LOG_INFO, rx->id, "%s is up again", j->url);
            j->state = 1;
        }
    }
    pg_buf_free(&j->body);
    if (j->easy && !j->in_flight) { /* the connection stays in the multi's cache */
        curl_easy_cleanup(j->easy);
        j->easy = NULL;
    }
}
