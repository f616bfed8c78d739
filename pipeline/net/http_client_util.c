/* The outgoing HTTP client's pure parts: the client TLS config table, auth header lines,
 * and the Retry-After parser. */
#include "pipeline/core/err.h"
#include "pipeline/net/http_client.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T pg_tls_client_config

const pg_cfg_field pg_tls_client_fields[] = {
    {.key = "insecure",
     .type = PG_CFG_BOOL,
     .offset = offsetof(T, insecure),
     .def = "false",
     .doc = "plain-text connection (gRPC); for HTTP the endpoint's scheme decides"},
    {.key = "ca_file",
     .type = PG_CFG_STRING,
     .offset = offsetof(T, ca_file),
     .doc = "PEM CA bundle that signs the server's certificate (default: the system's)"},
    {.key = "cert_file",
     .type = PG_CFG_STRING,
     .offset = offsetof(T, cert_file),
     .doc = "PEM client certificate (mTLS), with key_file"},
    {.key = "key_file",
     .type = PG_CFG_STRING,
     .offset = offsetof(T, key_file),
     .doc = "PEM client private key (mTLS), with cert_file"},
    {.key = "insecure_skip_verify",
     .type = PG_CFG_BOOL,
     .offset = offsetof(T, insecure_skip_verify),
     .def = "false",
     .doc = "do not verify the server's certificate nor its name (tests only)"},
    {.key = "server_name_override",
     .type = PG_CFG_STRING,
     .offset = offsetof(T, server_name_override),
     .doc = "name sent in SNI and checked against the certificate"},
    {0},
};

#undef T

/* Borrows t. */
int pg_tls_client_config_validate(const pg_tls_client_config *t, char *err, size_t errlen)
{
    if (!t->cert_file != !t->key_file)
        return pg_err(err, errlen, PG_EINVAL, "tls: cert_file and key_file go together");
    return 0;
}

/* Writes into out; PG_ELIMIT when it does not fit. */
int pg_http_client_basic_auth(const char *user, const char *password, char *out, size_t outlen)
{
    size_t ul = strlen(user), pl = strlen(password), n = ul + 1 + pl;
    unsigned char *raw = malloc(n + 1);
    if (!raw) return PG_ENOMEM;
    memcpy(raw, user, ul);
    raw[ul] = ':';
    memcpy(raw + ul + 1, password, pl);
    static const char prefix[] = "Authorization: Basic ";
    size_t need = sizeof prefix - 1 + 4 * ((n + 2) / 3) + 1;
    if (need > outlen) {
        free(raw);
        return PG_ELIMIT;
    }
    memcpy(out, prefix, sizeof prefix - 1);
    EVP_EncodeBlock((unsigned char *)out + sizeof prefix - 1, raw, (int)n);
    free(raw);
    return 0;
}

/* Writes into out; PG_ELIMIT when it does not fit. */
int pg_http_client_bearer_auth(const char *token, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "Authorization: Bearer %s", token);
    return n < 0 || (size_t)n >= outlen ? PG_ELIMIT : 0;
}

/* Borrows value. Seconds, or PG_HTTP_CLIENT_NO_RETRY_AFTER. */
int64_t pg_http_client_parse_retry_after(const char *value, int64_t now_unix)
{
    if (!value) return PG_HTTP_CLIENT_NO_RETRY_AFTER;
    while (*value == ' ' || *value == '\t')
        value++;
    size_t n = strlen(value);
    while (n && (value[n - 1] == ' ' || value[n - 1] == '\t' || value[n - 1] == '\r' ||
                 value[n - 1] == '\n'))
        n--;
    if (n == 0) return PG_HTTP_CLIENT_NO_RETRY_AFTER;
    bool digits = true;
    for (size_t i = 0; i < n; i++)
        if (value[i] < '0' || value[i] > '9') digits = false;
    if (digits) {
        if (n > 9) return 999999999; /* absurdly long: capped, callers cap further */
        int64_t s = 0;
        for (size_t i = 0; i < n; i++)
            s = s * 10 + (value[i] - '0');
        return s;
    }
    char buf[128];
    if (n >= sizeof buf) return PG_HTTP_CLIENT_NO_RETRY_AFTER;
    memcpy(buf, value, n);
    buf[n] = 0;
    /* an HTTP date names its weekday and has a colon-separated time */
    if (!strchr(buf, ':') || !strchr(buf, ' ')) return PG_HTTP_CLIENT_NO_RETRY_AFTER;
    time_t t = curl_getdate(buf, NULL);
    if (t == (time_t)-1) return PG_HTTP_CLIENT_NO_RETRY_AFTER;
    return (int64_t)t > now_unix ? (int64_t)t - now_unix : 0;
}
