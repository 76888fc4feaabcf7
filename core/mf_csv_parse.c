/*
 * mf_csv_parse.c — the cell parsers of the CSV reader (see mf_csv.h):
 * numbers, integers, booleans and UTF-8 validation. Shared with mf_csv.c
 * through mf_csv_impl.h.
 */
#include "mf_csv_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* strtod on a NUL-terminated copy of s[0..len): the rare slow path. */
static int slow_strtod(const char *s, size_t len, double *v)
{
    char small[512];
    if (len < sizeof small) {
        memcpy(small, s, len);
        small[len] = '\0';
        *v = strtod(small, NULL);
        return 1;
    }
    char *big = mf_malloc(len + 1);
    if (!big) return -1;
    memcpy(big, s, len);
    big[len] = '\0';
    *v = strtod(big, NULL);
    mf_free(big);
    return 1;
}

/*
 * s[0..len) as a cell of a numeric column, in one pass: returns 2 for an
 * integer in int64 range ([+-]digits; *iv and *dv set), 1 for another number
 * (*dv), 0 for anything else, -1 when a very long number cannot be copied.
 * The common case (at most 19 digits, value up to 2^53, power of ten within
 * 1e22) is exact by Clinger's fast path: one correctly rounded multiply or
 * divide of two exact doubles; other forms go to strtod, so every result is
 * the double strtod gives.
 */
static int parse_num_general(const char *s, size_t len, int64_t *iv, double *dv);

/* The common forms first: [+-]digits (at most 18) and [+-]digits.digits
 * (at most 15 digits in all, so that the mantissa is exact and the result
 * is one correctly rounded division); anything else takes the general path. */
int mf_csv__parse_num(const char *s, size_t len, int64_t *iv, double *dv)
{
    const char *p = s, *e = s + len;
    int neg = 0;
    if (p < e && (*p == '-' || *p == '+')) neg = *p++ == '-';
    const char *d0 = p;
    uint64_t m = 0;
    while (p < e && (unsigned)(*p - '0') < 10u) m = m * 10 + (uint64_t)(*p++ - '0');
    size_t nint = (size_t)(p - d0);
    if (p == e) {
        if (nint == 0 || nint > 18) return parse_num_general(s, len, iv, dv);
        *iv = neg ? -(int64_t)m : (int64_t)m;
        *dv = (double)*iv;
        return 2;
    }
    if (*p != '.' || nint > 15) return parse_num_general(s, len, iv, dv);
    const char *f0 = ++p;
    while (p < e && (unsigned)(*p - '0') < 10u) m = m * 10 + (uint64_t)(*p++ - '0');
    size_t nfrac = (size_t)(p - f0);
    if (p != e || nint + nfrac > 15 || nint + nfrac == 0) return parse_num_general(s, len, iv, dv);
    double d = (double)m / pow10_exact[nfrac];
    *dv = neg ? -d : d;
    return 1;
}

static int parse_num_general(const char *s, size_t len, int64_t *iv, double *dv)
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
            *dv = neg ? -HUGE_VAL : HUGE_VAL;
            return 1;
        }
        return 0;
    }
    uint64_t m = 0;
    int ndig = 0, nint = 0, nfrac = 0, frac_exp = 0;
    /* ndig counts significant digits (leading zeros are not); m holds the first 19 */
    while (i < len && is_digit(s[i])) {
        if (ndig < 19) {
            m = m * 10 + (uint64_t)(s[i] - '0');
            if (m != 0) ndig++;
        } else {
            ndig++;
        }
        nint++, i++;
    }
    if (i == len) {
        if (nint == 0) return 0;
        uint64_t lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        if (ndig <= 19 && m <= lim) {
            *iv = neg ? (int64_t)(0 - m) : (int64_t)m;
            *dv = (double)*iv;
            return 2;
        }
    }
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && is_digit(s[i])) {
            if (ndig < 19) {
                m = m * 10 + (uint64_t)(s[i] - '0');
                frac_exp--;
                if (m != 0) ndig++;
            } else {
                ndig++;
            }
            nfrac++, i++;
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
            *dv = neg ? -0.0 : 0.0;
            return 1;
        }
        if (ex >= 0 && ex <= 22) {
            d *= pow10_exact[ex];
            *dv = neg ? -d : d;
            return 1;
        }
        if (ex < 0 && ex >= -22) {
            d /= pow10_exact[-ex];
            *dv = neg ? -d : d;
            return 1;
        }
    }
    return slow_strtod(s, len, dv);
}

int mf_csv_parse_double(const char *s, size_t len, double *v)
{
    int64_t iv;
    int r = mf_csv__parse_num(s, len, &iv, v);
    if (r == 2) {
        /* "-0" is an integer cell, but as a double it keeps its sign */
        if (len && s[0] == '-' && iv == 0) *v = -0.0;
        return 1;
    }
    return r;
}

int mf_csv__parse_bool(const char *s, size_t len, int *b)
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
int mf_csv__utf8_valid(const unsigned char *s, size_t len)
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
