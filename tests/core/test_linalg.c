/* test_linalg.c — matrix products and decompositions (mf_linalg.h, mf_blas.h). */
#include <string.h>

#include "ctest.h"
#include "mf_blas.h"
#include "moonforge.h"

/* ------------------------------------------------------------------ helpers */
/* Deterministic, well-spread values: small integers (exact in every dtype). */
static double val(int64_t i, int seed) { return (double)((i * 7 + seed * 3) % 11) - 5; }

static mf_tensor *filled(mf_dtype dt, int ndim, const int64_t *shape, int seed)
{
    mf_tensor *t = NULL;
    if (mf_tensor_new(&t, dt, ndim, shape) != MF_OK) return NULL;
    int64_t n = mf_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        if (dt == MF_INT64) ((int64_t *)t->base)[i] = (int64_t)val(i, seed);
        else mf_store(dt, t->base, i, val(i, seed));
    }
    return t;
}

static mf_tensor *from_values(mf_dtype dt, int64_t rows, int64_t cols, const double *v)
{
    mf_tensor *t = NULL;
    if (mf_tensor_new(&t, dt, 2, (int64_t[]){rows, cols}) != MF_OK) return NULL;
    for (int64_t i = 0; i < rows * cols; i++) mf_store(dt, t->base, i, v[i]);
    return t;
}

static double get2(const mf_tensor *t, int64_t i, int64_t j)
{
    double v = NAN;
    mf_tensor_get(t, (int64_t[]){i, j}, &v);
    return v;
}

/* Largest |c[i, j] - sum_p a[i, p] b[p, j]| over a 2-D product. */
static double mm_err(const mf_tensor *a, const mf_tensor *b, const mf_tensor *c)
{
    double worst = 0;
    for (int64_t i = 0; i < a->shape[0]; i++) {
        for (int64_t j = 0; j < b->shape[1]; j++) {
            double s = 0;
            for (int64_t p = 0; p < a->shape[1]; p++) s += get2(a, i, p) * get2(b, p, j);
            double e = fabs(get2(c, i, j) - s);
            if (!(e <= worst)) worst = e;
        }
    }
    return worst;
}

static int same_shape(const mf_tensor *t, int ndim, const int64_t *shape)
{
    if (t->ndim != ndim) return 0;
    for (int d = 0; d < ndim; d++)
        if (t->shape[d] != shape[d]) return 0;
    return 1;
}

#define CHECK_SHAPE(t, ...)                                                                 \
    do {                                                                                    \
        const int64_t want_[] = {__VA_ARGS__};                                              \
        CHECK(same_shape((t), (int)(sizeof want_ / sizeof want_[0]), want_));               \
    } while (0)

static int msg_has(const char *s) { return strstr(mf_error_get()->msg, s) != NULL; }

/* ------------------------------------------------------------------ gemm */
CTEST(gemm_matches_reference_loop)
{
    const mf_dtype dts[] = {MF_FLOAT32, MF_FLOAT64, MF_INT64};
    const int64_t sizes[][3] = {{3, 4, 5}, {1, 7, 2}, {6, 1, 1}, {4, 3, 0}, {17, 9, 33}};
    for (int di = 0; di < 3; di++) {
        mf_dtype dt = dts[di];
        size_t es = mf_dtype_size(dt);
        for (int si = 0; si < 5; si++) {
            int64_t m = sizes[si][0], n = sizes[si][1], k = sizes[si][2];
            for (int ta = 0; ta < 2; ta++) {
                for (int tb = 0; tb < 2; tb++) {
                    /* leading dims one larger than needed: padding is never read */
                    int64_t lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 1, ldc = n + 2;
                    int64_t na = (ta ? k : m) * lda, nb = (tb ? n : k) * ldb, nc = m * ldc;
                    char *a = mf_malloc((size_t)na * es), *b = mf_malloc((size_t)nb * es);
                    char *c1 = mf_malloc((size_t)nc * es), *c2 = mf_malloc((size_t)nc * es);
                    for (int64_t i = 0; i < na; i++) mf_store(dt, a, i, val(i, 1));
                    for (int64_t i = 0; i < nb; i++) mf_store(dt, b, i, val(i, 2));
                    for (int64_t i = 0; i < nc; i++) {
                        mf_store(dt, c1, i, val(i, 3));
                        mf_store(dt, c2, i, val(i, 3));
                    }
                    mf_blas_gemm(dt, ta, tb, m, n, k, 2, a, lda, b, ldb, -3, c1, ldc);
                    mf_blas_gemm_ref(dt, ta, tb, m, n, k, 2, a, lda, b, ldb, -3, c2, ldc);
                    for (int64_t i = 0; i < nc; i++)
                        CHECK_NEAR(mf_load(dt, c1, i), mf_load(dt, c2, i), 1e-3);
                    mf_free(a);
                    mf_free(b);
                    mf_free(c1);
                    mf_free(c2);
                }
            }
        }
    }
}

CTEST(gemm_beta_zero_ignores_nan_and_k_zero_scales)
{
    float a[2] = {1, 2}, b[2] = {3, 4}, c[4] = {NAN, NAN, NAN, NAN};
    mf_blas_gemm(MF_FLOAT32, 0, 0, 2, 2, 1, 1, a, 1, b, 2, 0, c, 2);
    CHECK_NEAR(c[0], 3, 0);
    CHECK_NEAR(c[3], 8, 0);
    double d[4] = {1, 2, 3, 4};
    mf_blas_gemm(MF_FLOAT64, 0, 0, 2, 2, 0, 1, NULL, 1, NULL, 2, 0.5, d, 2);
    CHECK_NEAR(d[3], 2, 0);
    int64_t x = INT64_MAX, y = 2, z = 0;
    mf_blas_gemm(MF_INT64, 0, 0, 1, 1, 1, 1, &x, 1, &y, 1, 0, &z, 1);
    CHECK_INT(z, -2); /* wraps like two's complement */
}

