/* mf_error.c — the per-thread error record, dtype table and allocator. */
#include "mf_common.h"

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

static void *mf_alloc_with(size_t nbytes, size_t align)
{
    if (mf_mem_should_fail()) return NULL;
    if (nbytes > SIZE_MAX - 2 * align) return NULL;
    size_t total = (nbytes + align + align - 1) / align * align;
    unsigned char *base = align <= MF_ALIGN_SMALL ? malloc(total) : aligned_alloc(align, total);
    if (!base) return NULL;
    unsigned char *p = base + align;
    mf_blockhdr *h = (mf_blockhdr *)(void *)(p - sizeof(mf_blockhdr));
    h->size = nbytes;
    h->back = align;
    atomic_fetch_add(&mf_mem_bytes, nbytes);
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
    free(q - h->back);
}

size_t mf_mem_in_use(void) { return atomic_load(&mf_mem_bytes); }
void mf_mem_fail_after(long n) { atomic_store(&mf_mem_countdown, n < 0 ? 0 : n); }
