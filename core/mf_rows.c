/*
 * mf_rows.c — grouping rows by value (hashing), per-group reductions and
 * join index pairs (see mf_rows.h).
 *
 * Factorize: the hash of every row is computed column by column (cache
 * friendly, in parallel over row ranges: each row's hash depends on that row
 * only, so the result does not depend on the thread count), then the rows are
 * inserted in order into an open-addressing table of group numbers (linear
 * probing, capacity a power of two >= 2n). A slot matches when the stored
 * group's first row has the same hash and equal values in every column.
 */
#include <math.h>
#include <string.h>

#include "mf_rows.h"
#include "mf_thread.h"

static mf_status nomem(void) { return mf_error_set(MF_ENOMEM, 0, "not enough memory"); }

/* A 1-D column: base pointer and stride (elements). */
typedef struct col_view {
    mf_dtype dt;
    const char *p;
    int64_t stride;
} col_view;

static void view_of(col_view *v, const mf_tensor *t)
{
    v->dt = t->dtype;
    v->p = (const char *)mf_tensor_data(t);
    v->stride = t->ndim == 1 ? t->stride[0] : 0;
}

static inline double get_f64(const col_view *v, int64_t i)
{
    return ((const double *)(const void *)v->p)[i * v->stride];
}
static inline int64_t get_i64(const col_view *v, int64_t i)
{
    return ((const int64_t *)(const void *)v->p)[i * v->stride];
}
static inline unsigned char get_b(const col_view *v, int64_t i)
{
    return ((const unsigned char *)v->p)[i * v->stride];
}

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* Bits of a float with NaN and -0.0 canonicalised (equal values, equal bits). */
static inline uint64_t f64_key(double d)
{
    uint64_t b;
    if (d != d) return 0x7ff8000000000000ULL;
    if (d == 0) return 0;
    memcpy(&b, &d, sizeof b);
    return b;
}

static inline uint64_t elem_key(const col_view *v, int64_t i)
{
    switch (v->dt) {
    case MF_FLOAT64: return f64_key(get_f64(v, i));
    case MF_INT64: return (uint64_t)get_i64(v, i);
    default: return get_b(v, i);
    }
}

static inline int elem_eq(const col_view *v, int64_t a, int64_t b)
{
    switch (v->dt) {
    case MF_FLOAT64: {
        double x = get_f64(v, a), y = get_f64(v, b);
        return x == y || (x != x && y != y);
    }
    case MF_INT64: return get_i64(v, a) == get_i64(v, b);
    default: return get_b(v, a) == get_b(v, b);
    }
}

typedef struct hash_ctx {
    const col_view *cols;
    int ncols;
    uint64_t *h;
} hash_ctx;

static void hash_range(int64_t lo, int64_t hi, void *vctx)
{
    const hash_ctx *c = vctx;
    for (int64_t i = lo; i < hi; i++) c->h[i] = 0x243f6a8885a308d3ULL;
    for (int j = 0; j < c->ncols; j++) {
        const col_view *v = &c->cols[j];
        uint64_t salt = (uint64_t)0x9e3779b97f4a7c15ULL * (uint64_t)(j + 1);
        for (int64_t i = lo; i < hi; i++) {
            uint64_t k = mix64(elem_key(v, i) + salt);
            uint64_t h = c->h[i];
            c->h[i] = ((h << 23) | (h >> 41)) ^ k;
        }
    }
    for (int64_t i = lo; i < hi; i++) c->h[i] = mix64(c->h[i]);
}

static int rows_eq(const col_view *cols, int ncols, int64_t a, int64_t b)
{
    for (int j = 0; j < ncols; j++)
        if (!elem_eq(&cols[j], a, b)) return 0;
    return 1;
}

static mf_status check_column(const mf_tensor *t, int64_t n, int arg, int j)
{
    if (!t || t->ndim != 1)
        return mf_error_set(MF_EINVAL, arg, "column %d must be a 1-D tensor", j + 1);
    if (t->dtype != MF_FLOAT64 && t->dtype != MF_INT64 && t->dtype != MF_BOOL)
        return mf_error_set(MF_EINVAL, arg,
                            "column %d has dtype %s (expected float64, int64 or bool)", j + 1,
                            mf_dtype_name(t->dtype));
    if (n >= 0 && t->shape[0] != n)
        return mf_error_set(MF_EINVAL, arg,
                            "column %d has %lld rows, column 1 has %lld", j + 1,
                            (long long)t->shape[0], (long long)n);
    return MF_OK;
}

