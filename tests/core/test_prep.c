/* test_prep.c — the kernels of mf_prep.h against plain reference loops:
 * moments, min/max, quantiles, mode, unique, bincount, affine, normalize,
 * fillnan, lookup, one-hot, ordinal, polynomial features and digitize, on
 * float32/float64 and strided inputs, plus errors, thread-count independence
 * and allocation failures. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctest.h"
#include "moonforge.h"

static uint64_t rng_state = 88172645463325252ULL;
static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static mf_tensor *mat64(int64_t n, int64_t p, const double *v)
{
    mf_tensor *t = NULL;
    int64_t shape[2] = {n, p};
    if (mf_tensor_new(&t, MF_FLOAT64, 2, shape)) return NULL;
    memcpy(mf_tensor_data(t), v, (size_t)(n * p) * sizeof(double));
    return t;
}

static mf_tensor *vec64(int64_t n, const double *v)
{
    mf_tensor *t = NULL;
    if (mf_tensor_new(&t, MF_FLOAT64, 1, &n)) return NULL;
    memcpy(mf_tensor_data(t), v, (size_t)n * sizeof(double));
    return t;
}

static double at2(const mf_tensor *t, int64_t i, int64_t j)
{
    int64_t idx[2] = {i, j};
    double v = NAN;
    mf_tensor_get(t, idx, &v);
    return v;
}

static double at1(const mf_tensor *t, int64_t i)
{
    double v = NAN;
    mf_tensor_get(t, &i, &v);
    return v;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy's linear quantile over sorted s[0..m) */
static double ref_quantile(const double *s, int64_t m, double q)
{
    double h = (double)(m - 1) * q;
    int64_t lo = (int64_t)floor(h);
    if (lo >= m - 1) return s[m - 1];
    return s[lo] + (h - (double)lo) * (s[lo + 1] - s[lo]);
}

CTEST(moments_match_reference)
{
    enum { N = 3001, P = 3 };
    double v[N * P];
    for (int i = 0; i < N * P; i++) v[i] = 1e6 + urand() * 10; /* large offset: needs two-pass */
    mf_tensor *X = mat64(N, P, v), *mean = NULL, *var = NULL, *cnt = NULL;
    CHECK_OK(mf_prep_moments(X, 0, &mean, &var, &cnt));
    for (int j = 0; j < P; j++) {
        long double s = 0, s2 = 0;
        for (int i = 0; i < N; i++) s += v[i * P + j];
        long double mu = s / N;
        for (int i = 0; i < N; i++) s2 += (v[i * P + j] - mu) * (v[i * P + j] - mu);
        CHECK_NEAR(at1(mean, j), (double)mu, 1e-9);
        CHECK_NEAR(at1(var, j), (double)(s2 / N), 1e-9);
        CHECK_INT(((int64_t *)mf_tensor_data(cnt))[j], N);
    }
    /* the transposed view: columns become rows */
    mf_tensor *T = NULL, *m2 = NULL, *v2 = NULL;
    CHECK_OK(mf_tensor_transpose(&T, X, 0, 1));
    CHECK_OK(mf_prep_moments(T, 0, &m2, &v2, NULL));
    CHECK_INT(m2->shape[0], N);
    for (int i = 0; i < N; i += 500) {
        double s = 0;
        for (int j = 0; j < P; j++) s += v[i * P + j];
        CHECK_NEAR(at1(m2, i), s / P, 1e-8);
    }
    mf_tensor_release(T);
    mf_tensor_release(m2);
    mf_tensor_release(v2);
    mf_tensor_release(X);
    mf_tensor_release(mean);
    mf_tensor_release(var);
    mf_tensor_release(cnt);
}

