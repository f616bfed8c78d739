/* Private to the file receiver: its config struct, format sniffing and decoding, the
 * remembered set of files already read (state file), and one poll. */
#ifndef PG_FILE_RECEIVER_INT_H
#define PG_FILE_RECEIVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/component.h"
#include "pipeline/telemetry/metrics.h"
#include "pipeline/translate/format.h"

typedef struct pg_file_receiver_config {
    pg_cfg_strlist include; /* globs, required */
    pg_cfg_strlist exclude; /* fnmatch patterns over the globbed path */
    int format;             /* pg_format; PG_FORMAT_UNKNOWN ("auto"): sniffed per file */
    int64_t poll_interval;  /* ns */
    uint64_t max_file_size;
    uint64_t max_decompressed;
    char *storage_directory;    /* NULL: ./data/file_receiver/<sanitised id> */
    char *quarantine_directory; /* NULL: skipped files stay where they are */
    bool delete_after_read;
} pg_file_receiver_config;

/* ---- file_format.c --------------------------------------------------------------------- */

/* Decodes a whole file's bytes (borrowed; gzip or zstd inflated by the decoder, at most
 * max_decompressed bytes) in `format` (PG_FORMAT_UNKNOWN: sniffed, see
 * pg_format_decode) into the empty batch b. Writes the format used (or guessed) to *used
 * (may be NULL). Returns 0 or a negative status with err naming what was guessed; on error
 * b may hold a partial tree and must be discarded. */
int pg_file_decode(pg_batch *b, const uint8_t *data, size_t len, pg_format format,
                   size_t max_decompressed, pg_format *used, char *err, size_t errlen);

/* ---- file_state.c ---------------------------------------------------------------------- */

/* What identifies one version of a file: a rewritten file is a new file, a renamed one is
 * not. */
typedef struct pg_file_ident {
    uint64_t ino;
    uint64_t size;
    int64_t mtime_ns;
} pg_file_ident;

enum { PG_FILE_DONE = 'r', PG_FILE_BAD = 'b' };

typedef struct pg_file_state pg_file_state;

/* Creates `dir` (and its parents) and loads `dir`/files.state if present. Borrows dir.
 * Returns 0 and *out (caller owns; pg_file_state_free) or a negative status with err. */
int pg_file_state_open(const char *dir, const char *log_id, pg_file_state **out, char *err,
                       size_t errlen);
void pg_file_state_free(pg_file_state *st);

/* Starts a poll: records not seen by the end of it may be pruned. */
void pg_file_state_begin(pg_file_state *st);

/* Returns PG_FILE_DONE / PG_FILE_BAD when this version was already handled (marking the
 * record seen and moving it to `path`, borrowed), else 0. */
int pg_file_state_check(pg_file_state *st, const pg_file_ident *id, const char *path);

/* Remembers this version of `path` (copied) as handled with status PG_FILE_DONE or
 * PG_FILE_BAD. Returns 0 or PG_ENOMEM. */
int pg_file_state_add(pg_file_state *st, const pg_file_ident *id, const char *path, int status);

/* Ends a poll: forgets records not seen in it whose path no longer exists. */
void pg_file_state_prune(pg_file_state *st);

/* Writes the state file (temp file, fsync, rename) when it changed. */
int pg_file_state_save(pg_file_state *st, char *err, size_t errlen);

/* Number of records (tests). */
size_t pg_file_state_count(const pg_file_state *st);

/* ---- file_poll.c ----------------------------------------------------------------------- */

/* A file seen at the last poll but not read yet (not stable, or refused with PG_EAGAIN). */
typedef struct pg_file_pending {
    char *path;
    pg_file_ident id;
    bool logged;         /* a retryable problem with this version was already logged */
    int64_t backoff_ns;  /* after a refusal: the wait before the next try (doubles) */
    int64_t retry_at_ns; /* unix ns before which this version is not read again */
} pg_file_pending;

/* The longest wait between two tries of a refused file. */
#define PG_FILE_MAX_BACKOFF_NS (30LL * 1000000000LL)

typedef struct pg_file_flight pg_file_flight;

typedef struct pg_file_receiver {
    char *id;
    pg_host *host;
    pg_consumer next;
    pg_file_receiver_config cfg; /* deep copy */
    pg_component_metrics cm;
    pg_file_state *state;
    struct event *timer;
    atomic_bool stopping;
    pg_file_pending *pending; /* from the last poll, sorted by path */
    size_t npending;
    pthread_mutex_t flights_mu; /* guards flights (ack callbacks run on other threads) */
    pg_file_flight *flights;    /* handed on, not committed yet */
    struct event *flights_ev;   /* wakes the loop to commit settled flights */
    pg_counter *abandoned;      /* versions not delivered before a stop */
    pg_counter *skipped[2];     /* skipped for good: [0] malformed, [1] too large */
} pg_file_receiver;

/* Runs one poll on the loop thread: globs, checks stability, reads, decodes and hands on
 * every new stable file, then prunes and saves the state. */
void pg_file_poll(pg_file_receiver *r);

/* Saves the state file when it changed, logging a failure (loop thread, or shutdown). */
void pg_file_receiver_save(pg_file_receiver *r);

/* Frees a pending list. */
void pg_file_pending_free(pg_file_pending *p, size_t n);

/* ---- file_flight.c --------------------------------------------------------------------- */

/* Lists a flight for this version of path and returns a new ack (the caller's hold) whose
 * firing settles it; NULL on OOM. */
pg_ack *pg_file_flight_begin(pg_file_receiver *r, const char *path, const pg_file_ident *id,
                             pg_file_flight **out);
/* Records consume's status for f; call before releasing the ack. */
void pg_file_flight_consumed(pg_file_receiver *r, pg_file_flight *f, int rc);
/* True while this version was accepted and its ack has not fired. */
bool pg_file_flight_pending(pg_file_receiver *r, const pg_file_ident *id);
/* Commits settled flights to the state (loop thread); returns how many are still open. */
size_t pg_file_flights_collect(pg_file_receiver *r);
/* Frees every flight (destroy). */
void pg_file_flights_free(pg_file_receiver *r);

#endif
