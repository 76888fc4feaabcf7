/*
 * mf_prep.c — kernels of mf.preprocess (see mf_prep.h).
 *
 * Matrices are read through a small strided view (struct mat) so that any
 * 2-D float32/float64 layout works without a copy; the dtype branch in
 * mat_at is the same for every element and is predicted. Column statistics
 * go over fixed blocks of PREP_BLOCK rows whose partial results are combined
 * in block order: the same sums whatever the number of threads.
 */
#include "mf_prep.h"
#include "mf_thread.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PREP_BLOCK 1024
#define PREP_GRAIN 2048

typedef struct mat {
    const char *p;
    int f32;
    int64_t n, m, s0, s1;
} mat;

static inline double mat_at(const mat *a, int64_t i, int64_t j)
{
    int64_t o = i * a->s0 + j * a->s1;
    return a->f32 ? (double)((const float *)(const void *)a->p)[o]
                  : ((const double *)(const void *)a->p)[o];
}

static mf_status check_matrix(const mf_tensor *X, int arg, const char *fname, mat *a)
{
    if (!X) return mf_error_set(MF_EINVAL, arg, "%s: matrix expected", fname);
    if (X->ndim != 2)
        return mf_error_set(MF_EINVAL, arg, "%s: 2-D tensor expected, got %d-D", fname, X->ndim);
    if (X->dtype != MF_FLOAT32 && X->dtype != MF_FLOAT64)
        return mf_error_set(MF_EINVAL, arg, "%s: float32 or float64 tensor expected, got %s",
                            fname, mf_dtype_name(X->dtype));
    a->p = mf_tensor_data(X);
    a->f32 = X->dtype == MF_FLOAT32;
    a->n = X->shape[0];
    a->m = X->shape[1];
    a->s0 = X->stride[0];
    a->s1 = X->stride[1];
    return MF_OK;
}

/* A float64 1-D tensor of p entries (or NULL when allowed). */
static mf_status check_vec(const mf_tensor *v, int64_t p, int arg, const char *fname)
{
    if (!v) return MF_OK;
    if (v->ndim != 1 || v->dtype != MF_FLOAT64 || v->shape[0] != p)
        return mf_error_set(MF_EINVAL, arg, "%s: float64 tensor of %lld entries expected",
                            fname, (long long)p);
    return MF_OK;
}

static inline double vec_at(const mf_tensor *v, int64_t j)
{
    return ((const double *)mf_tensor_data(v))[j * v->stride[0]];
}

static mf_status new_vec(mf_tensor **out, mf_dtype dt, int64_t p)
{
    return mf_tensor_new(out, dt, 1, &p);
}

static mf_status new_mat(mf_tensor **out, mf_dtype dt, int64_t n, int64_t m)
{
    int64_t shape[2] = {n, m};
    return mf_tensor_new(out, dt, 2, shape);
}

static inline void store(mf_tensor *t, int64_t o, double v)
{
    if (t->dtype == MF_FLOAT32) ((float *)mf_tensor_data(t))[o] = (float)v;
    else ((double *)mf_tensor_data(t))[o] = v;
}

/* ================================================================ moments */
typedef struct moments_job {
    mat a;
    int ignore_nan;
    int64_t nblocks;
    double *part;    /* [nblocks x p] partial sums */
    double *part2;   /* [nblocks x p] second partial sums (pass 2) */
    int64_t *cnt;    /* [nblocks x p] counts (ignore_nan) */
    const double *mean;
} moments_job;

static void moments_pass1(int64_t lo, int64_t hi, void *ctx)
{
    moments_job *j = ctx;
    int64_t p = j->a.m;
    for (int64_t b = lo; b < hi; b++) {
        double *s = j->part + b * p;
        int64_t *c = j->cnt ? j->cnt + b * p : NULL;
        int64_t r1 = (b + 1) * PREP_BLOCK < j->a.n ? (b + 1) * PREP_BLOCK : j->a.n;
        for (int64_t k = 0; k < p; k++) s[k] = 0;
        if (c) for (int64_t k = 0; k < p; k++) c[k] = 0;
        if (!c && !j->a.f32 && j->a.s1 == 1) { /* contiguous rows of float64 */
            for (int64_t i = b * PREP_BLOCK; i < r1; i++) {
                const double *x = (const double *)(const void *)j->a.p + i * j->a.s0;
                for (int64_t k = 0; k < p; k++) s[k] += x[k];
            }
            continue;
        }
        for (int64_t i = b * PREP_BLOCK; i < r1; i++) {
            for (int64_t k = 0; k < p; k++) {
                double v = mat_at(&j->a, i, k);
                if (c) {
                    if (v != v) continue;
                    c[k]++;
                }
                s[k] += v;
            }
        }
    }
}

static void moments_pass2(int64_t lo, int64_t hi, void *ctx)
{
    moments_job *j = ctx;
    int64_t p = j->a.m;
    for (int64_t b = lo; b < hi; b++) {
        double *s = j->part + b * p, *s2 = j->part2 + b * p;
        int64_t r1 = (b + 1) * PREP_BLOCK < j->a.n ? (b + 1) * PREP_BLOCK : j->a.n;
        for (int64_t k = 0; k < p; k++) s[k] = s2[k] = 0;
        if (!j->ignore_nan && !j->a.f32 && j->a.s1 == 1) {
            const double *mu = j->mean;
            for (int64_t i = b * PREP_BLOCK; i < r1; i++) {
                const double *x = (const double *)(const void *)j->a.p + i * j->a.s0;
                for (int64_t k = 0; k < p; k++) {
                    double d = x[k] - mu[k];
                    s[k] += d;
                    s2[k] += d * d;
                }
            }
            continue;
        }
        for (int64_t i = b * PREP_BLOCK; i < r1; i++) {
            for (int64_t k = 0; k < p; k++) {
                double d = mat_at(&j->a, i, k) - j->mean[k];
                if (j->ignore_nan && d != d) continue;
                s[k] += d;
                s2[k] += d * d;
            }
        }
    }
}

