/*
 * mf_clean.h — row kernels of the cleaning functions of the data tables
 * (lua/moonforge/data_clean.lua): counting missing cells per row over many
 * columns in one pass, taking the same rows of many columns at once, and
 * per-column quantiles (by selection), moments and forward/backward fill,
 * all skipping missing values.
 *
 * A "column" is a 1-D tensor (any stride) of dtype float64, int64 or bool;
 * a string column is passed as its int64 codes. All positions are 0-based.
 * Results do not depend on the number of threads.
 */
#ifndef MF_CLEAN_H
#define MF_CLEAN_H

#include "mf_tensor.h"

/*
 * *out (int64 [n]): for each of the n rows, how many of the `ncols` columns
 * are missing there: a float64 cell that is NaN, an int64 cell that is 0
 * (string codes: 0 is the missing code). Bool columns never miss (they are
 * accepted and ignored). ncols may be 0 (all counts 0; n is then `nrows`).
 * Errors (MF_EINVAL, argument 1): a column that is not 1-D, of another
 * dtype or of a length other than nrows.
 */
mf_status mf_clean_row_missing(mf_tensor *const *cols, int ncols, int64_t nrows, mf_tensor **out);

/* *out (int64 [k]): the positions of the k true entries of the 1-D bool
 * `mask`, ascending (MF_EINVAL, argument 2, for another tensor). */
mf_status mf_clean_mask_rows(mf_tensor **out, const mf_tensor *mask);

/* *out (bool [n]): true at each position of the 1-D int64 `rows`, which
 * must be in [0, n) (MF_ERANGE, argument 3, naming the first that is not). */
mf_status mf_clean_mark_rows(mf_tensor **out, int64_t n, const mf_tensor *rows);

/*
 * outs[j] = cols[j] at the positions of the 1-D int64 `idx` (0-based, each
 * in [0, nrows), checked first: MF_ERANGE, argument 4), for the ncols
 * columns of nrows rows each: new contiguous tensors of the columns'
 * dtypes. outs[] are set only on success (else all NULL).
 */
mf_status mf_clean_take(mf_tensor *const *cols, int ncols, int64_t nrows, const mf_tensor *idx,
                        mf_tensor **outs);

/*
 * The quantiles q[0..nq) (each in [0, 1]) of the non-missing values of the
 * 1-D float64 or int64 column `col` (NaN skipped), interpolated linearly
 * between the two nearest ranks as pandas' and numpy's default: out[i] =
 * v[lo] + (pos - lo) * (v[lo + 1] - v[lo]) with pos = q * (m - 1) over the m
 * sorted values. NaN when m = 0. O(m) expected per quantile (selection, no
 * full sort). Errors: MF_EINVAL naming argument 1 (col) or 2 (q).
 */
mf_status mf_clean_quantiles(const mf_tensor *col, const double *q, int nq, double *out);

/*
 * Forward fill (backward = 0) or backward fill (backward = 1) of the 1-D
 * float64 (NaN missing) or int64 (0 missing: string codes) column `col`:
 * each missing cell takes the nearest value above (below) it. *out is a new
 * contiguous tensor; *left counts the cells still missing (the leading ones
 * of a forward fill, the trailing ones of a backward fill).
 * MF_EINVAL (argument 2) for another tensor.
 */
mf_status mf_clean_fill(mf_tensor **out, const mf_tensor *col, int backward, int64_t *left);

/*
 * Count, mean and population standard deviation (ddof 0) of the non-missing
 * values of the 1-D float64 or int64 column `col` (NaN skipped), in two
 * passes (sum, then squared deviations from the mean), sequentially so the
 * result never depends on the thread count. mean and std are NaN when
 * count is 0. MF_EINVAL (argument 1) for another tensor.
 */
mf_status mf_clean_moments(const mf_tensor *col, int64_t *count, double *mean, double *std);

#endif
