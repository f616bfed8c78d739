/* OTLP/JSON codec over protobuf-c descriptors. The encoder writes JSON text itself (exact
 * 64-bit integers, fixed field order); the decoder parses with jansson, walks the tree
 * against the descriptor and allocates the message in the caller's arena. */
#include "pipeline/translate/otlp_json.h"
#include "pipeline/core/utf8.h"

#include "pipeline/core/err.h"

#include <float.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENC_MAX_DEPTH 512
#define PATH_CAP 320

/* ---------------------------------------------------------------- shared helpers */

/* Returns 1 for the OTLP id fields written as hex instead of base64. */
static int is_hex_id(const ProtobufCFieldDescriptor *f)
{
    return f->type == PROTOBUF_C_TYPE_BYTES &&
           (!strcmp(f->name, "trace_id") || !strcmp(f->name, "span_id") ||
            !strcmp(f->name, "profile_id"));
}

/* Returns the size of one element of a repeated field of type t (protobuf-c layout). */
static size_t elt_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default:
        return 4; /* 32-bit ints, float, enum */
    }
}

static int is_64bit(ProtobufCType t)
{
    return t == PROTOBUF_C_TYPE_INT64 || t == PROTOBUF_C_TYPE_SINT64 ||
           t == PROTOBUF_C_TYPE_SFIXED64 || t == PROTOBUF_C_TYPE_UINT64 ||
           t == PROTOBUF_C_TYPE_FIXED64;
}

static int is_unsigned(ProtobufCType t)
{
    return t == PROTOBUF_C_TYPE_UINT32 || t == PROTOBUF_C_TYPE_FIXED32 ||
           t == PROTOBUF_C_TYPE_UINT64 || t == PROTOBUF_C_TYPE_FIXED64;
}

/* Writes the lowerCamelCase form of a snake_case name; returns its full length. */
size_t pg_otlp_json_field_name(const char *proto_name, char *out, size_t outlen)
{
    size_t k = 0;
    int up = 0;
    for (const char *s = proto_name; *s; s++) {
        if (*s == '_') {
            up = 1;
            continue;
        }
        char c = (up && *s >= 'a' && *s <= 'z') ? (char)(*s - 'a' + 'A') : *s;
        up = 0;
        if (out && k + 1 < outlen) out[k] = c;
        k++;
    }
    if (out && outlen) out[k < outlen ? k : outlen - 1] = 0;
    return k;
}

