--- moonforge.estimator: what the scikit-learn-shaped objects of moonforge
-- share (private to moonforge's modules: preprocess, features, models,
-- model_selection, pipeline).
--
--     local E = require "moonforge.estimator"
--     local Base = E.base()                        -- the module's own base
--     local Scaler = E.class(M, "moonforge.preprocess", Base, "StandardScaler",
--                            {"with_mean", "with_std"}, {with_mean = true})
--
-- `E.class` installs the constructor `M[name](opts)` (options checked: an
-- unknown key is an error; `cls._check(self, name)` validates the values,
-- its errors pointing at the caller of the constructor) and returns the class.
-- The options are the parameters (scikit-learn's): every estimator has
-- get_params{deep = true}, set_params{...} (checked by the allowed list and
-- `_check`; "step__param" reaches a nested estimator) and E.clone(est), a
-- fresh unfitted copy with the same parameters. The optional 7th argument
-- of E.class is the estimator type: "classifier", "regressor" or
-- "transformer" (scikit-learn's _estimator_type; it decides, e.g., whether
-- an integer cv means stratified folds).
local mf = require "moonforge"

local E = {}

function E.argerror(argn, fname, msg, level)
    error(("bad argument #%d to '%s' (%s)"):format(argn, fname, msg), (level or 2) + 1)
end

function E.is_table(x)
    return type(x) == "table" and getmetatable(x) == mf.data.Table
end

function E.typename(x)
    if mf.is_tensor(x) then return "tensor" end
    if E.is_table(x) then return "Table" end
    return type(x)
end

--- "Name:method", the function name in error messages.
function E.fname(self, method) return self._cls .. ":" .. method end

function E.check_fitted(self, method)
    if not rawget(self, "_fitted") then
        error(("%s: %s called before fit"):format(self._cls, method), 3)
    end
end

--- An option error, pointing at the caller of the constructor's caller.
function E.opt_error(self, msg) E.argerror(1, self._cls, msg, 3) end

local Root = {}
Root.__index = Root

function Root:fit_transform(X, y) return self:fit(X, y):transform(X) end

-- scikit-learn >= 1.0 spells it get_feature_names_out.
function Root:get_feature_names_out(names) return self:get_feature_names(names) end

--- A new base class for a module's estimators (inherits the shared methods).
function E.base()
    local Base = setmetatable({}, Root)
    Base.__index = Base
    return Base
end

---------------------------------------------------------------- parameters
local function is_estimator(v)
    return type(v) == "table" and not mf.is_tensor(v) and type(v.get_params) == "function"
end
E.is_estimator = is_estimator

local function sorted_keys(t)
    local keys = {}
    for k in pairs(t) do keys[#keys + 1] = k end
    table.sort(keys)
    return keys
end

--- est:get_params([{deep = true}]) → {param = value}: the constructor options
-- (a parameter left unset is absent, as nil in Lua); with deep, a parameter
-- holding an estimator adds its own parameters as "param__sub".
function Root:get_params(opts)
    local fn = E.fname(self, "get_params")
    opts = mf.nn.check_options(opts, fn, 1, {"deep"})
    local deep = opts.deep ~= false
    local out = {}
    for _, k in ipairs(self._allowed or {}) do
        local v = self[k]
        out[k] = v
        if deep and is_estimator(v) then
            for sk, sv in pairs(v:get_params()) do out[k .. "__" .. sk] = sv end
        end
    end
    return out
end

--- est:set_params{param = value, ...} → est: each name must be a parameter
-- (or "param__sub" of a parameter holding an estimator); the values are
-- checked as by the constructor, and nothing changes when one is bad.
function Root:set_params(params)
    local fn = E.fname(self, "set_params")
    if type(params) ~= "table" or mf.is_tensor(params) then
        E.argerror(1, fn, "parameter table expected, got " .. E.typename(params))
    end
    local allowed = {}
    for _, k in ipairs(self._allowed or {}) do allowed[k] = true end
    local direct, nested = {}, {}
    for _, k in ipairs(sorted_keys(params)) do
        if type(k) ~= "string" then
            E.argerror(1, fn, "parameter names must be strings, got " .. type(k))
        end
        local head, rest = k:match("^(.-)__(.+)$")
        local name = head or k
        if not allowed[name] then
            E.argerror(1, fn, ("unknown parameter '%s' (parameters: %s)")
                       :format(name, table.concat(self._allowed or {}, ", ")))
        end
        if head then
            local sub = params[name] ~= nil and params[name] or self[name]
            if not is_estimator(sub) then
                E.argerror(1, fn, ("parameter '%s' does not hold an estimator: '%s' is not valid")
                           :format(name, k))
            end
            nested[name] = nested[name] or {}
            nested[name][rest] = params[k]
        else
            direct[k] = true
        end
    end
    local old = {}
    for k in pairs(direct) do old[k] = self[k] end
    for k in pairs(direct) do self[k] = params[k] end
    if self._check then
        local ok, err = pcall(self._check, self, self._cls)
        if not ok then
            for k in pairs(direct) do self[k] = old[k] end
            error((tostring(err):gsub("^.-:%d+: ", ""):gsub("bad argument #1 to '" .. self._cls .. "'",
                  "bad argument #1 to '" .. fn .. "'", 1)), 2)
        end
    end
    for _, name in ipairs(sorted_keys(nested)) do
        local ok, err = pcall(self[name].set_params, self[name], nested[name])
        if not ok then
            for k in pairs(direct) do self[k] = old[k] end
            error((tostring(err):gsub("^.-:%d+: ", "")), 2)
        end
    end
    return self
end

local function is_column_transformer(x)
    local mt = type(x) == "table" and getmetatable(x)
    return type(mt) == "table" and rawget(mt, "__name") == "moonforge.preprocess.ColumnTransformer"
end

E.is_column_transformer = is_column_transformer

local function copy_param(v)
    if is_estimator(v) or is_column_transformer(v) then return E.clone(v) end
    if type(v) == "table" and getmetatable(v) == nil then
        local t = {}
        for k, x in pairs(v) do t[k] = copy_param(x) end
        return t
    end
    return v -- numbers, strings, functions, tensors (never written by fit)
end

-- A ColumnTransformer (no get_params) rebuilt from its spec, its
-- transformers cloned.
local function clone_column_transformer(ct)
    local spec = {remainder = ct.remainder}
    for i, t in ipairs(ct.transformers) do
        local tr = t.transformer
        if type(tr) == "table" then tr = E.clone(tr) end
        spec[i] = {t.name, tr, table.move(t.columns, 1, #t.columns, 1, {})}
    end
    return mf.preprocess.ColumnTransformer(spec)
end

--- E.clone(est) → a new unfitted estimator of est's class with the same
-- parameters (nested estimators cloned too); an estimator with its own
-- `_clone` method (Pipeline) uses it. This is the public mf.clone
-- (scikit-learn's sklearn.base.clone).
function E.clone(est)
    if is_column_transformer(est) then return clone_column_transformer(est) end
    if not is_estimator(est) then
        E.argerror(1, "clone", "estimator expected (an object with get_params), got " .. E.typename(est), 2)
    end
    if type(est._clone) == "function" then return est:_clone() end
    local new = rawget(getmetatable(est) or {}, "_new")
    if not new then
        E.argerror(1, "clone", ("cannot clone %s: no constructor recorded"):format(tostring(est)), 2)
    end
    local params = {}
    for k, v in pairs(est:get_params{deep = false}) do params[k] = copy_param(v) end
    return new(params)
end

--- "classifier", "regressor", "transformer" (or nil): the declared type, or
-- guessed from the methods (predict_proba: classifier; predict: regressor;
-- transform: transformer).
function E.estimator_type(est)
    local t = est._estimator_type
    if t then return t end
    if type(est.predict_proba) == "function" then return "classifier" end
    if type(est.predict) == "function" then return "regressor" end
    if type(est.transform) == "function" then return "transformer" end
    return nil
end

local TYPES = {classifier = true, regressor = true, transformer = true}

function E.class(M, prefix, Base, name, allowed, defaults, estimator_type)
    if estimator_type ~= nil and not TYPES[estimator_type] then
        error("E.class: estimator type must be \"classifier\", \"regressor\" or \"transformer\", got "
              .. tostring(estimator_type), 2)
    end
    local cls = setmetatable({}, {__index = Base})
    cls.__index = cls
    cls._allowed = table.move(allowed, 1, #allowed, 1, {})
    cls._estimator_type = estimator_type
    cls.__name = prefix .. "." .. name
    cls._cls = name
    cls.__tostring = function(self)
        return name .. (rawget(self, "_fitted") and " (fitted)" or " (not fitted)")
    end
    M[name] = function(opts)
        opts = mf.nn.check_options(opts, name, 1, allowed)
        local self = setmetatable({_fitted = false}, cls)
        for k, v in pairs(defaults) do self[k] = v end
        for k, v in pairs(opts) do self[k] = v end
        if cls._check then
            local ok, err = pcall(cls._check, self, name)
            if not ok then error((tostring(err):gsub("^.-:%d+: ", "")), 2) end
        end
        return self
    end
    cls._new = M[name]
    return cls
end

return E
