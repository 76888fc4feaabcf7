/*
 * mf_plan.c — the MLP fast path (see mf_plan.h for the contract).
 *
 * Layout: activations are batch-major, a_l is [rows x width_l] contiguous;
 * act[0] holds the gathered input rows and act[l + 1] the output of layer
 * l. A step is
 *
 *   gather   act[0] = x[idx[first .. first + count)], in the plan's dtype
 *   forward  act[l + 1] = act_l(act[l] W_l^T + b_l)    (softmax left as logits)
 *   loss     d = dL/dz of the last layer, and the batch statistics
 *   backward gW_l = d^T act[l], gb_l = column sums of d,
 *            d = (d W_l) * act_{l-1}'(act[l])         (not for l = 0)
 *   update   the optimizer kernels over every parameter
 *
 * Every product is one of three shapes, all written as the one kernel
 * C[r, :] = sum_k S(r, k) M[k, :] (M's rows contiguous, S read through two
 * strides):
 *
 *   forward   r = row, k = input,  S = act[l],  M = W^T (kept in wt)
 *   gW        r = out, k = row,    S = d^T,     M = act[l]
 *   d W       r = row, k = out,    S = d,       M = W
 *
 * On AVX-512 CPUs float32 products run in a register-blocked kernel
 * (mk_tile: up to 6 rows x 64 columns of accumulators, one broadcast per
 * row and k, blocks of M packed when L1 conflicts would evict them) with
 * the bias, ReLU and ReLU' gates fused into its stores, split by rows over
 * the threads when large; otherwise they go to mf_blas_gemm. W^T is
 * refreshed from W whenever W's storage version moves, so writes made to
 * the weights between steps (load_state_dict, a generic step) are seen.
 * Each element of a product is summed in the same order whatever the tile
 * or the thread that computes it, so results do not depend on the thread
 * count.
 *
 * The elementwise parts are written once for float and double: this file
 * includes itself with PLAN_T defined (see the end) to make the typed
 * routines *_f32 and *_f64.
 */
#ifndef PLAN_T

#include "mf_plan.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "mf_blas.h"
#include "mf_thread.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <immintrin.h>
#define PLAN_X86 1
#else
#define PLAN_X86 0
#endif
#if defined(__GNUC__)
#define PLAN_PREFETCH(addr) __builtin_prefetch(addr)
#else
#define PLAN_PREFETCH(addr) ((void)(addr))
#endif
/* The AVX-512 kernels need GCC's target pragmas (clang builds use BLAS). */
#if PLAN_X86 && defined(__x86_64__) && !defined(__clang__) && __GNUC__ >= 8
#define PLAN_AVX512 1
#else
#define PLAN_AVX512 0
#endif

/* ---------------------------------------------------------------- names */
static const char *const act_names[MF_PLAN_ACT_COUNT] = {"identity", "relu", "sigmoid", "tanh",
                                                         "softmax"};
static const char *const loss_names[MF_PLAN_LOSS_COUNT] = {
    "mse", "mae", "huber", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy"};

const char *mf_plan_act_name(mf_plan_act act)
{
    return (unsigned)act < MF_PLAN_ACT_COUNT ? act_names[act] : NULL;
}

mf_plan_act mf_plan_act_from_name(const char *name)
{
    for (int i = 0; i < MF_PLAN_ACT_COUNT; i++)
        if (name && strcmp(name, act_names[i]) == 0) return (mf_plan_act)i;
    return MF_PLAN_ACT_COUNT;
}

const char *mf_plan_loss_name(mf_plan_loss loss)
{
    return (unsigned)loss < MF_PLAN_LOSS_COUNT ? loss_names[loss] : NULL;
}

mf_plan_loss mf_plan_loss_from_name(const char *name)
{
    for (int i = 0; i < MF_PLAN_LOSS_COUNT; i++)
        if (name && strcmp(name, loss_names[i]) == 0) return (mf_plan_loss)i;
    return MF_PLAN_LOSS_COUNT;
}

/* ---------------------------------------------------------------- the plan */
typedef struct plan_layer {
    mf_tensor *w, *b;   /* the model's tensors (retained) */
    mf_tensor *gw, *gb; /* their gradients (owned) */
    int64_t in, out;
    mf_plan_act act;
    float *wt;                /* W^T [in x out] for the native forward */
    unsigned long wt_version; /* W's storage version when wt was made */
    int wt_valid;
} plan_layer;

struct mf_plan {
    mf_dtype dt;
    int nl;
    plan_layer L[MF_PLAN_MAX_LAYERS];
    mf_plan_loss loss;
    int native_ok; /* float32 on an AVX-512 CPU */
    int native_on; /* test hook (mf_plan_set_native) */
    int np;
    mf_tensor *params[2 * MF_PLAN_MAX_LAYERS], *grads[2 * MF_PLAN_MAX_LAYERS];
    int64_t maxw; /* widest layer input or output */
    int64_t cap;  /* reserved rows */
    void *act[MF_PLAN_MAX_LAYERS + 1];
    void *d0, *d1;  /* backward: d of the current layer, and of the one below */
    int64_t *rows;  /* the batch's row numbers (0-based) */
};

mf_dtype mf_plan_dtype(const mf_plan *p) { return p->dt; }
int64_t mf_plan_in_features(const mf_plan *p) { return p->L[0].in; }
int64_t mf_plan_out_features(const mf_plan *p) { return p->L[p->nl - 1].out; }
int mf_plan_num_params(const mf_plan *p) { return p->np; }
mf_tensor *mf_plan_param(const mf_plan *p, int k) { return k >= 0 && k < p->np ? p->params[k] : NULL; }
mf_tensor *mf_plan_grad(const mf_plan *p, int k) { return k >= 0 && k < p->np ? p->grads[k] : NULL; }
int mf_plan_native(const mf_plan *p) { return p->native_ok && p->native_on; }
void mf_plan_set_native(mf_plan *p, int on) { p->native_on = on != 0; }

/* ---------------------------------------------------------------- denormals
 * FTZ (bit 15) and DAZ (bit 6) of MXCSR for the duration of a call. */
#if PLAN_X86 && defined(__SSE__)
typedef unsigned int fp_mode;
static fp_mode fp_enter(void)
{
    fp_mode old = _mm_getcsr();
    _mm_setcsr(old | 0x8040u);
    return old;
}
static void fp_leave(fp_mode old) { _mm_setcsr(old); }
#else
typedef int fp_mode;
static fp_mode fp_enter(void) { return 0; }
static void fp_leave(fp_mode old) { (void)old; }
#endif

/* ---------------------------------------------------------------- AVX-512 kernels */
/* C[r, j] = sum_k S[r rs + k ks] M[k ldm + j] for r < R, j < N, k < K, then
 * + bias[j], max(0, .) when relu, and 0 where gate[r ldg + j] <= 0. */
typedef struct mk_args {
    int64_t R, N, K;
    const float *S;
    int64_t rs, ks;
    const float *M;
    int64_t ldm;
    float *C;
    int64_t ldc;
    const float *bias;
    int relu;
    const float *gate;
    int64_t ldg;
} mk_args;

#if PLAN_AVX512
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx2,fma")

#define MK_VMAX 4

/* One tile: rows r0 .. r0 + R_ - 1, columns j0 .. j0 + 16 V_ - 1 (the last
 * vector masked by `last`), over k in [k0, k1). R_ and V_ are constants at
 * every call, so the accumulators live in registers. The first k block
 * starts from 0, the others from C; the last one applies bias, ReLU and
 * gate. */
static inline __attribute__((always_inline)) void mk_tile(const mk_args *a, int64_t r0, int64_t j0,
                                                          int64_t k0, int64_t k1, const float *mb,
                                                          int64_t ldm, const int R_, const int V_,
                                                          __mmask16 last)
{
    __m512 acc[8][MK_VMAX];
    const int first = k0 == 0, final = k1 == a->K;
#pragma GCC unroll 8
    for (int r = 0; r < R_; r++)
#pragma GCC unroll 4
        for (int v = 0; v < V_; v++)
            acc[r][v] = first ? _mm512_setzero_ps()
                              : _mm512_maskz_loadu_ps((__mmask16)(v == V_ - 1 ? last : 0xFFFFu),
                                                      a->C + (r0 + r) * a->ldc + j0 + 16 * v);
    const int64_t rs = a->rs, ks = a->ks;
    const float *s = a->S + r0 * rs + k0 * ks, *m = mb;
    for (int64_t k = k0; k < k1; k++, s += ks, m += ldm) {
        __m512 mv[MK_VMAX];
#pragma GCC unroll 4
        for (int v = 0; v < V_; v++)
            mv[v] = v == V_ - 1 ? _mm512_maskz_loadu_ps(last, m + 16 * v) : _mm512_loadu_ps(m + 16 * v);
#pragma GCC unroll 8
        for (int r = 0; r < R_; r++) {
            __m512 sv = _mm512_set1_ps(s[r * rs]);
#pragma GCC unroll 4
            for (int v = 0; v < V_; v++) acc[r][v] = _mm512_fmadd_ps(sv, mv[v], acc[r][v]);
        }
    }
    const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int r = 0; r < R_; r++) {
        float *c = a->C + (r0 + r) * a->ldc + j0;
#pragma GCC unroll 4
        for (int v = 0; v < V_; v++) {
            __mmask16 mk = (__mmask16)(v == V_ - 1 ? last : 0xFFFFu);
            __m512 x = acc[r][v];
            if (!final) {
                _mm512_mask_storeu_ps(c + 16 * v, mk, x);
                continue;
            }
            if (a->bias) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mk, a->bias + j0 + 16 * v));
            if (a->relu) x = _mm512_max_ps(zero, x); /* NaN stays NaN (second operand) */
            if (a->gate) {
                __m512 gv = _mm512_maskz_loadu_ps(mk, a->gate + (r0 + r) * a->ldg + j0 + 16 * v);
                x = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(gv, zero, _CMP_GT_OQ), x);
            }
            _mm512_mask_storeu_ps(c + 16 * v, mk, x);
        }
    }
}

