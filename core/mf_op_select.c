/*
 * mf_op_select.c — joining, reordering and selecting ops: the records of
 * cat, flip, gather, scatter_add, masked_select, nonzero, bincount and histc,
 * and the mf_tensor_* wrappers of mf_select.h with the compositions (stack,
 * split, chunk, repeat, tile, index by mask, one_hot). Sorting and unique
 * live in mf_op_sort.c.
 *
 * Ops whose output size depends on the data (masked_select, nonzero,
 * bincount) count in their infer rule: it reads the inputs (never allocates),
 * so mf_op_run can size the outputs before the forward kernel fills them.
 */
#include <math.h>
#include <string.h>

#include "mf_autograd.h"
#include "mf_iter.h"
#include "mf_op_impl.h"
#include "mf_select.h"
#include "mf_thread.h"

/* ---------------------------------------------------------------- helpers */
static mf_status bad_dim(int arg, int64_t dim, int ndim)
{
    return mf_error_set(MF_ERANGE, arg, "dim %lld out of range for a %d-D tensor",
                        (long long)dim, ndim);
}

static void set_layout(mf_layout *l, mf_dtype dt, int ndim, const int64_t *shape)
{
    memset(l, 0, sizeof *l);
    l->dtype = dt;
    l->ndim = ndim;
    for (int d = 0; d < ndim; d++) l->shape[d] = shape[d];
}

static int elem_nonzero(mf_dtype dt, const char *p)
{
    switch (dt) {
    case MF_FLOAT32: return *(const float *)(const void *)p != 0 || isnan(*(const float *)(const void *)p);
    case MF_FLOAT64: return *(const double *)(const void *)p != 0 || isnan(*(const double *)(const void *)p);
    case MF_INT64: return *(const int64_t *)(const void *)p != 0;
    default: return *(const uint8_t *)p != 0;
    }
}

/* Common shape of a and b under broadcasting; -1 if they do not broadcast. */
static int broadcast_shape(const mf_tensor *a, const mf_tensor *b, int *nd, int64_t *shape)
{
    int n = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < n; i++) {
        int da = a->ndim - n + i, db = b->ndim - n + i;
        int64_t sa = da >= 0 ? a->shape[da] : 1, sb = db >= 0 ? b->shape[db] : 1;
        if (sa == sb || sb == 1) shape[i] = sa;
        else if (sa == 1) shape[i] = sb;
        else return -1;
    }
    *nd = n;
    return 0;
}

/* Element copies by size: dtypes are moved bit for bit. */
static inline void copy_elem(char *dst, const char *src, size_t size)
{
    switch (size) {
    case 8: *(uint64_t *)(void *)dst = *(const uint64_t *)(const void *)src; break;
    case 4: *(uint32_t *)(void *)dst = *(const uint32_t *)(const void *)src; break;
    default: *(uint8_t *)dst = *(const uint8_t *)src; break;
    }
}

/* ---------------------------------------------------------------- cat */
/* 1-D empty tensors are skipped, as PyTorch's legacy rule. */
static int cat_skipped(const mf_tensor *t) { return t->ndim == 1 && t->shape[0] == 0; }

static mf_status infer_cat(const mf_op_args *a, mf_layout *l)
{
    int n = a->n_in;
    const mf_tensor *ref = NULL;
    int refi = 0;
    mf_dtype dt = a->in[0]->dtype;
    char s1[MF_SHAPE_STRLEN], s2[MF_SHAPE_STRLEN];
    for (int i = 0; i < n; i++) {
        const mf_tensor *t = a->in[i];
        if (t->ndim == 0)
            return mf_error_set(MF_EINVAL, 1,
                                "tensor %d of %d is 0-D: a scalar cannot be concatenated "
                                "(use stack)",
                                i + 1, n);
        dt = mf_dtype_promote(dt, t->dtype);
        if (!ref && !cat_skipped(t)) {
            ref = t;
            refi = i;
        }
    }
    if (!ref) ref = a->in[0]; /* all are [0]: the result is [0] */
    int d = mf_dim_wrap(a->p->ints[0], ref->ndim, 0);
    if (d < 0) return bad_dim(2, a->p->ints[0], ref->ndim);
    set_layout(l, dt, ref->ndim, ref->shape);
    l->shape[d] = 0;
    for (int i = 0; i < n; i++) {
        const mf_tensor *t = a->in[i];
        if (cat_skipped(t)) continue;
        int same = t->ndim == ref->ndim;
        for (int e = 0; e < ref->ndim && same; e++) same = e == d || t->shape[e] == ref->shape[e];
        if (!same)
            return mf_error_set(MF_EINVAL, 1,
                                "tensors must have the same shape except in the cat dim: "
                                "tensor %d is %s, tensor %d is %s",
                                refi + 1, mf_shape_str(s1, sizeof s1, ref->ndim, ref->shape), i + 1,
                                mf_shape_str(s2, sizeof s2, t->ndim, t->shape));
        l->shape[d] += t->shape[d];
    }
    return MF_OK;
}

/* All contiguous and of out's dtype: each output row (the dims up to d) is
 * the inputs' rows side by side; rows are filled in blocks, every input
 * in turn, so the block of out stays in cache (stack(cols, 2) of many
 * long columns is a transposition). */
typedef struct cat_ctx {
    const mf_op_args *a;
    char *dst;
    int64_t rowlen; /* bytes of one output row */
    size_t esize;
    int d;
} cat_ctx;

static void cat_rows(int64_t lo, int64_t hi, void *vctx)
{
    const cat_ctx *c = vctx;
    int64_t block = c->rowlen >= 32768 ? 1 : 32768 / c->rowlen;
    for (int64_t b = lo; b < hi; b += block) {
        int64_t e = b + block < hi ? b + block : hi;
        size_t off = 0;
        for (int i = 0; i < c->a->n_in; i++) {
            const mf_tensor *t = c->a->in[i];
            if (cat_skipped(t)) continue;
            size_t inner = c->esize;
            for (int k = c->d; k < t->ndim; k++) inner *= (size_t)t->shape[k];
            const char *src = mf_tensor_data(t);
            char *dst = c->dst + off;
            if (inner == 8)
                for (int64_t r = b; r < e; r++)
                    memcpy(dst + (size_t)r * (size_t)c->rowlen, src + (size_t)r * 8, 8);
            else
                for (int64_t r = b; r < e; r++)
                    memcpy(dst + (size_t)r * (size_t)c->rowlen, src + (size_t)r * inner, inner);
            off += inner;
        }
    }
}

static int cat_direct(const mf_op_args *a, const mf_tensor *out)
{
    if (!mf_tensor_is_contiguous(out)) return 0;
    for (int i = 0; i < a->n_in; i++) {
        const mf_tensor *t = a->in[i];
        if (cat_skipped(t)) continue;
        if (t->dtype != out->dtype || !mf_tensor_is_contiguous(t)) return 0;
    }
    return 1;
}

