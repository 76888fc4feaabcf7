/*
 * lmf_feat.c — the kernels of core/mf_feat.h as core._feat_* (private: the
 * Table methods and selectors of lua/moonforge/features.lua call them).
 *
 *   core._feat_rolling(x, ids, ngroups, window, min_periods, stat) → tensor
 *   core._feat_shift(x, ids, ngroups, k, diff)                     → tensor
 *   core._feat_parse_datetimes(strings [, coerce]) → int64 [n x 9] (and with
 *       coerce the count of unparseable values, whose rows are -1), or nil, pos, message
 *   core._feat_f_classif(X, codes, nclasses)     → F, p
 *   core._feat_f_regression(X, y)                → F, p
 *   core._feat_chi2(X, codes, nclasses)          → chi2, p
 *   core._feat_mutual_info(X, y, nclasses, k, seed) → mi (nclasses 0: y continuous)
 *   core._feat_f_sf, _feat_chi2_sf, _feat_betainc, _feat_gammaincc, _feat_digamma
 *
 * Group ids (from core._rows_factorize) are 1-based, nil for one group;
 * class codes are 0-based (features.lua makes them).
 */
#include <string.h>

#include "lmf.h"

/* The 1-based group ids at `arg` (or nil) as a new 0-based tensor pushed on
 * the stack; NULL (nothing pushed) for nil. */
static mf_tensor *opt_ids0(lua_State *L, int arg)
{
    return lua_isnoneornil(L, arg) ? NULL : lmf_checkids0(L, arg);
}

static int l_rolling(lua_State *L)
{
    static const char *const stats[] = {"mean", "std", "min", "max", "sum", NULL};
    lua_settop(L, 6);
    mf_tensor *x = lmf_checktensor(L, 1);
    int64_t ng = lua_isnil(L, 2) ? 1 : lmf_checkint(L, 3);
    int64_t w = lmf_checkint(L, 4), minp = lmf_checkint(L, 5);
    int stat = luaL_checkoption(L, 6, NULL, stats);
    mf_tensor *ids = opt_ids0(L, 2);
    NEW_TENSOR(L, mf_feat_rolling(x, ids, ng, w, minp, (mf_feat_stat)stat, out));
    return 1;
}

static int l_shift(lua_State *L)
{
    lua_settop(L, 5);
    mf_tensor *x = lmf_checktensor(L, 1);
    int64_t ng = lua_isnil(L, 2) ? 1 : lmf_checkint(L, 3);
    int64_t k = lmf_checkint(L, 4);
    int diff = lua_toboolean(L, 5);
    mf_tensor *ids = opt_ids0(L, 2);
    NEW_TENSOR(L, mf_feat_shift(x, ids, ng, k, diff, out));
    return 1;
}

static int l_parse_datetimes(lua_State *L)
{
    lua_settop(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    int coerce = lua_toboolean(L, 2);
    lua_Integer n = luaL_len(L, 1);
    const char **s = lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *s, 0);
    size_t *len = lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *len, 0);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 1, i);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_argerror(L, 1, lua_pushfstring(L, "entry %d is not a string", (int)i));
        s[i - 1] = lua_tolstring(L, -1, &len[i - 1]); /* kept alive by the argument table */
        lua_pop(L, 1);
    }
    mf_tensor **out = lmf_newtensor(L);
    int64_t bad = -1;
    mf_status st = mf_feat_parse_datetimes(s, len, (int64_t)n, coerce, out, &bad);
    if (!coerce && st == MF_EINVAL && bad >= 0) {
        lua_pushnil(L);
        lua_pushinteger(L, (lua_Integer)(bad + 1));
        lua_pushstring(L, mf_error_get()->msg);
        return 3;
    }
    lmf_check(L, st);
    lmf_account(L);
    if (!coerce) return 1;
    lua_pushinteger(L, (lua_Integer)bad);
    return 2;
}

static int push_pair(lua_State *L, mf_status (*fn)(const mf_tensor *, const mf_tensor *,
                                                   int64_t, mf_tensor **, mf_tensor **))
{
    mf_tensor *X = lmf_checktensor(L, 1), *y = lmf_checktensor(L, 2);
    int64_t nc = lmf_checkint(L, 3);
    mf_tensor **a = lmf_newtensor(L), **b = lmf_newtensor(L);
    mf_tensor *ta, *tb;
    lmf_check(L, fn(X, y, nc, &ta, &tb));
    *a = ta;
    *b = tb;
    lmf_account(L);
    return 2;
}

static int l_f_classif(lua_State *L) { return push_pair(L, mf_feat_f_classif); }
static int l_chi2(lua_State *L) { return push_pair(L, mf_feat_chi2); }

static int l_f_regression(lua_State *L)
{
    mf_tensor *X = lmf_checktensor(L, 1), *y = lmf_checktensor(L, 2);
    mf_tensor **a = lmf_newtensor(L), **b = lmf_newtensor(L);
    mf_tensor *ta, *tb;
    lmf_check(L, mf_feat_f_regression(X, y, &ta, &tb));
    *a = ta;
    *b = tb;
    lmf_account(L);
    return 2;
}

static int l_mutual_info(lua_State *L)
{
    mf_tensor *X = lmf_checktensor(L, 1), *y = lmf_checktensor(L, 2);
    int64_t nc = lmf_checkint(L, 3), k = lmf_checkint(L, 4), seed = lmf_checkint(L, 5);
    NEW_TENSOR(L, mf_feat_mutual_info(X, y, nc, k, (uint64_t)seed, out));
    return 1;
}

static int l_f_sf(lua_State *L)
{
    lua_pushnumber(L, mf_feat_f_sf(luaL_checknumber(L, 1), luaL_checknumber(L, 2),
                                   luaL_checknumber(L, 3)));
    return 1;
}

static int l_chi2_sf(lua_State *L)
{
    lua_pushnumber(L, mf_feat_chi2_sf(luaL_checknumber(L, 1), luaL_checknumber(L, 2)));
    return 1;
}

static int l_betainc(lua_State *L)
{
    lua_pushnumber(L, mf_feat_betainc(luaL_checknumber(L, 1), luaL_checknumber(L, 2),
                                      luaL_checknumber(L, 3)));
    return 1;
}

static int l_gammaincc(lua_State *L)
{
    lua_pushnumber(L, mf_feat_gammaincc(luaL_checknumber(L, 1), luaL_checknumber(L, 2)));
    return 1;
}

static int l_digamma(lua_State *L)
{
    lua_pushnumber(L, mf_feat_digamma(luaL_checknumber(L, 1)));
    return 1;
}

void lmf_open_feat(lua_State *L, int mod, int methods)
{
    (void)methods;
    static const luaL_Reg funcs[] = {
        {"_feat_rolling", l_rolling},
        {"_feat_shift", l_shift},
        {"_feat_parse_datetimes", l_parse_datetimes},
        {"_feat_f_classif", l_f_classif},
        {"_feat_f_regression", l_f_regression},
        {"_feat_chi2", l_chi2},
        {"_feat_mutual_info", l_mutual_info},
        {"_feat_f_sf", l_f_sf},
        {"_feat_chi2_sf", l_chi2_sf},
        {"_feat_betainc", l_betainc},
        {"_feat_gammaincc", l_gammaincc},
        {"_feat_digamma", l_digamma},
        {NULL, NULL},
    };
    lmf_register(L, mod, 0, funcs);
}
