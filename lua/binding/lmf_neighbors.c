/*
 * lmf_neighbors.c — the kernels of core/mf_neighbors.h as core._nbr_*
 * (private: lua/moonforge/models_neighbors.lua calls them with contiguous
 * float64 matrices, 0-based int64 codes and indices, and checked options).
 * Result slots are tensor userdata made before core is called.
 */
#include "lmf.h"

/* _nbr_kneighbors(train, query, k [, p = 2]) → dist, idx (0-based) */
static int l_kneighbors(lua_State *L)
{
    mf_tensor *T = lmf_checktensor(L, 1), *Q = lmf_checktensor(L, 2);
    int64_t k = lmf_checkint(L, 3);
    double p = luaL_optnumber(L, 4, 2.0);
    lua_settop(L, 4);
    mf_tensor **s1 = lmf_newtensor(L), **s2 = lmf_newtensor(L);
    mf_tensor *a, *b;
    lmf_check(L, mf_neighbors_kneighbors_p(T, Q, k, p, &a, &b));
    *s1 = a;
    *s2 = b;
    lmf_account(L);
    return 2;
}

static const char *const outs[] = {"proba", "log_proba", "index", NULL};

/* _nbr_vote(idx, dist, codes, K, distance, what) with what "proba"|"index" */
static int l_vote(lua_State *L)
{
    mf_tensor *idx = lmf_checktensor(L, 1), *dist = lmf_checktensor(L, 2), *codes = lmf_checktensor(L, 3);
    int64_t K = lmf_checkint(L, 4);
    int distance = lua_toboolean(L, 5);
    mf_neighbors_out what = (mf_neighbors_out)luaL_checkoption(L, 6, NULL, outs);
    NEW_TENSOR(L, mf_neighbors_vote(idx, dist, codes, K, distance, what, out));
    return 1;
}

/* _nbr_regress(idx, dist, y, distance) */
static int l_regress(lua_State *L)
{
    mf_tensor *idx = lmf_checktensor(L, 1), *dist = lmf_checktensor(L, 2), *y = lmf_checktensor(L, 3);
    int distance = lua_toboolean(L, 4);
    NEW_TENSOR(L, mf_neighbors_regress(idx, dist, y, distance, out));
    return 1;
}

/* _nbr_nb_fit(X, codes, K, var_smoothing) → theta, var, count */
static int l_nb_fit(lua_State *L)
{
    mf_tensor *X = lmf_checktensor(L, 1), *codes = lmf_checktensor(L, 2);
    int64_t K = lmf_checkint(L, 3);
    double vs = luaL_checknumber(L, 4);
    lua_settop(L, 4);
    mf_tensor **s1 = lmf_newtensor(L), **s2 = lmf_newtensor(L), **s3 = lmf_newtensor(L);
    mf_tensor *a, *b, *c;
    lmf_check(L, mf_neighbors_nb_fit(X, codes, K, vs, &a, &b, &c));
    *s1 = a;
    *s2 = b;
    *s3 = c;
    lmf_account(L);
    return 3;
}

/* _nbr_nb_predict(X, theta, var, log_prior, what) */
static int l_nb_predict(lua_State *L)
{
    mf_tensor *X = lmf_checktensor(L, 1), *th = lmf_checktensor(L, 2), *va = lmf_checktensor(L, 3),
              *lp = lmf_checktensor(L, 4);
    mf_neighbors_out what = (mf_neighbors_out)luaL_checkoption(L, 5, NULL, outs);
    NEW_TENSOR(L, mf_neighbors_nb_predict(X, th, va, lp, what, out));
    return 1;
}

void lmf_open_neighbors(lua_State *L, int mod, int methods)
{
    static const luaL_Reg funcs[] = {
        {"_nbr_kneighbors", l_kneighbors}, {"_nbr_vote", l_vote},
        {"_nbr_regress", l_regress},       {"_nbr_nb_fit", l_nb_fit},
        {"_nbr_nb_predict", l_nb_predict}, {NULL, NULL}};
    (void)methods;
    lmf_register(L, mod, 0, funcs);
}
