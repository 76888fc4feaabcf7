-- mf.preprocess: every transformer against plain-Lua computations on small
-- data (float32 and float64, strided inputs, Tables), inverse round trips,
-- scikit-learn's documented values, and the errors.
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local support = require "support"
local assert_error = support.assert_error
local mf = require "moonforge"
local P = mf.preprocess
local NA = mf.data.NA
local nan = 0 / 0

-- A deterministic n x p matrix of plain Lua numbers.
local function lua_matrix(n, p, seed)
    local s = seed or 7
    local rows = {}
    for i = 1, n do
        rows[i] = {}
        for j = 1, p do
            s = (s * 1103515245 + 12345) % 2147483648
            rows[i][j] = math.floor(s / 2147483648 * 2000 - 1000) / 100 + j * 3
        end
    end
    return rows
end

local function assert_matrix(t, expect, tol, msg)
    local got = t:totable()
    lu.assertEquals(#got, #expect, msg)
    for i = 1, #expect do
        lu.assertEquals(#got[i], #expect[i], msg)
        for j = 1, #expect[i] do
            local g, e = got[i][j], expect[i][j]
            if e ~= e then
                lu.assertTrue(g ~= g, ("%s [%d][%d]: expected NaN, got %s"):format(msg or "", i, j, g))
            else
                lu.assertAlmostEquals(g, e, tol or 1e-12, ("%s [%d][%d]"):format(msg or "", i, j))
            end
        end
    end
end

local function assert_vector(t, expect, tol)
    local got = mf.is_tensor(t) and t:totable() or t
    lu.assertEquals(#got, #expect)
    for j = 1, #expect do lu.assertAlmostEquals(got[j], expect[j], tol or 1e-12) end
end

local function col(rows, j)
    local out = {}
    for i = 1, #rows do out[i] = rows[i][j] end
    return out
end

local function mean_std(v)
    local s = 0
    for _, x in ipairs(v) do s = s + x end
    local m = s / #v
    local s2 = 0
    for _, x in ipairs(v) do s2 = s2 + (x - m) ^ 2 end
    return m, math.sqrt(s2 / #v)
end

-- numpy's linear-interpolation quantile
local function quantile(v, q)
    local s = table.move(v, 1, #v, 1, {})
    table.sort(s)
    local h = (#s - 1) * q
    local lo = math.floor(h)
    if lo + 1 >= #s then return s[#s] end
    return s[lo + 1] + (h - lo) * (s[lo + 2] - s[lo + 1])
end

local function map_rows(rows, f)
    local out = {}
    for i, r in ipairs(rows) do
        out[i] = {}
        for j, x in ipairs(r) do out[i][j] = f(x, j, i) end
    end
    return out
end

---------------------------------------------------------------- scalers
TestScalers = {}

function TestScalers:test_standard_matches_plain_lua()
    local rows = lua_matrix(37, 4)
    local X = mf.tensor(rows, "float64")
    local sc = P.StandardScaler()
    lu.assertIs(sc:fit(X), sc)
    local mu, sd = {}, {}
    for j = 1, 4 do mu[j], sd[j] = mean_std(col(rows, j)) end
    assert_vector(sc.mean:totable(), mu, 1e-12)
    assert_vector(sc.scale:totable(), sd, 1e-12)
    for j = 1, 4 do lu.assertAlmostEquals(sc.var[j], sd[j] ^ 2, 1e-10) end
    lu.assertEquals(sc.n_features_in, 4)
    lu.assertEquals(sc.n_samples_seen, 37)
    local Z = sc:transform(X)
    lu.assertEquals(Z:dtype(), "float64")
    assert_matrix(Z, map_rows(rows, function(x, j) return (x - mu[j]) / sd[j] end), 1e-12)
    assert_matrix(sc:inverse_transform(Z), rows, 1e-12, "round trip")
    assert_matrix(P.StandardScaler():fit_transform(X), Z:totable(), 0)
end

function TestScalers:test_standard_sklearn_example()
    -- scikit-learn's docstring: [[0, 0], [0, 0], [1, 1], [1, 1]] -> mean [0.5, 0.5], [[3, 3]] -> [[3, 3]]
    local sc = P.StandardScaler():fit(mf.tensor({{0, 0}, {0, 0}, {1, 1}, {1, 1}}, "float64"))
    assert_vector(sc.mean:totable(), {0.5, 0.5})
    assert_matrix(sc:transform(mf.tensor({{2, 2}}, "float64")), {{3, 3}})
end

function TestScalers:test_standard_float32_strided_and_options()
    local rows = lua_matrix(9, 3, 3)
    local X32 = mf.tensor(rows, "float32")
    local sc = P.StandardScaler():fit(X32)
    local Z = sc:transform(X32)
    lu.assertEquals(Z:dtype(), "float32") -- sklearn keeps float32
    lu.assertEquals(sc.mean:dtype(), "float64")
    local Z64 = P.StandardScaler():fit_transform(X32:to("float64"))
    assert_matrix(Z, Z64:totable(), 1e-6)
    -- a transposed view (non-contiguous): the columns of X^T are the rows of X
    local T = mf.tensor(rows, "float64"):t()
    lu.assertFalse(T:is_contiguous())
    local st = P.StandardScaler():fit(T)
    local m1 = mean_std(rows[1])
    lu.assertAlmostEquals(st.mean[1], m1, 1e-12)
    assert_matrix(st:transform(T), st:transform(T:contiguous()):totable(), 0)
    -- with_mean / with_std off (on the float32 values, widened)
    rows = X32:to("float64"):totable()
    local nm = P.StandardScaler{with_mean = false}:fit(X32:to("float64"))
    local _, sd1 = mean_std(col(rows, 1))
    lu.assertAlmostEquals(nm:transform(X32:to("float64"))[1][1], rows[1][1] / sd1, 1e-12)
    lu.assertNil(nm.mean)
    local ns = P.StandardScaler{with_std = false}:fit(X32:to("float64"))
    lu.assertNil(ns.scale)
    lu.assertAlmostEquals(ns:transform(X32:to("float64"))[2][3], rows[2][3] - mean_std(col(rows, 3)), 1e-12)
    -- a constant column gets scale 1 (as scikit-learn)
    local c = P.StandardScaler():fit(mf.tensor({{5, 1}, {5, 2}, {5, 3}}, "float64"))
    lu.assertEquals(c.scale[1], 1)
    assert_matrix(c:transform(mf.tensor({{5, 2}}, "float64")), {{0, 0}})
end

function TestScalers:test_standard_int64_and_table_input()
    local X = mf.tensor({{1, 2}, {3, 4}, {5, 9}}, "int64")
    local Z = P.StandardScaler():fit_transform(X)
    lu.assertEquals(Z:dtype(), "float64")
    local tbl = mf.data.from_columns({a = {1, 3, 5}, b = {2.0, 4, 9}}, {order = {"a", "b"}})
    local sc = P.StandardScaler():fit(tbl)
    lu.assertEquals(sc.feature_names_in, {"a", "b"})
    assert_matrix(sc:transform(tbl), Z:totable(), 1e-12)
    -- a Table at transform is matched by column names
    local swapped = mf.data.from_columns({b = {2.0}, a = {1}, extra = {0.5}}, {order = {"b", "a", "extra"}})
    assert_matrix(sc:transform(swapped), {{Z[1][1], Z[1][2]}}, 1e-12)
    lu.assertEquals(sc:get_feature_names(), {"a", "b"})
end

function TestScalers:test_scaler_errors()
    local X = mf.tensor({{1, 2}, {3, 4}}, "float64")
    assert_error(function() P.StandardScaler():transform(X) end, "StandardScaler: transform called before fit")
    assert_error(function() P.MinMaxScaler():inverse_transform(X) end, "MinMaxScaler: inverse_transform called before fit")
    local sc = P.StandardScaler():fit(X)
    assert_error(function() sc:transform(mf.tensor({{1, 2, 3}}, "float64")) end,
                 "bad argument #1 to 'StandardScaler:transform'", "expected 2 columns (as in fit), got 3")
    assert_error(function() sc:transform(mf.tensor({{1, nan}}, "float64")) end,
                 "StandardScaler:transform", "column 2 contains NaN")
    local tbl = mf.data.from_columns({a = {1.0, 2}, s02 = {1.0, nan}}, {order = {"a", "s02"}})
    assert_error(function() P.StandardScaler():fit(tbl) end, "StandardScaler:fit", "column 's02' contains NaN")
    assert_error(function() P.MinMaxScaler():fit(tbl) end, "MinMaxScaler:fit", "column 's02' contains NaN")
    assert_error(function() P.RobustScaler():fit(tbl) end, "RobustScaler:fit", "column 's02' contains NaN")
    assert_error(function() P.StandardScaler():fit(mf.tensor({1, 2}, "float64")) end, "2-D tensor expected, got 1-D")
    assert_error(function() P.StandardScaler():fit("x") end, "tensor or Table expected, got string")
    assert_error(function() P.StandardScaler():fit(mf.zeros(0, 3, "float64")) end, "StandardScaler:fit", "no rows to fit on")
    assert_error(function() P.KBinsDiscretizer():fit(mf.data.from_columns({a = mf.zeros(0, "float64")})) end,
                 "no rows to fit on")
    local st = mf.data.from_columns({line = {"A", "B"}})
    assert_error(function() P.StandardScaler():fit(st) end, "column 'line' holds strings")
    assert_error(function() P.StandardScaler{with_men = true} end,
                 "bad argument #1 to 'StandardScaler'", "unknown option 'with_men'")
    assert_error(function() P.StandardScaler{with_mean = 1} end, "option 'with_mean' must be a boolean")
    assert_error(function() P.MinMaxScaler{feature_range = {1, 0}} end, "option 'feature_range'")
    assert_error(function() P.RobustScaler{quantile_range = {25, 175}} end, "option 'quantile_range'")
    assert_error(function() P.Normalizer{norm = "l3"} end, "option 'norm' must be")
    local f = P.StandardScaler():fit(tbl:select({"a"}))
    assert_error(function() f:transform(mf.data.from_columns({b = {1.0}})) end, "column 'a' (seen in fit) missing")
end

function TestScalers:test_minmax()
    local rows = lua_matrix(20, 3, 11)
    local X = mf.tensor(rows, "float64")
    local mm = P.MinMaxScaler{feature_range = {-1, 2}}:fit(X)
    local lo, hi = {}, {}
    for j = 1, 3 do
        local c = col(rows, j)
        lo[j], hi[j] = math.min(table.unpack(c)), math.max(table.unpack(c))
    end
    assert_vector(mm.data_min:totable(), lo, 0)
    assert_vector(mm.data_max:totable(), hi, 0)
    local Z = mm:transform(X)
    assert_matrix(Z, map_rows(rows, function(x, j) return (x - lo[j]) / (hi[j] - lo[j]) * 3 - 1 end), 1e-12)
    assert_matrix(mm:inverse_transform(Z), rows, 1e-12)
    -- clip keeps new data inside the range
    local out = mf.tensor({{lo[1] - 100, hi[2] + 100, lo[3]}}, "float64")
    assert_matrix(P.MinMaxScaler{clip = true}:fit(X):transform(out), {{0, 1, 0}}, 1e-12)
    lu.assertTrue(mm:transform(out)[1][1] < -1)
    -- sklearn's docstring example
    local d = mf.tensor({{-1, 2}, {-0.5, 6}, {0, 10}, {1, 18}}, "float64")
    local s = P.MinMaxScaler():fit(d)
    assert_vector(s.data_max:totable(), {1, 18})
    assert_matrix(s:transform(mf.tensor({{2, 2}}, "float64")), {{1.5, 0}})
    -- float32 kept
    lu.assertEquals(P.MinMaxScaler():fit_transform(X:to("float32")):dtype(), "float32")
end

function TestScalers:test_robust()
    local rows = lua_matrix(23, 3, 5)
    local X = mf.tensor(rows, "float64")
    local rs = P.RobustScaler():fit(X)
    local med, iqr = {}, {}
    for j = 1, 3 do
        local c = col(rows, j)
        med[j] = quantile(c, 0.5)
        iqr[j] = quantile(c, 0.75) - quantile(c, 0.25)
    end
    assert_vector(rs.center:totable(), med, 1e-12)
    assert_vector(rs.scale:totable(), iqr, 1e-12)
    local Z = rs:transform(X)
    assert_matrix(Z, map_rows(rows, function(x, j) return (x - med[j]) / iqr[j] end), 1e-12)
    assert_matrix(rs:inverse_transform(Z), rows, 1e-12)
    local r2 = P.RobustScaler{quantile_range = {10, 90}, with_centering = false}:fit(X)
    lu.assertNil(r2.center)
    lu.assertAlmostEquals(r2.scale[2], quantile(col(rows, 2), 0.9) - quantile(col(rows, 2), 0.1), 1e-12)
    -- sklearn's docstring example
    local d = mf.tensor({{1, -2, 2}, {-2, 1, 3}, {4, 1, -2}}, "float64")
    assert_matrix(P.RobustScaler():fit_transform(d),
                  {{0, -2, 0}, {-1, 0, 0.4}, {1, 0, -1.6}}, 1e-12)
end

function TestScalers:test_normalizer()
    local rows = {{3, -4, 0}, {0, 0, 0}, {1, 2, -2}}
    local X = mf.tensor(rows, "float64")
    local l2 = P.Normalizer():fit(X):transform(X)
    assert_matrix(l2, {{0.6, -0.8, 0}, {0, 0, 0}, {1 / 3, 2 / 3, -2 / 3}}, 1e-15)
    assert_matrix(P.Normalizer{norm = "l1"}:fit_transform(X), {{3 / 7, -4 / 7, 0}, {0, 0, 0}, {0.2, 0.4, -0.4}}, 1e-15)
    assert_matrix(P.Normalizer{norm = "max"}:fit_transform(X), {{0.75, -1, 0}, {0, 0, 0}, {0.5, 1, -1}}, 1e-15)
    local n32 = P.Normalizer():fit_transform(X:to("float32"))
    lu.assertEquals(n32:dtype(), "float32")
    assert_error(function() P.Normalizer():transform(X) end, "Normalizer: transform called before fit")
end

---------------------------------------------------------------- imputer
TestImputer = {}

function TestImputer:test_strategies()
    local rows = {{1, nan, 7}, {nan, 20, 7}, {3, 60, nan}, {3, 10, 2}, {8, 10, 2}}
    local X = mf.tensor(rows, "float64")
    local function plain(j)
        local v = {}
        for i = 1, #rows do if rows[i][j] == rows[i][j] then v[#v + 1] = rows[i][j] end end
        return v
    end
    local means, meds = {}, {}
    for j = 1, 3 do
        means[j] = mean_std(plain(j))
        meds[j] = quantile(plain(j), 0.5)
    end
    local im = P.SimpleImputer():fit(X)
    assert_vector(im.statistics:totable(), means, 1e-12)
    local Z = im:transform(X)
    assert_matrix(Z, map_rows(rows, function(x, j) return x ~= x and means[j] or x end), 1e-12)
    local md = P.SimpleImputer{strategy = "median"}:fit(X)
    assert_vector(md.statistics:totable(), meds, 1e-12)
    -- most_frequent: the smallest of the most frequent values (as scikit-learn)
    local mf_ = P.SimpleImputer{strategy = "most_frequent"}:fit(X)
    assert_vector(mf_.statistics:totable(), {3, 10, 2})
    local c = P.SimpleImputer{strategy = "constant", fill_value = -1}:fit_transform(X)
    assert_matrix(c, map_rows(rows, function(x) return x ~= x and -1 or x end), 0)
    lu.assertEquals(P.SimpleImputer{strategy = "constant"}:fit(X).statistics[2], 0)
    -- float32 kept; a Table works
    lu.assertEquals(im:transform(X:to("float32")):dtype(), "float32")
    local tbl = mf.data.from_columns({a = {1.0, nan, 3.0}, b = {1, 2, 3}}, {order = {"a", "b"}})
    assert_matrix(P.SimpleImputer():fit_transform(tbl), {{1, 1}, {2, 2}, {3, 3}}, 0)
end

function TestImputer:test_errors()
    local X = mf.tensor({{1, nan}, {2, nan}}, "float64")
    assert_error(function() P.SimpleImputer():fit(X) end, "SimpleImputer:fit", "column 2 has no values to compute the mean from")
    assert_error(function() P.SimpleImputer{strategy = "mode"} end, "option 'strategy' must be")
    assert_error(function() P.SimpleImputer{strategy = "constant", fill_value = {}} end, "option 'fill_value' must be a number or a string")
    assert_error(function() P.SimpleImputer{strategy = "constant", fill_value = "x"}:fit(X) end,
                 "fill_value must be a number for numeric columns")
    assert_error(function() P.SimpleImputer():transform(X) end, "SimpleImputer: transform called before fit")
    local im = P.SimpleImputer{strategy = "constant"}:fit(X)
    assert_error(function() im:transform(mf.tensor({{1}}, "float64")) end, "expected 2 columns (as in fit), got 1")
end

function TestImputer:test_string_columns()
    -- an array of strings: most frequent (smallest on ties, as scikit-learn) or constant
    local im = P.SimpleImputer{strategy = "most_frequent"}:fit({"b", NA, "a", "b", "a"})
    lu.assertEquals(im.statistics, {"a"})
    lu.assertEquals(im:transform({NA, "c", NA}), {"a", "c", "a"})
    local ic = P.SimpleImputer{strategy = "constant"}:fit({"x", NA})
    lu.assertEquals(ic:transform({NA}), {"missing_value"})
    -- a Table with string and numeric columns gives a Table
    local tbl = mf.data.from_columns({line = {"A", NA, "B", "B", NA}, t = {1.0, nan, 3, 5, nan}, k = {1, 2, 3, 4, 5}},
                                     {order = {"line", "t", "k"}})
    local it = P.SimpleImputer{strategy = "most_frequent"}:fit(tbl)
    lu.assertEquals(it.statistics, {"B", 1, 1})
    local out = it:transform(tbl)
    lu.assertEquals(out:columns(), {"line", "t", "k"})
    lu.assertEquals(out.line, {"A", "B", "B", "B", "B"})
    lu.assertEquals(out.t:totable(), {1, 1, 3, 5, 1})
    lu.assertEquals(out.k:totable(), {1, 2, 3, 4, 5})
    lu.assertEquals(tbl.line[2], NA) -- the input is untouched
    local ik = P.SimpleImputer{strategy = "constant", fill_value = 0}
    assert_error(function() ik:fit(tbl) end, "fill_value must be a string for string column 'line'")
    local filled = P.SimpleImputer{strategy = "constant", fill_value = "zz"}:fit(tbl:select({"line"})):transform(tbl)
    lu.assertEquals(filled.line, {"A", "zz", "B", "B", "zz"})
    lu.assertEquals(filled:columns(), {"line"})
    assert_error(function() P.SimpleImputer():fit(tbl) end,
                 "strategy \"mean\" needs numbers; column 'line' holds strings")
    assert_error(function() P.SimpleImputer{strategy = "most_frequent"}:fit({NA, NA}) end,
                 "column 1 has no values")
end

---------------------------------------------------------------- encoders
TestEncoders = {}

local function sample_table()
    return mf.data.from_columns({line = {"B", "A", "C", "A", "B"}, machine = {3, 1, 3, 2, 1},
                                 temp = {1.5, 2.5, 3.5, 4.5, 5.5}},
                                {order = {"line", "machine", "temp"}})
end

function TestEncoders:test_onehot_table()
    local tbl = sample_table():select({"line", "machine"})
    local oh = P.OneHotEncoder():fit(tbl)
    lu.assertEquals(oh.categories, {{"A", "B", "C"}, {1, 2, 3}})
    lu.assertEquals(math.type(oh.categories[2][1]), "integer")
    local Z = oh:transform(tbl)
    lu.assertEquals(Z:dtype(), "float64")
    -- plain Lua: row i has a 1 at its line and its machine
    local lines, machines = {"B", "A", "C", "A", "B"}, {3, 1, 3, 2, 1}
    local pos = {A = 1, B = 2, C = 3}
    local expect = {}
    for i = 1, 5 do
        expect[i] = {0, 0, 0, 0, 0, 0}
        expect[i][pos[lines[i]]] = 1
        expect[i][3 + machines[i]] = 1
    end
    assert_matrix(Z, expect, 0)
    lu.assertEquals(oh:get_feature_names(), {"line_A", "line_B", "line_C", "machine_1", "machine_2", "machine_3"})
    lu.assertEquals(oh:get_feature_names({"l", "m"})[4], "m_1")
    -- a filtered table whose levels include values no longer present
    local sub = sample_table():take({1, 3})
    local o2 = P.OneHotEncoder():fit(sub:select({"line"}))
    lu.assertEquals(o2.categories, {{"B", "C"}})
end

function TestEncoders:test_onehot_arrays_and_tensors()
    local oh = P.OneHotEncoder():fit({"b", "a", "c", "a"})
    lu.assertEquals(oh.categories[1], {"a", "b", "c"})
    assert_matrix(oh:transform({"c", "a"}), {{0, 0, 1}, {1, 0, 0}}, 0)
    lu.assertEquals(oh:get_feature_names(), {"x0_a", "x0_b", "x0_c"})
    local num = P.OneHotEncoder():fit({2.5, 1, 2.5})
    lu.assertEquals(num.categories[1], {1, 2.5})
    assert_matrix(num:transform({1, 2.5}), {{1, 0}, {0, 1}}, 0)
    local T = mf.tensor({{1, 10}, {2, 10}, {1, 30}}, "int64")
    local ot = P.OneHotEncoder():fit(T)
    lu.assertEquals(ot.categories, {{1, 2}, {10, 30}})
    assert_matrix(ot:transform(T), {{1, 0, 1, 0}, {0, 1, 1, 0}, {1, 0, 0, 1}}, 0)
    -- a strided column of a float tensor
    local F = mf.tensor({{1, 5}, {2, 6}, {1, 7}}, "float64"):t()
    lu.assertEquals(P.OneHotEncoder():fit(F).categories, {{1, 5}, {2, 6}, {1, 7}})
end

function TestEncoders:test_onehot_drop_and_unknown()
    local tbl = mf.data.from_columns({a = {"x", "y", "x"}, b = {"p", "q", "r"}}, {order = {"a", "b"}})
    local first = P.OneHotEncoder{drop = "first"}:fit(tbl)
    assert_matrix(first:transform(tbl), {{0, 0, 0}, {1, 1, 0}, {0, 0, 1}}, 0)
    lu.assertEquals(first:get_feature_names(), {"a_y", "b_q", "b_r"})
    lu.assertEquals(first.drop_idx, {1, 1})
    local bin = P.OneHotEncoder{drop = "if_binary"}:fit(tbl)
    assert_matrix(bin:transform(tbl), {{0, 1, 0, 0}, {1, 0, 1, 0}, {0, 0, 0, 1}}, 0)
    lu.assertEquals(bin:get_feature_names(), {"a_y", "b_p", "b_q", "b_r"})
    local new = mf.data.from_columns({a = {"x", "z"}, b = {"p", "p"}}, {order = {"a", "b"}})
    local err = assert_error(function() P.OneHotEncoder():fit(tbl):transform(new) end,
                             "bad argument #1 to 'OneHotEncoder:transform'", "unknown category 'z' in column 'a'",
                             "row 2")
    lu.assertStrContains(err, "x, y")
    local ig = P.OneHotEncoder{handle_unknown = "ignore"}:fit(tbl)
    assert_matrix(ig:transform(new), {{1, 0, 1, 0, 0}, {0, 0, 1, 0, 0}}, 0)
    assert_error(function() P.OneHotEncoder():fit({1, 2}):transform({3}) end, "unknown category 3 in column 1")
end

function TestEncoders:test_encoder_errors()
    assert_error(function() P.OneHotEncoder():fit({"a", NA}) end, "column 1 has missing values")
    assert_error(function() P.OneHotEncoder():fit(mf.tensor({{1}, {nan}}, "float64")) end, "column 1 contains NaN")
    assert_error(function() P.OneHotEncoder():fit({"a", 1}) end, "array of strings expected, got number at 2")
    assert_error(function() P.OneHotEncoder():fit(42) end, "Table, tensor or array expected, got number")
    assert_error(function() P.OneHotEncoder{handle_unknown = "skip"} end, "option 'handle_unknown' must be")
    assert_error(function() P.OneHotEncoder{drop = "last"} end, "option 'drop' must be")
    assert_error(function() P.OneHotEncoder{sparse_output = true} end, "option 'sparse_output' must be false")
    lu.assertEquals(P.OneHotEncoder{sparse_output = false}:fit({"a"}):transform({"a"}):totable(), {{1}})
    assert_error(function() P.OneHotEncoder():transform({"a"}) end, "OneHotEncoder: transform called before fit")
    local oh = P.OneHotEncoder():fit(mf.tensor({{1, 2}}, "int64"))
    assert_error(function() oh:transform(mf.tensor({{1, 2, 3}}, "int64")) end, "expected 2 columns (as in fit), got 3")
    assert_error(function() P.OneHotEncoder():fit({"a"}):transform({1}) end, "strings expected (as in fit), got numbers")
    assert_error(function() P.OrdinalEncoder{handle_unknown = "use_encoded_value"} end, "option 'unknown_value'")
end

function TestEncoders:test_ordinal()
    local tbl = sample_table():select({"line", "machine"})
    local oe = P.OrdinalEncoder():fit(tbl)
    local Z = oe:transform(tbl)
    -- 1-based codes in sorted category order
    assert_matrix(Z, {{2, 3}, {1, 1}, {3, 3}, {1, 2}, {2, 1}}, 0)
    lu.assertEquals(oe:get_feature_names(), {"line", "machine"})
    local new = mf.data.from_columns({line = {"D", "A"}, machine = {1, 9}}, {order = {"line", "machine"}})
    assert_error(function() oe:transform(new) end, "OrdinalEncoder:transform", "unknown category 'D' in column 'line'")
    local ue = P.OrdinalEncoder{handle_unknown = "use_encoded_value", unknown_value = -1}:fit(tbl)
    assert_matrix(ue:transform(new), {{-1, 1}, {1, -1}}, 0)
    local un = P.OrdinalEncoder{handle_unknown = "use_encoded_value", unknown_value = nan}:fit(tbl)
    assert_matrix(un:transform(new), {{nan, 1}, {1, nan}}, 0)
end

function TestEncoders:test_label_encoder()
    local le = P.LabelEncoder()
    local codes = le:fit_transform({"paris", "paris", "tokyo", "amsterdam"})
    lu.assertEquals(le.classes, {"amsterdam", "paris", "tokyo"})
    lu.assertEquals(codes:dtype(), "int64")
    lu.assertEquals(codes:totable(), {2, 2, 3, 1}) -- scikit-learn's [1, 1, 2, 0], 1-based
    lu.assertEquals(le:inverse_transform({3, 1}), {"tokyo", "amsterdam"})
    lu.assertEquals(le:inverse_transform(mf.tensor({2}, "int64")), {"paris"})
    local ln = P.LabelEncoder():fit(mf.tensor({1, 2, 2, 6}, "int64"))
    lu.assertEquals(ln.classes, {1, 2, 6})
    lu.assertEquals(ln:transform(mf.tensor({1, 1, 2, 6}, "int64")):totable(), {1, 1, 2, 3})
    local back = ln:inverse_transform({1, 1, 2, 3})
    lu.assertEquals(back:dtype(), "int64")
    lu.assertEquals(back:totable(), {1, 1, 2, 6})
    assert_error(function() le:transform({"rome"}) end, "LabelEncoder:transform", "label not seen in fit: 'rome'")
    assert_error(function() ln:transform(mf.tensor({6, 1, 7, 8}, "int64")) end, "label not seen in fit: 7 (at 3)")
    assert_error(function() le:inverse_transform({4}) end, "codes must be in 1..3")
    assert_error(function() le:fit(mf.zeros(2, 2)) end, "1-D tensor expected, got 2-D")
    assert_error(function() P.LabelEncoder{x = 1} end, "unknown option 'x'")
    assert_error(function() P.LabelEncoder():transform({"a"}) end, "LabelEncoder: transform called before fit")
end

---------------------------------------------------------------- polynomial / bins
TestPolyBins = {}

function TestPolyBins:test_poly_degree2()
    local rows = {{0, 1}, {2, 3}, {4, 5}}
    local pf = P.PolynomialFeatures():fit(mf.tensor(rows, "float64"))
    -- scikit-learn's docstring: [[1, 0, 1, 0, 0, 1], [1, 2, 3, 4, 6, 9], [1, 4, 5, 16, 20, 25]]
    assert_matrix(pf:transform(mf.tensor(rows, "float64")),
                  {{1, 0, 1, 0, 0, 1}, {1, 2, 3, 4, 6, 9}, {1, 4, 5, 16, 20, 25}}, 0)
    lu.assertEquals(pf:get_feature_names(), {"1", "x0", "x1", "x0^2", "x0 x1", "x1^2"})
    lu.assertEquals(pf.n_output_features, 6)
    lu.assertEquals(pf.powers, {{0, 0}, {1, 0}, {0, 1}, {2, 0}, {1, 1}, {0, 2}})
    local io = P.PolynomialFeatures{interaction_only = true}:fit(mf.tensor(rows, "float64"))
    assert_matrix(io:transform(mf.tensor(rows, "float64")), {{1, 0, 1, 0}, {1, 2, 3, 6}, {1, 4, 5, 20}}, 0)
end

function TestPolyBins:test_poly_degree3_plain_lua()
    local rows = lua_matrix(6, 3, 9)
    local X = mf.tensor(rows, "float32"):t():contiguous():t() -- column-major float32
    local pf = P.PolynomialFeatures{degree = 3, include_bias = false}:fit(X)
    local Z = pf:transform(X)
    lu.assertEquals(Z:dtype(), "float32")
    -- plain Lua: every multiset of 1..3 columns in sklearn's order
    local expect = {}
    for i, r in ipairs(rows) do
        local e = {}
        for a = 1, 3 do e[#e + 1] = r[a] end
        for a = 1, 3 do for b = a, 3 do e[#e + 1] = r[a] * r[b] end end
        for a = 1, 3 do for b = a, 3 do for c = b, 3 do e[#e + 1] = r[a] * r[b] * r[c] end end end
        expect[i] = e
    end
    lu.assertEquals(Z:size(2), 19)
    local got = Z:totable()
    for i = 1, #rows do
        for o = 1, 19 do
            lu.assertAlmostEquals(got[i][o], expect[i][o], math.abs(expect[i][o]) * 1e-6 + 1e-6)
        end
    end
    local names = pf:get_feature_names({"a", "b", "c"})
    lu.assertEquals(names[4], "a^2")
    lu.assertEquals(names[19], "c^3")
    lu.assertEquals(names[14], "a b c")
    assert_error(function() P.PolynomialFeatures{degree = -1} end, "option 'degree'")
    assert_error(function() pf:transform(mf.tensor({{1, 2}}, "float64")) end, "expected 3 columns (as in fit), got 2")
end

function TestPolyBins:test_kbins_uniform_ordinal()
    local rows = lua_matrix(30, 2, 4)
    local X = mf.tensor(rows, "float64")
    local kb = P.KBinsDiscretizer{n_bins = 4, encode = "ordinal", strategy = "uniform"}:fit(X)
    local Z = kb:transform(X)
    for j = 1, 2 do
        local c = col(rows, j)
        local lo, hi = math.min(table.unpack(c)), math.max(table.unpack(c))
        lu.assertAlmostEquals(kb.bin_edges[j][1], lo, 0)
        lu.assertAlmostEquals(kb.bin_edges[j][5], hi, 0)
        local w = (hi - lo) / 4
        for i = 1, #rows do
            local b = math.floor((rows[i][j] - lo) / w) + 1
            if b > 4 then b = 4 end
            -- values exactly on an inner edge go up (edges are computed as lo + k*w)
            local e = kb.bin_edges[j]:totable()
            local ref = 1
            for k = 2, 4 do if rows[i][j] >= e[k] then ref = k end end
            lu.assertEquals(Z[i][j], ref)
            lu.assertTrue(math.abs(b - ref) <= 1)
        end
    end
    lu.assertEquals(kb.n_bins_, {4, 4})
    -- back to the bin centers
    local back = kb:inverse_transform(Z)
    for i = 1, #rows do
        for j = 1, 2 do
            local e = kb.bin_edges[j]:totable()
            local b = Z[i][j]
            lu.assertAlmostEquals(back[i][j], (e[b] + e[b + 1]) / 2, 1e-12)
            lu.assertTrue(back[i][j] - (e[b + 1] - e[b]) / 2 <= rows[i][j] + 1e-12)
        end
    end
    assert_error(function() kb:inverse_transform(mf.tensor({{0, 1}}, "float64")) end,
                 "KBinsDiscretizer:inverse_transform", "column 1: bin numbers must be integers in 1..4")
    assert_error(function() kb:inverse_transform(mf.tensor({{1.5, 1}}, "float64")) end, "bin numbers must be integers")
    assert_error(function() P.KBinsDiscretizer():fit(X):inverse_transform(X) end, "only with encode = \"ordinal\"")
    -- values outside the fitted range fall in the first / last bin
    assert_matrix(kb:transform(mf.tensor({{-1e9, 1e9}}, "float64")), {{1, 4}}, 0)
end

function TestPolyBins:test_kbins_quantile_onehot()
    local X = mf.tensor({{1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}}, "float64")
    local kb = P.KBinsDiscretizer{n_bins = 4}:fit(X) -- sklearn defaults: quantile, onehot
    assert_vector(kb.bin_edges[1]:totable(), {1, 2.75, 4.5, 6.25, 8}, 1e-12)
    local Z = kb:transform(X)
    assert_matrix(Z, {{1, 0, 0, 0}, {1, 0, 0, 0}, {0, 1, 0, 0}, {0, 1, 0, 0},
                      {0, 0, 1, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}, {0, 0, 0, 1}}, 0)
    lu.assertEquals(kb:get_feature_names(), {"x0_1", "x0_2", "x0_3", "x0_4"})
    -- sklearn's docstring example (uniform, ordinal), bins 1-based here
    local d = mf.tensor({{-2, 1, -4, -1}, {-1, 2, -3, -0.5}, {0, 3, -2, 0.5}, {1, 4, -1, 2}}, "float64")
    local u = P.KBinsDiscretizer{n_bins = 3, encode = "ordinal", strategy = "uniform"}:fit(d)
    assert_matrix(u:transform(d), {{1, 1, 1, 1}, {2, 2, 2, 1}, {3, 3, 3, 2}, {3, 3, 3, 3}}, 0)
    -- a constant column: one bin, with a warning; duplicate quantile edges removed
    local C = mf.tensor({{5, 0}, {5, 0}, {5, 0}, {5, 1}}, "float64")
    local warns = mf.capture_warnings(function()
        local kc = P.KBinsDiscretizer{n_bins = 3, encode = "ordinal"}:fit(C)
        lu.assertEquals(kc.n_bins_[1], 1)
        lu.assertTrue(kc.n_bins_[2] < 3)
        assert_matrix(kc:transform(C):narrow(2, 1, 1), {{1}, {1}, {1}, {1}}, 0)
    end)
    lu.assertEquals(#warns, 2)
    lu.assertStrContains(warns[1], "feature 1 is constant")
    lu.assertStrContains(warns[2], "bins whose width is too small")
    assert_error(function() kb:transform(mf.tensor({{nan}}, "float64")) end, "KBinsDiscretizer:transform", "column 1 contains NaN")
    assert_error(function() P.KBinsDiscretizer{n_bins = 1} end, "option 'n_bins'")
    assert_error(function() P.KBinsDiscretizer{strategy = "kmeans"} end, "option 'strategy' must be")
end

---------------------------------------------------------------- ColumnTransformer
TestColumnTransformer = {}

function TestColumnTransformer:test_table()
    local tbl = sample_table()
    local ct = P.ColumnTransformer{
        {"num", P.StandardScaler(), {"temp"}},
        {"cat", P.OneHotEncoder(), {"line"}},
    }
    local Z = ct:fit_transform(tbl)
    lu.assertEquals(Z:size(), {5, 4})
    local m, s = mean_std({1.5, 2.5, 3.5, 4.5, 5.5})
    local lines = {"B", "A", "C", "A", "B"}
    local pos = {A = 2, B = 3, C = 4}
    local expect = {}
    for i = 1, 5 do
        expect[i] = {(tbl.temp[i] - m) / s, 0, 0, 0}
        expect[i][pos[lines[i]]] = 1
    end
    assert_matrix(Z, expect, 1e-12)
    lu.assertEquals(ct:get_feature_names(), {"num__temp", "cat__line_A", "cat__line_B", "cat__line_C"})
    lu.assertEquals(ct:get_feature_names_out(), ct:get_feature_names()) -- scikit-learn's spelling
    lu.assertEquals(ct.named_transformers.cat:get_feature_names_out(), {"line_A", "line_B", "line_C"})
    -- transform on new rows reuses the fitted state
    local new = mf.data.from_columns({line = {"C"}, machine = {7}, temp = {3.5}}, {order = {"line", "machine", "temp"}})
    assert_matrix(ct:transform(new), {{0, 0, 0, 1}}, 1e-12)
    lu.assertIs(ct.named_transformers.cat, ct.transformers[2].transformer)
    lu.assertEquals(ct.named_transformers.num.mean[1], m)
    -- remainder passthrough keeps the other numeric columns, at the end
    local cr = P.ColumnTransformer{{"cat", P.OneHotEncoder(), "line"}, remainder = "passthrough"}
    local Zr = cr:fit_transform(tbl)
    lu.assertEquals(Zr:size(), {5, 5})
    lu.assertEquals(Zr:select(2, 4):totable(), {3, 1, 3, 2, 1})
    lu.assertEquals(cr:get_feature_names(), {"cat__line_A", "cat__line_B", "cat__line_C",
                                             "remainder__machine", "remainder__temp"})
    -- fit returns self; "passthrough" / "drop" as transformers
    local cp = P.ColumnTransformer{{"keep", "passthrough", {"machine"}}, {"gone", "drop", {"temp"}}}
    lu.assertIs(cp:fit(tbl), cp)
    assert_matrix(cp:transform(tbl), {{3}, {1}, {3}, {2}, {1}}, 0)
    lu.assertEquals(cp:get_feature_names(), {"keep__machine"})
end

function TestColumnTransformer:test_tensor_positions()
    local rows = lua_matrix(10, 3, 2)
    local X = mf.tensor(rows, "float32")
    local ct = P.ColumnTransformer{{"mm", P.MinMaxScaler(), {3, 1}}, remainder = "passthrough"}
    local Z = ct:fit_transform(X)
    lu.assertEquals(Z:dtype(), "float64")
    local ref = P.MinMaxScaler():fit_transform(X:index(2, {3, 1}))
    assert_matrix(Z:narrow(2, 1, 2), ref:to("float64"):totable(), 0)
    assert_matrix(Z:narrow(2, 3, 1), X:narrow(2, 2, 1):to("float64"):totable(), 0)
    lu.assertEquals(ct:get_feature_names(), {"mm__x2", "mm__x0", "remainder__x1"})
    assert_error(function() ct:transform(X:narrow(2, 1, 2)) end, "ColumnTransformer:transform", "expected 3 columns (as in fit), got 2")
end

function TestColumnTransformer:test_errors()
    local tbl = sample_table()
    assert_error(function() P.ColumnTransformer{{"a", P.StandardScaler(), {"nope"}}}:fit(tbl) end,
                 "ColumnTransformer:fit", "unknown column 'nope'")
    assert_error(function() P.ColumnTransformer{{"a", P.StandardScaler(), {5}}}:fit(mf.zeros(2, 2)) end,
                 "column 5 out of range 1..2")
    assert_error(function() P.ColumnTransformer{{"a", P.StandardScaler(), {"temp"}}}:transform(tbl) end,
                 "ColumnTransformer: transform called before fit")
    assert_error(function() P.ColumnTransformer{{"a", 42, {"temp"}}} end, "transformer expected, got number")
    assert_error(function() P.ColumnTransformer{{"a", P.StandardScaler()}} end, "entry 1 must be {name, transformer, columns}")
    assert_error(function() P.ColumnTransformer{{"a", "passthrough", "temp"}, remainder = "keep"} end, "remainder must be")
    assert_error(function() P.ColumnTransformer{{"a", "passthrough", "temp"}, remaindr = "drop"} end, "unknown option 'remaindr'")
    assert_error(function() P.ColumnTransformer{{"a", "passthrough", "temp"}, {"a", "drop", "line"}} end, "duplicate name 'a'")
    -- a scaler on a string column: the inner error names the column
    assert_error(function() P.ColumnTransformer{{"a", P.StandardScaler(), {"line"}}}:fit(tbl) end,
                 "column 'line' holds strings")
end

TestEncoderInverse = {}

-- inverse_transform gives back the input columns: strings as string
-- columns, numbers as float64; checked cell by cell against the input.
function TestEncoderInverse:test_round_trips()
    local t = mf.data.from_columns({line = {"B", "A", "C", "A", "B"}, n = mf.tensor({3, 1, 3, 2, 2}, "int64")},
                                   {order = {"line", "n"}})
    local encoders = {P.OneHotEncoder(), P.OneHotEncoder{drop = "first"},
                      P.OneHotEncoder{drop = "if_binary"}, P.OrdinalEncoder()}
    for _, enc in ipairs(encoders) do
        local back = enc:fit(t):inverse_transform(enc:transform(t))
        lu.assertEquals(back:columns(), {"line", "n"})
        lu.assertEquals(back:dtypes(), {line = "string", n = "float64"})
        lu.assertEquals(back:column("line"), t:column("line"))
        lu.assertEquals(back:column("n"):totable(), {3, 1, 3, 2, 2})
    end
end

function TestEncoderInverse:test_unknown_rows()
    local t = mf.data.from_columns({c = {"x", "y"}})
    local ign = P.OneHotEncoder{handle_unknown = "ignore"}:fit(t)
    local back = ign:inverse_transform(mf.tensor({{0, 0}, {0, 1}}, "float64"))
    lu.assertEquals(back:column("c"), {mf.data.NA, "y"})
    local strict = P.OneHotEncoder():fit(t)
    assert_error(function() strict:inverse_transform(mf.zeros(1, 2)) end,
                 "bad argument #1 to 'OneHotEncoder:inverse_transform' (row 1 has no category for column 'c' (all zeros))")
    assert_error(function() strict:inverse_transform(mf.zeros(1, 3)) end, "expected 2 columns, got 3")
    local oe = P.OrdinalEncoder{handle_unknown = "use_encoded_value", unknown_value = -1}:fit(t)
    lu.assertEquals(oe:inverse_transform(mf.tensor({{-1}, {2}}, "float64")):column("c"), {mf.data.NA, "y"})
    assert_error(function() oe:inverse_transform(mf.tensor({{3}}, "float64")) end,
                 "row 1, column 'c': 3.0 is not a code in 1..2")
end

os.exit(lu.LuaUnit.run())
