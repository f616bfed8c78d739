/* Batching in the exporter helper: batches with equal metadata merged into one whose
 * content equals the inputs, one group per metadata set flushed by flush_timeout, the
 * max_size cap (split by profiles; flush before overflowing) and the flush on shutdown. */
#include "test_exporterhelper_fixture.h"

static void test_batching_merges(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.batch.enabled = true;
    c.batch.min_size = 5 * 2 * 3; /* five batches of 2 profiles x 3 samples */
    c.batch.flush_timeout = 10000 * MS;
    sink s;
    sink_init(&s);
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("batch/merge", &c, &s, &cm);
    pg_batch *want = pg_batch_new(0);
    for (int i = 0; i < 5; i++) {
        pg_batch *b = mk(i, 2, 3, "acme");
        CHECK(pg_batch_merge(want, b, NULL, 0) == 0);
        CHECK(pg_exporter_helper_consume(h, b, NULL, 0) == 0);
    }
    CHECK(sink_wait(&s, 10));
    CHECK(s.batches == 1 && s.samples == 30);
    CHECK_STR(s.tenants[0], "acme");
    char *a = dump(want), *b = dump(s.got[0]);
    CHECK_MSG(strcmp(a, b) == 0, "merged batch differs:\n%s\n---\n%s", a, b);
    free(a);
    free(b);
    CHECK(strcmp(pg_batch_origin(s.got[0]), "test") == 0);
    CHECK(wait_empty(h)); /* the unit is finished (and counted) after the send returns */
    CHECK(pg_counter_get(cm.sent_profiles) == 10);
    pg_batch_free(want);
    pg_exporter_helper_free(h);
    sink_free(&s);
}

static void test_batching_by_metadata_and_timeout(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.batch.enabled = true;
    c.batch.min_size = 1000;
    c.batch.flush_timeout = 30 * MS;
    sink s;
    sink_init(&s);
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("batch/meta", &c, &s, &cm);
    for (int i = 0; i < 6; i++)
        CHECK(pg_exporter_helper_consume(h, mk(i, 1, 2, i % 2 ? "odd" : "even"), NULL, 0) == 0);
    CHECK(sink_wait(&s, 6));
    CHECK(s.batches == 2);
    for (int k = 0; k < 2 && k < s.batches; k++) {
        bool odd = strcmp(s.tenants[k], "odd") == 0;
        CHECK(odd || strcmp(s.tenants[k], "even") == 0);
        const pg_otlp_data *d = pg_batch_data(s.got[k]);
        int mismatched = 0;
        for (size_t r = 0; r < d->n_resource_profiles; r++) {
            const pg_otlp_sprofiles *sp = d->resource_profiles[r]->scope_profiles[0];
            const char *t =
                d->dictionary->string_table[sp->profiles[0]->sample_type->type_strindex];
            mismatched += ((t[1] - '0') % 2 == 1) != odd;
        }
        CHECK(d->n_resource_profiles == 3 && mismatched == 0);
    }
    pg_exporter_helper_free(h);
    sink_free(&s);
}

static void test_batching_max_size_and_shutdown_flush(void)
{
    pg_exporter_helper_config c;
    fast_cfg(&c);
    c.sending_queue.num_consumers = 1;
    c.batch.enabled = true;
    c.batch.min_size = 6;
    c.batch.max_size = 6;
    c.batch.flush_timeout = 10000 * MS;
    sink s;
    sink_init(&s);
    pg_component_metrics cm;
    pg_exporter_helper *h = mk_helper("batch/max", &c, &s, &cm);
    /* 4 profiles x 3 samples = 12 > 6: split into 2 parts of 6 */
    pg_batch *big = mk(7, 4, 3, NULL), *want = pg_batch_clone(big, 0);
    CHECK(pg_exporter_helper_consume(h, big, NULL, 0) == 0);
    CHECK(sink_wait(&s, 4));
    CHECK(s.batches == 2 && s.samples == 12);
    CHECK(pg_batch_sample_count(s.got[0]) == 6 && pg_batch_sample_count(s.got[1]) == 6);
    /* the parts hold each input profile once, with the same content: every line of the
     * input's canonical rendering appears in the rendering of the parts merged back */
    for (int i = 0; i < 4; i++) {
        char t[16];
        snprintf(t, sizeof t, "t7_%d", i);
        CHECK(tag_count(&s, t) == 1);
    }
    pg_batch *joined = pg_batch_new(0);
    pg_batch_merge(joined, s.got[0], NULL, 0);
    pg_batch_merge(joined, s.got[1], NULL, 0);
    char *a = dump(want), *b = dump(joined);
    int missing = 0;
    for (char *line = strtok(a, "\n"); line; line = strtok(NULL, "\n"))
        missing += !strstr(b, line);
    CHECK_MSG(missing == 0, "%d lines of the input missing from the parts", missing);
    free(a);
    free(b);
    pg_batch_free(joined);
    pg_batch_free(want);
    CHECK(wait_empty(h));
    /* 4 + 4 samples: the second would pass max_size, so the first is flushed alone */
    CHECK(pg_exporter_helper_consume(h, mk(8, 1, 4, NULL), NULL, 0) == 0);
    CHECK(pg_exporter_helper_consume(h, mk(9, 1, 4, NULL), NULL, 0) == 0);
    CHECK(sink_wait(&s, 5));
    CHECK(s.batches == 3);
    /* the pending group is flushed by shutdown */
    pg_exporter_helper_shutdown(h, pg_now_mono_ns() + 2000 * MS);
    CHECK(s.batches == 4 && tag_count(&s, "t9_0") == 1);
    CHECK(pg_counter_get(cm.sent_profiles) == 6 && pg_counter_get(cm.failed_profiles) == 0);
    pg_exporter_helper_free(h);
    sink_free(&s);
}

int main(void)
{
    host = pg_host_new();
    test_batching_merges();
    test_batching_by_metadata_and_timeout();
    test_batching_max_size_and_shutdown_flush();
    pg_host_free(host);
    TEST_MAIN_END();
}
