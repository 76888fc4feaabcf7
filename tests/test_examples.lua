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

-- The feature example: its counts, threshold, selected features and F
-- scores are recomputed here with plain Lua loops from the cleaned CSV that
-- clean_sensors.lua writes (the same cleaning steps).
function TestExamples:test_features_sensors()
    local code, out, err = run("features_sensors.lua")
    lu.assertEquals(code, 0, err)

    -- The cleaned rows, in line order then time order.
    local csv, log = os.tmpname(), os.tmpname()
    local _, how, ccode = os.execute(("%s %s %s >%s 2>&1 </dev/null"):format(support.quote(EXE),
        support.quote(ROOT .. "examples/clean_sensors.lua"), support.quote(csv), support.quote(log)))
    os.remove(log)
    lu.assertEquals(how, "exit")
    lu.assertEquals(ccode, 0)
    local mf = require "moonforge"
    local tbl = mf.data.read_csv(csv)
    os.remove(csv)
    local ts, line = tbl.ts, tbl.line
    local temp, pres, vib = tbl.temp:totable(), tbl.pressure:totable(), tbl.vibration:totable()
    local n = #tbl
    lu.assertEquals(n, 285)
    lu.assertStrContains(out, "cleaned: 285 rows\n")

    -- The 90th percentile of temp, linear interpolation (pandas' quantile).
    local sorted = {}
    for i = 1, n do sorted[i] = temp[i] end
    table.sort(sorted)
    local pos = 1 + 0.9 * (n - 1)
    local lo = math.floor(pos)
    local p90 = sorted[lo] + (pos - lo) * (sorted[lo + 1] - sorted[lo])
    lu.assertStrContains(out, ("alarm threshold: temp > %.2f (90th percentile)\n"):format(p90))

    -- Feature rows: from the 5th reading of a line to its last but one.
    local by_line, names_of_lines = {}, {}
    for i = 1, n do
        if not by_line[line[i]] then
            by_line[line[i]] = {}
            names_of_lines[#names_of_lines + 1] = line[i]
        end
        table.insert(by_line[line[i]], i)
    end
    table.sort(names_of_lines)
    lu.assertEquals(names_of_lines, {"L1", "L2", "L3"})
    local feats = {}      -- name -> values over the feature rows, in output order
    local fnames = {"temp", "pressure", "vibration", "temp_mean5", "temp_std5", "vibration_mean5",
                    "vibration_std5", "temp_lag1", "temp_diff1", "ts_hour", "line_L1", "line_L2",
                    "line_L3"}
    for _, f in ipairs(fnames) do feats[f] = {} end
    local y, alarms = {}, 0
    local function mean_std(v, rows, k)
        local s = 0
        for j = k - 4, k do s = s + v[rows[j]] end
        local m, ss = s / 5, 0
        for j = k - 4, k do ss = ss + (v[rows[j]] - m) ^ 2 end
        return m, math.sqrt(ss / 4)
    end
    for _, name in ipairs(names_of_lines) do
        local rows = by_line[name]
        table.sort(rows, function(a, b) if ts[a] ~= ts[b] then return ts[a] < ts[b] end return a < b end)
        for k = 5, #rows - 1 do
            local i = rows[k]
            local function add(f, v) table.insert(feats[f], v) end
            add("temp", temp[i]); add("pressure", pres[i]); add("vibration", vib[i])
            local m, sd = mean_std(temp, rows, k)
            add("temp_mean5", m); add("temp_std5", sd)
            m, sd = mean_std(vib, rows, k)
            add("vibration_mean5", m); add("vibration_std5", sd)
            add("temp_lag1", temp[rows[k - 1]]); add("temp_diff1", temp[i] - temp[rows[k - 1]])
            add("ts_hour", tonumber(ts[i]:sub(12, 13)))
            for _, l in ipairs(names_of_lines) do add("line_" .. l, name == l and 1 or 0) end
            local a = temp[rows[k + 1]] > p90 and 1 or 0
            y[#y + 1] = a
            alarms = alarms + a
        end
    end
    local m = #y
    lu.assertEquals(m, 270)
    lu.assertStrContains(out, ("feature rows: %d (%d dropped: "):format(m, n - m))
    lu.assertStrContains(out, "X: 270 x 14\n")   -- 11 scaled numeric + 3 one-hot

    -- One-way ANOVA F of each feature against y (scaling does not change it).
    local scores = {}
    for _, f in ipairs(fnames) do
        local v = feats[f]
        local sum, cnt, total = {[0] = 0, [1] = 0}, {[0] = 0, [1] = 0}, 0
        for r = 1, m do sum[y[r]] = sum[y[r]] + v[r]; cnt[y[r]] = cnt[y[r]] + 1; total = total + v[r] end
        local grand = total / m
        local ssb, ssw = 0, 0
        for c = 0, 1 do ssb = ssb + cnt[c] * (sum[c] / cnt[c] - grand) ^ 2 end
        for r = 1, m do ssw = ssw + (v[r] - sum[y[r]] / cnt[y[r]]) ^ 2 end
        scores[#scores + 1] = {name = f, F = (ssb / 1) / (ssw / (m - 2))}
    end
    table.sort(scores, function(a, b) return a.F > b.F end)
    local want = {}
    for r = 1, 6 do want[scores[r].name] = scores[r].F end
    local got = {}
    for name, score in out:gmatch("\n  num__(%S+) +([%d.]+)") do got[name] = tonumber(score) end
    for name, score in out:gmatch("\n  cat__(%S+) +([%d.]+)") do got[name] = tonumber(score) end
    local count = 0
    for name, score in pairs(got) do
        count = count + 1
        lu.assertNotNil(want[name], name .. " is not among the 6 best:\n" .. out)
        lu.assertAlmostEquals(score, want[name], 0.006, name)
    end
    lu.assertEquals(count, 6, out)

    -- The stratified split: 25% of the rows (rounded up), alarms in proportion.
    local ntr, atr, nte, ate = out:match("train: (%d+) rows, (%d+) alarms; test: (%d+) rows, (%d+) alarms")
    ntr, atr, nte, ate = tonumber(ntr), tonumber(atr), tonumber(nte), tonumber(ate)
    lu.assertEquals(nte, math.ceil(0.25 * m))
    lu.assertEquals(ntr + nte, m)
    lu.assertEquals(atr + ate, alarms)
    lu.assertTrue(math.abs(ate - nte * alarms / m) <= 1, out)
    lu.assertTrue(math.abs(atr - ntr * alarms / m) <= 1, out)

    -- The model: its accuracy agrees with its counts, and it catches most alarms.
    local acc, caught, of, false_alarms = out:match(
        "test accuracy: ([%d.]+), alarms caught: (%d+) of (%d+), false alarms: (%d+)")
    lu.assertNotNil(acc, out)
    caught, of, false_alarms = tonumber(caught), tonumber(of), tonumber(false_alarms)
    lu.assertEquals(of, ate)
    lu.assertAlmostEquals(tonumber(acc), (nte - (of - caught) - false_alarms) / nte, 0.0006)
    lu.assertTrue(caught >= of / 2, out)
end

os.exit(lu.LuaUnit.run(), true)
