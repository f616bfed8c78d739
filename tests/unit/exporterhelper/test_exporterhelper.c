/* The exporter helper in memory: retries (nothing lost, retries counted), permanent
 * errors (dropped, counted, not retried), retry budget, queue full in both modes and by
 * bytes, synchronous mode, shutdown (drain, leftovers counted), gauges. Batching is in
 * test_exporterhelper_batch.c, the persistent queue in test_exporterhelper_persist.c. */
#include "test_exporterhelper_fixture.h"

static void test_retry_then_success(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    sink s;
    sink_init(&s);
    s.fail_first = 7;
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("retry/ok", &c, &s, &cm);
    for (int i = 0; i < 5; i++)
        CHECK(pg_exporter_helper_consume(h, mk(i, 2, 3, NULL), NULL, 0) == 0);
    CHECK(sink_wait(&s, 10));
    CHECK(wait_empty(h));
    pg_exporter_helper_shutdown(h, pg_now_mono_ns() + 1000 * MS);
    for (int i = 0; i < 5; i++) {
        char t[16];
        snprintf(t, sizeof t, "t%d_1", i);
        CHECK_MSG(tag_count(&s, t) == 1, "%s delivered %d times", t, tag_count(&s, t));
    }
    CHECK(s.calls == 12 && s.batches == 5);
    CHECK_MSG(pg_counter_get(cm.retries) == 7, "retries %llu",
              (unsigned long long)pg_counter_get(cm.retries));
    CHECK(pg_counter_get(cm.sent_profiles) == 10 && pg_counter_get(cm.sent_samples) == 30);
    CHECK(pg_counter_get(cm.sent_bytes) > 0);
    CHECK(pg_counter_get(cm.failed_profiles) == 0);
    CHECK(pg_histogram_count(cm.send_latency) == 12);
    pg_exporter_helper_free(h);
    sink_free(&s);
}

static void test_permanent_error(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    sink s;
    sink_init(&s);
    s.fail_code = PG_EINVAL;
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("retry/permanent", &c, &s, &cm);
    for (int i = 0; i < 3; i++)
        CHECK(pg_exporter_helper_consume(h, mk(i, 1, 4, NULL), NULL, 0) == 0);
    CHECK(wait_empty(h));
    CHECK(s.calls == 3); /* not retried */
    CHECK(pg_counter_get(cm.retries) == 0 && pg_counter_get(cm.sent_profiles) == 0);
    CHECK(pg_counter_get(cm.failed_profiles) == 3 && pg_counter_get(cm.failed_samples) == 12);
    pg_exporter_helper_free(h);
    sink_free(&s);
}

static void test_retry_budget_spent(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.retry_on_failure.max_elapsed_time = 30 * MS;
    sink s;
    sink_init(&s);
    s.fail_code = PG_EAGAIN;
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("retry/budget", &c, &s, &cm);
    CHECK(pg_exporter_helper_consume(h, mk(1, 1, 2, NULL), NULL, 0) == 0);
    CHECK(wait_empty(h));
    CHECK(s.calls > 3 && pg_counter_get(cm.retries) == (uint64_t)s.calls - 1);
    CHECK(pg_counter_get(cm.failed_profiles) == 1 && pg_counter_get(cm.sent_profiles) == 0);
    pg_exporter_helper_free(h);
    sink_free(&s);
}

static void test_queue_full_refuse(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.sending_queue.num_consumers = 1;
    c.sending_queue.queue_size = 2;
    sink s;
    sink_init(&s);
    sink_gate(&s, true);
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("full/refuse", &c, &s, &cm);
    char err[256] = "";
    CHECK(pg_exporter_helper_consume(h, mk(1, 1, 1, NULL), err, sizeof err) == 0);
    CHECK(pg_exporter_helper_consume(h, mk(2, 1, 1, NULL), err, sizeof err) == 0);
    CHECK(pg_exporter_helper_consume(h, mk(3, 1, 5, NULL), err, sizeof err) == PG_EAGAIN);
    CHECK_STR(err, "full/refuse: sending queue is full");
    CHECK(pg_counter_get(cm.enqueue_failed_profiles) == 1);
    CHECK(pg_counter_get(cm.enqueue_failed_samples) == 5);
    CHECK(pg_exporter_helper_queue_size(h) == 2);
    sink_gate(&s, false);
    CHECK(sink_wait(&s, 2));
    CHECK(wait_empty(h));
    CHECK(pg_exporter_helper_consume(h, mk(4, 1, 1, NULL), err, sizeof err) == 0);
    CHECK(sink_wait(&s, 3));
    CHECK(tag_count(&s, "t3_0") == 0);
    pg_exporter_helper_free(h);
    sink_free(&s);
}

