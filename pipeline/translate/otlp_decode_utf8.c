/* UTF-8 repair of a decoded OTLP tree: protobuf-c does not check that `string` fields are
 * UTF-8, and a sender that is not conformant may send other bytes. Every string a batch
 * holds is made valid here (pipeline/core/utf8.h), so that every encoder writes valid
 * output; pprof strings are repaired as they are interned (pg_dict_string, pg_dict_attr). */
#include "pipeline/translate/otlp_decode_int.h"

#include "pipeline/core/anyvalue.h"
#include "pipeline/core/err.h"

/* Repairs the values and keys of an attribute list in place. */
static int repair_kvs(pg_arena *a, pg_otlp_kv **kvs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (pg_str_utf8_repair(a, &kvs[i]->key) || pg_any_utf8_repair(a, kvs[i]->value))
            return PG_ENOMEM;
    return 0;
}

/* Repairs a Resource: attributes and entity references. */
static int repair_resource(pg_arena *a, pg_otlp_resource *r)
{
    if (!r) return 0;
    int rc = repair_kvs(a, r->attributes, r->n_attributes);
    for (size_t i = 0; !rc && i < r->n_entity_refs; i++) {
        pg_otlp_entityref *e = r->entity_refs[i];
        rc = pg_str_utf8_repair(a, &e->schema_url) || pg_str_utf8_repair(a, &e->type);
        for (size_t k = 0; !rc && k < e->n_id_keys; k++)
            rc = pg_str_utf8_repair(a, &e->id_keys[k]);
        for (size_t k = 0; !rc && k < e->n_description_keys; k++)
            rc = pg_str_utf8_repair(a, &e->description_keys[k]);
    }
    return rc ? PG_ENOMEM : 0;
}

/* Repairs an InstrumentationScope: name, version and attributes. */
static int repair_scope(pg_arena *a, pg_otlp_scope *s)
{
    if (!s) return 0;
    if (pg_str_utf8_repair(a, &s->name) || pg_str_utf8_repair(a, &s->version)) return PG_ENOMEM;
    return repair_kvs(a, s->attributes, s->n_attributes);
}

/* Walks d (owned by the decoding batch, not shared yet); replacements go into a. */
int pg_otlp_utf8_repair(pg_arena *a, pg_otlp_data *d)
{
    int rc = 0;
    const pg_otlp_dict *dict = d->dictionary;
    for (size_t i = 0; !rc && dict && i < dict->n_string_table; i++)
        rc = pg_str_utf8_repair(a, &dict->string_table[i]);
    for (size_t i = 0; !rc && dict && i < dict->n_attribute_table; i++)
        rc = pg_any_utf8_repair(a, dict->attribute_table[i]->value);
    for (size_t r = 0; !rc && r < d->n_resource_profiles; r++) {
        pg_otlp_rprofiles *rp = d->resource_profiles[r];
        rc = pg_str_utf8_repair(a, &rp->schema_url) || repair_resource(a, rp->resource);
        for (size_t s = 0; !rc && s < rp->n_scope_profiles; s++) {
            pg_otlp_sprofiles *sp = rp->scope_profiles[s];
            rc = pg_str_utf8_repair(a, &sp->schema_url) || repair_scope(a, sp->scope);
            for (size_t p = 0; !rc && p < sp->n_profiles; p++)
                rc = pg_str_utf8_repair(a, &sp->profiles[p]->original_payload_format);
        }
    }
    return rc ? PG_ENOMEM : 0;
}
