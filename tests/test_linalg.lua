-- Matrix products (mf.matmul, mm, bmm, mv, dot, outer, addmm) and mf.linalg
-- (solve, inv, det, cholesky, qr, svd, eigh, lstsq), each checked against an
-- independent computation in plain Lua over t:get(...).
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local assert_error = require("support").assert_error
local mf = require "moonforge"

local DTYPES = { "float32", "float64", "int64" }
local FLOATS = { "float32", "float64" }
local TOL = { float32 = 1e-4, float64 = 1e-10, int64 = 0 }

---------------------------------------------------------------- helpers


-- Calls fn(idx) for every 1-based index tuple of shape (once for a 0-D shape).
local function walk(shape, fn)
    local idx = {}
    local function rec(d)
        if d > #shape then return fn(idx) end
        for i = 1, shape[d] do
            idx[d] = i
            rec(d + 1)
        end
    end
    rec(1)
end

-- A tensor of the given shape and dtype filled with small integers from
-- seed (so every dtype holds them exactly); f(i) overrides the value.
local function make(shape, dtype, seed, f)
    local n = 1
    for _, s in ipairs(shape) do n = n * s end
    local t = mf.zeros(shape, dtype)
    local k = 0
    walk(shape, function(idx)
        k = k + 1
        local v = f and f(k) or ((k * 7 + seed * 3) % 11 - 5)
        local args = { table.unpack(idx, 1, #shape) }
        args[#shape + 1] = v
        t:set(table.unpack(args, 1, #shape + 1))
    end)
    return t
end

-- Asserts t has `shape` and t[idx] == value(idx) within tol (relative to
-- max(1, |value|)).
local function check(t, shape, value, tol, what)
    lu.assertEquals(t:shape(), shape, what)
    walk(shape, function(idx)
        local want, got = value(idx), t:get(table.unpack(idx, 1, #shape))
        local scale = math.max(1, math.abs(want))
        if tol == 0 then
            lu.assertEquals(got, want, (what or "") .. " at " .. table.concat(idx, ","))
        elseif not (math.abs(got - want) <= tol * scale) then
            lu.fail(("%s at [%s]: got %.17g, expected %.17g"):format(what or "value",
                table.concat(idx, ","), got, want))
        end
    end)
end

-- torch.matmul computed by plain loops over get(): the result's shape and a
-- function giving its entry at a 1-based index.
local function ref_matmul(a, b)
    local sa, sb = a:shape(), b:shape()
    local a_vec, b_vec = #sa == 1, #sb == 1
    local A = a_vec and { 1, sa[1] } or sa
    local B = b_vec and { sb[1], 1 } or sb
    local m, k, n = A[#A - 1], A[#A], B[#B]
    local ba = { table.unpack(A, 1, #A - 2) }
    local bb = { table.unpack(B, 1, #B - 2) }
    local nb = math.max(#ba, #bb)
    local shape = {}
    for d = 1, nb do
        local x, y = ba[d - (nb - #ba)] or 1, bb[d - (nb - #bb)] or 1
        shape[d] = x == 1 and y or x
    end
    if not a_vec then shape[#shape + 1] = m end
    if not b_vec then shape[#shape + 1] = n end
    local function batch_index(own, idx)
        local t = {}
        for d = 1, #own do
            t[d] = own[d] == 1 and 1 or idx[d + (nb - #own)]
        end
        return t
    end
    local function value(idx)
        local i = a_vec and 1 or idx[nb + 1]
        local j = b_vec and 1 or idx[#idx]
        local ia, ib = batch_index(ba, idx), batch_index(bb, idx)
        local s = 0
        for p = 1, k do
            local x, y
            if a_vec then x = a:get(p) else
                ia[#ba + 1], ia[#ba + 2] = i, p
                x = a:get(table.unpack(ia, 1, #ba + 2))
            end
            if b_vec then y = b:get(p) else
                ib[#bb + 1], ib[#bb + 2] = p, j
                y = b:get(table.unpack(ib, 1, #bb + 2))
            end
            s = s + x * y
        end
        return s
    end
    return shape, value
end

local function check_matmul(a, b, dtype, what)
    local r = mf.matmul(a, b)
    lu.assertEquals(r:dtype(), dtype, what)
    local shape, value = ref_matmul(a, b)
    check(r, shape, value, TOL[dtype], what)
    return r
end

-- 2-D helpers for the decompositions: entries of x @ y, identity checks.
local function mm2(x, y)
    local m, k, n = x:size(1), x:size(2), y:size(2)
    local r = {}
    for i = 1, m do
        r[i] = {}
        for j = 1, n do
            local s = 0
            for p = 1, k do s = s + x:get(i, p) * y:get(p, j) end
            r[i][j] = s
        end
    end
    return r
end

local function assert_table_close(got, want, tol, what)
    for i = 1, #want do
        for j = 1, #want[i] do
            if not (math.abs(got[i][j] - want[i][j]) <= tol * math.max(1, math.abs(want[i][j]))) then
                lu.fail(("%s at [%d,%d]: got %.17g, expected %.17g"):format(what or "entry", i, j,
                    got[i][j], want[i][j]))
            end
        end
    end
end

local function eye_table(n)
    local t = {}
    for i = 1, n do
        t[i] = {}
        for j = 1, n do t[i][j] = i == j and 1 or 0 end
    end
    return t
end

-- A well-conditioned n x n matrix: small integers plus a dominant diagonal.
local function well_conditioned(n, dtype, seed)
    local a = make({ n, n }, dtype, seed)
    for i = 1, n do a:set(i, i, a:get(i, i) + 4 * n) end
    return a
end

-- A symmetric positive-definite n x n matrix: B B^T + n I.
local function spd(n, dtype, seed)
    local b = make({ n, n }, dtype, seed)
    local a = mf.zeros({ n, n }, dtype)
    local p = mm2(b, b:t())
    for i = 1, n do
        for j = 1, n do a:set(i, j, p[i][j] + (i == j and n or 0)) end
    end
    return a
end

local function totable2(t)
    local r = {}
    for i = 1, t:size(1) do
        r[i] = {}
        for j = 1, t:size(2) do r[i][j] = t:get(i, j) end
    end
    return r
end

---------------------------------------------------------------- matmul

TestMatmul = {}

function TestMatmul:test_contiguous_all_dtypes()
    for _, dt in ipairs(DTYPES) do
        check_matmul(make({ 3, 4 }, dt, 1), make({ 4, 5 }, dt, 2), dt, dt)
        check_matmul(make({ 7, 13 }, dt, 3), make({ 13, 2 }, dt, 4), dt, dt)
    end
end

function TestMatmul:test_transposed_inputs()
    for _, dt in ipairs(DTYPES) do
        local x, y = make({ 4, 3 }, dt, 1), make({ 5, 4 }, dt, 2)
        lu.assertFalse(x:t():is_contiguous())
        check_matmul(x:t(), y:t(), dt, dt .. " t t")
        check_matmul(x:t(), make({ 4, 2 }, dt, 3), dt, dt .. " t n")
        check_matmul(make({ 2, 5 }, dt, 3), y, dt, dt .. " n n")
        check_matmul(y, x, dt, dt .. " x")
    end
end

function TestMatmul:test_sliced_inputs()
    for _, dt in ipairs(DTYPES) do
        local big = make({ 6, 7 }, dt, 1)
        local a = big:narrow(1, 2, 3):narrow(2, 2, 4) -- 3 x 4, row stride 7
        local b = make({ 5, 8 }, dt, 2):narrow(1, 1, 4):narrow(2, 3, 5) -- 4 x 5
        check_matmul(a, b, dt, dt .. " narrow")
        check_matmul(a, b:t():t(), dt, dt .. " narrow t t")
        -- a column slice of a transposed matrix
        check_matmul(big:t():narrow(1, 2, 3), big:narrow(2, 1, 2), dt, dt .. " t narrow")
    end
end

function TestMatmul:test_broadcast_batches()
    for _, dt in ipairs(DTYPES) do
        -- (2, 1, 3, 4) @ (5, 4, 2) → (2, 5, 3, 2)
        check_matmul(make({ 2, 1, 3, 4 }, dt, 1), make({ 5, 4, 2 }, dt, 2), dt, dt)
        -- shared right operand (one gemm over the stacked rows)
        check_matmul(make({ 3, 4, 5 }, dt, 3), make({ 5, 2 }, dt, 4), dt, dt .. " shared")
        -- shared right operand, rows not evenly spaced across the batch
        check_matmul(make({ 3, 6, 5 }, dt, 3):narrow(2, 2, 4), make({ 5, 2 }, dt, 4), dt, dt .. " gaps")
        check_matmul(make({ 4, 3, 5 }, dt, 3):transpose(1, 2), make({ 5, 2 }, dt, 4), dt, dt .. " perm")
        -- expanded (stride 0) operands
        local w = make({ 1, 4, 3 }, dt, 5):expand(6, 4, 3)
        check_matmul(make({ 6, 2, 4 }, dt, 6), w, dt, dt .. " expanded")
        local row = make({ 4 }, dt, 7):expand(3, 4)
        check_matmul(row, make({ 4, 2 }, dt, 8), dt, dt .. " expanded rows")
        -- transposed batch matrices
        check_matmul(make({ 2, 4, 3 }, dt, 1):transpose(2, 3), make({ 2, 2, 4 }, dt, 2):transpose(2, 3),
            dt, dt .. " batch t")
    end
end

function TestMatmul:test_vectors()
    for _, dt in ipairs(DTYPES) do
        local v, w = make({ 4 }, dt, 1), make({ 4 }, dt, 2)
        local d = check_matmul(v, w, dt, "dot")
        lu.assertEquals(d:dim(), 0)
        check_matmul(make({ 3, 4 }, dt, 3), v, dt, "matrix @ vector")
        check_matmul(v, make({ 4, 5 }, dt, 4), dt, "vector @ matrix")
        check_matmul(v, make({ 2, 4, 3 }, dt, 5), dt, "vector @ batch")
        check_matmul(make({ 2, 3, 4 }, dt, 6), v, dt, "batch @ vector")
        check_matmul(make({ 8 }, dt, 1):narrow(1, 2, 4), make({ 4, 3 }, dt, 2), dt, "sliced vector")
    end
end

function TestMatmul:test_empty_and_size_one()
    for _, dt in ipairs(DTYPES) do
        local z = mf.matmul(mf.ones({ 3, 0 }, dt), mf.ones({ 0, 2 }, dt))
        check(z, { 3, 2 }, function() return 0 end, 0, "k = 0 gives zeros")
        lu.assertEquals(mf.matmul(mf.ones({ 0, 3 }, dt), mf.ones({ 3, 2 }, dt)):shape(), { 0, 2 })
        lu.assertEquals(mf.matmul(mf.ones({ 2, 3 }, dt), mf.ones({ 3, 0 }, dt)):shape(), { 2, 0 })
        lu.assertEquals(mf.matmul(mf.ones({ 0, 2, 3 }, dt), mf.ones({ 3, 4 }, dt)):shape(), { 0, 2, 4 })
        lu.assertEquals(mf.matmul(mf.ones({ 0 }, dt), mf.ones({ 0 }, dt)):item(), 0)
        check_matmul(make({ 1, 1 }, dt, 1), make({ 1, 1 }, dt, 2), dt, "1x1")
        check_matmul(make({ 3, 1 }, dt, 1), make({ 1, 4 }, dt, 2), dt, "k = 1")
        check_matmul(make({ 1, 4 }, dt, 1), make({ 4, 1 }, dt, 2), dt, "1 x 1 result")
        check_matmul(make({ 1, 5, 1 }, dt, 1), make({ 3, 1, 2 }, dt, 2), dt, "size-1 batch")
    end
end

function TestMatmul:test_mixed_dtypes_promote()
    local r = check_matmul(make({ 2, 3 }, "int64", 1), make({ 3, 2 }, "float32", 2), "float32")
    lu.assertEquals(r:dtype(), "float32")
    check_matmul(make({ 2, 3 }, "float32", 1), make({ 3, 2 }, "float64", 2), "float64")
    check_matmul(make({ 2, 3 }, "float64", 1), make({ 3 }, "int64", 2), "float64")
    -- int64 stays exact beyond 2^53
    local big = mf.tensor({ { (1 << 60) + 1, 1 } }, "int64")
    lu.assertEquals(mf.matmul(big, mf.tensor({ { 1 }, { 2 } }, "int64")):item(), (1 << 60) + 3)
end

function TestMatmul:test_out()
    local a, b = make({ 3, 4 }, "float32", 1), make({ 4, 2 }, "float32", 2)
    local shape, value = ref_matmul(a, b)
    local c = mf.full({ 3, 2 }, 99)
    local r = mf.matmul(a, b, { out = c })
    lu.assertTrue(rawequal(r, c))
    check(c, shape, value, 1e-5, "out")
    -- a transposed view as out
    local base = mf.zeros(2, 3)
    a:matmul(b, { out = base:t() })
    check(base:t(), shape, value, 1e-5, "out transposed")
    -- into one of its own inputs
    local sq = make({ 3, 3 }, "float64", 3)
    local s2, v2 = ref_matmul(sq, sq)
    local want = {}
    walk(s2, function(idx) want[#want + 1] = v2(idx) end)
    mf.matmul(sq, sq, { out = sq })
    local k = 0
    walk(s2, function(idx)
        k = k + 1
        lu.assertEquals(sq:get(idx[1], idx[2]), want[k])
    end)
    assert_error(function() mf.matmul(a, b, { out = mf.zeros(2, 3) }) end,
        "bad argument #3 to 'matmul'", "result is float32 [3x2], out is float32 [2x3]")
    assert_error(function() mf.matmul(a, b, { out = mf.zeros({ 3, 2 }, "float64") }) end,
        "bad argument #3 to 'matmul'", "out is float64 [3x2]")
    assert_error(function() mf.matmul(a, b, { out = 1 }) end, "option 'out' must be a tensor")
    local dead = mf.zeros(3, 2)
    dead:free()
    assert_error(function() mf.matmul(a, b, { out = dead }) end, "freed")
    assert_error(function() mf.matmul(a, b, { outt = c }) end,
        "bad argument #3 to 'matmul'", "unknown option 'outt'")
end

function TestMatmul:test_errors()
    local err = assert_error(function() mf.matmul(mf.ones(5, 2), mf.ones(4, 3)) end)
    lu.assertStrContains(err,
        "bad argument #2 to 'matmul' (shape [5x2] cannot multiply [4x3]: 2 ~= 4)")
    assert_error(function() return mf.ones(5, 2):matmul(mf.ones(4, 3)) end,
        "to 'matmul'", "shape [5x2] cannot multiply [4x3]: 2 ~= 4")
    assert_error(function() mf.matmul(mf.tensor(2), mf.ones(2)) end,
        "bad argument #1 to 'matmul'", "at least 1 dim")
    assert_error(function() mf.matmul(mf.ones(2, 3, 4), mf.ones(3, 4, 5)) end,
        "bad argument #2 to 'matmul'", "batch dims of [2x3x4] and [3x4x5] cannot be broadcast: 2 ~= 3")
    assert_error(function() mf.matmul(mf.ones(2, "bool"), mf.ones(2, "bool")) end,
        "bad argument #1 to 'matmul'", "bool")
    assert_error(function() mf.matmul(mf.ones(2), 3) end, "bad argument #2 to 'matmul'",
        "tensor expected")
    assert_error(function() mf.matmul(mf.ones(2), mf.ones(2), {}, 4) end,
        "bad argument #4 to 'matmul'", "unexpected argument")
end

---------------------------------------------------------------- aliases

TestAliases = {}

function TestAliases:test_mm_bmm_mv_dot()
    for _, dt in ipairs(DTYPES) do
        local a, b = make({ 3, 4 }, dt, 1), make({ 4, 2 }, dt, 2)
        local s, v = ref_matmul(a, b)
        check(mf.mm(a, b), s, v, TOL[dt], "mm")
        check(a:mm(b), s, v, TOL[dt], "mm method")
        local x, y = make({ 2, 3, 4 }, dt, 3), make({ 2, 4, 5 }, dt, 4)
        s, v = ref_matmul(x, y)
        check(mf.bmm(x, y), s, v, TOL[dt], "bmm")
        local w = make({ 4 }, dt, 5)
        s, v = ref_matmul(a, w)
        check(a:mv(w), s, v, TOL[dt], "mv")
        local d = mf.dot(w, w)
        lu.assertEquals(d:dim(), 0)
        local sum = 0
        for i = 1, 4 do sum = sum + w:get(i) ^ 2 end
        lu.assertAlmostEquals(d:item(), sum, TOL[dt] * sum)
    end
    assert_error(function() mf.mm(mf.ones(2, 3, 4), mf.ones(4, 2)) end,
        "bad argument #1 to 'mm'", "expected a 2-D tensor, got shape [2x3x4]")
    assert_error(function() mf.mm(mf.ones(3, 4), mf.ones(4)) end,
        "bad argument #2 to 'mm'", "expected a 2-D tensor, got shape [4]")
    assert_error(function() mf.bmm(mf.ones(2, 3, 4), mf.ones(1, 4, 2)) end,
        "bad argument #2 to 'bmm'", "batch sizes of [2x3x4] and [1x4x2] differ: 2 ~= 1")
    assert_error(function() mf.mv(mf.ones(2, 3), mf.ones(3, 1)) end,
        "bad argument #2 to 'mv'", "expected a 1-D tensor")
    assert_error(function() mf.dot(mf.ones(3), mf.ones(4)) end,
        "bad argument #2 to 'dot'", "shape [3] cannot multiply [4]: 3 ~= 4")
    assert_error(function() mf.mm(mf.ones(3, 4), mf.ones(3, 4)) end,
        "bad argument #2 to 'mm'", "shape [3x4] cannot multiply [3x4]: 4 ~= 3")
end

function TestAliases:test_outer()
    for _, dt in ipairs(DTYPES) do
        local a, b = make({ 3 }, dt, 1), make({ 4 }, dt, 2)
        local r = mf.outer(a, b)
        check(r, { 3, 4 }, function(i) return a:get(i[1]) * b:get(i[2]) end, TOL[dt], "outer")
        local o = mf.zeros({ 3, 4 }, dt)
        lu.assertTrue(rawequal(a:outer(b, { out = o }), o))
        check(o, { 3, 4 }, function(i) return a:get(i[1]) * b:get(i[2]) end, TOL[dt], "outer out")
    end
    local sl = make({ 6 }, "float64", 1):narrow(1, 2, 3)
    check(mf.outer(sl, sl), { 3, 3 }, function(i) return sl:get(i[1]) * sl:get(i[2]) end, 0)
    assert_error(function() mf.outer(mf.ones(2, 2), mf.ones(2)) end,
        "bad argument #1 to 'outer'", "expected a 1-D tensor")
end

function TestAliases:test_addmm()
    for _, dt in ipairs(DTYPES) do
        local c, a, b = make({ 2, 4 }, dt, 1), make({ 2, 3 }, dt, 2), make({ 3, 4 }, dt, 3)
        local s, v = ref_matmul(a, b)
        check(mf.addmm(c, a, b), s, function(i) return c:get(i[1], i[2]) + v(i) end, TOL[dt])
        check(c:addmm(a, b, { alpha = 2, beta = -3 }), s,
            function(i) return -3 * c:get(i[1], i[2]) + 2 * v(i) end, TOL[dt], "alpha beta")
        -- c broadcast: a row, a column, a scalar
        local row = make({ 4 }, dt, 4)
        check(mf.addmm(row, a, b), s, function(i) return row:get(i[2]) + v(i) end, TOL[dt], "row")
        local col = make({ 2, 1 }, dt, 5)
        check(mf.addmm(col, a, b), s, function(i) return col:get(i[1], 1) + v(i) end, TOL[dt], "col")
        check(mf.addmm(mf.tensor(7, dt), a, b), s, function(i) return 7 + v(i) end, TOL[dt], "scalar")
        -- transposed operands and out
        local o = mf.zeros({ 4, 2 }, dt):t()
        local at, bt = make({ 3, 2 }, dt, 2):t(), make({ 4, 3 }, dt, 3):t()
        lu.assertTrue(rawequal(mf.addmm(c, at, bt, { out = o, alpha = 1, beta = 0 }), o))
        local s2, v2 = ref_matmul(at, bt)
        check(o, s2, v2, TOL[dt], "out")
    end
    -- k = 0: beta * c
    lu.assertEquals(mf.addmm(mf.ones(2, 2), mf.ones(2, 0), mf.ones(0, 2), { beta = 3 }):totable(),
        { { 3, 3 }, { 3, 3 } })
    -- beta = 0 ignores NaN in c
    local nan = mf.full({ 2, 2 }, 0 / 0)
    check(mf.addmm(nan, mf.eye(2), mf.eye(2), { beta = 0 }), { 2, 2 },
        function(i) return i[1] == i[2] and 1 or 0 end, 0, "beta 0")
    -- in place: c = c + a b
    local c = mf.ones(2, 2)
    mf.addmm(c, mf.eye(2), mf.eye(2), { out = c })
    lu.assertEquals(c:totable(), { { 2, 1 }, { 1, 2 } })
    -- int64 with fractional alpha
    local i = mf.ones({ 2, 2 }, "int64")
    assert_error(function() mf.addmm(i, i, i, { alpha = 0.5 }) end,
        "bad argument #4 to 'addmm'", "alpha and beta must be integers for an int64 result")
    lu.assertEquals(mf.addmm(i, i, i, { alpha = 3, beta = -1 }):totable(), { { 5, 5 }, { 5, 5 } })
    assert_error(function() mf.addmm(mf.ones(3), mf.ones(2, 2), mf.ones(2, 2)) end,
        "bad argument #1 to 'addmm'", "shape [3] cannot be broadcast to the product's [2x2]")
    assert_error(function() mf.addmm(mf.ones(2, 2), mf.ones(2, 3), mf.ones(2, 2)) end,
        "bad argument #3 to 'addmm'", "shape [2x3] cannot multiply [2x2]: 3 ~= 2")
    assert_error(function() mf.addmm(mf.ones(2, 2), mf.ones(2), mf.ones(2, 2)) end,
        "bad argument #2 to 'addmm'", "expected a 2-D tensor")
    assert_error(function() mf.addmm(c, c, c, { gamma = 1 }) end,
        "bad argument #4 to 'addmm'", "unknown option 'gamma'")
    assert_error(function() mf.addmm(c, c, c, { alpha = "x" }) end,
        "bad argument #4 to 'addmm'", "option 'alpha' must be a number")
    assert_error(function() mf.addmm(c, c, c, { out = mf.zeros(3, 3) }) end,
        "bad argument #4 to 'addmm'", "out is float32 [3x3]")
end

---------------------------------------------------------------- linalg

TestSolve = {}

-- max |A x - b| over a batch, by plain loops; x and b as (batch..., n[, k]).
local function check_solution(A, X, B, vec, tol)
    local sa, sx = A:shape(), X:shape()
    local n = sa[#sa]
    local nb = #sx - (vec and 1 or 2)
    local k = vec and 1 or sx[#sx]
    local bshape = { table.unpack(sx, 1, nb) }
    local function pick(t, idx, tail)
        local s = t:shape()
        local own = #s - #tail
        local full = {}
        for d = 1, own do full[d] = s[d] == 1 and 1 or idx[d + (nb - own)] end
        for d = 1, #tail do full[own + d] = tail[d] end
        return t:get(table.unpack(full, 1, #s))
    end
    walk(bshape, function(idx)
        for i = 1, n do
            for j = 1, k do
                local s = 0
                for p = 1, n do
                    s = s + pick(A, idx, { i, p }) * pick(X, idx, vec and { p } or { p, j })
                end
                local want = pick(B, idx, vec and { i } or { i, j })
                if not (math.abs(s - want) <= tol * math.max(1, math.abs(want))) then
                    lu.fail(("A x ~= b at batch [%s], row %d: %.17g vs %.17g")
                        :format(table.concat(idx, ","), i, s, want))
                end
            end
        end
    end)
end

function TestSolve:test_matrix_and_vector_rhs()
    for _, dt in ipairs(FLOATS) do
        local A = well_conditioned(4, dt, 1)
        local B = make({ 4, 3 }, dt, 2)
        local X = mf.linalg.solve(A, B)
        lu.assertEquals(X:shape(), { 4, 3 })
        lu.assertEquals(X:dtype(), dt)
        check_solution(A, X, B, false, TOL[dt])
        local b = make({ 4 }, dt, 3)
        local x = mf.linalg.solve(A, b)
        lu.assertEquals(x:shape(), { 4 })
        check_solution(A, x, b, true, TOL[dt])
        -- transposed and sliced inputs
        local At = A:t()
        check_solution(At, mf.linalg.solve(At, B), B, false, TOL[dt])
        local Bs = make({ 6, 5 }, dt, 4):narrow(1, 2, 4):narrow(2, 2, 2)
        check_solution(A, mf.linalg.solve(A, Bs), Bs, false, TOL[dt])
    end
end

function TestSolve:test_batches_broadcast()
    local A = mf.zeros(2, 1, 3, 3, "float64")
    for i = 1, 2 do A[i][1]:copy_(well_conditioned(3, "float64", i)) end
    local B = make({ 4, 3, 2 }, "float64", 5) -- batch (4) broadcast with (2, 1)
    local X = mf.linalg.solve(A, B)
    lu.assertEquals(X:shape(), { 2, 4, 3, 2 })
    check_solution(A, X, B, false, 1e-10)
    -- B shaped like A without its last dim: a batch of vectors
    local b = make({ 2, 1, 3 }, "float64", 6)
    local x = mf.linalg.solve(A, b)
    lu.assertEquals(x:shape(), { 2, 1, 3 })
    check_solution(A, x, b, true, 1e-10)
    -- 1-D B with a batch of matrices
    local v = make({ 3 }, "float64", 7)
    lu.assertEquals(mf.linalg.solve(A, v):shape(), { 2, 1, 3 })
end

function TestSolve:test_promotion_and_input_untouched()
    local A = well_conditioned(3, "float32", 1)
    local before = totable2(A)
    local X = mf.linalg.solve(A, make({ 3, 1 }, "int64", 2))
    lu.assertEquals(X:dtype(), "float32")
    lu.assertEquals(mf.linalg.solve(A, make({ 3 }, "float64", 2)):dtype(), "float64")
    lu.assertEquals(totable2(A), before)
end

function TestSolve:test_errors()
    local sing = mf.tensor({ { 1, 2 }, { 2, 4 } })
    assert_error(function() mf.linalg.solve(sing, mf.ones(2)) end,
        "bad argument #1 to 'solve'", "matrix is singular: U[2,2] = 0")
    assert_error(function() mf.linalg.solve(mf.ones(3, 2), mf.ones(3)) end,
        "bad argument #1 to 'solve'", "expected a square matrix, got [3x2]")
    assert_error(function() mf.linalg.solve(mf.eye(3), mf.ones(4, 2)) end,
        "bad argument #2 to 'solve'", "B [4x2] does not match A [3x3]: 4 rows ~= 3")
    assert_error(function() mf.linalg.solve(mf.eye(3, "int64"), mf.ones(3)) end,
        "bad argument #1 to 'solve'", "expected a float32 or float64 tensor, got int64")
    assert_error(function() mf.linalg.solve(mf.ones(3), mf.ones(3)) end,
        "bad argument #1 to 'solve'", "expected a matrix (or a batch of them), got shape [3]")
    assert_error(function() mf.linalg.solve(mf.eye(2), mf.ones(2), 3) end,
        "bad argument #3 to 'solve'", "unexpected argument")
    local batch = mf.eye(2):expand(3, 2, 2):clone()
    batch[2]:zero_()
    assert_error(function() mf.linalg.solve(batch, mf.ones(2)) end,
        "matrix is singular: U[1,1] = 0 (batch element [2])")
end

TestInvDet = {}

function TestInvDet:test_inverse_times_matrix_is_identity()
    for _, dt in ipairs(FLOATS) do
        for _, n in ipairs({ 1, 2, 5 }) do
            local A = well_conditioned(n, dt, n)
            local Ai = mf.linalg.inv(A)
            assert_table_close(mm2(A, Ai), eye_table(n), TOL[dt] * 10, dt .. " A inv(A)")
            assert_table_close(mm2(Ai, A), eye_table(n), TOL[dt] * 10, dt .. " inv(A) A")
            -- a transposed input: inv(A^T) = inv(A)^T
            assert_table_close(totable2(mf.linalg.inv(A:t())), totable2(Ai:t()), TOL[dt] * 10)
        end
    end
    -- batched
    local B = mf.zeros(3, 2, 2, "float64")
    for i = 1, 3 do B[i]:copy_(well_conditioned(2, "float64", i)) end
    local Bi = mf.linalg.inv(B)
    lu.assertEquals(Bi:shape(), { 3, 2, 2 })
    for i = 1, 3 do assert_table_close(mm2(B[i], Bi[i]), eye_table(2), 1e-12) end
    lu.assertEquals(mf.linalg.inv(mf.zeros(0, 0)):shape(), { 0, 0 })
    assert_error(function() mf.linalg.inv(mf.tensor({ { 1, 2 }, { 2, 4 } })) end,
        "bad argument #1 to 'inv'", "matrix is singular: U[2,2] = 0")
    assert_error(function() mf.linalg.inv(mf.ones(2, 3)) end,
        "bad argument #1 to 'inv'", "expected a square matrix, got [2x3]")
    assert_error(function() mf.linalg.inv(mf.ones(4, 2, 3)) end,
        "expected square matrices, got [4x2x3]")
    assert_error(function() mf.linalg.inv(mf.eye(2, "int64")) end,
        "bad argument #1 to 'inv'", "got int64")
end

function TestInvDet:test_det_closed_forms()
    for _, dt in ipairs(FLOATS) do
        local tol = TOL[dt] * 10
        -- 2x2: ad - bc
        local a = mf.tensor({ { 3, 8 }, { 4, 6 } }, dt)
        lu.assertAlmostEquals(mf.linalg.det(a):item(), 3 * 6 - 8 * 4, tol * 14)
        -- 3x3 by the rule of Sarrus
        local m = { { 2, -3, 1 }, { 2, 0, -1 }, { 1, 4, 5 } }
        local sarrus = m[1][1] * m[2][2] * m[3][3] + m[1][2] * m[2][3] * m[3][1]
            + m[1][3] * m[2][1] * m[3][2] - m[1][3] * m[2][2] * m[3][1]
            - m[1][1] * m[2][3] * m[3][2] - m[1][2] * m[2][1] * m[3][3]
        local d = mf.linalg.det(mf.tensor(m, dt))
        lu.assertEquals(d:dim(), 0)
        lu.assertAlmostEquals(d:item(), sarrus, tol * math.abs(sarrus))
        -- triangular: the product of the diagonal; a row swap flips the sign
        local t = mf.tensor({ { 2, 7, 1, 3 }, { 0, -3, 5, 2 }, { 0, 0, 0.5, 9 }, { 0, 0, 0, 4 } }, dt)
        lu.assertAlmostEquals(mf.linalg.det(t):item(), 2 * -3 * 0.5 * 4, tol * 12)
        local swapped = mf.tensor({ { 0, -3, 5, 2 }, { 2, 7, 1, 3 }, { 0, 0, 0.5, 9 }, { 0, 0, 0, 4 } }, dt)
        lu.assertAlmostEquals(mf.linalg.det(swapped):item(), 12, tol * 12)
        lu.assertAlmostEquals(mf.linalg.det(t:t()):item(), -12, tol * 12)
        -- singular: 0; 1x1; 0x0: 1
        lu.assertEquals(mf.linalg.det(mf.tensor({ { 1, 2 }, { 2, 4 } }, dt)):item(), 0)
        lu.assertEquals(mf.linalg.det(mf.tensor({ { -2.5 } }, dt)):item(), -2.5)
        lu.assertEquals(mf.linalg.det(mf.zeros({ 0, 0 }, dt)):item(), 1)
    end
    -- batched: one determinant per matrix
    local b = mf.tensor({ { { 1, 2 }, { 3, 4 } }, { { 2, 0 }, { 0, 5 } }, { { 0, 1 }, { 1, 0 } } }, "float64")
    local d = mf.linalg.det(b)
    lu.assertEquals(d:shape(), { 3 })
    lu.assertEquals(d:totable(), { -2, 10, -1 })
    lu.assertEquals(mf.linalg.det(mf.zeros(2, 0, 3, 3)):shape(), { 2, 0 })
    assert_error(function() mf.linalg.det(mf.ones(3)) end, "bad argument #1 to 'det'")
end

TestCholesky = {}

function TestCholesky:test_reconstructs()
    for _, dt in ipairs(FLOATS) do
        for _, n in ipairs({ 1, 3, 6 }) do
            local A = spd(n, dt, n)
            local before = totable2(A)
            local L = mf.linalg.cholesky(A)
            for i = 1, n do
                for j = i + 1, n do lu.assertEquals(L:get(i, j), 0) end
                lu.assertTrue(L:get(i, i) > 0)
            end
            assert_table_close(mm2(L, L:t()), before, TOL[dt] * 10, dt .. " L L^T")
            local U = mf.linalg.cholesky(A, { upper = true })
            for i = 1, n do
                for j = 1, i - 1 do lu.assertEquals(U:get(i, j), 0) end
            end
            assert_table_close(totable2(U), totable2(L:t()), TOL[dt] * 10, "U = L^T")
            lu.assertEquals(totable2(A), before) -- the input is untouched
        end
    end
    -- only the lower triangle is read
    local A = spd(3, "float64", 1)
    local messy = A:clone()
    messy:set(1, 3, 1e6)
    assert_table_close(totable2(mf.linalg.cholesky(messy)), totable2(mf.linalg.cholesky(A)), 0)
    -- batched
    local B = mf.zeros(2, 3, 3, "float64")
    B[1]:copy_(spd(3, "float64", 1))
    B[2]:copy_(spd(3, "float64", 2))
    local L = mf.linalg.cholesky(B)
    for i = 1, 2 do assert_table_close(mm2(L[i], L[i]:t()), totable2(B[i]), 1e-12) end
end

function TestCholesky:test_errors()
    local not_pd = mf.tensor({ { 4, 2, 0 }, { 2, 1, 0 }, { 0, 0, 1 } })
    assert_error(function() mf.linalg.cholesky(not_pd) end, "bad argument #1 to 'cholesky'",
        "matrix is not positive-definite: the leading minor of order 2 is not positive")
    assert_error(function() mf.linalg.cholesky(mf.tensor({ { -1 } })) end,
        "leading minor of order 1")
    assert_error(function() mf.linalg.cholesky(mf.ones(3, 2)) end,
        "bad argument #1 to 'cholesky'", "expected a square matrix, got [3x2]")
    assert_error(function() mf.linalg.cholesky(mf.eye(2), { upper = 1 }) end,
        "bad argument #2 to 'cholesky'", "option 'upper' must be a boolean, got number")
    assert_error(function() mf.linalg.cholesky(mf.eye(2), { lower = true }) end,
        "bad argument #2 to 'cholesky'", "unknown option 'lower'")
end

TestQR = {}

local function check_qr(A, mode, tol)
    local m, n = A:size(1), A:size(2)
    local k = math.min(m, n)
    local Q, R = mf.linalg.qr(A, mode and { mode = mode } or nil)
    local qc = mode == "complete" and m or k
    lu.assertEquals(Q:shape(), { m, qc })
    lu.assertEquals(R:shape(), { qc, n })
    for i = 1, qc do
        for j = 1, math.min(i - 1, n) do lu.assertEquals(R:get(i, j), 0) end
    end
    assert_table_close(mm2(Q, R), totable2(A), tol, "Q R = A")
    assert_table_close(mm2(Q:t(), Q), eye_table(qc), tol, "Q^T Q = I")
end

function TestQR:test_reconstructs()
    for _, dt in ipairs(FLOATS) do
        local tol = TOL[dt] * 100
        check_qr(make({ 5, 3 }, dt, 1), nil, tol)
        check_qr(make({ 5, 3 }, dt, 1), "complete", tol)
        check_qr(make({ 3, 5 }, dt, 2), "reduced", tol)
        check_qr(make({ 3, 5 }, dt, 2), "complete", tol)
        check_qr(make({ 4, 4 }, dt, 3):t(), nil, tol)
        check_qr(make({ 1, 1 }, dt, 4), nil, tol)
        local Q, R = mf.linalg.qr(make({ 5, 3 }, dt, 1), { mode = "r" })
        lu.assertEquals(Q:shape(), { 0 })
        lu.assertEquals(R:shape(), { 3, 3 })
    end
    -- batched
    local A = make({ 2, 4, 3 }, "float64", 5)
    local Q, R = mf.linalg.qr(A)
    lu.assertEquals(Q:shape(), { 2, 4, 3 })
    for i = 1, 2 do assert_table_close(mm2(Q[i], R[i]), totable2(A[i]), 1e-12) end
    -- empty
    local Qe, Re = mf.linalg.qr(mf.zeros(3, 0), { mode = "complete" })
    lu.assertEquals(Qe:totable(), eye_table(3))
    lu.assertEquals(Re:shape(), { 3, 0 })
    assert_error(function() mf.linalg.qr(mf.eye(2), { mode = "full" }) end,
        "bad argument #2 to 'qr'", "option 'mode' must be 'reduced', 'complete' or 'r', got 'full'")
    assert_error(function() mf.linalg.qr(mf.ones(3)) end, "bad argument #1 to 'qr'", "got shape [3]")
end

TestSVD = {}

local function check_svd(A, full, tol)
    local m, n = A:size(1), A:size(2)
    local k = math.min(m, n)
    local U, S, Vh = mf.linalg.svd(A, full ~= nil and { full_matrices = full } or nil)
    lu.assertEquals(U:shape(), { m, full and m or k })
    lu.assertEquals(S:shape(), { k })
    lu.assertEquals(Vh:shape(), { full and n or k, n })
    for i = 1, k do
        lu.assertTrue(S:get(i) >= 0)
        if i > 1 then lu.assertTrue(S:get(i) <= S:get(i - 1)) end
    end
    local usv = {}
    for i = 1, m do
        usv[i] = {}
        for j = 1, n do
            local s = 0
            for p = 1, k do s = s + U:get(i, p) * S:get(p) * Vh:get(p, j) end
            usv[i][j] = s
        end
    end
    assert_table_close(usv, totable2(A), tol, "U diag(S) Vh = A")
    assert_table_close(mm2(U:t(), U), eye_table(U:size(2)), tol, "U^T U = I")
    assert_table_close(mm2(Vh, Vh:t()), eye_table(Vh:size(1)), tol, "Vh Vh^T = I")
end

function TestSVD:test_reconstructs()
    for _, dt in ipairs(FLOATS) do
        local tol = TOL[dt] * 100
        check_svd(make({ 5, 3 }, dt, 1), nil, tol)
        check_svd(make({ 5, 3 }, dt, 1), true, tol)
        check_svd(make({ 3, 5 }, dt, 2), false, tol)
        check_svd(make({ 3, 5 }, dt, 2), true, tol)
        check_svd(make({ 4, 6 }, dt, 3):t(), nil, tol)
    end
    -- singular values of a diagonal matrix, sorted
    local _, S = mf.linalg.svd(mf.tensor({ { 1, 0, 0 }, { 0, -5, 0 }, { 0, 0, 3 } }, "float64"))
    lu.assertEquals(S:totable(), { 5, 3, 1 })
    -- batched
    local A = make({ 3, 4, 2 }, "float64", 4)
    local U, S2, Vh = mf.linalg.svd(A)
    lu.assertEquals({ U:shape(), S2:shape(), Vh:shape() }, { { 3, 4, 2 }, { 3, 2 }, { 3, 2, 2 } })
    -- non-finite input
    assert_error(function() mf.linalg.svd(mf.tensor({ { 1, 0 / 0 }, { 0, 1 } })) end,
        "bad argument #1 to 'svd'", "matrix contains NaN or infinity")
    assert_error(function() mf.linalg.svd(mf.eye(2), { full_matrices = "yes" }) end,
        "bad argument #2 to 'svd'", "option 'full_matrices' must be a boolean")
end

TestEigh = {}

function TestEigh:test_eigenpairs()
    for _, dt in ipairs(FLOATS) do
        local tol = TOL[dt] * 100
        local A = spd(5, dt, 2)
        local w, V = mf.linalg.eigh(A)
        lu.assertEquals(w:shape(), { 5 })
        lu.assertEquals(V:shape(), { 5, 5 })
        for i = 2, 5 do lu.assertTrue(w:get(i) >= w:get(i - 1)) end
        local av = mm2(A, V)
        for j = 1, 5 do
            for i = 1, 5 do
                local want = w:get(j) * V:get(i, j)
                if not (math.abs(av[i][j] - want) <= tol * math.max(1, math.abs(w:get(j)))) then
                    lu.fail(("%s: A v ~= lambda v at (%d, %d)"):format(dt, i, j))
                end
            end
        end
        assert_table_close(mm2(V:t(), V), eye_table(5), tol, "V orthonormal")
    end
    -- closed form: [[2, 1], [1, 2]] has eigenvalues 1 and 3
    local w = mf.linalg.eigh(mf.tensor({ { 2, 1 }, { 1, 2 } }, "float64"))
    lu.assertAlmostEquals(w:get(1), 1, 1e-14)
    lu.assertAlmostEquals(w:get(2), 3, 1e-14)
    -- uplo: only that triangle is read
    local up = mf.tensor({ { 2, 1 }, { 99, 2 } }, "float64")
    lu.assertAlmostEquals(mf.linalg.eigh(up, { uplo = "U" }):get(2), 3, 1e-14)
    local lo = mf.tensor({ { 2, 99 }, { 1, 2 } }, "float64")
    lu.assertAlmostEquals(mf.linalg.eigh(lo):get(2), 3, 1e-14)
    -- batched
    local B = mf.zeros(2, 3, 3, "float64")
    B[1]:copy_(spd(3, "float64", 1))
    B[2]:copy_(spd(3, "float64", 2))
    local wb, Vb = mf.linalg.eigh(B)
    lu.assertEquals(wb:shape(), { 2, 3 })
    lu.assertEquals(Vb:shape(), { 2, 3, 3 })
    assert_error(function() mf.linalg.eigh(mf.eye(2), { uplo = "X" }) end,
        "bad argument #2 to 'eigh'", "option 'uplo' must be 'L' or 'U', got 'X'")
    assert_error(function() mf.linalg.eigh(mf.ones(2, 3)) end,
        "bad argument #1 to 'eigh'", "expected a square matrix, got [2x3]")
end

TestLstsq = {}

-- Solves the small dense system M x = r (tables) by Gaussian elimination.
local function gauss(M, r)
    local n = #M
    local a = {}
    for i = 1, n do
        a[i] = {}
        for j = 1, n do a[i][j] = M[i][j] end
        a[i][n + 1] = r[i]
    end
    for c = 1, n do
        local p = c
        for i = c + 1, n do if math.abs(a[i][c]) > math.abs(a[p][c]) then p = i end end
        a[c], a[p] = a[p], a[c]
        for i = c + 1, n do
            local f = a[i][c] / a[c][c]
            for j = c, n + 1 do a[i][j] = a[i][j] - f * a[c][j] end
        end
    end
    local x = {}
    for i = n, 1, -1 do
        local s = a[i][n + 1]
        for j = i + 1, n do s = s - a[i][j] * x[j] end
        x[i] = s / a[i][i]
    end
    return x
end

function TestLstsq:test_overdetermined_matches_normal_equations()
    for _, dt in ipairs(FLOATS) do
        local A = make({ 6, 3 }, dt, 1, function(k) return ((k * 5) % 7) - 3 + (k % 3 == 0 and 4 or 0) end)
        local B = make({ 6, 2 }, dt, 2)
        local X, res, rank = mf.linalg.lstsq(A, B)
        lu.assertEquals(X:shape(), { 3, 2 })
        lu.assertEquals(res:shape(), { 2 })
        lu.assertEquals(rank:dtype(), "int64")
        lu.assertEquals(rank:item(), 3)
        local AtA = mm2(A:t(), A)
        local AtB = mm2(A:t(), B)
        for j = 1, 2 do
            local x = gauss(AtA, { AtB[1][j], AtB[2][j], AtB[3][j] })
            local r2 = 0
            for i = 1, 6 do
                local r = -B:get(i, j)
                for p = 1, 3 do r = r + A:get(i, p) * x[p] end
                r2 = r2 + r * r
            end
            for p = 1, 3 do
                lu.assertAlmostEquals(X:get(p, j), x[p], TOL[dt] * 100 * math.max(1, math.abs(x[p])))
            end
            lu.assertAlmostEquals(res:get(j), r2, TOL[dt] * 100 * math.max(1, r2))
        end
        -- a vector right-hand side gives a vector and scalar residuals
        local x, r = mf.linalg.lstsq(A, B:select(2, 1))
        lu.assertEquals(x:shape(), { 3 })
        lu.assertEquals(r:shape(), {})
        lu.assertAlmostEquals(x:get(1), X:get(1, 1), TOL[dt] * 10)
    end
end

function TestLstsq:test_underdetermined_minimum_norm()
    -- x = A^T (A A^T)^-1 b
    local A = mf.tensor({ { 1, 2, 0, 1 }, { 0, 1, 1, 3 } }, "float64")
    local b = mf.tensor({ 3, 5 }, "float64")
    local x, res, rank = mf.linalg.lstsq(A, b)
    lu.assertEquals(x:shape(), { 4 })
    lu.assertEquals(res:shape(), { 0 })
    lu.assertEquals(rank:item(), 2)
    local AAt = mm2(A, A:t())
    local y = gauss(AAt, { 3, 5 })
    for j = 1, 4 do
        lu.assertAlmostEquals(x:get(j), A:get(1, j) * y[1] + A:get(2, j) * y[2], 1e-12)
    end
end

function TestLstsq:test_rank_deficient_and_batched()
    local A = mf.tensor({ { 1, 2 }, { 2, 4 }, { 3, 6 } }, "float64")
    local b = mf.tensor({ { 1 }, { 2 }, { 4 } }, "float64")
    local x, res, rank = mf.linalg.lstsq(A, b)
    lu.assertEquals(rank:item(), 1)
    -- residual from the inputs: ||A x - b||^2
    local r2 = 0
    for i = 1, 3 do
        local r = A:get(i, 1) * x:get(1, 1) + A:get(i, 2) * x:get(2, 1) - b:get(i, 1)
        r2 = r2 + r * r
    end
    lu.assertAlmostEquals(res:get(1), r2, 1e-12)
    -- minimum norm: x is a multiple of (1, 2)
    lu.assertAlmostEquals(x:get(2, 1), 2 * x:get(1, 1), 1e-12)
    -- rcond: treating the second direction as zero lowers the rank
    local C = mf.tensor({ { 1, 0 }, { 0, 1e-8 }, { 0, 0 } }, "float64")
    lu.assertEquals(select(3, mf.linalg.lstsq(C, mf.ones(3, 1, "float64"))):item(), 2)
    lu.assertEquals(select(3, mf.linalg.lstsq(C, mf.ones(3, 1, "float64"), { rcond = 1e-6 })):item(), 1)
    -- batched with broadcasting
    local As = make({ 2, 1, 4, 2 }, "float64", 3)
    local Bs = make({ 3, 4, 1 }, "float64", 4)
    local X, R, K = mf.linalg.lstsq(As, Bs)
    lu.assertEquals(X:shape(), { 2, 3, 2, 1 })
    lu.assertEquals(R:shape(), { 2, 3, 1 })
    lu.assertEquals(K:shape(), { 2, 3 })
    assert_error(function() mf.linalg.lstsq(mf.ones(3, 2), mf.ones(4)) end,
        "bad argument #2 to 'lstsq'", "B [4] does not match A [3x2]: 4 rows ~= 3")
    assert_error(function() mf.linalg.lstsq(mf.ones(3, 2), mf.ones(3), { rcond = -1 }) end,
        "bad argument #3 to 'lstsq'", "rcond")
    assert_error(function() mf.linalg.lstsq(mf.ones(3, 2, "int64"), mf.ones(3)) end,
        "bad argument #1 to 'lstsq'", "got int64")
end

---------------------------------------------------------------- registry

TestRegistry = {}

function TestRegistry:test_ops_and_names()
    local ops = mf.ops()
    for name, diff in pairs({ matmul = true, solve = true, inv = true, det = true, cholesky = true,
                              addmm = false, qr = false, svd = false, eigh = false, lstsq = false }) do
        lu.assertNotNil(ops[name], name)
        lu.assertEquals(ops[name].differentiable, diff, name)
    end
    lu.assertIs(mf.linalg.matmul, mf.matmul)
    lu.assertNil(mf.Tensor.solve) -- linalg functions are not methods
    lu.assertNotNil(mf.Tensor.matmul)
end

os.exit(lu.LuaUnit.run(), true)
