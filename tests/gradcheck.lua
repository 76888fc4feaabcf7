-- gradcheck.lua — finite-difference checks of autograd, shared by the
-- gradient test files. Loaded with
--     package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
--     local gradcheck = require "gradcheck"
--
-- gradcheck.check(fn, inputs, opts) compares, for every input that requires
-- grad and every element of it, the gradient autograd computes for
-- L = sum(fn(inputs...) * W) (W fixed random weights, so every output element
-- matters differently) with the central difference (L(x+h) - L(x-h)) / 2h.
-- Inputs should be float64. opts: h (1e-6), atol (1e-6), rtol (1e-5),
-- output (which result of fn to check, 1).
local mf = require "moonforge"

local M = {}

local function each_index(shape, fn)
    for _, s in ipairs(shape) do if s == 0 then return end end
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
M.each_index = each_index

local function output(fn, inputs, k)
    local res = table.pack(fn(table.unpack(inputs, 1, inputs.n or #inputs)))
    return res[k or 1]
end

-- Runs the check; returns nil when it passes, else a message.
function M.check(fn, inputs, opts)
    opts = opts or {}
    local h, atol, rtol = opts.h or 1e-6, opts.atol or 1e-6, opts.rtol or 1e-5
    for _, t in ipairs(inputs) do
        if mf.is_tensor(t) and t.requires_grad then t:zero_grad() end
    end
    local out = output(fn, inputs, opts.output)
    mf.manual_seed(1234)
    local W = mf.rand(out:shape(), out:dtype()) + 0.5
    local L = (out * W):sum()
    L:backward()
    local function loss()
        return mf.no_grad(function() return (output(fn, inputs, opts.output) * W):sum():item() end)
    end
    for i, t in ipairs(inputs) do
        if mf.is_tensor(t) and t.requires_grad then
            local g = t.grad
            if not g then return ("input %d: no gradient reached it"):format(i) end
            local bad
            each_index(t:shape(), function(idx)
                if bad then return end
                local x = t:get(table.unpack(idx))
                local function set(v)
                    local args = {table.unpack(idx)}
                    args[#args + 1] = v
                    mf.no_grad(function() t:set(table.unpack(args)) end)
                end
                set(x + h)
                local lp = loss()
                set(x - h)
                local lm = loss()
                set(x)
                local num, ana = (lp - lm) / (2 * h), g:get(table.unpack(idx))
                if not (math.abs(num - ana) <= atol + rtol * math.abs(num)) then
                    bad = ("input %d at [%s]: autograd %.10g, finite difference %.10g"):format(
                        i, table.concat(idx, ","), ana, num)
                end
            end)
            if bad then return bad end
        end
    end
    return nil
end

-- A float64 leaf of `shape` with values from the seeded generator in
-- [lo, hi), requiring grad. layout: "contiguous" (default), "transposed" (a
-- non-contiguous leaf: the transpose of a tensor of the reversed last two
-- dims) or "sliced" (a narrow view of a larger tensor).
function M.leaf(shape, opts)
    opts = opts or {}
    local lo, hi = opts.lo or -2, opts.hi or 2
    local layout = opts.layout or "contiguous"
    local t
    if layout == "transposed" and #shape >= 2 then
        local s = {table.unpack(shape)}
        s[#s], s[#s - 1] = s[#s - 1], s[#s]
        t = (mf.rand(s, "float64") * (hi - lo) + lo):transpose(#s - 1, #s)
    elseif layout == "sliced" and #shape >= 1 then
        local s = {table.unpack(shape)}
        s[1] = s[1] + 2
        t = (mf.rand(s, "float64") * (hi - lo) + lo):narrow(1, 2, shape[1])
    else
        t = mf.rand(shape, "float64") * (hi - lo) + lo
    end
    return t:requires_grad_()
end

M.LAYOUTS = {"contiguous", "transposed", "sliced"}

return M
