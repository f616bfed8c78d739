/* multipart/form-data parsing and writing (see multipart.h). */
#include "pipeline/net/multipart.h"

#include "pipeline/core/err.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Returns the first occurrence of needle[0..nl) (nl >= 1) in h[0..n), or NULL. memchr
 * finds candidates; the needle is at most a delimiter's length. */
static const uint8_t *find(const uint8_t *h, size_t n, const char *needle, size_t nl)
{
    const uint8_t *p = h, *end = h + n;
    while ((size_t)(end - p) >= nl) {
        p = memchr(p, (unsigned char)needle[0], (size_t)(end - p) - nl + 1);
        if (!p) return NULL;
        if (memcmp(p, needle, nl) == 0) return p;
        p++;
    }
    return NULL;
}

/* Skips spaces and tabs in s[*i..n). */
static void skip_ws(const char *s, size_t n, size_t *i)
{
    while (*i < n && (s[*i] == ' ' || s[*i] == '\t'))
        (*i)++;
}

/* Reads a parameter value at s[*i..n): a quoted string (backslash escapes) or a token
 * (up to ';', space or tab), into out (NUL-terminated). Returns 0, or PG_EINVAL when it
 * does not fit outlen or a quote is not closed. */
static int param_value(const char *s, size_t n, size_t *i, char *out, size_t outlen)
{
    size_t o = 0;
    if (*i < n && s[*i] == '"') {
        (*i)++;
        while (*i < n && s[*i] != '"') {
            if (s[*i] == '\\' && *i + 1 < n) (*i)++;
            if (o + 1 >= outlen) return PG_EINVAL;
            out[o++] = s[(*i)++];
        }
        if (*i >= n) return PG_EINVAL;
        (*i)++;
    } else {
        while (*i < n && s[*i] != ';' && s[*i] != ' ' && s[*i] != '\t') {
            if (o + 1 >= outlen) return PG_EINVAL;
            out[o++] = s[(*i)++];
        }
    }
    out[o] = '\0';
    return 0;
}

/* Finds parameter `want` (case-insensitive) in the `; k=v` list at s[i..n) into out.
 * Returns 1 found, 0 absent, PG_EINVAL malformed or too long. */
static int find_param(const char *s, size_t n, size_t i, const char *want, char *out, size_t outlen)
{
    size_t wl = strlen(want);
    while (i < n) {
        while (i < n && s[i] != ';' && s[i] != '"')
            i++;
        if (i < n && s[i] == '"') { /* a stray quoted string: skip it */
            char tmp[PG_MULTIPART_MAX_FIELD + 1];
            if (param_value(s, n, &i, tmp, sizeof tmp)) return PG_EINVAL;
            continue;
        }
        if (i >= n) break;
        i++; /* ';' */
        skip_ws(s, n, &i);
        size_t k = i;
        while (i < n && s[i] != '=' && s[i] != ';')
            i++;
        size_t kl = i - k;
        while (kl && (s[k + kl - 1] == ' ' || s[k + kl - 1] == '\t'))
            kl--;
        if (i >= n || s[i] != '=') continue;
        i++;
        skip_ws(s, n, &i);
        char tmp[PG_MULTIPART_MAX_FIELD + 1];
        int match = kl == wl && strncasecmp(s + k, want, wl) == 0;
        if (param_value(s, n, &i, match ? out : tmp, match ? outlen : sizeof tmp)) return PG_EINVAL;
        if (match) return 1;
    }
    return 0;
}

/* See multipart.h. Borrows content_type. */
int pg_multipart_boundary(const char *content_type, char *out, size_t outlen, char *err,
                          size_t errlen)
{
    static const char TYPE[] = "multipart/form-data";
    const char *s = content_type ? content_type : "";
    size_t n = strlen(s), i = 0;
    skip_ws(s, n, &i);
    size_t tl = sizeof TYPE - 1;
    if (n - i < tl || strncasecmp(s + i, TYPE, tl) != 0 ||
        (s[i + tl] && s[i + tl] != ';' && s[i + tl] != ' ' && s[i + tl] != '\t'))
        return pg_err(err, errlen, PG_EUNSUP, "content type \"%.64s\" is not multipart/form-data",
                      s);
    char b[PG_MULTIPART_MAX_FIELD + 1];
    int f = find_param(s, n, i + tl, "boundary", b, sizeof b);
    if (f <= 0 || !b[0])
        return pg_err(err, errlen, PG_EINVAL, "multipart/form-data without a boundary parameter");
    size_t bl = strlen(b);
    if (bl > PG_MULTIPART_MAX_BOUNDARY || bl + 1 > outlen)
        return pg_err(err, errlen, PG_EINVAL, "multipart boundary over %d characters",
                      PG_MULTIPART_MAX_BOUNDARY);
    memcpy(out, b, bl + 1);
    return 0;
}

