/*
 * mf_feat.c — the kernels of mf_feat.h: grouped rolling windows and shifts,
 * timestamp parsing, selector scores and the distributions of their
 * p-values.
 *
 * Grouped series are processed group by group: a stable counting sort of
 * the rows by group id gives each group's rows in row order (`order`, with
 * offsets `off`), and each group is then one sequential pass, run on
 * mf_parallel_for over groups. Scores are computed column by column on
 * mf_parallel_for over columns. Either way one thread computes one result
 * alone, so results do not depend on the thread count.
 */
#include "mf_feat.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mf_thread.h"

#define FEAT_PI 3.14159265358979323846

/* ---------------------------------------------------------------- helpers */
static int is_vec(const mf_tensor *t, mf_dtype dt)
{
    return t && t->ndim == 1 && t->dtype == dt;
}

/* Rows grouped: positions off[g] .. off[g+1]-1 of order are group g's rows,
 * in row order; order == NULL means the identity (one group). */
typedef struct grouping {
    int64_t *order;
    int64_t *off;
    int64_t ng;
} grouping;

static void grouping_free(grouping *g)
{
    mf_free(g->order);
    mf_free(g->off);
    g->order = g->off = NULL;
}

static mf_status grouping_make(const mf_tensor *ids, int64_t ngroups, int64_t n, int arg,
                               grouping *g)
{
    g->order = NULL;
    g->ng = ids ? ngroups : 1;
    if (ids && ngroups < 0) return mf_error_set(MF_EINVAL, arg + 1, "ngroups must be >= 0");
    g->off = mf_calloc((size_t)(g->ng + 1), sizeof *g->off);
    if (!g->off) return mf_error_set(MF_ENOMEM, 0, "out of memory");
    if (!ids) {
        g->off[1] = n;
        return MF_OK;
    }
    if (!is_vec(ids, MF_INT64) || ids->shape[0] != n) {
        grouping_free(g);
        return mf_error_set(MF_EINVAL, arg, "group ids must be a 1-D int64 tensor of length %lld",
                            (long long)n);
    }
    const int64_t *id = mf_tensor_data(ids);
    int64_t s = ids->stride[0];
    for (int64_t i = 0; i < n; i++) {
        int64_t v = id[i * s];
        if (v < 0 || v >= ngroups) {
            grouping_free(g);
            return mf_error_set(MF_ERANGE, arg, "group id %lld at row %lld out of range [0, %lld)",
                                (long long)v, (long long)i, (long long)ngroups);
        }
        g->off[v + 1]++;
    }
    for (int64_t k = 0; k < ngroups; k++) g->off[k + 1] += g->off[k];
    g->order = mf_malloc((size_t)(n > 0 ? n : 1) * sizeof *g->order);
    int64_t *pos = mf_malloc((size_t)(ngroups > 0 ? ngroups : 1) * sizeof *pos);
    if (!g->order || !pos) {
        mf_free(pos);
        grouping_free(g);
        return mf_error_set(MF_ENOMEM, 0, "out of memory");
    }
    if (ngroups > 0) memcpy(pos, g->off, (size_t)ngroups * sizeof *pos);
    for (int64_t i = 0; i < n; i++) g->order[pos[id[i * s]]++] = i;
    mf_free(pos);
    return MF_OK;
}

static mf_status check_series(const mf_tensor *x)
{
    if (!is_vec(x, MF_FLOAT64))
        return mf_error_set(MF_EINVAL, 1, "expected a 1-D float64 tensor");
    return MF_OK;
}

/* ---------------------------------------------------------------- rolling */
typedef struct roll_ctx {
    const double *x;
    int64_t xs;
    double *out;
    const grouping *g;
    int64_t window, minp;
    mf_feat_stat stat;
    int64_t *scratch; /* deque storage: positions lo..hi-1 for the group at lo */
} roll_ctx;

#define ROW(c, p) ((c)->g->order ? (c)->g->order[p] : (p))
#define XAT(c, p) ((c)->x[ROW(c, p) * (c)->xs])

static void kahan_add(double *sum, double *comp, double v)
{
    double y = v - *comp, t = *sum + y;
    *comp = (t - *sum) - y;
    *sum = t;
}

