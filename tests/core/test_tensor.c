/* test_tensor.c — the tensor object: lifetime, elements, copy, fill, memory. */
#include <string.h>

#include "ctest.h"
#include "moonforge.h"

static const int64_t S23[2] = {2, 3};

/* t[i][j] = 10*i + j, float64 */
static mf_tensor *grid(void)
{
    mf_tensor *t = NULL;
    if (mf_tensor_new(&t, MF_FLOAT64, 2, S23) != MF_OK) return NULL;
    for (int64_t i = 0; i < 2; i++)
        for (int64_t j = 0; j < 3; j++) mf_tensor_set(t, (int64_t[]){i, j}, (double)(10 * i + j));
    return t;
}

CTEST(new_is_contiguous_row_major)
{
    mf_tensor *t;
    CHECK_OK(mf_tensor_zeros(&t, MF_FLOAT32, 2, S23));
    CHECK_INT(t->ndim, 2);
    CHECK_INT(t->stride[0], 3);
    CHECK_INT(t->stride[1], 1);
    CHECK_INT(mf_tensor_numel(t), 6);
    CHECK_INT(mf_tensor_nbytes(t), 24);
    CHECK(mf_tensor_is_contiguous(t));
    CHECK((uintptr_t)mf_tensor_data(t) % 16 == 0);
    mf_tensor *big;
    CHECK_OK(mf_tensor_zeros(&big, MF_FLOAT32, 1, (int64_t[]){4096}));
    CHECK((uintptr_t)mf_tensor_data(big) % 64 == 0); /* SIMD-friendly above 2 KB */
    mf_tensor_release(big);
    double v = -1;
    CHECK_OK(mf_tensor_get(t, (int64_t[]){1, 2}, &v));
    CHECK_NEAR(v, 0, 0);
    mf_tensor_release(t);
}

CTEST(scalar_and_empty)
{
    mf_tensor *s, *e;
    CHECK_OK(mf_tensor_full(&s, MF_INT64, 0, NULL, 7));
    CHECK_INT(mf_tensor_numel(s), 1);
    int64_t v = 0;
    CHECK_OK(mf_tensor_get_i64(s, NULL, &v));
    CHECK_INT(v, 7);
    CHECK_OK(mf_tensor_zeros(&e, MF_FLOAT32, 2, (int64_t[]){0, 5}));
    CHECK_INT(mf_tensor_numel(e), 0);
    CHECK(mf_tensor_is_contiguous(e));
    CHECK_OK(mf_tensor_fill_(e, 3));
    mf_tensor_release(s);
    mf_tensor_release(e);
}

CTEST(bad_shapes_and_indices)
{
    mf_tensor *t = NULL;
    CHECK_ERR(mf_tensor_new(&t, MF_FLOAT32, 2, (int64_t[]){2, -1}), MF_EINVAL, 1);
    CHECK(t == NULL);
    CHECK_ERR(mf_tensor_new(&t, MF_FLOAT32, 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}), MF_EINVAL, 1);
    CHECK_ERR(mf_tensor_new(&t, MF_FLOAT32, 2, (int64_t[]){INT64_MAX / 2, 4}), MF_ERANGE, 1);
    t = grid();
    double v;
    CHECK_ERR(mf_tensor_get(t, (int64_t[]){2, 0}, &v), MF_ERANGE, 2);
    CHECK_ERR(mf_tensor_get(t, (int64_t[]){0, 3}, &v), MF_ERANGE, 3);
    CHECK_ERR(mf_tensor_get(t, (int64_t[]){0, -1}, &v), MF_ERANGE, 3);
    CHECK(strstr(mf_error_get()->msg, "out of range") != NULL);
    mf_tensor_release(t);
}

CTEST(int64_exact_and_checked)
{
    mf_tensor *t;
    int64_t big = (INT64_C(1) << 62) + 1, v = 0;
    CHECK_OK(mf_tensor_zeros(&t, MF_INT64, 1, (int64_t[]){2}));
    CHECK_OK(mf_tensor_set_i64(t, (int64_t[]){0}, big));
    CHECK_OK(mf_tensor_get_i64(t, (int64_t[]){0}, &v));
    CHECK(v == big);
    CHECK_ERR(mf_tensor_set(t, (int64_t[]){1}, NAN), MF_EINVAL, 3);
    CHECK_ERR(mf_tensor_set(t, (int64_t[]){1}, 1e19), MF_EINVAL, 3);
    CHECK_ERR(mf_tensor_fill_(t, INFINITY), MF_EINVAL, 2);
    mf_tensor_release(t);
}

