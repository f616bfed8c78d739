/* One poll of the file receiver, on the loop thread: expand the globs, drop excluded and
 * already-handled files, read each stable one, decode it into a batch and hand it on.
 *
 * A file is stable when its inode, size and mtime are the same as at the previous poll, or
 * its mtime is at least one poll interval old (a file already complete when we first see
 * it need not wait). A version that cannot be decoded is logged once and remembered as bad;
 * a version not read while the memory limiter refuses, or not readable right now, stays
 * pending and is retried at the next poll; one refused with PG_EAGAIN downstream is
 * retried after a backoff that doubles from poll_interval up to 30 s, so a file that the
 * memory limiter keeps refusing is not read and decoded again at every poll. */
#include "receivers/file/file_receiver_int.h"

#include "pipeline/core/err.h"
#include "pipeline/core/fsutil.h"
#include "pipeline/core/vec.h"
#include "pipeline/host.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/translate/decode_limits.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* OUT_FLIGHT: handed on, committed when its ack fires (file_flight.c); OUT_REFUSED:
 * refused with PG_EAGAIN downstream, retried after a backoff. */
typedef enum {
    OUT_DONE,
    OUT_BAD,
    OUT_RETRY,
    OUT_UNSTABLE,
    OUT_GONE,
    OUT_FLIGHT,
    OUT_REFUSED
} outcome;

typedef struct strvec {
    char **v;
    size_t n, cap;
} strvec;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* An exclude pattern with a '/' matches the whole path, one without matches the base name. */
static bool excluded(const pg_file_receiver *r, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (size_t i = 0; i < r->cfg.exclude.n; i++) {
        const char *pat = r->cfg.exclude.items[i];
        if (fnmatch(pat, strchr(pat, '/') ? path : base, FNM_PATHNAME) == 0) return true;
    }
    return false;
}

/* Expands every include glob into out (malloc-owned strings), sorted and without repeats. */
static void gather(const pg_file_receiver *r, strvec *out)
{
    for (size_t i = 0; i < r->cfg.include.n; i++) {
        glob_t g;
        memset(&g, 0, sizeof g);
        if (glob(r->cfg.include.items[i], GLOB_BRACE, NULL, &g) == 0) {
            for (size_t j = 0; j < g.gl_pathc; j++) {
                if (excluded(r, g.gl_pathv[j])) continue;
                if (PG_VEC_RESERVE(out->v, out->cap, out->n + 1, 64)) break;
                char *p = strdup(g.gl_pathv[j]);
                if (p) out->v[out->n++] = p;
            }
        }
        globfree(&g);
    }
    if (out->n) qsort(out->v, out->n, sizeof *out->v, cmp_str);
    size_t o = 0;
    for (size_t i = 0; i < out->n; i++) {
        if (o && strcmp(out->v[o - 1], out->v[i]) == 0)
            free(out->v[i]);
        else
            out->v[o++] = out->v[i];
    }
    out->n = o;
}

static pg_file_ident ident_of(const struct stat *sb)
{
    return (pg_file_ident){(uint64_t)sb->st_ino, (uint64_t)sb->st_size,
                           (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec};
}

static bool same(const pg_file_ident *a, const pg_file_ident *b)
{
    return a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns;
}

/* Reads the version `id` of path into buf (caller-owned). OUT_DONE when read whole and
 * unchanged, OUT_UNSTABLE when it changed meanwhile, OUT_GONE when it vanished, OUT_RETRY
 * on other errors (message in err). */
static outcome read_version(const char *path, const pg_file_ident *id, pg_buf *buf, char *err,
                            size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT) return OUT_GONE;
        pg_err(err, errlen, PG_EIO, "cannot open: %s", strerror(errno));
        return OUT_RETRY;
    }
    struct stat sb;
    outcome o = OUT_DONE;
    pg_file_ident cur = {0};
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        o = OUT_GONE;
    else if (cur = ident_of(&sb), !same(&cur, id))
        o = OUT_UNSTABLE;
    if (o == OUT_DONE && pg_buf_reserve(buf, (size_t)id->size + 1)) {
        pg_err(err, errlen, PG_ENOMEM, "out of memory for %zu bytes", (size_t)id->size);
        o = OUT_RETRY;
    }
    while (o == OUT_DONE) {
        ssize_t n = read(fd, buf->data + buf->len, buf->cap - buf->len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            pg_err(err, errlen, PG_EIO, "read error: %s", strerror(errno));
            o = OUT_RETRY;
        } else if (n == 0) {
            break;
        } else {
            buf->len += (size_t)n;
            if (buf->len > id->size) o = OUT_UNSTABLE; /* still growing */
        }
    }
    if (o == OUT_DONE) {
        memset(&cur, 0, sizeof cur);
        if (fstat(fd, &sb) == 0) cur = ident_of(&sb);
        if (buf->len != id->size || !same(&cur, id)) o = OUT_UNSTABLE;
    }
    close(fd);
    return o;
}

