/* pg_buf_map_file: a regular file is mapped with its bytes; growing the buffer moves it to
 * the heap with its bytes (append and exact reserve); writes never reach the file; an empty
 * file and a buffer that holds bytes are read instead; a missing file and one over the limit
 * fail with a message. pg_file_map_guard: a mapped file truncated under a reader ends the
 * process with status 1 and a message naming it (in a child process), and dropping it puts
 * back the SIGBUS action it replaced. */
#include "testlib.h"

#include "pipeline/core/err.h"
#include "pipeline/core/file_map.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE (256u * 1024u + 17u)

static char dir[] = "/tmp/pg_file_map_XXXXXX";

/* Byte i of the test file. */
static uint8_t at(size_t i)
{
    return (uint8_t)(i * 7 + i / 4096);
}

/* Writes a file of n bytes (the pattern) under dir; returns its path (static storage). */
static const char *make_file(const char *name, size_t n)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    for (size_t i = 0; f && i < n; i++)
        fputc(at(i), f);
    if (f) fclose(f);
    return path;
}

static int same_pattern(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != at(i)) return 0;
    return 1;
}

static void test_map_and_grow(void)
{
    const char *path = make_file("a", SIZE);
    char err[256] = "";
    pg_buf b = {0};
    CHECK_MSG(pg_buf_map_file(&b, path, 0, err, sizeof err) == 0, "%s", err);
    CHECK(b.mapped && b.len == SIZE && same_pattern(b.data, b.len));
    b.data[0] ^= 0xff; /* private: the file keeps its byte */
    pg_buf c = {0};
    CHECK(pg_buf_read_file(&c, path, 0, err, sizeof err) == 0 && c.len == SIZE &&
          c.data[0] == at(0));
    pg_buf_free(&c);
    b.data[0] ^= 0xff;
    CHECK(pg_buf_append(&b, "xyz", 3) == 0); /* grows: to the heap first */
    CHECK(!b.mapped && b.len == SIZE + 3 && same_pattern(b.data, SIZE) &&
          !memcmp(b.data + SIZE, "xyz", 3));
    pg_buf_free(&b);

    CHECK(pg_buf_map_file(&b, path, 0, err, sizeof err) == 0 && b.mapped);
    CHECK(pg_buf_reserve_exact(&b, 100) == 0 && !b.mapped && b.cap >= SIZE + 100 &&
          same_pattern(b.data, SIZE));
    pg_buf_free(&b);
}

static void test_fallbacks_and_errors(void)
{
    char err[256] = "";
    pg_buf b = {0};
    const char *empty = make_file("empty", 0);
    CHECK(pg_buf_map_file(&b, empty, 0, err, sizeof err) == 0 && !b.mapped && b.len == 0);
    pg_buf_free(&b);

    const char *path = make_file("b", 5000);
    CHECK(pg_buf_append(&b, "ab", 2) == 0); /* holds bytes: read, appended */
    CHECK(pg_buf_map_file(&b, path, 0, err, sizeof err) == 0 && !b.mapped && b.len == 5002 &&
          same_pattern(b.data + 2, 5000));
    pg_buf_free(&b);

    CHECK(pg_buf_map_file(&b, path, 4999, err, sizeof err) == PG_ELIMIT &&
          strstr(err, "larger than the limit of 4999 bytes") && !b.data);
    char missing[300];
    snprintf(missing, sizeof missing, "%s/missing", dir);
    CHECK(pg_buf_map_file(&b, missing, 0, err, sizeof err) == PG_EIO &&
          strstr(err, "cannot open") && !b.data);
}

/* A child maps the file, guards it, truncates it and reads past the new end. */
static void test_guard(void)
{
    const char *path = make_file("c", SIZE);
    int fds[2];
    CHECK(pipe(fds) == 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        char err[256];
        pg_buf b = {0};
        if (pg_buf_map_file(&b, path, 0, err, sizeof err) || !b.mapped) _exit(3);
        pg_file_map_guard(&b, path);
        if (truncate(path, 0)) _exit(4);
        volatile uint8_t x = b.data[SIZE / 2]; /* SIGBUS: past the end now */
        (void)x;
        _exit(0);
    }
    close(fds[1]);
    char msg[1024] = "";
    size_t got = 0;
    ssize_t r;
    while (got < sizeof msg - 1 && (r = read(fds[0], msg + got, sizeof msg - 1 - got)) > 0)
        got += (size_t)r;
    msg[got] = 0;
    close(fds[0]);
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 1, "child status %d, stderr: %s", st, msg);
    CHECK_MSG(strstr(msg, path) && strstr(msg, "became shorter while it was read"), "stderr: %s",
              msg);
}

static void on_other_bus(int sig)
{
    (void)sig;
    _exit(7);
}

/* Dropping the guard puts back the SIGBUS action it replaced. */
static void test_guard_restores(void)
{
    const char *path = make_file("d", 8192);
    struct sigaction mine, seen;
    memset(&mine, 0, sizeof mine);
    mine.sa_handler = on_other_bus;
    sigemptyset(&mine.sa_mask);
    struct sigaction before;
    CHECK(sigaction(SIGBUS, &mine, &before) == 0);
    char err[256];
    pg_buf b = {0};
    CHECK(pg_buf_map_file(&b, path, 0, err, sizeof err) == 0 && b.mapped);
    pg_file_map_guard(&b, path);
    CHECK(sigaction(SIGBUS, NULL, &seen) == 0 && seen.sa_handler != on_other_bus);
    pg_file_map_guard(NULL, NULL);
    CHECK(sigaction(SIGBUS, NULL, &seen) == 0 && seen.sa_handler == on_other_bus);
    pg_buf_free(&b);
    sigaction(SIGBUS, &before, NULL);
}

int main(void)
{
    CHECK(mkdtemp(dir) != NULL);
    test_map_and_grow();
    test_fallbacks_and_errors();
    test_guard();
    test_guard_restores();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    TEST_MAIN_END();
}