CTEST(moments_nan_and_float32)
{
    double v[] = {1, NAN, 3, 4, 5, NAN, 7, 8};
    mf_tensor *X = mat64(4, 2, v), *mean = NULL, *var = NULL, *cnt = NULL;
    CHECK_OK(mf_prep_moments(X, 1, &mean, &var, &cnt));
    CHECK_NEAR(at1(mean, 0), (1 + 3 + 5 + 7) / 4.0, 1e-15);
    CHECK_NEAR(at1(mean, 1), 6.0, 1e-15); /* 4 and 8 */
    CHECK_NEAR(at1(var, 1), 4.0, 1e-15);
    CHECK_INT(((int64_t *)mf_tensor_data(cnt))[1], 2);
    mf_tensor_release(mean);
    mf_tensor_release(var);
    mf_tensor_release(cnt);
    CHECK_OK(mf_prep_moments(X, 0, &mean, &var, NULL));
    CHECK(!isnan(at1(mean, 0)) && isnan(at1(mean, 1)) && isnan(at1(var, 1)));
    mf_tensor_release(mean);
    mf_tensor_release(var);
    mf_tensor *F = NULL;
    double w[] = {1, 2, 3, 4, 5, 6};
    mf_tensor_release(X);
    X = mat64(3, 2, w);
    CHECK_OK(mf_tensor_to(&F, X, MF_FLOAT32));
    CHECK_OK(mf_prep_moments(F, 0, &mean, &var, NULL));
    CHECK_NEAR(at1(mean, 1), 4.0, 0);
    CHECK_NEAR(at1(var, 0), 8.0 / 3.0, 1e-15);
    mf_tensor_release(mean);
    mf_tensor_release(var);
    mf_tensor_release(F);
    mf_tensor_release(X);
}

CTEST(minmax_quantiles_mode)
{
    enum { N = 1001, P = 2 };
    double v[N * P], col[N];
    for (int i = 0; i < N * P; i++) v[i] = floor(urand() * 50); /* many ties */
    v[7 * P + 1] = NAN;
    mf_tensor *X = mat64(N, P, v), *lo = NULL, *hi = NULL, *Q = NULL, *mode = NULL;
    CHECK_OK(mf_prep_minmax(X, 1, &lo, &hi));
    const double q[] = {0.9, 0.25, 0.5, 0, 1, 0.333};
    CHECK_OK(mf_prep_quantiles(X, 1, q, 6, &Q));
    CHECK_OK(mf_prep_mode(X, &mode));
    for (int j = 0; j < P; j++) {
        int64_t m = 0;
        for (int i = 0; i < N; i++)
            if (!isnan(v[i * P + j])) col[m++] = v[i * P + j];
        qsort(col, (size_t)m, sizeof(double), cmpd);
        CHECK_NEAR(at1(lo, j), col[0], 0);
        CHECK_NEAR(at1(hi, j), col[m - 1], 0);
        for (int t = 0; t < 6; t++) CHECK_NEAR(at2(Q, t, j), ref_quantile(col, m, q[t]), 1e-12);
        double best = col[0];
        int64_t bn = 0;
        for (int64_t i = 0; i < m;) {
            int64_t r = i;
            while (r < m && col[r] == col[i]) r++;
            if (r - i > bn) { bn = r - i; best = col[i]; }
            i = r;
        }
        CHECK_NEAR(at1(mode, j), best, 0);
    }
    mf_tensor_release(lo);
    mf_tensor_release(hi);
    mf_tensor_release(Q);
    CHECK_OK(mf_prep_minmax(X, 0, &lo, &hi)); /* NaN poisons column 1 only */
    CHECK(!isnan(at1(lo, 0)) && isnan(at1(lo, 1)) && isnan(at1(hi, 1)));
    CHECK_OK(mf_prep_quantiles(X, 0, q, 1, &Q));
    CHECK(!isnan(at2(Q, 0, 0)) && isnan(at2(Q, 0, 1)));
    const double bad = 1.5;
    mf_tensor *none = NULL;
    CHECK_ERR(mf_prep_quantiles(X, 0, &bad, 1, &none), MF_EINVAL, 3);
    mf_tensor_release(lo);
    mf_tensor_release(hi);
    mf_tensor_release(Q);
    mf_tensor_release(mode);
    mf_tensor_release(X);
    /* few distinct values, many rows: grouped equal keys (and correct) */
    {
        enum { NB = 20000 };
        double *bv = malloc(NB * 2 * sizeof(double));
        for (int i = 0; i < NB; i++) {
            bv[2 * i] = (double)(i % 3);
            bv[2 * i + 1] = 7;
        }
        mf_tensor *B = mat64(NB, 2, bv), *BQ = NULL;
        const double bq[] = {0.1, 0.5, 0.9, 0.99999};
        CHECK_OK(mf_prep_quantiles(B, 0, bq, 4, &BQ));
        for (int t = 0; t < 4; t++) {
            /* sorted: NB/3 zeros (6667), then ones (6667), then twos (6666) */
            double h = (NB - 1) * bq[t];
            int64_t r = (int64_t)floor(h);
            double r0 = r < 6667 ? 0 : (r < 13334 ? 1 : 2);
            double r1 = r + 1 < 6667 ? 0 : (r + 1 < 13334 ? 1 : 2);
            CHECK_NEAR(at2(BQ, t, 0), r0 + (h - (double)r) * (r1 - r0), 1e-12);
            CHECK_NEAR(at2(BQ, t, 1), 7, 0);
        }
        mf_tensor_release(BQ);
        mf_tensor_release(B);
        free(bv);
    }
    /* the median of an even count averages the middle two */
    double e[] = {4, 1, 3, 2};
    X = mat64(4, 1, e);
    const double half = 0.5;
    CHECK_OK(mf_prep_quantiles(X, 0, &half, 1, &Q));
    CHECK_NEAR(at2(Q, 0, 0), 2.5, 0);
    mf_tensor_release(Q);
    mf_tensor_release(X);
}

