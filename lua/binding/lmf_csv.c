/*
 * lmf_csv.c — the CSV reader of core/mf_csv.h, under mf.data.read_csv and
 * mf.data.csv_chunks (lua/moonforge/data.lua):
 *
 *   core._csv_open(path, opts) -> reader (the header is read)
 *   reader:names()             -> {name, ...} in file order
 *   reader:configure(keep, types)  keep[j] truthy keeps column j (nil: all),
 *                              types[j] = "float64"|"int64"|"bool"|"string"
 *   reader:read_all()          -> raw table (the rest of the file)
 *   reader:next(rows)          -> raw table of at most rows rows, or nil
 *   reader:close()
 *   core._read_csv(path, opts) -> raw table (open + read_all)
 *   core._csv_block_size(bytes)    test hook: the read block size (0: default)
 *
 * A raw table is {names = {...}, columns = {...}, nrows = n, report = {...}}:
 * each column is a tensor moved out of the C table (no copy) or, for a string
 * column, {codes = int64 tensor, levels = {...}, level_base = k} (levels new
 * in this chunk). The C table lives in a userdata box with __gc while Lua
 * values are built, so an error on the way leaks nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "lmf.h"

#define CSV_TABLE_MT "moonforge.CsvTable"
#define CSV_READER_MT "moonforge.CsvReader"
#define CSV_LEVELS_MT "moonforge.CsvLevels"

/*
 * The levels of a string column stay in C until they are read: the Lua
 * `levels` is a table whose __index makes level i a Lua string on first use
 * and stores it (rawset), so that a string once handed out stays anchored in
 * the table, and whose __len gives the count. A column of a million distinct
 * texts (timestamps) so costs nothing until its texts are asked for.
 */
typedef struct levels_store {
    int64_t n;
    char **lv;
    void *pool;
} levels_store;

static int levels_store_gc(lua_State *L)
{
    levels_store *s = luaL_checkudata(L, 1, CSV_LEVELS_MT);
    mf_csv_levels_free(s->lv, s->pool);
    s->lv = NULL;
    s->pool = NULL;
    s->n = 0;
    return 0;
}

static int levels_index(lua_State *L)
{
    levels_store *s = lua_touserdata(L, lua_upvalueindex(1));
    int isint;
    lua_Integer i = lua_tointegerx(L, 2, &isint);
    if (!isint || i < 1 || i > s->n) return 0;
    lua_pushstring(L, s->lv[i - 1]);
    lua_pushvalue(L, -1);
    lua_rawseti(L, 1, i);
    return 1;
}

static int levels_len(lua_State *L)
{
    levels_store *s = lua_touserdata(L, lua_upvalueindex(1));
    lua_pushinteger(L, (lua_Integer)s->n);
    return 1;
}

/* Pushes the lazy levels table of column c (taking its levels). */
static void push_levels(lua_State *L, mf_csv_column *c)
{
    lua_createtable(L, 0, 0);
    levels_store *s = lua_newuserdatauv(L, sizeof *s, 0);
    s->n = 0;
    s->lv = NULL;
    s->pool = NULL;
    luaL_setmetatable(L, CSV_LEVELS_MT);
    s->n = c->nlevels;
    s->lv = c->levels;
    s->pool = c->pool;
    c->levels = NULL;
    c->pool = NULL;
    c->nlevels = 0;
    int store = lua_gettop(L);
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, store);
    lua_pushcclosure(L, levels_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, store);
    lua_pushcclosure(L, levels_len, 1);
    lua_setfield(L, -2, "__len");
    lua_setmetatable(L, store - 1);
    lua_settop(L, store - 1);
}

static int csv_table_gc(lua_State *L)
{
    mf_csv_table **t = luaL_checkudata(L, 1, CSV_TABLE_MT);
    mf_csv_table_free(*t);
    *t = NULL;
    return 0;
}

/* The reader and its own copy of the na_values strings (core keeps pointers). */
typedef struct csv_box {
    mf_csv_reader *rd;
    char **na;
    char *na_buf;
} csv_box;

