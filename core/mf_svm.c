/*
 * mf_svm.c — kernel SVM classification (see mf_svm.h).
 *
 * One binary problem per pair of classes: min ½αᵀQα - Σα subject to
 * 0 <= α_t <= C_t and Σ y_t α_t = 0, with Q_st = y_s y_t k(x_s, x_t). SMO
 * takes the maximal-violating i and the j of largest second-order decrease
 * (WSS3), solves the two-variable problem in closed form and updates the
 * gradient G = Qα - 1; it stops when max over the up set of -y G minus min
 * over the down set is below tol. Rows of Q come from an LRU cache of fixed
 * size and are computed on all cores (each entry alone: no result depends on
 * the thread count).
 */
#include "mf_svm.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "mf_blas.h"
#include "mf_random.h"
#include "mf_thread.h"

#define TAU 1e-12        /* the curvature used when a pair's is not positive (libsvm) */
#define PROB_FOLDS 5
#define PROB_MIN 1e-7    /* pairwise probabilities are clipped to [PROB_MIN, 1 - PROB_MIN] */
#define TILE_ROWS 256    /* predict: rows per kernel tile */

/* ---------------------------------------------------------------- kernels */

static double powi(double b, int64_t e)
{
    double r = 1.0;
    for (; e > 0; e >>= 1) {
        if (e & 1) r *= b;
        b *= b;
    }
    return r;
}

/* 2 doubles (GCC and clang vector extensions; SSE2 on x86-64) */
typedef double v2d __attribute__((vector_size(16)));
typedef int64_t v2i __attribute__((vector_size(16)));

