#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "pipeline/core/err.h"
#include "pipeline/net/http_internal.h"

/* ALPN: prefers h2, else http/1.1; a client offering neither gets no ALPN (HTTP/1.1). */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    if (nghttp2_select_next_protocol((unsigned char **)out, outlen, in, inlen) < 0)
        return SSL_TLSEXT_ERR_NOACK;
    return SSL_TLSEXT_ERR_OK;
}

/* Formats the last OpenSSL error after `what file`; returns code. */
static int tls_fail(char *err, size_t errlen, int code, const char *what, const char *file)
{
    char reason[256];
    ERR_error_string_n(ERR_get_error(), reason, sizeof reason);
    ERR_clear_error();
    return pg_err(err, errlen, code, "tls: %s %s: %s", what, file, reason);
}

/* Builds the server SSL_CTX from cfg (borrowed), reading the files now. *out is the
 * caller's (SSL_CTX_free). */
int pg_http_tls_ctx(const pg_http_tls_config *cfg, SSL_CTX **out, char *err, size_t errlen)
{
    *out = NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) return pg_err(err, errlen, PG_ENOMEM, "tls: out of memory");
    SSL_CTX_set_min_proto_version(ctx, cfg->min_version == PG_HTTP_TLS_1_3 ? TLS1_3_VERSION
                                                                           : TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    int rc = 0;
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1)
        rc = tls_fail(err, errlen, PG_EIO, "cannot load cert_file", cfg->cert_file);
    else if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1)
        rc = tls_fail(err, errlen, PG_EIO, "cannot load key_file", cfg->key_file);
    else if (SSL_CTX_check_private_key(ctx) != 1)
        rc = tls_fail(err, errlen, PG_EINVAL, "key_file does not match cert_file", cfg->key_file);
    else if (cfg->client_ca_file) {
        if (SSL_CTX_load_verify_locations(ctx, cfg->client_ca_file, NULL) != 1)
            rc = tls_fail(err, errlen, PG_EIO, "cannot load client_ca_file", cfg->client_ca_file);
        else
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    if (rc) {
        SSL_CTX_free(ctx);
        return rc;
    }
    SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
    *out = ctx;
    return 0;
}
