/* mf_tensor.c — storage, tensor headers, element access, copy and fill. */
#include "mf_tensor.h"

#include <assert.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "mf_autograd.h"
#include "mf_iter.h"
#include "mf_op.h"
#include "mf_thread.h"

/*
 * A new tensor is one allocation: its header, its storage record and, from
 * the next 64-byte boundary, the data. The block lives as long as the
 * storage (views add headers of their own); the first header is "embedded"
 * and is not freed separately.
 */
struct mf_storage {
    void *data;
    size_t nbytes;
    atomic_long refs;
    atomic_ulong version; /* in-place writes so far */
    void *block; /* the allocation holding the storage record and the data */
};

#define MF_BLOCK_HEAD ((sizeof(mf_tensor) + sizeof(mf_storage) + 63) / 64 * 64)

/* ---------------------------------------------------------------- helpers */
/* Float values that convert to int64 without undefined behaviour. */
static int fits_i64(double v) { return v >= -9223372036854775808.0 && v < 9223372036854775808.0; }

const char *mf_shape_str(char *buf, size_t cap, int ndim, const int64_t *shape)
{
    size_t n = 0;
    n += (size_t)snprintf(buf + n, cap - n, "[");
    for (int d = 0; d < ndim && n < cap; d++)
        n += (size_t)snprintf(buf + n, cap - n, d ? "x%lld" : "%lld", (long long)shape[d]);
    if (n < cap) snprintf(buf + n, cap - n, "]");
    return buf;
}

int mf_dim_wrap(int64_t dim, int ndim, int extra)
{
    int64_t n = ndim + (extra ? 1 : 0);
    if (dim < -n || dim >= n || n == 0) return -1;
    return (int)(dim < 0 ? dim + n : dim);
}

static mf_status check_shape(int ndim, const int64_t *shape, int arg, int64_t *numel)
{
    if (ndim < 0 || ndim > MF_MAX_DIMS)
        return mf_error_set(MF_EINVAL, arg, "%d dims (at most %d)", ndim, MF_MAX_DIMS);
    /* the product of the nonzero sizes is bounded too: strides are computed
     * from it even when another size is 0 */
    int64_t n = 1, nz = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0)
            return mf_error_set(MF_EINVAL, arg, "negative size %lld in dim %d",
                                (long long)shape[d], d);
        if (shape[d] && nz > INT64_MAX / 16 / shape[d])
            return mf_error_set(MF_ERANGE, arg, "tensor too large");
        if (shape[d]) nz *= shape[d];
        n *= shape[d];
    }
    *numel = n;
    return MF_OK;
}

static void contiguous_strides(int ndim, const int64_t *shape, int64_t *stride)
{
    int64_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        stride[d] = s;
        s *= shape[d] ? shape[d] : 1;
    }
}

/* ---------------------------------------------------------------- lifetime */
static mf_tensor *header_new(void)
{
    mf_tensor *t = mf_calloc(1, sizeof *t);
    if (t) t->refs = 1;
    return t;
}

mf_status mf_tensor_new(mf_tensor **out, mf_dtype dt, int ndim, const int64_t *shape)
{
    int64_t numel = 0;
    *out = NULL;
    if ((unsigned)dt >= MF_DTYPE_COUNT) return mf_error_set(MF_EINVAL, 0, "bad dtype");
    mf_status st = check_shape(ndim, shape, 1, &numel);
    if (st) return st;
    size_t nbytes = (size_t)numel * mf_dtype_size(dt);
    char *block = mf_malloc_aligned(MF_BLOCK_HEAD + nbytes);
    if (!block)
        return mf_error_set(MF_ENOMEM, 0, "not enough memory for a %lld-element %s tensor",
                            (long long)numel, mf_dtype_name(dt));
    mf_tensor *t = (mf_tensor *)(void *)block;
    mf_storage *s = (mf_storage *)(void *)(block + sizeof(mf_tensor));
    void *data = block + MF_BLOCK_HEAD;
    memset(t, 0, sizeof *t);
    t->refs = 1;
    t->embedded = 1;
    s->data = data;
    s->nbytes = nbytes;
    s->block = block;
    atomic_init(&s->refs, 1);
    atomic_init(&s->version, 0);
    t->storage = s;
    t->base = data;
    t->dtype = dt;
    t->ndim = ndim;
    for (int d = 0; d < ndim; d++) t->shape[d] = shape[d];
    contiguous_strides(ndim, shape, t->stride);
    *out = t;
    return MF_OK;
}