static mf_status forward_cat(const mf_op_args *a, mf_tensor *const *outs)
{
    mf_tensor *out = outs[0];
    int d = mf_dim_wrap(a->p->ints[0], out->ndim, 0);
    int64_t pos = 0;
    if (d > 0 && cat_direct(a, out)) {
        cat_ctx c = {a, mf_tensor_data(out), 0, mf_dtype_size(out->dtype), d};
        int64_t outer = 1;
        for (int k = 0; k < d; k++) outer *= out->shape[k];
        c.rowlen = (int64_t)c.esize;
        for (int k = d; k < out->ndim; k++) c.rowlen *= out->shape[k];
        if (outer > 0 && c.rowlen > 0)
            mf_parallel_for(outer, c.rowlen >= 65536 ? 1 : 65536 / c.rowlen + 1, cat_rows, &c);
        return MF_OK;
    }
    for (int i = 0; i < a->n_in; i++) {
        const mf_tensor *t = a->in[i];
        if (cat_skipped(t)) continue;
        mf_tensor dst = *out; /* a header over the slice of out */
        dst.shape[d] = t->shape[d];
        dst.offset = out->offset + pos * out->stride[d];
        mf_status st = mf_tensor_copy_(&dst, t);
        if (st) return st;
        pos += t->shape[d];
    }
    return MF_OK;
}

/* Each input's gradient is its slice of g along the cat dim (a view); a
 * skipped 1-D empty input gets an empty one. */
static mf_status backward_cat(const mf_op_args *a, mf_tensor *const *outs,
                              mf_tensor *const *grad_out, mf_tensor **grad_in)
{
    mf_tensor *g = grad_out[0];
    if (!g) return MF_OK;
    int d = mf_dim_wrap(a->p->ints[0], outs[0]->ndim, 0);
    int64_t pos = 0;
    for (int i = 0; i < a->n_in; i++) {
        const mf_tensor *t = a->in[i];
        mf_status st = MF_OK;
        if (cat_skipped(t)) {
            if (t->requires_grad) st = mf_tensor_zeros(&grad_in[i], g->dtype, 1, t->shape);
        } else {
            if (t->requires_grad) st = mf_tensor_narrow(&grad_in[i], g, d, pos, t->shape[d]);
            pos += t->shape[d];
        }
        if (st) return st;
    }
    return MF_OK;
}

const mf_op mf_oprec_cat = {"cat", MF_OP_VARIADIC, 1, MF_OPF_DIFF, infer_cat, forward_cat,
                            backward_cat};

/* ---------------------------------------------------------------- flip */
static mf_status infer_flip(const mf_op_args *a, mf_layout *l)
{
    const mf_tensor *t = a->in[0];
    int seen[MF_MAX_DIMS] = {0};
    for (int i = 0; i < a->p->n_ints; i++) {
        int d = mf_dim_wrap(a->p->ints[i], t->ndim, 0);
        if (d < 0) return bad_dim(2, a->p->ints[i], t->ndim);
        if (seen[d]++)
            return mf_error_set(MF_EINVAL, 2, "dim %lld appears more than once",
                                (long long)a->p->ints[i]);
    }
    set_layout(l, t->dtype, t->ndim, t->shape);
    return MF_OK;
}

static mf_status forward_flip(const mf_op_args *a, mf_tensor *const *outs)
{
    const mf_tensor *t = a->in[0];
    mf_tensor src = *t; /* t read backwards along the flipped dims */
    for (int i = 0; i < a->p->n_ints; i++) {
        int d = mf_dim_wrap(a->p->ints[i], t->ndim, 0);
        if (t->shape[d] > 0) src.offset += (t->shape[d] - 1) * t->stride[d];
        src.stride[d] = -t->stride[d];
    }
    return mf_tensor_copy_(outs[0], &src);
}

/* Flipping is its own inverse: g flipped along the same dims. */
static mf_status backward_flip(const mf_op_args *a, mf_tensor *const *outs,
                               mf_tensor *const *grad_out, mf_tensor **grad_in)
{
    (void)outs;
    if (!grad_out[0]) return MF_OK;
    return mf_op_run1(MF_OP_FLIP, grad_out[0], a->p, &grad_in[0]);
}

const mf_op mf_oprec_flip = {"flip", 1, 1, MF_OPF_DIFF, infer_flip, forward_flip, backward_flip};

/* ---------------------------------------------------------------- gather */
static mf_status infer_gather(const mf_op_args *a, mf_layout *l)
{
    const mf_tensor *t = a->in[0], *idx = a->in[1];
    char s1[MF_SHAPE_STRLEN], s2[MF_SHAPE_STRLEN];
    int d = mf_dim_wrap(a->p->ints[0], t->ndim, 0);
    if (d < 0) return bad_dim(2, a->p->ints[0], t->ndim);
    if (idx->dtype != MF_INT64)
        return mf_error_set(MF_EINVAL, 3, "index must be an int64 tensor, got %s",
                            mf_dtype_name(idx->dtype));
    if (idx->ndim != t->ndim)
        return mf_error_set(MF_EINVAL, 3, "index has %d dims, the tensor %d: they must be equal",
                            idx->ndim, t->ndim);
    for (int e = 0; e < t->ndim; e++)
        if (e != d && idx->shape[e] > t->shape[e])
            return mf_error_set(MF_EINVAL, 3,
                                "index of shape %s does not fit the tensor of shape %s "
                                "outside the gather dim",
                                mf_shape_str(s1, sizeof s1, idx->ndim, idx->shape),
                                mf_shape_str(s2, sizeof s2, t->ndim, t->shape));
    set_layout(l, t->dtype, idx->ndim, idx->shape);
    return MF_OK;
}

typedef struct {
    int64_t size;    /* of the indexed dim */
    int64_t dstride; /* bytes between its entries */
    int64_t bad;
    int failed;
} index_ctx;

/* operands: out, index, t with a zero stride along the gathered dim */
#define GATHER_KERNEL(NAME, T)                                                          \
    static int NAME(int64_t n, char **p, const int64_t *s, void *vctx)                  \
    {                                                                                    \
        index_ctx *c = vctx;                                                             \
        char *o = p[0], *ix = p[1], *x = p[2];                                           \
        for (int64_t i = 0; i < n; i++, o += s[0], ix += s[1], x += s[2]) {              \
            int64_t k = *(const int64_t *)(const void *)ix;                              \
            if (k < 0 || k >= c->size) {                                                 \
                c->bad = k;                                                              \
                c->failed = 1;                                                           \
                return 1;                                                                \
            }                                                                            \
            *(T *)(void *)o = *(const T *)(const void *)(x + k * c->dstride);            \
        }                                                                                \
        return 0;                                                                        \
    }
GATHER_KERNEL(gather_1, uint8_t)
GATHER_KERNEL(gather_4, uint32_t)
GATHER_KERNEL(gather_8, uint64_t)

static mf_status index_error(const index_ctx *c, int arg, int d)
{
    return mf_error_set(MF_ERANGE, arg, "index %lld out of range for dim %d of size %lld",
                        (long long)c->bad, d, (long long)c->size);
}

