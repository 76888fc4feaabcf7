-- Elementwise math and reductions, each checked against a plain-Lua
-- computation over t:get() on contiguous, transposed, sliced, expanded,
-- empty and size-1 inputs, for every dtype the op supports.
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local assert_error = require("support").assert_error
local mf = require "moonforge"


-- Every index tuple of a shape, in row-major order.
local function each_index(shape, fn)
    local idx, n = {}, #shape
    for _, s in ipairs(shape) do if s == 0 then return end end
    local function walk(d)
        if d > n then return fn(idx) end
        for i = 1, shape[d] do
            idx[d] = i
            walk(d + 1)
        end
    end
    walk(1)
end

local function close(got, want, tol)
    if want ~= want then return got ~= got end
    if want == math.huge or want == -math.huge then return got == want end
    return math.abs(got - want) <= tol * (1 + math.abs(want))
end

-- Asserts t has `shape`, `dtype` and t[idx] == f(idx) (within tol).
local function assert_tensor(t, shape, dtype, f, tol, what)
    lu.assertEquals(t:shape(), shape, what)
    lu.assertEquals(t:dtype(), dtype, what)
    each_index(shape, function(idx)
        local got, want = t:get(table.unpack(idx)), f(idx)
        if type(want) == "boolean" or math.type(want) == "integer" and dtype == "int64" then
            lu.assertEquals(got, want, (what or "") .. " at " .. table.concat(idx, ","))
        else
            lu.assertTrue(close(got, want, tol or 0),
                ("%s at %s: got %s, want %s"):format(what or "", table.concat(idx, ","),
                    tostring(got), tostring(want)))
        end
    end)
end

local TOL = {float32 = 2e-6, float64 = 1e-12, int64 = 0, bool = 0}

-- Tensors of `shape` in several layouts, all with the same values
-- value(i, j): contiguous, transposed view, sliced view, expanded view (when
-- the values do not depend on i).
local function layouts(shape, dtype, value)
    local m, n = shape[1], shape[2]
    local out = {}
    local c = mf.zeros(m, n, dtype)
    each_index(shape, function(ix) c:set(ix[1], ix[2], value(ix[1], ix[2])) end)
    out.contiguous = c
    local tt = mf.zeros(n, m, dtype)
    each_index({n, m}, function(ix) tt:set(ix[1], ix[2], value(ix[2], ix[1])) end)
    out.transposed = tt:t()
    local big = mf.zeros(m + 2, n + 3, dtype)
    each_index({m, n}, function(ix) big:set(ix[1] + 1, ix[2] + 2, value(ix[1], ix[2])) end)
    out.sliced = big:narrow(1, 2, m):narrow(2, 3, n)
    return out
end

---------------------------------------------------------------- unary
local function round_half_even(x)
    local f = math.floor(x)
    local d = x - f
    if d > 0.5 then return f + 1 elseif d < 0.5 then return f end
    return (f % 2 == 0) and f or f + 1
end

local function tanh(x)
    if x > 20 then return 1 elseif x < -20 then return -1 end
    local e = math.exp(2 * x)
    return (e - 1) / (e + 1)
end

local SIGN = function(x) return x > 0 and 1 or x < 0 and -1 or 0 end

-- name → reference, domain ("pos": positive inputs), integer support
local UNARY = {
    neg = {function(x) return -x end, int = true},
    exp = {math.exp},
    log = {math.log, dom = "pos"},
    log1p = {function(x) return math.log(1 + x) end, dom = "pos"},
    expm1 = {function(x) return math.exp(x) - 1 end},
    sqrt = {math.sqrt, dom = "pos"},
    rsqrt = {function(x) return 1 / math.sqrt(x) end, dom = "pos"},
    abs = {math.abs, int = true},
    sign = {SIGN, int = true},
    sin = {math.sin},
    cos = {math.cos},
    tanh = {tanh},
    sigmoid = {function(x) return 1 / (1 + math.exp(-x)) end},
    relu = {function(x) return x > 0 and x or 0 end, int = true},
    erf = {function(x) -- 2/sqrt(pi) * integral of exp(-u^2) from 0 to x (Simpson)
        local n, h = 2000, x / 2000
        local s = 1 + math.exp(-x * x)
        for i = 1, n - 1 do s = s + (i % 2 == 1 and 4 or 2) * math.exp(-(i * h) ^ 2) end
        return 2 / math.sqrt(math.pi) * s * h / 3
    end},
    floor = {math.floor, int = true},
    ceil = {math.ceil, int = true},
    round = {round_half_even, int = true},
}

