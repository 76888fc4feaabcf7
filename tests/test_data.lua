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

-- A quiet read that returns the error message (without the position prefix).
local function read_err(path, opts)
    local ok, err = pcall(read_quiet, path, opts)
    lu.assertFalse(ok)
    return (tostring(err):gsub("^[^:]*:%d+: ", ""))
end

function TestReadCsv:test_usecols()
    local path = csv("a,b,c,d\n1,x,2.5,true\n2,y,3.5,false\n")
    local tbl = read_quiet(path, {usecols = {"d", "a"}})
    lu.assertEquals(tbl:columns(), {"a", "d"}) -- file order, as pandas
    lu.assertEquals(tbl.a:totable(), {1, 2})
    lu.assertEquals(tbl:dtypes(), {a = "int64", d = "bool"})
    tbl = read_quiet(path, {usecols = {3, "b"}})
    lu.assertEquals(tbl:columns(), {"b", "c"})
    lu.assertEquals(tbl.b, {"x", "y"})
    lu.assertEquals(tbl.c:totable(), {2.5, 3.5})
    lu.assertEquals(tbl:report().columns.c.dtype, "float64")
    lu.assertNil(tbl:report().columns.a)
    lu.assertEquals(read_err(path, {usecols = {"a", "zz"}}),
                    "bad argument #2 to 'read_csv' (usecols: unknown column 'zz' (columns: a, b, c, d))")
    lu.assertEquals(read_err(path, {usecols = {5}}),
                    "bad argument #2 to 'read_csv' (usecols: no column 5 (the file has 4 columns: a, b, c, d))")
    lu.assertStrContains(read_err(path, {usecols = "a"}), "option 'usecols' must be an array")
    lu.assertStrContains(read_err(path, {usecols = {true}}), "column names or positions expected, got boolean")
end

