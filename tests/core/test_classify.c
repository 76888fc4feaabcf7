/* test_classify.c — the kernels of mf_classify.h: the dual coordinate
 * descent of LinearSVC (duality gap and KKT conditions from the returned
 * dual variables, w = Σ α y x), the logistic gradient at the L-BFGS
 * solution, predict against reference loops, label encoding, the non-finite
 * finder, seeded SGD and its schedules and L1 penalty, errors, thread-count independence and allocation
 * failures. */
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

/* n x p features in [-2, 2] and labels 0..K-1 from a noisy linear rule. */
static void make_data(int64_t n, int64_t p, int64_t K, mf_tensor **X, mf_tensor **y)
{
    int64_t sh[2] = {n, p};
    *X = *y = NULL;
    if (mf_tensor_new(X, MF_FLOAT64, 2, sh) || mf_tensor_new(y, MF_INT64, 1, &n)) return;
    double *x = mf_tensor_data(*X);
    int64_t *c = mf_tensor_data(*y);
    for (int64_t i = 0; i < n; i++) {
        double best = -INFINITY;
        for (int64_t j = 0; j < p; j++) x[i * p + j] = urand() * 4 - 2;
        for (int64_t k = 0; k < K; k++) {
            double s = x[i * p + k % p] * (double)(k + 1) - 0.3 * (double)k + urand() * 2.0;
            if (s > best) {
                best = s;
                c[i] = k;
            }
        }
    }
}

static void check_svc_optimal(ctest_ctx *ctest_, mf_classify_svc_loss loss)
{
    mf_tensor *X, *y, *coef = NULL, *icpt = NULL, *alpha = NULL;
    int64_t n = 150, p = 3;
    make_data(n, p, 2, &X, &y);
    mf_classify_opts o = {.C = 0.7, .penalize = 1, .fit_intercept = 1, .max_iter = 100000, .tol = 1e-9};
    mf_classify_info info;
    CHECK_OK(mf_classify_svc_fit(X, y, 2, NULL, &o, loss, 1, &coef, &icpt, &alpha, &info));
    if (!coef || !alpha) goto out;
    CHECK(info.converged);
    const double *x = mf_tensor_data(X), *w = mf_tensor_data(coef), *a = mf_tensor_data(alpha);
    const int64_t *c = mf_tensor_data(y);
    double b = *(const double *)mf_tensor_data(icpt);
    int sq = loss == MF_CLS_SVC_SQUARED_HINGE;
    /* w = Σ α_i y_i (x_i, 1) */
    double wr[4] = {0, 0, 0, 0};
    for (int64_t i = 0; i < n; i++) {
        double yi = c[i] == 1 ? 1.0 : -1.0;
        for (int64_t j = 0; j < p; j++) wr[j] += a[i] * yi * x[i * p + j];
        wr[p] += a[i] * yi;
    }
    for (int64_t j = 0; j < p; j++) CHECK_NEAR(w[j], wr[j], 1e-9);
    CHECK_NEAR(b, wr[p], 1e-9);
    /* primal, dual and KKT */
    double ww = b * b, P, D = 0, loss_sum = 0, asum = 0, aa = 0;
    for (int64_t j = 0; j < p; j++) ww += w[j] * w[j];
    for (int64_t i = 0; i < n; i++) {
        double yi = c[i] == 1 ? 1.0 : -1.0, f = b;
        for (int64_t j = 0; j < p; j++) f += w[j] * x[i * p + j];
        double m = 1 - yi * f;
        loss_sum += m > 0 ? (sq ? m * m : m) : 0;
        asum += a[i];
        aa += a[i] * a[i];
        CHECK(a[i] >= 0);
        if (sq) {
            CHECK_NEAR(a[i], 2 * o.C * (m > 0 ? m : 0), 1e-6);
        } else {
            CHECK(a[i] <= o.C);
            if (a[i] == 0) CHECK(yi * f >= 1 - 1e-6);
            else if (a[i] == o.C) CHECK(yi * f <= 1 + 1e-6);
            else CHECK_NEAR(yi * f, 1, 1e-6);
        }
    }
    P = 0.5 * ww + o.C * loss_sum;
    D = asum - 0.5 * ww - (sq ? aa / (4 * o.C) : 0);
    CHECK(P - D >= -1e-9);
    CHECK((P - D) / P <= 1e-7);
out:
    mf_tensor_release(alpha);
    mf_tensor_release(coef);
    mf_tensor_release(icpt);
    mf_tensor_release(X);
    mf_tensor_release(y);
}

