/* POSIX ERE with Go-style named groups (see regex.h): the pattern is rewritten once into
 * plain ERE, recording which capture number each name got. */
#include "pipeline/core/regex.h"
#include "pipeline/core/buf.h"
#include "pipeline/core/err.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

struct pg_regex {
    regex_t re;
    size_t ngroups;                   /* capture groups in the rewritten pattern */
    size_t nnamed;                    /* named groups */
    char *names[PG_REGEX_MAX_GROUPS]; /* malloc'd */
    size_t group_of[PG_REGEX_MAX_GROUPS];
};

/* Rewrites pattern p into out (plain ERE), filling names. Returns 0 or PG_EINVAL/ENOMEM. */
static int rewrite(pg_regex *re, const char *p, pg_buf *out, char *err, size_t errlen)
{
    int in_bracket = 0;
    for (size_t i = 0; p[i]; i++) {
        char c = p[i];
        if (in_bracket) {
            pg_buf_append(out, &c, 1);
            if (c == '[' && (p[i + 1] == ':' || p[i + 1] == '.' || p[i + 1] == '=')) {
                const char *end = strstr(p + i + 2, (char[]){p[i + 1], ']', 0});
                if (!end) return pg_err(err, errlen, PG_EINVAL, "unterminated [%c class", p[i + 1]);
                pg_buf_append(out, p + i + 1, (size_t)(end + 2 - (p + i + 1)));
                i = (size_t)(end + 1 - p);
                in_bracket = 2;
            } else if (c == ']' && in_bracket > 1) {
                in_bracket = 0;
            } else {
                in_bracket = 2; /* a ']' right after '[' or '[^' is literal */
            }
            continue;
        }
        if (c == '\\') {
            char n = p[i + 1];
            if (!n) return pg_err(err, errlen, PG_EINVAL, "trailing backslash");
            if (n == 'd')
                pg_buf_append(out, "[0-9]", 5);
            else if (n == 'D')
                pg_buf_append(out, "[^0-9]", 6);
            else
                pg_buf_append(out, p + i, 2);
            i++;
            continue;
        }
        if (c == '[') {
            pg_buf_append(out, "[", 1);
            if (p[i + 1] == '^') {
                pg_buf_append(out, "^", 1);
                i++;
            }
            in_bracket = 1;
            continue;
        }
        if (c == '(') {
            if (re->ngroups >= PG_REGEX_MAX_GROUPS)
                return pg_err(err, errlen, PG_EINVAL, "more than %d groups", PG_REGEX_MAX_GROUPS);
            re->ngroups++;
            if (p[i + 1] == '?') {
                const char *q = p + i + 2;
                if (*q == ':') {
                    i += 2;
                } else if (*q == '<' || (*q == 'P' && q[1] == '<')) {
                    const char *name = q + (*q == 'P' ? 2 : 1), *end = strchr(name, '>');
                    if (!end || end == name)
                        return pg_err(err, errlen, PG_EINVAL, "bad group name at offset %zu", i);
                    for (const char *k = name; k < end; k++)
                        if (!(*k == '_' || *k == '.' || (*k >= '0' && *k <= '9') ||
                              (*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z')))
                            return pg_err(err, errlen, PG_EINVAL, "bad group name at offset %zu",
                                          i);
                    char *nm = strndup(name, (size_t)(end - name));
                    if (!nm) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
                    re->names[re->nnamed] = nm;
                    re->group_of[re->nnamed++] = re->ngroups;
                    i = (size_t)(end - p);
                } else {
                    return pg_err(err, errlen, PG_EINVAL,
                                  "unsupported group syntax \"(?%c\" at offset %zu", *q ? *q : ' ',
                                  i);
                }
            }
            pg_buf_append(out, "(", 1);
            continue;
        }
        pg_buf_append(out, &c, 1);
    }
    if (in_bracket) return pg_err(err, errlen, PG_EINVAL, "unterminated [ bracket");
    pg_buf_append(out, "", 1);
    return out->failed ? pg_err(err, errlen, PG_ENOMEM, "out of memory") : 0;
}

/* Compiles pattern (see regex.h). */
int pg_regex_compile(const char *pattern, pg_regex **out, char *err, size_t errlen)
{
    *out = NULL;
    pg_regex *re = calloc(1, sizeof *re);
    if (!re) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    pg_buf b = {0};
    int rc = rewrite(re, pattern, &b, err, errlen);
    if (!rc) {
        int r = regcomp(&re->re, (const char *)b.data, REG_EXTENDED);
        if (r) {
            char msg[256];
            regerror(r, &re->re, msg, sizeof msg);
            rc = pg_err(err, errlen, PG_EINVAL, "invalid regex \"%s\": %s", pattern, msg);
        }
    } else {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", err);
        pg_err(err, errlen, rc, "invalid regex \"%s\": %s", pattern, msg);
    }
    pg_buf_free(&b);
    if (rc) {
        for (size_t i = 0; i < re->nnamed; i++)
            free(re->names[i]);
        free(re);
        return rc;
    }
    *out = re;
    return 0;
}

void pg_regex_free(pg_regex *re)
{
    if (!re) return;
    regfree(&re->re);
    for (size_t i = 0; i < re->nnamed; i++)
        free(re->names[i]);
    free(re);
}

int pg_regex_match(const pg_regex *re, const char *s)
{
    return regexec(&re->re, s, 0, NULL, 0) == 0;
}

size_t pg_regex_named_count(const pg_regex *re)
{
    return re->nnamed;
}

const char *pg_regex_named_name(const pg_regex *re, size_t i)
{
    return i < re->nnamed ? re->names[i] : NULL;
}

int pg_regex_named_match(const pg_regex *re, const char *s, long *start, size_t *len)
{
    regmatch_t m[PG_REGEX_MAX_GROUPS + 1];
    if (regexec(&re->re, s, re->ngroups + 1, m, 0) != 0) return 0;
    for (size_t i = 0; i < re->nnamed; i++) {
        regmatch_t g = m[re->group_of[i]];
        start[i] = g.rm_so < 0 ? -1 : (long)g.rm_so;
        len[i] = g.rm_so < 0 ? 0 : (size_t)(g.rm_eo - g.rm_so);
    }
    return 1;
}
