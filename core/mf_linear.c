/* mf_linear.c — see mf_linear.h.
 *
 * The Gram pass reads X once in blocks of rows: each block is copied shifted
 * by the first row (so that the sums of squares do not cancel when the means
 * are large compared with the spread), accumulated into X^T X with dsyrk and
 * into X^T Y with dgemm, and the shift is corrected exactly at the end.
 * dsyrk, dpocon, dpotrs, dormqr and dtrtrs are called directly (mf_blas.h has
 * no wrapper for them); the rest goes through mf_blas.h. */
#include "mf_linear.h"
#include "mf_sgd_impl.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "mf_blas.h"
#include "mf_thread.h"

#define BLOCK_ROWS 8192

static mf_status check_xy(const mf_tensor *X, const mf_tensor *Y, int64_t *n, int64_t *p,
                          int64_t *k)
{
    if (!X || X->ndim != 2 || X->dtype != MF_FLOAT64 || !mf_tensor_is_contiguous(X))
        return mf_error_set(MF_EINVAL, 1, "X must be a contiguous 2-D float64 tensor");
    *n = X->shape[0];
    *p = X->shape[1];
    if (!Y) {
        *k = 0;
        return MF_OK;
    }
    if ((Y->ndim != 1 && Y->ndim != 2) || Y->dtype != MF_FLOAT64 || !mf_tensor_is_contiguous(Y))
        return mf_error_set(MF_EINVAL, 2, "y must be a contiguous 1-D or 2-D float64 tensor");
    if (Y->shape[0] != *n)
        return mf_error_set(MF_EINVAL, 2, "y has %lld rows, X has %lld", (long long)Y->shape[0],
                            (long long)*n);
    *k = Y->ndim == 2 ? Y->shape[1] : 1;
    if (*n < 1) return mf_error_set(MF_EINVAL, 1, "no rows to fit on");
    if (*p < 1 || *k < 1) return mf_error_set(MF_EINVAL, 1, "no features or no targets");
    if (!mf_blas_fits(*n, *p, *k) || !mf_blas_fits(*n * *p, *n * *k, 1))
        return mf_error_set(MF_ERANGE, 1, "X too large for LAPACK's 32-bit sizes");
    return MF_OK;
}

#define NF_CHUNK 8192

typedef struct nf_ctx {
    const double *x;
    int64_t n;
    unsigned char *bad;
} nf_ctx;

static void nf_chunks(int64_t lo, int64_t hi, void *arg)
{
    const nf_ctx *c = arg;
    for (int64_t ch = lo; ch < hi; ch++) {
        int64_t i0 = ch * NF_CHUNK, i1 = i0 + NF_CHUNK < c->n ? i0 + NF_CHUNK : c->n;
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int64_t i = i0;
        for (; i + 4 <= i1; i += 4) {
            s0 += c->x[i] * 0.0;
            s1 += c->x[i + 1] * 0.0;
            s2 += c->x[i + 2] * 0.0;
            s3 += c->x[i + 3] * 0.0;
        }
        for (; i < i1; i++) s0 += c->x[i] * 0.0;
        c->bad[ch] = (s0 + s1 + s2 + s3) != 0;
    }
}

mf_status mf_linear_find_nonfinite(const mf_tensor *X, int64_t *row, int64_t *col)
{
    *row = -1;
    *col = -1;
    if (!X || X->ndim != 2 || X->dtype != MF_FLOAT64 || !mf_tensor_is_contiguous(X))
        return mf_error_set(MF_EINVAL, 1, "X must be a contiguous 2-D float64 tensor");
    const double *x = mf_tensor_data(X);
    int64_t n = X->shape[0] * X->shape[1];
    int64_t nch = (n + NF_CHUNK - 1) / NF_CHUNK;
    if (nch == 0) return MF_OK;
    unsigned char *bad = mf_malloc((size_t)nch);
    if (!bad) return mf_error_set(MF_ENOMEM, 0, "not enough memory");
    nf_ctx c = {x, n, bad};
    mf_parallel_for(nch, 16, nf_chunks, &c);
    for (int64_t ch = 0; ch < nch; ch++) {
        if (!bad[ch]) continue;
        int64_t i1 = (ch + 1) * NF_CHUNK < n ? (ch + 1) * NF_CHUNK : n;
        for (int64_t i = ch * NF_CHUNK; i < i1; i++) {
            if (!isfinite(x[i])) {
                *row = i / X->shape[1];
                *col = i % X->shape[1];
                break;
            }
        }
        break;
    }
    mf_free(bad);
    return MF_OK;
}

