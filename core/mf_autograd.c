/* mf_autograd.c — the graph of recorded ops and the backward pass. */
#include "mf_autograd.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "mf_math.h"

struct mf_node {
    long refs;
    mf_op_id op;
    mf_op_params p;
    int n_in, n_out;
    mf_tensor **in;              /* retained inputs (borrowed scalars copied) */
    unsigned long *in_version;   /* their storage versions when recorded */
    mf_tensor *out[MF_OP_MAX_OUT]; /* views of the outputs (no grad_fn: no cycle) */
    unsigned long out_version[MF_OP_MAX_OUT];
    /* backward pass scratch */
    mf_tensor *gacc[MF_OP_MAX_OUT]; /* accumulated gradients of the outputs */
    unsigned long mark;
};

static _Thread_local int grad_off; /* 0: grad mode on */

int mf_grad_enabled(void) { return !grad_off; }

int mf_set_grad_enabled(int on)
{
    int was = !grad_off;
    grad_off = !on;
    return was;
}

/* ---------------------------------------------------------------- nodes */
void mf_node_retain(mf_node *n)
{
    if (n) n->refs++;
}

void mf_node_release(mf_node *n)
{
    if (!n || --n->refs > 0) return;
    for (int i = 0; i < n->n_in; i++) mf_tensor_release(n->in[i]);
    for (int k = 0; k < n->n_out; k++) {
        mf_tensor_release(n->out[k]);
        mf_tensor_release(n->gacc[k]);
    }
    mf_free(n->in);
    mf_free(n->in_version);
    mf_free(n);
}

