/* test_feat.c — the kernels of mf_feat.h against reference loops and known
 * values: rolling statistics and shifts over groups with NaN (every
 * statistic, every min_periods), timestamp parsing, the p-value
 * distributions against scipy's values, ANOVA / regression F and chi2 by
 * their textbook formulas, mutual information on cases with known answers,
 * thread-count independence, errors and allocation failures. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctest.h"
#include "moonforge.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static mf_tensor *vec64(int64_t n, const double *v)
{
    mf_tensor *t = NULL;
    if (mf_tensor_new(&t, MF_FLOAT64, 1, &n)) return NULL;
    memcpy(mf_tensor_data(t), v, (size_t)n * sizeof(double));
    return t;
}

static mf_tensor *veci(int64_t n, const int64_t *v)
{
    mf_tensor *t = NULL;
    if (mf_tensor_new(&t, MF_INT64, 1, &n)) return NULL;
    memcpy(mf_tensor_data(t), v, (size_t)n * sizeof(int64_t));
    return t;
}

static mf_tensor *mat64(int64_t n, int64_t p, const double *v)
{
    mf_tensor *t = NULL;
    int64_t shape[2] = {n, p};
    if (mf_tensor_new(&t, MF_FLOAT64, 2, shape)) return NULL;
    memcpy(mf_tensor_data(t), v, (size_t)(n * p) * sizeof(double));
    return t;
}

static int same(double a, double b, double tol)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    return fabs(a - b) <= tol * (1 + fabs(b));
}

/* The statistic of the non-NaN values among x[rows[0..m)] (pandas rules). */
static double ref_stat(const double *x, const int64_t *rows, int64_t m, int64_t minp,
                       mf_feat_stat st)
{
    double s = 0, mn = INFINITY, mx = -INFINITY;
    int64_t c = 0;
    for (int64_t t = 0; t < m; t++) {
        double v = x[rows[t]];
        if (isnan(v)) continue;
        c++;
        s += v;
        if (v < mn) mn = v;
        if (v > mx) mx = v;
    }
    if (c < minp) return NAN;
    switch (st) {
    case MF_FEAT_SUM: return s;
    case MF_FEAT_MEAN: return c ? s / (double)c : NAN;
    case MF_FEAT_MIN: return c ? mn : NAN;
    case MF_FEAT_MAX: return c ? mx : NAN;
    default: {
        if (c < 2) return NAN;
        double mu = s / (double)c, ss = 0;
        for (int64_t t = 0; t < m; t++) {
            double v = x[rows[t]];
            if (!isnan(v)) ss += (v - mu) * (v - mu);
        }
        return sqrt(ss / (double)(c - 1));
    }
    }
}

CTEST(rolling_matches_reference_with_groups_and_nan)
{
    enum { N = 400, G = 3 };
    double x[N];
    int64_t id[N];
    for (int i = 0; i < N; i++) {
        x[i] = urand() < 0.2 ? NAN : 100 + urand() * 10;
        id[i] = (int64_t)(urand() * G);
    }
    mf_tensor *tx = vec64(N, x), *tid = veci(N, id);
    int64_t windows[] = {1, 2, 5, 17};
    for (int wi = 0; wi < 4; wi++) {
        int64_t w = windows[wi];
        for (int64_t minp = 0; minp <= w; minp += (w > 3 ? 3 : 1)) {
            for (int st = 0; st < MF_FEAT_STAT_COUNT; st++) {
                for (int grouped = 0; grouped < 2; grouped++) {
                    mf_tensor *out = NULL;
                    CHECK_OK(mf_feat_rolling(tx, grouped ? tid : NULL, G, w, minp,
                                             (mf_feat_stat)st, &out));
                    if (!out) continue;
                    const double *o = mf_tensor_data(out);
                    int bad = 0;
                    for (int i = 0; i < N && !bad; i++) {
                        int64_t rows[32], m = 0;
                        for (int j = i; j >= 0 && m < w; j--)
                            if (!grouped || id[j] == id[i]) rows[m++] = j;
                        double r = ref_stat(x, rows, m, minp, (mf_feat_stat)st);
                        if (!same(o[i], r, 1e-9)) {
                            CTEST_FAIL_("stat %d w %lld minp %lld grouped %d row %d: %g vs %g", st,
                                        (long long)w, (long long)minp, grouped, i, o[i], r);
                            bad = 1;
                        }
                    }
                    mf_tensor_release(out);
                }
            }
        }
    }
    mf_tensor_release(tx);
    mf_tensor_release(tid);
}

