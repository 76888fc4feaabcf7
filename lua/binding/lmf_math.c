/*
 * lmf_math.c — elementwise math and reductions from Lua: mf.add, t:exp(),
 * the arithmetic operators, comparisons, where, and sum/mean/max/...
 *
 * Numbers may stand for either operand of a binary op (`2 * t`, `t - 1`,
 * mf.gt(t, 0)). They are "weak": they take the tensor's dtype, except that a
 * non-integer number with an integer (or bool) tensor gives float32 and an
 * integer with a bool tensor gives int64 (PyTorch's rules).
 */
#include <float.h>
#include <math.h>
#include <stdio.h>

#include "lmf.h"

/* ------------------------------------------------------------------ operands */
typedef union {
    float f;
    double d;
    int64_t i;
    uint8_t b;
} scalar_buf;

/* The dtype a Lua number at `arg` takes next to a tensor of dtype `other`. */
static mf_dtype weak_dtype(lua_State *L, int arg, mf_dtype other)
{
    if (lua_type(L, arg) == LUA_TBOOLEAN) return MF_BOOL;
    if (mf_dtype_is_float(other)) return other;
    if (lua_isinteger(L, arg)) return MF_INT64;
    return MF_FLOAT32;
}

/* The operand at `arg`: a tensor, or a number/boolean as a borrowed 0-D
 * tensor in *hdr (dtype chosen next to `other`). */
static mf_tensor *operand(lua_State *L, int arg, mf_dtype other, mf_tensor *hdr, scalar_buf *buf)
{
    mf_tensor *t = lmf_totensor(L, arg);
    if (t) return t;
    int ty = lua_type(L, arg);
    if (ty != LUA_TNUMBER && ty != LUA_TBOOLEAN) {
        if (luaL_testudata(L, arg, LMF_TENSOR_MT)) luaL_argerror(L, arg, "tensor has been freed");
        luaL_typeerror(L, arg, "tensor or number");
    }
    mf_dtype dt = weak_dtype(L, arg, other);
    mf_tensor_borrow_scalar(hdr, dt, buf);
    switch (dt) {
    case MF_FLOAT32: buf->f = (float)lua_tonumber(L, arg); break;
    case MF_FLOAT64: buf->d = (double)lua_tonumber(L, arg); break;
    case MF_INT64: buf->i = (int64_t)lua_tointeger(L, arg); break;
    default: buf->b = (uint8_t)lua_toboolean(L, arg); break;
    }
    return hdr;
}

/* dtype of the tensor among two arguments (for the other's weak dtype). */
static mf_dtype partner_dtype(lua_State *L, int a, int b)
{
    mf_tensor *t = lmf_totensor(L, a);
    if (!t) t = lmf_totensor(L, b);
    if (!t) {
        if (luaL_testudata(L, a, LMF_TENSOR_MT)) luaL_argerror(L, a, "tensor has been freed");
        if (luaL_testudata(L, b, LMF_TENSOR_MT)) luaL_argerror(L, b, "tensor has been freed");
        luaL_error(L, "expected a tensor among the operands, got %s and %s", luaL_typename(L, a),
                   luaL_typename(L, b));
    }
    return t->dtype;
}

/* Writes the result of op into `out` (in-place or out=) and leaves out on top. */
static void run_into(lua_State *L, mf_op_id op, int n, mf_tensor **in, const mf_op_params *p,
                     int out_arg)
{
    mf_tensor *out = lmf_checktensor(L, out_arg);
    lmf_check(L, mf_op_run_into(op, n, in, p, &out, out_arg));
    lua_pushvalue(L, out_arg);
}

/* ------------------------------------------------------------------ binary */
static const char *const binary_opts[] = {"out", "alpha", NULL};

/* f(a, b [, {out =, alpha =}]): op id in upvalue 1, alpha sign in upvalue 2
 * (-1 for sub), in-place flag in upvalue 3. */
