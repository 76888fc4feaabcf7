/*
 * mf_op_elem.c — elementwise ops: unary maps, binary ops with NumPy
 * broadcasting and dtype promotion, and where().
 *
 * An op is a descriptor (one inner-loop kernel per compute dtype, and how its
 * output dtype is chosen) plus its record. One shared infer and one shared
 * forward per arity do the rest: pick the compute dtype, convert inputs that
 * are not in it, broadcast, and run the kernel over the walk (mf_iter), on
 * every thread of the one thread setting when the tensors are big.
 */
#include <math.h>
#include <string.h>

#include "mf_grad.h"
#include "mf_iter.h"
#include "mf_math.h"
#include "mf_op_impl.h"
#include "mf_thread.h"

/* Elements per thread below which a walk stays on one thread. */
#define ELEM_GRAIN (1 << 15)

typedef enum { OUT_SAME, OUT_BOOL, OUT_FLOAT } out_kind;

typedef struct elem_desc {
    mf_iter_fn k[MF_DTYPE_COUNT]; /* kernel by compute dtype; NULL: not defined there */
    out_kind out;                 /* OUT_FLOAT: integer inputs are computed in float32 */
    int mask_first;               /* input 1 is a bool mask (where), not promoted */
} elem_desc;

/* The dtype an op computes in for inputs promoting to dt: dt itself when
 * the op has a kernel for it, else the next one up (bool → int64 → float32). */
static mf_status compute_dtype(const mf_op *op, const elem_desc *d, mf_dtype dt, mf_dtype *c)
{
    if (d->out == OUT_FLOAT && !mf_dtype_is_float(dt)) dt = MF_FLOAT32;
    if (!d->k[dt] && dt == MF_BOOL) dt = MF_INT64;
    if (!d->k[dt] && dt == MF_INT64) dt = MF_FLOAT32;
    if (!d->k[dt])
        return mf_error_set(MF_EINVAL, 1, "%s is not defined for %s tensors", op->name,
                            mf_dtype_name(dt));
    *c = dt;
    return MF_OK;
}

/* The compute dtype of the op on these inputs: their promoted dtype, moved
 * up to one the op has a kernel for. */
static mf_status elem_dtype(const mf_op *op, const elem_desc *d, const mf_op_args *a,
                            mf_dtype *c)
{
    int first = d->mask_first;
    if (first && a->in[0]->dtype != MF_BOOL)
        return mf_error_set(MF_EINVAL, 1, "condition must be a bool tensor (a mask), got %s",
                            mf_dtype_name(a->in[0]->dtype));
    mf_dtype t = a->in[first]->dtype;
    for (int i = first + 1; i < a->n_in; i++) t = mf_dtype_promote(t, a->in[i]->dtype);
    return compute_dtype(op, d, t, c);
}

static mf_dtype out_dtype(const elem_desc *d, mf_dtype compute)
{
    return d->out == OUT_BOOL ? MF_BOOL : compute;
}

/* Input t in dtype dt: t itself (retained), a converted borrowed scalar in
 * *tmp, or a converted copy. */
typedef union {
    float f;
    double d;
    int64_t i;
    uint8_t b;
} scalar_buf;

static mf_status as_dtype(mf_tensor *t, mf_dtype dt, mf_tensor *hdr, scalar_buf *buf,
                          mf_tensor **res)
{
    if (t->dtype == dt) {
        *res = t;
        return MF_OK;
    }
    if (!t->storage) { /* borrowed scalar: convert the value in place of a copy */
        mf_tensor_borrow_scalar(hdr, dt, buf);
        mf_status st = mf_tensor_copy_(hdr, t);
        *res = hdr;
        return st;
    }
    return mf_tensor_to(res, t, dt);
}

static void drop_converted(mf_tensor *orig, mf_tensor *conv)
{
    if (conv && conv != orig) mf_tensor_release(conv);
}

/* Whether writing `out` while reading `in` may read already-written values:
 * same storage but not the very same layout. */
static int overlaps(const mf_tensor *out, const mf_tensor *in)
{
    if (!in->storage || out->storage != in->storage) return 0;
    if (out->offset != in->offset || out->ndim != in->ndim) return 1;
    for (int d = 0; d < out->ndim; d++)
        if (out->shape[d] != in->shape[d] || out->stride[d] != in->stride[d]) return 1;
    return 0;
}

typedef struct {
    const mf_op_params *p;
    int failed; /* set by kernels that can fail (integer pow) */
} kctx;

/* Runs desc's kernel for dtype c over (out, in...) broadcast to out's shape.
 * Inputs are already in dtype c; out has dtype out_dtype(d, c). */