CTEST(rolling_long_series_is_accurate_and_thread_independent)
{
    enum { N = 200000 };
    double *x = malloc(N * sizeof *x);
    int64_t *id = malloc(N * sizeof *id);
    for (int i = 0; i < N; i++) {
        x[i] = 1e6 + urand(); /* large offset: running sums must stay accurate */
        id[i] = i % 37;
    }
    mf_tensor *tx = vec64(N, x), *tid = veci(N, id), *a = NULL, *b = NULL;
    int before = mf_num_threads();
    for (int st = 0; st < MF_FEAT_STAT_COUNT; st++) {
        mf_set_num_threads(1);
        CHECK_OK(mf_feat_rolling(tx, tid, 37, 50, 50, (mf_feat_stat)st, &a));
        mf_set_num_threads(2);
        CHECK_OK(mf_feat_rolling(tx, tid, 37, 50, 50, (mf_feat_stat)st, &b));
        CHECK(a && b && memcmp(mf_tensor_data(a), mf_tensor_data(b), N * sizeof(double)) == 0);
        /* the last row against a direct computation over its window */
        int64_t rows[50];
        for (int t = 0; t < 50; t++) rows[t] = N - 1 - 37 * t;
        double r = ref_stat(x, rows, 50, 50, (mf_feat_stat)st);
        CHECK(a && same(((double *)mf_tensor_data(a))[N - 1], r, 1e-9));
        mf_tensor_release(a);
        mf_tensor_release(b);
    }
    mf_set_num_threads(before);
    mf_tensor_release(tx);
    mf_tensor_release(tid);
    free(x);
    free(id);
}

CTEST(shift_and_diff_within_groups)
{
    double x[7] = {1, 2, 4, 8, 16, 32, NAN};
    int64_t id[7] = {0, 1, 0, 0, 1, 0, 1};
    mf_tensor *tx = vec64(7, x), *tid = veci(7, id), *out = NULL;
    CHECK_OK(mf_feat_shift(tx, tid, 2, 1, 0, &out));
    double lag1[7] = {NAN, NAN, 1, 4, 2, 8, 16};
    for (int i = 0; i < 7; i++) CHECK(same(((double *)mf_tensor_data(out))[i], lag1[i], 0));
    mf_tensor_release(out);
    CHECK_OK(mf_feat_shift(tx, tid, 2, -2, 1, &out)); /* x - x two rows later in group */
    double lead2[7] = {1 - 8, 2 - NAN, 4 - 32, NAN, NAN, NAN, NAN};
    for (int i = 0; i < 7; i++) CHECK(same(((double *)mf_tensor_data(out))[i], lead2[i], 0));
    mf_tensor_release(out);
    CHECK_OK(mf_feat_shift(tx, NULL, 0, 3, 1, &out)); /* one group */
    double d3[7] = {NAN, NAN, NAN, 7, 14, 28, NAN};
    for (int i = 0; i < 7; i++) CHECK(same(((double *)mf_tensor_data(out))[i], d3[i], 0));
    mf_tensor_release(out);
    mf_tensor_release(tx);
    mf_tensor_release(tid);
}

CTEST(series_errors)
{
    double x[3] = {1, 2, 3};
    int64_t id[3] = {0, 2, 1};
    mf_tensor *tx = vec64(3, x), *tid = veci(3, id), *out = NULL;
    CHECK_ERR(mf_feat_rolling(tx, NULL, 1, 0, 0, MF_FEAT_MEAN, &out), MF_EINVAL, 4);
    CHECK_ERR(mf_feat_rolling(tx, NULL, 1, 2, 3, MF_FEAT_MEAN, &out), MF_EINVAL, 5);
    CHECK_ERR(mf_feat_rolling(tx, tid, 2, 2, 1, MF_FEAT_MEAN, &out), MF_ERANGE, 2);
    CHECK_ERR(mf_feat_rolling(tid, NULL, 1, 2, 1, MF_FEAT_MEAN, &out), MF_EINVAL, 1);
    CHECK_ERR(mf_feat_shift(tx, tid, 2, 1, 0, &out), MF_ERANGE, 2);
    CHECK(out == NULL);
    mf_tensor_release(tx);
    mf_tensor_release(tid);
}

