/* COMPONENT fields: an exporter whose `protocol` holds another exporter's config, decoded
 * with that exporter's own table and validate (defaults, bounds, required keys, errors at
 * file:line:column under the nested path); and pg_cfg_copy keeping a deep copy. */
#include "pipeline/config/config.h"
#include "pipeline/core/arena.h"
#include "pipeline/core/err.h"
#include "testlib.h"

#include <stddef.h>
#include <stdlib.h>

typedef struct {
    pg_cfg_endpoint endpoint;
    char *dir;
    int64_t n;
    pg_cfg_strlist tags;
    struct {
        char *path;
    } sub;
} inner_cfg;

static const pg_cfg_field INNER_SUB[] = {
    {.key = "path", .type = PG_CFG_STRING, .offset = 0, .def = "p-%s"},
    {0},
};

static const pg_cfg_field INNER[] = {
    {.key = "endpoint", .type = PG_CFG_ENDPOINT, .offset = offsetof(inner_cfg, endpoint)},
    {.key = "dir", .type = PG_CFG_STRING, .offset = offsetof(inner_cfg, dir), .required = true},
    {.key = "n",
     .type = PG_CFG_INT,
     .offset = offsetof(inner_cfg, n),
     .def = "3",
     .min = "1",
     .max = "10"},
    {.key = "tags", .type = PG_CFG_STRING_LIST, .offset = offsetof(inner_cfg, tags)},
    {.key = "sub",
     .type = PG_CFG_SECTION,
     .offset = offsetof(inner_cfg, sub),
     .section = INNER_SUB},
    {0},
};

/* Refuses dir "bad". */
static int inner_validate(const void *vcfg, char *err, size_t errlen)
{
    const inner_cfg *c = vcfg;
    if (c->dir && !strcmp(c->dir, "bad")) return pg_err(err, errlen, PG_EINVAL, "dir: is bad");
    return 0;
}

/* An exporter whose endpoint is required, and checked by its validate. */
static const pg_cfg_field NEEDY[] = {
    {.key = "endpoint", .type = PG_CFG_ENDPOINT, .offset = 0, .required = true},
    {0},
};

static int needy_validate(const void *vcfg, char *err, size_t errlen)
{
    const pg_cfg_endpoint *ep = vcfg;
    if (!ep->text || !ep->port) return pg_err(err, errlen, PG_EINVAL, "endpoint: must be set");
    return 0;
}

typedef struct {
    char *name;
    pg_cfg_component_ref protocol;
    pg_cfg_component_ref per_backend; /* its endpoint is set by its owner */
} outer_cfg;

static const char *const OWNER_SETS[] = {"endpoint", NULL};

static const pg_cfg_field OUTER[] = {
    {.key = "name", .type = PG_CFG_STRING, .offset = offsetof(outer_cfg, name)},
    {.key = "protocol",
     .type = PG_CFG_COMPONENT,
     .offset = offsetof(outer_cfg, protocol),
     .required = true},
    {.key = "per_backend",
     .type = PG_CFG_COMPONENT,
     .offset = offsetof(outer_cfg, per_backend),
     .enum_values = OWNER_SETS},
    {0},
};

static const pg_cfg_component_desc INNER_DESC = {
    .table = INNER, .size = sizeof(inner_cfg), .validate = inner_validate};
static const pg_cfg_component_desc OUTER_DESC = {.table = OUTER, .size = sizeof(outer_cfg)};
static const pg_cfg_component_desc RCV_DESC = {.table = INNER, .size = sizeof(inner_cfg)};
static const pg_cfg_component_desc NEEDY_DESC = {
    .table = NEEDY, .size = sizeof(pg_cfg_endpoint), .validate = needy_validate};

static const pg_cfg_component_desc *lookup(void *ud, pg_cfg_kind kind, const char *type)
{
    (void)ud;
    if (kind == PG_CFG_EXPORTER && !strcmp(type, "inner")) return &INNER_DESC;
    if (kind == PG_CFG_EXPORTER && !strcmp(type, "outer")) return &OUTER_DESC;
    if (kind == PG_CFG_EXPORTER && !strcmp(type, "needy")) return &NEEDY_DESC;
    if (kind == PG_CFG_RECEIVER && !strcmp(type, "rcv")) return &RCV_DESC;
    return NULL;
}

static const char *type_at(void *ud, pg_cfg_kind kind, size_t i)
{
    (void)ud;
    static const char *const exp[] = {"inner", "outer", "needy", NULL};
    if (kind == PG_CFG_RECEIVER) return i == 0 ? "rcv" : NULL;
    if (kind == PG_CFG_EXPORTER) return i < 3 ? exp[i] : NULL;
    return NULL;
}

