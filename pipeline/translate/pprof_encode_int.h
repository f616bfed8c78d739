/* Shared state of the pprof encoder's parts (private to pipeline/translate). */
#ifndef PG_PPROF_ENCODE_INT_H
#define PG_PPROF_ENCODE_INT_H

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
    int64_t *from_dict; /* dictionary string index -> pprof index, 0 = not yet (except "");
                         * NULL once sealed */
    size_t n_dict;      /* entries of from_dict */
    char **owned;
    size_t n_owned, cap_owned;
    int failed; /* 0, or the status of the first failed add (indexes written since are bad) */
} pg_strtab;

/* Returns 0 or a negative status (PG_ENOMEM), also latched in t->failed. */
int pg_strtab_init(pg_strtab *t, size_t n_dict);
void pg_strtab_free(pg_strtab *t);
/* Returns the pprof index of text s[0..n) (copied when `copy`), or a negative status
 * (PG_ENOMEM, PG_ELIMIT), latched in t->failed: callers may write the index unchecked and
 * test t->failed once at the end. */
int64_t pg_strtab_add(pg_strtab *t, const char *s, size_t n, int copy);
/* Returns the pprof index of dictionary string i, or a negative status (see above). */
int64_t pg_strtab_dict(pg_strtab *t, const pg_otlp_dict *d, int32_t i);
/* Frees the lookups once every string is interned, handing their pages back: s and len
 * stay for writing the table out; adding after it fails with PG_EINTERNAL. */
void pg_strtab_seal(pg_strtab *t);

/* One pprof label being written. */
typedef struct pg_label {
    int64_t key, str, num, unit;
} pg_label;

typedef struct pg_labels {
    pg_label *v;
    size_t n, cap;
} pg_labels;

/* Appends the labels that attribute `attr` stands for. Returns 0 or a negative status
 * (PG_ENOMEM). */
int pg_labels_from_attr(pg_labels *out, pg_strtab *t, const pg_otlp_dict *d,
                        const pg_otlp_attr *attr);
/* Appends labels for a KeyValue (resource/scope attributes). */
int pg_labels_from_kv(pg_labels *out, pg_strtab *t, const pg_otlp_kv *kv);
/* Appends trace_id / span_id hex labels for a link. */
int pg_labels_from_link(pg_labels *out, pg_strtab *t, const pg_otlp_link *l);
/* Bytes the labels take as Sample.label fields (3). */
size_t pg_labels_size(const pg_labels *l);
/* Writes the labels as Sample.label fields at p, which has pg_labels_size(l) bytes of
 * room; returns the end. */
uint8_t *pg_labels_put(uint8_t *p, const pg_labels *l);

/* The encoder's output (pprof_encode_out.c): plain into the caller's buffer, or one gzip
 * member: compressed at close by libdeflate when the encoding fits the whole-output buffer
 * (with ISA-L deflating the head on a second thread while the encoder is still writing,
 * once the encoding is large), else by zlib's streaming deflate a chunk at a time. */
struct z_stream_s;
struct pg_gzip_pipe;
typedef struct pg_pprof_out {
    pg_buf buf;                  /* gzip: the uncompressed bytes not yet compressed */
    pg_buf *out;                 /* the caller's buffer */
    int gzip;                    /* 0: plain */
    struct z_stream_s *z;        /* set once the output outgrew buf: streaming from then on */
    uint32_t crc;                /* streaming: CRC-32 of the bytes so far */
    uint64_t total;              /* streaming: bytes so far */
    struct pg_gzip_pipe *pipe;   /* the head's helper, while it runs */
    size_t told;                 /* bytes of buf the helper was told of */
    int cut;                     /* the head's end is set (or the chance to start one passed) */
    size_t start, start_flushed; /* out's length and flushed count when opened */
} pg_pprof_out;

/* Tells the output how far the encoding got: it starts the head's helper once the
 * encoding is large enough and tells it what is written. Cheap; call after every sample,
 * table entry and string. */
void pg_pprof_out_progress(pg_pprof_out *s);
/* pg_pprof_out_progress after sample i of n (where a test may have the head end). */
void pg_pprof_out_sample_written(pg_pprof_out *s, size_t i, size_t n);
/* Where the head ends, in sixteenths of the samples (default, and 0 or 16: at the end of
 * the encoding, a point of the data, never of timing); for tests, which cut earlier to
 * have a tail of tables and strings, and the streaming path after a cut. */
void pg_pprof_out_set_head_share(unsigned sixteenths);

/* Bytes gathered before gzip output switches to streaming (default 16 MiB; 0 = default);
 * for tests. */
void pg_pprof_out_set_whole_limit(size_t n);
/* Opens the stream over out. Returns 0 or PG_ENOMEM. */
int pg_pprof_out_open(pg_pprof_out *s, pg_buf *out, int gzip);
/* The buffer the encoder appends to. */
pg_buf *pg_pprof_out_sink(pg_pprof_out *s);
/* Finishes the output. Returns 0 or a PG_E* code. */
int pg_pprof_out_close(pg_pprof_out *s);
/* Frees the stream; `failed` takes back what was appended to out (when still there). */
void pg_pprof_out_free(pg_pprof_out *s, int failed);

#endif
