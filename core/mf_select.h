/*
 * mf_select.h — joining, splitting, reordering and selecting: cat / stack,
 * split / chunk, repeat / tile, flip, sort / argsort / topk, unique,
 * gather / scatter_add, masked_select, nonzero, index by mask, one_hot,
 * bincount and histc.
 *
 * Primitive ops (records in mf_op_select.c, see mf_op.h): cat, flip, sort,
 * unique_consecutive, gather, scatter_add, masked_select, nonzero, bincount,
 * histc. The others are compositions of primitives: stack is unsqueeze + cat,
 * split and chunk are narrow views, repeat and tile are expand + reshape,
 * argsort and topk are sort (+ narrow), unique is sort + unique_consecutive
 * (+ scatter_add for the inverse), one_hot is scatter_add into zeros and
 * indexing by a mask is nonzero + index_select.
 *
 * As everywhere in core, dims and positions are 0-based (negative dims count
 * from the end) and error arguments are numbered as a Lua user writes the
 * call, tensor first.
 */
#ifndef MF_SELECT_H
#define MF_SELECT_H

#include "mf_tensor.h"

/* ---------------------------------------------------------------- joining */
/* The n tensors joined along `dim`: same shape except in that dim, dtypes
 * promoted. 1-D empty tensors (shape [0]) are skipped, as in PyTorch (their
 * dtype still takes part in the promotion); `dim` is wrapped against the
 * first tensor that is not skipped. Arguments: tensors = 1, dim = 2. */
mf_status mf_tensor_cat(mf_tensor **out, int n, mf_tensor *const *ts, int64_t dim);
/* The n tensors (all of one shape) along a new dim `dim` (-ndim-1 .. ndim). */
mf_status mf_tensor_stack(mf_tensor **out, int n, mf_tensor *const *ts, int64_t dim);

/* ---------------------------------------------------------------- splitting */
/* Sizes of the pieces of a dim of `size`: split into pieces of `split_size`
 * (the last one smaller; a size-0 dim gives one empty piece), or into at most
 * `chunks` pieces of ceil(size / chunks) (PyTorch's chunk rule; a size-0 dim
 * gives `chunks` empty pieces). *n receives the count; `sizes`, when not
 * NULL, the first `cap` sizes. Argument 2 is split_size / chunks. */
mf_status mf_split_sizes(int64_t size, int64_t split_size, int64_t *n, int64_t *sizes,
                         int64_t cap);
mf_status mf_chunk_sizes(int64_t size, int64_t chunks, int64_t *n, int64_t *sizes,
                         int64_t cap);
/* n views of t along dim, of the given sizes (which must add up to the size
 * of dim), into out[0 .. n-1]. On failure none is left. Arguments: sizes =
 * 2, dim = 3. */
mf_status mf_tensor_split_with_sizes(mf_tensor **out, mf_tensor *t, int64_t n,
                                     const int64_t *sizes, int64_t dim);

/* ---------------------------------------------------------------- repeating */
/* torch's Tensor.repeat: a copy of t repeated reps[i] times along dim i;
 * n >= t->ndim (extra reps add leading dims). */
mf_status mf_tensor_repeat(mf_tensor **out, mf_tensor *t, int n, const int64_t *reps);
/* numpy / torch tile: as repeat, but reps shorter than the dims are padded
 * with leading 1s. */
mf_status mf_tensor_tile(mf_tensor **out, mf_tensor *t, int n, const int64_t *reps);
/* A copy of t with the order of the entries reversed along each of the n
 * (distinct) dims. */
mf_status mf_tensor_flip(mf_tensor **out, mf_tensor *t, int n, const int64_t *dims);

/* ---------------------------------------------------------------- sorting */
/*
 * Sorts along `dim` (0-D tensors sort as one element): values and their
 * positions in t (int64, 0-based). The sort is always stable (equal values
 * keep their order, ascending or descending). NaN is larger than every
 * number: last ascending, first descending (as in PyTorch); -0.0 equals 0.0.
 * Either output pointer may be NULL when that result is not wanted.
 * Arguments: dim = 2, descending = 3.
 */
mf_status mf_tensor_sort(mf_tensor **values, mf_tensor **indices, mf_tensor *t, int64_t dim,
                         int descending);
mf_status mf_tensor_argsort(mf_tensor **indices, mf_tensor *t, int64_t dim, int descending);
/* The k largest (or smallest) entries along dim, in sorted order, with their
 * positions. Arguments: k = 2, dim = 3. */
