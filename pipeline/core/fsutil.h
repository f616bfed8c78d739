/* Small file-system helpers shared by components that keep files. */
#ifndef PG_FSUTIL_H
#define PG_FSUTIL_H

#include <sys/types.h>

/* mkdir -p with `mode` for what it creates; borrows dir. Returns 0, or PG_EIO with errno
 * (ENOTDIR when the path exists and is not a directory). */
int pg_mkdirs(const char *dir, mode_t mode);

#endif
