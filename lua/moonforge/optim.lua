--- moonforge.optim — optimizers and learning-rate schedulers, after
-- PyTorch's torch.optim.
--
--     local opt = mf.optim.Adam(model:parameters(), {lr = 1e-3})
--     local sched = mf.optim.lr_scheduler.StepLR(opt, {step_size = 10})
--     for epoch = 1, 30 do
--         opt:zero_grad()
--         loss_fn(model(x), y):backward()
--         opt:step()
--         sched:step()
--     end
--
-- An optimizer keeps its parameters in `param_groups` (tables holding
-- `params` and the hyper-parameters, `lr` included, that schedulers change)
-- and the state of its i-th parameter (counting through the groups in order)
-- in `state[i]` = {step = n, <buffer name> = tensor, ...}. `opt:step()`
-- makes one C call per group (mf._optim_step): the update equations, the
-- float32/float64 kernels and the handling of denormals are documented in
-- core/mf_optim.h and docs/optim.md.
local mf = require "moonforge"

local M = {}

local is_tensor = mf.is_tensor
local core_step, core_check, core_state_names = mf._optim_step, mf._optim_check,
    mf._optim_state_names
-- the option-table checker of moonforge.nn (loaded before this module)
local check_options = mf.nn.check_options

local function argerror(argn, fname, msg, level)
    error(("bad argument #%d to '%s' (%s)"):format(argn, fname, msg), (level or 2) + 1)
end

local function fmt_value(v)
    if type(v) == "table" then
        local parts = {}
        for i, x in ipairs(v) do parts[i] = fmt_value(x) end
        return "{" .. table.concat(parts, ", ") .. "}"
    end
    return tostring(v)
end

local function sorted_keys(t)
    local keys = {}
    for k in pairs(t) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    return keys
end

---------------------------------------------------------------- algorithms
-- Options of each optimizer: name, kind and default (nil: required).
local REQUIRED = {}
local SPECS = {
    SGD = {
        {"lr", "number", REQUIRED}, {"momentum", "number", 0}, {"dampening", "number", 0},
        {"nesterov", "boolean", false}, {"weight_decay", "number", 0},
    },
    Adam = {
        {"lr", "number", 1e-3}, {"betas", "betas", {0.9, 0.999}}, {"eps", "number", 1e-8},
        {"weight_decay", "number", 0}, {"amsgrad", "boolean", false},
    },
    AdamW = {
        {"lr", "number", 1e-3}, {"betas", "betas", {0.9, 0.999}}, {"eps", "number", 1e-8},
        {"weight_decay", "number", 1e-2}, {"amsgrad", "boolean", false},
    },
    RMSprop = {
        {"lr", "number", 1e-2}, {"alpha", "number", 0.99}, {"eps", "number", 1e-8},
        {"weight_decay", "number", 0}, {"momentum", "number", 0}, {"centered", "boolean", false},
    },
    Adagrad = {
        {"lr", "number", 1e-2}, {"lr_decay", "number", 0}, {"weight_decay", "number", 0},
        {"initial_accumulator_value", "number", 0}, {"eps", "number", 1e-10},
    },
}

-- Every state buffer name an algorithm may use (whatever its options).
local STATE_NAMES = {
    SGD = {momentum_buffer = true},
    Adam = {exp_avg = true, exp_avg_sq = true, max_exp_avg_sq = true},
    AdamW = {exp_avg = true, exp_avg_sq = true, max_exp_avg_sq = true},
    RMSprop = {square_avg = true, momentum_buffer = true, grad_avg = true},
    Adagrad = {sum = true},
}

local function option_names(spec)
    local names = {}
    for i, o in ipairs(spec) do names[i] = o[1] end
    return names
end

local function copy_value(v)
    if type(v) == "table" then return {table.unpack(v)} end
    return v
end

-- Checks the kind of each option of `spec` present in `t`; `where` prefixes
-- messages ("" or "param group 2: ").
local function check_kinds(spec, t, fname, argn, where, level)
    for _, o in ipairs(spec) do
        local name, kind, v = o[1], o[2], t[o[1]]
        if v ~= nil then
            local ok
            if kind == "betas" then
                ok = type(v) == "table" and not is_tensor(v) and #v == 2
                    and type(v[1]) == "number" and type(v[2]) == "number"
            else
                ok = type(v) == kind
            end
            if not ok then
                local want = kind == "betas" and "a table of two numbers" or "a " .. kind
                argerror(argn, fname, ("%soption '%s' must be %s, got %s")
                         :format(where, name, want, is_tensor(v) and "tensor" or type(v)), level + 1)
            end
        end
    end