static inline v2d load2(const double *p)
{
    v2d v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Four partial sums, of the products j ≡ 0, 1, 2, 3 (mod 4), then
 * (0 + 1) + (2 + 3). */
static inline double dot(const double *restrict a, const double *restrict b, int64_t d)
{
    v2d lo = {0, 0}, hi = {0, 0};
    int64_t j = 0;
    for (; j + 4 <= d; j += 4) {
        lo += load2(a + j) * load2(b + j);
        hi += load2(a + j + 2) * load2(b + j + 2);
    }
    double s0 = lo[0];
    for (; j < d; j++) s0 += a[j] * b[j];
    return (s0 + lo[1]) + (hi[0] + hi[1]);
}

/* exp(x) for x in [-700, 700] (clamped): x = k ln2 + r, |r| <= ln2/2, and
 * e^r by its Taylor polynomial of degree 12 (at most 4.7e-16 from libm's
 * exp, relative, measured over the range). exp_one and exp_array do the
 * same operations, so they give the same bits: a kernel value does not
 * depend on which path (or thread split) made it. */
#define EXP_SHIFT 6755399441055744.0 /* 1.5 * 2^52: adding it rounds to an integer */
#define EXP_LOG2E 1.4426950408889634
#define EXP_LN2_HI 6.93147180369123816490e-01
#define EXP_LN2_LO 1.90821492927058770002e-10
#define EXP_POLY(r)                                                                              \
    (1.0 + (r) * (1.0 + (r) * (1.0 / 2 + (r) * (1.0 / 6 + (r) * (1.0 / 24 + (r) * (1.0 / 120 +  \
     (r) * (1.0 / 720 + (r) * (1.0 / 5040 + (r) * (1.0 / 40320 + (r) * (1.0 / 362880 +          \
     (r) * (1.0 / 3628800 + (r) * (1.0 / 39916800 + (r) * (1.0 / 479001600)))))))))))))

static inline double exp_one(double x)
{
    x = x < -700.0 ? -700.0 : x > 700.0 ? 700.0 : x;
    double kd = x * EXP_LOG2E + EXP_SHIFT;
    int64_t ki, ks, bits;
    double shift = EXP_SHIFT, scale;
    memcpy(&ki, &kd, sizeof ki);
    memcpy(&ks, &shift, sizeof ks);
    kd -= EXP_SHIFT;
    double r = (x - kd * EXP_LN2_HI) - kd * EXP_LN2_LO;
    bits = (int64_t)((uint64_t)(ki - ks + 1023) << 52);
    memcpy(&scale, &bits, sizeof scale);
    return EXP_POLY(r) * scale;
}

/* exp_one on the n values of x, W at a time in vectors VD (of doubles) and
 * VI (of int64): the same operations lane by lane. */
#define DEFINE_EXP_ARRAY(NAME, ATTR, VD, VI, W)                                         \
    ATTR static void NAME(double *x, int64_t n)                                         \
    {                                                                                   \
        const VD zero = {0}, lo = zero - 700.0, hi = zero + 700.0, shift = zero + EXP_SHIFT; \
        int64_t i = 0;                                                                  \
        for (; i + (W) <= n; i += (W)) {                                                \
            VD v;                                                                       \
            memcpy(&v, x + i, sizeof v);                                                \
            VI below = v < lo, above = v > hi;                                          \
            v = (VD)(((VI)v & ~below) | ((VI)lo & below));                              \
            v = (VD)(((VI)v & ~above) | ((VI)hi & above));                              \
            VD kd = v * EXP_LOG2E + shift;                                              \
            VI ki = (VI)kd - (VI)shift;                                                 \
            kd -= shift;                                                                \
            VD r = (v - kd * EXP_LN2_HI) - kd * EXP_LN2_LO;                             \
            VD e = EXP_POLY(r) * (VD)((ki + 1023) << 52);                               \
            memcpy(x + i, &e, sizeof e);                                                \
        }                                                                               \
        for (; i < n; i++) x[i] = exp_one(x[i]);                                        \
    }

DEFINE_EXP_ARRAY(exp_array, , v2d, v2i, 2)

/* The kernel from the dot product xz and the squared norms xx, zz (rbf). */
static double kernel_of(const mf_svm_kernel_params *p, double xz, double xx, double zz)
{
    switch (p->kernel) {
    case MF_SVM_POLY: return powi(p->gamma * xz + p->coef0, p->degree);
    case MF_SVM_RBF: {
        double s = xx + zz - 2.0 * xz;
        return exp_one(-p->gamma * (s > 0 ? s : 0.0));
    }
    case MF_SVM_SIGMOID: return tanh(p->gamma * xz + p->coef0);
    case MF_SVM_LINEAR: break;
    }
    return xz;
}

static void exp_many(double *x, int64_t n);

/* kernel_of for m values at once: v[u] holds x·z_u on entry, k(x, z_u) on
 * return; zz[u] = ‖z_u‖² (read for rbf only). */
static void kernel_array(const mf_svm_kernel_params *p, double *v, const double *zz, double xx, int64_t m)
{
    if (p->kernel != MF_SVM_RBF) {
        for (int64_t u = 0; u < m; u++) v[u] = kernel_of(p, v[u], xx, 0.0);
        return;
    }
    for (int64_t u = 0; u < m; u++) {
        double s = xx + zz[u] - 2.0 * v[u];
        v[u] = -p->gamma * (s > 0 ? s : 0.0);
    }
    exp_many(v, m);
}

/* ---------------------------------------------------------------- AVX2
 * The same dot products and exponentials 4 doubles at a time, on CPUs that
 * have AVX2. The operations per lane are those of dot() and exp_one()
 * (no FMA), so the results are bit-identical to the SSE2 code: a fit does
 * not depend on the CPU it runs on. */
#if defined(__GNUC__) && defined(__x86_64__)
#define SVM_AVX2 1
typedef double v4d __attribute__((vector_size(32)));
typedef int64_t v4i __attribute__((vector_size(32)));

__attribute__((target("avx2"))) static inline v4d load4(const double *p)
{
    v4d v;
    memcpy(&v, p, sizeof v);
    return v;
}

__attribute__((target("avx2"))) static double dot_avx2(const double *restrict a, const double *restrict b,
                                                       int64_t d)
{
    v4d acc = {0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 4 <= d; j += 4) acc += load4(a + j) * load4(b + j);
    double s0 = acc[0];
    for (; j < d; j++) s0 += a[j] * b[j];
    return (s0 + acc[1]) + (acc[2] + acc[3]);
}

DEFINE_EXP_ARRAY(exp_array_avx2, __attribute__((target("avx2"))), v4d, v4i, 4)

/* v[u] = x·z_u for the m rows z_u = Z + rows[u] d (rows NULL: u0 + u). */
__attribute__((target("avx2"))) static void dots_avx2(const double *x, const double *Z, int64_t d,
                                                      const int64_t *rows, int64_t u0, int64_t m, double *v)
{
    for (int64_t u = 0; u < m; u++) v[u] = dot_avx2(x, Z + (rows ? rows[u] : u0 + u) * d, d);
}
#else
#define SVM_AVX2 0
#endif

static int use_avx2 = -1;

/* Decides once (before any worker runs) whether the AVX2 twins are used. */
static void cpu_init(void)
{
#if SVM_AVX2
    if (use_avx2 < 0) {
        __builtin_cpu_init();
        use_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
    }
#else
    use_avx2 = 0;
#endif
}

int mf_svm_set_simd(int on)
{
    use_avx2 = -1;
    cpu_init();
    if (!on) use_avx2 = 0;
    return use_avx2;
}

static void exp_many(double *x, int64_t n)
{
#if SVM_AVX2
    if (use_avx2 > 0) {
        exp_array_avx2(x, n);
        return;
    }
#endif
    exp_array(x, n);
}

static void dots(const double *x, const double *Z, int64_t d, const int64_t *rows, int64_t u0, int64_t m,
                 double *v)
{
#if SVM_AVX2
    if (use_avx2 > 0) {
        dots_avx2(x, Z, d, rows, u0, m, v);
        return;
    }
#endif
    for (int64_t u = 0; u < m; u++) v[u] = dot(x, Z + (rows ? rows[u] : u0 + u) * d, d);
}

static mf_status check_kernel(const mf_svm_kernel_params *p, int arg)
{
    if (p->kernel < MF_SVM_LINEAR || p->kernel > MF_SVM_SIGMOID)
        return mf_error_set(MF_EINVAL, arg, "SVC: unknown kernel %d", (int)p->kernel);
    if (!isfinite(p->gamma) || !(p->gamma > 0) || !isfinite(p->coef0))
        return mf_error_set(MF_EINVAL, arg, "SVC: gamma must be finite and > 0, coef0 finite");
    if (p->degree < 0) return mf_error_set(MF_EINVAL, arg, "SVC: degree must be >= 0");
    return MF_OK;
}

/* ---------------------------------------------------------------- Q rows
 * Q of the rows solved on, by position 0..l-1 (X, squared norms sq and
 * signs y by position). While the problem is shrunk, a row is computed at
 * the active positions act[0..na) only (a "partial" row, valid as long as
 * the active set only shrinks); a "full" row has every position. */
typedef struct qmatrix {
    const mf_svm_kernel_params *kp;
    const double *X, *sq, *y; /* by position: X contiguous [l x d] */
    int64_t d, l;
    const int64_t *act;
    int64_t na;
    /* LRU cache: slot s holds the row row_of[s]; a list from head (most
     * recent) to tail through next/prev; free slots on a stack */
    int64_t nslots, nfree, head, tail;
    float *data; /* as libsvm: single precision doubles the rows cached */
    int64_t *slot_of, *row_of, *prev, *next, *freel;
    unsigned char *full;
} qmatrix;

static mf_status q_init(qmatrix *q, double cache_mb)
{
    double rows = cache_mb * 1048576.0 / ((double)q->l * (double)sizeof(float));
    q->nslots = rows >= (double)q->l ? q->l : (int64_t)rows;
    if (q->nslots < 2) q->nslots = 2;
    q->head = q->tail = -1;
    q->data = mf_malloc((size_t)q->nslots * (size_t)q->l * sizeof(float));
    q->slot_of = mf_malloc((size_t)(q->l + 4 * q->nslots) * sizeof(int64_t));
    q->full = mf_malloc((size_t)q->nslots);
    if (!q->data || !q->slot_of || !q->full) {
        mf_free(q->data);
        mf_free(q->slot_of);
        mf_free(q->full);
        q->data = NULL;
        q->slot_of = NULL;
        q->full = NULL;
        return mf_error_set(MF_ENOMEM, 0, "SVC: out of memory for the kernel cache (%lld rows of %lld)",
                            (long long)q->nslots, (long long)q->l);
    }
    q->row_of = q->slot_of + q->l;
    q->prev = q->row_of + q->nslots;
    q->next = q->prev + q->nslots;
    q->freel = q->next + q->nslots;
    for (int64_t t = 0; t < q->l; t++) q->slot_of[t] = -1;
    q->nfree = q->nslots;
    for (int64_t s = 0; s < q->nslots; s++) q->freel[s] = q->nslots - 1 - s;
    return MF_OK;
}

static void q_free(qmatrix *q)
{
    mf_free(q->data);
    mf_free(q->slot_of);
    mf_free(q->full);
    q->data = NULL;
    q->slot_of = NULL;
    q->full = NULL;
}

static void lru_unlink(qmatrix *q, int64_t s)
{
    if (q->prev[s] >= 0) q->next[q->prev[s]] = q->next[s];
    else q->head = q->next[s];
    if (q->next[s] >= 0) q->prev[q->next[s]] = q->prev[s];
    else q->tail = q->prev[s];
}

static void lru_push_front(qmatrix *q, int64_t s)
{
    q->prev[s] = -1;
    q->next[s] = q->head;
    if (q->head >= 0) q->prev[q->head] = s;
    q->head = s;
    if (q->tail < 0) q->tail = s;
}

/* Forgets the partial rows (the active set is about to grow). */
static void q_drop_partial(qmatrix *q)
{
    for (int64_t s = q->head, nx; s >= 0; s = nx) {
        nx = q->next[s];
        if (q->full[s]) continue;
        lru_unlink(q, s);
        q->slot_of[q->row_of[s]] = -1;
        q->freel[q->nfree++] = s;
    }
}

typedef struct row_ctx {
    const qmatrix *q;
    const int64_t *list; /* positions to compute, or NULL: all */
    int64_t i;
    float *out;
} row_ctx;

#define ROW_CHUNK 128

static void q_row_range(int64_t lo, int64_t hi, void *vctx)
{
    const row_ctx *c = vctx;
    const qmatrix *q = c->q;
    int64_t a = c->i, d = q->d;
    const double *xa = q->X + a * d;
    double ya = q->y[a], v[ROW_CHUNK], zz[ROW_CHUNK];
    for (int64_t k0 = lo; k0 < hi; k0 += ROW_CHUNK) {
        int64_t m = hi - k0 < ROW_CHUNK ? hi - k0 : ROW_CHUNK;
        dots(xa, q->X, d, c->list ? c->list + k0 : NULL, k0, m, v);
        for (int64_t u = 0; u < m; u++) zz[u] = q->sq[c->list ? c->list[k0 + u] : k0 + u];
        kernel_array(q->kp, v, zz, q->sq[a], m);
        for (int64_t u = 0; u < m; u++) {
            int64_t t = c->list ? c->list[k0 + u] : k0 + u;
            c->out[t] = (float)(ya * q->y[t] * v[u]);
        }
    }
}

/* Row i of Q, at the active positions (full: at all), valid until two more
 * rows are fetched. */
static const float *q_row(qmatrix *q, int64_t i, int full)
{
    int64_t s = q->slot_of[i];
    int compute = s < 0 || (full && !q->full[s]);
    if (s >= 0) {
        lru_unlink(q, s);
    } else {
        if (q->nfree > 0) {
            s = q->freel[--q->nfree];
        } else {
            s = q->tail;
            lru_unlink(q, s);
            q->slot_of[q->row_of[s]] = -1;
        }
        q->row_of[s] = i;
        q->slot_of[i] = s;
    }
    if (compute) {
        /* a row of most positions is computed whole (and stays valid) */
        full = full || 4 * q->na > 3 * q->l;
        row_ctx c = {q, full ? NULL : q->act, i, q->data + s * q->l};
        mf_parallel_for(full ? q->l : q->na, 16384 / (q->d + 8) + 64, q_row_range, &c);
        q->full[s] = (unsigned char)full;
    }
    lru_push_front(q, s);
    return q->data + s * q->l;
}

/* ---------------------------------------------------------------- SMO */

typedef struct smo_out {
    double rho;
    int64_t n_iter;
    int converged;
} smo_out;

/* The state of one solve: alpha, the gradient G = Qα - 1, G_bar = the part
 * of G from the variables at their upper bound (kept for all positions, so
 * that the gradient of shrunk variables can be rebuilt), the active list. */
typedef struct smo {
    qmatrix q;
    int64_t l;
    double *alpha, *G, *Gbar, *QD, *ys, *Cb;
    int64_t *act;
    unsigned char *off;  /* work: 1 at inactive positions */
    unsigned char *set;  /* IN_UP: y α can grow; IN_LOW: it can shrink */
    double eps;
    int64_t imax;        /* the next i, found by the gradient update (-1: not yet) */
    double gmax;
} smo;

enum { IN_UP = 1, IN_LOW = 2 };

static int is_upper(const smo *s, int64_t t) { return s->alpha[t] >= s->Cb[t]; }
static int is_lower(const smo *s, int64_t t) { return s->alpha[t] <= 0; }

static void set_status(smo *s, int64_t t)
{
    int up = !is_upper(s, t), low = !is_lower(s, t);
    if (s->ys[t] < 0) {
        int tmp = up;
        up = low;
        low = tmp;
    }
    s->set[t] = (unsigned char)((up ? IN_UP : 0) | (low ? IN_LOW : 0));
}

/* The i of WSS3: the largest -y G over I_up (ties: the last). */
static void find_imax(smo *s)
{
    const double *ys = s->ys, *G = s->G;
    double gmax = -INFINITY;
    int64_t imax = -1;
    for (int64_t k = 0; k < s->q.na; k++) {
        int64_t t = s->act[k];
        double v = -ys[t] * G[t];
        if ((s->set[t] & IN_UP) && v >= gmax) {
            gmax = v;
            imax = t;
        }
    }
    s->imax = imax;
    s->gmax = gmax;
}

/* WSS3 over the active set: i maximal violating (find_imax), j of the
 * largest second-order decrease with i; returns 1 when optimal within eps. */
static int select_pair(smo *s, int64_t *oi, int64_t *oj)
{
    const double *ys = s->ys, *G = s->G, *QD = s->QD;
    const int64_t *act = s->act;
    if (s->imax < 0) find_imax(s);
    int64_t na = s->q.na, imax = s->imax, jmin = -1;
    double gmax = s->gmax, gmax2 = -INFINITY, best = INFINITY;
    s->imax = -1;
    if (imax < 0) return 1;
    const float *Qi = q_row(&s->q, imax, 0);
    double yi = ys[imax], qdi = QD[imax];
    for (int64_t k = 0; k < na; k++) {
        int64_t t = act[k];
        if (!(s->set[t] & IN_LOW)) continue;
        double yg = ys[t] * G[t], diff = gmax + yg;
        double quad = qdi + QD[t] - 2.0 * yi * ys[t] * (double)Qi[t];
        if (yg >= gmax2) gmax2 = yg;
        if (diff > 0) {
            double obj = -(diff * diff) / (quad > 0 ? quad : TAU);
            if (obj <= best) {
                jmin = t;
                best = obj;
            }
        }
    }
    if (gmax + gmax2 < s->eps || jmin < 0) return 1;
    *oi = imax;
    *oj = jmin;
    return 0;
}

/* The two-variable step on (i, j), alphas clipped to their box. */
static void update_pair(smo *s, const float *Qi, int64_t i, int64_t j)
{
    double *alpha = s->alpha, Ci = s->Cb[i], Cj = s->Cb[j];
    const double *G = s->G, *QD = s->QD;
    if (s->ys[i] != s->ys[j]) {
        double quad = QD[i] + QD[j] + 2.0 * Qi[j];
        double delta = (-G[i] - G[j]) / (quad > 0 ? quad : TAU), diff = alpha[i] - alpha[j];
        alpha[i] += delta;
        alpha[j] += delta;
        if (diff > 0) {
            if (alpha[j] < 0) {
                alpha[j] = 0;
                alpha[i] = diff;
            }
        } else if (alpha[i] < 0) {
            alpha[i] = 0;
            alpha[j] = -diff;
        }
        if (diff > Ci - Cj) {
            if (alpha[i] > Ci) {
                alpha[i] = Ci;
                alpha[j] = Ci - diff;
            }
        } else if (alpha[j] > Cj) {
            alpha[j] = Cj;
            alpha[i] = Cj + diff;
        }
    } else {
        double quad = QD[i] + QD[j] - 2.0 * Qi[j];
        double delta = (G[i] - G[j]) / (quad > 0 ? quad : TAU), sum = alpha[i] + alpha[j];
        alpha[i] -= delta;
        alpha[j] += delta;
        if (sum > Ci) {
            if (alpha[i] > Ci) {
                alpha[i] = Ci;
                alpha[j] = sum - Ci;
            }
        } else if (alpha[j] < 0) {
            alpha[j] = 0;
            alpha[i] = sum;
        }
        if (sum > Cj) {
            if (alpha[j] > Cj) {
                alpha[j] = Cj;
                alpha[i] = sum - Cj;
            }
        } else if (alpha[i] < 0) {
            alpha[i] = 0;
            alpha[j] = sum;
        }
    }
}

/* A bound variable whose gradient points further out than every violating
 * pair can be left out until the end (libsvm's shrinking). */
static int be_shrunk(const smo *s, int64_t t, double gmax1, double gmax2)
{
    if (is_upper(s, t)) return s->ys[t] > 0 ? -s->G[t] > gmax1 : -s->G[t] > gmax2;
    if (is_lower(s, t)) return s->ys[t] > 0 ? s->G[t] > gmax2 : s->G[t] > gmax1;
    return 0;
}

/* Makes every position active again, with its exact gradient: G_bar - 1
 * plus the contribution of the free variables. */
static void unshrink(smo *s)
{
    int64_t l = s->l, na = s->q.na;
    if (na == l) return;
    memset(s->off, 1, (size_t)l);
    for (int64_t k = 0; k < na; k++) s->off[s->act[k]] = 0;
    for (int64_t t = 0; t < l; t++)
        if (s->off[t]) s->G[t] = s->Gbar[t] - 1.0;
    for (int64_t k = 0; k < na; k++) {
        int64_t i = s->act[k];
        if (is_upper(s, i) || is_lower(s, i)) continue;
        const float *Qi = q_row(&s->q, i, 1);
        double ai = s->alpha[i];
        for (int64_t t = 0; t < l; t++)
            if (s->off[t]) s->G[t] += ai * Qi[t];
    }
    q_drop_partial(&s->q);
    for (int64_t t = 0; t < l; t++) s->act[t] = t;
    s->q.na = l;
    s->imax = -1;
}

static void do_shrinking(smo *s, int *unshrunk)
{
    double gmax1 = -INFINITY, gmax2 = -INFINITY; /* max over I_up of -yG, over I_low of yG */
    for (int64_t k = 0; k < s->q.na; k++) {
        int64_t t = s->act[k];
        double g = s->G[t];
        if (s->ys[t] > 0) {
            if (!is_upper(s, t) && -g > gmax1) gmax1 = -g;
            if (!is_lower(s, t) && g > gmax2) gmax2 = g;
        } else {
            if (!is_upper(s, t) && -g > gmax2) gmax2 = -g;
            if (!is_lower(s, t) && g > gmax1) gmax1 = g;
        }
    }
    if (!*unshrunk && gmax1 + gmax2 <= s->eps * 10) {
        *unshrunk = 1;
        unshrink(s);
    }
    int64_t m = 0;
    for (int64_t k = 0; k < s->q.na; k++)
        if (!be_shrunk(s, s->act[k], gmax1, gmax2)) s->act[m++] = s->act[k];
    s->q.na = m;
    s->imax = -1;
}

/* rho: the mean of y G over the free variables, or the middle of the
 * feasible interval when none is free. */
static double calc_rho(const smo *s)
{
    double ub = INFINITY, lb = -INFINITY, sum = 0;
    int64_t nfree = 0;
    for (int64_t t = 0; t < s->l; t++) {
        double yg = s->ys[t] * s->G[t];
        if (is_upper(s, t)) {
            if (s->ys[t] < 0) ub = yg < ub ? yg : ub;
            else lb = yg > lb ? yg : lb;
        } else if (is_lower(s, t)) {
            if (s->ys[t] > 0) ub = yg < ub ? yg : ub;
            else lb = yg > lb ? yg : lb;
        } else {
            nfree++;
            sum += yg;
        }
    }
    return nfree > 0 ? sum / (double)nfree : (ub + lb) / 2;
}

/* Solves the pair problem on the rows idx[0..l) of pd; alpha[l] out. Cb are
 * the bounds of the pair's rows (indexed like pd). */
typedef struct pair_data {
    const mf_svm_kernel_params *kp;
    const double *X, *sq, *y, *Cb;
    int64_t d;
} pair_data;

static mf_status smo_solve(const pair_data *pd, const int64_t *idx, int64_t l, const mf_svm_opts *o,
                           double *alpha, smo_out *r)
{
    /* the rows by position: pd's own when idx is 0..l-1, else a copy */
    int64_t d = pd->d, identity = 1;
    for (int64_t t = 0; t < l && identity; t++) identity = idx[t] == t;
    smo s = {.q = {.kp = pd->kp, .d = d, .l = l, .na = l}, .l = l, .alpha = alpha, .eps = o->tol};
    mf_status st = q_init(&s.q, o->cache_mb);
    if (st) return st;
    double *w = mf_malloc((size_t)(6 * l + (identity ? 0 : l * d)) * sizeof(double));
    s.act = mf_malloc((size_t)l * sizeof(int64_t));
    s.off = mf_malloc((size_t)(2 * l));
    if (!w || !s.act || !s.off) {
        mf_free(w);
        mf_free(s.act);
        mf_free(s.off);
        q_free(&s.q);
        return mf_error_set(MF_ENOMEM, 0, "SVC: out of memory");
    }
    s.G = w;
    s.Gbar = w + l;
    s.QD = w + 2 * l;
    s.ys = w + 3 * l;
    s.Cb = w + 4 * l;
    double *sq = w + 5 * l, *Xs = identity ? (double *)pd->X : w + 6 * l;
    s.q.act = s.act;
    s.q.X = Xs;
    s.q.sq = sq;
    s.q.y = s.ys;
    for (int64_t t = 0; t < l; t++) {
        int64_t a = idx[t];
        if (!identity) memcpy(Xs + t * d, pd->X + a * d, (size_t)d * sizeof(double));
        sq[t] = pd->sq[a];
        s.QD[t] = kernel_of(pd->kp, sq[t], sq[t], sq[t]);
        s.ys[t] = pd->y[a];
        s.Cb[t] = pd->Cb[a];
        alpha[t] = 0;
        s.G[t] = -1.0;
        s.Gbar[t] = 0;
        s.act[t] = t;
    }
    s.set = s.off + l;
    for (int64_t t = 0; t < l; t++) set_status(&s, t);
    s.imax = -1;
    int64_t max_iter = o->max_iter > 0 ? o->max_iter : (l > INT64_MAX / 100 ? INT64_MAX : 100 * l);
    if (o->max_iter <= 0 && max_iter < 10000000) max_iter = 10000000;
    int64_t period = l < 1000 ? l : 1000, counter = period + 1, i, j;
    int unshrunk = 0;
    r->n_iter = 0;
    r->converged = 1;
    for (;;) {
        if (--counter == 0) {
            counter = period;
            do_shrinking(&s, &unshrunk);
        }
        if (select_pair(&s, &i, &j)) {
            unshrink(&s);
            if (select_pair(&s, &i, &j)) break;
            counter = 1; /* shrink again at the next iteration */
        }
        if (r->n_iter >= max_iter) {
            r->converged = 0;
            unshrink(&s);
            break;
        }
        r->n_iter++;
        const float *Qi = q_row(&s.q, i, 0), *Qj = q_row(&s.q, j, 0);
        double ai = alpha[i], aj = alpha[j];
        int ui = is_upper(&s, i), uj = is_upper(&s, j);
        update_pair(&s, Qi, i, j);
        set_status(&s, i);
        set_status(&s, j);
        /* the gradient update finds the next i on its way (find_imax) */
        double dai = alpha[i] - ai, daj = alpha[j] - aj, gmax = -INFINITY;
        int64_t imax = -1;
        for (int64_t k = 0; k < s.q.na; k++) {
            int64_t t = s.act[k];
            double g = s.G[t] + (Qi[t] * dai + Qj[t] * daj), v = -s.ys[t] * g;
            s.G[t] = g;
            if ((s.set[t] & IN_UP) && v >= gmax) {
                gmax = v;
                imax = t;
            }
        }
        s.imax = imax;
        s.gmax = gmax;
        /* G_bar follows the variables that reach or leave their upper bound */
        int64_t who[2] = {i, j};
        int was[2] = {ui, uj};
        for (int k = 0; k < 2; k++) {
            int64_t v = who[k];
            if (was[k] == is_upper(&s, v)) continue;
            const float *Qv = q_row(&s.q, v, 1);
            double c = was[k] ? -s.Cb[v] : s.Cb[v];
            for (int64_t t = 0; t < l; t++) s.Gbar[t] += c * Qv[t];
        }
    }
    r->rho = calc_rho(&s);
    mf_free(w);
    mf_free(s.act);
    mf_free(s.off);
    q_free(&s.q);
    return MF_OK;
}

/* ---------------------------------------------------------------- Platt */

static double sigmoid_predict(double f, double A, double B)
{
    double z = f * A + B;
    return z >= 0 ? exp(-z) / (1.0 + exp(-z)) : 1.0 / (1.0 + exp(z));
}

/* The sigmoid 1 / (1 + exp(A f + B)) of largest likelihood of the labels
 * with Platt's smoothed targets: Newton's method with backtracking (Lin, Lin
 * and Weng 2007). */
static void sigmoid_train(int64_t l, const double *f, const double *y, double *oA, double *oB)
{
    double prior1 = 0, prior0 = 0;
    for (int64_t t = 0; t < l; t++) {
        if (y[t] > 0) prior1 += 1;
        else prior0 += 1;
    }
    const double hi = (prior1 + 1.0) / (prior1 + 2.0), lo = 1.0 / (prior0 + 2.0);
    const double min_step = 1e-10, sigma = 1e-12, eps = 1e-5;
    double A = 0.0, B = log((prior0 + 1.0) / (prior1 + 1.0)), fval = 0.0;
    for (int64_t t = 0; t < l; t++) {
        double tt = y[t] > 0 ? hi : lo, z = f[t] * A + B;
        fval += z >= 0 ? tt * z + log1p(exp(-z)) : (tt - 1) * z + log1p(exp(z));
    }
    for (int iter = 0; iter < 100; iter++) {
        double h11 = sigma, h22 = sigma, h21 = 0, g1 = 0, g2 = 0;
        for (int64_t t = 0; t < l; t++) {
            double z = f[t] * A + B, p, q;
            if (z >= 0) {
                p = exp(-z) / (1.0 + exp(-z));
                q = 1.0 / (1.0 + exp(-z));
            } else {
                p = 1.0 / (1.0 + exp(z));
                q = exp(z) / (1.0 + exp(z));
            }
            double d2 = p * q, d1 = (y[t] > 0 ? hi : lo) - p;
            h11 += f[t] * f[t] * d2;
            h22 += d2;
            h21 += f[t] * d2;
            g1 += f[t] * d1;
            g2 += d1;
        }
        if (fabs(g1) < eps && fabs(g2) < eps) break;
        double det = h11 * h22 - h21 * h21;
        double dA = -(h22 * g1 - h21 * g2) / det, dB = -(-h21 * g1 + h11 * g2) / det;
        double gd = g1 * dA + g2 * dB, step = 1.0;
        while (step >= min_step) {
            double nA = A + step * dA, nB = B + step * dB, nf = 0;
            for (int64_t t = 0; t < l; t++) {
                double tt = y[t] > 0 ? hi : lo, z = f[t] * nA + nB;
                nf += z >= 0 ? tt * z + log1p(exp(-z)) : (tt - 1) * z + log1p(exp(z));
            }
            if (nf < fval + 0.0001 * step * gd) {
                A = nA;
                B = nB;
                fval = nf;
                break;
            }
            step /= 2.0;
        }
        if (step < min_step) break;
    }
    *oA = A;
    *oB = B;
}

/* Decision values of the pair's rows by 5-fold cross-validation (folds of a
 * random permutation), then the sigmoid fitted to them. */
static mf_status pair_probability(const pair_data *pd, int64_t l, const mf_svm_opts *o, mf_rng *rng,
                                  double *A, double *B)
{
    int64_t *perm = mf_malloc((size_t)(2 * l) * sizeof(int64_t));
    double *f = mf_malloc((size_t)(3 * l) * sizeof(double));
    if (!perm || !f) {
        mf_free(perm);
        mf_free(f);
        return mf_error_set(MF_ENOMEM, 0, "SVC: out of memory");
    }
    int64_t *train = perm + l;
    double *alpha = f + l, *yl = f + 2 * l;
    for (int64_t t = 0; t < l; t++) perm[t] = t;
    for (int64_t t = 0; t < l - 1; t++) {
        int64_t u = t + (int64_t)mf_rng_below(rng, (uint64_t)(l - t));
        int64_t tmp = perm[t];
        perm[t] = perm[u];
        perm[u] = tmp;
    }
    mf_status st = MF_OK;
    for (int64_t k = 0; k < PROB_FOLDS && !st; k++) {
        int64_t begin = k * l / PROB_FOLDS, end = (k + 1) * l / PROB_FOLDS, m = 0, np = 0, nn = 0;
        for (int64_t t = 0; t < l; t++) {
            if (t >= begin && t < end) continue;
            train[m++] = perm[t];
            if (pd->y[perm[t]] > 0) np++;
            else nn++;
        }
        if (np == 0 || nn == 0) {
            double v = np > 0 ? 1.0 : nn > 0 ? -1.0 : 0.0;
            for (int64_t t = begin; t < end; t++) f[perm[t]] = v;
            continue;
        }
        smo_out r;
        if ((st = smo_solve(pd, train, m, o, alpha, &r))) break;
        for (int64_t t = begin; t < end; t++) {
            int64_t h = perm[t];
            const double *xh = pd->X + h * pd->d;
            double s = 0;
            for (int64_t u = 0; u < m; u++) {
                if (alpha[u] <= 0) continue;
                int64_t a = train[u];
                s += alpha[u] * pd->y[a] *
                     kernel_of(pd->kp, dot(pd->X + a * pd->d, xh, pd->d), pd->sq[a], pd->sq[h]);
            }
            f[h] = s - r.rho;
        }
    }
    if (!st) {
        for (int64_t t = 0; t < l; t++) yl[t] = pd->y[t];
        sigmoid_train(l, f, yl, A, B);
    }
    mf_free(perm);
    mf_free(f);
    return st;
}

/* ---------------------------------------------------------------- fit */

static mf_status check_fit(const mf_tensor *X, const mf_tensor *y, int64_t K, const mf_tensor *w,
                           const mf_svm_opts *o)
{
    if (!X || X->ndim != 2 || X->dtype != MF_FLOAT64 || !mf_tensor_is_contiguous(X))
        return mf_error_set(MF_EINVAL, 1, "SVC: X must be a contiguous 2-D float64 tensor");
    int64_t n = X->shape[0];
    if (!y || y->ndim != 1 || y->dtype != MF_INT64 || !mf_tensor_is_contiguous(y) || y->shape[0] != n)
        return mf_error_set(MF_EINVAL, 2, "SVC: y must be a contiguous int64 tensor of %lld codes",
                            (long long)n);
    if (K < 2) return mf_error_set(MF_EINVAL, 3, "SVC: at least 2 classes needed, got %lld", (long long)K);
    if (w && (w->ndim != 1 || w->dtype != MF_FLOAT64 || !mf_tensor_is_contiguous(w) || w->shape[0] != n))
        return mf_error_set(MF_EINVAL, 4, "SVC: weight must be a contiguous float64 tensor of %lld entries",
                            (long long)n);
    if (!(o->C > 0) || !isfinite(o->C)) return mf_error_set(MF_EINVAL, 5, "SVC: C must be finite and > 0");
    if (!(o->tol > 0)) return mf_error_set(MF_EINVAL, 5, "SVC: tol must be > 0");
    if (!(o->cache_mb >= 0)) return mf_error_set(MF_EINVAL, 5, "SVC: cache size must be >= 0");
    if (!mf_blas_fits(n, X->shape[1], 1)) return mf_error_set(MF_ERANGE, 1, "SVC: X too large");
    const int64_t *code = mf_tensor_data(y);
    const double *wd = w ? mf_tensor_data(w) : NULL;
    for (int64_t i = 0; i < n; i++) {
        if (code[i] < 0 || code[i] >= K)
            return mf_error_set(MF_ERANGE, 2, "SVC: class code %lld at row %lld out of range [0, %lld)",
                                (long long)code[i], (long long)i, (long long)K);
        if (wd && (!(wd[i] >= 0) || !isfinite(wd[i])))
            return mf_error_set(MF_EINVAL, 4, "SVC: weight %g at row %lld is not a finite number >= 0",
                                wd[i], (long long)i);
    }
    return check_kernel(&o->kp, 5);
}

void mf_svm_fit_out_release(mf_svm_fit_out *out)
{
    mf_tensor **ts[] = {&out->support, &out->n_support, &out->dual_coef, &out->intercept,
                        &out->n_iter, &out->prob_a, &out->prob_b};
    for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) {
        mf_tensor_release(*ts[k]);
        *ts[k] = NULL;
    }
}

