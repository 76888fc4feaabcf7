/*
 * lmf_generator.c — mf.Generator([seed]): a generator of its own (as
 * torch.Generator), same algorithm as the global one of core/mf_random.h, so
 * that seeded splits and data loaders neither read nor disturb the global
 * stream that mf.manual_seed sets.
 *
 *     local g = mf.Generator(42)
 *     g:randperm(5)          -- a permutation of 1..5 (int64, 1-based)
 *     g:random(), g:random(1, 6)  -- as Lua's math.random
 *     g:manual_seed(7)       -- reseeds; returns g
 *     g:initial_seed()       -- 7
 *
 * The state lives inside the userdata (no core allocation, nothing to free).
 */
#include "lmf.h"

#define GENERATOR_MT "moonforge.Generator"

static mf_rng *check_generator(lua_State *L, int arg)
{
    return luaL_checkudata(L, arg, GENERATOR_MT);
}

/* mf.Generator([seed]): seed defaults to MF_RNG_DEFAULT_SEED (PyTorch's) */
static int l_generator_new(lua_State *L)
{
    uint64_t seed = MF_RNG_DEFAULT_SEED;
    if (!lua_isnoneornil(L, 1)) seed = (uint64_t)luaL_checkinteger(L, 1);
    mf_rng *r = lua_newuserdatauv(L, sizeof *r, 0);
    mf_rng_seed(r, seed);
    luaL_setmetatable(L, GENERATOR_MT);
    return 1;
}

static int l_generator_manual_seed(lua_State *L)
{
    mf_rng *r = check_generator(L, 1);
    lua_Integer s = luaL_checkinteger(L, 2);
    mf_rng_seed(r, (uint64_t)s);
    lua_settop(L, 1);
    return 1;
}

static int l_generator_initial_seed(lua_State *L)
{
    mf_rng *r = check_generator(L, 1);
    lua_pushinteger(L, (lua_Integer)r->seed);
    return 1;
}

/* g:randperm(n): a random permutation of 1..n, int64 (Fisher-Yates, as mf.randperm) */
static int l_generator_randperm(lua_State *L)
{
    mf_rng *r = check_generator(L, 1);
    int64_t n = lmf_checkint(L, 2);
    luaL_argcheck(L, n >= 0, 2, "n must be >= 0");
    mf_tensor **slot = lmf_newtensor(L);
    lmf_check(L, mf_tensor_randperm(slot, r, n, MF_INT64));
    lmf_account(L);
    int64_t *p = (*slot)->base;
    for (int64_t i = 0; i < n; i++) p[i] += 1;
    return 1;
}

/* g:random() → a float in [0, 1); g:random(m) → an integer in [1, m];
 * g:random(m, n) → an integer in [m, n] (as Lua's math.random) */
static int l_generator_random(lua_State *L)
{
    mf_rng *r = check_generator(L, 1);
    int nargs = lua_gettop(L) - 1;
    if (nargs == 0) {
        lua_pushnumber(L, mf_rng_uniform(r));
        return 1;
    }
    lua_Integer lo = 1, hi;
    if (nargs == 1) {
        hi = luaL_checkinteger(L, 2);
    } else if (nargs == 2) {
        lo = luaL_checkinteger(L, 2);
        hi = luaL_checkinteger(L, 3);
    } else {
        return luaL_error(L, "wrong number of arguments to 'random'");
    }
    luaL_argcheck(L, lo <= hi, nargs == 1 ? 2 : 3, "interval is empty");
    uint64_t span = (uint64_t)hi - (uint64_t)lo; /* hi - lo, without overflow */
    uint64_t draw = span == UINT64_MAX ? mf_rng_next(r) : mf_rng_below(r, span + 1);
    lua_pushinteger(L, (lua_Integer)((uint64_t)lo + draw));
    return 1;
}

static int l_generator_tostring(lua_State *L)
{
    mf_rng *r = check_generator(L, 1);
    lua_pushfstring(L, "Generator(seed=%I)", (lua_Integer)r->seed);
    return 1;
}

static const luaL_Reg generator_methods[] = {
    {"manual_seed", l_generator_manual_seed},
    {"initial_seed", l_generator_initial_seed},
    {"randperm", l_generator_randperm},
    {"random", l_generator_random},
    {NULL, NULL},
};

static const luaL_Reg generator_funcs[] = {
    {"Generator", l_generator_new},
    {NULL, NULL},
};

void lmf_open_generator(lua_State *L, int mod, int methods)
{
    (void)methods;
    luaL_newmetatable(L, GENERATOR_MT);
    luaL_newlib(L, generator_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_generator_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    lmf_register(L, mod, 0, generator_funcs);
}