static void box_release(csv_box *b)
{
    mf_csv_reader_close(b->rd);
    b->rd = NULL;
    free(b->na);
    free(b->na_buf);
    b->na = NULL;
    b->na_buf = NULL;
}

static int csv_reader_gc(lua_State *L)
{
    csv_box *b = luaL_checkudata(L, 1, CSV_READER_MT);
    box_release(b);
    return 0;
}

static csv_box *check_reader(lua_State *L)
{
    csv_box *b = luaL_checkudata(L, 1, CSV_READER_MT);
    if (!b->rd) luaL_argerror(L, 1, "the CSV reader is closed");
    return b;
}

static const char *const csv_opts[] = {"sep", "header", "na_values", "skip_rows", "max_rows",
                                       "on_bad_lines", "usecols", "dtypes", NULL};

/* The options at `arg` into *o; na_values strings are copied into box b. */
static void check_csv_opts(lua_State *L, int arg, mf_csv_options *o, csv_box *b)
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
        size_t total = 0;
        for (lua_Integer i = 1; i <= n; i++) {
            if (lua_geti(L, nv, i) != LUA_TSTRING)
                luaL_argerror(L, arg, "option 'na_values' must be an array of strings");
            total += lua_rawlen(L, -1) + 1;
            lua_pop(L, 1);
        }
        b->na = malloc((size_t)(n + 1) * sizeof *b->na);
        b->na_buf = malloc(total + 1);
        if (!b->na || !b->na_buf) luaL_error(L, "not enough memory");
        size_t at = 0;
        for (lua_Integer i = 1; i <= n; i++) {
            size_t len;
            lua_geti(L, nv, i);
            const char *s = lua_tolstring(L, -1, &len);
            memcpy(b->na_buf + at, s, len + 1);
            b->na[i - 1] = b->na_buf + at;
            at += len + 1;
            lua_pop(L, 1);
        }
        b->na[n] = NULL;
        o->na_values = (const char *const *)b->na;
    }
    lua_pop(L, 1);
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

/* Pushes the raw table of the C table in the box at index `box` and frees it. */
static void push_raw(lua_State *L, int box)
{
    mf_csv_table **bp = lua_touserdata(L, box);
    mf_csv_table *t = *bp;
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
            lua_createtable(L, 0, 3);
            mf_tensor **slot = lmf_newtensor(L);
            *slot = c->data;
            c->data = NULL;
            lua_setfield(L, -2, "codes");
            push_levels(L, c);
            lua_setfield(L, -2, "levels");
            lua_pushinteger(L, (lua_Integer)c->level_base);
            lua_setfield(L, -2, "level_base");
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
    mf_csv_table_free(*bp);
    *bp = NULL;
    lmf_account(L);
}

static mf_csv_table **new_table_box(lua_State *L)
{
    mf_csv_table **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, CSV_TABLE_MT);
    return box;
}

static int l_csv_open(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_settop(L, 2);
    csv_box *b = lua_newuserdatauv(L, sizeof *b, 0);
    memset(b, 0, sizeof *b);
    luaL_setmetatable(L, CSV_READER_MT);
    mf_csv_options o;
    check_csv_opts(L, 2, &o, b);
    lmf_check(L, mf_csv_reader_open(path, &o, &b->rd));
    return 1;
}

static int l_csv_names(lua_State *L)
{
    csv_box *b = check_reader(L);
    int64_t n = mf_csv_reader_ncols(b->rd);
    lua_createtable(L, (int)n, 0);
    for (int64_t j = 0; j < n; j++) {
        lua_pushstring(L, mf_csv_reader_name(b->rd, j));
        lua_seti(L, -2, (lua_Integer)(j + 1));
    }
    return 1;
}

