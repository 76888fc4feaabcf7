/* test_rows.c — the row kernels: factorize against a brute-force O(n^2)
 * grouping, per-group reductions against plain loops, join pairs, take with
 * missing rows, errors and allocation failures. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctest.h"
#include "moonforge.h"

static uint64_t rng_state = 88172645463325252ULL;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static mf_tensor *vec(mf_dtype dt, int64_t n)
{
    mf_tensor *t = NULL;
    if (mf_tensor_new(&t, dt, 1, &n) != MF_OK) return NULL;
    return t;
}

static mf_tensor *f64s(int64_t n, const double *v)
{
    mf_tensor *t = vec(MF_FLOAT64, n);
    if (t && n) memcpy(mf_tensor_data(t), v, (size_t)n * sizeof *v);
    return t;
}

static mf_tensor *i64s(int64_t n, const int64_t *v)
{
    mf_tensor *t = vec(MF_INT64, n);
    if (t && n) memcpy(mf_tensor_data(t), v, (size_t)n * sizeof *v);
    return t;
}

/* Brute-force equality with the documented semantics. */
static int same(const mf_tensor *c, int64_t a, int64_t b)
{
    switch (c->dtype) {
    case MF_FLOAT64: {
        const double *p = mf_tensor_data(c);
        return p[a] == p[b] || (isnan(p[a]) && isnan(p[b]));
    }
    case MF_INT64: {
        const int64_t *p = mf_tensor_data(c);
        return p[a] == p[b];
    }
    default: {
        const unsigned char *p = mf_tensor_data(c);
        return p[a] == p[b];
    }
    }
}

static void check_factorize(ctest_ctx *ctest_, mf_tensor **cols, int ncols, int64_t n)
{
    mf_tensor *ids = NULL, *first = NULL, *last = NULL;
    int64_t ng = -1;
    CHECK_OK(mf_rows_factorize(cols, ncols, &ids, &ng, &first, &last));
    if (!ids) return;
    const int64_t *id = mf_tensor_data(ids), *fs = mf_tensor_data(first),
                  *ls = mf_tensor_data(last);
    /* brute force: group of row i = the group of the first earlier equal row */
    int64_t *ref = malloc((size_t)(n ? n : 1) * sizeof *ref);
    int64_t nref = 0;
    for (int64_t i = 0; i < n; i++) {
        ref[i] = -1;
        for (int64_t k = 0; k < i && ref[i] < 0; k++) {
            int eq = 1;
            for (int j = 0; j < ncols && eq; j++) eq = same(cols[j], i, k);
            if (eq) ref[i] = ref[k];
        }
        if (ref[i] < 0) ref[i] = nref++;
    }
    CHECK_INT(ng, nref);
    int bad = 0;
    for (int64_t i = 0; i < n; i++) bad += id[i] != ref[i];
    CHECK_INT(bad, 0);
    CHECK_INT(first->shape[0], ng);
    CHECK_INT(last->shape[0], ng);
    bad = 0;
    for (int64_t g = 0; g < ng && g < nref; g++) {
        int64_t f = -1, l = -1;
        for (int64_t i = 0; i < n; i++)
            if (ref[i] == g) {
                if (f < 0) f = i;
                l = i;
            }
        bad += fs[g] != f || ls[g] != l;
    }
    CHECK_INT(bad, 0);
    free(ref);
    mf_tensor_release(ids);
    mf_tensor_release(first);
    mf_tensor_release(last);
}

CTEST(factorize_random)
{
    static const double fvals[] = {0.0, -0.0, 1.5, -2.0, 1e300, INFINITY, -INFINITY, 4.9e-324};
    for (int trial = 0; trial < 6; trial++) {
        int64_t n = trial == 0 ? 0 : trial == 1 ? 1 : 300 * trial;
        mf_tensor *cols[3] = {vec(MF_FLOAT64, n), vec(MF_INT64, n), vec(MF_BOOL, n)};
        double *a = mf_tensor_data(cols[0]);
        int64_t *b = mf_tensor_data(cols[1]);
        unsigned char *c = mf_tensor_data(cols[2]);
        for (int64_t i = 0; i < n; i++) {
            uint64_t r = rnd();
            a[i] = r % 5 == 0 ? NAN : fvals[(r >> 8) % 8];
            if (r % 7 == 0) a[i] = -NAN;
            b[i] = (int64_t)((r >> 20) % 4) - 2 + (r % 97 == 0 ? INT64_MIN + 2 : 0);
            c[i] = (unsigned char)((r >> 30) & 1);
        }
        for (int nc = 1; nc <= 3; nc++) check_factorize(ctest_, cols, nc, n);
        mf_tensor *rev[2] = {cols[2], cols[0]};
        check_factorize(ctest_, rev, 2, n);
        for (int j = 0; j < 3; j++) mf_tensor_release(cols[j]);
    }
}

