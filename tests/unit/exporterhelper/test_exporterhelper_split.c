/* pg_eh_split: parts follow the source's profile order, each at most max_samples (one
 * profile per part at least), render like the source together, and carry only the
 * dictionary entries their own profiles use (each part is compacted). */
#include "testlib.h"
#include "testdump.h"

#include "pipeline/core/dict.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/stacks.h"
#include "pipeline/exporterhelper/exporterhelper_int.h"
#include "pipeline/translate/otlp_dump.h"

#include <stdlib.h>

static int32_t S(pg_batch *b, const char *s)
{
    return pg_dict_string(b, s, strlen(s));
}

/* Profile k has 2 samples on frames only it uses ("fn<k>_<i>"). */
static pg_batch *source(int nprof)
{
    pg_batch *b = pg_batch_new(0);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    for (int k = 0; k < nprof; k++) {
        pg_profile *p = pg_profile_add(b, sp, 2);
        p->msg.sample_type = pg_otlp_valuetype_new(pg_batch_arena(b));
        p->msg.sample_type->type_strindex = S(b, "samples");
        for (int i = 0; i < 2; i++) {
            char name[32];
            snprintf(name, sizeof name, "fn%d_%d", k, i);
            pg_otlp_line line = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINE__INIT,
                         *lp = &line;
            line.function_index = pg_dict_function(b, S(b, name), S(b, name), S(b, "x.c"), 0);
            pg_otlp_location l = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LOCATION__INIT;
            l.lines = &lp;
            l.n_lines = 1;
            int32_t loc = pg_dict_location(b, &l);
            CHECK(pg_sample_set_stack(b, p, (size_t)i, pg_dict_stack(b, &loc, 1)) == 0);
            CHECK(pg_sample_set_value(b, p, (size_t)i, 0, k * 10 + i) == 0);
        }
    }
    return b;
}

static int has_string(const pg_batch *b, const char *s)
{
    const pg_otlp_dict *d = pg_batch_dict(b);
    for (size_t i = 0; i < d->n_string_table; i++)
        if (strcmp(d->string_table[i], s) == 0) return 1;
    return 0;
}

int main(void)
{
    pg_batch *src = source(3);
    pg_batch **parts = NULL;
    int n = pg_eh_split(src, 3, &parts); /* 2 + 2 > 3: one profile per part */
    CHECK(n == 3);
    char *whole = pg_test_dump(src);
    for (int k = 0; k < n; k++) {
        CHECK(pg_batch_profile_count(parts[k]) == 1 && pg_batch_sample_count(parts[k]) == 2);
        char own[32], other[32];
        snprintf(own, sizeof own, "fn%d_1", k);
        snprintf(other, sizeof other, "fn%d_0", (k + 1) % n);
        CHECK_MSG(has_string(parts[k], own) && !has_string(parts[k], other), "part %d dictionary",
                  k);
        const pg_otlp_dict *d = pg_batch_dict(parts[k]);
        CHECK(d->n_function_table == 3 && d->n_location_table == 3 && pg_dict_stack_count(d) == 3);
        char *p = pg_test_dump(parts[k]);
        /* each part's profile is the source's k-th, samples and frames alike */
        const char *at = strstr(whole, "  profile");
        for (int j = 0; j < k && at; j++)
            at = strstr(at + 1, "  profile");
        const char *pp = strstr(p, "  profile");
        CHECK(at && pp && strncmp(at, pp, strlen(pp)) == 0);
        free(p);
        pg_batch_free(parts[k]);
    }
    free(parts);
    /* a max above the total: one part, everything */
    n = pg_eh_split(src, 100, &parts);
    CHECK(n == 1 && pg_batch_sample_count(parts[0]) == 6);
    char *one = n == 1 ? pg_test_dump(parts[0]) : NULL;
    CHECK(one && strcmp(one, whole) == 0);
    free(one);
    for (int k = 0; k < n; k++)
        pg_batch_free(parts[k]);
    free(parts);
    free(whole);
    pg_batch_free(src);
    TEST_MAIN_END();
}