/* A new contiguous int64 [n] tensor holding a copy of src (may be NULL). */
static mf_status new_i64(mf_tensor **out, int64_t n, const int64_t *src)
{
    mf_status st = mf_tensor_new(out, MF_INT64, 1, &n);
    if (st != MF_OK) return st;
    if (src && n > 0) memcpy(mf_tensor_data(*out), src, (size_t)n * sizeof *src);
    return MF_OK;
}

mf_status mf_rows_factorize(mf_tensor *const *cols, int ncols, mf_tensor **ids,
                            int64_t *ngroups, mf_tensor **first, mf_tensor **last)
{
    *ids = NULL;
    *ngroups = 0;
    if (first) *first = NULL;
    if (last) *last = NULL;
    if (ncols < 1) return mf_error_set(MF_EINVAL, 1, "expected at least one column");
    mf_status st = check_column(cols[0], -1, 1, 0);
    if (st != MF_OK) return st;
    int64_t n = cols[0]->shape[0];
    for (int j = 1; j < ncols; j++)
        if ((st = check_column(cols[j], n, 1, j)) != MF_OK) return st;

    uint64_t cap = 16;
    while (cap < 2 * (uint64_t)n) cap *= 2;
    col_view *cv = mf_malloc((size_t)ncols * sizeof *cv);
    uint64_t *h = mf_malloc((size_t)(n > 0 ? n : 1) * sizeof *h);
    int64_t *fst = mf_malloc((size_t)(n > 0 ? n : 1) * sizeof *fst);
    int64_t *lst = last ? mf_malloc((size_t)(n > 0 ? n : 1) * sizeof *lst) : NULL;
    int64_t *slots = mf_malloc((size_t)cap * sizeof *slots);
    mf_tensor *idt = NULL;
    if (!cv || !h || !fst || !slots || (last && !lst)) {
        st = nomem();
        goto done;
    }
    if ((st = new_i64(&idt, n, NULL)) != MF_OK) goto done;
    for (int j = 0; j < ncols; j++) view_of(&cv[j], cols[j]);
    hash_ctx hc = {cv, ncols, h};
    mf_parallel_for(n, 1 << 14, hash_range, &hc);

    memset(slots, 0xff, (size_t)cap * sizeof *slots); /* -1: empty */
    int64_t *id = mf_tensor_data(idt);
    int64_t ng = 0;
    uint64_t mask = cap - 1;
    for (int64_t i = 0; i < n; i++) {
        uint64_t s = h[i] & mask;
        int64_t g;
        for (;;) {
            g = slots[s];
            if (g < 0) {
                g = ng++;
                slots[s] = g;
                fst[g] = i;
                break;
            }
            int64_t r = fst[g];
            if (h[r] == h[i] && rows_eq(cv, ncols, r, i)) break;
            s = (s + 1) & mask;
        }
        id[i] = g;
        if (lst) lst[g] = i;
    }
    if (first && (st = new_i64(first, ng, fst)) != MF_OK) goto done;
    if (last && (st = new_i64(last, ng, lst)) != MF_OK) goto done;
    *ids = idt;
    idt = NULL;
    *ngroups = ng;
done:
    if (st != MF_OK) {
        if (first && *first) mf_tensor_release(*first), *first = NULL;
        if (last && *last) mf_tensor_release(*last), *last = NULL;
    }
    mf_tensor_release(idt);
    mf_free(cv);
    mf_free(h);
    mf_free(fst);
    mf_free(lst);
    mf_free(slots);
    return st;
}

/* ------------------------------------------------------------------ reductions */

static mf_status check_ids(const mf_tensor *ids, int64_t n, int arg)
{
    if (!ids || ids->ndim != 1 || ids->dtype != MF_INT64)
        return mf_error_set(MF_EINVAL, arg, "ids must be a 1-D int64 tensor");
    if (n >= 0 && ids->shape[0] != n)
        return mf_error_set(MF_EINVAL, arg, "ids have %lld entries, expected %lld",
                            (long long)ids->shape[0], (long long)n);
    return MF_OK;
}

static void release_agg(mf_rows_agg *a)
{
    mf_tensor **f[] = {&a->count, &a->sum, &a->mean, &a->std, &a->min, &a->max};
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++) {
        mf_tensor_release(*f[k]);
        *f[k] = NULL;
    }
}

