/* Regular expressions for config-driven matching (processors resource and filter, the
 * config type PG_CFG_REGEX): POSIX extended syntax (glibc regcomp) plus the spellings
 * users bring from the Collector's Go patterns: named groups `(?P<name>...)` and
 * `(?<name>...)` (names of letters, digits, '_' and '.', so that attribute keys such as
 * `cloud.region` can be group names), non-capturing `(?:...)`, and the classes `\d` `\D` outside
 * brackets. Other `(?` constructs (flags, lookaround) are refused with a message. Matching is
 * unanchored (like Go's MatchString); anchor with ^ and $. A compiled pattern is read-only
 * and may be used from several threads at once. */
#ifndef PG_REGEX_H
#define PG_REGEX_H

#include <stddef.h>

typedef struct pg_regex pg_regex;

#define PG_REGEX_MAX_GROUPS 32

/* Compiles pattern (borrowed). Returns 0 and *out (caller frees with pg_regex_free), or
 * PG_EINVAL with the reason in err, or PG_ENOMEM. */
int pg_regex_compile(const char *pattern, pg_regex **out, char *err, size_t errlen);

void pg_regex_free(pg_regex *re);

/* 1 when re matches somewhere in s (NUL-terminated), else 0. */
int pg_regex_match(const pg_regex *re, const char *s);

/* Number of named groups, and the name of group i (< count; borrowed). */
size_t pg_regex_named_count(const pg_regex *re);
const char *pg_regex_named_name(const pg_regex *re, size_t i);

/* Matches s; on a match returns 1 and, for each named group i, its span in s as
 * start[i], len[i] (start -1 when the group did not take part). 0 when no match. */
int pg_regex_named_match(const pg_regex *re, const char *s, long *start, size_t *len);

#endif