CTEST(factorize_semantics)
{
    /* NaN == NaN, -0.0 == 0.0, first appearance order, strided input */
    double v[] = {NAN, 0.0, -0.0, 2.0, NAN, 2.0};
    mf_tensor *a = f64s(6, v), *ids = NULL, *first = NULL;
    int64_t ng = 0;
    CHECK_OK(mf_rows_factorize(&a, 1, &ids, &ng, &first, NULL));
    CHECK_INT(ng, 3);
    if (ids) {
        const int64_t *id = mf_tensor_data(ids);
        int64_t expect[] = {0, 1, 1, 2, 0, 2};
        for (int i = 0; i < 6; i++) CHECK_INT(id[i], expect[i]);
        const int64_t *f = mf_tensor_data(first);
        CHECK_INT(f[0], 0);
        CHECK_INT(f[1], 1);
        CHECK_INT(f[2], 3);
    }
    mf_tensor_release(ids);
    mf_tensor_release(first);
    /* a strided view: every second element {NaN, -0.0, NaN} */
    mf_layout l = {1, MF_FLOAT64, {3}, {2}, 0};
    mf_tensor *s = NULL;
    CHECK_OK(mf_tensor_view(&s, a, &l));
    CHECK_OK(mf_rows_factorize(&s, 1, &ids, &ng, NULL, NULL));
    CHECK_INT(ng, 2);
    if (ids) CHECK_INT(((int64_t *)mf_tensor_data(ids))[2], 0);
    mf_tensor_release(ids);
    mf_tensor_release(s);
    mf_tensor_release(a);
}

CTEST(factorize_errors)
{
    mf_tensor *a = vec(MF_FLOAT64, 3), *b = vec(MF_INT64, 4), *c = vec(MF_FLOAT32, 3);
    mf_tensor *ids = NULL;
    int64_t ng;
    mf_tensor *two[2] = {a, b};
    CHECK_ERR(mf_rows_factorize(two, 2, &ids, &ng, NULL, NULL), MF_EINVAL, 1);
    CHECK(strstr(mf_error_get()->msg, "column 2 has 4 rows") != NULL);
    CHECK_ERR(mf_rows_factorize(&c, 1, &ids, &ng, NULL, NULL), MF_EINVAL, 1);
    CHECK(strstr(mf_error_get()->msg, "float32") != NULL);
    CHECK_ERR(mf_rows_factorize(two, 0, &ids, &ng, NULL, NULL), MF_EINVAL, 1);
    int64_t sh[2] = {3, 1};
    mf_tensor *m = NULL;
    CHECK_OK(mf_tensor_new(&m, MF_FLOAT64, 2, sh));
    CHECK_ERR(mf_rows_factorize(&m, 1, &ids, &ng, NULL, NULL), MF_EINVAL, 1);
    CHECK(ids == NULL);
    mf_tensor_release(m);
    mf_tensor_release(a);
    mf_tensor_release(b);
    mf_tensor_release(c);
}

CTEST(factorize_alloc_failures)
{
    double v[] = {1, 2, 1, 3};
    mf_tensor *a = f64s(4, v);
    int ok = 0;
    for (long k = 1; k < 20 && !ok; k++) {
        mf_tensor *ids = NULL, *first = NULL, *last = NULL;
        int64_t ng;
        mf_mem_fail_after(k);
        mf_status st = mf_rows_factorize(&a, 1, &ids, &ng, &first, &last);
        mf_mem_fail_after(0);
        if (st == MF_OK) {
            ok = 1;
            CHECK_INT(ng, 3);
        } else {
            CHECK_INT(st, MF_ENOMEM);
            CHECK(ids == NULL && first == NULL && last == NULL);
        }
        mf_tensor_release(ids);
        mf_tensor_release(first);
        mf_tensor_release(last);
    }
    CHECK(ok);
    mf_tensor_release(a);
}

