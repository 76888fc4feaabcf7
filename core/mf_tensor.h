/*
 * mf_tensor.h — the tensor object: a strided view over refcounted storage.
 *
 * A tensor is a header (dtype, shape, strides in elements, offset) pointing at
 * a storage block that several tensors may share (views). Both headers and
 * storages are reference counted: mf_tensor_release frees the header when its
 * count drops to zero, and the storage with its last tensor.
 *
 * Dimensions and indices are 0-based here; negative dims count from the end
 * where documented (-1 is the last). Functions creating tensors return them
 * through `out` with one reference owned by the caller.
 */
#ifndef MF_TENSOR_H
#define MF_TENSOR_H

#include "mf_common.h"

typedef struct mf_storage mf_storage;

typedef struct mf_tensor {
    mf_storage *storage;
    void *base;                   /* storage data, cached */
    int64_t offset;               /* in elements */
    int ndim;
    mf_dtype dtype;
    int64_t shape[MF_MAX_DIMS];
    int64_t stride[MF_MAX_DIMS];  /* in elements; 0 for broadcast dims */
    long refs;
    int embedded;                 /* allocated with its storage (see mf_tensor.c) */
    /* autograd (mf_autograd.h) */
    int requires_grad;
    int out_index;                /* which output of grad_fn this tensor is */
    struct mf_tensor *grad;       /* accumulated gradient of a leaf (owned) */
    struct mf_node *grad_fn;      /* the recorded op that made it (owned reference) */
} mf_tensor;

/* Shape, strides and offset of a tensor to be made (see mf_op.h). */
typedef struct mf_layout {
    int ndim;
    mf_dtype dtype;
    int64_t shape[MF_MAX_DIMS];
    int64_t stride[MF_MAX_DIMS];
    int64_t offset;
} mf_layout;

/* ---------------------------------------------------------------- lifetime */
/* Uninitialised contiguous tensor. ndim 0 is a scalar (one element). */
mf_status mf_tensor_new(mf_tensor **out, mf_dtype dt, int ndim, const int64_t *shape);
mf_status mf_tensor_zeros(mf_tensor **out, mf_dtype dt, int ndim, const int64_t *shape);
mf_status mf_tensor_full(mf_tensor **out, mf_dtype dt, int ndim, const int64_t *shape,
                         double value);
/* A new header over the storage of `base` (no copy). The layout must stay
 * inside the storage; it is checked. */
mf_status mf_tensor_view(mf_tensor **out, const mf_tensor *base, const mf_layout *l);
void mf_tensor_retain(mf_tensor *t);
void mf_tensor_release(mf_tensor *t);

/* Ranges: [start, end) by step (count ceil((end-start)/step)); `steps` points
 * from start to end inclusive; an n x m identity. */
mf_status mf_tensor_arange(mf_tensor **out, mf_dtype dt, double start, double end, double step);
mf_status mf_tensor_linspace(mf_tensor **out, mf_dtype dt, double start, double end,
                             int64_t steps);
mf_status mf_tensor_eye(mf_tensor **out, mf_dtype dt, int64_t n, int64_t m);

/* ---------------------------------------------------------------- queries */
int64_t mf_tensor_numel(const mf_tensor *t);
size_t mf_tensor_nbytes(const mf_tensor *t);
int mf_tensor_is_contiguous(const mf_tensor *t);
/* Whether several elements share one memory location (an expanded view:
 * a dim of size > 1 with stride 0). Such a tensor cannot be written to. */
int mf_tensor_is_self_overlapping(const mf_tensor *t);
/* Address of the first element. */
static inline void *mf_tensor_data(const mf_tensor *t)
{
    return (char *)t->base + (size_t)t->offset * mf_dtype_size(t->dtype);
}
/* The version of a tensor's storage: bumped by every in-place write, so that
 * autograd can tell when a value it saved has changed. */
unsigned long mf_tensor_version(const mf_tensor *t);
void mf_tensor_bump_version(mf_tensor *t);
/* Bytes of the storage (shared by all views of it). */
size_t mf_storage_nbytes(const mf_storage *s);
int mf_tensor_same_storage(const mf_tensor *a, const mf_tensor *b);
/* Normalises a possibly negative dim for a tensor of `ndim` dims
 * (range: -ndim..ndim-1, or -ndim-1..ndim when `extra`); -1 if out of range. */
