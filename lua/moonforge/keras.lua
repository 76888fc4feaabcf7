--- moonforge.keras — Keras-style training on top of mf.nn: the Dense layer
-- and the compile / fit / evaluate / predict / predict_classes methods of
-- every module.
--
--     local model = nn.Sequential{
--         nn.Dense(64, {activation = "relu", input_dim = 30}),
--         nn.Dense(1, {activation = "sigmoid"}),
--     }
--     model:compile{optimizer = "adam", loss = "binary_crossentropy", metrics = {"accuracy"}}
--     local history = model:fit(X, y, {epochs = 10, batch_size = 32, validation_split = 0.2})
--     print(model:evaluate(Xt, yt).accuracy)
--
-- The loop is shared by two engines: the generic one below (forward graph,
-- backward, mf.optim step) and, when moonforge.nn offers one for the model
-- (nn._fast_plan), a plan that runs a whole batch in C. Both see the same
-- data (X, the prepared targets, a permutation of row numbers), return the
-- batch loss as a Lua number, and leave everything else — shuffling,
-- validation, metrics, callbacks, history, progress — to this file, so the
-- two give the same history and callback calls. The per-batch work here is a
-- few comparisons and additions: no table, no string, no tensor per batch
-- unless the progress bar or an on_batch_end callback asks for it.
local mf = require "moonforge"
local nn = require "moonforge.nn"
local losses = require "moonforge.losses"
local optim = require "moonforge.optim"
local History = require "moonforge.history"

local M = {}

local is_tensor, check_options, shape_str = mf.is_tensor, nn.check_options, nn._shape_str
local F = nn.functional
local Module = nn.Module
local HUGE = math.huge

-- Errors. The helpers below raise a Bad (a message without a position);
-- each public function runs its body through `public`, which re-raises a
-- Bad at the user's call (error level 2), and any other error unchanged.
local Bad = {}
Bad.__tostring = function(e) return e.msg end

local function fail(msg) error(setmetatable({ msg = msg }, Bad), 0) end

local function argerror(argn, fname, msg)
    fail(("bad argument #%d to '%s' (%s)"):format(argn, fname, msg))
end

local function public(body)
    return function(...)
        local r = table.pack(pcall(body, ...))
        if not r[1] then
            local e = r[2]
            if getmetatable(e) == Bad then error(e.msg, 2) end
            error(e, 0)
        end
        return table.unpack(r, 2, r.n)
    end
end

-- nn.check_options raising a Bad.
local function options(opts, fname, argn, allowed)
    local ok, res = pcall(check_options, opts, fname, argn, allowed, -1)
    if not ok then fail(res) end
    return res
end

local function describe(v)
    if is_tensor(v) then return v:dtype() .. " tensor " .. shape_str(v) end
    return type(v)
end

local function quoted_list(list)
    local out = {}
    for i, v in ipairs(list) do out[i] = type(v) == "string" and ("'" .. v .. "'") or tostring(v) end
    return table.concat(out, ", ")
end

---------------------------------------------------------------- Dense

