/*
 * mf_optim.c — optimizer steps (see mf_optim.h for the contract).
 *
 * A step runs in three phases: check every slot and make contiguous
 * working copies where a parameter or gradient is strided (nothing written
 * yet, so a failure leaves everything as it was); run the update kernel over
 * the elements of all slots as one flat range, split across threads; copy
 * strided parameters back, bump versions and count the steps.
 *
 * The kernels are written once per algorithm as a macro over the element
 * type T, so that float32 parameters are updated in float arithmetic and
 * float64 ones in double (per-step scalars are computed in double first).
 * The order of operations follows PyTorch's single-tensor implementations
 * (torch/optim/{sgd,adam,adamw,rmsprop,adagrad}.py), so that results agree
 * to the last bits in float64.
 */
#include "mf_optim.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "mf_autograd.h"
#include "mf_thread.h"

/* Elements per thread below which a step runs on the calling thread. */
#define OPTIM_GRAIN (1 << 15)

static const char *const algo_names[MF_OPTIM_ALGO_COUNT] = {"SGD", "Adam", "AdamW", "RMSprop",
                                                            "Adagrad"};

const char *mf_optim_algo_name(mf_optim_algo algo)
{
    return (unsigned)algo < MF_OPTIM_ALGO_COUNT ? algo_names[algo] : NULL;
}

mf_optim_algo mf_optim_algo_from_name(const char *name)
{
    for (int a = 0; a < MF_OPTIM_ALGO_COUNT; a++)
        if (name && strcmp(name, algo_names[a]) == 0) return (mf_optim_algo)a;
    return MF_OPTIM_ALGO_COUNT;
}

void mf_optim_hparams_default(mf_optim_algo algo, mf_optim_hparams *h)
{
    memset(h, 0, sizeof *h);
    h->beta1 = 0.9;
    h->beta2 = 0.999;
    h->eps = 1e-8;
    h->alpha = 0.99;
    switch (algo) {
    case MF_OPTIM_SGD: h->lr = 1e-3; break;
    case MF_OPTIM_ADAM: h->lr = 1e-3; break;
    case MF_OPTIM_ADAMW: h->lr = 1e-3; h->weight_decay = 1e-2; break;
    case MF_OPTIM_RMSPROP: h->lr = 1e-2; break;
    case MF_OPTIM_ADAGRAD: h->lr = 1e-2; h->eps = 1e-10; break;
    default: break;
    }
}

/* ---------------------------------------------------------------- checks */
static mf_status bad_hparam(const char *name, double v, const char *want)
{
    return mf_error_set(MF_EINVAL, 2, "invalid %s %g (expected %s)", name, v, want);
}

#define NONNEG(field, name)                                                     \
    do {                                                                        \
        if (!(h->field >= 0)) return bad_hparam(name, h->field, ">= 0");        \
    } while (0)

mf_status mf_optim_check(mf_optim_algo algo, const mf_optim_hparams *h)
{
    if ((unsigned)algo >= MF_OPTIM_ALGO_COUNT)
        return mf_error_set(MF_EINVAL, 1, "unknown optimizer %d", (int)algo);
    NONNEG(lr, "learning rate");
    NONNEG(weight_decay, "weight_decay");
    if (!isfinite(h->lr)) return bad_hparam("learning rate", h->lr, "a finite number");
    switch (algo) {
    case MF_OPTIM_SGD:
        NONNEG(momentum, "momentum");
        if (!isfinite(h->dampening)) return bad_hparam("dampening", h->dampening, "a finite number");
        if (h->nesterov && (h->momentum <= 0 || h->dampening != 0))
            return mf_error_set(MF_EINVAL, 2,
                                "nesterov momentum requires a momentum > 0 and zero dampening "
                                "(got momentum %g, dampening %g)",
                                h->momentum, h->dampening);
        break;
    case MF_OPTIM_ADAM:
    case MF_OPTIM_ADAMW:
        NONNEG(eps, "eps");
        if (!(h->beta1 >= 0 && h->beta1 < 1)) return bad_hparam("betas[1]", h->beta1, "[0, 1)");
        if (!(h->beta2 >= 0 && h->beta2 < 1)) return bad_hparam("betas[2]", h->beta2, "[0, 1)");
        break;
    case MF_OPTIM_RMSPROP:
        NONNEG(eps, "eps");
        NONNEG(momentum, "momentum");
        NONNEG(alpha, "alpha");
        break;
    case MF_OPTIM_ADAGRAD:
        NONNEG(eps, "eps");
        NONNEG(lr_decay, "lr_decay");
        NONNEG(initial_accumulator_value, "initial_accumulator_value");
        break;
    default: break;
    }
    return MF_OK;
}