/* Returns 1 when key (NUL-terminated) is the camelCase form of snake name `name`. */
int pg_json_name_eq(const char *name, const char *key)
{
    int up = 0;
    for (; *name; name++) {
        if (*name == '_') {
            up = 1;
            continue;
        }
        char c = (up && *name >= 'a' && *name <= 'z') ? (char)(*name - 'a' + 'A') : *name;
        up = 0;
        if (*key++ != c) return 0;
    }
    return *key == 0;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Not a digit: what b64_val and hex_val return for other characters (not a status). */
enum { NOT_DIGIT = -1 };

/* Returns the 6-bit value of a base64 character (standard or URL-safe), or NOT_DIGIT. */
static int b64_val(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return NOT_DIGIT;
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return NOT_DIGIT;
}

/* ---------------------------------------------------------------- encoder */

typedef struct enc {
    pg_buf *out;
    char *err;
    size_t errlen;
    const pg_json_enc_hooks *hooks; /* NULL: every message written as it is */
} enc;

static void put(enc *e, const char *s, size_t n)
{
    pg_buf_append(e->out, s, n); /* failure is sticky in out->failed, checked at the end */
}

static void puts_(enc *e, const char *s)
{
    put(e, s, strlen(s));
}

/* Returns 1 when field f of message base is written: protobuf-c's pack rules, so that a
 * decoded copy packs to the same bytes. */
static int field_present(const ProtobufCFieldDescriptor *f, const char *base)
{
    const void *p = base + f->offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return *(const size_t *)(base + f->quantifier_offset) > 0;
    int oneof = (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0;
    if (oneof && *(const uint32_t *)(base + f->quantifier_offset) != f->id) return 0;
    int ptr_type = f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE;
    const void *ptr = ptr_type ? *(const void *const *)p : NULL;
    if (oneof) return !ptr_type || (ptr && ptr != f->default_value);
    if (f->label == PROTOBUF_C_LABEL_REQUIRED) return !ptr_type || ptr;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL) {
        if (ptr_type) return ptr && ptr != f->default_value;
        return *(const protobuf_c_boolean *)(base + f->quantifier_offset) != 0;
    }
    switch (f->type) { /* PROTOBUF_C_LABEL_NONE: proto3 implicit presence */
    case PROTOBUF_C_TYPE_STRING:
        return ptr && *(const char *)ptr;
    case PROTOBUF_C_TYPE_MESSAGE:
        return ptr != NULL;
    case PROTOBUF_C_TYPE_BYTES:
        return ((const ProtobufCBinaryData *)p)->len > 0;
    case PROTOBUF_C_TYPE_FLOAT:
        return *(const float *)p != 0.0f;
    case PROTOBUF_C_TYPE_DOUBLE:
        return *(const double *)p != 0.0;
    default:
        return is_64bit(f->type) ? *(const uint64_t *)p != 0 : *(const uint32_t *)p != 0;
    }
}

/* Writes a JSON string literal for s (n bytes), replacing invalid UTF-8 with U+FFFD. */
static void enc_string(enc *e, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t run = 0; /* start of the pending run of bytes copied verbatim */
    put(e, "\"", 1);
    for (size_t i = 0; i < n;) {
        const char *esc = NULL;
        char tmp[8];
        size_t len = 1;
        if (u[i] == '"')
            esc = "\\\"";
        else if (u[i] == '\\')
            esc = "\\\\";
        else if (u[i] == '\n')
            esc = "\\n";
        else if (u[i] == '\r')
            esc = "\\r";
        else if (u[i] == '\t')
            esc = "\\t";
        else if (u[i] < 0x20)
            snprintf(tmp, sizeof tmp, "\\u%04x", u[i]), esc = tmp;
        else if (!(len = pg_utf8_seq_len(u + i, n - i)))
            esc = "\\ufffd", len = 1;
        if (esc) {
            put(e, s + run, i - run);
            puts_(e, esc);
            run = i + len;
        }
        i += len;
    }
    put(e, s + run, n - run);
    put(e, "\"", 1);
}

/* Writes a double (or float when is_float) that parses back to the same value. */
static void enc_double(enc *e, double v, int is_float)
{
    char tmp[40];
    if (isnan(v)) {
        puts_(e, "\"NaN\"");
    } else if (isinf(v)) {
        puts_(e, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    } else if (v == 0 && signbit(v)) {
        puts_(e, "-0.0"); /* "-0" would read back as the integer 0 */
    } else {
        for (int prec = 1; prec <= 17; prec++) { /* shortest that reads back */
            snprintf(tmp, sizeof tmp, "%.*g", prec, v);
            double back = strtod(tmp, NULL);
            if (is_float ? (float)back == (float)v : back == v) break;
        }
        puts_(e, tmp);
    }
}

/* Writes bytes as lowercase hex (ids) or padded standard base64. */
static void enc_bytes(enc *e, const ProtobufCBinaryData *b, int hex)
{
    static const char HEX[] = "0123456789abcdef";
    char q[4];
    put(e, "\"", 1);
    for (size_t i = 0; hex && i < b->len; i++) {
        q[0] = HEX[b->data[i] >> 4], q[1] = HEX[b->data[i] & 15];
        put(e, q, 2);
    }
    for (size_t i = 0; !hex && i < b->len; i += 3) {
        size_t r = b->len - i;
        uint32_t v = (uint32_t)b->data[i] << 16 | (r > 1 ? (uint32_t)b->data[i + 1] << 8 : 0) |
                     (r > 2 ? b->data[i + 2] : 0);
        q[0] = B64[v >> 18], q[1] = B64[(v >> 12) & 63];
        q[2] = r > 1 ? B64[(v >> 6) & 63] : '=', q[3] = r > 2 ? B64[v & 63] : '=';
        put(e, q, 4);
    }
    put(e, "\"", 1);
}

static int enc_message(enc *e, const ProtobufCMessage *m, unsigned depth);

/* Writes one value of field f stored at p (a single element for repeated fields). */
static int enc_value(enc *e, const ProtobufCFieldDescriptor *f, const void *p, unsigned depth)
{
    char tmp[32];
    switch (f->type) {
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)p;
        if (!sub)
            return pg_err(e->err, e->errlen, PG_EINVAL, "%s: NULL element in repeated field",
                          f->name);
        return enc_message(e, sub, depth + 1);
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(const char *const *)p;
        enc_string(e, s ? s : "", s ? strlen(s) : 0);
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES:
        enc_bytes(e, p, is_hex_id(f));
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        puts_(e, *(const protobuf_c_boolean *)p ? "true" : "false");
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
        enc_double(e, *(const float *)p, 1);
        return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        enc_double(e, *(const double *)p, 0);
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        snprintf(tmp, sizeof tmp, "\"%" PRId64 "\"", *(const int64_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(tmp, sizeof tmp, "\"%" PRIu64 "\"", *(const uint64_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        snprintf(tmp, sizeof tmp, "%" PRIu32, *(const uint32_t *)p);
        break;
    default:
        snprintf(tmp, sizeof tmp, "%" PRId32, *(const int32_t *)p);
        break; /* + enum */
    }
    puts_(e, tmp);
    return 0;
}

/* Writes `"camelName":`. */
static void enc_name(enc *e, const char *proto_name)
{
    size_t n = pg_otlp_json_field_name(proto_name, NULL, 0);
    if (pg_buf_reserve(e->out, n + 4)) return;
    char *w = (char *)e->out->data + e->out->len;
    w[0] = '"';
    pg_otlp_json_field_name(proto_name, w + 1, n + 1);
    w[n + 1] = '"', w[n + 2] = ':';
    e->out->len += n + 3;
}

/* Writes message m as a JSON object, fields in descriptor order (protoc-c sorts the
 * descriptor's fields by number). */
static int enc_fields(enc *e, const ProtobufCMessage *m, unsigned depth);

/* Writes m, or the view the hooks give in its place (released once written). */
static int enc_message(enc *e, const ProtobufCMessage *m, unsigned depth)
{
    if (!e->hooks || !e->hooks->view) return enc_fields(e, m, depth);
    const ProtobufCMessage *v = e->hooks->view(e->hooks->ctx, m);
    if (!v) return pg_err(e->err, e->errlen, PG_ENOMEM, "out of memory writing JSON");
    int rc = enc_fields(e, v, depth);
    if (v != m && e->hooks->done) e->hooks->done(e->hooks->ctx, m, v);
    return rc;
}

static int enc_fields(enc *e, const ProtobufCMessage *m, unsigned depth)
{
    if (depth > ENC_MAX_DEPTH)
        return pg_err(e->err, e->errlen, PG_ELIMIT, "messages nested deeper than %d",
                      ENC_MAX_DEPTH);
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    int first = 1, rc;
    put(e, "{", 1);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (!field_present(f, base)) continue;
        if (!first) put(e, ",", 1);
        first = 0;
        enc_name(e, f->name);
        if (f->label != PROTOBUF_C_LABEL_REPEATED) {
            if ((rc = enc_value(e, f, base + f->offset, depth))) return rc;
            continue;
        }
        size_t n = *(const size_t *)(base + f->quantifier_offset), sz = elt_size(f->type);
        const char *arr = *(const char *const *)(base + f->offset);
        put(e, "[", 1);
        for (size_t j = 0; j < n; j++) {
            if (j) put(e, ",", 1);
            if ((rc = enc_value(e, f, arr + j * sz, depth))) return rc;
        }
        put(e, "]", 1);
    }
    put(e, "}", 1);
    return 0;
}

/* Appends the JSON for m to out; out keeps owning its storage. */
int pg_otlp_json_encode(const ProtobufCMessage *m, pg_buf *out, char *err, size_t errlen)
{
    return pg_otlp_json_encode_with(m, NULL, out, err, errlen);
}

/* Like pg_otlp_json_encode, with hooks (borrowed) that may write a view of a message. */
int pg_otlp_json_encode_with(const ProtobufCMessage *m, const pg_json_enc_hooks *hooks, pg_buf *out,
                             char *err, size_t errlen)
{
    if (!m) return pg_err(err, errlen, PG_EINVAL, "no message to encode");
    enc e = {out, err, errlen, hooks};
    size_t start = out->len;
    int rc = enc_message(&e, m, 1);
    if (!rc && out->failed) rc = pg_err(err, errlen, PG_ENOMEM, "out of memory writing JSON");
    if (rc) out->len = start;
    return rc;
}

/* ---------------------------------------------------------------- decoder */

typedef struct dec {
    pg_arena *a;
    size_t max_depth;
    char *err;
    size_t errlen;
    size_t plen;
    char path[PATH_CAP];
} dec;

/* Appends ".key" / "[i]" to the error path; returns the length to restore. */
static size_t path_push(dec *d, const char *key, size_t index)
{
    size_t old = d->plen;
    int n = key ? snprintf(d->path + old, PATH_CAP - old, old ? ".%s" : "%s", key)
                : snprintf(d->path + old, PATH_CAP - old, "[%zu]", index);
    d->plen = (n < 0 || old + (size_t)n >= PATH_CAP) ? PATH_CAP - 1 : old + (size_t)n;
    return old;
}

static void path_pop(dec *d, size_t old)
{
    d->plen = old;
    d->path[old] = 0;
}

static int bad(dec *d, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Formats "path: message" into the caller's error buffer and returns code. */
static int bad(dec *d, int code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return pg_err(d->err, d->errlen, code, "%s: %s", d->plen ? d->path : "<root>", msg);
}

static int nomem(dec *d)
{
    int rc = pg_arena_status(d->a);
    return bad(d, rc, "%s",
               rc == PG_ELIMIT ? "arena allocation refused (over its cap)" : "out of memory");
}

/* Parses a decimal integer string ("-"? digits) into sign + magnitude; 0, PG_EINVAL when
 * it is not one, PG_ELIMIT when the magnitude is past 2^64-1. */
static int parse_dec(const char *s, size_t n, int *neg, uint64_t *mag)
{
    size_t i = 0;
    *neg = n > 0 && s[0] == '-';
    i = (size_t)*neg;
    if (i == n) return PG_EINVAL;
    for (*mag = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return PG_EINVAL;
        unsigned dgt = (unsigned)(s[i] - '0');
        if (*mag > (UINT64_MAX - dgt) / 10) return PG_ELIMIT;
        *mag = *mag * 10 + dgt;
    }
    return 0;
}

/* Decodes an integer of field type t from v (number or string) and stores it at p. */
static int dec_int(dec *d, ProtobufCType t, json_t *v, void *p)
{
    int neg = 0, w64 = is_64bit(t);
    uint64_t mag = 0;
    const char *want = w64 ? "expected integer string" : "expected integer";
    const char *tname = is_unsigned(t) ? (w64 ? "uint64" : "uint32") : (w64 ? "int64" : "int32");
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        neg = x < 0;
        mag = neg ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
    } else if (json_is_real(v)) {
        double x = json_real_value(v);
        if (x != floor(x) || fabs(x) > 9007199254740992.0) return bad(d, PG_EINVAL, "%s", want);
        neg = x < 0;
        mag = (uint64_t)fabs(x);
    } else if (json_is_string(v)) {
        int rc = parse_dec(json_string_value(v), json_string_length(v), &neg, &mag);
        if (rc == PG_EINVAL)
            return bad(d, PG_EINVAL, "invalid integer \"%.40s\"", json_string_value(v));
        if (rc == PG_ELIMIT) return bad(d, PG_EINVAL, "integer out of range for %s", tname);
    } else {
        return bad(d, PG_EINVAL, "%s", want);
    }
    if (neg && mag == 0) neg = 0;
    uint64_t lim = is_unsigned(t) ? (w64 ? UINT64_MAX : UINT32_MAX)
                                  : (w64 ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX) + neg;
    if ((neg && is_unsigned(t)) || mag > lim)
        return bad(d, PG_EINVAL, "integer out of range for %s", tname);
    if (is_unsigned(t) && w64)
        *(uint64_t *)p = mag;
    else if (is_unsigned(t))
        *(uint32_t *)p = (uint32_t)mag;
    else if (w64)
        *(int64_t *)p = neg ? -(int64_t)(mag - 1) - 1 : (int64_t)mag;
    else
        *(int32_t *)p = neg ? (int32_t)(0 - (int64_t)mag) : (int32_t)mag;
    return 0;
}

/* Decodes a double or float from a number, "NaN"/"Infinity"/"-Infinity" or a decimal
 * string, storing it at p. */
static int dec_float(dec *d, int is_float, json_t *v, void *p)
{
    double x;
    if (json_is_number(v)) {
        x = json_number_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        char *end = NULL;
        if (!strcmp(s, "NaN"))
            x = NAN;
        else if (!strcmp(s, "Infinity"))
            x = INFINITY;
        else if (!strcmp(s, "-Infinity"))
            x = -INFINITY;
        else if (n == 0 || strspn(s, "0123456789+-.eE") != n || (x = strtod(s, &end), *end) ||
                 !isfinite(x))
            return bad(d, PG_EINVAL, "invalid number \"%.40s\"", s);
    } else {
        return bad(d, PG_EINVAL, "expected number");
    }
    if (!is_float) {
        *(double *)p = x;
        return 0;
    }
    if (isfinite(x) && fabs(x) > FLT_MAX) return bad(d, PG_EINVAL, "number out of range for float");
    *(float *)p = (float)x;
    return 0;
}

/* Decodes a JSON string of hex (ids) or base64 into arena-owned bytes at p. */
static int dec_bytes(dec *d, int hex, json_t *v, ProtobufCBinaryData *p)
{
    if (!json_is_string(v))
        return bad(d, PG_EINVAL, hex ? "expected hex string" : "expected base64 string");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v), k = 0, out_n;
    if (hex) {
        if (n % 2) return bad(d, PG_EINVAL, "hex id has odd length %zu", n);
        out_n = n / 2;
    } else {
        size_t pad = 0;
        while (n && s[n - 1] == '=' && pad < 2)
            n--, pad++;
        if (n % 4 == 1) return bad(d, PG_EINVAL, "invalid base64 length");
        out_n = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    }
    p->len = out_n;
    p->data = NULL;
    if (!out_n) return 0;
    if (!(p->data = pg_arena_alloc(d->a, out_n))) return nomem(d);
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int x = hex ? hex_val(s[i]) : b64_val(s[i]);
        if (x < 0)
            return bad(d, PG_EINVAL, "invalid %s character at offset %zu", hex ? "hex" : "base64",
                       i);
        acc = acc << (hex ? 4 : 6) | (uint32_t)x;
        bits += hex ? 4 : 6;
        if (bits >= 8) {
            bits -= 8;
            p->data[k++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return 0;
}

static int dec_message(dec *d, const ProtobufCMessageDescriptor *md, json_t *j, size_t depth,
                       ProtobufCMessage **out);

/* Decodes one value of field f from v into p (one element for repeated fields). */
static int dec_value(dec *d, const ProtobufCFieldDescriptor *f, json_t *v, void *p, size_t depth)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_MESSAGE:
        return dec_message(d, f->descriptor, v, depth + 1, (ProtobufCMessage **)p);
    case PROTOBUF_C_TYPE_STRING:
        if (!json_is_string(v)) return bad(d, PG_EINVAL, "expected string");
        if (!(*(char **)p = pg_arena_strndup(d->a, json_string_value(v), json_string_length(v))))
            return nomem(d);
        return 0;
    case PROTOBUF_C_TYPE_BYTES:
        return dec_bytes(d, is_hex_id(f), v, p);
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v)) return bad(d, PG_EINVAL, "expected true or false");
        *(protobuf_c_boolean *)p = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
        return dec_float(d, 1, v, p);
    case PROTOBUF_C_TYPE_DOUBLE:
        return dec_float(d, 0, v, p);
    case PROTOBUF_C_TYPE_ENUM:
        if (json_is_string(v)) {
            const ProtobufCEnumValue *ev =
                protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, json_string_value(v));
            if (!ev) return bad(d, PG_EINVAL, "unknown enum value \"%.40s\"", json_string_value(v));
            *(int32_t *)p = ev->value;
            return 0;
        }
        return dec_int(d, PROTOBUF_C_TYPE_INT32, v, p);
    default:
        return dec_int(d, f->type, v, p);
    }
}

