--- moonforge.estimator: what the scikit-learn-shaped objects of moonforge
-- share (private to moonforge's modules: preprocess, features).
--
--     local E = require "moonforge.estimator"
--     local Base = E.base()                        -- the module's own base
--     local Scaler = E.class(M, "moonforge.preprocess", Base, "StandardScaler",
--                            {"with_mean", "with_std"}, {with_mean = true})
--
-- `E.class` installs the constructor `M[name](opts)` (options checked: an
-- unknown key is an error; `cls._check(self, name)` validates the values,
-- its errors pointing at the caller of the constructor) and returns the class.
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

function E.class(M, prefix, Base, name, allowed, defaults)
    local cls = setmetatable({}, {__index = Base})
    cls.__index = cls
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
    return cls
end

return E
