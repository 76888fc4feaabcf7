/*
 * mf_neighbors.c — k nearest neighbours by brute force and Gaussian naive
 * Bayes (see mf_neighbors.h).
 */
#include "mf_neighbors.h"

#include <math.h>
#include <string.h>

#include "mf_blas.h"
#include "mf_thread.h"

/* The distances are computed in tiles of MF_NB_TILE_ROWS query rows by
 * MF_NB_TILE_COLS training rows (2 MB of q·t, near the cache), one GEMM
 * each: with few features the product is memory bound, so a tile that
 * stays in cache for the selection pass is ~2x faster than whole blocks. */
#define MF_NB_TILE_ROWS 128
#define MF_NB_TILE_COLS 2048

static mf_status check_matrix(const mf_tensor *t, int arg, const char *what)
{
    if (!t || t->ndim != 2 || t->dtype != MF_FLOAT64 || !mf_tensor_is_contiguous(t))
        return mf_error_set(MF_EINVAL, arg, "%s: contiguous 2-D float64 tensor expected", what);
    return MF_OK;
}

static mf_status check_vector(const mf_tensor *t, int arg, mf_dtype dt, int64_t n, const char *what)
{
    if (!t || t->ndim != 1 || t->dtype != dt || !mf_tensor_is_contiguous(t))
        return mf_error_set(MF_EINVAL, arg, "%s: contiguous 1-D %s tensor expected", what,
                            dt == MF_INT64 ? "int64" : "float64");
    if (n >= 0 && t->shape[0] != n)
        return mf_error_set(MF_EINVAL, arg, "%s: %lld entries expected, got %lld", what, (long long)n,
                            (long long)t->shape[0]);
    return MF_OK;
}

/* (d, i) < (d2, i2) lexicographically: the order of neighbours. */
static int before(double d, int64_t i, double d2, int64_t i2)
{
    return d < d2 || (d == d2 && i < i2);
}

/* Max-heap of k (distance, index) pairs on `before`. */
static void heap_sift_down(double *hd, int64_t *hi, int64_t k, int64_t p)
{
    for (;;) {
        int64_t l = 2 * p + 1, r = l + 1, m = p;
        if (l < k && before(hd[m], hi[m], hd[l], hi[l])) m = l;
        if (r < k && before(hd[m], hi[m], hd[r], hi[r])) m = r;
        if (m == p) return;
        double td = hd[p];
        int64_t ti = hi[p];
        hd[p] = hd[m];
        hi[p] = hi[m];
        hd[m] = td;
        hi[m] = ti;
        p = m;
    }
}

/* An empty heap of k: +inf at sentinel indices n .. n+k-1 (after every
 * training row, so any real row goes before them), the largest at the root. */
static void heap_init(double *hd, int64_t *hi, int64_t k, int64_t n)
{
    for (int64_t a = 0; a < k; a++) {
        hd[a] = INFINITY;
        hi[a] = n + k - 1 - a;
    }
}

/* Insertion sort of k pairs ascending by `before` (k is small). */
static void sort_pairs(double *d, int64_t *ix, int64_t k)
{
    for (int64_t a = 1; a < k; a++) {
        double vd = d[a];
        int64_t vi = ix[a], b = a - 1;
        while (b >= 0 && before(vd, vi, d[b], ix[b])) {
            d[b + 1] = d[b];
            ix[b + 1] = ix[b];
            b--;
        }
        d[b + 1] = vd;
        ix[b + 1] = vi;
    }
}

typedef struct knn_ctx {
    const double *train, *query, *tn, *g; /* g: tile of q·t, rows from row0, columns from col0 */
    int64_t n, d, k, row0, col0, cols;
    double *dist;
    int64_t *idx;
} knn_ctx;

/* One tile: each row's heap (in dist/idx, started with +inf at sentinel
 * indices >= n) takes the tile's columns in increasing index order; a
 * candidate replaces the top only when strictly nearer, so equal keys keep
 * the lower index. */
static void knn_tile_rows(int64_t lo, int64_t hi, void *vctx)
{
    const knn_ctx *c = vctx;
    int64_t d = c->d, k = c->k;
    for (int64_t r = lo; r < hi; r++) {
        int64_t q = c->row0 + r;
        const double *x = c->query + q * d, *g = c->g + r * c->cols, *tn = c->tn + c->col0;
        double qn = 0;
        for (int64_t j = 0; j < d; j++) qn += x[j] * x[j];
        double *hd = c->dist + q * k;
        int64_t *hi_ = c->idx + q * k;
        for (int64_t i = 0; i < c->cols; i++) {
            double v = qn + tn[i] - 2 * g[i];
            if (v < hd[0]) {
                hd[0] = v;
                hi_[0] = c->col0 + i;
                heap_sift_down(hd, hi_, k, 0);
            }
        }
    }
}