static mf_status new_f64(mf_tensor **out, int64_t n)
{
    return mf_tensor_new(out, MF_FLOAT64, 1, &n);
}

mf_status mf_rows_group_agg(const mf_tensor *values, const mf_tensor *ids, int64_t ngroups,
                            unsigned what, mf_rows_agg *out)
{
    memset(out, 0, sizeof *out);
    mf_status st = check_column(values, -1, 1, 0);
    if (st != MF_OK) return st;
    int64_t n = values->shape[0];
    if ((st = check_ids(ids, n, 2)) != MF_OK) return st;
    if (ngroups < 0) return mf_error_set(MF_EINVAL, 3, "ngroups must be >= 0");
    col_view v, iv;
    view_of(&v, values);
    view_of(&iv, ids);
    for (int64_t i = 0; i < n; i++) {
        int64_t g = get_i64(&iv, i);
        if (g < -1 || g >= ngroups)
            return mf_error_set(MF_ERANGE, 2, "id %lld at row %lld is out of range [0, %lld)",
                                (long long)g, (long long)i, (long long)ngroups);
    }
    size_t gn = (size_t)(ngroups > 0 ? ngroups : 1);
    int64_t *cnt = mf_calloc(gn, sizeof *cnt);
    double *sum = mf_calloc(gn, sizeof *sum);
    uint64_t *isum = mf_calloc(gn, sizeof *isum);
    double *fmin = mf_malloc(gn * sizeof *fmin), *fmax = mf_malloc(gn * sizeof *fmax);
    double *m2 = (what & MF_ROWS_STD) ? mf_calloc(gn, sizeof *m2) : NULL;
    int64_t *imin = mf_malloc(gn * sizeof *imin), *imax = mf_malloc(gn * sizeof *imax);
    if (!cnt || !sum || !isum || !fmin || !fmax || !imin || !imax || ((what & MF_ROWS_STD) && !m2)) {
        st = nomem();
        goto done;
    }
    int isint = values->dtype != MF_FLOAT64;
    for (int64_t g = 0; g < ngroups; g++) {
        fmin[g] = INFINITY;
        fmax[g] = -INFINITY;
        imin[g] = INT64_MAX;
        imax[g] = INT64_MIN;
    }
    if (isint) {
        for (int64_t i = 0; i < n; i++) {
            int64_t g = get_i64(&iv, i);
            if (g < 0) continue;
            int64_t x = values->dtype == MF_INT64 ? get_i64(&v, i) : (int64_t)get_b(&v, i);
            cnt[g]++;
            isum[g] += (uint64_t)x;
            sum[g] += (double)x;
            if (x < imin[g]) imin[g] = x;
            if (x > imax[g]) imax[g] = x;
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            int64_t g = get_i64(&iv, i);
            double x = get_f64(&v, i);
            if (g < 0 || x != x) continue;
            cnt[g]++;
            sum[g] += x;
            if (x < fmin[g]) fmin[g] = x;
            if (x > fmax[g]) fmax[g] = x;
        }
    }
    if (m2) { /* second pass around each group's mean: accurate */
        for (int64_t i = 0; i < n; i++) {
            int64_t g = get_i64(&iv, i);
            if (g < 0) continue;
            double x = values->dtype == MF_FLOAT64 ? get_f64(&v, i)
                       : values->dtype == MF_INT64 ? (double)get_i64(&v, i)
                                                   : (double)get_b(&v, i);
            if (x != x) continue;
            double d = x - sum[g] / (double)cnt[g];
            m2[g] += d * d;
        }
    }
    int64_t empty = 0;
    for (int64_t g = 0; g < ngroups; g++) empty += cnt[g] == 0;
    if (what & MF_ROWS_COUNT) {
        if ((st = new_i64(&out->count, ngroups, cnt)) != MF_OK) goto done;
    }
    if (what & MF_ROWS_SUM) {
        if (isint) {
            if ((st = new_i64(&out->sum, ngroups, (const int64_t *)isum)) != MF_OK) goto done;
        } else {
            if ((st = new_f64(&out->sum, ngroups)) != MF_OK) goto done;
            if (ngroups > 0)
                memcpy(mf_tensor_data(out->sum), sum, (size_t)ngroups * sizeof *sum);
        }
    }
    if (what & MF_ROWS_MEAN) {
        if ((st = new_f64(&out->mean, ngroups)) != MF_OK) goto done;
        double *m = mf_tensor_data(out->mean);
        for (int64_t g = 0; g < ngroups; g++) m[g] = cnt[g] ? sum[g] / (double)cnt[g] : NAN;
    }
    if (what & MF_ROWS_STD) {
        if ((st = new_f64(&out->std, ngroups)) != MF_OK) goto done;
        double *s = mf_tensor_data(out->std);
        for (int64_t g = 0; g < ngroups; g++)
            s[g] = cnt[g] > 1 ? sqrt(m2[g] / (double)(cnt[g] - 1)) : NAN;
    }
    for (int k = 0; k < 2; k++) {
        unsigned flag = k == 0 ? MF_ROWS_MIN : MF_ROWS_MAX;
        if (!(what & flag)) continue;
        mf_tensor **dst = k == 0 ? &out->min : &out->max;
        const double *fv = k == 0 ? fmin : fmax;
        const int64_t *iv2 = k == 0 ? imin : imax;
        if (isint && !empty) {
            if (values->dtype == MF_INT64) {
                if ((st = new_i64(dst, ngroups, iv2)) != MF_OK) goto done;
            } else {
                if ((st = mf_tensor_new(dst, MF_BOOL, 1, &ngroups)) != MF_OK) goto done;
                unsigned char *b = mf_tensor_data(*dst);
                for (int64_t g = 0; g < ngroups; g++) b[g] = (unsigned char)iv2[g];
            }
        } else {
            if ((st = new_f64(dst, ngroups)) != MF_OK) goto done;
            double *d = mf_tensor_data(*dst);
            for (int64_t g = 0; g < ngroups; g++)
                d[g] = cnt[g] == 0 ? NAN : isint ? (double)iv2[g] : fv[g];
        }
    }
done:
    if (st != MF_OK) release_agg(out);
    mf_free(cnt);
    mf_free(sum);
    mf_free(isum);
    mf_free(fmin);
    mf_free(fmax);
    mf_free(m2);
    mf_free(imin);
    mf_free(imax);
    return st;
}

