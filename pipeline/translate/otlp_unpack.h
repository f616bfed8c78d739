/* Hand-written OTLP tree reader that keeps samples in columns (see otlp_unpack.c). */
#ifndef PG_OTLP_UNPACK_H
#define PG_OTLP_UNPACK_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/otlp.h"

enum { PG_OTLP_UNPACK_OK = 0, PG_OTLP_UNPACK_FALLBACK = 1, PG_OTLP_UNPACK_NOMEM = 2 };

/* Decodes ProfilesData bytes (borrowed) into the arena. Returns OK with *out, FALLBACK when
 * the input needs protobuf-c's general decoder (the arena may hold partial data), or NOMEM
 * when the arena refused an allocation. */
int pg_otlp_unpack(pg_arena *a, const uint8_t *data, size_t len, pg_otlp_data **out);

#endif