/* ------------------------------------------------------------------ matmul */
CTEST(matmul_shapes_follow_torch)
{
    mf_tensor *v3 = filled(MF_FLOAT32, 1, (int64_t[]){3}, 1);
    mf_tensor *w3 = filled(MF_FLOAT32, 1, (int64_t[]){3}, 2);
    mf_tensor *m23 = filled(MF_FLOAT32, 2, (int64_t[]){2, 3}, 3);
    mf_tensor *m34 = filled(MF_FLOAT32, 2, (int64_t[]){3, 4}, 4);
    mf_tensor *b534 = filled(MF_FLOAT32, 3, (int64_t[]){5, 3, 4}, 5);
    mf_tensor *b1523 = filled(MF_FLOAT32, 4, (int64_t[]){7, 1, 2, 3}, 6);
    mf_tensor *r = NULL;
    CHECK_OK(mf_tensor_matmul(&r, v3, w3));
    CHECK_INT(r->ndim, 0);
    double dot = 0, got = 0;
    for (int64_t i = 0; i < 3; i++) dot += val(i, 1) * val(i, 2);
    mf_tensor_get(r, NULL, &got);
    CHECK_NEAR(got, dot, 0);
    mf_tensor_release(r);
    CHECK_OK(mf_tensor_matmul(&r, m23, v3));
    CHECK_SHAPE(r, 2);
    mf_tensor_release(r);
    CHECK_OK(mf_tensor_matmul(&r, v3, m34));
    CHECK_SHAPE(r, 4);
    mf_tensor_release(r);
    CHECK_OK(mf_tensor_matmul(&r, v3, b534));
    CHECK_SHAPE(r, 5, 4);
    mf_tensor_release(r);
    CHECK_OK(mf_tensor_matmul(&r, b1523, b534));
    CHECK_SHAPE(r, 7, 5, 2, 4);
    /* entry [6, 4, 1, 2] against a direct sum */
    double s = 0, e = 0;
    for (int64_t p = 0; p < 3; p++) {
        double x = 0, y = 0;
        mf_tensor_get(b1523, (int64_t[]){6, 0, 1, p}, &x);
        mf_tensor_get(b534, (int64_t[]){4, p, 2}, &y);
        s += x * y;
    }
    mf_tensor_get(r, (int64_t[]){6, 4, 1, 2}, &e);
    CHECK_NEAR(e, s, 0);
    mf_tensor_release(r);
    CHECK_ERR(mf_tensor_matmul(&r, b534, v3), MF_EINVAL, 2); /* k: 4 ~= 3 */
    CHECK(r == NULL);
    mf_tensor_release(v3);
    mf_tensor_release(w3);
    mf_tensor_release(m23);
    mf_tensor_release(m34);
    mf_tensor_release(b534);
    mf_tensor_release(b1523);
}

CTEST(matmul_views_without_copies_match_reference)
{
    const mf_dtype dts[] = {MF_FLOAT32, MF_FLOAT64, MF_INT64};
    for (int di = 0; di < 3; di++) {
        mf_dtype dt = dts[di];
        mf_tensor *a = filled(dt, 2, (int64_t[]){6, 5}, 1);
        mf_tensor *b = filled(dt, 2, (int64_t[]){5, 7}, 2);
        mf_tensor *at, *bt, *an, *bn, *r, *ex, *row;
        /* transposed views: a^T a and b b^T */
        CHECK_OK(mf_tensor_transpose(&at, a, 0, 1));
        CHECK_OK(mf_tensor_matmul(&r, at, a));
        CHECK_NEAR(mm_err(at, a, r), 0, 1e-3);
        mf_tensor_release(r);
        CHECK_OK(mf_tensor_transpose(&bt, b, 0, 1));
        CHECK_OK(mf_tensor_matmul(&r, b, bt));
        CHECK_NEAR(mm_err(b, bt, r), 0, 1e-3);
        mf_tensor_release(r);
        /* sliced: rows 1..4 and columns 2..4 of a, rows 1..3 of b */
        mf_tensor *tmp;
        CHECK_OK(mf_tensor_narrow(&tmp, a, 0, 1, 4));
        CHECK_OK(mf_tensor_narrow(&an, tmp, 1, 2, 3));
        mf_tensor_release(tmp);
        CHECK_OK(mf_tensor_narrow(&bn, b, 0, 1, 3));
        CHECK_OK(mf_tensor_matmul(&r, an, bn));
        CHECK_SHAPE(r, 4, 7);
        CHECK_NEAR(mm_err(an, bn, r), 0, 1e-3);
        mf_tensor_release(r);
        /* broadcast (stride 0) operand: copied, same result */
        CHECK_OK(mf_tensor_select(&row, b, 0, 2));
        CHECK_OK(mf_tensor_expand(&ex, row, 2, (int64_t[]){5, 7}));
        CHECK_OK(mf_tensor_matmul(&r, a, ex));
        CHECK_NEAR(mm_err(a, ex, r), 0, 1e-3);
        mf_tensor_release(r);
        mf_tensor_release(a);
        mf_tensor_release(b);
        mf_tensor_release(at);
        mf_tensor_release(bt);
        mf_tensor_release(an);
        mf_tensor_release(bn);
        mf_tensor_release(row);
        mf_tensor_release(ex);
    }
}

