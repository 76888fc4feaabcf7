/*
 * lmf_select.c — joining, splitting, reordering and selecting from Lua:
 * cat, stack, split, chunk, repeat_, tile, flip, sort, argsort, topk,
 * unique, unique_consecutive, gather, scatter_add(_), masked_select,
 * nonzero, one_hot, bincount, histc, and index_select (an alias of index).
 *
 * Dims and positions are 1-based here: positions going in (gather and
 * scatter indices, labels) are converted to 0-based copies before core sees
 * them, and positions coming out (sort indices, nonzero, unique's inverse)
 * are converted back in place.
 */
#include <limits.h>
#include <string.h>

#include "lmf.h"

/* ------------------------------------------------------------------ helpers */
static void no_more_args(lua_State *L, int arg)
{
    if (!lua_isnone(L, arg))
        luaL_argerror(L, arg, lua_pushfstring(L, "unexpected argument (%s)", luaL_typename(L, arg)));
}

/* A Lua dim v (1-based, or negative from the end) for ndim dims (+1 with
 * extra) → 0-based; errors name argument `arg`, prefixed by `what`. */
static int dim_from(lua_State *L, int arg, lua_Integer v, int ndim, int extra, const char *what)
{
    lua_Integer n = ndim + (extra ? 1 : 0);
    if (v == 0 || v > n || v < -n) {
        if (n == 0)
            luaL_argerror(L, arg, lua_pushfstring(L, "%sdim %I given for a 0-D tensor", what, v));
        luaL_argerror(L, arg, lua_pushfstring(L, "%sdim %I out of range (expected 1..%I or -%I..-1)",
                                              what, v, n, n));
    }
    return (int)(v > 0 ? v - 1 : v + n);
}

/* At `arg`: nothing, an integer dim, or an option table (keys checked) whose
 * field 'dim' is the dim; default `def` (a Lua dim). Returns the 0-based dim
 * for a tensor of ndim dims. */
static int dim_or_opts(lua_State *L, int arg, int ndim, lua_Integer def, const char *const *keys)
{
    if (lua_type(L, arg) == LUA_TNUMBER) return lmf_checkdim(L, arg, ndim, 0);
    if (!lua_isnoneornil(L, arg) && lua_type(L, arg) != LUA_TTABLE)
        luaL_typeerror(L, arg, "dim or option table");
    lmf_checkopts(L, arg, keys);
    return dim_from(L, arg, (lua_Integer)lmf_optinteger(L, arg, "dim", def), ndim, 0, "option 'dim': ");
}

/* Integers given as arguments from `arg` on, or as one table at `arg` (at
 * most MF_MAX_DIMS). Returns their count; *next is the argument after them,
 * *is_table whether they came as a table. */
static int check_ints(lua_State *L, int arg, int64_t *v, int *next, int *is_table, const char *what)
{
    int n = 0;
    *is_table = lua_type(L, arg) == LUA_TTABLE && !lmf_totensor(L, arg);
    if (*is_table) {
        lua_Integer len = luaL_len(L, arg);
        if (len > MF_MAX_DIMS)
            luaL_argerror(L, arg, lua_pushfstring(L, "%d %s (at most %d)", (int)len, what, MF_MAX_DIMS));
        for (lua_Integer i = 1; i <= len; i++) {
            int isint;
            lua_geti(L, arg, i);
            lua_Integer x = lua_tointegerx(L, -1, &isint);
            if (!isint)
                luaL_argerror(L, arg, lua_pushfstring(L, "entry %d is %s, expected an integer", (int)i,
                                                      luaL_typename(L, -1)));
            lua_pop(L, 1);
            v[n++] = (int64_t)x;
        }
        *next = arg + 1;
        return n;
    }
    while (lua_type(L, arg + n) == LUA_TNUMBER) {
        if (n == MF_MAX_DIMS)
            luaL_argerror(L, arg + n, lua_pushfstring(L, "more than %d %s", MF_MAX_DIMS, what));
        v[n] = lmf_checkint(L, arg + n);
        n++;
    }
    *next = arg + n;
    return n;
}

/* The Lua array of tensors at `arg` as a C array (in a box on the stack;
 * the tensors stay referenced by the array during the call). */
