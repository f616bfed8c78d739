/* The outgoing HTTP client (see http_client.h): a pool of libcurl easy handles sharing one
 * connection, DNS and TLS-session cache through a curl share handle, per-request headers,
 * deadline and body cap, and the answer's status, Content-Type and Retry-After. */
#include "pipeline/net/http_client.h"

#include "pipeline/core/err.h"
#include "pipeline/component.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct pg_http_client {
    pg_http_client_config cfg;
    char *ca_file, *cert_file, *key_file, *sni, *user_agent;
    bool skip_verify;
    CURLSH *share;
    pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
    pthread_mutex_t mu; /* the pool */
    pthread_cond_t cv;
    CURL **idle; /* handles not in use */
    size_t n_idle, n_made;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *ud)
{
    (void)h;
    (void)a;
    pg_http_client *hc = ud;
    pthread_mutex_lock(&hc->share_mu[d]);
}

static void share_unlock(CURL *h, curl_lock_data d, void *ud)
{
    (void)h;
    pg_http_client *hc = ud;
    pthread_mutex_unlock(&hc->share_mu[d]);
}

void pg_http_client_config_default(pg_http_client_config *c)
{
    memset(c, 0, sizeof *c);
    c->version = PG_HTTP_CLIENT_AUTO;
    c->timeout = 30 * 1000000000LL;
    c->connect_timeout = 10 * 1000000000LL;
    c->max_response_body = 1 << 20;
    c->pool_size = 4;
}

/* A malloc'd copy of s (NULL stays NULL); sets *oom on failure. */
static char *dup_or_null(const char *s, bool *oom)
{
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *oom = true;
    return d;
}

/* True when path names a readable file. */
static bool readable(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    fclose(f);
    return true;
}

/* Copies c and its strings; see http_client.h. */
int pg_http_client_new(const pg_http_client_config *c, pg_http_client **out, char *err,
                       size_t errlen)
{
    *out = NULL;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return pg_err(err, errlen, PG_EINTERNAL, "libcurl: %s", curl_easy_strerror(global_rc));
    const pg_tls_client_config *t = c->tls;
    if (t) {
        int rc = pg_tls_client_config_validate(t, err, errlen);
        if (rc) return rc;
        const char *files[] = {t->ca_file, t->cert_file, t->key_file};
        const char *names[] = {"ca_file", "cert_file", "key_file"};
        for (int i = 0; i < 3; i++)
            if (files[i] && !readable(files[i]))
                return pg_err(err, errlen, PG_EINVAL, "tls.%s: cannot read %s", names[i], files[i]);
    }
    pg_http_client *hc = calloc(1, sizeof *hc);
    if (!hc) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    hc->cfg = *c;
    hc->cfg.tls = NULL;
    hc->cfg.user_agent = NULL;
    if (hc->cfg.pool_size == 0) hc->cfg.pool_size = 1;
    bool oom = false;
    if (t) {
        hc->ca_file = dup_or_null(t->ca_file, &oom);
        hc->cert_file = dup_or_null(t->cert_file, &oom);
        hc->key_file = dup_or_null(t->key_file, &oom);
        hc->sni = dup_or_null(t->server_name_override, &oom);
        hc->skip_verify = t->insecure_skip_verify;
    }
    hc->user_agent = dup_or_null(c->user_agent ? c->user_agent : "profgate", &oom);
    hc->idle = calloc(hc->cfg.pool_size, sizeof *hc->idle);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&hc->share_mu[i], NULL);
    pthread_mutex_init(&hc->mu, NULL);
    pthread_cond_init(&hc->cv, NULL);
    hc->share = curl_share_init();
    if (oom || !hc->idle || !hc->share) {
        pg_http_client_free(hc);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    curl_share_setopt(hc->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(hc->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(hc->share, CURLSHOPT_USERDATA, hc);
    curl_share_setopt(hc->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(hc->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    *out = hc;
    return 0;
}

/* Options that stay the same for every request of this client. */
static void set_fixed_opts(pg_http_client *hc, CURL *h)
{
    curl_easy_setopt(h, CURLOPT_SHARE, hc->share);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, hc->user_agent);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, NULL);
    if (hc->cfg.connect_timeout > 0)
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(hc->cfg.connect_timeout / 1000000));
    if (hc->ca_file) curl_easy_setopt(h, CURLOPT_CAINFO, hc->ca_file);
    if (hc->cert_file) curl_easy_setopt(h, CURLOPT_SSLCERT, hc->cert_file);
    if (hc->key_file) curl_easy_setopt(h, CURLOPT_SSLKEY, hc->key_file);
    if (hc->skip_verify) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

/* Takes a handle from the pool (making one while under pool_size), waiting until
 * deadline_ns. NULL on timeout or OOM (*timed_out tells which). */
static CURL *take(pg_http_client *hc, int64_t deadline_ns, bool *timed_out)
{
    *timed_out = false;
    CURL *h = NULL;
    pthread_mutex_lock(&hc->mu);
    for (;;) {
        if (hc->n_idle) {
            h = hc->idle[--hc->n_idle];
            break;
        }
        if (hc->n_made < hc->cfg.pool_size) {
            h = curl_easy_init();
            if (h) {
                hc->n_made++;
                set_fixed_opts(hc, h);
            }
            break;
        }
        if (pg_now_mono_ns() >= deadline_ns) {
            *timed_out = true;
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50000000;
        ts.tv_sec += ts.tv_nsec / 1000000000;
        ts.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&hc->cv, &hc->mu, &ts);
    }
    pthread_mutex_unlock(&hc->mu);
    return h;
}

static void give_back(pg_http_client *hc, CURL *h)
{
    pthread_mutex_lock(&hc->mu);
    hc->idle[hc->n_idle++] = h;
    pthread_cond_signal(&hc->cv);
    pthread_mutex_unlock(&hc->mu);
}

typedef struct xfer {
    pg_http_client_resp *resp;
    size_t cap;
    bool oom;
} xfer;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n, room = x->cap - x->resp->body.len;
    if (len > room) {
        x->resp->truncated = true;
        if (room) pg_buf_append(&x->resp->body, p, room);
        return 0; /* stops the transfer: the cap is reached */
    }
    if (pg_buf_append(&x->resp->body, p, len)) {
        x->oom = true;
        return 0;
    }
    return len;
}

/* Copies the value of header line p[0..len) into out when its name is `name`. */
static bool header_value(const char *p, size_t len, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(p, name, nl) != 0 || p[nl] != ':') return false;
    p += nl + 1;
    len -= nl + 1;
    while (len && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }
    while (len && (p[len - 1] == '\r' || p[len - 1] == '\n' || p[len - 1] == ' '))
        len--;
    if (len >= outlen) len = outlen - 1;
    memcpy(out, p, len);
    out[len] = 0;
    return true;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n;
    char v[128];
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) { /* a new response (after a 100): reset */
        x->resp->retry_after = PG_HTTP_CLIENT_NO_RETRY_AFTER;
        x->resp->content_type[0] = 0;
    } else if (header_value(p, len, "retry-after", v, sizeof v)) {
        x->resp->retry_after = pg_http_client_parse_retry_after(v, (int64_t)time(NULL));
    } else {
        header_value(p, len, "content-type", x->resp->content_type, sizeof x->resp->content_type);
    }
    return len;
}

