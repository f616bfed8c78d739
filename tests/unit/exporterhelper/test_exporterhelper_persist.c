/* The exporter helper's persistent queue: a helper stopped without draining leaves its
 * batches on disk and a new helper replays each exactly once (metadata kept) under every
 * fsync policy; corrupt files are quarantined; the directory lock; capacity; and, in child
 * processes, crashes: _exit between a send and the file's deletion resends the batch
 * (AT-LEAST-ONCE), and kill -9 with fsync=always loses nothing acknowledged. */
#include "pipeline/core/dict.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/exporterhelper/exporterhelper.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"
#include "testfs.h"
#include "testlib.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000LL

/* A batch of one profile whose sample type names it: "b<tag>". */
static pg_batch *mk(int tag, const char *tenant)
{
    pg_batch *b = pg_batch_new(0);
    pg_arena *a = pg_batch_arena(b);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    pg_profile *prof = pg_profile_add(b, sp, 1);
    pg_otlp_profile *pr = &prof->msg;
    char name[16];
    snprintf(name, sizeof name, "b%d", tag);
    pr->sample_type = pg_otlp_valuetype_new(a);
    pr->sample_type->type_strindex = pg_dict_string(b, name, strlen(name));
    pg_sample_set_value(b, prof, 0, 0, tag);
    if (tenant) pg_batch_meta_set(b, "x-tenant", tenant);
    pg_batch_set_origin(b, "test", 7);
    return b;
}

/* The tags of every profile in b (merged batches hold several); returns how many. */
static int tags_of(const pg_batch *b, int *tags, int max)
{
    const pg_otlp_data *d = pg_batch_data(b);
    int n = 0;
    for (size_t r = 0; r < d->n_resource_profiles; r++)
        for (size_t c = 0; c < d->resource_profiles[r]->n_scope_profiles; c++) {
            const pg_otlp_sprofiles *sp = d->resource_profiles[r]->scope_profiles[c];
            for (size_t p = 0; p < sp->n_profiles && n < max; p++)
                tags[n++] = atoi(
                    d->dictionary->string_table[sp->profiles[p]->sample_type->type_strindex] + 1);
        }
    return n;
}

/* ---- sinks ---- */

typedef struct sink {
    pthread_mutex_t mu;
    int mode;      /* 0 deliver, 1 always PG_EAGAIN, 2 deliver then _exit (crash) */
    int report_fd; /* children: "D<tag>\n" per delivery */
    int seen[256]; /* deliveries per tag */
    int total;     /* profiles delivered */
    bool tenant_ok, origin_ok;
} sink;

static int sink_send(void *ctx, const pg_batch *b, int64_t deadline, char *err, size_t errlen)
{
    sink *s = ctx;
    if (s->mode == 1) return pg_err(err, errlen, PG_EAGAIN, "backend down");
    int tags[256], nt = tags_of(b, tags, 256);
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < nt; i++) {
        if (tags[i] >= 0 && tags[i] < 256) s->seen[tags[i]]++;
        s->total++;
        if (s->report_fd >= 0) {
            char line[32];
            int n = snprintf(line, sizeof line, "D%d\n", tags[i]);
            if (write(s->report_fd, line, (size_t)n) != n) _exit(3);
        }
    }
    const char *t = pg_batch_meta_get(b, "x-tenant");
    s->tenant_ok = t && strcmp(t, "acme") == 0;
    s->origin_ok =
        pg_batch_origin(b) && strcmp(pg_batch_origin(b), "test") == 0 && pg_batch_received(b) == 7;
    if (s->mode == 2) _exit(0); /* the backend has it; the file is not deleted yet */
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void sink_init(sink *s, int mode)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    s->mode = mode;
    s->report_fd = -1;
}

