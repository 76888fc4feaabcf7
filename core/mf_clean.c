/*
 * mf_clean.c — row kernels of the cleaning functions (see mf_clean.h).
 *
 * The two parallel kernels (row_missing, take) split the rows into
 * contiguous ranges and each row's result depends on that row only; the
 * others are sequential. So every output is the same for any thread count.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mf_clean.h"
#include "mf_thread.h"

#define CLEAN_GRAIN 16384

static mf_status check_cols(mf_tensor *const *cols, int ncols, int64_t nrows)
{
    if (ncols < 0) return mf_error_set(MF_EINVAL, 1, "negative number of columns");
    if (ncols > 0 && !cols) return mf_error_set(MF_EINVAL, 1, "no column array");
    for (int j = 0; j < ncols; j++) {
        const mf_tensor *t = cols[j];
        if (!t) return mf_error_set(MF_EINVAL, 1, "column %d is NULL", j + 1);
        if (t->ndim != 1) return mf_error_set(MF_EINVAL, 1, "column %d has %d dims, expected 1", j + 1, t->ndim);
        if (t->dtype != MF_FLOAT64 && t->dtype != MF_INT64 && t->dtype != MF_BOOL)
            return mf_error_set(MF_EINVAL, 1, "column %d is %s, expected float64, int64 or bool", j + 1,
                                mf_dtype_name(t->dtype));
        if (t->shape[0] != nrows)
            return mf_error_set(MF_EINVAL, 1, "column %d has %lld rows, expected %lld", j + 1,
                                (long long)t->shape[0], (long long)nrows);
    }
    return MF_OK;
}

/* ------------------------------------------------------------ row_missing */
typedef struct missing_ctx {
    mf_tensor *const *cols;
    int ncols;
    int64_t *out;
} missing_ctx;

static void missing_range(int64_t lo, int64_t hi, void *vctx)
{
    const missing_ctx *c = vctx;
    for (int j = 0; j < c->ncols; j++) {
        const mf_tensor *t = c->cols[j];
        int64_t s = t->stride[0];
        if (t->dtype == MF_FLOAT64) {
            const double *p = mf_tensor_data(t);
            for (int64_t i = lo; i < hi; i++) c->out[i] += isnan(p[i * s]) ? 1 : 0;
        } else if (t->dtype == MF_INT64) {
            const int64_t *p = mf_tensor_data(t);
            for (int64_t i = lo; i < hi; i++) c->out[i] += p[i * s] == 0 ? 1 : 0;
        }
    }
}

mf_status mf_clean_row_missing(mf_tensor *const *cols, int ncols, int64_t nrows, mf_tensor **out)
{
    *out = NULL;
    if (nrows < 0) return mf_error_set(MF_EINVAL, 3, "negative number of rows");
    mf_status st = check_cols(cols, ncols, nrows);
    if (st) return st;
    mf_tensor *r;
    if ((st = mf_tensor_zeros(&r, MF_INT64, 1, &nrows))) return st;
    missing_ctx c = {cols, ncols, mf_tensor_data(r)};
    mf_parallel_for(nrows, CLEAN_GRAIN, missing_range, &c);
    *out = r;
    return MF_OK;
}

/* ------------------------------------------------------------ mask_rows, mark_rows */
mf_status mf_clean_mask_rows(mf_tensor **out, const mf_tensor *mask)
{
    *out = NULL;
    if (!mask || mask->ndim != 1 || mask->dtype != MF_BOOL)
        return mf_error_set(MF_EINVAL, 2, "expected a 1-D bool mask");
    int64_t n = mask->shape[0], s = mask->stride[0], k = 0;
    const unsigned char *m = mf_tensor_data(mask);
    for (int64_t i = 0; i < n; i++) k += m[i * s] != 0;
    mf_tensor *r;
    mf_status st = mf_tensor_new(&r, MF_INT64, 1, &k);
    if (st) return st;
    int64_t *p = mf_tensor_data(r);
    for (int64_t i = 0, w = 0; i < n; i++)
        if (m[i * s]) p[w++] = i;
    *out = r;
    return MF_OK;
}

