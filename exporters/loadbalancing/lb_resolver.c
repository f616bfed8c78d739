/* Resolvers of the loadbalancing exporter: the static list, or a DNS name resolved with
 * getaddrinfo into one backend per address (`ip:port`), re-resolved every interval on a
 * thread of its own. A failed resolution keeps the current set (logged on the change from
 * working to failing, counted every time). The static list is re-applied on the same
 * interval while one of its backends could not be started. */
#include "exporters/loadbalancing/lb_int.h"

#include "pipeline/core/err.h"
#include "pipeline/telemetry/log.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define MAX_ADDRS 1024 /* backends one DNS answer may give (more are ignored, logged) */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Resolves the DNS name into sorted, distinct "ip:port" names (*out: caller frees each and
 * the array). Returns the count, or a negative status with err. */
static int resolve_dns(const struct lb_dns_cfg *d, char ***out, char *err, size_t errlen)
{
    *out = NULL;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int g = getaddrinfo(d->hostname, NULL, &hints, &res);
    if (g)
        return pg_err(err, errlen, PG_EIO, "cannot resolve %s: %s", d->hostname, gai_strerror(g));
    size_t n = 0, cap = 0;
    char **names = NULL;
    int rc = 0;
    for (struct addrinfo *ai = res; ai && !rc; ai = ai->ai_next) {
        char ip[INET6_ADDRSTRLEN], name[INET6_ADDRSTRLEN + 16];
        const void *src = ai->ai_family == AF_INET
                              ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                              : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            !inet_ntop(ai->ai_family, src, ip, sizeof ip))
            continue;
        snprintf(name, sizeof name, ai->ai_family == AF_INET6 ? "[%s]:%d" : "%s:%d", ip,
                 (int)d->port);
        bool dup = false;
        for (size_t i = 0; i < n && !dup; i++)
            dup = !strcmp(names[i], name);
        if (dup || n >= MAX_ADDRS) continue;
        if (n == cap) {
            char **grown = realloc(names, (cap = cap ? cap * 2 : 8) * sizeof *names);
            if (!grown) {
                rc = PG_ENOMEM;
                break;
            }
            names = grown;
        }
        if (!(names[n] = strdup(name)))
            rc = PG_ENOMEM;
        else
            n++;
    }
    freeaddrinfo(res);
    if (rc) {
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        return pg_err(err, errlen, rc, "out of memory");
    }
    qsort(names, n, sizeof *names, cmp_str);
    *out = names;
    return (int)n;
}

/* One round: resolve (DNS) or take the static list, and apply it. Returns 0 or the
 * resolution's status (the set is then unchanged). */
static int resolve_once(lb_exporter *e)
{
    const struct lb_resolver_cfg *r = &e->cfg->resolver;
    if (!r->dns.hostname) {
        return lb_backends_apply(e, (const char *const *)r->static_.hostnames.items,
                                 r->static_.hostnames.n);
    }
    char err[512] = "", **names = NULL;
    int n = resolve_dns(&r->dns, &names, err, sizeof err);
    if (n < 0) {
        pg_counter_add(e->resolve_failures, 1);
        if (e->last_resolve_rc == 0)
            pg_log(PG_LOG_WARN, e->settings.id, "%s; keeping the %zu current backends", err,
                   lb_backend_count(e));
        e->last_resolve_rc = n;
        return n;
    }
    if (e->last_resolve_rc != 0)
        pg_log(PG_LOG_INFO, e->settings.id, "%s resolves again (%d addresses)", r->dns.hostname, n);
    e->last_resolve_rc = 0;
    int rc = lb_backends_apply(e, (const char *const *)names, (size_t)n);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* Whether another round is due: always with DNS, with a static list only while one of its
 * backends is missing. */
static bool needs_rounds(lb_exporter *e)
{
    if (e->cfg->resolver.dns.hostname) return true;
    return lb_backend_count(e) < e->cfg->resolver.static_.hostnames.n;
}

static void *resolver_main(void *arg)
{
    lb_exporter *e = arg;
    pthread_mutex_lock(&e->mu);
    while (!e->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t at = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + e->cfg->resolver.dns.interval;
        ts.tv_sec = at / 1000000000LL;
        ts.tv_nsec = at % 1000000000LL;
        while (!e->stopping && pthread_cond_timedwait(&e->cv, &e->mu, &ts) == 0) {
        }
        if (e->stopping) break;
        pthread_mutex_unlock(&e->mu);
        if (needs_rounds(e)) resolve_once(e);
        pthread_mutex_lock(&e->mu);
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

/* See lb_int.h. The first round runs on the caller's thread, so that a start that returns
 * has its backends (when they resolve). */
int lb_resolver_start(lb_exporter *e, char *err, size_t errlen)
{
    int rc = resolve_once(e);
    if (rc == PG_ENOMEM) return pg_err(err, errlen, rc, "out of memory");
    if (rc && e->cfg->resolver.dns.hostname == NULL) return pg_err(err, errlen, rc, "no backends");
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&e->cv, &ca);
    pthread_condattr_destroy(&ca);
    e->stopping = false;
    if (pthread_create(&e->thread, NULL, resolver_main, e) != 0)
        return pg_err(err, errlen, PG_ENOMEM, "cannot start the resolver thread");
    e->thread_on = true;
    return 0;
}

/* See lb_int.h. */
void lb_resolver_stop(lb_exporter *e)
{
    if (!e->thread_on) return;
    pthread_mutex_lock(&e->mu);
    e->stopping = true;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->thread, NULL);
    e->thread_on = false;
    pthread_cond_destroy(&e->cv);
}