/* The number of allocations `call` makes (it must succeed when none fails). */
#define COUNT_ALLOCS(count, call)                                                           \
    do {                                                                                    \
        (count) = -1;                                                                       \
        for (long n_ = 1; n_ < 64 && (count) < 0; n_++) {                                   \
            mf_mem_fail_after(n_);                                                          \
            mf_status st_ = (call);                                                         \
            mf_mem_fail_after(0);                                                           \
            if (st_ == MF_OK) (count) = n_ - 1;                                             \
            mf_tensor_release(r);                                                           \
            r = NULL;                                                                       \
        }                                                                                   \
    } while (0)

/* A product of operands that BLAS can read in place allocates what a product
 * of contiguous ones does (its result); a layout BLAS cannot read (stride-0
 * rows) costs a copy, i.e. more allocations. */
CTEST(matmul_views_are_not_copied)
{
    mf_tensor *a = filled(MF_FLOAT32, 2, (int64_t[]){6, 5}, 1), *at, *an, *ex, *row, *r = NULL;
    mf_tensor *b = filled(MF_FLOAT32, 3, (int64_t[]){2, 6, 3}, 2), *bn, *ac, *bc;
    CHECK_OK(mf_tensor_transpose(&at, a, 0, 1)); /* 5 x 6, column-major */
    CHECK_OK(mf_tensor_narrow(&an, a, 1, 1, 3)); /* 6 x 3, row stride 5 */
    CHECK_OK(mf_tensor_narrow(&bn, b, 1, 2, 3)); /* 2 x 3 x 3 batch, rows 3 apart */
    CHECK_OK(mf_tensor_select(&row, a, 0, 0));
    CHECK_OK(mf_tensor_expand(&ex, row, 2, (int64_t[]){6, 5})); /* stride 0 rows */
    CHECK_OK(mf_tensor_clone(&ac, at));
    CHECK_OK(mf_tensor_clone(&bc, ex));
    long base, got;
    COUNT_ALLOCS(base, mf_tensor_matmul(&r, ac, a)); /* contiguous operands */
    CHECK(base >= 1);
    mf_tensor *pairs[][2] = {{at, a}, {at, an}, {a, at}, {an, bn}, {ac, bc}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        COUNT_ALLOCS(got, mf_tensor_matmul(&r, pairs[i][0], pairs[i][1]));
        CHECK_INT(got, base);
    }
    COUNT_ALLOCS(got, mf_tensor_matmul(&r, at, ex));
    CHECK(got > base);
    mf_tensor *objs[] = {a, at, an, ex, row, b, bn, ac, bc};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++) mf_tensor_release(objs[i]);
}

CTEST(matmul_batched_fold_and_loop_agree)
{
    /* (4, 3, 5) @ (5, 2): one folded gemm; @ (4, 5, 2): one gemm per matrix */
    mf_tensor *a = filled(MF_FLOAT64, 3, (int64_t[]){4, 3, 5}, 1);
    mf_tensor *w = filled(MF_FLOAT64, 2, (int64_t[]){5, 2}, 2), *wb, *r1, *r2;
    CHECK_OK(mf_tensor_expand(&wb, w, 3, (int64_t[]){4, 5, 2}));
    mf_tensor *wc;
    CHECK_OK(mf_tensor_clone(&wc, wb));
    CHECK_OK(mf_tensor_matmul(&r1, a, w));
    CHECK_OK(mf_tensor_matmul(&r2, a, wc));
    CHECK_SHAPE(r1, 4, 3, 2);
    for (int64_t i = 0; i < 24; i++)
        CHECK_NEAR(mf_load(MF_FLOAT64, r1->base, i), mf_load(MF_FLOAT64, r2->base, i), 0);
    for (int64_t bi = 0; bi < 4; bi++) {
        mf_tensor *ab, *rb;
        CHECK_OK(mf_tensor_select(&ab, a, 0, bi));
        CHECK_OK(mf_tensor_select(&rb, r1, 0, bi));
        CHECK_NEAR(mm_err(ab, w, rb), 0, 0);
        mf_tensor_release(ab);
        mf_tensor_release(rb);
    }
    mf_tensor_release(a);
    mf_tensor_release(w);
    mf_tensor_release(wb);
    mf_tensor_release(wc);
    mf_tensor_release(r1);
    mf_tensor_release(r2);
}

CTEST(matmul_empty_dims)
{
    mf_tensor *a = filled(MF_FLOAT32, 2, (int64_t[]){3, 0}, 1);
    mf_tensor *b = filled(MF_FLOAT32, 2, (int64_t[]){0, 2}, 2), *r;
    CHECK_OK(mf_tensor_matmul(&r, a, b)); /* k = 0: zeros */
    CHECK_SHAPE(r, 3, 2);
    for (int64_t i = 0; i < 6; i++) CHECK_NEAR(mf_load(MF_FLOAT32, r->base, i), 0, 0);
    mf_tensor_release(r);
    mf_tensor *e = filled(MF_FLOAT32, 2, (int64_t[]){0, 3}, 1);
    CHECK_OK(mf_tensor_matmul(&r, e, a)); /* m = 0 */
    CHECK_SHAPE(r, 0, 0);
    mf_tensor_release(r);
    mf_tensor_release(a);
    mf_tensor_release(b);
    mf_tensor_release(e);
}

