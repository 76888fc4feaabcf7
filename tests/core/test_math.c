/* test_math.c — elementwise ops, reductions, the thread pool and walks. */
#include <string.h>

#include "ctest.h"
#include "moonforge.h"

static mf_tensor *vec(mf_dtype dt, int64_t n, double start, double step)
{
    mf_tensor *t = NULL;
    if (mf_tensor_arange(&t, dt, start, start + (double)n * step - step / 2, step) != MF_OK)
        return NULL;
    return t;
}

CTEST(promotion_rules)
{
    CHECK_INT(mf_dtype_promote(MF_INT64, MF_FLOAT32), MF_FLOAT32);
    CHECK_INT(mf_dtype_promote(MF_FLOAT32, MF_FLOAT64), MF_FLOAT64);
    CHECK_INT(mf_dtype_promote(MF_BOOL, MF_INT64), MF_INT64);
    CHECK_INT(mf_dtype_promote(MF_BOOL, MF_BOOL), MF_BOOL);
    CHECK(mf_dtype_can_cast(MF_FLOAT64, MF_FLOAT32));
    CHECK(mf_dtype_can_cast(MF_INT64, MF_FLOAT32));
    CHECK(!mf_dtype_can_cast(MF_FLOAT32, MF_INT64));
    CHECK(!mf_dtype_can_cast(MF_INT64, MF_BOOL));
}

CTEST(binary_broadcast_and_borrowed_scalars)
{
    mf_tensor *a = vec(MF_FLOAT64, 6, 0, 1), *m, *r = NULL, *s;
    CHECK_OK(mf_tensor_view_as(&m, a, 2, (int64_t[]){2, 3}));
    double two = 2;
    mf_tensor k;
    mf_tensor_borrow_scalar(&k, MF_FLOAT64, &two);
    CHECK_OK(mf_tensor_binary(MF_OP_MUL, &s, m, &k));
    CHECK_NEAR(((double *)s->base)[5], 10, 0);
    mf_tensor_release(&k); /* borrowed: a no-op */
    mf_tensor *bad = vec(MF_FLOAT64, 4, 0, 1);
    CHECK_ERR(mf_tensor_binary(MF_OP_ADD, &r, m, bad), MF_EINVAL, 2);
    CHECK(strstr(mf_error_get()->msg, "[2x3]") && strstr(mf_error_get()->msg, "[4]"));
    CHECK(r == NULL);
    mf_tensor *row = vec(MF_FLOAT64, 3, 10, 10), *sum;
    CHECK_OK(mf_tensor_add(&sum, m, row, -1)); /* m - row */
    CHECK_NEAR(((double *)sum->base)[4], 4 - 20, 0);
    mf_tensor_release(a);
    mf_tensor_release(m);
    mf_tensor_release(s);
    mf_tensor_release(bad);
    mf_tensor_release(row);
    mf_tensor_release(sum);
}

CTEST(run_into_cast_rules)
{
    mf_tensor *f = vec(MF_FLOAT32, 3, 1, 1), *d = NULL, *i = vec(MF_INT64, 3, 1, 1);
    CHECK_OK(mf_tensor_full(&d, MF_FLOAT64, 1, (int64_t[]){3}, 0.5));
    mf_tensor *in[2] = {f, d};
    mf_op_params p = {0};
    p.scalars[0] = 1;
    CHECK_OK(mf_op_run_into(MF_OP_ADD, 2, in, &p, &f, 1)); /* float64 result into float32 */
    CHECK_NEAR(((float *)f->base)[2], 3.5, 0);
    mf_tensor *in2[2] = {i, d};
    CHECK_ERR(mf_op_run_into(MF_OP_ADD, 2, in2, &p, &i, 1), MF_EINVAL, 1);
    mf_tensor_release(f);
    mf_tensor_release(d);
    mf_tensor_release(i);
}