/* ---------------------------------------------------------------- state layout */
/* The buffer names of algo under h, into names[]; returns how many. */
static int state_names(mf_optim_algo algo, const mf_optim_hparams *h, const char **names)
{
    int n = 0;
    switch (algo) {
    case MF_OPTIM_SGD:
        if (h->momentum != 0) names[n++] = "momentum_buffer";
        break;
    case MF_OPTIM_ADAM:
    case MF_OPTIM_ADAMW:
        names[n++] = "exp_avg";
        names[n++] = "exp_avg_sq";
        if (h->amsgrad) names[n++] = "max_exp_avg_sq";
        break;
    case MF_OPTIM_RMSPROP:
        names[n++] = "square_avg";
        if (h->momentum > 0) names[n++] = "momentum_buffer";
        if (h->centered) names[n++] = "grad_avg";
        break;
    case MF_OPTIM_ADAGRAD: names[n++] = "sum"; break;
    default: break;
    }
    return n;
}

int mf_optim_state_count(mf_optim_algo algo, const mf_optim_hparams *h)
{
    const char *names[MF_OPTIM_MAX_STATE];
    return state_names(algo, h, names);
}

const char *mf_optim_state_name(mf_optim_algo algo, const mf_optim_hparams *h, int k)
{
    const char *names[MF_OPTIM_MAX_STATE];
    int n = state_names(algo, h, names);
    return k >= 0 && k < n ? names[k] : NULL;
}

double mf_optim_state_init(mf_optim_algo algo, const mf_optim_hparams *h, int k)
{
    (void)k;
    return algo == MF_OPTIM_ADAGRAD ? h->initial_accumulator_value : 0.0;
}

/* ---------------------------------------------------------------- kernels */
/* What the kernels see of one slot: contiguous data and per-step scalars. */
typedef struct {
    void *p;                        /* parameter (or its working copy) */
    const void *g;                  /* gradient (or a contiguous copy) */
    void *s[MF_OPTIM_MAX_STATE];    /* state buffers */
    int64_t n, start;               /* elements; first flat position */
    double c0, c1;                  /* per-slot scalars, see prepare_scalars */
    int first;                      /* no update before this one */
    int f64;                        /* float64 (else float32) */
} run_slot;

typedef struct {
    const mf_optim_hparams *h;
    mf_optim_algo algo;
    int64_t nslots;
    run_slot *rs;
} run_job;

/* torch.lerp(a, b, w) as ATen computes it (exact at both ends). */
#define LERP(a, b, w) (fabs((double)(w)) < 0.5 ? (a) + (w) * ((b) - (a)) : (b) - ((b) - (a)) * (1 - (w)))
/* Stores of decaying buffers: subnormal magnitudes become 0 (mf_optim.h). */
#define FLUSH(T, x, tiny) (ABS_##T(x) < (T)(tiny) ? (T)0 : (x)) /* branch-free: fabs + select */
#define ABS_float fabsf
#define ABS_double fabs

/* Each DEFINE_* makes <algo>_<SFX>(job, slot, lo, hi) updating the elements
 * [lo, hi) of one slot. Options are copied into locals first: the stores
 * through p could alias *h otherwise, forcing a reload per element. */
#define DEFINE_SGD(T, SFX, TINY)                                                \
    static void sgd_##SFX(const run_job *j, const run_slot *s, int64_t lo, int64_t hi) \
    {                                                                           \
        const mf_optim_hparams *h = j->h;                                       \
        T *restrict p = s->p, *restrict buf = s->s[0];                          \
        const T *restrict g = s->g;                                             \
        const int l2 = h->weight_decay != 0, has_mom = h->momentum != 0;       \
        const int first = s->first, nesterov = h->nesterov;                     \
        const T wd = (T)h->weight_decay, mom = (T)h->momentum;                  \
        const T keep = (T)(1 - h->dampening), neg_lr = (T)-h->lr;               \
        for (int64_t i = lo; i < hi; i++) {                                     \
            T d = g[i];                                                         \
            if (l2) d = d + wd * p[i];                                          \
            if (has_mom) {                                                      \
                T b = first ? d : buf[i] * mom + keep * d;                      \
                b = FLUSH(T, b, TINY);                                          \
                buf[i] = b;                                                     \
                d = nesterov ? d + mom * b : b;                                 \
            }                                                                   \
            p[i] = p[i] + neg_lr * d;                                           \
        }                                                                       \
    }

