/*
 * mf_linalg.h — matrix products (mf_tensor_matmul and friends) and the
 * decompositions of mf_linalg_* (solve, inv, det, cholesky, qr, svd, eigh,
 * lstsq), all through the op table (mf_op.h).
 *
 * Products follow torch.matmul: float32 and float64 through BLAS gemm,
 * int64 by a loop (wrapping on overflow), mixed dtypes promoted
 * (mf_dtype_promote); bool is refused. Transposed and sliced views are handed
 * to BLAS as they are when their strides allow (unit stride along rows or
 * along columns); other layouts are copied first.
 *
 * Decompositions go through LAPACK for float32 and float64 and refuse
 * integer input (as PyTorch does). Every one accepts a batch (..., m, n) and
 * loops over it; two-operand ones (solve, lstsq) broadcast the batch dims.
 * The input is never modified (LAPACK works on copies).
 *
 * Error arguments are positions in the call as a Lua user writes it, tensor
 * first: mf.matmul(a, b, {out = t}) → a = 1, b = 2, out = 3.
 */
#ifndef MF_LINALG_H
#define MF_LINALG_H

#include "mf_tensor.h"

/* ---------------------------------------------------------------- products
 * Each creates its result in *out; the _into form writes into `dst`, which
 * must have the result's dtype and shape (else an error naming the out
 * argument: 3, or 4 for addmm, the option table) and may be any strided
 * view, even of one of the inputs. */

/* torch.matmul: 1-D · 1-D → 0-D (dot); 2-D · 2-D; 1-D · 2-D (a as a row,
 * the row dim dropped from the result); 2-D · 1-D; and batches (..., m, k) ·
 * (..., k, n) whose batch dims broadcast. */
mf_status mf_tensor_matmul(mf_tensor **out, mf_tensor *a, mf_tensor *b);
mf_status mf_tensor_matmul_into(mf_tensor *dst, mf_tensor *a, mf_tensor *b);
/* The same product with PyTorch's stricter shape checks: mm 2-D · 2-D, bmm
 * 3-D · 3-D with equal batch sizes (no broadcasting), mv 2-D · 1-D, dot
 * 1-D · 1-D of one length, outer 1-D × 1-D → (n, m). */
mf_status mf_tensor_mm(mf_tensor **out, mf_tensor *a, mf_tensor *b);
mf_status mf_tensor_mm_into(mf_tensor *dst, mf_tensor *a, mf_tensor *b);
mf_status mf_tensor_bmm(mf_tensor **out, mf_tensor *a, mf_tensor *b);
mf_status mf_tensor_bmm_into(mf_tensor *dst, mf_tensor *a, mf_tensor *b);
mf_status mf_tensor_mv(mf_tensor **out, mf_tensor *a, mf_tensor *b);
mf_status mf_tensor_mv_into(mf_tensor *dst, mf_tensor *a, mf_tensor *b);
mf_status mf_tensor_dot(mf_tensor **out, mf_tensor *a, mf_tensor *b);
mf_status mf_tensor_dot_into(mf_tensor *dst, mf_tensor *a, mf_tensor *b);
mf_status mf_tensor_outer(mf_tensor **out, mf_tensor *a, mf_tensor *b);
mf_status mf_tensor_outer_into(mf_tensor *dst, mf_tensor *a, mf_tensor *b);
/* beta * c + alpha * (a · b) for 2-D a (m x k) and b (k x n), c broadcast to
 * m x n. With beta == 0, c is not read (NaN in c does not propagate). For an
 * int64 result alpha and beta must be integers. */
mf_status mf_tensor_addmm(mf_tensor **out, mf_tensor *c, mf_tensor *a, mf_tensor *b,
                          double alpha, double beta);
mf_status mf_tensor_addmm_into(mf_tensor *dst, mf_tensor *c, mf_tensor *a, mf_tensor *b,
                               double alpha, double beta);

/* ---------------------------------------------------------------- linalg
 * A is (..., m, n), float32 or float64. Results have A's dtype (solve and
 * lstsq: the promotion of A's and B's). Failures name the argument: a
 * singular matrix (solve, inv: "matrix is singular: U[3,3] = 0"), one that is
 * not positive-definite (cholesky), a non-square one where a square one is
 * needed. */

/* X with A X = B, A (..., n, n); B (..., n, k), or (..., n) for a batch of
 * vectors (when B is 1-D, or has A's shape without its last dim). */
mf_status mf_linalg_solve(mf_tensor **x, mf_tensor *a, mf_tensor *b);
mf_status mf_linalg_inv(mf_tensor **out, mf_tensor *a);
/* Shape (...): 0-D for one matrix. Singular matrices give 0. */
mf_status mf_linalg_det(mf_tensor **out, mf_tensor *a);
/* L (lower, A = L L^T) or, with upper, U = L^T (A = U^T U); only that
 * triangle of A is read. */
mf_status mf_linalg_cholesky(mf_tensor **out, mf_tensor *a, int upper);

typedef enum mf_qr_mode {
    MF_QR_REDUCED = 0, /* Q (..., m, k), R (..., k, n); k = min(m, n) */
    MF_QR_COMPLETE,    /* Q (..., m, m), R (..., m, n) */
    MF_QR_R            /* R only (..., k, n); Q is an empty tensor of shape [0] */
} mf_qr_mode;
mf_status mf_linalg_qr(mf_tensor **q, mf_tensor **r, mf_tensor *a, mf_qr_mode mode);
/* A = U diag(S) Vh with S descending: U (..., m, k), S (..., k),
 * Vh (..., k, n); with full_matrices U (..., m, m) and Vh (..., n, n). */
mf_status mf_linalg_svd(mf_tensor **u, mf_tensor **s, mf_tensor **vh, mf_tensor *a,
                        int full_matrices);
/* Symmetric A given by its lower (uplo 'L') or upper ('U') triangle:
 * eigenvalues w (..., n) ascending and eigenvectors v (..., n, n) as columns
 * (A v[:, i] = w[i] v[:, i]). */
mf_status mf_linalg_eigh(mf_tensor **w, mf_tensor **v, mf_tensor *a, char uplo);
/* Minimum-norm least-squares solution of A X ≈ B (A (..., m, n), any m, n
 * and rank; B (..., m, k) or (..., m)), by LAPACK's gelsd (SVD). Singular
 * values below rcond * largest count as zero; rcond < 0 (or NaN) means
 * eps(dtype) * max(m, n), PyTorch's default.
 * residuals: for m > n the squared norms ||A x - b||^2 of each column,
 * (..., k) (or (...) for vectors); for m <= n an empty tensor of shape [0].
 * rank: int64 (...), the effective rank of each matrix. */
mf_status mf_linalg_lstsq(mf_tensor **x, mf_tensor **residuals, mf_tensor **rank, mf_tensor *a,
                          mf_tensor *b, double rcond);

#endif
