/* mf_thread.c — see mf_thread.h. */
#include "mf_thread.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
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

/* ------------------------------------------------------------------ pool */
/*
 * One job at a time: the caller publishes (fn, ctx, n, chunks) under the
 * mutex and bumps `generation`; each worker that wakes takes chunk numbers
 * from `next_chunk` until none is left, then counts itself done. The caller
 * works on chunks too and waits for the workers it woke.
 */
#define MF_POOL_MAX 64

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake, done_cv;
    int started;      /* worker threads created so far */
    unsigned long generation;
    int active;       /* workers taking part in the current job */
    int done;
    mf_range_fn fn;
    void *ctx;
    int64_t n, nchunks;
    atomic_llong next_chunk;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER,
            .wake = PTHREAD_COND_INITIALIZER,
            .done_cv = PTHREAD_COND_INITIALIZER};

static pthread_mutex_t pool_busy = PTHREAD_MUTEX_INITIALIZER;

static void run_chunks(void)
{
    for (;;) {
        int64_t c = atomic_fetch_add(&pool.next_chunk, 1);
        if (c >= pool.nchunks) return;
        int64_t lo = pool.n * c / pool.nchunks, hi = pool.n * (c + 1) / pool.nchunks;
        pool.fn(lo, hi, pool.ctx);
    }
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (pool.generation == seen || id >= pool.active) {
            seen = pool.generation; /* a job without this worker counts as seen */
            pthread_cond_wait(&pool.wake, &pool.lock);
        }
        seen = pool.generation;
        pthread_mutex_unlock(&pool.lock);
        run_chunks();
        pthread_mutex_lock(&pool.lock);
        if (++pool.done == pool.active) pthread_cond_signal(&pool.done_cv);
    }
    return NULL;
}

void mf_parallel_for(int64_t n, int64_t grain, mf_range_fn fn, void *ctx)
{
    int threads = mf_num_threads();
    if (grain < 1) grain = 1;
    int64_t want = n / grain;
    if (want > threads) want = threads;
    if (want > MF_POOL_MAX) want = MF_POOL_MAX;
    if (want < 2 || pthread_mutex_trylock(&pool_busy) != 0) {
        if (n > 0) fn(0, n, ctx);
        return;
    }
    int helpers = (int)want - 1;
    pthread_mutex_lock(&pool.lock);
    while (pool.started < helpers) {
        pthread_t th;
        if (pthread_create(&th, NULL, worker, (void *)(intptr_t)pool.started) != 0) break;
        pthread_detach(th);
        pool.started++;
    }
    if (helpers > pool.started) helpers = pool.started;
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n = n;
    pool.nchunks = helpers + 1;
    atomic_store(&pool.next_chunk, 0);
    pool.active = helpers;
    pool.done = 0;
    pool.generation++;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);

    run_chunks();

    pthread_mutex_lock(&pool.lock);
    while (pool.done < pool.active) pthread_cond_wait(&pool.done_cv, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
    pthread_mutex_unlock(&pool_busy);
}
