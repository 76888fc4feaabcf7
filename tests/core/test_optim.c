/* test_optim.c — optimizer kernels (mf_optim_step) and gradient clipping,
 * against the published update equations written out as plain loops. */
#include <float.h>
#include <string.h>

#include "ctest.h"
#include "moonforge.h"

/* 1-D float64 tensor of the given values. */
static mf_tensor *vec64(int n, const double *v)
{
    mf_tensor *t = NULL;
    if (mf_tensor_new(&t, MF_FLOAT64, 1, (int64_t[]){n}) != MF_OK) return NULL;
    memcpy(mf_tensor_data(t), v, sizeof(double) * (size_t)n);
    return t;
}

static mf_tensor *zeros_like(const mf_tensor *p)
{
    mf_tensor *t = NULL;
    mf_tensor_zeros(&t, p->dtype, p->ndim, p->shape);
    return t;
}

static double el(const mf_tensor *t, int64_t i)
{
    double v = NAN;
    mf_tensor_get(t, &i, &v);
    return v;
}

/* A slot over p with gradient g and fresh (zero) state buffers. */
static void slot_init(mf_optim_slot *s, mf_optim_algo algo, const mf_optim_hparams *h,
                      mf_tensor *p, mf_tensor *g)
{
    memset(s, 0, sizeof *s);
    s->param = p;
    s->grad = g;
    s->fresh = 1;
    for (int k = 0; k < mf_optim_state_count(algo, h); k++)
        mf_tensor_full(&s->state[k], p->dtype, p->ndim, p->shape, mf_optim_state_init(algo, h, k));
}

static void slot_free(mf_optim_slot *s)
{
    for (int k = 0; k < MF_OPTIM_MAX_STATE; k++) mf_tensor_release(s->state[k]);
}

static const double P0[3] = {1.0, -2.0, 0.5};
/* a different gradient at each step */
static double grad_at(int step, int i) { return 0.3 * (i + 1) * (step % 2 ? -1 : 1) + 0.1 * step; }

static void set_grad(mf_tensor *g, int step)
{
    double *d = mf_tensor_data(g);
    for (int i = 0; i < 3; i++) d[i] = grad_at(step, i);
}

CTEST(names_defaults_and_state_layout)
{
    mf_optim_hparams h;
    CHECK_STR(mf_optim_algo_name(MF_OPTIM_ADAMW), "AdamW");
    CHECK(mf_optim_algo_name(MF_OPTIM_ALGO_COUNT) == NULL);
    CHECK_INT(mf_optim_algo_from_name("RMSprop"), MF_OPTIM_RMSPROP);
    CHECK_INT(mf_optim_algo_from_name("adam"), MF_OPTIM_ALGO_COUNT);
    mf_optim_hparams_default(MF_OPTIM_ADAMW, &h);
    CHECK_NEAR(h.weight_decay, 1e-2, 0);
    CHECK_NEAR(h.beta2, 0.999, 0);
    CHECK_INT(mf_optim_state_count(MF_OPTIM_ADAMW, &h), 2);
    h.amsgrad = 1;
    CHECK_STR(mf_optim_state_name(MF_OPTIM_ADAMW, &h, 2), "max_exp_avg_sq");
    CHECK(mf_optim_state_name(MF_OPTIM_ADAMW, &h, 3) == NULL);
    mf_optim_hparams_default(MF_OPTIM_SGD, &h);
    CHECK_INT(mf_optim_state_count(MF_OPTIM_SGD, &h), 0);
    mf_optim_hparams_default(MF_OPTIM_RMSPROP, &h);
    h.centered = 1;
    CHECK_STR(mf_optim_state_name(MF_OPTIM_RMSPROP, &h, 1), "grad_avg");
    h.momentum = 0.5;
    CHECK_STR(mf_optim_state_name(MF_OPTIM_RMSPROP, &h, 1), "momentum_buffer");
    mf_optim_hparams_default(MF_OPTIM_ADAGRAD, &h);
    h.initial_accumulator_value = 0.25;
    CHECK_NEAR(mf_optim_state_init(MF_OPTIM_ADAGRAD, &h, 0), 0.25, 0);
}

