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

-- Plain-Lua helpers for the model examples: the CSV as columns, and a
-- dense linear solve (Gaussian elimination, partial pivoting).
local function read_numeric_csv(path)
    local names, cols = nil, {}
    for line in io.lines(path) do
        local cells = {}
        for c in line:gmatch("[^,]+") do cells[#cells + 1] = c end
        if not names then
            names = cells
            for j = 1, #names do cols[j] = {} end
        else
            for j = 1, #names do cols[j][#cols[j] + 1] = assert(tonumber(cells[j])) end
        end
    end
    return names, cols
end

local function solve(A, b)
    local n = #b
    local M = {}
    for i = 1, n do
        M[i] = {}
        for j = 1, n do M[i][j] = A[i][j] end
        M[i][n + 1] = b[i]
    end
    for k = 1, n do
        local piv = k
        for i = k + 1, n do if math.abs(M[i][k]) > math.abs(M[piv][k]) then piv = i end end
        M[k], M[piv] = M[piv], M[k]
        for i = k + 1, n do
            local f = M[i][k] / M[k][k]
            for j = k, n + 1 do M[i][j] = M[i][j] - f * M[k][j] end
        end
    end
    local x = {}
    for i = n, 1, -1 do
        local s = M[i][n + 1]
        for j = i + 1, n do s = s - M[i][j] * x[j] end
        x[i] = s / M[i][i]
    end
    return x
end

-- The regression example. Its least-squares R², MAE and coefficients are
-- recomputed here by the normal equations in plain Lua on the same split;
-- the held-out R² is bounded by the generator's noise (variance 1, see
-- examples/make_model_data.lua); lasso keeps exactly the five parameters
-- the generator uses.
function TestExamples:test_quality_regression()
    local code, out, err = run("quality_regression.lua")
    lu.assertEquals(code, 0, err)
    lu.assertStrContains(out, "quality_small.csv: 1000 runs x 9 columns\ntrain: 750 runs, test: 250 runs\n")
    local scores = {}
    for line in out:gmatch("[^\n]+") do
        local name, r2, mae = line:match("^(.-%S) +(%-?[%d.]+) +([%d.]+)$")
        if name then scores[name] = {r2 = tonumber(r2), mae = tonumber(mae)} end
    end
    local ols, sgd = scores["least squares"], scores["gradient descent (SGD)"]
    local ridge, lasso = scores["ridge (alpha 1)"], scores["lasso (alpha 0.1)"]
    lu.assertNotNil(ols, out); lu.assertNotNil(sgd, out); lu.assertNotNil(ridge, out); lu.assertNotNil(lasso, out)

    -- The same split as the example, as row numbers.
    local mf = require "moonforge"
    local names, cols = read_numeric_csv(ROOT .. "examples/data/quality_small.csv")
    local n, p = #cols[1], #names - 1
    lu.assertEquals(n, 1000)
    local tr, te = mf.data.train_test_split(mf.arange(1, n + 1, "int64"), {test_size = 0.25, seed = 42})
    tr, te = tr:totable(), te:totable()
    lu.assertEquals(#te, 250)
    -- Least squares with an intercept: [1 x] [b w]' = y.
    local A, b = {}, {}
    for i = 1, p + 1 do A[i] = {}; for j = 1, p + 1 do A[i][j] = 0 end; b[i] = 0 end
    for _, r in ipairs(tr) do
        local x = {1}
        for j = 1, p do x[j + 1] = cols[j][r] end
        for i = 1, p + 1 do
            for j = 1, p + 1 do A[i][j] = A[i][j] + x[i] * x[j] end
            b[i] = b[i] + x[i] * cols[p + 1][r]
        end
    end
    local w = solve(A, b)
    local ymean, sse, sst, sae = 0, 0, 0, 0
    for _, r in ipairs(te) do ymean = ymean + cols[p + 1][r] / #te end
    for _, r in ipairs(te) do
        local pred = w[1]
        for j = 1, p do pred = pred + w[j + 1] * cols[j][r] end
        local yr = cols[p + 1][r]
        sse, sst, sae = sse + (yr - pred) ^ 2, sst + (yr - ymean) ^ 2, sae + math.abs(yr - pred)
    end
    lu.assertAlmostEquals(ols.r2, 1 - sse / sst, 6e-5)
    lu.assertAlmostEquals(ols.mae, sae / #te, 6e-5)
    for j = 1, p do
        local c = tonumber(out:match("\n" .. names[j] .. " +(%-?[%d.]+)"))
        lu.assertAlmostEquals(c, w[j + 1], 6e-5, names[j])
    end
    -- Noise variance 1: the best R² on these rows is about 1 - 1 / var(y);
    -- an OLS fit on 750 rows loses little to it.
    local var_y = sst / #te
    lu.assertTrue(ols.r2 > 1 - 1.25 / var_y and ols.r2 < 1 - 0.75 / var_y, out)
    -- Gradient descent and ridge land next to least squares; lasso pays a
    -- little for its sparsity.
    lu.assertAlmostEquals(sgd.r2, ols.r2, 0.003)
    lu.assertAlmostEquals(ridge.r2, ols.r2, 0.003)
    lu.assertTrue(lasso.r2 < ols.r2 and lasso.r2 > ols.r2 - 0.03, out)
    lu.assertTrue(sgd.mae < 1.05 * ols.mae and lasso.mae > ols.mae, out)
    for j = 1, 5 do   -- the SGD coefficients (third column) near the OLS ones
        local c = tonumber(out:match("\n" .. names[j] .. " +%-?[%d.]+ +(%-?[%d.]+)"))
        lu.assertTrue(math.abs(c - w[j + 1]) < 0.02 * math.abs(w[j + 1]), names[j] .. "\n" .. out)
    end
    for j = 6, 8 do   -- lasso's coefficients of the parameters without effect
        lu.assertStrContains(out, "\n" .. names[j], names[j])
        local c = out:match("\n" .. names[j] .. " +%-?[%d.]+ +%-?[%d.]+ +(%-?[%d.]+)")
        lu.assertEquals(tonumber(c), 0, names[j])
    end
    lu.assertStrContains(out, "lasso keeps 5 of 8 parameters: temp, pressure, speed, feed_rate, tool_wear\n"
                              .. "lasso drops: humidity, ambient_temp, shift_hour\n")
end

-- The classifier example: the folds of a stratified 5-fold split
-- (scikit-learn's allocation) and an L2 logistic regression (C = 1, by
-- Newton's method) on standardized columns are recomputed in plain Lua;
-- the printed logistic accuracies match them, and the MLP, which can draw
-- the generator's curved boundary, beats both linear models.
function TestExamples:test_defect_classifiers()
    local code, out, err = run("defect_classifiers.lua")
    lu.assertEquals(code, 0, err)
    local names, cols = read_numeric_csv(ROOT .. "examples/data/defect_small.csv")
    local n, p = #cols[1], #names - 1
    local y = cols[p + 1]
    local positives = 0
    for i = 1, n do positives = positives + y[i] end
    lu.assertStrContains(out, ("defect_small.csv: %d parts, %d measurements, %d defective\n"):format(n, p, positives))

    local res = {}
    for name, mean, std, folds in out:gmatch("\n(%a[^\n]-%S) +([%d.]+) ± ([%d.]+)   %(folds: ([%d. ]+)%)") do
        local f = {}
        for v in folds:gmatch("[%d.]+") do f[#f + 1] = tonumber(v) end
        res[name] = {mean = tonumber(mean), std = tonumber(std), folds = f}
    end
    local logit, svm, mlp = res["logistic regression"], res["linear SVM"], res["MLP 32-16-1"]
    local rbf = res["RBF SVM (subsample)"]
    lu.assertNotNil(logit, out); lu.assertNotNil(svm, out); lu.assertNotNil(mlp, out)
    lu.assertNotNil(rbf, out)
    -- the stratified half: 500 parts, the defect share kept (to one part)
    local sub_n, sub_pos = out:match("subsample for the RBF SVM: (%d+) parts, (%d+) defective")
    lu.assertEquals(tonumber(sub_n), n // 2)
    lu.assertTrue(math.abs(tonumber(sub_pos) - positives / 2) <= 1, out)
    for _, r in pairs(res) do   -- mean ± population std of the printed folds
        lu.assertEquals(#r.folds, 5)
        local m, v = 0, 0
        for _, s in ipairs(r.folds) do m = m + s / 5 end
        for _, s in ipairs(r.folds) do v = v + (s - m) ^ 2 / 5 end
        lu.assertAlmostEquals(r.mean, m, 0.0011)
        lu.assertAlmostEquals(r.std, math.sqrt(v), 0.0011)
    end

    -- Stratified folds: the rows sorted by class (classes in order of first
    -- appearance) are dealt to folds 1..5 in turn; that fixes how many rows
    -- of each class each fold gets, and they are taken in row order.
    local first, order = {}, {}
    for i = 1, n do if not first[y[i]] then first[y[i]] = true; order[#order + 1] = y[i] end end
    local fold_of, k, before = {}, 0, 0   -- before: rows of the earlier classes
    for _, cls in ipairs(order) do
        local count = {0, 0, 0, 0, 0}
        local rows = {}
        for i = 1, n do if y[i] == cls then rows[#rows + 1] = i end end
        for pos = before, before + #rows - 1 do count[pos % 5 + 1] = count[pos % 5 + 1] + 1 end
        local f, used = 1, 0
        for _, i in ipairs(rows) do
            while used == count[f] do f, used = f + 1, 0 end
            fold_of[i], used = f, used + 1
        end
        k, before = k + 1, before + #rows
    end
    lu.assertEquals(k, 2)

    -- L2 logistic regression, scikit-learn's objective C·Σ loss + ½‖w‖²
    -- (intercept free), by Newton's method, on each fold.
    local function fit_predict(test_fold)
        local train, test = {}, {}
        for i = 1, n do if fold_of[i] == test_fold then test[#test + 1] = i else train[#train + 1] = i end end
        local mu, sd = {}, {}
        for j = 1, p do
            local s, ss = 0, 0
            for _, i in ipairs(train) do s = s + cols[j][i] end
            mu[j] = s / #train
            for _, i in ipairs(train) do ss = ss + (cols[j][i] - mu[j]) ^ 2 end
            sd[j] = math.sqrt(ss / #train)
        end
        local function row(i)
            local x = {1}
            for j = 1, p do x[j + 1] = (cols[j][i] - mu[j]) / sd[j] end
            return x
        end
        local w = {}
        for j = 1, p + 1 do w[j] = 0 end
        for _ = 1, 25 do
            local g, H = {}, {}
            for a = 1, p + 1 do
                g[a] = a > 1 and w[a] or 0
                H[a] = {}
                for c = 1, p + 1 do H[a][c] = (a == c and a > 1) and 1 or 0 end
            end
            for _, i in ipairs(train) do
                local x = row(i)
                local z = 0
                for j = 1, p + 1 do z = z + w[j] * x[j] end
                local pr = 1 / (1 + math.exp(-z))
                for a = 1, p + 1 do
                    g[a] = g[a] + (pr - y[i]) * x[a]
                    for c = 1, p + 1 do H[a][c] = H[a][c] + pr * (1 - pr) * x[a] * x[c] end
                end
            end
            local step = solve(H, g)
            for j = 1, p + 1 do w[j] = w[j] - step[j] end
        end
        local right = 0
        for _, i in ipairs(test) do
            local x, z = row(i), 0
            for j = 1, p + 1 do z = z + w[j] * x[j] end
            if (z > 0 and 1 or 0) == y[i] then right = right + 1 end
        end
        return right / #test
    end
    local mean = 0
    for f = 1, 5 do
        local acc = fit_predict(f)
        lu.assertAlmostEquals(logit.folds[f], acc, 0.0051, "fold " .. f)   -- one row at most
        mean = mean + acc / 5
    end
    lu.assertAlmostEquals(logit.mean, mean, 0.003)

    -- Sensible ranges: the linear models agree with each other and are far
    -- from perfect; the MLP follows the curved boundary.
    lu.assertTrue(logit.mean > 0.7 and logit.mean < 0.86, out)
    lu.assertAlmostEquals(svm.mean, logit.mean, 0.03)
    lu.assertTrue(mlp.mean > logit.mean + 0.08 and mlp.mean < 1, out)
    -- so does the kernel SVM, even on half the rows
    lu.assertTrue(rbf.mean > logit.mean + 0.08 and rbf.mean < 1, out)
end

-- The scikit-learn comparison: every reference row printed, every compared
-- score within 0.01 of scikit-learn's (tests/test_sklearn_datasets.lua
-- checks each one), the exact least-squares fit equal to four decimals.
function TestExamples:test_sklearn_datasets()
    local code, out, err = run("sklearn_datasets.lua")
    lu.assertEquals(code, 0, err)
    local rows = 0
    for line in out:gmatch("[^\n]+") do
        if line:match(" test +accuracy ") or line:match(" cv5 +accuracy ")
           or line:match("^diabetes .* test +r2 ") or line:match("^diabetes .* cv5 +r2 ") then
            rows = rows + 1
        end
    end
    lu.assertEquals(rows, 40, out)
    lu.assertStrMatches(out, ".*\ndiabetes +LinearRegression +test +r2 +0%.3594 +0%.3594 +%+0%.0000\n.*")
    local within, total, worst = out:match("\n(%d+) of (%d+) rows within 0%.01 of "
                                           .. "scikit%-learn %(largest difference ([%d.]+)%)")
    lu.assertNotNil(within, out)
    lu.assertEquals(tonumber(within), 40, out)
    lu.assertEquals(tonumber(total), 40, out)
    lu.assertTrue(tonumber(worst) <= 0.01, out)
end

os.exit(lu.LuaUnit.run(), true)
