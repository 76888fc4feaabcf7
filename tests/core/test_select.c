/* test_select.c — joining, splitting, reordering and selecting ops
 * (mf_select.h), each checked against values computed here by hand or by a
 * plain reference loop. */
#include <string.h>

#include "ctest.h"
#include "moonforge.h"

/* ---------------------------------------------------------------- helpers */
static mf_tensor *make(mf_dtype dt, int ndim, const int64_t *shape, const double *v)
{
    mf_tensor *t = NULL;
    if (mf_tensor_new(&t, dt, ndim, shape) != MF_OK) return NULL;
    int64_t n = mf_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) mf_store(dt, t->base, i, v[i]);
    return t;
}

static mf_tensor *make_i64(int ndim, const int64_t *shape, const int64_t *v)
{
    mf_tensor *t = NULL;
    if (mf_tensor_new(&t, MF_INT64, ndim, shape) != MF_OK) return NULL;
    memcpy(t->base, v, sizeof(int64_t) * (size_t)mf_tensor_numel(t));
    return t;
}

/* 0 .. n-1 as a [rows x cols] tensor of dtype dt */
static mf_tensor *grid(mf_dtype dt, int64_t rows, int64_t cols)
{
    mf_tensor *r = NULL, *t = NULL;
    if (mf_tensor_arange(&r, dt, 0, (double)(rows * cols), 1) != MF_OK) return NULL;
    mf_tensor_view_as(&t, r, 2, (int64_t[]){rows, cols});
    mf_tensor_release(r);
    return t;
}

static double at(const mf_tensor *t, const int64_t *idx)
{
    double v = NAN;
    mf_tensor_get(t, idx, &v);
    return v;
}

static int64_t at_i(const mf_tensor *t, const int64_t *idx)
{
    int64_t v = -999;
    mf_tensor_get_i64(t, idx, &v);
    return v;
}

/* Element i of a 1-D tensor (any strides) */
static double at1(const mf_tensor *t, int64_t i) { return at(t, &i); }
static int64_t at1_i(const mf_tensor *t, int64_t i) { return at_i(t, &i); }

static int same_shape(const mf_tensor *t, int ndim, const int64_t *shape)
{
    return t && t->ndim == ndim && memcmp(t->shape, shape, sizeof(int64_t) * (size_t)ndim) == 0;
}

static void release(mf_tensor **ts, int n)
{
    for (int i = 0; i < n; i++) mf_tensor_release(ts[i]);
}

/* ---------------------------------------------------------------- op table */
CTEST(records_and_flags)
{
    static const struct {
        mf_op_id id;
        const char *name;
        int diff;
    } ops[] = {
        {MF_OP_CAT, "cat", 1},           {MF_OP_FLIP, "flip", 1},
        {MF_OP_SORT, "sort", 1},         {MF_OP_UNIQUE_CONSECUTIVE, "unique_consecutive", 0},
        {MF_OP_GATHER, "gather", 1},     {MF_OP_SCATTER_ADD, "scatter_add", 1},
        {MF_OP_MASKED_SELECT, "masked_select", 1},
        {MF_OP_NONZERO, "nonzero", 0},   {MF_OP_BINCOUNT, "bincount", 0},
        {MF_OP_HISTC, "histc", 0},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        const mf_op *op = mf_op_get(ops[i].id);
        CHECK(op != NULL);
        if (!op) continue;
        CHECK_STR(op->name, ops[i].name);
        CHECK_INT((op->flags & MF_OPF_DIFF) != 0, ops[i].diff);
        CHECK(!(op->flags & MF_OPF_VIEW));
    }
    CHECK_INT(mf_op_get(MF_OP_CAT)->n_in, MF_OP_VARIADIC);
    CHECK_INT(mf_op_get(MF_OP_SORT)->n_out, 2);
    CHECK_INT(mf_op_get(MF_OP_UNIQUE_CONSECUTIVE)->n_out, 3);
}

/* ---------------------------------------------------------------- cat, stack */
CTEST(cat_values_dtypes_and_skips)
{
    mf_tensor *a = grid(MF_FLOAT32, 2, 3), *b = grid(MF_INT64, 2, 2), *bt = NULL, *e = NULL,
              *r = NULL, *r2 = NULL;
    CHECK_OK(mf_tensor_transpose(&bt, b, 0, 1)); /* non-contiguous [2x2]: bt[i][j] = 2j + i */
    CHECK_OK(mf_tensor_zeros(&e, MF_FLOAT64, 1, (int64_t[]){0}));
    mf_tensor *ins[3] = {a, e, bt};
    CHECK_OK(mf_tensor_cat(&r, 3, ins, -1));
    CHECK(same_shape(r, 2, (int64_t[]){2, 5}));
    CHECK_INT(r->dtype, MF_FLOAT64); /* the skipped [0] still promotes */
    for (int64_t i = 0; i < 2; i++)
        for (int64_t j = 0; j < 5; j++)
            CHECK_NEAR(at(r, (int64_t[]){i, j}), j < 3 ? 3 * i + j : 2 * (j - 3) + i, 0);
    mf_tensor *ins2[2] = {a, a};
    CHECK_OK(mf_tensor_cat(&r2, 2, ins2, 0));
    CHECK(same_shape(r2, 2, (int64_t[]){4, 3}));
    CHECK_INT(r2->dtype, MF_FLOAT32);
    CHECK_NEAR(at(r2, (int64_t[]){3, 2}), 5, 0);
    release((mf_tensor *[]){a, b, bt, e, r, r2}, 6);
}