/* Rows [lo, hi) by tiles of RB rows (then 4, 2 and 1) for one panel. */
#define MK_ROWS(RB, V)                                                          \
    do {                                                                        \
        for (; r + (RB) <= hi; r += (RB)) mk_tile(a, r, j0, k0, k1, mb, ldm, (RB), (V), last); \
        if ((RB) > 4)                                                           \
            for (; r + 4 <= hi; r += 4) mk_tile(a, r, j0, k0, k1, mb, ldm, 4, (V), last); \
        for (; r + 2 <= hi; r += 2) mk_tile(a, r, j0, k0, k1, mb, ldm, 2, (V), last); \
        for (; r < hi; r++) mk_tile(a, r, j0, k0, k1, mb, ldm, 1, (V), last);   \
    } while (0)

/* Depth of a k block: the M block (MK_KC x 64 floats, 32 KB) stays in L1
 * while every row tile of the panel reads it. */
#define MK_KC 128

/* Rows [lo, hi) of C: panels of 64 columns, k blocks, row tiles. A block
 * of M that several row tiles read is first copied into `pack` (rows of 64
 * floats): rows of M a multiple of 512 bytes apart would all fall into a
 * few sets of L1 and evict each other (a 256-wide W^T has rows 1 KB apart). */
static void mk_rows(int64_t lo, int64_t hi, void *ctx)
{
    const mk_args *a = ctx;
    _Alignas(64) float pack[MK_KC * 16 * MK_VMAX];
    const int pack_it = hi - lo >= 24 && a->K >= 32;
    for (int64_t j0 = 0; j0 < a->N; j0 += 16 * MK_VMAX) {
        int64_t w = a->N - j0 < 16 * MK_VMAX ? a->N - j0 : 16 * MK_VMAX;
        int V = (int)((w + 15) / 16);
        int tail = (int)(w % 16);
        __mmask16 last = (__mmask16)(tail ? (1u << tail) - 1 : 0xFFFFu);
        for (int64_t k0 = 0; k0 < a->K || k0 == 0; k0 += MK_KC) {
            int64_t k1 = a->K - k0 < MK_KC ? a->K : k0 + MK_KC;
            const float *mb = a->M + k0 * a->ldm + j0;
            int64_t ldm = a->ldm;
            if (pack_it) {
                for (int64_t k = k0; k < k1; k++) {
                    const float *src = a->M + k * a->ldm + j0;
                    float *dst = pack + (k - k0) * 16 * MK_VMAX;
                    for (int v = 0; v < V; v++) {
                        __mmask16 mk = (__mmask16)(v == V - 1 ? last : 0xFFFFu);
                        _mm512_store_ps(dst + 16 * v, _mm512_maskz_loadu_ps(mk, src + 16 * v));
                    }
                }
                mb = pack;
                ldm = 16 * MK_VMAX;
            }
            int64_t r = lo;
            switch (V) {
            case 4: MK_ROWS(6, 4); break;
            case 3: MK_ROWS(8, 3); break;
            case 2: MK_ROWS(8, 2); break;
            default: MK_ROWS(8, 1); break;
            }
        }
    }
}

/* Rows [lo, hi) of w [out x in] into the columns of wt [in x out] (W^T),
 * by 8 x 8 blocks transposed in registers (the edges element by element). */
static void mk_transpose(const float *w, int64_t out, int64_t in, float *wt, int64_t lo, int64_t hi)
{
    int64_t o0 = lo;
    for (; o0 + 8 <= hi; o0 += 8) {
        int64_t i0 = 0;
        for (; i0 + 8 <= in; i0 += 8) {
            const float *src = w + o0 * in + i0;
            __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + in),
                   r2 = _mm256_loadu_ps(src + 2 * in), r3 = _mm256_loadu_ps(src + 3 * in),
                   r4 = _mm256_loadu_ps(src + 4 * in), r5 = _mm256_loadu_ps(src + 5 * in),
                   r6 = _mm256_loadu_ps(src + 6 * in), r7 = _mm256_loadu_ps(src + 7 * in);
            __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1),
                   t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3),
                   t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
                   t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
                   u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
                   u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
                   u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
            float *dst = wt + i0 * out + o0;
            _mm256_storeu_ps(dst, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(dst + out, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(dst + 2 * out, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(dst + 3 * out, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(dst + 4 * out, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(dst + 5 * out, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(dst + 6 * out, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_storeu_ps(dst + 7 * out, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
        for (int64_t o = o0; o < o0 + 8; o++)
            for (int64_t i = i0; i < in; i++) wt[i * out + o] = w[o * in + i];
    }
    for (int64_t o = o0; o < hi; o++)
        for (int64_t i = 0; i < in; i++) wt[i * out + o] = w[o * in + i];
}

/* Column sums: out[j] = sum_r d[r ld + j], rows in order. */
static void mk_colsum(const float *d, int64_t n, int64_t N, int64_t ld, float *out)
{
    for (int64_t j0 = 0; j0 < N; j0 += 16) {
        int64_t w = N - j0 < 16 ? N - j0 : 16;
        __mmask16 mk = (__mmask16)(w == 16 ? 0xFFFF : (1u << w) - 1);
        __m512 s = _mm512_setzero_ps();
        for (int64_t r = 0; r < n; r++) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(mk, d + r * ld + j0));
        _mm512_mask_storeu_ps(out + j0, mk, s);
    }
}

/* The optimizer kernels of mf_optim.c, 16 floats at a time with the same
 * operations in the same order (no FMA contraction: mul then add), so the
 * results are bitwise those of mf_optim_step. */
static __m512 flush16(__m512 x)
{
    __m512 ax = _mm512_abs_ps(x);
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(ax, _mm512_set1_ps(FLT_MIN), _CMP_NLT_UQ), x);
}

static void adam16(float *p, const float *g, float *m, float *v, float *vmax, int64_t n,
                   const mf_optim_hparams *h, int decoupled, double c0, double c1)
{
    const int l2 = !decoupled && h->weight_decay != 0, flush_v = h->eps > 0;
    const int lerp_lo = fabs((double)(float)(1 - h->beta1)) < 0.5;
    const __m512 wd = _mm512_set1_ps((float)h->weight_decay),
                 decay = _mm512_set1_ps((float)(1 - h->lr * h->weight_decay));
    const float w1f = (float)(1 - h->beta1);
    const __m512 w1 = _mm512_set1_ps(w1f), one_w1 = _mm512_set1_ps(1 - w1f);
    const __m512 b2 = _mm512_set1_ps((float)h->beta2), w2 = _mm512_set1_ps((float)(1 - h->beta2));
    const __m512 neg_step = _mm512_set1_ps((float)-c0), bc2 = _mm512_set1_ps((float)c1),
                 eps = _mm512_set1_ps((float)h->eps);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 mk = (__mmask16)(n - i >= 16 ? 0xFFFF : (1u << (n - i)) - 1);
        __m512 gi = _mm512_maskz_loadu_ps(mk, g + i), pi = _mm512_maskz_loadu_ps(mk, p + i);
        __m512 mo = _mm512_maskz_loadu_ps(mk, m + i), vo = _mm512_maskz_loadu_ps(mk, v + i);
        if (decoupled) pi = _mm512_mul_ps(pi, decay);
        else if (l2) gi = _mm512_add_ps(gi, _mm512_mul_ps(wd, pi));
        __m512 mi = lerp_lo ? _mm512_add_ps(mo, _mm512_mul_ps(w1, _mm512_sub_ps(gi, mo)))
                            : _mm512_sub_ps(gi, _mm512_mul_ps(_mm512_sub_ps(gi, mo), one_w1));
        __m512 vi = _mm512_add_ps(_mm512_mul_ps(vo, b2), _mm512_mul_ps(w2, _mm512_mul_ps(gi, gi)));
        mi = flush16(mi);
        if (flush_v) vi = flush16(vi);
        _mm512_mask_storeu_ps(m + i, mk, mi);
        _mm512_mask_storeu_ps(v + i, mk, vi);
        if (vmax) {
            __m512 vm = _mm512_maskz_loadu_ps(mk, vmax + i);
            vm = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(vm, vi, _CMP_GE_OQ), vi, vm);
            _mm512_mask_storeu_ps(vmax + i, mk, vm);
            vi = vm;
        }
        __m512 denom = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vi), bc2), eps);
        _mm512_mask_storeu_ps(p + i, mk, _mm512_add_ps(pi, _mm512_mul_ps(neg_step, _mm512_div_ps(mi, denom))));
    }
}

