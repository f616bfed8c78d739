/* gRPC unary framing, statuses and answers (see grpc.h). */
#include "pipeline/net/grpc.h"

#include "pipeline/core/err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* See grpc.h. */
int pg_grpc_content_type(const char *ct)
{
    size_t n = strlen(PG_GRPC_CT);
    if (!ct || strncasecmp(ct, PG_GRPC_CT, n) != 0) return PG_GRPC_CT_NONE;
    const char *rest = ct + n;
    if (*rest == '\0' || *rest == ';' || *rest == ' ') return PG_GRPC_CT_PROTO;
    if (*rest != '+') return PG_GRPC_CT_NONE; /* application/grpc-web is another protocol */
    rest++;
    if (strncasecmp(rest, "proto", 5) == 0 && (rest[5] == '\0' || rest[5] == ';' || rest[5] == ' '))
        return PG_GRPC_CT_PROTO;
    return PG_GRPC_CT_OTHER;
}

/* See grpc.h. */
int pg_grpc_unframe(const uint8_t *p, size_t n, bool *compressed, size_t *off, size_t *len,
                    char *err, size_t errlen)
{
    if (n == 0) return pg_err(err, errlen, PG_EINVAL, "gRPC request without a message");
    if (n < 5) return pg_err(err, errlen, PG_EINVAL, "gRPC message prefix cut short");
    if (p[0] > 1)
        return pg_err(err, errlen, PG_EINVAL, "gRPC message flags 0x%02x: only 0 or 1", p[0]);
    size_t m = (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 | p[4];
    if (m > n - 5)
        return pg_err(err, errlen, PG_EINVAL, "gRPC message of %zu bytes cut short at %zu", m,
                      n - 5);
    if (m < n - 5)
        return pg_err(err, errlen, PG_EINVAL,
                      "more than one gRPC message in a unary request (%zu bytes after the first)",
                      n - 5 - m);
    *compressed = p[0] == 1;
    *off = 5;
    *len = m;
    return 0;
}

/* See grpc.h. Hours of 8 digits pass int64 ns: such a timeout saturates. */
int pg_grpc_timeout_parse(const char *v, int64_t *ns)
{
    if (!v) return PG_EINVAL;
    size_t digits = strspn(v, "0123456789");
    if (digits == 0 || digits > 8 || v[digits] == '\0' || v[digits + 1] != '\0') return PG_EINVAL;
    int64_t unit;
    switch (v[digits]) {
    case 'H':
        unit = 3600 * 1000000000LL;
        break;
    case 'M':
        unit = 60 * 1000000000LL;
        break;
    case 'S':
        unit = 1000000000LL;
        break;
    case 'm':
        unit = 1000000LL;
        break;
    case 'u':
        unit = 1000LL;
        break;
    case 'n':
        unit = 1;
        break;
    default:
        return PG_EINVAL;
    }
    int64_t x = strtoll(v, NULL, 10);
    *ns = x > INT64_MAX / unit ? INT64_MAX : x * unit;
    return 0;
}

/* See grpc.h. */
void pg_grpc_percent_encode(const char *msg, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    if (cap == 0) return;
    for (const unsigned char *s = (const unsigned char *)(msg ? msg : ""); *s; s++) {
        bool plain = *s >= 0x20 && *s <= 0x7e && *s != '%';
        size_t need = plain ? 1 : 3;
        if (o + need >= cap) break;
        if (plain) {
            out[o++] = (char)*s;
        } else {
            out[o++] = '%';
            out[o++] = hex[*s >> 4];
            out[o++] = hex[*s & 15];
        }
    }
    out[o] = '\0';
}

/* See grpc.h. */
int pg_grpc_status_of_http(int http)
{
    switch (http) {
    case 400:
        return PG_EINVAL;
    case 401:
        return PG_EUNAUTH;
    case 403:
        return PG_EPERM;
    case 404:
    case 405:
    case 415:
        return PG_EUNSUP;
    case 413:
    case 431:
        return PG_ELIMIT;
    case 429:
    case 503:
        return PG_EAGAIN;
    case 504:
        return PG_ETIMEOUT;
    default:
        return PG_EINTERNAL;
    }
}

/* See grpc.h. */
int pg_grpc_reply(pg_http_reply *r, const void *msg, size_t len)
{
    if (len > UINT32_MAX) return PG_ELIMIT;
    uint8_t *framed = malloc(len + 5);
    if (!framed) return PG_ENOMEM;
    framed[0] = 0;
    framed[1] = (uint8_t)(len >> 24);
    framed[2] = (uint8_t)(len >> 16);
    framed[3] = (uint8_t)(len >> 8);
    framed[4] = (uint8_t)len;
    if (len) memcpy(framed + 5, msg, len);
    int rc = pg_http_reply_set(r, 200, PG_GRPC_CT, framed, len + 5);
    free(framed);
    if (rc == 0) rc = pg_http_reply_trailer(r, "grpc-status", "0");
    return rc;
}

/* See grpc.h. */
int pg_grpc_reply_error(pg_http_reply *r, int status, const char *msg)
{
    char code[8], text[1024];
    snprintf(code, sizeof code, "%d", status == 0 ? PG_GRPC_UNKNOWN : pg_status_grpc(status));
    pg_grpc_percent_encode(msg ? msg : pg_status_name(status), text, sizeof text);
    int rc = pg_http_reply_set(r, 200, PG_GRPC_CT, NULL, 0);
    if (rc == 0) rc = pg_http_reply_trailer(r, "grpc-status", code);
    if (rc == 0 && text[0]) rc = pg_http_reply_trailer(r, "grpc-message", text);
    if (rc == 0 && pg_status_grpc(status) == PG_GRPC_UNIMPLEMENTED)
        rc = pg_http_reply_trailer(r, "grpc-accept-encoding", PG_GRPC_ACCEPT_ENCODING);
    return rc;
}