CTEST(cat_errors)
{
    mf_tensor *a = grid(MF_FLOAT32, 2, 3), *b = grid(MF_FLOAT32, 3, 3), *s = NULL, *out = NULL;
    CHECK_OK(mf_tensor_full(&s, MF_FLOAT32, 0, NULL, 1));
    mf_tensor *ab[2] = {a, b}, *as[2] = {a, s};
    CHECK_ERR(mf_tensor_cat(&out, 2, ab, 1), MF_EINVAL, 1);
    CHECK(strstr(mf_error_get()->msg, "tensor 1 is [2x3], tensor 2 is [3x3]") != NULL);
    CHECK_OK(mf_tensor_cat(&out, 2, ab, 0)); /* fine along dim 0 */
    mf_tensor_release(out);
    CHECK_ERR(mf_tensor_cat(&out, 2, as, 0), MF_EINVAL, 1);
    CHECK(strstr(mf_error_get()->msg, "0-D") != NULL);
    CHECK_ERR(mf_tensor_cat(&out, 2, ab, 2), MF_ERANGE, 2);
    CHECK_ERR(mf_tensor_cat(&out, 0, ab, 0), MF_EINVAL, 1);
    CHECK(out == NULL);
    release((mf_tensor *[]){a, b, s}, 3);
}

CTEST(stack_new_dim)
{
    mf_tensor *a = grid(MF_FLOAT32, 2, 3), *b = NULL, *r = NULL, *bad = NULL, *c = grid(MF_FLOAT32, 3, 2);
    CHECK_OK(mf_tensor_full(&b, MF_INT64, 2, (int64_t[]){2, 3}, 7));
    mf_tensor *ab[2] = {a, b}, *ac[2] = {a, c};
    CHECK_OK(mf_tensor_stack(&r, 2, ab, -1)); /* [2x3x2] */
    CHECK(same_shape(r, 3, (int64_t[]){2, 3, 2}));
    CHECK_INT(r->dtype, MF_FLOAT32);
    for (int64_t i = 0; i < 2; i++)
        for (int64_t j = 0; j < 3; j++) {
            CHECK_NEAR(at(r, (int64_t[]){i, j, 0}), 3 * i + j, 0);
            CHECK_NEAR(at(r, (int64_t[]){i, j, 1}), 7, 0);
        }
    CHECK_ERR(mf_tensor_stack(&bad, 2, ac, 0), MF_EINVAL, 1);
    CHECK_ERR(mf_tensor_stack(&bad, 2, ab, 4), MF_ERANGE, 2);
    release((mf_tensor *[]){a, b, c, r}, 4);
}

/* ---------------------------------------------------------------- split, chunk */
CTEST(split_and_chunk_sizes)
{
    int64_t n = -1, s[8];
    CHECK_OK(mf_split_sizes(10, 3, &n, s, 8));
    CHECK_INT(n, 4);
    CHECK(s[0] == 3 && s[1] == 3 && s[2] == 3 && s[3] == 1);
    CHECK_OK(mf_split_sizes(0, 3, &n, s, 8));
    CHECK(n == 1 && s[0] == 0);
    CHECK_OK(mf_split_sizes(0, 0, &n, s, 8));
    CHECK_INT(n, 1);
    CHECK_OK(mf_split_sizes(4, 9, &n, s, 8));
    CHECK(n == 1 && s[0] == 4);
    CHECK_ERR(mf_split_sizes(4, 0, &n, s, 8), MF_EINVAL, 2);
    CHECK_ERR(mf_split_sizes(4, -1, &n, s, 8), MF_EINVAL, 2);
    /* PyTorch's chunk: pieces of ceil(size / chunks), so maybe fewer of them */
    CHECK_OK(mf_chunk_sizes(10, 4, &n, s, 8));
    CHECK(n == 4 && s[0] == 3 && s[3] == 1);
    CHECK_OK(mf_chunk_sizes(5, 4, &n, s, 8));
    CHECK(n == 3 && s[0] == 2 && s[1] == 2 && s[2] == 1);
    CHECK_OK(mf_chunk_sizes(6, 4, &n, s, 8));
    CHECK(n == 3 && s[2] == 2);
    CHECK_OK(mf_chunk_sizes(0, 3, &n, s, 8));
    CHECK(n == 3 && s[0] == 0 && s[2] == 0);
    CHECK_OK(mf_chunk_sizes(2, 5, &n, NULL, 0));
    CHECK_INT(n, 2);
    CHECK_ERR(mf_chunk_sizes(4, 0, &n, s, 8), MF_EINVAL, 2);
}

CTEST(split_views)
{
    mf_tensor *t = grid(MF_FLOAT64, 3, 4), *tt = NULL, *p[3] = {NULL, NULL, NULL};
    CHECK_OK(mf_tensor_transpose(&tt, t, 0, 1)); /* [4x3] */
    CHECK_OK(mf_tensor_split_with_sizes(p, tt, 3, (int64_t[]){1, 0, 3}, 0));
    CHECK(same_shape(p[0], 2, (int64_t[]){1, 3}));
    CHECK(same_shape(p[1], 2, (int64_t[]){0, 3}));
    CHECK(same_shape(p[2], 2, (int64_t[]){3, 3}));
    CHECK(mf_tensor_same_storage(p[2], t));
    CHECK_NEAR(at(p[2], (int64_t[]){2, 1}), 7, 0); /* tt[3][1] = t[1][3] */
    release(p, 3);
    mf_tensor *q[2] = {NULL, NULL};
    CHECK_ERR(mf_tensor_split_with_sizes(q, tt, 2, (int64_t[]){1, 2}, 0), MF_EINVAL, 2);
    CHECK(strstr(mf_error_get()->msg, "add up to 3, but the dim has size 4") != NULL);
    CHECK_ERR(mf_tensor_split_with_sizes(q, tt, 2, (int64_t[]){5, -1}, 0), MF_EINVAL, 2);
    CHECK_ERR(mf_tensor_split_with_sizes(q, tt, 2, (int64_t[]){2, 2}, 2), MF_ERANGE, 3);
    /* a failure in the middle leaves no view behind (the leak check sees it) */
    mf_mem_fail_after(2);
    CHECK_ERR(mf_tensor_split_with_sizes(q, tt, 2, (int64_t[]){2, 2}, 0), MF_ENOMEM, 0);
    mf_mem_fail_after(0);
    CHECK(q[0] == NULL);
    release((mf_tensor *[]){t, tt}, 2);
}