/* After the last tile: exact distances of the chosen rows, sorted. */
static void knn_finish_rows(int64_t lo, int64_t hi, void *vctx)
{
    const knn_ctx *c = vctx;
    int64_t d = c->d, k = c->k;
    for (int64_t q = lo; q < hi; q++) {
        const double *x = c->query + q * d;
        double *hd = c->dist + q * k;
        int64_t *hi_ = c->idx + q * k;
        for (int64_t a = 0; a < k; a++) {
            const double *t = c->train + hi_[a] * d;
            double s = 0;
            for (int64_t j = 0; j < d; j++) {
                double e = x[j] - t[j];
                s += e * e;
            }
            hd[a] = sqrt(s);
        }
        sort_pairs(hd, hi_, k);
    }
}

static void row_norms(int64_t lo, int64_t hi, void *vctx)
{
    const knn_ctx *c = vctx;
    double *tn = (double *)c->tn;
    for (int64_t i = lo; i < hi; i++) {
        const double *t = c->train + i * c->d;
        double s = 0;
        for (int64_t j = 0; j < c->d; j++) s += t[j] * t[j];
        tn[i] = s;
    }
}

mf_status mf_neighbors_kneighbors(const mf_tensor *train, const mf_tensor *query, int64_t k,
                                  mf_tensor **dist, mf_tensor **idx)
{
    mf_status st;
    *dist = *idx = NULL;
    if ((st = check_matrix(train, 1, "train")) || (st = check_matrix(query, 2, "query"))) return st;
    int64_t n = train->shape[0], d = train->shape[1], m = query->shape[0];
    if (query->shape[1] != d)
        return mf_error_set(MF_EINVAL, 2, "query has %lld columns, train has %lld",
                            (long long)query->shape[1], (long long)d);
    if (k < 1 || k > n)
        return mf_error_set(MF_EINVAL, 3, "k must be in [1, %lld], got %lld", (long long)n, (long long)k);
    if (!mf_blas_fits(n, d, m)) return mf_error_set(MF_ERANGE, 1, "too many rows or columns for BLAS");
    int64_t sh[2] = {m, k};
    double *tn = mf_malloc((size_t)n * sizeof(double) + 1);
    double *g = mf_malloc((size_t)MF_NB_TILE_ROWS * MF_NB_TILE_COLS * sizeof(double));
    if (!tn || !g) {
        st = mf_error_set(MF_ENOMEM, 0, "out of memory");
        goto fail;
    }
    if ((st = mf_tensor_new(dist, MF_FLOAT64, 2, sh)) || (st = mf_tensor_new(idx, MF_INT64, 2, sh)))
        goto fail;
    knn_ctx c = {mf_tensor_data(train), mf_tensor_data(query), tn, g, n, d, k, 0, 0, 0,
                 mf_tensor_data(*dist), mf_tensor_data(*idx)};
    mf_parallel_for(n, 4096, row_norms, &c);
    for (int64_t q = 0; q < m; q++) heap_init(c.dist + q * k, c.idx + q * k, k, n);
    int64_t ld = d > 0 ? d : 1;
    for (int64_t r0 = 0; r0 < m; r0 += MF_NB_TILE_ROWS) {
        int64_t rows = m - r0 < MF_NB_TILE_ROWS ? m - r0 : MF_NB_TILE_ROWS;
        for (int64_t c0 = 0; c0 < n; c0 += MF_NB_TILE_COLS) {
            int64_t cols = n - c0 < MF_NB_TILE_COLS ? n - c0 : MF_NB_TILE_COLS;
            /* g = Q[r0:r0+rows] · T[c0:c0+cols]ᵀ */
            mf_blas_gemm(MF_FLOAT64, 0, 1, rows, cols, d, 1.0, c.query + r0 * ld, ld, c.train + c0 * ld,
                         ld, 0.0, g, cols);
            c.row0 = r0;
            c.col0 = c0;
            c.cols = cols;
            mf_parallel_for(rows, 8, knn_tile_rows, &c);
        }
    }
    mf_parallel_for(m, 64, knn_finish_rows, &c);
    mf_free(tn);
    mf_free(g);
    return MF_OK;
fail:
    mf_free(tn);
    mf_free(g);
    mf_tensor_release(*dist);
    mf_tensor_release(*idx);
    *dist = *idx = NULL;
    return st;
}