CTEST(hyperparameter_checks)
{
    mf_optim_hparams h;
    mf_optim_hparams_default(MF_OPTIM_ADAM, &h);
    CHECK_OK(mf_optim_check(MF_OPTIM_ADAM, &h));
    h.beta1 = 1;
    CHECK_ERR(mf_optim_check(MF_OPTIM_ADAM, &h), MF_EINVAL, 2);
    h.beta1 = 0.9;
    h.eps = -1;
    CHECK_ERR(mf_optim_check(MF_OPTIM_ADAM, &h), MF_EINVAL, 2);
    h.eps = 1e-8;
    h.lr = NAN;
    CHECK_ERR(mf_optim_check(MF_OPTIM_ADAM, &h), MF_EINVAL, 2);
    mf_optim_hparams_default(MF_OPTIM_SGD, &h);
    h.nesterov = 1;
    CHECK_ERR(mf_optim_check(MF_OPTIM_SGD, &h), MF_EINVAL, 2); /* no momentum */
    h.momentum = 0.9;
    CHECK_OK(mf_optim_check(MF_OPTIM_SGD, &h));
    h.dampening = 0.1;
    CHECK_ERR(mf_optim_check(MF_OPTIM_SGD, &h), MF_EINVAL, 2);
    mf_optim_hparams_default(MF_OPTIM_ADAGRAD, &h);
    h.lr_decay = -0.1;
    CHECK_ERR(mf_optim_check(MF_OPTIM_ADAGRAD, &h), MF_EINVAL, 2);
    CHECK_ERR(mf_optim_check(MF_OPTIM_ALGO_COUNT, &h), MF_EINVAL, 1);
}

/* Runs `steps` steps of algo on P0 with grad_at, against ref(). */
typedef void (*ref_fn)(const mf_optim_hparams *h, int t, double *p, double g, double *s);

static void run_against(ctest_ctx *ctest_, mf_optim_algo algo, const mf_optim_hparams *h,
                        ref_fn ref, int steps)
{
    mf_tensor *p = vec64(3, P0), *g = vec64(3, P0);
    mf_optim_slot s;
    slot_init(&s, algo, h, p, g);
    double rp[3], rs[3][4] = {{0}};
    memcpy(rp, P0, sizeof rp);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 4; k++) rs[i][k] = algo == MF_OPTIM_ADAGRAD ? h->initial_accumulator_value : 0;
    for (int t = 1; t <= steps; t++) {
        set_grad(g, t);
        unsigned long v0 = mf_tensor_version(p);
        CHECK_OK(mf_optim_step(algo, h, 1, &s));
        CHECK(mf_tensor_version(p) > v0);
        CHECK_INT(s.step, t);
        CHECK_INT(s.fresh, 0);
        for (int i = 0; i < 3; i++) {
            ref(h, t, &rp[i], grad_at(t, i), rs[i]);
            CHECK_NEAR(el(p, i), rp[i], 1e-12);
        }
    }
    slot_free(&s);
    mf_tensor_release(p);
    mf_tensor_release(g);
}

/* torch.optim.SGD: s[0] = momentum buffer */
static void ref_sgd(const mf_optim_hparams *h, int t, double *p, double g, double *s)
{
    double d = g + h->weight_decay * *p;
    if (h->momentum != 0) {
        s[0] = t == 1 ? d : h->momentum * s[0] + (1 - h->dampening) * d;
        d = h->nesterov ? d + h->momentum * s[0] : s[0];
    }
    *p -= h->lr * d;
}

