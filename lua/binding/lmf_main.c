/* lmf_main.c — luaopen_moonforge_core and the process-wide settings. */
#include <unistd.h>

#include "lmf.h"

static int l_set_num_threads(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 1, 1, "number of threads must be >= 1");
    lua_pushinteger(L, mf_set_num_threads(n > 1 << 20 ? 1 << 20 : (int)n));
    return 1;
}

/* mf._stdout_isatty() → whether stdout is a terminal (fit's progress bar) */
static int l_stdout_isatty(lua_State *L)
{
    lua_pushboolean(L, isatty(STDOUT_FILENO));
    return 1;
}

static int l_get_num_threads(lua_State *L)
{
    lua_pushinteger(L, mf_num_threads());
    return 1;
}

static int l_num_cores(lua_State *L)
{
    lua_pushinteger(L, mf_num_cores());
    return 1;
}

/* mf.clock(): monotonic wall-clock seconds, for timing */
static int l_clock(lua_State *L)
{
    lua_pushnumber(L, mf_clock());
    return 1;
}

static int l_blas_info(lua_State *L)
{
    lua_pushstring(L, mf_blas_info());
    return 1;
}

static int l_mem_in_use(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)mf_mem_in_use());
    return 1;
}

/* mf.mem_allocations() → allocations made by core so far: a loop that
 * allocates nothing leaves it unchanged */
static int l_mem_allocations(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)mf_mem_allocations());
    return 1;
}

/* mf.mem_cached() → bytes of freed large blocks kept for reuse;
 * mf.mem_trim() gives them back to the system. */
static int l_mem_cached(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)mf_mem_cached());
    return 1;
}

static int l_mem_cache_enabled(lua_State *L)
{
    lua_pushboolean(L, mf_mem_cache_enabled());
    return 1;
}

static int l_mem_trim(lua_State *L)
{
    (void)L;
    mf_mem_trim();
    return 0;
}

/* Test hook: make the n-th core allocation from now fail. */
static int l_fail_alloc_after(lua_State *L)
{
    mf_mem_fail_after((long)luaL_checkinteger(L, 1));
    return 0;
}

/* The op table, as {name = {inputs = n, view = bool, differentiable = bool,
 * backward = bool}}: tests walk it. */
static int l_ops(lua_State *L)
{
    lua_createtable(L, 0, mf_op_count());
    for (int i = 0; i < mf_op_count(); i++) {
        const mf_op *op = mf_op_get((mf_op_id)i);
        lua_createtable(L, 0, 4);
        lua_pushinteger(L, op->n_in);
        lua_setfield(L, -2, "inputs");
        lua_pushboolean(L, (op->flags & MF_OPF_VIEW) != 0);
        lua_setfield(L, -2, "view");
        lua_pushboolean(L, (op->flags & MF_OPF_DIFF) != 0);
        lua_setfield(L, -2, "differentiable");
        lua_pushboolean(L, op->backward != NULL);
        lua_setfield(L, -2, "backward");
        lua_setfield(L, -2, op->name);
    }
    return 1;
}

static const luaL_Reg system_funcs[] = {
    {"set_num_threads", l_set_num_threads},
    {"get_num_threads", l_get_num_threads},
    {"_stdout_isatty", l_stdout_isatty},
    {"num_cores", l_num_cores},
    {"blas_info", l_blas_info},
    {"clock", l_clock},
    {"mem_in_use", l_mem_in_use},
    {"mem_allocations", l_mem_allocations},
    {"mem_cached", l_mem_cached},
    {"mem_trim", l_mem_trim},
    {"mem_cache_enabled", l_mem_cache_enabled},
    {"_fail_alloc_after", l_fail_alloc_after},
    {"ops", l_ops},
    {NULL, NULL},
};

void lmf_open_system(lua_State *L, int mod)
{
    lmf_register(L, mod, 0, system_funcs);
    lua_pushliteral(L, MF_VERSION_STRING);
    lua_setfield(L, mod, "version");
}

int luaopen_moonforge_core(lua_State *L)
{
    mf_threads_init();
    lua_newtable(L);
    int mod = lua_gettop(L);
    lua_newtable(L);
    int methods = lua_gettop(L);
    lmf_open_system(L, mod);
    lmf_open_tensor(L, mod, methods);
    lmf_open_random(L, mod);
    lmf_open_math(L, mod, methods);
    lmf_open_linalg(L, mod, methods);
    lmf_open_select(L, mod, methods);
    lmf_open_autograd(L, mod, methods);
    lmf_open_file(L, mod, methods);
    lmf_open_optim(L, mod, methods);
    lmf_open_plan(L, mod, methods);
    lmf_open_csv(L, mod, methods);
    lmf_open_prep(L, mod, methods);
    lmf_open_rows(L, mod, methods);
    lmf_open_clean(L, mod, methods);
    lmf_open_generator(L, mod, methods);
    lmf_open_feat(L, mod, methods);
    lmf_open_classify(L, mod, methods);
    lmf_open_linear(L, mod, methods);
    lmf_open_neighbors(L, mod, methods);
    lmf_open_svm(L, mod, methods);
    lua_pushvalue(L, methods);
    lua_setfield(L, mod, "Tensor"); /* the methods table, for Lua modules */
    lua_settop(L, mod);
    return 1;
}
