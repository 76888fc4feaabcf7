/*
 * mf_op_reduce.c — reductions over one dim or all elements (sum, prod,
 * max/min with indices, var, logsumexp, all, any) and cumsum.
 *
 * The input is viewed as (outer, R, inner), R the reduced dim (a copy makes
 * it contiguous first when it is not). With inner == 1 each output element
 * reduces one contiguous row; otherwise whole rows of `inner` outputs are
 * accumulated at once, so reducing over dim 1 of a tall table reads it once,
 * in order. Floats accumulate in double: a float32 sum of 10M values is exact
 * to float32 precision. Full reductions are split into fixed blocks whose
 * partial results are combined in order, so results do not depend on the
 * number of threads.
 *
 * Params: n_ints == 0 reduces every element; else ints[0] = dim (0-based,
 * already wrapped), ints[1] = keepdim; var: ints[2] = correction (1 for the
 * unbiased estimate).
 */
#include <math.h>
#include <string.h>

#include "mf_grad.h"
#include "mf_math.h"
#include "mf_op_impl.h"
#include "mf_select.h"
#include "mf_thread.h"

#define BLOCK (1 << 16) /* elements per block of a full reduction */

typedef enum { R_SUM, R_PROD, R_MAX, R_MIN, R_VAR, R_LSE, R_ALL, R_ANY } rkind;

/* ------------------------------------------------------------------ shapes */
typedef struct {
    int64_t outer, R, inner;
    int all;
} rshape;

static void reduce_shape(const mf_tensor *t, const mf_op_params *p, rshape *s)
{
    s->all = p->n_ints == 0;
    s->outer = s->inner = 1;
    s->R = mf_tensor_numel(t);
    if (s->all) return;
    int d = (int)p->ints[0];
    s->R = t->shape[d];
    for (int k = 0; k < d; k++) s->outer *= t->shape[k];
    for (int k = d + 1; k < t->ndim; k++) s->inner *= t->shape[k];
}

static mf_status reduce_layout(const mf_op_args *a, mf_layout *l, mf_dtype dt)
{
    const mf_tensor *t = a->in[0];
    const mf_op_params *p = a->p;
    l->dtype = dt;
    l->offset = 0;
    if (p->n_ints == 0) {
        l->ndim = 0;
        return MF_OK;
    }
    int d = mf_dim_wrap(p->ints[0], t->ndim, 0);
    if (d < 0)
        return mf_error_set(MF_ERANGE, 2, "dim %lld out of range for a %d-D tensor",
                            (long long)p->ints[0], t->ndim);
    int n = 0;
    for (int k = 0; k < t->ndim; k++) {
        if (k == d && !p->ints[1]) continue;
        l->shape[n++] = k == d ? 1 : t->shape[k];
    }
    l->ndim = n;
    return MF_OK;
}

static mf_dtype sum_dtype(mf_dtype dt) { return dt == MF_BOOL ? MF_INT64 : dt; }
static mf_dtype float_dtype(mf_dtype dt) { return mf_dtype_is_float(dt) ? dt : MF_FLOAT32; }

/* ------------------------------------------------------------------ kernels */
/* Reads element i of a contiguous buffer of dtype dt as double. */
static inline double ld(mf_dtype dt, const void *x, int64_t i)
{
    switch (dt) {
    case MF_FLOAT32: return ((const float *)x)[i];
    case MF_FLOAT64: return ((const double *)x)[i];
    case MF_INT64: return (double)((const int64_t *)x)[i];
    default: return ((const uint8_t *)x)[i];
    }
}

static inline int is_nan(double v) { return v != v; }

/* One output of a row reduction: double value, exact int64 value for
 * integer sums/products, and the index for max/min. */
typedef struct {
    double v;
    int64_t iv;
    int64_t idx;
} racc;