/* Decodes field f of message m (at base) from v, which is not null. */
static int dec_field(dec *d, const ProtobufCMessageDescriptor *md,
                     const ProtobufCFieldDescriptor *f, char *base, json_t *v, size_t depth)
{
    int rc;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        if (!json_is_array(v)) return bad(d, PG_EINVAL, "expected array");
        size_t n = json_array_size(v), sz = elt_size(f->type);
        if (n == 0) return 0;
        char *arr = n <= SIZE_MAX / sz ? pg_arena_calloc(d->a, n, sz) : NULL;
        if (!arr) return nomem(d);
        for (size_t i = 0; i < n; i++) {
            size_t old = path_push(d, NULL, i);
            if ((rc = dec_value(d, f, json_array_get(v, i), arr + i * sz, depth))) return rc;
            path_pop(d, old);
        }
        *(void **)(base + f->offset) = arr;
        *(size_t *)(base + f->quantifier_offset) = n;
        return 0;
    }
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t *c = (uint32_t *)(base + f->quantifier_offset);
        if (*c && *c != f->id) {
            const ProtobufCFieldDescriptor *o = protobuf_c_message_descriptor_get_field(md, *c);
            return bad(d, PG_EINVAL, "oneof already set by field \"%s\"", o ? o->name : "?");
        }
        if ((rc = dec_value(d, f, v, base + f->offset, depth))) return rc;
        *c = f->id;
        return 0;
    }
    if ((rc = dec_value(d, f, v, base + f->offset, depth))) return rc;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
        f->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
    return 0;
}