CTEST(group_agg)
{
    /* groups 0,1,0,2,1,0; group 2 has only NaN */
    double v[] = {1.0, 4.0, NAN, NAN, -2.0, 5.0};
    int64_t g[] = {0, 1, 0, 2, 1, 0};
    mf_tensor *vals = f64s(6, v), *ids = i64s(6, g);
    mf_rows_agg a;
    CHECK_OK(mf_rows_group_agg(vals, ids, 3, MF_ROWS_COUNT | MF_ROWS_SUM | MF_ROWS_MEAN |
                                                 MF_ROWS_STD | MF_ROWS_MIN | MF_ROWS_MAX,
                               &a));
    if (a.count) {
        const int64_t *c = mf_tensor_data(a.count);
        const double *s = mf_tensor_data(a.sum), *m = mf_tensor_data(a.mean),
                     *sd = mf_tensor_data(a.std), *mn = mf_tensor_data(a.min),
                     *mx = mf_tensor_data(a.max);
        CHECK_INT(c[0], 2);
        CHECK_INT(c[1], 2);
        CHECK_INT(c[2], 0);
        CHECK_NEAR(s[0], 6.0, 0);
        CHECK_NEAR(s[2], 0.0, 0);
        CHECK_NEAR(m[1], 1.0, 0);
        CHECK(isnan(m[2]));
        CHECK_NEAR(sd[0], sqrt(8.0), 1e-15); /* values 1, 5: mean 3, ((4+4)/1) */
        CHECK_NEAR(sd[1], sqrt(18.0), 1e-14);
        CHECK(isnan(sd[2]));
        CHECK_NEAR(mn[0], 1.0, 0);
        CHECK_NEAR(mx[1], 4.0, 0);
        CHECK(isnan(mn[2]) && isnan(mx[2]));
    }
    mf_tensor *t[] = {a.count, a.sum, a.mean, a.std, a.min, a.max};
    for (int k = 0; k < 6; k++) mf_tensor_release(t[k]);
    /* int64 values: sum, min, max stay int64; -1 ids are skipped */
    int64_t iv[] = {3, 7, -4, 100, 2, 9};
    int64_t g2[] = {0, 1, 0, -1, 1, 0};
    mf_tensor *ivals = i64s(6, iv), *ids2 = i64s(6, g2);
    CHECK_OK(mf_rows_group_agg(ivals, ids2, 2, MF_ROWS_SUM | MF_ROWS_MIN | MF_ROWS_MAX, &a));
    CHECK(a.count == NULL && a.mean == NULL);
    if (a.sum) {
        CHECK(a.sum->dtype == MF_INT64 && a.min->dtype == MF_INT64);
        CHECK_INT(((int64_t *)mf_tensor_data(a.sum))[0], 8);
        CHECK_INT(((int64_t *)mf_tensor_data(a.sum))[1], 9);
        CHECK_INT(((int64_t *)mf_tensor_data(a.min))[0], -4);
        CHECK_INT(((int64_t *)mf_tensor_data(a.max))[1], 7);
    }
    mf_tensor_release(a.sum);
    mf_tensor_release(a.min);
    mf_tensor_release(a.max);
    /* errors: id out of range, wrong lengths */
    int64_t g3[] = {0, 5, 0, 0, 0, 0};
    mf_tensor *bad = i64s(6, g3), *short_ids = i64s(2, g3);
    CHECK_ERR(mf_rows_group_agg(vals, bad, 3, MF_ROWS_SUM, &a), MF_ERANGE, 2);
    CHECK_ERR(mf_rows_group_agg(vals, short_ids, 3, MF_ROWS_SUM, &a), MF_EINVAL, 2);
    CHECK(a.sum == NULL);
    mf_tensor_release(bad);
    mf_tensor_release(short_ids);
    mf_tensor_release(ivals);
    mf_tensor_release(ids2);
    mf_tensor_release(vals);
    mf_tensor_release(ids);
}

