#include "pipeline/core/fsutil.h"
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