/* torch.optim.Adam / AdamW: s = m, v, vmax; s[3] = 1 for AdamW */
static void ref_adam(const mf_optim_hparams *h, int t, double *p, double g, double *s)
{
    if (s[3] == 1) *p *= 1 - h->lr * h->weight_decay;
    else g += h->weight_decay * *p;
    s[0] = h->beta1 * s[0] + (1 - h->beta1) * g;
    s[1] = h->beta2 * s[1] + (1 - h->beta2) * g * g;
    double mhat = s[0] / (1 - pow(h->beta1, t));
    double v = s[1];
    if (h->amsgrad) v = s[2] = fmax(s[2], s[1]);
    double vhat = v / (1 - pow(h->beta2, t));
    *p -= h->lr * mhat / (sqrt(vhat) + h->eps);
}

static void ref_adamw(const mf_optim_hparams *h, int t, double *p, double g, double *s)
{
    s[3] = 1;
    ref_adam(h, t, p, g, s);
}

/* torch.optim.RMSprop: s = square_avg, buffer, grad_avg */
static void ref_rmsprop(const mf_optim_hparams *h, int t, double *p, double g, double *s)
{
    (void)t;
    g += h->weight_decay * *p;
    s[0] = h->alpha * s[0] + (1 - h->alpha) * g * g;
    double v = s[0];
    if (h->centered) {
        s[2] = h->alpha * s[2] + (1 - h->alpha) * g;
        v -= s[2] * s[2];
    }
    if (h->momentum > 0) {
        s[1] = h->momentum * s[1] + g / (sqrt(v) + h->eps);
        *p -= h->lr * s[1];
    } else {
        *p -= h->lr * g / (sqrt(v) + h->eps);
    }
}

/* torch.optim.Adagrad: s[0] = sum */
static void ref_adagrad(const mf_optim_hparams *h, int t, double *p, double g, double *s)
{
    g += h->weight_decay * *p;
    double clr = h->lr / (1 + (t - 1) * h->lr_decay);
    s[0] += g * g;
    *p -= clr * g / (sqrt(s[0]) + h->eps);
}

CTEST(sgd_matches_equations)
{
    mf_optim_hparams h;
    mf_optim_hparams_default(MF_OPTIM_SGD, &h);
    h.lr = 0.1;
    run_against(ctest_, MF_OPTIM_SGD, &h, ref_sgd, 4);
    h.momentum = 0.9;
    h.dampening = 0.3;
    h.weight_decay = 0.05;
    run_against(ctest_, MF_OPTIM_SGD, &h, ref_sgd, 4);
    h.dampening = 0;
    h.nesterov = 1;
    run_against(ctest_, MF_OPTIM_SGD, &h, ref_sgd, 4);
}

CTEST(adam_adamw_match_equations)
{
    mf_optim_hparams h;
    mf_optim_hparams_default(MF_OPTIM_ADAM, &h);
    h.lr = 0.05;
    run_against(ctest_, MF_OPTIM_ADAM, &h, ref_adam, 5);
    h.weight_decay = 0.1;
    h.amsgrad = 1;
    h.beta1 = 0.5;
    h.beta2 = 0.75;
    run_against(ctest_, MF_OPTIM_ADAM, &h, ref_adam, 5);
    mf_optim_hparams_default(MF_OPTIM_ADAMW, &h);
    h.lr = 0.05;
    h.weight_decay = 0.2;
    run_against(ctest_, MF_OPTIM_ADAMW, &h, ref_adamw, 5);
    h.amsgrad = 1;
    run_against(ctest_, MF_OPTIM_ADAMW, &h, ref_adamw, 5);
}