/* Reduces x[0], x[step], ..., x[(R-1)*step] (dtype dt). */
static racc reduce_row(rkind k, mf_dtype dt, const void *x, int64_t R, int64_t step,
                       const mf_op_params *p)
{
    racc r = {0, 0, 0};
    int integral = dt == MF_INT64 || dt == MF_BOOL;
    switch (k) {
    case R_SUM:
        if (integral) {
            uint64_t s = 0; /* wraps like C integers on overflow, never UB */
            for (int64_t i = 0; i < R; i++)
                s += dt == MF_INT64 ? (uint64_t)((const int64_t *)x)[i * step]
                                    : ((const uint8_t *)x)[i * step];
            r.iv = (int64_t)s;
        } else if (dt == MF_FLOAT32 && step == 1) {
            const float *f = x;
            double s = 0;
            for (int64_t i = 0; i < R; i++) s += f[i];
            r.v = s;
        } else {
            double s = 0;
            for (int64_t i = 0; i < R; i++) s += ld(dt, x, i * step);
            r.v = s;
        }
        break;
    case R_PROD:
        if (integral) {
            uint64_t s = 1;
            for (int64_t i = 0; i < R; i++) s *= (uint64_t)(int64_t)ld(dt, x, i * step);
            r.iv = (int64_t)s;
        } else {
            double s = 1;
            for (int64_t i = 0; i < R; i++) s *= ld(dt, x, i * step);
            r.v = s;
        }
        break;
    case R_MAX:
    case R_MIN: {
        /* first occurrence of the extreme; NaN wins (propagates) */
        int64_t best = 0;
        if (dt == MF_INT64) {
            const int64_t *v = x;
            for (int64_t i = 1; i < R; i++)
                if (k == R_MAX ? v[i * step] > v[best * step] : v[i * step] < v[best * step])
                    best = i;
            r.iv = R ? v[best * step] : 0;
        } else {
            double bv = R ? ld(dt, x, 0) : 0;
            for (int64_t i = 1; i < R && !is_nan(bv); i++) {
                double v = ld(dt, x, i * step);
                if (is_nan(v) || (k == R_MAX ? v > bv : v < bv)) {
                    bv = v;
                    best = i;
                }
            }
            r.v = bv;
            r.iv = (int64_t)bv;
        }
        r.idx = best;
        break;
    }
    case R_VAR: {
        double mean = 0, ss = 0;
        for (int64_t i = 0; i < R; i++) mean += ld(dt, x, i * step);
        mean /= (double)R;
        for (int64_t i = 0; i < R; i++) {
            double dv = ld(dt, x, i * step) - mean;
            ss += dv * dv;
        }
        double dof = (double)R - (double)p->ints[2];
        r.v = dof > 0 ? ss / dof : NAN;
        break;
    }
    case R_LSE: {
        double m = -INFINITY;
        for (int64_t i = 0; i < R; i++) {
            double v = ld(dt, x, i * step);
            if (v > m || is_nan(v)) m = v;
        }
        if (is_nan(m) || isinf(m)) {
            r.v = m; /* NaN, +inf, or -inf for all -inf (or empty) */
            break;
        }
        double s = 0;
        for (int64_t i = 0; i < R; i++) s += exp(ld(dt, x, i * step) - m);
        r.v = m + log(s);
        break;
    }
    case R_ALL:
    case R_ANY: {
        int all = 1, any = 0;
        for (int64_t i = 0; i < R; i++) {
            int nz = ld(dt, x, i * step) != 0;
            all &= nz;
            any |= nz;
        }
        r.iv = k == R_ALL ? all : any;
        break;
    }
    }
    return r;
}

static void store_acc(mf_tensor *out, int64_t i, racc r)
{
    void *y = out->base;
    switch (out->dtype) {
    case MF_INT64: ((int64_t *)y)[i] = r.iv; break;
    case MF_BOOL: ((uint8_t *)y)[i] = (uint8_t)(r.iv != 0); break;
    default: mf_store(out->dtype, y, i, r.v); break;
    }
}

/* Sums of rows of `inner` elements into double accumulators, for sum and
 * mean-like reductions over a leading dim (contiguous reads). */
static void sum_columns(mf_dtype dt, const void *x, int64_t R, int64_t inner, double *acc)
{
    memset(acc, 0, sizeof(double) * (size_t)inner);
    for (int64_t r = 0; r < R; r++) {
        if (dt == MF_FLOAT32) {
            const float *f = (const float *)x + r * inner;
            for (int64_t i = 0; i < inner; i++) acc[i] += f[i];
        } else if (dt == MF_FLOAT64) {
            const double *f = (const double *)x + r * inner;
            for (int64_t i = 0; i < inner; i++) acc[i] += f[i];
        } else {
            for (int64_t i = 0; i < inner; i++) acc[i] += ld(dt, x, r * inner + i);
        }
    }
}

