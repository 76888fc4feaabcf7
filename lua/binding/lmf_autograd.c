/*
 * lmf_autograd.c — autograd from Lua: t:backward(), t.grad, t.requires_grad,
 * t:requires_grad_(), t:detach(), t:zero_grad(), mf.no_grad(fn, ...).
 */
#include <string.h>

#include "lmf.h"

int lmf_autograd_get(lua_State *L, mf_tensor *t, const char *key)
{
    if (!strcmp(key, "grad")) {
        if (!t->grad) {
            lua_pushnil(L);
            return 1;
        }
        mf_tensor **slot = lmf_newtensor(L);
        mf_tensor_retain(t->grad); /* the same tensor: p.grad:zero_() works */
        *slot = t->grad;
    } else if (!strcmp(key, "requires_grad")) {
        lua_pushboolean(L, t->requires_grad);
    } else if (!strcmp(key, "is_leaf")) {
        lua_pushboolean(L, t->grad_fn == NULL);
    } else if (!strcmp(key, "grad_fn")) {
        const char *name = mf_tensor_grad_fn_name(t);
        if (name) lua_pushstring(L, name);
        else lua_pushnil(L);
    } else {
        lua_pushnil(L);
    }
    return 1;
}

int lmf_autograd_set(lua_State *L, mf_tensor *t, const char *key)
{
    if (!strcmp(key, "grad")) {
        static const int map[] = {1, 3};
        mf_tensor *g = lua_isnil(L, 3) ? NULL : lmf_checktensor(L, 3);
        lmf_check_map(L, mf_tensor_set_grad(t, g), map, 2);
        return 1;
    }
    if (!strcmp(key, "requires_grad")) {
        luaL_checktype(L, 3, LUA_TBOOLEAN);
        lmf_check(L, mf_tensor_requires_grad_(t, lua_toboolean(L, 3)));
        return 1;
    }
    return 0;
}

/* t:requires_grad_([on = true]) → t */
static int l_requires_grad_(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    int on = lua_isnone(L, 2) ? 1 : lua_toboolean(L, 2);
    lmf_check(L, mf_tensor_requires_grad_(t, on));
    lua_settop(L, 1);
    return 1;
}

/* t:backward([grad]) */
static int l_backward(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    mf_tensor *g = lua_isnoneornil(L, 2) ? NULL : lmf_checktensor(L, 2);
    lmf_check(L, mf_tensor_backward(t, g));
    lmf_account(L);
    return 0;
}

static int l_detach(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    NEW_TENSOR(L, mf_tensor_detach(out, t));
    return 1;
}

/* t:zero_grad(): drops the gradient (as PyTorch's set_to_none) */
static int l_zero_grad(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    lmf_check(L, mf_tensor_set_grad(t, NULL));
    lua_settop(L, 1);
    return 1;
}

/* Runs fn(...) with grad mode `on`, restoring the mode afterwards (also on
 * error); returns fn's results. */
static int with_grad_mode(lua_State *L, int on)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    int was = mf_set_grad_enabled(on);
    int st = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    mf_set_grad_enabled(was);
    if (st != LUA_OK) return lua_error(L);
    return lua_gettop(L);
}

static int l_no_grad(lua_State *L) { return with_grad_mode(L, 0); }
static int l_enable_grad(lua_State *L) { return with_grad_mode(L, 1); }

static int l_is_grad_enabled(lua_State *L)
{
    lua_pushboolean(L, mf_grad_enabled());
    return 1;
}

/* mf.set_grad_enabled(on) → the previous mode */
static int l_set_grad_enabled(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_pushboolean(L, mf_set_grad_enabled(lua_toboolean(L, 1)));
    return 1;
}

static const luaL_Reg autograd_methods[] = {
    {"requires_grad_", l_requires_grad_},
    {"backward", l_backward},
    {"detach", l_detach},
    {"zero_grad", l_zero_grad},
    {NULL, NULL},
};

static const luaL_Reg autograd_funcs[] = {
    {"no_grad", l_no_grad},
    {"enable_grad", l_enable_grad},
    {"is_grad_enabled", l_is_grad_enabled},
    {"set_grad_enabled", l_set_grad_enabled},
    {NULL, NULL},
};

void lmf_open_autograd(lua_State *L, int mod, int methods)
{
    lmf_register(L, mod, methods, autograd_methods);
    lmf_register(L, mod, 0, autograd_funcs);
}
