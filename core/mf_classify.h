/*
 * mf_classify.h — the numeric kernels of mf.models' linear classifiers
 * (LogisticRegression, LinearSVC): fit by L-BFGS (logistic, primal squared
 * hinge) or by dual coordinate descent (liblinear's algorithm, Hsieh et al.
 * 2008), and the decision / probability / class index of new rows.
 *
 * X is a 2-D contiguous float64 tensor [n x d]; class codes are a 1-D
 * contiguous int64 tensor [n] of 0..K-1; sample weights (may be NULL) a 1-D
 * contiguous float64 tensor [n]. A fit gives coef float64 [Kc x d] and
 * intercept float64 [Kc], with Kc = 1 for two classes (the decision is for
 * class 1) and Kc = K otherwise. Row work runs on mf_parallel_for over fixed
 * blocks whose partial sums are added in block order, so no result depends
 * on the thread count.
 */
#ifndef MF_CLASSIFY_H
#define MF_CLASSIFY_H

#include "mf_tensor.h"

typedef struct mf_classify_opts {
    double C;          /* > 0: weight of the data term */
    int penalize;      /* 0: no penalty (LogisticRegression penalty = "none") */
    int fit_intercept;
    int64_t max_iter;
    double tol;
} mf_classify_opts;

typedef struct mf_classify_info {
    int64_t n_iter;  /* iterations of the solver (the largest over one-vs-rest fits) */
    int converged;   /* 0 when max_iter was reached first */
    double grad_max; /* L-BFGS: max |gradient| of the scaled objective at the end */
    int64_t n_eval;  /* L-BFGS: evaluations of the objective (all problems) */
} mf_classify_info;

/* L2 (or no) penalized logistic regression, binary (K == 2) or multinomial
 * (softmax, K > 2), scikit-learn's objective C·Σ sw_i loss_i + ½‖W‖² (the
 * intercept is not penalized). L-BFGS (memory 10, backtracking Armijo line
 * search) on that objective divided by C·Σ sw_i (the mean loss, as recent
 * scikit-learn releases scale it), stopping when the max |gradient| of the
 * scaled objective is <= tol, or its relative decrease <= 64 eps. */
mf_status mf_classify_logreg_fit(const mf_tensor *X, const mf_tensor *y, int64_t K, const mf_tensor *sw,
                        const mf_classify_opts *o, mf_tensor **coef, mf_tensor **intercept,
                        mf_classify_info *info);

typedef enum mf_classify_svc_loss { MF_CLS_SVC_HINGE = 0, MF_CLS_SVC_SQUARED_HINGE } mf_classify_svc_loss;

/* Linear SVM, one-vs-rest for K > 2 (K == 2: one problem for class 1). As
 * liblinear: with fit_intercept each row gets an extra feature 1 whose
 * weight (the intercept) is penalized like the others. dual: dual
 * coordinate descent with shrinking (stops when the projected gradient's
 * max - min <= tol); otherwise (squared hinge only) L-BFGS on the primal as
 * mf_classify_logreg_fit. *alpha (may be NULL; dual only) receives the dual
 * variables, float64 [Kc x n]. */
mf_status mf_classify_svc_fit(const mf_tensor *X, const mf_tensor *y, int64_t K, const mf_tensor *sw,
                        const mf_classify_opts *o, mf_classify_svc_loss loss, int dual, mf_tensor **coef,
                        mf_tensor **intercept, mf_tensor **alpha, mf_classify_info *info);

typedef enum mf_classify_sgd_loss { MF_CLS_SGD_HINGE = 0, MF_CLS_SGD_LOG, MF_CLS_SGD_MODIFIED_HUBER } mf_classify_sgd_loss;

/* The learning-rate schedules (scikit-learn's learning_rate). */
typedef enum mf_classify_sgd_rate {
    MF_CLS_SGD_OPTIMAL = 0, /* 1 / (alpha (t0 + t - 1)) */
    MF_CLS_SGD_CONSTANT,    /* eta0 */
    MF_CLS_SGD_INVSCALING,  /* eta0 / t^power_t */
    MF_CLS_SGD_ADAPTIVE     /* eta0, divided by 5 at each stall (see below) */
} mf_classify_sgd_rate;

typedef struct mf_classify_sgd_opts {
    mf_classify_sgd_loss loss;
    double alpha;             /* >= 0 (> 0 for the optimal rate): penalty strength */
    int penalize;             /* 0: no penalty */
    double l1_ratio;          /* with penalize, in [0, 1]: 0 L2 (zero-initialized default), 1 L1, between elastic net */
    mf_classify_sgd_rate learning_rate;
    double eta0, power_t;     /* eta0 > 0 unless the rate is optimal */
    int fit_intercept;
    int64_t max_iter;         /* epochs */
    double tol;               /* < 0: no early stop */
    int64_t n_iter_no_change;
    int shuffle;
    uint64_t seed;
    const mf_tensor *validation; /* NULL, or bool [n]: the rows held out for early stopping */
} mf_classify_sgd_opts;

/* Plain SGD as scikit-learn's SGDClassifier (one-vs-rest for K > 2). Per
 * row (update t), with eta the learning rate of t: the weights shrink by
 * (1 - (1 - l1_ratio) eta alpha) and move by -eta w_i dloss/dz; with
 * l1_ratio > 0 the cumulative L1 penalty (Tsuruoka et al. 2009) then pulls
 * them towards 0, clipping at exact zeros. After each epoch the summed loss
 * must drop by tol · n at least once every n_iter_no_change epochs, else the
 * fit stops (info->converged) — the adaptive rate first divides eta by 5
 * while eta > 1e-6. With a validation mask (scikit-learn's early_stopping)
 * the held-out rows are not trained on, and the rule reads instead: the
 * accuracy of the binary problem on them must rise by tol. The rows are
 * visited in a new order each epoch drawn from seed (problem k uses seed +
 * k) when shuffle is set. */
mf_status mf_classify_sgd_fit(const mf_tensor *X, const mf_tensor *y, int64_t K, const mf_tensor *sw,
                     const mf_classify_sgd_opts *o, mf_tensor **coef, mf_tensor **intercept,
                     mf_classify_info *info);

typedef enum mf_classify_out {
    MF_CLS_DECISION = 0, /* X·coefᵀ + intercept, [n x Kc] */
    MF_CLS_PROBA,        /* [n x K]: sigmoid (Kc == 1, K = 2) or softmax */
    MF_CLS_INDEX,        /* int64 [n]: 0-based class index (Kc == 1: decision > 0) */
    MF_CLS_PROBA_OVR     /* [n x K]: sigmoid of each decision, rows normalized (one-vs-rest) */
} mf_classify_out;

/* The decision, probabilities or class index of the rows of X (float64
 * [n x d], any strides) for coef [Kc x d] and intercept [Kc]. */
mf_status mf_classify_predict(const mf_tensor *X, const mf_tensor *coef,
                              const mf_tensor *intercept, mf_classify_out what,
                              mf_tensor **out);

/* The sorted distinct values (float64 [K]) of the 1-D tensor y (float or
 * int64 or bool; NaN is an error) and the code of each entry (int64 [n],
 * 0-based). */
mf_status mf_classify_encode(const mf_tensor *y, mf_tensor **classes, mf_tensor **codes);

/* The first (row-major) entry of X (2-D float) that is NaN or infinite:
 * *row and *col (0-based), or -1 when all are finite. */
mf_status mf_classify_find_nonfinite(const mf_tensor *X, int64_t *row, int64_t *col);

#endif
