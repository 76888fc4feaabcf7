-- Table operations of mf.data: rename, take, filter, sort_by, add_column,
-- value_counts and describe, checked against plain-Lua computations on small
-- tables, and their errors.
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local support = require "support"
local assert_error = support.assert_error
local mf = require "moonforge"
local NA = mf.data.NA
local nan = 0 / 0

local function assert_nan(v) lu.assertTrue(v ~= v, "expected NaN, got " .. tostring(v)) end

local NAME = {"b", "a", NA, "c", "a", "b", "a"}
local X = {3.0, nan, 1.5, 3.0, 2.0, 0.5, 3.0}
local K = {7, 6, 5, 4, 3, 2, 1}
local OK = {true, false, true, true, false, true, false}

local function sample()
    return mf.data.from_columns({name = NAME, x = X, k = K, ok = OK}, {order = {"name", "x", "k", "ok"}})
end

-- The rows of tbl as Lua arrays {name, x, k, ok}, NaN as the string "nan".
local function rows(tbl)
    local cols = {tbl.name, tbl.x:totable(), tbl.k:totable(), tbl.ok:totable()}
    local out = {}
    for i = 1, #tbl do
        local r = {}
        for j = 1, 4 do
            local v = cols[j][i]
            r[j] = v ~= v and "nan" or v
        end
        out[i] = r
    end
    return out
end

-- The source rows at the 1-based positions idx, in the same form.
local function pick(idx)
    local out = {}
    for i, p in ipairs(idx) do
        out[i] = {NAME[p], X[p] ~= X[p] and "nan" or X[p], K[p], OK[p]}
    end
    return out
end

TestTableOps = {}

function TestTableOps:test_rename()
    local t = sample():rename{x = "temp", ok = "good"}
    lu.assertEquals(t:columns(), {"name", "temp", "k", "good"})
    lu.assertEquals(t.temp:totable()[1], 3.0)
    lu.assertEquals(t:dtypes().good, "bool")
    lu.assertEquals(sample():columns(), {"name", "x", "k", "ok"}) -- original untouched
    assert_error(function() sample():rename{speed = "s"} end, "rename", "unknown column 'speed'")
    assert_error(function() sample():rename{x = "k"} end, "duplicate column name 'k'")
    assert_error(function() sample():rename{x = 3} end, "must be a string")
    assert_error(function() sample():rename("x") end, "table {old = new} expected")
end

function TestTableOps:test_take()
    local t = sample()
    lu.assertEquals(rows(t:take{3, 1, 3}), pick{3, 1, 3})
    lu.assertEquals(rows(t:take(mf.tensor({7, 2}, "int64"))), pick{7, 2})
    lu.assertEquals(t:take{}:shape(), {0, 4})
    assert_error(function() t:take{0} end, "take", "row 0 out of range 1..7")
    assert_error(function() t:take{8} end, "row 8 out of range 1..7")
    assert_error(function() t:take{1.5} end, "index 1 must be an integer")
    assert_error(function() t:take(mf.tensor({1.0})) end, "int64 tensor or array")
end

function TestTableOps:test_filter_mask()
    local t = sample()
    local expect = {}
    for i = 1, #K do if K[i] > 3 then expect[#expect + 1] = i end end
    lu.assertEquals(rows(t:filter(t.k:gt(3))), pick(expect))
    lu.assertEquals(rows(t:filter(t.ok)), pick{1, 3, 4, 6})
    assert_error(function() t:filter(mf.tensor({true, false}, "bool")) end,
                 "filter", "mask must be a 1-D bool tensor of 7 rows")
    assert_error(function() t:filter(t.k) end, "1-D bool tensor")
    assert_error(function() t:filter("k > 3") end, "bool tensor or function expected")
end

