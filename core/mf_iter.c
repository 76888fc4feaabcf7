/* mf_iter.c — see mf_iter.h. */
#include "mf_iter.h"

#include <stdatomic.h>

#include "mf_thread.h"

void mf_iter_init(mf_iter *it, int nops, int ndim, const int64_t *shape,
                  const int64_t *const *strides, const size_t *elsize)
{
    it->nops = nops;
    it->numel = 1;
    for (int d = 0; d < ndim; d++) it->numel *= shape[d];
    /* keep dims of size != 1, outermost first */
    int n = 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 1) continue;
        it->shape[n] = shape[d];
        for (int k = 0; k < nops; k++)
            it->stride[k][n] = strides[k][d] * (int64_t)elsize[k];
        n++;
    }
    if (n == 0) { /* scalar or all size-1: one element */
        it->shape[0] = it->numel ? 1 : 0;
        for (int k = 0; k < nops; k++) it->stride[k][0] = (int64_t)elsize[k];
        n = 1;
    }
    /* merge dim d into d+1 when, for every operand, stepping d equals
     * stepping d+1 shape[d+1] times */
    int m = n - 1;
    for (int d = n - 2; d >= 0; d--) {
        int ok = 1;
        for (int k = 0; k < nops && ok; k++)
            ok = it->stride[k][d] == it->stride[k][m] * it->shape[m];
        if (ok) {
            it->shape[m] *= it->shape[d];
        } else {
            m--;
            it->shape[m] = it->shape[d];
            for (int k = 0; k < nops; k++) it->stride[k][m] = it->stride[k][d];
        }
    }
    /* shift the kept dims [m, n) down to [0, n-m) */
    it->ndim = n - m;
    for (int d = 0; d < it->ndim; d++) {
        it->shape[d] = it->shape[d + m];
        for (int k = 0; k < nops; k++) it->stride[k][d] = it->stride[k][d + m];
    }
}

int mf_iter_run(const mf_iter *it, char **base, mf_iter_fn fn, void *ctx)
{
    if (it->numel == 0) return 0;
    int nd = it->ndim, nops = it->nops;
    int64_t inner = it->shape[nd - 1];
    int64_t istride[MF_ITER_MAX_OPS];
    char *ptr[MF_ITER_MAX_OPS];
    int64_t idx[MF_MAX_DIMS] = {0};
    for (int k = 0; k < nops; k++) {
        istride[k] = it->stride[k][nd - 1];
        ptr[k] = base[k];
    }
    for (;;) {
        char *p[MF_ITER_MAX_OPS];
        for (int k = 0; k < nops; k++) p[k] = ptr[k];
        if (fn(inner, p, istride, ctx)) return 1;
        /* odometer over the outer dims */
        int d = nd - 2;
        for (; d >= 0; d--) {
            for (int k = 0; k < nops; k++) ptr[k] += it->stride[k][d];
            if (++idx[d] < it->shape[d]) break;
            for (int k = 0; k < nops; k++) ptr[k] -= it->stride[k][d] * it->shape[d];
            idx[d] = 0;
        }
        if (d < 0) return 0;
    }
}

int mf_iter_run_range(const mf_iter *it, char **base, int64_t lo, int64_t hi, mf_iter_fn fn,
                      void *ctx)
{
    if (lo >= hi) return 0;
    int nd = it->ndim, nops = it->nops;
    int64_t inner = it->shape[nd - 1];
    int64_t istride[MF_ITER_MAX_OPS], idx[MF_MAX_DIMS];
    char *ptr[MF_ITER_MAX_OPS];
    /* multi-index of element lo: outer dims from the row number */
    int64_t row = lo / inner, col = lo % inner;
    for (int d = nd - 2; d >= 0; d--) {
        idx[d] = row % it->shape[d];
        row /= it->shape[d];
    }
    for (int k = 0; k < nops; k++) {
        istride[k] = it->stride[k][nd - 1];
        ptr[k] = base[k];
        for (int d = 0; d < nd - 1; d++) ptr[k] += idx[d] * it->stride[k][d];
    }
    int64_t left = hi - lo;
    for (;;) {
        int64_t n = inner - col < left ? inner - col : left;
        char *p[MF_ITER_MAX_OPS];
        for (int k = 0; k < nops; k++) p[k] = ptr[k] + col * istride[k];
        if (fn(n, p, istride, ctx)) return 1;
        left -= n;
        if (left == 0) return 0;
        col = 0;
        int d = nd - 2;
        for (; d >= 0; d--) {
            for (int k = 0; k < nops; k++) ptr[k] += it->stride[k][d];
            if (++idx[d] < it->shape[d]) break;
            for (int k = 0; k < nops; k++) ptr[k] -= it->stride[k][d] * it->shape[d];
            idx[d] = 0;
        }
        if (d < 0) return 0;
    }
}

typedef struct {
    const mf_iter *it;
    char **base;
    mf_iter_fn fn;
    void *ctx;
    atomic_int stopped;
} iter_job;

static void iter_job_range(int64_t lo, int64_t hi, void *vjob)
{
    iter_job *j = vjob;
    if (mf_iter_run_range(j->it, j->base, lo, hi, j->fn, j->ctx)) atomic_store(&j->stopped, 1);
}

int mf_iter_run_parallel(const mf_iter *it, char **base, int64_t grain, mf_iter_fn fn,
                         void *ctx)
{
    if (it->numel < 2 * grain || mf_num_threads() < 2) return mf_iter_run(it, base, fn, ctx);
    iter_job j = {it, base, fn, ctx, 0};
    mf_parallel_for(it->numel, grain, iter_job_range, &j);
    return atomic_load(&j.stopped);
}

int mf_broadcast_strides(const mf_tensor *t, int ndim, const int64_t *shape,
                         int64_t *stride_out)
{
    if (t->ndim > ndim) return -1;
    int lead = ndim - t->ndim;
    for (int d = 0; d < ndim; d++) {
        if (d < lead) {
            stride_out[d] = 0;
            continue;
        }
        int64_t s = t->shape[d - lead];
        if (s == shape[d]) stride_out[d] = t->stride[d - lead];
        else if (s == 1) stride_out[d] = 0;
        else return -1;
    }
    return 0;
}
