/* mf_op.c — the op table and the entry points that run an op. */
#include "mf_op.h"

#include <assert.h>
#include <string.h>

#include "mf_autograd.h"
#include "mf_op_impl.h"

static const mf_op *const mf_ops[] = {
    /* -- copies and views */
    [MF_OP_CLONE] = &mf_oprec_clone,
    [MF_OP_CAST] = &mf_oprec_cast,
    [MF_OP_VIEW] = &mf_oprec_view,
    [MF_OP_PERMUTE] = &mf_oprec_permute,
    [MF_OP_NARROW] = &mf_oprec_narrow,
    [MF_OP_EXPAND] = &mf_oprec_expand,
    [MF_OP_INDEX_SELECT] = &mf_oprec_index_select,
    /* -- elementwise */
    [MF_OP_NEG] = &mf_oprec_neg,
    [MF_OP_EXP] = &mf_oprec_exp,
    [MF_OP_LOG] = &mf_oprec_log,
    [MF_OP_LOG1P] = &mf_oprec_log1p,
    [MF_OP_EXPM1] = &mf_oprec_expm1,
    [MF_OP_SQRT] = &mf_oprec_sqrt,
    [MF_OP_RSQRT] = &mf_oprec_rsqrt,
    [MF_OP_ABS] = &mf_oprec_abs,
    [MF_OP_SIGN] = &mf_oprec_sign,
    [MF_OP_SIN] = &mf_oprec_sin,
    [MF_OP_COS] = &mf_oprec_cos,
    [MF_OP_TANH] = &mf_oprec_tanh,
    [MF_OP_SIGMOID] = &mf_oprec_sigmoid,
    [MF_OP_RELU] = &mf_oprec_relu,
    [MF_OP_ERF] = &mf_oprec_erf,
    [MF_OP_FLOOR] = &mf_oprec_floor,
    [MF_OP_CEIL] = &mf_oprec_ceil,
    [MF_OP_ROUND] = &mf_oprec_round,
    [MF_OP_CLAMP] = &mf_oprec_clamp,
    [MF_OP_NAN_TO_NUM] = &mf_oprec_nan_to_num,
    [MF_OP_ISNAN] = &mf_oprec_isnan,
    [MF_OP_ISFINITE] = &mf_oprec_isfinite,
    [MF_OP_LOGICAL_NOT] = &mf_oprec_logical_not,
    [MF_OP_ADD] = &mf_oprec_add,
    [MF_OP_MUL] = &mf_oprec_mul,
    [MF_OP_DIV] = &mf_oprec_div,
    [MF_OP_POW] = &mf_oprec_pow,
    [MF_OP_REMAINDER] = &mf_oprec_remainder,
    [MF_OP_FLOOR_DIVIDE] = &mf_oprec_floor_divide,
    [MF_OP_MAXIMUM] = &mf_oprec_maximum,
    [MF_OP_MINIMUM] = &mf_oprec_minimum,
    [MF_OP_GT] = &mf_oprec_gt,
    [MF_OP_GE] = &mf_oprec_ge,
    [MF_OP_LT] = &mf_oprec_lt,
    [MF_OP_LE] = &mf_oprec_le,
    [MF_OP_EQ] = &mf_oprec_eq,
    [MF_OP_NE] = &mf_oprec_ne,
    [MF_OP_LOGICAL_AND] = &mf_oprec_logical_and,
    [MF_OP_LOGICAL_OR] = &mf_oprec_logical_or,
    [MF_OP_LOGICAL_XOR] = &mf_oprec_logical_xor,
    [MF_OP_WHERE] = &mf_oprec_where,
    /* -- reductions */
    [MF_OP_SUM] = &mf_oprec_sum,
    [MF_OP_PROD] = &mf_oprec_prod,
    [MF_OP_MAX] = &mf_oprec_max,
    [MF_OP_MIN] = &mf_oprec_min,
    [MF_OP_VAR] = &mf_oprec_var,
    [MF_OP_LOGSUMEXP] = &mf_oprec_logsumexp,
    [MF_OP_ALL] = &mf_oprec_all,
    [MF_OP_ANY] = &mf_oprec_any,
    [MF_OP_CUMSUM] = &mf_oprec_cumsum,
    /* -- linear algebra */
    [MF_OP_MATMUL] = &mf_oprec_matmul,
    [MF_OP_ADDMM] = &mf_oprec_addmm,
    [MF_OP_SOLVE] = &mf_oprec_solve,
    [MF_OP_INV] = &mf_oprec_inv,
    [MF_OP_DET] = &mf_oprec_det,
    [MF_OP_CHOLESKY] = &mf_oprec_cholesky,
    [MF_OP_QR] = &mf_oprec_qr,
    [MF_OP_SVD] = &mf_oprec_svd,
    [MF_OP_EIGH] = &mf_oprec_eigh,
    [MF_OP_LSTSQ] = &mf_oprec_lstsq,
    /* -- selection and reordering */
    [MF_OP_CAT] = &mf_oprec_cat,
    [MF_OP_FLIP] = &mf_oprec_flip,
    [MF_OP_SORT] = &mf_oprec_sort,
    [MF_OP_UNIQUE_CONSECUTIVE] = &mf_oprec_unique_consecutive,
    [MF_OP_GATHER] = &mf_oprec_gather,
    [MF_OP_SCATTER_ADD] = &mf_oprec_scatter_add,
    [MF_OP_MASKED_SELECT] = &mf_oprec_masked_select,
    [MF_OP_NONZERO] = &mf_oprec_nonzero,
    [MF_OP_BINCOUNT] = &mf_oprec_bincount,
    [MF_OP_HISTC] = &mf_oprec_histc,
};
static_assert(sizeof mf_ops / sizeof mf_ops[0] == MF_OP_COUNT,
              "every mf_op_id needs a record in mf_ops");