mf_status mf_clean_mark_rows(mf_tensor **out, int64_t n, const mf_tensor *rows)
{
    *out = NULL;
    if (n < 0) return mf_error_set(MF_EINVAL, 2, "negative number of rows");
    if (!rows || rows->ndim != 1 || rows->dtype != MF_INT64)
        return mf_error_set(MF_EINVAL, 3, "expected a 1-D int64 tensor of rows");
    int64_t k = rows->shape[0], s = rows->stride[0];
    const int64_t *p = mf_tensor_data(rows);
    for (int64_t i = 0; i < k; i++)
        if (p[i * s] < 0 || p[i * s] >= n)
            return mf_error_set(MF_ERANGE, 3, "row %lld out of range for %lld rows", (long long)p[i * s],
                                (long long)n);
    mf_tensor *r;
    mf_status st = mf_tensor_zeros(&r, MF_BOOL, 1, &n);
    if (st) return st;
    unsigned char *m = mf_tensor_data(r);
    for (int64_t i = 0; i < k; i++) m[p[i * s]] = 1;
    *out = r;
    return MF_OK;
}

/* ------------------------------------------------------------ take */
typedef struct take_ctx {
    mf_tensor *const *cols;
    mf_tensor **outs;
    int ncols;
    const int64_t *idx;
    int64_t istride;
} take_ctx;

static void take_range(int64_t lo, int64_t hi, void *vctx)
{
    const take_ctx *c = vctx;
    const int64_t *idx = c->idx;
    int64_t is = c->istride;
    for (int j = 0; j < c->ncols; j++) {
        const mf_tensor *t = c->cols[j];
        int64_t s = t->stride[0];
        if (t->dtype == MF_BOOL) {
            const unsigned char *p = mf_tensor_data(t);
            unsigned char *o = mf_tensor_data(c->outs[j]);
            for (int64_t i = lo; i < hi; i++) o[i] = p[idx[i * is] * s];
        } else { /* float64 and int64: 8-byte copies */
            const uint64_t *p = mf_tensor_data(t);
            uint64_t *o = mf_tensor_data(c->outs[j]);
            for (int64_t i = lo; i < hi; i++) o[i] = p[idx[i * is] * s];
        }
    }
}

mf_status mf_clean_take(mf_tensor *const *cols, int ncols, int64_t nrows, const mf_tensor *idx,
                        mf_tensor **outs)
{
    for (int j = 0; j < ncols && outs; j++) outs[j] = NULL;
    mf_status st = check_cols(cols, ncols, nrows);
    if (st) return st;
    if (!idx || idx->ndim != 1 || idx->dtype != MF_INT64)
        return mf_error_set(MF_EINVAL, 4, "expected a 1-D int64 tensor of rows");
    int64_t k = idx->shape[0], is = idx->stride[0];
    const int64_t *p = mf_tensor_data(idx);
    for (int64_t i = 0; i < k; i++)
        if (p[i * is] < 0 || p[i * is] >= nrows)
            return mf_error_set(MF_ERANGE, 4, "row %lld out of range for %lld rows", (long long)p[i * is],
                                (long long)nrows);
    for (int j = 0; j < ncols; j++) {
        if ((st = mf_tensor_new(&outs[j], cols[j]->dtype, 1, &k))) {
            for (int q = 0; q < j; q++) {
                mf_tensor_release(outs[q]);
                outs[q] = NULL;
            }
            outs[j] = NULL;
            return st;
        }
    }
    take_ctx c = {cols, outs, ncols, p, is};
    mf_parallel_for(k, CLEAN_GRAIN, take_range, &c);
    return MF_OK;
}

/* ------------------------------------------------------------ quantiles */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Rearranges v[0..n) so that v[k] is the value of rank k, smaller or equal
 * values before it and greater or equal after it (Hoare partition around a
 * median of three; a range that does not shrink fast enough is sorted, so
 * the worst case stays O(n log n)). */
static void select_rank(double *v, int64_t n, int64_t k)
{
    int64_t lo = 0, hi = n - 1;
    int rounds = 0;
    while (hi > lo) {
        if (++rounds > 64) {
            qsort(v + lo, (size_t)(hi - lo + 1), sizeof *v, cmp_double);
            return;
        }
        int64_t mid = lo + (hi - lo) / 2;
        double a = v[lo], b = v[mid], c = v[hi];
        double pivot = a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot) i++;
            while (v[j] > pivot) j--;
            if (i <= j) {
                double t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                j--;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return; /* j < k < i: v[k] equals the pivot */
    }
}