#pragma GCC pop_options

static int cpu_has_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl");
}
#else
static int cpu_has_avx512(void) { return 0; }
#endif

/* Whether the products go to the hand-written kernels (else BLAS). At the
 * sizes measured (W2 and W3 of bench/train.lua: layers up to 784 x 256,
 * batches of 32 and 128) they beat OpenBLAS 0.3.21 at 1 and 2 threads, by
 * 2.5x and more; larger layers were not measured, so there is no size
 * threshold yet. */
static int use_native(const mf_plan *p) { return p->native_ok && p->native_on; }

#if PLAN_AVX512
/* A worker's share of a product, under the caller's FTZ/DAZ (MXCSR is per
 * thread), so that results do not depend on the thread count. */
static void mk_rows_job(int64_t lo, int64_t hi, void *ctx)
{
    fp_mode m = fp_enter();
    mk_rows(lo, hi, ctx);
    fp_leave(m);
}
#endif

/* Multiply-adds per thread below which a product runs on the caller. */
#define PLAN_PAR_MACS ((int64_t)1 << 20)

static void native_run(mk_args *a)
{
#if PLAN_AVX512
    int64_t per_row = a->N * a->K > 0 ? a->N * a->K : 1;
    int64_t grain = PLAN_PAR_MACS / per_row;
    if (grain < 8) grain = 8;
    if (a->R >= 2 * grain && mf_num_threads() > 1) mf_parallel_for(a->R, grain, mk_rows_job, a);
    else mk_rows(0, a->R, a);
#else
    (void)a;
#endif
}

/* ---------------------------------------------------------------- typed routines */
#define PLAN_CAT_(a, b) a##_##b
#define PLAN_CAT(a, b) PLAN_CAT_(a, b)
#define FN(name) PLAN_CAT(name, PLAN_S)

#define PLAN_T float
#define PLAN_S f32
#define PLAN_EXP expf
#define PLAN_LOG logf
#define PLAN_LOG1P log1pf
#define PLAN_TANH tanhf
#define PLAN_SQRT sqrtf
#define PLAN_TINY FLT_MIN
#include "mf_plan.c"
#undef PLAN_T
#undef PLAN_S
#undef PLAN_EXP
#undef PLAN_LOG
#undef PLAN_LOG1P
#undef PLAN_TANH
#undef PLAN_SQRT
#undef PLAN_TINY

#define PLAN_T double
#define PLAN_S f64
#define PLAN_EXP exp
#define PLAN_LOG log
#define PLAN_LOG1P log1p
#define PLAN_TANH tanh
#define PLAN_SQRT sqrt
#define PLAN_TINY DBL_MIN
#include "mf_plan.c"
#undef PLAN_T
#undef PLAN_S
#undef PLAN_EXP
#undef PLAN_LOG
#undef PLAN_LOG1P
#undef PLAN_TANH
#undef PLAN_SQRT
#undef PLAN_TINY

/* ---------------------------------------------------------------- lifetime */
static void free_buffers(mf_plan *p)
{
    for (int l = 0; l <= p->nl; l++) {
        mf_free(p->act[l]);
        p->act[l] = NULL;
    }
    mf_free(p->d0);
    mf_free(p->d1);
    mf_free(p->rows);
    p->d0 = p->d1 = NULL;
    p->rows = NULL;
    p->cap = 0;
}

void mf_plan_free(mf_plan *p)
{
    if (!p) return;
    free_buffers(p);
    for (int l = 0; l < p->nl; l++) {
        mf_tensor_release(p->L[l].w);
        mf_tensor_release(p->L[l].b);
        mf_tensor_release(p->L[l].gw);
        mf_tensor_release(p->L[l].gb);
        mf_free(p->L[l].wt);
    }
    mf_free(p);
}

mf_status mf_plan_reserve(mf_plan *p, int64_t n)
{
    if (n < 1) return mf_error_set(MF_EINVAL, 2, "batch size must be >= 1, got %lld", (long long)n);
    if (n <= p->cap) return MF_OK;
    size_t es = mf_dtype_size(p->dt);
    if ((uint64_t)n > (uint64_t)(SIZE_MAX / 4) / es / (uint64_t)p->maxw)
        return mf_error_set(MF_ENOMEM, 0, "batch of %lld rows is too large", (long long)n);
    free_buffers(p);
    int ok = 1;
    for (int l = 0; l <= p->nl; l++) {
        int64_t w = l == 0 ? p->L[0].in : p->L[l - 1].out;
        ok = ok && (p->act[l] = mf_malloc_aligned((size_t)(n * w) * es)) != NULL;
    }
    ok = ok && (p->d0 = mf_malloc_aligned((size_t)(n * p->maxw) * es)) != NULL;
    ok = ok && (p->d1 = mf_malloc_aligned((size_t)(n * p->maxw) * es)) != NULL;
    ok = ok && (p->rows = mf_malloc((size_t)n * sizeof(int64_t))) != NULL;
    if (!ok) {
        free_buffers(p);
        return mf_error_set(MF_ENOMEM, 0, "not enough memory for the work buffers of %lld rows",
                            (long long)n);
    }
    p->cap = n;
    return MF_OK;
}

static mf_status bad_layer(int l, const char *what, const mf_tensor *t)
{
    char s[MF_SHAPE_STRLEN];
    return mf_error_set(MF_EINVAL, 1, "layer %d: %s (got %s %s)", l + 1, what,
                        t ? mf_dtype_name(t->dtype) : "no tensor",
                        t ? mf_shape_str(s, sizeof s, t->ndim, t->shape) : "");
}

