/*
 * lmf_optim.c — the C side of moonforge.optim: one call per parameter group
 * per step (mf._optim_step), the hyper-parameter check the constructors use
 * (mf._optim_check) and mf.clip_grad_norm_.
 *
 * The optimizer objects live in Lua (lua/moonforge/optim.lua): a group is a
 * table {params = {...}, lr = ..., ...} and the state of the i-th parameter
 * of the optimizer is the table state[i] = {step = n, exp_avg = tensor, ...}.
 * _optim_step reads both, creates missing buffers as tensors stored in the
 * state table (so nothing leaks if a later check raises), and hands core
 * one array of slots.
 */
#include <math.h>

#include "lmf.h"

static mf_optim_algo check_algo(lua_State *L, int arg)
{
    const char *name = luaL_checkstring(L, arg);
    mf_optim_algo a = mf_optim_algo_from_name(name);
    if (a == MF_OPTIM_ALGO_COUNT)
        luaL_argerror(L, arg, lua_pushfstring(L, "unknown optimizer '%s'", name));
    return a;
}

/* Number field of the group table at `arg` (def when absent). */
static double group_number(lua_State *L, int arg, const char *key, double def)
{
    int ty = lua_getfield(L, arg, key);
    double v = def;
    if (ty == LUA_TNUMBER) v = (double)lua_tonumber(L, -1);
    else if (ty != LUA_TNIL)
        luaL_error(L, "param group option '%s' must be a number, got %s", key, luaL_typename(L, -1));
    lua_pop(L, 1);
    return v;
}

static int group_boolean(lua_State *L, int arg, const char *key, int def)
{
    int ty = lua_getfield(L, arg, key);
    int v = def;
    if (ty == LUA_TBOOLEAN) v = lua_toboolean(L, -1);
    else if (ty != LUA_TNIL)
        luaL_error(L, "param group option '%s' must be a boolean, got %s", key, luaL_typename(L, -1));
    lua_pop(L, 1);
    return v;
}

/* The hyper-parameters of the group table at g that `algo` reads (the
 * optimizers and the training plans share this). */
void lmf_optim_hparams(lua_State *L, int g, mf_optim_algo algo, mf_optim_hparams *h)
{
    luaL_checktype(L, g, LUA_TTABLE);
    mf_optim_hparams_default(algo, h);
    h->lr = group_number(L, g, "lr", h->lr);
    h->weight_decay = group_number(L, g, "weight_decay", h->weight_decay);
    h->eps = group_number(L, g, "eps", h->eps);
    switch (algo) {
    case MF_OPTIM_SGD:
        h->momentum = group_number(L, g, "momentum", h->momentum);
        h->dampening = group_number(L, g, "dampening", h->dampening);
        h->nesterov = group_boolean(L, g, "nesterov", h->nesterov);
        break;
    case MF_OPTIM_ADAM:
    case MF_OPTIM_ADAMW:
        h->amsgrad = group_boolean(L, g, "amsgrad", h->amsgrad);
        if (lua_getfield(L, g, "betas") == LUA_TTABLE) {
            lua_geti(L, -1, 1);
            lua_geti(L, -2, 2);
            if (!lua_isnumber(L, -2) || !lua_isnumber(L, -1))
                luaL_error(L, "param group option 'betas' must be a table of two numbers");
            h->beta1 = (double)lua_tonumber(L, -2);
            h->beta2 = (double)lua_tonumber(L, -1);
            lua_pop(L, 2);
        } else if (!lua_isnil(L, -1)) {
            luaL_error(L, "param group option 'betas' must be a table of two numbers");
        }
        lua_pop(L, 1);
        break;
    case MF_OPTIM_RMSPROP:
        h->alpha = group_number(L, g, "alpha", h->alpha);
        h->momentum = group_number(L, g, "momentum", h->momentum);
        h->centered = group_boolean(L, g, "centered", h->centered);
        break;
    case MF_OPTIM_ADAGRAD:
        h->lr_decay = group_number(L, g, "lr_decay", h->lr_decay);
        h->initial_accumulator_value =
            group_number(L, g, "initial_accumulator_value", h->initial_accumulator_value);
        break;
    default: break;
    }
}

