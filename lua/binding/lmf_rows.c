/*
 * lmf_rows.c — the row kernels of core/mf_rows.h and the CSV writer of
 * core/mf_csv_write.h, for lua/moonforge/data*.lua:
 *
 *   core._rows_factorize(cols)            → ids, ngroups, first, last
 *   core._rows_agg(values, ids, ngroups, {"sum", "std", ...})
 *                                         → {sum = tensor, std = tensor, ...}
 *   core._rows_join(ids, nleft, ngroups, how, order) → lidx, ridx
 *   core._rows_take(cols, idx, codes)     → {tensors}
 *   core._rows_string_ranks(levels)       → ranks
 *   core._rows_merge_levels(a, b)         → map, new
 *   core._write_csv(path, names, columns, opts)
 *
 * Group ids, rows and indices are 1-based here; 0 in a join index, in the
 * indices of _rows_take and in the ids of _rows_agg means "no row" (a
 * missing cell, a skipped row).
 */
#include <string.h>

#include "lmf.h"

static void to1(mf_tensor *t)
{
    int64_t *p = mf_tensor_data(t), n = mf_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) p[i] += 1;
}

static int l_rows_factorize(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer nc = luaL_len(L, 1);
    luaL_argcheck(L, nc >= 1, 1, "expected at least one column");
    luaL_argcheck(L, nc <= 1 << 20, 1, "too many columns");
    mf_tensor **cols = lua_newuserdatauv(L, (size_t)nc * sizeof *cols, 0);
    for (lua_Integer j = 1; j <= nc; j++) {
        lua_geti(L, 1, j);
        mf_tensor *t = lmf_totensor(L, -1);
        if (!t) luaL_argerror(L, 1, lua_pushfstring(L, "column %d is not a tensor", (int)j));
        cols[j - 1] = t; /* kept alive by the argument table */
        lua_pop(L, 1);
    }
    int base = lua_gettop(L);
    mf_tensor **ids = lmf_newtensor(L);
    mf_tensor **first = lmf_newtensor(L);
    mf_tensor **last = lmf_newtensor(L);
    int64_t ng = 0;
    lmf_check(L, mf_rows_factorize(cols, (int)nc, ids, &ng, first, last));
    to1(*ids);
    to1(*first);
    to1(*last);
    lmf_account(L);
    lua_pushinteger(L, (lua_Integer)ng);
    lua_insert(L, base + 2); /* ids, ngroups, first, last */
    return 4;
}

static int l_rows_agg(lua_State *L)
{
    mf_tensor *values = lmf_checktensor(L, 1);
    lmf_checktensor(L, 2);
    lua_Integer ng = luaL_checkinteger(L, 3);
    luaL_argcheck(L, ng >= 0, 3, "ngroups must be >= 0");
    luaL_checktype(L, 4, LUA_TTABLE);
    static const char *const names[] = {"count", "sum", "mean", "std", "min", "max"};
    unsigned what = 0;
    lua_Integer nw = luaL_len(L, 4);
    for (lua_Integer k = 1; k <= nw; k++) {
        lua_geti(L, 4, k);
        const char *s = lua_tostring(L, -1);
        int found = 0;
        for (unsigned b = 0; s && b < 6; b++)
            if (strcmp(s, names[b]) == 0) what |= 1u << b, found = 1;
        if (!found) luaL_argerror(L, 4, "unknown reduction");
        lua_pop(L, 1);
    }
    mf_tensor *ids = lmf_checkids0(L, 2);
    /* the result slots exist before core allocates anything */
    mf_tensor **slots[6];
    int first = lua_gettop(L) + 1;
    for (int b = 0; b < 6; b++) slots[b] = lmf_newtensor(L);
    mf_rows_agg a;
    static const int map[] = {1, 2, 3};
    mf_status st = mf_rows_group_agg(values, ids, (int64_t)ng, what, &a);
    if (st == MF_OK) {
        *slots[0] = a.count, *slots[1] = a.sum, *slots[2] = a.mean;
        *slots[3] = a.std, *slots[4] = a.min, *slots[5] = a.max;
    }
    lmf_check_map(L, st, map, 3);
    lua_createtable(L, 0, 6);
    for (int b = 0; b < 6; b++) {
        if (!*slots[b]) continue;
        lua_pushvalue(L, first + b);
        lua_setfield(L, -2, names[b]);
    }
    lmf_account(L);
    return 1;
}

