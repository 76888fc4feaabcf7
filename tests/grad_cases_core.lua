-- grad_cases_core.lua — finite-difference cases for the differentiable ops
-- of core/mf_op_shape.c, mf_op_elem.c and mf_op_reduce.c (run by
-- tests/test_autograd.lua). Each op maps to a list of cases:
--   {name = ..., fn = function(inputs...) return result end,
--    inputs = function() return {tensors...} end, opts = {atol, rtol}}
-- Inputs come from gradcheck.leaf: float64 leaves that require grad, in
-- contiguous, transposed (non-contiguous) and sliced layouts.
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local mf = require "moonforge"
local gradcheck = require "gradcheck"
local leaf = gradcheck.leaf

local C = {}

-- One case per layout for a function of one {3x4} input with values in [lo, hi).
local function unary(fn, lo, hi, opts)
    local cases = {}
    for _, layout in ipairs(gradcheck.LAYOUTS) do
        cases[#cases + 1] = {
            name = layout, fn = fn, opts = opts,
            inputs = function() return {leaf({3, 4}, {layout = layout, lo = lo, hi = hi})} end,
        }
    end
    return cases
end

-- Values bounded away from 0 (for kinks): |x| in [0.2, 2]
local function away_from_zero(layout)
    local t = leaf({3, 4}, {layout = layout, lo = 0.2, hi = 2})
    local sign = mf.tensor({{1, -1, 1, -1}, {-1, 1, -1, 1}, {1, 1, -1, -1}}, "float64")
    return mf.no_grad(function() return (t * sign):detach() end):requires_grad_()
end

local function kinked(fn)
    local cases = {}
    for _, layout in ipairs(gradcheck.LAYOUTS) do
        cases[#cases + 1] = {name = layout, fn = fn,
                             inputs = function() return {away_from_zero(layout)} end}
    end
    return cases
end

-- Binary cases: same shapes in each layout, and broadcasting.
local function binary(fn, lo_a, hi_a, lo_b, hi_b, opts)
    local A = {lo = lo_a, hi = hi_a}
    local B = {lo = lo_b or lo_a, hi = hi_b or hi_a}
    local function with(t, layout) return {layout = layout, lo = t.lo, hi = t.hi} end
    return {
        {name = "contiguous", fn = fn, opts = opts,
         inputs = function() return {leaf({3, 4}, with(A)), leaf({3, 4}, with(B))} end},
        {name = "transposed and sliced", fn = fn, opts = opts,
         inputs = function() return {leaf({3, 4}, with(A, "transposed")), leaf({3, 4}, with(B, "sliced"))} end},
        {name = "broadcast [3x4] with [4]", fn = fn, opts = opts,
         inputs = function() return {leaf({3, 4}, with(A)), leaf({4}, with(B))} end},
        {name = "broadcast [3x1] with [1x4]", fn = fn, opts = opts,
         inputs = function() return {leaf({3, 1}, with(A)), leaf({1, 4}, with(B))} end},
        {name = "with a number", opts = opts,
         fn = function(x) return fn(x, (B.lo + B.hi) / 2) end,
         inputs = function() return {leaf({3, 4}, with(A))} end},
    }
end

---------------------------------------------------------------- copies and views
C.clone = unary(function(x) return x:clone() * x end)
C.cast = {{name = "float64 to float32 and back", opts = {h = 1e-3, atol = 1e-3, rtol = 1e-3},
           fn = function(x) return x:float():double() * 2 end,
           inputs = function() return {leaf({3, 4})} end}}
C.view = unary(function(x) return x:reshape(2, 6) * mf.arange(12, "float64"):view(2, 6) end)
C.permute = {{name = "3-D", fn = function(x) return x:permute(3, 1, 2) * mf.arange(24, "float64"):view(4, 2, 3) end,
              inputs = function() return {leaf({2, 3, 4})} end},
             {name = "transposed leaf", fn = function(x) return x:t() * mf.arange(12, "float64"):view(4, 3) end,
              inputs = function() return {leaf({3, 4}, {layout = "transposed"})} end}}
C.narrow = unary(function(x) return x:narrow(2, 2, 2) * x:narrow(2, 1, 2) end)
C.expand = {{name = "size-1 and new dims", fn = function(x) return x:expand(2, 3, 4) * mf.arange(24, "float64"):view(2, 3, 4) end,
             inputs = function() return {leaf({3, 1})} end}}
C.index_select = {{name = "repeated indices", fn = function(x) return x:index(1, {3, 1, 3}) end,
                   inputs = function() return {leaf({3, 4})} end},
                  {name = "along dim 2, sliced leaf", fn = function(x) return x:index(2, {4, 2}) * 3 end,
                   inputs = function() return {leaf({3, 4}, {layout = "sliced"})} end}}