/* Brute-force join pairs in the documented order (inner/left/right). */
static void check_join(ctest_ctx *ctest_, const int64_t *g, int64_t nl, int64_t nr,
                       int64_t ng, mf_rows_how how)
{
    mf_tensor *ids = i64s(nl + nr, g), *li = NULL, *ri = NULL;
    CHECK_OK(mf_rows_join(ids, nl, ng, how, NULL, &li, &ri));
    int64_t *el = malloc((size_t)(nl * nr + nl + nr + 1) * sizeof *el);
    int64_t *er = malloc((size_t)(nl * nr + nl + nr + 1) * sizeof *er);
    int64_t k = 0;
    if (how == MF_ROWS_RIGHT) {
        for (int64_t j = 0; j < nr; j++) {
            int64_t k0 = k;
            for (int64_t i = 0; i < nl; i++)
                if (g[i] == g[nl + j]) el[k] = i, er[k] = j, k++;
            if (k == k0) el[k] = -1, er[k] = j, k++;
        }
    } else {
        for (int64_t i = 0; i < nl; i++) {
            int64_t k0 = k;
            for (int64_t j = 0; j < nr; j++)
                if (g[i] == g[nl + j]) el[k] = i, er[k] = j, k++;
            if (k == k0 && how == MF_ROWS_LEFT) el[k] = i, er[k] = -1, k++;
        }
    }
    if (li) {
        CHECK_INT(li->shape[0], k);
        int bad = 0;
        const int64_t *pl = mf_tensor_data(li), *pr = mf_tensor_data(ri);
        for (int64_t q = 0; q < k && q < li->shape[0]; q++) bad += pl[q] != el[q] || pr[q] != er[q];
        CHECK_INT(bad, 0);
    }
    free(el);
    free(er);
    mf_tensor_release(li);
    mf_tensor_release(ri);
    mf_tensor_release(ids);
}

CTEST(join_pairs)
{
    for (int trial = 0; trial < 20; trial++) {
        int64_t nl = (int64_t)(rnd() % 30), nr = (int64_t)(rnd() % 30), ng = 1 + (int64_t)(rnd() % 8);
        int64_t g[60];
        for (int64_t i = 0; i < nl + nr; i++) g[i] = (int64_t)(rnd() % (uint64_t)ng);
        for (int how = 0; how < 3; how++) check_join(ctest_, g, nl, nr, ng, (mf_rows_how)how);
    }
    /* outer: groups in the given order; left-major within a group */
    int64_t g[] = {0, 1, 0, /* right: */ 1, 2, 1};
    int64_t ord[] = {2, 0, 1};
    mf_tensor *ids = i64s(6, g), *order = i64s(3, ord), *li = NULL, *ri = NULL;
    CHECK_OK(mf_rows_join(ids, 3, 3, MF_ROWS_OUTER, order, &li, &ri));
    int64_t el[] = {-1, 0, 2, 1, 1}, er[] = {1, -1, -1, 0, 2};
    if (li) {
        CHECK_INT(li->shape[0], 5);
        for (int q = 0; q < 5; q++) {
            CHECK_INT(((int64_t *)mf_tensor_data(li))[q], el[q]);
            CHECK_INT(((int64_t *)mf_tensor_data(ri))[q], er[q]);
        }
    }
    mf_tensor_release(li);
    mf_tensor_release(ri);
    int64_t badord[] = {0, 0, 1};
    mf_tensor *bo = i64s(3, badord);
    CHECK_ERR(mf_rows_join(ids, 3, 3, MF_ROWS_OUTER, bo, &li, &ri), MF_EINVAL, 5);
    CHECK_ERR(mf_rows_join(ids, 3, 2, MF_ROWS_INNER, NULL, &li, &ri), MF_ERANGE, 1);
    CHECK(li == NULL && ri == NULL);
    mf_tensor_release(bo);
    mf_tensor_release(order);
    mf_tensor_release(ids);
}

