--- moonforge.losses (mf.nn.losses) — loss functions, after
-- torch.nn.functional. Each is f(input, target [, opts]) with
-- opts.reduction = "mean" (default) | "sum" | "none"; the same losses are
-- modules in mf.nn (nn.MSELoss{...}, ...).
--
-- Targets may be tensors or Lua arrays. Class indices are 1-based. Every
-- loss is a composition of differentiable tensor ops, written to stay finite
-- (values and gradients) for extreme inputs.
local mf = require "moonforge"
local nn = require "moonforge.nn"

local M = {}

local is_tensor, check_options, shape_str = mf.is_tensor, nn.check_options, nn._shape_str
local F = nn.functional

-- Raises "bad argument #argn to 'fname' (msg)". level: 4 (the default) from
-- a helper of a loss function, 3 from the loss function itself.
local function argerror(argn, fname, msg, level)
    error(("bad argument #%d to '%s' (%s)"):format(argn, fname, msg), level or 4)
end

local REDUCTIONS = { mean = true, sum = true, none = true }

-- Checks the option table (level: the loss function's caller).
local function options(opts, fname, allowed)
    opts = check_options(opts, fname, 3, allowed, 3)
    local r = opts.reduction
    if r ~= nil and not REDUCTIONS[r] then
        argerror(3, fname, ("reduction must be 'mean', 'sum' or 'none', got %s"):format(
            type(r) == "string" and "'" .. r .. "'" or tostring(r)))
    end
    return opts
end

local function reduce(loss, reduction)
    if reduction == "sum" then return loss:sum() end
    if reduction == "none" then return loss end
    return loss:mean()
end

local function check_input(x, fname)
    if not is_tensor(x) then argerror(1, fname, ("tensor expected, got %s"):format(type(x))) end
end

local function same_shape(a, b)
    if a:dim() ~= b:dim() then return false end
    for i = 1, a:dim() do
        if a:size(i) ~= b:size(i) then return false end
    end
    return true
end

-- The target as a tensor of the input's shape (Lua arrays take the input's
-- dtype). Shapes must be equal: broadcasting an (N, 1) prediction against an
-- (N) target is a classic silent bug.
local function target_like(input, target, fname)
    if type(target) == "table" and not is_tensor(target) then
        local ok, t = pcall(mf.tensor, target, input:dtype())
        if not ok then argerror(2, fname, (tostring(t):gsub("^.-%(", "", 1):gsub("%)$", ""))) end
        target = t
    end
    if not is_tensor(target) then argerror(2, fname, ("tensor expected, got %s"):format(type(target))) end
    if not same_shape(input, target) then
        argerror(2, fname, ("target shape %s does not match input shape %s")
                 :format(shape_str(target), shape_str(input)))
    end
    return target
end

-- A weight: a tensor, or a Lua array / number converted to the input's dtype.
local function weight_tensor(w, input)
    if w == nil or is_tensor(w) then return w end
    return mf.tensor(w, input:dtype())
end

---------------------------------------------------------------- regression

--- Mean squared error: (input - target)^2.
function M.mse(input, target, opts)
    check_input(input, "mse")
    opts = options(opts, "mse", { "reduction" })
    local d = input - target_like(input, target, "mse")
    return reduce(d * d, opts.reduction)
end

--- Mean absolute error (L1): |input - target|.
function M.mae(input, target, opts)
    check_input(input, "mae")
    opts = options(opts, "mae", { "reduction" })
    return reduce((input - target_like(input, target, "mae")):abs(), opts.reduction)
end
M.l1 = M.mae

--- Huber loss: 0.5 d^2 where |d| <= delta, else delta * (|d| - 0.5 delta)
-- (d = input - target, delta = 1 by default). Computed as
-- 0.5 q^2 + delta (|d| - q) with q = min(|d|, delta): no branch, and the
-- gradient is continuous at |d| = delta.
function M.huber(input, target, opts)
    check_input(input, "huber")
    opts = options(opts, "huber", { "reduction", "delta" })
    local delta = opts.delta or 1
    if type(delta) ~= "number" or delta <= 0 then
        argerror(3, "huber", ("delta must be a positive number, got %s"):format(tostring(delta)), 3)
    end
    local a = (input - target_like(input, target, "huber")):abs()
    local q = a:clamp(nil, delta)
    return reduce(q * q * 0.5 + (a - q) * delta, opts.reduction)
end

---------------------------------------------------------------- binary

