/* test_svm.c — the kernels of mf_svm.h: a two-point problem solved by hand,
 * the equality constraint and the box at the solution, predict against a
 * direct kernel sum, the cache (two rows) giving the same solution as a
 * full one, errors, thread-count independence and allocation failures. */
#include <math.h>
#include <stdlib.h>
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

/* n rows of 3 features, K classes (row i in class i % K, shifted by class). */
static void make_problem(int64_t n, int64_t K, mf_tensor **X, mf_tensor **y)
{
    int64_t sh[2] = {n, 3};
    *X = *y = NULL;
    if (mf_tensor_new(X, MF_FLOAT64, 2, sh) || mf_tensor_new(y, MF_INT64, 1, sh)) return;
    double *x = mf_tensor_data(*X);
    int64_t *c = mf_tensor_data(*y);
    for (int64_t i = 0; i < n; i++) {
        c[i] = i % K;
        for (int64_t j = 0; j < 3; j++) x[i * 3 + j] = urand() * 2 - 1 + (j == c[i] % 3 ? 1.0 : 0.0);
    }
}

static mf_svm_opts default_opts(mf_svm_kernel k)
{
    mf_svm_opts o = {{k, 0.5, 0.0, 3}, 1.0, 1e-3, -1, 200.0, 0, 0};
    return o;
}

static mf_svm_model model_of(const mf_svm_opts *o, int64_t K, const mf_tensor *sv, const mf_svm_fit_out *r)
{
    mf_svm_model m = {o->kp, K, sv, r->n_support, r->dual_coef, r->intercept, r->prob_a, r->prob_b};
    return m;
}

/* x = -1 (class 0) and x = +1 (class 1), linear kernel: the widest margin
 * is w = 1, b = 0 with α = ½ for both (C ≥ ½); with C = ¼ both are at the
 * bound and the decision of class 0 is f(x) = -x/2. */
CTEST(two_points_by_hand)
{
    int64_t sh[2] = {2, 1};
    mf_tensor *X = NULL, *y = NULL, *sv = NULL, *P = NULL;
    CHECK_OK(mf_tensor_new(&X, MF_FLOAT64, 2, sh));
    CHECK_OK(mf_tensor_new(&y, MF_INT64, 1, sh));
    ((double *)mf_tensor_data(X))[0] = -1;
    ((double *)mf_tensor_data(X))[1] = 1;
    ((int64_t *)mf_tensor_data(y))[0] = 0;
    ((int64_t *)mf_tensor_data(y))[1] = 1;
    const double Cs[2] = {10.0, 0.25}, alpha[2] = {0.5, 0.25};
    for (int c = 0; c < 2; c++) {
        mf_svm_opts o = default_opts(MF_SVM_LINEAR);
        o.C = Cs[c];
        mf_svm_fit_out r;
        CHECK_OK(mf_svm_fit(X, y, 2, NULL, &o, &r));
        if (!r.dual_coef) continue;
        CHECK_INT(mf_tensor_numel(r.support), 2);
        const double *dc = mf_tensor_data(r.dual_coef);
        CHECK_NEAR(dc[0], alpha[c], 1e-12);  /* class 0 is +1 in its pair */
        CHECK_NEAR(dc[1], -alpha[c], 1e-12);
        CHECK_NEAR(((double *)mf_tensor_data(r.intercept))[0], 0.0, 1e-12);
        sv = X;
        mf_svm_model m = model_of(&o, 2, sv, &r);
        CHECK_OK(mf_svm_predict(X, &m, MF_SVM_OVO, &P));
        if (P) {
            CHECK_NEAR(((double *)mf_tensor_data(P))[0], 2 * alpha[c], 1e-12);
            CHECK_NEAR(((double *)mf_tensor_data(P))[1], -2 * alpha[c], 1e-12);
        }
        mf_tensor_release(P);
        P = NULL;
        mf_svm_fit_out_release(&r);
        CHECK(r.dual_coef == NULL && r.support == NULL);
    }
    mf_tensor_release(X);
    mf_tensor_release(y);
}

