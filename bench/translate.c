/* bench_translate PROFILE [SECONDS] — the translator in-process, as a gateway runs it: no
 * process start-up, no file I/O. Converts one pprof (gzipped, as pushed) to OTLP protobuf
 * bytes, and those OTLP bytes back to a gzipped pprof, each in a loop for about SECONDS
 * (default 1) after one warm-up conversion, and prints conversions per second and the time
 * per conversion for both directions, next to an in-process gunzip of the same input (the
 * yardstick of `make bench`'s targets) and the bytes the decoded batch held. Times are CPU
 * time of this process (the machine may be shared) and wall time. */
#include "pipeline/core/arena.h"
#include "pipeline/core/buf.h"
#include "pipeline/core/decompress.h"
#include "pipeline/core/err.h"
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/pprof.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Seconds on clock c. */
static double now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Bytes the batch arena held after the last decode (the batch's share of peak memory). */
static size_t last_arena;

/* One conversion step over input bytes; appends its output to out. */
typedef int (*step_fn)(const pg_buf *in, pg_buf *out, char *err, size_t errlen);

/* pprof bytes -> OTLP protobuf bytes. */
static int to_otlp(const pg_buf *in, pg_buf *out, char *err, size_t errlen)
{
    pg_batch *b = pg_batch_new(0);
    if (!b) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    int rc = pg_pprof_decode(b, in->data, in->len, NULL, NULL, err, errlen);
    if (!rc) last_arena = pg_arena_bytes(pg_batch_arena(b));
    if (!rc) rc = pg_otlp_encode(b, out, err, errlen);
    pg_batch_free(b);
    return rc;
}

/* OTLP protobuf bytes -> gzipped pprof bytes (every planned group, one after the other). */
static int to_pprof(const pg_buf *in, pg_buf *out, char *err, size_t errlen)
{
    pg_batch *b = pg_batch_new(0);
    if (!b) return pg_err(err, errlen, PG_ENOMEM, "out of memory");
    int rc = pg_otlp_decode(b, in->data, in->len, NULL, err, errlen);
    if (!rc) last_arena = pg_arena_bytes(pg_batch_arena(b));
    pg_pprof_group *g = NULL;
    size_t ng = 0;
    if (!rc) rc = pg_pprof_plan(b, &g, &ng, err, errlen);
    pg_pprof_encode_opts o = {.gzip = 1, .links_as_labels = 1};
    for (size_t i = 0; i < ng && !rc; i++)
        rc = pg_pprof_encode(b, &g[i], &o, out, err, errlen);
    pg_pprof_groups_free(g, ng);
    pg_batch_free(b);
    return rc;
}

/* gunzip only: the yardstick. */
static int gunzip(const pg_buf *in, pg_buf *out, char *err, size_t errlen)
{
    return pg_decompress(pg_sniff_encoding(in->data, in->len), in->data, in->len, (size_t)1 << 30,
                         out, err, errlen);
}

/* Runs step on in for about secs seconds; prints one line; returns the CPU seconds per
 * conversion (negative on error). out keeps the last output. */
static double run(const char *name, step_fn step, const pg_buf *in, pg_buf *out, double secs)
{
    char err[512] = "";
    out->len = 0;
    if (step(in, out, err, sizeof err)) { /* warm-up, and the output for the next step */
        fprintf(stderr, "bench_translate: %s: %s\n", name, err);
        return -1;
    }
    size_t n = 0, out_len = out->len;
    double c0 = now(CLOCK_PROCESS_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC), c1, w1;
    do {
        out->len = 0;
        if (step(in, out, err, sizeof err)) {
            fprintf(stderr, "bench_translate: %s: %s\n", name, err);
            return -1;
        }
        n++;
        c1 = now(CLOCK_PROCESS_CPUTIME_ID);
        w1 = now(CLOCK_MONOTONIC);
    } while (w1 - w0 < secs && c1 - c0 < secs);
    double cpu = (c1 - c0) / (double)n, wall = (w1 - w0) / (double)n;
    printf("%-14s %8zu %12.0f %12.3f %12.3f %12zu %10.1f\n", name, n, 1.0 / cpu, cpu * 1e3,
           wall * 1e3, out_len, (double)last_arena / 1e6);
    last_arena = 0;
    return cpu;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bench_translate PROFILE [SECONDS]\n");
        return 2;
    }
    double secs = argc == 3 ? atof(argv[2]) : 1.0;
    if (secs <= 0) secs = 1.0;
    char err[512] = "";
    pg_buf in = {0}, otlp = {0}, back = {0}, raw = {0};
    if (pg_buf_read_file(&in, argv[1], (size_t)1 << 30, err, sizeof err)) {
        fprintf(stderr, "bench_translate: %s: %s\n", argv[1], err);
        return 1;
    }
    printf("in-process translator: %s (%zu bytes), about %.1f s per step\n", argv[1], in.len, secs);
    printf("%-14s %8s %12s %12s %12s %12s %10s\n", "step", "runs", "conv/s (CPU)", "CPU ms each",
           "wall ms each", "output bytes", "batch MB");
    double g = run("gunzip", gunzip, &in, &raw, secs);
    double a = g < 0 ? -1 : run("pprof -> OTLP", to_otlp, &in, &otlp, secs);
    double c = a < 0 ? -1 : run("OTLP -> pprof", to_pprof, &otlp, &back, secs);
    if (c > 0)
        printf("vs in-process gunzip (CPU): pprof -> OTLP %.2fx, OTLP -> pprof %.2fx\n", a / g,
               c / g);
    pg_buf_free(&in);
    pg_buf_free(&otlp);
    pg_buf_free(&back);
    pg_buf_free(&raw);
    return c > 0 ? 0 : 1;
}
