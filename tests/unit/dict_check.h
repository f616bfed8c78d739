/* The dictionary-validity check for tests of code that edits batches: a batch is valid
 * when its OTLP encoding decodes again (every index in range, zero elements at 0, unique
 * attribute keys per list: pg_otlp_validate) and when compacting a copy of it removes
 * nothing (no entry left behind that nothing references). Header-only. */
#ifndef PG_TEST_DICT_CHECK_H
#define PG_TEST_DICT_CHECK_H

#include "pipeline/core/compact.h"
#include "pipeline/core/merge.h"
#include "pipeline/translate/otlp_codec.h"

#include <stdio.h>

/* 1 when b is valid as above (b borrowed, unchanged); prints the reason otherwise. */
static inline int dc_valid(const pg_batch *b)
{
    pg_buf buf = {0};
    char err[256] = "";
    int ok = 1;
    pg_batch *back = pg_batch_new(0);
    if (pg_otlp_encode(b, &buf, err, sizeof err) ||
        pg_otlp_decode(back, buf.data, buf.len, NULL, err, sizeof err)) {
        fprintf(stderr, "dictionary check: OTLP round trip fails: %s\n", err);
        ok = 0;
    }
    pg_buf_free(&buf);
    pg_batch_free(back);
    pg_batch *c = pg_batch_clone(b, 0);
    pg_compact_stats st = {0};
    if (!c || pg_batch_compact(c, &st, err, sizeof err)) {
        fprintf(stderr, "dictionary check: compaction fails: %s\n", err);
        ok = 0;
    } else if (st.strings + st.attributes + st.links + st.stacks + st.locations + st.functions +
               st.mappings) {
        fprintf(stderr,
                "dictionary check: unreferenced entries: strings %zu attributes %zu links %zu "
                "stacks %zu locations %zu functions %zu mappings %zu\n",
                st.strings, st.attributes, st.links, st.stacks, st.locations, st.functions,
                st.mappings);
        ok = 0;
    }
    pg_batch_free(c);
    return ok;
}

#endif
