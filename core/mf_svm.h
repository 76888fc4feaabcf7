/*
 * mf_svm.h — kernel support vector classification (mf.models.SVC): the
 * C-SVC dual solved by SMO with second-order working-set selection (Fan,
 * Chen and Lin 2005, as libsvm), one-vs-one for more than two classes, Platt
 * probabilities (Lin, Lin and Weng 2007) coupled pairwise (Wu, Lin and Weng
 * 2004), and the decision / vote / probability of new rows.
 *
 * The fitted model is laid out as libsvm's (and scikit-learn's SVC): the
 * support vectors grouped by class (classes in code order, rows in their
 * original order inside a class); dual_coef [K-1 x nSV], where the
 * coefficients of the pair (i, j), i < j, are row j-1 for the vectors of
 * class i and row i for those of class j; intercept[p] = -rho of pair p,
 * pairs in the order (0,1), (0,2), ..., (0,K-1), (1,2), ... The decision
 * of pair (i, j) is positive for class i.
 */
#ifndef MF_SVM_H
#define MF_SVM_H

#include "mf_tensor.h"

typedef enum mf_svm_kernel { MF_SVM_LINEAR = 0, MF_SVM_POLY, MF_SVM_RBF, MF_SVM_SIGMOID } mf_svm_kernel;

/* linear: x·z; poly: (gamma x·z + coef0)^degree; rbf: exp(-gamma ‖x - z‖²);
 * sigmoid: tanh(gamma x·z + coef0). */
typedef struct mf_svm_kernel_params {
    mf_svm_kernel kernel;
    double gamma, coef0;
    int64_t degree; /* >= 0 */
} mf_svm_kernel_params;

typedef struct mf_svm_opts {
    mf_svm_kernel_params kp;
    double C;          /* > 0 */
    double tol;        /* > 0: stop when the maximal violating pair's gap is below it */
    int64_t max_iter;  /* per pair; <= 0: max(10^7, 100 rows) as libsvm */
    double cache_mb;   /* kernel row cache per solve, in megabytes (>= 0; 2 rows at least) */
    int probability;   /* fit Platt sigmoids by 5-fold cross-validation */
    uint64_t seed;     /* the folds of the probability fit */
} mf_svm_opts;

/* A fit: tensors owned by the caller (release each). */
typedef struct mf_svm_fit_out {
    mf_tensor *support;   /* int64 [nSV]: 0-based rows of X */
    mf_tensor *n_support; /* int64 [K] */
    mf_tensor *dual_coef; /* float64 [K-1 x nSV] */
    mf_tensor *intercept; /* float64 [npairs] */
    mf_tensor *n_iter;    /* int64 [npairs]: SMO iterations */
    mf_tensor *prob_a, *prob_b; /* float64 [npairs] (probability only, else NULL) */
    int converged;        /* 0 when some pair reached max_iter */
} mf_svm_fit_out;

/* Fits on X (contiguous float64 [n x d]) and class codes y (contiguous int64
 * [n], 0..K-1, every class present, K >= 2). weight (NULL: all 1) is a
 * contiguous float64 [n] of finite multipliers >= 0 of C per row (class and
 * sample weights); rows of weight 0 take no part. On error every output is
 * NULL. */
mf_status mf_svm_fit(const mf_tensor *X, const mf_tensor *y, int64_t K, const mf_tensor *weight,
                     const mf_svm_opts *o, mf_svm_fit_out *out);

/* Releases the tensors of a fit and sets them to NULL. */
void mf_svm_fit_out_release(mf_svm_fit_out *out);

/* A fitted model for prediction (borrowed tensors, shaped as mf_svm_fit_out;
 * sv is the contiguous float64 [nSV x d] of support vectors). */
typedef struct mf_svm_model {
    mf_svm_kernel_params kp;
    int64_t K;
    const mf_tensor *sv, *n_support, *dual_coef, *intercept;
    const mf_tensor *prob_a, *prob_b; /* NULL without probability */
} mf_svm_model;

typedef enum mf_svm_out {
    MF_SVM_OVO = 0, /* float64 [n x npairs]: the pairwise decisions */
    MF_SVM_OVR,     /* float64 [n x K]: votes + confidences scaled into (-1/3, 1/3) (scikit-learn's ovr shape) */
    MF_SVM_VOTE,    /* int64 [n]: the class with most pairwise wins (ties: the lowest) */
    MF_SVM_PROBA    /* float64 [n x K]: pairwise Platt probabilities, coupled */
} mf_svm_out;

/* The decision, vote or probabilities of the rows of X (float64 [n x d],
 * any strides). */
mf_status mf_svm_predict(const mf_tensor *X, const mf_svm_model *m, mf_svm_out what, mf_tensor **out);

/* Whether the AVX2 kernels are used (on = 0: never; 1: when the CPU has
 * AVX2, the default); returns whether they are in use now. Results are
 * bit-identical either way (tested): this is for tests and measurements. */
int mf_svm_set_simd(int on);

/* gamma = "scale": 1 / (d · var(X)) over all entries (1 when the variance is
 * 0), as scikit-learn. X contiguous float64 [n x d], n·d > 0. */
mf_status mf_svm_gamma_scale(const mf_tensor *X, double *gamma);

#endif
