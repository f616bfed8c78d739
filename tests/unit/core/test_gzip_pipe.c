/* pg_gzip_pipe: a member built while its input is still being written is one member that
 * inflates to the input and passes libdeflate's strict CRC and length check, whatever the
 * cut (none, 0, inside, the end) and whatever the writer's pace; its bytes are the same
 * whether the helper races ahead or lags behind, so they depend on the input alone.
 * pg_gzip_pipe_head followed by the caller's own raw stream and trailer is a valid member
 * too. The head's input pages are handed back (they read as zeros afterwards) while the
 * bytes from the cut on stay intact. Abort at any point frees everything (ASan's leak check
 * watches). While the writer writes, the helper faults in the 256 KiB after its written mark,
 * and nothing further (mincore). */
#define _GNU_SOURCE
#include "testlib.h"
#include "gzip_members.h"
#include "resident_pages.h"

#include "pipeline/core/gzip_member.h"

#include <libdeflate.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

enum { N = 3 << 20, STEP = 48 << 10 };

/* Where the writer cuts: NONE makes no cut. */
#define NONE SIZE_MAX

/* n bytes like an encoded profile: runs of varints and text with random ids, never zero
 * (so a released page is told by its zeros). */
static uint8_t *make_input(size_t n)
{
    uint8_t *p = malloc(n);
    uint64_t x = 0x2545f4914f6cdd1du;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint8_t b = (i / 4096) % 3 == 0 ? (uint8_t)x : (uint8_t)("stack frame label "[i % 18]);
        p[i] = b ? b : 1;
    }
    return p;
}

/* Sleeps about us microseconds. */
static void pause_us(long us)
{
    struct timespec t = {0, us * 1000};
    nanosleep(&t, NULL);
}

/* Writes a copy of in through a pipe (telling it STEP bytes at a time, pausing `pace` us
 * between steps), cuts at `cut` once that much is written, finishes into out. Returns the
 * copy (the pipe hands its head pages back; the caller frees it). */
static uint8_t *run_pipe(const uint8_t *in, size_t n, size_t cut, long pace, pg_buf *out)
{
    uint8_t *buf = calloc(1, n); /* written below, after the pipe starts */
    pg_gzip_pipe *p = pg_gzip_pipe_start(buf, n, 1);
    CHECK(p != NULL);
    if (!p) return buf;
    int cut_done = 0;
    for (size_t w = 0; w < n;) {
        size_t k = n - w < STEP ? n - w : STEP;
        if (!cut_done && cut != NONE && w + k > cut) k = cut - w;
        memcpy(buf + w, in + w, k);
        w += k;
        pg_gzip_pipe_written(p, w);
        if (!cut_done && cut != NONE && w == cut) {
            pg_gzip_pipe_cut(p, cut);
            cut_done = 1;
        }
        if (pace) pause_us(pace);
    }
    if (!cut_done && cut != NONE) pg_gzip_pipe_cut(p, cut);
    CHECK_MSG(pg_gzip_pipe_finish(p, n, out) == 0, "finish failed (cut %zu)", cut);
    return buf;
}

/* out holds one gzip member of in[0..n), CRC and length right. */
static void check_member(const pg_buf *out, const uint8_t *in, size_t n, const char *what)
{
    pg_buf back = {0};
    int m = tg_gunzip_members(out->data, out->len, &back);
    CHECK_MSG(m == 1, "%s: %d members", what, m);
    CHECK_MSG(back.len == n && !memcmp(back.data, in, n), "%s: inflates to %zu of %zu bytes", what,
              back.len, n);
    uint8_t *strict = malloc(n ? n : 1);
    size_t got = 0;
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    enum libdeflate_result r = libdeflate_gzip_decompress(d, out->data, out->len, strict, n, &got);
    CHECK_MSG(r == LIBDEFLATE_SUCCESS && got == n, "%s: libdeflate says %d", what, (int)r);
    libdeflate_free_decompressor(d);
    free(strict);
    pg_buf_free(&back);
}

/* Zero bytes in b[lo..hi). */
static size_t zeros(const uint8_t *b, size_t lo, size_t hi)
{
    size_t z = 0;
    for (size_t i = lo; i < hi; i++)
        z += b[i] == 0;
    return z;
}

/* Every cut at two paces: valid, identical bytes; head pages released, the rest intact. */
static void check_cuts(const uint8_t *in)
{
    const size_t cuts[] = {NONE, 0, 1, N / 3 + 7, N - 1, N};
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        char what[64];
        snprintf(what, sizeof what, "cut %zu", cuts[c]);
        pg_buf fast = {0}, slow = {0};
        uint8_t *b1 = run_pipe(in, N, cuts[c], 0, &fast);
        uint8_t *b2 = run_pipe(in, N, cuts[c], 300, &slow);
        check_member(&fast, in, N, what);
        check_member(&slow, in, N, what);
        CHECK_MSG(fast.len == slow.len && !memcmp(fast.data, slow.data, fast.len),
                  "%s: the bytes depend on the pace (%zu vs %zu)", what, fast.len, slow.len);
        /* without a cut the head ends at the last mark told: everything */
        size_t head = cuts[c] == NONE ? N : cuts[c];
        if (head >= (size_t)1 << 20) {
            CHECK_MSG(zeros(b2, 0, head) > 0, "%s: no head page was handed back", what);
        }
        CHECK_MSG(zeros(b1, head, N) == 0 && zeros(b2, head, N) == 0,
                  "%s: bytes from the cut on changed", what);
        free(b1);
        free(b2);
        pg_buf_free(&fast);
        pg_buf_free(&slow);
    }
}