/* Work of a fit: the rows of weight > 0 grouped by class (rows[start[c] ..
 * start[c] + count[c])), the alphas of each pair, the pair's data. */
typedef struct fit_work {
    int64_t *rows, *start, *count, *idx, *svpos;
    double *alpha, *px, *psq, *py, *pC;
    unsigned char *nonzero;
} fit_work;

static void fit_work_free(fit_work *fw)
{
    mf_free(fw->rows);
    mf_free(fw->start);
    mf_free(fw->alpha);
    mf_free(fw->px);
    mf_free(fw->nonzero);
}

static mf_status fit_work_alloc(fit_work *fw, int64_t n, int64_t d, int64_t K)
{
    memset(fw, 0, sizeof *fw);
    fw->rows = mf_malloc((size_t)(3 * n + 1) * sizeof(int64_t));
    fw->start = mf_malloc((size_t)(2 * K + 1) * sizeof(int64_t));
    fw->alpha = mf_malloc((size_t)((K - 1) * n + 1) * sizeof(double));
    fw->px = mf_malloc((size_t)(n * d + 3 * n + 1) * sizeof(double));
    fw->nonzero = mf_calloc((size_t)n + 1, 1);
    if (!fw->rows || !fw->start || !fw->alpha || !fw->px || !fw->nonzero) {
        fit_work_free(fw);
        return mf_error_set(MF_ENOMEM, 0, "SVC: out of memory");
    }
    fw->idx = fw->rows + n;
    fw->svpos = fw->idx + n;
    fw->count = fw->start + K;
    fw->psq = fw->px + n * d;
    fw->py = fw->psq + n;
    fw->pC = fw->py + n;
    return MF_OK;
}