/* Adam and AdamW: c0 = lr / (1 - beta1^t), c1 = sqrt(1 - beta2^t). */
#define DEFINE_ADAM(T, SFX, SQRT, TINY)                                         \
    static void adam_##SFX(const run_job *j, const run_slot *s, int64_t lo, int64_t hi) \
    {                                                                           \
        const mf_optim_hparams *h = j->h;                                       \
        T *restrict p = s->p, *restrict m = s->s[0], *restrict v = s->s[1];     \
        T *restrict vmax = s->s[2];                                             \
        const T *restrict g = s->g;                                             \
        const int decoupled = j->algo == MF_OPTIM_ADAMW;                        \
        const int l2 = !decoupled && h->weight_decay != 0;                      \
        const int flush_v = h->eps > 0;                                         \
        const T wd = (T)h->weight_decay, decay = (T)(1 - h->lr * h->weight_decay); \
        const T w1 = (T)(1 - h->beta1), b2 = (T)h->beta2, w2 = (T)(1 - h->beta2); \
        const T neg_step = (T)-s->c0, bc2_sqrt = (T)s->c1, eps = (T)h->eps;     \
        for (int64_t i = lo; i < hi; i++) {                                     \
            T gi = g[i], pi = p[i];                                             \
            if (decoupled) pi = pi * decay;                                     \
            else if (l2) gi = gi + wd * pi;                                     \
            T mi = LERP(m[i], gi, w1);                                          \
            T vi = v[i] * b2 + w2 * (gi * gi);                                  \
            mi = FLUSH(T, mi, TINY);                                            \
            if (flush_v) vi = FLUSH(T, vi, TINY);                               \
            m[i] = mi;                                                          \
            v[i] = vi;                                                          \
            if (vmax) {                                                         \
                T vm = vmax[i] >= vi ? vmax[i] : vi;                            \
                vmax[i] = vm;                                                   \
                vi = vm;                                                        \
            }                                                                   \
            T denom = SQRT(vi) / bc2_sqrt + eps;                                \
            p[i] = pi + neg_step * (mi / denom);                                \
        }                                                                       \
    }

/* s[0] square_avg, then momentum_buffer and grad_avg when in use. */
#define DEFINE_RMSPROP(T, SFX, SQRT, TINY)                                      \
    static void rmsprop_##SFX(const run_job *j, const run_slot *s, int64_t lo, int64_t hi) \
    {                                                                           \
        const mf_optim_hparams *h = j->h;                                       \
        int k = 1;                                                              \
        T *restrict p = s->p, *restrict sq = s->s[0];                           \
        T *restrict buf = h->momentum > 0 ? s->s[k++] : NULL;                   \
        T *restrict gavg = h->centered ? s->s[k++] : NULL;                      \
        const T *restrict g = s->g;                                             \
        const int flush_sq = h->eps > 0, l2 = h->weight_decay != 0;             \
        const T wd = (T)h->weight_decay, a = (T)h->alpha, w = (T)(1 - h->alpha); \
        const T mom = (T)h->momentum, eps = (T)h->eps, neg_lr = (T)-h->lr;      \
        for (int64_t i = lo; i < hi; i++) {                                     \
            T gi = g[i];                                                        \
            if (l2) gi = gi + wd * p[i];                                        \
            T si = sq[i] * a + w * (gi * gi);                                   \
            if (flush_sq) si = FLUSH(T, si, TINY);                              \
            sq[i] = si;                                                         \
            T avg;                                                              \
            if (gavg) {                                                         \
                T ga = LERP(gavg[i], gi, w);                                    \
                ga = FLUSH(T, ga, TINY);                                        \
                gavg[i] = ga;                                                   \
                T var = si - ga * ga;                                           \
                avg = SQRT(var > 0 ? var : (T)0); /* rounding can make it < 0 */ \
            } else {                                                            \
                avg = SQRT(si);                                                 \
            }                                                                   \
            avg = avg + eps;                                                    \
            if (buf) {                                                          \
                T b = buf[i] * mom + gi / avg;                                  \
                b = FLUSH(T, b, TINY);                                          \
                buf[i] = b;                                                     \
                p[i] = p[i] + neg_lr * b;                                       \
            } else {                                                            \
                p[i] = p[i] + neg_lr * (gi / avg);                              \
            }                                                                   \
        }                                                                       \
    }