/* Σ y α = 0 per pair, 0 <= α <= C, and predict equal to the kernel sum. */
CTEST(constraints_and_predict)
{
    mf_tensor *X, *y, *sv = NULL, *O = NULL, *V = NULL;
    make_problem(90, 3, &X, &y);
    mf_svm_opts o = default_opts(MF_SVM_RBF);
    mf_svm_fit_out r;
    CHECK_OK(mf_svm_fit(X, y, 3, NULL, &o, &r));
    int64_t nsv = mf_tensor_numel(r.support), d = 3, sh[2] = {nsv, 3};
    CHECK_OK(mf_tensor_new(&sv, MF_FLOAT64, 2, sh));
    const int64_t *sup = mf_tensor_data(r.support), *ns = mf_tensor_data(r.n_support);
    const double *x = mf_tensor_data(X), *dc = mf_tensor_data(r.dual_coef), *b = mf_tensor_data(r.intercept);
    for (int64_t s = 0; s < nsv; s++) memcpy((double *)mf_tensor_data(sv) + s * d, x + sup[s] * d, 3 * sizeof(double));
    CHECK_INT(ns[0] + ns[1] + ns[2], nsv);
    int64_t start[3] = {0, ns[0], ns[0] + ns[1]};
    for (int64_t a = 0; a < 3; a++) {
        for (int64_t c = a + 1; c < 3; c++) {
            double sum = 0;
            for (int64_t t = start[a]; t < start[a] + ns[a]; t++) {
                CHECK(dc[(c - 1) * nsv + t] >= 0 && dc[(c - 1) * nsv + t] <= o.C + 1e-12);
                sum += dc[(c - 1) * nsv + t];
            }
            for (int64_t t = start[c]; t < start[c] + ns[c]; t++) {
                CHECK(dc[a * nsv + t] <= 0 && dc[a * nsv + t] >= -o.C - 1e-12);
                sum += dc[a * nsv + t];
            }
            CHECK_NEAR(sum, 0.0, 1e-10);
        }
    }
    mf_svm_model m = model_of(&o, 3, sv, &r);
    CHECK_OK(mf_svm_predict(X, &m, MF_SVM_OVO, &O));
    CHECK_OK(mf_svm_predict(X, &m, MF_SVM_VOTE, &V));
    const double *dec = mf_tensor_data(O);
    int right = 0;
    for (int64_t i = 0; i < 90; i++) {
        int64_t votes[3] = {0, 0, 0};
        for (int64_t a = 0, q = 0; a < 3; a++) {
            for (int64_t c = a + 1; c < 3; c++, q++) {
                double f = b[q];
                for (int64_t t = start[a]; t < start[a] + ns[a]; t++) {
                    double s2 = 0;
                    for (int64_t j = 0; j < d; j++) s2 += pow(x[i * d + j] - x[sup[t] * d + j], 2);
                    f += dc[(c - 1) * nsv + t] * exp(-0.5 * s2);
                }
                for (int64_t t = start[c]; t < start[c] + ns[c]; t++) {
                    double s2 = 0;
                    for (int64_t j = 0; j < d; j++) s2 += pow(x[i * d + j] - x[sup[t] * d + j], 2);
                    f += dc[a * nsv + t] * exp(-0.5 * s2);
                }
                CHECK_NEAR(dec[i * 3 + q], f, 1e-12);
                votes[f > 0 ? a : c]++;
            }
        }
        int64_t best = 0;
        for (int64_t k = 1; k < 3; k++)
            if (votes[k] > votes[best]) best = k;
        CHECK_INT(((int64_t *)mf_tensor_data(V))[i], best);
        right += best == ((int64_t *)mf_tensor_data(y))[i];
    }
    CHECK(right > 60); /* of 90 (chance: 30) */
    mf_tensor *objs[] = {X, y, sv, O, V};
    for (size_t a = 0; a < sizeof objs / sizeof objs[0]; a++) mf_tensor_release(objs[a]);
    mf_svm_fit_out_release(&r);
}

/* Two cached rows (constant eviction) and one thread give bit-identical
 * solutions to a full cache on all threads. */
