/*
 * mf_thread.h — the one thread setting of moonforge.
 *
 * It applies to OpenBLAS and to every parallel kernel of libmoonforge. The
 * default is the number of cores, or MOONFORGE_NUM_THREADS when set; a
 * request is clamped to [1, cores], so moonforge never runs more threads
 * than there are cores.
 */
#ifndef MF_THREAD_H
#define MF_THREAD_H

#include "mf_common.h"

/* Reads MOONFORGE_NUM_THREADS once and applies the setting; idempotent. */
void mf_threads_init(void);
int mf_num_cores(void);
int mf_num_threads(void);
/* Returns the number actually in effect (n clamped to [1, cores]). */
int mf_set_num_threads(int n);
/*
 * Runs fn(lo, hi, ctx) over [0, n) split into contiguous chunks, on up to
 * mf_num_threads() threads (the caller's included), and returns when all are
 * done. Work below `grain` items per thread runs inline on the caller. The
 * workers are persistent; a call made while the pool is busy (from another
 * thread) runs inline. fn must not call mf_parallel_for itself.
 */
typedef void (*mf_range_fn)(int64_t lo, int64_t hi, void *ctx);
void mf_parallel_for(int64_t n, int64_t grain, mf_range_fn fn, void *ctx);

/* Monotonic wall-clock seconds (for timing; the origin is arbitrary). */
double mf_clock(void);
/* The BLAS in use, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64". */
const char *mf_blas_info(void);

#endif
