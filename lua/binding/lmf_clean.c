/*
 * lmf_clean.c — the row kernels of core/mf_clean.h for
 * lua/moonforge/data_clean.lua (rows are 1-based here):
 *
 *   core._clean_row_missing(cols, nrows)  → int64 tensor: missing cells per row
 *                                           (NaN in float64, 0 in int64 codes)
 *   core._clean_mask_rows(mask)           → int64 tensor: rows where mask is true
 *   core._clean_mark_rows(n, rows)        → bool tensor of n, true at rows
 *   core._clean_take(cols, nrows, rows)   → {tensor, ...}: each column at rows
 *   core._clean_quantiles(col, {q, ...})  → q1, q2, ...: quantiles of the
 *                                           non-missing values (NaN if none)
 *   core._clean_fill(col, backward)       → filled tensor, cells still missing
 *   core._clean_moments(col)              → count, mean, population std (NaN skipped)
 *   core._clean_str_map(levels, op)       → {k = new text} for the levels that
 *                                           op ("strip", "lower", "upper") changes
 */
#include <string.h>

#include "lmf.h"

/* The array of tensors at `arg` as a userdata array of pointers (pushed;
 * the tensors stay referenced by the argument table). */
static mf_tensor **checkcols(lua_State *L, int arg, int *ncols)
{
    luaL_checktype(L, arg, LUA_TTABLE);
    lua_Integer nc = luaL_len(L, arg);
    luaL_argcheck(L, nc <= 1 << 20, arg, "too many columns");
    mf_tensor **cols = lua_newuserdatauv(L, (size_t)(nc > 0 ? nc : 1) * sizeof *cols, 0);
    for (lua_Integer j = 1; j <= nc; j++) {
        lua_geti(L, arg, j);
        mf_tensor *t = lmf_totensor(L, -1);
        if (!t) luaL_argerror(L, arg, lua_pushfstring(L, "column %d is not a tensor", (int)j));
        cols[j - 1] = t;
        lua_pop(L, 1);
    }
    *ncols = (int)nc;
    return cols;
}

static int l_clean_row_missing(lua_State *L)
{
    int nc;
    mf_tensor **cols = checkcols(L, 1, &nc);
    lua_Integer n = luaL_checkinteger(L, 2);
    static const int map[] = {1, 0, 2};
    mf_tensor **out = lmf_newtensor(L);
    lmf_check_map(L, mf_clean_row_missing(cols, nc, (int64_t)n, out), map, 3);
    lmf_account(L);
    return 1;
}

static int l_clean_mask_rows(lua_State *L)
{
    mf_tensor *mask = lmf_checktensor(L, 1);
    static const int map[] = {0, 1};
    mf_tensor **out = lmf_newtensor(L);
    lmf_check_map(L, mf_clean_mask_rows(out, mask), map, 2);
    int64_t *p = mf_tensor_data(*out), k = mf_tensor_numel(*out);
    for (int64_t i = 0; i < k; i++) p[i] += 1;
    lmf_account(L);
    return 1;
}

static int l_clean_mark_rows(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    mf_tensor *rows = lmf_checkids0(L, 2);
    static const int map[] = {0, 1, 2};
    mf_tensor **out = lmf_newtensor(L);
    lmf_check_map(L, mf_clean_mark_rows(out, (int64_t)n, rows), map, 3);
    lmf_account(L);
    return 1;
}

static int l_clean_take(lua_State *L)
{
    int nc;
    mf_tensor **cols = checkcols(L, 1, &nc);
    lua_Integer n = luaL_checkinteger(L, 2);
    mf_tensor *idx = lmf_checkids0(L, 3);
    mf_tensor **outs = lua_newuserdatauv(L, (size_t)(nc > 0 ? nc : 1) * sizeof *outs, 0);
    lua_createtable(L, nc, 0);
    int res = lua_gettop(L);
    /* the result userdata exist before core allocates, so nothing can leak */
    for (int j = 0; j < nc; j++) {
        lmf_newtensor(L);
        lua_seti(L, res, j + 1);
    }
    static const int map[] = {1, 0, 2, 3};
    lmf_check_map(L, mf_clean_take(cols, nc, (int64_t)n, idx, outs), map, 4);
    for (int j = 0; j < nc; j++) {
        lua_geti(L, res, j + 1);
        mf_tensor **slot = lua_touserdata(L, -1);
        *slot = outs[j];
        lua_pop(L, 1);
    }
    lmf_account(L);
    return 1;
}

