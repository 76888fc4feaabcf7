/* test_neighbors.c — the kernels of mf_neighbors.h: k nearest neighbours
 * against a reference loop (with many ties on a grid, and across GEMM block
 * boundaries), votes and weighted means with an exact match, Gaussian naive
 * Bayes against the formulas, errors, thread-count independence and
 * allocation failures. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctest.h"
#include "moonforge.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* n x p: uniform in [-2, 2], or integers 0..3 when grid (many ties). */
static mf_tensor *make_X(int64_t n, int64_t p, int grid)
{
    int64_t sh[2] = {n, p};
    mf_tensor *X = NULL;
    if (mf_tensor_new(&X, MF_FLOAT64, 2, sh)) return NULL;
    double *x = mf_tensor_data(X);
    for (int64_t i = 0; i < n * p; i++) x[i] = grid ? floor(urand() * 4) : urand() * 4 - 2;
    return X;
}

/* Reference: rank of training row i among all for query q by (distance, index). */
static void ref_knn(const double *t, const double *q, int64_t n, int64_t d, int64_t k, double *rd,
                    int64_t *ri)
{
    double *all = malloc((size_t)n * sizeof(double));
    char *used = calloc((size_t)n, 1);
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int64_t j = 0; j < d; j++) s += (q[j] - t[i * d + j]) * (q[j] - t[i * d + j]);
        all[i] = sqrt(s);
    }
    for (int64_t a = 0; a < k; a++) {
        int64_t best = -1;
        for (int64_t i = 0; i < n; i++)
            if (!used[i] && (best < 0 || all[i] < all[best])) best = i;
        used[best] = 1;
        rd[a] = all[best];
        ri[a] = best;
    }
    free(all);
    free(used);
}

static void check_knn(ctest_ctx *ctest_, int64_t n, int64_t m, int64_t d, int64_t k, int grid)
{
    mf_tensor *T = make_X(n, d, grid), *Q = make_X(m, d, grid), *D = NULL, *I = NULL;
    CHECK_OK(mf_neighbors_kneighbors(T, Q, k, &D, &I));
    if (D && I) {
        double *rd = malloc((size_t)k * sizeof(double));
        int64_t *ri = malloc((size_t)k * sizeof(int64_t));
        const double *dd = mf_tensor_data(D);
        const int64_t *ii = mf_tensor_data(I);
        int bad = 0;
        for (int64_t r = 0; r < m; r++) {
            ref_knn(mf_tensor_data(T), (const double *)mf_tensor_data(Q) + r * d, n, d, k, rd, ri);
            for (int64_t a = 0; a < k; a++)
                if (ii[r * k + a] != ri[a] || fabs(dd[r * k + a] - rd[a]) > 1e-12) bad++;
        }
        CHECK_INT(bad, 0);
        free(rd);
        free(ri);
    }
    mf_tensor_release(T);
    mf_tensor_release(Q);
    mf_tensor_release(D);
    mf_tensor_release(I);
}

CTEST(kneighbors_reference)
{
    check_knn(ctest_, 200, 50, 3, 5, 0);
    check_knn(ctest_, 150, 40, 2, 9, 1); /* ties: lower index first */
    check_knn(ctest_, 30, 10, 4, 30, 0); /* k = n */
    check_knn(ctest_, 5000, 300, 2, 3, 1); /* several GEMM tiles both ways (128 x 2048) */
}

CTEST(kneighbors_exact_zero)
{
    mf_tensor *T = make_X(100, 5, 0), *D = NULL, *I = NULL;
    CHECK_OK(mf_neighbors_kneighbors(T, T, 2, &D, &I));
    int bad = 0;
    for (int64_t r = 0; r < 100; r++) {
        if (((double *)mf_tensor_data(D))[r * 2] != 0.0) bad++;
        if (((int64_t *)mf_tensor_data(I))[r * 2] != r) bad++;
    }
    CHECK_INT(bad, 0);
    mf_tensor_release(T);
    mf_tensor_release(D);
    mf_tensor_release(I);
}

