/* mf_error.c — the per-thread error record, dtype table and allocator. */
#include "mf_common.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local mf_error mf_err_tls;

const mf_error *mf_error_get(void) { return &mf_err_tls; }

void mf_error_clear(void)
{
    mf_err_tls.code = MF_OK;
    mf_err_tls.arg = 0;
    mf_err_tls.msg[0] = '\0';
}

mf_status mf_error_set(mf_status code, int arg, const char *fmt, ...)
{
    va_list ap;
    mf_err_tls.code = code;
    mf_err_tls.arg = arg;
    va_start(ap, fmt);
    vsnprintf(mf_err_tls.msg, sizeof mf_err_tls.msg, fmt, ap);
    va_end(ap);
    return code;
}

/* ------------------------------------------------------------------ dtypes */
static const struct {
    const char *name;
    size_t size;
    int is_float;
    int rank; /* promotion order */
} mf_dtype_info[MF_DTYPE_COUNT] = {
    [MF_FLOAT32] = {"float32", sizeof(float), 1, 2},
    [MF_FLOAT64] = {"float64", sizeof(double), 1, 3},
    [MF_INT64] = {"int64", sizeof(int64_t), 0, 1},
    [MF_BOOL] = {"bool", sizeof(uint8_t), 0, 0},
};

const char *mf_dtype_name(mf_dtype dt)
{
    return (unsigned)dt < MF_DTYPE_COUNT ? mf_dtype_info[dt].name : "?";
}

mf_dtype mf_dtype_from_name(const char *name)
{
    for (int i = 0; i < MF_DTYPE_COUNT; i++)
        if (strcmp(name, mf_dtype_info[i].name) == 0) return (mf_dtype)i;
    return MF_DTYPE_COUNT;
}

size_t mf_dtype_size(mf_dtype dt) { return mf_dtype_info[dt].size; }
int mf_dtype_is_float(mf_dtype dt) { return mf_dtype_info[dt].is_float; }

int mf_dtype_can_cast(mf_dtype from, mf_dtype to)
{
    if (mf_dtype_is_float(to)) return 1;
    if (to == MF_INT64) return from == MF_INT64 || from == MF_BOOL;
    return from == to;
}

mf_dtype mf_dtype_promote(mf_dtype a, mf_dtype b)
{
    return mf_dtype_info[a].rank >= mf_dtype_info[b].rank ? a : b;
}

/* ------------------------------------------------------------------ memory */
/*
 * Every block carries a header just before the pointer handed out: the
 * requested size (for the in-use counter) and the distance back to the start
 * of the underlying allocation, so one mf_free serves both alignments.
 */
typedef struct {
    size_t size;
    size_t back;
} mf_blockhdr;

#define MF_ALIGN_SMALL 16
#define MF_ALIGN_BIG 64

static atomic_size_t mf_mem_bytes;
static atomic_size_t mf_mem_count; /* successful allocations so far */
static atomic_long mf_mem_countdown;

static int mf_mem_should_fail(void)
{
    long n = atomic_load(&mf_mem_countdown);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&mf_mem_countdown, &n, n - 1))
            return n == 1;
    }
    return 0;
}

/*
 * Large blocks are kept for reuse when freed: a fresh multi-megabyte buffer
 * costs a page fault per 4 KB page (and zeroing by the kernel), often more
 * than the loop that fills it, while loops of tensor code allocate the same
 * sizes again and again. Sizes are rounded to whole pages and a block is
 * reused only for the same rounded size. At most MF_CACHE_BYTES are held;
 * mf_mem_trim() returns them. Not under AddressSanitizer, so that it still
 * sees every use after free.
 */
#if defined(__SANITIZE_ADDRESS__)
#define MF_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MF_CACHE 0
#endif
#endif
#ifndef MF_CACHE
#define MF_CACHE 1
#endif
#define MF_CACHE_MIN (256 * 1024)
#define MF_CACHE_BYTES ((size_t)256 << 20)
#define MF_CACHE_SLOTS 16

static struct {
    pthread_mutex_t lock;
    void *base[MF_CACHE_SLOTS]; /* oldest first */
    size_t total[MF_CACHE_SLOTS];
    int n;
    size_t bytes;
} mf_cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static size_t block_total(size_t nbytes, size_t align)
{
    size_t total = (nbytes + align + align - 1) / align * align;
    if (align == MF_ALIGN_BIG && total >= MF_CACHE_MIN) total = (total + 4095) / 4096 * 4096;
    return total;
}