typedef struct {
    rkind k;
    const mf_tensor *x; /* contiguous input */
    mf_tensor *out, *idx;
    rshape s;
    const mf_op_params *p;
    double *col;    /* per-thread column accumulators: inner doubles each */
    racc *partial;  /* full reductions: one per block */
} rjob;

/* Output elements [lo, hi) of outer*inner, for inner == 1 or the generic
 * strided walk. */
static void reduce_range(int64_t lo, int64_t hi, void *vj)
{
    rjob *j = vj;
    size_t el = mf_dtype_size(j->x->dtype);
    const char *x = mf_tensor_data(j->x);
    for (int64_t o = lo; o < hi; o++) {
        int64_t outer = o / j->s.inner, in = o % j->s.inner;
        const char *row = x + (size_t)(outer * j->s.R * j->s.inner + in) * el;
        racc r = reduce_row(j->k, j->x->dtype, row, j->s.R, j->s.inner, j->p);
        store_acc(j->out, o, r);
        if (j->idx) ((int64_t *)j->idx->base)[o] = r.idx;
    }
}

/* Full reduction, block b of BLOCK elements. */
static void reduce_blocks(int64_t lo, int64_t hi, void *vj)
{
    rjob *j = vj;
    size_t el = mf_dtype_size(j->x->dtype);
    const char *x = mf_tensor_data(j->x);
    int64_t n = j->s.R;
    for (int64_t b = lo; b < hi; b++) {
        int64_t start = b * BLOCK, len = n - start < BLOCK ? n - start : BLOCK;
        j->partial[b] = reduce_row(j->k, j->x->dtype, x + (size_t)start * el, len, 1, j->p);
        j->partial[b].idx += start;
    }
}

static racc combine(rkind k, mf_dtype dt, const racc *part, int64_t nb)
{
    racc r = part[0];
    for (int64_t b = 1; b < nb; b++) {
        const racc *q = &part[b];
        switch (k) {
        case R_SUM:
            r.v += q->v;
            r.iv = (int64_t)((uint64_t)r.iv + (uint64_t)q->iv);
            break;
        case R_PROD:
            r.v *= q->v;
            r.iv = (int64_t)((uint64_t)r.iv * (uint64_t)q->iv);
            break;
        case R_MAX:
        case R_MIN: {
            if (dt == MF_INT64) {
                if (k == R_MAX ? q->iv > r.iv : q->iv < r.iv) r = *q;
            } else if (!is_nan(r.v) && (is_nan(q->v) || (k == R_MAX ? q->v > r.v : q->v < r.v))) {
                r = *q;
            }
            break;
        }
        case R_ALL: r.iv = r.iv && q->iv; break;
        case R_ANY: r.iv = r.iv || q->iv; break;
        default: break; /* var and logsumexp are not blocked */
        }
    }
    return r;
}