static mf_status check_layers(int nl, const mf_plan_layer *layers, mf_plan_loss loss)
{
    if (nl < 1 || nl > MF_PLAN_MAX_LAYERS || !layers)
        return mf_error_set(MF_EINVAL, 1, "expected 1 to %d layers, got %d", MF_PLAN_MAX_LAYERS, nl);
    if ((unsigned)loss >= MF_PLAN_LOSS_COUNT)
        return mf_error_set(MF_EINVAL, 2, "unknown loss %d", (int)loss);
    mf_dtype dt = layers[0].weight ? layers[0].weight->dtype : MF_FLOAT32;
    for (int l = 0; l < nl; l++) {
        const mf_plan_layer *y = &layers[l];
        const mf_tensor *w = y->weight, *b = y->bias;
        if (!w || w->ndim != 2 || w->shape[0] < 1 || w->shape[1] < 1)
            return bad_layer(l, "the weight must be a 2-D [out x in] tensor", w);
        if (w->dtype != dt || (dt != MF_FLOAT32 && dt != MF_FLOAT64))
            return bad_layer(l, "every weight and bias must be float32, or every one float64", w);
        if (!mf_tensor_is_contiguous(w)) return bad_layer(l, "the weight must be contiguous", w);
        if (l > 0 && w->shape[1] != layers[l - 1].weight->shape[0]) {
            char s[MF_SHAPE_STRLEN], q[MF_SHAPE_STRLEN];
            const mf_tensor *pw = layers[l - 1].weight;
            return mf_error_set(MF_EINVAL, 1,
                                "layer %d: weight %s takes %lld inputs but layer %d (weight %s) "
                                "gives %lld outputs",
                                l + 1, mf_shape_str(s, sizeof s, 2, w->shape), (long long)w->shape[1],
                                l, mf_shape_str(q, sizeof q, 2, pw->shape), (long long)pw->shape[0]);
        }
        if (b && (b->ndim != 1 || b->shape[0] != w->shape[0] || b->dtype != dt ||
                  !mf_tensor_is_contiguous(b)))
            return bad_layer(l, "the bias must be a contiguous 1-D tensor of size out, with the weight's dtype", b);
        if (b && mf_tensor_same_storage(b, w))
            return bad_layer(l, "the bias shares the weight's storage", b);
        for (int q = 0; q < l; q++)
            if (mf_tensor_same_storage(w, layers[q].weight) ||
                (layers[q].bias && mf_tensor_same_storage(w, layers[q].bias)) ||
                (b && (mf_tensor_same_storage(b, layers[q].weight) ||
                       (layers[q].bias && mf_tensor_same_storage(b, layers[q].bias)))))
                return mf_error_set(MF_EINVAL, 1,
                                    "layer %d shares a parameter with layer %d (tied weights are "
                                    "not supported by the fast path)", l + 1, q + 1);
        if ((unsigned)y->act >= MF_PLAN_ACT_COUNT)
            return mf_error_set(MF_EINVAL, 1, "layer %d: unknown activation %d", l + 1, (int)y->act);
        if (y->act == MF_PLAN_SOFTMAX && l != nl - 1)
            return mf_error_set(MF_EINVAL, 1, "layer %d: softmax is only supported on the last layer",
                                l + 1);
    }
    mf_plan_act last = layers[nl - 1].act;
    int64_t nout = layers[nl - 1].weight->shape[0];
    switch (loss) {
    case MF_PLAN_BCE:
        if (last != MF_PLAN_SIGMOID)
            return mf_error_set(MF_EINVAL, 2, "binary_crossentropy needs a sigmoid last layer, got %s",
                                act_names[last]);
        break;
    case MF_PLAN_CCE:
    case MF_PLAN_SPARSE_CCE:
        if (last != MF_PLAN_SOFTMAX)
            return mf_error_set(MF_EINVAL, 2, "%s needs a softmax last layer, got %s",
                                loss_names[loss], act_names[last]);
        if (nout < 2)
            return mf_error_set(MF_EINVAL, 2, "%s needs at least 2 outputs, got %lld",
                                loss_names[loss], (long long)nout);
        break;
    default:
        if (last == MF_PLAN_SOFTMAX)
            return mf_error_set(MF_EINVAL, 2, "%s after a softmax last layer is not supported",
                                loss_names[loss]);
        break;
    }
    return MF_OK;
}

mf_status mf_plan_new(mf_plan **out, int nlayers, const mf_plan_layer *layers, mf_plan_loss loss)
{
    *out = NULL;
    mf_status st = check_layers(nlayers, layers, loss);
    if (st) return st;
    mf_plan *p = mf_calloc(1, sizeof *p);
    if (!p) return mf_error_set(MF_ENOMEM, 0, "not enough memory");
    p->dt = layers[0].weight->dtype;
    p->nl = nlayers;
    p->loss = loss;
    p->native_ok = p->dt == MF_FLOAT32 && cpu_has_avx512();
    p->native_on = 1;
    p->maxw = 1;
    for (int l = 0; l < nlayers && st == MF_OK; l++) {
        plan_layer *y = &p->L[l];
        y->w = layers[l].weight;
        y->b = layers[l].bias;
        mf_tensor_retain(y->w);
        if (y->b) mf_tensor_retain(y->b);
        y->out = y->w->shape[0];
        y->in = y->w->shape[1];
        y->act = layers[l].act;
        if (y->in > p->maxw) p->maxw = y->in;
        if (y->out > p->maxw) p->maxw = y->out;
        st = mf_tensor_zeros(&y->gw, p->dt, 2, y->w->shape);
        if (st == MF_OK && y->b) st = mf_tensor_zeros(&y->gb, p->dt, 1, y->b->shape);
        if (st == MF_OK && p->native_ok) {
            y->wt = mf_malloc_aligned((size_t)(y->in * y->out) * sizeof(float));
            if (!y->wt) st = mf_error_set(MF_ENOMEM, 0, "not enough memory");
        }
        p->params[p->np] = y->w;
        p->grads[p->np++] = y->gw;
        if (y->b) {
            p->params[p->np] = y->b;
            p->grads[p->np++] = y->gb;
        }
    }
    if (st) {
        mf_plan_free(p);
        return st;
    }
    *out = p;
    return MF_OK;
}

/* ---------------------------------------------------------------- checks */
static mf_status check_input(const mf_plan *p, const mf_tensor *x)
{
    char s[MF_SHAPE_STRLEN];
    if (!x) return mf_error_set(MF_EINVAL, 2, "input tensor expected");
    if (x->dtype != MF_FLOAT32 && x->dtype != MF_FLOAT64)
        return mf_error_set(MF_EINVAL, 2, "input must be float32 or float64, got %s",
                            mf_dtype_name(x->dtype));
    if (x->ndim != 2 || x->shape[1] != p->L[0].in)
        return mf_error_set(MF_EINVAL, 2, "input of shape %s does not fit the first layer (expected [N x %lld])",
                            mf_shape_str(s, sizeof s, x->ndim, x->shape), (long long)p->L[0].in);
    return MF_OK;
}

static mf_status check_batch(const mf_plan *p, const mf_plan_batch *b)
{
    char s[MF_SHAPE_STRLEN], q[MF_SHAPE_STRLEN];
    mf_status st = check_input(p, b->x);
    if (st) return st;
    const mf_tensor *x = b->x, *y = b->y, *idx = b->idx;
    int64_t nrows = x->shape[0], nout = p->L[p->nl - 1].out;
    if (!y) return mf_error_set(MF_EINVAL, 3, "target tensor expected");
#define YSHAPE mf_shape_str(s, sizeof s, y->ndim, y->shape)
#define XSHAPE mf_shape_str(q, sizeof q, x->ndim, x->shape)
    if (p->loss == MF_PLAN_SPARSE_CCE) {
        if (y->dtype != MF_INT64)
            return mf_error_set(MF_EINVAL, 3, "%s needs int64 class indices, got %s %s",
                                loss_names[p->loss], mf_dtype_name(y->dtype), YSHAPE);
        if (y->ndim != 1 || y->shape[0] != nrows)
            return mf_error_set(MF_EINVAL, 3, "target of shape %s does not match input %s (expected [%lld])",
                                YSHAPE, XSHAPE, (long long)nrows);
    } else {
        if (y->dtype != MF_FLOAT32 && y->dtype != MF_FLOAT64)
            return mf_error_set(MF_EINVAL, 3, "%s needs a float32 or float64 target, got %s %s",
                                loss_names[p->loss], mf_dtype_name(y->dtype), YSHAPE);
        int ok = y->ndim >= 1 && y->shape[0] == nrows &&
                 ((y->ndim == 2 && y->shape[1] == nout) || (y->ndim == 1 && nout == 1));
        if (!ok)
            return mf_error_set(MF_EINVAL, 3, "target of shape %s does not match input %s (expected [%lld x %lld])",
                                YSHAPE, XSHAPE, (long long)nrows, (long long)nout);
    }
#undef YSHAPE
#undef XSHAPE
    int64_t len = nrows;
    if (idx) {
        if (idx->dtype != MF_INT64 || idx->ndim != 1)
            return mf_error_set(MF_EINVAL, 4, "indices must be a 1-D int64 tensor, got %s %s",
                                mf_dtype_name(idx->dtype), mf_shape_str(s, sizeof s, idx->ndim, idx->shape));
        len = idx->shape[0];
    }
    if (b->first < 0 || b->first >= len)
        return mf_error_set(MF_ERANGE, 5, "first position %lld out of range (expected %lld..%lld)",
                            (long long)(b->first + b->base), (long long)b->base,
                            (long long)(len - 1 + b->base));
    if (b->count < 1 || b->count > len - b->first)
        return mf_error_set(MF_ERANGE, 6, "count %lld out of range (expected 1..%lld from position %lld)",
                            (long long)b->count, (long long)(len - b->first),
                            (long long)(b->first + b->base));
    return MF_OK;
}

