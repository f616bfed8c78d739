/* The batch's OTLP/JSON writer materialises Sample and Stack structs one profile (and
 * one dictionary) at a time through the writer's hooks; its text is byte for byte what the
 * descriptor-driven writer makes of a whole materialised tree, for real profiles and for
 * several resources and scopes. argv[1] is the test data directory. */
#include "testlib.h"

#include "pipeline/core/buf.h"
#include "pipeline/core/err.h"
#include "pipeline/core/samples.h"
#include "pipeline/translate/format.h"
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/otlp_json.h"

#include <stdio.h>

static char corpus[512];

/* Decodes corpus file rel into b (merged when b holds data already). */
static int load(pg_batch *b, const char *rel)
{
    char path[700], err[256] = "";
    snprintf(path, sizeof path, "%s/%s", corpus, rel);
    pg_buf in = {0};
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    pg_format_guess g = {0};
    int rc = pg_buf_read_file(&in, path, 64u << 20, err, sizeof err);
    if (!rc) rc = pg_format_decode_owned(b, &in, PG_FORMAT_UNKNOWN, &lim, &g, err, sizeof err);
    pg_buf_free(&in);
    CHECK_MSG(rc == 0, "%s: %s", rel, err);
    return rc;
}

/* The writer's text equals the whole-tree writer's. */
static void same_text(const pg_batch *b, const char *what)
{
    char err[256] = "";
    pg_buf streamed = {0}, whole = {0};
    CHECK(pg_otlp_encode_json(b, &streamed, err, sizeof err) == 0);
    pg_arena *a = pg_arena_new(0);
    pg_otlp_data *d = pg_otlp_data_with_sample_structs(a, pg_batch_data(b));
    CHECK(d && pg_otlp_json_encode((const ProtobufCMessage *)d, &whole, err, sizeof err) == 0);
    CHECK_MSG(streamed.len == whole.len && streamed.len > 0 &&
                  memcmp(streamed.data, whole.data, whole.len) == 0,
              "%s: %zu bytes vs %zu", what, streamed.len, whole.len);
    pg_arena_free(a);
    pg_buf_free(&streamed);
    pg_buf_free(&whole);
}

int main(int argc, char **argv)
{
    snprintf(corpus, sizeof corpus, "%s/../fuzz/corpus", argc > 1 ? argv[1] : "tests/data");
    static const char *files[] = {"pprof/go_cpu.pb.gz", "pprof/go_heap.pb.gz", "otlp/go_cpu.otlp",
                                  "otlp/go_heap.otlp"};
    pg_batch *all = pg_batch_new(0);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        pg_batch *b = pg_batch_new(0);
        if (!load(b, files[i])) same_text(b, files[i]);
        pg_batch_free(b);
        load(all, files[i]); /* merged: several resources and scopes, one dictionary */
    }
    same_text(all, "merged");
    pg_batch_free(all);
    TEST_MAIN_END();
}