mf_status mf_tensor_topk(mf_tensor **values, mf_tensor **indices, mf_tensor *t, int64_t k,
                         int64_t dim, int largest);

/* ---------------------------------------------------------------- unique */
/* The distinct values of the flattened t, sorted; `inverse` (int64, shape of
 * t) gives for each entry of t the position of its value in `values`, and
 * `counts` (int64) how often each value occurs. inverse and counts may be
 * NULL. Every NaN is distinct (NaN ~= NaN), as in PyTorch. */
mf_status mf_tensor_unique(mf_tensor **values, mf_tensor **inverse, mf_tensor **counts,
                           mf_tensor *t);
/* The same for runs of equal consecutive values of the flattened t (no
 * sorting): one value per run. */
mf_status mf_tensor_unique_consecutive(mf_tensor **values, mf_tensor **inverse,
                                       mf_tensor **counts, mf_tensor *t);

/* ---------------------------------------------------------------- gather / scatter */
/* out[i][j] = t[index[i][j]][j] (dim 0; likewise for other dims). index:
 * int64 of t's ndim, index.size(d) <= t.size(d) for d ~= dim; the result has
 * index's shape. Arguments: dim = 2, index = 3. */
mf_status mf_tensor_gather(mf_tensor **out, mf_tensor *t, int64_t dim, mf_tensor *index);
/* A copy of t with out[index[i][j]][j] += src[i][j] (dim 0), accumulated in
 * row-major order of index. index.size(d) <= src.size(d) for every d and
 * <= t.size(d) for d ~= dim. The result dtype is the promotion of t's and
 * src's; the in-place form needs src's dtype to fit in t's (int64 += float32
 * is an error, never a truncation). Arguments: dim = 2, index = 3, src = 4. */
mf_status mf_tensor_scatter_add(mf_tensor **out, mf_tensor *t, int64_t dim, mf_tensor *index,
                                mf_tensor *src);
mf_status mf_tensor_scatter_add_(mf_tensor *t, int64_t dim, mf_tensor *index, mf_tensor *src);

/* ---------------------------------------------------------------- masks */
/* The entries of t where the bool mask is true, t and mask broadcast
 * together, in row-major order: a 1-D tensor. Arguments: mask = 2. */
mf_status mf_tensor_masked_select(mf_tensor **out, mf_tensor *t, mf_tensor *mask);
/* Positions (0-based) of the nonzero entries of t (NaN counts as nonzero,
 * true for bool), in row-major order: int64 [count x ndim]. */
mf_status mf_tensor_nonzero(mf_tensor **out, mf_tensor *t);
/* The entries of t along dim where the 1-D bool mask (of the size of that
 * dim) is true: nonzero + index_select. Arguments: dim = 2, mask = 3. */
mf_status mf_tensor_index_mask(mf_tensor **out, mf_tensor *t, int64_t dim, mf_tensor *mask);

/* ---------------------------------------------------------------- counting */
/* int64 tensor of shape labels.shape + [num_classes] with a 1 at each (0-based)
 * label. num_classes < 0 means max(labels) + 1. Arguments: labels = 1,
 * num_classes = 2. */
mf_status mf_tensor_one_hot(mf_tensor **out, mf_tensor *labels, int64_t num_classes);
/* Occurrences of each value v >= 0 of the 1-D int64 t, at position v:
 * length max(max(t) + 1, minlength). With weights (1-D, t's length; NULL for
 * none) the sums of the weights instead of counts: float32 for float32
 * weights, else float64 (as PyTorch). Arguments: weights = 2, minlength = 3. */
mf_status mf_tensor_bincount(mf_tensor **out, mf_tensor *t, mf_tensor *weights,
                             int64_t minlength);
/* Histogram of t in `bins` equal bins over [min, max] (torch.histc): values
 * outside are ignored, and so are NaNs; max itself goes into the last bin.
 * min == max == 0 means the range of the data; an empty range is widened to
 * [min - 1, max + 1]. The result has t's dtype when it is a float, else
 * float32. Arguments: bins = 2, min = 3, max = 4. */
mf_status mf_tensor_histc(mf_tensor **out, mf_tensor *t, int64_t bins, double min, double max);

/* ---------------------------------------------------------------- helpers */
/* Smallest and largest entry of an int64 tensor (*lo > *hi when it is
 * empty), e.g. to check labels or positions before converting them. */
mf_status mf_index_bounds(const mf_tensor *idx, int64_t *lo, int64_t *hi);

#endif
