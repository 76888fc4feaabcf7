/*
 * mf_classify.c — linear classifiers (see mf_classify.h).
 *
 * The smooth objectives (logistic, softmax, primal squared hinge) share one
 * L-BFGS: a parameter vector holds W (Kc x d, row-major) then the Kc
 * intercepts. Its value and gradient take two GEMMs (Z = X·Wᵀ, G = Rᵀ·X)
 * and one blocked pass over the rows for the losses and residuals R.
 */
#include "mf_classify.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mf_blas.h"
#include "mf_sgd_impl.h"
#include "mf_thread.h"

#define BLOCK 2048
#define LBFGS_M 10

enum { LOSS_LOGISTIC = 0, LOSS_SOFTMAX, LOSS_SQHINGE };

typedef struct problem {
    const double *X;
    int64_t n, d, K; /* K: output columns */
    int loss;
    const double *ysign;  /* ±1 [n] (logistic, squared hinge) */
    const int64_t *code;  /* [n] (softmax) */
    const double *sw;     /* [n] or NULL */
    double C, scale;      /* scale: 1 / (C Σ sw) */
    int penalize, fit_intercept, pen_intercept;
    double *Z;            /* n x K work: decisions, then residuals */
    double *part;         /* nblocks x partlen: loss, intercept and weight gradient partials */
    int64_t nblocks, block, partlen;
    const double *th;     /* the parameters being evaluated */
    int64_t n_eval;
} problem;

/* Blocks of rows: their number depends on n only (never on the thread
 * count), at most MAX_BLOCKS so that the partial gradients stay small. */
#define MAX_BLOCKS 64
static void set_blocks(problem *p)
{
    p->nblocks = (p->n + BLOCK - 1) / BLOCK;
    if (p->nblocks > MAX_BLOCKS) p->nblocks = MAX_BLOCKS;
    p->block = (p->n + p->nblocks - 1) / p->nblocks;
    p->nblocks = (p->n + p->block - 1) / p->block;
    p->partlen = 1 + p->K + p->K * p->d;
}

static int64_t nparams(const problem *p) { return p->K * p->d + (p->fit_intercept ? p->K : 0); }

/* g += r x, unrolled by four (restrict, so that -O2 pairs them into SIMD) */
static inline void axpy(double *restrict g, double r, const double *restrict x, int64_t d)
{
    int64_t j = 0;
    for (; j + 4 <= d; j += 4) {
        g[j] += r * x[j];
        g[j + 1] += r * x[j + 1];
        g[j + 2] += r * x[j + 2];
        g[j + 3] += r * x[j + 3];
    }
    for (; j < d; j++) g[j] += r * x[j];
}

/* One pass over a block of rows: decisions z = W·x + b, loss and residual
 * r = C sw dl/dz, and the block's partial gradient Σ r xᵀ (and Σ r for the
 * intercepts) into part. */
static void rows_kernel(int64_t lo, int64_t hi, void *ctx)
{
    problem *p = ctx;
    int64_t K = p->K, d = p->d;
    const double *W = p->th, *B = p->fit_intercept ? p->th + K * d : NULL;
    for (int64_t b = lo; b < hi; b++) {
        int64_t r0 = b * p->block, r1 = r0 + p->block < p->n ? r0 + p->block : p->n;
        double *part = p->part + b * p->partlen, *gw = part + 1 + K;
        memset(part, 0, (size_t)p->partlen * sizeof(double));
        for (int64_t i = r0; i < r1; i++) {
            const double *x = p->X + i * d;
            double *z = p->Z + i * K;
            for (int64_t k = 0; k < K; k++) {
                const double *w = W + k * d;
                /* four partial sums: the loop is not latency bound */
                double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                int64_t j = 0;
                for (; j + 4 <= d; j += 4) {
                    s0 += w[j] * x[j];
                    s1 += w[j + 1] * x[j + 1];
                    s2 += w[j + 2] * x[j + 2];
                    s3 += w[j + 3] * x[j + 3];
                }
                for (; j < d; j++) s0 += w[j] * x[j];
                z[k] = (B ? B[k] : 0.0) + ((s0 + s1) + (s2 + s3));
            }
            double w8 = p->C * (p->sw ? p->sw[i] : 1.0), l;
            if (p->loss == LOSS_LOGISTIC) {
                /* one exp: e = exp(-|yz|); σ(-yz) = 1/(1+e) or e/(1+e) */
                double yz = p->ysign[i] * z[0], e = exp(-fabs(yz));
                l = (yz > 0 ? 0.0 : -yz) + log(1.0 + e); /* e <= 1: absolute error ~eps, and log is much faster than log1p */
                z[0] = -p->ysign[i] * w8 * (yz > 0 ? e : 1.0) / (1.0 + e);
            } else if (p->loss == LOSS_SQHINGE) {
                double m = 1.0 - p->ysign[i] * z[0];
                if (m > 0) {
                    l = m * m;
                    z[0] = -2.0 * p->ysign[i] * m * w8;
                } else {
                    l = 0;
                    z[0] = 0;
                }
            } else {
                double mx = z[0];
                for (int64_t k = 1; k < K; k++) mx = z[k] > mx ? z[k] : mx;
                double s = 0;
                for (int64_t k = 0; k < K; k++) {
                    z[k] = exp(z[k] - mx);
                    s += z[k];
                }
                int64_t c = p->code[i];
                l = log(s) - log(z[c]);
                for (int64_t k = 0; k < K; k++) z[k] = w8 * (z[k] / s - (k == c));
            }
            part[0] += w8 * l;
            for (int64_t k = 0; k < K; k++) {
                double r = z[k];
                if (r == 0) continue;
                part[1 + k] += r;
                axpy(gw + k * d, r, x, d);
            }
        }
    }
}

