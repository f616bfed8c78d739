#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pipeline/core/buf.h"
#include "pipeline/core/err.h"
#include "pipeline/net/http_internal.h"

/* Reads a secret file into a malloc'd string (trailing whitespace trimmed; caller frees).
 * The message names the file, never its contents. */
static int read_secret(const char *key, const char *path, char **out, char *err, size_t errlen)
{
    pg_buf b = {0};
    int rc = pg_buf_read_file(&b, path, 64 * 1024, err, errlen);
    if (rc) {
        pg_buf_free(&b);
        pg_err_prefix(err, errlen, key);
        return rc;
    }
    while (b.len && isspace(b.data[b.len - 1]))
        b.len--;
    if (b.len == 0) {
        pg_buf_free(&b);
        return pg_err(err, errlen, PG_EINVAL, "%s %s: empty", key, path);
    }
    char *s = malloc(b.len + 1);
    if (s) {
        memcpy(s, b.data, b.len);
        s[b.len] = 0;
    }
    OPENSSL_cleanse(b.data, b.len);
    pg_buf_free(&b);
    if (!s) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    *out = s;
    return 0;
}

/* Loads the bearer token or `user:password` the server expects into s (owned by s). */
int pg_http_auth_load(pg_http_server *s, char *err, size_t errlen)
{
    const pg_http_auth_config *a = &s->cfg.auth;
    if (a->bearer_token_file)
        return read_secret("auth.bearer_token_file", a->bearer_token_file, &s->bearer, err, errlen);
    if (!a->basic.username) return 0;
    char *pw = NULL;
    int rc = read_secret("auth.basic.password_file", a->basic.password_file, &pw, err, errlen);
    if (rc) return rc;
    size_t ul = strlen(a->basic.username), pl = strlen(pw);
    s->basic = malloc(ul + pl + 2);
    if (s->basic) {
        memcpy(s->basic, a->basic.username, ul);
        s->basic[ul] = ':';
        memcpy(s->basic + ul + 1, pw, pl + 1);
    }
    OPENSSL_cleanse(pw, pl);
    free(pw);
    return s->basic ? 0 : pg_err(err, errlen, PG_ENOMEM, "out of memory");
}

/* Compares two byte strings in time independent of their contents: both are hashed, and
 * the digests compared with CRYPTO_memcmp. */
static bool same_secret(const void *a, size_t al, const void *b, size_t bl)
{
    unsigned char da[EVP_MAX_MD_SIZE], db[EVP_MAX_MD_SIZE];
    unsigned int la = 0, lb = 0;
    if (!EVP_Digest(a, al, da, &la, EVP_sha256(), NULL) ||
        !EVP_Digest(b, bl, db, &lb, EVP_sha256(), NULL))
        return false;
    return la == lb && CRYPTO_memcmp(da, db, la) == 0;
}

/* Checks an Authorization value (borrowed, may be NULL) against the expected credentials. */
int pg_http_auth_check(const pg_http_server *s, const char *authorization)
{
    if (!s->bearer && !s->basic) return 0;
    if (!authorization) return PG_EUNAUTH;
    const char *scheme = s->bearer ? "Bearer" : "Basic";
    size_t sl = strlen(scheme);
    if (strncasecmp(authorization, scheme, sl) != 0 || authorization[sl] != ' ') return PG_EUNAUTH;
    const char *v = authorization + sl + 1;
    while (*v == ' ')
        v++;
    if (s->bearer) return same_secret(v, strlen(v), s->bearer, strlen(s->bearer)) ? 0 : PG_EUNAUTH;
    size_t vl = strlen(v);
    if (vl == 0 || vl % 4 || vl > 4096) return PG_EUNAUTH;
    unsigned char dec[3 * 4096 / 4 + 1];
    int n = EVP_DecodeBlock(dec, (const unsigned char *)v, (int)vl);
    if (n < 0) return PG_EUNAUTH;
    if (vl >= 1 && v[vl - 1] == '=') n--; /* EVP_DecodeBlock counts padding as zero bytes */
    if (vl >= 2 && v[vl - 2] == '=') n--;
    bool ok = same_secret(dec, (size_t)n, s->basic, strlen(s->basic));
    OPENSSL_cleanse(dec, sizeof dec);
    return ok ? 0 : PG_EUNAUTH;
}
