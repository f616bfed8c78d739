/* The HTTP server stack against real clients on 127.0.0.1: curl over HTTP/1.1, h2c with
 * prior knowledge, TLS with ALPN h2 and HTTP/1.1, mTLS; gzip/zstd/deflate bodies; 401, 404,
 * 405, 413, 431, bearer and basic auth; a gzip bomb stopped at the cap with bounded RSS; the
 * decompression budget; a slowloris connection dropped while another client is served. Certificates
 * are made here with the openssl command. */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/wait.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "pipeline/core/buf.h"
#include "pipeline/core/decompress.h"
#include "pipeline/core/err.h"
#include "pipeline/net/http_server.h"
#include "testlib.h"

static char dir[256];
static atomic_int echo_calls;

/* Echoes the body back, with the protocol in a header. */
static void on_echo(void *ctx, const pg_http_request *req, pg_http_reply *r)
{
    atomic_fetch_add(&echo_calls, 1);
    pg_http_reply_header(r, "x-proto", pg_http_proto_name(req->proto));
    pg_http_reply_set(r, 200, "application/octet-stream", req->body, req->body_len);
    pg_http_reply_send(r);
}

/* Holds its reply (and so its inflated body) until `release` is set. */
static atomic_int held, release;
static void on_hold(void *ctx, const pg_http_request *req, pg_http_reply *r)
{
    atomic_fetch_add(&held, 1);
    for (int i = 0; i < 1000 && !atomic_load(&release); i++)
        usleep(10000);
    pg_http_reply_set(r, 200, NULL, "held\n", 5);
    pg_http_reply_send(r);
}

/* A TCP connection to 127.0.0.1:port (checked). */
static int connect_local(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    return fd;
}

static void *loop_main(void *arg)
{
    event_base_loop(arg, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

/* Runs a shell command; returns its stdout (first 64 KiB) in out. */
static int run(const char *cmd, char *out, size_t outlen)
{
    FILE *f = popen(cmd, "r");
    if (!f) return -2;
    size_t n = fread(out, 1, outlen - 1, f);
    out[n] = 0;
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -3;
}

/* curl to a path: extra options before the URL. */
static void curl_path(uint16_t port, const char *scheme, const char *path, const char *extra,
                      char *out, size_t outlen)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "curl -sS --max-time 10 -o %s/body -w '%%{http_code} %%{http_version}' %s "
             "'%s://127.0.0.1:%u%s' 2>/dev/null; echo; cat %s/body 2>/dev/null; rm -f %s/body",
             dir, extra, scheme, port, path, dir, dir);
    run(cmd, out, outlen);
}

static void write_file(const char *name, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(p, 1, n, f);
        fclose(f);
    }
}

/* Writes a gzip stream of `mib` MiB of zeros (a bomb: about 1000:1). */
static void write_bomb(const char *name, size_t mib)
{
    z_stream z = {0};
    deflateInit2(&z, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY);
    static uint8_t zero[1 << 20], out[1 << 16];
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    for (size_t i = 0; i <= mib && f; i++) {
        z.next_in = zero;
        z.avail_in = i < mib ? sizeof zero : 0;
        do {
            z.next_out = out;
            z.avail_out = sizeof out;
            deflate(&z, i < mib ? Z_NO_FLUSH : Z_FINISH);
            fwrite(out, 1, sizeof out - z.avail_out, f);
        } while (z.avail_out == 0);
    }
    deflateEnd(&z);
    if (f) fclose(f);
}