static mf_status new_outputs(mf_svm_fit_out *out, int64_t K, int64_t nsv, int probability)
{
    int64_t np = K * (K - 1) / 2, s1[1] = {nsv}, sk[1] = {K}, sc[2] = {K - 1, nsv}, sp[1] = {np};
    mf_status st;
    if ((st = mf_tensor_new(&out->support, MF_INT64, 1, s1)) ||
        (st = mf_tensor_new(&out->n_support, MF_INT64, 1, sk)) ||
        (st = mf_tensor_zeros(&out->dual_coef, MF_FLOAT64, 2, sc)) ||
        (st = mf_tensor_new(&out->intercept, MF_FLOAT64, 1, sp)) ||
        (st = mf_tensor_new(&out->n_iter, MF_INT64, 1, sp)))
        return st;
    if (probability &&
        ((st = mf_tensor_new(&out->prob_a, MF_FLOAT64, 1, sp)) ||
         (st = mf_tensor_new(&out->prob_b, MF_FLOAT64, 1, sp))))
        return st;
    return MF_OK;
}

mf_status mf_svm_fit(const mf_tensor *X, const mf_tensor *y, int64_t K, const mf_tensor *weight,
                     const mf_svm_opts *o, mf_svm_fit_out *out)
{
    memset(out, 0, sizeof *out);
    mf_status st = check_fit(X, y, K, weight, o);
    if (st) return st;
    cpu_init();
    int64_t n = X->shape[0], d = X->shape[1], np = K * (K - 1) / 2;
    const double *Xd = mf_tensor_data(X), *wd = weight ? mf_tensor_data(weight) : NULL;
    const int64_t *code = mf_tensor_data(y);
    fit_work fw;
    if ((st = fit_work_alloc(&fw, n, d, K))) return st;
    /* group the rows by class */
    for (int64_t c = 0; c < K; c++) fw.count[c] = 0;
    for (int64_t i = 0; i < n; i++)
        if (!wd || wd[i] > 0) fw.count[code[i]]++;
    int64_t N = 0;
    for (int64_t c = 0; c < K; c++) {
        if (fw.count[c] == 0) {
            st = mf_error_set(MF_EINVAL, 2, "SVC: class %lld has no rows%s", (long long)c,
                              wd ? " of weight > 0" : "");
            goto fail;
        }
        fw.start[c] = N;
        N += fw.count[c];
    }
    {
        int64_t *fill = fw.svpos; /* as a cursor per class first */
        for (int64_t c = 0; c < K; c++) fill[c] = fw.start[c];
        for (int64_t i = 0; i < n; i++)
            if (!wd || wd[i] > 0) fw.rows[fill[code[i]]++] = i;
    }
    mf_rng rng;
    mf_rng_seed(&rng, o->seed);
    out->converged = 1;
    double *probA = NULL, *probB = NULL, *rho = NULL;
    int64_t *iters = NULL;
    double *pair_stats = mf_malloc((size_t)(4 * np) * sizeof(double));
    if (!pair_stats) {
        st = mf_error_set(MF_ENOMEM, 0, "SVC: out of memory");
        goto fail;
    }
    rho = pair_stats;
    probA = pair_stats + np;
    probB = pair_stats + 2 * np;
    iters = (int64_t *)(pair_stats + 3 * np);
    /* one problem per pair: the rows of class a (y = +1) then of class b */
    double *alpha_p = fw.alpha;
    for (int64_t a = 0, p = 0; a < K; a++) {
        for (int64_t b = a + 1; b < K; b++, p++) {
            int64_t la = fw.count[a], l = la + fw.count[b];
            for (int64_t t = 0; t < l; t++) {
                int64_t row = fw.rows[t < la ? fw.start[a] + t : fw.start[b] + t - la];
                memcpy(fw.px + t * d, Xd + row * d, (size_t)d * sizeof(double));
                fw.psq[t] = dot(fw.px + t * d, fw.px + t * d, d);
                fw.py[t] = t < la ? 1.0 : -1.0;
                fw.pC[t] = o->C * (wd ? wd[row] : 1.0);
                fw.idx[t] = t;
            }
            pair_data pd = {&o->kp, fw.px, fw.psq, fw.py, fw.pC, d};
            if (o->probability && (st = pair_probability(&pd, l, o, &rng, probA + p, probB + p)))
                break;
            smo_out r;
            if ((st = smo_solve(&pd, fw.idx, l, o, alpha_p, &r))) break;
            rho[p] = r.rho;
            iters[p] = r.n_iter;
            out->converged &= r.converged;
            for (int64_t t = 0; t < l; t++)
                if (alpha_p[t] > 0) fw.nonzero[t < la ? fw.start[a] + t : fw.start[b] + t - la] = 1;
            alpha_p += l;
        }
        if (st) break;
    }
    if (st) {
        mf_free(pair_stats);
        goto fail;
    }
    /* the support vectors, their coefficients */
    int64_t nsv = 0;
    for (int64_t g = 0; g < N; g++) fw.svpos[g] = fw.nonzero[g] ? nsv++ : -1;
    if ((st = new_outputs(out, K, nsv, o->probability))) {
        mf_free(pair_stats);
        goto fail;
    }
    int64_t *sup = mf_tensor_data(out->support), *nsup = mf_tensor_data(out->n_support);
    double *coef = mf_tensor_data(out->dual_coef);
    for (int64_t c = 0; c < K; c++) {
        nsup[c] = 0;
        for (int64_t g = fw.start[c]; g < fw.start[c] + fw.count[c]; g++) {
            if (fw.svpos[g] < 0) continue;
            sup[fw.svpos[g]] = fw.rows[g];
            nsup[c]++;
        }
    }
    alpha_p = fw.alpha;
    for (int64_t a = 0, p = 0; a < K; a++) {
        for (int64_t b = a + 1; b < K; b++, p++) {
            int64_t la = fw.count[a], lb = fw.count[b];
            for (int64_t t = 0; t < la; t++) {
                int64_t s = fw.svpos[fw.start[a] + t];
                if (s >= 0) coef[(b - 1) * nsv + s] = alpha_p[t];
            }
            for (int64_t t = 0; t < lb; t++) {
                int64_t s = fw.svpos[fw.start[b] + t];
                if (s >= 0) coef[a * nsv + s] = -alpha_p[la + t];
            }
            alpha_p += la + lb;
            ((double *)mf_tensor_data(out->intercept))[p] = -rho[p];
            ((int64_t *)mf_tensor_data(out->n_iter))[p] = iters[p];
            if (o->probability) {
                ((double *)mf_tensor_data(out->prob_a))[p] = probA[p];
                ((double *)mf_tensor_data(out->prob_b))[p] = probB[p];
            }
        }
    }
    mf_free(pair_stats);
    fit_work_free(&fw);
    return MF_OK;
fail:
    fit_work_free(&fw);
    mf_svm_fit_out_release(out);
    return st;
}