/* ---------------------------------------------------------------- repeat, tile, flip */
CTEST(repeat_and_tile)
{
    mf_tensor *t = grid(MF_INT64, 2, 3), *tt = NULL, *r = NULL, *z = NULL, *one = NULL, *bad = NULL;
    CHECK_OK(mf_tensor_transpose(&tt, t, 0, 1)); /* [3x2]: tt[i][j] = 3j + i */
    CHECK_OK(mf_tensor_repeat(&r, tt, 3, (int64_t[]){2, 1, 3})); /* [2x3x6] */
    CHECK(same_shape(r, 3, (int64_t[]){2, 3, 6}));
    int ok = 1;
    for (int64_t a = 0; a < 2; a++)
        for (int64_t i = 0; i < 3; i++)
            for (int64_t j = 0; j < 6; j++) ok &= at_i(r, (int64_t[]){a, i, j}) == 3 * (j % 2) + i;
    CHECK(ok);
    CHECK_OK(mf_tensor_repeat(&z, t, 2, (int64_t[]){0, 2}));
    CHECK(same_shape(z, 2, (int64_t[]){0, 6}));
    CHECK_OK(mf_tensor_repeat(&one, t, 2, (int64_t[]){1, 1})); /* still a copy */
    CHECK(!mf_tensor_same_storage(one, t));
    CHECK_INT(at_i(one, (int64_t[]){1, 2}), 5);
    CHECK_ERR(mf_tensor_repeat(&bad, t, 1, (int64_t[]){2}), MF_EINVAL, 2);
    CHECK_ERR(mf_tensor_repeat(&bad, t, 2, (int64_t[]){2, -1}), MF_EINVAL, 2);
    mf_tensor_release(r);
    CHECK_OK(mf_tensor_tile(&r, t, 1, (int64_t[]){2})); /* reps padded: (1, 2) */
    CHECK(same_shape(r, 2, (int64_t[]){2, 6}));
    CHECK_INT(at_i(r, (int64_t[]){1, 4}), 4);
    release((mf_tensor *[]){t, tt, r, z, one}, 5);
}

CTEST(flip_dims)
{
    mf_tensor *t = NULL, *c = NULL, *f = NULL, *ft = NULL, *tt = NULL, *bad = NULL;
    CHECK_OK(mf_tensor_arange(&c, MF_FLOAT32, 0, 24, 1));
    CHECK_OK(mf_tensor_view_as(&t, c, 3, (int64_t[]){2, 3, 4}));
    CHECK_OK(mf_tensor_flip(&f, t, 2, (int64_t[]){0, -1}));
    int ok = 1;
    for (int64_t i = 0; i < 2; i++)
        for (int64_t j = 0; j < 3; j++)
            for (int64_t k = 0; k < 4; k++)
                ok &= at(f, (int64_t[]){i, j, k}) == 12 * (1 - i) + 4 * j + (3 - k);
    CHECK(ok);
    CHECK(mf_tensor_is_contiguous(f) && !mf_tensor_same_storage(f, t));
    CHECK_OK(mf_tensor_transpose(&tt, t, 1, 2)); /* [2x4x3] */
    CHECK_OK(mf_tensor_flip(&ft, tt, 1, (int64_t[]){1}));
    CHECK_NEAR(at(ft, (int64_t[]){1, 0, 2}), 12 + 4 * 2 + 3, 0);
    CHECK_ERR(mf_tensor_flip(&bad, t, 2, (int64_t[]){1, -2}), MF_EINVAL, 2);
    CHECK_ERR(mf_tensor_flip(&bad, t, 1, (int64_t[]){3}), MF_ERANGE, 2);
    release((mf_tensor *[]){t, c, f, ft, tt}, 5);
}

/* ---------------------------------------------------------------- sort */
/* Reference order: a < b as the sort defines it (NaN largest, -0 == 0). */
static int less(double a, double b)
{
    if (isnan(a)) return 0;
    if (isnan(b)) return 1;
    return a < b;
}

/* Checks that (v, ix) is the stable sort of the 1-D x, against a stable
 * insertion sort done here. */
static int check_sorted(const mf_tensor *x, const mf_tensor *v, const mf_tensor *ix, int desc)
{
    int64_t n = x->shape[0];
    int64_t *ref = mf_malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    double *val = mf_malloc(sizeof(double) * (size_t)(n ? n : 1));
    if (!ref || !val) return 0;
    for (int64_t i = 0; i < n; i++) {
        val[i] = at1(x, i);
        int64_t j = i;
        for (; j > 0 && (desc ? less(val[ref[j - 1]], val[i]) : less(val[i], val[ref[j - 1]])); j--)
            ref[j] = ref[j - 1];
        ref[j] = i;
    }
    int ok = 1;
    for (int64_t i = 0; i < n && ok; i++) {
        ok = at1_i(ix, i) == ref[i];
        double a = at1(v, i), b = val[ref[i]];
        ok = ok && (a == b || (isnan(a) && isnan(b)));
    }
    mf_free(ref);
    mf_free(val);
    return ok;
}

CTEST(sort_ties_nan_and_signed_zero)
{
    double xs[] = {3, 1, NAN, 2, 1, -0.0, 0, NAN, -INFINITY, INFINITY, 1};
    mf_tensor *x = make(MF_FLOAT32, 1, (int64_t[]){11}, xs), *v = NULL, *ix = NULL;
    CHECK_OK(mf_tensor_sort(&v, &ix, x, 0, 0));
    static const int64_t asc[] = {8, 5, 6, 1, 4, 10, 3, 0, 9, 2, 7};
    for (int64_t i = 0; i < 11; i++) CHECK_INT(at1_i(ix, i), asc[i]);
    CHECK(signbit(at1(v, 1)) && !signbit(at1(v, 2))); /* -0.0 kept, before 0.0 (its order) */
    CHECK(isnan(at1(v, 10)));
    mf_tensor_release(v);
    mf_tensor_release(ix);
    CHECK_OK(mf_tensor_sort(&v, &ix, x, -1, 1));
    static const int64_t desc[] = {2, 7, 9, 0, 3, 1, 4, 10, 5, 6, 8}; /* NaN first, ties in order */
    for (int64_t i = 0; i < 11; i++) CHECK_INT(at1_i(ix, i), desc[i]);
    release((mf_tensor *[]){x, v, ix}, 3);
}