CTEST(matmul_promotes_and_int64_is_exact)
{
    mf_tensor *ai = filled(MF_INT64, 2, (int64_t[]){2, 3}, 1);
    mf_tensor *bf = filled(MF_FLOAT64, 2, (int64_t[]){3, 2}, 2), *r;
    CHECK_OK(mf_tensor_matmul(&r, ai, bf));
    CHECK_INT(r->dtype, MF_FLOAT64);
    CHECK_NEAR(mm_err(ai, bf, r), 0, 0);
    mf_tensor_release(r);
    /* int64 beyond 2^53: exact, unlike a float path */
    mf_tensor *x, *y;
    CHECK_OK(mf_tensor_full(&x, MF_INT64, 2, (int64_t[]){1, 2}, 0));
    CHECK_OK(mf_tensor_full(&y, MF_INT64, 2, (int64_t[]){2, 1}, 1));
    ((int64_t *)x->base)[0] = ((int64_t)1 << 60) + 1;
    ((int64_t *)x->base)[1] = 3;
    CHECK_OK(mf_tensor_matmul(&r, x, y));
    CHECK_INT(((int64_t *)r->base)[0], ((int64_t)1 << 60) + 4);
    mf_tensor_release(r);
    mf_tensor *m;
    CHECK_OK(mf_tensor_full(&m, MF_BOOL, 2, (int64_t[]){2, 2}, 1));
    r = NULL;
    CHECK_ERR(mf_tensor_matmul(&r, m, m), MF_EINVAL, 1);
    CHECK(r == NULL);
    mf_tensor_release(m);
    mf_tensor_release(x);
    mf_tensor_release(y);
    mf_tensor_release(ai);
    mf_tensor_release(bf);
}

CTEST(matmul_errors_name_argument)
{
    mf_tensor *a = filled(MF_FLOAT32, 2, (int64_t[]){5, 2}, 1);
    mf_tensor *b = filled(MF_FLOAT32, 2, (int64_t[]){4, 3}, 2), *r = NULL, *s;
    CHECK_ERR(mf_tensor_matmul(&r, a, b), MF_EINVAL, 2);
    CHECK_STR(mf_error_get()->msg, "shape [5x2] cannot multiply [4x3]: 2 ~= 4");
    CHECK_OK(mf_tensor_full(&s, MF_FLOAT32, 0, NULL, 1));
    CHECK_ERR(mf_tensor_matmul(&r, s, b), MF_EINVAL, 1);
    CHECK_ERR(mf_tensor_matmul(&r, b, s), MF_EINVAL, 2);
    mf_tensor *x = filled(MF_FLOAT32, 3, (int64_t[]){2, 3, 4}, 1);
    mf_tensor *y = filled(MF_FLOAT32, 3, (int64_t[]){3, 4, 5}, 1);
    CHECK_ERR(mf_tensor_matmul(&r, x, y), MF_EINVAL, 2);
    CHECK(msg_has("cannot be broadcast: 2 ~= 3"));
    /* strict aliases */
    CHECK_ERR(mf_tensor_mm(&r, x, y), MF_EINVAL, 1);
    CHECK(msg_has("expected a 2-D tensor, got shape [2x3x4]"));
    CHECK_ERR(mf_tensor_bmm(&r, x, y), MF_EINVAL, 2);
    CHECK(msg_has("batch sizes of [2x3x4] and [3x4x5] differ: 2 ~= 3"));
    CHECK_ERR(mf_tensor_mv(&r, a, b), MF_EINVAL, 2);
    CHECK_ERR(mf_tensor_dot(&r, a, b), MF_EINVAL, 1);
    CHECK_ERR(mf_tensor_outer(&r, a, b), MF_EINVAL, 1);
    CHECK(r == NULL);
    mf_tensor_release(a);
    mf_tensor_release(b);
    mf_tensor_release(s);
    mf_tensor_release(x);
    mf_tensor_release(y);
}

CTEST(matmul_into_any_layout_and_aliasing)
{
    mf_tensor *a = filled(MF_FLOAT32, 2, (int64_t[]){3, 3}, 1);
    mf_tensor *b = filled(MF_FLOAT32, 2, (int64_t[]){3, 3}, 2), *ref, *o, *ot, *ac;
    CHECK_OK(mf_tensor_matmul(&ref, a, b));
    /* into a transposed view: written column by column */
    CHECK_OK(mf_tensor_zeros(&o, MF_FLOAT32, 2, (int64_t[]){3, 3}));
    CHECK_OK(mf_tensor_transpose(&ot, o, 0, 1));
    CHECK_OK(mf_tensor_matmul_into(ot, a, b));
    CHECK_NEAR(mm_err(a, b, ot), 0, 1e-4);
    /* into one of its own inputs: a = a @ b */
    CHECK_OK(mf_tensor_clone(&ac, a));
    CHECK_OK(mf_tensor_matmul_into(ac, ac, b));
    for (int64_t i = 0; i < 9; i++)
        CHECK_NEAR(mf_load(MF_FLOAT32, ac->base, i), mf_load(MF_FLOAT32, ref->base, i), 1e-4);
    /* wrong shape or dtype: an error naming the out argument (3) */
    mf_tensor *bad;
    CHECK_OK(mf_tensor_zeros(&bad, MF_FLOAT64, 2, (int64_t[]){3, 3}));
    CHECK_ERR(mf_tensor_matmul_into(bad, a, b), MF_EINVAL, 3);
    mf_tensor_release(bad);
    CHECK_OK(mf_tensor_zeros(&bad, MF_FLOAT32, 1, (int64_t[]){9}));
    CHECK_ERR(mf_tensor_matmul_into(bad, a, b), MF_EINVAL, 3);
    mf_tensor_release(bad);
    mf_tensor_release(a);
    mf_tensor_release(b);
    mf_tensor_release(ref);
    mf_tensor_release(o);
    mf_tensor_release(ot);
    mf_tensor_release(ac);
}

