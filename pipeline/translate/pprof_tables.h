/* The source pprof's table entries that no sample reaches, kept through OTLP (private to
 * pipeline/translate). The pprof decoder records them as one marker Profile of the scope
 * (attribute pprof.profile.table_entries = true) whose samples carry pprof.table and a
 * stack: "mapping" lists one carrier location per source mapping, in source order;
 * "location" the unreferenced locations; "function" one carrier location whose lines name
 * the functions no location uses. Being samples and stacks, the record is re-indexed by
 * merge and kept by compaction like any other. */
#ifndef PG_PPROF_TABLES_H
#define PG_PPROF_TABLES_H

#include "pipeline/core/batch.h"

#include <stddef.h>
#include <stdint.h>

/* The source's table entries, as dictionary indices in source order, and which dictionary
 * locations its samples hold (a bit each, pg_pprof_reached), all borrowed. */
typedef struct pg_pprof_src_tables {
    const int32_t *mappings, *locations, *functions;
    size_t n_mappings, n_locations, n_functions;
    const uint8_t *reached;
} pg_pprof_src_tables;

/* Whether bit l of a bit set (bit l % 8 of byte l / 8) is set. */
static inline int pg_pprof_reached(const uint8_t *bits, size_t l)
{
    return bits[l >> 3] >> (l & 7) & 1;
}

/* Sets bit l of a bit set, storing only when it was clear: the byte's cache line stays
 * shared while a location is met again and again. */
static inline void pg_pprof_reach(uint8_t *bits, size_t l)
{
    uint8_t m = (uint8_t)(1u << (l & 7));
    if (!(bits[l >> 3] & m)) bits[l >> 3] |= m;
}

/* Appends the marker profile to sp when the source has a mapping, location or function
 * that no sample reaches (nothing otherwise). Borrows b, sp and t. Returns 0 or a
 * negative status (PG_ENOMEM, PG_ELIMIT). */
int pg_pprof_tables_record(pg_batch *b, pg_otlp_sprofiles *sp, const pg_pprof_src_tables *t);

/* 1 when p is a marker profile (borrowed d, p). */
int pg_pprof_tables_is_marker(const pg_otlp_dict *d, const pg_otlp_profile *p);

/* Marks in loc_used / fn_used (non-zero = write it) the locations and functions the
 * marker records, and returns its mapping order as a malloc-owned array in *maps (NULL,
 * 0 when none; the caller frees). Borrows d and marker. Returns 0 or PG_ENOMEM. */
int pg_pprof_tables_mark(const pg_otlp_dict *d, const pg_otlp_profile *marker, uint64_t *loc_used,
                         uint64_t *fn_used, int32_t **maps, size_t *n_maps);

#endif