/* Returns the field of md named key in camelCase or snake_case, or NULL. */
static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *md,
                                                  const char *key)
{
    for (unsigned i = 0; i < md->n_fields; i++)
        if (pg_json_name_eq(md->fields[i].name, key) || !strcmp(md->fields[i].name, key))
            return &md->fields[i];
    return NULL;
}

/* Decodes object j into a new arena-owned message of descriptor md at *out. */
static int dec_message(dec *d, const ProtobufCMessageDescriptor *md, json_t *j, size_t depth,
                       ProtobufCMessage **out)
{
    if (!json_is_object(j)) return bad(d, PG_EINVAL, "expected object");
    if (depth > d->max_depth)
        return bad(d, PG_ELIMIT, "messages nested deeper than %zu", d->max_depth);
    ProtobufCMessage *m = pg_arena_alloc(d->a, md->sizeof_message);
    if (!m) return nomem(d);
    protobuf_c_message_init(md, m);
    uint64_t seen[4] = {0}; /* catches "fooBar" + "foo_bar"; fields past 256 go unchecked */
    const char *key;
    json_t *v;
    json_object_foreach(j, key, v)
    {
        const ProtobufCFieldDescriptor *f = find_field(md, key);
        const char *was = f ? NULL : pg_otlp_json_older_field(md->short_name, key);
        if (was)
            return bad(d, PG_EUNSUP,
                       "%s.%s belongs to an earlier development layout of OTLP Profiles; profgate "
                       "speaks opentelemetry-proto v1.11.0 (profiles development version 1)",
                       md->short_name, key);
        if (!f || json_is_null(v)) continue; /* unknown fields and nulls are skipped */
        size_t idx = (size_t)(f - md->fields), old = path_push(d, key, 0);
        if (idx < 256 && (seen[idx / 64] >> (idx % 64) & 1))
            return bad(d, PG_EINVAL, "field given twice (camelCase and snake_case)");
        if (idx < 256) seen[idx / 64] |= (uint64_t)1 << (idx % 64);
        int rc = dec_field(d, md, f, (char *)m, v, depth);
        if (rc) return rc;
        path_pop(d, old);
    }
    *out = m;
    return 0;
}

/* Parses json with jansson (tree freed before return) and builds the message in a. */
int pg_otlp_json_decode(const ProtobufCMessageDescriptor *md, const uint8_t *json, size_t n,
                        pg_arena *a, size_t max_depth, ProtobufCMessage **out, char *err,
                        size_t errlen)
{
    int rc;
    *out = NULL;
    json_error_t je;
    json_t *root = json_loadb((const char *)json, n, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        pg_err(err, errlen, PG_EINVAL, "invalid JSON at line %d column %d: %s", je.line, je.column,
               je.text);
        rc = PG_EINVAL;
    } else {
        dec d = {a, max_depth ? max_depth : PG_OTLP_JSON_DEFAULT_DEPTH, err, errlen, 0, {0}};
        rc = dec_message(&d, md, root, 1, out);
        json_decref(root);
    }
    if (rc) *out = NULL;
    /* Messages may echo input: keep them one line of printable ASCII. */
    for (char *c = err; rc && c && errlen && *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f) *c = '?';
    return rc;
}