CTEST(take_missing)
{
    int64_t v[] = {10, 20, 30}, ix[] = {2, -1, 0}, ix2[] = {1, 1};
    mf_tensor *col = i64s(3, v), *idx = i64s(3, ix), *idx2 = i64s(2, ix2), *out = NULL;
    CHECK_OK(mf_rows_take(&out, col, idx, 0)); /* int64 with a hole: float64 */
    if (out) {
        CHECK(out->dtype == MF_FLOAT64);
        const double *o = mf_tensor_data(out);
        CHECK_NEAR(o[0], 30, 0);
        CHECK(isnan(o[1]));
        CHECK_NEAR(o[2], 10, 0);
    }
    mf_tensor_release(out);
    CHECK_OK(mf_rows_take(&out, col, idx, 1)); /* codes: 0 is missing */
    if (out) {
        CHECK(out->dtype == MF_INT64);
        CHECK_INT(((int64_t *)mf_tensor_data(out))[1], 0);
    }
    mf_tensor_release(out);
    CHECK_OK(mf_rows_take(&out, col, idx2, 0)); /* no hole: stays int64 */
    if (out) CHECK(out->dtype == MF_INT64 && ((int64_t *)mf_tensor_data(out))[0] == 20);
    mf_tensor_release(out);
    /* a long gather (split over the threads) against a plain loop */
    int64_t m = 200000;
    mf_tensor *big = vec(MF_FLOAT64, 1000), *bidx = vec(MF_INT64, m), *bo = NULL;
    double *bv = mf_tensor_data(big);
    int64_t *bix = mf_tensor_data(bidx);
    for (int i = 0; i < 1000; i++) bv[i] = i * 0.5;
    for (int64_t i = 0; i < m; i++) bix[i] = (int64_t)(rnd() % 1001) - 1;
    CHECK_OK(mf_rows_take(&bo, big, bidx, 0));
    if (bo) {
        const double *o = mf_tensor_data(bo);
        int64_t wrong = 0;
        for (int64_t i = 0; i < m; i++)
            wrong += bix[i] < 0 ? !isnan(o[i]) : o[i] != bv[bix[i]];
        CHECK_INT(wrong, 0);
    }
    mf_tensor_release(bo);
    mf_tensor_release(big);
    mf_tensor_release(bidx);
    int64_t bad[] = {3};
    mf_tensor *bi = i64s(1, bad);
    CHECK_ERR(mf_rows_take(&out, col, bi, 0), MF_ERANGE, 2);
    mf_tensor_release(bi);
    mf_tensor_release(idx2);
    mf_tensor_release(idx);
    mf_tensor_release(col);
}

/* ------------------------------------------------------------------ CSV writer */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* The specified text: the first of %.15g, %.16g, %.17g that strtod reads
 * back exactly, with ".0" when it would look like an integer. */
static void reference_format(char *buf, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, 40, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    if (!strpbrk(buf, ".e")) strcat(buf, ".0");
}

CTEST(format_double_matches_printf)
{
    char got[40], want[48];
    int bad = 0;
    for (int i = 0; i < 300000; i++) {
        uint64_t r = rnd();
        double v;
        switch (i % 6) {
        case 0: memcpy(&v, &r, sizeof v); break;                          /* any bits */
        case 1: v = (double)(float)((double)(int64_t)(r >> 11) / 9007199254740992.0 * 8 - 4); break;
        case 2: v = ((double)(r >> 11) / 9007199254740992.0 - 0.5) * pow(10.0, (double)(int)(r % 23) - 7); break;
        case 3: v = (double)(int64_t)(r % 100000000) / pow(10.0, (double)(r >> 60)); break;
        case 4: v = nextafter(pow(10.0, (double)(int)(r % 24) - 7), (r >> 63) ? 0.0 : INFINITY); break;
        default: v = ldexp(1.0, (int)(r % 120) - 60) * ((r >> 40) & 1 ? 3 : 1); break;
        }
        if (v != v || v == 0 || isinf(v)) continue;
        size_t n = mf_csv_format_double(got, v);
        got[n] = '\0';
        reference_format(want, v);
        if (strcmp(got, want) != 0 && bad++ < 5) CTEST_FAIL_("%a: wrote %s, expected %s", v, got, want);
    }
    CHECK_INT(bad, 0);
}

