/*
 * mf_op_linalg.c — matrix products and decompositions: the op records, their
 * kernels and the wrappers of mf_linalg.h.
 *
 * Products (matmul, addmm) hand every operand to BLAS in place when its two
 * matrix strides allow it (unit stride along rows: "no transpose", along
 * columns: "transpose"), so t() and narrow() views cost no copy; a batch is
 * one gemm per matrix, or a single gemm when the right operand is shared by
 * the whole batch and the left one's rows are evenly spaced (a linear layer
 * on (batch, seq, in) input). Other layouts are copied to contiguous first.
 *
 * Decompositions copy each matrix of the batch into a column-major buffer
 * (LAPACK's layout, so no transposition happens inside LAPACKE), call LAPACK
 * through mf_blas.h and store the results into the outputs, whatever their
 * strides. The caller's tensors are never modified.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mf_blas.h"
#include "mf_grad.h"
#include "mf_iter.h"
#include "mf_linalg.h"
#include "mf_op_impl.h"

/* ================================================================ helpers */

static mf_status need_float(const mf_tensor *t, int arg)
{
    if (mf_dtype_is_float(t->dtype)) return MF_OK;
    return mf_error_set(MF_EINVAL, arg,
                        "expected a float32 or float64 tensor, got %s "
                        "(convert with :float() or :double())",
                        mf_dtype_name(t->dtype));
}

/* t is a matrix or a batch of them (square ones when `square`), of sizes
 * LAPACK can take. */
static mf_status need_matrix(const mf_tensor *t, int arg, int square)
{
    char s[MF_SHAPE_STRLEN];
    if (t->ndim < 2)
        return mf_error_set(MF_EINVAL, arg, "expected a matrix (or a batch of them), got shape %s",
                            mf_shape_str(s, sizeof s, t->ndim, t->shape));
    int64_t r = t->shape[t->ndim - 2], c = t->shape[t->ndim - 1];
    if (square && r != c)
        return mf_error_set(MF_EINVAL, arg,
                            t->ndim == 2 ? "expected a square matrix, got %s"
                                         : "expected square matrices, got %s",
                            mf_shape_str(s, sizeof s, t->ndim, t->shape));
    if (!mf_blas_fits(r, c, r * c))
        return mf_error_set(MF_ERANGE, arg, "matrix %s too large for LAPACK",
                            mf_shape_str(s, sizeof s, t->ndim, t->shape));
    return MF_OK;
}

/* ---------------------------------------------------------------- batches */
/* The batch dims of an op: leading dims, broadcast between operands. */
typedef struct {
    int nb;
    int64_t shape[MF_MAX_DIMS];
    int64_t count;
} batch_t;

static void batch_of(batch_t *bt, const mf_tensor *t, int nb)
{
    bt->nb = nb;
    bt->count = 1;
    for (int d = 0; d < nb; d++) {
        bt->shape[d] = t->shape[d];
        bt->count *= t->shape[d];
    }
}

/* Broadcasts the first na dims of a with the first nb dims of b (aligned
 * on the right); the error names argument `arg`. */
static mf_status batch_broadcast(batch_t *bt, const mf_tensor *a, int na, const mf_tensor *b,
                                 int nb, int arg)
{
    int n = na > nb ? na : nb;
    bt->nb = n;
    bt->count = 1;
    for (int d = 0; d < n; d++) {
        int da = d - (n - na), db = d - (n - nb);
        int64_t sa = da >= 0 ? a->shape[da] : 1, sb = db >= 0 ? b->shape[db] : 1;
        if (sa != sb && sa != 1 && sb != 1) {
            char s1[MF_SHAPE_STRLEN], s2[MF_SHAPE_STRLEN];
            return mf_error_set(MF_EINVAL, arg,
                                "batch dims of %s and %s cannot be broadcast: %lld ~= %lld",
                                mf_shape_str(s1, sizeof s1, a->ndim, a->shape),
                                mf_shape_str(s2, sizeof s2, b->ndim, b->shape), (long long)sa,
                                (long long)sb);
        }
        bt->shape[d] = sa == 1 ? sb : sa;
        bt->count *= bt->shape[d];
    }
    return MF_OK;
}

/* Element offset (in t's storage) of matrix number b of the batch, for a
 * tensor whose first tnb dims are its batch dims, aligned on the right with
 * the batch; missing and size-1 dims are broadcast. */
static int64_t batch_off(const batch_t *bt, const mf_tensor *t, int tnb, int64_t b)
{
    int64_t off = t->offset;
    for (int d = bt->nb - 1; d >= 0; d--) {
        int64_t i = b % bt->shape[d];
        b /= bt->shape[d];
        int td = d - (bt->nb - tnb);
        if (td >= 0 && t->shape[td] != 1) off += i * t->stride[td];
    }
    return off;
}

/* " (batch element [2,1])" (1-based, as Lua users count), or "" without a
 * batch. */
static const char *batch_where(char *buf, size_t cap, const batch_t *bt, int64_t b)
{
    int64_t idx[MF_MAX_DIMS];
    if (bt->nb == 0) {
        buf[0] = '\0';
        return buf;
    }
    for (int d = bt->nb - 1; d >= 0; d--) {
        idx[d] = b % bt->shape[d] + 1;
        b /= bt->shape[d];
    }
    size_t n = (size_t)snprintf(buf, cap, " (batch element [");
    for (int d = 0; d < bt->nb && n < cap; d++)
        n += (size_t)snprintf(buf + n, cap - n, d ? ",%lld" : "%lld", (long long)idx[d]);
    if (n < cap) snprintf(buf + n, cap - n, "])");
    return buf;
}
#define WHERE_LEN (24 + MF_MAX_DIMS * 21)

/* ---------------------------------------------------------------- matrices */
/* A matrix inside a tensor: element (i, j) at storage offset off + i rs + j cs. */
typedef struct {
    const mf_tensor *t;
    int64_t off, rs, cs, rows, cols;
} mat;

/* Matrix b of the batch of t (whose last two dims are the matrix). */
static mat mat_at(const batch_t *bt, const mf_tensor *t, int64_t b)
{
    mat m = {t, batch_off(bt, t, t->ndim - 2, b), t->stride[t->ndim - 2],
             t->stride[t->ndim - 1], t->shape[t->ndim - 2], t->shape[t->ndim - 1]};
    return m;
}

/* Vector b of the batch of t (its last dim) as a rows x 1 matrix. */
static mat vec_at(const batch_t *bt, const mf_tensor *t, int64_t b)
{
    mat m = {t, batch_off(bt, t, t->ndim - 1, b), t->stride[t->ndim - 1], 0,
             t->shape[t->ndim - 1], 1};
    return m;
}

/* Copies the matrix into the column-major buffer dst (leading dimension
 * ldd) of dtype dt, converting. */
static void load_cm(mf_dtype dt, void *dst, int64_t ldd, const mat *s)
{
    const mf_dtype st = s->t->dtype;
    if (dt == MF_FLOAT64 && st == MF_FLOAT64) {
        const double *x = (const double *)s->t->base + s->off;
        double *y = dst;
        for (int64_t j = 0; j < s->cols; j++)
            for (int64_t i = 0; i < s->rows; i++) y[i + j * ldd] = x[i * s->rs + j * s->cs];
    } else if (dt == MF_FLOAT32 && st == MF_FLOAT32) {
        const float *x = (const float *)s->t->base + s->off;
        float *y = dst;
        for (int64_t j = 0; j < s->cols; j++)
            for (int64_t i = 0; i < s->rows; i++) y[i + j * ldd] = x[i * s->rs + j * s->cs];
    } else {
        for (int64_t j = 0; j < s->cols; j++)
            for (int64_t i = 0; i < s->rows; i++)
                mf_store(dt, dst, i + j * ldd,
                         mf_load(st, s->t->base, s->off + i * s->rs + j * s->cs));
    }
}

/* Stores the column-major buffer src (leading dimension lds, the dtype of
 * the destination tensor) into the matrix d; with tri 'L' ('U') only the
 * lower (upper) triangle is copied and the rest is zero. */
static void store_cm(const mat *d, const void *src, int64_t lds, char tri)
{
    for (int64_t j = 0; j < d->cols; j++) {
        for (int64_t i = 0; i < d->rows; i++) {
            int keep = tri == 'L' ? i >= j : tri == 'U' ? i <= j : 1;
            int64_t o = d->off + i * d->rs + j * d->cs;
            if (d->t->dtype == MF_FLOAT32)
                ((float *)d->t->base)[o] = keep ? ((const float *)src)[i + j * lds] : 0.0f;
            else
                ((double *)d->t->base)[o] = keep ? ((const double *)src)[i + j * lds] : 0.0;
        }
    }
}

static void store_eye(const mat *d)
{
    for (int64_t j = 0; j < d->cols; j++)
        for (int64_t i = 0; i < d->rows; i++)
            mf_store(d->t->dtype, d->t->base, d->off + i * d->rs + j * d->cs, i == j);
}

