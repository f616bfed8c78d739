/* The otlp / otlphttp exporters' shared state: config copy, request body and headers
 * (see otlp_client.h); the retry rules are in otlp_client_outcome.c. */
#include "pipeline/exporterhelper/otlp_client_int.h"

#include "pipeline/core/decompress.h"
#include "pipeline/core/dict.h"
#include "pipeline/core/err.h"
#include "pipeline/core/merge.h"
#include "pipeline/host.h"
#include "pipeline/translate/otlp_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

const char *const pg_otlp_compression_names[] = {"gzip", "zstd", "none", NULL};

/* Borrows c. */
int pg_otlp_client_config_validate(const pg_otlp_client_config *c, char *err, size_t errlen)
{
    int rc = pg_tls_client_config_validate(&c->tls, err, errlen);
    if (rc) return rc;
    for (size_t i = 0; i < c->headers_from_metadata.n; i++)
        if (!c->headers_from_metadata.items[i][0])
            return pg_err(err, errlen, PG_EINVAL, "headers_from_metadata: empty key");
    return 0;
}

/* Copies cfg's strings into c; false on OOM. */
static bool copy_config(pg_otlp_client *c, const pg_otlp_client_config *cfg)
{
    size_t nh = cfg->headers.n, nm = cfg->headers_from_metadata.n;
    c->n_static = nh;
    c->n_meta = nm;
    c->static_keys = calloc(nh + 1, sizeof(char *));
    c->static_values = calloc(nh + 1, sizeof(char *));
    c->meta_names = calloc(nm + 1, sizeof(char *));
    if (!c->static_keys || !c->static_values || !c->meta_names) return false;
    for (size_t i = 0; i < nh; i++) {
        c->static_keys[i] = strdup(cfg->headers.keys[i]);
        c->static_values[i] = strdup(cfg->headers.values[i]);
        if (!c->static_keys[i] || !c->static_values[i]) return false;
    }
    for (size_t i = 0; i < nm; i++)
        if (!(c->meta_names[i] = strdup(cfg->headers_from_metadata.items[i]))) return false;
    return true;
}

/* See otlp_client.h. */
int pg_otlp_client_new(const pg_component_settings *s, const pg_otlp_client_config *cfg,
                       pg_otlp_client **out, char *err, size_t errlen)
{
    *out = NULL;
    pg_otlp_client *c = calloc(1, sizeof *c);
    if (!c) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    pthread_mutex_init(&c->mu, NULL);
    c->compression = cfg->compression;
    c->attribute_references = cfg->attribute_references;
    c->version = cfg->format_version;
    snprintf(c->version_text, sizeof c->version_text, "%lld", (long long)cfg->format_version);
    c->id = strdup(s->id);
    if (!c->id || !copy_config(c, cfg)) {
        pg_otlp_client_free(c);
        return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    }
    c->metrics = s->host ? pg_host_metrics(s->host) : NULL;
    char lab[256] = "";
    pg_metrics_label(lab, sizeof lab, "exporter", c->id);
    c->partial_profiles =
        pg_metrics_counter(c->metrics, "profgate_exporter_partial_rejected_profiles",
                           "profiles the server rejected in a partial_success answer", lab);
    *out = c;
    return 0;
}

/* Frees c and its copies. NULL is a no-op. */
void pg_otlp_client_free(pg_otlp_client *c)
{
    if (!c) return;
    for (size_t i = 0; c->static_keys && i < c->n_static; i++) {
        free(c->static_keys[i]);
        if (c->static_values) free(c->static_values[i]);
    }
    for (size_t i = 0; c->meta_names && i < c->n_meta; i++)
        free(c->meta_names[i]);
    free(c->static_keys);
    free(c->static_values);
    free(c->meta_names);
    for (size_t i = 0; i < c->n_seen; i++)
        free(c->seen[i]);
    pthread_mutex_destroy(&c->mu);
    free(c->id);
    free(c);
}

