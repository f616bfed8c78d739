/* Dictionary compaction: removes the dictionary entries nothing in the batch references
 * any more and re-indexes every reference, after a processor removed or replaced things
 * (dropped samples, replaced stacks or attributes). Dictionary tables are append-only
 * otherwise; compaction is explicit, never implicit in an edit.
 *
 * Reachability starts at the tree: profiles (sample_type, period_type, attribute
 * indices), samples (stack, link, attributes), resource and scope KeyValues (key_strindex,
 * string_value_strindex, nested in arrays and kvlists), and follows the dictionary:
 * stacks -> locations -> mappings, lines' functions, attributes; mappings -> filename,
 * attributes; functions -> names and filename; attributes -> key, unit and
 * string-reference values. Every zero element stays at index 0; the order of the kept
 * entries is preserved.
 *
 * Note: mappings, locations and functions that no stack reaches are dropped. A pprof keeps
 * such entries (a Mapping no sample uses, say); a pprof -> OTLP -> pprof round trip
 * through a compacted batch loses them. */
#ifndef PG_COMPACT_H
#define PG_COMPACT_H

#include <stddef.h>

#include "pipeline/core/batch.h"

/* How many entries of each table a compaction removed. */
typedef struct pg_compact_stats {
    size_t strings, attributes, links, stacks, locations, functions, mappings;
} pg_compact_stats;

/* Compacts b's dictionary in place (b must be held alone). New tables, columns and
 * re-indexed arrays are allocated in b's arena; sample columns shared between profiles
 * stay shared. Drops the interning index (rebuilt on the next pg_dict_* call). `stats`
 * may be NULL. Returns 0, PG_EINVAL (b shared, or a reference out of range), PG_ENOMEM or
 * PG_ELIMIT, with a message in err. */
int pg_batch_compact(pg_batch *b, pg_compact_stats *stats, char *err, size_t errlen);

#endif
