/* What the file receiver already read, kept across restarts in `<dir>/files.state`:
 *
 *     profgate-file-receiver-state 1
 *     <r|b> <inode> <size> <mtime_ns> <path, with % \n \r escaped as %25 %0A %0D>
 *
 * A record matches a file version by (inode, size, mtime), so a file renamed after it was
 * read is not read again, and a file rewritten in place is read again. The file is
 * replaced atomically (temp file, fsync, rename, fsync of the directory). */
#include "receivers/file/file_receiver_int.h"

#include "pipeline/core/err.h"
#include "pipeline/core/vec.h"
#include "pipeline/core/hash.h"
#include "pipeline/telemetry/log.h"

#include "pipeline/core/fsutil.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_HEADER "profgate-file-receiver-state 1"

typedef struct record {
    pg_file_ident id;
    char *path;
    int status;
    uint64_t gen; /* last poll that saw it */
} record;

struct pg_file_state {
    char *dir, *path, *tmp;
    const char *log_id;
    record *recs;
    size_t n, cap;
    pg_u64map index; /* hash(ident) -> position in recs */
    uint64_t gen;
    bool dirty;
    int lockfd; /* flock on dir/lock: one receiver instance per storage directory */
};

static uint64_t ident_hash(const pg_file_ident *id)
{
    uint64_t h = pg_hash_mix(0x5eed, id->ino);
    h = pg_hash_mix(h, id->size);
    return pg_hash_mix(h, (uint64_t)id->mtime_ns);
}

static bool ident_eq(const pg_file_ident *a, const pg_file_ident *b)
{
    return a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns;
}

/* Appends a record (path copied); returns 0 or PG_ENOMEM. */
static int push(pg_file_state *st, const pg_file_ident *id, const char *path, size_t plen,
                int status)
{
    if (PG_VEC_RESERVE(st->recs, st->cap, st->n + 1, 16)) return PG_ENOMEM;
    char *p = malloc(plen + 1);
    if (!p) return PG_ENOMEM;
    memcpy(p, path, plen);
    p[plen] = '\0';
    if (pg_u64map_put(&st->index, ident_hash(id), (uint32_t)st->n) < 0) {
        free(p);
        return PG_ENOMEM;
    }
    st->recs[st->n++] = (record){*id, p, status, st->gen};
    return 0;
}

/* Decodes %XX escapes in place; returns the new length. */
static size_t unescape(char *s)
{
    size_t o = 0;
    for (size_t i = 0; s[i]; i++) {
        unsigned v;
        if (s[i] == '%' && s[i + 1] && s[i + 2] && sscanf(s + i + 1, "%2x", &v) == 1) {
            s[o++] = (char)v;
            i += 2;
        } else {
            s[o++] = s[i];
        }
    }
    s[o] = '\0';
    return o;
}

/* Reads the state file if it exists; malformed lines are skipped with one warning. */
static int load(pg_file_state *st, char *err, size_t errlen)
{
    FILE *f = fopen(st->path, "r");
    if (!f) {
        if (errno == ENOENT) return 0;
        return pg_err(err, errlen, PG_EIO, "cannot read %s: %s", st->path, strerror(errno));
    }
    char *line = NULL;
    size_t cap = 0, bad = 0, lineno = 0;
    ssize_t len;
    int rc = 0;
    while (!rc && (len = getline(&line, &cap, f)) >= 0) {
        if (len > 0 && line[len - 1] == '\n') line[--len] = '\0';
        if (lineno++ == 0) {
            if (strcmp(line, STATE_HEADER) != 0) {
                rc = pg_err(err, errlen, PG_EINVAL, "%s is not a file receiver state file",
                            st->path);
            }
            continue;
        }
        char status;
        pg_file_ident id;
        int off = 0;
        if (sscanf(line, "%c %" SCNu64 " %" SCNu64 " %" SCNd64 " %n", &status, &id.ino, &id.size,
                   &id.mtime_ns, &off) != 4 ||
            off == 0 || (status != PG_FILE_DONE && status != PG_FILE_BAD) || !line[off]) {
            bad++;
            continue;
        }
        size_t plen = unescape(line + off);
        rc = push(st, &id, line + off, plen, status);
        if (rc) pg_err(err, errlen, rc, "out of memory loading %s", st->path);
    }
    free(line);
    fclose(f);
    if (bad) pg_log(PG_LOG_WARN, st->log_id, "%s: skipped %zu malformed lines", st->path, bad);
    return rc;
}

