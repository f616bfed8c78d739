/* Delivery acknowledgement: a completion that a receiver attaches to the batches it hands
 * on, and that fires once every component that kept the data past its consume call has
 * brought it to a final state.
 *
 * Holds. An ack counts open holds. Its creator holds one from pg_ack_new until it calls
 * pg_ack_release after its consume call returned. A component that keeps a batch after
 * consume returns (an in-memory sending queue, a time window) takes a hold with
 * pg_ack_hold(pg_batch_ack(b)) inside consume, and settles it with pg_ack_settle once the
 * data is final: delivered, durably queued, dropped for good, or abandoned. Whatever is
 * final when consume returns (sent synchronously, written to a persistent queue, filtered
 * out, refused with an error the caller sees) needs no hold. When the last hold goes, the
 * callback runs once, on the thread that released it, with the worst outcome seen.
 *
 * Outcomes, best first: PG_ACK_DELIVERED (sent, or durably queued, or nothing left to
 * send), PG_ACK_DROPPED (dropped for good and counted: re-sending would not help), and
 * PG_ACK_ABANDONED (not delivered and not safe: an in-memory queue stopped with it; a
 * source that can be re-read must not commit it).
 *
 * Memory. The ack is reference counted separately from its holds: every batch that carries
 * it keeps a reference, so pg_batch_ack(b) stays valid while b lives. Thread-safe. */
#ifndef PG_ACK_H
#define PG_ACK_H

typedef enum pg_ack_outcome {
    PG_ACK_DELIVERED = 0,
    PG_ACK_DROPPED = 1,
    PG_ACK_ABANDONED = 2,
} pg_ack_outcome;

typedef struct pg_ack pg_ack;

/* Called once, when the last hold is released, with the worst outcome. ctx is borrowed
 * from pg_ack_new; the callback must not block for long (it may run on an exporter's
 * sending thread) and must be thread-safe. */
typedef void (*pg_ack_fn)(void *ctx, pg_ack_outcome outcome);

/* A new ack with one hold (the creator's) and one reference (the creator's, dropped by
 * pg_ack_release). fn may be NULL. Returns NULL on OOM. */
pg_ack *pg_ack_new(pg_ack_fn fn, void *ctx);

/* Takes one more hold (and a reference, dropped when the hold is settled). a may be
 * NULL (a batch without an ack): a no-op that returns NULL. Returns a. */
pg_ack *pg_ack_hold(pg_ack *a);

/* Settles one hold with `outcome` and drops its reference; the last hold fires the
 * callback. a may be NULL. */
void pg_ack_settle(pg_ack *a, pg_ack_outcome outcome);

/* The creator's end: settles its hold as delivered (the outcome of the ack is then what
 * the other holds report) and drops its reference. */
void pg_ack_release(pg_ack *a);

/* References for carriers (batches): ref adds one, unref drops one and frees the ack
 * with the last. Neither touches holds. NULL is a no-op. */
pg_ack *pg_ack_ref(pg_ack *a);
void pg_ack_unref(pg_ack *a);

/* Whether the callback has run (tests). */
int pg_ack_fired(const pg_ack *a);

/* "delivered", "dropped", "abandoned". */
const char *pg_ack_outcome_name(pg_ack_outcome o);

#endif
