-- The cleaning functions of mf.data (dropna, fillna, drop_duplicates,
-- clip_outliers, cast, replace, str_strip/lower/upper, get_dummies), each
-- checked against a plain-Lua computation over the same rows (small tables,
-- and a 40,000-row one that crosses the parallel kernels' chunks), their
-- change records and their errors.
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local support = require "support"
local assert_error = support.assert_error
local mf = require "moonforge"
local NA = mf.data.NA
local nan = 0 / 0

local function isnan(v) return v ~= v end

-- name (string, with NA), x (float64, with NaN), y (float64), k (int64), ok (bool)
local NAME = {"b", "a", NA, "c", "a", NA, "a", "b"}
local X = {3.0, nan, 1.5, nan, 2.0, nan, 3.0, 0.5}
local Y = {nan, 1.0, nan, 4.0, 2.0, nan, nan, 8.0}
local K = {7, 6, 5, 4, 3, 2, 1, 0}
local OK = {true, false, true, true, false, true, false, false}
local ORDER = {"name", "x", "y", "k", "ok"}
local SRC = {name = NAME, x = X, y = Y, k = K, ok = OK}

local function sample()
    return mf.data.from_columns({name = NAME, x = X, y = Y, k = K, ok = OK}, {order = ORDER})
end

-- A cell as a comparable Lua value: NaN and NA become the string "<missing>".
local function cell(v)
    if v == NA or (type(v) == "number" and v ~= v) then return "<missing>" end
    return v
end

-- The rows of tbl as arrays (in `names` order, default the table's).
local function rows(tbl, names)
    names = names or tbl:columns()
    local cols = {}
    for j, name in ipairs(names) do
        local c = tbl:column(name)
        cols[j] = mf.is_tensor(c) and c:totable() or c
    end
    local out = {}
    for i = 1, #tbl do
        local r = {}
        for j = 1, #names do r[j] = cell(cols[j][i]) end
        out[i] = r
    end
    return out
end

-- The source rows at positions idx, in the same form.
local function pick(src, names, idx)
    local out = {}
    for i, p in ipairs(idx) do
        local r = {}
        for j, name in ipairs(names) do r[j] = cell(src[name][p]) end
        out[i] = r
    end
    return out
end

local function missing(v) return v == NA or (type(v) == "number" and v ~= v) end

------------------------------------------------------------------ dropna
TestDropna = {}

-- Reference: positions of the rows kept by pandas' dropna over `names`.
local function ref_dropna(src, n, names, how, thresh)
    local keep = {}
    for i = 1, n do
        local nmiss = 0
        for _, name in ipairs(names) do if missing(src[name][i]) then nmiss = nmiss + 1 end end
        local ok
        if thresh then ok = #names - nmiss >= thresh
        elseif how == "all" then ok = #names == 0 or nmiss < #names
        else ok = nmiss == 0 end
        if ok then keep[#keep + 1] = i end
    end
    return keep
end

function TestDropna:test_any_all_thresh_subset()
    local cases = {
        {{}, ORDER, "any"},
        {{how = "all"}, ORDER, "all"},
        {{subset = {"x", "y"}, how = "all"}, {"x", "y"}, "all"},
        {{subset = {"x", "name"}}, {"x", "name"}, "any"},
        {{subset = {"k", "ok"}}, {"k", "ok"}, "any"},
        {{subset = {"k", "x"}, how = "all"}, {"k", "x"}, "all"},
        {{thresh = 4}, ORDER, nil, 4},
        {{thresh = 2, subset = {"name", "x", "y"}}, {"name", "x", "y"}, nil, 2},
        {{thresh = 0}, ORDER, nil, 0},
        {{thresh = 6}, ORDER, nil, 6},
    }
    for _, c in ipairs(cases) do
        local t, ch = sample():dropna(c[1])
        local keep = ref_dropna(SRC, #NAME, c[2], c[3], c[4])
        lu.assertEquals(rows(t, ORDER), pick(SRC, ORDER, keep))
        lu.assertEquals(t:columns(), ORDER)
        lu.assertEquals(t:dtypes(), sample():dtypes())
        lu.assertEquals(ch.op, "dropna")
        lu.assertEquals(ch.dropped, #NAME - #keep)
        lu.assertEquals(ch.rows_before, #NAME)
        lu.assertEquals(ch.rows_after, #keep)
    end
end

function TestDropna:test_report_text_and_original_untouched()
    local tbl = sample()
    local t, ch = tbl:dropna{subset = {"x", "y"}}
    lu.assertEquals(#t, 2) -- rows 5 and 8
    lu.assertEquals(tostring(ch), "dropna: 6 rows of 8 dropped (how any, subset x, y)")
    lu.assertEquals(#tbl, 8)
    lu.assertTrue(isnan(tbl.x[2]))
    local _, ch2 = tbl:dropna{subset = {"k"}}
    lu.assertEquals(tostring(ch2), "dropna: 0 rows of 8 dropped (how any, subset k)")
end

function TestDropna:test_string_levels_kept()
    local t = sample():dropna()
    lu.assertEquals(t.name, {"a", "b"}) -- rows 5 and 8
    lu.assertEquals(t.k:totable(), {3, 0})
end

function TestDropna:test_errors()
    local t = sample()
    assert_error(function() t:dropna{subset = {"x", "speed"}} end, "bad argument #2 to 'dropna'",
                 "unknown column 'speed' (columns: name, x, y, k, ok)")
    assert_error(function() t:dropna{how = "some"} end, "'dropna'", "option 'how' must be \"any\" or \"all\"")
    assert_error(function() t:dropna{how = "any", thresh = 2} end, "cannot be combined")
    assert_error(function() t:dropna{thresh = -1} end, "option 'thresh' must be a non-negative integer")
    assert_error(function() t:dropna{thresh = 1.5} end, "option 'thresh' must be a non-negative integer")
    assert_error(function() t:dropna{subst = {"x"}} end, "'dropna'", "unknown option 'subst'")
    assert_error(function() t:dropna{subset = {"x", "x"}} end, "column 'x' listed twice")
    assert_error(function() t:dropna{subset = 3} end, "option 'subset' must be a column name or a list")
    assert_error(function() mf.data.Table.dropna(3) end, "bad argument #1 to 'dropna'", "Table expected")
end

------------------------------------------------------------------ fillna
TestFillna = {}

local function col_values(t, name)
    local c = t:column(name)
    return mf.is_tensor(c) and c:totable() or c
end

-- The column `src` with missing cells replaced as by ffill (or bfill).
local function ref_ffill(src, backward)
    local out, last = {}, nil
    local n = #src
    for s = 1, n do
        local i = backward and n + 1 - s or s
        if missing(src[i]) then
            out[i] = last == nil and src[i] or last
        else
            out[i], last = src[i], src[i]
        end
    end
    return out
end

local function assert_same(a, b, msg)
    lu.assertEquals(#a, #b, msg)
    for i = 1, #a do lu.assertEquals(cell(a[i]), cell(b[i]), (msg or "") .. " row " .. i) end
end

function TestFillna:test_value_by_type()
    local t, ch = sample():fillna(-1)
    local want = {}
    for i, v in ipairs(X) do want[i] = isnan(v) and -1 or v end
    assert_same(col_values(t, "x"), want)
    lu.assertEquals(col_values(t, "name"), NAME) -- a number fills float columns only
    lu.assertEquals(ch.filled, {x = 3, y = 4})
    lu.assertEquals(ch.total, 7)
    lu.assertEquals(tostring(ch), "fillna: 7 cells filled (value -1)\n  filled: x 3, y 4")
    local t2, ch2 = sample():fillna("none")
    local wname = {}
    for i, v in ipairs(NAME) do wname[i] = v == NA and "none" or v end
    lu.assertEquals(t2.name, wname)
    assert_same(col_values(t2, "x"), X)
    lu.assertEquals(ch2.filled, {name = 2})
end

function TestFillna:test_per_column()
    local t, ch = sample():fillna{x = 0, name = "a"}
    local wx, wn = {}, {}
    for i = 1, #X do
        wx[i] = isnan(X[i]) and 0 or X[i]
        wn[i] = NAME[i] == NA and "a" or NAME[i]
    end
    assert_same(col_values(t, "x"), wx)
    lu.assertEquals(t.name, wn)
    assert_same(col_values(t, "y"), Y)
    lu.assertEquals(ch.filled, {x = 3, name = 2})
    -- "a" already is a level: no new level is made
    lu.assertEquals(t:value_counts("name").count:totable(), {5, 2, 1})
end

function TestFillna:test_strategies()
    local function present(v)
        local out = {}
        for _, x in ipairs(v) do if not missing(x) then out[#out + 1] = x end end
        table.sort(out)
        return out
    end
    local px = present(X) -- 0.5 1.5 2 3 3
    local mean = (0.5 + 1.5 + 2 + 3 + 3) / 5
    local t, ch = sample():fillna{strategy = "mean"}
    for i, v in ipairs(col_values(t, "x")) do
        lu.assertAlmostEquals(v, isnan(X[i]) and mean or X[i], 1e-12)
    end
    lu.assertEquals(t.name, NAME) -- strings untouched by mean
    lu.assertEquals(ch.filled, {x = 3, y = 4})
    t = sample():fillna{strategy = "median", subset = {"x"}}
    for i, v in ipairs(col_values(t, "x")) do lu.assertEquals(v, isnan(X[i]) and px[3] or X[i]) end
    assert_same(col_values(t, "y"), Y)
    -- median of an even count interpolates: y has 1, 2, 4, 8 -> 3
    t = sample():fillna{strategy = "median", subset = {"y"}}
    lu.assertEquals(col_values(t, "y")[1], 3.0)
    -- mode: x's most frequent is 3.0; name's is "a"
    t, ch = sample():fillna{strategy = "mode"}
    for i, v in ipairs(col_values(t, "x")) do lu.assertEquals(v, isnan(X[i]) and 3.0 or X[i]) end
    for i, v in ipairs(t.name) do lu.assertEquals(v, NAME[i] == NA and "a" or NAME[i]) end
    -- y's values are all distinct: the smallest wins (pandas' mode()[0])
    lu.assertEquals(col_values(t, "y")[1], 1.0)
    lu.assertEquals(ch.filled, {x = 3, y = 4, name = 2})
end

function TestFillna:test_ffill_bfill()
    for _, strategy in ipairs({"ffill", "bfill"}) do
        local back = strategy == "bfill"
        local t, ch = sample():fillna{strategy = strategy}
        for _, name in ipairs({"x", "y", "name"}) do
            assert_same(col_values(t, name), ref_ffill(SRC[name], back), strategy .. " " .. name)
        end
        lu.assertEquals(t.k:totable(), K)
        -- y starts with NaN: ffill leaves it (reported); bfill fills it
        lu.assertEquals(ch.left, back and {} or {y = 1})
        lu.assertEquals(ch.filled, back and {x = 3, y = 4, name = 2} or {x = 3, y = 3, name = 2})
    end
    local t, ch = sample():fillna{strategy = "ffill", subset = {"y"}}
    lu.assertTrue(isnan(t.y[1]))
    lu.assertEquals(ch.left, {y = 1})
    lu.assertEquals(ch.filled, {y = 3})
    lu.assertStrContains(tostring(ch), "still missing (nothing to copy from): y 1")
    assert_same(col_values(t, "x"), X)
end

function TestFillna:test_ffill_large_against_loop()
    -- 40,000 rows: crosses the chunks of the parallel take kernel
    local n, seed = 40000, 12345
    local x, s = {}, {}
    for i = 1, n do
        seed = (seed * 1103515245 + 12345) % 2147483648
        local r = seed % 10
        x[i] = r < 3 and nan or (seed % 1000) / 10
        s[i] = r == 5 and NA or ("v" .. (seed % 7))
    end
    x[1], s[1] = nan, NA
    local t = mf.data.from_columns({x = x, s = s}, {order = {"x", "s"}})
    for _, strategy in ipairs({"ffill", "bfill"}) do
        local f, ch = t:fillna{strategy = strategy}
        assert_same(col_values(f, "x"), ref_ffill(x, strategy == "bfill"))
        assert_same(f.s, ref_ffill(s, strategy == "bfill"))
        local before = 0
        for i = 1, n do if isnan(x[i]) then before = before + 1 end end
        lu.assertEquals(ch.filled.x + (ch.left.x or 0), before)
    end
end

function TestFillna:test_all_missing_column_left()
    local t = mf.data.from_columns({x = {nan, nan}, y = {1.0, nan}}, {order = {"x", "y"}})
    local f, ch = t:fillna{strategy = "mean"}
    lu.assertTrue(isnan(f.x[1]))
    lu.assertEquals(f.y:totable(), {1.0, 1.0})
    lu.assertEquals(ch.left, {x = 2})
    lu.assertEquals(ch.filled, {y = 1})
end

function TestFillna:test_errors()
    local t = sample()
    assert_error(function() t:fillna{x = "zero"} end, "bad argument #2 to 'fillna'",
                 "column 'x' is float64: fill value \"zero\" must be a number")
    assert_error(function() t:fillna{name = 0} end, "column 'name' holds strings: fill value 0 must be a string")
    assert_error(function() t:fillna{speed = 0} end, "unknown column 'speed'")
    assert_error(function() t:fillna(nan) end, "the fill value is NaN")
    assert_error(function() t:fillna{x = nan} end, "column 'x': the fill value is NaN")
    assert_error(function() t:fillna(true) end, "'fillna'", "got boolean")
    assert_error(function() t:fillna() end, "'fillna'", "got nil")
    assert_error(function() t:fillna{strategy = "median", subset = {"name"}} end,
                 "strategy 'median' needs numbers: column 'name' holds strings")
    assert_error(function() t:fillna{strategy = "mean", limit = 2} end, "unknown option 'limit'")
    -- an unknown strategy name reads as a column named "strategy"
    assert_error(function() t:fillna{strategy = "interpolate"} end, "unknown column 'strategy'")
end

------------------------------------------------------------------ drop_duplicates
TestDropDuplicates = {}

-- Reference: kept positions, comparing the rows' cells on `names` as text
-- (NaN equals NaN, NA equals NA).
local function ref_dedup(src, n, names, keep)
    local function key(i)
        local parts = {}
        for j, name in ipairs(names) do
            local v = src[name][i]
            parts[j] = missing(v) and "<missing>" or (type(v) .. ":" .. tostring(v))
        end
        return table.concat(parts, "\0")
    end
    local count, first, last = {}, {}, {}
    for i = 1, n do
        local k = key(i)
        count[k] = (count[k] or 0) + 1
        first[k] = first[k] or i
        last[k] = i
    end
    local out = {}
    for i = 1, n do
        local k = key(i)
        if (keep == "first" and first[k] == i) or (keep == "last" and last[k] == i)
           or (keep == false and count[k] == 1) then
            out[#out + 1] = i
        end
    end
    return out
end

local DN = {"a", "b", "a", NA, NA, "a", "b", "a"}
local DX = {1.0, 2.0, 1.0, nan, nan, 1.0, 2.0, 1.0}
local DK = {1, 2, 1, 4, 4, 5, 2, 1}
local DSRC = {n = DN, x = DX, k = DK}

function TestDropDuplicates:test_keep_and_subset()
    local tbl = mf.data.from_columns({n = DN, x = DX, k = DK}, {order = {"n", "x", "k"}})
    local names = {"n", "x", "k"}
    for _, subset in ipairs({false, {"n", "x"}, {"x"}, {"k"}, {"n"}}) do
        for _, keep in ipairs({"first", "last", false}) do
            local opts = {keep = keep}
            if subset then opts.subset = subset end
            local t, ch = tbl:drop_duplicates(opts)
            local want = ref_dedup(DSRC, #DN, subset or names, keep)
            lu.assertEquals(rows(t, names), pick(DSRC, names, want))
            lu.assertEquals(ch.dropped, #DN - #want)
        end
    end
    local _, ch = tbl:drop_duplicates()
    lu.assertEquals(tostring(ch), "drop_duplicates: 4 duplicate rows of 8 dropped (keep first, all columns)")
end

function TestDropDuplicates:test_large_against_loop()
    local n, seed = 40000, 777
    local a, b, c = {}, {}, {}
    for i = 1, n do
        seed = (seed * 1103515245 + 12345) % 2147483648
        a[i] = seed % 13 == 0 and nan or (seed % 17) * 0.5
        b[i] = seed % 11 == 0 and NA or ("s" .. (seed % 9))
        c[i] = seed % 3
    end
    local src = {a = a, b = b, c = c}
    local tbl = mf.data.from_columns(src, {order = {"a", "b", "c"}})
    for _, keep in ipairs({"first", "last", false}) do
        local t = tbl:drop_duplicates{keep = keep}
        local want = ref_dedup(src, n, {"a", "b", "c"}, keep)
        lu.assertEquals(#t, #want)
        lu.assertEquals(rows(t, {"a", "b", "c"}), pick(src, {"a", "b", "c"}, want))
    end
end

function TestDropDuplicates:test_errors()
    local tbl = sample()
    assert_error(function() tbl:drop_duplicates{keep = "middle"} end, "bad argument #2 to 'drop_duplicates'",
                 "option 'keep' must be \"first\", \"last\" or false")
    assert_error(function() tbl:drop_duplicates{keep = true} end, "option 'keep'")
    assert_error(function() tbl:drop_duplicates{subset = {"nope"}} end, "unknown column 'nope'")
    assert_error(function() tbl:drop_duplicates{sort = true} end, "unknown option 'sort'")
end

------------------------------------------------------------------ clip_outliers
TestClipOutliers = {}

local function ref_quantile(v, q)
    local s = {}
    for _, x in ipairs(v) do if not isnan(x) then s[#s + 1] = x end end
    table.sort(s)
    local pos = q * (#s - 1)
    local lo = math.floor(pos)
    if lo + 1 >= #s then return s[lo + 1] end
    return s[lo + 1] + (pos - lo) * (s[lo + 2] - s[lo + 1])
end

local CV = {1.0, 2.0, 2.5, 3.0, nan, 3.5, 4.0, 40.0, -30.0, 2.0}
local CK = {1, 2, 3, 4, 5, 6, 7, 8, 9, 100}

function TestClipOutliers:test_iqr()
    local tbl = mf.data.from_columns({v = CV, k = CK}, {order = {"v", "k"}})
    local t, ch = tbl:clip_outliers()
    local q1, q3 = ref_quantile(CV, 0.25), ref_quantile(CV, 0.75)
    local lo, hi = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
    local n = 0
    for i, v in ipairs(t.v:totable()) do
        if isnan(CV[i]) then lu.assertTrue(isnan(v))
        else
            local want = math.min(math.max(CV[i], lo), hi)
            if want ~= CV[i] then n = n + 1 end
            lu.assertAlmostEquals(v, want, 1e-12)
        end
    end
    lu.assertEquals(n, 2)
    lu.assertEquals(ch.columns.v.count, 2)
    lu.assertAlmostEquals(ch.columns.v.lower, lo, 1e-12)
    lu.assertAlmostEquals(ch.columns.v.upper, hi, 1e-12)
    lu.assertEquals(t.k:dtype(), "int64") -- not listed by default: untouched
    lu.assertEquals(ch.columns.k, nil)
    lu.assertStrContains(tostring(ch), "clip_outliers: 2 values clipped (iqr, k 1.5)\n  v: 2 outside [")
end

function TestClipOutliers:test_zscore_and_int_column()
    local tbl = mf.data.from_columns({v = CV, k = CK}, {order = {"v", "k"}})
    local t, ch = tbl:clip_outliers{cols = {"k", "v"}, method = "zscore", k = 1}
    for _, c in ipairs({{"v", CV}, {"k", CK}}) do
        local vals, sum, m = {}, 0, 0
        for _, x in ipairs(c[2]) do if not isnan(x) then vals[#vals + 1] = x; sum = sum + x end end
        local mean = sum / #vals
        for _, x in ipairs(vals) do m = m + (x - mean) ^ 2 end
        local sd = math.sqrt(m / #vals) -- population std
        lu.assertAlmostEquals(ch.columns[c[1]].lower, mean - sd, 1e-9)
        lu.assertAlmostEquals(ch.columns[c[1]].upper, mean + sd, 1e-9)
        local got = t:column(c[1]):totable()
        local n = 0
        for i, x in ipairs(c[2]) do
            if isnan(x) then lu.assertTrue(isnan(got[i]))
            else
                local want = math.min(math.max(x, mean - sd), mean + sd)
                if want ~= x then n = n + 1 end
                lu.assertAlmostEquals(got[i], want, 1e-9)
            end
        end
        lu.assertEquals(ch.columns[c[1]].count, n)
    end
    lu.assertEquals(t.k:dtype(), "float64") -- an int64 column clipped becomes float64
end

function TestClipOutliers:test_drop()
    local tbl = mf.data.from_columns({v = CV, k = CK}, {order = {"v", "k"}})
    local t, ch = tbl:clip_outliers{cols = {"v", "k"}, action = "drop"}
    -- v's outliers are rows 8 (40) and 9 (-30); k's is row 10 (100)
    lu.assertEquals(t.k:totable(), {1, 2, 3, 4, 5, 6, 7})
    lu.assertEquals(ch.dropped, 3)
    lu.assertEquals(ch.total, 3)
    lu.assertStrContains(tostring(ch), "clip_outliers: 3 rows dropped (3 outlying values, iqr, k 1.5)")
end

function TestClipOutliers:test_errors()
    local t = sample()
    assert_error(function() t:clip_outliers{cols = {"name"}} end, "bad argument #2 to 'clip_outliers'",
                 "column 'name' is string, not numeric")
    assert_error(function() t:clip_outliers{cols = {"ok"}} end, "column 'ok' is bool, not numeric")
    assert_error(function() t:clip_outliers{method = "mad"} end, "option 'method' must be \"iqr\" or \"zscore\"")
    assert_error(function() t:clip_outliers{k = -1} end, "option 'k' must be a finite number >= 0")
    assert_error(function() t:clip_outliers{k = nan} end, "option 'k' must be a finite number >= 0")
    assert_error(function() t:clip_outliers{action = "flag"} end, "option 'action' must be \"clip\" or \"drop\"")
    assert_error(function() t:clip_outliers{colums = {"x"}} end, "unknown option 'colums'")
end

------------------------------------------------------------------ cast
TestCast = {}

function TestCast:test_numeric_conversions()
    local tbl = mf.data.from_columns({f = {1.0, -2.0, 0.0}, i = {1, 0, 1}, b = {true, false, true}},
                                     {order = {"f", "i", "b"}})
    local t, ch = tbl:cast{f = "int64", i = "bool", b = "float64"}
    lu.assertEquals(t:dtypes(), {f = "int64", i = "bool", b = "float64"})
    lu.assertEquals(t.f:totable(), {1, -2, 0})
    lu.assertEquals(t.i:totable(), {true, false, true})
    lu.assertEquals(t.b:totable(), {1.0, 0.0, 1.0})
    lu.assertEquals(tostring(ch), "cast: f float64 -> int64, i int64 -> bool, b bool -> float64")
    local t2 = t:cast{f = "float64", i = "int64", b = "bool"}
    lu.assertEquals(t2.f:totable(), {1.0, -2.0, 0.0})
    lu.assertEquals(t2.i:totable(), {1, 0, 1})
    lu.assertEquals(t2.b:totable(), {true, false, true})
    local same, ch2 = tbl:cast{f = "float64"}
    lu.assertEquals(tostring(ch2), "cast: nothing to convert")
    lu.assertEquals(same.f:totable(), {1.0, -2.0, 0.0})
end

function TestCast:test_lossy_casts_are_errors()
    local tbl = mf.data.from_columns({f = {1.0, 1.5, nan}, g = {0.0, nan, 1.0}, i = {0, 1, 2},
                                      s = {"1.5", "abc", NA}, big = {1, (1 << 53) + 1, 3}},
                                     {order = {"f", "g", "i", "s", "big"}})
    assert_error(function() tbl:cast{f = "int64"} end, "bad argument #2 to 'cast'",
                 "cannot cast column 'f' to int64: row 2 holds 1.5")
    assert_error(function() tbl:cast{g = "int64"} end, "cannot cast column 'g' to int64: row 2 is missing (NaN)")
    assert_error(function() tbl:cast{i = "bool"} end, "cannot cast column 'i' to bool: row 3 holds 2")
    assert_error(function() tbl:cast{g = "bool"} end, "cannot cast column 'g' to bool: row 2 is missing")
    assert_error(function() tbl:cast{s = "float64"} end, "cannot cast column 's' to float64: row 2 holds \"abc\"")
    assert_error(function() tbl:cast{s = "int64"} end, "cannot cast column 's' to int64: row 3 is missing")
    assert_error(function() tbl:cast{big = "float64"} end,
                 "cannot cast column 'big' to float64: row 2 holds 9007199254740993")
    assert_error(function() mf.data.from_columns({f = {1e19}}):cast{f = "int64"} end, "row 1 holds 1e+19")
    assert_error(function() mf.data.from_columns({f = {1 / 0}}):cast{f = "int64"} end, "row 1 holds inf")
    assert_error(function() tbl:cast{f = "float32"} end, "column 'f': unknown dtype \"float32\"")
    assert_error(function() tbl:cast{nope = "int64"} end, "unknown column 'nope'")
    assert_error(function() tbl:cast("int64") end, "table {col = dtype} expected, got string")
end

function TestCast:test_strings()
    local tbl = mf.data.from_columns({s = {"1.5", "-2", NA, "1e3", "-inf", ".5"}, t = {"7", "-3", "7", "0", "12", "5"},
                                      b = {"true", "False", "TRUE", "false", "true", "true"}},
                                     {order = {"s", "t", "b"}})
    local t = tbl:cast{s = "float64", t = "int64", b = "bool"}
    local s = t.s:totable()
    lu.assertEquals({s[1], s[2], s[4], s[5], s[6]}, {1.5, -2.0, 1000.0, -math.huge, 0.5})
    lu.assertTrue(isnan(s[3]))
    lu.assertEquals(t.t:totable(), {7, -3, 7, 0, 12, 5})
    lu.assertEquals(t.b:totable(), {true, false, true, false, true, true})
    -- not numbers as the CSV reader sees them: spaces, hex
    for _, bad in ipairs({" 1", "0x10", "1e", "1.2.3", "+", "."}) do
        assert_error(function() mf.data.from_columns({s = {bad}}):cast{s = "float64"} end,
                     "row 1 holds " .. ("%q"):format(bad))
    end
    assert_error(function() mf.data.from_columns({s = {"2.5"}}):cast{s = "int64"} end, "which is not an integer")
    assert_error(function() mf.data.from_columns({s = {"yes"}}):cast{s = "bool"} end, "which is not true or false")
    -- an unused level that does not parse is no error (after a filter, say)
    local f = mf.data.from_columns({s = {"x", "1"}}):take({2})
    lu.assertEquals(f:cast{s = "int64"}.s:totable(), {1})
end

-- cast(string -> float64) accepts exactly the numbers read_csv accepts, with
-- the same values: each text alone in a file is read, then cast.
function TestCast:test_parses_numbers_as_read_csv()
    local texts = {"1", "-2.5", "+3", ".5", "5.", "1e3", "1E-2", "-1.5e+2", "inf", "-Infinity", "+INF",
                   "0x10", " 1", "1 ", "1e", "e5", "1.2.3", "--1", "+", ".", "1,5", "12abc", "1e+",
                   "007", "0.1", "123456789012345678901234567890", "2.2250738585072014e-308"}
    local path = os.tmpname()
    for _, text in ipairs(texts) do
        support.write_file(path, "v\n\"" .. text .. "\"\n") -- quoted: "1,5" is one field
        local read = mf.data.read_csv(path)
        local ok, cast = pcall(function() return mf.data.from_columns({v = {text}}):cast{v = "float64"} end)
        if read:dtypes().v == "string" then
            lu.assertFalse(ok, "cast accepted " .. text)
        else
            lu.assertTrue(ok, "cast refused " .. text)
            lu.assertEquals(cast.v[1], read.v:to("float64")[1], text)
        end
    end
    os.remove(path)
end

function TestCast:test_to_string_and_back()
    local tbl = mf.data.from_columns({f = {0.1, 2.0, nan, 0.1, 1e20}, i = {10, -3, 10, 0, 5},
                                      b = {true, false, true, true, false}}, {order = {"f", "i", "b"}})
    local t = tbl:cast{f = "string", i = "string", b = "string"}
    lu.assertEquals(t:dtypes(), {f = "string", i = "string", b = "string"})
    lu.assertEquals(t.f, {"0.1", "2.0", NA, "0.1", "1e+20"})
    lu.assertEquals(t.i, {"10", "-3", "10", "0", "5"})
    lu.assertEquals(t.b, {"true", "false", "true", "true", "false"})
    local back = t:cast{f = "float64", i = "int64", b = "bool"}
    lu.assertEquals(back.i:totable(), {10, -3, 10, 0, 5})
    lu.assertEquals(back.b:totable(), {true, false, true, true, false})
    local f = back.f:totable()
    lu.assertEquals({f[1], f[2], f[4], f[5]}, {0.1, 2.0, 0.1, 1e20})
    lu.assertTrue(isnan(f[3]))
end

------------------------------------------------------------------ replace
TestReplace = {}

function TestReplace:test_numeric_no_chaining()
    local tbl = mf.data.from_columns({x = {1.0, 2.0, 3.0, nan, 2.0}, k = {1, 2, 3, 1, 2}, ok = {true, false, true, false, false}},
                                     {order = {"x", "k", "ok"}})
    local t, ch = tbl:replace{x = {[1] = 2, [2] = 1, [3] = NA}, k = {[1] = 10, [3] = 30}, ok = {[false] = true}}
    local x = t.x:totable()
    lu.assertEquals({x[1], x[2], x[5]}, {2.0, 1.0, 1.0})
    lu.assertTrue(isnan(x[3]) and isnan(x[4]))
    lu.assertEquals(t.k:totable(), {10, 2, 30, 10, 2})
    lu.assertEquals(t.k:dtype(), "int64")
    lu.assertEquals(t.ok:totable(), {true, true, true, true, true})
    lu.assertEquals(ch.replaced, {x = 4, k = 3, ok = 3})
    lu.assertEquals(tostring(ch), "replace: 10 cells replaced\n  replaced: x 4, k 3, ok 3")
end

function TestReplace:test_strings()
    local tbl = mf.data.from_columns({s = {"yes", "Y", NA, "no", "Y", "n/a"}})
    local t, ch = tbl:replace{s = {Y = "yes", ["n/a"] = NA, [NA] = "unknown", maybe = "x"}}
    lu.assertEquals(t.s, {"yes", "yes", "unknown", "no", "yes", NA})
    lu.assertEquals(ch.total, 4)
    -- "Y" merged into "yes": one level
    lu.assertEquals(t:value_counts("s").count:totable(), {3, 1, 1})
    local t2 = tbl:replace{s = {yes = "no", no = "yes"}}
    lu.assertEquals(t2.s, {"no", "Y", NA, "yes", "Y", "n/a"})
end

function TestReplace:test_errors()
    local t = sample()
    assert_error(function() t:replace{x = {a = 1}} end, "bad argument #2 to 'replace'",
                 "column 'x' is float64: key \"a\" must be a number")
    assert_error(function() t:replace{x = {[1] = "one"}} end, "replacement \"one\" for 1 must be a number")
    assert_error(function() t:replace{k = {[1] = 1.5}} end, "column 'k' is int64: replacement 1.5 does not fit")
    assert_error(function() t:replace{name = {a = 1}} end, "column 'name' holds strings")
    assert_error(function() t:replace{ok = {[true] = 1}} end, "column 'ok' is bool")
    assert_error(function() t:replace{nope = {}} end, "unknown column 'nope'")
    assert_error(function() t:replace{x = 1} end, "column 'x': table {from = to} expected")
end

------------------------------------------------------------------ string methods
TestStrings = {}

function TestStrings:test_strip_lower_upper()
    local tbl = mf.data.from_columns({s = {" Pump ", "pump", "PUMP\t", NA, "Valve"}, x = {1.0, 2.0, 3.0, 4.0, 5.0}},
                                     {order = {"s", "x"}})
    local t, ch = tbl:str_strip()
    lu.assertEquals(t.s, {"Pump", "pump", "PUMP", NA, "Valve"})
    lu.assertEquals(ch.changed, {s = 2})
    lu.assertEquals(tostring(ch), "str_strip: 2 cells changed\n  changed: s 2")
    local l, ch2 = t:str_lower("s")
    lu.assertEquals(l.s, {"pump", "pump", "pump", NA, "valve"})
    lu.assertEquals(ch2.total, 3)
    lu.assertEquals(#l:value_counts("s"), 2) -- merged into one level "pump"
    local u = tbl:str_upper({"s"})
    lu.assertEquals(u.s, {" PUMP ", "PUMP", "PUMP\t", NA, "VALVE"})
    lu.assertEquals(u.x:totable(), {1.0, 2.0, 3.0, 4.0, 5.0})
    local _, ch3 = l:str_lower()
    lu.assertEquals(tostring(ch3), "str_lower: 0 cells changed")
end

function TestStrings:test_errors()
    local t = sample()
    assert_error(function() t:str_strip({"x"}) end, "bad argument #2 to 'str_strip'",
                 "column 'x' is float64, not a string column")
    assert_error(function() t:str_lower("nope") end, "'str_lower'", "unknown column 'nope'")
    assert_error(function() t:str_upper(5) end, "columns must be a column name or a list of names")
end

------------------------------------------------------------------ get_dummies
TestGetDummies = {}

function TestGetDummies:test_one_hot()
    local tbl = mf.data.from_columns({line = {"B", "A", NA, "C", "A"}, x = {1.0, 2.0, 3.0, 4.0, 5.0}},
                                     {order = {"line", "x"}})
    local d = mf.data.get_dummies(tbl)
    lu.assertEquals(d:columns(), {"x", "line_A", "line_B", "line_C"})
    lu.assertEquals(d.line_A:totable(), {false, true, false, false, true})
    lu.assertEquals(d.line_B:totable(), {true, false, false, false, false})
    lu.assertEquals(d.line_C:totable(), {false, false, false, true, false})
    lu.assertEquals(d:dtypes().line_A, "bool")
    local d2 = mf.data.get_dummies(tbl, {columns = {"line"}, prefix_sep = "="})
    lu.assertEquals(d2:columns(), {"x", "line=A", "line=B", "line=C"})
    -- only values present in the rows get a column
    local f = tbl:take({1, 2})
    lu.assertEquals(mf.data.get_dummies(f):columns(), {"x", "line_A", "line_B"})
end

function TestGetDummies:test_errors()
    local tbl = mf.data.from_columns({line = {"A"}, x = {1.0}, line_A = {true}}, {order = {"line", "x", "line_A"}})
    assert_error(function() mf.data.get_dummies(tbl) end, "column 'line_A' already exists")
    assert_error(function() mf.data.get_dummies(tbl, {columns = {"x"}}) end,
                 "bad argument #2 to 'get_dummies'", "column 'x' is float64")
    assert_error(function() mf.data.get_dummies(tbl:dropna()) end, "the change record of a cleaning method")
    assert_error(function() mf.data.get_dummies(tbl, {drop_first = true}) end, "unknown option 'drop_first'")
end

------------------------------------------------------------------ the input is never modified
TestCleanImmutable = {}

function TestCleanImmutable:test_every_method_leaves_its_input()
    local tbl = sample()
    local before = rows(tbl, ORDER)
    tbl:dropna()
    tbl:fillna(0)
    tbl:fillna("z")
    tbl:fillna{strategy = "ffill"}
    tbl:fillna{strategy = "mode"}
    tbl:drop_duplicates{subset = {"name"}}
    tbl:clip_outliers{cols = {"x", "k"}, k = 0}
    tbl:cast{k = "float64", name = "string", ok = "int64"}
    tbl:replace{name = {a = "b", [NA] = "q"}, x = {[3] = 4}, k = {[7] = 0}}
    tbl:str_upper()
    mf.data.get_dummies(tbl)
    lu.assertEquals(rows(tbl, ORDER), before)
    lu.assertEquals(tbl:dtypes(), {name = "string", x = "float64", y = "float64", k = "int64", ok = "bool"})
end

function TestCleanImmutable:test_string_mode_ties_take_the_smallest()
    local t = mf.data.from_columns({s = {"b", "a", NA, "b", "a", "c"}})
    lu.assertEquals(t:fillna{strategy = "mode"}.s, {"b", "a", "a", "b", "a", "c"})
end

------------------------------------------------------------------ kernels
TestCleanKernels = {}

function TestCleanKernels:test_row_kernels_errors()
    local core = require "moonforge.core"
    local a = mf.tensor({1.0, nan, 3.0}, "float64")
    local c = mf.tensor({0, 2, 0}, "int64")
    lu.assertEquals(core._clean_row_missing({a, c}, 3):totable(), {1, 1, 1})
    lu.assertEquals(core._clean_row_missing({}, 2):totable(), {0, 0})
    lu.assertEquals(core._clean_mask_rows(mf.tensor({false, true, true})):totable(), {2, 3})
    lu.assertEquals(core._clean_mark_rows(4, mf.tensor({4, 2}, "int64")):totable(), {false, true, false, true})
    local out = core._clean_take({a, c}, 3, mf.tensor({3, 1, 3}, "int64"))
    lu.assertEquals(out[2]:totable(), {0, 0, 0})
    lu.assertEquals(out[1]:totable(), {3.0, 1.0, 3.0})
    assert_error(function() core._clean_take({a}, 3, mf.tensor({4}, "int64")) end, "bad argument #3",
                 "out of range")
    assert_error(function() core._clean_row_missing({a, mf.zeros(2, "float64")}, 3) end,
                 "bad argument #1", "column 2 has 2 rows, expected 3")
    assert_error(function() core._clean_row_missing({mf.zeros(3)}, 3) end, "column 1 is float32")
end

os.exit(lu.LuaUnit.run(), true)