static pg_http_server *server(struct event_base *base, pg_metrics *m, const char *name,
                              void (*tune)(pg_http_server_config *))
{
    pg_http_server_config cfg;
    pg_http_server_config_default(&cfg);
    cfg.endpoint.host = "127.0.0.1";
    cfg.endpoint.port = 0;
    cfg.max_request_body_size = 1 << 20;
    cfg.max_request_header_size = 4096;
    cfg.read_timeout = 1000000000LL;
    tune(&cfg);
    pg_http_server *s = NULL;
    char err[256] = "";
    int rc = pg_http_server_new(base, m, name, &cfg, &s, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    if (rc) return NULL;
    CHECK(pg_http_server_route(s, "POST", "/echo", on_echo, NULL) == 0);
    CHECK(pg_http_server_route(s, "POST", "/hold", on_hold, NULL) == 0);
    CHECK(pg_http_server_route(s, "POST", "/echo", on_echo, NULL) == PG_EINVAL);
    rc = pg_http_server_start(s, err, sizeof err);
    CHECK_MSG(rc == 0, "%s", err);
    return s;
}

static char token_path[300];
static void tune_plain(pg_http_server_config *c)
{
    c->auth.bearer_token_file = token_path;
}

static char cert[300], key[300], ca[300];
static void tune_tls(pg_http_server_config *c)
{
    c->tls.cert_file = cert;
    c->tls.key_file = key;
}

static void tune_mtls(pg_http_server_config *c)
{
    tune_tls(c);
    c->tls.client_ca_file = ca;
}

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

#define AUTH "-H 'Authorization: Bearer s3cret-token' "

/* One curl case: options (every "{d}" becomes the test folder) and the expected start of
 * "<code> <version>\n<body>". */
typedef struct curl_case {
    const char *path, *opts, *want;
} curl_case;

static void expect_all(uint16_t port, const char *scheme, const curl_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char opts[1200] = "", out[70000];
        for (const char *p = cases[i].opts; *p && strlen(opts) + strlen(dir) + 2 < sizeof opts;
             p++) {
            if (strncmp(p, "{d}", 3) == 0) {
                strcat(opts, dir);
                p += 2;
            } else {
                strncat(opts, p, 1);
            }
        }
        curl_path(port, scheme, cases[i].path, opts, out, sizeof out);
        CHECK_MSG(starts(out, cases[i].want), "case %zu (%s %s): got %s", i, cases[i].path,
                  cases[i].opts, out);
    }
}

/* Protocols, encodings and status codes on the plain (bearer-auth) server. */
static void test_plain(uint16_t port)
{
    char out[70000];
    curl_path(port, "http", "/echo", AUTH "--data-binary hello", out, sizeof out);
    CHECK_MSG(strcmp(out, "200 1.1\nhello") == 0, "%s", out);
    curl_path(port, "http", "/echo", AUTH "--http2-prior-knowledge --data-binary hello", out,
              sizeof out);
    CHECK_MSG(strcmp(out, "200 2\nhello") == 0, "%s", out);
    /* compressed bodies come to the handler inflated */
    const char *text = "profile bytes profile bytes profile bytes\n";
    pg_buf gz = {0};
    pg_gzip_compress((const uint8_t *)text, strlen(text), 6, &gz, NULL, 0);
    write_file("b.gz", gz.data, gz.len);
    pg_buf_free(&gz);
    uint8_t zs[256], zl[256];
    size_t zn = ZSTD_compress(zs, sizeof zs, text, strlen(text), 3);
    write_file("b.zst", zs, zn);
    uLongf dl = sizeof zl;
    compress2(zl, &dl, (const Bytef *)text, strlen(text), 6);
    write_file("b.zz", zl, dl);
    const char *encs[][2] = {{"gzip", "b.gz"}, {"zstd", "b.zst"}, {"deflate", "b.zz"}};
    for (int i = 0; i < 3; i++)
        for (int h2 = 0; h2 < 2; h2++) {
            char extra[600];
            snprintf(extra, sizeof extra, AUTH "%s -H 'Content-Encoding: %s' --data-binary @%s/%s",
                     h2 ? "--http2-prior-knowledge" : "", encs[i][0], dir, encs[i][1]);
            curl_path(port, "http", "/echo", extra, out, sizeof out);
            CHECK_MSG(starts(out, "200 ") && strcmp(strchr(out, '\n') + 1, text) == 0, "%s: %s",
                      encs[i][0], out);
        }
    uint8_t *big = calloc(1, (1 << 20) + 10);
    write_file("big", big, (1 << 20) + 10);
    free(big);
    char hdr[6000];
    memset(hdr, 'a', sizeof hdr);
    memcpy(hdr, "X-Big: ", 7);
    hdr[sizeof hdr - 1] = 0;
    write_file("hdr", hdr, strlen(hdr));
    static const curl_case cases[] = {
        /* encodings */
        {"/echo", AUTH "-H 'Content-Encoding: br' --data-binary x", "415 "},
        {"/echo", AUTH "-H 'Content-Encoding: gzip' --data-binary notgzip", "400 "},
        /* auth, routing */
        {"/echo", "--data-binary x", "401 1.1"},
        {"/echo", "-H 'Authorization: Bearer wrong' --http2-prior-knowledge --data-binary x",
         "401 2"},
        {"/nope", AUTH "--data-binary x", "404 1.1"},
        {"/nope", AUTH "--http2-prior-knowledge", "404 2"},
        {"/echo", AUTH, "405 1.1"},
        {"/echo?x=1", AUTH "--data-binary q", "200 1.1\nq"},
        /* Upgrade: h2c (curl --http2 on http://), with a body and without */
        {"/echo", AUTH "--http2 --data-binary up", "200 2\nup"},
        {"/echo", AUTH "--http2", "405 1.1"}, /* refused from its headers: no switch */
        /* limits: declared body, streamed (chunked) body, headers */
        {"/echo", AUTH "--data-binary @{d}/big", "413 1.1"},
        {"/echo", AUTH "-H 'Transfer-Encoding: chunked' --data-binary @{d}/big", "413 1.1"},
        {"/echo", AUTH "--http2-prior-knowledge --data-binary @{d}/big", "413 2"},
        {"/echo", AUTH "-H @{d}/hdr --data-binary x", "431 1.1"},
        {"/echo", AUTH "--http2-prior-knowledge -H @{d}/hdr --data-binary x", "431 2"},
    };
    expect_all(port, "http", cases, sizeof cases / sizeof cases[0]);
}

