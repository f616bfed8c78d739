/* The one format sniffer and decoder entry point (pipeline/translate/format.h): format names,
 * JSON after a BOM or whitespace, each format's first bytes, gzip and zstd prefixes, empty
 * and truncated input, ambiguous and mixed layouts, bytes that are neither, bombs judged on
 * a bounded prefix, and decoder errors that name the guess. argv[1] is the data folder. */
#include "testlib.h"

#include "pipeline/core/decompress.h"
#include "pipeline/core/err.h"
#include "pipeline/core/wire.h"
#include "pipeline/translate/format.h"
#include "pipeline/translate/otlp_codec.h"

#include <stdlib.h>
#include <zstd.h>

static char corpus[512];

static int read_file(const char *rel, pg_buf *out)
{
    char path[700], err[256];
    snprintf(path, sizeof path, "%s/%s", corpus, rel);
    memset(out, 0, sizeof *out);
    int rc = pg_buf_read_file(out, path, 0, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    return rc;
}

/* Sniffs n bytes of s; returns the guess (reason printed when a check fails). */
static pg_format_guess sniff(const void *s, size_t n, int whole)
{
    pg_format_guess g;
    pg_format_sniff(s, n, whole, &g);
    return g;
}

#define CHECK_GUESS(g, fmt)                                                                        \
    CHECK_MSG((g).format == (fmt), "got %s (%s), want %s", pg_format_name((g).format), (g).reason, \
              pg_format_name(fmt))

static void test_names(void)
{
    char err[256] = "";
    pg_format f = PG_FORMAT_UNKNOWN;
    for (pg_format k = PG_FORMAT_PPROF; k <= PG_FORMAT_OTLP_JSON; k++) {
        CHECK(pg_format_parse(pg_format_name(k), &f, err, sizeof err) == 0 && f == k);
    }
    CHECK_STR(pg_format_name(PG_FORMAT_OTLP_PROTO), "otlp_proto");
    CHECK_STR(pg_format_name(PG_FORMAT_UNKNOWN), "unknown");
    static const char *const old[] = {"otlp", "otlp-json", "json", "auto", "PPROF", ""};
    for (size_t i = 0; i < sizeof old / sizeof *old; i++) {
        f = PG_FORMAT_PPROF;
        CHECK(pg_format_parse(old[i], &f, err, sizeof err) == PG_EINVAL && f == PG_FORMAT_PPROF);
        CHECK_MSG(strstr(err, "accepted: pprof, otlp_proto, otlp_json") != NULL, "%s", err);
    }
}

static void test_json(void)
{
    static const char bom[] = "\xef\xbb\xbf{\"resourceProfiles\":[]}";
    pg_format_guess g = sniff(bom, sizeof bom - 1, 1);
    CHECK_GUESS(g, PG_FORMAT_OTLP_JSON);
    CHECK_MSG(strstr(g.reason, "BOM") != NULL, "%s", g.reason);
    g = sniff(" \r\n\t{ \n \"resourceProfiles\": []}", 32, 1);
    CHECK_GUESS(g, PG_FORMAT_OTLP_JSON);
    CHECK_MSG(strstr(g.reason, "whitespace") != NULL, "%s", g.reason);
    CHECK_GUESS(sniff("{}", 2, 1), PG_FORMAT_OTLP_JSON);
    CHECK_GUESS(sniff("{  ", 3, 0), PG_FORMAT_OTLP_JSON); /* a prefix cut after '{' */
    /* text that is not a JSON object */
    CHECK_GUESS(sniff("\xef\xbb\xbfhello", 8, 1), PG_FORMAT_UNKNOWN);
    CHECK_GUESS(sniff("\xef\xbb\xbf", 3, 1), PG_FORMAT_UNKNOWN);
    CHECK_GUESS(sniff("  \n ", 4, 1), PG_FORMAT_UNKNOWN);
    CHECK_GUESS(sniff("[1,2]", 5, 1), PG_FORMAT_UNKNOWN);
    CHECK_GUESS(sniff("hello world", 11, 1), PG_FORMAT_UNKNOWN);
    /* "\n{" then no JSON: protobuf field 1 of 123 bytes, not JSON (here cut short) */
    static const uint8_t pb[] = {0x0a, 0x7b, 0x08, 0x01, 0x10, 0x02};
    g = sniff(pb, sizeof pb, 0);
    CHECK(g.format != PG_FORMAT_OTLP_JSON);
    CHECK_GUESS(g, PG_FORMAT_PPROF); /* its payload holds varints: a ValueType */
}

static void test_empty(void)
{
    pg_format_guess g = sniff("", 0, 1);
    CHECK_GUESS(g, PG_FORMAT_UNKNOWN);
    CHECK(g.empty && strcmp(g.reason, "empty input") == 0);
    g = sniff("", 0, 0);
    CHECK(g.format == PG_FORMAT_UNKNOWN && !g.empty);
}

static void test_first_bytes(void)
{
    /* pprof: sample_type {type 1, unit 2}, string_table "" */
    static const uint8_t pprof[] = {0x0a, 0x04, 0x08, 0x01, 0x10, 0x02, 0x32, 0x00};
    pg_format_guess g = sniff(pprof, sizeof pprof, 1);
    CHECK_GUESS(g, PG_FORMAT_PPROF);
    CHECK_MSG(strstr(g.reason, "string_table") != NULL, "%s", g.reason);
    CHECK(!g.truncated && !g.ambiguous);
    /* pprof with only sample_type: the ValueType's varints decide */
    g = sniff(pprof, 6, 1);
    CHECK_GUESS(g, PG_FORMAT_PPROF);
    CHECK_MSG(strstr(g.reason, "varints") != NULL, "%s", g.reason);
    /* a scalar first (Go writes time_nanos early in some encoders) */
    static const uint8_t scalar[] = {0x48, 0x80, 0x01};
    CHECK_GUESS(sniff(scalar, sizeof scalar, 1), PG_FORMAT_PPROF);
    /* OTLP: resource_profiles {resource {}, scope_profiles {}} */
    static const uint8_t otlp[] = {0x0a, 0x04, 0x0a, 0x00, 0x12, 0x00, 0x12, 0x00};
    g = sniff(otlp, sizeof otlp, 1);
    CHECK_GUESS(g, PG_FORMAT_OTLP_PROTO);
    CHECK(!g.ambiguous);
    /* the corpus, plain and compressed */
    static const struct {
        const char *rel;
        pg_format want;
    } files[] = {
        {"pprof/go_cpu.pb.gz", PG_FORMAT_PPROF},
        {"pprof/go_heap.pb.gz", PG_FORMAT_PPROF},
        {"pprof/go_cpu_plain.pb", PG_FORMAT_PPROF},
        {"pprof/regress-zero-types-null-values.pb", PG_FORMAT_PPROF},
        {"otlp/go_cpu.otlp", PG_FORMAT_OTLP_PROTO},
        {"otlp/go_heap.otlp", PG_FORMAT_OTLP_PROTO},
        {"otlp_json/go_cpu.json", PG_FORMAT_OTLP_JSON},
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        pg_buf in;
        if (read_file(files[i].rel, &in)) {
            CHECK_MSG(0, "cannot read %s", files[i].rel);
            continue;
        }
        pg_format_sniff_input(in.data, in.len, &g);
        CHECK_MSG(g.format == files[i].want, "%s: %s (%s)", files[i].rel, pg_format_name(g.format),
                  g.reason);
        CHECK_MSG(!g.truncated && !g.ambiguous, "%s: %s", files[i].rel, g.reason);
        pg_buf_free(&in);
    }
}

static void test_ambiguous_and_mixed(void)
{
    /* only field 2, which both formats write: OTLP by default, flagged */
    static const uint8_t f2[] = {0x12, 0x02, 0x0a, 0x00};
    pg_format_guess g = sniff(f2, sizeof f2, 1);
    CHECK_GUESS(g, PG_FORMAT_OTLP_PROTO);
    CHECK_MSG(g.ambiguous && strstr(g.reason, "assumed"), "%s", g.reason);
    /* an empty field 1 says nothing either */
    static const uint8_t f1[] = {0x0a, 0x00, 0x12, 0x00};
    g = sniff(f1, sizeof f1, 1);
    CHECK(g.format == PG_FORMAT_OTLP_PROTO && g.ambiguous);
    /* field 1 shaped like OTLP, then pprof's string table: neither */
    static const uint8_t mixed[] = {0x0a, 0x02, 0x0a, 0x00, 0x32, 0x00};
    g = sniff(mixed, sizeof mixed, 1);
    CHECK_GUESS(g, PG_FORMAT_UNKNOWN);
    CHECK_MSG(strstr(g.reason, "mixed") != NULL, "%s", g.reason);
    /* bytes neither writes: field 0, a group, field 1 as a varint, field 99, wrong wire type */
    static const uint8_t bad[][3] = {{0x00, 0x01, 0x02},
                                     {0x0b, 0x0c, 0x00},
                                     {0x08, 0x01, 0x00},
                                     {0x98, 0x06, 0x00},
                                     {0x35, 0x00, 0x00}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        g = sniff(bad[i], 3, 1);
        CHECK_MSG(g.format == PG_FORMAT_UNKNOWN, "case %zu: %s (%s)", i, pg_format_name(g.format),
                  g.reason);
    }
    /* a long input is judged on its first PG_FORMAT_SNIFF_BYTES only */
    size_t n = PG_FORMAT_SNIFF_BYTES * 3;
    uint8_t *big = calloc(1, n);
    for (size_t i = 0; i + 1 < PG_FORMAT_SNIFF_BYTES + 2; i += 2)
        big[i] = 0x12;    /* field 2, empty */
    g = sniff(big, n, 1); /* zeros after the prefix would be "not protobuf" */
    CHECK(g.format == PG_FORMAT_OTLP_PROTO && g.ambiguous && !g.truncated);
    free(big);
}

static void test_truncated(void)
{
    pg_buf in;
    if (read_file("pprof/go_cpu_plain.pb", &in)) {
        CHECK(0);
        return;
    }
    /* a pprof cut anywhere is still pprof, flagged truncated, never OTLP */
    size_t cuts[] = {7, 40, 300, in.len / 2, in.len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        pg_format_guess g = sniff(in.data, cuts[i], 1);
        CHECK_MSG(g.format != PG_FORMAT_OTLP_PROTO, "cut at %zu: %s", cuts[i], g.reason);
        if (g.format == PG_FORMAT_PPROF)
            CHECK_MSG(g.truncated && strstr(g.reason, "truncated"), "cut at %zu: %s", cuts[i],
                      g.reason);
        /* the same bytes as a prefix of a longer input: not truncated */
        g = sniff(in.data, cuts[i], 0);
        CHECK(!g.truncated);
    }
    /* cut inside the first field: too short to tell, not a guess */
    static const uint8_t cut[] = {0x0a, 0x04};
    pg_format_guess g = sniff(cut, sizeof cut, 1);
    CHECK_GUESS(g, PG_FORMAT_UNKNOWN);
    /* cut inside a multi-byte tag of a prefix: what came before decides */
    static const uint8_t tagcut[] = {0x32, 0x00, 0x80};
    CHECK_GUESS(sniff(tagcut, sizeof tagcut, 0), PG_FORMAT_PPROF);

    /* the decoder's error names the guess: pprof, never "malformed OTLP" */
    pg_batch *b = pg_batch_new(0);
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    char err[512] = "";
    int rc = pg_format_decode(b, in.data, 300, PG_FORMAT_UNKNOWN, &lim, &g, err, sizeof err);
    CHECK(rc != 0);
    CHECK_MSG(strstr(err, "guessed pprof (") == err && !strstr(err, "otlp"), "%s", err);
    pg_batch_free(b);
    /* given a format that disagrees, the error says what the input looks like */
    b = pg_batch_new(0);
    rc = pg_format_decode(b, in.data, 300, PG_FORMAT_OTLP_PROTO, &lim, &g, err, sizeof err);
    CHECK(rc != 0);
    CHECK_MSG(strstr(err, "as otlp_proto (the input looks like pprof") == err, "%s", err);
    pg_batch_free(b);
    pg_buf_free(&in);
}

/* zstd-compresses n bytes of p into out. */
static void zstd(const uint8_t *p, size_t n, pg_buf *out)
{
    memset(out, 0, sizeof *out);
    size_t cap = ZSTD_compressBound(n);
    pg_buf_reserve(out, cap);
    out->len = ZSTD_compress(out->data, cap, p, n, 3);
    CHECK(!ZSTD_isError(out->len));
}

static void test_compressed(void)
{
    pg_buf plain, z = {0}, gz = {0};
    if (read_file("pprof/go_cpu_plain.pb", &plain)) {
        CHECK(0);
        return;
    }
    pg_format_guess g;
    zstd(plain.data, plain.len, &z);
    pg_format_sniff_input(z.data, z.len, &g);
    CHECK_GUESS(g, PG_FORMAT_PPROF);
    CHECK_MSG(strncmp(g.reason, "zstd, then ", 11) == 0, "%s", g.reason);
    char err[512] = "";
    CHECK(pg_gzip_compress(plain.data, plain.len, 6, &gz, err, sizeof err) == 0);
    pg_format_sniff_input(gz.data, gz.len, &g);
    CHECK_GUESS(g, PG_FORMAT_PPROF);
    CHECK_MSG(strncmp(g.reason, "gzip, then ", 11) == 0, "%s", g.reason);
    /* a compressed stream cut short is judged on what it inflates to so far */
    pg_format_sniff_input(gz.data, gz.len / 3, &g);
    CHECK_GUESS(g, PG_FORMAT_PPROF);
    /* gzip of nothing: empty input */
    pg_buf e = {0};
    CHECK(pg_gzip_compress((const uint8_t *)"", 0, 6, &e, err, sizeof err) == 0);
    pg_format_sniff_input(e.data, e.len, &g);
    CHECK(g.format == PG_FORMAT_UNKNOWN && g.empty);
    pg_batch *b = pg_batch_new(0);
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    CHECK(pg_format_decode(b, e.data, e.len, PG_FORMAT_PPROF, &lim, NULL, err, sizeof err) ==
          PG_EINVAL);
    CHECK_STR(err, "empty input");
    pg_batch_free(b);
    /* gzip magic then garbage */
    static const uint8_t junk[] = {0x1f, 0x8b, 0x08, 0x00, 0xff, 0xff, 0xff};
    pg_format_sniff_input(junk, sizeof junk, &g);
    CHECK_GUESS(g, PG_FORMAT_UNKNOWN);
    /* bombs: 8 MiB of zeros is "not protobuf" on a 64 KiB prefix, whatever it inflates to */
    size_t n = (size_t)8 << 20;
    uint8_t *zeros = calloc(1, n);
    pg_buf bz, bg = {0};
    zstd(zeros, n, &bz);
    CHECK(pg_gzip_compress(zeros, n, 6, &bg, err, sizeof err) == 0);
    free(zeros);
    const pg_buf *bombs[] = {&bz, &bg};
    for (int i = 0; i < 2; i++) {
        pg_format_sniff_input(bombs[i]->data, bombs[i]->len, &g);
        CHECK_GUESS(g, PG_FORMAT_UNKNOWN);
        CHECK_MSG(strstr(g.reason, "not protobuf"), "%s", g.reason);
        b = pg_batch_new(0);
        CHECK(pg_format_decode(b, bombs[i]->data, bombs[i]->len, PG_FORMAT_UNKNOWN, &lim, NULL, err,
                               sizeof err) == PG_EINVAL);
        CHECK_MSG(strstr(err, "cannot tell the format (") == err, "%s", err);
        pg_batch_free(b);
        /* forced: the decoder's inflate stops at the limit */
        lim.max_decompressed = 1 << 20;
        b = pg_batch_new(0);
        CHECK(pg_format_decode(b, bombs[i]->data, bombs[i]->len, PG_FORMAT_PPROF, &lim, NULL, err,
                               sizeof err) == PG_ELIMIT);
        CHECK_MSG(strstr(err, "limit") != NULL, "%s", err);
        pg_batch_free(b);
        pg_decode_limits_default(&lim);
        pg_buf_free((pg_buf *)bombs[i]);
    }
    pg_buf_free(&e);
    pg_buf_free(&gz);
    pg_buf_free(&z);
    pg_buf_free(&plain);
}

/* OTLP bytes of what pg_format_decode makes of in[0..n) with the cap `cap` (0: default),
 * and its guess; returns the status, message in err. */
static int decoded(const pg_buf *in, size_t cap, pg_buf *otlp, pg_format_guess *g, char *err,
                   size_t errlen)
{
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    if (cap) lim.max_decompressed = cap;
    pg_batch *b = pg_batch_new(0);
    int rc = pg_format_decode(b, in->data, in->len, PG_FORMAT_UNKNOWN, &lim, g, err, errlen);
    memset(otlp, 0, sizeof *otlp);
    if (!rc) CHECK(pg_otlp_encode(b, otlp, err, errlen) == 0);
    pg_batch_free(b);
    return rc;
}

/* pprof bytes of n samples over a few locations (more than the sniffer's prefix for a
 * large n), built by hand: malloc'd into out. */
static void many_samples(size_t n, pg_buf *out)
{
    memset(out, 0, sizeof *out);
    pg_buf st = {0}, s = {0}, loc = {0};
    pg_wire_put_uint(&st, 1, 1);
    pg_wire_put_uint(&st, 2, 2);
    pg_wire_put_bytes(out, 1, st.data, st.len);
    for (size_t i = 0; i < n; i++) {
        s.len = 0;
        pg_wire_put_uint(&s, 1, 1 + i % 3);
        pg_wire_put_uint(&s, 2, i + 1);
        pg_wire_put_bytes(out, 2, s.data, s.len);
    }
    for (uint64_t id = 1; id <= 3; id++) {
        loc.len = 0;
        pg_wire_put_uint(&loc, 1, id);
        pg_wire_put_uint(&loc, 3, 0x1000 * id);
        pg_wire_put_bytes(out, 4, loc.data, loc.len);
    }
    pg_wire_put_bytes(out, 6, "", 0);
    pg_wire_put_bytes(out, 6, "samples", 7);
    pg_wire_put_bytes(out, 6, "count", 5);
    pg_buf_free(&st);
    pg_buf_free(&s);
    pg_buf_free(&loc);
}

/* A compressed input is inflated once, whole, before it is sniffed: the guess is the one
 * the prefix sniffer gives for the same bytes, the batch the one the plain input gives, for
 * gzip and zstd, inputs within and past the sniffer's prefix; a cut stream and one over the
 * cap are refused as before (the prefix sniffer and the decoder say why). */
static void test_inflated_once(void)
{
    pg_buf plain[2];
    if (read_file("pprof/go_cpu_plain.pb", &plain[0])) {
        CHECK(0);
        return;
    }
    many_samples(20000, &plain[1]);
    CHECK(plain[1].len > PG_FORMAT_SNIFF_BYTES * 2);
    char err[512] = "";
    for (int k = 0; k < 2; k++) {
        pg_buf gz = {0}, z, want;
        pg_format_guess g, prefix;
        CHECK(pg_gzip_compress(plain[k].data, plain[k].len, 6, &gz, err, sizeof err) == 0);
        zstd(plain[k].data, plain[k].len, &z);
        CHECK_MSG(decoded(&plain[k], 0, &want, &g, err, sizeof err) == 0, "%s", err);
        const pg_buf *packed[] = {&gz, &z};
        for (int i = 0; i < 2; i++) {
            pg_buf got;
            CHECK_MSG(decoded(packed[i], 0, &got, &g, err, sizeof err) == 0, "%s", err);
            CHECK(got.len == want.len && !memcmp(got.data, want.data, want.len));
            pg_buf_free(&got);
            pg_format_sniff_input(packed[i]->data, packed[i]->len, &prefix);
            CHECK_GUESS(g, PG_FORMAT_PPROF);
            CHECK_MSG(g.format == prefix.format && !strcmp(g.reason, prefix.reason),
                      "whole: %s; prefix: %s", g.reason, prefix.reason);
            /* over the cap: refused as the decoder refuses it */
            CHECK(decoded(packed[i], plain[k].len - 1, &got, &g, err, sizeof err) == PG_ELIMIT);
            CHECK_MSG(strstr(err, "limit of") != NULL, "%s", err);
            /* cut short: the prefix sniffer's guess, and the decoder's or its refusal */
            pg_buf cut = {.data = packed[i]->data, .len = packed[i]->len - 5};
            int rc = decoded(&cut, 0, &got, &g, err, sizeof err);
            pg_format_sniff_input(cut.data, cut.len, &prefix);
            CHECK_MSG(rc != 0 && g.format == prefix.format && !strcmp(g.reason, prefix.reason),
                      "cut: rc %d, %s", rc, err);
            CHECK_MSG(strstr(err, i ? "zstd" : "gzip") != NULL, "cut: %s", err);
        }
        pg_buf_free(&want);
        pg_buf_free(&z);
        pg_buf_free(&gz);
        pg_buf_free(&plain[k]);
    }
}

int main(int argc, char **argv)
{
    snprintf(corpus, sizeof corpus, "%s/../fuzz/corpus", argc > 1 ? argv[1] : "tests/data");
    test_names();
    test_json();
    test_empty();
    test_first_bytes();
    test_ambiguous_and_mixed();
    test_truncated();
    test_compressed();
    test_inflated_once();
    TEST_MAIN_END();
}
