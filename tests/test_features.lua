-- mf.features: the Table sensor helpers (rolling, lag, diff,
-- datetime_features) against plain-Lua windows with NaN and groups, and
-- the selectors (VarianceThreshold, SelectKBest with every score,
-- CorrelationFilter, PCA) against textbook formulas computed here in Lua,
-- the eigendecomposition of the covariance, and the errors.
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local support = require "support"
local assert_error = support.assert_error
local mf = require "moonforge"
local F = mf.features
local NA = mf.data.NA
local nan = 0 / 0

local function lcg(seed)
    local s = seed
    return function()
        s = (s * 1103515245 + 12345) % 2147483648
        return s / 2147483648
    end
end

local function assert_vec(t, expect, tol, msg)
    local got = mf.is_tensor(t) and t:totable() or t
    lu.assertEquals(#got, #expect, msg)
    for i = 1, #expect do
        local g, e = got[i], expect[i]
        if e ~= e then
            lu.assertTrue(g ~= g, ("%s [%d]: expected NaN, got %s"):format(msg or "", i, tostring(g)))
        else
            lu.assertAlmostEquals(g, e, tol or 1e-12, ("%s [%d]"):format(msg or "", i))
        end
    end
end

---------------------------------------------------------------- sensor helpers
-- A table of n rows: machine (string, 3 levels), line (int64), x (float64 with NaN), k (int64).
local function sensor_table(n)
    local r = lcg(11)
    local m, line, x, k = {}, {}, {}, {}
    for i = 1, n do
        m[i] = ({"M1", "M2", "M3"})[1 + math.floor(r() * 3)]
        line[i] = 1 + math.floor(r() * 2)
        x[i] = r() < 0.2 and nan or math.floor(r() * 1000) / 10
        k[i] = math.floor(r() * 50)
    end
    return mf.data.from_columns({machine = m, line = mf.tensor(line, "int64"),
                                 x = mf.tensor(x, "float64"), k = mf.tensor(k, "int64")}), m, line, x, k
end

-- pandas' rolling statistic of the values at rows (the window, newest last).
local function window_stat(vals, minp, stat)
    local v = {}
    for _, a in ipairs(vals) do if a == a then v[#v + 1] = a end end
    if #v < minp then return nan end
    if stat == "sum" then
        local s = 0
        for _, a in ipairs(v) do s = s + a end
        return s
    end
    if #v == 0 then return nan end
    if stat == "min" or stat == "max" then
        local b = v[1]
        for _, a in ipairs(v) do b = (stat == "min") and math.min(b, a) or math.max(b, a) end
        return b
    end
    local s = 0
    for _, a in ipairs(v) do s = s + a end
    local mean = s / #v
    if stat == "mean" then return mean end
    if #v < 2 then return nan end
    local ss = 0
    for _, a in ipairs(v) do ss = ss + (a - mean) ^ 2 end
    return math.sqrt(ss / (#v - 1))
end

-- The rolling statistic of every row, by plain loops (keys[i] is row i's group).
local function ref_rolling(x, keys, window, minp, stat)
    local out = {}
    for i = 1, #x do
        local vals, j = {}, i
        while j >= 1 and #vals < window do
            if keys == nil or keys[j] == keys[i] then table.insert(vals, 1, x[j]) end
            j = j - 1
        end
        out[i] = window_stat(vals, minp, stat)
    end
    return out
end

TestRolling = {}

function TestRolling:test_matches_plain_lua_windows()
    local tbl, m, line, x, k = sensor_table(120)
    local keys2 = {}
    for i = 1, #m do keys2[i] = m[i] .. "/" .. line[i] end
    local kf = {}
    for i = 1, #k do kf[i] = k[i] end
    for _, stat in ipairs({"mean", "std", "min", "max", "sum"}) do
        for _, case in ipairs({{3, nil}, {4, 1}, {5, 0}, {1, nil}}) do
            local w, minp = case[1], case[2]
            local msg = ("%s w=%d minp=%s"):format(stat, w, tostring(minp))
            local mp = minp or w
            assert_vec(tbl:rolling("x", w, {min_periods = minp})[stat](tbl:rolling("x", w, {min_periods = minp})),
                       ref_rolling(x, nil, w, mp, stat), 1e-9, msg)
            assert_vec(tbl:rolling("x", w, {by = "machine", min_periods = minp}):sum() and
                       tbl:rolling("x", w, {by = "machine", min_periods = minp})[stat](
                           tbl:rolling("x", w, {by = "machine", min_periods = minp})),
                       ref_rolling(x, m, w, mp, stat), 1e-9, msg .. " by machine")
            local r = tbl:rolling("x", w, {by = {"machine", "line"}, min_periods = minp})
            assert_vec(r[stat](r), ref_rolling(x, keys2, w, mp, stat), 1e-9, msg .. " by machine, line")
        end
        -- an int64 column (converted to float64), grouped by an int64 column
        local r = tbl:rolling("k", 4, {by = "line", min_periods = 2})
        local out = r[stat](r)
        lu.assertEquals(out:dtype(), "float64")
        assert_vec(out, ref_rolling(kf, line, 4, 2, stat), 1e-9, stat .. " int64")
    end
end

function TestRolling:test_pandas_example()
    -- pandas: s = Series([1, 2, NaN, 4, 5, 6]); s.rolling(3, min_periods=2).std()
    local tbl = mf.data.from_columns({x = mf.tensor({1, 2, nan, 4, 5, 6}, "float64")})
    assert_vec(tbl:rolling("x", 3, {min_periods = 2}):std(),
               {nan, 0.7071067811865476, 0.7071067811865476, 1.4142135623730951, 0.7071067811865476, 1}, 1e-12)
    assert_vec(tbl:rolling("x", 2):max(), {nan, 2, nan, nan, 5, 6})
    assert_vec(tbl:rolling("x", 3, {min_periods = 0}):sum(), {1, 3, 3, 6, 9, 15})
    lu.assertStrContains(tostring(tbl:rolling("x", 3)), "Rolling(x, window=3, min_periods=3)")
end

function TestRolling:test_errors()
    local tbl = sensor_table(10)
    assert_error(function() tbl:rolling("nope", 3) end, "bad argument #2 to 'rolling'", "unknown column 'nope'")
    assert_error(function() tbl:rolling("machine", 3) end, "column 'machine' holds strings")
    assert_error(function() tbl:rolling("x", 0) end, "bad argument #3 to 'rolling'", "window must be an integer >= 1")
    assert_error(function() tbl:rolling("x", 2.5) end, "window must be an integer")
    assert_error(function() tbl:rolling("x", 3, {min_periods = 4}) end, "min_periods must be an integer in [0, window = 3]")
    assert_error(function() tbl:rolling("x", 3, {windw = 4}) end, "unknown option 'windw'")
    assert_error(function() tbl:rolling("x", 3, {by = "nope"}) end, "bad argument #4 to 'rolling'", "unknown column 'nope'")
    assert_error(function() tbl:rolling("x", 3, {by = 5}) end, "option 'by' must be a column name")
end

TestShift = {}

function TestShift:test_lag_and_diff_with_groups()
    local tbl, m, _, x = sensor_table(60)
    for _, k in ipairs({1, 2, -1, -3, 0}) do
        local lag, dif = {}, {}
        for i = 1, #x do
            -- the row k steps earlier in the same machine's rows
            local j, steps, step = i, math.abs(k), k > 0 and -1 or 1
            while steps > 0 do
                j = j + step
                if j < 1 or j > #x then break end
                if m[j] == m[i] then steps = steps - 1 end
            end
            if j >= 1 and j <= #x and steps == 0 then
                lag[i], dif[i] = x[j], x[i] - x[j]
            else
                lag[i], dif[i] = nan, nan
            end
        end
        assert_vec(tbl:lag("x", k, {by = "machine"}), lag, 0, "lag " .. k)
        assert_vec(tbl:diff("x", k, {by = "machine"}), dif, 1e-12, "diff " .. k)
    end
    -- ungrouped, default k = 1, int64 input
    local t = mf.data.from_columns({v = mf.tensor({3, 5, 9, 10}, "int64")})
    assert_vec(t:lag("v"), {nan, 3, 5, 9})
    assert_vec(t:diff("v"), {nan, 2, 4, 1})
    assert_vec(t:diff("v", -2), {-6, -5, nan, nan})
    assert_error(function() t:lag("v", 1.5) end, "bad argument #3 to 'lag'", "k must be an integer")
    assert_error(function() t:diff("w") end, "bad argument #2 to 'diff'", "unknown column 'w'")
    assert_error(function() t:lag("v", 1, {group = "v"}) end, "unknown option 'group'")
end

function TestShift:test_missing_keys_and_empty_tables()
    -- pandas' groupby drops missing keys: those rows get NaN (values from pandas 1.5)
    local tbl = mf.data.from_columns({m = {"A", NA, "A", "B", NA, "A"}, k = {1, 2, nan, 1, 2, 1},
                                      x = mf.tensor({1, 2, 3, 4, 5, 6}, "float64")})
    assert_vec(tbl:rolling("x", 2, {by = "m", min_periods = 1}):mean(), {1, nan, 2, 4, nan, 4.5})
    assert_vec(tbl:lag("x", 1, {by = "m"}), {nan, nan, 1, nan, nan, 3})
    assert_vec(tbl:diff("x", 1, {by = "k"}), {nan, nan, nan, 3, 3, 2})
    assert_vec(tbl:lag("x", 1, {by = {"m", "k"}}), {nan, nan, nan, nan, nan, 1})
    local empty = tbl:head(0)
    lu.assertEquals(empty:rolling("x", 3, {by = "m"}):mean():size(1), 0)
    lu.assertEquals(empty:lag("x", 1):size(1), 0)
    lu.assertEquals(#mf.data.from_columns({ts = {"2024-01-01"}}):head(0):datetime_features("ts"), 0)
end

TestDatetime = {}

function TestDatetime:test_fields()
    local tbl = mf.data.from_columns({ts = {"2024-01-01 00:00:04", "2024-03-05T13:45", "2023-12-31",
                                            "2024-02-29 23:59:59.5", "2024-01-01 00:00:04"}})
    local out = tbl:datetime_features("ts", {"year", "month", "day", "hour", "minute", "second",
                                             "weekday", "dayofyear", "quarter"})
    lu.assertEquals(out:columns(), {"ts", "ts_year", "ts_month", "ts_day", "ts_hour", "ts_minute",
                                    "ts_second", "ts_weekday", "ts_dayofyear", "ts_quarter"})
    lu.assertEquals(out:dtypes().ts_hour, "int64")
    lu.assertEquals(out:column("ts_year"):totable(), {2024, 2024, 2023, 2024, 2024})
    lu.assertEquals(out:column("ts_hour"):totable(), {0, 13, 0, 23, 0})
    lu.assertEquals(out:column("ts_minute"):totable(), {0, 45, 0, 59, 0})
    lu.assertEquals(out:column("ts_second"):totable(), {4, 0, 0, 59, 4})
    -- pandas' dayofweek is 0 (Monday) .. 6; here Monday = 1 ... Sunday = 7
    lu.assertEquals(out:column("ts_weekday"):totable(), {1, 2, 7, 4, 1})
    lu.assertEquals(out:column("ts_dayofyear"):totable(), {1, 65, 365, 60, 1})
    lu.assertEquals(out:column("ts_quarter"):totable(), {1, 1, 4, 1, 1})
    -- defaults: hour, weekday, month; a prefix
    local d = tbl:datetime_features("ts", nil, {prefix = "t_"})
    lu.assertEquals(d:columns(), {"ts", "t_hour", "t_weekday", "t_month"})
    lu.assertEquals(d:column("t_month"):totable(), {1, 3, 12, 2, 1})
end

function TestDatetime:test_missing_gives_float_nan()
    local tbl = mf.data.from_columns({ts = {"2024-05-01 10:00", NA, "2024-05-02 11:30"}})
    local h = tbl:datetime_features("ts", {"hour"}):column("ts_hour")
    lu.assertEquals(h:dtype(), "float64")
    assert_vec(h, {10, nan, 11})
end

function TestDatetime:test_errors()
    local tbl = mf.data.from_columns({ts = {"2024-01-01 00:00", "2024-01-01 00:01", "2023-02-29 10:00"},
                                      x = {1, 2, 3}})
    assert_error(function() tbl:datetime_features("ts") end, "bad argument #2 to 'datetime_features'",
                 "column 'ts', row 3", "cannot parse '2023-02-29 10:00'")
    assert_error(function() tbl:datetime_features("x") end, "column 'x' is int64")
    assert_error(function() tbl:datetime_features("nope") end, "unknown column 'nope'")
    local ok = mf.data.from_columns({ts = {"2024-01-01 00:00"}})
    assert_error(function() ok:datetime_features("ts", {"hours"}) end, "bad argument #3", "unknown field 'hours'")
    assert_error(function() ok:datetime_features("ts", {"hour"}, {prefx = "a"}) end, "unknown option 'prefx'")
    assert_error(function() ok:datetime_features("ts", {"hour"}, {errors = "ignore"}) end,
                 "option 'errors' must be \"raise\" or \"coerce\"")
end

function TestDatetime:test_coerce()
    local tbl = mf.data.from_columns({ts = {"2024-01-01 05:00", "junk", "2023-02-29 10:00", NA, "junk",
                                            "2024-01-02 06:00"}})
    local warnings, out = mf.capture_warnings(function()
        return tbl:datetime_features("ts", {"hour", "day"}, {errors = "coerce"})
    end)
    lu.assertEquals(warnings, {"datetime_features: 3 rows of column 'ts' could not be parsed (set to NaN)"})
    assert_vec(out:column("ts_hour"), {5, nan, nan, nan, nan, 6})
    assert_vec(out:column("ts_day"), {1, nan, nan, nan, nan, 2})
    -- nothing to coerce: int64 as with "raise", no warning
    local w2, ok = mf.capture_warnings(function()
        return mf.data.from_columns({ts = {"2024-01-01 05:00"}}):datetime_features("ts", {"hour"}, {errors = "coerce"})
    end)
    lu.assertEquals(#w2, 0)
    lu.assertEquals(ok:dtypes().ts_hour, "int64")
end

---------------------------------------------------------------- scores
-- Class data: 12 rows, 3 columns; labels 1..3.
local XC = {{1, 5, 0}, {2, 5, 3}, {3, 4, 1}, {4, 1, 2}, {6, 1, 5}, {8, 2, 1},
            {5, 9, 4}, {9, 9, 2}, {10, 8, 0}, {2, 3, 3}, {7, 2, 2}, {9, 9, 1}}
local YC = {1, 1, 1, 2, 2, 2, 3, 3, 3, 1, 2, 3}

local function anova(X, y, j)
    local sums, cnt, tot, n = {}, {}, 0, #X
    for i = 1, n do
        sums[y[i]] = (sums[y[i]] or 0) + X[i][j]
        cnt[y[i]] = (cnt[y[i]] or 0) + 1
        tot = tot + X[i][j]
    end
    local gm, ssb, ssw, k = tot / n, 0, 0, 0
    for c, s in pairs(sums) do
        k = k + 1
        ssb = ssb + cnt[c] * (s / cnt[c] - gm) ^ 2
    end
    for i = 1, n do ssw = ssw + (X[i][j] - sums[y[i]] / cnt[y[i]]) ^ 2 end
    return (ssb / (k - 1)) / (ssw / (n - k)), k - 1, n - k
end

TestScores = {}

function TestScores:test_p_values_known()
    lu.assertAlmostEquals(F.f_sf(4.96, 1, 10), 0.05, 2e-4)          -- the F table
    lu.assertAlmostEquals(F.f_sf(4.96, 1, 10), 0.050087650566468196, 1e-12)
    lu.assertAlmostEquals(F.chi2_sf(3.841458820694124, 1), 0.05, 1e-12)
    lu.assertAlmostEquals(F.chi2_sf(5.991464547107979, 2), 0.05, 1e-12)
    lu.assertAlmostEquals(F.f_sf(0, 2, 3), 1, 0)
end

function TestScores:test_f_classif_is_anova()
    local f, p = F.f_classif(mf.tensor(XC, "float64"), mf.tensor(YC, "int64"))
    for j = 1, 3 do
        local fj, d1, d2 = anova(XC, YC, j)
        lu.assertAlmostEquals(f[j], fj, 1e-10 * fj)
        lu.assertAlmostEquals(p[j], F.f_sf(fj, d1, d2), 1e-14)
    end
    -- string labels give the same
    local names = {}
    for i, c in ipairs(YC) do names[i] = ({"a", "b", "c"})[c] end
    assert_vec(F.f_classif(mf.tensor(XC, "float64"), names), f:totable(), 1e-12)
end

function TestScores:test_f_regression_is_r_squared()
    local y = {}
    for i = 1, #XC do y[i] = XC[i][1] * 0.5 + XC[i][3] + (i % 3) end
    local f, p = F.f_regression(mf.tensor(XC, "float64"), mf.tensor(y, "float64"))
    local n = #XC
    for j = 1, 3 do
        local mx, my = 0, 0
        for i = 1, n do mx, my = mx + XC[i][j] / n, my + y[i] / n end
        local sxy, sxx, syy = 0, 0, 0
        for i = 1, n do
            sxy = sxy + (XC[i][j] - mx) * (y[i] - my)
            sxx = sxx + (XC[i][j] - mx) ^ 2
            syy = syy + (y[i] - my) ^ 2
        end
        local r2 = sxy ^ 2 / (sxx * syy)
        local fj = r2 / (1 - r2) * (n - 2)
        lu.assertAlmostEquals(f[j], fj, 1e-10 * fj)
        lu.assertAlmostEquals(p[j], F.f_sf(fj, 1, n - 2), 1e-14)
    end
end

function TestScores:test_chi2_on_counts()
    local chi, p = F.chi2(mf.tensor(XC, "float64"), YC)
    local n = #XC
    for j = 1, 3 do
        local obs, cnt, tot = {0, 0, 0}, {0, 0, 0}, 0
        for i = 1, n do
            obs[YC[i]] = obs[YC[i]] + XC[i][j]
            cnt[YC[i]] = cnt[YC[i]] + 1
            tot = tot + XC[i][j]
        end
        local c = 0
        for q = 1, 3 do
            local e = cnt[q] / n * tot
            c = c + (obs[q] - e) ^ 2 / e
        end
        lu.assertAlmostEquals(chi[j], c, 1e-12)
        lu.assertAlmostEquals(p[j], F.chi2_sf(c, 2), 1e-14)
    end
    assert_error(function() F.chi2(mf.tensor({{1, -1}, {2, 3}}, "float64"), {1, 2}) end,
                 "bad argument #1 to 'chi2'", "column 2 has negative values")
end

function TestScores:test_mutual_info_known_answers()
    local n, r = 1500, lcg(5)
    local y, X, cnt = {}, {}, {0, 0, 0}
    for i = 1, n do
        y[i] = 1 + math.floor(r() * 3)
        cnt[y[i]] = cnt[y[i]] + 1
        X[i] = {y[i] * 10, r()}
    end
    local H = 0
    for q = 1, 3 do H = H - cnt[q] / n * math.log(cnt[q] / n) end
    local mi = F.mutual_info_classif(mf.tensor(X, "float64"), mf.tensor(y, "int64"))
    lu.assertAlmostEquals(mi[1], H, 0.01)   -- a copy of the labels: their entropy
    lu.assertTrue(mi[2] < 0.03)             -- independent: about 0
    -- same seed, same values; another seed, nearly the same
    assert_vec(F.mutual_info_classif(mf.tensor(X, "float64"), y, {seed = 0}), mi:totable(), 0)
    assert_vec(F.mutual_info_classif(mf.tensor(X, "float64"), y, {seed = 9}), mi:totable(), 0.02)
    local yr = {}
    for i = 1, n do yr[i] = X[i][2] * 2 - 1 end
    local mr = F.mutual_info_regression(mf.tensor(X, "float64"), yr, {n_neighbors = 5})
    lu.assertTrue(mr[2] > 3)                -- a function of the target
    lu.assertTrue(mr[1] < 0.05)
    assert_error(function() F.mutual_info_regression(mf.tensor(X, "float64"), yr, {k = 3}) end,
                 "unknown option 'k'")
    assert_error(function() F.mutual_info_regression(mf.tensor(X, "float64"), yr, {n_neighbors = 0}) end,
                 "n_neighbors' must be an integer >= 1")
end

function TestScores:test_mutual_info_matches_scikit_learn()
    -- a flag, a continuous and a 5-valued column; y depends on the first two.
    -- The references are scikit-learn 1.2's (random_state = 0 and 1 give the
    -- same values to 8 digits: the noise only breaks ties)
    local n, s = 5000, 12345
    local function r() s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648 end
    local rows, y, c = {}, {}, {}
    for i = 1, n do
        local b = r() < 0.3 and 1 or 0
        local u = r()
        y[i] = b + r() * 0.8 + u * 0.3
        rows[i] = {b, u, math.floor(r() * 5)}
        c[i] = rows[i][3]
    end
    local X = mf.tensor(rows, "float64")
    assert_vec(F.mutual_info_regression(X, y), {0.59988139, 0.15553518, 0.01675134}, 1e-3)
    assert_vec(F.mutual_info_classif(X, c), {0, 0, 1.6099732}, 0.01)
end

function TestScores:test_input_errors()
    local X = mf.tensor(XC, "float64")
    assert_error(function() F.f_classif(X, {1, 2}) end, "bad argument #2 to 'f_classif'", "target has 2 entries, X has 12 rows")
    assert_error(function() F.f_classif(mf.ones(3), {1, 2, 3}) end, "2-D tensor expected")
    assert_error(function() F.f_regression(X, "y") end, "target (tensor or array) expected")
    local Xn = X:clone()
    Xn[2][3] = nan
    assert_error(function() F.f_classif(Xn, YC) end, "column 3 contains NaN")
    local yn = {}
    for i = 1, 12 do yn[i] = i end
    yn[4] = nan
    assert_error(function() F.f_regression(X, yn) end, "target contains NaN")
    assert_error(function() F.f_classif(X, mf.ones(12)) end, "at least 2 classes")
    -- a bool target is two classes
    local yb = {}
    for i = 1, 12 do yb[i] = YC[i] == 2 end
    local yb01 = {}
    for i = 1, 12 do yb01[i] = yb[i] and 1 or 0 end
    assert_vec(F.f_classif(X, mf.tensor(yb, "bool")), F.f_classif(X, yb01):totable(), 0)
end

---------------------------------------------------------------- selectors
TestSelectors = {}

function TestSelectors:test_variance_threshold()
    local X = mf.tensor({{0, 2, 0, 3}, {0, 1, 4, 3}, {0, 1, 1, 3}}, "float64") -- scikit-learn's example
    local vt = F.VarianceThreshold()
    local Z = vt:fit_transform(X)
    lu.assertEquals(Z:totable(), {{2, 0}, {1, 4}, {1, 1}})
    lu.assertEquals(vt:get_support():totable(), {false, true, true, false})
    lu.assertEquals(vt:get_support(true):totable(), {2, 3})
    assert_vec(vt.variances, {0, 2 / 9, 26 / 9, 0}, 1e-12) -- population variances
    -- NaN skipped; a threshold; a Table keeps its column names
    local tbl = mf.data.from_columns({a = {1, 2, nan, 4}, b = {1, 1.1, 1, 1.1}, c = {5, 0, 5, 0}})
    local v2 = F.VarianceThreshold{threshold = 0.5}:fit(tbl)
    assert_vec(v2.variances, {14 / 9, 0.0025, 6.25}, 1e-12)
    lu.assertEquals(v2:get_feature_names(), {"a", "c"})
    lu.assertEquals(v2:transform(tbl):columns(), {"a", "c"})
    assert_error(function() F.VarianceThreshold{threshold = 100}:fit(tbl) end,
                 "no column has a variance above the threshold 100")
    assert_error(function() F.VarianceThreshold{threshold = -1} end, "option 'threshold' must be a number >= 0")
    assert_error(function() F.VarianceThreshold{treshold = 1} end, "unknown option 'treshold'")
    assert_error(function() F.VarianceThreshold():transform(X) end, "VarianceThreshold: transform called before fit")
    assert_error(function() v2:transform(mf.ones(2, 2)) end, "expected 3 columns (as in fit), got 2")
end

function TestSelectors:test_select_k_best()
    local X = mf.tensor(XC, "float64")
    local f = F.f_classif(X, YC):totable()
    local sel = F.SelectKBest{score = "f_classif", k = 2}
    local Z = sel:fit_transform(X, YC)
    -- the two largest F by plain Lua
    local order = {1, 2, 3}
    table.sort(order, function(a, b) return f[a] > f[b] end)
    local want = {order[1], order[2]}
    table.sort(want)
    lu.assertEquals(sel:get_support(true):totable(), want)
    lu.assertEquals(Z:totable(), X:index(2, want):totable())
    assert_vec(sel.scores, f, 0)
    lu.assertEquals(sel.pvalues:size(1), 3)
    -- k = "all", k larger than the width (warning), ties keep the later column
    lu.assertEquals(F.SelectKBest{k = "all"}:fit(X, YC):get_support(true):totable(), {1, 2, 3})
    local warnings, s5 = mf.capture_warnings(function() return F.SelectKBest{k = 5}:fit(X, YC) end)
    lu.assertStrContains(warnings[1], "k = 5 is greater than the 3 columns")
    lu.assertEquals(s5:get_support(true):totable(), {1, 2, 3})
    local Xt = mf.tensor({{1, 1, 0}, {2, 2, 5}, {3, 3, 1}, {4, 4, 2}}, "float64")
    local tie = F.SelectKBest{score = "f_regression", k = 1}:fit(Xt, {1, 2, 3, 4})
    lu.assertEquals(tie:get_support(true):totable(), {2})
    -- Tables: the kept columns by name; every score; a custom score function
    local tbl = mf.data.from_columns({a = {1, 2, 3, 4, 5, 6}, b = {6, 1, 4, 2, 5, 3}, c = {1, 1, 2, 2, 3, 3}})
    local y = {1, 1, 2, 2, 3, 3}
    for _, score in ipairs({"f_classif", "mutual_info_classif", "f_regression"}) do
        local s = F.SelectKBest{score = score, k = 1}:fit(tbl, y)
        lu.assertEquals(s:transform(tbl):columns(), {"c"}, score)
    end
    -- chi2 compares class totals: a (3, 7, 11 against 7 each) beats c (2, 4, 6 against 4)
    local s = F.SelectKBest{score = "chi2", k = 1}:fit(tbl, y)
    assert_vec(s.scores, {32 / 7, 2 / 7, 2}, 1e-12)
    lu.assertEquals(s:get_feature_names(), {"a"})
    local custom = F.SelectKBest{k = 1, score = function(A) return A:to_tensor():select(1, 2) end}:fit(tbl, y)
    lu.assertEquals(custom:get_feature_names(), {"a"})
    assert_error(function() F.SelectKBest{score = "anova"} end, "option 'score' must be a function or one of")
    assert_error(function() F.SelectKBest{k = -1} end, "option 'k' must be a non-negative integer or \"all\"")
    assert_error(function() F.SelectKBest{kk = 1} end, "bad argument #1 to 'SelectKBest'", "unknown option 'kk'")
    assert_error(function() F.SelectKBest{n_neighbors = 3} end, "apply to the mutual_info scores only")
    assert_error(function() F.SelectKBest():fit(X) end, "bad argument #2 to 'SelectKBest:fit'", "target y expected")
    assert_error(function() F.SelectKBest():get_support() end, "SelectKBest: get_support called before fit")
    -- fitted on a tensor, a Table is selected by position
    lu.assertEquals(sel:transform(tbl):columns(), ({"a", "b", "c"})[want[1]] and
                    {({"a", "b", "c"})[want[1]], ({"a", "b", "c"})[want[2]]})
    assert_error(function() sel:transform(tbl:select({"a", "b"})) end, "bad argument #1 to 'SelectKBest:transform'",
                 "expected 3 columns (as in fit), got 2")
    assert_error(function() custom:transform(tbl:select({"a", "c"})) end, "column 'b' (seen in fit) missing")
end

function TestSelectors:test_correlation_filter()
    local r = lcg(3)
    local rows = {}
    for i = 1, 50 do
        local a, b = r(), r()
        rows[i] = {a, b, a * 2 + 0.01 * r(), -b + 0.001 * r(), r()}
    end
    local X = mf.tensor(rows, "float64")
    local cf = F.CorrelationFilter{threshold = 0.9}
    local Z = cf:fit_transform(X)
    lu.assertEquals(cf.dropped, {3, 4})
    lu.assertEquals(cf:get_support(true):totable(), {1, 2, 5})
    lu.assertEquals(Z:size(2), 3)
    -- the correlations against plain Lua Pearson
    local function pearson(i, j)
        local mi, mj, n = 0, 0, #rows
        for t = 1, n do mi, mj = mi + rows[t][i] / n, mj + rows[t][j] / n end
        local sij, sii, sjj = 0, 0, 0
        for t = 1, n do
            sij = sij + (rows[t][i] - mi) * (rows[t][j] - mj)
            sii = sii + (rows[t][i] - mi) ^ 2
            sjj = sjj + (rows[t][j] - mj) ^ 2
        end
        return sij / math.sqrt(sii * sjj)
    end
    local C = cf.correlations:totable()
    for i = 1, 5 do for j = 1, 5 do lu.assertAlmostEquals(C[i][j], pearson(i, j), 1e-12) end end
    -- greedy: b ~ a and c ~ b but not c ~ a: only b goes
    local tbl = mf.data.from_columns({a = {1, 2, 3, 4, 5}, b = {1, 2, 3, 5, 4}, c = {2, 1, 3, 5, 4}})
    local g = F.CorrelationFilter{threshold = 0.85}:fit(tbl)
    lu.assertEquals(g.dropped, {"b"})
    lu.assertEquals(g:transform(tbl):columns(), {"a", "c"})
    assert_error(function() F.CorrelationFilter{threshold = 2} end, "option 'threshold' must be a number in [0, 1]")
end

-- PCA on n rows of 4 columns against an eigendecomposition of the covariance.
local function check_pca(n)
    local r = lcg(9)
    local rows = {}
    for i = 1, n do
        local a, b = r() * 4, r()
        rows[i] = {a + b, a - 2 * b, r() * 0.3, 3 * a + r()}
    end
    local X = mf.tensor(rows, "float64")
    local d = 4
    -- covariance (n - 1) and its eigendecomposition, computed independently
    local mean = X:mean(1)
    local Xc = X - mean
    local cov = mf.matmul(Xc:t(), Xc) / (n - 1)
    local w, V = mf.linalg.eigh(cov)
    local wt, Vt = w:totable(), V:totable()
    local pca = F.PCA{n_components = 3}:fit(X)
    lu.assertEquals(pca.components:size(1), 3)
    lu.assertEquals(pca.components:size(2), 4)
    local tot = 0
    for j = 1, d do tot = tot + wt[j] end
    for c = 1, 3 do
        local e = d - c + 1 -- eigh is ascending
        lu.assertAlmostEquals(pca.explained_variance[c], wt[e], 1e-10)
        lu.assertAlmostEquals(pca.explained_variance_ratio[c], wt[e] / tot, 1e-12)
        lu.assertAlmostEquals(pca.singular_values[c], math.sqrt(wt[e] * (n - 1)), 1e-9)
        -- the same direction; sign: the largest |entry| positive
        local comp = pca.components[c]:totable()
        local big, dot = 1, 0
        for j = 1, d do
            if math.abs(comp[j]) > math.abs(comp[big]) then big = j end
            dot = dot + comp[j] * Vt[j][e]
        end
        lu.assertAlmostEquals(math.abs(dot), 1, 1e-9)
        lu.assertTrue(comp[big] > 0)
    end
    -- transform = centered X times components^T; full components round-trip
    local Z = pca:transform(X)
    lu.assertTrue(mf.allclose(Z, mf.matmul(Xc, pca.components:t()), {atol = 1e-12}))
    local full = F.PCA():fit(X)
    lu.assertTrue(mf.allclose(full:inverse_transform(full:transform(X)), X, {atol = 1e-10}))
    -- variance = 0.9: the fewest components whose cumulated ratio exceeds 0.9
    local ratios, cum, k = full.explained_variance_ratio:totable(), 0, 0
    repeat k = k + 1; cum = cum + ratios[k] until cum > 0.9
    lu.assertEquals(F.PCA{variance = 0.9}:fit(X).components:size(1), k)
    return X, pca
end

function TestSelectors:test_pca_matches_eigh_of_covariance()
    check_pca(8)   -- wide enough for the SVD path
    local X, pca = check_pca(40) -- tall: the Gram matrix path
    -- a Table input
    local tbl = mf.data.from_columns({p = X:select(2, 1):contiguous(), q = X:select(2, 2):contiguous()})
    lu.assertEquals(F.PCA{n_components = 1}:fit_transform(tbl):size(2), 1)
    assert_error(function() F.PCA{n_components = 2, variance = 0.9} end, "give either 'n_components' or 'variance'")
    assert_error(function() F.PCA{variance = 1.5} end, "option 'variance' must be a number in (0, 1)")
    assert_error(function() F.PCA{n_components = 9}:fit(X) end, "n_components = 9 is more than min(rows, columns) = 4")
    lu.assertEquals(pca:get_feature_names(), {"pca1", "pca2", "pca3"})
    assert_error(function() pca:get_support() end, "PCA: get_support is not defined")
    assert_error(function() F.PCA():transform(X) end, "PCA: transform called before fit")
    assert_error(function() F.PCA():get_feature_names() end, "PCA: get_feature_names called before fit")
    assert_error(function() pca:inverse_transform(mf.zeros(2, 2)) end, "expected 3 columns (the components)")
    assert_error(function() F.PCA{n_comp = 1} end, "unknown option 'n_comp'")
end

os.exit(lu.LuaUnit.run())