mf_status mf_tensor_zeros(mf_tensor **out, mf_dtype dt, int ndim, const int64_t *shape)
{
    mf_status st = mf_tensor_new(out, dt, ndim, shape);
    if (st == MF_OK) memset((*out)->base, 0, (*out)->storage->nbytes);
    return st;
}

mf_status mf_tensor_full(mf_tensor **out, mf_dtype dt, int ndim, const int64_t *shape,
                         double value)
{
    mf_status st = mf_tensor_new(out, dt, ndim, shape);
    if (st) return st;
    st = mf_tensor_fill_(*out, value);
    if (st) {
        mf_tensor_release(*out);
        *out = NULL;
    }
    return st;
}

static int layout_in_bounds(const mf_layout *l, size_t storage_bytes)
{
    int64_t lo = l->offset, hi = l->offset;
    for (int d = 0; d < l->ndim; d++) {
        if (l->shape[d] == 0) return 1; /* empty: any offset is fine */
        int64_t span = (l->shape[d] - 1) * l->stride[d];
        if (span < 0) lo += span;
        else hi += span;
    }
    return lo >= 0 && (size_t)(hi + 1) * mf_dtype_size(l->dtype) <= storage_bytes;
}

mf_status mf_tensor_view(mf_tensor **out, const mf_tensor *base, const mf_layout *l)
{
    *out = NULL;
    if (!base->storage) return mf_error_set(MF_EINVAL, 1, "cannot view a borrowed scalar");
    if (l->dtype != base->dtype || l->ndim < 0 || l->ndim > MF_MAX_DIMS ||
        !layout_in_bounds(l, base->storage->nbytes))
        return mf_error_set(MF_EINVAL, 1, "view outside of its storage");
    mf_tensor *t = header_new();
    if (!t) return mf_error_set(MF_ENOMEM, 0, "not enough memory");
    t->storage = base->storage;
    atomic_fetch_add(&base->storage->refs, 1);
    t->base = base->base;
    t->dtype = l->dtype;
    t->ndim = l->ndim;
    t->offset = l->offset;
    memcpy(t->shape, l->shape, sizeof(int64_t) * (size_t)l->ndim);
    memcpy(t->stride, l->stride, sizeof(int64_t) * (size_t)l->ndim);
    *out = t;
    return MF_OK;
}

void mf_tensor_retain(mf_tensor *t)
{
    if (t && t->storage) t->refs++;
}

void mf_tensor_borrow_scalar(mf_tensor *hdr, mf_dtype dt, void *value)
{
    memset(hdr, 0, sizeof *hdr);
    hdr->base = value;
    hdr->dtype = dt;
    hdr->refs = 1;
}

unsigned long mf_tensor_version(const mf_tensor *t)
{
    return t->storage ? atomic_load(&t->storage->version) : 0;
}

void mf_tensor_bump_version(mf_tensor *t)
{
    if (t->storage) atomic_fetch_add(&t->storage->version, 1);
}

void mf_tensor_release(mf_tensor *t)
{
    if (!t || !t->storage || --t->refs > 0) return; /* borrowed: nothing to free */
    mf_tensor_release(t->grad);
    mf_node_release(t->grad_fn);
    mf_storage *s = t->storage;
    int embedded = t->embedded;
    if (!embedded) mf_free(t);
    if (atomic_fetch_sub(&s->refs, 1) == 1) mf_free(s->block); /* may hold t */
}