mf_status mf_prep_moments(const mf_tensor *X, int ignore_nan, mf_tensor **mean,
                          mf_tensor **var, mf_tensor **count)
{
    mat a;
    mf_status st = check_matrix(X, 1, "moments", &a);
    if (st) return st;
    *mean = *var = NULL;
    if (count) *count = NULL;
    int64_t p = a.m, nb = (a.n + PREP_BLOCK - 1) / PREP_BLOCK;
    size_t cells = (size_t)(nb * p) + 1;
    moments_job j = {a, ignore_nan, nb, NULL, NULL, NULL, NULL};
    j.part = mf_malloc(cells * sizeof(double));
    j.part2 = mf_malloc(cells * sizeof(double));
    j.cnt = ignore_nan ? mf_malloc(cells * sizeof(int64_t)) : NULL;
    int64_t *tot = mf_malloc((size_t)(p + 1) * sizeof(int64_t));
    if (!j.part || !j.part2 || (ignore_nan && !j.cnt) || !tot) {
        st = mf_error_set(MF_ENOMEM, 0, "moments: out of memory");
        goto done;
    }
    if ((st = new_vec(mean, MF_FLOAT64, p)) || (st = new_vec(var, MF_FLOAT64, p)) ||
        (count && (st = new_vec(count, MF_INT64, p))))
        goto done;
    double *mu = mf_tensor_data(*mean), *va = mf_tensor_data(*var);
    mf_parallel_for(nb, 1, moments_pass1, &j);
    for (int64_t k = 0; k < p; k++) {
        double s = 0;
        int64_t c = 0;
        for (int64_t b = 0; b < nb; b++) {
            s += j.part[b * p + k];
            c += j.cnt ? j.cnt[b * p + k] : 0;
        }
        if (!j.cnt) c = a.n;
        tot[k] = c;
        mu[k] = c > 0 ? s / (double)c : NAN;
    }
    j.mean = mu;
    mf_parallel_for(nb, 1, moments_pass2, &j);
    for (int64_t k = 0; k < p; k++) {
        double s = 0, s2 = 0;
        for (int64_t b = 0; b < nb; b++) {
            s += j.part[b * p + k];
            s2 += j.part2[b * p + k];
        }
        double c = (double)tot[k];
        if (tot[k] == 0) {
            va[k] = NAN;
        } else {
            double v = (s2 - s * s / c) / c;
            va[k] = v < 0 ? 0 : v;
            if (s2 != s2) va[k] = NAN;
        }
        if (count) ((int64_t *)mf_tensor_data(*count))[k] = tot[k];
    }
done:
    mf_free(j.part);
    mf_free(j.part2);
    mf_free(j.cnt);
    mf_free(tot);
    if (st) {
        mf_tensor_release(*mean);
        mf_tensor_release(*var);
        *mean = *var = NULL;
        if (count) {
            mf_tensor_release(*count);
            *count = NULL;
        }
    }
    return st;
}

/* ================================================================ min / max */
typedef struct minmax_job {
    mat a;
    int ignore_nan;
    double *lo, *hi; /* [nblocks x p] */
    unsigned char *nan; /* [nblocks x p]: a NaN seen */
} minmax_job;

static void minmax_range(int64_t b0, int64_t b1, void *ctx)
{
    minmax_job *j = ctx;
    int64_t p = j->a.m;
    for (int64_t b = b0; b < b1; b++) {
        double *lo = j->lo + b * p, *hi = j->hi + b * p;
        unsigned char *nn = j->nan + b * p;
        int64_t r1 = (b + 1) * PREP_BLOCK < j->a.n ? (b + 1) * PREP_BLOCK : j->a.n;
        for (int64_t k = 0; k < p; k++) {
            lo[k] = INFINITY;
            hi[k] = -INFINITY;
            nn[k] = 0;
        }
        for (int64_t i = b * PREP_BLOCK; i < r1; i++) {
            for (int64_t k = 0; k < p; k++) {
                double v = mat_at(&j->a, i, k);
                if (v != v) {
                    nn[k] = 1;
                    continue;
                }
                if (v < lo[k]) lo[k] = v;
                if (v > hi[k]) hi[k] = v;
            }
        }
    }
}

mf_status mf_prep_minmax(const mf_tensor *X, int ignore_nan, mf_tensor **min, mf_tensor **max)
{
    mat a;
    mf_status st = check_matrix(X, 1, "minmax", &a);
    if (st) return st;
    *min = *max = NULL;
    int64_t p = a.m, nb = (a.n + PREP_BLOCK - 1) / PREP_BLOCK;
    size_t cells = (size_t)(nb * p) + 1;
    minmax_job j = {a, ignore_nan, mf_malloc(cells * sizeof(double)),
                    mf_malloc(cells * sizeof(double)), mf_malloc(cells)};
    if (!j.lo || !j.hi || !j.nan) {
        st = mf_error_set(MF_ENOMEM, 0, "minmax: out of memory");
        goto done;
    }
    if ((st = new_vec(min, MF_FLOAT64, p)) || (st = new_vec(max, MF_FLOAT64, p))) goto done;
    mf_parallel_for(nb, 1, minmax_range, &j);
    double *mn = mf_tensor_data(*min), *mx = mf_tensor_data(*max);
    for (int64_t k = 0; k < p; k++) {
        double lo = INFINITY, hi = -INFINITY;
        int nan = 0;
        for (int64_t b = 0; b < nb; b++) {
            if (j.lo[b * p + k] < lo) lo = j.lo[b * p + k];
            if (j.hi[b * p + k] > hi) hi = j.hi[b * p + k];
            nan |= j.nan[b * p + k];
        }
        if ((nan && !ignore_nan) || lo > hi) lo = hi = NAN;
        mn[k] = lo;
        mx[k] = hi;
    }
done:
    mf_free(j.lo);
    mf_free(j.hi);
    mf_free(j.nan);
    if (st) {
        mf_tensor_release(*min);
        mf_tensor_release(*max);
        *min = *max = NULL;
    }
    return st;
}