/* The centered (or raw) Gram quantities. */
typedef struct gram {
    int64_t n, p, k;
    double *G;   /* p x p, full symmetric: Xc^T Xc */
    double *B;   /* p x k (row-major): Xc^T Yc */
    double *yy;  /* k: ||yc||^2 */
    double *mx;  /* p: column means of X (0 without intercept) */
    double *my;  /* k */
} gram;

static void gram_free(gram *g)
{
    mf_free(g->G);
    mf_free(g->B);
    mf_free(g->yy);
    mf_free(g->mx);
    mf_free(g->my);
    memset(g, 0, sizeof *g);
}

/* The shifted copy of one block of rows, in sub-blocks of SUB_ROWS rows run
 * in parallel; each sub-block writes its partial sums into its own slot
 * (sum of the shifted x, x * 0 to detect NaN/inf, sum of the shifted y, sum
 * of squares of y), reduced afterwards in a fixed order, so that the result
 * does not depend on the thread count. */
#define SUB_ROWS 512

typedef struct copy_ctx {
    const double *x, *y, *sx, *sy;
    double *xb, *yb, *part;
    int64_t m, p, k;
} copy_ctx;

static void copy_rows(int64_t lo, int64_t hi, void *arg)
{
    const copy_ctx *c = arg;
    int64_t p = c->p, k = c->k;
    for (int64_t s = lo; s < hi; s++) {
        double *sumx = c->part + s * (2 * p + 2 * k), *zx = sumx + p, *sumy = zx + p,
               *yy = sumy + k;
        memset(sumx, 0, (size_t)(2 * p + 2 * k) * sizeof(double));
        int64_t r1 = (s + 1) * SUB_ROWS < c->m ? (s + 1) * SUB_ROWS : c->m;
        for (int64_t i = s * SUB_ROWS; i < r1; i++) {
            const double *a = c->x + i * p;
            double *b = c->xb + i * p;
            for (int64_t j = 0; j < p; j++) {
                double v = a[j] - c->sx[j];
                b[j] = v;
                sumx[j] += v;
                zx[j] += v * 0.0;
            }
            const double *e = c->y + i * k;
            double *d = c->yb + i * k;
            for (int64_t j = 0; j < k; j++) {
                double v = e[j] - c->sy[j];
                d[j] = v;
                sumy[j] += v;
                yy[j] += v * v;
            }
        }
    }
}

