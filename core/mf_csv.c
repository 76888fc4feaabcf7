/*
 * mf_csv.c — the CSV reader (see mf_csv.h).
 *
 * The file is read whole into one buffer. A tokenizer walks it once,
 * unescaping quoted fields in place (the unescaped text is never longer), and
 * records each kept cell as (offset, length) row by row. Each column is then
 * typed over all its cells and converted. The byte after a cell's text is
 * never part of another cell (it is a separator, line break, quote or the
 * spare byte past the end), so the number parser may put a NUL there for
 * strtod and restore it.
 */
#include "mf_csv.h"
#include "mf_thread.h"

#include <errno.h>
#include <stdatomic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const default_na[] = {"", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", NULL};

void mf_csv_options_default(mf_csv_options *o)
{
    o->sep = ',';
    o->header = 1;
    o->na_values = NULL;
    o->skip_rows = 0;
    o->max_rows = -1;
    o->on_bad_lines = MF_CSV_BAD_ERROR;
}

static mf_status nomem(void) { return mf_error_set(MF_ENOMEM, 0, "not enough memory"); }

/* ------------------------------------------------------------------ numbers */
static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int ieq(const char *s, size_t len, const char *lit)
{
    size_t n = strlen(lit);
    if (len != n) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != lit[i]) return 0;
    }
    return 1;
}

/*
 * s[0..len) must be a decimal number or a signed inf/infinity. The common case
 * (at most 19 digits, value below 2^53, power of ten within 1e22) is exact by
 * Clinger's fast path: one correctly rounded multiply or divide of two exact
 * doubles. Other forms go to strtod with s[len] set to NUL for the call.
 */
static int parse_number(char *s, size_t len, double *v)
{
    size_t i = 0;
    int neg = 0;
    if (len == 0) return 0;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
    }
    if (i < len && !is_digit(s[i]) && s[i] != '.') {
        if (ieq(s + i, len - i, "inf") || ieq(s + i, len - i, "infinity")) {
            *v = neg ? -HUGE_VAL : HUGE_VAL;
            return 1;
        }
        return 0;
    }
    uint64_t m = 0;
    int ndig = 0, nint = 0, nfrac = 0, frac_exp = 0;
    while (i < len && is_digit(s[i])) {
        if (ndig < 19) m = m * 10 + (uint64_t)(s[i] - '0');
        ndig++, nint++, i++;
    }
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && is_digit(s[i])) {
            if (ndig < 19) m = m * 10 + (uint64_t)(s[i] - '0'), frac_exp--;
            ndig++, nfrac++, i++;
        }
    }
    if (nint + nfrac == 0) return 0;
    long e = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int eneg = 0;
        if (i < len && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
        if (i >= len || !is_digit(s[i])) return 0;
        while (i < len && is_digit(s[i])) {
            if (e < 100000) e = e * 10 + (s[i] - '0');
            i++;
        }
        if (eneg) e = -e;
    }
    if (i != len) return 0;
    if (ndig <= 19 && m <= (UINT64_C(1) << 53)) {
        long ex = e + frac_exp;
        double d = (double)m;
        if (m == 0) {
            *v = neg ? -0.0 : 0.0;
            return 1;
        }
        if (ex >= 0 && ex <= 22) {
            d *= pow10_exact[ex];
            *v = neg ? -d : d;
            return 1;
        }
        if (ex < 0 && ex >= -22) {
            d /= pow10_exact[-ex];
            *v = neg ? -d : d;
            return 1;
        }
    }
    char save = s[len];
    s[len] = '\0';
    *v = strtod(s, NULL);
    s[len] = save;
    return 1;
}

int mf_csv_parse_double(const char *s, size_t len, double *v)
{
    char small[512];
    if (len < sizeof small) {
        memcpy(small, s, len);
        small[len] = '\0';
        return parse_number(small, len, v);
    }
    char *big = mf_malloc(len + 1);
    if (!big) return -1;
    memcpy(big, s, len);
    big[len] = '\0';
    int r = parse_number(big, len, v);
    mf_free(big);
    return r;
}