CTEST(sort_int64_exact_and_bool)
{
    int64_t big = (int64_t)1 << 62;
    mf_tensor *x = make_i64(1, (int64_t[]){5}, (int64_t[]){big + 1, big, -big, INT64_MIN, INT64_MAX});
    mf_tensor *v = NULL, *ix = NULL;
    CHECK_OK(mf_tensor_sort(&v, &ix, x, 0, 0));
    CHECK(at1_i(v, 0) == INT64_MIN && at1_i(v, 2) == big && at1_i(v, 3) == big + 1 &&
          at1_i(v, 4) == INT64_MAX);
    release((mf_tensor *[]){x, v, ix}, 3);
    double bs[] = {1, 0, 1, 0};
    mf_tensor *b = make(MF_BOOL, 1, (int64_t[]){4}, bs);
    CHECK_OK(mf_tensor_sort(&v, &ix, b, 0, 1));
    CHECK(at1_i(ix, 0) == 0 && at1_i(ix, 1) == 2 && at1_i(ix, 2) == 1 && at1_i(ix, 3) == 3);
    CHECK_INT(v->dtype, MF_BOOL);
    release((mf_tensor *[]){b, v, ix}, 3);
}

/* Rows long enough for the merge sort (300) and the radix sort (5000), with
 * many ties, both directions, every dtype */
CTEST(sort_long_rows_all_paths)
{
    static const int64_t sizes[] = {7, 33, 300, 5000};
    static const mf_dtype dts[] = {MF_FLOAT32, MF_FLOAT64, MF_INT64};
    uint64_t s = 12345;
    for (size_t k = 0; k < 4; k++)
        for (size_t di = 0; di < 3; di++) {
            int64_t n = sizes[k];
            mf_tensor *x = NULL;
            CHECK_OK(mf_tensor_new(&x, dts[di], 1, &n));
            for (int64_t i = 0; i < n; i++) {
                s = s * 6364136223846793005u + 1442695040888963407u;
                double v = (double)(int64_t)((s >> 33) % 41) - 20; /* ties */
                if (dts[di] != MF_INT64 && (s >> 20) % 97 == 0) v = NAN;
                if (dts[di] != MF_INT64) v += (double)((s >> 40) % 3) * 0.25;
                mf_store(dts[di], x->base, i, v);
            }
            for (int desc = 0; desc < 2; desc++) {
                mf_tensor *v = NULL, *ix = NULL;
                CHECK_OK(mf_tensor_sort(&v, &ix, x, 0, desc));
                if (!check_sorted(x, v, ix, desc))
                    CTEST_FAIL_("sort of %lld %s (desc %d) differs from the reference", (long long)n,
                                mf_dtype_name(dts[di]), desc);
                release((mf_tensor *[]){v, ix}, 2);
            }
            mf_tensor_release(x);
        }
}

CTEST(sort_along_dims_and_strides)
{
    mf_tensor *g = grid(MF_FLOAT64, 4, 5), *t = NULL, *v = NULL, *ix = NULL;
    /* t[i][j] = (7 * (5i + j)) mod 11, transposed to [5x4] */
    for (int64_t i = 0; i < 20; i++) ((double *)g->base)[i] = (double)((7 * i) % 11);
    CHECK_OK(mf_tensor_transpose(&t, g, 0, 1));
    for (int dim = 0; dim < 2; dim++) {
        CHECK_OK(mf_tensor_sort(&v, &ix, t, dim, 0));
        CHECK(same_shape(v, 2, (int64_t[]){5, 4}) && ix->dtype == MF_INT64);
        int ok = 1;
        for (int64_t r = 0; r < (dim ? 5 : 4); r++) {
            mf_tensor *xr = NULL, *vr = NULL, *ir = NULL;
            mf_tensor_select(&xr, t, 1 - dim, r);
            mf_tensor_select(&vr, v, 1 - dim, r);
            mf_tensor_select(&ir, ix, 1 - dim, r);
            ok &= check_sorted(xr, vr, ir, 0);
            release((mf_tensor *[]){xr, vr, ir}, 3);
        }
        CHECK(ok);
        release((mf_tensor *[]){v, ix}, 2);
    }
    mf_tensor *bad = NULL;
    CHECK_ERR(mf_tensor_sort(&bad, NULL, t, 2, 0), MF_ERANGE, 2);
    /* a scalar sorts as one element; empty tensors give empty results */
    mf_tensor *s = NULL, *e = NULL;
    CHECK_OK(mf_tensor_full(&s, MF_FLOAT32, 0, NULL, 4));
    CHECK_OK(mf_tensor_sort(&v, &ix, s, -1, 0));
    CHECK(v->ndim == 0 && at(v, NULL) == 4 && at_i(ix, NULL) == 0);
    release((mf_tensor *[]){v, ix}, 2);
    CHECK_OK(mf_tensor_zeros(&e, MF_FLOAT32, 2, (int64_t[]){3, 0}));
    CHECK_OK(mf_tensor_sort(&v, &ix, e, 1, 0));
    CHECK(same_shape(ix, 2, (int64_t[]){3, 0}));
    release((mf_tensor *[]){v, ix, s, e, g, t}, 6);
}