/* ---------------------------------------------------------------- queries */
int64_t mf_tensor_numel(const mf_tensor *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

size_t mf_tensor_nbytes(const mf_tensor *t)
{
    return (size_t)mf_tensor_numel(t) * mf_dtype_size(t->dtype);
}

size_t mf_storage_nbytes(const mf_storage *s) { return s->nbytes; }

int mf_tensor_same_storage(const mf_tensor *a, const mf_tensor *b)
{
    return a->storage == b->storage;
}

int mf_tensor_is_self_overlapping(const mf_tensor *t)
{
    for (int d = 0; d < t->ndim; d++)
        if (t->stride[d] == 0 && t->shape[d] > 1) return 1;
    return 0;
}

static mf_status refuse_overlapping(const mf_tensor *t, int arg)
{
    char s[MF_SHAPE_STRLEN];
    return mf_error_set(MF_EINVAL, arg,
                        "cannot write into an expanded %s tensor: several elements share one "
                        "memory location (clone it first)",
                        mf_shape_str(s, sizeof s, t->ndim, t->shape));
}

int mf_tensor_is_contiguous(const mf_tensor *t)
{
    int64_t s = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->shape[d] == 0) return 1;
        if (t->shape[d] != 1 && t->stride[d] != s) return 0;
        s *= t->shape[d];
    }
    return 1;
}

/* ---------------------------------------------------------------- elements */
double mf_load(mf_dtype dt, const void *data, int64_t i)
{
    switch (dt) {
    case MF_FLOAT32: return ((const float *)data)[i];
    case MF_FLOAT64: return ((const double *)data)[i];
    case MF_INT64: return (double)((const int64_t *)data)[i];
    case MF_BOOL: return ((const uint8_t *)data)[i];
    default: return NAN;
    }
}

void mf_store(mf_dtype dt, void *data, int64_t i, double v)
{
    switch (dt) {
    case MF_FLOAT32: ((float *)data)[i] = (float)v; break;
    case MF_FLOAT64: ((double *)data)[i] = v; break;
    case MF_INT64: ((int64_t *)data)[i] = (int64_t)v; break;
    case MF_BOOL: ((uint8_t *)data)[i] = v != 0; break;
    default: break;
    }
}

static mf_status element_offset(const mf_tensor *t, const int64_t *idx, int64_t *off)
{
    int64_t o = t->offset;
    for (int d = 0; d < t->ndim; d++) {
        if (idx[d] < 0 || idx[d] >= t->shape[d])
            return mf_error_set(MF_ERANGE, d + 2, "index %lld out of range for dim %d of size %lld",
                                (long long)idx[d], d, (long long)t->shape[d]);
        o += idx[d] * t->stride[d];
    }
    *off = o;
    return MF_OK;
}

mf_status mf_tensor_get(const mf_tensor *t, const int64_t *idx, double *v)
{
    int64_t o;
    mf_status st = element_offset(t, idx, &o);
    if (st == MF_OK) *v = mf_load(t->dtype, t->base, o);
    return st;
}

mf_status mf_tensor_get_i64(const mf_tensor *t, const int64_t *idx, int64_t *v)
{
    int64_t o;
    mf_status st = element_offset(t, idx, &o);
    if (st) return st;
    if (t->dtype == MF_INT64) {
        *v = ((const int64_t *)t->base)[o];
        return MF_OK;
    }
    double f = mf_load(t->dtype, t->base, o);
    if (!fits_i64(f)) return mf_error_set(MF_EINVAL, 1, "value %g does not fit in int64", f);
    *v = (int64_t)f;
    return MF_OK;
}

mf_status mf_tensor_set(mf_tensor *t, const int64_t *idx, double v)
{
    int64_t o;
    mf_status st = element_offset(t, idx, &o);
    if (st) return st;
    if (t->dtype == MF_INT64 && !fits_i64(v))
        return mf_error_set(MF_EINVAL, t->ndim + 2, "%g does not fit in int64", v);
    st = mf_autograd_check_inplace(t, 1);
    if (st) return st;
    mf_store(t->dtype, t->base, o, v);
    return MF_OK;
}

mf_status mf_tensor_set_i64(mf_tensor *t, const int64_t *idx, int64_t v)
{
    int64_t o;
    mf_status st = element_offset(t, idx, &o);
    if (st == MF_OK) st = mf_autograd_check_inplace(t, 1);
    if (st) return st;
    if (t->dtype == MF_INT64) ((int64_t *)t->base)[o] = v;
    else mf_store(t->dtype, t->base, o, (double)v);
    return MF_OK;
}

/* ---------------------------------------------------------------- copying */
typedef struct {
    double bad; /* first value that could not be converted */
    int failed;
} copy_ctx;

/* One inner loop per (dst, src) dtype pair. Conversions to int64 truncate
 * toward zero and refuse NaN or out-of-range values. */