typedef struct knn_p_ctx {
    const double *train, *query;
    int64_t n, d, k;
    double p;
    double *dist;
    int64_t *idx;
} knn_p_ctx;

/* Σ |a_j − b_j|^p (p finite), or max |a_j − b_j|: the order of the
 * Minkowski distances without the root. */
static double minkowski_pow(const double *a, const double *b, int64_t d, double p)
{
    double s = 0;
    if (isinf(p)) {
        for (int64_t j = 0; j < d; j++) s = fmax(s, fabs(a[j] - b[j]));
    } else if (p == 1) {
        for (int64_t j = 0; j < d; j++) s += fabs(a[j] - b[j]);
    } else {
        for (int64_t j = 0; j < d; j++) s += pow(fabs(a[j] - b[j]), p);
    }
    return s;
}

static void knn_p_rows(int64_t lo, int64_t hi, void *vctx)
{
    const knn_p_ctx *c = vctx;
    int64_t d = c->d, k = c->k;
    for (int64_t q = lo; q < hi; q++) {
        const double *x = c->query + q * d;
        double *hd = c->dist + q * k;
        int64_t *hi_ = c->idx + q * k;
        heap_init(hd, hi_, k, c->n);
        for (int64_t i = 0; i < c->n; i++) {
            double v = minkowski_pow(x, c->train + i * d, d, c->p);
            if (before(v, i, hd[0], hi_[0])) {
                hd[0] = v;
                hi_[0] = i;
                heap_sift_down(hd, hi_, k, 0);
            }
        }
        sort_pairs(hd, hi_, k);
        if (c->p != 1 && !isinf(c->p))
            for (int64_t a = 0; a < k; a++) hd[a] = pow(hd[a], 1.0 / c->p);
    }
}

mf_status mf_neighbors_kneighbors_p(const mf_tensor *train, const mf_tensor *query, int64_t k, double p,
                                    mf_tensor **dist, mf_tensor **idx)
{
    if (p == 2) return mf_neighbors_kneighbors(train, query, k, dist, idx);
    mf_status st;
    *dist = *idx = NULL;
    if ((st = check_matrix(train, 1, "train")) || (st = check_matrix(query, 2, "query"))) return st;
    int64_t n = train->shape[0], d = train->shape[1], m = query->shape[0];
    if (query->shape[1] != d)
        return mf_error_set(MF_EINVAL, 2, "query has %lld columns, train has %lld",
                            (long long)query->shape[1], (long long)d);
    if (k < 1 || k > n)
        return mf_error_set(MF_EINVAL, 3, "k must be in [1, %lld], got %lld", (long long)n, (long long)k);
    if (!(p >= 1)) return mf_error_set(MF_EINVAL, 4, "p must be >= 1 (or infinity), got %g", p);
    int64_t sh[2] = {m, k};
    if ((st = mf_tensor_new(dist, MF_FLOAT64, 2, sh)) || (st = mf_tensor_new(idx, MF_INT64, 2, sh))) {
        mf_tensor_release(*dist);
        *dist = NULL;
        return st;
    }
    knn_p_ctx c = {mf_tensor_data(train), mf_tensor_data(query), n, d, k, p, mf_tensor_data(*dist),
                   mf_tensor_data(*idx)};
    mf_parallel_for(m, 1 + 65536 / (n * (d + 1) + 1), knn_p_rows, &c);
    return MF_OK;
}

/* Weight of neighbour a of a row: 1, or 1/distance, or (zero: the row has a
 * neighbour at distance 0) 1 for those at 0 and 0 for the others. */
static double weight(const double *dr, int64_t a, int distance, int zero)
{
    if (!distance) return 1.0;
    if (zero) return dr[a] == 0 ? 1.0 : 0.0;
    return 1.0 / dr[a];
}

static int has_zero(const double *dr, int64_t k, int distance)
{
    if (!distance) return 0;
    for (int64_t a = 0; a < k; a++)
        if (dr[a] == 0) return 1;
    return 0;
}

