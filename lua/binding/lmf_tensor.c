/*
 * lmf_tensor.c — the Tensor userdata: construction, views, element access,
 * conversion, printing and lifetime.
 *
 * A tensor userdata holds one reference to an mf_tensor (NULL once freed).
 * Every function here is also a method: mf.reshape(t, 2, 3) == t:reshape(2, 3).
 * Dims and indices are 1-based; negative ones count from the end (-1 = last).
 */
#include <math.h>
#include <string.h>

#include "lmf.h"

/* ------------------------------------------------------------------ helpers */
static void no_more_args(lua_State *L, int arg)
{
    if (!lua_isnone(L, arg))
        luaL_argerror(L, arg, lua_pushfstring(L, "unexpected argument (%s)", luaL_typename(L, arg)));
}

/* ------------------------------------------------------------------ construction */
typedef struct {
    int ndim;
    int64_t shape[MF_MAX_DIMS];
    int64_t pos[MF_MAX_DIMS]; /* current position while filling, for messages */
} nested;

static int is_plain_table(lua_State *L, int idx)
{
    return lua_type(L, idx) == LUA_TTABLE && !lmf_totensor(L, idx);
}

/* Shape of nested tables from their first elements; returns the Lua type of
 * the first element (LUA_TNONE when empty). */
static int nested_shape(lua_State *L, int arg, nested *n)
{
    int top = lua_gettop(L), first = LUA_TNONE;
    n->ndim = 0;
    lua_pushvalue(L, arg);
    while (is_plain_table(L, -1)) {
        if (n->ndim == MF_MAX_DIMS)
            luaL_argerror(L, arg, lua_pushfstring(L, "nested deeper than %d dims", MF_MAX_DIMS));
        lua_Integer len = luaL_len(L, -1);
        n->shape[n->ndim++] = len;
        if (len == 0) break;
        lua_geti(L, -1, 1);
        first = lua_type(L, -1);
    }
    lua_settop(L, top);
    return first;
}

static const char *where(lua_State *L, const nested *n, int depth)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int d = 0; d < depth; d++) {
        lua_pushfstring(L, "[%I]", (lua_Integer)(n->pos[d] + 1));
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    return lua_tostring(L, -1);
}

/* Fills t (contiguous) from the nested table on top of the stack. */
static void nested_fill(lua_State *L, int arg, nested *n, mf_tensor *t, int depth, int64_t *k)
{
    /* (luaL_typename before where(): where pushes a string) */
    const char *got = luaL_typename(L, -1);
    if (depth == n->ndim) {
        int ty = lua_type(L, -1);
        if (ty == LUA_TBOOLEAN) {
            mf_store(t->dtype, t->base, (*k)++, lua_toboolean(L, -1));
            return;
        }
        if (ty != LUA_TNUMBER)
            luaL_argerror(L, arg, lua_pushfstring(L, "expected a number at %s, got %s",
                                                  where(L, n, depth), got));
        if (t->dtype != MF_INT64) {
            mf_store(t->dtype, t->base, (*k)++, (double)lua_tonumber(L, -1));
            return;
        }
        int isint;
        lua_Integer v = lua_tointegerx(L, -1, &isint);
        if (!isint) {
            lua_Number x = lua_tonumber(L, -1); /* before where() pushes */
            luaL_argerror(L, arg, lua_pushfstring(L, "%f at %s is not an integer (int64 tensor)",
                                                  (LUAI_UACNUMBER)x, where(L, n, depth)));
        }
        ((int64_t *)t->base)[(*k)++] = (int64_t)v;
        return;
    }
    if (!is_plain_table(L, -1))
        luaL_argerror(L, arg, lua_pushfstring(L, "ragged nested table: expected a table of %I at %s, got %s",
                                              (lua_Integer)n->shape[depth], where(L, n, depth),
                                              got));
    lua_Integer len = luaL_len(L, -1);
    if (len != n->shape[depth])
        luaL_argerror(L, arg, lua_pushfstring(L, "ragged nested table: expected %I elements at %s, got %I",
                                              (lua_Integer)n->shape[depth],
                                              depth ? where(L, n, depth) : "the top level",
                                              (lua_Integer)len));
    luaL_checkstack(L, 4, "nested table too deep");
    for (lua_Integer j = 1; j <= len; j++) {
        n->pos[depth] = j - 1;
        lua_geti(L, -1, j);
        nested_fill(L, arg, n, t, depth + 1, k);
        lua_pop(L, 1);
    }
}