end

-- The values of the hyper-parameters (lr >= 0, betas in [0, 1), ...), by core.
local function check_values(algo, group, fname, argn, where, level)
    local msg = core_check(algo, group)
    if msg then argerror(argn, fname, where .. msg, level + 1) end
end

local function same_shape(a, b)
    local sa, sb = a:shape(), b:shape()
    if #sa ~= #sb then return false end
    for i = 1, #sa do if sa[i] ~= sb[i] then return false end end
    return true
end

---------------------------------------------------------------- Optimizer
local Optimizer = {}
Optimizer.__index = Optimizer
M.Optimizer = Optimizer

local function is_optimizer(v) return getmetatable(v) == Optimizer end

local function describe(v)
    if is_tensor(v) then return v:dtype() .. " tensor" end
    return type(v)
end

-- Checks and adds one group {params = ..., options...}. `list` is true for
-- the group made of a plain list of tensors (argument 1), whose options come
-- from the option table (argument 2). `level`: as seen by the caller.
local function add_group(self, group, fname, argn, level, list)
    local spec = SPECS[self.algo]
    local gi = #self.param_groups + 1
    local where = list and "" or ("param group %d: "):format(gi)
    local opt_argn = list and 2 or argn
    local allowed = option_names(spec)
    allowed[#allowed + 1] = "params"
    allowed[#allowed + 1] = "initial_lr" -- set by schedulers; kept when resuming
    if not list then
        for k in pairs(group) do
            local known = false
            for _, name in ipairs(allowed) do known = known or k == name end
            if not known then
                argerror(argn, fname, ("%sunknown option '%s' (expected one of: %s)")
                         :format(where, tostring(k), table.concat(allowed, ", ")), level + 1)
            end
        end
    end
    local params = group.params
    if is_tensor(params) then params = {params} end
    if type(params) ~= "table" then
        argerror(argn, fname, ("%s'params' must be a list of tensors, got %s")
                 :format(where, describe(params)), level + 1)
    end
    if #params == 0 then argerror(argn, fname, where .. "empty list of parameters", level + 1) end
    local g = {params = {}}
    local base, seen = 0, {}
    for _, other in ipairs(self.param_groups) do
        for _, p in ipairs(other.params) do
            base = base + 1
            seen[p] = base
        end
    end
    for i = 1, #params do
        local p, pos = params[i], base + i
        local bad
        if not is_tensor(p) then
            bad = ("parameter %d is %s, expected a tensor"):format(pos, describe(p))
        elseif p:is_freed() then
            bad = ("parameter %d has been freed"):format(pos)
        elseif p:dtype() ~= "float32" and p:dtype() ~= "float64" then
            bad = ("parameter %d is %s (expected float32 or float64)"):format(pos, describe(p))
        elseif not p.requires_grad then
            bad = ("parameter %d does not require grad"):format(pos)
        elseif not p.is_leaf then
            bad = ("parameter %d is not a leaf (made by %s): optimize the tensors it is computed from")
                :format(pos, p.grad_fn)
        elseif seen[p] then
            bad = ("parameter %d appears twice (also parameter %d)"):format(pos, seen[p])
        end
        if bad then argerror(argn, fname, where .. bad, level + 1) end
        seen[p] = pos
        g.params[i] = p
    end
    check_kinds(spec, group, fname, opt_argn, where, level + 1)
    for _, o in ipairs(spec) do
        local name = o[1]
        local v = group[name]
        if v == nil then v = self.defaults[name] end
        if v == nil then
            argerror(opt_argn, fname, ("%soption '%s' is required"):format(where, name), level + 1)
        end
        g[name] = copy_value(v)
    end
    if group.initial_lr ~= nil then
        if type(group.initial_lr) ~= "number" then
            argerror(argn, fname, where .. "option 'initial_lr' must be a number", level + 1)
        end
        g.initial_lr = group.initial_lr
    end
    check_values(self.algo, g, fname, opt_argn, where, level + 1)
    self.param_groups[gi] = g
    return g
end

local function new_optimizer(algo, params, opts, level)
    level = level + 1
    local spec = SPECS[algo]
    opts = check_options(opts, algo, 2, option_names(spec), level)
    check_kinds(spec, opts, algo, 2, "", level)
    local self = setmetatable({algo = algo, defaults = {}, param_groups = {}, state = {},
                               _step_count = 0}, Optimizer)
    for _, o in ipairs(spec) do
        local v = opts[o[1]]
        if v == nil and o[3] ~= REQUIRED then v = o[3] end
        self.defaults[o[1]] = copy_value(v)
    end
    -- values given in opts are errors of argument 2 (lr may be missing: SGD)
    local probe = {}
    for k, v in pairs(self.defaults) do probe[k] = v end
    if probe.lr == nil then probe.lr = 0 end
    check_values(algo, probe, algo, 2, "", level)
    if is_tensor(params) or type(params) ~= "table" then
        argerror(1, algo, ("expected a list of tensors or of param groups, got %s")
                 :format(describe(params)), level)
    end
    if #params == 0 then argerror(1, algo, "empty list of parameters", level) end
    if is_tensor(params[1]) then
        add_group(self, {params = params}, algo, 1, level, true)
        return self
    end
    for i, group in ipairs(params) do
        if type(group) ~= "table" or is_tensor(group) then
            argerror(1, algo, ("entry %d is %s: expected a list of tensors or of param groups")
                     :format(i, describe(group)), level)
        end
        add_group(self, group, algo, 1, level)
    end
    return self
end

-- An unbound optimizer: mf.optim.Adam{lr = 1e-3} or mf.optim.Adam() holds
-- checked options and no parameters; model:compile (moonforge.keras) binds
-- it with :bind(params), as Keras does.
local Unbound = {}
Unbound.__index = Unbound
M.Unbound = Unbound

function Unbound:bind(params)
    local opts = {}
    for k, v in pairs(self.options) do opts[k] = copy_value(v) end
    return new_optimizer(self.algo, params, opts, 2)
end

function Unbound:__tostring()
    local parts = {}
    for _, k in ipairs(sorted_keys(self.options)) do parts[#parts + 1] = k .. " = " .. fmt_value(self.options[k]) end
    return ("%s{%s} (unbound)"):format(self.algo, table.concat(parts, ", "))
end

-- Options only: nothing, or a table of string keys without an array part.
local function options_only(params, opts)
    if opts ~= nil then return false end
    if params == nil then return true end
    return type(params) == "table" and getmetatable(params) == nil and params[1] == nil
        and next(params) ~= nil
end

local function new_unbound(algo, opts, level)
    level = level + 1
    local spec = SPECS[algo]
    opts = check_options(opts, algo, 1, option_names(spec), level)
    check_kinds(spec, opts, algo, 1, "", level)
    local probe = {}
    for _, o in ipairs(spec) do
        local v = opts[o[1]]
        if v == nil and o[3] ~= REQUIRED then v = o[3] end
        if v == nil then argerror(1, algo, ("option '%s' is required"):format(o[1]), level) end
        probe[o[1]] = v
    end
    check_values(algo, probe, algo, 1, "", level)
    local options = {}
    for k, v in pairs(opts) do options[k] = copy_value(v) end
    return setmetatable({algo = algo, options = options}, Unbound)
end

for algo in pairs(SPECS) do
    M[algo] = function(params, opts)
        if options_only(params, opts) then return new_unbound(algo, params, 2) end
        return new_optimizer(algo, params, opts, 2)
    end
end

--- Adds a param group {params = {...}, option = value, ...} (missing options
-- take the optimizer's defaults).
function Optimizer:add_param_group(group)
    if type(group) ~= "table" or is_tensor(group) then
        argerror(1, "add_param_group", "param group table expected, got " .. describe(group))
    end
    add_group(self, group, "add_param_group", 1, 2)
end

--- One update of every parameter that has a gradient (those whose grad is
-- nil are skipped). With a closure, calls it first (with grad mode on) and
-- returns its result, as PyTorch's step(closure).
function Optimizer:step(closure)
    local loss
    if closure ~= nil then
        if type(closure) ~= "function" then
            argerror(1, "step", "closure must be a function, got " .. describe(closure))
        end
        loss = mf.enable_grad(closure)
    end
    local offset = 0
    for gi, g in ipairs(self.param_groups) do
        core_step(self.algo, g, self.state, offset, gi)
        offset = offset + #g.params
    end
    self._step_count = self._step_count + 1
    return loss
end

--- Drops every parameter's gradient (grad = nil, PyTorch's default
-- set_to_none); zero_grad(false) fills existing gradients with zeros instead.
function Optimizer:zero_grad(set_to_none)
    if set_to_none ~= nil and type(set_to_none) ~= "boolean" then
        argerror(1, "zero_grad", "set_to_none must be a boolean, got " .. describe(set_to_none))
    end
    for _, g in ipairs(self.param_groups) do
        for _, p in ipairs(g.params) do
            if set_to_none == false then
                local grad = p.grad
                if grad then mf.no_grad(grad.zero_, grad) end
            else
                p.grad = nil
            end
        end
    end
end

--- The optimizer's state as plain data: {state = {[i] = {step = n, buffer =
-- tensor, ...}}, param_groups = {{lr = ..., params = {1, 2}}, ...}}, with a
-- (possibly empty) table for every parameter position. Buffers are the live
-- tensors, not copies; mf.save writes them.
function Optimizer:state_dict()
    local state, groups = {}, {}
    local pos = 0
    for gi, g in ipairs(self.param_groups) do
        local sg = {params = {}}
        for k, v in pairs(g) do
            if k ~= "params" then sg[k] = copy_value(v) end
        end
        for i = 1, #g.params do
            pos = pos + 1
            sg.params[i] = pos
            local s = {}
            for k, v in pairs(self.state[pos] or {}) do s[k] = v end
            state[pos] = s
        end
        groups[gi] = sg
    end
    return {state = state, param_groups = groups}