/* f(θ) and its gradient g (both scaled). */
static double objective(problem *p, const double *th, double *g)
{
    int64_t d = p->d, K = p->K;
    p->th = th;
    p->n_eval++;
    mf_parallel_for(p->nblocks, 1, rows_kernel, p);
    double f = 0;
    double *gb = p->fit_intercept ? g + K * d : NULL;
    memset(g, 0, (size_t)nparams(p) * sizeof(double));
    for (int64_t b = 0; b < p->nblocks; b++) {
        const double *part = p->part + b * p->partlen, *gw = part + 1 + K;
        f += part[0];
        if (gb)
            for (int64_t k = 0; k < K; k++) gb[k] += part[1 + k];
        for (int64_t j = 0; j < K * d; j++) g[j] += gw[j];
    }
    if (p->penalize) {
        int64_t np = p->pen_intercept ? nparams(p) : K * d;
        double r = 0;
        for (int64_t j = 0; j < np; j++) {
            r += th[j] * th[j];
            g[j] += th[j];
        }
        f += 0.5 * r;
    }
    int64_t np = nparams(p);
    for (int64_t j = 0; j < np; j++) g[j] *= p->scale;
    return f * p->scale;
}

static double maxabs(const double *v, int64_t n)
{
    double m = 0;
    for (int64_t j = 0; j < n; j++) m = fabs(v[j]) > m ? fabs(v[j]) : m;
    return m;
}

static double dot(const double *a, const double *b, int64_t n)
{
    double s = 0;
    for (int64_t j = 0; j < n; j++) s += a[j] * b[j];
    return s;
}

/* Minimizes the problem from th (in/out). */
static mf_status lbfgs(problem *p, double *th, const mf_classify_opts *o, mf_classify_info *info)
{
    int64_t np = nparams(p);
    size_t nb = (size_t)np * sizeof(double);
    double *buf = mf_malloc(nb * (size_t)(4 + 2 * LBFGS_M));
    if (!buf) return mf_error_set(MF_ENOMEM, 0, "fit: out of memory");
    double *g = buf, *dir = buf + np, *th1 = buf + 2 * np, *g1 = buf + 3 * np;
    double *S = buf + 4 * np, *Y = S + LBFGS_M * np;
    double rho[LBFGS_M], al[LBFGS_M];
    int mcount = 0, mhead = 0;
    double f = objective(p, th, g);
    int64_t it = 0;
    int conv = maxabs(g, np) <= o->tol;
    while (!conv && it < o->max_iter) {
        /* two-loop recursion: dir = -H g */
        for (int64_t j = 0; j < np; j++) dir[j] = -g[j];
        for (int m = 0; m < mcount; m++) {
            int k = (mhead - 1 - m + LBFGS_M) % LBFGS_M;
            al[k] = rho[k] * dot(S + k * np, dir, np);
            for (int64_t j = 0; j < np; j++) dir[j] -= al[k] * Y[k * np + j];
        }
        if (mcount > 0) {
            int k = (mhead - 1 + LBFGS_M) % LBFGS_M;
            double gam = dot(S + k * np, Y + k * np, np) / dot(Y + k * np, Y + k * np, np);
            for (int64_t j = 0; j < np; j++) dir[j] *= gam;
        }
        for (int m = mcount - 1; m >= 0; m--) {
            int k = (mhead - 1 - m + LBFGS_M) % LBFGS_M;
            double be = rho[k] * dot(Y + k * np, dir, np);
            for (int64_t j = 0; j < np; j++) dir[j] += (al[k] - be) * S[k * np + j];
        }
        double gd = dot(g, dir, np);
        if (!(gd < 0)) { /* not a descent direction: restart from steepest descent */
            mcount = 0;
            for (int64_t j = 0; j < np; j++) dir[j] = -g[j];
            gd = -dot(g, g, np);
        }
        double t = 1.0;
        if (mcount == 0) {
            double gn = sqrt(dot(g, g, np));
            t = gn > 1.0 ? 1.0 / gn : 1.0;
        }
        double f1 = f;
        int ok = 0;
        for (int ls = 0; ls < 60; ls++) {
            for (int64_t j = 0; j < np; j++) th1[j] = th[j] + t * dir[j];
            f1 = objective(p, th1, g1);
            if (f1 <= f + 1e-4 * t * gd) {
                ok = 1;
                break;
            }
            /* quadratic interpolation, kept in [0.1 t, 0.5 t] */
            double tn = -gd * t * t / (2.0 * (f1 - f - gd * t));
            t = (tn > 0.1 * t && tn < 0.5 * t) ? tn : 0.5 * t;
        }
        it++;
        if (!ok) break; /* no progress possible in double precision */
        int k = mhead;
        double sy = 0, yy = 0;
        for (int64_t j = 0; j < np; j++) {
            S[k * np + j] = th1[j] - th[j];
            Y[k * np + j] = g1[j] - g[j];
            sy += S[k * np + j] * Y[k * np + j];
            yy += Y[k * np + j] * Y[k * np + j];
        }
        if (sy > 1e-10 * yy && sy > 0) {
            rho[k] = 1.0 / sy;
            mhead = (mhead + 1) % LBFGS_M;
            if (mcount < LBFGS_M) mcount++;
        }
        double fold = f;
        memcpy(th, th1, nb);
        memcpy(g, g1, nb);
        f = f1;
        if (maxabs(g, np) <= o->tol) conv = 1;
        else if ((fold - f) <= 64 * DBL_EPSILON * fmax(fmax(fabs(fold), fabs(f)), 1.0)) conv = 1;
    }
    if (it > info->n_iter) info->n_iter = it;
    info->n_eval += p->n_eval;
    if (!conv) info->converged = 0;
    double gm = maxabs(g, np);
    if (gm > info->grad_max) info->grad_max = gm;
    mf_free(buf);
    return MF_OK;
}