/* mf.tensor(data [, dtype | {dtype=}]) — data: number, boolean, nested
 * tables of them, or a tensor (copied). Booleans make a bool tensor. */
static int l_tensor(lua_State *L)
{
    mf_dtype dt = lmf_optdtype(L, 2, MF_DTYPE_DEFAULT);
    no_more_args(L, 3);
    int explicit_dtype = !lua_isnoneornil(L, 2);
    mf_tensor *src = lmf_totensor(L, 1);
    if (src) {
        if (lua_isnoneornil(L, 2)) dt = src->dtype;
        NEW_TENSOR(L, mf_tensor_to(out, src, dt));
        return lmf_finish_new(L, 2);
    }
    nested n;
    int first = lua_type(L, 1);
    switch (first) {
    case LUA_TNUMBER:
    case LUA_TBOOLEAN: n.ndim = 0; break;
    case LUA_TTABLE: first = nested_shape(L, 1, &n); break;
    case LUA_TUSERDATA:
        if (luaL_testudata(L, 1, LMF_TENSOR_MT)) luaL_argerror(L, 1, "tensor has been freed");
        /* fall through */
    default: luaL_typeerror(L, 1, "number or table");
    }
    if (first == LUA_TBOOLEAN && !explicit_dtype) dt = MF_BOOL;
    mf_tensor **slot = lmf_newtensor(L);
    lmf_check(L, mf_tensor_new(slot, dt, n.ndim, n.shape));
    lmf_account(L);
    int64_t k = 0;
    lua_pushvalue(L, 1);
    nested_fill(L, 1, &n, *slot, 0, &k);
    lua_pop(L, 1);
    return lmf_finish_new(L, 2);
}

/* zeros / ones / empty (shape... | {shape} [, dtype | opts]) */
static int make_filled(lua_State *L, int how)
{
    int64_t shape[MF_MAX_DIMS];
    int next;
    int nd = lmf_checkshape(L, 1, shape, &next, 0);
    mf_dtype dt = lmf_optdtype(L, next, MF_DTYPE_DEFAULT);
    no_more_args(L, next + 1);
    mf_tensor **slot = lmf_newtensor(L);
    if (how == 0) lmf_check(L, mf_tensor_zeros(slot, dt, nd, shape));
    else if (how == 1) lmf_check(L, mf_tensor_full(slot, dt, nd, shape, 1.0));
    else lmf_check(L, mf_tensor_new(slot, dt, nd, shape));
    lmf_account(L);
    return lmf_finish_new(L, next);
}

static int l_zeros(lua_State *L) { return make_filled(L, 0); }
static int l_ones(lua_State *L) { return make_filled(L, 1); }
static int l_empty(lua_State *L) { return make_filled(L, 2); }

/* mf.full({shape}, value [, dtype | opts]) */
static int l_full(lua_State *L)
{
    int64_t shape[MF_MAX_DIMS];
    int next;
    luaL_checktype(L, 1, LUA_TTABLE);
    int nd = lmf_checkshape(L, 1, shape, &next, 0);
    mf_dtype dt = lmf_optdtype(L, 3, MF_DTYPE_DEFAULT);
    double f;
    int64_t i;
    luaL_checknumber(L, 2);
    lmf_checkscalar(L, 2, dt, &f, &i);
    no_more_args(L, 4);
    mf_tensor **slot = lmf_newtensor(L);
    lmf_check(L, mf_tensor_new(slot, dt, nd, shape));
    lmf_account(L);
    lmf_check(L, dt == MF_INT64 ? mf_tensor_fill_i64_(*slot, i) : mf_tensor_fill_(*slot, f));
    return lmf_finish_new(L, 3);
}