end

--- Restores a state_dict (of an optimizer of the same kind over parameters
-- of the same shapes, in the same order): hyper-parameters, step counts and
-- buffers (copied, in each parameter's dtype).
function Optimizer:load_state_dict(sd)
    local fname = "load_state_dict"
    if type(sd) ~= "table" or type(sd.state) ~= "table" or type(sd.param_groups) ~= "table" then
        argerror(1, fname, "expected a table {state = ..., param_groups = ...} from state_dict()")
    end
    local spec, names = SPECS[self.algo], STATE_NAMES[self.algo]
    if #sd.param_groups ~= #self.param_groups then
        argerror(1, fname, ("the state dict has %d param groups, the optimizer %d")
                 :format(#sd.param_groups, #self.param_groups))
    end
    local new_groups, new_state = {}, {}
    local pos = 0
    for gi, g in ipairs(self.param_groups) do
        local sg = sd.param_groups[gi]
        local where = ("param group %d: "):format(gi)
        if type(sg) ~= "table" or type(sg.params) ~= "table" then
            argerror(1, fname, where .. "expected a table with 'params'")
        end
        if #sg.params ~= #g.params then
            argerror(1, fname, ("%s%d parameters in the state dict, %d in the optimizer")
                     :format(where, #sg.params, #g.params))
        end
        check_kinds(spec, sg, fname, 1, where, 2)
        local ng = {params = g.params}
        for k, v in pairs(sg) do
            if k ~= "params" then ng[k] = copy_value(v) end
        end
        for _, o in ipairs(spec) do
            if ng[o[1]] == nil then ng[o[1]] = copy_value(g[o[1]]) end
        end
        check_values(self.algo, ng, fname, 1, where, 2)
        new_groups[gi] = ng
        for i, p in ipairs(g.params) do
            pos = pos + 1
            local src = sg.params[i]
            local entry = sd.state[math.tointeger(src) or src]
            local ws = ("state of parameter %d: "):format(pos)
            if entry ~= nil and type(entry) ~= "table" then
                argerror(1, fname, ws .. "expected a table, got " .. describe(entry))
            end
            local s = {}
            entry = entry or {}
            for _, k in ipairs(sorted_keys(entry)) do
                local v = entry[k]
                if k == "step" then
                    local n = math.tointeger(v)
                    if not n or n < 0 then
                        argerror(1, fname, ws .. "'step' must be an integer >= 0, got " .. tostring(v))
                    end
                    s.step = n
                elseif names[k] then
                    if not is_tensor(v) then
                        argerror(1, fname, ("%s'%s' must be a tensor, got %s"):format(ws, k, describe(v)))
                    end
                    if not same_shape(v, p) then
                        argerror(1, fname, ("%s'%s' has shape [%s], the parameter [%s]")
                                 :format(ws, k, table.concat(v:shape(), "x"), table.concat(p:shape(), "x")))
                    end
                    s[k] = mf.no_grad(mf.tensor, v, p:dtype())
                else
                    argerror(1, fname, ("%sunknown entry '%s' for %s"):format(ws, tostring(k), self.algo))
                end
            end
            new_state[pos] = next(s) and s or nil
        end
    end
    self.param_groups, self.state = new_groups, new_state
end

function Optimizer:__tostring()
    local lines = {self.algo .. " ("}
    for gi, g in ipairs(self.param_groups) do
        lines[#lines + 1] = ("Parameter Group %d"):format(gi)
        for _, k in ipairs(sorted_keys(g)) do
            if k ~= "params" then
                lines[#lines + 1] = ("    %s: %s"):format(k, fmt_value(g[k]))
            end
        end
    end
    lines[#lines + 1] = ")"
    return table.concat(lines, "\n")
end

--- Names of the state buffers this optimizer keeps for a parameter of group gi.
function Optimizer:state_names(gi)
    return core_state_names(self.algo, self.param_groups[gi or 1])
end

---------------------------------------------------------------- schedulers
local S = {}
M.lr_scheduler = S

local function check_optimizer(opt, fname, level)
    if not is_optimizer(opt) then
        argerror(1, fname, "optimizer expected, got " .. describe(opt), level + 1)
    end
end

local function check_number(v, fname, name, level, int, min, min_strict)
    local ok = type(v) == "number" and (not int or math.tointeger(v) ~= nil)
    if ok and min then ok = min_strict and v > min or (not min_strict and v >= min) end
    if not ok then
        argerror(2, fname, ("option '%s' must be %s%s, got %s")
                 :format(name, int and "an integer" or "a number",
                         min and ((min_strict and " > " or " >= ") .. min) or "",
                         tostring(v)), level + 1)
    end
    return v
end

-- Fields that state_dict leaves out.
local NOT_STATE = {optimizer = true}

local function plain_copy(v)
    if type(v) ~= "table" then return v end
    local c = {}
    for k, x in pairs(v) do c[k] = plain_copy(x) end
    return c
end

local Scheduler = {}
Scheduler.__index = Scheduler

--- The learning rates of the groups after the last step.
function Scheduler:get_last_lr() return {table.unpack(self._last_lr)} end

--- The scheduler's counters as plain data (without the optimizer).
function Scheduler:state_dict()
    local sd = {}
    for k, v in pairs(self) do
        if not NOT_STATE[k] then sd[k] = plain_copy(v) end
    end
    return sd
end

function Scheduler:load_state_dict(sd)
    if type(sd) ~= "table" then argerror(1, "load_state_dict", "table expected, got " .. describe(sd)) end
    for k, v in pairs(sd) do
        if not NOT_STATE[k] then self[k] = plain_copy(v) end
    end
end

local function group_lrs(opt)
    local lrs = {}
    for i, g in ipairs(opt.param_groups) do lrs[i] = g.lr end
    return lrs
end

--- Advances one epoch and sets each group's lr (PyTorch's chainable form:
-- the new lr is computed from the group's current one).
function Scheduler:step(...)
    if select("#", ...) > 0 then
        argerror(1, "step", "step() takes no argument (only ReduceLROnPlateau:step takes a metric)")
    end
    if self._step_count == 1 and self.optimizer._step_count == 0 then
        mf.warn("lr_scheduler step() called before the optimizer's step(): the first value of "
                .. "the learning rate schedule is skipped (call opt:step() first)")
    end
    self._step_count = self._step_count + 1
    self.last_epoch = self.last_epoch + 1
    local lrs = self:get_lr()
    for i, g in ipairs(self.optimizer.param_groups) do g.lr = lrs[i] end
    self._last_lr = group_lrs(self.optimizer)
end

-- A scheduler class `name`: init.options are its option names and
-- init.check(opts, fname, level) returns its fields from checked options.
local function scheduler_class(name, init)
    local cls = setmetatable({}, {__index = Scheduler})
    cls.__index = cls
    cls.__tostring = function(self) return name .. "(last_epoch=" .. self.last_epoch .. ")" end
    S[name] = function(opt, opts)
        check_optimizer(opt, name, 2)
        opts = check_options(opts, name, 2, init.options, 2)
        local self = setmetatable(init.check(opts, name, 2), cls)
        self.optimizer, self.last_epoch, self._step_count, self.base_lrs = opt, -1, 0, {}
        for i, g in ipairs(opt.param_groups) do
            if g.initial_lr == nil then g.initial_lr = g.lr end
            self.base_lrs[i] = g.initial_lr
        end
        Scheduler.step(self) -- epoch 0: the initial lrs
        return self
    end
    return cls
end

-- The step's new lrs from the current ones when f(lr, base_lr, i) is given.
local function map_lrs(self, f)
    local out = {}
    for i, g in ipairs(self.optimizer.param_groups) do out[i] = f(g.lr, self.base_lrs[i], i) end
    return out
end

--- StepLR(opt, {step_size, gamma = 0.1}): lr * gamma every step_size epochs.
local StepLR = scheduler_class("StepLR", {
    options = {"step_size", "gamma"},
    check = function(o, fname, level)
        if o.step_size == nil then argerror(2, fname, "option 'step_size' is required", level + 1) end
        return {step_size = check_number(o.step_size, fname, "step_size", level + 1, true, 0, true),
                gamma = check_number(o.gamma or 0.1, fname, "gamma", level + 1)}
    end,
})
function StepLR:get_lr()
    if self.last_epoch == 0 or self.last_epoch % self.step_size ~= 0 then return group_lrs(self.optimizer) end
    return map_lrs(self, function(lr) return lr * self.gamma end)
end

--- ExponentialLR(opt, {gamma}): lr * gamma every epoch.
local ExponentialLR = scheduler_class("ExponentialLR", {
    options = {"gamma"},
    check = function(o, fname, level)
        if o.gamma == nil then argerror(2, fname, "option 'gamma' is required", level + 1) end
        return {gamma = check_number(o.gamma, fname, "gamma", level + 1)}
    end,
})
function ExponentialLR:get_lr()
    if self.last_epoch == 0 then return group_lrs(self.optimizer) end
    return map_lrs(self, function(lr) return lr * self.gamma end)
end

--- CosineAnnealingLR(opt, {T_max, eta_min = 0}): from the initial lr down to
-- eta_min along half a cosine over T_max epochs (and back up after, as
-- PyTorch's recursive form).
local CosineAnnealingLR = scheduler_class("CosineAnnealingLR", {
    options = {"T_max", "eta_min"},
    check = function(o, fname, level)
        if o.T_max == nil then argerror(2, fname, "option 'T_max' is required", level + 1) end
        return {T_max = check_number(o.T_max, fname, "T_max", level + 1, true, 0, true),
                eta_min = check_number(o.eta_min or 0, fname, "eta_min", level + 1)}
    end,
})
function CosineAnnealingLR:get_lr()
    local t, T, eta = self.last_epoch, self.T_max, self.eta_min
    if t == 0 then return group_lrs(self.optimizer) end
    if (t - 1 - T) % (2 * T) == 0 then
        return map_lrs(self, function(lr, base)
            return lr + (base - eta) * (1 - math.cos(math.pi / T)) / 2
        end)
    end
    return map_lrs(self, function(lr)
        return (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T)) * (lr - eta) + eta
    end)
end

--- ReduceLROnPlateau(opt, {mode = "min", factor = 0.1, patience = 10,
-- threshold = 1e-4, threshold_mode = "rel", cooldown = 0, min_lr = 0,
-- eps = 1e-8}): sched:step(metric) multiplies the lrs by factor when the
-- metric has not improved for more than `patience` epochs.
local Plateau = setmetatable({}, {__index = Scheduler})
Plateau.__index = Plateau
Plateau.__tostring = function(self) return "ReduceLROnPlateau(last_epoch=" .. self.last_epoch .. ")" end
local PLATEAU_OPTS = {"mode", "factor", "patience", "threshold", "threshold_mode", "cooldown",
                      "min_lr", "eps"}

function S.ReduceLROnPlateau(opt, opts)
    local fname = "ReduceLROnPlateau"
    check_optimizer(opt, fname, 2)
    opts = check_options(opts, fname, 2, PLATEAU_OPTS, 2)
    local mode, tmode = opts.mode or "min", opts.threshold_mode or "rel"
    if mode ~= "min" and mode ~= "max" then
        argerror(2, fname, ("option 'mode' must be \"min\" or \"max\", got %s"):format(tostring(mode)))
    end
    if tmode ~= "rel" and tmode ~= "abs" then
        argerror(2, fname, ("option 'threshold_mode' must be \"rel\" or \"abs\", got %s")
                 :format(tostring(tmode)))
    end
    local factor = check_number(opts.factor or 0.1, fname, "factor", 2, false, 0)
    if factor >= 1 then argerror(2, fname, ("option 'factor' must be < 1, got %s"):format(factor)) end
    local ngroups = #opt.param_groups
    local min_lrs = {}
    local min_lr = opts.min_lr or 0
    if type(min_lr) == "table" then
        if #min_lr ~= ngroups then
            argerror(2, fname, ("option 'min_lr' has %d entries for %d param groups"):format(#min_lr, ngroups))
        end
        for i = 1, ngroups do min_lrs[i] = check_number(min_lr[i], fname, "min_lr", 2, false, 0) end
    else
        check_number(min_lr, fname, "min_lr", 2, false, 0)
        for i = 1, ngroups do min_lrs[i] = min_lr end
    end
    local self = setmetatable({
        optimizer = opt, mode = mode, threshold_mode = tmode, factor = factor,
        patience = check_number(opts.patience or 10, fname, "patience", 2, true, 0),
        threshold = check_number(opts.threshold or 1e-4, fname, "threshold", 2, false, 0),
        cooldown = check_number(opts.cooldown or 0, fname, "cooldown", 2, true, 0),
        eps = check_number(opts.eps or 1e-8, fname, "eps", 2, false, 0),
        min_lrs = min_lrs,
        best = mode == "min" and math.huge or -math.huge,
        num_bad_epochs = 0, cooldown_counter = 0, last_epoch = 0,
        _last_lr = group_lrs(opt),
    }, Plateau)
    return self
end

function Plateau:is_better(a, best)
    local th, rel = self.threshold, self.threshold_mode == "rel"
    if self.mode == "min" then
        if rel then return a < best * (1 - th) end
        return a < best - th
    end
    if rel then return a > best * (1 + th) end
    return a > best + th
end

--- One epoch with the monitored metric (a number or a one-element tensor).
function Plateau:step(metric)
    if is_tensor(metric) then
        if metric:numel() ~= 1 then
            argerror(1, "step", ("metric must be a number or a one-element tensor, got a tensor of %d elements")
                     :format(metric:numel()))
        end
        metric = metric:item()
    end
    if type(metric) ~= "number" then
        argerror(1, "step", "metric must be a number or a one-element tensor, got " .. type(metric))
    end
    self.last_epoch = self.last_epoch + 1
    if self:is_better(metric, self.best) then
        self.best = metric
        self.num_bad_epochs = 0
    else
        self.num_bad_epochs = self.num_bad_epochs + 1
    end
    if self.cooldown_counter > 0 then
        self.cooldown_counter = self.cooldown_counter - 1
        self.num_bad_epochs = 0
    end
    if self.num_bad_epochs > self.patience then
        for i, g in ipairs(self.optimizer.param_groups) do
            local new = math.max(g.lr * self.factor, self.min_lrs[i])
            if g.lr - new > self.eps then g.lr = new end
        end
        self.cooldown_counter = self.cooldown
        self.num_bad_epochs = 0
    end
    self._last_lr = group_lrs(self.optimizer)
end

---------------------------------------------------------------- gradient clipping
--- mf.nn.clip_grad_norm(params, max_norm [, {norm_type = 2,
-- error_if_nonfinite = false}]) → the total norm of the gradients (as one
-- vector) before clipping; when it exceeds max_norm every gradient is
-- scaled in place by max_norm / (norm + 1e-6). In C: mf.clip_grad_norm_.
M.clip_grad_norm = mf.clip_grad_norm_
mf.nn.clip_grad_norm = mf.clip_grad_norm_
mf.nn.clip_grad_norm_ = mf.clip_grad_norm_

return M