/* mf._optim_check(algo, group) → nil, or the message of what is invalid */
static int l_optim_check(lua_State *L)
{
    mf_optim_algo algo = check_algo(L, 1);
    mf_optim_hparams h;
    lmf_optim_hparams(L, 2, algo, &h);
    if (mf_optim_check(algo, &h) == MF_OK) return 0;
    lua_pushstring(L, mf_error_get()->msg);
    return 1;
}

/* mf._optim_state_names(algo, group) → {names of the state buffers} */
static int l_optim_state_names(lua_State *L)
{
    mf_optim_algo algo = check_algo(L, 1);
    mf_optim_hparams h;
    lmf_optim_hparams(L, 2, algo, &h);
    int n = mf_optim_state_count(algo, &h);
    lua_createtable(L, n, 0);
    for (int k = 0; k < n; k++) {
        lua_pushstring(L, mf_optim_state_name(algo, &h, k));
        lua_rawseti(L, -2, k + 1);
    }
    return 1;
}

/* The state table of parameter `pos` in the list at `arg` (created when
 * missing), pushed. */
static void push_state(lua_State *L, int arg, lua_Integer pos)
{
    if (lua_geti(L, arg, pos) == LUA_TTABLE) return;
    if (!lua_isnil(L, -1))
        luaL_error(L, "optimizer state of parameter %I is a %s, expected a table", pos,
                   luaL_typename(L, -1));
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_seti(L, arg, pos);
}

/*
 * mf._optim_step(algo, group, state, offset [, gi]): one update of every
 * parameter of `group` that has a gradient. The state of group.params[i] is
 * state[offset + i]; gi numbers the group in messages.
 */
static int l_optim_step(lua_State *L)
{
    mf_optim_algo algo = check_algo(L, 1);
    mf_optim_hparams h;
    lmf_optim_hparams(L, 2, algo, &h);
    luaL_checktype(L, 3, LUA_TTABLE);
    lua_Integer offset = luaL_checkinteger(L, 4), gi = luaL_optinteger(L, 5, 1);
    if (mf_optim_check(algo, &h) != MF_OK)
        luaL_error(L, "%s step: param group %I: %s", mf_optim_algo_name(algo), gi,
                   mf_error_get()->msg);
    int nstate = mf_optim_state_count(algo, &h);
    if (lua_getfield(L, 2, "params") != LUA_TTABLE) luaL_error(L, "param group without 'params'");
    int params = lua_gettop(L);
    lua_Integer n = luaL_len(L, params);
    void **box = lmf_newbox(L);
    mf_optim_slot *slots = *box = mf_calloc(n > 0 ? (size_t)n : 1, sizeof *slots);
    if (!slots) luaL_error(L, "not enough memory");
    int base = lua_gettop(L);
    for (lua_Integer i = 1; i <= n; i++) {
        mf_optim_slot *s = &slots[i - 1];
        lua_geti(L, params, i);
        s->param = lmf_totensor(L, -1);
        if (!s->param) luaL_error(L, "parameter %I of the group is not a live tensor", i);
        lua_settop(L, base);
        s->grad = s->param->grad;
        if (!s->grad) continue;
        push_state(L, 3, offset + i);
        int st = lua_gettop(L);
        int isint;
        lua_getfield(L, st, "step");
        s->step = lua_isnil(L, -1) ? 0 : (int64_t)lua_tointegerx(L, -1, &isint);
        if (!lua_isnil(L, -1) && (!isint || s->step < 0))
            luaL_error(L, "optimizer state of parameter %I: 'step' must be an integer >= 0",
                       offset + i);
        for (int k = 0; k < nstate; k++) {
            const char *name = mf_optim_state_name(algo, &h, k);
            if (lua_getfield(L, st, name) == LUA_TNIL) {
                mf_tensor **b = lmf_newtensor(L);
                lmf_check(L, mf_tensor_full(b, s->param->dtype, s->param->ndim, s->param->shape,
                                            mf_optim_state_init(algo, &h, k)));
                lmf_account(L);
                lua_setfield(L, st, name);
                lua_getfield(L, st, name);
                s->fresh = 1;
            }
            s->state[k] = lmf_totensor(L, -1);
            if (!s->state[k])
                luaL_error(L, "optimizer state of parameter %I: '%s' is not a tensor", offset + i,
                           name);
        }
        lua_settop(L, base);
    }
    mf_status r = mf_optim_step(algo, &h, n, slots);
    if (r != MF_OK)
        luaL_error(L, "%s step: param group %I: %s", mf_optim_algo_name(algo), gi,
                   mf_error_get()->msg);
    for (lua_Integer i = 1; i <= n; i++) {
        if (!slots[i - 1].grad) continue;
        lua_geti(L, 3, offset + i);
        lua_pushinteger(L, (lua_Integer)slots[i - 1].step);
        lua_setfield(L, -2, "step");
        lua_pop(L, 1);
    }
    return 0;
}

