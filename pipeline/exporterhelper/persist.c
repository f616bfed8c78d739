/* Persistent queue directory: open (lock, scan, clean up), load, remove, quarantine,
 * close. Writing and the fsync policy are in persist_write.c. */
#include "pipeline/exporterhelper/persist_int.h"
#include "pipeline/core/err.h"
#include "pipeline/exporterhelper/exporterhelper.h"
#include "pipeline/telemetry/log.h"

#include "pipeline/core/fsutil.h"
#include "pipeline/core/vec.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILE_BYTES ((uint64_t)1 << 30) /* the default arena cap of a decoded batch */

void pg_persist_name(uint64_t seq, char *buf)
{
    snprintf(buf, PG_PERSIST_NAME_LEN, "%020llu.pgq", (unsigned long long)seq);
}

/* Parses "<20 digits>.pgq"; returns 0 and *seq, or PG_EINVAL for any other name. */
static int parse_name(const char *name, uint64_t *seq)
{
    if (strlen(name) != 24 || strcmp(name + 20, ".pgq")) return PG_EINVAL;
    uint64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9') return PG_EINVAL;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    *seq = v;
    return v ? 0 : PG_EINVAL;
}

static int cmp_entry(const void *a, const void *b)
{
    uint64_t x = ((const pg_persist_entry *)a)->seq, y = ((const pg_persist_entry *)b)->seq;
    return x < y ? -1 : x > y;
}

/* Lists queued files into p->left (sorted) and deletes temporary files. */
static int scan(pg_persist *p, char *err, size_t errlen)
{
    int fd = openat(p->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0) close(fd);
        return pg_err(err, errlen, PG_EIO, "cannot list %s: %s", p->dir, strerror(errno));
    }
    size_t cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        uint64_t seq;
        struct stat st;
        if (strncmp(e->d_name, ".tmp-", 5) == 0) {
            unlinkat(p->dirfd, e->d_name, 0);
            continue;
        }
        if (parse_name(e->d_name, &seq) || fstatat(p->dirfd, e->d_name, &st, 0) ||
            !S_ISREG(st.st_mode))
            continue;
        if (PG_VEC_RESERVE(p->left, cap, p->nleft + 1, 64)) {
            rc = pg_err(err, errlen, PG_ENOMEM, "out of memory listing %s", p->dir);
            break;
        }
        p->left[p->nleft++] = (pg_persist_entry){seq, (uint64_t)st.st_size};
        if (seq >= p->next_seq) p->next_seq = seq + 1;
    }
    closedir(d);
    if (p->nleft) qsort(p->left, p->nleft, sizeof *p->left, cmp_entry);
    return rc;
}