/* ================================================================ selection */
/* Rearranges v[lo..hi) (no NaN) so that v[k] holds the value of rank k,
 * smaller or equal ones before it and larger or equal ones after.
 * Quickselect with a median-of-three pivot and a branch-free Lomuto
 * partition (the comparison result moves the boundary, so random data costs
 * no mispredictions). When the pivot is the smallest value of the range, the
 * values equal to it are grouped in a second pass, so that columns with few
 * distinct values (integers, flags) stay linear. */
static void select_kth(double *v, int64_t lo, int64_t hi, int64_t k)
{
    while (hi - lo > 16) {
        int64_t mid = lo + (hi - lo) / 2, last = hi - 1;
        double a = v[lo], b = v[mid], c = v[last];
        int64_t pi = a < b ? (b < c ? mid : (a < c ? last : lo)) : (a < c ? lo : (b < c ? last : mid));
        double pivot = v[pi];
        v[pi] = v[lo];
        v[lo] = pivot;
        int64_t i = lo + 1;
        for (int64_t j = lo + 1; j < hi; j++) {
            double x = v[j];
            int64_t lt = x < pivot;
            v[j] = v[i];
            v[i] = x;
            i += lt;
        }
        /* [lo+1, i) < pivot <= [i, hi): move the pivot between them */
        int64_t p = i - 1;
        v[lo] = v[p];
        v[p] = pivot;
        if (k == p) return;
        if (k < p) {
            hi = p;
            continue;
        }
        int64_t was_min = p == lo;
        lo = p + 1;
        if (was_min) {
            int64_t e = lo;
            for (int64_t j = lo; j < hi; j++) {
                double x = v[j];
                int64_t eq = x <= pivot;
                v[j] = v[e];
                v[e] = x;
                e += eq;
            }
            if (k < e) return; /* [p, e) all equal the pivot */
            lo = e;
        }
    }
    for (int64_t i = lo + 1; i < hi; i++) { /* insertion sort of a small range */
        double x = v[i];
        int64_t j = i;
        while (j > lo && v[j - 1] > x) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

/* The non-NaN values of column k into buf; returns their count. */
static int64_t gather_col(const mat *a, int64_t k, double *buf)
{
    int64_t m = 0;
    for (int64_t i = 0; i < a->n; i++) {
        double v = mat_at(a, i, k);
        if (v == v) buf[m++] = v;
    }
    return m;
}

/*
 * Per-column work that needs a column's values together (selection,
 * sorting) copies a batch of columns out in one pass over the rows (a
 * row-major matrix is read sequentially once per batch, not once per
 * column) and then works on the columns of the batch in parallel.
 */
#define PREP_BATCH_BYTES ((int64_t)64 << 20)

typedef struct colbatch {
    mat a;
    int64_t k0, kc;
    double *buf;         /* kc columns of a.n values */
    int64_t *cnt;        /* non-NaN values per column */
    unsigned char *nan;  /* a NaN seen */
    /* quantiles */
    int ignore_nan;
    const double *q;
    int64_t nq;
    int64_t *ks;         /* scratch: 2 * nq ranks per column of the batch */
    double *out;         /* [nq x p] or [p] */
} colbatch;

static int64_t batch_width(const mat *a)
{
    int64_t w = PREP_BATCH_BYTES / ((a->n > 0 ? a->n : 1) * (int64_t)sizeof(double));
    if (w < 2) w = 2;
    return w < a->m ? w : (a->m > 0 ? a->m : 1);
}

static void gather_batch(colbatch *b)
{
    int64_t n = b->a.n;
    for (int64_t k = 0; k < b->kc; k++) {
        b->cnt[k] = 0;
        b->nan[k] = 0;
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < b->kc; k++) {
            double v = mat_at(&b->a, i, b->k0 + k);
            if (v != v) b->nan[k] = 1;
            else b->buf[k * n + b->cnt[k]++] = v;
        }
}

/* Places the values of the sorted ranks ks[0..nk) of v[lo..hi) (each in
 * range) at their positions: select the middle one, recurse on both sides. */
static void multi_select(double *v, int64_t lo, int64_t hi, const int64_t *ks, int64_t nk)
{
    while (nk > 0) {
        int64_t mid = nk / 2, k = ks[mid];
        select_kth(v, lo, hi, k);
        multi_select(v, lo, k, ks, mid);
        lo = k + 1;
        ks += mid + 1;
        nk -= mid + 1;
    }
}

static void quantile_cols(int64_t c0, int64_t c1, void *ctx)
{
    colbatch *b = ctx;
    int64_t p = b->a.m;
    for (int64_t c = c0; c < c1; c++) {
        double *v = b->buf + c * b->a.n;
        int64_t m = b->cnt[c], *ks = b->ks + c * 2 * b->nq, nk = 0;
        int64_t col = b->k0 + c;
        if (m == 0 || (b->nan[c] && !b->ignore_nan)) {
            for (int64_t t = 0; t < b->nq; t++) b->out[t * p + col] = NAN;
            continue;
        }
        for (int64_t t = 0; t < b->nq; t++) {
            double h = (double)(m - 1) * b->q[t];
            int64_t lo = (int64_t)floor(h);
            if (lo > m - 1) lo = m - 1;
            ks[nk++] = lo;
            if (lo + 1 < m) ks[nk++] = lo + 1;
        }
        /* sort and dedupe the ranks (few) */
        for (int64_t u = 1; u < nk; u++)
            for (int64_t w = u; w > 0 && ks[w - 1] > ks[w]; w--) {
                int64_t t = ks[w];
                ks[w] = ks[w - 1];
                ks[w - 1] = t;
            }
        int64_t nu = 0;
        for (int64_t u = 0; u < nk; u++)
            if (nu == 0 || ks[u] != ks[nu - 1]) ks[nu++] = ks[u];
        multi_select(v, 0, m, ks, nu);
        for (int64_t t = 0; t < b->nq; t++) {
            double h = (double)(m - 1) * b->q[t];
            int64_t lo = (int64_t)floor(h);
            if (lo > m - 1) lo = m - 1;
            double r = v[lo], frac = h - (double)lo;
            if (frac > 0 && lo + 1 < m) r = r + frac * (v[lo + 1] - r);
            b->out[t * p + col] = r;
        }
    }
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static void mode_cols(int64_t c0, int64_t c1, void *ctx)
{
    colbatch *b = ctx;
    for (int64_t c = c0; c < c1; c++) {
        double *v = b->buf + c * b->a.n;
        int64_t m = b->cnt[c];
        qsort(v, (size_t)m, sizeof(double), cmp_double);
        double best = NAN;
        int64_t best_n = 0;
        for (int64_t i = 0; i < m;) {
            int64_t r = i;
            while (r < m && v[r] == v[i]) r++;
            if (r - i > best_n) {
                best_n = r - i;
                best = v[i];
            }
            i = r;
        }
        b->out[b->k0 + c] = best;
    }
}

/* Runs fn over the columns of a in batches (see colbatch). */
static mf_status run_batches(colbatch *b, mf_range_fn fn, const char *fname)
{
    int64_t w = batch_width(&b->a);
    b->buf = mf_malloc((size_t)(w * b->a.n + 1) * sizeof(double));
    b->cnt = mf_malloc((size_t)(w + 1) * sizeof(int64_t));
    b->nan = mf_malloc((size_t)(w + 1));
    b->ks = mf_malloc((size_t)(w * 2 * b->nq + 1) * sizeof(int64_t));
    mf_status st = MF_OK;
    if (!b->buf || !b->cnt || !b->nan || !b->ks) {
        st = mf_error_set(MF_ENOMEM, 0, "%s: out of memory", fname);
    } else {
        for (b->k0 = 0; b->k0 < b->a.m; b->k0 += w) {
            b->kc = b->a.m - b->k0 < w ? b->a.m - b->k0 : w;
            gather_batch(b);
            mf_parallel_for(b->kc, 1, fn, b);
        }
    }
    mf_free(b->buf);
    mf_free(b->cnt);
    mf_free(b->nan);
    mf_free(b->ks);
    return st;
}

mf_status mf_prep_quantiles(const mf_tensor *X, int ignore_nan, const double *q, int64_t nq,
                            mf_tensor **out)
{
    mat a;
    mf_status st = check_matrix(X, 1, "quantiles", &a);
    if (st) return st;
    *out = NULL;
    for (int64_t t = 0; t < nq; t++)
        if (!(q[t] >= 0 && q[t] <= 1))
            return mf_error_set(MF_EINVAL, 3, "quantiles: probabilities must be in [0, 1]");
    if ((st = new_mat(out, MF_FLOAT64, nq, a.m))) return st;
    colbatch b;
    memset(&b, 0, sizeof b);
    b.a = a;
    b.ignore_nan = ignore_nan;
    b.q = q;
    b.nq = nq;
    b.out = mf_tensor_data(*out);
    if ((st = run_batches(&b, quantile_cols, "quantiles"))) {
        mf_tensor_release(*out);
        *out = NULL;
    }
    return st;
}

mf_status mf_prep_mode(const mf_tensor *X, mf_tensor **out)
{
    mat a;
    mf_status st = check_matrix(X, 1, "mode", &a);
    if (st) return st;
    *out = NULL;
    if ((st = new_vec(out, MF_FLOAT64, a.m))) return st;
    colbatch b;
    memset(&b, 0, sizeof b);
    b.a = a;
    b.out = mf_tensor_data(*out);
    if ((st = run_batches(&b, mode_cols, "mode"))) {
        mf_tensor_release(*out);
        *out = NULL;
    }
    return st;
}

static mf_status check_vector1(const mf_tensor *x, int arg, const char *fname, mat *a)
{
    if (!x || x->ndim != 1 || (x->dtype != MF_FLOAT32 && x->dtype != MF_FLOAT64))
        return mf_error_set(MF_EINVAL, arg, "%s: 1-D float tensor expected", fname);
    a->p = mf_tensor_data(x);
    a->f32 = x->dtype == MF_FLOAT32;
    a->n = x->shape[0];
    a->m = 1;
    a->s0 = x->stride[0];
    a->s1 = 0;
    return MF_OK;
}

mf_status mf_prep_unique(const mf_tensor *x, mf_tensor **out, int *has_nan)
{
    mat a;
    mf_status st = check_vector1(x, 1, "unique", &a);
    if (st) return st;
    *out = NULL;
    double *buf = mf_malloc((size_t)(a.n + 1) * sizeof(double));
    if (!buf) return mf_error_set(MF_ENOMEM, 0, "unique: out of memory");
    int64_t m = gather_col(&a, 0, buf);
    if (has_nan) *has_nan = m < a.n;
    qsort(buf, (size_t)m, sizeof(double), cmp_double);
    int64_t u = 0;
    for (int64_t i = 0; i < m; i++)
        if (u == 0 || buf[i] != buf[u - 1]) buf[u++] = buf[i];
    if (!(st = new_vec(out, MF_FLOAT64, u)) && u > 0)
        memcpy(mf_tensor_data(*out), buf, (size_t)u * sizeof(double));
    mf_free(buf);
    return st;
}

mf_status mf_prep_bincount(const mf_tensor *codes, int64_t n, mf_tensor **out)
{
    *out = NULL;
    if (!codes || codes->ndim != 1 || codes->dtype != MF_INT64)
        return mf_error_set(MF_EINVAL, 1, "bincount: 1-D int64 tensor expected");
    if (n < 0) return mf_error_set(MF_EINVAL, 2, "bincount: size must be >= 0");
    mf_status st = mf_tensor_zeros(out, MF_INT64, 1, &n);
    if (st) return st;
    int64_t *c = mf_tensor_data(*out);
    const int64_t *v = mf_tensor_data(codes);
    for (int64_t i = 0; i < codes->shape[0]; i++) {
        int64_t x = v[i * codes->stride[0]];
        if (x < 0 || x >= n) {
            mf_tensor_release(*out);
            *out = NULL;
            return mf_error_set(MF_ERANGE, 1, "bincount: value %lld at %lld outside 0..%lld",
                                (long long)x, (long long)i, (long long)(n - 1));
        }
        c[x]++;
    }
    return MF_OK;
}

/* ================================================================ row maps */
typedef struct rowmap_job {
    mat a;
    mf_tensor *out;
    const mf_tensor *va, *vb;
    int kind;
    double lo, hi;
    int clip;
    int64_t *nan_rowcol; /* per chunk: first NaN column seen, or -1 */
    const double *coef;  /* affine: a then b, p each, defaults filled in */
    int64_t nchunks, chunk;
} rowmap_job;

/* One row of the affine map, contiguous float64 in and out. */
static int affine_row_f64(const double *restrict x, double *restrict o, const double *restrict A,
                          const double *restrict B, int64_t p, int subdiv)
{
    int bad = 0;
    if (subdiv)
        for (int64_t k = 0; k < p; k++) o[k] = (x[k] - A[k]) / B[k];
    else
        for (int64_t k = 0; k < p; k++) o[k] = x[k] * A[k] + B[k];
    for (int64_t k = 0; k < p; k++) bad |= x[k] != x[k];
    return bad;
}

static int affine_row_f32(const float *restrict x, float *restrict o, const double *restrict A,
                          const double *restrict B, int64_t p, int subdiv)
{
    int bad = 0;
    if (subdiv)
        for (int64_t k = 0; k < p; k++) o[k] = (float)(((double)x[k] - A[k]) / B[k]);
    else
        for (int64_t k = 0; k < p; k++) o[k] = (float)((double)x[k] * A[k] + B[k]);
    for (int64_t k = 0; k < p; k++) bad |= x[k] != x[k];
    return bad;
}

static void affine_range(int64_t c0, int64_t c1, void *ctx)
{
    rowmap_job *j = ctx;
    int64_t p = j->a.m;
    const double *A = j->coef, *B = j->coef + p;
    int subdiv = j->kind == MF_PREP_SUB_DIV;
    int fast = j->a.s1 == 1 || p == 1;
    for (int64_t c = c0; c < c1; c++) {
        int64_t first = -1;
        int64_t r1 = (c + 1) * j->chunk < j->a.n ? (c + 1) * j->chunk : j->a.n;
        for (int64_t i = c * j->chunk; i < r1; i++) {
            int bad = 0;
            if (fast && !j->a.f32) {
                const double *x = (const double *)(const void *)j->a.p + i * j->a.s0;
                bad = affine_row_f64(x, (double *)mf_tensor_data(j->out) + i * p, A, B, p, subdiv);
            } else if (fast) {
                const float *x = (const float *)(const void *)j->a.p + i * j->a.s0;
                bad = affine_row_f32(x, (float *)mf_tensor_data(j->out) + i * p, A, B, p, subdiv);
            } else {
                for (int64_t k = 0; k < p; k++) {
                    double v = mat_at(&j->a, i, k);
                    bad |= v != v;
                    store(j->out, i * p + k, subdiv ? (v - A[k]) / B[k] : v * A[k] + B[k]);
                }
            }
            if (j->clip) {
                for (int64_t k = 0; k < p; k++) {
                    double r = mf_load(j->out->dtype, mf_tensor_data(j->out), i * p + k);
                    store(j->out, i * p + k, r < j->lo ? j->lo : (r > j->hi ? j->hi : r));
                }
            }
            if (bad && first != 0)
                for (int64_t k = 0; k < (first < 0 ? p : first); k++)
                    if (mat_at(&j->a, i, k) != mat_at(&j->a, i, k)) {
                        first = k;
                        break;
                    }
        }
        j->nan_rowcol[c] = first;
    }
}

/* Runs fn over the rows of a in chunks; *nan_col gets the smallest column
 * any chunk reported (or -1). */
static mf_status run_rows(rowmap_job *j, mf_range_fn fn, int64_t *nan_col)
{
    j->chunk = PREP_GRAIN;
    j->nchunks = (j->a.n + j->chunk - 1) / j->chunk;
    j->nan_rowcol = mf_malloc((size_t)(j->nchunks + 1) * sizeof(int64_t));
    if (!j->nan_rowcol) return mf_error_set(MF_ENOMEM, 0, "preprocess: out of memory");
    mf_parallel_for(j->nchunks, 1, fn, j);
    int64_t first = -1;
    for (int64_t c = 0; c < j->nchunks; c++)
        if (j->nan_rowcol[c] >= 0 && (first < 0 || j->nan_rowcol[c] < first))
            first = j->nan_rowcol[c];
    if (nan_col) *nan_col = first;
    mf_free(j->nan_rowcol);
    j->nan_rowcol = NULL;
    return MF_OK;
}

mf_status mf_prep_affine(const mf_tensor *X, mf_prep_affine_kind kind, const mf_tensor *a,
                         const mf_tensor *b, double lo, double hi, mf_tensor **out,
                         int64_t *nan_col)
{
    mat m;
    mf_status st = check_matrix(X, 1, "affine", &m);
    if (st) return st;
    *out = NULL;
    if ((st = check_vec(a, m.m, 3, "affine")) || (st = check_vec(b, m.m, 4, "affine"))) return st;
    if (kind != MF_PREP_SUB_DIV && kind != MF_PREP_MUL_ADD)
        return mf_error_set(MF_EINVAL, 2, "affine: unknown kind");
    if ((st = new_mat(out, X->dtype, m.n, m.m))) return st;
    double *coef = mf_malloc((size_t)(2 * m.m + 1) * sizeof(double));
    if (!coef) {
        mf_tensor_release(*out);
        *out = NULL;
        return mf_error_set(MF_ENOMEM, 0, "affine: out of memory");
    }
    int subdiv = kind == MF_PREP_SUB_DIV;
    for (int64_t k = 0; k < m.m; k++) {
        coef[k] = a ? vec_at(a, k) : (subdiv ? 0 : 1);
        coef[m.m + k] = b ? vec_at(b, k) : (subdiv ? 1 : 0);
    }
    rowmap_job j = {m, *out, a, b, (int)kind, lo, hi, !(lo != lo || hi != hi), NULL, coef, 0, 0};
    if ((st = run_rows(&j, affine_range, nan_col))) {
        mf_tensor_release(*out);
        *out = NULL;
    }
    mf_free(coef);
    return st;
}

static void normalize_range(int64_t c0, int64_t c1, void *ctx)
{
    rowmap_job *j = ctx;
    int64_t p = j->a.m;
    for (int64_t c = c0; c < c1; c++) {
        int64_t r1 = (c + 1) * j->chunk < j->a.n ? (c + 1) * j->chunk : j->a.n;
        for (int64_t i = c * j->chunk; i < r1; i++) {
            double s = 0;
            for (int64_t k = 0; k < p; k++) {
                double v = mat_at(&j->a, i, k);
                if (j->kind == MF_PREP_L1) s += fabs(v);
                else if (j->kind == MF_PREP_L2) s += v * v;
                else if (fabs(v) > s || v != v) s = fabs(v);
            }
            if (j->kind == MF_PREP_L2) s = sqrt(s);
            if (s == 0) s = 1;
            for (int64_t k = 0; k < p; k++) store(j->out, i * p + k, mat_at(&j->a, i, k) / s);
        }
        j->nan_rowcol[c] = -1;
    }
}

mf_status mf_prep_normalize(const mf_tensor *X, mf_prep_norm norm, mf_tensor **out)
{
    mat m;
    mf_status st = check_matrix(X, 1, "normalize", &m);
    if (st) return st;
    *out = NULL;
    if (norm != MF_PREP_L1 && norm != MF_PREP_L2 && norm != MF_PREP_MAX)
        return mf_error_set(MF_EINVAL, 2, "normalize: unknown norm");
    if ((st = new_mat(out, X->dtype, m.n, m.m))) return st;
    rowmap_job j = {m, *out, NULL, NULL, (int)norm, 0, 0, 0, NULL, NULL, 0, 0};
    if ((st = run_rows(&j, normalize_range, NULL))) {
        mf_tensor_release(*out);
        *out = NULL;
    }
    return st;
}

static void fillnan_range(int64_t c0, int64_t c1, void *ctx)
{
    rowmap_job *j = ctx;
    int64_t p = j->a.m;
    for (int64_t c = c0; c < c1; c++) {
        int64_t r1 = (c + 1) * j->chunk < j->a.n ? (c + 1) * j->chunk : j->a.n;
        for (int64_t i = c * j->chunk; i < r1; i++) {
            for (int64_t k = 0; k < p; k++) {
                double v = mat_at(&j->a, i, k);
                store(j->out, i * p + k, v != v ? vec_at(j->va, k) : v);
            }
        }
        j->nan_rowcol[c] = -1;
    }
}

mf_status mf_prep_fillnan(const mf_tensor *X, const mf_tensor *values, mf_tensor **out)
{
    mat m;
    mf_status st = check_matrix(X, 1, "fillnan", &m);
    if (st) return st;
    *out = NULL;
    if (!values) return mf_error_set(MF_EINVAL, 2, "fillnan: values expected");
    if ((st = check_vec(values, m.m, 2, "fillnan"))) return st;
    if ((st = new_mat(out, X->dtype, m.n, m.m))) return st;
    rowmap_job j = {m, *out, values, NULL, 0, 0, 0, 0, NULL, NULL, 0, 0};
    if ((st = run_rows(&j, fillnan_range, NULL))) {
        mf_tensor_release(*out);
        *out = NULL;
    }
    return st;
}

/* ================================================================ encoding */
static int64_t bsearch_eq(const double *c, int64_t n, double v)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (c[mid] < v) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && c[lo] == v ? lo : -1;
}

mf_status mf_prep_lookup(const mf_tensor *x, const mf_tensor *cats, mf_tensor **out,
                         int64_t *n_unknown, int64_t *first_unknown)
{
    mat a;
    mf_status st = check_vector1(x, 1, "lookup", &a);
    if (st) return st;
    *out = NULL;
    if (!cats || cats->ndim != 1 || cats->dtype != MF_FLOAT64 || !mf_tensor_is_contiguous(cats))
        return mf_error_set(MF_EINVAL, 2, "lookup: contiguous float64 categories expected");
    const double *c = mf_tensor_data(cats);
    int64_t nc = cats->shape[0];
    for (int64_t i = 1; i < nc; i++)
        if (!(c[i - 1] < c[i]))
            return mf_error_set(MF_EINVAL, 2, "lookup: categories must be sorted and distinct");
    if ((st = new_vec(out, MF_INT64, a.n))) return st;
    int64_t *o = mf_tensor_data(*out), nu = 0, fu = -1;
    for (int64_t i = 0; i < a.n; i++) {
        o[i] = bsearch_eq(c, nc, mat_at(&a, i, 0));
        if (o[i] < 0) {
            if (fu < 0) fu = i;
            nu++;
        }
    }
    if (n_unknown) *n_unknown = nu;
    if (first_unknown) *first_unknown = fu;
    return MF_OK;
}

static mf_status check_codes(const mf_tensor *codes, const char *fname)
{
    if (!codes || codes->ndim != 2 || codes->dtype != MF_INT64)
        return mf_error_set(MF_EINVAL, 1, "%s: 2-D int64 codes expected", fname);
    return MF_OK;
}

/* Scans codes for the first -1 (row-major) and checks the range. */
static mf_status scan_codes(const mf_tensor *codes, const int64_t *ncat, const char *fname,
                            int64_t *unk_row, int64_t *unk_col)
{
    const int64_t *cd = mf_tensor_data(codes);
    int64_t n = codes->shape[0], k = codes->shape[1];
    if (unk_row) *unk_row = -1;
    if (unk_col) *unk_col = -1;
    int found = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < k; j++) {
            int64_t v = cd[i * codes->stride[0] + j * codes->stride[1]];
            if (v < -1 || (ncat && v >= ncat[j]))
                return mf_error_set(MF_ERANGE, 1, "%s: code %lld out of range in column %lld",
                                    fname, (long long)v, (long long)j);
            if (v == -1 && !found) {
                found = 1;
                if (unk_row) *unk_row = i;
                if (unk_col) *unk_col = j;
            }
        }
    return MF_OK;
}

mf_status mf_prep_onehot(const mf_tensor *codes, const int64_t *ncat, const int64_t *drop,
                         mf_tensor **out, int64_t *unk_row, int64_t *unk_col)
{
    *out = NULL;
    mf_status st = check_codes(codes, "onehot");
    if (st) return st;
    int64_t n = codes->shape[0], k = codes->shape[1], width = 0;
    for (int64_t j = 0; j < k; j++) {
        if (ncat[j] < 0 || (drop && (drop[j] < -1 || drop[j] >= ncat[j])))
            return mf_error_set(MF_EINVAL, 2, "onehot: bad category count or drop in column %lld",
                                (long long)j);
        width += ncat[j] - (drop && drop[j] >= 0);
    }
    if ((st = scan_codes(codes, ncat, "onehot", unk_row, unk_col))) return st;
    if ((st = mf_tensor_zeros(out, MF_FLOAT64, 2, (int64_t[]){n, width}))) return st;
    double *o = mf_tensor_data(*out);
    const int64_t *cd = mf_tensor_data(codes);
    for (int64_t i = 0; i < n; i++) {
        int64_t base = i * width;
        for (int64_t j = 0; j < k; j++) {
            int64_t v = cd[i * codes->stride[0] + j * codes->stride[1]];
            int64_t d = drop ? drop[j] : -1;
            if (v >= 0 && v != d) o[base + v - (d >= 0 && v > d)] = 1.0;
            base += ncat[j] - (d >= 0);
        }
    }
    return MF_OK;
}

mf_status mf_prep_ordinal(const mf_tensor *codes, double unknown_value, mf_tensor **out,
                          int64_t *unk_row, int64_t *unk_col)
{
    *out = NULL;
    mf_status st = check_codes(codes, "ordinal");
    if (st) return st;
    if ((st = scan_codes(codes, NULL, "ordinal", unk_row, unk_col))) return st;
    int64_t n = codes->shape[0], k = codes->shape[1];
    if ((st = new_mat(out, MF_FLOAT64, n, k))) return st;
    double *o = mf_tensor_data(*out);
    const int64_t *cd = mf_tensor_data(codes);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < k; j++) {
            int64_t v = cd[i * codes->stride[0] + j * codes->stride[1]];
            o[i * k + j] = v < 0 ? unknown_value : (double)(v + 1);
        }
    return MF_OK;
}