TestUnary = {}

function TestUnary:test_every_op_every_layout_and_dtype()
    for name, spec in pairs(UNARY) do
        local ref = spec[1]
        for _, dtype in ipairs({"float32", "float64", "int64"}) do
            local int = dtype == "int64"
            if not int or spec.int then
                local value = function(i, j)
                    if int then return (i * 7 + j * 3) % 11 - 5 end
                    local v = ((i * 7 + j * 3) % 11 - 5) * 0.37 + 0.05 * j
                    if spec.dom == "pos" then v = math.abs(v) + 0.1 end
                    return v
                end
                for layout, t in pairs(layouts({3, 4}, dtype, value)) do
                    local r = mf[name](t)
                    local what = ("%s(%s %s)"):format(name, dtype, layout)
                    assert_tensor(r, {3, 4}, dtype, function(ix)
                        local x = t:get(ix[1], ix[2])
                        local want = ref(x)
                        if int then return math.tointeger(want) end
                        return want
                    end, TOL[dtype], what)
                    -- the method form gives the same
                    lu.assertEquals(t[name](t):totable(), r:totable(), what)
                end
            end
        end
    end
end

function TestUnary:test_float_functions_of_integers_give_float32()
    local i = mf.tensor({1, 4, 9}, "int64")
    local r = i:sqrt()
    lu.assertEquals(r:dtype(), "float32")
    lu.assertEquals(r:totable(), {1, 2, 3})
    lu.assertEquals(i:exp():dtype(), "float32")
    lu.assertEquals(i:abs():dtype(), "int64")
end

function TestUnary:test_expanded_empty_and_size_one()
    local row = mf.tensor({-1, 0, 2})
    local e = row:unsqueeze(1):expand(4, 3)
    lu.assertEquals(e:abs():totable(), {{1, 0, 2}, {1, 0, 2}, {1, 0, 2}, {1, 0, 2}})
    lu.assertEquals(mf.zeros(0, 3):exp():shape(), {0, 3})
    lu.assertEquals(mf.tensor({{2}}):neg():totable(), {{-2}})
    lu.assertEquals(mf.tensor(4):sqrt():item(), 2)
end

function TestUnary:test_special_values()
    local nan, inf = 0 / 0, math.huge
    local t = mf.tensor({nan, inf, -inf, -0.5, 2.5, 0}, "float64")
    local r = t:relu()
    lu.assertTrue(r[1] ~= r[1]) -- NaN stays NaN
    lu.assertEquals(r[2], inf)
    lu.assertEquals(r[4], 0)
    lu.assertEquals(t:isnan():totable(), {true, false, false, false, false, false})
    lu.assertEquals(t:isfinite():totable(), {false, false, false, true, true, true})
    lu.assertEquals(mf.tensor({0.5, 1.5, 2.5, -0.5}):round():totable(), {0, 2, 2, -0})
    local n = t:nan_to_num()
    lu.assertEquals(n[1], 0)
    lu.assertEquals(n[2], 1.7976931348623157e308)
    lu.assertEquals(n[3], -1.7976931348623157e308)
    lu.assertEquals(t:nan_to_num({nan = -1, posinf = 9, neginf = -9}):totable(),
                    {-1, 9, -9, -0.5, 2.5, 0})
    lu.assertEquals(mf.tensor({-1, 0, 4}):sign():totable(), {-1, 0, 1})
    lu.assertTrue(mf.log(mf.tensor({-1}))[1] ~= mf.log(mf.tensor({-1}))[1])
    lu.assertEquals(mf.tensor({1000, -1000}):sigmoid():totable(), {1, 0})
end

