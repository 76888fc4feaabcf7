/*
 * mf_grad.h — internal: helpers for writing backward rules as expressions.
 *
 * A rule builds its gradients from ordinary ops. A scope keeps every
 * temporary and the first error: each helper returns NULL once an error
 * happened (so expressions nest without checks), and gscope_finish hands the
 * result out as a new reference and releases the temporaries:
 *
 *     gscope s = {0};
 *     return gscope_finish(&s, gmul(&s, g[0], out[0]), &grad_in[0]);  // exp
 */
#ifndef MF_GRAD_H
#define MF_GRAD_H

#include "mf_autograd.h"
#include "mf_math.h"

#define GSCOPE_MAX 32

typedef struct gscope {
    mf_tensor *keep[GSCOPE_MAX];
    int n;
    mf_status st;
} gscope;

/* Keeps *pt, the result of a call that returned st. (A pointer, so that it
 * is read after the call: C does not order the evaluation of arguments.) */
static inline mf_tensor *gkeep(gscope *s, mf_status st, mf_tensor **pt)
{
    mf_tensor *t = *pt;
    if (st) {
        if (!s->st) s->st = st;
        return NULL;
    }
    if (s->n == GSCOPE_MAX) {
        mf_tensor_release(t);
        s->st = mf_error_set(MF_EINVAL, 0, "backward rule: too many temporaries");
        return NULL;
    }
    s->keep[s->n++] = t;
    return t;
}

static inline mf_tensor *gbin(gscope *s, mf_op_id op, mf_tensor *a, mf_tensor *b)
{
    mf_tensor *o = NULL;
    if (s->st || !a || !b) return NULL;
    return gkeep(s, mf_tensor_binary(op, &o, a, b), &o);
}

static inline mf_tensor *gun(gscope *s, mf_op_id op, mf_tensor *a)
{
    mf_tensor *o = NULL;
    if (s->st || !a) return NULL;
    return gkeep(s, mf_op_run1(op, a, NULL, &o), &o);
}

static inline mf_tensor *gmul(gscope *s, mf_tensor *a, mf_tensor *b)
{
    return gbin(s, MF_OP_MUL, a, b);
}

/* a - b */
static inline mf_tensor *gsub(gscope *s, mf_tensor *a, mf_tensor *b)
{
    mf_tensor *o = NULL;
    if (s->st || !a || !b) return NULL;
    return gkeep(s, mf_tensor_add(&o, a, b, -1.0), &o);
}

/* a * k and a + k, k a number in a's dtype */
static inline mf_tensor *gscal_op(gscope *s, mf_op_id op, mf_tensor *a, double k)
{
    union {
        float f;
        double d;
    } v;
    mf_tensor hk;
    if (s->st || !a) return NULL;
    if (a->dtype == MF_FLOAT32) {
        v.f = (float)k;
        mf_tensor_borrow_scalar(&hk, MF_FLOAT32, &v.f);
    } else {
        v.d = k;
        mf_tensor_borrow_scalar(&hk, MF_FLOAT64, &v.d);
    }
    return gbin(s, op, a, &hk);
}
static inline mf_tensor *gscale(gscope *s, mf_tensor *a, double k) { return gscal_op(s, MF_OP_MUL, a, k); }
static inline mf_tensor *gaddk(gscope *s, mf_tensor *a, double k) { return gscal_op(s, MF_OP_ADD, a, k); }

/* mask ? a : 0 (mask bool) */
static inline mf_tensor *gwhere0(gscope *s, mf_tensor *mask, mf_tensor *a)
{
    mf_tensor *o = NULL, zero;
    double z = 0;
    float zf = 0;
    if (s->st || !mask || !a) return NULL;
    if (a->dtype == MF_FLOAT32) mf_tensor_borrow_scalar(&zero, MF_FLOAT32, &zf);
    else mf_tensor_borrow_scalar(&zero, MF_FLOAT64, &z);
    return gkeep(s, mf_tensor_where(&o, mask, a, &zero), &o);
}

/* g summed down to the shape of `like` (undoes broadcasting) */
static inline mf_tensor *gunbroadcast(gscope *s, mf_tensor *g, const mf_tensor *like)
{
    mf_tensor *o = NULL;
    if (s->st || !g) return NULL;
    return gkeep(s, mf_grad_unbroadcast(&o, g, like->ndim, like->shape), &o);
}

/* Hands `result` out as a new reference in *dst and releases the scope. */
static inline mf_status gscope_finish(gscope *s, mf_tensor *result, mf_tensor **dst)
{
    mf_status st = s->st;
    if (!st && result && dst) {
        mf_tensor_retain(result);
        *dst = result;
    }
    for (int i = 0; i < s->n; i++) mf_tensor_release(s->keep[i]);
    s->n = 0;
    return st;
}

/* Two results (binary ops): each unbroadcast to its input's shape. */
static inline mf_status gscope_finish2(gscope *s, mf_tensor *ga, mf_tensor *gb,
                                       const mf_op_args *a, mf_tensor **grad_in)
{
    mf_tensor *ra = a->in[0]->requires_grad ? gunbroadcast(s, ga, a->in[0]) : NULL;
    mf_tensor *rb = a->in[1]->requires_grad ? gunbroadcast(s, gb, a->in[1]) : NULL;
    mf_status st = s->st;
    if (!st) {
        if (ra) {
            mf_tensor_retain(ra);
            grad_in[0] = ra;
        }
        if (rb) {
            mf_tensor_retain(rb);
            grad_in[1] = rb;
        }
    }
    gscope_finish(s, NULL, NULL);
    return st;
}

/* a OP k for a comparison OP and a number k (a mask) */
static inline mf_tensor *gcmpk(gscope *s, mf_op_id op, mf_tensor *a, double k)
{
    return gscal_op(s, op, a, k);
}

#endif