/* Whether the column-major buffer holds only finite values (in its tri
 * triangle: 'L', 'U', or 0 for all). */
static int all_finite(mf_dtype dt, const void *buf, int64_t rows, int64_t cols, int64_t ld,
                      char tri)
{
    for (int64_t j = 0; j < cols; j++) {
        int64_t lo = tri == 'L' ? j : 0, hi = tri == 'U' ? (j + 1 < rows ? j + 1 : rows) : rows;
        for (int64_t i = lo; i < hi; i++)
            if (!isfinite(mf_load(dt, buf, i + j * ld))) return 0;
    }
    return 1;
}

/* Work buffers of one forward call, freed together. */
typedef struct {
    void *p[6];
    int n;
} scratch;

static void *scratch_get(scratch *s, int64_t count, size_t elsize)
{
    size_t nbytes = (size_t)(count > 0 ? count : 1) * elsize;
    void *p = mf_malloc(nbytes);
    if (!p) {
        mf_error_set(MF_ENOMEM, 0, "not enough memory for a %zu-byte work buffer", nbytes);
        return NULL;
    }
    s->p[s->n++] = p;
    return p;
}

static mf_status scratch_free(scratch *s, mf_status st)
{
    for (int i = 0; i < s->n; i++) mf_free(s->p[i]);
    s->n = 0;
    return st;
}

static mf_status lapack_bug(const char *routine, int info)
{
    return mf_error_set(MF_EINVAL, 0, "internal error: LAPACK %s rejected argument %d", routine,
                        -info);
}

static mf_status singular(int arg, int info, const batch_t *bt, int64_t b)
{
    char w[WHERE_LEN];
    return mf_error_set(MF_EINVAL, arg, "matrix is singular: U[%d,%d] = 0%s", info, info,
                        batch_where(w, sizeof w, bt, b));
}

static mf_status not_finite(int arg, const batch_t *bt, int64_t b)
{
    char w[WHERE_LEN];
    return mf_error_set(MF_EINVAL, arg, "matrix contains NaN or infinity%s",
                        batch_where(w, sizeof w, bt, b));
}

static void set_layout(mf_layout *l, mf_dtype dt, int nb, const int64_t *batch, int nextra,
                       int64_t d0, int64_t d1)
{
    l->dtype = dt;
    l->ndim = nb + nextra;
    l->offset = 0;
    for (int d = 0; d < nb; d++) l->shape[d] = batch[d];
    if (nextra > 0) l->shape[nb] = d0;
    if (nextra > 1) l->shape[nb + 1] = d1;
}

/* ---------------------------------------------------------------- backward helpers
 * Expression helpers in the manner of mf_grad.h: NULL once the scope holds
 * an error, every result kept by the scope. */

static mf_tensor *gmm(gscope *s, mf_tensor *a, mf_tensor *b)
{
    mf_tensor *o = NULL;
    if (s->st || !a || !b) return NULL;
    return gkeep(s, mf_tensor_matmul(&o, a, b), &o);
}

/* The transpose of the last two dims (a view). */
static mf_tensor *gmT(gscope *s, mf_tensor *t)
{
    mf_tensor *o = NULL;
    if (s->st || !t) return NULL;
    return gkeep(s, mf_tensor_transpose(&o, t, -2, -1), &o);
}

/* t with a size-1 dim inserted at dim (negative: from the end, -1 appends)
 * when `cond`, else t itself. */
static mf_tensor *gunsqueeze_if(gscope *s, mf_tensor *t, int cond, int64_t dim)
{
    mf_tensor *o = NULL;
    if (s->st || !t) return NULL;
    if (!cond) return t;
    return gkeep(s, mf_tensor_unsqueeze(&o, t, dim), &o);
}

static mf_tensor *greshape(gscope *s, mf_tensor *t, int ndim, const int64_t *shape)
{
    mf_tensor *o = NULL;
    if (s->st || !t) return NULL;
    return gkeep(s, mf_tensor_reshape(&o, t, ndim, shape), &o);
}

/* The gradient of an input `like` that the op saw as `as` (a vector as a
 * one-row or one-column matrix): g summed over the dims broadcasting added
 * or expanded, down to as's shape, then given like's shape. */
static mf_tensor *gto(gscope *s, mf_tensor *g, const mf_tensor *as, const mf_tensor *like)
{
    return greshape(s, gunbroadcast(s, g, as), like->ndim, like->shape);
}

/* ================================================================ products */

/* Shapes of a matmul: batch, m x k times k x n; a_vec (b_vec) when a (b)
 * was 1-D and its row (column) dim is dropped from the result. */
typedef struct {
    batch_t bt;
    int64_t m, k, n;
    int a_vec, b_vec;
    int nba, nbb; /* batch dims of a and b */
    mf_layout out;
} mm_geom;

static mf_status mm_geometry(const mf_tensor *a, const mf_tensor *b, mm_geom *g, int arg_a,
                             int arg_b)
{
    char s1[MF_SHAPE_STRLEN], s2[MF_SHAPE_STRLEN];
    if (a->ndim == 0 || b->ndim == 0)
        return mf_error_set(MF_EINVAL, a->ndim == 0 ? arg_a : arg_b,
                            "both arguments need at least 1 dim, got shapes %s and %s",
                            mf_shape_str(s1, sizeof s1, a->ndim, a->shape),
                            mf_shape_str(s2, sizeof s2, b->ndim, b->shape));
    mf_dtype dt = mf_dtype_promote(a->dtype, b->dtype);
    if (dt == MF_BOOL)
        return mf_error_set(MF_EINVAL, arg_a,
                            "matrix products of bool tensors are not supported "
                            "(convert with :long() or :float())");
    g->a_vec = a->ndim == 1;
    g->b_vec = b->ndim == 1;
    int64_t ka = a->shape[a->ndim - 1], kb = g->b_vec ? b->shape[0] : b->shape[b->ndim - 2];
    if (ka != kb)
        return mf_error_set(MF_EINVAL, arg_b, "shape %s cannot multiply %s: %lld ~= %lld",
                            mf_shape_str(s1, sizeof s1, a->ndim, a->shape),
                            mf_shape_str(s2, sizeof s2, b->ndim, b->shape), (long long)ka,
                            (long long)kb);
    g->m = g->a_vec ? 1 : a->shape[a->ndim - 2];
    g->k = ka;
    g->n = g->b_vec ? 1 : b->shape[b->ndim - 1];
    g->nba = g->a_vec ? 0 : a->ndim - 2;
    g->nbb = g->b_vec ? 0 : b->ndim - 2;
    mf_status st = batch_broadcast(&g->bt, a, g->nba, b, g->nbb, arg_b);
    if (st) return st;
    if (!mf_blas_fits(g->m, g->n, g->k))
        return mf_error_set(MF_ERANGE, arg_a, "matrices %s and %s too large for BLAS",
                            mf_shape_str(s1, sizeof s1, a->ndim, a->shape),
                            mf_shape_str(s2, sizeof s2, b->ndim, b->shape));
    mf_layout *l = &g->out;
    l->dtype = dt;
    l->offset = 0;
    l->ndim = g->bt.nb;
    memcpy(l->shape, g->bt.shape, sizeof(int64_t) * (size_t)g->bt.nb);
    if (!g->a_vec) l->shape[l->ndim++] = g->m;
    if (!g->b_vec) l->shape[l->ndim++] = g->n;
    return MF_OK;
}

/* An operand of a batched gemm: its matrices are rows x cols at strides
 * (rs, cs), batch dims = the first nbt dims of t; (trans, ld) is how BLAS
 * reads them (valid when `blas` is set). */
typedef struct {
    const mf_tensor *t;
    int nbt;
    int64_t rows, cols, rs, cs;
    int blas, trans;
    int64_t ld;
} gop;

/* How a row-major BLAS can read a rows x cols matrix with strides (rs, cs):
 * unit column stride (no transpose, ld = row stride) or unit row stride
 * (transpose, ld = column stride), rows (columns) not overlapping. The
 * stride of a dim of size 1 is never used and does not matter. */
static void gop_layout(gop *o)
{
    int64_t rows = o->rows, cols = o->cols, rs = o->rs, cs = o->cs;
    o->blas = 1;
    if ((cs == 1 || cols <= 1) && (rows <= 1 || (rs >= cols && rs >= 1))) {
        o->trans = 0;
        o->ld = rows <= 1 ? (cols > 1 ? cols : 1) : rs;
    } else if ((rs == 1 || rows <= 1) && (cols <= 1 || (cs >= rows && cs >= 1))) {
        o->trans = 1;
        o->ld = cols <= 1 ? (rows > 1 ? rows : 1) : cs;
    } else {
        o->blas = 0;
    }
    if (o->blas && o->ld > MF_BLAS_MAX_DIM) o->blas = 0;
}

