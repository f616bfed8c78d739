/* Private to the file receiver: its config struct, format sniffing and decoding, the
 * remembered set of files already read (state file), and one poll. */
#ifndef PG_FILE_RECEIVER_INT_H
#define PG_FILE_RECEIVER_INT_H

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
    char *storage_directory; /* NULL: ./data/file_receiver/<sanitised id> */
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
    bool logged; /* a retryable problem with this version was already logged */
} pg_file_pending;

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
} pg_file_receiver;

/* Runs one poll on the loop thread: globs, checks stability, reads, decodes and hands on
 * every new stable file, then prunes and saves the state. */
void pg_file_poll(pg_file_receiver *r);

/* Frees a pending list. */
void pg_file_pending_free(pg_file_pending *p, size_t n);

#endif