/* zeros_like / ones_like (t [, dtype | opts]) */
static int make_like(lua_State *L, double v)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    mf_dtype dt = lmf_optdtype(L, 2, t->dtype);
    NEW_TENSOR(L, mf_tensor_full(out, dt, t->ndim, t->shape, v));
    return lmf_finish_new(L, 2);
}
static int l_zeros_like(lua_State *L) { return make_like(L, 0); }
static int l_ones_like(lua_State *L) { return make_like(L, 1); }

/* mf.arange(end) | mf.arange(start, end [, step]) [, dtype | opts]: [start, end).
 * int64 when every bound is an integer (as in PyTorch), else float32. */
static int l_arange(lua_State *L)
{
    int nnum = 0;
    while (nnum < 3 && lua_type(L, nnum + 1) == LUA_TNUMBER) nnum++;
    if (nnum == 0) luaL_typeerror(L, 1, "number");
    double start = 0, end, step = 1;
    int all_int = 1;
    for (int a = 1; a <= nnum; a++) all_int &= lua_isinteger(L, a);
    if (nnum == 1) {
        end = lua_tonumber(L, 1);
    } else {
        start = lua_tonumber(L, 1);
        end = lua_tonumber(L, 2);
        if (nnum == 3) step = lua_tonumber(L, 3);
    }
    mf_dtype dt = lmf_optdtype(L, nnum + 1, all_int ? MF_INT64 : MF_DTYPE_DEFAULT);
    no_more_args(L, nnum + 2);
    /* core names (start, end, step) as arguments 1, 2, 3 */
    static const int map1[] = {1, 1, 1}, map3[] = {1, 2, 3};
    mf_tensor **slot = lmf_newtensor(L);
    lmf_check_map(L, mf_tensor_arange(slot, dt, start, end, step), nnum == 1 ? map1 : map3, 3);
    lmf_account(L);
    return lmf_finish_new(L, nnum + 1);
}

/* mf.linspace(start, end, steps [, dtype | opts]) */
static int l_linspace(lua_State *L)
{
    double a = luaL_checknumber(L, 1), b = luaL_checknumber(L, 2);
    int64_t n = lmf_checkint(L, 3);
    luaL_argcheck(L, n >= 0, 3, "steps must be >= 0");
    mf_dtype dt = lmf_optdtype(L, 4, MF_DTYPE_DEFAULT);
    no_more_args(L, 5);
    NEW_TENSOR(L, mf_tensor_linspace(out, dt, a, b, n));
    return lmf_finish_new(L, 4);
}

/* mf.eye(n [, m] [, dtype | opts]) */
static int l_eye(lua_State *L)
{
    int64_t n = lmf_checkint(L, 1), m = n;
    int next = 2;
    luaL_argcheck(L, n >= 0, 1, "size must be >= 0");
    if (lua_type(L, 2) == LUA_TNUMBER) {
        m = lmf_checkint(L, 2);
        luaL_argcheck(L, m >= 0, 2, "size must be >= 0");
        next = 3;
    }
    mf_dtype dt = lmf_optdtype(L, next, MF_DTYPE_DEFAULT);
    no_more_args(L, next + 1);
    NEW_TENSOR(L, mf_tensor_eye(out, dt, n, m));
    return lmf_finish_new(L, next);
}

static int l_is_tensor(lua_State *L)
{
    lua_pushboolean(L, luaL_testudata(L, 1, LMF_TENSOR_MT) != NULL);
    return 1;
}

/* ------------------------------------------------------------------ queries */
static int l_dim(lua_State *L)
{
    lua_pushinteger(L, lmf_checktensor(L, 1)->ndim);
    return 1;
}

static int l_numel(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)mf_tensor_numel(lmf_checktensor(L, 1)));
    return 1;
}

static int l_dtype(lua_State *L)
{
    lua_pushstring(L, mf_dtype_name(lmf_checktensor(L, 1)->dtype));
    return 1;
}

static void push_ints(lua_State *L, int n, const int64_t *v)
{
    lua_createtable(L, n, 0);
    for (int d = 0; d < n; d++) {
        lua_pushinteger(L, (lua_Integer)v[d]);
        lua_rawseti(L, -2, d + 1);
    }
}

