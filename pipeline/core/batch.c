#include "pipeline/core/batch.h"
#include "pipeline/core/dict.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/core/samples.h"
#include "pipeline/core/stacks.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct pg_batch {
    pg_arena *arena;
    pg_otlp_data *data;
    pg_dict_index *index; /* malloc-owned, lazily built */
    pg_meta_entry *meta;  /* arena-owned array */
    size_t n_meta;
    const char *origin;
    uint64_t received;
    pg_ack *ack; /* a reference, or NULL */
    atomic_int refs;
};

/* Returns a new batch owned by the caller, with an empty dictionary holding its zero
 * elements. */
pg_batch *pg_batch_new(size_t arena_limit)
{
    pg_batch *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->arena = pg_arena_new(arena_limit);
    if (!b->arena) {
        free(b);
        return NULL;
    }
    pg_otlp_data *d = pg_otlp_data_new(b->arena);
    if (!d || !(d->dictionary = pg_otlp_dict_new(b->arena)) ||
        pg_dict_add_zero_elements(b->arena, d->dictionary)) {
        pg_batch_free(b);
        return NULL;
    }
    b->data = d;
    atomic_init(&b->refs, 1);
    return b;
}

/* Shares b with one more holder. */
pg_batch *pg_batch_retain(pg_batch *b)
{
    atomic_fetch_add(&b->refs, 1);
    return b;
}

int pg_batch_refs(const pg_batch *b)
{
    return atomic_load(&((pg_batch *)b)->refs);
}

/* Frees the batch, its arena and its index. */
void pg_batch_free(pg_batch *b)
{
    if (!b) return;
    if (b->arena && atomic_fetch_sub(&b->refs, 1) > 1) return;
    pg_dict_index_free(b->index);
    pg_ack_unref(b->ack);
    pg_arena_free(b->arena);
    free(b);
}

pg_arena *pg_batch_arena(pg_batch *b)
{
    return b->arena;
}

pg_otlp_data *pg_batch_data(const pg_batch *b)
{
    return b->data;
}

pg_otlp_dict *pg_batch_dict(const pg_batch *b)
{
    return b->data->dictionary;
}

/* Installs a tree built in this batch's arena; indexes over the old tree are dropped. */
void pg_batch_set_data(pg_batch *b, pg_otlp_data *d)
{
    pg_dict_index_free(b->index);
    b->index = NULL;
    b->data = d;
}

pg_dict_index **pg_batch_dict_index(pg_batch *b)
{
    return &b->index;
}

/* Frees b's interning index; b keeps ownership of everything else. */
void pg_batch_drop_index(pg_batch *b)
{
    pg_dict_index_free(b->index);
    b->index = NULL;
}

/* Sets key (lower-cased) to value; both copied into the arena. Replaces an existing key. */
int pg_batch_meta_set(pg_batch *b, const char *key, const char *value)
{
    size_t kl = strlen(key);
    char *k = pg_arena_strndup(b->arena, key, kl);
    char *v = pg_arena_strndup(b->arena, value, strlen(value));
    if (!k || !v) return pg_arena_status(b->arena);
    for (size_t i = 0; i < kl; i++)
        k[i] = (char)tolower((unsigned char)k[i]);
    for (size_t i = 0; i < b->n_meta; i++)
        if (strcmp(b->meta[i].key, k) == 0) {
            b->meta[i].value = v;
            return 0;
        }
    pg_meta_entry *m =
        pg_arena_realloc(b->arena, b->meta, b->n_meta * sizeof *m, (b->n_meta + 1) * sizeof *m);
    if (!m) return pg_arena_status(b->arena);
    m[b->n_meta].key = k;
    m[b->n_meta].value = v;
    b->meta = m;
    b->n_meta++;
    return 0;
}

/* Returns the value for key (case-insensitive), borrowed, or NULL. */
const char *pg_batch_meta_get(const pg_batch *b, const char *key)
{
    for (size_t i = 0; i < b->n_meta; i++)
        if (strcasecmp(b->meta[i].key, key) == 0) return b->meta[i].value;
    return NULL;
}

size_t pg_batch_meta_count(const pg_batch *b)
{
    return b->n_meta;
}

const pg_meta_entry *pg_batch_meta_at(const pg_batch *b, size_t i)
{
    return i < b->n_meta ? &b->meta[i] : NULL;
}

void pg_batch_set_origin(pg_batch *b, const char *component_id, uint64_t received_unix_nano)
{
    b->origin = component_id;
    b->received = received_unix_nano;
}

const char *pg_batch_origin(const pg_batch *b)
{
    return b->origin;
}

uint64_t pg_batch_received(const pg_batch *b)
{
    return b->received;
}

/* Replaces the carried ack; the batch keeps a reference. */
void pg_batch_set_ack(pg_batch *b, pg_ack *a)
{
    pg_ack_ref(a);
    pg_ack_unref(b->ack);
    b->ack = a;
}

pg_ack *pg_batch_ack(const pg_batch *b)
{
    return b->ack;
}

/* Copies src's metadata (into dst's arena), origin, receive time and ack. */
int pg_batch_inherit(pg_batch *dst, const pg_batch *src)
{
    for (size_t i = 0; i < src->n_meta; i++)
        if (pg_batch_meta_set(dst, src->meta[i].key, src->meta[i].value)) return PG_ENOMEM;
    pg_batch_set_origin(dst, src->origin, src->received);
    pg_batch_set_ack(dst, src->ack);
    return 0;
}

/* Counts profiles over every resource and scope. */
size_t pg_batch_profile_count(const pg_batch *b)
{
    size_t n = 0;
    pg_profile_iter it;
    for (pg_profile_iter_init(&it, b); pg_profile_iter_next(&it);)
        n++;
    return n;
}

/* Counts samples over every profile. */
size_t pg_batch_sample_count(const pg_batch *b)
{
    size_t n = 0;
    pg_profile_iter it;
    for (pg_profile_iter_init(&it, b); pg_profile_iter_next(&it);)
        n += it.profile->samples.n;
    return n;
}

/* Empties every profile's samples and the stack table, their pages handed back at once;
 * the interning index goes with them. */
void pg_batch_drop_samples(pg_batch *b)
{
    pg_profile_iter it;
    for (pg_profile_iter_init(&it, b); pg_profile_iter_next(&it);)
        pg_samples_release(&it.profile->samples);
    pg_stacks_release(&pg_dictionary_of(b->data->dictionary)->stacks);
    pg_batch_drop_index(b);
}

/* Adds a resource with one scope; both arena-owned. */
pg_otlp_sprofiles *pg_batch_add_scope(pg_batch *b, pg_otlp_rprofiles **rp_out)
{
    pg_otlp_rprofiles *rp = pg_otlp_rprofiles_new(b->arena);
    pg_otlp_sprofiles *sp = pg_otlp_sprofiles_new(b->arena);
    if (!rp || !sp) return NULL;
    if (pg_otlp_push(b->arena, (void ***)&rp->scope_profiles, &rp->n_scope_profiles, sp))
        return NULL;
    if (pg_otlp_push(b->arena, (void ***)&b->data->resource_profiles, &b->data->n_resource_profiles,
                     rp))
        return NULL;
    if (rp_out) *rp_out = rp;
    return sp;
}