/* A header of our own over t's elements, cut from the graph. */
static mf_status plain_view(mf_tensor **out, mf_tensor *t)
{
    mf_layout l = {t->ndim, t->dtype, {0}, {0}, t->offset};
    memcpy(l.shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
    memcpy(l.stride, t->stride, sizeof(int64_t) * (size_t)t->ndim);
    if (!t->storage) return mf_tensor_clone(out, t); /* borrowed scalar: copy */
    return mf_tensor_view(out, t, &l);
}

mf_status mf_autograd_record(mf_op_id id, const mf_op_args *a, mf_tensor *const *out, int n_out)
{
    const mf_op *op = mf_op_get(id);
    int any = 0;
    if (grad_off || !(op->flags & MF_OPF_DIFF)) return MF_OK;
    for (int i = 0; i < a->n_in && !any; i++) any = a->in[i]->requires_grad;
    if (!any) return MF_OK;

    mf_node *n = mf_calloc(1, sizeof *n);
    if (!n) return mf_error_set(MF_ENOMEM, 0, "not enough memory");
    n->refs = 1;
    n->op = id;
    n->p = *a->p;
    n->n_out = n_out;
    n->in = mf_calloc((size_t)a->n_in, sizeof *n->in);
    n->in_version = mf_calloc((size_t)a->n_in, sizeof *n->in_version);
    mf_status st = n->in && n->in_version ? MF_OK : mf_error_set(MF_ENOMEM, 0, "not enough memory");
    for (int i = 0; i < a->n_in && st == MF_OK; i++, n->n_in++) {
        mf_tensor *t = a->in[i];
        if (t->storage) {
            mf_tensor_retain(t);
            n->in[i] = t;
        } else {
            st = mf_tensor_clone(&n->in[i], t); /* a borrowed scalar dies with the call */
        }
        if (st == MF_OK) n->in_version[i] = mf_tensor_version(n->in[i]);
    }
    for (int k = 0; k < n_out && st == MF_OK; k++) {
        st = plain_view(&n->out[k], out[k]);
        n->out_version[k] = mf_tensor_version(out[k]);
    }
    if (st) {
        mf_node_release(n);
        return st;
    }
    for (int k = 0; k < n_out; k++) {
        if (!mf_dtype_is_float(out[k]->dtype)) continue; /* indices, masks: no gradient */
        mf_node_release(out[k]->grad_fn);
        mf_node_retain(n);
        out[k]->grad_fn = n;
        out[k]->out_index = k;
        out[k]->requires_grad = 1;
    }
    mf_node_release(n); /* the outputs hold it now (or nobody: freed) */
    return MF_OK;
}

mf_status mf_autograd_check_inplace(mf_tensor *t, int arg)
{
    if (t->requires_grad && !grad_off)
        return mf_error_set(MF_EINVAL, arg,
                            "in-place operation on a tensor that requires grad (use the "
                            "out-of-place form, or run it under no_grad)");
    mf_tensor_bump_version(t);
    return MF_OK;
}

/* ---------------------------------------------------------------- leaves */
mf_status mf_tensor_requires_grad_(mf_tensor *t, int on)
{
    if (on && !mf_dtype_is_float(t->dtype))
        return mf_error_set(MF_EINVAL, 1, "only float tensors can require grad, got %s",
                            mf_dtype_name(t->dtype));
    if (!on && t->grad_fn)
        return mf_error_set(MF_EINVAL, 1,
                            "cannot stop a non-leaf tensor from requiring grad (use detach)");
    if (!t->storage) return mf_error_set(MF_EINVAL, 1, "a borrowed scalar cannot require grad");
    t->requires_grad = on != 0;
    return MF_OK;
}

mf_status mf_tensor_detach(mf_tensor **out, mf_tensor *t)
{
    return plain_view(out, t);
}

mf_status mf_tensor_set_grad(mf_tensor *t, mf_tensor *grad)
{
    if (grad) {
        char a[MF_SHAPE_STRLEN], b[MF_SHAPE_STRLEN];
        if (grad->ndim != t->ndim ||
            memcmp(grad->shape, t->shape, sizeof(int64_t) * (size_t)t->ndim) != 0)
            return mf_error_set(MF_EINVAL, 2, "gradient of shape %s for a tensor of shape %s",
                                mf_shape_str(a, sizeof a, grad->ndim, grad->shape),
                                mf_shape_str(b, sizeof b, t->ndim, t->shape));
        if (grad->dtype != t->dtype)
            return mf_error_set(MF_EINVAL, 2, "gradient of dtype %s for a %s tensor",
                                mf_dtype_name(grad->dtype), mf_dtype_name(t->dtype));
        mf_tensor_retain(grad);
    }
    mf_tensor_release(t->grad);
    t->grad = grad;
    return MF_OK;
}

const char *mf_tensor_grad_fn_name(const mf_tensor *t)
{
    return t->grad_fn ? mf_op_get(t->grad_fn->op)->name : NULL;
}

/* ---------------------------------------------------------------- helpers */
mf_status mf_grad_unbroadcast(mf_tensor **out, mf_tensor *g, int ndim, const int64_t *shape)
{
    mf_tensor *cur = g, *next;
    mf_tensor_retain(g);
    /* leading dims the input did not have */
    while (cur->ndim > ndim) {
        mf_status st = mf_tensor_reduce(MF_OP_SUM, &next, cur, 0, 0);
        mf_tensor_release(cur);
        if (st) return st;
        cur = next;
    }
    /* dims where the input had size 1 */
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 1 && cur->shape[d] != 1) {
            mf_status st = mf_tensor_reduce(MF_OP_SUM, &next, cur, d, 1);
            mf_tensor_release(cur);
            if (st) return st;
            cur = next;
        }
    }
    *out = cur;
    return MF_OK;
}

/* g1 + g2 into a new tensor (gradients meeting at one tensor). */
static mf_status add_grads(mf_tensor **acc, mf_tensor *g)
{
    if (!*acc) {
        mf_tensor_retain(g);
        *acc = g;
        return MF_OK;
    }
    mf_tensor *sum;
    mf_status st = mf_tensor_add(&sum, *acc, g, 1.0);
    if (st) return st;
    mf_tensor_release(*acc);
    *acc = sum;
    return MF_OK;
}