static mf_status run_kernel(const elem_desc *d, mf_dtype c, mf_tensor *out, int n_in,
                            mf_tensor *const *in, kctx *ctx)
{
    int64_t st[MF_ITER_MAX_OPS][MF_MAX_DIMS];
    const int64_t *strides[MF_ITER_MAX_OPS];
    size_t el[MF_ITER_MAX_OPS];
    char *base[MF_ITER_MAX_OPS];
    strides[0] = out->stride;
    el[0] = mf_dtype_size(out->dtype);
    base[0] = mf_tensor_data(out);
    for (int i = 0; i < n_in; i++) {
        if (mf_broadcast_strides(in[i], out->ndim, out->shape, st[i]) != 0)
            return mf_error_set(MF_EINVAL, i + 1, "input cannot be broadcast to the output");
        strides[i + 1] = st[i];
        el[i + 1] = mf_dtype_size(in[i]->dtype);
        base[i + 1] = mf_tensor_data(in[i]);
    }
    mf_iter it;
    mf_iter_init(&it, n_in + 1, out->ndim, out->shape, strides, el);
    mf_iter_run_parallel(&it, base, ELEM_GRAIN, d->k[c], ctx);
    return MF_OK;
}

/* The shared forward: converts the inputs to the compute dtype, writes into
 * out directly, or through a temporary when out has another dtype (in-place
 * forms) or overlaps an input. */
static mf_status elem_forward(const mf_op *op, const elem_desc *d, const mf_op_args *a,
                              mf_tensor *out)
{
    mf_dtype c;
    mf_status st = elem_dtype(op, d, a, &c);
    if (st) return st;

    mf_tensor *conv[MF_OP_MAX_IN] = {0}, hdr[MF_OP_MAX_IN];
    scalar_buf buf[MF_OP_MAX_IN];
    for (int i = 0; i < a->n_in && st == MF_OK; i++) {
        mf_dtype want = (d->mask_first && i == 0) ? MF_BOOL : c;
        st = as_dtype(a->in[i], want, &hdr[i], &buf[i], &conv[i]);
    }
    mf_tensor *dst = out, *tmp = NULL;
    int need_tmp = out->dtype != out_dtype(d, c);
    for (int i = 0; i < a->n_in && !need_tmp; i++) need_tmp = overlaps(out, a->in[i]);
    if (st == MF_OK && need_tmp) {
        st = mf_tensor_new(&tmp, out_dtype(d, c), out->ndim, out->shape);
        dst = tmp;
    }
    kctx ctx = {a->p, 0};
    if (st == MF_OK) st = run_kernel(d, c, dst, a->n_in, conv, &ctx);
    if (st == MF_OK && ctx.failed)
        st = mf_error_set(MF_EINVAL, 2, "integers cannot be raised to negative powers");
    if (st == MF_OK && tmp) st = mf_tensor_copy_(out, tmp);
    mf_tensor_release(tmp);
    for (int i = 0; i < a->n_in; i++) drop_converted(a->in[i], conv[i]);
    return st;
}

/* Output layout: inputs broadcast together (NumPy rules). */
static mf_status broadcast_shape(const mf_op_args *a, int first, mf_layout *l)
{
    int nd = 0;
    for (int i = first; i < a->n_in; i++)
        if (a->in[i]->ndim > nd) nd = a->in[i]->ndim;
    l->ndim = nd;
    l->offset = 0;
    for (int d = 0; d < nd; d++) l->shape[d] = 1;
    for (int i = first; i < a->n_in; i++) {
        const mf_tensor *t = a->in[i];
        int lead = nd - t->ndim;
        for (int d = 0; d < t->ndim; d++) {
            int64_t s = t->shape[d], *o = &l->shape[lead + d];
            if (s == *o || s == 1) continue;
            if (*o == 1) {
                *o = s;
                continue;
            }
            /* name the later input, and show every shape involved */
            char s1[MF_SHAPE_STRLEN], s2[MF_SHAPE_STRLEN];
            const mf_tensor *prev = a->in[i == first ? first + 1 : first];
            return mf_error_set(MF_EINVAL, i + 1, "shapes %s and %s cannot be broadcast together",
                                mf_shape_str(s1, sizeof s1, prev->ndim, prev->shape),
                                mf_shape_str(s2, sizeof s2, t->ndim, t->shape));
        }
    }
    return MF_OK;
}

static mf_status elem_infer(const mf_op *op, const elem_desc *d, const mf_op_args *a,
                            mf_layout *l)
{
    mf_dtype c;
    mf_status st = broadcast_shape(a, 0, l);
    if (st == MF_OK) st = elem_dtype(op, d, a, &c);
    if (st) return st;
    l->dtype = out_dtype(d, c);
    int64_t s = 1;
    for (int k = l->ndim - 1; k >= 0; k--) {
        l->stride[k] = s;
        s *= l->shape[k] ? l->shape[k] : 1;
    }
    return MF_OK;
}

