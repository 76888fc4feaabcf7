--- moonforge.fastpath — the C training step for MLPs (core/mf_plan.h).
--
-- nn._fast_plan(model, cfg) returns a plan that trains `model` one batch at
-- a time in C, or nil when the model is not one the fast path runs (the
-- caller then trains on the generic autograd path). cfg:
--
--   loss        a Keras loss name: "binary_crossentropy" (sigmoid last
--               layer), "categorical_crossentropy" or
--               "sparse_categorical_crossentropy" (softmax last layer),
--               "mse", "mae", "huber" (any last activation but softmax)
--   optimizer   an mf.optim optimizer over the model's parameters (SGD,
--               Adam, AdamW natively; RMSprop and Adagrad through
--               mf.optim's own kernels)
--   metrics     ignored (fit measures metrics from plan:forward)
--   batch_size  rows to reserve work buffers for (optional)
--
-- The model is an nn.Sequential (nested ones are flattened) of nn.Linear
-- and nn.Dense layers (activation "linear", "relu", "sigmoid", "tanh",
-- "softmax") and the activation modules nn.ReLU, nn.Sigmoid, nn.Tanh,
-- nn.Softmax (last, over dim 2 or -1) and nn.Identity, or one such layer.
-- Anything else — another module, a module whose forward is overridden, a
-- custom loss, shared or frozen parameters — gives nil.
--
-- The plan (a userdata; methods in lua/binding/lmf_plan.c):
--   plan:train_batch(X, y, indices, first, count) → mean loss of the batch,
--       after one optimizer step on rows indices[first .. first+count-1]
--       (1-based int64 positions; indices nil takes rows first.. in order)
--       of X [N x in] (float32 or float64) against y (float [N x out], or
--       [N] when out is 1; int64 [N] 1-based classes for sparse CE). The
--       model's own weight and bias tensors and the optimizer's own state
--       tensors and step counts are updated in place, as opt:step() does,
--       so the generic path can take over at any step and state_dict /
--       mf.save see the same values.
--   plan:forward(X) → outputs [N x out] (probabilities for sigmoid/softmax),
--       without a graph
--   plan:gradients(X, y, indices, first, count) → the loss; plan:grad(k)
--       the gradient of the k-th parameter (no update: for tests)
--   plan:close() (also __close, __gc)
--
-- mf.nn.fast_path = false turns the fast path off (every plan request
-- returns nil), e.g. to compare both paths.
local mf = require "moonforge"
local nn = mf.nn
local optim = mf.optim

local M = {}

nn.fast_path = true

local LOSSES = {
    binary_crossentropy = "binary_crossentropy", bce = "binary_crossentropy",
    categorical_crossentropy = "categorical_crossentropy",
    sparse_categorical_crossentropy = "sparse_categorical_crossentropy",
    mse = "mse", mean_squared_error = "mse",
    mae = "mae", mean_absolute_error = "mae",
    huber = "huber",
}

-- Dense activations by name ("linear": none).
local DENSE_ACTS = { linear = "identity", relu = "relu", sigmoid = "sigmoid", tanh = "tanh",
                     softmax = "softmax" }

local function is_class(m, cls)
    return cls ~= nil and m:class() == cls and rawget(m, "forward") == nil
end

-- The activation name of an activation module, "skip" for nn.Identity,
-- nil for anything else.
local function activation_of(m)
    if is_class(m, nn.ReLU) then return "relu" end
    if is_class(m, nn.Sigmoid) then return "sigmoid" end
    if is_class(m, nn.Tanh) then return "tanh" end
    if is_class(m, nn.Softmax) and (m.dim == -1 or m.dim == 2) then return "softmax" end
    if is_class(m, nn.Identity) then return "skip" end
    return nil
end

