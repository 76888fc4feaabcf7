/* test_plan.c — the MLP fast path (mf_plan): losses and gradients against a
 * plain double-precision reference (forward loops and central finite
 * differences), the optimizer update against mf_optim_step, batches
 * through indices and strided tensors, errors, allocation counts, thread
 * counts and denormals. */
#include <float.h>
#include <string.h>

#include "ctest.h"
#include "moonforge.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <xmmintrin.h>
#define HAVE_MXCSR 1
#else
#define HAVE_MXCSR 0
#endif

/* ---------------------------------------------------------------- fixtures */
typedef struct net {
    int nl;
    mf_plan_layer layers[4];
    mf_plan_loss loss;
} net;

static mf_tensor *uniform(mf_dtype dt, int ndim, const int64_t *shape, double lo, double hi)
{
    mf_tensor *t = NULL;
    if (mf_tensor_new(&t, dt, ndim, shape) != MF_OK) return NULL;
    mf_tensor_uniform_(t, mf_rng_global(), lo, hi);
    return t;
}

/* widths[0] inputs, then one layer per following width. */
static void net_make(net *n, mf_dtype dt, int nl, const int64_t *widths, const mf_plan_act *acts,
                     mf_plan_loss loss, int with_bias)
{
    memset(n, 0, sizeof *n);
    n->nl = nl;
    n->loss = loss;
    for (int l = 0; l < nl; l++) {
        n->layers[l].weight = uniform(dt, 2, (int64_t[]){widths[l + 1], widths[l]}, -0.8, 0.8);
        n->layers[l].bias = with_bias ? uniform(dt, 1, &widths[l + 1], -0.3, 0.3) : NULL;
        n->layers[l].act = acts[l];
    }
}

static void net_free(net *n)
{
    for (int l = 0; l < n->nl; l++) {
        mf_tensor_release(n->layers[l].weight);
        mf_tensor_release(n->layers[l].bias);
    }
}

static double at(const mf_tensor *t, int64_t i, int64_t j)
{
    double v = NAN;
    if (t->ndim == 1) mf_tensor_get(t, (int64_t[]){i}, &v);
    else mf_tensor_get(t, (int64_t[]){i, j}, &v);
    return v;
}

static int64_t at_i64(const mf_tensor *t, int64_t i)
{
    int64_t v = -1;
    mf_tensor_get_i64(t, &i, &v);
    return v;
}

/* Targets for the loss: rows of n x c. */
static mf_tensor *targets(mf_plan_loss loss, int64_t n, int64_t c, mf_dtype dt)
{
    mf_tensor *y = NULL;
    if (loss == MF_PLAN_SPARSE_CCE) {
        mf_tensor_new(&y, MF_INT64, 1, (int64_t[]){n});
        for (int64_t i = 0; i < n; i++) mf_tensor_set_i64(y, (int64_t[]){i}, (i * 7 + 3) % c);
        return y;
    }
    mf_tensor_new(&y, dt, 2, (int64_t[]){n, c});
    for (int64_t i = 0; i < n; i++) {
        double s = 0;
        for (int64_t j = 0; j < c; j++) {
            double v;
            switch (loss) {
            case MF_PLAN_BCE: v = (i + j) % 3 == 0 ? 1.0 : (i + j) % 3 == 1 ? 0.0 : 0.3; break;
            case MF_PLAN_CCE: v = 1.0 + (double)((i * 5 + j * 3) % 7); s += v; break;
            case MF_PLAN_HUBER: v = 3.0 * sin((double)(i * c + j)); break; /* both sides of delta */
            default: v = 0.7 * cos((double)(i * c + j)); break;
            }
            mf_tensor_set(y, (int64_t[]){i, j}, v);
        }
        if (loss == MF_PLAN_CCE)
            for (int64_t j = 0; j < c; j++) mf_tensor_set(y, (int64_t[]){i, j}, at(y, i, j) / s);
    }
    return y;
}

/* ---------------------------------------------------------------- reference */
static double ref_act(mf_plan_act a, double z)
{
    switch (a) {
    case MF_PLAN_RELU: return z > 0 ? z : 0;
    case MF_PLAN_SIGMOID: return 1 / (1 + exp(-z));
    case MF_PLAN_TANH: return tanh(z);
    default: return z;
    }
}

#define RMAX 128

/* The mean loss over rows[0 .. count) of x, in double, straight from the
 * definitions; outputs of the last row into last_out (after activation). */
static double ref_loss(const net *n, const mf_tensor *x, const mf_tensor *y, const int64_t *rows,
                       int64_t count, double *last_out)
{
    double total = 0;
    for (int64_t r = 0; r < count; r++) {
        double a[RMAX], z[RMAX] = {0};
        int64_t w = x->shape[1];
        for (int64_t i = 0; i < w; i++) a[i] = at(x, rows[r], i);
        for (int l = 0; l < n->nl; l++) {
            const mf_tensor *W = n->layers[l].weight, *b = n->layers[l].bias;
            int64_t out = W->shape[0];
            for (int64_t o = 0; o < out; o++) {
                z[o] = b ? at(b, o, 0) : 0;
                for (int64_t i = 0; i < w; i++) z[o] += at(W, o, i) * a[i];
            }
            w = out;
            int last = l == n->nl - 1;
            for (int64_t o = 0; o < out; o++)
                a[o] = last && n->layers[l].act == MF_PLAN_SOFTMAX ? z[o] : ref_act(n->layers[l].act, z[o]);
        }
        /* a: outputs (logits for softmax), z: pre-activations */
        double l = 0;
        if (n->loss == MF_PLAN_CCE || n->loss == MF_PLAN_SPARSE_CCE) {
            double mx = z[0], s = 0;
            for (int64_t c = 1; c < w; c++) mx = z[c] > mx ? z[c] : mx;
            for (int64_t c = 0; c < w; c++) s += exp(z[c] - mx);
            for (int64_t c = 0; c < w; c++) {
                double logp = z[c] - mx - log(s);
                double t = n->loss == MF_PLAN_CCE ? at(y, rows[r], c) : (at_i64(y, rows[r]) == c);
                l -= t * logp;
                a[c] = exp(logp);
            }
        } else {
            for (int64_t c = 0; c < w; c++) {
                double t = at(y, rows[r], c), d = a[c] - t;
                switch (n->loss) {
                case MF_PLAN_BCE: l -= t * log(a[c]) + (1 - t) * log(1 - a[c]); break;
                case MF_PLAN_MSE: l += d * d; break;
                case MF_PLAN_MAE: l += fabs(d); break;
                default: l += fabs(d) <= 1 ? 0.5 * d * d : fabs(d) - 0.5; break;
                }
            }
            l /= (double)w;
        }
        total += l;
        if (last_out && r == count - 1) memcpy(last_out, a, sizeof(double) * (size_t)w);
    }
    return total / (double)count;
}

