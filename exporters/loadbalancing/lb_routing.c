/* Routing keys: what puts every profile of one series on the same backend. */
#include "exporters/loadbalancing/lb_int.h"

#include "pipeline/core/anyvalue.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/hash.h"

#include <string.h>

#define SERVICE_NAME "service.name" /* resource attribute (semantic conventions) */

/* The value of resource attribute key, or NULL. Borrows rp. */
static const pg_otlp_any *resource_attr(const pg_otlp_rprofiles *rp, const char *key)
{
    const pg_otlp_resource *r = rp->resource;
    for (size_t i = 0; r && i < r->n_attributes; i++)
        if (r->attributes[i]->key && !strcmp(r->attributes[i]->key, key))
            return r->attributes[i]->value;
    return NULL;
}

/* The value of scope attribute key, or NULL. */
static const pg_otlp_any *scope_attr(const pg_otlp_sprofiles *sp, const char *key)
{
    const pg_otlp_scope *s = sp->scope;
    for (size_t i = 0; s && i < s->n_attributes; i++)
        if (s->attributes[i]->key && !strcmp(s->attributes[i]->key, key))
            return s->attributes[i]->value;
    return NULL;
}

/* The value of the profile's attribute key (through the dictionary), or NULL. */
static const pg_otlp_any *profile_attr(const pg_otlp_dict *d, const pg_otlp_profile *p,
                                       const char *key)
{
    for (size_t i = 0; i < p->n_attribute_indices; i++) {
        int32_t ai = p->attribute_indices[i];
        if (ai <= 0 || (size_t)ai >= d->n_attribute_table) continue;
        const pg_otlp_attr *a = d->attribute_table[ai];
        int32_t ks = a->key_strindex;
        if (ks > 0 && (size_t)ks < d->n_string_table && !strcmp(d->string_table[ks], key))
            return a->value;
    }
    return NULL;
}

/* Hash of a string value (other kinds hash by content). */
static uint64_t value_hash(const pg_otlp_any *v)
{
    if (v && v->value_case == PG_ANY_STRING && v->string_value)
        return pg_ring_key_hash(v->string_value, strlen(v->string_value));
    return v ? pg_any_hash(v, 0x5eed) : 0;
}

/* Order-independent hash of every resource attribute. */
static uint64_t resource_hash(const pg_otlp_rprofiles *rp)
{
    uint64_t h = 0;
    const pg_otlp_resource *r = rp->resource;
    for (size_t i = 0; r && i < r->n_attributes; i++) {
        const char *k = r->attributes[i]->key ? r->attributes[i]->key : "";
        h += pg_hash_mix(pg_ring_key_hash(k, strlen(k)), value_hash(r->attributes[i]->value));
    }
    return h;
}

/* See lb_int.h. */
void lb_routing_hashes(const lb_config *c, const pg_batch *b, uint64_t *out)
{
    const pg_otlp_dict *d = pg_batch_dict(b);
    size_t i = 0;
    pg_profile_iter it;
    for (pg_profile_iter_init(&it, b); pg_profile_iter_next(&it); i++) {
        uint64_t h = 0;
        if (c->routing_key == LB_KEY_SERVICE) {
            h = value_hash(resource_attr(it.resource, SERVICE_NAME));
        } else if (c->routing_key == LB_KEY_RESOURCE) {
            h = resource_hash(it.resource);
        } else {
            for (size_t k = 0; k < c->routing_attributes.n; k++) {
                const char *key = c->routing_attributes.items[k];
                const pg_otlp_any *v = resource_attr(it.resource, key);
                if (!v) v = scope_attr(it.scope, key);
                if (!v) v = profile_attr(d, &it.profile->msg, key);
                h = pg_hash_mix(h, value_hash(v));
            }
        }
        out[i] = h;
    }
}