/* Builds the per-request header list; NULL with *oom on failure. */
static struct curl_slist *header_list(const pg_http_client_req *req, bool *oom)
{
    struct curl_slist *l = NULL;
    for (size_t i = 0; i < req->n_headers; i++) {
        struct curl_slist *n = curl_slist_append(l, req->headers[i]);
        if (!n) {
            *oom = true;
            curl_slist_free_all(l);
            return NULL;
        }
        l = n;
    }
    /* no "Expect: 100-continue" round trip before a body */
    struct curl_slist *n = curl_slist_append(l, "Expect:");
    if (!n) {
        *oom = true;
        curl_slist_free_all(l);
        return NULL;
    }
    return n;
}

/* With server_name_override: rewrites url's host to the name (SNI, certificate check,
 * Host) and makes *connect_to send the connection to the real host and port. Returns the
 * URL to use (malloc'd, caller frees with curl_free) or NULL on a bad URL. */
static char *override_url(const char *url, const char *sni, struct curl_slist **connect_to)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *out = NULL;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        goto done;
    char line[600];
    snprintf(line, sizeof line, "%s:%s:%s:%s", sni, port, host, port);
    *connect_to = curl_slist_append(NULL, line);
    if (!*connect_to || curl_url_set(u, CURLUPART_HOST, sni, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK)
        out = NULL;
done:
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return out;
}

/* True when this libcurl cannot reuse an h2c (prior knowledge) connection: before 8.0.0 a
 * reused one fails with "Error in the HTTP2 framing layer" (curl issue 10634, fixed by
 * curl PR 10643); h2c then opens a connection per request. */
static bool h2c_reuse_broken(void)
{
    return curl_version_info(CURLVERSION_NOW)->version_num < 0x080000;
}

/* The libcurl HTTP version for the configured one and the URL's scheme. */
static long http_version(const pg_http_client *hc, const char *url)
{
    bool tls = strncasecmp(url, "https://", 8) == 0;
    switch (hc->cfg.version) {
    case PG_HTTP_CLIENT_HTTP1:
        return CURL_HTTP_VERSION_1_1;
    case PG_HTTP_CLIENT_HTTP2:
        return tls ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE;
    default:
        return tls ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1;
    }
}

