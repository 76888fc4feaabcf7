/*
 * mf_csv_write.c — the CSV writer (see mf_csv_write.h).
 *
 * Blocks of rows are formatted in parallel (each thread its own part of
 * the block, into a buffer sized for the longest possible rows) and written
 * in order to the atomic temporary file, so the bytes do not depend on the
 * thread count.
 *
 * Numbers avoid printf: a float that is a short decimal (m / 10^k with
 * m < 10^15 and k <= 4) is printed from the integer m; (double)m / 10^k is
 * correctly rounded (both operands are exact doubles), so comparing it with
 * the value proves that strtod reads the text back bit-exactly, and with at
 * most 15 significant digits the text is also that of %.15g. Other values
 * in [1e-6, 1e15) get the exact digits of %.15g / %.16g / %.17g from 128-bit
 * integer arithmetic (format_exact); the rest go through snprintf, checked
 * with strtod. The tests compare every path with snprintf + strtod.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mf_csv_write.h"
#include "mf_file.h"
#include "mf_thread.h"

#define WBUF_SIZE ((size_t)1 << 20)

static mf_status nomem(void) { return mf_error_set(MF_ENOMEM, 0, "not enough memory"); }

void mf_csv_write_options_default(mf_csv_write_options *o)
{
    o->sep = ',';
    o->header = 1;
}

static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

/* Decimal digits of u into buf (no terminator); returns the length. */
static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";

static size_t utoa(char *buf, uint64_t u)
{
    char tmp[24];
    size_t n = sizeof tmp;
    while (u >= 100) {
        size_t r = (size_t)(u % 100);
        u /= 100;
        n -= 2;
        memcpy(tmp + n, digit_pairs + 2 * r, 2);
    }
    if (u >= 10) {
        n -= 2;
        memcpy(tmp + n, digit_pairs + 2 * u, 2);
    } else {
        tmp[--n] = (char)('0' + u);
    }
    memcpy(buf, tmp + n, sizeof tmp - n);
    return sizeof tmp - n;
}

static size_t itoa64(char *buf, int64_t v)
{
    if (v < 0) {
        buf[0] = '-';
        return 1 + utoa(buf + 1, (uint64_t)0 - (uint64_t)v);
    }
    return utoa(buf, (uint64_t)v);
}

/*
 * The general path without printf, for 1e-6 <= a < 1e15 (a = |v|): the
 * digits of %.15g, %.16g and %.17g are computed exactly in 128-bit integer
 * arithmetic (a = m / 2^s with a 53-bit m, so round(a * 10^q) is a shift
 * of m * 10^q with an exact remainder, rounded half to even as printf
 * does), and each candidate is checked exactly: 15 digits by the correctly
 * rounded division D / 10^q (D < 2^53, 10^q exact: the same rounding as
 * strtod), 16 digits by comparing |D / 10^q - a| with half an ulp. Returns
 * 0 to leave a case to printf (a power of two's asymmetric neighbourhood).
 */
__extension__ typedef unsigned __int128 u128;

static const uint64_t p10_u64[] = {1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
                                   10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
                                   100000000000ULL, 1000000000000ULL, 10000000000000ULL,
                                   100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
                                   100000000000000000ULL};

/* 10^q for 0 <= q <= 34. */
static u128 pow10_u128(int q)
{
    return q <= 17 ? (u128)p10_u64[q] : (u128)p10_u64[17] * p10_u64[q - 17];
}

/* round(m * 10^q / 2^s), half to even; m * 10^q < 2^128, 0 < s < 128. */
static uint64_t scaled_round(uint64_t m, int q, int s)
{
    u128 x = (u128)m * pow10_u128(q);
    u128 d = x >> s, r = x & ((((u128)1) << s) - 1), half = ((u128)1) << (s - 1);
    if (r > half || (r == half && (d & 1))) d++;
    return (uint64_t)d;
}

