/* test_ops.c — the op table and the view/copy ops. */
#include <string.h>

#include "ctest.h"
#include "moonforge.h"

/* 2x3x4 float64 tensor with value 100*i + 10*j + k */
static mf_tensor *cube(void)
{
    mf_tensor *t = NULL;
    if (mf_tensor_new(&t, MF_FLOAT64, 3, (int64_t[]){2, 3, 4}) != MF_OK) return NULL;
    double *d = mf_tensor_data(t);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++) d[(i * 3 + j) * 4 + k] = 100 * i + 10 * j + k;
    return t;
}

static double at(const mf_tensor *t, const int64_t *idx)
{
    double v = NAN;
    mf_tensor_get(t, idx, &v);
    return v;
}

CTEST(op_table_is_complete)
{
    CHECK_INT(mf_op_count(), MF_OP_COUNT);
    for (int i = 0; i < mf_op_count(); i++) {
        const mf_op *op = mf_op_get((mf_op_id)i);
        CHECK(op != NULL);
        if (!op) continue;
        CHECK(op->name && op->name[0]);
        CHECK(op->infer != NULL);
        CHECK(op->n_in == MF_OP_VARIADIC || (op->n_in >= 1 && op->n_in <= MF_OP_MAX_IN));
        CHECK(op->n_out >= 1 && op->n_out <= MF_OP_MAX_OUT);
        /* views have no kernel; every other op has one */
        CHECK((op->flags & MF_OPF_VIEW) ? op->forward == NULL : op->forward != NULL);
        for (int j = 0; j < i; j++) CHECK(strcmp(op->name, mf_op_get((mf_op_id)j)->name) != 0);
    }
    CHECK(mf_op_get(MF_OP_COUNT) == NULL);
}

CTEST(permute_and_transpose)
{
    mf_tensor *t = cube(), *p, *tr;
    CHECK_OK(mf_tensor_permute(&p, t, 3, (int64_t[]){2, 0, 1}));
    CHECK_INT(p->shape[0], 4);
    CHECK_INT(p->shape[1], 2);
    CHECK_INT(p->shape[2], 3);
    CHECK_NEAR(at(p, (int64_t[]){3, 1, 2}), 123, 0);
    CHECK_OK(mf_tensor_transpose(&tr, t, -1, 0));
    CHECK_NEAR(at(tr, (int64_t[]){3, 2, 1}), 123, 0);
    mf_tensor *bad = NULL;
    CHECK_ERR(mf_tensor_permute(&bad, t, 3, (int64_t[]){0, 0, 1}), MF_EINVAL, 2);
    CHECK_ERR(mf_tensor_transpose(&bad, t, 0, 3), MF_ERANGE, 3);
    mf_tensor_release(t);
    mf_tensor_release(p);
    mf_tensor_release(tr);
}

CTEST(narrow_select_index)
{
    mf_tensor *t = cube(), *n, *s, *idx, *ix;
    CHECK_OK(mf_tensor_narrow(&n, t, 2, 1, 2));
    CHECK_INT(n->shape[2], 2);
    CHECK_NEAR(at(n, (int64_t[]){1, 2, 0}), 121, 0);
    CHECK_OK(mf_tensor_select(&s, t, 1, 2));
    CHECK_INT(s->ndim, 2);
    CHECK_NEAR(at(s, (int64_t[]){1, 3}), 123, 0);
    CHECK_OK(mf_tensor_arange(&idx, MF_INT64, 3, -1, -2)); /* [3, 1] */
    CHECK_OK(mf_tensor_index(&ix, t, 2, idx));
    CHECK_INT(ix->shape[2], 2);
    CHECK(!mf_tensor_same_storage(ix, t));
    CHECK_NEAR(at(ix, (int64_t[]){1, 1, 0}), 113, 0);
    CHECK_NEAR(at(ix, (int64_t[]){1, 1, 1}), 111, 0);
    mf_tensor *bad = NULL;
    CHECK_ERR(mf_tensor_narrow(&bad, t, 2, 3, 2), MF_ERANGE, 4);
    CHECK_ERR(mf_tensor_select(&bad, t, 0, 2), MF_ERANGE, 3);
    mf_tensor_fill_(idx, 4);
    CHECK_ERR(mf_tensor_index(&bad, t, 2, idx), MF_ERANGE, 3);
    CHECK(bad == NULL);
    mf_tensor *fidx;
    CHECK_OK(mf_tensor_zeros(&fidx, MF_FLOAT32, 1, (int64_t[]){1}));
    CHECK_ERR(mf_tensor_index(&bad, t, 0, fidx), MF_EINVAL, 3);
    mf_tensor_release(fidx);
    mf_tensor_release(t);
    mf_tensor_release(n);
    mf_tensor_release(s);
    mf_tensor_release(idx);
    mf_tensor_release(ix);
}

