/* Config internals: ${env:...} expansion (set, unset, default, escape, errors), the YAML
 * node tree (positions, aliases, limits), merge positions, and the scalar parsers
 * (durations, sizes, endpoints, integers). argv[1] is the data dir (unused here). */
#include "pipeline/config/config_int.h"
#include "pipeline/core/err.h"
#include "testlib.h"

#include <stdlib.h>

/* Parses text as file `name` into *root (arena a); returns the parse status. */
static int parse(pg_arena *a, pg_cfg_diags *d, const char *name, const char *text,
                 pg_cfg_node **root)
{
    pg_cfg_diags_add_file(d, name);
    return pg_cfg_doc_parse(a, name, text, strlen(text), d, root);
}

/* Expands `value` (a YAML scalar) and returns the result (arena-owned), or NULL. */
static const char *expand(pg_arena *a, pg_cfg_diags *d, const char *value)
{
    char doc[512];
    snprintf(doc, sizeof doc, "k: %s\n", value);
    pg_cfg_node *root = NULL;
    if (parse(a, d, "env.yaml", doc, &root) || !root) return NULL;
    if (pg_cfg_env_expand(a, root, d)) return NULL;
    pg_cfg_pair *p = pg_cfg_map_find(root, "k");
    return p && !p->value->bad ? p->value->str : NULL;
}