#define COPY_PLAIN(NAME, TD, TS)                                                   \
    static int NAME(int64_t n, char **p, const int64_t *s, void *ctx)              \
    {                                                                               \
        (void)ctx;                                                                  \
        char *d = p[0], *x = p[1];                                                  \
        if (s[0] == (int64_t)sizeof(TD) && s[1] == (int64_t)sizeof(TS)) {          \
            TD *dd = (TD *)(void *)d;                                               \
            const TS *xx = (const TS *)(const void *)x;                             \
            for (int64_t i = 0; i < n; i++) dd[i] = (TD)xx[i];                      \
        } else {                                                                    \
            for (int64_t i = 0; i < n; i++, d += s[0], x += s[1])                   \
                *(TD *)(void *)d = (TD) * (const TS *)(const void *)x;              \
        }                                                                           \
        return 0;                                                                   \
    }
#define COPY_TO_INT(NAME, TS)                                                      \
    static int NAME(int64_t n, char **p, const int64_t *s, void *ctx)              \
    {                                                                               \
        char *d = p[0], *x = p[1];                                                  \
        for (int64_t i = 0; i < n; i++, d += s[0], x += s[1]) {                     \
            double v = (double)*(const TS *)(const void *)x;                        \
            if (!fits_i64(v)) {                                                     \
                ((copy_ctx *)ctx)->bad = v;                                         \
                ((copy_ctx *)ctx)->failed = 1;                                      \
                return 1;                                                           \
            }                                                                       \
            *(int64_t *)(void *)d = (int64_t)v;                                     \
        }                                                                           \
        return 0;                                                                   \
    }

/* to bool: nonzero (NaN included) is true */
#define COPY_TO_BOOL(NAME, TS)                                                     \
    static int NAME(int64_t n, char **p, const int64_t *s, void *ctx)              \
    {                                                                               \
        (void)ctx;                                                                  \
        char *d = p[0], *x = p[1];                                                  \
        for (int64_t i = 0; i < n; i++, d += s[0], x += s[1])                       \
            *(uint8_t *)d = *(const TS *)(const void *)x != 0;                      \
        return 0;                                                                   \
    }

COPY_PLAIN(copy_f32_f32, float, float)
COPY_PLAIN(copy_f32_f64, float, double)
COPY_PLAIN(copy_f32_i64, float, int64_t)
COPY_PLAIN(copy_f32_b, float, uint8_t)
COPY_PLAIN(copy_f64_f32, double, float)
COPY_PLAIN(copy_f64_f64, double, double)
COPY_PLAIN(copy_f64_i64, double, int64_t)
COPY_PLAIN(copy_f64_b, double, uint8_t)
COPY_PLAIN(copy_i64_i64, int64_t, int64_t)
COPY_PLAIN(copy_i64_b, int64_t, uint8_t)
COPY_TO_INT(copy_i64_f32, float)
COPY_TO_INT(copy_i64_f64, double)
COPY_PLAIN(copy_b_b, uint8_t, uint8_t)
COPY_TO_BOOL(copy_b_f32, float)
COPY_TO_BOOL(copy_b_f64, double)
COPY_TO_BOOL(copy_b_i64, int64_t)

static const mf_iter_fn copy_kernels[MF_DTYPE_COUNT][MF_DTYPE_COUNT] = {
    [MF_FLOAT32] = {copy_f32_f32, copy_f32_f64, copy_f32_i64, copy_f32_b},
    [MF_FLOAT64] = {copy_f64_f32, copy_f64_f64, copy_f64_i64, copy_f64_b},
    [MF_INT64] = {copy_i64_f32, copy_i64_f64, copy_i64_i64, copy_i64_b},
    [MF_BOOL] = {copy_b_f32, copy_b_f64, copy_b_i64, copy_b_b},
};
static_assert(MF_FLOAT32 == 0 && MF_FLOAT64 == 1 && MF_INT64 == 2 && MF_BOOL == 3,
              "copy_kernels rows are in dtype order");

/* Bytes per thread below which a copy stays on one thread. */
#define COPY_GRAIN (1 << 20)

typedef struct {
    char *dst;
    const char *src;
} memcpy_job;

static void memcpy_range(int64_t lo, int64_t hi, void *vj)
{
    memcpy_job *j = vj;
    memcpy(j->dst + lo, j->src + lo, (size_t)(hi - lo));
}