static mf_status gram_pass(const mf_tensor *X, const mf_tensor *Y, int64_t n, int64_t p, int64_t k,
                           int center, gram *g)
{
    memset(g, 0, sizeof *g);
    g->n = n;
    g->p = p;
    g->k = k;
    int64_t nb = n < BLOCK_ROWS ? n : BLOCK_ROWS;
    int64_t nsub = (nb + SUB_ROWS - 1) / SUB_ROWS;
    g->G = mf_calloc((size_t)(p * p), sizeof(double));
    g->B = mf_calloc((size_t)(p * k), sizeof(double));
    g->yy = mf_calloc((size_t)k, sizeof(double));
    g->mx = mf_calloc((size_t)p, sizeof(double));
    g->my = mf_calloc((size_t)k, sizeof(double));
    double *xs = mf_calloc((size_t)(3 * p + 2 * k), sizeof(double)); /* shift, sums */
    double *xb = mf_malloc((size_t)(nb * p) * sizeof(double));
    double *yb = mf_malloc((size_t)(nb * k) * sizeof(double));
    double *part = mf_malloc((size_t)(nsub * (2 * p + 2 * k)) * sizeof(double));
    if (!g->G || !g->B || !g->yy || !g->mx || !g->my || !xs || !xb || !yb || !part) {
        mf_free(xs);
        mf_free(xb);
        mf_free(yb);
        mf_free(part);
        gram_free(g);
        return mf_error_set(MF_ENOMEM, 0, "not enough memory for the Gram matrix");
    }
    const double *x = mf_tensor_data(X), *y = mf_tensor_data(Y);
    double *sx = xs, *sumx = xs + p, *sy = xs + 2 * p, *sumy = xs + 2 * p + k, *zx = sumy + k;
    if (center) {
        memcpy(sx, x, (size_t)p * sizeof(double));
        memcpy(sy, y, (size_t)k * sizeof(double));
    }
    for (int64_t r0 = 0; r0 < n; r0 += nb) {
        int64_t m = r0 + nb < n ? nb : n - r0;
        copy_ctx c = {x + r0 * p, y + r0 * k, sx, sy, xb, yb, part, m, p, k};
        int64_t ns = (m + SUB_ROWS - 1) / SUB_ROWS;
        mf_parallel_for(ns, 1, copy_rows, &c);
        for (int64_t s = 0; s < ns; s++) {
            const double *q = part + s * (2 * p + 2 * k);
            for (int64_t j = 0; j < p; j++) {
                sumx[j] += q[j];
                zx[j] += q[p + j];
            }
            for (int64_t j = 0; j < k; j++) {
                sumy[j] += q[2 * p + j];
                g->yy[j] += q[2 * p + k + j];
            }
        }
        mf_blas_syrk_tn(MF_FLOAT64, p, m, 1.0, xb, p, 1.0, g->G, p);
        mf_blas_gemm(MF_FLOAT64, 1, 0, p, k, m, 1.0, xb, p, yb, k, 1.0, g->B, k);
    }
    mf_free(xb);
    mf_free(yb);
    mf_free(part);
    for (int64_t j = 0; j < p; j++) {
        if (zx[j] != 0) {
            mf_free(xs);
            gram_free(g);
            return mf_error_set(MF_EINVAL, 1, "X contains NaN or inf (column %lld)",
                                (long long)j);
        }
    }
    for (int64_t j = 0; j < k; j++) {
        if (!isfinite(sumy[j]) || !isfinite(g->yy[j])) {
            mf_free(xs);
            gram_free(g);
            return mf_error_set(MF_EINVAL, 2, "y contains NaN or inf (or overflows)");
        }
    }
    double dn = (double)n;
    for (int64_t j = 0; j < p; j++) {
        for (int64_t l = 0; l < j; l++) g->G[j * p + l] = g->G[l * p + j];
    }
    if (center) {
        for (int64_t j = 0; j < p; j++) sumx[j] /= dn;
        for (int64_t j = 0; j < k; j++) sumy[j] /= dn;
        for (int64_t j = 0; j < p; j++) {
            for (int64_t l = 0; l < p; l++) g->G[j * p + l] -= dn * sumx[j] * sumx[l];
            for (int64_t l = 0; l < k; l++) g->B[j * k + l] -= dn * sumx[j] * sumy[l];
            g->mx[j] = sx[j] + sumx[j];
        }
        for (int64_t l = 0; l < k; l++) {
            g->yy[l] -= dn * sumy[l] * sumy[l];
            g->my[l] = sy[l] + sumy[l];
        }
    }
    mf_free(xs);
    return MF_OK;
}

/* Column-major copies of the centered X (n x p) and Y (ld rows x k). */
static mf_status centered_copies(const mf_tensor *X, const mf_tensor *Y, const gram *g,
                                 int64_t ldb, double **A, double **Bm)
{
    int64_t n = g->n, p = g->p, k = g->k;
    *A = mf_malloc((size_t)(n * p) * sizeof(double));
    *Bm = mf_calloc((size_t)(ldb * k), sizeof(double));
    if (!*A || !*Bm) {
        mf_free(*A);
        mf_free(*Bm);
        *A = *Bm = NULL;
        return mf_error_set(MF_ENOMEM, 0, "not enough memory for a copy of X");
    }
    const double *x = mf_tensor_data(X), *y = mf_tensor_data(Y);
    for (int64_t i0 = 0; i0 < n; i0 += 64) {
        int64_t i1 = i0 + 64 < n ? i0 + 64 : n;
        for (int64_t j = 0; j < p; j++)
            for (int64_t i = i0; i < i1; i++) (*A)[j * n + i] = x[i * p + j] - g->mx[j];
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < k; j++) (*Bm)[j * ldb + i] = y[i * k + j] - g->my[j];
    return MF_OK;
}

/* Normal equations on the Gram matrix scaled to unit diagonal; W (p x k
 * row-major) receives the solution. Returns 1 when solved, 0 when singular
 * or (check) worse conditioned than the threshold. */
