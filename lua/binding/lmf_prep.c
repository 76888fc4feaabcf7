/*
 * lmf_prep.c — the kernels of core/mf_prep.h as core._prep_* (private: the
 * transformers of lua/moonforge/preprocess.lua call them).
 *
 * Column and row positions returned to Lua are 1-based (nil when none);
 * category codes stay 0-based with -1 for unknown, as core produces them,
 * since only preprocess.lua reads them. Every result slot is a tensor
 * userdata created before core is called, so an error leaks nothing.
 */
#include <math.h>
#include <string.h>

#include "lmf.h"

static int opt_flag(lua_State *L, int arg) { return lua_toboolean(L, arg); }

static void push_pos(lua_State *L, int64_t pos)
{
    if (pos < 0) lua_pushnil(L);
    else lua_pushinteger(L, (lua_Integer)(pos + 1));
}

/* A Lua array of integers at `arg` (n entries expected) in a GC'd buffer. */
static int64_t *check_int_array(lua_State *L, int arg, int64_t n)
{
    luaL_checktype(L, arg, LUA_TTABLE);
    if ((int64_t)luaL_len(L, arg) != n)
        luaL_argerror(L, arg, lua_pushfstring(L, "%d integers expected", (int)n));
    int64_t *buf = lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *buf, 0);
    for (int64_t i = 0; i < n; i++) {
        lua_geti(L, arg, (lua_Integer)(i + 1));
        int ok;
        lua_Integer v = lua_tointegerx(L, -1, &ok);
        if (!ok) luaL_argerror(L, arg, "integers expected");
        buf[i] = (int64_t)v;
        lua_pop(L, 1);
    }
    return buf; /* left on the stack, so that it lives until the call returns */
}

static int l_moments(lua_State *L)
{
    mf_tensor *X = lmf_checktensor(L, 1);
    int ignore = opt_flag(L, 2);
    mf_tensor **s1 = lmf_newtensor(L), **s2 = lmf_newtensor(L), **s3 = lmf_newtensor(L);
    mf_tensor *a, *b, *c;
    lmf_check(L, mf_prep_moments(X, ignore, &a, &b, &c));
    *s1 = a;
    *s2 = b;
    *s3 = c;
    lmf_account(L);
    return 3;
}

static int l_minmax(lua_State *L)
{
    mf_tensor *X = lmf_checktensor(L, 1);
    int ignore = opt_flag(L, 2);
    mf_tensor **s1 = lmf_newtensor(L), **s2 = lmf_newtensor(L);
    mf_tensor *a, *b;
    lmf_check(L, mf_prep_minmax(X, ignore, &a, &b));
    *s1 = a;
    *s2 = b;
    lmf_account(L);
    return 2;
}

