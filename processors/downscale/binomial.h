/* Random numbers for downscaling: a seeded xoshiro256** generator and an exact-mean
 * binomial sampler. Private to the downscale processor. */
#ifndef PG_DOWNSCALE_BINOMIAL_H
#define PG_DOWNSCALE_BINOMIAL_H

#include <stdint.h>

typedef struct pg_ds_rng {
    uint64_t s[4];
} pg_ds_rng;

/* Seeds r from one 64-bit value (any value, 0 included). */
void pg_ds_rng_seed(pg_ds_rng *r, uint64_t seed);

/* The next 64 random bits. */
uint64_t pg_ds_rng_next(pg_ds_rng *r);

/* A uniform double in [0, 1). */
double pg_ds_rng_uniform(pg_ds_rng *r);

/* A draw from Binomial(n, p): n independent events each kept with probability p. n <= 0
 * gives 0, p >= 1 gives n. Exact (Bernoulli trials below 64 events, inversion while the
 * expected count of the rarer outcome is below 30); beyond that a rounded normal with the
 * same mean and variance, whose mean differs from n*p by far less than one event in 10^6. */
int64_t pg_ds_binomial(pg_ds_rng *r, int64_t n, double p);

#endif