/* t:size() → {sizes}; t:size(d) → size of dim d */
static int l_size(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    if (lua_isnoneornil(L, 2)) push_ints(L, t->ndim, t->shape);
    else lua_pushinteger(L, (lua_Integer)t->shape[lmf_checkdim(L, 2, t->ndim, 0)]);
    return 1;
}

static int l_shape(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    no_more_args(L, 2);
    push_ints(L, t->ndim, t->shape);
    return 1;
}

static int l_stride(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    if (lua_isnoneornil(L, 2)) push_ints(L, t->ndim, t->stride);
    else lua_pushinteger(L, (lua_Integer)t->stride[lmf_checkdim(L, 2, t->ndim, 0)]);
    return 1;
}

static int l_is_contiguous(lua_State *L)
{
    lua_pushboolean(L, mf_tensor_is_contiguous(lmf_checktensor(L, 1)));
    return 1;
}

static int l_len(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    if (t->ndim == 0) luaL_argerror(L, 1, "length of a 0-D tensor");
    lua_pushinteger(L, (lua_Integer)t->shape[0]);
    return 1;
}

/* ------------------------------------------------------------------ elements */
/* Storage offset of t[idx at args first..first+ndim-1]. */
static int64_t elem_offset(lua_State *L, const mf_tensor *t, int first, const char *what)
{
    int nidx = lua_gettop(L) - first + 1;
    if (!strcmp(what, "set")) nidx--; /* the value */
    if (nidx != t->ndim)
        luaL_error(L, "%s: %d indices given for a %d-D tensor", what, nidx < 0 ? 0 : nidx,
                   t->ndim);
    int64_t o = t->offset;
    for (int d = 0; d < t->ndim; d++) o += lmf_checkindex(L, first + d, t->shape[d]) * t->stride[d];
    return o;
}

/* t:get(i, j, ...) → number */
static int l_get(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    lmf_pushelem(L, t, elem_offset(L, t, 2, "get"));
    return 1;
}

static void store_value(lua_State *L, mf_tensor *t, int64_t o, int varg)
{
    double f;
    int64_t i;
    lmf_checkscalar(L, varg, t->dtype, &f, &i);
    lmf_check(L, mf_autograd_check_inplace(t, 1));
    if (t->dtype == MF_INT64) ((int64_t *)t->base)[o] = i;
    else mf_store(t->dtype, t->base, o, f);
}

/* t:set(i, j, ..., value) → t */
static int l_set(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    int top = lua_gettop(L);
    if (top < 2) luaL_argerror(L, 2, "value expected");
    int64_t o = elem_offset(L, t, 2, "set");
    store_value(L, t, o, top);
    lua_settop(L, 1);
    return 1;
}

static int l_item(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    if (mf_tensor_numel(t) != 1) {
        char s[MF_SHAPE_STRLEN];
        luaL_argerror(L, 1, lua_pushfstring(L, "item() needs exactly one element, got shape %s",
                                            mf_shape_str(s, sizeof s, t->ndim, t->shape)));
    }
    lmf_pushelem(L, t, t->offset);
    return 1;
}

