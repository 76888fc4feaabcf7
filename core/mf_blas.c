/* mf_blas.c — see mf_blas.h. The only file of core/ that calls cblas and
 * LAPACKE. */
#include "mf_blas.h"

#include <assert.h>
#include <cblas.h>
#include <lapacke.h>
#include <math.h>

#include "mf_thread.h"

static_assert(sizeof(lapack_int) == sizeof(int), "LAPACKE with 32-bit integers");
static_assert(sizeof(blasint) == sizeof(int), "OpenBLAS with 32-bit integers");

int mf_blas_fits(int64_t a, int64_t b, int64_t c)
{
    return a <= MF_BLAS_MAX_DIM && b <= MF_BLAS_MAX_DIM && c <= MF_BLAS_MAX_DIM;
}

/* ---------------------------------------------------------------- gemm */
/* Element (i, j) of op(X) for a row-major X with leading dimension ld. */
#define OP_AT(x, trans, ld, i, j) ((trans) ? (x)[(j) * (ld) + (i)] : (x)[(i) * (ld) + (j)])

typedef struct {
    int ta, tb;
    int64_t n, k, lda, ldb, ldc;
    uint64_t alpha, beta; /* two's complement: products wrap instead of overflowing */
    const int64_t *a, *b;
    int64_t *c;
} gemm_i64_ctx;

/* Rows [lo, hi) of C: c[i, :] = beta c[i, :] + alpha sum_p a[i, p] b[p, :]
 * (i-p-j order, so that a row-major B is read along its rows). */
static void gemm_i64_rows(int64_t lo, int64_t hi, void *arg)
{
    const gemm_i64_ctx *g = arg;
    for (int64_t i = lo; i < hi; i++) {
        uint64_t *crow = (uint64_t *)(void *)(g->c + i * g->ldc);
        for (int64_t j = 0; j < g->n; j++) crow[j] = g->beta ? crow[j] * g->beta : 0;
        for (int64_t p = 0; p < g->k; p++) {
            uint64_t aip = (uint64_t)OP_AT(g->a, g->ta, g->lda, i, p) * g->alpha;
            if (!aip) continue;
            if (!g->tb) {
                const uint64_t *brow = (const uint64_t *)(const void *)(g->b + p * g->ldb);
                for (int64_t j = 0; j < g->n; j++) crow[j] += aip * brow[j];
            } else {
                for (int64_t j = 0; j < g->n; j++)
                    crow[j] += aip * (uint64_t)g->b[j * g->ldb + p];
            }
        }
    }
}

/* C = beta C for k == 0 (BLAS implementations differ on whether they scale
 * C when k is 0; this one always does, never reading C when beta is 0). */
static void scale_c(mf_dtype dt, int64_t m, int64_t n, double beta, void *c, int64_t ldc)
{
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < n; j++) {
            int64_t o = i * ldc + j;
            switch (dt) {
            case MF_FLOAT32: {
                float *x = (float *)c + o;
                *x = beta == 0 ? 0.0f : (float)beta * *x;
                break;
            }
            case MF_FLOAT64: {
                double *x = (double *)c + o;
                *x = beta == 0 ? 0.0 : beta * *x;
                break;
            }
            default: {
                uint64_t *x = (uint64_t *)c + o;
                *x = beta == 0 ? 0 : (uint64_t)(int64_t)beta * *x;
                break;
            }
            }
        }
    }
}

void mf_blas_gemm(mf_dtype dt, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                  double alpha, const void *a, int64_t lda, const void *b, int64_t ldb,
                  double beta, void *c, int64_t ldc)
{
    if (m == 0 || n == 0) return;
    if (k == 0) {
        scale_c(dt, m, n, beta, c, ldc);
        return;
    }
    enum CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans;
    enum CBLAS_TRANSPOSE tb = trans_b ? CblasTrans : CblasNoTrans;
    switch (dt) {
    case MF_FLOAT32:
        cblas_sgemm(CblasRowMajor, ta, tb, (int)m, (int)n, (int)k, (float)alpha, a, (int)lda, b,
                    (int)ldb, (float)beta, c, (int)ldc);
        return;
    case MF_FLOAT64:
        cblas_dgemm(CblasRowMajor, ta, tb, (int)m, (int)n, (int)k, alpha, a, (int)lda, b,
                    (int)ldb, beta, c, (int)ldc);
        return;
    default: {
        gemm_i64_ctx g = {trans_a, trans_b, n, k, lda, ldb, ldc,
                          (uint64_t)(int64_t)alpha, (uint64_t)(int64_t)beta, a, b, c};
        int64_t work = n * k > 0 ? n * k : 1;
        mf_parallel_for(m, work >= 65536 ? 1 : 65536 / work, gemm_i64_rows, &g);
        return;
    }
    }
}

