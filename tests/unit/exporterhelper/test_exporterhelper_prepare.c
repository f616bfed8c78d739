/* The exporter helper with prepared requests (pg_prepare_ops): the in-memory queue turns
 * each batch into its request once, in consume (queue bytes = the request's size, the
 * batch's ack still held until the send), a retry sends the same request without
 * preparing again, a failed prepare refuses the batch with its status, a refused or
 * leftover request is freed, and the persistent queue and batching keep sending batches. */
#include "pipeline/core/ack.h"
#include "test_exporterhelper_fixture.h"
#include "testfs.h"

/* A request: the batch's OTLP bytes and its tenant, decoded again by the send. */
typedef struct req {
    pg_buf body;
    char tenant[16];
} req;

typedef struct prep {
    sink *s;
    atomic_int prepared, sent, freed;
    int fail; /* prepare returns this when set */
} prep;

static int prep_prepare(void *ctx, const pg_batch *b, void **out, uint64_t *bytes, char *err,
                        size_t errlen)
{
    prep *p = ctx;
    if (p->fail) return pg_err(err, errlen, p->fail, "prepare refuses");
    req *r = calloc(1, sizeof *r);
    CHECK(r != NULL);
    CHECK(pg_otlp_encode(b, &r->body, err, errlen) == 0);
    const char *t = pg_batch_meta_get(b, "x-tenant");
    snprintf(r->tenant, sizeof r->tenant, "%s", t ? t : "");
    atomic_fetch_add(&p->prepared, 1);
    *out = r;
    *bytes = r->body.len;
    return 0;
}

static int prep_send(void *ctx, void *vr, int64_t deadline, char *err, size_t errlen)
{
    prep *p = ctx;
    req *r = vr;
    atomic_fetch_add(&p->sent, 1);
    pg_batch *b = pg_batch_new(0);
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    CHECK(pg_otlp_decode(b, r->body.data, r->body.len, &lim, err, errlen) == 0);
    if (r->tenant[0]) pg_batch_meta_set(b, "x-tenant", r->tenant);
    int rc = sink_send(p->s, b, deadline, err, errlen);
    pg_batch_free(b);
    return rc;
}

static void prep_free(void *vr)
{
    req *r = vr;
    pg_buf_free(&r->body);
    free(r);
}

static prep *current; /* the prep whose frees prep_free_counted counts */

static void prep_free_counted(void *vr)
{
    atomic_fetch_add(&current->freed, 1);
    prep_free(vr);
}

static const pg_prepare_ops OPS = {prep_prepare, prep_send, prep_free_counted};

/* pg_send_fn with the prep as context (batches that were not prepared). */
static int prep_batch_send(void *ctx, const pg_batch *b, int64_t deadline, char *err, size_t errlen)
{
    return sink_send(((prep *)ctx)->s, b, deadline, err, errlen);
}

/* A started helper with prepared requests whose send context is p. */
static pg_exporter_helper *mk_prep(const char *id, const pg_exporter_helper_config *c, prep *p,
                                   pg_component_metrics *cm)
{
    static pg_component_settings st[8];
    static int n;
    pg_component_settings *set = &st[n++ % 8];
    *set = (pg_component_settings){.id = id, .kind = PG_CFG_EXPORTER, .host = host};
    pg_exporter_helper *h = NULL;
    char err[256] = "";
    CHECK(pg_exporter_helper_new(set, c, prep_batch_send, p, &h, err, sizeof err) == 0);
    pg_exporter_helper_set_prepare(h, &OPS);
    current = p;
    CHECK_MSG(pg_exporter_helper_start(h, err, sizeof err) == 0, "%s", err);
    pg_component_metrics_init(cm, pg_host_metrics(host), "exporter", id);
    return h;
}

static void test_prepared_once_retried_same(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    sink s;
    sink_init(&s);
    s.fail_first = 4;
    prep p = {.s = &s};
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_prep("prep/retry", &c, &p, &cm);
    uint64_t want = 0;
    for (int i = 0; i < 3; i++) {
        pg_batch *b = mk(i, 2, 3, i == 1 ? "acme" : NULL);
        want += pg_otlp_encoded_size(b);
        CHECK(pg_exporter_helper_consume(h, b, NULL, 0) == 0);
    }
    CHECK(sink_wait(&s, 6));
    CHECK(wait_empty(h));
    pg_exporter_helper_shutdown(h, pg_now_mono_ns() + 1000 * MS);
    CHECK_MSG(atomic_load(&p.prepared) == 3, "prepared %d", atomic_load(&p.prepared));
    CHECK(atomic_load(&p.sent) == 7 && pg_counter_get(cm.retries) == 4);
    CHECK(atomic_load(&p.freed) == 3);
    CHECK(s.batches == 3 && tag_count(&s, "t1_1") == 1 && tag_count(&s, "t2_0") == 1);
    CHECK(!strcmp(s.tenants[0], "acme") || !strcmp(s.tenants[1], "acme") ||
          !strcmp(s.tenants[2], "acme"));
    CHECK(pg_counter_get(cm.sent_profiles) == 6 && pg_counter_get(cm.sent_samples) == 18);
    CHECK_MSG(pg_counter_get(cm.sent_bytes) == want, "sent bytes %llu, want %llu",
              (unsigned long long)pg_counter_get(cm.sent_bytes), (unsigned long long)want);
    pg_exporter_helper_free(h);
    sink_free(&s);
}

