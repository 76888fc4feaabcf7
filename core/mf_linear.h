/*
 * mf_linear.h — linear regression models: least squares (normal equations
 * with Cholesky, QR, SVD), ridge, elastic net by coordinate descent and
 * stochastic gradient descent, and their prediction.
 *
 * X is an n x p float64 tensor, contiguous (row-major); Y is float64,
 * contiguous, 1-D (n) or 2-D (n x k: k targets). The fitted coefficients are
 * returned as a float64 tensor of shape (p) for 1-D Y and (k, p) for 2-D Y
 * (scikit-learn's coef_), the intercepts as a 1-D tensor (k). Nothing here
 * checks X for NaN or inf beyond mf_linear_find_nonfinite: callers check
 * first. Results do not depend on the thread count.
 */
#ifndef MF_LINEAR_H
#define MF_LINEAR_H

#include "mf_common.h"
#include "mf_tensor.h"

typedef enum mf_linear_solver {
    MF_LINEAR_AUTO = 0, /* Cholesky when well conditioned, else QR, else SVD */
    MF_LINEAR_CHOLESKY, /* normal equations (QR/SVD only when numerically singular) */
    MF_LINEAR_QR,       /* Householder QR of the centered X (SVD when rank deficient) */
    MF_LINEAR_SVD       /* minimum-norm least squares (gelsd) */
} mf_linear_solver;

typedef struct mf_linear_info {
    mf_linear_solver solver; /* the solver that produced the solution */
    int64_t rank;            /* effective rank of the (centered) X */
    double rcond;            /* reciprocal condition estimate of the scaled Gram
                                matrix (1-norm), 0 when singular, -1 if not computed */
} mf_linear_info;

/* First non-finite entry of the 2-D float tensor X in row-major order:
 * *row, *col 0-based, or -1 and -1 when every entry is finite. */
mf_status mf_linear_find_nonfinite(const mf_tensor *X, int64_t *row, int64_t *col);

/* Least squares (alpha == 0) or ridge (alpha > 0, the intercept not
 * penalized): minimizes ||Y - X W^T - b||^2 + alpha ||W||^2. With
 * fit_intercept, X and Y are centered (intercept = mean(Y) - W mean(X));
 * without, b = 0. A rank-deficient X gives the minimum-norm solution
 * (info->rank < p). */
mf_status mf_linear_lstsq(const mf_tensor *X, const mf_tensor *Y, int fit_intercept,
                          mf_linear_solver solver, double alpha, mf_tensor **coef,
                          mf_tensor **intercept, mf_linear_info *info);

/* Elastic net by cyclic coordinate descent (scikit-learn's objective):
 * (1/(2n)) ||y - Xw - b||^2 + alpha l1_ratio ||w||_1
 *   + alpha (1 - l1_ratio)/2 ||w||^2,
 * on the Gram matrix of the centered X. Stops when the largest coefficient
 * change relative to the largest coefficient is below tol and the duality
 * gap is below tol * ||y - mean(y)||^2, or after max_iter sweeps. Y is 1-D.
 * *n_iter: sweeps done; *converged: whether the gap criterion was met;
 * *gap: the last duality gap (scaled as scikit-learn's dual_gap_). */
mf_status mf_linear_enet(const mf_tensor *X, const mf_tensor *y, int fit_intercept, double alpha,
                         double l1_ratio, int64_t max_iter, double tol, mf_tensor **coef,
                         mf_tensor **intercept, int64_t *n_iter, int *converged, double *gap);

typedef enum mf_linear_sgd_loss { MF_LINEAR_SGD_SQUARED = 0, MF_LINEAR_SGD_HUBER } mf_linear_sgd_loss;
typedef enum mf_linear_sgd_penalty {
    MF_LINEAR_SGD_NONE = 0, MF_LINEAR_SGD_L2, MF_LINEAR_SGD_L1, MF_LINEAR_SGD_ELASTICNET
} mf_linear_sgd_penalty;
typedef enum mf_linear_sgd_schedule {
    MF_LINEAR_SGD_INVSCALING = 0, MF_LINEAR_SGD_CONSTANT, MF_LINEAR_SGD_OPTIMAL, MF_LINEAR_SGD_ADAPTIVE
} mf_linear_sgd_schedule;

typedef struct mf_linear_sgd_options {
    mf_linear_sgd_loss loss;
    mf_linear_sgd_penalty penalty;
    mf_linear_sgd_schedule schedule;
    double alpha, l1_ratio, epsilon; /* epsilon: huber's threshold */
    double eta0, power_t, tol;       /* tol < 0: no early stop */
    int64_t max_iter, n_iter_no_change;
    int fit_intercept, shuffle;
    uint64_t seed;
} mf_linear_sgd_options;

/* Plain SGD over the samples (scikit-learn's SGDRegressor: one update per
 * sample, epochs of a seeded permutation when shuffle, the learning-rate
 * schedules and stopping rule of scikit-learn). y is 1-D. */
mf_status mf_linear_sgd(const mf_tensor *X, const mf_tensor *y, const mf_linear_sgd_options *o,
                        mf_tensor **coef, mf_tensor **intercept, int64_t *n_iter, int64_t *t_out);

/* Y = X W^T + b: X n x p float64 contiguous, coef (p) or (k, p), intercept
 * (k); Y of shape (n) for 1-D coef, (n, k) otherwise. */
mf_status mf_linear_predict(const mf_tensor *X, const mf_tensor *coef, const mf_tensor *intercept,
                            mf_tensor **out);

#endif
