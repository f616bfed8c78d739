/* Dictionary compaction (pipeline/core/compact.h): exact tables and references after
 * removing what nothing reaches (strings, attributes, links, stacks, locations, functions,
 * mappings), zero elements kept at 0, string references in resource KeyValues and
 * attribute values re-indexed, interning working after it, shared sample columns kept
 * shared, and a compacted batch that renders, encodes and decodes as before. */
#include "edit_fixture.h"

#include "pipeline/core/compact.h"

static int32_t str_of(const pg_otlp_dict *d, const char *s)
{
    for (size_t i = 0; i < d->n_string_table; i++)
        if (strcmp(d->string_table[i], s) == 0) return (int32_t)i;
    return -1;
}

static int32_t function_of(pg_batch *b, const char *name)
{
    int32_t s = fx_str(b, name);
    return pg_dict_function(b, s, s, fx_str(b, "a.c"), 0);
}

static int32_t location_of(pg_batch *b, int32_t mapping, int32_t fn, uint64_t address)
{
    pg_otlp_line line = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINE__INIT, *lp = &line;
    line.function_index = fn;
    pg_otlp_location l = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LOCATION__INIT;
    l.mapping_index = mapping;
    l.address = address;
    l.lines = &lp;
    l.n_lines = 1;
    return pg_dict_location(b, &l);
}