static mf_status forward_gather(const mf_op_args *a, mf_tensor *const *outs)
{
    const mf_tensor *t = a->in[0], *idx = a->in[1];
    mf_tensor *out = outs[0];
    int d = mf_dim_wrap(a->p->ints[0], t->ndim, 0);
    size_t es = mf_dtype_size(t->dtype);
    int64_t tstride[MF_MAX_DIMS];
    for (int e = 0; e < t->ndim; e++) tstride[e] = e == d ? 0 : t->stride[e];
    const int64_t *strides[3] = {out->stride, idx->stride, tstride};
    size_t el[3] = {es, sizeof(int64_t), es};
    mf_iter it;
    mf_iter_init(&it, 3, idx->ndim, idx->shape, strides, el);
    char *base[3] = {mf_tensor_data(out), mf_tensor_data(idx), mf_tensor_data(t)};
    index_ctx c = {t->shape[d], t->stride[d] * (int64_t)es, 0, 0};
    mf_iter_fn fn = es == 8 ? gather_8 : es == 4 ? gather_4 : gather_1;
    if (mf_iter_run(&it, base, fn, &c)) return index_error(&c, 3, d);
    return MF_OK;
}

/* zeros of shape (ndim, shape) and dtype dt with src added at index along
 * dim (params p), into *out. */
static mf_status scatter_into_zeros(mf_tensor **out, mf_dtype dt, int ndim, const int64_t *shape,
                                    const mf_op_params *p, mf_tensor *index, mf_tensor *src)
{
    mf_tensor *z = NULL;
    mf_status st = mf_tensor_zeros(&z, dt, ndim, shape);
    if (st) return st;
    mf_tensor *in[3] = {z, index, src};
    st = mf_op_run_into(MF_OP_SCATTER_ADD, 3, in, p, &z, 1);
    if (st) {
        mf_tensor_release(z);
        return st;
    }
    *out = z;
    return MF_OK;
}

/* g goes back to the positions it was gathered from (scatter_add into
 * zeros: positions gathered more than once accumulate). */
static mf_status backward_gather(const mf_op_args *a, mf_tensor *const *outs,
                                 mf_tensor *const *grad_out, mf_tensor **grad_in)
{
    mf_tensor *t = a->in[0], *g = grad_out[0];
    (void)outs;
    if (!g || !t->requires_grad) return MF_OK;
    return scatter_into_zeros(&grad_in[0], g->dtype, t->ndim, t->shape, a->p, a->in[1], g);
}

const mf_op mf_oprec_gather = {"gather", 2, 1, MF_OPF_DIFF, infer_gather, forward_gather,
                               backward_gather};

/* ---------------------------------------------------------------- scatter_add */
static mf_status infer_scatter_add(const mf_op_args *a, mf_layout *l)
{
    const mf_tensor *t = a->in[0], *idx = a->in[1], *src = a->in[2];
    char s1[MF_SHAPE_STRLEN], s2[MF_SHAPE_STRLEN];
    int d = mf_dim_wrap(a->p->ints[0], t->ndim, 0);
    if (d < 0) return bad_dim(2, a->p->ints[0], t->ndim);
    if (idx->dtype != MF_INT64)
        return mf_error_set(MF_EINVAL, 3, "index must be an int64 tensor, got %s",
                            mf_dtype_name(idx->dtype));
    if (idx->ndim != t->ndim)
        return mf_error_set(MF_EINVAL, 3, "index has %d dims, the tensor %d: they must be equal",
                            idx->ndim, t->ndim);
    if (src->ndim != t->ndim)
        return mf_error_set(MF_EINVAL, 4, "src has %d dims, the tensor %d: they must be equal",
                            src->ndim, t->ndim);
    for (int e = 0; e < t->ndim; e++) {
        if (idx->shape[e] > src->shape[e])
            return mf_error_set(MF_EINVAL, 4, "src of shape %s is smaller than the index (%s)",
                                mf_shape_str(s1, sizeof s1, src->ndim, src->shape),
                                mf_shape_str(s2, sizeof s2, idx->ndim, idx->shape));
        if (e != d && idx->shape[e] > t->shape[e])
            return mf_error_set(MF_EINVAL, 3,
                                "index of shape %s does not fit the tensor of shape %s "
                                "outside the scatter dim",
                                mf_shape_str(s1, sizeof s1, idx->ndim, idx->shape),
                                mf_shape_str(s2, sizeof s2, t->ndim, t->shape));
    }
    set_layout(l, mf_dtype_promote(t->dtype, src->dtype), t->ndim, t->shape);
    return MF_OK;
}

/* operands: out with a zero stride along the dim, index, src. Integers add
 * with wraparound (no undefined overflow); bool adds as "or". */
#define SCATTER_KERNEL(NAME, TD, TS, ADD)                                               \
    static int NAME(int64_t n, char **p, const int64_t *s, void *vctx)                  \
    {                                                                                    \
        index_ctx *c = vctx;                                                             \
        char *o = p[0], *ix = p[1], *x = p[2];                                           \
        for (int64_t i = 0; i < n; i++, o += s[0], ix += s[1], x += s[2]) {              \
            int64_t k = *(const int64_t *)(const void *)ix;                              \
            if (k < 0 || k >= c->size) {                                                 \
                c->bad = k;                                                              \
                c->failed = 1;                                                           \
                return 1;                                                                \
            }                                                                            \
            TD *dst = (TD *)(void *)(o + k * c->dstride);                                \
            TD v = (TD) * (const TS *)(const void *)x;                                   \
            *dst = ADD(*dst, v);                                                         \
        }                                                                                \
        return 0;                                                                        \
    }
#define ADD_PLAIN(a, b) ((a) + (b))
#define ADD_WRAP(a, b) ((int64_t)((uint64_t)(a) + (uint64_t)(b)))
#define ADD_OR(a, b) ((uint8_t)((a) | (b)))
SCATTER_KERNEL(scatter_f32_f32, float, float, ADD_PLAIN)
SCATTER_KERNEL(scatter_f32_i64, float, int64_t, ADD_PLAIN)
SCATTER_KERNEL(scatter_f32_b, float, uint8_t, ADD_PLAIN)
SCATTER_KERNEL(scatter_f64_f32, double, float, ADD_PLAIN)
SCATTER_KERNEL(scatter_f64_f64, double, double, ADD_PLAIN)
SCATTER_KERNEL(scatter_f64_i64, double, int64_t, ADD_PLAIN)
SCATTER_KERNEL(scatter_f64_b, double, uint8_t, ADD_PLAIN)
SCATTER_KERNEL(scatter_i64_i64, int64_t, int64_t, ADD_WRAP)
SCATTER_KERNEL(scatter_i64_b, int64_t, uint8_t, ADD_WRAP)
SCATTER_KERNEL(scatter_b_b, uint8_t, uint8_t, ADD_OR)

/* [out dtype][src dtype]; NULL where src does not fit in out (the infer rule
 * and mf_op_run_into rule those out). */
static const mf_iter_fn scatter_kernels[MF_DTYPE_COUNT][MF_DTYPE_COUNT] = {
    [MF_FLOAT32] = {scatter_f32_f32, NULL, scatter_f32_i64, scatter_f32_b},
    [MF_FLOAT64] = {scatter_f64_f32, scatter_f64_f64, scatter_f64_i64, scatter_f64_b},
    [MF_INT64] = {NULL, NULL, scatter_i64_i64, scatter_i64_b},
    [MF_BOOL] = {NULL, NULL, NULL, scatter_b_b},
};