static const double p10_dbl[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* D (nd significant digits, D < 10^nd; D == 10^nd after a carry) times
 * 10^(e10 - nd + 1), as printf's %.<nd>g writes it. */
static size_t format_g(char *buf, int neg, uint64_t d, int nd, int e10)
{
    if (d >= p10_u64[nd]) {
        d /= 10;
        e10++;
    }
    char dig[24];
    size_t k = utoa(dig, d), n = 0;
    while (k > 1 && dig[k - 1] == '0') k--;
    if (neg) buf[n++] = '-';
    if (e10 < -4 || e10 >= nd) {
        buf[n++] = dig[0];
        if (k > 1) {
            buf[n++] = '.';
            memcpy(buf + n, dig + 1, k - 1);
            n += k - 1;
        }
        buf[n++] = 'e';
        buf[n++] = e10 < 0 ? '-' : '+';
        int ae = e10 < 0 ? -e10 : e10;
        if (ae < 10) buf[n++] = '0';
        n += utoa(buf + n, (uint64_t)ae);
        return n;
    }
    if (e10 < 0) {
        buf[n++] = '0';
        buf[n++] = '.';
        for (int z = -1; z > e10; z--) buf[n++] = '0';
        memcpy(buf + n, dig, k);
        return n + k;
    }
    size_t ip = (size_t)e10 + 1; /* digits before the point */
    for (size_t i = 0; i < ip; i++) buf[n++] = i < k ? dig[i] : '0';
    buf[n++] = '.';
    if (k > ip) {
        memcpy(buf + n, dig + ip, k - ip);
        n += k - ip;
    } else {
        buf[n++] = '0';
    }
    return n;
}

static size_t format_exact(char *buf, double v, double a)
{
    int ex;
    double f = frexp(a, &ex); /* a = f * 2^ex, 0.5 <= f < 1 */
    uint64_t m = (uint64_t)ldexp(f, 53);
    int s = 53 - ex; /* a = m / 2^s; 3 <= s <= 73 in this range */
    if (m == (1ULL << 52)) return 0;
    /* 10^e10 <= a < 10^(e10 + 1): estimated from the binary exponent, then
     * fixed by the number of digits of d15 */
    int e10 = (int)floor((double)(ex - 1) * 0.30102999566398120);
    uint64_t d15 = 0;
    for (int tries = 0; tries < 4; tries++) {
        if (e10 < -6 || e10 > 14) return 0;
        d15 = scaled_round(m, 14 - e10, s);
        if (d15 > p10_u64[15]) e10++;
        else if (d15 < p10_u64[14]) e10--;
        else break;
    }
    if (d15 < p10_u64[14] || d15 > p10_u64[15]) return 0;
    int neg = v < 0;
    if ((double)d15 / p10_dbl[14 - e10] == a) return format_g(buf, neg, d15, 15, e10);
    /* 10^15 is a carry (or e10 one too low): let printf handle that rare case */
    if (d15 == p10_u64[15]) return 0;
    int q16 = 15 - e10;
    uint64_t d16 = scaled_round(m, q16, s);
    u128 lhs = ((u128)d16) << (s + 1), rhs = (u128)m * pow10_u128(q16) * 2;
    u128 diff = lhs > rhs ? lhs - rhs : rhs - lhs, tol = pow10_u128(q16);
    if (diff < tol || (diff == tol && !(m & 1))) return format_g(buf, neg, d16, 16, e10);
    return format_g(buf, neg, scaled_round(m, 16 - e10, s), 17, e10);
}

size_t mf_csv_format_double(char *buf, double v)
{
    if (v != v) return 0;
    if (isinf(v)) {
        if (v < 0) {
            memcpy(buf, "-inf", 4);
            return 4;
        }
        memcpy(buf, "inf", 3);
        return 3;
    }
    if (v == 0) {
        if (signbit(v)) {
            memcpy(buf, "-0.0", 4);
            return 4;
        }
        memcpy(buf, "0.0", 3);
        return 3;
    }
    double a = fabs(v);
    if (a >= 1e-4 && a < 1e15) {
        for (int k = 0; k < 5; k++) { /* longer decimals: format_exact */
            double r = a * p10[k];
            /* at most 15 significant digits: then this is also %.15g's text */
            if (r >= 1e15) break;
            double m = (double)(uint64_t)(r + 0.5); /* r >= 0: round half up (a tie fails the check) */
            /* if m / 10^k reads back as a, |r - m| <= m * 2^-52: a cheap filter
             * before the exact check */
            if (fabs(r - m) > r * 4e-16 || m / p10[k] != a) continue;
            uint64_t u = (uint64_t)m;
            char digits[24];
            size_t nd = utoa(digits, u), n = 0;
            if (v < 0) buf[n++] = '-';
            if (k == 0) {
                memcpy(buf + n, digits, nd);
                n += nd;
                memcpy(buf + n, ".0", 2);
                return n + 2;
            }
            size_t kk = (size_t)k;
            if (nd <= kk) { /* 0.00ddd */
                buf[n++] = '0';
                buf[n++] = '.';
                for (size_t z = nd; z < kk; z++) buf[n++] = '0';
                memcpy(buf + n, digits, nd);
                n += nd;
            } else {
                memcpy(buf + n, digits, nd - kk);
                n += nd - kk;
                buf[n++] = '.';
                memcpy(buf + n, digits + nd - kk, kk);
                n += kk;
            }
            /* strip trailing zeros of the fraction (m may end in 0) */
            while (buf[n - 1] == '0' && buf[n - 2] != '.') n--;
            return n;
        }
    }
    if (a >= 1e-6 && a < 1e15) {
        size_t n = format_exact(buf, v, a);
        if (n) return n;
    }
    int len = 0;
    for (int prec = 15; prec <= 17; prec++) {
        len = snprintf(buf, 32, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) break;
    }
    size_t n = (size_t)len;
    if (!memchr(buf, '.', n) && !memchr(buf, 'e', n)) {
        memcpy(buf + n, ".0", 2);
        n += 2;
    }
    return n;
}

/* ------------------------------------------------------------------ output */

typedef struct wbuf {
    mf_file_atomic *file;
    char *buf;
    size_t n;
} wbuf;

static mf_status wflush(wbuf *w)
{
    mf_status st = MF_OK;
    if (w->n) st = mf_file_atomic_write(w->file, w->buf, w->n);
    w->n = 0;
    return st;
}

/* Room for k more bytes (k <= WBUF_SIZE). */
static inline mf_status wroom(wbuf *w, size_t k)
{
    return w->n + k > WBUF_SIZE ? wflush(w) : MF_OK;
}

static const char *const default_na[] = {"NA", "N/A", "n/a", "NaN", "nan", "null", "NULL"};

static int needs_quotes(const char *s, size_t len, char sep)
{
    if (len == 0) return 1;
    if (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t') return 1;
    for (size_t i = 0; i < sizeof default_na / sizeof default_na[0]; i++)
        if (strcmp(s, default_na[i]) == 0) return 1;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == sep || c == '"' || c == '\r' || c == '\n') return 1;
    }
    return 0;
}