static void test_exact_tables(void)
{
    pg_batch *b = pg_batch_new(0);
    pg_arena *a = pg_batch_arena(b);
    pg_otlp_rprofiles *rp = NULL;
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, &rp);
    pg_profile *p = pg_profile_add(b, sp, 2);
    p->msg.sample_type = fx_vt(b, "samples", "count"); /* strings 1, 2 */
    fx_str(b, "unused1");                              /* 3: removed */
    int32_t fn1 = function_of(b, "f1");                /* 4 f1, 5 a.c */
    int32_t fn2 = function_of(b, "f2");                /* 6: removed with fn2 */
    int32_t fn3 = function_of(b, "f3");                /* 7 */
    pg_otlp_mapping m = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__MAPPING__INIT;
    m.memory_limit = 0x1000;
    m.filename_strindex = fx_str(b, "lib1.so"); /* 8: removed with map1 */
    int32_t map1 = pg_dict_mapping(b, &m);
    int32_t attr_m = pg_dict_attr_str(b, "build", "x", 1); /* 9 build; attribute 1 */
    m.memory_limit = 0x2000;
    m.filename_strindex = fx_str(b, "lib2.so"); /* 10 */
    m.attribute_indices = &attr_m;
    m.n_attribute_indices = 1;
    int32_t map2 = pg_dict_mapping(b, &m);
    int32_t loc1 = location_of(b, map2, fn1, 0x10);
    int32_t loc2 = location_of(b, map1, fn2, 0x20); /* removed */
    int32_t loc3 = location_of(b, 0, fn3, 0x30);
    int32_t st1 = pg_dict_stack(b, &loc2, 1); /* removed */
    int32_t l13[2] = {loc1, loc3};
    int32_t st2 = pg_dict_stack(b, l13, 2), st3 = pg_dict_stack(b, &loc3, 1);
    int32_t attr_s = pg_dict_attr_str(b, "thread", "main", 4); /* 11; attribute 2 */
    int32_t attr_u = pg_dict_attr_str(b, "unused", "u", 1);    /* 12: removed, attribute 3 */
    int32_t attr_p = pg_dict_attr_int(b, "bytes", 5, "By");    /* 13, 14; attribute 4 */
    /* an attribute whose value is a string reference, and a resource KeyValue of two */
    pg_otlp_any ref = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
    ref.value_case = PG_ANY_STRINDEX;
    ref.string_value_strindex = fx_str(b, "refval");                /* 15 */
    int32_t attr_r = pg_dict_attr(b, fx_str(b, "refkey"), &ref, 0); /* 16; attribute 5 */
    rp->resource = pg_otlp_resource_new(a);
    pg_otlp_kv *kv = pg_otlp_kv_new(a);
    kv->key = (char *)"";
    kv->key_strindex = fx_str(b, "host"); /* 17 */
    kv->value = pg_otlp_any_new(a);
    kv->value->value_case = PG_ANY_STRINDEX;
    kv->value->string_value_strindex = fx_str(b, "box"); /* 18 */
    CHECK(pg_otlp_push(a, (void ***)&rp->resource->attributes, &rp->resource->n_attributes, kv) ==
          0);
    uint8_t t1[16] = {1}, s1[8] = {1}, t2[16] = {2}, s2[8] = {2};
    int32_t link1 = pg_dict_link(b, t1, 16, s1, 8), link2 = pg_dict_link(b, t2, 16, s2, 8);
    (void)st1;
    (void)attr_u;
    (void)link1;
    CHECK(pg_sample_set_stack(b, p, 0, st2) == 0 && pg_sample_set_stack(b, p, 1, st3) == 0);
    CHECK(pg_sample_set_attrs(b, p, 0, &attr_s, 1) == 0 &&
          pg_sample_set_attrs(b, p, 1, &attr_r, 1) == 0);
    CHECK(pg_sample_set_link(b, p, 0, link2) == 0);
    p->msg.attribute_indices = &attr_p;
    p->msg.n_attribute_indices = 1;
    const pg_otlp_dict *d = pg_batch_dict(b);
    CHECK(d->n_string_table == 19 && d->n_function_table == 4 && d->n_mapping_table == 3 &&
          d->n_location_table == 4 && pg_dict_stack_count(d) == 4 && d->n_attribute_table == 6 &&
          d->n_link_table == 3);

    pg_compact_stats cs;
    char err[128] = "";
    CHECK_MSG(pg_batch_compact(b, &cs, err, sizeof err) == 0, "%s", err);
    CHECK(cs.strings == 4 && cs.functions == 1 && cs.mappings == 1 && cs.locations == 1 &&
          cs.stacks == 1 && cs.attributes == 1 && cs.links == 1);
    static const char *const strings[] = {"",   "samples", "count",   "f1",     "a.c",
                                          "f3", "build",   "lib2.so", "thread", "bytes",
                                          "By", "refval",  "refkey",  "host",   "box"};
    CHECK(d->n_string_table == 15);
    for (size_t i = 0; i < 15 && i < d->n_string_table; i++)
        CHECK_STR(d->string_table[i], strings[i]);
    /* functions: 0, f1, f3 */
    CHECK(d->n_function_table == 3);
    CHECK(d->function_table[0]->name_strindex == 0 && d->function_table[0]->filename_strindex == 0);
    CHECK(d->function_table[1]->name_strindex == 3 &&
          d->function_table[1]->system_name_strindex == 3 &&
          d->function_table[1]->filename_strindex == 4);
    CHECK(d->function_table[2]->name_strindex == 5 && d->function_table[2]->filename_strindex == 4);
    /* mappings: 0, lib2.so with its attribute */
    CHECK(d->n_mapping_table == 2 && d->mapping_table[0]->memory_limit == 0);
    CHECK(d->mapping_table[1]->memory_limit == 0x2000 &&
          d->mapping_table[1]->filename_strindex == 7 &&
          d->mapping_table[1]->n_attribute_indices == 1 &&
          d->mapping_table[1]->attribute_indices[0] == 1);
    /* attributes: 0, build=x, thread=main, bytes=5 By, refkey=@refval */
    CHECK(d->n_attribute_table == 5 && d->attribute_table[0]->key_strindex == 0);
    CHECK(d->attribute_table[1]->key_strindex == 6 &&
          strcmp(d->attribute_table[1]->value->string_value, "x") == 0);
    CHECK(d->attribute_table[2]->key_strindex == 8);
    CHECK(d->attribute_table[3]->key_strindex == 9 && d->attribute_table[3]->unit_strindex == 10 &&
          d->attribute_table[3]->value->int_value == 5);
    CHECK(d->attribute_table[4]->key_strindex == 12 &&
          d->attribute_table[4]->value->value_case == PG_ANY_STRINDEX &&
          d->attribute_table[4]->value->string_value_strindex == 11);
    /* locations: 0, loc1 (lib2.so, f1), loc3 (no mapping, f3) */
    CHECK(d->n_location_table == 3 && d->location_table[0]->n_lines == 0);
    CHECK(d->location_table[1]->address == 0x10 && d->location_table[1]->mapping_index == 1 &&
          d->location_table[1]->lines[0]->function_index == 1);
    CHECK(d->location_table[2]->address == 0x30 && d->location_table[2]->mapping_index == 0 &&
          d->location_table[2]->lines[0]->function_index == 2);
    /* stacks: {}, [1, 2], [2] */
    CHECK(pg_dict_stack_count(d) == 3);
    pg_stack_ref r;
    pg_dict_stack_at(d, 0, &r);
    CHECK(r.n == 0);
    pg_dict_stack_at(d, 1, &r);
    CHECK(r.n == 2 && pg_stack_loc(&r, 0) == 1 && pg_stack_loc(&r, 1) == 2);
    pg_dict_stack_at(d, 2, &r);
    CHECK(r.n == 1 && pg_stack_loc(&r, 0) == 2);
    /* links: 0, link2 */
    CHECK(d->n_link_table == 2 && d->link_table[0]->trace_id.len == 0 &&
          d->link_table[1]->trace_id.data[0] == 2);
    /* the tree */
    CHECK(p->msg.sample_type->type_strindex == 1 && p->msg.sample_type->unit_strindex == 2);
    CHECK(p->msg.n_attribute_indices == 1 && p->msg.attribute_indices[0] == 3);
    CHECK(attr_p == 4); /* the caller's array was not written: a re-indexed copy was */
    CHECK(kv->key_strindex == 13 && kv->value->string_value_strindex == 14);
    pg_sample_ref s;
    pg_samples_at(&p->samples, 0, &s);
    CHECK(s.stack == 1 && s.n_attrs == 1 && s.attrs[0] == 2 && s.link == 1);
    pg_samples_at(&p->samples, 1, &s);
    CHECK(s.stack == 2 && s.n_attrs == 1 && s.attrs[0] == 4 && s.link == 0);
    /* interning goes on from the compacted tables */
    CHECK(fx_str(b, "f1") == 3 && fx_str(b, "f2") == 15 && d->n_string_table == 16);
    CHECK(pg_dict_stack(b, (int32_t[]){1, 2}, 2) == 1 && pg_dict_stack_count(d) == 3);
    CHECK(pg_dict_attr_str(b, "thread", "main", 4) == 2);
    CHECK(str_of(d, "unused1") < 0 && str_of(d, "lib1.so") < 0);
    /* a second pass finds nothing more to remove */
    CHECK(pg_batch_compact(b, &cs, err, sizeof err) == 0 && cs.strings == 1 && cs.stacks == 0 &&
          cs.functions == 0);
    pg_batch_free(b);
}

