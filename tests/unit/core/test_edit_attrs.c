/* The attribute half of the edit API: resource attributes found, set, renamed and deleted
 * in both key forms (inline and key_strindex), attribute-table lookups, the one-pass
 * rewrite of sample attributes (copy-on-write: the other profile sharing the column does
 * not change), profile attributes, resource/scope cloning, and a valid dictionary after
 * compaction. */
#include "edit_fixture.h"

#include "dict_check.h"
#include "pipeline/core/compact.h"

static pg_otlp_any str_any(const char *s)
{
    pg_otlp_any v = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    v.value_case = PG_ANY_STRING;
    v.string_value = (char *)s;
    return v;
}

static void test_resource_attrs(void)
{
    pg_batch *b = pg_batch_new(0);
    pg_arena *a = pg_batch_arena(b);
    pg_otlp_rprofiles *rp = NULL;
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, &rp);
    fx_profile(b, sp, "samples", "count", 2, 1);
    /* a KeyValue given by reference: key "service.name", value by reference too */
    pg_otlp_kv *kv = pg_otlp_kv_new(a);
    kv->key = "";
    kv->key_strindex = fx_str(b, "service.name");
    kv->value = pg_otlp_any_new(a);
    kv->value->value_case = PG_ANY_STRINDEX;
    kv->value->string_value_strindex = fx_str(b, "cart");
    rp->resource = pg_otlp_resource_new(a);
    pg_otlp_push(a, (void ***)&rp->resource->attributes, &rp->resource->n_attributes, kv);

    CHECK(pg_resource_attr_find(b, rp, "service.name") == 0);
    CHECK(pg_resource_attr_find(b, rp, "nope") == PG_ENOTFOUND);
    CHECK_STR(pg_any_str(b, kv->value), "cart");
    char buf[64];
    pg_otlp_any iv = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    iv.value_case = PG_ANY_INT;
    iv.int_value = -42;
    CHECK_STR(pg_any_text(b, &iv, buf, sizeof buf), "-42");
    pg_otlp_any env = str_any("prod");
    CHECK(pg_resource_attr_set(b, rp, "deployment.environment.name", &env) == 0);
    CHECK(rp->resource->n_attributes == 2);
    pg_otlp_any v2 = str_any("checkout");
    CHECK(pg_resource_attr_set(b, rp, "service.name", &v2) == 0); /* replaces, keeps the ref key */
    CHECK(rp->resource->n_attributes == 2 && kv->key_strindex != 0);
    CHECK_STR(pg_any_str(b, rp->resource->attributes[0]->value), "checkout");
    CHECK(pg_resource_attr_rename(b, rp, "deployment.environment.name", "env") == 1);
    CHECK(pg_resource_attr_find(b, rp, "env") == 1);
    CHECK(pg_resource_attr_rename(b, rp, "absent", "x") == 0);
    CHECK(pg_resource_attr_delete(b, rp, "service.name") == 1);
    CHECK(pg_resource_attr_delete(b, rp, "service.name") == 0);
    CHECK(rp->resource->n_attributes == 1);
    char err[256];
    CHECK(pg_batch_compact(b, NULL, err, sizeof err) == 0);
    CHECK(dc_valid(b));
    pg_batch_free(b);
}

/* Drops every attribute keyed ctx (a string index) and appends attribute *(ctx+1). */
static int drop_and_add(void *ctx, const int32_t *in, size_t n, int32_t *out, size_t cap)
{
    const int32_t *c = ctx;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (in[i] != c[0]) out[k++] = in[i];
    if (k < cap) out[k++] = c[1];
    return (int)k;
}

static void test_sample_attrs(void)
{
    pg_batch *b = fx_pprof_batch(4); /* two profiles sharing their attribute column */
    pg_profile *p0 = fx_nth(b, 0), *p1 = fx_nth(b, 1);
    int32_t thread = pg_dict_attr_str(b, "thread", "main", 4);
    int32_t tenant = pg_dict_attr_str(b, "tenant", "t1", 2);
    CHECK(thread > 0 && tenant > 0);
    CHECK_STR(pg_attr_key(b, thread), "thread");
    CHECK_STR(pg_any_str(b, pg_attr_value(b, thread)), "main");
    int32_t key = fx_str(b, "thread");
    pg_sample_ref r;
    pg_sample_at(&p0->msg, 1, &r);
    CHECK(pg_attrs_find(b, r.attrs, r.n_attrs, key) == 0);
    CHECK(pg_attrs_find(b, r.attrs, r.n_attrs, fx_str(b, "tenant")) == PG_ENOTFOUND);
    int32_t ctx[2] = {thread, tenant};
    CHECK(pg_profile_rewrite_attrs(b, p0, 1, drop_and_add, ctx) == 0);
    for (size_t i = 0; i < 4; i++) {
        pg_sample_at(&p0->msg, i, &r);
        CHECK(r.n_attrs == 1 && r.attrs[0] == tenant);
        pg_sample_at(&p1->msg, i, &r);
        CHECK(r.n_attrs == (i % 2 ? 1u : 0u) && (!r.n_attrs || r.attrs[0] == thread));
    }
    int32_t pa[1] = {thread};
    CHECK(pg_profile_set_attrs(b, p0, pa, 1) == 0 && p0->msg.n_attribute_indices == 1);
    int32_t bad = 100000;
    CHECK(pg_profile_set_attrs(b, p0, &bad, 1) == PG_EINVAL);
    /* an attribute interned from a value given by reference is stored inline */
    pg_otlp_any ref = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    ref.value_case = PG_ANY_STRINDEX;
    ref.string_value_strindex = fx_str(b, "main");
    CHECK(pg_dict_attr_kv(b, "thread", &ref) == thread);
    char err[256];
    CHECK(pg_batch_compact(b, NULL, err, sizeof err) == 0);
    CHECK(dc_valid(b));
    pg_batch_free(b);
}

static void test_clone_empty(void)
{
    pg_batch *b = pg_batch_new(0);
    pg_otlp_rprofiles *rp = NULL;
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, &rp);
    fx_profile(b, sp, "samples", "count", 1, 1);
    pg_otlp_any v = str_any("x");
    pg_resource_attr_set(b, rp, "k", &v);
    sp->scope = pg_otlp_scope_new(pg_batch_arena(b));
    sp->scope->name = "lib";
    pg_otlp_rprofiles *r2 = pg_resource_clone_empty(b, rp);
    CHECK(r2 && pg_batch_data(b)->n_resource_profiles == 2);
    CHECK(r2 && r2->n_scope_profiles == 0 && pg_resource_attr_find(b, r2, "k") == 0);
    pg_otlp_sprofiles *s2 = r2 ? pg_scope_clone_empty(b, r2, sp) : NULL;
    CHECK(s2 && s2->scope && !strcmp(s2->scope->name, "lib") && s2->n_profiles == 0);
    /* the copy is deep: changing it leaves the original alone */
    pg_otlp_any w = str_any("y");
    CHECK(r2 && pg_resource_attr_set(b, r2, "k", &w) == 0);
    CHECK_STR(pg_any_str(b, rp->resource->attributes[0]->value), "x");
    pg_batch_free(b);
}

int main(void)
{
    test_resource_attrs();
    test_sample_attrs();
    test_clone_empty();
    TEST_MAIN_END();
}
