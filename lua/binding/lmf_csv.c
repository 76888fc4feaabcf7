/*
 * lmf_csv.c — the CSV reader of core/mf_csv.h as core._read_csv(path, opts),
 * the raw reader under mf.data.read_csv (lua/moonforge/data.lua).
 *
 * Returns {names = {...}, columns = {...}, report = {...}}: each column is a
 * tensor moved out of the C table (no copy) or, for a string column,
 * {codes = int64 tensor, levels = {...}}. The C table lives in a userdata box
 * with __gc while Lua values are built, so an error on the way leaks nothing.
 */
#include <string.h>

#include "lmf.h"

#define CSV_TABLE_MT "moonforge.CsvTable"

static int csv_table_gc(lua_State *L)
{
    mf_csv_table **t = luaL_checkudata(L, 1, CSV_TABLE_MT);
    mf_csv_table_free(*t);
    *t = NULL;
    return 0;
}

static const char *const csv_opts[] = {"sep", "header", "na_values", "skip_rows", "max_rows",
                                       "on_bad_lines", NULL};

/* The options at `arg` into *o; na_values strings stay referenced by the
 * option table (on the stack) and the pointer array is a Lua userdata. */
static void check_csv_opts(lua_State *L, int arg, mf_csv_options *o)
{
    mf_csv_options_default(o);
    if (lua_isnoneornil(L, arg)) return;
    lmf_checkopts(L, arg, csv_opts);
    int ty = lmf_getopt(L, arg, "sep");
    if (ty != LUA_TNIL) {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        if (ty != LUA_TSTRING || len != 1 || s[0] == '"' || s[0] == '\r' || s[0] == '\n')
            luaL_argerror(L, arg, "option 'sep' must be one character (not a quote or line break)");
        o->sep = s[0];
    }
    lua_pop(L, 1);
    o->header = lmf_optboolean(L, arg, "header", 1);
    o->skip_rows = lmf_optinteger(L, arg, "skip_rows", 0);
    if (o->skip_rows < 0) luaL_argerror(L, arg, "option 'skip_rows' must be >= 0");
    o->max_rows = lmf_optinteger(L, arg, "max_rows", -1);
    ty = lmf_getopt(L, arg, "on_bad_lines");
    if (ty != LUA_TNIL) {
        const char *s = ty == LUA_TSTRING ? lua_tostring(L, -1) : "";
        if (strcmp(s, "error") == 0) o->on_bad_lines = MF_CSV_BAD_ERROR;
        else if (strcmp(s, "skip") == 0) o->on_bad_lines = MF_CSV_BAD_SKIP;
        else if (strcmp(s, "warn") == 0) o->on_bad_lines = MF_CSV_BAD_WARN;
        else luaL_argerror(L, arg, "option 'on_bad_lines' must be \"error\", \"skip\" or \"warn\"");
    }
    lua_pop(L, 1);
    ty = lmf_getopt(L, arg, "na_values");
    if (ty != LUA_TNIL) {
        if (ty != LUA_TTABLE) luaL_argerror(L, arg, "option 'na_values' must be an array of strings");
        int nv = lua_gettop(L);
        lua_Integer n = luaL_len(L, nv);
        const char **vals = lua_newuserdatauv(L, (size_t)(n + 1) * sizeof *vals, 0);
        for (lua_Integer i = 1; i <= n; i++) {
            if (lua_geti(L, nv, i) != LUA_TSTRING)
                luaL_argerror(L, arg, "option 'na_values' must be an array of strings");
            vals[i - 1] = lua_tostring(L, -1); /* kept alive by the option table */
            lua_pop(L, 1);
        }
        vals[n] = NULL;
        o->na_values = vals;
        /* the array stays on the stack (below the results) until we return */
        lua_remove(L, nv);
    } else {
        lua_pop(L, 1);
    }
}