static mf_tensor **check_list(lua_State *L, int arg, int *n)
{
    if (lua_type(L, arg) != LUA_TTABLE) luaL_typeerror(L, arg, "table of tensors");
    lua_Integer len = luaL_len(L, arg);
    if (len < 1) luaL_argerror(L, arg, "expected a non-empty list of tensors");
    if (len > INT_MAX / 2) luaL_argerror(L, arg, "too many tensors");
    void **box = lmf_newbox(L);
    *box = mf_malloc((size_t)len * sizeof(mf_tensor *));
    if (!*box) luaL_error(L, "not enough memory");
    mf_tensor **ts = *box;
    for (lua_Integer i = 1; i <= len; i++) {
        lua_geti(L, arg, i);
        mf_tensor *t = lmf_totensor(L, -1);
        if (!t) {
            if (luaL_testudata(L, -1, LMF_TENSOR_MT))
                luaL_argerror(L, arg, lua_pushfstring(L, "entry %d is a freed tensor", (int)i));
            luaL_argerror(L, arg, lua_pushfstring(L, "entry %d is %s, expected a tensor", (int)i,
                                                  luaL_typename(L, -1)));
        }
        ts[i - 1] = t;
        lua_pop(L, 1);
    }
    *n = (int)len;
    return ts;
}

/* The int64 tensor of 1-based positions at `arg` along 0-based dim `d` of
 * size `size`, as a new 0-based copy pushed on the stack. */
static mf_tensor **check_positions(lua_State *L, int arg, int64_t size, int d)
{
    mf_tensor *src = lmf_checktensor(L, arg);
    if (src->dtype != MF_INT64)
        luaL_argerror(L, arg, lua_pushfstring(L, "index must be an int64 tensor, got %s",
                                              mf_dtype_name(src->dtype)));
    mf_tensor **idx = lmf_newtensor(L);
    lmf_check(L, mf_tensor_clone(idx, src));
    lmf_account(L);
    if (mf_index_from_1based_(*idx, size, arg) != MF_OK)
        luaL_argerror(L, arg, lua_pushfstring(L, "dim %d: %s", d + 1, mf_error_get()->msg));
    return idx;
}

/* ------------------------------------------------------------------ joining */
/* mf.cat(tensors [, dim = 1]) */
static int l_cat(lua_State *L)
{
    int n;
    no_more_args(L, 3);
    lua_settop(L, 2); /* arg 2 exists (maybe nil) under what gets pushed */
    mf_tensor **ts = check_list(L, 1, &n);
    /* the dim is counted in the first tensor that is not 1-D empty (skipped) */
    const mf_tensor *ref = ts[0];
    for (int i = 0; i < n; i++)
        if (!(ts[i]->ndim == 1 && ts[i]->shape[0] == 0)) {
            ref = ts[i];
            break;
        }
    int d = 0;
    if (!lua_isnoneornil(L, 2)) {
        lua_Integer v = (lua_Integer)lmf_checkint(L, 2);
        if (ref->ndim > 0) d = dim_from(L, 2, v, ref->ndim, 0, ""); /* 0-D: core says why */
    }
    NEW_TENSOR(L, mf_tensor_cat(out, n, ts, d));
    return 1;
}

/* mf.stack(tensors [, dim = 1]) */
static int l_stack(lua_State *L)
{
    int n;
    no_more_args(L, 3);
    lua_settop(L, 2); /* arg 2 exists (maybe nil) under what gets pushed */
    mf_tensor **ts = check_list(L, 1, &n);
    int d = 0;
    if (!lua_isnoneornil(L, 2))
        d = dim_from(L, 2, (lua_Integer)lmf_checkint(L, 2), ts[0]->ndim, 1, "");
    NEW_TENSOR(L, mf_tensor_stack(out, n, ts, d));
    return 1;
}

/* ------------------------------------------------------------------ splitting */
/* Pushes a Lua array of the n views of t along d with the given sizes. The
 * userdata slots exist before core makes the views, so nothing can leak. */