/* A copy whose two innermost dims are contiguous in the destination and
 * swapped (contiguous in the other dim) in the source: a transpose. Walking
 * it row by row reads the source a column at a time; in tiles both sides
 * stay in cache. */
#define TILE 32

static int is_transposing(const mf_iter *it, const size_t *el)
{
    int b = it->ndim - 1, a = it->ndim - 2;
    return it->ndim >= 2 && it->stride[0][b] == (int64_t)el[0] &&
           it->stride[1][a] == (int64_t)el[1] && it->stride[1][b] != (int64_t)el[1] &&
           it->shape[a] >= TILE && it->shape[b] >= TILE;
}

typedef struct {
    const mf_iter *it;
    char **base;
    mf_iter_fn fn;
    void *ctx;
    atomic_int stopped;
} tile_job;

/* Tile rows [lo, hi) of every outer position: tile row r covers rows
 * r*TILE .. r*TILE+TILE-1 of the inner matrix of outer position r / ntr. */
static void tile_range(int64_t lo, int64_t hi, void *vj)
{
    tile_job *j = vj;
    const mf_iter *it = j->it;
    int nd = it->ndim, a = nd - 2, b = nd - 1;
    int64_t rows = it->shape[a], cols = it->shape[b], ntr = (rows + TILE - 1) / TILE;
    for (int64_t t = lo; t < hi && !atomic_load(&j->stopped); t++) {
        int64_t outer = t / ntr, i0 = (t % ntr) * TILE, i1 = i0 + TILE < rows ? i0 + TILE : rows;
        char *p0[2];
        for (int k = 0; k < 2; k++) {
            p0[k] = j->base[k];
            int64_t o = outer;
            for (int d = a - 1; d >= 0; d--) {
                p0[k] += (o % it->shape[d]) * it->stride[k][d];
                o /= it->shape[d];
            }
        }
        int64_t st[2] = {it->stride[0][b], it->stride[1][b]};
        for (int64_t j0 = 0; j0 < cols; j0 += TILE) {
            int64_t n = j0 + TILE < cols ? TILE : cols - j0;
            for (int64_t i = i0; i < i1; i++) {
                char *p[2] = {p0[0] + i * it->stride[0][a] + j0 * st[0],
                              p0[1] + i * it->stride[1][a] + j0 * st[1]};
                if (j->fn(n, p, st, j->ctx)) {
                    atomic_store(&j->stopped, 1);
                    return;
                }
            }
        }
    }
}

static int run_tiled(const mf_iter *it, char **base, mf_iter_fn fn, void *ctx)
{
    int64_t outer = 1;
    for (int d = 0; d < it->ndim - 2; d++) outer *= it->shape[d];
    int64_t ntiles = outer * ((it->shape[it->ndim - 2] + TILE - 1) / TILE);
    tile_job j = {it, base, fn, ctx, 0};
    int64_t per_tile = TILE * it->shape[it->ndim - 1];
    mf_parallel_for(ntiles, 1 + (COPY_GRAIN / 8) / per_tile, tile_range, &j);
    return atomic_load(&j.stopped);
}