static mf_status forward_scatter_add(const mf_op_args *a, mf_tensor *const *outs)
{
    mf_tensor *t = a->in[0], *idx = a->in[1], *src = a->in[2];
    mf_tensor *out = outs[0];
    int d = mf_dim_wrap(a->p->ints[0], t->ndim, 0);
    mf_iter_fn fn = scatter_kernels[out->dtype][src->dtype];
    if (!fn)
        return mf_error_set(MF_EINVAL, 4, "cannot add %s src into a %s tensor",
                            mf_dtype_name(src->dtype), mf_dtype_name(out->dtype));
    mf_status st = MF_OK;
    mf_tensor *src_c = NULL, *idx_c = NULL;
    /* in place, index or src may share memory with the output: read copies */
    if (mf_tensor_same_storage(src, out)) {
        st = mf_tensor_clone(&src_c, src);
        src = src_c;
    }
    if (st == MF_OK && mf_tensor_same_storage(idx, out)) {
        st = mf_tensor_clone(&idx_c, idx);
        idx = idx_c;
    }
    if (st == MF_OK && out != t) st = mf_tensor_copy_(out, t);
    if (st == MF_OK) {
        size_t es = mf_dtype_size(out->dtype);
        int64_t ostride[MF_MAX_DIMS];
        for (int e = 0; e < out->ndim; e++) ostride[e] = e == d ? 0 : out->stride[e];
        const int64_t *strides[3] = {ostride, idx->stride, src->stride};
        size_t el[3] = {es, sizeof(int64_t), mf_dtype_size(src->dtype)};
        mf_iter it;
        mf_iter_init(&it, 3, idx->ndim, idx->shape, strides, el);
        char *base[3] = {mf_tensor_data(out), mf_tensor_data(idx), mf_tensor_data(src)};
        index_ctx c = {out->shape[d], out->stride[d] * (int64_t)es, 0, 0};
        if (mf_iter_run(&it, base, fn, &c)) st = index_error(&c, 3, d);
    }
    mf_tensor_release(src_c);
    mf_tensor_release(idx_c);
    return st;
}

/* out = t + src added at index: t's gradient is g; src's is g gathered at
 * index, in the index-shaped corner of src (the entries of src beyond the
 * index's sizes are not read: their gradient is zero). */
static mf_status backward_scatter_add(const mf_op_args *a, mf_tensor *const *outs,
                                      mf_tensor *const *grad_out, mf_tensor **grad_in)
{
    mf_tensor *t = a->in[0], *idx = a->in[1], *src = a->in[2], *g = grad_out[0];
    (void)outs;
    if (!g) return MF_OK;
    if (t->requires_grad) {
        mf_tensor_retain(g);
        grad_in[0] = g;
    }
    if (!src->requires_grad) return MF_OK;
    mf_tensor *in[2] = {g, idx}, *picked = NULL, *z = NULL;
    mf_status st = mf_op_run(MF_OP_GATHER, 2, in, a->p, &picked);
    if (st) return st;
    if (memcmp(idx->shape, src->shape, sizeof(int64_t) * (size_t)src->ndim) == 0) {
        grad_in[2] = picked;
        return MF_OK;
    }
    st = mf_tensor_zeros(&z, picked->dtype, src->ndim, src->shape);
    if (st == MF_OK) {
        mf_tensor corner = *z; /* a header over the index-shaped corner of z */
        memcpy(corner.shape, idx->shape, sizeof(int64_t) * (size_t)idx->ndim);
        st = mf_tensor_copy_(&corner, picked);
    }
    mf_tensor_release(picked);
    if (st) {
        mf_tensor_release(z);
        return st;
    }
    grad_in[2] = z;
    return MF_OK;
}

const mf_op mf_oprec_scatter_add = {"scatter_add", 3, 1, MF_OPF_DIFF, infer_scatter_add,
                                    forward_scatter_add, backward_scatter_add};

/* ---------------------------------------------------------------- counting kernels */
#define COUNT_KERNEL(NAME, T, TEST)                                                     \
    static int NAME(int64_t n, char **p, const int64_t *s, void *vctx)                  \
    {                                                                                    \
        int64_t k = 0;                                                                   \
        char *x = p[0];                                                                  \
        for (int64_t i = 0; i < n; i++, x += s[0]) {                                     \
            T v = *(const T *)(const void *)x;                                           \
            k += (TEST) ? 1 : 0;                                                         \
        }                                                                                \
        *(int64_t *)vctx += k;                                                           \
        return 0;                                                                        \
    }
COUNT_KERNEL(count_f32, float, v != 0 || isnan(v))
COUNT_KERNEL(count_f64, double, v != 0 || isnan(v))
COUNT_KERNEL(count_i64, int64_t, v != 0)
COUNT_KERNEL(count_b, uint8_t, v != 0)

static int64_t count_nonzero(const mf_tensor *t)
{
    static const mf_iter_fn fns[MF_DTYPE_COUNT] = {count_f32, count_f64, count_i64, count_b};
    const int64_t *strides[1] = {t->stride};
    size_t el[1] = {mf_dtype_size(t->dtype)};
    mf_iter it;
    mf_iter_init(&it, 1, t->ndim, t->shape, strides, el);
    char *base[1] = {mf_tensor_data(t)};
    int64_t k = 0;
    mf_iter_run(&it, base, fns[t->dtype], &k);
    return k;
}

/* ---------------------------------------------------------------- masked_select */
static mf_status masked_shape(const mf_tensor *t, const mf_tensor *mask, int *nd,
                              int64_t *shape)
{
    char s1[MF_SHAPE_STRLEN], s2[MF_SHAPE_STRLEN];
    if (mask->dtype != MF_BOOL)
        return mf_error_set(MF_EINVAL, 2, "mask must be a bool tensor, got %s",
                            mf_dtype_name(mask->dtype));
    if (broadcast_shape(t, mask, nd, shape) != 0)
        return mf_error_set(MF_EINVAL, 2, "mask of shape %s cannot be broadcast with the tensor's %s",
                            mf_shape_str(s1, sizeof s1, mask->ndim, mask->shape),
                            mf_shape_str(s2, sizeof s2, t->ndim, t->shape));
    return MF_OK;
}

static mf_status infer_masked_select(const mf_op_args *a, mf_layout *l)
{
    const mf_tensor *t = a->in[0], *mask = a->in[1];
    int nd;
    int64_t shape[MF_MAX_DIMS];
    mf_status st = masked_shape(t, mask, &nd, shape);
    if (st) return st;
    /* each true of the mask is selected once per copy the broadcast makes */
    int64_t numel = 1, copies = 1;
    for (int i = 0; i < nd; i++) {
        int dm = mask->ndim - nd + i;
        numel *= shape[i];
        if (dm < 0 || mask->shape[dm] == 1) copies *= shape[i];
    }
    int64_t count = numel == 0 ? 0 : count_nonzero(mask) * copies;
    set_layout(l, t->dtype, 1, &count);
    return MF_OK;
}

typedef struct {
    char *dst;
    int64_t dstride; /* bytes */
    size_t size;
    int64_t room; /* entries left in the output */
} select_ctx;