CTEST(argsort_and_topk)
{
    double xs[] = {5, 1, 4, 4, 9, 0};
    mf_tensor *x = make(MF_FLOAT32, 1, (int64_t[]){6}, xs), *ix = NULL, *v = NULL, *bad = NULL;
    CHECK_OK(mf_tensor_argsort(&ix, x, 0, 1));
    CHECK(at1_i(ix, 0) == 4 && at1_i(ix, 1) == 0 && at1_i(ix, 2) == 2 && at1_i(ix, 3) == 3);
    mf_tensor_release(ix);
    CHECK_OK(mf_tensor_topk(&v, &ix, x, 3, 0, 1));
    CHECK(same_shape(v, 1, (int64_t[]){3}) && mf_tensor_is_contiguous(v));
    CHECK(at1(v, 0) == 9 && at1(v, 1) == 5 && at1(v, 2) == 4 && at1_i(ix, 2) == 2);
    release((mf_tensor *[]){v, ix}, 2);
    CHECK_OK(mf_tensor_topk(&v, &ix, x, 2, -1, 0));
    CHECK(at1(v, 0) == 0 && at1(v, 1) == 1 && at1_i(ix, 0) == 5);
    release((mf_tensor *[]){v, ix}, 2);
    CHECK_OK(mf_tensor_topk(&v, NULL, x, 0, 0, 1));
    CHECK(same_shape(v, 1, (int64_t[]){0}));
    mf_tensor_release(v);
    CHECK_ERR(mf_tensor_topk(&bad, &ix, x, 7, 0, 1), MF_ERANGE, 2);
    CHECK_ERR(mf_tensor_topk(&bad, &ix, x, 1, 1, 1), MF_ERANGE, 3);
    mf_tensor_release(x);
}

/* ---------------------------------------------------------------- unique */
CTEST(unique_inverse_counts)
{
    mf_tensor *x = make_i64(2, (int64_t[]){2, 3}, (int64_t[]){3, -1, 3, 7, -1, 3});
    mf_tensor *v = NULL, *inv = NULL, *cnt = NULL;
    CHECK_OK(mf_tensor_unique(&v, &inv, &cnt, x));
    CHECK(same_shape(v, 1, (int64_t[]){3}) && same_shape(inv, 2, (int64_t[]){2, 3}));
    CHECK(at1_i(v, 0) == -1 && at1_i(v, 1) == 3 && at1_i(v, 2) == 7);
    CHECK(at1_i(cnt, 0) == 2 && at1_i(cnt, 1) == 3 && at1_i(cnt, 2) == 1);
    int ok = 1; /* values[inverse] gives the input back */
    for (int64_t i = 0; i < 2; i++)
        for (int64_t j = 0; j < 3; j++)
            ok &= at1_i(v, at_i(inv, (int64_t[]){i, j})) == at_i(x, (int64_t[]){i, j});
    CHECK(ok);
    release((mf_tensor *[]){v, inv, cnt}, 3);
    CHECK_OK(mf_tensor_unique(&v, NULL, NULL, x));
    CHECK_INT(v->shape[0], 3);
    mf_tensor_release(v);
    /* NaNs are all distinct; -0.0 and 0.0 are one value */
    double fs[] = {NAN, 1, -0.0, NAN, 0, 1};
    mf_tensor *f = make(MF_FLOAT64, 1, (int64_t[]){6}, fs);
    CHECK_OK(mf_tensor_unique(&v, NULL, &cnt, f));
    CHECK(same_shape(v, 1, (int64_t[]){4}));
    CHECK(at1(v, 0) == 0 && at1(v, 1) == 1 && isnan(at1(v, 2)) && isnan(at1(v, 3)));
    CHECK(at1_i(cnt, 0) == 2 && at1_i(cnt, 2) == 1);
    release((mf_tensor *[]){v, cnt, f, x}, 4);
}

CTEST(unique_consecutive_runs)
{
    mf_tensor *x = make_i64(1, (int64_t[]){7}, (int64_t[]){1, 1, 2, 2, 3, 1, 1}), *v = NULL,
              *inv = NULL, *cnt = NULL, *e = NULL;
    CHECK_OK(mf_tensor_unique_consecutive(&v, &inv, &cnt, x));
    static const int64_t vals[] = {1, 2, 3, 1}, cnts[] = {2, 2, 1, 2}, invs[] = {0, 0, 1, 1, 2, 3, 3};
    CHECK_INT(v->shape[0], 4);
    for (int64_t i = 0; i < 4; i++) CHECK(at1_i(v, i) == vals[i] && at1_i(cnt, i) == cnts[i]);
    for (int64_t i = 0; i < 7; i++) CHECK_INT(at1_i(inv, i), invs[i]);
    release((mf_tensor *[]){v, inv, cnt}, 3);
    CHECK_OK(mf_tensor_zeros(&e, MF_FLOAT32, 2, (int64_t[]){0, 4}));
    CHECK_OK(mf_tensor_unique(&v, &inv, &cnt, e));
    CHECK(same_shape(v, 1, (int64_t[]){0}) && same_shape(inv, 2, (int64_t[]){0, 4}));
    release((mf_tensor *[]){v, inv, cnt, e, x}, 5);
}

/* ---------------------------------------------------------------- gather, scatter_add */
CTEST(gather_dims)
{
    mf_tensor *t = grid(MF_FLOAT32, 3, 4), *r = NULL, *bad = NULL;
    mf_tensor *i0 = make_i64(2, (int64_t[]){2, 3}, (int64_t[]){2, 0, 1, 0, 0, 2});
    CHECK_OK(mf_tensor_gather(&r, t, 0, i0)); /* r[i][j] = t[i0[i][j]][j] */
    CHECK(same_shape(r, 2, (int64_t[]){2, 3}));
    int ok = 1;
    for (int64_t i = 0; i < 2; i++)
        for (int64_t j = 0; j < 3; j++) ok &= at(r, (int64_t[]){i, j}) == 4 * at_i(i0, (int64_t[]){i, j}) + j;
    CHECK(ok);
    mf_tensor_release(r);
    mf_tensor *tt = NULL;
    CHECK_OK(mf_tensor_transpose(&tt, t, 0, 1)); /* [4x3]: tt[i][j] = 4j + i */
    CHECK_OK(mf_tensor_gather(&r, tt, 1, i0));   /* r[i][j] = tt[i][i0[i][j]] */
    ok = 1;
    for (int64_t i = 0; i < 2; i++)
        for (int64_t j = 0; j < 3; j++) ok &= at(r, (int64_t[]){i, j}) == 4 * at_i(i0, (int64_t[]){i, j}) + i;
    CHECK(ok);
    mf_tensor_release(r);
    ((int64_t *)i0->base)[4] = 3;
    CHECK_ERR(mf_tensor_gather(&bad, t, 0, i0), MF_ERANGE, 3);
    CHECK(strstr(mf_error_get()->msg, "index 3 out of range for dim 0 of size 3") != NULL);
    mf_tensor *wide = make_i64(2, (int64_t[]){1, 5}, (int64_t[]){0, 0, 0, 0, 0}), *flat = NULL, *fi = NULL;
    CHECK_ERR(mf_tensor_gather(&bad, t, 0, wide), MF_EINVAL, 3);
    CHECK_OK(mf_tensor_view_as(&flat, wide, 1, (int64_t[]){5}));
    CHECK_ERR(mf_tensor_gather(&bad, t, 0, flat), MF_EINVAL, 3);
    CHECK_OK(mf_tensor_to(&fi, wide, MF_FLOAT32));
    CHECK_ERR(mf_tensor_gather(&bad, t, 1, fi), MF_EINVAL, 3);
    CHECK(bad == NULL);
    release((mf_tensor *[]){t, tt, i0, wide, flat, fi}, 6);
}