static int solve_cholesky(const gram *g, double alpha, int check, double *W, double *work,
                          double *rcond, mf_status *st)
{
    int64_t p = g->p, k = g->k;
    double *S = work, *d = work + p * p, *Bt = work + p * p + p; /* Bt: p x k col-major */
    *st = MF_OK;
    *rcond = 0;
    for (int64_t j = 0; j < p; j++) {
        double v = g->G[j * p + j] + alpha;
        if (!(v > 0)) return 0;
        d[j] = 1 / sqrt(v);
    }
    double anorm = 0;
    for (int64_t j = 0; j < p; j++) {
        double col = 0;
        for (int64_t l = 0; l < p; l++) {
            double v = (g->G[j * p + l] + (j == l ? alpha : 0)) * d[j] * d[l];
            S[j * p + l] = v;
            col += fabs(v);
        }
        if (col > anorm) anorm = col;
    }
    int info = 0;
    *st = mf_blas_potrf(MF_FLOAT64, 'L', p, S, p, &info);
    if (*st) return 0;
    if (info != 0) return 0;
    if (mf_blas_pocon(MF_FLOAT64, 'L', p, S, p, anorm, rcond, &info) != MF_OK) {
        *st = mf_error_set(MF_ENOMEM, 0, "not enough memory for a condition estimate");
        return 0;
    }
    if (info != 0) *rcond = 0;
    /* auto: leave when the normal equations would lose accuracy; an explicit
     * "cholesky" only when XᵀX is numerically singular */
    if (!(*rcond >= (check ? 1e-7 : DBL_EPSILON * (double)p))) return 0;
    for (int64_t j = 0; j < p; j++)
        for (int64_t l = 0; l < k; l++) Bt[l * p + j] = g->B[j * k + l] * d[j];
    *st = mf_blas_potrs(MF_FLOAT64, 'L', p, k, S, p, Bt, p, &info);
    if (*st || info != 0) return 0;
    for (int64_t j = 0; j < p; j++)
        for (int64_t l = 0; l < k; l++) W[j * k + l] = Bt[l * p + j] * d[j];
    return 1;
}

/* QR of the centered X; returns 1 when solved, 0 when rank deficient. */
static int solve_qr(const mf_tensor *X, const mf_tensor *Y, const gram *g, double *W,
                    mf_status *st)
{
    int64_t n = g->n, p = g->p, k = g->k;
    *st = MF_OK;
    if (n < p) return 0;
    double *A, *Bm;
    *st = centered_copies(X, Y, g, n, &A, &Bm);
    if (*st) return 0;
    int ok = 0;
    double *tau = mf_malloc((size_t)p * sizeof(double));
    double *cn = mf_malloc((size_t)p * sizeof(double));
    if (!tau || !cn) {
        *st = mf_error_set(MF_ENOMEM, 0, "not enough memory for QR");
        goto done;
    }
    for (int64_t j = 0; j < p; j++) cn[j] = mf_blas_nrm2(MF_FLOAT64, n, A + j * n, 1);
    int info = 0;
    *st = mf_blas_geqrf(MF_FLOAT64, n, p, A, n, tau, &info);
    if (*st || info) goto done;
    double tol = DBL_EPSILON * (double)(n > p ? n : p);
    for (int64_t j = 0; j < p; j++)
        if (!(fabs(A[j * n + j]) > tol * cn[j])) goto done;
    {
        if (mf_blas_ormqr(MF_FLOAT64, 'L', 'T', n, k, p, A, n, tau, Bm, n, &info) != MF_OK) {
            *st = mf_error_set(MF_ENOMEM, 0, "not enough memory for QR");
            goto done;
        }
        if (info) goto done;
        *st = mf_blas_trtrs(MF_FLOAT64, 'U', 'N', 'N', p, k, A, n, Bm, n, &info);
        if (*st || info) goto done;
        for (int64_t j = 0; j < p; j++)
            for (int64_t l = 0; l < k; l++) W[j * k + l] = Bm[l * n + j];
        ok = 1;
    }
done:
    mf_free(A);
    mf_free(Bm);
    mf_free(tau);
    mf_free(cn);
    return ok;
}

static mf_status solve_svd(const mf_tensor *X, const mf_tensor *Y, const gram *g, double *W,
                           int64_t *rank)
{
    int64_t n = g->n, p = g->p, k = g->k, ldb = n > p ? n : p;
    double *A, *Bm;
    mf_status st = centered_copies(X, Y, g, ldb, &A, &Bm);
    if (st) return st;
    double *s = mf_malloc((size_t)(n < p ? n : p) * sizeof(double));
    if (!s) {
        mf_free(A);
        mf_free(Bm);
        return mf_error_set(MF_ENOMEM, 0, "not enough memory for the SVD");
    }
    int r = 0, info = 0;
    st = mf_blas_gelsd(MF_FLOAT64, n, p, k, A, n, Bm, ldb, s, DBL_EPSILON * (double)ldb, &r, &info);
    if (!st && info)
        st = mf_error_set(MF_EINVAL, 1, "the SVD of X did not converge");
    if (!st) {
        for (int64_t j = 0; j < p; j++)
            for (int64_t l = 0; l < k; l++) W[j * k + l] = Bm[l * ldb + j];
        *rank = r;
    }
    mf_free(A);
    mf_free(Bm);
    mf_free(s);
    return st;
}