void mf_blas_gemm_ref(mf_dtype dt, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                      double alpha, const void *a, int64_t lda, const void *b, int64_t ldb,
                      double beta, void *c, int64_t ldc)
{
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < n; j++) {
            if (dt == MF_INT64) {
                const int64_t *x = a, *y = b;
                uint64_t s = 0, *z = (uint64_t *)c + i * ldc + j;
                for (int64_t p = 0; p < k; p++)
                    s += (uint64_t)OP_AT(x, trans_a, lda, i, p) *
                         (uint64_t)OP_AT(y, trans_b, ldb, p, j);
                uint64_t old = beta == 0 ? 0 : (uint64_t)(int64_t)beta * *z;
                *z = (uint64_t)(int64_t)alpha * s + old;
            } else if (dt == MF_FLOAT32) {
                const float *x = a, *y = b;
                float *z = (float *)c + i * ldc + j;
                double s = 0;
                for (int64_t p = 0; p < k; p++)
                    s += (double)OP_AT(x, trans_a, lda, i, p) * (double)OP_AT(y, trans_b, ldb, p, j);
                *z = (float)(alpha * s + (beta == 0 ? 0 : beta * (double)*z));
            } else {
                const double *x = a, *y = b;
                double *z = (double *)c + i * ldc + j;
                double s = 0;
                for (int64_t p = 0; p < k; p++)
                    s += OP_AT(x, trans_a, lda, i, p) * OP_AT(y, trans_b, ldb, p, j);
                *z = alpha * s + (beta == 0 ? 0 : beta * *z);
            }
        }
    }
}

/* ---------------------------------------------------------------- LAPACK */
#define COL LAPACK_COL_MAJOR

/* Workspace size from a query's answer (stored as a float: round up, with
 * room for the rounding of a float32 answer). */
static size_t work_size(double q, int64_t at_least)
{
    double w = ceil(q * (1 + 1e-6)) + 1;
    if (w < (double)at_least) w = (double)at_least;
    return (size_t)w;
}

static void *work_alloc(size_t count, size_t elsize)
{
    void *p = mf_malloc(count * elsize);
    if (!p)
        mf_error_set(MF_ENOMEM, 0, "not enough memory for a LAPACK workspace of %zu bytes",
                     count * elsize);
    return p;
}

static int ld(int64_t x) { return x > 1 ? (int)x : 1; }

mf_status mf_blas_getrf(mf_dtype dt, int64_t m, int64_t n, void *a, int64_t lda, int *ipiv,
                        int *info)
{
    if (dt == MF_FLOAT32) *info = LAPACKE_sgetrf_work(COL, (int)m, (int)n, a, ld(lda), ipiv);
    else *info = LAPACKE_dgetrf_work(COL, (int)m, (int)n, a, ld(lda), ipiv);
    return MF_OK;
}

mf_status mf_blas_getrs(mf_dtype dt, int64_t n, int64_t nrhs, const void *a, int64_t lda,
                        const int *ipiv, void *b, int64_t ldb, int *info)
{
    if (dt == MF_FLOAT32)
        *info = LAPACKE_sgetrs_work(COL, 'N', (int)n, (int)nrhs, a, ld(lda), ipiv, b, ld(ldb));
    else
        *info = LAPACKE_dgetrs_work(COL, 'N', (int)n, (int)nrhs, a, ld(lda), ipiv, b, ld(ldb));
    return MF_OK;
}

