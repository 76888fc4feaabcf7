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

-- The cleaning example: every count it prints is fixed by the generator
-- (examples/make_dirty_sensors.lua lists the defects it plants), and the CSV
-- it writes reads back clean.
function TestExamples:test_clean_sensors()
    local csv, out, err = os.tmpname(), os.tmpname(), os.tmpname()
    local cmd = ("%s %s %s >%s 2>%s </dev/null"):format(support.quote(EXE),
        support.quote(ROOT .. "examples/clean_sensors.lua"), support.quote(csv), support.quote(out),
        support.quote(err))
    local _, how, code = os.execute(cmd)
    local stdout, stderr = support.read_file(out), support.read_file(err)
    os.remove(out)
    os.remove(err)
    lu.assertEquals(how, "exit")
    lu.assertEquals(code, 0, stderr)
    for _, want in ipairs({
        "cells coerced to missing: temp 6",
        "temp (float64): 11 missing, 6 coerced to missing (lines 8, 60, 112, 164, 216, 268)",
        "str_strip: 15 cells changed", "str_upper: 30 cells changed",
        "drop_duplicates: 12 duplicate rows of 312 dropped",
        "dropna: 15 rows of 300 dropped", "fillna: 8 cells filled (strategy median)\n  filled: vibration 8",
        "clip_outliers: 3 values clipped (iqr, k 3)\n  temp: 2 outside", "pressure: 1 outside",
        "cleaned: 285 rows x 7 columns written to",
    }) do
        lu.assertStrContains(stdout, want)
    end
    local mf = require "moonforge"
    local tbl = mf.data.read_csv(csv)
    os.remove(csv)
    lu.assertEquals(#tbl, 285)
    for _, name in ipairs({"temp", "pressure", "vibration"}) do
        lu.assertEquals(tbl:column(name):isnan():sum():item(), 0, name)
    end
    lu.assertTrue(tbl.temp:amax():item() < 200)     -- the 999.9 spikes were clipped
    lu.assertTrue(tbl.pressure:amin():item() > 1)   -- and the -50
    local lines = {}
    for _, v in ipairs(tbl.line) do lines[v] = true end
    lu.assertEquals(lines, {L1 = true, L2 = true, L3 = true})
    local _, dup = tbl:drop_duplicates()
    lu.assertEquals(dup.dropped, 0)
    local notes = {}
    for _, v in ipairs(tbl.note) do if v ~= mf.data.NA then notes[v] = (notes[v] or 0) + 1 end end
    lu.assertEquals(notes, {["restarted, ok"] = 10, ['operator said "check valve", logged'] = 10,
                            ["filter changed, 2 units scrapped"] = 10})
end

os.exit(lu.LuaUnit.run(), true)
