/* Config types SECTION_LIST (a list of mappings, one struct per item, defaults per item)
 * and REGEX (a pattern checked at load): good values decode, and every bad item, unknown
 * key and bad pattern is reported at its file:line:column. */
#include "pipeline/config/config.h"
#include "pipeline/core/err.h"
#include "pipeline/core/regex.h"
#include "testlib.h"

#include <stddef.h>
#include <stdlib.h>

typedef struct {
    char *key;
    int action;
    char *pattern;
    int64_t weight;
} rule;

typedef struct {
    pg_cfg_seclist rules;
    char *match;
} rules_proc;

static const char *const ACTIONS[] = {"insert", "delete", NULL};
static const pg_cfg_field RULE[] = {
    {.key = "key", .type = PG_CFG_STRING, .offset = offsetof(rule, key), .required = true},
    {.key = "action",
     .type = PG_CFG_ENUM,
     .offset = offsetof(rule, action),
     .def = "insert",
     .enum_values = ACTIONS},
    {.key = "pattern", .type = PG_CFG_REGEX, .offset = offsetof(rule, pattern)},
    {.key = "weight", .type = PG_CFG_INT, .offset = offsetof(rule, weight), .def = "7"},
    {.offset = sizeof(rule)},
};
static const pg_cfg_field PROC[] = {
    {.key = "rules",
     .type = PG_CFG_SECTION_LIST,
     .offset = offsetof(rules_proc, rules),
     .section = RULE},
    {.key = "match", .type = PG_CFG_REGEX, .offset = offsetof(rules_proc, match), .def = "^a.*"},
    {0},
};

static const pg_cfg_component_desc DESC = {.table = PROC, .size = sizeof(rules_proc)};
static const pg_cfg_field NONE[] = {{0}};
static const pg_cfg_component_desc PLAIN = {.table = NONE, .size = 1};

/* A registry of three: receiver r, processor rules, exporter e. */
static const pg_cfg_component_desc *lookup(void *ud, pg_cfg_kind kind, const char *type)
{
    (void)ud;
    if (kind == PG_CFG_PROCESSOR && !strcmp(type, "rules")) return &DESC;
    if (kind == PG_CFG_RECEIVER && !strcmp(type, "r")) return &PLAIN;
    if (kind == PG_CFG_EXPORTER && !strcmp(type, "e")) return &PLAIN;
    return NULL;
}

static const pg_cfg_registry REG = {lookup, NULL, NULL};

/* Loads text (plus a pipeline using processor rules after it); returns the config (or
 * NULL) and leaves the diagnostics in d. */
static pg_config *load(const char *text, pg_cfg_diags *d)
{
    char full[2048];
    snprintf(full, sizeof full,
             "%sreceivers:\n  r:\nexporters:\n  e:\nservice:\n  pipelines:\n    profiles:\n"
             "      receivers: [r]\n      processors: [rules]\n      exporters: [e]\n",
             text);
    pg_cfg_source src = {"t.yaml", full, strlen(full)};
    pg_config *cfg = NULL;
    pg_config_load(&src, 1, &REG, &cfg, d);
    return cfg;
}

static void test_good(void)
{
    char err[256];
    CHECK(pg_cfg_table_check(PROC, err, sizeof err) == 0);
    const char *y = "processors:\n"
                    "  rules:\n"
                    "    rules:\n"
                    "      - key: a\n"
                    "      - {key: b, action: delete, pattern: '^(?P<x>[0-9]+)-(?<y>\\d+)$', "
                    "weight: 2}\n"
                    "    match: 'b+'\n";
    pg_cfg_diags *d = pg_cfg_diags_new();
    pg_config *cfg = load(y, d);
    pg_cfg_diags_write(d, PG_CFG_ERROR, stderr);
    CHECK(cfg != NULL);
    const pg_cfg_component *c = cfg ? pg_config_find(cfg, PG_CFG_PROCESSOR, "rules") : NULL;
    const rules_proc *p = c ? c->cfg : NULL;
    CHECK(p && p->rules.n == 2);
    if (p && p->rules.n == 2) {
        const rule *r = p->rules.items;
        CHECK_STR(r[0].key, "a");
        CHECK(r[0].action == 0 && r[0].weight == 7 && r[0].pattern == NULL);
        CHECK_STR(r[1].key, "b");
        CHECK(r[1].action == 1 && r[1].weight == 2);
        CHECK_STR(r[1].pattern, "^(?P<x>[0-9]+)-(?<y>\\d+)$");
        CHECK_STR(p->match, "b+");
    }
    pg_config_free(cfg);
    pg_cfg_diags_free(d);
    /* an absent list decodes empty; the REGEX default applies */
    d = pg_cfg_diags_new();
    cfg = load("processors:\n  rules:\n", d);
    c = cfg ? pg_config_find(cfg, PG_CFG_PROCESSOR, "rules") : NULL;
    p = c ? c->cfg : NULL;
    CHECK(p && p->rules.n == 0 && p->match && !strcmp(p->match, "^a.*"));
    pg_config_free(cfg);
    pg_cfg_diags_free(d);
}