/* [+-]digits within int64. */
static int parse_int64(const char *s, size_t len, int64_t *v)
{
    size_t i = 0;
    int neg = 0;
    if (len && (s[0] == '+' || s[0] == '-')) neg = s[0] == '-', i = 1;
    if (i >= len) return 0;
    uint64_t m = 0;
    const uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        if (!is_digit(s[i])) return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (m > (lim - d) / 10) return 0;
        m = m * 10 + d;
    }
    *v = neg ? (int64_t)(0 - m) : (int64_t)m;
    return 1;
}

static int parse_bool(const char *s, size_t len, int *b)
{
    if ((len == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4)))) {
        *b = 1;
        return 1;
    }
    if ((len == 5 && (!memcmp(s, "false", 5) || !memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5)))) {
        *b = 0;
        return 1;
    }
    return 0;
}

/* Whether s[0..len) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
static int utf8_valid(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) n = 1;
        else if (c == 0xE0) n = 2, lo = 0xA0;
        else if (c >= 0xE1 && c <= 0xEC) n = 2;
        else if (c == 0xED) n = 2, hi = 0x9F;
        else if (c >= 0xEE && c <= 0xEF) n = 2;
        else if (c == 0xF0) n = 3, lo = 0x90;
        else if (c >= 0xF1 && c <= 0xF3) n = 3;
        else if (c == 0xF4) n = 3, hi = 0x8F;
        else return 0;
        if (len - i - 1 < n) return 0;
        if (s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (size_t k = 2; k <= n; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF) return 0;
        i += n + 1;
    }
    return 1;
}

/* ------------------------------------------------------------------ reader state */
typedef struct cell {
    int64_t off, len;
} cell;

typedef struct reader {
    const char *path;
    char *buf;      /* file contents plus one spare byte */
    size_t size;
    char sep;
    const char *const *na;
    size_t *na_len;   /* strlen of each na string */
    size_t na_maxlen;
    cell *cells;    /* kept rows, row-major, ncols cells each */
    size_t ncells, capcells;
    int64_t *lines; /* first line of each kept row */
    size_t nrows, caprows;
    cell *rec;      /* fields of the record being parsed */
    size_t nrec, caprec;
    int64_t ncols;
} reader;

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 1;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem) return 0;
        ncap *= 2;
    }
    void *q = mf_malloc(ncap * elem);
    if (!q) return 0;
    if (*p) {
        memcpy(q, *p, *cap * elem);
        mf_free(*p);
    }
    *p = q;
    *cap = ncap;
    return 1;
}

static mf_status read_file(reader *r)
{
    FILE *f = fopen(r->path, "rb");
    if (!f) return mf_error_set(MF_EIO, 0, "%s: %s", r->path, strerror(errno));
    /* The size when known, so that the file is read with one allocation;
     * the loop below still copes with a file that grows meanwhile. */
    size_t cap = 1 << 16, n = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long sz = ftell(f);
        if (sz > 0) cap = (size_t)sz + 1;
        rewind(f);
    }
    char *buf = mf_malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return nomem();
    }
    for (;;) {
        if (n == cap) {
            size_t ncap = cap * 2;
            char *nb = mf_malloc(ncap + 1);
            if (!nb) {
                mf_free(buf);
                fclose(f);
                return nomem();
            }
            memcpy(nb, buf, n);
            mf_free(buf);
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        mf_free(buf);
        return mf_error_set(MF_EIO, 0, "%s: read error", r->path);
    }
    buf[n] = '\0';
    r->buf = buf;
    r->size = n;
    return MF_OK;
}

static int64_t line_of(const char *buf, size_t pos)
{
    int64_t line = 1;
    for (size_t i = 0; i < pos; i++)
        if (buf[i] == '\n') line++;
    return line;
}

static int is_na(const reader *r, const char *s, size_t len)
{
    if (len > r->na_maxlen) return 0;
    for (size_t k = 0; r->na[k]; k++)
        if (r->na_len[k] == len && memcmp(r->na[k], s, len) == 0) return 1;
    return 0;
}

/* --------------------------------------------------------------- tokenizer */
/*
 * Parses the record at *pos into r->rec (nrec fields), advancing *pos past
 * its line break and *line by the line breaks consumed.
 */
