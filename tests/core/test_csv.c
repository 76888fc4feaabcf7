/* test_csv.c — the CSV reader: quoting, line ends, BOM, type inference,
 * coerced cells, missing values, options, every error, the number parser
 * against strtod, allocation failures and a fuzz loop. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctest.h"
#include "moonforge.h"

/* ------------------------------------------------------------------ helpers */
static char tmpdir[64];
static char tmppath[128];

/* Writes `n` bytes to a fresh file in a temp dir and returns its path. */
static const char *write_tmp(const char *data, size_t n)
{
    if (!tmpdir[0]) {
        strcpy(tmpdir, "/tmp/mfcsvXXXXXX");
        if (!mkdtemp(tmpdir)) return "/nonexistent/mkdtemp-failed";
    }
    snprintf(tmppath, sizeof tmppath, "%s/t.csv", tmpdir);
    FILE *f = fopen(tmppath, "wb");
    if (!f) return "/nonexistent/fopen-failed";
    fwrite(data, 1, n, f);
    fclose(f);
    return tmppath;
}

static void cleanup_tmp(void)
{
    if (!tmpdir[0]) return;
    remove(tmppath);
    rmdir(tmpdir);
    tmpdir[0] = '\0';
}

static mf_status read_str(const char *s, const mf_csv_options *o, mf_csv_table **t)
{
    return mf_csv_read(write_tmp(s, strlen(s)), o, t);
}

static int contains(const char *s, const char *part) { return s && strstr(s, part) != NULL; }

static double fget(const mf_csv_table *t, int j, int64_t i)
{
    return ((const double *)mf_tensor_data(t->cols[j].data))[i];
}
static int64_t iget(const mf_csv_table *t, int j, int64_t i)
{
    return ((const int64_t *)mf_tensor_data(t->cols[j].data))[i];
}
/* The string of a string column's cell, or NULL when missing. */
static const char *sget(const mf_csv_table *t, int j, int64_t i)
{
    int64_t code = iget(t, j, i);
    return code == MF_CSV_MISSING_CODE ? NULL : t->cols[j].levels[code - 1];
}

/* ------------------------------------------------------------------ cases */
CTEST(basic_types)
{
    mf_csv_table *t = NULL;
    CHECK_OK(read_str("id,x,flag,name\n1,1.5,true,a\n2,-2e3,false,b\n-3,.25,TRUE,a\n", NULL, &t));
    if (!t) return;
    CHECK_INT(t->nrows, 3);
    CHECK_INT(t->ncols, 4);
    CHECK_STR(t->cols[0].name, "id");
    CHECK_STR(t->cols[3].name, "name");
    CHECK_INT(t->cols[0].type, MF_CSV_INT64);
    CHECK_INT(t->cols[0].data->dtype, MF_INT64);
    CHECK_INT(iget(t, 0, 2), -3);
    CHECK_INT(t->cols[1].type, MF_CSV_FLOAT64);
    CHECK(fget(t, 1, 0) == 1.5 && fget(t, 1, 1) == -2000 && fget(t, 1, 2) == 0.25);
    CHECK_INT(t->cols[2].type, MF_CSV_BOOL);
    const unsigned char *b = mf_tensor_data(t->cols[2].data);
    CHECK(b[0] == 1 && b[1] == 0 && b[2] == 1);
    CHECK_INT(t->cols[3].type, MF_CSV_STRING);
    CHECK_INT(t->cols[3].nlevels, 2);
    CHECK_INT(iget(t, 3, 0), 1);
    CHECK_INT(iget(t, 3, 1), 2);
    CHECK_INT(iget(t, 3, 2), 1);
    CHECK_STR(t->cols[3].levels[1], "b");
    CHECK_INT(t->n_bad_lines, 0);
    mf_csv_table_free(t);
    cleanup_tmp();
}

CTEST(inference)
{
    mf_csv_table *t = NULL;
    /* int with a missing cell -> float64; 2^63 overflows int64 -> float64;
     * all missing -> float64; bool with missing -> string; 1.0 -> float */
    CHECK_OK(read_str("a,b,c,d,e,f\n1,9223372036854775807,,true,1.0,007\n,9223372036854775808,NA,,2,-0\n",
                      NULL, &t));
    if (!t) return;
    CHECK_INT(t->cols[0].type, MF_CSV_FLOAT64);
    CHECK(isnan(fget(t, 0, 1)));
    CHECK_INT(t->cols[0].n_missing, 1);
    CHECK_INT(t->cols[0].n_coerced, 0);
    CHECK_INT(t->cols[1].type, MF_CSV_FLOAT64);
    CHECK(fget(t, 1, 1) == 9223372036854775808.0);
    CHECK_INT(t->cols[2].type, MF_CSV_FLOAT64);
    CHECK_INT(t->cols[2].n_missing, 2);
    CHECK_INT(t->cols[3].type, MF_CSV_STRING);
    CHECK_STR(sget(t, 3, 0), "true");
    CHECK(sget(t, 3, 1) == NULL);
    CHECK_INT(t->cols[3].n_missing, 1);
    CHECK_INT(t->cols[4].type, MF_CSV_FLOAT64);
    CHECK_INT(t->cols[5].type, MF_CSV_INT64);
    CHECK_INT(iget(t, 5, 0), 7);
    CHECK_INT(iget(t, 5, 1), 0);
    mf_csv_table_free(t);
    /* int64 extremes stay exact */
    CHECK_OK(read_str("v\n9223372036854775807\n-9223372036854775808\n", NULL, &t));
    if (t) {
        CHECK_INT(t->cols[0].type, MF_CSV_INT64);
        CHECK(iget(t, 0, 0) == INT64_MAX && iget(t, 0, 1) == INT64_MIN);
        mf_csv_table_free(t);
    }
    /* inf forms and spaces: " 1" is not a number */
    CHECK_OK(read_str("v,w\ninf,1\n-Infinity, 1\n", NULL, &t));
    if (t) {
        CHECK_INT(t->cols[0].type, MF_CSV_FLOAT64);
        CHECK(isinf(fget(t, 0, 0)) && fget(t, 0, 1) < 0);
        CHECK_INT(t->cols[1].type, MF_CSV_STRING);
        mf_csv_table_free(t);
    }
    cleanup_tmp();
}

