/* Shared by the tests that hold the OTLP decoder's hand readers of dictionary tables
 * (test_otlp_attr_table.c, test_otlp_tables.c) against protobuf-c's reading of the same
 * bytes: a field writer, one comparison decoded borrowed or handed over, and the four
 * ways each input is checked (one and two dictionaries, borrowed and owned). */
#ifndef PG_TEST_OTLP_DICT_FIXTURE_H
#define PG_TEST_OTLP_DICT_FIXTURE_H

#include "testlib.h"

#include "pipeline/core/otlp_types.h"
#include "pipeline/core/wire.h"
#include "pipeline/translate/otlp_codec.h"

#include <stdio.h>
#include <stdlib.h>

/* Appends s as field f (length-delimited) to b and empties s. */
static inline void sub(pg_buf *b, uint32_t f, pg_buf *s)
{
    pg_wire_put_bytes(b, f, s->data, s->len);
    s->len = 0;
}

/* Compares the decoder's dictionary with protobuf-c's (`what` names the case). */
typedef void (*fx_dict_compare)(const pg_otlp_dict *ours, const pg_otlp_dict *ref,
                                const char *what);

/* Decodes in (borrowed, or a copy handed over) and, when both readers take it, hands the
 * two dictionaries to cmp. */
static inline void fx_same_as_protobuf_c(const pg_buf *in, int owned, const char *what,
                                         fx_dict_compare cmp)
{
    pg_otlp_data *ref = (pg_otlp_data *)protobuf_c_message_unpack(&PG_OTLP_DESC(profiles_data),
                                                                  NULL, in->len, in->data);
    CHECK_MSG(ref && ref->dictionary, "%s: protobuf-c rejects the input", what);
    if (!ref || !ref->dictionary) return;
    pg_batch *b = pg_batch_new(0);
    char err[256] = "";
    int rc;
    if (owned) {
        pg_buf copy = {0};
        pg_buf_append(&copy, in->data, in->len);
        rc = pg_otlp_decode_owned(b, &copy, NULL, err, sizeof err);
    } else {
        rc = pg_otlp_decode(b, in->data, in->len, NULL, err, sizeof err);
    }
    CHECK_MSG(rc == 0, "%s: decode: %s", what, err);
    if (rc == 0) cmp(pg_batch_dict(b), ref->dictionary, what);
    pg_batch_free(b);
    protobuf_c_message_free_unpacked(&ref->base, NULL);
}

/* Builds one input from ctx as `split` (1 or 2) dictionaries that concatenate. */
typedef void (*fx_dict_build)(pg_buf *out, const void *ctx, size_t n, int split);

/* Checks the input both ways of decoding, in one and in two dictionaries. */
static inline void fx_check_all(fx_dict_build build, const void *ctx, size_t n, const char *what,
                                fx_dict_compare cmp)
{
    for (int split = 1; split <= 2; split++)
        for (int owned = 0; owned < 2; owned++) {
            pg_buf in = {0};
            build(&in, ctx, n, split);
            char label[160];
            snprintf(label, sizeof label, "%s (%d dictionar%s%s)", what, split,
                     split == 1 ? "y" : "ies", owned ? ", owned" : "");
            fx_same_as_protobuf_c(&in, owned, label, cmp);
            pg_buf_free(&in);
        }
}

#endif
