/* The exporter helper's config tables: well-formed, the defaults of exporterhelper.h
 * (equal to pg_exporter_helper_config_default), values decoded from YAML through
 * PG_EXPORTER_HELPER_FIELDS, bounds and enum errors, and the cross-field checks. */
#include "pipeline/config/config.h"
#include "pipeline/core/err.h"
#include "pipeline/exporterhelper/exporterhelper.h"
#include "testlib.h"

#include <stdlib.h>

typedef struct fake_exp {
    char *endpoint;
    pg_exporter_helper_config helper;
} fake_exp;

static const pg_cfg_field FAKE_EXP[] = {
    {.key = "endpoint", .type = PG_CFG_STRING, .offset = offsetof(fake_exp, endpoint)},
    PG_EXPORTER_HELPER_FIELDS(fake_exp, helper),
    {0},
};
static const pg_cfg_field NO_FIELDS[] = {{0}};
static const pg_cfg_component_desc EXP_DESC = {.table = FAKE_EXP, .size = sizeof(fake_exp)};
static const pg_cfg_component_desc RCV_DESC = {.table = NO_FIELDS, .size = sizeof(int)};

static const pg_cfg_component_desc *lookup(void *ud, pg_cfg_kind kind, const char *type)
{
    (void)ud;
    if (kind == PG_CFG_EXPORTER && !strcmp(type, "fake")) return &EXP_DESC;
    if (kind == PG_CFG_RECEIVER && !strcmp(type, "src")) return &RCV_DESC;
    return NULL;
}

static const pg_cfg_registry REG = {lookup, NULL, NULL};

static pg_config *load(const char *yaml, pg_cfg_diags *d)
{
    pg_cfg_source src = {"test.yaml", yaml, strlen(yaml)};
    pg_config *cfg = NULL;
    pg_config_load(&src, 1, &REG, &cfg, d);
    return cfg;
}

static void test_tables(void)
{
    char err[256] = "";
    CHECK_MSG(pg_cfg_table_check(pg_queue_fields, err, sizeof err) == 0, "%s", err);
    CHECK_MSG(pg_cfg_table_check(pg_retry_fields, err, sizeof err) == 0, "%s", err);
    CHECK_MSG(pg_cfg_table_check(pg_batch_fields, err, sizeof err) == 0, "%s", err);
    CHECK_MSG(pg_cfg_table_check(FAKE_EXP, err, sizeof err) == 0, "%s", err);
}

static void test_defaults(void)
{
    pg_cfg_diags *d = pg_cfg_diags_new();
    pg_config *cfg =
        load("receivers: {src: }\nexporters: {fake: }\n"
             "service: {pipelines: {profiles: {receivers: [src], exporters: [fake]}}}\n",
             d);
    CHECK(cfg != NULL);
    if (!cfg) pg_cfg_diags_write(d, PG_CFG_ERROR, stderr);
    const pg_cfg_component *c = cfg ? pg_config_find(cfg, PG_CFG_EXPORTER, "fake") : NULL;
    if (c) {
        const fake_exp *f = c->cfg;
        pg_exporter_helper_config want;
        pg_exporter_helper_config_default(&want);
        const pg_exporter_helper_config *g = &f->helper;
        CHECK(g->timeout == want.timeout);
        CHECK(g->sending_queue.enabled == want.sending_queue.enabled &&
              g->sending_queue.num_consumers == want.sending_queue.num_consumers &&
              g->sending_queue.queue_size == want.sending_queue.queue_size &&
              g->sending_queue.queue_bytes == want.sending_queue.queue_bytes &&
              g->sending_queue.block_on_overflow == want.sending_queue.block_on_overflow &&
              g->sending_queue.directory == NULL &&
              g->sending_queue.fsync == want.sending_queue.fsync);
        CHECK(g->retry_on_failure.enabled == want.retry_on_failure.enabled &&
              g->retry_on_failure.initial_interval == want.retry_on_failure.initial_interval &&
              g->retry_on_failure.max_interval == want.retry_on_failure.max_interval &&
              g->retry_on_failure.max_elapsed_time == want.retry_on_failure.max_elapsed_time &&
              g->retry_on_failure.multiplier == want.retry_on_failure.multiplier &&
              g->retry_on_failure.randomization_factor ==
                  want.retry_on_failure.randomization_factor);
        CHECK(g->batch.enabled == want.batch.enabled &&
              g->batch.flush_timeout == want.batch.flush_timeout &&
              g->batch.min_size == want.batch.min_size && g->batch.max_size == want.batch.max_size);
        CHECK(f->helper.timeout == 5000000000LL && f->helper.sending_queue.queue_size == 1000);
        CHECK(f->helper.sending_queue.fsync == PG_FSYNC_BATCH && !f->helper.batch.enabled);
        CHECK(f->helper.retry_on_failure.max_elapsed_time == 300000000000LL);
        CHECK(pg_exporter_helper_config_validate(&f->helper, NULL, 0) == 0);
    }
    pg_config_free(cfg);
    pg_cfg_diags_free(d);
}