/* Nothing referenced: every table keeps exactly its zero element. */
static void test_zero_elements_kept(void)
{
    pg_batch *b = pg_batch_new(0);
    fx_stack(b, 1, 3);
    pg_dict_attr_str(b, "k", "v", 1);
    uint8_t t[16] = {3}, s[8] = {3};
    pg_dict_link(b, t, 16, s, 8);
    pg_otlp_mapping m = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__MAPPING__INIT;
    m.memory_limit = 1;
    pg_dict_mapping(b, &m);
    char err[128] = "";
    CHECK_MSG(pg_batch_compact(b, NULL, err, sizeof err) == 0, "%s", err);
    const pg_otlp_dict *d = pg_batch_dict(b);
    CHECK(d->n_string_table == 1 && d->string_table[0][0] == 0);
    CHECK(d->n_function_table == 1 && d->n_mapping_table == 1 && d->n_location_table == 1 &&
          d->n_attribute_table == 1 && d->n_link_table == 1 && pg_dict_stack_count(d) == 1);
    CHECK(d->mapping_table[0]->memory_limit == 0 && d->location_table[0]->n_lines == 0);
    /* a shared batch is refused */
    pg_batch_retain(b);
    CHECK(pg_batch_compact(b, NULL, err, sizeof err) == PG_EINVAL);
    pg_batch_free(b);
    pg_batch_free(b);
}

