-- mf.nn: the Module class system (fields, parameters, state dicts, modes,
-- printing, summary), the layers, and a long training loop's memory.
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local assert_error = require("support").assert_error
local gradcheck = require "gradcheck"
local mf = require "moonforge"
local nn = mf.nn

local function assert_close(t, expected, tol)
    tol = tol or 1e-5
    local got = mf.is_tensor(t) and t:totable() or t
    local function cmp(a, b, path)
        if type(b) == "table" then
            lu.assertEquals(#a, #b, "length at " .. path)
            for i = 1, #b do cmp(a[i], b[i], path .. "[" .. i .. "]") end
        else
            lu.assertTrue(math.abs(a - b) <= tol * (1 + math.abs(b)),
                          ("%s: got %.9g, expected %.9g"):format(path, a, b))
        end
    end
    cmp(got, expected, "")
end

local function check_grad(fn, inputs, opts)
    local msg = gradcheck.check(fn, inputs, opts)
    lu.assertNil(msg, msg)
end

local function names(iter)
    local list = {}
    for name in iter do list[#list + 1] = name end
    return list
end

---------------------------------------------------------------- Linear

TestLinear = {}

function TestLinear:test_init_is_pytorch_default_and_seeded()
    mf.manual_seed(0)
    local l = nn.Linear(3, 2)
    lu.assertEquals(l.weight:shape(), {2, 3})
    lu.assertEquals(l.bias:shape(), {2})
    -- fixed values after a seed (U(-1/sqrt(3), 1/sqrt(3)) from mf.rand)
    assert_close(l.weight, {{0.1169, 0.2861, -0.4584}, {-0.0963, 0.2690, 0.5771}}, 1e-3)
    assert_close(l.bias, {-0.0898, 0.0412}, 1e-3)
    -- the same draws: weight first, then bias
    mf.manual_seed(0)
    local bound = 1 / math.sqrt(3)
    local w, b = mf.rand(2, 3) * (2 * bound) - bound, mf.rand(2) * (2 * bound) - bound
    lu.assertTrue(mf.equal(w, l.weight:detach()))
    lu.assertTrue(mf.equal(b, l.bias:detach()))
    -- bounds on a bigger layer
    local big = nn.Linear(100, 50)
    local bnd = 1 / math.sqrt(100)
    lu.assertTrue(big.weight:amax():item() < bnd and big.weight:amin():item() >= -bnd)
    lu.assertTrue(big.weight.requires_grad and big.weight.is_leaf and big.bias.requires_grad)
end

function TestLinear:test_forward_values()
    local l = nn.Linear(2, 3)
    mf.no_grad(function()
        l.weight:copy_(mf.tensor({{1, 2}, {3, 4}, {5, 6}}))
        l.bias:copy_(mf.tensor({0.5, -0.5, 1}))
    end)
    local y = l(mf.tensor({{1, 1}, {2, -1}}))
    assert_close(y, {{3.5, 6.5, 12}, {0.5, 1.5, 5}})
    -- a 1-D input and a batch of batches
    assert_close(l(mf.tensor({1, 0})), {1.5, 2.5, 6})
    lu.assertEquals(l(mf.zeros(4, 5, 2)):shape(), {4, 5, 3})
    lu.assertTrue(mf.equal(l:forward(mf.ones(2)), l(mf.ones(2))))
end

function TestLinear:test_options_and_errors()
    local l = nn.Linear(4, 2, {bias = false})
    lu.assertNil(l.bias)
    lu.assertEquals(#l:parameters(), 1)
    lu.assertEquals(nn.Linear(2, 2, {dtype = "float64"}).weight:dtype(), "float64")
    assert_error(function() nn.Linear(4, 2, {bais = true}) end,
                 "bad argument #3 to 'Linear' (unknown option 'bais' (expected one of: bias, dtype))")
    assert_error(function() nn.Linear(0, 2) end, "bad argument #1 to 'Linear'", "in_features")
    assert_error(function() nn.Linear(4, 2.5) end, "bad argument #2 to 'Linear'", "out_features")
    assert_error(function() nn.Linear(4, 2, {dtype = "int64"}) end, "dtype")
    assert_error(function() l(mf.zeros(3, 5)) end, "expected input with last dim 4, got [3x5]")
    assert_error(function() l(42) end, "tensor expected, got number")
end

function TestLinear:test_gradients()
    local l = nn.Linear(3, 2, {dtype = "float64"})
    local x = gradcheck.leaf({4, 3})
    check_grad(function(a) return l(a) end, {x, l.weight, l.bias})
end

---------------------------------------------------------------- activations

TestActivations = {}

function TestActivations:test_values()
    local x = mf.tensor({-2, -0.5, 0, 1.5}, "float64")
    assert_close(nn.ReLU()(x), {0, 0, 0, 1.5})
    assert_close(nn.LeakyReLU()(x), {-0.02, -0.005, 0, 1.5})
    assert_close(nn.LeakyReLU(0.2)(x), {-0.4, -0.1, 0, 1.5})
    assert_close(nn.LeakyReLU{negative_slope = 0.2}(x), {-0.4, -0.1, 0, 1.5})
    assert_close(nn.ELU()(x), {math.exp(-2) - 1, math.exp(-0.5) - 1, 0, 1.5})
    assert_close(nn.ELU(2)(x), {2 * (math.exp(-2) - 1), 2 * (math.exp(-0.5) - 1), 0, 1.5})
    -- GELU(x) = x Phi(x): Phi(-2) = 0.0227501319, Phi(-0.5) = 0.3085375387, Phi(1.5) = 0.9331927987
    assert_close(nn.GELU()(x), {-2 * 0.0227501319, -0.5 * 0.3085375387, 0, 1.5 * 0.9331927987}, 1e-8)
    assert_close(nn.GELU("tanh")(x), {-0.04540230, -0.15428599, 0, 1.39957106}, 1e-6)
    assert_close(nn.Sigmoid()(x), {1 / (1 + math.exp(2)), 1 / (1 + math.exp(0.5)), 0.5, 1 / (1 + math.exp(-1.5))})
    assert_close(nn.Tanh()(x), {math.tanh and math.tanh(-2) or -0.9640275801, -0.4621171573, 0, 0.9051482536})
    assert_close(nn.Softplus()(x), {math.log(1 + math.exp(-2)), math.log(1 + math.exp(-0.5)), math.log(2),
                                   math.log(1 + math.exp(1.5))}, 1e-9)
    -- ELU stays finite (no overflow in the unused branch)
    assert_close(nn.ELU()(mf.tensor({1000, -1000})), {1000, -1})
    assert_close(nn.Softplus()(mf.tensor({1000, -1000}, "float64")), {1000, 0})
end

function TestActivations:test_softmax()
    local x = mf.tensor({{1, 2, 3}, {1000, 1000, 1000}}, "float64")
    local e = {math.exp(1), math.exp(2), math.exp(3)}
    local s = e[1] + e[2] + e[3]
    local sm = nn.Softmax(2)(x)
    assert_close(sm, {{e[1] / s, e[2] / s, e[3] / s}, {1 / 3, 1 / 3, 1 / 3}}, 1e-12)
    assert_close(nn.LogSoftmax(2)(x), {{1 - math.log(s), 2 - math.log(s), 3 - math.log(s)},
                                       {-math.log(3), -math.log(3), -math.log(3)}}, 1e-12)
    -- dim 1 and negative dims
    assert_close(nn.Softmax(1)(x):sum(1), {1, 1, 1}, 1e-12)
    lu.assertTrue(mf.allclose(nn.Softmax(-1)(x), sm))
    -- huge and tiny logits stay finite
    local big = nn.LogSoftmax(1)(mf.tensor({-1e4, 0, 1e4}))
    lu.assertTrue(big:isfinite():all():item())
    assert_close(big, {-2e4, -1e4, 0})
    assert_error(function() nn.Softmax() end, "bad argument #1 to 'Softmax'", "dim must be an integer")
    assert_error(function() nn.Softmax(3)(x) end, "dim 3 out of range for a 2-D tensor")
end

function TestActivations:test_gradients()
    local x = gradcheck.leaf({3, 4})
    for _, m in ipairs({nn.ReLU(), nn.LeakyReLU(0.1), nn.ELU(1.5), nn.GELU(), nn.GELU("tanh"),
                        nn.Sigmoid(), nn.Tanh(), nn.Softplus(), nn.Softmax(2), nn.LogSoftmax(1)}) do
        local msg = gradcheck.check(function(a) return m(a) end, {x})
        lu.assertNil(msg, tostring(m) .. ": " .. tostring(msg))
    end
end

function TestActivations:test_gradients_at_zero()
    -- PyTorch's values at the kinks: ELU'(0) = alpha, LeakyReLU'(0) = slope,
    -- softplus'(0) = 1/2
    local function grad_at_zero(m)
        local z = mf.zeros(1, "float64"):requires_grad_()
        m(z):sum():backward()
        return z.grad[1]
    end
    lu.assertAlmostEquals(grad_at_zero(nn.ELU(2)), 2, 1e-12)
    lu.assertAlmostEquals(grad_at_zero(nn.LeakyReLU(0.1)), 0.1, 1e-12)
    lu.assertAlmostEquals(grad_at_zero(nn.Softplus()), 0.5, 1e-12)
    lu.assertAlmostEquals(grad_at_zero(nn.GELU()), 0.5, 1e-12)
    -- no NaN from the branch that is not taken
    local x = mf.tensor({1000, -1000}, "float64"):requires_grad_()
    nn.ELU()(x):sum():backward()
    assert_close(x.grad, {1, 0})
    x:zero_grad()
    nn.Softplus()(x):sum():backward()
    assert_close(x.grad, {1, 0})
end

function TestActivations:test_options()
    assert_error(function() nn.LeakyReLU{slope = 1} end, "unknown option 'slope' (expected one of: negative_slope)")
    assert_error(function() nn.ELU("x") end, "alpha must be a number")
    assert_error(function() nn.GELU("fast") end, "approximate must be 'none' or 'tanh'")
    assert_error(function() nn.ReLU(true) end, "bad argument #1 to 'ReLU' (unexpected argument (boolean))")
    lu.assertEquals(tostring(nn.LeakyReLU(0.2)), "LeakyReLU(negative_slope=0.2)")
    lu.assertEquals(tostring(nn.Softmax(2)), "Softmax(dim=2)")
end

---------------------------------------------------------------- Dropout

TestDropout = {}

function TestDropout:test_train_zeroes_and_scales()
    mf.manual_seed(7)
    local d = nn.Dropout(0.25)
    local y = d(mf.ones(200, 100))
    local zeros = y:eq(0):sum():item()
    lu.assertTrue(math.abs(zeros / 20000 - 0.25) < 0.02, "fraction of zeros " .. zeros / 20000)
    -- kept elements are scaled by 1/(1-p)
    lu.assertTrue(mf.logical_or(y:eq(0), y:eq(1 / 0.75)):all():item())
    -- the mask comes from mf.rand: a seed reproduces it
    mf.manual_seed(3)
    local a = d(mf.ones(10))
    mf.manual_seed(3)
    lu.assertTrue(mf.equal(a, d(mf.ones(10))))
    mf.manual_seed(3)
    local keep = mf.rand(10):ge(0.25)
    lu.assertTrue(mf.equal(a, keep:float() / 0.75))
end

function TestDropout:test_eval_and_edge_cases()
    local d = nn.Dropout(0.5)
    local x = mf.randn(5, 5)
    d:eval()
    lu.assertFalse(d.training)
    lu.assertTrue(rawequal(d(x), x))
    d:train()
    lu.assertTrue(d.training)
    lu.assertTrue(rawequal(nn.Dropout(0)(x), x))
    lu.assertEquals(nn.Dropout(1)(x):abs():sum():item(), 0)
    lu.assertEquals(nn.Dropout().p, 0.5)
    assert_error(function() nn.Dropout(1.5) end, "bad argument #1 to 'Dropout'", "[0, 1]")
    lu.assertEquals(tostring(nn.Dropout(0.1)), "Dropout(p=0.1)")
end

function TestDropout:test_gradient_is_the_mask()
    mf.manual_seed(11)
    local x = mf.ones(50, "float64"):requires_grad_()
    local y = nn.Dropout(0.5)(x)
    y:sum():backward()
    lu.assertTrue(mf.equal(x.grad, y:detach()))
end

---------------------------------------------------------------- BatchNorm1d

TestBatchNorm = {}

function TestBatchNorm:test_training_normalizes_and_updates_running_stats()
    local bn = nn.BatchNorm1d(2)
    local x = mf.tensor({{1, 10}, {2, 20}, {3, 30}, {6, 0}})
    local y = bn(x)
    -- per channel: mean 0, biased variance 1 (up to eps)
    assert_close(y:mean(1), {0, 0}, 1e-6)
    assert_close(y:var(1, {unbiased = false}), {1, 1}, 1e-4)
    -- channel 1: mean 3, biased var 3.5, unbiased var 14/3
    assert_close(y:select(2, 1), {-2 / math.sqrt(3.5 + 1e-5), -1 / math.sqrt(3.5 + 1e-5), 0,
                                  3 / math.sqrt(3.5 + 1e-5)}, 1e-5)
    -- running = 0.9 running + 0.1 batch (unbiased variance)
    assert_close(bn.running_mean, {0.3, 1.5}, 1e-6)
    assert_close(bn.running_var, {0.9 + 0.1 * 14 / 3, 0.9 + 0.1 * 500 / 3}, 1e-5)
    lu.assertEquals(bn.num_batches_tracked:item(), 1)
    lu.assertFalse(bn.running_mean.requires_grad)
    bn(x)
    lu.assertEquals(bn.num_batches_tracked:item(), 2)
end

function TestBatchNorm:test_eval_uses_running_stats()
    local bn = nn.BatchNorm1d(2, {eps = 0})
    mf.no_grad(function()
        bn.running_mean:copy_(mf.tensor({1, 2}))
        bn.running_var:copy_(mf.tensor({4, 16}))
        bn.weight:copy_(mf.tensor({2, 1}))
        bn.bias:copy_(mf.tensor({0, 1}))
    end)
    bn:eval()
    assert_close(bn(mf.tensor({{3, 6}})), {{2, 2}})   -- a batch of one is fine in eval
    assert_close(bn.running_mean, {1, 2})            -- unchanged
end

function TestBatchNorm:test_options_and_3d_input()
    local bn = nn.BatchNorm1d(3, {affine = false, momentum = 0.5})
    lu.assertEquals(#bn:parameters(), 0)
    local x = mf.randn(4, 3, 5)
    local y = bn(x)
    lu.assertEquals(y:shape(), {4, 3, 5})
    -- statistics over N and L
    local per_channel = y:transpose(2, 3):reshape(-1, 3)
    assert_close(per_channel:mean(1), {0, 0, 0}, 1e-5)
    assert_close(bn.running_mean, (x:transpose(2, 3):reshape(-1, 3):mean(1) * 0.5):totable(), 1e-5)
    local plain = nn.BatchNorm1d(3, {track_running_stats = false})
    lu.assertNil(plain.running_mean)
    plain:eval()
    assert_close(plain(x):transpose(2, 3):reshape(-1, 3):mean(1), {0, 0, 0}, 1e-5)
    assert_error(function() nn.BatchNorm1d(3)(mf.zeros(1, 3)) end,
                 "expected more than 1 value per channel when training, got input [1x3]")
    assert_error(function() nn.BatchNorm1d(3)(mf.zeros(4, 2)) end, "expected (N, 3) or (N, 3, L) input, got [4x2]")
    assert_error(function() nn.BatchNorm1d(3, {mom = 1}) end, "unknown option 'mom'")
    lu.assertEquals(tostring(nn.BatchNorm1d(4)),
                    "BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)")
end

function TestBatchNorm:test_gradients()
    local bn = nn.BatchNorm1d(3, {dtype = "float64"})
    mf.no_grad(function()
        bn.weight:copy_(mf.tensor({1.5, -0.5, 2}))
        bn.bias:copy_(mf.tensor({0.1, 0.2, 0.3}))
    end)
    check_grad(function(a) return bn(a) end, {gradcheck.leaf({5, 3}), bn.weight, bn.bias}, {atol = 1e-5})
    bn:eval()
    check_grad(function(a) return bn(a) end, {gradcheck.leaf({5, 3}), bn.weight, bn.bias})
end

---------------------------------------------------------------- Embedding, Flatten, Sequential

TestLayers = {}

function TestLayers:test_embedding()
    mf.manual_seed(0)
    local e = nn.Embedding(5, 2)
    mf.manual_seed(0)
    lu.assertTrue(mf.equal(e.weight:detach(), mf.randn(5, 2)))   -- N(0, 1) init
    local w = e.weight:detach()
    local out = e(mf.tensor({{1, 5, 1}, {2, 3, 4}}, "int64"))
    lu.assertEquals(out:shape(), {2, 3, 2})
    lu.assertTrue(mf.equal(out[1][2], w[5]))                  -- 1-based rows
    lu.assertTrue(mf.equal(e({3}), w:narrow(1, 3, 1)))         -- Lua arrays work
    lu.assertEquals(e(mf.tensor(2, "int64")):shape(), {2})     -- 0-D index
    assert_error(function() e({6}) end, "bad argument #1 to 'Embedding' (index 6 out of range for 5 embeddings (expected 1..5))")
    assert_error(function() e({0}) end, "index 0 out of range")
    assert_error(function() e(mf.tensor({1.0})) end, "indices must be an int64 tensor, got float32")
    lu.assertEquals(tostring(e), "Embedding(5, 2)")
    -- gradients accumulate into the rows used
    local loss = e({1, 1, 3}):sum()
    loss:backward()
    assert_close(e.weight.grad, {{2, 2}, {0, 0}, {1, 1}, {0, 0}, {0, 0}})
end

function TestLayers:test_flatten()
    local x = mf.zeros(2, 3, 4, 5)
    lu.assertEquals(nn.Flatten()(x):shape(), {2, 60})
    lu.assertEquals(nn.Flatten(1)(x):shape(), {120})
    lu.assertEquals(nn.Flatten(2, 3)(x):shape(), {2, 12, 5})
    lu.assertEquals(nn.Flatten{start_dim = 3}(x):shape(), {2, 3, 20})
    assert_error(function() nn.Flatten(5)(x) end, "cannot flatten dims 5..-1 of a [2x3x4x5] tensor")
    lu.assertEquals(tostring(nn.Flatten()), "Flatten(start_dim=2, end_dim=-1)")
end

function TestLayers:test_sequential()
    local seq = nn.Sequential{nn.Linear(3, 4), nn.ReLU()}
    seq:add(nn.Linear(4, 2)):add(nn.Sigmoid())
    lu.assertEquals(#seq, 4)
    lu.assertEquals(seq[3].out_features, 2)
    local x = mf.randn(5, 3)
    local y = seq(x)
    local manual = seq[4](seq[3](seq[2](seq[1](x))))
    lu.assertTrue(mf.equal(y, manual))
    lu.assertEquals(names(seq:named_parameters()), {"1.weight", "1.bias", "3.weight", "3.bias"})
    -- varargs form; the list given is not modified
    local list = {nn.Tanh()}
    local s2 = nn.Sequential(nn.Tanh(), nn.ReLU())
    lu.assertEquals(#s2, 2)
    nn.Sequential(list)
    lu.assertNil(list.n)
    assert_error(function() nn.Sequential{nn.ReLU(), 3} end, "bad argument #1 to 'Sequential' (entry 2 is a number, expected a module)")
    assert_error(function() seq:add({}) end, "module expected")
    lu.assertEquals(tostring(nn.Sequential{nn.Linear(3, 4), nn.ReLU()}),
                    "Sequential(\n  (1): Linear(in_features=3, out_features=4, bias=true)\n  (2): ReLU()\n)")
end

---------------------------------------------------------------- the Module API

-- A user-defined module with every kind of field.
local Block = nn.Module:extend("Block")

function Block:init(n)
    self.fc1 = nn.Linear(n, n)
    self.norm = nn.BatchNorm1d(n)
    self.layers = {nn.Linear(n, n), nn.Tanh()}   -- a plain array of modules
    self.fc2 = nn.Linear(n, 1)
    self.scale = mf.ones(1):requires_grad_()      -- a parameter
    self.offset = mf.zeros(1)                     -- a buffer
    self._cache = mf.zeros(3):requires_grad_()    -- private: never walked
    self.name = "block"
end

function Block:forward(x)
    local h = self.norm(self.fc1(x)):relu()
    for _, layer in ipairs(self.layers) do h = layer(h) end
    return self.fc2(h) * self.scale + self.offset
end

TestModule = {}

function TestModule:test_user_module()
    mf.manual_seed(1)
    local b = Block(3)
    lu.assertEquals(b:class_name(), "Block")
    lu.assertTrue(nn.is_module(b))
    lu.assertFalse(nn.is_module({}))
    lu.assertTrue(b.training)
    local y = b(mf.randn(4, 3))
    lu.assertEquals(y:shape(), {4, 1})
    lu.assertEquals(tostring(Block), "class Block")
end

function TestModule:test_parameter_names_follow_definition_order()
    local b = Block(3)
    lu.assertEquals(names(b:named_parameters()), {
        "fc1.weight", "fc1.bias", "norm.weight", "norm.bias",
        "layers.1.weight", "layers.1.bias", "fc2.weight", "fc2.bias", "scale"})
    local params = b:parameters()
    lu.assertEquals(#params, 9)
    lu.assertTrue(rawequal(params[1], b.fc1.weight))
    lu.assertTrue(rawequal(params[9], b.scale))
    lu.assertEquals(names(b:named_buffers()), {
        "norm.running_mean", "norm.running_var", "norm.num_batches_tracked", "offset"})
    lu.assertEquals(b:num_parameters(), 12 + 6 + 12 + 4 + 1)
    local mods = names(b:named_modules())
    lu.assertEquals(mods, {"", "fc1", "norm", "layers.1", "layers.2", "fc2"})
    lu.assertEquals(names(b:named_children()), {"fc1", "norm", "layers.1", "layers.2", "fc2"})
end

function TestModule:test_shared_parameters_are_listed_once()
    local Tied = nn.Module:extend("Tied")
    function Tied:init()
        self.enc = nn.Linear(3, 3)
        self.dec = nn.Linear(3, 3)
        self.dec.weight = self.enc.weight         -- tied weights
        self.again = self.enc                      -- the same module twice
        self.self_ref = {owner = self}             -- a cycle
    end
    function Tied:forward(x) return self.dec(self.enc(x)) end
    local m = Tied()
    lu.assertEquals(names(m:named_parameters()), {"enc.weight", "enc.bias", "dec.bias"})
    lu.assertEquals(#m:modules(), 3)
    local loss = m(mf.randn(2, 3)):sum()
    loss:backward()
    lu.assertNotNil(m.enc.weight.grad)
end

function TestModule:test_subclasses_inherit()
    local Base = nn.Module:extend("Base")
    function Base:init(n) self.fc = nn.Linear(n, n) end
    function Base:forward(x) return self.fc(x) end
    local Twice = Base:extend("Twice")
    function Twice:init(n)
        Base.init(self, n)
        self.extra = nn.Linear(n, n)
    end
    function Twice:forward(x) return self.extra(Base.forward(self, x)) end
    local t = Twice(2)
    lu.assertEquals(names(t:named_parameters()), {"fc.weight", "fc.bias", "extra.weight", "extra.bias"})
    lu.assertEquals(t(mf.zeros(2)):shape(), {2})
    lu.assertEquals(t:class_name(), "Twice")
    local Empty = nn.Module:extend("Empty")
    assert_error(function() Empty()(mf.zeros(1)) end, "Empty:forward is not defined")
    assert_error(function() nn.Module:extend(3) end, "class name expected")
end

function TestModule:test_train_eval_and_zero_grad()
    local b = Block(3)
    lu.assertIs(b:eval(), b)
    lu.assertFalse(b.training)
    lu.assertFalse(b.norm.training)
    lu.assertFalse(b.layers[1].training)
    b:train()
    lu.assertTrue(b.norm.training and b.layers[2].training)
    b:train(false)
    lu.assertFalse(b.fc2.training)
    b:train()
    b(mf.randn(4, 3)):sum():backward()
    for _, p in ipairs(b:parameters()) do lu.assertNotNil(p.grad) end
    lu.assertIs(b:zero_grad(), b)
    for _, p in ipairs(b:parameters()) do lu.assertNil(p.grad) end
    -- apply visits every module
    local seen = 0
    b:apply(function() seen = seen + 1 end)
    lu.assertEquals(seen, 6)
end

function TestModule:test_state_dict_round_trip()
    mf.manual_seed(2)
    local a = Block(3)
    a(mf.randn(5, 3)) -- moves the running statistics
    local sd = a:state_dict()
    local keys = {}
    for k in pairs(sd) do keys[#keys + 1] = k end
    table.sort(keys)
    lu.assertEquals(keys, {"fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight", "layers.1.bias",
                           "layers.1.weight", "norm.bias", "norm.num_batches_tracked",
                           "norm.running_mean", "norm.running_var", "norm.weight", "offset", "scale"})
    lu.assertFalse(sd["fc1.weight"].requires_grad)   -- detached, same memory
    local b = Block(3)
    local res = b:load_state_dict(sd)
    lu.assertEquals(res, {missing_keys = {}, unexpected_keys = {}})
    for k, v in pairs(b:state_dict()) do lu.assertTrue(mf.equal(v, sd[k]), k) end
    lu.assertTrue(b.fc1.weight.requires_grad)          -- still a parameter
    a:eval()
    b:eval()
    local x = mf.randn(2, 3)
    lu.assertTrue(mf.equal(a(x), b(x)))
    -- the copy is independent
    mf.no_grad(function() a.fc1.weight:fill_(0) end)
    lu.assertFalse(mf.equal(a.fc1.weight, b.fc1.weight))
end

function TestModule:test_load_state_dict_errors()
    local m = nn.Sequential{nn.Linear(2, 2), nn.Linear(2, 1)}
    local sd = m:state_dict()
    local before = m[1].weight:clone()
    sd["3.weight"] = mf.zeros(1)
    sd["2.bias"] = nil
    assert_error(function() m:load_state_dict(sd) end,
                 "bad argument #1 to 'load_state_dict' (missing keys: 2.bias; unexpected keys: 3.weight)")
    local res = m:load_state_dict(sd, {strict = false})
    lu.assertEquals(res, {missing_keys = {"2.bias"}, unexpected_keys = {"3.weight"}})
    -- a shape mismatch is always an error, and nothing is copied before it is found
    local bad = m:state_dict()
    bad["1.weight"] = mf.ones(2, 2)
    bad["2.weight"] = mf.zeros(3, 2)
    assert_error(function() m:load_state_dict(bad, {strict = false}) end,
                 "size mismatch for 2.weight: [3x2] in the state dict, [1x2] in the model")
    lu.assertTrue(mf.equal(m[1].weight, before))
    assert_error(function() m:load_state_dict(m:state_dict(), {strcit = true}) end, "unknown option 'strcit'")
    assert_error(function() m:load_state_dict(42) end, "table expected, got number")
    local wrong = m:state_dict()
    wrong["1.bias"] = {1, 2}
    assert_error(function() m:load_state_dict(wrong) end, "value of '1.bias' is a table, expected a tensor")
end

function TestModule:test_to_dtype()
    local b = Block(3)
    local w = b.fc1.weight
    b:double()
    lu.assertEquals(b.fc1.weight:dtype(), "float64")
    lu.assertTrue(b.fc1.weight.requires_grad)
    lu.assertEquals(b.norm.running_mean:dtype(), "float64")
    lu.assertEquals(b.norm.num_batches_tracked:dtype(), "int64")
    assert_close(b.fc1.weight, w:totable(), 1e-7)
    lu.assertEquals(b(mf.randn(3, 3, "float64")):dtype(), "float64")
    assert_error(function() b:to("int64") end, "float dtype expected")
end

function TestModule:test_tostring_nested()
    local b = Block(2)
    lu.assertEquals(tostring(b), table.concat({
        "Block(",
        "  (fc1): Linear(in_features=2, out_features=2, bias=true)",
        "  (norm): BatchNorm1d(2, eps=1e-05, momentum=0.1, affine=true, track_running_stats=true)",
        "  (layers.1): Linear(in_features=2, out_features=2, bias=true)",
        "  (layers.2): Tanh()",
        "  (fc2): Linear(in_features=2, out_features=1, bias=true)",
        ")"}, "\n"))
    local outer = nn.Sequential{b, nn.Sigmoid()}
    lu.assertStrContains(tostring(outer), "  (1): Block(\n    (fc1): Linear")
end

function TestModule:test_summary()
    local model = nn.Sequential{nn.Linear(4, 8), nn.ReLU(), nn.BatchNorm1d(8), nn.Linear(8, 1)}
    local text = model:summary({2, 4})
    lu.assertEquals(model:num_parameters(), 40 + 16 + 9)
    lu.assertEquals(text, table.concat({
        "Layer (type)     Output shape  Param #",
        "======================================",
        "1 (Linear)       [2x8]              40",
        "2 (ReLU)         [2x8]               0",
        "3 (BatchNorm1d)  [2x8]              16",
        "4 (Linear)       [2x1]               9",
        "======================================",
        "Total params: 65",
        "Output shape: [2x1]"}, "\n"))
    -- modes are restored and the running statistics untouched
    lu.assertTrue(model[3].training)
    lu.assertEquals(model[3].num_batches_tracked:item(), 0)
    lu.assertNil(rawget(model[1], "forward"))
    -- nested modules, and an example tensor instead of a shape
    local b = Block(3)
    local s = b:summary(mf.randn(2, 3))
    lu.assertStrContains(s, "layers.1 (Linear)")
    lu.assertStrContains(s, "Total params: " .. b:num_parameters())
    local emb = nn.Sequential{nn.Embedding(10, 3), nn.Flatten()}
    lu.assertStrContains(emb:summary(mf.ones(2, 4, "int64")), "2 (Flatten)    [2x12]")
    assert_error(function() model:summary("x") end, "input shape (a Lua array) or tensor expected")
    -- an error in forward propagates, and the hooks are removed
    assert_error(function() model:summary({2, 5}) end, "expected input with last dim 4")
    lu.assertNil(rawget(model[1], "forward"))
end

---------------------------------------------------------------- memory

TestMemory = {}

function TestMemory:test_100k_training_steps_keep_memory_flat()
    mf.manual_seed(5)
    local model = nn.Linear(4, 1)
    local x, y = mf.randn(8, 4), mf.randn(8, 1)
    local params = model:parameters()
    local function update()
        for _, p in ipairs(params) do p:sub_(p.grad * 0.01) end
    end
    local function step()
        local loss = nn.losses.mse(model(x), y)
        loss:backward()
        mf.no_grad(update)
        model:zero_grad()
        return loss
    end
    local first
    for i = 1, 100 do
        local l = step()
        if i == 1 then first = l:item() end
    end
    -- full collections on both sides: what is left uncollected at either
    -- point depends on the collector's phase (and so on how much Lua code is
    -- loaded), not on leaks
    collectgarbage()
    collectgarbage()
    local base = mf.mem_in_use()
    local t0 = mf.clock()
    local last
    for _ = 1, 100000 do last = step() end
    local per_step = (mf.clock() - t0) / 100000
    collectgarbage()
    collectgarbage()
    local grown = mf.mem_in_use() - base
    lu.assertTrue(math.abs(grown) < 256 * 1024, ("tensor memory changed by %d bytes"):format(grown))
    lu.assertTrue(last:item() < first, "the loss went down")
    io.stderr:write(("  [100,000 steps of Linear(4, 1) + mse + backward + SGD: %.1f us/step]\n")
                    :format(per_step * 1e6))
end

os.exit(lu.LuaUnit.run(), true)