CTEST(svc_dual_hinge_gap_and_kkt) { check_svc_optimal(ctest_, MF_CLS_SVC_HINGE); }
CTEST(svc_dual_squared_hinge_gap_and_kkt) { check_svc_optimal(ctest_, MF_CLS_SVC_SQUARED_HINGE); }

CTEST(logreg_gradient_and_predict)
{
    mf_tensor *X, *y, *coef = NULL, *icpt = NULL, *S = NULL, *Pr = NULL, *I = NULL;
    int64_t n = 500, p = 4, K = 3;
    make_data(n, p, K, &X, &y);
    mf_classify_opts o = {.C = 2.0, .penalize = 1, .fit_intercept = 1, .max_iter = 500, .tol = 1e-8};
    mf_classify_info info;
    CHECK_OK(mf_classify_logreg_fit(X, y, K, NULL, &o, &coef, &icpt, &info));
    if (!coef) goto out;
    CHECK(info.converged);
    CHECK(info.grad_max <= 1e-8);
    CHECK_INT(coef->shape[0], K);
    CHECK_OK(mf_classify_predict(X, coef, icpt, MF_CLS_DECISION, &S));
    CHECK_OK(mf_classify_predict(X, coef, icpt, MF_CLS_PROBA, &Pr));
    CHECK_OK(mf_classify_predict(X, coef, icpt, MF_CLS_INDEX, &I));
    if (!S || !Pr || !I) goto out;
    const double *x = mf_tensor_data(X), *w = mf_tensor_data(coef), *b = mf_tensor_data(icpt);
    const double *s = mf_tensor_data(S), *pr = mf_tensor_data(Pr);
    const int64_t *c = mf_tensor_data(y), *idx = mf_tensor_data(I);
    double g[3 * 5] = {0}; /* reference gradient: W and b */
    for (int64_t k = 0; k < K * p; k++) g[k] = w[k];
    for (int64_t i = 0; i < n; i++) {
        double z[3], mx = -INFINITY, t = 0;
        int64_t best = 0;
        for (int64_t k = 0; k < K; k++) {
            z[k] = b[k];
            for (int64_t j = 0; j < p; j++) z[k] += w[k * p + j] * x[i * p + j];
            CHECK_NEAR(s[i * K + k], z[k], 1e-12);
            if (z[k] > mx) {
                mx = z[k];
                best = k;
            }
        }
        CHECK_INT(idx[i], best);
        for (int64_t k = 0; k < K; k++) t += exp(z[k] - mx);
        for (int64_t k = 0; k < K; k++) {
            double pk = exp(z[k] - mx) / t;
            CHECK_NEAR(pr[i * K + k], pk, 1e-12);
            double r = o.C * (pk - (c[i] == k));
            for (int64_t j = 0; j < p; j++) g[k * p + j] += r * x[i * p + j];
            g[K * p + k] += r;
        }
    }
    for (int64_t k = 0; k < K * p + K; k++) CHECK(fabs(g[k]) / (o.C * (double)n) <= 1e-8);
out:
    mf_tensor_release(S);
    mf_tensor_release(Pr);
    mf_tensor_release(I);
    mf_tensor_release(coef);
    mf_tensor_release(icpt);
    mf_tensor_release(X);
    mf_tensor_release(y);
}

