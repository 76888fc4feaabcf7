-- mf.data from Lua: read_csv (options, types, warnings, bad input) and the
-- Table (shape, columns, dtypes, column access, report, printing, head,
-- to_tensor, from_columns, from_tensor, select, drop).
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local support = require "support"
local assert_error = support.assert_error
local mf = require "moonforge"
local NA = mf.data.NA

local tmpfiles = {}
local function csv(text)
    local path = os.tmpname()
    tmpfiles[#tmpfiles + 1] = path
    support.write_file(path, text)
    return path
end

-- 12 rows; temp has one malformed cell ("err", line 5) among 12 numbers
local function sensors_text(extra)
    local rows = {"site,temp,count,ok"}
    for i = 0, 11 do
        rows[#rows + 1] = ("%s,%s,%d,%s"):format(i % 2 == 0 and "a" or "b",
            i == 3 and "err" or tostring(1.5 + i), i, i % 2 == 1 and "true" or "false")
    end
    return table.concat(rows, "\n") .. "\n" .. (extra or "")
end

local function read_quiet(path, opts)
    local tbl
    local warns = mf.capture_warnings(function() tbl = mf.data.read_csv(path, opts) end)
    return tbl, warns
end

TestReadCsv = {}

function TestReadCsv:tearDown()
    for _, p in ipairs(tmpfiles) do os.remove(p) end
    tmpfiles = {}
end

function TestReadCsv:test_types_and_shape()
    local tbl, warns = read_quiet(csv(sensors_text()))
    lu.assertEquals(tbl:shape(), {12, 4})
    lu.assertEquals(#tbl, 12)
    lu.assertEquals(tbl:columns(), {"site", "temp", "count", "ok"})
    lu.assertEquals(tbl:dtypes(), {site = "string", temp = "float64", count = "int64", ok = "bool"})
    lu.assertEquals(tbl.count:totable(), {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
    lu.assertEquals(tbl.count:dtype(), "int64")
    lu.assertEquals(tbl.ok[2], true)
    local temp = tbl:column("temp")
    lu.assertEquals(temp[1], 1.5)
    lu.assertNotEquals(temp[4], temp[4]) -- NaN
    lu.assertEquals(tbl.site[1], "a")
    lu.assertEquals(tbl.site[2], "b")
    lu.assertEquals(#tbl.site, 12)
    lu.assertEquals(#warns, 1)
    lu.assertStrContains(warns[1], "cells coerced to missing: temp 1")
end

function TestReadCsv:test_report()
    local tbl = read_quiet(csv(sensors_text()))
    local r = tbl:report()
    lu.assertEquals(r.rows, 12)
    lu.assertEquals(r.bad_lines, 0)
    lu.assertEquals(r.columns.temp.coerced, 1)
    lu.assertEquals(r.columns.temp.missing, 1)
    lu.assertEquals(r.columns.temp.coerced_lines, {5})
    lu.assertEquals(r.columns.count.dtype, "int64")
    lu.assertStrContains(tostring(r), "temp (float64): 1 missing, 1 coerced to missing (lines 5)")
    lu.assertNil(mf.data.from_columns{a = {1}}:report())
end

function TestReadCsv:test_missing_strings_are_na()
    local tbl = read_quiet(csv("name,v\nx,1\n,2\nn/a,3\ny,4\n"))
    lu.assertEquals(tbl:dtypes().name, "string")
    local names = tbl.name
    lu.assertEquals(#names, 4)
    lu.assertEquals(names[1], "x")
    lu.assertIs(names[2], NA)
    lu.assertIs(names[3], NA)
    lu.assertEquals(tostring(NA), "NA")
    lu.assertEquals(tbl:report().columns.name.missing, 2)
end

function TestReadCsv:test_options()
    local path = csv("# comment\nx;y\n1;a\n2;b\n3;-\n")
    local tbl, warns = read_quiet(path, {sep = ";", skip_rows = 1, na_values = {"-"}, max_rows = 2})
    lu.assertEquals(tbl:shape(), {2, 2})
    lu.assertEquals(tbl.y, {"a", "b"})
    lu.assertEquals(#warns, 0)
    tbl = read_quiet(path, {sep = ";", skip_rows = 1, na_values = {"-"}})
    lu.assertIs(tbl.y[3], NA)
    tbl = read_quiet(csv("1,2\n3,4\n"), {header = false})
    lu.assertEquals(tbl:columns(), {"column_1", "column_2"})
    lu.assertEquals(tbl.column_2:totable(), {2, 4})
end

function TestReadCsv:test_bad_lines()
    local path = csv(sensors_text("x,1,2\n"))
    assert_error(function() read_quiet(path) end, "read_csv: ", path .. ":14: expected 4 fields, got 3")
    local tbl, warns = read_quiet(path, {on_bad_lines = "warn"})
    lu.assertEquals(#tbl, 12)
    lu.assertEquals(tbl:report().bad_lines, 1)
    lu.assertEquals(tbl:report().bad_line_numbers, {14})
    lu.assertEquals(#warns, 1)
    lu.assertStrContains(warns[1], "1 bad lines skipped (lines 14)")
    lu.assertStrContains(warns[1], "temp 1")
    tbl = read_quiet(csv("a,b\n1,2\n3\n4,5\n"), {on_bad_lines = "skip"})
    lu.assertEquals(tbl.a:totable(), {1, 4})
    lu.assertEquals(tbl:report().bad_lines, 1)
end

function TestReadCsv:test_bad_input()
    assert_error(function() mf.data.read_csv("/nonexistent/dir/x.csv") end,
                 "read_csv: ", "/nonexistent/dir/x.csv")
    local path = csv("a\n1\n")
    assert_error(function() mf.data.read_csv(path, {bogus = 1}) end,
                 "bad argument #2 to 'read_csv'", "unknown option 'bogus'")
    assert_error(function() mf.data.read_csv(path, {sep = ",,"}) end, "option 'sep'")
    assert_error(function() mf.data.read_csv(path, {on_bad_lines = "ignore"}) end, "on_bad_lines")
    assert_error(function() mf.data.read_csv(path, {na_values = {1}}) end, "na_values")
    assert_error(function() mf.data.read_csv(42) end, "path must be a string")
    assert_error(function() mf.data.read_csv(csv("")) end, "read_csv: ", "empty file")
    assert_error(function() mf.data.read_csv(csv('a,b\n"1,2\n')) end, ":2: unterminated quote")
end

function TestReadCsv:test_header_only_and_no_na_values()
    local tbl = read_quiet(csv("a,b\n"))
    lu.assertEquals(tbl:shape(), {0, 2})
    lu.assertEquals(tbl:dtypes(), {a = "float64", b = "float64"})
    lu.assertEquals(tbl:to_tensor():shape(), {0, 2})
    lu.assertEquals(tostring(tbl), "a  b\n[0 rows x 2 columns]")
    tbl = read_quiet(csv("s\nNA\nx\n"), {na_values = {}})
    lu.assertEquals(tbl.s, {"NA", "x"})
    lu.assertEquals(tostring(mf.data.from_columns{}), "[0 rows x 0 columns]")
end

TestTable = {}

function TestTable:tearDown() TestReadCsv.tearDown(self) end

function TestTable:test_tostring()
    local tbl = read_quiet(csv(sensors_text()))
    local s = tostring(tbl)
    local lines = {}
    for line in s:gmatch("[^\n]+") do lines[#lines + 1] = line end
    lu.assertEquals(lines[1], "site  temp  count     ok")
    lu.assertEquals(lines[2], "   a   1.5      0  false")
    lu.assertEquals(lines[5], "   b   NaN      3   true")
    lu.assertEquals(lines[12], "...")
    lu.assertEquals(lines[13], "[12 rows x 4 columns]")
    lu.assertEquals(tostring(tbl:head(1)), "site  temp  count     ok\n   a   1.5      0  false\n[1 rows x 4 columns]")
end

function TestTable:test_head()
    local tbl = read_quiet(csv(sensors_text()))
    local h = tbl:head(3)
    lu.assertEquals(h:shape(), {3, 4})
    lu.assertEquals(h.site, {"a", "b", "a"})
    lu.assertEquals(h.count:totable(), {0, 1, 2})
    lu.assertEquals(#tbl:head(), 5)
    lu.assertEquals(#tbl:head(100), 12)
    assert_error(function() tbl:head(-1) end, "bad argument #2 to 'head'")
end

function TestTable:test_to_tensor()
    local tbl = read_quiet(csv(sensors_text()))
    local t = tbl:to_tensor{columns = {"count", "ok"}}
    lu.assertEquals(t:shape(), {12, 2})
    lu.assertEquals(t:dtype(), "float64")
    lu.assertEquals(t[2]:totable(), {1, 1})
    lu.assertEquals(tbl:to_tensor{columns = {"count"}, dtype = "float32"}:dtype(), "float32")
    assert_error(function() tbl:to_tensor() end, "column 'site' holds strings", "encoder")
    assert_error(function() tbl:to_tensor{columns = {"site"}} end, "encoder")
    assert_error(function() tbl:to_tensor{columns = {"nope"}} end, "unknown column 'nope'")
    assert_error(function() tbl:to_tensor{cols = {"count"}} end, "unknown option 'cols'")
end

function TestTable:test_select_drop()
    local tbl = read_quiet(csv(sensors_text()))
    local s = tbl:select{"ok", "site"}
    lu.assertEquals(s:columns(), {"ok", "site"})
    lu.assertEquals(s:shape(), {12, 2})
    lu.assertEquals(tbl:drop{"temp", "ok"}:columns(), {"site", "count"})
    assert_error(function() tbl:select{"site", "nope"} end,
                 "bad argument #2 to 'select'", "unknown column 'nope'", "columns: site, temp, count, ok")
    assert_error(function() tbl:drop{"nope"} end, "bad argument #2 to 'drop'", "unknown column 'nope'")
    assert_error(function() tbl:column("nope") end, "unknown column 'nope'")
    lu.assertNil(tbl.nope)
    assert_error(function() tbl.x = 1 end, "cannot assign")
end

function TestTable:test_from_columns()
    local tbl = mf.data.from_columns{b = {"x", NA, "x"}, a = mf.tensor({1, 2, 3}), c = {1.5, 2, 3},
                                     d = {1, 2, 3}, e = {true, false, true}}
    lu.assertEquals(tbl:columns(), {"a", "b", "c", "d", "e"})
    lu.assertEquals(tbl:dtypes(), {a = "float64", b = "string", c = "float64", d = "int64", e = "bool"})
    lu.assertEquals(tbl.b[1], "x")
    lu.assertIs(tbl.b[2], NA)
    lu.assertEquals(tbl:report(), nil)
    local o = mf.data.from_columns({x = {1}, y = {2}}, {order = {"y", "x"}})
    lu.assertEquals(o:columns(), {"y", "x"})
    assert_error(function() mf.data.from_columns({x = {1}, y = {2}}, {order = {"y"}}) end, "'x'", "order")
    assert_error(function() mf.data.from_columns{x = {1}, y = {2, 3}} end, "rows")
    assert_error(function() mf.data.from_columns{x = {1, "a"}} end, "mixes")
    assert_error(function() mf.data.from_columns({x = {1}}, {sort = true}) end, "unknown option 'sort'")
end

function TestTable:test_from_tensor()
    local t = mf.tensor({{1, 2}, {3, 4}, {5, 6}})
    local tbl = mf.data.from_tensor(t, {names = {"p", "q"}})
    lu.assertEquals(tbl:shape(), {3, 2})
    lu.assertEquals(tbl.q:totable(), {2, 4, 6})
    lu.assertEquals(tbl:dtypes().q, "float64")
    lu.assertEquals(mf.data.from_tensor(t):columns(), {"column_1", "column_2"})
    lu.assertTrue(mf.equal(tbl:to_tensor(), t:double()))
    assert_error(function() mf.data.from_tensor(t, {names = {"p"}}) end, "1 names for 2 columns")
    assert_error(function() mf.data.from_tensor(t, {names = {"p", "p"}}) end, "duplicate column name 'p'")
    assert_error(function() mf.data.from_tensor(mf.zeros(3)) end, "2-D tensor expected")
end

os.exit(lu.LuaUnit.run(), true)
