/* The last step every OTLP decoder (protobuf, JSON) shares: decode aside when the target
 * batch already holds data, validate, install, merge. */
#include "pipeline/translate/otlp_codec.h"
#include "pipeline/translate/otlp_decode_int.h"

/* Returns b, or a new batch the caller owns. */
pg_batch *pg_otlp_decode_target(pg_batch *b, const pg_decode_limits *lim)
{
    return pg_batch_data(b)->n_resource_profiles == 0 ? b : pg_batch_new(lim->max_arena);
}

/* Validates and installs d; tmp stays the caller's. */
int pg_otlp_install(pg_batch *b, pg_batch *tmp, pg_otlp_data *d, const pg_decode_limits *lim,
                    char *err, size_t errlen)
{
    int rc = pg_otlp_validate(pg_batch_arena(tmp), d, lim, err, errlen);
    if (rc) return rc;
    pg_batch_set_data(tmp, d);
    return tmp == b ? 0 : pg_batch_merge(b, tmp, err, errlen);
}