local LOG_FLOOR = -100
local P_FLOOR = math.exp(LOG_FLOOR)

-- log(p) clamped at -100 (PyTorch's BCELoss), with a finite gradient: p at or
-- below e^-100 reads 1 inside the log, so log's backward never divides by 0.
local function clamped_log(p)
    local ok = p:gt(P_FLOOR)
    return mf.where(ok, mf.where(ok, p, 1):log(), LOG_FLOOR)
end

--- Binary cross-entropy on probabilities:
-- -(t log p + (1 - t) log(1 - p)), each log clamped at -100 as PyTorch.
-- opts.weight rescales each element (broadcast). Inputs outside [0, 1] are
-- an error (logits belong to bce_with_logits).
function M.bce(input, target, opts)
    check_input(input, "bce")
    opts = options(opts, "bce", { "reduction", "weight" })
    target = target_like(input, target, "bce")
    if input:numel() > 0 then
        local lo, hi = input:amin():item(), input:amax():item()
        if lo < 0 or hi > 1 then
            argerror(1, "bce", ("input must hold probabilities in [0, 1], got values in [%g, %g]"
                                .. " (use bce_with_logits for logits)"):format(lo, hi), 3)
        end
    end
    local loss = -(target * clamped_log(input) + (1 - target) * clamped_log(1 - input))
    local w = weight_tensor(opts.weight, input)
    if w then loss = loss * w end
    return reduce(loss, opts.reduction)
end

--- Binary cross-entropy on logits x, as PyTorch:
-- (1 - t) x + (1 + (pos_weight - 1) t) softplus(-x), stable for any x.
-- pos_weight (a number or a tensor broadcast along the last dim) weighs the
-- positive examples; weight rescales each element.
function M.bce_with_logits(input, target, opts)
    local fname = "bce_with_logits"
    check_input(input, fname)
    opts = options(opts, fname, { "reduction", "weight", "pos_weight" })
    target = target_like(input, target, fname)
    local sp = F.softplus(-input)                       -- -log sigmoid(x)
    local loss
    if opts.pos_weight ~= nil then
        local pw = weight_tensor(opts.pos_weight, input)
        loss = (1 - target) * input + ((pw - 1) * target + 1) * sp
    else
        loss = (1 - target) * input + sp
    end
    local w = weight_tensor(opts.weight, input)
    if w then loss = loss * w end
    return reduce(loss, opts.reduction)
end

--- Hinge loss for labels y in {-1, 1}: max(0, margin - y x), margin = 1 by
-- default (the SVM loss; not PyTorch's HingeEmbeddingLoss).
function M.hinge(input, target, opts)
    check_input(input, "hinge")
    opts = options(opts, "hinge", { "reduction", "margin" })
    target = target_like(input, target, "hinge")
    local margin = opts.margin or 1
    if type(margin) ~= "number" then
        argerror(3, "hinge", ("margin must be a number, got %s"):format(type(margin)), 3)
    end
    if target:numel() > 0 and mf.ne(target:abs(), 1):any():item() then
        argerror(2, "hinge", "target values must be -1 or 1", 3)
    end
    return reduce((margin - target * input):relu(), opts.reduction)
end

---------------------------------------------------------------- classes

-- The class dim of an input: 1 for a single (C) score vector, else 2
-- ((N, C) or (N, C, d1, ...)).
local function class_dim(input) return input:dim() == 1 and 1 or 2 end

-- Class indices: an int64 tensor (or Lua array / integer) with the input's
-- shape minus the class dim, every value in 1..C.
local function class_indices(input, target, fname)
    if type(target) == "table" and not is_tensor(target) or math.type(target) == "integer" then
        local ok, t = pcall(mf.tensor, target, "int64")
        if not ok then argerror(2, fname, (tostring(t):gsub("^.-%(", "", 1):gsub("%)$", ""))) end
        target = t
    end
    if not is_tensor(target) then argerror(2, fname, ("tensor expected, got %s"):format(type(target))) end
    local cdim = class_dim(input)
    local expected = input:shape()
    table.remove(expected, cdim)
    local ok = target:dim() == #expected
    for i = 1, #expected do ok = ok and target:size(i) == expected[i] end
    if target:dtype() ~= "int64" then
        argerror(2, fname, ("class indices must be an int64 tensor (target:long()), got %s %s for input %s")
                 :format(target:dtype(), shape_str(target), shape_str(input)))
    end
    if not ok then
        argerror(2, fname, ("target shape %s does not match input shape %s (expected %s)")
                 :format(shape_str(target), shape_str(input), "[" .. table.concat(expected, "x") .. "]"))
    end
    local C = input:size(cdim)
    if target:numel() > 0 then
        local lo, hi = target:amin():item(), target:amax():item()
        if lo < 1 or hi > C then
            local bad = lo < 1 and lo or hi
            argerror(2, fname, ("class index %d out of range for %d classes (expected 1..%d%s)")
                     :format(bad, C, C, bad == 0 and "; class indices are 1-based" or ""))
        end
    end
    return target, cdim, C
end

local function check_weight(w, input, C, fname)
    w = weight_tensor(w, input)
    if w ~= nil and (w:dim() ~= 1 or w:size(1) ~= C) then
        argerror(3, fname, ("weight must have shape [%d] (one per class), got %s"):format(C, shape_str(w)))
    end
    return w
end

-- Weighted negative log-likelihood of log-probabilities logp at the target
-- classes. Returns the reduced loss and the per-element weights (or nil).
local function nll_core(logp, target, cdim, w, reduction)
    local picked = logp:gather(cdim, target:unsqueeze(cdim)):squeeze(cdim)
    if not w then return reduce(-picked, reduction) end
    local wt = w:index(1, target:reshape(-1)):reshape(target:shape())
    local loss = -(picked * wt)
    if reduction == "mean" or reduction == nil then return loss:sum() / wt:sum(), wt end
    return reduce(loss, reduction), wt
end

-- w viewed to broadcast along the class dim of an input with nd dims.
local function along_class(w, cdim, nd)
    local shape = {}
    for i = 1, nd do shape[i] = i == cdim and w:size(1) or 1 end
    return w:view(shape)
end

--- Negative log-likelihood of log-probabilities (N, C) (or (C), or
-- (N, C, d1, ...)) at 1-based class indices. opts.weight: one weight per
-- class; the mean is then divided by the sum of the targets' weights.
function M.nll(input, target, opts)
    check_input(input, "nll")
    opts = options(opts, "nll", { "reduction", "weight" })
    local t, cdim, C = class_indices(input, target, "nll")
    local w = check_weight(opts.weight, input, C, "nll")
    return (nll_core(input, t, cdim, w, opts.reduction))
end

--- Cross-entropy of logits (N, C) (or (C), or (N, C, d1, ...)), computed
-- from log_softmax. The target is either 1-based class indices (int64 tensor
-- or Lua array, the input's shape without the class dim) or class
-- probabilities (a float tensor of the input's shape). opts.weight: one
-- weight per class; opts.label_smoothing = eps mixes the target with the
-- uniform distribution as PyTorch: (1 - eps) nll + eps/C * sum_c -log p_c.
function M.cross_entropy(input, target, opts)
    local fname = "cross_entropy"
    check_input(input, fname)
    opts = options(opts, fname, { "reduction", "weight", "label_smoothing" })
    local eps = opts.label_smoothing or 0
    if type(eps) ~= "number" or eps < 0 or eps > 1 then
        argerror(3, fname, ("label_smoothing must be in [0, 1], got %s"):format(tostring(eps)), 3)
    end
    if input:dim() == 0 then argerror(1, fname, "input must have a class dim, got a 0-D tensor", 3) end
    local cdim = class_dim(input)
    local C = input:size(cdim)
    local w = check_weight(opts.weight, input, C, fname)
    local logp = F.log_softmax(input, cdim)
    local reduction = opts.reduction or "mean"

    if is_tensor(target) and target:dtype() ~= "int64" and same_shape(input, target) then
        -- class probabilities
        local p = target
        if eps > 0 then p = p * (1 - eps) + eps / C end
        local terms = logp * p
        if w then terms = terms * along_class(w, cdim, input:dim()) end
        return reduce(-terms:sum(cdim), reduction)
    end

    local t = class_indices(input, target, fname)
    local nll, wt = nll_core(logp, t, cdim, w, reduction)
    if eps == 0 then return nll end
    local terms = w and logp * along_class(w, cdim, input:dim()) or logp
    local smooth = -terms:sum(cdim)
    if reduction == "mean" then
        smooth = w and smooth:sum() / wt:sum() or smooth:mean()
    else
        smooth = reduce(smooth, reduction)
    end
    return nll * (1 - eps) + smooth * (eps / C)
end

return M
