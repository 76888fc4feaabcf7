/* test_linear.c — mf_linear.h: exact fits of noiseless data by every solver
 * (and ridge's closed form for one feature), the elastic net soft-threshold
 * case, predict against a loop, errors and allocation failures. */
#include <math.h>
#include <string.h>

#include "ctest.h"
#include "moonforge.h"

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;
static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static mf_tensor *mk(int ndim, int64_t n, int64_t p, const double *v)
{
    mf_tensor *t = NULL;
    int64_t shape[2] = {n, p};
    if (mf_tensor_new(&t, MF_FLOAT64, ndim, shape)) return NULL;
    memcpy(mf_tensor_data(t), v, (size_t)(ndim == 2 ? n * p : n) * sizeof(double));
    return t;
}

#define N 40
#define P 3

CTEST(exact_fit_every_solver)
{
    double x[N * P], y[N];
    const double w[P] = {1.5, -2, 0.25};
    for (int i = 0; i < N; i++) {
        y[i] = 7;
        for (int j = 0; j < P; j++) {
            x[i * P + j] = urand() * 2 - 1 + 100 * j;
            y[i] += w[j] * x[i * P + j];
        }
    }
    mf_tensor *X = mk(2, N, P, x), *Y = mk(1, N, 0, y);
    for (int s = MF_LINEAR_AUTO; s <= MF_LINEAR_SVD; s++) {
        mf_tensor *c = NULL, *b = NULL, *pr = NULL;
        mf_linear_info info;
        CHECK_OK(mf_linear_lstsq(X, Y, 1, (mf_linear_solver)s, 0, &c, &b, &info));
        CHECK_INT(info.rank, P);
        CHECK_INT(c->ndim, 1);
        for (int j = 0; j < P; j++) CHECK_NEAR(((double *)mf_tensor_data(c))[j], w[j], 1e-9);
        CHECK_NEAR(((double *)mf_tensor_data(b))[0], 7, 1e-7);
        CHECK_OK(mf_linear_predict(X, c, b, &pr));
        for (int i = 0; i < N; i++) CHECK_NEAR(((double *)mf_tensor_data(pr))[i], y[i], 1e-8);
        mf_tensor_release(c);
        mf_tensor_release(b);
        mf_tensor_release(pr);
    }
    mf_tensor_release(X);
    mf_tensor_release(Y);
}

CTEST(ridge_and_enet_one_feature)
{
    double x[5] = {-2, -1, 0, 1, 2}, y[5] = {-3, -1.5, 0.5, 2, 4};
    mf_tensor *X = mk(2, 5, 1, x), *Y = mk(1, 5, 0, y), *c = NULL, *b = NULL;
    mf_linear_info info;
    /* centered: x^T x = 10, x^T y = 17.5; ridge w = 17.5 / (10 + alpha) */
    CHECK_OK(mf_linear_lstsq(X, Y, 1, MF_LINEAR_AUTO, 2.5, &c, &b, &info));
    CHECK_NEAR(((double *)mf_tensor_data(c))[0], 17.5 / 12.5, 1e-12);
    CHECK_NEAR(((double *)mf_tensor_data(b))[0], 0.4, 1e-12);
    mf_tensor_release(c);
    mf_tensor_release(b);
    /* elastic net: (x^T y / n - a l1) / (x^T x / n + a (1 - l1)) = (3.5 - 0.2) / (2 + 0.3) */
    int64_t it;
    int conv;
    double gap;
    CHECK_OK(mf_linear_enet(X, Y, 1, 0.5, 0.4, 100, 1e-8, &c, &b, &it, &conv, &gap));
    CHECK(conv);
    CHECK_NEAR(((double *)mf_tensor_data(c))[0], 3.3 / 2.3, 1e-12);
    mf_tensor_release(c);
    mf_tensor_release(b);
    mf_tensor_release(X);
    mf_tensor_release(Y);
}

CTEST(errors_and_nonfinite)
{
    double x[6] = {1, 2, 3, 4, 5, 6}, y[3] = {1, 2, 3};
    mf_tensor *X = mk(2, 3, 2, x), *Y = mk(1, 2, 0, y), *c = NULL, *b = NULL;
    mf_linear_info info;
    CHECK_ERR(mf_linear_lstsq(X, Y, 1, MF_LINEAR_AUTO, 0, &c, &b, &info), MF_EINVAL, 2);
    CHECK_ERR(mf_linear_lstsq(X, X, 1, MF_LINEAR_AUTO, -1, &c, &b, &info), MF_EINVAL, 5);
    int64_t r, col;
    CHECK_OK(mf_linear_find_nonfinite(X, &r, &col));
    CHECK_INT(r, -1);
    ((double *)mf_tensor_data(X))[3] = INFINITY;
    CHECK_OK(mf_linear_find_nonfinite(X, &r, &col));
    CHECK_INT(r, 1);
    CHECK_INT(col, 1);
    mf_tensor_release(X);
    mf_tensor_release(Y);
}

CTEST(allocation_failures_leak_nothing)
{
    double x[N * P], y[N];
    for (int i = 0; i < N * P; i++) x[i] = urand();
    for (int i = 0; i < N; i++) y[i] = urand();
    mf_tensor *X = mk(2, N, P, x), *Y = mk(1, N, 0, y);
    for (long k = 1; k <= 12; k++) {
        for (int s = MF_LINEAR_AUTO; s <= MF_LINEAR_SVD; s++) {
            size_t before = mf_mem_in_use();
            mf_tensor *c = NULL, *b = NULL;
            mf_linear_info info;
            mf_mem_fail_after(k);
            mf_status st = mf_linear_lstsq(X, Y, 1, (mf_linear_solver)s, 0, &c, &b, &info);
            mf_mem_fail_after(0);
            if (st == MF_OK) {
                mf_tensor_release(c);
                mf_tensor_release(b);
            }
            CHECK_INT(mf_mem_in_use(), before);
        }
        size_t before = mf_mem_in_use();
        mf_tensor *c = NULL, *b = NULL;
        int64_t it, t;
        int conv;
        double gap;
        mf_mem_fail_after(k);
        mf_status st = mf_linear_enet(X, Y, 1, 0.01, 0.5, 50, 1e-4, &c, &b, &it, &conv, &gap);
        mf_mem_fail_after(0);
        if (st == MF_OK) {
            mf_tensor_release(c);
            mf_tensor_release(b);
        }
        mf_linear_sgd_options o = {MF_LINEAR_SGD_SQUARED, MF_LINEAR_SGD_L2, MF_LINEAR_SGD_INVSCALING, 1e-4, 0.15, 0.1,
                            0.01, 0.25, 1e-3, 5, 5, 1, 1, 3};
        mf_mem_fail_after(k);
        st = mf_linear_sgd(X, Y, &o, &c, &b, &it, &t);
        mf_mem_fail_after(0);
        if (st == MF_OK) {
            mf_tensor_release(c);
            mf_tensor_release(b);
        }
        CHECK_INT(mf_mem_in_use(), before);
    }
    mf_tensor_release(X);
    mf_tensor_release(Y);
}

const ctest_case ctest_linear[] = {
    CTEST_ENTRY(exact_fit_every_solver),
    CTEST_ENTRY(ridge_and_enet_one_feature),
    CTEST_ENTRY(errors_and_nonfinite),
    CTEST_ENTRY(allocation_failures_leak_nothing),
    {NULL, NULL},
};