/* Every parameter of n in the plan's order. */
static int net_params(const net *n, mf_tensor **out)
{
    int k = 0;
    for (int l = 0; l < n->nl; l++) {
        out[k++] = n->layers[l].weight;
        if (n->layers[l].bias) out[k++] = n->layers[l].bias;
    }
    return k;
}

/* Plan gradients (float64) against central differences of ref_loss, and
 * the plan's loss against ref_loss. */
static void check_against_reference(ctest_ctx *ctest_, const mf_plan_act *acts, mf_plan_loss loss,
                                    int64_t nout)
{
    const int64_t widths[4] = {5, 4, 3, nout};
    net n;
    net_make(&n, MF_FLOAT64, 3, widths, acts, loss, 1);
    mf_tensor *x = uniform(MF_FLOAT64, 2, (int64_t[]){9, 5}, -1.5, 1.5);
    mf_tensor *y = targets(loss, 9, nout, MF_FLOAT64);
    mf_plan *p = NULL;
    CHECK_OK(mf_plan_new(&p, 3, n.layers, loss));
    if (!p) return;
    int64_t rows[6] = {3, 0, 8, 5, 5, 1}; /* shuffled, one row twice */
    mf_tensor *idx = NULL;
    CHECK_OK(mf_tensor_new(&idx, MF_INT64, 1, (int64_t[]){8}));
    int64_t *ip = mf_tensor_data(idx);
    ip[0] = 7;
    ip[1] = 2;
    for (int i = 0; i < 6; i++) ip[i + 2] = rows[i];
    mf_plan_batch b = {x, y, idx, 2, 6, 0};
    mf_plan_stats st;
    CHECK_OK(mf_plan_gradients(p, &b, &st));
    CHECK_INT(st.count, 6);
    double want = ref_loss(&n, x, y, rows, 6, NULL);
    CHECK_NEAR(st.loss / 6, want, 1e-12 * (1 + fabs(want)));
    mf_tensor *params[8];
    int np = net_params(&n, params);
    CHECK_INT(mf_plan_num_params(p), np);
    for (int k = 0; k < np; k++) {
        mf_tensor *w = params[k], *g = mf_plan_grad(p, k);
        CHECK(mf_plan_param(p, k) == w);
        double *wd = mf_tensor_data(w), *gd = mf_tensor_data(g);
        for (int64_t i = 0; i < mf_tensor_numel(w); i++) {
            double keep = wd[i], h = 1e-6;
            wd[i] = keep + h;
            double up = ref_loss(&n, x, y, rows, 6, NULL);
            wd[i] = keep - h;
            double down = ref_loss(&n, x, y, rows, 6, NULL);
            wd[i] = keep;
            double fd = (up - down) / (2 * h);
            if (!(fabs(gd[i] - fd) <= 1e-7 * (1 + fabs(fd))))
                CTEST_FAIL_("loss %s, param %d element %lld: gradient %.12g, finite difference %.12g",
                            mf_plan_loss_name(loss), k + 1, (long long)i, gd[i], fd);
        }
    }
    mf_plan_free(p);
    mf_tensor_release(idx);
    mf_tensor_release(x);
    mf_tensor_release(y);
    net_free(&n);
}

/* ---------------------------------------------------------------- cases */
CTEST(names)
{
    CHECK_STR(mf_plan_act_name(MF_PLAN_TANH), "tanh");
    CHECK(mf_plan_act_name(MF_PLAN_ACT_COUNT) == NULL);
    CHECK_INT(mf_plan_act_from_name("softmax"), MF_PLAN_SOFTMAX);
    CHECK_INT(mf_plan_act_from_name("gelu"), MF_PLAN_ACT_COUNT);
    CHECK_INT(mf_plan_act_from_name(NULL), MF_PLAN_ACT_COUNT);
    CHECK_STR(mf_plan_loss_name(MF_PLAN_SPARSE_CCE), "sparse_categorical_crossentropy");
    CHECK_INT(mf_plan_loss_from_name("binary_crossentropy"), MF_PLAN_BCE);
    CHECK_INT(mf_plan_loss_from_name("bce"), MF_PLAN_LOSS_COUNT);
}

CTEST(gradients_match_finite_differences)
{
    const mf_plan_act a1[3] = {MF_PLAN_RELU, MF_PLAN_TANH, MF_PLAN_SIGMOID};
    const mf_plan_act a2[3] = {MF_PLAN_TANH, MF_PLAN_SIGMOID, MF_PLAN_SOFTMAX};
    const mf_plan_act a3[3] = {MF_PLAN_SIGMOID, MF_PLAN_RELU, MF_PLAN_IDENTITY};
    const mf_plan_act a4[3] = {MF_PLAN_RELU, MF_PLAN_RELU, MF_PLAN_TANH};
    const mf_plan_act a5[3] = {MF_PLAN_IDENTITY, MF_PLAN_TANH, MF_PLAN_RELU};
    mf_rng_seed(mf_rng_global(), 11);
    check_against_reference(ctest_, a1, MF_PLAN_BCE, 1);
    check_against_reference(ctest_, a1, MF_PLAN_BCE, 3); /* multi-label, soft targets */
    check_against_reference(ctest_, a2, MF_PLAN_CCE, 4);
    check_against_reference(ctest_, a2, MF_PLAN_SPARSE_CCE, 4);
    check_against_reference(ctest_, a3, MF_PLAN_MSE, 2);
    check_against_reference(ctest_, a4, MF_PLAN_MAE, 2);
    check_against_reference(ctest_, a3, MF_PLAN_HUBER, 3);
    check_against_reference(ctest_, a5, MF_PLAN_MSE, 1);
    check_against_reference(ctest_, a1, MF_PLAN_MSE, 1); /* sigmoid head, mse */
}

/* float32 (hand-written kernels where the CPU has them, and forced BLAS)
 * against float64 on the same values; forward outputs against the
 * reference. Odd sizes: masked vector tails, several column panels, row
 * tiles with remainders. */
