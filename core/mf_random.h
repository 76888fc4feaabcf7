/*
 * mf_random.h — the one pseudo-random generator of moonforge.
 *
 * Algorithm (fixed, so a seed gives the same numbers on every machine):
 *  - generator: xoshiro256** (Blackman & Vigna); seeding fills its four
 *    words with successive outputs of SplitMix64 started at the seed;
 *  - uniform float64 in [0, 1): (next >> 11) * 2^-53; float32: (next >> 40) * 2^-24;
 *  - integers in [0, n): Lemire's multiply-shift with rejection (unbiased);
 *  - normal: Box-Muller on (1 - u1, u2), both outputs used in order;
 *  - permutations: Fisher-Yates from the last position down.
 * The default generator starts at seed MF_RNG_DEFAULT_SEED, like PyTorch's.
 * A generator is not thread-safe; give each thread its own.
 */
#ifndef MF_RANDOM_H
#define MF_RANDOM_H

#include "mf_tensor.h"

#define MF_RNG_DEFAULT_SEED 67280421310721ULL

typedef struct mf_rng {
    uint64_t s[4];
    uint64_t seed;
} mf_rng;

void mf_rng_seed(mf_rng *r, uint64_t seed);
mf_rng *mf_rng_global(void);
uint64_t mf_rng_next(mf_rng *r);
double mf_rng_uniform(mf_rng *r);
/* Uniform integer in [0, n); n > 0. */
uint64_t mf_rng_below(mf_rng *r, uint64_t n);

/* Fill a contiguous tensor, elements in row-major order. */
mf_status mf_tensor_uniform_(mf_tensor *t, mf_rng *r, double lo, double hi);
mf_status mf_tensor_normal_(mf_tensor *t, mf_rng *r, double mean, double std);
/* Integers in [lo, hi). */
mf_status mf_tensor_randint_(mf_tensor *t, mf_rng *r, int64_t lo, int64_t hi);
/* A random permutation of 0..n-1. */
mf_status mf_tensor_randperm(mf_tensor **out, mf_rng *r, int64_t n, mf_dtype dt);

#endif
