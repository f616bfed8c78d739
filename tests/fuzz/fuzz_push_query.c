/* libFuzzer target: the pprof_push receiver's /ingest query (percent decoding, times) and
 * `name` parser (app name, {k=v} labels, limits), and sample_type_config. Any bytes: a
 * status, never a crash; an accepted name has a bounded label set. */
#include "receivers/pprof_push/pprof_push_int.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    char err[256];
    push_query q;
    if (push_query_parse(s, 1700000000ull * 1000000000ull, &q, err, sizeof err) == 0)
        push_query_free(&q);
    push_label_limits lim = {8, 64, 64};
    push_labels ls = {0};
    if (push_name_parse(s, &lim, &ls, err, sizeof err) == 0 && ls.n > lim.max_labels) abort();
    push_labels_free(&ls);
    push_stc st;
    if (push_sample_type_config(data, size, &st, err, sizeof err) == 0) push_stc_free(&st);
    free(s);
    return 0;
}
