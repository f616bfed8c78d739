/* A multipart prev_profile as the base of a delta (`prev_profile: delta`): old Pyroscope
 * SDKs sent cumulative profiles with the previous one; the stored values are the
 * difference, computed by the shared delta code (pipeline/core/delta.h). */
#include "receivers/pprof_push/pprof_push_int.h"

#include "pipeline/core/delta.h"
#include "pipeline/core/err.h"
#include "pipeline/telemetry/log.h"
#include "pipeline/translate/pprof.h"

#include <string.h>

/* Pyroscope's default sample type mapping (pkg/og/storage/tree/pprof.go): the cumulative
 * ones. */
static const char *const DEFAULT_CUMULATIVE[] = {"alloc_objects", "alloc_space", "contentions",
                                                 "delay"};

/* True when sample type t is cumulative: as stc says when given, else by the default
 * mapping. */
static bool cumulative(const push_stc *stc, const char *t)
{
    if (stc) {
        for (size_t k = 0; k < stc->n; k++)
            if (strcmp(stc->types[k], t) == 0) return stc->cumulative[k];
        return false;
    }
    for (size_t k = 0; k < sizeof DEFAULT_CUMULATIVE / sizeof *DEFAULT_CUMULATIVE; k++)
        if (strcmp(DEFAULT_CUMULATIVE[k], t) == 0) return true;
    return false;
}

/* Classifier for pg_delta_batch (ud: the push_stc or NULL): cumulative types are one series
 * each (by profile type: both pprofs come from one request); inuse_* and the others pass. */
static pg_delta_mode classify(void *ud, pg_batch *b, const pg_profile_iter *it, uint64_t *series)
{
    const pg_otlp_profile *p = &it->profile->msg;
    if (pg_delta_is_inuse(b, p) || !cumulative(ud, push_type_name(b, p))) return PG_DELTA_PASS;
    *series = pg_delta_type_hash(b, p);
    return PG_DELTA_CUMULATIVE;
}

/* See pprof_push_int.h. Borrows prev and stc. */
int push_prev_delta(push_receiver *r, pg_batch *b, const uint8_t *prev, size_t n,
                    const push_stc *stc, char *err, size_t errlen)
{
    pg_batch *pb = pg_batch_new(r->limits.max_arena);
    pg_delta *d = pg_delta_new(&(pg_delta_opts){0});
    int rc = pb && d ? 0 : pg_err(err, errlen, PG_ENOMEM, "out of memory");
    if (rc == 0) rc = pg_pprof_decode(pb, prev, n, &r->limits, NULL, err, errlen);
    if (rc == 0 && r->limits.max_samples &&
        pg_batch_sample_count(pb) + pg_batch_sample_count(b) > r->limits.max_samples)
        rc = pg_err(err, errlen, PG_ELIMIT, "request holds more than %zu samples (max_samples)",
                    r->limits.max_samples);
    if (rc) pg_err_prefix(err, errlen, "prev_profile");
    int64_t now = pg_now_mono_ns();
    pg_delta_stats base = {0}, st = {0};
    if (rc == 0) /* primes a series per cumulative type of prev_profile */
        rc = pg_delta_batch(d, pb, classify, (void *)stc, (uint64_t)now, &base, err, errlen);
    if (rc == 0) rc = pg_delta_batch(d, b, classify, (void *)stc, (uint64_t)now, &st, err, errlen);
    if (rc == 0) pg_delta_metrics_add(&r->dm, &st);
    if (rc == 0 && (st.restarts || st.primed))
        pg_log(PG_LOG_WARN, r->id,
               "prev_profile: %llu cumulative profile(s) left out (%llu with values lower than "
               "prev_profile's: a restart; %llu of a type prev_profile lacks)",
               (unsigned long long)(st.restarts + st.primed), (unsigned long long)st.restarts,
               (unsigned long long)st.primed);
    pg_delta_free(d);
    pg_batch_free(pb);
    return rc;
}