/* A text, quoted when q (quotes inside doubled). */
static mf_status put_text(wbuf *w, const char *s, size_t len, int q)
{
    mf_status st;
    if (!q) {
        while (len) {
            size_t part = len < WBUF_SIZE / 2 ? len : WBUF_SIZE / 2;
            if ((st = wroom(w, part)) != MF_OK) return st;
            memcpy(w->buf + w->n, s, part);
            w->n += part;
            s += part;
            len -= part;
        }
        return MF_OK;
    }
    if ((st = wroom(w, 1)) != MF_OK) return st;
    w->buf[w->n++] = '"';
    for (size_t i = 0; i < len; i++) {
        if ((st = wroom(w, 2)) != MF_OK) return st;
        if (s[i] == '"') w->buf[w->n++] = '"';
        w->buf[w->n++] = s[i];
    }
    if ((st = wroom(w, 1)) != MF_OK) return st;
    w->buf[w->n++] = '"';
    return MF_OK;
}

/* A missing cell alone on its line: an empty line would be skipped by the
 * reader, so it is written as NA (read back as missing). */
static size_t lone_missing(char *p)
{
    memcpy(p, "NA", 2);
    return 2;
}

typedef struct wcol {
    const mf_tensor *t;
    const char *p;
    int64_t stride;
    const char *const *levels;
    size_t *len;          /* per level */
    unsigned char *quote; /* per level */
} wcol;

#define MAX_PARTS 64
#define PART_BYTES ((size_t)2 << 20)

typedef struct fmt_ctx {
    const wcol *wc;
    int64_t ncols;
    char sep;
    int nparts;
    int64_t rows_per_part, row0, nrows;
    char *bufs[MAX_PARTS];
    size_t lens[MAX_PARTS];
} fmt_ctx;