/* ------------------------------------------------------------------ kernels */
/* One inner loop: y = EXPR over x (unary) or a, b (binary); P is the op's
 * params. The contiguous case is a plain indexed loop, which the compiler
 * vectorises where it can. */
#define UNARY_KERNEL(NAME, TX, TY, EXPR)                                          \
    static int NAME(int64_t n, char **p, const int64_t *s, void *vctx)             \
    {                                                                               \
        const mf_op_params *P = ((kctx *)vctx)->p;                                  \
        (void)P;                                                                    \
        if (s[0] == (int64_t)sizeof(TY) && s[1] == (int64_t)sizeof(TX)) {          \
            TY *y = (TY *)(void *)p[0];                                             \
            const TX *xs = (const TX *)(const void *)p[1];                          \
            for (int64_t i = 0; i < n; i++) {                                       \
                TX x = xs[i];                                                       \
                y[i] = (TY)(EXPR);                                                  \
            }                                                                       \
        } else {                                                                    \
            char *yp = p[0], *xp = p[1];                                            \
            for (int64_t i = 0; i < n; i++, yp += s[0], xp += s[1]) {               \
                TX x = *(const TX *)(const void *)xp;                               \
                *(TY *)(void *)yp = (TY)(EXPR);                                     \
            }                                                                       \
        }                                                                           \
        return 0;                                                                   \
    }

/* SETUP runs once per call of the inner loop (hoists parameters out of it). */
#define BINARY_KERNEL(NAME, T, TY, EXPR) BINARY_KERNEL_SETUP(NAME, T, TY, , EXPR)
#define BINARY_KERNEL_SETUP(NAME, T, TY, SETUP, EXPR)                              \
    static int NAME(int64_t n, char **p, const int64_t *s, void *vctx)             \
    {                                                                               \
        kctx *K = vctx;                                                             \
        const mf_op_params *P = K->p;                                               \
        (void)P;                                                                    \
        SETUP;                                                                      \
        const int64_t z = (int64_t)sizeof(T);                                       \
        if (s[0] == (int64_t)sizeof(TY) && s[1] == z && s[2] == z) {               \
            TY *y = (TY *)(void *)p[0];                                             \
            const T *as = (const T *)(const void *)p[1];                            \
            const T *bs = (const T *)(const void *)p[2];                            \
            for (int64_t i = 0; i < n; i++) {                                       \
                T a = as[i], b = bs[i];                                             \
                y[i] = (TY)(EXPR);                                                  \
            }                                                                       \
        } else if (s[0] == (int64_t)sizeof(TY) && s[1] == z && s[2] == 0) {        \
            TY *y = (TY *)(void *)p[0];                                             \
            const T *as = (const T *)(const void *)p[1];                            \
            const T b = *(const T *)(const void *)p[2];                             \
            for (int64_t i = 0; i < n; i++) {                                       \
                T a = as[i];                                                        \
                y[i] = (TY)(EXPR);                                                  \
            }                                                                       \
        } else {                                                                    \
            char *yp = p[0], *ap = p[1], *bp = p[2];                                \
            for (int64_t i = 0; i < n; i++, yp += s[0], ap += s[1], bp += s[2]) {   \
                T a = *(const T *)(const void *)ap, b = *(const T *)(const void *)bp; \
                *(TY *)(void *)yp = (TY)(EXPR);                                     \
            }                                                                       \
        }                                                                           \
        return 0;                                                                   \
    }

