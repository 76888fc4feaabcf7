/* test_format.c — tensors as text. */
#include <string.h>

#include "ctest.h"
#include "moonforge.h"

static char *fmt(mf_tensor *t)
{
    char *s = NULL;
    size_t len;
    if (mf_tensor_format(t, &s, &len) != MF_OK) return NULL;
    return s;
}

CTEST(formats)
{
    mf_tensor *t;
    char *s;
    CHECK_OK(mf_tensor_arange(&t, MF_FLOAT32, 0, 6, 1));
    mf_tensor *v;
    CHECK_OK(mf_tensor_view_as(&v, t, 2, (int64_t[]){2, 3}));
    CHECK_STR(s = fmt(v), "tensor([[0., 1., 2.],\n        [3., 4., 5.]], shape=[2x3], dtype=float32)");
    mf_free(s);
    mf_tensor_set(v, (int64_t[]){0, 0}, -0.5);
    CHECK_STR(s = fmt(v),
              "tensor([[-0.5000,  1.0000,  2.0000],\n        [ 3.0000,  4.0000,  5.0000]], "
              "shape=[2x3], dtype=float32)");
    mf_free(s);
    mf_tensor_release(v);
    mf_tensor_release(t);

    CHECK_OK(mf_tensor_full(&t, MF_INT64, 0, NULL, -12));
    CHECK_STR(s = fmt(t), "tensor(-12, shape=[], dtype=int64)");
    mf_free(s);
    mf_tensor_release(t);

    CHECK_OK(mf_tensor_zeros(&t, MF_FLOAT64, 2, (int64_t[]){0, 4}));
    CHECK_STR(s = fmt(t), "tensor([], shape=[0x4], dtype=float64)");
    mf_free(s);
    mf_tensor_release(t);

    CHECK_OK(mf_tensor_full(&t, MF_FLOAT64, 1, (int64_t[]){2}, 1e-9));
    mf_tensor_set(t, (int64_t[]){1}, NAN);
    CHECK_STR(s = fmt(t), "tensor([1.0000e-09,        nan], shape=[2], dtype=float64)");
    mf_free(s);
    mf_tensor_release(t);
}

CTEST(big_tensors_are_summarized)
{
    mf_tensor *t;
    CHECK_OK(mf_tensor_arange(&t, MF_INT64, 0, 5000, 1));
    char *s = fmt(t);
    CHECK_STR(s, "tensor([   0,    1,    2, ..., 4997, 4998, 4999], shape=[5000], dtype=int64)");
    mf_free(s);
    mf_tensor_release(t);
}

const ctest_case ctest_format[] = {
    CTEST_ENTRY(formats),
    CTEST_ENTRY(big_tensors_are_summarized),
    {NULL, NULL},
};
