/* Generated file names, atomic writes (temp file, optional fsync, rename) and rotation for
 * the file exporter. Only names of the form `<prefix>-<13 digits>-<digits><ext>` are ours:
 * nothing from the input ever reaches a path. */
#include "exporters/file/file_writer.h"

#include "pipeline/component.h"
#include "pipeline/core/err.h"
#include "pipeline/telemetry/log.h"

#include "pipeline/core/fsutil.h"
#include "pipeline/core/vec.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct tracked {
    uint64_t ms, seq, size;
    char *name;
} tracked;

struct pg_file_writer {
    char *dir, *prefix, *ext, *log_id;
    int64_t max_files;
    uint64_t max_total;
    bool fsync;
    pthread_mutex_t mu;
    tracked *files; /* oldest first */
    size_t n, cap;
    uint64_t total, seq;
};

bool pg_file_writer_name_ok(const char *p)
{
    size_t n = p ? strlen(p) : 0;
    if (n == 0 || n > 64 || p[0] == '.') return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Parses a name of ours into (ms, seq); returns false for anything else. */
static bool parse_name(const pg_file_writer *w, const char *name, uint64_t *ms, uint64_t *seq)
{
    size_t pl = strlen(w->prefix), el = strlen(w->ext), n = strlen(name);
    if (n <= pl + el + 3 || strncmp(name, w->prefix, pl) != 0 || name[pl] != '-') return false;
    if (strcmp(name + n - el, w->ext) != 0) return false;
    const char *s = name + pl + 1, *end = name + n - el;
    uint64_t v[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        const char *start = s;
        while (s < end && *s >= '0' && *s <= '9' && s - start < 19)
            v[k] = v[k] * 10 + (uint64_t)(*s++ - '0');
        if (s == start || (k == 0 && (s >= end || *s++ != '-'))) return false;
    }
    if (s != end) return false;
    *ms = v[0];
    *seq = v[1];
    return true;
}

static int cmp_tracked(const void *a, const void *b)
{
    const tracked *x = a, *y = b;
    if (x->ms != y->ms) return x->ms < y->ms ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Appends to the tracked list; takes ownership of name. */
static int track(pg_file_writer *w, uint64_t ms, uint64_t seq, uint64_t size, char *name)
{
    if (PG_VEC_RESERVE(w->files, w->cap, w->n + 1, 64)) {
        free(name);
        return PG_ENOMEM;
    }
    w->files[w->n++] = (tracked){ms, seq, size, name};
    w->total += size;
    return 0;
}

/* Returns dir/name (malloc-owned) or NULL. */
static char *join(const pg_file_writer *w, const char *name)
{
    size_t n = strlen(w->dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", w->dir, name);
    return p;
}

/* Lists our files (oldest first) and deletes our temp files left by a crash. */
static int scan(pg_file_writer *w, char *err, size_t errlen)
{
    DIR *d = opendir(w->dir);
    if (!d) return pg_err(err, errlen, PG_EIO, "cannot list %s: %s", w->dir, strerror(errno));
    size_t pl = strlen(w->prefix);
    struct dirent *e;
    int rc = 0;
    while (!rc && (e = readdir(d))) {
        const char *nm = e->d_name;
        uint64_t ms, seq;
        struct stat sb;
        if (nm[0] == '.' && strncmp(nm + 1, w->prefix, pl) == 0 && nm[pl + 1] == '-' &&
            strlen(nm) > 4 && strcmp(nm + strlen(nm) - 4, ".tmp") == 0) {
            char *p = join(w, nm);
            if (p) unlink(p);
            free(p);
            continue;
        }
        if (!parse_name(w, nm, &ms, &seq)) continue;
        if (fstatat(dirfd(d), nm, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode)) continue;
        char *copy = strdup(nm);
        rc = copy ? track(w, ms, seq, (uint64_t)sb.st_size, copy) : PG_ENOMEM;
    }
    closedir(d);
    if (rc) return pg_err(err, errlen, rc, "out of memory listing %s", w->dir);
    if (w->n) qsort(w->files, w->n, sizeof *w->files, cmp_tracked);
    for (size_t i = 0; i < w->n; i++) /* names keep increasing across restarts */
        if (w->files[i].seq >= w->seq) w->seq = w->files[i].seq + 1;
    return 0;
}

void pg_file_writer_free(pg_file_writer *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->n; i++)
        free(w->files[i].name);
    free(w->files);
    free(w->dir);
    free(w->prefix);
    free(w->ext);
    free(w->log_id);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

/* Builds the writer (caller owns), creating the directory. */
int pg_file_writer_open(const pg_file_writer_opts *o, pg_file_writer **out, char *err,
                        size_t errlen)
{
    *out = NULL;
    if (!pg_file_writer_name_ok(o->prefix))
        return pg_err(err, errlen, PG_EINVAL, "prefix \"%s\" is not a safe file name", o->prefix);
    if (pg_mkdirs(o->directory, 0755) != 0)
        return pg_err(err, errlen, PG_EIO, "cannot create directory %s: %s", o->directory,
                      strerror(errno));
    pg_file_writer *w = calloc(1, sizeof *w);
    if (!w) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    pthread_mutex_init(&w->mu, NULL);
    w->dir = strdup(o->directory);
    w->prefix = strdup(o->prefix);
    w->ext = strdup(o->ext);
    w->log_id = strdup(o->log_id ? o->log_id : "exporter");
    w->max_files = o->max_files;
    w->max_total = o->max_total_bytes;
    w->fsync = o->fsync;
    if (!w->dir || !w->prefix || !w->ext || !w->log_id) {
        pg_file_writer_free(w);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    int rc = scan(w, err, errlen);
    if (rc) {
        pg_file_writer_free(w);
        return rc;
    }
    *out = w;
    return 0;
}

/* Writes buf to a new temp file at path; 0 or PG_EIO with errno (the temp file is removed). */
static int write_tmp(const char *path, const pg_buf *buf, bool do_fsync)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return PG_EIO;
    size_t off = 0;
    while (off < buf->len) {
        ssize_t k = write(fd, buf->data + off, buf->len - off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            if (k == 0) errno = EIO;
            goto fail;
        }
        off += (size_t)k;
    }
    if (do_fsync && fsync(fd) != 0) goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    return 0;
fail:;
    int e = errno;
    if (fd >= 0) close(fd);
    unlink(path);
    errno = e;
    return PG_EIO;
}

/* Deletes the oldest files while over a limit, keeping at least the newest. Locked. */
static void rotate(pg_file_writer *w)
{
    size_t drop = 0;
    while (w->n - drop > 1 && ((w->max_files > 0 && w->n - drop > (uint64_t)w->max_files) ||
                               (w->max_total > 0 && w->total > w->max_total))) {
        tracked *t = &w->files[drop++];
        char *p = join(w, t->name);
        if (p && unlink(p) != 0 && errno != ENOENT)
            pg_log(PG_LOG_WARN, w->log_id, "rotation: cannot delete %s: %s", p, strerror(errno));
        free(p);
        w->total -= t->size;
        free(t->name);
    }
    if (drop) {
        memmove(w->files, w->files + drop, (w->n - drop) * sizeof *w->files);
        w->n -= drop;
    }
}

typedef struct pending_file {
    char *name, *path, *tmp;
    uint64_t seq;
} pending_file;

/* Picks the next free name (locked); fills f with malloc-owned strings. */
static int next_name(pg_file_writer *w, uint64_t ms, pending_file *f)
{
    size_t n = strlen(w->prefix) + strlen(w->ext) + 48;
    for (;;) {
        f->seq = w->seq++;
        f->name = malloc(n);
        if (!f->name) return PG_ENOMEM;
        snprintf(f->name, n, "%s-%013" PRIu64 "-%06" PRIu64 "%s", w->prefix, ms, f->seq, w->ext);
        f->path = join(w, f->name);
        char *dot = malloc(n + 8);
        if (dot) snprintf(dot, n + 8, ".%s.tmp", f->name);
        f->tmp = dot ? join(w, dot) : NULL;
        free(dot);
        if (!f->path || !f->tmp) return PG_ENOMEM;
        struct stat sb;
        if (lstat(f->path, &sb) != 0) return 0; /* free (or unreachable: the write says) */
        free(f->name);
        free(f->path);
        free(f->tmp);
        *f = (pending_file){0};
    }
}

/* Writes all of bufs or none; see the header. */
int pg_file_writer_write(pg_file_writer *w, const pg_buf *bufs, size_t n, char *err, size_t errlen)
{
    if (n == 0) return 0;
    pending_file *fs = calloc(n, sizeof *fs);
    if (!fs) return pg_err(err, errlen, PG_EAGAIN, "out of memory");
    pthread_mutex_lock(&w->mu);
    uint64_t ms = pg_now_unix_ns() / 1000000;
    int rc = 0;
    size_t wrote = 0, renamed = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (next_name(w, ms, &fs[i]) != 0) {
            rc = pg_err(err, errlen, PG_EAGAIN, "out of memory");
            break;
        }
        int wr = write_tmp(fs[i].tmp, &bufs[i], w->fsync);
        if (wr != 0 && errno == ENOENT && pg_mkdirs(w->dir, 0755) == 0) /* directory removed */
            wr = write_tmp(fs[i].tmp, &bufs[i], w->fsync);
        if (wr != 0)
            rc = pg_err(err, errlen, PG_EAGAIN, "cannot write %s: %s", fs[i].path, strerror(errno));
        else
            wrote++;
    }
    while (!rc && renamed < n) {
        if (rename(fs[renamed].tmp, fs[renamed].path) != 0)
            rc = pg_err(err, errlen, PG_EAGAIN, "cannot rename to %s: %s", fs[renamed].path,
                        strerror(errno));
        else
            renamed++;
    }
    if (rc) { /* leave nothing of this call behind: the send will be retried */
        for (size_t i = 0; i < renamed; i++)
            unlink(fs[i].path);
        for (size_t i = renamed; i < wrote; i++)
            unlink(fs[i].tmp);
    } else {
        if (w->fsync) {
            int dfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) {
                (void)fsync(dfd);
                close(dfd);
            }
        }
        for (size_t i = 0; i < n; i++) { /* on OOM track frees the name: just not rotated */
            track(w, ms, fs[i].seq, bufs[i].len, fs[i].name);
            fs[i].name = NULL;
        }
        rotate(w);
    }
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < n; i++) {
        free(fs[i].name);
        free(fs[i].path);
        free(fs[i].tmp);
    }
    free(fs);
    return rc;
}

size_t pg_file_writer_count(pg_file_writer *w)
{
    pthread_mutex_lock(&w->mu);
    size_t n = w->n;
    pthread_mutex_unlock(&w->mu);
    return n;
}

uint64_t pg_file_writer_bytes(pg_file_writer *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t t = w->total;
    pthread_mutex_unlock(&w->mu);
    return t;
}
