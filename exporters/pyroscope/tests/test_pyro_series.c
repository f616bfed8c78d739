/* The pyroscope exporter's series: labels from the resource (service.name, profile name,
 * spy, sanitised names, __-names skipped, external labels overriding, __name__ derived
 * from the sample type), the push.v1 encoding read back with protobuf-c, the /ingest
 * query, and Pyroscope's profile type names. */
#include "exporters/pyroscope/pyroscope_int.h"
#include "pipeline/core/err.h"
#include "pipeline/translate/pprof.h"
#include "pyroscope/push/v1/push.pb-c.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends a string attribute to the last resource of b. */
static void attr(pg_batch *b, const char *k, const char *v)
{
    pg_arena *a = pg_batch_arena(b);
    pg_otlp_data *d = pg_batch_data(b);
    pg_otlp_rprofiles *rp = d->resource_profiles[d->n_resource_profiles - 1];
    if (!rp->resource) rp->resource = pg_otlp_resource_new(a);
    pg_otlp_kv *kv = pg_otlp_kv_new(a);
    pg_otlp_any *val = pg_otlp_any_new(a);
    kv->key = pg_arena_strndup(a, k, strlen(k));
    val->value_case = PG_ANY_STRING;
    val->string_value = pg_arena_strndup(a, v, strlen(v));
    kv->value = val;
    pg_otlp_push(a, (void ***)&rp->resource->attributes, &rp->resource->n_attributes, kv);
}

static const char *label(const pyro_series *s, const char *name)
{
    for (size_t i = 0; i < s->n_labels; i++)
        if (strcmp(s->labels[i].name, name) == 0) return s->labels[i].value;
    return NULL;
}

static void test_names(void)
{
    CHECK_STR(pyro_profile_name("cpu"), "process_cpu");
    CHECK_STR(pyro_profile_name("samples"), "process_cpu");
    CHECK_STR(pyro_profile_name("alloc_space"), "memory");
    CHECK_STR(pyro_profile_name("inuse_objects"), "memory");
    CHECK_STR(pyro_profile_name("contentions"), "mutex");
    CHECK_STR(pyro_profile_name("goroutine"), "goroutines");
    CHECK_STR(pyro_profile_name("wall"), "wall");
    CHECK_STR(pyro_profile_name("custom"), "custom");
}

static void test_series(const char *data_dir)
{
    char path[1024], err[256];
    snprintf(path, sizeof path, "%s/roundtrip/node-wall.pb.gz", data_dir);
    pg_buf in = {0};
    CHECK(pg_buf_read_file(&in, path, 0, err, sizeof err) == 0);
    pg_batch *b = pg_batch_new(0);
    CHECK(pg_pprof_decode(b, in.data, in.len, NULL, NULL, err, sizeof err) == 0);
    attr(b, "service.name", "svc");
    attr(b, "k8s.pod.name", "pod-1");
    attr(b, "__delta__", "false");
    attr(b, "pyroscope_spy", "nodespy");
    attr(b, "region", "a,b");
    char *keys[] = {"cluster", "region"}, *vals[] = {"c1", "eu"};
    pg_cfg_strmap ext = {keys, vals, 2};
    pyro_series *s = NULL;
    size_t n = 0;
    CHECK(pyro_series_build(b, &ext, &s, &n, err, sizeof err) == 0);
    CHECK(n == 1);
    if (n == 1) {
        CHECK_STR(label(&s[0], "service_name"), "svc");
        CHECK(label(&s[0], "__name__") && strcmp(label(&s[0], "__name__"), "wall") == 0);
        CHECK(label(&s[0], "k8s_pod_name") && strcmp(label(&s[0], "k8s_pod_name"), "pod-1") == 0);
        CHECK(label(&s[0], "__delta__") == NULL);
        CHECK_STR(label(&s[0], "cluster"), "c1");
        CHECK_STR(label(&s[0], "region"), "eu"); /* external overrides */
        CHECK(s[0].spy && strcmp(s[0].spy, "nodespy") == 0);
        CHECK(s[0].pprof.len > 2 && s[0].pprof.data[0] == 0x1f && s[0].pprof.data[1] == 0x8b);

        pg_buf body = {0};
        CHECK(pyro_push_encode(s, n, &body) == 0);
        Push__V1__PushRequest *m = push__v1__push_request__unpack(NULL, body.len, body.data);
        CHECK(m && m->n_series == 1);
        if (m && m->n_series == 1) {
            CHECK(m->series[0]->n_labels == s[0].n_labels);
            CHECK(m->series[0]->n_samples == 1 &&
                  m->series[0]->samples[0]->raw_profile.len == s[0].pprof.len &&
                  memcmp(m->series[0]->samples[0]->raw_profile.data, s[0].pprof.data,
                         s[0].pprof.len) == 0);
        }
        if (m) push__v1__push_request__free_unpacked(m, NULL);
        pg_buf_free(&body);

        pg_buf q = {0};
        size_t skipped = 0;
        s[0].time_ns = 1700000000ull * 1000000000ull;
        s[0].duration_ns = 10ull * 1000000000ull;
        CHECK(pyro_ingest_query(&s[0], &q, &skipped) == 0);
        const char *qs = (const char *)q.data;
        CHECK_MSG(strncmp(qs, "name=svc%7B", 11) == 0, "%s", qs);
        CHECK_MSG(strstr(qs, "k8s_pod_name%3Dpod-1") != NULL, "%s", qs);
        CHECK_MSG(strstr(qs, "__name__") == NULL, "%s", qs);
        CHECK_MSG(strstr(qs, "&from=1700000000&until=1700000010") != NULL, "%s", qs);
        CHECK_MSG(strstr(qs, "&spyName=nodespy") != NULL, "%s", qs);
        CHECK(skipped == 0);
        pg_buf_free(&q);
        /* a value the name{} syntax cannot hold is left out and counted */
        free(s[0].labels[0].value);
        s[0].labels[0].value = strdup("x}y");
        const char *first = s[0].labels[0].name;
        q = (pg_buf){0};
        CHECK(pyro_ingest_query(&s[0], &q, &skipped) == 0);
        if (strcmp(first, "service_name") != 0 && strcmp(first, "__name__") != 0 &&
            strcmp(first, "pyroscope_spy") != 0)
            CHECK(skipped == 1);
        pg_buf_free(&q);
    }
    pyro_series_free(s, n);
    pg_batch_free(b);
    pg_buf_free(&in);
}

int main(int argc, char **argv)
{
    test_names();
    test_series(argc > 1 ? argv[1] : "tests/data");
    TEST_MAIN_END();
}
