/*
 * mf_op.h — the op table. One record per primitive op: its name, arity,
 * flags, shape rule (`infer`), forward kernel and backward rule. Everything
 * that computes tensors from tensors goes through mf_op_run (new outputs) or
 * mf_op_run_into (given outputs: out=, in-place), the one place where
 * autograd will record the graph.
 *
 * Derived ops are compositions and have no record of their own: transpose is
 * a permute, select is narrow + view, squeeze/unsqueeze are views, reshape is
 * a view or clone + view, sub is add with alpha -1, mean is sum / n, ...
 *
 * Error arguments: an op's infer rule names arguments by their position in
 * the operation as a user writes it, tensor first (`t:narrow(dim, start, len)`
 * → t = 1, dim = 2, start = 3, len = 4), so the binding can report them as is.
 */
#ifndef MF_OP_H
#define MF_OP_H

#include "mf_tensor.h"

/* Sections are kept in this order; each adds its ids before the next marker. */
typedef enum mf_op_id {
    /* -- copies and views (mf_op_shape.c) */
    MF_OP_CLONE,        /* contiguous copy                       */
    MF_OP_CAST,         /* copy to params.dtype                  */
    MF_OP_VIEW,         /* new shape over the same elements      */
    MF_OP_PERMUTE,      /* reorder dims                          */
    MF_OP_NARROW,       /* sub-range [start, start+len) of a dim */
    MF_OP_EXPAND,       /* broadcast size-1 dims (stride 0)      */
    MF_OP_INDEX_SELECT, /* gather slices along a dim             */
    /* -- elementwise (mf_op_elem.c) */
    /* -- reductions (mf_op_reduce.c) */
    /* -- linear algebra (mf_op_linalg.c) */
    /* -- selection and reordering (mf_op_select.c) */
    MF_OP_COUNT
} mf_op_id;

enum {
    MF_OPF_VIEW = 1u << 0, /* output aliases input 0: infer gives strides + offset */
    MF_OPF_DIFF = 1u << 1, /* differentiable: must have a backward rule + a gradient test */
};

#define MF_OP_MAX_IN 4
#define MF_OP_MAX_OUT 3
#define MF_OP_VARIADIC (-1) /* n_in of ops taking any number of inputs (cat) */

/* Non-tensor arguments. Each op documents which fields it reads. */
typedef struct mf_op_params {
    int n_ints;
    int64_t ints[MF_MAX_DIMS];
    double scalars[4];
    mf_dtype dtype;
} mf_op_params;

typedef struct mf_op_args {
    int n_in;
    mf_tensor *const *in;
    const mf_op_params *p;
} mf_op_args;

/* Output layouts of the op on these inputs (dtype and shape; for views also
 * strides and offset relative to input 0's storage), or an error naming the
 * argument. Never allocates. */
typedef mf_status (*mf_op_infer_fn)(const mf_op_args *a, mf_layout *out);
/* Fills the outputs, tensors of the inferred dtypes and shapes (fresh and
 * contiguous from mf_op_run; any strides from mf_op_run_into, possibly one of
 * the inputs for in-place forms). */
typedef mf_status (*mf_op_forward_fn)(const mf_op_args *a, mf_tensor *const *out);
/* Gradients of the inputs from the gradients of the outputs (filled in by the
 * autograd issue; NULL where the op is not differentiable yet). grad_in[i] is
 * left NULL for inputs that take no gradient. */
typedef mf_status (*mf_op_backward_fn)(const mf_op_args *a, mf_tensor *const *out,
                                       mf_tensor *const *grad_out, mf_tensor **grad_in);

typedef struct mf_op {
    const char *name;
    int n_in;  /* or MF_OP_VARIADIC */
    int n_out; /* 1 .. MF_OP_MAX_OUT */
    unsigned flags;
    mf_op_infer_fn infer;
    mf_op_forward_fn forward; /* NULL for views */
    mf_op_backward_fn backward;
} mf_op;

const mf_op *mf_op_get(mf_op_id id);
int mf_op_count(void);
/* Runs op `id` on n_in inputs: infer, then views or new tensors + forward.
 * out has room for the op's n_out results (new references). */
mf_status mf_op_run(mf_op_id id, int n_in, mf_tensor *const *in, const mf_op_params *p,
                    mf_tensor **out);
/* Runs op `id` into existing outputs, whose dtypes and shapes must be the
 * inferred ones (error naming argument `out_arg` otherwise). Not for views. */
mf_status mf_op_run_into(mf_op_id id, int n_in, mf_tensor *const *in, const mf_op_params *p,
                         mf_tensor *const *out, int out_arg);
/* Shorthand: one input, one new output. */
mf_status mf_op_run1(mf_op_id id, mf_tensor *in, const mf_op_params *p, mf_tensor **out);

#endif