/* c0 = lr / (1 + (t - 1) lr_decay). The sum only grows: nothing to flush. */
#define DEFINE_ADAGRAD(T, SFX, SQRT)                                            \
    static void adagrad_##SFX(const run_job *j, const run_slot *s, int64_t lo, int64_t hi) \
    {                                                                           \
        const mf_optim_hparams *h = j->h;                                       \
        T *restrict p = s->p, *restrict sum = s->s[0];                          \
        const T *restrict g = s->g;                                             \
        const int l2 = h->weight_decay != 0;                                    \
        const T wd = (T)h->weight_decay, eps = (T)h->eps, neg_clr = (T)-s->c0;  \
        for (int64_t i = lo; i < hi; i++) {                                     \
            T gi = g[i];                                                        \
            if (l2) gi = gi + wd * p[i];                                        \
            T si = sum[i] + gi * gi;                                            \
            sum[i] = si;                                                        \
            p[i] = p[i] + neg_clr * (gi / (SQRT(si) + eps));                    \
        }                                                                       \
    }

DEFINE_SGD(float, f32, FLT_MIN)
DEFINE_SGD(double, f64, DBL_MIN)
DEFINE_ADAM(float, f32, sqrtf, FLT_MIN)
DEFINE_ADAM(double, f64, sqrt, DBL_MIN)
DEFINE_RMSPROP(float, f32, sqrtf, FLT_MIN)
DEFINE_RMSPROP(double, f64, sqrt, DBL_MIN)
DEFINE_ADAGRAD(float, f32, sqrtf)
DEFINE_ADAGRAD(double, f64, sqrt)

typedef void (*kernel_fn)(const run_job *j, const run_slot *s, int64_t lo, int64_t hi);

static const kernel_fn kernels[MF_OPTIM_ALGO_COUNT][2] = {
    [MF_OPTIM_SGD] = {sgd_f32, sgd_f64},
    [MF_OPTIM_ADAM] = {adam_f32, adam_f64},
    [MF_OPTIM_ADAMW] = {adam_f32, adam_f64},
    [MF_OPTIM_RMSPROP] = {rmsprop_f32, rmsprop_f64},
    [MF_OPTIM_ADAGRAD] = {adagrad_f32, adagrad_f64},
};

/* Flat positions [lo, hi) over the slots (in order of `start`). */
static void run_range(int64_t lo, int64_t hi, void *ctx)
{
    const run_job *j = ctx;
    int64_t a = 0, b = j->nslots;
    while (b - a > 1) { /* last slot starting at or before lo */
        int64_t mid = a + (b - a) / 2;
        if (j->rs[mid].start <= lo) a = mid;
        else b = mid;
    }
    for (int64_t k = a; k < j->nslots && j->rs[k].start < hi; k++) {
        const run_slot *s = &j->rs[k];
        int64_t from = lo > s->start ? lo - s->start : 0;
        int64_t to = hi - s->start < s->n ? hi - s->start : s->n;
        if (from < to) kernels[j->algo][s->f64](j, s, from, to);
    }
}

/* ---------------------------------------------------------------- step */
static int same_shape(const mf_tensor *a, const mf_tensor *b)
{
    return a->ndim == b->ndim &&
           memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim) == 0;
}

/* "params[i]: <what> does not match (...)" */
static mf_status bad_slot(int64_t i, const char *what, const mf_tensor *t, const mf_tensor *p)
{
    char a[MF_SHAPE_STRLEN], b[MF_SHAPE_STRLEN];
    return mf_error_set(MF_EINVAL, 4, "params[%lld]: %s does not match (%s %s for a %s %s parameter)",
                        (long long)i, what, mf_dtype_name(t->dtype),
                        mf_shape_str(a, sizeof a, t->ndim, t->shape), mf_dtype_name(p->dtype),
                        mf_shape_str(b, sizeof b, p->ndim, p->shape));
}