CTEST(scatter_add_accumulates)
{
    mf_tensor *t = NULL, *r = NULL, *bad = NULL;
    CHECK_OK(mf_tensor_full(&t, MF_INT64, 2, (int64_t[]){3, 2}, 10));
    mf_tensor *idx = make_i64(2, (int64_t[]){2, 2}, (int64_t[]){2, 0, 2, 2});
    double sv[] = {1, 2, 3, 4, 5, 6};
    mf_tensor *src = make(MF_FLOAT32, 2, (int64_t[]){3, 2}, sv); /* larger than idx: fine */
    CHECK_OK(mf_tensor_scatter_add(&r, t, 0, idx, src));
    CHECK_INT(r->dtype, MF_FLOAT32); /* int64 + float32 promotes */
    /* column 0: rows 2, 2 get 1 and 3; column 1: rows 0, 2 get 2 and 4 */
    double want[3][2] = {{10, 12}, {10, 10}, {14, 14}};
    int ok = 1;
    for (int64_t i = 0; i < 3; i++)
        for (int64_t j = 0; j < 2; j++) ok &= at(r, (int64_t[]){i, j}) == want[i][j];
    CHECK(ok);
    CHECK_NEAR(at(t, (int64_t[]){2, 0}), 10, 0); /* out of place */
    CHECK_ERR(mf_tensor_scatter_add_(t, 0, idx, src), MF_EINVAL, 4);
    CHECK(strstr(mf_error_get()->msg, "float32 src into a int64 tensor") != NULL);
    mf_tensor *isrc = NULL;
    CHECK_OK(mf_tensor_to(&isrc, src, MF_INT64));
    CHECK_OK(mf_tensor_scatter_add_(t, 0, idx, isrc));
    CHECK_INT(at_i(t, (int64_t[]){2, 0}), 14);
    CHECK_INT(at_i(t, (int64_t[]){0, 1}), 12);
    ((int64_t *)idx->base)[1] = -1;
    CHECK_ERR(mf_tensor_scatter_add(&bad, t, 0, idx, src), MF_ERANGE, 3);
    mf_tensor *small = make(MF_FLOAT32, 2, (int64_t[]){1, 2}, sv);
    CHECK_ERR(mf_tensor_scatter_add(&bad, t, 0, idx, small), MF_EINVAL, 4);
    CHECK(bad == NULL);
    release((mf_tensor *[]){t, r, idx, src, isrc, small}, 6);
}

/* ---------------------------------------------------------------- masks */
CTEST(masked_select_broadcast)
{
    mf_tensor *t = grid(MF_FLOAT64, 2, 3), *r = NULL, *bad = NULL;
    double mv[] = {1, 0, 1};
    mf_tensor *m = make(MF_BOOL, 1, (int64_t[]){3}, mv);
    CHECK_OK(mf_tensor_masked_select(&r, t, m));
    CHECK(same_shape(r, 1, (int64_t[]){4}));
    CHECK(at1(r, 0) == 0 && at1(r, 1) == 2 && at1(r, 2) == 3 && at1(r, 3) == 5);
    mf_tensor_release(r);
    /* the tensor is broadcast too: [3x1] mask with a [3] row */
    mf_tensor *m2 = make(MF_BOOL, 2, (int64_t[]){3, 1}, mv), *row = NULL;
    CHECK_OK(mf_tensor_select(&row, t, 0, 1)); /* {3, 4, 5} */
    CHECK_OK(mf_tensor_masked_select(&r, row, m2));
    CHECK(same_shape(r, 1, (int64_t[]){6}));
    CHECK(at1(r, 0) == 3 && at1(r, 3) == 3 && at1(r, 5) == 5);
    mf_tensor_release(r);
    mf_tensor *fm = NULL, *m4 = NULL;
    CHECK_OK(mf_tensor_to(&fm, m, MF_FLOAT32));
    CHECK_ERR(mf_tensor_masked_select(&bad, t, fm), MF_EINVAL, 2);
    CHECK_OK(mf_tensor_zeros(&m4, MF_BOOL, 1, (int64_t[]){4}));
    CHECK_ERR(mf_tensor_masked_select(&bad, t, m4), MF_EINVAL, 2);
    release((mf_tensor *[]){t, m, m2, row, fm, m4}, 6);
}

