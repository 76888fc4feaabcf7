/*
 * lmf_classify.c — the kernels of core/mf_classify.h as core._cls_*
 * (private: the classifiers of lua/moonforge/models_classify.lua call them
 * with contiguous float64 X, 0-based int64 class codes and checked options).
 * Result slots are tensor userdata made before core is called.
 */
#include "lmf.h"

static void opts_from(lua_State *L, int arg, mf_classify_opts *o)
{
    luaL_checktype(L, arg, LUA_TTABLE);
    o->C = lmf_optnumber(L, arg, "C", 1.0);
    o->penalize = lmf_optboolean(L, arg, "penalize", 1);
    o->fit_intercept = lmf_optboolean(L, arg, "fit_intercept", 1);
    o->max_iter = lmf_optinteger(L, arg, "max_iter", 100);
    o->tol = lmf_optnumber(L, arg, "tol", 1e-4);
}

static void push_info(lua_State *L, const mf_classify_info *info)
{
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, (lua_Integer)info->n_iter);
    lua_setfield(L, -2, "n_iter");
    lua_pushboolean(L, info->converged);
    lua_setfield(L, -2, "converged");
    lua_pushnumber(L, info->grad_max);
    lua_setfield(L, -2, "grad_max");
    lua_pushinteger(L, (lua_Integer)info->n_eval);
    lua_setfield(L, -2, "n_eval");
}

/* _cls_logreg_fit(X, codes, K, sw|nil, opts) → coef, intercept, info */
static int l_logreg_fit(lua_State *L)
{
    mf_tensor *X = lmf_checktensor(L, 1), *y = lmf_checktensor(L, 2);
    int64_t K = lmf_checkint(L, 3);
    mf_tensor *sw = lua_isnoneornil(L, 4) ? NULL : lmf_checktensor(L, 4);
    mf_classify_opts o;
    opts_from(L, 5, &o);
    lua_settop(L, 5);
    mf_tensor **s1 = lmf_newtensor(L), **s2 = lmf_newtensor(L);
    mf_tensor *a, *b;
    mf_classify_info info;
    lmf_check(L, mf_classify_logreg_fit(X, y, K, sw, &o, &a, &b, &info));
    *s1 = a;
    *s2 = b;
    lmf_account(L);
    push_info(L, &info);
    return 3;
}

/* _cls_svc_fit(X, codes, K, sw|nil, opts, squared, dual) → coef, intercept, info, alpha|nil */
static int l_svc_fit(lua_State *L)
{
    mf_tensor *X = lmf_checktensor(L, 1), *y = lmf_checktensor(L, 2);
    int64_t K = lmf_checkint(L, 3);
    mf_tensor *sw = lua_isnoneornil(L, 4) ? NULL : lmf_checktensor(L, 4);
    mf_classify_opts o;
    opts_from(L, 5, &o);
    mf_classify_svc_loss loss = lua_toboolean(L, 6) ? MF_CLS_SVC_SQUARED_HINGE : MF_CLS_SVC_HINGE;
    int dual = lua_toboolean(L, 7);
    lua_settop(L, 7);
    mf_tensor **s1 = lmf_newtensor(L), **s2 = lmf_newtensor(L), **s3 = lmf_newtensor(L);
    mf_tensor *a, *b, *c;
    mf_classify_info info;
    lmf_check(L, mf_classify_svc_fit(X, y, K, sw, &o, loss, dual, &a, &b, &c, &info));
    *s1 = a;
    *s2 = b;
    *s3 = c;
    lmf_account(L);
    push_info(L, &info); /* 11 */
    lua_pushvalue(L, 8);
    lua_pushvalue(L, 9);
    lua_pushvalue(L, 11);
    if (c) lua_pushvalue(L, 10);
    else lua_pushnil(L);
    return 4;
}

/* _cls_sgd_fit(X, codes, K, sw|nil, opts) → coef, intercept, info; opts:
 * loss (0 hinge, 1 log, 2 modified huber), alpha, penalize, l1_ratio,
 * learning_rate (0 optimal, 1 constant, 2 invscaling, 3 adaptive), eta0,
 * power_t, fit_intercept, max_iter, tol, n_iter_no_change, shuffle, seed,
 * validation (a bool tensor [n] or nil) */