/* Formats rows [lo, hi) into o (sized for them); returns the bytes used. */
static size_t format_rows(const fmt_ctx *fc, int64_t lo, int64_t hi, char *o)
{
    size_t n = 0;
    int64_t ncols = fc->ncols;
    for (int64_t i = lo; i < hi; i++) {
        for (int64_t j = 0; j < ncols; j++) {
            const wcol *c = &fc->wc[j];
            if (j > 0) o[n++] = fc->sep;
            int64_t at = i * c->stride;
            if (c->levels) {
                int64_t k = ((const int64_t *)(const void *)c->p)[at];
                if (k > 0) {
                    const char *s = c->levels[k - 1];
                    size_t len = c->len[k - 1];
                    if (!c->quote[k - 1]) {
                        memcpy(o + n, s, len);
                        n += len;
                    } else {
                        o[n++] = '"';
                        for (size_t q = 0; q < len; q++) {
                            if (s[q] == '"') o[n++] = '"';
                            o[n++] = s[q];
                        }
                        o[n++] = '"';
                    }
                } else if (ncols == 1) {
                    n += lone_missing(o + n);
                }
                continue;
            }
            switch (c->t->dtype) {
            case MF_FLOAT64: {
                size_t k = mf_csv_format_double(o + n, ((const double *)(const void *)c->p)[at]);
                if (k == 0 && ncols == 1) k = lone_missing(o + n);
                n += k;
                break;
            }
            case MF_INT64: n += itoa64(o + n, ((const int64_t *)(const void *)c->p)[at]); break;
            default:
                if (((const unsigned char *)c->p)[at]) {
                    memcpy(o + n, "true", 4);
                    n += 4;
                } else {
                    memcpy(o + n, "false", 5);
                    n += 5;
                }
                break;
            }
        }
        o[n++] = '\n';
    }
    return n;
}

static void format_parts(int64_t lo, int64_t hi, void *vctx)
{
    fmt_ctx *fc = vctx;
    for (int64_t p = lo; p < hi; p++) {
        int64_t r0 = fc->row0 + p * fc->rows_per_part;
        int64_t r1 = r0 + fc->rows_per_part < fc->nrows ? r0 + fc->rows_per_part : fc->nrows;
        fc->lens[p] = r0 < r1 ? format_rows(fc, r0, r1, fc->bufs[p]) : 0;
    }
}