static void check_float32(ctest_ctx *ctest_, const mf_plan_act *acts, mf_plan_loss loss, int64_t nout)
{
    const int64_t widths[4] = {37, 70, 19, nout};
    const int64_t N = 45;
    net n64, n32;
    net_make(&n64, MF_FLOAT64, 3, widths, acts, loss, 1);
    n32 = n64;
    for (int l = 0; l < 3; l++) {
        CHECK_OK(mf_tensor_to(&n32.layers[l].weight, n64.layers[l].weight, MF_FLOAT32));
        CHECK_OK(mf_tensor_to(&n32.layers[l].bias, n64.layers[l].bias, MF_FLOAT32));
    }
    mf_tensor *x64 = uniform(MF_FLOAT64, 2, (int64_t[]){N, 37}, -1, 1), *x32 = NULL;
    CHECK_OK(mf_tensor_to(&x32, x64, MF_FLOAT32));
    mf_tensor *y = targets(loss, N, nout, MF_FLOAT64);
    mf_plan *p64 = NULL, *p32 = NULL;
    CHECK_OK(mf_plan_new(&p64, 3, n64.layers, loss));
    CHECK_OK(mf_plan_new(&p32, 3, n32.layers, loss));
    CHECK_INT(mf_plan_native(p64), 0);
    CHECK_INT(mf_plan_dtype(p32), MF_FLOAT32);
    CHECK_INT(mf_plan_in_features(p32), 37);
    CHECK_INT(mf_plan_out_features(p32), nout);
    mf_plan_batch b64 = {x64, y, NULL, 0, N, 0}, b32 = {x32, y, NULL, 0, N, 0};
    mf_plan_stats s64, s32;
    CHECK_OK(mf_plan_gradients(p64, &b64, &s64));
    for (int native = 1; native >= 0; native--) {
        mf_plan_set_native(p32, native);
        CHECK_OK(mf_plan_gradients(p32, &b32, &s32));
        CHECK_NEAR(s32.loss, s64.loss, 1e-5 * fabs(s64.loss));
        CHECK(s32.correct == s64.correct || (isnan(s32.correct) && isnan(s64.correct)));
        for (int k = 0; k < 6; k++) {
            mf_tensor *g64 = mf_plan_grad(p64, k), *g32 = mf_plan_grad(p32, k);
            const double *d64 = mf_tensor_data(g64);
            const float *d32 = mf_tensor_data(g32);
            double scale = 0;
            for (int64_t i = 0; i < mf_tensor_numel(g64); i++) scale = fmax(scale, fabs(d64[i]));
            for (int64_t i = 0; i < mf_tensor_numel(g64); i++)
                if (!(fabs(d32[i] - d64[i]) <= 1e-5 * scale))
                    CTEST_FAIL_("%s, native %d, param %d element %lld: %g vs %g", mf_plan_loss_name(loss),
                                native, k + 1, (long long)i, (double)d32[i], d64[i]);
        }
    }
    /* forward: outputs after the last activation (forward reserves >= 256 rows) */
    mf_tensor *o32 = NULL, *o64 = NULL;
    CHECK_OK(mf_plan_forward(&o32, p32, x32));
    CHECK_OK(mf_plan_forward(&o64, p64, x64));
    if (o32 && o64) {
        CHECK_INT(o32->shape[0], N);
        CHECK_INT(o32->shape[1], nout);
        double out[RMAX];
        int64_t row = N - 1;
        ref_loss(&n64, x64, y, &row, 1, out);
        for (int c = 0; c < nout; c++) {
            CHECK_NEAR(at(o64, N - 1, c), out[c], 1e-12);
            CHECK_NEAR(at(o32, N - 1, c), out[c], 1e-5);
        }
    }
    mf_tensor_release(o32);
    mf_tensor_release(o64);
    mf_plan_free(p32);
    mf_plan_free(p64);
    for (int l = 0; l < 3; l++) {
        mf_tensor_release(n32.layers[l].weight);
        mf_tensor_release(n32.layers[l].bias);
    }
    net_free(&n64);
    mf_tensor_release(x64);
    mf_tensor_release(x32);
    mf_tensor_release(y);
}

CTEST(float32_matches_float64)
{
    const mf_plan_act a1[3] = {MF_PLAN_RELU, MF_PLAN_RELU, MF_PLAN_SOFTMAX};
    const mf_plan_act a2[3] = {MF_PLAN_TANH, MF_PLAN_SIGMOID, MF_PLAN_SIGMOID};
    const mf_plan_act a3[3] = {MF_PLAN_RELU, MF_PLAN_IDENTITY, MF_PLAN_TANH};
    mf_rng_seed(mf_rng_global(), 3);
    check_float32(ctest_, a1, MF_PLAN_SPARSE_CCE, 5);
    check_float32(ctest_, a1, MF_PLAN_CCE, 17);
    check_float32(ctest_, a2, MF_PLAN_BCE, 3);
    check_float32(ctest_, a3, MF_PLAN_HUBER, 2);
}

/* Rows through 1-based indices from strided x and y (a transposed x, a
 * column of a wider y) give what contiguous copies of the rows give. */
CTEST(strided_batches_and_indices)
{
    const mf_plan_act acts[2] = {MF_PLAN_TANH, MF_PLAN_SIGMOID};
    const int64_t widths[3] = {6, 8, 1};
    mf_rng_seed(mf_rng_global(), 5);
    for (int dt = 0; dt < 2; dt++) {
        net n;
        net_make(&n, dt ? MF_FLOAT64 : MF_FLOAT32, 2, widths, acts, MF_PLAN_BCE, 1);
        mf_plan *p = NULL;
        CHECK_OK(mf_plan_new(&p, 2, n.layers, MF_PLAN_BCE));
        /* xt is [6 x 20]; its transpose is the strided [20 x 6] input */
        mf_tensor *xt = uniform(MF_FLOAT64, 2, (int64_t[]){6, 20}, -2, 2), *x = NULL, *xc = NULL;
        CHECK_OK(mf_tensor_transpose(&x, xt, 0, 1));
        mf_tensor *wide = targets(MF_PLAN_BCE, 20, 3, MF_FLOAT32), *ycol = NULL, *yc = NULL;
        CHECK_OK(mf_tensor_narrow(&ycol, wide, 1, 2, 1));
        mf_tensor *idx = NULL;
        CHECK_OK(mf_tensor_new(&idx, MF_INT64, 1, (int64_t[]){5}));
        int64_t pick[5] = {20, 1, 7, 7, 13}; /* 1-based */
        memcpy(mf_tensor_data(idx), pick, sizeof pick);
        /* contiguous copies of those rows, in order */
        CHECK_OK(mf_tensor_new(&xc, MF_FLOAT64, 2, (int64_t[]){4, 6}));
        CHECK_OK(mf_tensor_new(&yc, MF_FLOAT32, 2, (int64_t[]){4, 1}));
        for (int r = 0; r < 4; r++) {
            for (int c = 0; c < 6; c++) mf_tensor_set(xc, (int64_t[]){r, c}, at(x, pick[r + 1] - 1, c));
            mf_tensor_set(yc, (int64_t[]){r, 0}, at(ycol, pick[r + 1] - 1, 0));
        }
        mf_plan_batch bs = {x, ycol, idx, 1, 4, 1}, bc = {xc, yc, NULL, 0, 4, 0};
        mf_plan_stats s1, s2;
        CHECK_OK(mf_plan_gradients(p, &bs, &s1));
        mf_tensor *g1 = NULL;
        CHECK_OK(mf_tensor_clone(&g1, mf_plan_grad(p, 0)));
        CHECK_OK(mf_plan_gradients(p, &bc, &s2));
        CHECK_NEAR(s1.loss, s2.loss, 0);
        if (g1) CHECK(memcmp(mf_tensor_data(g1), mf_tensor_data(mf_plan_grad(p, 0)), mf_tensor_nbytes(g1)) == 0);
        /* a 1-D target works for one output */
        mf_tensor *y1 = NULL;
        CHECK_OK(mf_tensor_view_as(&y1, yc, 1, (int64_t[]){4}));
        mf_plan_batch b1 = {xc, y1, NULL, 0, 4, 0};
        CHECK_OK(mf_plan_gradients(p, &b1, &s2));
        CHECK_NEAR(s1.loss, s2.loss, 0);
        mf_tensor_release(y1);
        mf_tensor_release(g1);
        mf_tensor_release(idx);
        mf_tensor_release(xc);
        mf_tensor_release(yc);
        mf_tensor_release(x);
        mf_tensor_release(xt);
        mf_tensor_release(ycol);
        mf_tensor_release(wide);
        mf_plan_free(p);
        net_free(&n);
    }
}

