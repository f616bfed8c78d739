/* Logger: text and JSON line formats, escaping, level filter, whole lines under threads. */
#include "pipeline/telemetry/log.h"
#include "testlib.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads everything written to f so far (malloc'd) and rewinds/truncates it. */
static char *drain(FILE *f)
{
    fflush(f);
    long n = ftell(f);
    char *s = calloc(1, (size_t)n + 1);
    rewind(f);
    if (n > 0 && fread(s, 1, (size_t)n, f) != (size_t)n) s[0] = 0;
    rewind(f);
    if (ftruncate(fileno(f), 0) != 0) s[0] = 0;
    return s;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (*s == '\n') n++;
    return n;
}

/* `2026-11-22T10:00:00.123Z` at the start of s. */
static int is_ts(const char *s)
{
    const char *pat = "dddd-dd-ddTdd:dd:dd.dddZ";
    for (size_t i = 0; pat[i]; i++) {
        if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i]) return 0;
    }
    return 1;
}

static void test_text(FILE *f)
{
    pg_log_configure(PG_LOG_INFO, 0);
    pg_log(PG_LOG_INFO, "file/in", "read %d files", 3);
    char *s = drain(f);
    CHECK(is_ts(s));
    CHECK_STR(s + 24, " info file/in: read 3 files\n");
    free(s);

    pg_log(PG_LOG_WARN, NULL, "no component");
    s = drain(f);
    CHECK_STR(s + 24, " warn service: no component\n");
    free(s);

    /* a message with a newline and control characters stays one line */
    pg_log(PG_LOG_ERROR, "x",
           "a\nb\tc\x01"
           "d \"q\" \\ é");
    s = drain(f);
    CHECK_STR(s + 24, " error x: a\\nb\\tc\\x01d \"q\" \\ é\n");
    CHECK(count_lines(s) == 1);
    free(s);
}

static void test_level_filter(FILE *f)
{
    pg_log_configure(PG_LOG_WARN, 0);
    CHECK(!pg_log_enabled(PG_LOG_DEBUG));
    CHECK(!pg_log_enabled(PG_LOG_INFO));
    CHECK(pg_log_enabled(PG_LOG_WARN));
    CHECK(pg_log_enabled(PG_LOG_ERROR));
    pg_log(PG_LOG_INFO, "c", "hidden");
    pg_log(PG_LOG_DEBUG, "c", "hidden");
    pg_log(PG_LOG_ERROR, "c", "shown");
    char *s = drain(f);
    CHECK(count_lines(s) == 1);
    CHECK(strstr(s, "shown") != NULL);
    CHECK(strstr(s, "hidden") == NULL);
    free(s);
    pg_log_configure(PG_LOG_DEBUG, 0);
    pg_log(PG_LOG_DEBUG, "c", "dbg");
    s = drain(f);
    CHECK(strstr(s, " debug c: dbg\n") != NULL);
    free(s);
}

static void test_json(FILE *f)
{
    pg_log_configure(PG_LOG_INFO, 1);
    pg_log(PG_LOG_INFO, "file/in", "message");
    char *s = drain(f);
    CHECK(strncmp(s, "{\"ts\":\"", 7) == 0);
    CHECK(is_ts(s + 7));
    CHECK_STR(s + 31, "\",\"level\":\"info\",\"component\":\"file/in\",\"msg\":\"message\"}\n");
    free(s);

    /* quotes, backslashes, control characters, valid and invalid UTF-8 */
    pg_log(PG_LOG_WARN, "a\"b", "q\"b\\n\nt\tc\x1f é \xff\xc3(");
    s = drain(f);
    CHECK_STR(s + 31, "\",\"level\":\"warn\",\"component\":\"a\\\"b\",\"msg\":"
                      "\"q\\\"b\\\\n\\nt\\tc\\u001f é \\ufffd\\ufffd(\"}\n");
    CHECK(count_lines(s) == 1);
    free(s);
    pg_log_configure(PG_LOG_INFO, 0);
}

static void test_long(FILE *f)
{
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    pg_log(PG_LOG_INFO, "c", "%s|end", big);
    char *s = drain(f);
    CHECK(strlen(s) == 24 + strlen(" info c: ") + 4999 + 5);
    CHECK(strstr(s, "x|end\n") != NULL);
    free(s);
}

enum { THREADS = 4, PER_THREAD = 2000 };

static void *writer(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < PER_THREAD; i++)
        pg_log(PG_LOG_INFO, "t", "thread %ld line %d %s", id, i,
               "padding-padding-padding-padding-padding-padding-padding-padding");
    return NULL;
}

/* Lines from concurrent threads are never interleaved. */
static void test_threads(FILE *f)
{
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, writer, (void *)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    char *s = drain(f);
    CHECK(count_lines(s) == THREADS * PER_THREAD);
    int seen[THREADS] = {0}, bad = 0;
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
        long id;
        int i;
        char pad[100];
        if (!is_ts(line) ||
            sscanf(line + 24, " info t: thread %ld line %d %99s", &id, &i, pad) != 3 || id < 0 ||
            id >= THREADS || i != seen[id] ||
            strcmp(pad, "padding-padding-padding-padding-padding-padding-padding-padding") != 0)
            bad++;
        else
            seen[id]++;
    }
    CHECK(bad == 0);
    for (int i = 0; i < THREADS; i++)
        CHECK(seen[i] == PER_THREAD);
    free(s);
}

int main(void)
{
    FILE *f = tmpfile();
    if (!f) return 1;
    pg_log_set_output(f);
    test_text(f);
    test_level_filter(f);
    test_json(f);
    test_long(f);
    test_threads(f);
    pg_log_set_output(NULL);
    fclose(f);
    TEST_MAIN_END();
}