CTEST(vote_and_regress)
{
    /* 2 query rows, k = 3; row 0 has an exact match (neighbour 1) */
    int64_t sh[2] = {2, 3}, n = 4;
    mf_tensor *I = NULL, *D = NULL, *C = NULL, *Y = NULL, *P = NULL, *X = NULL, *R = NULL;
    CHECK_OK(mf_tensor_new(&I, MF_INT64, 2, sh));
    CHECK_OK(mf_tensor_new(&D, MF_FLOAT64, 2, sh));
    CHECK_OK(mf_tensor_new(&C, MF_INT64, 1, &n));
    CHECK_OK(mf_tensor_new(&Y, MF_FLOAT64, 1, &n));
    int64_t iv[6] = {1, 0, 2, 3, 2, 0}, cv[4] = {0, 1, 1, 0};
    double dv[6] = {0.0, 1.0, 2.0, 0.5, 1.0, 2.0}, yv[4] = {10, 20, 30, 40};
    memcpy(mf_tensor_data(I), iv, sizeof iv);
    memcpy(mf_tensor_data(D), dv, sizeof dv);
    memcpy(mf_tensor_data(C), cv, sizeof cv);
    memcpy(mf_tensor_data(Y), yv, sizeof yv);
    CHECK_OK(mf_neighbors_vote(I, D, C, 2, 0, MF_NB_PROBA, &P));
    const double *p = mf_tensor_data(P);
    CHECK_NEAR(p[0], 1.0 / 3, 1e-15); /* classes of rows 1, 0, 2: 1, 0, 1 */
    CHECK_NEAR(p[1], 2.0 / 3, 1e-15);
    CHECK_NEAR(p[2], 2.0 / 3, 1e-15); /* rows 3, 2, 0: 0, 1, 0 */
    mf_tensor_release(P);
    CHECK_OK(mf_neighbors_vote(I, D, C, 2, 1, MF_NB_PROBA, &P));
    p = mf_tensor_data(P);
    CHECK_NEAR(p[0], 0.0, 0);
    CHECK_NEAR(p[1], 1.0, 0);
    CHECK_NEAR(p[2], (2 + 0.5) / (2 + 1 + 0.5), 1e-15);
    CHECK_OK(mf_neighbors_vote(I, D, C, 2, 1, MF_NB_INDEX, &X));
    CHECK_INT(((int64_t *)mf_tensor_data(X))[0], 1);
    CHECK_INT(((int64_t *)mf_tensor_data(X))[1], 0);
    CHECK_OK(mf_neighbors_regress(I, D, Y, 1, &R));
    CHECK_NEAR(((double *)mf_tensor_data(R))[0], 20.0, 0);
    CHECK_NEAR(((double *)mf_tensor_data(R))[1], (2 * 40 + 1 * 30 + 0.5 * 10) / 3.5, 1e-13);
    mf_tensor_release(R);
    CHECK_OK(mf_neighbors_regress(I, D, Y, 0, &R));
    CHECK_NEAR(((double *)mf_tensor_data(R))[0], 20.0, 1e-13);
    CHECK_NEAR(((double *)mf_tensor_data(R))[1], 80.0 / 3, 1e-13);
    /* errors */
    mf_tensor *Z = NULL;
    ((int64_t *)mf_tensor_data(I))[0] = 4;
    CHECK_ERR(mf_neighbors_vote(I, D, C, 2, 0, MF_NB_PROBA, &Z), MF_ERANGE, 1);
    ((int64_t *)mf_tensor_data(I))[0] = 1;
    CHECK_ERR(mf_neighbors_vote(I, D, C, 1, 0, MF_NB_PROBA, &Z), MF_ERANGE, 3);
    CHECK_ERR(mf_neighbors_regress(I, D, C, 0, &Z), MF_EINVAL, 3);
    CHECK_ERR(mf_neighbors_kneighbors(Y, D, 1, &Z, &Z), MF_EINVAL, 1);
    CHECK_ERR(mf_neighbors_kneighbors(D, D, 3, &Z, &Z), MF_EINVAL, 3);
    CHECK_ERR(mf_neighbors_kneighbors(D, D, 0, &Z, &Z), MF_EINVAL, 3);
    CHECK(Z == NULL);
    mf_tensor *T = make_X(3, 2, 0);
    CHECK_ERR(mf_neighbors_kneighbors(T, D, 1, &Z, &Z), MF_EINVAL, 2);
    mf_tensor_release(T);
    mf_tensor *objs[] = {I, D, C, Y, P, X, R};
    for (size_t a = 0; a < sizeof objs / sizeof objs[0]; a++) mf_tensor_release(objs[a]);
}