static void push_nested(lua_State *L, const mf_tensor *t, int d, int64_t o)
{
    if (d == t->ndim) {
        lmf_pushelem(L, t, o);
        return;
    }
    luaL_checkstack(L, 3, "tensor too deep");
    int64_t n = t->shape[d];
    lua_createtable(L, n > INT32_MAX ? 0 : (int)n, 0);
    for (int64_t i = 0; i < n; i++) {
        push_nested(L, t, d + 1, o + i * t->stride[d]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* t:totable() → nested Lua tables (a number for a 0-D tensor) */
static int l_totable(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    push_nested(L, t, 0, t->offset);
    return 1;
}

/* ------------------------------------------------------------------ views and copies */
/* view, reshape and expand: t and sizes (as arguments or one table; -1 allowed) */
typedef mf_status (*shape_fn)(mf_tensor **, mf_tensor *, int, const int64_t *);

static int with_shape(lua_State *L, shape_fn fn)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    int64_t shape[MF_MAX_DIMS];
    int next;
    int nd = lmf_checkshape(L, 2, shape, &next, 1);
    no_more_args(L, next);
    NEW_TENSOR(L, fn(out, t, nd, shape));
    return 1;
}

static int l_view(lua_State *L) { return with_shape(L, mf_tensor_view_as); }
static int l_reshape(lua_State *L) { return with_shape(L, mf_tensor_reshape); }
/* t:expand(sizes... | {sizes}) — -1 keeps a size */
static int l_expand(lua_State *L) { return with_shape(L, mf_tensor_expand); }

static int l_transpose(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    int a = lmf_checkdim(L, 2, t->ndim, 0), b = lmf_checkdim(L, 3, t->ndim, 0);
    NEW_TENSOR(L, mf_tensor_transpose(out, t, a, b));
    return 1;
}

/* t:t() — transpose of a tensor of at most 2 dims */
static int l_t(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    if (t->ndim > 2)
        luaL_argerror(L, 1, lua_pushfstring(L, "t() expects at most 2 dims, got %d (use transpose)",
                                            t->ndim));
    if (t->ndim < 2) NEW_TENSOR(L, mf_tensor_view_as(out, t, t->ndim, t->shape));
    else NEW_TENSOR(L, mf_tensor_transpose(out, t, 0, 1));
    return 1;
}

/* t:permute(d1, d2, ...) or t:permute{d1, d2, ...} */
static int l_permute(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    int64_t perm[MF_MAX_DIMS];
    int n;
    if (lua_type(L, 2) == LUA_TTABLE) {
        n = (int)luaL_len(L, 2);
        if (n != t->ndim)
            luaL_argerror(L, 2, lua_pushfstring(L, "%d dims given for a %d-D tensor", n, t->ndim));
        for (int i = 0; i < n; i++) {
            lua_geti(L, 2, i + 1);
            perm[i] = lmf_checkdim(L, lua_gettop(L), t->ndim, 0);
            lua_pop(L, 1);
        }
    } else {
        n = lua_gettop(L) - 1;
        if (n != t->ndim)
            luaL_argerror(L, 2, lua_pushfstring(L, "%d dims given for a %d-D tensor", n, t->ndim));
        for (int i = 0; i < n; i++) perm[i] = lmf_checkdim(L, i + 2, t->ndim, 0);
    }
    NEW_TENSOR(L, mf_tensor_permute(out, t, n, perm));
    return 1;
}

/* t:narrow(dim, start, length): entries start .. start+length-1 of dim */
static int l_narrow(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    int d = lmf_checkdim(L, 2, t->ndim, 0);
    int64_t size = t->shape[d];
    int64_t start = lmf_checkint(L, 3), len = lmf_checkint(L, 4);
    if (start < 0) start += size + 1;
    if (start < 1 || start > size + 1)
        luaL_argerror(L, 3, lua_pushfstring(L, "start %I out of range for size %I",
                                            (lua_Integer)lua_tointeger(L, 3), (lua_Integer)size));
    if (len < 0 || start - 1 + len > size)
        luaL_argerror(L, 4, lua_pushfstring(L, "length %I from start %I exceeds size %I",
                                            (lua_Integer)len, (lua_Integer)start, (lua_Integer)size));
    NEW_TENSOR(L, mf_tensor_narrow(out, t, d, start - 1, len));
    return 1;
}

static int l_select(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    int d = lmf_checkdim(L, 2, t->ndim, 0);
    int64_t i = lmf_checkindex(L, 3, t->shape[d]);
    NEW_TENSOR(L, mf_tensor_select(out, t, d, i));
    return 1;
}

static int l_unsqueeze(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    int d = lmf_checkdim(L, 2, t->ndim, 1);
    NEW_TENSOR(L, mf_tensor_unsqueeze(out, t, d));
    return 1;
}

static int l_squeeze(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    int64_t d = lua_isnoneornil(L, 2) ? MF_ALL_DIMS : lmf_checkdim(L, 2, t->ndim, 0);
    NEW_TENSOR(L, mf_tensor_squeeze(out, t, d));
    return 1;
}

static int l_expand_as(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1), *o = lmf_checktensor(L, 2);
    NEW_TENSOR(L, mf_tensor_expand(out, t, o->ndim, o->shape));
    return 1;
}

/* t:index(dim, idx) — entries at 1-based positions idx (int64 tensor or Lua
 * array) along dim, or where idx, a 1-D bool mask of the size of that dim,
 * is true (PyTorch's t[mask] along a dim); a copy. Also t:index_select. */
static int l_index(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    int d = lmf_checkdim(L, 2, t->ndim, 0);
    mf_tensor *mask = lmf_totensor(L, 3);
    if (mask && mask->dtype == MF_BOOL) {
        NEW_TENSOR(L, mf_tensor_index_mask(out, t, d, mask));
        return 1;
    }
    mf_tensor **idx = lmf_checkindices(L, 3, t->shape[d]);
    NEW_TENSOR(L, mf_tensor_index(out, t, d, *idx));
    return 1;
}

static int l_contiguous(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    if (mf_tensor_is_contiguous(t)) {
        lua_settop(L, 1);
        return 1;
    }
    NEW_TENSOR(L, mf_tensor_clone(out, t));
    return 1;
}

static int l_clone(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    NEW_TENSOR(L, mf_tensor_clone(out, t));
    return 1;
}

/* t:to(dtype) — t itself when it already has that dtype (as in PyTorch) */
static int convert(lua_State *L, mf_dtype dt)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    if (t->dtype == dt) {
        lua_settop(L, 1);
        return 1;
    }
    NEW_TENSOR(L, mf_tensor_to(out, t, dt));
    return 1;
}