/* ================================================================ polynomial */
typedef struct poly_job {
    mat a;
    mf_tensor *out;
    const int64_t *combos;
    int64_t m, d;
} poly_job;

static void poly_range(int64_t lo, int64_t hi, void *ctx)
{
    poly_job *j = ctx;
    for (int64_t i = lo; i < hi; i++)
        for (int64_t o = 0; o < j->m; o++) {
            double v = 1;
            for (int64_t t = 0; t < j->d; t++) {
                int64_t c = j->combos[o * j->d + t];
                if (c >= 0) v *= mat_at(&j->a, i, c);
            }
            store(j->out, i * j->m + o, v);
        }
}

mf_status mf_prep_poly(const mf_tensor *X, const mf_tensor *combos, mf_tensor **out)
{
    mat a;
    mf_status st = check_matrix(X, 1, "poly", &a);
    if (st) return st;
    *out = NULL;
    if (!combos || combos->ndim != 2 || combos->dtype != MF_INT64 ||
        !mf_tensor_is_contiguous(combos))
        return mf_error_set(MF_EINVAL, 2, "poly: contiguous 2-D int64 combinations expected");
    const int64_t *cb = mf_tensor_data(combos);
    int64_t m = combos->shape[0], d = combos->shape[1];
    for (int64_t i = 0; i < m * d; i++)
        if (cb[i] < -1 || cb[i] >= a.m)
            return mf_error_set(MF_ERANGE, 2, "poly: column %lld out of range", (long long)cb[i]);
    if ((st = new_mat(out, X->dtype, a.n, m))) return st;
    poly_job j = {a, *out, cb, m, d};
    mf_parallel_for(a.n, PREP_GRAIN, poly_range, &j);
    return MF_OK;
}