static int l_quantiles(lua_State *L)
{
    lua_settop(L, 3);
    mf_tensor *X = lmf_checktensor(L, 1);
    int ignore = opt_flag(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    int64_t nq = (int64_t)luaL_len(L, 3);
    double *q = lua_newuserdatauv(L, (size_t)(nq + 1) * sizeof *q, 0);
    for (int64_t i = 0; i < nq; i++) {
        lua_geti(L, 3, (lua_Integer)(i + 1));
        q[i] = luaL_checknumber(L, -1);
        lua_pop(L, 1);
    }
    NEW_TENSOR(L, mf_prep_quantiles(X, ignore, q, nq, out));
    return 1;
}

static int l_mode(lua_State *L)
{
    mf_tensor *X = lmf_checktensor(L, 1);
    NEW_TENSOR(L, mf_prep_mode(X, out));
    return 1;
}

static int l_unique(lua_State *L)
{
    mf_tensor *x = lmf_checktensor(L, 1);
    int has_nan = 0;
    NEW_TENSOR(L, mf_prep_unique(x, out, &has_nan));
    lua_pushboolean(L, has_nan);
    return 2;
}

static int l_bincount(lua_State *L)
{
    mf_tensor *c = lmf_checktensor(L, 1);
    int64_t n = lmf_checkint(L, 2);
    NEW_TENSOR(L, mf_prep_bincount(c, n, out));
    return 1;
}

static mf_tensor *opt_tensor(lua_State *L, int arg)
{
    return lua_isnoneornil(L, arg) ? NULL : lmf_checktensor(L, arg);
}

static int l_affine(lua_State *L)
{
    static const char *const kinds[] = {"subdiv", "muladd", NULL};
    mf_tensor *X = lmf_checktensor(L, 1);
    int kind = luaL_checkoption(L, 2, NULL, kinds);
    mf_tensor *a = opt_tensor(L, 3), *b = opt_tensor(L, 4);
    double lo = luaL_optnumber(L, 5, NAN), hi = luaL_optnumber(L, 6, NAN);
    int64_t nan_col = -1;
    NEW_TENSOR(L, mf_prep_affine(X, kind ? MF_PREP_MUL_ADD : MF_PREP_SUB_DIV, a, b, lo, hi,
                                 out, &nan_col));
    push_pos(L, nan_col);
    return 2;
}

static int l_normalize(lua_State *L)
{
    static const char *const norms[] = {"l1", "l2", "max", NULL};
    mf_tensor *X = lmf_checktensor(L, 1);
    int norm = luaL_checkoption(L, 2, NULL, norms);
    NEW_TENSOR(L, mf_prep_normalize(X, (mf_prep_norm)norm, out));
    return 1;
}

static int l_fillnan(lua_State *L)
{
    mf_tensor *X = lmf_checktensor(L, 1), *v = lmf_checktensor(L, 2);
    NEW_TENSOR(L, mf_prep_fillnan(X, v, out));
    return 1;
}

static int l_lookup(lua_State *L)
{
    mf_tensor *x = lmf_checktensor(L, 1), *cats = lmf_checktensor(L, 2);
    int64_t nu = 0, fu = -1;
    NEW_TENSOR(L, mf_prep_lookup(x, cats, out, &nu, &fu));
    lua_pushinteger(L, (lua_Integer)nu);
    push_pos(L, fu);
    return 3;
}

static int l_onehot(lua_State *L)
{
    lua_settop(L, 3); /* the integer buffers go above the arguments */
    mf_tensor *codes = lmf_checktensor(L, 1);
    if (codes->ndim != 2) luaL_argerror(L, 1, "2-D codes expected");
    int64_t k = codes->shape[1];
    int64_t *ncat = check_int_array(L, 2, k);
    int64_t *drop = lua_isnoneornil(L, 3) ? NULL : check_int_array(L, 3, k);
    int64_t ur = -1, uc = -1;
    NEW_TENSOR(L, mf_prep_onehot(codes, ncat, drop, out, &ur, &uc));
    push_pos(L, ur);
    push_pos(L, uc);
    return 3;
}

static int l_ordinal(lua_State *L)
{
    mf_tensor *codes = lmf_checktensor(L, 1);
    double unk = luaL_optnumber(L, 2, NAN);
    int64_t ur = -1, uc = -1;
    NEW_TENSOR(L, mf_prep_ordinal(codes, unk, out, &ur, &uc));
    push_pos(L, ur);
    push_pos(L, uc);
    return 3;
}

static int l_poly(lua_State *L)
{
    mf_tensor *X = lmf_checktensor(L, 1), *combos = lmf_checktensor(L, 2);
    NEW_TENSOR(L, mf_prep_poly(X, combos, out));
    return 1;
}

static int l_digitize(lua_State *L)
{
    lua_settop(L, 3);
    mf_tensor *X = lmf_checktensor(L, 1), *edges = lmf_checktensor(L, 2);
    if (X->ndim != 2) luaL_argerror(L, 1, "2-D tensor expected");
    int64_t *ne = check_int_array(L, 3, X->shape[1]);
    int64_t nan_col = -1;
    NEW_TENSOR(L, mf_prep_digitize(X, edges, ne, out, &nan_col));
    push_pos(L, nan_col);
    return 2;
}

void lmf_open_prep(lua_State *L, int mod, int methods)
{
    (void)methods;
    static const luaL_Reg funcs[] = {
        {"_prep_moments", l_moments},   {"_prep_minmax", l_minmax},
        {"_prep_quantiles", l_quantiles}, {"_prep_mode", l_mode},
        {"_prep_unique", l_unique},     {"_prep_bincount", l_bincount},
        {"_prep_affine", l_affine},     {"_prep_normalize", l_normalize},
        {"_prep_fillnan", l_fillnan},   {"_prep_lookup", l_lookup},
        {"_prep_onehot", l_onehot},     {"_prep_ordinal", l_ordinal},
        {"_prep_poly", l_poly},         {"_prep_digitize", l_digitize},
        {NULL, NULL},
    };
    lmf_register(L, mod, 0, funcs);
}