CTEST(bad_layers)
{
    const mf_plan_act relu3[3] = {MF_PLAN_RELU, MF_PLAN_RELU, MF_PLAN_SIGMOID};
    const int64_t widths[4] = {4, 3, 2, 1};
    net n;
    mf_plan *p = (mf_plan *)1;
    net_make(&n, MF_FLOAT32, 3, widths, relu3, MF_PLAN_BCE, 1);
    CHECK_ERR(mf_plan_new(&p, 0, n.layers, MF_PLAN_BCE), MF_EINVAL, 1);
    CHECK(p == NULL);
    CHECK_ERR(mf_plan_new(&p, 3, n.layers, MF_PLAN_LOSS_COUNT), MF_EINVAL, 2);
    /* loss and last activation */
    CHECK_ERR(mf_plan_new(&p, 2, n.layers, MF_PLAN_BCE), MF_EINVAL, 2);
    CHECK(strstr(mf_error_get()->msg, "sigmoid") != NULL);
    CHECK_ERR(mf_plan_new(&p, 3, n.layers, MF_PLAN_CCE), MF_EINVAL, 2);
    n.layers[2].act = MF_PLAN_SOFTMAX;
    CHECK_ERR(mf_plan_new(&p, 3, n.layers, MF_PLAN_CCE), MF_EINVAL, 2); /* one output */
    CHECK_ERR(mf_plan_new(&p, 3, n.layers, MF_PLAN_MSE), MF_EINVAL, 2);
    n.layers[2].act = MF_PLAN_SIGMOID;
    n.layers[0].act = MF_PLAN_SOFTMAX;
    CHECK_ERR(mf_plan_new(&p, 3, n.layers, MF_PLAN_BCE), MF_EINVAL, 1);
    CHECK(strstr(mf_error_get()->msg, "layer 1") != NULL);
    n.layers[0].act = MF_PLAN_RELU;
    /* shapes: a chain that does not fit */
    mf_plan_layer bad[3] = {n.layers[0], n.layers[2], n.layers[1]};
    CHECK_ERR(mf_plan_new(&p, 3, bad, MF_PLAN_BCE), MF_EINVAL, 1);
    CHECK(strstr(mf_error_get()->msg, "[1x2]") != NULL && strstr(mf_error_get()->msg, "layer 2") != NULL);
    /* strided weight, wrong bias, mixed dtypes, tied weights */
    mf_tensor *wt = NULL, *w64 = NULL, *b2 = NULL;
    CHECK_OK(mf_tensor_transpose(&wt, n.layers[1].weight, 0, 1)); /* [2x3] */
    mf_plan_layer one = {wt, NULL, MF_PLAN_SIGMOID};
    CHECK_ERR(mf_plan_new(&p, 1, &one, MF_PLAN_BCE), MF_EINVAL, 1);
    CHECK(strstr(mf_error_get()->msg, "contiguous") != NULL);
    one.weight = n.layers[2].weight;
    one.bias = n.layers[1].bias; /* [2] for one output */
    CHECK_ERR(mf_plan_new(&p, 1, &one, MF_PLAN_BCE), MF_EINVAL, 1);
    CHECK_OK(mf_tensor_to(&w64, n.layers[1].weight, MF_FLOAT64));
    mf_plan_layer mixed[3] = {n.layers[0], {w64, NULL, MF_PLAN_RELU}, n.layers[2]};
    CHECK_ERR(mf_plan_new(&p, 3, mixed, MF_PLAN_BCE), MF_EINVAL, 1);
    CHECK(strstr(mf_error_get()->msg, "float64") != NULL);
    CHECK_OK(mf_tensor_zeros(&b2, MF_FLOAT32, 2, (int64_t[]){3, 3}));
    mf_plan_layer tied[2] = {{b2, NULL, MF_PLAN_RELU}, {b2, NULL, MF_PLAN_IDENTITY}};
    CHECK_ERR(mf_plan_new(&p, 2, tied, MF_PLAN_MSE), MF_EINVAL, 1);
    CHECK(strstr(mf_error_get()->msg, "tied") != NULL);
    CHECK(p == NULL);
    mf_tensor_release(wt);
    mf_tensor_release(w64);
    mf_tensor_release(b2);
    net_free(&n);
}

