/* `profgate convert [--from F] [--to F] [--max-size SIZE] IN OUT`: pprof, OTLP protobuf
 * and OTLP/JSON files in any direction (F: pprof, otlp_proto, otlp_json), the input format
 * sniffed when not given (pipeline/translate/format.h), "-" for stdin/stdout. The input is
 * capped at --max-size inflated bytes (1 GiB by default). Output goes through
 * pg_file_sink: regular files are replaced atomically, devices and FIFOs written in place. */
#include "pipeline/cmd_convert.h"
#include "pipeline/config/config.h"
#include "pipeline/core/arena.h"
#include "pipeline/core/err.h"
#include "pipeline/core/file_map.h"
#include "pipeline/translate/format.h"
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/pprof.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

/* The inflated-size limit when --max-size is not given: no normal profile comes near. */
#define DEFAULT_MAX_SIZE ((uint64_t)1 << 30)

/* True when s (borrowed) ends with suffix. */
static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Guesses the output format from OUT's name; UNKNOWN when the name says nothing. */
static pg_format fmt_from_name(const char *path)
{
    if (ends_with(path, ".json")) return PG_FORMAT_OTLP_JSON;
    if (ends_with(path, ".pb.gz") || ends_with(path, ".pprof") || ends_with(path, ".prof"))
        return PG_FORMAT_PPROF;
    if (ends_with(path, ".otlp") || ends_with(path, ".otlp.pb") || ends_with(path, ".binpb"))
        return PG_FORMAT_OTLP_PROTO;
    return PG_FORMAT_UNKNOWN;
}

/* True when OUT is stdout or an existing non-regular file (device, FIFO): one stream,
 * where "out.1.pb.gz"-style sibling names make no sense. Borrows path. */
static int single_stream(const char *path)
{
    struct stat st;
    return strcmp(path, "-") == 0 || (stat(path, &st) == 0 && !S_ISREG(st.st_mode));
}

/* Builds the name of the i-th pprof output (i > 0): "out.pb.gz" -> "out.1.pb.gz". */
static char *nth_name(const char *path, size_t i)
{
    size_t n = strlen(path) + 32;
    char *s = malloc(n);
    if (!s) return NULL;
    const char *ext = ends_with(path, ".pb.gz") ? ".pb.gz" : "";
    size_t stem = strlen(path) - strlen(ext);
    snprintf(s, n, "%.*s.%zu%s", (int)stem, path, i, ext);
    return s;
}

/* The pprof encoder's `encoded` hook for the last output: the batch (*ctx, a pg_batch **)
 * is no longer needed, so it is freed and its pages handed back before the compressed
 * output is allocated (the arena block cache only serves later arenas, and there are
 * none). */
static void release_batch(void *ctx)
{
    pg_batch **bp = ctx;
    pg_arena_set_cache_limit(0);
    pg_batch_free(*bp);
    *bp = NULL;
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

/* Writes every pprof group of *bp; frees the batch (setting *bp NULL) once the last
 * group's encoding is complete. */
static int write_pprof(pg_batch **bp, const char *out, const pg_pprof_encode_opts *opts, char *err,
                       size_t errlen)
{
    const pg_batch *b = *bp;
    pg_pprof_encode_opts last = *opts;
    last.encoded = release_batch;
    last.encoded_ctx = bp;
    last.consume_samples = *bp;
    pg_pprof_group *groups = NULL;
    size_t ng = 0;
    int rc = pg_pprof_plan(b, &groups, &ng, err, errlen);
    if (rc) return rc;
    if (ng == 0) rc = pg_err(err, errlen, PG_EINVAL, "the input holds no profiles");
    if (!rc && ng > 1 && single_stream(out))
        rc = pg_err(err, errlen, PG_EINVAL,
                    "the input holds %zu profiles; give an output file name", ng);
    for (size_t i = 0; i < ng && !rc; i++) {
        pg_buf buf = {0};
        char *name = i ? nth_name(out, i) : NULL;
        rc = pg_pprof_encode(b, &groups[i], i + 1 == ng ? &last : opts, &buf, err, errlen);
        if (!rc) rc = pg_buf_write_file(&buf, name ? name : out, err, errlen);
        if (!rc && ng > 1) fprintf(stderr, "profgate convert: wrote %s\n", name ? name : out);
        free(name);
        pg_buf_free(&buf);
    }
    pg_pprof_groups_free(groups, ng);
    return rc;
}

/* Prints the usage text to f. */
static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: profgate convert [--from FORMAT] [--to FORMAT] [--no-gzip]\n"
        "                        [--resource-labels] [--no-link-labels] [--max-size SIZE] IN OUT\n"
        "  FORMAT is one of: " PG_FORMAT_NAME_LIST "; sniffed (IN) or taken from OUT's\n"
        "  name when not given. IN/OUT may be '-' for stdin/stdout; an OUT that is a device\n"
        "  or FIFO is written in place, a regular file replaced atomically.\n"
        "  --max-size caps the input, inflated (default 1GiB; e.g. 100MiB, 2GiB).\n");
}

/* What the command line asks for. */
typedef struct convert_args {
    pg_format from, to;
    pg_pprof_encode_opts eo;
    uint64_t max_size;
    const char *in, *out;
} convert_args;

/* Prints a usage error; returns the exit code 2. */
static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "profgate convert: %s%s\n", msg, arg ? arg : "");
    usage(stderr);
    return 2;
}

/* What parse_args returns when --help was printed: exit 0 without converting. */
#define HELP_PRINTED 1