function TestTableOps:test_filter_function()
    local t = sample()
    local seen = {}
    local f = t:filter(function(row)
        seen[#seen + 1] = row
        return row.name == "a" or row.name == NA
    end)
    lu.assertEquals(#seen, 7)
    lu.assertEquals(seen[1], {name = "b", x = 3.0, k = 7, ok = true})
    lu.assertEquals(rows(f), pick{2, 3, 5, 7})
    lu.assertEquals(t:filter(function() return false end):shape(), {0, 4})
end

-- A stable sort in plain Lua: missing last, ties in row order.
local function lua_order(values, missing, desc)
    local idx = {}
    for i = 1, #values do idx[i] = i end
    table.sort(idx, function(a, b)
        local ma, mb = missing(values[a]), missing(values[b])
        if ma ~= mb then return mb end
        if not ma and values[a] ~= values[b] then
            if desc then return values[a] > values[b] end
            return values[a] < values[b]
        end
        return a < b
    end)
    return idx
end

function TestTableOps:test_sort_by()
    local t = sample()
    local is_nan = function(v) return v ~= v end
    local is_na = function(v) return v == NA end
    local never = function() return false end
    for _, desc in ipairs{false, true} do
        lu.assertEquals(rows(t:sort_by("x", {descending = desc})), pick(lua_order(X, is_nan, desc)))
        lu.assertEquals(rows(t:sort_by("name", {descending = desc})), pick(lua_order(NAME, is_na, desc)))
        lu.assertEquals(rows(t:sort_by("k", {descending = desc})), pick(lua_order(K, never, desc)))
    end
    lu.assertEquals(rows(t:sort_by("ok")), pick{2, 5, 7, 1, 3, 4, 6})
    -- strings sort by text, not by code (codes follow first appearance)
    lu.assertEquals(t:sort_by("name").name, {"a", "a", "a", "b", "b", "c", NA})
    assert_error(function() t:sort_by("speed") end, "sort_by", "unknown column 'speed'")
    assert_error(function() t:sort_by("x", {descending = true, stable = true}) end, "stable")
end

function TestTableOps:test_add_column()
    local t = sample()
    local u = t:add_column("double", t.k * 2)
    lu.assertEquals(u:columns(), {"name", "x", "k", "ok", "double"})
    lu.assertEquals(u.double:totable(), {14, 12, 10, 8, 6, 4, 2})
    local v = t:add_column("line", {"L1", "L2", "L1", NA, "L2", "L1", "L1"})
    lu.assertEquals(v:dtypes().line, "string")
    lu.assertEquals(v.line[4], NA)
    lu.assertEquals(t:shape(), {7, 4}) -- original untouched
    assert_error(function() t:add_column("k", t.k) end, "add_column", "column 'k' already exists")
    assert_error(function() t:add_column("y", {1, 2}) end, "column 'y' has 2 rows, the table has 7")
    assert_error(function() t:add_column("y", {1, "a", 2, 3, 4, 5, 6}) end,
                 "bad argument #3 to 'add_column'", "mixes")
    assert_error(function() t:add_column(1, t.k) end, "name must be a string")
end

-- value -> count in plain Lua, skipping missing values.
local function lua_counts(values, missing)
    local counts = {}
    for _, v in ipairs(values) do
        if not missing(v) then counts[v] = (counts[v] or 0) + 1 end
    end
    local keys = {}
    for v in pairs(counts) do keys[#keys + 1] = v end
    table.sort(keys, function(a, b)
        if counts[a] ~= counts[b] then return counts[a] > counts[b] end
        return a < b
    end)
    local cs = {}
    for i, v in ipairs(keys) do cs[i] = counts[v] end
    return keys, cs
end

function TestTableOps:test_value_counts()
    local t = sample()
    local vc = t:value_counts("name")
    local keys, cs = lua_counts(NAME, function(v) return v == NA end)
    lu.assertEquals(vc:columns(), {"name", "count"})
    lu.assertEquals(vc.name, keys)
    lu.assertEquals(vc.count:totable(), cs)
    lu.assertEquals(vc:dtypes(), {name = "string", count = "int64"})
    vc = t:value_counts("x")
    keys, cs = lua_counts(X, function(v) return v ~= v end)
    lu.assertEquals(vc.x:totable(), keys)
    lu.assertEquals(vc.count:totable(), cs)
    vc = t:value_counts("ok")
    lu.assertEquals(vc.ok:totable(), {true, false})
    lu.assertEquals(vc.count:totable(), {4, 3})
    vc = mf.data.from_columns{count = {2, 1, 2}}:value_counts("count")
    lu.assertEquals(vc:columns(), {"count", "n"})
    lu.assertEquals(vc.n:totable(), {2, 1})
    assert_error(function() t:value_counts("speed") end, "value_counts", "unknown column 'speed'")
end

-- Plain-Lua statistics of the non-NaN numbers in values.
local function lua_stats(values)
    local v = {}
    for _, x in ipairs(values) do if x == x then v[#v + 1] = x end end
    table.sort(v)
    local n, sum = #v, 0
    for _, x in ipairs(v) do sum = sum + x end
    local mean = sum / n
    local ss = 0
    for _, x in ipairs(v) do ss = ss + (x - mean) ^ 2 end
    local function q(p)
        local h = (n - 1) * p + 1
        local lo = math.floor(h)
        return v[lo] + (h - lo) * ((v[lo + 1] or v[lo]) - v[lo])
    end
    return {count = n, missing = #values - n, mean = mean, std = math.sqrt(ss / (n - 1)),
            min = v[1], ["25%"] = q(0.25), ["50%"] = q(0.5), ["75%"] = q(0.75), max = v[n]}
end

function TestTableOps:test_describe()
    local t = sample()
    local d = t:describe()
    lu.assertEquals(d:columns(), {"name", "dtype", "count", "missing", "mean", "std", "min",
                                  "25%", "50%", "75%", "max", "unique", "top", "freq"})
    lu.assertEquals(d.name, {"name", "x", "k", "ok"})
    lu.assertEquals(d.dtype, {"string", "float64", "int64", "bool"})
    local okn = {}
    for i, b in ipairs(OK) do okn[i] = b and 1 or 0 end
    for row, values in pairs{[2] = X, [3] = K, [4] = okn} do
        local expect = lua_stats(values)
        lu.assertEquals(d.count[row], expect.count)
        lu.assertEquals(d.missing[row], expect.missing)
        for _, k in ipairs{"mean", "std", "min", "25%", "50%", "75%", "max"} do
            lu.assertAlmostEquals(d:column(k)[row], expect[k], 1e-12, k)
        end
        assert_nan(d.unique[row])
        lu.assertEquals(d.top[row], NA)
    end
    -- the string column: count, missing, unique, top (ties: smallest text), freq
    lu.assertEquals({d.count[1], d.missing[1], d.unique[1], d.top[1], d.freq[1]}, {6, 1, 3, "a", 3})
    assert_nan(d.mean[1])
    -- numeric-only and string-only tables leave out the other statistics
    lu.assertEquals(#t:select{"x"}:describe():columns(), 11)
    lu.assertEquals(t:select{"name"}:describe():columns(),
                    {"name", "dtype", "count", "missing", "unique", "top", "freq"})
    -- quartiles interpolate linearly as pandas: [1, 2, 3, 4] -> 1.75, 2.5, 3.25
    local q = mf.data.from_columns{v = {4.0, 1.0, 3.0, 2.0}}:describe()
    lu.assertEquals({q:column("25%")[1], q:column("50%")[1], q:column("75%")[1]}, {1.75, 2.5, 3.25})
    assert_error(function() t:select{}:describe() end, "describe", "no columns")
end

function TestTableOps:test_describe_all_missing()
    local d = mf.data.from_columns{v = {nan, nan}, s = {NA, NA}}:describe()
    lu.assertEquals(d.count:totable(), {0, 0})
    lu.assertEquals(d.missing:totable(), {2, 2})
    assert_nan(d.mean[2])
    assert_nan(d.max[2])
    lu.assertEquals(d.top[1], NA)
    lu.assertEquals(d.unique[1], 0.0)
end

os.exit(lu.LuaUnit.run(), true)
