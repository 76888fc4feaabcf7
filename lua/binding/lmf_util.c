/* lmf_util.c — argument checks, error raising and GC accounting. */
#include <math.h>
#include <string.h>

#include "lmf.h"

/* ------------------------------------------------------------------ errors */
void lmf_check_map(lua_State *L, mf_status st, const int *map, int nmap)
{
    if (st == MF_OK) return;
    const mf_error *e = mf_error_get();
    if (e->code == MF_ENOMEM && e->arg == 0) {
        luaL_error(L, "%s", e->msg);
        return;
    }
    if (e->arg > 0) {
        int arg = e->arg;
        if (map) arg = arg <= nmap ? map[arg - 1] : 0;
        if (arg > 0) {
            /* copy: luaL_argerror may run code that fails in core again */
            char msg[sizeof e->msg];
            memcpy(msg, e->msg, sizeof msg);
            luaL_argerror(L, arg, msg);
            return;
        }
    }
    lua_Debug ar;
    if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar) && ar.name)
        luaL_error(L, "%s: %s", ar.name, e->msg);
    luaL_error(L, "%s", e->msg);
}

void lmf_check(lua_State *L, mf_status st) { lmf_check_map(L, st, NULL, 0); }

/* ------------------------------------------------------------------ modules */
void lmf_register(lua_State *L, int mod, int methods, const luaL_Reg *funcs)
{
    for (; funcs->name; funcs++) {
        lua_pushcfunction(L, funcs->func);
        if (methods) {
            lua_pushvalue(L, -1);
            lua_setfield(L, methods, funcs->name);
        }
        lua_setfield(L, mod, funcs->name);
    }
}

/* ------------------------------------------------------------------ tensors */
/* The tensor metatable is also kept in the registry under this address: a
 * pointer key is found faster than the name (no string lookup per call). */
static const char lmf_tensor_mt_key = 0;

void lmf_set_tensor_mt(lua_State *L)
{
    lua_rawsetp(L, LUA_REGISTRYINDEX, &lmf_tensor_mt_key);
}

mf_tensor **lmf_newtensor(lua_State *L)
{
    mf_tensor **slot = lua_newuserdatauv(L, sizeof *slot, 0);
    *slot = NULL;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &lmf_tensor_mt_key);
    lua_setmetatable(L, -2);
    return slot;
}

/* The slot of the tensor userdata at arg, or NULL if arg is not one. */
static mf_tensor **tensor_slot(lua_State *L, int arg)
{
    mf_tensor **slot = lua_touserdata(L, arg);
    if (!slot || !lua_getmetatable(L, arg)) return NULL;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &lmf_tensor_mt_key);
    int same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return same ? slot : NULL;
}

/*
 * Lua's collector cannot see tensor memory. Each time the binding creates a
 * tensor it reports the bytes core allocated since the last report as GC debt,
 * so that a loop making big temporaries collects them as if Lua owned them.
 * Small amounts are batched to keep tiny-tensor calls cheap.
 */
#define LMF_ACCOUNT_BATCH (64 * 1024)
static size_t lmf_seen_bytes;
static size_t lmf_pending_bytes;

void lmf_account(lua_State *L)
{
    size_t now = mf_mem_in_use();
    if (now > lmf_seen_bytes) lmf_pending_bytes += now - lmf_seen_bytes;
    lmf_seen_bytes = now;
    if (lmf_pending_bytes >= LMF_ACCOUNT_BATCH) {
        size_t kb = lmf_pending_bytes / 1024;
        lmf_pending_bytes = 0;
        lua_gc(L, LUA_GCSTEP, kb > INT32_MAX ? INT32_MAX : (int)kb);
    }
}

mf_tensor *lmf_totensor(lua_State *L, int arg)
{
    mf_tensor **slot = tensor_slot(L, arg);
    return slot ? *slot : NULL;
}

mf_tensor *lmf_checktensor(lua_State *L, int arg)
{
    mf_tensor **slot = tensor_slot(L, arg);
    if (!slot) luaL_typeerror(L, arg, "tensor");
    if (!*slot) luaL_argerror(L, arg, "tensor has been freed");
    return *slot;
}

#define LMF_BOX_MT "moonforge.Box"