CTEST(rmsprop_adagrad_match_equations)
{
    mf_optim_hparams h;
    mf_optim_hparams_default(MF_OPTIM_RMSPROP, &h);
    run_against(ctest_, MF_OPTIM_RMSPROP, &h, ref_rmsprop, 5);
    h.centered = 1;
    h.momentum = 0.8;
    h.weight_decay = 0.1;
    h.alpha = 0.9;
    run_against(ctest_, MF_OPTIM_RMSPROP, &h, ref_rmsprop, 5);
    h.momentum = 0;
    run_against(ctest_, MF_OPTIM_RMSPROP, &h, ref_rmsprop, 5);
    mf_optim_hparams_default(MF_OPTIM_ADAGRAD, &h);
    h.lr = 0.5;
    run_against(ctest_, MF_OPTIM_ADAGRAD, &h, ref_adagrad, 5);
    h.lr_decay = 0.1;
    h.weight_decay = 0.01;
    h.initial_accumulator_value = 0.5;
    run_against(ctest_, MF_OPTIM_ADAGRAD, &h, ref_adagrad, 5);
}

/* float32 parameters: float math, close to the float64 result. */
CTEST(float32_close_to_float64)
{
    mf_optim_hparams h;
    mf_optim_hparams_default(MF_OPTIM_ADAM, &h);
    h.lr = 0.01;
    mf_tensor *p64 = vec64(3, P0), *g64 = vec64(3, P0), *p32, *g32;
    CHECK_OK(mf_tensor_to(&p32, p64, MF_FLOAT32));
    CHECK_OK(mf_tensor_to(&g32, g64, MF_FLOAT32));
    mf_optim_slot s[2];
    slot_init(&s[0], MF_OPTIM_ADAM, &h, p64, g64);
    slot_init(&s[1], MF_OPTIM_ADAM, &h, p32, g32); /* one group, two dtypes */
    CHECK_INT(s[1].state[0]->dtype, MF_FLOAT32);
    for (int t = 1; t <= 10; t++) {
        set_grad(g64, t);
        CHECK_OK(mf_tensor_copy_(g32, g64));
        CHECK_OK(mf_optim_step(MF_OPTIM_ADAM, &h, 2, s));
    }
    for (int i = 0; i < 3; i++) CHECK_NEAR(el(p32, i), el(p64, i), 1e-5);
    for (int k = 0; k < 2; k++) slot_free(&s[k]);
    mf_tensor_release(p64);
    mf_tensor_release(g64);
    mf_tensor_release(p32);
    mf_tensor_release(g32);
}

CTEST(skips_slots_without_grad_and_strided_params)
{
    mf_optim_hparams h;
    mf_optim_hparams_default(MF_OPTIM_SGD, &h);
    h.lr = 1;
    /* a 2x3 parameter seen transposed (3x2, strided), a gradient of ones */
    mf_tensor *base, *pt, *q = vec64(3, P0);
    CHECK_OK(mf_tensor_arange(&base, MF_FLOAT64, 0, 6, 1));
    mf_tensor *b2;
    CHECK_OK(mf_tensor_view_as(&b2, base, 2, (int64_t[]){2, 3}));
    CHECK_OK(mf_tensor_transpose(&pt, b2, 0, 1));
    CHECK(!mf_tensor_is_contiguous(pt));
    /* gradient strided too: a transposed 2x3 of 0.5 */
    mf_tensor *g0, *gt;
    CHECK_OK(mf_tensor_full(&g0, MF_FLOAT64, 2, (int64_t[]){2, 3}, 0.5));
    CHECK_OK(mf_tensor_transpose(&gt, g0, 0, 1));
    mf_optim_slot s[2] = {{.param = q, .grad = NULL}, {.param = pt, .grad = gt}};
    unsigned long v0 = mf_tensor_version(base);
    CHECK_OK(mf_optim_step(MF_OPTIM_SGD, &h, 2, s));
    CHECK_INT(s[0].step, 0); /* skipped */
    CHECK_INT(s[1].step, 1);
    CHECK_NEAR(el(q, 0), 1.0, 0);
    for (int i = 0; i < 6; i++) CHECK_NEAR(el(base, i), i - 0.5, 0);
    CHECK(mf_tensor_version(base) > v0);
    mf_tensor_release(base);
    mf_tensor_release(b2);
    mf_tensor_release(pt);
    mf_tensor_release(g0);
    mf_tensor_release(gt);
    mf_tensor_release(q);
}