CTEST(format_double_round_trips)
{
    char buf[40];
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {0.1, "0.1"},       {-0.0, "-0.0"},    {0.0, "0.0"},       {3.0, "3.0"},
        {-2.5, "-2.5"},     {1e300, "1e+300"}, {INFINITY, "inf"},  {-INFINITY, "-inf"},
        {0.0001, "0.0001"}, {123.456, "123.456"}, {1e15, "1e+15"}, {0.30000000000000004, "0.30000000000000004"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = mf_csv_format_double(buf, cases[i].v);
        buf[n] = '\0';
        CHECK_STR(buf, cases[i].text);
    }
    CHECK_INT(mf_csv_format_double(buf, NAN), 0);
    /* random doubles (all bit patterns but NaN) and short decimals read back exactly */
    int bad = 0, noint = 0;
    for (int i = 0; i < 200000; i++) {
        double v;
        uint64_t r = rnd();
        if (i % 2) {
            memcpy(&v, &r, sizeof v);
            if (v != v) continue;
        } else {
            v = (double)((int64_t)(r % 2000001) - 1000000) / pow(10.0, (double)((r >> 40) % 12));
        }
        size_t n = mf_csv_format_double(buf, v);
        buf[n] = '\0';
        double back = strtod(buf, NULL);
        if (memcmp(&back, &v, sizeof v) != 0) {
            if (bad++ < 3) CTEST_FAIL_("%.17g written as %s", v, buf);
        }
        /* never looks like an integer (so the column stays float64) */
        if (!isinf(v) && !strpbrk(buf, ".e")) noint++;
        /* shortest: no shorter %.Ng reads back */
        if (i % 7 == 0 && !isinf(v)) {
            char g[40];
            for (int prec = 1; prec < 15; prec++) {
                snprintf(g, sizeof g, "%.*g", prec, v);
                if (strtod(g, NULL) == v) {
                    /* the written form has at most as many significant digits */
                    int digits = 0, started = 0;
                    for (const char *p = buf; *p && *p != 'e'; p++) {
                        if (*p >= '1' && *p <= '9') started = 1;
                        if (started && *p >= '0' && *p <= '9') digits++;
                    }
                    /* trailing zeros of an integer part count as digits: allow them */
                    if (digits > prec && !(strchr(buf, '.') && fabs(v) >= 1 && digits <= 16)) {
                        if (bad++ < 3) CTEST_FAIL_("%.17g written as %s, %%.%dg is %s", v, buf, prec, g);
                    }
                    break;
                }
            }
        }
    }
    CHECK_INT(bad, 0);
    CHECK_INT(noint, 0);
}

static char wdir[64];

static const char *wpath(const char *name)
{
    static char p[128];
    if (!wdir[0]) {
        strcpy(wdir, "/tmp/mfrowsXXXXXX");
        if (!mkdtemp(wdir)) return "/nonexistent/mkdtemp-failed";
    }
    snprintf(p, sizeof p, "%s/%s", wdir, name);
    return p;
}

CTEST(csv_write_basic)
{
    double xv[] = {1.5, NAN, -0.0};
    int64_t codes[] = {1, 0, 2};
    static const char *const levels[] = {"a,b", "NA"};
    mf_tensor *x = f64s(3, xv), *c = i64s(3, codes), *b = vec(MF_BOOL, 3);
    unsigned char *bp = mf_tensor_data(b);
    bp[0] = 1, bp[1] = 0, bp[2] = 1;
    mf_csv_wcolumn cols[] = {{"x", x, NULL, 0}, {"s", c, levels, 2}, {"ok", b, NULL, 0}};
    const char *path = wpath("w.csv");
    CHECK_OK(mf_csv_write(path, cols, 3, NULL));
    CHECK_STR(slurp(path), "x,s,ok\n1.5,\"a,b\",true\n,,false\n-0.0,\"NA\",true\n");
    mf_csv_write_options o = {'\t', 0};
    CHECK_OK(mf_csv_write(path, cols, 2, &o));
    CHECK_STR(slurp(path), "1.5\ta,b\n\t\n-0.0\t\"NA\"\n");
    /* errors: bad code, wrong length, bad separator, missing directory */
    int64_t badc[] = {1, 3, 0};
    mf_tensor *bc = i64s(3, badc), *short_x = f64s(2, xv);
    mf_csv_wcolumn c2[] = {{"s", bc, levels, 2}};
    CHECK_ERR(mf_csv_write(path, c2, 1, NULL), MF_EINVAL, 2);
    mf_csv_wcolumn c3[] = {{"x", x, NULL, 0}, {"y", short_x, NULL, 0}};
    CHECK_ERR(mf_csv_write(path, c3, 2, NULL), MF_EINVAL, 2);
    o.sep = '"';
    CHECK_ERR(mf_csv_write(path, cols, 1, &o), MF_EINVAL, 4);
    CHECK_STR(slurp(path), "1.5\ta,b\n\t\n-0.0\t\"NA\"\n"); /* untouched */
    CHECK_ERR(mf_csv_write(wpath("nodir/x.csv"), cols, 1, NULL), MF_EIO, 0);
    CHECK(strstr(mf_error_get()->msg, "nodir/x.csv") != NULL);
    mf_tensor_release(bc);
    mf_tensor_release(short_x);
    mf_tensor_release(x);
    mf_tensor_release(c);
    mf_tensor_release(b);
}