/* ---------------------------------------------------------------- checks */
static mf_status check_fit_args(const char *fn, const mf_tensor *X, const mf_tensor *y, int64_t K,
                                const mf_tensor *sw, const mf_classify_opts *o)
{
    if (!X || X->ndim != 2 || X->dtype != MF_FLOAT64 || !mf_tensor_is_contiguous(X))
        return mf_error_set(MF_EINVAL, 1, "%s: contiguous 2-D float64 tensor expected", fn);
    int64_t n = X->shape[0];
    if (n < 1 || X->shape[1] < 1) return mf_error_set(MF_EINVAL, 1, "%s: empty X", fn);
    if (!y || y->ndim != 1 || y->dtype != MF_INT64 || !mf_tensor_is_contiguous(y) || y->shape[0] != n)
        return mf_error_set(MF_EINVAL, 2, "%s: contiguous int64 codes of length %lld expected", fn,
                            (long long)n);
    if (K < 2) return mf_error_set(MF_EINVAL, 3, "%s: at least 2 classes needed, got %lld", fn,
                                   (long long)K);
    const int64_t *c = mf_tensor_data(y);
    for (int64_t i = 0; i < n; i++)
        if (c[i] < 0 || c[i] >= K)
            return mf_error_set(MF_ERANGE, 2, "%s: code %lld at %lld outside 0..%lld", fn,
                                (long long)c[i], (long long)i, (long long)(K - 1));
    if (sw) {
        if (sw->ndim != 1 || sw->dtype != MF_FLOAT64 || !mf_tensor_is_contiguous(sw) ||
            sw->shape[0] != n)
            return mf_error_set(MF_EINVAL, 4, "%s: contiguous float64 weights of length %lld expected",
                                fn, (long long)n);
        const double *w = mf_tensor_data(sw);
        for (int64_t i = 0; i < n; i++)
            if (!(w[i] >= 0) || isinf(w[i]))
                return mf_error_set(MF_EINVAL, 4, "%s: weight %g at %lld (finite, >= 0 expected)",
                                    fn, w[i], (long long)i);
    }
    if (!o || !(o->C > 0) || isinf(o->C))
        return mf_error_set(MF_EINVAL, 5, "%s: C must be a finite number > 0", fn);
    if (o->max_iter < 1) return mf_error_set(MF_EINVAL, 5, "%s: max_iter must be >= 1", fn);
    if (!(o->tol > 0)) return mf_error_set(MF_EINVAL, 5, "%s: tol must be > 0", fn);
    return MF_OK;
}

static mf_status new_out(mf_tensor **coef, mf_tensor **icpt, int64_t Kc, int64_t d)
{
    int64_t sh[2] = {Kc, d};
    mf_status st = mf_tensor_zeros(coef, MF_FLOAT64, 2, sh);
    if (st) return st;
    if ((st = mf_tensor_zeros(icpt, MF_FLOAT64, 1, &Kc))) {
        mf_tensor_release(*coef);
        *coef = NULL;
    }
    return st;
}

static double weight_sum(const mf_tensor *sw, int64_t n)
{
    if (!sw) return (double)n;
    const double *w = mf_tensor_data(sw);
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += w[i];
    return s;
}

/* ---------------------------------------------------------------- logistic */
mf_status mf_classify_logreg_fit(const mf_tensor *X, const mf_tensor *y, int64_t K, const mf_tensor *sw,
                        const mf_classify_opts *o, mf_tensor **coef, mf_tensor **intercept,
                        mf_classify_info *info)
{
    *coef = *intercept = NULL;
    mf_status st = check_fit_args("LogisticRegression", X, y, K, sw, o);
    if (st) return st;
    int64_t n = X->shape[0], d = X->shape[1], Kc = K == 2 ? 1 : K;
    double swsum = weight_sum(sw, n);
    if (!(swsum > 0)) return mf_error_set(MF_EINVAL, 4, "LogisticRegression: all weights are 0");
    problem p = {.X = mf_tensor_data(X), .n = n, .d = d, .K = Kc,
                 .loss = K == 2 ? LOSS_LOGISTIC : LOSS_SOFTMAX, .code = mf_tensor_data(y),
                 .sw = sw ? mf_tensor_data(sw) : NULL, .C = o->C, .scale = 1.0 / (o->C * swsum),
                 .penalize = o->penalize, .fit_intercept = o->fit_intercept, .pen_intercept = 0};
    set_blocks(&p);
    int64_t np = nparams(&p);
    double *work = mf_malloc(((size_t)(n * Kc + p.nblocks * p.partlen + np + n)) * sizeof(double));
    if (!work) return mf_error_set(MF_ENOMEM, 0, "LogisticRegression: out of memory");
    p.Z = work;
    p.part = work + n * Kc;
    double *th = p.part + p.nblocks * p.partlen, *ys = th + np;
    memset(th, 0, (size_t)np * sizeof(double));
    for (int64_t i = 0; i < n; i++) ys[i] = p.code[i] == 1 ? 1.0 : -1.0;
    p.ysign = ys;
    info->n_iter = 0;
    info->n_eval = 0;
    info->converged = 1;
    info->grad_max = 0;
    st = lbfgs(&p, th, o, info);
    if (!st && !(st = new_out(coef, intercept, Kc, d))) {
        memcpy(mf_tensor_data(*coef), th, (size_t)(Kc * d) * sizeof(double));
        if (o->fit_intercept) memcpy(mf_tensor_data(*intercept), th + Kc * d, (size_t)Kc * sizeof(double));
    }
    mf_free(work);
    return st;
}