/* A gzip bomb (256 MiB of zeros in ~250 KiB) stops at the 1 MiB cap with bounded RSS. */
static void test_bomb(uint16_t port)
{
    write_bomb("bomb.gz", 256);
    char out[70000], extra[600];
    uint64_t before = pg_process_rss_bytes();
    for (int h2 = 0; h2 < 2; h2++) {
        snprintf(extra, sizeof extra,
                 AUTH "%s -H 'Content-Encoding: gzip' --data-binary @%s/bomb.gz",
                 h2 ? "--http2-prior-knowledge" : "", dir);
        curl_path(port, "http", "/echo", extra, out, sizeof out);
        CHECK_MSG(starts(out, "413 "), "%s", out);
    }
    uint64_t after = pg_process_rss_bytes();
    CHECK_MSG(after < before + (64u << 20), "RSS grew from %llu to %llu",
              (unsigned long long)before, (unsigned long long)after);
}

/* 503s the retry loop of test_budget met while the released request was still giving its
 * budget back: each counts as a limit hit too. */
static int budget_retries;

/* With a budget of one body cap, a second compressed request while the first holds its
 * inflated body gets 503 with Retry-After; afterwards the budget is back. */
static void test_budget(uint16_t port)
{
    pg_http_set_decompression_budget(1 << 20);
    char cmd[1024], out[70000], extra[600];
    snprintf(cmd, sizeof cmd,
             "curl -sS --max-time 10 -o /dev/null " AUTH "-H 'Content-Encoding: gzip' "
             "--data-binary @%s/b.gz http://127.0.0.1:%u/hold >/dev/null 2>&1 &",
             dir, port);
    system(cmd);
    for (int i = 0; i < 500 && !atomic_load(&held); i++)
        usleep(10000);
    CHECK(atomic_load(&held) == 1);
    snprintf(extra, sizeof extra, AUTH "-i -H 'Content-Encoding: gzip' --data-binary @%s/b.gz",
             dir);
    curl_path(port, "http", "/echo", extra, out, sizeof out);
    CHECK_MSG(starts(out, "503 ") && strstr(out, "retry-after: 1"), "%s", out);
    atomic_store(&release, 1);
    for (int i = 0; i < 500; i++) {
        curl_path(port, "http", "/echo", extra, out, sizeof out);
        if (starts(out, "200 ")) break;
        if (starts(out, "503 ")) budget_retries++; /* the held body not given back yet */
        usleep(10000);
    }
    CHECK_MSG(starts(out, "200 "), "%s", out);
    /* raw bodies count too: 5000 bytes do not fit in a 1000-byte budget */
    pg_http_set_decompression_budget(1000);
    static const curl_case raw[] = {
        {"/echo", AUTH "-i --data-binary @{d}/hdr", "503 1.1"},
        {"/echo", AUTH "-i --http2-prior-knowledge --data-binary @{d}/hdr", "503 2"},
        {"/echo", AUTH "--data-binary small", "200 1.1\nsmall"},
    };
    expect_all(port, "http", raw, 3);
    pg_http_set_decompression_budget(256u << 20);
}

