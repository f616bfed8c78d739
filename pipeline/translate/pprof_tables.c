/* pprof table entries that no sample reaches: recorded by the pprof decoder as a marker
 * Profile, read back by the pprof encoder (see pprof_tables.h, docs/translation.md). Runs
 * once per pprof, outside the per-sample loops (which mark the locations samples hold). */
#include "pipeline/translate/pprof_tables.h"
#include "pipeline/translate/semconv.h"
#include "pipeline/core/dict.h"
#include "pipeline/core/err.h"
#include "pipeline/core/samples.h"
#include "pipeline/core/stacks.h"

#include <stdlib.h>
#include <string.h>

static const char *const kinds[3] = {"mapping", "location", "function"};

/* The three stacks of the record: carriers[k][0..n[k]) location indices (malloc-owned). */
typedef struct record {
    int32_t *locs[3];
    size_t n[3];
} record;

/* Interns one carrier location (mapping m, or lines naming fns[0..nf)) and appends it to
 * the record's list k. Returns 0 or a negative status. */
static int add_carrier(pg_batch *b, record *rec, int k, int32_t m, const int32_t *fns, size_t nf)
{
    pg_otlp_location l = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LOCATION__INIT;
    pg_otlp_line *lines = nf ? calloc(nf, sizeof *lines) : NULL;
    pg_otlp_line **lp = nf ? calloc(nf, sizeof *lp) : NULL;
    if (nf && (!lines || !lp)) {
        free(lines);
        free(lp);
        return PG_ENOMEM;
    }
    for (size_t i = 0; i < nf; i++) {
        static const pg_otlp_line init = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINE__INIT;
        lines[i] = init;
        lines[i].function_index = fns[i];
        lp[i] = &lines[i];
    }
    l.mapping_index = m;
    l.lines = lp;
    l.n_lines = nf;
    int32_t idx = pg_dict_location(b, &l);
    free(lines);
    free(lp);
    if (idx < 0) return idx;
    rec->locs[k][rec->n[k]++] = idx;
    return 0;
}

/* Fills the record from the source tables; *needed is set when something is unreached.
 * Scratch arrays are sized by the dictionary (malloc-owned, freed here). */
static int build_record(pg_batch *b, const pg_pprof_src_tables *t, record *rec, int *needed)
{
    const pg_otlp_dict *d = pg_batch_dict(b);
    uint8_t *loc = calloc(d->n_location_table, 1), *map = calloc(d->n_mapping_table, 1);
    uint8_t *fn = calloc(d->n_function_table, 1);
    int32_t *fns = calloc(t->n_functions ? t->n_functions : 1, sizeof *fns);
    for (int k = 0; k < 3; k++)
        rec->locs[k] = calloc(k == 0 ? t->n_mappings + 1 : t->n_locations + 1, sizeof(int32_t));
    int rc = (!loc || !map || !fn || !fns || !rec->locs[0] || !rec->locs[1] || !rec->locs[2])
                 ? PG_ENOMEM
                 : 0;
    /* rec->locs[1] is first every distinct source location, then those no sample reaches */
    for (size_t i = 0; !rc && i < t->n_locations; i++) {
        const pg_otlp_location *l = d->location_table[t->locations[i]];
        map[l->mapping_index] = 1;
        for (size_t j = 0; j < l->n_lines; j++)
            fn[l->lines[j]->function_index] = 1;
        if (!loc[t->locations[i]]) rec->locs[1][rec->n[1]++] = t->locations[i];
        loc[t->locations[i]] = 1; /* a duplicate of the source is listed once */
    }
    size_t kept = 0; /* the listed locations that no sample holds */
    for (size_t i = 0; !rc && i < rec->n[1]; i++)
        if (!pg_pprof_reached(t->reached, (size_t)rec->locs[1][i]))
            rec->locs[1][kept++] = rec->locs[1][i];
    rec->n[1] = kept;
    size_t nf = 0;
    for (size_t i = 0; !rc && i < t->n_functions; i++)
        if (!fn[t->functions[i]]) {
            fns[nf++] = t->functions[i];
            fn[t->functions[i]] = 1;
        }
    int unmapped = 0;
    for (size_t i = 0; !rc && i < t->n_mappings; i++)
        unmapped |= !map[t->mappings[i]];
    *needed = !rc && (rec->n[1] || nf || unmapped);
    for (size_t i = 0; *needed && !rc && i < t->n_mappings; i++) {
        if (map[t->mappings[i]] == 2) continue; /* listed already */
        map[t->mappings[i]] = 2;
        rc = add_carrier(b, rec, 0, t->mappings[i], NULL, 0);
    }
    if (*needed && !rc && nf) rc = add_carrier(b, rec, 2, 0, fns, nf);
    free(loc);
    free(map);
    free(fn);
    free(fns);
    return rc;
}