static mf_status check_neighbours(const mf_tensor *idx, const mf_tensor *dist, int64_t n)
{
    if (!idx || idx->ndim != 2 || idx->dtype != MF_INT64 || !mf_tensor_is_contiguous(idx))
        return mf_error_set(MF_EINVAL, 1, "idx: contiguous 2-D int64 tensor expected");
    mf_status st = check_matrix(dist, 2, "dist");
    if (st) return st;
    if (dist->shape[0] != idx->shape[0] || dist->shape[1] != idx->shape[1] || idx->shape[1] < 1)
        return mf_error_set(MF_EINVAL, 2, "dist and idx must have the same nonempty shape");
    const int64_t *ix = mf_tensor_data(idx);
    int64_t total = idx->shape[0] * idx->shape[1];
    for (int64_t a = 0; a < total; a++)
        if (ix[a] < 0 || ix[a] >= n)
            return mf_error_set(MF_ERANGE, 1, "neighbour index %lld out of range [0, %lld)",
                                (long long)ix[a], (long long)n);
    return MF_OK;
}

typedef struct vote_ctx {
    const int64_t *idx, *codes;
    const double *dist, *y;
    int64_t k, K;
    int distance;
    double *out;
} vote_ctx;

static void vote_rows(int64_t lo, int64_t hi, void *vctx)
{
    const vote_ctx *c = vctx;
    for (int64_t r = lo; r < hi; r++) {
        const int64_t *ix = c->idx + r * c->k;
        const double *dr = c->dist + r * c->k;
        double *pr = c->out + r * c->K, total = 0;
        int zero = has_zero(dr, c->k, c->distance);
        for (int64_t j = 0; j < c->K; j++) pr[j] = 0;
        for (int64_t a = 0; a < c->k; a++) {
            double wa = weight(dr, a, c->distance, zero);
            pr[c->codes[ix[a]]] += wa;
            total += wa;
        }
        for (int64_t j = 0; j < c->K; j++) pr[j] /= total;
    }
}

/* Row-wise argmax of P [m x K] (first on ties) into a new int64 [m]. */
static mf_status argmax_rows(const mf_tensor *P, mf_tensor **out)
{
    int64_t m = P->shape[0], K = P->shape[1];
    mf_status st = mf_tensor_new(out, MF_INT64, 1, &m);
    if (st) return st;
    const double *p = mf_tensor_data(P);
    int64_t *o = mf_tensor_data(*out);
    for (int64_t r = 0; r < m; r++) {
        int64_t best = 0;
        for (int64_t j = 1; j < K; j++)
            if (p[r * K + j] > p[r * K + best]) best = j;
        o[r] = best;
    }
    return MF_OK;
}

mf_status mf_neighbors_vote(const mf_tensor *idx, const mf_tensor *dist, const mf_tensor *codes,
                            int64_t K, int distance, mf_neighbors_out what, mf_tensor **out)
{
    mf_status st;
    *out = NULL;
    if ((st = check_vector(codes, 3, MF_INT64, -1, "codes"))) return st;
    if ((st = check_neighbours(idx, dist, codes->shape[0]))) return st;
    if (K < 1) return mf_error_set(MF_EINVAL, 4, "K must be >= 1, got %lld", (long long)K);
    if (what != MF_NB_PROBA && what != MF_NB_INDEX)
        return mf_error_set(MF_EINVAL, 6, "what must be MF_NB_PROBA or MF_NB_INDEX");
    const int64_t *cd = mf_tensor_data(codes);
    for (int64_t i = 0; i < codes->shape[0]; i++)
        if (cd[i] < 0 || cd[i] >= K)
            return mf_error_set(MF_ERANGE, 3, "class code %lld out of range [0, %lld)",
                                (long long)cd[i], (long long)K);
    int64_t sh[2] = {idx->shape[0], K};
    mf_tensor *P = NULL;
    if ((st = mf_tensor_new(&P, MF_FLOAT64, 2, sh))) return st;
    vote_ctx c = {mf_tensor_data(idx), cd, mf_tensor_data(dist), NULL, idx->shape[1], K, distance,
                  mf_tensor_data(P)};
    mf_parallel_for(sh[0], 256, vote_rows, &c);
    if (what == MF_NB_PROBA) {
        *out = P;
        return MF_OK;
    }
    st = argmax_rows(P, out);
    mf_tensor_release(P);
    return st;
}