CTEST(missing_values)
{
    mf_csv_table *t = NULL;
    CHECK_OK(read_str("x,s\n,a\nNA,NA\nN/A,b\nn/a,\nNaN,null\nnan,NULL\nnull,c\nNULL,a\n4,a\n", NULL, &t));
    if (!t) return;
    CHECK_INT(t->nrows, 9);
    CHECK_INT(t->cols[0].type, MF_CSV_FLOAT64);
    CHECK_INT(t->cols[0].n_missing, 8);
    CHECK(fget(t, 0, 8) == 4);
    CHECK_INT(t->cols[1].type, MF_CSV_STRING);
    CHECK_INT(t->cols[1].n_missing, 4);
    CHECK_INT(t->cols[1].nlevels, 3);
    CHECK_INT(iget(t, 1, 1), MF_CSV_MISSING_CODE);
    mf_csv_table_free(t);
    /* a custom list replaces the defaults */
    mf_csv_options o;
    mf_csv_options_default(&o);
    const char *const na[] = {"-", NULL};
    o.na_values = na;
    CHECK_OK(read_str("x,y\n-,1\n2,NA\n", &o, &t));
    if (t) {
        CHECK_INT(t->cols[0].type, MF_CSV_FLOAT64);
        CHECK(isnan(fget(t, 0, 0)));
        CHECK_INT(t->cols[1].type, MF_CSV_STRING);
        CHECK_STR(sget(t, 1, 1), "NA");
        mf_csv_table_free(t);
    }
    cleanup_tmp();
}

CTEST(coerced_cells)
{
    /* 60 rows: 55 numbers, 1 empty, 4 junk cells (err, ?, #VALUE!, 1.2.3): 55/59 >= 90% */
    char buf[4096];
    size_t n = 0;
    n += (size_t)snprintf(buf + n, sizeof buf - n, "t,v\n");
    const char *junk[] = {"err", "?", "#VALUE!", "1.2.3"};
    int lines[4] = {0}, nj = 0;
    for (int i = 0; i < 60; i++) {
        if (i % 7 == 3 && nj < 4) {
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%d,%s\n", i, junk[nj]);
            lines[nj++] = i + 2;
        } else if (i == 11) {
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%d,\n", i);
        } else {
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%d,%d.5\n", i, i);
        }
    }
    mf_csv_table *t = NULL;
    CHECK_OK(mf_csv_read(write_tmp(buf, n), NULL, &t));
    if (!t) return;
    CHECK_INT(nj, 4);
    CHECK_INT(t->cols[1].type, MF_CSV_FLOAT64);
    CHECK_INT(t->cols[1].n_coerced, 4);
    CHECK_INT(t->cols[1].n_missing, 5);
    for (int k = 0; k < 4; k++) CHECK_INT(t->cols[1].coerced_lines[k], lines[k]);
    CHECK(isnan(fget(t, 1, lines[0] - 2)));
    CHECK(fget(t, 1, 0) == 0.5);
    mf_csv_table_free(t);
    /* below 90% numeric: a string column, nothing coerced */
    CHECK_OK(read_str("v\n1\n2\nx\n3\ny\n", NULL, &t));
    if (t) {
        CHECK_INT(t->cols[0].type, MF_CSV_STRING);
        CHECK_INT(t->cols[0].n_coerced, 0);
        CHECK_STR(sget(t, 0, 2), "x");
        mf_csv_table_free(t);
    }
    cleanup_tmp();
}

CTEST(quoting)
{
    mf_csv_table *t = NULL;
    const char *s = "name,note,v\n"
                    "\"a,b\",\"say \"\"hi\"\"\",1\n"
                    "\"multi\nline\r\ntext\",\"\",2\n"
                    "plain,x\"y,3\n"
                    "\"\",\"4\",4\n";
    CHECK_OK(read_str(s, NULL, &t));
    if (!t) return;
    CHECK_INT(t->nrows, 4);
    CHECK_STR(sget(t, 0, 0), "a,b");
    CHECK_STR(sget(t, 1, 0), "say \"hi\"");
    CHECK_STR(sget(t, 0, 1), "multi\nline\r\ntext");
    CHECK_STR(sget(t, 1, 1), ""); /* a quoted field is never missing: "" is an empty string */
    CHECK_STR(sget(t, 1, 2), "x\"y");
    CHECK_STR(sget(t, 0, 3), "");
    CHECK_INT(t->cols[0].n_missing, 0);
    CHECK_STR(sget(t, 1, 3), "4"); /* a string column: quoting does not matter for typing */
    CHECK_INT(t->cols[2].type, MF_CSV_INT64);
    mf_csv_table_free(t);
    /* a quoted number in a numeric column, and the line of a row after a quoted break */
    CHECK_OK(read_str("a,b\n\"1.5\",\"x\ny\"\nerr,z\n3,w\n4,v\n5,u\n6,t\n7,s\n8,r\n9,q\n10,p\n11,o\n",
                      NULL, &t));
    if (t) {
        CHECK_INT(t->cols[0].type, MF_CSV_FLOAT64);
        CHECK(fget(t, 0, 0) == 1.5);
        CHECK_INT(t->cols[0].n_coerced, 1);
        CHECK_INT(t->cols[0].coerced_lines[0], 4);
        mf_csv_table_free(t);
    }
    cleanup_tmp();
}

CTEST(line_ends_bom_blank)
{
    mf_csv_table *t = NULL;
    CHECK_OK(read_str("\xEF\xBB\xBFid,v\r\n1,a\r\n\r\n2,b\r\n\n3,c", NULL, &t));
    if (!t) return;
    CHECK_STR(t->cols[0].name, "id");
    CHECK_INT(t->nrows, 3);
    CHECK_INT(iget(t, 0, 2), 3);
    CHECK_STR(sget(t, 1, 2), "c");
    CHECK_STR(sget(t, 1, 0), "a");
    mf_csv_table_free(t);
    /* lone CR line ends; trailing separator gives an empty last field */
    CHECK_OK(read_str("a,b\r1,\r2,3\r", NULL, &t));
    if (t) {
        CHECK_INT(t->nrows, 2);
        CHECK_INT(t->cols[1].type, MF_CSV_FLOAT64);
        CHECK(isnan(fget(t, 1, 0)) && fget(t, 1, 1) == 3);
        mf_csv_table_free(t);
    }
    cleanup_tmp();
}