mf_status mf_blas_getri(mf_dtype dt, int64_t n, void *a, int64_t lda, const int *ipiv,
                        int *info)
{
    double q = 0;
    if (dt == MF_FLOAT32) {
        float w = 0;
        LAPACKE_sgetri_work(COL, (int)n, a, ld(lda), ipiv, &w, -1);
        q = w;
    } else {
        LAPACKE_dgetri_work(COL, (int)n, a, ld(lda), ipiv, &q, -1);
    }
    size_t lw = work_size(q, n > 1 ? n : 1);
    void *work = work_alloc(lw, mf_dtype_size(dt));
    if (!work) return MF_ENOMEM;
    if (dt == MF_FLOAT32)
        *info = LAPACKE_sgetri_work(COL, (int)n, a, ld(lda), ipiv, work, (int)lw);
    else
        *info = LAPACKE_dgetri_work(COL, (int)n, a, ld(lda), ipiv, work, (int)lw);
    mf_free(work);
    return MF_OK;
}

mf_status mf_blas_potrf(mf_dtype dt, char uplo, int64_t n, void *a, int64_t lda, int *info)
{
    if (dt == MF_FLOAT32) *info = LAPACKE_spotrf_work(COL, uplo, (int)n, a, ld(lda));
    else *info = LAPACKE_dpotrf_work(COL, uplo, (int)n, a, ld(lda));
    return MF_OK;
}

void mf_blas_syrk_tn(mf_dtype dt, int64_t n, int64_t k, double alpha, const void *a, int64_t lda,
                     double beta, void *c, int64_t ldc)
{
    if (dt == MF_FLOAT32)
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)n, (int)k, (float)alpha, a,
                    (int)lda, (float)beta, c, (int)ldc);
    else
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)n, (int)k, alpha, a, (int)lda,
                    beta, c, (int)ldc);
}

double mf_blas_nrm2(mf_dtype dt, int64_t n, const void *x, int64_t incx)
{
    if (dt == MF_FLOAT32) return cblas_snrm2((int)n, x, (int)incx);
    return cblas_dnrm2((int)n, x, (int)incx);
}

mf_status mf_blas_pocon(mf_dtype dt, char uplo, int64_t n, const void *a, int64_t lda,
                        double anorm, double *rcond, int *info)
{
    size_t esz = mf_dtype_size(dt);
    void *work = work_alloc((size_t)(3 * (n > 1 ? n : 1)), esz);
    int *iwork = mf_malloc((size_t)(n > 1 ? n : 1) * sizeof(int));
    if (!work || !iwork) {
        mf_free(work);
        mf_free(iwork);
        return MF_ENOMEM;
    }
    if (dt == MF_FLOAT32) {
        float rc = 0;
        *info = LAPACKE_spocon_work(COL, uplo, (int)n, a, ld(lda), (float)anorm, &rc, work, iwork);
        *rcond = rc;
    } else {
        *info = LAPACKE_dpocon_work(COL, uplo, (int)n, a, ld(lda), anorm, rcond, work, iwork);
    }
    mf_free(work);
    mf_free(iwork);
    return MF_OK;
}

mf_status mf_blas_potrs(mf_dtype dt, char uplo, int64_t n, int64_t nrhs, const void *a,
                        int64_t lda, void *b, int64_t ldb, int *info)
{
    if (dt == MF_FLOAT32)
        *info = LAPACKE_spotrs_work(COL, uplo, (int)n, (int)nrhs, a, ld(lda), b, ld(ldb));
    else
        *info = LAPACKE_dpotrs_work(COL, uplo, (int)n, (int)nrhs, a, ld(lda), b, ld(ldb));
    return MF_OK;
}

