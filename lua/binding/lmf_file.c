/*
 * lmf_file.c — mf.save(value, path) and mf.load(path): Lua values to and
 * from the record stream of core/mf_file.h.
 *
 * Saving walks the value in C (no Lua code runs: metatables are ignored)
 * and feeds the writer; loading turns core's node tree into Lua values, the
 * tensors moving into userdata without a copy. The writer and the tree live
 * in userdata boxes with __gc, so a Lua error on the way leaks nothing.
 *
 * Hash keys are written sorted (booleans, numbers, strings; strings
 * bytewise) so that saving the same value twice gives the same bytes
 * whatever Lua's table order is.
 */
#include <stdlib.h>
#include <string.h>

#include "lmf.h"

#define WRITER_MT "moonforge.FileWriter"
#define NODES_MT "moonforge.FileNodes"

static int writer_gc(lua_State *L)
{
    mf_file_writer **w = luaL_checkudata(L, 1, WRITER_MT);
    mf_file_writer_free(*w);
    *w = NULL;
    return 0;
}

static int nodes_gc(lua_State *L)
{
    mf_file_node **n = luaL_checkudata(L, 1, NODES_MT);
    mf_file_node_free(*n);
    *n = NULL;
    return 0;
}

static void no_more_args(lua_State *L, int arg)
{
    if (!lua_isnone(L, arg))
        luaL_argerror(L, arg, lua_pushfstring(L, "unexpected argument (%s)", luaL_typename(L, arg)));
}

/* ------------------------------------------------------------------ save */
/* One step of the path to the value being written: an array index, or the
 * hash key at a stack slot. */
typedef struct step {
    int slot;         /* 0: array index */
    lua_Integer index;
} step;

typedef struct saver {
    mf_file_writer *w;
    int visiting; /* table: tables on the current path -> their depth */
    step path[MF_FILE_MAX_DEPTH + 1];
} saver;

static int is_alpha(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* Whether a key reads as .name in a path. */
static int is_name(const char *s, size_t len)
{
    if (len == 0 || !is_alpha(s[0])) return 0;
    for (size_t i = 1; i < len; i++)
        if (!is_alpha(s[i]) && !(s[i] >= '0' && s[i] <= '9')) return 0;
    return 1;
}

/* Pushes "value.layers[2].fn" for the first n steps. */
static const char *push_path(lua_State *L, const saver *sv, int n)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "value");
    for (int k = 0; k < n; k++) {
        const step *s = &sv->path[k];
        if (!s->slot) {
            lua_pushfstring(L, "[%I]", (LUAI_UACINT)s->index);
            luaL_addvalue(&b);
            continue;
        }
        size_t len;
        switch (lua_type(L, s->slot)) {
        case LUA_TSTRING: {
            const char *str = lua_tolstring(L, s->slot, &len);
            if (is_name(str, len)) {
                luaL_addchar(&b, '.');
                luaL_addlstring(&b, str, len);
                break;
            }
            luaL_addstring(&b, "[\"");
            for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)str[i];
                if (c == '"' || c == '\\') {
                    luaL_addchar(&b, '\\');
                    luaL_addchar(&b, (char)c);
                } else if (c < 32 || c >= 127) {
                    lua_pushfstring(L, "\\%d", (int)c);
                    luaL_addvalue(&b);
                } else {
                    luaL_addchar(&b, (char)c);
                }
            }
            luaL_addstring(&b, "\"]");
            break;
        }
        case LUA_TNUMBER:
            luaL_addchar(&b, '[');
            lua_pushvalue(L, s->slot);
            luaL_addvalue(&b); /* converts the number */
            luaL_addchar(&b, ']');
            break;
        default:
            luaL_addstring(&b, lua_toboolean(L, s->slot) ? "[true]" : "[false]");
            break;
        }
    }
    luaL_pushresult(&b);
    return lua_tostring(L, -1);
}

static void check(lua_State *L, mf_status st)
{
    if (st) luaL_error(L, "save: %s", mf_error_get()->msg);
}

/* Raises "save: bad value at value.a[2]: what". */
static void bad_value(lua_State *L, const saver *sv, int depth, const char *what)
{
    lua_pushstring(L, what); /* copy: what may live in the stack */
    const char *path = push_path(L, sv, depth);
    luaL_error(L, "save: bad value at %s: %s", path, lua_tostring(L, -2));
}

/* Hash keys, sorted for a deterministic file. */
typedef struct keyrec {
    int rank; /* boolean 0, number 1, string 2 */
    int isint;
    lua_Integer i;
    lua_Number f;
    const char *s;
    size_t len;
    lua_Integer k; /* position in the table of keys */
} keyrec;