static void roll_group(const roll_ctx *c, int64_t lo, int64_t hi)
{
    const int64_t w = c->window, minp = c->minp;
    int64_t nobs = 0;
    if (c->stat == MF_FEAT_SUM || c->stat == MF_FEAT_MEAN) {
        double sum = 0, comp = 0;
        for (int64_t p = lo; p < hi; p++) {
            double v = XAT(c, p);
            if (!isnan(v)) {
                nobs++;
                kahan_add(&sum, &comp, v);
            }
            if (p - w >= lo) {
                double u = XAT(c, p - w);
                if (!isnan(u)) {
                    nobs--;
                    kahan_add(&sum, &comp, -u);
                    if (nobs == 0) sum = comp = 0; /* no drift across empty windows */
                }
            }
            double r = NAN;
            if (nobs >= minp) {
                if (c->stat == MF_FEAT_SUM) r = nobs ? sum : 0.0;
                else if (nobs > 0) r = sum / (double)nobs;
            }
            c->out[ROW(c, p)] = r;
        }
    } else if (c->stat == MF_FEAT_STD) {
        double mean = 0, ssq = 0; /* Welford add/remove, as pandas' roll_var */
        for (int64_t p = lo; p < hi; p++) {
            double v = XAT(c, p);
            if (!isnan(v)) {
                nobs++;
                double d = v - mean;
                mean += d / (double)nobs;
                ssq += ((double)(nobs - 1) * d * d) / (double)nobs;
            }
            if (p - w >= lo) {
                double u = XAT(c, p - w);
                if (!isnan(u)) {
                    nobs--;
                    if (nobs) {
                        double d = u - mean;
                        mean -= d / (double)nobs;
                        ssq -= ((double)(nobs + 1) * d * d) / (double)nobs;
                    } else {
                        mean = ssq = 0;
                    }
                }
            }
            double r = NAN;
            if (nobs >= minp && nobs > 1) {
                double var = ssq / (double)(nobs - 1);
                r = var > 0 ? sqrt(var) : 0.0;
            }
            c->out[ROW(c, p)] = r;
        }
    } else {
        /* monotone deque of positions of non-NaN values: the front is the
         * window's minimum (maximum); each position enters and leaves once */
        const int ismax = c->stat == MF_FEAT_MAX;
        int64_t *dq = c->scratch + lo, h = 0, t = 0;
        for (int64_t p = lo; p < hi; p++) {
            double v = XAT(c, p);
            if (!isnan(v)) {
                nobs++;
                while (t > h && (ismax ? XAT(c, dq[t - 1]) <= v : XAT(c, dq[t - 1]) >= v)) t--;
                dq[t++] = p;
            }
            if (p - w >= lo && !isnan(XAT(c, p - w))) nobs--;
            while (t > h && dq[h] <= p - w) h++;
            c->out[ROW(c, p)] = (nobs >= minp && nobs > 0) ? XAT(c, dq[h]) : NAN;
        }
    }
}

static void roll_range(int64_t lo, int64_t hi, void *ctx)
{
    const roll_ctx *c = ctx;
    for (int64_t k = lo; k < hi; k++) roll_group(c, c->g->off[k], c->g->off[k + 1]);
}

static int64_t group_grain(int64_t ng, int64_t n)
{
    /* about 16k rows of work per chunk */
    return 1 + (int64_t)((double)ng * 16384.0 / (double)(n + 1));
}

mf_status mf_feat_rolling(const mf_tensor *x, const mf_tensor *ids, int64_t ngroups,
                          int64_t window, int64_t min_periods, mf_feat_stat stat,
                          mf_tensor **out)
{
    *out = NULL;
    if (check_series(x)) return MF_EINVAL;
    if (window < 1) return mf_error_set(MF_EINVAL, 4, "window must be >= 1, got %lld", (long long)window);
    if (min_periods < 0 || min_periods > window)
        return mf_error_set(MF_EINVAL, 5, "min_periods %lld must be in [0, window %lld]",
                            (long long)min_periods, (long long)window);
    if ((int)stat < 0 || stat >= MF_FEAT_STAT_COUNT)
        return mf_error_set(MF_EINVAL, 6, "unknown statistic %d", (int)stat);
    int64_t n = x->shape[0];
    grouping g;
    mf_status st = grouping_make(ids, ngroups, n, 2, &g);
    if (st) return st;
    mf_tensor *o = NULL;
    int64_t *scratch = NULL;
    if ((st = mf_tensor_new(&o, MF_FLOAT64, 1, &n))) goto done;
    if (stat == MF_FEAT_MIN || stat == MF_FEAT_MAX) {
        scratch = mf_malloc((size_t)(n > 0 ? n : 1) * sizeof *scratch);
        if (!scratch) {
            st = mf_error_set(MF_ENOMEM, 0, "out of memory");
            goto done;
        }
    }
    roll_ctx c = {mf_tensor_data(x), x->stride[0], mf_tensor_data(o), &g, window, min_periods,
                  stat, scratch};
    mf_parallel_for(g.ng, group_grain(g.ng, n), roll_range, &c);
done:
    mf_free(scratch);
    grouping_free(&g);
    if (st) mf_tensor_release(o);
    else *out = o;
    return st;
}

/* ---------------------------------------------------------------- shift */
typedef struct shift_ctx {
    const double *x;
    int64_t xs;
    double *out;
    const grouping *g;
    int64_t k;
    int diff;
} shift_ctx;

static void shift_range(int64_t lo, int64_t hi, void *ctx)
{
    const shift_ctx *c = ctx;
    for (int64_t gi = lo; gi < hi; gi++) {
        int64_t a = c->g->off[gi], b = c->g->off[gi + 1];
        for (int64_t p = a; p < b; p++) {
            int64_t q = p - c->k;
            double r = NAN;
            if (q >= a && q < b) {
                r = XAT(c, q);
                if (c->diff) r = XAT(c, p) - r;
            }
            c->out[ROW(c, p)] = r;
        }
    }
}

