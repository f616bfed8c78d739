/* UTF-8 validation and repair: the one rule every output that must be UTF-8 follows (the
 * OTLP protobuf encoder, OTLP/JSON, JSON logs). A byte that does not start a valid
 * sequence (overlong forms, surrogates and code points past U+10FFFF are invalid) is
 * replaced by U+FFFD; valid sequences are kept as they are. */
#ifndef PG_UTF8_H
#define PG_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length (1-4) of the valid UTF-8 sequence at s (n > 0 bytes available), or 0 when the
 * byte at s does not start one. */
static inline size_t pg_utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp, min;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
        len = 3, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

/* True when s[0..n) is valid UTF-8 (an ASCII run is checked eight bytes at a time). */
int pg_utf8_valid(const char *s, size_t n);

/* Length of s[0..n) once repaired (each invalid byte becomes the 3 bytes of U+FFFD). */
size_t pg_utf8_repaired_len(const char *s, size_t n);

/* Writes the repaired s[0..n) to out (pg_utf8_repaired_len bytes, no NUL). Returns the
 * number of bytes written. */
size_t pg_utf8_repair(const char *s, size_t n, char *out);

/* Process-wide count of strings repaired as they entered a batch (a self-metric). */
void pg_utf8_note_repair(void);
uint64_t pg_utf8_repairs(void);

#endif
