/* pprof_scrape's HTTP side: one libcurl multi handle driven by the host's libevent loop
 * (CURLMOPT_SOCKETFUNCTION / TIMERFUNCTION + curl_multi_socket_action). A job has an easy
 * handle only while it scrapes: connections live in the multi's cache, which keeps one
 * per job (CURLMOPT_MAXCONNECTS), so they are reused across scrapes without keeping an
 * easy handle (and its receive buffer) per job between them (1,000 targets x 2 types:
 * 180 MB RSS with idle handles kept). */
#include "receivers/pprof_scrape/pprof_scrape_int.h"

#include "pipeline/core/err.h"
#include "pipeline/telemetry/log.h"

#include <stdlib.h>
#include <string.h>

#define CURL_SOCKET_CB_ERROR (-1) /* CURLMOPT_SOCKETFUNCTION's failure value */

/* Collects finished transfers: removes each from the multi (its connection goes back to
 * the cache) and hands it to pg_scrape_done. */
static void check_done(scrape_rx *rx)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(rx->multi, &left))) {
        if (msg->msg != CURLMSG_DONE) continue;
        scrape_job *j = NULL;
        CURL *e = msg->easy_handle;
        CURLcode res = msg->data.result;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&j);
        curl_multi_remove_handle(rx->multi, e);
        if (j) {
            j->in_flight = false;
            pg_scrape_done(rx, j, res);
        }
    }
}

/* Socket readiness (loop thread): tells curl, then collects. */
static void on_socket(evutil_socket_t fd, short what, void *arg)
{
    scrape_rx *rx = arg;
    int flags = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(rx->multi, fd, flags, &running);
    check_done(rx);
}

/* curl's timeout expired (loop thread). */
static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    scrape_rx *rx = arg;
    int running;
    curl_multi_socket_action(rx->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(rx);
}

/* CURLMOPT_TIMERFUNCTION: (re)arms the loop timer; never acts from here. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    scrape_rx *rx = userp;
    if (timeout_ms < 0) {
        evtimer_del(rx->curl_timer);
        return 0;
    }
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    evtimer_add(rx->curl_timer, &tv);
    return 0;
}

/* CURLMOPT_SOCKETFUNCTION: one persistent event per socket, kept with curl_multi_assign. */
static int socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    scrape_rx *rx = userp;
    struct event *ev = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (ev) event_free(ev);
        curl_multi_assign(rx->multi, s, NULL);
        return 0;
    }
    short kind = (short)((what & CURL_POLL_IN ? EV_READ : 0) |
                         (what & CURL_POLL_OUT ? EV_WRITE : 0) | EV_PERSIST);
    if (ev) {
        event_del(ev);
        event_assign(ev, rx->base, s, kind, on_socket, rx);
    } else {
        ev = event_new(rx->base, s, kind, on_socket, rx);
        if (!ev) return CURL_SOCKET_CB_ERROR;
        curl_multi_assign(rx->multi, s, ev);
    }
    event_add(ev, NULL);
    return 0;
}

/* See pprof_scrape_int.h. */
int pg_scrape_http_init(scrape_rx *rx, char *err, size_t errlen)
{
    rx->multi = curl_multi_init();
    rx->curl_timer = evtimer_new(rx->base, on_timeout, rx);
    if (!rx->multi || !rx->curl_timer) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    curl_multi_setopt(rx->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(rx->multi, CURLMOPT_SOCKETDATA, rx);
    curl_multi_setopt(rx->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(rx->multi, CURLMOPT_TIMERDATA, rx);
    /* one cached connection per job at most: staggered scrapes reuse them */
    long maxconn = (long)(rx->cfg.max_targets * (int64_t)(rx->n_kinds ? rx->n_kinds : 1));
    curl_multi_setopt(rx->multi, CURLMOPT_MAXCONNECTS, maxconn > 100000 ? 100000L : maxconn);
    return 0;
}

/* See pprof_scrape_int.h. */
void pg_scrape_http_free(scrape_rx *rx)
{
    if (rx->multi) curl_multi_cleanup(rx->multi);
    rx->multi = NULL;
    if (rx->curl_timer) event_free(rx->curl_timer);
    rx->curl_timer = NULL;
}

/* CURLOPT_WRITEFUNCTION: appends to the job's body up to max_body_size. */
static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    scrape_job *j = ud;
    size_t len = size * n;
    if (j->body.len + len > j->rx->cfg.max_body_size) {
        j->too_large = true;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    return pg_buf_append(&j->body, p, len) ? 0 : len;
}

/* See pprof_scrape_int.h. */
int pg_scrape_http_job_init(scrape_rx *rx, scrape_job *j)
{
    CURL *e = j->easy = curl_easy_init();
    if (!e) return PG_ENOMEM;
    const scrape_kind *k = &rx->kinds[j->kind];
    int64_t timeout_ms = rx->cfg.scrape_timeout / 1000000;
    if (k->seconds) timeout_ms += rx->cfg.scrape_interval / 1000000 - 1000;
    curl_easy_setopt(e, CURLOPT_URL, j->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)j);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(rx->cfg.scrape_timeout / 1000000));
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""); /* gzip, deflate, ... as curl supports */
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)rx->cfg.max_body_size);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "profgate-pprof-scrape/0.1");
    if (rx->headers) curl_easy_setopt(e, CURLOPT_HTTPHEADER, rx->headers);
    if (rx->bearer) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
        curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, rx->bearer);
    } else if (rx->user) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, rx->user);
        curl_easy_setopt(e, CURLOPT_PASSWORD, rx->pass);
    }
    if (rx->ca) curl_easy_setopt(e, CURLOPT_CAINFO, rx->ca);
    if (rx->cert) curl_easy_setopt(e, CURLOPT_SSLCERT, rx->cert);
    if (rx->key) curl_easy_setopt(e, CURLOPT_SSLKEY, rx->key);
    if (rx->cfg.tls.insecure_skip_verify) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    return 0;
}

/* See pprof_scrape_int.h. */
void pg_scrape_http_start(scrape_rx *rx, scrape_job *j)
{
    pg_buf_free(&j->body);
    j->too_large = false;
    j->started_mono = pg_now_mono_ns();
    j->started_unix = pg_now_unix_ns();
    if (!j->easy && pg_scrape_http_job_init(rx, j)) {
        pg_scrape_done(rx, j, CURLE_OUT_OF_MEMORY);
        return;
    }
    if (curl_multi_add_handle(rx->multi, j->easy) != CURLM_OK) {
        pg_scrape_done(rx, j, CURLE_FAILED_INIT);
        return;
    }
    j->in_flight = true;
}

/* See pprof_scrape_int.h. */
void pg_scrape_http_job_free(scrape_rx *rx, scrape_job *j)
{
    if (j->easy) {
        if (j->in_flight) curl_multi_remove_handle(rx->multi, j->easy);
        curl_easy_cleanup(j->easy);
    }
    j->easy = NULL;
    j->in_flight = false;
    pg_buf_free(&j->body);
}