CTEST(bad_slots_change_nothing)
{
    mf_optim_hparams h;
    mf_optim_hparams_default(MF_OPTIM_ADAM, &h);
    mf_tensor *p = vec64(3, P0), *g = vec64(3, P0), *q = vec64(2, P0), *gq = vec64(2, P0);
    mf_optim_slot s[2];
    slot_init(&s[0], MF_OPTIM_ADAM, &h, p, g);
    slot_init(&s[1], MF_OPTIM_ADAM, &h, q, gq);
    mf_tensor_release(s[1].state[1]);
    s[1].state[1] = zeros_like(p); /* wrong shape */
    CHECK_ERR(mf_optim_step(MF_OPTIM_ADAM, &h, 2, s), MF_EINVAL, 4);
    CHECK(strstr(mf_error_get()->msg, "params[1]") != NULL);
    CHECK(strstr(mf_error_get()->msg, "exp_avg_sq") != NULL);
    CHECK_NEAR(el(p, 0), P0[0], 0); /* the first slot was not updated */
    CHECK_INT(s[0].step, 0);
    mf_tensor_release(s[1].state[1]);
    s[1].state[1] = NULL;
    CHECK_ERR(mf_optim_step(MF_OPTIM_ADAM, &h, 2, s), MF_EINVAL, 4);
    s[1].state[1] = zeros_like(q);
    s[1].grad = g; /* gradient of the wrong shape */
    CHECK_ERR(mf_optim_step(MF_OPTIM_ADAM, &h, 2, s), MF_EINVAL, 4);
    s[1].grad = gq;
    h.eps = -1;
    CHECK_ERR(mf_optim_step(MF_OPTIM_ADAM, &h, 2, s), MF_EINVAL, 2);
    h.eps = 1e-8;
    CHECK_OK(mf_optim_step(MF_OPTIM_ADAM, &h, 2, s));
    /* an int64 parameter */
    mf_tensor *ip;
    CHECK_OK(mf_tensor_zeros(&ip, MF_INT64, 1, (int64_t[]){3}));
    mf_optim_slot bad = {.param = ip, .grad = g};
    mf_optim_hparams_default(MF_OPTIM_SGD, &h);
    CHECK_ERR(mf_optim_step(MF_OPTIM_SGD, &h, 1, &bad), MF_EINVAL, 4);
    for (int k = 0; k < 2; k++) slot_free(&s[k]);
    mf_tensor_release(ip);
    mf_tensor_release(p);
    mf_tensor_release(g);
    mf_tensor_release(q);
    mf_tensor_release(gq);
}

CTEST(allocation_failure_changes_nothing)
{
    mf_optim_hparams h;
    mf_optim_hparams_default(MF_OPTIM_SGD, &h);
    h.lr = 1;
    mf_tensor *base, *pt, *g;
    CHECK_OK(mf_tensor_arange(&base, MF_FLOAT64, 0, 4, 1));
    mf_tensor *b2;
    CHECK_OK(mf_tensor_view_as(&b2, base, 2, (int64_t[]){2, 2}));
    CHECK_OK(mf_tensor_transpose(&pt, b2, 0, 1));
    CHECK_OK(mf_tensor_full(&g, MF_FLOAT64, 2, (int64_t[]){2, 2}, 1));
    mf_optim_slot s = {.param = pt, .grad = g};
    int failures = 0;
    for (long n = 1; n <= 20; n++) {
        mf_mem_fail_after(n);
        mf_status st = mf_optim_step(MF_OPTIM_SGD, &h, 1, &s);
        mf_mem_fail_after(0);
        if (st == MF_OK) break;
        failures++;
        CHECK_INT(st, MF_ENOMEM);
        CHECK_INT(s.step, 0);
        CHECK_NEAR(el(base, 3), 3, 0);
    }
    CHECK(failures > 0);
    CHECK_INT(s.step, 1);
    CHECK_NEAR(el(base, 3), 2, 0);
    mf_tensor_release(base);
    mf_tensor_release(b2);
    mf_tensor_release(pt);
    mf_tensor_release(g);
}

