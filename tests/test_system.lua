-- Warnings and the thread setting.
local lu = require "luaunit"
local mf = require "moonforge"

TestWarnings = {}

function TestWarnings:test_capture()
    local list, a, b = mf.capture_warnings(function(x)
        mf.warn("first %d", 1)
        mf.warn("second")
        return x, "r"
    end, 42)
    lu.assertEquals(list, {"first 1", "second"})
    lu.assertEquals(a, 42)
    lu.assertEquals(b, "r")
end

function TestWarnings:test_nested_capture_and_errors()
    local outer = mf.capture_warnings(function()
        local inner = mf.capture_warnings(function() mf.warn("in") end)
        lu.assertEquals(inner, {"in"})
        mf.warn("out")
    end)
    lu.assertEquals(outer, {"out"})
    lu.assertErrorMsgContains("boom", mf.capture_warnings, function() error("boom") end)
    -- the failed capture was removed: this warning is captured by the next one only
    local after = mf.capture_warnings(function() mf.warn("after") end)
    lu.assertEquals(after, {"after"})
end

-- Runs code in a child moonforge and returns its stderr.
local function child_stderr(code)
    local exe = os.getenv("MOONFORGE_EXE") or arg[-1]
    local src, errf = os.tmpname(), os.tmpname()
    local f = assert(io.open(src, "w"))
    f:write(code)
    f:close()
    os.execute(("%q %q 2>%q"):format(exe, src, errf))
    local e = assert(io.open(errf)):read("a")
    os.remove(src)
    os.remove(errf)
    return e
end

function TestWarnings:test_stderr_and_silencing()
    lu.assertEquals(child_stderr('require("moonforge").warn("hello")'),
                    "moonforge: warning: hello\n")
    lu.assertEquals(child_stderr([[
        local mf = require "moonforge"
        lu = mf.set_warnings(false)
        mf.warn("hidden")
    ]]), "")
end

TestThreads = {}

function TestThreads:tearDown()
    mf.set_num_threads(mf.num_cores())
end

function TestThreads:test_set_and_get()
    lu.assertEquals(mf.set_num_threads(1), 1)
    lu.assertEquals(mf.get_num_threads(), 1)
    local cores = mf.num_cores()
    lu.assertTrue(cores >= 1)
    local list, got = mf.capture_warnings(mf.set_num_threads, cores + 5)
    lu.assertEquals(got, cores) -- never more threads than cores
    lu.assertEquals(#list, 1)
    lu.assertStrContains(list[1], "only " .. cores .. " cores")
    lu.assertErrorMsgContains("must be >= 1", mf.set_num_threads, 0)
end

function TestThreads:test_environment_variable()
    local exe = os.getenv("MOONFORGE_EXE") or arg[-1]
    local p = io.popen(("MOONFORGE_NUM_THREADS=1 %q -e 'print(require(\"moonforge\").get_num_threads())'"):format(exe))
    local out = p:read("a")
    p:close()
    lu.assertEquals(out, "1\n")
end

os.exit(lu.LuaUnit.run(), true)
