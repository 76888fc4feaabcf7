/*
 * lmf_random.c — mf.manual_seed and the random constructors, over the one
 * global generator of core (algorithms documented in core/mf_random.h).
 */
#include "lmf.h"

/* mf.manual_seed(n): any integer; the same seed gives the same numbers everywhere */
static int l_manual_seed(lua_State *L)
{
    lua_Integer s = luaL_checkinteger(L, 1);
    mf_rng_seed(mf_rng_global(), (uint64_t)s);
    return 0;
}

static int l_initial_seed(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)mf_rng_global()->seed);
    return 1;
}

/* rand / randn (shape... | {shape} [, dtype | opts]) */
static int rand_fill(lua_State *L, int normal)
{
    int64_t shape[MF_MAX_DIMS];
    int next;
    int nd = lmf_checkshape(L, 1, shape, &next, 0);
    mf_dtype dt = lmf_optdtype(L, next, MF_DTYPE_DEFAULT);
    if (!mf_dtype_is_float(dt))
        luaL_argerror(L, next, lua_pushfstring(L, "%s needs a float dtype, got %s",
                                               normal ? "randn" : "rand", mf_dtype_name(dt)));
    mf_tensor **slot = lmf_newtensor(L);
    lmf_check(L, mf_tensor_new(slot, dt, nd, shape));
    lmf_account(L);
    if (normal) lmf_check(L, mf_tensor_normal_(*slot, mf_rng_global(), 0.0, 1.0));
    else lmf_check(L, mf_tensor_uniform_(*slot, mf_rng_global(), 0.0, 1.0));
    return lmf_finish_new(L, next);
}

static int l_rand(lua_State *L) { return rand_fill(L, 0); }
static int l_randn(lua_State *L) { return rand_fill(L, 1); }

/* mf.randint([low,] high, {shape} [, dtype | opts]): integers in [low, high)
 * (high excluded, as in PyTorch); int64 by default. */
static int l_randint(lua_State *L)
{
    lua_Integer lo = 0, hi;
    int shape_arg;
    if (lua_type(L, 2) == LUA_TNUMBER) {
        lo = luaL_checkinteger(L, 1);
        hi = luaL_checkinteger(L, 2);
        shape_arg = 3;
    } else {
        hi = luaL_checkinteger(L, 1);
        shape_arg = 2;
    }
    if (lo >= hi)
        luaL_argerror(L, shape_arg - 1, lua_pushfstring(L, "empty range [%I, %I)", lo, hi));
    luaL_checktype(L, shape_arg, LUA_TTABLE);
    int64_t shape[MF_MAX_DIMS];
    int next;
    int nd = lmf_checkshape(L, shape_arg, shape, &next, 0);
    mf_dtype dt = lmf_optdtype(L, next, MF_INT64);
    mf_tensor **slot = lmf_newtensor(L);
    lmf_check(L, mf_tensor_new(slot, dt, nd, shape));
    lmf_account(L);
    lmf_check(L, mf_tensor_randint_(*slot, mf_rng_global(), (int64_t)lo, (int64_t)hi));
    return lmf_finish_new(L, next);
}

/* mf.randperm(n [, dtype | opts]): a random permutation of 1..n (1-based, so
 * that it indexes directly); int64 by default. */
static int l_randperm(lua_State *L)
{
    int64_t n = lmf_checkint(L, 1);
    luaL_argcheck(L, n >= 0, 1, "n must be >= 0");
    mf_dtype dt = lmf_optdtype(L, 2, MF_INT64);
    mf_tensor **slot = lmf_newtensor(L);
    lmf_check(L, mf_tensor_randperm(slot, mf_rng_global(), n, MF_INT64));
    lmf_account(L);
    int64_t *p = (*slot)->base;
    for (int64_t i = 0; i < n; i++) p[i] += 1;
    if (dt != MF_INT64) {
        mf_tensor **conv = lmf_newtensor(L);
        lmf_check(L, mf_tensor_to(conv, *slot, dt));
        lmf_account(L);
    }
    return lmf_finish_new(L, 2);
}

static const luaL_Reg random_funcs[] = {
    {"manual_seed", l_manual_seed},
    {"initial_seed", l_initial_seed},
    {"rand", l_rand},
    {"randn", l_randn},
    {"randint", l_randint},
    {"randperm", l_randperm},
    {NULL, NULL},
};

void lmf_open_random(lua_State *L, int mod) { lmf_register(L, mod, 0, random_funcs); }