mf_status mf_feat_shift(const mf_tensor *x, const mf_tensor *ids, int64_t ngroups, int64_t k,
                        int diff, mf_tensor **out)
{
    *out = NULL;
    if (check_series(x)) return MF_EINVAL;
    int64_t n = x->shape[0];
    grouping g;
    mf_status st = grouping_make(ids, ngroups, n, 2, &g);
    if (st) return st;
    mf_tensor *o = NULL;
    if ((st = mf_tensor_new(&o, MF_FLOAT64, 1, &n)) == MF_OK) {
        shift_ctx c = {mf_tensor_data(x), x->stride[0], mf_tensor_data(o), &g, k, diff};
        mf_parallel_for(g.ng, group_grain(g.ng, n), shift_range, &c);
        *out = o;
    }
    grouping_free(&g);
    return st;
}

/* ---------------------------------------------------------------- calendar */
static int take_digits(const char *s, size_t len, size_t *i, int nd, int *v)
{
    int r = 0;
    for (int d = 0; d < nd; d++) {
        if (*i >= len || s[*i] < '0' || s[*i] > '9') return 0;
        r = r * 10 + (s[(*i)++] - '0');
    }
    *v = r;
    return 1;
}

static int take_char(const char *s, size_t len, size_t *i, char ch)
{
    if (*i < len && s[*i] == ch) {
        (*i)++;
        return 1;
    }
    return 0;
}

static int is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return dm[m - 1] + (m == 2 && is_leap(y));
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int parse_one(const char *s, size_t len, int64_t *f)
{
    size_t i = 0;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    if (!take_digits(s, len, &i, 4, &y) || !take_char(s, len, &i, '-') ||
        !take_digits(s, len, &i, 2, &mo) || !take_char(s, len, &i, '-') ||
        !take_digits(s, len, &i, 2, &d))
        return 0;
    if (i < len) {
        if (!take_char(s, len, &i, ' ') && !take_char(s, len, &i, 'T')) return 0;
        if (!take_digits(s, len, &i, 2, &h) || !take_char(s, len, &i, ':') ||
            !take_digits(s, len, &i, 2, &mi))
            return 0;
        if (take_char(s, len, &i, ':')) {
            if (!take_digits(s, len, &i, 2, &sec)) return 0;
            if (take_char(s, len, &i, '.')) {
                int dummy, nd = 0;
                while (i < len && take_digits(s, len, &i, 1, &dummy)) nd++;
                if (nd == 0) return 0;
            }
        }
        if (i != len) return 0;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
        return 0;
    int64_t z = days_from_civil(y, mo, d);
    f[MF_FEAT_YEAR] = y;
    f[MF_FEAT_MONTH] = mo;
    f[MF_FEAT_DAY] = d;
    f[MF_FEAT_HOUR] = h;
    f[MF_FEAT_MINUTE] = mi;
    f[MF_FEAT_SECOND] = sec;
    f[MF_FEAT_WEEKDAY] = ((z % 7) + 7 + 3) % 7 + 1; /* 1970-01-01 was a Thursday (4) */
    f[MF_FEAT_DAYOFYEAR] = z - days_from_civil(y, 1, 1) + 1;
    f[MF_FEAT_QUARTER] = (mo - 1) / 3 + 1;
    return 1;
}

mf_status mf_feat_parse_datetimes(const char *const *s, const size_t *len, int64_t n,
                                  int coerce, mf_tensor **out, int64_t *bad)
{
    *out = NULL;
    if (bad) *bad = coerce ? 0 : -1;
    if (n < 0) return mf_error_set(MF_EINVAL, 3, "n must be >= 0");
    int64_t shape[2] = {n, MF_FEAT_NFIELDS};
    mf_tensor *o = NULL;
    mf_status st = mf_tensor_new(&o, MF_INT64, 2, shape);
    if (st) return st;
    int64_t *f = mf_tensor_data(o);
    for (int64_t i = 0; i < n; i++) {
        if (!parse_one(s[i], len[i], f + i * MF_FEAT_NFIELDS)) {
            if (coerce) {
                for (int j = 0; j < MF_FEAT_NFIELDS; j++) f[i * MF_FEAT_NFIELDS + j] = -1;
                if (bad) (*bad)++;
                continue;
            }
            if (bad) *bad = i;
            mf_tensor_release(o);
            int shown = len[i] > 64 ? 64 : (int)len[i];
            return mf_error_set(MF_EINVAL, 1,
                                "cannot parse '%.*s%s' as a date-time (expected "
                                "YYYY-MM-DD[ HH:MM[:SS[.fff]]])",
                                shown, s[i], len[i] > 64 ? "..." : "");
        }
    }
    *out = o;
    return MF_OK;
}

/* ---------------------------------------------------------------- distributions */
double mf_feat_digamma(double x)
{
    if (isnan(x)) return NAN;
    if (x <= 0 && floor(x) == x) return NAN;
    double r = 0;
    if (x < 0) { /* reflection */
        r = -FEAT_PI / tan(FEAT_PI * x);
        x = 1 - x;
    }
    while (x < 10) {
        r -= 1 / x;
        x += 1;
    }
    double f = 1 / (x * x);
    r += log(x) - 0.5 / x -
         f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132)))));
    return r;
}