static void test_env(void)
{
    pg_arena *a = pg_arena_new(0);
    pg_cfg_diags *d = pg_cfg_diags_new();
    setenv("PG_T_SET", "value", 1);
    setenv("PG_T_EMPTY", "", 1);
    unsetenv("PG_T_UNSET");
    const struct {
        const char *in, *out;
        size_t warnings;
    } cases[] = {
        {"${env:PG_T_SET}", "value", 0},
        {"\"pre-${env:PG_T_SET}-post\"", "pre-value-post", 0},
        {"${env:PG_T_UNSET}", "", 1},
        {"${env:PG_T_UNSET:-fallback}", "fallback", 0},
        {"${env:PG_T_UNSET:-}", "", 0},
        {"${env:PG_T_SET:-fallback}", "value", 0},
        {"${env:PG_T_EMPTY:-fallback}", "", 0}, /* as the Collector: only unset takes it */
        {"${PG_T_SET}", "value", 0},            /* legacy form */
        {"${PG_T_UNSET:-legacy}", "legacy", 0},
        {"$${env:PG_T_SET}", "${env:PG_T_SET}", 0},
        {"'a $$ b'", "a $ b", 0},
        {"cost$5", "cost$5", 0},
        {"x$", "x$", 0},
        {"${env:PG_T_SET}${env:PG_T_SET}", "valuevalue", 0},
        {"'${env:PG_T_UNSET:-a:b-c}'", "a:b-c", 0},
        {"plain", "plain", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        pg_cfg_diags_clear(d);
        const char *got = expand(a, d, cases[i].in);
        CHECK_MSG(got && !strcmp(got, cases[i].out), "%s -> %s (want %s)", cases[i].in,
                  got ? got : "(null)", cases[i].out);
        CHECK_MSG(pg_cfg_diags_count(d, PG_CFG_ERROR) == 0, "%s: errors", cases[i].in);
        CHECK_MSG(pg_cfg_diags_count(d, PG_CFG_WARNING) == cases[i].warnings, "%s: %zu warnings",
                  cases[i].in, pg_cfg_diags_count(d, PG_CFG_WARNING));
    }
    pg_cfg_diags_clear(d);
    CHECK(expand(a, d, "${env:PG_T_UNSET}") != NULL);
    const pg_cfg_diag *w = pg_cfg_diags_get(d, PG_CFG_WARNING, 0);
    CHECK(w && !strcmp(w->text, "env.yaml:1:4: warning: environment variable \"PG_T_UNSET\" is "
                                "not set; it expands to an empty string"));

    /* errors: unsupported provider, bad name, unterminated; the value is marked bad */
    const char *bad[][2] = {
        {"${http:x}", "env.yaml:1:4: unsupported config provider \"http\" in \"${http:x}\" (only "
                      "env is supported)"},
        {"${env:A-B}", "env.yaml:1:4: invalid environment variable name \"A-B\" in \"${env:A-B}\""},
        {"${}", "env.yaml:1:4: invalid environment variable name \"\" in \"${}\""},
        {"'${env:X'",
         "env.yaml:1:4: unterminated \"${\" in \"${env:X\" (write $$ for a literal $)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        pg_cfg_diags_clear(d);
        CHECK(expand(a, d, bad[i][0]) == NULL);
        const pg_cfg_diag *e = pg_cfg_diags_get(d, PG_CFG_ERROR, 0);
        CHECK_MSG(e && !strcmp(e->text, bad[i][1]), "%s: %s", bad[i][0], e ? e->text : "(none)");
    }

    /* keys are never expanded; list items are; a shared (aliased) scalar expands once */
    pg_cfg_diags_clear(d);
    pg_cfg_node *root = NULL;
    CHECK(parse(a, d, "k.yaml", "${env:PG_T_SET}: [&x '$$${env:PG_T_SET}', *x]\n", &root) == 0);
    CHECK(root && pg_cfg_env_expand(a, root, d) == 0);
    pg_cfg_pair *p = pg_cfg_map_find(root, "${env:PG_T_SET}");
    CHECK(p && p->value->n == 2);
    if (p && p->value->n == 2) {
        CHECK_STR(p->value->items[0]->str, "$value");
        CHECK(p->value->items[0] == p->value->items[1]);
    }
    unsetenv("PG_T_SET");
    unsetenv("PG_T_EMPTY");
    pg_cfg_diags_free(d);
    pg_arena_free(a);
}

static void test_doc(void)
{
    pg_arena *a = pg_arena_new(0);
    pg_cfg_diags *d = pg_cfg_diags_new();
    pg_cfg_node *root = NULL;
    const char *text = "a:\n  b: [1, \"two\", ~]\n  c: &m {x: 1}\n  d: *m\n  e:\n  f: ''\n";
    CHECK(parse(a, d, "t.yaml", text, &root) == 0 && root);
    pg_cfg_pair *pa = pg_cfg_map_find(root, "a");
    CHECK(pa && pa->key->pos.line == 1 && pa->key->pos.column == 1);
    pg_cfg_node *m = pa ? pa->value : NULL;
    CHECK(m && m->kind == PG_CFG_NODE_MAP && m->n == 5);
    pg_cfg_pair *pb = pg_cfg_map_find(m, "b");
    CHECK(pb && pb->value->kind == PG_CFG_NODE_SEQ && pb->value->n == 3);
    if (pb && pb->value->n == 3) {
        CHECK(pb->value->items[1]->pos.line == 2 && pb->value->items[1]->pos.column == 10);
        CHECK(pb->value->items[1]->quoted && !pb->value->items[1]->null);
        CHECK(pb->value->items[2]->null);
    }
    pg_cfg_pair *pc = pg_cfg_map_find(m, "c"), *pd = pg_cfg_map_find(m, "d");
    CHECK(pc && pd && pc->value == pd->value); /* an alias shares the anchored node */
    CHECK(pg_cfg_node_is_null(pg_cfg_map_find(m, "e")->value));
    CHECK(!pg_cfg_node_is_null(pg_cfg_map_find(m, "f")->value));
    CHECK(pg_cfg_diags_count(d, PG_CFG_ERROR) == 0);

    /* a second document; nesting too deep; NUL in a string; alias bombs */
    const char *errs[][2] = {
        {"a: 1\n---\nb: 2\n", "t.yaml:2:1: more than one YAML document in a file is not supported"},
        {"k: \"a\\0b\"\n", "t.yaml:1:4: NUL character in a string"},
        {"? [a]\n: 1\n", "t.yaml:1:3: mapping keys must be scalars"},
        {"k: \"\xff\"\n", "t.yaml:1:5: YAML syntax error: invalid leading UTF-8 octet"},
        {"a: 1\n\x01b: 2\n", "t.yaml:2:1: YAML syntax error: control characters are not allowed"},
        {"a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
         "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, "
         "*c, *c]\n"
         "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, "
         "*e, *e]\n",
         "t.yaml:6:44: document too large (more than 1000000 nodes after aliases)"},
    };
    for (size_t i = 0; i < sizeof errs / sizeof *errs; i++) {
        pg_cfg_diags_clear(d);
        parse(a, d, "t.yaml", errs[i][0], &root);
        const pg_cfg_diag *e = pg_cfg_diags_get(d, PG_CFG_ERROR, 0);
        CHECK_MSG(e && !strcmp(e->text, errs[i][1]), "case %zu: %s", i, e ? e->text : "(none)");
    }
    char deep[400] = "";
    for (int i = 0; i < 70; i++)
        strcat(deep, "[");
    pg_cfg_diags_clear(d);
    CHECK(parse(a, d, "t.yaml", deep, &root) == PG_EINVAL);
    CHECK(pg_cfg_diags_count(d, PG_CFG_ERROR) == 1 &&
          strstr(pg_cfg_diags_get(d, PG_CFG_ERROR, 0)->text, "nesting deeper than 64 levels"));

    /* merge: maps merge, lists replace, positions come from the file that gave the value */
    pg_cfg_node *x = NULL, *y = NULL;
    pg_cfg_diags_clear(d);
    CHECK(parse(a, d, "x.yaml", "m: {a: 1, l: [1, 2], s: {k: v}}\nkeep: 1\n", &x) == 0);
    CHECK(parse(a, d, "y.yaml", "m:\n  l: [3]\n  s: {k2: v2}\nnew: 2\n", &y) == 0);
    pg_cfg_node *mg = pg_cfg_merge(a, x, y);
    pg_cfg_node *mm = mg ? pg_cfg_map_find(mg, "m")->value : NULL;
    CHECK(mg && mg->n == 3 && !strcmp(mg->pairs[2].key->str, "new"));
    CHECK(mm && mm->n == 3);
    if (mm) {
        pg_cfg_node *l = pg_cfg_map_find(mm, "l")->value, *s = pg_cfg_map_find(mm, "s")->value;
        CHECK(l->n == 1 && !strcmp(l->pos.file, "y.yaml") && l->pos.line == 2);
        CHECK(s->n == 2 && !strcmp(pg_cfg_map_find(s, "k")->value->pos.file, "x.yaml"));
        CHECK(!strcmp(pg_cfg_map_find(s, "k2")->value->pos.file, "y.yaml"));
        CHECK(!strcmp(pg_cfg_map_find(mm, "a")->value->pos.file, "x.yaml"));
    }
    CHECK(pg_cfg_map_find(x, "new") == NULL); /* inputs untouched */
    pg_cfg_diags_free(d);
    pg_arena_free(a);
}

static void test_values(void)
{
    char err[256];
    const struct {
        const char *in;
        int64_t ns;
    } durs[] = {{"0", 0},
                {"10s", 10000000000LL},
                {"1m30s", 90000000000LL},
                {"250ms", 250000000},
                {"1h", 3600000000000LL},
                {"500us", 500000},
                {"500\xc2\xb5s", 500000},
                {"1.5s", 1500000000},
                {".5m", 30000000000LL},
                {"-2s", -2000000000LL},
                {"1h2m3s4ms5us6ns", 3723004005006LL},
                {"2562047h47m16.854775807s", INT64_MAX}};
    for (size_t i = 0; i < sizeof durs / sizeof *durs; i++) {
        int64_t v = -1;
        CHECK_MSG(pg_cfg_parse_duration(durs[i].in, &v, err, sizeof err) == 0 && v == durs[i].ns,
                  "%s -> %lld", durs[i].in, (long long)v);
    }
    const char *bad_durs[] = {"", "10", "s", "5x", "1.s.", "1 s", "-", "2562048h", "1e3s"};
    for (size_t i = 0; i < sizeof bad_durs / sizeof *bad_durs; i++) {
        int64_t v;
        CHECK_MSG(pg_cfg_parse_duration(bad_durs[i], &v, err, sizeof err) == PG_EINVAL, "%s",
                  bad_durs[i]);
    }

    const struct {
        const char *in;
        uint64_t b;
    } sizes[] = {{"100", 100},           {"0", 0},
                 {"512KiB", 512 * 1024}, {"4MiB", 4u << 20},
                 {"1GiB", 1u << 30},     {"10MB", 10000000},
                 {"4 mib", 4u << 20},    {"1.5KiB", 1536},
                 {"2kb", 2000},          {"7B", 7},
                 {"1TiB", 1ull << 40},   {"18446744073709551615", UINT64_MAX}};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        uint64_t v = 1;
        CHECK_MSG(pg_cfg_parse_size(sizes[i].in, &v, err, sizeof err) == 0 && v == sizes[i].b,
                  "%s -> %llu", sizes[i].in, (unsigned long long)v);
    }
    const char *bad_sizes[] = {"",   "-1",     "4M",          "MiB",
                               "1.", "4 MB/s", "20000000TiB", "18446744073709551616"};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof *bad_sizes; i++) {
        uint64_t v;
        CHECK_MSG(pg_cfg_parse_size(bad_sizes[i], &v, err, sizeof err) == PG_EINVAL, "%s",
                  bad_sizes[i]);
    }

    const struct {
        const char *in, *host;
        uint16_t port;
    } eps[] = {{"localhost:4317", "localhost", 4317},
               {"0.0.0.0:0", "0.0.0.0", 0},
               {":8888", "", 8888},
               {"[::1]:4318", "::1", 4318},
               {"[::]:65535", "::", 65535}};
    for (size_t i = 0; i < sizeof eps / sizeof *eps; i++) {
        char *host = NULL;
        uint16_t port = 1;
        CHECK_MSG(pg_cfg_parse_endpoint(eps[i].in, &host, &port, err, sizeof err) == 0 && host &&
                      !strcmp(host, eps[i].host) && port == eps[i].port,
                  "%s", eps[i].in);
        free(host);
    }
    const char *bad_eps[] = {"localhost", "::1:80", "[::1]80",     "[::1",   "host:",
                             "h:65536",   "h:-1",   "http://h:80", "a b:80", "[]:80"};
    for (size_t i = 0; i < sizeof bad_eps / sizeof *bad_eps; i++) {
        char *host = NULL;
        uint16_t port;
        CHECK_MSG(pg_cfg_parse_endpoint(bad_eps[i], &host, &port, err, sizeof err) == PG_EINVAL,
                  "%s", bad_eps[i]);
        CHECK(host == NULL);
    }

    int64_t iv;
    CHECK(pg_cfg_parse_int("-9223372036854775808", &iv, err, sizeof err) == 0 && iv == INT64_MIN);
    CHECK(pg_cfg_parse_int("9223372036854775808", &iv, err, sizeof err) == PG_EINVAL);
    CHECK(pg_cfg_parse_int("0x1F", &iv, err, sizeof err) == 0 && iv == 31);
    CHECK(pg_cfg_parse_int("0o17", &iv, err, sizeof err) == 0 && iv == 15);
    CHECK(pg_cfg_parse_int("1.0", &iv, err, sizeof err) == PG_EINVAL);
    CHECK(pg_cfg_parse_int("0x", &iv, err, sizeof err) == PG_EINVAL);
    double dv;
    CHECK(pg_cfg_parse_double("2e3", &dv, err, sizeof err) == 0 && dv == 2000);
    CHECK(pg_cfg_parse_double("-.5", &dv, err, sizeof err) == 0 && dv == -0.5);
    CHECK(pg_cfg_parse_double("nan", &dv, err, sizeof err) == PG_EINVAL);
    CHECK(pg_cfg_parse_double("1e999", &dv, err, sizeof err) == PG_EINVAL);
    CHECK(pg_cfg_parse_double("0x10", &dv, err, sizeof err) == PG_EINVAL);
    bool bv;
    CHECK(pg_cfg_parse_bool("True", &bv) == 0 && bv);
    CHECK(pg_cfg_parse_bool("FALSE", &bv) == 0 && !bv);
    CHECK(pg_cfg_parse_bool("yes", &bv) == PG_EINVAL);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    test_env();
    test_doc();
    test_values();
    TEST_MAIN_END();
}
