/*
 * mf_op_shape.c — copy, cast and view ops (records + the mf_tensor_* wrappers
 * of mf_tensor.h). Views compute a layout over the input's storage; derived
 * ops (transpose, select, squeeze, unsqueeze, reshape) are compositions.
 */
#include <string.h>

#include "mf_autograd.h"
#include "mf_thread.h"
#include "mf_op_impl.h"

static void layout_of(const mf_tensor *t, mf_layout *l)
{
    l->ndim = t->ndim;
    l->dtype = t->dtype;
    l->offset = t->offset;
    memcpy(l->shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
    memcpy(l->stride, t->stride, sizeof(int64_t) * (size_t)t->ndim);
}

static mf_status bad_dim(int arg, int64_t dim, int ndim)
{
    return mf_error_set(MF_ERANGE, arg, "dim %lld out of range for a %d-D tensor",
                        (long long)dim, ndim);
}

/* ---------------------------------------------------------------- backward rules */
/* clone and cast: the gradient passes through (the engine converts dtypes) */
static mf_status bw_identity(const mf_op_args *a, mf_tensor *const *o, mf_tensor *const *g,
                             mf_tensor **gi)
{
    (void)a;
    (void)o;
    mf_tensor_retain(g[0]);
    gi[0] = g[0];
    return MF_OK;
}

/* view: the gradient in the input's shape */
static mf_status bw_view(const mf_op_args *a, mf_tensor *const *o, mf_tensor *const *g,
                         mf_tensor **gi)
{
    (void)o;
    return mf_tensor_reshape(&gi[0], g[0], a->in[0]->ndim, a->in[0]->shape);
}

/* permute: the inverse permutation */
static mf_status bw_permute(const mf_op_args *a, mf_tensor *const *o, mf_tensor *const *g,
                            mf_tensor **gi)
{
    int64_t inv[MF_MAX_DIMS];
    int n = a->in[0]->ndim;
    (void)o;
    for (int d = 0; d < n; d++) inv[mf_dim_wrap(a->p->ints[d], n, 0)] = d;
    return mf_tensor_permute(&gi[0], g[0], n, inv);
}

/* narrow: the gradient in its place within zeros */
static mf_status bw_narrow(const mf_op_args *a, mf_tensor *const *o, mf_tensor *const *g,
                           mf_tensor **gi)
{
    const mf_tensor *x = a->in[0];
    mf_tensor *z, *part;
    (void)o;
    mf_status st = mf_tensor_zeros(&z, g[0]->dtype, x->ndim, x->shape);
    if (st) return st;
    st = mf_tensor_narrow(&part, z, a->p->ints[0], a->p->ints[1], a->p->ints[2]);
    if (st == MF_OK) {
        st = mf_tensor_copy_(part, g[0]);
        mf_tensor_release(part);
    }
    if (st) {
        mf_tensor_release(z);
        return st;
    }
    gi[0] = z;
    return MF_OK;
}

/* expand: sum over the broadcast dims */
static mf_status bw_expand(const mf_op_args *a, mf_tensor *const *o, mf_tensor *const *g,
                           mf_tensor **gi)
{
    (void)o;
    return mf_grad_unbroadcast(&gi[0], g[0], a->in[0]->ndim, a->in[0]->shape);
}

/* index_select: each slice of the gradient added at its index (repeated
 * indices accumulate) */
static mf_status bw_index_select(const mf_op_args *a, mf_tensor *const *o,
                                 mf_tensor *const *g, mf_tensor **gi)
{
    const mf_tensor *x = a->in[0], *idx = a->in[1];
    int d = mf_dim_wrap(a->p->ints[0], x->ndim, 0);
    mf_tensor *z;
    (void)o;
    mf_status st = mf_tensor_zeros(&z, g[0]->dtype, x->ndim, x->shape);
    if (st) return st;
    mf_tensor dst = *z, src = *g[0];
    dst.shape[d] = src.shape[d] = 1;
    dst.refs = src.refs = 1;
    dst.grad = src.grad = NULL;
    dst.grad_fn = src.grad_fn = NULL;
    dst.requires_grad = src.requires_grad = 0;
    const int64_t *ix = mf_tensor_data(idx);
    mf_op_params p = {0};
    p.scalars[0] = 1;
    for (int64_t i = 0; i < idx->shape[0] && st == MF_OK; i++) {
        int64_t k = ix[i * idx->stride[0]];
        dst.offset = z->offset + k * z->stride[d];
        src.offset = g[0]->offset + i * g[0]->stride[d];
        mf_tensor *in[2] = {&dst, &src}, *outp = &dst;
        st = mf_op_run_into(MF_OP_ADD, 2, in, &p, &outp, 1);
    }
    if (st) {
        mf_tensor_release(z);
        return st;
    }
    gi[0] = z;
    return MF_OK;
}

/* ---------------------------------------------------------------- clone, cast */
static mf_status infer_copy(const mf_op_args *a, mf_layout *l)
{
    layout_of(a->in[0], l);
    l->offset = 0;
    return MF_OK;
}

static mf_status infer_cast(const mf_op_args *a, mf_layout *l)
{
    const mf_op_params *p = a->p;
    if ((unsigned)p->dtype >= MF_DTYPE_COUNT) return mf_error_set(MF_EINVAL, 2, "bad dtype");
    layout_of(a->in[0], l);
    l->offset = 0;
    l->dtype = p->dtype;
    return MF_OK;
}

static mf_status forward_copy(const mf_op_args *a, mf_tensor *const *out)
{
    return mf_tensor_copy_(out[0], a->in[0]);
}

const mf_op mf_oprec_clone = {"clone", 1, 1, MF_OPF_DIFF, infer_copy, forward_copy, bw_identity};
const mf_op mf_oprec_cast = {"cast", 1, 1, MF_OPF_DIFF, infer_cast, forward_copy, bw_identity};

/* ---------------------------------------------------------------- view */
/* Strides for viewing (old shape, strides) as new shape without copying, or
 * -1 when the memory layout does not allow it (then reshape copies). Groups
 * of old dims that are contiguous with each other may be split or merged
 * freely; a new dim may not straddle two such groups. */
static int view_strides(int ond, const int64_t *osh, const int64_t *ost, int nnd,
                        const int64_t *nsh, int64_t *nst)
{
    static const int64_t one = 1;
    if (ond == 0) { /* scalar: as shape [1] */
        ond = 1;
        osh = ost = &one;
    }
    int64_t numel = 1;
    for (int d = 0; d < ond; d++) numel *= osh[d];
    if (numel == 0) {
        int64_t s = 1;
        for (int d = nnd - 1; d >= 0; d--) {
            nst[d] = s;
            s *= nsh[d] ? nsh[d] : 1;
        }
        return 0;
    }
    int vd = nnd - 1;
    int64_t chunk = ost[ond - 1], tn = 1, vn = 1;
    for (int td = ond - 1; td >= 0; td--) {
        tn *= osh[td];
        if (td == 0 || (osh[td - 1] != 1 && ost[td - 1] != tn * chunk)) {
            while (vd >= 0 && (vn < tn || nsh[vd] == 1)) {
                nst[vd] = vn * chunk;
                vn *= nsh[vd];
                vd--;
            }
            if (vn != tn) return -1;
            if (td > 0) {
                chunk = ost[td - 1];
                tn = vn = 1;
            }
        }
    }
    return vd == -1 ? 0 : -1;
}

/* Resolves a -1 in the requested shape; arg names the shape argument. */
static mf_status resolve_shape(const mf_tensor *t, int n, const int64_t *req, int64_t *shape,
                               int arg)
{
    char a[MF_SHAPE_STRLEN];
    int infer = -1;
    int64_t known = 1, numel = mf_tensor_numel(t);
    if (n < 0 || n > MF_MAX_DIMS)
        return mf_error_set(MF_EINVAL, arg, "%d dims (at most %d)", n, MF_MAX_DIMS);
    for (int d = 0; d < n; d++) {
        shape[d] = req[d];
        if (req[d] == -1) {
            if (infer >= 0)
                return mf_error_set(MF_EINVAL, arg, "only one size can be inferred (-1)");
            infer = d;
        } else if (req[d] < 0) {
            return mf_error_set(MF_EINVAL, arg, "invalid size %lld", (long long)req[d]);
        } else {
            known *= req[d];
        }
    }
    if (infer >= 0) {
        if (known == 0 || numel % known != 0)
            return mf_error_set(MF_EINVAL, arg, "shape %s is invalid for input of size %lld",
                                mf_shape_str(a, sizeof a, n, req), (long long)numel);
        shape[infer] = numel / known;
    } else if (known != numel) {
        return mf_error_set(MF_EINVAL, arg, "shape %s is invalid for input of size %lld",
                            mf_shape_str(a, sizeof a, n, req), (long long)numel);
    }
    return MF_OK;
}

static mf_status infer_view(const mf_op_args *args, mf_layout *l)
{
    mf_tensor *const *in = args->in;
    const mf_op_params *p = args->p;
    const mf_tensor *t = in[0];
    mf_status st = resolve_shape(t, p->n_ints, p->ints, l->shape, 2);
    if (st) return st;
    l->ndim = p->n_ints;
    l->dtype = t->dtype;
    l->offset = t->offset;
    if (view_strides(t->ndim, t->shape, t->stride, l->ndim, l->shape, l->stride) != 0) {
        char a[MF_SHAPE_STRLEN], b[MF_SHAPE_STRLEN];
        return mf_error_set(MF_EINVAL, 2,
                            "cannot view a non-contiguous %s tensor as %s "
                            "(use reshape, or contiguous first)",
                            mf_shape_str(a, sizeof a, t->ndim, t->shape),
                            mf_shape_str(b, sizeof b, l->ndim, l->shape));
    }
    return MF_OK;
}

const mf_op mf_oprec_view = {"view", 1, 1, MF_OPF_VIEW | MF_OPF_DIFF, infer_view, NULL, bw_view};

/* ---------------------------------------------------------------- permute */
static mf_status infer_permute(const mf_op_args *args, mf_layout *l)
{
    mf_tensor *const *in = args->in;
    const mf_op_params *p = args->p;
    const mf_tensor *t = in[0];
    int seen[MF_MAX_DIMS] = {0};
    if (p->n_ints != t->ndim)
        return mf_error_set(MF_EINVAL, 2, "permutation of %d dims for a %d-D tensor", p->n_ints,
                            t->ndim);
    layout_of(t, l);
    for (int d = 0; d < t->ndim; d++) {
        int s = mf_dim_wrap(p->ints[d], t->ndim, 0);
        if (s < 0) return bad_dim(2, p->ints[d], t->ndim);
        if (seen[s]++) return mf_error_set(MF_EINVAL, 2, "dim %d repeated in permutation", s);
        l->shape[d] = t->shape[s];
        l->stride[d] = t->stride[s];
    }
    return MF_OK;
}

const mf_op mf_oprec_permute = {"permute", 1, 1, MF_OPF_VIEW | MF_OPF_DIFF, infer_permute, NULL,
                                bw_permute};

/* ---------------------------------------------------------------- narrow */
static mf_status infer_narrow(const mf_op_args *args, mf_layout *l)
{
    mf_tensor *const *in = args->in;
    const mf_op_params *p = args->p;
    const mf_tensor *t = in[0];
    int d = mf_dim_wrap(p->ints[0], t->ndim, 0);
    int64_t start = p->ints[1], len = p->ints[2];
    if (d < 0) return bad_dim(2, p->ints[0], t->ndim);
    if (start < 0 || start > t->shape[d])
        return mf_error_set(MF_ERANGE, 3, "start %lld out of range for dim %d of size %lld",
                            (long long)start, d, (long long)t->shape[d]);
    if (len < 0 || start + len > t->shape[d])
        return mf_error_set(MF_ERANGE, 4,
                            "length %lld from start %lld exceeds dim %d of size %lld",
                            (long long)len, (long long)start, d, (long long)t->shape[d]);
    layout_of(t, l);
    l->shape[d] = len;
    if (len > 0) l->offset += start * t->stride[d];
    return MF_OK;
}

const mf_op mf_oprec_narrow = {"narrow", 1, 1, MF_OPF_VIEW | MF_OPF_DIFF, infer_narrow, NULL,
                               bw_narrow};

/* ---------------------------------------------------------------- expand */
static mf_status infer_expand(const mf_op_args *args, mf_layout *l)
{
    mf_tensor *const *in = args->in;
    const mf_op_params *p = args->p;
    const mf_tensor *t = in[0];
    int n = p->n_ints, lead = n - t->ndim;
    char a[MF_SHAPE_STRLEN], b[MF_SHAPE_STRLEN];
    if (lead < 0)
        return mf_error_set(MF_EINVAL, 2, "cannot expand %s to fewer dims (%s)",
                            mf_shape_str(a, sizeof a, t->ndim, t->shape),
                            mf_shape_str(b, sizeof b, n, p->ints));
    l->ndim = n;
    l->dtype = t->dtype;
    l->offset = t->offset;
    for (int d = 0; d < n; d++) {
        int64_t want = p->ints[d];
        if (d < lead) {
            if (want < 0)
                return mf_error_set(MF_EINVAL, 2, "size -1 not allowed in a new leading dim");
            l->shape[d] = want;
            l->stride[d] = 0;
            continue;
        }
        int64_t have = t->shape[d - lead];
        if (want == -1 || want == have) {
            l->shape[d] = have;
            l->stride[d] = t->stride[d - lead];
        } else if (have == 1 && want >= 0) {
            l->shape[d] = want;
            l->stride[d] = 0;
        } else {
            return mf_error_set(MF_EINVAL, 2, "cannot expand %s to %s: size %lld ~= %lld at dim %d",
                                mf_shape_str(a, sizeof a, t->ndim, t->shape),
                                mf_shape_str(b, sizeof b, n, p->ints), (long long)have,
                                (long long)want, d);
        }
    }
    return MF_OK;
}

const mf_op mf_oprec_expand = {"expand", 1, 1, MF_OPF_VIEW | MF_OPF_DIFF, infer_expand, NULL,
                               bw_expand};

/* ---------------------------------------------------------------- index_select */
static mf_status infer_index_select(const mf_op_args *args, mf_layout *l)
{
    mf_tensor *const *in = args->in;
    const mf_op_params *p = args->p;
    const mf_tensor *t = in[0], *idx = in[1];
    int d = mf_dim_wrap(p->ints[0], t->ndim, 0);
    if (d < 0) return bad_dim(2, p->ints[0], t->ndim);
    if (idx->dtype != MF_INT64)
        return mf_error_set(MF_EINVAL, 3, "index must be an int64 tensor, got %s",
                            mf_dtype_name(idx->dtype));
    if (idx->ndim != 1)
        return mf_error_set(MF_EINVAL, 3, "index must be 1-D, got %d-D", idx->ndim);
    layout_of(t, l);
    l->offset = 0;
    l->shape[d] = idx->shape[0];
    return MF_OK;
}

/* Contiguous input and output: rows of `inner` elements gathered directly
 * (one typed load per element when a row is one element). */
typedef struct gather_ctx {
    const char *src;
    char *dst;
    const int64_t *ix;
    int64_t ixstride, n, dimsize, inner;
    size_t esize;
} gather_ctx;

static void gather_rows(int64_t lo, int64_t hi, void *vctx)
{
    const gather_ctx *g = vctx;
    size_t row = (size_t)g->inner * g->esize;
    for (int64_t r = lo; r < hi; r++) { /* r = outer * n + i */
        int64_t o = r / g->n, i = r % g->n;
        int64_t k = g->ix[i * g->ixstride];
        const char *s = g->src + ((size_t)o * (size_t)g->dimsize + (size_t)k) * row;
        char *dd = g->dst + (size_t)r * row;
        if (g->inner == 1 && g->esize == 8) memcpy(dd, s, 8);
        else if (g->inner == 1 && g->esize == 4) memcpy(dd, s, 4);
        else memcpy(dd, s, row);
    }
}

static mf_status forward_index_select(const mf_op_args *a, mf_tensor *const *outs)
{
    mf_tensor *const *in = a->in, *out = outs[0];
    const mf_op_params *p = a->p;
    const mf_tensor *t = in[0], *idx = in[1];
    int d = mf_dim_wrap(p->ints[0], t->ndim, 0);
    if (mf_tensor_is_contiguous(t) && mf_tensor_is_contiguous(out)) {
        gather_ctx g = {mf_tensor_data(t), mf_tensor_data(out), mf_tensor_data(idx),
                        idx->stride[0], idx->shape[0], t->shape[d], 1,
                        mf_dtype_size(t->dtype)};
        int64_t outer = 1;
        for (int i = 0; i < d; i++) outer *= t->shape[i];
        for (int i = d + 1; i < t->ndim; i++) g.inner *= t->shape[i];
        for (int64_t i = 0; i < g.n; i++) {
            int64_t k = g.ix[i * g.ixstride];
            if (k < 0 || k >= g.dimsize)
                return mf_error_set(MF_ERANGE, 3, "index %lld out of range for dim %d of size %lld",
                                    (long long)k, d, (long long)g.dimsize);
        }
        if (outer * g.n * g.inner > 0)
            mf_parallel_for(outer * g.n, g.inner >= 4096 ? 1 : 65536 / (g.inner + 1) + 1,
                            gather_rows, &g);
        return MF_OK;
    }
    /* stack headers over one slice of the input and of the output */
    mf_tensor src = *t, dst = *out;
    src.shape[d] = dst.shape[d] = 1;
    const int64_t *ix = mf_tensor_data(idx);
    for (int64_t i = 0; i < idx->shape[0]; i++) {
        int64_t k = ix[i * idx->stride[0]];
        if (k < 0 || k >= t->shape[d])
            return mf_error_set(MF_ERANGE, 3, "index %lld out of range for dim %d of size %lld",
                                (long long)k, d, (long long)t->shape[d]);
        src.offset = t->offset + k * t->stride[d];
        dst.offset = out->offset + i * out->stride[d];
        mf_status st = mf_tensor_copy_(&dst, &src);
        if (st) return st;
    }
    return MF_OK;
}

const mf_op mf_oprec_index_select = {"index_select", 2, 1, MF_OPF_DIFF, infer_index_select,
                                     forward_index_select,
                                     bw_index_select};

/* ---------------------------------------------------------------- wrappers */
static mf_status run1(mf_op_id id, mf_tensor **out, mf_tensor *t, const mf_op_params *p)
{
    return mf_op_run1(id, t, p, out);
}

static mf_op_params ints_params(int n, const int64_t *v)
{
    mf_op_params p = {0};
    p.n_ints = n;
    for (int i = 0; i < n && i < MF_MAX_DIMS; i++) p.ints[i] = v[i];
    return p;
}

mf_status mf_tensor_contiguous(mf_tensor **out, mf_tensor *t)
{
    if (mf_tensor_is_contiguous(t)) {
        mf_tensor_retain(t);
        *out = t;
        return MF_OK;
    }
    return run1(MF_OP_CLONE, out, t, NULL);
}

mf_status mf_tensor_clone(mf_tensor **out, mf_tensor *t) { return run1(MF_OP_CLONE, out, t, NULL); }

mf_status mf_tensor_to(mf_tensor **out, mf_tensor *t, mf_dtype dt)
{
    mf_op_params p = {0};
    p.dtype = dt;
    return run1(MF_OP_CAST, out, t, &p);
}

mf_status mf_tensor_view_as(mf_tensor **out, mf_tensor *t, int ndim, const int64_t *shape)
{
    *out = NULL;
    if (ndim < 0 || ndim > MF_MAX_DIMS)
        return mf_error_set(MF_EINVAL, 2, "%d dims (at most %d)", ndim, MF_MAX_DIMS);
    mf_op_params p = ints_params(ndim, shape);
    return run1(MF_OP_VIEW, out, t, &p);
}

mf_status mf_tensor_reshape(mf_tensor **out, mf_tensor *t, int ndim, const int64_t *shape)
{
    mf_layout l;
    int64_t resolved[MF_MAX_DIMS];
    *out = NULL;
    if (ndim < 0 || ndim > MF_MAX_DIMS)
        return mf_error_set(MF_EINVAL, 2, "%d dims (at most %d)", ndim, MF_MAX_DIMS);
    mf_status st = resolve_shape(t, ndim, shape, resolved, 2);
    if (st) return st;
    if (view_strides(t->ndim, t->shape, t->stride, ndim, resolved, l.stride) == 0)
        return mf_tensor_view_as(out, t, ndim, resolved);
    mf_tensor *c;
    st = mf_tensor_clone(&c, t);
    if (st) return st;
    st = mf_tensor_view_as(out, c, ndim, resolved);
    mf_tensor_release(c);
    return st;
}

mf_status mf_tensor_permute(mf_tensor **out, mf_tensor *t, int ndim, const int64_t *perm)
{
    *out = NULL;
    if (ndim != t->ndim)
        return mf_error_set(MF_EINVAL, 2, "permutation of %d dims for a %d-D tensor", ndim,
                            t->ndim);
    mf_op_params p = ints_params(ndim, perm);
    return run1(MF_OP_PERMUTE, out, t, &p);
}

mf_status mf_tensor_transpose(mf_tensor **out, mf_tensor *t, int64_t d0, int64_t d1)
{
    int a = mf_dim_wrap(d0, t->ndim, 0), b = mf_dim_wrap(d1, t->ndim, 0);
    *out = NULL;
    if (a < 0) return bad_dim(2, d0, t->ndim);
    if (b < 0) return bad_dim(3, d1, t->ndim);
    int64_t perm[MF_MAX_DIMS];
    for (int d = 0; d < t->ndim; d++) perm[d] = d;
    perm[a] = b;
    perm[b] = a;
    return mf_tensor_permute(out, t, t->ndim, perm);
}

mf_status mf_tensor_narrow(mf_tensor **out, mf_tensor *t, int64_t dim, int64_t start,
                           int64_t length)
{
    mf_op_params p = {0};
    p.n_ints = 3;
    p.ints[0] = dim;
    p.ints[1] = start;
    p.ints[2] = length;
    return run1(MF_OP_NARROW, out, t, &p);
}

mf_status mf_tensor_select(mf_tensor **out, mf_tensor *t, int64_t dim, int64_t index)
{
    int d = mf_dim_wrap(dim, t->ndim, 0);
    *out = NULL;
    if (d < 0) return bad_dim(2, dim, t->ndim);
    if (index < 0 || index >= t->shape[d])
        return mf_error_set(MF_ERANGE, 3, "index %lld out of range for dim %d of size %lld",
                            (long long)index, d, (long long)t->shape[d]);
    mf_tensor *n;
    mf_status st = mf_tensor_narrow(&n, t, d, index, 1);
    if (st) return st;
    int64_t shape[MF_MAX_DIMS];
    for (int i = 0, k = 0; i < t->ndim; i++)
        if (i != d) shape[k++] = t->shape[i];
    st = mf_tensor_view_as(out, n, t->ndim - 1, shape);
    mf_tensor_release(n);
    return st;
}

mf_status mf_tensor_unsqueeze(mf_tensor **out, mf_tensor *t, int64_t dim)
{
    int d = mf_dim_wrap(dim, t->ndim, 1);
    *out = NULL;
    if (d < 0) return bad_dim(2, dim, t->ndim);
    if (t->ndim >= MF_MAX_DIMS)
        return mf_error_set(MF_EINVAL, 1, "tensor already has %d dims", MF_MAX_DIMS);
    int64_t shape[MF_MAX_DIMS];
    for (int i = 0, k = 0; i <= t->ndim; i++) shape[i] = i == d ? 1 : t->shape[k++];
    return mf_tensor_view_as(out, t, t->ndim + 1, shape);
}

mf_status mf_tensor_squeeze(mf_tensor **out, mf_tensor *t, int64_t dim)
{
    int64_t shape[MF_MAX_DIMS];
    int n = 0, d = -1;
    *out = NULL;
    if (dim != MF_ALL_DIMS) {
        d = mf_dim_wrap(dim, t->ndim, 0);
        if (d < 0) return bad_dim(2, dim, t->ndim);
    }
    for (int i = 0; i < t->ndim; i++) {
        int drop = t->shape[i] == 1 && (d < 0 || i == d);
        if (!drop) shape[n++] = t->shape[i];
    }
    return mf_tensor_view_as(out, t, n, shape);
}

mf_status mf_tensor_expand(mf_tensor **out, mf_tensor *t, int ndim, const int64_t *shape)
{
    *out = NULL;
    if (ndim < 0 || ndim > MF_MAX_DIMS)
        return mf_error_set(MF_EINVAL, 2, "%d dims (at most %d)", ndim, MF_MAX_DIMS);
    mf_op_params p = ints_params(ndim, shape);
    return run1(MF_OP_EXPAND, out, t, &p);
}

mf_status mf_tensor_index(mf_tensor **out, mf_tensor *t, int64_t dim, mf_tensor *index)
{
    mf_tensor *in[2] = {t, index};
    mf_op_params p = {0};
    p.n_ints = 1;
    p.ints[0] = dim;
    return mf_op_run(MF_OP_INDEX_SELECT, 2, in, &p, out);
}
