#include "pipeline/exporterhelper/retry.h"

/* Copies the settings; the first wait is drawn around the initial interval. */
void pg_backoff_init(pg_backoff *bo, const struct pg_retry_config *cfg, int64_t start_ns,
                     uint64_t seed)
{
    bo->initial = cfg->initial_interval > 0 ? cfg->initial_interval : 1;
    bo->max_interval = cfg->max_interval > 0 ? cfg->max_interval : bo->initial;
    bo->max_elapsed = cfg->max_elapsed_time > 0 ? cfg->max_elapsed_time : 0;
    bo->multiplier = cfg->multiplier >= 1.0 ? cfg->multiplier : 1.0;
    bo->randomization = cfg->randomization_factor;
    if (bo->randomization < 0) bo->randomization = 0;
    if (bo->randomization > 1) bo->randomization = 1;
    bo->current = bo->initial < bo->max_interval ? bo->initial : bo->max_interval;
    bo->start = start_ns;
    bo->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
}

/* xorshift64*: a uniform double in [0, 1). */
static double next_unit(pg_backoff *bo)
{
    uint64_t x = bo->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    bo->rng = x;
    return (double)((x * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

/* Draws the wait around the current interval, then grows the interval (capped). */
int64_t pg_backoff_next(pg_backoff *bo, int64_t now_ns)
{
    double cur = (double)bo->current;
    double delta = bo->randomization * cur;
    double wait = cur - delta + next_unit(bo) * (2 * delta + 1);
    if (wait < 0) wait = 0;
    double grown = cur * bo->multiplier;
    bo->current = grown >= (double)bo->max_interval ? bo->max_interval : (int64_t)grown;
    int64_t w = (int64_t)wait;
    if (bo->max_elapsed && now_ns - bo->start + w > bo->max_elapsed) return PG_BACKOFF_STOP;
    return w;
}
