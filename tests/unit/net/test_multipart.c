/* multipart/form-data: boundary parameter, parsing what Go's mime/multipart and curl -F
 * write (CRLF), bare LF, preamble and epilogue, quoted names, broken bodies, the part cap,
 * and the writer read back by the parser. */
#include "pipeline/core/err.h"
#include "pipeline/net/multipart.h"
#include "testlib.h"

#include <string.h>

static void test_boundary(void)
{
    char b[PG_MULTIPART_MAX_BOUNDARY + 1], err[256];
    CHECK(pg_multipart_boundary("multipart/form-data; boundary=abc123", b, sizeof b, err,
                                sizeof err) == 0);
    CHECK_STR(b, "abc123");
    CHECK(pg_multipart_boundary("Multipart/Form-Data;charset=utf-8; BOUNDARY=\"a b;c\"", b,
                                sizeof b, err, sizeof err) == 0);
    CHECK_STR(b, "a b;c");
    CHECK(pg_multipart_boundary("application/octet-stream", b, sizeof b, err, sizeof err) ==
          PG_EUNSUP);
    CHECK(pg_multipart_boundary(NULL, b, sizeof b, err, sizeof err) == PG_EUNSUP);
    CHECK(pg_multipart_boundary("multipart/form-datax; boundary=a", b, sizeof b, err, sizeof err) ==
          PG_EUNSUP);
    CHECK(pg_multipart_boundary("multipart/form-data", b, sizeof b, err, sizeof err) == PG_EINVAL);
    CHECK(pg_multipart_boundary("multipart/form-data; boundary=", b, sizeof b, err, sizeof err) ==
          PG_EINVAL);
    char longb[200] = "multipart/form-data; boundary=";
    memset(longb + strlen(longb), 'x', 71);
    CHECK(pg_multipart_boundary(longb, b, sizeof b, err, sizeof err) == PG_EINVAL);
}

static int parse(const char *body, const char *bnd, pg_multipart_part *p, size_t max, size_t *n)
{
    char err[256];
    return pg_multipart_parse((const uint8_t *)body, strlen(body), bnd, p, max, n, err, sizeof err);
}

static void test_parse(void)
{
    pg_multipart_part p[4];
    size_t n = 0;
    const char *go =
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"profile\"; filename=\"profile.pprof\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n"
        "\x1f\x8b\r\n--XyZ-not-quite\r\n"
        "\r\n--XyZ\r\n"
        "Content-Disposition: form-data; name=\"sample_type_config\"\r\n\r\n"
        "{\"a\":{}}\r\n--XyZ--\r\nepilogue";
    CHECK(parse(go, "XyZ", p, 4, &n) == 0);
    CHECK(n == 2);
    CHECK_STR(p[0].name, "profile");
    CHECK_STR(p[0].filename, "profile.pprof");
    CHECK_STR(p[0].content_type, "application/octet-stream");
    CHECK(p[0].len == strlen("\x1f\x8b\r\n--XyZ-not-quite\r\n") &&
          memcmp(p[0].data, "\x1f\x8b\r\n--XyZ-not-quite\r\n", p[0].len) == 0);
    CHECK_STR(p[1].name, "sample_type_config");
    CHECK(p[1].len == 8 && memcmp(p[1].data, "{\"a\":{}}", 8) == 0);
    CHECK(pg_multipart_find(p, n, "sample_type_config") == &p[1]);
    CHECK(pg_multipart_find(p, n, "prev_profile") == NULL);

    /* preamble, LF line ends, padding after the delimiter, an empty part, name unquoted */
    const char *lf = "preamble\n--b  \nContent-Disposition: form-data; name=x\n\n\n--b\n"
                     "content-disposition: form-data; name=\"q\\\"t\"\n\nv\n--b--";
    CHECK(parse(lf, "b", p, 4, &n) == 0);
    CHECK(n == 2 && p[0].len == 0 && strcmp(p[0].name, "x") == 0);
    CHECK_STR(p[1].name, "q\"t");
    CHECK(p[1].len == 1 && p[1].data[0] == 'v');

    /* broken bodies */
    CHECK(parse("no delimiter at all", "b", p, 4, &n) == PG_EINVAL);
    CHECK(parse("--b\r\nContent-Disposition: form-data; name=a\r\n\r\ndata", "b", p, 4, &n) ==
          PG_EINVAL); /* no closing delimiter */
    CHECK(parse("--b\r\nContent-Disposition: form-data; name=a", "b", p, 4, &n) == PG_EINVAL);
    CHECK(parse("--b\r\nno colon here\r\n\r\nx\r\n--b--", "b", p, 4, &n) == PG_EINVAL);
    CHECK(parse("--bX", "b", p, 4, &n) == PG_EINVAL);
    CHECK(parse("--b", "b", p, 4, &n) == PG_EINVAL); /* cut after the delimiter */
    CHECK(parse("--b\r\nContent-Disposition: form-data; name=\"open\r\n\r\nx\r\n--b--", "b", p, 4,
                &n) == PG_EINVAL);
    /* more parts than allowed */
    CHECK(parse("--b\r\n\r\n1\r\n--b\r\n\r\n2\r\n--b\r\n\r\n3\r\n--b--", "b", p, 2, &n) ==
          PG_ELIMIT);
    CHECK(parse("--b\r\n\r\n1\r\n--b\r\n\r\n2\r\n--b--", "b", p, 2, &n) == 0 && n == 2);
}

static void test_write(void)
{
    pg_buf out = {0};
    const uint8_t bin[] = {0x1f, 0x8b, 0, '\r', '\n', '-', '-'};
    CHECK(pg_multipart_write_part(&out, "bnd42", "profile", "profile.pprof",
                                  "application/octet-stream", bin, sizeof bin) == 0);
    CHECK(pg_multipart_write_part(&out, "bnd42", "sample_type_config", "c.json", NULL, "{}", 2) ==
          0);
    CHECK(pg_multipart_write_end(&out, "bnd42") == 0);
    pg_multipart_part p[4];
    size_t n = 0;
    char err[256];
    CHECK(pg_multipart_parse(out.data, out.len, "bnd42", p, 4, &n, err, sizeof err) == 0);
    CHECK(n == 2);
    CHECK(p[0].len == sizeof bin && memcmp(p[0].data, bin, sizeof bin) == 0);
    CHECK_STR(p[0].filename, "profile.pprof");
    CHECK(p[1].len == 2 && memcmp(p[1].data, "{}", 2) == 0);
    pg_buf_free(&out);
}

int main(void)
{
    test_boundary();
    test_parse();
    test_write();
    TEST_MAIN_END();
}
