-- Autograd: every differentiable op of the op table against finite
-- differences (float64, contiguous, non-contiguous and broadcast inputs),
-- the kinks, and the behaviour of the API.
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local lu = require "luaunit"
local assert_error = require("support").assert_error
local mf = require "moonforge"
local gradcheck = require "gradcheck"

local CASES = {}
for _, file in ipairs({"grad_cases_core", "grad_cases_more"}) do
    local ok, cases = pcall(require, file)
    if ok then for op, list in pairs(cases) do CASES[op] = list end end
end


TestGradients = {}

function TestGradients:test_every_differentiable_op_has_a_case()
    local missing = {}
    for name, info in pairs(mf.ops()) do
        if info.differentiable and not CASES[name] then missing[#missing + 1] = name end
    end
    table.sort(missing)
    lu.assertEquals(missing, {}, "differentiable ops without a gradient case")
end

function TestGradients:test_every_differentiable_op_has_a_rule()
    local missing = {}
    for name, info in pairs(mf.ops()) do
        if info.differentiable and not info.backward then missing[#missing + 1] = name end
    end
    table.sort(missing)
    lu.assertEquals(missing, {}, "differentiable ops without a backward rule")
end

function TestGradients:test_finite_differences()
    local failures, count = {}, 0
    local names = {}
    for op in pairs(CASES) do names[#names + 1] = op end
    table.sort(names)
    for _, op in ipairs(names) do
        for _, case in ipairs(CASES[op]) do
            mf.manual_seed(7)
            local ok, err = pcall(function()
                return gradcheck.check(case.fn, case.inputs(), case.opts)
            end)
            count = count + 1
            if not ok or err then
                failures[#failures + 1] = ("%s (%s): %s"):format(op, case.name or "?", tostring(err))
            end
        end
    end
    lu.assertTrue(count > 50)
    lu.assertEquals(failures, {})
end

TestKinks = {}

function TestKinks:test_relu_abs_clamp_at_the_kink()
    local x = mf.tensor({-1, 0, 1}, {dtype = "float64", requires_grad = true})
    x:relu():sum():backward()
    lu.assertEquals(x.grad:totable(), {0, 0, 1}) -- relu'(0) = 0
    x:zero_grad()
    x:abs():sum():backward()
    lu.assertEquals(x.grad:totable(), {-1, 0, 1}) -- abs'(0) = 0
    x:zero_grad()
    x:clamp(0, 1):sum():backward()
    lu.assertEquals(x.grad:totable(), {0, 1, 1}) -- bounds included
end

function TestKinks:test_ties()
    local x = mf.tensor({2, 5, 5}, {dtype = "float64", requires_grad = true})
    x:max():backward()
    lu.assertEquals(x.grad:totable(), {0, 1, 0}) -- the index max returns: the first
    local a = mf.tensor({1, 3}, {dtype = "float64", requires_grad = true})
    local b = mf.tensor({1, 2}, {dtype = "float64", requires_grad = true})
    mf.maximum(a, b):sum():backward()
    lu.assertEquals(a.grad:totable(), {0.5, 1}) -- ties split evenly
    lu.assertEquals(b.grad:totable(), {0.5, 0})
end

TestAutogradAPI = {}

function TestAutogradAPI:test_leaves_accumulate_until_zeroed()
    local w = mf.tensor({1, 2}, {requires_grad = true})
    lu.assertTrue(w.requires_grad)
    lu.assertTrue(w.is_leaf)
    lu.assertNil(w.grad)
    local y = (w * w):sum()
    lu.assertFalse(y.is_leaf)
    lu.assertEquals(y.grad_fn, "sum")
    y:backward()
    lu.assertEquals(w.grad:totable(), {2, 4})
    ;(w * 3):sum():backward()
    lu.assertEquals(w.grad:totable(), {5, 7})
    w:zero_grad()
    lu.assertNil(w.grad)
    w.grad = mf.tensor({1, 1})
    lu.assertEquals(w.grad:totable(), {1, 1})
    assert_error(function() w.grad = mf.zeros(3) end, "gradient of shape [3] for a tensor of shape [2]")
end

function TestAutogradAPI:test_backward_with_a_gradient_and_errors()
    local x = mf.tensor({1, 2, 3}, {requires_grad = true})
    local y = x * 2
    assert_error(function() y:backward() end, "one-element tensor", "[3]")
    y:backward(mf.tensor({1, 0, 10}))
    lu.assertEquals(x.grad:totable(), {2, 0, 20})
    assert_error(function() y:backward(mf.ones(2)) end, "shape [2]")
    assert_error(function() mf.ones(2):sum():backward() end, "does not require grad")
    assert_error(function() mf.tensor({1}, {dtype = "int64", requires_grad = true}) end,
                 "only float tensors can require grad")
end

function TestAutogradAPI:test_shared_subexpressions_and_graph_reuse()
    local x = mf.tensor({3}, {dtype = "float64", requires_grad = true})
    local y = x * x
    local z = y * y + y -- y used twice: x^4 + x^2
    z:sum():backward()
    lu.assertEquals(x.grad[1], 4 * 27 + 2 * 3)
end

function TestAutogradAPI:test_no_grad_and_detach()
    local w = mf.tensor({1, 2}, {requires_grad = true})
    local y = mf.no_grad(function() return w * 2 end)
    lu.assertFalse(y.requires_grad)
    lu.assertTrue(mf.is_grad_enabled())
    local ok = pcall(mf.no_grad, function() error("inside") end)
    lu.assertFalse(ok)
    lu.assertTrue(mf.is_grad_enabled()) -- restored after an error
    local d = (w * 2):detach()
    lu.assertFalse(d.requires_grad)
    lu.assertTrue(d.is_leaf)
    lu.assertEquals(d:totable(), {2, 4})
    lu.assertEquals(mf.no_grad(function(a, b) return a + b end, 1, 2), 3)
    local was = mf.set_grad_enabled(false)
    lu.assertTrue(was)
    lu.assertFalse((w * 2).requires_grad)
    mf.set_grad_enabled(true)
    -- comparisons and integer results do not require grad
    lu.assertFalse(w:gt(1).requires_grad)
    lu.assertFalse(w:argmax().requires_grad)
end

function TestAutogradAPI:test_in_place_changes_are_caught()
    local w = mf.tensor({1, 2}, {requires_grad = true})
    assert_error(function() w:add_(1) end, "in-place operation on a tensor that requires grad")
    assert_error(function() w:fill_(0) end, "requires grad")
    assert_error(function() w[1] = 5 end, "requires grad")
    assert_error(function() mf.add(w, w, {out = mf.zeros(2)}) end, "do not record gradients")
    mf.no_grad(function() w:add_(1) end) -- allowed without grad mode
    lu.assertEquals(w:totable(), {2, 3})
    -- a value saved for backward, changed in place afterwards: an error, not a wrong gradient
    local x = mf.tensor({1, 2}, {requires_grad = true})
    local h = x * 2 -- not a leaf
    local y = (h * h):sum() -- saves h
    mf.no_grad(function() h:mul_(10) end)
    assert_error(function() y:backward() end, "modified in place")
    local e = mf.exp(x)
    local s = e:sum()
    mf.no_grad(function() e:zero_() end) -- exp saves its result
    assert_error(function() s:backward() end, "modified in place")
end

function TestAutogradAPI:test_views_of_leaves()
    local w = mf.arange(6, "float64"):view(2, 3):requires_grad_()
    local y = (w:t():narrow(1, 2, 2) * 10):sum()
    y:backward()
    lu.assertEquals(w.grad:totable(), {{0, 10, 10}, {0, 10, 10}})
end

function TestAutogradAPI:test_memory_stays_flat_over_many_steps()
    -- 20,000 steps of a small model: the graph of each step is freed with its
    -- tensors (no collectgarbage here; the collector is told about tensor bytes)
    local w = mf.randn(4, 1):requires_grad_()
    local x, t = mf.randn(8, 4), mf.randn(8, 1)
    local function step()
        local loss = ((mf.matmul(x, w) - t) ^ 2):mean()
        loss:backward()
        mf.no_grad(function() w:sub_(w.grad * 0.01) end)
        w:zero_grad()
    end
    for _ = 1, 200 do step() end
    local base = mf.mem_in_use()
    for _ = 1, 20000 do step() end
    local grown = mf.mem_in_use() - base
    lu.assertTrue(grown < 4 * 1024 * 1024, ("tensor memory grew by %d bytes"):format(grown))
end

os.exit(lu.LuaUnit.run(), true)
