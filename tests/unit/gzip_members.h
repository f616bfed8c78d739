/* Test helper: inflates every gzip member of a buffer with zlib's streaming reader, counting
 * the members, so a test can tell one member from several and check the bytes they hold. */
#ifndef PG_TEST_GZIP_MEMBERS_H
#define PG_TEST_GZIP_MEMBERS_H

#include "pipeline/core/buf.h"

#include <stdint.h>
#include <string.h>
#include <zlib.h>

/* Inflates every member of in[0..n) into out (appending; the caller frees it); returns the
 * number of members, or -1 on a broken stream. */
static inline int tg_gunzip_members(const uint8_t *in, size_t n, pg_buf *out)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return -1;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    int count = 0;
    uint8_t chunk[65536];
    while (z.avail_in) {
        z.next_out = chunk;
        z.avail_out = sizeof chunk;
        int rc = inflate(&z, Z_NO_FLUSH);
        pg_buf_append(out, chunk, sizeof chunk - z.avail_out);
        if (rc == Z_STREAM_END) {
            count++;
            inflateReset(&z);
        } else if (rc != Z_OK) {
            count = -1;
            break;
        }
    }
    inflateEnd(&z);
    return count;
}

#endif