/* coef (p) or (k, p) and intercept (k) from W (p x k row-major). */
static mf_status make_outputs(const mf_tensor *Y, const gram *g, const double *W, int center,
                              mf_tensor **coef, mf_tensor **intercept)
{
    int64_t p = g->p, k = g->k;
    mf_tensor *c = NULL, *b = NULL;
    int64_t shape[2] = {k, p};
    mf_status st = Y->ndim == 1 ? mf_tensor_new(&c, MF_FLOAT64, 1, &p)
                                : mf_tensor_new(&c, MF_FLOAT64, 2, shape);
    if (!st) st = mf_tensor_new(&b, MF_FLOAT64, 1, &k);
    if (st) {
        mf_tensor_release(c);
        return st;
    }
    double *cd = mf_tensor_data(c), *bd = mf_tensor_data(b);
    for (int64_t l = 0; l < k; l++) {
        double s = center ? g->my[l] : 0;
        for (int64_t j = 0; j < p; j++) {
            cd[l * p + j] = W[j * k + l];
            if (center) s -= W[j * k + l] * g->mx[j];
        }
        bd[l] = s;
    }
    *coef = c;
    *intercept = b;
    return MF_OK;
}

mf_status mf_linear_lstsq(const mf_tensor *X, const mf_tensor *Y, int fit_intercept,
                          mf_linear_solver solver, double alpha, mf_tensor **coef,
                          mf_tensor **intercept, mf_linear_info *info)
{
    int64_t n, p, k;
    mf_status st = check_xy(X, Y, &n, &p, &k);
    if (st) return st;
    if (!(alpha >= 0) || isinf(alpha))
        return mf_error_set(MF_EINVAL, 5, "alpha must be a finite number >= 0");
    if (solver < MF_LINEAR_AUTO || solver > MF_LINEAR_SVD)
        return mf_error_set(MF_EINVAL, 4, "unknown solver");
    info->solver = solver;
    info->rank = p;
    info->rcond = -1;
    gram g;
    int center = fit_intercept != 0;
    double *W = mf_malloc((size_t)(p * k) * sizeof(double));
    double *work = mf_malloc((size_t)(p * p + p + p * k) * sizeof(double));
    if (!W || !work) {
        mf_free(W);
        mf_free(work);
        return mf_error_set(MF_ENOMEM, 0, "not enough memory for the solution");
    }
    int solved = 0;
    if (solver == MF_LINEAR_AUTO || solver == MF_LINEAR_CHOLESKY || alpha > 0) {
        st = gram_pass(X, Y, n, p, k, center, &g);
        if (st) goto fail_nogram;
        solved = solve_cholesky(&g, alpha, solver == MF_LINEAR_AUTO && alpha == 0, W, work,
                                &info->rcond, &st);
        if (st) goto fail;
        if (solved) info->solver = MF_LINEAR_CHOLESKY;
        else if (alpha > 0) {
            st = mf_error_set(MF_EINVAL, 1, "X^T X + alpha I is not positive definite");
            goto fail;
        }
    } else {
        /* Means only: a pass with k == 1 would do the same work; compute them directly. */
        memset(&g, 0, sizeof g);
        g.n = n;
        g.p = p;
        g.k = k;
        g.mx = mf_calloc((size_t)p, sizeof(double));
        g.my = mf_calloc((size_t)k, sizeof(double));
        if (!g.mx || !g.my) {
            st = mf_error_set(MF_ENOMEM, 0, "not enough memory for the means");
            goto fail;
        }
        if (center) {
            const double *x = mf_tensor_data(X), *y = mf_tensor_data(Y);
            /* Two passes (mean, then the mean of the deviations) for accuracy. */
            for (int64_t i = 0; i < n; i++) {
                for (int64_t j = 0; j < p; j++) g.mx[j] += x[i * p + j];
                for (int64_t j = 0; j < k; j++) g.my[j] += y[i * k + j];
            }
            for (int64_t j = 0; j < p; j++) g.mx[j] /= (double)n;
            for (int64_t j = 0; j < k; j++) g.my[j] /= (double)n;
            double *cx = work, *cy = work + p;
            memset(work, 0, (size_t)(p + k) * sizeof(double));
            for (int64_t i = 0; i < n; i++) {
                for (int64_t j = 0; j < p; j++) cx[j] += x[i * p + j] - g.mx[j];
                for (int64_t j = 0; j < k; j++) cy[j] += y[i * k + j] - g.my[j];
            }
            for (int64_t j = 0; j < p; j++) g.mx[j] += cx[j] / (double)n;
            for (int64_t j = 0; j < k; j++) g.my[j] += cy[j] / (double)n;
        }
        int64_t r, c;
        st = mf_linear_find_nonfinite(X, &r, &c);
        if (!st && r >= 0) st = mf_error_set(MF_EINVAL, 1, "X contains NaN or inf (column %lld)",
                                             (long long)c);
        if (st) goto fail;
        for (int64_t j = 0; j < k; j++) {
            if (!isfinite(g.my[j])) {
                st = mf_error_set(MF_EINVAL, 2, "y contains NaN or inf");
                goto fail;
            }
        }
    }
    if (!solved && solver != MF_LINEAR_SVD) {
        solved = solve_qr(X, Y, &g, W, &st);
        if (st) goto fail;
        if (solved) info->solver = MF_LINEAR_QR;
    }
    if (!solved) {
        st = solve_svd(X, Y, &g, W, &info->rank);
        if (st) goto fail;
        info->solver = MF_LINEAR_SVD;
    }
    st = make_outputs(Y, &g, W, center, coef, intercept);
fail:
    gram_free(&g);
fail_nogram:
    mf_free(W);
    mf_free(work);
    return st;
}

