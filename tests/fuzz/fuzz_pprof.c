/* libFuzzer target: the format sniffer (any bytes: a guess with a reason, never a crash);
 * pprof decoding, then OTLP -> pprof -> OTLP must succeed and render the same as the first
 * decode (the translator's round-trip invariant). */
#include "fuzz_common.h"
#include "pipeline/translate/format.h"
#include "pipeline/translate/pprof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pg_format_guess guess;
    pg_format_sniff_input(data, size, &guess);
    if (!guess.reason[0] || strlen(guess.reason) >= sizeof guess.reason) abort();
    pg_decode_limits lim;
    fuzz_limits(&lim);
    pg_batch *b = pg_batch_new(lim.max_arena);
    char err[256];
    if (pg_pprof_decode(b, data, size, &lim, NULL, err, sizeof err) == 0) {
        pg_pprof_group *g = NULL;
        size_t n = 0;
        if (pg_pprof_plan(b, &g, &n, err, sizeof err) == 0 && n == 1) {
            pg_buf out = {0};
            pg_pprof_encode_opts o = {.gzip = 0, .links_as_labels = 1};
            if (pg_pprof_encode(b, &g[0], &o, &out, err, sizeof err) != 0) abort();
            pg_batch *again = pg_batch_new(lim.max_arena);
            if (pg_pprof_decode(again, out.data, out.len, &lim, NULL, err, sizeof err) != 0)
                abort();
            fuzz_same(b, again, PG_DUMP_CANONICAL);
            pg_batch_free(again);
            pg_buf_free(&out);
        }
        pg_pprof_groups_free(g, n);
    }
    pg_batch_free(b);
    return 0;
}
