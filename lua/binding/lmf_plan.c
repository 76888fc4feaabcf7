/*
 * lmf_plan.c — the plan userdata behind moonforge.fastpath (core/mf_plan.h).
 *
 * mf._plan_new(spec) makes a plan from
 *   spec.layers     {{weight = W, bias = b | nil, activation = "relu"}, ...}
 *   spec.loss       a loss name of mf_plan_loss_from_name
 *   spec.optimizer  an mf.optim optimizer (optional; needed by train_batch)
 *   spec.slots      {{group = g, index = i, pos = k}, ...}: where the plan's
 *                   parameter j (weight 1, bias 1, weight 2, ...) is in the
 *                   optimizer: param_groups[g].params[i], state[k]
 *   spec.batch_size rows to reserve work buffers for (optional)
 *
 * The optimizer is read at every step, as its own step() reads it: the
 * hyper-parameters of the groups (a scheduler may have changed lr), the
 * state tables (load_state_dict replaces them) and their buffers, created
 * as zeros when missing, exactly as mf._optim_step does. Step counts are
 * written back after the step, so state_dict() and the generic path see the
 * same optimizer whichever path ran. The optimizer stays reachable through
 * the plan's user value, so the buffers read at the start of a step cannot
 * be collected during it.
 *
 * A step allocates nothing, neither in core nor on the Lua heap, once the
 * state buffers exist and the work buffers have the batch's size.
 */
#include <string.h>

#include "lmf.h"

#define LMF_PLAN_MT "moonforge.Plan"
#define NP_MAX (2 * MF_PLAN_MAX_LAYERS)

typedef struct lplan {
    mf_plan *plan; /* NULL once closed */
    int has_opt;
    mf_optim_algo algo;
    int np;
    lua_Integer group[NP_MAX], index[NP_MAX], pos[NP_MAX];
    mf_optim_slot slots[NP_MAX];
    mf_optim_hparams h[NP_MAX];
} lplan;

static lplan *checkplan(lua_State *L, int arg)
{
    lplan *lp = luaL_checkudata(L, arg, LMF_PLAN_MT);
    if (!lp->plan) luaL_argerror(L, arg, "the plan is closed");
    return lp;
}

/* __gc, __close and plan:close() */
static int l_close(lua_State *L)
{
    lplan *lp = luaL_checkudata(L, 1, LMF_PLAN_MT);
    mf_plan_free(lp->plan);
    lp->plan = NULL;
    return 0;
}

/* ---------------------------------------------------------------- creation */
/* Integer field `key` of the table on top, >= 1. */
static lua_Integer field_pos(lua_State *L, const char *key, lua_Integer j)
{
    int isint;
    lua_getfield(L, -1, key);
    lua_Integer v = lua_tointegerx(L, -1, &isint);
    if (!isint || v < 1)
        luaL_argerror(L, 1, lua_pushfstring(L, "slots[%I].%s must be a positive integer", j, key));
    lua_pop(L, 1);
    return v;
}

