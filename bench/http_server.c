/* bench_http_server [PORT [CERT KEY]]: the HTTP server stack with one route, POST /echo
 * (answers 200 with the body length), for load tools (h2load) in bench/http.sh. Prints
 * "port N" once listening; runs until stdin closes, then prints the peak RSS. */
#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "pipeline/net/http_server.h"

/* Answers the body length (borrowed request, reply sent here). */
static void on_echo(void *ctx, const pg_http_request *req, pg_http_reply *r)
{
    char n[32];
    int len = snprintf(n, sizeof n, "%zu\n", req->body_len);
    pg_http_reply_set(r, 200, "text/plain", n, (size_t)len);
    pg_http_reply_send(r);
}

static void *loop_main(void *base)
{
    event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    struct event_base *base = event_base_new();
    pg_http_server_config cfg;
    pg_http_server_config_default(&cfg);
    cfg.endpoint.host = "127.0.0.1";
    cfg.endpoint.port = (uint16_t)(argc > 1 ? atoi(argv[1]) : 0);
    if (argc > 3) {
        cfg.tls.cert_file = argv[2];
        cfg.tls.key_file = argv[3];
    }
    pg_http_server *s = NULL;
    char err[256];
    if (pg_http_server_new(base, NULL, "bench", &cfg, &s, err, sizeof err) ||
        pg_http_server_route(s, "POST", "/echo", on_echo, NULL) ||
        pg_http_server_start(s, err, sizeof err)) {
        fprintf(stderr, "bench_http_server: %s\n", err);
        return 1;
    }
    printf("port %u\n", pg_http_server_port(s));
    fflush(stdout);
    pthread_t loop;
    pthread_create(&loop, NULL, loop_main, base);
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
    }
    pg_http_server_free(s);
    event_base_loopbreak(base);
    pthread_join(loop, NULL);
    event_base_free(base);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak_rss_kb %ld\n", ru.ru_maxrss);
    return 0;
}
