/* One in-batch form: a batch decoded by the hand OTLP reader, by protobuf-c (the
 * decoder's fallback: unpack, pg_otlp_data_adopt, validate) and by the OTLP/JSON decoder
 * holds pg_profile / pg_dictionary with columns only (no Sample or Stack structs), renders
 * the same, and takes edits the same way. */
#include "edit_fixture.h"

#include "pipeline/core/adopt.h"
#include "pipeline/core/compact.h"

/* Every profile and the dictionary are in the batch form: no structs left. */
static void check_form(pg_batch *b, const char *what)
{
    const pg_otlp_dict *d = pg_batch_dict(b);
    CHECK_MSG(d->n_stack_table == 0 && d->stack_table == NULL, "%s: stack structs", what);
    CHECK_MSG(pg_dictionary_cof(d)->tag == PG_DICTIONARY_TAG && pg_dict_stack_count(d) > 1,
              "%s: dictionary", what);
    size_t n = 0;
    pg_profile_iter it;
    for (pg_profile_iter_init(&it, b); pg_profile_iter_next(&it); n++) {
        CHECK_MSG(it.profile->tag == PG_PROFILE_TAG, "%s: profile tag", what);
        CHECK_MSG(it.profile->msg.n_samples == 0 && it.profile->msg.samples == NULL,
                  "%s: sample structs", what);
        CHECK_MSG(it.profile->samples.n > 0 && it.profile->samples.stack != NULL, "%s: no columns",
                  what);
    }
    CHECK_MSG(n == 2, "%s: %zu profiles", what, n);
}

/* Decodes bytes the way the OTLP decoder's protobuf-c fallback does. */
static pg_batch *decode_protobuf_c(const pg_buf *in)
{
    pg_batch *b = pg_batch_new(0);
    ProtobufCAllocator al = pg_arena_protobuf_allocator(pg_batch_arena(b));
    pg_otlp_data *d = (pg_otlp_data *)protobuf_c_message_unpack(&PG_OTLP_DESC(profiles_data), &al,
                                                                in->len, in->data);
    CHECK(d != NULL);
    /* protobuf-c's own messages: plain Profile and Dictionary with structs */
    CHECK(d->dictionary->n_stack_table > 1 &&
          d->resource_profiles[0]->scope_profiles[0]->profiles[0]->n_samples > 0);
    CHECK(pg_otlp_data_adopt(pg_batch_arena(b), d) == 0);
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    char err[256] = "";
    CHECK_MSG(pg_otlp_validate(pg_batch_arena(b), d, &lim, err, sizeof err) == 0, "%s", err);
    pg_batch_set_data(b, d);
    return b;
}

static void test_same_form(void)
{
    pg_batch *src = fx_pprof_batch(6);
    uint8_t tid[16] = {7}, sid[8] = {7};
    CHECK(pg_sample_set_link(src, fx_nth(src, 1), 2, pg_dict_link(src, tid, 16, sid, 8)) == 0);
    int64_t two[2] = {3, 4};
    uint64_t ts[2] = {5, 6};
    CHECK(pg_sample_set_values(src, fx_nth(src, 1), 4, two, 2) == 0);
    CHECK(pg_sample_set_timestamps(src, fx_nth(src, 1), 4, ts, 2) == 0);
    pg_buf bin = {0}, json = {0};
    char err[256] = "";
    CHECK(pg_otlp_encode(src, &bin, err, sizeof err) == 0);
    CHECK(pg_otlp_encode_json(src, &json, err, sizeof err) == 0);

    pg_batch *hand = pg_batch_new(0), *js = pg_batch_new(0);
    CHECK_MSG(pg_otlp_decode(hand, bin.data, bin.len, NULL, err, sizeof err) == 0, "%s", err);
    CHECK_MSG(pg_otlp_decode_json(js, json.data, json.len, NULL, err, sizeof err) == 0, "%s", err);
    pg_batch *pc = decode_protobuf_c(&bin);
    check_form(src, "source");
    check_form(hand, "hand reader");
    check_form(pc, "protobuf-c");
    check_form(js, "json");
    CHECK(fx_same(src, hand, "hand reader"));
    CHECK(fx_same(src, pc, "protobuf-c"));
    CHECK(fx_same(src, js, "json"));
    /* the adopted profiles share identity columns as the hand reader's do */
    CHECK(fx_nth(pc, 0)->samples.stack == fx_nth(pc, 1)->samples.stack);
    CHECK(fx_nth(hand, 0)->samples.stack == fx_nth(hand, 1)->samples.stack);

    /* the same edit on each gives the same batch */
    pg_batch *all[3] = {hand, pc, js};
    char *want = NULL;
    for (int k = 0; k < 3; k++) {
        pg_batch *b = all[k];
        pg_profile *p = fx_nth(b, 0);
        CHECK(pg_sample_set_value(b, p, 0, 0, 123456789) == 0);
        CHECK(pg_sample_drop(b, p, 5) == 0);
        CHECK(pg_batch_compact(b, NULL, err, sizeof err) == 0);
        char *got = pg_test_dump(b);
        if (!want)
            want = got;
        else {
            CHECK_MSG(strcmp(want, got) == 0, "decoder %d edits differently", k);
            free(got);
        }
    }
    free(want);
    pg_buf_free(&bin);
    pg_buf_free(&json);
    pg_batch_free(hand);
    pg_batch_free(pc);
    pg_batch_free(js);
    pg_batch_free(src);
}

int main(void)
{
    test_same_form();
    TEST_MAIN_END();
}