CTEST(encode_and_nonfinite)
{
    double v[7] = {7, -1, 7, 2.5, -1, 100, 2.5};
    int64_t n = 7;
    mf_tensor *y = NULL, *cl = NULL, *codes = NULL;
    CHECK_OK(mf_tensor_new(&y, MF_FLOAT64, 1, &n));
    if (!y) return;
    memcpy(mf_tensor_data(y), v, sizeof v);
    CHECK_OK(mf_classify_encode(y, &cl, &codes));
    if (cl && codes) {
        CHECK_INT(cl->shape[0], 4);
        const double *u = mf_tensor_data(cl);
        CHECK(u[0] == -1 && u[1] == 2.5 && u[2] == 7 && u[3] == 100);
        const int64_t *c = mf_tensor_data(codes);
        int64_t expect[7] = {2, 0, 2, 1, 0, 3, 1};
        for (int i = 0; i < 7; i++) CHECK_INT(c[i], expect[i]);
    }
    mf_tensor_release(cl);
    mf_tensor_release(codes);
    /* more than 256 distinct labels go through the sort */
    int64_t m = 1000;
    mf_tensor *big = NULL;
    CHECK_OK(mf_tensor_new(&big, MF_INT64, 1, &m));
    if (big) {
        int64_t *b = mf_tensor_data(big);
        for (int64_t i = 0; i < m; i++) b[i] = (i * 7919) % 600;
        CHECK_OK(mf_classify_encode(big, &cl, &codes));
        if (cl && codes) {
            CHECK_INT(cl->shape[0], 600);
            const int64_t *c = mf_tensor_data(codes);
            for (int64_t i = 0; i < m; i++) CHECK_INT(c[i], b[i]);
        }
        mf_tensor_release(cl);
        mf_tensor_release(codes);
        mf_tensor_release(big);
    }
    ((double *)mf_tensor_data(y))[3] = NAN;
    CHECK_ERR(mf_classify_encode(y, &cl, &codes), MF_EINVAL, 1);
    CHECK(cl == NULL && codes == NULL);
    mf_tensor_release(y);

    int64_t sh[2] = {3000, 5}, r, c;
    mf_tensor *X = NULL;
    CHECK_OK(mf_tensor_zeros(&X, MF_FLOAT64, 2, sh));
    if (!X) return;
    CHECK_OK(mf_classify_find_nonfinite(X, &r, &c));
    CHECK_INT(r, -1);
    ((double *)mf_tensor_data(X))[2345 * 5 + 3] = -INFINITY;
    ((double *)mf_tensor_data(X))[2900 * 5 + 1] = NAN;
    CHECK_OK(mf_classify_find_nonfinite(X, &r, &c));
    CHECK_INT(r, 2345);
    CHECK_INT(c, 3);
    mf_tensor_release(X);
}

CTEST(bad_inputs)
{
    mf_tensor *X, *y, *coef = NULL, *icpt = NULL, *out = NULL;
    make_data(20, 2, 2, &X, &y);
    mf_classify_opts o = {.C = 1, .penalize = 1, .fit_intercept = 1, .max_iter = 100, .tol = 1e-4};
    mf_classify_info info;
    CHECK_ERR(mf_classify_logreg_fit(X, y, 1, NULL, &o, &coef, &icpt, &info), MF_EINVAL, 3);
    CHECK_ERR(mf_classify_logreg_fit(y, y, 2, NULL, &o, &coef, &icpt, &info), MF_EINVAL, 1);
    CHECK_ERR(mf_classify_logreg_fit(X, X, 2, NULL, &o, &coef, &icpt, &info), MF_EINVAL, 2);
    ((int64_t *)mf_tensor_data(y))[4] = 5;
    CHECK_ERR(mf_classify_logreg_fit(X, y, 2, NULL, &o, &coef, &icpt, &info), MF_ERANGE, 2);
    ((int64_t *)mf_tensor_data(y))[4] = 1;
    o.C = 0;
    CHECK_ERR(mf_classify_svc_fit(X, y, 2, NULL, &o, MF_CLS_SVC_HINGE, 1, &coef, &icpt, NULL, &info), MF_EINVAL, 5);
    o.C = 1;
    CHECK_ERR(mf_classify_svc_fit(X, y, 2, NULL, &o, MF_CLS_SVC_HINGE, 0, &coef, &icpt, NULL, &info), MF_EINVAL, 6);
    CHECK(coef == NULL && icpt == NULL);
    CHECK_OK(mf_classify_logreg_fit(X, y, 2, NULL, &o, &coef, &icpt, &info));
    mf_tensor *X3 = NULL;
    int64_t sh[2] = {4, 3};
    CHECK_OK(mf_tensor_zeros(&X3, MF_FLOAT64, 2, sh));
    CHECK_ERR(mf_classify_predict(X3, coef, icpt, MF_CLS_INDEX, &out), MF_EINVAL, 1);
    CHECK(out == NULL);
    mf_tensor_release(X3);
    mf_tensor_release(coef);
    mf_tensor_release(icpt);
    mf_tensor_release(X);
    mf_tensor_release(y);
}