static void gop_set(gop *o, const mf_tensor *t, int nbt, int64_t rows, int64_t cols, int64_t rs,
                    int64_t cs)
{
    o->t = t;
    o->nbt = nbt;
    o->rows = rows;
    o->cols = cols;
    o->rs = rs;
    o->cs = cs;
    gop_layout(o);
}

/* The operands of a matmul as (batch of) matrices: a 1-D a is one row, a
 * 1-D b one column; the result's first nb dims are the batch. */
static void gop_a(gop *o, const mf_tensor *t, const mm_geom *g)
{
    if (g->a_vec) gop_set(o, t, 0, 1, g->k, 0, t->stride[0]);
    else gop_set(o, t, t->ndim - 2, g->m, g->k, t->stride[t->ndim - 2], t->stride[t->ndim - 1]);
}

static void gop_b(gop *o, const mf_tensor *t, const mm_geom *g)
{
    if (g->b_vec) gop_set(o, t, 0, g->k, 1, t->stride[0], 0);
    else gop_set(o, t, t->ndim - 2, g->k, g->n, t->stride[t->ndim - 2], t->stride[t->ndim - 1]);
}

static void gop_c(gop *o, const mf_tensor *t, const mm_geom *g)
{
    int nb = g->bt.nb;
    gop_set(o, t, nb, g->m, g->n, g->a_vec ? 0 : t->stride[nb],
            g->b_vec ? 0 : t->stride[t->ndim - 1]);
}

static char *gop_ptr(const gop *o, const batch_t *bt, int64_t b)
{
    return (char *)o->t->base + (size_t)batch_off(bt, o->t, o->nbt, b) * mf_dtype_size(o->t->dtype);
}

/* Whether the rows of all the batch's matrices are evenly spaced (ld apart),
 * so that the batch is one (count * rows) x cols row-major matrix; *rows_out
 * is that count * rows. */
static int gop_rows_fold(const gop *o, const batch_t *bt, int64_t *rows_out)
{
    if (!o->blas || o->trans) return 0;
    int64_t span = o->rows;
    for (int d = bt->nb - 1; d >= 0; d--) {
        if (bt->shape[d] == 1) continue;
        int td = d - (bt->nb - o->nbt);
        if (td < 0 || o->t->shape[td] == 1) return 0; /* repeated (broadcast) rows */
        if (o->t->stride[td] != span * o->ld) return 0;
        span *= bt->shape[d];
    }
    *rows_out = span;
    return span <= MF_BLAS_MAX_DIM;
}

/* Whether every matrix of the batch is the same one (no batch dims, or all
 * broadcast). */
static int gop_shared(const gop *o, const batch_t *bt)
{
    for (int d = 0; d < bt->nb; d++) {
        int td = d - (bt->nb - o->nbt);
        if (bt->shape[d] != 1 && td >= 0 && o->t->shape[td] != 1) return 0;
    }
    return 1;
}

/* t converted to dtype dt and made contiguous, in *tmp. */
static mf_status contiguous_as(mf_tensor **tmp, const mf_tensor *t, mf_dtype dt)
{
    mf_status st = mf_tensor_new(tmp, dt, t->ndim, t->shape);
    if (st) return st;
    st = mf_tensor_copy_(*tmp, t);
    if (st) {
        mf_tensor_release(*tmp);
        *tmp = NULL;
    }
    return st;
}

static int overlaps(const mf_tensor *x, const mf_tensor *y)
{
    return x->storage == y->storage;
}

/*
 * out = alpha * a · b + beta * c (c broadcast to out; no c: out = alpha a b),
 * batched as in g. Operands that BLAS cannot read in place, or of another
 * dtype than out, are copied; the product goes through a contiguous
 * temporary when out overlaps a or b or has strides BLAS cannot write.
 */
static mf_status gemm_run(mf_tensor *out, const mf_tensor *a, const mf_tensor *b,
                          const mm_geom *g, double alpha, double beta, const mf_tensor *c)
{
    mf_dtype dt = out->dtype;
    mf_tensor *ta = NULL, *tb = NULL, *tc = NULL;
    mf_status st = MF_OK;
    gop A, B, C;
    gop_a(&A, a, g);
    if (a->dtype != dt || !A.blas) {
        if ((st = contiguous_as(&ta, a, dt))) goto done;
        gop_a(&A, ta, g);
    }
    gop_b(&B, b, g);
    if (b->dtype != dt || !B.blas) {
        if ((st = contiguous_as(&tb, b, dt))) goto done;
        gop_b(&B, tb, g);
    }
    mf_tensor *target = out;
    gop_c(&C, out, g);
    if (overlaps(out, a) || overlaps(out, b) || !C.blas) {
        if ((st = mf_tensor_new(&tc, dt, out->ndim, out->shape))) goto done;
        target = tc;
        gop_c(&C, tc, g);
    }
    if (c && beta != 0 && (st = mf_tensor_copy_(target, c))) goto done;
    if (c == NULL || beta == 0) beta = 0;

    if (g->bt.count == 0 || g->m == 0 || g->n == 0) goto copy_back;
    int64_t rows_a, rows_c;
    if (g->bt.nb > 0 && gop_shared(&B, &g->bt) && gop_rows_fold(&A, &g->bt, &rows_a) &&
        gop_rows_fold(&C, &g->bt, &rows_c)) {
        /* one gemm: the batch's rows stacked (rows_a == rows_c) */
        mf_blas_gemm(dt, 0, B.trans, rows_a, g->n, g->k, alpha, gop_ptr(&A, &g->bt, 0), A.ld,
                     gop_ptr(&B, &g->bt, 0), B.ld, beta, gop_ptr(&C, &g->bt, 0), C.ld);
        goto copy_back;
    }
    for (int64_t i = 0; i < g->bt.count; i++) {
        const char *pa = gop_ptr(&A, &g->bt, i), *pb = gop_ptr(&B, &g->bt, i);
        char *pc = gop_ptr(&C, &g->bt, i);
        if (!C.trans)
            mf_blas_gemm(dt, A.trans, B.trans, g->m, g->n, g->k, alpha, pa, A.ld, pb, B.ld, beta,
                         pc, C.ld);
        else /* C column-major: C^T = op(B)^T op(A)^T */
            mf_blas_gemm(dt, !B.trans, !A.trans, g->n, g->m, g->k, alpha, pb, B.ld, pa, A.ld,
                         beta, pc, C.ld);
    }
copy_back:
    if (tc) st = mf_tensor_copy_(out, tc);
done:
    mf_tensor_release(ta);
    mf_tensor_release(tb);
    mf_tensor_release(tc);
    return st;
}

/* ---------------------------------------------------------------- matmul */
static mf_status infer_matmul(const mf_op_args *args, mf_layout *out)
{
    mm_geom g;
    mf_status st = mm_geometry(args->in[0], args->in[1], &g, 1, 2);
    if (st == MF_OK) *out = g.out;
    return st;
}

static mf_status forward_matmul(const mf_op_args *args, mf_tensor *const *out)
{
    mm_geom g;
    mf_status st = mm_geometry(args->in[0], args->in[1], &g, 1, 2);
    if (st) return st;
    return gemm_run(out[0], args->in[0], args->in[1], &g, 1.0, 0.0, NULL);
}

/*
 * C = A B on matrices gives gA = G B^T and gB = A^T G. A 1-D a is taken as a
 * row (1, k) and a 1-D b as a column (k, 1), with the dims the forward
 * dropped put back into G; each gradient is then summed over the batch dims
 * its input was broadcast along. When b has no batch dims and a has, gB is
 * one gemm over a's stacked rows (a linear layer on (batch, seq, in) input)
 * instead of a batch of products summed afterwards.
 */
static mf_status backward_matmul(const mf_op_args *args, mf_tensor *const *out,
                                 mf_tensor *const *grad_out, mf_tensor **grad_in)
{
    gscope s_ = {0}, *s = &s_;
    mf_tensor *a = args->in[0], *b = args->in[1], *g = grad_out[0], *ga = NULL, *gb = NULL;
    (void)out;
    if (!g) return MF_OK;
    mm_geom geo;
    mf_status st = mm_geometry(a, b, &geo, 1, 2);
    if (st) return st;
    mf_tensor *a2 = gunsqueeze_if(s, a, geo.a_vec, 0), *b2 = gunsqueeze_if(s, b, geo.b_vec, -1);
    mf_tensor *g2 = gunsqueeze_if(s, gunsqueeze_if(s, g, geo.b_vec, -1), geo.a_vec, -2);
    if (a->requires_grad) ga = gto(s, gmm(s, g2, gmT(s, b2)), a2, a);
    if (b->requires_grad && geo.nbb == 0 && a->ndim > 2) { /* (rows, k)^T (rows, n) */
        int64_t rows = geo.bt.count * geo.m, n2 = geo.b_vec ? 1 : geo.n;
        mf_tensor *af = greshape(s, a, 2, (int64_t[]){rows, geo.k});
        mf_tensor *gf = greshape(s, g2, 2, (int64_t[]){rows, n2});
        gb = greshape(s, gmm(s, gmT(s, af), gf), b->ndim, b->shape);
    } else if (b->requires_grad) {
        gb = gto(s, gmm(s, gmT(s, a2), g2), b2, b);
    }
    return gscope_finish2(s, ga, gb, args, grad_in);
}