mf_status mf_csv_write(const char *path, const mf_csv_wcolumn *cols, int64_t ncols,
                       const mf_csv_write_options *o)
{
    mf_csv_write_options def;
    if (!o) {
        mf_csv_write_options_default(&def);
        o = &def;
    }
    char sep = o->sep;
    if (sep == '"' || sep == '\r' || sep == '\n' || sep == '\0')
        return mf_error_set(MF_EINVAL, 4, "the separator cannot be a quote, a line break or NUL");
    if (ncols < 0) return mf_error_set(MF_EINVAL, 3, "ncols must be >= 0");
    int64_t n = 0;
    for (int64_t j = 0; j < ncols; j++) {
        const mf_tensor *t = cols[j].data;
        const char *name = cols[j].name ? cols[j].name : "";
        if (!t || t->ndim != 1)
            return mf_error_set(MF_EINVAL, 2, "column '%s' must be a 1-D tensor", name);
        int ok = cols[j].levels ? t->dtype == MF_INT64
                                : (t->dtype == MF_FLOAT64 || t->dtype == MF_INT64 ||
                                   t->dtype == MF_BOOL);
        if (!ok)
            return mf_error_set(MF_EINVAL, 2, "column '%s' has dtype %s", name,
                                mf_dtype_name(t->dtype));
        if (j == 0) n = t->shape[0];
        else if (t->shape[0] != n)
            return mf_error_set(MF_EINVAL, 2, "column '%s' has %lld rows, the first has %lld",
                                name, (long long)t->shape[0], (long long)n);
        if (cols[j].levels) {
            const int64_t *c = mf_tensor_data(t);
            for (int64_t i = 0; i < n; i++) {
                int64_t k = c[i * t->stride[0]];
                if (k < 0 || k > cols[j].nlevels)
                    return mf_error_set(MF_EINVAL, 2, "column '%s': code %lld out of range 0..%lld",
                                        name, (long long)k, (long long)cols[j].nlevels);
            }
        }
    }
    mf_status st = MF_OK;
    wcol *wc = mf_calloc((size_t)(ncols > 0 ? ncols : 1), sizeof *wc);
    char *buf = mf_malloc(WBUF_SIZE);
    mf_file_atomic file = {-1, NULL, path};
    int opened = 0;
    fmt_ctx fc;
    memset(&fc, 0, sizeof fc);
    if (!wc || !buf) {
        st = nomem();
        goto done;
    }
    for (int64_t j = 0; j < ncols; j++) {
        wcol *c = &wc[j];
        c->t = cols[j].data;
        c->p = mf_tensor_data(c->t);
        c->stride = c->t->stride[0];
        c->levels = cols[j].levels;
        if (c->levels) {
            size_t nl = (size_t)cols[j].nlevels;
            c->len = mf_malloc((nl ? nl : 1) * sizeof *c->len);
            c->quote = mf_malloc(nl ? nl : 1);
            if (!c->len || !c->quote) {
                st = nomem();
                goto done;
            }
            for (size_t k = 0; k < nl; k++) {
                c->len[k] = strlen(c->levels[k]);
                c->quote[k] = (unsigned char)needs_quotes(c->levels[k], c->len[k], sep);
            }
        }
    }
    /* the most bytes a row can take, so that parts never overflow */
    size_t rowmax = (size_t)ncols + 1;
    for (int64_t j = 0; j < ncols; j++) {
        size_t cm = 32;
        if (wc[j].levels)
            for (int64_t k = 0; k < cols[j].nlevels; k++) {
                size_t l = wc[j].quote[k] ? 2 * wc[j].len[k] + 2 : wc[j].len[k];
                if (l > cm) cm = l;
            }
        rowmax += cm;
    }
    fc.wc = wc;
    fc.ncols = ncols;
    fc.sep = sep;
    fc.nparts = n > 4096 ? mf_num_threads() : 1;
    if (fc.nparts > MAX_PARTS) fc.nparts = MAX_PARTS;
    fc.rows_per_part = (int64_t)(PART_BYTES / rowmax);
    if (fc.rows_per_part < 1) fc.rows_per_part = 1;
    if (fc.rows_per_part > n) fc.rows_per_part = n > 0 ? n : 1;
    for (int p = 0; p < fc.nparts; p++) {
        fc.bufs[p] = mf_malloc((size_t)fc.rows_per_part * rowmax);
        if (!fc.bufs[p]) {
            st = nomem();
            goto done;
        }
    }
    if ((st = mf_file_atomic_open(&file, path)) != MF_OK) goto done;
    opened = 1;
    wbuf w = {&file, buf, 0};
    if (o->header && ncols > 0) {
        for (int64_t j = 0; j < ncols && !st; j++) {
            if (j > 0 && !(st = wroom(&w, 1))) w.buf[w.n++] = sep;
            const char *name = cols[j].name ? cols[j].name : "";
            size_t len = strlen(name);
            if (!st) st = put_text(&w, name, len, needs_quotes(name, len, sep));
        }
        if (!st && !(st = wroom(&w, 1))) w.buf[w.n++] = '\n';
    }
    if (!st) st = wflush(&w);
    /* rows: blocks of nparts x rows_per_part rows, each part formatted into
     * its own buffer on its own thread, then written in order */
    for (int64_t r0 = 0; r0 < n && !st; r0 += fc.nparts * fc.rows_per_part) {
        fc.row0 = r0;
        fc.nrows = n;
        mf_parallel_for(fc.nparts, 1, format_parts, &fc);
        for (int p = 0; p < fc.nparts && !st; p++)
            if (fc.lens[p]) st = mf_file_atomic_write(&file, fc.bufs[p], fc.lens[p]);
    }
    if (!st) st = wflush(&w);
    if (st) {
        mf_file_atomic_abort(&file);
    } else {
        st = mf_file_atomic_commit(&file);
    }
    opened = 0;
done:
    if (opened) mf_file_atomic_abort(&file);
    if (wc)
        for (int64_t j = 0; j < ncols; j++) {
            mf_free(wc[j].len);
            mf_free(wc[j].quote);
        }
    for (int p = 0; p < MAX_PARTS; p++) mf_free(fc.bufs[p]);
    mf_free(wc);
    mf_free(buf);
    return st;
}