/* ---------------------------------------------------------------- elastic net */
mf_status mf_linear_enet(const mf_tensor *X, const mf_tensor *y, int fit_intercept, double alpha,
                         double l1_ratio, int64_t max_iter, double tol, mf_tensor **coef,
                         mf_tensor **intercept, int64_t *n_iter, int *converged, double *gap_out)
{
    int64_t n, p, k;
    mf_status st = check_xy(X, y, &n, &p, &k);
    if (st) return st;
    if (y->ndim != 1) return mf_error_set(MF_EINVAL, 2, "y must be 1-D");
    if (!(alpha >= 0) || isinf(alpha)) return mf_error_set(MF_EINVAL, 4, "alpha must be >= 0");
    if (!(l1_ratio >= 0 && l1_ratio <= 1))
        return mf_error_set(MF_EINVAL, 5, "l1_ratio must be in [0, 1]");
    if (max_iter < 1) return mf_error_set(MF_EINVAL, 6, "max_iter must be >= 1");
    if (!(tol >= 0)) return mf_error_set(MF_EINVAL, 7, "tol must be >= 0");
    gram g;
    st = gram_pass(X, y, n, p, 1, fit_intercept != 0, &g);
    if (st) return st;
    double *w = mf_calloc((size_t)(3 * p), sizeof(double));
    if (!w) {
        gram_free(&g);
        return mf_error_set(MF_ENOMEM, 0, "not enough memory for coordinate descent");
    }
    double *H = w + p, *xta = w + 2 * p; /* H = G w */
    const double *G = g.G, *q = g.B;
    double l1 = alpha * l1_ratio * (double)n, l2 = alpha * (1 - l1_ratio) * (double)n;
    double yy = g.yy[0], tol_s = tol * yy, gap = tol_s + 1;
    int64_t it;
    *converged = 0;
    for (it = 0; it < max_iter; it++) {
        double w_max = 0, d_w_max = 0;
        for (int64_t j = 0; j < p; j++) {
            double gjj = G[j * p + j];
            if (gjj == 0) continue;
            double wj = w[j];
            double tmp = q[j] - H[j] + gjj * wj;
            double a = fabs(tmp) - l1;
            double nw = a > 0 ? (tmp > 0 ? a : -a) / (gjj + l2) : 0;
            if (nw != wj) {
                double dw = nw - wj;
                const double *gc = G + j * p;
                for (int64_t l = 0; l < p; l++) H[l] += dw * gc[l];
                w[j] = nw;
            }
            double d = fabs(nw - wj);
            if (d > d_w_max) d_w_max = d;
            if (fabs(nw) > w_max) w_max = fabs(nw);
        }
        if (w_max == 0 || d_w_max / w_max < tol || it == max_iter - 1) {
            double dual_norm = 0, wH = 0, wq = 0, wn2 = 0, wl1 = 0;
            for (int64_t j = 0; j < p; j++) {
                xta[j] = q[j] - H[j] - l2 * w[j];
                if (fabs(xta[j]) > dual_norm) dual_norm = fabs(xta[j]);
                wH += w[j] * H[j];
                wq += w[j] * q[j];
                wn2 += w[j] * w[j];
                wl1 += fabs(w[j]);
            }
            double R2 = yy + wH - 2 * wq, cst;
            if (R2 < 0) R2 = 0;
            if (dual_norm > l1) {
                cst = l1 / dual_norm;
                gap = 0.5 * (R2 + R2 * cst * cst);
            } else {
                cst = 1;
                gap = R2;
            }
            gap += l1 * wl1 - cst * yy + cst * wq + 0.5 * l2 * (1 + cst * cst) * wn2;
            if (gap < tol_s) {
                *converged = 1;
                it++;
                break;
            }
        }
    }
    *n_iter = it;
    *gap_out = gap / (double)n;
    double *W = w; /* p x 1 */
    st = make_outputs(y, &g, W, fit_intercept != 0, coef, intercept);
    mf_free(w);
    gram_free(&g);
    return st;
}

