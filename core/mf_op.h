/*
 * mf_op.h — the op table. One record per primitive op: its name, arity,
 * flags, shape rule (`infer`), forward kernel and backward rule. Everything
 * that computes a tensor from tensors goes through mf_op_run, the one place
 * where autograd will record the graph.
 *
 * Derived ops are compositions and have no record of their own: transpose is
 * a permute, select is narrow + view, squeeze/unsqueeze are views, reshape is
 * a view or clone + view.
 *
 * Error arguments: an op's infer rule names arguments by their position in
 * the operation as a user writes it, tensor first (`t:narrow(dim, start, len)`
 * → t = 1, dim = 2, start = 3, len = 4), so the binding can report them as is.
 */
#ifndef MF_OP_H
#define MF_OP_H

#include "mf_tensor.h"

typedef enum mf_op_id {
    MF_OP_CLONE,        /* contiguous copy                       */
    MF_OP_CAST,         /* copy to params.dtype                  */
    MF_OP_VIEW,         /* new shape over the same elements      */
    MF_OP_PERMUTE,      /* reorder dims                          */
    MF_OP_NARROW,       /* sub-range [start, start+len) of a dim */
    MF_OP_EXPAND,       /* broadcast size-1 dims (stride 0)      */
    MF_OP_INDEX_SELECT, /* gather slices along a dim             */
    MF_OP_COUNT
} mf_op_id;

enum {
    MF_OPF_VIEW = 1u << 0, /* output aliases input 0: infer gives strides + offset */
    MF_OPF_DIFF = 1u << 1, /* differentiable: must have a backward rule + a gradient test */
};

#define MF_OP_MAX_IN 4

typedef struct mf_op_params {
    int n_ints;
    int64_t ints[MF_MAX_DIMS];
    double scalars[2];
    mf_dtype dtype;
} mf_op_params;

/* Output layout of the op on these inputs (dtype and shape; for views also
 * strides and offset relative to input 0's storage), or an error naming the
 * argument. Never allocates. */
typedef mf_status (*mf_op_infer_fn)(mf_tensor *const *in, const mf_op_params *p,
                                    mf_layout *out);
/* Fills `out`, a fresh contiguous tensor of the inferred layout. */
typedef mf_status (*mf_op_forward_fn)(mf_tensor *const *in, const mf_op_params *p,
                                      mf_tensor *out);
/* Gradients of the inputs from the gradient of the output (filled in by the
 * autograd issue; NULL where the op is not differentiable yet). grad_in[i] is
 * left NULL for inputs that take no gradient. */
typedef mf_status (*mf_op_backward_fn)(mf_tensor *const *in, const mf_op_params *p,
                                       const mf_tensor *out, mf_tensor *grad_out,
                                       mf_tensor **grad_in);

typedef struct mf_op {
    const char *name;
    int n_in;
    unsigned flags;
    mf_op_infer_fn infer;
    mf_op_forward_fn forward; /* NULL for views */
    mf_op_backward_fn backward;
} mf_op;

const mf_op *mf_op_get(mf_op_id id);
int mf_op_count(void);
/* Runs op `id` on n_in inputs: infer, then a view or a new tensor + forward. */
mf_status mf_op_run(mf_op_id id, mf_tensor *const *in, const mf_op_params *p, mf_tensor **out);

#endif