static mf_status check_slot(mf_optim_algo algo, const mf_optim_hparams *h, int64_t i,
                            const mf_optim_slot *s, int nstate)
{
    const mf_tensor *p = s->param;
    if (!p) return mf_error_set(MF_EINVAL, 4, "params[%lld] is NULL", (long long)i);
    if (p->dtype != MF_FLOAT32 && p->dtype != MF_FLOAT64)
        return mf_error_set(MF_EINVAL, 4, "params[%lld] is %s (expected float32 or float64)",
                            (long long)i, mf_dtype_name(p->dtype));
    if (mf_tensor_is_self_overlapping(p))
        return mf_error_set(MF_EINVAL, 4, "params[%lld] is an expanded tensor (cannot be updated)",
                            (long long)i);
    if (s->step < 0) return mf_error_set(MF_EINVAL, 4, "params[%lld]: negative step count", (long long)i);
    if (!same_shape(s->grad, p) || s->grad->dtype != p->dtype)
        return bad_slot(i, "gradient", s->grad, p);
    for (int k = 0; k < nstate; k++) {
        const mf_tensor *b = s->state[k];
        const char *name = mf_optim_state_name(algo, h, k);
        if (!b)
            return mf_error_set(MF_EINVAL, 4, "params[%lld]: state buffer %s is missing",
                                (long long)i, name);
        if (!same_shape(b, p) || b->dtype != p->dtype) return bad_slot(i, name, b, p);
        if (!mf_tensor_is_contiguous(b))
            return mf_error_set(MF_EINVAL, 4, "params[%lld]: state buffer %s is not contiguous",
                                (long long)i, name);
    }
    return MF_OK;
}

/* Per-slot scalars of this step, t being the slot's step + 1. */
static void prepare_scalars(mf_optim_algo algo, const mf_optim_hparams *h, const mf_optim_slot *s,
                            run_slot *r)
{
    double t = (double)s->step + 1;
    r->first = s->fresh != 0;
    switch (algo) {
    case MF_OPTIM_ADAM:
    case MF_OPTIM_ADAMW:
        r->c0 = h->lr / (1 - pow(h->beta1, t));
        r->c1 = sqrt(1 - pow(h->beta2, t));
        break;
    case MF_OPTIM_ADAGRAD: r->c0 = h->lr / (1 + (t - 1) * h->lr_decay); break;
    default: break;
    }
}

mf_status mf_optim_step(mf_optim_algo algo, const mf_optim_hparams *h, int64_t n,
                        mf_optim_slot *slots)
{
    mf_status st = mf_optim_check(algo, h);
    if (st) return st;
    if (n < 0 || (n > 0 && !slots))
        return mf_error_set(MF_EINVAL, 3, "invalid number of parameters %lld", (long long)n);
    int nstate = mf_optim_state_count(algo, h);
    int64_t active = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!slots[i].grad) continue;
        st = check_slot(algo, h, i, &slots[i], nstate);
        if (st) return st;
        active++;
    }
    if (!active) return MF_OK;

    /* working copies of strided tensors: tmp[2k] parameter, tmp[2k+1] gradient */
    run_slot *rs = mf_calloc((size_t)active, sizeof *rs);
    mf_tensor **tmp = mf_calloc((size_t)active * 2, sizeof *tmp);
    if (!rs || !tmp) {
        mf_free(rs);
        mf_free(tmp);
        return mf_error_set(MF_ENOMEM, 0, "not enough memory");
    }
    int was = mf_set_grad_enabled(0); /* copies are not recorded; copy-back is allowed */
    int64_t k = 0, total = 0;
    for (int64_t i = 0; i < n && st == MF_OK; i++) {
        const mf_optim_slot *s = &slots[i];
        if (!s->grad) continue;
        mf_tensor *p = s->param, *g = s->grad;
        run_slot *r = &rs[k];
        if (!mf_tensor_is_contiguous(p)) {
            st = mf_tensor_clone(&tmp[2 * k], p);
            p = tmp[2 * k];
        }
        if (st == MF_OK && !mf_tensor_is_contiguous(g)) {
            st = mf_tensor_clone(&tmp[2 * k + 1], g);
            g = tmp[2 * k + 1];
        }
        if (st) break;
        r->p = mf_tensor_data(p);
        r->g = mf_tensor_data(g);
        for (int q = 0; q < nstate; q++) r->s[q] = mf_tensor_data(s->state[q]);
        r->n = mf_tensor_numel(p);
        r->start = total;
        r->f64 = p->dtype == MF_FLOAT64;
        prepare_scalars(algo, h, s, r);
        total += r->n;
        k++;
    }
    if (st == MF_OK) {
        run_job j = {h, algo, active, rs};
        mf_parallel_for(total, OPTIM_GRAIN, run_range, &j);
        k = 0;
        for (int64_t i = 0; i < n; i++) {
            mf_optim_slot *s = &slots[i];
            if (!s->grad) continue;
            /* cannot fail: same shape and dtype, not expanded, other storage */
            if (tmp[2 * k]) (void)mf_tensor_copy_(s->param, tmp[2 * k]);
            else mf_tensor_bump_version(s->param);
            for (int q = 0; q < nstate; q++) mf_tensor_bump_version(s->state[q]);
            s->step++;
            s->fresh = 0;
            k++;
        }
    }
    mf_set_grad_enabled(was);
    for (int64_t q = 0; q < 2 * active; q++) mf_tensor_release(tmp[q]);
    mf_free(tmp);
    mf_free(rs);
    return st;
}

