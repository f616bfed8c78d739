/* Attribute keys the translator reads and writes (OpenTelemetry semantic conventions for
 * profiles, v1.40+ for the full pprof.* set). */
#ifndef PG_SEMCONV_H
#define PG_SEMCONV_H

#define PG_SC_COMMENT "pprof.profile.comment"         /* string[] on Profile */
#define PG_SC_COMMENT_PREFIX "pprof.profile.comment." /* per-index form, accepted on input */
#define PG_SC_DROP_FRAMES "pprof.profile.drop_frames" /* string on Profile */
#define PG_SC_KEEP_FRAMES "pprof.profile.keep_frames" /* string on Profile */
#define PG_SC_DOC_URL "pprof.profile.doc_url"         /* string on Profile */
#define PG_SC_DEFAULT_SAMPLE_TYPE "pprof.scope.default_sample_type" /* string on scope */
#define PG_SC_SAMPLE_TYPE_ORDER "pprof.scope.sample_type_order"     /* int[] on scope */
#define PG_SC_HAS_FUNCTIONS "pprof.mapping.has_functions"
#define PG_SC_HAS_FILENAMES "pprof.mapping.has_filenames"
#define PG_SC_HAS_LINE_NUMBERS "pprof.mapping.has_line_numbers"
#define PG_SC_HAS_INLINE_FRAMES "pprof.mapping.has_inline_frames"
#define PG_SC_IS_FOLDED "pprof.location.is_folded"
/* The source pprof's table entries no sample reaches (and its mapping order): a Profile of
 * the scope marked with this bool, whose samples (no values) each carry PG_SC_TABLE and a
 * stack that reaches the entries (pprof_tables.c, docs/translation.md). */
#define PG_SC_TABLE_ENTRIES "pprof.profile.table_entries" /* bool on the marker Profile */
#define PG_SC_TABLE "pprof.table" /* string on its samples: "mapping", "location", "function" */
#define PG_SC_BUILD_ID_GNU "process.executable.build_id.gnu"
#define PG_SC_BUILD_ID_GO "process.executable.build_id.go"
#define PG_SC_BUILD_ID_HTLHASH "process.executable.build_id.htlhash"
/* Element keys of a num label whose unit differs from its attribute's unit (multi-valued
 * labels with mixed units; a profgate convention, documented in docs/translation.md). */
#define PG_SC_LABEL_VALUE "value"
#define PG_SC_LABEL_UNIT "unit"
/* Labels synthesised from an OTLP Link when a sample has no such labels. */
#define PG_SC_LABEL_TRACE_ID "trace_id"
#define PG_SC_LABEL_SPAN_ID "span_id"

#endif