mf_status mf_svm_gamma_scale(const mf_tensor *X, double *gamma)
{
    if (!X || X->ndim != 2 || X->dtype != MF_FLOAT64 || !mf_tensor_is_contiguous(X) ||
        X->shape[0] * X->shape[1] == 0)
        return mf_error_set(MF_EINVAL, 1, "SVC: X must be a nonempty contiguous 2-D float64 tensor");
    int64_t m = X->shape[0] * X->shape[1];
    const double *x = mf_tensor_data(X);
    double mean = 0, var = 0;
    for (int64_t i = 0; i < m; i++) mean += x[i];
    mean /= (double)m;
    for (int64_t i = 0; i < m; i++) var += (x[i] - mean) * (x[i] - mean);
    var /= (double)m;
    *gamma = var > 0 ? 1.0 / ((double)X->shape[1] * var) : 1.0;
    return MF_OK;
}

/* ---------------------------------------------------------------- predict */

/* Pairwise coupling of r[i][j] (i != j) into p (Wu, Lin and Weng 2004,
 * method 2, as libsvm); Q, Qp: K x K and K work. */
static void couple(int64_t K, const double *r, double *p, double *Q, double *Qp)
{
    int64_t max_iter = K > 100 ? K : 100;
    double eps = 0.005 / (double)K;
    for (int64_t t = 0; t < K; t++) {
        p[t] = 1.0 / (double)K;
        Q[t * K + t] = 0;
        for (int64_t j = 0; j < K; j++) {
            if (j == t) continue;
            Q[t * K + t] += r[j * K + t] * r[j * K + t];
            Q[t * K + j] = -r[j * K + t] * r[t * K + j];
        }
    }
    for (int64_t iter = 0; iter < max_iter; iter++) {
        double pQp = 0, max_err = 0;
        for (int64_t t = 0; t < K; t++) {
            Qp[t] = 0;
            for (int64_t j = 0; j < K; j++) Qp[t] += Q[t * K + j] * p[j];
            pQp += p[t] * Qp[t];
        }
        for (int64_t t = 0; t < K; t++) {
            double e = fabs(Qp[t] - pQp);
            if (e > max_err) max_err = e;
        }
        if (max_err < eps) break;
        for (int64_t t = 0; t < K; t++) {
            double diff = (-Qp[t] + pQp) / Q[t * K + t];
            p[t] += diff;
            pQp = (pQp + diff * (diff * Q[t * K + t] + 2 * Qp[t])) / (1 + diff) / (1 + diff);
            for (int64_t j = 0; j < K; j++) {
                Qp[j] = (Qp[j] + diff * Q[t * K + j]) / (1 + diff);
                p[j] /= (1 + diff);
            }
        }
    }
}