/* The continued fraction of I_x(a, b) (modified Lentz). */
static double betacf(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-16;
    double qab = a + b, qap = a + 1, qam = a - 1;
    double c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 1000; m++) {
        double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < eps) break;
    }
    return h;
}

double mf_feat_betainc(double a, double b, double x)
{
    if (isnan(a) || isnan(b) || isnan(x) || a <= 0 || b <= 0) return NAN;
    if (x <= 0) return 0;
    if (x >= 1) return 1;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    double bt = exp(lbt);
    if (x < (a + 1) / (a + b + 2)) return bt * betacf(a, b, x) / a;
    return 1 - bt * betacf(b, a, 1 - x) / b;
}

double mf_feat_gammaincc(double a, double x)
{
    if (isnan(a) || isnan(x) || a <= 0) return NAN;
    if (x <= 0) return 1;
    if (isinf(x)) return 0;
    double lpre = -x + a * log(x) - lgamma(a);
    if (x < a + 1) { /* series for P */
        double ap = a, sum = 1 / a, del = sum;
        for (int i = 0; i < 10000; i++) {
            ap += 1;
            del *= x / ap;
            sum += del;
            if (fabs(del) < fabs(sum) * 1e-16) break;
        }
        return 1 - sum * exp(lpre);
    }
    const double tiny = 1e-300; /* continued fraction for Q (Lentz) */
    double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
    for (int i = 1; i <= 10000; i++) {
        double an = -i * (i - a);
        b += 2;
        d = an * d + b;
        if (fabs(d) < tiny) d = tiny;
        c = b + an / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-16) break;
    }
    return exp(lpre) * h;
}

double mf_feat_f_sf(double f, double d1, double d2)
{
    if (isnan(f) || isnan(d1) || isnan(d2) || d1 <= 0 || d2 <= 0) return NAN;
    if (f <= 0) return 1;
    if (isinf(f)) return 0;
    return mf_feat_betainc(d2 / 2, d1 / 2, d2 / (d2 + d1 * f));
}

double mf_feat_chi2_sf(double x, double df)
{
    if (isnan(x) || isnan(df) || df <= 0) return NAN;
    if (x <= 0) return 1;
    return mf_feat_gammaincc(df / 2, x / 2);
}

/* ---------------------------------------------------------------- scores */
static mf_status check_xy(const mf_tensor *X, const mf_tensor *y, mf_dtype ydt)
{
    if (!X || X->ndim != 2 || X->dtype != MF_FLOAT64)
        return mf_error_set(MF_EINVAL, 1, "expected a 2-D float64 tensor");
    if (!is_vec(y, ydt) || y->shape[0] != X->shape[0])
        return mf_error_set(MF_EINVAL, 2, "expected a 1-D %s tensor of %lld entries",
                            mf_dtype_name(ydt), (long long)X->shape[0]);
    return MF_OK;
}

static mf_status check_labels(const mf_tensor *y, int64_t nclasses, int64_t **counts)
{
    *counts = NULL;
    if (nclasses < 1) return mf_error_set(MF_EINVAL, 3, "nclasses must be >= 1");
    int64_t *cnt = mf_calloc((size_t)nclasses, sizeof *cnt);
    if (!cnt) return mf_error_set(MF_ENOMEM, 0, "out of memory");
    const int64_t *yd = mf_tensor_data(y);
    for (int64_t i = 0; i < y->shape[0]; i++) {
        int64_t c = yd[i * y->stride[0]];
        if (c < 0 || c >= nclasses) {
            mf_free(cnt);
            return mf_error_set(MF_ERANGE, 2, "class code %lld at row %lld out of range [0, %lld)",
                                (long long)c, (long long)i, (long long)nclasses);
        }
        cnt[c]++;
    }
    *counts = cnt;
    return MF_OK;
}

typedef struct score_ctx {
    const double *x;
    int64_t s0, s1, n;
    const double *yf;   /* float target */
    const int64_t *yc;  /* class codes */
    int64_t ys;
    const int64_t *cnt;
    int64_t nclasses;
    double *scratch; /* nclasses per column */
    double *out;
    double ymean, syy;
} score_ctx;

#define XIJ(c, i, j) ((c)->x[(i) * (c)->s0 + (j) * (c)->s1])

static void fclassif_range(int64_t lo, int64_t hi, void *ctx)
{
    const score_ctx *c = ctx;
    for (int64_t j = lo; j < hi; j++) {
        double *mu = c->scratch + j * c->nclasses;
        double tot = 0;
        for (int64_t i = 0; i < c->n; i++) {
            double v = XIJ(c, i, j);
            mu[c->yc[i * c->ys]] += v;
            tot += v;
        }
        double mean = tot / (double)c->n, ssb = 0, ssw = 0;
        int64_t k = 0;
        for (int64_t q = 0; q < c->nclasses; q++) {
            if (!c->cnt[q]) continue;
            k++;
            mu[q] /= (double)c->cnt[q];
            ssb += (double)c->cnt[q] * (mu[q] - mean) * (mu[q] - mean);
        }
        for (int64_t i = 0; i < c->n; i++) {
            double d = XIJ(c, i, j) - mu[c->yc[i * c->ys]];
            ssw += d * d;
        }
        c->out[j] = (ssb / (double)(k - 1)) / (ssw / (double)(c->n - k));
    }
}