static int keyrec_cmp(const void *pa, const void *pb)
{
    const keyrec *a = pa, *b = pb;
    if (a->rank != b->rank) return a->rank < b->rank ? -1 : 1;
    if (a->rank == 0) return (int)a->i - (int)b->i;
    if (a->rank == 1) {
        if (a->isint && b->isint) return a->i < b->i ? -1 : a->i > b->i;
        lua_Number x = a->isint ? (lua_Number)a->i : a->f, y = b->isint ? (lua_Number)b->i : b->f;
        if (x != y) return x < y ? -1 : 1;
        return b->isint - a->isint; /* the integer first */
    }
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->s, b->s, n);
    if (c) return c;
    return a->len < b->len ? -1 : a->len > b->len;
}

static void save_value(lua_State *L, saver *sv, int idx, int depth);

static void put_key(lua_State *L, saver *sv, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN: check(L, mf_file_put_bool(sv->w, lua_toboolean(L, idx))); break;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        check(L, mf_file_put_string(sv->w, s, len));
        break;
    }
    default:
        if (lua_isinteger(L, idx)) check(L, mf_file_put_int(sv->w, (int64_t)lua_tointeger(L, idx)));
        else check(L, mf_file_put_float(sv->w, (double)lua_tonumber(L, idx)));
    }
}

static void save_table(lua_State *L, saver *sv, int t, int depth)
{
    luaL_checkstack(L, 10, "tables nested too deep");
    if (depth == MF_FILE_MAX_DEPTH) bad_value(L, sv, depth, "tables nested deeper than 64");
    if (lua_rawgetp(L, sv->visiting, lua_topointer(L, t)) != LUA_TNIL) {
        int at = (int)lua_tointeger(L, -1);
        const char *p = push_path(L, sv, at);
        bad_value(L, sv, depth, lua_pushfstring(L, "cyclic table (refers back to %s)", p));
    }
    lua_pop(L, 1);
    lua_pushinteger(L, depth);
    lua_rawsetp(L, sv->visiting, lua_topointer(L, t));

    lua_Integer narr = 0;
    while (lua_rawgeti(L, t, narr + 1) != LUA_TNIL) {
        lua_pop(L, 1);
        narr++;
    }
    lua_pop(L, 1);
    /* the hash part: every other key, checked, into a table of keys */
    lua_newtable(L);
    int keys = lua_gettop(L);
    lua_Integer nkeys = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        int kt = lua_type(L, -1);
        if (kt == LUA_TNUMBER && lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1 &&
            lua_tointeger(L, -1) <= narr)
            continue;
        if (kt != LUA_TNUMBER && kt != LUA_TSTRING && kt != LUA_TBOOLEAN) {
            const char *got = luaL_typename(L, -1);
            const char *p = push_path(L, sv, depth);
            luaL_error(L, "save: bad key in %s: %s (keys must be numbers, strings or booleans)", p,
                       got);
        }
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys, ++nkeys);
    }
    keyrec *kr = lua_newuserdatauv(L, (size_t)nkeys * sizeof *kr + 1, 0);
    for (lua_Integer k = 1; k <= nkeys; k++) {
        keyrec *r = &kr[k - 1];
        memset(r, 0, sizeof *r);
        r->k = k;
        lua_rawgeti(L, keys, k);
        switch (lua_type(L, -1)) {
        case LUA_TBOOLEAN: r->rank = 0, r->i = lua_toboolean(L, -1); break;
        case LUA_TNUMBER:
            r->rank = 1;
            r->isint = lua_isinteger(L, -1);
            if (r->isint) r->i = lua_tointeger(L, -1);
            else r->f = lua_tonumber(L, -1);
            break;
        default: r->rank = 2, r->s = lua_tolstring(L, -1, &r->len); break; /* anchored by keys */
        }
        lua_pop(L, 1);
    }
    qsort(kr, (size_t)nkeys, sizeof *kr, keyrec_cmp);

    check(L, mf_file_put_table(sv->w, (int64_t)narr, (int64_t)nkeys));
    for (lua_Integer i = 1; i <= narr; i++) {
        lua_rawgeti(L, t, i);
        sv->path[depth] = (step){0, i};
        save_value(L, sv, lua_gettop(L), depth + 1);
        lua_pop(L, 1);
    }
    for (lua_Integer k = 0; k < nkeys; k++) {
        lua_rawgeti(L, keys, kr[k].k);
        int key = lua_gettop(L);
        put_key(L, sv, key);
        lua_pushvalue(L, key);
        lua_rawget(L, t);
        sv->path[depth] = (step){key, 0};
        save_value(L, sv, key + 1, depth + 1);
        lua_pop(L, 2);
    }
    check(L, mf_file_put_end(sv->w));
    lua_pop(L, 2); /* keys, kr */
    lua_pushnil(L);
    lua_rawsetp(L, sv->visiting, lua_topointer(L, t));
}