static int l_to(lua_State *L)
{
    lmf_checktensor(L, 1);
    return convert(L, lmf_checkdtype(L, 2));
}
static int l_float(lua_State *L) { return convert(L, MF_FLOAT32); }
static int l_double(lua_State *L) { return convert(L, MF_FLOAT64); }
static int l_long(lua_State *L) { return convert(L, MF_INT64); }

/* t:copy_(src) — src broadcast to t's shape and converted to its dtype; → t */
static int l_copy_(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1), *src = lmf_checktensor(L, 2);
    lmf_check(L, mf_tensor_copy_(t, src));
    lmf_account(L);
    lua_settop(L, 1);
    return 1;
}

static int l_fill_(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    double f;
    int64_t i;
    lmf_checkscalar(L, 2, t->dtype, &f, &i);
    lmf_check(L, t->dtype == MF_INT64 ? mf_tensor_fill_i64_(t, i) : mf_tensor_fill_(t, f));
    lua_settop(L, 1);
    return 1;
}

static int l_zero_(lua_State *L)
{
    lmf_check(L, mf_tensor_fill_(lmf_checktensor(L, 1), 0.0));
    lua_settop(L, 1);
    return 1;
}

/* ------------------------------------------------------------------ metamethods */
/* t[i]: a number for a 1-D tensor, else the sub-tensor t:select(1, i) (a view) */
static int m_index(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TNUMBER) {
        mf_tensor *t = lmf_checktensor(L, 1);
        if (t->ndim == 0) return luaL_error(L, "cannot index a 0-D tensor (use item())");
        int64_t i = lmf_checkindex(L, 2, t->shape[0]);
        if (t->ndim == 1) {
            lmf_pushelem(L, t, t->offset + i * t->stride[0]);
            return 1;
        }
        NEW_TENSOR(L, mf_tensor_select(out, t, 0, i));
        return 1;
    }
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1; /* a method */
    if (lua_type(L, 2) == LUA_TSTRING) return lmf_autograd_get(L, lmf_checktensor(L, 1), lua_tostring(L, 2));
    return 1;
}

