/* A tiny blocking HTTP/1.1 client over a raw socket, for the self-observability tests
 * (health_check, /metrics). One request per connection (Connection: close), 5 s timeouts.
 * Also runs a host's event loop on a thread. */
#ifndef PG_TEST_HTTP_CLIENT_H
#define PG_TEST_HTTP_CLIENT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdatomic.h>
#include <event2/event.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "pipeline/host.h"

typedef struct http_resp {
    int status; /* 0 when the request failed (connection refused, timeout) */
    char *head; /* status line and headers (malloc'd) */
    char *body; /* malloc'd, NUL-terminated */
    size_t body_len;
} http_resp;

static inline void http_resp_free(http_resp *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* Case-insensitive search of a header value in r->head; returns a malloc'd copy or NULL. */
static inline char *http_header(const http_resp *r, const char *name)
{
    if (!r->head) return NULL;
    size_t nl = strlen(name);
    for (const char *p = strstr(r->head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        const char *h = p + 2;
        if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
            h += nl + 1;
            while (*h == ' ')
                h++;
            const char *e = strstr(h, "\r\n");
            size_t len = e ? (size_t)(e - h) : strlen(h);
            char *v = malloc(len + 1);
            memcpy(v, h, len);
            v[len] = 0;
            return v;
        }
    }
    return NULL;
}

/* Sends `method path` to 127.0.0.1:port and reads the whole response. */
static inline http_resp http_request(uint16_t port, const char *method, const char *path)
{
    http_resp r = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return r;
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return r;
    }
    char req[512];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: pg-test\r\n"
                     "Content-Length: 0\r\nConnection: close\r\n\r\n",
                     method, path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return r;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (len + 1024 > cap) buf = realloc(buf, cap *= 2);
        ssize_t k = read(fd, buf + len, cap - len - 1);
        if (k <= 0) break;
        len += (size_t)k;
    }
    close(fd);
    buf[len] = 0;
    char *sep = strstr(buf, "\r\n\r\n");
    if (!sep || sscanf(buf, "HTTP/1.%*d %d", &r.status) != 1) {
        r.status = 0;
        free(buf);
        return r;
    }
    size_t hl = (size_t)(sep - buf);
    r.head = malloc(hl + 1);
    memcpy(r.head, buf, hl);
    r.head[hl] = 0;
    r.body_len = len - hl - 4;
    r.body = malloc(r.body_len + 1);
    memcpy(r.body, sep + 4, r.body_len);
    r.body[r.body_len] = 0;
    free(buf);
    return r;
}

static inline http_resp http_get(uint16_t port, const char *path)
{
    return http_request(port, "GET", path);
}

/* Runs a host's loop on a thread until loop_thread_stop. */
typedef struct loop_thread {
    pg_host *host;
    pthread_t tid;
    atomic_int running;
} loop_thread;

static inline void loop_thread_mark(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    atomic_store(&((loop_thread *)arg)->running, 1);
}

static inline void *loop_thread_main(void *arg)
{
    pg_host_run_loop(((loop_thread *)arg)->host);
    return NULL;
}

static inline void loop_thread_start(loop_thread *lt, pg_host *h)
{
    struct timeval zero = {0, 0};
    lt->host = h;
    atomic_store(&lt->running, 0);
    event_base_once(pg_host_event_base(h), -1, EV_TIMEOUT, loop_thread_mark, lt, &zero);
    pthread_create(&lt->tid, NULL, loop_thread_main, lt);
    while (!atomic_load(&lt->running)) /* a loopbreak before the loop starts would be lost */
        usleep(1000);
}

static inline void loop_thread_stop(loop_thread *lt)
{
    pg_host_stop_loop(lt->host);
    pthread_join(lt->tid, NULL);
}

#endif
