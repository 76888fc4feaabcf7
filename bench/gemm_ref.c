/*
 * gemm_ref.c — W1 reference: C = A·B, float32, square, with raw OpenBLAS
 * cblas_sgemm at 1 and 2 threads (openblas_set_num_threads). The figure
 * moonforge's matmul is read against; see ../shared/bench/WORKLOADS.md.
 *
 *   gemm_ref [quick]      n = 256, 1024, 2048 (quick: 64, 128)
 *
 * Per (n, threads): one warm-up call, then `reps` timed repetitions of
 * `calls` calls each (calls sized so that a repetition lasts ~0.2 s, 0.02 s
 * in quick mode); seconds per call is the median over repetitions. The result
 * is checked against a double-precision dot product on sampled entries
 * (metric max_rel_err). OPENBLAS_CORETYPE is left as the environment sets it
 * and reported with the core OpenBLAS chose.
 */
#include <cblas.h>
#include <math.h>
#include <stdint.h>

#include "bench_common.h"

/* Uniform in [-0.5, 0.5) from a fixed-seed 64-bit LCG (Knuth's MMIX). */
static float lcg_uniform(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(*s >> 40) / (double)(1ULL << 24)) - 0.5f;
}

/* Largest |C - A·B| on sampled entries, relative to sum |a||b| of the entry. */
static double max_rel_err(int n, const float *a, const float *b, const float *c)
{
    uint64_t s = 7;
    double worst = 0;
    for (int k = 0; k < 64; k++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        int i = (int)((s >> 33) % (uint64_t)n), j = (int)((s >> 13) % (uint64_t)n);
        double ref = 0, mag = 0;
        for (int p = 0; p < n; p++) {
            double x = (double)a[(size_t)i * (size_t)n + (size_t)p];
            double y = (double)b[(size_t)p * (size_t)n + (size_t)j];
            ref += x * y;
            mag += fabs(x * y);
        }
        double e = fabs((double)c[(size_t)i * (size_t)n + (size_t)j] - ref) / (mag > 0 ? mag : 1);
        if (e > worst) worst = e;
    }
    return worst;
}

static void sgemm(int n, const float *a, const float *b, float *c)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f,
                c, n);
}

int main(int argc, char **argv)
{
    const int quick = bench_is_quick(argc, argv);
    const int full_sizes[] = {256, 1024, 2048}, quick_sizes[] = {64, 128};
    const int *sizes = quick ? quick_sizes : full_sizes;
    const int nsizes = quick ? 2 : 3;
    const int thread_counts[] = {1, 2};
    const int reps = quick ? 5 : 7;
    const double target = quick ? 0.02 : 0.2;
    char core[64];

    snprintf(core, sizeof core, "%s", openblas_get_corename());
    for (int si = 0; si < nsizes; si++) {
        const int n = sizes[si];
        const size_t nn = (size_t)n * (size_t)n;
        float *a = bench_alloc(nn * sizeof *a), *b = bench_alloc(nn * sizeof *b),
              *c = bench_alloc(nn * sizeof *c);
        uint64_t seed = 42;
        for (size_t i = 0; i < nn; i++) a[i] = lcg_uniform(&seed);
        for (size_t i = 0; i < nn; i++) b[i] = lcg_uniform(&seed);
        memset(c, 0, nn * sizeof *c);

        for (int ti = 0; ti < 2; ti++) {
            const int threads = thread_counts[ti];
            double t[16];
            openblas_set_num_threads(threads);
            double t0 = bench_now();
            sgemm(n, a, b, c); /* warm-up: thread pool, caches, page faults */
            const int calls = bench_calls_for(bench_now() - t0, target);
            for (int r = 0; r < reps; r++) {
                t0 = bench_now();
                for (int k = 0; k < calls; k++) sgemm(n, a, b, c);
                t[r] = (bench_now() - t0) / calls;
            }
            const double med = bench_median(t, reps), best = t[0];
            const double flop = 2.0 * (double)n * (double)n * (double)n;
            printf("{\"workload\": \"W1_gemm_f32_n%d\", \"tool\": \"cblas_sgemm\", "
                   "\"threads\": %d, \"seconds\": %.6g, \"throughput\": %.2f, "
                   "\"unit\": \"GFLOP/s\", \"stat\": \"median\", \"best_seconds\": %.6g, "
                   "\"reps\": %d, \"calls_per_rep\": %d, \"metric\": %.3g, "
                   "\"metric_name\": \"max_rel_err\", \"blas_core\": \"%s\", "
                   "\"blas_env\": \"OPENBLAS_CORETYPE=%s\"}\n",
                   n, threads, med, flop / med / 1e9, best, reps, calls,
                   max_rel_err(n, a, b, c), core, bench_env("OPENBLAS_CORETYPE"));
            fflush(stdout);
        }
        free(a);
        free(b);
        free(c);
    }
    return 0;
}