typedef struct seen {
    atomic_int calls, outcome;
} seen;

static void on_ack(void *ctx, pg_ack_outcome o)
{
    seen *s = ctx;
    atomic_store(&s->outcome, (int)o);
    atomic_fetch_add(&s->calls, 1);
}

/* The batch is freed at admission, its ack only when the request was sent; a full queue
 * refuses (the request freed), a leftover at shutdown is freed and abandoned. */
static void test_ack_full_and_leftovers(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.sending_queue.num_consumers = 1;
    c.sending_queue.queue_size = 2;
    sink s;
    sink_init(&s);
    sink_gate(&s, true);
    prep p = {.s = &s};
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_prep("prep/ack", &c, &p, &cm);
    seen a1 = {0}, a2 = {0};
    pg_batch *b = mk(1, 1, 2, NULL);
    pg_ack *k = pg_ack_new(on_ack, &a1);
    pg_batch_set_ack(b, k);
    CHECK(pg_exporter_helper_consume(h, b, NULL, 0) == 0);
    pg_ack_release(k);
    b = mk(2, 1, 2, NULL);
    k = pg_ack_new(on_ack, &a2);
    pg_batch_set_ack(b, k);
    CHECK(pg_exporter_helper_consume(h, b, NULL, 0) == 0);
    pg_ack_release(k);
    CHECK(atomic_load(&a1.calls) == 0 && atomic_load(&a2.calls) == 0); /* held */
    char err[128] = "";
    CHECK(pg_exporter_helper_consume(h, mk(3, 1, 2, NULL), err, sizeof err) == PG_EAGAIN);
    CHECK(atomic_load(&p.prepared) == 3 && atomic_load(&p.freed) == 1); /* refused: freed */
    /* let exactly the first through, then stop with the second queued or in flight */
    s.fail_first = 0;
    sink_gate(&s, false);
    CHECK(sink_wait(&s, 1));
    sink_gate(&s, true);
    pg_exporter_helper_shutdown(h, pg_now_mono_ns() + 50 * MS);
    CHECK(atomic_load(&a1.calls) == 1 && atomic_load(&a2.calls) == 1);
    CHECK(atomic_load(&a1.outcome) == PG_ACK_DELIVERED ||
          atomic_load(&a2.outcome) == PG_ACK_DELIVERED);
    CHECK(atomic_load(&p.freed) == 3);
    CHECK(pg_counter_get(cm.enqueue_failed_profiles) == 1);
    pg_exporter_helper_free(h);
    sink_free(&s);
}

/* A prepare that fails refuses the batch with its status (counted, nothing queued). */
static void test_prepare_fails(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    sink s;
    sink_init(&s);
    prep p = {.s = &s, .fail = PG_EAGAIN};
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_prep("prep/fail", &c, &p, &cm);
    char err[128] = "";
    CHECK(pg_exporter_helper_consume(h, mk(1, 2, 2, NULL), err, sizeof err) == PG_EAGAIN);
    CHECK_MSG(strstr(err, "prepare refuses") != NULL, "%s", err);
    CHECK(pg_exporter_helper_queue_size(h) == 0);
    CHECK(pg_counter_get(cm.enqueue_failed_profiles) == 2);
    pg_exporter_helper_free(h);
    sink_free(&s);
}

/* With batching the queue keeps batches (merging needs the tree): prepare is not called
 * and the helper's batch send function is. */
static void test_batching_keeps_batches(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.batch.enabled = true;
    c.batch.flush_timeout = 5 * MS;
    sink s;
    sink_init(&s);
    prep p = {.s = &s};
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_prep("prep/batch", &c, &p, &cm);
    for (int i = 0; i < 3; i++)
        CHECK(pg_exporter_helper_consume(h, mk(i, 1, 2, NULL), NULL, 0) == 0);
    CHECK(sink_wait(&s, 3));
    CHECK(wait_empty(h));
    CHECK(atomic_load(&p.prepared) == 0 && atomic_load(&p.sent) == 0);
    pg_exporter_helper_free(h);
    sink_free(&s);
}

int main(void)
{
    host = pg_host_new();
    test_prepared_once_retried_same();
    test_ack_full_and_leftovers();
    test_prepare_fails();
    test_batching_keeps_batches();
    pg_host_free(host);
    TEST_MAIN_END();
}
