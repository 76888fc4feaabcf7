/*
 * lmf_linalg.c — matrix products and mf.linalg.
 *
 * Products are module functions and tensor methods (mf.matmul(a, b) ==
 * a:matmul(b)): matmul, mm, bmm, mv, dot, outer and addmm, each with an
 * optional {out = t} writing into an existing tensor. The decompositions
 * live in the sub-table mf.linalg (solve, inv, det, cholesky, qr, svd, eigh,
 * lstsq, and matmul again, as torch.linalg.matmul), like torch.linalg.
 */
#include <string.h>

#include "lmf.h"

static void no_more_args(lua_State *L, int arg)
{
    if (!lua_isnone(L, arg))
        luaL_argerror(L, arg,
                      lua_pushfstring(L, "unexpected argument (%s)", luaL_typename(L, arg)));
}

/* The tensor of option `out` of the table at arg, or NULL. The table keeps
 * it alive for the call. */
static mf_tensor *opt_out(lua_State *L, int arg)
{
    mf_tensor *o = NULL;
    if (lmf_getopt(L, arg, "out") != LUA_TNIL) {
        mf_tensor **slot = luaL_testudata(L, -1, LMF_TENSOR_MT);
        if (!slot)
            luaL_argerror(L, arg, lua_pushfstring(L, "option 'out' must be a tensor, got %s",
                                                  luaL_typename(L, -1)));
        if (!*slot) luaL_argerror(L, arg, "option 'out' is a freed tensor");
        o = *slot;
    }
    lua_pop(L, 1);
    return o;
}

/* Index of `key`'s string value among `names` (def when absent); `expected`
 * lists them for the error message. */
static int opt_choice(lua_State *L, int arg, const char *key, const char *const *names,
                      const char *expected, int def)
{
    int ty = lmf_getopt(L, arg, key), v = def;
    if (ty != LUA_TNIL) {
        const char *s = ty == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        for (v = 0; s && names[v] && strcmp(names[v], s) != 0; v++) {}
        if (!s)
            luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' must be %s, got %s", key,
                                                  expected, luaL_typename(L, -1)));
        if (!names[v])
            luaL_argerror(L, arg, lua_pushfstring(L, "option '%s' must be %s, got '%s'", key,
                                                  expected, s));
    }
    lua_pop(L, 1);
    return v;
}

/* ------------------------------------------------------------------ products */
typedef mf_status (*product_fn)(mf_tensor **, mf_tensor *, mf_tensor *);
typedef mf_status (*product_into_fn)(mf_tensor *, mf_tensor *, mf_tensor *);

static const char *const out_keys[] = {"out", NULL};

/* f(a, b [, {out = t}]) → a new tensor, or t filled */
static int product(lua_State *L, product_fn f, product_into_fn f_into)
{
    mf_tensor *a = lmf_checktensor(L, 1), *b = lmf_checktensor(L, 2);
    lmf_checkopts(L, 3, out_keys);
    no_more_args(L, 4);
    mf_tensor *o = opt_out(L, 3);
    if (o) {
        lmf_check(L, f_into(o, a, b));
        lmf_getopt(L, 3, "out");
        return 1;
    }
    NEW_TENSOR(L, f(out, a, b));
    return 1;
}

static int l_matmul(lua_State *L) { return product(L, mf_tensor_matmul, mf_tensor_matmul_into); }
static int l_mm(lua_State *L) { return product(L, mf_tensor_mm, mf_tensor_mm_into); }
static int l_bmm(lua_State *L) { return product(L, mf_tensor_bmm, mf_tensor_bmm_into); }
static int l_mv(lua_State *L) { return product(L, mf_tensor_mv, mf_tensor_mv_into); }
static int l_dot(lua_State *L) { return product(L, mf_tensor_dot, mf_tensor_dot_into); }
static int l_outer(lua_State *L) { return product(L, mf_tensor_outer, mf_tensor_outer_into); }

/* mf.addmm(c, a, b [, {alpha = 1, beta = 1, out = t}]) = beta c + alpha (a @ b) */
static int l_addmm(lua_State *L)
{
    static const char *const keys[] = {"alpha", "beta", "out", NULL};
    mf_tensor *c = lmf_checktensor(L, 1), *a = lmf_checktensor(L, 2), *b = lmf_checktensor(L, 3);
    lmf_checkopts(L, 4, keys);
    no_more_args(L, 5);
    double alpha = lmf_optnumber(L, 4, "alpha", 1), beta = lmf_optnumber(L, 4, "beta", 1);
    mf_tensor *o = opt_out(L, 4);
    if (o) {
        lmf_check(L, mf_tensor_addmm_into(o, c, a, b, alpha, beta));
        lmf_getopt(L, 4, "out");
        return 1;
    }
    NEW_TENSOR(L, mf_tensor_addmm(out, c, a, b, alpha, beta));
    return 1;
}

/* ------------------------------------------------------------------ linalg */
static int l_solve(lua_State *L)
{
    mf_tensor *a = lmf_checktensor(L, 1), *b = lmf_checktensor(L, 2);
    no_more_args(L, 3);
    NEW_TENSOR(L, mf_linalg_solve(out, a, b));
    return 1;
}