static int64_t col_grain(int64_t n) { return 1 + 65536 / (n + 1); }

static mf_status new_pair(int64_t p, mf_tensor **a, mf_tensor **b)
{
    *a = *b = NULL;
    mf_status st = mf_tensor_new(a, MF_FLOAT64, 1, &p);
    if (!st) st = mf_tensor_new(b, MF_FLOAT64, 1, &p);
    if (st) {
        mf_tensor_release(*a);
        *a = NULL;
    }
    return st;
}

mf_status mf_feat_f_classif(const mf_tensor *X, const mf_tensor *y, int64_t nclasses,
                            mf_tensor **F, mf_tensor **pval)
{
    *F = *pval = NULL;
    mf_status st = check_xy(X, y, MF_INT64);
    if (st) return st;
    int64_t *cnt = NULL;
    if ((st = check_labels(y, nclasses, &cnt))) return st;
    int64_t n = X->shape[0], p = X->shape[1], k = 0;
    for (int64_t q = 0; q < nclasses; q++) k += cnt[q] > 0;
    if (k < 2 || k >= n) {
        mf_free(cnt);
        return mf_error_set(MF_EINVAL, 2, "f_classif needs at least 2 classes and more rows "
                            "than classes (got %lld classes, %lld rows)", (long long)k, (long long)n);
    }
    double *scratch = mf_calloc((size_t)(p * nclasses > 0 ? p * nclasses : 1), sizeof *scratch);
    mf_tensor *a = NULL, *b = NULL;
    if (!scratch) st = mf_error_set(MF_ENOMEM, 0, "out of memory");
    else st = new_pair(p, &a, &b);
    if (!st) {
        score_ctx c = {mf_tensor_data(X), X->stride[0], X->stride[1], n, NULL, mf_tensor_data(y),
                       y->stride[0], cnt, nclasses, scratch, mf_tensor_data(a), 0, 0};
        mf_parallel_for(p, col_grain(n), fclassif_range, &c);
        double *fv = mf_tensor_data(a), *pv = mf_tensor_data(b);
        for (int64_t j = 0; j < p; j++) pv[j] = mf_feat_f_sf(fv[j], (double)(k - 1), (double)(n - k));
        *F = a;
        *pval = b;
    }
    mf_free(scratch);
    mf_free(cnt);
    return st;
}

static void freg_range(int64_t lo, int64_t hi, void *ctx)
{
    const score_ctx *c = ctx;
    for (int64_t j = lo; j < hi; j++) {
        double s = 0;
        for (int64_t i = 0; i < c->n; i++) s += XIJ(c, i, j);
        double mean = s / (double)c->n, sxx = 0, sxy = 0;
        for (int64_t i = 0; i < c->n; i++) {
            double d = XIJ(c, i, j) - mean;
            sxx += d * d;
            sxy += d * (c->yf[i * c->ys] - c->ymean);
        }
        double F;
        if (!(sxx > 0) || !(c->syy > 0)) {
            F = NAN; /* constant: forced to F = 0, p = 1 below */
        } else {
            double r = sxy / sqrt(sxx * c->syy), r2 = r * r;
            F = r2 >= 1 ? INFINITY : r2 / (1 - r2) * (double)(c->n - 2);
        }
        c->out[j] = F;
    }
}

mf_status mf_feat_f_regression(const mf_tensor *X, const mf_tensor *y, mf_tensor **F,
                               mf_tensor **pval)
{
    *F = *pval = NULL;
    mf_status st = check_xy(X, y, MF_FLOAT64);
    if (st) return st;
    int64_t n = X->shape[0], p = X->shape[1];
    if (n < 3) return mf_error_set(MF_EINVAL, 1, "f_regression needs at least 3 rows, got %lld", (long long)n);
    mf_tensor *a = NULL, *b = NULL;
    if ((st = new_pair(p, &a, &b))) return st;
    const double *yd = mf_tensor_data(y);
    int64_t ys = y->stride[0];
    double s = 0, syy = 0;
    for (int64_t i = 0; i < n; i++) s += yd[i * ys];
    double ym = s / (double)n;
    for (int64_t i = 0; i < n; i++) syy += (yd[i * ys] - ym) * (yd[i * ys] - ym);
    score_ctx c = {mf_tensor_data(X), X->stride[0], X->stride[1], n, yd, NULL, ys, NULL, 0,
                   NULL, mf_tensor_data(a), ym, syy};
    mf_parallel_for(p, col_grain(n), freg_range, &c);
    double *fv = mf_tensor_data(a), *pv = mf_tensor_data(b);
    for (int64_t j = 0; j < p; j++) {
        if (isnan(fv[j])) {
            fv[j] = 0;
            pv[j] = 1;
        } else if (isinf(fv[j])) {
            fv[j] = DBL_MAX;
            pv[j] = 0;
        } else {
            pv[j] = mf_feat_f_sf(fv[j], 1, (double)(n - 2));
        }
    }
    *F = a;
    *pval = b;
    return MF_OK;
}

