/*
 * mf_csv.h — the CSV reader: a whole file into typed columns.
 *
 * Parsing follows RFC 4180: fields separated by `sep`, a field that starts
 * with a double quote runs to the matching quote and may hold separators,
 * line breaks and doubled quotes (""); records end at LF, CRLF or CR. A UTF-8
 * BOM at the start is skipped and blank lines are ignored. A quote inside an
 * unquoted field is an ordinary character.
 *
 * Every column gets one type, inferred over the whole column (unquoted cells
 * equal to one of the missing-value strings are "missing"; otherwise quoting
 * does not matter: "1.5" in quotes is a number):
 *  - MF_CSV_INT64:   every cell an integer in int64 range, none missing;
 *  - MF_CSV_FLOAT64: every non-missing cell a number (missing -> NaN), or at
 *    least 90% of them numbers: the others (`err`, `?`, `#VALUE!`, `1.2.3`)
 *    become NaN and are counted in n_coerced with the first line numbers. A
 *    column with no non-missing cell (or a header-only file) is float64;
 *  - MF_CSV_BOOL:    every cell true/True/TRUE/false/False/FALSE, none missing;
 *  - MF_CSV_STRING:  anything else: `data` holds int64 codes, 1-based indices
 *    into `levels` (distinct strings in order of first appearance); a missing
 *    cell has code 0 (MF_CSV_MISSING_CODE). Strings must be valid UTF-8.
 * Numbers are decimal ([+-]digits[.digits][e[+-]digits], ".5", "5.") or
 * inf/infinity (any case, signed), parsed to the double strtod gives
 * (correctly rounded); surrounding spaces and hex forms are not numbers.
 *
 * A quoted field is never missing: "NA" in quotes is the string NA and ""
 * is an empty string (in a numeric column both are non-numeric cells).
 *
 * Line numbers are 1-based physical lines of the file: LF, CRLF and a lone CR
 * each end one, inside quotes too (a record with a quoted line break spans
 * several; it is named by its first line).
 *
 * The file is streamed in blocks through one reused buffer; memory beyond
 * the result is bounded by the block (2 MB, or the longest record).
 */
#ifndef MF_CSV_H
#define MF_CSV_H

#include "mf_common.h"
#include "mf_tensor.h"

typedef enum mf_csv_bad_lines {
    MF_CSV_BAD_ERROR = 0, /* a record with the wrong field count fails the read */
    MF_CSV_BAD_SKIP,      /* it is skipped and counted */
    MF_CSV_BAD_WARN       /* skipped and counted; the caller is expected to warn */
} mf_csv_bad_lines;

typedef struct mf_csv_options {
    char sep;                      /* field separator, default ',' (not '"', CR or LF) */
    int header;                    /* 1 (default): the first record names the columns */
    /* Missing-value strings, NULL-terminated; NULL (default) means
     * "", NA, N/A, n/a, NaN, nan, null, NULL. {NULL} means none. */
    const char *const *na_values;
    int64_t skip_rows;             /* physical lines skipped before anything, default 0 */
    int64_t max_rows;              /* read at most this many data records; < 0 (default): all */
    mf_csv_bad_lines on_bad_lines; /* default MF_CSV_BAD_ERROR */
} mf_csv_options;

typedef enum mf_csv_type {
    MF_CSV_FLOAT64 = 0,
    MF_CSV_INT64,
    MF_CSV_BOOL,
    MF_CSV_STRING
} mf_csv_type;

#define MF_CSV_MISSING_CODE 0
#define MF_CSV_MAX_LINES 8 /* line numbers kept for coerced cells / bad lines */

typedef struct mf_csv_column {
    char *name;           /* NUL-terminated; "column_<j>" (1-based) without a header */
    int64_t index;        /* 0-based position of the column in the file */
    mf_csv_type type;
    /* [nrows]: float64, int64 or bool; for a string column int64 codes. */
    mf_tensor *data;
    char **levels;        /* string columns: nlevels NUL-terminated strings */
    int64_t nlevels;
    /* Codes are 1-based into the levels of the whole read: level_base levels
     * came in earlier chunks (mf_csv_reader_next), levels[k] is level
     * level_base + k + 1. Always 0 for mf_csv_read. */
    int64_t level_base;
    void *pool;           /* private: the storage of the level strings */
    int64_t n_missing;    /* missing cells (NaN / code 0), coerced ones included */
    int64_t n_coerced;    /* non-numeric cells of a float64 column turned into NaN */
    int64_t coerced_lines[MF_CSV_MAX_LINES]; /* the first min(n_coerced, 8) lines */
} mf_csv_column;

