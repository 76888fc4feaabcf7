/* test_clean.c — the cleaning row kernels (core/mf_clean.h): missing counts
 * per row and take against plain loops on 100,000 rows (several parallel
 * chunks), the same results at 1 and 2 threads, strided columns, errors and
 * allocation failures; quantiles by selection against a full sort; forward
 * and backward fill against a loop. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctest.h"
#include "moonforge.h"

static uint64_t cl_state = 0x9e3779b97f4a7c15ULL;
static uint64_t cl_rnd(void)
{
    cl_state ^= cl_state << 13;
    cl_state ^= cl_state >> 7;
    cl_state ^= cl_state << 17;
    return cl_state;
}

static mf_tensor *cl_vec(mf_dtype dt, int64_t n)
{
    mf_tensor *t = NULL;
    if (mf_tensor_new(&t, dt, 1, &n) != MF_OK) return NULL;
    return t;
}

enum { N = 100000 };

/* A float64 column with NaNs, int64 codes with zeros and a bool column. */
static void make_cols(mf_tensor **cols)
{
    cols[0] = cl_vec(MF_FLOAT64, N);
    cols[1] = cl_vec(MF_INT64, N);
    cols[2] = cl_vec(MF_BOOL, N);
    double *f = mf_tensor_data(cols[0]);
    int64_t *c = mf_tensor_data(cols[1]);
    unsigned char *b = mf_tensor_data(cols[2]);
    for (int64_t i = 0; i < N; i++) {
        uint64_t r = cl_rnd();
        f[i] = r % 5 == 0 ? NAN : (double)(r % 1000) / 8.0;
        c[i] = (int64_t)((r >> 20) % 4); /* 0 = missing */
        b[i] = (unsigned char)((r >> 40) & 1);
    }
}

static void release_all(mf_tensor **t, int n)
{
    for (int j = 0; j < n; j++) mf_tensor_release(t[j]);
}

CTEST(row_missing_matches_loop)
{
    mf_tensor *cols[3];
    make_cols(cols);
    int saved = mf_num_threads();
    for (int th = 1; th <= 2; th++) {
        mf_set_num_threads(th);
        mf_tensor *out = NULL;
        CHECK_OK(mf_clean_row_missing(cols, 3, N, &out));
        if (!out) break;
        CHECK_INT(out->dtype, MF_INT64);
        const double *f = mf_tensor_data(cols[0]);
        const int64_t *c = mf_tensor_data(cols[1]), *o = mf_tensor_data(out);
        int64_t bad = 0;
        for (int64_t i = 0; i < N; i++) bad += o[i] != (int64_t)(isnan(f[i]) != 0) + (c[i] == 0);
        CHECK_INT(bad, 0);
        mf_tensor_release(out);
    }
    mf_set_num_threads(saved);
    /* no columns: all zero */
    mf_tensor *out = NULL;
    CHECK_OK(mf_clean_row_missing(NULL, 0, 5, &out));
    if (out) {
        CHECK_INT(out->shape[0], 5);
        CHECK_INT(((int64_t *)mf_tensor_data(out))[4], 0);
        mf_tensor_release(out);
    }
    release_all(cols, 3);
}

CTEST(mask_and_mark_rows)
{
    int64_t n = 7;
    mf_tensor *m = cl_vec(MF_BOOL, n);
    unsigned char *mp = mf_tensor_data(m);
    const unsigned char pattern[7] = {0, 1, 1, 0, 0, 0, 1};
    memcpy(mp, pattern, 7);
    mf_tensor *rows = NULL, *back = NULL;
    CHECK_OK(mf_clean_mask_rows(&rows, m));
    if (rows) {
        CHECK_INT(rows->shape[0], 3);
        const int64_t *r = mf_tensor_data(rows);
        CHECK_INT(r[0], 1);
        CHECK_INT(r[1], 2);
        CHECK_INT(r[2], 6);
        CHECK_OK(mf_clean_mark_rows(&back, n, rows));
        if (back) CHECK(memcmp(mf_tensor_data(back), pattern, 7) == 0);
        mf_tensor_release(back);
        CHECK_ERR(mf_clean_mark_rows(&back, 6, rows), MF_ERANGE, 3);
        CHECK(back == NULL);
    }
    CHECK_ERR(mf_clean_mask_rows(&back, rows), MF_EINVAL, 2); /* int64, not a mask */
    mf_tensor_release(rows);
    mf_tensor_release(m);
}

