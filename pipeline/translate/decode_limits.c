#include "pipeline/translate/decode_limits.h"

/* Fills l with the documented defaults (caller-owned struct). */
void pg_decode_limits_default(pg_decode_limits *l)
{
    l->max_decompressed = 64u << 20;
    l->max_arena = (size_t)1 << 30;
    l->max_samples = 10u * 1000 * 1000;
    l->max_stack_depth = 4096;
    l->max_labels = 1024;
    l->max_nesting = 64;
}

/* Fills l with the limits for re-reading admitted data (caller-owned struct). */
void pg_decode_limits_readmit(pg_decode_limits *l)
{
    pg_decode_limits_default(l);
    l->max_decompressed = 0;
    l->max_arena = 0;
    l->max_samples = 0;
    l->max_stack_depth = 0;
    l->max_labels = 0;
}

/* Borrows lim; fills the caller's store only when lim is NULL. */
const pg_decode_limits *pg_decode_limits_or_default(const pg_decode_limits *lim,
                                                    pg_decode_limits *store)
{
    if (lim) return lim;
    pg_decode_limits_default(store);
    return store;
}