/* Returns 1 when some error text of d contains needle. */
static int has_error(pg_cfg_diags *d, const char *needle)
{
    for (size_t i = 0; i < pg_cfg_diags_count(d, PG_CFG_ERROR); i++)
        if (strstr(pg_cfg_diags_get(d, PG_CFG_ERROR, i)->text, needle)) return 1;
    return 0;
}

static void test_bad(void)
{
    const char *y = "processors:\n"
                    "  rules:\n"
                    "    rules:\n"
                    "      - key: a\n"
                    "        pattern: '(unclosed'\n"
                    "      - action: delete\n"
                    "      - {key: c, colour: red}\n"
                    "      - just-a-string\n"
                    "    match: '(?i)x'\n";
    pg_cfg_diags *d = pg_cfg_diags_new();
    pg_config *cfg = load(y, d);
    CHECK(cfg == NULL);
    CHECK_MSG(has_error(d, "t.yaml:5:18: processor rules: rules[0].pattern: invalid regex"),
              "bad pattern position");
    CHECK_MSG(has_error(d, "t.yaml:6:9: processor rules: rules[1].key: missing required key"),
              "missing key");
    CHECK_MSG(has_error(d, "t.yaml:7:18: processor rules: rules[2]: unknown key \"colour\""),
              "unknown key");
    CHECK_MSG(has_error(d, "t.yaml:8:9: processor rules: rules[3]: expected a mapping"),
              "scalar item");
    CHECK_MSG(has_error(d, "t.yaml:9:12: processor rules: match: invalid regex"), "match");
    if (pg_test_failed) pg_cfg_diags_write(d, PG_CFG_ERROR, stderr);
    pg_config_free(cfg);
    pg_cfg_diags_free(d);
    d = pg_cfg_diags_new();
    cfg = load("processors:\n  rules:\n    rules: {key: a}\n", d);
    CHECK(cfg == NULL && has_error(d, "t.yaml:3:12: processor rules: rules: expected a list of "
                                      "mappings"));
    pg_config_free(cfg);
    pg_cfg_diags_free(d);
}

static void test_regex(void)
{
    char err[256];
    pg_regex *re = NULL;
    CHECK(pg_regex_compile("^(?P<svc>[a-z]+)-(?:v)(?<ver>\\d+)$", &re, err, sizeof err) == 0);
    if (re) {
        CHECK(pg_regex_named_count(re) == 2);
        CHECK_STR(pg_regex_named_name(re, 0), "svc");
        CHECK_STR(pg_regex_named_name(re, 1), "ver");
        long st[2];
        size_t ln[2];
        CHECK(pg_regex_named_match(re, "cart-v42", st, ln) == 1);
        CHECK(st[0] == 0 && ln[0] == 4 && st[1] == 6 && ln[1] == 2);
        CHECK(pg_regex_match(re, "cart-vx") == 0);
        pg_regex_free(re);
    }
    CHECK(pg_regex_compile("[]a]+[[:digit:]]", &re, err, sizeof err) == 0);
    if (re) {
        CHECK(pg_regex_match(re, "x]a]7") == 1 && pg_regex_match(re, "b7") == 0);
        pg_regex_free(re);
    }
    CHECK(pg_regex_compile("^(?P<cloud.region>[a-z]+-[0-9])", &re, err, sizeof err) == 0);
    if (re) {
        CHECK_STR(pg_regex_named_name(re, 0), "cloud.region");
        pg_regex_free(re);
    }
    CHECK(pg_regex_compile("(?=x)", &re, err, sizeof err) == PG_EINVAL && re == NULL);
    CHECK(strstr(err, "unsupported group syntax") != NULL);
    CHECK(pg_regex_compile("a\\", &re, err, sizeof err) == PG_EINVAL);
    CHECK(pg_regex_compile("[a", &re, err, sizeof err) == PG_EINVAL);
    CHECK(pg_regex_compile("(?P<>a)", &re, err, sizeof err) == PG_EINVAL);
}

int main(void)
{
    test_good();
    test_bad();
    test_regex();
    TEST_MAIN_END();
}