int mf_dim_wrap(int64_t dim, int ndim, int extra);
/* "[2x3]" (or "[]" for a scalar) into buf. */
const char *mf_shape_str(char *buf, size_t cap, int ndim, const int64_t *shape);
#define MF_SHAPE_STRLEN (MF_MAX_DIMS * 21 + 3)

/* ---------------------------------------------------------------- elements */
/* idx has t->ndim entries, each in range (checked). */
mf_status mf_tensor_get(const mf_tensor *t, const int64_t *idx, double *v);
mf_status mf_tensor_get_i64(const mf_tensor *t, const int64_t *idx, int64_t *v);
mf_status mf_tensor_set(mf_tensor *t, const int64_t *idx, double v);
mf_status mf_tensor_set_i64(mf_tensor *t, const int64_t *idx, int64_t v);
/* Element at linear position i of a contiguous buffer of dtype dt. */
double mf_load(mf_dtype dt, const void *data, int64_t i);
void mf_store(mf_dtype dt, void *data, int64_t i, double v);

/* A 0-D tensor header over a caller's value (no storage: "borrowed"), to
 * pass a number where an op takes a tensor without allocating. Ops never
 * keep a reference to a borrowed tensor; mf_tensor_release ignores it. */
void mf_tensor_borrow_scalar(mf_tensor *hdr, mf_dtype dt, void *value);

/* 1-based positions of the Lua API, converted in place in an int64 tensor:
 * from: entries in 1..size or -size..-1 become 0..size-1 (else MF_ERANGE
 * naming argument `arg`); to: every entry + 1. */
mf_status mf_index_from_1based_(mf_tensor *idx, int64_t size, int arg);
mf_status mf_index_to_1based_(mf_tensor *idx);

/* ---------------------------------------------------------------- copying */
/* dst[...] = src broadcast to dst's shape, converted to dst's dtype.
 * Float to int64 truncates toward zero; NaN or out-of-range values are an
 * error (never a silent garbage integer). */
mf_status mf_tensor_copy_(mf_tensor *dst, const mf_tensor *src);
mf_status mf_tensor_fill_(mf_tensor *t, double value);
/* Exact for every int64 value (a double cannot hold all of them). */
mf_status mf_tensor_fill_i64_(mf_tensor *t, int64_t value);

/* ---------------------------------------------------------------- ops
 * Thin wrappers over the op table (mf_op.h); each result is a new reference.
 * Views share storage with their input; the others copy. */
mf_status mf_tensor_contiguous(mf_tensor **out, mf_tensor *t); /* t itself, retained, if already */
mf_status mf_tensor_clone(mf_tensor **out, mf_tensor *t);
mf_status mf_tensor_to(mf_tensor **out, mf_tensor *t, mf_dtype dt);
/* One size may be -1 (inferred). view: error if the strides do not allow it;
 * reshape: copies in that case. */
mf_status mf_tensor_view_as(mf_tensor **out, mf_tensor *t, int ndim, const int64_t *shape);
mf_status mf_tensor_reshape(mf_tensor **out, mf_tensor *t, int ndim, const int64_t *shape);
mf_status mf_tensor_transpose(mf_tensor **out, mf_tensor *t, int64_t d0, int64_t d1);
mf_status mf_tensor_permute(mf_tensor **out, mf_tensor *t, int ndim, const int64_t *perm);
mf_status mf_tensor_narrow(mf_tensor **out, mf_tensor *t, int64_t dim, int64_t start,
                           int64_t length);
mf_status mf_tensor_select(mf_tensor **out, mf_tensor *t, int64_t dim, int64_t index);
mf_status mf_tensor_unsqueeze(mf_tensor **out, mf_tensor *t, int64_t dim);
/* dim < -ndim means "every size-1 dim". */
mf_status mf_tensor_squeeze(mf_tensor **out, mf_tensor *t, int64_t dim);
#define MF_ALL_DIMS INT64_MIN
/* -1 in shape keeps that size. */
mf_status mf_tensor_expand(mf_tensor **out, mf_tensor *t, int ndim, const int64_t *shape);
/* Entries of `t` along `dim` at the (0-based, int64) positions of 1-D `index`. */
mf_status mf_tensor_index(mf_tensor **out, mf_tensor *t, int64_t dim, mf_tensor *index);

#endif