/* Writes the value at idx; depth: steps from the root value. */
static void save_value(lua_State *L, saver *sv, int idx, int depth)
{
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) check(L, mf_file_put_int(sv->w, (int64_t)lua_tointeger(L, idx)));
        else check(L, mf_file_put_float(sv->w, (double)lua_tonumber(L, idx)));
        return;
    case LUA_TSTRING:
    case LUA_TBOOLEAN: put_key(L, sv, idx); return;
    case LUA_TTABLE: save_table(L, sv, idx, depth); return;
    case LUA_TUSERDATA: {
        mf_tensor **slot = luaL_testudata(L, idx, LMF_TENSOR_MT);
        if (slot && *slot) {
            check(L, mf_file_put_tensor(sv->w, *slot));
            return;
        }
        bad_value(L, sv, depth, slot ? "freed tensor" : "userdata (not a tensor)");
        return;
    }
    default: bad_value(L, sv, depth, luaL_typename(L, idx));
    }
}

/* mf.save(value, path): a tensor, number, string, boolean or (nested) table
 * of them, written atomically to path. */
static int l_save(lua_State *L)
{
    luaL_checkany(L, 1);
    const char *path = luaL_checkstring(L, 2);
    no_more_args(L, 3);
    mf_file_writer **w = lua_newuserdatauv(L, sizeof *w, 0);
    *w = NULL;
    luaL_setmetatable(L, WRITER_MT);
    check(L, mf_file_writer_new(w));
    saver sv = {.w = *w};
    lua_newtable(L);
    sv.visiting = lua_gettop(L);
    save_value(L, &sv, 1, 0);
    if (mf_file_writer_save(*w, path) != MF_OK) {
        /* release the tensors now, not at the next collection */
        mf_file_writer_free(*w);
        *w = NULL;
        return luaL_error(L, "save: %s", mf_error_get()->msg);
    }
    mf_file_writer_free(*w); /* release the tensors now */
    *w = NULL;
    return 0;
}

/* ------------------------------------------------------------------ load */
static void push_node(lua_State *L, mf_file_node *n, const char *path);

static void set_pair(lua_State *L, int t, mf_file_node *k, mf_file_node *v, const char *path)
{
    push_node(L, k, path);
    lua_pushvalue(L, -1);
    if (lua_rawget(L, t) != LUA_TNIL) {
        lua_pop(L, 1);
        luaL_error(L, "load: %s: duplicate key %s in a table", path,
                   luaL_tolstring(L, -1, NULL));
    }
    lua_pop(L, 1);
    push_node(L, v, path);
    lua_rawset(L, t);
}

static void push_node(lua_State *L, mf_file_node *n, const char *path)
{
    luaL_checkstack(L, 8, "tables nested too deep");
    switch (n->kind) {
    case MF_FILE_BOOL: lua_pushboolean(L, n->u.b); return;
    case MF_FILE_INT: lua_pushinteger(L, (lua_Integer)n->u.i); return;
    case MF_FILE_FLOAT: lua_pushnumber(L, (lua_Number)n->u.f); return;
    case MF_FILE_STRING: lua_pushlstring(L, n->u.s.ptr, n->u.s.len); return;
    case MF_FILE_TENSOR: {
        mf_tensor **slot = lmf_newtensor(L);
        *slot = n->u.tensor; /* moves: the node no longer owns it */
        n->u.tensor = NULL;
        return;
    }
    case MF_FILE_TABLE: break;
    }
    int64_t narr = n->u.t.narr, nhash = n->u.t.nhash;
    lua_createtable(L, narr > 1 << 30 ? 1 << 30 : (int)narr, nhash > 1 << 30 ? 1 << 30 : (int)nhash);
    int t = lua_gettop(L);
    for (int64_t i = 0; i < narr; i++) {
        push_node(L, &n->u.t.arr[i], path);
        lua_rawseti(L, t, (lua_Integer)i + 1);
    }
    for (int64_t i = 0; i < nhash; i++)
        set_pair(L, t, &n->u.t.keys[i], &n->u.t.vals[i], path);
}

/* mf.load(path): the value saved with mf.save (new, contiguous tensors). */
static int l_load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    no_more_args(L, 2);
    mf_file_node **root = lua_newuserdatauv(L, sizeof *root, 0);
    *root = NULL;
    luaL_setmetatable(L, NODES_MT);
    if (mf_file_load(root, path) != MF_OK) return luaL_error(L, "load: %s", mf_error_get()->msg);
    lmf_account(L);
    push_node(L, *root, path);
    mf_file_node_free(*root); /* what is left of it: the tensors moved out */
    *root = NULL;
    return 1;
}

static const luaL_Reg file_funcs[] = {
    {"save", l_save},
    {"load", l_load},
    {NULL, NULL},
};

void lmf_open_file(lua_State *L, int mod, int methods)
{
    (void)methods; /* save and load are not tensor methods */
    luaL_newmetatable(L, WRITER_MT);
    lua_pushcfunction(L, writer_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luaL_newmetatable(L, NODES_MT);
    lua_pushcfunction(L, nodes_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    lmf_register(L, mod, 0, file_funcs);
}