static int box_gc(lua_State *L)
{
    void **p = luaL_checkudata(L, 1, LMF_BOX_MT);
    mf_free(*p);
    *p = NULL;
    return 0;
}

void **lmf_newbox(lua_State *L)
{
    void **p = lua_newuserdatauv(L, sizeof *p, 0);
    *p = NULL;
    if (luaL_newmetatable(L, LMF_BOX_MT)) {
        lua_pushcfunction(L, box_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, box_gc);
        lua_setfield(L, -2, "__close");
    }
    lua_setmetatable(L, -2);
    return p;
}

void lmf_pushelem(lua_State *L, const mf_tensor *t, int64_t o)
{
    switch (t->dtype) {
    case MF_INT64: lua_pushinteger(L, (lua_Integer)((const int64_t *)t->base)[o]); break;
    case MF_BOOL: lua_pushboolean(L, ((const uint8_t *)t->base)[o] != 0); break;
    default: lua_pushnumber(L, mf_load(t->dtype, t->base, o)); break;
    }
}

void lmf_checkscalar(lua_State *L, int arg, mf_dtype dt, double *f, int64_t *i)
{
    if (lua_type(L, arg) == LUA_TBOOLEAN) {
        *i = lua_toboolean(L, arg);
        *f = (double)*i;
        return;
    }
    if (lua_type(L, arg) != LUA_TNUMBER) luaL_typeerror(L, arg, "number");
    if (dt == MF_INT64) {
        int isint;
        lua_Integer v = lua_tointegerx(L, arg, &isint);
        if (!isint)
            luaL_argerror(L, arg, lua_pushfstring(L, "%f is not an integer (int64 tensor)",
                                                  (LUAI_UACNUMBER)lua_tonumber(L, arg)));
        *i = (int64_t)v;
        *f = (double)v;
    } else {
        *f = (double)lua_tonumber(L, arg);
        *i = 0;
    }
}

/* ------------------------------------------------------------------ arguments */
int64_t lmf_checkint(lua_State *L, int arg)
{
    int isint;
    lua_Integer v = lua_tointegerx(L, arg, &isint);
    if (!isint) {
        if (lua_type(L, arg) == LUA_TNUMBER)
            luaL_argerror(L, arg, lua_pushfstring(L, "integer expected, got %f",
                                                  (LUAI_UACNUMBER)lua_tonumber(L, arg)));
        luaL_typeerror(L, arg, "integer");
    }
    return (int64_t)v;
}

int lmf_checkdim(lua_State *L, int arg, int ndim, int extra)
{
    int64_t d = lmf_checkint(L, arg);
    int64_t n = ndim + (extra ? 1 : 0);
    if (d == 0 || d > n || d < -n) {
        if (n == 0)
            luaL_argerror(L, arg, lua_pushfstring(L, "dim %d given for a 0-D tensor", (int)d));
        luaL_argerror(L, arg, lua_pushfstring(L, "dim %d out of range (expected 1..%d or -%d..-1)",
                                              (int)d, (int)n, (int)n));
    }
    return (int)(d > 0 ? d - 1 : d + n);
}

int64_t lmf_checkindex(lua_State *L, int arg, int64_t size)
{
    int64_t i = lmf_checkint(L, arg);
    if (i == 0 || i > size || i < -size)
        luaL_argerror(L, arg, lua_pushfstring(L, "index %I out of range for size %I (expected 1..%I)",
                                              (lua_Integer)i, (lua_Integer)size, (lua_Integer)size));
    return i > 0 ? i - 1 : i + size;
}