/* A client trickling its headers is dropped after read_timeout (1 s); another client is
 * served meanwhile. */
static void test_slowloris(uint16_t port)
{
    int fd = connect_local(port);
    const char *req = "POST /echo HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool dropped = false, served = false;
    char out[70000];
    for (size_t i = 0; i < strlen(req) && !dropped; i++) {
        if (send(fd, req + i, 1, MSG_NOSIGNAL) != 1) dropped = true;
        if (i == 3) {
            curl_path(port, "http", "/echo", AUTH "--data-binary served", out, sizeof out);
            served = strcmp(out, "200 1.1\nserved") == 0;
        }
        char b[64];
        ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) dropped = true;
        usleep(100000);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK_MSG(dropped, "slow client still connected after %.1f s", secs);
    CHECK(served);
    close(fd);
}

/* An h2c stream whose body never ends is dropped after read_timeout (1 s), although the
 * connection keeps sending frames (PINGs). */
static void test_slow_h2(uint16_t port)
{
    int fd = connect_local(port);
    static const uint8_t start[] =
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        "\x00\x00\x00\x04\x00\x00\x00\x00\x00"                       /* SETTINGS */
        "\x00\x00\x06\x01\x04\x00\x00\x00\x01\x83\x86\x84\x41\x01x"; /* HEADERS POST / */
    CHECK(send(fd, start, sizeof start - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof start - 1));
    static const uint8_t ping[] = "\x00\x00\x08\x06\x00\x00\x00\x00\x00"
                                  "12345678";
    bool dropped = false;
    for (int i = 0; i < 40 && !dropped; i++) {
        usleep(100000);
        if (send(fd, ping, sizeof ping - 1, MSG_NOSIGNAL) < 0) dropped = true;
        char b[512];
        ssize_t n;
        while ((n = recv(fd, b, sizeof b, MSG_DONTWAIT)) > 0) {
        }
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) dropped = true;
    }
    CHECK_MSG(dropped, "a never-ending h2 stream kept its connection open for 4 s");
    close(fd);
}

static void test_tls(uint16_t port, uint16_t mport)
{
    char out[70000], extra[1200];
    snprintf(extra, sizeof extra, "--cacert %s --http2 --data-binary hello", ca);
    curl_path(port, "https", "/echo", extra, out, sizeof out);
    CHECK_MSG(strcmp(out, "200 2\nhello") == 0, "%s", out);
    snprintf(extra, sizeof extra, "--cacert %s --http1.1 --data-binary hello -i", ca);
    curl_path(port, "https", "/echo", extra, out, sizeof out);
    CHECK_MSG(starts(out, "200 1.1") && strstr(out, "x-proto: HTTP/1.1+TLS"), "%s", out);
    snprintf(extra, sizeof extra, "--cacert %s --data-binary hello", ca);
    curl_path(port, "http", "/echo", "--data-binary plain", out, sizeof out);
    CHECK_MSG(strcmp(out, "200 1.1\nplain") == 0, "%s", out); /* same port, no TLS */
    /* mTLS: no client certificate is refused at the handshake; with one it works */
    snprintf(extra, sizeof extra, "--cacert %s --data-binary hello", ca);
    curl_path(mport, "https", "/echo", extra, out, sizeof out);
    CHECK_MSG(starts(out, "000 "), "%s", out);
    snprintf(extra, sizeof extra,
             "--cacert %s --cert %s/client.crt --key %s/client.key --data-binary hello", ca, dir,
             dir);
    curl_path(mport, "https", "/echo", extra, out, sizeof out);
    CHECK_MSG(strcmp(out, "200 2\nhello") == 0, "%s", out);
}

