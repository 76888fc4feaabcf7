/*
 * mf_op_sort.c — sorting and unique: the records of sort and
 * unique_consecutive, and the wrappers sort, argsort, topk, unique and
 * unique_consecutive of mf_select.h.
 *
 * Sorting maps every value to an unsigned 64-bit key whose unsigned order is
 * the wanted order (floats: sign-flipped bits, -0.0 as 0.0, every NaN above
 * +inf; descending: the complement), then sorts (key, position) pairs
 * stably: insertion sort for short rows, merge sort for medium ones and an
 * LSD radix sort (8-bit digits, constant digits skipped) for long ones. A
 * stable sort has exactly one result, so the choice of algorithm, like the
 * number of threads over the rows, never changes the output.
 */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "mf_iter.h"
#include "mf_op_impl.h"
#include "mf_select.h"
#include "mf_thread.h"

static mf_status bad_dim(int arg, int64_t dim, int ndim)
{
    return mf_error_set(MF_ERANGE, arg, "dim %lld out of range for a %d-D tensor",
                        (long long)dim, ndim);
}

/* 0-D tensors sort as one element along "dim 0" (or -1). */
static int sort_dim(const mf_tensor *t, int64_t dim)
{
    return mf_dim_wrap(dim, t->ndim ? t->ndim : 1, 0);
}

/* ---------------------------------------------------------------- keys */
static inline uint64_t key_f32(float f)
{
    uint32_t u;
    if (isnan(f)) return UINT32_MAX;
    if (f == 0) f = 0.0f; /* -0.0 sorts as 0.0 */
    memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

static inline uint64_t key_f64(double f)
{
    uint64_t u;
    if (isnan(f)) return UINT64_MAX;
    if (f == 0) f = 0.0;
    memcpy(&u, &f, sizeof u);
    return (u & 0x8000000000000000u) ? ~u : (u | 0x8000000000000000u);
}

static inline uint64_t key_i64(int64_t v) { return (uint64_t)v ^ 0x8000000000000000u; }

/* Keys of the n entries of a row (stride in elements), complemented when
 * descending, with positions 0..n-1. */
static void load_keys(mf_dtype dt, const char *x, int64_t stride, int64_t n, int desc,
                      uint64_t *k, int64_t *ix)
{
    uint64_t flip = desc ? UINT64_MAX : 0;
    switch (dt) {
    case MF_FLOAT32: {
        const float *v = (const float *)(const void *)x;
        for (int64_t i = 0; i < n; i++) k[i] = key_f32(v[i * stride]) ^ flip;
        break;
    }
    case MF_FLOAT64: {
        const double *v = (const double *)(const void *)x;
        for (int64_t i = 0; i < n; i++) k[i] = key_f64(v[i * stride]) ^ flip;
        break;
    }
    case MF_INT64: {
        const int64_t *v = (const int64_t *)(const void *)x;
        for (int64_t i = 0; i < n; i++) k[i] = key_i64(v[i * stride]) ^ flip;
        break;
    }
    default: {
        const uint8_t *v = (const uint8_t *)x;
        for (int64_t i = 0; i < n; i++) k[i] = (uint64_t)(v[i * stride] != 0) ^ flip;
        break;
    }
    }
    for (int64_t i = 0; i < n; i++) ix[i] = i;
}

/* ---------------------------------------------------------------- stable sorts of (key, position) */
static void insertion_sort(uint64_t *k, int64_t *ix, int64_t n)
{
    for (int64_t i = 1; i < n; i++) {
        uint64_t kk = k[i];
        int64_t ii = ix[i], j = i;
        for (; j > 0 && k[j - 1] > kk; j--) {
            k[j] = k[j - 1];
            ix[j] = ix[j - 1];
        }
        k[j] = kk;
        ix[j] = ii;
    }
}

#define RUN 32

/* Bottom-up merge sort; returns 0 if the result is in (k, ix), 1 if in (tk, ti). */
static int merge_sort(uint64_t *k, int64_t *ix, uint64_t *tk, int64_t *ti, int64_t n)
{
    for (int64_t s = 0; s < n; s += RUN) insertion_sort(k + s, ix + s, n - s < RUN ? n - s : RUN);
    uint64_t *sk = k, *dk = tk;
    int64_t *si = ix, *di = ti;
    int where = 0;
    for (int64_t w = RUN; w < n; w *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * w) {
            int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int64_t a = lo, b = mid, o = lo;
            while (a < mid && b < hi) { /* <=: the left run wins ties (stable) */
                if (sk[a] <= sk[b]) {
                    dk[o] = sk[a];
                    di[o++] = si[a++];
                } else {
                    dk[o] = sk[b];
                    di[o++] = si[b++];
                }
            }
            for (; a < mid; a++, o++) {
                dk[o] = sk[a];
                di[o] = si[a];
            }
            for (; b < hi; b++, o++) {
                dk[o] = sk[b];
                di[o] = si[b];
            }
        }
        uint64_t *t1 = sk;
        sk = dk;
        dk = t1;
        int64_t *t2 = si;
        si = di;
        di = t2;
        where ^= 1;
    }
    return where;
}