typedef struct mf_csv_table {
    int64_t nrows, ncols;
    mf_csv_column *cols;  /* [ncols] */
    int64_t n_bad_lines;  /* records skipped by on_bad_lines = skip | warn */
    int64_t bad_lines[MF_CSV_MAX_LINES]; /* their first min(n_bad_lines, 8) lines */
} mf_csv_table;

void mf_csv_options_default(mf_csv_options *o);
/*
 * Reads the whole file at `path` (o NULL: the defaults) into a new table for
 * the caller (free it with mf_csv_table_free). Errors (MF_EIO for the file,
 * MF_EINVAL for its content, MF_ENOMEM) name the file and line:
 * "data.csv:17: expected 6 fields, got 5", "data.csv:3: unterminated quote",
 * "data.csv:9: invalid UTF-8 in column 'site'", "data.csv: empty file", ...
 */
mf_status mf_csv_read(const char *path, const mf_csv_options *o, mf_csv_table **out);
void mf_csv_table_free(mf_csv_table *t); /* NULL is ignored */
/* Frees the levels array and pool of a column taken out of its table (the
 * caller set the column's levels and pool to NULL). */
void mf_csv_levels_free(char **levels, void *pool);

/*
 * The reader object behind mf_csv_read and chunked reading:
 *   mf_csv_reader_open   opens the file and reads the header (errors as above);
 *   mf_csv_reader_ncols / _name: the columns of the file, in file order;
 *   mf_csv_reader_configure (optional, before the first read): keep[j] = 0
 *     skips column j (NULL keeps all), types[j] = -1 infers its type, else
 *     forces an mf_csv_type: a cell that the type cannot represent (not an
 *     integer in int64 range, not true/false, a missing cell for int64 and
 *     bool) fails the read naming the line, column and cell; for float64 a
 *     non-numeric cell is coerced to NaN and counted;
 *   mf_csv_reader_read_all: the rest of the file as one table, types
 *     inferred over the whole column (as mf_csv_read);
 *   mf_csv_reader_next: at most max_rows (> 0) more rows, *out NULL at the
 *     end of the file (the first call returns a table even when it has no
 *     rows; options.max_rows is not used). The first chunk's inference (over that chunk) fixes
 *     the types of the later chunks: there, a non-numeric cell of a float64
 *     column is coerced and counted, a cell that does not fit an int64 or
 *     bool column is an error. String codes stay consistent across chunks
 *     (see level_base).
 * Use one of read_all and next on a reader. Only the columns kept appear in
 * the tables (cols[k].index gives the file position).
 */
typedef struct mf_csv_reader mf_csv_reader;
mf_status mf_csv_reader_open(const char *path, const mf_csv_options *o, mf_csv_reader **out);
int64_t mf_csv_reader_ncols(const mf_csv_reader *rd);
const char *mf_csv_reader_name(const mf_csv_reader *rd, int64_t j);
mf_status mf_csv_reader_configure(mf_csv_reader *rd, const int *keep, const int *types);
mf_status mf_csv_reader_read_all(mf_csv_reader *rd, mf_csv_table **out);
mf_status mf_csv_reader_next(mf_csv_reader *rd, int64_t max_rows, mf_csv_table **out);
void mf_csv_reader_close(mf_csv_reader *rd); /* NULL is ignored */

/* Test hook: the size of the blocks the file is read in (0 restores the
 * default of 2 MB); small sizes exercise records across block boundaries. */
void mf_csv_set_block_size(size_t bytes);

/* The number parser of the reader: s[0..len) whole must be a number (see
 * above); returns 1 and sets *v, else 0 (-1 when a copy of a number of 512
 * characters or more cannot be allocated). Exposed for tests. */
int mf_csv_parse_double(const char *s, size_t len, double *v);

#endif