/* ================================================================ digitize */
typedef struct digitize_job {
    mat a;
    int64_t *out;
    const double *edges;
    const int64_t *nedges, *off;
    int64_t *nan_col; /* per chunk */
    int64_t chunk;
} digitize_job;

static void digitize_range(int64_t c0, int64_t c1, void *ctx)
{
    digitize_job *j = ctx;
    int64_t p = j->a.m;
    for (int64_t c = c0; c < c1; c++) {
        int64_t first = -1;
        int64_t r1 = (c + 1) * j->chunk < j->a.n ? (c + 1) * j->chunk : j->a.n;
        for (int64_t i = c * j->chunk; i < r1; i++)
            for (int64_t k = 0; k < p; k++) {
                double v = mat_at(&j->a, i, k);
                if (v != v) {
                    if (first < 0 || k < first) first = k;
                    j->out[i * p + k] = 0;
                    continue;
                }
                /* inner edges e[0 .. ni): count those <= v (branch-free: a
                 * linear count for few edges, else a binary search whose
                 * step is a conditional move) */
                const double *e = j->edges + j->off[k] + 1;
                int64_t ni = j->nedges[k] - 2, cnt = 0;
                if (ni <= 16) {
                    for (int64_t t = 0; t < ni; t++) cnt += e[t] <= v;
                } else {
                    int64_t len = ni;
                    while (len > 1) {
                        int64_t half = len / 2;
                        cnt = e[cnt + half - 1] <= v ? cnt + half : cnt;
                        len -= half;
                    }
                    cnt += e[cnt] <= v;
                }
                j->out[i * p + k] = cnt;
            }
        j->nan_col[c] = first;
    }
}

