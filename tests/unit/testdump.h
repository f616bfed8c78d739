/* The canonical text dump of a batch (pipeline/translate/otlp_dump.h) that tests compare. */
#ifndef PG_TESTDUMP_H
#define PG_TESTDUMP_H

#include "pipeline/core/batch.h"
#include "pipeline/translate/otlp_dump.h"

/* Returns b's canonical dump, malloc'd and NUL-terminated (caller frees). */
static inline char *pg_test_dump(const pg_batch *b)
{
    pg_buf o = {0};
    pg_otlp_dump(b, PG_DUMP_CANONICAL, &o);
    pg_buf_append(&o, "", 1);
    return (char *)o.data;
}

#endif
