/* The exporter helper and delivery acknowledgements: an in-memory queue settles a batch's
 * ack when it is sent (delivered), dropped for good (dropped) or left at shutdown
 * (abandoned); a persistent queue's batch is safe once written, so its ack fires inside
 * consume; merged batches each get their own outcome. */
#include "pipeline/core/ack.h"
#include "test_exporterhelper_fixture.h"
#include "testfs.h"

typedef struct seen {
    atomic_int calls;
    atomic_int outcome;
} seen;

static void on_ack(void *ctx, pg_ack_outcome o)
{
    seen *s = ctx;
    atomic_store(&s->outcome, (int)o);
    atomic_fetch_add(&s->calls, 1);
}

/* Hands a new batch with an ack to h the way a receiver does; returns consume's status. */
static int send_acked(pg_exporter_helper *h, int tag, seen *s)
{
    pg_batch *b = mk(tag, 1, 2, NULL);
    pg_ack *a = pg_ack_new(on_ack, s);
    pg_batch_set_ack(b, a);
    int rc = pg_exporter_helper_consume(h, b, NULL, 0);
    pg_ack_release(a);
    return rc;
}

static bool wait_calls(seen *s, int n)
{
    for (int i = 0; i < 5000 && atomic_load(&s->calls) < n; i++)
        usleep(1000);
    return atomic_load(&s->calls) >= n;
}

static void test_memory_delivered_after_send(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    sink s;
    sink_init(&s);
    sink_gate(&s, true);
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("ack/memory", &c, &s, &cm);
    seen a = {0};
    CHECK(send_acked(h, 1, &a) == 0);
    usleep(20000);
    CHECK_MSG(atomic_load(&a.calls) == 0, "fired before the send");
    sink_gate(&s, false);
    CHECK(wait_calls(&a, 1));
    CHECK(atomic_load(&a.calls) == 1 && atomic_load(&a.outcome) == PG_ACK_DELIVERED);
    pg_exporter_helper_free(h);
    sink_free(&s);
}

static void test_memory_dropped_and_abandoned(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    sink s;
    sink_init(&s);
    s.fail_code = PG_EINVAL;
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("ack/dropped", &c, &s, &cm);
    seen a = {0};
    CHECK(send_acked(h, 1, &a) == 0);
    CHECK(wait_calls(&a, 1) && atomic_load(&a.outcome) == PG_ACK_DROPPED);
    pg_exporter_helper_free(h);
    sink_free(&s);

    fast_cfg(&c);
    c.retry_on_failure.max_elapsed_time = 0; /* retry forever: only shutdown stops it */
    sink_init(&s);
    s.fail_code = PG_EAGAIN;
    h = mk_helper("ack/abandoned", &c, &s, &cm);
    seen b = {0};
    CHECK(send_acked(h, 2, &b) == 0);
    usleep(20000);
    CHECK(atomic_load(&b.calls) == 0);
    pg_exporter_helper_shutdown(h, pg_now_mono_ns() + 50 * MS);
    CHECK(atomic_load(&b.calls) == 1 && atomic_load(&b.outcome) == PG_ACK_ABANDONED);
    pg_exporter_helper_free(h);
    sink_free(&s);
}

static void test_persistent_fires_at_write(void)
{
    char dir[] = "/tmp/pg-eh-ack-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.sending_queue.directory = dir;
    sink s;
    sink_init(&s);
    sink_gate(&s, true);
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("ack/persist", &c, &s, &cm);
    seen a = {0};
    CHECK(send_acked(h, 1, &a) == 0);
    CHECK_MSG(atomic_load(&a.calls) == 1 && atomic_load(&a.outcome) == PG_ACK_DELIVERED,
              "a written batch is safe: calls %d", atomic_load(&a.calls));
    sink_gate(&s, false);
    CHECK(sink_wait(&s, 1));
    CHECK(atomic_load(&a.calls) == 1);
    pg_exporter_helper_free(h);
    sink_free(&s);
    rm_rf(dir);
}

static void test_batching_each_item(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.batch.enabled = true;
    c.batch.min_size = 3 * 2;
    c.batch.flush_timeout = 10000 * MS;
    sink s;
    sink_init(&s);
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("ack/batching", &c, &s, &cm);
    seen a[3] = {{0}, {0}, {0}};
    for (int i = 0; i < 3; i++)
        CHECK(send_acked(h, i, &a[i]) == 0);
    CHECK(sink_wait(&s, 3));
    for (int i = 0; i < 3; i++)
        CHECK(wait_calls(&a[i], 1) && atomic_load(&a[i].outcome) == PG_ACK_DELIVERED);
    CHECK(s.batches == 1);
    pg_exporter_helper_free(h);
    sink_free(&s);
}

int main(void)
{
    host = pg_host_new();
    test_memory_delivered_after_send();
    test_memory_dropped_and_abandoned();
    test_persistent_fires_at_write();
    test_batching_each_item();
    pg_host_free(host);
    TEST_MAIN_END();
}
