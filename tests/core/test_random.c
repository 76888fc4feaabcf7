/* test_random.c — the generator against an independent implementation of
 * xoshiro256** / SplitMix64 (values computed in Python), and its fills. */
#include "ctest.h"
#include "moonforge.h"

CTEST(fixed_values_for_seed_42)
{
    mf_rng r;
    mf_rng_seed(&r, 42);
    CHECK(mf_rng_next(&r) == 0x15780b2e0c2ec716ULL);
    CHECK(mf_rng_next(&r) == 0x6104d9866d113a7eULL);
    CHECK(mf_rng_next(&r) == 0xae17533239e499a1ULL);
    mf_rng_seed(&r, 42);
    CHECK_NEAR(mf_rng_uniform(&r), 0.08386297105988216, 0);

    mf_tensor *t;
    CHECK_OK(mf_tensor_new(&t, MF_FLOAT32, 1, (int64_t[]){2}));
    mf_rng_seed(&r, 42);
    CHECK_OK(mf_tensor_uniform_(t, &r, 0, 1));
    CHECK_NEAR(((float *)mf_tensor_data(t))[0], 0.08386296033859253, 0);
    CHECK_NEAR(((float *)mf_tensor_data(t))[1], 0.37898021936416626, 0);
    mf_tensor_release(t);

    CHECK_OK(mf_tensor_new(&t, MF_FLOAT64, 1, (int64_t[]){2}));
    mf_rng_seed(&r, 42);
    CHECK_OK(mf_tensor_normal_(t, &r, 0, 1));
    CHECK_NEAR(((double *)mf_tensor_data(t))[0], -0.303263064678738, 1e-14);
    CHECK_NEAR(((double *)mf_tensor_data(t))[1], 0.28846173882942383, 1e-14);
    mf_tensor_release(t);
}

CTEST(moments)
{
    mf_rng r;
    mf_tensor *t;
    int64_t n = 200000;
    mf_rng_seed(&r, 7);
    CHECK_OK(mf_tensor_new(&t, MF_FLOAT64, 1, &n));
    CHECK_OK(mf_tensor_normal_(t, &r, 2, 3));
    double s = 0, s2 = 0, *d = mf_tensor_data(t);
    for (int64_t i = 0; i < n; i++) s += d[i];
    double mean = s / (double)n;
    for (int64_t i = 0; i < n; i++) s2 += (d[i] - mean) * (d[i] - mean);
    CHECK_NEAR(mean, 2, 0.03);
    CHECK_NEAR(s2 / (double)(n - 1), 9, 0.1);
    CHECK_OK(mf_tensor_uniform_(t, &r, -1, 3));
    s = 0;
    int in_range = 1;
    for (int64_t i = 0; i < n; i++) {
        s += d[i];
        in_range &= d[i] >= -1 && d[i] < 3;
    }
    CHECK(in_range);
    CHECK_NEAR(s / (double)n, 1, 0.01);
    mf_tensor_release(t);
}

CTEST(randint_and_randperm)
{
    mf_rng r;
    mf_tensor *t, *p;
    int64_t n = 60000, counts[6] = {0};
    mf_rng_seed(&r, 1);
    CHECK_OK(mf_tensor_new(&t, MF_INT64, 1, &n));
    CHECK_OK(mf_tensor_randint_(t, &r, -3, 3));
    int64_t *d = mf_tensor_data(t);
    int ok = 1;
    for (int64_t i = 0; i < n; i++) {
        ok &= d[i] >= -3 && d[i] < 3;
        if (d[i] >= -3 && d[i] < 3) counts[d[i] + 3]++;
    }
    CHECK(ok);
    for (int k = 0; k < 6; k++) CHECK_NEAR(counts[k], 10000, 400);
    CHECK_ERR(mf_tensor_randint_(t, &r, 3, 3), MF_EINVAL, 2);
    CHECK_OK(mf_tensor_randperm(&p, &r, 1000, MF_INT64));
    char seen[1000] = {0};
    const int64_t *pd = mf_tensor_data(p);
    int perm = 1;
    for (int i = 0; i < 1000; i++) {
        perm &= pd[i] >= 0 && pd[i] < 1000 && !seen[pd[i]];
        if (pd[i] >= 0 && pd[i] < 1000) seen[pd[i]] = 1;
    }
    CHECK(perm);
    mf_tensor_release(t);
    mf_tensor_release(p);
}

CTEST(fills_need_contiguous)
{
    mf_rng r;
    mf_tensor *t, *tr;
    mf_rng_seed(&r, 1);
    CHECK_OK(mf_tensor_zeros(&t, MF_FLOAT32, 2, (int64_t[]){2, 3}));
    CHECK_OK(mf_tensor_transpose(&tr, t, 0, 1));
    CHECK_ERR(mf_tensor_uniform_(tr, &r, 0, 1), MF_EINVAL, 1);
    mf_tensor_release(t);
    mf_tensor_release(tr);
}

const ctest_case ctest_random[] = {
    CTEST_ENTRY(fixed_values_for_seed_42),
    CTEST_ENTRY(moments),
    CTEST_ENTRY(randint_and_randperm),
    CTEST_ENTRY(fills_need_contiguous),
    {NULL, NULL},
};