CTEST(parse_datetimes_fields)
{
    const char *s[] = {"2024-01-01 00:00:04", "2024-03-05T13:45", "2023-12-31",
                       "2024-02-29 23:59:59.125", "1969-12-31 12:00", "2000-03-01 00:00:00"};
    size_t len[6];
    for (int i = 0; i < 6; i++) len[i] = strlen(s[i]);
    mf_tensor *out = NULL;
    CHECK_OK(mf_feat_parse_datetimes(s, len, 6, 0, &out, NULL));
    /* year month day hour minute second weekday dayofyear quarter (pandas'
     * dayofweek + 1 and dayofyear) */
    int64_t want[6][MF_FEAT_NFIELDS] = {
        {2024, 1, 1, 0, 0, 4, 1, 1, 1},    {2024, 3, 5, 13, 45, 0, 2, 65, 1},
        {2023, 12, 31, 0, 0, 0, 7, 365, 4}, {2024, 2, 29, 23, 59, 59, 4, 60, 1},
        {1969, 12, 31, 12, 0, 0, 3, 365, 4}, {2000, 3, 1, 0, 0, 0, 3, 61, 1}};
    const int64_t *f = out ? mf_tensor_data(out) : NULL;
    for (int i = 0; f && i < 6; i++)
        for (int j = 0; j < MF_FEAT_NFIELDS; j++) CHECK_INT(f[i * MF_FEAT_NFIELDS + j], want[i][j]);
    mf_tensor_release(out);
    const char *bad[] = {"2024-01-01", "2023-02-29 10:00", "2024-01-01 24:00", "01/02/2024",
                         "2024-01-01 10", "2024-01-01 10:00:00.", "2024-01-01 10:00 "};
    for (int b = 1; b < 7; b++) {
        const char *pair[2] = {bad[0], bad[b]};
        size_t pl[2] = {strlen(bad[0]), strlen(bad[b])};
        int64_t where = -1;
        out = NULL;
        CHECK_ERR(mf_feat_parse_datetimes(pair, pl, 2, 0, &out, &where), MF_EINVAL, 1);
        CHECK_INT(where, 1);
        CHECK(out == NULL && strstr(mf_error_get()->msg, bad[b]) != NULL);
    }
    /* coerce: the bad ones get -1 everywhere and are counted */
    size_t blen[7];
    for (int b = 0; b < 7; b++) blen[b] = strlen(bad[b]);
    int64_t nbad = 0;
    CHECK_OK(mf_feat_parse_datetimes(bad, blen, 7, 1, &out, &nbad));
    CHECK_INT(nbad, 6);
    f = out ? mf_tensor_data(out) : NULL;
    for (int b = 0; f && b < 7; b++)
        for (int j = 0; j < MF_FEAT_NFIELDS; j++)
            CHECK_INT(f[b * MF_FEAT_NFIELDS + j], b == 0 ? (j == MF_FEAT_YEAR ? 2024 : f[j]) : -1);
    mf_tensor_release(out);
}

