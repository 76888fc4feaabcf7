/*
 * mf_math.h — elementwise math and reductions.
 *
 * Elementwise ops are records of the op table (MF_OP_EXP, MF_OP_ADD, ...):
 * run them with mf_op_run / mf_op_run1, or the wrappers below for the ones
 * with parameters. Binary ops broadcast with NumPy's rules; inputs of
 * different dtypes are promoted (mf_dtype_promote), comparisons give bool
 * masks, true division and float functions (exp, log, ...) of integers give
 * float32. A 0-D borrowed scalar (mf_tensor_borrow_scalar) is a cheap way to
 * pass a number as an operand.
 */
#ifndef MF_MATH_H
#define MF_MATH_H

#include "mf_op.h"

/* a + alpha * b */
mf_status mf_tensor_add(mf_tensor **out, mf_tensor *a, mf_tensor *b, double alpha);
/* Any two-input elementwise op (MF_OP_MUL, MF_OP_GT, ...). */
mf_status mf_tensor_binary(mf_op_id op, mf_tensor **out, mf_tensor *a, mf_tensor *b);
/* Bounds may be NaN for "none". */
mf_status mf_tensor_clamp(mf_tensor **out, mf_tensor *t, double lo, double hi);
/* mask ? a : b, broadcast together; mask is bool. */
mf_status mf_tensor_where(mf_tensor **out, mf_tensor *mask, mf_tensor *a, mf_tensor *b);

/* Reductions over one dim (0-based, negative from the end) or, with dim ==
 * MF_ALL_DIMS, over every element. op: MF_OP_SUM, PROD, LOGSUMEXP, ALL, ANY.
 * Sums of bool give int64; logsumexp of integers gives float32. */
mf_status mf_tensor_reduce(mf_op_id op, mf_tensor **out, mf_tensor *t, int64_t dim, int keepdim);
/* Largest (smallest with is_min) values and their 0-based indices; the first
 * occurrence wins ties; NaN counts as largest and smallest (it propagates). */
mf_status mf_tensor_max(mf_tensor **values, mf_tensor **indices, mf_tensor *t, int64_t dim,
                        int keepdim, int is_min);
/* Variance with the given correction (1: unbiased, 0: population). */
mf_status mf_tensor_var(mf_tensor **out, mf_tensor *t, int64_t dim, int keepdim, int correction);
mf_status mf_tensor_cumsum(mf_tensor **out, mf_tensor *t, int64_t dim);

#endif