/* t[i] = number | tensor: sets an element (1-D) or fills/copies the slice */
static int m_newindex(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    if (lua_type(L, 2) == LUA_TSTRING && lmf_autograd_set(L, t, lua_tostring(L, 2))) return 0;
    if (lua_type(L, 2) != LUA_TNUMBER)
        return luaL_error(L, "cannot set field '%s' of a tensor", luaL_tolstring(L, 2, NULL));
    if (t->ndim == 0) return luaL_error(L, "cannot index a 0-D tensor");
    int64_t i = lmf_checkindex(L, 2, t->shape[0]);
    if (t->ndim == 1 && lua_type(L, 3) == LUA_TNUMBER) {
        store_value(L, t, t->offset + i * t->stride[0], 3);
        return 0;
    }
    mf_tensor **slice = lmf_newtensor(L);
    lmf_check(L, mf_tensor_select(slice, t, 0, i));
    mf_tensor *src = lmf_totensor(L, 3);
    if (src) {
        lmf_check(L, mf_tensor_copy_(*slice, src));
    } else {
        double f;
        int64_t iv;
        lmf_checkscalar(L, 3, t->dtype, &f, &iv);
        lmf_check(L, t->dtype == MF_INT64 ? mf_tensor_fill_i64_(*slice, iv)
                                          : mf_tensor_fill_(*slice, f));
    }
    return 0;
}

static int m_tostring(lua_State *L)
{
    mf_tensor **slot = luaL_checkudata(L, 1, LMF_TENSOR_MT);
    if (!*slot) {
        lua_pushliteral(L, "tensor(freed)");
        return 1;
    }
    void **box = lmf_newbox(L);
    size_t len;
    lmf_check(L, mf_tensor_format(*slot, (char **)box, &len));
    lua_pushlstring(L, *box, len);
    return 1;
}

/* __gc, __close and t:free() are one idempotent function. */
static int l_free(lua_State *L)
{
    mf_tensor **slot = luaL_checkudata(L, 1, LMF_TENSOR_MT);
    mf_tensor_release(*slot);
    *slot = NULL;
    return 0;
}

static int l_is_freed(lua_State *L)
{
    mf_tensor **slot = luaL_checkudata(L, 1, LMF_TENSOR_MT);
    lua_pushboolean(L, *slot == NULL);
    return 1;
}

/* ------------------------------------------------------------------ registration */
/* Functions of the module that are also tensor methods. */
static const luaL_Reg tensor_methods[] = {
    {"dim", l_dim},
    {"numel", l_numel},
    {"dtype", l_dtype},
    {"size", l_size},
    {"shape", l_shape},
    {"stride", l_stride},
    {"is_contiguous", l_is_contiguous},
    {"get", l_get},
    {"set", l_set},
    {"item", l_item},
    {"totable", l_totable},
    {"view", l_view},
    {"reshape", l_reshape},
    {"transpose", l_transpose},
    {"t", l_t},
    {"permute", l_permute},
    {"narrow", l_narrow},
    {"select", l_select},
    {"unsqueeze", l_unsqueeze},
    {"squeeze", l_squeeze},
    {"expand", l_expand},
    {"expand_as", l_expand_as},
    {"index", l_index},
    {"contiguous", l_contiguous},
    {"clone", l_clone},
    {"to", l_to},
    {"float", l_float},
    {"double", l_double},
    {"long", l_long},
    {"copy_", l_copy_},
    {"fill_", l_fill_},
    {"zero_", l_zero_},
    {"free", l_free},
    {"is_freed", l_is_freed},
    {"zeros_like", l_zeros_like},
    {"ones_like", l_ones_like},
    {NULL, NULL},
};

/* Module-only functions. */
static const luaL_Reg tensor_funcs[] = {
    {"tensor", l_tensor},
    {"zeros", l_zeros},
    {"ones", l_ones},
    {"empty", l_empty},
    {"full", l_full},
    {"arange", l_arange},
    {"linspace", l_linspace},
    {"eye", l_eye},
    {"is_tensor", l_is_tensor},
    {NULL, NULL},
};

void lmf_open_tensor(lua_State *L, int mod, int methods)
{
    lmf_register(L, mod, 0, tensor_funcs);
    lmf_register(L, mod, methods, tensor_methods);

    luaL_newmetatable(L, LMF_TENSOR_MT);
    lua_pushvalue(L, methods);
    lua_pushcclosure(L, m_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, m_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcfunction(L, l_len);
    lua_setfield(L, -2, "__len");
    lua_pushcfunction(L, m_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, l_free);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_free);
    lua_setfield(L, -2, "__close");
    lmf_set_tensor_mt(L);
}