mf_status mf_prep_digitize(const mf_tensor *X, const mf_tensor *edges, const int64_t *nedges,
                           mf_tensor **out, int64_t *nan_col)
{
    mat a;
    mf_status st = check_matrix(X, 1, "digitize", &a);
    if (st) return st;
    *out = NULL;
    if (!edges || edges->ndim != 1 || edges->dtype != MF_FLOAT64 ||
        !mf_tensor_is_contiguous(edges))
        return mf_error_set(MF_EINVAL, 2, "digitize: contiguous 1-D float64 edges expected");
    int64_t *off = mf_malloc((size_t)(a.m + 1) * sizeof(int64_t));
    if (!off) return mf_error_set(MF_ENOMEM, 0, "digitize: out of memory");
    int64_t total = 0;
    for (int64_t k = 0; k < a.m; k++) {
        if (nedges[k] < 2) {
            mf_free(off);
            return mf_error_set(MF_EINVAL, 3, "digitize: column %lld needs at least 2 edges",
                                (long long)k);
        }
        off[k] = total;
        total += nedges[k];
    }
    if (total != edges->shape[0]) {
        mf_free(off);
        return mf_error_set(MF_EINVAL, 2, "digitize: %lld edges expected, got %lld",
                            (long long)total, (long long)edges->shape[0]);
    }
    if ((st = new_mat(out, MF_INT64, a.n, a.m))) {
        mf_free(off);
        return st;
    }
    digitize_job j = {a, mf_tensor_data(*out), mf_tensor_data(edges), nedges, off, NULL,
                      PREP_GRAIN};
    int64_t nch = (a.n + j.chunk - 1) / j.chunk;
    j.nan_col = mf_malloc((size_t)(nch + 1) * sizeof(int64_t));
    if (!j.nan_col) {
        mf_free(off);
        mf_tensor_release(*out);
        *out = NULL;
        return mf_error_set(MF_ENOMEM, 0, "digitize: out of memory");
    }
    mf_parallel_for(nch, 1, digitize_range, &j);
    int64_t first = -1;
    for (int64_t c = 0; c < nch; c++)
        if (j.nan_col[c] >= 0 && (first < 0 || j.nan_col[c] < first)) first = j.nan_col[c];
    if (nan_col) *nan_col = first;
    mf_free(j.nan_col);
    mf_free(off);
    return MF_OK;
}
