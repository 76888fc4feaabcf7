-- moonforge.models_linear: part of mf.models (see models.lua): the linear
-- regressors LinearRegression (least squares: normal equations, QR or SVD),
-- Ridge, Lasso, ElasticNet (coordinate descent) and SGDRegressor. The numeric
-- work of fit and predict runs in core/mf_linear.c.
local mf = require "moonforge"
local E = require "moonforge.estimator"
local core = require "moonforge.core"

return function(M)
local Base = E.base()
local fname, check_fitted, argerror = E.fname, E.check_fitted, E.argerror

local function class(name, allowed, defaults)
    return E.class(M, "moonforge.models", Base, name, allowed, defaults, "regressor")
end

---------------------------------------------------------------- inputs
local function check_finite(self, X, names, method, level)
    local r, c = core._linear_nonfinite(X)
    if r then
        local v = X[r][c]
        local col = names and ("'" .. names[c] .. "'") or tostring(c)
        argerror(1, fname(self, method), ("X contains %s at row %d, column %s (impute or drop it "
                 .. "first)"):format(v ~= v and "NaN" or tostring(v), r, col), level + 1)
    end
end

-- Calls the core fitting kernel; when it fails, a NaN or inf in X is
-- reported by position (the kernel only notices it in its pass over X).
local function fit_core(self, A, names, level, kernel, ...)
    local res = table.pack(pcall(kernel, A, ...))
    if res[1] then return table.unpack(res, 2, res.n) end
    check_finite(self, A, names, "fit", level + 1)
    local msg = tostring(res[2]):gsub("^bad argument #(%d+) to '[^']*'", "bad argument #%%1 to '"
                                      .. fname(self, "fit") .. "'")
    error(msg, level + 1)
end

-- X as a contiguous 2-D float64 tensor, and its column names (Table) or nil.
local function as_matrix(self, X, method, level)
    level = level + 1
    local fn = fname(self, method)
    local names
    if E.is_table(X) then
        names = X:columns()
        local dts = X:dtypes()
        for _, n in ipairs(names) do
            if dts[n] == "string" then
                argerror(1, fn, ("column '%s' holds strings (encode it first, e.g. with "
                         .. "OneHotEncoder)"):format(n), level)
            end
        end
        if #names == 0 then argerror(1, fn, "Table without columns", level) end
        if self.feature_names_in and method ~= "fit" then
            local have = {}
            for _, n in ipairs(names) do have[n] = true end
            for _, n in ipairs(self.feature_names_in) do
                if not have[n] then
                    argerror(1, fn, ("column '%s' (seen in fit) missing (columns: %s)")
                             :format(n, table.concat(names, ", ")), level)
                end
            end
            X = X:select(self.feature_names_in)
            names = self.feature_names_in
        end
        if #X == 0 and method == "fit" then argerror(1, fn, "no rows to fit on", level) end
        X = X:to_tensor()
    elseif mf.is_tensor(X) then
        if X:dim() ~= 2 then
            argerror(1, fn, ("2-D tensor expected, got %d-D (use x:view(-1, 1) for a single "
                     .. "feature)"):format(X:dim()), level)
        end
        if method == "fit" and X:size(1) == 0 then argerror(1, fn, "no rows to fit on", level) end
        if X:dtype() ~= "float64" then X = X:to("float64") end
        X = X:contiguous()
    else
        argerror(1, fn, "tensor or Table expected, got " .. E.typename(X), level)
    end
    -- fit finds NaN/inf in its own pass over X (see fit_core)
    if method ~= "fit" then check_finite(self, X, names, method, level) end
    if method ~= "fit" and X:size(2) ~= self.n_features_in then
        argerror(1, fn, ("expected %d columns (as in fit), got %d")
                 :format(self.n_features_in, X:size(2)), level)
    end
    return X, names
end