static int l_binary(lua_State *L)
{
    mf_op_id op = (mf_op_id)lua_tointeger(L, lua_upvalueindex(1));
    double sign = lua_tonumber(L, lua_upvalueindex(2));
    int inplace = lua_toboolean(L, lua_upvalueindex(3));
    mf_op_params p = {0};
    p.scalars[0] = sign;
    int out_arg = 0;
    if (!lua_isnoneornil(L, 3)) {
        lmf_checkopts(L, 3, binary_opts);
        if (lmf_getopt(L, 3, "alpha") != LUA_TNIL) {
            if (op != MF_OP_ADD) luaL_argerror(L, 3, "option 'alpha' is for add and sub only");
            p.scalars[0] = sign * luaL_checknumber(L, -1);
        }
        if (lmf_getopt(L, 3, "out") != LUA_TNIL) out_arg = lua_gettop(L);
    }
    if (inplace) lmf_checktensor(L, 1);
    mf_tensor ha, hb, *in[2];
    scalar_buf ba, bb;
    mf_dtype other = partner_dtype(L, 1, 2);
    in[0] = operand(L, 1, other, &ha, &ba);
    in[1] = operand(L, 2, other, &hb, &bb);
    if (inplace) out_arg = 1;
    if (out_arg) {
        run_into(L, op, 2, in, &p, out_arg);
        return 1;
    }
    NEW_TENSOR(L, mf_op_run(op, 2, in, &p, out));
    return 1;
}

/* ------------------------------------------------------------------ unary */
static const char *const unary_opts[] = {"out", NULL};

/* f(t [, {out =}]) and the in-place t:f_(): op id in upvalue 1, in-place
 * flag in upvalue 2. Parameters of clamp and nan_to_num come from upvalue 3
 * (a function filling them from the arguments). */
typedef int (*params_fn)(lua_State *L, mf_tensor *t, mf_op_params *p);

static int l_unary(lua_State *L)
{
    mf_op_id op = (mf_op_id)lua_tointeger(L, lua_upvalueindex(1));
    int inplace = lua_toboolean(L, lua_upvalueindex(2));
    params_fn fill = (params_fn)lua_touserdata(L, lua_upvalueindex(3));
    mf_tensor *t = lmf_checktensor(L, 1);
    mf_op_params p = {0};
    /* fill returns the index of the option table, negated when it has
     * checked the table's keys itself */
    int opt = fill ? fill(L, t, &p) : 2, out_arg = inplace ? 1 : 0;
    int checked = opt < 0;
    if (checked) opt = -opt;
    if (!lua_isnoneornil(L, opt)) {
        if (!checked) lmf_checkopts(L, opt, unary_opts);
        if (lmf_getopt(L, opt, "out") != LUA_TNIL) {
            if (inplace) luaL_argerror(L, opt, "an in-place op takes no 'out'");
            out_arg = lua_gettop(L);
        }
    }
    if (out_arg) {
        run_into(L, op, 1, &t, &p, out_arg);
        return 1;
    }
    NEW_TENSOR(L, mf_op_run1(op, t, &p, out));
    return 1;
}

/* clamp(t, min, max): either may be nil (no bound). Returns the index of the
 * option table argument. */
static int clamp_params(lua_State *L, mf_tensor *t, mf_op_params *p)
{
    (void)t;
    double lo = luaL_optnumber(L, 2, NAN), hi = luaL_optnumber(L, 3, NAN);
    if (lua_isnoneornil(L, 2) && lua_isnoneornil(L, 3))
        luaL_argerror(L, 2, "at least one of min and max is needed");
    if (!isnan(lo) && !isnan(hi) && lo > hi)
        luaL_argerror(L, 3, lua_pushfstring(L, "max %f is less than min %f", (LUAI_UACNUMBER)hi,
                                            (LUAI_UACNUMBER)lo));
    p->scalars[0] = isnan(lo) ? -HUGE_VAL : lo;
    p->scalars[1] = isnan(hi) ? HUGE_VAL : hi;
    if (!mf_dtype_is_float(t->dtype)) { /* bounds beyond int64 clamp nothing */
        if (p->scalars[0] < -9.2e18) p->scalars[0] = -9.2e18;
        if (p->scalars[1] > 9.2e18) p->scalars[1] = 9.2e18;
    }
    return 4;
}

/* nan_to_num(t, {nan = 0, posinf = largest, neginf = lowest, out =}) */
static const char *const nan_to_num_opts[] = {"nan", "posinf", "neginf", "out", NULL};