/* Kernels of one expression for the float dtypes (f: float math, d: double). */
#define UNARY_FLOAT(NAME, EXPR_F, EXPR_D)                                          \
    UNARY_KERNEL(NAME##_f32, float, float, EXPR_F)                                 \
    UNARY_KERNEL(NAME##_f64, double, double, EXPR_D)
#define UNARY_ALL(NAME, EXPR_F, EXPR_D, EXPR_I)                                    \
    UNARY_FLOAT(NAME, EXPR_F, EXPR_D)                                              \
    UNARY_KERNEL(NAME##_i64, int64_t, int64_t, EXPR_I)
#define FLOAT_KERNELS(NAME) {[MF_FLOAT32] = NAME##_f32, [MF_FLOAT64] = NAME##_f64}
#define ALL_KERNELS(NAME)                                                          \
    {[MF_FLOAT32] = NAME##_f32, [MF_FLOAT64] = NAME##_f64, [MF_INT64] = NAME##_i64}

/* Record + forward/infer wrappers of one elementwise op; the kernel table
 * comes last (it holds commas). */
#define ELEM_OP(ID, NAME, ARITY, FLAGS, OUTKIND, MASKFIRST, BW, ...)               \
    static const elem_desc desc_##ID = {__VA_ARGS__, OUTKIND, MASKFIRST};          \
    static mf_status infer_##ID(const mf_op_args *a, mf_layout *l)                 \
    {                                                                               \
        return elem_infer(&mf_oprec_##ID, &desc_##ID, a, l);                        \
    }                                                                               \
    static mf_status forward_##ID(const mf_op_args *a, mf_tensor *const *out)      \
    {                                                                               \
        return elem_forward(&mf_oprec_##ID, &desc_##ID, a, out[0]);                 \
    }                                                                               \
    const mf_op mf_oprec_##ID = {NAME, ARITY, 1, (FLAGS) | MF_OPF_ELEMENTWISE,      \
                                 infer_##ID, forward_##ID, BW};

#define D MF_OPF_DIFF

/* ------------------------------------------------------------------ backward rules */
/* a = inputs, o = output, g = gradient of the output; see mf_grad.h */
#define X (a->in[0])
#define Y (a->in[1])
#define O (o[0])
#define G (g[0])
#define RULE(ID) static mf_status bw_##ID(const mf_op_args *a, mf_tensor *const *o,  \
                                          mf_tensor *const *g, mf_tensor **gi)
#define UNARY_RULE(ID, EXPR)                                                       \
    RULE(ID)                                                                        \
    {                                                                               \
        gscope s_ = {0}, *s = &s_;                                                  \
        (void)o;                                                                    \
        (void)a;                                                                    \
        return gscope_finish(s, EXPR, &gi[0]);                                      \
    }

UNARY_RULE(neg, gun(s, MF_OP_NEG, G))
UNARY_RULE(exp, gmul(s, G, O))
UNARY_RULE(log, gbin(s, MF_OP_DIV, G, X))
UNARY_RULE(log1p, gbin(s, MF_OP_DIV, G, gaddk(s, X, 1)))
UNARY_RULE(expm1, gmul(s, G, gaddk(s, O, 1)))
UNARY_RULE(sqrt, gbin(s, MF_OP_DIV, G, gscale(s, O, 2)))
UNARY_RULE(rsqrt, gscale(s, gmul(s, G, gmul(s, O, gmul(s, O, O))), -0.5))
/* abs at 0: 0 (the subgradient PyTorch takes) */
UNARY_RULE(abs, gmul(s, G, gun(s, MF_OP_SIGN, X)))
UNARY_RULE(sin, gmul(s, G, gun(s, MF_OP_COS, X)))
UNARY_RULE(cos, gscale(s, gmul(s, G, gun(s, MF_OP_SIN, X)), -1))
UNARY_RULE(tanh, gmul(s, G, gaddk(s, gscale(s, gmul(s, O, O), -1), 1)))
UNARY_RULE(sigmoid, gmul(s, G, gmul(s, O, gaddk(s, gscale(s, O, -1), 1))))
/* relu at 0: 0 */
UNARY_RULE(relu, gwhere0(s, gcmpk(s, MF_OP_GT, X, 0), G))
/* d erf(x)/dx = 2/sqrt(pi) exp(-x^2) */
UNARY_RULE(erf, gmul(s, G, gscale(s, gun(s, MF_OP_EXP, gscale(s, gmul(s, X, X), -1)),
                                  1.1283791670955126)))
/* clamp: the gradient passes where lo <= x <= hi (both ends included) */
UNARY_RULE(clamp, gwhere0(s, gbin(s, MF_OP_LOGICAL_AND, gcmpk(s, MF_OP_GE, X, a->p->scalars[0]),
                                  gcmpk(s, MF_OP_LE, X, a->p->scalars[1])),
                          G))
/* nan_to_num: 1 where x was finite, 0 where it was replaced */
UNARY_RULE(nan_to_num, gwhere0(s, gun(s, MF_OP_ISFINITE, X), G))

RULE(add)
{
    gscope s_ = {0}, *s = &s_;
    (void)o;
    return gscope_finish2(s, G, Y->requires_grad ? gscale(s, G, a->p->scalars[0]) : NULL, a, gi);
}

RULE(mul)
{
    gscope s_ = {0}, *s = &s_;
    (void)o;
    return gscope_finish2(s, X->requires_grad ? gmul(s, G, Y) : NULL,
                          Y->requires_grad ? gmul(s, G, X) : NULL, a, gi);
}

RULE(div)
{
    gscope s_ = {0}, *s = &s_;
    return gscope_finish2(s, X->requires_grad ? gbin(s, MF_OP_DIV, G, Y) : NULL,
                          Y->requires_grad ? gscale(s, gbin(s, MF_OP_DIV, gmul(s, G, O), Y), -1)
                                           : NULL,
                          a, gi);
}

/* d(a^b)/da = b a^(b-1) (0 where b == 0); d(a^b)/db = a^b log(a) (0 where a == 0) */
RULE(pow)
{
    gscope s_ = {0}, *s = &s_;
    mf_tensor *ga = NULL, *gb = NULL;
    if (X->requires_grad) {
        mf_tensor *d = gmul(s, Y, gbin(s, MF_OP_POW, X, gaddk(s, Y, -1)));
        ga = gmul(s, G, gwhere0(s, gcmpk(s, MF_OP_NE, Y, 0), d));
    }
    if (Y->requires_grad) {
        mf_tensor *d = gmul(s, O, gun(s, MF_OP_LOG, X));
        gb = gmul(s, G, gwhere0(s, gcmpk(s, MF_OP_NE, X, 0), d));
    }
    return gscope_finish2(s, ga, gb, a, gi);
}

/* a % b = a - b floor(a / b) */
RULE(remainder)
{
    gscope s_ = {0}, *s = &s_;
    (void)o;
    return gscope_finish2(s, G,
                          Y->requires_grad
                              ? gscale(s, gmul(s, G, gbin(s, MF_OP_FLOOR_DIVIDE, X, Y)), -1)
                              : NULL,
                          a, gi);
}

/* maximum/minimum: the gradient goes to the larger (smaller) input; ties
 * split it evenly, as PyTorch */
static mf_status extreme_rule(const mf_op_args *a, mf_tensor *const *g, mf_tensor **gi,
                              mf_op_id wins)
{
    gscope s_ = {0}, *s = &s_;
    mf_tensor *half = gscale(s, gwhere0(s, gbin(s, MF_OP_EQ, X, Y), G), 0.5);
    mf_tensor *ga = X->requires_grad ? gbin(s, MF_OP_ADD, gwhere0(s, gbin(s, wins, X, Y), G), half)
                                     : NULL;
    mf_tensor *gb = Y->requires_grad ? gbin(s, MF_OP_ADD, gwhere0(s, gbin(s, wins, Y, X), G), half)
                                     : NULL;
    return gscope_finish2(s, ga, gb, a, gi);
}

RULE(maximum)
{
    (void)o;
    return extreme_rule(a, g, gi, MF_OP_GT);
}

RULE(minimum)
{
    (void)o;
    return extreme_rule(a, g, gi, MF_OP_LT);
}

/* where(mask, x, y): the gradient goes to x where the mask holds, else to y */
RULE(where)
{
    gscope s_ = {0}, *s = &s_;
    mf_tensor *mask = a->in[0], *x = a->in[1], *y = a->in[2];
    (void)o;
    mf_tensor *gx = x->requires_grad ? gunbroadcast(s, gwhere0(s, mask, G), x) : NULL;
    mf_tensor *gy = y->requires_grad
                        ? gunbroadcast(s, gwhere0(s, gun(s, MF_OP_LOGICAL_NOT, mask), G), y)
                        : NULL;
    mf_status st = s->st;
    if (!st && gx) {
        mf_tensor_retain(gx);
        gi[1] = gx;
    }
    if (!st && gy) {
        mf_tensor_retain(gy);
        gi[2] = gy;
    }
    gscope_finish(s, NULL, NULL);
    return st;
}

#undef X
#undef Y
#undef O
#undef G


/* ------------------------------------------------------------------ unary */
static inline float sigmoidf_(float x) { return 1.0f / (1.0f + expf(-x)); }
static inline double sigmoid_(double x) { return 1.0 / (1.0 + exp(-x)); }

UNARY_ALL(neg, -x, -x, -x)
ELEM_OP(neg, "neg", 1, D, OUT_SAME, 0, bw_neg, ALL_KERNELS(neg))
UNARY_FLOAT(exp, expf(x), exp(x))
ELEM_OP(exp, "exp", 1, D, OUT_FLOAT, 0, bw_exp, FLOAT_KERNELS(exp))
UNARY_FLOAT(log, logf(x), log(x))
ELEM_OP(log, "log", 1, D, OUT_FLOAT, 0, bw_log, FLOAT_KERNELS(log))
UNARY_FLOAT(log1p, log1pf(x), log1p(x))
ELEM_OP(log1p, "log1p", 1, D, OUT_FLOAT, 0, bw_log1p, FLOAT_KERNELS(log1p))
UNARY_FLOAT(expm1, expm1f(x), expm1(x))
ELEM_OP(expm1, "expm1", 1, D, OUT_FLOAT, 0, bw_expm1, FLOAT_KERNELS(expm1))
UNARY_FLOAT(sqrt, sqrtf(x), sqrt(x))
ELEM_OP(sqrt, "sqrt", 1, D, OUT_FLOAT, 0, bw_sqrt, FLOAT_KERNELS(sqrt))
UNARY_FLOAT(rsqrt, 1.0f / sqrtf(x), 1.0 / sqrt(x))
ELEM_OP(rsqrt, "rsqrt", 1, D, OUT_FLOAT, 0, bw_rsqrt, FLOAT_KERNELS(rsqrt))
UNARY_ALL(abs, fabsf(x), fabs(x), x < 0 ? -x : x)
ELEM_OP(abs, "abs", 1, D, OUT_SAME, 0, bw_abs, ALL_KERNELS(abs))
UNARY_ALL(sign, x != x ? x : (float)((x > 0) - (x < 0)), x != x ? x : (double)((x > 0) - (x < 0)),
          (x > 0) - (x < 0))
ELEM_OP(sign, "sign", 1, 0, OUT_SAME, 0, NULL, ALL_KERNELS(sign))
UNARY_FLOAT(sin, sinf(x), sin(x))
ELEM_OP(sin, "sin", 1, D, OUT_FLOAT, 0, bw_sin, FLOAT_KERNELS(sin))
UNARY_FLOAT(cos, cosf(x), cos(x))
ELEM_OP(cos, "cos", 1, D, OUT_FLOAT, 0, bw_cos, FLOAT_KERNELS(cos))
UNARY_FLOAT(tanh, tanhf(x), tanh(x))
ELEM_OP(tanh, "tanh", 1, D, OUT_FLOAT, 0, bw_tanh, FLOAT_KERNELS(tanh))
UNARY_FLOAT(sigmoid, sigmoidf_(x), sigmoid_(x))
ELEM_OP(sigmoid, "sigmoid", 1, D, OUT_FLOAT, 0, bw_sigmoid, FLOAT_KERNELS(sigmoid))
/* relu keeps NaN (x > 0 is false for NaN, but NaN must not become 0) */
UNARY_ALL(relu, x > 0 || x != x ? x : 0.0f, x > 0 || x != x ? x : 0.0, x > 0 ? x : 0)
ELEM_OP(relu, "relu", 1, D, OUT_SAME, 0, bw_relu, ALL_KERNELS(relu))
UNARY_FLOAT(erf, erff(x), erf(x))
ELEM_OP(erf, "erf", 1, D, OUT_FLOAT, 0, bw_erf, FLOAT_KERNELS(erf))
UNARY_ALL(floor, floorf(x), floor(x), x)
ELEM_OP(floor, "floor", 1, 0, OUT_SAME, 0, NULL, ALL_KERNELS(floor))
UNARY_ALL(ceil, ceilf(x), ceil(x), x)
ELEM_OP(ceil, "ceil", 1, 0, OUT_SAME, 0, NULL, ALL_KERNELS(ceil))
/* round half to even, as PyTorch and NumPy */
UNARY_ALL(round, nearbyintf(x), nearbyint(x), x)
ELEM_OP(round, "round", 1, 0, OUT_SAME, 0, NULL, ALL_KERNELS(round))

/* clamp(lo, hi): scalars[0], scalars[1]; NaN bounds are "none" */
#define CLAMP(x, lo, hi) ((x) < (lo) ? (lo) : (x) > (hi) ? (hi) : (x))
UNARY_ALL(clamp, CLAMP(x, (float)P->scalars[0], (float)P->scalars[1]),
          CLAMP(x, P->scalars[0], P->scalars[1]),
          CLAMP(x, (int64_t)P->scalars[0], (int64_t)P->scalars[1]))
ELEM_OP(clamp, "clamp", 1, D, OUT_SAME, 0, bw_clamp, ALL_KERNELS(clamp))

/* nan_to_num: NaN, +inf, -inf replaced by scalars[0..2] */
#define NAN_TO_NUM(x, T)                                                           \
    (x != x ? (T)P->scalars[0] : isinf(x) ? (x > 0 ? (T)P->scalars[1] : (T)P->scalars[2]) : x)
UNARY_ALL(nan_to_num, NAN_TO_NUM(x, float), NAN_TO_NUM(x, double), x)
ELEM_OP(nan_to_num, "nan_to_num", 1, D, OUT_SAME, 0, bw_nan_to_num, ALL_KERNELS(nan_to_num))

UNARY_KERNEL(isnan_f32, float, uint8_t, x != x)
UNARY_KERNEL(isnan_f64, double, uint8_t, x != x)
UNARY_KERNEL(isnan_i64, int64_t, uint8_t, 0 * x)
ELEM_OP(isnan, "isnan", 1, 0, OUT_BOOL, 0, NULL, ALL_KERNELS(isnan))
UNARY_KERNEL(isfinite_f32, float, uint8_t, isfinite(x))
UNARY_KERNEL(isfinite_f64, double, uint8_t, isfinite(x))
UNARY_KERNEL(isfinite_i64, int64_t, uint8_t, 1 + 0 * x)
ELEM_OP(isfinite, "isfinite", 1, 0, OUT_BOOL, 0, NULL, ALL_KERNELS(isfinite))

UNARY_KERNEL(logical_not_b, uint8_t, uint8_t, !x)
ELEM_OP(logical_not, "logical_not", 1, 0, OUT_BOOL, 0, NULL, {[MF_BOOL] = logical_not_b})

/* ------------------------------------------------------------------ binary */
#define BINARY_ALL(NAME, EXPR_F, EXPR_D, EXPR_I)                                   \
    BINARY_KERNEL(NAME##_f32, float, float, EXPR_F)                                \
    BINARY_KERNEL(NAME##_f64, double, double, EXPR_D)                              \
    BINARY_KERNEL(NAME##_i64, int64_t, int64_t, EXPR_I)
#define BINARY_CMP(NAME, OP)                                                       \
    BINARY_KERNEL(NAME##_f32, float, uint8_t, a OP b)                              \
    BINARY_KERNEL(NAME##_f64, double, uint8_t, a OP b)                             \
    BINARY_KERNEL(NAME##_i64, int64_t, uint8_t, a OP b)                            \
    BINARY_KERNEL(NAME##_b, uint8_t, uint8_t, a OP b)
#define CMP_KERNELS(NAME)                                                          \
    {NAME##_f32, NAME##_f64, NAME##_i64, NAME##_b}

/* add computes a + alpha * b (alpha = scalars[0]); sub is add with -alpha */
BINARY_KERNEL_SETUP(add_f32, float, float, const float al = (float)P->scalars[0], a + al * b)
BINARY_KERNEL_SETUP(add_f64, double, double, const double al = P->scalars[0], a + al * b)
BINARY_KERNEL_SETUP(add_i64, int64_t, int64_t, const int64_t al = (int64_t)P->scalars[0],
                    a + al * b)
ELEM_OP(add, "add", 2, D, OUT_SAME, 0, bw_add, ALL_KERNELS(add))
BINARY_ALL(mul, a * b, a * b, a * b)
ELEM_OP(mul, "mul", 2, D, OUT_SAME, 0, bw_mul, ALL_KERNELS(mul))
/* true division: integers are divided as float32 (as in PyTorch) */
BINARY_KERNEL(div_f32, float, float, a / b)
BINARY_KERNEL(div_f64, double, double, a / b)
ELEM_OP(div, "div", 2, D, OUT_FLOAT, 0, bw_div, FLOAT_KERNELS(div))

static inline int64_t ipow(int64_t a, int64_t b, kctx *k)
{
    int64_t r = 1;
    if (b < 0) {
        k->failed = 1;
        return 0;
    }
    while (b) {
        if (b & 1) r = (int64_t)((uint64_t)r * (uint64_t)a); /* wraps like C on overflow */
        a = (int64_t)((uint64_t)a * (uint64_t)a);
        b >>= 1;
    }
    return r;
}
BINARY_ALL(pow, powf(a, b), pow(a, b), ipow(a, b, K))
ELEM_OP(pow, "pow", 2, D, OUT_SAME, 0, bw_pow, ALL_KERNELS(pow))

/* remainder and floor division with the sign rules of Lua and Python:
 * a % b has the sign of b; a // b rounds toward -inf. Integer division by
 * zero gives 0 (no trap). */
static inline int64_t ifloordiv(int64_t a, int64_t b)
{
    if (b == 0) return 0;
    if (b == -1) return (int64_t)(0 - (uint64_t)a);
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
static inline int64_t imod(int64_t a, int64_t b)
{
    if (b == 0 || b == -1) return 0;
    int64_t r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
static inline float fmodf_(float a, float b)
{
    float r = fmodf(a, b);
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
static inline double fmod_(double a, double b)
{
    double r = fmod(a, b);
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
BINARY_ALL(remainder, fmodf_(a, b), fmod_(a, b), imod(a, b))
ELEM_OP(remainder, "remainder", 2, D, OUT_SAME, 0, bw_remainder, ALL_KERNELS(remainder))
BINARY_ALL(floor_divide, floorf(a / b), floor(a / b), ifloordiv(a, b))
ELEM_OP(floor_divide, "floor_divide", 2, 0, OUT_SAME, 0, NULL, ALL_KERNELS(floor_divide))

/* maximum/minimum propagate NaN (as PyTorch) */
BINARY_ALL(maximum, a != a || a > b ? a : b, a != a || a > b ? a : b, a > b ? a : b)
ELEM_OP(maximum, "maximum", 2, D, OUT_SAME, 0, bw_maximum, ALL_KERNELS(maximum))
BINARY_ALL(minimum, a != a || a < b ? a : b, a != a || a < b ? a : b, a < b ? a : b)
ELEM_OP(minimum, "minimum", 2, D, OUT_SAME, 0, bw_minimum, ALL_KERNELS(minimum))

BINARY_CMP(gt, >)
ELEM_OP(gt, "gt", 2, 0, OUT_BOOL, 0, NULL, CMP_KERNELS(gt))
BINARY_CMP(ge, >=)
ELEM_OP(ge, "ge", 2, 0, OUT_BOOL, 0, NULL, CMP_KERNELS(ge))
BINARY_CMP(lt, <)
ELEM_OP(lt, "lt", 2, 0, OUT_BOOL, 0, NULL, CMP_KERNELS(lt))
BINARY_CMP(le, <=)
ELEM_OP(le, "le", 2, 0, OUT_BOOL, 0, NULL, CMP_KERNELS(le))
BINARY_CMP(eq, ==)
ELEM_OP(eq, "eq", 2, 0, OUT_BOOL, 0, NULL, CMP_KERNELS(eq))
BINARY_CMP(ne, !=)
ELEM_OP(ne, "ne", 2, 0, OUT_BOOL, 0, NULL, CMP_KERNELS(ne))

BINARY_KERNEL(logical_and_b, uint8_t, uint8_t, a && b)
ELEM_OP(logical_and, "logical_and", 2, 0, OUT_BOOL, 0, NULL, {[MF_BOOL] = logical_and_b})
BINARY_KERNEL(logical_or_b, uint8_t, uint8_t, a || b)
ELEM_OP(logical_or, "logical_or", 2, 0, OUT_BOOL, 0, NULL, {[MF_BOOL] = logical_or_b})
BINARY_KERNEL(logical_xor_b, uint8_t, uint8_t, a != b)
ELEM_OP(logical_xor, "logical_xor", 2, 0, OUT_BOOL, 0, NULL, {[MF_BOOL] = logical_xor_b})

/* ------------------------------------------------------------------ where */
#define WHERE_KERNEL(NAME, T)                                                      \
    static int NAME(int64_t n, char **p, const int64_t *s, void *vctx)             \
    {                                                                               \
        (void)vctx;                                                                 \
        char *y = p[0], *c = p[1], *a = p[2], *b = p[3];                            \
        for (int64_t i = 0; i < n; i++, y += s[0], c += s[1], a += s[2], b += s[3]) \
            *(T *)(void *)y = *(const uint8_t *)c ? *(const T *)(const void *)a    \
                                                  : *(const T *)(const void *)b;    \
        return 0;                                                                   \
    }
WHERE_KERNEL(where_f32, float)
WHERE_KERNEL(where_f64, double)
WHERE_KERNEL(where_i64, int64_t)
WHERE_KERNEL(where_b, uint8_t)
ELEM_OP(where, "where", 3, D, OUT_SAME, 1, bw_where, CMP_KERNELS(where))

#undef D

/* ------------------------------------------------------------------ wrappers */
mf_status mf_tensor_add(mf_tensor **out, mf_tensor *a, mf_tensor *b, double alpha)
{
    mf_op_params p = {0};
    p.scalars[0] = alpha;
    mf_tensor *in[2] = {a, b};
    return mf_op_run(MF_OP_ADD, 2, in, &p, out);
}

mf_status mf_tensor_binary(mf_op_id op, mf_tensor **out, mf_tensor *a, mf_tensor *b)
{
    mf_op_params p = {0};
    p.scalars[0] = 1;
    mf_tensor *in[2] = {a, b};
    return mf_op_run(op, 2, in, &p, out);
}

mf_status mf_tensor_clamp(mf_tensor **out, mf_tensor *t, double lo, double hi)
{
    mf_op_params p = {0};
    p.scalars[0] = isnan(lo) ? -INFINITY : lo;
    p.scalars[1] = isnan(hi) ? INFINITY : hi;
    if (t->dtype == MF_INT64) { /* bounds beyond int64 clamp nothing */
        if (p.scalars[0] < -9.2e18) p.scalars[0] = -9.2e18;
        if (p.scalars[1] > 9.2e18) p.scalars[1] = 9.2e18;
    }
    if (p.scalars[0] > p.scalars[1])
        return mf_error_set(MF_EINVAL, 2, "min %g is greater than max %g", lo, hi);
    return mf_op_run1(MF_OP_CLAMP, t, &p, out);
}

mf_status mf_tensor_where(mf_tensor **out, mf_tensor *cond, mf_tensor *a, mf_tensor *b)
{
    mf_tensor *in[3] = {cond, a, b};
    return mf_op_run(MF_OP_WHERE, 3, in, NULL, out);
}