const mf_op *mf_op_get(mf_op_id id)
{
    return (unsigned)id < MF_OP_COUNT ? mf_ops[id] : NULL;
}

int mf_op_count(void) { return MF_OP_COUNT; }

static const mf_op_params mf_no_params;

/* Checks the call and infers the output layouts. */
static mf_status prepare(const mf_op *op, mf_op_id id, const mf_op_args *a, mf_layout *l)
{
    if (!op || !op->infer) return mf_error_set(MF_EINVAL, 0, "unknown op %d", (int)id);
    if (op->n_in != MF_OP_VARIADIC && a->n_in != op->n_in)
        return mf_error_set(MF_EINVAL, 0, "%s takes %d inputs, got %d", op->name, op->n_in,
                            a->n_in);
    if (a->n_in < 1) return mf_error_set(MF_EINVAL, 1, "%s: no input", op->name);
    for (int i = 0; i < a->n_in; i++)
        if (!a->in[i]) return mf_error_set(MF_EINVAL, i + 1, "%s: missing input", op->name);
    return op->infer(a, l);
}

mf_status mf_op_run(mf_op_id id, int n_in, mf_tensor *const *in, const mf_op_params *p,
                    mf_tensor **out)
{
    const mf_op *op = mf_op_get(id);
    mf_layout l[MF_OP_MAX_OUT];
    mf_op_args a = {n_in, in, p ? p : &mf_no_params};
    int n_out = op ? op->n_out : 1;
    for (int k = 0; k < n_out; k++) out[k] = NULL;
    mf_status st = prepare(op, id, &a, l);
    if (st) return st;
    if (op->flags & MF_OPF_VIEW) st = mf_tensor_view(out, in[0], &l[0]);
    for (int k = 0; k < n_out && st == MF_OK && !(op->flags & MF_OPF_VIEW); k++)
        st = mf_tensor_new(&out[k], l[k].dtype, l[k].ndim, l[k].shape);
    if (st == MF_OK && !(op->flags & MF_OPF_VIEW)) st = op->forward(&a, out);
    if (st == MF_OK) st = mf_autograd_record(id, &a, out, n_out);
    if (st) {
        for (int k = 0; k < n_out; k++) {
            mf_tensor_release(out[k]);
            out[k] = NULL;
        }
    }
    return st;
}

mf_status mf_op_run_into(mf_op_id id, int n_in, mf_tensor *const *in, const mf_op_params *p,
                         mf_tensor *const *out, int out_arg)
{
    const mf_op *op = mf_op_get(id);
    mf_layout l[MF_OP_MAX_OUT];
    mf_op_args a = {n_in, in, p ? p : &mf_no_params};
    mf_status st = prepare(op, id, &a, l);
    if (st) return st;
    if (op->flags & MF_OPF_VIEW)
        return mf_error_set(MF_EINVAL, out_arg, "%s is a view: it has no out= form", op->name);
    for (int k = 0; k < op->n_out; k++) {
        const mf_tensor *o = out[k];
        if (o && mf_tensor_is_self_overlapping(o)) {
            char a1[MF_SHAPE_STRLEN];
            return mf_error_set(MF_EINVAL, out_arg,
                                "%s: cannot write into an expanded %s tensor: several elements "
                                "share one memory location (clone it first)",
                                op->name, mf_shape_str(a1, sizeof a1, o->ndim, o->shape));
        }
        int dtype_ok = o && (o->dtype == l[k].dtype || ((op->flags & MF_OPF_ELEMENTWISE) &&
                                                        mf_dtype_can_cast(l[k].dtype, o->dtype)));
        int same = o && dtype_ok && o->ndim == l[k].ndim &&
                   memcmp(o->shape, l[k].shape, sizeof(int64_t) * (size_t)l[k].ndim) == 0;
        if (!same) {
            char a1[MF_SHAPE_STRLEN], a2[MF_SHAPE_STRLEN];
            if (!o) return mf_error_set(MF_EINVAL, out_arg, "%s: missing output", op->name);
            return mf_error_set(MF_EINVAL, out_arg, "%s: result is %s %s, out is %s %s",
                                op->name, mf_dtype_name(l[k].dtype),
                                mf_shape_str(a1, sizeof a1, l[k].ndim, l[k].shape),
                                mf_dtype_name(o->dtype),
                                mf_shape_str(a2, sizeof a2, o->ndim, o->shape));
        }
    }
    if (mf_grad_enabled()) {
        for (int k = 0; k < op->n_out; k++)
            if (out[k]->requires_grad)
                return mf_autograd_check_inplace(out[k], out_arg); /* the in-place error */
        if (op->flags & MF_OPF_DIFF)
            for (int i = 0; i < n_in; i++)
                if (in[i]->requires_grad)
                    return mf_error_set(MF_EINVAL, out_arg,
                                        "%s: out= forms do not record gradients and an input "
                                        "requires grad (use the out-of-place form, or no_grad)",
                                        op->name);
    }
    for (int k = 0; k < op->n_out; k++) {
        st = mf_autograd_check_inplace(out[k], out_arg);
        if (st) return st;
    }
    return op->forward(&a, out);
}

mf_status mf_op_run1(mf_op_id id, mf_tensor *in, const mf_op_params *p, mf_tensor **out)
{
    return mf_op_run(id, 1, &in, p, out);
}