CTEST(sgd_seeded)
{
    mf_tensor *X, *y, *a1 = NULL, *b1 = NULL, *a2 = NULL, *b2 = NULL;
    make_data(400, 3, 2, &X, &y);
    mf_classify_sgd_opts o = {.loss = MF_CLS_SGD_HINGE, .alpha = 1e-3, .penalize = 1, .fit_intercept = 1,
                              .max_iter = 50, .tol = 1e-3, .n_iter_no_change = 5, .shuffle = 1, .seed = 7};
    mf_classify_info info;
    CHECK_OK(mf_classify_sgd_fit(X, y, 2, NULL, &o, &a1, &b1, &info));
    CHECK_OK(mf_classify_sgd_fit(X, y, 2, NULL, &o, &a2, &b2, &info));
    if (a1 && a2) CHECK(memcmp(mf_tensor_data(a1), mf_tensor_data(a2), 3 * sizeof(double)) == 0);
    CHECK(info.n_iter >= 6 && info.n_iter <= 50);
    o.alpha = 0;
    mf_tensor *c = NULL, *d = NULL;
    CHECK_ERR(mf_classify_sgd_fit(X, y, 2, NULL, &o, &c, &d, &info), MF_EINVAL, 5);
    CHECK(c == NULL && d == NULL);
    mf_tensor_release(a1);
    mf_tensor_release(b1);
    mf_tensor_release(a2);
    mf_tensor_release(b2);
    mf_tensor_release(X);
    mf_tensor_release(y);
}

/* L1 (cumulative penalty) zeroes the irrelevant features exactly; the
 * schedules' option checks; divergence is an error with no outputs. */
CTEST(sgd_l1_and_schedules)
{
    mf_tensor *X, *y, *a = NULL, *b = NULL;
    make_data(400, 5, 2, &X, &y); /* labels from columns 0 and 1 only */
    mf_classify_sgd_opts o = {.loss = MF_CLS_SGD_HINGE, .alpha = 0.05, .penalize = 1, .l1_ratio = 1,
                              .fit_intercept = 1, .max_iter = 100, .tol = 1e-3, .n_iter_no_change = 5,
                              .shuffle = 1, .seed = 3};
    mf_classify_info info;
    CHECK_OK(mf_classify_sgd_fit(X, y, 2, NULL, &o, &a, &b, &info));
    if (a) {
        const double *w = mf_tensor_data(a);
        CHECK(w[0] != 0 && w[1] > 0);
        for (int j = 2; j < 5; j++) CHECK(w[j] == 0);
    }
    mf_tensor_release(a);
    mf_tensor_release(b);
    a = b = NULL;
    o.l1_ratio = 0; /* L2: no exact zeros */
    CHECK_OK(mf_classify_sgd_fit(X, y, 2, NULL, &o, &a, &b, &info));
    if (a) CHECK(((const double *)mf_tensor_data(a))[2] != 0);
    mf_tensor_release(a);
    mf_tensor_release(b);
    a = b = NULL;
    o.learning_rate = MF_CLS_SGD_ADAPTIVE;
    o.eta0 = 0.1;
    CHECK_OK(mf_classify_sgd_fit(X, y, 2, NULL, &o, &a, &b, &info));
    CHECK(info.converged == 1 && info.n_iter < 100);
    mf_tensor_release(a);
    mf_tensor_release(b);
    a = b = NULL;
    o.eta0 = 0; /* eta0 needed by every rate but optimal */
    CHECK_ERR(mf_classify_sgd_fit(X, y, 2, NULL, &o, &a, &b, &info), MF_EINVAL, 5);
    o.eta0 = 0.1;
    o.l1_ratio = 1.5;
    CHECK_ERR(mf_classify_sgd_fit(X, y, 2, NULL, &o, &a, &b, &info), MF_EINVAL, 5);
    o.l1_ratio = 0;
    o.learning_rate = (mf_classify_sgd_rate)9;
    CHECK_ERR(mf_classify_sgd_fit(X, y, 2, NULL, &o, &a, &b, &info), MF_EINVAL, 5);
    o.learning_rate = MF_CLS_SGD_CONSTANT;
    o.alpha = 0;
    o.penalize = 0;
    o.loss = MF_CLS_SGD_MODIFIED_HUBER;
    o.eta0 = 1e308; /* the first step overflows */
    CHECK_ERR(mf_classify_sgd_fit(X, y, 2, NULL, &o, &a, &b, &info), MF_EINVAL, 5);
    CHECK(a == NULL && b == NULL);
    mf_tensor_release(X);
    mf_tensor_release(y);
}