CTEST(unique_lookup_bincount)
{
    double v[] = {3, 1, NAN, 3, 2, 1};
    mf_tensor *x = vec64(6, v), *u = NULL, *codes = NULL;
    int has_nan = 0;
    CHECK_OK(mf_prep_unique(x, &u, &has_nan));
    CHECK(has_nan);
    CHECK_INT(u->shape[0], 3);
    CHECK_NEAR(at1(u, 0), 1, 0);
    CHECK_NEAR(at1(u, 2), 3, 0);
    double w[] = {2, 5, 1, NAN};
    mf_tensor *y = vec64(4, w);
    int64_t nu = 0, fu = 0;
    CHECK_OK(mf_prep_lookup(y, u, &codes, &nu, &fu));
    const int64_t *c = mf_tensor_data(codes);
    CHECK(c[0] == 1 && c[1] == -1 && c[2] == 0 && c[3] == -1);
    CHECK_INT(nu, 2);
    CHECK_INT(fu, 1);
    mf_tensor *unsorted = vec64(3, v), *none = NULL;
    CHECK_ERR(mf_prep_lookup(y, unsorted, &none, NULL, NULL), MF_EINVAL, 2);
    mf_tensor *cnt = NULL;
    CHECK_ERR(mf_prep_bincount(codes, 2, &cnt), MF_ERANGE, 1); /* -1 is out of range */
    int64_t k[] = {0, 2, 2, 1, 2};
    mf_tensor *kt = NULL;
    int64_t n5 = 5;
    CHECK_OK(mf_tensor_new(&kt, MF_INT64, 1, &n5));
    memcpy(mf_tensor_data(kt), k, sizeof k);
    CHECK_OK(mf_prep_bincount(kt, 4, &cnt));
    const int64_t *cc = mf_tensor_data(cnt);
    CHECK(cc[0] == 1 && cc[1] == 1 && cc[2] == 3 && cc[3] == 0);
    mf_tensor_release(cnt);
    CHECK_ERR(mf_prep_bincount(kt, 2, &none), MF_ERANGE, 1);
    mf_tensor_release(kt);
    mf_tensor_release(unsorted);
    mf_tensor_release(x);
    mf_tensor_release(y);
    mf_tensor_release(u);
    mf_tensor_release(codes);
}