static int masked_kernel(int64_t n, char **p, const int64_t *s, void *vctx)
{
    select_ctx *c = vctx;
    char *x = p[0], *m = p[1];
    for (int64_t i = 0; i < n; i++, x += s[0], m += s[1]) {
        if (*(const uint8_t *)m) {
            if (c->room-- == 0) return 1; /* the mask changed since infer */
            copy_elem(c->dst, x, c->size);
            c->dst += c->dstride;
        }
    }
    return 0;
}

static mf_status forward_masked_select(const mf_op_args *a, mf_tensor *const *outs)
{
    const mf_tensor *t = a->in[0], *mask = a->in[1];
    mf_tensor *out = outs[0];
    int nd;
    int64_t shape[MF_MAX_DIMS], ts[MF_MAX_DIMS], ms[MF_MAX_DIMS];
    mf_status st = masked_shape(t, mask, &nd, shape);
    if (st) return st;
    mf_broadcast_strides(t, nd, shape, ts);
    mf_broadcast_strides(mask, nd, shape, ms);
    size_t es = mf_dtype_size(t->dtype);
    const int64_t *strides[2] = {ts, ms};
    size_t el[2] = {es, 1};
    mf_iter it;
    mf_iter_init(&it, 2, nd, shape, strides, el);
    char *base[2] = {mf_tensor_data(t), mf_tensor_data(mask)};
    select_ctx c = {mf_tensor_data(out), out->stride[0] * (int64_t)es, es, out->shape[0]};
    if (mf_iter_run(&it, base, masked_kernel, &c))
        return mf_error_set(MF_ESTATE, 2, "masked_select: the mask changed while running");
    return MF_OK;
}

/* The reverse of masked_kernel: operands z (written), mask; the entries of
 * g are put, in order, where the mask is true. */
typedef struct {
    const char *src;
    int64_t sstride; /* bytes */
    size_t size;
    int64_t left; /* entries of g not placed yet */
} place_ctx;

static int place_kernel(int64_t n, char **p, const int64_t *s, void *vctx)
{
    place_ctx *c = vctx;
    char *z = p[0], *m = p[1];
    for (int64_t i = 0; i < n; i++, z += s[0], m += s[1]) {
        if (*(const uint8_t *)m) {
            if (c->left-- == 0) return 1;
            copy_elem(z, c->src, c->size);
            c->src += c->sstride;
        }
    }
    return 0;
}

/* g goes back to the positions of the broadcast shape where the mask is
 * true (zeros elsewhere), summed down to t's shape where t was broadcast. */
static mf_status backward_masked_select(const mf_op_args *a, mf_tensor *const *outs,
                                        mf_tensor *const *grad_out, mf_tensor **grad_in)
{
    const mf_tensor *t = a->in[0], *mask = a->in[1];
    mf_tensor *g = grad_out[0], *z = NULL;
    (void)outs;
    if (!g || !t->requires_grad) return MF_OK;
    int nd;
    int64_t shape[MF_MAX_DIMS], ms[MF_MAX_DIMS];
    mf_status st = masked_shape(t, mask, &nd, shape);
    if (st == MF_OK) st = mf_tensor_zeros(&z, g->dtype, nd, shape);
    if (st) return st;
    mf_broadcast_strides(mask, nd, shape, ms);
    size_t es = mf_dtype_size(g->dtype);
    const int64_t *strides[2] = {z->stride, ms};
    size_t el[2] = {es, 1};
    mf_iter it;
    mf_iter_init(&it, 2, nd, shape, strides, el);
    char *base[2] = {mf_tensor_data(z), mf_tensor_data(mask)};
    place_ctx c = {mf_tensor_data(g), g->stride[0] * (int64_t)es, es, g->shape[0]};
    if (mf_tensor_numel(z) > 0 && (mf_iter_run(&it, base, place_kernel, &c) || c.left != 0))
        st = mf_error_set(MF_ESTATE, 0, "masked_select: the mask does not match the gradient");
    if (st == MF_OK) st = mf_grad_unbroadcast(&grad_in[0], z, t->ndim, t->shape);
    mf_tensor_release(z);
    return st;
}

const mf_op mf_oprec_masked_select = {"masked_select", 2, 1, MF_OPF_DIFF, infer_masked_select,
                                      forward_masked_select, backward_masked_select};

/* ---------------------------------------------------------------- nonzero */
static mf_status infer_nonzero(const mf_op_args *a, mf_layout *l)
{
    const mf_tensor *t = a->in[0];
    int64_t shape[2] = {count_nonzero(t), t->ndim};
    set_layout(l, MF_INT64, 2, shape);
    return MF_OK;
}

static mf_status forward_nonzero(const mf_op_args *a, mf_tensor *const *outs)
{
    const mf_tensor *t = a->in[0];
    mf_tensor *out = outs[0];
    int64_t numel = mf_tensor_numel(t), row = 0;
    if (numel == 0 || out->shape[0] == 0) return MF_OK;
    size_t es = mf_dtype_size(t->dtype);
    const char *x = mf_tensor_data(t);
    int64_t *o = mf_tensor_data(out);
    mf_walk w;
    mf_walk_init(&w, t);
    for (int64_t i = 0; i < numel; i++, mf_walk_next(&w)) {
        if (!elem_nonzero(t->dtype, x + w.off * (int64_t)es)) continue;
        if (row == out->shape[0]) /* the data changed since infer */
            return mf_error_set(MF_ESTATE, 1, "nonzero: the input changed while running");
        for (int d = 0; d < t->ndim; d++) o[row * out->stride[0] + d * out->stride[1]] = w.idx[d];
        row++;
    }
    return MF_OK;
}

const mf_op mf_oprec_nonzero = {"nonzero", 1, 1, 0, infer_nonzero, forward_nonzero, NULL};

/* ---------------------------------------------------------------- bincount */
static mf_dtype bincount_dtype(const mf_op_args *a)
{
    if (a->n_in < 2) return MF_INT64;
    return a->in[1]->dtype == MF_FLOAT32 ? MF_FLOAT32 : MF_FLOAT64;
}

static mf_status infer_bincount(const mf_op_args *a, mf_layout *l)
{
    const mf_tensor *t = a->in[0];
    char s1[MF_SHAPE_STRLEN];
    if (a->n_in > 2)
        return mf_error_set(MF_EINVAL, 0, "bincount takes 1 or 2 inputs, got %d", a->n_in);
    if (t->dtype != MF_INT64 || t->ndim != 1)
        return mf_error_set(MF_EINVAL, 1, "bincount counts a 1-D int64 tensor, got %s %s",
                            mf_dtype_name(t->dtype), mf_shape_str(s1, sizeof s1, t->ndim, t->shape));
    if (a->n_in == 2) {
        const mf_tensor *w = a->in[1];
        if (w->ndim != 1 || w->shape[0] != t->shape[0])
            return mf_error_set(MF_EINVAL, 2, "weights must have the shape of the input [%lld], got %s",
                                (long long)t->shape[0],
                                mf_shape_str(s1, sizeof s1, w->ndim, w->shape));
    }
    int64_t minlength = a->p->ints[0];
    if (minlength < 0)
        return mf_error_set(MF_EINVAL, 3, "minlength must be >= 0, got %lld", (long long)minlength);
    const int64_t *x = mf_tensor_data(t);
    int64_t len = minlength;
    for (int64_t i = 0; i < t->shape[0]; i++) {
        int64_t v = x[i * t->stride[0]];
        if (v < 0)
            return mf_error_set(MF_EINVAL, 1, "bincount counts values >= 0, got %lld", (long long)v);
        if (v >= len) len = v + 1;
    }
    set_layout(l, bincount_dtype(a), 1, &len);
    return MF_OK;
}