CTEST(addmm_scales_and_broadcasts)
{
    mf_tensor *a = filled(MF_FLOAT64, 2, (int64_t[]){2, 3}, 1);
    mf_tensor *b = filled(MF_FLOAT64, 2, (int64_t[]){3, 4}, 2);
    mf_tensor *c = filled(MF_FLOAT64, 1, (int64_t[]){4}, 3), *ab, *r;
    CHECK_OK(mf_tensor_matmul(&ab, a, b));
    CHECK_OK(mf_tensor_addmm(&r, c, a, b, 2, -0.5));
    CHECK_SHAPE(r, 2, 4);
    for (int64_t i = 0; i < 2; i++)
        for (int64_t j = 0; j < 4; j++)
            CHECK_NEAR(get2(r, i, j), 2 * get2(ab, i, j) - 0.5 * val(j, 3), 1e-12);
    mf_tensor_release(r);
    /* beta = 0: c is not read */
    mf_tensor *cn;
    CHECK_OK(mf_tensor_full(&cn, MF_FLOAT64, 2, (int64_t[]){2, 4}, NAN));
    CHECK_OK(mf_tensor_addmm(&r, cn, a, b, 1, 0));
    CHECK_NEAR(mm_err(a, b, r), 0, 0);
    /* in place: r = r + a b */
    CHECK_OK(mf_tensor_addmm_into(r, r, a, b, 1, 1));
    for (int64_t i = 0; i < 8; i++)
        CHECK_NEAR(mf_load(MF_FLOAT64, r->base, i), 2 * mf_load(MF_FLOAT64, ab->base, i), 0);
    mf_tensor_release(r);
    r = NULL;
    mf_tensor *c3 = filled(MF_FLOAT64, 1, (int64_t[]){3}, 3);
    CHECK_ERR(mf_tensor_addmm(&r, c3, a, b, 1, 1), MF_EINVAL, 1);
    CHECK_ERR(mf_tensor_addmm(&r, c, b, a, 1, 1), MF_EINVAL, 3);
    mf_tensor *ai = filled(MF_INT64, 2, (int64_t[]){2, 3}, 1);
    mf_tensor *bi = filled(MF_INT64, 2, (int64_t[]){3, 4}, 2);
    mf_tensor *ci = filled(MF_INT64, 2, (int64_t[]){2, 4}, 3);
    CHECK_ERR(mf_tensor_addmm(&r, ci, ai, bi, 0.5, 1), MF_EINVAL, 4);
    CHECK_OK(mf_tensor_addmm(&r, ci, ai, bi, 3, -2));
    CHECK_INT(r->dtype, MF_INT64);
    for (int64_t i = 0; i < 8; i++)
        CHECK_NEAR((double)((int64_t *)r->base)[i],
                   3 * mf_load(MF_FLOAT64, ab->base, i) - 2 * val(i, 3), 0);
    mf_tensor_release(r);
    mf_tensor_release(a);
    mf_tensor_release(b);
    mf_tensor_release(c);
    mf_tensor_release(c3);
    mf_tensor_release(cn);
    mf_tensor_release(ab);
    mf_tensor_release(ai);
    mf_tensor_release(bi);
    mf_tensor_release(ci);
}

/* ------------------------------------------------------------------ linalg */
static const double spd3[9] = {4, 2, 0.6, 2, 5, 1, 0.6, 1, 3}; /* symmetric positive-definite */

CTEST(solve_inv_det_small_systems)
{
    const mf_dtype dts[] = {MF_FLOAT32, MF_FLOAT64};
    for (int di = 0; di < 2; di++) {
        mf_dtype dt = dts[di];
        double tol = dt == MF_FLOAT32 ? 1e-5 : 1e-12;
        mf_tensor *a = from_values(dt, 2, 2, (double[]){3, 1, 2, 4});
        mf_tensor *b = from_values(dt, 2, 1, (double[]){5, 6}), *x, *inv, *det;
        CHECK_OK(mf_linalg_solve(&x, a, b));
        CHECK_SHAPE(x, 2, 1);
        /* 3x + y = 5, 2x + 4y = 6 → x = 1.4, y = 0.8 */
        CHECK_NEAR(get2(x, 0, 0), 1.4, tol);
        CHECK_NEAR(get2(x, 1, 0), 0.8, tol);
        CHECK_OK(mf_linalg_inv(&inv, a));
        CHECK_NEAR(get2(inv, 0, 0), 0.4, tol);
        CHECK_NEAR(get2(inv, 0, 1), -0.1, tol);
        CHECK_NEAR(get2(inv, 1, 0), -0.2, tol);
        CHECK_NEAR(get2(inv, 1, 1), 0.3, tol);
        CHECK_OK(mf_linalg_det(&det, a));
        CHECK_INT(det->ndim, 0);
        CHECK_NEAR(mf_load(dt, det->base, 0), 10, tol * 10);
        mf_tensor_release(a);
        mf_tensor_release(b);
        mf_tensor_release(x);
        mf_tensor_release(inv);
        mf_tensor_release(det);
    }
}