mf_status mf_tensor_copy_(mf_tensor *dst, const mf_tensor *src)
{
    int64_t sstride[MF_MAX_DIMS];
    if (mf_tensor_is_self_overlapping(dst)) return refuse_overlapping(dst, 1);
    mf_status ag = mf_autograd_check_inplace(dst, 1);
    if (ag) return ag;
    if (mf_broadcast_strides(src, dst->ndim, dst->shape, sstride) != 0) {
        char a[MF_SHAPE_STRLEN], b[MF_SHAPE_STRLEN];
        return mf_error_set(MF_EINVAL, 2, "shape %s cannot be broadcast to %s",
                            mf_shape_str(a, sizeof a, src->ndim, src->shape),
                            mf_shape_str(b, sizeof b, dst->ndim, dst->shape));
    }
    /* Source and destination in one storage may overlap (copying a tensor
     * into a shifted view of itself) and read values already overwritten:
     * go through a temporary copy of the source. */
    if (dst->storage == src->storage && src != dst) {
        mf_tensor *tmp;
        mf_status st = mf_op_run1(MF_OP_CLONE, (mf_tensor *)src, NULL, &tmp);
        if (st) return st;
        st = mf_tensor_copy_(dst, tmp);
        mf_tensor_release(tmp);
        return st;
    }
    const int64_t *strides[2] = {dst->stride, sstride};
    size_t el[2] = {mf_dtype_size(dst->dtype), mf_dtype_size(src->dtype)};
    mf_iter it;
    mf_iter_init(&it, 2, dst->ndim, dst->shape, strides, el);
    char *base[2] = {mf_tensor_data(dst), mf_tensor_data(src)};
    if (dst->dtype == src->dtype && it.ndim == 1 && it.stride[0][0] == (int64_t)el[0] &&
        it.stride[1][0] == (int64_t)el[1]) {
        memcpy_job j = {base[0], base[1]};
        mf_parallel_for((int64_t)((size_t)it.numel * el[0]), COPY_GRAIN, memcpy_range, &j);
        return MF_OK;
    }
    copy_ctx ctx = {0, 0};
    mf_iter_fn fn = copy_kernels[dst->dtype][src->dtype];
    int stopped = is_transposing(&it, el) ? run_tiled(&it, base, fn, &ctx)
                                          : mf_iter_run_parallel(&it, base, COPY_GRAIN / 8, fn, &ctx);
    if (stopped)
        return mf_error_set(MF_EINVAL, 2, "value %g cannot be converted to int64", ctx.bad);
    return MF_OK;
}

#define FILL_KERNEL(NAME, T)                                                       \
    static int NAME(int64_t n, char **p, const int64_t *s, void *ctx)              \
    {                                                                               \
        T v = *(const T *)ctx;                                                      \
        char *d = p[0];                                                             \
        if (s[0] == (int64_t)sizeof(T)) {                                           \
            T *dd = (T *)(void *)d;                                                 \
            for (int64_t i = 0; i < n; i++) dd[i] = v;                              \
        } else {                                                                    \
            for (int64_t i = 0; i < n; i++, d += s[0]) *(T *)(void *)d = v;         \
        }                                                                           \
        return 0;                                                                   \
    }
FILL_KERNEL(fill_f32, float)
FILL_KERNEL(fill_f64, double)
FILL_KERNEL(fill_i64, int64_t)
FILL_KERNEL(fill_bool, uint8_t)

static void fill_with(mf_tensor *t, mf_iter_fn fn, const void *value)
{
    const int64_t *strides[1] = {t->stride};
    size_t el[1] = {mf_dtype_size(t->dtype)};
    mf_iter it;
    mf_iter_init(&it, 1, t->ndim, t->shape, strides, el);
    char *base[1] = {mf_tensor_data(t)};
    mf_iter_run(&it, base, fn, (void *)value); /* kernels only read it */
}

mf_status mf_tensor_fill_(mf_tensor *t, double value)
{
    if (mf_tensor_is_self_overlapping(t)) return refuse_overlapping(t, 1);
    mf_status ag = mf_autograd_check_inplace(t, 1);
    if (ag) return ag;
    float f = (float)value;
    uint8_t b = value != 0;
    switch (t->dtype) {
    case MF_FLOAT32: fill_with(t, fill_f32, &f); return MF_OK;
    case MF_FLOAT64: fill_with(t, fill_f64, &value); return MF_OK;
    case MF_BOOL: fill_with(t, fill_bool, &b); return MF_OK;
    default:
        if (!fits_i64(value))
            return mf_error_set(MF_EINVAL, 2, "%g does not fit in int64", value);
        return mf_tensor_fill_i64_(t, (int64_t)value);
    }
}

mf_status mf_tensor_fill_i64_(mf_tensor *t, int64_t value)
{
    if (mf_tensor_is_self_overlapping(t)) return refuse_overlapping(t, 1);
    if (t->dtype != MF_INT64) return mf_tensor_fill_(t, (double)value);
    mf_status ag = mf_autograd_check_inplace(t, 1);
    if (ag) return ag;
    fill_with(t, fill_i64, &value);
    return MF_OK;
}