static int push_pieces(lua_State *L, mf_tensor *t, int64_t n, const int64_t *sizes, int d)
{
    static const int map[] = {1, 2, 3};
    void **box = lmf_newbox(L);
    *box = mf_calloc(n > 0 ? (size_t)n : 1, sizeof(mf_tensor *));
    if (!*box) luaL_error(L, "not enough memory");
    mf_tensor **views = *box;
    lua_createtable(L, n > INT_MAX ? INT_MAX : (int)n, 0);
    int tbl = lua_gettop(L);
    for (int64_t i = 0; i < n; i++) {
        lmf_newtensor(L);
        lua_rawseti(L, tbl, (lua_Integer)i + 1);
    }
    lmf_check_map(L, mf_tensor_split_with_sizes(views, t, n, sizes, d), map, 3);
    for (int64_t i = 0; i < n; i++) { /* cannot raise: plain table reads */
        lua_rawgeti(L, tbl, (lua_Integer)i + 1);
        mf_tensor **slot = lua_touserdata(L, -1);
        *slot = views[i];
        views[i] = NULL;
        lua_pop(L, 1);
    }
    lmf_account(L);
    return 1;
}

/* The dim of split / chunk at `arg` (default 1) of a tensor with dims. */
static int split_dim(lua_State *L, mf_tensor *t, int arg, const char *what)
{
    if (t->ndim == 0)
        luaL_argerror(L, 1, lua_pushfstring(L, "cannot %s a 0-D tensor", what));
    return lua_isnoneornil(L, arg) ? 0 : lmf_checkdim(L, arg, t->ndim, 0);
}

/* t:split(size | {sizes}, [dim = 1]) → array of views */
static int l_split(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    int d = split_dim(L, t, 3, "split");
    no_more_args(L, 4);
    lua_settop(L, 3);
    int64_t size = t->shape[d], n;
    void **box = lmf_newbox(L);
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_Integer len = luaL_len(L, 2);
        *box = mf_malloc((size_t)(len > 0 ? len : 1) * sizeof(int64_t));
        if (!*box) luaL_error(L, "not enough memory");
        int64_t *sizes = *box;
        for (lua_Integer i = 1; i <= len; i++) {
            int isint;
            lua_geti(L, 2, i);
            lua_Integer x = lua_tointegerx(L, -1, &isint);
            if (!isint)
                luaL_argerror(L, 2, lua_pushfstring(L, "entry %d is %s, expected an integer", (int)i,
                                                    luaL_typename(L, -1)));
            lua_pop(L, 1);
            sizes[i - 1] = (int64_t)x;
        }
        n = (int64_t)len;
    } else {
        int64_t split_size = lmf_checkint(L, 2);
        lmf_check(L, mf_split_sizes(size, split_size, &n, NULL, 0));
        *box = mf_malloc((size_t)n * sizeof(int64_t));
        if (!*box) luaL_error(L, "not enough memory");
        mf_split_sizes(size, split_size, &n, *box, n);
    }
    return push_pieces(L, t, n, *box, d);
}

/* t:chunk(n, [dim = 1]) → array of at most n views */
static int l_chunk(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    int64_t chunks = lmf_checkint(L, 2);
    int d = split_dim(L, t, 3, "chunk");
    no_more_args(L, 4);
    int64_t n;
    lmf_check(L, mf_chunk_sizes(t->shape[d], chunks, &n, NULL, 0));
    void **box = lmf_newbox(L);
    *box = mf_malloc((size_t)n * sizeof(int64_t));
    if (!*box) luaL_error(L, "not enough memory");
    mf_chunk_sizes(t->shape[d], chunks, &n, *box, n);
    return push_pieces(L, t, n, *box, d);
}

/* ------------------------------------------------------------------ repeat, tile, flip */
/* t:repeat_(r1, r2, ...) or t:repeat_{r1, r2, ...} (torch's Tensor.repeat) */
static int l_repeat(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    int64_t reps[MF_MAX_DIMS];
    int next, is_table;
    int n = check_ints(L, 2, reps, &next, &is_table, "repeat counts");
    no_more_args(L, next);
    NEW_TENSOR(L, mf_tensor_repeat(out, t, n, reps));
    return 1;
}

/* mf.tile(t, reps...) or mf.tile(t, {reps}) */
static int l_tile(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    int64_t reps[MF_MAX_DIMS];
    int next, is_table;
    int n = check_ints(L, 2, reps, &next, &is_table, "repeat counts");
    if (n == 0 && !is_table) luaL_argerror(L, 2, "repeat counts expected");
    no_more_args(L, next);
    NEW_TENSOR(L, mf_tensor_tile(out, t, n, reps));
    return 1;
}