CTEST(bad_batches)
{
    const mf_plan_act acts[2] = {MF_PLAN_RELU, MF_PLAN_SOFTMAX};
    const int64_t widths[3] = {3, 4, 3};
    net n;
    net_make(&n, MF_FLOAT32, 2, widths, acts, MF_PLAN_SPARSE_CCE, 1);
    mf_plan *p = NULL;
    CHECK_OK(mf_plan_new(&p, 2, n.layers, MF_PLAN_SPARSE_CCE));
    mf_tensor *x = uniform(MF_FLOAT32, 2, (int64_t[]){10, 3}, -1, 1);
    mf_tensor *x4 = uniform(MF_FLOAT32, 2, (int64_t[]){10, 4}, -1, 1);
    mf_tensor *xi = NULL, *y = targets(MF_PLAN_SPARSE_CCE, 10, 3, MF_FLOAT32), *yf = NULL;
    mf_tensor *y9 = targets(MF_PLAN_SPARSE_CCE, 9, 3, MF_FLOAT32), *idx = NULL, *idxf = NULL;
    CHECK_OK(mf_tensor_zeros(&xi, MF_INT64, 2, (int64_t[]){10, 3}));
    CHECK_OK(mf_tensor_zeros(&yf, MF_FLOAT32, 1, (int64_t[]){10}));
    CHECK_OK(mf_tensor_arange(&idx, MF_INT64, 1, 11, 1)); /* 1-based */
    for (int64_t i = 0; i < 10; i++) mf_tensor_set_i64(y, &i, at_i64(y, i) + 1); /* classes 1..3 */
    CHECK_OK(mf_tensor_zeros(&idxf, MF_FLOAT32, 1, (int64_t[]){10}));
    mf_plan_batch b = {x, y, idx, 0, 4, 1};
    CHECK_OK(mf_plan_gradients(p, &b, NULL));
    b.x = x4;
    CHECK_ERR(mf_plan_gradients(p, &b, NULL), MF_EINVAL, 2);
    CHECK(strstr(mf_error_get()->msg, "[10x4]") != NULL && strstr(mf_error_get()->msg, "[N x 3]") != NULL);
    b.x = xi;
    CHECK_ERR(mf_plan_gradients(p, &b, NULL), MF_EINVAL, 2);
    b.x = x;
    b.y = yf;
    CHECK_ERR(mf_plan_gradients(p, &b, NULL), MF_EINVAL, 3);
    CHECK(strstr(mf_error_get()->msg, "int64") != NULL);
    b.y = y9;
    CHECK_ERR(mf_plan_gradients(p, &b, NULL), MF_EINVAL, 3);
    b.y = y;
    b.idx = idxf;
    CHECK_ERR(mf_plan_gradients(p, &b, NULL), MF_EINVAL, 4);
    b.idx = idx;
    b.first = 10;
    CHECK_ERR(mf_plan_gradients(p, &b, NULL), MF_ERANGE, 5);
    CHECK(strstr(mf_error_get()->msg, "11") != NULL && strstr(mf_error_get()->msg, "1..10") != NULL);
    b.first = 8;
    b.count = 3;
    CHECK_ERR(mf_plan_gradients(p, &b, NULL), MF_ERANGE, 6);
    b.count = 0;
    CHECK_ERR(mf_plan_gradients(p, &b, NULL), MF_ERANGE, 6);
    b.first = 0;
    b.count = 4;
    ((int64_t *)mf_tensor_data(idx))[2] = 11;
    CHECK_ERR(mf_plan_gradients(p, &b, NULL), MF_ERANGE, 4);
    CHECK(strstr(mf_error_get()->msg, "indices[3] = 11") != NULL);
    ((int64_t *)mf_tensor_data(idx))[2] = 3;
    mf_tensor_set_i64(y, (int64_t[]){1}, 4); /* classes are 1..3 with base 1 */
    CHECK_ERR(mf_plan_gradients(p, &b, NULL), MF_ERANGE, 3);
    CHECK(strstr(mf_error_get()->msg, "class index 4") != NULL && strstr(mf_error_get()->msg, "row 2") != NULL);
    b.base = 0; /* row numbers 0-based: idx 10 is out of range */
    b.first = 6;
    CHECK_ERR(mf_plan_gradients(p, &b, NULL), MF_ERANGE, 4);
    CHECK(strstr(mf_error_get()->msg, "indices[9] = 10") != NULL && strstr(mf_error_get()->msg, "0..9") != NULL);
    mf_tensor *o = NULL;
    CHECK_ERR(mf_plan_forward(&o, p, x4), MF_EINVAL, 2);
    CHECK(o == NULL);
    CHECK_ERR(mf_plan_reserve(p, 0), MF_EINVAL, 2);
    mf_plan_free(p);
    mf_tensor *all[] = {x, x4, xi, y, yf, y9, idx, idxf};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) mf_tensor_release(all[i]);
    net_free(&n);
}

/* ---------------------------------------------------------------- update */
typedef struct optcase {
    mf_optim_algo algo;
    void (*set)(mf_optim_hparams *h);
} optcase;

static void h_none(mf_optim_hparams *h) { (void)h; }
static void h_sgd(mf_optim_hparams *h) { h->lr = 0.05; h->momentum = 0.9; h->dampening = 0.1; h->weight_decay = 0.01; }
static void h_nesterov(mf_optim_hparams *h) { h->lr = 0.05; h->momentum = 0.8; h->nesterov = 1; }
static void h_adam(mf_optim_hparams *h) { h->lr = 0.01; h->weight_decay = 0.02; h->beta1 = 0.6; }
static void h_amsgrad(mf_optim_hparams *h) { h->amsgrad = 1; h->lr = 0.02; }
static void h_rms(mf_optim_hparams *h) { h->momentum = 0.5; h->centered = 1; }