CTEST(options)
{
    mf_csv_table *t = NULL;
    mf_csv_options o;
    mf_csv_options_default(&o);
    o.sep = ';';
    o.header = 0;
    o.skip_rows = 2;
    o.max_rows = 2;
    CHECK_OK(read_str("junk line\nmore, junk\n1;2,5\n3;4\n5;6\n7\n", &o, &t));
    if (t) {
        CHECK_INT(t->nrows, 2);
        CHECK_STR(t->cols[0].name, "column_1");
        CHECK_STR(t->cols[1].name, "column_2");
        CHECK_INT(t->cols[1].type, MF_CSV_STRING); /* "2,5" is not a number */
        CHECK_INT(iget(t, 0, 1), 3);
        mf_csv_table_free(t);
    }
    /* max_rows = 0: header only */
    mf_csv_options_default(&o);
    o.max_rows = 0;
    CHECK_OK(read_str("a,b\n1,2\n", &o, &t));
    if (t) {
        CHECK_INT(t->nrows, 0);
        CHECK_INT(t->ncols, 2);
        mf_csv_table_free(t);
    }
    /* header only: float64 columns of 0 rows; empty names get column_<j> */
    CHECK_OK(read_str("a,,c\n", NULL, &t));
    if (t) {
        CHECK_INT(t->nrows, 0);
        CHECK_STR(t->cols[1].name, "column_2");
        CHECK_INT(t->cols[2].type, MF_CSV_FLOAT64);
        CHECK_INT(mf_tensor_numel(t->cols[2].data), 0);
        mf_csv_table_free(t);
    }
    /* bad options */
    mf_csv_options_default(&o);
    o.sep = '"';
    CHECK_ERR(read_str("a\n1\n", &o, &t), MF_EINVAL, 2);
    mf_csv_options_default(&o);
    o.skip_rows = -1;
    CHECK_ERR(read_str("a\n1\n", &o, &t), MF_EINVAL, 2);
    CHECK(t == NULL);
    cleanup_tmp();
}

CTEST(bad_lines)
{
    mf_csv_table *t = NULL;
    const char *s = "a,b,c,d,e,f\n1,2,3,4,5,6\n1,2,3,4,5\n1,2,3,4,5,6\n1,2,3,4,5,6,7\n1,2,3,4,5,6\n";
    CHECK_ERR(read_str(s, NULL, &t), MF_EINVAL, 0);
    CHECK(t == NULL);
    CHECK(contains(mf_error_get()->msg, "t.csv:3: expected 6 fields, got 5"));
    mf_csv_options o;
    mf_csv_options_default(&o);
    o.on_bad_lines = MF_CSV_BAD_SKIP;
    CHECK_OK(read_str(s, &o, &t));
    if (t) {
        CHECK_INT(t->nrows, 3);
        CHECK_INT(t->n_bad_lines, 2);
        CHECK_INT(t->bad_lines[0], 3);
        CHECK_INT(t->bad_lines[1], 5);
        mf_csv_table_free(t);
    }
    o.on_bad_lines = MF_CSV_BAD_WARN;
    CHECK_OK(read_str(s, &o, &t));
    if (t) {
        CHECK_INT(t->n_bad_lines, 2);
        mf_csv_table_free(t);
    }
    cleanup_tmp();
}

CTEST(errors)
{
    mf_csv_table *t = NULL;
    CHECK_ERR(mf_csv_read("/nonexistent/dir/data.csv", NULL, &t), MF_EIO, 0);
    CHECK(contains(mf_error_get()->msg, "/nonexistent/dir/data.csv: No such file"));
    CHECK_ERR(read_str("", NULL, &t), MF_EINVAL, 0);
    CHECK(contains(mf_error_get()->msg, "empty file"));
    CHECK_ERR(read_str("\xEF\xBB\xBF\n\r\n", NULL, &t), MF_EINVAL, 0);
    CHECK(contains(mf_error_get()->msg, "empty file"));
    CHECK_ERR(read_str("a,b\n1,2\n3,\"abc\n4,5\n", NULL, &t), MF_EINVAL, 0);
    CHECK(contains(mf_error_get()->msg, "t.csv:3: unterminated quote"));
    CHECK_ERR(read_str("a,b\n1,\"x\"y\n", NULL, &t), MF_EINVAL, 0);
    CHECK(contains(mf_error_get()->msg, "t.csv:2: unexpected character after closing quote"));
    CHECK_ERR(mf_csv_read(write_tmp("a,b\n1,2\n3\0,4\n", 13), NULL, &t), MF_EINVAL, 0);
    CHECK(contains(mf_error_get()->msg, "t.csv:3: NUL byte"));
    CHECK_ERR(read_str("a,b\n1,x\n2,\xC3\x28\n", NULL, &t), MF_EINVAL, 0);
    CHECK(contains(mf_error_get()->msg, "t.csv:3: invalid UTF-8 in column 'b'"));
    CHECK_ERR(read_str("a,b\n1,\xED\xA0\x80\n", NULL, &t), MF_EINVAL, 0); /* a surrogate */
    CHECK_ERR(read_str("a,\xFF\n1,2\n", NULL, &t), MF_EINVAL, 0);
    CHECK(contains(mf_error_get()->msg, "invalid UTF-8 in the name of column 2"));
    CHECK_ERR(read_str("x,y,x\n1,2,3\n", NULL, &t), MF_EINVAL, 0);
    CHECK(contains(mf_error_get()->msg, "t.csv:1: duplicate column name 'x'"));
    CHECK(t == NULL);
    /* valid UTF-8 strings are kept */
    CHECK_OK(read_str("s\nK\xC3\xBChler\n\xE2\x82\xAC\n\xF0\x9F\x98\x80\n", NULL, &t));
    if (t) {
        CHECK_STR(sget(t, 0, 0), "K\xC3\xBChler");
        mf_csv_table_free(t);
    }
    cleanup_tmp();
}

