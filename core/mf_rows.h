/*
 * mf_rows.h — row-wise kernels of the data tables: grouping rows by the
 * values of several columns (hashing), per-group reductions and the index
 * pairs of a join.
 *
 * A "column" here is a 1-D tensor of dtype float64, int64 or bool (a string
 * column is passed as its int64 codes). Two rows are equal when each of
 * their columns holds equal values, with NaN equal to NaN and -0.0 equal to
 * 0.0 (the semantics of pandas' groupby and drop_duplicates on keys).
 *
 * Group ids, rows and indices are 0-based int64 here; the Lua binding
 * converts them to 1-based.
 */
#ifndef MF_ROWS_H
#define MF_ROWS_H

#include "mf_tensor.h"

/*
 * Groups the n rows of `ncols` columns of equal length n (ncols >= 1).
 * *ids (int64 [n]): the group of each row, numbered 0.. in order of first
 * appearance; *ngroups; *first and *last (int64 [ngroups]): the first and
 * last row of each group. `first` and `last` may be NULL when not wanted.
 * O(n) expected (open addressing on a hash of the row; values are compared
 * on collisions). Errors (MF_EINVAL, argument 1): a column that is not 1-D,
 * of another dtype or another length.
 */
mf_status mf_rows_factorize(mf_tensor *const *cols, int ncols, mf_tensor **ids,
                            int64_t *ngroups, mf_tensor **first, mf_tensor **last);

/* The reductions of mf_rows_group_agg (bit flags). */
enum {
    MF_ROWS_COUNT = 1 << 0, /* non-missing values: int64 */
    MF_ROWS_SUM = 1 << 1,   /* int64 for int64/bool values (wrapping), else float64; 0 when empty */
    MF_ROWS_MEAN = 1 << 2,  /* float64; NaN when empty */
    MF_ROWS_STD = 1 << 3,   /* sample std (ddof 1), float64; NaN below 2 values */
    MF_ROWS_MIN = 1 << 4,   /* dtype of the values; float64 NaN for an empty group */
    MF_ROWS_MAX = 1 << 5
};

typedef struct mf_rows_agg {
    mf_tensor *count, *sum, *mean, *std, *min, *max; /* [ngroups] each, or NULL */
} mf_rows_agg;

/*
 * Per-group reductions of `values` (1-D float64, int64 or bool, length n) by
 * `ids` (int64 [n], each in [0, ngroups) or -1 for a row to skip), in one
 * pass (two with std), NaN values skipped, float64 accumulation. Fills the
 * fields of *out asked for by `what` (the others are set to NULL); on error
 * nothing is left allocated. Errors: MF_EINVAL naming argument 1 (values) or
 * 2 (ids), MF_ERANGE for an id out of range.
 */
mf_status mf_rows_group_agg(const mf_tensor *values, const mf_tensor *ids, int64_t ngroups,
                            unsigned what, mf_rows_agg *out);

/* How rows without a partner are kept by mf_rows_join. */
typedef enum mf_rows_how {
    MF_ROWS_INNER = 0,
    MF_ROWS_LEFT,
    MF_ROWS_RIGHT,
    MF_ROWS_OUTER
} mf_rows_how;

/*
 * The row pairs of a join (pandas merge). `ids` (int64 [nleft + nright]) are
 * the key groups of the left rows followed by those of the right rows, in
 * [0, ngroups) (e.g. mf_rows_factorize of the concatenated keys).
 * *lidx, *ridx (int64, same length): the left and right row of each output
 * row, -1 where there is none. Every pair of rows with the same key is
 * produced (many-to-many). Order: inner and left follow the left rows, and
 * the right rows within a key; right follows the right rows, then the left
 * rows within a key; outer follows the groups in the order given by `order`
 * (int64 [ngroups], a permutation: e.g. the groups sorted by key), left rows
 * first, then right rows within a key (order may be NULL for inner, left and
 * right).
 */
mf_status mf_rows_join(const mf_tensor *ids, int64_t nleft, int64_t ngroups, mf_rows_how how,
                       const mf_tensor *order, mf_tensor **lidx, mf_tensor **ridx);

/*
 * out[i] = col[idx[i]] for a 1-D column and int64 indices in [-1, len):
 * -1 gives a missing value. `codes`: the column holds string codes (int64),
 * whose missing value is 0. Otherwise a float64 column gets NaN and an int64
 * or bool column becomes float64 when some index is -1 (as pandas does).
 */
mf_status mf_rows_take(mf_tensor **out, const mf_tensor *col, const mf_tensor *idx, int codes);

/* ------------------------------------------------------------------ string levels */
/* The strings of a string column's levels: n texts of the given lengths
 * (any bytes). */
typedef struct mf_rows_strings {
    const char *const *s;
    const size_t *len;
    int64_t n;
} mf_rows_strings;

/*
 * *ranks (int64 [n]): the 0-based position of each string when sorted by
 * bytes (memcmp order, a shorter prefix first: the order of Lua's `<` on
 * strings in the C locale); equal strings are ranked by position.
 */
mf_status mf_rows_string_ranks(const mf_rows_strings *s, mf_tensor **ranks);

/*
 * Merges the levels b into a: *map (int64 [b.n]) gives for each string of b
 * its 0-based position in the union, which is a's strings followed by the
 * strings of b not in a, in b's order (duplicates in b map to their first
 * copy); *newidx (int64) lists the 0-based positions in b of those new
 * strings. O(a.n + b.n) expected (hashing).
 */
mf_status mf_rows_merge_levels(const mf_rows_strings *a, const mf_rows_strings *b, mf_tensor **map,
                               mf_tensor **newidx);

#endif