mf_status mf_clean_quantiles(const mf_tensor *col, const double *q, int nq, double *out)
{
    if (!col || col->ndim != 1 || (col->dtype != MF_FLOAT64 && col->dtype != MF_INT64))
        return mf_error_set(MF_EINVAL, 1, "expected a 1-D float64 or int64 column");
    if (nq < 0 || (nq > 0 && (!q || !out))) return mf_error_set(MF_EINVAL, 2, "bad quantile list");
    for (int i = 0; i < nq; i++)
        if (!(q[i] >= 0 && q[i] <= 1))
            return mf_error_set(MF_EINVAL, 2, "quantile %g is outside [0, 1]", q[i]);
    int64_t n = col->shape[0], s = col->stride[0], m = 0;
    double *v = mf_malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    if (!v) return mf_error_set(MF_ENOMEM, 0, "not enough memory");
    if (col->dtype == MF_FLOAT64) {
        const double *p = mf_tensor_data(col);
        for (int64_t i = 0; i < n; i++)
            if (!isnan(p[i * s])) v[m++] = p[i * s];
    } else {
        const int64_t *p = mf_tensor_data(col);
        for (int64_t i = 0; i < n; i++) v[m++] = (double)p[i * s];
    }
    for (int i = 0; i < nq; i++) {
        if (m == 0) {
            out[i] = NAN;
            continue;
        }
        double pos = q[i] * (double)(m - 1);
        int64_t lo = (int64_t)floor(pos);
        if (lo > m - 1) lo = m - 1;
        select_rank(v, m, lo);
        double a = v[lo];
        if (lo + 1 >= m || pos == (double)lo) {
            out[i] = a;
            continue;
        }
        double b = v[lo + 1]; /* the value of rank lo + 1: the least after lo */
        for (int64_t j = lo + 2; j < m; j++)
            if (v[j] < b) b = v[j];
        out[i] = a + (pos - (double)lo) * (b - a);
    }
    mf_free(v);
    return MF_OK;
}

/* ------------------------------------------------------------ fill */
mf_status mf_clean_fill(mf_tensor **out, const mf_tensor *col, int backward, int64_t *left)
{
    *out = NULL;
    if (!col || col->ndim != 1 || (col->dtype != MF_FLOAT64 && col->dtype != MF_INT64))
        return mf_error_set(MF_EINVAL, 2, "expected a 1-D float64 or int64 column");
    int64_t n = col->shape[0], s = col->stride[0], miss = 0;
    mf_tensor *r;
    mf_status st = mf_tensor_new(&r, col->dtype, 1, &n);
    if (st) return st;
    int64_t start = backward ? n - 1 : 0, step = backward ? -1 : 1;
    if (col->dtype == MF_FLOAT64) {
        const double *p = mf_tensor_data(col);
        double *o = mf_tensor_data(r), last = NAN;
        for (int64_t c = 0, i = start; c < n; c++, i += step) {
            double x = p[i * s];
            if (isnan(x)) {
                o[i] = last;
                miss += isnan(last) ? 1 : 0;
            } else {
                o[i] = last = x;
            }
        }
    } else {
        const int64_t *p = mf_tensor_data(col);
        int64_t *o = mf_tensor_data(r), last = 0;
        for (int64_t c = 0, i = start; c < n; c++, i += step) {
            int64_t x = p[i * s];
            if (x == 0) {
                o[i] = last;
                miss += last == 0 ? 1 : 0;
            } else {
                o[i] = last = x;
            }
        }
    }
    *left = miss;
    *out = r;
    return MF_OK;
}

/* ------------------------------------------------------------ moments */
mf_status mf_clean_moments(const mf_tensor *col, int64_t *count, double *mean, double *std)
{
    if (!col || col->ndim != 1 || (col->dtype != MF_FLOAT64 && col->dtype != MF_INT64))
        return mf_error_set(MF_EINVAL, 1, "expected a 1-D float64 or int64 column");
    int64_t n = col->shape[0], s = col->stride[0], m = 0;
    double sum = 0, ss = 0, mu;
    if (col->dtype == MF_FLOAT64) {
        const double *p = mf_tensor_data(col);
        for (int64_t i = 0; i < n; i++)
            if (!isnan(p[i * s])) {
                sum += p[i * s];
                m++;
            }
        mu = m > 0 ? sum / (double)m : NAN;
        for (int64_t i = 0; i < n; i++)
            if (!isnan(p[i * s])) ss += (p[i * s] - mu) * (p[i * s] - mu);
    } else {
        const int64_t *p = mf_tensor_data(col);
        for (int64_t i = 0; i < n; i++) sum += (double)p[i * s];
        m = n;
        mu = m > 0 ? sum / (double)m : NAN;
        for (int64_t i = 0; i < n; i++) ss += ((double)p[i * s] - mu) * ((double)p[i * s] - mu);
    }
    *count = m;
    *mean = mu;
    *std = m > 0 ? sqrt(ss / (double)m) : NAN;
    return MF_OK;
}