/* t:flip(d1, d2, ...) or t:flip{d1, d2, ...} — a copy */
static int l_flip(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    int64_t dims[MF_MAX_DIMS];
    int next, is_table;
    int n = check_ints(L, 2, dims, &next, &is_table, "dims");
    if (n == 0 && !is_table) luaL_argerror(L, 2, "dims expected (dims as arguments or a table)");
    no_more_args(L, next);
    int seen[MF_MAX_DIMS] = {0};
    for (int i = 0; i < n; i++) {
        int arg = is_table ? 2 : 2 + i;
        lua_Integer v = (lua_Integer)dims[i];
        dims[i] = dim_from(L, arg, v, t->ndim, 0, "");
        if (seen[dims[i]]++) luaL_argerror(L, arg, lua_pushfstring(L, "dim %I given twice", v));
    }
    NEW_TENSOR(L, mf_tensor_flip(out, t, n, dims));
    return 1;
}

/* ------------------------------------------------------------------ sorting */
static const char *const sort_keys[] = {"dim", "descending", "stable", NULL};

/* Reads sort's / argsort's arguments: [dim | {dim, descending, stable}]. */
static int sort_args(lua_State *L, mf_tensor *t, int *desc)
{
    int d = dim_or_opts(L, 2, t->ndim ? t->ndim : 1, -1, sort_keys);
    *desc = 0;
    if (lua_type(L, 2) == LUA_TTABLE) {
        *desc = lmf_optboolean(L, 2, "descending", 0);
        lmf_optboolean(L, 2, "stable", 1); /* checked; the sort is always stable */
    }
    no_more_args(L, 3);
    return d;
}

/* t:sort([dim | {dim = -1, descending = false, stable = true}]) → values, indices */
static int l_sort(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    int desc;
    int d = sort_args(L, t, &desc);
    mf_tensor **v = lmf_newtensor(L), **ix = lmf_newtensor(L);
    lmf_check(L, mf_tensor_sort(v, ix, t, d, desc));
    lmf_account(L);
    lmf_indices_to_1based(L, -1, *v);
    return 2;
}

/* t:argsort(...) → indices (same arguments as sort) */
static int l_argsort(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    int desc;
    int d = sort_args(L, t, &desc);
    mf_tensor **ix = lmf_newtensor(L);
    lmf_check(L, mf_tensor_argsort(ix, t, d, desc));
    lmf_account(L);
    lmf_check(L, mf_index_to_1based_(*ix));
    return 1;
}

static const char *const topk_keys[] = {"dim", "largest", "sorted", NULL};

/* t:topk(k, [dim | {dim = -1, largest = true, sorted = true}]) → values, indices */
static int l_topk(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    int64_t k = lmf_checkint(L, 2);
    int d = dim_or_opts(L, 3, t->ndim ? t->ndim : 1, -1, topk_keys);
    int largest = 1;
    if (lua_type(L, 3) == LUA_TTABLE) {
        largest = lmf_optboolean(L, 3, "largest", 1);
        lmf_optboolean(L, 3, "sorted", 1); /* checked; the result is always sorted */
    }
    no_more_args(L, 4);
    int64_t n = t->ndim ? t->shape[d] : 1;
    if (k < 0 || k > n)
        luaL_argerror(L, 2, lua_pushfstring(L, "k = %I out of range for dim %d of size %I (expected 0..%I)",
                                            (lua_Integer)k, d + 1, (lua_Integer)n, (lua_Integer)n));
    mf_tensor **v = lmf_newtensor(L), **ix = lmf_newtensor(L);
    lmf_check(L, mf_tensor_topk(v, ix, t, k, d, largest));
    lmf_account(L);
    lmf_indices_to_1based(L, -1, *v);
    return 2;
}

/* ------------------------------------------------------------------ unique */
typedef mf_status (*unique_fn)(mf_tensor **, mf_tensor **, mf_tensor **, mf_tensor *);

static int unique_common(lua_State *L, unique_fn fn, const char *const *keys)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    lmf_checkopts(L, 2, keys);
    no_more_args(L, 3);
    if (lmf_getopt(L, 2, "dim") != LUA_TNIL)
        luaL_argerror(L, 2, "option 'dim' is not supported (unique works on the flattened tensor)");
    lua_pop(L, 1);
    if (keys[0][0] == 's') lmf_optboolean(L, 2, "sorted", 1); /* checked; always sorted */
    int want_inv = lmf_optboolean(L, 2, "return_inverse", 0);
    int want_cnt = lmf_optboolean(L, 2, "return_counts", 0);
    mf_tensor **v = lmf_newtensor(L);
    mf_tensor **inv = want_inv ? lmf_newtensor(L) : NULL;
    mf_tensor **cnt = want_cnt ? lmf_newtensor(L) : NULL;
    lmf_check(L, fn(v, inv, cnt, t));
    lmf_account(L);
    if (inv) lmf_check(L, mf_index_to_1based_(*inv));
    return 1 + want_inv + want_cnt;
}