/* g in the shape and dtype of t (a rule may give another float dtype). */
static mf_status match_input(mf_tensor **out, mf_tensor *g, const mf_tensor *t, const char *op)
{
    char a[MF_SHAPE_STRLEN], b[MF_SHAPE_STRLEN];
    if (g->ndim != t->ndim || memcmp(g->shape, t->shape, sizeof(int64_t) * (size_t)t->ndim))
        return mf_error_set(MF_EINVAL, 0, "backward of %s gave a gradient of shape %s for an input of shape %s",
                            op, mf_shape_str(a, sizeof a, g->ndim, g->shape),
                            mf_shape_str(b, sizeof b, t->ndim, t->shape));
    if (g->dtype == t->dtype) {
        mf_tensor_retain(g);
        *out = g;
        return MF_OK;
    }
    return mf_tensor_to(out, g, t->dtype);
}

/* Adds g into the leaf's grad: a fresh contiguous tensor of its own the
 * first time (never a view of something else), in place afterwards. */
static mf_status accumulate_leaf(mf_tensor *leaf, mf_tensor *g)
{
    if (!leaf->grad) {
        if (mf_tensor_is_contiguous(g) && g->refs == 1 && !mf_tensor_is_self_overlapping(g)) {
            mf_tensor_retain(g);
            leaf->grad = g;
            return MF_OK;
        }
        return mf_tensor_clone(&leaf->grad, g);
    }
    mf_tensor *in[2] = {leaf->grad, g};
    mf_op_params p = {0};
    p.scalars[0] = 1;
    mf_tensor_bump_version(leaf->grad);
    return mf_op_run_into(MF_OP_ADD, 2, in, &p, &leaf->grad, 1);
}

/* ---------------------------------------------------------------- backward */
typedef struct {
    mf_node **v;
    size_t n, cap;
} node_list;

static mf_status push(node_list *l, mf_node *n)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        mf_node **v = mf_malloc(cap * sizeof *v);
        if (!v) return mf_error_set(MF_ENOMEM, 0, "not enough memory");
        if (l->n) memcpy(v, l->v, l->n * sizeof *v);
        mf_free(l->v);
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = n;
    return MF_OK;
}

/* Nodes reachable from root, each after every node that consumes its
 * outputs (reverse post-order of a depth-first walk, without recursion). */
typedef struct {
    mf_node *node;
    int next; /* next input to visit */
} frame;

static mf_status topo_order(mf_node *root, node_list *order)
{
    static atomic_ulong generation;
    unsigned long mark = atomic_fetch_add(&generation, 1) + 1;
    node_list post = {0};
    frame *stack = NULL;
    size_t depth = 0, cap = 0;
    mf_status st = MF_OK;
    mf_node *visit = root;
    root->mark = mark;
    for (;;) {
        if (visit) { /* push */
            if (depth == cap) {
                size_t ncap = cap ? 2 * cap : 64;
                frame *ns = mf_malloc(ncap * sizeof *ns);
                if (!ns) {
                    st = mf_error_set(MF_ENOMEM, 0, "not enough memory");
                    break;
                }
                if (depth) memcpy(ns, stack, depth * sizeof *ns);
                mf_free(stack);
                stack = ns;
                cap = ncap;
            }
            stack[depth].node = visit;
            stack[depth].next = 0;
            depth++;
            visit = NULL;
        }
        if (!depth) break;
        frame *f = &stack[depth - 1];
        if (f->next < f->node->n_in) {
            mf_tensor *in = f->node->in[f->next++];
            mf_node *c = in->requires_grad ? in->grad_fn : NULL;
            if (c && c->mark != mark) {
                c->mark = mark;
                visit = c;
            }
        } else {
            st = push(&post, f->node);
            if (st) break;
            depth--;
        }
    }
    mf_free(stack);
    if (st) {
        mf_free(post.v);
        return st;
    }
    /* reverse: root first */
    for (size_t a = 0, b = post.n ? post.n - 1 : 0; a < b; a++, b--) {
        mf_node *t = post.v[a];
        post.v[a] = post.v[b];
        post.v[b] = t;
    }
    *order = post;
    return MF_OK;
}