/* The row numbers of the batch into p->rows (checked). */
static mf_status resolve_rows(mf_plan *p, const mf_plan_batch *b)
{
    int64_t nrows = b->x->shape[0];
    if (!b->idx) {
        for (int64_t r = 0; r < b->count; r++) p->rows[r] = b->first + r;
        return MF_OK;
    }
    const int64_t *ip = mf_tensor_data(b->idx);
    int64_t s = b->idx->stride[0];
    const char *xd = mf_tensor_data(b->x);
    size_t xrow = (size_t)b->x->stride[0] * mf_dtype_size(b->x->dtype);
    for (int64_t r = 0; r < b->count; r++) {
        int64_t v = ip[(b->first + r) * s], row = v - b->base;
        if (row < 0 || row >= nrows)
            return mf_error_set(MF_ERANGE, 4, "indices[%lld] = %lld is out of range for %lld rows (expected %lld..%lld)",
                                (long long)(b->first + r + b->base), (long long)v, (long long)nrows,
                                (long long)b->base, (long long)(nrows - 1 + b->base));
        p->rows[r] = row;
        /* shuffled rows are cache misses: start them all before the copy */
        PLAN_PREFETCH(xd + (size_t)row * xrow);
        PLAN_PREFETCH(xd + (size_t)row * xrow + 64);
    }
    return MF_OK;
}

/* ---------------------------------------------------------------- steps */
/* W^T of native layers, remade when W changed since the last one. */
/* The layers whose W^T is stale, as strips of 8 rows of W numbered
 * across them (strip s of layer l is rows 8 (s - first[l]) ...). */
typedef struct wt_job {
    mf_plan *p;
    int n;
    int layer[MF_PLAN_MAX_LAYERS];
    int64_t first[MF_PLAN_MAX_LAYERS + 1];
} wt_job;

static void wt_strips(int64_t lo, int64_t hi, void *ctx)
{
    const wt_job *j = ctx;
    for (int q = 0; q < j->n; q++) {
        int64_t a = j->first[q], b = j->first[q + 1];
        if (b <= lo || a >= hi) continue;
        plan_layer *y = &j->p->L[j->layer[q]];
        int64_t s0 = lo > a ? lo - a : 0, s1 = (hi < b ? hi : b) - a;
        int64_t o_hi = 8 * s1 < y->out ? 8 * s1 : y->out;
        const float *w = mf_tensor_data(y->w);
#if PLAN_AVX512
        mk_transpose(w, y->out, y->in, y->wt, 8 * s0, o_hi);
#else
        for (int64_t o = 8 * s0; o < o_hi; o++)
            for (int64_t i = 0; i < y->in; i++) y->wt[i * y->out + o] = w[o * y->in + i];
#endif
    }
}

/* Elements of W^T per thread below which the refresh runs on the caller. */
#define PLAN_WT_GRAIN ((int64_t)1 << 15)

static void refresh_wt(mf_plan *p)
{
    if (!p->native_ok) return;
    wt_job j = {p, 0, {0}, {0}};
    int64_t elems = 0;
    for (int l = 0; l < p->nl; l++) {
        plan_layer *y = &p->L[l];
        unsigned long v = mf_tensor_version(y->w);
        if (y->wt_valid && y->wt_version == v) continue;
        j.layer[j.n] = l;
        j.first[j.n + 1] = j.first[j.n] + (y->out + 7) / 8;
        j.n++;
        elems += y->in * y->out;
        y->wt_version = v;
        y->wt_valid = 1;
    }
    int64_t strips = j.first[j.n];
    if (strips == 0) return;
    if (elems >= 2 * PLAN_WT_GRAIN && mf_num_threads() > 1)
        mf_parallel_for(strips, strips * PLAN_WT_GRAIN / elems + 1, wt_strips, &j);
    else
        wt_strips(0, strips, &j);
}

/* The activation the forward pass applies after layer l: the last layer's
 * softmax, and its sigmoid under binary cross-entropy, are left to the loss
 * (which reads the logits) and to mf_plan_forward. */
static mf_plan_act forward_act(const mf_plan *p, int l)
{
    mf_plan_act act = p->L[l].act;
    if (l == p->nl - 1 && (act == MF_PLAN_SOFTMAX || (act == MF_PLAN_SIGMOID && p->loss == MF_PLAN_BCE)))
        return MF_PLAN_IDENTITY;
    return act;
}

/* act[l + 1] = act_l(act[l] W^T + b) for the first n rows. */
static void layer_forward(mf_plan *p, int l, int64_t n)
{
    plan_layer *y = &p->L[l];
    void *in = p->act[l], *out = p->act[l + 1];
    const void *bias = y->b ? mf_tensor_data(y->b) : NULL;
    mf_plan_act act = forward_act(p, l);
    if (use_native(p)) {
        mk_args a = {n, y->out, y->in, in, y->in, 1, y->wt, y->out, out, y->out, bias,
                     act == MF_PLAN_RELU, NULL, 0};
        native_run(&a);
        if (act == MF_PLAN_SIGMOID || act == MF_PLAN_TANH)
            act_forward_f32(out, n * y->out, NULL, y->out, act);
        return;
    }
    mf_blas_gemm(p->dt, 0, 1, n, y->out, y->in, 1.0, in, y->in, mf_tensor_data(y->w), y->in, 0.0,
                 out, y->out);
    if (p->dt == MF_FLOAT32) act_forward_f32(out, n * y->out, bias, y->out, act);
    else act_forward_f64(out, n * y->out, bias, y->out, act);
}

/* The gradients of layer l from d = dL/dz [n x out]; when l > 0, dL/dz of
 * layer l - 1 into `below` [n x in]. */
static void layer_backward(mf_plan *p, int l, int64_t n, const void *d, void *below)
{
    plan_layer *y = &p->L[l];
    const void *a = p->act[l];
    void *gw = mf_tensor_data(y->gw), *gb = y->gb ? mf_tensor_data(y->gb) : NULL;
    if (use_native(p)) {
        mk_args g = {y->out, y->in, n, d, 1, y->out, a, y->in, gw, y->in, NULL, 0, NULL, 0};
        native_run(&g);
    } else {
        mf_blas_gemm(p->dt, 1, 0, y->out, y->in, n, 1.0, d, y->out, a, y->in, 0.0, gw, y->in);
    }
    if (gb) {
#if PLAN_AVX512
        if (p->native_ok) mk_colsum(d, n, y->out, y->out, gb);
        else
#endif
        if (p->dt == MF_FLOAT32) colsum_f32(d, n, y->out, gb);
        else colsum_f64(d, n, y->out, gb);
    }
    if (l == 0) return;
    mf_plan_act below_act = p->L[l - 1].act;
    if (use_native(p)) {
        mk_args g = {n, y->in, y->out, d, y->out, 1, mf_tensor_data(y->w), y->in, below, y->in,
                     NULL, 0, below_act == MF_PLAN_RELU ? a : NULL, y->in};
        native_run(&g);
        if (below_act == MF_PLAN_SIGMOID || below_act == MF_PLAN_TANH)
            act_backward_f32(below, a, n * y->in, below_act);
        return;
    }
    mf_blas_gemm(p->dt, 0, 0, n, y->in, y->out, 1.0, d, y->out, mf_tensor_data(y->w), y->in, 0.0,
                 below, y->in);
    if (p->dt == MF_FLOAT32) act_backward_f32(below, a, n * y->in, below_act);
    else act_backward_f64(below, a, n * y->in, below_act);
}

static void forward_rows(mf_plan *p, int64_t n)
{
    for (int l = 0; l < p->nl; l++) layer_forward(p, l, n);
}