CTEST(cache_and_threads_identical)
{
    mf_tensor *X, *y;
    make_problem(300, 2, &X, &y);
    mf_svm_opts o = default_opts(MF_SVM_POLY), tiny = o;
    o.probability = 1;
    tiny.probability = 1;
    tiny.cache_mb = 1e-6;
    mf_svm_fit_out r1, r2;
    int old = mf_num_threads();
    CHECK_OK(mf_svm_fit(X, y, 2, NULL, &o, &r1));
    mf_set_num_threads(1);
    CHECK_OK(mf_svm_fit(X, y, 2, NULL, &tiny, &r2));
    mf_set_num_threads(old);
    int64_t nsv = mf_tensor_numel(r1.support);
    CHECK_INT(mf_tensor_numel(r2.support), nsv);
    if (mf_tensor_numel(r2.support) == nsv) {
        CHECK(memcmp(mf_tensor_data(r1.dual_coef), mf_tensor_data(r2.dual_coef), (size_t)nsv * sizeof(double)) == 0);
        CHECK(memcmp(mf_tensor_data(r1.prob_a), mf_tensor_data(r2.prob_a), sizeof(double)) == 0);
    }
    CHECK(((double *)mf_tensor_data(r1.prob_a))[0] < 0); /* P(class 0) grows with its decision */
    mf_svm_fit_out_release(&r1);
    mf_svm_fit_out_release(&r2);
    mf_tensor_release(X);
    mf_tensor_release(y);
}

/* The AVX2 kernels and the SSE2 ones give the same bits. */
CTEST(simd_identical)
{
    mf_tensor *X, *y, *P1 = NULL, *P2 = NULL;
    make_problem(200, 3, &X, &y);
    mf_svm_opts o = default_opts(MF_SVM_RBF);
    o.probability = 1;
    mf_svm_fit_out r1, r2;
    mf_svm_set_simd(1);
    CHECK_OK(mf_svm_fit(X, y, 3, NULL, &o, &r1));
    mf_svm_set_simd(0);
    CHECK_OK(mf_svm_fit(X, y, 3, NULL, &o, &r2));
    int64_t nsv = mf_tensor_numel(r1.support);
    CHECK_INT(mf_tensor_numel(r2.support), nsv);
    if (nsv == mf_tensor_numel(r2.support)) {
        CHECK(memcmp(mf_tensor_data(r1.dual_coef), mf_tensor_data(r2.dual_coef),
                     (size_t)(2 * nsv) * sizeof(double)) == 0);
        CHECK(memcmp(mf_tensor_data(r1.prob_b), mf_tensor_data(r2.prob_b), 3 * sizeof(double)) == 0);
        int64_t sh[2] = {nsv, 3};
        mf_tensor *sv = NULL;
        CHECK_OK(mf_tensor_new(&sv, MF_FLOAT64, 2, sh));
        for (int64_t s = 0; s < nsv; s++)
            memcpy((double *)mf_tensor_data(sv) + 3 * s,
                   (double *)mf_tensor_data(X) + 3 * ((int64_t *)mf_tensor_data(r1.support))[s], 3 * sizeof(double));
        mf_svm_model m = model_of(&o, 3, sv, &r1);
        CHECK_OK(mf_svm_predict(X, &m, MF_SVM_PROBA, &P2));
        mf_svm_set_simd(1);
        CHECK_OK(mf_svm_predict(X, &m, MF_SVM_PROBA, &P1));
        CHECK(memcmp(mf_tensor_data(P1), mf_tensor_data(P2), 600 * sizeof(double)) == 0);
        mf_tensor_release(sv);
    }
    mf_svm_set_simd(1); /* the default again */
    mf_tensor *objs[] = {X, y, P1, P2};
    for (size_t a = 0; a < sizeof objs / sizeof objs[0]; a++) mf_tensor_release(objs[a]);
    mf_svm_fit_out_release(&r1);
    mf_svm_fit_out_release(&r2);
}