static mf_status check_versions(const mf_node *n)
{
    const char *name = mf_op_get(n->op)->name;
    for (int i = 0; i < n->n_in; i++)
        if (mf_tensor_version(n->in[i]) != n->in_version[i])
            return mf_error_set(MF_EINVAL, 0,
                                "input %d of %s, needed for the gradient, was modified in place "
                                "after it was used (version %lu, expected %lu)",
                                i + 1, name, mf_tensor_version(n->in[i]), n->in_version[i]);
    for (int k = 0; k < n->n_out; k++)
        if (mf_tensor_version(n->out[k]) != n->out_version[k])
            return mf_error_set(MF_EINVAL, 0,
                                "the result of %s, needed for the gradient, was modified in place "
                                "(version %lu, expected %lu)",
                                name, mf_tensor_version(n->out[k]), n->out_version[k]);
    return MF_OK;
}

/* Runs one node's rule and hands the input gradients on. */
static mf_status backward_node(mf_node *n)
{
    const mf_op *op = mf_op_get(n->op);
    int flows = 0;
    for (int k = 0; k < n->n_out; k++) flows |= n->gacc[k] != NULL;
    if (!flows) return MF_OK;
    if (!op->backward)
        return mf_error_set(MF_EINVAL, 0, "%s has no backward rule yet", op->name);
    mf_status st = check_versions(n);
    if (st) return st;
    mf_tensor *gin[64] = {0}, **grad_in = gin;
    if (n->n_in > 64) {
        grad_in = mf_calloc((size_t)n->n_in, sizeof *grad_in);
        if (!grad_in) return mf_error_set(MF_ENOMEM, 0, "not enough memory");
    }
    mf_op_args a = {n->n_in, n->in, &n->p};
    st = op->backward(&a, n->out, n->gacc, grad_in);
    for (int i = 0; i < n->n_in && st == MF_OK; i++) {
        mf_tensor *t = n->in[i];
        if (!grad_in[i] || !t->requires_grad) continue;
        mf_tensor *g;
        st = match_input(&g, grad_in[i], t, op->name);
        if (st) break;
        if (t->grad_fn) st = add_grads(&t->grad_fn->gacc[t->out_index], g);
        else st = accumulate_leaf(t, g);
        mf_tensor_release(g);
    }
    for (int i = 0; i < n->n_in; i++) mf_tensor_release(grad_in[i]);
    if (grad_in != gin) mf_free(grad_in);
    for (int k = 0; k < n->n_out; k++) {
        mf_tensor_release(n->gacc[k]);
        n->gacc[k] = NULL;
    }
    return st;
}

mf_status mf_tensor_backward(mf_tensor *t, mf_tensor *grad)
{
    mf_tensor *g = grad;
    mf_status st = MF_OK;
    if (!t->requires_grad)
        return mf_error_set(MF_EINVAL, 1, "the tensor does not require grad: no graph leads to it");
    if (!grad) {
        if (mf_tensor_numel(t) != 1) {
            char s[MF_SHAPE_STRLEN];
            return mf_error_set(MF_EINVAL, 1,
                                "backward() without a gradient needs a one-element tensor, got "
                                "shape %s (pass the gradient)",
                                mf_shape_str(s, sizeof s, t->ndim, t->shape));
        }
        st = mf_tensor_full(&g, t->dtype, t->ndim, t->shape, 1.0);
        if (st) return st;
    } else {
        st = match_input(&g, grad, t, "backward");
        if (st) { /* name the gradient argument */
            char msg[sizeof mf_error_get()->msg];
            memcpy(msg, mf_error_get()->msg, sizeof msg);
            return mf_error_set(MF_EINVAL, 2, "%s", msg);
        }
    }
    int was = mf_set_grad_enabled(0);
    if (!t->grad_fn) {
        st = accumulate_leaf(t, g);
    } else {
        node_list order = {0};
        st = topo_order(t->grad_fn, &order);
        if (st == MF_OK) st = add_grads(&t->grad_fn->gacc[t->out_index], g);
        for (size_t i = 0; i < order.n && st == MF_OK; i++) st = backward_node(order.v[i]);
        /* after an error, drop what is still accumulated */
        for (size_t i = 0; i < order.n; i++)
            for (int k = 0; k < order.v[i]->n_out; k++) {
                mf_tensor_release(order.v[i]->gacc[k]);
                order.v[i]->gacc[k] = NULL;
            }
        mf_free(order.v);
    }
    mf_set_grad_enabled(was);
    mf_tensor_release(g);
    return st;
}