-- y as a contiguous float64 tensor of n rows (1-D, or 2-D when allowed).
local function as_target(self, y, n, method, level, allow_2d)
    level = level + 1
    local fn = fname(self, method)
    if type(y) == "table" and not mf.is_tensor(y) and not E.is_table(y) then
        for i = 1, #y do
            if type(y[i]) ~= "number" then
                argerror(2, fn, ("y[%d] is not a number (%s)"):format(i, type(y[i])), level)
            end
        end
        y = mf.tensor(#y > 0 and y or {0}, "float64"):narrow(1, 1, #y)
    end
    if not mf.is_tensor(y) then
        argerror(2, fn, "tensor or array of numbers expected, got " .. E.typename(y), level)
    end
    if y:dim() ~= 1 and not (allow_2d and y:dim() == 2) then
        argerror(2, fn, ("%s tensor expected, got %d-D"):format(allow_2d and "1-D or 2-D" or "1-D",
                 y:dim()), level)
    end
    if y:size(1) ~= n then
        argerror(2, fn, ("y has %d rows, X has %d"):format(y:size(1), n), level)
    end
    if y:dtype() ~= "float64" then y = y:to("float64") end
    y = y:contiguous()
    local r = core._linear_nonfinite(y:view(n, -1))
    if r then argerror(2, fn, ("y contains NaN or inf at row %d"):format(r), level) end
    return y
end

local function set_fitted(self, names, p, coef, intercept, ydim)
    self.coef = coef
    self._intercept = intercept
    self.intercept = ydim == 1 and intercept[1] or intercept
    self.n_features_in = p
    self.feature_names_in = names
    self._fitted = true
end

--- est:predict(X) → 1-D tensor (2-D for a 2-D y in fit).
function Base:predict(X)
    check_fitted(self, "predict")
    local A = as_matrix(self, X, "predict", 2)
    return (core._linear_predict(A, self.coef, self._intercept))
end

--- est:score(X, y) → R² (the mean over the targets for a 2-D y, as scikit-learn).
function Base:score(X, y)
    check_fitted(self, "score")
    local A = as_matrix(self, X, "score", 2)
    local Y = as_target(self, y, A:size(1), "score", 2, true)
    local P = core._linear_predict(A, self.coef, self._intercept)
    if Y:dim() == 1 then Y = Y:view(-1, 1) end
    P = P:view(Y:size(1), -1)
    if P:size(2) ~= Y:size(2) then
        argerror(2, fname(self, "score"), ("y has %d targets, the model %d")
                 :format(Y:size(2), P:size(2)), 2)
    end
    local ss_res = ((Y - P) ^ 2):sum(1):totable()
    local ss_tot = ((Y - Y:mean(1)) ^ 2):sum(1):totable()
    local s = 0
    for j = 1, #ss_res do
        local r
        if ss_tot[j] == 0 then r = ss_res[j] == 0 and 1 or 0 -- scikit-learn's convention
        else r = 1 - ss_res[j] / ss_tot[j] end
        s = s + r
    end
    return s / #ss_res
end

local function check_bool(self, key)
    if type(self[key]) ~= "boolean" then
        E.opt_error(self, ("option '%s' must be a boolean, got %s"):format(key, type(self[key])))
    end
end

local function check_choice(self, key, choices)
    for _, c in ipairs(choices) do if self[key] == c then return end end
    E.opt_error(self, ("option '%s' must be one of %s, got %s"):format(key,
                '"' .. table.concat(choices, '", "') .. '"', tostring(self[key])))
end

local function check_number(self, key, lo, lo_open, hi)
    local v = self[key]
    if type(v) ~= "number" or v ~= v or v < lo or (lo_open and v == lo) or (hi and v > hi)
       or v == math.huge then
        E.opt_error(self, ("option '%s' must be a number %s %s%s, got %s"):format(key,
                    lo_open and ">" or ">=", tostring(lo), hi and (" and <= " .. hi) or "",
                    tostring(v)))
    end
end

local function check_int(self, key, lo)
    local v = self[key]
    if math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v)) or v < lo then
        E.opt_error(self, ("option '%s' must be an integer >= %d, got %s"):format(key, lo,
                    tostring(v)))
    end