/* A file skipped for good: counted by reason (0 malformed, 1 too large) and, with a
 * quarantine_directory, moved there with <name>.reason holding `why`. The state records
 * the version as bad either way, so it is not looked at again. */
static void skip_bad(pg_file_receiver *r, const char *path, int reason, const char *why)
{
    pg_counter_add(r->skipped[reason], 1);
    const char *q = r->cfg.quarantine_directory;
    if (!q) return;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char dst[4096], note[4200];
    int n = snprintf(dst, sizeof dst, "%s/%lld-%s", q, (long long)pg_now_unix_ns(), base);
    if (n < 0 || (size_t)n >= sizeof dst || pg_mkdirs(q, 0755) != 0 || rename(path, dst) != 0) {
        pg_log(PG_LOG_WARN, r->id, "cannot move %s to quarantine_directory %s: %s", path, q,
               strerror(errno));
        return;
    }
    snprintf(note, sizeof note, "%s.reason", dst);
    FILE *f = fopen(note, "w");
    if (f) {
        fprintf(f, "%s\n%s\n", path, why);
        fclose(f);
    }
    pg_log(PG_LOG_INFO, r->id, "moved %s to %s", path, dst);
}

/* Decodes and hands on one stable version. `logged` (in/out) says whether a retryable
 * problem with it was logged already. */
static outcome process(pg_file_receiver *r, const char *path, const pg_file_ident *id, bool *logged)
{
    char err[512] = "";
    if (pg_host_memory_refusing(r->host)) return OUT_RETRY;
    pg_buf buf = {0};
    outcome o = read_version(path, id, &buf, err, sizeof err);
    if (o != OUT_DONE) {
        if (o == OUT_RETRY && !*logged) {
            pg_log(PG_LOG_WARN, r->id, "%s: %s; retrying at every poll", path, err);
            *logged = true;
        }
        pg_buf_free(&buf);
        return o;
    }
    pg_format used = (pg_format)r->cfg.format;
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    pg_batch *b = pg_batch_new(lim.max_arena);
    int rc = b ? pg_file_decode(b, buf.data, buf.len, used, (size_t)r->cfg.max_decompressed, &used,
                                err, sizeof err)
               : pg_err(err, sizeof err, PG_ENOMEM, "out of memory");
    pg_buf_free(&buf);
    if (rc) { /* PG_ENOMEM too: mostly the arena cap, which a retry would hit again */
        pg_batch_free(b);
        pg_log(PG_LOG_WARN, r->id, "skipping %s: %s", path, err);
        skip_bad(r, path, 0, err);
        return OUT_BAD;
    }
    size_t nid = strlen(r->id);
    pg_batch_set_origin(b, pg_arena_strndup(pg_batch_arena(b), r->id, nid), pg_now_unix_ns());
    uint64_t profiles = pg_batch_profile_count(b), samples = pg_batch_sample_count(b);
    pg_file_flight *flight = NULL;
    pg_ack *ack = pg_file_flight_begin(r, path, id, &flight);
    if (!ack) {
        pg_batch_free(b);
        return OUT_RETRY;
    }
    pg_batch_set_ack(b, ack);
    rc = pg_consume(&r->next, b, err, sizeof err); /* b is not ours any more */
    pg_file_flight_consumed(r, flight, rc);
    pg_ack_release(ack); /* may commit at once (see file_flight.c) */
    if (rc == 0) {
        pg_counter_add(r->cm.accepted_profiles, profiles);
        pg_counter_add(r->cm.accepted_samples, samples);
        pg_counter_add(r->cm.accepted_bytes, id->size);
        pg_log(PG_LOG_DEBUG, r->id, "read %s (%s): %llu profiles, %llu samples", path,
               pg_format_name(used), (unsigned long long)profiles, (unsigned long long)samples);
        return OUT_FLIGHT;
    }
    pg_counter_add(r->cm.refused_profiles, profiles);
    pg_counter_add(r->cm.refused_samples, samples);
    if (rc == PG_EAGAIN) {
        if (!*logged)
            pg_log(PG_LOG_WARN, r->id, "%s refused (%s); retrying with backoff", path, err);
        *logged = true;
        return OUT_REFUSED;
    }
    pg_log(PG_LOG_WARN, r->id, "%s refused for good, dropped: %s", path, err);
    return OUT_DONE;
}