const mf_op mf_oprec_matmul = {"matmul", 2, 1, MF_OPF_DIFF, infer_matmul, forward_matmul,
                               backward_matmul};

/* ---------------------------------------------------------------- addmm */
/* in: c, a, b; scalars[0] = alpha, scalars[1] = beta. */
static mf_status addmm_geometry(const mf_op_args *args, mm_geom *g)
{
    const mf_tensor *c = args->in[0], *a = args->in[1], *b = args->in[2];
    char s1[MF_SHAPE_STRLEN], s2[MF_SHAPE_STRLEN];
    if (a->ndim != 2)
        return mf_error_set(MF_EINVAL, 2, "expected a 2-D tensor, got shape %s",
                            mf_shape_str(s1, sizeof s1, a->ndim, a->shape));
    if (b->ndim != 2)
        return mf_error_set(MF_EINVAL, 3, "expected a 2-D tensor, got shape %s",
                            mf_shape_str(s1, sizeof s1, b->ndim, b->shape));
    mf_status st = mm_geometry(a, b, g, 2, 3);
    if (st) return st;
    int64_t cst[MF_MAX_DIMS];
    if (mf_broadcast_strides(c, 2, g->out.shape, cst) != 0)
        return mf_error_set(MF_EINVAL, 1, "shape %s cannot be broadcast to the product's %s",
                            mf_shape_str(s1, sizeof s1, c->ndim, c->shape),
                            mf_shape_str(s2, sizeof s2, 2, g->out.shape));
    g->out.dtype = mf_dtype_promote(c->dtype, g->out.dtype);
    double alpha = args->p->scalars[0], beta = args->p->scalars[1];
    if (g->out.dtype == MF_INT64 && (alpha != floor(alpha) || beta != floor(beta) ||
                                     fabs(alpha) > 9.0e15 || fabs(beta) > 9.0e15))
        return mf_error_set(MF_EINVAL, 4,
                            "alpha and beta must be integers for an int64 result, got %g and %g",
                            alpha, beta);
    return MF_OK;
}

static mf_status infer_addmm(const mf_op_args *args, mf_layout *out)
{
    mm_geom g;
    mf_status st = addmm_geometry(args, &g);
    if (st == MF_OK) *out = g.out;
    return st;
}

static mf_status forward_addmm(const mf_op_args *args, mf_tensor *const *out)
{
    mm_geom g;
    mf_status st = addmm_geometry(args, &g);
    if (st) return st;
    return gemm_run(out[0], args->in[1], args->in[2], &g, args->p->scalars[0],
                    args->p->scalars[1], args->in[0]);
}

const mf_op mf_oprec_addmm = {"addmm", 3, 1, 0, infer_addmm, forward_addmm, NULL};

/* ================================================================ linalg */

/* ---------------------------------------------------------------- inv, det */
static mf_status infer_square(const mf_op_args *args, mf_layout *out)
{
    const mf_tensor *a = args->in[0];
    mf_status st = need_float(a, 1);
    if (st == MF_OK) st = need_matrix(a, 1, 1);
    if (st) return st;
    set_layout(out, a->dtype, a->ndim, a->shape, 0, 0, 0);
    return MF_OK;
}

static mf_status forward_inv(const mf_op_args *args, mf_tensor *const *out)
{
    const mf_tensor *a = args->in[0];
    mf_tensor *x = out[0];
    mf_dtype dt = x->dtype;
    int64_t n = a->shape[a->ndim - 1];
    batch_t bt;
    batch_of(&bt, a, a->ndim - 2);
    if (n == 0 || bt.count == 0) return MF_OK;
    scratch s = {{0}, 0};
    void *w = scratch_get(&s, n * n, mf_dtype_size(dt));
    int *ipiv = w ? scratch_get(&s, n, sizeof(int)) : NULL;
    if (!ipiv) return scratch_free(&s, MF_ENOMEM);
    for (int64_t b = 0; b < bt.count; b++) {
        int info = 0;
        mat src = mat_at(&bt, a, b), dst = mat_at(&bt, x, b);
        load_cm(dt, w, n, &src);
        mf_status st = mf_blas_getrf(dt, n, n, w, n, ipiv, &info);
        if (st == MF_OK && info == 0) st = mf_blas_getri(dt, n, w, n, ipiv, &info);
        if (st) return scratch_free(&s, st);
        if (info > 0) return scratch_free(&s, singular(1, info, &bt, b));
        if (info < 0) return scratch_free(&s, lapack_bug("getrf/getri", info));
        store_cm(&dst, w, n, 0);
    }
    return scratch_free(&s, MF_OK);
}

/* X = A^-1: gA = -X^T G X^T. */
static mf_status backward_inv(const mf_op_args *args, mf_tensor *const *out,
                              mf_tensor *const *grad_out, mf_tensor **grad_in)
{
    gscope s_ = {0}, *s = &s_;
    (void)args;
    if (!grad_out[0]) return MF_OK;
    mf_tensor *xt = gmT(s, out[0]);
    return gscope_finish(s, gun(s, MF_OP_NEG, gmm(s, gmm(s, xt, grad_out[0]), xt)), &grad_in[0]);
}

const mf_op mf_oprec_inv = {"inv", 1, 1, MF_OPF_DIFF, infer_square, forward_inv, backward_inv};

static mf_status infer_det(const mf_op_args *args, mf_layout *out)
{
    const mf_tensor *a = args->in[0];
    mf_status st = need_float(a, 1);
    if (st == MF_OK) st = need_matrix(a, 1, 1);
    if (st) return st;
    set_layout(out, a->dtype, a->ndim - 2, a->shape, 0, 0, 0);
    return MF_OK;
}

static mf_status forward_det(const mf_op_args *args, mf_tensor *const *out)
{
    const mf_tensor *a = args->in[0];
    mf_tensor *d = out[0];
    mf_dtype dt = d->dtype;
    int64_t n = a->shape[a->ndim - 1];
    batch_t bt;
    batch_of(&bt, a, a->ndim - 2);
    if (bt.count == 0) return MF_OK;
    scratch s = {{0}, 0};
    void *w = scratch_get(&s, n * n, mf_dtype_size(dt));
    int *ipiv = w ? scratch_get(&s, n, sizeof(int)) : NULL;
    if (!ipiv) return scratch_free(&s, MF_ENOMEM);
    for (int64_t b = 0; b < bt.count; b++) {
        int info = 0;
        double det = 1;
        if (n > 0) {
            mat src = mat_at(&bt, a, b);
            load_cm(dt, w, n, &src);
            mf_status st = mf_blas_getrf(dt, n, n, w, n, ipiv, &info);
            if (st) return scratch_free(&s, st);
            if (info < 0) return scratch_free(&s, lapack_bug("getrf", info));
            for (int64_t i = 0; i < n; i++) {
                det *= mf_load(dt, w, i + i * n);
                if (ipiv[i] != i + 1) det = -det;
            }
            if (info > 0) det = 0; /* a zero pivot (also: no -0) */
        }
        mf_store(dt, d->base, batch_off(&bt, d, bt.nb, b), det);
    }
    return scratch_free(&s, MF_OK);
}

/* Whether every element of t is finite. */
static int all_finite_t(const mf_tensor *t)
{
    int64_t n = mf_tensor_numel(t);
    mf_walk w;
    mf_walk_init(&w, t);
    for (int64_t i = 0; i < n; i++, mf_walk_next(&w))
        if (!isfinite(mf_load(t->dtype, t->base, t->offset + w.off))) return 0;
    return 1;
}

/*
 * d = det(A): gA = g adj(A)^T, the matrix of cofactors (d A^-T when A is
 * invertible). It is computed from the SVD A = U diag(s) Vh as
 *     adj(A)^T = det(U) det(Vh) U diag(s^) Vh,   s^_i = prod_{j ~= i} s_j,
 * which stays finite and right for singular A, where d A^-T would be 0 * inf:
 * a matrix of rank n-1 gets its nonzero gradient, one of lower rank zero.
 * (det(U) and det(Vh) are +-1; only their signs are used.) A with NaN or
 * infinite entries gets a NaN gradient.
 */
