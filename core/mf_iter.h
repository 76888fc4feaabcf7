/*
 * mf_iter.h — walking several strided operands of one shape together.
 *
 * Kernels are written as an inner loop over `n` elements with a byte stride
 * per operand; mf_iter runs that loop over every row of the (coalesced)
 * outer dims. Dims of size 1 are dropped and dims that are contiguous with
 * each other for every operand are merged, so a contiguous tensor of any
 * shape is one call of the inner loop.
 */
#ifndef MF_ITER_H
#define MF_ITER_H

#include "mf_tensor.h"

#define MF_ITER_MAX_OPS 4

typedef struct mf_iter {
    int nops;
    int ndim; /* >= 1 after init; dim ndim-1 is the inner loop */
    int64_t shape[MF_MAX_DIMS];
    int64_t stride[MF_ITER_MAX_OPS][MF_MAX_DIMS]; /* bytes */
    int64_t numel;
} mf_iter;

/* Inner loop: n elements, ptr[k] advancing by stride[k] bytes. Returns
 * nonzero to stop the walk (the kernel has recorded why). */
typedef int (*mf_iter_fn)(int64_t n, char **ptr, const int64_t *stride, void *ctx);

/* strides[k] are element strides of operand k over `shape` (0 = broadcast). */
void mf_iter_init(mf_iter *it, int nops, int ndim, const int64_t *shape,
                  const int64_t *const *strides, const size_t *elsize);
/* Returns nonzero if the kernel stopped the walk. */
int mf_iter_run(const mf_iter *it, char **base, mf_iter_fn fn, void *ctx);
/* The same over the elements [lo, hi) of the walk's order, so that threads
 * can share one walk. */
int mf_iter_run_range(const mf_iter *it, char **base, int64_t lo, int64_t hi, mf_iter_fn fn,
                      void *ctx);
/* mf_iter_run on up to mf_num_threads() threads when the walk is long enough
 * (at least `grain` elements per thread). The kernel must be safe to run on
 * disjoint ranges at once; returns nonzero if any part stopped. */
int mf_iter_run_parallel(const mf_iter *it, char **base, int64_t grain, mf_iter_fn fn,
                         void *ctx);

/* A row-major walk over the elements of one tensor, for loops that need
 * each element's position: `off` is the current element's offset (in
 * elements) from the first; idx its index. A 0-D tensor has one element. */
typedef struct mf_walk {
    int nd;
    int64_t shape[MF_MAX_DIMS], stride[MF_MAX_DIMS], idx[MF_MAX_DIMS];
    int64_t off;
} mf_walk;

static inline void mf_walk_init(mf_walk *w, const mf_tensor *t)
{
    w->nd = t->ndim;
    w->off = 0;
    for (int d = 0; d < t->ndim; d++) {
        w->shape[d] = t->shape[d];
        w->stride[d] = t->stride[d];
        w->idx[d] = 0;
    }
}

static inline void mf_walk_next(mf_walk *w)
{
    for (int d = w->nd - 1; d >= 0; d--) {
        w->off += w->stride[d];
        if (++w->idx[d] < w->shape[d]) return;
        w->off -= w->stride[d] * w->shape[d];
        w->idx[d] = 0;
    }
}

/* Element strides of `t` broadcast to (ndim, shape); -1 if incompatible. */
int mf_broadcast_strides(const mf_tensor *t, int ndim, const int64_t *shape,
                         int64_t *stride_out);

#endif
