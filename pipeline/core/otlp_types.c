#include "pipeline/core/otlp_types.h"
#include "pipeline/core/samples.h"
#include "pipeline/core/stacks.h"

#include <string.h>

/* Defines pg_otlp_<fn>_new(arena) returning an initialised message of type T. */
#define PG_DEFINE_NEW(fn, T, INIT)                                                                 \
    T *pg_otlp_##fn##_new(pg_arena *a)                                                             \
    {                                                                                              \
        static const T init = INIT;                                                                \
        T *m = pg_arena_alloc(a, sizeof *m);                                                       \
        if (m) memcpy(m, &init, sizeof *m);                                                        \
        return m;                                                                                  \
    }

PG_DEFINE_NEW(data, pg_otlp_data,
              OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__PROFILES_DATA__INIT)
PG_DEFINE_NEW(rprofiles, pg_otlp_rprofiles,
              OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__RESOURCE_PROFILES__INIT)
PG_DEFINE_NEW(sprofiles, pg_otlp_sprofiles,
              OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__SCOPE_PROFILES__INIT)
PG_DEFINE_NEW(mapping, pg_otlp_mapping,
              OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__MAPPING__INIT)
PG_DEFINE_NEW(location, pg_otlp_location,
              OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LOCATION__INIT)
PG_DEFINE_NEW(function, pg_otlp_function,
              OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__FUNCTION__INIT)
PG_DEFINE_NEW(stack, pg_otlp_stack, OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__STACK__INIT)
PG_DEFINE_NEW(link, pg_otlp_link, OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINK__INIT)
PG_DEFINE_NEW(valuetype, pg_otlp_valuetype,
              OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__VALUE_TYPE__INIT)
PG_DEFINE_NEW(attr, pg_otlp_attr,
              OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__KEY_VALUE_AND_UNIT__INIT)
PG_DEFINE_NEW(any, pg_otlp_any, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT)
PG_DEFINE_NEW(array, pg_otlp_array, OPENTELEMETRY__PROTO__COMMON__V1__ARRAY_VALUE__INIT)
PG_DEFINE_NEW(kvlist, pg_otlp_kvlist, OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE_LIST__INIT)
PG_DEFINE_NEW(kv, pg_otlp_kv, OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT)
PG_DEFINE_NEW(scope, pg_otlp_scope, OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT)
PG_DEFINE_NEW(resource, pg_otlp_resource, OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT)

/* A batch dictionary (pg_dictionary) with empty tables; returns its message. */
pg_otlp_dict *pg_otlp_dict_new(pg_arena *a)
{
    static const pg_otlp_dict init =
        OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__PROFILES_DICTIONARY__INIT;
    pg_dictionary *d = pg_arena_calloc(a, 1, sizeof *d);
    if (!d) return NULL;
    d->msg = init;
    d->stacks.width = 1;
    d->tag = PG_DICTIONARY_TAG;
    return &d->msg;
}

/* A batch profile (pg_profile) with no samples; returns it. */
pg_profile *pg_profile_new(pg_arena *a)
{
    static const pg_otlp_profile init =
        OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__PROFILE__INIT;
    pg_profile *p = pg_arena_calloc(a, 1, sizeof *p);
    if (!p) return NULL;
    p->msg = init;
    p->tag = PG_PROFILE_TAG;
    return p;
}

pg_otlp_profile *pg_otlp_profile_new(pg_arena *a)
{
    pg_profile *p = pg_profile_new(a);
    return p ? &p->msg : NULL;
}

/* Returns n copies of the `size`-byte message `init` in one arena block (NULL on
 * overflow or over the cap). */
static void *init_array(pg_arena *a, size_t n, const void *init, size_t size)
{
    if (n > SIZE_MAX / size) return NULL;
    unsigned char *p = pg_arena_alloc(a, (n ? n : 1) * size);
    for (size_t i = 0; p && i < n; i++)
        memcpy(p + i * size, init, size);
    return p;
}

/* Returns n initialised samples in one arena block. */
pg_otlp_sample *pg_otlp_samples_new(pg_arena *a, size_t n)
{
    static const pg_otlp_sample init = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__SAMPLE__INIT;
    return init_array(a, n, &init, sizeof init);
}

/* Returns n initialised lines in one arena block. */
pg_otlp_line *pg_otlp_lines_new(pg_arena *a, size_t n)
{
    static const pg_otlp_line init = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINE__INIT;
    return init_array(a, n, &init, sizeof init);
}

/* Appends to a small pointer array (tree levels, not dictionary tables: those keep their
 * own capacities). The arena grows the newest allocation in place, else copies. */
int pg_otlp_push(pg_arena *a, void ***arr, size_t *n, void *item)
{
    size_t cnt = *n;
    void **na = pg_arena_realloc(a, *arr, cnt * sizeof(void *), (cnt + 1) * sizeof(void *));
    if (!na) return pg_arena_status(a);
    na[cnt] = item;
    *arr = na;
    *n = cnt + 1;
    return 0;
}