static mf_status run_reduce(rkind k, const mf_op_args *a, mf_tensor *out, mf_tensor *idx)
{
    mf_tensor *x;
    mf_status st = mf_tensor_contiguous(&x, a->in[0]);
    if (st) return st;
    rjob j = {k, x, out, idx, {0, 0, 0, 0}, a->p, NULL, NULL};
    reduce_shape(x, a->p, &j.s);
    int64_t nout = j.s.outer * j.s.inner;
    int threads = mf_num_threads();

    if ((k == R_MAX || k == R_MIN) && j.s.R == 0 && nout > 0) {
        st = mf_error_set(MF_EINVAL, a->p->n_ints ? 2 : 1,
                          "%s of an empty tensor (the reduced dim has size 0)",
                          k == R_MAX ? "max" : "min");
    } else if (j.s.all && k != R_VAR && k != R_LSE && j.s.R > 2 * BLOCK) {
        int64_t nb = (j.s.R + BLOCK - 1) / BLOCK;
        j.partial = mf_malloc(sizeof(racc) * (size_t)nb);
        if (!j.partial) {
            st = mf_error_set(MF_ENOMEM, 0, "not enough memory");
        } else {
            mf_parallel_for(nb, 1, reduce_blocks, &j);
            store_acc(out, 0, combine(k, x->dtype, j.partial, nb));
            if (idx) ((int64_t *)idx->base)[0] = combine(k, x->dtype, j.partial, nb).idx;
        }
    } else if (k == R_SUM && j.s.inner > 1 && mf_dtype_is_float(x->dtype)) {
        /* column sums: rows of `inner` accumulated in order */
        j.col = mf_malloc(sizeof(double) * (size_t)j.s.inner);
        if (!j.col) {
            st = mf_error_set(MF_ENOMEM, 0, "not enough memory");
        } else {
            size_t el = mf_dtype_size(x->dtype);
            for (int64_t o = 0; o < j.s.outer; o++) {
                sum_columns(x->dtype, (const char *)mf_tensor_data(x) + (size_t)(o * j.s.R * j.s.inner) * el,
                            j.s.R, j.s.inner, j.col);
                for (int64_t i = 0; i < j.s.inner; i++)
                    mf_store(out->dtype, out->base, o * j.s.inner + i, j.col[i]);
            }
        }
    } else {
        int64_t work = nout * (j.s.R ? j.s.R : 1);
        if (threads > 1 && nout >= threads && work >= 4 * BLOCK)
            mf_parallel_for(nout, 1 + BLOCK / (j.s.R ? j.s.R : 1), reduce_range, &j);
        else
            reduce_range(0, nout, &j);
    }
    mf_free(j.col);
    mf_free(j.partial);
    mf_tensor_release(x);
    return st;
}

/* ------------------------------------------------------------------ backward rules */
/* The gradient of a reduced tensor, back in the input's shape: t (shaped like
 * the output) with the reduced dim put back (size 1), expanded to x. */
static mf_tensor *gexpand_back(gscope *s, mf_tensor *t, const mf_tensor *x, const mf_op_params *p)
{
    mf_tensor *o = NULL, *cur = t;
    if (s->st || !t) return NULL;
    if (p->n_ints && !p->ints[1]) { /* dim dropped: put it back */
        cur = gkeep(s, mf_tensor_unsqueeze(&o, t, p->ints[0]), &o);
        if (!cur) return NULL;
    }
    return gkeep(s, mf_tensor_expand(&o, cur, x->ndim, x->shape), &o);
}

static int64_t reduced_n(const mf_tensor *x, const mf_op_params *p)
{
    return p->n_ints ? x->shape[p->ints[0]] : mf_tensor_numel(x);
}

static mf_status bw_sum(const mf_op_args *a, mf_tensor *const *o, mf_tensor *const *g,
                        mf_tensor **gi)
{
    gscope s = {0};
    (void)o;
    return gscope_finish(&s, gexpand_back(&s, g[0], a->in[0], a->p), &gi[0]);
}

/* d prod / d x_i = product of the others: out / x_i where x_i != 0; where
 * x_i is the only zero of its group, the product of the others; else 0. */