end

---------------------------------------------------------------- LinearRegression
local LinearRegression = class("LinearRegression", {"fit_intercept", "solver"},
                               {fit_intercept = true, solver = "auto"})

function LinearRegression:_check()
    check_bool(self, "fit_intercept")
    check_choice(self, "solver", {"auto", "cholesky", "qr", "svd"})
end

--- LinearRegression:fit(X, y) → self. Fitted: coef, intercept, rank,
-- n_features_in (feature_names_in for a Table), solver_used and rcond (the
-- estimated reciprocal condition number of the scaled XᵀX, when computed).
function LinearRegression:fit(X, y)
    local A, names = as_matrix(self, X, "fit", 2)
    local Y = as_target(self, y, A:size(1), "fit", 2, true)
    local coef, b, used, rank, rcond = fit_core(self, A, names, 2, core._linear_lstsq, Y,
                                                self.fit_intercept, self.solver, 0)
    if rank < A:size(2) then
        mf.warn("LinearRegression:fit: X is rank deficient (rank %d of %d columns): "
                .. "the minimum-norm solution is returned", rank, A:size(2))
    end
    set_fitted(self, names, A:size(2), coef, b, Y:dim())
    self.rank, self.solver_used = rank, used
    self.rcond = rcond >= 0 and rcond or nil
    return self
end

---------------------------------------------------------------- Ridge
local Ridge = class("Ridge", {"alpha", "fit_intercept"}, {alpha = 1, fit_intercept = true})

function Ridge:_check()
    check_number(self, "alpha", 0)
    check_bool(self, "fit_intercept")
end

--- Ridge:fit(X, y) → self: minimizes ‖y − Xw − b‖² + alpha‖w‖² (b not penalized).
function Ridge:fit(X, y)
    local A, names = as_matrix(self, X, "fit", 2)
    local Y = as_target(self, y, A:size(1), "fit", 2, true)
    local coef, b, _, rank = fit_core(self, A, names, 2, core._linear_lstsq, Y, self.fit_intercept,
                                      self.alpha > 0 and "cholesky" or "auto", self.alpha)
    if rank < A:size(2) then
        mf.warn("Ridge:fit: X is rank deficient (rank %d of %d columns) and alpha = 0: "
                .. "the minimum-norm solution is returned", rank, A:size(2))
    end
    set_fitted(self, names, A:size(2), coef, b, Y:dim())
    return self
end

---------------------------------------------------------------- Lasso, ElasticNet
local function enet_fit(self, X, y, l1_ratio)
    local A, names = as_matrix(self, X, "fit", 3)
    local Y = as_target(self, y, A:size(1), "fit", 3, false)
    local coef, b, n_iter, conv, gap = fit_core(self, A, names, 3, core._linear_enet, Y,
                                                self.fit_intercept, self.alpha, l1_ratio,
                                                math.tointeger(self.max_iter), self.tol)
    if not conv then
        mf.warn("%s:fit: coordinate descent did not converge in %d iterations (duality gap %.3g); "
                .. "raise max_iter or tol", self._cls, n_iter, gap)
    end
    set_fitted(self, names, A:size(2), coef, b, 1)
    self.n_iter, self.dual_gap = n_iter, gap
    return self
end

local function enet_check(self)
    check_number(self, "alpha", 0)
    check_bool(self, "fit_intercept")
    check_int(self, "max_iter", 1)
    check_number(self, "tol", 0)
end

local Lasso = class("Lasso", {"alpha", "fit_intercept", "max_iter", "tol"},
                    {alpha = 1, fit_intercept = true, max_iter = 1000, tol = 1e-4})