CTEST(linalg_errors)
{
    mf_tensor *sing = from_values(MF_FLOAT64, 3, 3, (double[]){1, 2, 3, 2, 4, 6, 1, 1, 1});
    mf_tensor *rect = from_values(MF_FLOAT64, 3, 2, (double[]){1, 2, 3, 4, 5, 6});
    mf_tensor *ints = filled(MF_INT64, 2, (int64_t[]){2, 2}, 1);
    mf_tensor *notpd = from_values(MF_FLOAT64, 2, 2, (double[]){1, 2, 2, 1});
    mf_tensor *b3 = filled(MF_FLOAT64, 2, (int64_t[]){4, 1}, 1), *r = NULL, *r2 = NULL, *r3 = NULL;
    CHECK_ERR(mf_linalg_inv(&r, sing), MF_EINVAL, 1);
    CHECK(msg_has("matrix is singular: U["));
    CHECK_ERR(mf_linalg_solve(&r, sing, rect), MF_EINVAL, 1);
    CHECK(msg_has("singular"));
    CHECK_ERR(mf_linalg_inv(&r, rect), MF_EINVAL, 1);
    CHECK_STR(mf_error_get()->msg, "expected a square matrix, got [3x2]");
    CHECK_ERR(mf_linalg_det(&r, ints), MF_EINVAL, 1);
    CHECK(msg_has("expected a float32 or float64 tensor, got int64"));
    CHECK_ERR(mf_linalg_cholesky(&r, notpd, 0), MF_EINVAL, 1);
    CHECK_STR(mf_error_get()->msg,
              "matrix is not positive-definite: the leading minor of order 2 is not positive");
    CHECK_ERR(mf_linalg_solve(&r, notpd, b3), MF_EINVAL, 2);
    CHECK_STR(mf_error_get()->msg, "B [4x1] does not match A [2x2]: 4 rows ~= 2");
    CHECK_ERR(mf_linalg_lstsq(&r, &r2, &r3, rect, b3, -1), MF_EINVAL, 2);
    CHECK_ERR(mf_linalg_eigh(&r, &r2, rect, 'L'), MF_EINVAL, 1);
    CHECK_ERR(mf_linalg_eigh(&r, &r2, notpd, 'X'), MF_EINVAL, 2);
    CHECK_ERR(mf_linalg_qr(&r, &r2, ints, MF_QR_REDUCED), MF_EINVAL, 1);
    CHECK_ERR(mf_linalg_qr(&r, &r2, rect, (mf_qr_mode)7), MF_EINVAL, 2);
    mf_tensor *nan = from_values(MF_FLOAT64, 2, 2, (double[]){1, NAN, 0, 1});
    CHECK_ERR(mf_linalg_svd(&r, &r2, &r3, nan, 0), MF_EINVAL, 1);
    CHECK(msg_has("NaN or infinity"));
    CHECK(r == NULL && r2 == NULL && r3 == NULL);
    /* batched: the failing matrix is named */
    mf_tensor *batch;
    CHECK_OK(mf_tensor_zeros(&batch, MF_FLOAT64, 3, (int64_t[]){2, 2, 2}));
    double *bd = batch->base;
    bd[0] = bd[3] = 1; /* matrix 1: identity; matrix 2: zeros */
    CHECK_ERR(mf_linalg_inv(&r, batch), MF_EINVAL, 1);
    CHECK_STR(mf_error_get()->msg, "matrix is singular: U[1,1] = 0 (batch element [2])");
    mf_tensor_release(batch);
    mf_tensor_release(nan);
    mf_tensor_release(sing);
    mf_tensor_release(rect);
    mf_tensor_release(ints);
    mf_tensor_release(notpd);
    mf_tensor_release(b3);
}

CTEST(cholesky_qr_svd_eigh_reconstruct)
{
    mf_tensor *a = from_values(MF_FLOAT64, 3, 3, spd3), *l, *lt, *llt;
    CHECK_OK(mf_linalg_cholesky(&l, a, 0));
    CHECK_NEAR(get2(l, 0, 1), 0, 0); /* lower triangular */
    CHECK_NEAR(get2(l, 0, 0), 2, 1e-15);
    CHECK_OK(mf_tensor_transpose(&lt, l, 0, 1));
    CHECK_OK(mf_tensor_matmul(&llt, l, lt));
    for (int64_t i = 0; i < 9; i++) CHECK_NEAR(mf_load(MF_FLOAT64, llt->base, i), spd3[i], 1e-12);
    mf_tensor *u;
    CHECK_OK(mf_linalg_cholesky(&u, a, 1));
    for (int64_t i = 0; i < 3; i++)
        for (int64_t j = 0; j < 3; j++) CHECK_NEAR(get2(u, i, j), get2(l, j, i), 1e-15);
    mf_tensor_release(l);
    mf_tensor_release(lt);
    mf_tensor_release(llt);
    mf_tensor_release(u);

    mf_tensor *m = from_values(MF_FLOAT64, 4, 2, (double[]){1, 2, 3, 4, 5, 6, 7, 9}), *q, *r, *qr;
    CHECK_OK(mf_linalg_qr(&q, &r, m, MF_QR_REDUCED));
    CHECK_SHAPE(q, 4, 2);
    CHECK_SHAPE(r, 2, 2);
    CHECK_NEAR(get2(r, 1, 0), 0, 0);
    CHECK_OK(mf_tensor_matmul(&qr, q, r));
    for (int64_t i = 0; i < 8; i++)
        CHECK_NEAR(mf_load(MF_FLOAT64, qr->base, i), mf_load(MF_FLOAT64, m->base, i), 1e-12);
    mf_tensor_release(q);
    mf_tensor_release(r);
    mf_tensor_release(qr);
    CHECK_OK(mf_linalg_qr(&q, &r, m, MF_QR_COMPLETE));
    CHECK_SHAPE(q, 4, 4);
    CHECK_SHAPE(r, 4, 2);
    mf_tensor *qt, *qtq;
    CHECK_OK(mf_tensor_transpose(&qt, q, 0, 1));
    CHECK_OK(mf_tensor_matmul(&qtq, qt, q));
    for (int64_t i = 0; i < 4; i++)
        for (int64_t j = 0; j < 4; j++) CHECK_NEAR(get2(qtq, i, j), i == j, 1e-12);
    mf_tensor_release(q);
    mf_tensor_release(r);
    mf_tensor_release(qt);
    mf_tensor_release(qtq);
    CHECK_OK(mf_linalg_qr(&q, &r, m, MF_QR_R));
    CHECK_SHAPE(q, 0);
    CHECK_SHAPE(r, 2, 2);
    mf_tensor_release(q);
    mf_tensor_release(r);

    mf_tensor *su, *ss, *sv;
    CHECK_OK(mf_linalg_svd(&su, &ss, &sv, m, 0));
    CHECK_SHAPE(su, 4, 2);
    CHECK_SHAPE(ss, 2);
    CHECK_SHAPE(sv, 2, 2);
    CHECK(mf_load(MF_FLOAT64, ss->base, 0) >= mf_load(MF_FLOAT64, ss->base, 1));
    for (int64_t i = 0; i < 4; i++) {
        for (int64_t j = 0; j < 2; j++) {
            double s = 0;
            for (int64_t p = 0; p < 2; p++)
                s += get2(su, i, p) * mf_load(MF_FLOAT64, ss->base, p) * get2(sv, p, j);
            CHECK_NEAR(s, get2(m, i, j), 1e-12);
        }
    }
    mf_tensor_release(su);
    mf_tensor_release(ss);
    mf_tensor_release(sv);
    CHECK_OK(mf_linalg_svd(&su, &ss, &sv, m, 1));
    CHECK_SHAPE(su, 4, 4);
    CHECK_SHAPE(sv, 2, 2);
    mf_tensor_release(su);
    mf_tensor_release(ss);
    mf_tensor_release(sv);

    mf_tensor *w, *v;
    CHECK_OK(mf_linalg_eigh(&w, &v, a, 'L'));
    CHECK(mf_load(MF_FLOAT64, w->base, 0) <= mf_load(MF_FLOAT64, w->base, 1));
    for (int64_t c = 0; c < 3; c++) {
        double lam = mf_load(MF_FLOAT64, w->base, c);
        for (int64_t i = 0; i < 3; i++) {
            double av = 0;
            for (int64_t p = 0; p < 3; p++) av += spd3[i * 3 + p] * get2(v, p, c);
            CHECK_NEAR(av, lam * get2(v, i, c), 1e-12);
        }
    }
    mf_tensor_release(w);
    mf_tensor_release(v);
    mf_tensor_release(a);
    mf_tensor_release(m);
}

