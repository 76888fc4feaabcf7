/*
 * mf_common.h — what every core/ subsystem shares: status codes, the error
 * record, dtypes, limits and the allocator.
 *
 * Conventions of libmoonforge:
 *  - Every function that can fail returns mf_status (MF_OK == 0). On failure
 *    it has released whatever it acquired and has filled the calling thread's
 *    error record (mf_error_get), naming the argument at fault when there is
 *    one. The library never prints, exits or aborts.
 *  - Positions given to and returned by the public API are 0-based in C; the
 *    Lua binding converts to 1-based.
 */
#ifndef MF_COMMON_H
#define MF_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define MF_VERSION_STRING "0.1.0"

typedef enum mf_status {
    MF_OK = 0,
    MF_EINVAL,   /* bad argument: value, shape or dtype */
    MF_ERANGE,   /* index or size out of range */
    MF_ENOMEM,   /* allocation failed */
    MF_ESTATE,   /* object in the wrong state (e.g. used after free) */
    MF_EIO       /* file or stream error */
} mf_status;

/* The error record of the calling thread, valid until the next failing call. */
typedef struct mf_error {
    mf_status code;
    int arg;           /* 1-based argument of the failing core call, 0 if none */
    char msg[512];
} mf_error;

const mf_error *mf_error_get(void);
void mf_error_clear(void);
/* Fills the record; returns code so that callers can `return mf_error_set(...)`. */
mf_status mf_error_set(mf_status code, int arg, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ------------------------------------------------------------------ dtypes */
typedef enum mf_dtype {
    MF_FLOAT32 = 0,
    MF_FLOAT64,
    MF_INT64,
    MF_BOOL, /* one byte, 0 or 1: the dtype of masks (comparisons) */
    MF_DTYPE_COUNT
} mf_dtype;

#define MF_DTYPE_DEFAULT MF_FLOAT32

const char *mf_dtype_name(mf_dtype dt);
/* Returns MF_DTYPE_COUNT when the name is unknown. */
mf_dtype mf_dtype_from_name(const char *name);
size_t mf_dtype_size(mf_dtype dt);
int mf_dtype_is_float(mf_dtype dt);
/*
 * Type promotion of a binary op: the higher of the two in
 * bool < int64 < float32 < float64. So int64 with float32 gives float32,
 * float32 with float64 gives float64 and a mask (bool) with anything gives
 * the other dtype.
 */
mf_dtype mf_dtype_promote(mf_dtype a, mf_dtype b);
/* Whether a result of dtype `from` may be written into a tensor of dtype
 * `to` (in-place and out= forms): to a float from anything, to int64 from
 * int64 or bool, to bool from bool only. */
int mf_dtype_can_cast(mf_dtype from, mf_dtype to);

/* ------------------------------------------------------------------ limits */
#define MF_MAX_DIMS 8

/* ------------------------------------------------------------------ memory */
/*
 * All numeric buffers go through these, so that allocation failures can be
 * injected in tests and the bytes in use can be counted (the Lua binding
 * reports them to the garbage collector).
 */
void *mf_malloc(size_t nbytes);
void *mf_calloc(size_t n, size_t size);
/* 64-byte aligned above 2 KB (16 below), for tensor storage; freed with mf_free. */
void *mf_malloc_aligned(size_t nbytes);
void mf_free(void *p);

/* Bytes currently allocated through mf_* (all threads). */
size_t mf_mem_in_use(void);
/* Number of successful allocations through mf_* since the start (all
 * threads): tests assert that a loop allocates nothing in steady state. */
size_t mf_mem_allocations(void);
/* Large freed blocks are kept (up to 256 MB) for reuse by the next
 * allocation of the same size; these report and release them. */
size_t mf_mem_cached(void);
int mf_mem_cache_enabled(void); /* 0 in AddressSanitizer builds */
void mf_mem_trim(void);
/* Test hook: the n-th allocation from now (1 = the next) fails; 0 disables. */
void mf_mem_fail_after(long n);

#endif