/* The plan's update is bitwise mf_optim_step's on the same gradients. */
CTEST(update_matches_mf_optim_step)
{
    const optcase cases[] = {
        {MF_OPTIM_SGD, h_none},     {MF_OPTIM_SGD, h_sgd},      {MF_OPTIM_SGD, h_nesterov},
        {MF_OPTIM_ADAM, h_none},    {MF_OPTIM_ADAM, h_adam},    {MF_OPTIM_ADAM, h_amsgrad},
        {MF_OPTIM_ADAMW, h_none},   {MF_OPTIM_ADAMW, h_amsgrad}, {MF_OPTIM_RMSPROP, h_rms},
        {MF_OPTIM_ADAGRAD, h_none},
    };
    const mf_plan_act acts[3] = {MF_PLAN_RELU, MF_PLAN_TANH, MF_PLAN_IDENTITY};
    const int64_t widths[4] = {7, 33, 18, 2}; /* 33 x 18: a vector tail in every row */
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int dt = 0; dt < 2; dt++) {
            mf_dtype dtype = dt ? MF_FLOAT64 : MF_FLOAT32;
            mf_rng_seed(mf_rng_global(), 21 + c);
            net n;
            net_make(&n, dtype, 3, widths, acts, MF_PLAN_MSE, 1);
            mf_plan *p = NULL;
            CHECK_OK(mf_plan_new(&p, 3, n.layers, MF_PLAN_MSE));
            mf_tensor *x = uniform(dtype, 2, (int64_t[]){12, 7}, -1, 1);
            mf_tensor *y = targets(MF_PLAN_MSE, 12, 2, dtype);
            mf_optim_hparams h[6];
            mf_optim_slot sp[6], sr[6];
            mf_tensor *ref[6], *grads[6];
            int np = mf_plan_num_params(p);
            for (int k = 0; k < np; k++) {
                mf_optim_hparams_default(cases[c].algo, &h[k]);
                cases[c].set(&h[k]);
                memset(&sp[k], 0, sizeof sp[k]);
                memset(&sr[k], 0, sizeof sr[k]);
                sp[k].param = mf_plan_param(p, k);
                CHECK_OK(mf_tensor_clone(&ref[k], sp[k].param));
                CHECK_OK(mf_tensor_clone(&grads[k], mf_plan_grad(p, k)));
                sr[k].param = ref[k];
                sr[k].grad = grads[k];
                sp[k].fresh = sr[k].fresh = 1;
                for (int q = 0; q < mf_optim_state_count(cases[c].algo, &h[k]); q++) {
                    double v = mf_optim_state_init(cases[c].algo, &h[k], q);
                    CHECK_OK(mf_tensor_full(&sp[k].state[q], dtype, sp[k].param->ndim, sp[k].param->shape, v));
                    CHECK_OK(mf_tensor_full(&sr[k].state[q], dtype, sp[k].param->ndim, sp[k].param->shape, v));
                }
            }
            for (int step = 0; step < 4; step++) {
                mf_plan_batch b = {x, y, NULL, step, 8, 0};
                unsigned long v0 = mf_tensor_version(sp[0].param);
                CHECK_OK(mf_plan_train_batch(p, &b, cases[c].algo, h, sp, NULL));
                CHECK(mf_tensor_version(sp[0].param) > v0);
                for (int k = 0; k < np; k++) {
                    CHECK_OK(mf_tensor_copy_(grads[k], mf_plan_grad(p, k)));
                    CHECK_OK(mf_optim_step(cases[c].algo, &h[k], 1, &sr[k]));
                    CHECK_INT(sp[k].step, step + 1);
                    CHECK_INT(sp[k].fresh, 0);
                    if (memcmp(mf_tensor_data(ref[k]), mf_tensor_data(sp[k].param), mf_tensor_nbytes(ref[k])) != 0)
                        CTEST_FAIL_("%s case %zu %s step %d: parameter %d differs from mf_optim_step",
                                    mf_optim_algo_name(cases[c].algo), c, mf_dtype_name(dtype), step + 1, k + 1);
                    for (int q = 0; q < mf_optim_state_count(cases[c].algo, &h[k]); q++)
                        if (memcmp(mf_tensor_data(sr[k].state[q]), mf_tensor_data(sp[k].state[q]),
                                   mf_tensor_nbytes(sr[k].state[q])) != 0)
                            CTEST_FAIL_("%s case %zu: state %d of parameter %d differs", mf_optim_algo_name(cases[c].algo),
                                        c, q, k + 1);
                }
            }
            for (int k = 0; k < np; k++) {
                for (int q = 0; q < MF_OPTIM_MAX_STATE; q++) {
                    mf_tensor_release(sp[k].state[q]);
                    mf_tensor_release(sr[k].state[q]);
                }
                mf_tensor_release(ref[k]);
                mf_tensor_release(grads[k]);
            }
            mf_plan_free(p);
            mf_tensor_release(x);
            mf_tensor_release(y);
            net_free(&n);
        }
    }
}

/* Adam slots with zero state for every parameter of p. */
static void adam_slots(mf_plan *p, mf_optim_hparams *h, mf_optim_slot *s)
{
    for (int k = 0; k < mf_plan_num_params(p); k++) {
        mf_optim_hparams_default(MF_OPTIM_ADAM, &h[k]);
        memset(&s[k], 0, sizeof s[k]);
        s[k].param = mf_plan_param(p, k);
        for (int q = 0; q < 2; q++)
            mf_tensor_zeros(&s[k].state[q], s[k].param->dtype, s[k].param->ndim, s[k].param->shape);
    }
}

static void slots_free(mf_optim_slot *s, int n)
{
    for (int k = 0; k < n; k++)
        for (int q = 0; q < MF_OPTIM_MAX_STATE; q++) mf_tensor_release(s[k].state[q]);
}

CTEST(bad_update_changes_nothing)
{
    const mf_plan_act acts[2] = {MF_PLAN_RELU, MF_PLAN_IDENTITY};
    const int64_t widths[3] = {3, 4, 2};
    net n;
    net_make(&n, MF_FLOAT32, 2, widths, acts, MF_PLAN_MSE, 1);
    mf_plan *p = NULL;
    CHECK_OK(mf_plan_new(&p, 2, n.layers, MF_PLAN_MSE));
    mf_tensor *x = uniform(MF_FLOAT32, 2, (int64_t[]){5, 3}, -1, 1), *y = targets(MF_PLAN_MSE, 5, 2, MF_FLOAT32);
    mf_optim_hparams h[4];
    mf_optim_slot s[4];
    adam_slots(p, h, s);
    mf_tensor *before = NULL;
    CHECK_OK(mf_tensor_clone(&before, n.layers[0].weight));
    mf_plan_batch b = {x, y, NULL, 0, 5, 0};
    mf_tensor *keep = s[3].state[1];
    s[3].state[1] = NULL; /* a missing buffer */
    CHECK_ERR(mf_plan_train_batch(p, &b, MF_OPTIM_ADAM, h, s, NULL), MF_EINVAL, 0);
    CHECK(strstr(mf_error_get()->msg, "exp_avg_sq") != NULL);
    s[3].state[1] = keep;
    s[1].param = s[0].param; /* not the plan's parameter 2 */
    CHECK_ERR(mf_plan_train_batch(p, &b, MF_OPTIM_ADAM, h, s, NULL), MF_EINVAL, 0);
    s[1].param = mf_plan_param(p, 1);
    h[2].beta1 = 1.5;
    CHECK_ERR(mf_plan_train_batch(p, &b, MF_OPTIM_ADAM, h, s, NULL), MF_EINVAL, 0);
    CHECK(strstr(mf_error_get()->msg, "parameter 3") != NULL);
    h[2].beta1 = 0.9;
    CHECK(memcmp(mf_tensor_data(before), mf_tensor_data(n.layers[0].weight), mf_tensor_nbytes(before)) == 0);
    for (int k = 0; k < 4; k++) CHECK_INT(s[k].step, 0);
    CHECK_OK(mf_plan_train_batch(p, &b, MF_OPTIM_ADAM, h, s, NULL));
    CHECK(memcmp(mf_tensor_data(before), mf_tensor_data(n.layers[0].weight), mf_tensor_nbytes(before)) != 0);
    slots_free(s, 4);
    mf_tensor_release(before);
    mf_tensor_release(x);
    mf_tensor_release(y);
    mf_plan_free(p);
    net_free(&n);
}

/* ---------------------------------------------------------------- resources */
/* After the first step (state and work buffers made), steps allocate
 * nothing: the W2 shape with Adam, then SGD with momentum. */
