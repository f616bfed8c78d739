#include "pipeline/core/adopt.h"
#include "pipeline/core/err.h"

/* Copies the message into a new pg_dictionary; Stack structs go into the columns. */
pg_otlp_dict *pg_dict_adopt(pg_arena *a, const pg_otlp_dict *plain)
{
    pg_otlp_dict *d = pg_otlp_dict_new(a);
    if (!d) return NULL;
    *d = *plain;
    d->stack_table = NULL;
    d->n_stack_table = 0;
    pg_stacks *s = &pg_dictionary_of(d)->stacks;
    if (plain->n_stack_table &&
        pg_stacks_append_structs(a, s, plain->stack_table, plain->n_stack_table))
        return NULL;
    return d;
}

/* Copies the message into a new pg_profile; Sample structs go through the builder. */
pg_otlp_profile *pg_profile_adopt(pg_arena *a, const pg_otlp_profile *plain, const pg_samples *like)
{
    pg_profile *p = pg_profile_new(a);
    if (!p) return NULL;
    p->msg = *plain;
    p->msg.samples = NULL;
    p->msg.n_samples = 0;
    pg_samples_builder sb = {0};
    for (size_t i = 0; i < plain->n_samples; i++) {
        const pg_otlp_sample *s = plain->samples[i];
        pg_sample_ref r = {.stack = s->stack_index,
                           .link = s->link_index,
                           .attrs = s->attribute_indices,
                           .n_attrs = s->n_attribute_indices,
                           .values = s->values,
                           .n_values = s->n_values,
                           .ts = s->timestamps_unix_nano,
                           .n_ts = s->n_timestamps_unix_nano};
        if (pg_samples_builder_add(&sb, &r)) {
            pg_samples_builder_free(&sb);
            return NULL;
        }
    }
    if (pg_samples_builder_finish(&sb, a, &p->msg, like)) return NULL;
    return &p->msg;
}

/* Walks the tree replacing each Profile and the dictionary. */
int pg_otlp_data_adopt(pg_arena *a, pg_otlp_data *d)
{
    if (d->dictionary && !(d->dictionary = pg_dict_adopt(a, d->dictionary))) return PG_ELIMIT;
    for (size_t r = 0; r < d->n_resource_profiles; r++) {
        pg_otlp_rprofiles *rp = d->resource_profiles[r];
        for (size_t s = 0; s < rp->n_scope_profiles; s++) {
            pg_otlp_sprofiles *sp = rp->scope_profiles[s];
            const pg_samples *like = NULL;
            for (size_t k = 0; k < sp->n_profiles; k++) {
                pg_otlp_profile *p = pg_profile_adopt(a, sp->profiles[k], like);
                if (!p) return PG_ELIMIT;
                sp->profiles[k] = p;
                like = pg_profile_columns(p);
            }
        }
    }
    return 0;
}