CTEST(csv_write_alloc_failures)
{
    double xv[] = {1.5, 2.5};
    mf_tensor *x = f64s(2, xv);
    static const char *const levels[] = {"u"};
    int64_t codes[] = {1, 1};
    mf_tensor *c = i64s(2, codes);
    mf_csv_wcolumn cols[] = {{"x", x, NULL, 0}, {"s", c, levels, 1}};
    const char *path = wpath("keep.csv");
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs("old\n", f);
        fclose(f);
    }
    int ok = 0;
    for (long k = 1; k < 30 && !ok; k++) {
        mf_mem_fail_after(k);
        mf_status st = mf_csv_write(path, cols, 2, NULL);
        mf_mem_fail_after(0);
        if (st == MF_OK) {
            ok = 1;
        } else {
            CHECK_INT(st, MF_ENOMEM);
            CHECK_STR(slurp(path), "old\n");
        }
    }
    CHECK(ok);
    CHECK_STR(slurp(path), "x,s\n1.5,u\n2.5,u\n");
    /* no temporary file is left behind */
    char cmd[160];
    snprintf(cmd, sizeof cmd, "ls %s | grep -q tmp", wdir);
    CHECK(system(cmd) != 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", wdir);
    CHECK(system(cmd) == 0);
    wdir[0] = '\0';
    mf_tensor_release(x);
    mf_tensor_release(c);
}

/* ------------------------------------------------------------------ string levels */