CTEST(take_matches_loop_any_threads)
{
    mf_tensor *cols[3];
    make_cols(cols);
    int64_t k = 70000;
    mf_tensor *idx = cl_vec(MF_INT64, k);
    int64_t *ip = mf_tensor_data(idx);
    for (int64_t i = 0; i < k; i++) ip[i] = (int64_t)(cl_rnd() % N);
    mf_tensor *ref[3] = {NULL, NULL, NULL};
    int saved = mf_num_threads();
    for (int th = 1; th <= 2; th++) {
        mf_set_num_threads(th);
        mf_tensor *outs[3] = {NULL, NULL, NULL};
        CHECK_OK(mf_clean_take(cols, 3, N, idx, outs));
        if (!outs[0]) break;
        const double *f = mf_tensor_data(cols[0]), *of = mf_tensor_data(outs[0]);
        const int64_t *c = mf_tensor_data(cols[1]), *oc = mf_tensor_data(outs[1]);
        const unsigned char *b = mf_tensor_data(cols[2]), *ob = mf_tensor_data(outs[2]);
        int64_t bad = 0;
        for (int64_t i = 0; i < k; i++) {
            double x = f[ip[i]];
            bad += !(of[i] == x || (isnan(of[i]) && isnan(x)));
            bad += oc[i] != c[ip[i]];
            bad += ob[i] != b[ip[i]];
        }
        CHECK_INT(bad, 0);
        CHECK_INT(outs[2]->dtype, MF_BOOL);
        if (th == 1) {
            memcpy(ref, outs, sizeof ref);
        } else {
            for (int j = 0; j < 3; j++)
                CHECK(memcmp(mf_tensor_data(ref[j]), mf_tensor_data(outs[j]), mf_tensor_nbytes(outs[j])) == 0);
            release_all(outs, 3);
        }
    }
    mf_set_num_threads(saved);
    release_all(ref, 3);
    mf_tensor_release(idx);
    release_all(cols, 3);
}

CTEST(take_strided_column)
{
    /* every second element of a 10-element tensor */
    mf_tensor *base = cl_vec(MF_FLOAT64, 10), *view = NULL;
    double *bp = mf_tensor_data(base);
    for (int i = 0; i < 10; i++) bp[i] = i;
    mf_layout l = {1, MF_FLOAT64, {5}, {2}, 1};
    CHECK_OK(mf_tensor_view(&view, base, &l)); /* 1, 3, 5, 7, 9 */
    mf_tensor *idx = cl_vec(MF_INT64, 2), *out = NULL;
    ((int64_t *)mf_tensor_data(idx))[0] = 4;
    ((int64_t *)mf_tensor_data(idx))[1] = 0;
    CHECK_OK(mf_clean_take(&view, 1, 5, idx, &out));
    if (out) {
        CHECK_NEAR(((double *)mf_tensor_data(out))[0], 9, 0);
        CHECK_NEAR(((double *)mf_tensor_data(out))[1], 1, 0);
        mf_tensor_release(out);
    }
    mf_tensor_release(idx);
    mf_tensor_release(view);
    mf_tensor_release(base);
}

CTEST(errors_and_allocation_failures)
{
    mf_tensor *cols[3];
    make_cols(cols);
    mf_tensor *out = NULL, *outs[3] = {NULL, NULL, NULL};
    CHECK_ERR(mf_clean_row_missing(cols, 3, N - 1, &out), MF_EINVAL, 1);
    mf_tensor *f32 = cl_vec(MF_FLOAT32, N);
    CHECK_ERR(mf_clean_row_missing(&f32, 1, N, &out), MF_EINVAL, 1);
    CHECK(strstr(mf_error_get()->msg, "float32") != NULL);
    mf_tensor *idx = cl_vec(MF_INT64, 2);
    ((int64_t *)mf_tensor_data(idx))[0] = 0;
    ((int64_t *)mf_tensor_data(idx))[1] = N;
    CHECK_ERR(mf_clean_take(cols, 3, N, idx, outs), MF_ERANGE, 4);
    CHECK(outs[0] == NULL && outs[2] == NULL);
    CHECK_ERR(mf_clean_take(cols, 3, N, f32, outs), MF_EINVAL, 4);
    ((int64_t *)mf_tensor_data(idx))[1] = 5;
    /* the n-th allocation fails: an error, nothing leaked (checked per case) */
    for (long n = 1; n <= 3; n++) {
        mf_mem_fail_after(n);
        mf_status st = mf_clean_take(cols, 3, N, idx, outs);
        mf_mem_fail_after(0);
        CHECK_INT(st, MF_ENOMEM);
        CHECK(outs[0] == NULL && outs[1] == NULL && outs[2] == NULL);
    }
    mf_mem_fail_after(1);
    CHECK_INT(mf_clean_row_missing(cols, 3, N, &out), MF_ENOMEM);
    mf_mem_fail_after(1);
    CHECK_INT(mf_clean_mask_rows(&out, cols[2]), MF_ENOMEM);
    mf_mem_fail_after(0);
    CHECK(out == NULL);
    mf_tensor_release(idx);
    mf_tensor_release(f32);
    release_all(cols, 3);
}