---------------------------------------------------------------- elementwise
C.neg = unary(function(x) return -x end)
C.exp = unary(mf.exp)
C.log = unary(mf.log, 0.5, 3)
C.log1p = unary(mf.log1p, 0.1, 3)
C.expm1 = unary(mf.expm1)
C.sqrt = unary(mf.sqrt, 0.5, 3)
C.rsqrt = unary(mf.rsqrt, 0.5, 3)
C.abs = kinked(mf.abs)
C.sin = unary(mf.sin)
C.cos = unary(mf.cos)
C.tanh = unary(mf.tanh)
C.sigmoid = unary(mf.sigmoid)
C.relu = kinked(mf.relu)
C.erf = unary(mf.erf)
C.clamp = kinked(function(x) return x:clamp(-1, 1) end) -- bounds inside the range: both sides checked
C.nan_to_num = unary(function(x) return x:nan_to_num() * 2 end)
C.add = binary(function(a, b) return mf.add(a, b, {alpha = 3}) end, -2, 2)
C.mul = binary(mf.mul, -2, 2)
C.div = binary(mf.div, -2, 2, 0.5, 2)
C.pow = binary(mf.pow, 0.5, 2, -1.5, 1.5)
C.remainder = binary(mf.remainder, 0.2, 0.8, 1.5, 2)
C.maximum = binary(mf.maximum, -2, 0, 0.1, 2)   -- disjoint ranges: no ties
C.minimum = binary(mf.minimum, -2, 0, 0.1, 2)
C.where = {{name = "mask broadcast", fn = function(a, b) return mf.where(mf.tensor({true, false, false, true}), a, b) end,
            inputs = function() return {leaf({3, 4}), leaf({3, 1})} end},
           {name = "number branch", fn = function(a) return mf.where(a:gt(0), a * a, 1) end,
            inputs = function() return {away_from_zero()} end}}

---------------------------------------------------------------- reductions
C.sum = {{name = "all", fn = function(x) return x:sum() end, inputs = function() return {leaf({3, 4}, {layout = "transposed"})} end},
         {name = "dim 1", fn = function(x) return x:sum(1) end, inputs = function() return {leaf({3, 4})} end},
         {name = "dim 2 keepdim", fn = function(x) return x:sum(2, {keepdim = true}) end, inputs = function() return {leaf({3, 4}, {layout = "sliced"})} end},
         {name = "mean", fn = function(x) return x:mean(2) end, inputs = function() return {leaf({3, 4})} end}}
C.prod = {{name = "dim 2", fn = function(x) return x:prod(2) end, inputs = function() return {leaf({3, 4}, {lo = 0.5, hi = 1.5})} end},
          {name = "all, transposed", fn = function(x) return x:prod() end, inputs = function() return {leaf({2, 3}, {layout = "transposed", lo = 0.5, hi = 1.5})} end},
          {name = "one zero", fn = function(x) return (x * mf.tensor({{1, 0, 1}, {1, 1, 1}}, "float64")):prod(2) end,
           inputs = function() return {leaf({2, 3}, {lo = 0.5, hi = 1.5})} end},
          {name = "two zeros", fn = function(x) return (x * mf.tensor({0, 1, 0, 1}, "float64")):prod() end,
           inputs = function() return {leaf({4}, {lo = 0.5, hi = 1.5})} end}}
local function distinct(layout)
    -- values all different by at least 0.1: no ties for max/min
    local t = mf.randperm(12):double():view(3, 4) * 0.5
    if layout == "transposed" then t = t:t():contiguous():t() end
    return t:detach():requires_grad_()
end
C.max = {{name = "all", fn = function(x) return x:max() end, inputs = function() return {distinct()} end},
         {name = "dim 2", fn = function(x) return x:max(2) end, inputs = function() return {distinct("transposed")} end},
         {name = "dim 1 keepdim", fn = function(x) return x:amax(1, {keepdim = true}) end, inputs = function() return {distinct()} end}}
C.min = {{name = "all", fn = function(x) return x:min() end, inputs = function() return {distinct()} end},
         {name = "dim 1", fn = function(x) return x:min(1) end, inputs = function() return {distinct("transposed")} end}}
C.var = {{name = "all", fn = function(x) return x:var() end, inputs = function() return {leaf({3, 4})} end},
         {name = "dim 2 population", fn = function(x) return x:var(2, {unbiased = false}) end, inputs = function() return {leaf({3, 4}, {layout = "transposed"})} end},
         {name = "std dim 1", fn = function(x) return x:std(1) end, inputs = function() return {leaf({3, 4}, {layout = "sliced"})} end}}
C.logsumexp = {{name = "all", fn = function(x) return x:logsumexp() end, inputs = function() return {leaf({3, 4})} end},
               {name = "dim 2 keepdim", fn = function(x) return x:logsumexp(2, {keepdim = true}) end, inputs = function() return {leaf({3, 4}, {layout = "transposed"})} end}}
C.cumsum = {{name = "dim 1", fn = function(x) return x:cumsum(1) end, inputs = function() return {leaf({3, 4})} end},
            {name = "dim 2 sliced", fn = function(x) return x:cumsum(2) end, inputs = function() return {leaf({3, 4}, {layout = "sliced"})} end}}

return C