/* ------------------------------------------------------------------ join */

/* Rows of side [lo, hi) of ids bucketed by group (counting sort, stable):
 * rows of group g are rows[start[g] .. start[g+1]). */
static mf_status bucket(const col_view *iv, int64_t lo, int64_t hi, int64_t ngroups,
                        int64_t **start_out, int64_t **rows_out)
{
    int64_t *start = mf_calloc((size_t)ngroups + 1, sizeof *start);
    int64_t *rows = mf_malloc((size_t)(hi - lo > 0 ? hi - lo : 1) * sizeof *rows);
    if (!start || !rows) {
        mf_free(start);
        mf_free(rows);
        return nomem();
    }
    for (int64_t i = lo; i < hi; i++) start[get_i64(iv, i) + 1]++;
    for (int64_t g = 0; g < ngroups; g++) start[g + 1] += start[g];
    /* fill using a moving cursor: start[g] is advanced, then shifted back */
    for (int64_t i = lo; i < hi; i++) rows[start[get_i64(iv, i)]++] = i - lo;
    for (int64_t g = ngroups; g > 0; g--) start[g] = start[g - 1];
    start[0] = 0;
    *start_out = start;
    *rows_out = rows;
    return MF_OK;
}

mf_status mf_rows_join(const mf_tensor *ids, int64_t nleft, int64_t ngroups, mf_rows_how how,
                       const mf_tensor *order, mf_tensor **lidx, mf_tensor **ridx)
{
    *lidx = *ridx = NULL;
    mf_status st = check_ids(ids, -1, 1);
    if (st != MF_OK) return st;
    int64_t n = ids->shape[0];
    if (nleft < 0 || nleft > n) return mf_error_set(MF_EINVAL, 2, "nleft out of range");
    if (ngroups < 0) return mf_error_set(MF_EINVAL, 3, "ngroups must be >= 0");
    col_view iv, ov = {MF_INT64, NULL, 0};
    view_of(&iv, ids);
    for (int64_t i = 0; i < n; i++) {
        int64_t g = get_i64(&iv, i);
        if (g < 0 || g >= ngroups)
            return mf_error_set(MF_ERANGE, 1, "id %lld at row %lld is out of range [0, %lld)",
                                (long long)g, (long long)i, (long long)ngroups);
    }
    if (how == MF_ROWS_OUTER) {
        if ((st = check_ids(order, ngroups, 5)) != MF_OK) return st;
        view_of(&ov, order);
    }
    int64_t nright = n - nleft;
    int64_t *ls = NULL, *lr = NULL, *rs = NULL, *rr = NULL;
    unsigned char *seen = NULL;
    if ((st = bucket(&iv, 0, nleft, ngroups, &ls, &lr)) != MF_OK) goto done;
    if ((st = bucket(&iv, nleft, n, ngroups, &rs, &rr)) != MF_OK) goto done;
    if (how == MF_ROWS_OUTER) {
        seen = mf_calloc((size_t)ngroups + 1, 1);
        if (!seen) {
            st = nomem();
            goto done;
        }
        for (int64_t k = 0; k < ngroups; k++) {
            int64_t g = get_i64(&ov, k);
            if (g < 0 || g >= ngroups || seen[g]) {
                st = mf_error_set(MF_EINVAL, 5, "order must be a permutation of the groups");
                goto done;
            }
            seen[g] = 1;
        }
    }
    /* count, then fill (pass 0 counts, pass 1 writes) */
    int64_t total = 0, *lo = NULL, *ro = NULL;
    for (int pass = 0; pass < 2; pass++) {
        int64_t k = 0;
#define EMIT(a, b)                                                              \
    do {                                                                        \
        if (pass) lo[k] = (a), ro[k] = (b);                                     \
        k++;                                                                    \
    } while (0)
        if (how == MF_ROWS_INNER || how == MF_ROWS_LEFT) {
            for (int64_t i = 0; i < nleft; i++) {
                int64_t g = get_i64(&iv, i);
                if (rs[g] == rs[g + 1]) {
                    if (how == MF_ROWS_LEFT) EMIT(i, -1);
                    continue;
                }
                for (int64_t q = rs[g]; q < rs[g + 1]; q++) EMIT(i, rr[q]);
            }
        } else if (how == MF_ROWS_RIGHT) {
            for (int64_t j = 0; j < nright; j++) {
                int64_t g = get_i64(&iv, nleft + j);
                if (ls[g] == ls[g + 1]) {
                    EMIT(-1, j);
                    continue;
                }
                for (int64_t q = ls[g]; q < ls[g + 1]; q++) EMIT(lr[q], j);
            }
        } else {
            for (int64_t t = 0; t < ngroups; t++) {
                int64_t g = get_i64(&ov, t);
                int64_t nl = ls[g + 1] - ls[g], nr = rs[g + 1] - rs[g];
                if (nl && nr) {
                    for (int64_t p = ls[g]; p < ls[g + 1]; p++)
                        for (int64_t q = rs[g]; q < rs[g + 1]; q++) EMIT(lr[p], rr[q]);
                } else if (nl) {
                    for (int64_t p = ls[g]; p < ls[g + 1]; p++) EMIT(lr[p], -1);
                } else {
                    for (int64_t q = rs[g]; q < rs[g + 1]; q++) EMIT(-1, rr[q]);
                }
            }
        }
#undef EMIT
        if (pass == 0) {
            total = k;
            if ((st = new_i64(lidx, total, NULL)) != MF_OK) goto done;
            if ((st = new_i64(ridx, total, NULL)) != MF_OK) goto done;
            lo = mf_tensor_data(*lidx);
            ro = mf_tensor_data(*ridx);
        }
    }
done:
    if (st != MF_OK) {
        mf_tensor_release(*lidx);
        mf_tensor_release(*ridx);
        *lidx = *ridx = NULL;
    }
    mf_free(ls);
    mf_free(lr);
    mf_free(rs);
    mf_free(rr);
    mf_free(seen);
    return st;
}