static int cl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile by a full sort (pandas' linear interpolation). */
static double ref_quantile(const double *v, int64_t n, double q)
{
    double *c = malloc((size_t)(n > 0 ? n : 1) * sizeof *c);
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
        if (!isnan(v[i])) c[m++] = v[i];
    qsort(c, (size_t)m, sizeof *c, cl_cmp);
    double r = NAN;
    if (m > 0) {
        double pos = q * (double)(m - 1);
        int64_t lo = (int64_t)floor(pos);
        r = lo + 1 >= m ? c[lo] : c[lo] + (pos - (double)lo) * (c[lo + 1] - c[lo]);
    }
    free(c);
    return r;
}

CTEST(quantiles_match_sort)
{
    const double qs[6] = {0.0, 0.25, 0.5, 0.75, 1.0, 1.0 / 3.0};
    const int64_t sizes[6] = {1, 2, 7, 100, 1001, 50000};
    for (int si = 0; si < 6; si++) {
        for (int dups = 0; dups < 2; dups++) {
            int64_t n = sizes[si];
            mf_tensor *t = cl_vec(MF_FLOAT64, n);
            double *p = mf_tensor_data(t);
            for (int64_t i = 0; i < n; i++) {
                uint64_t r = cl_rnd();
                /* few distinct values (many ties) or many; some NaN, some sorted runs */
                p[i] = r % 9 == 0 ? NAN : dups ? (double)(r % 5) : (double)(r % 100000) / 7.0;
                if (si == 5 && i < n / 2) p[i] = (double)i; /* a sorted half */
            }
            double out[6];
            CHECK_OK(mf_clean_quantiles(t, qs, 6, out));
            for (int k = 0; k < 6; k++) {
                double want = ref_quantile(p, n, qs[k]);
                if (isnan(want)) CHECK(isnan(out[k]));
                else CHECK_NEAR(out[k], want, 1e-9 * (1 + fabs(want)));
            }
            mf_tensor_release(t);
        }
    }
    /* int64 columns; all-NaN gives NaN; q outside [0, 1] is an error */
    mf_tensor *i = cl_vec(MF_INT64, 4), *f = cl_vec(MF_FLOAT64, 2);
    int64_t *ip = mf_tensor_data(i);
    ip[0] = 40; ip[1] = 10; ip[2] = 30; ip[3] = 20;
    double q = 0.5, out = 0;
    CHECK_OK(mf_clean_quantiles(i, &q, 1, &out));
    CHECK_NEAR(out, 25, 0);
    ((double *)mf_tensor_data(f))[0] = NAN;
    ((double *)mf_tensor_data(f))[1] = NAN;
    CHECK_OK(mf_clean_quantiles(f, &q, 1, &out));
    CHECK(isnan(out));
    q = 1.5;
    CHECK_ERR(mf_clean_quantiles(f, &q, 1, &out), MF_EINVAL, 2);
    q = 0.5;
    mf_tensor *b = cl_vec(MF_BOOL, 2);
    CHECK_ERR(mf_clean_quantiles(b, &q, 1, &out), MF_EINVAL, 1);
    mf_mem_fail_after(1);
    CHECK_INT(mf_clean_quantiles(i, &q, 1, &out), MF_ENOMEM);
    mf_mem_fail_after(0);
    mf_tensor_release(b);
    mf_tensor_release(i);
    mf_tensor_release(f);
}

CTEST(fill_matches_loop)
{
    const double nanv = NAN;
    const double x[7] = {nanv, nanv, 1.5, nanv, 2.5, nanv, nanv};
    const double ffill[7] = {nanv, nanv, 1.5, 1.5, 2.5, 2.5, 2.5};
    const double bfill[7] = {1.5, 1.5, 1.5, 2.5, 2.5, nanv, nanv};
    mf_tensor *t = cl_vec(MF_FLOAT64, 7), *out = NULL;
    memcpy(mf_tensor_data(t), x, sizeof x);
    for (int back = 0; back < 2; back++) {
        int64_t left = -1;
        CHECK_OK(mf_clean_fill(&out, t, back, &left));
        if (!out) continue;
        const double *o = mf_tensor_data(out), *want = back ? bfill : ffill;
        for (int i = 0; i < 7; i++) {
            if (isnan(want[i])) CHECK(isnan(o[i]));
            else CHECK_NEAR(o[i], want[i], 0);
        }
        CHECK_INT(left, 2);
        mf_tensor_release(out);
    }
    /* int64 codes: 0 is missing */
    mf_tensor *c = cl_vec(MF_INT64, 5);
    int64_t *cp = mf_tensor_data(c);
    cp[0] = 3; cp[1] = 0; cp[2] = 0; cp[3] = 2; cp[4] = 0;
    int64_t left = -1;
    CHECK_OK(mf_clean_fill(&out, c, 0, &left));
    if (out) {
        const int64_t *o = mf_tensor_data(out);
        CHECK_INT(o[1], 3);
        CHECK_INT(o[2], 3);
        CHECK_INT(o[4], 2);
        CHECK_INT(left, 0);
        mf_tensor_release(out);
    }
    CHECK_OK(mf_clean_fill(&out, c, 1, &left));
    if (out) {
        const int64_t *o = mf_tensor_data(out);
        CHECK_INT(o[1], 2);
        CHECK_INT(o[4], 0);
        CHECK_INT(left, 1);
        mf_tensor_release(out);
    }
    mf_tensor *b = cl_vec(MF_BOOL, 2);
    CHECK_ERR(mf_clean_fill(&out, b, 0, &left), MF_EINVAL, 2);
    mf_mem_fail_after(1);
    CHECK_INT(mf_clean_fill(&out, c, 0, &left), MF_ENOMEM);
    mf_mem_fail_after(0);
    CHECK(out == NULL);
    mf_tensor_release(b);
    mf_tensor_release(c);
    mf_tensor_release(t);
}

CTEST(moments_match_loop)
{
    const double v[6] = {2.0, NAN, 4.0, 4.0, NAN, 10.0};
    mf_tensor *t = cl_vec(MF_FLOAT64, 6);
    memcpy(mf_tensor_data(t), v, sizeof v);
    int64_t m = 0;
    double mean = 0, sd = 0;
    CHECK_OK(mf_clean_moments(t, &m, &mean, &sd));
    CHECK_INT(m, 4);
    CHECK_NEAR(mean, 5.0, 1e-15);
    CHECK_NEAR(sd, sqrt((9.0 + 1 + 1 + 25) / 4), 1e-15); /* population std */
    mf_tensor *i = cl_vec(MF_INT64, 3);
    int64_t *ip = mf_tensor_data(i);
    ip[0] = 1; ip[1] = 2; ip[2] = 6;
    CHECK_OK(mf_clean_moments(i, &m, &mean, &sd));
    CHECK_INT(m, 3);
    CHECK_NEAR(mean, 3.0, 1e-15);
    CHECK_NEAR(sd, sqrt(14.0 / 3), 1e-15);
    mf_tensor *e = cl_vec(MF_FLOAT64, 1);
    ((double *)mf_tensor_data(e))[0] = NAN;
    CHECK_OK(mf_clean_moments(e, &m, &mean, &sd));
    CHECK_INT(m, 0);
    CHECK(isnan(mean) && isnan(sd));
    mf_tensor *b = cl_vec(MF_BOOL, 1);
    CHECK_ERR(mf_clean_moments(b, &m, &mean, &sd), MF_EINVAL, 1);
    mf_tensor_release(b);
    mf_tensor_release(e);
    mf_tensor_release(i);
    mf_tensor_release(t);
}

const ctest_case ctest_clean[] = {
    CTEST_ENTRY(row_missing_matches_loop),
    CTEST_ENTRY(mask_and_mark_rows),
    CTEST_ENTRY(take_matches_loop_any_threads),
    CTEST_ENTRY(take_strided_column),
    CTEST_ENTRY(errors_and_allocation_failures),
    CTEST_ENTRY(quantiles_match_sort),
    CTEST_ENTRY(fill_matches_loop),
    CTEST_ENTRY(moments_match_loop),
    {NULL, NULL},
};
