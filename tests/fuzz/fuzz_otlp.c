/* libFuzzer target: OTLP protobuf decoding; a decoded batch must encode, decode again and
 * render the same, and must convert to pprof without crashing. */
#include "fuzz_common.h"
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/pprof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pg_decode_limits lim;
    fuzz_limits(&lim);
    pg_batch *b = pg_batch_new(lim.max_arena);
    char err[256];
    if (pg_otlp_decode(b, data, size, &lim, err, sizeof err) == 0) {
        pg_buf out = {0};
        if (pg_otlp_encode(b, &out, err, sizeof err) != 0) abort();
        pg_batch *again = pg_batch_new(lim.max_arena);
        if (pg_otlp_decode(again, out.data, out.len, &lim, err, sizeof err) != 0) abort();
        fuzz_same(b, again, PG_DUMP_DETAILED);
        pg_batch_free(again);
        pg_buf_free(&out);
        pg_pprof_group *g = NULL;
        size_t n = 0;
        if (pg_pprof_plan(b, &g, &n, err, sizeof err) == 0) {
            pg_pprof_encode_opts o = {.gzip = 0, .resource_as_labels = 1, .links_as_labels = 1};
            for (size_t i = 0; i < n; i++) {
                pg_buf pb = {0};
                pg_pprof_encode(b, &g[i], &o, &pb, err, sizeof err);
                pg_buf_free(&pb);
            }
        }
        pg_pprof_groups_free(g, n);
    }
    pg_batch_free(b);
    return 0;
}