/* A pprof's two profiles after edits on both: compaction removes the replaced stack and
 * attribute, keeps their columns shared, and the batch renders and encodes as before. */
static void test_compacted_roundtrips(void)
{
    pg_batch *b = fx_pprof_batch(4);
    int32_t st = fx_stack(b, 900, 2);
    pg_profile_iter it;
    for (pg_profile_iter_init(&it, b); pg_profile_iter_next(&it);) {
        CHECK(pg_sample_set_stack(b, it.profile, 0, st) == 0);
        CHECK(pg_sample_set_attrs(b, it.profile, 1, NULL, 0) == 0);
        CHECK(pg_sample_set_attrs(b, it.profile, 3, NULL, 0) == 0); /* thread=main unused now */
    }
    pg_profile *p0 = fx_nth(b, 0), *p1 = fx_nth(b, 1);
    CHECK(p0->samples.stack != p1->samples.stack); /* each edited its own copy */
    const pg_otlp_dict *d = pg_batch_dict(b);
    size_t stacks = pg_dict_stack_count(d), locs = d->n_location_table, fns = d->n_function_table;
    char *before = pg_test_dump(b);
    pg_compact_stats cs;
    char err[128] = "";
    CHECK_MSG(pg_batch_compact(b, &cs, err, sizeof err) == 0, "%s", err);
    CHECK(cs.stacks == 1 && cs.locations == 2 && cs.functions == 2 && cs.attributes == 1);
    CHECK(pg_dict_stack_count(d) == stacks - 1 && d->n_location_table == locs - 2 &&
          d->n_function_table == fns - 2);
    CHECK(str_of(d, "f0") < 0 && str_of(d, "f900") > 0 && str_of(d, "thread") < 0);
    char *after = pg_test_dump(b);
    CHECK_MSG(strcmp(before, after) == 0, "compaction changed the batch:\n%s\n---\n%s", before,
              after);
    free(before);
    free(after);
    /* re-indexed identity columns are read-only again (they may be shared) */
    CHECK((p0->samples.owned & (PG_COL_STACK | PG_COL_LINK | PG_COL_ATTRS)) == 0);
    /* columns shared before compaction stay shared after it */
    pg_batch *fresh = fx_pprof_batch(3);
    fx_stack(fresh, 4000, 1); /* an unused stack to remove */
    CHECK(pg_batch_compact(fresh, &cs, err, sizeof err) == 0 && cs.stacks == 1);
    CHECK(fx_nth(fresh, 0)->samples.stack == fx_nth(fresh, 1)->samples.stack);
    CHECK(fx_nth(fresh, 0)->samples.attrs == fx_nth(fresh, 1)->samples.attrs);
    pg_batch_free(fresh);
    pg_batch *o = fx_through_otlp(b), *pp = fx_through_pprof(b);
    CHECK(fx_same(b, o, "compacted batch through OTLP"));
    CHECK(fx_same(b, pp, "compacted batch through pprof"));
    pg_batch_free(o);
    pg_batch_free(pp);
    pg_batch_free(b);
}

int main(void)
{
    test_exact_tables();
    test_zero_elements_kept();
    test_compacted_roundtrips();
    TEST_MAIN_END();
}
