--- moonforge.pipeline: mf.Pipeline, scikit-learn's Pipeline.
--
--     local pipe = mf.Pipeline{mf.preprocess.StandardScaler(), model}
--     local pipe = mf.Pipeline{{"scaler", mf.preprocess.StandardScaler()}, {"model", model}}
--     pipe:fit(X, y):predict(Xt)
--
-- Transformers then a final estimator (or transformer). fit(X, y) runs
-- fit_transform of each transformer in turn on the training data only, then
-- fits the last step on the result; predict, predict_proba,
-- decision_function, score and transform pass X through the fitted
-- transformers first. A method of the last step is a method of the pipeline
-- only when the last step has it (scikit-learn's available_if), so the
-- pipeline's kind (classifier, regressor) is its last step's. A step may be
-- the string "passthrough" (scikit-learn's): it leaves X as it is, which
-- lets a grid search try a pipeline with and without a step.
local mf = require "moonforge"
local E = require "moonforge.estimator"

local M = {}

local argerror, is_estimator = E.argerror, E.is_estimator

local PASS = "passthrough"

local Pipeline = {}
Pipeline.__name = "moonforge.Pipeline"
Pipeline._cls = "Pipeline"

-- The methods that exist only when the last step has them.
local DELEGATED = {predict = true, predict_proba = true, decision_function = true,
                   score = true, transform = true, fit_transform = true,
                   inverse_transform = true, predict_log_proba = true}

function Pipeline.__index(self, k)
    if DELEGATED[k] then
        local steps = rawget(self, "steps")
        local last = steps[#steps][2]
        if last == PASS then
            if k == "transform" or k == "fit_transform" or k == "inverse_transform" then return Pipeline[k] end
            return nil
        end
        if type(last[k]) ~= "function" then return nil end
        return Pipeline[k]
    elseif k == "_estimator_type" then
        local steps = rawget(self, "steps")
        local last = steps[#steps][2]
        return last == PASS and "transformer" or E.estimator_type(last)
    end
    return Pipeline[k]
end

function Pipeline.__tostring(self)
    local names = {}
    for i, s in ipairs(self.steps) do names[i] = s[1] end
    return ("Pipeline(%s)%s"):format(table.concat(names, ", "),
                                      rawget(self, "_fitted") and " (fitted)" or " (not fitted)")
end

-- The class name of an estimator ("StandardScaler"), for default step names.
local function class_name(est)
    local n = est._cls
    if type(n) ~= "string" then
        local mt = getmetatable(est)
        n = mt and type(mt.__name) == "string" and mt.__name:gsub("^.*%.", "") or "step"
    end
    return n
end

local function describe(v)
    if mf.is_tensor(v) then return "tensor" end
    if type(v) == "table" and (v._cls or (getmetatable(v) or {}).__name) then return tostring(class_name(v)) end
    return type(v)
end

-- Checks one step (est at position i of n) and raises at the caller's caller.
local function check_step(est, name, i, n, fname, level)
    if est == PASS then return end
    if type(est) ~= "table" or type(est.fit) ~= "function" then
        argerror(1, fname, ("step %d ('%s') must be an estimator with fit, got %s")
                 :format(i, name, describe(est)), level + 1)
    end
    if i < n and type(est.transform) ~= "function" then
        argerror(1, fname, ("step %d ('%s', %s) is not the last step, so it must be a transformer "
                 .. "(fit and transform)"):format(i, name, describe(est)), level + 1)
    end
end

-- {{name, est}, ...} from the constructor's argument (names given or
-- scikit-learn's make_pipeline names: lowercased class names, "-1", "-2"
-- appended to repeated ones).
local function parse_steps(list, fname, level)
    level = level + 1
    if type(list) ~= "table" or mf.is_tensor(list) or getmetatable(list) ~= nil then
        argerror(1, fname, "list of steps expected, got " .. describe(list), level)
    end
    local n = #list
    for k in pairs(list) do
        if math.type(k) ~= "integer" or k < 1 or k > n then
            argerror(1, fname, ("unknown option '%s' (give the steps as a list)"):format(tostring(k)), level)
        end
    end
    if n == 0 then argerror(1, fname, "a pipeline needs at least one step", level) end
    local steps, auto = {}, {}
    for i = 1, n do
        local item = list[i]
        if type(item) == "table" and getmetatable(item) == nil and item.fit == nil then
            if #item ~= 2 or type(item[1]) ~= "string" then
                argerror(1, fname, ("step %d must be an estimator or {\"name\", estimator}"):format(i), level)
            end
            steps[i] = {item[1], item[2]}
        else
            steps[i] = {nil, item}
            auto[i] = true
        end
    end
    -- default names
    local count = {}
    for i = 1, n do
        if auto[i] then
            local est = steps[i][2]
            local base = est == PASS and PASS or type(est) == "table" and class_name(est):lower() or "step"
            steps[i][1] = base
            count[base] = (count[base] or 0) + 1
        end
    end
    local seen = {}
    for i = 1, n do
        if auto[i] and count[steps[i][1]] > 1 then
            local base = steps[i][1]
            seen[base] = (seen[base] or 0) + 1
            steps[i][1] = base .. "-" .. seen[base]
        end
    end
    local names = {}
    for i = 1, n do
        local name = steps[i][1]
        if name:find("__", 1, true) then
            argerror(1, fname, ("step name '%s' must not contain '__'"):format(name), level)
        end
        if name == "steps" or name == "" then
            argerror(1, fname, ("step name '%s' is not allowed"):format(name), level)
        end
        if names[name] then argerror(1, fname, ("step name '%s' is used twice"):format(name), level) end
        names[name] = true
        check_step(steps[i][2], name, i, n, fname, level)
    end
    return steps
end

local function set_steps(self, steps)
    self.steps = steps
    local named = {}
    for _, s in ipairs(steps) do named[s[1]] = s[2] end
    self.named_steps = named
end

--- mf.Pipeline{step, ...} or mf.Pipeline{{"name", step}, ...}.
function M.Pipeline(list)
    local self = setmetatable({_fitted = false}, Pipeline)
    set_steps(self, parse_steps(list, "Pipeline", 2))
    return self
end

local function fname(method) return "Pipeline:" .. method end

local function check_fitted(self, method)
    if not rawget(self, "_fitted") then
        error(("Pipeline:%s called before fit"):format(method), 3)
    end
end

-- X passed through the transformers (all steps but the last).
local function transform_head(self, X)
    local steps = self.steps
    for i = 1, #steps - 1 do
        local est = steps[i][2]
        if est ~= PASS then X = est:transform(X) end
    end
    return X
end

local function fit_transform_step(est, X, y)
    if est == PASS then return X end
    if type(est.fit_transform) == "function" then return est:fit_transform(X, y) end
    est:fit(X, y)
    return est:transform(X)
end

--- pipe:fit(X [, y]) → pipe: each transformer in turn fits on (and
-- transforms) the training data, then the last step fits.
function Pipeline:fit(X, y)
    local steps = self.steps
    local Xt = X
    for i = 1, #steps - 1 do Xt = fit_transform_step(steps[i][2], Xt, y) end
    local est = steps[#steps][2]
    if est ~= PASS then est:fit(Xt, y) end
    self._fitted = true
    return self
end

function Pipeline:fit_transform(X, y)
    local steps = self.steps
    local Xt = X
    for i = 1, #steps do Xt = fit_transform_step(steps[i][2], Xt, y) end
    self._fitted = true
    return Xt
end

local function last(self) return self.steps[#self.steps][2] end

function Pipeline:predict(X, ...)
    check_fitted(self, "predict")
    return last(self):predict(transform_head(self, X), ...)
end

function Pipeline:predict_proba(X, ...)
    check_fitted(self, "predict_proba")
    return last(self):predict_proba(transform_head(self, X), ...)
end

function Pipeline:predict_log_proba(X, ...)
    check_fitted(self, "predict_log_proba")
    return last(self):predict_log_proba(transform_head(self, X), ...)
end

function Pipeline:decision_function(X, ...)
    check_fitted(self, "decision_function")
    return last(self):decision_function(transform_head(self, X), ...)
end

--- pipe:score(X, y): the last step's score on the transformed X.
function Pipeline:score(X, y, ...)
    check_fitted(self, "score")
    return last(self):score(transform_head(self, X), y, ...)
end

--- pipe:transform(X): through every step (the last one is a transformer).
function Pipeline:transform(X)
    check_fitted(self, "transform")
    local est = last(self)
    X = transform_head(self, X)
    if est == PASS then return X end
    return est:transform(X)
end

--- pipe:inverse_transform(Z): back through the steps, last first.
function Pipeline:inverse_transform(Z)
    check_fitted(self, "inverse_transform")
    local steps = self.steps
    for i = #steps, 1, -1 do
        local est = steps[i][2]
        if est == PASS then goto continue end
        if type(est.inverse_transform) ~= "function" then
            error(("Pipeline:inverse_transform: step '%s' has no inverse_transform"):format(steps[i][1]), 2)
        end
        Z = est:inverse_transform(Z)
        ::continue::
    end
    return Z
end

--- pipe:get_params([{deep = true}]) → {steps = ..., name = step, ...,
-- ["name__param"] = value, ...}.
function Pipeline:get_params(opts)
    opts = mf.nn.check_options(opts, fname("get_params"), 1, {"deep"})
    local deep = opts.deep ~= false
    local out = {steps = self.steps}
    for _, s in ipairs(self.steps) do
        out[s[1]] = s[2]
        if deep and is_estimator(s[2]) then
            for k, v in pairs(s[2]:get_params()) do out[s[1] .. "__" .. k] = v end
        end
    end
    return out
end

--- pipe:set_params{name = estimator, ["name__param"] = value, steps = {...}}.
function Pipeline:set_params(params)
    local fn = fname("set_params")
    if type(params) ~= "table" or mf.is_tensor(params) then
        argerror(1, fn, "parameter table expected, got " .. describe(params))
    end
    local keys = {}
    for k in pairs(params) do
        if type(k) ~= "string" then argerror(1, fn, "parameter names must be strings, got " .. type(k)) end
        keys[#keys + 1] = k
    end
    table.sort(keys)
    local function names_list()
        local n = {"steps"}
        for _, s in ipairs(self.steps) do n[#n + 1] = s[1] end
        return table.concat(n, ", ")
    end
    -- whole steps first (steps, then single replacements), then nested
    local steps = self.steps
    if params.steps ~= nil then steps = parse_steps(params.steps, fn, 2) end
    local new_steps = {}
    for i, s in ipairs(steps) do new_steps[i] = {s[1], s[2]} end
    local index = {}
    for i, s in ipairs(new_steps) do index[s[1]] = i end
    local nested = {}
    for _, k in ipairs(keys) do
        if k ~= "steps" then
            local head, rest = k:match("^(.-)__(.+)$")
            local name = head or k
            if not index[name] then
                argerror(1, fn, ("unknown parameter '%s' (parameters: %s)"):format(name, names_list()))
            end
            if head then
                nested[#nested + 1] = {name, rest, params[k]}
            else
                new_steps[index[name]][2] = params[k]
            end
        end
    end
    for i, s in ipairs(new_steps) do check_step(s[2], s[1], i, #new_steps, fn, 2) end
    -- the nested parameters, grouped per step
    local per = {}
    for _, t in ipairs(nested) do
        per[t[1]] = per[t[1]] or {}
        per[t[1]][t[2]] = t[3]
    end
    for _, s in ipairs(new_steps) do
        local p = per[s[1]]
        if p then
            if type(s[2]) ~= "table" or type(s[2].set_params) ~= "function" then
                argerror(1, fn, ("step '%s' has no parameters (no set_params)"):format(s[1]))
            end
            local ok, err = pcall(s[2].set_params, s[2], p)
            if not ok then error((tostring(err):gsub("^.-:%d+: ", "")), 2) end
        end
    end
    set_steps(self, new_steps)
    return self
end

function Pipeline:_clone()
    local list = {}
    for i, s in ipairs(self.steps) do list[i] = {s[1], s[2] == PASS and PASS or E.clone(s[2])} end
    return M.Pipeline(list)
end

return M
