/* pg_batch_split: profiles go to their group's part in order, under copies of their
 * resources and scopes; each part keeps only the dictionary entries its profiles use and
 * carries the source's metadata and acknowledgement; empty groups give NULL; a group out of
 * range is refused with nothing left behind. */
#include "pipeline/core/ack.h"
#include "pipeline/core/dict.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/core/split.h"
#include "testlib.h"

#include <stdio.h>
#include <string.h>

/* n resources "r<i>", one profile each whose sample has stack <i+1> of location i+1 and
 * the value i; the function name of that location is "f<i>". */
static pg_batch *make(int n)
{
    pg_batch *b = pg_batch_new(0);
    pg_arena *a = pg_batch_arena(b);
    for (int i = 0; i < n; i++) {
        pg_otlp_rprofiles *rp = NULL;
        pg_otlp_sprofiles *sp = pg_batch_add_scope(b, &rp);
        char name[16];
        snprintf(name, sizeof name, "r%d", i);
        rp->resource = pg_otlp_resource_new(a);
        pg_otlp_kv *kv = pg_otlp_kv_new(a);
        kv->key = pg_arena_strndup(a, "service.name", 12);
        kv->value = pg_otlp_any_new(a);
        kv->value->value_case = PG_ANY_STRING;
        kv->value->string_value = pg_arena_strndup(a, name, strlen(name));
        pg_otlp_push(a, (void ***)&rp->resource->attributes, &rp->resource->n_attributes, kv);
        snprintf(name, sizeof name, "f%d", i);
        int32_t fn = pg_dict_function(b, pg_dict_string(b, name, strlen(name)), 0, 0, 0);
        pg_otlp_location loc = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LOCATION__INIT;
        pg_otlp_line line = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINE__INIT;
        pg_otlp_line *lines[1] = {&line};
        line.function_index = fn;
        loc.lines = lines;
        loc.n_lines = 1;
        int32_t li = pg_dict_location(b, &loc);
        int32_t st = pg_dict_stack(b, &li, 1);
        pg_profile *p = pg_profile_add(b, sp, 1);
        pg_sample_set_value(b, p, 0, 0, i);
        pg_sample_set_stack(b, p, 0, st);
    }
    return b;
}

static int acked;
static void on_ack(void *ctx, pg_ack_outcome o)
{
    (void)ctx;
    acked = 1 + (int)o;
}

int main(void)
{
    pg_batch *b = make(6);
    pg_batch_meta_set(b, "x-tenant", "t1");
    pg_ack *ack = pg_ack_new(on_ack, NULL);
    pg_batch_set_ack(b, ack);
    uint32_t group[6] = {2, 0, 2, 2, 0, 2}; /* group 1 stays empty */
    pg_batch *parts[3];
    CHECK(pg_batch_split(b, group, 3, parts) == 0);
    CHECK(parts[1] == NULL);
    CHECK(parts[0] && pg_batch_profile_count(parts[0]) == 2);
    CHECK(parts[2] && pg_batch_profile_count(parts[2]) == 4);
    int want[3][4] = {{1, 4}, {0}, {0, 2, 3, 5}};
    for (int g = 0; g < 3; g += 2) {
        if (!parts[g]) continue;
        CHECK_STR(pg_batch_meta_get(parts[g], "x-tenant"), "t1");
        CHECK(pg_batch_ack(parts[g]) == ack);
        const pg_otlp_dict *d = pg_batch_dict(parts[g]);
        /* only its own functions: the zero entry plus one per profile */
        CHECK_MSG(d->n_function_table == pg_batch_profile_count(parts[g]) + 1, "%zu functions",
                  d->n_function_table);
        int k = 0;
        pg_profile_iter it;
        for (pg_profile_iter_init(&it, parts[g]); pg_profile_iter_next(&it); k++) {
            int v = (int)pg_sample_value(it.profile, 0, 0);
            CHECK(v == want[g][k]);
            char name[16];
            snprintf(name, sizeof name, "r%d", v);
            CHECK_STR(it.resource->resource->attributes[0]->value->string_value, name);
            /* its function is among the part's, by name */
            snprintf(name, sizeof name, "f%d", v);
            int found = 0;
            for (size_t f = 1; f < d->n_function_table; f++)
                found += !strcmp(d->string_table[d->function_table[f]->name_strindex], name);
            CHECK_MSG(found == 1, "function %s in part %d: %d", name, g, found);
        }
        CHECK(k == (g == 0 ? 2 : 4));
    }
    /* the ack waits for holds on the parts, not for the parts' lifetime */
    pg_ack *h = pg_ack_hold(pg_batch_ack(parts[2]));
    pg_batch_free(parts[0]);
    pg_batch_free(parts[2]);
    pg_batch_free(b);
    pg_ack_release(ack);
    CHECK(acked == 0);
    pg_ack_settle(h, PG_ACK_DELIVERED);
    CHECK(acked == 1 + PG_ACK_DELIVERED);

    /* a group out of range: refused, nothing left */
    b = make(3);
    uint32_t bad[3] = {0, 5, 1};
    pg_batch *p2[2] = {(pg_batch *)1, (pg_batch *)1};
    CHECK(pg_batch_split(b, bad, 2, p2) == PG_EINVAL);
    CHECK(p2[0] == NULL && p2[1] == NULL);
    pg_batch_free(b);
    TEST_MAIN_END();
}