static int l_rows_join(lua_State *L)
{
    lmf_checktensor(L, 1);
    lua_Integer nleft = luaL_checkinteger(L, 2);
    lua_Integer ng = luaL_checkinteger(L, 3);
    static const char *const hows[] = {"inner", "left", "right", "outer", NULL};
    int how = luaL_checkoption(L, 4, NULL, hows);
    int top = lua_gettop(L);
    mf_tensor *ids = lmf_checkids0(L, 1);
    mf_tensor *order = NULL;
    if (how == MF_ROWS_OUTER) {
        lua_pushvalue(L, 5);
        order = lmf_checkids0(L, top + 2);
    }
    mf_tensor **li = lmf_newtensor(L);
    mf_tensor **ri = lmf_newtensor(L);
    static const int map[] = {1, 2, 3, 4, 5};
    lmf_check_map(L, mf_rows_join(ids, (int64_t)nleft, (int64_t)ng, (mf_rows_how)how, order, li,
                                  ri),
                  map, 5);
    to1(*li);
    to1(*ri);
    lmf_account(L);
    return 2;
}

/* core._rows_take(cols, idx, codes) → {tensors}: each column of the array
 * cols at the rows idx (1-based, 0 = missing), codes[j] true for a string
 * column's codes. idx is converted once for all the columns. */
static int l_rows_take(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lmf_checktensor(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_Integer nc = luaL_len(L, 1);
    mf_tensor *idx = lmf_checkids0(L, 2);
    lua_createtable(L, (int)(nc > 0 ? nc : 0), 0);
    int res = lua_gettop(L);
    for (lua_Integer j = 1; j <= nc; j++) {
        lua_geti(L, 1, j);
        mf_tensor *col = lmf_totensor(L, -1);
        if (!col) luaL_argerror(L, 1, lua_pushfstring(L, "column %d is not a tensor", (int)j));
        lua_pop(L, 1); /* kept alive by the argument table */
        lua_geti(L, 3, j);
        int codes = lua_toboolean(L, -1);
        lua_pop(L, 1);
        NEW_TENSOR(L, mf_rows_take(out, col, idx, codes));
        lua_seti(L, res, j);
    }
    return 1;
}

/* core._write_csv(path, names, columns, {sep = ",", header = true}): each
 * column a tensor or {codes = int64 tensor, levels = {...}}. The level texts
 * stay referenced by the argument tables while core writes; the pointer
 * arrays live in Lua userdata (nothing to free if an argument check raises). */
static int l_write_csv(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TTABLE);
    mf_csv_write_options o;
    mf_csv_write_options_default(&o);
    if (!lua_isnoneornil(L, 4)) {
        static const char *const keys[] = {"sep", "header", NULL};
        lmf_checkopts(L, 4, keys);
        int ty = lmf_getopt(L, 4, "sep");
        if (ty != LUA_TNIL) {
            size_t len;
            const char *s = lua_tolstring(L, -1, &len);
            if (ty != LUA_TSTRING || len != 1 || s[0] == '"' || s[0] == '\r' || s[0] == '\n')
                luaL_argerror(L, 4, "option 'sep' must be one character (not a quote or line break)");
            o.sep = s[0];
        }
        lua_pop(L, 1);
        o.header = lmf_optboolean(L, 4, "header", 1);
    }
    lua_Integer nc = luaL_len(L, 3);
    luaL_argcheck(L, luaL_len(L, 2) == nc, 2, "one name per column expected");
    mf_csv_wcolumn *cols = lua_newuserdatauv(L, (size_t)(nc > 0 ? nc : 1) * sizeof *cols, 0);
    lua_newtable(L); /* anchors the level pointer arrays */
    int anchor = lua_gettop(L);
    for (lua_Integer j = 1; j <= nc; j++) {
        mf_csv_wcolumn *c = &cols[j - 1];
        if (lua_geti(L, 2, j) != LUA_TSTRING) luaL_argerror(L, 2, "column names must be strings");
        c->name = lua_tostring(L, -1);
        lua_pop(L, 1);
        lua_geti(L, 3, j);
        c->levels = NULL;
        c->nlevels = 0;
        mf_tensor *t = lmf_totensor(L, -1);
        if (!t) {
            if (!lua_istable(L, -1)) luaL_argerror(L, 3, "columns must be tensors or {codes, levels}");
            lua_getfield(L, -1, "codes");
            t = lmf_totensor(L, -1);
            lua_pop(L, 1);
            if (!t) luaL_argerror(L, 3, "a string column needs an int64 codes tensor");
            lua_getfield(L, -1, "levels");
            if (!lua_istable(L, -1)) luaL_argerror(L, 3, "a string column needs its levels");
            lua_Integer nl = luaL_len(L, -1);
            const char **lv = lua_newuserdatauv(L, (size_t)(nl > 0 ? nl : 1) * sizeof *lv, 0);
            for (lua_Integer k = 1; k <= nl; k++) {
                if (lua_geti(L, -2, k) != LUA_TSTRING) luaL_argerror(L, 3, "levels must be strings");
                lv[k - 1] = lua_tostring(L, -1); /* kept alive by the levels table */
                lua_pop(L, 1);
            }
            lua_seti(L, anchor, j); /* keeps the pointer array alive */
            lua_pop(L, 1);
            c->levels = lv;
            c->nlevels = (int64_t)nl;
        }
        c->data = t;
        lua_pop(L, 1);
    }
    static const int map[] = {1, 3, 3, 4};
    lmf_check_map(L, mf_csv_write(path, cols, (int64_t)nc, &o), map, 4);
    return 0;
}