CTEST(affine_normalize_fillnan)
{
    double v[] = {1, 2, 3, 4, 5, 6};
    double a[] = {1, 2, 3}, b[] = {2, 4, 0.5};
    mf_tensor *X = mat64(2, 3, v), *A = vec64(3, a), *B = vec64(3, b), *Z = NULL;
    int64_t nan_col = 7;
    CHECK_OK(mf_prep_affine(X, MF_PREP_SUB_DIV, A, B, NAN, NAN, &Z, &nan_col));
    CHECK_INT(nan_col, -1);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) CHECK_NEAR(at2(Z, i, j), (v[i * 3 + j] - a[j]) / b[j], 1e-15);
    mf_tensor_release(Z);
    CHECK_OK(mf_prep_affine(X, MF_PREP_MUL_ADD, A, NULL, 0, 8, &Z, NULL));
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) {
            double r = v[i * 3 + j] * a[j];
            CHECK_NEAR(at2(Z, i, j), r > 8 ? 8 : r, 0);
        }
    mf_tensor_release(Z);
    /* float32 in, float32 out; a transposed (strided) input */
    mf_tensor *F = NULL, *T = NULL;
    CHECK_OK(mf_tensor_to(&F, X, MF_FLOAT32));
    CHECK_OK(mf_tensor_transpose(&T, F, 0, 1));
    double a2[] = {1, 2};
    mf_tensor *A2 = vec64(2, a2);
    CHECK_OK(mf_prep_affine(T, MF_PREP_SUB_DIV, A2, NULL, NAN, NAN, &Z, NULL));
    CHECK(Z->dtype == MF_FLOAT32 && Z->shape[0] == 3 && Z->shape[1] == 2);
    CHECK_NEAR(at2(Z, 2, 1), v[1 * 3 + 2] - 2, 0);
    mf_tensor_release(Z);
    mf_tensor *none = NULL;
    CHECK_ERR(mf_prep_affine(T, MF_PREP_SUB_DIV, A, NULL, NAN, NAN, &none, NULL), MF_EINVAL, 3);
    /* NaN column reported */
    double w[] = {1, 2, 3, 4, NAN, 6};
    mf_tensor *W = mat64(2, 3, w);
    CHECK_OK(mf_prep_affine(W, MF_PREP_SUB_DIV, NULL, NULL, NAN, NAN, &Z, &nan_col));
    CHECK_INT(nan_col, 1);
    mf_tensor_release(Z);
    CHECK_OK(mf_prep_fillnan(W, A, &Z));
    CHECK_NEAR(at2(Z, 1, 1), 2, 0);
    CHECK_NEAR(at2(Z, 1, 2), 6, 0);
    mf_tensor_release(Z);
    double r[] = {3, -4, 0, 0, 1, -2};
    mf_tensor *R = mat64(3, 2, r);
    CHECK_OK(mf_prep_normalize(R, MF_PREP_L2, &Z));
    CHECK_NEAR(at2(Z, 0, 0), 0.6, 1e-15);
    CHECK_NEAR(at2(Z, 0, 1), -0.8, 1e-15);
    CHECK_NEAR(at2(Z, 1, 0), 0, 0); /* zero row left alone */
    mf_tensor_release(Z);
    CHECK_OK(mf_prep_normalize(R, MF_PREP_L1, &Z));
    CHECK_NEAR(at2(Z, 2, 1), -2.0 / 3.0, 1e-15);
    mf_tensor_release(Z);
    CHECK_OK(mf_prep_normalize(R, MF_PREP_MAX, &Z));
    CHECK_NEAR(at2(Z, 0, 0), 0.75, 1e-15);
    CHECK_NEAR(at2(Z, 2, 1), -1, 1e-15);
    mf_tensor_release(Z);
    mf_tensor_release(R);
    mf_tensor_release(W);
    mf_tensor_release(A2);
    mf_tensor_release(T);
    mf_tensor_release(F);
    mf_tensor_release(X);
    mf_tensor_release(A);
    mf_tensor_release(B);
}

static mf_tensor *codes_mat(int64_t n, int64_t k, const int64_t *v)
{
    mf_tensor *t = NULL;
    int64_t shape[2] = {n, k};
    if (mf_tensor_new(&t, MF_INT64, 2, shape)) return NULL;
    memcpy(mf_tensor_data(t), v, (size_t)(n * k) * sizeof(int64_t));
    return t;
}

CTEST(onehot_ordinal)
{
    int64_t v[] = {0, 1, 2, 0, -1, 1};
    mf_tensor *C = codes_mat(3, 2, v), *Z = NULL;
    int64_t ncat[] = {3, 2}, drop[] = {0, -1}, ur = 0, uc = 0;
    CHECK_OK(mf_prep_onehot(C, ncat, NULL, &Z, &ur, &uc));
    CHECK_INT(Z->shape[1], 5);
    double expect[3][5] = {{1, 0, 0, 0, 1}, {0, 0, 1, 1, 0}, {0, 0, 0, 0, 1}};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 5; j++) CHECK_NEAR(at2(Z, i, j), expect[i][j], 0);
    CHECK_INT(ur, 2);
    CHECK_INT(uc, 0);
    mf_tensor_release(Z);
    CHECK_OK(mf_prep_onehot(C, ncat, drop, &Z, NULL, NULL));
    CHECK_INT(Z->shape[1], 4);
    double expect2[3][4] = {{0, 0, 0, 1}, {0, 1, 1, 0}, {0, 0, 0, 1}};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) CHECK_NEAR(at2(Z, i, j), expect2[i][j], 0);
    mf_tensor_release(Z);
    CHECK_OK(mf_prep_ordinal(C, -7, &Z, &ur, &uc));
    CHECK_NEAR(at2(Z, 0, 1), 2, 0);
    CHECK_NEAR(at2(Z, 2, 0), -7, 0);
    CHECK_INT(ur, 2);
    mf_tensor_release(Z);
    int64_t small[] = {3, 1};
    mf_tensor *none = NULL;
    CHECK_ERR(mf_prep_onehot(C, small, NULL, &none, NULL, NULL), MF_ERANGE, 1);
    CHECK(none == NULL);
    mf_tensor_release(C);
}