CTEST(view_reshape_rules)
{
    mf_tensor *t = cube(), *v, *r, *tr, *bad = NULL;
    CHECK_OK(mf_tensor_view_as(&v, t, 2, (int64_t[]){-1, 4}));
    CHECK_INT(v->shape[0], 6);
    CHECK(mf_tensor_same_storage(v, t));
    CHECK_ERR(mf_tensor_view_as(&bad, t, 2, (int64_t[]){5, -1}), MF_EINVAL, 2);
    CHECK_ERR(mf_tensor_view_as(&bad, t, 2, (int64_t[]){-1, -1}), MF_EINVAL, 2);
    /* a transposed tensor cannot be flattened without a copy ... */
    CHECK_OK(mf_tensor_transpose(&tr, t, 1, 2)); /* 2x4x3 */
    CHECK_ERR(mf_tensor_view_as(&bad, tr, 1, (int64_t[]){24}), MF_EINVAL, 2);
    CHECK(strstr(mf_error_get()->msg, "non-contiguous") != NULL);
    /* ... but its untouched leading dim can still be split */
    mf_tensor *split;
    CHECK_OK(mf_tensor_view_as(&split, tr, 4, (int64_t[]){2, 1, 4, 3}));
    CHECK(mf_tensor_same_storage(split, t));
    /* reshape copies when it must, with the values in logical order */
    CHECK_OK(mf_tensor_reshape(&r, tr, 1, (int64_t[]){24}));
    CHECK(!mf_tensor_same_storage(r, t));
    CHECK_NEAR(at(r, (int64_t[]){1}), 10, 0); /* tr[0][0][1] = t[0][1][0] */
    mf_tensor_release(split);
    mf_tensor_release(t);
    mf_tensor_release(v);
    mf_tensor_release(r);
    mf_tensor_release(tr);
}

CTEST(squeeze_unsqueeze_expand)
{
    mf_tensor *t, *u, *s, *e, *all, *bad = NULL;
    CHECK_OK(mf_tensor_arange(&t, MF_FLOAT32, 0, 3, 1));
    CHECK_OK(mf_tensor_unsqueeze(&u, t, -1)); /* 3x1 */
    CHECK_INT(u->ndim, 2);
    CHECK_INT(u->shape[1], 1);
    CHECK_OK(mf_tensor_expand(&e, u, 3, (int64_t[]){2, -1, 4}));
    CHECK_INT(e->stride[0], 0);
    CHECK_INT(e->stride[2], 0);
    CHECK_NEAR(at(e, (int64_t[]){1, 2, 3}), 2, 0);
    CHECK_ERR(mf_tensor_expand(&bad, e, 3, (int64_t[]){2, 4, 4}), MF_EINVAL, 2);
    CHECK_OK(mf_tensor_squeeze(&s, u, 1));
    CHECK_INT(s->ndim, 1);
    CHECK_OK(mf_tensor_squeeze(&all, u, MF_ALL_DIMS));
    CHECK_INT(all->ndim, 1);
    /* copying an expanded view materialises it */
    mf_tensor *c;
    CHECK_OK(mf_tensor_contiguous(&c, e));
    CHECK(mf_tensor_is_contiguous(c));
    CHECK_NEAR(((float *)mf_tensor_data(c))[23], 2, 0);
    mf_tensor_release(c);
    mf_tensor_release(t);
    mf_tensor_release(u);
    mf_tensor_release(s);
    mf_tensor_release(e);
    mf_tensor_release(all);
}

CTEST(cast_round_trip)
{
    mf_tensor *t = cube(), *f, *i;
    CHECK_OK(mf_tensor_to(&f, t, MF_FLOAT32));
    CHECK_INT(f->dtype, MF_FLOAT32);
    CHECK_OK(mf_tensor_to(&i, f, MF_INT64));
    int64_t v = 0;
    CHECK_OK(mf_tensor_get_i64(i, (int64_t[]){1, 2, 3}, &v));
    CHECK_INT(v, 123);
    mf_tensor_release(t);
    mf_tensor_release(f);
    mf_tensor_release(i);
}

CTEST(iter_coalesces)
{
    mf_tensor *t = cube(), *tr;
    mf_iter it;
    const int64_t *st[1] = {t->stride};
    size_t el[1] = {8};
    mf_iter_init(&it, 1, t->ndim, t->shape, st, el);
    CHECK_INT(it.ndim, 1); /* contiguous: one inner loop */
    CHECK_INT(it.shape[0], 24);
    mf_tensor_transpose(&tr, t, 0, 2);
    const int64_t *st2[1] = {tr->stride};
    mf_iter_init(&it, 1, tr->ndim, tr->shape, st2, el);
    CHECK_INT(it.ndim, 3);
    mf_tensor_release(t);
    mf_tensor_release(tr);
}

const ctest_case ctest_ops[] = {
    CTEST_ENTRY(op_table_is_complete),
    CTEST_ENTRY(permute_and_transpose),
    CTEST_ENTRY(narrow_select_index),
    CTEST_ENTRY(view_reshape_rules),
    CTEST_ENTRY(squeeze_unsqueeze_expand),
    CTEST_ENTRY(cast_round_trip),
    CTEST_ENTRY(iter_coalesces),
    {NULL, NULL},
};
