/* mf_op.c — the op table and the entry points that run an op. */
#include "mf_op.h"

#include <assert.h>
#include <string.h>

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
    /* -- reductions */
    /* -- linear algebra */
    /* -- selection and reordering */
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
    if (op->flags & MF_OPF_VIEW) return mf_tensor_view(out, in[0], &l[0]);
    for (int k = 0; k < n_out && st == MF_OK; k++)
        st = mf_tensor_new(&out[k], l[k].dtype, l[k].ndim, l[k].shape);
    if (st == MF_OK) st = op->forward(&a, out);
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
        int same = o && o->dtype == l[k].dtype && o->ndim == l[k].ndim &&
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
    return op->forward(&a, out);
}

mf_status mf_op_run1(mf_op_id id, mf_tensor *in, const mf_op_params *p, mf_tensor **out)
{
    return mf_op_run(id, 1, &in, p, out);
}