static int seen(sink *s, int tag)
{
    pthread_mutex_lock(&s->mu);
    int n = s->seen[tag];
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* ---- helpers ---- */

static void cfg_for(pg_exporter_helper_config *c, const char *dir, int policy)
{
    pg_exporter_helper_config_default(c);
    c->timeout = 1000 * MS;
    c->sending_queue.num_consumers = 3;
    c->sending_queue.directory = (char *)dir;
    c->sending_queue.fsync = policy;
    c->retry_on_failure.initial_interval = 10000 * MS; /* a failed send waits: it stays queued */
    c->retry_on_failure.max_interval = 10000 * MS;
    c->retry_on_failure.max_elapsed_time = 0;
}

static pg_exporter_helper *start(pg_host *host, const char *id, const pg_exporter_helper_config *c,
                                 sink *s, int *rc_out)
{
    static pg_component_settings st[16];
    static int n;
    pg_component_settings *set = &st[n++ % 16];
    *set = (pg_component_settings){.id = id, .kind = PG_CFG_EXPORTER, .host = host};
    pg_exporter_helper *h = NULL;
    char err[256] = "";
    CHECK_MSG(pg_exporter_helper_new(set, c, sink_send, s, &h, err, sizeof err) == 0, "%s", err);
    int rc = pg_exporter_helper_start(h, err, sizeof err);
    if (rc_out)
        *rc_out = rc;
    else
        CHECK_MSG(rc == 0, "%s", err);
    return h;
}

static bool wait_delivered(sink *s, int total)
{
    for (int i = 0; i < 5000; i++) {
        pthread_mutex_lock(&s->mu);
        bool ok = s->total >= total;
        pthread_mutex_unlock(&s->mu);
        if (ok) return true;
        usleep(1000);
    }
    return false;
}

static bool wait_empty(pg_exporter_helper *h)
{
    for (int i = 0; i < 5000 && pg_exporter_helper_queue_size(h); i++)
        usleep(1000);
    return pg_exporter_helper_queue_size(h) == 0;
}

/* ---- tests ---- */

/* With batching, units cover several files: all stay until the unit is finished. */
static void test_replay_exactly_once(pg_host *host, int policy, bool batching)
{
    char dir[] = "/tmp/pg-ehp-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    pg_exporter_helper_config c;
    cfg_for(&c, dir, policy);
    c.batch.enabled = batching;
    c.batch.min_size = 4;
    c.batch.flush_timeout = 20 * MS;
    sink down, up;
    sink_init(&down, 1);
    pg_exporter_helper *h = start(host, "persist/a", &c, &down, NULL);
    for (int i = 0; i < 12; i++)
        CHECK(pg_exporter_helper_consume(h, mk(i, "acme"), NULL, 0) == 0);
    CHECK(count_files(dir, ".pgq") == 12);
    /* stop without draining: some in retry waits (merged or not), the rest queued; all
     * stay on disk */
    pg_exporter_helper_shutdown(h, pg_now_mono_ns());
    pg_exporter_helper_free(h);
    CHECK(count_files(dir, ".pgq") == 12);

    sink_init(&up, 0);
    pg_component_metrics cm;
    pg_component_metrics_init(&cm, pg_host_metrics(host), "exporter", "persist/b");
    uint64_t sent0 = pg_counter_get(cm.sent_profiles);
    h = start(host, "persist/b", &c, &up, NULL);
    CHECK(wait_delivered(&up, 12));
    CHECK(wait_empty(h));
    pg_exporter_helper_shutdown(h, pg_now_mono_ns() + 1000 * MS);
    int once = 0;
    for (int i = 0; i < 12; i++)
        once += seen(&up, i) == 1;
    CHECK_MSG(once == 12 && up.total == 12,
              "policy %d batching %d: %d of 12 delivered once, %d deliveries", policy, batching,
              once, up.total);
    CHECK(up.tenant_ok && up.origin_ok); /* metadata and origin survive the disk */
    CHECK(pg_counter_get(cm.sent_profiles) - sent0 == 12);
    CHECK(count_files(dir, ".pgq") == 0); /* deleted after the send */
    pg_exporter_helper_free(h);
    rm_rf(dir);
}

static void test_corrupt_quarantined(pg_host *host)
{
    char dir[] = "/tmp/pg-ehp-XXXXXX", path[256], cdir[256];
    CHECK(mkdtemp(dir) != NULL);
    pg_exporter_helper_config c;
    cfg_for(&c, dir, PG_FSYNC_ALWAYS);
    sink down, up;
    sink_init(&down, 1);
    pg_exporter_helper *h = start(host, "persist/c", &c, &down, NULL);
    for (int i = 0; i < 3; i++)
        CHECK(pg_exporter_helper_consume(h, mk(i, "acme"), NULL, 0) == 0);
    pg_exporter_helper_free(h); /* free without shutdown: stops at once */
    /* a torn copy of file 1 as file 7, and plain garbage as file 8 */
    snprintf(path, sizeof path, "%s/00000000000000000001.pgq", dir);
    FILE *f = fopen(path, "rb");
    char buf[4096];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    snprintf(path, sizeof path, "%s/00000000000000000007.pgq", dir);
    f = fopen(path, "wb");
    fwrite(buf, 1, n / 2, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/00000000000000000008.pgq", dir);
    f = fopen(path, "wb");
    fputs("not a queue file", f);
    fclose(f);
    sink_init(&up, 0);
    h = start(host, "persist/d", &c, &up, NULL);
    CHECK(wait_delivered(&up, 3));
    CHECK(wait_empty(h));
    CHECK(up.total == 3 && seen(&up, 0) == 1 && seen(&up, 1) == 1 && seen(&up, 2) == 1);
    snprintf(cdir, sizeof cdir, "%s/corrupt", dir);
    CHECK(count_files(cdir, ".pgq") == 2);
    CHECK(count_files(dir, ".pgq") == 0);
    pg_counter *q =
        pg_metrics_counter(pg_host_metrics(host), "profgate_exporter_queue_quarantined_total", "",
                           "exporter=\"persist/d\"");
    CHECK_MSG(pg_counter_get(q) == 2, "quarantined %llu", (unsigned long long)pg_counter_get(q));
    pg_exporter_helper_free(h);
    rm_rf(dir);
}

static void test_lock_and_capacity(pg_host *host)
{
    char dir[] = "/tmp/pg-ehp-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    pg_exporter_helper_config c;
    cfg_for(&c, dir, PG_FSYNC_BATCH);
    c.sending_queue.queue_size = 2;
    c.sending_queue.num_consumers = 1;
    sink down, other;
    sink_init(&down, 1);
    sink_init(&other, 0);
    pg_exporter_helper *h = start(host, "persist/e", &c, &down, NULL);
    int rc = 0;
    pg_exporter_helper *h2 = start(host, "persist/f", &c, &other, &rc);
    CHECK(rc == PG_EAGAIN); /* one helper (or process) per directory */
    char err[256] = "";
    CHECK(pg_exporter_helper_consume(h2, mk(50, NULL), err, sizeof err) == PG_EAGAIN);
    pg_exporter_helper_free(h2);
    CHECK(pg_exporter_helper_consume(h, mk(1, NULL), err, sizeof err) == 0);
    CHECK(pg_exporter_helper_consume(h, mk(2, NULL), err, sizeof err) == 0);
    CHECK(pg_exporter_helper_consume(h, mk(3, NULL), err, sizeof err) == PG_EAGAIN);
    CHECK(count_files(dir, ".pgq") == 2); /* nothing written for a refused batch */
    pg_exporter_helper_shutdown(h, pg_now_mono_ns());
    pg_exporter_helper_free(h);
    /* the lock is released by shutdown; the replay may exceed the capacity (it is on disk)
     * while new batches are refused until there is room */
    c.sending_queue.queue_size = 1;
    sink_init(&other, 1);
    h = start(host, "persist/g", &c, &other, NULL);
    CHECK(pg_exporter_helper_queue_size(h) == 2);
    CHECK(pg_exporter_helper_consume(h, mk(4, NULL), err, sizeof err) == PG_EAGAIN);
    pg_exporter_helper_free(h);
    CHECK(count_files(dir, ".pgq") == 2);
    rm_rf(dir);
}

/* Reads "A<n>\n" (acknowledged) and "D<n>\n" (delivered) lines from fd into the counts,
 * until EOF or until `stop_at_acks` acknowledgements were read (0: EOF only). */
static int read_reports(int fd, int *acked, int *delivered, int stop_at_acks)
{
    char line[32];
    size_t len = 0;
    int nacks = 0;
    char c;
    while (read(fd, &c, 1) == 1) {
        if (c != '\n') {
            if (len < sizeof line - 1) line[len++] = c;
            continue;
        }
        line[len] = 0;
        len = 0;
        int tag = atoi(line + 1);
        if (tag < 0 || tag >= 256) continue;
        if (line[0] == 'A') {
            acked[tag]++;
            if (++nacks == stop_at_acks) break;
        } else {
            delivered[tag]++;
        }
    }
    return nacks;
}

/* A crash after the backend took a batch but before its file was deleted: the batch is
 * sent again after the restart (at-least-once, not exactly-once). */
static void test_crash_after_send_resends(void)
{
    char dir[] = "/tmp/pg-ehp-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        pg_host *host = pg_host_new();
        pg_exporter_helper_config c;
        cfg_for(&c, dir, PG_FSYNC_ALWAYS);
        c.sending_queue.num_consumers = 1;
        sink s;
        sink_init(&s, 2);
        s.report_fd = fds[1];
        pg_exporter_helper *h = start(host, "crash/send", &c, &s, NULL);
        pg_exporter_helper_consume(h, mk(5, NULL), NULL, 0);
        sleep(10); /* the sink exits the process */
        _exit(2);
    }
    close(fds[1]);
    int acked[256] = {0}, delivered[256] = {0}, status = 0;
    read_reports(fds[0], acked, delivered, 0);
    close(fds[0]);
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(delivered[5] == 1);
    CHECK(count_files(dir, ".pgq") == 1);
    pg_host *host = pg_host_new();
    pg_exporter_helper_config c;
    cfg_for(&c, dir, PG_FSYNC_ALWAYS);
    sink up;
    sink_init(&up, 0);
    pg_exporter_helper *h = start(host, "crash/replay", &c, &up, NULL);
    CHECK(wait_delivered(&up, 1));
    CHECK(wait_empty(h));
    CHECK(seen(&up, 5) == 1); /* delivered a second time in all */
    pg_exporter_helper_free(h);
    pg_host_free(host);
    CHECK(count_files(dir, ".pgq") == 0);
    rm_rf(dir);
}

/* kill -9 while batches are being accepted, sent and retried: every batch whose consume
 * returned 0 is delivered, before the kill or after the restart. */
static void test_kill9_loses_nothing_acknowledged(void)
{
    char dir[] = "/tmp/pg-ehp-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        pg_log_configure(PG_LOG_ERROR, 0);
        pg_host *host = pg_host_new();
        pg_exporter_helper_config c;
        cfg_for(&c, dir, PG_FSYNC_ALWAYS);
        c.sending_queue.num_consumers = 2;
        c.batch.enabled = true; /* merged units cover several files */
        c.batch.min_size = 3;
        c.batch.flush_timeout = 5 * MS;
        sink s;
        sink_init(&s, 0);
        s.report_fd = fds[1];
        pg_exporter_helper *h = start(host, "crash/kill", &c, &s, NULL);
        for (int i = 0; i < 200; i++) {
            if (pg_exporter_helper_consume(h, mk(i, NULL), NULL, 0) == 0) {
                char line[16];
                int n = snprintf(line, sizeof line, "A%d\n", i);
                if (write(fds[1], line, (size_t)n) != n) _exit(3);
            }
            usleep(200);
        }
        sleep(10);
        _exit(2);
    }
    close(fds[1]);
    int acked[256] = {0}, delivered[256] = {0}, status = 0;
    read_reports(fds[0], acked, delivered, 40); /* kill in the middle of the stream */
    kill(pid, SIGKILL);
    read_reports(fds[0], acked, delivered, 0);
    close(fds[0]);
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    int nacked = 0, left = count_files(dir, ".pgq");
    for (int i = 0; i < 256; i++)
        nacked += acked[i];
    CHECK_MSG(nacked >= 40, "only %d acknowledged before the kill", nacked);
    pg_host *host = pg_host_new();
    pg_exporter_helper_config c;
    cfg_for(&c, dir, PG_FSYNC_ALWAYS);
    sink up;
    sink_init(&up, 0);
    pg_exporter_helper *h = start(host, "crash/restart", &c, &up, NULL);
    CHECK(wait_delivered(&up, left));
    CHECK(wait_empty(h));
    pg_exporter_helper_free(h);
    pg_host_free(host);
    int lost = 0, dup = 0;
    for (int i = 0; i < 256; i++) {
        if (acked[i] && !delivered[i] && !up.seen[i]) lost++;
        if (delivered[i] + up.seen[i] > 1) dup++;
    }
    CHECK_MSG(lost == 0, "%d acknowledged batches lost", lost);
    printf("kill -9: %d acknowledged, %d files replayed, %d resent (at-least-once)\n", nacked, left,
           dup);
    rm_rf(dir);
}

int main(void)
{
    /* forks first, while this process has no threads */
    test_crash_after_send_resends();
    test_kill9_loses_nothing_acknowledged();
    pg_host *host = pg_host_new();
    test_replay_exactly_once(host, PG_FSYNC_NEVER, false);
    test_replay_exactly_once(host, PG_FSYNC_BATCH, false);
    test_replay_exactly_once(host, PG_FSYNC_ALWAYS, false);
    test_replay_exactly_once(host, PG_FSYNC_BATCH, true);
    test_corrupt_quarantined(host);
    test_lock_and_capacity(host);
    pg_host_free(host);
    TEST_MAIN_END();
}