/* The head, then the caller's raw zlib stream of the rest and the trailer: one member. */
static void check_head_then_stream(const uint8_t *in)
{
    uint8_t *buf = malloc(N);
    memcpy(buf, in, N);
    pg_gzip_pipe *p = pg_gzip_pipe_start(buf, N, 1);
    CHECK(p != NULL);
    if (!p) {
        free(buf);
        return;
    }
    pg_gzip_pipe_written(p, N / 4);
    pg_gzip_pipe_written(p, N / 2); /* no cut: the head ends at the last mark */
    pg_buf out = {0};
    pg_buf_append(&out, "", 0);
    uint32_t crc = 0;
    size_t cut = 0;
    CHECK(pg_gzip_pipe_head(p, &out, &crc, &cut) == 0);
    CHECK_MSG(cut == N / 2, "the head ends at %zu, not at the last mark %d", cut, N / 2);
    z_stream z;
    memset(&z, 0, sizeof z);
    CHECK(deflateInit2(&z, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    size_t rest = N - cut;
    CHECK(pg_buf_reserve(&out, deflateBound(&z, rest) + 64) == 0);
    z.next_in = buf + cut;
    z.avail_in = (uInt)rest;
    z.next_out = out.data + out.len;
    z.avail_out = (uInt)(out.cap - out.len);
    CHECK(deflate(&z, Z_FINISH) == Z_STREAM_END);
    out.len = out.cap - z.avail_out;
    deflateEnd(&z);
    crc = (uint32_t)crc32(crc, buf + cut, (uInt)rest);
    CHECK(pg_gzip_trailer(&out, crc, N) == 0);
    check_member(&out, in, N, "head then stream");
    pg_buf_free(&out);
    free(buf);
}

/* Abort before anything is written, mid-way, and after a cut. */
static void check_abort(const uint8_t *in)
{
    for (int k = 0; k < 3; k++) {
        uint8_t *buf = malloc(N);
        memcpy(buf, in, N);
        pg_gzip_pipe *p = pg_gzip_pipe_start(buf, N, 1);
        CHECK(p != NULL);
        if (k >= 1) pg_gzip_pipe_written(p, N / 2);
        if (k == 2) pg_gzip_pipe_cut(p, N / 2);
        if (k == 2) pause_us(2000);
        pg_gzip_pipe_abort(p);
        free(buf);
    }
    pg_gzip_pipe_abort(NULL);
}

/* The writer stops at 512 KiB of a fresh 8 MiB buffer: the helper faults in the next
 * 256 KiB, every page of it, and no page after; the member is whole once the rest is
 * written. */
static void check_ahead(const uint8_t *in)
{
    const size_t cap = 8 << 20, w = 512 << 10, ahead = 256 << 10;
    uint8_t *in8 = malloc(cap);
    for (size_t i = 0; i < cap; i += N)
        memcpy(in8 + i, in, cap - i < N ? cap - i : N);
    uint8_t *buf = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(buf != MAP_FAILED);
    if (buf == MAP_FAILED) {
        free(in8);
        return;
    }
    madvise(buf, cap, MADV_NOHUGEPAGE); /* one fault per page, as mincore counts them */
    pg_gzip_pipe *p = pg_gzip_pipe_start(buf, cap, 1);
    CHECK(p != NULL);
    memcpy(buf, in8, w);
    pg_gzip_pipe_written(p, w);
    if (tg_kernel_populates()) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        long got = 0;
        for (int k = 0;
             k < 10000 && (got = tg_resident_pages(buf + w, ahead / page)) != (long)(ahead / page);
             k++)
            pause_us(1000);
        CHECK_MSG(got == (long)(ahead / page), "%ld of %zu pages ahead faulted in", got,
                  ahead / page);
        long past = tg_resident_pages(buf + w + ahead, (cap - w - ahead) / page);
        CHECK_MSG(past == 0, "%ld pages past the 256 KiB ahead faulted in", past);
    }
    memcpy(buf + w, in8 + w, cap - w);
    pg_gzip_pipe_written(p, cap);
    pg_buf out = {0};
    CHECK(pg_gzip_pipe_finish(p, cap, &out) == 0);
    check_member(&out, in8, cap, "faulted in ahead");
    pg_buf_free(&out);
    munmap(buf, cap);
    free(in8);
}

int main(void)
{
    uint8_t *in = make_input(N);
    check_cuts(in);
    check_head_then_stream(in);
    check_abort(in);
    check_ahead(in);
    free(in);
    TEST_MAIN_END();
}