/* Moments of a unit whose gradient is 0 decay into subnormals: stored as 0. */
CTEST(denormals_flushed)
{
    mf_optim_hparams h;
    mf_optim_hparams_default(MF_OPTIM_ADAM, &h);
    mf_tensor *p, *g;
    CHECK_OK(mf_tensor_zeros(&p, MF_FLOAT32, 1, (int64_t[]){2}));
    CHECK_OK(mf_tensor_zeros(&g, MF_FLOAT32, 1, (int64_t[]){2}));
    mf_optim_slot s;
    slot_init(&s, MF_OPTIM_ADAM, &h, p, g);
    float *m = mf_tensor_data(s.state[0]), *v = mf_tensor_data(s.state[1]);
    m[0] = FLT_MIN * 1.05f; /* one step away from subnormal */
    v[0] = FLT_MIN * 1.0005f;
    m[1] = 1e-3f;
    v[1] = 1e-6f;
    CHECK_OK(mf_optim_step(MF_OPTIM_ADAM, &h, 1, &s));
    CHECK(m[0] == 0 && v[0] == 0);
    CHECK(m[1] > 0 && v[1] > 0);
    /* no flushing of the denominator when eps = 0 (would divide by zero) */
    h.eps = 0;
    m[0] = FLT_MIN * 0.5f;
    v[0] = FLT_MIN * 0.5f;
    CHECK_OK(mf_optim_step(MF_OPTIM_ADAM, &h, 1, &s));
    CHECK(v[0] > 0);
    CHECK(isfinite(el(p, 0)));
    slot_free(&s);
    mf_tensor_release(p);
    mf_tensor_release(g);
}

/* A group large enough to be split across threads gives the same values as
 * the same parameters stepped one at a time. */
CTEST(parallel_step_matches_serial)
{
    enum { N = 5, LEN = 40000 };
    mf_optim_hparams h;
    mf_optim_hparams_default(MF_OPTIM_ADAM, &h);
    h.amsgrad = 1;
    mf_optim_slot a[N], b[N];
    mf_tensor *pa[N], *pb[N], *g[N];
    int old = mf_num_threads();
    mf_set_num_threads(mf_num_cores());
    for (int k = 0; k < N; k++) {
        CHECK_OK(mf_tensor_arange(&pa[k], MF_FLOAT32, 0, LEN - 5000 * k, 1));
        CHECK_OK(mf_tensor_clone(&pb[k], pa[k]));
        CHECK_OK(mf_tensor_linspace(&g[k], MF_FLOAT32, -1, 1, LEN - 5000 * k));
        slot_init(&a[k], MF_OPTIM_ADAM, &h, pa[k], g[k]);
        slot_init(&b[k], MF_OPTIM_ADAM, &h, pb[k], g[k]);
    }
    for (int t = 0; t < 3; t++) {
        CHECK_OK(mf_optim_step(MF_OPTIM_ADAM, &h, N, a));
        for (int k = 0; k < N; k++) CHECK_OK(mf_optim_step(MF_OPTIM_ADAM, &h, 1, &b[k]));
    }
    for (int k = 0; k < N; k++) {
        CHECK(memcmp(mf_tensor_data(pa[k]), mf_tensor_data(pb[k]), mf_tensor_nbytes(pa[k])) == 0);
        slot_free(&a[k]);
        slot_free(&b[k]);
        mf_tensor_release(pa[k]);
        mf_tensor_release(pb[k]);
        mf_tensor_release(g[k]);
    }
    mf_set_num_threads(old);
}

