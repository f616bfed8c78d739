/* The delivery acknowledgement: holds, the worst outcome wins, the callback runs once and
 * only when the last hold is settled, references outlive the holds. */
#include "pipeline/core/ack.h"
#include "pipeline/core/batch.h"
#include "testlib.h"

typedef struct seen {
    int calls;
    pg_ack_outcome outcome;
} seen;

static void on_ack(void *ctx, pg_ack_outcome o)
{
    seen *s = ctx;
    s->calls++;
    s->outcome = o;
}

static void test_creator_only(void)
{
    seen s = {0};
    pg_ack *a = pg_ack_new(on_ack, &s);
    CHECK(a && !pg_ack_fired(a));
    pg_ack_release(a);
    CHECK(s.calls == 1 && s.outcome == PG_ACK_DELIVERED);
}

static void test_worst_outcome_and_order(void)
{
    seen s = {0};
    pg_ack *a = pg_ack_new(on_ack, &s);
    pg_ack_ref(a); /* the test's own reference, to look at it after it fired */
    pg_ack *h1 = pg_ack_hold(a), *h2 = pg_ack_hold(a);
    CHECK(h1 == a && h2 == a);
    pg_ack_release(a);
    CHECK(s.calls == 0 && !pg_ack_fired(a));
    pg_ack_settle(h1, PG_ACK_DROPPED);
    CHECK(s.calls == 0);
    pg_ack_settle(h2, PG_ACK_DELIVERED); /* a later better outcome does not hide a worse one */
    CHECK(s.calls == 1 && s.outcome == PG_ACK_DROPPED && pg_ack_fired(a));
    pg_ack_unref(a);

    s = (seen){0};
    a = pg_ack_new(on_ack, &s);
    pg_ack_hold(a);
    pg_ack_settle(a, PG_ACK_ABANDONED);
    pg_ack_release(a);
    CHECK(s.calls == 1 && s.outcome == PG_ACK_ABANDONED);
}

static void test_null_and_names(void)
{
    CHECK(pg_ack_hold(NULL) == NULL);
    pg_ack_settle(NULL, PG_ACK_DROPPED);
    pg_ack_release(NULL);
    pg_ack_unref(NULL);
    CHECK_STR(pg_ack_outcome_name(PG_ACK_DELIVERED), "delivered");
    CHECK_STR(pg_ack_outcome_name(PG_ACK_DROPPED), "dropped");
    CHECK_STR(pg_ack_outcome_name(PG_ACK_ABANDONED), "abandoned");
}

/* A batch keeps a reference (not a hold): the ack fires while the batch still lives, and
 * stays readable until the batch is freed; derived batches carry the same ack. */
static void test_batch_carries(void)
{
    seen s = {0};
    pg_ack *a = pg_ack_new(on_ack, &s);
    pg_batch *b = pg_batch_new(0), *d = pg_batch_new(0);
    pg_batch_set_ack(b, a);
    CHECK(pg_batch_meta_set(b, "X-Tenant", "t1") == 0);
    CHECK(pg_batch_inherit(d, b) == 0);
    CHECK(pg_batch_ack(b) == a && pg_batch_ack(d) == a);
    CHECK_STR(pg_batch_meta_get(d, "x-tenant"), "t1");
    pg_ack_release(a);
    CHECK(s.calls == 1 && pg_ack_fired(pg_batch_ack(b)));
    pg_batch_free(b);
    CHECK(pg_ack_fired(pg_batch_ack(d)));
    pg_batch_free(d);
}

int main(void)
{
    test_creator_only();
    test_worst_outcome_and_order();
    test_null_and_names();
    test_batch_carries();
    TEST_MAIN_END();
}