static mf_status forward_bincount(const mf_op_args *a, mf_tensor *const *outs)
{
    const mf_tensor *t = a->in[0], *w = a->n_in > 1 ? a->in[1] : NULL;
    mf_tensor *out = outs[0];
    mf_status st = mf_tensor_fill_(out, 0);
    if (st) return st;
    const int64_t *x = mf_tensor_data(t);
    char *o = mf_tensor_data(out);
    const char *wd = w ? mf_tensor_data(w) : NULL;
    int64_t os = out->stride[0], n = t->shape[0];
    for (int64_t i = 0; i < n; i++) {
        int64_t v = x[i * t->stride[0]];
        if (v < 0 || v >= out->shape[0])
            return mf_error_set(MF_ERANGE, 1, "value %lld out of range for %lld bins", (long long)v,
                                (long long)out->shape[0]);
        if (!w) {
            ((int64_t *)(void *)o)[v * os] += 1;
            continue;
        }
        double wv = mf_load(w->dtype, wd, i * w->stride[0]);
        if (out->dtype == MF_FLOAT32) ((float *)(void *)o)[v * os] += (float)wv;
        else ((double *)(void *)o)[v * os] += wv;
    }
    return MF_OK;
}

const mf_op mf_oprec_bincount = {"bincount", MF_OP_VARIADIC, 1, 0, infer_bincount,
                                 forward_bincount, NULL};

/* ---------------------------------------------------------------- histc */
static mf_status infer_histc(const mf_op_args *a, mf_layout *l)
{
    const mf_tensor *t = a->in[0];
    int64_t bins = a->p->ints[0];
    double lo = a->p->scalars[0], hi = a->p->scalars[1];
    if (bins < 1) return mf_error_set(MF_EINVAL, 2, "bins must be >= 1, got %lld", (long long)bins);
    if (!isfinite(lo) || !isfinite(hi))
        return mf_error_set(MF_EINVAL, 3, "range [%g, %g] is not finite", lo, hi);
    if (lo > hi) return mf_error_set(MF_EINVAL, 4, "max %g is smaller than min %g", hi, lo);
    set_layout(l, mf_dtype_is_float(t->dtype) ? t->dtype : MF_FLOAT32, 1, &bins);
    return MF_OK;
}

static mf_status forward_histc(const mf_op_args *a, mf_tensor *const *outs)
{
    const mf_tensor *t = a->in[0];
    mf_tensor *out = outs[0];
    int64_t bins = out->shape[0], numel = mf_tensor_numel(t);
    double lo = a->p->scalars[0], hi = a->p->scalars[1];
    const char *x = mf_tensor_data(t);
    mf_walk w;
    if (lo == 0 && hi == 0) { /* the range of the data, NaNs left out */
        int any = 0;
        mf_walk_init(&w, t);
        for (int64_t i = 0; i < numel; i++, mf_walk_next(&w)) {
            double v = mf_load(t->dtype, x, w.off);
            if (isnan(v)) continue;
            if (!any || v < lo) lo = v;
            if (!any || v > hi) hi = v;
            any = 1;
        }
        if (!isfinite(lo) || !isfinite(hi))
            return mf_error_set(MF_EINVAL, 1, "range [%g, %g] of the data is not finite", lo, hi);
    }
    if (lo == hi) {
        lo -= 1;
        hi += 1;
    }
    mf_status st = mf_tensor_fill_(out, 0);
    if (st) return st;
    char *o = mf_tensor_data(out);
    int64_t os = out->stride[0];
    mf_walk_init(&w, t);
    for (int64_t i = 0; i < numel; i++, mf_walk_next(&w)) {
        double v = mf_load(t->dtype, x, w.off);
        if (!(v >= lo && v <= hi)) continue; /* NaN too */
        double f = (v - lo) * (double)bins / (hi - lo);
        int64_t b = f >= (double)bins ? bins - 1 : f < 0 ? 0 : (int64_t)f;
        if (out->dtype == MF_FLOAT32) ((float *)(void *)o)[b * os] += 1;
        else ((double *)(void *)o)[b * os] += 1;
    }
    return MF_OK;
}

const mf_op mf_oprec_histc = {"histc", 1, 1, 0, infer_histc, forward_histc, NULL};

/* ---------------------------------------------------------------- wrappers: joining */
static mf_op_params dim_params(int64_t dim)
{
    mf_op_params p = {0};
    p.n_ints = 1;
    p.ints[0] = dim;
    return p;
}

static void release_all(mf_tensor **ts, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        mf_tensor_release(ts[i]);
        ts[i] = NULL;
    }
}

mf_status mf_tensor_cat(mf_tensor **out, int n, mf_tensor *const *ts, int64_t dim)
{
    *out = NULL;
    if (n < 1) return mf_error_set(MF_EINVAL, 1, "expected a non-empty list of tensors");
    mf_op_params p = dim_params(dim);
    return mf_op_run(MF_OP_CAT, n, ts, &p, out);
}

mf_status mf_tensor_stack(mf_tensor **out, int n, mf_tensor *const *ts, int64_t dim)
{
    char s1[MF_SHAPE_STRLEN], s2[MF_SHAPE_STRLEN];
    *out = NULL;
    if (n < 1) return mf_error_set(MF_EINVAL, 1, "expected a non-empty list of tensors");
    const mf_tensor *ref = ts[0];
    for (int i = 1; i < n; i++) {
        const mf_tensor *t = ts[i];
        int same = t->ndim == ref->ndim &&
                   memcmp(t->shape, ref->shape, sizeof(int64_t) * (size_t)t->ndim) == 0;
        if (!same)
            return mf_error_set(MF_EINVAL, 1,
                                "stack needs tensors of one shape: tensor 1 is %s, tensor %d is %s",
                                mf_shape_str(s1, sizeof s1, ref->ndim, ref->shape), i + 1,
                                mf_shape_str(s2, sizeof s2, t->ndim, t->shape));
    }
    if (ref->ndim >= MF_MAX_DIMS)
        return mf_error_set(MF_EINVAL, 1, "tensors already have %d dims", MF_MAX_DIMS);
    int d = mf_dim_wrap(dim, ref->ndim, 1);
    if (d < 0) return bad_dim(2, dim, ref->ndim + 1);
    mf_tensor **us = mf_calloc((size_t)n, sizeof *us);
    if (!us) return mf_error_set(MF_ENOMEM, 0, "not enough memory");
    mf_status st = MF_OK;
    for (int i = 0; i < n && st == MF_OK; i++) st = mf_tensor_unsqueeze(&us[i], ts[i], d);
    if (st == MF_OK) st = mf_tensor_cat(out, n, us, d);
    release_all(us, n);
    mf_free(us);
    return st;
}