-- Activations a Dense layer accepts by name ("linear": none).
local ACTIVATIONS = {
    linear = false,
    relu = function(x) return x:relu() end,
    sigmoid = function(x) return x:sigmoid() end,
    tanh = function(x) return x:tanh() end,
    softmax = function(x) return F.softmax(x, -1) end,
    log_softmax = function(x) return F.log_softmax(x, -1) end,
    elu = function(x) return F.elu(x, 1) end,
    gelu = function(x) return F.gelu(x) end,
    leaky_relu = function(x) return F.leaky_relu(x, 0.01) end,
    softplus = function(x) return F.softplus(x) end,
    swish = function(x) return x * x:sigmoid() end,
}
local ACTIVATION_NAMES = {}
for k in pairs(ACTIVATIONS) do ACTIVATION_NAMES[#ACTIVATION_NAMES + 1] = k end
table.sort(ACTIVATION_NAMES)
M.activations = ACTIVATION_NAMES

-- Dense raises ordinary errors (its constructor and forward are called
-- directly); `level` as seen by the caller of dense_error.
local function dense_error(argn, msg, level)
    error(("bad argument #%d to 'Dense' (%s)"):format(argn, msg), level + 1)
end

local Dense = Module:extend("Dense")
nn.Dense = Dense

--- nn.Dense(units [, {activation = "linear", input_dim, use_bias = true,
-- dtype = "float32"}]): activation(x W^T + b), Keras's Dense with PyTorch's
-- storage (weight [units x in], bias [units], as nn.Linear). The input size
-- is input_dim, or the last dim of the first input seen. Init (Keras's):
-- weight Glorot-uniform, U(-l, l) with l = sqrt(6 / (in + units)), drawn with
-- mf.rand when the layer is built; bias zeros.
function Dense:init(units, opts)
    if math.type(units) ~= "integer" or units < 1 then
        dense_error(1, ("units must be a positive integer, got %s"):format(tostring(units)), 3)
    end
    opts = check_options(opts, "Dense", 2, { "activation", "input_dim", "use_bias", "dtype" }, 3)
    local act = opts.activation
    if act == nil then act = "linear" end
    if type(act) == "function" then
        self._act = act
        act = "custom"
    elseif type(act) ~= "string" or ACTIVATIONS[act] == nil then
        dense_error(2, ("unknown activation %s (expected a function or one of: %s)")
                 :format(type(act) == "string" and "'" .. act .. "'" or type(act),
                         table.concat(ACTIVATION_NAMES, ", ")), 3)
    else
        self._act = ACTIVATIONS[act] or nil
    end
    local dtype = opts.dtype or "float32"
    if dtype ~= "float32" and dtype ~= "float64" then
        dense_error(2, ("dtype must be 'float32' or 'float64', got %s"):format(tostring(dtype)), 3)
    end
    if opts.use_bias ~= nil and type(opts.use_bias) ~= "boolean" then
        dense_error(2, ("use_bias must be a boolean, got %s"):format(type(opts.use_bias)), 3)
    end
    self.units, self.out_features = units, units
    self.activation = act
    self.use_bias = opts.use_bias ~= false
    self._dtype = dtype
    if opts.input_dim ~= nil then
        if math.type(opts.input_dim) ~= "integer" or opts.input_dim < 1 then
            dense_error(2, ("input_dim must be a positive integer, got %s")
                     :format(tostring(opts.input_dim)), 3)
        end
        self:build(opts.input_dim)
    end
end

--- Creates the parameters for inputs of width n (done by the first forward
-- when input_dim was not given). Returns self.
function Dense:build(n)
    local limit = math.sqrt(6 / (n + self.units))
    self.in_features = n
    self.weight = (mf.rand(self.units, n, self._dtype) * (2 * limit) - limit):requires_grad_()
    if self.use_bias then self.bias = mf.zeros(self.units, self._dtype):requires_grad_() end
    return self
end

--- Whether the parameters exist.
function Dense:is_built() return rawget(self, "weight") ~= nil end

-- "layer '2' (Dense)" once fit/compile named the layers, else "Dense(units=64)".
local function layer_label(m)
    local name = rawget(m, "_name")
    if name then return ("layer '%s' (%s)"):format(name, m:class_name()) end
    return ("%s(%s)"):format(m:class_name(), m:extra_repr())
end

--- x W^T + b: the layer before its activation.
function Dense:pre_activation(x)
    if not is_tensor(x) then dense_error(1, ("tensor expected, got %s"):format(type(x)), 3) end
    if not rawget(self, "weight") then
        if x:dim() == 0 then dense_error(1, "expected input [N x features], got a 0-D tensor", 3) end
        mf.no_grad(self.build, self, x:size(-1))
    end
    if x:dim() == 0 or x:size(-1) ~= self.in_features then
        dense_error(1, ("%s expects input [N x %d], got %s")
                 :format(layer_label(self), self.in_features, shape_str(x)), 3)
    end
    local y = x:matmul(self.weight:t())
    if self.bias then y = y + self.bias end
    return y
end

function Dense:forward(x)
    local z = self:pre_activation(x)
    local act = self._act
    if act then return act(z) end
    return z
end

function Dense:extra_repr()
    local parts = {}
    if rawget(self, "in_features") then parts[#parts + 1] = "in_features=" .. self.in_features end
    parts[#parts + 1] = "units=" .. self.units
    parts[#parts + 1] = "activation=" .. self.activation
    if not self.use_bias then parts[#parts + 1] = "use_bias=false" end
    return table.concat(parts, ", ")
end

---------------------------------------------------------------- names

local OPTIMIZERS = { adam = "Adam", adamw = "AdamW", sgd = "SGD", rmsprop = "RMSprop", adagrad = "Adagrad" }
local OPTIMIZER_NAMES = { "adam", "adamw", "sgd", "rmsprop", "adagrad" }

-- Canonical loss names (Keras's) and aliases.
local LOSSES = {
    binary_crossentropy = "binary_crossentropy", bce = "binary_crossentropy",
    categorical_crossentropy = "categorical_crossentropy",
    sparse_categorical_crossentropy = "sparse_categorical_crossentropy",
    mse = "mse", mean_squared_error = "mse",
    mae = "mae", mean_absolute_error = "mae",
    huber = "huber",
}
local LOSS_NAMES = { "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
                     "mse", "mae", "huber", "bce", "mean_squared_error", "mean_absolute_error" }
local CLASSIFICATION = { binary_crossentropy = true, categorical_crossentropy = true,
                         sparse_categorical_crossentropy = true }

local METRICS = { accuracy = "accuracy", acc = "accuracy", mae = "mae", mse = "mse", auc = "auc",
                  precision = "precision", recall = "recall" }
local METRIC_NAMES = { "accuracy", "acc", "mae", "mse", "auc", "precision", "recall" }

M.losses, M.metrics, M.optimizers = LOSS_NAMES, METRIC_NAMES, OPTIMIZER_NAMES

---------------------------------------------------------------- model structure

local PREDICT_BATCH = 1024

local function run_batches(model, X, batch_size)
    local N = X:size(1)
    if N <= batch_size then return model(X) end
    local parts = {}
    for first = 1, N, batch_size do
        parts[#parts + 1] = model(X:narrow(1, first, math.min(batch_size, N - first + 1)))
    end
    return mf.cat(parts, 1)
end

-- The model's outputs for every row of X, in eval mode, without a graph
-- (through the fast plan when one is running). The modes are restored.
-- mods: model:modules(), when the caller has it.
local function forward_all(model, X, batch_size, plan, mods)
    if plan then return mf.no_grad(plan.forward, plan, X) end
    mods = mods or model:modules()
    local modes = {}
    for i, m in ipairs(mods) do
        modes[i] = rawget(m, "training")
        rawset(m, "training", false)
    end
    local ok, res = pcall(mf.no_grad, run_batches, model, X, batch_size)
    for i, m in ipairs(mods) do rawset(m, "training", modes[i]) end
    if not ok then error(res, 0) end
    return res
end

local function each_module(model, fn)
    for name, m in model:named_modules() do fn(name, m) end
end

-- Names every module ("layer '2' (Dense)" in errors) and tells whether every
-- Dense layer is built.
local function name_layers(model)
    local built = true
    each_module(model, function(name, m)
        if name ~= "" then rawset(m, "_name", name) end
        if m:class() == Dense and not m:is_built() then built = false end
    end)
    return built
end

-- A Sequential whose first layer knows its input width (Dense input_dim,
-- Linear) builds its lazy layers with one forward pass on zeros, as Keras
-- builds a model whose input shape is known. Returns whether it is built.
local function build_from_first_layer(model)
    if model:class() ~= nn.Sequential or #model == 0 then return false end
    local n = rawget(model[1], "in_features")
    if not n then return false end
    local ok = pcall(forward_all, model, mf.zeros(2, n, rawget(model[1], "_dtype") or "float32"), 2)
    return ok and name_layers(model)
end

local function model_dtype(model)
    for _, p in ipairs(model:parameters()) do return p:dtype() end
    return "float32"
end

-- The final activation of a Sequential model: "sigmoid", "softmax",
-- "linear", or nil (unknown: anything else, or not a Sequential). With
-- sigmoid/softmax, also the function computing the logits (the input of the
-- activation), which the generic training step feeds to the stable
-- log-sigmoid/log-softmax forms of the losses.
local function analyze_head(model)
    if model:class() ~= nn.Sequential or #model == 0 or rawget(model, "forward") then return nil end
    local n, last = #model, model[#model]
    if rawget(last, "forward") then return nil end
    local cls = last:class()
    local head, final
    if cls == Dense then
        if last.activation == "sigmoid" or last.activation == "softmax" then
            head, final = last.activation, function(h) return last:pre_activation(h) end
        elseif last.activation == "linear" then
            head = "linear"
        end
    elseif cls == nn.Sigmoid then
        head, final = "sigmoid", function(h) return h end
    elseif cls == nn.Softmax and (last.dim == -1 or last.dim == 2) then
        head, final = "softmax", function(h) return h end
    elseif cls == nn.Linear then
        head = "linear"
    end
    if not final then return head end
    return head, function(x)
        local h = x
        for i = 1, n - 1 do h = model[i](h) end
        return final(h)
    end
end

---------------------------------------------------------------- compile

local function resolve_optimizer(spec, fname)
    if spec == nil then spec = "rmsprop" end
    if type(spec) == "string" then
        local algo = OPTIMIZERS[spec:lower()]
        if not algo then
            argerror(1, fname, ("unknown optimizer '%s' (expected one of: %s, or an mf.optim optimizer)")
                     :format(spec, table.concat(OPTIMIZER_NAMES, ", ")))
        end
        -- SGD has no default lr in torch.optim; Keras's is 0.01
        return optim[algo](algo == "SGD" and { lr = 0.01 } or nil)
    end
    local mt = getmetatable(spec)
    if mt == optim.Unbound or mt == optim.Optimizer then return spec end
    argerror(1, fname, ("optimizer must be a name (%s) or an mf.optim optimizer, got %s")
             :format(table.concat(OPTIMIZER_NAMES, ", "), describe(spec)))
end

local function resolve_metrics(list, loss, fname)
    if list == nil then return {} end
    if type(list) ~= "table" or is_tensor(list) then
        argerror(1, fname, ("metrics must be a list, got %s"):format(describe(list)))
    end
    local out, seen = {}, {}
    local function add(name, kind, fn)
        if seen[name] then argerror(1, fname, ("metric '%s' given twice"):format(name)) end
        seen[name] = true
        out[#out + 1] = { name = name, kind = kind, fn = fn }
    end
    local n = #list
    for i = 1, n do
        local v = list[i]
        if type(v) == "function" then
            add("metric_" .. i, "custom", v)
        elseif type(v) == "string" and METRICS[v] then
            local kind = METRICS[v]
            if kind ~= "mae" and kind ~= "mse" and not CLASSIFICATION[loss] then
                argerror(1, fname, ("metric '%s' needs a classification loss (binary_crossentropy, "
                         .. "categorical_crossentropy or sparse_categorical_crossentropy), got '%s'")
                         :format(v, loss))
            end
            if kind == "auc" and loss ~= "binary_crossentropy" then
                argerror(1, fname, "metric 'auc' needs the binary_crossentropy loss")
            end
            add(kind, kind)
        else
            argerror(1, fname, ("unknown metric %s (expected a function or one of: %s)")
                     :format(type(v) == "string" and "'" .. v .. "'" or describe(v),
                             table.concat(METRIC_NAMES, ", ")))
        end
    end
    local named = {}
    for k, v in pairs(list) do
        if not (math.type(k) == "integer" and k >= 1 and k <= n) then
            if type(k) ~= "string" or type(v) ~= "function" then
                argerror(1, fname, ("metrics: entry [%s] must be a function under a name, got %s")
                         :format(tostring(k), describe(v)))
            end
            named[#named + 1] = k
        end
    end
    table.sort(named)
    for _, k in ipairs(named) do add(k, "custom", list[k]) end
    return out
end

local function bind_optimizer(model, c)
    local spec = c.optimizer_spec
    if getmetatable(spec) == optim.Optimizer then
        model.optimizer = spec
    else
        local params = model:parameters()
        if #params == 0 then fail("compile: the model has no parameters to optimize") end
        model.optimizer = spec:bind(params)
    end
end

--- model:compile{optimizer = "rmsprop", loss = ..., metrics = {...}}: sets
-- up training. optimizer: a name (adam, adamw, sgd, rmsprop, adagrad: the
-- mf.optim defaults, sgd with lr = 0.01), an unbound optimizer
-- (mf.optim.Adam{lr = 1e-3}, bound here to the model's parameters) or a
-- bound one. loss: a Keras name or a function(pred, target) → scalar tensor.
-- Returns the model.
Module.compile = public(function(self, opts)
    local fname = "compile"
    opts = options(opts, fname, 1, { "optimizer", "loss", "metrics" })
    local loss, loss_fn = opts.loss, nil
    if type(loss) == "function" then
        loss_fn, loss = loss, "custom"
    elseif type(loss) == "string" and LOSSES[loss] then
        loss = LOSSES[loss]
    elseif loss == nil then
        argerror(1, fname, ("option 'loss' is required (one of: %s, or a function(pred, target))")
                 :format(table.concat(LOSS_NAMES, ", ")))
    else
        argerror(1, fname, ("unknown loss %s (expected a function or one of: %s)")
                 :format(type(loss) == "string" and "'" .. loss .. "'" or describe(loss),
                         table.concat(LOSS_NAMES, ", ")))
    end
    local c = {
        loss = loss, loss_fn = loss_fn,
        optimizer_spec = resolve_optimizer(opts.optimizer, fname),
        metrics = resolve_metrics(opts.metrics, loss, fname),
    }
    self._compiled = c
    self.optimizer = nil
    local built = name_layers(self)
    if not built then built = build_from_first_layer(self) end
    if built then bind_optimizer(self, c) end
    return self
end)

local function compiled(model, fname)
    local c = rawget(model, "_compiled")
    if not c then
        fail(("%s: the model is not compiled: call model:compile{loss = ..., optimizer = ...} first")
             :format(fname))
    end
    return c
end

---------------------------------------------------------------- inputs

-- X as a tensor of the model's dtype, at least 2-D. Lua arrays of rows work.
-- keep_int: an integer X stays as it is (the model has an Embedding).
local function as_features(X, dtype, fname, argn, what, keep_int)
    if type(X) == "table" and not is_tensor(X) then
        local ok, t = pcall(mf.tensor, X, dtype)
        if not ok then argerror(argn, fname, what .. ": " .. tostring(t):gsub("^.-%(", "", 1):gsub("%)$", "")) end
        X = t
    end
    if not is_tensor(X) then argerror(argn, fname, ("%s must be a tensor, got %s"):format(what, type(X))) end
    if X:dim() < 2 then
        argerror(argn, fname, ("%s must be [N x features], got %s (X:view(-1, 1) makes one feature column)")
                 :format(what, shape_str(X)))
    end
    if X:size(1) == 0 then argerror(argn, fname, what .. " has no rows") end
    local xt = X:dtype()
    if xt ~= dtype and not (keep_int and (xt == "int64" or xt == "bool")) then X = X:to(dtype) end
    return X:contiguous()
end

local function has_embedding(mods)
    for _, m in ipairs(mods) do
        if m:class() == nn.Embedding then return true end
    end
    return false
end

-- Raises an error naming the first row (and column) of t that is NaN or inf.
local function check_finite(t, fname, argn, what)
    local dt = t:dtype()
    if dt ~= "float32" and dt ~= "float64" then return end
    -- one pass: a finite sum means every value is finite (an overflowing sum
    -- of finite values only sends us to the exact check below)
    local sum = t:sum():item()
    if sum == sum and sum ~= math.huge and sum ~= -math.huge then return end
    local bad = t:isfinite():logical_not()
    if not bad:any():item() then return end
    local pos = bad:nonzero()
    local row = pos:get(1, 1)
    local where = ("row %d"):format(row)
    local v
    if t:dim() == 1 then
        v = t:get(row)
    elseif t:dim() == 2 then
        local col = pos:get(1, 2)
        v = t:get(row, col)
        where = where .. (", column %d"):format(col)
    else
        v = t:reshape(t:size(1), -1):index(1, mf.tensor({ row }, "int64")):reshape(-1)
        v = v:get(v:isfinite():logical_not():nonzero():get(1, 1))
    end
    argerror(argn, fname, ("%s holds %s at %s"):format(what, v ~= v and "NaN" or v > 0 and "inf" or "-inf", where))
end

-- Labels or targets: a tensor, or a Lua array of numbers (a float64 tensor)
-- or of strings (kept as the array). Returns value, rows.
local function as_labels(y, fname, argn, what)
    if is_tensor(y) then
        if y:dim() == 0 then argerror(argn, fname, what .. " must have one row per sample, got a 0-D tensor") end
        if y:dtype() == "bool" then y = y:long() end
        return y, y:size(1)
    end
    if type(y) ~= "table" then
        argerror(argn, fname, ("%s must be a tensor or a Lua array, got %s"):format(what, type(y)))
    end
    local n = #y
    if n == 0 then argerror(argn, fname, what .. " is empty") end
    local kind = type(y[1])
    if kind ~= "number" and kind ~= "string" then
        argerror(argn, fname, ("%s[1] is a %s, expected a number or a string"):format(what, kind))
    end
    for i = 2, n do
        if type(y[i]) ~= kind then
            argerror(argn, fname, ("%s[%d] is a %s, but %s[1] is a %s"):format(what, i, type(y[i]), what, kind))
        end
    end
    if kind == "string" then return y, n end
    return mf.tensor(y, "float64"), n
end

-- Sorted distinct labels of a label vector (tensor or array of strings).
local function distinct(y)
    if is_tensor(y) then
        local out = {}
        for i, v in ipairs(mf.unique(y):totable()) do out[i] = math.tointeger(v) or v end
        return out
    end
    local seen, out = {}, {}
    for _, v in ipairs(y) do
        if not seen[v] then
            seen[v] = true
            out[#out + 1] = v
        end
    end
    table.sort(out)
    return out
end

-- 1-based positions of the labels of y in `classes`, an int64 tensor; a label
-- that is not a class is an error naming its row.
local function encode(y, classes, fname, argn, what)
    local pos = {}
    for i, c in ipairs(classes) do pos[c] = i end
    local function unknown(row, v)
        argerror(argn, fname, ("%s row %d holds the label %s, which is not one of the classes %s")
                 :format(what, row, type(v) == "string" and "'" .. v .. "'" or tostring(math.tointeger(v) or v),
                         quoted_list(classes)))
    end
    if is_tensor(y) then
        local flat = y:reshape(-1)
        local vals, inv = mf.unique(flat, { return_inverse = true })
        local map = {}
        for j, v in ipairs(vals:totable()) do
            local p = pos[v]
            if not p then unknown(flat:eq(v):nonzero():get(1, 1), v) end
            map[j] = p
        end
        return mf.tensor(map, "int64"):index(1, inv)
    end
    local idx = {}
    for i, v in ipairs(y) do
        local p = pos[v]
        if not p then unknown(i, v) end
        idx[i] = p
    end
    return mf.tensor(idx, "int64")
end

local function all_integers_in(list, lo, hi)
    for _, v in ipairs(list) do
        if math.type(v) ~= "integer" or v < lo or v > hi then return false end
    end
    return true
end

-- The classes for labels y and a head of C outputs (C = 1: binary).
local function find_classes(y, loss, C, fname, argn, what)
    local u = distinct(y)
    if loss == "binary_crossentropy" then
        if #u ~= 2 then
            argerror(argn, fname, ("binary_crossentropy needs 2 classes, %s holds %d (%s)%s")
                     :format(what, #u, quoted_list(u), #u > 2 and
                             ": use sparse_categorical_crossentropy with a softmax head of "
                             .. #u .. " units" or ""))
        end
        return u
    end
    if #u > C then
        argerror(argn, fname, ("%s holds %d classes (%s) but the model has %d outputs")
                 :format(what, #u, quoted_list(u), C))
    end
    if #u == C then return u end
    -- fewer labels than outputs: integer labels name output columns
    -- (0-based as Keras, or 1-based)
    for _, lo in ipairs({ 0, 1 }) do
        if all_integers_in(u, lo, C - 1 + lo) then
            local all = {}
            for i = 1, C do all[i] = i - 1 + lo end
            return all
        end
    end
    argerror(argn, fname, ("the model has %d outputs but %s holds %d classes (%s): give a head of %d units")
             :format(C, what, #u, quoted_list(u), #u))
end

local function set_like(a, b)
    if #a ~= #b then return false end
    for i = 1, #a do if a[i] ~= b[i] then return false end end
    return true
end

-- The targets the loss reads, from y (rows N) for a model whose output has
-- shape out_shape (its first dim is N). Classification losses map labels to
-- classes (recorded in model.classes by the first fit; `record` allows it).
-- Returns the target tensor (float of the output's shape, or int64 class
-- indices for sparse_categorical_crossentropy).
local function prepare_targets(model, c, y, N, out_shape, dtype, record, fname, argn, what)
    local loss = c.loss
    local width = #out_shape >= 2 and out_shape[#out_shape] or 1
    if is_tensor(y) then check_finite(y, fname, argn, what) end
    if not CLASSIFICATION[loss] then
        if not is_tensor(y) then argerror(argn, fname, ("%s holds strings: %s needs numbers"):format(what, loss)) end
        local t, numel = y:to(dtype), 1
        for i = 1, #out_shape do numel = numel * out_shape[i] end
        if t:numel() ~= numel then
            local want = { "N" }
            for i = 2, #out_shape do want[i] = tostring(out_shape[i]) end
            argerror(argn, fname, ("%s %s does not match the model's output [%s]")
                     :format(what, shape_str(y), table.concat(want, "x")))
        end
        return t:reshape(out_shape):contiguous()
    end
    -- one column per output: one-hot / probabilities (categorical) or
    -- multi-label 0/1 (binary), used as they are
    if is_tensor(y) and y:dim() == 2 and y:size(2) > 1 then
        if y:size(2) ~= width or loss == "sparse_categorical_crossentropy" then
            argerror(argn, fname, ("%s %s does not match the model's output [N x %d]%s")
                     :format(what, shape_str(y), width, loss == "sparse_categorical_crossentropy"
                             and " (sparse_categorical_crossentropy reads one label per row)" or ""))
        end
        if loss == "categorical_crossentropy" and record and rawget(model, "classes") == nil then
            local cls = {}
            for i = 1, width do cls[i] = i end
            model.classes = cls
        end
        return y:to(dtype):contiguous()
    end
    if is_tensor(y) and not (y:dim() == 1 or (y:dim() == 2 and y:size(2) == 1)) then
        argerror(argn, fname, ("%s must hold one label per row, got %s"):format(what, shape_str(y)))
    end
    if is_tensor(y) then y = y:reshape(-1) end
    if loss == "binary_crossentropy" and width ~= 1 then
        argerror(argn, fname, ("binary_crossentropy with %d outputs needs %s [N x %d] "
                               .. "(one 0/1 column per output), got %s")
                 :format(width, what, width, describe(y)))
    end
    local classes = rawget(model, "classes")
    -- binary 0/1 (or soft) targets in [0, 1]: used as they are
    if loss == "binary_crossentropy" and is_tensor(y) and (classes == nil or set_like(classes, { 0, 1 }))
        and y:amin():item() >= 0 and y:amax():item() <= 1 then
        if record and classes == nil then model.classes = { 0, 1 } end
        return y:to(dtype):reshape(out_shape):contiguous()
    end
    if classes == nil then
        classes = find_classes(y, loss, width, fname, argn, what)
        if record then model.classes = classes end
    elseif loss ~= "binary_crossentropy" and #classes > width then
        argerror(argn, fname, ("the model has %d outputs but model.classes holds %d classes "
                               .. "(set model.classes = nil to start over)")
                 :format(width, #classes))
    elseif loss == "binary_crossentropy" and #classes ~= 2 then
        argerror(argn, fname, ("binary_crossentropy needs 2 classes, model.classes holds %d"):format(#classes))
    end
    local idx = encode(y, classes, fname, argn, what)
    if loss == "sparse_categorical_crossentropy" then return idx end
    if loss == "binary_crossentropy" then return (idx - 1):to(dtype):reshape(out_shape):contiguous() end
    return mf.one_hot(idx, width):to(dtype)
end

-- Per-row weights (or nil) from class_weight (label → weight) and
-- sample_weight (a tensor or Lua array of N numbers).
local function row_weights(model, c, target, N, class_weight, sample_weight, dtype, fname)
    local w
    if class_weight ~= nil then
        if type(class_weight) ~= "table" or is_tensor(class_weight) then
            argerror(3, fname, ("class_weight must be a table label → weight, got %s"):format(describe(class_weight)))
        end
        local classes = rawget(model, "classes")
        if not CLASSIFICATION[c.loss] or not classes then
            argerror(3, fname, "class_weight needs a classification loss and one label per row")
        end
        local pos, cw = {}, {}
        for i, cl in ipairs(classes) do
            pos[cl] = i
            cw[i] = 1
        end
        for k, v in pairs(class_weight) do
            if not pos[k] then
                argerror(3, fname, ("class_weight names the label %s, which is not one of the classes %s")
                         :format(type(k) == "string" and "'" .. k .. "'" or tostring(k), quoted_list(classes)))
            end
            if type(v) ~= "number" or v < 0 or v ~= v then
                argerror(3, fname, ("class_weight[%s] must be a number >= 0, got %s"):format(tostring(k), tostring(v)))
            end
            cw[pos[k]] = v
        end
        local idx
        if c.loss == "sparse_categorical_crossentropy" then
            idx = target
        elseif c.loss == "binary_crossentropy" then
            if target:size(-1) ~= 1 then argerror(3, fname, "class_weight needs one label per row") end
            idx = target:reshape(-1):gt(0.5):long() + 1
        else
            idx = target:argmax(2)
        end
        w = mf.tensor(cw, dtype):index(1, idx)
    end
    if sample_weight ~= nil then
        local sw = sample_weight
        if type(sw) == "table" and not is_tensor(sw) then sw = mf.tensor(sw, dtype) end
        if not is_tensor(sw) then argerror(3, fname, ("sample_weight must be a tensor, got %s"):format(type(sw))) end
        if sw:numel() ~= N then
            argerror(3, fname, ("sample_weight has %d values for %d rows"):format(sw:numel(), N))
        end
        check_finite(sw, fname, 3, "sample_weight")
        sw = sw:to(dtype):reshape(-1)
        w = w and w * sw or sw:contiguous()
    end
    return w
end

---------------------------------------------------------------- losses
-- Per-row losses (a vector of N) from the model's outputs. out_kind says what
-- the outputs are: "logit" (fused training, or a linear head with a
-- classification loss), "prob" (a sigmoid/softmax head, or a head that
-- cannot be identified), "value" (regression). Probabilities are clipped to
-- [1e-7, 1 - 1e-7] as Keras does.
local EPS = 1e-7

local function per_row(l)
    if l:dim() == 1 then return l end
    if l:dim() == 2 and l:size(2) == 1 then return l:view(-1) end
    return l:reshape(l:size(1), -1):mean(2)
end

local function row_losses(loss, kind, out, t)
    if loss == "binary_crossentropy" then
        if kind == "logit" then return per_row(losses.bce_with_logits(out, t, { reduction = "none" })) end
        local p = out:clamp(EPS, 1 - EPS)
        return per_row(-(t * p:log() + (1 - t) * (1 - p):log()))
    elseif loss == "sparse_categorical_crossentropy" then
        if kind == "logit" then return losses.cross_entropy(out, t, { reduction = "none" }) end
        return -out:gather(2, t:view(-1, 1)):clamp(EPS, 1):log():view(-1)
    elseif loss == "categorical_crossentropy" then
        local logp = kind == "logit" and F.log_softmax(out, 2) or out:clamp(EPS, 1):log()
        return -(t * logp):sum(2)
    elseif loss == "mse" then
        local d = out - t
        return per_row(d * d)
    elseif loss == "mae" then
        return per_row((out - t):abs())
    elseif loss == "huber" then
        return per_row(losses.huber(out, t, { reduction = "none" }))
    end
end

-- The loss of a batch as a 0-D tensor (with the graph when grad is on).
local function batch_loss(c, kind, out, t, w)
    if c.loss_fn then
        local l = c.loss_fn(out, t)
        if not is_tensor(l) or l:numel() ~= 1 then
            fail(("the loss function returned %s, expected a one-element tensor"):format(describe(l)))
        end
        return l:reshape({})
    end
    local l = row_losses(c.loss, kind, out, t)
    if w then return (l * w):mean() end
    return l:mean()
end

---------------------------------------------------------------- metrics

-- Binary ROC AUC of scores s for 0/1 labels (Mann-Whitney, ties share their
-- mean rank); NaN when one class is missing.
local function auc(scores, labels)
    local vals, order = scores:reshape(-1):sort()
    local lab = labels:reshape(-1):index(1, order):totable()
    local v = vals:totable()
    local n, i, rank_sum, pos = #v, 1, 0, 0
    while i <= n do
        local j = i
        while j < n and v[j + 1] == v[i] do j = j + 1 end
        local r = (i + j) / 2
        for k = i, j do
            if lab[k] > 0.5 then
                rank_sum = rank_sum + r
                pos = pos + 1
            end
        end
        i = j + 1
    end
    local neg = n - pos
    if pos == 0 or neg == 0 then return 0 / 0 end
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)
end

-- Class predictions and true classes as int64 vectors (1-based).
local function class_pairs(loss, probs, t)
    if loss == "binary_crossentropy" then
        return probs:reshape(-1):gt(0.5):long() + 1, t:reshape(-1):gt(0.5):long() + 1, 2
    end
    local C = probs:size(2)
    local truth = loss == "sparse_categorical_crossentropy" and t or t:argmax(2)
    return probs:argmax(2), truth, C
end

-- Precision and recall: of the positive class for binary losses, else
-- averaged over the classes (macro).
local function precision_recall(loss, probs, t, which)
    local pred, truth, C = class_pairs(loss, probs, t)
    local hit = pred:eq(truth)
    local tp = mf.bincount(truth:masked_select(hit), { minlength = C + 1 }):totable()
    local npred = mf.bincount(pred, { minlength = C + 1 }):totable()
    local ntrue = mf.bincount(truth, { minlength = C + 1 }):totable()
    local function ratio(c)
        local d = which == "precision" and npred[c + 1] or ntrue[c + 1]
        return d > 0 and tp[c + 1] / d or 0
    end
    if loss == "binary_crossentropy" then return ratio(2) end
    local s = 0
    for c = 1, C do s = s + ratio(c) end
    return s / C
end

local function metric_value(m, loss, out, probs, t)
    local kind = m.kind
    if kind == "custom" then
        local v = m.fn(out, t)
        if is_tensor(v) then v = v:item() end
        if type(v) ~= "number" then
            fail(("metric '%s' returned %s, expected a number"):format(m.name, describe(v)))
        end
        return v
    end
    if kind == "mae" or kind == "mse" then
        local target = t
        if loss == "sparse_categorical_crossentropy" then target = mf.one_hot(t, probs:size(2)):to(probs:dtype()) end
        local d = probs - target
        return (kind == "mae" and d:abs() or d * d):mean():item()
    end
    if kind == "accuracy" then
        if loss == "binary_crossentropy" then
            return probs:gt(0.5):eq(t:gt(0.5)):sum():item() / probs:numel()
        end
        local pred, truth = class_pairs(loss, probs, t)
        return pred:eq(truth):sum():item() / pred:numel()
    end
    if kind == "auc" then
        if probs:numel() ~= probs:size(1) then fail("metric 'auc' needs one output per row") end
        return auc(probs, t)
    end
    return precision_recall(loss, probs, t, kind)
end

---------------------------------------------------------------- evaluation

-- Probabilities (classification) or values from outputs of kind out_kind.
local function scores_of(c, out_kind, out)
    if out_kind ~= "logit" then return out end
    if c.loss == "binary_crossentropy" then return out:sigmoid() end
    return F.softmax(out, 2)
end

-- Loss (when want_loss) and metrics over all rows: fills logs[prefix..name].
local function measure(model, c, X, t, w, logs, prefix, want_loss, plan, batch_size)
    if not want_loss and #c.metrics == 0 then return logs end
    local out = forward_all(model, X, batch_size or PREDICT_BATCH, plan)
    local kind = c.out_kind
    mf.no_grad(function()
        if want_loss then
            logs[prefix .. "loss"] = batch_loss(c, kind, out, t, w):item()
        end
        local probs = scores_of(c, kind, out)
        for _, m in ipairs(c.metrics) do
            logs[prefix .. m.name] = metric_value(m, c.loss, out, probs, t)
        end
    end)
    return logs
end

---------------------------------------------------------------- progress

local function fmt_value(v)
    local a = math.abs(v)
    if v ~= v then return "nan" end
    if a == HUGE then return v > 0 and "inf" or "-inf" end
    if a ~= 0 and (a < 1e-3 or a >= 1e5) then return ("%.4e"):format(v) end
    return ("%.4f"):format(v)
end

local function fmt_time(s)
    if s >= 1 then return ("%.2fs"):format(s) end
    if s >= 1e-3 then return ("%.0fms"):format(s * 1e3) end
    return ("%.0fus"):format(s * 1e6)
end

local function fmt_logs(logs, keys)
    local parts = {}
    for _, k in ipairs(keys) do
        local v = logs[k]
        if v ~= nil then parts[#parts + 1] = k .. ": " .. fmt_value(v) end
    end
    return table.concat(parts, " - ")
end

-- How progress is shown: "bar" (a live line redrawn with \r), "lines" (one
-- line per epoch) or nil (verbose = 0).
local function progress_mode(verbose, opt)
    if verbose == 0 then return nil end
    if verbose == 2 then return "lines" end
    if opt then return opt end
    local env = os.getenv("MOONFORGE_PROGRESS")
    if env == "bar" or env == "lines" then return env end
    -- mf._stdout_isatty: a binding function telling whether stdout is a
    -- terminal (where the platform has isatty)
    local isatty = mf._stdout_isatty
    if isatty and io.output() == io.stdout and isatty() then return "bar" end
    return "lines"
end

local BAR_WIDTH = 30

local function draw_bar(p, step, now, loss)
    local steps = p.steps
    local done = math.floor(BAR_WIDTH * step / steps)
    local bar = ("="):rep(done)
    if done < BAR_WIDTH then bar = bar .. ">" .. ("."):rep(BAR_WIDTH - done - 1) end
    local elapsed = now - p.t0
    local eta = elapsed / step * (steps - step)
    local line = ("%s %d/%d [%s] - ETA: %s - loss: %s"):format(p.head, step, steps, bar, fmt_time(eta), fmt_value(loss))
    local pad = p.len > #line and (" "):rep(p.len - #line) or ""
    p.len = #line
    io.write("\r", line, pad)
    io.output():flush()
end

local function finish_line(p, mode, seconds, train_seconds, steps_done, logs, keys)
    local per = steps_done > 0 and train_seconds / steps_done or 0
    local line
    if mode == "bar" then
        local bar = ("="):rep(BAR_WIDTH)
        line = ("%s %d/%d [%s] - %s %s/step - %s"):format(p.head, steps_done, p.steps, bar, fmt_time(seconds),
                                                         fmt_time(per), fmt_logs(logs, keys))
        local pad = p.len > #line and (" "):rep(p.len - #line) or ""
        io.write("\r", line, pad, "\n")
    else
        line = ("%s - %d/%d - %s - %s/step - %s"):format(p.head, steps_done, p.steps, fmt_time(seconds),
                                                       fmt_time(per), fmt_logs(logs, keys))
        io.write(line, "\n")
    end
    io.output():flush()
end

---------------------------------------------------------------- callbacks

local HOOKS = { "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_batch_end" }
local IS_HOOK = {}
for _, h in ipairs(HOOKS) do IS_HOOK[h] = true end

local function check_callbacks(list, fname)
    if list == nil then return {} end
    if type(list) ~= "table" or is_tensor(list) then
        argerror(3, fname, ("callbacks must be a list, got %s"):format(describe(list)))
    end
    local out = {}
    for i, cb in ipairs(list) do
        if type(cb) ~= "table" or is_tensor(cb) then
            argerror(3, fname, ("callback %d is a %s, expected a table with on_epoch_end, ..."):format(i, describe(cb)))
        end
        local any = false
        for _, h in ipairs(HOOKS) do
            local f = cb[h]
            if f ~= nil then
                if type(f) ~= "function" then
                    argerror(3, fname, ("callback %d: %s is a %s, expected a function"):format(i, h, type(f)))
                end
                any = true
            end
        end
        for k in pairs(cb) do
            if type(k) == "string" and k:sub(1, 3) == "on_" and not IS_HOOK[k] then
                argerror(3, fname, ("callback %d: unknown hook '%s' (expected one of: %s)")
                         :format(i, k, table.concat(HOOKS, ", ")))
            end
        end
        if not any then
            argerror(3, fname, ("callback %d has none of the hooks %s"):format(i, table.concat(HOOKS, ", ")))
        end
        out[i] = cb
    end
    return out
end

local function call_hook(cbs, hook, ...)
    for i = 1, #cbs do
        local cb = cbs[i]
        local f = cb[hook]
        if f then f(cb, ...) end
    end
end

---------------------------------------------------------------- fit

local FIT_OPTS = { "epochs", "batch_size", "validation_split", "validation_data", "shuffle", "class_weight",
                   "sample_weight", "seed", "callbacks", "verbose", "initial_epoch", "on_nan", "progress" }

local function check_int(v, default, min, fname, name)
    if v == nil then return default end
    if math.type(v) ~= "integer" or v < min then
        argerror(3, fname, ("option '%s' must be an integer >= %d, got %s"):format(name, min, tostring(v)))
    end
    return v
end

local function check_choice(v, default, choices, fname, name)
    if v == nil then return default end
    for _, c in ipairs(choices) do if v == c then return v end end
    argerror(3, fname, ("option '%s' must be one of %s, got %s")
             :format(name, quoted_list(choices), type(v) == "string" and "'" .. v .. "'" or tostring(v)))
end

-- The first layer of a Sequential checks X's width before anything runs,
-- for a message naming both shapes.
local function check_first_layer(model, X, fname, what)
    if model:class() == nn.Sequential and #model > 0 then
        local first = model[1]
        local n_in = rawget(first, "in_features")
        if n_in and X:size(-1) ~= n_in then
            argerror(1, fname, ("%s is %s: %d features, but %s expects input [N x %d]")
                     :format(what, shape_str(X), X:size(-1), layer_label(first), n_in))
        end
    end
end

-- Runs the model on the first rows of X (eval mode, no graph) to build lazy
-- layers and learn the output shape; a shape error names X's shape.
local function probe(model, X, fname, what)
    check_first_layer(model, X, fname, what)
    local rows = X:narrow(1, 1, math.min(2, X:size(1)))
    local ok, out = pcall(forward_all, model, rows, PREDICT_BATCH)
    if not ok then
        argerror(1, fname, ("%s is %s and the model cannot take it: %s")
                 :format(what, shape_str(X), (tostring(out):gsub("^.-bad argument #%d+ to '[^']+' %((.*)%)$", "%1"))))
    end
    if not is_tensor(out) or out:dim() == 0 then
        argerror(1, fname, ("the model must return a tensor [N x outputs], got %s"):format(describe(out)))
    end
    local shape = out:shape()
    return shape, out
end

-- What the outputs are for this loss and head, and whether the generic step
-- trains from fused logits.
local function output_kind(model, c, probe_out, fname)
    if not CLASSIFICATION[c.loss] then return "value", nil end
    local head, logits = analyze_head(model)
    if head == "linear" then return "logit", nil end
    if head == "sigmoid" or head == "softmax" then return "prob", logits end
    if probe_out:numel() > 0 and (probe_out:amin():item() < 0 or probe_out:amax():item() > 1) then
        argerror(1, fname, ("%s reads the model's outputs as probabilities, but they hold values outside [0, 1]: "
                 .. "end the model with a sigmoid or softmax activation, or with a linear layer (logits)")
                 :format(c.loss))
    end
    return "prob", nil
end

-- Generic engine: a batch through the autograd graph and the optimizer.
local Generic = {}
Generic.__index = Generic

function Generic:train_batch(X, y, perm, first, count)
    local idx = perm:narrow(1, first, count)
    local xb, yb = X:index(1, idx), y:index(1, idx)
    local out = self.logits and self.logits(xb) or self.model(xb)
    local w = self.weights
    local l = batch_loss(self.c, self.kind, out, yb, w and w:index(1, idx))
    local opt = self.opt
    opt:zero_grad()
    l:backward()
    opt:step()
    return l:item()
end

--- history = model:fit(X, y [, opts]): trains the compiled model. See
-- docs/training.md for the options; returns a History (also model.history).
-- model:fit(loader, nil [, opts]) trains on the batches of a
-- mf.data.DataLoader, in its batch order (docs/splits.md).
Module.fit = public(function(self, X, y, opts)
    local fname = "fit"
    local c = compiled(self, fname)
    opts = options(opts, fname, 3, FIT_OPTS)
    local epochs = check_int(opts.epochs, 1, 1, fname, "epochs")
    local batch_size = check_int(opts.batch_size, 32, 1, fname, "batch_size")
    local initial_epoch = check_int(opts.initial_epoch, 0, 0, fname, "initial_epoch")
    local verbose = check_choice(opts.verbose, 1, { 0, 1, 2 }, fname, "verbose")
    local on_nan = check_choice(opts.on_nan, "stop", { "stop", "continue", "error" }, fname, "on_nan")
    local progress = check_choice(opts.progress, nil, { "bar", "lines" }, fname, "progress")
    local shuffle = opts.shuffle
    if shuffle == nil then shuffle = true end
    if type(shuffle) ~= "boolean" then
        argerror(3, fname, "option 'shuffle' must be a boolean, got " .. type(shuffle))
    end
    local seed = opts.seed
    if seed ~= nil and math.type(seed) ~= "integer" then
        argerror(3, fname, "option 'seed' must be an integer, got " .. tostring(seed))
    end
    local split = opts.validation_split or 0
    if type(split) ~= "number" or split < 0 or split >= 1 then
        argerror(3, fname, ("option 'validation_split' must be a number in [0, 1), got %s"):format(tostring(split)))
    end
    local vdata = opts.validation_data
    if vdata ~= nil and split > 0 then
        argerror(3, fname, "give validation_split or validation_data, not both")
    end
    if vdata ~= nil and (type(vdata) ~= "table" or is_tensor(vdata) or vdata[1] == nil or vdata[2] == nil) then
        argerror(3, fname, "option 'validation_data' must be {X, y}")
    end
    local cbs = check_callbacks(opts.callbacks, fname)

    -- a DataLoader (mf.data.DataLoader) brings X, y and the batching: its
    -- batch_size, shuffle (a new order per epoch from its generator) and
    -- drop_last; fit's own batching options would contradict it
    local loader = mf.data.is_loader and mf.data.is_loader(X) and X or nil
    if loader then
        for _, key in ipairs({ "batch_size", "shuffle", "seed", "validation_split" }) do
            if opts[key] ~= nil then
                argerror(3, fname, ("option '%s' cannot be used when X is a DataLoader (%s)"):format(key,
                         key == "validation_split" and "give validation_data, or split first with "
                         .. "mf.data.train_test_split" or "set it on the DataLoader"))
            end
        end
        if y ~= nil then
            argerror(2, fname, "y must be nil when X is a DataLoader (the loader holds y): model:fit(loader, nil, opts)")
        end
        if loader.y == nil then
            argerror(1, fname, "the DataLoader has no y: build it with mf.data.DataLoader(X, y, opts)")
        end
        if #loader == 0 then
            argerror(1, fname, ("the DataLoader gives no batch (%d rows, batch_size = %d, drop_last = true)")
                     :format(loader.n, loader.batch_size))
        end
        X, y = loader.X, loader.y
        batch_size, shuffle = loader.batch_size, loader.shuffle
    end

    -- data
    local built = name_layers(self)
    local dtype = built and model_dtype(self) or "float32"
    local keep_int = has_embedding(self:modules())
    X = as_features(X, dtype, fname, 1, "X", keep_int)
    local N = X:size(1)
    local labels, ny = as_labels(y, fname, 2, "y")
    if ny ~= N then argerror(2, fname, ("y has %d rows, X has %d"):format(ny, N)) end
    check_finite(X, fname, 1, "X")
    local out_shape, probe_out = probe(self, X, fname, "X")
    if not built then
        dtype = model_dtype(self)
        X = as_features(X, dtype, fname, 1, "X", keep_int)
    end
    local kind, logits = output_kind(self, c, probe_out, fname)
    c.out_kind = kind

    local Xv, yv_labels
    if vdata then
        Xv = as_features(vdata[1], dtype, fname, 3, "validation X", keep_int)
        local nv
        yv_labels, nv = as_labels(vdata[2], fname, 3, "validation y")
        if nv ~= Xv:size(1) then
            argerror(3, fname, ("validation y has %d rows, validation X has %d"):format(nv, Xv:size(1)))
        end
        check_finite(Xv, fname, 3, "validation X")
        if Xv:size(-1) ~= X:size(-1) then
            argerror(3, fname, ("validation X is %s, X is %s"):format(shape_str(Xv), shape_str(X)))
        end
    end

    local function shape_for(n)
        local s = { n }
        for i = 2, #out_shape do s[i] = out_shape[i] end
        return s
    end
    local target = prepare_targets(self, c, labels, N, shape_for(N), dtype, true, fname, 2, "y")
    local weights = row_weights(self, c, target, N, opts.class_weight, opts.sample_weight, dtype, fname)
    if weights and c.loss_fn then argerror(3, fname, "class_weight and sample_weight need a built-in loss") end

    local Ntr = N
    local Xtr, ttr, wtr, tv, wv = X, target, weights, nil, nil
    if split > 0 then
        local nv = math.floor(N * split)
        Ntr = N - nv
        if nv < 1 or Ntr < 1 then
            argerror(3, fname, ("validation_split = %g of %d rows leaves %d for validation and %d for training")
                     :format(split, N, nv, Ntr))
        end
        Xtr, Xv = X:narrow(1, 1, Ntr), X:narrow(1, Ntr + 1, nv)
        ttr, tv = target:narrow(1, 1, Ntr), target:narrow(1, Ntr + 1, nv)
        if weights then wtr, wv = weights:narrow(1, 1, Ntr), weights:narrow(1, Ntr + 1, nv) end
    elseif Xv then
        tv = prepare_targets(self, c, yv_labels, Xv:size(1), shape_for(Xv:size(1)), dtype, false, fname, 3,
                             "validation y")
    end

    -- engine
    if not self.optimizer then bind_optimizer(self, c) end
    local opt = self.optimizer
    local plan
    if nn._fast_plan and not weights and not c.loss_fn then
        local names = {}
        for i, m in ipairs(c.metrics) do names[i] = m.name end
        plan = nn._fast_plan(self, { loss = c.loss, optimizer = opt, metrics = names, batch_size = batch_size })
    end
    local engine, train_batch
    if plan then
        engine, train_batch = plan, plan.train_batch
    else
        if c.loss_fn then logits = nil end -- a custom loss reads the real outputs
        engine = setmetatable({ model = self, c = c, kind = logits and "logit" or kind, logits = logits,
                                weights = wtr, opt = opt }, Generic)
        train_batch = Generic.train_batch
    end
    local modes = {}
    for _, m in ipairs(self:modules()) do modes[m] = rawget(m, "training") end
    local guard <close> = setmetatable({}, { __close = function()
        if plan then plan:close() end
        for m, mode in pairs(modes) do rawset(m, "training", mode) end
    end })

    -- bookkeeping
    local steps = loader and #loader or (Ntr + batch_size - 1) // batch_size
    local keys = { "loss" }
    for _, m in ipairs(c.metrics) do keys[#keys + 1] = m.name end
    if Xv then
        local n = #keys
        for i = 1, n do keys[#keys + 1] = "val_" .. keys[i] end
    end
    local params = { epochs = epochs, steps = steps, batch_size = batch_size, samples = Ntr, verbose = verbose }
    local history = History.new(keys, params)
    self.history = history
    self.stop_training = false
    for _, cb in ipairs(cbs) do
        cb.model = self
        cb.params = params
    end
    local batch_cbs = {}
    for _, cb in ipairs(cbs) do
        if cb.on_batch_end then batch_cbs[#batch_cbs + 1] = cb end
    end
    local n_batch_cbs = #batch_cbs
    local batch_logs = { loss = 0, size = 0 }
    local mode = progress_mode(verbose, progress)
    local bar = mode == "bar"
    local p = { steps = steps, len = 0, t0 = 0, head = "" }

    if seed then mf.manual_seed(seed) end
    local ordered = not shuffle and mf.arange(1, Ntr + 1):long() or nil
    local cur_epoch, cur_step = nil, nil -- where an error happened, for its message
    local nan_error

    local function run()
        call_hook(cbs, "on_train_begin", {})
        local last_logs = {}
        for epoch = initial_epoch + 1, epochs do
            cur_epoch, cur_step = epoch, nil
            self:train()
            call_hook(cbs, "on_epoch_begin", epoch, {})
            local perm = ordered or (loader and loader:epoch_order()) or mf.randperm(Ntr)
            local t0 = mf.clock()
            p.t0, p.len, p.head = t0, 0, ("Epoch %d/%d"):format(epoch, epochs)
            local last_draw = t0
            local sum, seen, stop = 0, 0, false
            local first = 1
            for step = 1, steps do
                cur_step = step
                local count = Ntr - first + 1
                if count > batch_size then count = batch_size end
                local loss = train_batch(engine, Xtr, ttr, perm, first, count)
                first = first + count
                sum, seen = sum + loss * count, seen + count
                if loss ~= loss or loss == HUGE or loss == -HUGE then
                    if on_nan ~= "continue" then
                        local msg = ("loss is %s at epoch %d, step %d of %d")
                            :format(loss ~= loss and "NaN" or loss > 0 and "inf" or "-inf", epoch, step, steps)
                        if on_nan == "error" then
                            nan_error = "fit: " .. msg
                            fail(nan_error)
                        end
                        mf.warn("fit: %s: training stopped (on_nan = \"continue\" goes on)", msg)
                        stop = true
                    end
                end
                if n_batch_cbs > 0 then
                    batch_logs.loss, batch_logs.size = loss, count
                    for i = 1, n_batch_cbs do
                        local cb = batch_cbs[i]
                        cb:on_batch_end(step, batch_logs)
                    end
                end
                if bar then
                    local now = mf.clock()
                    if now - last_draw >= 0.1 or step == 1 then
                        last_draw = now
                        draw_bar(p, step, now, sum / seen)
                    end
                end
                if stop then break end
            end
            local train_seconds = mf.clock() - t0
            local logs = { loss = sum / seen }
            local steps_done = cur_step
            cur_step = nil -- errors from here on: at the end of the epoch
            if #c.metrics > 0 then measure(self, c, Xtr, ttr, wtr, logs, "", false, plan) end
            if Xv then measure(self, c, Xv, tv, wv, logs, "val_", true, plan) end
            local seconds = mf.clock() - t0
            if mode then finish_line(p, mode, seconds, train_seconds, steps_done, logs, keys) end
            call_hook(cbs, "on_epoch_end", epoch, logs)
            history:record(epoch, logs)
            last_logs = logs
            if stop or rawget(self, "stop_training") then break end
        end
        cur_epoch, cur_step = nil, nil
        call_hook(cbs, "on_train_end", last_logs)
    end

    local ok, err = pcall(run)
    if not ok then
        if nan_error then fail(nan_error) end
        local where = ""
        if cur_epoch then where = cur_step and ("epoch %d, step %d: "):format(cur_epoch, cur_step)
                                            or ("epoch %d: "):format(cur_epoch) end
        fail("fit: " .. where .. tostring(err))
    end
    return history
end)

---------------------------------------------------------------- evaluate, predict

--- model:evaluate(X, y [, {batch_size = 1024, sample_weight}]) → {loss =
-- ..., <metric> = ...}: the loss and metrics over every row, in eval mode and
-- without a graph.
Module.evaluate = public(function(self, X, y, opts)
    local fname = "evaluate"
    local c = compiled(self, fname)
    opts = options(opts, fname, 3, { "batch_size", "sample_weight" })
    local batch_size = check_int(opts.batch_size, PREDICT_BATCH, 1, fname, "batch_size")
    local built = name_layers(self)
    local dtype = built and model_dtype(self) or "float32"
    local keep_int = has_embedding(self:modules())
    X = as_features(X, dtype, fname, 1, "X", keep_int)
    local N = X:size(1)
    local labels, ny = as_labels(y, fname, 2, "y")
    if ny ~= N then argerror(2, fname, ("y has %d rows, X has %d"):format(ny, N)) end
    local out_shape, probe_out = probe(self, X, fname, "X")
    dtype = model_dtype(self)
    X = as_features(X, dtype, fname, 1, "X", keep_int)
    c.out_kind = output_kind(self, c, probe_out, fname)
    local s = { N }
    for i = 2, #out_shape do s[i] = out_shape[i] end
    local t = prepare_targets(self, c, labels, N, s, dtype, false, fname, 2, "y")
    local w = row_weights(self, c, t, N, nil, opts.sample_weight, dtype, fname)
    return measure(self, c, X, t, w, {}, "", true, nil, batch_size)
end)

local function predict_outputs(model, X, opts, fname)
    local batch_size = PREDICT_BATCH
    if opts ~= nil then
        opts = options(opts, fname, 2, { "batch_size" })
        batch_size = opts.batch_size or PREDICT_BATCH
        if math.type(batch_size) ~= "integer" or batch_size < 1 then
            argerror(2, fname, ("option 'batch_size' must be a positive integer, got %s"):format(tostring(batch_size)))
        end
    end
    -- one walk of the model (predict is called per row in serving loops)
    local mods = model:modules()
    local dtype = "float32"
    for _, m in ipairs(mods) do
        local w = rawget(m, "weight")
        if is_tensor(w) then
            dtype = w:dtype()
            break
        end
    end
    X = as_features(X, dtype, fname, 1, "X", has_embedding(mods))
    check_first_layer(model, X, fname, "X")
    return forward_all(model, X, batch_size, nil, mods)
end

--- model:predict(X [, {batch_size = 1024}]) → the outputs (probabilities for
-- a sigmoid/softmax head), in eval mode and without a graph.
Module.predict = public(function(self, X, opts)
    return predict_outputs(self, X, opts, "predict")
end)

--- model:predict_classes(X [, {batch_size}]) → the predicted labels, in the
-- values of model.classes: a Lua array for string labels, else a tensor.
Module.predict_classes = public(function(self, X, opts)
    local fname = "predict_classes"
    local c = rawget(self, "_compiled")
    local classes = rawget(self, "classes")
    if not c or not CLASSIFICATION[c.loss] or not classes then
        fail("predict_classes: the model has no classes: fit it first with a classification loss")
    end
    local out = predict_outputs(self, X, opts, fname)
    local idx
    if out:dim() == 1 or out:numel() == out:size(1) then
        local threshold = c.out_kind == "logit" and 0 or 0.5
        idx = out:reshape(-1):gt(threshold):long() + 1
    else
        if out:dim() ~= 2 then
            fail(("predict_classes: expected outputs [N x classes], got %s"):format(shape_str(out)))
        end
        idx = out:argmax(2)
    end
    if type(classes[1]) == "string" then
        local list = {}
        for i, k in ipairs(idx:totable()) do list[i] = classes[k] end
        return list
    end
    local integral = true
    for _, v in ipairs(classes) do if math.type(v) ~= "integer" then integral = false end end
    return mf.tensor(classes, integral and "int64" or "float64"):index(1, idx)
end)

return M