/* Rewrites the keys of kvs[0..n) (in b's arena) as key_strindex references. */
static int to_refs(pg_batch *b, pg_otlp_kv **kvs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pg_otlp_kv *kv = kvs[i];
        if (kv->key_strindex || !kv->key || !kv->key[0]) continue;
        int32_t ix = pg_dict_string(b, kv->key, strlen(kv->key));
        if (ix < 0) return ix;
        kv->key_strindex = ix;
        kv->key = (char *)protobuf_c_empty_string;
    }
    return 0;
}

/* A copy of b whose resource and scope attribute keys are references. NULL on OOM. */
static pg_batch *with_refs(const pg_batch *src, int *rc)
{
    pg_batch *b = pg_batch_clone(src, 0);
    *rc = b ? 0 : PG_ENOMEM;
    if (!b) return NULL;
    pg_otlp_data *d = pg_batch_data(b);
    for (size_t r = 0; *rc == 0 && r < d->n_resource_profiles; r++) {
        pg_otlp_rprofiles *rp = d->resource_profiles[r];
        if (rp->resource) *rc = to_refs(b, rp->resource->attributes, rp->resource->n_attributes);
        for (size_t s = 0; *rc == 0 && s < rp->n_scope_profiles; s++) {
            pg_otlp_sprofiles *sp = rp->scope_profiles[s];
            if (sp->scope) *rc = to_refs(b, sp->scope->attributes, sp->scope->n_attributes);
        }
    }
    if (*rc) {
        pg_batch_free(b);
        return NULL;
    }
    return b;
}

/* Appends zstd(in) to out. */
static int zstd_compress(const pg_buf *in, pg_buf *out, char *err, size_t errlen)
{
    size_t bound = ZSTD_compressBound(in->len);
    if (pg_buf_reserve(out, bound)) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    size_t got = ZSTD_compress(out->data + out->len, bound, in->data, in->len, 1);
    if (ZSTD_isError(got))
        return pg_err(err, errlen, PG_EINTERNAL, "zstd: %s", ZSTD_getErrorName(got));
    out->len += got;
    return 0;
}

/* See otlp_client.h. */
int pg_otlp_client_body(pg_otlp_client *c, const pg_batch *b, bool json, bool compress, pg_buf *out,
                        char *err, size_t errlen)
{
    int rc = 0;
    pg_batch *refs = c->attribute_references ? with_refs(b, &rc) : NULL;
    if (rc) return pg_err(err, errlen, rc, "attribute references: out of memory");
    const pg_batch *src = refs ? refs : b;
    bool raw = !compress || c->compression == PG_OTLP_COMPRESSION_NONE;
    pg_buf plain = {0}, *dst = raw ? out : &plain;
    rc = json ? pg_otlp_encode_json(src, dst, err, errlen) : pg_otlp_encode(src, dst, err, errlen);
    pg_batch_free(refs);
    if (rc == 0 && !raw) {
        if (c->compression == PG_OTLP_COMPRESSION_GZIP)
            rc = pg_gzip_compress(plain.data, plain.len, 1, out, err, errlen);
        else
            rc = zstd_compress(&plain, out, err, errlen);
    }
    pg_buf_free(&plain);
    return rc;
}

const char *pg_otlp_client_content_encoding(const pg_otlp_client *c)
{
    return c->compression == PG_OTLP_COMPRESSION_GZIP   ? "gzip"
           : c->compression == PG_OTLP_COMPRESSION_ZSTD ? "zstd"
                                                        : NULL;
}

size_t pg_otlp_client_max_headers(const pg_otlp_client *c)
{
    return c->n_static + 1 + c->n_meta;
}

/* See otlp_client.h. */
size_t pg_otlp_client_headers(const pg_otlp_client *c, const pg_batch *b, pg_otlp_header *out,
                              size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n_static && n < cap; i++)
        out[n++] = (pg_otlp_header){c->static_keys[i], c->static_values[i]};
    if (c->version > 0 && n < cap)
        out[n++] = (pg_otlp_header){PG_OTLP_CLIENT_VERSION_HEADER, c->version_text};
    for (size_t i = 0; b && i < c->n_meta && n < cap; i++) {
        const char *v = pg_batch_meta_get(b, c->meta_names[i]);
        if (v) out[n++] = (pg_otlp_header){c->meta_names[i], v};
    }
    return n;
}