/* ---------------------------------------------------------------- ranges */
mf_status mf_tensor_arange(mf_tensor **out, mf_dtype dt, double start, double end, double step)
{
    *out = NULL;
    if (!isfinite(start) || !isfinite(end))
        return mf_error_set(MF_EINVAL, 1, "bounds must be finite, got %g and %g", start, end);
    if (!(step != 0) || !isfinite(step))
        return mf_error_set(MF_EINVAL, 3, "step must be finite and nonzero, got %g", step);
    if ((end - start) / step > 1e15)
        return mf_error_set(MF_ERANGE, 2, "range [%g, %g) by %g is too long", start, end, step);
    double c = ceil((end - start) / step);
    int64_t n = c > 0 ? (int64_t)c : 0;
    mf_status st = mf_tensor_new(out, dt, 1, &n);
    if (st) return st;
    for (int64_t i = 0; i < n; i++) mf_store(dt, (*out)->base, i, start + (double)i * step);
    return MF_OK;
}

mf_status mf_tensor_linspace(mf_tensor **out, mf_dtype dt, double start, double end,
                             int64_t steps)
{
    *out = NULL;
    if (steps < 0) return mf_error_set(MF_EINVAL, 3, "steps must be >= 0, got %lld", (long long)steps);
    mf_status st = mf_tensor_new(out, dt, 1, &steps);
    if (st) return st;
    double h = steps > 1 ? (end - start) / (double)(steps - 1) : 0;
    /* the second half counts back from `end` so both ends are exact */
    for (int64_t i = 0; i < steps; i++) {
        double v = i < steps / 2 ? start + h * (double)i : end - h * (double)(steps - 1 - i);
        mf_store(dt, (*out)->base, i, v);
    }
    return MF_OK;
}

mf_status mf_tensor_eye(mf_tensor **out, mf_dtype dt, int64_t n, int64_t m)
{
    int64_t shape[2] = {n, m};
    mf_status st = mf_tensor_zeros(out, dt, 2, shape);
    if (st) return st;
    for (int64_t i = 0; i < n && i < m; i++) mf_store(dt, (*out)->base, i * m + i, 1.0);
    return MF_OK;
}

/* ---------------------------------------------------------------- 1-based indices */
typedef struct {
    int64_t size;
    int64_t bad;
    int failed;
} index_ctx;

static int index_from_1(int64_t n, char **p, const int64_t *s, void *vctx)
{
    index_ctx *c = vctx;
    char *d = p[0];
    for (int64_t i = 0; i < n; i++, d += s[0]) {
        int64_t v = *(int64_t *)(void *)d;
        if (v == 0 || v > c->size || v < -c->size) {
            c->bad = v;
            c->failed = 1;
            return 1;
        }
        *(int64_t *)(void *)d = v > 0 ? v - 1 : v + c->size;
    }
    return 0;
}

static int index_to_1(int64_t n, char **p, const int64_t *s, void *vctx)
{
    (void)vctx;
    char *d = p[0];
    for (int64_t i = 0; i < n; i++, d += s[0]) *(int64_t *)(void *)d += 1;
    return 0;
}

static mf_status index_walk(mf_tensor *idx, mf_iter_fn fn, index_ctx *c, int arg)
{
    if (idx->dtype != MF_INT64)
        return mf_error_set(MF_EINVAL, arg, "indices must be an int64 tensor, got %s",
                            mf_dtype_name(idx->dtype));
    const int64_t *strides[1] = {idx->stride};
    size_t el[1] = {sizeof(int64_t)};
    mf_iter it;
    mf_iter_init(&it, 1, idx->ndim, idx->shape, strides, el);
    char *base[1] = {mf_tensor_data(idx)};
    mf_iter_run(&it, base, fn, c);
    return MF_OK;
}

mf_status mf_index_from_1based_(mf_tensor *idx, int64_t size, int arg)
{
    index_ctx c = {size, 0, 0};
    mf_status st = index_walk(idx, index_from_1, &c, arg);
    if (st == MF_OK && c.failed)
        return mf_error_set(MF_ERANGE, arg, "index %lld out of range for size %lld (expected 1..%lld)",
                            (long long)c.bad, (long long)size, (long long)size);
    return st;
}

mf_status mf_index_to_1based_(mf_tensor *idx)
{
    index_ctx c = {0, 0, 0};
    mf_tensor_bump_version(idx);
    return index_walk(idx, index_to_1, &c, 1);
}