/* Returns the offset just past the line end (CRLF or LF) at p[i..n), or 0 when the bytes
 * at i are not a line end. */
static size_t line_end(const uint8_t *p, size_t n, size_t i)
{
    if (i < n && p[i] == '\n') return i + 1;
    if (i + 1 < n && p[i] == '\r' && p[i + 1] == '\n') return i + 2;
    return 0;
}

/* 1 when the bytes at p[i..n), just past a boundary, end a delimiter: "--", or padding
 * then a line end. */
static int delimiter_ends(const uint8_t *p, size_t n, size_t i)
{
    if (i + 2 <= n && p[i] == '-' && p[i + 1] == '-') return 1;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    return line_end(p, n, i) != 0;
}

/* Parses one header line h[0..hl) into part (Content-Disposition, Content-Type; others
 * ignored). Returns 0 or PG_EINVAL with a message. */
static int part_header(const char *h, size_t hl, pg_multipart_part *part, size_t idx, char *err,
                       size_t errlen)
{
    const char *colon = memchr(h, ':', hl);
    if (!colon)
        return pg_err(err, errlen, PG_EINVAL, "multipart part %zu: header line without ':'", idx);
    size_t kl = (size_t)(colon - h), i = kl + 1;
    skip_ws(h, hl, &i);
    if (kl == 19 && strncasecmp(h, "content-disposition", 19) == 0) {
        int r1 = find_param(h, hl, i, "name", part->name, sizeof part->name);
        int r2 = find_param(h, hl, i, "filename", part->filename, sizeof part->filename);
        if (r1 < 0 || r2 < 0)
            return pg_err(err, errlen, PG_EINVAL,
                          "multipart part %zu: malformed Content-Disposition (or a name over "
                          "%d bytes)",
                          idx, PG_MULTIPART_MAX_FIELD);
    } else if (kl == 12 && strncasecmp(h, "content-type", 12) == 0) {
        size_t vl = hl - i;
        while (vl && (h[i + vl - 1] == ' ' || h[i + vl - 1] == '\t'))
            vl--;
        if (vl > PG_MULTIPART_MAX_FIELD)
            return pg_err(err, errlen, PG_EINVAL, "multipart part %zu: Content-Type over %d bytes",
                          idx, PG_MULTIPART_MAX_FIELD);
        memcpy(part->content_type, h + i, vl);
        part->content_type[vl] = '\0';
    }
    return 0;
}

/* Reads the header block at p[*i..n) up to and past its blank line. */
static int part_headers(const uint8_t *p, size_t n, size_t *i, pg_multipart_part *part, size_t idx,
                        char *err, size_t errlen)
{
    for (;;) {
        size_t e = line_end(p, n, *i);
        if (e) {
            *i = e;
            return 0;
        }
        const uint8_t *nl = memchr(p + *i, '\n', n - *i);
        if (!nl)
            return pg_err(err, errlen, PG_EINVAL, "multipart part %zu: headers not ended", idx);
        size_t hl = (size_t)(nl - (p + *i));
        if (hl && p[*i + hl - 1] == '\r') hl--;
        int rc = part_header((const char *)p + *i, hl, part, idx, err, errlen);
        if (rc) return rc;
        *i = (size_t)(nl - p) + 1;
    }
}