static void regress_rows(int64_t lo, int64_t hi, void *vctx)
{
    const vote_ctx *c = vctx;
    for (int64_t r = lo; r < hi; r++) {
        const int64_t *ix = c->idx + r * c->k;
        const double *dr = c->dist + r * c->k;
        int zero = has_zero(dr, c->k, c->distance);
        double s = 0, total = 0;
        for (int64_t a = 0; a < c->k; a++) {
            double wa = weight(dr, a, c->distance, zero);
            s += wa * c->y[ix[a]];
            total += wa;
        }
        c->out[r] = s / total;
    }
}

mf_status mf_neighbors_regress(const mf_tensor *idx, const mf_tensor *dist, const mf_tensor *y,
                               int distance, mf_tensor **out)
{
    mf_status st;
    *out = NULL;
    if ((st = check_vector(y, 3, MF_FLOAT64, -1, "y"))) return st;
    if ((st = check_neighbours(idx, dist, y->shape[0]))) return st;
    int64_t m = idx->shape[0];
    if ((st = mf_tensor_new(out, MF_FLOAT64, 1, &m))) return st;
    vote_ctx c = {mf_tensor_data(idx), NULL, mf_tensor_data(dist), mf_tensor_data(y), idx->shape[1], 0,
                  distance, mf_tensor_data(*out)};
    mf_parallel_for(m, 256, regress_rows, &c);
    return MF_OK;
}

/* ---------------------------------------------------------------- naive Bayes */

mf_status mf_neighbors_nb_fit(const mf_tensor *X, const mf_tensor *codes, int64_t K,
                              double var_smoothing, mf_tensor **theta, mf_tensor **var,
                              mf_tensor **count)
{
    mf_status st;
    *theta = *var = *count = NULL;
    if ((st = check_matrix(X, 1, "X"))) return st;
    int64_t n = X->shape[0], d = X->shape[1];
    if ((st = check_vector(codes, 2, MF_INT64, n, "codes"))) return st;
    if (K < 1) return mf_error_set(MF_EINVAL, 3, "K must be >= 1, got %lld", (long long)K);
    if (!(var_smoothing >= 0) || isinf(var_smoothing))
        return mf_error_set(MF_EINVAL, 4, "var_smoothing must be a finite number >= 0");
    const int64_t *cd = mf_tensor_data(codes);
    for (int64_t i = 0; i < n; i++)
        if (cd[i] < 0 || cd[i] >= K)
            return mf_error_set(MF_ERANGE, 2, "class code %lld out of range [0, %lld)",
                                (long long)cd[i], (long long)K);
    int64_t sh[2] = {K, d};
    double *colmean = mf_calloc((size_t)d + 1, sizeof(double));
    if (!colmean) return mf_error_set(MF_ENOMEM, 0, "out of memory");
    if ((st = mf_tensor_zeros(theta, MF_FLOAT64, 2, sh)) || (st = mf_tensor_zeros(var, MF_FLOAT64, 2, sh)) ||
        (st = mf_tensor_zeros(count, MF_FLOAT64, 1, &K))) {
        mf_free(colmean);
        mf_tensor_release(*theta);
        mf_tensor_release(*var);
        mf_tensor_release(*count);
        *theta = *var = *count = NULL;
        return st;
    }
    const double *x = mf_tensor_data(X);
    double *th = mf_tensor_data(*theta), *va = mf_tensor_data(*var), *cn = mf_tensor_data(*count);
    /* two passes (means, then squared deviations): accurate for large means */
    for (int64_t i = 0; i < n; i++) {
        cn[cd[i]] += 1;
        for (int64_t j = 0; j < d; j++) {
            th[cd[i] * d + j] += x[i * d + j];
            colmean[j] += x[i * d + j];
        }
    }
    for (int64_t c = 0; c < K; c++) {
        if (cn[c] == 0) {
            st = mf_error_set(MF_EINVAL, 2, "class %lld has no rows", (long long)c);
            mf_free(colmean);
            mf_tensor_release(*theta);
            mf_tensor_release(*var);
            mf_tensor_release(*count);
            *theta = *var = *count = NULL;
            return st;
        }
        for (int64_t j = 0; j < d; j++) th[c * d + j] /= cn[c];
    }
    for (int64_t j = 0; j < d; j++) colmean[j] /= (double)n;
    double *colvar = mf_calloc((size_t)d + 1, sizeof(double));
    if (!colvar) {
        mf_free(colmean);
        mf_tensor_release(*theta);
        mf_tensor_release(*var);
        mf_tensor_release(*count);
        *theta = *var = *count = NULL;
        return mf_error_set(MF_ENOMEM, 0, "out of memory");
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) {
            double e = x[i * d + j] - th[cd[i] * d + j], f = x[i * d + j] - colmean[j];
            va[cd[i] * d + j] += e * e;
            colvar[j] += f * f;
        }
    double vmax = 0;
    for (int64_t j = 0; j < d; j++)
        if (colvar[j] / (double)n > vmax) vmax = colvar[j] / (double)n;
    double eps = var_smoothing * vmax;
    for (int64_t c = 0; c < K; c++)
        for (int64_t j = 0; j < d; j++) va[c * d + j] = va[c * d + j] / cn[c] + eps;
    mf_free(colmean);
    mf_free(colvar);
    return MF_OK;
}