static mf_status bw_prod(const mf_op_args *a, mf_tensor *const *o, mf_tensor *const *g,
                         mf_tensor **gi)
{
    gscope s_ = {0}, *s = &s_;
    mf_tensor *x = a->in[0], *r = NULL;
    mf_op_params keep = *a->p;
    if (keep.n_ints) keep.ints[1] = 1;
    mf_tensor *zero = gcmpk(s, MF_OP_EQ, x, 0);
    mf_tensor *ge = gexpand_back(s, g[0], x, a->p);
    mf_tensor *plain = gbin(s, MF_OP_DIV, gmul(s, ge, gexpand_back(s, o[0], x, a->p)), x);
    /* product with the zeros replaced by 1, and the number of zeros */
    mf_tensor *ones_for_zeros = NULL, *nz = NULL, *p1 = NULL;
    if (!s->st) {
        mf_tensor one;
        double v1 = 1;
        float f1 = 1;
        if (x->dtype == MF_FLOAT32) mf_tensor_borrow_scalar(&one, MF_FLOAT32, &f1);
        else mf_tensor_borrow_scalar(&one, MF_FLOAT64, &v1);
        ones_for_zeros = gkeep(s, mf_tensor_where(&r, zero, &one, x), &r);
        int64_t dim = keep.n_ints ? keep.ints[0] : MF_ALL_DIMS;
        p1 = gkeep(s, ones_for_zeros ? mf_tensor_reduce(MF_OP_PROD, &r, ones_for_zeros, dim, 1)
                                     : MF_EINVAL,
                   &r);
        nz = gkeep(s, zero ? mf_tensor_reduce(MF_OP_SUM, &r, zero, dim, 1) : MF_EINVAL, &r);
    }
    keep.ints[1] = 1;
    mf_tensor *only = gexpand_back(s, gcmpk(s, MF_OP_EQ, nz, 1), x, &keep);
    mf_tensor *at_zero = gwhere0(s, only, gmul(s, ge, gexpand_back(s, p1, x, &keep)));
    mf_tensor *res = NULL;
    if (!s->st) res = gkeep(s, mf_tensor_where(&r, zero, at_zero, plain), &r);
    return gscope_finish(s, res, &gi[0]);
}

/* max/min: the gradient goes to the element the index points at */
static mf_status bw_extreme(const mf_op_args *a, mf_tensor *const *o, mf_tensor *const *g,
                            mf_tensor **gi)
{
    gscope s_ = {0}, *s = &s_;
    mf_tensor *x = a->in[0], *r = NULL;
    if (!g[0]) return MF_OK; /* only the indices were used */
    mf_tensor *zeros = gkeep(s, mf_tensor_zeros(&r, g[0]->dtype, x->ndim, x->shape), &r);
    if (!a->p->n_ints) { /* flattened index into the whole tensor */
        int64_t n = mf_tensor_numel(x), one = 1;
        mf_tensor *flat = NULL, *gi1 = NULL, *ii = NULL, *sc = NULL;
        if (zeros) flat = gkeep(s, mf_tensor_view_as(&r, zeros, 1, &n), &r);
        if (!s->st) gi1 = gkeep(s, mf_tensor_view_as(&r, g[0], 1, &one), &r);
        if (!s->st) ii = gkeep(s, mf_tensor_view_as(&r, o[1], 1, &one), &r);
        if (!s->st) sc = gkeep(s, mf_tensor_scatter_add(&r, flat, 0, ii, gi1), &r);
        mf_tensor *res = NULL;
        if (!s->st) res = gkeep(s, mf_tensor_view_as(&r, sc, x->ndim, x->shape), &r);
        return gscope_finish(s, res, &gi[0]);
    }
    int64_t dim = a->p->ints[0];
    mf_tensor *gv = g[0], *iv = o[1];
    if (!a->p->ints[1]) {
        gv = gkeep(s, mf_tensor_unsqueeze(&r, g[0], dim), &r);
        if (!s->st) iv = gkeep(s, mf_tensor_unsqueeze(&r, o[1], dim), &r);
    }
    mf_tensor *res = NULL;
    if (!s->st) res = gkeep(s, mf_tensor_scatter_add(&r, zeros, dim, iv, gv), &r);
    return gscope_finish(s, res, &gi[0]);
}

/* var: g * 2 (x - mean) / (n - correction) */
static mf_status bw_var(const mf_op_args *a, mf_tensor *const *o, mf_tensor *const *g,
                        mf_tensor **gi)
{
    gscope s_ = {0}, *s = &s_;
    mf_tensor *x = a->in[0], *r = NULL;
    (void)o;
    int64_t n = reduced_n(x, a->p);
    int64_t dim = a->p->n_ints ? a->p->ints[0] : MF_ALL_DIMS;
    mf_op_params keep = *a->p;
    if (keep.n_ints) keep.ints[1] = 1;
    mf_tensor *sum = gkeep(s, mf_tensor_reduce(MF_OP_SUM, &r, x, dim, 1), &r);
    mf_tensor *mean = gscale(s, sum, 1.0 / (double)n);
    mf_tensor *d = gsub(s, x, gexpand_back(s, mean, x, &keep));
    double k = 2.0 / ((double)n - (double)a->p->ints[2]);
    return gscope_finish(s, gscale(s, gmul(s, gexpand_back(s, g[0], x, a->p), d), k), &gi[0]);
}