static int nan_to_num_params(lua_State *L, mf_tensor *t, mf_op_params *p)
{
    double big = t->dtype == MF_FLOAT32 ? FLT_MAX : DBL_MAX;
    p->scalars[0] = 0;
    p->scalars[1] = big;
    p->scalars[2] = -big;
    if (lua_isnoneornil(L, 2)) return 2;
    lmf_checkopts(L, 2, nan_to_num_opts);
    int opt = -2;
    static const char *const keys[3] = {"nan", "posinf", "neginf"};
    for (int k = 0; k < 3; k++) {
        if (lmf_getopt(L, 2, keys[k]) != LUA_TNIL) {
            if (!lua_isnumber(L, -1))
                luaL_argerror(L, 2, lua_pushfstring(L, "option '%s' must be a number", keys[k]));
            p->scalars[k] = lua_tonumber(L, -1);
        }
        lua_pop(L, 1);
    }
    return opt;
}

/* -t (Lua passes the operand twice) */
static int m_unm(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    NEW_TENSOR(L, mf_op_run1(MF_OP_NEG, t, NULL, out));
    return 1;
}

/* ------------------------------------------------------------------ where */
/* mf.where(mask, a, b): a and b tensors or numbers, broadcast with mask */
static int l_where(lua_State *L)
{
    mf_tensor *mask = lmf_checktensor(L, 1);
    mf_tensor ha, hb, *in[3];
    scalar_buf ba, bb;
    mf_dtype other = lmf_totensor(L, 2) || lmf_totensor(L, 3) ? partner_dtype(L, 2, 3)
                                                               : MF_DTYPE_DEFAULT;
    if (!lmf_totensor(L, 2) && !lmf_totensor(L, 3) && lua_isinteger(L, 2) && lua_isinteger(L, 3))
        other = MF_INT64;
    in[0] = mask;
    in[1] = operand(L, 2, other, &ha, &ba);
    in[2] = operand(L, 3, other, &hb, &bb);
    NEW_TENSOR(L, mf_op_run(MF_OP_WHERE, 3, in, NULL, out));
    return 1;
}

/* ------------------------------------------------------------------ reductions */
/* Arguments of a reduction: f(t [, dim] [, {dim =, keepdim =, unbiased =}]).
 * dim is 1-based in Lua (MF_ALL_DIMS when absent). */
typedef struct {
    int64_t dim;
    int keepdim;
    int unbiased;
} reduce_args;

static const char *const reduce_opts[] = {"dim", "keepdim", NULL};
static const char *const var_opts[] = {"dim", "keepdim", "unbiased", NULL};

static reduce_args check_reduce(lua_State *L, mf_tensor *t, int with_unbiased)
{
    reduce_args r = {MF_ALL_DIMS, 0, 1};
    int opt = 2;
    if (lua_type(L, 2) == LUA_TNUMBER) {
        r.dim = lmf_checkdim(L, 2, t->ndim, 0);
        opt = 3;
    } else if (!lua_isnoneornil(L, 2) && lua_type(L, 2) != LUA_TTABLE) {
        luaL_typeerror(L, 2, "dim or option table");
    }
    if (lua_isnoneornil(L, opt)) return r;
    lmf_checkopts(L, opt, with_unbiased ? var_opts : reduce_opts);
    if (lmf_getopt(L, opt, "dim") != LUA_TNIL) {
        if (r.dim != MF_ALL_DIMS) luaL_argerror(L, opt, "dim given twice");
        r.dim = lmf_checkdim(L, lua_gettop(L), t->ndim, 0);
    }
    if (lmf_getopt(L, opt, "keepdim") != LUA_TNIL) r.keepdim = lua_toboolean(L, -1);
    if (with_unbiased && lmf_getopt(L, opt, "unbiased") != LUA_TNIL)
        r.unbiased = lua_toboolean(L, -1);
    return r;
}

/* sum, prod, logsumexp, all, any: op id in upvalue 1 */
static int l_reduce(lua_State *L)
{
    mf_op_id op = (mf_op_id)lua_tointeger(L, lua_upvalueindex(1));
    mf_tensor *t = lmf_checktensor(L, 1);
    reduce_args r = check_reduce(L, t, 0);
    NEW_TENSOR(L, mf_tensor_reduce(op, out, t, r.dim, r.keepdim));
    return 1;
}

/* Number of elements a reduction folds into each output. */
static int64_t reduced_count(const mf_tensor *t, int64_t dim)
{
    return dim == MF_ALL_DIMS ? mf_tensor_numel(t) : t->shape[dim];
}

