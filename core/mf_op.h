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
    MF_OP_NEG,
    MF_OP_EXP,
    MF_OP_LOG,
    MF_OP_LOG1P,
    MF_OP_EXPM1,
    MF_OP_SQRT,
    MF_OP_RSQRT,
    MF_OP_ABS,
    MF_OP_SIGN,
    MF_OP_SIN,
    MF_OP_COS,
    MF_OP_TANH,
    MF_OP_SIGMOID,
    MF_OP_RELU,
    MF_OP_ERF,
    MF_OP_FLOOR,
    MF_OP_CEIL,
    MF_OP_ROUND,
    MF_OP_CLAMP,      /* scalars[0..1]: lo, hi */
    MF_OP_NAN_TO_NUM, /* scalars[0..2]: for NaN, +inf, -inf */
    MF_OP_ISNAN,
    MF_OP_ISFINITE,
    MF_OP_LOGICAL_NOT,
    MF_OP_ADD, /* a + alpha * b, alpha = scalars[0] */
    MF_OP_MUL,
    MF_OP_DIV,
    MF_OP_POW,
    MF_OP_REMAINDER,
    MF_OP_FLOOR_DIVIDE,
    MF_OP_MAXIMUM,
    MF_OP_MINIMUM,
    MF_OP_GT,
    MF_OP_GE,
    MF_OP_LT,
    MF_OP_LE,
    MF_OP_EQ,
    MF_OP_NE,
    MF_OP_LOGICAL_AND,
    MF_OP_LOGICAL_OR,
    MF_OP_LOGICAL_XOR,
    MF_OP_WHERE, /* (mask, a, b) */
    /* -- reductions (mf_op_reduce.c); params: see mf_op_reduce.c */
    MF_OP_SUM,
    MF_OP_PROD,
    MF_OP_MAX, /* values, indices */
    MF_OP_MIN, /* values, indices */
    MF_OP_VAR,
    MF_OP_LOGSUMEXP,
    MF_OP_ALL,
    MF_OP_ANY,
    MF_OP_CUMSUM,
    /* -- linear algebra (mf_op_linalg.c) */
    MF_OP_MATMUL,       /* torch.matmul (gemm)                   */
    MF_OP_ADDMM,        /* beta c + alpha a b                    */
    MF_OP_SOLVE,        /* A X = B (LU)                          */
    MF_OP_INV,          /* inverse (LU)                          */
    MF_OP_DET,          /* determinant (LU)                      */
    MF_OP_CHOLESKY,     /* L L^T (ints[0]: upper)                */
    MF_OP_QR,           /* Q, R (ints[0]: mf_qr_mode)            */
    MF_OP_SVD,          /* U, S, Vh (ints[0]: full_matrices)     */
    MF_OP_EIGH,         /* eigenvalues, vectors (ints[0]: upper) */
    MF_OP_LSTSQ,        /* solution, residuals, rank (gelsd)     */
    /* -- selection and reordering (mf_op_select.c) */
    MF_OP_CAT,                /* variadic; ints[0]: dim                         */
    MF_OP_FLIP,               /* ints[0..n_ints-1]: dims                        */
    MF_OP_SORT,               /* ints[0]: dim, ints[1]: descending; 2 outputs   */
    MF_OP_UNIQUE_CONSECUTIVE, /* values, inverse, counts                        */
    MF_OP_GATHER,             /* (t, index); ints[0]: dim                       */
    MF_OP_SCATTER_ADD,        /* (t, index, src); ints[0]: dim                  */
    MF_OP_MASKED_SELECT,      /* (t, mask)                                      */
    MF_OP_NONZERO,            /* [count x ndim] int64 positions                 */
    MF_OP_BINCOUNT,           /* (t [, weights]); ints[0]: minlength            */
    MF_OP_HISTC,              /* ints[0]: bins; scalars[0..1]: min, max         */
    MF_OP_COUNT
} mf_op_id;

enum {
    MF_OPF_VIEW = 1u << 0, /* output aliases input 0: infer gives strides + offset */
    MF_OPF_DIFF = 1u << 1, /* differentiable: must have a backward rule + a gradient test */
    /* elementwise: mf_op_run_into may write into an output of another dtype
     * when the result can be cast to it (same kind: in-place forms) */
    MF_OPF_ELEMENTWISE = 1u << 2,
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
