/* Private to persist*.c: the open directory. */
#ifndef PG_PERSIST_INT_H
#define PG_PERSIST_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "pipeline/exporterhelper/persist.h"

#define PG_PERSIST_NAME_LEN 32 /* "00000000000000000042.pgq" + NUL, with room */

struct pg_persist {
    char *dir;
    const char *log_id;
    int dirfd, lockfd, policy;
    pthread_mutex_t mu; /* seq, the pending list, the flusher state */
    uint64_t next_seq;
    pg_persist_entry *left; /* found by open */
    size_t nleft;
    /* PG_FSYNC_BATCH: written files not yet fsynced (open descriptors), and the flusher */
    int *pending;
    size_t npending, cappending;
    int64_t first_pending_ns;
    pthread_cond_t cv;
    pthread_t flusher;
    bool flusher_on, closing;
};

/* Formats the queued-file name of seq into buf (PG_PERSIST_NAME_LEN bytes). */
void pg_persist_name(uint64_t seq, char *buf);

/* Starts / stops the PG_FSYNC_BATCH flusher thread (persist_write.c). */
int pg_persist_flusher_start(pg_persist *p);
void pg_persist_flusher_stop(pg_persist *p);

#endif