static mf_status backward_det(const mf_op_args *args, mf_tensor *const *out,
                              mf_tensor *const *grad_out, mf_tensor **grad_in)
{
    gscope s_ = {0}, *s = &s_;
    mf_tensor *a = args->in[0], *g = grad_out[0];
    if (!g) return MF_OK;
    mf_dtype dt = out[0]->dtype;
    int nb = a->ndim - 2;
    int64_t n = a->shape[nb];
    if (n == 0) return mf_tensor_zeros(&grad_in[0], dt, a->ndim, a->shape);
    if (!all_finite_t(a)) return mf_tensor_full(&grad_in[0], dt, a->ndim, a->shape, NAN);
    mf_tensor *u = NULL, *sv = NULL, *vh = NULL, *du = NULL, *dv = NULL, *gc = NULL, *w = NULL;
    mf_status st = mf_linalg_svd(&u, &sv, &vh, a, 0);
    gkeep(s, st, &u);
    gkeep(s, st, &sv);
    gkeep(s, st, &vh);
    if (!s->st) gkeep(s, mf_linalg_det(&du, u), &du);
    if (!s->st) gkeep(s, mf_linalg_det(&dv, vh), &dv);
    if (!s->st) gkeep(s, mf_tensor_contiguous(&gc, g), &gc);
    /* w (..., 1, n): the column scales g det(U) det(Vh) s^ */
    int64_t wshape[MF_MAX_DIMS];
    memcpy(wshape, a->shape, sizeof(int64_t) * (size_t)nb);
    wshape[nb] = 1;
    wshape[nb + 1] = n;
    if (!s->st) gkeep(s, mf_tensor_new(&w, dt, a->ndim, wshape), &w);
    if (!s->st) {
        int64_t count = mf_tensor_numel(gc);
        const void *sp = mf_tensor_data(sv), *up = mf_tensor_data(du), *vp = mf_tensor_data(dv);
        const void *gp = mf_tensor_data(gc);
        void *wp = mf_tensor_data(w);
        for (int64_t b = 0; b < count; b++) {
            double sign = mf_load(dt, up, b) * mf_load(dt, vp, b) < 0 ? -1.0 : 1.0;
            double scale = sign * mf_load(gc->dtype, gp, b), suffix = 1, prefix = 1;
            for (int64_t i = n - 1; i >= 0; i--) { /* products after i, then times those before */
                mf_store(dt, wp, b * n + i, suffix);
                suffix *= mf_load(dt, sp, b * n + i);
            }
            for (int64_t i = 0; i < n; i++) {
                mf_store(dt, wp, b * n + i, mf_load(dt, wp, b * n + i) * prefix * scale);
                prefix *= mf_load(dt, sp, b * n + i);
            }
        }
    }
    return gscope_finish(s, gmm(s, gmul(s, u, w), vh), &grad_in[0]);
}

const mf_op mf_oprec_det = {"det", 1, 1, MF_OPF_DIFF, infer_det, forward_det, backward_det};

/* ---------------------------------------------------------------- cholesky */
/* ints[0]: nonzero for the upper factor. */
static mf_status forward_cholesky(const mf_op_args *args, mf_tensor *const *out)
{
    const mf_tensor *a = args->in[0];
    mf_tensor *l = out[0];
    mf_dtype dt = l->dtype;
    char uplo = args->p->ints[0] ? 'U' : 'L';
    int64_t n = a->shape[a->ndim - 1];
    batch_t bt;
    batch_of(&bt, a, a->ndim - 2);
    if (n == 0 || bt.count == 0) return MF_OK;
    scratch s = {{0}, 0};
    void *w = scratch_get(&s, n * n, mf_dtype_size(dt));
    if (!w) return scratch_free(&s, MF_ENOMEM);
    for (int64_t b = 0; b < bt.count; b++) {
        int info = 0;
        mat src = mat_at(&bt, a, b), dst = mat_at(&bt, l, b);
        load_cm(dt, w, n, &src);
        mf_status st = mf_blas_potrf(dt, uplo, n, w, n, &info);
        if (st) return scratch_free(&s, st);
        if (info < 0) return scratch_free(&s, lapack_bug("potrf", info));
        if (info > 0) {
            char where[WHERE_LEN];
            return scratch_free(&s, mf_error_set(MF_EINVAL, 1,
                                                 "matrix is not positive-definite: the leading "
                                                 "minor of order %d is not positive%s",
                                                 info, batch_where(where, sizeof where, &bt, b)));
        }
        store_cm(&dst, w, n, uplo);
    }
    return scratch_free(&s, MF_OK);
}

/*
 * A = L L^T (Murray 2016, "Differentiation of the Cholesky decomposition",
 * as PyTorch's cholesky_backward): with Phi = tril(L^T G), its diagonal
 * halved, gA = L^-T Phi L^-1, returned symmetrized, (gA + gA^T) / 2: the
 * gradient for a symmetric A. (The forward reads one triangle only, so a
 * finite difference on one off-diagonal entry sees the sum of the two
 * mirrored entries of gA; check it through a symmetric input such as X X^T.)
 * For the upper factor U = L^T: L = U^T and G_L = G_U^T.
 */
static mf_status backward_cholesky(const mf_op_args *args, mf_tensor *const *out,
                                   mf_tensor *const *grad_out, mf_tensor **grad_in)
{
    gscope s_ = {0}, *s = &s_;
    mf_tensor *g = grad_out[0], *mask = NULL, *li = NULL;
    if (!g) return MF_OK;
    int upper = args->p->ints[0] != 0;
    mf_dtype dt = out[0]->dtype;
    int64_t n = out[0]->shape[out[0]->ndim - 1];
    mf_tensor *l = upper ? gmT(s, out[0]) : out[0], *gl = upper ? gmT(s, g) : g;
    /* tril with the diagonal halved, times the 1/2 of the symmetrization */
    if (!s->st) gkeep(s, mf_tensor_new(&mask, dt, 2, (int64_t[]){n, n}), &mask);
    for (int64_t i = 0; i < n && !s->st; i++)
        for (int64_t j = 0; j < n; j++)
            mf_store(dt, mask->base, i * n + j, i > j ? 0.5 : i == j ? 0.25 : 0.0);
    mf_tensor *phi = gmul(s, gmm(s, gmT(s, l), gl), mask);
    if (!s->st) gkeep(s, mf_linalg_inv(&li, l), &li);
    mf_tensor *r = gmm(s, gmm(s, gmT(s, li), phi), li);
    return gscope_finish(s, gbin(s, MF_OP_ADD, r, gmT(s, r)), &grad_in[0]);
}

const mf_op mf_oprec_cholesky = {"cholesky", 1, 1, MF_OPF_DIFF, infer_square, forward_cholesky,
                                 backward_cholesky};

/* ---------------------------------------------------------------- solve, lstsq */
/* A (batch, rows, cols) and B (batch, rows, k) or, as vectors, (batch, rows). */
typedef struct {
    batch_t bt;
    int vec;
    int64_t rows, cols, k;
} sys_geom;

static mf_status sys_geometry(const mf_tensor *a, const mf_tensor *b, sys_geom *g, int square)
{
    char s1[MF_SHAPE_STRLEN], s2[MF_SHAPE_STRLEN];
    mf_status st = need_float(a, 1);
    if (st == MF_OK) st = need_matrix(a, 1, square);
    if (st) return st;
    if (b->ndim == 0)
        return mf_error_set(MF_EINVAL, 2, "expected a vector or a matrix, got a 0-D tensor");
    if (b->dtype == MF_BOOL)
        return mf_error_set(MF_EINVAL, 2, "expected a float or int64 tensor, got bool");
    /* B is a (batch of) vector(s) when 1-D or shaped like A without its last dim */
    g->vec = b->ndim == 1 ||
             (b->ndim == a->ndim - 1 &&
              memcmp(b->shape, a->shape, sizeof(int64_t) * (size_t)b->ndim) == 0);
    g->rows = a->shape[a->ndim - 2];
    g->cols = a->shape[a->ndim - 1];
    int64_t brows = g->vec ? b->shape[b->ndim - 1] : b->shape[b->ndim - 2];
    g->k = g->vec ? 1 : b->shape[b->ndim - 1];
    if (brows != g->rows)
        return mf_error_set(MF_EINVAL, 2, "B %s does not match A %s: %lld rows ~= %lld",
                            mf_shape_str(s1, sizeof s1, b->ndim, b->shape),
                            mf_shape_str(s2, sizeof s2, a->ndim, a->shape), (long long)brows,
                            (long long)g->rows);
    if (!mf_blas_fits(g->k, g->rows * g->k, (g->rows > g->cols ? g->rows : g->cols) * g->k))
        return mf_error_set(MF_ERANGE, 2, "B %s too large for LAPACK",
                            mf_shape_str(s1, sizeof s1, b->ndim, b->shape));
    return batch_broadcast(&g->bt, a, a->ndim - 2, b, b->ndim - (g->vec ? 1 : 2), 2);
}

static mf_status infer_solve(const mf_op_args *args, mf_layout *out)
{
    sys_geom g;
    mf_status st = sys_geometry(args->in[0], args->in[1], &g, 1);
    if (st) return st;
    mf_dtype dt = mf_dtype_promote(args->in[0]->dtype, args->in[1]->dtype);
    set_layout(out, dt, g.bt.nb, g.bt.shape, g.vec ? 1 : 2, g.cols, g.k);
    return MF_OK;
}

static mat rhs_at(const sys_geom *g, const mf_tensor *t, int64_t b)
{
    return g->vec ? vec_at(&g->bt, t, b) : mat_at(&g->bt, t, b);
}