mf_tensor **lmf_checkindices(lua_State *L, int arg, int64_t size)
{
    mf_tensor *src = lmf_totensor(L, arg);
    mf_tensor **idx = lmf_newtensor(L);
    if (src) {
        if (src->dtype != MF_INT64)
            luaL_argerror(L, arg, lua_pushfstring(L, "indices must be an int64 tensor, got %s",
                                                  mf_dtype_name(src->dtype)));
        lmf_check(L, mf_tensor_clone(idx, src));
    } else if (lua_type(L, arg) == LUA_TTABLE) {
        int64_t n = (int64_t)luaL_len(L, arg);
        lmf_check(L, mf_tensor_new(idx, MF_INT64, 1, &n));
        int64_t *ix = (*idx)->base;
        for (int64_t i = 0; i < n; i++) {
            int isint;
            lua_geti(L, arg, (lua_Integer)i + 1);
            ix[i] = (int64_t)lua_tointegerx(L, -1, &isint);
            if (!isint)
                luaL_argerror(L, arg, lua_pushfstring(L, "entry %I is %s, expected an integer",
                                                      (lua_Integer)i + 1, luaL_typename(L, -1)));
            lua_pop(L, 1);
        }
    } else {
        luaL_typeerror(L, arg, "int64 tensor or table of integers");
    }
    lmf_account(L);
    lmf_check(L, mf_index_from_1based_(*idx, size, arg));
    return idx;
}

mf_tensor *lmf_checkids0(lua_State *L, int arg)
{
    mf_tensor *t = lmf_checktensor(L, arg);
    if (t->ndim != 1 || t->dtype != MF_INT64) luaL_argerror(L, arg, "expected a 1-D int64 tensor");
    int64_t n = t->shape[0];
    mf_tensor **slot = lmf_newtensor(L);
    lmf_check(L, mf_tensor_new(slot, MF_INT64, 1, &n));
    const int64_t *src = mf_tensor_data(t);
    int64_t *dst = mf_tensor_data(*slot), s = t->stride[0];
    for (int64_t i = 0; i < n; i++) dst[i] = src[i * s] - 1;
    lmf_account(L);
    return *slot;
}

static mf_dtype dtype_named(lua_State *L, int arg, const char *name)
{
    mf_dtype dt = mf_dtype_from_name(name);
    if (dt == MF_DTYPE_COUNT)
        luaL_argerror(L, arg, lua_pushfstring(L, "unknown dtype '%s' (expected float32, float64 or int64)",
                                              name));
    return dt;
}

mf_dtype lmf_checkdtype(lua_State *L, int arg)
{
    return dtype_named(L, arg, luaL_checkstring(L, arg));
}

static const char *const dtype_opts[] = {"dtype", "requires_grad", NULL};

int lmf_finish_new(lua_State *L, int arg)
{
    if (lua_type(L, arg) == LUA_TTABLE && lmf_optboolean(L, arg, "requires_grad", 0))
        lmf_check_map(L, mf_tensor_requires_grad_(lmf_checktensor(L, -1), 1), (int[]){arg}, 1);
    return 1;
}

mf_dtype lmf_optdtype(lua_State *L, int arg, mf_dtype def)
{
    switch (lua_type(L, arg)) {
    case LUA_TNONE:
    case LUA_TNIL: return def;
    case LUA_TSTRING: return lmf_checkdtype(L, arg);
    case LUA_TTABLE: break;
    default: luaL_typeerror(L, arg, "dtype name or option table");
    }
    lmf_checkopts(L, arg, dtype_opts);
    lmf_optboolean(L, arg, "requires_grad", 0); /* type-checked here, applied by lmf_finish_new */
    mf_dtype dt = def;
    int ty = lmf_getopt(L, arg, "dtype");
    if (ty == LUA_TSTRING) dt = dtype_named(L, arg, lua_tostring(L, -1));
    else if (ty != LUA_TNIL)
        luaL_argerror(L, arg, lua_pushfstring(L, "option 'dtype' must be a string, got %s",
                                              luaL_typename(L, -1)));
    lua_pop(L, 1);
    return dt;
}

static int64_t check_size(lua_State *L, int arg, int64_t v, int allow_infer)
{
    if (v < 0 && !(allow_infer && v == -1))
        luaL_argerror(L, arg, lua_pushfstring(L, "size must be >= 0, got %I", (lua_Integer)v));
    return v;
}

