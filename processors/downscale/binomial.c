/* Random numbers for downscaling (see binomial.h). */
#include "processors/downscale/binomial.h"

#include <math.h>

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Fills the four words of r from seed through splitmix64 (never all zero). */
void pg_ds_rng_seed(pg_ds_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** step. */
uint64_t pg_ds_rng_next(pg_ds_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* 53 random bits scaled into [0, 1). */
double pg_ds_rng_uniform(pg_ds_rng *r)
{
    return (double)(pg_ds_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Inversion (Kachitvichyanukul & Schmeiser's BINV) for p <= 0.5 and a small n*p. */
static int64_t binv(pg_ds_rng *r, int64_t n, double p)
{
    double q = 1.0 - p, s = p / q, a = (double)(n + 1) * s, r0 = pow(q, (double)n);
    for (;;) {
        double u = pg_ds_rng_uniform(r), f = r0;
        int64_t x = 0;
        while (u > f) {
            u -= f;
            x++;
            if (x > n) break;
            f *= a / (double)x - s;
        }
        if (x <= n) return x;
    }
}

/* Standard normal by Box-Muller (one of the pair). */
static double normal(pg_ds_rng *r)
{
    double u1 = pg_ds_rng_uniform(r), u2 = pg_ds_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Picks the method by size; for p > 1/2 draws the complement. */
int64_t pg_ds_binomial(pg_ds_rng *r, int64_t n, double p)
{
    if (n <= 0 || p <= 0) return 0;
    if (p >= 1) return n;
    if (n < 64) {
        int64_t k = 0;
        for (int64_t i = 0; i < n; i++)
            k += pg_ds_rng_uniform(r) < p;
        return k;
    }
    if (p > 0.5) return n - pg_ds_binomial(r, n, 1.0 - p);
    double mean = (double)n * p;
    if (mean < 30) return binv(r, n, p);
    double x = floor(mean + sqrt(mean * (1.0 - p)) * normal(r) + 0.5);
    if (x < 0) x = 0;
    if (x > (double)n) x = (double)n;
    return (int64_t)x;
}