mf_status mf_blas_ormqr(mf_dtype dt, char side, char trans, int64_t m, int64_t n, int64_t k,
                        const void *a, int64_t lda, const void *tau, void *c, int64_t ldc,
                        int *info)
{
    double q = 0;
    if (dt == MF_FLOAT32) {
        float w = 0;
        LAPACKE_sormqr_work(COL, side, trans, (int)m, (int)n, (int)k, a, ld(lda), tau, c, ld(ldc),
                            &w, -1);
        q = w;
    } else {
        LAPACKE_dormqr_work(COL, side, trans, (int)m, (int)n, (int)k, a, ld(lda), tau, c, ld(ldc),
                            &q, -1);
    }
    size_t lw = work_size(q, n > 1 ? n : 1);
    void *work = work_alloc(lw, mf_dtype_size(dt));
    if (!work) return MF_ENOMEM;
    if (dt == MF_FLOAT32)
        *info = LAPACKE_sormqr_work(COL, side, trans, (int)m, (int)n, (int)k, a, ld(lda), tau, c,
                                    ld(ldc), work, (int)lw);
    else
        *info = LAPACKE_dormqr_work(COL, side, trans, (int)m, (int)n, (int)k, a, ld(lda), tau, c,
                                    ld(ldc), work, (int)lw);
    mf_free(work);
    return MF_OK;
}

mf_status mf_blas_trtrs(mf_dtype dt, char uplo, char trans, char diag, int64_t n, int64_t nrhs,
                        const void *a, int64_t lda, void *b, int64_t ldb, int *info)
{
    if (dt == MF_FLOAT32)
        *info = LAPACKE_strtrs_work(COL, uplo, trans, diag, (int)n, (int)nrhs, a, ld(lda), b,
                                    ld(ldb));
    else
        *info = LAPACKE_dtrtrs_work(COL, uplo, trans, diag, (int)n, (int)nrhs, a, ld(lda), b,
                                    ld(ldb));
    return MF_OK;
}

mf_status mf_blas_geqrf(mf_dtype dt, int64_t m, int64_t n, void *a, int64_t lda, void *tau,
                        int *info)
{
    double q = 0;
    if (dt == MF_FLOAT32) {
        float w = 0;
        LAPACKE_sgeqrf_work(COL, (int)m, (int)n, a, ld(lda), tau, &w, -1);
        q = w;
    } else {
        LAPACKE_dgeqrf_work(COL, (int)m, (int)n, a, ld(lda), tau, &q, -1);
    }
    size_t lw = work_size(q, n > 1 ? n : 1);
    void *work = work_alloc(lw, mf_dtype_size(dt));
    if (!work) return MF_ENOMEM;
    if (dt == MF_FLOAT32)
        *info = LAPACKE_sgeqrf_work(COL, (int)m, (int)n, a, ld(lda), tau, work, (int)lw);
    else
        *info = LAPACKE_dgeqrf_work(COL, (int)m, (int)n, a, ld(lda), tau, work, (int)lw);
    mf_free(work);
    return MF_OK;
}

mf_status mf_blas_orgqr(mf_dtype dt, int64_t m, int64_t n, int64_t k, void *a, int64_t lda,
                        const void *tau, int *info)
{
    double q = 0;
    if (dt == MF_FLOAT32) {
        float w = 0;
        LAPACKE_sorgqr_work(COL, (int)m, (int)n, (int)k, a, ld(lda), tau, &w, -1);
        q = w;
    } else {
        LAPACKE_dorgqr_work(COL, (int)m, (int)n, (int)k, a, ld(lda), tau, &q, -1);
    }
    size_t lw = work_size(q, n > 1 ? n : 1);
    void *work = work_alloc(lw, mf_dtype_size(dt));
    if (!work) return MF_ENOMEM;
    if (dt == MF_FLOAT32)
        *info = LAPACKE_sorgqr_work(COL, (int)m, (int)n, (int)k, a, ld(lda), tau, work, (int)lw);
    else
        *info = LAPACKE_dorgqr_work(COL, (int)m, (int)n, (int)k, a, ld(lda), tau, work, (int)lw);
    mf_free(work);
    return MF_OK;
}

