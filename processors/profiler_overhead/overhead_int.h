/* profiler_overhead's parts (private): which profile of a scope is measured and how a
 * stack is recognised as the profiler's own. */
#ifndef PG_OVERHEAD_INT_H
#define PG_OVERHEAD_INT_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline/core/otlp_types.h"
#include "pipeline/core/regex.h"

#define PG_PO_ATTRIBUTE "profiler.overhead.ratio"

/* The default `frames` (YAML flow-list items): Go, async-profiler, JFR, pprof-rs, py-spy,
 * Datadog and Pyroscope agents. */
#define PG_PO_DEFAULT_FRAMES                                                                       \
    "'^runtime/pprof\\.', '^runtime\\.sigprof', '^one[./]profiler[./]', "                          \
    "'^(Profiler|PerfEvents|CpuEngine|WallClock|ITimer|CTimer)::', '^jdk[./]jfr[./]', "            \
    "'^pprof::', '^(py_spy|remoteprocess)::', '^ddtrace[./]', '^datadog[./]profiling', "           \
    "'^com[./]datadog[./]profiling', 'DataDog/dd-trace-go[^ ]*/profiler', "                        \
    "'^github\\.com/grafana/pyroscope-go', '^github\\.com/pyroscope-io/', "                        \
    "'^io[./]pyroscope[./]', '^pyroscope[._:]'"

typedef struct pg_po_matcher {
    pg_regex **re;
    size_t n;
} pg_po_matcher;

/* Compiles pats[0..n) (pipeline/core/regex.h syntax; already validated). Returns 0,
 * PG_EINVAL or PG_ENOMEM. */
int pg_po_matcher_init(pg_po_matcher *m, char *const *pats, size_t n);
void pg_po_matcher_free(pg_po_matcher *m);

/* Per-batch memo of what matched: 0 unknown, 1 no, 2 yes, per function, location, stack
 * (malloc-owned, sized on first use). */
typedef struct pg_po_memo {
    uint8_t *fn, *loc, *stack;
} pg_po_memo;

void pg_po_memo_free(pg_po_memo *m);

/* 1 when p is a CPU profile: period type or sample type "cpu". */
int pg_po_is_cpu(const pg_otlp_dict *d, const pg_otlp_profile *p);

/* The scope's profile to measure: a CPU profile counting samples (unit "count"), else
 * one of CPU time; NULL when the scope holds no CPU profile. Borrowed. */
const pg_otlp_profile *pg_po_pick(const pg_otlp_dict *d, const pg_otlp_sprofiles *sp);

/* Sums p's values into *total and those of samples whose stacks hold a matching frame
 * into *matched. Returns 0 or PG_ENOMEM. */
int pg_po_measure(const pg_po_matcher *m, pg_po_memo *memo, const pg_otlp_dict *d,
                  const pg_otlp_profile *p, uint64_t *matched, uint64_t *total);

#endif
