/* Private to the file exporter: writes generated file names into one directory atomically
 * and rotates (deletes the oldest of its own files) by count and total size. */
#ifndef PG_FILE_WRITER_H
#define PG_FILE_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/buf.h"

typedef struct pg_file_writer pg_file_writer;

typedef struct pg_file_writer_opts {
    const char *directory;
    const char *prefix;       /* checked by pg_file_writer_name_ok */
    const char *ext;          /* ".otlp.pb", ".otlp.json", ".pb.gz" */
    int64_t max_files;        /* 0 = unlimited */
    uint64_t max_total_bytes; /* 0 = unlimited */
    bool fsync;
    const char *log_id;
} pg_file_writer_opts;

/* True when prefix is 1..64 bytes of [A-Za-z0-9._-] not starting with '.'. */
bool pg_file_writer_name_ok(const char *prefix);

/* Creates the directory (and parents), removes temp files left by a crash, and lists the
 * files of ours already there (they count for rotation). Copies o's strings. Returns 0 and
 * *out (caller owns; pg_file_writer_free) or a negative status with err. */
int pg_file_writer_open(const pg_file_writer_opts *o, pg_file_writer **out, char *err,
                        size_t errlen);
void pg_file_writer_free(pg_file_writer *w);

/* Writes each of bufs[0..n) (borrowed) to a new file `<prefix>-<unix_ms>-<seq><ext>`: all
 * to temp files first, then renamed into place, then the oldest files are rotated out.
 * Thread-safe. Returns 0, or PG_EAGAIN (disk full, permissions, ...: nothing of this call
 * is left behind) with a message in err. */
int pg_file_writer_write(pg_file_writer *w, const pg_buf *bufs, size_t n, char *err, size_t errlen);

/* Files of ours currently tracked, and their total size (tests, metrics). */
size_t pg_file_writer_count(pg_file_writer *w);
uint64_t pg_file_writer_bytes(pg_file_writer *w);

#endif