/* Opens, locks and scans; see the header. */
int pg_persist_open(const char *dir, int fsync_policy, const char *log_id, pg_persist **out,
                    char *err, size_t errlen)
{
    *out = NULL;
    if (pg_mkdirs(dir, 0700))
        return pg_err(err, errlen, PG_EIO, "cannot create %s: %s", dir, strerror(errno));
    pg_persist *p = calloc(1, sizeof *p);
    if (!p || !(p->dir = strdup(dir))) {
        free(p);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    p->log_id = log_id;
    p->policy = fsync_policy;
    p->lockfd = -1;
    p->next_seq = 1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    int rc;
    p->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (p->dirfd < 0) {
        rc = pg_err(err, errlen, PG_EIO, "cannot open %s: %s", dir, strerror(errno));
        goto fail;
    }
    if ((rc = pg_lock_dir(p->dirfd, dir, "persistent queue", &p->lockfd, err, errlen))) goto fail;
    if (mkdirat(p->dirfd, "corrupt", 0700) && errno != EEXIST) {
        rc = pg_err(err, errlen, PG_EIO, "cannot create %s/corrupt: %s", dir, strerror(errno));
        goto fail;
    }
    if ((rc = scan(p, err, errlen))) goto fail;
    if (p->policy == PG_FSYNC_BATCH && pg_persist_flusher_start(p)) {
        rc = pg_err(err, errlen, PG_ENOMEM, "cannot start the fsync thread");
        goto fail;
    }
    *out = p;
    return 0;
fail:
    pg_persist_close(p);
    return rc;
}

size_t pg_persist_leftovers(const pg_persist *p, const pg_persist_entry **out)
{
    *out = p->left;
    return p->nleft;
}

/* Moves a file that does not decode to corrupt/ under a name that cannot collide. */
static void quarantine(pg_persist *p, const char *name, const char *why)
{
    char dst[96];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(dst, sizeof dst, "corrupt/%lld%09ld-%s", (long long)ts.tv_sec, ts.tv_nsec, name);
    if (renameat(p->dirfd, name, p->dirfd, dst)) {
        pg_log(PG_LOG_ERROR, p->log_id,
               "persistent queue: %s/%s is corrupt (%s); moving it failed: %s", p->dir, name, why,
               strerror(errno));
        unlinkat(p->dirfd, name, 0);
        return;
    }
    pg_log(PG_LOG_ERROR, p->log_id, "persistent queue: %s/%s is corrupt (%s); moved to %s/%s",
           p->dir, name, why, p->dir, dst);
}

/* Reads the whole file with one allocation sized by fstat. */
static int read_all(pg_persist *p, const char *name, pg_buf *b, char *err, size_t errlen)
{
    int fd = openat(p->dirfd, name, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        int e = errno;
        if (fd >= 0) close(fd);
        return pg_err(err, errlen, PG_EIO, "cannot open %s/%s: %s", p->dir, name, strerror(e));
    }
    if ((uint64_t)st.st_size > MAX_FILE_BYTES) {
        close(fd);
        return pg_err(err, errlen, PG_EINVAL, "%lld bytes is over the limit of %llu",
                      (long long)st.st_size, (unsigned long long)MAX_FILE_BYTES);
    }
    if (pg_buf_reserve(b, (size_t)st.st_size + 1)) {
        close(fd);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory reading %s/%s", p->dir, name);
    }
    for (;;) {
        ssize_t n = read(fd, b->data + b->len, b->cap - b->len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return pg_err(err, errlen, PG_EIO, "read error on %s/%s: %s", p->dir, name,
                          strerror(e));
        }
        if (n == 0) break;
        b->len += (size_t)n;
        if (b->len == b->cap && pg_buf_reserve(b, 65536)) {
            close(fd);
            return pg_err(err, errlen, PG_ENOMEM, "out of memory reading %s/%s", p->dir, name);
        }
    }
    close(fd);
    return 0;
}

/* Loads file seq; quarantines it when it does not decode (any status but PG_EIO and
 * PG_ENOMEM, which leave it in place for a later try). */
int pg_persist_load(pg_persist *p, uint64_t seq, pg_batch **out, char *err, size_t errlen)
{
    char name[PG_PERSIST_NAME_LEN];
    pg_persist_name(seq, name);
    pg_buf b = {0};
    int rc = read_all(p, name, &b, err, errlen);
    if (!rc) rc = pg_persist_decode(b.data, b.len, out, err, errlen);
    pg_buf_free(&b);
    /* a file that cannot be read right now stays; one that cannot be decoded never will */
    if (rc && rc != PG_EIO && rc != PG_ENOMEM) quarantine(p, name, err ? err : "malformed");
    return rc;
}

void pg_persist_remove(pg_persist *p, uint64_t seq)
{
    char name[PG_PERSIST_NAME_LEN];
    pg_persist_name(seq, name);
    if (unlinkat(p->dirfd, name, 0) && errno != ENOENT)
        pg_log(PG_LOG_ERROR, p->log_id,
               "persistent queue: cannot delete %s/%s: %s (it will be sent again after a restart)",
               p->dir, name, strerror(errno));
}

/* Stops the flusher (which syncs what is pending), unlocks, frees. */
void pg_persist_close(pg_persist *p)
{
    if (!p) return;
    pg_persist_flusher_stop(p);
    if (p->lockfd >= 0) close(p->lockfd); /* releases the flock */
    if (p->dirfd >= 0) close(p->dirfd);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->pending);
    free(p->left);
    free(p->dir);
    free(p);
}