static void test_queue_full_bytes(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.sending_queue.num_consumers = 1;
    pg_batch *probe = mk(1, 1, 50, NULL);
    uint64_t one = pg_otlp_encoded_size(probe); /* what the queue counts */
    pg_batch_free(probe);
    c.sending_queue.queue_bytes = one + one / 2; /* room for one such batch */
    sink s;
    sink_init(&s);
    sink_gate(&s, true);
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("full/bytes", &c, &s, &cm);
    char err[256] = "";
    CHECK(pg_exporter_helper_consume(h, mk(1, 1, 50, NULL), err, sizeof err) == 0);
    CHECK(pg_exporter_helper_consume(h, mk(2, 1, 50, NULL), err, sizeof err) == PG_EAGAIN);
    CHECK(pg_exporter_helper_consume(h, mk(3, 1, 500, NULL), err, sizeof err) == PG_ELIMIT);
    CHECK(strstr(err, "exceeds the queue capacity") != NULL);
    sink_gate(&s, false);
    CHECK(sink_wait(&s, 1));
    pg_exporter_helper_free(h);
    sink_free(&s);
}

typedef struct producer {
    pg_exporter_helper *h;
    pg_batch *b;
    atomic_int done;
    int rc;
} producer;

static void *produce(void *arg)
{
    producer *p = arg;
    p->rc = pg_exporter_helper_consume(p->h, p->b, NULL, 0);
    atomic_store(&p->done, 1);
    return NULL;
}

static void test_queue_full_block(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.sending_queue.num_consumers = 1;
    c.sending_queue.queue_size = 1;
    c.sending_queue.block_on_overflow = true;
    c.timeout = 100 * MS; /* a send in progress at shutdown runs until its own deadline */
    sink s;
    sink_init(&s);
    sink_gate(&s, true);
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("full/block", &c, &s, &cm);
    CHECK(pg_exporter_helper_consume(h, mk(1, 1, 1, NULL), NULL, 0) == 0);
    producer p = {.h = h, .b = mk(2, 1, 1, NULL)};
    pthread_t t;
    pthread_create(&t, NULL, produce, &p);
    usleep(50000);
    CHECK(!atomic_load(&p.done)); /* blocked while full */
    sink_gate(&s, false);
    pthread_join(t, NULL);
    CHECK(p.rc == 0);
    CHECK(sink_wait(&s, 2));
    CHECK(tag_count(&s, "t1_0") == 1 && tag_count(&s, "t2_0") == 1);
    /* blocked producers are released with PG_EAGAIN by shutdown */
    sink_gate(&s, true);
    CHECK(pg_exporter_helper_consume(h, mk(3, 1, 1, NULL), NULL, 0) == 0);
    producer q = {.h = h, .b = mk(4, 1, 1, NULL)};
    pthread_create(&t, NULL, produce, &q);
    usleep(30000);
    CHECK(!atomic_load(&q.done));
    pg_exporter_helper_shutdown(h, pg_now_mono_ns() + 50 * MS);
    pthread_join(t, NULL);
    CHECK(q.rc == PG_EAGAIN);
    CHECK(pg_counter_get(cm.failed_profiles) == 1); /* t3 was left in memory: dropped */
    CHECK(pg_counter_get(cm.enqueue_failed_profiles) == 1);
    pg_exporter_helper_free(h);
    sink_free(&s);
}