/* ------------------------------------------------------------------ take */

typedef struct take_ctx {
    const mf_tensor *col;
    const col_view *cvp, *ivp;
    mf_dtype odt;
    void *o;
} take_ctx;

static void take_range(int64_t lo, int64_t hi, void *vctx)
{
    const take_ctx *tc = vctx;
    const mf_tensor *col = tc->col;
    col_view cv = *tc->cvp, iv = *tc->ivp;
    mf_dtype odt = tc->odt;
    void *o = tc->o;
    const int64_t *ix = (const int64_t *)(const void *)iv.p;
    int64_t is = iv.stride, cs = cv.stride;
    if (odt == MF_FLOAT64 && col->dtype == MF_FLOAT64) {
        const double *src = (const double *)(const void *)cv.p;
        double *dst = o;
        for (int64_t i = lo; i < hi; i++) {
            int64_t k = ix[i * is];
            dst[i] = k < 0 ? NAN : src[k * cs];
        }
    } else if (odt == MF_FLOAT64) {
        double *dst = o;
        for (int64_t i = lo; i < hi; i++) {
            int64_t k = ix[i * is];
            dst[i] = k < 0                   ? NAN
                     : col->dtype == MF_INT64 ? (double)get_i64(&cv, k)
                                              : (double)get_b(&cv, k);
        }
    } else if (odt == MF_INT64) {
        const int64_t *src = (const int64_t *)(const void *)cv.p;
        int64_t *dst = o;
        for (int64_t i = lo; i < hi; i++) {
            int64_t k = ix[i * is];
            dst[i] = k < 0 ? 0 : src[k * cs];
        }
    } else {
        unsigned char *dst = o;
        for (int64_t i = lo; i < hi; i++) dst[i] = get_b(&cv, ix[i * is]);
    }
}