CTEST(clip_grad_norm)
{
    mf_tensor *g1 = vec64(3, (double[]){3, 0, -4}), *g2 = vec64(2, (double[]){12, 0});
    mf_tensor *gs[3] = {g1, NULL, g2};
    double total;
    CHECK_OK(mf_clip_grad_norm_(3, gs, 100, 2, 0, &total));
    CHECK_NEAR(total, 13, 1e-12);
    CHECK_NEAR(el(g1, 0), 3, 0); /* below max_norm: unchanged */
    CHECK_OK(mf_clip_grad_norm_(3, gs, 1.3, 2, 0, &total));
    CHECK_NEAR(total, 13, 1e-12);
    double c = 1.3 / (13 + 1e-6);
    CHECK_NEAR(el(g1, 2), -4 * c, 1e-15);
    CHECK_NEAR(el(g2, 0), 12 * c, 1e-15);
    CHECK_OK(mf_clip_grad_norm_(3, gs, 1e9, INFINITY, 0, &total));
    CHECK_NEAR(total, 12 * c, 1e-15);
    CHECK_OK(mf_clip_grad_norm_(3, gs, 1e9, 1, 0, &total));
    CHECK_NEAR(total, 19 * c, 1e-12);
    CHECK_OK(mf_clip_grad_norm_(3, gs, 1e9, 3, 0, &total));
    CHECK_NEAR(total, cbrt(27 + 64 + 1728) * c, 1e-12);
    CHECK_OK(mf_clip_grad_norm_(0, NULL, 1, 2, 0, &total));
    CHECK_NEAR(total, 0, 0);
    CHECK_ERR(mf_clip_grad_norm_(3, gs, -1, 2, 0, &total), MF_EINVAL, 3);
    CHECK_ERR(mf_clip_grad_norm_(3, gs, 1, 0, 0, &total), MF_EINVAL, 4);
    /* non-finite: an error when asked, else scaled as PyTorch does */
    double *d = mf_tensor_data(g2);
    d[1] = NAN;
    CHECK_ERR(mf_clip_grad_norm_(3, gs, 1, 2, 1, &total), MF_EINVAL, 0);
    CHECK_NEAR(el(g1, 0), 3 * c, 1e-15); /* unchanged */
    CHECK_OK(mf_clip_grad_norm_(3, gs, 1, 2, 0, &total));
    CHECK(isnan(total) && isnan(el(g1, 0)));
    mf_tensor_release(g1);
    mf_tensor_release(g2);
}

CTEST(clip_grad_norm_strided_float32)
{
    mf_tensor *g, *gt;
    CHECK_OK(mf_tensor_full(&g, MF_FLOAT32, 2, (int64_t[]){2, 2}, 2));
    CHECK_OK(mf_tensor_transpose(&gt, g, 0, 1));
    double total;
    CHECK_OK(mf_clip_grad_norm_(1, &gt, 1, 2, 0, &total));
    CHECK_NEAR(total, 4, 1e-6);
    double v = NAN;
    CHECK_OK(mf_tensor_get(g, (int64_t[]){1, 0}, &v));
    CHECK_NEAR(v, 2.0 / (4 + 1e-6), 1e-6);
    mf_tensor_release(g);
    mf_tensor_release(gt);
}

const ctest_case ctest_optim[] = {
    CTEST_ENTRY(names_defaults_and_state_layout),
    CTEST_ENTRY(hyperparameter_checks),
    CTEST_ENTRY(sgd_matches_equations),
    CTEST_ENTRY(adam_adamw_match_equations),
    CTEST_ENTRY(rmsprop_adagrad_match_equations),
    CTEST_ENTRY(float32_close_to_float64),
    CTEST_ENTRY(skips_slots_without_grad_and_strided_params),
    CTEST_ENTRY(bad_slots_change_nothing),
    CTEST_ENTRY(allocation_failure_changes_nothing),
    CTEST_ENTRY(denormals_flushed),
    CTEST_ENTRY(parallel_step_matches_serial),
    CTEST_ENTRY(clip_grad_norm),
    CTEST_ENTRY(clip_grad_norm_strided_float32),
    {NULL, NULL},
};
