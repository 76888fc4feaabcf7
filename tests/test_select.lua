-- Joining, splitting, reordering and selecting from Lua: every op against a
-- reference computed here with plain loops over t:get(...), on contiguous,
-- transposed, sliced and expanded inputs of every dtype, empty tensors and
-- size-1 dims; and every bad input for its message.
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local assert_error = require("support").assert_error
local mf = require "moonforge"

---------------------------------------------------------------- helpers


local DTYPES = {"float32", "float64", "int64", "bool"}

-- A value as a number (booleans as 1/0), for comparisons.
local function num(v)
    if v == true then return 1 elseif v == false then return 0 end
    return v
end

local function same(a, b)
    a, b = num(a), num(b)
    return a == b or (a ~= a and b ~= b)
end

local function copy(t)
    local c = {}
    for k, v in pairs(t) do c[k] = v end
    return c
end

local function numel(shape)
    local n = 1
    for _, s in ipairs(shape) do n = n * s end
    return n
end

-- Calls fn(idx) for every position of shape in row-major order (once, with
-- {}, for a 0-D shape). idx is reused: copy it to keep it.
local function each_index(shape, fn)
    local idx = {}
    local function walk(d)
        if d > #shape then return fn(idx) end
        for i = 1, shape[d] do
            idx[d] = i
            walk(d + 1)
        end
    end
    walk(1)
end

