-- mf.nn.losses and the loss modules: values against closed forms on tiny
-- inputs, reductions, stability at extreme inputs, errors, and gradients
-- against finite differences (float64).
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local assert_error = require("support").assert_error
local gradcheck = require "gradcheck"
local mf = require "moonforge"
local nn = mf.nn
local L = nn.losses

local function assert_close(t, expected, tol)
    tol = tol or 1e-6
    local got = mf.is_tensor(t) and t:totable() or t
    local function cmp(a, b, path)
        if type(b) == "table" then
            lu.assertEquals(type(a), "table", path)
            lu.assertEquals(#a, #b, "length at " .. path)
            for i = 1, #b do cmp(a[i], b[i], path .. "[" .. i .. "]") end
        else
            lu.assertTrue(math.abs(a - b) <= tol * (1 + math.abs(b)),
                          ("%s: got %.10g, expected %.10g"):format(path, a, b))
        end
    end
    cmp(got, expected, "")
end

local function d(t) return mf.tensor(t, "float64") end
local function softplus(x) return math.log(1 + math.exp(x)) end
local function lse(list)
    local s = 0
    for _, v in ipairs(list) do s = s + math.exp(v) end
    return math.log(s)
end

local function check_grad(fn, inputs, opts)
    local msg = gradcheck.check(fn, inputs, opts)
    lu.assertNil(msg, msg)
end

---------------------------------------------------------------- regression

TestRegression = {}

function TestRegression:test_mse_and_mae()
    local p, t = d({1, 2, 3}), d({1, 0, 5})
    assert_close(L.mse(p, t), 8 / 3)
    assert_close(L.mse(p, t, {reduction = "sum"}), 8)
    assert_close(L.mse(p, t, {reduction = "none"}), {0, 4, 4})
    assert_close(L.mae(p, t), 4 / 3)
    assert_close(L.l1(p, t, {reduction = "none"}), {0, 2, 2})
    assert_close(L.mse(p, {1, 0, 5}), 8 / 3)      -- a Lua array target
    lu.assertEquals(L.mse(p, t):dim(), 0)
    assert_close(L.mse(d({{1, 2}, {3, 4}}), d({{0, 0}, {0, 0}})), 7.5)
end

function TestRegression:test_huber()
    local p, t = d({0, 0.5, 2, -3}), d({0, 0, 0, 0})
    -- |d| <= 1: d^2 / 2; else |d| - 1/2
    assert_close(L.huber(p, t, {reduction = "none"}), {0, 0.125, 1.5, 2.5})
    assert_close(L.huber(p, t), 4.125 / 4)
    -- delta = 2: d^2 / 2 up to 2, then 2 (|d| - 1)
    assert_close(L.huber(p, t, {delta = 2, reduction = "none"}), {0, 0.125, 2, 4})
    assert_error(function() L.huber(p, t, {delta = 0}) end, "delta must be a positive number")
end

function TestRegression:test_gradients()
    local p = gradcheck.leaf({3, 2})
    local t = mf.rand(3, 2, "float64") * 4 - 2
    check_grad(function(a) return L.mse(a, t) end, {p})
    check_grad(function(a) return L.mse(a, t, {reduction = "none"}) end, {p})
    check_grad(function(a) return L.mae(a, t) end, {p})
    check_grad(function(a) return L.huber(a, t, {delta = 0.7}) end, {p})
    -- closed forms: mse' = 2 (p - t) / n
    local q = d({1, 2, 3}):requires_grad_()
    L.mse(q, d({1, 0, 5})):backward()
    assert_close(q.grad, {0, 4 / 3, -4 / 3})
    -- huber' is continuous at |d| = delta: delta * sign(d)
    local h = d({1, -1, 0}):requires_grad_()
    L.huber(h, d({0, 0, 0}), {reduction = "sum"}):backward()
    assert_close(h.grad, {1, -1, 0})
end

---------------------------------------------------------------- binary

TestBinary = {}

function TestBinary:test_bce()
    local p, t = d({0.2, 0.9, 0.5}), d({0, 1, 1})
    local want = {-math.log(0.8), -math.log(0.9), -math.log(0.5)}
    assert_close(L.bce(p, t, {reduction = "none"}), want)
    assert_close(L.bce(p, t), (want[1] + want[2] + want[3]) / 3)
    assert_close(L.bce(p, t, {weight = d({1, 2, 0}), reduction = "sum"}), want[1] + 2 * want[2])
    -- soft targets
    assert_close(L.bce(d({0.3}), d({0.6})), -(0.6 * math.log(0.3) + 0.4 * math.log(0.7)))
    -- logs are clamped at -100, as PyTorch
    assert_close(L.bce(d({0, 1, 0, 1}), d({1, 0, 0, 1}), {reduction = "none"}), {100, 100, 0, 0})
    assert_close(L.bce(mf.tensor({0, 1}), mf.tensor({1, 0})), 100, 1e-5)
    assert_error(function() L.bce(d({1.5, -0.1}), d({1, 0})) end,
                 "bad argument #1 to 'bce' (input must hold probabilities in [0, 1], got values in [-0.1, 1.5]")
end

function TestBinary:test_bce_gradients_are_finite_at_0_and_1()
    local p = d({0, 1, 0.5}):requires_grad_()
    L.bce(p, d({1, 0, 1}), {reduction = "sum"}):backward()
    lu.assertTrue(p.grad:isfinite():all():item())
    assert_close(p.grad[3], -2)                  -- -t/p
    local q = gradcheck.leaf({4}, {lo = 0.05, hi = 0.95})
    local t = mf.rand(4, "float64")
    check_grad(function(a) return L.bce(a, t) end, {q}, {atol = 1e-5})
end

function TestBinary:test_bce_with_logits()
    local x, t = d({-1, 0, 2}), d({0, 1, 1})
    local want = {softplus(-1), math.log(2), softplus(-2)}
    assert_close(L.bce_with_logits(x, t, {reduction = "none"}), want, 1e-12)
    assert_close(L.bce_with_logits(x, t), (want[1] + want[2] + want[3]) / 3, 1e-12)
    -- pos_weight multiplies the positive term
    assert_close(L.bce_with_logits(x, t, {pos_weight = 3, reduction = "none"}),
                 {want[1], 3 * want[2], 3 * want[3]}, 1e-12)
    assert_close(L.bce_with_logits(d({{0, 0}}), d({{1, 1}}), {pos_weight = d({2, 4}), reduction = "none"}),
                 {{2 * math.log(2), 4 * math.log(2)}}, 1e-12)
    -- agrees with bce on sigmoid where both are accurate
    local z = d({-3, -0.5, 0.25, 4})
    local y = d({1, 0, 1, 0})
    assert_close(L.bce_with_logits(z, y), L.bce(z:sigmoid(), y):item(), 1e-12)
    -- stable for huge logits, in float32 too
    assert_close(L.bce_with_logits(mf.tensor({1000, -1000, 1000, -1000}), mf.tensor({0, 1, 1, 0}),
                                   {reduction = "none"}), {1000, 1000, 0, 0})
end

function TestBinary:test_bce_with_logits_gradient()
    -- closed form: (sigmoid(x) - t) / n, also at x = 0 and for huge |x|
    local x = d({0, 0, 2, -1000, 1000}):requires_grad_()
    local t = d({1, 0, 1, 1, 1})
    L.bce_with_logits(x, t):backward()
    local s = 1 / (1 + math.exp(-2))
    assert_close(x.grad, {-0.1, 0.1, (s - 1) / 5, -0.2, 0}, 1e-12)
    local p = gradcheck.leaf({3, 2})
    local tt = mf.rand(3, 2, "float64")
    check_grad(function(a) return L.bce_with_logits(a, tt, {pos_weight = d({1.5, 0.5})}) end, {p})
end

function TestBinary:test_hinge()
    local x, y = d({0.5, -2, 3, 2}), d({1, 1, -1, 1})
    assert_close(L.hinge(x, y, {reduction = "none"}), {0.5, 3, 4, 0})
    assert_close(L.hinge(x, y), 7.5 / 4)
    assert_close(L.hinge(x, y, {margin = 2, reduction = "sum"}), 1.5 + 4 + 5 + 0)
    assert_error(function() L.hinge(x, d({1, 0, 1, 1})) end, "bad argument #2 to 'hinge' (target values must be -1 or 1)")
    local p = d({0.3, -0.4, 2.5}):requires_grad_()
    check_grad(function(a) return L.hinge(a, d({1, -1, 1})) end, {p})
end

---------------------------------------------------------------- classes

TestClasses = {}

local X = {{1, 2, 3}, {1, 1, 1}}

function TestClasses:test_cross_entropy_values()
    local x = d(X)
    local l1, l2 = lse(X[1]) - 3, math.log(3)
    assert_close(L.cross_entropy(x, {3, 1}), (l1 + l2) / 2, 1e-12)
    assert_close(L.cross_entropy(x, mf.tensor({3, 1}, "int64"), {reduction = "none"}), {l1, l2}, 1e-12)
    assert_close(L.cross_entropy(x, {3, 1}, {reduction = "sum"}), l1 + l2, 1e-12)
    -- class weights: the mean divides by the weights of the targets
    assert_close(L.cross_entropy(x, {3, 1}, {weight = d({1, 2, 3})}), (3 * l1 + l2) / 4, 1e-12)
    assert_close(L.cross_entropy(x, {3, 1}, {weight = {1, 2, 3}, reduction = "none"}), {3 * l1, l2}, 1e-12)
    -- one score vector and one class
    assert_close(L.cross_entropy(d(X[1]), 3), l1, 1e-12)
    -- stable for huge logits
    assert_close(L.cross_entropy(mf.tensor({{1000, 0}, {0, 1000}}), {2, 2}, {reduction = "none"}), {1000, 0})
end

function TestClasses:test_label_smoothing()
    local x = d(X)
    local eps = 0.1
    -- (1 - eps) nll + eps / C * sum_c -log p_c
    local function smooth(row) return 3 * lse(row) - (row[1] + row[2] + row[3]) end
    local nll = {lse(X[1]) - 3, math.log(3)}
    local want = {(1 - eps) * nll[1] + eps / 3 * smooth(X[1]), (1 - eps) * nll[2] + eps / 3 * smooth(X[2])}
    assert_close(L.cross_entropy(x, {3, 1}, {label_smoothing = eps, reduction = "none"}), want, 1e-12)
    assert_close(L.cross_entropy(x, {3, 1}, {label_smoothing = eps}), (want[1] + want[2]) / 2, 1e-12)
    -- the same as probability targets smoothed by hand
    local probs = d({{eps / 3, eps / 3, 1 - eps + eps / 3}, {1 - eps + eps / 3, eps / 3, eps / 3}})
    assert_close(L.cross_entropy(x, probs), (want[1] + want[2]) / 2, 1e-12)
    -- with weights (PyTorch: the smoothing term is divided by the targets' weights too)
    local w = d({1, 2, 3})
    local logp = {}
    for i, row in ipairs(X) do
        logp[i] = {}
        for c = 1, 3 do logp[i][c] = row[c] - lse(row) end
    end
    local sm = 0
    for i = 1, 2 do for c = 1, 3 do sm = sm - logp[i][c] * w[c] end end
    local wnll = (3 * nll[1] + nll[2]) / 4
    assert_close(L.cross_entropy(x, {3, 1}, {weight = w, label_smoothing = eps}),
                 (1 - eps) * wnll + eps / 3 * sm / 4, 1e-12)
end

function TestClasses:test_probability_targets()
    local x = d(X)
    local onehot = d({{0, 0, 1}, {1, 0, 0}})
    assert_close(L.cross_entropy(x, onehot), L.cross_entropy(x, {3, 1}):item(), 1e-12)
    local soft = d({{0.5, 0.5, 0}, {0.2, 0.3, 0.5}})
    local want1 = 0.5 * (lse(X[1]) - 1) + 0.5 * (lse(X[1]) - 2)
    assert_close(L.cross_entropy(x, soft, {reduction = "none"}), {want1, math.log(3)}, 1e-12)
end

function TestClasses:test_extra_dims()
    -- (N, C, d) input: the class dim is 2
    mf.manual_seed(4)
    local x = mf.randn(2, 3, 4, "float64")
    local t = mf.randint(1, 4, {2, 4})
    local flat_x = x:transpose(2, 3):reshape(-1, 3)
    local flat_t = t:reshape(-1)
    assert_close(L.cross_entropy(x, t), L.cross_entropy(flat_x, flat_t):item(), 1e-12)
    lu.assertEquals(L.cross_entropy(x, t, {reduction = "none"}):shape(), {2, 4})
end

function TestClasses:test_nll()
    local x = d(X)
    local logp = nn.LogSoftmax(2)(x)
    assert_close(L.nll(logp, {3, 1}), L.cross_entropy(x, {3, 1}):item(), 1e-12)
    assert_close(L.nll(d({{-1, -2}, {-3, -4}}), {2, 1}, {reduction = "none"}), {2, 3})
    assert_close(L.nll(d({{-1, -2}, {-3, -4}}), {2, 1}, {weight = d({1, 3})}), (6 + 3) / 4)
end

function TestClasses:test_gradients()
    mf.manual_seed(9)
    local x = gradcheck.leaf({4, 3})
    local t = mf.tensor({1, 3, 3, 2}, "int64")
    local w = d({0.5, 1, 2})
    check_grad(function(a) return L.cross_entropy(a, t) end, {x})
    check_grad(function(a) return L.cross_entropy(a, t, {weight = w, label_smoothing = 0.2}) end, {x})
    check_grad(function(a) return L.cross_entropy(a, t, {reduction = "none"}) end, {x})
    local probs = mf.rand(4, 3, "float64")
    check_grad(function(a) return L.cross_entropy(a, probs) end, {x})
    check_grad(function(a) return L.nll(a, t, {weight = w}) end, {x})
    -- closed form: (softmax - onehot) / N
    local y = d(X):requires_grad_()
    L.cross_entropy(y, {3, 1}):backward()
    local e = {math.exp(1), math.exp(2), math.exp(3)}
    local s = e[1] + e[2] + e[3]
    assert_close(y.grad, {{e[1] / s / 2, e[2] / s / 2, (e[3] / s - 1) / 2}, {(1 / 3 - 1) / 2, 1 / 6, 1 / 6}}, 1e-12)
end

function TestClasses:test_errors()
    local x = d(X)
    assert_error(function() L.cross_entropy(x, {4, 1}) end,
                 "bad argument #2 to 'cross_entropy' (class index 4 out of range for 3 classes (expected 1..3))")
    assert_error(function() L.cross_entropy(x, {0, 1}) end, "class index 0 out of range for 3 classes",
                 "class indices are 1-based")
    assert_error(function() L.nll(x, {-1, 1}) end, "bad argument #2 to 'nll' (class index -1 out of range")
    assert_error(function() L.cross_entropy(x, {1, 2, 3}) end,
                 "target shape [3] does not match input shape [2x3] (expected [2])")
    assert_error(function() L.cross_entropy(x, mf.tensor({1, 2})) end,
                 "class indices must be an int64 tensor (target:long()), got float32 [2] for input [2x3]")
    assert_error(function() L.cross_entropy(x, {1.5, 2}) end, "not an integer")
    assert_error(function() L.cross_entropy(x, {1, 2}, {weight = d({1, 2})}) end,
                 "weight must have shape [3] (one per class), got [2]")
    assert_error(function() L.cross_entropy(x, {1, 2}, {label_smoothing = 2}) end, "label_smoothing must be in [0, 1]")
    assert_error(function() L.cross_entropy(mf.tensor(1), 1) end, "got a 0-D tensor")
end

---------------------------------------------------------------- shared behaviour

TestCommon = {}

function TestCommon:test_shape_mismatch_names_both_shapes()
    for _, name in ipairs({"mse", "mae", "huber", "bce", "bce_with_logits", "hinge"}) do
        assert_error(function() L[name](mf.zeros(4, 1), mf.ones(4)) end,
                     ("bad argument #2 to '%s' (target shape [4] does not match input shape [4x1])"):format(name))
    end
end

function TestCommon:test_options_are_checked()
    assert_error(function() L.mse(d({1}), d({1}), {reduce = "sum"}) end,
                 "bad argument #3 to 'mse' (unknown option 'reduce' (expected one of: reduction))")
    assert_error(function() L.mae(d({1}), d({1}), {reduction = "avg"}) end,
                 "bad argument #3 to 'mae' (reduction must be 'mean', 'sum' or 'none', got 'avg')")
    assert_error(function() L.cross_entropy(d(X), {1, 1}, {smoothing = 0.1}) end,
                 "expected one of: reduction, weight, label_smoothing")
    assert_error(function() L.mse(3, d({1})) end, "bad argument #1 to 'mse' (tensor expected, got number)")
    assert_error(function() L.mse(d({1}), "x") end, "bad argument #2 to 'mse' (tensor expected, got string)")
end

function TestCommon:test_loss_modules()
    local p, t = d({1, 2, 3}), d({1, 0, 5})
    assert_close(nn.MSELoss()(p, t), 8 / 3)
    assert_close(nn.MSELoss{reduction = "sum"}(p, t), 8)
    assert_close(nn.L1Loss()(p, t), 4 / 3)
    assert_close(nn.HuberLoss{delta = 2}(d({3}), d({0})), 4)
    assert_close(nn.BCELoss()(d({0.5}), d({1})), math.log(2))
    assert_close(nn.BCEWithLogitsLoss{pos_weight = 2}(d({0}), d({1})), 2 * math.log(2))
    assert_close(nn.CrossEntropyLoss{label_smoothing = 0.1}(d(X), {3, 1}),
                 L.cross_entropy(d(X), {3, 1}, {label_smoothing = 0.1}):item(), 1e-12)
    assert_close(nn.NLLLoss()(d({{-1, -2}}), {2}), 2)
    assert_close(nn.HingeLoss()(d({0.5}), d({1})), 0.5)
    lu.assertEquals(tostring(nn.CrossEntropyLoss{reduction = "sum", label_smoothing = 0.1}),
                    "CrossEntropyLoss(reduction=sum, label_smoothing=0.1)")
    lu.assertEquals(tostring(nn.MSELoss()), "MSELoss()")
    assert_error(function() nn.MSELoss{reduce = "sum"} end,
                 "bad argument #1 to 'MSELoss' (unknown option 'reduce' (expected one of: reduction))")
    -- a class weight is a buffer of the module (as in PyTorch)
    local ce = nn.CrossEntropyLoss{weight = d({1, 2, 3})}
    lu.assertEquals(#ce:parameters(), 0)
    lu.assertNotNil(ce:state_dict().weight)
end

os.exit(lu.LuaUnit.run(), true)