static int l_sgd_fit(lua_State *L)
{
    mf_tensor *X = lmf_checktensor(L, 1), *y = lmf_checktensor(L, 2);
    int64_t K = lmf_checkint(L, 3);
    mf_tensor *sw = lua_isnoneornil(L, 4) ? NULL : lmf_checktensor(L, 4);
    luaL_checktype(L, 5, LUA_TTABLE);
    mf_classify_sgd_opts o;
    o.loss = (mf_classify_sgd_loss)lmf_optinteger(L, 5, "loss", 0);
    o.alpha = lmf_optnumber(L, 5, "alpha", 1e-4);
    o.penalize = lmf_optboolean(L, 5, "penalize", 1);
    o.l1_ratio = lmf_optnumber(L, 5, "l1_ratio", 0);
    o.learning_rate = (mf_classify_sgd_rate)lmf_optinteger(L, 5, "learning_rate", 0);
    o.eta0 = lmf_optnumber(L, 5, "eta0", 0);
    o.power_t = lmf_optnumber(L, 5, "power_t", 0.5);
    o.fit_intercept = lmf_optboolean(L, 5, "fit_intercept", 1);
    o.max_iter = lmf_optinteger(L, 5, "max_iter", 1000);
    o.tol = lmf_optnumber(L, 5, "tol", 1e-3);
    o.n_iter_no_change = lmf_optinteger(L, 5, "n_iter_no_change", 5);
    o.shuffle = lmf_optboolean(L, 5, "shuffle", 1);
    o.seed = (uint64_t)lmf_optinteger(L, 5, "seed", 0);
    if (o.loss < MF_CLS_SGD_HINGE || o.loss > MF_CLS_SGD_MODIFIED_HUBER) luaL_argerror(L, 5, "bad loss");
    lua_settop(L, 5);
    lua_getfield(L, 5, "validation"); /* slot 6: stays on the stack during the fit */
    o.validation = lua_isnil(L, 6) ? NULL : lmf_checktensor(L, 6);
    mf_tensor **s1 = lmf_newtensor(L), **s2 = lmf_newtensor(L);
    mf_tensor *a, *b;
    mf_classify_info info;
    lmf_check(L, mf_classify_sgd_fit(X, y, K, sw, &o, &a, &b, &info));
    *s1 = a;
    *s2 = b;
    lmf_account(L);
    push_info(L, &info);
    return 3;
}

/* _cls_predict(X, coef, intercept, what) with what "decision"|"proba"|"index" */
static int l_predict(lua_State *L)
{
    static const char *const whats[] = {"decision", "proba", "index", "proba_ovr", NULL};
    mf_tensor *X = lmf_checktensor(L, 1), *coef = lmf_checktensor(L, 2),
              *icpt = lmf_checktensor(L, 3);
    mf_classify_out what = (mf_classify_out)luaL_checkoption(L, 4, NULL, whats);
    NEW_TENSOR(L, mf_classify_predict(X, coef, icpt, what, out));
    return 1;
}

/* _cls_encode(y) → classes (float64), codes (int64, 0-based) */
static int l_encode(lua_State *L)
{
    mf_tensor *y = lmf_checktensor(L, 1);
    mf_tensor **s1 = lmf_newtensor(L), **s2 = lmf_newtensor(L);
    mf_tensor *a, *b;
    lmf_check(L, mf_classify_encode(y, &a, &b));
    *s1 = a;
    *s2 = b;
    lmf_account(L);
    return 2;
}

/* _cls_find_nonfinite(X) → row, col (1-based) or nothing */
static int l_find_nonfinite(lua_State *L)
{
    mf_tensor *X = lmf_checktensor(L, 1);
    int64_t r, c;
    lmf_check(L, mf_classify_find_nonfinite(X, &r, &c));
    if (r < 0) return 0;
    lua_pushinteger(L, (lua_Integer)(r + 1));
    lua_pushinteger(L, (lua_Integer)(c + 1));
    return 2;
}

void lmf_open_classify(lua_State *L, int mod, int methods)
{
    static const luaL_Reg funcs[] = {
        {"_cls_logreg_fit", l_logreg_fit},   {"_cls_svc_fit", l_svc_fit},
        {"_cls_sgd_fit", l_sgd_fit},
        {"_cls_predict", l_predict},         {"_cls_encode", l_encode},
        {"_cls_find_nonfinite", l_find_nonfinite}, {NULL, NULL}};
    (void)methods;
    lmf_register(L, mod, 0, funcs);
}