CTEST(nonzero_positions)
{
    double v[] = {0, 1, 0, NAN, 0, -2};
    mf_tensor *t = make(MF_FLOAT32, 2, (int64_t[]){2, 3}, v), *tt = NULL, *r = NULL, *s = NULL;
    CHECK_OK(mf_tensor_nonzero(&r, t));
    CHECK(same_shape(r, 2, (int64_t[]){3, 2}));
    static const int64_t want[3][2] = {{0, 1}, {1, 0}, {1, 2}};
    for (int64_t i = 0; i < 3; i++)
        for (int64_t j = 0; j < 2; j++) CHECK_INT(at_i(r, (int64_t[]){i, j}), want[i][j]);
    mf_tensor_release(r);
    CHECK_OK(mf_tensor_transpose(&tt, t, 0, 1)); /* row-major order of the transpose */
    CHECK_OK(mf_tensor_nonzero(&r, tt));
    CHECK(at_i(r, (int64_t[]){0, 0}) == 0 && at_i(r, (int64_t[]){0, 1}) == 1);
    CHECK(at_i(r, (int64_t[]){1, 0}) == 1 && at_i(r, (int64_t[]){1, 1}) == 0);
    mf_tensor_release(r);
    CHECK_OK(mf_tensor_full(&s, MF_INT64, 0, NULL, 3));
    CHECK_OK(mf_tensor_nonzero(&r, s));
    CHECK(same_shape(r, 2, (int64_t[]){1, 0}));
    release((mf_tensor *[]){t, tt, r, s}, 4);
}

CTEST(index_by_mask)
{
    mf_tensor *t = grid(MF_INT64, 3, 4), *r = NULL, *bad = NULL;
    double mv[] = {1, 0, 0, 1};
    mf_tensor *m = make(MF_BOOL, 1, (int64_t[]){4}, mv), *m3 = NULL;
    CHECK_OK(mf_tensor_index_mask(&r, t, 1, m));
    CHECK(same_shape(r, 2, (int64_t[]){3, 2}));
    CHECK(at_i(r, (int64_t[]){2, 0}) == 8 && at_i(r, (int64_t[]){2, 1}) == 11);
    CHECK_ERR(mf_tensor_index_mask(&bad, t, 0, m), MF_EINVAL, 3);
    CHECK_OK(mf_tensor_zeros(&m3, MF_BOOL, 1, (int64_t[]){3}));
    mf_tensor_release(r);
    CHECK_OK(mf_tensor_index_mask(&r, t, 0, m3)); /* nothing selected */
    CHECK(same_shape(r, 2, (int64_t[]){0, 4}));
    release((mf_tensor *[]){t, r, m, m3}, 4);
}

/* ---------------------------------------------------------------- counting */
CTEST(one_hot_labels)
{
    mf_tensor *l = make_i64(2, (int64_t[]){2, 2}, (int64_t[]){0, 2, 1, 2}), *r = NULL, *bad = NULL;
    CHECK_OK(mf_tensor_one_hot(&r, l, -1));
    CHECK(same_shape(r, 3, (int64_t[]){2, 2, 3}) && r->dtype == MF_INT64);
    int ok = 1;
    for (int64_t i = 0; i < 2; i++)
        for (int64_t j = 0; j < 2; j++)
            for (int64_t c = 0; c < 3; c++)
                ok &= at_i(r, (int64_t[]){i, j, c}) == (c == at_i(l, (int64_t[]){i, j}));
    CHECK(ok);
    mf_tensor_release(r);
    CHECK_OK(mf_tensor_one_hot(&r, l, 5));
    CHECK_INT(r->shape[2], 5);
    CHECK_ERR(mf_tensor_one_hot(&bad, l, 2), MF_ERANGE, 1);
    CHECK(strstr(mf_error_get()->msg, "label 2 out of range for 2 classes") != NULL);
    ((int64_t *)l->base)[0] = -1;
    CHECK_ERR(mf_tensor_one_hot(&bad, l, 3), MF_ERANGE, 1);
    mf_tensor *e = NULL;
    CHECK_OK(mf_tensor_zeros(&e, MF_INT64, 1, (int64_t[]){0}));
    CHECK_ERR(mf_tensor_one_hot(&bad, e, -1), MF_EINVAL, 2);
    release((mf_tensor *[]){l, r, e}, 3);
}

CTEST(bincount_counts_and_weights)
{
    mf_tensor *x = make_i64(1, (int64_t[]){5}, (int64_t[]){1, 3, 1, 0, 1}), *r = NULL, *bad = NULL;
    CHECK_OK(mf_tensor_bincount(&r, x, NULL, 0));
    CHECK(same_shape(r, 1, (int64_t[]){4}) && r->dtype == MF_INT64);
    CHECK(at1_i(r, 0) == 1 && at1_i(r, 1) == 3 && at1_i(r, 2) == 0 && at1_i(r, 3) == 1);
    mf_tensor_release(r);
    CHECK_OK(mf_tensor_bincount(&r, x, NULL, 6));
    CHECK_INT(r->shape[0], 6);
    mf_tensor_release(r);
    double wv[] = {0.5, 2, 0.25, 1, 1};
    mf_tensor *w32 = make(MF_FLOAT32, 1, (int64_t[]){5}, wv), *wi = NULL;
    CHECK_OK(mf_tensor_bincount(&r, x, w32, 0));
    CHECK_INT(r->dtype, MF_FLOAT32);
    CHECK(at1(r, 1) == 1.75 && at1(r, 3) == 2 && at1(r, 0) == 1);
    mf_tensor_release(r);
    CHECK_OK(mf_tensor_to(&wi, w32, MF_INT64));
    CHECK_OK(mf_tensor_bincount(&r, x, wi, 0));
    CHECK_INT(r->dtype, MF_FLOAT64); /* as PyTorch: non-float32 weights give float64 */
    CHECK_NEAR(at1(r, 3), 2, 0);
    ((int64_t *)x->base)[2] = -4;
    CHECK_ERR(mf_tensor_bincount(&bad, x, NULL, 0), MF_EINVAL, 1);
    CHECK(strstr(mf_error_get()->msg, "-4") != NULL);
    mf_tensor *w2 = make(MF_FLOAT32, 1, (int64_t[]){2}, wv);
    CHECK_ERR(mf_tensor_bincount(&bad, x, w2, 0), MF_EINVAL, 2);
    CHECK_ERR(mf_tensor_bincount(&bad, x, NULL, -1), MF_EINVAL, 3);
    CHECK_ERR(mf_tensor_bincount(&bad, w32, NULL, 0), MF_EINVAL, 1);
    release((mf_tensor *[]){x, r, w32, wi, w2}, 5);
}