/* LSD radix sort on bytes (stable: each pass is a counting sort). */
static int radix_sort(uint64_t *k, int64_t *ix, uint64_t *tk, int64_t *ti, int64_t n)
{
    int64_t hist[8][256];
    memset(hist, 0, sizeof hist);
    for (int64_t i = 0; i < n; i++) {
        uint64_t v = k[i];
        for (int b = 0; b < 8; b++) hist[b][(v >> (8 * b)) & 0xff]++;
    }
    uint64_t *sk = k, *dk = tk;
    int64_t *si = ix, *di = ti;
    int where = 0;
    for (int b = 0; b < 8; b++) {
        int shift = 8 * b;
        if (hist[b][(k[0] >> shift) & 0xff] == n) continue; /* one digit for all: no-op pass */
        int64_t pos[256], sum = 0;
        for (int j = 0; j < 256; j++) {
            pos[j] = sum;
            sum += hist[b][j];
        }
        for (int64_t i = 0; i < n; i++) {
            int64_t o = pos[(sk[i] >> shift) & 0xff]++;
            dk[o] = sk[i];
            di[o] = si[i];
        }
        uint64_t *t1 = sk;
        sk = dk;
        dk = t1;
        int64_t *t2 = si;
        si = di;
        di = t2;
        where ^= 1;
    }
    return where;
}

static int sort_pairs(uint64_t *k, int64_t *ix, uint64_t *tk, int64_t *ti, int64_t n)
{
    if (n <= RUN) {
        insertion_sort(k, ix, n);
        return 0;
    }
    if (n <= 512) return merge_sort(k, ix, tk, ti, n);
    return radix_sort(k, ix, tk, ti, n);
}

