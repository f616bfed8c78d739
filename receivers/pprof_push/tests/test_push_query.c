/* The pprof_push receiver's /ingest query: percent decoding, Pyroscope times, the name's
 * app and {labels} (service_name, __name__, reserved names, limits), sample_type_config. */
#include "pipeline/core/err.h"
#include "receivers/pprof_push/pprof_push_int.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

static const push_label_limits LIM = {4, 16, 16};
static const uint64_t NOW = 1700000000ull * 1000000000ull;

static void test_time(void)
{
    uint64_t t = 0;
    CHECK(push_time_parse("1700000000", NOW, &t) == 0 && t == 1700000000ull * 1000000000ull);
    CHECK(push_time_parse("1700000000123", NOW, &t) == 0 && t == 1700000000123ull * 1000000ull);
    CHECK(push_time_parse("1700000000123456", NOW, &t) == 0 && t == 1700000000123456ull * 1000ull);
    CHECK(push_time_parse("1700000000123456789", NOW, &t) == 0 && t == 1700000000123456789ull);
    CHECK(push_time_parse("now", NOW, &t) == 0 && t == NOW);
    CHECK(push_time_parse("now-1h", NOW, &t) == 0 && t == NOW - 3600ull * 1000000000ull);
    CHECK(push_time_parse("now-10s", NOW, &t) == 0 && t == NOW - 10ull * 1000000000ull);
    CHECK(push_time_parse("now-1y", NOW, &t) == PG_EINVAL);
    CHECK(push_time_parse("now+1h", NOW, &t) == PG_EINVAL);
    CHECK(push_time_parse("12x", NOW, &t) == PG_EINVAL);
    CHECK(push_time_parse("", NOW, &t) == PG_EINVAL);
    CHECK(push_time_parse("99999999999999999999999", NOW, &t) == PG_EINVAL);
}

static void test_query(void)
{
    push_query q;
    char err[256];
    CHECK(push_query_parse("name=my%2Bapp.cpu%7Benv%3Dprod%7D&from=1700000000&until=1700000010"
                           "&spyName=gospy&sampleRate=99&format=pprof&x=y",
                           NOW, &q, err, sizeof err) == 0);
    CHECK_STR(q.name, "my+app.cpu{env=prod}");
    CHECK_STR(q.format, "pprof");
    CHECK_STR(q.spy_name, "gospy");
    CHECK(q.from_ns == 1700000000ull * 1000000000ull);
    CHECK(q.until_ns == 1700000010ull * 1000000000ull);
    CHECK(q.sample_rate == 99);
    push_query_free(&q);
    CHECK(push_query_parse("name=a+b&sampleRate=-3", NOW, &q, err, sizeof err) == 0);
    CHECK_STR(q.name, "a b");
    CHECK_STR(q.format, "");
    CHECK(q.sample_rate == 100); /* invalid: the default, as Pyroscope */
    CHECK(q.from_ns == 0);
    push_query_free(&q);
    CHECK(push_query_parse("", NOW, &q, err, sizeof err) == 0 && q.name == NULL);
    push_query_free(&q);
    CHECK(push_query_parse("name=%zz", NOW, &q, err, sizeof err) == PG_EINVAL);
    CHECK(push_query_parse("name=%00", NOW, &q, err, sizeof err) == PG_EINVAL);
    CHECK(push_query_parse("name=%4", NOW, &q, err, sizeof err) == PG_EINVAL);
    CHECK(push_query_parse("from=yesterday", NOW, &q, err, sizeof err) == PG_EINVAL);
    CHECK(strstr(err, "from=") != NULL);
}

static void test_name(void)
{
    push_labels ls = {0};
    char err[256];
    CHECK(push_name_parse("myapp.cpu{env=prod, region = eu ,}", &LIM, &ls, err, sizeof err) == 0);
    CHECK(ls.service && strcmp(ls.service, "myapp") == 0);
    CHECK(ls.n == 2);
    CHECK_STR(ls.l[0].name, "env");
    CHECK_STR(ls.l[0].value, "prod");
    CHECK_STR(ls.l[1].name, "region");
    CHECK_STR(ls.l[1].value, "eu");
    push_labels_free(&ls);
    /* a suffix that is not a type stays; service_name wins; __name__ kept apart */
    CHECK(push_name_parse("a.b.web{service_name=svc,__name__=memory,__delta__=false,k=1,k=2}", &LIM,
                          &ls, err, sizeof err) == 0);
    CHECK_STR(ls.service, "svc");
    CHECK_STR(ls.profile_name, "memory");
    CHECK(ls.n == 1 && strcmp(ls.l[0].value, "2") == 0);
    push_labels_free(&ls);
    CHECK(push_name_parse("app.alloc_objects", &LIM, &ls, err, sizeof err) == 0);
    CHECK_STR(ls.service, "app");
    push_labels_free(&ls);
    CHECK(push_name_parse("", &LIM, &ls, err, sizeof err) == 0 && ls.service == NULL);
    push_labels_free(&ls);
    CHECK(push_name_parse("app{env=prod", &LIM, &ls, err, sizeof err) == PG_EINVAL);
    push_labels_free(&ls);
    CHECK(push_name_parse("app{env}", &LIM, &ls, err, sizeof err) == PG_EINVAL);
    push_labels_free(&ls);
    CHECK(push_name_parse("app{1bad=x}", &LIM, &ls, err, sizeof err) == PG_EINVAL);
    push_labels_free(&ls);
    CHECK(push_name_parse("app{a=1,b=2,c=3,d=4,e=5}", &LIM, &ls, err, sizeof err) == PG_ELIMIT);
    push_labels_free(&ls);
    CHECK(push_name_parse("app{a=12345678901234567}", &LIM, &ls, err, sizeof err) == PG_ELIMIT);
    push_labels_free(&ls);
    CHECK(push_name_parse("app{abcdefghijklmnopq=1}", &LIM, &ls, err, sizeof err) == PG_ELIMIT);
    push_labels_free(&ls);
}

static void test_sample_type_config(void)
{
    push_stc st;
    char err[256];
    const char *mutex = "{\"contentions\":{\"display-name\":\"mutex_count\",\"units\":"
                        "\"lock_samples\",\"cumulative\":true},\"delay\":{\"display-name\":"
                        "\"mutex_duration\"}}";
    CHECK(push_sample_type_config((const uint8_t *)mutex, strlen(mutex), &st, err, sizeof err) ==
          0);
    CHECK(st.n == 2 && strcmp(st.types[0], "contentions") == 0 &&
          strcmp(st.types[1], "delay") == 0);
    CHECK(st.cumulative[0] && !st.cumulative[1]);
    CHECK(st.profile_name && strcmp(st.profile_name, "mutex") == 0);
    push_stc_free(&st);
    const char *heap = "{\"alloc_space\":{\"units\":\"bytes\",\"cumulative\":false}}";
    CHECK(push_sample_type_config((const uint8_t *)heap, strlen(heap), &st, err, sizeof err) == 0);
    CHECK(st.n == 1 && st.profile_name == NULL && !st.cumulative[0]);
    push_stc_free(&st);
    CHECK(push_sample_type_config((const uint8_t *)"[1]", 3, &st, err, sizeof err) == PG_EINVAL);
    CHECK(push_sample_type_config((const uint8_t *)"{\"a\":1}", 7, &st, err, sizeof err) ==
          PG_EINVAL);
    CHECK(push_sample_type_config((const uint8_t *)"{", 1, &st, err, sizeof err) == PG_EINVAL);
}

int main(void)
{
    test_time();
    test_query();
    test_name();
    test_sample_type_config();
    TEST_MAIN_END();
}
