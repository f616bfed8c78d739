#include <stddef.h>
#include <string.h>

#include "pipeline/core/err.h"
#include "pipeline/net/http_server.h"

static const char *const tls_versions[] = {"1.2", "1.3", NULL};

const pg_cfg_field pg_http_tls_fields[] = {
    {"cert_file", PG_CFG_STRING, offsetof(pg_http_tls_config, cert_file), NULL, NULL, NULL, NULL,
     NULL, false, "server certificate chain (PEM); TLS is on when set"},
    {"key_file", PG_CFG_STRING, offsetof(pg_http_tls_config, key_file), NULL, NULL, NULL, NULL,
     NULL, false, "server private key (PEM)"},
    {"client_ca_file", PG_CFG_STRING, offsetof(pg_http_tls_config, client_ca_file), NULL, NULL,
     NULL, NULL, NULL, false, "CA bundle clients' certificates must chain to (mTLS)"},
    {"min_version", PG_CFG_ENUM, offsetof(pg_http_tls_config, min_version), "1.2", NULL, NULL,
     tls_versions, NULL, false, "lowest TLS version accepted: 1.2 or 1.3"},
    {0},
};

static const pg_cfg_field basic_fields[] = {
    {"username", PG_CFG_STRING, offsetof(struct pg_http_basic_config, username), NULL, NULL, NULL,
     NULL, NULL, false, "expected user name"},
    {"password_file", PG_CFG_STRING, offsetof(struct pg_http_basic_config, password_file), NULL,
     NULL, NULL, NULL, NULL, false, "file holding the expected password"},
    {0},
};

const pg_cfg_field pg_http_auth_fields[] = {
    {"bearer_token_file", PG_CFG_STRING, offsetof(pg_http_auth_config, bearer_token_file), NULL,
     NULL, NULL, NULL, NULL, false, "file holding the expected bearer token"},
    {"basic", PG_CFG_SECTION, offsetof(pg_http_auth_config, basic), NULL, NULL, NULL, NULL,
     basic_fields, false, "HTTP basic authentication"},
    {0},
};

/* Writes the defaults of PG_HTTP_SERVER_FIELDS into cfg (zeroed first). */
void pg_http_server_config_default(pg_http_server_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_request_body_size = 20u << 20;
    cfg->max_request_header_size = 64u << 10;
    cfg->max_connections = 1024;
    cfg->max_concurrent_streams = 100;
    cfg->read_timeout = 30000000000LL;
    cfg->idle_timeout = 60000000000LL;
    cfg->workers = 2;
    cfg->worker_queue = 64;
    cfg->decompression_budget = 256u << 20;
}

/* Checks what the tables cannot: pairs of keys that go together. Borrows cfg. */
int pg_http_server_config_validate(const pg_http_server_config *cfg, char *err, size_t errlen)
{
    const pg_http_tls_config *t = &cfg->tls;
    if ((t->cert_file != NULL) != (t->key_file != NULL))
        return pg_err(err, errlen, PG_EINVAL, "tls: cert_file and key_file go together");
    if (t->client_ca_file && !t->cert_file)
        return pg_err(err, errlen, PG_EINVAL, "tls: client_ca_file needs cert_file and key_file");
    const pg_http_auth_config *a = &cfg->auth;
    if ((a->basic.username != NULL) != (a->basic.password_file != NULL))
        return pg_err(err, errlen, PG_EINVAL, "auth.basic: username and password_file go together");
    if (a->bearer_token_file && a->basic.username)
        return pg_err(err, errlen, PG_EINVAL,
                      "auth: bearer_token_file and basic exclude each other");
    return 0;
}
