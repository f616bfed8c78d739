#include "pipeline/core/fsutil.h"
#include <unistd.h>
#include <sys/file.h>
#include <fcntl.h>
#include "pipeline/core/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Creates each missing component of dir in turn. */
int pg_mkdirs(const char *dir, mode_t mode)
{
    char *p = strdup(dir);
    if (!p) return PG_EIO;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, mode) != 0 && errno != EEXIST) {
            free(p);
            return PG_EIO;
        }
        *s = '/';
    }
    int rc = mkdir(p, mode);
    free(p);
    if (rc != 0 && errno != EEXIST) return PG_EIO;
    struct stat st;
    if (stat(dir, &st) != 0) return PG_EIO;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return PG_EIO;
    }
    return 0;
}

/* Opens and flocks dir/lock; the caller owns *lockfd. */
int pg_lock_dir(int dirfd, const char *dir, const char *what, int *lockfd, char *err, size_t errlen)
{
    *lockfd = -1;
    int fd = openat(dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return pg_err(err, errlen, PG_EIO, "cannot create %s/lock: %s", dir, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        int e = errno;
        close(fd);
        return e == EWOULDBLOCK
                   ? pg_err(err, errlen, PG_EAGAIN,
                            "%s %s is in use by another component or process", what, dir)
                   : pg_err(err, errlen, PG_EIO, "cannot lock %s/lock: %s", dir, strerror(e));
    }
    *lockfd = fd;
    return 0;
}
