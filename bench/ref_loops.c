/*
 * ref_loops.c — plain-C references for the memory workloads of tensor.lua,
 * so that moonforge's figures can be read as ratios (tool "c_loop").
 *
 *   ref_loops [quick]
 *
 * W1_clone_f32_10M (quick: W1_clone_f32_100k)
 *   c_loop            allocate a 64-byte aligned buffer and copy the float32
 *                     source into it: what t:clone() does
 *   c_loop_prealloc   the copy alone, into a buffer reused across calls (the
 *                     memory-bandwidth floor; fresh pages cost page faults)
 * W1_transpose_contiguous_f32_2048
 *   c_loop            allocate, then out[i][j] = in[j][i] row by row of the
 *                     output: what a contiguous() of a transposed view does
 *   c_loop_blocked    the same in 32x32 tiles (cache-friendly)
 * W1_add_f32_10M, W1_exp_f32_10M (quick: _100k)
 *   c_loop            allocate c, then c[i] = a[i] + b[i] (or expf(a[i])): what
 *                     `a + b` and mf.exp(a) do
 *   c_loop_prealloc   the loop alone, into a reused buffer
 *
 * Each at 1 and 2 threads (OpenMP, static split of the rows or the range; 1
 * thread only when built without OpenMP). Only the allocation and the copy
 * are timed, each call's free is not (moonforge frees after the timed call
 * too). Median seconds per call over `reps` repetitions after a warm-up;
 * throughput is the bytes read plus written per second.
 */
#include <math.h>
#include <stdint.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "bench_common.h"

static int g_threads = 1;

static void copy_f32(float *dst, const float *src, int64_t n)
{
#ifdef _OPENMP
#pragma omp parallel num_threads(g_threads)
    {
        int64_t nt = omp_get_num_threads(), id = omp_get_thread_num();
        int64_t lo = n * id / nt, hi = n * (id + 1) / nt;
        memcpy(dst + lo, src + lo, (size_t)(hi - lo) * sizeof *dst);
    }
#else
    memcpy(dst, src, (size_t)n * sizeof *dst);
#endif
}

/* out (n x n) = transpose of in (n x n), walking the output row-major. */
static void transpose_naive(float *out, const float *in, int64_t n)
{
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(g_threads)
#endif
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            out[i * n + j] = in[j * n + i];
}

#define TILE 32
static void transpose_blocked(float *out, const float *in, int64_t n)
{
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(g_threads)
#endif
    for (int64_t i0 = 0; i0 < n; i0 += TILE)
        for (int64_t j0 = 0; j0 < n; j0 += TILE) {
            int64_t i1 = i0 + TILE < n ? i0 + TILE : n, j1 = j0 + TILE < n ? j0 + TILE : n;
            for (int64_t i = i0; i < i1; i++)
                for (int64_t j = j0; j < j1; j++)
                    out[i * n + j] = in[j * n + i];
        }
}

static void add_f32(float *c, const float *a, const float *b, int64_t n)
{
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(g_threads)
#endif
    for (int64_t i = 0; i < n; i++) c[i] = a[i] + b[i];
}

static void exp_f32(float *y, const float *x, int64_t n)
{
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(g_threads)
#endif
    for (int64_t i = 0; i < n; i++) y[i] = expf(x[i]);
}

enum kind { CLONE, CLONE_PREALLOC, TRANSPOSE, TRANSPOSE_BLOCKED, ADD, ADD_PREALLOC, EXP, EXP_PREALLOC };

/* Seconds of one call: allocation (unless prealloc) plus the copy. */
static double one_call(enum kind k, const float *src, float *pre, int64_t n, int64_t numel)
{
    double t0 = bench_now();
    int prealloc = k == CLONE_PREALLOC || k == ADD_PREALLOC || k == EXP_PREALLOC;
    float *dst = prealloc ? pre : bench_alloc((size_t)numel * sizeof *dst);
    switch (k) {
    case ADD:
    case ADD_PREALLOC: add_f32(dst, src, src, numel); break;
    case EXP:
    case EXP_PREALLOC: exp_f32(dst, src, numel); break;
    case CLONE:
    case CLONE_PREALLOC: copy_f32(dst, src, numel); break;
    case TRANSPOSE: transpose_naive(dst, src, n); break;
    case TRANSPOSE_BLOCKED: transpose_blocked(dst, src, n); break;
    }
    double dt = bench_now() - t0;
    /* Reading one element keeps the copy from being optimised away. */
    volatile float sink = dst[numel - 1];
    (void)sink;
    if (dst != pre) free(dst);
    return dt;
}

static void run(const char *workload, const char *tool, enum kind k, int64_t n, int64_t numel,
                int reps, double target)
{
    const size_t nbytes = (size_t)numel * sizeof(float);
    float *src = bench_alloc(nbytes), *pre = bench_alloc(nbytes);
    memset(src, 0, nbytes);   /* as mf.zeros: every page touched */
    memset(pre, 0, nbytes);
    double t[16];
    const int calls = bench_calls_for(one_call(k, src, pre, n, numel), target); /* warm-up */
    for (int r = 0; r < reps; r++) {
        double sum = 0;
        for (int c = 0; c < calls; c++) sum += one_call(k, src, pre, n, numel);
        t[r] = sum / calls;
    }
    const double med = bench_median(t, reps), best = t[0];
    printf("{\"workload\": \"%s\", \"tool\": \"%s\", \"threads\": %d, \"seconds\": %.6g, "
           "\"throughput\": %.2f, \"unit\": \"GB/s\", \"stat\": \"median\", "
           "\"best_seconds\": %.6g, \"reps\": %d, \"calls_per_rep\": %d, \"bytes\": %zu}\n",
           workload, tool, g_threads, med, 2.0 * (double)nbytes / med / 1e9, best, reps, calls,
           nbytes);
    fflush(stdout);
    free(src);
    free(pre);
}

int main(int argc, char **argv)
{
    const int quick = bench_is_quick(argc, argv);
    const int reps = quick ? 5 : 7;
    const double target = quick ? 0.01 : 0.1;
    const int64_t clone_n = quick ? 100000 : 10000000, tn = 2048;
    const char *clone_w = quick ? "W1_clone_f32_100k" : "W1_clone_f32_10M";
    const char *add_w = quick ? "W1_add_f32_100k" : "W1_add_f32_10M";
    const char *exp_w = quick ? "W1_exp_f32_100k" : "W1_exp_f32_10M";
#ifdef _OPENMP
    const int max_threads = 2;
#else
    const int max_threads = 1;
#endif

    for (g_threads = 1; g_threads <= max_threads; g_threads++) {
        run(clone_w, "c_loop", CLONE, clone_n, clone_n, reps, target);
        run(clone_w, "c_loop_prealloc", CLONE_PREALLOC, clone_n, clone_n, reps, target);
        run("W1_transpose_contiguous_f32_2048", "c_loop", TRANSPOSE, tn, tn * tn, reps, target);
        run("W1_transpose_contiguous_f32_2048", "c_loop_blocked", TRANSPOSE_BLOCKED, tn, tn * tn,
            reps, target);
        run(add_w, "c_loop", ADD, clone_n, clone_n, reps, target);
        run(add_w, "c_loop_prealloc", ADD_PREALLOC, clone_n, clone_n, reps, target);
        run(exp_w, "c_loop", EXP, clone_n, clone_n, reps, target);
        run(exp_w, "c_loop_prealloc", EXP_PREALLOC, clone_n, clone_n, reps, target);
    }
    return 0;
}
