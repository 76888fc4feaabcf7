-- grad_cases_more.lua — finite-difference cases for the differentiable ops
-- of core/mf_op_linalg.c, mf_op_select.c and mf_op_sort.c (run by
-- tests/test_autograd.lua, in the format of grad_cases_core.lua): each op
-- maps to a list of {name, fn, inputs, opts} cases. Inputs are float64
-- leaves from gradcheck.leaf (contiguous, transposed or sliced); index
-- tensors and masks are plain tensors captured by fn.
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local mf = require "moonforge"
local gradcheck = require "gradcheck"
local leaf = gradcheck.leaf

local C = {}

local function I64(t) return mf.tensor(t, "int64") end

-- A leaf of square matrices (..., n, n) with entries in [-1, 1) plus n on
-- the diagonal: well-conditioned for solve, inv and det.
local function square(shape, layout)
    local t = leaf(shape, {layout = layout, lo = -1, hi = 1})
    local n = shape[#shape]
    mf.no_grad(function()
        gradcheck.each_index(shape, function(idx)
            if idx[#idx] == idx[#idx - 1] then
                local args = {table.unpack(idx)}
                args[#args + 1] = t:get(table.unpack(idx)) + n
                t:set(table.unpack(args))
            end
        end)
    end)
    return t
end

-- A float64 leaf with the given values (for chosen matrices).
local function given(values)
    return mf.tensor(values, "float64"):requires_grad_()
end

-- Cases of a two-input function, one per {name, shape_a, layout_a, shape_b, layout_b}.
local function pairs_of(fn, list, make_a)
    local cases = {}
    for _, c in ipairs(list) do
        cases[#cases + 1] = {
            name = c[1], fn = fn,
            inputs = function()
                return {(make_a or leaf)(c[2], make_a and c[3] or {layout = c[3]}),
                        leaf(c[4], {layout = c[5]})}
            end,
        }
    end
    return cases
end

---------------------------------------------------------------- products
C.matmul = pairs_of(function(a, b) return mf.matmul(a, b) end, {
    {"2-D @ 2-D", {3, 4}, "contiguous", {4, 2}, "contiguous"},
    {"transposed @ sliced", {3, 4}, "transposed", {4, 2}, "sliced"},
    {"1-D @ 1-D (dot)", {4}, "contiguous", {4}, "sliced"},
    {"1-D @ 2-D", {4}, "contiguous", {4, 3}, "transposed"},
    {"2-D @ 1-D", {3, 4}, "sliced", {4}, "contiguous"},
    {"batch @ 2-D (shared right operand)", {2, 3, 4}, "transposed", {4, 2}, "contiguous"},
    {"2-D @ batch", {3, 4}, "contiguous", {2, 4, 2}, "sliced"},
    {"batch @ 1-D", {2, 3, 4}, "sliced", {4}, "contiguous"},
    {"1-D @ batch", {4}, "contiguous", {2, 4, 3}, "transposed"},
    {"broadcast batch dims [2x1x3x4] @ [3x4x2]", {2, 1, 3, 4}, "contiguous", {3, 4, 2}, "transposed"},
})
C.matmul[#C.matmul + 1] = {
    name = "outer (views + matmul)", fn = function(u, v) return mf.outer(u, v) end,
    inputs = function() return {leaf({3}), leaf({4}, {layout = "sliced"})} end,
}

---------------------------------------------------------------- linalg
local function solve(a, b) return mf.linalg.solve(a, b) end
C.solve = pairs_of(solve, {
    {"matrix right-hand side", {3, 3}, "contiguous", {3, 2}, "contiguous"},
    {"vector right-hand side, transposed A", {3, 3}, "transposed", {3}, "sliced"},
    {"batch of vectors (B is A's shape without the last dim)", {2, 3, 3}, "contiguous", {2, 3}, "contiguous"},
    {"batched A, 2-D B (broadcast)", {2, 3, 3}, "sliced", {3, 2}, "transposed"},
    {"2-D A, batched B (broadcast)", {3, 3}, "contiguous", {2, 3, 2}, "sliced"},
    {"batched A, 1-D b", {2, 3, 3}, "transposed", {3}, "contiguous"},
}, square)

local function one_input(fn, list)
    local cases = {}
    for _, c in ipairs(list) do
        cases[#cases + 1] = {name = c[1], fn = fn, inputs = function() return {c[2]()} end}
    end
    return cases
end

C.inv = one_input(function(a) return mf.linalg.inv(a) end, {
    {"contiguous", function() return square({3, 3}) end},
    {"transposed", function() return square({3, 3}, "transposed") end},
    {"batch, sliced", function() return square({2, 3, 3}, "sliced") end},
})

C.det = one_input(function(a) return mf.linalg.det(a) end, {
    {"contiguous", function() return square({3, 3}) end},
    {"transposed", function() return square({4, 4}, "transposed") end},
    {"batch, sliced", function() return square({3, 2, 2}, "sliced") end},
    {"negative determinant", function() return given({{0, 1, 0}, {1, 0, 0}, {0, 0, 2}}) end},
    -- singular: the cofactors (adjugate), not d * A^-T
    {"singular, rank 2", function() return given({{1, 2, 3}, {2, 4, 6}, {1, 0, 1}}) end},
    {"singular, rank 1 (zero gradient)", function() return given({{1, 2, 3}, {2, 4, 6}, {3, 6, 9}}) end},
    {"1x1", function() return given({{-3}}) end},
})

-- cholesky reads one triangle and its gradient is the symmetric one (as
-- PyTorch's), so the input is made symmetric positive-definite: X X^T + n I.
local function spd(x)
    local n = x:shape()[#x:shape()]
    return mf.matmul(x, x:transpose(-1, -2)) + mf.eye(n, "float64") * n
end
C.cholesky = {
    {name = "lower", fn = function(x) return mf.linalg.cholesky(spd(x)) end,
     inputs = function() return {leaf({3, 3}, {lo = -1, hi = 1})} end},
    {name = "upper, transposed", fn = function(x) return mf.linalg.cholesky(spd(x), {upper = true}) end,
     inputs = function() return {leaf({3, 3}, {layout = "transposed", lo = -1, hi = 1})} end},
    {name = "batch, sliced", fn = function(x) return mf.linalg.cholesky(spd(x)) end,
     inputs = function() return {leaf({2, 4, 4}, {layout = "sliced", lo = -1, hi = 1})} end},
    {name = "batch, upper", fn = function(x) return mf.linalg.cholesky(spd(x), {upper = true}) end,
     inputs = function() return {leaf({2, 3, 3}, {lo = -1, hi = 1})} end},
}

---------------------------------------------------------------- joining, reordering
C.cat = {
    {name = "three inputs along dim 2, mixed layouts",
     fn = function(a, b, c) return mf.cat({a, b, c}, 2) end,
     inputs = function() return {leaf({3, 2}), leaf({3, 4}, {layout = "transposed"}), leaf({3, 1})} end},
    {name = "along dim 1, sliced",
     fn = function(a, b) return mf.cat({a, b}, 1) end,
     inputs = function() return {leaf({2, 3}, {layout = "sliced"}), leaf({1, 3})} end},
    {name = "a skipped 1-D empty input",
     fn = function(a, b) return mf.cat({a, b}, -1) end,
     inputs = function() return {leaf({0}), leaf({3, 2}, {layout = "transposed"})} end},
    {name = "the same tensor twice", fn = function(a) return mf.cat({a, a}, 1) end,
     inputs = function() return {leaf({2, 3})} end},
    {name = "stack (unsqueeze + cat)", fn = function(a, b) return mf.stack({a, b}, 2) end,
     inputs = function() return {leaf({3, 2}), leaf({3, 2}, {layout = "transposed"})} end},
}

C.flip = one_input(function(x) return x:flip(1, 2) end, {
    {"two dims, transposed", function() return leaf({3, 4}, {layout = "transposed"}) end},
    {"two dims of three, sliced", function() return leaf({2, 3, 2}, {layout = "sliced"}) end},
})
C.flip[#C.flip + 1] = {name = "one dim", fn = function(x) return x:flip(-1) end,
                       inputs = function() return {leaf({3, 4})} end}

-- Random values are distinct (ties would make the finite difference
-- ill-defined: the order would change with the step).
C.sort = {
    {name = "along the last dim, transposed", fn = function(x) return (x:sort()) end,
     inputs = function() return {leaf({3, 4}, {layout = "transposed"})} end},
    {name = "descending along dim 1, sliced",
     fn = function(x) return (x:sort({dim = 1, descending = true})) end,
     inputs = function() return {leaf({3, 4}, {layout = "sliced"})} end},
    {name = "3-D along dim 2", fn = function(x) return (x:sort(2)) end,
     inputs = function() return {leaf({2, 3, 2})} end},
    {name = "a 0-D tensor", fn = function(x) return (x:sort()) end,
     inputs = function() return {given(1.5)} end},
    {name = "topk (sort + narrow)", fn = function(x) return (x:topk(2, 1)) end,
     inputs = function() return {leaf({4, 3}, {layout = "transposed"})} end},
    {name = "long rows (merge and radix sorts)", fn = function(x) return (x:sort()) end,
     inputs = function() return {leaf({600})} end},
}

---------------------------------------------------------------- gather, scatter, masks
C.gather = {
    {name = "along dim 2, repeated positions, transposed",
     fn = function(x) return x:gather(2, I64({{1, 1, 4}, {2, 4, 4}, {3, 3, 3}})) end,
     inputs = function() return {leaf({3, 4}, {layout = "transposed"})} end},
    {name = "along dim 1, index smaller than the tensor, sliced",
     fn = function(x) return x:gather(1, I64({{3, 1}, {1, 1}})) end,
     inputs = function() return {leaf({3, 4}, {layout = "sliced"})} end},
}

C.scatter_add = {
    {name = "both inputs, repeated positions",
     fn = function(t, src) return t:scatter_add(1, I64({{1, 3, 3, 2}, {1, 1, 2, 2}}), src) end,
     inputs = function() return {leaf({3, 4}, {layout = "sliced"}), leaf({2, 4}, {layout = "transposed"})} end},
    {name = "src larger than the index (its corner is read)",
     fn = function(t, src) return t:scatter_add(2, I64({{4, 1}, {2, 2}}), src) end,
     inputs = function() return {leaf({3, 4}), leaf({3, 3})} end},
    {name = "src only, into an int64 tensor",
     fn = function(src) return mf.zeros({3}, "int64"):scatter_add(1, I64({1, 3, 1}), src) end,
     inputs = function() return {leaf({4})} end},
}

local M34 = {{true, false, true, true}, {false, false, true, false}, {true, true, true, false}}
C.masked_select = {
    {name = "mask of the same shape, transposed",
     fn = function(x) return x:masked_select(mf.tensor(M34)) end,
     inputs = function() return {leaf({3, 4}, {layout = "transposed"})} end},
    {name = "the mask broadcast over the tensor",
     fn = function(x) return x:masked_select(mf.tensor({true, false, true, true})) end,
     inputs = function() return {leaf({3, 4}, {layout = "sliced"})} end},
    {name = "the tensor broadcast over the mask (gradient summed)",
     fn = function(x) return x:masked_select(mf.tensor(M34)) end,
     inputs = function() return {leaf({1, 4})} end},
    {name = "nothing selected",
     fn = function(x) return x:masked_select(mf.zeros({3, 4}, "bool")) end,
     inputs = function() return {leaf({3, 4})} end},
}

return C