static mf_status forward_solve(const mf_op_args *args, mf_tensor *const *out)
{
    const mf_tensor *a = args->in[0], *bm = args->in[1];
    mf_tensor *x = out[0];
    mf_dtype dt = x->dtype;
    sys_geom g;
    mf_status st = sys_geometry(a, bm, &g, 1);
    if (st) return st;
    int64_t n = g.rows, k = g.k;
    if (n == 0 || k == 0 || g.bt.count == 0) return MF_OK;
    scratch s = {{0}, 0};
    void *w = scratch_get(&s, n * n, mf_dtype_size(dt));
    void *rhs = w ? scratch_get(&s, n * k, mf_dtype_size(dt)) : NULL;
    int *ipiv = rhs ? scratch_get(&s, n, sizeof(int)) : NULL;
    if (!ipiv) return scratch_free(&s, MF_ENOMEM);
    for (int64_t b = 0; b < g.bt.count; b++) {
        int info = 0;
        mat sa = mat_at(&g.bt, a, b), sb = rhs_at(&g, bm, b), dx = rhs_at(&g, x, b);
        load_cm(dt, w, n, &sa);
        st = mf_blas_getrf(dt, n, n, w, n, ipiv, &info);
        if (st) return scratch_free(&s, st);
        if (info > 0) return scratch_free(&s, singular(1, info, &g.bt, b));
        load_cm(dt, rhs, n, &sb);
        if (info == 0) st = mf_blas_getrs(dt, n, k, w, n, ipiv, rhs, n, &info);
        if (st) return scratch_free(&s, st);
        if (info < 0) return scratch_free(&s, lapack_bug("getrf/getrs", info));
        store_cm(&dx, rhs, n, 0);
    }
    return scratch_free(&s, MF_OK);
}

/*
 * X = A^-1 B: gB = A^-T G (one more solve) and gA = -gB X^T. A vector
 * right-hand side is taken as a one-column matrix; each gradient is summed
 * over the batch dims its input was broadcast along.
 */
static mf_status backward_solve(const mf_op_args *args, mf_tensor *const *out,
                                mf_tensor *const *grad_out, mf_tensor **grad_in)
{
    gscope s_ = {0}, *s = &s_;
    mf_tensor *a = args->in[0], *b = args->in[1], *g = grad_out[0], *gb2 = NULL;
    if (!g) return MF_OK;
    sys_geom geo;
    mf_status st = sys_geometry(a, b, &geo, 1);
    if (st) return st;
    mf_tensor *b2 = gunsqueeze_if(s, b, geo.vec, -1), *x2 = gunsqueeze_if(s, out[0], geo.vec, -1);
    mf_tensor *g2 = gunsqueeze_if(s, g, geo.vec, -1), *at = gmT(s, a);
    if (!s->st) gkeep(s, mf_linalg_solve(&gb2, at, g2), &gb2);
    mf_tensor *ga = a->requires_grad ? gun(s, MF_OP_NEG, gmm(s, gb2, gmT(s, x2))) : NULL;
    mf_tensor *gb = b->requires_grad ? gto(s, gb2, b2, b) : NULL;
    return gscope_finish2(s, ga, gb, args, grad_in);
}

const mf_op mf_oprec_solve = {"solve", 2, 1, MF_OPF_DIFF, infer_solve, forward_solve,
                              backward_solve};

/* scalars[0]: rcond (< 0 or NaN: eps * max(m, n)). Outputs: solution,
 * residuals, rank. */
static mf_status infer_lstsq(const mf_op_args *args, mf_layout *out)
{
    sys_geom g;
    mf_status st = sys_geometry(args->in[0], args->in[1], &g, 0);
    if (st) return st;
    mf_dtype dt = mf_dtype_promote(args->in[0]->dtype, args->in[1]->dtype);
    set_layout(&out[0], dt, g.bt.nb, g.bt.shape, g.vec ? 1 : 2, g.cols, g.k);
    if (g.rows > g.cols) set_layout(&out[1], dt, g.bt.nb, g.bt.shape, g.vec ? 0 : 1, g.k, 0);
    else set_layout(&out[1], dt, 0, NULL, 1, 0, 0);
    set_layout(&out[2], MF_INT64, g.bt.nb, g.bt.shape, 0, 0, 0);
    return MF_OK;
}

static mf_status forward_lstsq(const mf_op_args *args, mf_tensor *const *out)
{
    const mf_tensor *a = args->in[0], *bm = args->in[1];
    mf_tensor *x = out[0], *res = out[1], *rk = out[2];
    mf_dtype dt = x->dtype;
    sys_geom g;
    mf_status st = sys_geometry(a, bm, &g, 0);
    if (st) return st;
    int64_t m = g.rows, n = g.cols, k = g.k, mn = m < n ? m : n;
    int64_t lda = m > 1 ? m : 1, ldb = m > n ? m : n;
    if (ldb < 1) ldb = 1;
    double rcond = args->p->scalars[0];
    if (!(rcond >= 0)) rcond = (dt == MF_FLOAT32 ? 1.1920928955078125e-07 : 2.220446049250313e-16) *
                               (double)(m > n ? m : n);
    if (g.bt.count == 0) return MF_OK;
    size_t es = mf_dtype_size(dt);
    scratch s = {{0}, 0};
    void *w = scratch_get(&s, lda * n, es);
    void *rhs = w ? scratch_get(&s, ldb * (k > 1 ? k : 1), es) : NULL; /* k = 0: for the rank */
    void *sv = rhs ? scratch_get(&s, mn, es) : NULL;
    if (!sv) return scratch_free(&s, MF_ENOMEM);
    for (int64_t b = 0; b < g.bt.count; b++) {
        int info = 0, rank = 0;
        mat sa = mat_at(&g.bt, a, b), sb = rhs_at(&g, bm, b), dx = rhs_at(&g, x, b);
        load_cm(dt, w, lda, &sa);
        memset(rhs, 0, (size_t)(ldb * k) * es);
        load_cm(dt, rhs, ldb, &sb);
        if (!all_finite(dt, w, m, n, lda, 0)) return scratch_free(&s, not_finite(1, &g.bt, b));
        if (!all_finite(dt, rhs, m, k, ldb, 0)) return scratch_free(&s, not_finite(2, &g.bt, b));
        if (mn > 0 && k > 0) {
            st = mf_blas_gelsd(dt, m, n, k, w, lda, rhs, ldb, sv, rcond, &rank, &info);
            if (st) return scratch_free(&s, st);
            if (info < 0) return scratch_free(&s, lapack_bug("gelsd", info));
            if (info > 0) {
                char where[WHERE_LEN];
                return scratch_free(&s, mf_error_set(MF_EINVAL, 1,
                                                     "least squares: the SVD did not converge%s",
                                                     batch_where(where, sizeof where, &g.bt, b)));
            }
        } else if (mn > 0) {
            /* no right-hand side: only the rank is wanted */
            st = mf_blas_gelsd(dt, m, n, 1, w, lda, rhs, ldb, sv, rcond, &rank, &info);
            if (st) return scratch_free(&s, st);
            if (info != 0) rank = 0;
        }
        store_cm(&dx, rhs, ldb, 0);
        ((int64_t *)rk->base)[batch_off(&g.bt, rk, g.bt.nb, b)] = rank;
        if (m <= n) continue;
        /* residuals: rows n..m-1 of gelsd's output when A has full column
         * rank; otherwise ||A x - b||^2 from the inputs */
        int64_t roff = batch_off(&g.bt, res, g.bt.nb, b);
        int64_t rstride = g.vec ? 0 : res->stride[res->ndim - 1];
        for (int64_t j = 0; j < k; j++) {
            double sum = 0;
            if (rank == n) {
                for (int64_t i = n; i < m; i++) {
                    double v = mf_load(dt, rhs, i + j * ldb);
                    sum += v * v;
                }
            } else {
                for (int64_t i = 0; i < m; i++) {
                    double r = -mf_load(bm->dtype, bm->base, sb.off + i * sb.rs + j * sb.cs);
                    for (int64_t l = 0; l < n; l++)
                        r += mf_load(a->dtype, a->base, sa.off + i * sa.rs + l * sa.cs) *
                             mf_load(dt, rhs, l + j * ldb);
                    sum += r * r;
                }
            }
            mf_store(dt, res->base, roff + j * rstride, sum);
        }
    }
    return scratch_free(&s, MF_OK);
}

const mf_op mf_oprec_lstsq = {"lstsq", 2, 3, 0, infer_lstsq, forward_lstsq, NULL};