/* logsumexp: g * exp(x - out) */
static mf_status bw_logsumexp(const mf_op_args *a, mf_tensor *const *o, mf_tensor *const *g,
                              mf_tensor **gi)
{
    gscope s_ = {0}, *s = &s_;
    mf_tensor *x = a->in[0];
    mf_tensor *e = gun(s, MF_OP_EXP, gsub(s, x, gexpand_back(s, o[0], x, a->p)));
    return gscope_finish(s, gmul(s, gexpand_back(s, g[0], x, a->p), e), &gi[0]);
}

/* cumsum: the reversed cumulative sum of g */
static mf_status bw_cumsum(const mf_op_args *a, mf_tensor *const *o, mf_tensor *const *g,
                           mf_tensor **gi)
{
    gscope s_ = {0}, *s = &s_;
    mf_tensor *r = NULL, *x = a->in[0];
    (void)o;
    if (x->ndim == 0) return gscope_finish(s, g[0], &gi[0]);
    int64_t dim = a->p->ints[0];
    mf_tensor *f = gkeep(s, mf_tensor_flip(&r, g[0], 1, &dim), &r);
    mf_tensor *c = f ? gkeep(s, mf_tensor_cumsum(&r, f, dim), &r) : NULL;
    mf_tensor *res = c ? gkeep(s, mf_tensor_flip(&r, c, 1, &dim), &r) : NULL;
    return gscope_finish(s, res, &gi[0]);
}

/* ------------------------------------------------------------------ records */
#define REDUCE_OP(ID, NAME, FLAGS, KIND, DTYPE_RULE, BW)                           \
    static mf_status infer_##ID(const mf_op_args *a, mf_layout *l)                 \
    {                                                                               \
        return reduce_layout(a, l, DTYPE_RULE(a->in[0]->dtype));                    \
    }                                                                               \
    static mf_status forward_##ID(const mf_op_args *a, mf_tensor *const *out)      \
    {                                                                               \
        return run_reduce(KIND, a, out[0], NULL);                                   \
    }                                                                               \
    const mf_op mf_oprec_##ID = {NAME, 1, 1, FLAGS, infer_##ID, forward_##ID, BW};

static mf_dtype same_dtype(mf_dtype dt) { return dt; }
static mf_dtype bool_dtype(mf_dtype dt)
{
    (void)dt;
    return MF_BOOL;
}

REDUCE_OP(sum, "sum", MF_OPF_DIFF, R_SUM, sum_dtype, bw_sum)
REDUCE_OP(prod, "prod", MF_OPF_DIFF, R_PROD, sum_dtype, bw_prod)
REDUCE_OP(var, "var", MF_OPF_DIFF, R_VAR, float_dtype, bw_var)
REDUCE_OP(logsumexp, "logsumexp", MF_OPF_DIFF, R_LSE, float_dtype, bw_logsumexp)
REDUCE_OP(all, "all", 0, R_ALL, bool_dtype, NULL)
REDUCE_OP(any, "any", 0, R_ANY, bool_dtype, NULL)

/* max / min: values and (0-based) indices along the dim, or of the
 * flattened tensor. */
#define EXTREME_OP(ID, NAME, KIND)                                                 \
    static mf_status infer_##ID(const mf_op_args *a, mf_layout *l)                 \
    {                                                                               \
        mf_status st = reduce_layout(a, &l[0], same_dtype(a->in[0]->dtype));       \
        if (st) return st;                                                          \
        l[1] = l[0];                                                                \
        l[1].dtype = MF_INT64;                                                      \
        return MF_OK;                                                               \
    }                                                                               \
    static mf_status forward_##ID(const mf_op_args *a, mf_tensor *const *out)      \
    {                                                                               \
        return run_reduce(KIND, a, out[0], out[1]);                                 \
    }                                                                               \
    const mf_op mf_oprec_##ID = {NAME, 1, 2, MF_OPF_DIFF, infer_##ID, forward_##ID, bw_extreme};