static void chi2_range(int64_t lo, int64_t hi, void *ctx)
{
    const score_ctx *c = ctx;
    for (int64_t j = lo; j < hi; j++) {
        double *obs = c->scratch + j * c->nclasses, tot = 0;
        for (int64_t i = 0; i < c->n; i++) {
            double v = XIJ(c, i, j);
            obs[c->yc[i * c->ys]] += v;
            tot += v;
        }
        double chi = 0;
        for (int64_t q = 0; q < c->nclasses; q++) {
            if (!c->cnt[q]) continue;
            double e = (double)c->cnt[q] / (double)c->n * tot;
            chi += (obs[q] - e) * (obs[q] - e) / e;
        }
        c->out[j] = chi;
    }
}

mf_status mf_feat_chi2(const mf_tensor *X, const mf_tensor *y, int64_t nclasses,
                       mf_tensor **chi, mf_tensor **pval)
{
    *chi = *pval = NULL;
    mf_status st = check_xy(X, y, MF_INT64);
    if (st) return st;
    int64_t n = X->shape[0], p = X->shape[1];
    const double *xd = mf_tensor_data(X);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < p; j++) {
            double v = xd[i * X->stride[0] + j * X->stride[1]];
            if (!(v >= 0))
                return mf_error_set(MF_EINVAL, 1, "chi2 needs non-negative values, got %g at "
                                    "row %lld, column %lld", v, (long long)i, (long long)j);
        }
    int64_t *cnt = NULL;
    if ((st = check_labels(y, nclasses, &cnt))) return st;
    int64_t k = 0;
    for (int64_t q = 0; q < nclasses; q++) k += cnt[q] > 0;
    double *scratch = mf_calloc((size_t)(p * nclasses > 0 ? p * nclasses : 1), sizeof *scratch);
    mf_tensor *a = NULL, *b = NULL;
    if (!scratch) st = mf_error_set(MF_ENOMEM, 0, "out of memory");
    else st = new_pair(p, &a, &b);
    if (!st) {
        score_ctx c = {xd, X->stride[0], X->stride[1], n, NULL, mf_tensor_data(y), y->stride[0],
                       cnt, nclasses, scratch, mf_tensor_data(a), 0, 0};
        mf_parallel_for(p, col_grain(n), chi2_range, &c);
        double *cv = mf_tensor_data(a), *pv = mf_tensor_data(b);
        for (int64_t j = 0; j < p; j++) pv[j] = mf_feat_chi2_sf(cv[j], (double)(k - 1));
        *chi = a;
        *pval = b;
    }
    mf_free(scratch);
    mf_free(cnt);
    return st;
}

/* ---------------------------------------------------------------- mutual information */
static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double std_normal(uint64_t *s)
{
    double u1 = ((double)(splitmix(s) >> 11) + 0.5) / 9007199254740992.0;
    double u2 = (double)(splitmix(s) >> 11) / 9007199254740992.0;
    return sqrt(-2 * log(u1)) * cos(2 * FEAT_PI * u2);
}

/* v[0..n) divided by its population std (1 if 0), plus the noise of
 * scikit-learn's _estimate_mi from the generator seeded with `seed`. */
static void scale_and_jitter(double *v, int64_t n, uint64_t seed)
{
    double s = 0, ss = 0, ma = 0;
    for (int64_t i = 0; i < n; i++) s += v[i];
    double m = s / (double)n;
    for (int64_t i = 0; i < n; i++) ss += (v[i] - m) * (v[i] - m);
    double sd = sqrt(ss / (double)n);
    if (!(sd > 0)) sd = 1;
    for (int64_t i = 0; i < n; i++) {
        v[i] /= sd;
        ma += fabs(v[i]);
    }
    ma /= (double)n;
    double amp = 1e-10 * (ma > 1 ? ma : 1);
    uint64_t st = seed;
    for (int64_t i = 0; i < n; i++) v[i] += amp * std_normal(&st);
}

typedef struct pt {
    double a, b;
} pt;

static int cmp_pt(const void *p, const void *q)
{
    const pt *x = p, *y = q;
    if (x->a != y->a) return x->a < y->a ? -1 : 1;
    return (x->b > y->b) - (x->b < y->b);
}

static int cmp_dbl(const void *p, const void *q)
{
    double x = *(const double *)p, y = *(const double *)q;
    return (x > y) - (x < y);
}

/* How many of the sorted s[0..n) lie within distance r of v (|s - v| <= r). */
static int64_t count_within(const double *s, int64_t n, double v, double r)
{
    int64_t lo = 0, hi = n; /* first index with v - s[i] <= r */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (v - s[mid] <= r) hi = mid;
        else lo = mid + 1;
    }
    int64_t a = lo;
    lo = a, hi = n; /* first index with s[i] - v > r */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (s[mid] - v <= r) lo = mid + 1;
        else hi = mid;
    }
    return lo - a;
}