static int l_clean_quantiles(lua_State *L)
{
    mf_tensor *col = lmf_checktensor(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer nq = luaL_len(L, 2);
    luaL_argcheck(L, nq >= 1 && nq <= 64, 2, "expected 1 to 64 quantiles");
    double q[64], out[64];
    for (lua_Integer i = 1; i <= nq; i++) {
        lua_geti(L, 2, i);
        int isnum;
        q[i - 1] = lua_tonumberx(L, -1, &isnum);
        if (!isnum) luaL_argerror(L, 2, "quantiles must be numbers");
        lua_pop(L, 1);
    }
    lmf_check(L, mf_clean_quantiles(col, q, (int)nq, out));
    luaL_checkstack(L, (int)nq, "too many quantiles");
    for (int i = 0; i < (int)nq; i++) lua_pushnumber(L, out[i]);
    return (int)nq;
}

static int l_clean_fill(lua_State *L)
{
    mf_tensor *col = lmf_checktensor(L, 1);
    int backward = lua_toboolean(L, 2);
    int64_t left = 0;
    static const int map[] = {0, 1};
    mf_tensor **out = lmf_newtensor(L);
    lmf_check_map(L, mf_clean_fill(out, col, backward, &left), map, 2);
    lmf_account(L);
    lua_pushinteger(L, (lua_Integer)left);
    return 2;
}

static int l_clean_moments(lua_State *L)
{
    mf_tensor *col = lmf_checktensor(L, 1);
    int64_t m = 0;
    double mean = 0, sd = 0;
    lmf_check(L, mf_clean_moments(col, &m, &mean, &sd));
    lua_pushinteger(L, (lua_Integer)m);
    lua_pushnumber(L, mean);
    lua_pushnumber(L, sd);
    return 3;
}

/* The ASCII whitespace of Lua's %s (C locale isspace). */
static int is_space(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* String methods on the levels of a string column: a C loop, since a column
 * like a timestamp can have as many levels as rows. Only changed levels are
 * returned. */
static int l_clean_str_map(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    static const char *const ops[] = {"strip", "lower", "upper", NULL};
    int op = luaL_checkoption(L, 2, NULL, ops);
    lua_Integer n = luaL_len(L, 1);
    lua_newtable(L);
    int res = lua_gettop(L);
    luaL_Buffer b;
    for (lua_Integer k = 1; k <= n; k++) {
        if (lua_geti(L, 1, k) != LUA_TSTRING) luaL_argerror(L, 1, "levels must be strings");
        size_t len;
        const char *p = lua_tolstring(L, -1, &len);
        if (op == 0) {
            size_t a = 0, e = len;
            while (a < e && is_space((unsigned char)p[a])) a++;
            while (e > a && is_space((unsigned char)p[e - 1])) e--;
            if (a > 0 || e < len) {
                lua_pushlstring(L, p + a, e - a);
                lua_seti(L, res, k);
            }
        } else {
            size_t i = 0;
            for (; i < len; i++) {
                unsigned char c = (unsigned char)p[i];
                if (op == 1 ? (c >= 'A' && c <= 'Z') : (c >= 'a' && c <= 'z')) break;
            }
            if (i < len) {
                char *d = luaL_buffinitsize(L, &b, len);
                for (size_t j = 0; j < len; j++) {
                    unsigned char c = (unsigned char)p[j];
                    if (op == 1 && c >= 'A' && c <= 'Z') c = (unsigned char)(c + 32);
                    else if (op == 2 && c >= 'a' && c <= 'z') c = (unsigned char)(c - 32);
                    d[j] = (char)c;
                }
                luaL_pushresultsize(&b, len);
                lua_seti(L, res, k);
            }
        }
        lua_pop(L, 1);
    }
    return 1;
}

void lmf_open_clean(lua_State *L, int mod, int methods)
{
    static const luaL_Reg funcs[] = {
        {"_clean_row_missing", l_clean_row_missing},
        {"_clean_mask_rows", l_clean_mask_rows},
        {"_clean_mark_rows", l_clean_mark_rows},
        {"_clean_take", l_clean_take},
        {"_clean_quantiles", l_clean_quantiles},
        {"_clean_fill", l_clean_fill},
        {"_clean_moments", l_clean_moments},
        {"_clean_str_map", l_clean_str_map},
        {NULL, NULL},
    };
    lmf_register(L, mod, 0, funcs);
    (void)methods;
}
