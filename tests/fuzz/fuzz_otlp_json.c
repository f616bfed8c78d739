/* libFuzzer target: OTLP/JSON decoding; a decoded batch must encode to JSON and decode
 * again to the same rendering. */
#include "fuzz_common.h"
#include "pipeline/translate/otlp_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pg_decode_limits lim;
    fuzz_limits(&lim);
    pg_batch *b = pg_batch_new(lim.max_arena);
    char err[256];
    if (pg_otlp_decode_json(b, data, size, &lim, err, sizeof err) == 0) {
        pg_buf out = {0};
        if (pg_otlp_encode_json(b, &out, err, sizeof err) != 0) abort();
        pg_batch *again = pg_batch_new(lim.max_arena);
        if (pg_otlp_decode_json(again, out.data, out.len, &lim, err, sizeof err) != 0) abort();
        fuzz_same(b, again, PG_DUMP_DETAILED);
        pg_batch_free(again);
        pg_buf_free(&out);
    }
    pg_batch_free(b);
    return 0;
}