CTEST(steady_state_allocates_nothing)
{
    const mf_plan_act acts[3] = {MF_PLAN_RELU, MF_PLAN_RELU, MF_PLAN_SIGMOID};
    const int64_t widths[4] = {30, 64, 64, 1};
    net n;
    net_make(&n, MF_FLOAT32, 3, widths, acts, MF_PLAN_BCE, 1);
    mf_plan *p = NULL;
    CHECK_OK(mf_plan_new(&p, 3, n.layers, MF_PLAN_BCE));
    CHECK_OK(mf_plan_reserve(p, 32));
    mf_tensor *x = uniform(MF_FLOAT32, 2, (int64_t[]){100, 30}, -1, 1), *y = targets(MF_PLAN_BCE, 100, 1, MF_FLOAT32);
    mf_tensor *perm = NULL;
    CHECK_OK(mf_tensor_randperm(&perm, mf_rng_global(), 100, MF_INT64));
    mf_optim_hparams h[6];
    mf_optim_slot s[6];
    adam_slots(p, h, s);
    for (int algo = 0; algo < 2; algo++) {
        if (algo == 1)
            for (int k = 0; k < 6; k++) {
                mf_optim_hparams_default(MF_OPTIM_SGD, &h[k]);
                h[k].momentum = 0.9;
            }
        mf_optim_algo a = algo ? MF_OPTIM_SGD : MF_OPTIM_ADAM;
        mf_plan_batch b = {x, y, perm, 0, 32, 0};
        CHECK_OK(mf_plan_train_batch(p, &b, a, h, s, NULL));
        size_t before = mf_mem_allocations(), bytes = mf_mem_in_use();
        for (int i = 0; i < 200; i++) {
            b.first = (i * 32) % 68;
            b.count = i % 7 == 0 ? 5 : 32;
            CHECK_OK(mf_plan_train_batch(p, &b, a, h, s, NULL));
        }
        CHECK_INT(mf_mem_allocations(), before);
        CHECK_INT(mf_mem_in_use(), bytes);
    }
    /* the counter does count: a new tensor moves it */
    size_t before = mf_mem_allocations();
    mf_tensor *t = NULL;
    CHECK_OK(mf_tensor_zeros(&t, MF_FLOAT32, 1, (int64_t[]){3}));
    CHECK(mf_mem_allocations() > before);
    mf_tensor_release(t);
    slots_free(s, 6);
    mf_tensor_release(perm);
    mf_tensor_release(x);
    mf_tensor_release(y);
    mf_plan_free(p);
    net_free(&n);
}

CTEST(allocation_failures)
{
    const mf_plan_act acts[2] = {MF_PLAN_RELU, MF_PLAN_SIGMOID};
    const int64_t widths[3] = {3, 5, 1};
    net n;
    net_make(&n, MF_FLOAT32, 2, widths, acts, MF_PLAN_BCE, 1);
    mf_tensor *x = uniform(MF_FLOAT32, 2, (int64_t[]){300, 3}, -1, 1);
    for (long k = 1; k <= 12; k++) {
        mf_plan *p = NULL;
        mf_tensor *o = NULL;
        mf_mem_fail_after(k);
        mf_status st = mf_plan_new(&p, 2, n.layers, MF_PLAN_BCE);
        if (st == MF_OK) st = mf_plan_reserve(p, 64);
        if (st == MF_OK) st = mf_plan_forward(&o, p, x);
        mf_mem_fail_after(0);
        if (st != MF_OK) {
            CHECK_INT(st, MF_ENOMEM);
            CHECK(o == NULL);
        }
        mf_tensor_release(o);
        mf_plan_free(p);
    }
    mf_tensor_release(x);
    net_free(&n);
}

/* Products split over threads give the bits one thread gives. */
CTEST(thread_count_does_not_change_results)
{
    const mf_plan_act acts[3] = {MF_PLAN_RELU, MF_PLAN_TANH, MF_PLAN_SOFTMAX};
    const int64_t widths[4] = {300, 256, 200, 10};
    mf_rng_seed(mf_rng_global(), 8);
    net n;
    net_make(&n, MF_FLOAT32, 3, widths, acts, MF_PLAN_CCE, 1);
    mf_plan *p = NULL;
    CHECK_OK(mf_plan_new(&p, 3, n.layers, MF_PLAN_CCE));
    mf_tensor *x = uniform(MF_FLOAT32, 2, (int64_t[]){512, 300}, -1, 1), *y = targets(MF_PLAN_CCE, 512, 10, MF_FLOAT32);
    mf_plan_batch b = {x, y, NULL, 0, 512, 0};
    int old = mf_num_threads();
    mf_tensor *g1[6] = {0};
    mf_plan_stats s1, s2;
    mf_set_num_threads(1);
    CHECK_OK(mf_plan_gradients(p, &b, &s1));
    for (int k = 0; k < 6; k++) CHECK_OK(mf_tensor_clone(&g1[k], mf_plan_grad(p, k)));
    mf_set_num_threads(mf_num_cores());
    CHECK_OK(mf_plan_gradients(p, &b, &s2));
    if (mf_plan_native(p)) { /* the kernels' promise; BLAS makes none */
        CHECK(s1.loss == s2.loss);
        for (int k = 0; k < 6; k++)
            if (g1[k]) CHECK(memcmp(mf_tensor_data(g1[k]), mf_tensor_data(mf_plan_grad(p, k)), mf_tensor_nbytes(g1[k])) == 0);
    } else {
        CHECK_NEAR(s1.loss, s2.loss, 1e-5 * fabs(s1.loss));
    }
    /* the update too (a parameter of 76800 elements is split) */
    mf_optim_hparams h[6];
    mf_optim_slot sa[6], sb[6];
    adam_slots(p, h, sa);
    adam_slots(p, h, sb);
    mf_tensor *w0 = NULL, *w1 = NULL;
    CHECK_OK(mf_tensor_clone(&w0, n.layers[0].weight));
    CHECK_OK(mf_plan_update(p, MF_OPTIM_ADAM, h, sa));
    CHECK_OK(mf_tensor_clone(&w1, n.layers[0].weight));
    CHECK_OK(mf_tensor_copy_(n.layers[0].weight, w0));
    mf_set_num_threads(1);
    CHECK_OK(mf_plan_update(p, MF_OPTIM_ADAM, h, sb));
    if (w1) CHECK(memcmp(mf_tensor_data(w1), mf_tensor_data(n.layers[0].weight), mf_tensor_nbytes(w1)) == 0);
    mf_set_num_threads(old);
    slots_free(sa, 6);
    slots_free(sb, 6);
    for (int k = 0; k < 6; k++) mf_tensor_release(g1[k]);
    mf_tensor_release(w0);
    mf_tensor_release(w1);
    mf_tensor_release(x);
    mf_tensor_release(y);
    mf_plan_free(p);
    net_free(&n);
}

/* Weights written between steps (another path, load_state_dict) are seen
 * by the next forward: the kernels' transposed copy follows the version. */