static void test_values(void)
{
    pg_cfg_diags *d = pg_cfg_diags_new();
    pg_config *cfg =
        load("receivers: {src: }\n"
             "exporters:\n"
             "  fake:\n"
             "    timeout: 2s\n"
             "    sending_queue:\n"
             "      num_consumers: 4\n"
             "      queue_size: 50\n"
             "      queue_bytes: 8MiB\n"
             "      block_on_overflow: true\n"
             "      directory: /var/lib/profgate/q\n"
             "      fsync: ALWAYS\n"
             "    retry_on_failure: {initial_interval: 100ms, max_elapsed_time: 0}\n"
             "    batch: {enabled: true, min_size: 100, max_size: 1000, flush_timeout: 1s}\n"
             "service: {pipelines: {profiles: {receivers: [src], exporters: [fake]}}}\n",
             d);
    CHECK(cfg != NULL);
    if (!cfg) pg_cfg_diags_write(d, PG_CFG_ERROR, stderr);
    const pg_cfg_component *c = cfg ? pg_config_find(cfg, PG_CFG_EXPORTER, "fake") : NULL;
    if (c) {
        const pg_exporter_helper_config *h = &((const fake_exp *)c->cfg)->helper;
        CHECK(h->timeout == 2000000000LL);
        CHECK(h->sending_queue.num_consumers == 4 && h->sending_queue.queue_size == 50);
        CHECK(h->sending_queue.queue_bytes == 8u << 20 && h->sending_queue.block_on_overflow);
        CHECK_STR(h->sending_queue.directory, "/var/lib/profgate/q");
        CHECK(h->sending_queue.fsync == PG_FSYNC_ALWAYS);
        CHECK(h->retry_on_failure.initial_interval == 100000000LL);
        CHECK(h->retry_on_failure.max_interval == 30000000000LL); /* default kept */
        CHECK(h->retry_on_failure.max_elapsed_time == 0);
        CHECK(h->batch.enabled && h->batch.min_size == 100 && h->batch.max_size == 1000);
        CHECK(pg_exporter_helper_config_validate(h, NULL, 0) == 0);
    }
    pg_config_free(cfg);
    pg_cfg_diags_clear(d);
    cfg = load("receivers: {src: }\n"
               "exporters:\n"
               "  fake:\n"
               "    sending_queue: {fsync: sometimes, num_consumers: 0}\n"
               "    retry_on_failure: {randomization_factor: 2}\n"
               "service: {pipelines: {profiles: {receivers: [src], exporters: [fake]}}}\n",
               d);
    CHECK(cfg == NULL && pg_cfg_diags_count(d, PG_CFG_ERROR) == 3);
    pg_config_free(cfg);
    pg_cfg_diags_free(d);
}

static void test_validate(void)
{
    pg_exporter_helper_config c;
    char err[256] = "";
    pg_exporter_helper_config_default(&c);
    c.sending_queue.enabled = false;
    c.sending_queue.directory = "/tmp/x";
    CHECK(pg_exporter_helper_config_validate(&c, err, sizeof err) == PG_EINVAL);
    CHECK_STR(err, "sending_queue.directory needs sending_queue.enabled: true");
    pg_exporter_helper_config_default(&c);
    c.batch.enabled = true;
    c.batch.min_size = 100;
    c.batch.max_size = 10;
    CHECK(pg_exporter_helper_config_validate(&c, err, sizeof err) == PG_EINVAL);
    CHECK_STR(err, "batch.max_size is below batch.min_size");
    pg_exporter_helper_config_default(&c);
    c.retry_on_failure.max_interval = 1000;
    CHECK(pg_exporter_helper_config_validate(&c, err, sizeof err) == PG_EINVAL);
    pg_exporter_helper_config_default(&c);
    c.retry_on_failure.enabled = false;
    c.retry_on_failure.max_interval = 0; /* unused when disabled */
    CHECK(pg_exporter_helper_config_validate(&c, err, sizeof err) == 0);
}

int main(void)
{
    test_tables();
    test_defaults();
    test_values();
    test_validate();
    TEST_MAIN_END();
}