CTEST(gaussian_nb_formulas)
{
    int64_t n = 60, d = 3, K = 3;
    mf_tensor *X = make_X(n, d, 0), *C = NULL, *th = NULL, *va = NULL, *cn = NULL, *P = NULL, *LP = NULL,
              *ID = NULL, *lp = NULL;
    CHECK_OK(mf_tensor_new(&C, MF_INT64, 1, &n));
    CHECK_OK(mf_tensor_new(&lp, MF_FLOAT64, 1, &K));
    double *x = mf_tensor_data(X);
    int64_t *c = mf_tensor_data(C);
    for (int64_t i = 0; i < n; i++) {
        c[i] = i % 3;
        x[i * d + 2] = x[i * d + 2] * 50 + 1e4; /* large offset: two-pass variance */
    }
    double vs = 1e-3;
    CHECK_OK(mf_neighbors_nb_fit(X, C, K, vs, &th, &va, &cn));
    double mu[3][3] = {{0}}, v[3][3] = {{0}}, cm[3] = {0}, cv[3] = {0}, vmax = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) {
            mu[c[i]][j] += x[i * d + j] / 20;
            cm[j] += x[i * d + j] / (double)n;
        }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) {
            v[c[i]][j] += (x[i * d + j] - mu[c[i]][j]) * (x[i * d + j] - mu[c[i]][j]) / 20;
            cv[j] += (x[i * d + j] - cm[j]) * (x[i * d + j] - cm[j]) / (double)n;
        }
    for (int64_t j = 0; j < d; j++) vmax = cv[j] > vmax ? cv[j] : vmax;
    const double *T = mf_tensor_data(th), *V = mf_tensor_data(va);
    for (int64_t k = 0; k < K; k++) {
        CHECK_NEAR(((double *)mf_tensor_data(cn))[k], 20, 0);
        ((double *)mf_tensor_data(lp))[k] = log(1.0 / 3);
        for (int64_t j = 0; j < d; j++) {
            CHECK_NEAR(T[k * d + j], mu[k][j], 1e-9);
            CHECK_NEAR(V[k * d + j], v[k][j] + vs * vmax, 1e-9 * V[k * d + j]);
        }
    }
    CHECK_OK(mf_neighbors_nb_predict(X, th, va, lp, MF_NB_PROBA, &P));
    CHECK_OK(mf_neighbors_nb_predict(X, th, va, lp, MF_NB_LOG_PROBA, &LP));
    CHECK_OK(mf_neighbors_nb_predict(X, th, va, lp, MF_NB_INDEX, &ID));
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double jll[3], mx = -INFINITY, z = 0;
        int64_t best = 0;
        for (int64_t k = 0; k < K; k++) {
            jll[k] = log(1.0 / 3);
            for (int64_t j = 0; j < d; j++) {
                double e = x[i * d + j] - T[k * d + j];
                jll[k] -= 0.5 * log(2 * 3.14159265358979323846 * V[k * d + j]) + 0.5 * e * e / V[k * d + j];
            }
            if (jll[k] > mx) mx = jll[k], best = k;
        }
        for (int64_t k = 0; k < K; k++) z += exp(jll[k] - mx);
        for (int64_t k = 0; k < K; k++) {
            double lpk = jll[k] - mx - log(z);
            if (fabs(((double *)mf_tensor_data(LP))[i * K + k] - lpk) > 1e-9) bad++;
            if (fabs(((double *)mf_tensor_data(P))[i * K + k] - exp(lpk)) > 1e-12) bad++;
        }
        if (((int64_t *)mf_tensor_data(ID))[i] != best) bad++;
    }
    CHECK_INT(bad, 0);
    mf_tensor *Z = NULL, *Z2 = NULL, *Z3 = NULL;
    CHECK_ERR(mf_neighbors_nb_fit(X, C, 4, vs, &Z, &Z2, &Z3), MF_EINVAL, 2); /* class 3 empty */
    CHECK_ERR(mf_neighbors_nb_fit(X, C, 2, vs, &Z, &Z2, &Z3), MF_ERANGE, 2);
    CHECK_ERR(mf_neighbors_nb_fit(X, C, 3, -1, &Z, &Z2, &Z3), MF_EINVAL, 4);
    CHECK_ERR(mf_neighbors_nb_predict(X, th, va, C, MF_NB_PROBA, &Z), MF_EINVAL, 4);
    CHECK(Z == NULL && Z2 == NULL && Z3 == NULL);
    mf_tensor *objs[] = {X, C, th, va, cn, P, LP, ID, lp};
    for (size_t a = 0; a < sizeof objs / sizeof objs[0]; a++) mf_tensor_release(objs[a]);
}

/* Minkowski p = 1, 3 and infinity against a plain loop (grid data: many
 * ties, which go to the lower index); p = 2 is the GEMM path. */
