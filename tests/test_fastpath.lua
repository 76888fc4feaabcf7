-- moonforge.fastpath: nn._fast_plan and the plan userdata, against the
-- generic path (autograd + mf.optim) written out in this file: same seed,
-- same batches, then losses, weights and optimizer state compared; switching
-- paths, schedulers, state dicts, inference, what falls back to the generic
-- path, errors, allocations per step and denormals.
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local assert_error = require("support").assert_error
local mf = require "moonforge"
local nn = mf.nn
local losses = mf.nn.losses
local F = nn.functional

local FLT_MIN = 1.1754943508222875e-38

---------------------------------------------------------------- helpers

-- nn.Sequential of Linear layers (widths) with activation module names
-- after each ("relu", "sigmoid", "tanh", "softmax", or false for none).
local ACT = { relu = nn.ReLU, sigmoid = nn.Sigmoid, tanh = nn.Tanh }
local function mlp(seed, widths, acts, dtype)
    mf.manual_seed(seed)
    local mods = {}
    for i = 1, #widths - 1 do
        mods[#mods + 1] = nn.Linear(widths[i], widths[i + 1], { dtype = dtype })
        local a = acts[i]
        if a == "softmax" then mods[#mods + 1] = nn.Softmax(-1)
        elseif a then mods[#mods + 1] = ACT[a]() end
    end
    return nn.Sequential(mods)
end

-- The outputs before a final sigmoid/softmax module (the logits), else the
-- outputs: what the generic path feeds to the stable losses.
local function logits(model, x)
    local n = #model
    local last = model[n]:class()
    if last == nn.Sigmoid or last == nn.Softmax then n = n - 1 end
    for i = 1, n do x = model[i](x) end
    return x
end

local LOSS = {
    binary_crossentropy = function(z, t) return losses.bce_with_logits(z, t) end,
    categorical_crossentropy = function(z, t) return -(t * F.log_softmax(z, 2)):sum(2):mean() end,
    sparse_categorical_crossentropy = function(z, t) return losses.cross_entropy(z, t) end,
    mse = function(o, t) return losses.mse(o, t) end,
    mae = function(o, t) return losses.mae(o, t) end,
    huber = function(o, t) return losses.huber(o, t) end,
}

local CLASSIFICATION = { binary_crossentropy = true, categorical_crossentropy = true,
                         sparse_categorical_crossentropy = true }

-- One generic step on rows perm[first .. first+count-1]: classification
-- losses read the logits, regression losses the outputs.
local function generic_step(model, opt, loss, X, y, perm, first, count)
    local idx = perm:narrow(1, first, count)
    local xb, yb = X:index(1, idx), y:index(1, idx)
    local out = CLASSIFICATION[loss] and logits(model, xb) or model(xb)
    local l = LOSS[loss](out, yb)
    opt:zero_grad()
    l:backward()
    opt:step()
    return l:item()
end

-- Data for a loss: X [n x nin] and the prepared targets.
local function data(loss, n, nin, nout, dtype, seed)
    mf.manual_seed(seed or 99)
    local X = mf.randn(n, nin, dtype)
    local y
    if loss == "binary_crossentropy" then
        y = X:narrow(2, 1, nout):gt(0.2):to(dtype)
    elseif loss == "sparse_categorical_crossentropy" then
        y = mf.randint(1, nout + 1, { n })
    elseif loss == "categorical_crossentropy" then
        y = F.softmax(mf.randn(n, nout, dtype) * 2, 2)
    else
        y = mf.randn(n, nout, dtype) * 2
    end
    return X, y
end

local function max_rel_diff(a, b)
    local d = (a - b):abs():max():item()
    local s = b:abs():max():item()
    return d / (s > 0 and s or 1)
end

local function assert_same_model(m1, m2, tol, what)
    local p1, p2 = m1:parameters(), m2:parameters()
    lu.assertEquals(#p1, #p2)
    for i = 1, #p1 do
        local d = max_rel_diff(p1[i], p2[i])
        lu.assertTrue(d <= tol, ("%s: parameter %d differs by %g (relative)"):format(what or "", i, d))
    end
end

local function bitwise_same(a, b)
    return mf.equal(a, b)
end

---------------------------------------------------------------- fast = generic

TestFastMatchesGeneric = {}

-- steps of both paths from the same initial model and batches
local function compare(cfg)
    local dtype = cfg.dtype or "float32"
    local widths, acts = cfg.widths, cfg.acts
    local m1, m2 = mlp(cfg.seed or 5, widths, acts, dtype), mlp(cfg.seed or 5, widths, acts, dtype)
    local algo, opts = cfg.optim[1], cfg.optim[2]
    local o1, o2 = mf.optim[algo](m1:parameters(), opts), mf.optim[algo](m2:parameters(), opts)
    local plan = nn._fast_plan(m1, { loss = cfg.loss, optimizer = o1, metrics = { "accuracy" } })
    lu.assertNotNil(plan, cfg.loss)
    local X, y = data(cfg.loss, 96, widths[1], widths[#widths], dtype)
    mf.manual_seed(1)
    local perm = mf.randperm(96)
    -- float rounding: the sums run in another order (observed at most 2e-7
    -- in float32, 3e-16 in float64, relative to the largest entry)
    local tol = dtype == "float64" and 1e-12 or 2e-6
    local first = 1
    for step = 1, cfg.steps or 6 do
        local count = step == 3 and 7 or 16 -- a short batch in the middle
        local l1 = plan:train_batch(X, y, perm, first, count)
        local l2 = generic_step(m2, o2, cfg.loss, X, y, perm, first, count)
        lu.assertTrue(math.abs(l1 - l2) <= tol * (1 + math.abs(l2)),
                      ("%s step %d: loss %.10g vs %.10g"):format(cfg.loss, step, l1, l2))
        first = first + count
    end
    assert_same_model(m1, m2, tol, cfg.loss .. " " .. algo)
    -- the optimizer state: same step counts and buffers
    for i, p in ipairs(m1:parameters()) do
        local s1, s2 = o1.state[i], o2.state[i]
        lu.assertEquals(s1.step, s2.step)
        for k, v in pairs(s2) do
            if mf.is_tensor(v) then
                lu.assertTrue(mf.is_tensor(s1[k]), k)
                lu.assertTrue(max_rel_diff(s1[k], v) <= tol * 10, ("state %s of parameter %d"):format(k, i))
            end
        end
        lu.assertTrue(p.grad == nil) -- the fast path leaves .grad alone
    end
    plan:close()
    return m1, m2
end

function TestFastMatchesGeneric:test_bce_adam_w2_shape()
    compare { loss = "binary_crossentropy", widths = { 30, 64, 64, 1 }, acts = { "relu", "relu", "sigmoid" },
              optim = { "Adam", { lr = 1e-3 } } }
end

function TestFastMatchesGeneric:test_bce_float64_sgd_nesterov()
    compare { loss = "binary_crossentropy", widths = { 6, 9, 2 }, acts = { "tanh", "sigmoid" }, dtype = "float64",
              optim = { "SGD", { lr = 0.1, momentum = 0.9, nesterov = true, weight_decay = 1e-3 } } }
end

function TestFastMatchesGeneric:test_sparse_ce_adamw_amsgrad()
    compare { loss = "sparse_categorical_crossentropy", widths = { 20, 33, 5 }, acts = { "relu", "softmax" },
              optim = { "AdamW", { lr = 1e-2, amsgrad = true } } }
end

function TestFastMatchesGeneric:test_categorical_ce_float64_rmsprop()
    compare { loss = "categorical_crossentropy", widths = { 7, 12, 8, 4 }, acts = { "sigmoid", "relu", "softmax" },
              dtype = "float64", optim = { "RMSprop", { lr = 1e-2, momentum = 0.5 } } }
end

function TestFastMatchesGeneric:test_mse_identity_head_adagrad()
    compare { loss = "mse", widths = { 5, 16, 3 }, acts = { "relu", false }, dtype = "float64",
              optim = { "Adagrad", { lr = 0.05 } } }
end

function TestFastMatchesGeneric:test_mae_tanh_head_sgd()
    compare { loss = "mae", widths = { 4, 10, 2 }, acts = { "relu", "tanh" }, optim = { "SGD", { lr = 0.05, momentum = 0.5, dampening = 0.1 } } }
end

function TestFastMatchesGeneric:test_huber_sigmoid_head_float64()
    compare { loss = "huber", widths = { 4, 10, 2 }, acts = { "tanh", "sigmoid" }, dtype = "float64",
              optim = { "Adam", { lr = 1e-2, weight_decay = 0.01 } } }
end

function TestFastMatchesGeneric:test_no_bias_and_plain_lists()
    -- nested Sequential, Identity modules and a Linear without bias
    mf.manual_seed(3)
    local function build()
        mf.manual_seed(3)
        return nn.Sequential { nn.Sequential { nn.Linear(4, 6, { bias = false }), nn.Identity(), nn.ReLU() },
                               nn.Linear(6, 1), nn.Identity() }
    end
    local m1, m2 = build(), build()
    local o1, o2 = mf.optim.SGD(m1:parameters(), { lr = 0.1 }), mf.optim.SGD(m2:parameters(), { lr = 0.1 })
    local plan = nn._fast_plan(m1, { loss = "mse", optimizer = o1 })
    lu.assertNotNil(plan)
    local X, y = data("mse", 20, 4, 1, "float32")
    for first = 1, 17, 4 do
        plan:train_batch(X, y, nil, first, 4) -- nil indices: rows in order
        local xb, yb = X:narrow(1, first, 4), y:narrow(1, first, 4)
        local l = losses.mse(m2(xb), yb)
        o2:zero_grad()
        l:backward()
        o2:step()
    end
    assert_same_model(m1, m2, 1e-5)
end

function TestFastMatchesGeneric:test_gradients_match_autograd()
    local m = mlp(4, { 6, 8, 3 }, { "tanh", "softmax" }, "float64")
    local plan = nn._fast_plan(m, { loss = "sparse_categorical_crossentropy",
                                    optimizer = mf.optim.Adam(m:parameters()) })
    local X, y = data("sparse_categorical_crossentropy", 10, 6, 3, "float64")
    local l = plan:gradients(X, y, nil, 1, 10)
    local ref = losses.cross_entropy(logits(m, X), y)
    ref:backward()
    lu.assertAlmostEquals(l, ref:item(), 1e-12)
    for k, p in ipairs(m:parameters()) do
        lu.assertTrue(max_rel_diff(plan:grad(k), p.grad) < 1e-12, "gradient " .. k)
    end
end

function TestFastMatchesGeneric:test_dense_layers()
    if not nn.Dense then return end
    local function build(built)
        mf.manual_seed(12)
        local m = nn.Sequential { nn.Dense(16, { activation = "relu", input_dim = 8 }),
                                  nn.Dense(16, { activation = "tanh" }),
                                  nn.Dense(1, { activation = "sigmoid" }) }
        if built then m(mf.zeros(1, 8)) end -- builds the other layers
        return m
    end
    local lazy = build(false)
    lu.assertNil(nn._fast_plan(lazy, { loss = "binary_crossentropy", optimizer = mf.optim.Adam(lazy:parameters()) }),
                 "an unbuilt Dense layer has no weight yet")
    local m1, m2 = build(true), build(true)
    local o1, o2 = mf.optim.Adam(m1:parameters(), { lr = 1e-2 }), mf.optim.Adam(m2:parameters(), { lr = 1e-2 })
    local plan = nn._fast_plan(m1, { loss = "binary_crossentropy", optimizer = o1 })
    lu.assertNotNil(plan)
    local X, y = data("binary_crossentropy", 64, 8, 1, "float32")
    for first = 1, 49, 16 do
        plan:train_batch(X, y, nil, first, 16)
        local xb, yb = X:narrow(1, first, 16), y:narrow(1, first, 16)
        local h = m2[2](m2[1](xb))
        local l = losses.bce_with_logits(m2[3]:pre_activation(h), yb)
        o2:zero_grad()
        l:backward()
        o2:step()
    end
    assert_same_model(m1, m2, 1e-5)
    local probs = plan:forward(X)
    lu.assertTrue(max_rel_diff(probs, mf.no_grad(function() return m1(X) end)) < 1e-6)
end

---------------------------------------------------------------- living with the generic path

TestFastInterplay = {}

local function w2_setup(seed)
    local m = mlp(seed or 21, { 10, 16, 16, 1 }, { "relu", "relu", "sigmoid" })
    local opt = mf.optim.Adam(m:parameters(), { lr = 1e-2 })
    return m, opt
end

function TestFastInterplay:test_switching_paths_mid_training()
    local X, y = data("binary_crossentropy", 64, 10, 1, "float32")
    local m1, o1 = w2_setup()
    local m2, o2 = w2_setup()
    local plan = nn._fast_plan(m1, { loss = "binary_crossentropy", optimizer = o1 })
    local perm = mf.arange(1, 65):long()
    for s = 0, 5 do
        local first = s * 8 + 1
        if s < 3 then plan:train_batch(X, y, perm, first, 8)
        else generic_step(m1, o1, "binary_crossentropy", X, y, perm, first, 8) end
        generic_step(m2, o2, "binary_crossentropy", X, y, perm, first, 8)
    end
    -- and back to the fast path after generic steps
    plan:train_batch(X, y, perm, 49, 8)
    generic_step(m2, o2, "binary_crossentropy", X, y, perm, 49, 8)
    assert_same_model(m1, m2, 1e-5)
    lu.assertEquals(o1.state[1].step, 7)
    lu.assertEquals(o1._step_count, 7)
    lu.assertEquals(o1:state_dict().state[6].step, 7)
end

function TestFastInterplay:test_scheduler_changes_lr()
    local X, y = data("binary_crossentropy", 64, 10, 1, "float32")
    local m1, o1 = w2_setup()
    local m2, o2 = w2_setup()
    local s1 = mf.optim.lr_scheduler.StepLR(o1, { step_size = 1, gamma = 0.1 })
    local s2 = mf.optim.lr_scheduler.StepLR(o2, { step_size = 1, gamma = 0.1 })
    local plan = nn._fast_plan(m1, { loss = "binary_crossentropy", optimizer = o1 })
    for first = 1, 41, 8 do
        plan:train_batch(X, y, nil, first, 8)
        generic_step(m2, o2, "binary_crossentropy", X, y, mf.arange(1, 65):long(), first, 8)
        s1:step()
        s2:step()
    end
    assert_same_model(m1, m2, 1e-5)
    -- with lr 0 nothing moves
    o1.param_groups[1].lr = 0
    local before = m1[1].weight:clone()
    plan:train_batch(X, y, nil, 1, 8)
    lu.assertTrue(bitwise_same(before, m1[1].weight))
end

function TestFastInterplay:test_state_dicts_round_trip()
    local X, y = data("binary_crossentropy", 64, 10, 1, "float32")
    local m, opt = w2_setup()
    local plan = nn._fast_plan(m, { loss = "binary_crossentropy", optimizer = opt })
    plan:train_batch(X, y, nil, 1, 16)
    plan:train_batch(X, y, nil, 17, 16)
    local msd, osd = {}, {}
    for k, v in pairs(m:state_dict()) do msd[k] = v:clone() end
    for i, s in pairs(opt:state_dict().state) do
        osd[i] = {}
        for k, v in pairs(s) do osd[i][k] = mf.is_tensor(v) and v:clone() or v end
    end
    local groups = opt:state_dict().param_groups
    plan:train_batch(X, y, nil, 33, 16)
    plan:train_batch(X, y, nil, 49, 16)
    local after = {}
    for i, p in ipairs(m:parameters()) do after[i] = p:clone() end
    -- back to the saved point: new state tensors, weights copied in place
    m:load_state_dict(msd)
    opt:load_state_dict({ state = osd, param_groups = groups })
    lu.assertEquals(opt.state[1].step, 2)
    plan:train_batch(X, y, nil, 33, 16)
    plan:train_batch(X, y, nil, 49, 16)
    for i, p in ipairs(m:parameters()) do
        lu.assertTrue(bitwise_same(p, after[i]), "parameter " .. i)
    end
    lu.assertEquals(opt.state[1].step, 4)
end

function TestFastInterplay:test_forward_matches_model()
    for _, case in ipairs {
        { "binary_crossentropy", { 5, 7, 2 }, { "relu", "sigmoid" }, "float32" },
        { "sparse_categorical_crossentropy", { 5, 7, 4 }, { "tanh", "softmax" }, "float64" },
        { "mse", { 5, 7, 3 }, { "sigmoid", false }, "float32" },
    } do
        local m = mlp(8, case[2], case[3], case[4])
        local plan = nn._fast_plan(m, { loss = case[1], optimizer = mf.optim.SGD(m:parameters(), { lr = 0.1 }) })
        lu.assertNotNil(plan, case[1])
        local X = mf.randn(300, 5, case[4])
        local want = mf.no_grad(function() return m(X) end)
        local got = plan:forward(X)
        lu.assertEquals(got:shape(), want:shape())
        lu.assertEquals(got:dtype(), case[4])
        lu.assertTrue(max_rel_diff(got, want) < 1e-6, case[1])
        -- strided (a transposed view) and float64 into a float32 plan
        local Xt = X:t():contiguous():t()
        lu.assertFalse(Xt:is_contiguous())
        lu.assertTrue(mf.equal(plan:forward(Xt), got))
        lu.assertTrue(max_rel_diff(plan:forward(X:double()), want) < 1e-6)
        lu.assertEquals(plan:forward(mf.zeros(0, 5)):shape(), { 0, case[2][3] })
    end
end

function TestFastInterplay:test_weights_changed_outside_are_seen()
    local m, opt = w2_setup()
    local plan = nn._fast_plan(m, { loss = "binary_crossentropy", optimizer = opt })
    local X = mf.randn(4, 10)
    plan:forward(X)
    mf.no_grad(function() m[1].weight:mul_(0.5) end)
    lu.assertTrue(max_rel_diff(plan:forward(X), mf.no_grad(function() return m(X) end)) < 1e-6)
end

function TestFastInterplay:test_same_seed_same_bits()
    local function run()
        local m, opt = w2_setup(3)
        local X, y = data("binary_crossentropy", 128, 10, 1, "float32", 4)
        local plan = nn._fast_plan(m, { loss = "binary_crossentropy", optimizer = opt })
        mf.manual_seed(77)
        local losses_seen = {}
        for epoch = 1, 2 do
            local perm = mf.randperm(128)
            for first = 1, 128, 32 do losses_seen[#losses_seen + 1] = plan:train_batch(X, y, perm, first, 32) end
        end
        return m, losses_seen
    end
    local m1, l1 = run()
    local m2, l2 = run()
    lu.assertEquals(l1, l2)
    for i, p in ipairs(m1:parameters()) do lu.assertTrue(bitwise_same(p, m2:parameters()[i])) end
end

---------------------------------------------------------------- what the fast path takes

TestFastPlanChoice = {}

local function plan_for(model, loss, opt)
    return nn._fast_plan(model, { loss = loss, optimizer = opt or mf.optim.Adam(model:parameters()) })
end

function TestFastPlanChoice:test_unsupported_models_give_nil()
    local base = function() return mlp(1, { 3, 4, 1 }, { "relu", "sigmoid" }) end
    lu.assertNotNil(plan_for(base(), "binary_crossentropy"))
    lu.assertNotNil(plan_for(nn.Linear(3, 2), "mse")) -- one layer, no container
    -- layers and activations it does not run
    lu.assertNil(plan_for(nn.Sequential { nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 1), nn.Sigmoid() },
                          "binary_crossentropy"))
    lu.assertNil(plan_for(nn.Sequential { nn.Linear(3, 4), nn.LeakyReLU(), nn.Linear(4, 1) }, "mse"))
    lu.assertNil(plan_for(nn.Sequential { nn.Linear(3, 4), nn.ReLU(), nn.ReLU(), nn.Linear(4, 1) }, "mse"))
    lu.assertNil(plan_for(nn.Sequential { nn.ReLU(), nn.Linear(3, 1) }, "mse"))
    lu.assertNil(plan_for(nn.Sequential { nn.Linear(3, 4), nn.Softmax(1), nn.Linear(4, 2), nn.Softmax(2) },
                          "categorical_crossentropy"))
    lu.assertNil(plan_for(nn.Sequential { nn.Linear(3, 4), nn.Softmax(2), nn.Linear(4, 2) }, "mse"))
    -- a Linear whose forward is changed, a subclass, a custom module
    local odd = base()
    odd[1].forward = function(self, x) return x:matmul(self.weight:t()) * 2 end
    lu.assertNil(plan_for(odd, "binary_crossentropy"))
    local Sub = nn.Linear:extend("Sub")
    lu.assertNil(plan_for(nn.Sequential { Sub(3, 1), nn.Sigmoid() }, "binary_crossentropy"))
    local Custom = nn.Module:extend("Custom")
    function Custom:init() self.lin = nn.Linear(3, 1) end
    function Custom:forward(x) return self.lin(x) end
    lu.assertNil(plan_for(Custom(), "mse"))
    -- an extra parameter on the container, a frozen weight
    local extra = base()
    extra.scale = mf.ones(1):requires_grad_()
    lu.assertNil(plan_for(extra, "binary_crossentropy", mf.optim.Adam(base():parameters())))
    local frozen = base()
    frozen[1].weight.requires_grad = false
    lu.assertNil(plan_for(frozen, "binary_crossentropy", mf.optim.Adam(frozen:parameters())))
    -- mixed dtypes: core refuses, the caller gets nil
    local mixed = nn.Sequential { nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1, { dtype = "float64" }) }
    lu.assertNil(plan_for(mixed, "mse"))
end

function TestFastPlanChoice:test_losses_and_heads()
    local m = mlp(1, { 3, 4, 2 }, { "relu", false })
    lu.assertNil(plan_for(m, "binary_crossentropy")) -- no sigmoid head
    lu.assertNil(plan_for(m, "categorical_crossentropy"))
    lu.assertNil(plan_for(m, "poisson"))
    lu.assertNil(nn._fast_plan(m, { loss = function() end, optimizer = mf.optim.Adam(m:parameters()) }))
    lu.assertNotNil(plan_for(m, "huber"))
    lu.assertNotNil(plan_for(m, "mean_squared_error"))
    local s = mlp(1, { 3, 4, 2 }, { "relu", "softmax" })
    lu.assertNotNil(plan_for(s, "sparse_categorical_crossentropy"))
    lu.assertNil(plan_for(s, "mse")) -- softmax then mse: generic path
    lu.assertNil(plan_for(mlp(1, { 3, 4, 1 }, { "relu", "softmax" }), "categorical_crossentropy"))
end

function TestFastPlanChoice:test_optimizer_must_cover_the_model()
    local m = mlp(1, { 3, 4, 1 }, { "relu", "sigmoid" })
    local p = m:parameters()
    lu.assertNil(plan_for(m, "binary_crossentropy", mf.optim.Adam({ p[1], p[2], p[3] }))) -- no last bias
    lu.assertNil(plan_for(m, "binary_crossentropy", {}))
    lu.assertNil(nn._fast_plan(m, { loss = "binary_crossentropy" }))
    -- param groups with their own lr, and extra parameters, are fine
    local other = mf.zeros(2):requires_grad_()
    local opt = mf.optim.Adam({ { params = { p[3], p[4] }, lr = 0.5 }, { params = { other, p[1], p[2] } } })
    local plan = plan_for(m, "binary_crossentropy", opt)
    lu.assertNotNil(plan)
    local X, y = data("binary_crossentropy", 8, 3, 1, "float32")
    plan:train_batch(X, y, nil, 1, 8)
    lu.assertEquals(opt.state[1].step, 1)
    lu.assertNil(opt.state[3]) -- `other` untouched
    lu.assertEquals(opt.state[5].step, 1)
end

function TestFastPlanChoice:test_switch_off()
    local m = mlp(1, { 3, 4, 1 }, { "relu", "sigmoid" })
    nn.fast_path = false
    local ok, plan = pcall(plan_for, m, "binary_crossentropy")
    nn.fast_path = true
    lu.assertTrue(ok)
    lu.assertNil(plan)
end

---------------------------------------------------------------- resources and errors

TestFastResources = {}

function TestFastResources:test_steps_allocate_nothing()
    local m, opt = w2_setup()
    local X, y = data("binary_crossentropy", 512, 10, 1, "float32")
    local plan = nn._fast_plan(m, { loss = "binary_crossentropy", optimizer = opt, batch_size = 32 })
    local perm = mf.randperm(512)
    plan:train_batch(X, y, perm, 1, 32) -- makes the optimizer's state buffers
    collectgarbage()
    collectgarbage("stop")
    local allocs, kb = mf.mem_allocations(), collectgarbage("count")
    local total = 0
    for first = 33, 512, 32 do total = total + plan:train_batch(X, y, perm, first, 32) end
    local allocs_after, kb_after = mf.mem_allocations(), collectgarbage("count")
    collectgarbage("restart")
    lu.assertEquals(allocs_after, allocs, "core allocations during steps")
    lu.assertEquals(kb_after, kb, "Lua heap growth during steps")
    lu.assertTrue(total > 0)
end

function TestFastResources:test_errors_name_the_argument()
    local m, opt = w2_setup()
    local plan = nn._fast_plan(m, { loss = "binary_crossentropy", optimizer = opt })
    local X, y = data("binary_crossentropy", 20, 10, 1, "float32")
    local perm = mf.randperm(20)
    assert_error(function() plan:train_batch(mf.randn(20, 9), y, perm, 1, 4) end,
                 "bad argument #1 to 'train_batch'", "[20x9]", "[N x 10]")
    assert_error(function() plan:train_batch(X, y:narrow(1, 1, 19), perm, 1, 4) end,
                 "bad argument #2 to 'train_batch'", "[19x1]")
    assert_error(function() plan:train_batch(X, y:long(), perm, 1, 4) end, "bad argument #2", "int64")
    assert_error(function() plan:train_batch(X, y, perm, 0, 4) end, "bad argument #4", "first position 0",
                 "1..20")
    assert_error(function() plan:train_batch(X, y, perm, 18, 4) end, "bad argument #5", "count 4")
    assert_error(function() plan:train_batch(X, y, mf.tensor({ 1, 21 }, "int64"), 1, 2) end,
                 "bad argument #3", "indices[2] = 21", "1..20")
    assert_error(function() plan:train_batch(X, y, perm:float(), 1, 2) end, "bad argument #3", "int64")
    assert_error(function() plan:train_batch("X", y, perm, 1, 2) end, "bad argument #1", "tensor expected")
    assert_error(function() plan:forward(mf.randn(3, 4)) end, "bad argument #1 to 'forward'", "[3x4]")
    -- a sparse CE class out of range names the row (1-based)
    local s = mlp(1, { 10, 4, 3 }, { "relu", "softmax" })
    local sp = nn._fast_plan(s, { loss = "sparse_categorical_crossentropy", optimizer = mf.optim.Adam(s:parameters()) })
    assert_error(function() sp:train_batch(X, mf.tensor({ 1, 2, 3, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, "int64"),
                                           nil, 1, 8) end,
                 "bad argument #2", "class index 0 at row 4", "1..3")
    -- an optimizer whose groups changed under the plan
    opt.param_groups[1].params[2] = mf.zeros(16):requires_grad_()
    assert_error(function() plan:train_batch(X, y, perm, 1, 4) end, "no longer holds parameter 2")
    -- a plan without optimizer trains nothing; a closed plan is refused
    local bare = mf._plan_new { layers = { { weight = m[1].weight, bias = m[1].bias, activation = "relu" } },
                                loss = "mse" }
    assert_error(function() bare:train_batch(X, mf.randn(20, 16), nil, 1, 4) end, "without an optimizer")
    lu.assertStrContains(tostring(bare), "Plan(10 -> 16, float32)")
    bare:close()
    bare:close()
    lu.assertEquals(tostring(bare), "Plan(closed)")
    assert_error(function() bare:forward(X) end, "the plan is closed")
    do
        local p2 <close> = nn._fast_plan(m, { loss = "binary_crossentropy", optimizer = mf.optim.Adam(m:parameters()) })
        lu.assertNotNil(p2)
    end
end

function TestFastResources:test_bad_specs()
    local w = mf.randn(3, 2):requires_grad_()
    assert_error(function() mf._plan_new { layers = {}, loss = "mse" } end, "expected 1 to 32 layers")
    assert_error(function() mf._plan_new { layers = { { weight = w, activation = "gelu" } }, loss = "mse" } end,
                 "unknown activation 'gelu'")
    assert_error(function() mf._plan_new { layers = { { weight = w, activation = "relu" } }, loss = "poisson" } end,
                 "unknown loss 'poisson'")
    assert_error(function() mf._plan_new { layers = { { weight = w, activation = "relu" } }, loss = "binary_crossentropy" } end,
                 "needs a sigmoid last layer")
    assert_error(function() mf._plan_new { layers = { { weight = w:t(), activation = "relu" } }, loss = "mse" } end,
                 "contiguous")
end

-- Units that die during training (ReLU never active): their Adam moments
-- decay geometrically, and are stored as 0 once below FLT_MIN, never as
-- subnormals (which would slow every later step down).
function TestFastResources:test_dead_units_leave_no_subnormals()
    local m = mlp(2, { 4, 8, 1 }, { "relu", "sigmoid" })
    local opt = mf.optim.Adam(m:parameters(), { lr = 1e-3, betas = { 0.5, 0.999 } })
    local plan = nn._fast_plan(m, { loss = "binary_crossentropy", optimizer = opt })
    local X, y = data("binary_crossentropy", 64, 4, 1, "float32")
    for first = 1, 57, 8 do plan:train_batch(X, y, nil, first, 8) end
    -- kill units 1..4 of the hidden layer
    mf.no_grad(function() m[1].bias:narrow(1, 1, 4):fill_(-1e4) end)
    local m_before = opt.state[1].exp_avg:narrow(1, 1, 4):abs():max():item()
    lu.assertTrue(m_before > 1e-12)
    for step = 1, 200 do plan:train_batch(X, y, nil, (step % 8) * 8 + 1, 8) end
    -- 0.5^200: far below FLT_MIN; exactly zero, and no subnormal anywhere
    lu.assertEquals(opt.state[1].exp_avg:narrow(1, 1, 4):abs():max():item(), 0)
    for i = 1, #m:parameters() do
        for _, name in ipairs { "exp_avg", "exp_avg_sq" } do
            local t = opt.state[i][name]:abs()
            local sub = mf.logical_and(t:gt(0), t:lt(FLT_MIN)):sum():item()
            lu.assertEquals(sub, 0, ("%s of parameter %d holds subnormals"):format(name, i))
        end
    end
end

---------------------------------------------------------------- fit

TestFastFit = {}

-- model:fit takes the fast path for a supported model and gives the history
-- of the generic path (to float rounding).
function TestFastFit:test_fit_uses_the_plan()
    if not (nn.Dense and nn.Module.fit) then return end
    local function run(fast)
        mf.manual_seed(6)
        local model = nn.Sequential { nn.Dense(12, { activation = "relu", input_dim = 5 }),
                                      nn.Dense(1, { activation = "sigmoid" }) }
        model:compile { optimizer = mf.optim.Adam { lr = 1e-2 }, loss = "binary_crossentropy", metrics = { "accuracy" } }
        local X, y = data("binary_crossentropy", 200, 5, 1, "float32", 8)
        local made = 0
        local orig = nn._fast_plan
        nn._fast_plan = function(...)
            local p = orig(...)
            if p then made = made + 1 end
            return p
        end
        nn.fast_path = fast
        local ok, h = pcall(model.fit, model, X, y:reshape(-1), { epochs = 3, batch_size = 16, verbose = 0, seed = 3 })
        nn._fast_plan, nn.fast_path = orig, true
        lu.assertTrue(ok, tostring(h))
        return h.history, made
    end
    local fast, made = run(true)
    local slow, made_slow = run(false)
    lu.assertEquals(made, 1)
    lu.assertEquals(made_slow, 0)
    for i = 1, 3 do
        lu.assertAlmostEquals(fast.loss[i], slow.loss[i], 1e-4 * (1 + math.abs(slow.loss[i])))
        lu.assertAlmostEquals(fast.accuracy[i], slow.accuracy[i], 0.011)
    end
end

os.exit(lu.LuaUnit.run(), true)