function TestUnary:test_clamp()
    local t = mf.tensor({-3, -1, 0, 2, 5}, "int64")
    lu.assertEquals(t:clamp(-1, 2):totable(), {-1, -1, 0, 2, 2})
    lu.assertEquals(t:clamp(0):totable(), {0, 0, 0, 2, 5})
    lu.assertEquals(t:clamp(nil, 0):totable(), {-3, -1, 0, 0, 0})
    lu.assertEquals(mf.tensor({0.5, 7}):clamp(1, 2):totable(), {1, 2})
    assert_error(function() t:clamp() end, "at least one of min and max")
    assert_error(function() t:clamp(3, 1) end, "max 1.0 is less than min 3.0")
end

function TestUnary:test_in_place_and_out()
    local t = mf.tensor({1, 4, 9}, "float64")
    lu.assertIs(t:sqrt_(), t)
    lu.assertEquals(t:totable(), {1, 2, 3})
    local out = mf.zeros(3, "float64")
    lu.assertIs(mf.exp(mf.zeros(3, "float64"), {out = out}), out)
    lu.assertEquals(out:totable(), {1, 1, 1})
    assert_error(function() mf.exp(t, {out = mf.zeros(4, "float64")}) end, "out is float64 [4]")
    assert_error(function() mf.exp(t, {bogus = 1}) end, "unknown option 'bogus'")
    -- in place on an int tensor of a float function: refused, not truncated
    assert_error(function() mf.tensor({1, 2}, "int64"):sqrt_() end, "float32", "int64")
end