CTEST(kneighbors_minkowski)
{
    mf_tensor *T = make_X(300, 3, 1), *Q = make_X(40, 3, 1);
    const double ps[3] = {1.0, 3.0, INFINITY};
    const double *t = mf_tensor_data(T), *q = mf_tensor_data(Q);
    for (int c = 0; c < 3; c++) {
        mf_tensor *D = NULL, *I = NULL;
        CHECK_OK(mf_neighbors_kneighbors_p(T, Q, 7, ps[c], &D, &I));
        if (!D) continue;
        for (int64_t r = 0; r < 40; r++) {
            double all[300];
            for (int64_t i = 0; i < 300; i++) {
                double s = 0;
                for (int64_t j = 0; j < 3; j++) {
                    double e = fabs(q[r * 3 + j] - t[i * 3 + j]);
                    s = isinf(ps[c]) ? fmax(s, e) : s + pow(e, ps[c]);
                }
                all[i] = isinf(ps[c]) ? s : pow(s, 1.0 / ps[c]);
            }
            char used[300] = {0};
            for (int64_t a = 0; a < 7; a++) {
                int64_t best = -1;
                for (int64_t i = 0; i < 300; i++)
                    if (!used[i] && (best < 0 || all[i] < all[best] - 1e-12)) best = i;
                used[best] = 1;
                CHECK_INT(((int64_t *)mf_tensor_data(I))[r * 7 + a], best);
                CHECK_NEAR(((double *)mf_tensor_data(D))[r * 7 + a], all[best], 1e-12);
            }
        }
        mf_tensor_release(D);
        mf_tensor_release(I);
    }
    mf_tensor *Z = NULL;
    CHECK_ERR(mf_neighbors_kneighbors_p(T, Q, 3, 0.5, &Z, &Z), MF_EINVAL, 4);
    CHECK_ERR(mf_neighbors_kneighbors_p(T, Q, 301, 1.0, &Z, &Z), MF_EINVAL, 3);
    mf_tensor_release(T);
    mf_tensor_release(Q);
}

CTEST(threads_identical)
{
    mf_tensor *T = make_X(3000, 4, 0), *Q = make_X(900, 4, 0), *D1 = NULL, *I1 = NULL, *D2 = NULL,
              *I2 = NULL;
    int old = mf_num_threads();
    mf_set_num_threads(1);
    CHECK_OK(mf_neighbors_kneighbors(T, Q, 6, &D1, &I1));
    mf_set_num_threads(2);
    CHECK_OK(mf_neighbors_kneighbors(T, Q, 6, &D2, &I2));
    mf_set_num_threads(old);
    CHECK(memcmp(mf_tensor_data(D1), mf_tensor_data(D2), 900 * 6 * sizeof(double)) == 0);
    CHECK(memcmp(mf_tensor_data(I1), mf_tensor_data(I2), 900 * 6 * sizeof(int64_t)) == 0);
    mf_tensor *objs[] = {T, Q, D1, I1, D2, I2};
    for (size_t a = 0; a < sizeof objs / sizeof objs[0]; a++) mf_tensor_release(objs[a]);
}

CTEST(alloc_failures)
{
    int64_t n = 40, K = 2;
    mf_tensor *X = make_X(n, 3, 0), *C = NULL, *lp = NULL;
    CHECK_OK(mf_tensor_new(&C, MF_INT64, 1, &n));
    CHECK_OK(mf_tensor_zeros(&lp, MF_FLOAT64, 1, &K));
    for (int64_t i = 0; i < n; i++) ((int64_t *)mf_tensor_data(C))[i] = i % 2;
    for (int k = 1; k < 12; k++) {
        mf_tensor *a = NULL, *b = NULL, *c = NULL, *o = NULL;
        mf_mem_fail_after(k);
        if (mf_neighbors_kneighbors(X, X, 3, &a, &b) == MF_OK) {
            mf_mem_fail_after(k);
            if (mf_neighbors_vote(b, a, C, 2, 1, MF_NB_INDEX, &o) == MF_OK) mf_tensor_release(o);
            else CHECK(o == NULL);
            mf_tensor_release(a);
            mf_tensor_release(b);
        } else
            CHECK(a == NULL && b == NULL);
        mf_mem_fail_after(k);
        if (mf_neighbors_nb_fit(X, C, 2, 1e-9, &a, &b, &c) == MF_OK) {
            mf_mem_fail_after(k);
            if (mf_neighbors_nb_predict(X, a, b, lp, MF_NB_INDEX, &o) == MF_OK) mf_tensor_release(o);
            else CHECK(o == NULL);
            mf_tensor_release(a);
            mf_tensor_release(b);
            mf_tensor_release(c);
        } else
            CHECK(a == NULL && b == NULL && c == NULL);
        mf_mem_fail_after(0);
    }
    mf_tensor_release(X);
    mf_tensor_release(C);
    mf_tensor_release(lp);
}

const ctest_case ctest_neighbors[] = {
    CTEST_ENTRY(kneighbors_reference),
    CTEST_ENTRY(kneighbors_exact_zero),
    CTEST_ENTRY(vote_and_regress),
    CTEST_ENTRY(gaussian_nb_formulas),
    CTEST_ENTRY(kneighbors_minkowski),
    CTEST_ENTRY(threads_identical),
    CTEST_ENTRY(alloc_failures),
    {NULL, NULL},
};