/* mf._plan_new(spec) → plan (see the top of this file) */
static int l_plan_new(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lplan *lp = lua_newuserdatauv(L, sizeof *lp, 1);
    memset(lp, 0, sizeof *lp);
    luaL_setmetatable(L, LMF_PLAN_MT);
    int ud = lua_gettop(L);

    mf_plan_layer layers[MF_PLAN_MAX_LAYERS];
    if (lua_getfield(L, 1, "layers") != LUA_TTABLE) luaL_argerror(L, 1, "spec.layers must be a table");
    lua_Integer nl = luaL_len(L, -1);
    if (nl < 1 || nl > MF_PLAN_MAX_LAYERS)
        luaL_argerror(L, 1, lua_pushfstring(L, "expected 1 to %d layers, got %I", MF_PLAN_MAX_LAYERS, nl));
    for (lua_Integer l = 1; l <= nl; l++) {
        if (lua_geti(L, -1, l) != LUA_TTABLE)
            luaL_argerror(L, 1, lua_pushfstring(L, "layers[%I] must be a table", l));
        lua_getfield(L, -1, "weight");
        layers[l - 1].weight = lmf_totensor(L, -1);
        lua_getfield(L, -2, "bias");
        layers[l - 1].bias = lua_isnil(L, -1) ? NULL : lmf_totensor(L, -1);
        if (!layers[l - 1].weight || (!lua_isnil(L, -1) && !layers[l - 1].bias))
            luaL_argerror(L, 1, lua_pushfstring(L, "layers[%I]: weight and bias must be live tensors", l));
        lua_getfield(L, -3, "activation");
        const char *act = lua_tostring(L, -1);
        layers[l - 1].act = mf_plan_act_from_name(act);
        if (layers[l - 1].act == MF_PLAN_ACT_COUNT)
            luaL_argerror(L, 1, lua_pushfstring(L, "layers[%I]: unknown activation '%s'", l, act ? act : "?"));
        lua_pop(L, 4);
    }
    lua_pop(L, 1);
    lua_getfield(L, 1, "loss");
    const char *lname = lua_tostring(L, -1);
    mf_plan_loss loss = mf_plan_loss_from_name(lname);
    if (loss == MF_PLAN_LOSS_COUNT)
        luaL_argerror(L, 1, lua_pushfstring(L, "unknown loss '%s'", lname ? lname : "?"));
    lua_pop(L, 1);
    lmf_check_map(L, mf_plan_new(&lp->plan, (int)nl, layers, loss), (int[]){1, 1}, 2);
    lp->np = mf_plan_num_params(lp->plan);

    if (lua_getfield(L, 1, "optimizer") == LUA_TTABLE) {
        lua_getfield(L, -1, "algo");
        lp->algo = mf_optim_algo_from_name(lua_tostring(L, -1));
        if (lp->algo == MF_OPTIM_ALGO_COUNT) luaL_argerror(L, 1, "spec.optimizer is not an mf.optim optimizer");
        lua_pop(L, 1);
        lua_setiuservalue(L, ud, 1);
        if (lua_getfield(L, 1, "slots") != LUA_TTABLE || luaL_len(L, -1) != lp->np)
            luaL_argerror(L, 1, lua_pushfstring(L, "spec.slots must list the %d parameters", lp->np));
        for (int j = 0; j < lp->np; j++) {
            if (lua_geti(L, -1, j + 1) != LUA_TTABLE)
                luaL_argerror(L, 1, lua_pushfstring(L, "slots[%d] must be a table", j + 1));
            lp->group[j] = field_pos(L, "group", j + 1);
            lp->index[j] = field_pos(L, "index", j + 1);
            lp->pos[j] = field_pos(L, "pos", j + 1);
            lua_pop(L, 1);
        }
        lp->has_opt = 1;
    }
    lua_settop(L, ud);
    if (lmf_getopt(L, 1, "batch_size") != LUA_TNIL) {
        int isint;
        lua_Integer n = lua_tointegerx(L, -1, &isint);
        if (!isint || n < 1) luaL_argerror(L, 1, "spec.batch_size must be a positive integer");
        lmf_check_map(L, mf_plan_reserve(lp->plan, n), (int[]){1, 1}, 2);
    }
    lua_settop(L, ud);
    lmf_account(L);
    return 1;
}

/* ---------------------------------------------------------------- optimizer */

/* Fills lp->slots and lp->h from the optimizer (the user value of the plan
 * at index `self`): parameters checked, state buffers found or made. */
