--- moonforge.nn — neural-network modules, after PyTorch's torch.nn.
--
--     local mf = require "moonforge"
--     local nn = mf.nn
--     local model = nn.Sequential{nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1)}
--     local y = model(mf.randn(16, 4))
--
-- A module is a Lua table whose class derives from nn.Module. Its parameters
-- and buffers are found by walking its fields, without registration:
--
--   * a tensor field that requires grad and is a leaf is a parameter;
--   * a tensor field that does not require grad is a buffer (saved in
--     state_dict, e.g. BatchNorm's running statistics);
--   * a module field is a child module, walked in turn;
--   * a plain Lua table (no metatable) is walked like a module, so Lua arrays
--     of modules or of tensors work as containers;
--   * string keys starting with "_" are private: never walked.
--
-- Fields are visited in the order they were first assigned (recorded by the
-- instances' __newindex), then any others (integer keys in ascending order,
-- then strings sorted). A tensor or module reachable twice (shared weights)
-- is listed once, under its first name. Dims and class indices are 1-based.
local mf = require "moonforge"

local M = {}

local is_tensor = mf.is_tensor

---------------------------------------------------------------- helpers

local function shape_str(t)
    return "[" .. table.concat(t:shape(), "x") .. "]"
end
M._shape_str = shape_str

--- Checks an option table: nil gives {}, anything but a table or an unknown
-- key is an error "bad argument #argn to 'fname' (...)". `allowed` is the list
-- of known keys; `level` is the error level as seen by the caller of
-- check_options (2: the caller's caller). Returns the table.
function M.check_options(opts, fname, argn, allowed, level)
    level = (level or 2) + 1
    if opts == nil then return {} end
    if type(opts) ~= "table" or is_tensor(opts) then
        error(("bad argument #%d to '%s' (option table expected, got %s)")
              :format(argn, fname, is_tensor(opts) and "tensor" or type(opts)), level)
    end
    for k in pairs(opts) do
        local known = false
        for _, name in ipairs(allowed) do
            if k == name then known = true break end
        end
        if not known then
            error(("bad argument #%d to '%s' (unknown option '%s' (expected one of: %s))")
                  :format(argn, fname, tostring(k), table.concat(allowed, ", ")), level)
        end
    end
    return opts
end
local check_options = M.check_options

local function argerror(argn, fname, msg, level)
    error(("bad argument #%d to '%s' (%s)"):format(argn, fname, msg), (level or 2) + 1)
end

local function check_number(v, argn, fname, what, level)
    if type(v) ~= "number" then
        argerror(argn, fname, ("%s must be a number, got %s"):format(what, type(v)), (level or 2) + 1)
    end
    return v
end

local function check_size(v, argn, fname, what, level)
    if math.type(v) ~= "integer" or v < 1 then
        argerror(argn, fname, ("%s must be a positive integer, got %s"):format(what, tostring(v)),
                 (level or 2) + 1)
    end
    return v
end

local function check_input(x, fname, level)
    if not is_tensor(x) then
        argerror(1, fname, ("tensor expected, got %s"):format(type(x)), (level or 2) + 1)
    end
end

---------------------------------------------------------------- classes
-- A class is a table; its metatable makes it callable (construction) and
-- chains lookups to the parent class. Each class has one metatable for its
-- instances (`imt`), which records field assignment order and forwards
-- __call to :forward.

local class_info = setmetatable({}, { __mode = "k" })   -- class -> {name, imt, parent}
local instance_mts = setmetatable({}, { __mode = "k" }) -- imt -> class
local order_of = setmetatable({}, { __mode = "k" })     -- instance -> keys in order

local function is_module(v)
    if type(v) ~= "table" then return false end
    local mt = getmetatable(v)
    return mt ~= nil and instance_mts[mt] ~= nil
end
M.is_module = is_module

local function class_of(m) return instance_mts[getmetatable(m)] end

local function class_name(m) return class_info[class_of(m)].name end

local function record_field(self, k, v)
    if v ~= nil then
        local order = order_of[self]
        if not order then
            order = {}
            order_of[self] = order
        end
        order[#order + 1] = k
    end
    rawset(self, k, v)
end

local function call_forward(self, ...) return self:forward(...) end

-- Class(...): a new instance, in training mode, set up by its init.
local function construct(cls, ...)
    local self = setmetatable({}, class_info[cls].imt)
    rawset(self, "training", true)
    self:init(...)
    return self
end

local repr -- forward declaration (printing, below)

local function make_class(name, parent, cls)
    cls = cls or {}
    local imt = {
        __index = cls,
        __newindex = record_field,
        __call = call_forward,
        __tostring = function(self) return repr(self, "") end,
        __name = name,
    }
    class_info[cls] = { name = name, imt = imt, parent = parent }
    instance_mts[imt] = cls
    return setmetatable(cls, {
        __index = parent,
        __call = construct,
        __tostring = function() return "class " .. name end,
    })
end

--- The base class of every module.
local Module = make_class("Module", nil, {})
M.Module = Module

--- Module:extend(name) → a new class deriving from this one.
function Module:extend(name)
    if not class_info[self] then
        error("bad argument #0 to 'extend' (call it on a class: nn.Module:extend(\"Name\"))", 2)
    end
    if type(name) ~= "string" or name == "" then
        error(("bad argument #1 to 'extend' (class name expected, got %s)"):format(type(name)), 2)
    end
    return make_class(name, self)
end

--- Runs when an instance is created (Class(...)); override it.
function Module.init() end

function Module:forward()
    error(("%s:forward is not defined"):format(class_name(self)), 2)
end

--- The class of an instance and its name.
function Module:class() return class_of(self) end
function Module:class_name() return class_name(self) end

---------------------------------------------------------------- walking

-- Keys of obj in walking order: assignment order first, then the others
-- (integers ascending, then strings sorted). Private keys ("_x") and
-- `training` are left out.
-- Whether field k = v is walked: tensors and tables, not private keys.
local function walkable(k, v)
    local tv = type(v)
    if tv ~= "table" and not (tv == "userdata" and is_tensor(v)) then return false end
    return type(k) ~= "string" or (k:byte(1) ~= 95 --[[ "_" ]] and k ~= "training")
end

local function ordered_keys(obj)
    local keys, seen = {}, nil
    local order = order_of[obj]
    if order then
        seen = {}
        for _, k in ipairs(order) do
            if not seen[k] and walkable(k, rawget(obj, k)) then
                seen[k] = true
                keys[#keys + 1] = k
            end
        end
    end
    local ints, strs
    for k, v in next, obj do
        if not (seen and seen[k]) and walkable(k, v) then
            if math.type(k) == "integer" then
                ints = ints or {}
                ints[#ints + 1] = k
            elseif type(k) == "string" then
                strs = strs or {}
                strs[#strs + 1] = k
            end
        end
    end
    if ints then
        table.sort(ints)
        for _, k in ipairs(ints) do keys[#keys + 1] = k end
    end
    if strs then
        table.sort(strs)
        for _, k in ipairs(strs) do keys[#keys + 1] = k end
    end
    return keys
end

local function is_container(v)
    return type(v) == "table" and getmetatable(v) == nil
end

-- Walks the fields of obj (a module or plain table), depth first. For each
-- tensor field calls on_tensor(name, tensor, owner, key); for each module
-- field on_module(name, module, owner, key) and descends into it unless that
-- returns false. `seen` holds the tables already walked (each table is walked
-- once: shared modules, cycles).
local function walk(obj, prefix, on_tensor, on_module, seen)
    seen[obj] = true
    for _, k in ipairs(ordered_keys(obj)) do
        local v = rawget(obj, k)
        local name = prefix .. tostring(k)
        if is_tensor(v) then
            if on_tensor then on_tensor(name, v, obj, k) end
        elseif type(v) == "table" and not seen[v] then
            if is_module(v) then
                local descend = true
                if on_module then descend = on_module(name, v, obj, k) ~= false end
                if descend then walk(v, name .. ".", on_tensor, on_module, seen) end
            elseif is_container(v) then
                walk(v, name .. ".", on_tensor, on_module, seen)
            end
        end
    end
end

local function is_parameter(t) return t.requires_grad and t.is_leaf end

-- List of {name, tensor} for which keep(tensor) holds, each tensor once.
local function collect_tensors(self, keep, direct_only)
    local list, seen_t = {}, {}
    walk(self, "", function(name, t)
        if not seen_t[t] and keep(t) then
            seen_t[t] = true
            list[#list + 1] = { name, t }
        end
    end, direct_only and function() return false end or nil, {})
    return list
end

local function iterate(list)
    local i = 0
    return function()
        i = i + 1
        local e = list[i]
        if e then return e[1], e[2] end
    end
end

local function values(list)
    local out = {}
    for i, e in ipairs(list) do out[i] = e[2] end
    return out
end

--- Iterator over name, parameter (each shared tensor once).
function Module:named_parameters() return iterate(collect_tensors(self, is_parameter)) end

--- The parameters, a Lua array in walking order.
function Module:parameters() return values(collect_tensors(self, is_parameter)) end

local function is_buffer(t) return not t.requires_grad end

--- Iterator over name, buffer (tensor fields that do not require grad).
function Module:named_buffers() return iterate(collect_tensors(self, is_buffer)) end
function Module:buffers() return values(collect_tensors(self, is_buffer)) end

-- List of {name, module}: self (name "") then every submodule, once each.
local function collect_modules(self)
    local list = { { "", self } }
    walk(self, "", nil, function(name, m) list[#list + 1] = { name, m } end, {})
    return list
end

--- Iterator over name, module: self first (name ""), then every submodule.
function Module:named_modules() return iterate(collect_modules(self)) end
function Module:modules() return values(collect_modules(self)) end

--- Immediate submodules: an iterator over name, module.
function Module:named_children()
    local list = {}
    walk(self, "", nil, function(name, m)
        list[#list + 1] = { name, m }
        return false
    end, {})
    return iterate(list)
end

--- Calls fn(m) on every submodule then on self (as PyTorch); returns self.
function Module:apply(fn)
    local list = collect_modules(self)
    for i = #list, 1, -1 do fn(list[i][2]) end
    return self
end

--- Sets training mode on self and every submodule; returns self.
function Module:train(mode)
    if mode == nil then mode = true end
    for _, e in ipairs(collect_modules(self)) do rawset(e[2], "training", mode and true or false) end
    return self
end

function Module:eval() return Module.train(self, false) end

--- Drops the gradient of every parameter (PyTorch's set_to_none).
function Module:zero_grad()
    for _, e in ipairs(collect_tensors(self, is_parameter)) do e[2]:zero_grad() end
    return self
end

-- Every {name, tensor} saved in a state dict: parameters and buffers, under
-- every name a module walk reaches them (tied weights appear under each).
local function state_entries(self)
    local list = {}
    walk(self, "", function(name, t)
        if is_buffer(t) or t.is_leaf then list[#list + 1] = { name, t } end
    end, nil, {})
    return list
end

--- name → tensor for every parameter and buffer (detached: same memory).
function Module:state_dict()
    local sd = {}
    for _, e in ipairs(state_entries(self)) do sd[e[1]] = e[2]:detach() end
    return sd
end

--- Copies the tensors of sd into the module's parameters and buffers.
-- Every check happens before anything is copied. With strict (the default),
-- missing and unexpected keys are an error; shapes must always match.
-- Returns {missing_keys = {...}, unexpected_keys = {...}}.
function Module:load_state_dict(sd, opts)
    local fname = "load_state_dict"
    opts = check_options(opts, fname, 2, { "strict" })
    local strict = opts.strict ~= false
    if type(sd) ~= "table" or is_tensor(sd) then
        argerror(1, fname, ("table expected, got %s"):format(is_tensor(sd) and "tensor" or type(sd)))
    end
    local entries, expected = state_entries(self), {}
    local missing, unexpected = {}, {}
    for _, e in ipairs(entries) do
        expected[e[1]] = true
        if sd[e[1]] == nil then missing[#missing + 1] = e[1] end
    end
    for k, v in pairs(sd) do
        if not expected[k] then
            unexpected[#unexpected + 1] = tostring(k)
        elseif not is_tensor(v) then
            argerror(1, fname, ("value of '%s' is a %s, expected a tensor"):format(k, type(v)))
        end
    end
    table.sort(unexpected)
    if strict and (#missing > 0 or #unexpected > 0) then
        local parts = {}
        if #missing > 0 then parts[#parts + 1] = "missing keys: " .. table.concat(missing, ", ") end
        if #unexpected > 0 then parts[#parts + 1] = "unexpected keys: " .. table.concat(unexpected, ", ") end
        argerror(1, fname, table.concat(parts, "; "))
    end
    for _, e in ipairs(entries) do
        local src = sd[e[1]]
        if src ~= nil then
            local a, b = shape_str(src), shape_str(e[2])
            if a ~= b then
                argerror(1, fname, ("size mismatch for %s: %s in the state dict, %s in the model")
                         :format(e[1], a, b))
            end
        end
    end
    mf.no_grad(function()
        for _, e in ipairs(entries) do
            local src = sd[e[1]]
            if src ~= nil then e[2]:copy_(src) end
        end
    end)
    return { missing_keys = missing, unexpected_keys = unexpected }
end

local function is_float_dtype(dt) return dt == "float32" or dt == "float64" end

--- Converts every floating-point parameter and buffer to dtype ("float32" or
-- "float64") in place (fields are replaced; parameters stay parameters).
function Module:to(dtype)
    if not is_float_dtype(dtype) then
        argerror(1, "to", ("float dtype expected ('float32' or 'float64'), got %s"):format(tostring(dtype)))
    end
    local done = {}
    walk(self, "", function(_, t, owner, key)
        if done[t] == nil then
            if is_float_dtype(t:dtype()) and t:dtype() ~= dtype then
                local new = mf.no_grad(function() return t:detach():to(dtype) end)
                if t.requires_grad then new:requires_grad_() end
                done[t] = new
            else
                done[t] = t
            end
        end
        rawset(owner, key, done[t])
    end, nil, {})
    return self
end

function Module:double() return Module.to(self, "float64") end
function Module:float() return Module.to(self, "float32") end

--- Number of parameter elements.
function Module:num_parameters()
    local n = 0
    for _, e in ipairs(collect_tensors(self, is_parameter)) do n = n + e[2]:numel() end
    return n
end

---------------------------------------------------------------- printing

--- One line of arguments shown inside the parentheses; override it.
function Module.extra_repr() return "" end

-- PyTorch's layout: Name(extra) or Name(\n  (child): ...\n).
function repr(m, indent)
    local children = {}
    walk(m, "", nil, function(name, c)
        children[#children + 1] = { name, c }
        return false
    end, {})
    local head = class_name(m) .. "("
    local extra = m:extra_repr()
    if #children == 0 then return head .. extra .. ")" end
    local inner = indent .. "  "
    local lines = { head }
    if extra ~= "" then lines[#lines + 1] = inner .. extra end
    for _, c in ipairs(children) do
        lines[#lines + 1] = ("%s(%s): %s"):format(inner, c[1], repr(c[2], inner))
    end
    lines[#lines + 1] = indent .. ")"
    return table.concat(lines, "\n")
end

local function pad(s, w, right)
    local n = w - utf8.len(s)
    if n <= 0 then return s end
    return right and (" "):rep(n) .. s or s .. (" "):rep(n)
end

local function group_digits(n)
    local s = tostring(n)
    local out = s:reverse():gsub("(%d%d%d)", "%1,"):reverse()
    return (out:gsub("^,", ""))
end

--- A table of the modules a forward pass goes through: name (type), output
-- shape and parameter count (the module's own parameters, not its
-- children's), with the total at the bottom. `input` is a shape (a Lua array:
-- the forward runs on zeros of that shape) or an example tensor (for inputs
-- that cannot be zeros, such as Embedding indices). The forward runs in eval
-- mode and without grad; the modes are restored afterwards. Returns the
-- table as a string.
function Module:summary(input)
    local fname = "summary"
    local x
    if is_tensor(input) then
        x = input
    elseif type(input) == "table" then
        local ok, t = pcall(mf.zeros, input)
        if not ok then argerror(1, fname, "bad input shape: " .. tostring(t)) end
        x = t
    else
        argerror(1, fname, ("input shape (a Lua array) or tensor expected, got %s"):format(type(input)))
    end
    local mods = collect_modules(self)
    local rows, modes, hooked, own = {}, {}, {}, {}
    for i, e in ipairs(mods) do
        local name, m = e[1], e[2]
        modes[i] = rawget(m, "training")
        if i > 1 then
            local orig = m.forward
            hooked[#hooked + 1] = m
            own[#hooked] = rawget(m, "forward")
            rawset(m, "forward", function(s, ...)
                local row = { name = name, module = m }
                rows[#rows + 1] = row
                local res = table.pack(orig(s, ...))
                row.shape = is_tensor(res[1]) and shape_str(res[1]) or "-"
                return table.unpack(res, 1, res.n)
            end)
        end
    end
    Module.eval(self)
    local ok, res = pcall(mf.no_grad, function() return self(x) end)
    for i, m in ipairs(hooked) do rawset(m, "forward", own[i]) end
    for i, e in ipairs(mods) do rawset(e[2], "training", modes[i]) end
    if not ok then error(res, 0) end

    local counted = {}
    local function own_params(m)
        local n = 0
        for _, p in ipairs(collect_tensors(m, is_parameter, true)) do
            if not counted[p[2]] then
                counted[p[2]] = true
                n = n + p[2]:numel()
            end
        end
        return n
    end
    local lines = { { "Layer (type)", "Output shape", "Param #" } }
    for _, r in ipairs(rows) do
        lines[#lines + 1] = { ("%s (%s)"):format(r.name, class_name(r.module)), r.shape,
                              group_digits(own_params(r.module)) }
    end
    local total = Module.num_parameters(self)
    local w = { 0, 0, 0 }
    for _, l in ipairs(lines) do
        for j = 1, 3 do w[j] = math.max(w[j], utf8.len(l[j])) end
    end
    local width = w[1] + w[2] + w[3] + 4
    local out = {}
    for i, l in ipairs(lines) do
        out[#out + 1] = pad(l[1], w[1]) .. "  " .. pad(l[2], w[2]) .. "  " .. pad(l[3], w[3], true)
        if i == 1 then out[#out + 1] = ("="):rep(width) end
    end
    out[#out + 1] = ("="):rep(width)
    out[#out + 1] = "Total params: " .. group_digits(total)
    if is_tensor(res) then out[#out + 1] = "Output shape: " .. shape_str(res) end
    return table.concat(out, "\n")
end

---------------------------------------------------------------- functional
-- Building blocks of the layers and losses, on tensors (PyTorch's
-- torch.nn.functional). Every one is a composition of differentiable ops.

local F = {}
M.functional = F

local function norm_dim(x, dim, fname)
    local n = x:dim()
    if math.type(dim) ~= "integer" then
        argerror(2, fname, ("dim must be an integer, got %s"):format(tostring(dim)), 3)
    end
    local d = dim < 0 and dim + n + 1 or dim
    if d < 1 or d > math.max(n, 1) then
        argerror(2, fname, ("dim %d out of range for a %d-D tensor"):format(dim, n), 3)
    end
    return d
end

--- log(softmax(x)) along dim, computed as x - logsumexp(x, dim).
function F.log_softmax(x, dim)
    check_input(x, "log_softmax")
    dim = norm_dim(x, dim, "log_softmax")
    return x - x:logsumexp(dim, { keepdim = true })
end

--- softmax along dim: exp(log_softmax(x, dim)).
function F.softmax(x, dim)
    check_input(x, "softmax")
    dim = norm_dim(x, dim, "softmax")
    return (x - x:logsumexp(dim, { keepdim = true })):exp()
end

function F.relu(x) return x:relu() end
function F.sigmoid(x) return x:sigmoid() end
function F.tanh(x) return x:tanh() end

--- x where x > 0, else negative_slope * x.
function F.leaky_relu(x, negative_slope)
    negative_slope = negative_slope or 0.01
    return mf.where(x:gt(0), x, x * negative_slope)
end

--- x where x > 0, else alpha * (exp(x) - 1). The exp branch reads x clamped
-- at 1, so it stays finite (and its gradient too) where it is not selected.
function F.elu(x, alpha)
    alpha = alpha or 1
    return mf.where(x:gt(0), x, x:clamp(nil, 1):expm1() * alpha)
end

local SQRT1_2 = math.sqrt(0.5)
local SQRT_2_PI = math.sqrt(2 / math.pi)

--- x * Phi(x), exactly with erf, or PyTorch's tanh approximation with
-- approximate = "tanh".
function F.gelu(x, approximate)
    if approximate == "tanh" then
        local inner = (x + x * x * x * 0.044715) * SQRT_2_PI
        return x * 0.5 * (inner:tanh() + 1)
    end
    return x * 0.5 * ((x * SQRT1_2):erf() + 1)
end

--- log(1 + exp(x)), stable for large |x|, with the right gradient
-- (sigmoid(x)) everywhere, 0 included: each branch reads x clamped so that
-- it stays finite where it is not selected.
function F.softplus(x)
    local pos = x:gt(0)
    local big = x + (-x:clamp(-1, nil)):exp():log1p()   -- x > 0: x + log(1 + e^-x)
    local small = x:clamp(nil, 1):exp():log1p()         -- x <= 0: log(1 + e^x)
    return mf.where(pos, big, small)
end

--- x * mask / (1 - p) with mask ~ Bernoulli(1 - p) (from mf.rand) in
-- training; x itself otherwise.
function F.dropout(x, p, training)
    p = p or 0.5
    if training == false or p == 0 then return x end
    if p >= 1 then return x * 0 end
    local keep = mf.rand(x:shape()):ge(p)
    return x * keep * (1 / (1 - p))
end

---------------------------------------------------------------- layers

local function class(name) return Module:extend(name) end

local function fmt_num(v)
    if math.type(v) == "float" and v == math.floor(v) and math.abs(v) < 1e15 then
        return ("%.1f"):format(v)
    end
    return tostring(v)
end

-- Linear ------------------------------------------------------------------
local Linear = class("Linear")
M.Linear = Linear

--- y = x W^T + b. W is [out x in], b is [out]. Init (PyTorch's default):
-- W and b uniform in [-1/sqrt(in), 1/sqrt(in)), drawn with mf.rand in this
-- order (W then b), so mf.manual_seed makes them reproducible.
function Linear:init(in_features, out_features, opts)
    check_size(in_features, 1, "Linear", "in_features", 3)
    check_size(out_features, 2, "Linear", "out_features", 3)
    opts = check_options(opts, "Linear", 3, { "bias", "dtype" }, 3)
    local dtype = opts.dtype or "float32"
    if not is_float_dtype(dtype) then
        argerror(3, "Linear", ("dtype must be 'float32' or 'float64', got %s"):format(tostring(dtype)), 3)
    end
    self.in_features, self.out_features = in_features, out_features
    local bound = 1 / math.sqrt(in_features)
    self.weight = (mf.rand(out_features, in_features, dtype) * (2 * bound) - bound):requires_grad_()
    if opts.bias ~= false then
        self.bias = (mf.rand(out_features, dtype) * (2 * bound) - bound):requires_grad_()
    end
end

function Linear:forward(x)
    check_input(x, "Linear")
    if x:dim() == 0 or x:size(-1) ~= self.in_features then
        argerror(1, "Linear", ("expected input with last dim %d, got %s")
                 :format(self.in_features, shape_str(x)))
    end
    local y = x:matmul(self.weight:t())
    if self.bias then y = y + self.bias end
    return y
end

function Linear:extra_repr()
    return ("in_features=%d, out_features=%d, bias=%s")
        :format(self.in_features, self.out_features, tostring(self.bias ~= nil))
end

-- activations ---------------------------------------------------------------
local function activation(name, fn, opt_names, defaults, extra)
    local cls = class(name)
    M[name] = cls
    function cls:init(...)
        local args = table.pack(...)
        -- positional values or one option table
        if args.n == 1 and type(args[1]) == "table" and not is_tensor(args[1]) then
            local o = check_options(args[1], name, 1, opt_names, 3)
            for i, k in ipairs(opt_names) do
                local v = o[k]
                if v == nil then v = defaults[i] end
                self[k] = v
            end
        else
            if args.n > #opt_names then
                argerror(#opt_names + 1, name, ("unexpected argument (%s)"):format(type(args[#opt_names + 1])), 3)
            end
            for i, k in ipairs(opt_names) do
                local v = args[i]
                if v == nil then v = defaults[i] end
                self[k] = v
            end
        end
        if cls.check then cls.check(self) end
    end
    function cls:forward(x)
        check_input(x, name)
        return fn(self, x)
    end
    if extra then cls.extra_repr = extra end
    return cls
end

activation("ReLU", function(_, x) return x:relu() end, {}, {})
activation("Sigmoid", function(_, x) return x:sigmoid() end, {}, {})
activation("Tanh", function(_, x) return x:tanh() end, {}, {})
activation("LeakyReLU", function(s, x) return F.leaky_relu(x, s.negative_slope) end,
           { "negative_slope" }, { 0.01 },
           function(s) return "negative_slope=" .. fmt_num(s.negative_slope) end)
M.LeakyReLU.check = function(s) check_number(s.negative_slope, 1, "LeakyReLU", "negative_slope", 4) end
activation("ELU", function(s, x) return F.elu(x, s.alpha) end, { "alpha" }, { 1.0 },
           function(s) return "alpha=" .. fmt_num(s.alpha) end)
M.ELU.check = function(s) check_number(s.alpha, 1, "ELU", "alpha", 4) end
activation("GELU", function(s, x) return F.gelu(x, s.approximate) end, { "approximate" }, { "none" },
           function(s) return s.approximate == "none" and "" or "approximate='" .. s.approximate .. "'" end)
M.GELU.check = function(s)
    if s.approximate ~= "none" and s.approximate ~= "tanh" then
        argerror(1, "GELU", ("approximate must be 'none' or 'tanh', got %s"):format(tostring(s.approximate)), 4)
    end
end
activation("Softplus", function(_, x) return F.softplus(x) end, {}, {})
activation("Softmax", function(s, x) return F.softmax(x, s.dim) end, { "dim" }, {},
           function(s) return "dim=" .. s.dim end)
activation("LogSoftmax", function(s, x) return F.log_softmax(x, s.dim) end, { "dim" }, {},
           function(s) return "dim=" .. s.dim end)
for _, name in ipairs({ "Softmax", "LogSoftmax" }) do
    M[name].check = function(s)
        if math.type(s.dim) ~= "integer" then
            argerror(1, name, ("dim must be an integer, got %s (the dim is 1-based)"):format(tostring(s.dim)), 4)
        end
    end
end

-- Dropout -------------------------------------------------------------------
local Dropout = class("Dropout")
M.Dropout = Dropout

--- In training, zeroes each element with probability p (mf.rand) and scales
-- the others by 1/(1-p); in eval mode, the identity.
function Dropout:init(p)
    if type(p) == "table" then p = check_options(p, "Dropout", 1, { "p" }, 3).p end
    if p == nil then p = 0.5 end
    if type(p) ~= "number" or p < 0 or p > 1 then
        argerror(1, "Dropout", ("p must be a probability in [0, 1], got %s"):format(tostring(p)), 3)
    end
    self.p = p
end

function Dropout:forward(x)
    check_input(x, "Dropout")
    return F.dropout(x, self.p, self.training)
end

function Dropout:extra_repr() return "p=" .. fmt_num(self.p) end

-- BatchNorm1d ---------------------------------------------------------------
local BatchNorm1d = class("BatchNorm1d")
M.BatchNorm1d = BatchNorm1d

--- Normalizes each of n channels of (N, C) or (N, C, L) inputs. Training:
-- batch statistics (biased variance to normalize; the running variance gets
-- the unbiased one, as PyTorch), running_mean/running_var updated as
-- (1 - momentum) * running + momentum * batch, without grad. Eval: the
-- running statistics.
function BatchNorm1d:init(n, opts)
    check_size(n, 1, "BatchNorm1d", "num_features", 3)
    opts = check_options(opts, "BatchNorm1d", 2,
                         { "eps", "momentum", "affine", "track_running_stats", "dtype" }, 3)
    local dtype = opts.dtype or "float32"
    if not is_float_dtype(dtype) then
        argerror(2, "BatchNorm1d", ("dtype must be 'float32' or 'float64', got %s"):format(tostring(dtype)), 3)
    end
    self.num_features = n
    self.eps = opts.eps or 1e-5
    self.momentum = opts.momentum or 0.1
    self.affine = opts.affine ~= false
    self.track_running_stats = opts.track_running_stats ~= false
    check_number(self.eps, 2, "BatchNorm1d", "eps", 3)
    check_number(self.momentum, 2, "BatchNorm1d", "momentum", 3)
    if self.affine then
        self.weight = mf.ones(n, dtype):requires_grad_()
        self.bias = mf.zeros(n, dtype):requires_grad_()
    end
    if self.track_running_stats then
        self.running_mean = mf.zeros(n, dtype)
        self.running_var = mf.ones(n, dtype)
        self.num_batches_tracked = mf.tensor(0, "int64")
    end
end

function BatchNorm1d:forward(x)
    check_input(x, "BatchNorm1d")
    local nd, C = x:dim(), self.num_features
    if (nd ~= 2 and nd ~= 3) or x:size(2) ~= C then
        argerror(1, "BatchNorm1d", ("expected (N, %d) or (N, %d, L) input, got %s")
                 :format(C, C, shape_str(x)))
    end
    -- statistics over every dim but the channels: rows of (N*L, C)
    local rows = nd == 2 and x or x:transpose(2, 3):reshape(-1, C)
    local bshape = nd == 2 and { 1, C } or { 1, C, 1 }
    local mean, var
    if self.training or not self.track_running_stats then
        local count = rows:size(1)
        if self.training and count < 2 then
            argerror(1, "BatchNorm1d", ("expected more than 1 value per channel when training, got input %s")
                     :format(shape_str(x)))
        end
        mean = rows:mean(1)
        var = rows:var(1, { unbiased = false })
        if self.training and self.track_running_stats then
            local m = self.momentum
            mf.no_grad(function()
                local unbiased = var:detach() * (count / (count - 1))
                self.running_mean:mul_(1 - m):add_(mean:detach(), { alpha = m })
                self.running_var:mul_(1 - m):add_(unbiased, { alpha = m })
                self.num_batches_tracked:add_(1)
            end)
        end
    else
        mean, var = self.running_mean, self.running_var
    end
    local y = (x - mean:view(bshape)) / (var:view(bshape) + self.eps):sqrt()
    if self.affine then y = y * self.weight:view(bshape) + self.bias:view(bshape) end
    return y
end

function BatchNorm1d:extra_repr()
    return ("%d, eps=%s, momentum=%s, affine=%s, track_running_stats=%s")
        :format(self.num_features, tostring(self.eps), fmt_num(self.momentum), tostring(self.affine),
                tostring(self.track_running_stats))
end

-- Embedding -----------------------------------------------------------------
local Embedding = class("Embedding")
M.Embedding = Embedding

--- A lookup table of n vectors of size d: weight [n x d], init N(0, 1)
-- (mf.randn). Input: 1-based int64 indices of any shape (or a Lua array);
-- output: the input's shape followed by d.
function Embedding:init(n, d, opts)
    check_size(n, 1, "Embedding", "num_embeddings", 3)
    check_size(d, 2, "Embedding", "embedding_dim", 3)
    opts = check_options(opts, "Embedding", 3, { "dtype" }, 3)
    local dtype = opts.dtype or "float32"
    if not is_float_dtype(dtype) then
        argerror(3, "Embedding", ("dtype must be 'float32' or 'float64', got %s"):format(tostring(dtype)), 3)
    end
    self.num_embeddings, self.embedding_dim = n, d
    self.weight = mf.randn(n, d, dtype):requires_grad_()
end

function Embedding:forward(idx)
    if type(idx) == "table" and not is_tensor(idx) then idx = mf.tensor(idx, "int64") end
    check_input(idx, "Embedding")
    if idx:dtype() ~= "int64" then
        argerror(1, "Embedding", ("indices must be an int64 tensor, got %s"):format(idx:dtype()))
    end
    local flat = idx:reshape(-1)
    local ok, rows = pcall(mf.index, self.weight, 1, flat)
    if not ok then
        local n = self.num_embeddings
        if flat:numel() > 0 then
            local lo, hi = flat:amin():item(), flat:amax():item()
            local bad = lo < 1 and lo or hi
            if lo < 1 or hi > n then
                argerror(1, "Embedding", ("index %d out of range for %d embeddings (expected 1..%d)")
                         :format(bad, n, n))
            end
        end
        error(rows, 0)
    end
    local shape = idx:shape()
    shape[#shape + 1] = self.embedding_dim
    return rows:view(shape)
end

function Embedding:extra_repr() return ("%d, %d"):format(self.num_embeddings, self.embedding_dim) end

-- Flatten -------------------------------------------------------------------
local Flatten = class("Flatten")
M.Flatten = Flatten

--- Merges dims start_dim .. end_dim (default 2 .. -1: all but the batch).
function Flatten:init(start_dim, end_dim)
    if type(start_dim) == "table" then
        local o = check_options(start_dim, "Flatten", 1, { "start_dim", "end_dim" }, 3)
        start_dim, end_dim = o.start_dim, o.end_dim
    end
    self.start_dim, self.end_dim = start_dim or 2, end_dim or -1
    for i, k in ipairs({ "start_dim", "end_dim" }) do
        if math.type(self[k]) ~= "integer" then
            argerror(i, "Flatten", ("%s must be an integer, got %s"):format(k, tostring(self[k])), 3)
        end
    end
end

function Flatten:forward(x)
    check_input(x, "Flatten")
    local shape, n = x:shape(), x:dim()
    local s = self.start_dim < 0 and self.start_dim + n + 1 or self.start_dim
    local e = self.end_dim < 0 and self.end_dim + n + 1 or self.end_dim
    if s < 1 or e > n or s > e then
        argerror(1, "Flatten", ("cannot flatten dims %d..%d of a %s tensor")
                 :format(self.start_dim, self.end_dim, shape_str(x)))
    end
    local out, merged = {}, 1
    for i = 1, s - 1 do out[#out + 1] = shape[i] end
    for i = s, e do merged = merged * shape[i] end
    out[#out + 1] = merged
    for i = e + 1, n do out[#out + 1] = shape[i] end
    return x:reshape(out)
end

function Flatten:extra_repr() return ("start_dim=%d, end_dim=%d"):format(self.start_dim, self.end_dim) end

-- Identity --------------------------------------------------------------------
local Identity = class("Identity")
M.Identity = Identity
function Identity.forward(_, x) return x end

-- Sequential ------------------------------------------------------------------
local Sequential = class("Sequential")
M.Sequential = Sequential

--- nn.Sequential{m1, m2, ...} or nn.Sequential(m1, m2, ...): applies the
-- modules in order. Entries are self[1], self[2], ... (names "1", "2", ...).
function Sequential:init(...)
    local list, n = { ... }, select("#", ...)
    if n == 1 and is_container(list[1]) then
        list = list[1]
        n = #list
    end
    for i = 1, n do
        local m = list[i]
        if not is_module(m) then
            argerror(1, "Sequential", ("entry %d is a %s, expected a module"):format(i, type(m)), 3)
        end
        self[i] = m
    end
end

--- Appends a module; returns self.
function Sequential:add(m)
    if not is_module(m) then argerror(1, "add", ("module expected, got %s"):format(type(m))) end
    self[#self + 1] = m
    return self
end

function Sequential:forward(x)
    for i = 1, #self do x = self[i](x) end
    return x
end

---------------------------------------------------------------- losses
-- Loss modules call the functions of mf.nn.losses (set by moonforge's init,
-- after this file is loaded).

local function loss_class(name, fn_name, opt_names)
    local cls = class(name)
    M[name] = cls
    function cls:init(opts)
        opts = check_options(opts, name, 1, opt_names, 3)
        for k, v in pairs(opts) do self[k] = v end
    end
    function cls:forward(input, target)
        local o = {}
        for _, k in ipairs(opt_names) do o[k] = self[k] end
        return M.losses[fn_name](input, target, o)
    end
    function cls:extra_repr()
        local parts = {}
        for _, k in ipairs(opt_names) do
            local v = rawget(self, k)
            if v ~= nil and not is_tensor(v) then parts[#parts + 1] = k .. "=" .. tostring(v) end
        end
        return table.concat(parts, ", ")
    end
    return cls
end

loss_class("MSELoss", "mse", { "reduction" })
loss_class("L1Loss", "mae", { "reduction" })
loss_class("HuberLoss", "huber", { "reduction", "delta" })
loss_class("BCELoss", "bce", { "reduction", "weight" })
loss_class("BCEWithLogitsLoss", "bce_with_logits", { "reduction", "weight", "pos_weight" })
loss_class("CrossEntropyLoss", "cross_entropy", { "reduction", "weight", "label_smoothing" })
loss_class("NLLLoss", "nll", { "reduction", "weight" })
loss_class("HingeLoss", "hinge", { "reduction", "margin" })

return M
