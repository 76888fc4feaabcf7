/*
 * lmf_svm.c — core/mf_svm.h as core._svm_* (private: mf.models.SVC in
 * lua/moonforge/models_svm.lua calls them with contiguous float64 X,
 * 0-based int64 class codes and checked options).
 */
#include "lmf.h"

static const char *const kernels[] = {"linear", "poly", "rbf", "sigmoid", NULL};

/* The kernel fields (kernel, gamma, coef0, degree) of the table at arg. */
static void kernel_from(lua_State *L, int arg, mf_svm_kernel_params *kp)
{
    luaL_checktype(L, arg, LUA_TTABLE);
    lua_getfield(L, arg, "kernel");
    kp->kernel = (mf_svm_kernel)luaL_checkoption(L, -1, "rbf", kernels);
    lua_pop(L, 1);
    kp->gamma = lmf_optnumber(L, arg, "gamma", 1.0);
    kp->coef0 = lmf_optnumber(L, arg, "coef0", 0.0);
    kp->degree = lmf_optinteger(L, arg, "degree", 3);
}

/* _svm_fit(X, codes, K, weight|nil, opts) → {support, n_support, dual_coef,
 * intercept, n_iter, prob_a, prob_b, converged}; opts: kernel, gamma, coef0,
 * degree, C, tol, max_iter, cache_mb, probability, seed */
static int l_fit(lua_State *L)
{
    static const char *const fields[] = {"support", "n_support", "dual_coef", "intercept",
                                         "n_iter", "prob_a", "prob_b"};
    mf_tensor *X = lmf_checktensor(L, 1), *y = lmf_checktensor(L, 2);
    int64_t K = lmf_checkint(L, 3);
    mf_tensor *w = lua_isnoneornil(L, 4) ? NULL : lmf_checktensor(L, 4);
    mf_svm_opts o;
    kernel_from(L, 5, &o.kp);
    o.C = lmf_optnumber(L, 5, "C", 1.0);
    o.tol = lmf_optnumber(L, 5, "tol", 1e-3);
    o.max_iter = lmf_optinteger(L, 5, "max_iter", -1);
    o.cache_mb = lmf_optnumber(L, 5, "cache_mb", 200.0);
    o.probability = lmf_optboolean(L, 5, "probability", 0);
    o.seed = (uint64_t)lmf_optinteger(L, 5, "seed", 0);
    lua_settop(L, 5);
    mf_tensor **slot[7];
    for (int k = 0; k < 7; k++) slot[k] = lmf_newtensor(L); /* 6 .. 12 */
    mf_svm_fit_out r;
    lmf_check(L, mf_svm_fit(X, y, K, w, &o, &r));
    mf_tensor *ts[7] = {r.support, r.n_support, r.dual_coef, r.intercept, r.n_iter, r.prob_a, r.prob_b};
    for (int k = 0; k < 7; k++) *slot[k] = ts[k];
    lmf_account(L);
    lua_createtable(L, 0, 8);
    for (int k = 0; k < 7; k++) {
        if (!ts[k]) continue;
        lua_pushvalue(L, 6 + k);
        lua_setfield(L, -2, fields[k]);
    }
    lua_pushboolean(L, r.converged);
    lua_setfield(L, -2, "converged");
    return 1;
}

static const mf_tensor *opt_tensor(lua_State *L, int arg, const char *key)
{
    lua_getfield(L, arg, key);
    const mf_tensor *t = lua_isnil(L, -1) ? NULL : lmf_checktensor(L, -1);
    lua_pop(L, 1); /* the model table keeps it alive */
    return t;
}

/* _svm_predict(X, model, what): model {kernel, gamma, coef0, degree, K, sv,
 * n_support, dual_coef, intercept, prob_a?, prob_b?}; what "ovo"|"ovr"|"vote"|"proba" */
static int l_predict(lua_State *L)
{
    static const char *const whats[] = {"ovo", "ovr", "vote", "proba", NULL};
    mf_tensor *X = lmf_checktensor(L, 1);
    mf_svm_model m;
    kernel_from(L, 2, &m.kp);
    m.K = lmf_optinteger(L, 2, "K", 0);
    m.sv = opt_tensor(L, 2, "sv");
    m.n_support = opt_tensor(L, 2, "n_support");
    m.dual_coef = opt_tensor(L, 2, "dual_coef");
    m.intercept = opt_tensor(L, 2, "intercept");
    m.prob_a = opt_tensor(L, 2, "prob_a");
    m.prob_b = opt_tensor(L, 2, "prob_b");
    mf_svm_out what = (mf_svm_out)luaL_checkoption(L, 3, NULL, whats);
    NEW_TENSOR(L, mf_svm_predict(X, &m, what, out));
    return 1;
}

/* _svm_gamma_scale(X) → 1 / (d var(X)) */
static int l_gamma_scale(lua_State *L)
{
    double g;
    lmf_check(L, mf_svm_gamma_scale(lmf_checktensor(L, 1), &g));
    lua_pushnumber(L, g);
    return 1;
}

void lmf_open_svm(lua_State *L, int mod, int methods)
{
    static const luaL_Reg funcs[] = {{"_svm_fit", l_fit},
                                     {"_svm_predict", l_predict},
                                     {"_svm_gamma_scale", l_gamma_scale},
                                     {NULL, NULL}};
    (void)methods;
    lmf_register(L, mod, 0, funcs);
}