/* ---------------------------------------------------------------- wrappers: splitting */
static void piece_sizes(int64_t size, int64_t piece, int64_t n, int64_t *sizes, int64_t cap)
{
    for (int64_t i = 0; i < n && i < cap && sizes; i++) {
        int64_t left = size - i * piece;
        sizes[i] = left < piece ? left : piece;
    }
}

mf_status mf_split_sizes(int64_t size, int64_t split_size, int64_t *n, int64_t *sizes,
                         int64_t cap)
{
    *n = 0;
    if (split_size < 0)
        return mf_error_set(MF_EINVAL, 2, "split size must be >= 0, got %lld", (long long)split_size);
    if (split_size == 0 && size > 0)
        return mf_error_set(MF_EINVAL, 2, "split size 0 cannot split a dim of size %lld",
                            (long long)size);
    *n = size == 0 ? 1 : (size + split_size - 1) / split_size;
    piece_sizes(size, split_size, *n, sizes, cap);
    return MF_OK;
}

mf_status mf_chunk_sizes(int64_t size, int64_t chunks, int64_t *n, int64_t *sizes, int64_t cap)
{
    *n = 0;
    if (chunks < 1)
        return mf_error_set(MF_EINVAL, 2, "number of chunks must be >= 1, got %lld",
                            (long long)chunks);
    if (size == 0) { /* PyTorch: `chunks` empty pieces */
        *n = chunks;
        for (int64_t i = 0; i < chunks && i < cap && sizes; i++) sizes[i] = 0;
        return MF_OK;
    }
    int64_t piece = (size + chunks - 1) / chunks;
    *n = (size + piece - 1) / piece;
    piece_sizes(size, piece, *n, sizes, cap);
    return MF_OK;
}

mf_status mf_tensor_split_with_sizes(mf_tensor **out, mf_tensor *t, int64_t n,
                                     const int64_t *sizes, int64_t dim)
{
    int d = mf_dim_wrap(dim, t->ndim, 0);
    if (d < 0) return bad_dim(3, dim, t->ndim);
    int64_t sum = 0;
    for (int64_t i = 0; i < n; i++) {
        if (sizes[i] < 0)
            return mf_error_set(MF_EINVAL, 2, "split size %lld is negative", (long long)sizes[i]);
        sum += sizes[i];
    }
    if (sum != t->shape[d])
        return mf_error_set(MF_EINVAL, 2, "split sizes add up to %lld, but the dim has size %lld",
                            (long long)sum, (long long)t->shape[d]);
    int64_t start = 0;
    for (int64_t i = 0; i < n; i++) {
        mf_status st = mf_tensor_narrow(&out[i], t, d, start, sizes[i]);
        if (st) {
            release_all(out, i);
            return st;
        }
        start += sizes[i];
    }
    return MF_OK;
}

/* ---------------------------------------------------------------- wrappers: repeat, tile, flip */
/* One dim repeated: cur viewed as (A, S, B) → (A, 1, S, B) expanded to
 * (A, r, S, B) and copied into shape cur with r*S at dim i. */
static mf_status repeat_dim(mf_tensor **next, mf_tensor *cur, int i, int64_t r)
{
    int64_t A = 1, B = 1, S = cur->shape[i];
    for (int e = 0; e < i; e++) A *= cur->shape[e];
    for (int e = i + 1; e < cur->ndim; e++) B *= cur->shape[e];
    int64_t shape[MF_MAX_DIMS];
    memcpy(shape, cur->shape, sizeof(int64_t) * (size_t)cur->ndim);
    shape[i] = r * S;
    mf_tensor *v = NULL, *e = NULL;
    mf_status st = mf_tensor_reshape(&v, cur, 4, (int64_t[]){A, 1, S, B});
    if (st == MF_OK) st = mf_tensor_expand(&e, v, 4, (int64_t[]){A, r, S, B});
    if (st == MF_OK) st = mf_tensor_reshape(next, e, cur->ndim, shape);
    mf_tensor_release(v);
    mf_tensor_release(e);
    return st;
}

mf_status mf_tensor_repeat(mf_tensor **out, mf_tensor *t, int n, const int64_t *reps)
{
    *out = NULL;
    if (n < t->ndim)
        return mf_error_set(MF_EINVAL, 2, "%d repeat counts given for a %d-D tensor (need at least %d)",
                            n, t->ndim, t->ndim);
    if (n > MF_MAX_DIMS)
        return mf_error_set(MF_EINVAL, 2, "%d repeat counts (at most %d dims)", n, MF_MAX_DIMS);
    int64_t shape[MF_MAX_DIMS] = {0}, numel = 1;
    for (int i = 0; i < n; i++) {
        if (reps[i] < 0)
            return mf_error_set(MF_EINVAL, 2, "repeat count %lld is negative", (long long)reps[i]);
        int lead = n - t->ndim;
        shape[i] = i < lead ? 1 : t->shape[i - lead];
        int64_t s = shape[i] * reps[i];
        if (s && numel > INT64_MAX / 16 / s)
            return mf_error_set(MF_ERANGE, 2, "the repeated tensor would be too large");
        numel *= s;
    }
    mf_tensor *cur = NULL;
    mf_status st = mf_tensor_reshape(&cur, t, n, shape);
    for (int i = 0; i < n && st == MF_OK; i++) {
        if (reps[i] == 1) continue;
        mf_tensor *next = NULL;
        st = repeat_dim(&next, cur, i, reps[i]);
        mf_tensor_release(cur);
        cur = next;
    }
    if (st == MF_OK && mf_tensor_same_storage(cur, t)) { /* nothing copied yet */
        mf_tensor *c = NULL;
        st = mf_tensor_clone(&c, cur);
        mf_tensor_release(cur);
        cur = c;
    }
    if (st) {
        mf_tensor_release(cur);
        return st;
    }
    *out = cur;
    return MF_OK;
}

mf_status mf_tensor_tile(mf_tensor **out, mf_tensor *t, int n, const int64_t *reps)
{
    *out = NULL;
    if (n < 0 || n > MF_MAX_DIMS)
        return mf_error_set(MF_EINVAL, 2, "%d repeat counts (at most %d dims)", n, MF_MAX_DIMS);
    if (n >= t->ndim) return mf_tensor_repeat(out, t, n, reps);
    int64_t full[MF_MAX_DIMS];
    int lead = t->ndim - n;
    for (int i = 0; i < t->ndim; i++) full[i] = i < lead ? 1 : reps[i - lead];
    return mf_tensor_repeat(out, t, t->ndim, full);
}

mf_status mf_tensor_flip(mf_tensor **out, mf_tensor *t, int n, const int64_t *dims)
{
    *out = NULL;
    if (n < 0 || n > MF_MAX_DIMS)
        return mf_error_set(MF_EINVAL, 2, "%d dims to flip (at most %d)", n, MF_MAX_DIMS);
    mf_op_params p = {0};
    p.n_ints = n;
    for (int i = 0; i < n; i++) p.ints[i] = dims[i];
    return mf_op_run1(MF_OP_FLIP, t, &p, out);
}

/* ---------------------------------------------------------------- wrappers: gather, scatter */
mf_status mf_tensor_gather(mf_tensor **out, mf_tensor *t, int64_t dim, mf_tensor *index)
{
    mf_tensor *in[2] = {t, index};
    mf_op_params p = dim_params(dim);
    return mf_op_run(MF_OP_GATHER, 2, in, &p, out);
}