/* The Lua array of strings at `arg` as mf_rows_strings; the pointer and
 * length arrays are a userdata pushed on the stack (the strings stay
 * referenced by the array). */
static void checkstrings(lua_State *L, int arg, mf_rows_strings *out)
{
    luaL_checktype(L, arg, LUA_TTABLE);
    lua_Integer n = luaL_len(L, arg);
    size_t cap = (size_t)(n > 0 ? n : 1);
    void *mem = lua_newuserdatauv(L, cap * (sizeof(const char *) + sizeof(size_t)), 0);
    const char **s = mem;
    size_t *len = (size_t *)(void *)(s + cap);
    for (lua_Integer k = 1; k <= n; k++) {
        if (lua_geti(L, arg, k) != LUA_TSTRING)
            luaL_argerror(L, arg, lua_pushfstring(L, "level %d is not a string", (int)k));
        s[k - 1] = lua_tolstring(L, -1, &len[k - 1]);
        lua_pop(L, 1);
    }
    out->s = s;
    out->len = len;
    out->n = (int64_t)n;
}

/* A new int64 tensor [n + 1] on the stack: 0, then src + 1. */
static void push_shifted(lua_State *L, const mf_tensor *src)
{
    int64_t n = src->shape[0], n1 = n + 1;
    mf_tensor **slot = lmf_newtensor(L);
    lmf_check(L, mf_tensor_new(slot, MF_INT64, 1, &n1));
    int64_t *d = mf_tensor_data(*slot);
    const int64_t *p = mf_tensor_data(src);
    d[0] = 0;
    for (int64_t i = 0; i < n; i++) d[i + 1] = p[i] + 1;
}

/* core._rows_string_ranks(levels) → int64 [n + 1]: 0, then the 1-based rank
 * of each level in byte order (index it with codes + 1). */
static int l_rows_string_ranks(lua_State *L)
{
    mf_rows_strings s;
    checkstrings(L, 1, &s);
    mf_tensor **r = lmf_newtensor(L);
    lmf_check(L, mf_rows_string_ranks(&s, r));
    push_shifted(L, *r);
    lmf_account(L);
    return 1;
}

/* core._rows_merge_levels(a, b) → map, new: map (int64 [#b + 1]) is 0, then
 * the 1-based position of each level of b in the union (a's levels, then
 * b's new ones); new (int64) the 1-based positions in b of the new ones. */
static int l_rows_merge_levels(lua_State *L)
{
    mf_rows_strings a, b;
    checkstrings(L, 1, &a);
    checkstrings(L, 2, &b);
    mf_tensor **map = lmf_newtensor(L);
    mf_tensor **nw = lmf_newtensor(L);
    lmf_check(L, mf_rows_merge_levels(&a, &b, map, nw));
    push_shifted(L, *map);
    to1(*nw);
    lua_pushvalue(L, -2);
    lmf_account(L);
    return 2;
}

void lmf_open_rows(lua_State *L, int mod, int methods)
{
    static const luaL_Reg funcs[] = {
        {"_rows_factorize", l_rows_factorize},
        {"_rows_agg", l_rows_agg},
        {"_rows_join", l_rows_join},
        {"_rows_take", l_rows_take},
        {"_write_csv", l_write_csv},
        {"_rows_string_ranks", l_rows_string_ranks},
        {"_rows_merge_levels", l_rows_merge_levels},
        {NULL, NULL},
    };
    lmf_register(L, mod, 0, funcs);
    (void)methods;
}