-- The modules of model in order (nested Sequentials flattened), or nil.
local function flatten(model, out)
    if is_class(model, nn.Sequential) then
        for i = 1, #model do
            if not nn.is_module(model[i]) or not flatten(model[i], out) then return nil end
        end
        return out
    end
    out[#out + 1] = model
    return out
end

local function is_param(t)
    return mf.is_tensor(t) and not t:is_freed() and t.requires_grad and t.is_leaf
end

-- {{weight, bias, activation}, ...} for a supported model, else nil.
local function layers_of(model)
    local mods = flatten(model, {})
    if not mods then return nil end
    local layers = {}
    for _, m in ipairs(mods) do
        local last = layers[#layers]
        if is_class(m, nn.Linear) or is_class(m, nn.Dense) then
            local act = "identity"
            if is_class(m, nn.Dense) then
                act = DENSE_ACTS[m.activation]
                if not act then return nil end
            end
            local w, b = rawget(m, "weight"), rawget(m, "bias")
            if not is_param(w) or (b ~= nil and not is_param(b)) then return nil end
            layers[#layers + 1] = { weight = w, bias = b, activation = act }
        else
            local act = activation_of(m)
            if not act then return nil end
            if act ~= "skip" then
                -- one activation per layer, after it
                if not last or last.activation ~= "identity" then return nil end
                last.activation = act
            end
        end
    end
    if #layers == 0 then return nil end
    return layers
end

-- The plan's parameters in order (weight, bias, weight, ...) must be the
-- model's, all of them: nothing else of the model would be trained.
local function same_params(model, layers)
    local list = {}
    for _, l in ipairs(layers) do
        list[#list + 1] = l.weight
        if l.bias then list[#list + 1] = l.bias end
    end
    local mp = model:parameters()
    if #mp ~= #list then return nil end
    for i = 1, #list do
        if not rawequal(mp[i], list[i]) then return nil end
    end
    return list
end

-- Where each parameter is in the optimizer: {group, index, pos}, or nil.
local function slots_of(opt, params)
    if getmetatable(opt) ~= optim.Optimizer then return nil end
    local where, pos = {}, 0
    for g, group in ipairs(opt.param_groups) do
        for i, p in ipairs(group.params) do
            pos = pos + 1
            if where[p] then return nil end
            where[p] = { group = g, index = i, pos = pos }
        end
    end
    local slots = {}
    for k, p in ipairs(params) do
        slots[k] = where[p]
        if not slots[k] then return nil end
    end
    return slots
end

local ALGOS = { SGD = true, Adam = true, AdamW = true, RMSprop = true, Adagrad = true }

--- nn._fast_plan(model, cfg) → a plan, or nil (see the top of this file).
function M.fast_plan(model, cfg)
    if not nn.fast_path or not nn.is_module(model) or type(cfg) ~= "table" then return nil end
    local loss = type(cfg.loss) == "string" and LOSSES[cfg.loss]
    if not loss then return nil end
    local opt = cfg.optimizer
    if type(opt) ~= "table" or not ALGOS[opt.algo] then return nil end
    local layers = layers_of(model)
    if not layers then return nil end
    local params = same_params(model, layers)
    if not params then return nil end
    local slots = slots_of(opt, params)
    if not slots then return nil end
    local last = layers[#layers].activation
    if loss == "binary_crossentropy" and last ~= "sigmoid" then return nil end
    if (loss == "categorical_crossentropy" or loss == "sparse_categorical_crossentropy")
        and last ~= "softmax" then
        return nil
    end
    for i = 1, #layers - 1 do
        if layers[i].activation == "softmax" then return nil end
    end
    if last == "softmax" and loss ~= "categorical_crossentropy"
        and loss ~= "sparse_categorical_crossentropy" then
        return nil
    end
    local bs = cfg.batch_size
    if bs ~= nil and (math.type(bs) ~= "integer" or bs < 1) then bs = nil end
    -- anything core still refuses (mixed dtypes, strided weights, tied
    -- weights, a 1-output softmax) falls back to the generic path
    local ok, plan = pcall(mf._plan_new, { layers = layers, loss = loss, optimizer = opt,
                                           slots = slots, batch_size = bs })
    if not ok then return nil end
    return plan
end

nn._fast_plan = M.fast_plan

return M
