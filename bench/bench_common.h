/*
 * bench_common.h — timing and output shared by the C reference benchmarks
 * (gemm_ref.c, ref_loops.c). Results are JSON lines in the format of
 * ../shared/bench/WORKLOADS.md; `seconds` is the median of `reps` timed
 * repetitions after one warm-up.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Wall-clock seconds (monotonic). */
static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v in place; returns its median. */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* How many calls make one timed repetition last about `target` seconds,
 * given one call took `once` seconds. */
static inline int bench_calls_for(double once, double target)
{
    if (once <= 0) return 1000;
    double c = target / once;
    return c < 1 ? 1 : c > 1000 ? 1000 : (int)c;
}

/* 64-byte aligned buffer (the alignment of moonforge's tensor storage);
 * exits on failure: this is a benchmark program, not library code. */
static inline void *bench_alloc(size_t nbytes)
{
    size_t rounded = (nbytes + 63) / 64 * 64;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) {
        fprintf(stderr, "bench: out of memory (%zu bytes)\n", nbytes);
        exit(1);
    }
    return p;
}

/* "quick" as the first argument selects the small sizes. */
static inline int bench_is_quick(int argc, char **argv)
{
    return argc > 1 && strcmp(argv[1], "quick") == 0;
}

static inline const char *bench_env(const char *name)
{
    const char *v = getenv(name);
    return v ? v : "unset";
}

#endif
