/* Bounded decompression of whole buffers: gzip (libdeflate, zlib-compatible multi-member)
 * and zstd; and of a stream's first bytes only (zlib / zstd streaming), for sniffing. Every
 * call takes the caller's cap on the decompressed size. */
#ifndef PG_DECOMPRESS_H
#define PG_DECOMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/buf.h"

/* DEFLATE is HTTP's "deflate" Content-Encoding (zlib-wrapped; raw accepted too); it has no
 * magic bytes, so only a header names it (pg_sniff_encoding never returns it, and
 * pg_decompress_prefix treats it as NONE). */
typedef enum { PG_ENC_NONE = 0, PG_ENC_GZIP, PG_ENC_ZSTD, PG_ENC_DEFLATE } pg_encoding;

/* Returns the encoding named by the leading magic bytes (1f 8b, 28 b5 2f fd), else NONE. */
pg_encoding pg_sniff_encoding(const uint8_t *p, size_t n);

/* Returns the encoding for an HTTP Content-Encoding value ("gzip", "zstd", "deflate",
 * "identity", "");
 * PG_EUNSUP when unknown. */
int pg_encoding_from_name(const char *name);

/* Decompresses in[0..n) into out (appending), refusing output larger than max_out bytes
 * (PG_ELIMIT) and malformed input (PG_EINVAL). NONE copies. out is caller-owned. */
int pg_decompress(pg_encoding enc, const uint8_t *in, size_t n, size_t max_out, pg_buf *out,
                  char *err, size_t errlen);

/* What in[0..n) says it inflates to, untrusted: gzip's last trailer (ISIZE, mod 2^32), the
 * first zstd frame's content size; 0 when it does not say (or is plain). */
size_t pg_decompressed_size_hint(pg_encoding enc, const uint8_t *in, size_t n);

/* Decompresses only the start of a stream: appends to out at most max_out bytes of what
 * in[0..n) inflates to (gzip: zlib streaming, multi-member; zstd: streaming, multi-frame;
 * NONE: copies the first max_out bytes), for sniffing a format without inflating the whole
 * input. Meant for small caps (tens of KiB): out grows by up to max_out.
 * Contract:
 * - Stopping is not an error: the call returns 0 when the cap is reached, when the input
 *   ends before the stream does (truncated), and when corrupt or trailing data follows
 *   bytes already produced. Those bytes are what the data before the stop decodes to; as
 *   damage may be detected late (gzip's CRC is only checked at a member's end), a damaged
 *   stream's prefix can end in garbage: good for sniffing, the full decoders validate.
 * - It returns PG_EINVAL only when nothing valid could be produced: no output byte and the
 *   input is not one or more complete (empty) streams; PG_ENOMEM when out cannot grow.
 *   Deflate yields bytes as they come; zstd yields whole blocks (up to 128 KiB), so a zstd
 *   stream cut inside its first block gives PG_EINVAL.
 * - *complete (may be NULL) is set to 1 when the whole input was decoded to the end of its
 *   last stream within the cap (out then holds everything), else 0.
 * - max_out == 0 asks for nothing: returns 0, out untouched.
 * out is caller-owned; on error it keeps its previous length. */
int pg_decompress_prefix(pg_encoding enc, const uint8_t *in, size_t n, size_t max_out, pg_buf *out,
                         int *complete, char *err, size_t errlen);

/* The prelude of every decoder: when *data starts with gzip or zstd magic, inflates it into
 * raw (caller-owned, freed by the caller) with the cap max_out and points data and len at the
 * result; otherwise checks *len against max_out (0 = no cap). Messages are prefixed with
 * `what`. */
int pg_decompress_input(const uint8_t **data, size_t *len, size_t max_out, pg_buf *raw,
                        const char *what, char *err, size_t errlen);

/* Gzip-compresses in[0..n) at level (1..12, libdeflate scale) and appends to out. */
int pg_gzip_compress(const uint8_t *in, size_t n, int level, pg_buf *out, char *err, size_t errlen);

#endif
