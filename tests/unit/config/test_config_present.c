/* Config tables: PRESENT fields tell an optional section given in the YAML (`a:`, `a: {}`
 * or with keys) from an absent one, are never matched by a YAML key, and are not listed
 * among the valid keys. */
#include "pipeline/config/config.h"
#include "pipeline/core/err.h"
#include "testlib.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct opt {
    bool present;
    int64_t n;
    pg_cfg_endpoint ep;
} opt;

typedef struct two {
    opt a, b;
} two;

static const pg_cfg_field OPT[] = {
    PG_CFG_PRESENT_FIELD(opt, present),
    {.key = "n", .type = PG_CFG_INT, .offset = offsetof(opt, n), .def = "5"},
    {.key = "ep", .type = PG_CFG_ENDPOINT, .offset = offsetof(opt, ep), .def = "localhost:4999"},
    {0},
};

static const pg_cfg_field TWO[] = {
    {.key = "a", .type = PG_CFG_SECTION, .offset = offsetof(two, a), .section = OPT},
    {.key = "b", .type = PG_CFG_SECTION, .offset = offsetof(two, b), .section = OPT},
    {0},
};

static const pg_cfg_component_desc DESC = {.table = TWO, .size = sizeof(two)};

static const pg_cfg_component_desc *lookup(void *ud, pg_cfg_kind kind, const char *type)
{
    (void)ud;
    (void)kind;
    return !strcmp(type, "two") ? &DESC : NULL;
}

static const pg_cfg_registry REG = {lookup, NULL, NULL};

/* Loads receivers: two: <body> and two/y: <body2> (with a pipeline); returns the decoded
 * struct of `two` in *out and the load status; the first error message in msg. */
static int load2(const char *body, const char *body2, two *out, char *msg, size_t msglen)
{
    char text[1024];
    snprintf(text, sizeof text,
             "receivers:\n  two:%s\n  two/y:%s\nexporters:\n  two:\nservice:\n  pipelines:\n"
             "    profiles:\n      receivers: [two, two/y]\n      exporters: [two]\n",
             body, body2);
    pg_cfg_source src = {"test.yaml", text, strlen(text)};
    pg_cfg_diags *d = pg_cfg_diags_new();
    pg_config *cfg = NULL;
    int rc = pg_config_load(&src, 1, &REG, &cfg, d);
    msg[0] = 0;
    const pg_cfg_diag *e = pg_cfg_diags_get(d, PG_CFG_ERROR, 0);
    if (e) snprintf(msg, msglen, "%s", e->text);
    if (rc == 0) {
        const pg_cfg_component *c = pg_config_find(cfg, PG_CFG_RECEIVER, "two");
        memcpy(out, c->cfg, sizeof *out);
    }
    pg_config_free(cfg);
    pg_cfg_diags_free(d);
    return rc;
}

static int load(const char *body, two *out, char *msg, size_t msglen)
{
    return load2(body, "", out, msg, msglen);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    char err[256];
    CHECK_MSG(pg_cfg_table_check(TWO, err, sizeof err) == 0, "%s", err);
    two t;
    CHECK(load("", &t, err, sizeof err) == 0);
    CHECK(!t.a.present && !t.b.present && t.a.n == 5);
    CHECK(load("\n    a:", &t, err, sizeof err) == 0);
    CHECK(t.a.present && !t.b.present && t.a.n == 5);
    CHECK(load("\n    b: {}", &t, err, sizeof err) == 0);
    CHECK(!t.a.present && t.b.present);
    CHECK(load("\n    a: {n: 7}\n    b: {n: 8, ep: \":5001\"}", &t, err, sizeof err) == 0);
    CHECK(t.a.present && t.b.present && t.a.n == 7 && t.b.n == 8);
    /* the marker is not a key a file can set, and is not offered as one */
    CHECK(load("\n    a: {\"<present>\": true}", &t, err, sizeof err) == PG_EINVAL);
    CHECK_MSG(strstr(err, "unknown key \"<present>\"") && !strstr(err, "valid keys: <present>"),
              "%s", err);
    CHECK(load("\n    a: {m: 1}", &t, err, sizeof err) == PG_EINVAL);
    CHECK_MSG(strstr(err, "did you mean \"n\"") || strstr(err, "valid keys: n"), "%s", err);
    /* default endpoints of absent optional sections are not listening addresses */
    CHECK(load2("\n    a:", "\n    b: {ep: \"127.0.0.1:5000\"}", &t, err, sizeof err) == 0);
    CHECK(load2("\n    a:", "\n    b:", &t, err, sizeof err) == PG_EINVAL);
    CHECK_MSG(strstr(err, "uses port 4999") && strstr(err, "(default)"), "%s", err);
    CHECK(load2("\n    a: {ep: \":4999\"}", "\n    a: {ep: \":5000\"}", &t, err, sizeof err) == 0);
    static const pg_cfg_field bad[] = {
        {.key = "<present>", .type = PG_CFG_PRESENT, .offset = 0, .def = "true"}, {0}};
    CHECK(pg_cfg_table_check(bad, err, sizeof err) == PG_EINVAL);
    TEST_MAIN_END();
}