/* The tensors at `arg` (one tensor or a list of them) → their gradients in
 * a boxed array (pushed); returns how many entries (NULL for no gradient). */
static int64_t collect_grads(lua_State *L, int arg, mf_tensor ***out)
{
    void **box = lmf_newbox(L);
    mf_tensor *one = lmf_totensor(L, arg);
    lua_Integer n = one ? 1 : (luaL_checktype(L, arg, LUA_TTABLE), luaL_len(L, arg));
    mf_tensor **g = *box = mf_calloc(n > 0 ? (size_t)n : 1, sizeof *g);
    if (!g) luaL_error(L, "not enough memory");
    if (one) g[0] = one->grad;
    for (lua_Integer i = 1; !one && i <= n; i++) {
        lua_geti(L, arg, i);
        mf_tensor *p = lmf_totensor(L, -1);
        if (!p)
            luaL_argerror(L, arg, lua_pushfstring(L, "entry %I is %s, expected a tensor", i,
                                                  luaL_typename(L, -1)));
        g[i - 1] = p->grad;
        lua_pop(L, 1);
    }
    *out = g;
    return (int64_t)n;
}

static const char *const clip_opts[] = {"norm_type", "error_if_nonfinite", NULL};

/* mf.clip_grad_norm_(params, max_norm [, {norm_type = 2, error_if_nonfinite = false}])
 * → the total norm of the gradients (before clipping) */
static int l_clip_grad_norm_(lua_State *L)
{
    double max_norm = (double)luaL_checknumber(L, 2);
    lmf_checkopts(L, 3, clip_opts);
    double norm_type = lmf_optnumber(L, 3, "norm_type", 2);
    int nonfinite = lmf_optboolean(L, 3, "error_if_nonfinite", 0);
    if (!(max_norm >= 0))
        luaL_argerror(L, 2, lua_pushfstring(L, "max_norm must be >= 0, got %f", (LUAI_UACNUMBER)max_norm));
    if (!(norm_type > 0))
        luaL_argerror(L, 3, lua_pushfstring(L, "norm_type must be > 0 or math.huge, got %f",
                                            (LUAI_UACNUMBER)norm_type));
    mf_tensor **grads;
    int64_t n = collect_grads(L, 1, &grads);
    double total;
    lmf_check_map(L, mf_clip_grad_norm_(n, grads, max_norm, norm_type, nonfinite, &total),
                  (int[]){1, 1, 2, 3}, 4);
    lua_pushnumber(L, total);
    return 1;
}

static const luaL_Reg optim_funcs[] = {
    {"_optim_check", l_optim_check},
    {"_optim_state_names", l_optim_state_names},
    {"_optim_step", l_optim_step},
    {"clip_grad_norm_", l_clip_grad_norm_},
    {NULL, NULL},
};

void lmf_open_optim(lua_State *L, int mod, int methods)
{
    (void)methods;
    lmf_register(L, mod, 0, optim_funcs);
}