static mf_status gradients(mf_plan *p, const mf_plan_batch *b, mf_plan_stats *st)
{
    mf_status s = check_batch(p, b);
    if (s) return s;
    if (b->count > p->cap) {
        s = mf_plan_reserve(p, b->count);
        if (s) return s;
    }
    s = resolve_rows(p, b);
    if (s) return s;
    int64_t n = b->count;
    refresh_wt(p);
    if (p->dt == MF_FLOAT32) gather_f32(p, b->x, n);
    else gather_f64(p, b->x, n);
    forward_rows(p, n);
    mf_plan_stats local;
    if (!st) st = &local;
    s = p->dt == MF_FLOAT32 ? loss_grad_f32(p, b, st) : loss_grad_f64(p, b, st);
    if (s) return s;
    void *d = p->d0, *below = p->d1;
    for (int l = p->nl - 1; l >= 0; l--) {
        layer_backward(p, l, n, d, below);
        void *t = d;
        d = below;
        below = t;
    }
    return MF_OK;
}

mf_status mf_plan_gradients(mf_plan *p, const mf_plan_batch *b, mf_plan_stats *st)
{
    fp_mode m = fp_enter();
    mf_status s = gradients(p, b, st);
    fp_leave(m);
    return s;
}

/* ---------------------------------------------------------------- update */
static mf_status check_slots(const mf_plan *p, mf_optim_algo algo, const mf_optim_hparams *h,
                             const mf_optim_slot *slots)
{
    if ((unsigned)algo >= MF_OPTIM_ALGO_COUNT)
        return mf_error_set(MF_EINVAL, 0, "optimizer: unknown algorithm %d", (int)algo);
    if (!h || !slots) return mf_error_set(MF_EINVAL, 0, "optimizer: no slots");
    for (int k = 0; k < p->np; k++) {
        mf_status st = mf_optim_check(algo, &h[k]);
        if (st)
            return mf_error_set(MF_EINVAL, 0, "optimizer: parameter %d: %s", k + 1, mf_error_get()->msg);
        const mf_optim_slot *s = &slots[k];
        if (s->param != p->params[k])
            return mf_error_set(MF_EINVAL, 0, "optimizer: slot %d does not hold the plan's parameter %d",
                                k + 1, k + 1);
        if (s->step < 0)
            return mf_error_set(MF_EINVAL, 0, "optimizer: parameter %d: negative step count", k + 1);
        int ns = mf_optim_state_count(algo, &h[k]);
        for (int q = 0; q < ns; q++) {
            const mf_tensor *t = s->state[q];
            const mf_tensor *w = s->param;
            if (!t || t->dtype != w->dtype || t->ndim != w->ndim ||
                memcmp(t->shape, w->shape, sizeof(int64_t) * (size_t)w->ndim) != 0 ||
                !mf_tensor_is_contiguous(t))
                return mf_error_set(MF_EINVAL, 0,
                                    "optimizer: parameter %d: state buffer %s is missing or not a contiguous "
                                    "tensor of the parameter's shape and dtype",
                                    k + 1, mf_optim_state_name(algo, &h[k], q));
        }
    }
    return MF_OK;
}

/* A fused update (SGD, Adam, AdamW) over the elements of every parameter,
 * numbered one after the other: parameter k holds [start[k], start[k] +
 * numel). */
typedef struct upd_job {
    mf_plan *p;
    mf_optim_algo algo;
    const mf_optim_hparams *h;
    const mf_optim_slot *slots;
    int64_t start[2 * MF_PLAN_MAX_LAYERS];
    double c0[2 * MF_PLAN_MAX_LAYERS], c1[2 * MF_PLAN_MAX_LAYERS]; /* Adam's step scalars */
    int first[2 * MF_PLAN_MAX_LAYERS];                              /* SGD: fresh buffer */
    int64_t total;
} upd_job;

/* Elements per thread below which an update runs on the caller (as
 * mf_optim_step's). */
#define PLAN_UPD_GRAIN ((int64_t)1 << 15)

/* Elements [lo, hi) of the flat numbering. */
static void upd_range(int64_t lo, int64_t hi, void *ctx)
{
    const upd_job *j = ctx;
    const mf_plan *p = j->p;
    for (int k = 0; k < p->np; k++) {
        const mf_optim_slot *s = &j->slots[k];
        const mf_optim_hparams *hk = &j->h[k];
        int64_t n = mf_tensor_numel(s->param), a = j->start[k], b = a + n;
        if (b <= lo || a >= hi) continue;
        int64_t from = lo > a ? lo - a : 0, to = hi < b ? hi - a : n;
        size_t es = mf_dtype_size(p->dt), off = (size_t)from * es;
        char *w = (char *)mf_tensor_data(s->param) + off;
        const char *g = (const char *)mf_tensor_data(p->grads[k]) + off;
        char *s0 = s->state[0] ? (char *)mf_tensor_data(s->state[0]) + off : NULL;
        char *s1 = s->state[1] ? (char *)mf_tensor_data(s->state[1]) + off : NULL;
        char *s2 = s->state[2] && hk->amsgrad ? (char *)mf_tensor_data(s->state[2]) + off : NULL;
        int64_t cnt = to - from;
        if (j->algo == MF_OPTIM_SGD) {
            void *buf = hk->momentum != 0 ? s0 : NULL;
            if (p->dt == MF_FLOAT32) sgd_f32((void *)w, (const void *)g, buf, cnt, hk, j->first[k]);
            else sgd_f64((void *)w, (const void *)g, buf, cnt, hk, j->first[k]);
            continue;
        }
        int decoupled = j->algo == MF_OPTIM_ADAMW;
#if PLAN_AVX512
        if (p->native_ok) {
            adam16((void *)w, (const void *)g, (void *)s0, (void *)s1, (void *)s2, cnt, hk, decoupled,
                   j->c0[k], j->c1[k]);
            continue;
        }
#endif
        if (p->dt == MF_FLOAT32)
            adam_f32((void *)w, (const void *)g, (void *)s0, (void *)s1, (void *)s2, cnt, hk,
                     decoupled, j->c0[k], j->c1[k]);
        else
            adam_f64((void *)w, (const void *)g, (void *)s0, (void *)s1, (void *)s2, cnt, hk,
                     decoupled, j->c0[k], j->c1[k]);
    }
}

static int same_hparams(const mf_optim_hparams *a, const mf_optim_hparams *b)
{
    return a->lr == b->lr && a->weight_decay == b->weight_decay && a->momentum == b->momentum &&
           a->dampening == b->dampening && a->nesterov == b->nesterov && a->beta1 == b->beta1 &&
           a->beta2 == b->beta2 && a->amsgrad == b->amsgrad && a->eps == b->eps &&
           a->alpha == b->alpha && a->centered == b->centered && a->lr_decay == b->lr_decay &&
           a->initial_accumulator_value == b->initial_accumulator_value;
}

/* mf_plan_update once the slots are checked. */
static mf_status update(mf_plan *p, mf_optim_algo algo, const mf_optim_hparams *h,
                        mf_optim_slot *slots)
{
    if (algo != MF_OPTIM_SGD && algo != MF_OPTIM_ADAM && algo != MF_OPTIM_ADAMW) {
        /* through mf_optim_step, one call per run of parameters with the same
         * hyper-parameters (one call for one param group: nothing is written
         * if it fails) */
        for (int k = 0; k < p->np; k++) slots[k].grad = p->grads[k];
        for (int k = 0; k < p->np;) {
            int e = k + 1;
            while (e < p->np && same_hparams(&h[e], &h[k])) e++;
            mf_status st = mf_optim_step(algo, &h[k], e - k, &slots[k]);
            if (st) return mf_error_set(st, 0, "optimizer: %s", mf_error_get()->msg);
            k = e;
        }
        return MF_OK;
    }
    upd_job j = {p, algo, h, slots, {0}, {0}, {0}, {0}, 0};
    for (int k = 0; k < p->np; k++) {
        const mf_optim_slot *s = &slots[k];
        double t = (double)s->step + 1;
        j.start[k] = j.total;
        j.total += mf_tensor_numel(s->param);
        j.c0[k] = h[k].lr / (1 - pow(h[k].beta1, t));
        j.c1[k] = sqrt(1 - pow(h[k].beta2, t));
        j.first[k] = s->fresh != 0;
    }
    if (j.total >= 2 * PLAN_UPD_GRAIN && mf_num_threads() > 1)
        mf_parallel_for(j.total, PLAN_UPD_GRAIN, upd_range, &j);
    else
        upd_range(0, j.total, &j);
    for (int k = 0; k < p->np; k++) {
        mf_optim_slot *s = &slots[k];
        mf_tensor_bump_version(s->param);
        for (int q = 0; q < mf_optim_state_count(algo, &h[k]); q++) mf_tensor_bump_version(s->state[q]);
        s->step++;
        s->fresh = 0;
    }
    return MF_OK;
}