static int bytes_cmp(const char *a, size_t la, const char *b, size_t lb)
{
    int c = memcmp(a, b, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

CTEST(string_ranks_and_merge)
{
    enum { N = 600 };
    static char store[N][24];
    const char *s[N];
    size_t len[N];
    for (int i = 0; i < N; i++) {
        uint64_t r = rnd();
        size_t l = (size_t)(r % 20);
        for (size_t k = 0; k < l; k++) store[i][k] = (char)("ab\0\xc3\xa9zA"[(r >> (3 * k % 60)) % 7]);
        if (i > N / 2 && r % 3 == 0) { /* shared 16-byte prefixes: ties in the sort key */
            memcpy(store[i], "0123456789abcdefg", 17);
            l = 17 + (size_t)(r % 4);
            for (size_t k = 17; k < l; k++) store[i][k] = (char)('a' + (char)((r >> k) % 3));
        }
        s[i] = store[i];
        len[i] = l;
    }
    /* ranks: sorted by bytes, ties by position */
    mf_rows_strings all = {s, len, N};
    mf_tensor *ranks = NULL;
    CHECK_OK(mf_rows_string_ranks(&all, &ranks));
    if (ranks) {
        const int64_t *r = mf_tensor_data(ranks);
        int bad = 0;
        for (int i = 0; i < N; i++) {
            int64_t expect = 0;
            for (int j = 0; j < N; j++) {
                int c = bytes_cmp(s[j], len[j], s[i], len[i]);
                expect += c < 0 || (c == 0 && j < i);
            }
            bad += r[i] != expect;
        }
        CHECK_INT(bad, 0);
    }
    mf_tensor_release(ranks);
    /* merge: a = the first distinct strings of the first half, b = the rest */
    int na = 0;
    const char *ua[N];
    size_t ul[N];
    for (int i = 0; i < N / 2; i++) {
        int dup = 0;
        for (int j = 0; j < na && !dup; j++) dup = bytes_cmp(ua[j], ul[j], s[i], len[i]) == 0;
        if (!dup) ua[na] = s[i], ul[na++] = len[i];
    }
    mf_rows_strings a = {ua, ul, na}, b = {s + N / 2, len + N / 2, N - N / 2};
    mf_tensor *map = NULL, *nw = NULL;
    CHECK_OK(mf_rows_merge_levels(&a, &b, &map, &nw));
    if (map) {
        /* the union by brute force */
        const char *u[N];
        size_t l[N];
        int nu = 0, bad = 0, nnew = 0;
        for (int i = 0; i < na; i++) u[nu] = ua[i], l[nu++] = ul[i];
        const int64_t *m = mf_tensor_data(map), *nwp = mf_tensor_data(nw);
        for (int64_t k = 0; k < b.n; k++) {
            int at = -1;
            for (int j = 0; j < nu && at < 0; j++)
                if (bytes_cmp(u[j], l[j], b.s[k], b.len[k]) == 0) at = j;
            if (at < 0) {
                bad += nnew >= nw->shape[0] || nwp[nnew] != k;
                nnew++;
                at = nu;
                u[nu] = b.s[k], l[nu++] = b.len[k];
            }
            bad += m[k] != at;
        }
        CHECK_INT(nw->shape[0], nnew);
        CHECK_INT(bad, 0);
    }
    mf_tensor_release(map);
    mf_tensor_release(nw);
    /* empty inputs */
    mf_rows_strings none = {s, len, 0};
    CHECK_OK(mf_rows_string_ranks(&none, &ranks));
    if (ranks) CHECK_INT(ranks->shape[0], 0);
    mf_tensor_release(ranks);
    CHECK_OK(mf_rows_merge_levels(&none, &none, &map, &nw));
    mf_tensor_release(map);
    mf_tensor_release(nw);
}

/* Every kernel fails cleanly (MF_ENOMEM, nothing leaked: the harness checks
 * core memory per case) whichever allocation fails. */
CTEST(kernels_alloc_failures)
{
    double v[] = {1, 2, NAN, 4};
    int64_t g[] = {0, 1, 0, 1}, jg[] = {0, 1, 1, 0, 1}, ord[] = {1, 0}, ix[] = {3, -1};
    mf_tensor *vals = f64s(4, v), *ids = i64s(4, g), *jids = i64s(5, jg), *order = i64s(2, ord),
              *idx = i64s(2, ix);
    static const char *const strs[] = {"b", "a", "c"};
    static const size_t lens[] = {1, 1, 1};
    mf_rows_strings a = {strs, lens, 2}, b = {strs + 1, lens + 1, 2};
    for (int kernel = 0; kernel < 5; kernel++) {
        int ok = 0;
        for (long k = 1; k < 40 && !ok; k++) {
            mf_tensor *o1 = NULL, *o2 = NULL;
            mf_rows_agg ag;
            mf_status st = MF_OK;
            mf_mem_fail_after(k);
            switch (kernel) {
            case 0: st = mf_rows_group_agg(vals, ids, 2, 0x3f, &ag); break;
            case 1: st = mf_rows_join(jids, 2, 2, MF_ROWS_OUTER, order, &o1, &o2); break;
            case 2: st = mf_rows_take(&o1, vals, idx, 0); break;
            case 3: st = mf_rows_string_ranks(&a, &o1); break;
            default: st = mf_rows_merge_levels(&a, &b, &o1, &o2); break;
            }
            mf_mem_fail_after(0);
            if (st == MF_OK) {
                ok = 1;
                if (kernel == 0) {
                    mf_tensor *t[] = {ag.count, ag.sum, ag.mean, ag.std, ag.min, ag.max};
                    for (int q = 0; q < 6; q++) mf_tensor_release(t[q]);
                }
            } else {
                CHECK_INT(st, MF_ENOMEM);
                CHECK(o1 == NULL && o2 == NULL);
            }
            mf_tensor_release(o1);
            mf_tensor_release(o2);
        }
        CHECK(ok);
    }
    mf_tensor_release(vals);
    mf_tensor_release(ids);
    mf_tensor_release(jids);
    mf_tensor_release(order);
    mf_tensor_release(idx);
}

const ctest_case ctest_rows[] = {
    CTEST_ENTRY(factorize_random),
    CTEST_ENTRY(factorize_semantics),
    CTEST_ENTRY(factorize_errors),
    CTEST_ENTRY(factorize_alloc_failures),
    CTEST_ENTRY(group_agg),
    CTEST_ENTRY(join_pairs),
    CTEST_ENTRY(take_missing),
    CTEST_ENTRY(string_ranks_and_merge),
    CTEST_ENTRY(kernels_alloc_failures),
    CTEST_ENTRY(format_double_matches_printf),
    CTEST_ENTRY(format_double_round_trips),
    CTEST_ENTRY(csv_write_basic),
    CTEST_ENTRY(csv_write_alloc_failures),
    {NULL, NULL},
};