CTEST(threads_identical)
{
    mf_tensor *X, *y, *c1 = NULL, *c2 = NULL, *b1 = NULL, *b2 = NULL;
    make_data(20000, 6, 4, &X, &y);
    mf_classify_opts o = {.C = 1, .penalize = 1, .fit_intercept = 1, .max_iter = 100, .tol = 1e-6};
    mf_classify_info info;
    int old = mf_num_threads();
    mf_set_num_threads(1);
    CHECK_OK(mf_classify_logreg_fit(X, y, 4, NULL, &o, &c1, &b1, &info));
    mf_set_num_threads(2);
    CHECK_OK(mf_classify_logreg_fit(X, y, 4, NULL, &o, &c2, &b2, &info));
    mf_set_num_threads(old);
    if (c1 && c2)
        CHECK(memcmp(mf_tensor_data(c1), mf_tensor_data(c2), 24 * sizeof(double)) == 0);
    if (b1 && b2) CHECK(memcmp(mf_tensor_data(b1), mf_tensor_data(b2), 4 * sizeof(double)) == 0);
    mf_tensor_release(c1);
    mf_tensor_release(c2);
    mf_tensor_release(b1);
    mf_tensor_release(b2);
    mf_tensor_release(X);
    mf_tensor_release(y);
}

CTEST(alloc_failures)
{
    mf_tensor *X, *y, *a = NULL, *b = NULL, *al = NULL, *cl = NULL, *cd = NULL;
    make_data(50, 3, 3, &X, &y);
    mf_classify_opts o = {.C = 1, .penalize = 1, .fit_intercept = 1, .max_iter = 50, .tol = 1e-4};
    mf_classify_info info;
    for (long k = 1; k <= 6; k++) {
        mf_mem_fail_after(k);
        if (mf_classify_logreg_fit(X, y, 3, NULL, &o, &a, &b, &info) == MF_OK) {
            mf_tensor_release(a);
            mf_tensor_release(b);
        } else
            CHECK(a == NULL && b == NULL);
        mf_mem_fail_after(k);
        if (mf_classify_svc_fit(X, y, 3, NULL, &o, MF_CLS_SVC_SQUARED_HINGE, 1, &a, &b, &al, &info) == MF_OK) {
            mf_tensor_release(a);
            mf_tensor_release(b);
            mf_tensor_release(al);
        } else
            CHECK(a == NULL && b == NULL && al == NULL);
        mf_mem_fail_after(k);
        mf_classify_sgd_opts so = {.loss = MF_CLS_SGD_LOG, .alpha = 1e-3, .penalize = 1, .fit_intercept = 1,
                                   .max_iter = 3, .tol = 1e-3, .n_iter_no_change = 5, .shuffle = 1, .seed = 1};
        if (mf_classify_sgd_fit(X, y, 3, NULL, &so, &a, &b, &info) == MF_OK) {
            mf_tensor_release(a);
            mf_tensor_release(b);
        } else
            CHECK(a == NULL && b == NULL);
        mf_mem_fail_after(k);
        if (mf_classify_encode(y, &cl, &cd) == MF_OK) {
            mf_tensor_release(cl);
            mf_tensor_release(cd);
        }
        mf_mem_fail_after(0);
    }
    mf_tensor_release(X);
    mf_tensor_release(y);
}

const ctest_case ctest_classify[] = {
    CTEST_ENTRY(svc_dual_hinge_gap_and_kkt),
    CTEST_ENTRY(svc_dual_squared_hinge_gap_and_kkt),
    CTEST_ENTRY(logreg_gradient_and_predict),
    CTEST_ENTRY(encode_and_nonfinite),
    CTEST_ENTRY(bad_inputs),
    CTEST_ENTRY(sgd_seeded),
    CTEST_ENTRY(sgd_l1_and_schedules),
    CTEST_ENTRY(threads_identical),
    CTEST_ENTRY(alloc_failures),
    {NULL, NULL},
};
