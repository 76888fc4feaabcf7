/* mf_op_impl.h — internal: the op records, defined next to their kernels. */
#ifndef MF_OP_IMPL_H
#define MF_OP_IMPL_H

#include "mf_op.h"

/* mf_op_shape.c */
extern const mf_op mf_oprec_clone, mf_oprec_cast, mf_oprec_view, mf_oprec_permute,
    mf_oprec_narrow, mf_oprec_expand, mf_oprec_index_select;

/* mf_op_elem.c */
extern const mf_op mf_oprec_neg, mf_oprec_exp, mf_oprec_log, mf_oprec_log1p, mf_oprec_expm1, mf_oprec_sqrt, mf_oprec_rsqrt, mf_oprec_abs, mf_oprec_sign, mf_oprec_sin, mf_oprec_cos, mf_oprec_tanh, mf_oprec_sigmoid, mf_oprec_relu, mf_oprec_erf, mf_oprec_floor, mf_oprec_ceil, mf_oprec_round, mf_oprec_clamp, mf_oprec_nan_to_num, mf_oprec_isnan, mf_oprec_isfinite, mf_oprec_logical_not, mf_oprec_add, mf_oprec_mul, mf_oprec_div, mf_oprec_pow, mf_oprec_remainder, mf_oprec_floor_divide, mf_oprec_maximum, mf_oprec_minimum, mf_oprec_gt, mf_oprec_ge, mf_oprec_lt, mf_oprec_le, mf_oprec_eq, mf_oprec_ne, mf_oprec_logical_and, mf_oprec_logical_or, mf_oprec_logical_xor, mf_oprec_where;

/* mf_op_reduce.c */
extern const mf_op mf_oprec_sum, mf_oprec_prod, mf_oprec_max, mf_oprec_min, mf_oprec_var, mf_oprec_logsumexp, mf_oprec_all, mf_oprec_any, mf_oprec_cumsum;

/* mf_op_linalg.c */
extern const mf_op mf_oprec_matmul, mf_oprec_addmm, mf_oprec_solve, mf_oprec_inv, mf_oprec_det,
    mf_oprec_cholesky, mf_oprec_qr, mf_oprec_svd, mf_oprec_eigh, mf_oprec_lstsq;

/* mf_op_select.c */
extern const mf_op mf_oprec_cat, mf_oprec_flip, mf_oprec_sort, mf_oprec_unique_consecutive,
    mf_oprec_gather, mf_oprec_scatter_add, mf_oprec_masked_select, mf_oprec_nonzero,
    mf_oprec_bincount, mf_oprec_histc;

#endif