/* Looks path up in the (sorted) pending list of the last poll. */
static const pg_file_pending *find_pending(const pg_file_receiver *r, const char *path)
{
    size_t lo = 0, hi = r->npending;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->pending[mid].path, path);
        if (c == 0) return &r->pending[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void pg_file_pending_free(pg_file_pending *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(p[i].path);
    free(p);
}

/* Handles one globbed path; returns true when it must stay pending (then *pend is set,
 * taking ownership of path) and false when path was consumed or skipped (path freed). */
static bool handle(pg_file_receiver *r, char *path, int64_t now_ns, pg_file_pending *pend)
{
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0) goto drop;
    pg_file_ident id = ident_of(&sb);
    if (pg_file_state_check(r->state, &id, path) || pg_file_flight_pending(r, &id)) goto drop;
    if (id.size > r->cfg.max_file_size) {
        pg_log(PG_LOG_WARN, r->id, "skipping %s: %llu bytes is over max_file_size (%llu)", path,
               (unsigned long long)id.size, (unsigned long long)r->cfg.max_file_size);
        pg_file_state_add(r->state, &id, path, PG_FILE_BAD);
        skip_bad(r, path, 1, "over max_file_size");
        goto drop;
    }
    const pg_file_pending *prev = find_pending(r, path);
    bool again = prev && same(&prev->id, &id);
    bool logged = again && prev->logged;
    int64_t backoff = again ? prev->backoff_ns : 0, retry_at = again ? prev->retry_at_ns : 0;
    bool stable = again || id.mtime_ns <= now_ns - r->cfg.poll_interval;
    outcome o = !stable             ? OUT_UNSTABLE
                : now_ns < retry_at ? OUT_RETRY
                                    : process(r, path, &id, &logged);
    if (o == OUT_REFUSED) {
        /* refused downstream (memory limiter, full queue): back off instead of reading and
         * decoding it again at every poll */
        backoff = backoff ? backoff * 2 : r->cfg.poll_interval;
        if (backoff > PG_FILE_MAX_BACKOFF_NS) backoff = PG_FILE_MAX_BACKOFF_NS;
        retry_at = now_ns + backoff;
        o = OUT_RETRY;
    }
    if (o == OUT_DONE || o == OUT_BAD) {
        pg_file_state_add(r->state, &id, path, o == OUT_DONE ? PG_FILE_DONE : PG_FILE_BAD);
        if (o == OUT_DONE && r->cfg.delete_after_read && unlink(path) != 0)
            pg_log(PG_LOG_WARN, r->id, "cannot delete %s: %s", path, strerror(errno));
    }
    if (o == OUT_FLIGHT) pg_file_flights_collect(r); /* commits now when already safe */
    if (o == OUT_RETRY || o == OUT_UNSTABLE) {
        *pend = (pg_file_pending){path, id, logged, backoff, retry_at};
        return true;
    }
drop:
    free(path);
    return false;
}

void pg_file_poll(pg_file_receiver *r)
{
    strvec paths = {0};
    gather(r, &paths);
    pg_file_pending *next = paths.n ? calloc(paths.n, sizeof *next) : NULL;
    size_t nnext = 0;
    int64_t now = (int64_t)pg_now_unix_ns();
    pg_file_state_begin(r->state);
    size_t i = 0;
    for (; i < paths.n && next && !atomic_load(&r->stopping); i++) {
        if (handle(r, paths.v[i], now, &next[nnext])) nnext++;
    }
    for (; i < paths.n; i++)
        free(paths.v[i]);
    free(paths.v);
    pg_file_pending_free(r->pending, r->npending);
    r->pending = next;
    r->npending = nnext;
    if (!atomic_load(&r->stopping)) pg_file_state_prune(r->state);
    pg_file_receiver_save(r);
}

void pg_file_receiver_save(pg_file_receiver *r)
{
    char err[512];
    if (r->state && pg_file_state_save(r->state, err, sizeof err))
        pg_log(PG_LOG_WARN, r->id, "%s", err);
}
