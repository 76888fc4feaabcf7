/*
 * mf_feat.h — the numeric kernels of mf.features: sensor features over
 * grouped time series (rolling windows, shifts), calendar fields of
 * timestamps, and the scores of the feature selectors (ANOVA F, regression
 * F, chi-squared, mutual information) with their p-values.
 *
 * Series arguments are 1-D float64 tensors (any stride); `ids` (may be NULL:
 * one group) is a 1-D int64 tensor of the same length giving each row's
 * group, 0 <= id < ngroups. Within a group, rows are taken in row order (the
 * caller sorts by time). Matrices X are 2-D float64 [n x p] (any strides);
 * class labels y are int64 codes 0..nclasses-1. Results are new contiguous
 * float64 tensors. Column loops run on mf_parallel_for; every column or
 * group is computed by one thread alone, so no result depends on the thread
 * count.
 */
#ifndef MF_FEAT_H
#define MF_FEAT_H

#include "mf_tensor.h"

/* ---------------------------------------------------------------- series */
typedef enum mf_feat_stat {
    MF_FEAT_MEAN = 0,
    MF_FEAT_STD, /* sample standard deviation (ddof 1) */
    MF_FEAT_MIN,
    MF_FEAT_MAX,
    MF_FEAT_SUM,
    MF_FEAT_STAT_COUNT
} mf_feat_stat;

/*
 * Rolling statistic over the last `window` rows of each row's group (the row
 * itself included), as pandas' rolling(window, min_periods): NaN values are
 * skipped, and the result is NaN where the window holds fewer than
 * min_periods non-NaN values (0 <= min_periods <= window; with none at all,
 * sum gives 0 and the others NaN; std needs 2). O(n) per call: running
 * compensated sums, Welford updates for std, monotone deques for min/max.
 */
mf_status mf_feat_rolling(const mf_tensor *x, const mf_tensor *ids, int64_t ngroups,
                          int64_t window, int64_t min_periods, mf_feat_stat stat,
                          mf_tensor **out);

/* out[i] = x at k rows earlier in row i's group (k < 0: later), NaN when
 * there is no such row; with `diff`, x[i] minus that value. */
mf_status mf_feat_shift(const mf_tensor *x, const mf_tensor *ids, int64_t ngroups, int64_t k,
                        int diff, mf_tensor **out);

/* ---------------------------------------------------------------- calendar */
/* The fields of a parsed timestamp, in this column order of the output. */
enum {
    MF_FEAT_YEAR = 0,
    MF_FEAT_MONTH,     /* 1..12 */
    MF_FEAT_DAY,       /* 1..31 */
    MF_FEAT_HOUR,      /* 0..23 */
    MF_FEAT_MINUTE,
    MF_FEAT_SECOND,
    MF_FEAT_WEEKDAY,   /* Monday = 1 ... Sunday = 7 */
    MF_FEAT_DAYOFYEAR, /* 1..366 */
    MF_FEAT_QUARTER,   /* 1..4 */
    MF_FEAT_NFIELDS
};

/*
 * Parses n timestamps "YYYY-MM-DD", "YYYY-MM-DD HH:MM", "YYYY-MM-DD HH:MM:SS"
 * or with fractional seconds "...:SS.fff" ('T' may replace the space; the
 * fraction is ignored) into out int64 [n x MF_FEAT_NFIELDS]. s[i] has len[i]
 * bytes. An unparseable or impossible value (2023-02-29, 24:00) is MF_EINVAL
 * (argument 1) naming it, and *bad (may be NULL) receives its position (-1
 * on success). With `coerce`, such a value instead gets -1 in every field
 * and *bad receives how many there were.
 */
mf_status mf_feat_parse_datetimes(const char *const *s, const size_t *len, int64_t n,
                                  int coerce, mf_tensor **out, int64_t *bad);

/* ---------------------------------------------------------------- scores */
/* One-way ANOVA F of each column of X across the classes y: F and p
 * (float64 [p]). A column constant within every class gives F = inf (or NaN
 * when also constant overall), as scikit-learn. Needs 2 <= nclasses < n. */
mf_status mf_feat_f_classif(const mf_tensor *X, const mf_tensor *y, int64_t nclasses,
                            mf_tensor **F, mf_tensor **pval);
/* F = r^2 / (1 - r^2) * (n - 2) of each column against the float64 target
 * y, with scikit-learn's force_finite: a constant column or target gives
 * F = 0, p = 1; |r| = 1 gives F = DBL_MAX, p = 0. Needs n >= 3. */
mf_status mf_feat_f_regression(const mf_tensor *X, const mf_tensor *y, mf_tensor **F,
                               mf_tensor **pval);
/* Pearson chi-squared of the class totals of each non-negative column
 * against their expectation under independence; p from chi2(nclasses - 1).
 * A negative entry is MF_EINVAL (argument 1). */
mf_status mf_feat_chi2(const mf_tensor *X, const mf_tensor *y, int64_t nclasses,
                       mf_tensor **chi, mf_tensor **pval);
/*
 * Mutual information (nats) of each column of X with the target, by the
 * Kraskov (continuous target, y float64) or Ross (discrete target: y int64
 * codes, nclasses > 0) nearest-neighbour estimators with k neighbours, as
 * scikit-learn's mutual_info_regression / mutual_info_classif: columns (and
 * a continuous target) are divided by their population std, then get noise
 * of 1e-10 * max(1, mean |x|) standard deviations from a generator seeded
 * with `seed` (so ties are broken reproducibly); negative estimates are 0.
 * Pass nclasses = 0 for a continuous target.
 */
mf_status mf_feat_mutual_info(const mf_tensor *X, const mf_tensor *y, int64_t nclasses,
                              int64_t k, uint64_t seed, mf_tensor **out);

/* ---------------------------------------------------------------- distributions */
/* Upper tail P(F > f) of the F(d1, d2) distribution and P(X > x) of the
 * chi-squared(df) distribution (NaN for NaN or non-positive degrees). */
double mf_feat_f_sf(double f, double d1, double d2);
double mf_feat_chi2_sf(double x, double df);
/* Regularized incomplete beta I_x(a, b) and upper regularized gamma
 * Q(a, x); the digamma function. */
double mf_feat_betainc(double a, double b, double x);
double mf_feat_gammaincc(double a, double x);
double mf_feat_digamma(double x);

#endif
