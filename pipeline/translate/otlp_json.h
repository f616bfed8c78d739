/* OTLP/JSON codec for any protobuf-c message of the pinned protos, driven by the
 * protobuf-c descriptors (reflection), following the OTLP/JSON mapping:
 *
 * - field names are lowerCamelCase of the proto names (`resource_profiles` ->
 *   `resourceProfiles`); input accepts either spelling; unknown keys are skipped;
 *   a null value means "field absent";
 * - 64-bit integers are written as decimal strings; input takes strings or JSON numbers.
 *   JSON numbers pass through jansson's `long long`, so a uint64 above INT64_MAX must be
 *   sent as a string (as a number the whole document is rejected as "too big integer");
 *   a number with a fraction/exponent is accepted only when integral and |v| <= 2^53;
 * - 32-bit integers and enums are written as numbers (strings accepted on input);
 * - bool is true/false; double/float is a number or "NaN", "Infinity", "-Infinity";
 * - `bytes` is base64 (standard alphabet with padding on output; standard or URL-safe,
 *   padded or not, on input), except the id fields `trace_id`, `span_id`, `profile_id`,
 *   which are lowercase hex on output and even-length hex (any case) on input. Id length
 *   policy (16/8/16 bytes) is left to the validator;
 * - zero scalars, empty strings/bytes, absent messages and empty repeated fields are
 *   omitted; a set oneof member is always written, even when zero;
 * - fields are written in field-number order, so output is deterministic. */
#ifndef PG_OTLP_JSON_H
#define PG_OTLP_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "pipeline/core/arena.h"
#include "pipeline/core/buf.h"

/* Nesting limit used by pg_otlp_json_decode when max_depth is 0. */
#define PG_OTLP_JSON_DEFAULT_DEPTH 64

/* Encodes message m as OTLP/JSON, appending to out. Borrows m and out. Strings that are
 * not valid UTF-8 get U+FFFD for each bad byte. Returns 0; PG_ENOMEM when out cannot grow;
 * PG_ELIMIT when m nests deeper than 512 messages; PG_EINVAL for a NULL element in a
 * repeated message field. On error out->len is restored to its value on entry. */
int pg_otlp_json_encode(const ProtobufCMessage *m, pg_buf *out, char *err, size_t errlen);

/* Hooks for writing a tree whose messages are not all in protobuf-c form: before each
 * message is written, view(ctx, m) returns the message to write in its place (m itself
 * when nothing changes, NULL when out of memory); when the view differs from m, done(ctx,
 * m, view) follows once it is written, so that it can be released at once. */
typedef struct pg_json_enc_hooks {
    const ProtobufCMessage *(*view)(void *ctx, const ProtobufCMessage *m);
    void (*done)(void *ctx, const ProtobufCMessage *m, const ProtobufCMessage *view);
    void *ctx;
} pg_json_enc_hooks;

/* pg_otlp_json_encode with hooks (NULL: none). With a flushing out (pg_buf.flush) the
 * text streams out as it is written. */
int pg_otlp_json_encode_with(const ProtobufCMessage *m, const pg_json_enc_hooks *hooks, pg_buf *out,
                             char *err, size_t errlen);

/* Decodes n bytes of JSON text into a new message of descriptor d. Everything decoded
 * (the message, its sub-messages, NUL-terminated strings, exactly sized repeated arrays,
 * bytes) is allocated in arena a and is freed with it. The root message is depth 1; an
 * object nested deeper than max_depth messages (0 = PG_OTLP_JSON_DEFAULT_DEPTH) is
 * rejected. Returns 0 and sets *out; otherwise *out = NULL and returns PG_EINVAL for bad
 * input (malformed JSON, wrong type, out-of-range number, bad hex/base64, a field given
 * twice, two members of one oneof), with the JSON path in err (e.g.
 * "resourceProfiles[0].scopeProfiles[0].profiles[0].samples[3].values[0]: expected
 * integer string"), PG_ELIMIT when too deep or when the arena refuses an allocation
 * (over its cap, or out of memory). On error the arena may hold partial data. The
 * jansson parse tree lives outside the arena while decoding (measured ~12x n at peak), so
 * callers bound n. */
int pg_otlp_json_decode(const ProtobufCMessageDescriptor *d, const uint8_t *json, size_t n,
                        pg_arena *a, size_t max_depth, ProtobufCMessage **out, char *err,
                        size_t errlen);

/* Writes the OTLP/JSON (lowerCamelCase) name of proto field name `proto_name` into out
 * (NUL-terminated, truncated to outlen). Returns the full length the name needs. */
size_t pg_otlp_json_field_name(const char *proto_name, char *out, size_t outlen);

/* 1 when JSON key `key` is the camelCase form of the snake_case field name `name`. */
int pg_json_name_eq(const char *name, const char *key);

/* The field name (snake_case) of message `message` (descriptor short name) that `key`
 * names in an earlier development layout of the OTLP Profiles messages, or NULL
 * (otlp_json_layouts.c). */
const char *pg_otlp_json_older_field(const char *message, const char *key);

#endif
