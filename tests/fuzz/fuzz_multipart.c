/* libFuzzer target: the multipart/form-data parser. The input's first line is the
 * Content-Type (its boundary parameter read by pg_multipart_boundary), the rest the body.
 * Any bytes: a status, never a crash or a read outside the body; parts accepted by the
 * parser, written again by the writer with the same boundary, parse back to the same
 * number of parts with the same bytes. */
#include "pipeline/net/multipart.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    if (!nl) return 0;
    size_t cl = (size_t)(nl - data);
    char *ct = malloc(cl + 1);
    if (!ct) return 0;
    memcpy(ct, data, cl);
    ct[cl] = '\0';
    char boundary[PG_MULTIPART_MAX_BOUNDARY + 1], err[256];
    if (pg_multipart_boundary(ct, boundary, sizeof boundary, err, sizeof err) == 0) {
        const uint8_t *body = nl + 1;
        size_t blen = size - cl - 1;
        pg_multipart_part parts[8], again[8];
        size_t n = 0, m = 0;
        if (pg_multipart_parse(body, blen, boundary, parts, 8, &n, err, sizeof err) == 0) {
            pg_buf out = {0};
            for (size_t i = 0; i < n; i++) {
                if (parts[i].data < body || parts[i].data + parts[i].len > body + blen) abort();
                pg_multipart_write_part(&out, boundary, parts[i].name,
                                        parts[i].filename[0] ? parts[i].filename : NULL, NULL,
                                        parts[i].data, parts[i].len);
            }
            if (pg_multipart_write_end(&out, boundary) != 0) abort();
            if (pg_multipart_parse(out.data, out.len, boundary, again, 8, &m, err, sizeof err) !=
                    0 ||
                m != n)
                abort();
            for (size_t i = 0; i < n; i++)
                if (again[i].len != parts[i].len ||
                    memcmp(again[i].data, parts[i].data, parts[i].len) != 0)
                    abort();
            pg_buf_free(&out);
        }
    }
    free(ct);
    return 0;
}