/* ---------------------------------------------------------------- qr */
/* ints[0]: mf_qr_mode. Outputs Q, R. */
static mf_status infer_qr(const mf_op_args *args, mf_layout *out)
{
    const mf_tensor *a = args->in[0];
    mf_status st = need_float(a, 1);
    if (st == MF_OK) st = need_matrix(a, 1, 0);
    if (st) return st;
    int64_t mode = args->p->ints[0];
    if (mode < MF_QR_REDUCED || mode > MF_QR_R)
        return mf_error_set(MF_EINVAL, 2, "unknown QR mode %lld", (long long)mode);
    int nb = a->ndim - 2;
    int64_t m = a->shape[nb], n = a->shape[nb + 1], k = m < n ? m : n;
    if (mode == MF_QR_COMPLETE) {
        set_layout(&out[0], a->dtype, nb, a->shape, 2, m, m);
        set_layout(&out[1], a->dtype, nb, a->shape, 2, m, n);
    } else {
        if (mode == MF_QR_R) set_layout(&out[0], a->dtype, 0, NULL, 1, 0, 0);
        else set_layout(&out[0], a->dtype, nb, a->shape, 2, m, k);
        set_layout(&out[1], a->dtype, nb, a->shape, 2, k, n);
    }
    return MF_OK;
}

static mf_status forward_qr(const mf_op_args *args, mf_tensor *const *out)
{
    const mf_tensor *a = args->in[0];
    mf_tensor *q = out[0], *r = out[1];
    mf_dtype dt = r->dtype;
    int64_t mode = args->p->ints[0];
    int64_t m = a->shape[a->ndim - 2], n = a->shape[a->ndim - 1], k = m < n ? m : n;
    int64_t qcols = mode == MF_QR_COMPLETE ? m : k, wcols = n > qcols ? n : qcols;
    int64_t lda = m > 1 ? m : 1;
    batch_t bt;
    batch_of(&bt, a, a->ndim - 2);
    if (bt.count == 0) return MF_OK;
    scratch s = {{0}, 0};
    void *w = scratch_get(&s, lda * wcols, mf_dtype_size(dt));
    void *tau = w ? scratch_get(&s, k, mf_dtype_size(dt)) : NULL;
    if (!tau) return scratch_free(&s, MF_ENOMEM);
    for (int64_t b = 0; b < bt.count; b++) {
        int info = 0;
        mat sa = mat_at(&bt, a, b), dr = mat_at(&bt, r, b);
        mf_status st = MF_OK;
        if (k == 0) { /* R is empty; a complete Q is the identity */
            if (mode == MF_QR_COMPLETE) {
                mat dq = mat_at(&bt, q, b);
                store_eye(&dq);
            }
            continue;
        }
        load_cm(dt, w, lda, &sa);
        st = mf_blas_geqrf(dt, m, n, w, lda, tau, &info);
        if (st) return scratch_free(&s, st);
        if (info) return scratch_free(&s, lapack_bug("geqrf", info));
        /* R: the upper triangle of the first dr.rows rows (rows past k are 0) */
        for (int64_t j = 0; j < n; j++)
            for (int64_t i = 0; i < dr.rows; i++)
                mf_store(dt, r->base, dr.off + i * dr.rs + j * dr.cs,
                         i <= j && i < k ? mf_load(dt, w, i + j * lda) : 0.0);
        if (mode == MF_QR_R) continue;
        st = mf_blas_orgqr(dt, m, qcols, k, w, lda, tau, &info);
        if (st) return scratch_free(&s, st);
        if (info) return scratch_free(&s, lapack_bug("orgqr", info));
        mat dq = mat_at(&bt, q, b);
        store_cm(&dq, w, lda, 0);
    }
    return scratch_free(&s, MF_OK);
}

const mf_op mf_oprec_qr = {"qr", 1, 2, 0, infer_qr, forward_qr, NULL};

/* ---------------------------------------------------------------- svd */
/* ints[0]: full_matrices. Outputs U, S, Vh. */
static mf_status infer_svd(const mf_op_args *args, mf_layout *out)
{
    const mf_tensor *a = args->in[0];
    mf_status st = need_float(a, 1);
    if (st == MF_OK) st = need_matrix(a, 1, 0);
    if (st) return st;
    int nb = a->ndim - 2, full = args->p->ints[0] != 0;
    int64_t m = a->shape[nb], n = a->shape[nb + 1], k = m < n ? m : n;
    set_layout(&out[0], a->dtype, nb, a->shape, 2, m, full ? m : k);
    set_layout(&out[1], a->dtype, nb, a->shape, 1, k, 0);
    set_layout(&out[2], a->dtype, nb, a->shape, 2, full ? n : k, n);
    return MF_OK;
}

static mf_status forward_svd(const mf_op_args *args, mf_tensor *const *out)
{
    const mf_tensor *a = args->in[0];
    mf_tensor *u = out[0], *sv = out[1], *vh = out[2];
    mf_dtype dt = u->dtype;
    int full = args->p->ints[0] != 0;
    int64_t m = a->shape[a->ndim - 2], n = a->shape[a->ndim - 1], k = m < n ? m : n;
    int64_t ucols = full ? m : k, vrows = full ? n : k;
    int64_t lda = m > 1 ? m : 1, ldvt = vrows > 1 ? vrows : 1;
    batch_t bt;
    batch_of(&bt, a, a->ndim - 2);
    if (bt.count == 0) return MF_OK;
    size_t es = mf_dtype_size(dt);
    scratch s = {{0}, 0};
    void *w = scratch_get(&s, lda * n, es);
    void *ub = w ? scratch_get(&s, lda * ucols, es) : NULL;
    void *vb = ub ? scratch_get(&s, ldvt * n, es) : NULL;
    void *sb = vb ? scratch_get(&s, k, es) : NULL;
    if (!sb) return scratch_free(&s, MF_ENOMEM);
    for (int64_t b = 0; b < bt.count; b++) {
        int info = 0;
        mat sa = mat_at(&bt, a, b), du = mat_at(&bt, u, b), dv = mat_at(&bt, vh, b);
        mat ds = vec_at(&bt, sv, b);
        if (k == 0) { /* full U and Vh of an empty matrix are identities */
            store_eye(&du);
            store_eye(&dv);
            continue;
        }
        load_cm(dt, w, lda, &sa);
        if (!all_finite(dt, w, m, n, lda, 0)) return scratch_free(&s, not_finite(1, &bt, b));
        mf_status st = mf_blas_gesdd(dt, full ? 'A' : 'S', m, n, w, lda, sb, ub, lda, vb, ldvt,
                                     &info);
        if (st) return scratch_free(&s, st);
        if (info < 0) return scratch_free(&s, lapack_bug("gesdd", info));
        if (info > 0) {
            char where[WHERE_LEN];
            return scratch_free(&s, mf_error_set(MF_EINVAL, 1, "the SVD did not converge%s",
                                                 batch_where(where, sizeof where, &bt, b)));
        }
        store_cm(&du, ub, lda, 0);
        store_cm(&ds, sb, k, 0);
        store_cm(&dv, vb, ldvt, 0);
    }
    return scratch_free(&s, MF_OK);
}

const mf_op mf_oprec_svd = {"svd", 1, 3, 0, infer_svd, forward_svd, NULL};

/* ---------------------------------------------------------------- eigh */
/* ints[0]: 0 lower triangle, 1 upper. Outputs eigenvalues, eigenvectors. */
static mf_status infer_eigh(const mf_op_args *args, mf_layout *out)
{
    const mf_tensor *a = args->in[0];
    mf_status st = need_float(a, 1);
    if (st == MF_OK) st = need_matrix(a, 1, 1);
    if (st) return st;
    int nb = a->ndim - 2;
    int64_t n = a->shape[nb];
    set_layout(&out[0], a->dtype, nb, a->shape, 1, n, 0);
    set_layout(&out[1], a->dtype, nb, a->shape, 2, n, n);
    return MF_OK;
}

static mf_status forward_eigh(const mf_op_args *args, mf_tensor *const *out)
{
    const mf_tensor *a = args->in[0];
    mf_tensor *ev = out[0], *vec = out[1];
    mf_dtype dt = ev->dtype;
    char uplo = args->p->ints[0] ? 'U' : 'L';
    int64_t n = a->shape[a->ndim - 1];
    batch_t bt;
    batch_of(&bt, a, a->ndim - 2);
    if (n == 0 || bt.count == 0) return MF_OK;
    scratch s = {{0}, 0};
    void *w = scratch_get(&s, n * n, mf_dtype_size(dt));
    void *lam = w ? scratch_get(&s, n, mf_dtype_size(dt)) : NULL;
    if (!lam) return scratch_free(&s, MF_ENOMEM);
    for (int64_t b = 0; b < bt.count; b++) {
        int info = 0;
        mat sa = mat_at(&bt, a, b), dv = mat_at(&bt, vec, b), dl = vec_at(&bt, ev, b);
        load_cm(dt, w, n, &sa);
        if (!all_finite(dt, w, n, n, n, uplo)) return scratch_free(&s, not_finite(1, &bt, b));
        mf_status st = mf_blas_syevd(dt, uplo, n, w, n, lam, &info);
        if (st) return scratch_free(&s, st);
        if (info < 0) return scratch_free(&s, lapack_bug("syevd", info));
        if (info > 0) {
            char where[WHERE_LEN];
            return scratch_free(&s, mf_error_set(MF_EINVAL, 1,
                                                 "the eigenvalue algorithm did not converge%s",
                                                 batch_where(where, sizeof where, &bt, b)));
        }
        store_cm(&dl, lam, n, 0);
        store_cm(&dv, w, n, 0);
    }
    return scratch_free(&s, MF_OK);
}