static const pg_cfg_registry REG = {lookup, type_at, NULL};

#define HEAD "receivers:\n  rcv: {dir: x}\nexporters:\n"
#define TAIL "service:\n  pipelines:\n    profiles: {receivers: [rcv], exporters: [outer]}\n"

/* Loads text; returns the config (or NULL) and every error joined by newlines in got. */
static pg_config *load(const char *text, char *got, size_t len)
{
    pg_cfg_source src = {"c.yaml", text, strlen(text)};
    pg_cfg_diags *d = pg_cfg_diags_new();
    pg_config *cfg = NULL;
    pg_config_load(&src, 1, &REG, &cfg, d);
    got[0] = 0;
    for (size_t i = 0; i < pg_cfg_diags_count(d, PG_CFG_ERROR); i++) {
        size_t used = strlen(got);
        snprintf(got + used, len - used, "%s%s", i ? "\n" : "",
                 pg_cfg_diags_get(d, PG_CFG_ERROR, i)->text);
    }
    pg_cfg_diags_free(d);
    return cfg;
}

/* Replaces "%s" with "B1" (test substitution). */
static char *subst(void *ud, pg_arena *a, const char *s)
{
    (void)ud;
    const char *p = strstr(s, "%s");
    if (!p) return (char *)s;
    char buf[256];
    snprintf(buf, sizeof buf, "%.*sB1%s", (int)(p - s), s, p + 2);
    return pg_arena_strndup(a, buf, strlen(buf));
}

static void test_good(void)
{
    char got[4096];
    pg_config *cfg =
        load(HEAD "  outer:\n    name: o\n    protocol:\n      inner:\n        endpoint: h:4317\n"
                  "        dir: /d/%s\n        tags: [a, b]\n" TAIL,
             got, sizeof got);
    CHECK_MSG(cfg != NULL, "%s", got);
    if (!cfg) return;
    const pg_cfg_component *c = pg_config_find(cfg, PG_CFG_EXPORTER, "outer");
    const outer_cfg *o = c->cfg;
    CHECK_STR(o->protocol.type, "inner");
    CHECK(o->protocol.desc == &INNER_DESC);
    CHECK(o->protocol.pos.line == 7 && o->protocol.pos.column == 7);
    const inner_cfg *in = o->protocol.cfg;
    CHECK(in->n == 3);               /* default */
    CHECK_STR(in->sub.path, "p-%s"); /* default of a nested section */
    CHECK(in->endpoint.port == 4317);
    CHECK_STR(in->endpoint.host, "h");
    CHECK(in->tags.n == 2);

    /* a deep copy outlives the config; strings go through the rewrite */
    pg_arena *a = pg_arena_new(0);
    outer_cfg *copy = pg_cfg_copy(a, OUTER, sizeof(outer_cfg), o, subst, NULL);
    pg_config_free(cfg);
    CHECK(copy != NULL);
    if (copy) {
        const inner_cfg *ic = copy->protocol.cfg;
        CHECK_STR(copy->name, "o");
        CHECK_STR(copy->protocol.type, "inner");
        CHECK_STR(ic->dir, "/d/B1");
        CHECK_STR(ic->sub.path, "p-B1");
        CHECK_STR(ic->endpoint.text, "h:4317");
        CHECK_STR(ic->tags.items[1], "b");
        CHECK(ic->n == 3);
        CHECK(pg_cfg_field_find(INNER, "endpoint") == &INNER[0]);
        CHECK(pg_cfg_field_find(INNER, "nope") == NULL);
    }
    pg_arena_free(a);
}

