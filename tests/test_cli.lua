-- test_cli.lua — the moonforge executable's command line (lua/cli/main.c,
-- moonforge.cli, scripts/info.lua), driven as a child process.
--
--   build/moonforge tests/test_cli.lua
--
-- The executable under test is $MOONFORGE_EXE, else the one running this file.

local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local support = require "support"
local quote, write_file = support.quote, support.write_file
local function read_file(path) return assert(support.read_file(path)) end

local EXE = os.getenv("MOONFORGE_EXE") or arg[-1]
local VERSION = require("moonforge.core").version

local temps = {}

local function tmpfile(content)
    local path = os.tmpname()
    temps[#temps + 1] = path
    if content then write_file(path, content) end
    return path
end

-- Runs EXE with the given arguments, stdin piped from `input` (empty if nil:
-- never the terminal, which would start the REPL). `env` is a shell prefix
-- such as "cd /tmp && X=1". Returns exit status, stdout, stderr.
local function run(args, input, env)
    local inp, out, err = tmpfile(input or ""), tmpfile(), tmpfile()
    local words = {}
    for i, a in ipairs(args) do words[i] = quote(a) end
    local cmd = ("cat %s | %s %s %s >%s 2>%s"):format(quote(inp),
        env and "(" .. env .. " && exec " or "(exec", quote(EXE), table.concat(words, " ") .. ")",
        quote(out), quote(err))
    local _, how, code = os.execute(cmd)
    lu.assertEquals(how, "exit", "child killed by a signal: " .. cmd)
    return code, read_file(out), read_file(err)
end

local function absolute(path)
    if path:sub(1, 1) == "/" then return path end
    local p = assert(io.popen("pwd"))
    local cwd = p:read("l")
    p:close()
    return cwd .. "/" .. path
end

local function assertContains(s, sub)
    lu.assertStrContains(s, sub, false)
end

TestCli = {}

function TestCli:tearDown()
    for _, path in ipairs(temps) do os.remove(path) end
    temps = {}
end

function TestCli:testExecuteStrings()
    -- Several -e run in order; mf is preset; without a script, arg[0] is the
    -- interpreter and the options follow it.
    local code, out, err = run({ "-e", "x = 20", "-e", "print(x + 1, mf.version, arg[0], arg[1], #arg)" })
    lu.assertEquals(err, "")
    lu.assertEquals(code, 0)
    lu.assertEquals(out, ("21\t%s\t%s\t-e\t4\n"):format(VERSION, EXE))
    code, out = run({ "-eprint('attached')", "-l", "luaunit", "-e", "print(type(luaunit))" })
    lu.assertEquals(code, 0)
    lu.assertEquals(out, "attached\ntable\n")
end

function TestCli:testExecuteStringSyntaxError()
    local code, out, err = run({ "-e", "x = = 1" })
    lu.assertEquals(code, 1)
    lu.assertEquals(out, "")
    lu.assertStrMatches(err, "moonforge: %(command line%):1: unexpected symbol near '='\n")
end

function TestCli:testScriptWithArgs()
    local script = tmpfile([[
print(arg[0], arg[1], arg[2], #arg, select("#", ...), ...)
print(arg[-1], arg[-2])
print(type(mf))
]])
    local code, out, err = run({ "-W", script, "a b", "-e" })
    lu.assertEquals(err, "")
    lu.assertEquals(code, 0)
    lu.assertEquals(out, ("%s\ta b\t-e\t2\t2\ta b\t-e\n-W\t%s\nnil\n"):format(script, EXE))
end

function TestCli:testStdinDash()
    local code, out, err = run({ "-", "x", "y" }, "print(arg[0], #arg, ...)")
    lu.assertEquals(err, "")
    lu.assertEquals(code, 0)
    lu.assertEquals(out, "-\t2\tx\ty\n")
end

function TestCli:testPipedStdinWithoutArgs()
    -- Not a terminal: stdin is run as a program, without prompt or banner.
    local code, out, err = run({}, "print('piped', select('#', ...))\nprint(arg[0] ~= nil)")
    lu.assertEquals(err, "")
    lu.assertEquals(code, 0)
    lu.assertEquals(out, "piped\t0\ntrue\n")
end

function TestCli:testRepl()
    local input = table.concat({
        "1 + 1",                   -- an expression: its value is printed
        "x = 10",                  -- a statement: nothing printed
        "x, 'a', nil",             -- all values, tab separated
        "for i = 1, 2 do",         -- continued over three lines
        "  io.write(i, ';')",
        "end",
        "error('boom')",           -- reported, and the REPL goes on
        "print('after', mf.version)",
        "",
    }, "\n")
    local code, out, err = run({ "-i" }, input)
    lu.assertEquals(code, 0)
    lu.assertStrMatches(out, "moonforge " .. VERSION:gsub("%p", "%%%0") .. " %(.-\n.*")
    assertContains(out, "> 2\n")
    assertContains(out, "> 10\ta\tnil\n")
    assertContains(out, "> >> >> 1;2;> ")
    assertContains(out, "after\t" .. VERSION .. "\n")
    lu.assertStrMatches(err, "moonforge: stdin:1: boom\nstack traceback:\n.*")
    lu.assertEquals(select(2, err:gsub("boom", "")), 1)
    lu.assertNotStrContains(err, "cli.lua")
    lu.assertNotStrContains(err, "xpcall")
end

function TestCli:testReplAfterScriptAndIncompleteAtEof()
    local script = tmpfile("y = 5\n")
    local code, out, err = run({ "-i", script }, "y * 2\nlocal t = {\n")
    lu.assertEquals(code, 0)
    assertContains(out, "> 10\n> >> ")
    assertContains(err, "moonforge: stdin:")
    assertContains(err, "near <eof>")
end

function TestCli:testVersion()
    for _, opt in ipairs({ "-v", "--version" }) do
        local code, out, err = run({ opt })
        lu.assertEquals(err, "")
        lu.assertEquals(code, 0)
        lu.assertStrMatches(out, "moonforge " .. VERSION:gsub("%p", "%%%0") ..
            " %(Lua 5%.4%.%d+, OpenBLAS [^\n]*%)\n")
    end
    -- -i prints the same line as its banner, but not twice.
    local _, banner = run({ "-v", "-i" }, "")
    lu.assertStrMatches(banner, "moonforge [^\n]*\n> \n")
    -- Like lua: -v then the rest.
    local code, out = run({ "-v", "-e", "print 'next'" })
    lu.assertEquals(code, 0)
    lu.assertStrMatches(out, "moonforge [^\n]*\nnext\n")
end

function TestCli:testHelp()
    local code, out, err = run({ "--help" })
    lu.assertEquals(err, "")
    lu.assertEquals(code, 0)
    for _, opt in ipairs({ "-e stat", "-i ", "-l mod", "-v, --version", "-h, --help",
                           "-W ", "\n  -- ", "\n  - " }) do
        assertContains(out, opt)
    end
    local subcommands = out:find("\nSubcommands:\n", 1, true)
    lu.assertNotNil(subcommands)
    lu.assertNotNil(out:find("\n  info +%S[^\n]*\n", subcommands))
    local code2, out2 = run({ "-h" })
    lu.assertEquals(code2, 0)
    lu.assertEquals(out2, out)
end

function TestCli:testBadOption()
    local code, out, err = run({ "-x" })
    lu.assertEquals(code, 1)
    lu.assertEquals(out, "")
    lu.assertStrMatches(err, "moonforge: unrecognized option '%-x'\nusage: .*")
    code, _, err = run({ "-e" })
    lu.assertEquals(code, 1)
    lu.assertStrMatches(err, "moonforge: '%-e' needs argument\n.*")
end

function TestCli:testInfoFoundBesideExecutable()
    -- From another directory and without MOONFORGE_SCRIPT_PATH, `info` can
    -- only be found relative to the executable.
    local mf = require "moonforge"
    local saved = EXE
    EXE = absolute(EXE)
    local code, out, err = run({ "info" }, nil, "cd / && unset MOONFORGE_SCRIPT_PATH")
    EXE = saved
    lu.assertEquals(err, "")
    lu.assertEquals(code, 0)
    lu.assertStrMatches(out, "moonforge +" .. VERSION:gsub("%p", "%%%0") .. "\n.*")
    lu.assertStrMatches(out, ".*\nlua +5%.4\n.*")
    lu.assertStrMatches(out, ".*\ncores +" .. mf.num_cores() .. "\n.*")
    lu.assertStrMatches(out, ".*\nthreads +" .. mf.get_num_threads() .. "\n.*")
end

function TestCli:testScriptPath()
    local dir = tmpfile()
    os.remove(dir)
    lu.assertTrue(os.execute("mkdir " .. quote(dir)))
    write_file(dir .. "/hello.lua", "print('hello', arg[0], ...)\n")
    local code, out, err = run({ "hello", "a", "b" }, nil,
        "MOONFORGE_SCRIPT_PATH=/nonexistent:" .. quote(dir) .. " && export MOONFORGE_SCRIPT_PATH")
    os.remove(dir .. "/hello.lua")
    os.remove(dir)
    lu.assertEquals(err, "")
    lu.assertEquals(code, 0)
    lu.assertEquals(out, ("hello\t%s/hello.lua\ta\tb\n"):format(dir))
end

function TestCli:testUnknownSubcommand()
    local code, out, err = run({ "no_such-cmd", "x" }, nil, "unset MOONFORGE_SCRIPT_PATH")
    lu.assertEquals(code, 1)
    lu.assertEquals(out, "")
    lu.assertStrMatches(err, "moonforge: no script or subcommand 'no_such%-cmd' %(looked in: [^\n]*/scripts%)\n")
end

function TestCli:testMissingScriptFile()
    local code, _, err = run({ "/nonexistent/x.lua" })
    lu.assertEquals(code, 1)
    lu.assertStrMatches(err, "moonforge: cannot open /nonexistent/x%.lua[^\n]*\n")
end

function TestCli:testScriptErrorTraceback()
    local script = tmpfile("local function inner()\n  error('bad thing')\nend\ninner()\nprint('not reached')\n")
    local code, out, err = run({ script })
    lu.assertEquals(code, 1)
    lu.assertEquals(out, "")
    local p = script:gsub("%p", "%%%0")
    lu.assertStrMatches(err, "moonforge: " .. p .. ":2: bad thing\nstack traceback:\n.*")
    lu.assertStrMatches(err, ".*\n%s*" .. p .. ":2: in [^\n]*'inner'\n%s*" .. p .. ":4: in .*")
end

function TestCli:testStateClosedAtNormalExit()
    local script = tmpfile("setmetatable({}, {__gc = function() print('finalized') end})\n")
    local code, out, err = run({ script })
    lu.assertEquals(err, "")
    lu.assertEquals(code, 0)
    lu.assertEquals(out, "finalized\n")
end

function TestCli:testOsExit()
    -- The state is closed on os.exit: the finalizer runs.
    local script = tmpfile("setmetatable({}, {__gc = function() print('finalized') end})\nos.exit(3)\nprint('not reached')\n")
    local code, out, err = run({ script })
    lu.assertEquals(err, "")
    lu.assertEquals(code, 3)
    lu.assertEquals(out, "finalized\n")
    code = run({ "-e", "os.exit(true, true)" })
    lu.assertEquals(code, 0)
    code = run({ "-e", "os.exit(false)" })
    lu.assertEquals(code, 1)
end

os.exit(lu.LuaUnit.run(), true)
