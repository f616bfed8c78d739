/* Bounded decompression of whole buffers: gzip (libdeflate, zlib-compatible multi-member)
 * and zstd. Every call takes the caller's cap on the decompressed size. */
#ifndef PG_DECOMPRESS_H
#define PG_DECOMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/buf.h"

typedef enum { PG_ENC_NONE = 0, PG_ENC_GZIP, PG_ENC_ZSTD } pg_encoding;

/* Returns the encoding named by the leading magic bytes (1f 8b, 28 b5 2f fd), else NONE. */
pg_encoding pg_sniff_encoding(const uint8_t *p, size_t n);

/* Returns the encoding for an HTTP Content-Encoding value ("gzip", "zstd", "identity", "");
 * -1 when unknown. */
int pg_encoding_from_name(const char *name);

/* Decompresses in[0..n) into out (appending), refusing output larger than max_out bytes
 * (PG_ELIMIT) and malformed input (PG_EINVAL). NONE copies. out is caller-owned. */
int pg_decompress(pg_encoding enc, const uint8_t *in, size_t n, size_t max_out, pg_buf *out,
                  char *err, size_t errlen);

/* The prelude of every decoder: when *data starts with gzip or zstd magic, inflates it into
 * raw (caller-owned, freed by the caller) with the cap max_out and points data and len at the
 * result; otherwise checks *len against max_out (0 = no cap). Messages are prefixed with
 * `what`. */
int pg_decompress_input(const uint8_t **data, size_t *len, size_t max_out, pg_buf *raw,
                        const char *what, char *err, size_t errlen);

/* Gzip-compresses in[0..n) at level (1..12, libdeflate scale) and appends to out. */
int pg_gzip_compress(const uint8_t *in, size_t n, int level, pg_buf *out, char *err,
                     size_t errlen);

#endif