mf_status mf_tensor_scatter_add(mf_tensor **out, mf_tensor *t, int64_t dim, mf_tensor *index,
                                mf_tensor *src)
{
    mf_tensor *in[3] = {t, index, src};
    mf_op_params p = dim_params(dim);
    return mf_op_run(MF_OP_SCATTER_ADD, 3, in, &p, out);
}

mf_status mf_tensor_scatter_add_(mf_tensor *t, int64_t dim, mf_tensor *index, mf_tensor *src)
{
    mf_tensor *in[3] = {t, index, src};
    mf_op_params p = dim_params(dim);
    if (src && mf_dtype_promote(t->dtype, src->dtype) != t->dtype)
        return mf_error_set(MF_EINVAL, 4, "cannot add %s src into a %s tensor in place",
                            mf_dtype_name(src->dtype), mf_dtype_name(t->dtype));
    return mf_op_run_into(MF_OP_SCATTER_ADD, 3, in, &p, &t, 1);
}

/* ---------------------------------------------------------------- wrappers: masks */
mf_status mf_tensor_masked_select(mf_tensor **out, mf_tensor *t, mf_tensor *mask)
{
    mf_tensor *in[2] = {t, mask};
    return mf_op_run(MF_OP_MASKED_SELECT, 2, in, NULL, out);
}

mf_status mf_tensor_nonzero(mf_tensor **out, mf_tensor *t)
{
    return mf_op_run1(MF_OP_NONZERO, t, NULL, out);
}

mf_status mf_tensor_index_mask(mf_tensor **out, mf_tensor *t, int64_t dim, mf_tensor *mask)
{
    char s1[MF_SHAPE_STRLEN];
    *out = NULL;
    int d = mf_dim_wrap(dim, t->ndim, 0);
    if (d < 0) return bad_dim(2, dim, t->ndim);
    if (mask->dtype != MF_BOOL)
        return mf_error_set(MF_EINVAL, 3, "mask must be a bool tensor, got %s",
                            mf_dtype_name(mask->dtype));
    if (mask->ndim != 1 || mask->shape[0] != t->shape[d])
        return mf_error_set(MF_EINVAL, 3, "mask must be 1-D of the size of the dim (%lld), got %s",
                            (long long)t->shape[d],
                            mf_shape_str(s1, sizeof s1, mask->ndim, mask->shape));
    mf_tensor *nz = NULL, *pos = NULL;
    mf_status st = mf_tensor_nonzero(&nz, mask);
    if (st == MF_OK) st = mf_tensor_view_as(&pos, nz, 1, (int64_t[]){nz->shape[0]});
    if (st == MF_OK) st = mf_tensor_index(out, t, d, pos);
    mf_tensor_release(nz);
    mf_tensor_release(pos);
    return st;
}

/* ---------------------------------------------------------------- wrappers: counting */
typedef struct {
    int64_t lo, hi;
} bounds_ctx;

static int bounds_kernel(int64_t n, char **p, const int64_t *s, void *vctx)
{
    bounds_ctx *c = vctx;
    char *x = p[0];
    for (int64_t i = 0; i < n; i++, x += s[0]) {
        int64_t v = *(const int64_t *)(const void *)x;
        if (v < c->lo) c->lo = v;
        if (v > c->hi) c->hi = v;
    }
    return 0;
}

mf_status mf_index_bounds(const mf_tensor *idx, int64_t *lo, int64_t *hi)
{
    if (idx->dtype != MF_INT64)
        return mf_error_set(MF_EINVAL, 1, "expected an int64 tensor, got %s",
                            mf_dtype_name(idx->dtype));
    const int64_t *strides[1] = {idx->stride};
    size_t el[1] = {sizeof(int64_t)};
    mf_iter it;
    mf_iter_init(&it, 1, idx->ndim, idx->shape, strides, el);
    char *base[1] = {mf_tensor_data(idx)};
    bounds_ctx c = {INT64_MAX, INT64_MIN};
    mf_iter_run(&it, base, bounds_kernel, &c);
    *lo = c.lo;
    *hi = c.hi;
    return MF_OK;
}

mf_status mf_tensor_one_hot(mf_tensor **out, mf_tensor *labels, int64_t num_classes)
{
    *out = NULL;
    if (labels->dtype != MF_INT64)
        return mf_error_set(MF_EINVAL, 1, "labels must be an int64 tensor, got %s",
                            mf_dtype_name(labels->dtype));
    if (labels->ndim >= MF_MAX_DIMS)
        return mf_error_set(MF_EINVAL, 1, "labels already have %d dims", MF_MAX_DIMS);
    int64_t lo, hi, n = mf_tensor_numel(labels);
    mf_index_bounds(labels, &lo, &hi);
    if (num_classes < 0) {
        if (n == 0)
            return mf_error_set(MF_EINVAL, 2, "cannot infer the number of classes from empty labels");
        num_classes = hi + 1;
    }
    if (n > 0 && lo < 0) return mf_error_set(MF_ERANGE, 1, "label %lld is negative", (long long)lo);
    if (n > 0 && hi >= num_classes)
        return mf_error_set(MF_ERANGE, 1, "label %lld out of range for %lld classes", (long long)hi,
                            (long long)num_classes);
    int64_t shape[MF_MAX_DIMS];
    memcpy(shape, labels->shape, sizeof(int64_t) * (size_t)labels->ndim);
    shape[labels->ndim] = num_classes;
    mf_tensor *z = NULL, *idx = NULL, *one = NULL, *src = NULL;
    mf_status st = mf_tensor_zeros(&z, MF_INT64, labels->ndim + 1, shape);
    if (st == MF_OK) st = mf_tensor_unsqueeze(&idx, labels, -1);
    if (st == MF_OK) st = mf_tensor_full(&one, MF_INT64, 1, (int64_t[]){1}, 1);
    if (st == MF_OK) st = mf_tensor_expand(&src, one, idx->ndim, idx->shape);
    if (st == MF_OK) {
        mf_tensor *in[3] = {z, idx, src};
        mf_op_params p = dim_params(-1);
        st = mf_op_run_into(MF_OP_SCATTER_ADD, 3, in, &p, &z, 1);
    }
    mf_tensor_release(idx);
    mf_tensor_release(one);
    mf_tensor_release(src);
    if (st) {
        mf_tensor_release(z);
        return st;
    }
    *out = z;
    return MF_OK;
}

mf_status mf_tensor_bincount(mf_tensor **out, mf_tensor *t, mf_tensor *weights,
                             int64_t minlength)
{
    mf_tensor *in[2] = {t, weights};
    mf_op_params p = dim_params(minlength);
    return mf_op_run(MF_OP_BINCOUNT, weights ? 2 : 1, in, &p, out);
}

mf_status mf_tensor_histc(mf_tensor **out, mf_tensor *t, int64_t bins, double min, double max)
{
    mf_op_params p = dim_params(bins);
    p.scalars[0] = min;
    p.scalars[1] = max;
    return mf_op_run1(MF_OP_HISTC, t, &p, out);
}
