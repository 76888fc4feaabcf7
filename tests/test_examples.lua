-- The examples of examples/*.lua that the docs point at, run with the
-- executable under test ($MOONFORGE_EXE, else the one running this file):
-- each must exit with status 0 and print the line that shows it worked.
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local support = require "support"

local EXE = os.getenv("MOONFORGE_EXE") or arg[-1]
local ROOT = arg[0]:gsub("[^/]*$", "") .. "../"

-- Runs an example; returns its exit status, stdout and stderr.
local function run(example)
    local out, err = os.tmpname(), os.tmpname()
    local cmd = ("%s %s >%s 2>%s </dev/null"):format(support.quote(EXE),
        support.quote(ROOT .. "examples/" .. example), support.quote(out), support.quote(err))
    local _, how, code = os.execute(cmd)
    local stdout, stderr = support.read_file(out), support.read_file(err)
    os.remove(out)
    os.remove(err)
    lu.assertEquals(how, "exit", "killed by a signal: " .. cmd)
    return code, stdout, stderr
end

TestExamples = {}

function TestExamples:test_logistic_from_scratch()
    local code, out, err = run("logistic_from_scratch.lua")
    lu.assertEquals(code, 0, err)
    local first = tonumber(out:match("step   1  loss ([%d.]+)"))
    local last = tonumber(out:match("step 300  loss ([%d.]+)"))
    lu.assertAlmostEquals(first, math.log(2), 1e-3)   -- zero weights: p = 1/2
    lu.assertTrue(last < 0.1, out)
    local accuracy = tonumber(out:match("\naccuracy: ([%d.]+)"))
    lu.assertNotNil(accuracy, out)
    lu.assertTrue(accuracy > 0.9, out)
end

function TestExamples:test_custom_module()
    local code, out, err = run("custom_module.lua")
    lu.assertEquals(code, 0, err)
    lu.assertStrContains(out, "  (blocks.1): Residual(\n    (fc1): Linear(in_features=16, out_features=32, bias=true)")
    lu.assertStrContains(out, "Total params: 2,225")
    local first, last = out:match("loss decreased from ([%d.]+) to ([%d.]+)")
    lu.assertNotNil(first, out)
    lu.assertTrue(tonumber(last) < 0.1 * tonumber(first), out)
end

os.exit(lu.LuaUnit.run(), true)