/* mean = sum / n, in float (integers give float32) */
static int l_mean(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    reduce_args r = check_reduce(L, t, 0);
    mf_tensor **s = lmf_newtensor(L);
    lmf_check(L, mf_tensor_reduce(MF_OP_SUM, s, t, r.dim, r.keepdim));
    double n = (double)reduced_count(t, r.dim);
    mf_tensor hn;
    scalar_buf bn;
    /* float64 stays float64, anything else gives float32 */
    if ((*s)->dtype == MF_FLOAT64) {
        mf_tensor_borrow_scalar(&hn, MF_FLOAT64, &bn);
        bn.d = n;
    } else {
        mf_tensor_borrow_scalar(&hn, MF_FLOAT32, &bn);
        bn.f = (float)n;
    }
    NEW_TENSOR(L, mf_tensor_binary(MF_OP_DIV, out, *s, &hn));
    return 1;
}

/* max/min(t) → 0-D value; max/min(t, dim) → values, indices (1-based) */
static int extreme(lua_State *L, int is_min, int want)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    reduce_args r = check_reduce(L, t, 0);
    mf_tensor **v = lmf_newtensor(L), **i = lmf_newtensor(L);
    lmf_check(L, mf_tensor_max(v, i, t, r.dim, r.keepdim, is_min));
    lmf_account(L);
    lmf_indices_to_1based(L, -1, *v);
    if (want == 1) { /* values only */
        lua_pop(L, 1);
        return 1;
    }
    if (want == 2) { /* indices only */
        lua_remove(L, -2);
        return 1;
    }
    return r.dim == MF_ALL_DIMS ? (lua_pop(L, 1), 1) : 2;
}

static int l_max(lua_State *L) { return extreme(L, 0, 0); }
static int l_min(lua_State *L) { return extreme(L, 1, 0); }
static int l_amax(lua_State *L) { return extreme(L, 0, 1); }
static int l_amin(lua_State *L) { return extreme(L, 1, 1); }
static int l_argmax(lua_State *L) { return extreme(L, 0, 2); }
static int l_argmin(lua_State *L) { return extreme(L, 1, 2); }

/* var/std(t [, dim] [, {keepdim, unbiased = true}]) */
static int variance(lua_State *L, int root)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    reduce_args r = check_reduce(L, t, 1);
    mf_tensor **v = lmf_newtensor(L);
    lmf_check(L, mf_tensor_var(v, t, r.dim, r.keepdim, r.unbiased));
    lmf_account(L);
    if (root) NEW_TENSOR(L, mf_op_run1(MF_OP_SQRT, *v, NULL, out)); /* recorded for autograd */
    return 1;
}

static int l_var(lua_State *L) { return variance(L, 0); }
static int l_std(lua_State *L) { return variance(L, 1); }

/* cumsum(t, dim) */
static int l_cumsum(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    int64_t dim = t->ndim ? lmf_checkdim(L, 2, t->ndim, 0) : 0;
    NEW_TENSOR(L, mf_tensor_cumsum(out, t, dim));
    return 1;
}

/* norm(t [, p = 2] [, {dim =, keepdim =}]): vector p-norm (p = 1, 2, any
 * positive number, math.huge or -math.huge), composed of elementwise ops and
 * reductions. */
