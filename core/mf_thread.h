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
/* Monotonic wall-clock seconds (for timing; the origin is arbitrary). */
double mf_clock(void);
/* The BLAS in use, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64". */
const char *mf_blas_info(void);

#endif
