/* Shared state of the pprof encoder's parts (private to pipeline/translate). */
#ifndef PG_PPROF_ENC_INTERNAL_H
#define PG_PPROF_ENC_INTERNAL_H

#include "pipeline/core/hash.h"
#include "pipeline/core/wire.h"
#include "pipeline/translate/pprof.h"

/* The pprof string table under construction: texts are borrowed from the batch or owned
 * by `owned` (malloc'd copies), looked up through `set`. */
typedef struct pg_strtab {
    const char **s;
    size_t *len;
    size_t n, cap;
    pg_index set;
    int64_t *from_dict; /* dictionary string index -> pprof index, 0 = not yet (except "") */
    char **owned;
    size_t n_owned, cap_owned;
} pg_strtab;

int pg_strtab_init(pg_strtab *t, size_t n_dict);
void pg_strtab_free(pg_strtab *t);
/* Returns the pprof index of text s[0..n) (copied when `copy`), or -1 on OOM. */
int64_t pg_strtab_add(pg_strtab *t, const char *s, size_t n, int copy);
/* Returns the pprof index of dictionary string i, or -1 on OOM. */
int64_t pg_strtab_dict(pg_strtab *t, const pg_otlp_dict *d, int32_t i);

/* One pprof label being written. */
typedef struct pg_label {
    int64_t key, str, num, unit;
} pg_label;

typedef struct pg_labels {
    pg_label *v;
    size_t n, cap;
} pg_labels;

/* Appends the labels that attribute `attr` stands for. Returns 0 or -1 on OOM. */
int pg_labels_from_attr(pg_labels *out, pg_strtab *t, const pg_otlp_dict *d, const pg_otlp_attr *attr);
/* Appends labels for a KeyValue (resource/scope attributes). */
int pg_labels_from_kv(pg_labels *out, pg_strtab *t, const pg_otlp_kv *kv);
/* Appends trace_id / span_id hex labels for a link. */
int pg_labels_from_link(pg_labels *out, pg_strtab *t, const pg_otlp_link *l);
/* Writes labels as Sample.label fields (3) into b. */
void pg_labels_write(pg_buf *b, const pg_labels *l);

#endif
