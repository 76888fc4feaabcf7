/* mf_op.c — the op table and the one entry point that runs an op. */
#include "mf_op.h"

#include <assert.h>

#include "mf_op_impl.h"

static const mf_op *const mf_ops[] = {
    [MF_OP_CLONE] = &mf_oprec_clone,
    [MF_OP_CAST] = &mf_oprec_cast,
    [MF_OP_VIEW] = &mf_oprec_view,
    [MF_OP_PERMUTE] = &mf_oprec_permute,
    [MF_OP_NARROW] = &mf_oprec_narrow,
    [MF_OP_EXPAND] = &mf_oprec_expand,
    [MF_OP_INDEX_SELECT] = &mf_oprec_index_select,
};
static_assert(sizeof mf_ops / sizeof mf_ops[0] == MF_OP_COUNT,
              "every mf_op_id needs a record in mf_ops");

const mf_op *mf_op_get(mf_op_id id)
{
    return (unsigned)id < MF_OP_COUNT ? mf_ops[id] : NULL;
}

int mf_op_count(void) { return MF_OP_COUNT; }

mf_status mf_op_run(mf_op_id id, mf_tensor *const *in, const mf_op_params *p, mf_tensor **out)
{
    static const mf_op_params no_params;
    const mf_op *op = mf_op_get(id);
    mf_layout l;
    *out = NULL;
    if (!op || !op->infer) return mf_error_set(MF_EINVAL, 0, "unknown op %d", (int)id);
    for (int i = 0; i < op->n_in; i++)
        if (!in[i]) return mf_error_set(MF_EINVAL, i + 1, "%s: missing input", op->name);
    if (!p) p = &no_params;
    mf_status st = op->infer(in, p, &l);
    if (st) return st;
    if (op->flags & MF_OPF_VIEW) return mf_tensor_view(out, in[0], &l);
    st = mf_tensor_new(out, l.dtype, l.ndim, l.shape);
    if (st) return st;
    st = op->forward(in, p, *out);
    if (st) {
        mf_tensor_release(*out);
        *out = NULL;
    }
    return st;
}