static void sync_optimizer(lua_State *L, lplan *lp, int self)
{
    int base = lua_gettop(L);
    lua_getiuservalue(L, self, 1);
    int opt = base + 1;
    if (lua_getfield(L, opt, "param_groups") != LUA_TTABLE) luaL_error(L, "optimizer without param_groups");
    int groups = base + 2;
    if (lua_getfield(L, opt, "state") != LUA_TTABLE) luaL_error(L, "optimizer without state");
    int state = base + 3;
    lua_Integer cur = 0;
    int gtab = 0, ptab = 0;
    mf_optim_hparams gh;
    for (int k = 0; k < lp->np; k++) {
        mf_optim_slot *s = &lp->slots[k];
        if (lp->group[k] != cur) {
            lua_settop(L, state);
            cur = lp->group[k];
            if (lua_geti(L, groups, cur) != LUA_TTABLE)
                luaL_error(L, "the optimizer's param group %I is gone (the plan was made for other groups)", cur);
            gtab = lua_gettop(L);
            lmf_optim_hparams(L, gtab, lp->algo, &gh);
            if (lua_getfield(L, gtab, "params") != LUA_TTABLE) luaL_error(L, "param group without 'params'");
            ptab = lua_gettop(L);
        }
        lp->h[k] = gh;
        memset(s, 0, sizeof *s);
        s->param = mf_plan_param(lp->plan, k);
        lua_geti(L, ptab, lp->index[k]);
        if (lmf_totensor(L, -1) != s->param)
            luaL_error(L, "the optimizer's param group %I no longer holds parameter %d of the model "
                          "(the model or the optimizer changed since the plan was made)", cur, k + 1);
        lua_pop(L, 1);
        if (lua_geti(L, state, lp->pos[k]) != LUA_TTABLE) {
            if (!lua_isnil(L, -1))
                luaL_error(L, "optimizer state of parameter %I is a %s, expected a table", lp->pos[k],
                           luaL_typename(L, -1));
            lua_pop(L, 1);
            lua_newtable(L);
            lua_pushvalue(L, -1);
            lua_seti(L, state, lp->pos[k]);
        }
        int st = lua_gettop(L);
        int isint = 1;
        lua_getfield(L, st, "step");
        s->step = lua_isnil(L, -1) ? 0 : (int64_t)lua_tointegerx(L, -1, &isint);
        if (!isint || s->step < 0)
            luaL_error(L, "optimizer state of parameter %I: 'step' must be an integer >= 0", lp->pos[k]);
        lua_pop(L, 1);
        int nstate = mf_optim_state_count(lp->algo, &gh);
        for (int q = 0; q < nstate; q++) {
            const char *name = mf_optim_state_name(lp->algo, &gh, q);
            if (lua_getfield(L, st, name) == LUA_TNIL) {
                lua_pop(L, 1);
                mf_tensor **b = lmf_newtensor(L);
                lmf_check(L, mf_tensor_full(b, s->param->dtype, s->param->ndim, s->param->shape,
                                            mf_optim_state_init(lp->algo, &gh, q)));
                lmf_account(L);
                lua_pushvalue(L, -1);
                lua_setfield(L, st, name);
                s->fresh = 1;
            }
            s->state[q] = lmf_totensor(L, -1);
            if (!s->state[q])
                luaL_error(L, "optimizer state of parameter %I: '%s' is not a tensor", lp->pos[k], name);
            lua_pop(L, 1);
        }
        lua_settop(L, st - 1);
    }
    lua_settop(L, base);
}

/* The step counts back into the optimizer's state tables, and one more
 * step in its _step_count (which schedulers read), as opt:step() does. */
static void write_steps(lua_State *L, lplan *lp, int self)
{
    int base = lua_gettop(L);
    lua_getiuservalue(L, self, 1);
    int opt = base + 1;
    lua_getfield(L, opt, "state");
    for (int k = 0; k < lp->np; k++) {
        lua_geti(L, -1, lp->pos[k]);
        lua_pushinteger(L, (lua_Integer)lp->slots[k].step);
        lua_setfield(L, -2, "step");
        lua_pop(L, 1);
    }
    if (lua_getfield(L, opt, "_step_count") == LUA_TNUMBER) {
        lua_Integer n = lua_tointeger(L, -1);
        lua_pushinteger(L, n + 1);
        lua_setfield(L, opt, "_step_count");
    }
    lua_settop(L, base);
}

/* ---------------------------------------------------------------- steps */
/* (x, y, indices | nil, first, count) from `arg` on; first is 1-based. */
static void read_batch(lua_State *L, int arg, mf_plan_batch *b)
{
    b->x = lmf_checktensor(L, arg);
    b->y = lmf_checktensor(L, arg + 1);
    b->idx = lua_isnoneornil(L, arg + 2) ? NULL : lmf_checktensor(L, arg + 2);
    b->first = (int64_t)luaL_checkinteger(L, arg + 3) - 1;
    b->count = (int64_t)luaL_checkinteger(L, arg + 4);
    b->base = 1;
}

/* plan:train_batch(X, y, indices, first, count) → the batch's mean loss,
 * after one optimizer step */
static int l_train_batch(lua_State *L)
{
    lplan *lp = checkplan(L, 1);
    if (!lp->has_opt) luaL_error(L, "train_batch: the plan was made without an optimizer");
    mf_plan_batch b;
    read_batch(L, 2, &b);
    sync_optimizer(L, lp, 1);
    mf_plan_stats st;
    lmf_check(L, mf_plan_train_batch(lp->plan, &b, lp->algo, lp->h, lp->slots, &st));
    write_steps(L, lp, 1);
    lmf_account(L);
    lua_pushnumber(L, st.loss / (double)st.count);
    return 1;
}