/* See multipart.h. */
int pg_multipart_parse(const uint8_t *body, size_t len, const char *boundary,
                       pg_multipart_part *parts, size_t max_parts, size_t *n, char *err,
                       size_t errlen)
{
    char delim[PG_MULTIPART_MAX_BOUNDARY + 5];
    size_t bl = strlen(boundary);
    *n = 0;
    if (bl == 0 || bl > PG_MULTIPART_MAX_BOUNDARY)
        return pg_err(err, errlen, PG_EINVAL, "multipart boundary must be 1 to %d characters",
                      PG_MULTIPART_MAX_BOUNDARY);
    /* "\r\n--boundary": the first delimiter may also open the body without the CRLF */
    int dl = snprintf(delim, sizeof delim, "\r\n--%s", boundary);
    size_t at;
    if (len >= (size_t)dl - 2 && memcmp(body, delim + 2, (size_t)dl - 2) == 0)
        at = (size_t)dl - 2;
    else {
        const uint8_t *f = find(body, len, delim + 1, (size_t)dl - 1); /* "\n--b" */
        if (!f)
            return pg_err(err, errlen, PG_EINVAL,
                          "multipart body without a delimiter for boundary \"%s\"", boundary);
        at = (size_t)(f - body) + (size_t)dl - 1;
    }
    for (;;) {
        /* just past a delimiter: "--" closes, else padding and a line end open a part */
        if (at + 2 <= len && body[at] == '-' && body[at + 1] == '-') return 0;
        skip_ws((const char *)body, len, &at);
        size_t e = line_end(body, len, at);
        if (!e)
            return pg_err(err, errlen, PG_EINVAL,
                          "multipart body: delimiter %zu not followed by a line end (or cut)", *n);
        at = e;
        if (*n == max_parts)
            return pg_err(err, errlen, PG_ELIMIT, "multipart body: more than %zu parts", max_parts);
        pg_multipart_part *part = &parts[*n];
        memset(part, 0, sizeof *part);
        int rc = part_headers(body, len, &at, part, *n, err, errlen);
        if (rc) return rc;
        /* the data ends at the next "\r\n--boundary" (or "\n--boundary") followed by "--"
         * or by padding and a line end; any other match is data (as Go's reader does) */
        const uint8_t *f = NULL;
        for (size_t from = at; from < len;) {
            f = find(body + from, len - from, delim + 1, (size_t)dl - 1);
            if (!f || delimiter_ends(body, len, (size_t)(f - body) + (size_t)dl - 1)) break;
            from = (size_t)(f - body) + 1;
            f = NULL;
        }
        if (!f)
            return pg_err(err, errlen, PG_EINVAL, "multipart part %zu: no closing delimiter", *n);
        size_t end = (size_t)(f - body);
        if (end > at && body[end - 1] == '\r') end--;
        part->data = body + at;
        part->len = end - at;
        (*n)++;
        at = (size_t)(f - body) + (size_t)dl - 1;
    }
}

/* Borrows parts and name. */
const pg_multipart_part *pg_multipart_find(const pg_multipart_part *parts, size_t n,
                                           const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(parts[i].name, name) == 0) return &parts[i];
    return NULL;
}

/* Appends a quoted-string parameter value (quotes and backslashes escaped). */
static void put_quoted(pg_buf *out, const char *s)
{
    pg_buf_append(out, "\"", 1);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') pg_buf_append(out, "\\", 1);
        if (*s != '\r' && *s != '\n') pg_buf_append(out, s, 1);
    }
    pg_buf_append(out, "\"", 1);
}

/* See multipart.h; errors stick in out->failed, returned at the end. */
int pg_multipart_write_part(pg_buf *out, const char *boundary, const char *name,
                            const char *filename, const char *content_type, const void *data,
                            size_t len)
{
    pg_buf_append(out, "--", 2);
    pg_buf_append(out, boundary, strlen(boundary));
    static const char CD[] = "\r\nContent-Disposition: form-data; name=";
    pg_buf_append(out, CD, sizeof CD - 1);
    put_quoted(out, name);
    if (filename) {
        pg_buf_append(out, "; filename=", 11);
        put_quoted(out, filename);
    }
    if (content_type) {
        pg_buf_append(out, "\r\nContent-Type: ", 16);
        pg_buf_append(out, content_type, strlen(content_type));
    }
    pg_buf_append(out, "\r\n\r\n", 4);
    pg_buf_append(out, data, len);
    return pg_buf_append(out, "\r\n", 2);
}

/* See multipart.h. */
int pg_multipart_write_end(pg_buf *out, const char *boundary)
{
    pg_buf_append(out, "--", 2);
    pg_buf_append(out, boundary, strlen(boundary));
    return pg_buf_append(out, "--\r\n", 4);
}
