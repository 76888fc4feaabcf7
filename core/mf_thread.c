/* mf_thread.c — see mf_thread.h. */
#include "mf_thread.h"

#include <cblas.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int mf_threads = 1;
static pthread_once_t mf_threads_once = PTHREAD_ONCE_INIT;

int mf_num_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

static int clamp_threads(long n)
{
    int cores = mf_num_cores();
    return n < 1 ? 1 : n > cores ? cores : (int)n;
}

static void threads_init_once(void)
{
    const char *env = getenv("MOONFORGE_NUM_THREADS");
    long n = mf_num_cores();
    if (env && *env) {
        char *end;
        long v = strtol(env, &end, 10);
        if (*end == '\0' && v > 0) n = v;
    }
    mf_threads = clamp_threads(n);
    openblas_set_num_threads(mf_threads);
}

void mf_threads_init(void) { pthread_once(&mf_threads_once, threads_init_once); }

int mf_num_threads(void)
{
    mf_threads_init();
    return mf_threads;
}

int mf_set_num_threads(int n)
{
    mf_threads_init();
    mf_threads = clamp_threads(n);
    openblas_set_num_threads(mf_threads);
    return mf_threads;
}

const char *mf_blas_info(void)
{
    const char *s = openblas_get_config();
    return s ? s : "unknown BLAS";
}

double mf_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