CTEST(weights_written_outside_are_seen)
{
    const mf_plan_act acts[1] = {MF_PLAN_IDENTITY};
    const int64_t widths[2] = {4, 3};
    net n;
    net_make(&n, MF_FLOAT32, 1, widths, acts, MF_PLAN_MSE, 0);
    mf_plan *p = NULL;
    CHECK_OK(mf_plan_new(&p, 1, n.layers, MF_PLAN_MSE));
    mf_tensor *x = NULL, *o = NULL;
    CHECK_OK(mf_tensor_full(&x, MF_FLOAT32, 2, (int64_t[]){2, 4}, 1.0));
    CHECK_OK(mf_plan_forward(&o, p, x));
    mf_tensor_release(o);
    CHECK_OK(mf_tensor_fill_(n.layers[0].weight, 0.5));
    CHECK_OK(mf_plan_forward(&o, p, x));
    if (o) CHECK_NEAR(at(o, 1, 2), 2.0, 0);
    mf_tensor_release(o);
    mf_tensor_release(x);
    mf_plan_free(p);
    net_free(&n);
}

/* Denormals: products below FLT_MIN are 0 inside a step (FTZ/DAZ), the
 * caller's MXCSR comes back, and Adam's moments that would decay into
 * subnormals are stored as 0, as mf_optim_step does. */
CTEST(denormals)
{
    const mf_plan_act acts[1] = {MF_PLAN_IDENTITY};
    const int64_t widths[2] = {1, 2};
    net n;
    net_make(&n, MF_FLOAT32, 1, widths, acts, MF_PLAN_MSE, 1);
    float *w = mf_tensor_data(n.layers[0].weight), *bias = mf_tensor_data(n.layers[0].bias);
    w[0] = 1e-20f; /* 1e-20 * 1e-20 = 1e-40: subnormal without FTZ */
    w[1] = 1.0f;
    bias[0] = bias[1] = 0;
    mf_plan *p = NULL;
    CHECK_OK(mf_plan_new(&p, 1, n.layers, MF_PLAN_MSE));
    mf_tensor *x = NULL, *o = NULL;
    CHECK_OK(mf_tensor_full(&x, MF_FLOAT32, 2, (int64_t[]){3, 1}, 1e-20));
#if HAVE_MXCSR
    unsigned int csr = _mm_getcsr() & ~0x3Fu; /* the control bits, not the flags */
#endif
    CHECK_OK(mf_plan_forward(&o, p, x));
#if HAVE_MXCSR
    CHECK_INT(_mm_getcsr() & ~0x3Fu, csr);
    if (o) CHECK(at(o, 0, 0) == 0.0);
    volatile float tiny = 1e-20f;
    CHECK(tiny * tiny != 0.0f); /* the caller's mode again: gradual underflow */
#endif
    if (o) CHECK_NEAR(at(o, 0, 1), 1e-20, 1e-26);
    mf_tensor_release(o);
    /* a dead unit: zero gradients, moments one step from subnormal */
    mf_tensor *y = NULL;
    CHECK_OK(mf_tensor_zeros(&y, MF_FLOAT32, 2, (int64_t[]){3, 2}));
    mf_optim_hparams h[2];
    mf_optim_slot s[2];
    adam_slots(p, h, s);
    w[0] = 0;
    float *m = mf_tensor_data(s[0].state[0]), *v = mf_tensor_data(s[0].state[1]);
    m[0] = FLT_MIN * 1.05f;
    v[0] = FLT_MIN * 1.0005f;
    m[1] = 1e-3f;
    v[1] = 1e-6f;
    mf_plan_batch b = {x, y, NULL, 0, 3, 0};
    CHECK_OK(mf_plan_train_batch(p, &b, MF_OPTIM_ADAM, h, s, NULL));
    CHECK(((float *)mf_tensor_data(mf_plan_grad(p, 0)))[0] == 0);
    CHECK(m[0] == 0 && v[0] == 0);
    CHECK(m[1] != 0 && v[1] > 0);
#if HAVE_MXCSR
    CHECK_INT(_mm_getcsr() & ~0x3Fu, csr);
#endif
    slots_free(s, 2);
    mf_tensor_release(x);
    mf_tensor_release(y);
    mf_plan_free(p);
    net_free(&n);
}

CTEST(forward_empty_and_chunked)
{
    const mf_plan_act acts[2] = {MF_PLAN_TANH, MF_PLAN_SIGMOID};
    const int64_t widths[3] = {2, 3, 1};
    net n;
    net_make(&n, MF_FLOAT64, 2, widths, acts, MF_PLAN_BCE, 1);
    mf_plan *p = NULL;
    CHECK_OK(mf_plan_new(&p, 2, n.layers, MF_PLAN_BCE));
    mf_tensor *x0 = NULL, *o = NULL;
    CHECK_OK(mf_tensor_zeros(&x0, MF_FLOAT32, 2, (int64_t[]){0, 2}));
    CHECK_OK(mf_plan_forward(&o, p, x0));
    if (o) CHECK(o->shape[0] == 0 && o->shape[1] == 1);
    mf_tensor_release(o);
    mf_tensor *x = uniform(MF_FLOAT64, 2, (int64_t[]){700, 2}, -3, 3); /* 3 chunks of 256 */
    CHECK_OK(mf_plan_forward(&o, p, x));
    mf_tensor *y = targets(MF_PLAN_BCE, 700, 1, MF_FLOAT64);
    for (int64_t r = 0; r < 700 && o; r += 97) {
        double out[RMAX];
        ref_loss(&n, x, y, &r, 1, out);
        CHECK_NEAR(at(o, r, 0), out[0], 1e-14);
    }
    mf_tensor_release(o);
    mf_tensor_release(y);
    mf_tensor_release(x);
    mf_tensor_release(x0);
    mf_plan_free(p);
    net_free(&n);
}

const ctest_case ctest_plan[] = {
    CTEST_ENTRY(names),
    CTEST_ENTRY(gradients_match_finite_differences),
    CTEST_ENTRY(float32_matches_float64),
    CTEST_ENTRY(strided_batches_and_indices),
    CTEST_ENTRY(bad_layers),
    CTEST_ENTRY(bad_batches),
    CTEST_ENTRY(update_matches_mf_optim_step),
    CTEST_ENTRY(bad_update_changes_nothing),
    CTEST_ENTRY(steady_state_allocates_nothing),
    CTEST_ENTRY(allocation_failures),
    CTEST_ENTRY(thread_count_does_not_change_results),
    CTEST_ENTRY(weights_written_outside_are_seen),
    CTEST_ENTRY(denormals),
    CTEST_ENTRY(forward_empty_and_chunked),
    {NULL, NULL},
};