mf_status mf_plan_update(mf_plan *p, mf_optim_algo algo, const mf_optim_hparams *h,
                         mf_optim_slot *slots)
{
    mf_status st = check_slots(p, algo, h, slots);
    return st ? st : update(p, algo, h, slots);
}

mf_status mf_plan_train_batch(mf_plan *p, const mf_plan_batch *b, mf_optim_algo algo,
                              const mf_optim_hparams *h, mf_optim_slot *slots, mf_plan_stats *st)
{
    mf_status s = check_slots(p, algo, h, slots);
    if (s) return s;
    s = mf_plan_gradients(p, b, st);
    return s ? s : update(p, algo, h, slots);
}

/* ---------------------------------------------------------------- inference */
#define PLAN_FORWARD_CHUNK 256

mf_status mf_plan_forward(mf_tensor **out, mf_plan *p, const mf_tensor *x)
{
    *out = NULL;
    mf_status st = check_input(p, x);
    if (st) return st;
    int64_t N = x->shape[0], nout = p->L[p->nl - 1].out;
    if (p->cap < PLAN_FORWARD_CHUNK) {
        st = mf_plan_reserve(p, PLAN_FORWARD_CHUNK);
        if (st) return st;
    }
    mf_tensor *o = NULL;
    st = mf_tensor_new(&o, p->dt, 2, (int64_t[]){N, nout});
    if (st) return st;
    fp_mode m = fp_enter();
    refresh_wt(p);
    size_t es = mf_dtype_size(p->dt);
    for (int64_t r0 = 0; r0 < N; r0 += p->cap) {
        int64_t n = N - r0 < p->cap ? N - r0 : p->cap;
        for (int64_t r = 0; r < n; r++) p->rows[r] = r0 + r;
        if (p->dt == MF_FLOAT32) gather_f32(p, x, n);
        else gather_f64(p, x, n);
        forward_rows(p, n);
        void *last = p->act[p->nl];
        mf_plan_act act = p->L[p->nl - 1].act;
        if (act == MF_PLAN_SOFTMAX) {
            if (p->dt == MF_FLOAT32) softmax_rows_f32(last, n, nout);
            else softmax_rows_f64(last, n, nout);
        } else if (forward_act(p, p->nl - 1) != act) { /* the sigmoid left to the loss */
            if (p->dt == MF_FLOAT32) act_forward_f32(last, n * nout, NULL, nout, act);
            else act_forward_f64(last, n * nout, NULL, nout, act);
        }
        memcpy((char *)mf_tensor_data(o) + (size_t)(r0 * nout) * es, last, (size_t)(n * nout) * es);
    }
    fp_leave(m);
    *out = o;
    return MF_OK;
}

#else /* PLAN_T: the typed routines, included twice by the part above */

/* act[0] = rows p->rows[0 .. n) of x, converted. */
static void FN(gather)(mf_plan *p, const mf_tensor *x, int64_t n)
{
    PLAN_T *dst = p->act[0];
    int64_t in = p->L[0].in, s0 = x->stride[0], s1 = x->stride[1];
    if (x->dtype == p->dt && s1 == 1) { /* rows as they are */
        const PLAN_T *src = mf_tensor_data(x);
        for (int64_t r = 0; r < n; r++)
            memcpy(dst + r * in, src + p->rows[r] * s0, (size_t)in * sizeof(PLAN_T));
        return;
    }
    if (x->dtype == MF_FLOAT32) {
        const float *src = mf_tensor_data(x);
        for (int64_t r = 0; r < n; r++) {
            const float *row = src + p->rows[r] * s0;
            for (int64_t c = 0; c < in; c++) dst[r * in + c] = (PLAN_T)row[c * s1];
        }
    } else {
        const double *src = mf_tensor_data(x);
        for (int64_t r = 0; r < n; r++) {
            const double *row = src + p->rows[r] * s0;
            for (int64_t c = 0; c < in; c++) dst[r * in + c] = (PLAN_T)row[c * s1];
        }
    }
}

static inline PLAN_T FN(sigmoid)(PLAN_T z) { return (PLAN_T)1 / ((PLAN_T)1 + PLAN_EXP(-z)); }

/* z[i] (+ bias[i % width]) through act, for i < n; softmax (and identity)
 * leave the logits. */
static void FN(act_forward)(PLAN_T *z, int64_t n, const PLAN_T *bias, int64_t width, mf_plan_act act)
{
    if (bias)
        for (int64_t i = 0; i < n; i += width)
            for (int64_t j = 0; j < width; j++) z[i + j] += bias[j];
    switch (act) {
    case MF_PLAN_RELU:
        for (int64_t i = 0; i < n; i++) z[i] = z[i] > 0 || z[i] != z[i] ? z[i] : (PLAN_T)0;
        break;
    case MF_PLAN_SIGMOID:
        for (int64_t i = 0; i < n; i++) z[i] = FN(sigmoid)(z[i]);
        break;
    case MF_PLAN_TANH:
        for (int64_t i = 0; i < n; i++) z[i] = PLAN_TANH(z[i]);
        break;
    default: break;
    }
}

/* d[i] *= act'(z) expressed through the activation a = act(z). */
static void FN(act_backward)(PLAN_T *d, const PLAN_T *a, int64_t n, mf_plan_act act)
{
    switch (act) {
    case MF_PLAN_RELU:
        for (int64_t i = 0; i < n; i++) d[i] = a[i] > 0 ? d[i] : (PLAN_T)0;
        break;
    case MF_PLAN_SIGMOID:
        for (int64_t i = 0; i < n; i++) d[i] = d[i] * (a[i] * ((PLAN_T)1 - a[i]));
        break;
    case MF_PLAN_TANH:
        for (int64_t i = 0; i < n; i++) d[i] = d[i] * ((PLAN_T)1 - a[i] * a[i]);
        break;
    default: break;
    }
}

static void FN(colsum)(const PLAN_T *d, int64_t n, int64_t width, PLAN_T *out)
{
    for (int64_t j = 0; j < width; j++) out[j] = 0;
    for (int64_t r = 0; r < n; r++)
        for (int64_t j = 0; j < width; j++) out[j] += d[r * width + j];
}

/* Row by row: exp(z - logsumexp(z)), as mf.nn.functional.softmax. */
static void FN(softmax_rows)(PLAN_T *z, int64_t n, int64_t width)
{
    for (int64_t r = 0; r < n; r++) {
        PLAN_T *row = z + r * width, mx = row[0], s = 0;
        for (int64_t j = 1; j < width; j++) mx = row[j] > mx ? row[j] : mx;
        for (int64_t j = 0; j < width; j++) s += PLAN_EXP(row[j] - mx);
        PLAN_T lse = mx + PLAN_LOG(s);
        for (int64_t j = 0; j < width; j++) row[j] = PLAN_EXP(row[j] - lse);
    }
}

/* log(1 + e^x), stable both ways, as mf.nn.functional.softplus. */
static inline PLAN_T FN(softplus)(PLAN_T x)
{
    return x > 0 ? x + PLAN_LOG1P(PLAN_EXP(-x)) : PLAN_LOG1P(PLAN_EXP(x));
}

static inline double FN(yload)(const mf_tensor *y, int64_t off)
{
    return y->dtype == MF_FLOAT32 ? (double)((const float *)y->base)[off]
                                  : ((const double *)y->base)[off];
}

/* The loss of the batch, its statistics, and dL/dz of the last layer into
 * p->d0. */
