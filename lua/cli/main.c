/*
 * main.c — the moonforge executable: Lua 5.4 with moonforge's modules built
 * in (package.preload), so one file runs moonforge scripts anywhere.
 *
 * The command line itself is handled in Lua, by moonforge.cli. C does only
 * what Lua cannot: find the executable's path, tell whether stdin is a
 * terminal, list a directory, and own the lua_State so that it is closed on
 * every way out (finalizers run; LeakSanitizer sees nothing left).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "lmf.h"

/* The modules under lua/moonforge/, generated into build/gen/preload.c by
 * lua/cli/embed.lua, which repeats this definition. Ends with a NULL name. */
struct mf_embedded {
    const char *name, *chunkname;
    const unsigned char *src;
    size_t len;
};
extern const struct mf_embedded mf_embedded_modules[];

/* package.preload loader of one embedded module (upvalue 1: its entry).
 * require calls it as loader(name, ":preload:"); the chunk gets those two
 * arguments as its `...`, as a module file gets (name, path). */
static int load_embedded(lua_State *L)
{
    const struct mf_embedded *m = lua_touserdata(L, lua_upvalueindex(1));
    if (luaL_loadbufferx(L, (const char *)m->src, m->len, m->chunkname, "t") != LUA_OK)
        return lua_error(L);
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static void preload_modules(lua_State *L)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_moonforge_core);
    lua_setfield(L, -2, "moonforge.core");
    for (const struct mf_embedded *m = mf_embedded_modules; m->name != NULL; m++) {
        lua_pushlightuserdata(L, (void *)m);
        lua_pushcclosure(L, load_embedded, 1);
        lua_setfield(L, -2, m->name);
    }
    lua_pop(L, 1);
}

/* Fills the table for listdir with the names in the DIR * at 1. Runs in
 * protected mode, so that l_listdir closes the directory even when pushing
 * a name fails for lack of memory. */
static int listdir_fill(lua_State *L)
{
    DIR *d = lua_touserdata(L, 1);
    struct dirent *e;
    lua_Integer n = 0;
    lua_newtable(L);
    while ((e = readdir(d)) != NULL) {
        lua_pushstring(L, e->d_name);
        lua_rawseti(L, -2, ++n);
    }
    return 1;
}

/* listdir(path) -> {name, ...} in no particular order, or nil, message. */
static int l_listdir(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    DIR *d = opendir(path);
    if (d == NULL)
        return luaL_fileresult(L, 0, path);
    lua_pushcfunction(L, listdir_fill);
    lua_pushlightuserdata(L, d);
    int st = lua_pcall(L, 1, 1, 0);
    closedir(d);
    if (st != LUA_OK)
        return lua_error(L);
    return 1;
}

/* The argument of moonforge.cli.main: what only C knows. argv keeps C's
 * 0-based numbering; cli.lua builds the global `arg` from it. */
static void push_host(lua_State *L, int argc, char **argv)
{
    lua_createtable(L, 0, 6);

    lua_createtable(L, argc, 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i);
    }
    lua_setfield(L, -2, "argv");

    /* /proc/self/exe is absolute with symlinks resolved, so cli.lua can find
     * <prefix>/share/... from it; argv[0] is only a fallback. */
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe);
    if (n > 0 && (size_t)n < sizeof exe)
        lua_pushlstring(L, exe, (size_t)n);
    else
        lua_pushstring(L, argc > 0 && argv[0] != NULL ? argv[0] : "moonforge");
    lua_setfield(L, -2, "exe");

    lua_pushboolean(L, isatty(STDIN_FILENO));
    lua_setfield(L, -2, "stdin_tty");
    lua_pushliteral(L, LUA_RELEASE); /* "Lua 5.4.4"; _VERSION lacks the .4 */
    lua_setfield(L, -2, "lua_release");
    lua_pushstring(L, mf_blas_info());
    lua_setfield(L, -2, "blas");
    lua_pushcfunction(L, l_listdir);
    lua_setfield(L, -2, "listdir");
}

/* Everything that touches Lua runs here, in protected mode (as lua.c's
 * pmain), so even a memory error during start-up is reported. Returns the
 * exit status that moonforge.cli.main returned. */
static int pmain(lua_State *L)
{
    int argc = (int)lua_tointeger(L, 1);
    char **argv = lua_touserdata(L, 2);
    luaL_checkversion(L);
    luaL_openlibs(L);
    preload_modules(L);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "moonforge.cli");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "main");
    push_host(L, argc, argv);
    lua_call(L, 1, 1);
    return 1;
}

/* Message handler (lua.c's): the message, or a description of a non-string
 * error object, followed by the traceback from where the error was raised. */
static int msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int main(int argc, char **argv)
{
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        fputs("moonforge: cannot create the Lua state: not enough memory\n", stderr);
        return EXIT_FAILURE;
    }
    lua_pushcfunction(L, msghandler);
    lua_pushcfunction(L, pmain);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    int status;
    if (lua_pcall(L, 2, 1, 1) == LUA_OK) {
        status = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : EXIT_SUCCESS;
    } else {
        fprintf(stderr, "moonforge: %s\n", lua_tostring(L, -1));
        status = EXIT_FAILURE;
    }
    lua_close(L);
    return status;
}
