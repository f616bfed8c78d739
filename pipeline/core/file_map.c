#include "pipeline/core/file_map.h"

#include "pipeline/core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Maps a regular file, or falls back to reading it. */
int pg_buf_map_file(pg_buf *b, const char *path, size_t max, char *err, size_t errlen)
{
    if (!strcmp(path, "-") || b->data || b->len) return pg_buf_read_file(b, path, max, err, errlen);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return pg_err(err, errlen, PG_EIO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    void *m = MAP_FAILED;
    int rc = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uintmax_t)st.st_size < SIZE_MAX) {
        size_t size = (size_t)st.st_size;
        if (max && size > max)
            rc = pg_err(err, errlen, PG_ELIMIT, "%s is larger than the limit of %zu bytes", path,
                        max);
        else
            m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        if (m != MAP_FAILED) {
            (void)madvise(m, size, MADV_SEQUENTIAL); /* read-ahead; a hint */
            b->data = m;
            b->len = b->cap = size;
            b->mapped = 1;
        }
    }
    close(fd);
    if (rc || b->mapped) return rc;
    return pg_buf_read_file(b, path, max, err, errlen);
}

/* The guarded mapping and the message for it (built when the guard is set: the handler
 * may only write and exit), and the SIGBUS action it replaced. */
static const uint8_t *volatile guard_lo, *volatile guard_hi;
static char guard_msg[512];
static volatile size_t guard_msg_len;
static struct sigaction guard_prev;
static int guard_set;

/* SIGBUS: inside the guarded mapping, the message and exit 1; elsewhere the action the
 * guard replaced (put back: the faulting access runs again once the handler returns). */
static void on_sigbus(int sig, siginfo_t *si, void *uctx)
{
    (void)uctx;
    const uint8_t *a = si->si_addr;
    if (a >= guard_lo && a < guard_hi) {
        ssize_t w = write(STDERR_FILENO, guard_msg, guard_msg_len);
        (void)w;
        _exit(1);
    }
    sigaction(sig, &guard_prev, NULL);
}

/* Sets or drops the guard. */
void pg_file_map_guard(const pg_buf *b, const char *what)
{
    if (!b || !b->mapped) {
        guard_lo = guard_hi = NULL;
        if (guard_set) sigaction(SIGBUS, &guard_prev, NULL);
        guard_set = 0;
        return;
    }
    int n = snprintf(guard_msg, sizeof guard_msg,
                     "profgate: %s became shorter while it was read (a file must not be "
                     "truncated or replaced in place while profgate reads it)\n",
                     what);
    guard_msg_len = n < 0 ? 0 : (size_t)n < sizeof guard_msg ? (size_t)n : sizeof guard_msg - 1;
    guard_lo = b->data;
    guard_hi = b->data + b->cap;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (!guard_set) sigaction(SIGBUS, &sa, &guard_prev);
    guard_set = 1;
}