/* ---------------------------------------------------------------- SVM */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* liblinear's solve_l2r_l1l2_svc for one ±1 problem: w (d + bias) and alpha. */
static void dual_cd(const double *X, int64_t n, int64_t d, const double *ys, const double *Ci,
                    int bias, mf_classify_svc_loss loss, const mf_classify_opts *o, double *w,
                    double *alpha, double *QD, int64_t *index, mf_classify_info *info)
{
    int64_t dw = d + (bias ? 1 : 0);
    memset(w, 0, (size_t)dw * sizeof(double));
    for (int64_t i = 0; i < n; i++) {
        alpha[i] = 0;
        const double *x = X + i * d;
        double diag = loss == MF_CLS_SVC_SQUARED_HINGE ? 0.5 / Ci[i] : 0.0;
        QD[i] = diag + dot(x, x, d) + (bias ? 1.0 : 0.0);
        index[i] = i;
    }
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    int64_t it = 0, active = n;
    double PGmax_old = INFINITY, PGmin_old = -INFINITY;
    int conv = 0;
    while (it < o->max_iter) {
        double PGmax_new = -INFINITY, PGmin_new = INFINITY;
        for (int64_t i = 0; i < active; i++) {
            int64_t j = i + (int64_t)(rng_next(&seed) % (uint64_t)(active - i));
            int64_t t = index[i];
            index[i] = index[j];
            index[j] = t;
        }
        for (int64_t s = 0; s < active; s++) {
            int64_t i = index[s];
            double yi = ys[i];
            const double *x = X + i * d;
            double diag = loss == MF_CLS_SVC_SQUARED_HINGE ? 0.5 / Ci[i] : 0.0;
            double U = loss == MF_CLS_SVC_SQUARED_HINGE ? INFINITY : Ci[i];
            double G = yi * (dot(w, x, d) + (bias ? w[d] : 0.0)) - 1.0 + alpha[i] * diag;
            double PG = 0;
            if (alpha[i] == 0) {
                if (G > PGmax_old) {
                    active--;
                    index[s] = index[active];
                    index[active] = i;
                    s--;
                    continue;
                } else if (G < 0)
                    PG = G;
            } else if (alpha[i] == U) {
                if (G < PGmin_old) {
                    active--;
                    index[s] = index[active];
                    index[active] = i;
                    s--;
                    continue;
                } else if (G > 0)
                    PG = G;
            } else
                PG = G;
            PGmax_new = PG > PGmax_new ? PG : PGmax_new;
            PGmin_new = PG < PGmin_new ? PG : PGmin_new;
            if (fabs(PG) > 1e-12) {
                double a0 = alpha[i];
                double a = a0 - G / QD[i];
                alpha[i] = a < 0 ? 0 : (a > U ? U : a);
                double dlt = (alpha[i] - a0) * yi;
                for (int64_t j = 0; j < d; j++) w[j] += dlt * x[j];
                if (bias) w[d] += dlt;
            }
        }
        it++;
        if (PGmax_new - PGmin_new <= o->tol) {
            if (active == n) {
                conv = 1;
                break;
            }
            active = n;
            PGmax_old = INFINITY;
            PGmin_old = -INFINITY;
            continue;
        }
        PGmax_old = PGmax_new <= 0 ? INFINITY : PGmax_new;
        PGmin_old = PGmin_new >= 0 ? -INFINITY : PGmin_new;
    }
    if (it > info->n_iter) info->n_iter = it;
    if (!conv) info->converged = 0;
}

