/*
 * mf_csv_write.h — writing a table of columns as a CSV file that
 * mf_csv_read reads back exactly.
 *
 * The file is written atomically (mf_file_atomic: a temporary file renamed
 * over `path`); on any failure an existing file is left untouched.
 *
 * Cells: float64 in the shortest of %.15g / %.16g / %.17g that reads back
 * bit-exactly (checked), with ".0" appended when it would look like an
 * integer, so the column reads back as float64; NaN as an empty field; ±inf
 * as inf / -inf; -0.0 as -0.0. int64 as integers; bool as true / false.
 * Strings are quoted (with doubled quotes inside) when they contain the
 * separator, a quote, CR or LF, begin or end with a space or tab, are empty
 * or equal a default missing-value text (NA, N/A, n/a, NaN, nan, null,
 * NULL), so that they read back as the same strings; a missing string is an
 * empty unquoted field. A missing cell of a one-column table is written NA
 * (an empty line would be skipped by the reader).
 */
#ifndef MF_CSV_WRITE_H
#define MF_CSV_WRITE_H

#include "mf_tensor.h"

typedef struct mf_csv_wcolumn {
    const char *name;
    /* 1-D float64, int64 or bool; for a string column, int64 codes into
     * levels (1-based; 0 = missing). All columns have the same length. */
    const mf_tensor *data;
    const char *const *levels; /* NULL for a numeric column */
    int64_t nlevels;
} mf_csv_wcolumn;

typedef struct mf_csv_write_options {
    char sep;   /* ',' */
    int header; /* 1: a first line with the column names */
} mf_csv_write_options;

void mf_csv_write_options_default(mf_csv_write_options *o);

/* Errors: MF_EINVAL naming argument 2 (a column of another dtype, length or
 * a code out of range) or 4 (a separator that is a quote or line break),
 * MF_EIO naming the path, MF_ENOMEM. */
mf_status mf_csv_write(const char *path, const mf_csv_wcolumn *cols, int64_t ncols,
                       const mf_csv_write_options *o);

/* The text of a float64 cell as written (NaN: empty); buf holds at least 32
 * bytes; returns the length. */
size_t mf_csv_format_double(char *buf, double v);

#endif