static char pw_path[300];
static void tune_one_conn(pg_http_server_config *c)
{
    c->auth.basic.username = "agent";
    c->auth.basic.password_file = pw_path;
    c->max_connections = 1;
    c->max_concurrent_streams = 1;
}

/* max_concurrent_streams 1: a second stream opened while the first is open gets
 * RST_STREAM(REFUSED_STREAM) (before the client acknowledged the server's SETTINGS;
 * after it, nghttp2 answers a connection error). */
static void test_max_streams(uint16_t port)
{
    int fd = connect_local(port);
    static const uint8_t start[] =
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        "\x00\x00\x00\x04\x00\x00\x00\x00\x00"                       /* SETTINGS */
        "\x00\x00\x06\x01\x04\x00\x00\x00\x01\x83\x86\x84\x41\x01x"  /* stream 1 */
        "\x00\x00\x06\x01\x04\x00\x00\x00\x03\x83\x86\x84\x41\x01x"; /* stream 3 */
    CHECK(send(fd, start, sizeof start - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof start - 1));
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    uint8_t buf[4096];
    size_t have = 0;
    bool refused = false;
    for (int i = 0; i < 20 && !refused && have < sizeof buf; i++) {
        ssize_t n = recv(fd, buf + have, sizeof buf - have, 0);
        if (n <= 0) break;
        have += (size_t)n;
        for (size_t off = 0; off + 9 <= have;) { /* walk the frames */
            size_t len = (size_t)buf[off] << 16 | (size_t)buf[off + 1] << 8 | buf[off + 2];
            uint32_t sid = (uint32_t)(buf[off + 5] & 0x7f) << 24 | (uint32_t)buf[off + 6] << 16 |
                           (uint32_t)buf[off + 7] << 8 | buf[off + 8];
            if (off + 9 + len > have) break;
            if (buf[off + 3] == 3 && sid == 3 && len == 4 && buf[off + 12] == 7) refused = true;
            off += 9 + len;
        }
    }
    CHECK_MSG(refused, "no RST_STREAM(REFUSED_STREAM) for stream 3 in %zu bytes", have);
    close(fd);
}

/* Waits (up to 5 s) until the server's open-connections gauge reads want. */
static bool wait_open(pg_metrics *m, const char *name, int want)
{
    char series[160];
    snprintf(series, sizeof series, "profgate_http_server_open_connections{server=\"%s\"} %d\n",
             name, want);
    for (int i = 0; i < 500; i++) {
        pg_buf t = {0};
        pg_metrics_write(m, &t);
        pg_buf_append(&t, "", 1);
        bool ok = strstr((const char *)t.data, series) != NULL;
        pg_buf_free(&t);
        if (ok) return true;
        usleep(10000);
    }
    return false;
}

/* max_connections 1: a second connection is closed at accept while the first is open;
 * once it closed, a client is served again. */
static void test_max_connections(pg_metrics *m, uint16_t port)
{
    int fd = connect_local(port);
    CHECK(wait_open(m, "one", 1));
    static const curl_case refused[] = {{"/echo", "--data-binary x", "000 "}};
    expect_all(port, "http", refused, 1);
    close(fd);
    CHECK(wait_open(m, "one", 0));
    static const curl_case served[] = {
        {"/echo", "-u agent:pass:word --data-binary x", "200 1.1\nx"},
        {"/echo", "-u agent:pass:wore --data-binary x", "401 1.1"},
        {"/echo", "-u agent: --http2-prior-knowledge --data-binary x", "401 2"},
        {"/echo", "--data-binary x", "401 1.1"},
    };
    expect_all(port, "http", served, 4);
}