static mf_status parse_record(reader *r, size_t *pos, int64_t *line)
{
    char *b = r->buf;
    size_t p = *pos, end = r->size;
    const char sep = r->sep;
    r->nrec = 0;
    for (;;) {
        size_t start, flen;
        if (p < end && b[p] == '"') {
            int64_t qline = *line;
            p++;
            start = p;
            size_t w = p;
            for (;;) {
                if (p >= end)
                    return mf_error_set(MF_EINVAL, 0, "%s:%lld: unterminated quote", r->path,
                                        (long long)qline);
                char c = b[p];
                if (c == '"') {
                    if (p + 1 < end && b[p + 1] == '"') {
                        b[w++] = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                if (c == '\n') (*line)++;
                b[w++] = c;
                p++;
            }
            flen = w - start;
            if (p < end && b[p] != sep && b[p] != '\n' && b[p] != '\r')
                return mf_error_set(MF_EINVAL, 0,
                                    "%s:%lld: unexpected character after closing quote in field %zu",
                                    r->path, (long long)*line, r->nrec + 1);
        } else {
            start = p;
            while (p < end && b[p] != sep && b[p] != '\n' && b[p] != '\r') p++;
            flen = p - start;
        }
        if (!grow((void **)&r->rec, &r->caprec, r->nrec + 1, sizeof(cell))) return nomem();
        r->rec[r->nrec].off = (int64_t)start;
        r->rec[r->nrec].len = (int64_t)flen;
        r->nrec++;
        if (p < end && b[p] == sep) {
            p++;
            continue;
        }
        break;
    }
    if (p < end && b[p] == '\r') {
        p++;
        if (p < end && b[p] == '\n') p++;
        (*line)++;
    } else if (p < end && b[p] == '\n') {
        p++;
        (*line)++;
    }
    *pos = p;
    return MF_OK;
}

/* ------------------------------------------------------------------ table */
void mf_csv_table_free(mf_csv_table *t)
{
    if (!t) return;
    if (t->cols) {
        for (int64_t j = 0; j < t->ncols; j++) {
            mf_csv_column *c = &t->cols[j];
            mf_free(c->name);
            mf_tensor_release(c->data);
            if (c->levels) {
                for (int64_t k = 0; k < c->nlevels; k++) mf_free(c->levels[k]);
                mf_free(c->levels);
            }
        }
        mf_free(t->cols);
    }
    mf_free(t);
}

static char *dup_n(const char *s, size_t n)
{
    char *d = mf_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static mf_status set_names(reader *r, mf_csv_table *t, const cell *hdr, int64_t hline)
{
    for (int64_t j = 0; j < t->ncols; j++) {
        char tmp[32];
        const char *s;
        size_t n;
        if (hdr) {
            s = r->buf + hdr[j].off;
            n = (size_t)hdr[j].len;
            if (!utf8_valid((const unsigned char *)s, n))
                return mf_error_set(MF_EINVAL, 0, "%s:%lld: invalid UTF-8 in the name of column %lld",
                                    r->path, (long long)hline, (long long)(j + 1));
        }
        if (!hdr || n == 0) {
            snprintf(tmp, sizeof tmp, "column_%lld", (long long)(j + 1));
            s = tmp;
            n = strlen(tmp);
        }
        if (!(t->cols[j].name = dup_n(s, n))) return nomem();
        for (int64_t k = 0; k < j; k++)
            if (strcmp(t->cols[k].name, t->cols[j].name) == 0)
                return mf_error_set(MF_EINVAL, 0, "%s:%lld: duplicate column name '%s' (columns %lld and %lld)",
                                    r->path, (long long)hline, t->cols[j].name, (long long)(k + 1),
                                    (long long)(j + 1));
    }
    return MF_OK;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * UINT64_C(1099511628211);
    return h;
}

static mf_status build_strings(reader *r, mf_csv_column *c, int64_t j)
{
    int64_t nrows = (int64_t)r->nrows;
    mf_status st = mf_tensor_new(&c->data, MF_INT64, 1, (int64_t[]){nrows});
    if (st) return st;
    int64_t *codes = mf_tensor_data(c->data);
    size_t hcap = 64, lcap = 0, lencap = 0;
    int64_t *slots = NULL; /* open addressing: level index + 1, 0 = empty */
    size_t *lens = NULL;
    while (hcap < (size_t)nrows * 2) hcap *= 2;
    slots = mf_calloc(hcap, sizeof *slots);
    if (!slots) return nomem();
    st = MF_OK;
    c->n_missing = 0;
    for (int64_t i = 0; i < nrows && !st; i++) {
        const cell *ce = &r->cells[(size_t)i * (size_t)r->ncols + (size_t)j];
        const char *s = r->buf + ce->off;
        size_t n = (size_t)ce->len;
        if (is_na(r, s, n)) {
            codes[i] = MF_CSV_MISSING_CODE;
            c->n_missing++;
            continue;
        }
        size_t h = (size_t)hash_bytes(s, n) & (hcap - 1);
        for (;;) {
            int64_t k = slots[h];
            if (k == 0) {
                if (!utf8_valid((const unsigned char *)s, n)) {
                    st = mf_error_set(MF_EINVAL, 0, "%s:%lld: invalid UTF-8 in column '%s'", r->path,
                                      (long long)r->lines[i], c->name);
                    break;
                }
                if (!grow((void **)&c->levels, &lcap, (size_t)c->nlevels + 1, sizeof(char *))) {
                    st = nomem();
                    break;
                }
                if (!grow((void **)&lens, &lencap, (size_t)c->nlevels + 1, sizeof(size_t)) ||
                    !(c->levels[c->nlevels] = dup_n(s, n))) {
                    st = nomem();
                    break;
                }
                lens[c->nlevels] = n;
                c->nlevels++;
                slots[h] = c->nlevels;
                codes[i] = c->nlevels;
                break;
            }
            if (lens[k - 1] == n && memcmp(c->levels[k - 1], s, n) == 0) {
                codes[i] = k;
                break;
            }
            h = (h + 1) & (hcap - 1);
        }
    }
    mf_free(slots);
    mf_free(lens);
    return st;
}

/* The classification pass of one column, run over row ranges in parallel:
 * fills the float64 values and adds the counts (sums, so the result does not
 * depend on the split). */
typedef struct classify_job {
    const reader *r;
    int64_t j;
    double *fv;
    _Atomic int64_t n_missing, n_int, n_num, n_bool;
} classify_job;

static void classify_range(int64_t lo, int64_t hi, void *ctx)
{
    classify_job *cj = ctx;
    const reader *r = cj->r;
    size_t stride = (size_t)r->ncols;
    double *fv = cj->fv;
    int64_t n_missing = 0, n_int = 0, n_num = 0, n_bool = 0;
    for (int64_t i = lo; i < hi; i++) {
        const cell *ce = &r->cells[(size_t)i * stride + (size_t)cj->j];
        char *s = r->buf + ce->off;
        size_t n = (size_t)ce->len;
        int64_t iv;
        double dv;
        int bv;
        if (is_na(r, s, n)) {
            n_missing++;
            fv[i] = NAN;
        } else if (parse_int64(s, n, &iv)) {
            n_int++;
            n_num++;
            fv[i] = (double)iv;
        } else if (parse_number(s, n, &dv)) {
            n_num++;
            fv[i] = dv;
        } else {
            fv[i] = NAN;
            if (parse_bool(s, n, &bv)) n_bool++;
        }
    }
    atomic_fetch_add(&cj->n_missing, n_missing);
    atomic_fetch_add(&cj->n_int, n_int);
    atomic_fetch_add(&cj->n_num, n_num);
    atomic_fetch_add(&cj->n_bool, n_bool);
}

/* Types column j over all its cells and converts it. */
static mf_status build_column(reader *r, mf_csv_column *c, int64_t j)
{
    int64_t nrows = (int64_t)r->nrows;
    size_t stride = (size_t)r->ncols;
    mf_tensor *f = NULL;
    mf_status st = mf_tensor_new(&f, MF_FLOAT64, 1, (int64_t[]){nrows});
    if (st) return st;
    double *fv = mf_tensor_data(f);
    classify_job cj = {.r = r, .j = j, .fv = fv};
    atomic_init(&cj.n_missing, 0);
    atomic_init(&cj.n_int, 0);
    atomic_init(&cj.n_num, 0);
    atomic_init(&cj.n_bool, 0);
    mf_parallel_for(nrows, 16384, classify_range, &cj);
    int64_t n_missing = atomic_load(&cj.n_missing), n_int = atomic_load(&cj.n_int),
            n_num = atomic_load(&cj.n_num), n_bool = atomic_load(&cj.n_bool);
    int64_t present = nrows - n_missing;
    c->n_missing = n_missing;
    if (present > 0 && n_int == present && n_missing == 0) {
        c->type = MF_CSV_INT64;
        mf_tensor_release(f);
        if ((st = mf_tensor_new(&c->data, MF_INT64, 1, (int64_t[]){nrows}))) return st;
        int64_t *iv = mf_tensor_data(c->data);
        for (int64_t i = 0; i < nrows; i++) {
            const cell *ce = &r->cells[(size_t)i * stride + (size_t)j];
            parse_int64(r->buf + ce->off, (size_t)ce->len, &iv[i]);
        }
        return MF_OK;
    }
    /* Mostly numeric: at least 90% of the non-missing cells are numbers. */
    if (present == 0 || n_num == present || (n_num > 0 && n_num * 10 >= present * 9)) {
        c->type = MF_CSV_FLOAT64;
        c->data = f;
        if (n_num < present) {
            for (int64_t i = 0; i < nrows; i++) {
                const cell *ce = &r->cells[(size_t)i * stride + (size_t)j];
                char *s = r->buf + ce->off;
                size_t n = (size_t)ce->len;
                double dv;
                if (!isnan(fv[i]) || is_na(r, s, n) || parse_number(s, n, &dv)) continue;
                if (c->n_coerced < MF_CSV_MAX_LINES) c->coerced_lines[c->n_coerced] = r->lines[i];
                c->n_coerced++;
            }
            c->n_missing += c->n_coerced;
        }
        return MF_OK;
    }
    mf_tensor_release(f);
    if (n_bool == present && n_missing == 0) {
        c->type = MF_CSV_BOOL;
        if ((st = mf_tensor_new(&c->data, MF_BOOL, 1, (int64_t[]){nrows}))) return st;
        unsigned char *bv = mf_tensor_data(c->data);
        for (int64_t i = 0; i < nrows; i++) {
            const cell *ce = &r->cells[(size_t)i * stride + (size_t)j];
            int b = 0;
            parse_bool(r->buf + ce->off, (size_t)ce->len, &b);
            bv[i] = (unsigned char)b;
        }
        return MF_OK;
    }
    c->type = MF_CSV_STRING;
    return build_strings(r, c, j);
}

static mf_status tokenize(reader *r, const mf_csv_options *o, mf_csv_table *t, cell **hdr_out,
                          int64_t *hline_out)
{
    char *b = r->buf;
    size_t pos = 0;
    int64_t line = 1;
    mf_status st;
    if (r->size >= 3 && (unsigned char)b[0] == 0xEF && (unsigned char)b[1] == 0xBB &&
        (unsigned char)b[2] == 0xBF)
        pos = 3;
    const char *nul = memchr(b, '\0', r->size);
    if (nul)
        return mf_error_set(MF_EINVAL, 0, "%s:%lld: NUL byte in the file", r->path,
                            (long long)line_of(b, (size_t)(nul - b)));
    for (int64_t k = 0; k < o->skip_rows && pos < r->size; k++) {
        const char *nl = memchr(b + pos, '\n', r->size - pos);
        pos = nl ? (size_t)(nl - b) + 1 : r->size;
        line++;
    }
    int have_header = !o->header;
    int64_t rows_left = o->max_rows;
    while (pos < r->size) {
        int64_t rline = line;
        if ((st = parse_record(r, &pos, &line))) return st;
        if (r->nrec == 1 && r->rec[0].len == 0 && b[r->rec[0].off - (r->rec[0].off > 0)] != '"')
            continue; /* a blank line (a lone "" is an empty field, kept) */
        if (r->ncols == 0) r->ncols = (int64_t)r->nrec;
        if (!have_header) {
            have_header = 1;
            *hline_out = rline;
            if (!(*hdr_out = mf_malloc(r->nrec * sizeof(cell)))) return nomem();
            memcpy(*hdr_out, r->rec, r->nrec * sizeof(cell));
            continue;
        }
        if (rows_left == 0) break;
        if ((int64_t)r->nrec != r->ncols) {
            if (o->on_bad_lines == MF_CSV_BAD_ERROR)
                return mf_error_set(MF_EINVAL, 0, "%s:%lld: expected %lld fields, got %zu", r->path,
                                    (long long)rline, (long long)r->ncols, r->nrec);
            if (t->n_bad_lines < MF_CSV_MAX_LINES) t->bad_lines[t->n_bad_lines] = rline;
            t->n_bad_lines++;
            continue;
        }
        if (rows_left > 0) rows_left--;
        if (!grow((void **)&r->cells, &r->capcells, r->ncells + r->nrec, sizeof(cell)) ||
            !grow((void **)&r->lines, &r->caprows, r->nrows + 1, sizeof(int64_t)))
            return nomem();
        memcpy(r->cells + r->ncells, r->rec, r->nrec * sizeof(cell));
        r->ncells += r->nrec;
        r->lines[r->nrows++] = rline;
    }
    if (r->ncols == 0) return mf_error_set(MF_EINVAL, 0, "%s: empty file", r->path);
    return MF_OK;
}

mf_status mf_csv_read(const char *path, const mf_csv_options *o, mf_csv_table **out)
{
    mf_csv_options def;
    if (!out) return mf_error_set(MF_EINVAL, 3, "csv read: out is NULL");
    *out = NULL;
    if (!path) return mf_error_set(MF_EINVAL, 1, "csv read: path is NULL");
    if (!o) {
        mf_csv_options_default(&def);
        o = &def;
    }
    if (o->sep == '"' || o->sep == '\n' || o->sep == '\r' || o->sep == '\0')
        return mf_error_set(MF_EINVAL, 2, "csv read: invalid separator");
    if (o->skip_rows < 0) return mf_error_set(MF_EINVAL, 2, "csv read: skip_rows must be >= 0");
    if ((unsigned)o->on_bad_lines > MF_CSV_BAD_WARN)
        return mf_error_set(MF_EINVAL, 2, "csv read: invalid on_bad_lines");
    reader r = {0};
    r.path = path;
    r.sep = o->sep;
    r.na = o->na_values ? o->na_values : default_na;
    cell *hdr = NULL;
    int64_t hline = 0;
    mf_csv_table *t = mf_calloc(1, sizeof *t);
    if (!t) return nomem();
    size_t nna = 0;
    while (r.na[nna]) nna++;
    mf_status st = MF_OK;
    if (!(r.na_len = mf_malloc((nna + 1) * sizeof(size_t)))) st = nomem();
    for (size_t k = 0; !st && k < nna; k++) {
        r.na_len[k] = strlen(r.na[k]);
        if (r.na_len[k] > r.na_maxlen) r.na_maxlen = r.na_len[k];
    }
    if (!st) st = read_file(&r);
    if (!st) st = tokenize(&r, o, t, &hdr, &hline);
    if (!st) {
        t->ncols = r.ncols;
        t->nrows = (int64_t)r.nrows;
        t->cols = mf_calloc((size_t)r.ncols, sizeof *t->cols);
        if (!t->cols) {
            t->ncols = 0;
            st = nomem();
        }
    }
    if (!st) st = set_names(&r, t, hdr, hline);
    for (int64_t j = 0; !st && j < t->ncols; j++) st = build_column(&r, &t->cols[j], j);
    mf_free(hdr);
    mf_free(r.buf);
    mf_free(r.cells);
    mf_free(r.lines);
    mf_free(r.rec);
    mf_free(r.na_len);
    if (st) {
        mf_csv_table_free(t);
        return st;
    }
    *out = t;
    return MF_OK;
}
