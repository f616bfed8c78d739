/* Minimal test helpers: CHECK records a failure and goes on; TEST_MAIN_END prints the
 * closing line "N passed, N failed" and returns the exit status: 1 when a check failed, and
 * also when no check ran at all (a test that checks nothing cannot fail, so it fails). */
#ifndef PG_TESTLIB_H
#define PG_TESTLIB_H

#include <stdio.h>
#include <string.h>

static int pg_test_passed, pg_test_failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            pg_test_passed++;                                                                      \
        } else {                                                                                   \
            pg_test_failed++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        if (cond) {                                                                                \
            pg_test_passed++;                                                                      \
        } else {                                                                                   \
            pg_test_failed++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b) CHECK_MSG(strcmp((a), (b)) == 0, "\"%s\" != \"%s\"", (a), (b))

#define TEST_MAIN_END()                                                                            \
    do {                                                                                           \
        printf("%d passed, %d failed\n", pg_test_passed, pg_test_failed);                          \
        if (pg_test_passed + pg_test_failed == 0) {                                                \
            fprintf(stderr, "no check ran: a test that checks nothing fails\n");                   \
            return 1;                                                                              \
        }                                                                                          \
        return pg_test_failed ? 1 : 0;                                                             \
    } while (0)

#endif