mf_status mf_classify_svc_fit(const mf_tensor *X, const mf_tensor *y, int64_t K, const mf_tensor *sw,
                        const mf_classify_opts *o, mf_classify_svc_loss loss, int dual, mf_tensor **coef,
                        mf_tensor **intercept, mf_tensor **alpha, mf_classify_info *info)
{
    *coef = *intercept = NULL;
    if (alpha) *alpha = NULL;
    mf_status st = check_fit_args("LinearSVC", X, y, K, sw, o);
    if (st) return st;
    if (!dual && loss == MF_CLS_SVC_HINGE)
        return mf_error_set(MF_EINVAL, 6, "LinearSVC: the hinge loss needs the dual solver");
    int64_t n = X->shape[0], d = X->shape[1], Kc = K == 2 ? 1 : K;
    const double *Xd = mf_tensor_data(X);
    const int64_t *code = mf_tensor_data(y);
    const double *w8 = sw ? mf_tensor_data(sw) : NULL;
    int bias = o->fit_intercept;
    int64_t dw = d + 1;
    problem p0 = {.n = n, .d = d, .K = 1};
    set_blocks(&p0);
    size_t nd = (size_t)(4 * n + dw + n + p0.nblocks * p0.partlen) + (size_t)dw;
    double *work = mf_malloc(nd * sizeof(double));
    int64_t *index = mf_malloc((size_t)n * sizeof(int64_t));
    if (!work || !index) {
        mf_free(work);
        mf_free(index);
        return mf_error_set(MF_ENOMEM, 0, "LinearSVC: out of memory");
    }
    double *ys = work, *Ci = ys + n, *al = Ci + n, *QD = al + n, *w = QD + n, *Z = w + dw,
           *part = Z + n;
    if ((st = new_out(coef, intercept, Kc, d))) goto done;
    if (alpha && dual) {
        int64_t sh[2] = {Kc, n};
        if ((st = mf_tensor_zeros(alpha, MF_FLOAT64, 2, sh))) goto done;
    }
    info->n_iter = 0;
    info->n_eval = 0;
    info->converged = 1;
    info->grad_max = 0;
    for (int64_t i = 0; i < n; i++) Ci[i] = o->C * (w8 ? w8[i] : 1.0);
    for (int64_t k = 0; k < Kc; k++) {
        int64_t pos = Kc == 1 ? 1 : k;
        for (int64_t i = 0; i < n; i++) ys[i] = code[i] == pos ? 1.0 : -1.0;
        if (dual) {
            dual_cd(Xd, n, d, ys, Ci, bias, loss, o, w, al, QD, index, info);
            if (alpha && *alpha)
                memcpy((double *)mf_tensor_data(*alpha) + k * n, al, (size_t)n * sizeof(double));
        } else {
            double swsum = weight_sum(sw, n);
            if (!(swsum > 0)) {
                st = mf_error_set(MF_EINVAL, 4, "LinearSVC: all weights are 0");
                goto done;
            }
            problem p = {.X = Xd, .n = n, .d = d, .K = 1, .loss = LOSS_SQHINGE, .ysign = ys,
                         .sw = w8, .C = o->C, .scale = 1.0 / (o->C * swsum), .penalize = 1,
                         .fit_intercept = bias, .pen_intercept = 1, .Z = Z, .part = part};
            set_blocks(&p);
            memset(w, 0, (size_t)dw * sizeof(double));
            if ((st = lbfgs(&p, w, o, info))) goto done;
        }
        memcpy((double *)mf_tensor_data(*coef) + k * d, w, (size_t)d * sizeof(double));
        if (bias) ((double *)mf_tensor_data(*intercept))[k] = w[d];
    }
done:
    if (st) {
        mf_tensor_release(*coef);
        mf_tensor_release(*intercept);
        *coef = *intercept = NULL;
        if (alpha) {
            mf_tensor_release(*alpha);
            *alpha = NULL;
        }
    }
    mf_free(work);
    mf_free(index);
    return st;
}

/* ---------------------------------------------------------------- SGD */
static double sgd_loss(mf_classify_sgd_loss l, double p, double y)
{
    double z = p * y;
    switch (l) {
    case MF_CLS_SGD_HINGE: return z < 1 ? 1 - z : 0;
    case MF_CLS_SGD_LOG:
        if (z > 18) return exp(-z);
        if (z < -18) return -z;
        return log(1 + exp(-z));
    default:
        if (z >= 1) return 0;
        if (z >= -1) return (1 - z) * (1 - z);
        return -4 * z;
    }
}

/* d loss / d p */
static double sgd_dloss(mf_classify_sgd_loss l, double p, double y)
{
    double z = p * y;
    switch (l) {
    case MF_CLS_SGD_HINGE: return z <= 1 ? -y : 0;
    case MF_CLS_SGD_LOG:
        if (z > 18) return exp(-z) * -y;
        if (z < -18) return -y;
        return -y / (exp(z) + 1);
    default:
        if (z >= 1) return 0;
        if (z >= -1) return 2 * (1 - z) * -y;
        return -4 * y;
    }
}

static mf_linear_sgd_schedule sgd_schedule(mf_classify_sgd_rate r)
{
    switch (r) {
    case MF_CLS_SGD_CONSTANT: return MF_LINEAR_SGD_CONSTANT;
    case MF_CLS_SGD_INVSCALING: return MF_LINEAR_SGD_INVSCALING;
    case MF_CLS_SGD_ADAPTIVE: return MF_LINEAR_SGD_ADAPTIVE;
    default: return MF_LINEAR_SGD_OPTIMAL;
    }
}

#define SGD_MAX_DLOSS 1e12

/* One binary problem (ys ±1): w (d) and *b; q (d) is the cumulative L1
 * penalty's work space. The weights are w * wscale (scikit-learn's
 * WeightVector: the L2 shrink is one multiplication). */