CTEST(distributions_match_scipy)
{
    CHECK_NEAR(mf_feat_f_sf(4.96, 1, 10), 0.050087650566468196, 1e-12);
    CHECK_NEAR(mf_feat_f_sf(3.5, 3, 20), 0.03449310388512439, 1e-12);
    CHECK_NEAR(mf_feat_f_sf(250, 2, 7) / 3.092539691868365e-07, 1, 1e-9);
    CHECK_NEAR(mf_feat_chi2_sf(10.0, 4), 0.04042768199451279, 1e-12);
    CHECK_NEAR(mf_feat_chi2_sf(100.0, 3) / 1.5541594313896026e-21, 1, 1e-9);
    CHECK_NEAR(mf_feat_chi2_sf(0.5, 2), 0.7788007830714049, 1e-12);
    CHECK_NEAR(mf_feat_chi2_sf(3.841458820694124, 1), 0.05, 1e-12);
    CHECK_NEAR(mf_feat_betainc(0.5, 2.5, 0.3), 0.7968893362799451, 1e-12);
    CHECK_NEAR(mf_feat_gammaincc(3.5, 2.0), 0.779777408475716, 1e-12);
    CHECK_NEAR(mf_feat_gammaincc(1, 3.0), exp(-3.0), 1e-14);
    CHECK_NEAR(mf_feat_digamma(1), -0.57721566490153286, 1e-13);
    CHECK_NEAR(mf_feat_digamma(0.5), -1.9635100260214235, 1e-13);
    CHECK_NEAR(mf_feat_digamma(7.3), 1.917820335637986, 1e-13);
    CHECK(mf_feat_f_sf(INFINITY, 1, 5) == 0 && mf_feat_f_sf(0, 1, 5) == 1);
    CHECK(isnan(mf_feat_f_sf(NAN, 1, 5)) && isnan(mf_feat_chi2_sf(1, 0)));
}

CTEST(f_classif_is_one_way_anova)
{
    enum { N = 9, P = 2 };
    double X[N * P] = {1, 5, 2, 5, 3, 5, 4, 1, 6, 1, 8, 1, 5, 9, 9, 9, 10, 9};
    int64_t y[N] = {0, 0, 0, 1, 1, 1, 2, 2, 2};
    mf_tensor *tX = mat64(N, P, X), *ty = veci(N, y), *F = NULL, *pv = NULL;
    CHECK_OK(mf_feat_f_classif(tX, ty, 3, &F, &pv));
    /* column 0: group means 2, 6, 8, grand mean 16/3 ... by hand */
    double gm = (1 + 2 + 3 + 4 + 6 + 8 + 5 + 9 + 10) / 9.0;
    double ssb = 3 * ((2 - gm) * (2 - gm) + (6 - gm) * (6 - gm) + (8 - gm) * (8 - gm));
    double ssw = (1 + 0 + 1) + (4 + 0 + 4) + (9 + 1 + 4);
    double f0 = (ssb / 2) / (ssw / 6);
    CHECK_NEAR(((double *)mf_tensor_data(F))[0], f0, 1e-12);
    CHECK_NEAR(((double *)mf_tensor_data(pv))[0], mf_feat_f_sf(f0, 2, 6), 1e-15);
    /* column 1 is constant within each class: F = inf, p = 0 */
    CHECK(isinf(((double *)mf_tensor_data(F))[1]) && ((double *)mf_tensor_data(pv))[1] == 0);
    mf_tensor_release(F);
    mf_tensor_release(pv);
    int64_t one[N] = {0};
    mf_tensor *t1 = veci(N, one);
    CHECK_ERR(mf_feat_f_classif(tX, t1, 1, &F, &pv), MF_EINVAL, 2);
    y[4] = 3;
    mf_tensor *t3 = veci(N, y);
    CHECK_ERR(mf_feat_f_classif(tX, t3, 3, &F, &pv), MF_ERANGE, 2);
    mf_tensor_release(t1);
    mf_tensor_release(t3);
    mf_tensor_release(tX);
    mf_tensor_release(ty);
}

