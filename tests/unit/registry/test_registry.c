/* The registry with every component linked in (as tests and benchmarks see it): each line's
 * kind and type (a PG_NET_FACTORY line names them itself, for the executable to know them
 * without loading the network module) are its factory's, no (kind, type) is listed twice,
 * lookups find every line, and the config loader's type list names them all. */
#include "testlib.h"

#include "pipeline/registry/registry.h"

#include <string.h>

int main(void)
{
    pg_cfg_kind kind;
    const char *type;
    int in_module;
    size_t n = 0, modules = 0;
    for (size_t i = 0; pg_registry_name_at(i, &kind, &type, &in_module); i++, n++) {
        const pg_component_factory *f = pg_registry_at(i);
        CHECK_MSG(f != NULL, "line %zu has a factory", i);
        if (!f) continue;
        CHECK_MSG(f->kind == kind && strcmp(f->type, type) == 0,
                  "line %zu names %s %s, its factory is %s %s", i, pg_cfg_kind_name(kind), type,
                  pg_cfg_kind_name(f->kind), f->type);
        CHECK_MSG(pg_registry_lookup(kind, type) == f, "lookup of %s %s finds line %zu",
                  pg_cfg_kind_name(kind), type, i);
        modules += in_module != 0;
        const pg_cfg_registry *reg = pg_registry_for_config();
        int listed = 0;
        for (size_t k = 0; (type = reg->type_at(reg->ud, kind, k)); k++)
            listed += strcmp(type, f->type) == 0;
        CHECK_MSG(listed == 1, "%s %s listed once among its kind's types (%d)",
                  pg_cfg_kind_name(kind), f->type, listed);
    }
    CHECK(n > 0 && pg_registry_at(n) == NULL);
    CHECK(modules > 0 && modules < n);
    CHECK(pg_registry_lookup(PG_CFG_EXPORTER, "no-such-type") == NULL);
    TEST_MAIN_END();
}
