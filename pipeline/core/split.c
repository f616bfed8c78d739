/* Splitting a batch by profile (split.h). Each part is built by merging a "view" of the
 * source into a fresh batch (a tree of shallow copies of the source's resources and
 * scopes holding a subset of its profiles, over the source's dictionary, borrowed), then
 * compacted so that it carries only the dictionary entries its own profiles use. */
#include "pipeline/core/split.h"
#include "pipeline/core/compact.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/core/merge.h"

#include <stdlib.h>
#include <string.h>

typedef struct view {
    pg_batch *b; /* owns only the shallow copies */
    pg_otlp_rprofiles *rp;
    pg_otlp_sprofiles *sp;
    size_t r, s; /* source indices of rp and sp */
} view;

static int view_open(view *v, const pg_otlp_data *src)
{
    memset(v, 0, sizeof *v);
    v->b = pg_batch_new(0);
    pg_otlp_data *d = v->b ? pg_otlp_data_new(pg_batch_arena(v->b)) : NULL;
    if (!d) return PG_ENOMEM;
    d->dictionary = src->dictionary;
    pg_batch_set_data(v->b, d);
    return 0;
}

/* Adds the iterator's profile of src to the view, opening shallow resource/scope copies. */
static int view_add(view *v, const pg_otlp_data *src, const pg_profile_iter *it)
{
    size_t r = it->r, s = it->s;
    pg_arena *a = pg_batch_arena(v->b);
    pg_otlp_data *d = pg_batch_data(v->b);
    if (!v->rp || v->r != r) {
        v->rp = pg_arena_memdup(a, src->resource_profiles[r], sizeof *v->rp);
        if (!v->rp) return pg_arena_status(a);
        v->rp->scope_profiles = NULL;
        v->rp->n_scope_profiles = 0;
        v->r = r;
        v->sp = NULL;
        if (pg_otlp_push(a, (void ***)&d->resource_profiles, &d->n_resource_profiles, v->rp))
            return pg_arena_status(a);
    }
    if (!v->sp || v->s != s) {
        v->sp = pg_arena_memdup(a, src->resource_profiles[r]->scope_profiles[s], sizeof *v->sp);
        if (!v->sp) return pg_arena_status(a);
        v->sp->profiles = NULL;
        v->sp->n_profiles = 0;
        v->s = s;
        if (pg_otlp_push(a, (void ***)&v->rp->scope_profiles, &v->rp->n_scope_profiles, v->sp))
            return pg_arena_status(a);
    }
    return pg_otlp_push(a, (void ***)&v->sp->profiles, &v->sp->n_profiles, &it->profile->msg);
}

/* Copies the view into a new batch carrying what src carries; frees the view. Returns the
 * part or NULL on OOM. */
static pg_batch *view_close(view *v, const pg_batch *src)
{
    pg_batch *part = pg_batch_new(0);
    int bad = !part || pg_batch_merge(part, v->b, NULL, 0) ||
              pg_batch_compact(part, NULL, NULL, 0) || pg_batch_inherit(part, src);
    pg_batch_free(v->b);
    v->b = NULL;
    if (bad) {
        pg_batch_free(part);
        return NULL;
    }
    return part;
}

/* See split.h. */
int pg_batch_split(const pg_batch *b, const uint32_t *group, size_t ngroups, pg_batch **parts)
{
    const pg_otlp_data *src = pg_batch_data(b);
    view *views = calloc(ngroups ? ngroups : 1, sizeof *views);
    if (!views) return PG_ENOMEM;
    for (size_t g = 0; g < ngroups; g++)
        parts[g] = NULL;
    int fail = 0;
    size_t i = 0;
    pg_profile_iter it;
    for (pg_profile_iter_init(&it, b); !fail && pg_profile_iter_next(&it); i++) {
        uint32_t g = group[i];
        if (g >= ngroups) {
            fail = PG_EINVAL;
            break;
        }
        if (!views[g].b && (fail = view_open(&views[g], src))) break;
        fail = view_add(&views[g], src, &it);
    }
    for (size_t g = 0; g < ngroups; g++) {
        if (!views[g].b) continue;
        if (fail) {
            pg_batch_free(views[g].b);
            continue;
        }
        if (!(parts[g] = view_close(&views[g], b))) fail = PG_ENOMEM;
    }
    if (fail)
        for (size_t g = 0; g < ngroups; g++) {
            pg_batch_free(parts[g]);
            parts[g] = NULL;
        }
    free(views);
    return fail;
}
