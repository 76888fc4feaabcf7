/*
 * mf_prep.h — the numeric kernels of the scikit-learn style transformers of
 * mf.preprocess: column statistics (fit) and per-element maps (transform).
 *
 * A matrix argument X is a 2-D float32 or float64 tensor [n x p] with any
 * strides (views and transposes are read in place). Statistics are float64
 * and accumulated in float64; a transformed matrix keeps X's dtype and is a
 * new contiguous tensor. Row-wise kernels run on mf_parallel_for; column
 * statistics are combined over fixed blocks of rows in a fixed order, so no
 * result depends on the thread count. Column positions in messages and in
 * the *_col outputs are 0-based (the Lua layer names the column).
 */
#ifndef MF_PREP_H
#define MF_PREP_H

#include "mf_tensor.h"

/* ---------------------------------------------------------------- fit */
/* Column means and population variances (divided by the count), two-pass
 * (corrected) for accuracy; *count (int64 [p], may be NULL) the values
 * used. ignore_nan: NaN entries are skipped (a column without values gets
 * NaN); otherwise a NaN makes its column's mean and variance NaN. */
mf_status mf_prep_moments(const mf_tensor *X, int ignore_nan, mf_tensor **mean,
                          mf_tensor **var, mf_tensor **count);
/* Column minima and maxima (NaN as in mf_prep_moments). */
mf_status mf_prep_minmax(const mf_tensor *X, int ignore_nan, mf_tensor **min,
                         mf_tensor **max);
/* Column quantiles at the nq probabilities q (each in [0, 1]) with linear
 * interpolation between order statistics (numpy's default): out float64
 * [nq x p]. NaN as in mf_prep_moments. Selection, not a full sort. */
mf_status mf_prep_quantiles(const mf_tensor *X, int ignore_nan, const double *q, int64_t nq,
                            mf_tensor **out);
/* The most frequent non-NaN value of each column (the smallest on ties; NaN
 * for a column without values): float64 [p]. */
mf_status mf_prep_mode(const mf_tensor *X, mf_tensor **out);
/* The sorted distinct non-NaN values of the 1-D float tensor x (float64);
 * *has_nan tells whether x holds NaN. */
mf_status mf_prep_unique(const mf_tensor *x, mf_tensor **out, int *has_nan);
/* Counts of each value 0..n-1 in the 1-D int64 tensor codes (int64 [n]);
 * a value outside that range is an error. */
mf_status mf_prep_bincount(const mf_tensor *codes, int64_t n, mf_tensor **out);

/* ---------------------------------------------------------------- transform */
typedef enum mf_prep_affine_kind {
    MF_PREP_SUB_DIV = 0, /* (x - a[j]) / b[j] */
    MF_PREP_MUL_ADD      /* x * a[j] + b[j] */
} mf_prep_affine_kind;

/* The per-column affine map of X (a, b float64 [p]; NULL means 0 for a
 * shift and 1 for a factor), then clipped to [lo, hi] (no clipping when
 * lo or hi is NaN). *nan_col (may be NULL) receives the first column
 * holding a NaN, or -1. */
mf_status mf_prep_affine(const mf_tensor *X, mf_prep_affine_kind kind, const mf_tensor *a,
                         const mf_tensor *b, double lo, double hi, mf_tensor **out,
                         int64_t *nan_col);

typedef enum mf_prep_norm { MF_PREP_L1 = 0, MF_PREP_L2, MF_PREP_MAX } mf_prep_norm;
/* Each row divided by its norm (rows of norm 0 are left as they are). */
mf_status mf_prep_normalize(const mf_tensor *X, mf_prep_norm norm, mf_tensor **out);
/* X with each NaN of column j replaced by values[j] (float64 [p]). */
mf_status mf_prep_fillnan(const mf_tensor *X, const mf_tensor *values, mf_tensor **out);

/* The 0-based positions of the values of the 1-D float tensor x among the
 * sorted float64 cats, -1 for a value not among them (NaN included): int64.
 * *n_unknown / *first_unknown (may be NULL): how many such values, the first
 * position (or -1). */
mf_status mf_prep_lookup(const mf_tensor *x, const mf_tensor *cats, mf_tensor **out,
                         int64_t *n_unknown, int64_t *first_unknown);
/* One-hot expansion: codes int64 [n x k] holds the 0-based category of row i
 * in input column j, or -1 (unknown: a row of zeros). Column j has ncat[j]
 * categories; drop (may be NULL) holds per column a category left out, or
 * -1. out float64 [n x sum(ncat[j] - (drop[j] >= 0))]. A code >= ncat[j] or
 * < -1 is an error. *unk_row / *unk_col (may be NULL): the first -1 code. */
mf_status mf_prep_onehot(const mf_tensor *codes, const int64_t *ncat, const int64_t *drop,
                         mf_tensor **out, int64_t *unk_row, int64_t *unk_col);
/* Ordinal codes: out float64 [n x k] = codes + 1 (1-based categories), or
 * unknown_value where a code is -1. *unk_row / *unk_col as for onehot. */
mf_status mf_prep_ordinal(const mf_tensor *codes, double unknown_value, mf_tensor **out,
                          int64_t *unk_row, int64_t *unk_col);
/* Polynomial features: combos int64 [m x d] lists for each output column up
 * to d input columns (0-based, -1 = none) whose product it is (an all -1 row
 * is the bias column of ones). out [n x m] of X's dtype. */
mf_status mf_prep_poly(const mf_tensor *X, const mf_tensor *combos, mf_tensor **out);
/* Bin numbers: column j has nedges[j] >= 2 increasing edges, stored one
 * column after the other in the 1-D float64 tensor edges; the bin of x is the
 * number of inner edges <= x, so values below the first edge fall in bin 0
 * and above the last in the last bin. out int64 [n x p], 0-based bins;
 * *nan_col as for mf_prep_affine (NaN gets bin 0). */
mf_status mf_prep_digitize(const mf_tensor *X, const mf_tensor *edges, const int64_t *nedges,
                           mf_tensor **out, int64_t *nan_col);

#endif
