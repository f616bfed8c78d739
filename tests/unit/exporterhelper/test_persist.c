/* The persistent queue's file image and directory: encode/decode keeps tree, metadata,
 * origin and receive time; damaged images are rejected; write/load/remove, sequence
 * numbers across reopen, temp-file cleanup, quarantine, and the directory lock. */
#include "pipeline/core/dict.h"
#include "pipeline/core/edit.h"
#include "pipeline/core/err.h"
#include "pipeline/exporterhelper/exporterhelper.h"
#include "pipeline/exporterhelper/persist.h"
#include "pipeline/translate/otlp_dump.h"
#include "testfs.h"
#include "testlib.h"
#include "testdump.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static pg_batch *mk(const char *name, size_t nsamples)
{
    pg_batch *b = pg_batch_new(0);
    pg_arena *a = pg_batch_arena(b);
    pg_otlp_sprofiles *sp = pg_batch_add_scope(b, NULL);
    pg_profile *prof = pg_profile_add(b, sp, nsamples);
    pg_otlp_profile *pr = &prof->msg;
    pr->sample_type = pg_otlp_valuetype_new(a);
    pr->sample_type->type_strindex = pg_dict_string(b, name, strlen(name));
    for (size_t i = 0; i < nsamples; i++) {
        int32_t f = pg_dict_function(b, pg_dict_string(b, "main", 4), 0, 0, 0);
        pg_otlp_line line = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LINE__INIT, *lp = &line;
        line.function_index = f;
        line.line = (int64_t)i;
        pg_otlp_location l = OPENTELEMETRY__PROTO__PROFILES__V1DEVELOPMENT__LOCATION__INIT;
        l.lines = &lp;
        l.n_lines = 1;
        int32_t loc = pg_dict_location(b, &l);
        pg_sample_set_stack(b, prof, i, pg_dict_stack(b, &loc, 1));
        pg_sample_set_value(b, prof, i, 0, (int64_t)i + 1);
    }
    return b;
}

static char *dump(const pg_batch *b)
{
    return pg_test_dump(b);
}

static void test_image_roundtrip(void)
{
    pg_batch *b = mk("cpu", 5);
    pg_batch_meta_set(b, "X-Tenant", "acme");
    pg_batch_meta_set(b, "x-scope-orgid", "");
    pg_batch_set_origin(b, "otlp/in", 1234567890123ull);
    pg_buf img = {0};
    char err[256] = "";
    CHECK(pg_persist_encode(b, &img, err, sizeof err) == 0);
    pg_batch *c = NULL;
    CHECK_MSG(pg_persist_decode(img.data, img.len, &c, err, sizeof err) == 0, "%s", err);
    if (c) {
        char *x = dump(b), *y = dump(c);
        CHECK_STR(x, y);
        free(x);
        free(y);
        CHECK_STR(pg_batch_meta_get(c, "x-tenant"), "acme");
        CHECK_STR(pg_batch_meta_get(c, "x-scope-orgid"), "");
        CHECK(pg_batch_meta_count(c) == 2);
        CHECK_STR(pg_batch_origin(c), "otlp/in");
        CHECK(pg_batch_received(c) == 1234567890123ull);
    }
    pg_batch_free(c);
    /* one flipped bit anywhere, or a cut, is caught */
    int caught = 0, tried = 0;
    for (size_t i = 0; i < img.len; i += 7) {
        img.data[i] ^= 0x10;
        c = NULL;
        caught += pg_persist_decode(img.data, img.len, &c, err, sizeof err) == PG_EINVAL && !c;
        tried++;
        img.data[i] ^= 0x10;
        pg_batch_free(c);
    }
    CHECK(caught == tried);
    c = NULL;
    CHECK(pg_persist_decode(img.data, img.len - 3, &c, err, sizeof err) == PG_EINVAL && !c);
    CHECK(pg_persist_decode(img.data, 5, &c, err, sizeof err) == PG_EINVAL && !c);
    CHECK_STR(err, "not a persistent queue file (bad magic)");
    pg_buf_free(&img);
    pg_batch_free(b);
}

static void test_directory(int policy)
{
    char dir[] = "/tmp/pg-persist-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char sub[128], err[256] = "";
    snprintf(sub, sizeof sub, "%s/a/b", dir); /* created with parents */
    pg_persist *p = NULL;
    CHECK_MSG(pg_persist_open(sub, policy, "t", &p, err, sizeof err) == 0, "%s", err);
    if (!p) return;
    pg_persist *p2 = NULL;
    CHECK(pg_persist_open(sub, policy, "t", &p2, err, sizeof err) == PG_EAGAIN && !p2);
    CHECK(strstr(err, "is in use") != NULL);
    uint64_t seq[3];
    for (int i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof name, "b%d", i);
        pg_batch *b = mk(name, 2);
        pg_buf img = {0};
        pg_persist_encode(b, &img, NULL, 0);
        CHECK(pg_persist_write(p, &img, &seq[i], err, sizeof err) == 0);
        pg_buf_free(&img);
        pg_batch_free(b);
    }
    CHECK(seq[0] == 1 && seq[1] == 2 && seq[2] == 3);
    CHECK(count_files(sub, ".pgq") == 3);
    pg_persist_remove(p, seq[0]);
    pg_persist_close(p);
    /* leftovers are listed in order, temp files deleted, garbage names ignored */
    char path[256];
    snprintf(path, sizeof path, "%s/.tmp-00000000000000000009", sub);
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    close(fd);
    snprintf(path, sizeof path, "%s/notes.txt", sub);
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    close(fd);
    CHECK(pg_persist_open(sub, policy, "t", &p, err, sizeof err) == 0);
    const pg_persist_entry *left;
    size_t n = pg_persist_leftovers(p, &left);
    CHECK(n == 2 && left[0].seq == 2 && left[1].seq == 3 && left[0].size > 0);
    snprintf(path, sizeof path, "%s/.tmp-00000000000000000009", sub);
    CHECK(access(path, F_OK) != 0);
    pg_batch *b = NULL;
    CHECK(pg_persist_load(p, 3, &b, err, sizeof err) == 0 && b);
    CHECK(b && pg_batch_sample_count(b) == 2);
    pg_batch_free(b);
    /* the next sequence number follows the highest left over */
    pg_batch *nb = mk("next", 1);
    pg_buf img = {0};
    pg_persist_encode(nb, &img, NULL, 0);
    uint64_t s4 = 0;
    CHECK(pg_persist_write(p, &img, &s4, err, sizeof err) == 0 && s4 == 4);
    pg_buf_free(&img);
    pg_batch_free(nb);
    /* a damaged file is quarantined */
    snprintf(path, sizeof path, "%s/00000000000000000002.pgq", sub);
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(write(fd, "PGQ1garbage", 11) == 11);
    close(fd);
    b = NULL;
    CHECK(pg_persist_load(p, 2, &b, err, sizeof err) == PG_EINVAL && !b);
    CHECK(access(path, F_OK) != 0);
    snprintf(path, sizeof path, "%s/corrupt", sub);
    CHECK(count_files(path, "00000000000000000002.pgq") == 1);
    CHECK(pg_persist_load(p, 99, &b, err, sizeof err) == PG_EIO && !b);
    pg_persist_close(p);
    rm_rf(dir);
}

int main(void)
{
    test_image_roundtrip();
    test_directory(PG_FSYNC_NEVER);
    test_directory(PG_FSYNC_BATCH);
    test_directory(PG_FSYNC_ALWAYS);
    TEST_MAIN_END();
}
