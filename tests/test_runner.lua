-- tests/test_runner.lua — the test runner and the doc-block checker count
-- right, on the fixtures of tests/fixtures/ (which the suite itself never
-- runs directly: their names do not start with "test_").
local lu = require "luaunit"

local EXE = os.getenv("MOONFORGE_EXE")
    or error("MOONFORGE_EXE must name the moonforge executable (tests/run.lua sets it)")
local BUILD = EXE:match("^(.*)/[^/]*$") or "."
local ROOT = ((arg and arg[0] or "tests/test_runner.lua"):match("^(.*)/[^/]*$") or ".") .. "/.."

package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local quote = require("support").quote

-- Runs a moonforge script in the repo root; returns its output (stdout and
-- stderr) as a list of lines and its exit status.
local function run(script, ...)
    local words = { quote(EXE), script }
    for i, a in ipairs({ ... }) do words[i + 2] = quote(a) end
    local p = assert(io.popen("cd " .. quote(ROOT) .. " && " .. table.concat(words, " ")
        .. " 2>&1 </dev/null; echo \"exit $?\""))
    local out = {}
    for l in p:lines() do out[#out + 1] = l end
    p:close()
    local status = tonumber(table.remove(out):match("^exit (%d+)$"))
    return out, status
end

local function runner(...)
    return run("tests/run.lua", "--build", BUILD, ...)
end

local function has_line(lines, pattern)
    for _, l in ipairs(lines) do
        if l:find(pattern) then return true end
    end
    return false
end

local function assert_totals(lines, status, passed, failed)
    local want = ("%d passed, %d failed"):format(passed, failed)
    lu.assertEquals(lines[#lines], want, table.concat(lines, "\n"))
    lu.assertEquals(status == 0, failed == 0, "exit status " .. status)
end

local Runner = {}

function Runner.test_passing_luaunit_file()
    local out, status = runner("tests/fixtures/luaunit_pass.lua")
    assert_totals(out, status, 2, 0)
    -- A passing part shows its summary line only, never its output.
    lu.assertFalse(has_line(out, "^Ran "))
    lu.assertTrue(has_line(out, "^  tests/fixtures/luaunit_pass%.lua %.+ 2 ok, 0 failed$"))
end

function Runner.test_failures_and_errors_both_fail()
    local out, status = runner("tests/fixtures/luaunit_fail.lua")
    assert_totals(out, status, 1, 2)
    lu.assertTrue(has_line(out, "^Ran 3 tests"), "a failed part shows its output")
end

function Runner.test_file_dying_before_its_summary_is_one_failure()
    local out, status = runner("tests/fixtures/luaunit_dies.lua")
    assert_totals(out, status, 0, 1)
    lu.assertTrue(has_line(out, "exited with status 5"))
end

function Runner.test_sanitizer_text_fails_only_with_sanitize()
    local out, status = runner("tests/fixtures/luaunit_sanitizer.lua")
    assert_totals(out, status, 1, 0)
    out, status = runner("--sanitize", "tests/fixtures/luaunit_sanitizer.lua")
    assert_totals(out, status, 1, 1)
end

function Runner.test_doc_blocks_count_one_each()
    local out, status = runner("tests/fixtures/doctest_sample.md")
    assert_totals(out, status, 3, 3)
end

function Runner.test_totals_add_up_over_parts()
    local out, status = runner("tests/fixtures/luaunit_pass.lua",
        "tests/fixtures/luaunit_fail.lua", "tests/fixtures/doctest_sample.md")
    assert_totals(out, status, 2 + 1 + 3, 0 + 2 + 3)
end

function Runner.test_unknown_part_is_a_usage_error()
    local out, status = runner("tests/no_such_part.lua")
    lu.assertEquals(status, 2)
    lu.assertTrue(has_line(out, "no test part named"))
end

local Doctest = {}

function Doctest.test_each_kind_of_block()
    local out, status = run("tests/doctest.lua", "--exe", EXE, "tests/fixtures/doctest_sample.md")
    local f = "tests/fixtures/doctest_sample%.md"
    lu.assertEquals(status, 1)
    lu.assertEquals(out[#out], "doctest: 3 ok, 3 failed, 1 not run (norun)")
    lu.assertTrue(has_line(out, "^ok   " .. f .. ":7$"), "output matches")
    lu.assertTrue(has_line(out, "^ok   " .. f .. ":20$"), "no output block")
    lu.assertTrue(has_line(out, "^FAIL " .. f .. ":27: exited with status 1$"))
    lu.assertTrue(has_line(out, f .. ":29: boom"), "error points at the markdown line")
    lu.assertTrue(has_line(out, "^FAIL " .. f .. ":34: stdout differs from the output block at "
        .. f .. ":38$"))
    lu.assertTrue(has_line(out, "^%s+%- line two$"))
    lu.assertTrue(has_line(out, "^%s+%+ line 2$"))
    lu.assertTrue(has_line(out, "^ok   " .. f .. ":52$"), "text between unlinks an output block")
    lu.assertTrue(has_line(out, "^FAIL " .. f .. ":64: exited with status 3$"))
    lu.assertFalse(has_line(out, ":46"), "norun block not run")
end

TestRunner = Runner   -- LuaUnit finds suites through globals
TestDoctest = Doctest

os.exit(lu.LuaUnit.run())