/* ---------------------------------------------------------------- sort */
static mf_status infer_sort(const mf_op_args *a, mf_layout *l)
{
    const mf_tensor *t = a->in[0];
    if (sort_dim(t, a->p->ints[0]) < 0) return bad_dim(2, a->p->ints[0], t->ndim);
    for (int k = 0; k < 2; k++) {
        memset(&l[k], 0, sizeof l[k]);
        l[k].ndim = t->ndim;
        memcpy(l[k].shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
    }
    l[0].dtype = t->dtype;
    l[1].dtype = MF_INT64;
    return MF_OK;
}

typedef struct {
    const mf_tensor *t;
    mf_tensor *v, *ix;
    int d;
    int64_t n; /* entries per row */
    int desc;
    atomic_int failed; /* a worker could not allocate its buffers */
} sort_ctx;

/* Element offsets of row r in t, v and ix: r enumerates the dims other
 * than d in row-major order. */
static void row_offsets(const sort_ctx *c, int64_t r, int64_t *ot, int64_t *ov, int64_t *oi)
{
    const mf_tensor *t = c->t;
    *ot = t->offset;
    *ov = c->v->offset;
    *oi = c->ix->offset;
    for (int e = t->ndim - 1; e >= 0; e--) {
        if (e == c->d) continue;
        int64_t q = r % t->shape[e];
        r /= t->shape[e];
        *ot += q * t->stride[e];
        *ov += q * c->v->stride[e];
        *oi += q * c->ix->stride[e];
    }
}

static void sort_rows(int64_t lo, int64_t hi, void *vctx)
{
    sort_ctx *c = vctx;
    const mf_tensor *t = c->t;
    int64_t n = c->n;
    size_t es = mf_dtype_size(t->dtype);
    int nd = t->ndim;
    int64_t ts = nd ? t->stride[c->d] : 0, vs = nd ? c->v->stride[c->d] : 0,
            is = nd ? c->ix->stride[c->d] : 0;
    uint64_t *keys = mf_malloc((size_t)n * 2 * sizeof *keys);
    int64_t *pos = mf_malloc((size_t)n * 2 * sizeof *pos);
    if (!keys || !pos) {
        atomic_store(&c->failed, 1);
        mf_free(keys);
        mf_free(pos);
        return;
    }
    const char *tb = t->base;
    char *vb = c->v->base;
    int64_t *ib = c->ix->base;
    for (int64_t r = lo; r < hi; r++) {
        int64_t ot, ov, oi;
        row_offsets(c, r, &ot, &ov, &oi);
        const char *x = tb + ot * (int64_t)es;
        load_keys(t->dtype, x, ts, n, c->desc, keys, pos);
        int where = sort_pairs(keys, pos, keys + n, pos + n, n);
        const int64_t *p = pos + (where ? n : 0);
        char *y = vb + ov * (int64_t)es;
        switch (es) {
        case 8:
            for (int64_t i = 0; i < n; i++)
                ((uint64_t *)(void *)y)[i * vs] = ((const uint64_t *)(const void *)x)[p[i] * ts];
            break;
        case 4:
            for (int64_t i = 0; i < n; i++)
                ((uint32_t *)(void *)y)[i * vs] = ((const uint32_t *)(const void *)x)[p[i] * ts];
            break;
        default:
            for (int64_t i = 0; i < n; i++) ((uint8_t *)y)[i * vs] = ((const uint8_t *)x)[p[i] * ts];
            break;
        }
        for (int64_t i = 0; i < n; i++) ib[oi + i * is] = p[i];
    }
    mf_free(keys);
    mf_free(pos);
}

static mf_status forward_sort(const mf_op_args *a, mf_tensor *const *outs)
{
    const mf_tensor *t = a->in[0];
    int64_t numel = mf_tensor_numel(t);
    if (numel == 0) return MF_OK;
    sort_ctx c;
    c.t = t;
    c.v = outs[0];
    c.ix = outs[1];
    c.d = sort_dim(t, a->p->ints[0]);
    c.n = t->ndim ? t->shape[c.d] : 1;
    c.desc = a->p->ints[1] != 0;
    atomic_init(&c.failed, 0);
    int64_t rows = numel / c.n;
    /* rows run in parallel when there is enough work per thread */
    int64_t grain = c.n >= 32768 ? 1 : 32768 / c.n;
    mf_parallel_for(rows, grain, sort_rows, &c);
    if (atomic_load(&c.failed))
        return mf_error_set(MF_ENOMEM, 0, "not enough memory to sort rows of %lld entries",
                            (long long)c.n);
    return MF_OK;
}

/* The values are t's entries permuted along dim: g goes back to the
 * positions they came from, the indices output (scatter_add into zeros). */
static mf_status backward_sort(const mf_op_args *a, mf_tensor *const *outs,
                               mf_tensor *const *grad_out, mf_tensor **grad_in)
{
    mf_tensor *t = a->in[0], *g = grad_out[0];
    if (!g || !t->requires_grad) return MF_OK;
    if (t->ndim == 0) { /* one element: the identity */
        mf_tensor_retain(g);
        grad_in[0] = g;
        return MF_OK;
    }
    mf_tensor *z = NULL;
    mf_status st = mf_tensor_zeros(&z, g->dtype, t->ndim, t->shape);
    if (st) return st;
    mf_tensor *in[3] = {z, outs[1], g};
    mf_op_params p = {0};
    p.n_ints = 1;
    p.ints[0] = a->p->ints[0];
    st = mf_op_run_into(MF_OP_SCATTER_ADD, 3, in, &p, &z, 1);
    if (st) {
        mf_tensor_release(z);
        return st;
    }
    grad_in[0] = z;
    return MF_OK;
}

const mf_op mf_oprec_sort = {"sort", 1, 2, MF_OPF_DIFF, infer_sort, forward_sort, backward_sort};

/* ---------------------------------------------------------------- unique_consecutive */
/* Equality of two elements as values: -0.0 == 0.0 and NaN ~= NaN (IEEE). */
static int same_value(mf_dtype dt, const char *x, const char *y)
{
    switch (dt) {
    case MF_FLOAT32: return *(const float *)(const void *)x == *(const float *)(const void *)y;
    case MF_FLOAT64: return *(const double *)(const void *)x == *(const double *)(const void *)y;
    case MF_INT64: return *(const int64_t *)(const void *)x == *(const int64_t *)(const void *)y;
    default: return (*(const uint8_t *)x != 0) == (*(const uint8_t *)y != 0);
    }
}

static int64_t count_runs(const mf_tensor *t)
{
    int64_t numel = mf_tensor_numel(t), runs = 0, prev = 0;
    size_t es = mf_dtype_size(t->dtype);
    const char *x = mf_tensor_data(t);
    mf_walk w;
    mf_walk_init(&w, t);
    for (int64_t i = 0; i < numel; i++, mf_walk_next(&w)) {
        if (i == 0 || !same_value(t->dtype, x + prev * (int64_t)es, x + w.off * (int64_t)es)) runs++;
        prev = w.off;
    }
    return runs;
}

static mf_status infer_unique_consecutive(const mf_op_args *a, mf_layout *l)
{
    const mf_tensor *t = a->in[0];
    int64_t runs = count_runs(t);
    memset(l, 0, 3 * sizeof *l);
    l[0].dtype = t->dtype;
    l[0].ndim = 1;
    l[0].shape[0] = runs;
    l[1].dtype = MF_INT64;
    l[1].ndim = t->ndim;
    memcpy(l[1].shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
    l[2].dtype = MF_INT64;
    l[2].ndim = 1;
    l[2].shape[0] = runs;
    return MF_OK;
}

static mf_status forward_unique_consecutive(const mf_op_args *a, mf_tensor *const *outs)
{
    const mf_tensor *t = a->in[0];
    mf_tensor *vals = outs[0], *inv = outs[1], *cnt = outs[2];
    int64_t numel = mf_tensor_numel(t), run = -1, prev = 0;
    size_t es = mf_dtype_size(t->dtype);
    const char *x = mf_tensor_data(t);
    char *v = mf_tensor_data(vals);
    int64_t *iv = mf_tensor_data(inv), *cn = mf_tensor_data(cnt);
    int64_t vs = vals->stride[0], cs = cnt->stride[0];
    mf_walk w, wi;
    mf_walk_init(&w, t);
    mf_walk_init(&wi, inv);
    for (int64_t i = 0; i < numel; i++, mf_walk_next(&w), mf_walk_next(&wi)) {
        const char *cur = x + w.off * (int64_t)es;
        if (i == 0 || !same_value(t->dtype, x + prev * (int64_t)es, cur)) {
            if (++run >= vals->shape[0]) /* the data changed since infer */
                return mf_error_set(MF_ESTATE, 1, "unique_consecutive: input changed while running");
            memcpy(v + run * vs * (int64_t)es, cur, es);
            cn[run * cs] = 0;
        }
        cn[run * cs]++;
        iv[wi.off] = run;
        prev = w.off;
    }
    return MF_OK;
}

const mf_op mf_oprec_unique_consecutive = {"unique_consecutive", 1, 3, 0,
                                           infer_unique_consecutive,
                                           forward_unique_consecutive, NULL};

/* ---------------------------------------------------------------- wrappers */
/* Hands out[k] to *dst[k] when wanted, releases it otherwise. */
static void hand_out(mf_tensor **dst, mf_tensor *t)
{
    if (dst) *dst = t;
    else mf_tensor_release(t);
}

mf_status mf_tensor_sort(mf_tensor **values, mf_tensor **indices, mf_tensor *t, int64_t dim,
                         int descending)
{
    mf_tensor *o[2];
    mf_op_params p = {0};
    if (values) *values = NULL;
    if (indices) *indices = NULL;
    p.n_ints = 2;
    p.ints[0] = dim;
    p.ints[1] = descending != 0;
    mf_status st = mf_op_run1(MF_OP_SORT, t, &p, o);
    if (st) return st;
    hand_out(values, o[0]);
    hand_out(indices, o[1]);
    return MF_OK;
}

mf_status mf_tensor_argsort(mf_tensor **indices, mf_tensor *t, int64_t dim, int descending)
{
    return mf_tensor_sort(NULL, indices, t, dim, descending);
}

mf_status mf_tensor_topk(mf_tensor **values, mf_tensor **indices, mf_tensor *t, int64_t k,
                         int64_t dim, int largest)
{
    if (values) *values = NULL;
    if (indices) *indices = NULL;
    int d = sort_dim(t, dim);
    if (d < 0) return bad_dim(3, dim, t->ndim);
    int64_t n = t->ndim ? t->shape[d] : 1;
    if (k < 0 || k > n)
        return mf_error_set(MF_ERANGE, 2, "k = %lld out of range for a dim of size %lld",
                            (long long)k, (long long)n);
    mf_tensor *o[2] = {NULL, NULL}, *r[2] = {NULL, NULL};
    mf_status st = mf_tensor_sort(&o[0], &o[1], t, d, largest);
    for (int j = 0; j < 2 && st == MF_OK; j++) {
        if (t->ndim == 0) { /* k is 0 or 1 */
            if (k == 1) {
                r[j] = o[j];
                o[j] = NULL;
            } else { /* no entry: shape [0] (a 0-D tensor always has one) */
                st = mf_tensor_new(&r[j], o[j]->dtype, 1, (int64_t[]){0});
            }
            continue;
        }
        mf_tensor *nar = NULL;
        st = mf_tensor_narrow(&nar, o[j], d, 0, k);
        if (st == MF_OK) st = mf_tensor_contiguous(&r[j], nar);
        mf_tensor_release(nar);
    }
    mf_tensor_release(o[0]);
    mf_tensor_release(o[1]);
    if (st) {
        mf_tensor_release(r[0]);
        mf_tensor_release(r[1]);
        return st;
    }
    hand_out(values, r[0]);
    hand_out(indices, r[1]);
    return MF_OK;
}

mf_status mf_tensor_unique_consecutive(mf_tensor **values, mf_tensor **inverse,
                                       mf_tensor **counts, mf_tensor *t)
{
    mf_tensor *o[3];
    if (values) *values = NULL;
    if (inverse) *inverse = NULL;
    if (counts) *counts = NULL;
    mf_status st = mf_op_run1(MF_OP_UNIQUE_CONSECUTIVE, t, NULL, o);
    if (st) return st;
    hand_out(values, o[0]);
    hand_out(inverse, o[1]);
    hand_out(counts, o[2]);
    return MF_OK;
}

/* sort the flattened tensor, take its runs; the inverse of entry perm[i] is
 * the run of sorted entry i (scattered back through the permutation). */
mf_status mf_tensor_unique(mf_tensor **values, mf_tensor **inverse, mf_tensor **counts,
                           mf_tensor *t)
{
    if (values) *values = NULL;
    if (inverse) *inverse = NULL;
    if (counts) *counts = NULL;
    mf_tensor *flat = NULL, *sorted = NULL, *perm = NULL, *u[3] = {NULL, NULL, NULL};
    mf_tensor *inv = NULL, *inv_t = NULL;
    mf_status st = mf_tensor_reshape(&flat, t, 1, (int64_t[]){-1});
    if (st == MF_OK) st = mf_tensor_sort(&sorted, inverse ? &perm : NULL, flat, 0, 0);
    if (st == MF_OK) st = mf_op_run1(MF_OP_UNIQUE_CONSECUTIVE, sorted, NULL, u);
    if (st == MF_OK && inverse) {
        st = mf_tensor_zeros(&inv, MF_INT64, 1, flat->shape);
        if (st == MF_OK) {
            mf_tensor *in[3] = {inv, perm, u[1]};
            mf_op_params p = {0};
            p.n_ints = 1;
            st = mf_op_run_into(MF_OP_SCATTER_ADD, 3, in, &p, &inv, 1);
        }
        if (st == MF_OK) st = mf_tensor_view_as(&inv_t, inv, t->ndim, t->shape);
    }
    mf_tensor_release(flat);
    mf_tensor_release(sorted);
    mf_tensor_release(perm);
    mf_tensor_release(inv);
    mf_tensor_release(u[1]);
    if (st) {
        mf_tensor_release(u[0]);
        mf_tensor_release(u[2]);
        mf_tensor_release(inv_t);
        return st;
    }
    hand_out(values, u[0]);
    hand_out(counts, u[2]);
    hand_out(inverse, inv_t);
    return MF_OK;
}