static const char *const unique_keys[] = {"sorted", "return_inverse", "return_counts", "dim", NULL};
static const char *const unique_consecutive_keys[] = {"return_inverse", "return_counts", "dim",
                                                      NULL};

/* mf.unique(t, {sorted = true, return_inverse = false, return_counts = false})
 * → values [, inverse] [, counts] */
static int l_unique(lua_State *L) { return unique_common(L, mf_tensor_unique, unique_keys); }

static int l_unique_consecutive(lua_State *L)
{
    return unique_common(L, mf_tensor_unique_consecutive, unique_consecutive_keys);
}

/* ------------------------------------------------------------------ gather, scatter */
/* t:gather(dim, index) */
static int l_gather(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    int d = lmf_checkdim(L, 2, t->ndim, 0);
    no_more_args(L, 4);
    mf_tensor **idx = check_positions(L, 3, t->shape[d], d);
    NEW_TENSOR(L, mf_tensor_gather(out, t, d, *idx));
    return 1;
}

static int scatter_common(lua_State *L, int in_place)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    int d = lmf_checkdim(L, 2, t->ndim, 0);
    mf_tensor *src = lmf_checktensor(L, 4);
    no_more_args(L, 5);
    mf_tensor **idx = check_positions(L, 3, t->shape[d], d);
    if (in_place) {
        lmf_check(L, mf_tensor_scatter_add_(t, d, *idx, src));
        lua_settop(L, 1);
        return 1;
    }
    NEW_TENSOR(L, mf_tensor_scatter_add(out, t, d, *idx, src));
    return 1;
}

/* t:scatter_add(dim, index, src) — a copy; t:scatter_add_(...) in place → t */
static int l_scatter_add(lua_State *L) { return scatter_common(L, 0); }
static int l_scatter_add_(lua_State *L) { return scatter_common(L, 1); }

/* ------------------------------------------------------------------ masks */
/* t:masked_select(mask) → 1-D */
static int l_masked_select(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1), *mask = lmf_checktensor(L, 2);
    no_more_args(L, 3);
    NEW_TENSOR(L, mf_tensor_masked_select(out, t, mask));
    return 1;
}

static const char *const nonzero_keys[] = {"as_tuple", NULL};

/* t:nonzero([{as_tuple = false}]) → [n x ndim] positions, or an array of
 * ndim 1-D tensors (one per dim) */
static int l_nonzero(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    lmf_checkopts(L, 2, nonzero_keys);
    no_more_args(L, 3);
    int as_tuple = lmf_optboolean(L, 2, "as_tuple", 0);
    if (as_tuple && t->ndim == 0) { /* as PyTorch: a scalar counts as 1-D */
        mf_tensor **v = lmf_newtensor(L);
        lmf_check(L, mf_tensor_view_as(v, t, 1, (int64_t[]){1}));
        t = *v;
    }
    mf_tensor **nz = lmf_newtensor(L);
    lmf_check(L, mf_tensor_nonzero(nz, t));
    lmf_account(L);
    lmf_check(L, mf_index_to_1based_(*nz));
    if (!as_tuple) return 1;
    lua_createtable(L, t->ndim, 0);
    for (int j = 0; j < t->ndim; j++) {
        mf_tensor **col = lmf_newtensor(L);
        lmf_check(L, mf_tensor_select(col, *nz, 1, j));
        lua_rawseti(L, -2, j + 1);
    }
    return 1;
}