Lasso._check = enet_check
--- Lasso:fit(X, y) → self: (1/(2n))‖y − Xw − b‖² + alpha‖w‖₁ by coordinate descent.
function Lasso:fit(X, y)
    local r = enet_fit(self, X, y, 1) -- not a tail call: error levels count this frame
    return r
end

local ElasticNet = class("ElasticNet", {"alpha", "l1_ratio", "fit_intercept", "max_iter", "tol"},
                         {alpha = 1, l1_ratio = 0.5, fit_intercept = true, max_iter = 1000,
                          tol = 1e-4})
function ElasticNet:_check()
    enet_check(self)
    check_number(self, "l1_ratio", 0, false, 1)
end
function ElasticNet:fit(X, y)
    local r = enet_fit(self, X, y, self.l1_ratio)
    return r
end

---------------------------------------------------------------- SGDRegressor
local SGD_OPTS = {"loss", "penalty", "alpha", "l1_ratio", "epsilon", "learning_rate", "eta0",
                  "power_t", "max_iter", "tol", "shuffle", "seed", "fit_intercept",
                  "n_iter_no_change"}
local SGDRegressor = class("SGDRegressor", SGD_OPTS,
                           {loss = "squared_error", penalty = "l2", alpha = 1e-4, l1_ratio = 0.15,
                            epsilon = 0.1, learning_rate = "invscaling", eta0 = 0.01,
                            power_t = 0.25, max_iter = 1000, tol = 1e-3, shuffle = true,
                            seed = 0, fit_intercept = true, n_iter_no_change = 5})

function SGDRegressor:_check()
    check_choice(self, "loss", {"squared_error", "huber"})
    check_choice(self, "penalty", {"l2", "l1", "elasticnet", "none"})
    check_choice(self, "learning_rate", {"invscaling", "constant", "optimal", "adaptive"})
    check_number(self, "alpha", 0)
    if self.learning_rate == "optimal" then check_number(self, "alpha", 0, true) end
    check_number(self, "l1_ratio", 0, false, 1)
    check_number(self, "epsilon", 0)
    check_number(self, "eta0", 0, true)
    check_number(self, "power_t", 0)
    check_int(self, "max_iter", 1)
    check_int(self, "n_iter_no_change", 1)
    check_int(self, "seed", 0)
    if self.tol ~= false then check_number(self, "tol", 0) end
    check_bool(self, "shuffle")
    check_bool(self, "fit_intercept")
end

--- SGDRegressor:fit(X, y) → self (scikit-learn's plain SGD; tol = false: run max_iter epochs).
function SGDRegressor:fit(X, y)
    local A, names = as_matrix(self, X, "fit", 2)
    local Y = as_target(self, y, A:size(1), "fit", 2, false)
    check_finite(self, A, names, "fit", 2)
    local ok, coef, b, n_iter, t = pcall(core._linear_sgd, A, Y, {
        loss = self.loss, penalty = self.penalty, learning_rate = self.learning_rate,
        alpha = self.alpha, l1_ratio = self.l1_ratio, epsilon = self.epsilon, eta0 = self.eta0,
        power_t = self.power_t, tol = self.tol ~= false and self.tol or nil,
        max_iter = math.tointeger(self.max_iter), n_iter_no_change = math.tointeger(self.n_iter_no_change),
        fit_intercept = self.fit_intercept, shuffle = self.shuffle, seed = math.tointeger(self.seed)})
    if not ok then
        error("SGDRegressor:fit: " .. tostring(coef):gsub("^bad argument #%d+ to '[^']*' %((.*)%)$", "%1"), 2)
    end
    if self.tol ~= false and n_iter >= self.max_iter then
        mf.warn("SGDRegressor:fit: maximum number of iterations (%d) reached before convergence; "
                .. "raise max_iter", n_iter)
    end
    set_fitted(self, names, A:size(2), coef, b, 1)
    self.n_iter, self.t = n_iter, t
    return self
end
end
