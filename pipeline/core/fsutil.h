/* Small file-system helpers shared by components that keep files. */
#ifndef PG_FSUTIL_H
#define PG_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* mkdir -p with `mode` for what it creates; borrows dir. Returns 0, or PG_EIO with errno
 * (ENOTDIR when the path exists and is not a directory). */
int pg_mkdirs(const char *dir, mode_t mode);

/* Takes an exclusive lock on `dirfd`/lock (created 0600) so that one process (or one
 * component) at a time uses the directory; `what` names the user in the message. Returns
 * 0 and *lockfd (close it to release), PG_EAGAIN with "<what> <dir> is in use by another
 * component or process" when someone holds it, or PG_EIO. */
int pg_lock_dir(int dirfd, const char *dir, const char *what, int *lockfd, char *err,
                size_t errlen);

#endif
