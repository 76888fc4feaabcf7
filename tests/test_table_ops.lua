-- Table group_by/agg, concat, join and write_csv (mf.data), and the row
-- kernels under them (core._rows_*), checked against plain-Lua computations
-- on small tables, and their errors.
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local support = require "support"
local assert_error = support.assert_error
local mf = require "moonforge"
local core = require "moonforge.core"
local NA = mf.data.NA
local nan = 0 / 0

local function assert_nan(v) lu.assertTrue(v ~= v, "expected NaN, got " .. tostring(v)) end

-- Values of a column as a Lua array (NaN kept).
local function values(tbl, name)
    local c = tbl[name]
    if mf.is_tensor(c) then return c:totable() end
    return c
end

-- Equal arrays, NaN equal to NaN.
local function assert_same(a, b, what)
    lu.assertEquals(#a, #b, what)
    for i = 1, #a do
        local x, y = a[i], b[i]
        if not (x ~= x and y ~= y) then lu.assertEquals(x, y, (what or "") .. " at " .. i) end
    end
end

-- A deterministic pseudo-random generator (tests must not depend on the seed).
local function lcg(seed)
    local state = seed
    return function(n)
        state = (state * 1103515245 + 12345) % 2147483648
        return state % n + 1
    end
end

---------------------------------------------------------------- _rows_factorize

TestFactorize = {}

function TestFactorize.test_against_brute_force()
    local rnd = lcg(7)
    local fv = {0.0, -0.0, 1.5, nan, 2.0}
    local n = 200
    local a, b, c, s = {}, {}, {}, {}
    for i = 1, n do
        a[i] = fv[rnd(5)]
        b[i] = rnd(3)
        c[i] = rnd(2) == 1
        s[i] = rnd(4) == 1 and NA or ({"x", "y"})[rnd(2)]
    end
    local tbl = mf.data.from_columns({a = a, b = b, c = c, s = s})
    local cols = {tbl.a, mf.tensor(b, "int64"), mf.tensor(c, "bool")}
    local scodes = {}
    for i = 1, n do scodes[i] = s[i] == NA and 0 or (s[i] == "x" and 1 or 2) end
    cols[4] = mf.tensor(scodes, "int64")
    local ids, ng, first, last = core._rows_factorize(cols)
    -- brute force: the group of a row is the group of the first equal row
    local function eqv(x, y) return x == y or (x ~= x and y ~= y) end
    local ref, nref, f, l = {}, 0, {}, {}
    for i = 1, n do
        for k = 1, i - 1 do
            if eqv(a[i], a[k]) and b[i] == b[k] and c[i] == c[k] and s[i] == s[k] then
                ref[i] = ref[k]
                break
            end
        end
        if not ref[i] then nref = nref + 1; ref[i] = nref; f[nref] = i end
        l[ref[i]] = i
    end
    lu.assertEquals(ng, nref)
    lu.assertEquals(ids:totable(), ref)
    lu.assertEquals(first:totable(), f)
    lu.assertEquals(last:totable(), l)
    lu.assertEquals(ids:dtype(), "int64")
end

function TestFactorize.test_thread_count_independent()
    local n = 100000
    local x = (mf.arange(0, n, "float64") * 7919) % 1009
    local threads = mf.get_num_threads()
    local ids2, ng2 = core._rows_factorize{x}
    mf.set_num_threads(1)
    local ids1, ng1 = core._rows_factorize{x}
    mf.set_num_threads(threads)
    lu.assertEquals(ng1, 1009)
    lu.assertEquals(ng2, ng1)
    lu.assertTrue(ids1:eq(ids2):all():item())
end

function TestFactorize.test_semantics_and_errors()
    local ids, ng, first, last = core._rows_factorize{mf.tensor({nan, 0.0, -0.0, nan, 1.0}, "float64")}
    lu.assertEquals(ids:totable(), {1, 2, 2, 1, 3})
    lu.assertEquals(ng, 3)
    lu.assertEquals(first:totable(), {1, 2, 5})
    lu.assertEquals(last:totable(), {4, 3, 5})
    ids, ng = core._rows_factorize{mf.zeros(0, "int64")}
    lu.assertEquals(ng, 0)
    lu.assertEquals(ids:numel(), 0)
    assert_error(function() core._rows_factorize{mf.zeros(3, "float64"), mf.zeros(2, "int64")} end,
                 "bad argument #1 to", "_rows_factorize", "column 2 has 2 rows, column 1 has 3")
    assert_error(function() core._rows_factorize{mf.zeros(3, "float32")} end,
                 "_rows_factorize", "dtype float32")
    assert_error(function() core._rows_factorize{mf.zeros(2, 2, "float64")} end,
                 "_rows_factorize", "1-D")
    assert_error(function() core._rows_factorize{{1, 2}} end, "_rows_factorize", "not a tensor")
    assert_error(function() core._rows_factorize{} end, "_rows_factorize", "at least one column")
end

---------------------------------------------------------------- group_by / agg

local function random_table(seed, n)
    local rnd = lcg(seed)
    local k, j, x, m, s = {}, {}, {}, {}, {}
    for i = 1, n do
        k[i] = rnd(5) == 1 and NA or ({"pump", "fan", "valve"})[rnd(3)]
        j[i] = rnd(3) - 1
        x[i] = rnd(6) == 1 and nan or (rnd(1000) - 500) / 8
        m[i] = rnd(50) * 3
        s[i] = rnd(3) == 1 and NA or ({"a", "b"})[rnd(2)]
    end
    return mf.data.from_columns({k = k, j = j, x = x, m = m, s = s}, {order = {"k", "j", "x", "m", "s"}}),
           {k = k, j = j, x = x, m = m, s = s}
end

-- Reference aggregation in plain Lua: groups of (k, j) with k not missing,
-- sorted by k then j.
local function reference(raw, n)
    local groups, list = {}, {}
    for i = 1, n do
        if raw.k[i] ~= NA then
            local key = raw.k[i] .. "\0" .. raw.j[i]
            local g = groups[key]
            if not g then
                g = {k = raw.k[i], j = raw.j[i], xs = {}, ms = {}, nrows = 0, scount = 0}
                groups[key] = g
                list[#list + 1] = g
            end
            g.nrows = g.nrows + 1
            if raw.x[i] == raw.x[i] then g.xs[#g.xs + 1] = raw.x[i] end
            g.ms[#g.ms + 1] = raw.m[i]
            if raw.s[i] ~= NA then g.scount = g.scount + 1 end
        end
    end
    table.sort(list, function(a, b) if a.k ~= b.k then return a.k < b.k end return a.j < b.j end)
    return list
end

local function stats(xs)
    local n, sum, mn, mx = #xs, 0, math.huge, -math.huge
    for _, v in ipairs(xs) do sum = sum + v; mn = math.min(mn, v); mx = math.max(mx, v) end
    local mean = n > 0 and sum / n or nan
    local ss = 0
    for _, v in ipairs(xs) do ss = ss + (v - mean) ^ 2 end
    return {count = n, sum = sum, mean = mean, std = n > 1 and math.sqrt(ss / (n - 1)) or nan,
            min = n > 0 and mn or nan, max = n > 0 and mx or nan}
end

TestGroupBy = {}

function TestGroupBy.test_agg_against_plain_lua()
    local n = 300
    local tbl, raw = random_table(11, n)
    local r = tbl:group_by({"k", "j"}):agg{x = {"count", "sum", "mean", "std", "min", "max"},
                                           m = {"sum", "max"}, s = "count"}
    lu.assertEquals(r:columns(), {"k", "j", "x_count", "x_sum", "x_mean", "x_std", "x_min", "x_max",
                                  "m_sum", "m_max", "s_count"})
    local ref = reference(raw, n)
    lu.assertEquals(#r, #ref)
    local d = r:dtypes()
    lu.assertEquals(d.j, "int64")
    lu.assertEquals(d.x_count, "int64")
    lu.assertEquals(d.m_sum, "int64") -- int64 sums stay int64, as in pandas
    lu.assertEquals(d.m_max, "int64")
    lu.assertEquals(d.x_mean, "float64")
    local cols = {}
    for _, name in ipairs(r:columns()) do cols[name] = values(r, name) end
    for i, g in ipairs(ref) do
        lu.assertEquals(cols.k[i], g.k)
        lu.assertEquals(cols.j[i], g.j)
        local st = stats(g.xs)
        lu.assertEquals(cols.x_count[i], st.count)
        lu.assertAlmostEquals(cols.x_sum[i], st.sum, 1e-9)
        for _, f in ipairs{"mean", "std", "min", "max"} do
            local got = cols["x_" .. f][i]
            if st[f] ~= st[f] then assert_nan(got) else lu.assertAlmostEquals(got, st[f], 1e-9) end
        end
        local ms = stats(g.ms)
        lu.assertEquals(cols.m_sum[i], ms.sum)
        lu.assertEquals(cols.m_max[i], ms.max)
        lu.assertEquals(cols.s_count[i], g.scount)
    end
end

function TestGroupBy.test_hand_computed_and_size()
    local t = mf.data.from_columns({k = {"b", "a", NA, "b", "a"}, x = {1.0, 2.0, 3.0, nan, 6.0}},
                                   {order = {"k", "x"}})
    local r = t:group_by("k"):agg{x = {"mean", "std", "count", "sum"}}
    lu.assertEquals(r.k, {"a", "b"})
    lu.assertEquals(r.x_mean:totable(), {4.0, 1.0})
    lu.assertAlmostEquals(r.x_std:totable()[1], math.sqrt(8), 1e-12)
    assert_nan(r.x_std:totable()[2]) -- one value: sample std is NaN
    lu.assertEquals(r.x_count:totable(), {2, 1})
    lu.assertEquals(r.x_sum:totable(), {8.0, 1.0})
    local sz = t:group_by("k"):size()
    lu.assertEquals(sz:columns(), {"k", "size"})
    lu.assertEquals(sz.size:totable(), {2, 2})
    -- float keys: NaN key dropped, -0.0 and 0.0 one group, sorted numerically
    local f = mf.data.from_columns({x = {2.5, -0.0, nan, 0.0, -3.0, 2.5}})
    local fs = f:group_by("x"):size()
    lu.assertEquals(fs.x:totable(), {-3.0, 0.0, 2.5})
    lu.assertEquals(fs.size:totable(), {1, 2, 2})
    -- bool keys and a bool column: sum counts trues
    local b = mf.data.from_columns({k = {true, false, true}, v = {true, true, false}}, {order = {"k", "v"}})
    local bs = b:group_by("k"):agg{v = {"sum", "mean"}}
    lu.assertEquals(bs.k:totable(), {false, true})
    lu.assertEquals(bs.v_sum:totable(), {1, 1})
    lu.assertEquals(bs.v_mean:totable(), {1.0, 0.5})
    -- an empty table gives an empty result with the right columns
    local e = t:filter(mf.zeros(5, "bool")):group_by("k"):agg{x = "mean"}
    lu.assertEquals(e:shape(), {0, 2})
end

function TestGroupBy.test_errors()
    local t = mf.data.from_columns({k = {"b", "a"}, x = {1.0, 2.0}, s = {"u", "v"}}, {order = {"k", "x", "s"}})
    assert_error(function() t:group_by("nope") end, "bad argument #2 to 'group_by'", "unknown column 'nope'")
    assert_error(function() t:group_by({}) end, "group_by", "non-empty list")
    assert_error(function() t:group_by({"k", "k"}) end, "group_by", "listed twice")
    local g = t:group_by("k")
    assert_error(function() g:agg{s = "mean"} end, "bad argument #2 to 'agg'", "column 's' holds strings")
    assert_error(function() g:agg{x = "median"} end, "agg", "unknown function 'median'")
    assert_error(function() g:agg{y = "sum"} end, "agg", "unknown column 'y'")
    assert_error(function() g:agg{k = "count"} end, "agg", "column 'k' is a group key")
    assert_error(function() g:agg("x") end, "agg", "table")
    assert_error(function() g:agg{x = {}} end, "agg", "column 'x'")
end

---------------------------------------------------------------- concat

TestConcat = {}

function TestConcat.test_rows_appended()
    local a = mf.data.from_columns({k = {"b", "a"}, x = {1, 2}, f = {0.5, nan}}, {order = {"k", "x", "f"}})
    local b = mf.data.from_columns({f = {1.5, 2.5, 3.5}, x = {7, 8, 9}, k = {"c", NA, "a"}, y = {true, false, true}},
                                   {order = {"f", "x", "k", "y"}})
    local r = mf.data.concat{a, b}
    lu.assertEquals(r:columns(), {"k", "x", "f", "y"}) -- order of first appearance
    lu.assertEquals(#r, 5)
    lu.assertEquals(r.k, {"b", "a", "c", NA, "a"})
    local d = r:dtypes()
    lu.assertEquals(d.x, "int64") -- int64 in every table, no holes: stays int64
    lu.assertEquals(r.x:totable(), {1, 2, 7, 8, 9})
    assert_same(r.f:totable(), {0.5, nan, 1.5, 2.5, 3.5})
    lu.assertEquals(d.y, "float64") -- a bool column with missing cells becomes float64
    assert_same(r.y:totable(), {nan, nan, 1.0, 0.0, 1.0})
    -- string levels merged: the codes of b were remapped
    lu.assertEquals(a:concat(b).k, r.k)
    -- int64 with float64 gives float64; a string column missing from a table gives NA
    local c = mf.data.from_columns({x = {0.25}})
    local r2 = mf.data.concat{a, c}
    lu.assertEquals(r2:dtypes().x, "float64")
    lu.assertEquals(r2.x:totable(), {1.0, 2.0, 0.25})
    lu.assertEquals(r2.k, {"b", "a", NA})
    -- a single table and empty tables
    lu.assertEquals(mf.data.concat{a}.k, {"b", "a"})
    local e = a:filter(mf.zeros(2, "bool"))
    lu.assertEquals(mf.data.concat{e, e}:shape(), {0, 3})
    lu.assertEquals(mf.data.concat{e, a}.x:totable(), {1, 2})
end

function TestConcat.test_errors()
    local a = mf.data.from_columns({k = {"b", "a"}})
    local b = mf.data.from_columns({k = {1, 2}})
    assert_error(function() mf.data.concat{a, b} end, "bad argument #1 to 'concat'", "column 'k'", "strings")
    assert_error(function() a:concat(b) end, "bad argument #2 to 'concat'", "column 'k'")
    assert_error(function() mf.data.concat{} end, "concat", "non-empty list")
    assert_error(function() mf.data.concat{a, 5} end, "concat", "element 2 is not a Table")
    assert_error(function() a:concat("x") end, "bad argument #2 to 'concat'", "Table expected")
end

---------------------------------------------------------------- join

-- Reference merge in plain Lua (pandas semantics): key lists of both sides.
local function ref_join(lk, rk, how)
    local pairs_ = {}
    local function eq(x, y) return x == y or (x ~= x and y ~= y) end
    if how == "right" then
        for j = 1, #rk do
            local found = false
            for i = 1, #lk do if eq(lk[i], rk[j]) then pairs_[#pairs_ + 1] = {i, j}; found = true end end
            if not found then pairs_[#pairs_ + 1] = {0, j} end
        end
    else
        for i = 1, #lk do
            local found = false
            for j = 1, #rk do if eq(lk[i], rk[j]) then pairs_[#pairs_ + 1] = {i, j}; found = true end end
            if not found and how == "left" then pairs_[#pairs_ + 1] = {i, 0} end
        end
    end
    return pairs_
end

TestJoin = {}

function TestJoin.test_against_plain_lua()
    local rnd = lcg(5)
    for _, how in ipairs{"inner", "left", "right"} do
        local nl, nr = 40, 30
        local lk, rk, lv, rv = {}, {}, {}, {}
        for i = 1, nl do lk[i] = rnd(12); lv[i] = i * 10 end
        for j = 1, nr do rk[j] = rnd(12); rv[j] = j + 0.5 end
        lk[1], rk[1] = 98, 99 -- rows without a partner on each side
        local L = mf.data.from_columns({k = lk, v = lv}, {order = {"k", "v"}})
        local R = mf.data.from_columns({w = rv, k = rk}, {order = {"w", "k"}})
        local r = L:join(R, {on = "k", how = how})
        lu.assertEquals(r:columns(), {"k", "v", "w"})
        local ref = ref_join(lk, rk, how)
        lu.assertEquals(#r, #ref, how)
        local k, v, w = r.k:totable(), r.v:totable(), r.w:totable()
        for q, p in ipairs(ref) do
            lu.assertEquals(k[q], p[1] > 0 and lk[p[1]] or rk[p[2]], how)
            if p[1] > 0 then lu.assertEquals(v[q], lv[p[1]]) else assert_nan(v[q]) end
            if p[2] > 0 then lu.assertEquals(w[q], rv[p[2]]) else assert_nan(w[q]) end
        end
        -- a column with missing cells becomes float64; otherwise int64 stays
        local holes = false
        for _, p in ipairs(ref) do holes = holes or p[1] == 0 end
        lu.assertEquals(r:dtypes().v, holes and "float64" or "int64")
        lu.assertEquals(holes, how == "right")
    end
end

function TestJoin.test_hand_computed()
    local l = mf.data.from_columns({a = {1, 2, 3, 4}, k = {"x", "y", "x", NA}, v = {1.5, 2.5, 3.5, 4.5}},
                                   {order = {"a", "k", "v"}})
    local r = mf.data.from_columns({k = {"y", "x", "z", "x", NA}, v = {10, 20, 30, 40, 50}},
                                   {order = {"k", "v"}})
    local inner = l:join(r, {on = "k"})
    lu.assertEquals(inner:columns(), {"a", "k", "v_x", "v_y"})
    lu.assertEquals(inner.a:totable(), {1, 1, 2, 3, 3, 4})
    lu.assertEquals(inner.k, {"x", "x", "y", "x", "x", NA}) -- NA matches NA, as in pandas
    lu.assertEquals(inner.v_y:totable(), {20, 40, 10, 20, 40, 50})
    local outer = l:join(r, {on = "k", how = "outer", suffixes = {"_l", "_r"}})
    lu.assertEquals(outer:columns(), {"a", "k", "v_l", "v_r"})
    lu.assertEquals(outer.k, {"x", "x", "x", "x", "y", "z", NA}) -- sorted by key, missing last
    assert_same(outer.a:totable(), {1, 1, 3, 3, 2, nan, 4})
    lu.assertEquals(outer.v_r:totable(), {20, 40, 20, 40, 10, 30, 50})
    -- two keys, int64 with float64 keys, NaN keys match each other
    local a = mf.data.from_columns({p = {1, 1, 2}, q = {1.0, 2.0, nan}, x = {"a", "b", "c"}}, {order = {"p", "q", "x"}})
    local b = mf.data.from_columns({p = {1.0, 2.0, 1.0}, q = {2.0, nan, 7.0}, y = {true, false, true}},
                                   {order = {"p", "q", "y"}})
    local j = a:join(b, {on = {"p", "q"}, how = "left"})
    lu.assertEquals(j:dtypes().p, "float64")
    lu.assertEquals(j.x, {"a", "b", "c"})
    assert_same(j.y:totable(), {nan, 0.0 + 1, 0.0})
    -- the string key compares texts, not codes (levels in another order)
    local s1 = mf.data.from_columns({k = {"m", "n"}, v = {1, 2}}, {order = {"k", "v"}})
    local s2 = mf.data.from_columns({k = {"n", "m"}, w = {20, 10}}, {order = {"k", "w"}})
    lu.assertEquals(s1:join(s2, {on = "k"}).w:totable(), {10, 20})
    -- default on: the shared columns
    lu.assertEquals(s1:join(s2):columns(), {"k", "v", "w"})
end

function TestJoin.test_edges()
    -- float keys with NaN: NaN matches NaN; outer sorts numerically, NaN last
    local a = mf.data.from_columns({k = {2.0, nan, -1.0, 0.0}, x = {1, 2, 3, 4}}, {order = {"k", "x"}})
    local b = mf.data.from_columns({k = {nan, -0.0, 5.0}, y = {10, 20, 30}}, {order = {"k", "y"}})
    local o = a:join(b, {on = "k", how = "outer"})
    assert_same(o.k:totable(), {-1.0, 0.0, 2.0, 5.0, nan})
    assert_same(o.x:totable(), {3, 4, 1, nan, 2})
    assert_same(o.y:totable(), {nan, 20, nan, 30, 10})
    local i = a:join(b, {on = "k"})
    assert_same(i.k:totable(), {nan, 0.0})
    lu.assertEquals(i.y:totable(), {10, 20})
    -- empty tables
    local e = a:filter(mf.zeros(4, "bool"))
    lu.assertEquals(e:join(b, {on = "k"}):shape(), {0, 3})
    local l = a:join(b:filter(mf.zeros(3, "bool")), {on = "k", how = "left"})
    lu.assertEquals(l.x:totable(), {1, 2, 3, 4})
    lu.assertEquals(l:dtypes().y, "float64")
    local r = e:join(b, {on = "k", how = "right"})
    assert_same(r.k:totable(), {nan, -0.0, 5.0})
    assert_same(r.x:totable(), {nan, nan, nan})
    -- bool keys
    local p = mf.data.from_columns({f = {true, false, true}, v = {1, 2, 3}}, {order = {"f", "v"}})
    local q = mf.data.from_columns({f = {false}, w = {9}}, {order = {"f", "w"}})
    local pq = p:join(q, {on = "f", how = "left"})
    assert_same(pq.w:totable(), {nan, 9, nan})
    lu.assertEquals(pq:dtypes().f, "bool")
end

function TestJoin.test_errors()
    local l = mf.data.from_columns({k = {"x"}, v = {1}}, {order = {"k", "v"}})
    local r = mf.data.from_columns({k = {1}, w = {1}}, {order = {"k", "w"}})
    assert_error(function() l:join(r, {on = "k"}) end, "bad argument #3 to 'join'", "key 'k' is string in the left table and int64")
    assert_error(function() l:join(r, {on = "w"}) end, "join", "unknown key column 'w' in the left table")
    assert_error(function() l:join(r, {on = "v"}) end, "join", "unknown key column 'v' in the right table")
    assert_error(function() l:join(r, {on = "k", how = "cross"}) end, "join", "option 'how'")
    assert_error(function() l:join(r, {on = "k", bogus = 1}) end, "join", "unknown option 'bogus'")
    assert_error(function() l:join(5) end, "bad argument #2 to 'join'", "Table expected")
    assert_error(function() l:join(mf.data.from_columns({z = {1}})) end, "join", "no column in common")
    assert_error(function() l:join(l, {on = "k", suffixes = {"", ""}}) end, "join", "duplicate column name 'v'")
end

---------------------------------------------------------------- write_csv

local tmpdir = os.tmpname()
os.remove(tmpdir)
assert(os.execute("mkdir -p " .. support.quote(tmpdir)))

local function bits(x) return string.pack("<d", x) end

-- Whether read_csv keeps a quoted "NA" as the text NA (the reader being
-- rewritten makes quoted fields never missing).
local function quoted_fields_kept()
    support.write_file(tmpdir .. "/probe.csv", 'a\n"NA"\n')
    return mf.data.read_csv(tmpdir .. "/probe.csv").a[1] == "NA"
end

TestWriteCsv = {}

function TestWriteCsv.test_file_text()
    local t = mf.data.from_columns({s = {"a,b", 'q"x', "plain", NA, " sp"}, x = {0.1, -0.0, nan, 1 / 0, 3.0},
                                    n = {1, -2, 3, 4, math.mininteger}, b = {true, false, true, true, false}},
                                   {order = {"s", "x", "n", "b"}})
    local path = tmpdir .. "/t.csv"
    t:write_csv(path)
    lu.assertEquals(support.read_file(path),
                    's,x,n,b\n"a,b",0.1,1,true\n"q""x",-0.0,-2,false\nplain,,3,true\n,inf,4,true\n" sp",3.0,'
                    .. '-9223372036854775808,false\n')
    t:select{"n", "s"}:write_csv(path, {sep = ";", header = false})
    lu.assertEquals(support.read_file(path), '1;a,b\n-2;"q""x"\n3;plain\n4;\n-9223372036854775808;" sp"\n')
    -- a one-column table writes a missing cell as NA (an empty line would be skipped)
    mf.data.from_columns({x = {1.5, nan}}):write_csv(path)
    lu.assertEquals(support.read_file(path), "x\n1.5\nNA\n")
end

function TestWriteCsv.test_round_trip_bit_exact()
    local rnd = lcg(3)
    local specials = {0.0, -0.0, 1 / 0, -1 / 0, nan, 4.9e-324, 2.2250738585072014e-308, 1e300, -1.7976931348623157e308,
                      0.1, 1 / 3, 123456789012345678, 1e15, 1e16, 0.0001, 1e-5, 5e-324 * 3}
    -- 5000 rows and a 60 KB text: the writer formats many blocks of rows in parallel
    local n = 5000
    local x, k, b, s = {}, {}, {}, {}
    local texts = {"plain", "with,comma", 'qu"ote', "line\nbreak", "cr\rlf", "ünïcødé", "  padded ", "tab\t",
                   ('long "text", '):rep(5000)}
    if quoted_fields_kept() then -- texts that read as missing unless quoted
        for _, v in ipairs{"NA", "", "null", "NaN", "N/A"} do texts[#texts + 1] = v end
    end
    for i = 1, n do
        local r = rnd(4)
        x[i] = r == 1 and specials[rnd(#specials)] or (rnd(2000001) - 1000001) / 997 * 10 ^ (rnd(40) - 20)
        k[i] = (rnd(2000001) - 1000001) * (rnd(2) == 1 and 1 or 9007199254)
        b[i] = rnd(2) == 1
        s[i] = rnd(7) == 1 and NA or texts[rnd(#texts)]
    end
    k[1], k[2] = math.mininteger, math.maxinteger
    local t = mf.data.from_columns({["x col"] = x, k = k, b = b, ['we,ird "name"'] = s},
                                   {order = {"x col", "k", "b", 'we,ird "name"'}})
    local path = tmpdir .. "/rt.csv"
    t:write_csv(path)
    local r = mf.data.read_csv(path)
    lu.assertEquals(r:columns(), t:columns())
    lu.assertEquals(r:dtypes(), t:dtypes())
    local rx = r["x col"]:totable()
    for i = 1, n do
        if x[i] ~= x[i] then assert_nan(rx[i]) else lu.assertEquals(bits(rx[i]), bits(x[i]), "row " .. i) end
    end
    lu.assertEquals(r.k:totable(), k)
    lu.assertEquals(r.b:totable(), b)
    lu.assertEquals(r['we,ird "name"'], s)
    -- the same bytes whatever the thread count
    local threads = mf.get_num_threads()
    mf.set_num_threads(1)
    t:write_csv(path .. "1")
    mf.set_num_threads(threads)
    lu.assertTrue(support.read_file(path) == support.read_file(path .. "1"), "file differs with 1 thread")
end

function TestWriteCsv.test_missing_texts_quoted()
    -- strings equal to a missing-value text, or empty, are written quoted
    local t = mf.data.from_columns({s = {"NA", "", "null", NA, "x"}, i = {1, 2, 3, 4, 5}}, {order = {"s", "i"}})
    local path = tmpdir .. "/na.csv"
    t:write_csv(path)
    lu.assertEquals(support.read_file(path), 's,i\n"NA",1\n"",2\n"null",3\n,4\nx,5\n')
    local r = mf.data.read_csv(path)
    -- a reader that keeps quoted fields as text gives the strings back exactly
    if quoted_fields_kept() then
        lu.assertEquals(r.s, {"NA", "", "null", NA, "x"})
    else
        lu.assertEquals(r.s, {NA, NA, NA, NA, "x"})
    end
end

function TestWriteCsv.test_atomic_and_errors()
    local t = mf.data.from_columns({x = {1.5, 2.5}})
    local path = tmpdir .. "/keep.csv"
    support.write_file(path, "old contents\n")
    assert_error(function() t:write_csv(tmpdir .. "/missing/dir/x.csv") end,
                 "write_csv: ", "missing/dir/x.csv", "No such file or directory")
    -- an allocation failure in the writer leaves the old file untouched, no temp file
    for k = 1, 4 do
        core._fail_alloc_after(k)
        local ok = pcall(t.write_csv, t, path)
        core._fail_alloc_after(0)
        if ok then break end
        lu.assertEquals(support.read_file(path), "old contents\n")
    end
    t:write_csv(path)
    lu.assertEquals(support.read_file(path), "x\n1.5\n2.5\n")
    lu.assertEquals(support.capture("ls " .. support.quote(tmpdir) .. " | grep -c tmp || true"), "0")
    assert_error(function() t:write_csv(5) end, "bad argument #2 to 'write_csv'", "path must be a string")
    assert_error(function() t:write_csv(path, {sep = '"'}) end, "bad argument #3 to 'write_csv'", "option 'sep'")
    assert_error(function() t:write_csv(path, {quote = 1}) end, "bad argument #3 to 'write_csv'", "unknown option 'quote'")
    assert_error(function() t:write_csv(tmpdir) end, "write_csv: ", "Is a directory")
end


local status = lu.LuaUnit.run()
os.execute("rm -rf " .. support.quote(tmpdir))
os.exit(status, true)