CTEST(lstsq_over_and_under_determined)
{
    /* overdetermined: fit y = 1 + 2 x exactly; then one noisy point */
    mf_tensor *a = from_values(MF_FLOAT64, 4, 2, (double[]){1, 0, 1, 1, 1, 2, 1, 3});
    mf_tensor *y = from_values(MF_FLOAT64, 4, 1, (double[]){1, 3, 5, 8}), *x, *res, *rank;
    CHECK_OK(mf_linalg_lstsq(&x, &res, &rank, a, y, -1));
    CHECK_SHAPE(x, 2, 1);
    CHECK_SHAPE(res, 1);
    CHECK_INT(rank->ndim, 0);
    CHECK_INT(((int64_t *)rank->base)[0], 2);
    /* normal equations: [4 6; 6 14] x = [17; 37] → x = [0.8, 2.3] */
    CHECK_NEAR(get2(x, 0, 0), 0.8, 1e-12);
    CHECK_NEAR(get2(x, 1, 0), 2.3, 1e-12);
    /* fitted 0.8, 3.1, 5.4, 7.7: residuals .2, .1, .4, .3 → .04+.01+.16+.09 */
    CHECK_NEAR(mf_load(MF_FLOAT64, res->base, 0), 0.30, 1e-12);
    mf_tensor_release(x);
    mf_tensor_release(res);
    mf_tensor_release(rank);
    /* underdetermined: x1 + x2 = 2 → minimum norm [1, 1]; no residuals */
    mf_tensor *u = from_values(MF_FLOAT64, 1, 2, (double[]){1, 1});
    mf_tensor *v = from_values(MF_FLOAT64, 1, 1, (double[]){2});
    CHECK_OK(mf_linalg_lstsq(&x, &res, &rank, u, v, -1));
    CHECK_SHAPE(x, 2, 1);
    CHECK_SHAPE(res, 0);
    CHECK_NEAR(get2(x, 0, 0), 1, 1e-12);
    CHECK_NEAR(get2(x, 1, 0), 1, 1e-12);
    CHECK_INT(((int64_t *)rank->base)[0], 1);
    mf_tensor_release(x);
    mf_tensor_release(res);
    mf_tensor_release(rank);
    /* rank-deficient overdetermined: residuals computed from A x - b */
    mf_tensor *d = from_values(MF_FLOAT64, 3, 2, (double[]){1, 1, 1, 1, 1, 1});
    mf_tensor *e = from_values(MF_FLOAT64, 3, 1, (double[]){1, 2, 3});
    CHECK_OK(mf_linalg_lstsq(&x, &res, &rank, d, e, -1));
    CHECK_INT(((int64_t *)rank->base)[0], 1);
    CHECK_NEAR(get2(x, 0, 0), 1, 1e-12); /* x1 + x2 = mean 2, minimum norm */
    CHECK_NEAR(get2(x, 1, 0), 1, 1e-12);
    CHECK_NEAR(mf_load(MF_FLOAT64, res->base, 0), 2, 1e-12);
    mf_tensor_release(x);
    mf_tensor_release(res);
    mf_tensor_release(rank);
    mf_tensor_release(a);
    mf_tensor_release(y);
    mf_tensor_release(u);
    mf_tensor_release(v);
    mf_tensor_release(d);
    mf_tensor_release(e);
}