typedef struct nbp_ctx {
    const double *x, *th, *va, *lp;
    double *logc; /* K: Σ_j log(2π var_kj) */
    int64_t d, K;
    double *out;
} nbp_ctx;

static void nb_rows(int64_t lo, int64_t hi, void *vctx)
{
    const nbp_ctx *c = vctx;
    int64_t d = c->d, K = c->K;
    for (int64_t r = lo; r < hi; r++) {
        const double *x = c->x + r * d;
        double *o = c->out + r * K, mx = -INFINITY;
        for (int64_t k = 0; k < K; k++) {
            double s = 0;
            for (int64_t j = 0; j < d; j++) {
                double e = x[j] - c->th[k * d + j];
                s += e * e / c->va[k * d + j];
            }
            o[k] = c->lp[k] - 0.5 * c->logc[k] - 0.5 * s;
            if (o[k] > mx) mx = o[k];
        }
        double z = 0;
        for (int64_t k = 0; k < K; k++) z += exp(o[k] - mx);
        double lse = mx + log(z);
        for (int64_t k = 0; k < K; k++) o[k] -= lse;
    }
}

static void exp_all(int64_t lo, int64_t hi, void *vctx)
{
    double *p = vctx;
    for (int64_t i = lo; i < hi; i++) p[i] = exp(p[i]);
}

mf_status mf_neighbors_nb_predict(const mf_tensor *X, const mf_tensor *theta, const mf_tensor *var,
                                  const mf_tensor *log_prior, mf_neighbors_out what, mf_tensor **out)
{
    mf_status st;
    *out = NULL;
    if ((st = check_matrix(X, 1, "X")) || (st = check_matrix(theta, 2, "theta")) ||
        (st = check_matrix(var, 3, "var")))
        return st;
    int64_t m = X->shape[0], d = X->shape[1], K = theta->shape[0];
    if (theta->shape[1] != d || var->shape[0] != K || var->shape[1] != d)
        return mf_error_set(MF_EINVAL, 2, "X [%lld x %lld], theta and var [%lld x %lld]: shapes differ",
                            (long long)m, (long long)d, (long long)K, (long long)theta->shape[1]);
    if ((st = check_vector(log_prior, 4, MF_FLOAT64, K, "log_prior"))) return st;
    if (what != MF_NB_PROBA && what != MF_NB_LOG_PROBA && what != MF_NB_INDEX)
        return mf_error_set(MF_EINVAL, 5, "unknown output kind");
    double *logc = mf_malloc((size_t)K * sizeof(double) + 1);
    if (!logc) return mf_error_set(MF_ENOMEM, 0, "out of memory");
    const double *va = mf_tensor_data(var);
    for (int64_t k = 0; k < K; k++) {
        double s = 0;
        for (int64_t j = 0; j < d; j++) s += log(6.283185307179586476925 * va[k * d + j]);
        logc[k] = s;
    }
    int64_t sh[2] = {m, K};
    mf_tensor *L = NULL;
    if ((st = mf_tensor_new(&L, MF_FLOAT64, 2, sh))) {
        mf_free(logc);
        return st;
    }
    nbp_ctx c = {mf_tensor_data(X), mf_tensor_data(theta), va, mf_tensor_data(log_prior), logc, d, K,
                 mf_tensor_data(L)};
    mf_parallel_for(m, 64, nb_rows, &c);
    mf_free(logc);
    if (what == MF_NB_LOG_PROBA) {
        *out = L;
        return MF_OK;
    }
    if (what == MF_NB_PROBA) {
        mf_parallel_for(m * K, 4096, exp_all, c.out);
        *out = L;
        return MF_OK;
    }
    st = argmax_rows(L, out);
    mf_tensor_release(L);
    return st;
}
