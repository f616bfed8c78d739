/* File helpers shared by the unit tests: rm -rf of a test's own temporary folders and a
 * file count by suffix. */
#ifndef PG_TESTFS_H
#define PG_TESTFS_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Removes dir and everything below it; does not follow symbolic links. */
static inline void rm_rf(const char *dir)
{
    struct stat st;
    if (lstat(dir, &st) != 0) return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(dir);
        return;
    }
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(len);
        if (!p) continue;
        snprintf(p, len, "%s/%s", dir, e->d_name);
        rm_rf(p);
        free(p);
    }
    if (d) closedir(d);
    rmdir(dir);
}

/* Number of entries of dir whose names end with suffix (hidden ones skipped). */
static inline int count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name), sl = strlen(suffix);
        n += e->d_name[0] != '.' && l >= sl && strcmp(e->d_name + l - sl, suffix) == 0;
    }
    if (d) closedir(d);
    return n;
}

#endif
