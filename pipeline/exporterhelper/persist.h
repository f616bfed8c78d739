/* Persistent queue storage for the exporter helper: one file per accepted batch in a
 * directory, written ahead of the acknowledgement and deleted once the batch is finished.
 *
 * Directory layout:
 *   DIR/lock                      flock(LOCK_EX) held while open: one process per directory
 *   DIR/00000000000000000042.pgq  a queued batch; the name is its sequence number, zero-padded
 *                                 to 20 digits so that name order is replay order
 *   DIR/.tmp-00000000000000000042 a file being written (renamed into place when complete;
 *                                 leftovers were never acknowledged and are deleted on open)
 *   DIR/corrupt/<unix-ns>-<seq>.pgq  files that failed to decode, moved aside, never replayed
 *
 * fsync policy (when pg_persist_write returns, the batch is acknowledged):
 *   PG_FSYNC_ALWAYS  the file is fsynced before the rename and the directory after it:
 *                    nothing acknowledged is lost, even on power loss.
 *   PG_FSYNC_BATCH   the file is written and renamed; a flusher thread fsyncs the files and
 *                    the directory within PG_PERSIST_SYNC_WINDOW_MS (100 ms) of the first
 *                    unsynced write (or at once when 256 files wait): an OS crash or power
 *                    loss can lose up to that window of acknowledged batches.
 *   PG_FSYNC_NEVER   written and renamed, flushed whenever the OS decides.
 * In every mode the bytes are in the kernel before the acknowledgement, so killing the
 * process (kill -9) loses nothing acknowledged. A file torn by a power loss fails its CRC
 * and is quarantined to corrupt/ on replay. */
#ifndef PG_PERSIST_H
#define PG_PERSIST_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/batch.h"
#include "pipeline/core/buf.h"

#define PG_PERSIST_SYNC_WINDOW_MS 100
#define PG_PERSIST_SYNC_MAX_PENDING 256

typedef struct pg_persist pg_persist;

/* A file left by an earlier run. */
typedef struct pg_persist_entry {
    uint64_t seq;
    uint64_t size; /* bytes on disk */
} pg_persist_entry;

/* Opens (creating if needed, mode 0700) the directory, takes its lock, deletes temporary
 * files and lists the queued ones. fsync_policy: PG_FSYNC_*. log_id (borrowed for the life
 * of p) prefixes log lines. Caller owns *out (pg_persist_close). PG_EAGAIN when another
 * process holds the lock, PG_EIO on other errors. */
int pg_persist_open(const char *dir, int fsync_policy, const char *log_id, pg_persist **out,
                    char *err, size_t errlen);

/* Files found by open, by ascending sequence number (borrowed, valid until close). */
size_t pg_persist_leftovers(const pg_persist *p, const pg_persist_entry **out);

/* Writes an image (from pg_persist_encode; borrowed) to a new file, durably per the fsync
 * policy, and returns its sequence number. PG_EIO with a message on failure (nothing is
 * left behind). */
int pg_persist_write(pg_persist *p, const pg_buf *image, uint64_t *seq, char *err, size_t errlen);

/* Reads and decodes file seq into a new batch (caller owns). A file that does not decode
 * is moved to corrupt/ and PG_EINVAL returned; a file that cannot be read gives PG_EIO. */
int pg_persist_load(pg_persist *p, uint64_t seq, pg_batch **out, char *err, size_t errlen);

/* Deletes file seq (a finished batch). Failures are logged. */
void pg_persist_remove(pg_persist *p, uint64_t seq);

/* Flushes what the fsync policy still owes, releases the lock and frees p. NULL: no-op. */
void pg_persist_close(pg_persist *p);

/* ---- File image (persist_format.c) ----
 * Little-endian:  "PGQ1" | u32 crc32 of everything after this field | u64 received_unix_ns
 * | u32 origin length, origin | u32 metadata count, then per entry u32 key length, key,
 * u32 value length, value | u64 payload length, payload = the batch as OTLP ProfilesData
 * protobuf (pg_otlp_encode). */

/* Appends the image of b (borrowed) to out. */
int pg_persist_encode(const pg_batch *b, pg_buf *out, char *err, size_t errlen);

/* Decodes an image into a new batch (caller owns). PG_EINVAL on any inconsistency. */
int pg_persist_decode(const uint8_t *data, size_t len, pg_batch **out, char *err, size_t errlen);

#endif
