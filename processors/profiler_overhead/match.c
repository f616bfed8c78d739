/* profiler_overhead: recognising the profiler's frames (see overhead_int.h). */
#include "pipeline/core/err.h"
#include "pipeline/core/samples.h"
#include "pipeline/core/stacks.h"
#include "processors/profiler_overhead/overhead_int.h"

#include <stdlib.h>
#include <string.h>

int pg_po_matcher_init(pg_po_matcher *m, char *const *pats, size_t n)
{
    m->n = 0;
    m->re = calloc(n ? n : 1, sizeof *m->re);
    if (!m->re) return PG_ENOMEM;
    for (; m->n < n; m->n++) {
        int rc = pg_regex_compile(pats[m->n], &m->re[m->n], NULL, 0);
        if (rc) return rc;
    }
    return 0;
}

void pg_po_matcher_free(pg_po_matcher *m)
{
    for (size_t i = 0; i < m->n; i++)
        pg_regex_free(m->re[i]);
    free(m->re);
    m->re = NULL;
    m->n = 0;
}

void pg_po_memo_free(pg_po_memo *m)
{
    free(m->fn);
    free(m->loc);
    free(m->stack);
    memset(m, 0, sizeof *m);
}

static const char *str_at(const pg_otlp_dict *d, int32_t i)
{
    return i > 0 && (size_t)i < d->n_string_table ? d->string_table[i] : "";
}

int pg_po_is_cpu(const pg_otlp_dict *d, const pg_otlp_profile *p)
{
    return (p->period_type && strcmp(str_at(d, p->period_type->type_strindex), "cpu") == 0) ||
           (p->sample_type && strcmp(str_at(d, p->sample_type->type_strindex), "cpu") == 0);
}

const pg_otlp_profile *pg_po_pick(const pg_otlp_dict *d, const pg_otlp_sprofiles *sp)
{
    const pg_otlp_profile *time = NULL;
    for (size_t k = 0; k < sp->n_profiles; k++) {
        const pg_otlp_profile *p = sp->profiles[k];
        if (!pg_po_is_cpu(d, p) || !p->sample_type) continue;
        const char *unit = str_at(d, p->sample_type->unit_strindex);
        if (strcmp(unit, "count") == 0) return p;
        if (!time && strcmp(str_at(d, p->sample_type->type_strindex), "cpu") == 0) time = p;
    }
    return time;
}

/* Function f's name matches one of the patterns (memoised). */
static int fn_matches(const pg_po_matcher *m, pg_po_memo *memo, const pg_otlp_dict *d, int32_t f)
{
    if (f <= 0 || (size_t)f >= d->n_function_table) return 0;
    if (!memo->fn[f]) {
        const char *name = str_at(d, d->function_table[f]->name_strindex);
        int hit = 0;
        for (size_t i = 0; i < m->n && !hit; i++)
            hit = pg_regex_match(m->re[i], name);
        memo->fn[f] = (uint8_t)(hit ? 2 : 1);
    }
    return memo->fn[f] == 2;
}

/* Location l holds a matching function in any of its (inlined) lines (memoised). */
static int loc_matches(const pg_po_matcher *m, pg_po_memo *memo, const pg_otlp_dict *d, int32_t l)
{
    if (l <= 0 || (size_t)l >= d->n_location_table) return 0;
    if (!memo->loc[l]) {
        const pg_otlp_location *x = d->location_table[l];
        int hit = 0;
        for (size_t j = 0; j < x->n_lines && !hit; j++)
            hit = fn_matches(m, memo, d, x->lines[j]->function_index);
        memo->loc[l] = (uint8_t)(hit ? 2 : 1);
    }
    return memo->loc[l] == 2;
}

/* Stack s holds a matching location (memoised). */
static int stack_matches(const pg_po_matcher *m, pg_po_memo *memo, const pg_otlp_dict *d, int32_t s)
{
    if (s <= 0 || (size_t)s >= pg_dict_stack_count(d)) return 0;
    if (!memo->stack[s]) {
        pg_stack_ref st;
        pg_dict_stack_at(d, (size_t)s, &st);
        int hit = 0;
        for (size_t j = 0; j < st.n && !hit; j++)
            hit = loc_matches(m, memo, d, pg_stack_loc(&st, j));
        memo->stack[s] = (uint8_t)(hit ? 2 : 1);
    }
    return memo->stack[s] == 2;
}

int pg_po_measure(const pg_po_matcher *m, pg_po_memo *memo, const pg_otlp_dict *d,
                  const pg_otlp_profile *p, uint64_t *matched, uint64_t *total)
{
    if (!memo->fn) {
        memo->fn = calloc(d->n_function_table + 1, 1);
        memo->loc = calloc(d->n_location_table + 1, 1);
        memo->stack = calloc(pg_dict_stack_count(d) + 1, 1);
        if (!memo->fn || !memo->loc || !memo->stack) return PG_ENOMEM;
    }
    const pg_samples *c = pg_profile_columns(p);
    for (size_t i = 0; i < c->n; i++) {
        pg_sample_ref s;
        pg_samples_at(c, i, &s);
        uint64_t w = 0;
        for (size_t k = 0; k < s.n_values; k++)
            w += s.values[k] > 0 ? (uint64_t)s.values[k] : 0;
        *total += w;
        if (w && stack_matches(m, memo, d, s.stack)) *matched += w;
    }
    return 0;
}