mf_status mf_rows_take(mf_tensor **out, const mf_tensor *col, const mf_tensor *idx, int codes)
{
    *out = NULL;
    mf_status st = check_column(col, -1, 1, 0);
    if (st != MF_OK) return st;
    if ((st = check_ids(idx, -1, 2)) != MF_OK) return st;
    if (codes && col->dtype != MF_INT64)
        return mf_error_set(MF_EINVAL, 1, "string codes must be int64");
    int64_t len = col->shape[0], m = idx->shape[0];
    col_view cv, iv;
    view_of(&cv, col);
    view_of(&iv, idx);
    int any_missing = 0;
    for (int64_t i = 0; i < m; i++) {
        int64_t k = get_i64(&iv, i);
        if (k < -1 || k >= len)
            return mf_error_set(MF_ERANGE, 2, "index %lld out of range [-1, %lld)", (long long)k,
                                (long long)len);
        any_missing |= k < 0;
    }
    mf_dtype odt = col->dtype;
    if (any_missing && !codes) odt = MF_FLOAT64;
    if ((st = mf_tensor_new(out, odt, 1, &m)) != MF_OK) return st;
    take_ctx tc = {col, &cv, &iv, odt, mf_tensor_data(*out)};
    mf_parallel_for(m, 1 << 15, take_range, &tc);
    return MF_OK;
}

/* ------------------------------------------------------------------ string levels */

static int str_cmp(const mf_rows_strings *s, int64_t a, int64_t b)
{
    size_t la = s->len[a], lb = s->len[b];
    int c = memcmp(s->s[a], s->s[b], la < lb ? la : lb);
    if (c) return c;
    if (la != lb) return la < lb ? -1 : 1;
    return a < b ? -1 : a > b;
}

/* A sort key: the first 16 bytes of the string, big-endian (zero padded),
 * so that most comparisons touch only this array; ties on the prefix are
 * settled by the whole strings. */
typedef struct skey {
    uint64_t p0, p1;
    int64_t i;
} skey;

static uint64_t load_be(const char *s, size_t len, size_t at)
{
    uint64_t v = 0;
    for (size_t k = 0; k < 8; k++) {
        unsigned char c = at + k < len ? (unsigned char)s[at + k] : 0;
        v = (v << 8) | c;
    }
    return v;
}

static inline int skey_le(const mf_rows_strings *s, const skey *a, const skey *b)
{
    if (a->p0 != b->p0) return a->p0 < b->p0;
    if (a->p1 != b->p1) return a->p1 < b->p1;
    return str_cmp(s, a->i, b->i) <= 0;
}

/* Merge sort (stable, O(n log n), no recursion), ping-ponging between p and
 * tmp; returns the buffer holding the result. Sorted input takes one pass. */