local function get(t, idx) return t:get(table.unpack(idx, 1, #t:shape())) end

-- Row-major values of t, via get.
local function values(t)
    local v = {}
    each_index(t:shape(), function(idx) v[#v + 1] = get(t, idx) end)
    return v
end

-- Asserts out has `shape` and out[idx] equals want(idx) everywhere.
local function check_all(out, shape, want, what)
    lu.assertEquals(out:shape(), shape, what)
    each_index(shape, function(idx)
        local a, b = get(out, idx), want(idx)
        if not same(a, b) then
            lu.fail(string.format("%s: at {%s} got %s, expected %s", what or "",
                                  table.concat(idx, ","), tostring(a), tostring(b)))
        end
    end)
end

-- Deterministic test data: integers in [-k, k] (with ties), as `dtype`.
local seed = 7
local function rnd(k)
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % (2 * k + 1) - k
end

local function data(shape, dtype, k)
    k = k or 4
    local function build(d)
        if d > #shape then
            local v = rnd(k)
            if dtype == "bool" then return v > 0 end
            if dtype ~= "int64" then return v / 2 end
            return v
        end
        local t = {}
        for i = 1, shape[d] do t[i] = build(d + 1) end
        return t
    end
    if numel(shape) == 0 then return mf.zeros(shape, dtype) end
    return mf.tensor(build(1), dtype)
end

-- The same kind of tensor in several layouts: contiguous, transposed (same
-- values, permuted strides), sliced (a narrow of a wider tensor, so with an
-- offset and a row stride) and expanded (its first slice broadcast: stride
-- 0). The references read each input through get, so the values may differ.
local function layouts(t)
    local list = {{"contiguous", t}}
    local shape = t:shape()
    if #shape >= 2 then
        list[#list + 1] = {"transposed", t:transpose(1, -1):contiguous():transpose(1, -1)}
    end
    if #shape >= 1 then
        local wide = copy(shape)
        wide[#wide] = wide[#wide] + 3
        local v = mf.zeros(wide, t:dtype()):narrow(-1, 2, shape[#shape])
        v:copy_(t)
        list[#list + 1] = {"sliced", v}
        if shape[1] > 0 then list[#list + 1] = {"expanded", t:narrow(1, 1, 1):expand(shape)} end
    end
    return list
end

-- Calls fn(t, name) for tensors of `shape` in every dtype and layout.
local function for_inputs(shape, fn, dtypes)
    for _, dt in ipairs(dtypes or DTYPES) do
        for _, l in ipairs(layouts(data(shape, dt))) do fn(l[2], dt .. " " .. l[1]) end
    end
end

---------------------------------------------------------------- cat, stack

TestCat = {}

-- reference: the entry of the concatenation at idx
local function ref_cat(list, dim)
    return function(idx)
        local i = copy(idx)
        for _, t in ipairs(list) do
            if not (t:dim() == 1 and t:size(1) == 0) then
                if i[dim] <= t:size(dim) then return get(t, i) end
                i[dim] = i[dim] - t:size(dim)
            end
        end
    end
end

function TestCat:test_against_reference()
    for _, shape in ipairs {{2, 3}, {1, 4}, {3, 1, 2}, {0, 3}} do
        for dim = 1, #shape do
            for_inputs(shape, function(a, name)
                local bshape = copy(shape)
                bshape[dim] = 2
                local b = data(bshape, a:dtype())
                local out = mf.cat({a, b, a}, dim)
                local want = copy(shape)
                want[dim] = 2 * shape[dim] + 2
                lu.assertEquals(out:dtype(), a:dtype())
                check_all(out, want, ref_cat({a, b, a}, dim), name .. " dim " .. dim)
                -- negative dims count from the end
                lu.assertEquals(mf.cat({a, b, a}, dim - #shape - 1):totable(), out:totable())
            end)
        end
    end
end

function TestCat:test_dtypes_promote()
    local i = mf.tensor({1, 2}, "int64")
    local b = mf.tensor({true, false})
    local f = mf.tensor({0.5})
    local d = mf.tensor({0.25}, "float64")
    lu.assertEquals(mf.cat({i, b}):dtype(), "int64")
    lu.assertEquals(mf.cat({i, b}):totable(), {1, 2, 1, 0})
    lu.assertEquals(mf.cat({b, f}):dtype(), "float32")
    lu.assertEquals(mf.cat({i, f, d}):dtype(), "float64")
    lu.assertEquals(mf.cat({i, f, d}):totable(), {1, 2, 0.5, 0.25})
    lu.assertEquals(mf.cat({b, b}):dtype(), "bool")
end

function TestCat:test_empty_1d_is_skipped()
    local a = mf.ones(2, 3)
    local out = mf.cat({mf.tensor({}), a, mf.zeros(0, "int64")}, 2)
    lu.assertEquals(out:shape(), {2, 3}) -- [0] pieces skipped, whatever the dim
    lu.assertEquals(out:dtype(), "float32")
    lu.assertEquals(mf.cat({mf.tensor({}), mf.tensor({})}):shape(), {0})
    -- a 2-D empty piece is not skipped: it must match
    lu.assertEquals(mf.cat({mf.zeros(0, 3), a}):shape(), {2, 3})
    assert_error(function() mf.cat({mf.zeros(0, 2), a}) end, "tensor 1 is [0x2], tensor 2 is [2x3]")
end

function TestCat:test_stack()
    for _, shape in ipairs {{2, 3}, {1}, {0, 2}, {}} do
        for dim = 1, #shape + 1 do
            for_inputs(shape, function(a, name)
                local b = data(shape, a:dtype())
                local out = mf.stack({a, b}, dim)
                local want = copy(shape)
                table.insert(want, dim, 2)
                check_all(out, want, function(idx)
                    local i = copy(idx)
                    local which = table.remove(i, dim)
                    return get(which == 1 and a or b, i)
                end, name .. " stack dim " .. dim)
            end)
        end
    end
    lu.assertEquals(mf.stack({mf.tensor(1), mf.tensor(2)}):totable(), {1, 2})
    lu.assertEquals(mf.stack({mf.tensor({1, 2}), mf.tensor({3, 4})}, -1):totable(), {{1, 3}, {2, 4}})
end

function TestCat:test_errors()
    local a, b = mf.ones(2, 3), mf.ones(3, 3)
    assert_error(function() mf.cat({a, b}, 2) end, "bad argument #1 to 'cat'",
                 "tensors must have the same shape except in the cat dim: tensor 1 is [2x3], tensor 2 is [3x3]")
    assert_error(function() mf.cat({a, mf.ones(2)}) end, "tensor 1 is [2x3], tensor 2 is [2]")
    assert_error(function() mf.cat({a, a}, 3) end, "bad argument #2 to 'cat'", "dim 3 out of range (expected 1..2 or -2..-1)")
    assert_error(function() mf.cat({a, a}, 0) end, "dim 0 out of range")
    assert_error(function() mf.cat({}) end, "bad argument #1 to 'cat'", "expected a non-empty list of tensors")
    assert_error(function() mf.cat({a, 3}) end, "entry 2 is number, expected a tensor")
    assert_error(function() mf.cat(a) end, "table of tensors expected")
    assert_error(function() mf.cat({mf.tensor(1), mf.tensor(2)}) end, "tensor 1 of 2 is 0-D", "use stack")
    assert_error(function() mf.cat({a, a}, 1, 2) end, "bad argument #3 to 'cat'", "unexpected argument")
    local freed = mf.ones(2)
    freed:free()
    assert_error(function() mf.cat({a, freed}) end, "entry 2 is a freed tensor")
    assert_error(function() mf.stack({a, b}) end, "bad argument #1 to 'stack'",
                 "stack needs tensors of one shape: tensor 1 is [2x3], tensor 2 is [3x3]")
    assert_error(function() mf.stack({a, a}, 4) end, "bad argument #2 to 'stack'", "dim 4 out of range (expected 1..3")
    assert_error(function() mf.stack({}) end, "expected a non-empty list of tensors")
end

---------------------------------------------------------------- split, chunk

TestSplit = {}

local function sizes_along(pieces, dim)
    local s = {}
    for i, p in ipairs(pieces) do s[i] = p:size(dim) end
    return s
end

function TestSplit:test_split_sizes_and_views()
    local t = mf.arange(10)
    lu.assertEquals(sizes_along(t:split(3), 1), {3, 3, 3, 1})
    lu.assertEquals(sizes_along(t:split(10), 1), {10})
    lu.assertEquals(sizes_along(t:split(20), 1), {10})
    lu.assertEquals(sizes_along(t:split({2, 0, 8}), 1), {2, 0, 8})
    local pieces = t:split(4)
    lu.assertEquals(pieces[3]:totable(), {8, 9})
    pieces[2][1] = 100 -- views: writes are seen by t
    lu.assertEquals(t[5], 100)
    -- along another dim, of a transposed tensor
    for_inputs({3, 5}, function(x, name)
        local parts = x:split(2, 2)
        lu.assertEquals(sizes_along(parts, 2), {2, 2, 1}, name)
        for k, p in ipairs(parts) do
            check_all(p, {3, p:size(2)}, function(idx)
                return x:get(idx[1], idx[2] + 2 * (k - 1))
            end, name)
        end
        lu.assertEquals(sizes_along(x:split({1, 2}, 1), 1), {1, 2})
        lu.assertEquals(sizes_along(x:split(1, -1), 2), {1, 1, 1, 1, 1})
    end)
    -- a size-0 dim gives one empty piece
    lu.assertEquals(sizes_along(mf.zeros(0, 2):split(3), 1), {0})
    lu.assertEquals(sizes_along(mf.zeros(0, 2):split(0), 1), {0})
    lu.assertEquals(#mf.zeros(3, 0):split(1), 3)
end

function TestSplit:test_chunk_rule()
    -- PyTorch's rule: pieces of ceil(size / n), so there may be fewer than n
    local function chunks(size, n) return sizes_along(mf.zeros(size):chunk(n), 1) end
    lu.assertEquals(chunks(10, 4), {3, 3, 3, 1})
    lu.assertEquals(chunks(6, 4), {2, 2, 2})
    lu.assertEquals(chunks(5, 4), {2, 2, 1})
    lu.assertEquals(chunks(2, 5), {1, 1})
    lu.assertEquals(chunks(8, 1), {8})
    lu.assertEquals(chunks(0, 3), {0, 0, 0})
    local t = mf.arange(12):view(3, 4)
    local c = t:chunk(2, 2)
    lu.assertEquals(c[1]:totable(), {{0, 1}, {4, 5}, {8, 9}})
    lu.assertEquals(c[2]:totable(), {{2, 3}, {6, 7}, {10, 11}})
    lu.assertEquals(mf.chunk(t, 3)[3]:totable(), {{8, 9, 10, 11}})
end

function TestSplit:test_errors()
    local t = mf.arange(6):view(2, 3)
    assert_error(function() t:split({1, 1}, 2) end, "bad argument #1 to 'split'",
                 "split sizes add up to 2, but the dim has size 3")
    assert_error(function() mf.split(t, {4, -1}, 2) end, "bad argument #2 to 'split'", "split size -1 is negative")
    assert_error(function() mf.split(t, 0) end, "bad argument #2 to 'split'", "split size 0 cannot split a dim of size 2")
    assert_error(function() mf.split(t, -2) end, "split size must be >= 0, got -2")
    assert_error(function() mf.split(t, 1, 3) end, "bad argument #3 to 'split'", "dim 3 out of range")
    assert_error(function() mf.split(t, 1.5) end, "integer expected")
    assert_error(function() mf.split(t, {1, "a"}) end, "entry 2 is string, expected an integer")
    assert_error(function() mf.split(t) end, "bad argument #2 to 'split'", "integer expected")
    assert_error(function() mf.split(mf.tensor(1), 1) end, "cannot split a 0-D tensor")
    assert_error(function() mf.chunk(t, 0) end, "bad argument #2 to 'chunk'", "number of chunks must be >= 1, got 0")
    assert_error(function() mf.chunk(t, 2, 5) end, "bad argument #3 to 'chunk'", "dim 5 out of range")
    assert_error(function() mf.chunk(t, 2, 1, 1) end, "unexpected argument")
end

---------------------------------------------------------------- repeat_, tile, flip

TestRepeat = {}

-- reference: out[idx] = t[(idx[lead + k] - 1) % size_k + 1]
local function ref_repeat(t, nreps)
    local shape = t:shape()
    local lead = nreps - #shape
    return function(idx)
        local i = {}
        for k = 1, #shape do i[k] = (idx[lead + k] - 1) % shape[k] + 1 end
        return get(t, i)
    end
end

function TestRepeat:test_against_reference()
    for _, case in ipairs {
        {{2, 3}, {2, 1}}, {{2, 3}, {1, 3}}, {{2, 3}, {2, 2, 2}}, {{1, 2}, {3, 1}},
        {{3}, {2, 2}}, {{2, 3}, {0, 2}}, {{0, 2}, {2, 3}}, {{2, 1, 2}, {1, 3, 1, 1}},
    } do
        local shape, reps = case[1], case[2]
        for_inputs(shape, function(t, name)
            local out = t:repeat_(table.unpack(reps))
            local want = {}
            local lead = #reps - #shape
            for k = 1, #reps do want[k] = reps[k] * (k > lead and shape[k - lead] or 1) end
            lu.assertEquals(out:dtype(), t:dtype())
            check_all(out, want, ref_repeat(t, #reps), name .. " repeat")
            lu.assertEquals(t:repeat_(reps):totable(), out:totable()) -- table form
            lu.assertTrue(out:is_contiguous())
        end)
    end
    -- always a copy, even with all reps 1
    local t = mf.ones(2)
    local r = t:repeat_(1)
    r[1] = 5
    lu.assertEquals(t[1], 1)
    lu.assertEquals(mf.tensor(3):repeat_():dim(), 0)
    lu.assertEquals(mf.tensor(3):repeat_(2, 2):totable(), {{3, 3}, {3, 3}})
end

function TestRepeat:test_tile_pads_reps()
    local t = mf.arange(6):view(2, 3)
    lu.assertEquals(mf.tile(t, {2}):totable(), {{0, 1, 2, 0, 1, 2}, {3, 4, 5, 3, 4, 5}})
    lu.assertEquals(mf.tile(t, 2):totable(), t:repeat_(1, 2):totable())
    lu.assertEquals(t:tile{2, 1}:totable(), t:repeat_(2, 1):totable())
    lu.assertEquals(mf.tile(t, {2, 1, 1}):shape(), {2, 2, 3})
    lu.assertEquals(mf.tile(t, {}):totable(), t:totable())
end

function TestRepeat:test_errors()
    local t = mf.ones(2, 3)
    assert_error(function() t:repeat_(2) end, "bad argument #1 to 'repeat_'",
                 "1 repeat counts given for a 2-D tensor (need at least 2)")
    assert_error(function() t:repeat_(2, -1) end, "repeat count -1 is negative")
    assert_error(function() mf.repeat_(t, {2, "x"}) end, "bad argument #2 to 'repeat_'", "entry 2 is string")
    assert_error(function() mf.repeat_(t, 1, 1, 1, 1, 1, 1, 1, 1, 1) end, "more than 8 repeat counts")
    assert_error(function() mf.repeat_(t, 2, 2.5) end, "integer expected")
    assert_error(function() mf.tile(t) end, "bad argument #2 to 'tile'", "repeat counts expected")
    assert_error(function() mf.tile(t, {-2}) end, "repeat count -2 is negative")
end

TestFlip = {}

function TestFlip:test_against_reference()
    for _, case in ipairs {{{2, 3}, {1}}, {{2, 3}, {2}}, {{2, 3}, {1, 2}}, {{3, 1, 2}, {-1, 1}},
                           {{4}, {1}}, {{0, 2}, {1, 2}}} do
        local shape, dims = case[1], case[2]
        for_inputs(shape, function(t, name)
            local out = t:flip(table.unpack(dims))
            local flipped = {}
            for _, d in ipairs(dims) do flipped[d < 0 and d + #shape + 1 or d] = true end
            check_all(out, shape, function(idx)
                local i = copy(idx)
                for d in pairs(flipped) do i[d] = shape[d] - i[d] + 1 end
                return get(t, i)
            end, name .. " flip")
            lu.assertEquals(t:flip(dims):totable(), out:totable())
            lu.assertEquals(out:dtype(), t:dtype())
        end)
    end
    local t = mf.tensor({1, 2, 3})
    local f = t:flip(1)
    f[1] = 9
    lu.assertEquals(t:totable(), {1, 2, 3}) -- a copy
    lu.assertEquals(t:flip{}:totable(), {1, 2, 3})
end

function TestFlip:test_errors()
    local t = mf.ones(2, 3)
    assert_error(function() t:flip() end, "bad argument #1 to 'flip'", "dims expected")
    assert_error(function() mf.flip(t, 1, 1) end, "bad argument #3 to 'flip'", "dim 1 given twice")
    assert_error(function() mf.flip(t, {2, -1}) end, "bad argument #2 to 'flip'", "dim -1 given twice")
    assert_error(function() mf.flip(t, 3) end, "bad argument #2 to 'flip'", "dim 3 out of range")
    assert_error(function() mf.flip(t, {0}) end, "dim 0 out of range")
end

---------------------------------------------------------------- sort, argsort, topk

TestSort = {}

-- the order of the sort: NaN above everything, -0 == 0
local function before(a, b)
    a, b = num(a), num(b)
    if a ~= a then return false end
    if b ~= b then return true end
    return a < b
end

-- Stable insertion sort of one row: list of {value, position}.
local function ref_row(t, idx, dim, desc)
    local row = {}
    local i = copy(idx)
    for k = 1, t:size(dim) do
        i[dim] = k
        local e = {v = get(t, i), p = k}
        local j = #row + 1
        while j > 1 and (desc and before(row[j - 1].v, e.v) or (not desc and before(e.v, row[j - 1].v))) do
            row[j] = row[j - 1]
            j = j - 1
        end
        row[j] = e
    end
    return row
end

-- Checks values and indices against the reference, row by row.
local function check_sort(t, dim, desc, v, ix, k, name)
    local shape = t:shape()
    local rows = copy(shape)
    rows[dim] = 1
    local want = copy(shape)
    want[dim] = k or shape[dim]
    lu.assertEquals(v:shape(), want, name)
    lu.assertEquals(ix:shape(), want, name)
    lu.assertEquals(ix:dtype(), "int64")
    lu.assertEquals(v:dtype(), t:dtype())
    each_index(rows, function(idx)
        local row = ref_row(t, idx, dim, desc)
        local i = copy(idx)
        for q = 1, want[dim] do
            i[dim] = q
            lu.assertEquals(get(ix, i), row[q].p, name)
            lu.assertTrue(same(get(v, i), row[q].v), name)
        end
    end)
end

function TestSort:test_against_reference()
    for _, shape in ipairs {{7}, {3, 4}, {2, 1, 5}, {1}, {0, 3}, {40}} do
        for dim = 1, #shape do
            for _, desc in ipairs {false, true} do
                for_inputs(shape, function(t, name)
                    local v, ix = t:sort({dim = dim, descending = desc})
                    check_sort(t, dim, desc, v, ix, nil, name .. " dim " .. dim)
                    local ix2 = t:argsort({dim = dim - #shape - 1, descending = desc})
                    lu.assertEquals(ix2:totable(), ix:totable())
                end)
            end
        end
    end
end

function TestSort:test_long_rows()
    -- long enough for the merge sort and the radix sort paths, many ties
    for _, n in ipairs {300, 3000} do
        for _, dt in ipairs {"float32", "float64", "int64"} do
            local t = data({n}, dt, 30)
            for _, desc in ipairs {false, true} do
                local v, ix = t:sort({descending = desc})
                check_sort(t, 1, desc, v, ix, nil, dt .. " " .. n)
            end
        end
    end
end

function TestSort:test_stable_ties()
    local t = mf.tensor({2, 1, 2, 1, 2, 1})
    local v, ix = t:sort()
    lu.assertEquals(v:totable(), {1, 1, 1, 2, 2, 2})
    lu.assertEquals(ix:totable(), {2, 4, 6, 1, 3, 5}) -- ties keep their order
    v, ix = t:sort{descending = true}
    lu.assertEquals(ix:totable(), {1, 3, 5, 2, 4, 6}) -- also descending
    v, ix = t:sort{stable = false} -- accepted; the sort is stable anyway
    lu.assertEquals(ix:totable(), {2, 4, 6, 1, 3, 5})
end

function TestSort:test_nan_and_signed_zero()
    local nan, inf = 0 / 0, math.huge
    for _, dt in ipairs {"float32", "float64"} do
        local t = mf.tensor({1, nan, -inf, 0.0, -0.0, inf, nan, -1}, dt)
        local v, ix = t:sort()
        lu.assertEquals(ix:totable(), {3, 8, 4, 5, 1, 6, 2, 7}) -- NaN last; 0.0 and -0.0 tie
        lu.assertEquals(1 / v[3], inf) -- 0.0 then -0.0: their order in t
        lu.assertEquals(1 / v[4], -inf)
        lu.assertEquals(1 / mf.tensor({-0.0, 0.0}, dt):sort():get(1), -inf) -- -0.0 kept as is
        lu.assertTrue(v[7] ~= v[7] and v[8] ~= v[8])
        v, ix = t:sort{descending = true}
        lu.assertEquals(ix:totable(), {2, 7, 6, 1, 4, 5, 8, 3}) -- NaN first
    end
end

function TestSort:test_int64_exact_and_bool()
    local big = 1 << 62
    local t = mf.tensor({big + 1, big, math.mininteger, math.maxinteger, -big}, "int64")
    local v = t:sort()
    lu.assertEquals(v:totable(), {math.mininteger, -big, big, big + 1, math.maxinteger})
    local b = mf.tensor({true, false, true, false})
    local bv, bi = b:sort()
    lu.assertEquals(bv:totable(), {false, false, true, true})
    lu.assertEquals(bi:totable(), {2, 4, 1, 3})
end

function TestSort:test_forms_and_scalars()
    local t = mf.tensor({{3, 1}, {2, 4}})
    lu.assertEquals(t:sort(1):totable(), {{2, 1}, {3, 4}}) -- a dim instead of options
    lu.assertEquals(mf.sort(t):totable(), {{1, 3}, {2, 4}})
    lu.assertEquals(select(2, t:sort()):totable(), {{2, 1}, {1, 2}})
    local v, ix = mf.tensor(5):sort()
    lu.assertEquals(v:dim(), 0)
    lu.assertEquals(ix:item(), 1)
    lu.assertEquals(mf.argsort(t, {dim = 1}):totable(), {{2, 1}, {1, 2}})
end

function TestSort:test_topk()
    for _, shape in ipairs {{6}, {3, 5}, {2, 1, 4}} do
        for dim = 1, #shape do
            for _, largest in ipairs {true, false} do
                for k = 0, shape[dim] do
                    for_inputs(shape, function(t, name)
                        local v, ix = t:topk(k, {dim = dim, largest = largest})
                        check_sort(t, dim, largest, v, ix, k, name .. " topk " .. k)
                    end, {"float32", "int64"})
                end
            end
        end
    end
    local t = mf.tensor({1, 0 / 0, 5, 3})
    local v, ix = t:topk(2)
    lu.assertTrue(v[1] ~= v[1]) -- NaN counts as the largest, as in PyTorch
    lu.assertEquals(ix:totable(), {2, 3})
    v, ix = t:topk(2, {largest = false, sorted = false})
    lu.assertEquals(v:totable(), {1, 3})
    lu.assertEquals(mf.topk(mf.tensor({{1, 9}, {7, 3}}), 1, 1):totable(), {{7, 9}})
    lu.assertTrue(t:topk(2):is_contiguous())
end

function TestSort:test_threads_do_not_change_results()
    -- many rows: sorted in parallel; the result must not depend on the threads
    local t = data({3000, 40}, "float32", 5)
    local was = mf.get_num_threads()
    mf.set_num_threads(1)
    local v1, i1 = t:sort({dim = 2})
    local j1 = t:sort({dim = 1, descending = true})
    mf.set_num_threads(mf.num_cores())
    local v2, i2 = t:sort({dim = 2})
    local j2 = t:sort({dim = 1, descending = true})
    mf.set_num_threads(was)
    lu.assertEquals(i1:totable(), i2:totable())
    lu.assertEquals(v1:totable(), v2:totable())
    lu.assertEquals(j1:totable(), j2:totable())
    check_sort(t:narrow(1, 2990, 10), 2, false, v2:narrow(1, 2990, 10), i2:narrow(1, 2990, 10), nil, "last rows")
end

function TestSort:test_errors()
    local t = mf.ones(2, 3)
    assert_error(function() t:sort({dim = 3}) end, "bad argument #1 to 'sort'",
                 "option 'dim': dim 3 out of range (expected 1..2 or -2..-1)")
    assert_error(function() mf.sort(t, {dim = 3}) end, "bad argument #2 to 'sort'")
    assert_error(function() mf.sort(t, {descendng = true}) end, "unknown option 'descendng'")
    assert_error(function() mf.sort(t, {descending = 1}) end, "option 'descending' must be a boolean, got number")
    assert_error(function() mf.sort(t, {dim = 1.5}) end, "option 'dim' must be an integer")
    assert_error(function() mf.sort(t, 0) end, "bad argument #2 to 'sort'", "dim 0 out of range")
    assert_error(function() mf.sort(t, "x") end, "dim or option table expected, got string")
    assert_error(function() mf.sort(t, 1, 2) end, "unexpected argument")
    assert_error(function() mf.argsort(t, {stable = "yes"}) end, "bad argument #2 to 'argsort'",
                 "option 'stable' must be a boolean")
    assert_error(function() mf.topk(t, 4) end, "bad argument #2 to 'topk'",
                 "k = 4 out of range for dim 2 of size 3 (expected 0..3)")
    assert_error(function() mf.topk(t, -1, 1) end, "k = -1 out of range for dim 1 of size 2")
    assert_error(function() mf.topk(t, 1, {largest = true, k = 2}) end, "unknown option 'k'")
    assert_error(function() mf.topk(t) end, "integer expected")
end

---------------------------------------------------------------- unique

TestUnique = {}

local function ref_unique(t)
    local vals = values(t)
    local order = {}
    for i = 1, #vals do order[i] = i end
    table.sort(order, function(a, b)
        if before(vals[a], vals[b]) then return true end
        if before(vals[b], vals[a]) then return false end
        return a < b
    end)
    local u, counts, inverse = {}, {}, {}
    for _, i in ipairs(order) do
        local v = vals[i]
        if #u == 0 or num(v) ~= num(u[#u]) then -- NaN ~= NaN: each is its own
            u[#u + 1] = v
            counts[#u] = 0
        end
        counts[#u] = counts[#u] + 1
        inverse[i] = #u
    end
    return u, inverse, counts
end

function TestUnique:test_against_reference()
    for _, shape in ipairs {{9}, {3, 4}, {2, 1, 3}, {1}, {0, 2}, {}} do
        for_inputs(shape, function(t, name)
            local v, inv, cnt = mf.unique(t, {return_inverse = true, return_counts = true})
            local u, inverse, counts = ref_unique(t)
            lu.assertEquals(v:dtype(), t:dtype())
            lu.assertEquals(v:shape(), {#u}, name)
            for i = 1, #u do lu.assertTrue(same(v[i], u[i]), name) end
            lu.assertEquals(cnt:totable(), #counts > 0 and counts or {}, name)
            lu.assertEquals(inv:shape(), t:shape(), name)
            local got = values(inv)
            for i = 1, #inverse do lu.assertEquals(got[i], inverse[i], name) end
        end)
    end
end

function TestUnique:test_results_and_options()
    local t = mf.tensor({{3, 1, 3}, {2, 1, 3}}, "int64")
    local v = mf.unique(t)
    lu.assertEquals(v:totable(), {1, 2, 3})
    lu.assertEquals(select("#", mf.unique(t)), 1)
    local v2, counts = t:unique({return_counts = true})
    lu.assertEquals(v2:totable(), {1, 2, 3})
    lu.assertEquals(counts:totable(), {2, 1, 3})
    local _, inv = t:unique({return_inverse = true, sorted = false})
    lu.assertEquals(inv:totable(), {{3, 1, 3}, {2, 1, 3}}) -- values[inv] == t
    local nan = 0 / 0
    local f = mf.unique(mf.tensor({nan, 1, nan, -0.0, 0.0}))
    lu.assertEquals(f:numel(), 4) -- each NaN is distinct; -0.0 == 0.0
    lu.assertEquals(f[1], 0)
    lu.assertEquals(f[2], 1)
    lu.assertTrue(f[3] ~= f[3] and f[4] ~= f[4])
end

function TestUnique:test_unique_consecutive()
    local t = mf.tensor({1, 1, 2, 2, 3, 1, 1, 2}, "int64")
    local v, inv, cnt = t:unique_consecutive({return_inverse = true, return_counts = true})
    lu.assertEquals(v:totable(), {1, 2, 3, 1, 2})
    lu.assertEquals(inv:totable(), {1, 1, 2, 2, 3, 4, 4, 5})
    lu.assertEquals(cnt:totable(), {2, 2, 1, 2, 1})
    local m = mf.tensor({{true, true}, {false, true}}):t() -- row-major walk of the transpose
    lu.assertEquals(mf.unique_consecutive(m):totable(), {true, false, true})
end

function TestUnique:test_errors()
    local t = mf.ones(3)
    assert_error(function() mf.unique(t, {dim = 1}) end, "bad argument #2 to 'unique'",
                 "option 'dim' is not supported (unique works on the flattened tensor)")
    assert_error(function() mf.unique(t, {return_index = true}) end, "unknown option 'return_index'")
    assert_error(function() mf.unique(t, {return_counts = 1}) end, "option 'return_counts' must be a boolean")
    assert_error(function() mf.unique(t, 1) end, "table expected, got number")
    assert_error(function() mf.unique_consecutive(t, {sorted = true}) end, "unknown option 'sorted'")
    assert_error(function() mf.unique(3) end, "tensor expected, got number")
end

---------------------------------------------------------------- gather, scatter_add

TestGather = {}

-- int64 positions in 1..hi of the given shape
local function positions(shape, hi)
    local t = mf.zeros(shape, "int64")
    local k = 0
    each_index(shape, function(idx)
        k = k + 1
        local args = copy(idx)
        args[#args + 1] = (k * 7 + 3) % hi + 1
        t:set(table.unpack(args))
    end)
    return t
end

function TestGather:test_against_reference()
    for _, case in ipairs {
        {{3, 4}, 1, {2, 4}}, {{3, 4}, 2, {3, 6}}, {{3, 4}, 2, {2, 1}}, {{2, 3, 2}, 2, {2, 5, 1}},
        {{4}, 1, {7}}, {{3, 4}, 1, {0, 4}}, {{3, 1}, 2, {3, 1}},
    } do
        local shape, dim, ishape = case[1], case[2], case[3]
        local idx = positions(ishape, shape[dim])
        for_inputs(shape, function(t, name)
            for _, il in ipairs(layouts(idx)) do
                local out = t:gather(dim, il[2])
                lu.assertEquals(out:dtype(), t:dtype())
                check_all(out, ishape, function(i)
                    local j = copy(i)
                    j[dim] = get(il[2], i)
                    return get(t, j)
                end, name .. " / index " .. il[1])
            end
        end)
    end
    -- negative positions count from the end
    local t = mf.tensor({{1, 2, 3}, {4, 5, 6}})
    lu.assertEquals(t:gather(2, mf.tensor({{-1, 1}, {-3, -2}}, "int64")):totable(), {{3, 1}, {4, 5}})
    lu.assertEquals(t:gather(-1, mf.tensor({{3}, {1}}, "int64")):totable(), {{3}, {4}})
end

-- reference: a Lua copy of t's values, then += src in row-major order of index
local function ref_scatter(t, dim, index, src)
    local acc = {}
    each_index(t:shape(), function(i) acc[table.concat(i, ",")] = num(get(t, i)) end)
    each_index(index:shape(), function(i)
        local j = copy(i)
        j[dim] = get(index, i)
        local k = table.concat(j, ",")
        acc[k] = acc[k] + num(get(src, i))
    end)
    return function(i) return acc[table.concat(i, ",")] end
end

function TestGather:test_scatter_add_against_reference()
    for _, case in ipairs {
        {{3, 4}, 1, {2, 4}}, {{3, 4}, 2, {3, 6}}, {{2, 3, 2}, 3, {2, 2, 4}}, {{4}, 1, {9}},
        {{3, 4}, 1, {0, 2}},
    } do
        local shape, dim, ishape = case[1], case[2], case[3]
        local idx = positions(ishape, shape[dim])
        local sshape = copy(ishape)
        sshape[#sshape] = sshape[#sshape] + 1 -- src may be larger than the index
        for _, dt in ipairs {"float32", "float64", "int64"} do
            for _, l in ipairs(layouts(data(shape, dt))) do
                local t = l[2]
                for _, sl in ipairs(layouts(data(sshape, dt))) do
                    local src = sl[2]
                    local out = t:scatter_add(dim, idx, src)
                    lu.assertEquals(out:dtype(), dt)
                    check_all(out, shape, ref_scatter(t, dim, idx, src), dt .. " " .. l[1] .. " / src " .. sl[1])
                end
            end
        end
    end
end

function TestGather:test_scatter_add_dtypes_and_in_place()
    local t = mf.zeros(2, 3, "int64")
    local idx = mf.tensor({{1, 1, 2}}, "int64")
    local out = t:scatter_add(1, idx, mf.tensor({{0.5, 1.5, 2.5}}))
    lu.assertEquals(out:dtype(), "float32") -- promoted
    lu.assertEquals(out:totable(), {{0.5, 1.5, 0}, {0, 0, 2.5}})
    lu.assertEquals(t:totable(), {{0, 0, 0}, {0, 0, 0}}) -- out of place
    local r = t:scatter_add_(1, idx, mf.tensor({{1, 2, 3}}, "int64"))
    lu.assertTrue(rawequal(r, t))
    lu.assertEquals(t:totable(), {{1, 2, 0}, {0, 0, 3}})
    t:scatter_add_(2, mf.tensor({{3, 3}}, "int64"), mf.tensor({{true, true}}))
    lu.assertEquals(t:totable(), {{1, 2, 2}, {0, 0, 3}}) -- bool src adds 1 each
    -- repeated positions accumulate, in place on a view
    local base = mf.zeros(4)
    base:narrow(1, 2, 2):scatter_add_(1, mf.tensor({1, 1, 2, 1}, "int64"), mf.ones(4))
    lu.assertEquals(base:totable(), {0, 3, 1, 0})
    -- src aliasing the tensor reads the values from before the call
    local a = mf.tensor({1, 2, 3})
    a:scatter_add_(1, mf.tensor({3, 2, 1}, "int64"), a)
    lu.assertEquals(a:totable(), {4, 4, 4})
    local b = mf.tensor({true, false})
    lu.assertEquals(b:scatter_add(1, mf.tensor({2, 2}, "int64"), mf.tensor({true, false})):totable(), {true, true})
end

function TestGather:test_errors()
    local t = mf.ones(3, 4)
    local idx = mf.tensor({{1, 5}}, "int64")
    assert_error(function() mf.gather(t, 2, idx) end, "bad argument #3 to 'gather'",
                 "dim 2: index 5 out of range for size 4 (expected 1..4)")
    assert_error(function() mf.gather(t, 1, mf.tensor({{0}}, "int64")) end,
                 "dim 1: index 0 out of range for size 3")
    assert_error(function() mf.gather(t, 1, mf.tensor({{1}})) end, "index must be an int64 tensor, got float32")
    assert_error(function() mf.gather(t, 1, {1, 2}) end, "tensor expected, got table")
    assert_error(function() mf.gather(t, 3, idx) end, "bad argument #2 to 'gather'", "dim 3 out of range")
    assert_error(function() mf.gather(t, 1, mf.tensor({1}, "int64")) end, "index has 1 dims, the tensor 2")
    assert_error(function() mf.gather(t, 1, mf.ones(1, 5, "int64")) end,
                 "index of shape [1x5] does not fit the tensor of shape [3x4] outside the gather dim")
    assert_error(function() mf.gather(mf.tensor(1), 1, mf.tensor(1, "int64")) end, "dim 1 given for a 0-D tensor")
    assert_error(function() mf.gather(t, 1, idx, 1) end, "unexpected argument")
    local src = mf.ones(1, 2)
    assert_error(function() mf.scatter_add(t, 2, idx, src) end, "bad argument #3 to 'scatter_add'",
                 "dim 2: index 5 out of range for size 4")
    assert_error(function() mf.scatter_add(t, 1, mf.ones(1, 3, "int64"), src) end, "bad argument #4 to 'scatter_add'",
                 "src of shape [1x2] is smaller than the index ([1x3])")
    assert_error(function() mf.scatter_add(t, 1, mf.ones(1, 2, "int64"), mf.ones(2)) end,
                 "src has 1 dims, the tensor 2")
    assert_error(function() mf.scatter_add(t, 1, mf.ones(1, 2, "int64")) end, "bad argument #4", "tensor expected")
    assert_error(function() mf.scatter_add_(mf.zeros(2, "int64"), 1, mf.ones(1, "int64"), mf.ones(1)) end,
                 "bad argument #4 to 'scatter_add_'", "cannot add float32 src into a int64 tensor in place")
    assert_error(function() mf.scatter_add_(mf.zeros(2, "bool"), 1, mf.ones(1, "int64"), mf.ones(1, "int64")) end,
                 "cannot add int64 src into a bool tensor in place")
end

---------------------------------------------------------------- masks

TestMasks = {}

local function bshape(a, b)
    local n = math.max(#a, #b)
    local s = {}
    for i = 1, n do
        local x, y = a[#a - n + i] or 1, b[#b - n + i] or 1
        s[i] = x == 1 and y or x
    end
    return s
end

local function at_broadcast(t, idx)
    local shape, i = t:shape(), {}
    local lead = #idx - #shape
    for d = 1, #shape do i[d] = shape[d] == 1 and 1 or idx[lead + d] end
    return get(t, i)
end

function TestMasks:test_masked_select_against_reference()
    for _, case in ipairs {
        {{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{3, 4}, {3, 1}}, {{4}, {3, 4}}, {{1, 4}, {3, 1}},
        {{0, 4}, {4}}, {{2, 3}, {}},
    } do
        local tshape, mshape = case[1], case[2]
        local mask = data(mshape, "bool")
        for_inputs(tshape, function(t, name)
            for _, ml in ipairs(#mshape > 0 and layouts(mask) or {{"scalar", mask}}) do
                local m = ml[2]
                local out = t:masked_select(m)
                local want = {}
                each_index(bshape(tshape, mshape), function(idx)
                    if at_broadcast(m, idx) then want[#want + 1] = at_broadcast(t, idx) end
                end)
                lu.assertEquals(out:shape(), {#want}, name)
                lu.assertEquals(out:dtype(), t:dtype())
                for i = 1, #want do lu.assertTrue(same(out[i], want[i]), name .. " / mask " .. ml[1]) end
            end
        end)
    end
end

function TestMasks:test_nonzero_against_reference()
    for _, shape in ipairs {{5}, {3, 4}, {2, 1, 3}, {0, 3}, {}} do
        for_inputs(shape, function(t, name)
            local want = {}
            each_index(shape, function(idx)
                local v = num(get(t, idx))
                if v ~= 0 then want[#want + 1] = copy(idx) end
            end)
            local out = t:nonzero()
            lu.assertEquals(out:shape(), {#want, #shape}, name)
            lu.assertEquals(out:dtype(), "int64")
            for i = 1, #want do
                for d = 1, #shape do lu.assertEquals(out:get(i, d), want[i][d], name) end
            end
            local cols = t:nonzero({as_tuple = true})
            lu.assertEquals(#cols, math.max(#shape, 1), name)
            for d = 1, #shape do
                lu.assertEquals(cols[d]:shape(), {#want})
                for i = 1, #want do lu.assertEquals(cols[d][i], want[i][d]) end
            end
        end)
    end
    lu.assertEquals(mf.tensor({0, 0 / 0, -1}):nonzero():totable(), {{2}, {3}}) -- NaN is nonzero
    lu.assertEquals(mf.tensor(3):nonzero():shape(), {1, 0})
    lu.assertEquals(mf.tensor(3):nonzero({as_tuple = true})[1]:totable(), {1})
    lu.assertEquals(mf.tensor(0):nonzero({as_tuple = true})[1]:totable(), {})
end

function TestMasks:test_index_by_mask()
    for_inputs({3, 4}, function(t, name)
        for dim = 1, 2 do
            local n = t:size(dim)
            local mask = data({n}, "bool")
            local pos = {}
            for i = 1, n do if mask[i] then pos[#pos + 1] = i end end
            for _, ml in ipairs(layouts(mask)) do
                local out = t:index(dim, ml[2])
                local m = ml[2]
                local p = {}
                for i = 1, n do if m[i] then p[#p + 1] = i end end
                local want = t:shape()
                want[dim] = #p
                check_all(out, want, function(idx)
                    local j = copy(idx)
                    j[dim] = p[idx[dim]]
                    return get(t, j)
                end, name .. " mask " .. ml[1])
                if #p > 0 then lu.assertEquals(t:index_select(dim, m):totable(), t:index(dim, p):totable()) end
            end
        end
    end)
    local t = mf.arange(6):view(2, 3)
    lu.assertEquals(t:index(2, mf.tensor({true, false, true})):totable(), {{0, 2}, {3, 5}})
    lu.assertEquals(t:index(1, mf.tensor({false, false})):shape(), {0, 3})
    lu.assertEquals(mf.index_select(t, 2, {3, 1}):totable(), {{2, 0}, {5, 3}})
end

function TestMasks:test_errors()
    local t = mf.ones(2, 3)
    assert_error(function() t:masked_select(mf.ones(3)) end, "bad argument #1 to 'masked_select'",
                 "mask must be a bool tensor, got float32")
    assert_error(function() mf.masked_select(t, mf.zeros(2, "bool")) end, "bad argument #2 to 'masked_select'",
                 "mask of shape [2] cannot be broadcast with the tensor's [2x3]")
    assert_error(function() mf.masked_select(t, {true}) end, "tensor expected, got table")
    assert_error(function() mf.nonzero(t, {as_tupel = true}) end, "unknown option 'as_tupel'")
    assert_error(function() mf.index(t, 2, mf.tensor({true, false})) end, "bad argument #3 to 'index'",
                 "mask must be 1-D of the size of the dim (3), got [2]")
    assert_error(function() mf.index_select(t, 1, mf.zeros(2, 2, "bool")) end, "bad argument #3 to 'index_select'",
                 "mask must be 1-D of the size of the dim (2), got [2x2]")
    assert_error(function() mf.index(t, 1, mf.ones(2)) end, "indices must be an int64 tensor, got float32")
end

---------------------------------------------------------------- one_hot, bincount, histc

TestCounting = {}

function TestCounting:test_one_hot()
    for _, shape in ipairs {{5}, {2, 3}, {0}, {}} do
        local labels = mf.zeros(shape, "int64")
        local k = 0
        each_index(shape, function(idx)
            k = k + 1
            local args = copy(idx)
            args[#args + 1] = k % 4 + 1
            labels:set(table.unpack(args))
        end)
        for _, l in ipairs(#shape > 0 and layouts(labels) or {{"scalar", labels}}) do
            local lab = l[2]
            local classes = 6
            local out = mf.one_hot(lab, classes)
            local want = copy(shape)
            want[#want + 1] = classes
            lu.assertEquals(out:dtype(), "int64")
            check_all(out, want, function(idx)
                local i = copy(idx)
                local c = table.remove(i)
                return get(lab, i) == c and 1 or 0
            end, l[1])
        end
    end
    local lab = mf.tensor({2, 1, 3}, "int64")
    lu.assertEquals(lab:one_hot():totable(), {{0, 1, 0}, {1, 0, 0}, {0, 0, 1}}) -- classes = max label
    lu.assertEquals(mf.one_hot(mf.zeros(0, "int64"), 2):shape(), {0, 2})
    assert_error(function() mf.one_hot(lab, 2) end, "bad argument #1 to 'one_hot'",
                 "label 3 out of range for 2 classes (expected 1..2)")
    assert_error(function() mf.one_hot(mf.tensor({1, 0}, "int64")) end, "label 0 out of range for 1 classes")
    assert_error(function() mf.one_hot(mf.tensor({-1, 2}, "int64"), 3) end, "label -1 out of range for 3 classes")
    assert_error(function() mf.one_hot(mf.tensor({1, 2})) end, "labels must be an int64 tensor, got float32")
    assert_error(function() mf.one_hot(mf.zeros(0, "int64")) end, "cannot infer the number of classes from empty labels")
    assert_error(function() mf.one_hot(lab, -1) end, "bad argument #2 to 'one_hot'", "num_classes must be >= 0")
    assert_error(function() mf.one_hot(lab, 3, 1) end, "unexpected argument")
end

function TestCounting:test_bincount()
    local x = mf.tensor({0, 4, 1, 1, 4, 4}, "int64")
    -- entry v+1 counts the value v
    lu.assertEquals(mf.bincount(x):totable(), {1, 2, 0, 0, 3})
    lu.assertEquals(x:bincount({minlength = 7}):totable(), {1, 2, 0, 0, 3, 0, 0})
    lu.assertEquals(x:bincount({minlength = 2}):numel(), 5)
    lu.assertEquals(mf.bincount(mf.zeros(0, "int64")):shape(), {0})
    lu.assertEquals(mf.bincount(mf.zeros(0, "int64"), {minlength = 3}):totable(), {0, 0, 0})
    -- against a reference, strided inputs and weights of every dtype
    for _, xl in ipairs(layouts(mf.tensor({3, 0, 2, 2, 5, 3, 3}, "int64"))) do
        for _, wdt in ipairs {"float32", "float64", "int64", "bool"} do
            local w = data({7}, wdt)
            local out = mf.bincount(xl[2], {weights = w})
            lu.assertEquals(out:dtype(), wdt == "float32" and "float32" or "float64")
            local want = {}
            local xs = values(xl[2])
            local top = 0
            for _, v in ipairs(xs) do top = math.max(top, v) end
            for i = 1, top + 1 do want[i] = 0 end
            for i, v in ipairs(xs) do want[v + 1] = want[v + 1] + num(w[i]) end
            lu.assertEquals(out:totable(), want, xl[1] .. " " .. wdt)
        end
    end
    assert_error(function() mf.bincount(mf.tensor({1, -2}, "int64")) end, "bad argument #1 to 'bincount'",
                 "bincount counts values >= 0, got -2")
    assert_error(function() mf.bincount(mf.tensor({1, 2})) end, "bincount counts a 1-D int64 tensor, got float32 [2]")
    assert_error(function() mf.bincount(mf.ones(2, 2, "int64")) end, "got int64 [2x2]")
    assert_error(function() mf.bincount(x, {weights = mf.ones(2)}) end, "bad argument #2 to 'bincount'",
                 "weights must have the shape of the input [6], got [2]")
    assert_error(function() mf.bincount(x, {weights = {1, 2}}) end, "option 'weights' must be a tensor, got table")
    assert_error(function() mf.bincount(x, {minlength = -1}) end, "bad argument #2", "minlength must be >= 0, got -1")
    assert_error(function() mf.bincount(x, {min_length = 1}) end, "unknown option 'min_length'")
end

function TestCounting:test_histc()
    local function ref(t, bins, lo, hi)
        local xs = values(t)
        if lo == 0 and hi == 0 then
            local any = false
            for _, v in ipairs(xs) do
                v = num(v)
                if v == v then
                    if not any or v < lo then lo = v end
                    if not any or v > hi then hi = v end
                    any = true
                end
            end
        end
        if lo == hi then lo, hi = lo - 1, hi + 1 end
        local h = {}
        for i = 1, bins do h[i] = 0 end
        for _, v in ipairs(xs) do
            v = num(v)
            if v >= lo and v <= hi then
                local b = math.floor((v - lo) * bins / (hi - lo)) + 1
                h[math.min(b, bins)] = h[math.min(b, bins)] + 1
            end
        end
        return h
    end
    for _, shape in ipairs {{11}, {3, 4}, {0}, {1}} do
        for_inputs(shape, function(t, name)
            for _, o in ipairs {{5, 0, 0}, {4, -1, 1}, {3, 0.5, 0.5}, {1, -10, 10}} do
                local out = mf.histc(t, {bins = o[1], min = o[2], max = o[3]})
                lu.assertEquals(out:dtype(), (t:dtype() == "float64") and "float64" or "float32")
                lu.assertEquals(out:totable(), ref(t, o[1], o[2], o[3]), name .. " bins " .. o[1])
            end
        end)
    end
    lu.assertEquals(mf.histc(mf.tensor({1, 2, 1})):numel(), 100) -- default bins
    lu.assertEquals(mf.tensor({1, 2, 2, 3, 0 / 0}):histc({bins = 2}):totable(), {1, 3}) -- NaN ignored
    lu.assertEquals(mf.tensor({-5, 0, 5, 10}):histc({bins = 2, min = 0, max = 5}):totable(), {1, 1})
    local t = mf.ones(3)
    assert_error(function() mf.histc(t, {bins = 0}) end, "bad argument #2 to 'histc'", "bins must be >= 1, got 0")
    assert_error(function() mf.histc(t, {min = 2, max = 1}) end, "max 1 is smaller than min 2")
    assert_error(function() mf.histc(t, {max = math.huge}) end, "range [0, inf] is not finite")
    assert_error(function() mf.histc(mf.tensor({1, math.huge})) end, "bad argument #1 to 'histc'",
                 "range [1, inf] of the data is not finite")
    assert_error(function() mf.histc(t, {bin = 3}) end, "unknown option 'bin'")
    assert_error(function() mf.histc(t, {min = "a"}) end, "option 'min' must be a number, got string")
    assert_error(function() mf.histc(t, {bins = 2.5}) end, "option 'bins' must be an integer")
end

---------------------------------------------------------------- misc

TestMisc = {}

function TestMisc:test_methods_and_op_table()
    local t = mf.ones(2)
    for _, name in ipairs {"split", "chunk", "repeat_", "tile", "flip", "sort", "argsort", "topk", "unique",
                           "unique_consecutive", "gather", "scatter_add", "scatter_add_", "masked_select",
                           "nonzero", "one_hot", "bincount", "histc", "index_select"} do
        lu.assertIsFunction(t[name], name)
        lu.assertIs(t[name], mf[name], name)
    end
    lu.assertIsFunction(mf.cat)
    lu.assertIsFunction(mf.stack)
    lu.assertNil(t.cat) -- cat and stack take a list: module functions only
    local ops = mf.ops()
    for name, diff in pairs {cat = true, flip = true, sort = true, gather = true, scatter_add = true,
                             masked_select = true, unique_consecutive = false, nonzero = false,
                             bincount = false, histc = false} do
        lu.assertNotNil(ops[name], name)
        lu.assertEquals(ops[name].differentiable, diff, name)
    end
    lu.assertEquals(ops.cat.inputs, -1) -- variadic
end

function TestMisc:test_no_leak_on_errors()
    collectgarbage()
    local before = mf.mem_in_use()
    local t = mf.ones(50, 50)
    for _ = 1, 20 do
        pcall(mf.gather, t, 2, mf.full({50, 50}, 51, "int64"))
        pcall(mf.cat, {t, mf.ones(3, 3)})
        pcall(mf.split, t, {1, 2})
        pcall(mf.one_hot, mf.tensor({0}, "int64"))
    end
    t = nil
    collectgarbage()
    collectgarbage()
    lu.assertEquals(mf.mem_in_use(), before)
end

function TestMisc:test_allocation_failures()
    -- every call fails cleanly (an error, no leak) whichever allocation fails
    local t = mf.arange(12):view(3, 4)
    local idx = mf.tensor({{1, 2}}, "int64")
    local calls = {
        function() return mf.cat({t, t}, 2) end,
        function() return t:split(2, 2) end,
        function() return t:sort({dim = 1}) end,
        function() return mf.unique(t, {return_inverse = true, return_counts = true}) end,
        function() return t:gather(1, idx) end,
        function() return t:nonzero({as_tuple = true}) end,
        function() return mf.one_hot(idx) end,
    }
    for i, call in ipairs(calls) do
        local done = false
        for n = 1, 40 do
            collectgarbage()
            local before = mf.mem_in_use()
            mf._fail_alloc_after(n)
            local ok, err = pcall(call)
            mf._fail_alloc_after(0)
            err = ok or tostring(err) -- drop the results
            collectgarbage()
            collectgarbage()
            lu.assertEquals(mf.mem_in_use(), before, "call " .. i .. " allocation " .. n)
            if ok then
                done = true
                break
            end
            lu.assertStrContains(err, "memory")
        end
        lu.assertTrue(done, "call " .. i)
    end
end

os.exit(lu.LuaUnit.run(), true)