CTEST(errors)
{
    mf_tensor *X, *y, *w = NULL;
    make_problem(10, 2, &X, &y);
    mf_svm_opts o = default_opts(MF_SVM_RBF);
    mf_svm_fit_out r;
    CHECK_ERR(mf_svm_fit(X, y, 1, NULL, &o, &r), MF_EINVAL, 3);
    CHECK(r.support == NULL);
    CHECK_ERR(mf_svm_fit(y, y, 2, NULL, &o, &r), MF_EINVAL, 1);
    ((int64_t *)mf_tensor_data(y))[3] = 5;
    CHECK_ERR(mf_svm_fit(X, y, 2, NULL, &o, &r), MF_ERANGE, 2);
    ((int64_t *)mf_tensor_data(y))[3] = 1;
    o.C = -1;
    CHECK_ERR(mf_svm_fit(X, y, 2, NULL, &o, &r), MF_EINVAL, 5);
    o = default_opts(MF_SVM_RBF);
    o.kp.gamma = NAN;
    CHECK_ERR(mf_svm_fit(X, y, 2, NULL, &o, &r), MF_EINVAL, 5);
    o = default_opts(MF_SVM_RBF);
    int64_t n = 10;
    CHECK_OK(mf_tensor_zeros(&w, MF_FLOAT64, 1, &n));
    ((double *)mf_tensor_data(w))[0] = 1; /* class 1 has no weight left */
    CHECK_ERR(mf_svm_fit(X, y, 2, w, &o, &r), MF_EINVAL, 2);
    ((double *)mf_tensor_data(w))[1] = -1;
    CHECK_ERR(mf_svm_fit(X, y, 2, w, &o, &r), MF_EINVAL, 4);
    /* predict: a model whose parts disagree */
    CHECK_OK(mf_svm_fit(X, y, 2, NULL, &o, &r));
    mf_tensor *P = NULL, *sv = NULL;
    int64_t nsv = mf_tensor_numel(r.support), sh[2] = {nsv, 3};
    CHECK_OK(mf_tensor_new(&sv, MF_FLOAT64, 2, sh));
    for (int64_t s = 0; s < nsv; s++)
        memcpy((double *)mf_tensor_data(sv) + 3 * s,
               (double *)mf_tensor_data(X) + 3 * ((int64_t *)mf_tensor_data(r.support))[s], 3 * sizeof(double));
    mf_svm_model m = model_of(&o, 2, X, &r);
    if (nsv != 10) CHECK_ERR(mf_svm_predict(X, &m, MF_SVM_VOTE, &P), MF_EINVAL, 2); /* X is not the SVs */
    m.sv = sv;
    CHECK_OK(mf_svm_predict(X, &m, MF_SVM_VOTE, &P));
    mf_tensor_release(P);
    P = NULL;
    m.K = 3;
    CHECK_ERR(mf_svm_predict(X, &m, MF_SVM_VOTE, &P), MF_EINVAL, 2);
    m.K = 2;
    CHECK_ERR(mf_svm_predict(X, &m, MF_SVM_PROBA, &P), MF_EINVAL, 3); /* fitted without probability */
    CHECK_ERR(mf_svm_predict(y, &m, MF_SVM_VOTE, &P), MF_EINVAL, 1);
    CHECK(P == NULL);
    mf_tensor_release(sv);
    double g;
    CHECK_OK(mf_svm_gamma_scale(X, &g));
    CHECK(g > 0);
    CHECK_ERR(mf_svm_gamma_scale(y, &g), MF_EINVAL, 1);
    mf_svm_fit_out_release(&r);
    mf_tensor_release(X);
    mf_tensor_release(y);
    mf_tensor_release(w);
}

CTEST(alloc_failures)
{
    mf_tensor *X, *y;
    make_problem(40, 3, &X, &y);
    mf_svm_opts o = default_opts(MF_SVM_RBF);
    o.probability = 1;
    int succeeded = 0;
    for (int k = 1; k < 400 && succeeded < 3; k++) { /* every allocation of a fit with probabilities */
        mf_svm_fit_out r;
        mf_mem_fail_after(k);
        mf_status st = mf_svm_fit(X, y, 3, NULL, &o, &r);
        mf_mem_fail_after(0);
        if (st != MF_OK) {
            CHECK(r.support == NULL && r.dual_coef == NULL && r.prob_a == NULL);
            continue;
        }
        succeeded++;
        mf_svm_model m = model_of(&o, 3, X, &r);
        mf_tensor *sv = NULL, *P = NULL;
        int64_t nsv = mf_tensor_numel(r.support), sh[2] = {nsv, 3};
        if (mf_tensor_new(&sv, MF_FLOAT64, 2, sh) == MF_OK) {
            m.sv = sv;
            mf_mem_fail_after(k % 3 + 1);
            if (mf_svm_predict(X, &m, MF_SVM_PROBA, &P) == MF_OK) mf_tensor_release(P);
            else CHECK(P == NULL);
            mf_mem_fail_after(0);
        }
        mf_tensor_release(sv);
        mf_svm_fit_out_release(&r);
    }
    mf_tensor_release(X);
    mf_tensor_release(y);
}

const ctest_case ctest_svm[] = {
    CTEST_ENTRY(two_points_by_hand),
    CTEST_ENTRY(constraints_and_predict),
    CTEST_ENTRY(cache_and_threads_identical),
    CTEST_ENTRY(simd_identical),
    CTEST_ENTRY(errors),
    CTEST_ENTRY(alloc_failures),
    {NULL, NULL},
};