static int l_inv(lua_State *L)
{
    mf_tensor *a = lmf_checktensor(L, 1);
    no_more_args(L, 2);
    NEW_TENSOR(L, mf_linalg_inv(out, a));
    return 1;
}

static int l_det(lua_State *L)
{
    mf_tensor *a = lmf_checktensor(L, 1);
    no_more_args(L, 2);
    NEW_TENSOR(L, mf_linalg_det(out, a));
    return 1;
}

/* cholesky(A [, {upper = false}]) */
static int l_cholesky(lua_State *L)
{
    static const char *const keys[] = {"upper", NULL};
    mf_tensor *a = lmf_checktensor(L, 1);
    lmf_checkopts(L, 2, keys);
    no_more_args(L, 3);
    int upper = lmf_optboolean(L, 2, "upper", 0);
    NEW_TENSOR(L, mf_linalg_cholesky(out, a, upper));
    return 1;
}

/* qr(A [, {mode = "reduced" | "complete" | "r"}]) → Q, R */
static int l_qr(lua_State *L)
{
    static const char *const keys[] = {"mode", NULL};
    static const char *const modes[] = {"reduced", "complete", "r", NULL};
    mf_tensor *a = lmf_checktensor(L, 1);
    lmf_checkopts(L, 2, keys);
    no_more_args(L, 3);
    int mode = opt_choice(L, 2, "mode", modes, "'reduced', 'complete' or 'r'", 0);
    mf_tensor **q = lmf_newtensor(L), **r = lmf_newtensor(L);
    lmf_check(L, mf_linalg_qr(q, r, a, (mf_qr_mode)mode));
    lmf_account(L);
    return 2;
}

/* svd(A [, {full_matrices = false}]) → U, S, Vh */
static int l_svd(lua_State *L)
{
    static const char *const keys[] = {"full_matrices", NULL};
    mf_tensor *a = lmf_checktensor(L, 1);
    lmf_checkopts(L, 2, keys);
    no_more_args(L, 3);
    int full = lmf_optboolean(L, 2, "full_matrices", 0);
    mf_tensor **u = lmf_newtensor(L), **s = lmf_newtensor(L), **vh = lmf_newtensor(L);
    lmf_check(L, mf_linalg_svd(u, s, vh, a, full));
    lmf_account(L);
    return 3;
}

/* eigh(A [, {uplo = "L" | "U"}]) → eigenvalues, eigenvectors */
static int l_eigh(lua_State *L)
{
    static const char *const keys[] = {"uplo", NULL};
    static const char *const uplos[] = {"L", "U", NULL};
    mf_tensor *a = lmf_checktensor(L, 1);
    lmf_checkopts(L, 2, keys);
    no_more_args(L, 3);
    int upper = opt_choice(L, 2, "uplo", uplos, "'L' or 'U'", 0);
    mf_tensor **w = lmf_newtensor(L), **v = lmf_newtensor(L);
    lmf_check(L, mf_linalg_eigh(w, v, a, upper ? 'U' : 'L'));
    lmf_account(L);
    return 2;
}

/* lstsq(A, B [, {rcond = eps * max(m, n)}]) → solution, residuals, rank */
static int l_lstsq(lua_State *L)
{
    static const char *const keys[] = {"rcond", NULL};
    mf_tensor *a = lmf_checktensor(L, 1), *b = lmf_checktensor(L, 2);
    lmf_checkopts(L, 3, keys);
    no_more_args(L, 4);
    double rcond = lmf_optnumber(L, 3, "rcond", -1);
    if (lmf_getopt(L, 3, "rcond") != LUA_TNIL && !(rcond >= 0))
        luaL_argerror(L, 3, "option 'rcond' must be >= 0");
    lua_pop(L, 1);
    mf_tensor **x = lmf_newtensor(L), **res = lmf_newtensor(L), **rank = lmf_newtensor(L);
    lmf_check(L, mf_linalg_lstsq(x, res, rank, a, b, rcond));
    lmf_account(L);
    return 3;
}

/* ------------------------------------------------------------------ registration */
static const luaL_Reg product_funcs[] = {
    {"matmul", l_matmul},
    {"mm", l_mm},
    {"bmm", l_bmm},
    {"mv", l_mv},
    {"dot", l_dot},
    {"outer", l_outer},
    {"addmm", l_addmm},
    {NULL, NULL},
};

static const luaL_Reg linalg_funcs[] = {
    {"solve", l_solve},
    {"inv", l_inv},
    {"det", l_det},
    {"cholesky", l_cholesky},
    {"qr", l_qr},
    {"svd", l_svd},
    {"eigh", l_eigh},
    {"lstsq", l_lstsq},
    {"matmul", l_matmul},
    {NULL, NULL},
};

void lmf_open_linalg(lua_State *L, int mod, int methods)
{
    lmf_register(L, mod, methods, product_funcs);
    lua_newtable(L);
    lmf_register(L, lua_gettop(L), 0, linalg_funcs);
    lua_setfield(L, mod, "linalg");
}
