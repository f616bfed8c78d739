/* Human-readable rendering of a batch with every reference resolved. With `canonical`
 * set, attribute lists are sorted by key, so two batches that mean the same thing render
 * to the same text whatever their dictionary order (used by tests to compare semantics
 * and by the debug exporter). */
#ifndef PG_OTLP_DUMP_H
#define PG_OTLP_DUMP_H

#include "pipeline/core/batch.h"
#include "pipeline/core/buf.h"

enum { PG_DUMP_SUMMARY = 0, PG_DUMP_DETAILED = 1, PG_DUMP_CANONICAL = 2 };

/* Appends the rendering to out (caller-owned). mode: one of PG_DUMP_*. */
int pg_otlp_dump(const pg_batch *b, int mode, pg_buf *out);

/* One line summarising profile p of the batch (type, samples, time, duration). */
int pg_otlp_dump_profile_line(const pg_batch *b, const pg_otlp_profile *p, pg_buf *out);

#endif