/* ---------------------------------------------------------------- clipping */
/* Sum of |x|^p (p = INFINITY: max |x|) over a contiguous buffer, in double. */
#define NORM_ACC(T)                                                             \
    do {                                                                        \
        const T *x = data;                                                      \
        if (isinf(p)) {                                                         \
            for (int64_t i = 0; i < n; i++) {                                   \
                double a = fabs((double)x[i]);                                  \
                if (a > acc || a != a) acc = a;                                 \
            }                                                                   \
        } else if (p == 2) {                                                    \
            for (int64_t i = 0; i < n; i++) acc += (double)x[i] * (double)x[i]; \
        } else if (p == 1) {                                                    \
            for (int64_t i = 0; i < n; i++) acc += fabs((double)x[i]);          \
        } else {                                                                \
            for (int64_t i = 0; i < n; i++) acc += pow(fabs((double)x[i]), p);  \
        }                                                                       \
    } while (0)

static double norm_acc(const mf_tensor *g, double p, double acc)
{
    const void *data = mf_tensor_data(g);
    int64_t n = mf_tensor_numel(g);
    if (g->dtype == MF_FLOAT32) NORM_ACC(float);
    else NORM_ACC(double);
    return acc;
}

mf_status mf_clip_grad_norm_(int64_t n, mf_tensor *const *grads, double max_norm,
                             double norm_type, int error_if_nonfinite, double *total_norm)
{
    *total_norm = 0;
    if (n < 0 || (n > 0 && !grads))
        return mf_error_set(MF_EINVAL, 2, "invalid number of gradients %lld", (long long)n);
    if (!(max_norm >= 0))
        return mf_error_set(MF_EINVAL, 3, "max_norm must be >= 0, got %g", max_norm);
    if (!(norm_type > 0))
        return mf_error_set(MF_EINVAL, 4, "norm_type must be > 0 or inf, got %g", norm_type);
    for (int64_t i = 0; i < n; i++)
        if (grads[i] && grads[i]->dtype != MF_FLOAT32 && grads[i]->dtype != MF_FLOAT64)
            return mf_error_set(MF_EINVAL, 2, "grads[%lld] is %s (expected a float tensor)",
                                (long long)i, mf_dtype_name(grads[i]->dtype));
    double acc = 0;
    mf_status st = MF_OK;
    for (int64_t i = 0; i < n && st == MF_OK; i++) {
        mf_tensor *g = grads[i], *c = NULL;
        if (!g) continue;
        int was = mf_set_grad_enabled(0);
        st = mf_tensor_contiguous(&c, g);
        mf_set_grad_enabled(was);
        if (st) break;
        acc = norm_acc(c, norm_type, acc);
        mf_tensor_release(c);
    }
    if (st) return st;
    double total = isinf(norm_type) ? acc : norm_type == 2 ? sqrt(acc)
                 : norm_type == 1 ? acc : pow(acc, 1 / norm_type);
    *total_norm = total;
    if (error_if_nonfinite && !isfinite(total))
        return mf_error_set(MF_EINVAL, 0,
                            "the total norm of order %g of the gradients is %g: not finite, so "
                            "they cannot be clipped (error_if_nonfinite = false scales them anyway)",
                            norm_type, total);
    double coef = max_norm / (total + 1e-6);
    if (coef >= 1) return MF_OK; /* as PyTorch's clamp(max = 1): a NaN norm still scales */
    int was = mf_set_grad_enabled(0);
    for (int64_t i = 0; i < n && st == MF_OK; i++) {
        mf_tensor *g = grads[i], s;
        if (!g) continue;
        float f = (float)coef;
        double d = coef;
        mf_tensor_borrow_scalar(&s, g->dtype, g->dtype == MF_FLOAT32 ? (void *)&f : (void *)&d);
        mf_tensor *in[2] = {g, &s};
        mf_op_params prm = {0};
        st = mf_op_run_into(MF_OP_MUL, 2, in, &prm, &g, 1);
    }
    mf_set_grad_enabled(was);
    return st;
}