/* ------------------------------------------------------------------ counting */
/* mf.one_hot(labels [, num_classes = max(labels)]) — labels 1-based → int64 (..., num_classes) */
static int l_one_hot(lua_State *L)
{
    mf_tensor *labels = lmf_checktensor(L, 1);
    if (labels->dtype != MF_INT64)
        luaL_argerror(L, 1, lua_pushfstring(L, "labels must be an int64 tensor, got %s",
                                            mf_dtype_name(labels->dtype)));
    int64_t lo, hi, classes, n = mf_tensor_numel(labels);
    lmf_check(L, mf_index_bounds(labels, &lo, &hi));
    if (lua_isnoneornil(L, 2)) {
        if (n == 0)
            luaL_argerror(L, 1, "cannot infer the number of classes from empty labels (give num_classes)");
        classes = hi;
    } else {
        classes = lmf_checkint(L, 2);
        if (classes < 0)
            luaL_argerror(L, 2, lua_pushfstring(L, "num_classes must be >= 0, got %I",
                                                (lua_Integer)classes));
    }
    no_more_args(L, 3);
    if (n > 0 && (lo < 1 || hi > classes))
        luaL_argerror(L, 1, lua_pushfstring(L, "label %I out of range for %I classes (expected 1..%I)",
                                            (lua_Integer)(lo < 1 ? lo : hi), (lua_Integer)classes,
                                            (lua_Integer)classes));
    mf_tensor **idx = lmf_newtensor(L);
    lmf_check(L, mf_tensor_clone(idx, labels));
    lmf_account(L);
    lmf_check(L, mf_index_from_1based_(*idx, classes, 1));
    NEW_TENSOR(L, mf_tensor_one_hot(out, *idx, classes));
    return 1;
}

static const char *const bincount_keys[] = {"weights", "minlength", NULL};

/* mf.bincount(t, {weights = nil, minlength = 0}): entry v+1 counts value v */
static int l_bincount(lua_State *L)
{
    static const int map[] = {1, 2, 2};
    mf_tensor *t = lmf_checktensor(L, 1), *w = NULL;
    lmf_checkopts(L, 2, bincount_keys);
    no_more_args(L, 3);
    if (lmf_getopt(L, 2, "weights") != LUA_TNIL) {
        w = lmf_totensor(L, -1);
        if (!w)
            luaL_argerror(L, 2, lua_pushfstring(L, "option 'weights' must be a tensor, got %s",
                                                luaL_typename(L, -1)));
    }
    lua_pop(L, 1); /* w stays referenced by the option table */
    int64_t minlength = lmf_optinteger(L, 2, "minlength", 0);
    mf_tensor **slot = lmf_newtensor(L);
    lmf_check_map(L, mf_tensor_bincount(slot, t, w, minlength), map, 3);
    lmf_account(L);
    return 1;
}

static const char *const histc_keys[] = {"bins", "min", "max", NULL};

/* mf.histc(t, {bins = 100, min = 0, max = 0}) */
static int l_histc(lua_State *L)
{
    static const int map[] = {1, 2, 2, 2};
    mf_tensor *t = lmf_checktensor(L, 1);
    lmf_checkopts(L, 2, histc_keys);
    no_more_args(L, 3);
    int64_t bins = lmf_optinteger(L, 2, "bins", 100);
    double lo = lmf_optnumber(L, 2, "min", 0), hi = lmf_optnumber(L, 2, "max", 0);
    mf_tensor **slot = lmf_newtensor(L);
    lmf_check_map(L, mf_tensor_histc(slot, t, bins, lo, hi), map, 4);
    lmf_account(L);
    return 1;
}

/* ------------------------------------------------------------------ registration */
static const luaL_Reg select_methods[] = {
    {"split", l_split},
    {"chunk", l_chunk},
    {"repeat_", l_repeat},
    {"tile", l_tile},
    {"flip", l_flip},
    {"sort", l_sort},
    {"argsort", l_argsort},
    {"topk", l_topk},
    {"unique", l_unique},
    {"unique_consecutive", l_unique_consecutive},
    {"gather", l_gather},
    {"scatter_add", l_scatter_add},
    {"scatter_add_", l_scatter_add_},
    {"masked_select", l_masked_select},
    {"nonzero", l_nonzero},
    {"one_hot", l_one_hot},
    {"bincount", l_bincount},
    {"histc", l_histc},
    {NULL, NULL},
};

/* Module-only: their first argument is a list of tensors. */
static const luaL_Reg select_funcs[] = {
    {"cat", l_cat},
    {"stack", l_stack},
    {NULL, NULL},
};

void lmf_open_select(lua_State *L, int mod, int methods)
{
    lmf_register(L, mod, methods, select_methods);
    lmf_register(L, mod, 0, select_funcs);
    /* index_select is PyTorch's name for index (lmf_tensor.c): one function */
    lua_getfield(L, mod, "index");
    lua_pushvalue(L, -1);
    lua_setfield(L, mod, "index_select");
    lua_setfield(L, methods, "index_select");
}
