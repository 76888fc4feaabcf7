-- moonforge.cli — the command line of the moonforge executable.
--
-- lua/cli/main.c calls M.main(host) and exits with the status it returns.
-- host holds what only C can tell:
--   argv         the C argv, 0-based
--   exe          the executable's path (absolute, from /proc/self/exe)
--   stdin_tty    whether stdin is a terminal
--   lua_release  "Lua 5.4.x"; blas: OpenBLAS's configuration string
--   listdir(d)   the names in directory d, or nil, message
--
-- The options follow lua.c. Mistakes in the command line (bad option, unknown
-- script, syntax error) are reported here as "moonforge: message"; errors
-- raised while running user code propagate to main.c, which prints them with
-- the traceback from where they were raised and exits 1.

local M = {}

local USAGE = [==[
usage: moonforge [options] [script [args]]
       moonforge NAME [args]    run the subcommand NAME (a script, listed below)
Available options are:
  -e stat        execute string 'stat'
  -i             enter interactive mode after executing 'script'
  -l mod         require library 'mod' into global 'mod'
  -v, --version  show version information
  -h, --help     show this help
  -W             turn warnings on
  --             stop handling options
  -              stop handling options and execute stdin
With no script, -e or -v: interactive mode if stdin is a terminal, else the
program read from stdin. In -e chunks and interactive mode, the global mf is
require "moonforge" (loaded on first use).
]==]

local function report(msg)
    io.stderr:write("moonforge: ", msg, "\n")
    io.stderr:flush()
end

local function version_string(host)
    local core = require "moonforge.core"
    return ("moonforge %s (%s, %s)"):format(core.version, host.lua_release, host.blas)
end

-- True if path can be opened and read as a file (a directory can be opened
-- but not read; an empty file reads nil with no error).
local function is_file(path)
    local f = io.open(path, "rb")
    if not f then return false end
    local data, err = f:read(1)
    f:close()
    return data ~= nil or err == nil
end

---------------------------------------------------------------- subcommands