static int64_t sgd_one(const double *X, int64_t n, int64_t d, const double *ys, const double *sw,
                       const unsigned char *val, const mf_classify_sgd_opts *o, uint64_t seed, double *w,
                       double *q, double *b, int64_t *order, int *conv)
{
    double wscale = 1.0, icpt = 0, alpha = o->alpha, u = 0;
    mf_linear_sgd_schedule sched = sgd_schedule(o->learning_rate);
    double l1r = o->penalize ? o->l1_ratio : 0;
    int shrink = o->penalize && l1r < 1, l1 = o->penalize && l1r > 0;
    memset(w, 0, (size_t)d * sizeof(double));
    memset(q, 0, (size_t)d * sizeof(double));
    for (int64_t i = 0; i < n; i++) order[i] = i;
    double optimal_init = 0, eta = o->eta0, t = 1.0;
    if (sched == MF_LINEAR_SGD_OPTIMAL) {
        double typw = mf_sgd_typw(alpha);
        optimal_init = mf_sgd_optimal_init(alpha, typw, sgd_dloss(o->loss, -typw, 1.0));
    }
    double best = INFINITY;
    int64_t noimp = 0, ep = 0;
    uint64_t st = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
    if (st == 0) st = 1;
    *conv = 0;
    for (ep = 0; ep < o->max_iter;) {
        if (o->shuffle)
            for (int64_t i = n - 1; i > 0; i--) {
                int64_t j = (int64_t)(rng_next(&st) % (uint64_t)(i + 1));
                int64_t tmp = order[i];
                order[i] = order[j];
                order[j] = tmp;
            }
        double sumloss = 0;
        for (int64_t s = 0; s < n; s++) {
            int64_t i = order[s];
            if (val && val[i]) continue;
            const double *x = X + i * d;
            double p = wscale * dot(w, x, d) + icpt;
            eta = mf_sgd_eta(sched, eta, o->eta0, o->power_t, alpha, optimal_init, t);
            sumloss += sgd_loss(o->loss, p, ys[i]);
            double dl = sgd_dloss(o->loss, p, ys[i]);
            if (dl < -SGD_MAX_DLOSS) dl = -SGD_MAX_DLOSS;
            if (dl > SGD_MAX_DLOSS) dl = SGD_MAX_DLOSS;
            double upd = -eta * dl * (sw ? sw[i] : 1.0);
            if (shrink) {
                wscale *= fmax(0.0, 1.0 - (1.0 - l1r) * eta * alpha);
                if (wscale < 1e-9) {
                    for (int64_t j = 0; j < d; j++) w[j] *= wscale;
                    wscale = 1.0;
                }
            }
            if (upd != 0) {
                axpy(w, upd / wscale, x, d);
                if (o->fit_intercept) icpt += upd;
            }
            if (l1) {
                u += l1r * eta * alpha;
                mf_sgd_l1_penalty(w, q, d, u, wscale);
            }
            t += 1;
        }
        ep++;
        if (!isfinite(sumloss) || !isfinite(icpt)) {
            *conv = -1;
            break;
        }
        int stop;
        if (val) { /* early stopping: the accuracy on the held-out rows must rise */
            int64_t right = 0, nv = 0;
            for (int64_t i = 0; i < n; i++)
                if (val[i]) {
                    double p = wscale * dot(w, X + i * d, d) + icpt;
                    right += (p > 0 ? 1.0 : -1.0) == ys[i];
                    nv++;
                }
            stop = mf_sgd_epoch_end(-(double)right / (double)nv, o->tol, 1, o->n_iter_no_change, sched, &best,
                                    &noimp, &eta);
        } else {
            stop = mf_sgd_epoch_end(sumloss, o->tol, n, o->n_iter_no_change, sched, &best, &noimp, &eta);
        }
        if (stop) {
            *conv = 1;
            break;
        }
    }
    if (o->tol < 0 && *conv == 0) *conv = 1;
    for (int64_t j = 0; j < d; j++) w[j] *= wscale;
    *b = icpt;
    return ep;
}

mf_status mf_classify_sgd_fit(const mf_tensor *X, const mf_tensor *y, int64_t K, const mf_tensor *sw,
                     const mf_classify_sgd_opts *o, mf_tensor **coef, mf_tensor **intercept,
                     mf_classify_info *info)
{
    *coef = *intercept = NULL;
    mf_classify_opts chk = {.C = 1, .max_iter = o ? o->max_iter : 0, .tol = 1};
    mf_status st = check_fit_args("SGDClassifier", X, y, K, sw, &chk);
    if (st) return st;
    if (o->learning_rate < MF_CLS_SGD_OPTIMAL || o->learning_rate > MF_CLS_SGD_ADAPTIVE)
        return mf_error_set(MF_EINVAL, 5, "SGDClassifier: unknown learning rate schedule %d", (int)o->learning_rate);
    if (o->learning_rate == MF_CLS_SGD_OPTIMAL ? !(o->alpha > 0) || isinf(o->alpha)
                                               : !(o->alpha >= 0) || isinf(o->alpha))
        return mf_error_set(MF_EINVAL, 5, "SGDClassifier: alpha must be a finite number %s",
                            o->learning_rate == MF_CLS_SGD_OPTIMAL ? "> 0 with the optimal learning rate" : ">= 0");
    if (o->learning_rate != MF_CLS_SGD_OPTIMAL && (!(o->eta0 > 0) || isinf(o->eta0)))
        return mf_error_set(MF_EINVAL, 5, "SGDClassifier: eta0 must be a finite number > 0 with this learning rate");
    if (o->learning_rate == MF_CLS_SGD_INVSCALING && !isfinite(o->power_t))
        return mf_error_set(MF_EINVAL, 5, "SGDClassifier: power_t must be a finite number");
    if (o->penalize && !(o->l1_ratio >= 0 && o->l1_ratio <= 1))
        return mf_error_set(MF_EINVAL, 5, "SGDClassifier: l1_ratio must be in [0, 1]");
    if (o->n_iter_no_change < 1)
        return mf_error_set(MF_EINVAL, 5, "SGDClassifier: n_iter_no_change must be >= 1");
    int64_t n = X->shape[0], d = X->shape[1], Kc = K == 2 ? 1 : K;
    const unsigned char *val = NULL;
    if (o->validation) {
        const mf_tensor *v = o->validation;
        if (v->dtype != MF_BOOL || v->ndim != 1 || v->shape[0] != n || !mf_tensor_is_contiguous(v))
            return mf_error_set(MF_EINVAL, 5, "SGDClassifier: the validation mask must be a contiguous bool [%lld]",
                                (long long)n);
        val = mf_tensor_data(v);
        int64_t nv = 0;
        for (int64_t i = 0; i < n; i++) nv += val[i] != 0;
        if (nv == 0 || nv == n)
            return mf_error_set(MF_EINVAL, 5, "SGDClassifier: the validation mask must hold out some rows, not all");
    }
    const int64_t *code = mf_tensor_data(y);
    double *work = mf_malloc((size_t)(n + 2 * d + 1) * sizeof(double));
    int64_t *order = mf_malloc((size_t)n * sizeof(int64_t));
    if (!work || !order) {
        mf_free(work);
        mf_free(order);
        return mf_error_set(MF_ENOMEM, 0, "SGDClassifier: out of memory");
    }
    double *ys = work, *w = work + n, *q = work + n + d;
    if (!(st = new_out(coef, intercept, Kc, d))) {
        info->n_iter = 0;
        info->n_eval = 0;
        info->converged = 1;
        info->grad_max = 0;
        for (int64_t k = 0; k < Kc; k++) {
            int64_t pos = Kc == 1 ? 1 : k;
            for (int64_t i = 0; i < n; i++) ys[i] = code[i] == pos ? 1.0 : -1.0;
            int conv;
            double b;
            int64_t ep = sgd_one(mf_tensor_data(X), n, d, ys, sw ? mf_tensor_data(sw) : NULL, val, o,
                                 o->seed + (uint64_t)k, w, q, &b, order, &conv);
            if (conv < 0) {
                st = mf_error_set(MF_EINVAL, 5,
                                  "SGDClassifier: diverged (non-finite loss in epoch %lld): lower eta0 or "
                                  "standardize X", (long long)ep);
                break;
            }
            if (ep > info->n_iter) info->n_iter = ep;
            if (!conv) info->converged = 0;
            memcpy((double *)mf_tensor_data(*coef) + k * d, w, (size_t)d * sizeof(double));
            ((double *)mf_tensor_data(*intercept))[k] = b;
        }
        if (st) {
            mf_tensor_release(*coef);
            mf_tensor_release(*intercept);
            *coef = *intercept = NULL;
        }
    }
    mf_free(work);
    mf_free(order);
    return st;
}