typedef struct pred_ctx {
    const mf_svm_model *m;
    mf_svm_out what;
    const double *X, *sv, *svsq, *coef, *icpt, *pa, *pb;
    const int64_t *nsup;
    int64_t d, nsv, K, np, row0;
    double *kt;      /* TILE_ROWS x nsv: dot products, then kernel values */
    double *scratch; /* TILE_ROWS x (np + 3K + 2K²) */
    int64_t *start;  /* K: first support vector of each class */
    void *out;
} pred_ctx;

static void pred_rows(int64_t lo, int64_t hi, void *vctx)
{
    const pred_ctx *c = vctx;
    int64_t K = c->K, np = c->np, nsv = c->nsv;
    for (int64_t r = lo; r < hi; r++) {
        int64_t i = c->row0 + r;
        const double *x = c->X + i * c->d;
        double xx = dot(x, x, c->d), *kr = c->kt + r * nsv;
        double *dec = c->scratch + r * (np + 3 * K + 2 * K * K), *vote = dec + np, *conf = vote + K,
               *p = conf + K, *rr = p + K, *Q = rr + K * K;
        kernel_array(&c->m->kp, kr, c->svsq, xx, nsv);
        for (int64_t a = 0, q = 0; a < K; a++) {
            for (int64_t b = a + 1; b < K; b++, q++) {
                const double *ca = c->coef + (b - 1) * nsv, *cb = c->coef + a * nsv;
                double s = 0;
                for (int64_t t = c->start[a]; t < c->start[a] + c->nsup[a]; t++) s += ca[t] * kr[t];
                for (int64_t t = c->start[b]; t < c->start[b] + c->nsup[b]; t++) s += cb[t] * kr[t];
                dec[q] = s + c->icpt[q];
            }
        }
        if (c->what == MF_SVM_OVO) {
            memcpy((double *)c->out + i * np, dec, (size_t)np * sizeof(double));
            continue;
        }
        if (c->what == MF_SVM_PROBA) {
            for (int64_t a = 0, q = 0; a < K; a++) {
                for (int64_t b = a + 1; b < K; b++, q++) {
                    double v = sigmoid_predict(dec[q], c->pa[q], c->pb[q]);
                    v = v < PROB_MIN ? PROB_MIN : v > 1 - PROB_MIN ? 1 - PROB_MIN : v;
                    rr[a * K + b] = v;
                    rr[b * K + a] = 1 - v;
                }
            }
            double *po = (double *)c->out + i * K;
            if (K == 2) {
                po[0] = rr[1];
                po[1] = rr[2];
            } else {
                couple(K, rr, po, Q, p);
            }
            continue;
        }
        for (int64_t k = 0; k < K; k++) vote[k] = conf[k] = 0;
        for (int64_t a = 0, q = 0; a < K; a++) {
            for (int64_t b = a + 1; b < K; b++, q++) {
                if (c->what == MF_SVM_VOTE) vote[dec[q] > 0 ? a : b] += 1;
                else vote[dec[q] < 0 ? b : a] += 1;
                conf[a] += dec[q];
                conf[b] -= dec[q];
            }
        }
        if (c->what == MF_SVM_VOTE) {
            int64_t best = 0;
            for (int64_t k = 1; k < K; k++)
                if (vote[k] > vote[best]) best = k;
            ((int64_t *)c->out)[i] = best;
        } else {
            double *o = (double *)c->out + i * K;
            for (int64_t k = 0; k < K; k++) o[k] = vote[k] + conf[k] / (3.0 * (fabs(conf[k]) + 1.0));
        }
    }
}