/* reader:configure(keep, types): arrays indexed by 1-based file position */
static int l_csv_configure(lua_State *L)
{
    csv_box *b = check_reader(L);
    int64_t n = mf_csv_reader_ncols(b->rd);
    int *keep = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof(int) * 2, 0);
    int *types = keep + n;
    int have_keep = !lua_isnoneornil(L, 2);
    if (have_keep) luaL_checktype(L, 2, LUA_TTABLE);
    if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
    for (int64_t j = 0; j < n; j++) {
        keep[j] = 1;
        types[j] = -1;
        if (have_keep) {
            lua_geti(L, 2, (lua_Integer)(j + 1));
            keep[j] = lua_toboolean(L, -1);
            lua_pop(L, 1);
        }
        if (!lua_isnoneornil(L, 3) && lua_geti(L, 3, (lua_Integer)(j + 1)) != LUA_TNIL) {
            const char *s = lua_tostring(L, -1);
            if (!s) luaL_argerror(L, 3, "types must be strings");
            if (strcmp(s, "float64") == 0) types[j] = MF_CSV_FLOAT64;
            else if (strcmp(s, "int64") == 0) types[j] = MF_CSV_INT64;
            else if (strcmp(s, "bool") == 0) types[j] = MF_CSV_BOOL;
            else if (strcmp(s, "string") == 0) types[j] = MF_CSV_STRING;
            else luaL_argerror(L, 3, lua_pushfstring(L, "unknown type '%s'", s));
            lua_pop(L, 1);
        } else if (!lua_isnoneornil(L, 3)) {
            lua_pop(L, 1);
        }
    }
    lmf_check(L, mf_csv_reader_configure(b->rd, keep, types));
    return 0;
}

static int l_csv_read_all(lua_State *L)
{
    csv_box *b = check_reader(L);
    mf_csv_table **box = new_table_box(L);
    int bi = lua_gettop(L);
    lmf_check(L, mf_csv_reader_read_all(b->rd, box));
    push_raw(L, bi);
    return 1;
}

static int l_csv_next(lua_State *L)
{
    csv_box *b = check_reader(L);
    lua_Integer rows = luaL_checkinteger(L, 2);
    if (rows <= 0) luaL_argerror(L, 2, "rows must be > 0");
    mf_csv_table **box = new_table_box(L);
    int bi = lua_gettop(L);
    lmf_check(L, mf_csv_reader_next(b->rd, (int64_t)rows, box));
    if (!*box) {
        lua_pushnil(L);
        return 1;
    }
    push_raw(L, bi);
    return 1;
}

static int l_csv_close(lua_State *L)
{
    csv_box *b = luaL_checkudata(L, 1, CSV_READER_MT);
    box_release(b);
    return 0;
}

static int l_read_csv(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushcfunction(L, l_csv_open);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_call(L, 2, 1);
    lua_insert(L, 1); /* the reader at 1 */
    lua_settop(L, 1);
    return l_csv_read_all(L);
}

/* core._csv_block_size(bytes): the test hook of mf_csv_set_block_size (0: default) */
static int l_csv_block_size(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    if (n < 0) luaL_argerror(L, 1, "size must be >= 0");
    mf_csv_set_block_size((size_t)n);
    return 0;
}

void lmf_open_csv(lua_State *L, int mod, int methods)
{
    luaL_newmetatable(L, CSV_TABLE_MT);
    lua_pushcfunction(L, csv_table_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, csv_table_gc);
    lua_setfield(L, -2, "__close");
    lua_pop(L, 1);
    luaL_newmetatable(L, CSV_LEVELS_MT);
    lua_pushcfunction(L, levels_store_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    static const luaL_Reg reader_methods[] = {{"names", l_csv_names},       {"configure", l_csv_configure},
                                              {"read_all", l_csv_read_all}, {"next", l_csv_next},
                                              {"close", l_csv_close},       {NULL, NULL}};
    luaL_newmetatable(L, CSV_READER_MT);
    lua_pushcfunction(L, csv_reader_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, csv_reader_gc);
    lua_setfield(L, -2, "__close");
    luaL_newlib(L, reader_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    static const luaL_Reg funcs[] = {{"_read_csv", l_read_csv}, {"_csv_open", l_csv_open},
                                     {"_csv_block_size", l_csv_block_size}, {NULL, NULL}};
    lmf_register(L, mod, 0, funcs);
    (void)methods;
}
