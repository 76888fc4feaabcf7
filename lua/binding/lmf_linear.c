/*
 * lmf_linear.c — the kernels of core/mf_linear.h as core._linear_* (private:
 * the models of lua/moonforge/models_linear.lua call them, after checking
 * and converting their arguments). Positions returned to Lua are 1-based.
 */
#include <string.h>

#include "lmf.h"

static const char *const SOLVERS[] = {"auto", "cholesky", "qr", "svd", NULL};

static int l_nonfinite(lua_State *L)
{
    mf_tensor *X = lmf_checktensor(L, 1);
    int64_t r, c;
    lmf_check(L, mf_linear_find_nonfinite(X, &r, &c));
    if (r < 0) return 0;
    lua_pushinteger(L, (lua_Integer)(r + 1));
    lua_pushinteger(L, (lua_Integer)(c + 1));
    return 2;
}

/* _linear_lstsq(X, Y, fit_intercept, solver, alpha) → coef, intercept, solver, rank, rcond */
static int l_lstsq(lua_State *L)
{
    mf_tensor *X = lmf_checktensor(L, 1), *Y = lmf_checktensor(L, 2);
    int fi = lua_toboolean(L, 3);
    int solver = luaL_checkoption(L, 4, "auto", SOLVERS);
    double alpha = luaL_optnumber(L, 5, 0);
    mf_tensor **s1 = lmf_newtensor(L), **s2 = lmf_newtensor(L);
    mf_linear_info info;
    lmf_check(L, mf_linear_lstsq(X, Y, fi, (mf_linear_solver)solver, alpha, s1, s2, &info));
    lmf_account(L);
    lua_pushstring(L, SOLVERS[info.solver]);
    lua_pushinteger(L, (lua_Integer)info.rank);
    lua_pushnumber(L, info.rcond);
    return 5;
}

/* _linear_enet(X, y, fit_intercept, alpha, l1_ratio, max_iter, tol)
 * → coef, intercept, n_iter, converged, gap */
static int l_enet(lua_State *L)
{
    mf_tensor *X = lmf_checktensor(L, 1), *y = lmf_checktensor(L, 2);
    int fi = lua_toboolean(L, 3);
    double alpha = luaL_checknumber(L, 4), l1 = luaL_checknumber(L, 5);
    int64_t max_iter = lmf_checkint(L, 6);
    double tol = luaL_checknumber(L, 7);
    mf_tensor **s1 = lmf_newtensor(L), **s2 = lmf_newtensor(L);
    int64_t n_iter;
    int conv;
    double gap;
    lmf_check(L, mf_linear_enet(X, y, fi, alpha, l1, max_iter, tol, s1, s2, &n_iter, &conv, &gap));
    lmf_account(L);
    lua_pushinteger(L, (lua_Integer)n_iter);
    lua_pushboolean(L, conv);
    lua_pushnumber(L, gap);
    return 5;
}

static const char *const LOSSES[] = {"squared_error", "huber", NULL};
static const char *const PENALTIES[] = {"none", "l2", "l1", "elasticnet", NULL};
static const char *const SCHEDULES[] = {"invscaling", "constant", "optimal", "adaptive", NULL};

static int opt_choice(lua_State *L, int arg, const char *key, const char *const *list)
{
    lua_getfield(L, arg, key);
    int v = luaL_checkoption(L, -1, NULL, list);
    lua_pop(L, 1);
    return v;
}

/* _linear_sgd(X, y, {loss=, penalty=, learning_rate=, alpha=, l1_ratio=, epsilon=, eta0=,
 * power_t=, tol=, max_iter=, n_iter_no_change=, fit_intercept=, shuffle=, seed=})
 * → coef, intercept, n_iter, t (all options required; tol = false: none) */
static int l_sgd(lua_State *L)
{
    mf_tensor *X = lmf_checktensor(L, 1), *y = lmf_checktensor(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    mf_linear_sgd_options o;
    memset(&o, 0, sizeof o);
    o.loss = (mf_linear_sgd_loss)opt_choice(L, 3, "loss", LOSSES);
    o.penalty = (mf_linear_sgd_penalty)opt_choice(L, 3, "penalty", PENALTIES);
    o.schedule = (mf_linear_sgd_schedule)opt_choice(L, 3, "learning_rate", SCHEDULES);
    o.alpha = lmf_optnumber(L, 3, "alpha", 1e-4);
    o.l1_ratio = lmf_optnumber(L, 3, "l1_ratio", 0.15);
    o.epsilon = lmf_optnumber(L, 3, "epsilon", 0.1);
    o.eta0 = lmf_optnumber(L, 3, "eta0", 0.01);
    o.power_t = lmf_optnumber(L, 3, "power_t", 0.25);
    o.tol = lmf_optnumber(L, 3, "tol", -1);
    o.max_iter = lmf_optinteger(L, 3, "max_iter", 1000);
    o.n_iter_no_change = lmf_optinteger(L, 3, "n_iter_no_change", 5);
    o.fit_intercept = lmf_optboolean(L, 3, "fit_intercept", 1);
    o.shuffle = lmf_optboolean(L, 3, "shuffle", 1);
    o.seed = (uint64_t)lmf_optinteger(L, 3, "seed", 0);
    mf_tensor **s1 = lmf_newtensor(L), **s2 = lmf_newtensor(L);
    int64_t n_iter, t;
    lmf_check(L, mf_linear_sgd(X, y, &o, s1, s2, &n_iter, &t));
    lmf_account(L);
    lua_pushinteger(L, (lua_Integer)n_iter);
    lua_pushinteger(L, (lua_Integer)t);
    return 4;
}

static int l_predict(lua_State *L)
{
    mf_tensor *X = lmf_checktensor(L, 1), *c = lmf_checktensor(L, 2), *b = lmf_checktensor(L, 3);
    NEW_TENSOR(L, mf_linear_predict(X, c, b, out));
    return 1;
}

void lmf_open_linear(lua_State *L, int mod, int methods)
{
    static const luaL_Reg funcs[] = {
        {"_linear_nonfinite", l_nonfinite},
        {"_linear_lstsq", l_lstsq},
        {"_linear_enet", l_enet},
        {"_linear_sgd", l_sgd},
        {"_linear_predict", l_predict},
        {NULL, NULL},
    };
    (void)methods;
    lmf_register(L, mod, 0, funcs);
}