/* Builds the marker profile from the record and appends it to sp. */
static int append_marker(pg_batch *b, pg_otlp_sprofiles *sp, const record *rec)
{
    pg_arena *a = pg_batch_arena(b);
    pg_otlp_profile *p = pg_otlp_profile_new(a);
    int32_t mark = pg_dict_attr_bool(b, PG_SC_TABLE_ENTRIES, 1);
    if (!p) return PG_ELIMIT;
    if (mark < 0) return mark;
    if (!(p->attribute_indices = pg_arena_memdup(a, &mark, sizeof mark))) return PG_ELIMIT;
    p->n_attribute_indices = 1;
    pg_samples_builder sb = {0};
    int rc = 0;
    for (int k = 0; k < 3 && !rc; k++) {
        if (!rec->n[k]) continue;
        int32_t attr = pg_dict_attr_str(b, PG_SC_TABLE, kinds[k], strlen(kinds[k]));
        int32_t stack = attr < 0 ? attr : pg_dict_stack(b, rec->locs[k], rec->n[k]);
        if (stack < 0) {
            rc = stack;
            break;
        }
        pg_sample_ref r = {.stack = stack, .attrs = &attr, .n_attrs = 1};
        rc = pg_samples_builder_add(&sb, &r);
    }
    if (!rc && pg_samples_builder_finish(&sb, a, p, NULL)) rc = PG_ELIMIT;
    pg_samples_builder_free(&sb);
    if (!rc && pg_otlp_push(a, (void ***)&sp->profiles, &sp->n_profiles, p)) rc = PG_ELIMIT;
    return rc;
}

/* See pprof_tables.h. */
int pg_pprof_tables_record(pg_batch *b, pg_otlp_sprofiles *sp, const pg_pprof_src_tables *t)
{
    if (!sp->n_profiles || (!t->n_mappings && !t->n_locations && !t->n_functions)) return 0;
    record rec = {{0}, {0}};
    int needed = 0;
    int rc = build_record(b, t, &rec, &needed);
    if (!rc && needed) rc = append_marker(b, sp, &rec);
    for (int k = 0; k < 3; k++)
        free(rec.locs[k]);
    return rc;
}

/* The text of string attribute `key` among p's attribute indices ix[0..n), or NULL. */
static const pg_otlp_any *find_value(const pg_otlp_dict *d, const int32_t *ix, size_t n,
                                     const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (ix[i] <= 0 || (size_t)ix[i] >= d->n_attribute_table) continue;
        const pg_otlp_attr *a = d->attribute_table[ix[i]];
        if ((size_t)a->key_strindex < d->n_string_table &&
            strcmp(d->string_table[a->key_strindex], key) == 0)
            return a->value;
    }
    return NULL;
}

/* See pprof_tables.h. */
int pg_pprof_tables_is_marker(const pg_otlp_dict *d, const pg_otlp_profile *p)
{
    if (!d || !p->n_attribute_indices) return 0;
    const pg_otlp_any *v =
        find_value(d, p->attribute_indices, p->n_attribute_indices, PG_SC_TABLE_ENTRIES);
    return v && v->value_case == PG_ANY_BOOL && v->bool_value;
}

/* See pprof_tables.h. */
int pg_pprof_tables_mark(const pg_otlp_dict *d, const pg_otlp_profile *marker, uint64_t *loc_used,
                         uint64_t *fn_used, int32_t **maps, size_t *n_maps)
{
    *maps = NULL;
    *n_maps = 0;
    size_t ns = pg_profile_sample_count(marker), n_stacks = pg_dict_stack_count(d);
    for (size_t i = 0; i < ns; i++) {
        pg_sample_ref r;
        pg_sample_at(marker, i, &r);
        const pg_otlp_any *v = find_value(d, r.attrs, r.n_attrs, PG_SC_TABLE);
        if (!v || v->value_case != PG_ANY_STRING || r.stack <= 0 || (size_t)r.stack >= n_stacks)
            continue;
        pg_stack_ref s;
        pg_dict_stack_at(d, (size_t)r.stack, &s);
        if (strcmp(v->string_value, kinds[0]) == 0) {
            int32_t *m = realloc(*maps, (*n_maps + s.n) * sizeof *m);
            if (!m) return PG_ENOMEM;
            *maps = m;
            for (size_t j = 0; j < s.n; j++) {
                int32_t mi = d->location_table[pg_stack_loc(&s, j)]->mapping_index;
                if (mi) m[(*n_maps)++] = mi;
            }
        } else if (strcmp(v->string_value, kinds[1]) == 0) {
            for (size_t j = 0; j < s.n; j++)
                loc_used[pg_stack_loc(&s, j)] = 1;
        } else if (strcmp(v->string_value, kinds[2]) == 0) {
            for (size_t j = 0; j < s.n; j++) {
                const pg_otlp_location *l = d->location_table[pg_stack_loc(&s, j)];
                for (size_t k = 0; k < l->n_lines; k++)
                    if (l->lines[k]->function_index) fn_used[l->lines[k]->function_index] = 1;
            }
        }
    }
    return 0;
}