static int l_norm(lua_State *L)
{
    mf_tensor *t = lmf_checktensor(L, 1);
    double pn = 2;
    if (lua_type(L, 2) == LUA_TNUMBER) {
        pn = lua_tonumber(L, 2);
        lua_remove(L, 2);
        if (!(pn > 0) && !(isinf(pn)))
            luaL_argerror(L, 2, lua_pushfstring(L, "p must be positive or +-inf, got %f",
                                                (LUAI_UACNUMBER)pn));
    } else if (!lua_isnoneornil(L, 2) && lua_type(L, 2) != LUA_TTABLE) {
        luaL_typeerror(L, 2, "p or option table");
    }
    if (lua_type(L, 2) == LUA_TNUMBER) luaL_argerror(L, 2, "give dim as {dim = d}");
    reduce_args r = check_reduce(L, t, 0);
    mf_tensor **a = lmf_newtensor(L); /* |t| (float) */
    lmf_check(L, mf_op_run1(MF_OP_ABS, t, NULL, a));
    if (!mf_dtype_is_float((*a)->dtype)) {
        mf_tensor **f = lmf_newtensor(L);
        lmf_check(L, mf_tensor_to(f, *a, MF_FLOAT32));
        a = f;
    }
    lmf_account(L);
    if (isinf(pn)) {
        mf_tensor **v = lmf_newtensor(L), **i = lmf_newtensor(L);
        lmf_check(L, mf_tensor_max(v, i, *a, r.dim, r.keepdim, pn < 0));
        lua_pop(L, 1);
        return 1;
    }
    mf_tensor hp;
    scalar_buf bp;
    mf_tensor_borrow_scalar(&hp, (*a)->dtype, &bp);
    if ((*a)->dtype == MF_FLOAT32) bp.f = (float)pn;
    else bp.d = pn;
    mf_tensor **powered = a;
    if (pn != 1) {
        powered = lmf_newtensor(L);
        lmf_check(L, mf_tensor_binary(MF_OP_POW, powered, *a, &hp));
    }
    mf_tensor **s = lmf_newtensor(L);
    lmf_check(L, mf_tensor_reduce(MF_OP_SUM, s, *powered, r.dim, r.keepdim));
    lmf_account(L);
    if (pn == 1) return 1;
    if ((*a)->dtype == MF_FLOAT32) bp.f = (float)(1.0 / pn);
    else bp.d = 1.0 / pn;
    NEW_TENSOR(L, mf_tensor_binary(MF_OP_POW, out, *s, &hp));
    return 1;
}

static const luaL_Reg reduce_methods[] = {
    {"mean", l_mean},     {"max", l_max},       {"min", l_min},   {"amax", l_amax},
    {"amin", l_amin},     {"argmax", l_argmax}, {"argmin", l_argmin},
    {"var", l_var},       {"std", l_std},       {"cumsum", l_cumsum},
    {"norm", l_norm},     {NULL, NULL},
};

static const struct {
    const char *name;
    mf_op_id op;
} reduce_ops[] = {
    {"sum", MF_OP_SUM}, {"prod", MF_OP_PROD}, {"logsumexp", MF_OP_LOGSUMEXP},
    {"all", MF_OP_ALL}, {"any", MF_OP_ANY},
};

/* ------------------------------------------------------------------ registration */
static const struct {
    const char *name;
    mf_op_id op;
    double sign;
} binary_ops[] = {
    {"add", MF_OP_ADD, 1},
    {"sub", MF_OP_ADD, -1},
    {"mul", MF_OP_MUL, 1},
    {"div", MF_OP_DIV, 1},
    {"pow", MF_OP_POW, 1},
    {"remainder", MF_OP_REMAINDER, 1},
    {"floor_divide", MF_OP_FLOOR_DIVIDE, 1},
    {"maximum", MF_OP_MAXIMUM, 1},
    {"minimum", MF_OP_MINIMUM, 1},
    {"gt", MF_OP_GT, 1},
    {"ge", MF_OP_GE, 1},
    {"lt", MF_OP_LT, 1},
    {"le", MF_OP_LE, 1},
    {"eq", MF_OP_EQ, 1},
    {"ne", MF_OP_NE, 1},
    {"logical_and", MF_OP_LOGICAL_AND, 1},
    {"logical_or", MF_OP_LOGICAL_OR, 1},
    {"logical_xor", MF_OP_LOGICAL_XOR, 1},
};

/* in-place forms exist for these */
static int has_inplace_binary(mf_op_id op)
{
    return op == MF_OP_ADD || op == MF_OP_MUL || op == MF_OP_DIV || op == MF_OP_POW ||
           op == MF_OP_REMAINDER || op == MF_OP_FLOOR_DIVIDE || op == MF_OP_MAXIMUM ||
           op == MF_OP_MINIMUM;
}