function TestReadCsv:test_dtypes()
    local path = csv("id,code,flag,v\n1,007,true,1\n2,010,false,err\n3,999,true,3\n")
    local tbl, warns = read_quiet(path, {dtypes = {code = "string", id = "float64", v = "float64"}})
    lu.assertEquals(tbl:dtypes(), {id = "float64", code = "string", flag = "bool", v = "float64"})
    lu.assertEquals(tbl.code, {"007", "010", "999"})
    lu.assertEquals(tbl.id:totable(), {1, 2, 3})
    -- a forced float64 column coerces junk (here 1 in 3, below the 90% of inference) and says so
    lu.assertEquals(tbl:report().columns.v.coerced_lines, {3})
    lu.assertEquals(#warns, 1)
    lu.assertStrContains(warns[1], "cells coerced to missing: v 1")
    tbl = read_quiet(path, {dtypes = {flag = "string", v = "string"}})
    lu.assertEquals(tbl.flag, {"true", "false", "true"})
    lu.assertEquals(tbl.v, {"1", "err", "3"})
    -- lossy casts are errors naming file:line, column, cell and type
    lu.assertEquals(read_err(path, {dtypes = {v = "int64"}}),
                    "read_csv: " .. path .. ":3: cannot read 'err' in column 'v' as int64")
    local px = csv("x\n1\n1.5\n")
    lu.assertEquals(read_err(px, {dtypes = {x = "int64"}}), "read_csv: " .. px .. ":3: cannot read '1.5' in column 'x' as int64")
    local p2 = csv("x,y\n1,true\n,maybe\n")
    lu.assertStrContains(read_err(p2, {dtypes = {x = "int64"}}), p2 .. ":3: missing value in int64 column 'x'")
    lu.assertStrContains(read_err(p2, {dtypes = {y = "bool"}}), p2 .. ":3: cannot read 'maybe' in column 'y' as bool")
    lu.assertEquals(read_err(path, {dtypes = {nope = "int64"}}),
                    "bad argument #2 to 'read_csv' (dtypes: unknown column 'nope' (columns: id, code, flag, v))")
    lu.assertEquals(read_err(path, {dtypes = {id = "int32"}}),
                    "bad argument #2 to 'read_csv' (dtypes: column 'id': unknown type 'int32' (float64, int64, bool or string))")
end

function TestReadCsv:test_quoted_fields_are_never_missing()
    -- "NA" in quotes is the string NA, "" an empty string; unquoted NA and an empty cell are missing
    local tbl = read_quiet(csv('s,t\n"NA",a\nNA,b\n"",c\n,d\n"x",e\n'))
    lu.assertEquals(tbl.s[1], "NA")
    lu.assertIs(tbl.s[2], NA)
    lu.assertEquals(tbl.s[3], "")
    lu.assertIs(tbl.s[4], NA)
    lu.assertEquals(tbl:report().columns.s.missing, 2)
end

function TestReadCsv:test_threads_and_blocks_identical()
    -- quoted fields with line breaks everywhere, read in 1 KB blocks on 1 and 2 threads
    local rows = {"id,note,x"}
    for i = 1, 3000 do
        rows[#rows + 1] = ('%d,"n%d\n,""q""",%s'):format(i, i % 17, i % 97 == 5 and "bad" or tostring(i / 8))
    end
    local path = csv(table.concat(rows, "\r\n") .. "\r\n")
    local core = require "moonforge.core"
    local saved = mf.get_num_threads and mf.get_num_threads() or nil
    local ref = read_quiet(path)
    core._csv_block_size(1000)
    local ok, err = pcall(function()
        for _, th in ipairs({1, 2}) do
            mf.set_num_threads(th)
            local t = read_quiet(path)
            lu.assertEquals(t.note, ref.note)
            local a, b = t.x:totable(), ref.x:totable()
            for i = 1, #b do assert(a[i] == b[i] or (a[i] ~= a[i] and b[i] ~= b[i]), i) end
            lu.assertEquals(#a, #b)
            lu.assertEquals(t:report().columns.x.coerced_lines, ref:report().columns.x.coerced_lines)
        end
    end)
    core._csv_block_size(0)
    if saved then mf.set_num_threads(saved) end
    assert(ok, err)
    lu.assertEquals(ref.note[3], 'n3\n,"q"')
    -- row i is on lines 2i and 2i + 1; the first junk cell is row 5
    lu.assertEquals(ref:report().columns.x.coerced_lines[1], 10)
    lu.assertEquals(ref.x[8], 1.0)
end

local function chunk_values(path, rows, opts)
    local all, n, sizes = {}, 0, {}
    for chunk in mf.data.csv_chunks(path, rows, opts) do
        sizes[#sizes + 1] = #chunk
        for _, name in ipairs(chunk:columns()) do
            all[name] = all[name] or {}
            local col = chunk[name]
            local vals = type(col) == "table" and col or col:totable()
            table.move(vals, 1, #vals, n + 1, all[name])
        end
        n = n + #chunk
    end
    return all, n, sizes
end

function TestReadCsv:test_csv_chunks()
    local rows = {"k,s,x,q"}
    for i = 1, 250 do
        rows[#rows + 1] = ('%d,%s,%s,"%s"'):format(i, ("s" .. i % 13), tostring(i * 0.5),
                                                   i % 9 == 0 and "two\nlines, \"\"quoted\"\"" or "p" .. i)
    end
    local path = csv(table.concat(rows, "\n") .. "\n")
    local whole = read_quiet(path)
    local core = require "moonforge.core"
    core._csv_block_size(700) -- records (and their quoted line breaks) across block ends
    local ok, err = pcall(function()
        local all, n, sizes = chunk_values(path, 40)
        lu.assertEquals(n, 250)
        lu.assertEquals(sizes, {40, 40, 40, 40, 40, 40, 10})
        lu.assertEquals(all.k, whole.k:totable())
        lu.assertEquals(all.s, whole.s)
        lu.assertEquals(all.x, whole.x:totable())
        lu.assertEquals(all.q, whole.q)
    end)
    core._csv_block_size(0)
    assert(ok, err)
    -- usecols in chunks; the texts of each chunk are right (codes into the grown levels)
    local first = 0
    for chunk in mf.data.csv_chunks(path, 100, {usecols = {"s"}}) do
        lu.assertEquals(chunk:columns(), {"s"})
        for i = 1, #chunk do lu.assertEquals(chunk.s[i], "s" .. (first + i) % 13) end
        first = first + #chunk
    end
    lu.assertEquals(first, 250)
    -- an early break closes the file; options are checked
    for chunk in mf.data.csv_chunks(path, 10) do lu.assertEquals(#chunk, 10) break end
    assert_error(function() mf.data.csv_chunks(path, 0) end, "bad argument #2 to 'csv_chunks'", "rows must be")
    assert_error(function() mf.data.csv_chunks(path, 10, {max_rows = 5}) end,
                 "bad argument #3 to 'csv_chunks'", "unknown option 'max_rows'")
    assert_error(function() mf.data.csv_chunks(path, 10, {usecols = {"zz"}}) end,
                 "bad argument #3 to 'csv_chunks'", "unknown column 'zz'")
    assert_error(function() mf.data.csv_chunks("/nonexistent/c.csv", 10) end, "csv_chunks: /nonexistent/c.csv")
end

function TestReadCsv:test_csv_chunks_fixed_types()
    local path = csv("i,f,b\n1,1.5,true\n2,2.5,false\n3,x,true\n4,4.5,true\n5.5,5,false\n")
    local it = mf.data.csv_chunks(path, 2)
    local c1 = it()
    lu.assertEquals(c1:dtypes(), {i = "int64", f = "float64", b = "bool"})
    local c2
    local warns = mf.capture_warnings(function() c2 = it() end)
    lu.assertEquals(c2:dtypes(), {i = "int64", f = "float64", b = "bool"})
    lu.assertEquals(c2:report().columns.f.coerced_lines, {4})
    lu.assertStrContains(warns[1], "csv_chunks: " .. path .. ": cells coerced to missing: f 1")
    local ok, err = pcall(it)
    lu.assertFalse(ok)
    lu.assertStrContains(err, "csv_chunks: " .. path .. ":6: cannot read '5.5' in column 'i' as int64 "
                              .. "(the type inferred from the first chunk; give the column a type with dtypes")
    lu.assertNil(it()) -- the reader is closed after an error
    -- with dtypes the same file reads through
    local all, n
    mf.capture_warnings(function() all, n = chunk_values(path, 2, {dtypes = {i = "float64"}}) end)
    lu.assertEquals(n, 5)
    lu.assertEquals(all.i, {1, 2, 3, 4, 5.5})
    -- header only: one empty chunk with the named columns
    local chunks = {}
    for chunk in mf.data.csv_chunks(csv("a,b\n"), 5) do chunks[#chunks + 1] = chunk end
    lu.assertEquals(#chunks, 1)
    lu.assertEquals(chunks[1]:shape(), {0, 2})
end

function TestReadCsv:test_bad_input_messages()
    local function e(text, opts) local p = csv(text); return read_err(p, opts):gsub(p:gsub("%p", "%%%0"), "F") end
    lu.assertEquals(read_err("/nonexistent/dir/x.csv"), "read_csv: /nonexistent/dir/x.csv: No such file or directory")
    lu.assertEquals(e(""), "read_csv: F: empty file")
    lu.assertEquals(e("\n\r\n"), "read_csv: F: empty file")
    local tbl = read_quiet(csv("a,b,c\n"))
    lu.assertEquals(tbl:shape(), {0, 3})
    lu.assertEquals(tbl:columns(), {"a", "b", "c"})
    lu.assertEquals(e("a,b\n1,2\n3\n4,5,6\n"), "read_csv: F:3: expected 2 fields, got 1")
    local t, warns = read_quiet(csv("a,b\n1,2\n3\n4,5,6\n7,8\n"), {on_bad_lines = "warn"})
    lu.assertEquals(t.a:totable(), {1, 7})
    lu.assertEquals(t:report().bad_line_numbers, {3, 4})
    lu.assertStrContains(warns[1], "2 bad lines skipped (lines 3, 4)")
    t, warns = read_quiet(csv("a,b\n1,2\n3\n"), {on_bad_lines = "skip"})
    lu.assertEquals(t:report().bad_lines, 1)
    lu.assertEquals(#warns, 0)
    lu.assertEquals(e('a,b\n1,2\n3,"open\nstill open\n'), "read_csv: F:3: unterminated quote")
    lu.assertEquals(e('a,b\n1,"x"y\n'), "read_csv: F:2: unexpected character after closing quote in field 2")
    lu.assertEquals(e("a,b\n1,2\n3\0,4\n"), "read_csv: F:3: NUL byte in the file")
    lu.assertEquals(e("a,b\n1,x\n2,\xC3\x28\n"), "read_csv: F:3: invalid UTF-8 in column 'b'")
    lu.assertEquals(e("a,\xFF\n1,2\n"), "read_csv: F:1: invalid UTF-8 in the name of column 2")
    lu.assertEquals(e("x,y,x\n1,2,3\n"), "read_csv: F:1: duplicate column name 'x' (columns 1 and 3)")
    -- a 10 MB field is read whole
    local big = ("abcdefghij\n"):rep(1024 * 1024 - 1) .. "abcdefghi"
    tbl = read_quiet(csv('id,text\n1,"' .. big .. '"\n2,short\n'))
    lu.assertEquals(#tbl.text[1], 11 * 1024 * 1024 - 2)
    lu.assertTrue(tbl.text[1] == big)
    lu.assertEquals(tbl.text[2], "short")
    lu.assertEquals(tbl.id:totable(), {1, 2})
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