static void test_errors(void)
{
    static const char text[] = HEAD "  outer:\n"
                                    "    protocol:\n"
                                    "      innr: {dir: x}\n"
                                    "  outer/2:\n"
                                    "    protocol: {inner: {n: 11, dir: y, bogus: 1}}\n"
                                    "  outer/3:\n"
                                    "    protocol: {inner: {n: 2}}\n"
                                    "  outer/4:\n"
                                    "    protocol: {inner: {dir: bad}}\n"
                                    "  outer/5:\n"
                                    "    protocol: {inner: {dir: a}, outer: {}}\n"
                                    "  outer/6:\n"
                                    "    protocol: [inner]\n"
                                    "  outer/7:\n"
                                    "    protocol: {rcv: {dir: a}}\n" TAIL;
    static const char want[] =
        "c.yaml:6:7: exporter outer: protocol: unknown exporter type \"innr\" (did you mean "
        "\"inner\"?); known: inner, outer, needy\n"
        "c.yaml:8:27: exporter outer/2: protocol.inner.n: \"11\" is out of range: must be "
        "between 1 and 10\n"
        "c.yaml:8:39: exporter outer/2: protocol.inner: unknown key \"bogus\"; valid keys: "
        "endpoint, dir, n, tags, sub\n"
        "c.yaml:10:16: exporter outer/3: protocol.inner.dir: missing required key\n"
        "c.yaml:12:16: exporter outer/4: protocol.inner: dir: is bad\n"
        "c.yaml:14:15: exporter outer/5: protocol: expected exactly one component type (such "
        "as `otlp: {...}`), got 2\n"
        "c.yaml:16:15: exporter outer/6: protocol: expected a mapping of one component type to "
        "its settings, got a list\n"
        "c.yaml:18:16: exporter outer/7: protocol: unknown exporter type \"rcv\"; known: inner, "
        "outer, needy";
    char got[8192];
    pg_config *cfg = load(text, got, sizeof got);
    CHECK(cfg == NULL);
    CHECK_MSG(!strcmp(got, want), "\n--- want\n%s\n--- got\n%s", want, got);
    pg_config_free(cfg);

    /* required COMPONENT key missing */
    cfg = load(HEAD "  outer: {name: x}\n" TAIL, got, sizeof got);
    CHECK(cfg == NULL);
    CHECK_MSG(strstr(got, "c.yaml:4:3: exporter outer: protocol: missing required key") != NULL,
              "%s", got);
    pg_config_free(cfg);
}

/* Keys the owner sets: not required, and the nested validate passes without them; the
 * same exporter under a field without owner keys still needs its endpoint. */
static void test_owner_keys(void)
{
    char got[4096];
    pg_config *cfg = load(HEAD "  outer:\n    protocol: {inner: {dir: x}}\n"
                               "    per_backend: {needy: {}}\n" TAIL,
                          got, sizeof got);
    CHECK_MSG(cfg != NULL, "%s", got);
    if (cfg) {
        const outer_cfg *o = pg_config_find(cfg, PG_CFG_EXPORTER, "outer")->cfg;
        const pg_cfg_endpoint *ep = o->per_backend.cfg;
        CHECK(ep && ep->text == NULL); /* the placeholder was only for validate */
    }
    pg_config_free(cfg);
    cfg = load(HEAD "  outer:\n    protocol: {needy: {}}\n" TAIL, got, sizeof got);
    CHECK(cfg == NULL);
    CHECK_MSG(strstr(got, "protocol.needy.endpoint: missing required key") != NULL, "%s", got);
    pg_config_free(cfg);
}

/* pg_cfg_copy through SECTION_LIST items (strings rewritten) and REGEX (kept as written). */
typedef struct {
    char *k;
} item_t;
typedef struct {
    pg_cfg_seclist list;
    char *re;
} list_cfg;
static const pg_cfg_field ITEM[] = {
    {.key = "k", .type = PG_CFG_STRING, .offset = offsetof(item_t, k)},
    {.offset = sizeof(item_t)},
};
static const pg_cfg_field LIST[] = {
    {.key = "list",
     .type = PG_CFG_SECTION_LIST,
     .offset = offsetof(list_cfg, list),
     .section = ITEM},
    {.key = "re", .type = PG_CFG_REGEX, .offset = offsetof(list_cfg, re)},
    {0},
};

static void test_copy_lists(void)
{
    char a0[] = "a-%s", a1[] = "b", re[] = "x%s";
    item_t items[2] = {{a0}, {a1}};
    list_cfg src = {{items, 2}, re};
    pg_arena *a = pg_arena_new(0);
    list_cfg *c = pg_cfg_copy(a, LIST, sizeof src, &src, subst, NULL);
    CHECK(c != NULL);
    if (c) {
        item_t *it = c->list.items;
        CHECK(c->list.n == 2 && it != items);
        CHECK_STR(it[0].k, "a-B1");
        CHECK_STR(it[1].k, "b");
        CHECK(it[1].k != a1);
        CHECK_STR(c->re, "x%s");
        CHECK(c->re != re);
    }
    pg_arena_free(a);
}

static void test_table_check(void)
{
    char err[256];
    CHECK(pg_cfg_table_check(OUTER, err, sizeof err) == 0);
    static const pg_cfg_field BAD[] = {
        {.key = "p", .type = PG_CFG_COMPONENT, .offset = 0, .def = "{x: {}}"},
        {0},
    };
    CHECK(pg_cfg_table_check(BAD, err, sizeof err) == PG_EINVAL);
    CHECK(strstr(err, "COMPONENT") != NULL);
}

int main(void)
{
    test_good();
    test_errors();
    test_owner_keys();
    test_copy_lists();
    test_table_check();
    TEST_MAIN_END();
}