CTEST(poly_and_digitize)
{
    double v[] = {2, 3, -1, 5};
    mf_tensor *X = mat64(2, 2, v), *Z = NULL;
    /* 1, x0, x1, x0^2, x0 x1, x1^2 */
    int64_t cb[] = {-1, -1, 0, -1, 1, -1, 0, 0, 0, 1, 1, 1};
    mf_tensor *CB = codes_mat(6, 2, cb);
    CHECK_OK(mf_prep_poly(X, CB, &Z));
    for (int i = 0; i < 2; i++) {
        double a = v[i * 2], b = v[i * 2 + 1];
        double e[6] = {1, a, b, a * a, a * b, b * b};
        for (int o = 0; o < 6; o++) CHECK_NEAR(at2(Z, i, o), e[o], 0);
    }
    mf_tensor_release(Z);
    int64_t bad[] = {0, 2};
    mf_tensor *BAD = codes_mat(1, 2, bad), *none = NULL;
    CHECK_ERR(mf_prep_poly(X, BAD, &none), MF_ERANGE, 2);
    mf_tensor_release(BAD);
    double ed[] = {0, 1, 2, 3, -INFINITY, INFINITY};
    mf_tensor *E = vec64(6, ed);
    int64_t ne[] = {4, 2}, nan_col = 0;
    double xv[] = {-5, 1, 0, 2, 0.99, 3, 1, 4, 3, 5, 7, NAN};
    mf_tensor *D = mat64(6, 2, xv);
    CHECK_OK(mf_prep_digitize(D, E, ne, &Z, &nan_col));
    const int64_t *z = mf_tensor_data(Z);
    int64_t expect[] = {0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 2, 0};
    for (int i = 0; i < 12; i++) CHECK_INT(z[i], expect[i]);
    CHECK_INT(nan_col, 1);
    mf_tensor_release(Z);
    /* many edges: the binary search path, against a plain count */
    {
        enum { NE = 41, NX = 300 };
        double me[NE], mx[NX];
        for (int t = 0; t < NE; t++) me[t] = t * 0.5 - 10;
        for (int i = 0; i < NX; i++) mx[i] = urand() * 24 - 12;
        mx[0] = me[7]; /* exactly on an edge: goes up */
        mx[1] = me[NE - 2];
        mf_tensor *ME = vec64(NE, me), *MX = mat64(NX, 1, mx), *MZ = NULL;
        int64_t mne[] = {NE};
        CHECK_OK(mf_prep_digitize(MX, ME, mne, &MZ, NULL));
        const int64_t *mz = mf_tensor_data(MZ);
        for (int i = 0; i < NX; i++) {
            int64_t ref = 0;
            for (int t = 1; t < NE - 1; t++) ref += me[t] <= mx[i];
            CHECK_INT(mz[i], ref);
        }
        CHECK_INT(mz[0], 7);
        CHECK_INT(mz[1], NE - 2);
        mf_tensor_release(ME);
        mf_tensor_release(MX);
        mf_tensor_release(MZ);
    }
    int64_t ne_bad[] = {5, 2};
    CHECK_ERR(mf_prep_digitize(D, E, ne_bad, &none, NULL), MF_EINVAL, 2);
    mf_tensor_release(D);
    mf_tensor_release(E);
    mf_tensor_release(CB);
    mf_tensor_release(X);
}

CTEST(bad_inputs)
{
    mf_tensor *v = NULL, *none = NULL, *none2 = NULL;
    int64_t n = 4;
    CHECK_OK(mf_tensor_zeros(&v, MF_FLOAT64, 1, &n));
    CHECK_ERR(mf_prep_moments(v, 0, &none, &none2, NULL), MF_EINVAL, 1);
    CHECK(strstr(mf_error_get()->msg, "2-D") != NULL);
    mf_tensor *I = NULL;
    int64_t shape[2] = {2, 2};
    CHECK_OK(mf_tensor_zeros(&I, MF_INT64, 2, shape));
    CHECK_ERR(mf_prep_minmax(I, 0, &none, &none2), MF_EINVAL, 1);
    CHECK(strstr(mf_error_get()->msg, "int64") != NULL);
    CHECK_ERR(mf_prep_normalize(I, MF_PREP_L2, &none), MF_EINVAL, 1);
    mf_tensor_release(I);
    mf_tensor_release(v);
}