int lmf_checkshape(lua_State *L, int arg, int64_t *shape, int *next, int allow_infer)
{
    int n = 0;
    if (lua_type(L, arg) == LUA_TTABLE) {
        lua_Integer len = luaL_len(L, arg);
        if (len > MF_MAX_DIMS)
            luaL_argerror(L, arg, lua_pushfstring(L, "%d dims (at most %d)", (int)len, MF_MAX_DIMS));
        for (lua_Integer i = 1; i <= len; i++) {
            int isint;
            lua_geti(L, arg, i);
            lua_Integer v = lua_tointegerx(L, -1, &isint);
            if (!isint)
                luaL_argerror(L, arg, lua_pushfstring(L, "size %d is %s, expected an integer",
                                                      (int)i, luaL_typename(L, -1)));
            lua_pop(L, 1);
            shape[n++] = check_size(L, arg, v, allow_infer);
        }
        *next = arg + 1;
        return n;
    }
    while (lua_type(L, arg + n) == LUA_TNUMBER) {
        if (n == MF_MAX_DIMS)
            luaL_argerror(L, arg + n, lua_pushfstring(L, "more than %d dims", MF_MAX_DIMS));
        shape[n] = check_size(L, arg + n, lmf_checkint(L, arg + n), allow_infer);
        n++;
    }
    *next = arg + n;
    return n;
}

void lmf_checkopts(lua_State *L, int arg, const char *const *keys)
{
    if (lua_isnoneornil(L, arg)) return;
    luaL_checktype(L, arg, LUA_TTABLE);
    lua_pushnil(L);
    while (lua_next(L, arg)) {
        lua_pop(L, 1);
        int known = 0;
        if (lua_type(L, -1) == LUA_TSTRING) {
            const char *k = lua_tostring(L, -1);
            for (const char *const *p = keys; *p && !known; p++) known = strcmp(*p, k) == 0;
        }
        if (!known) {
            luaL_Buffer b;
            luaL_buffinit(L, &b);
            for (const char *const *p = keys; *p; p++) {
                if (p != keys) luaL_addstring(&b, ", ");
                luaL_addstring(&b, *p);
            }
            luaL_pushresult(&b);
            const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2)
                                                             : luaL_typename(L, -2);
            luaL_argerror(L, arg, lua_pushfstring(L, "unknown option '%s' (expected one of: %s)",
                                                  k, lua_tostring(L, -1)));
        }
    }
}

int lmf_getopt(lua_State *L, int arg, const char *key)
{
    if (lua_type(L, arg) != LUA_TTABLE) {
        lua_pushnil(L);
        return LUA_TNIL;
    }
    return lua_getfield(L, arg, key);
}

/* Option `key` of the table at `arg` as an integer (def when absent). */
int64_t lmf_optinteger(lua_State *L, int arg, const char *key, int64_t def)
{
    int ty = lmf_getopt(L, arg, key);
    int64_t v = def;
    if (ty != LUA_TNIL) {
        int isint;
        lua_Integer i = lua_tointegerx(L, -1, &isint);
        if (!isint)
            luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' must be an integer, got %s", key,
                                                  ty == LUA_TNUMBER ? "a fraction" : luaL_typename(L, -1)));
        v = (int64_t)i;
    }
    lua_pop(L, 1);
    return v;
}

double lmf_optnumber(lua_State *L, int arg, const char *key, double def)
{
    int ty = lmf_getopt(L, arg, key);
    double v = def;
    if (ty == LUA_TNUMBER) v = (double)lua_tonumber(L, -1);
    else if (ty != LUA_TNIL)
        luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' must be a number, got %s", key,
                                              luaL_typename(L, -1)));
    lua_pop(L, 1);
    return v;
}

int lmf_optboolean(lua_State *L, int arg, const char *key, int def)
{
    int ty = lmf_getopt(L, arg, key);
    int v = def;
    if (ty == LUA_TBOOLEAN) v = lua_toboolean(L, -1);
    else if (ty != LUA_TNIL)
        luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' must be a boolean, got %s", key,
                                              luaL_typename(L, -1)));
    lua_pop(L, 1);
    return v;
}

void lmf_indices_to_1based(lua_State *L, int idx, const mf_tensor *values)
{
    idx = lua_absindex(L, idx);
    mf_tensor *ix = lmf_checktensor(L, idx);
    if (values && values->grad_fn) { /* autograd saved these 0-based indices */
        mf_tensor **c = lmf_newtensor(L);
        lmf_check(L, mf_tensor_clone(c, ix));
        lua_replace(L, idx);
        ix = *c;
    }
    lmf_check(L, mf_index_to_1based_(ix));
}
