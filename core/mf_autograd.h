/*
 * mf_autograd.h — reverse-mode automatic differentiation.
 *
 * When grad mode is on and an input of a differentiable op requires grad,
 * mf_op_run records a node: the op, its parameters, its inputs (retained)
 * and views of its outputs, with the storage versions they had. The outputs
 * point at the node (grad_fn) and require grad; the node does not point at
 * its outputs' headers, so the graph of a step is freed when the step's
 * tensors are.
 *
 * mf_tensor_backward walks the graph from a tensor in reverse topological
 * order, calling each op record's backward rule (with grad mode off) and
 * adding the gradients of leaf tensors (those that require grad and were not
 * made by a recorded op) into their `grad`. A saved value changed in place
 * after it was recorded is detected by its storage version: an error, never
 * a wrong gradient. In-place ops on tensors that require grad are refused
 * while grad mode is on.
 */
#ifndef MF_AUTOGRAD_H
#define MF_AUTOGRAD_H

#include "mf_op.h"

typedef struct mf_node mf_node;

/* Grad mode of the calling thread (on by default). Returns the old mode. */
int mf_grad_enabled(void);
int mf_set_grad_enabled(int on);

/* Marks a leaf as requiring grad (float dtypes only). Turning it off on a
 * tensor made by a recorded op is an error (detach it instead). */
mf_status mf_tensor_requires_grad_(mf_tensor *t, int on);
/* Back-propagates from t: grad is dL/dt (NULL: 1 for a one-element t).
 * Gradients accumulate into the leaves' `grad` until zeroed. */
mf_status mf_tensor_backward(mf_tensor *t, mf_tensor *grad);
/* The same values (shared storage) cut from the graph. */
mf_status mf_tensor_detach(mf_tensor **out, mf_tensor *t);
/* Sets t->grad (retained; NULL clears it); checks shape and dtype. */
mf_status mf_tensor_set_grad(mf_tensor *t, mf_tensor *grad);
/* Name of the op that made t ("mul", ...), or NULL for a leaf. */
const char *mf_tensor_grad_fn_name(const mf_tensor *t);

void mf_node_retain(mf_node *n);
void mf_node_release(mf_node *n);

/* ---------------------------------------------------------------- for ops */
/* Called by mf_op_run after a successful forward. */
mf_status mf_autograd_record(mf_op_id id, const mf_op_args *a, mf_tensor *const *out, int n_out);
/* Called by the in-place paths before writing into t: refuses a tensor that
 * requires grad while grad mode is on (arg names it), and bumps its version. */
mf_status mf_autograd_check_inplace(mf_tensor *t, int arg);
/* The gradient of a broadcast input: g summed down to shape (ndim, shape). */
mf_status mf_grad_unbroadcast(mf_tensor **out, mf_tensor *g, int ndim, const int64_t *shape);

#endif