mf_status mf_blas_gesdd(mf_dtype dt, char jobz, int64_t m, int64_t n, void *a, int64_t lda,
                        void *s, void *u, int64_t ldu, void *vt, int64_t ldvt, int *info)
{
    int64_t mn = m < n ? m : n;
    int *iwork = work_alloc((size_t)(8 * (mn > 1 ? mn : 1)), sizeof(int));
    if (!iwork) return MF_ENOMEM;
    double q = 0;
    if (dt == MF_FLOAT32) {
        float w = 0;
        LAPACKE_sgesdd_work(COL, jobz, (int)m, (int)n, a, ld(lda), s, u, ld(ldu), vt, ld(ldvt),
                            &w, -1, iwork);
        q = w;
    } else {
        LAPACKE_dgesdd_work(COL, jobz, (int)m, (int)n, a, ld(lda), s, u, ld(ldu), vt, ld(ldvt),
                            &q, -1, iwork);
    }
    size_t lw = work_size(q, 1);
    void *work = work_alloc(lw, mf_dtype_size(dt));
    if (!work) {
        mf_free(iwork);
        return MF_ENOMEM;
    }
    if (dt == MF_FLOAT32)
        *info = LAPACKE_sgesdd_work(COL, jobz, (int)m, (int)n, a, ld(lda), s, u, ld(ldu), vt,
                                    ld(ldvt), work, (int)lw, iwork);
    else
        *info = LAPACKE_dgesdd_work(COL, jobz, (int)m, (int)n, a, ld(lda), s, u, ld(ldu), vt,
                                    ld(ldvt), work, (int)lw, iwork);
    mf_free(work);
    mf_free(iwork);
    return MF_OK;
}

mf_status mf_blas_syevd(mf_dtype dt, char uplo, int64_t n, void *a, int64_t lda, void *w,
                        int *info)
{
    double q = 0;
    int iq = 0;
    if (dt == MF_FLOAT32) {
        float wq = 0;
        LAPACKE_ssyevd_work(COL, 'V', uplo, (int)n, a, ld(lda), w, &wq, -1, &iq, -1);
        q = wq;
    } else {
        LAPACKE_dsyevd_work(COL, 'V', uplo, (int)n, a, ld(lda), w, &q, -1, &iq, -1);
    }
    size_t lw = work_size(q, 1), liw = (size_t)(iq > 1 ? iq : 1);
    void *work = work_alloc(lw, mf_dtype_size(dt));
    int *iwork = work ? work_alloc(liw, sizeof(int)) : NULL;
    if (!iwork) {
        mf_free(work);
        return MF_ENOMEM;
    }
    if (dt == MF_FLOAT32)
        *info = LAPACKE_ssyevd_work(COL, 'V', uplo, (int)n, a, ld(lda), w, work, (int)lw, iwork,
                                    (int)liw);
    else
        *info = LAPACKE_dsyevd_work(COL, 'V', uplo, (int)n, a, ld(lda), w, work, (int)lw, iwork,
                                    (int)liw);
    mf_free(work);
    mf_free(iwork);
    return MF_OK;
}

mf_status mf_blas_gelsd(mf_dtype dt, int64_t m, int64_t n, int64_t nrhs, void *a, int64_t lda,
                        void *b, int64_t ldb, void *s, double rcond, int *rank, int *info)
{
    double q = 0;
    int iq = 0;
    if (dt == MF_FLOAT32) {
        float wq = 0;
        LAPACKE_sgelsd_work(COL, (int)m, (int)n, (int)nrhs, a, ld(lda), b, ld(ldb), s,
                            (float)rcond, rank, &wq, -1, &iq);
        q = wq;
    } else {
        LAPACKE_dgelsd_work(COL, (int)m, (int)n, (int)nrhs, a, ld(lda), b, ld(ldb), s, rcond,
                            rank, &q, -1, &iq);
    }
    size_t lw = work_size(q, 1), liw = (size_t)(iq > 1 ? iq : 1);
    void *work = work_alloc(lw, mf_dtype_size(dt));
    int *iwork = work ? work_alloc(liw, sizeof(int)) : NULL;
    if (!iwork) {
        mf_free(work);
        return MF_ENOMEM;
    }
    if (dt == MF_FLOAT32)
        *info = LAPACKE_sgelsd_work(COL, (int)m, (int)n, (int)nrhs, a, ld(lda), b, ld(ldb), s,
                                    (float)rcond, rank, work, (int)lw, iwork);
    else
        *info = LAPACKE_dgelsd_work(COL, (int)m, (int)n, (int)nrhs, a, ld(lda), b, ld(ldb), s,
                                    rcond, rank, work, (int)lw, iwork);
    mf_free(work);
    mf_free(iwork);
    return MF_OK;
}