/* ---------------------------------------------------------------- predict */
typedef struct pred_job {
    double *S;
    int64_t n, Kc;
    mf_classify_out what;
    double *P;
    int64_t *idx;
} pred_job;

static void pred_kernel(int64_t lo, int64_t hi, void *ctx)
{
    pred_job *j = ctx;
    int64_t Kc = j->Kc;
    for (int64_t i = lo; i < hi; i++) {
        const double *s = j->S + i * Kc;
        if (j->what == MF_CLS_INDEX) {
            if (Kc == 1) j->idx[i] = s[0] > 0;
            else {
                int64_t b = 0;
                for (int64_t k = 1; k < Kc; k++)
                    if (s[k] > s[b]) b = k;
                j->idx[i] = b;
            }
        } else if (j->what == MF_CLS_PROBA_OVR && Kc > 1) {
            double t = 0;
            for (int64_t k = 0; k < Kc; k++)
                t += (j->P[i * Kc + k] = 1.0 / (1.0 + exp(-s[k])));
            for (int64_t k = 0; k < Kc; k++) j->P[i * Kc + k] = t > 0 ? j->P[i * Kc + k] / t : 1.0 / (double)Kc;
        } else if (Kc == 1) {
            double p1 = s[0] >= 0 ? 1.0 / (1.0 + exp(-s[0])) : exp(s[0]) / (1.0 + exp(s[0]));
            j->P[2 * i] = 1.0 - p1;
            j->P[2 * i + 1] = p1;
        } else {
            double mx = s[0], t = 0;
            for (int64_t k = 1; k < Kc; k++) mx = s[k] > mx ? s[k] : mx;
            for (int64_t k = 0; k < Kc; k++) t += (j->P[i * Kc + k] = exp(s[k] - mx));
            for (int64_t k = 0; k < Kc; k++) j->P[i * Kc + k] /= t;
        }
    }
}

mf_status mf_classify_predict(const mf_tensor *X, const mf_tensor *coef,
                              const mf_tensor *intercept, mf_classify_out what, mf_tensor **out)
{
    *out = NULL;
    if (!X || X->ndim != 2 || X->dtype != MF_FLOAT64 || !mf_tensor_is_contiguous(X))
        return mf_error_set(MF_EINVAL, 1, "predict: contiguous 2-D float64 tensor expected");
    if (!coef || coef->ndim != 2 || coef->dtype != MF_FLOAT64 || !mf_tensor_is_contiguous(coef))
        return mf_error_set(MF_EINVAL, 2, "predict: contiguous 2-D float64 coef expected");
    int64_t n = X->shape[0], d = X->shape[1], Kc = coef->shape[0];
    if (coef->shape[1] != d)
        return mf_error_set(MF_EINVAL, 1, "predict: X has %lld columns, the model %lld",
                            (long long)d, (long long)coef->shape[1]);
    if (!intercept || intercept->ndim != 1 || intercept->dtype != MF_FLOAT64 ||
        !mf_tensor_is_contiguous(intercept) || intercept->shape[0] != Kc)
        return mf_error_set(MF_EINVAL, 3, "predict: float64 intercept of length %lld expected",
                            (long long)Kc);
    int64_t sh[2] = {n, Kc};
    mf_tensor *S = NULL;
    mf_status st = mf_tensor_new(&S, MF_FLOAT64, 2, sh);
    if (st) return st;
    double *s = mf_tensor_data(S);
    const double *b = mf_tensor_data(intercept);
    if (n > 0) {
        mf_blas_gemm(MF_FLOAT64, 0, 1, n, Kc, d, 1.0, mf_tensor_data(X), d, mf_tensor_data(coef), d,
                     0.0, s, Kc);
        for (int64_t i = 0; i < n; i++)
            for (int64_t k = 0; k < Kc; k++) s[i * Kc + k] += b[k];
    }
    if (what == MF_CLS_DECISION) {
        *out = S;
        return MF_OK;
    }
    pred_job j = {.S = s, .n = n, .Kc = Kc, .what = what};
    if (what == MF_CLS_INDEX) {
        st = mf_tensor_new(out, MF_INT64, 1, &n);
        if (!st) j.idx = mf_tensor_data(*out);
    } else {
        int64_t sp[2] = {n, Kc == 1 ? 2 : Kc};
        st = mf_tensor_new(out, MF_FLOAT64, 2, sp);
        if (!st) j.P = mf_tensor_data(*out);
    }
    if (!st && n > 0) mf_parallel_for(n, 4096, pred_kernel, &j);
    mf_tensor_release(S);
    return st;
}