static void push_lines(lua_State *L, const int64_t *lines, int64_t n)
{
    int64_t k = n < MF_CSV_MAX_LINES ? n : MF_CSV_MAX_LINES;
    lua_createtable(L, (int)k, 0);
    for (int64_t i = 0; i < k; i++) {
        lua_pushinteger(L, (lua_Integer)lines[i]);
        lua_seti(L, -2, (lua_Integer)(i + 1));
    }
}

static const char *type_name(mf_csv_type t)
{
    switch (t) {
    case MF_CSV_FLOAT64: return "float64";
    case MF_CSV_INT64: return "int64";
    case MF_CSV_BOOL: return "bool";
    case MF_CSV_STRING: return "string";
    }
    return "?";
}

static int l_read_csv(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    mf_csv_options o;
    check_csv_opts(L, 2, &o);
    mf_csv_table **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, CSV_TABLE_MT);
    lmf_check(L, mf_csv_read(path, &o, box));
    mf_csv_table *t = *box;

    lua_createtable(L, 0, 3);
    lua_createtable(L, (int)t->ncols, 0); /* names */
    lua_createtable(L, (int)t->ncols, 0); /* columns */
    lua_createtable(L, 0, 5);             /* report */
    int res = lua_gettop(L) - 3, names = res + 1, cols = res + 2, rep = res + 3;
    lua_createtable(L, 0, 0); /* report.columns: name -> {missing, coerced, lines} */
    for (int64_t j = 0; j < t->ncols; j++) {
        mf_csv_column *c = &t->cols[j];
        lua_Integer jj = (lua_Integer)(j + 1);
        lua_pushstring(L, c->name);
        lua_seti(L, names, jj);
        if (c->type == MF_CSV_STRING) {
            lua_createtable(L, 0, 2);
            mf_tensor **slot = lmf_newtensor(L);
            *slot = c->data;
            c->data = NULL;
            lua_setfield(L, -2, "codes");
            lua_createtable(L, (int)c->nlevels, 0);
            for (int64_t k = 0; k < c->nlevels; k++) {
                lua_pushstring(L, c->levels[k]);
                lua_seti(L, -2, (lua_Integer)(k + 1));
            }
            lua_setfield(L, -2, "levels");
        } else {
            mf_tensor **slot = lmf_newtensor(L);
            *slot = c->data;
            c->data = NULL;
        }
        lua_seti(L, cols, jj);
        lua_createtable(L, 0, 4);
        lua_pushstring(L, type_name(c->type));
        lua_setfield(L, -2, "dtype");
        lua_pushinteger(L, (lua_Integer)c->n_missing);
        lua_setfield(L, -2, "missing");
        lua_pushinteger(L, (lua_Integer)c->n_coerced);
        lua_setfield(L, -2, "coerced");
        push_lines(L, c->coerced_lines, c->n_coerced);
        lua_setfield(L, -2, "coerced_lines");
        lua_setfield(L, -2, c->name);
    }
    lua_setfield(L, rep, "columns");
    lua_pushinteger(L, (lua_Integer)t->nrows);
    lua_setfield(L, rep, "rows");
    lua_pushinteger(L, (lua_Integer)t->n_bad_lines);
    lua_setfield(L, rep, "bad_lines");
    push_lines(L, t->bad_lines, t->n_bad_lines);
    lua_setfield(L, rep, "bad_line_numbers");
    lua_pushinteger(L, (lua_Integer)t->nrows);
    lua_setfield(L, res, "nrows");
    lua_setfield(L, res, "report");
    lua_setfield(L, res, "columns");
    lua_setfield(L, res, "names");
    /* the C table (now without its tensors) is freed now, not at the next GC */
    mf_csv_table_free(*box);
    *box = NULL;
    lmf_account(L);
    return 1;
}

void lmf_open_csv(lua_State *L, int mod, int methods)
{
    luaL_newmetatable(L, CSV_TABLE_MT);
    lua_pushcfunction(L, csv_table_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, csv_table_gc);
    lua_setfield(L, -2, "__close");
    lua_pop(L, 1);
    static const luaL_Reg funcs[] = {{"_read_csv", l_read_csv}, {NULL, NULL}};
    lmf_register(L, mod, 0, funcs);
    (void)methods;
}