/* ---------------------------------------------------------------- SGD */
static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double sgd_loss(mf_linear_sgd_loss l, double eps, double pr, double y)
{
    double r = pr - y;
    if (l == MF_LINEAR_SGD_SQUARED) return 0.5 * r * r;
    double a = fabs(r);
    return a <= eps ? 0.5 * r * r : eps * a - 0.5 * eps * eps;
}

static double sgd_dloss(mf_linear_sgd_loss l, double eps, double pr, double y)
{
    double r = pr - y;
    if (l == MF_LINEAR_SGD_SQUARED) return r;
    if (fabs(r) <= eps) return r;
    return r > 0 ? eps : -eps;
}

mf_status mf_linear_sgd(const mf_tensor *X, const mf_tensor *y, const mf_linear_sgd_options *o,
                        mf_tensor **coef, mf_tensor **intercept, int64_t *n_iter, int64_t *t_out)
{
    int64_t n, p, k;
    mf_status st = check_xy(X, y, &n, &p, &k);
    if (st) return st;
    if (y->ndim != 1) return mf_error_set(MF_EINVAL, 2, "y must be 1-D");
    if (!(o->alpha >= 0) || !(o->eta0 > 0) || o->max_iter < 1 || !(o->l1_ratio >= 0) ||
        !(o->l1_ratio <= 1) || (o->schedule == MF_LINEAR_SGD_OPTIMAL && !(o->alpha > 0)))
        return mf_error_set(MF_EINVAL, 3, "bad SGD options");
    double *w = mf_calloc((size_t)(2 * p), sizeof(double));
    int64_t *perm = mf_malloc((size_t)n * sizeof(int64_t));
    if (!w || !perm) {
        mf_free(w);
        mf_free(perm);
        return mf_error_set(MF_ENOMEM, 0, "not enough memory for SGD");
    }
    double *qv = w + p; /* cumulative l1 penalty applied to each weight */
    const double *x = mf_tensor_data(X), *yd = mf_tensor_data(y);
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    uint64_t rs = o->seed;
    double b = 0, t = 1, u = 0, eta = o->eta0, best = INFINITY, optimal_init = 0;
    double l1r = o->penalty == MF_LINEAR_SGD_L1 ? 1 : o->penalty == MF_LINEAR_SGD_ELASTICNET ? o->l1_ratio : 0;
    int pen = o->penalty != MF_LINEAR_SGD_NONE;
    if (o->schedule == MF_LINEAR_SGD_OPTIMAL) {
        double typw = mf_sgd_typw(o->alpha);
        optimal_init = mf_sgd_optimal_init(o->alpha, typw, sgd_dloss(o->loss, o->epsilon, -typw, 1.0));
    }
    int64_t epoch, no_improve = 0;
    for (epoch = 0; epoch < o->max_iter; epoch++) {
        if (o->shuffle) {
            for (int64_t i = n - 1; i > 0; i--) {
                int64_t r = (int64_t)(splitmix(&rs) % (uint64_t)(i + 1));
                int64_t tmp = perm[i];
                perm[i] = perm[r];
                perm[r] = tmp;
            }
        }
        double sumloss = 0;
        for (int64_t ii = 0; ii < n; ii++) {
            int64_t i = perm[ii];
            const double *xi = x + i * p;
            double pr = b;
            for (int64_t j = 0; j < p; j++) pr += w[j] * xi[j];
            eta = mf_sgd_eta(o->schedule, eta, o->eta0, o->power_t, o->alpha, optimal_init, t);
            sumloss += sgd_loss(o->loss, o->epsilon, pr, yd[i]);
            double dl = sgd_dloss(o->loss, o->epsilon, pr, yd[i]);
            if (dl < -1e12) dl = -1e12;
            if (dl > 1e12) dl = 1e12;
            double upd = -eta * dl;
            if (pen && l1r < 1) {
                double sc = 1 - (1 - l1r) * eta * o->alpha;
                if (sc < 1e-9) sc = 1e-9;
                for (int64_t j = 0; j < p; j++) w[j] *= sc;
            }
            if (upd != 0)
                for (int64_t j = 0; j < p; j++) w[j] += upd * xi[j];
            if (o->fit_intercept) b += upd;
            if (pen && l1r > 0) {
                u += l1r * eta * o->alpha;
                mf_sgd_l1_penalty(w, qv, p, u, 1.0);
            }
            t += 1;
        }
        if (!isfinite(sumloss) || !isfinite(b)) {
            mf_free(w);
            mf_free(perm);
            return mf_error_set(MF_EINVAL, 3,
                                "SGD diverged (non-finite loss in epoch %lld): lower eta0 or "
                                "standardize X",
                                (long long)(epoch + 1));
        }
        if (mf_sgd_epoch_end(sumloss, o->tol, n, o->n_iter_no_change, o->schedule, &best, &no_improve, &eta)) {
            epoch++;
            break;
        }
    }
    *n_iter = epoch;
    *t_out = (int64_t)t;
    mf_tensor *c = NULL, *bb = NULL;
    int64_t one = 1;
    st = mf_tensor_new(&c, MF_FLOAT64, 1, &p);
    if (!st) st = mf_tensor_new(&bb, MF_FLOAT64, 1, &one);
    if (!st) {
        memcpy(mf_tensor_data(c), w, (size_t)p * sizeof(double));
        *(double *)mf_tensor_data(bb) = b;
        *coef = c;
        *intercept = bb;
    } else {
        mf_tensor_release(c);
    }
    mf_free(w);
    mf_free(perm);
    return st;
}

