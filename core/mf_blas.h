/*
 * mf_blas.h — BLAS and LAPACK behind one function each.
 *
 * Every call of libmoonforge into OpenBLAS (cblas) and LAPACKE goes through
 * here, one function per operation dispatching on the dtype (float32 →
 * s-routine, float64 → d-routine), so that a kernel can be swapped or checked
 * against the reference loop (mf_blas_gemm_ref) in one place.
 *
 * Matrices are described as BLAS does: a pointer, sizes and a leading
 * dimension (elements between consecutive rows for row-major, columns for
 * column-major). Sizes must fit BLAS's 32-bit int (at most MF_BLAS_MAX_DIM);
 * callers check (mf_blas_fits). Leading dimensions must be >= max(1, the
 * stored row length): BLAS and LAPACK print a message on a bad argument, so
 * the callers never pass one.
 *
 * These are internal to core/ (kernels and tests); the public API is
 * mf_linalg.h.
 */
#ifndef MF_BLAS_H
#define MF_BLAS_H

#include "mf_common.h"

#define MF_BLAS_MAX_DIM 2147483647 /* INT_MAX: OpenBLAS's and LAPACKE's int */

/* Every value <= MF_BLAS_MAX_DIM. */
int mf_blas_fits(int64_t a, int64_t b, int64_t c);

/* ---------------------------------------------------------------- BLAS 3
 * C = alpha * op(A) · op(B) + beta * C, row-major: op(A) is m x k, op(B)
 * k x n, C m x n with row stride ldc. op(X) is X, or its transpose when
 * trans_x is nonzero (then X is stored k x m, resp. n x k).
 * float32 and float64 through cblas_sgemm / cblas_dgemm; int64 by a loop
 * (parallel over rows, wrapping on overflow like two's complement; alpha and
 * beta are converted to int64). beta == 0 means C is not read (NaN in C does
 * not propagate); k == 0 gives C = beta * C. */
void mf_blas_gemm(mf_dtype dt, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                  double alpha, const void *a, int64_t lda, const void *b, int64_t ldb,
                  double beta, void *c, int64_t ldc);
/* The same product by the plain triple loop (accumulating in double, int64
 * exactly), to test mf_blas_gemm against. */
void mf_blas_gemm_ref(mf_dtype dt, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                      double alpha, const void *a, int64_t lda, const void *b, int64_t ldb,
                      double beta, void *c, int64_t ldc);

/* ---------------------------------------------------------------- LAPACK
 * Column-major, float32 or float64, through the LAPACKE_?xxx_work routines
 * (workspace from mf_malloc: MF_ENOMEM on failure). *info is LAPACK's INFO
 * (> 0: the routine's documented failure, e.g. a zero pivot). Integer arrays
 * (ipiv, rank) are LAPACK's 32-bit int. */

/* LU with partial pivoting of the m x n matrix a; ipiv[min(m, n)] 1-based. */
mf_status mf_blas_getrf(mf_dtype dt, int64_t m, int64_t n, void *a, int64_t lda, int *ipiv,
                        int *info);
/* Solves A X = B in place of b (n x nrhs) from getrf's factors of A. */
mf_status mf_blas_getrs(mf_dtype dt, int64_t n, int64_t nrhs, const void *a, int64_t lda,
                        const int *ipiv, void *b, int64_t ldb, int *info);
/* Inverse in place from getrf's factors. */
mf_status mf_blas_getri(mf_dtype dt, int64_t n, void *a, int64_t lda, const int *ipiv,
                        int *info);
/* Cholesky factor in place: uplo 'L' (A = L L^T) or 'U' (A = U^T U); only that
 * triangle is read and written. */
mf_status mf_blas_potrf(mf_dtype dt, char uplo, int64_t n, void *a, int64_t lda, int *info);
/* Row-major c (n x n, upper triangle) = alpha a^T a + beta c, a row-major
 * (k x n): the Gram matrix of a block of rows. */
void mf_blas_syrk_tn(mf_dtype dt, int64_t n, int64_t k, double alpha, const void *a, int64_t lda,
                     double beta, void *c, int64_t ldc);
/* Euclidean norm of n entries of x, stride incx. */
double mf_blas_nrm2(mf_dtype dt, int64_t n, const void *x, int64_t incx);
/* Reciprocal condition number (1-norm) of a from its Cholesky factor (potrf
 * with the same uplo); anorm is the 1-norm of the original matrix. */
mf_status mf_blas_pocon(mf_dtype dt, char uplo, int64_t n, const void *a, int64_t lda,
                        double anorm, double *rcond, int *info);
/* Solves A X = B with A's Cholesky factor; b (n x nrhs) is overwritten. */
mf_status mf_blas_potrs(mf_dtype dt, char uplo, int64_t n, int64_t nrhs, const void *a,
                        int64_t lda, void *b, int64_t ldb, int *info);
/* c = op(Q) c (side 'L') with Q from geqrf's a and tau (k reflectors). */
mf_status mf_blas_ormqr(mf_dtype dt, char side, char trans, int64_t m, int64_t n, int64_t k,
                        const void *a, int64_t lda, const void *tau, void *c, int64_t ldc,
                        int *info);
/* Solves a triangular system op(A) X = B; b is overwritten. */
mf_status mf_blas_trtrs(mf_dtype dt, char uplo, char trans, char diag, int64_t n, int64_t nrhs,
                        const void *a, int64_t lda, void *b, int64_t ldb, int *info);
/* QR: Householder factors of the m x n matrix a in place (R on and above the
 * diagonal), tau[min(m, n)]. */
mf_status mf_blas_geqrf(mf_dtype dt, int64_t m, int64_t n, void *a, int64_t lda, void *tau,
                        int *info);
/* The first n columns of Q (m x n, n <= m) from k reflectors of geqrf. */
mf_status mf_blas_orgqr(mf_dtype dt, int64_t m, int64_t n, int64_t k, void *a, int64_t lda,
                        const void *tau, int *info);
/* SVD by divide and conquer: jobz 'S' (u m x min, vt min x n) or 'A' (u m x m,
 * vt n x n); a is destroyed; s[min(m, n)] descending. */
mf_status mf_blas_gesdd(mf_dtype dt, char jobz, int64_t m, int64_t n, void *a, int64_t lda,
                        void *s, void *u, int64_t ldu, void *vt, int64_t ldvt, int *info);
/* Eigenvalues w[n] (ascending) and, in place of a, eigenvectors (columns) of
 * the symmetric matrix given by its uplo ('L' or 'U') triangle. */
mf_status mf_blas_syevd(mf_dtype dt, char uplo, int64_t n, void *a, int64_t lda, void *w,
                        int *info);
/* Minimum-norm least squares by SVD: b (ldb >= max(m, n), nrhs columns)
 * becomes the n x nrhs solution; singular values below rcond * s[0] count
 * as zero; *rank is the effective rank; s[min(m, n)] receives the singular
 * values. a is destroyed. */
mf_status mf_blas_gelsd(mf_dtype dt, int64_t m, int64_t n, int64_t nrhs, void *a, int64_t lda,
                        void *b, int64_t ldb, void *s, double rcond, int *rank, int *info);

#endif
