/* Limits every decoder takes from its caller. Zero means "no limit" for each field. */
#ifndef PG_DECODE_LIMITS_H
#define PG_DECODE_LIMITS_H

#include <stddef.h>

typedef struct pg_decode_limits {
    size_t max_decompressed; /* bytes after decompression */
    size_t max_arena;        /* bytes a decoded batch may hold */
    size_t max_samples;      /* OTLP samples a decoded input holds: for pprof, samples x
                                sample types, so that every decoder counts alike */
    size_t max_stack_depth;  /* locations in one stack */
    size_t max_labels;       /* labels / attributes on one sample */
    int max_nesting;         /* nested message depth (AnyValue arrays and kvlists) */
} pg_decode_limits;

/* Defaults: 64 MiB decompressed (the OTLP spec's recommended request cap), 1 GiB arena,
 * 10M samples, depth 4096, 1024 labels, nesting 64. */
void pg_decode_limits_default(pg_decode_limits *l);

/* lim itself, or (when NULL) the defaults written into *store. */
const pg_decode_limits *pg_decode_limits_or_default(const pg_decode_limits *lim,
                                                    pg_decode_limits *store);

/* Limits for re-reading data profgate itself admitted and encoded (the persistent queue's
 * replay): no size, sample or arena limit, so that nothing a receiver admitted is refused
 * later; only the nesting bound, which protects the decoder's stack, stays at the largest
 * value any decoder admits. */
void pg_decode_limits_readmit(pg_decode_limits *l);

#endif