static void test_shutdown(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.retry_on_failure.initial_interval = 10000 * MS;
    c.retry_on_failure.max_interval = 10000 * MS;
    c.retry_on_failure.max_elapsed_time = 0; /* retry forever: only shutdown stops it */
    sink s;
    sink_init(&s);
    s.fail_code = PG_EAGAIN;
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("shutdown/left", &c, &s, &cm);
    char err[256];
    CHECK(pg_exporter_helper_consume(h, mk(1, 2, 2, NULL), NULL, 0) == 0);
    CHECK(pg_exporter_helper_consume(h, mk(2, 2, 2, NULL), NULL, 0) == 0);
    CHECK(pg_exporter_helper_consume(h, mk(3, 2, 2, NULL), NULL, 0) == 0);
    usleep(20000);
    int64_t t0 = pg_now_mono_ns();
    pg_exporter_helper_shutdown(h, t0 + 100 * MS);
    /* retries due after the deadline are given up at once */
    CHECK_MSG(pg_now_mono_ns() - t0 < 90 * MS, "took %lld ms",
              (long long)((pg_now_mono_ns() - t0) / MS));
    CHECK(pg_counter_get(cm.failed_profiles) == 6 && pg_counter_get(cm.failed_samples) == 12);
    CHECK(pg_exporter_helper_queue_size(h) == 0);
    CHECK(pg_exporter_helper_consume(h, mk(4, 1, 1, NULL), err, sizeof err) == PG_EAGAIN);
    CHECK_STR(err, "shutdown/left: exporter is shutting down");
    pg_exporter_helper_free(h);
    sink_free(&s);

    /* a drain within the deadline delivers everything */
    fast_cfg(&c);
    sink_init(&s);
    h = mk_helper("shutdown/drain", &c, &s, &cm);
    for (int i = 0; i < 20; i++)
        CHECK(pg_exporter_helper_consume(h, mk(i, 1, 1, NULL), NULL, 0) == 0);
    pg_exporter_helper_shutdown(h, pg_now_mono_ns() + 2000 * MS);
    CHECK(s.profiles == 20 && pg_counter_get(cm.sent_profiles) == 20);
    pg_exporter_helper_free(h);
    sink_free(&s);

    /* not started: refused; free without start or shutdown is fine */
    pg_component_settings st = {.id = "shutdown/new", .kind = PG_CFG_EXPORTER, .host = host};
    sink_init(&s);
    CHECK(pg_exporter_helper_new(&st, &c, sink_send, &s, &h, err, sizeof err) == 0);
    CHECK(pg_exporter_helper_consume(h, mk(1, 1, 1, NULL), err, sizeof err) == PG_EAGAIN);
    CHECK_STR(err, "shutdown/new: exporter not started");
    pg_exporter_helper_free(h);
    sink_free(&s);
}

static void test_sync_mode(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.sending_queue.enabled = false;
    sink s;
    sink_init(&s);
    s.fail_first = 2;
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("sync", &c, &s, &cm);
    char err[256] = "";
    CHECK(pg_exporter_helper_consume(h, mk(1, 1, 1, NULL), err, sizeof err) == 0);
    CHECK(s.batches == 1 && pg_counter_get(cm.retries) == 2);
    s.fail_code = PG_EUNSUP;
    CHECK(pg_exporter_helper_consume(h, mk(2, 1, 1, NULL), err, sizeof err) == PG_EUNSUP);
    CHECK_STR(err, "sync: sink refuses");
    CHECK(pg_counter_get(cm.failed_profiles) == 1);
    pg_exporter_helper_free(h);
    sink_free(&s);
    /* invalid combinations are refused at creation */
    pg_exporter_helper_config bad;
    fast_cfg(&bad);
    bad.sending_queue.enabled = false;
    bad.batch.enabled = true;
    pg_component_settings st = {.id = "bad", .kind = PG_CFG_EXPORTER, .host = host};
    CHECK(pg_exporter_helper_new(&st, &bad, sink_send, &s, &h, err, sizeof err) == PG_EINVAL);
    CHECK_STR(err, "bad: batch needs sending_queue.enabled: true");
}

static void test_gauges(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.sending_queue.queue_size = 7;
    sink s;
    sink_init(&s);
    sink_gate(&s, true);
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("gauge/x", &c, &s, &cm);
    CHECK(pg_exporter_helper_consume(h, mk(1, 1, 1, NULL), NULL, 0) == 0);
    pg_buf out = {0};
    pg_metrics_write(pg_host_metrics(host), &out);
    pg_buf_append(&out, "", 1);
    CHECK(strstr((char *)out.data, "profgate_exporter_queue_size{exporter=\"gauge/x\"} 1") != NULL);
    CHECK(strstr((char *)out.data, "profgate_exporter_queue_capacity{exporter=\"gauge/x\"} 7") !=
          NULL);
    pg_buf_free(&out);
    sink_gate(&s, false);
    pg_exporter_helper_free(h);
    /* freed helpers are forgotten by the registry */
    pg_metrics_write(pg_host_metrics(host), &out);
    pg_buf_append(&out, "", 1);
    CHECK(strstr((char *)out.data, "profgate_exporter_queue_capacity{exporter=\"gauge/x\"}") ==
          NULL);
    CHECK(strstr((char *)out.data, "profgate_exporter_queue_size{exporter=\"gauge/x\"}") == NULL);
    pg_buf_free(&out);
    sink_free(&s);
}

int main(void)
{
    host = pg_host_new();
    test_retry_then_success();
    test_permanent_error();
    test_retry_budget_spent();
    test_queue_full_refuse();
    test_queue_full_bytes();
    test_queue_full_block();
    test_shutdown();
    test_sync_mode();
    test_gauges();
    pg_host_free(host);
    TEST_MAIN_END();
}