/* Parses argv (borrowed: a keeps pointers into it). Returns 0, 2 after a usage error is
 * printed, or HELP_PRINTED. */
static int parse_args(int argc, char **argv, convert_args *a)
{
    char err[256] = "";
    const char *pos[2];
    int npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        int takes_value = !strcmp(s, "--from") || !strcmp(s, "--to") || !strcmp(s, "--max-size");
        if (takes_value && i + 1 >= argc) return usage_error("missing value after ", s);
        if (!strcmp(s, "--from") || !strcmp(s, "--to")) {
            if (pg_format_parse(argv[++i], s[2] == 'f' ? &a->from : &a->to, err, sizeof err))
                return usage_error(err, NULL);
        } else if (!strcmp(s, "--max-size")) {
            if (pg_cfg_parse_size(argv[++i], &a->max_size, err, sizeof err))
                return usage_error("--max-size: ", err);
            if (a->max_size == 0) return usage_error("--max-size must be at least 1 byte", NULL);
        } else if (!strcmp(s, "--no-gzip")) {
            a->eo.gzip = 0;
        } else if (!strcmp(s, "--resource-labels")) {
            a->eo.resource_as_labels = 1;
        } else if (!strcmp(s, "--no-link-labels")) {
            a->eo.links_as_labels = 0;
        } else if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            usage(stdout);
            return HELP_PRINTED;
        } else if (s[0] == '-' && s[1]) {
            return usage_error("unknown option ", s);
        } else if (npos < 2) {
            pos[npos++] = s;
        } else {
            return usage_error("too many arguments: ", s);
        }
    }
    if (npos != 2) return usage_error("give IN and OUT", NULL);
    a->in = pos[0];
    a->out = pos[1];
    return 0;
}

/* Encodes *bp as `to` into out; pprof output frees the batch early (write_pprof). */
static int write_output(pg_batch **bp, pg_format to, const char *out,
                        const pg_pprof_encode_opts *eo, char *err, size_t errlen)
{
    if (to == PG_FORMAT_PPROF) return write_pprof(bp, out, eo, err, errlen);
    const pg_batch *b = *bp;
    /* streamed, protobuf and JSON alike: the encoding never sits whole in memory */
    pg_buf buf = {0};
    pg_file_sink sink;
    int rc = pg_file_sink_open(&sink, out, err, errlen);
    if (!rc) {
        pg_file_sink_attach(&sink, &buf);
        rc = to == PG_FORMAT_OTLP_PROTO ? pg_otlp_encode(b, &buf, err, errlen)
                                        : pg_otlp_encode_json(b, &buf, err, errlen);
        if (!rc)
            rc = pg_file_sink_commit(&sink, &buf, err, errlen);
        else
            pg_file_sink_abort(&sink);
    }
    pg_buf_free(&buf);
    return rc;
}

/* Parses flags, converts, returns 0 on success, 1 on conversion errors, 2 on usage errors. */
int pg_cmd_convert(int argc, char **argv)
{
    convert_args a = {.eo = {.gzip = 1, .links_as_labels = 1}, .max_size = DEFAULT_MAX_SIZE};
    int prc = parse_args(argc, argv, &a);
    if (prc) return prc == HELP_PRINTED ? 0 : prc;
    pg_decode_limits lim;
    pg_decode_limits_default(&lim);
    lim.max_decompressed = a.max_size > SIZE_MAX ? SIZE_MAX : (size_t)a.max_size;
    lim.max_arena = 0;
    char err[768] = "";
    pg_buf in = {0};
    pg_batch *b = NULL;
    pg_format_guess g = {0};
    /* the raw input is never larger than what it inflates to: the same cap bounds the read */
    /* mapped, not read: faulting in and filling a heap copy of a 19 MB OTLP file took
     * 15 ms, longer than a fifth of its conversion */
    int rc = pg_buf_map_file(&in, a.in, lim.max_decompressed, err, sizeof err);
    if (!rc && !(b = pg_batch_new(lim.max_arena)))
        rc = pg_err(err, sizeof err, PG_ENOMEM, "out of memory");
    pg_file_map_guard(&in, a.in);
    if (!rc) rc = pg_format_decode_owned(b, &in, a.from, &lim, &g, err, sizeof err);
    pg_buf_free(&in);
    pg_file_map_guard(NULL, NULL); /* (the decoder unmapped it) */
    pg_format from = a.from != PG_FORMAT_UNKNOWN ? a.from : g.format;
    if (!rc && a.to == PG_FORMAT_UNKNOWN) a.to = fmt_from_name(a.out);
    if (!rc && a.to == PG_FORMAT_UNKNOWN)
        a.to = from == PG_FORMAT_PPROF ? PG_FORMAT_OTLP_PROTO : PG_FORMAT_PPROF;
    /* nothing interns from here on: the index is memory the encoder's buffers can use */
    if (!rc) pg_batch_drop_index(b);
    if (!rc) rc = write_output(&b, a.to, a.out, &a.eo, err, sizeof err);
    pg_batch_free(b);
    if (rc) {
        int unknown = a.from == PG_FORMAT_UNKNOWN && g.format == PG_FORMAT_UNKNOWN && !g.empty;
        fprintf(stderr, "profgate convert: %s: %s%s\n", a.in, err,
                unknown && g.reason[0] ? "; name it with --from (" PG_FORMAT_NAME_LIST ")" : "");
        return 1;
    }
    return 0;
}