CTEST(empty_matrices)
{
    mf_tensor *e, *r = NULL, *r2 = NULL, *r3 = NULL;
    CHECK_OK(mf_tensor_zeros(&e, MF_FLOAT32, 2, (int64_t[]){0, 0}));
    CHECK_OK(mf_linalg_det(&r, e));
    CHECK_NEAR(mf_load(MF_FLOAT32, r->base, 0), 1, 0);
    mf_tensor_release(r);
    CHECK_OK(mf_linalg_inv(&r, e));
    CHECK_SHAPE(r, 0, 0);
    mf_tensor_release(r);
    mf_tensor_release(e);
    CHECK_OK(mf_tensor_zeros(&e, MF_FLOAT64, 2, (int64_t[]){3, 0}));
    CHECK_OK(mf_linalg_qr(&r, &r2, e, MF_QR_COMPLETE));
    CHECK_SHAPE(r, 3, 3);
    CHECK_SHAPE(r2, 3, 0);
    for (int64_t i = 0; i < 3; i++)
        for (int64_t j = 0; j < 3; j++) CHECK_NEAR(get2(r, i, j), i == j, 0);
    mf_tensor_release(r);
    mf_tensor_release(r2);
    CHECK_OK(mf_linalg_svd(&r, &r2, &r3, e, 0));
    CHECK_SHAPE(r, 3, 0);
    CHECK_SHAPE(r2, 0);
    CHECK_SHAPE(r3, 0, 0);
    mf_tensor_release(r);
    mf_tensor_release(r2);
    mf_tensor_release(r3);
    mf_tensor_release(e);
}

CTEST(op_records)
{
    const struct {
        mf_op_id id;
        const char *name;
        int diff, n_out;
    } want[] = {
        {MF_OP_MATMUL, "matmul", 1, 1}, {MF_OP_ADDMM, "addmm", 0, 1},
        {MF_OP_SOLVE, "solve", 1, 1},   {MF_OP_INV, "inv", 1, 1},
        {MF_OP_DET, "det", 1, 1},       {MF_OP_CHOLESKY, "cholesky", 1, 1},
        {MF_OP_QR, "qr", 0, 2},         {MF_OP_SVD, "svd", 0, 3},
        {MF_OP_EIGH, "eigh", 0, 2},     {MF_OP_LSTSQ, "lstsq", 0, 3},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const mf_op *op = mf_op_get(want[i].id);
        CHECK_STR(op->name, want[i].name);
        CHECK_INT((op->flags & MF_OPF_DIFF) != 0, want[i].diff);
        CHECK_INT(op->n_out, want[i].n_out);
    }
}

/* Every allocation of each call fails in turn: the call reports ENOMEM and
 * releases what it had (the harness checks for leaks). */
CTEST(allocation_failures_leak_nothing)
{
    mf_tensor *a = from_values(MF_FLOAT64, 3, 3, spd3), *at;
    mf_tensor *b = filled(MF_FLOAT64, 3, (int64_t[]){2, 3, 2}, 1);
    CHECK_OK(mf_tensor_transpose(&at, a, 0, 1));
    for (int which = 0; which < 6; which++) {
        int succeeded = 0;
        for (long n = 1; n < 40 && !succeeded; n++) {
            mf_tensor *r1 = NULL, *r2 = NULL, *r3 = NULL;
            mf_mem_fail_after(n);
            mf_status st;
            switch (which) {
            case 0: st = mf_tensor_matmul(&r1, at, b); break;
            case 1: st = mf_linalg_solve(&r1, a, b); break;
            case 2: st = mf_linalg_svd(&r1, &r2, &r3, b, 1); break;
            case 3: st = mf_linalg_lstsq(&r1, &r2, &r3, b, b, -1); break;
            case 4: st = mf_linalg_qr(&r1, &r2, b, MF_QR_COMPLETE); break;
            default: st = mf_linalg_eigh(&r1, &r2, a, 'U'); break;
            }
            mf_mem_fail_after(0);
            if (st == MF_OK) succeeded = 1;
            else CHECK_INT(st, MF_ENOMEM);
            if (st != MF_OK) CHECK(r1 == NULL && r2 == NULL && r3 == NULL);
            mf_tensor_release(r1);
            mf_tensor_release(r2);
            mf_tensor_release(r3);
        }
        CHECK(succeeded);
    }
    mf_tensor_release(a);
    mf_tensor_release(at);
    mf_tensor_release(b);
}

const ctest_case ctest_linalg[] = {
    CTEST_ENTRY(gemm_matches_reference_loop),
    CTEST_ENTRY(gemm_beta_zero_ignores_nan_and_k_zero_scales),
    CTEST_ENTRY(matmul_shapes_follow_torch),
    CTEST_ENTRY(matmul_views_without_copies_match_reference),
    CTEST_ENTRY(matmul_views_are_not_copied),
    CTEST_ENTRY(matmul_batched_fold_and_loop_agree),
    CTEST_ENTRY(matmul_empty_dims),
    CTEST_ENTRY(matmul_promotes_and_int64_is_exact),
    CTEST_ENTRY(matmul_errors_name_argument),
    CTEST_ENTRY(matmul_into_any_layout_and_aliasing),
    CTEST_ENTRY(addmm_scales_and_broadcasts),
    CTEST_ENTRY(solve_inv_det_small_systems),
    CTEST_ENTRY(linalg_errors),
    CTEST_ENTRY(cholesky_qr_svd_eigh_reconstruct),
    CTEST_ENTRY(lstsq_over_and_under_determined),
    CTEST_ENTRY(empty_matrices),
    CTEST_ENTRY(op_records),
    CTEST_ENTRY(allocation_failures_leak_nothing),
    {NULL, NULL},
};