CTEST(f_regression_and_chi2_formulas)
{
    enum { N = 6, P = 3 };
    double X[N * P] = {1, 2, 3, 2, 1, 3, 3, 5, 1, 4, 4, 0, 5, 7, 2, 6, 8, 9};
    double y[N] = {1, 2, 3, 4, 5, 7};
    mf_tensor *tX = mat64(N, P, X), *ty = vec64(N, y), *F = NULL, *pv = NULL;
    CHECK_OK(mf_feat_f_regression(tX, ty, &F, &pv));
    for (int j = 0; j < P; j++) {
        double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < N; i++) mx += X[i * P + j] / N, my += y[i] / N;
        for (int i = 0; i < N; i++) {
            sxy += (X[i * P + j] - mx) * (y[i] - my);
            sxx += (X[i * P + j] - mx) * (X[i * P + j] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        double r2 = sxy * sxy / (sxx * syy), f = r2 / (1 - r2) * (N - 2);
        CHECK_NEAR(((double *)mf_tensor_data(F))[j], f, 1e-9 * f);
        CHECK_NEAR(((double *)mf_tensor_data(pv))[j], mf_feat_f_sf(f, 1, N - 2), 1e-15);
    }
    /* values checked against scikit-learn 1.2 */
    CHECK_NEAR(((double *)mf_tensor_data(F))[1], 19.97260274, 1e-7);
    CHECK_NEAR(((double *)mf_tensor_data(pv))[1], 1.10825918e-02, 1e-10);
    mf_tensor_release(F);
    mf_tensor_release(pv);
    /* chi2 on counts: observed class totals against expected */
    int64_t c[N] = {0, 0, 1, 1, 1, 0};
    mf_tensor *tc = veci(N, c);
    CHECK_OK(mf_feat_chi2(tX, tc, 2, &F, &pv));
    for (int j = 0; j < P; j++) {
        double o0 = X[0 * P + j] + X[1 * P + j] + X[5 * P + j];
        double o1 = X[2 * P + j] + X[3 * P + j] + X[4 * P + j];
        double e = (o0 + o1) / 2; /* both classes have 3 of 6 rows */
        double chi = (o0 - e) * (o0 - e) / e + (o1 - e) * (o1 - e) / e;
        CHECK_NEAR(((double *)mf_tensor_data(F))[j], chi, 1e-12);
        CHECK_NEAR(((double *)mf_tensor_data(pv))[j], mf_feat_chi2_sf(chi, 1), 1e-15);
    }
    CHECK_NEAR(((double *)mf_tensor_data(pv))[2], 0.00467773, 1e-8); /* scikit-learn */
    mf_tensor_release(F);
    mf_tensor_release(pv);
    X[4] = -1;
    mf_tensor *neg = mat64(N, P, X);
    CHECK_ERR(mf_feat_chi2(neg, tc, 2, &F, &pv), MF_EINVAL, 1);
    /* a constant column: F forced to 0 and p to 1 (scikit-learn's force_finite) */
    for (int i = 0; i < N; i++) X[i * P] = 3;
    mf_tensor *cst = mat64(N, P, X);
    CHECK_OK(mf_feat_f_regression(cst, ty, &F, &pv));
    CHECK(((double *)mf_tensor_data(F))[0] == 0 && ((double *)mf_tensor_data(pv))[0] == 1);
    mf_tensor_release(F);
    mf_tensor_release(pv);
    mf_tensor_release(neg);
    mf_tensor_release(cst);
    mf_tensor_release(tc);
    mf_tensor_release(tX);
    mf_tensor_release(ty);
}

CTEST(mutual_info_known_answers)
{
    enum { N = 2000 };
    double *X = malloc(N * 2 * sizeof *X), *yc = malloc(N * sizeof *yc);
    int64_t *y = malloc(N * sizeof *y);
    int64_t cnt[4] = {0};
    for (int i = 0; i < N; i++) {
        y[i] = (int64_t)(urand() * 4);
        cnt[y[i]]++;
        X[i * 2] = (double)y[i];   /* the label itself */
        X[i * 2 + 1] = urand();    /* independent */
        yc[i] = urand();
    }
    double H = 0; /* the entropy of the labels: MI of a feature equal to them */
    for (int q = 0; q < 4; q++) H -= (double)cnt[q] / N * log((double)cnt[q] / N);
    mf_tensor *tX = mat64(N, 2, X), *ty = veci(N, y), *mi = NULL;
    CHECK_OK(mf_feat_mutual_info(tX, ty, 4, 3, 0, &mi));
    const double *m = mi ? mf_tensor_data(mi) : NULL;
    CHECK(m && fabs(m[0] - H) < 0.01);
    CHECK(m && m[1] < 0.02);
    mf_tensor_release(mi);
    /* regression: y continuous; a column equal to y has large MI, an
     * independent one about 0; a bivariate normal with correlation rho has
     * MI = -log(1 - rho^2) / 2 */
    mf_tensor *tyc = vec64(N, yc);
    for (int i = 0; i < N; i++) X[i * 2] = yc[i] * 3 + 1;
    mf_tensor *tX2 = mat64(N, 2, X);
    CHECK_OK(mf_feat_mutual_info(tX2, tyc, 0, 3, 0, &mi));
    m = mi ? mf_tensor_data(mi) : NULL;
    CHECK(m && m[0] > 3 && m[1] < 0.05); /* the estimator's spread at n = 2000 */
    mf_tensor_release(mi);
    double rho = 0.8;
    for (int i = 0; i < N; i++) {
        double u1 = urand() + 1e-12, u2 = urand();
        double z1 = sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
        double z2 = sqrt(-2 * log(u1)) * sin(6.283185307179586 * u2);
        yc[i] = z1;
        X[i * 2] = rho * z1 + sqrt(1 - rho * rho) * z2;
        X[i * 2 + 1] = z2;
    }
    mf_tensor *tX3 = mat64(N, 2, X), *ty3 = vec64(N, yc), *a = NULL;
    CHECK_OK(mf_feat_mutual_info(tX3, ty3, 0, 3, 0, &mi));
    m = mi ? mf_tensor_data(mi) : NULL;
    CHECK(m && fabs(m[0] - (-0.5 * log(1 - rho * rho))) < 0.05);
    /* the same seed gives the same values, whatever the thread count */
    int before = mf_num_threads();
    mf_set_num_threads(1);
    CHECK_OK(mf_feat_mutual_info(tX3, ty3, 0, 3, 0, &a));
    mf_set_num_threads(before);
    CHECK(a && m && memcmp(mf_tensor_data(a), m, 2 * sizeof(double)) == 0);
    mf_tensor_release(a);
    mf_tensor_release(mi);
    CHECK_ERR(mf_feat_mutual_info(tX3, ty3, 0, 0, 0, &mi), MF_EINVAL, 4);
    mf_tensor_release(tX);
    mf_tensor_release(tX2);
    mf_tensor_release(tX3);
    mf_tensor_release(ty);
    mf_tensor_release(tyc);
    mf_tensor_release(ty3);
    free(X);
    free(y);
    free(yc);
}

CTEST(allocation_failures_leak_nothing)
{
    enum { N = 50 };
    double x[N * 2];
    int64_t id[N];
    for (int i = 0; i < N * 2; i++) x[i] = urand();
    for (int i = 0; i < N; i++) id[i] = i % 3;
    mf_tensor *tx = vec64(N, x), *tid = veci(N, id), *tX = mat64(N, 2, x), *out = NULL, *o2 = NULL;
    int64_t yc[N];
    for (int i = 0; i < N; i++) yc[i] = i % 2;
    mf_tensor *ty = veci(N, yc);
    for (long k = 1; k <= 6; k++) {
        size_t before = mf_mem_in_use();
        mf_mem_fail_after(k);
        mf_status st = mf_feat_rolling(tx, tid, 3, 4, 2, MF_FEAT_MAX, &out);
        mf_mem_fail_after(0);
        if (st == MF_OK) mf_tensor_release(out);
        else CHECK(out == NULL && st == MF_ENOMEM);
        mf_mem_fail_after(k);
        st = mf_feat_f_classif(tX, ty, 2, &out, &o2);
        mf_mem_fail_after(0);
        if (st == MF_OK) {
            mf_tensor_release(out);
            mf_tensor_release(o2);
        }
        mf_mem_fail_after(k);
        st = mf_feat_mutual_info(tX, ty, 2, 3, 0, &out);
        mf_mem_fail_after(0);
        if (st == MF_OK) mf_tensor_release(out);
        CHECK_INT(mf_mem_in_use(), before);
    }
    mf_tensor_release(tx);
    mf_tensor_release(tid);
    mf_tensor_release(tX);
    mf_tensor_release(ty);
}

const ctest_case ctest_feat[] = {
    CTEST_ENTRY(rolling_matches_reference_with_groups_and_nan),
    CTEST_ENTRY(rolling_long_series_is_accurate_and_thread_independent),
    CTEST_ENTRY(shift_and_diff_within_groups),
    CTEST_ENTRY(series_errors),
    CTEST_ENTRY(parse_datetimes_fields),
    CTEST_ENTRY(distributions_match_scipy),
    CTEST_ENTRY(f_classif_is_one_way_anova),
    CTEST_ENTRY(f_regression_and_chi2_formulas),
    CTEST_ENTRY(mutual_info_known_answers),
    CTEST_ENTRY(allocation_failures_leak_nothing),
    {NULL, NULL},
};