static const struct {
    const char *name;
    mf_op_id op;
    params_fn params;
} unary_ops[] = {
    {"neg", MF_OP_NEG, NULL},         {"exp", MF_OP_EXP, NULL},
    {"log", MF_OP_LOG, NULL},         {"log1p", MF_OP_LOG1P, NULL},
    {"expm1", MF_OP_EXPM1, NULL},     {"sqrt", MF_OP_SQRT, NULL},
    {"rsqrt", MF_OP_RSQRT, NULL},     {"abs", MF_OP_ABS, NULL},
    {"sign", MF_OP_SIGN, NULL},       {"sin", MF_OP_SIN, NULL},
    {"cos", MF_OP_COS, NULL},         {"tanh", MF_OP_TANH, NULL},
    {"sigmoid", MF_OP_SIGMOID, NULL}, {"relu", MF_OP_RELU, NULL},
    {"erf", MF_OP_ERF, NULL},
    {"floor", MF_OP_FLOOR, NULL},     {"ceil", MF_OP_CEIL, NULL},
    {"round", MF_OP_ROUND, NULL},     {"clamp", MF_OP_CLAMP, clamp_params},
    {"nan_to_num", MF_OP_NAN_TO_NUM, nan_to_num_params},
    {"isnan", MF_OP_ISNAN, NULL},     {"isfinite", MF_OP_ISFINITE, NULL},
    {"logical_not", MF_OP_LOGICAL_NOT, NULL},
};

static int has_inplace_unary(mf_op_id op)
{
    return op != MF_OP_ISNAN && op != MF_OP_ISFINITE && op != MF_OP_LOGICAL_NOT;
}

/* Registers closure (on top) as `name` in mod and methods; pops it. */
static void set_both(lua_State *L, int mod, int methods, const char *name)
{
    lua_pushvalue(L, -1);
    lua_setfield(L, methods, name);
    lua_setfield(L, mod, name);
}

static void push_binary(lua_State *L, mf_op_id op, double sign, int inplace)
{
    lua_pushinteger(L, op);
    lua_pushnumber(L, sign);
    lua_pushboolean(L, inplace);
    lua_pushcclosure(L, l_binary, 3);
}

static void push_unary(lua_State *L, mf_op_id op, params_fn params, int inplace)
{
    lua_pushinteger(L, op);
    lua_pushboolean(L, inplace);
    lua_pushlightuserdata(L, (void *)params);
    lua_pushcclosure(L, l_unary, 3);
}

static const luaL_Reg math_methods[] = {
    {"where", l_where},
    {NULL, NULL},
};

/* The Lua operators on tensors. */
static const struct {
    const char *event;
    mf_op_id op;
    double sign;
} metamethods[] = {
    {"__add", MF_OP_ADD, 1},          {"__sub", MF_OP_ADD, -1},   {"__mul", MF_OP_MUL, 1},
    {"__div", MF_OP_DIV, 1},          {"__pow", MF_OP_POW, 1},    {"__mod", MF_OP_REMAINDER, 1},
    {"__idiv", MF_OP_FLOOR_DIVIDE, 1},
};

void lmf_open_math(lua_State *L, int mod, int methods)
{
    char name[64];
    for (size_t i = 0; i < sizeof binary_ops / sizeof binary_ops[0]; i++) {
        push_binary(L, binary_ops[i].op, binary_ops[i].sign, 0);
        set_both(L, mod, methods, binary_ops[i].name);
        if (has_inplace_binary(binary_ops[i].op)) {
            push_binary(L, binary_ops[i].op, binary_ops[i].sign, 1);
            snprintf(name, sizeof name, "%s_", binary_ops[i].name);
            set_both(L, mod, methods, name);
        }
    }
    for (size_t i = 0; i < sizeof unary_ops / sizeof unary_ops[0]; i++) {
        push_unary(L, unary_ops[i].op, unary_ops[i].params, 0);
        set_both(L, mod, methods, unary_ops[i].name);
        if (has_inplace_unary(unary_ops[i].op)) {
            push_unary(L, unary_ops[i].op, unary_ops[i].params, 1);
            snprintf(name, sizeof name, "%s_", unary_ops[i].name);
            set_both(L, mod, methods, name);
        }
    }
    lmf_register(L, mod, methods, math_methods);
    lmf_register(L, mod, methods, reduce_methods);
    for (size_t i = 0; i < sizeof reduce_ops / sizeof reduce_ops[0]; i++) {
        lua_pushinteger(L, reduce_ops[i].op);
        lua_pushcclosure(L, l_reduce, 1);
        set_both(L, mod, methods, reduce_ops[i].name);
    }

    luaL_getmetatable(L, LMF_TENSOR_MT);
    for (size_t i = 0; i < sizeof metamethods / sizeof metamethods[0]; i++) {
        push_binary(L, metamethods[i].op, metamethods[i].sign, 0);
        lua_setfield(L, -2, metamethods[i].event);
    }
    lua_pushcfunction(L, m_unm);
    lua_setfield(L, -2, "__unm");
    lua_pop(L, 1);
}