CTEST(reductions)
{
    mf_tensor *a = vec(MF_FLOAT32, 6, 1, 1), *m, *s, *v, *ix, *var;
    CHECK_OK(mf_tensor_view_as(&m, a, 2, (int64_t[]){2, 3}));
    CHECK_OK(mf_tensor_reduce(MF_OP_SUM, &s, m, 0, 0));
    CHECK_INT(s->ndim, 1);
    CHECK_NEAR(((float *)s->base)[2], 3 + 6, 0);
    CHECK_OK(mf_tensor_max(&v, &ix, m, -1, 1, 0));
    CHECK_INT(v->ndim, 2);
    CHECK_INT(((int64_t *)ix->base)[1], 2); /* 0-based in C */
    CHECK_OK(mf_tensor_var(&var, m, MF_ALL_DIMS, 0, 0));
    CHECK_NEAR(((float *)var->base)[0], 35.0 / 12, 1e-6);
    mf_tensor *bad = NULL;
    CHECK_ERR(mf_tensor_reduce(MF_OP_SUM, &bad, m, 5, 0), MF_ERANGE, 2);
    mf_tensor_release(a);
    mf_tensor_release(m);
    mf_tensor_release(s);
    mf_tensor_release(v);
    mf_tensor_release(ix);
    mf_tensor_release(var);
}

/* A big sum is the same for any thread count (fixed blocks). */
CTEST(sums_do_not_depend_on_threads)
{
    mf_rng r;
    mf_tensor *t, *s1, *s2;
    mf_rng_seed(&r, 5);
    CHECK_OK(mf_tensor_new(&t, MF_FLOAT32, 1, (int64_t[]){1000003}));
    CHECK_OK(mf_tensor_normal_(t, &r, 0, 1));
    int before = mf_num_threads();
    mf_set_num_threads(1);
    CHECK_OK(mf_tensor_reduce(MF_OP_SUM, &s1, t, MF_ALL_DIMS, 0));
    mf_set_num_threads(mf_num_cores());
    CHECK_OK(mf_tensor_reduce(MF_OP_SUM, &s2, t, MF_ALL_DIMS, 0));
    mf_set_num_threads(before);
    CHECK(((float *)s1->base)[0] == ((float *)s2->base)[0]);
    double ref = 0;
    for (int64_t i = 0; i < 1000003; i++) ref += ((float *)t->base)[i];
    CHECK_NEAR(((float *)s1->base)[0], ref, 1e-3);
    mf_tensor_release(t);
    mf_tensor_release(s1);
    mf_tensor_release(s2);
}

static void mark(int64_t lo, int64_t hi, void *ctx)
{
    unsigned char *seen = ctx;
    for (int64_t i = lo; i < hi; i++) seen[i]++;
}

CTEST(parallel_for_covers_every_index_once)
{
    static unsigned char seen[100000];
    memset(seen, 0, sizeof seen);
    mf_parallel_for(100000, 1000, mark, seen);
    int ok = 1;
    for (int i = 0; i < 100000; i++) ok &= seen[i] == 1;
    CHECK(ok);
    memset(seen, 0, sizeof seen);
    mf_parallel_for(10, 1000, mark, seen); /* small: inline */
    CHECK(seen[9] == 1 && seen[10] == 0);
}

static int count_elems(int64_t n, char **p, const int64_t *s, void *ctx)
{
    (void)p;
    (void)s;
    *(int64_t *)ctx += n;
    return 0;
}

CTEST(iter_ranges_split_a_walk)
{
    mf_tensor *t = vec(MF_FLOAT32, 60, 0, 1), *v, *tr;
    CHECK_OK(mf_tensor_view_as(&v, t, 3, (int64_t[]){3, 4, 5}));
    CHECK_OK(mf_tensor_transpose(&tr, v, 0, 2));
    const int64_t *st[1] = {tr->stride};
    size_t el[1] = {4};
    mf_iter it;
    mf_iter_init(&it, 1, tr->ndim, tr->shape, st, el);
    int64_t total = 0;
    char *base[1] = {mf_tensor_data(tr)};
    for (int64_t lo = 0; lo < 60; lo += 7)
        mf_iter_run_range(&it, base, lo, lo + 7 < 60 ? lo + 7 : 60, count_elems, &total);
    CHECK_INT(total, 60);
    mf_tensor_release(t);
    mf_tensor_release(v);
    mf_tensor_release(tr);
}

const ctest_case ctest_math[] = {
    CTEST_ENTRY(promotion_rules),
    CTEST_ENTRY(binary_broadcast_and_borrowed_scalars),
    CTEST_ENTRY(run_into_cast_rules),
    CTEST_ENTRY(reductions),
    CTEST_ENTRY(sums_do_not_depend_on_threads),
    CTEST_ENTRY(parallel_for_covers_every_index_once),
    CTEST_ENTRY(iter_ranges_split_a_walk),
    {NULL, NULL},
};