/* The same bits whatever the number of threads. */
CTEST(threads_identical)
{
    enum { N = 50000, P = 4 };
    double *v = malloc(N * P * sizeof(double));
    for (int i = 0; i < N * P; i++) v[i] = urand() * 100 - 50;
    mf_tensor *X = mat64(N, P, v), *m1, *v1, *m2, *v2, *Z1, *Z2;
    int saved = mf_num_threads();
    mf_set_num_threads(1);
    CHECK_OK(mf_prep_moments(X, 0, &m1, &v1, NULL));
    CHECK_OK(mf_prep_affine(X, MF_PREP_SUB_DIV, m1, v1, NAN, NAN, &Z1, NULL));
    mf_set_num_threads(64);
    CHECK_OK(mf_prep_moments(X, 0, &m2, &v2, NULL));
    CHECK_OK(mf_prep_affine(X, MF_PREP_SUB_DIV, m2, v2, NAN, NAN, &Z2, NULL));
    mf_set_num_threads(saved);
    CHECK(memcmp(mf_tensor_data(m1), mf_tensor_data(m2), P * sizeof(double)) == 0);
    CHECK(memcmp(mf_tensor_data(v1), mf_tensor_data(v2), P * sizeof(double)) == 0);
    CHECK(memcmp(mf_tensor_data(Z1), mf_tensor_data(Z2), (size_t)N * P * sizeof(double)) == 0);
    mf_tensor_release(m1);
    mf_tensor_release(v1);
    mf_tensor_release(m2);
    mf_tensor_release(v2);
    mf_tensor_release(Z1);
    mf_tensor_release(Z2);
    mf_tensor_release(X);
    free(v);
}

/* Every allocation failing in turn: an error, never a leak (checked by the
 * harness) nor a crash. */
CTEST(alloc_failures)
{
    double v[] = {1, 2, NAN, 4, 5, 6};
    mf_tensor *X = mat64(3, 2, v), *a, *b, *c;
    const double q[] = {0.5, 0.1};
    int64_t cv[] = {0, 1, 1, 0}, ncat[] = {2, 2};
    mf_tensor *C = codes_mat(2, 2, cv);
    for (long k = 1; k <= 6; k++) {
        a = b = c = NULL;
        mf_mem_fail_after(k);
        if (mf_prep_moments(X, 1, &a, &b, &c) == MF_OK) {
            mf_tensor_release(a);
            mf_tensor_release(b);
            mf_tensor_release(c);
        }
        mf_mem_fail_after(k);
        if (mf_prep_minmax(X, 1, &a, &b) == MF_OK) {
            mf_tensor_release(a);
            mf_tensor_release(b);
        }
        mf_mem_fail_after(k);
        if (mf_prep_quantiles(X, 1, q, 2, &a) == MF_OK) mf_tensor_release(a);
        mf_mem_fail_after(k);
        if (mf_prep_mode(X, &a) == MF_OK) mf_tensor_release(a);
        mf_mem_fail_after(k);
        if (mf_prep_affine(X, MF_PREP_SUB_DIV, NULL, NULL, NAN, NAN, &a, NULL) == MF_OK)
            mf_tensor_release(a);
        mf_mem_fail_after(k);
        if (mf_prep_onehot(C, ncat, NULL, &a, NULL, NULL) == MF_OK) mf_tensor_release(a);
        mf_mem_fail_after(0);
    }
    mf_mem_fail_after(1);
    CHECK_ERR(mf_prep_moments(X, 0, &a, &b, NULL), MF_ENOMEM, 0);
    CHECK(a == NULL && b == NULL);
    mf_mem_fail_after(0);
    mf_tensor_release(C);
    mf_tensor_release(X);
}

const ctest_case ctest_prep[] = {
    CTEST_ENTRY(moments_match_reference),
    CTEST_ENTRY(moments_nan_and_float32),
    CTEST_ENTRY(minmax_quantiles_mode),
    CTEST_ENTRY(unique_lookup_bincount),
    CTEST_ENTRY(affine_normalize_fillnan),
    CTEST_ENTRY(onehot_ordinal),
    CTEST_ENTRY(poly_and_digitize),
    CTEST_ENTRY(bad_inputs),
    CTEST_ENTRY(threads_identical),
    CTEST_ENTRY(alloc_failures),
    {NULL, NULL},
};
