/* Shared by the fuzz targets: the limits every target decodes with, and a rendering of a
 * batch used to check round-trip invariants. */
#ifndef PG_FUZZ_COMMON_H
#define PG_FUZZ_COMMON_H

#include "pipeline/translate/decode_limits.h"
#include "pipeline/translate/otlp_dump.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Small caps so one input cannot exhaust the fuzzer's memory. */
static inline void fuzz_limits(pg_decode_limits *lim)
{
    pg_decode_limits_default(lim);
    lim->max_decompressed = 8u << 20;
    lim->max_arena = 256u << 20;
}

/* Returns a malloc'd NUL-terminated rendering of b (mode: PG_DUMP_*). */
static inline char *fuzz_render(const pg_batch *b, int mode)
{
    pg_buf o = {0};
    pg_otlp_dump(b, mode, &o);
    pg_buf_append(&o, "", 1);
    return (char *)o.data;
}

/* Aborts (a finding) when the renderings of a and b differ. */
static inline void fuzz_same(const pg_batch *a, const pg_batch *b, int mode)
{
    char *x = fuzz_render(a, mode), *y = fuzz_render(b, mode);
    if (!x || !y || strcmp(x, y) != 0) abort();
    free(x);
    free(y);
}

#endif
