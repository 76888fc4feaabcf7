/*
 * mf_format.c — tensors as text, in the manner of PyTorch:
 *
 *   tensor([[1.0000, 2.5000],
 *           [3.0000, 4.0000]], shape=[2x2], dtype=float32)
 *
 * Every element shown uses one format chosen from all of them: integers
 * ("3."), fixed ("3.1416") or scientific ("3.1416e+08") when magnitudes are
 * very large or very small. Above MF_FORMAT_THRESHOLD elements only the first
 * and last MF_FORMAT_EDGE entries of each dim are shown, with "...".
 */
#include "mf_format.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MF_FORMAT_THRESHOLD 1000
#define MF_FORMAT_EDGE 3
#define MF_FORMAT_LINEWIDTH 80

typedef struct {
    char *s;
    size_t len, cap;
    int failed;
} strbuf;

static void sb_add(strbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void sb_reserve(strbuf *b, size_t extra)
{
    if (b->failed || b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    char *s = mf_malloc(cap);
    if (!s) {
        b->failed = 1;
        return;
    }
    if (b->s) memcpy(s, b->s, b->len + 1);
    mf_free(b->s);
    b->s = s;
    b->cap = cap;
}

static void sb_add(strbuf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t k = (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1;
    sb_reserve(b, k);
    if (b->failed) return;
    memcpy(b->s + b->len, tmp, k + 1);
    b->len += k;
}

typedef enum { FMT_INT, FMT_WHOLE, FMT_FIXED, FMT_SCI } numfmt;

typedef struct {
    const mf_tensor *t;
    numfmt fmt;
    int width;
    int summarize;
    strbuf *b;
} printer;

static double elem(const mf_tensor *t, const int64_t *idx, int depth)
{
    int64_t o = t->offset;
    for (int d = 0; d < depth; d++) o += idx[d] * t->stride[d];
    return mf_load(t->dtype, t->base, o);
}

static int fmt_one(char *buf, size_t cap, numfmt f, const mf_tensor *t, double v, int64_t iv)
{
    if (t->dtype == MF_BOOL) return snprintf(buf, cap, v != 0 ? "true" : "false");
    if (t->dtype == MF_INT64) return snprintf(buf, cap, "%lld", (long long)iv);
    if (isnan(v)) return snprintf(buf, cap, "nan");
    if (isinf(v)) return snprintf(buf, cap, v > 0 ? "inf" : "-inf");
    switch (f) {
    case FMT_WHOLE: return snprintf(buf, cap, "%.0f.", v);
    case FMT_SCI: return snprintf(buf, cap, "%.4e", v);
    default: return snprintf(buf, cap, "%.4f", v);
    }
}

/* Visits the elements that will be shown (all, or the summarized edges). */
typedef void (*visit_fn)(void *ctx, double v, int64_t iv);

static void visit(const mf_tensor *t, int summarize, int64_t *idx, int depth, visit_fn fn,
                  void *ctx)
{
    if (depth == t->ndim) {
        int64_t o = t->offset;
        for (int d = 0; d < depth; d++) o += idx[d] * t->stride[d];
        int64_t iv = t->dtype == MF_INT64 ? ((const int64_t *)t->base)[o] : 0;
        fn(ctx, elem(t, idx, depth), iv);
        return;
    }
    int64_t n = t->shape[depth];
    for (int64_t i = 0; i < n; i++) {
        if (summarize && n > 2 * MF_FORMAT_EDGE && i == MF_FORMAT_EDGE) i = n - MF_FORMAT_EDGE;
        idx[depth] = i;
        visit(t, summarize, idx, depth + 1, fn, ctx);
    }
}

typedef struct {
    int all_whole, any_finite;
    double max_abs, min_abs;
} stats;

static void collect(void *ctx, double v, int64_t iv)
{
    stats *s = ctx;
    (void)iv;
    if (!isfinite(v)) return;
    double a = fabs(v);
    if (v != floor(v)) s->all_whole = 0;
    if (!s->any_finite || a > s->max_abs) s->max_abs = a;
    if (a > 0 && (s->min_abs == 0 || a < s->min_abs)) s->min_abs = a;
    s->any_finite = 1;
}

typedef struct {
    const printer *p;
    int width;
} widthctx;

static void measure(void *ctx, double v, int64_t iv)
{
    widthctx *w = ctx;
    char buf[64];
    int n = fmt_one(buf, sizeof buf, w->p->fmt, w->p->t, v, iv);
    if (n > w->width) w->width = n;
}

static void emit(printer *p, int64_t *idx, int depth, int indent)
{
    const mf_tensor *t = p->t;
    int64_t n = t->shape[depth];
    sb_add(p->b, "[");
    if (depth == t->ndim - 1) {
        int per_line = (MF_FORMAT_LINEWIDTH - indent) / (p->width + 2);
        if (per_line < 1) per_line = 1;
        int on_line = 0;
        for (int64_t i = 0; i < n; i++) {
            if (p->summarize && n > 2 * MF_FORMAT_EDGE && i == MF_FORMAT_EDGE) {
                sb_add(p->b, "..., ");
                i = n - MF_FORMAT_EDGE;
            }
            if (on_line == per_line) {
                sb_add(p->b, "\n%*s", indent + 1, "");
                on_line = 0;
            }
            idx[depth] = i;
            char buf[64];
            int64_t o = t->offset;
            for (int d = 0; d <= depth; d++) o += idx[d] * t->stride[d];
            int64_t iv = t->dtype == MF_INT64 ? ((const int64_t *)t->base)[o] : 0;
            fmt_one(buf, sizeof buf, p->fmt, t, mf_load(t->dtype, t->base, o), iv);
            sb_add(p->b, "%*s%s", p->width, buf, i + 1 < n ? ", " : "");
            on_line++;
        }
    } else {
        int blank = t->ndim - depth - 1; /* blank lines between blocks */
        for (int64_t i = 0; i < n; i++) {
            if (p->summarize && n > 2 * MF_FORMAT_EDGE && i == MF_FORMAT_EDGE) {
                sb_add(p->b, "...,\n%*s", indent + 1, "");
                i = n - MF_FORMAT_EDGE;
            }
            idx[depth] = i;
            emit(p, idx, depth + 1, indent + 1);
            if (i + 1 < n) {
                sb_add(p->b, ",");
                for (int k = 0; k < blank; k++) sb_add(p->b, "\n");
                sb_add(p->b, "%*s", indent + 1, "");
            }
        }
    }
    sb_add(p->b, "]");
}

mf_status mf_tensor_format(const mf_tensor *t, char **out, size_t *len)
{
    strbuf b = {0};
    printer p = {t, FMT_FIXED, 0, 0, &b};
    int64_t idx[MF_MAX_DIMS] = {0};
    int64_t numel = mf_tensor_numel(t);
    char shape[MF_SHAPE_STRLEN];
    *out = NULL;
    p.summarize = numel > MF_FORMAT_THRESHOLD;
    if (!mf_dtype_is_float(t->dtype)) {
        p.fmt = FMT_INT;
    } else {
        stats s = {1, 0, 0, 0};
        visit(t, p.summarize, idx, 0, collect, &s);
        if (s.any_finite && (s.max_abs >= 1e8 || (s.min_abs > 0 && s.min_abs < 1e-4) ||
                             (s.min_abs > 0 && s.max_abs / s.min_abs > 1e3 && !s.all_whole)))
            p.fmt = FMT_SCI;
        else if (s.all_whole)
            p.fmt = FMT_WHOLE;
        else
            p.fmt = FMT_FIXED;
    }
    widthctx w = {&p, 0};
    visit(t, p.summarize, idx, 0, measure, &w);
    p.width = w.width;

    sb_add(&b, "tensor(");
    if (t->ndim == 0) {
        char buf[64];
        int64_t iv = t->dtype == MF_INT64 ? *(const int64_t *)mf_tensor_data(t) : 0;
        fmt_one(buf, sizeof buf, p.fmt, t, mf_load(t->dtype, mf_tensor_data(t), 0), iv);
        sb_add(&b, "%s", buf);
    } else if (numel == 0) {
        sb_add(&b, "[]");
    } else {
        emit(&p, idx, 0, (int)strlen("tensor("));
    }
    sb_add(&b, ", shape=%s, dtype=%s)", mf_shape_str(shape, sizeof shape, t->ndim, t->shape),
           mf_dtype_name(t->dtype));
    if (b.failed) {
        mf_free(b.s);
        return mf_error_set(MF_ENOMEM, 0, "not enough memory");
    }
    *out = b.s;
    *len = b.len;
    return MF_OK;
}
