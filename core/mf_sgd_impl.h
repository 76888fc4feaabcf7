/* mf_sgd_impl.h — internal: the pieces of plain SGD that SGDRegressor
 * (mf_linear.c) and SGDClassifier (mf_classify.c) share, as scikit-learn's
 * _sgd_fast.pyx: the learning-rate schedules, the end-of-epoch stopping
 * rule and the cumulative L1 penalty of Tsuruoka, Tsujii and Ananiadou
 * (2009). Not part of the public API. */
#ifndef MF_SGD_IMPL_H
#define MF_SGD_IMPL_H

#include <math.h>
#include <stdint.h>

#include "mf_linear.h" /* mf_linear_sgd_schedule */

/* typw = sqrt(1 / sqrt(alpha)), the typical weight of the "optimal"
 * schedule's heuristic start. */
static inline double mf_sgd_typw(double alpha) { return sqrt(1.0 / sqrt(alpha)); }

/* The "optimal" schedule's offset t0 = 1 / (eta0' alpha), where
 * eta0' = typw / max(1, dloss(-typw, 1)) (Léon Bottou's heuristic, as
 * scikit-learn: the derivative is not made positive, so it is 1 for the
 * classification losses). */
static inline double mf_sgd_optimal_init(double alpha, double typw, double dloss_at_typw)
{
    return 1.0 / (typw / (dloss_at_typw > 1 ? dloss_at_typw : 1) * alpha);
}

/* The learning rate of update t (1-based): "optimal" 1 / (alpha (t0 + t -
 * 1)), "invscaling" eta0 / t^power_t; "constant" and "adaptive" keep the
 * current eta (adaptive lowers it at a stall, see mf_sgd_epoch_end). */
static inline double mf_sgd_eta(mf_linear_sgd_schedule s, double eta, double eta0, double power_t,
                                 double alpha, double optimal_init, double t)
{
    if (s == MF_LINEAR_SGD_OPTIMAL) return 1.0 / (alpha * (optimal_init + t - 1));
    if (s == MF_LINEAR_SGD_INVSCALING) return eta0 / pow(t, power_t);
    return eta;
}

/* The stopping rule after an epoch whose summed loss is sumloss (n rows):
 * an epoch that does not lower the best loss by tol·n counts as a stall
 * (tol < 0: never); n_iter_no_change stalls in a row stop the fit (returns
 * 1) — except with the "adaptive" schedule while eta > 1e-6, which divides
 * eta by 5 and starts counting again. */
static inline int mf_sgd_epoch_end(double sumloss, double tol, int64_t n, int64_t n_iter_no_change,
                                   mf_linear_sgd_schedule s, double *best, int64_t *no_improve,
                                   double *eta)
{
    if (tol >= 0 && sumloss > *best - tol * (double)n) (*no_improve)++;
    else *no_improve = 0;
    if (sumloss < *best) *best = sumloss;
    if (*no_improve >= n_iter_no_change) {
        if (s == MF_LINEAR_SGD_ADAPTIVE && *eta > 1e-6) {
            *eta /= 5;
            *no_improve = 0;
            return 0;
        }
        return 1;
    }
    return 0;
}

/* The cumulative L1 penalty: u is the total L1 penalty every weight could
 * have received so far (the sum of l1_ratio eta alpha), q[j] what w[j]
 * actually received; each weight is pulled towards 0 by the difference,
 * clipped at 0 (so weights reach exact zeros). The weights are w[j] *
 * wscale (scikit-learn's WeightVector; wscale = 1 for plain weights). */
static inline void mf_sgd_l1_penalty(double *w, double *q, int64_t d, double u, double wscale)
{
    for (int64_t j = 0; j < d; j++) {
        double z = w[j];
        if (wscale * z > 0) w[j] = fmax(0.0, z - (u + q[j]) / wscale);
        else if (wscale * z < 0) w[j] = fmin(0.0, z + (u - q[j]) / wscale);
        q[j] += wscale * (w[j] - z);
    }
}

#endif