/* ---------------------------------------------------------------- predict */
mf_status mf_linear_predict(const mf_tensor *X, const mf_tensor *coef, const mf_tensor *intercept,
                            mf_tensor **out)
{
    int64_t n = 0, p = 0, k = 0;
    mf_status st = check_xy(X, NULL, &n, &p, &k);
    if (st) return st;
    if (!coef || (coef->ndim != 1 && coef->ndim != 2) || coef->dtype != MF_FLOAT64 ||
        !mf_tensor_is_contiguous(coef))
        return mf_error_set(MF_EINVAL, 2, "coef must be a contiguous 1-D or 2-D float64 tensor");
    k = coef->ndim == 2 ? coef->shape[0] : 1;
    if (coef->shape[coef->ndim - 1] != p)
        return mf_error_set(MF_EINVAL, 1, "X has %lld columns, the model %lld", (long long)p,
                            (long long)coef->shape[coef->ndim - 1]);
    if (!intercept || intercept->ndim != 1 || intercept->dtype != MF_FLOAT64 ||
        intercept->shape[0] != k || !mf_tensor_is_contiguous(intercept))
        return mf_error_set(MF_EINVAL, 3, "intercept must be a 1-D float64 tensor of %lld",
                            (long long)k);
    if (!mf_blas_fits(n, p, k)) return mf_error_set(MF_ERANGE, 1, "X too large");
    mf_tensor *o = NULL;
    int64_t shape[2] = {n, k};
    st = coef->ndim == 1 ? mf_tensor_new(&o, MF_FLOAT64, 1, &n)
                         : mf_tensor_new(&o, MF_FLOAT64, 2, shape);
    if (st) return st;
    double *od = mf_tensor_data(o);
    const double *bd = mf_tensor_data(intercept);
    if (n > 0) {
        for (int64_t i = 0; i < n; i++)
            for (int64_t l = 0; l < k; l++) od[i * k + l] = bd[l];
        if (p > 0)
            mf_blas_gemm(MF_FLOAT64, 0, 1, n, k, p, 1.0, mf_tensor_data(X), p,
                         mf_tensor_data(coef), p, 1.0, od, k);
    }
    *out = o;
    return MF_OK;
}
