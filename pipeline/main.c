/* profgate: entry point and sub-command dispatch. */
#include "pipeline/cmd_convert.h"

#include <stdio.h>
#include <string.h>

#ifndef PG_VERSION
#define PG_VERSION "0.0.0"
#endif

/* Prints the version and the pinned formats. */
static void print_version(void)
{
    printf("profgate %s\n"
           "OTLP profiles: opentelemetry-proto v1.11.0 (opentelemetry.proto.profiles.v1development)\n"
           "pprof: google/pprof proto/profile.proto (Line.column, Function.start_line, doc_url)\n",
           PG_VERSION);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: profgate --version\n"
               "       profgate convert [--from F] [--to F] IN OUT\n");
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))) {
        print_version();
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "convert")) return pg_cmd_convert(argc - 2, argv + 2);
    usage(stderr);
    return 2;
}