EXTREME_OP(max, "max", R_MAX)
EXTREME_OP(min, "min", R_MIN)

/* ------------------------------------------------------------------ cumsum */
static mf_status infer_cumsum(const mf_op_args *a, mf_layout *l)
{
    const mf_tensor *t = a->in[0];
    if (mf_dim_wrap(a->p->ints[0], t->ndim, 0) < 0 && t->ndim > 0)
        return mf_error_set(MF_ERANGE, 2, "dim %lld out of range for a %d-D tensor",
                            (long long)a->p->ints[0], t->ndim);
    l->ndim = t->ndim;
    l->dtype = sum_dtype(t->dtype);
    l->offset = 0;
    memcpy(l->shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
    return MF_OK;
}

static mf_status forward_cumsum(const mf_op_args *a, mf_tensor *const *outs)
{
    mf_tensor *x, *out = outs[0];
    mf_status st = mf_tensor_contiguous(&x, a->in[0]);
    if (st) return st;
    rshape s;
    mf_op_params p = *a->p;
    p.n_ints = x->ndim ? 1 : 0;
    reduce_shape(x, &p, &s);
    int integral = !mf_dtype_is_float(x->dtype);
    const void *xd = mf_tensor_data(x); /* contiguous, maybe not at offset 0 */
    for (int64_t o = 0; o < s.outer; o++) {
        for (int64_t in = 0; in < s.inner; in++) {
            double acc = 0;
            uint64_t iacc = 0;
            for (int64_t r = 0; r < s.R; r++) {
                int64_t i = (o * s.R + r) * s.inner + in;
                if (integral) {
                    iacc += (uint64_t)(int64_t)ld(x->dtype, xd, i);
                    ((int64_t *)out->base)[i] = (int64_t)iacc;
                } else {
                    acc += ld(x->dtype, xd, i);
                    mf_store(out->dtype, out->base, i, acc);
                }
            }
        }
    }
    mf_tensor_release(x);
    return MF_OK;
}

const mf_op mf_oprec_cumsum = {"cumsum", 1, 1, MF_OPF_DIFF, infer_cumsum, forward_cumsum,
                               bw_cumsum};

/* ------------------------------------------------------------------ wrappers */
static mf_op_params reduce_params(const mf_tensor *t, int64_t dim, int keepdim)
{
    mf_op_params p = {0};
    if (dim != MF_ALL_DIMS) {
        p.n_ints = 3;
        p.ints[0] = dim < 0 ? dim + t->ndim : dim;
        if (p.ints[0] < 0) p.ints[0] = dim; /* left for infer to report */
        p.ints[1] = keepdim;
    }
    return p;
}

mf_status mf_tensor_reduce(mf_op_id op, mf_tensor **out, mf_tensor *t, int64_t dim, int keepdim)
{
    mf_op_params p = reduce_params(t, dim, keepdim);
    return mf_op_run1(op, t, &p, out);
}

mf_status mf_tensor_max(mf_tensor **values, mf_tensor **indices, mf_tensor *t, int64_t dim,
                        int keepdim, int is_min)
{
    mf_op_params p = reduce_params(t, dim, keepdim);
    mf_tensor *res[2];
    mf_status st = mf_op_run(is_min ? MF_OP_MIN : MF_OP_MAX, 1, &t, &p, res);
    if (st) {
        *values = *indices = NULL;
        return st;
    }
    *values = res[0];
    *indices = res[1];
    return MF_OK;
}

mf_status mf_tensor_var(mf_tensor **out, mf_tensor *t, int64_t dim, int keepdim, int correction)
{
    mf_op_params p = reduce_params(t, dim, keepdim);
    p.ints[2] = correction;
    return mf_op_run1(MF_OP_VAR, t, &p, out);
}

mf_status mf_tensor_cumsum(mf_tensor **out, mf_tensor *t, int64_t dim)
{
    mf_op_params p = {0};
    p.n_ints = 1;
    p.ints[0] = t->ndim && dim < 0 ? dim + t->ndim : dim;
    return mf_op_run1(MF_OP_CUMSUM, t, &p, out);
}