const mf_op mf_oprec_eigh = {"eigh", 1, 2, 0, infer_eigh, forward_eigh, NULL};

/* ================================================================ wrappers */

static mf_status run2(mf_op_id id, mf_tensor **out, mf_tensor *a, mf_tensor *b,
                      const mf_op_params *p)
{
    mf_tensor *in[2] = {a, b};
    return mf_op_run(id, 2, in, p, out);
}

static mf_status run2_into(mf_op_id id, mf_tensor *dst, mf_tensor *a, mf_tensor *b, int out_arg)
{
    mf_tensor *in[2] = {a, b};
    return mf_op_run_into(id, 2, in, NULL, &dst, out_arg);
}

mf_status mf_tensor_matmul(mf_tensor **out, mf_tensor *a, mf_tensor *b)
{
    return run2(MF_OP_MATMUL, out, a, b, NULL);
}

mf_status mf_tensor_matmul_into(mf_tensor *dst, mf_tensor *a, mf_tensor *b)
{
    return run2_into(MF_OP_MATMUL, dst, a, b, 3);
}

static mf_status need_dims(const mf_tensor *t, int ndim, int arg)
{
    char s[MF_SHAPE_STRLEN];
    if (t->ndim == ndim) return MF_OK;
    return mf_error_set(MF_EINVAL, arg, "expected a %d-D tensor, got shape %s", ndim,
                        mf_shape_str(s, sizeof s, t->ndim, t->shape));
}

static mf_status check_mm(const mf_tensor *a, const mf_tensor *b)
{
    mf_status st = need_dims(a, 2, 1);
    return st ? st : need_dims(b, 2, 2);
}

static mf_status check_bmm(const mf_tensor *a, const mf_tensor *b)
{
    mf_status st = need_dims(a, 3, 1);
    if (st == MF_OK) st = need_dims(b, 3, 2);
    if (st == MF_OK && a->shape[0] != b->shape[0]) {
        char s1[MF_SHAPE_STRLEN], s2[MF_SHAPE_STRLEN];
        return mf_error_set(MF_EINVAL, 2, "batch sizes of %s and %s differ: %lld ~= %lld",
                            mf_shape_str(s1, sizeof s1, a->ndim, a->shape),
                            mf_shape_str(s2, sizeof s2, b->ndim, b->shape),
                            (long long)a->shape[0], (long long)b->shape[0]);
    }
    return st;
}

static mf_status check_mv(const mf_tensor *a, const mf_tensor *b)
{
    mf_status st = need_dims(a, 2, 1);
    return st ? st : need_dims(b, 1, 2);
}

static mf_status check_dot(const mf_tensor *a, const mf_tensor *b)
{
    mf_status st = need_dims(a, 1, 1);
    return st ? st : need_dims(b, 1, 2);
}

#define STRICT_PRODUCT(NAME, CHECK)                                                         \
    mf_status mf_tensor_##NAME(mf_tensor **out, mf_tensor *a, mf_tensor *b)                \
    {                                                                                      \
        mf_status st = CHECK(a, b);                                                        \
        *out = NULL;                                                                       \
        return st ? st : run2(MF_OP_MATMUL, out, a, b, NULL);                              \
    }                                                                                      \
    mf_status mf_tensor_##NAME##_into(mf_tensor *dst, mf_tensor *a, mf_tensor *b)         \
    {                                                                                      \
        mf_status st = CHECK(a, b);                                                        \
        return st ? st : run2_into(MF_OP_MATMUL, dst, a, b, 3);                            \
    }

STRICT_PRODUCT(mm, check_mm)
STRICT_PRODUCT(bmm, check_bmm)
STRICT_PRODUCT(mv, check_mv)
STRICT_PRODUCT(dot, check_dot)

/* outer = a as a column times b as a row (two views and a matmul) */
static mf_status outer_run(mf_tensor **out, mf_tensor *dst, mf_tensor *a, mf_tensor *b)
{
    mf_status st = check_dot(a, b);
    if (st) return st;
    mf_tensor *col = NULL, *row = NULL;
    st = mf_tensor_unsqueeze(&col, a, 1);
    if (st == MF_OK) st = mf_tensor_unsqueeze(&row, b, 0);
    if (st == MF_OK)
        st = dst ? run2_into(MF_OP_MATMUL, dst, col, row, 3)
                 : run2(MF_OP_MATMUL, out, col, row, NULL);
    mf_tensor_release(col);
    mf_tensor_release(row);
    return st;
}

mf_status mf_tensor_outer(mf_tensor **out, mf_tensor *a, mf_tensor *b)
{
    *out = NULL;
    return outer_run(out, NULL, a, b);
}

mf_status mf_tensor_outer_into(mf_tensor *dst, mf_tensor *a, mf_tensor *b)
{
    return outer_run(NULL, dst, a, b);
}

static mf_op_params addmm_params(double alpha, double beta)
{
    mf_op_params p = {0};
    p.scalars[0] = alpha;
    p.scalars[1] = beta;
    return p;
}

mf_status mf_tensor_addmm(mf_tensor **out, mf_tensor *c, mf_tensor *a, mf_tensor *b,
                          double alpha, double beta)
{
    mf_tensor *in[3] = {c, a, b};
    mf_op_params p = addmm_params(alpha, beta);
    return mf_op_run(MF_OP_ADDMM, 3, in, &p, out);
}

mf_status mf_tensor_addmm_into(mf_tensor *dst, mf_tensor *c, mf_tensor *a, mf_tensor *b,
                               double alpha, double beta)
{
    mf_tensor *in[3] = {c, a, b};
    mf_op_params p = addmm_params(alpha, beta);
    return mf_op_run_into(MF_OP_ADDMM, 3, in, &p, &dst, 4);
}

static mf_op_params int_param(int64_t v)
{
    mf_op_params p = {0};
    p.n_ints = 1;
    p.ints[0] = v;
    return p;
}

mf_status mf_linalg_solve(mf_tensor **x, mf_tensor *a, mf_tensor *b)
{
    return run2(MF_OP_SOLVE, x, a, b, NULL);
}

mf_status mf_linalg_inv(mf_tensor **out, mf_tensor *a)
{
    return mf_op_run1(MF_OP_INV, a, NULL, out);
}

mf_status mf_linalg_det(mf_tensor **out, mf_tensor *a)
{
    return mf_op_run1(MF_OP_DET, a, NULL, out);
}

mf_status mf_linalg_cholesky(mf_tensor **out, mf_tensor *a, int upper)
{
    mf_op_params p = int_param(upper != 0);
    return mf_op_run1(MF_OP_CHOLESKY, a, &p, out);
}

mf_status mf_linalg_qr(mf_tensor **q, mf_tensor **r, mf_tensor *a, mf_qr_mode mode)
{
    mf_tensor *res[2];
    mf_op_params p = int_param((int64_t)mode);
    mf_status st = mf_op_run(MF_OP_QR, 1, &a, &p, res);
    *q = res[0];
    *r = res[1];
    return st;
}

mf_status mf_linalg_svd(mf_tensor **u, mf_tensor **s, mf_tensor **vh, mf_tensor *a,
                        int full_matrices)
{
    mf_tensor *res[3];
    mf_op_params p = int_param(full_matrices != 0);
    mf_status st = mf_op_run(MF_OP_SVD, 1, &a, &p, res);
    *u = res[0];
    *s = res[1];
    *vh = res[2];
    return st;
}

mf_status mf_linalg_eigh(mf_tensor **w, mf_tensor **v, mf_tensor *a, char uplo)
{
    mf_tensor *res[2];
    *w = *v = NULL;
    if (uplo != 'L' && uplo != 'U' && uplo != 'l' && uplo != 'u')
        return mf_error_set(MF_EINVAL, 2, "uplo must be 'L' or 'U', got '%c'", uplo);
    mf_op_params p = int_param(uplo == 'U' || uplo == 'u');
    mf_status st = mf_op_run(MF_OP_EIGH, 1, &a, &p, res);
    *w = res[0];
    *v = res[1];
    return st;
}

mf_status mf_linalg_lstsq(mf_tensor **x, mf_tensor **residuals, mf_tensor **rank, mf_tensor *a,
                          mf_tensor *b, double rcond)
{
    mf_tensor *in[2] = {a, b}, *res[3];
    mf_op_params p = {0};
    p.scalars[0] = rcond;
    mf_status st = mf_op_run(MF_OP_LSTSQ, 2, in, &p, res);
    *x = res[0];
    *residuals = res[1];
    *rank = res[2];
    return st;
}