/* The k-th smallest distance from s[q] to the other entries of sorted s[0..m). */
static double kth_1d(const double *s, int64_t m, int64_t q, int64_t k)
{
    int64_t l = q - 1, r = q + 1;
    double d = 0;
    for (int64_t t = 0; t < k; t++) {
        double dl = l >= 0 ? s[q] - s[l] : INFINITY, dr = r < m ? s[r] - s[q] : INFINITY;
        if (dl <= dr) {
            d = dl;
            l--;
        } else {
            d = dr;
            r++;
        }
    }
    return d;
}

typedef struct mi_ctx {
    const double *x;
    int64_t s0, s1, n;
    const int64_t *yc;
    int64_t ys, nclasses;
    const int64_t *cnt;
    const double *yv;      /* scaled, jittered continuous target */
    const double *ysorted; /* the same, sorted */
    int64_t ydistinct;     /* distinct values of the target before the noise */
    int64_t k;
    uint64_t seed;
    double *out;
    unsigned char *failed; /* per column, so that no two threads write one byte */
} mi_ctx;

/* Ross's estimator (continuous column, discrete target). */
static double mi_cd(const mi_ctx *c, const double *v, double *buf, double *all, int64_t *off)
{
    /* buf: the values grouped by class, each class sorted; all: every value
     * of a class with more than one member, sorted; off: 2 nc + 1 integers */
    int64_t n = c->n, nc = c->nclasses;
    off[0] = 0;
    for (int64_t q = 0; q < nc; q++) off[q + 1] = off[q] + c->cnt[q];
    int64_t *pos = off + nc + 1;
    memcpy(pos, off, (size_t)nc * sizeof *pos);
    for (int64_t i = 0; i < n; i++) buf[pos[c->yc[i * c->ys]]++] = v[i];
    int64_t m = 0;
    for (int64_t q = 0; q < nc; q++) {
        if (c->cnt[q] < 2) continue;
        qsort(buf + off[q], (size_t)c->cnt[q], sizeof *buf, cmp_dbl);
        memcpy(all + m, buf + off[q], (size_t)c->cnt[q] * sizeof *buf);
        m += c->cnt[q];
    }
    if (m == 0) return 0;
    qsort(all, (size_t)m, sizeof *all, cmp_dbl);
    double sk = 0, sl = 0, sm = 0;
    for (int64_t q = 0; q < nc; q++) {
        int64_t cq = c->cnt[q];
        if (cq < 2) continue;
        int64_t kk = c->k < cq - 1 ? c->k : cq - 1;
        double dk = mf_feat_digamma((double)kk), dl = mf_feat_digamma((double)cq);
        for (int64_t t = 0; t < cq; t++) {
            double r = nextafter(kth_1d(buf + off[q], cq, t, kk), 0);
            int64_t mi = count_within(all, m, buf[off[q] + t], r);
            sk += dk;
            sl += dl;
            sm += mf_feat_digamma((double)mi);
        }
    }
    double mi = mf_feat_digamma((double)m) + (sk - sl - sm) / (double)m;
    return mi > 0 ? mi : 0;
}

/* How many distinct values v[0..n) holds (tmp: n doubles of scratch). */
static int64_t count_distinct(const double *v, int64_t n, double *tmp)
{
    if (n == 0) return 0;
    memcpy(tmp, v, (size_t)n * sizeof *tmp);
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_dbl);
    int64_t d = 1;
    for (int64_t i = 1; i < n; i++) d += tmp[i] != tmp[i - 1];
    return d;
}

/* Kraskov's first estimator (continuous column and target), Chebyshev
 * distance in the joint space. The neighbours are searched in a strip
 * around each point along one axis, sorted: the axis with more distinct
 * values, so that a column of few values (a flag) does not make every
 * strip hold a whole tie group. `swap` says that axis is the target's. */
static double mi_cc(const mi_ctx *c, const double *v, pt *P, double *as, double *xs,
                    double *best, int swap)
{
    int64_t n = c->n, k = c->k;
    for (int64_t i = 0; i < n; i++) {
        P[i].a = swap ? c->yv[i] : v[i];
        P[i].b = swap ? v[i] : c->yv[i];
    }
    qsort(P, (size_t)n, sizeof *P, cmp_pt);
    for (int64_t i = 0; i < n; i++) as[i] = P[i].a;
    const double *xsorted = as, *ysorted = c->ysorted;
    if (swap) {
        memcpy(xs, v, (size_t)n * sizeof *xs);
        qsort(xs, (size_t)n, sizeof *xs, cmp_dbl);
        xsorted = xs;
    }
    double sx = 0, sy = 0;
    for (int64_t q = 0; q < n; q++) {
        /* the k smallest joint distances, kept sorted in best[0..nb) */
        int64_t nb = 0, l = q - 1, r = q + 1;
        for (;;) {
            double dl = l >= 0 ? P[q].a - P[l].a : INFINITY;
            double dr = r < n ? P[r].a - P[q].a : INFINITY;
            double da = dl <= dr ? dl : dr;
            /* no point further along the axis can come closer than best[k-1] */
            if (isinf(da) || (nb == k && da >= best[k - 1])) break;
            int64_t j = dl <= dr ? l-- : r++;
            double db = fabs(P[j].b - P[q].b), d = da > db ? da : db;
            if (nb < k || d < best[nb - 1]) {
                int64_t t = nb < k ? nb++ : k - 1;
                while (t > 0 && best[t - 1] > d) {
                    best[t] = best[t - 1];
                    t--;
                }
                best[t] = d;
            }
        }
        double rad = nextafter(best[k - 1], 0);
        double px = swap ? P[q].b : P[q].a, py = swap ? P[q].a : P[q].b;
        sx += mf_feat_digamma((double)count_within(xsorted, n, px, rad));
        sy += mf_feat_digamma((double)count_within(ysorted, n, py, rad));
    }
    /* counts include the point itself: digamma(nx + 1) with nx = count - 1 */
    double mi = mf_feat_digamma((double)n) + mf_feat_digamma((double)k) - (sx + sy) / (double)n;
    return mi > 0 ? mi : 0;
}