static mf_status check_model(const mf_svm_model *m, int64_t d)
{
    int64_t K = m->K, np = K * (K - 1) / 2;
    if (K < 2) return mf_error_set(MF_EINVAL, 2, "SVC model: at least 2 classes needed");
    const mf_tensor *sv = m->sv, *ns = m->n_support, *dc = m->dual_coef, *ic = m->intercept;
    if (!sv || sv->ndim != 2 || sv->dtype != MF_FLOAT64 || !mf_tensor_is_contiguous(sv) || sv->shape[1] != d)
        return mf_error_set(MF_EINVAL, 2, "SVC model: support vectors must be contiguous float64 [nSV x %lld]",
                            (long long)d);
    int64_t nsv = sv->shape[0];
    if (!ns || ns->ndim != 1 || ns->dtype != MF_INT64 || !mf_tensor_is_contiguous(ns) || ns->shape[0] != K)
        return mf_error_set(MF_EINVAL, 2, "SVC model: n_support must be int64 [%lld]", (long long)K);
    const int64_t *nsup = mf_tensor_data(ns);
    int64_t total = 0;
    for (int64_t k = 0; k < K; k++) {
        if (nsup[k] < 0 || nsup[k] > nsv) return mf_error_set(MF_EINVAL, 2, "SVC model: bad n_support");
        total += nsup[k];
    }
    if (total != nsv)
        return mf_error_set(MF_EINVAL, 2, "SVC model: n_support sums to %lld, %lld support vectors",
                            (long long)total, (long long)nsv);
    if (!dc || dc->ndim != 2 || dc->dtype != MF_FLOAT64 || !mf_tensor_is_contiguous(dc) ||
        dc->shape[0] != K - 1 || dc->shape[1] != nsv)
        return mf_error_set(MF_EINVAL, 2, "SVC model: dual_coef must be float64 [%lld x %lld]",
                            (long long)(K - 1), (long long)nsv);
    if (!ic || ic->ndim != 1 || ic->dtype != MF_FLOAT64 || !mf_tensor_is_contiguous(ic) || ic->shape[0] != np)
        return mf_error_set(MF_EINVAL, 2, "SVC model: intercept must be float64 [%lld]", (long long)np);
    const mf_tensor *pr[2] = {m->prob_a, m->prob_b};
    for (int k = 0; k < 2; k++)
        if (pr[k] && (pr[k]->ndim != 1 || pr[k]->dtype != MF_FLOAT64 || !mf_tensor_is_contiguous(pr[k]) ||
                      pr[k]->shape[0] != np))
            return mf_error_set(MF_EINVAL, 2, "SVC model: probA/probB must be float64 [%lld]", (long long)np);
    return check_kernel(&m->kp, 2);
}

