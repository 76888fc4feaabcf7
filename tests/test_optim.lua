-- mf.optim: optimizers against their published update equations (written
-- out in plain Lua below), param groups, state_dict, schedulers, gradient
-- clipping and errors.
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local assert_error = require("support").assert_error
local mf = require "moonforge"
local optim, sched = mf.optim, mf.optim.lr_scheduler


local function param(values, dtype)
    return mf.tensor(values, {dtype = dtype or "float64", requires_grad = true})
end

local function assert_values(t, expected, tol, msg)
    local got = t:totable()
    lu.assertEquals(#got, #expected, msg)
    for i = 1, #expected do
        lu.assertAlmostEquals(got[i], expected[i], tol or 1e-10, (msg or "") .. " at " .. i)
    end
end

---------------------------------------------------------------- references
-- One update of element i: p (array), g (its gradient), s (its state
-- table), t (the step, from 1), h (the options with PyTorch's defaults).
local ref = {}

function ref.SGD(h, t, p, i, g, s)
    local d = g + (h.weight_decay or 0) * p[i]
    local mom = h.momentum or 0
    if mom ~= 0 then
        s.buf = t == 1 and d or mom * s.buf + (1 - (h.dampening or 0)) * d
        d = h.nesterov and d + mom * s.buf or s.buf
    end
    p[i] = p[i] - h.lr * d
end

local function adam(h, t, p, i, g, s, decoupled)
    local lr, wd = h.lr or 1e-3, h.weight_decay or (decoupled and 1e-2 or 0)
    local b1, b2 = table.unpack(h.betas or {0.9, 0.999})
    local eps = h.eps or 1e-8
    if decoupled then p[i] = p[i] * (1 - lr * wd) else g = g + wd * p[i] end
    s.m = b1 * (s.m or 0) + (1 - b1) * g
    s.v = b2 * (s.v or 0) + (1 - b2) * g * g
    local v = s.v
    if h.amsgrad then
        s.vmax = math.max(s.vmax or 0, s.v)
        v = s.vmax
    end
    local mhat, vhat = s.m / (1 - b1 ^ t), v / (1 - b2 ^ t)
    p[i] = p[i] - lr * mhat / (math.sqrt(vhat) + eps)
end
function ref.Adam(h, t, p, i, g, s) adam(h, t, p, i, g, s, false) end
function ref.AdamW(h, t, p, i, g, s) adam(h, t, p, i, g, s, true) end

function ref.RMSprop(h, t, p, i, g, s)
    local lr, alpha, eps = h.lr or 1e-2, h.alpha or 0.99, h.eps or 1e-8
    local mom = h.momentum or 0
    g = g + (h.weight_decay or 0) * p[i]
    s.sq = alpha * (s.sq or 0) + (1 - alpha) * g * g
    local v = s.sq
    if h.centered then
        s.ga = alpha * (s.ga or 0) + (1 - alpha) * g
        v = v - s.ga * s.ga
    end
    if mom > 0 then
        s.buf = mom * (s.buf or 0) + g / (math.sqrt(v) + eps)
        p[i] = p[i] - lr * s.buf
    else
        p[i] = p[i] - lr * g / (math.sqrt(v) + eps)
    end
end

function ref.Adagrad(h, t, p, i, g, s)
    local lr, eps = h.lr or 1e-2, h.eps or 1e-10
    g = g + (h.weight_decay or 0) * p[i]
    local clr = lr / (1 + (t - 1) * (h.lr_decay or 0))
    s.sum = (s.sum or h.initial_accumulator_value or 0) + g * g
    p[i] = p[i] - clr * g / (math.sqrt(s.sum) + eps)
end

local P0 = {1.0, -2.0, 0.5}
local function grad_at(t)
    local g = {}
    for i = 1, 3 do g[i] = 0.3 * i * (t % 2 == 1 and -1 or 1) + 0.1 * t end
    return g
end

-- `steps` steps of optimizer `name` with options h on P0, each compared
-- with the reference to 1e-10 (float64).
local function check_against_reference(name, h, steps)
    local p = param(P0)
    local opt = optim[name]({p}, h)
    local rp, rs = {table.unpack(P0)}, {{}, {}, {}}
    for t = 1, steps do
        local g = grad_at(t)
        p.grad = mf.tensor(g, "float64")
        opt:step()
        for i = 1, 3 do ref[name](h, t, rp, i, g[i], rs[i]) end
        assert_values(p, rp, 1e-10, ("%s step %d"):format(name, t))
    end
    lu.assertEquals(opt.state[1].step, steps)
    return opt, p
end

---------------------------------------------------------------- equations
TestEquations = {}

function TestEquations:test_sgd()
    check_against_reference("SGD", {lr = 0.1}, 4)
    check_against_reference("SGD", {lr = 0.1, weight_decay = 0.05}, 4)
    local opt = check_against_reference("SGD", {lr = 0.1, momentum = 0.9}, 4)
    lu.assertTrue(mf.is_tensor(opt.state[1].momentum_buffer))
    check_against_reference("SGD", {lr = 0.1, momentum = 0.9, dampening = 0.3, weight_decay = 0.05}, 4)
    check_against_reference("SGD", {lr = 0.1, momentum = 0.9, nesterov = true}, 4)
end

function TestEquations:test_sgd_by_hand()
    -- lr 0.1, momentum 0.5: b1 = g1, b2 = 0.5 b1 + g2
    local p = param({1, 2})
    local opt = optim.SGD({p}, {lr = 0.1, momentum = 0.5})
    p.grad = mf.tensor({1, -1}, "float64")
    opt:step()
    assert_values(p, {0.9, 2.1})
    p.grad = mf.tensor({2, 2}, "float64")
    opt:step()
    assert_values(p, {0.9 - 0.1 * 2.5, 2.1 - 0.1 * 1.5})
end

function TestEquations:test_adam()
    check_against_reference("Adam", {}, 5)
    check_against_reference("Adam", {lr = 0.05, betas = {0.5, 0.75}}, 5)
    check_against_reference("Adam", {lr = 0.05, weight_decay = 0.1}, 5)
    local opt = check_against_reference("Adam", {lr = 0.05, amsgrad = true, weight_decay = 0.1}, 6)
    lu.assertTrue(mf.is_tensor(opt.state[1].max_exp_avg_sq))
end

function TestEquations:test_adam_first_step_by_hand()
    -- step 1: mhat = g, vhat = g^2, so p -= lr * g / (|g| + eps)
    local p = param({1, 1})
    local opt = optim.Adam({p}, {lr = 0.1, eps = 0})
    p.grad = mf.tensor({4, -0.5}, "float64")
    opt:step()
    assert_values(p, {0.9, 1.1}, 1e-12)
    assert_values(opt.state[1].exp_avg, {0.4, -0.05}, 1e-12)
    assert_values(opt.state[1].exp_avg_sq, {0.016, 0.00025}, 1e-12)
end

function TestEquations:test_adamw()
    check_against_reference("AdamW", {}, 5)
    check_against_reference("AdamW", {lr = 0.05, weight_decay = 0.2}, 5)
    check_against_reference("AdamW", {lr = 0.05, weight_decay = 0.2, amsgrad = true}, 5)
    lu.assertEquals(optim.AdamW({param({1})}).param_groups[1].weight_decay, 1e-2)
end

function TestEquations:test_rmsprop()
    check_against_reference("RMSprop", {}, 5)
    check_against_reference("RMSprop", {alpha = 0.9, weight_decay = 0.1}, 5)
    check_against_reference("RMSprop", {momentum = 0.8}, 5)
    local opt = check_against_reference("RMSprop", {centered = true, alpha = 0.9}, 5)
    lu.assertTrue(mf.is_tensor(opt.state[1].grad_avg))
    check_against_reference("RMSprop", {centered = true, momentum = 0.8, alpha = 0.9, weight_decay = 0.1}, 5)
end

function TestEquations:test_adagrad()
    check_against_reference("Adagrad", {}, 5)
    check_against_reference("Adagrad", {lr = 0.5, lr_decay = 0.1}, 5)
    local opt = check_against_reference("Adagrad", {initial_accumulator_value = 0.5, weight_decay = 0.01}, 5)
    lu.assertTrue(mf.is_tensor(opt.state[1].sum))
end

function TestEquations:test_float32_params()
    -- float32 math: close to the float64 reference, state in float32
    local p = param(P0, "float32")
    local opt = optim.Adam({p}, {lr = 0.01})
    local rp, rs = {table.unpack(P0)}, {{}, {}, {}}
    for t = 1, 10 do
        local g = grad_at(t)
        p.grad = mf.tensor(g, "float32")
        opt:step()
        for i = 1, 3 do ref.Adam({lr = 0.01}, t, rp, i, g[i], rs[i]) end
    end
    assert_values(p, rp, 1e-5)
    lu.assertEquals(opt.state[1].exp_avg:dtype(), "float32")
end

---------------------------------------------------------------- the optimizer object
TestOptimizer = {}

function TestOptimizer:test_skips_params_without_grad()
    local a, b = param({1, 2}), param({3})
    local opt = optim.Adam({a, b}, {lr = 0.1})
    a.grad = mf.tensor({1, 1}, "float64")
    opt:step()
    lu.assertEquals(b:totable(), {3})
    lu.assertNil(opt.state[2])
    lu.assertEquals(opt.state[1].step, 1)
    b.grad = mf.tensor({1}, "float64")
    a.grad = nil
    opt:step()
    lu.assertEquals(opt.state[1].step, 1)
    lu.assertEquals(opt.state[2].step, 1)
    assert_values(b, {2.9}, 1e-7)
end

function TestOptimizer:test_zero_grad()
    local a, b = param({1, 2}), param({3})
    local opt = optim.SGD({a, b}, {lr = 0.1})
    a.grad = mf.tensor({1, 1}, "float64")
    opt:zero_grad(false)
    lu.assertEquals(a.grad:totable(), {0, 0})
    lu.assertNil(b.grad)
    opt:zero_grad()
    lu.assertNil(a.grad)
    assert_error(function() opt:zero_grad(1) end, "set_to_none must be a boolean")
end

function TestOptimizer:test_param_groups()
    local a, b = param({1}), param({1})
    local opt = optim.SGD({{params = {a}}, {params = {b}, lr = 0.5, momentum = 0.9}}, {lr = 0.1})
    lu.assertEquals(#opt.param_groups, 2)
    lu.assertEquals(opt.param_groups[1].lr, 0.1)
    lu.assertEquals(opt.param_groups[1].momentum, 0)
    lu.assertEquals(opt.param_groups[2].lr, 0.5)
    a.grad = mf.tensor({1}, "float64")
    b.grad = mf.tensor({1}, "float64")
    opt:step()
    assert_values(a, {0.9})
    assert_values(b, {0.5})
    lu.assertNil(opt.state[1].momentum_buffer)
    lu.assertTrue(mf.is_tensor(opt.state[2].momentum_buffer))
    -- lr changed through param_groups takes effect at the next step
    opt.param_groups[1].lr = 1
    opt:step()
    assert_values(a, {-0.1})
    -- a group added later
    local c = param({0})
    opt:add_param_group({params = {c}, lr = 2})
    c.grad = mf.tensor({1}, "float64")
    opt:step()
    assert_values(c, {-2})
    lu.assertEquals(opt.state[3].step, 1)
    assert_error(function() opt:add_param_group({params = {a}}) end,
                 "parameter 4 appears twice (also parameter 1)")
end

function TestOptimizer:test_mixed_dtypes_in_a_group()
    local a, b = param({1}, "float32"), param({1}, "float64")
    local opt = optim.Adam({a, b}, {lr = 0.5})
    a.grad = mf.tensor({1}, "float32")
    b.grad = mf.tensor({1}, "float64")
    opt:step()
    assert_values(a, {0.5}, 1e-6)
    assert_values(b, {0.5}, 1e-8)
end

function TestOptimizer:test_step_closure()
    local p = param({1})
    local opt = optim.SGD({p}, {lr = 0.5})
    local loss = opt:step(function()
        p.grad = mf.tensor({2}, "float64")
        return 42
    end)
    lu.assertEquals(loss, 42)
    assert_values(p, {0})
    lu.assertNil(opt:step())
end

function TestOptimizer:test_tostring()
    local opt = optim.SGD({{params = {param({1})}}, {params = {param({2})}, lr = 0.5}}, {lr = 0.1})
    lu.assertEquals(tostring(opt), table.concat({
        "SGD (",
        "Parameter Group 1",
        "    dampening: 0",
        "    lr: 0.1",
        "    momentum: 0",
        "    nesterov: false",
        "    weight_decay: 0",
        "Parameter Group 2",
        "    dampening: 0",
        "    lr: 0.5",
        "    momentum: 0",
        "    nesterov: false",
        "    weight_decay: 0",
        ")",
    }, "\n"))
    lu.assertStrContains(tostring(optim.Adam({param({1})})), "betas: {0.9, 0.999}")
end

function TestOptimizer:test_step_bumps_versions()
    -- a graph that saved a parameter refuses to use it after the step
    local p = param({1, 2})
    local y = (p * p):sum()
    local opt = optim.SGD({p}, {lr = 0.1})
    p.grad = mf.tensor({1, 1}, "float64")
    opt:step()
    assert_error(function() y:backward() end, "modified in place")
end

function TestOptimizer:test_strided_parameter()
    local base = mf.tensor({{1, 2, 3}, {4, 5, 6}}, "float64")
    local p = base:t():requires_grad_() -- a leaf seen transposed
    lu.assertFalse(p:is_contiguous())
    local opt = optim.SGD({p}, {lr = 1})
    p.grad = mf.ones(3, 2, "float64")
    opt:step()
    lu.assertEquals(base:totable(), {{0, 1, 2}, {3, 4, 5}})
end

function TestOptimizer:test_training_reduces_the_loss()
    -- y = 3x - 1 by least squares through autograd
    local x = mf.tensor({{0}, {1}, {2}, {3}}, "float64")
    local y = mf.tensor({{-1}, {2}, {5}, {8}}, "float64")
    local w, b = param({{0}}), param({0})
    for _, name in ipairs({"SGD", "Adam", "AdamW", "RMSprop", "Adagrad"}) do
        w, b = param({{0}}), param({0})
        local lr = ({SGD = 0.05, Adam = 0.1, AdamW = 0.1, RMSprop = 0.03, Adagrad = 1})[name]
        local opt = optim[name]({w, b}, {lr = lr, weight_decay = name == "AdamW" and 0 or nil})
        local first, last
        for _ = 1, 300 do
            opt:zero_grad()
            local loss = ((x:matmul(w) + b - y) ^ 2):mean()
            loss:backward()
            opt:step()
            first = first or loss:item()
            last = loss:item()
        end
        lu.assertTrue(last < 1e-2 * first, ("%s: loss %g -> %g"):format(name, first, last))
    end
end

---------------------------------------------------------------- state_dict
TestStateDict = {}

local function trained_adam(dtype)
    local a, b = param({1, 2}, dtype), param({{3}}, dtype)
    local opt = optim.Adam({{params = {a}}, {params = {b}, lr = 0.01}}, {lr = 0.1, amsgrad = true})
    for t = 1, 3 do
        a.grad = mf.tensor(grad_at(t), dtype):narrow(1, 1, 2)
        if t ~= 2 then b.grad = mf.tensor({{t}}, dtype) else b.grad = nil end
        opt:step()
    end
    return opt, a, b
end

function TestStateDict:test_contents()
    local opt = trained_adam("float64")
    local sd = opt:state_dict()
    lu.assertEquals(#sd.state, 2)
    lu.assertEquals(sd.state[1].step, 3)
    lu.assertEquals(sd.state[2].step, 2)
    lu.assertTrue(mf.is_tensor(sd.state[1].exp_avg))
    lu.assertEquals(sd.param_groups[1].params, {1})
    lu.assertEquals(sd.param_groups[2].params, {2})
    lu.assertEquals(sd.param_groups[2].lr, 0.01)
    lu.assertEquals(sd.param_groups[1].betas, {0.9, 0.999})
    lu.assertTrue(sd.param_groups[1].amsgrad)
    -- state of a parameter that never had a gradient: an empty table
    local fresh = optim.SGD({param({1}), param({2})}, {lr = 1})
    lu.assertEquals(fresh:state_dict().state, {{}, {}})
end

-- Two optimizers, one restored from the other's state, give the same steps.
local function check_resume(sd, dtype)
    local opt, a, b = trained_adam(dtype)
    local a2, b2 = param(a:totable(), dtype), param(b:totable(), dtype)
    local opt2 = optim.Adam({{params = {a2}}, {params = {b2}}}, {lr = 1})
    opt2:load_state_dict(sd or opt:state_dict())
    lu.assertEquals(opt2.param_groups[2].lr, 0.01)
    lu.assertTrue(opt2.param_groups[1].amsgrad)
    for t = 4, 6 do
        a.grad = mf.tensor({t, -t}, dtype)
        a2.grad = mf.tensor({t, -t}, dtype)
        b.grad = mf.tensor({{1}}, dtype)
        b2.grad = mf.tensor({{1}}, dtype)
        opt:step()
        opt2:step()
    end
    lu.assertTrue(mf.equal(a, a2))
    lu.assertTrue(mf.equal(b, b2))
    lu.assertEquals(opt2.state[1].step, 6)
end

function TestStateDict:test_round_trip()
    check_resume(nil, "float64")
    check_resume(nil, "float32")
end

function TestStateDict:test_loaded_buffers_are_copies()
    local opt = trained_adam("float64")
    local sd = opt:state_dict()
    local a2, b2 = param({0, 0}), param({{0}})
    local opt2 = optim.Adam({{params = {a2}}, {params = {b2}}})
    opt2:load_state_dict(sd)
    lu.assertTrue(mf.equal(opt2.state[1].exp_avg, sd.state[1].exp_avg))
    sd.state[1].exp_avg:fill_(7)
    lu.assertFalse(mf.equal(opt2.state[1].exp_avg, sd.state[1].exp_avg))
end

function TestStateDict:test_through_save_and_load()
    local opt = trained_adam("float64")
    local path = os.tmpname()
    mf.save(opt:state_dict(), path)
    local sd = mf.load(path)
    os.remove(path)
    check_resume(sd, "float64")
end

function TestStateDict:test_dtype_converted()
    -- state saved from float64 parameters loads into float32 ones
    local opt = trained_adam("float64")
    local a2, b2 = param({0, 0}, "float32"), param({{0}}, "float32")
    local opt2 = optim.Adam({{params = {a2}}, {params = {b2}}})
    opt2:load_state_dict(opt:state_dict())
    lu.assertEquals(opt2.state[1].exp_avg:dtype(), "float32")
end

function TestStateDict:test_errors()
    local opt = trained_adam("float64")
    local sd = opt:state_dict()
    local one = optim.Adam({param({1, 2}), param({{3}})})
    assert_error(function() one:load_state_dict(sd) end, "2 param groups, the optimizer 1")
    local other = optim.Adam({{params = {param({1, 2, 3})}}, {params = {param({{3}})}}})
    assert_error(function() other:load_state_dict(sd) end,
                 "state of parameter 1: 'exp_avg' has shape [2], the parameter [3]")
    local sizes = optim.Adam({{params = {param({1, 2}), param({1})}}, {params = {param({{3}})}}})
    assert_error(function() sizes:load_state_dict(sd) end,
                 "param group 1: 1 parameters in the state dict, 2 in the optimizer")
    local sgd = optim.SGD({{params = {param({1, 2})}}, {params = {param({{3}})}}}, {lr = 1})
    assert_error(function() sgd:load_state_dict(sd) end, "unknown entry 'exp_avg' for SGD")
    assert_error(function() one:load_state_dict(42) end, "bad argument #1 to 'load_state_dict'")
    sd.param_groups[1].lr = -1
    local same = optim.Adam({{params = {param({1, 2})}}, {params = {param({{3}})}}})
    assert_error(function() same:load_state_dict(sd) end, "param group 1: invalid learning rate -1")
    sd.param_groups[1].lr = 0.1
    sd.state[1].step = 1.5
    assert_error(function() same:load_state_dict(sd) end, "'step' must be an integer >= 0")
end

---------------------------------------------------------------- errors
TestErrors = {}

function TestErrors:test_options()
    local p = param({1})
    assert_error(function() optim.Adam({p}, {lr = 1, bais = 0}) end,
                 "bad argument #2 to 'Adam' (unknown option 'bais' (expected one of: lr, betas, eps, weight_decay, amsgrad))")
    assert_error(function() optim.Adam({p}, {lr = -1}) end,
                 "bad argument #2 to 'Adam' (invalid learning rate -1 (expected >= 0))")
    assert_error(function() optim.Adam({p}, {betas = {0.9, 1}}) end, "betas[2]", "[0, 1)")
    assert_error(function() optim.AdamW({p}, {betas = {-0.1, 0.9}}) end, "betas[1]")
    assert_error(function() optim.Adam({p}, {betas = 0.9}) end, "option 'betas' must be a table of two numbers")
    assert_error(function() optim.Adam({p}, {eps = -1e-8}) end, "invalid eps")
    assert_error(function() optim.RMSprop({p}, {alpha = -1}) end, "invalid alpha")
    assert_error(function() optim.Adagrad({p}, {lr_decay = -1}) end, "invalid lr_decay")
    assert_error(function() optim.SGD({p}, {lr = 0.1, momentum = -1}) end, "invalid momentum")
    assert_error(function() optim.SGD({p}, {lr = 0.1, nesterov = true}) end, "nesterov momentum requires")
    assert_error(function() optim.SGD({p}) end, "bad argument #2 to 'SGD' (option 'lr' is required)")
    assert_error(function() optim.SGD({p}, {lr = "0.1"}) end, "option 'lr' must be a number, got string")
    assert_error(function() optim.Adam({p}, {amsgrad = 1}) end, "option 'amsgrad' must be a boolean")
    assert_error(function() optim.Adam({p}, {lr = 0 / 0}) end, "invalid learning rate")
end

function TestErrors:test_params()
    assert_error(function() optim.Adam(param({1})) end,
                 "bad argument #1 to 'Adam' (expected a list of tensors or of param groups, got float64 tensor)")
    assert_error(function() optim.Adam({}) end, "empty list of parameters")
    assert_error(function() optim.Adam({param({1}), mf.tensor({1, 2})}) end,
                 "bad argument #1 to 'Adam' (parameter 2 does not require grad)")
    assert_error(function() optim.Adam({param({1}), mf.tensor({1}, "int64")}) end,
                 "parameter 2 is int64 tensor (expected float32 or float64)")
    assert_error(function() optim.Adam({param({1}), 3}) end, "parameter 2 is number, expected a tensor")
    local p = param({1})
    assert_error(function() optim.Adam({p, p * 2}) end, "parameter 2 is not a leaf")
    assert_error(function() optim.Adam({p, p}) end, "parameter 2 appears twice (also parameter 1)")
    assert_error(function() optim.Adam({{params = {p}}, {params = {p}}}) end,
                 "param group 2: parameter 2 appears twice")
    assert_error(function() optim.Adam({{params = {p}, lr = -1}}) end,
                 "bad argument #1 to 'Adam' (param group 1: invalid learning rate -1")
    assert_error(function() optim.Adam({{params = {p}, moment = 1}}) end,
                 "param group 1", "unknown option 'moment'")
    assert_error(function() optim.SGD({{params = {p}}}) end, "param group 1: option 'lr' is required")
    lu.assertEquals(optim.SGD({{params = {p}, lr = 0.5}}).param_groups[1].lr, 0.5)
end

function TestErrors:test_invalid_lr_at_step()
    local p = param({1})
    local opt = optim.Adam({p})
    p.grad = mf.tensor({1}, "float64")
    opt.param_groups[1].lr = -0.5
    assert_error(function() opt:step() end, "Adam step: param group 1: invalid learning rate -0.5")
    lu.assertEquals(p:totable(), {1})
end

---------------------------------------------------------------- schedulers
TestSchedulers = {}

-- lrs of group 1 over `n` epochs (the initial one first)
local function lr_sequence(s, opt, n)
    local out = {s:get_last_lr()[1]}
    for _ = 1, n do
        opt:step()
        s:step()
        out[#out + 1] = s:get_last_lr()[1]
    end
    return out
end

local function assert_list_near(got, want, tol)
    lu.assertEquals(#got, #want)
    for i = 1, #want do lu.assertAlmostEquals(got[i], want[i], tol or 1e-12, "at " .. i) end
end

local function sgd(lr) return optim.SGD({param({1})}, {lr = lr or 1}) end

function TestSchedulers:test_step_lr()
    local opt = sgd()
    local s = sched.StepLR(opt, {step_size = 2, gamma = 0.5})
    assert_list_near(lr_sequence(s, opt, 6), {1, 1, 0.5, 0.5, 0.25, 0.25, 0.125})
    lu.assertEquals(opt.param_groups[1].lr, 0.125)
    lu.assertEquals(opt.param_groups[1].initial_lr, 1)
    lu.assertEquals(s.last_epoch, 6)
    local opt2 = sgd()
    assert_list_near(lr_sequence(sched.StepLR(opt2, {step_size = 3}), opt2, 3), {1, 1, 1, 0.1})
end

function TestSchedulers:test_exponential_lr()
    local opt = sgd(0.5)
    local s = sched.ExponentialLR(opt, {gamma = 0.9})
    assert_list_near(lr_sequence(s, opt, 3), {0.5, 0.45, 0.405, 0.3645})
end

function TestSchedulers:test_cosine_annealing()
    local opt = sgd(0.1)
    local T, eta = 10, 0.001
    local s = sched.CosineAnnealingLR(opt, {T_max = T, eta_min = eta})
    local want = {}
    for t = 0, 25 do want[t + 1] = eta + (0.1 - eta) * (1 + math.cos(math.pi * t / T)) / 2 end
    assert_list_near(lr_sequence(s, opt, 25), want, 1e-12)
end

function TestSchedulers:test_groups_and_chaining()
    local opt = optim.SGD({{params = {param({1})}}, {params = {param({1})}, lr = 0.2}}, {lr = 1})
    local a = sched.StepLR(opt, {step_size = 1, gamma = 0.5})
    local b = sched.ExponentialLR(opt, {gamma = 0.1})
    opt:step()
    a:step()
    b:step()
    assert_list_near(b:get_last_lr(), {0.05, 0.01})
    lu.assertEquals(a.base_lrs, {1, 0.2})
end

function TestSchedulers:test_warns_before_optimizer_step()
    local opt = sgd()
    local s = sched.StepLR(opt, {step_size = 1})
    local warnings = mf.capture_warnings(function() s:step() end)
    lu.assertEquals(#warnings, 1)
    lu.assertStrContains(warnings[1], "before the optimizer's step()")
    lu.assertEquals(#mf.capture_warnings(function() opt:step() s:step() end), 0)
end

function TestSchedulers:test_reduce_on_plateau()
    local opt = sgd()
    local s = sched.ReduceLROnPlateau(opt, {patience = 1, factor = 0.5, cooldown = 1, min_lr = 0.2})
    local metrics = {10, 9, 9, 9, 9, 9, 9, 8, 8, 8, 8, 8, 8}
    local lrs = {}
    for i, m in ipairs(metrics) do
        s:step(m)
        lrs[i] = s:get_last_lr()[1]
    end
    -- two bad epochs (> patience 1) halve the lr, then one epoch of cooldown
    -- (bad epochs not counted); min_lr stops the last reduction at 0.2
    assert_list_near(lrs, {1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2})
    lu.assertEquals(s.best, 8)
end

function TestSchedulers:test_reduce_on_plateau_modes()
    -- mode max, absolute threshold: 0.05 better is not enough
    local opt = sgd()
    local s = sched.ReduceLROnPlateau(opt, {mode = "max", patience = 0, threshold = 0.1,
                                            threshold_mode = "abs"})
    s:step(1)
    lu.assertEquals(s:get_last_lr(), {1})
    s:step(mf.tensor(1.05))
    assert_list_near(s:get_last_lr(), {0.1})
    s:step(2)
    assert_list_near(s:get_last_lr(), {0.1})
    -- relative threshold in min mode: 1e-4 of the best
    local opt2 = sgd()
    local s2 = sched.ReduceLROnPlateau(opt2, {patience = 0})
    s2:step(1)
    s2:step(0.99995)
    assert_list_near(s2:get_last_lr(), {0.1})
end

function TestSchedulers:test_state_dict()
    local opt = sgd()
    local s = sched.StepLR(opt, {step_size = 2, gamma = 0.5})
    lr_sequence(s, opt, 3)
    local sd = s:state_dict()
    lu.assertNil(sd.optimizer)
    lu.assertEquals(sd.last_epoch, 3)
    local opt2 = sgd(0.5)
    local s2 = sched.StepLR(opt2, {step_size = 5})
    s2:load_state_dict(sd)
    lu.assertEquals(s2.step_size, 2)
    opt2:step()
    s2:step()
    assert_list_near(s2:get_last_lr(), {0.25})
end

function TestSchedulers:test_errors()
    local opt = sgd()
    assert_error(function() sched.StepLR({}, {step_size = 1}) end,
                 "bad argument #1 to 'StepLR' (optimizer expected, got table)")
    assert_error(function() sched.StepLR(opt) end, "option 'step_size' is required")
    assert_error(function() sched.StepLR(opt, {step_size = 0}) end, "option 'step_size' must be an integer > 0")
    assert_error(function() sched.StepLR(opt, {step_size = 1, gama = 1}) end, "unknown option 'gama'")
    assert_error(function() sched.ExponentialLR(opt) end, "option 'gamma' is required")
    assert_error(function() sched.CosineAnnealingLR(opt, {T_max = 1.5}) end, "'T_max' must be an integer")
    assert_error(function() sched.ReduceLROnPlateau(opt, {factor = 1}) end, "option 'factor' must be < 1")
    assert_error(function() sched.ReduceLROnPlateau(opt, {mode = "up"}) end, "'mode' must be \"min\" or \"max\"")
    assert_error(function() sched.ReduceLROnPlateau(opt, {min_lr = {0, 0}}) end, "2 entries for 1 param groups")
    local s = sched.StepLR(opt, {step_size = 1})
    assert_error(function() s:step(3) end, "step() takes no argument")
    local p = sched.ReduceLROnPlateau(opt)
    assert_error(function() p:step() end, "metric must be a number")
    assert_error(function() p:step(mf.tensor({1, 2})) end, "one-element tensor")
end

---------------------------------------------------------------- clipping
TestClipGradNorm = {}

function TestClipGradNorm:test_clips()
    local a, b, c = param({3, 0, -4}), param({12}), param({1})
    a.grad = mf.tensor({3, 0, -4}, "float64")
    b.grad = mf.tensor({12}, "float64")
    lu.assertAlmostEquals(mf.nn.clip_grad_norm({a, b, c}, 100), 13, 1e-12)
    lu.assertEquals(a.grad:totable(), {3, 0, -4}) -- below max_norm: unchanged
    local total = mf.nn.clip_grad_norm({a, b, c}, 1.3)
    lu.assertAlmostEquals(total, 13, 1e-12)
    local coef = 1.3 / (13 + 1e-6)
    assert_values(a.grad, {3 * coef, 0, -4 * coef}, 1e-14)
    assert_values(b.grad, {12 * coef}, 1e-14)
    lu.assertNil(c.grad)
end

function TestClipGradNorm:test_norm_types()
    local a = param({3, -4})
    a.grad = mf.tensor({3, -4}, "float64")
    lu.assertEquals(mf.clip_grad_norm_(a, 100, {norm_type = math.huge}), 4)
    lu.assertEquals(mf.clip_grad_norm_({a}, 100, {norm_type = 1}), 7)
    lu.assertAlmostEquals(mf.nn.clip_grad_norm_({a}, 100, {norm_type = 3}), (27 + 64) ^ (1 / 3), 1e-12)
    lu.assertEquals(mf.nn.clip_grad_norm({}, 1), 0)
    lu.assertEquals(mf.optim.clip_grad_norm, mf.nn.clip_grad_norm)
end

function TestClipGradNorm:test_float32()
    local a = param({0, 0}, "float32")
    a.grad = mf.tensor({30, 40}, "float32")
    lu.assertAlmostEquals(mf.nn.clip_grad_norm({a}, 5), 50, 1e-4)
    assert_values(a.grad, {3, 4}, 1e-5)
end

function TestClipGradNorm:test_errors()
    local a = param({1})
    a.grad = mf.tensor({0 / 0}, "float64")
    assert_error(function() mf.nn.clip_grad_norm({a}, 1, {norm_typ = 2}) end,
                 "bad argument #3 to 'clip_grad_norm' (unknown option 'norm_typ'")
    assert_error(function() mf.nn.clip_grad_norm({a}, -1) end, "max_norm must be >= 0")
    assert_error(function() mf.nn.clip_grad_norm({a}, 1, {norm_type = 0}) end, "norm_type must be > 0")
    assert_error(function() mf.nn.clip_grad_norm({a, 3}, 1) end, "entry 2 is number, expected a tensor")
    assert_error(function() mf.nn.clip_grad_norm({a}, 1, {error_if_nonfinite = true}) end, "not finite")
end

os.exit(lu.LuaUnit.run(), true)
