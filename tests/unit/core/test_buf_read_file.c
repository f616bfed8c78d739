/* pg_buf_read_file: a regular file lands in storage sized once from fstat; FIFOs (like
 * stdin and pipes) go through the growing loop; limits, appending and errors. */
#include "testlib.h"
#include "testfs.h"

#include "pipeline/core/buf.h"
#include "pipeline/core/err.h"

#include <signal.h>
#include <sys/wait.h>

/* Byte i of the test content. */
static uint8_t byte_at(size_t i)
{
    return (uint8_t)(i * 31 + (i >> 8));
}

/* Writes n bytes of the test content to f. */
static int write_content(FILE *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fputc(byte_at(i), f) == EOF) return -1;
    return 0;
}

/* Whether b->data[from .. from+n) is the test content. */
static int content_ok(const pg_buf *b, size_t from, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b->data[from + i] != byte_at(i)) return 0;
    return 1;
}

static void make_file(const char *path, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f) return;
    CHECK(write_content(f, n) == 0);
    CHECK(fclose(f) == 0);
}

int main(void)
{
    char dir[] = "/tmp/pg_test_buf_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char path[256], fifo[256], err[256];
    snprintf(path, sizeof path, "%s/in.bin", dir);
    snprintf(fifo, sizeof fifo, "%s/in.fifo", dir);

    /* A regular file of 1.2 MB: exactly size + 1 bytes of storage, no doubling. */
    size_t n = 1200000;
    make_file(path, n);
    pg_buf b = {0};
    CHECK(pg_buf_read_file(&b, path, 0, err, sizeof err) == 0);
    CHECK(b.len == n && content_ok(&b, 0, n));
    CHECK_MSG(b.cap == n + 1, "cap %zu for %zu bytes", b.cap, n);
    pg_buf_free(&b);

    /* Appending after what b holds; storage is what it held plus size + 1. */
    CHECK(pg_buf_append(&b, "head", 4) == 0);
    CHECK(pg_buf_read_file(&b, path, 0, err, sizeof err) == 0);
    CHECK(b.len == n + 4 && memcmp(b.data, "head", 4) == 0 && content_ok(&b, 4, n));
    CHECK(b.cap == n + 5);
    pg_buf_free(&b);

    /* Limits: exactly the size passes, one byte less is refused before reading. */
    CHECK(pg_buf_read_file(&b, path, n, err, sizeof err) == 0);
    CHECK(b.len == n);
    pg_buf_free(&b);
    CHECK(pg_buf_read_file(&b, path, n - 1, err, sizeof err) == PG_ELIMIT);
    CHECK(strstr(err, "larger than the limit") != NULL);
    pg_buf_free(&b);

    /* An empty file. */
    make_file(path, 0);
    CHECK(pg_buf_read_file(&b, path, 0, err, sizeof err) == 0);
    CHECK(b.len == 0);
    pg_buf_free(&b);

    /* A missing file. */
    snprintf(path, sizeof path, "%s/missing.bin", dir);
    CHECK(pg_buf_read_file(&b, path, 0, err, sizeof err) == PG_EIO);
    CHECK(strstr(err, "cannot open") != NULL);
    pg_buf_free(&b);

    /* A FIFO (no size to go by): the 64 KiB loop reads all of it, and honours the limit. */
    size_t fn = 300000;
    CHECK(mkfifo(fifo, 0600) == 0);
    signal(SIGPIPE, SIG_IGN); /* the writer, once the limited reader has gone */
    for (int limited = 0; limited < 2; limited++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            FILE *f = fopen(fifo, "wb");
            int bad = !f || write_content(f, fn) != 0;
            if (f) fclose(f); /* EPIPE once the reader gave up is fine */
            _exit(bad && !limited ? 1 : 0);
        }
        CHECK(pid > 0);
        int rc = pg_buf_read_file(&b, fifo, limited ? 100000 : 0, err, sizeof err);
        if (!limited) {
            CHECK(rc == 0 && b.len == fn && content_ok(&b, 0, fn));
            CHECK(b.cap >= b.len);
        } else {
            CHECK(rc == PG_ELIMIT);
        }
        pg_buf_free(&b);
        int st = 0;
        if (pid > 0) waitpid(pid, &st, 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }

    rm_rf(dir);
    TEST_MAIN_END();
}