static void make_certs(void)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd %s && exec >log 2>&1 && "
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "
             "/CN=testca && "
             "for n in server client; do "
             "openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj /CN=$n && "
             "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > $n.ext && "
             "openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out $n.crt "
             "-days 2 -extfile $n.ext "
             "|| exit 1; done",
             dir);
    CHECK(system(cmd) == 0);
    snprintf(cert, sizeof cert, "%s/server.crt", dir);
    snprintf(key, sizeof key, "%s/server.key", dir);
    snprintf(ca, sizeof ca, "%s/ca.crt", dir);
}

int main(int argc, char **argv)
{
    snprintf(dir, sizeof dir, "/tmp/pg_http_test.XXXXXX");
    if (!mkdtemp(dir)) return 2;
    snprintf(token_path, sizeof token_path, "%s/token", dir);
    write_file("token", "s3cret-token\n", 13);
    snprintf(pw_path, sizeof pw_path, "%s/pw", dir);
    write_file("pw", "pass:word\n", 10);
    make_certs();
    signal(SIGPIPE, SIG_IGN); /* as the service does: peers may close while we write */
    evthread_use_pthreads();
    struct event_base *base = event_base_new();
    pthread_t loop;
    pthread_create(&loop, NULL, loop_main, base);
    pg_metrics *m = pg_metrics_new();

    pg_http_server *plain = server(base, m, "plain", tune_plain);
    pg_http_server *tls = server(base, m, "tls", tune_tls);
    pg_http_server *mtls = server(base, m, "mtls", tune_mtls);
    pg_http_server *one = server(base, m, "one", tune_one_conn);
    if (plain && tls && mtls && one) {
        test_max_connections(m, pg_http_server_port(one));
        test_max_streams(pg_http_server_port(one));
        test_plain(pg_http_server_port(plain));
        test_tls(pg_http_server_port(tls), pg_http_server_port(mtls));
        test_bomb(pg_http_server_port(plain));
        test_budget(pg_http_server_port(plain));
        test_slowloris(pg_http_server_port(plain));
        test_slow_h2(pg_http_server_port(plain));
    }
    pg_buf text = {0};
    pg_metrics_write(m, &text);
    pg_buf_append(&text, "", 1);
    const char *t = (const char *)text.data;
    CHECK_MSG(strstr(t, "profgate_http_server_auth_failures_total{server=\"plain\"} 3"), "%s", t);
    CHECK(strstr(
        t, "profgate_http_server_limit_hits_total{server=\"plain\",kind=\"read_timeout\"} 2"));
    char budget_hits[160];
    snprintf(
        budget_hits, sizeof budget_hits,
        "profgate_http_server_limit_hits_total{server=\"plain\",kind=\"decompression_budget\"} "
        "%d\n",
        3 + budget_retries);
    CHECK_MSG(strstr(t, budget_hits), "want %s in %s", budget_hits, t);
    CHECK(strstr(t,
                 "profgate_http_server_limit_hits_total{server=\"plain\",kind=\"header_size\"} 2"));
    CHECK(
        strstr(t, "profgate_http_server_limit_hits_total{server=\"plain\",kind=\"body_size\"} 5"));
    CHECK(strstr(
        t, "profgate_http_server_requests_total{server=\"plain\",protocol=\"h2c\",code=\"200\"}"));
    CHECK(strstr(
        t, "profgate_http_server_requests_total{server=\"tls\",protocol=\"h2\",code=\"200\"} 1"));
    CHECK(strstr(t, "profgate_http_server_open_connections{server=\"plain\"}"));
    CHECK(
        strstr(t, "profgate_http_server_limit_hits_total{server=\"one\",kind=\"connections\"} 1"));
    CHECK(strstr(t, "profgate_http_server_auth_failures_total{server=\"one\"} 4"));
    CHECK(strstr(t, "profgate_http_server_limit_hits_total{server=\"one\",kind=\"streams\"} 1"));
    pg_buf_free(&text);

    pg_http_server_free(plain);
    pg_http_server_free(tls);
    pg_http_server_free(mtls);
    pg_http_server_free(one);
    event_base_loopbreak(base);
    pthread_join(loop, NULL);
    event_base_free(base);
    pg_metrics_free(m);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "cannot remove %s\n", dir);
    TEST_MAIN_END();
}