/* Maps a failed transfer to a status with libcurl's reason. */
static int transfer_error(CURLcode cc, const char *detail, const char *url, char *err,
                          size_t errlen)
{
    const char *why = detail[0] ? detail : curl_easy_strerror(cc);
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return pg_err(err, errlen, PG_ETIMEOUT, "%s: timed out: %s", url, why);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return pg_err(err, errlen, PG_EINVAL, "%s: %s", url, why);
    case CURLE_OUT_OF_MEMORY:
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    default:
        return pg_err(err, errlen, PG_EIO, "%s: %s", url, why);
    }
}

/* Borrows req; fills resp; see http_client.h. */
int pg_http_client_do(pg_http_client *hc, const pg_http_client_req *req, pg_http_client_resp *resp,
                      char *err, size_t errlen)
{
    memset(resp, 0, sizeof *resp);
    resp->retry_after = PG_HTTP_CLIENT_NO_RETRY_AFTER;
    if (!req->url) return pg_err(err, errlen, PG_EINVAL, "no URL");
    int64_t now = pg_now_mono_ns();
    int64_t deadline = req->deadline_ns      ? req->deadline_ns
                       : hc->cfg.timeout > 0 ? now + hc->cfg.timeout
                                             : INT64_MAX;
    bool timed_out;
    CURL *h = take(hc, deadline, &timed_out);
    if (!h)
        return timed_out ? pg_err(err, errlen, PG_ETIMEOUT,
                                  "%s: no free connection before the "
                                  "deadline",
                                  req->url)
                         : pg_err(err, errlen, PG_ENOMEM, "out of memory");
    bool oom = false;
    struct curl_slist *hdrs = header_list(req, &oom), *connect_to = NULL;
    char *url = hc->sni ? override_url(req->url, hc->sni, &connect_to) : NULL;
    int rc = 0;
    if (oom) {
        rc = pg_err(err, errlen, PG_ENOMEM, "out of memory");
        goto out;
    }
    if (hc->sni && !url) {
        rc = pg_err(err, errlen, PG_EINVAL, "%s: bad URL", req->url);
        goto out;
    }
    xfer x = {resp, hc->cfg.max_response_body, false};
    char detail[CURL_ERROR_SIZE] = "";
    const char *method = req->method ? req->method : req->body_len ? "POST" : "GET";
    curl_easy_setopt(h, CURLOPT_URL, url ? url : req->url);
    curl_easy_setopt(h, CURLOPT_CONNECT_TO, connect_to);
    long ver = http_version(hc, req->url);
    bool fresh = ver == CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE && h2c_reuse_broken();
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, ver);
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, fresh ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, fresh ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, detail);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
    } else {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") ? method : NULL);
    }
    int64_t left_ms = deadline == INT64_MAX ? 0 : (deadline - pg_now_mono_ns()) / 1000000;
    if (deadline != INT64_MAX && left_ms < 1) left_ms = 1;
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)left_ms);
    CURLcode cc = curl_easy_perform(h);
    if (cc == CURLE_WRITE_ERROR && resp->truncated && !x.oom) cc = CURLE_OK;
    if (x.oom) {
        rc = pg_err(err, errlen, PG_ENOMEM, "out of memory");
    } else if (cc != CURLE_OK) {
        rc = transfer_error(cc, detail, req->url, err, errlen);
    } else {
        long st = 0, got = 0, conns = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
        curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &got);
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
        resp->status = st;
        resp->http_version = got == CURL_HTTP_VERSION_2_0 ? 2 : 1;
        resp->reused = conns == 0;
    }
    /* the handle keeps no pointer into this call's memory */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_CONNECT_TO, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
out:
    give_back(hc, h);
    curl_slist_free_all(hdrs);
    curl_slist_free_all(connect_to);
    curl_free(url);
    if (rc) {
        pg_buf_free(&resp->body);
        resp->status = 0;
        resp->truncated = false;
    }
    return rc;
}

void pg_http_client_resp_free(pg_http_client_resp *resp)
{
    pg_buf_free(&resp->body);
}

/* Frees every handle (closing their connections), the share and the copies. */
void pg_http_client_free(pg_http_client *hc)
{
    if (!hc) return;
    for (size_t i = 0; i < hc->n_idle; i++)
        curl_easy_cleanup(hc->idle[i]);
    if (hc->share) curl_share_cleanup(hc->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&hc->share_mu[i]);
    pthread_mutex_destroy(&hc->mu);
    pthread_cond_destroy(&hc->cv);
    free(hc->idle);
    free(hc->ca_file);
    free(hc->cert_file);
    free(hc->key_file);
    free(hc->sni);
    free(hc->user_agent);
    free(hc);
}
