/* multipart/form-data bodies (RFC 7578 over RFC 2046): the parser the pprof_push receiver
 * uses for what Pyroscope SDKs send to /ingest, and the writer the pyroscope exporter uses
 * for the same requests. The parser is zero-copy: parts point into the caller's body. */
#ifndef PG_NET_MULTIPART_H
#define PG_NET_MULTIPART_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/buf.h"

/* RFC 2046: a boundary is 1 to 70 characters. */
#define PG_MULTIPART_MAX_BOUNDARY 70
/* Longest part name, file name or content type kept (longer ones are refused). */
#define PG_MULTIPART_MAX_FIELD 255

/* One part; data borrowed from the body given to pg_multipart_parse. */
typedef struct pg_multipart_part {
    char name[PG_MULTIPART_MAX_FIELD + 1];         /* Content-Disposition name= ("" if none) */
    char filename[PG_MULTIPART_MAX_FIELD + 1];     /* filename= ("" if none) */
    char content_type[PG_MULTIPART_MAX_FIELD + 1]; /* the part's Content-Type ("" if none) */
    const uint8_t *data;
    size_t len;
} pg_multipart_part;

/* Reads the boundary parameter of a `multipart/form-data; boundary=...` Content-Type
 * (borrowed; token or quoted string) into out (at least PG_MULTIPART_MAX_BOUNDARY + 1
 * bytes). Returns 0; PG_EUNSUP when the type is not multipart/form-data; PG_EINVAL when the
 * boundary is missing, empty or over 70 characters. */
int pg_multipart_boundary(const char *content_type, char *out, size_t outlen, char *err,
                          size_t errlen);

/* Splits body[0..len) (borrowed) at boundary into at most max_parts parts, in order, into
 * parts[] (caller's array), and their number into *n. A preamble before the first
 * delimiter and an epilogue after the closing one are ignored; CRLF or bare LF line ends
 * are accepted. Returns 0; PG_EINVAL for a body without a first delimiter or a closing
 * delimiter, a part without its blank line, a header line without a colon or over
 * PG_MULTIPART_MAX_FIELD bytes of name, file name or type; PG_ELIMIT for more than
 * max_parts parts. */
int pg_multipart_parse(const uint8_t *body, size_t len, const char *boundary,
                       pg_multipart_part *parts, size_t max_parts, size_t *n, char *err,
                       size_t errlen);

/* Returns the first part named name, or NULL. */
const pg_multipart_part *pg_multipart_find(const pg_multipart_part *parts, size_t n,
                                           const char *name);

/* Appends one form-data part to out: delimiter, Content-Disposition with name and (when
 * not NULL) filename, Content-Type (when not NULL), then data[0..len) (borrowed). The
 * caller chooses a boundary that does not occur in any part's data. Returns 0 or the
 * buffer's failure (PG_ENOMEM). */
int pg_multipart_write_part(pg_buf *out, const char *boundary, const char *name,
                            const char *filename, const char *content_type, const void *data,
                            size_t len);

/* Appends the closing delimiter. Returns 0 or PG_ENOMEM. */
int pg_multipart_write_end(pg_buf *out, const char *boundary);

#endif
