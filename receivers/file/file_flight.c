/* Files in flight: versions handed on whose delivery acknowledgement has not fired yet.
 * A version is committed to the state file (and deleted with delete_after_read) only when
 * its ack fires with the data safe downstream: delivered, durably queued, or dropped for
 * good. One that an in-memory queue abandoned at shutdown is not committed, so the next
 * start reads it again (at-least-once).
 *
 * The ack callback runs on whichever thread settles last (the receiver's own, right after
 * consume, or an exporter's sending thread): it only marks the flight settled under the
 * lock and wakes the loop; committing happens on the loop thread (pg_file_flights_collect). */
#include "receivers/file/file_receiver_int.h"

#include "pipeline/core/err.h"
#include "pipeline/telemetry/log.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pg_file_flight {
    struct pg_file_flight *next;
    pg_file_receiver *r;
    char *path;
    pg_file_ident id;
    int consume_rc; /* what consume returned: only 0 may commit */
    bool settled;
    pg_ack_outcome outcome;
};

/* Ack callback (any thread): marks the flight settled and wakes the loop. */
static void on_settled(void *ctx, pg_ack_outcome outcome)
{
    pg_file_flight *f = ctx;
    pg_file_receiver *r = f->r;
    pthread_mutex_lock(&r->flights_mu);
    f->settled = true;
    f->outcome = outcome;
    pthread_mutex_unlock(&r->flights_mu);
    if (r->flights_ev) event_active(r->flights_ev, EV_TIMEOUT, 0);
}

/* Creates a flight for this version of path (copied) and an ack whose callback settles it;
 * the flight is listed at once, the ack is the caller's (pg_ack_release after consume).
 * Returns the ack, or NULL on OOM. */
pg_ack *pg_file_flight_begin(pg_file_receiver *r, const char *path, const pg_file_ident *id,
                             pg_file_flight **out)
{
    pg_file_flight *f = calloc(1, sizeof *f);
    pg_ack *a = f ? pg_ack_new(on_settled, f) : NULL;
    if (!a || !(f->path = strdup(path))) {
        pg_ack_release(a);
        free(f);
        return NULL;
    }
    f->r = r;
    f->id = *id;
    f->consume_rc = PG_EAGAIN; /* until told otherwise, nothing is committed */
    pthread_mutex_lock(&r->flights_mu);
    f->next = r->flights;
    r->flights = f;
    pthread_mutex_unlock(&r->flights_mu);
    *out = f;
    return a;
}

/* Records what consume returned for the flight (before the creator's hold is released). */
void pg_file_flight_consumed(pg_file_receiver *r, pg_file_flight *f, int rc)
{
    pthread_mutex_lock(&r->flights_mu);
    f->consume_rc = rc;
    pthread_mutex_unlock(&r->flights_mu);
}

/* True when this version was accepted and is still waiting for its ack, or its ack fired
 * (delivered, queued, dropped) and the loop has not committed it yet: an ack settling on an
 * exporter thread while a poll runs must not let the poll read the file a second time. */
bool pg_file_flight_pending(pg_file_receiver *r, const pg_file_ident *id)
{
    bool found = false;
    pthread_mutex_lock(&r->flights_mu);
    for (const pg_file_flight *f = r->flights; f && !found; f = f->next)
        found = (!f->settled || f->outcome != PG_ACK_ABANDONED) && f->consume_rc == 0 &&
                f->id.ino == id->ino && f->id.size == id->size && f->id.mtime_ns == id->mtime_ns;
    pthread_mutex_unlock(&r->flights_mu);
    return found;
}

/* Commits one settled flight (loop thread). Returns true when the state changed. */
static bool commit(pg_file_receiver *r, const pg_file_flight *f)
{
    if (f->consume_rc != 0) return false; /* refused: the poll already decided */
    if (f->outcome == PG_ACK_ABANDONED) {
        pg_counter_add(r->abandoned, 1);
        pg_log(PG_LOG_WARN, r->id,
               "%s was not delivered before the stop; it is read again at the next start", f->path);
        return false;
    }
    pg_file_state_add(r->state, &f->id, f->path, PG_FILE_DONE);
    if (r->cfg.delete_after_read && unlink(f->path) != 0 && errno != ENOENT)
        pg_log(PG_LOG_WARN, r->id, "cannot delete %s: %s", f->path, strerror(errno));
    return true;
}

/* Commits every settled flight and saves the state once if anything changed (loop thread,
 * or destroy after every exporter stopped). Returns the number still in flight. */
size_t pg_file_flights_collect(pg_file_receiver *r)
{
    pthread_mutex_lock(&r->flights_mu);
    pg_file_flight *done = NULL, **pp = &r->flights;
    size_t left = 0;
    while (*pp) {
        pg_file_flight *f = *pp;
        if (f->settled) {
            *pp = f->next;
            f->next = done;
            done = f;
        } else {
            pp = &f->next;
            left++;
        }
    }
    pthread_mutex_unlock(&r->flights_mu);
    bool changed = false;
    for (pg_file_flight *f = done, *next; f; f = next) {
        next = f->next;
        changed |= r->state && commit(r, f);
        free(f->path);
        free(f);
    }
    if (changed) pg_file_receiver_save(r);
    return left;
}

/* Frees every flight (destroy, once nothing can settle any more). */
void pg_file_flights_free(pg_file_receiver *r)
{
    for (pg_file_flight *f = r->flights, *next; f; f = next) {
        next = f->next;
        free(f->path);
        free(f);
    }
    r->flights = NULL;
}