static void *cache_take(size_t total)
{
    void *base = NULL;
    if (!MF_CACHE || total < MF_CACHE_MIN) return NULL;
    pthread_mutex_lock(&mf_cache.lock);
    for (int i = mf_cache.n - 1; i >= 0; i--) {
        if (mf_cache.total[i] != total) continue;
        base = mf_cache.base[i];
        mf_cache.bytes -= total;
        for (int k = i; k + 1 < mf_cache.n; k++) {
            mf_cache.base[k] = mf_cache.base[k + 1];
            mf_cache.total[k] = mf_cache.total[k + 1];
        }
        mf_cache.n--;
        break;
    }
    pthread_mutex_unlock(&mf_cache.lock);
    return base;
}

/* Keeps the block for reuse; returns 0 when it must be freed instead. */
static int cache_put(void *base, size_t total)
{
    void *evicted[MF_CACHE_SLOTS];
    int ne = 0, kept = 0;
    if (!MF_CACHE || total < MF_CACHE_MIN || total > MF_CACHE_BYTES / 2) return 0;
    pthread_mutex_lock(&mf_cache.lock);
    while (mf_cache.n > 0 &&
           (mf_cache.n == MF_CACHE_SLOTS || mf_cache.bytes + total > MF_CACHE_BYTES)) {
        evicted[ne++] = mf_cache.base[0];
        mf_cache.bytes -= mf_cache.total[0];
        for (int k = 0; k + 1 < mf_cache.n; k++) {
            mf_cache.base[k] = mf_cache.base[k + 1];
            mf_cache.total[k] = mf_cache.total[k + 1];
        }
        mf_cache.n--;
    }
    mf_cache.base[mf_cache.n] = base;
    mf_cache.total[mf_cache.n++] = total;
    mf_cache.bytes += total;
    kept = 1;
    pthread_mutex_unlock(&mf_cache.lock);
    for (int i = 0; i < ne; i++) free(evicted[i]);
    return kept;
}

void mf_mem_trim(void)
{
    pthread_mutex_lock(&mf_cache.lock);
    for (int i = 0; i < mf_cache.n; i++) free(mf_cache.base[i]);
    mf_cache.n = 0;
    mf_cache.bytes = 0;
    pthread_mutex_unlock(&mf_cache.lock);
}

int mf_mem_cache_enabled(void) { return MF_CACHE; }

size_t mf_mem_cached(void)
{
    pthread_mutex_lock(&mf_cache.lock);
    size_t b = mf_cache.bytes;
    pthread_mutex_unlock(&mf_cache.lock);
    return b;
}

static void *mf_alloc_with(size_t nbytes, size_t align)
{
    if (mf_mem_should_fail()) return NULL;
    if (nbytes > SIZE_MAX - 2 * align - 4096) return NULL;
    size_t total = block_total(nbytes, align);
    unsigned char *base = cache_take(total);
    if (!base)
        base = align <= MF_ALIGN_SMALL ? malloc(total) : aligned_alloc(align, total);
    if (!base) {
        mf_mem_trim(); /* give the cached blocks back and try once more */
        base = align <= MF_ALIGN_SMALL ? malloc(total) : aligned_alloc(align, total);
    }
    if (!base) return NULL;
    unsigned char *p = base + align;
    mf_blockhdr *h = (mf_blockhdr *)(void *)(p - sizeof(mf_blockhdr));
    h->size = nbytes;
    h->back = align;
    atomic_fetch_add(&mf_mem_bytes, nbytes);
    atomic_fetch_add_explicit(&mf_mem_count, 1, memory_order_relaxed);
    return p;
}

void *mf_malloc(size_t nbytes) { return mf_alloc_with(nbytes, MF_ALIGN_SMALL); }
/* Small blocks take malloc's own alignment: glibc serves them from its
 * per-thread cache, which aligned allocation bypasses, and SIMD alignment
 * does not matter at that size. */
#define MF_SMALL_BLOCK 2048
void *mf_malloc_aligned(size_t nbytes)
{
    return mf_alloc_with(nbytes, nbytes <= MF_SMALL_BLOCK ? MF_ALIGN_SMALL : MF_ALIGN_BIG);
}

void *mf_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return NULL;
    void *p = mf_malloc(n * size);
    if (p) memset(p, 0, n * size);
    return p;
}

void mf_free(void *p)
{
    if (!p) return;
    unsigned char *q = p;
    mf_blockhdr *h = (mf_blockhdr *)(void *)(q - sizeof(mf_blockhdr));
    atomic_fetch_sub(&mf_mem_bytes, h->size);
    if (!cache_put(q - h->back, block_total(h->size, h->back))) free(q - h->back);
}

size_t mf_mem_in_use(void) { return atomic_load(&mf_mem_bytes); }
size_t mf_mem_allocations(void) { return atomic_load(&mf_mem_count); }
void mf_mem_fail_after(long n) { atomic_store(&mf_mem_countdown, n < 0 ? 0 : n); }
