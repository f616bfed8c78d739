/* profgate: entry point and sub-command dispatch. */
#include "pipeline/cmd_convert.h"
#include "pipeline/core/err.h"
#include "pipeline/registry/registry.h"
#include "pipeline/service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#ifndef PG_VERSION
#define PG_VERSION "0.0.0"
#endif

/* Prints the version and the pinned formats. */
static void print_version(void)
{
    printf(
        "profgate %s\n"
        "OTLP profiles: opentelemetry-proto v1.11.0 (opentelemetry.proto.profiles.v1development)\n"
        "pprof: google/pprof proto/profile.proto (Line.column, Function.start_line, doc_url)\n",
        PG_VERSION);
}

/* Prints the command summary (the man page, docs/profgate.1, has the long form). */
static void usage(FILE *f)
{
    fprintf(f,
            "usage: profgate --config FILE [--config FILE ...]     run the collector\n"
            "       profgate validate --config FILE [--config FILE ...]\n"
            "       profgate convert [--from F] [--to F] IN OUT   convert profile files\n"
            "       profgate components                           list component types\n"
            "       profgate --version | --help\n"
            "\n"
            "Several --config files merge, later over earlier; values may use ${env:VAR} and\n"
            "${env:VAR:-default}. Signals: SIGHUP reloads the configuration (and TLS\n"
            "certificates), SIGTERM/SIGINT drain the queues and stop. Under systemd\n"
            "(Type=notify) readiness is reported once every pipeline has started.\n"
            "Formats for convert: pprof, otlp_proto, otlp_json (sniffed when --from is absent).\n");
}

/* The collector's malloc policy (glibc): a thread's heap top is handed back to the kernel only
 * above 8 MiB, and blocks below 4 MiB come from the heap, instead of the defaults (128 KiB,
 * dynamic) under which every request freed on a worker thread shrank its heap with an madvise
 * and a TLB shootdown across cores (a third of the CPU of a 50 KB OTLP/HTTP request;
 * bench/otlp_http.py). Large arenas still trim explicitly when freed (pipeline/core/arena.c)
 * and the memory limiter trims while over its limit. GLIBC_TUNABLES, when set, wins. */
static void malloc_policy(void)
{
#ifdef __GLIBC__
    if (getenv("GLIBC_TUNABLES")) return;
    mallopt(M_MMAP_THRESHOLD, 4 << 20);
    mallopt(M_TRIM_THRESHOLD, 8 << 20);
#endif
}

/* Collects every --config value (later files merge over earlier ones). Returns 0, PG_ENOMEM,
 * or PG_EINVAL for an unknown argument or no --config at all. */
static int config_paths(int argc, char **argv, const char ***out, size_t *n)
{
    const char **paths = calloc((size_t)argc + 1, sizeof *paths);
    if (!paths) return PG_ENOMEM;
    *n = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            paths[(*n)++] = argv[++i];
        else if (!strncmp(argv[i], "--config=", 9))
            paths[(*n)++] = argv[i] + 9;
        else {
            fprintf(stderr, "profgate: unknown argument %s\n", argv[i]);
            free(paths);
            return PG_EINVAL;
        }
    }
    *out = paths;
    return *n ? 0 : PG_EINVAL;
}

/* Lists every factory with its config keys (loading the network module for its components:
 * one that cannot be loaded is listed as such, and the exit status is 1). */
static int list_components(void)
{
    pg_cfg_kind kind;
    const char *type;
    int in_module, rc = 0;
    for (size_t i = 0; pg_registry_name_at(i, &kind, &type, &in_module); i++) {
        const pg_component_factory *f = pg_registry_at(i);
        printf("%s %s%s\n", pg_cfg_kind_name(kind), type,
               !in_module ? ""
               : f        ? " (network module)"
                          : " (network module: not loaded)");
        if (!f) rc = 1;
        for (const pg_cfg_field *k = f ? f->config.table : NULL; k && k->key; k++)
            if (k->type != PG_CFG_PRESENT)
                printf("    %-24s %s%s%s%s\n", k->key, k->doc ? k->doc : "",
                       k->def ? " (default " : "", k->def ? k->def : "", k->def ? ")" : "");
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))) {
        print_version();
        return 0;
    }
    if (argc >= 2 &&
        (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "convert")) return pg_cmd_convert(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "components")) return list_components();
    int validate = argc >= 2 && !strcmp(argv[1], "validate");
    const char **paths = NULL;
    size_t n = 0;
    if (config_paths(argc - 1 - validate, argv + 1 + validate, &paths, &n)) {
        usage(stderr);
        return 2;
    }
    if (!validate) malloc_policy();
    int rc = validate ? pg_service_validate(paths, n, pg_registry_for_config())
                      : pg_service_run(paths, n, pg_registry_lookup, pg_registry_for_config());
    free(paths);
    return rc;
}
