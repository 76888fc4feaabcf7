/* mf_random.c — see mf_random.h for the algorithms. */
#include "mf_random.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void mf_rng_seed(mf_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    r->seed = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

mf_rng *mf_rng_global(void)
{
    static mf_rng g;
    static int ready;
    if (!ready) {
        mf_rng_seed(&g, MF_RNG_DEFAULT_SEED);
        ready = 1;
    }
    return &g;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t mf_rng_next(mf_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double mf_rng_uniform(mf_rng *r) { return (double)(mf_rng_next(r) >> 11) * 0x1.0p-53; }

static float uniform_f32(mf_rng *r) { return (float)(mf_rng_next(r) >> 40) * 0x1.0p-24f; }

uint64_t mf_rng_below(mf_rng *r, uint64_t n)
{
    unsigned __int128 m = (unsigned __int128)mf_rng_next(r) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = -n % n;
        while (low < threshold) {
            m = (unsigned __int128)mf_rng_next(r) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

static mf_status need_contiguous(const mf_tensor *t)
{
    if (!mf_tensor_is_contiguous(t))
        return mf_error_set(MF_EINVAL, 1, "random fill needs a contiguous tensor");
    return MF_OK;
}

mf_status mf_tensor_uniform_(mf_tensor *t, mf_rng *r, double lo, double hi)
{
    mf_status st = need_contiguous(t);
    if (st) return st;
    if (!(lo <= hi)) return mf_error_set(MF_EINVAL, 2, "empty range [%g, %g)", lo, hi);
    int64_t n = mf_tensor_numel(t);
    void *d = mf_tensor_data(t);
    switch (t->dtype) {
    case MF_FLOAT32: {
        float *f = d, flo = (float)lo, span = (float)(hi - lo);
        for (int64_t i = 0; i < n; i++) f[i] = flo + span * uniform_f32(r);
        break;
    }
    case MF_FLOAT64:
        for (int64_t i = 0; i < n; i++) ((double *)d)[i] = lo + (hi - lo) * mf_rng_uniform(r);
        break;
    default: return mf_error_set(MF_EINVAL, 1, "rand needs a float tensor, got int64");
    }
    return MF_OK;
}

mf_status mf_tensor_normal_(mf_tensor *t, mf_rng *r, double mean, double std)
{
    mf_status st = need_contiguous(t);
    if (st) return st;
    if (!mf_dtype_is_float(t->dtype))
        return mf_error_set(MF_EINVAL, 1, "randn needs a float tensor, got int64");
    if (!(std >= 0)) return mf_error_set(MF_EINVAL, 3, "std must be >= 0, got %g", std);
    int64_t n = mf_tensor_numel(t);
    void *d = mf_tensor_data(t);
    for (int64_t i = 0; i < n; i += 2) {
        double u1 = 1.0 - mf_rng_uniform(r), u2 = mf_rng_uniform(r);
        double rad = sqrt(-2.0 * log(u1)), th = 6.283185307179586 * u2;
        mf_store(t->dtype, d, i, mean + std * rad * cos(th));
        if (i + 1 < n) mf_store(t->dtype, d, i + 1, mean + std * rad * sin(th));
    }
    return MF_OK;
}

mf_status mf_tensor_randint_(mf_tensor *t, mf_rng *r, int64_t lo, int64_t hi)
{
    mf_status st = need_contiguous(t);
    if (st) return st;
    if (lo >= hi) return mf_error_set(MF_EINVAL, 2, "empty range [%lld, %lld)", (long long)lo,
                                      (long long)hi);
    uint64_t span = (uint64_t)hi - (uint64_t)lo;
    int64_t n = mf_tensor_numel(t);
    void *d = mf_tensor_data(t);
    for (int64_t i = 0; i < n; i++) {
        int64_t v = (int64_t)((uint64_t)lo + mf_rng_below(r, span));
        if (t->dtype == MF_INT64) ((int64_t *)d)[i] = v;
        else mf_store(t->dtype, d, i, (double)v);
    }
    return MF_OK;
}

mf_status mf_tensor_randperm(mf_tensor **out, mf_rng *r, int64_t n, mf_dtype dt)
{
    if (n < 0) return mf_error_set(MF_EINVAL, 1, "n must be >= 0, got %lld", (long long)n);
    mf_status st = mf_tensor_new(out, MF_INT64, 1, &n);
    if (st) return st;
    int64_t *p = mf_tensor_data(*out);
    for (int64_t i = 0; i < n; i++) p[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)mf_rng_below(r, (uint64_t)i + 1);
        int64_t tmp = p[i];
        p[i] = p[j];
        p[j] = tmp;
    }
    if (dt != MF_INT64) {
        mf_tensor *c;
        st = mf_tensor_to(&c, *out, dt);
        mf_tensor_release(*out);
        *out = st ? NULL : c;
    }
    return st;
}