CTEST(big_field)
{
    size_t big = 10u << 20, n = 0;
    char *buf = malloc(big + 64);
    if (!buf) return;
    n += (size_t)sprintf(buf, "id,text\n1,\"");
    for (size_t i = 0; i < big; i++) buf[n++] = (char)(i % 1000 == 999 ? '\n' : 'a' + (char)(i % 26));
    n += (size_t)sprintf(buf + n, "\"\n2,short\n");
    mf_csv_table *t = NULL;
    CHECK_OK(mf_csv_read(write_tmp(buf, n), NULL, &t));
    if (t) {
        CHECK_INT(t->nrows, 2);
        CHECK_INT(strlen(sget(t, 1, 0)), big);
        CHECK(memcmp(sget(t, 1, 0), buf + 11, big) == 0);
        CHECK_STR(sget(t, 1, 1), "short");
        mf_csv_table_free(t);
    }
    free(buf);
    cleanup_tmp();
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

CTEST(numbers_vs_strtod)
{
    char s[128];
    int bad = 0;
    for (int it = 0; it < 200000; it++) {
        size_t n = 0;
        int kind = (int)(rnd() % 6);
        if (rnd() % 2) s[n++] = rnd() % 2 ? '-' : '+';
        int nd = 1 + (int)(rnd() % (kind == 0 ? 25 : 17));
        int dot = (int)(rnd() % (size_t)(nd + 2)) - 1;
        for (int i = 0; i < nd; i++) {
            if (i == dot) s[n++] = '.';
            s[n++] = (char)('0' + rnd() % 10);
        }
        if (kind >= 3) {
            s[n++] = rnd() % 2 ? 'e' : 'E';
            if (rnd() % 2) s[n++] = rnd() % 2 ? '-' : '+';
            n += (size_t)sprintf(s + n, "%d", (int)(rnd() % (kind == 5 ? 330 : 30)));
        }
        s[n] = '\0';
        double v = 0, ref = strtod(s, NULL);
        if (mf_csv_parse_double(s, n, &v) != 1 || memcmp(&v, &ref, sizeof v) != 0) {
            if (bad++ < 5) CTEST_FAIL_("parse(\"%s\") = %.17g, strtod %.17g", s, v, ref);
        }
    }
    /* round trip of random doubles printed with %.17g */
    for (int it = 0; it < 100000; it++) {
        uint64_t u = rnd();
        double d;
        memcpy(&d, &u, sizeof d);
        if (!isfinite(d)) continue;
        int n = snprintf(s, sizeof s, "%.*g", 1 + (int)(rnd() % 17), d);
        double v = 0, ref = strtod(s, NULL);
        if (mf_csv_parse_double(s, (size_t)n, &v) != 1 || memcmp(&v, &ref, sizeof v) != 0) {
            if (bad++ < 5) CTEST_FAIL_("parse(\"%s\") = %.17g, strtod %.17g", s, v, ref);
        }
    }
    CHECK_INT(bad, 0);
    double v;
    const char *no[] = {"", "-", "+", ".", "e5", "1e", "1e+", "1.2.3", "0x10", " 1", "1 ", "1,5",
                        "--1", "in", "nan", "1e5x"};
    for (size_t k = 0; k < sizeof no / sizeof no[0]; k++)
        if (mf_csv_parse_double(no[k], strlen(no[k]), &v) != 0) CTEST_FAIL_("\"%s\" parsed", no[k]);
    CHECK(mf_csv_parse_double("5.", 2, &v) == 1 && v == 5);
    CHECK(mf_csv_parse_double("-0", 2, &v) == 1 && v == 0 && signbit(v));
    CHECK(mf_csv_parse_double("1e400", 5, &v) == 1 && isinf(v));
    CHECK(mf_csv_parse_double("2.2250738585072011e-308", 23, &v) == 1 && v == strtod("2.2250738585072011e-308", NULL));
}

CTEST(threads_identical)
{
    /* 60000 rows, enough for the parallel classification pass to split */
    size_t cap = 60000 * 48, n = 0;
    char *buf = malloc(cap);
    if (!buf) return;
    n += (size_t)sprintf(buf, "i,x,y\n");
    for (int i = 0; i < 60000; i++) {
        uint64_t u = rnd();
        if (i % 997 == 5) n += (size_t)sprintf(buf + n, "%d,err,%d\n", i, (int)(u % 100));
        else if (i % 501 == 7) n += (size_t)sprintf(buf + n, "%d,,%d\n", i, (int)(u % 100));
        else n += (size_t)sprintf(buf + n, "%d,%.*g,%d\n", i, 1 + (int)(u % 17), (double)(u >> 11) * 1e-9, (int)(u % 100));
    }
    const char *p = write_tmp(buf, n);
    free(buf);
    int saved = mf_num_threads();
    mf_csv_table *a = NULL, *b = NULL;
    mf_set_num_threads(1);
    CHECK_OK(mf_csv_read(p, NULL, &a));
    mf_set_num_threads(mf_num_cores());
    CHECK_OK(mf_csv_read(p, NULL, &b));
    mf_set_num_threads(saved);
    if (a && b) {
        CHECK_INT(a->nrows, 60000);
        CHECK_INT(a->cols[1].type, MF_CSV_FLOAT64);
        CHECK_INT(a->cols[1].n_coerced, b->cols[1].n_coerced);
        CHECK_INT(a->cols[1].n_coerced, 61);
        CHECK_INT(a->cols[1].coerced_lines[0], 7);
        CHECK_INT(a->cols[1].n_missing, b->cols[1].n_missing);
        for (int j = 0; j < 3; j++) {
            CHECK_INT(a->cols[j].type, b->cols[j].type);
            CHECK(memcmp(mf_tensor_data(a->cols[j].data), mf_tensor_data(b->cols[j].data),
                         mf_tensor_nbytes(a->cols[j].data)) == 0);
        }
    }
    mf_csv_table_free(a);
    mf_csv_table_free(b);
    cleanup_tmp();
}

static const char *sample =
    "\xEF\xBB\xBFid,temp,ok,site,note\r\n"
    "1,20.5,true,A,\"x, y\"\r\n"
    "2,err,false,B,\"multi\nline\"\r\n"
    "3,,true,A,\"q\"\"q\"\r\n"
    "4,21.25,false,C,NA\r\n"
    "5,1e3,true,A,plain\r\n";

CTEST(alloc_failures)
{
    int ok = 0;
    for (long k = 1; k < 200; k++) {
        mf_csv_table *t = NULL;
        size_t before = mf_mem_in_use();
        const char *p = write_tmp(sample, strlen(sample));
        mf_mem_fail_after(k);
        mf_status st = mf_csv_read(p, NULL, &t);
        mf_mem_fail_after(0);
        if (st == MF_OK) {
            CHECK(t != NULL);
            CHECK_INT(t->nrows, 5);
            mf_csv_table_free(t);
            ok++;
        } else {
            CHECK_INT(st, MF_ENOMEM);
            CHECK(t == NULL);
        }
        CHECK_INT(mf_mem_in_use(), before);
    }
    CHECK(ok > 0);
    cleanup_tmp();
}

CTEST(fuzz)
{
    size_t base = strlen(sample);
    char buf[512];
    int nok = 0;
    for (int it = 0; it < 5000; it++) {
        size_t n = base;
        memcpy(buf, sample, n);
        if (it % 10 == 0) {
            n = (size_t)(rnd() % 200);
            for (size_t i = 0; i < n; i++) buf[i] = (char)rnd();
        } else {
            int m = 1 + (int)(rnd() % 6);
            static const char pool[] = ",\"\r\n\0aZ9.-e\xC3\xFF ";
            for (int k = 0; k < m && n > 0; k++) {
                size_t at = (size_t)(rnd() % n);
                switch (rnd() % 3) {
                case 0: buf[at] = pool[rnd() % (sizeof pool - 1)]; break;
                case 1: memmove(buf + at, buf + at + 1, n - at - 1), n--; break;
                default:
                    if (n < sizeof buf - 1) {
                        memmove(buf + at + 1, buf + at, n - at);
                        buf[at] = pool[rnd() % (sizeof pool - 1)];
                        n++;
                    }
                }
            }
        }
        mf_csv_options o;
        mf_csv_options_default(&o);
        o.on_bad_lines = (mf_csv_bad_lines)(rnd() % 3);
        o.header = (int)(rnd() % 2);
        mf_csv_table *t = NULL;
        mf_status st = mf_csv_read(write_tmp(buf, n), &o, &t);
        if (st == MF_OK) {
            nok++;
            CHECK(t && t->ncols > 0);
            for (int64_t j = 0; t && j < t->ncols; j++) {
                mf_csv_column *c = &t->cols[j];
                CHECK(c->name && c->data && mf_tensor_numel(c->data) == t->nrows);
                if (c->type == MF_CSV_STRING)
                    for (int64_t i = 0; i < t->nrows; i++) CHECK(iget(t, (int)j, i) <= c->nlevels);
            }
            mf_csv_table_free(t);
        } else {
            CHECK(t == NULL && mf_error_get()->msg[0]);
        }
    }
    CHECK(nok > 100);
    cleanup_tmp();
}

/* Whether two tables hold the same columns, values, texts and reports. */
static int same_table(const mf_csv_table *a, const mf_csv_table *b)
{
    if (a->nrows != b->nrows || a->ncols != b->ncols || a->n_bad_lines != b->n_bad_lines) return 0;
    if (memcmp(a->bad_lines, b->bad_lines, sizeof a->bad_lines) != 0) return 0;
    for (int j = 0; j < a->ncols; j++) {
        const mf_csv_column *x = &a->cols[j], *y = &b->cols[j];
        if (strcmp(x->name, y->name) != 0 || x->type != y->type || x->n_missing != y->n_missing ||
            x->n_coerced != y->n_coerced || memcmp(x->coerced_lines, y->coerced_lines, sizeof x->coerced_lines))
            return 0;
        if (x->type == MF_CSV_STRING) {
            for (int64_t i = 0; i < a->nrows; i++) {
                const char *p = sget(a, j, i), *q = sget(b, j, i);
                if ((p == NULL) != (q == NULL) || (p && strcmp(p, q) != 0)) return 0;
            }
        } else if (memcmp(mf_tensor_data(x->data), mf_tensor_data(y->data), mf_tensor_nbytes(x->data)) != 0) {
            return 0;
        }
    }
    return 1;
}

/* A file of `rows` records with quoted fields holding separators, doubled
 * quotes and line breaks (LF, CRLF or lone CR by `eol`), a junk cell now and
 * then, and line ends `eol`. */
static char *gen_file(int rows, const char *eol, size_t *len)
{
    size_t cap = (size_t)rows * 96 + 64, n = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    n += (size_t)snprintf(buf, cap, "id,x,note,k%s", eol);
    for (int i = 0; i < rows; i++) {
        uint64_t u = rnd();
        const char *note = (i % 5 == 0) ? "\"a, \"\"quoted\"\"%sline\"" : (i % 7 == 0 ? "\"\"" : "plain%d");
        char nb[64];
        if (i % 5 == 0) snprintf(nb, sizeof nb, note, i % 10 == 0 ? "\n" : (i % 3 ? "\r\n" : "\r"));
        else snprintf(nb, sizeof nb, note, (int)(u % 50));
        if (i % 113 == 9) n += (size_t)snprintf(buf + n, cap - n, "%d,oops,%s,%d%s", i, nb, (int)(u % 7), eol);
        else n += (size_t)snprintf(buf + n, cap - n, "%d,%.*g,%s,%d%s", i, 1 + (int)(u % 16),
                                   (double)(u >> 11) * 1e-6, nb, (int)(u % 7), eol);
    }
    *len = n;
    return buf;
}

CTEST(blocks_and_pieces)
{
    /* the same file read whole in one block on one thread, and in small
     * blocks split between threads (piece guesses landing inside quoted
     * line breaks are re-parsed): identical tables, line numbers included */
    const char *eols[] = {"\n", "\r\n", "\r"};
    int saved = mf_num_threads();
    for (int e = 0; e < 3; e++) {
        size_t n = 0;
        char *buf = gen_file(30000, eols[e], &n);
        if (!buf) return;
        const char *p = write_tmp(buf, n);
        free(buf);
        mf_csv_table *a = NULL, *b = NULL, *c = NULL;
        mf_set_num_threads(1);
        mf_csv_set_block_size((size_t)1 << 30);
        CHECK_OK(mf_csv_read(p, NULL, &a));
        mf_set_num_threads(mf_num_cores());
        mf_csv_set_block_size(70000 + (size_t)e * 977);
        CHECK_OK(mf_csv_read(p, NULL, &b));
        mf_csv_set_block_size(333);
        CHECK_OK(mf_csv_read(p, NULL, &c));
        mf_csv_set_block_size(0);
        if (a && b && c) {
            CHECK_INT(a->nrows, 30000);
            CHECK_INT(a->cols[1].type, MF_CSV_FLOAT64);
            CHECK_INT(a->cols[1].n_coerced, (30000 - 9 + 112) / 113);
            /* the line of row 9: the header, then rows 0 and 5 take two lines each */
            CHECK_INT(a->cols[1].coerced_lines[0], 1 + 9 + 1 + 2);
            CHECK_STR(sget(a, 2, 0), "a, \"quoted\"\nline");
            CHECK_STR(sget(a, 2, 7), "");
            CHECK(same_table(a, b));
            CHECK(same_table(a, c));
        }
        mf_csv_table_free(a);
        mf_csv_table_free(b);
        mf_csv_table_free(c);
    }
    mf_set_num_threads(saved);
    cleanup_tmp();
}

CTEST(quoted_never_missing_and_cr_lines)
{
    mf_csv_table *t = NULL;
    /* CR-only line ends with a quoted CR break: line numbers still count it */
    CHECK_OK(read_str("s,v\r\"NA\",1\r\"x\ry\",2\rNA,3\r\"\",4\rz,err\r", NULL, &t));
    if (t) {
        CHECK_STR(sget(t, 0, 0), "NA");
        CHECK_STR(sget(t, 0, 1), "x\ry");
        CHECK(sget(t, 0, 2) == NULL);
        CHECK_STR(sget(t, 0, 3), "");
        CHECK_INT(t->cols[0].n_missing, 1);
        CHECK_INT(t->cols[1].type, MF_CSV_STRING); /* 1 junk cell in 5: below 90% numeric */
        mf_csv_table_free(t);
    }
    /* a quoted NA in a numeric column is not missing but a coerced cell */
    char buf[512];
    size_t n = (size_t)snprintf(buf, sizeof buf, "v\r");
    for (int i = 0; i < 30; i++) n += (size_t)snprintf(buf + n, sizeof buf - n, i == 9 ? "\"NA\"\r" : (i == 3 ? "\"a\rb\"\r" : "%d.5\r"), i);
    CHECK_OK(mf_csv_read(write_tmp(buf, n), NULL, &t));
    if (t) {
        CHECK_INT(t->cols[0].type, MF_CSV_FLOAT64);
        CHECK_INT(t->cols[0].n_coerced, 2);
        CHECK_INT(t->cols[0].coerced_lines[0], 5);
        CHECK_INT(t->cols[0].coerced_lines[1], 12); /* after the quoted CR */
        mf_csv_table_free(t);
    }
    cleanup_tmp();
}

CTEST(select_and_types)
{
    const char *s = "a,b,c,d\n1,007,true,x\n2,8,false,y\n3,9,true,\n";
    mf_csv_reader *r = NULL;
    mf_csv_table *t = NULL;
    CHECK_OK(mf_csv_reader_open(write_tmp(s, strlen(s)), NULL, &r));
    if (!r) return;
    CHECK_INT(mf_csv_reader_ncols(r), 4);
    CHECK_STR(mf_csv_reader_name(r, 3), "d");
    CHECK(mf_csv_reader_name(r, 4) == NULL);
    int keep[4] = {0, 1, 1, 1}, types[4] = {-1, MF_CSV_STRING, MF_CSV_STRING, -1};
    CHECK_OK(mf_csv_reader_configure(r, keep, types));
    CHECK_OK(mf_csv_reader_read_all(r, &t));
    if (t) {
        CHECK_INT(t->ncols, 3);
        CHECK_STR(t->cols[0].name, "b");
        CHECK_INT(t->cols[0].index, 1);
        CHECK_INT(t->cols[0].type, MF_CSV_STRING);
        CHECK_STR(sget(t, 0, 0), "007");
        CHECK_INT(t->cols[1].type, MF_CSV_STRING);
        CHECK_INT(t->cols[2].type, MF_CSV_STRING);
        CHECK(sget(t, 2, 2) == NULL);
        mf_csv_table_free(t);
        t = NULL;
    }
    mf_csv_reader_close(r);
    /* forced int64 / bool / float64 */
    struct {
        const char *text;
        int type;
        const char *err;
    } cases[] = {
        {"v\n1\n2.5\n", MF_CSV_INT64, "t.csv:3: cannot read '2.5' in column 'v' as int64"},
        {"v\n1\n\n\nNA\n", MF_CSV_INT64, "t.csv:5: missing value in int64 column 'v'"},
        {"v\n1\n99999999999999999999\n", MF_CSV_INT64, "t.csv:3: cannot read '99999999999999999999' in column 'v' as int64"},
        {"v\ntrue\nmaybe\n", MF_CSV_BOOL, "t.csv:3: cannot read 'maybe' in column 'v' as bool"},
        {"v\ntrue\n\"\"\n", MF_CSV_BOOL, "t.csv:3: cannot read '' in column 'v' as bool"},
        {"v\n,\n", MF_CSV_INT64, "t.csv:2: expected 1 fields, got 2"}, /* the field count first */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        CHECK_OK(mf_csv_reader_open(write_tmp(cases[k].text, strlen(cases[k].text)), NULL, &r));
        if (!r) continue;
        int ty = cases[k].type;
        CHECK_OK(mf_csv_reader_configure(r, NULL, &ty));
        CHECK_ERR(mf_csv_reader_read_all(r, &t), MF_EINVAL, 0);
        CHECK(t == NULL);
        if (!contains(mf_error_get()->msg, cases[k].err))
            CTEST_FAIL_("case %zu: \"%s\"", k, mf_error_get()->msg);
        mf_csv_reader_close(r);
    }
    const char *f = "v,w\n1,true\nerr,false\n3,TRUE\n";
    CHECK_OK(mf_csv_reader_open(write_tmp(f, strlen(f)), NULL, &r));
    if (r) {
        int ty[2] = {MF_CSV_FLOAT64, MF_CSV_BOOL};
        CHECK_OK(mf_csv_reader_configure(r, NULL, ty));
        CHECK_ERR(mf_csv_reader_configure(r, NULL, ty), MF_ESTATE, 1);
        CHECK_OK(mf_csv_reader_read_all(r, &t));
        if (t) {
            CHECK_INT(t->cols[0].type, MF_CSV_FLOAT64); /* 1 junk in 3: coerced anyway when forced */
            CHECK_INT(t->cols[0].n_coerced, 1);
            CHECK_INT(t->cols[0].coerced_lines[0], 3);
            CHECK(fget(t, 0, 2) == 3);
            CHECK_INT(t->cols[1].type, MF_CSV_BOOL);
            mf_csv_table_free(t);
        }
        mf_csv_reader_close(r);
    }
    cleanup_tmp();
}

CTEST(second_pass)
{
    /* numeric for 3000 rows, then text: the column is read again as strings */
    size_t cap = 200000, n = 0;
    char *buf = malloc(cap);
    if (!buf) return;
    n += (size_t)snprintf(buf, cap, "k,v\n");
    for (int i = 0; i < 5000; i++)
        n += (size_t)snprintf(buf + n, cap - n, i < 3000 ? "%d,%d.25\n" : "%d,t%d\n", i, i);
    const char *p = write_tmp(buf, n);
    free(buf);
    int saved = mf_num_threads();
    mf_csv_table *a = NULL, *b = NULL;
    mf_csv_set_block_size(4096);
    CHECK_OK(mf_csv_read(p, NULL, &a));
    mf_set_num_threads(1);
    mf_csv_set_block_size(0);
    CHECK_OK(mf_csv_read(p, NULL, &b));
    mf_set_num_threads(saved);
    if (a && b) {
        CHECK_INT(a->cols[1].type, MF_CSV_STRING);
        CHECK_STR(sget(a, 1, 0), "0.25");
        CHECK_STR(sget(a, 1, 4999), "t4999");
        CHECK_INT(a->cols[1].nlevels, 5000);
        CHECK_INT(a->cols[0].type, MF_CSV_INT64);
        CHECK(same_table(a, b));
    }
    mf_csv_table_free(a);
    mf_csv_table_free(b);
    /* a column with text first and then mostly numbers becomes float64 */
    char small[4096];
    n = (size_t)snprintf(small, sizeof small, "v\nfirst\n");
    for (int i = 0; i < 40; i++) n += (size_t)snprintf(small + n, sizeof small - n, "%d\n", i * 3);
    CHECK_OK(mf_csv_read(write_tmp(small, n), NULL, &a));
    if (a) {
        CHECK_INT(a->cols[0].type, MF_CSV_FLOAT64);
        CHECK_INT(a->cols[0].n_coerced, 1);
        CHECK_INT(a->cols[0].coerced_lines[0], 2);
        CHECK(fget(a, 0, 40) == 117);
        mf_csv_table_free(a);
    }
    cleanup_tmp();
}

CTEST(chunks)
{
    size_t n = 0;
    char *buf = gen_file(2000, "\n", &n);
    if (!buf) return;
    const char *p = write_tmp(buf, n);
    free(buf);
    mf_csv_table *whole = NULL;
    mf_csv_set_block_size(1000);
    CHECK_OK(mf_csv_read(p, NULL, &whole));
    mf_csv_reader *r = NULL;
    CHECK_OK(mf_csv_reader_open(p, NULL, &r));
    if (!whole || !r) {
        mf_csv_set_block_size(0);
        mf_csv_table_free(whole);
        mf_csv_reader_close(r);
        return;
    }
    int64_t row = 0, nchunks = 0, bad = 0;
    const char *levels[4000];
    int64_t nlev = 0;
    for (;;) {
        mf_csv_table *t = NULL;
        CHECK_OK(mf_csv_reader_next(r, 333, &t));
        if (!t) break;
        nchunks++;
        CHECK(t->nrows <= 333);
        CHECK_INT(t->cols[0].type, MF_CSV_INT64);
        CHECK_INT(t->cols[1].type, MF_CSV_FLOAT64);
        CHECK_INT(t->cols[2].type, MF_CSV_STRING);
        CHECK_INT(t->cols[2].level_base, nlev);
        for (int64_t k = 0; k < t->cols[2].nlevels && nlev < 4000; k++) levels[nlev++] = t->cols[2].levels[k];
        for (int64_t i = 0; i < t->nrows; i++) {
            if (iget(t, 0, i) != iget(whole, 0, row + i)) bad++;
            double x = fget(t, 1, i), y = fget(whole, 1, row + i);
            if (!(x == y || (isnan(x) && isnan(y)))) bad++;
            int64_t code = iget(t, 2, i);
            const char *w = sget(whole, 2, row + i);
            if (code < 1 || code > nlev || strcmp(levels[code - 1], w) != 0) bad++;
        }
        row += t->nrows;
        /* keep the level texts alive: copy them out of the chunk table */
        for (int64_t k = 0; k < t->cols[2].nlevels; k++) {
            int64_t q = t->cols[2].level_base + k;
            levels[q] = strdup(t->cols[2].levels[k]);
        }
        mf_csv_table_free(t);
    }
    CHECK_INT(bad, 0);
    CHECK_INT(row, 2000);
    CHECK_INT(nchunks, 7);
    for (int64_t k = 0; k < nlev; k++) free((void *)levels[k]);
    mf_csv_reader_close(r);
    mf_csv_table_free(whole);
    /* the first chunk fixes the types: a later cell that does not fit */
    const char *s = "i,b,f\n1,true,1.5\n2,false,2\n3,true,x\n4.5,false,4\n";
    CHECK_OK(mf_csv_reader_open(write_tmp(s, strlen(s)), NULL, &r));
    if (r) {
        mf_csv_table *t = NULL;
        CHECK_OK(mf_csv_reader_next(r, 2, &t));
        if (t) {
            CHECK_INT(t->cols[0].type, MF_CSV_INT64);
            CHECK_INT(t->cols[1].type, MF_CSV_BOOL);
            CHECK_INT(t->cols[2].type, MF_CSV_FLOAT64);
            mf_csv_table_free(t);
            t = NULL;
        }
        CHECK_ERR(mf_csv_reader_next(r, 2, &t), MF_EINVAL, 0);
        CHECK(contains(mf_error_get()->msg, "t.csv:5: cannot read '4.5' in column 'i' as int64 (the type inferred from the first chunk"));
        CHECK(contains(mf_error_get()->msg, "dtypes"));
        mf_csv_reader_close(r);
    }
    mf_csv_set_block_size(0);
    cleanup_tmp();
}

CTEST(chunk_alloc_failures)
{
    int ok = 0;
    for (long k = 1; k < 200; k++) {
        size_t before = mf_mem_in_use();
        const char *p = write_tmp(sample, strlen(sample));
        mf_csv_reader *r = NULL;
        mf_csv_table *t = NULL;
        mf_mem_fail_after(k);
        mf_status st = mf_csv_reader_open(p, NULL, &r);
        int64_t rows = 0;
        while (!st) {
            st = mf_csv_reader_next(r, 2, &t);
            if (st || !t) break;
            rows += t->nrows;
            mf_csv_table_free(t);
            t = NULL;
        }
        mf_mem_fail_after(0);
        mf_csv_reader_close(r);
        if (st == MF_OK) {
            CHECK_INT(rows, 5);
            ok++;
        } else {
            CHECK_INT(st, MF_ENOMEM);
        }
        CHECK_INT(mf_mem_in_use(), before);
    }
    CHECK(ok > 0);
    cleanup_tmp();
}

CTEST(fast_path_vs_strtod)
{
    /* the reader parses the common numeric cells on its own fast path: the
     * values read must be the doubles strtod gives, sign of zero included */
    enum { N = 40000 };
    size_t cap = (size_t)N * 48, n = 0;
    char *buf = malloc(cap);
    char(*texts)[40] = malloc((size_t)N * sizeof *texts);
    if (!buf || !texts) {
        free(buf);
        free(texts);
        return;
    }
    n += (size_t)snprintf(buf, cap, "v\n");
    for (int i = 0; i < N; i++) {
        char *t = texts[i];
        size_t k = 0;
        uint64_t u = rnd();
        if (u % 3 == 0) t[k++] = u % 2 ? '-' : '+';
        int nd = 1 + (int)(rnd() % 20), dot = (int)(rnd() % (uint64_t)(nd + 2)) - 1;
        for (int d = 0; d < nd; d++) {
            if (d == dot) t[k++] = '.';
            t[k++] = (char)('0' + (rnd() % 4 == 0 ? 0 : rnd() % 10));
        }
        if (dot == nd) t[k++] = '.';
        t[k] = '\0';
        if (i < 6) strcpy(t, (const char *[]){"-0", "-0.0", "+5", "5.", ".5", "-.000"}[i]);
        n += (size_t)snprintf(buf + n, cap - n, "%s\n", t);
    }
    mf_csv_table *t = NULL;
    CHECK_OK(mf_csv_read(write_tmp(buf, n), NULL, &t));
    if (t) {
        CHECK_INT(t->nrows, N);
        CHECK_INT(t->cols[0].type, MF_CSV_FLOAT64);
        int bad = 0;
        for (int i = 0; i < N; i++) {
            double v = fget(t, 0, i), ref = strtod(texts[i], NULL);
            /* an integer cell is read as an int64 first: "-0" is +0.0 then */
            int is_int = strchr(texts[i], '.') == NULL;
            if (is_int && ref == 0) ref = 0.0;
            if (memcmp(&v, &ref, sizeof v) != 0 && bad++ < 5)
                CTEST_FAIL_("\"%s\" read as %.17g, strtod %.17g", texts[i], v, ref);
        }
        CHECK_INT(bad, 0);
        mf_csv_table_free(t);
    }
    free(buf);
    free(texts);
    cleanup_tmp();
}

const ctest_case ctest_csv[] = {
    CTEST_ENTRY(fast_path_vs_strtod),
    CTEST_ENTRY(blocks_and_pieces),
    CTEST_ENTRY(quoted_never_missing_and_cr_lines),
    CTEST_ENTRY(select_and_types),
    CTEST_ENTRY(second_pass),
    CTEST_ENTRY(chunks),
    CTEST_ENTRY(chunk_alloc_failures),
    CTEST_ENTRY(basic_types),
    CTEST_ENTRY(inference),
    CTEST_ENTRY(missing_values),
    CTEST_ENTRY(coerced_cells),
    CTEST_ENTRY(quoting),
    CTEST_ENTRY(line_ends_bom_blank),
    CTEST_ENTRY(options),
    CTEST_ENTRY(bad_lines),
    CTEST_ENTRY(errors),
    CTEST_ENTRY(big_field),
    CTEST_ENTRY(numbers_vs_strtod),
    CTEST_ENTRY(threads_identical),
    CTEST_ENTRY(alloc_failures),
    CTEST_ENTRY(fuzz),
    {NULL, NULL},
};
