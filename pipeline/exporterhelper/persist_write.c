/* Persistent queue writes and the fsync policy (see persist.h for the guarantees). */
#include "pipeline/exporterhelper/persist_int.h"
#include "pipeline/core/err.h"
#include "pipeline/core/vec.h"
#include "pipeline/exporterhelper/exporterhelper.h"
#include "pipeline/telemetry/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return PG_EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* fsyncs every descriptor in fds (and closes them), then the directory. */
static void sync_all(pg_persist *p, int *fds, size_t n)
{
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (fsync(fds[i])) failed = errno;
        close(fds[i]);
    }
    if (n && fsync(p->dirfd)) failed = errno;
    if (failed)
        pg_log(PG_LOG_ERROR, p->log_id, "persistent queue: fsync in %s failed: %s", p->dir,
               strerror(failed));
}

/* Takes the pending list (mu held); the caller syncs it outside the lock. */
static int *take_pending(pg_persist *p, size_t *n)
{
    int *fds = p->pending;
    *n = p->npending;
    p->pending = NULL;
    p->npending = p->cappending = 0;
    return fds;
}

/* Flusher thread (PG_FSYNC_BATCH): sleeps until a write is pending, waits out the window
 * from the first pending write, syncs everything pending. On close, syncs what remains. */
static void *flusher_main(void *arg)
{
    pg_persist *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->npending && !p->closing)
            pthread_cond_wait(&p->cv, &p->mu);
        int64_t due = p->first_pending_ns + (int64_t)PG_PERSIST_SYNC_WINDOW_MS * 1000000;
        while (p->npending && !p->closing && mono_ns() < due) {
            struct timespec ts = {(time_t)(due / 1000000000), (long)(due % 1000000000)};
            pthread_cond_timedwait(&p->cv, &p->mu, &ts);
        }
        size_t n;
        int *fds = take_pending(p, &n);
        bool closing = p->closing;
        pthread_mutex_unlock(&p->mu);
        sync_all(p, fds, n);
        free(fds);
        pthread_mutex_lock(&p->mu);
        if (closing && !p->npending) break;
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int pg_persist_flusher_start(pg_persist *p)
{
    if (pthread_create(&p->flusher, NULL, flusher_main, p)) return PG_ENOMEM;
    p->flusher_on = true;
    return 0;
}

void pg_persist_flusher_stop(pg_persist *p)
{
    if (!p->flusher_on) return;
    pthread_mutex_lock(&p->mu);
    p->closing = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->flusher, NULL);
    p->flusher_on = false;
}

/* Hands fd to the flusher (PG_FSYNC_BATCH). With too many pending, syncs them here. */
static void defer_sync(pg_persist *p, int fd)
{
    pthread_mutex_lock(&p->mu);
    if (PG_VEC_RESERVE(p->pending, p->cappending, p->npending + 1, 16)) {
        pthread_mutex_unlock(&p->mu);
        int one[1] = {fd};
        sync_all(p, one, 1);
        return;
    }
    if (!p->npending) p->first_pending_ns = mono_ns();
    p->pending[p->npending++] = fd;
    int *fds = NULL;
    size_t n = 0;
    if (p->npending >= PG_PERSIST_SYNC_MAX_PENDING) fds = take_pending(p, &n);
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (fds) {
        sync_all(p, fds, n);
        free(fds);
    }
}

/* Temp file, write, [fsync], rename, [fsync dir] per policy; see persist.h. */
int pg_persist_write(pg_persist *p, const pg_buf *image, uint64_t *seq, char *err, size_t errlen)
{
    pthread_mutex_lock(&p->mu);
    uint64_t s = p->next_seq++;
    pthread_mutex_unlock(&p->mu);
    char name[PG_PERSIST_NAME_LEN], tmp[PG_PERSIST_NAME_LEN + 8];
    pg_persist_name(s, name);
    snprintf(tmp, sizeof tmp, ".tmp-%020llu", (unsigned long long)s);
    int fd = openat(p->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return pg_err(err, errlen, PG_EIO, "persistent queue: cannot create %s/%s: %s", p->dir, tmp,
                      strerror(errno));
    const char *what = "write";
    if (write_all(fd, image->data, image->len)) goto fail;
    what = "fsync";
    if (p->policy == PG_FSYNC_ALWAYS && fsync(fd)) goto fail;
    what = "rename";
    if (renameat(p->dirfd, tmp, p->dirfd, name)) goto fail;
    if (p->policy == PG_FSYNC_ALWAYS) {
        close(fd);
        if (fsync(p->dirfd)) {
            int e = errno;
            /* the file may or may not survive a crash: it was not acknowledged */
            unlinkat(p->dirfd, name, 0);
            return pg_err(err, errlen, PG_EIO, "persistent queue: fsync of %s failed: %s", p->dir,
                          strerror(e));
        }
    } else if (p->policy == PG_FSYNC_BATCH) {
        defer_sync(p, fd);
    } else {
        close(fd);
    }
    *seq = s;
    return 0;
fail:;
    int e = errno;
    close(fd);
    unlinkat(p->dirfd, tmp, 0);
    return pg_err(err, errlen, PG_EIO, "persistent queue: %s of %s/%s failed: %s", what, p->dir,
                  tmp, strerror(e));
}