static void mi_range(int64_t lo, int64_t hi, void *ctx)
{
    mi_ctx *c = ctx;
    int64_t n = c->n, nc = c->nclasses;
    /* per chunk scratch: v[n], buf[n], all[n], best[k], P[n], off[2 nc + 2] */
    size_t nd = (size_t)(3 * n + c->k + 1);
    size_t bytes = nd * sizeof(double) + (size_t)n * sizeof(pt) + (size_t)(2 * nc + 2) * sizeof(int64_t);
    char *mem = mf_malloc(bytes);
    if (!mem) {
        for (int64_t j = lo; j < hi; j++) c->failed[j] = 1; /* read after mf_parallel_for */
        return;
    }
    double *v = (double *)(void *)mem, *buf = v + n, *all = buf + n, *best = all + n;
    pt *P = (pt *)(void *)(v + nd);
    int64_t *off = (int64_t *)(void *)(P + n);
    for (int64_t j = lo; j < hi; j++) {
        for (int64_t i = 0; i < n; i++) v[i] = XIJ(c, i, j);
        int swap = nc == 0 && count_distinct(v, n, buf) < c->ydistinct;
        scale_and_jitter(v, n, c->seed + 0x632BE59BD9B4E019ULL * (uint64_t)(j + 1));
        c->out[j] = nc > 0 ? mi_cd(c, v, buf, all, off) : mi_cc(c, v, P, all, buf, best, swap);
    }
    mf_free(mem);
}

mf_status mf_feat_mutual_info(const mf_tensor *X, const mf_tensor *y, int64_t nclasses,
                              int64_t k, uint64_t seed, mf_tensor **out)
{
    *out = NULL;
    mf_status st = check_xy(X, y, nclasses > 0 ? MF_INT64 : MF_FLOAT64);
    if (st) return st;
    int64_t n = X->shape[0], p = X->shape[1];
    if (k < 1) return mf_error_set(MF_EINVAL, 4, "n_neighbors must be >= 1, got %lld", (long long)k);
    if (nclasses <= 0 && n <= k)
        return mf_error_set(MF_EINVAL, 1, "mutual information needs more rows (%lld) than "
                            "n_neighbors (%lld)", (long long)n, (long long)k);
    int64_t *cnt = NULL;
    double *yv = NULL, *ysorted = NULL;
    unsigned char *failed = NULL;
    int64_t ydistinct = 0;
    mf_tensor *o = NULL;
    if (nclasses > 0) {
        if ((st = check_labels(y, nclasses, &cnt))) return st;
    } else {
        yv = mf_malloc((size_t)(n > 0 ? n : 1) * sizeof *yv);
        ysorted = mf_malloc((size_t)(n > 0 ? n : 1) * sizeof *ysorted);
        if (!yv || !ysorted) {
            st = mf_error_set(MF_ENOMEM, 0, "out of memory");
            goto done;
        }
        const double *yd = mf_tensor_data(y);
        for (int64_t i = 0; i < n; i++) yv[i] = yd[i * y->stride[0]];
        ydistinct = count_distinct(yv, n, ysorted);
        scale_and_jitter(yv, n, seed);
        memcpy(ysorted, yv, (size_t)n * sizeof *yv);
        qsort(ysorted, (size_t)n, sizeof *ysorted, cmp_dbl);
    }
    failed = mf_calloc((size_t)(p > 0 ? p : 1), 1);
    if (!failed) {
        st = mf_error_set(MF_ENOMEM, 0, "out of memory");
        goto done;
    }
    if ((st = mf_tensor_new(&o, MF_FLOAT64, 1, &p))) goto done;
    mi_ctx c = {mf_tensor_data(X), X->stride[0], X->stride[1], n,
                nclasses > 0 ? mf_tensor_data(y) : NULL, y->stride[0], nclasses > 0 ? nclasses : 0,
                cnt, yv, ysorted, ydistinct, k, seed, mf_tensor_data(o), failed};
    mf_parallel_for(p, 1, mi_range, &c);
    for (int64_t j = 0; j < p; j++)
        if (failed[j]) {
            st = mf_error_set(MF_ENOMEM, 0, "out of memory");
            break;
        }
done:
    mf_free(failed);
    mf_free(cnt);
    mf_free(yv);
    mf_free(ysorted);
    if (st) mf_tensor_release(o);
    else *out = o;
    return st;
}