/* plan:gradients(X, y, indices, first, count) → the batch's mean loss; the
 * gradients are in plan:grad(k); nothing is updated */
static int l_gradients(lua_State *L)
{
    lplan *lp = checkplan(L, 1);
    mf_plan_batch b;
    read_batch(L, 2, &b);
    mf_plan_stats st;
    lmf_check(L, mf_plan_gradients(lp->plan, &b, &st));
    lmf_account(L);
    lua_pushnumber(L, st.loss / (double)st.count);
    return 1;
}

/* plan:forward(X) → outputs [N x out] (probabilities for sigmoid/softmax) */
static int l_forward(lua_State *L)
{
    lplan *lp = checkplan(L, 1);
    mf_tensor *x = lmf_checktensor(L, 2);
    NEW_TENSOR(L, mf_plan_forward(out, lp->plan, x));
    return 1;
}

/* plan:grad(k) → the gradient of parameter k (1-based) from the last step,
 * sharing the plan's buffer (overwritten by the next step) */
static int l_grad(lua_State *L)
{
    lplan *lp = checkplan(L, 1);
    lua_Integer k = luaL_checkinteger(L, 2);
    luaL_argcheck(L, k >= 1 && k <= lp->np, 2, "parameter number out of range");
    mf_tensor **slot = lmf_newtensor(L);
    mf_tensor *g = mf_plan_grad(lp->plan, (int)k - 1);
    mf_tensor_retain(g);
    *slot = g;
    return 1;
}

/* plan:reserve(n): work buffers for batches of up to n rows */
static int l_reserve(lua_State *L)
{
    lplan *lp = checkplan(L, 1);
    lmf_check(L, mf_plan_reserve(lp->plan, (int64_t)luaL_checkinteger(L, 2)));
    lmf_account(L);
    return 0;
}

/* plan:native() → whether the hand-written kernels run the products */
static int l_native(lua_State *L)
{
    lplan *lp = checkplan(L, 1);
    lua_pushboolean(L, mf_plan_native(lp->plan));
    return 1;
}

/* plan:_set_native(on): test hook (false: every product through BLAS) */
static int l_set_native(lua_State *L)
{
    lplan *lp = checkplan(L, 1);
    mf_plan_set_native(lp->plan, lua_toboolean(L, 2));
    return 0;
}

static int l_tostring(lua_State *L)
{
    lplan *lp = luaL_checkudata(L, 1, LMF_PLAN_MT);
    if (!lp->plan) {
        lua_pushliteral(L, "Plan(closed)");
        return 1;
    }
    luaL_Buffer buf;
    luaL_buffinit(L, &buf);
    lua_pushfstring(L, "Plan(%I", (lua_Integer)mf_plan_in_features(lp->plan));
    luaL_addvalue(&buf);
    for (int k = 0; k < lp->np; k++) {
        mf_tensor *w = mf_plan_param(lp->plan, k);
        if (w->ndim != 2) continue;
        lua_pushfstring(L, " -> %I", (lua_Integer)w->shape[0]);
        luaL_addvalue(&buf);
    }
    lua_pushfstring(L, ", %s%s%s)", mf_dtype_name(mf_plan_dtype(lp->plan)),
                    lp->has_opt ? ", " : "", lp->has_opt ? mf_optim_algo_name(lp->algo) : "");
    luaL_addvalue(&buf);
    luaL_pushresult(&buf);
    return 1;
}

static const luaL_Reg plan_methods[] = {
    {"train_batch", l_train_batch},
    {"gradients", l_gradients},
    {"forward", l_forward},
    {"grad", l_grad},
    {"reserve", l_reserve},
    {"native", l_native},
    {"_set_native", l_set_native},
    {"close", l_close},
    {NULL, NULL},
};

static const luaL_Reg plan_funcs[] = {
    {"_plan_new", l_plan_new},
    {NULL, NULL},
};

void lmf_open_plan(lua_State *L, int mod, int methods)
{
    (void)methods;
    luaL_newmetatable(L, LMF_PLAN_MT);
    luaL_newlib(L, plan_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, l_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    lmf_register(L, mod, 0, plan_funcs);
}