static skey *sort_keys_(const mf_rows_strings *s, skey *p, skey *tmp, int64_t n)
{
    int64_t k = 1;
    while (k < n && skey_le(s, &p[k - 1], &p[k])) k++;
    if (k >= n) return p;
    for (int64_t width = 1; width < n; width *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * width) {
            int64_t mid = lo + width < n ? lo + width : n;
            int64_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            int64_t i = lo, j = mid, o = lo;
            if (mid >= hi || skey_le(s, &p[mid - 1], &p[mid])) { /* already in order */
                memcpy(tmp + lo, p + lo, (size_t)(hi - lo) * sizeof *p);
                continue;
            }
            while (i < mid && j < hi) tmp[o++] = skey_le(s, &p[i], &p[j]) ? p[i++] : p[j++];
            while (i < mid) tmp[o++] = p[i++];
            while (j < hi) tmp[o++] = p[j++];
        }
        skey *sw = p;
        p = tmp;
        tmp = sw;
    }
    return p;
}

mf_status mf_rows_string_ranks(const mf_rows_strings *s, mf_tensor **ranks)
{
    *ranks = NULL;
    if (s->n < 0) return mf_error_set(MF_EINVAL, 1, "negative number of strings");
    int64_t n = s->n;
    size_t cap = (size_t)(n > 0 ? n : 1);
    skey *p = mf_malloc(cap * sizeof *p), *tmp = mf_malloc(cap * sizeof *tmp);
    mf_status st = MF_OK;
    if (!p || !tmp) {
        st = nomem();
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        p[i].p0 = load_be(s->s[i], s->len[i], 0);
        p[i].p1 = load_be(s->s[i], s->len[i], 8);
        p[i].i = i;
    }
    const skey *sorted = sort_keys_(s, p, tmp, n);
    if ((st = new_i64(ranks, n, NULL)) != MF_OK) goto done;
    int64_t *r = mf_tensor_data(*ranks);
    for (int64_t k = 0; k < n; k++) r[sorted[k].i] = k;
done:
    mf_free(p);
    mf_free(tmp);
    return st;
}

static uint64_t str_hash(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ (uint64_t)len;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        h = mix64(h ^ w);
    }
    uint64_t w = 0;
    if (i < len) memcpy(&w, s + i, len - i);
    return mix64(h ^ w ^ 0x9e3779b97f4a7c15ULL);
}

mf_status mf_rows_merge_levels(const mf_rows_strings *a, const mf_rows_strings *b, mf_tensor **map,
                               mf_tensor **newidx)
{
    *map = *newidx = NULL;
    if (a->n < 0 || b->n < 0) return mf_error_set(MF_EINVAL, 1, "negative number of strings");
    int64_t total = a->n + b->n;
    uint64_t cap = 16;
    while (cap < 2 * (uint64_t)total) cap *= 2;
    /* slots hold union positions + 1 (0 = empty); strings of the union:
     * position < a->n is a's, else b's at newpos[position - a->n] */
    int64_t *slots = mf_calloc((size_t)cap, sizeof *slots);
    int64_t *newpos = mf_malloc((size_t)(b->n > 0 ? b->n : 1) * sizeof *newpos);
    mf_status st = MF_OK;
    if (!slots || !newpos) {
        st = nomem();
        goto done;
    }
    if ((st = new_i64(map, b->n, NULL)) != MF_OK) goto done;
    int64_t *m = mf_tensor_data(*map), nnew = 0, nu = a->n;
    uint64_t mask = cap - 1;
    for (int64_t i = 0; i < a->n + b->n; i++) {
        int from_a = i < a->n;
        int64_t k = from_a ? i : i - a->n;
        const char *str = from_a ? a->s[k] : b->s[k];
        size_t len = from_a ? a->len[k] : b->len[k];
        uint64_t sl = str_hash(str, len) & mask;
        int64_t found = -1;
        for (;;) {
            int64_t u = slots[sl] - 1;
            if (u < 0) break;
            const char *us = u < a->n ? a->s[u] : b->s[newpos[u - a->n]];
            size_t ul = u < a->n ? a->len[u] : b->len[newpos[u - a->n]];
            if (ul == len && memcmp(us, str, len) == 0) {
                found = u;
                break;
            }
            sl = (sl + 1) & mask;
        }
        if (from_a) {
            if (found < 0) slots[sl] = k + 1; /* a duplicate in a keeps its first copy */
            continue;
        }
        if (found < 0) {
            newpos[nnew++] = k;
            found = nu++;
            slots[sl] = found + 1;
        }
        m[k] = found;
    }
    if ((st = new_i64(newidx, nnew, newpos)) != MF_OK) goto done;
done:
    if (st != MF_OK) {
        mf_tensor_release(*map);
        *map = NULL;
    }
    mf_free(slots);
    mf_free(newpos);
    return st;
}