---------------------------------------------------------------- binary
local function trunc_div(a, b) return a / b end
local BINARY = {
    add = {function(a, b) return a + b end, int = true},
    sub = {function(a, b) return a - b end, int = true},
    mul = {function(a, b) return a * b end, int = true},
    div = {trunc_div, int_to_float = true},
    pow = {function(a, b) return a ^ b end, pos = true},
    remainder = {function(a, b) return a % b end, int = true, nonzero = true},
    floor_divide = {function(a, b) return a // b end, int = true, nonzero = true},
    maximum = {math.max, int = true},
    minimum = {math.min, int = true},
    gt = {function(a, b) return a > b end, int = true, mask = true},
    ge = {function(a, b) return a >= b end, int = true, mask = true},
    lt = {function(a, b) return a < b end, int = true, mask = true},
    le = {function(a, b) return a <= b end, int = true, mask = true},
    eq = {function(a, b) return a == b end, int = true, mask = true},
    ne = {function(a, b) return a ~= b end, int = true, mask = true},
}

TestBinary = {}

function TestBinary:test_every_op_layouts_and_broadcasting()
    for name, spec in pairs(BINARY) do
        for _, dtype in ipairs({"float32", "float64", "int64"}) do
            local int = dtype == "int64"
            if not int or spec.int then
                local function value(i, j)
                    local v = (i * 5 + j * 3) % 7 - 3
                    if spec.pos then v = math.abs(v) % 3 + 1 end
                    if spec.nonzero and v == 0 then v = 2 end
                    if not int then v = v * 0.75 end
                    return v
                end
                local A = layouts({3, 4}, dtype, value)
                local B = layouts({3, 4}, dtype, function(i, j) return value(j, i + 1) end)
                local row = mf.tensor({value(1, 1), value(1, 2), value(1, 3), value(1, 4)}, dtype)
                local col = mf.tensor({{value(2, 1)}, {value(2, 2)}, {value(2, 3)}}, dtype)
                local cases = {
                    {A.contiguous, B.transposed}, {A.sliced, B.contiguous},
                    {A.transposed, B.sliced}, {A.contiguous, row}, {col, row},
                    {row:unsqueeze(1):expand(3, 4), col},
                }
                local out_dtype = spec.mask and "bool" or (spec.int_to_float and int) and "float32"
                    or dtype
                for k, pair in ipairs(cases) do
                    local a, b = pair[1], pair[2]
                    local r = mf[name](a, b)
                    local what = ("%s case %d (%s)"):format(name, k, dtype)
                    local function at(t, i, j)
                        local s = t:shape()
                        if #s == 1 then return t:get(j) end
                        return t:get(s[1] == 1 and 1 or i, s[2] == 1 and 1 or j)
                    end
                    assert_tensor(r, {3, 4}, out_dtype, function(ix)
                        local want = spec[1](at(a, ix[1], ix[2]), at(b, ix[1], ix[2]))
                        if int and out_dtype == "int64" then return math.tointeger(want) end
                        return want
                    end, TOL[out_dtype == "bool" and "bool" or (out_dtype == "int64" and "int64" or dtype)] + (out_dtype == "float32" and 2e-6 or 0), what)
                end
            end
        end
    end
end

function TestBinary:test_operators_and_numbers()
    local t = mf.tensor({1, 2, 3})
    lu.assertEquals((t + 1):totable(), {2, 3, 4})
    lu.assertEquals((1 + t):totable(), {2, 3, 4})
    lu.assertEquals((10 - t):totable(), {9, 8, 7})
    lu.assertEquals((t - 10):totable(), {-9, -8, -7})
    lu.assertEquals((2 * t):totable(), {2, 4, 6})
    lu.assertEquals((t / 2):totable(), {0.5, 1, 1.5})
    lu.assertEquals((6 / t):totable(), {6, 3, 2})
    lu.assertEquals((t ^ 2):totable(), {1, 4, 9})
    lu.assertEquals((2 ^ t):totable(), {2, 4, 8})
    lu.assertEquals((-t):totable(), {-1, -2, -3})
    lu.assertEquals((t % 2):totable(), {1, 0, 1})
    lu.assertEquals((t // 2):totable(), {0, 1, 1})
    lu.assertEquals((t * t):totable(), {1, 4, 9})
    lu.assertEquals(mf.gt(t, 1):totable(), {false, true, true})
    lu.assertEquals(mf.lt(1.5, t):totable(), {false, true, true})
    lu.assertEquals(t:eq(2):totable(), {false, true, false})
end

function TestBinary:test_signs_of_remainder_and_floor_division()
    -- Lua's own rules: a % b has the sign of b; // rounds toward -inf
    local a = mf.tensor({-7, 7, -7, 7}, "int64")
    local b = mf.tensor({2, -2, -2, 2}, "int64")
    lu.assertEquals((a % b):totable(), {-7 % 2, 7 % -2, -7 % -2, 7 % 2})
    lu.assertEquals((a // b):totable(), {-7 // 2, 7 // -2, -7 // -2, 7 // 2})
    local fa, fb = a:double(), b:double()
    lu.assertEquals((fa % fb):totable(), {-7.0 % 2, 7.0 % -2, -7.0 % -2, 7.0 % 2})
    lu.assertEquals((fa // fb):totable(), {-7.0 // 2, 7.0 // -2, -7.0 // -2, 7.0 // 2})
    lu.assertEquals((a // 0):totable(), {0, 0, 0, 0}) -- no trap
end

function TestBinary:test_promotion()
    local i = mf.tensor({1, 2}, "int64")
    local f = mf.tensor({0.5, 0.5})
    local d = mf.tensor({0.25, 0.25}, "float64")
    local m = mf.tensor({true, false})
    lu.assertEquals((i + f):dtype(), "float32")
    lu.assertEquals((f + d):dtype(), "float64")
    lu.assertEquals((i + d):dtype(), "float64")
    lu.assertEquals((i + 1):dtype(), "int64")
    lu.assertEquals((i + 0.5):dtype(), "float32")
    lu.assertEquals((i * 0.5):totable(), {0.5, 1})
    lu.assertEquals((i / i):dtype(), "float32") -- true division
    lu.assertEquals((d + 1):dtype(), "float64")
    lu.assertEquals((m * f):dtype(), "float32") -- masks multiply
    lu.assertEquals((m * f):totable(), {0.5, 0})
    lu.assertEquals((m + m):dtype(), "int64")
    lu.assertEquals(m:sum():item(), 1)
    lu.assertEquals((i ^ 2):totable(), {1, 4})
    lu.assertEquals((i ^ 2):dtype(), "int64")
    assert_error(function() return i ^ -1 end, "negative powers")
end

function TestBinary:test_in_place_alpha_out()
    local t = mf.tensor({1, 2, 3})
    lu.assertIs(t:add_(1), t)
    lu.assertEquals(t:totable(), {2, 3, 4})
    t:mul_(mf.tensor({1, 0, 2}))
    lu.assertEquals(t:totable(), {2, 0, 8})
    t:sub_(1)
    lu.assertEquals(t:totable(), {1, -1, 7})
    t:add_(mf.ones(3), {alpha = 2})
    lu.assertEquals(t:totable(), {3, 1, 9})
    lu.assertEquals(mf.sub(t, mf.ones(3), {alpha = 3}):totable(), {0, -2, 6})
    local out = mf.zeros(3)
    lu.assertIs(mf.add(t, t, {out = out}), out)
    lu.assertEquals(out:totable(), {6, 2, 18})
    -- a float64 result may go into a float32 tensor in place; not a float into an int
    local f = mf.tensor({1, 2})
    f:add_(mf.tensor({0.5, 0.5}, "float64"))
    lu.assertEquals(f:totable(), {1.5, 2.5})
    assert_error(function() mf.tensor({1, 2}, "int64"):add_(0.5) end, "float32", "int64")
    assert_error(function() t:add_(mf.zeros(2, 3)) end, "[3]")
    assert_error(function() mf.mul(t, t, {alpha = 2}) end, "'alpha' is for add and sub only")
    -- in place with an overlapping operand: computed as if from a copy
    local sq = mf.tensor({{1, 2}, {3, 4}})
    sq:add_(sq:t())
    lu.assertEquals(sq:totable(), {{2, 5}, {5, 8}})
end

function TestBinary:test_broadcast_errors_show_both_shapes()
    assert_error(function() return mf.zeros(2, 3) + mf.zeros(4) end,
                 "shapes [2x3] and [4] cannot be broadcast together")
    assert_error(function() return mf.add(mf.zeros(3, 1), mf.zeros(2, 4)) end,
                 "bad argument #2 to 'add'", "[3x1]", "[2x4]")
    assert_error(function() return mf.add(1, 2) end, "expected a tensor")
    assert_error(function() return mf.zeros(2) + "x" end, "tensor or number expected, got string")
end

function TestBinary:test_empty_and_size_one()
    lu.assertEquals((mf.zeros(0, 3) + mf.ones(3)):shape(), {0, 3})
    lu.assertEquals((mf.zeros(1, 1) + mf.ones(2, 1, 3)):shape(), {2, 1, 3})
    lu.assertEquals((mf.tensor(2) * mf.tensor({1, 2})):totable(), {2, 4})
end

function TestBinary:test_where()
    local t = mf.tensor({{-1, 2}, {3, -4}})
    lu.assertEquals(mf.where(t:gt(0), t, 0):totable(), {{0, 2}, {3, 0}})
    lu.assertEquals(mf.where(t:gt(0), 1, -1):totable(), {{-1, 1}, {1, -1}})
    lu.assertEquals(mf.where(mf.tensor({true, false}), t, mf.zeros(2, 1)):totable(),
                    {{-1, 0}, {3, 0}})
    lu.assertEquals(t:gt(0):where(t, t * 10):totable(), {{-10, 2}, {3, -40}})
    assert_error(function() mf.where(t, t, t) end, "condition must be a bool tensor")
    assert_error(function() mf.where(mf.tensor({true, false, true}), t, t) end,
                 "cannot be broadcast")
end

function TestBinary:test_logical()
    local a, b = mf.tensor({true, true, false}), mf.tensor({true, false, false})
    lu.assertEquals(mf.logical_and(a, b):totable(), {true, false, false})
    lu.assertEquals(mf.logical_or(a, b):totable(), {true, true, false})
    lu.assertEquals(mf.logical_xor(a, b):totable(), {false, true, false})
    lu.assertEquals(a:logical_not():totable(), {false, false, true})
    assert_error(function() mf.logical_and(mf.ones(3), a) end, "not defined for float32")
end

---------------------------------------------------------------- reductions
-- Reference reduction of t over 1-based dim (nil: all), via :get.
local function ref_reduce(t, dim, init, step)
    local shape = t:shape()
    if not dim then
        local acc = init
        each_index(shape, function(ix) acc = step(acc, t:get(table.unpack(ix))) end)
        return acc
    end
    local out_shape = {}
    for d, s in ipairs(shape) do if d ~= dim then out_shape[#out_shape + 1] = s end end
    local res = {}
    each_index(out_shape, function(ox)
        local acc = init
        for r = 1, shape[dim] do
            local ix, k = {}, 1
            for d = 1, #shape do
                if d == dim then ix[d] = r else ix[d] = ox[k]; k = k + 1 end
            end
            acc = step(acc, t:get(table.unpack(ix)))
        end
        res[table.concat(ox, ",")] = acc
    end)
    return res, out_shape
end

TestReduce = {}

function TestReduce:test_sum_prod_max_min_over_every_dim_and_layout()
    for _, dtype in ipairs({"float32", "float64", "int64"}) do
        local value = function(i, j) return ((i * 5 + j * 3) % 7 - 3) * (dtype == "int64" and 1 or 0.5) end
        for layout, t in pairs(layouts({3, 4}, dtype, value)) do
            for _, dim in ipairs({false, 1, 2}) do
                local what = ("%s %s dim %s"):format(dtype, layout, tostring(dim))
                local sum, oshape = ref_reduce(t, dim or nil, 0, function(a, x) return a + x end)
                local prod = ref_reduce(t, dim or nil, 1, function(a, x) return a * x end)
                local mx = ref_reduce(t, dim or nil, -math.huge, math.max)
                local mn = ref_reduce(t, dim or nil, math.huge, math.min)
                local tol = TOL[dtype]
                if not dim then
                    lu.assertTrue(close(t:sum():item(), sum, tol), what)
                    lu.assertTrue(close(t:prod():item(), prod, tol), what)
                    lu.assertEquals(t:max():item(), mx, what)
                    lu.assertEquals(t:min():item(), mn, what)
                    lu.assertTrue(close(t:mean():item(), sum / 12, 1e-6), what)
                else
                    local function get(tbl) return function(ix) return tbl[table.concat(ix, ",")] end end
                    local s = t:sum(dim)
                    assert_tensor(s, oshape, dtype, get(sum), tol, "sum " .. what)
                    assert_tensor(t:prod(dim), oshape, dtype, get(prod), tol, "prod " .. what)
                    local vals, idx = t:max(dim)
                    assert_tensor(vals, oshape, dtype, get(mx), 0, "max " .. what)
                    -- indices are 1-based and point at the first maximum
                    each_index(oshape, function(ix)
                        local i = idx:get(table.unpack(ix))
                        local full = {table.unpack(ix)}
                        table.insert(full, dim, i)
                        lu.assertEquals(t:get(table.unpack(full)), vals:get(table.unpack(ix)))
                        for r = 1, i - 1 do
                            full[dim] = r
                            lu.assertTrue(t:get(table.unpack(full)) < vals:get(table.unpack(ix)),
                                          "first occurrence " .. what)
                        end
                    end)
                    assert_tensor(t:min(dim), oshape, dtype, get(mn), 0, "min " .. what)
                    local kept = t:sum(dim, {keepdim = true})
                    local ks = {3, 4}
                    ks[dim] = 1
                    lu.assertEquals(kept:shape(), ks)
                    lu.assertEquals(t:sum({dim = dim}):totable(), s:totable())
                    lu.assertEquals(t:sum(dim - 3):totable(), s:totable()) -- negative dims
                end
            end
        end
    end
end

function TestReduce:test_dtypes_of_results()
    lu.assertEquals(mf.tensor({true, true, false}):sum():dtype(), "int64")
    lu.assertEquals(mf.arange(4):sum():item(), 6)
    lu.assertEquals(mf.arange(4):mean():dtype(), "float32")
    lu.assertEquals(mf.arange(4):mean():item(), 1.5)
    lu.assertEquals(mf.arange(4):var():dtype(), "float32")
    lu.assertEquals(mf.arange(1, 5):prod():item(), 24)
    lu.assertEquals(math.type(mf.arange(4):sum():item()), "integer")
    -- int64 sums are exact beyond 2^53
    lu.assertEquals(mf.tensor({1 << 62, 1, 1}, "int64"):sum():item(), (1 << 62) + 2)
end

function TestReduce:test_var_std_against_closed_forms()
    local t = mf.tensor({{2, 4, 4, 4}, {5, 5, 7, 9}}, "float64")
    -- population variance of 2,4,4,4,5,5,7,9 is 4
    lu.assertAlmostEquals(t:var({unbiased = false}):item(), 4, 1e-12)
    lu.assertAlmostEquals(t:std({unbiased = false}):item(), 2, 1e-12)
    lu.assertAlmostEquals(t:var():item(), 32 / 7, 1e-12)
    local v = t:var(2, {unbiased = false})
    lu.assertAlmostEquals(v[1], 0.75, 1e-12)
    lu.assertAlmostEquals(v[2], 2.75, 1e-12)
    lu.assertEquals(t:var(1):shape(), {4})
    lu.assertAlmostEquals(t:t():var(1, {unbiased = false})[1], 0.75, 1e-12) -- transposed input
    lu.assertTrue(mf.tensor({1}):var():item() ~= mf.tensor({1}):var():item()) -- n-1 = 0: NaN
end

function TestReduce:test_argmax_argmin_are_one_based()
    local t = mf.tensor({{3, 9, 1}, {7, 2, 8}})
    lu.assertEquals(t:argmax():item(), 2) -- flattened
    lu.assertEquals(t:argmin():item(), 3)
    lu.assertEquals(t:argmax(2):totable(), {2, 3})
    lu.assertEquals(t:argmin(1):totable(), {1, 2, 1})
    lu.assertEquals(mf.tensor({5, 5, 5}):argmax():item(), 1) -- ties: the first
    local nan = mf.tensor({1, 0 / 0, 3})
    lu.assertEquals(nan:argmax():item(), 2) -- NaN propagates
    lu.assertTrue(nan:max():item() ~= nan:max():item())
    lu.assertEquals(t:amax(1):totable(), {7, 9, 8})
    lu.assertEquals(t:amin(2):totable(), {1, 2})
end

function TestReduce:test_cumsum_logsumexp_norm_all_any()
    local t = mf.tensor({{1, 2, 3}, {4, 5, 6}}, "float64")
    lu.assertEquals(t:cumsum(2):totable(), {{1, 3, 6}, {4, 9, 15}})
    lu.assertEquals(t:cumsum(1):totable(), {{1, 2, 3}, {5, 7, 9}})
    lu.assertEquals(t:t():cumsum(2):totable(), {{1, 5}, {2, 7}, {3, 9}})
    lu.assertEquals(mf.arange(4):cumsum(1):totable(), {0, 1, 3, 6})
    local lse = t:logsumexp(2)
    lu.assertAlmostEquals(lse[1], math.log(math.exp(1) + math.exp(2) + math.exp(3)), 1e-12)
    -- stable for large values, where exp overflows
    lu.assertAlmostEquals(mf.tensor({1000, 1000}, "float64"):logsumexp():item(),
                          1000 + math.log(2), 1e-9)
    lu.assertEquals(mf.tensor({-math.huge, -math.huge}):logsumexp():item(), -math.huge)
    lu.assertAlmostEquals(t:norm():item(), math.sqrt(91), 1e-12)
    lu.assertEquals(t:norm(1):item(), 21)
    lu.assertEquals(t:norm(math.huge):item(), 6)
    lu.assertAlmostEquals(t:norm(3, {dim = 2})[1], (1 + 8 + 27) ^ (1 / 3), 1e-12)
    lu.assertEquals(mf.tensor({3, -4}, "int64"):norm():item(), 5)
    local m = mf.tensor({{true, false}, {true, true}})
    lu.assertFalse(m:all():item())
    lu.assertTrue(m:any():item())
    lu.assertEquals(m:all(2):totable(), {false, true})
    lu.assertEquals(m:any(1):totable(), {true, true})
    lu.assertTrue(mf.tensor({1, 2}):all():item()) -- nonzero counts as true
end

function TestReduce:test_views_with_an_offset()
    -- a row slice is contiguous but does not start at the storage's beginning
    local big = mf.arange(20, "float64"):view(5, 4)
    local rows = big:narrow(1, 3, 2) -- rows 3..4: 8..15
    lu.assertEquals(rows:sum(1):totable(), {8 + 12, 9 + 13, 10 + 14, 11 + 15})
    lu.assertEquals(rows:cumsum(1):totable(), {{8, 9, 10, 11}, {20, 22, 24, 26}})
    lu.assertEquals(rows:cumsum(2):totable()[1], {8, 17, 27, 38})
    lu.assertEquals(rows:var(1, {unbiased = false}):totable(), {4, 4, 4, 4})
end

function TestReduce:test_empty_and_errors()
    lu.assertEquals(mf.zeros(0):sum():item(), 0)
    lu.assertEquals(mf.zeros(0, 3):sum(1):totable(), {0, 0, 0})
    lu.assertEquals(mf.zeros(0, 3):sum(2):shape(), {0})
    lu.assertEquals(mf.zeros(0):prod():item(), 1)
    lu.assertTrue(mf.zeros(0):all():item())
    lu.assertFalse(mf.zeros(0):any():item())
    assert_error(function() mf.zeros(0):max() end, "max of an empty tensor")
    assert_error(function() mf.zeros(2, 3):sum(3) end, "dim 3 out of range")
    assert_error(function() mf.zeros(2, 3):sum(1, {keepdims = true}) end, "unknown option 'keepdims'")
    assert_error(function() mf.zeros(2, 3):sum(1, {dim = 2}) end, "dim given twice")
    assert_error(function() mf.zeros(2):norm(-1) end, "p must be positive")
end

function TestReduce:test_float32_sums_are_accurate()
    -- 10M values of 0.1: a float32 accumulator drifts by ~1e-3 relative;
    -- moonforge accumulates in float64 (requirement: 1e-6 relative)
    local n = 10000000
    local t = mf.full({n}, 0.1)
    local want = n * t[1]
    lu.assertTrue(math.abs(t:sum():item() - want) / want < 1e-6)
    lu.assertTrue(math.abs(t:mean():item() - t[1]) / t[1] < 1e-6)
    -- the same over a dim, and whatever the thread count
    local m = t:view(1000, 10000)
    local a = m:sum(2)
    mf.set_num_threads(1)
    local b = m:sum(2)
    local s1 = t:sum():item()
    mf.set_num_threads(mf.num_cores())
    lu.assertEquals(a:totable(), b:totable())
    lu.assertEquals(t:sum():item(), s1)
    lu.assertTrue(math.abs(a[1] - 10000 * t[1]) / (10000 * t[1]) < 1e-6)
end

TestClose = {}

function TestClose:test_isclose_allclose_equal()
    local a = mf.tensor({1, 2, 0 / 0, math.huge})
    local b = mf.tensor({1 + 1e-7, 2.1, 0 / 0, math.huge})
    lu.assertEquals(mf.isclose(a, b):totable(), {true, false, false, true})
    lu.assertEquals(a:isclose(b, {equal_nan = true}):totable(), {true, false, true, true})
    lu.assertTrue(mf.allclose(mf.ones(3), mf.ones(3) + 1e-9))
    lu.assertFalse(mf.allclose(mf.ones(3), mf.ones(3) + 1e-3))
    lu.assertTrue(mf.allclose(mf.ones(3), mf.ones(3) + 1e-3, {atol = 1e-2}))
    lu.assertTrue(mf.equal(mf.arange(3), mf.tensor({0, 1, 2}, "int64")))
    lu.assertFalse(mf.equal(mf.arange(3), mf.arange(4)))
    lu.assertFalse(mf.equal(mf.zeros(2, 2), mf.zeros(4)))
    assert_error(function() mf.allclose(a, b, {tol = 1}) end, "unknown option 'tol'")
end

TestOpTable = {}

function TestOpTable:test_math_ops_are_records()
    local ops = mf.ops()
    for _, name in ipairs({"exp", "add", "mul", "div", "pow", "gt", "where", "sum", "max", "var",
                           "cumsum", "logsumexp", "relu", "sigmoid", "clamp"}) do
        lu.assertNotNil(ops[name], name)
    end
    lu.assertTrue(ops.exp.differentiable)
    lu.assertFalse(ops.gt.differentiable)
    lu.assertEquals(ops.where.inputs, 3)
end

os.exit(lu.LuaUnit.run(), true)