CTEST(copy_broadcasts_and_converts)
{
    mf_tensor *dst, *row, *f;
    CHECK_OK(mf_tensor_zeros(&dst, MF_INT64, 2, S23));
    CHECK_OK(mf_tensor_arange(&row, MF_FLOAT32, 0, 3, 1)); /* [0 1 2] */
    CHECK_OK(mf_tensor_copy_(dst, row));
    int64_t v = -1;
    CHECK_OK(mf_tensor_get_i64(dst, (int64_t[]){1, 2}, &v));
    CHECK_INT(v, 2);
    /* float -> int64 truncates toward zero, NaN refused */
    CHECK_OK(mf_tensor_full(&f, MF_FLOAT64, 1, (int64_t[]){3}, -2.7));
    CHECK_OK(mf_tensor_copy_(dst, f));
    CHECK_OK(mf_tensor_get_i64(dst, (int64_t[]){0, 1}, &v));
    CHECK_INT(v, -2);
    CHECK_OK(mf_tensor_fill_(f, NAN));
    CHECK_ERR(mf_tensor_copy_(dst, f), MF_EINVAL, 2);
    /* incompatible shapes name both */
    mf_tensor *bad;
    CHECK_OK(mf_tensor_zeros(&bad, MF_FLOAT32, 1, (int64_t[]){4}));
    CHECK_ERR(mf_tensor_copy_(dst, bad), MF_EINVAL, 2);
    CHECK(strstr(mf_error_get()->msg, "[4]") && strstr(mf_error_get()->msg, "[2x3]"));
    mf_tensor_release(dst);
    mf_tensor_release(row);
    mf_tensor_release(f);
    mf_tensor_release(bad);
}

CTEST(copy_into_overlapping_view)
{
    /* a[1:] = a[:-1] must shift, not smear */
    mf_tensor *a, *hi, *lo;
    CHECK_OK(mf_tensor_arange(&a, MF_FLOAT32, 0, 5, 1));
    CHECK_OK(mf_tensor_narrow(&hi, a, 0, 1, 4));
    CHECK_OK(mf_tensor_narrow(&lo, a, 0, 0, 4));
    CHECK_OK(mf_tensor_copy_(hi, lo));
    const float *d = mf_tensor_data(a);
    CHECK_NEAR(d[0], 0, 0);
    CHECK_NEAR(d[1], 0, 0);
    CHECK_NEAR(d[2], 1, 0);
    CHECK_NEAR(d[4], 3, 0);
    mf_tensor_release(a);
    mf_tensor_release(hi);
    mf_tensor_release(lo);
}

CTEST(views_share_storage_and_outlive_base)
{
    mf_tensor *t = grid(), *tt;
    CHECK_OK(mf_tensor_transpose(&tt, t, 0, 1));
    CHECK(mf_tensor_same_storage(t, tt));
    CHECK(!mf_tensor_is_contiguous(tt));
    mf_tensor_release(t); /* the view keeps the storage alive */
    double v;
    CHECK_OK(mf_tensor_get(tt, (int64_t[]){2, 1}, &v));
    CHECK_NEAR(v, 12, 0);
    mf_tensor_release(tt);
}

CTEST(ranges)
{
    mf_tensor *a, *l, *e;
    CHECK_OK(mf_tensor_arange(&a, MF_FLOAT64, 1, 2, 0.3)); /* 1, 1.3, 1.6, 1.9 */
    CHECK_INT(a->shape[0], 4);
    CHECK_OK(mf_tensor_linspace(&l, MF_FLOAT64, -1, 1, 5));
    const double *ld = mf_tensor_data(l);
    CHECK_NEAR(ld[0], -1, 0);
    CHECK_NEAR(ld[2], 0, 1e-15);
    CHECK_NEAR(ld[4], 1, 0);
    CHECK_OK(mf_tensor_eye(&e, MF_FLOAT32, 2, 3));
    const float *ed = mf_tensor_data(e);
    CHECK(ed[0] == 1 && ed[1] == 0 && ed[4] == 1 && ed[5] == 0);
    mf_tensor *bad = NULL;
    CHECK_ERR(mf_tensor_arange(&bad, MF_FLOAT32, 0, 1, 0), MF_EINVAL, 3);
    CHECK_ERR(mf_tensor_linspace(&bad, MF_FLOAT32, 0, 1, -1), MF_EINVAL, 3);
    mf_tensor_release(a);
    mf_tensor_release(l);
    mf_tensor_release(e);
}

/* Every allocation of a constructor or op can fail: it must report ENOMEM
 * and leave nothing allocated. */
CTEST(allocation_failures_are_reported_without_leaks)
{
    mf_tensor *t = grid();
    size_t before = mf_mem_in_use();
    for (long k = 1; k <= 4; k++) {
        mf_tensor *out = NULL;
        mf_mem_fail_after(k);
        mf_status st = mf_tensor_clone(&out, t);
        mf_mem_fail_after(0);
        if (st == MF_OK) {
            mf_tensor_release(out);
            continue;
        }
        CHECK_INT(st, MF_ENOMEM);
        CHECK(out == NULL);
        CHECK_INT(mf_mem_in_use(), before);
    }
    mf_tensor *v = NULL;
    mf_mem_fail_after(1);
    CHECK_ERR(mf_tensor_transpose(&v, t, 0, 1), MF_ENOMEM, 0);
    mf_mem_fail_after(0);
    CHECK(v == NULL);
    mf_tensor_release(t);
}

const ctest_case ctest_tensor[] = {
    CTEST_ENTRY(new_is_contiguous_row_major),
    CTEST_ENTRY(scalar_and_empty),
    CTEST_ENTRY(bad_shapes_and_indices),
    CTEST_ENTRY(int64_exact_and_checked),
    CTEST_ENTRY(copy_broadcasts_and_converts),
    CTEST_ENTRY(copy_into_overlapping_view),
    CTEST_ENTRY(views_share_storage_and_outlive_base),
    CTEST_ENTRY(ranges),
    CTEST_ENTRY(allocation_failures_are_reported_without_leaks),
    {NULL, NULL},
};