/* ---------------------------------------------------------------- labels */
static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

mf_status mf_classify_encode(const mf_tensor *y, mf_tensor **classes, mf_tensor **codes)
{
    *classes = *codes = NULL;
    if (!y || y->ndim != 1) return mf_error_set(MF_EINVAL, 1, "encode: 1-D tensor expected");
    int64_t n = y->shape[0];
    double *v = mf_malloc((size_t)(n + 1) * sizeof(double) * 2);
    if (!v) return mf_error_set(MF_ENOMEM, 0, "encode: out of memory");
    double *u = v + n;
    const char *base = mf_tensor_data(y);
    size_t es = mf_dtype_size(y->dtype);
    for (int64_t i = 0; i < n; i++) {
        v[i] = mf_load(y->dtype, base + (ptrdiff_t)(i * y->stride[0]) * (ptrdiff_t)es, 0);
        if (isnan(v[i])) {
            mf_free(v);
            return mf_error_set(MF_EINVAL, 1, "encode: NaN label at %lld", (long long)i);
        }
    }
    /* few distinct labels (the usual case): sorted insertion, O(n K);
     * otherwise a sort */
    int64_t K = 0;
    for (int64_t i = 0; i < n && K >= 0; i++) {
        int64_t lo = 0, hi = K;
        while (lo < hi) {
            int64_t mid = (lo + hi) / 2;
            if (u[mid] < v[i]) lo = mid + 1;
            else hi = mid;
        }
        if (lo < K && u[lo] == v[i]) continue;
        if (K == 256) {
            K = -1;
            break;
        }
        memmove(u + lo + 1, u + lo, (size_t)(K - lo) * sizeof(double));
        u[lo] = v[i];
        K++;
    }
    if (K < 0) {
        memcpy(u, v, (size_t)n * sizeof(double));
        qsort(u, (size_t)n, sizeof(double), cmp_double);
        K = 0;
        for (int64_t i = 0; i < n; i++)
            if (K == 0 || u[i] != u[K - 1]) u[K++] = u[i];
    }
    mf_status st = mf_tensor_new(classes, MF_FLOAT64, 1, &K);
    if (!st && (st = mf_tensor_new(codes, MF_INT64, 1, &n))) {
        mf_tensor_release(*classes);
        *classes = NULL;
    }
    if (!st) {
        if (K > 0) memcpy(mf_tensor_data(*classes), u, (size_t)K * sizeof(double));
        int64_t *c = mf_tensor_data(*codes);
        for (int64_t i = 0; i < n; i++) {
            int64_t lo = 0, hi = K - 1;
            while (lo < hi) {
                int64_t mid = (lo + hi) / 2;
                if (u[mid] < v[i]) lo = mid + 1;
                else hi = mid;
            }
            c[i] = lo;
        }
    }
    mf_free(v);
    return st;
}

mf_status mf_classify_find_nonfinite(const mf_tensor *X, int64_t *row, int64_t *col)
{
    *row = *col = -1;
    if (!X || X->ndim != 2 || !mf_dtype_is_float(X->dtype))
        return mf_error_set(MF_EINVAL, 1, "find_nonfinite: 2-D float tensor expected");
    const char *base = mf_tensor_data(X);
    size_t es = mf_dtype_size(X->dtype);
    if (X->dtype == MF_FLOAT64 && mf_tensor_is_contiguous(X)) {
        const double *x = (const double *)base;
        int64_t n = X->shape[0] * X->shape[1];
        double acc = 0; /* x * 0 is NaN for NaN and ±inf: one test per block */
        for (int64_t b = 0; b < n; b += 4096) {
            int64_t e = b + 4096 < n ? b + 4096 : n;
            for (int64_t i = b; i < e; i++) acc += x[i] * 0.0;
            if (acc != 0) break;
        }
        if (acc == 0) return MF_OK;
    }
    for (int64_t i = 0; i < X->shape[0]; i++)
        for (int64_t j = 0; j < X->shape[1]; j++) {
            double x = mf_load(X->dtype, base + (ptrdiff_t)(i * X->stride[0] + j * X->stride[1]) * (ptrdiff_t)es, 0);
            if (!isfinite(x)) {
                *row = i;
                *col = j;
                return MF_OK;
            }
        }
    return MF_OK;
}