mf_status mf_svm_predict(const mf_tensor *X, const mf_svm_model *m, mf_svm_out what, mf_tensor **out)
{
    *out = NULL;
    if (!X || X->ndim != 2 || X->dtype != MF_FLOAT64 || !mf_tensor_is_contiguous(X))
        return mf_error_set(MF_EINVAL, 1, "SVC: X must be a contiguous 2-D float64 tensor");
    int64_t n = X->shape[0], d = X->shape[1];
    mf_status st = check_model(m, d);
    if (st) return st;
    cpu_init();
    if (what < MF_SVM_OVO || what > MF_SVM_PROBA) return mf_error_set(MF_EINVAL, 3, "SVC: unknown output");
    if (what == MF_SVM_PROBA && (!m->prob_a || !m->prob_b))
        return mf_error_set(MF_EINVAL, 3, "SVC: the model has no probability sigmoids");
    int64_t K = m->K, np = K * (K - 1) / 2, nsv = m->sv->shape[0];
    if (!mf_blas_fits(n, d, nsv)) return mf_error_set(MF_ERANGE, 1, "SVC: too many rows or columns for BLAS");
    int64_t sh2[2] = {n, what == MF_SVM_OVO ? np : K}, sh1[1] = {n};
    if (what == MF_SVM_VOTE) st = mf_tensor_new(out, MF_INT64, 1, sh1);
    else st = mf_tensor_new(out, MF_FLOAT64, 2, sh2);
    if (st) return st;
    size_t per_row = (size_t)(nsv + np + 3 * K + 2 * K * K);
    double *buf = mf_malloc(((size_t)TILE_ROWS * per_row + (size_t)nsv + 1) * sizeof(double));
    int64_t *start = mf_malloc((size_t)K * sizeof(int64_t));
    if (!buf || !start) {
        mf_free(buf);
        mf_free(start);
        mf_tensor_release(*out);
        *out = NULL;
        return mf_error_set(MF_ENOMEM, 0, "SVC: out of memory");
    }
    pred_ctx c = {.m = m, .what = what, .X = mf_tensor_data(X), .sv = mf_tensor_data(m->sv),
                  .coef = mf_tensor_data(m->dual_coef), .icpt = mf_tensor_data(m->intercept),
                  .pa = m->prob_a ? mf_tensor_data(m->prob_a) : NULL,
                  .pb = m->prob_b ? mf_tensor_data(m->prob_b) : NULL,
                  .nsup = mf_tensor_data(m->n_support), .d = d, .nsv = nsv, .K = K, .np = np,
                  .kt = buf, .scratch = buf + (size_t)TILE_ROWS * (size_t)nsv, .start = start,
                  .out = mf_tensor_data(*out)};
    double *svsq = c.scratch + (size_t)TILE_ROWS * (per_row - (size_t)nsv);
    for (int64_t s = 0; s < nsv; s++) svsq[s] = dot(c.sv + s * d, c.sv + s * d, d);
    c.svsq = svsq;
    start[0] = 0;
    for (int64_t k = 1; k < K; k++) start[k] = start[k - 1] + c.nsup[k - 1];
    int64_t ld = d > 0 ? d : 1;
    for (int64_t r0 = 0; r0 < n; r0 += TILE_ROWS) {
        int64_t rows = n - r0 < TILE_ROWS ? n - r0 : TILE_ROWS;
        if (nsv > 0)
            mf_blas_gemm(MF_FLOAT64, 0, 1, rows, nsv, d, 1.0, c.X + r0 * ld, ld, c.sv, ld, 0.0, c.kt, nsv);
        c.row0 = r0;
        mf_parallel_for(rows, 8, pred_rows, &c);
    }
    mf_free(buf);
    mf_free(start);
    return MF_OK;
}