CTEST(histc_bins)
{
    double v[] = {1, 2, 1, 4, NAN, -3, 4};
    mf_tensor *t = make(MF_FLOAT64, 1, (int64_t[]){7}, v), *r = NULL, *bad = NULL;
    CHECK_OK(mf_tensor_histc(&r, t, 4, 0, 4)); /* bins [0,1) [1,2) [2,3) [3,4] */
    CHECK(same_shape(r, 1, (int64_t[]){4}) && r->dtype == MF_FLOAT64);
    CHECK(at1(r, 0) == 0 && at1(r, 1) == 2 && at1(r, 2) == 1 && at1(r, 3) == 2);
    mf_tensor_release(r);
    CHECK_OK(mf_tensor_histc(&r, t, 7, 0, 0)); /* data range [-3, 4]: width 1 */
    CHECK(at1(r, 0) == 1 && at1(r, 4) == 2 && at1(r, 5) == 1 && at1(r, 6) == 2);
    mf_tensor_release(r);
    mf_tensor *c = NULL, *ci = NULL;
    CHECK_OK(mf_tensor_full(&c, MF_INT64, 1, (int64_t[]){3}, 5));
    CHECK_OK(mf_tensor_histc(&r, c, 4, 0, 0)); /* one value: range [4, 6] */
    CHECK_INT(r->dtype, MF_FLOAT32);
    CHECK(at1(r, 2) == 3 && at1(r, 1) == 0);
    CHECK_ERR(mf_tensor_histc(&bad, t, 0, 0, 0), MF_EINVAL, 2);
    CHECK_ERR(mf_tensor_histc(&bad, t, 3, 2, 1), MF_EINVAL, 4);
    CHECK_ERR(mf_tensor_histc(&bad, t, 3, 0, INFINITY), MF_EINVAL, 3);
    CHECK_OK(mf_tensor_zeros(&ci, MF_FLOAT32, 1, (int64_t[]){0}));
    mf_tensor_release(r);
    CHECK_OK(mf_tensor_histc(&r, ci, 2, 0, 0));
    CHECK(at1(r, 0) == 0 && at1(r, 1) == 0);
    release((mf_tensor *[]){t, r, c, ci}, 4);
}

/* ---------------------------------------------------------------- allocation failures */
/* Every op fails cleanly (MF_ENOMEM, nothing leaked: the harness checks)
 * whichever of its allocations fails. */
CTEST(allocation_failures_release_everything)
{
    mf_tensor *t = grid(MF_FLOAT32, 6, 700), *ix = make_i64(2, (int64_t[]){1, 2}, (int64_t[]){1, 0});
    mf_tensor *lab = make_i64(1, (int64_t[]){3}, (int64_t[]){0, 2, 1});
    double mv[] = {1, 0, 1, 1, 0, 0};
    mf_tensor *m = make(MF_BOOL, 2, (int64_t[]){6, 1}, mv), *m1 = NULL;
    CHECK_OK(mf_tensor_view_as(&m1, m, 1, (int64_t[]){6}));
    for (int op = 0; op < 9; op++) {
        int done = 0;
        for (long k = 1; k < 64 && !done; k++) {
            mf_tensor *a = NULL, *b = NULL, *c = NULL;
            mf_tensor *two[2] = {t, t};
            mf_mem_fail_after(k);
            mf_status st;
            switch (op) {
            case 0: st = mf_tensor_sort(&a, &b, t, 1, 0); break;
            case 1: st = mf_tensor_unique(&a, &b, &c, t); break;
            case 2: st = mf_tensor_topk(&a, &b, t, 3, 1, 1); break;
            case 3: st = mf_tensor_stack(&a, 2, two, 1); break;
            case 4: st = mf_tensor_repeat(&a, t, 3, (int64_t[]){2, 1, 2}); break;
            case 5: st = mf_tensor_one_hot(&a, lab, -1); break;
            case 6: st = mf_tensor_index_mask(&a, t, 0, m1); break;
            case 7: st = mf_tensor_scatter_add(&a, t, 0, ix, t); break;
            default: st = mf_tensor_masked_select(&a, t, m); break;
            }
            mf_mem_fail_after(0);
            if (st == MF_OK) done = 1;
            else if (st != MF_ENOMEM)
                CTEST_FAIL_("op %d, allocation %ld: status %d (%s)", op, k, (int)st,
                            mf_error_get()->msg);
            release((mf_tensor *[]){a, b, c}, 3);
        }
        if (!done) CTEST_FAIL_("op %d never succeeded", op);
    }
    release((mf_tensor *[]){t, ix, lab, m, m1}, 5);
}

const ctest_case ctest_select[] = {
    CTEST_ENTRY(records_and_flags),
    CTEST_ENTRY(cat_values_dtypes_and_skips),
    CTEST_ENTRY(cat_errors),
    CTEST_ENTRY(stack_new_dim),
    CTEST_ENTRY(split_and_chunk_sizes),
    CTEST_ENTRY(split_views),
    CTEST_ENTRY(repeat_and_tile),
    CTEST_ENTRY(flip_dims),
    CTEST_ENTRY(sort_ties_nan_and_signed_zero),
    CTEST_ENTRY(sort_int64_exact_and_bool),
    CTEST_ENTRY(sort_long_rows_all_paths),
    CTEST_ENTRY(sort_along_dims_and_strides),
    CTEST_ENTRY(argsort_and_topk),
    CTEST_ENTRY(unique_inverse_counts),
    CTEST_ENTRY(unique_consecutive_runs),
    CTEST_ENTRY(gather_dims),
    CTEST_ENTRY(scatter_add_accumulates),
    CTEST_ENTRY(masked_select_broadcast),
    CTEST_ENTRY(nonzero_positions),
    CTEST_ENTRY(index_by_mask),
    CTEST_ENTRY(one_hot_labels),
    CTEST_ENTRY(bincount_counts_and_weights),
    CTEST_ENTRY(histc_bins),
    CTEST_ENTRY(allocation_failures_release_everything),
    {NULL, NULL},
};