static mf_status FN(loss_grad)(mf_plan *p, const mf_plan_batch *b, mf_plan_stats *st)
{
    const plan_layer *last = &p->L[p->nl - 1];
    const int64_t n = b->count, C = last->out;
    const mf_tensor *y = b->y;
    const int64_t ys0 = y->stride[0], ys1 = y->ndim == 2 ? y->stride[1] : 0;
    PLAN_T *a = p->act[p->nl], *d = p->d0;
    const int elementwise = p->loss != MF_PLAN_CCE && p->loss != MF_PLAN_SPARSE_CCE;
    const PLAN_T scale = (PLAN_T)(1.0 / (double)(elementwise ? n * C : n));
    double loss = 0, correct = 0, abs_err = 0, sq_err = 0;
    if (p->loss == MF_PLAN_SPARSE_CCE) { /* labels first: nothing is computed on a bad one */
        const int64_t *lab = (const int64_t *)y->base + y->offset;
        for (int64_t r = 0; r < n; r++) {
            int64_t v = lab[p->rows[r] * ys0];
            if (v - b->base < 0 || v - b->base >= C)
                return mf_error_set(MF_ERANGE, 3, "class index %lld at row %lld out of range for %lld classes (expected %lld..%lld)",
                                    (long long)v, (long long)(p->rows[r] + b->base), (long long)C,
                                    (long long)b->base, (long long)(C - 1 + b->base));
        }
    }
    for (int64_t r = 0; r < n; r++) {
        PLAN_T *ar = a + r * C, *dr = d + r * C;
        const int64_t yo = y->offset + p->rows[r] * ys0;
        if (elementwise) {
            double rabs = 0, rsq = 0, rcorrect = 0;
            for (int64_t c = 0; c < C; c++) {
                PLAN_T t = (PLAN_T)FN(yload)(y, yo + c * ys1), av = ar[c], g;
                if (p->loss == MF_PLAN_BCE) av = FN(sigmoid)(av); /* ar holds the logits */
                PLAN_T diff = av - t;
                rabs += fabs((double)diff);
                rsq += (double)diff * (double)diff;
                switch (p->loss) {
                case MF_PLAN_BCE: /* (1 - t) z + softplus(-z), as bce_with_logits */
                    loss += (double)(((PLAN_T)1 - t) * ar[c] + FN(softplus)(-ar[c]));
                    rcorrect += (av > (PLAN_T)0.5) == (t > (PLAN_T)0.5);
                    dr[c] = diff * scale; /* sigmoid and BCE together: a - t */
                    continue;
                case MF_PLAN_MSE:
                    loss += (double)diff * (double)diff;
                    g = (PLAN_T)2 * diff * scale;
                    break;
                case MF_PLAN_MAE:
                    loss += fabs((double)diff);
                    g = (diff > 0 ? (PLAN_T)1 : diff < 0 ? (PLAN_T)-1 : (PLAN_T)0) * scale;
                    break;
                default: { /* Huber, delta 1 */
                    PLAN_T ad = diff < 0 ? -diff : diff, q = ad < 1 ? ad : (PLAN_T)1;
                    loss += (double)((PLAN_T)0.5 * q * q + (ad - q));
                    g = (diff > 1 ? (PLAN_T)1 : diff < -1 ? (PLAN_T)-1 : diff) * scale;
                    break;
                }
                }
                switch (last->act) {
                case MF_PLAN_RELU: g = av > 0 ? g : (PLAN_T)0; break;
                case MF_PLAN_SIGMOID: g = g * (av * ((PLAN_T)1 - av)); break;
                case MF_PLAN_TANH: g = g * ((PLAN_T)1 - av * av); break;
                default: break;
                }
                dr[c] = g;
            }
            abs_err += rabs / (double)C;
            sq_err += rsq / (double)C;
            correct += rcorrect / (double)C;
            continue;
        }
        /* softmax cross-entropy on the logits ar */
        PLAN_T mx = ar[0];
        int64_t amax = 0;
        for (int64_t c = 1; c < C; c++)
            if (ar[c] > mx) mx = ar[c], amax = c;
        PLAN_T s = 0;
        for (int64_t c = 0; c < C; c++) s += PLAN_EXP(ar[c] - mx);
        PLAN_T lse = mx + PLAN_LOG(s);
        if (p->loss == MF_PLAN_SPARSE_CCE) {
            int64_t k = ((const int64_t *)y->base)[yo] - b->base;
            loss -= (double)(ar[k] - lse);
            correct += amax == k;
            for (int64_t c = 0; c < C; c++) {
                PLAN_T pc = PLAN_EXP(ar[c] - lse);
                dr[c] = (pc - (c == k ? (PLAN_T)1 : (PLAN_T)0)) * scale;
            }
        } else {
            PLAN_T tsum = 0, tmax = 0;
            int64_t targmax = 0;
            double rl = 0, rabs = 0, rsq = 0;
            for (int64_t c = 0; c < C; c++) {
                PLAN_T t = (PLAN_T)FN(yload)(y, yo + c * ys1);
                tsum += t;
                if (c == 0 || t > tmax) tmax = t, targmax = c;
                rl -= (double)(t * (ar[c] - lse));
            }
            for (int64_t c = 0; c < C; c++) {
                PLAN_T t = (PLAN_T)FN(yload)(y, yo + c * ys1), pc = PLAN_EXP(ar[c] - lse);
                double e = (double)(pc - t);
                rabs += fabs(e);
                rsq += e * e;
                dr[c] = (pc * tsum - t) * scale;
            }
            loss += rl;
            correct += amax == targmax;
            abs_err += rabs / (double)C;
            sq_err += rsq / (double)C;
        }
    }
    st->count = n;
    st->loss = elementwise ? loss / (double)C : loss;
    st->correct = p->loss == MF_PLAN_BCE || !elementwise ? correct : NAN;
    st->abs_err = p->loss == MF_PLAN_SPARSE_CCE ? NAN : abs_err;
    st->sq_err = p->loss == MF_PLAN_SPARSE_CCE ? NAN : sq_err;
    return MF_OK;
}

/* ---- optimizer kernels: mf_optim.c's, same operations in the same order */
#define PLAN_LERP(a, b, w) (fabs((double)(w)) < 0.5 ? (a) + (w) * ((b) - (a)) : (b) - ((b) - (a)) * (1 - (w)))
#define PLAN_FLUSH(x) ((x) < (PLAN_T)PLAN_TINY && (x) > -(PLAN_T)PLAN_TINY ? (PLAN_T)0 : (x))

static void FN(sgd)(PLAN_T *restrict p, const PLAN_T *restrict g, PLAN_T *restrict buf, int64_t n,
                    const mf_optim_hparams *h, int first)
{
    const int l2 = h->weight_decay != 0, nesterov = h->nesterov;
    const PLAN_T wd = (PLAN_T)h->weight_decay, mom = (PLAN_T)h->momentum;
    const PLAN_T keep = (PLAN_T)(1 - h->dampening), neg_lr = (PLAN_T)-h->lr;
    for (int64_t i = 0; i < n; i++) {
        PLAN_T d = g[i];
        if (l2) d = d + wd * p[i];
        if (buf) {
            PLAN_T bv = first ? d : buf[i] * mom + keep * d;
            bv = PLAN_FLUSH(bv);
            buf[i] = bv;
            d = nesterov ? d + mom * bv : bv;
        }
        p[i] = p[i] + neg_lr * d;
    }
}

static void FN(adam)(PLAN_T *restrict p, const PLAN_T *restrict g, PLAN_T *restrict m,
                     PLAN_T *restrict v, PLAN_T *restrict vmax, int64_t n,
                     const mf_optim_hparams *h, int decoupled, double c0, double c1)
{
    const int l2 = !decoupled && h->weight_decay != 0, flush_v = h->eps > 0;
    const PLAN_T wd = (PLAN_T)h->weight_decay, decay = (PLAN_T)(1 - h->lr * h->weight_decay);
    const PLAN_T w1 = (PLAN_T)(1 - h->beta1), b2 = (PLAN_T)h->beta2, w2 = (PLAN_T)(1 - h->beta2);
    const PLAN_T neg_step = (PLAN_T)-c0, bc2_sqrt = (PLAN_T)c1, eps = (PLAN_T)h->eps;
    for (int64_t i = 0; i < n; i++) {
        PLAN_T gi = g[i], pi = p[i];
        if (decoupled) pi = pi * decay;
        else if (l2) gi = gi + wd * pi;
        PLAN_T mi = PLAN_LERP(m[i], gi, w1);
        PLAN_T vi = v[i] * b2 + w2 * (gi * gi);
        mi = PLAN_FLUSH(mi);
        if (flush_v) vi = PLAN_FLUSH(vi);
        m[i] = mi;
        v[i] = vi;
        if (vmax) {
            PLAN_T vm = vmax[i] >= vi ? vmax[i] : vi;
            vmax[i] = vm;
            vi = vm;
        }
        PLAN_T denom = PLAN_SQRT(vi) / bc2_sqrt + eps;
        p[i] = pi + neg_step * (mi / denom);
    }
}

#undef PLAN_LERP
#undef PLAN_FLUSH

#endif /* PLAN_T */