/* Builds the state (caller owns) and loads the file left by an earlier run. */
int pg_file_state_open(const char *dir, const char *log_id, pg_file_state **out, char *err,
                       size_t errlen)
{
    *out = NULL;
    if (pg_mkdirs(dir, 0755) != 0)
        return pg_err(err, errlen, PG_EIO, "cannot create storage_directory %s: %s", dir,
                      strerror(errno));
    pg_file_state *st = calloc(1, sizeof *st);
    size_t n = strlen(dir) + 32;
    if (st) {
        st->lockfd = -1;
        st->log_id = log_id;
        st->dir = strdup(dir);
        st->path = malloc(n);
        st->tmp = malloc(n);
    }
    if (!st || !st->dir || !st->path || !st->tmp) {
        pg_file_state_free(st);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    snprintf(st->path, n, "%s/files.state", dir);
    snprintf(st->tmp, n, "%s/files.state.tmp", dir);
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = dirfd < 0 ? pg_err(err, errlen, PG_EIO, "cannot open storage_directory %s: %s", dir,
                                strerror(errno))
                       : pg_lock_dir(dirfd, dir, "storage_directory", &st->lockfd, err, errlen);
    if (dirfd >= 0) close(dirfd);
    if (!rc) rc = load(st, err, errlen);
    if (rc) {
        pg_file_state_free(st);
        return rc;
    }
    *out = st;
    return 0;
}

void pg_file_state_free(pg_file_state *st)
{
    if (!st) return;
    for (size_t i = 0; i < st->n; i++)
        free(st->recs[i].path);
    free(st->recs);
    pg_u64map_free(&st->index);
    free(st->dir);
    free(st->path);
    free(st->tmp);
    if (st->lockfd >= 0) close(st->lockfd); /* releases the flock */
    free(st);
}

void pg_file_state_begin(pg_file_state *st)
{
    st->gen++;
}

/* Looks the version up; borrows id and path. */
int pg_file_state_check(pg_file_state *st, const pg_file_ident *id, const char *path)
{
    uint32_t i = pg_u64map_get(&st->index, ident_hash(id));
    if (i == UINT32_MAX || i >= st->n || !ident_eq(&st->recs[i].id, id)) return 0;
    record *r = &st->recs[i];
    r->gen = st->gen;
    if (strcmp(r->path, path) != 0) {
        char *p = strdup(path);
        if (p) {
            free(r->path);
            r->path = p;
            st->dirty = true;
        }
    }
    return r->status;
}

/* Remembers the version; copies path. */
int pg_file_state_add(pg_file_state *st, const pg_file_ident *id, const char *path, int status)
{
    uint32_t i = pg_u64map_get(&st->index, ident_hash(id));
    if (i != UINT32_MAX && i < st->n && ident_eq(&st->recs[i].id, id)) {
        st->recs[i].status = status;
        st->recs[i].gen = st->gen;
        st->dirty = true;
        return 0;
    }
    int rc = push(st, id, path, strlen(path), status);
    if (!rc) st->dirty = true;
    return rc;
}

/* True when a record not seen by this poll must still be kept: its path still holds the
 * same version (a glob that failed for a moment must not make us read it again), or the
 * path cannot be checked. A path gone or rewritten drops the record. */
static bool still_there(const record *r)
{
    struct stat sb;
    if (stat(r->path, &sb) != 0) return errno != ENOENT && errno != ENOTDIR;
    pg_file_ident now = {(uint64_t)sb.st_ino, (uint64_t)sb.st_size,
                         (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec};
    return ident_eq(&now, &r->id);
}

/* Drops records neither seen in this poll nor still on disk, then rebuilds the index over
 * the survivors. */
void pg_file_state_prune(pg_file_state *st)
{
    size_t o = 0;
    for (size_t i = 0; i < st->n; i++) {
        record *r = &st->recs[i];
        if (r->gen == st->gen || still_there(r))
            st->recs[o++] = *r;
        else
            free(r->path);
    }
    if (o == st->n) return;
    st->n = o;
    st->dirty = true;
    pg_u64map_free(&st->index);
    memset(&st->index, 0, sizeof st->index);
    for (size_t i = 0; i < st->n; i++)
        if (pg_u64map_put(&st->index, ident_hash(&st->recs[i].id), (uint32_t)i) < 0) break;
}

/* Writes one escaped path. */
static void put_path(FILE *f, const char *p)
{
    for (; *p; p++) {
        if (*p == '%' || *p == '\n' || *p == '\r')
            fprintf(f, "%%%02X", (unsigned char)*p);
        else
            fputc(*p, f);
    }
}

/* Replaces the state file atomically when something changed. */
int pg_file_state_save(pg_file_state *st, char *err, size_t errlen)
{
    if (!st->dirty) return 0;
    int fd = open(st->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int e = errno;
        if (fd >= 0) close(fd);
        return pg_err(err, errlen, PG_EIO, "cannot write %s: %s", st->tmp, strerror(e));
    }
    fprintf(f, "%s\n", STATE_HEADER);
    for (size_t i = 0; i < st->n; i++) {
        const record *r = &st->recs[i];
        fprintf(f, "%c %" PRIu64 " %" PRIu64 " %" PRId64 " ", r->status, r->id.ino, r->id.size,
                r->id.mtime_ns);
        put_path(f, r->path);
        fputc('\n', f);
    }
    bool ok = fflush(f) == 0 && !ferror(f) && fsync(fileno(f)) == 0;
    int e = errno;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(st->tmp, st->path) != 0) {
        if (ok) e = errno;
        unlink(st->tmp);
        return pg_err(err, errlen, PG_EIO, "cannot write %s: %s", st->path, strerror(e));
    }
    int dfd = open(st->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    st->dirty = false;
    return 0;
}

size_t pg_file_state_count(const pg_file_state *st)
{
    return st->n;
}