-- Where `moonforge NAME` looks for NAME.lua, in order.
local function script_dirs(host)
    local dirs = {}
    for dir in (os.getenv("MOONFORGE_SCRIPT_PATH") or ""):gmatch("[^:]+") do
        dirs[#dirs + 1] = dir
    end
    -- exe is normally canonical (no symlinks, no ".."), so its directory's
    -- parent is the install prefix, or the source tree for build/moonforge.
    local exedir = host.exe:match("^(.*)/[^/]*$") or "."
    local prefix = host.exe:sub(1, 1) == "/" and exedir:match("^(.*)/[^/]*$")
        or exedir .. "/.."
    dirs[#dirs + 1] = prefix .. "/share/moonforge/scripts"       -- make install
    dirs[#dirs + 1] = prefix .. "/share/lua/5.4/moonforge/scripts" -- luarocks tree
    dirs[#dirs + 1] = prefix .. "/scripts"                         -- build tree
    return dirs
end

-- The script to run for the command-line word `name`: an existing file, else
-- a subcommand NAME.lua from script_dirs. Returns the path, or nil, message.
local function locate(host, name)
    if is_file(name) or not name:match("^[%w_%-]+$") then return name end
    local dirs = script_dirs(host)
    for _, dir in ipairs(dirs) do
        local path = dir .. "/" .. name .. ".lua"
        if is_file(path) then return path end
    end
    return nil, ("no script or subcommand '%s' (looked in: %s)")
        :format(name, table.concat(dirs, ", "))
end

-- The usage text followed by the subcommands found, each with the first line
-- of its script when that is a comment.
local function help(host)
    local out, seen, names = { USAGE, "Subcommands:" }, {}, {}
    local dirs = script_dirs(host)
    for _, dir in ipairs(dirs) do
        for _, file in ipairs(host.listdir(dir) or {}) do
            local name = file:match("^([%w_%-]+)%.lua$")
            if name and not seen[name] then   -- the first dir shadows the others
                seen[name] = dir .. "/" .. file
                names[#names + 1] = name
            end
        end
    end
    table.sort(names)
    for _, name in ipairs(names) do
        local f = io.open(seen[name], "r")
        local first = f and f:read("l") or ""
        if f then f:close() end
        out[#out + 1] = ("  %-12s %s"):format(name, first:match("^%-%-+%s*(.-)%s*$") or "")
    end
    if #names == 0 then out[#out + 1] = "  (none found)" end
    out[#out + 1] = "Looked in (set MOONFORGE_SCRIPT_PATH=dir:dir to add):"
    for _, dir in ipairs(dirs) do out[#out + 1] = "  " .. dir end
    return table.concat(out, "\n") .. "\n"
end

---------------------------------------------------------------- options

-- lua.c's collectargs. Returns the options and the index in argv of the
-- script (nil when there is none), or nil and a message.
local function parse(argv)
    local o = { run = {} }   -- run: the -e and -l actions, in order
    local i = 1
    while argv[i] do
        local a = argv[i]
        if a:sub(1, 1) ~= "-" or a == "-" then return o, i end
        if a == "--" then return o, argv[i + 1] and i + 1 or nil end
        local flag = a:sub(1, 2)
        if flag == "-e" or flag == "-l" then
            local value = a:sub(3)
            if value == "" then
                i = i + 1
                value = argv[i]
                if value == nil then return nil, ("'%s' needs argument"):format(flag) end
            end
            o.run[#o.run + 1] = { flag, value }
        elseif a == "-i" then o.i = true
        elseif a == "-v" or a == "--version" then o.v = true
        elseif a == "-h" or a == "--help" then o.h = true
        elseif a == "-W" then o.W = true
        else
            return nil, ("unrecognized option '%s'"):format(a)
        end
        i = i + 1
    end
    return o, nil
end

---------------------------------------------------------------- running

-- For -e chunks and the REPL, the global mf is require "moonforge", loaded
-- on first use: the module is big and `moonforge -e ''` must start at once.
-- The hook is _G's metatable, and removes itself when used.
local lazy_mf = {
    __index = function(g, key)
        if key ~= "mf" then return nil end
        setmetatable(g, nil)
        local mf = require "moonforge"
        rawset(g, "mf", mf)
        return mf
    end,
}

local function preset_mf(on)
    if on and rawget(_G, "mf") == nil and getmetatable(_G) == nil then
        setmetatable(_G, lazy_mf)
    elseif not on and getmetatable(_G) == lazy_mf then
        setmetatable(_G, nil)
    end
end

-- xpcall handler of the REPL: main.c's msghandler, in Lua.
local function traceback(err)
    if type(err) ~= "string" and type(err) ~= "number" then
        local mt = getmetatable(err)
        err = mt and mt.__tostring and tostring(err)
            or ("(error object is a %s value)"):format(type(err))
    end
    -- Drop the frames from the REPL's xpcall (the last one) down: they are
    -- moonforge.cli's, not the user's.
    local tb = debug.traceback(err, 2)
    return tb:match("^(.*)\n[^\n]*%[C%]: in function 'xpcall'") or tb
end

local function readline(prompt)
    io.stdout:write(prompt)
    io.stdout:flush()
    return io.stdin:read("l")
end

-- One chunk typed at the REPL: `return <line>` if that compiles (so the
-- values of an expression are printed), else as many lines as it takes to
-- complete a statement; a chunk is incomplete, as lua.c decides, when its
-- syntax error is at "<eof>". Returns the function, or nil and the syntax
-- error, or false at the end of input.
local function read_chunk()
    local line = readline("> ")
    if line == nil then return false end
    local f = load("return " .. line .. ";", "=stdin")
    if f then return f end
    while true do
        local g, err = load(line, "=stdin")
        if g or err:sub(-5) ~= "<eof>" then return g, err end
        local more = readline(">> ")
        if more == nil then return nil, err end
        line = line .. "\n" .. more
    end
end

local function repl(host, banner)
    if banner then print(version_string(host)) end
    preset_mf(true)
    while true do
        local f, err = read_chunk()
        if f == false then break end
        if f == nil then
            report(err)
        else
            local r = table.pack(xpcall(f, traceback))
            if not r[1] then
                report(r[2])
            elseif r.n > 1 then
                local ok, perr = pcall(print, table.unpack(r, 2, r.n))
                if not ok then report("error calling 'print' (" .. tostring(perr) .. ")") end
            end
        end
    end
    io.stdout:write("\n")
    io.stdout:flush()
end

function M.main(host)
    local argv = host.argv
    local o, script = parse(argv)
    if not o then
        report(script)
        io.stderr:write(help(host))
        return 1
    end
    if o.h then
        io.write(help(host))
        return 0
    end

    -- Unlike lua.c, os.exit closes the state unless told not to: tensors'
    -- finalizers run and sanitizers find no leak. os.exit(n, false) does not.
    local os_exit = os.exit
    os.exit = function(code, close) return os_exit(code, close ~= false) end

    -- The global arg, as lua.c makes it: the script at 0, its arguments at
    -- 1..n, the interpreter and its options at negative indices. Without a
    -- script, arg[0] is the interpreter.
    local s = script or 0
    local arg = {}
    for k = 0, #argv do arg[k - s] = argv[k] end
    _G.arg = arg

    if o.W then warn("@on") end
    if o.v then print(version_string(host)) end
    preset_mf(true)
    for _, action in ipairs(o.run) do
        local flag, value = action[1], action[2]
        if flag == "-e" then
            local f, err = load(value, "=(command line)")
            if not f then report(err) return 1 end
            f()
        else
            _G[value] = require(value)
        end
    end
    preset_mf(false)   -- scripts require what they use

    if script then
        local path, err = argv[script], nil
        -- "-" is stdin, unless after "--" (then it is a file named "-").
        if path == "-" and argv[script - 1] ~= "--" then
            path = nil
        else
            path, err = locate(host, path)
            if not path then report(err) return 1 end
            arg[0] = path
        end
        -- Tracebacks name the script's frame after this local.
        local main_chunk, lerr = loadfile(path)
        if not main_chunk then report(lerr) return 1 end
        main_chunk(table.unpack(arg, 1, #argv - script))
    end

    if o.i then
        repl(host, not o.v)   -- -v printed it already
    elseif not script and #o.run == 0 and not o.v then
        if host.stdin_tty then
            repl(host, true)
        else
            local main_chunk, err = loadfile(nil)
            if not main_chunk then report(err) return 1 end
            main_chunk()
        end
    end
    return 0
end

return M
