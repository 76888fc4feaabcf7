-- moonforge.models_neighbors: part of mf.models (see models.lua): the
-- neighbour models KNeighborsClassifier and KNeighborsRegressor (brute
-- force, Euclidean) and GaussianNB.
--
-- Labels follow models_classify.lua: any values (a 1-D tensor, or a Lua
-- array of strings or numbers); `classes` holds them sorted and predict
-- gives labels of y's kind. The input and label helpers below are a minimal
-- copy of that file's (it does not export them). All numeric work runs in
-- core/ (mf_neighbors.h).
local mf = require "moonforge"
local core = require "moonforge.core"
local E = require "moonforge.estimator"

local is_tensor = mf.is_tensor
local argerror, is_table, typename = E.argerror, E.is_table, E.typename
local fname, check_fitted, opt_error = E.fname, E.check_fitted, E.opt_error

return function(M)

local Base = E.base()

---------------------------------------------------------------- inputs
local function col_label(names, j)
    if names then return ("'%s'"):format(names[j]) end
    return tostring(j)
end

-- X as a contiguous float64 matrix and its column names (Tables) or nil;
-- NaN and infinities are errors naming the row and column.
local function as_matrix(X, self, method, level)
    level = (level or 2) + 1
    local fn = fname(self, method)
    local names
    if is_tensor(X) then
        if X:dim() ~= 2 then
            argerror(1, fn, ("2-D tensor expected, got %d-D (use x:view(-1, 1) for a single "
                     .. "feature)"):format(X:dim()), level)
        end
    elseif is_table(X) then
        names = X:columns()
        local dts = X:dtypes()
        for _, n in ipairs(names) do
            if dts[n] == "string" then
                argerror(1, fn, ("column '%s' holds strings (encode it first, e.g. with "
                         .. "OneHotEncoder)"):format(n), level)
            end
        end
        if #names == 0 then argerror(1, fn, "Table without columns", level) end
        X = X:to_tensor()
    else
        argerror(1, fn, "tensor or Table expected, got " .. typename(X), level)
    end
    if method == "fit" and X:size(1) == 0 then argerror(1, fn, "no rows to fit on", level) end
    if X:dtype() ~= "float64" then X = X:to("float64") end
    X = X:contiguous()
    local r, c = core._cls_find_nonfinite(X)
    if r then
        local v = X:get(r, c)
        argerror(1, fn, ("%s at row %d, column %s (clean or impute it first)")
                 :format(v ~= v and "NaN" or tostring(v):gsub("inf", "infinity"), r,
                         col_label(names, c)), level)
    end
    return X, names
end

-- At predict: X with the columns of fit (a Table is selected by the names seen in fit).
local function predict_input(self, X, method)
    check_fitted(self, method)
    local fn = fname(self, method)
    if is_table(X) and self.feature_names_in then
        local have = {}
        for _, n in ipairs(X:columns()) do have[n] = true end
        for _, n in ipairs(self.feature_names_in) do
            if not have[n] then
                argerror(1, fn, ("column '%s' (seen in fit) missing (columns: %s)")
                         :format(n, table.concat(X:columns(), ", ")), 3)
            end
        end
        X = X:select(self.feature_names_in)
    end
    local Xm = as_matrix(X, self, method, 3)
    if Xm:size(2) ~= self.n_features_in then
        argerror(1, fn, ("expected %d columns (as in fit), got %d")
                 :format(self.n_features_in, Xm:size(2)), 3)
    end
    return Xm
end

local function is_array(x)
    return type(x) == "table" and not is_tensor(x) and not is_table(x) and getmetatable(x) == nil
end

-- The labels y: {classes (tensor of y's dtype, or a sorted Lua array of
-- strings), codes (int64, 0-based), K, strings = bool}.
local function encode_y(self, y, n)
    local fn = fname(self, "fit")
    if is_array(y) then
        local all_num, all_str = true, true
        for i = 1, #y do
            all_num = all_num and type(y[i]) == "number"
            all_str = all_str and type(y[i]) == "string"
        end
        if #y > 0 and all_num then
            local int = true
            for i = 1, #y do int = int and math.type(y[i]) == "integer" end
            y = mf.tensor(y, int and "int64" or "float64")
        elseif all_str then
            if #y ~= n then argerror(2, fn, ("y has %d labels, X has %d rows"):format(#y, n), 3) end
            local seen, levels = {}, {}
            for i = 1, #y do
                if y[i] == mf.data.NA then argerror(2, fn, ("missing label at %d"):format(i), 3) end
                if not seen[y[i]] then seen[y[i]] = true levels[#levels + 1] = y[i] end
            end
            table.sort(levels)
            local pos = {}
            for k, v in ipairs(levels) do pos[v] = k - 1 end
            local codes = {}
            for i = 1, #y do codes[i] = pos[y[i]] end
            return {classes = levels, codes = mf.tensor(codes, "int64"), K = #levels, strings = true}
        else
            argerror(2, fn, "labels expected (a 1-D tensor or an array of strings or numbers)", 3)
        end
    end
    if not is_tensor(y) then
        argerror(2, fn, "labels expected (a 1-D tensor or an array of strings), got " .. typename(y), 3)
    end
    if y:dim() ~= 1 then argerror(2, fn, ("1-D tensor expected, got %d-D"):format(y:dim()), 3) end
    if y:size(1) ~= n then argerror(2, fn, ("y has %d labels, X has %d rows"):format(y:size(1), n), 3) end
    if (y:dtype() == "float32" or y:dtype() == "float64") and y:isnan():any():item() then
        argerror(2, fn, "y contains NaN", 3)
    end
    local classes, codes = core._cls_encode(y)
    return {classes = classes:to(y:dtype()), codes = codes, K = classes:size(1), strings = false}
end

-- Regression targets: float64 1-D tensor of n finite values.
local function target_y(self, y, n, method)
    local fn = fname(self, method)
    if is_array(y) then
        for i = 1, #y do
            if type(y[i]) ~= "number" then
                argerror(2, fn, ("numbers expected, y[%d] is a %s"):format(i, type(y[i])), 3)
            end
        end
        y = mf.tensor(y, "float64")
    end
    if not is_tensor(y) or y:dim() ~= 1 then
        argerror(2, fn, "1-D tensor or array of numbers expected, got " .. typename(y), 3)
    end
    if y:size(1) ~= n then argerror(2, fn, ("y has %d values, X has %d rows"):format(y:size(1), n), 3) end
    y = y:to("float64"):contiguous()
    if core._cls_find_nonfinite(y:view(-1, 1)) then
        argerror(2, fn, "y contains NaN or infinity", 3)
    end
    return y
end

-- The labels for 0-based class indices idx.
local function labels_of(self, idx)
    if self._strings then
        local t, out, cl = idx:totable(), {}, self.classes
        for i = 1, #t do out[i] = cl[t[i] + 1] end
        return out
    end
    return self.classes:index(1, idx + 1)
end

local function accuracy(self, pred, y, n)
    local fn = fname(self, "score")
    if self._strings then
        if not is_array(y) or #y ~= n then
            argerror(2, fn, ("an array of %d string labels expected"):format(n), 3)
        end
        local hit = 0
        for i = 1, n do if pred[i] == y[i] then hit = hit + 1 end end
        return hit / n
    end
    if is_array(y) then y = mf.tensor(y, "float64") end
    if not is_tensor(y) or y:dim() ~= 1 or y:size(1) ~= n then
        argerror(2, fn, ("1-D tensor of %d labels expected"):format(n), 3)
    end
    return pred:to("float64"):eq(y:to("float64")):to("float64"):mean():item()
end

local function check_two_classes(self, enc)
    if enc.K < 2 then
        argerror(2, fname(self, "fit"), ("at least 2 classes needed, y has %d"):format(enc.K), 3)
    end
end

local function set_inputs(self, Xm, names)
    self.n_features_in = Xm:size(2)
    self.feature_names_in = names
    self.n_samples_fit = Xm:size(1)
end

---------------------------------------------------------------- k nearest neighbours
local function check_knn(self)
    if math.type(self.n_neighbors) ~= "integer" or self.n_neighbors < 1 then
        opt_error(self, "n_neighbors must be an integer >= 1, got " .. tostring(self.n_neighbors))
    end
    if self.weights ~= "uniform" and self.weights ~= "distance" then
        opt_error(self, "weights must be \"uniform\" or \"distance\", got " .. tostring(self.weights))
    end
end

local function knn_fit_X(self, X)
    local Xm, names = as_matrix(X, self, "fit", 3)
    if self.n_neighbors > Xm:size(1) then
        argerror(1, fname(self, "fit"), ("n_neighbors = %d but only %d rows")
                 :format(self.n_neighbors, Xm:size(1)), 3)
    end
    if is_tensor(X) and X:dtype() == "float64" then Xm = Xm:clone() end -- our own copy
    self._X = Xm
    set_inputs(self, Xm, names)
end

-- Shared knn methods: kneighbors and the 0-based neighbours of predict.
local function add_knn(cls)
    --- kneighbors(X[, {n_neighbors}]) → distances [m x k] float64 (ascending),
    -- indices [m x k] int64 (1-based training rows; ties: lower row first).
    function cls:kneighbors(X, opts)
        local fn = fname(self, "kneighbors")
        opts = mf.nn.check_options(opts, fn, 2, {"n_neighbors"})
        local Xm = predict_input(self, X, "kneighbors")
        local k = opts.n_neighbors or self.n_neighbors
        if math.type(k) ~= "integer" or k < 1 or k > self.n_samples_fit then
            argerror(2, fn, ("n_neighbors must be an integer in [1, %d] (rows in fit), got %s")
                     :format(self.n_samples_fit, tostring(k)), 2)
        end
        local dist, idx = core._nbr_kneighbors(self._X, Xm, k)
        return dist, idx + 1
    end
    function cls:_neighbours(X, method)
        local Xm = predict_input(self, X, method)
        return core._nbr_kneighbors(self._X, Xm, self.n_neighbors)
    end
end

local KNC = E.class(M, "moonforge.models", Base, "KNeighborsClassifier", {"n_neighbors", "weights"},
                    {n_neighbors = 5, weights = "uniform"}, "classifier")
KNC._check = check_knn
add_knn(KNC)

--- fit(X, y) → self: keeps the training rows and the encoded labels.
function KNC:fit(X, y)
    knn_fit_X(self, X)
    local enc = encode_y(self, y, self._X:size(1))
    check_two_classes(self, enc)
    self.classes, self._strings, self._codes, self._K = enc.classes, enc.strings, enc.codes, enc.K
    self._fitted = true
    return self
end

--- predict_proba(X) → [m x K] float64: the (weighted) share of each class
-- among the neighbours, columns in `classes` order.
function KNC:predict_proba(X)
    local dist, idx = self:_neighbours(X, "predict_proba")
    return core._nbr_vote(idx, dist, self._codes, self._K, self.weights == "distance", "proba")
end

--- predict(X) → labels: the class of the largest (weighted) vote; ties go
-- to the first class in `classes` order (scikit-learn).
function KNC:predict(X)
    local dist, idx = self:_neighbours(X, "predict")
    return labels_of(self, core._nbr_vote(idx, dist, self._codes, self._K,
                                          self.weights == "distance", "index"))
end

--- score(X, y) → accuracy.
function KNC:score(X, y)
    local dist, idx = self:_neighbours(X, "score")
    local pred = labels_of(self, core._nbr_vote(idx, dist, self._codes, self._K,
                                                self.weights == "distance", "index"))
    return accuracy(self, pred, y, idx:size(1))
end

local KNR = E.class(M, "moonforge.models", Base, "KNeighborsRegressor", {"n_neighbors", "weights"},
                    {n_neighbors = 5, weights = "uniform"}, "regressor")
KNR._check = check_knn
add_knn(KNR)

--- fit(X, y) → self, y a 1-D tensor or array of numbers.
function KNR:fit(X, y)
    knn_fit_X(self, X)
    self._y = target_y(self, y, self._X:size(1), "fit")
    self._fitted = true
    return self
end

--- predict(X) → float64 [m]: the (weighted) mean target of the neighbours.
function KNR:predict(X)
    local dist, idx = self:_neighbours(X, "predict")
    return core._nbr_regress(idx, dist, self._y, self.weights == "distance")
end

--- score(X, y) → R² of predict(X) against y.
function KNR:score(X, y)
    local pred = self:predict(X)
    y = target_y(self, y, pred:size(1), "score")
    local res = ((y - pred) ^ 2):sum():item()
    local tot = ((y - y:mean():item()) ^ 2):sum():item()
    if tot == 0 then return res == 0 and 1.0 or 0.0 end
    return 1 - res / tot
end

---------------------------------------------------------------- GaussianNB
local NB = E.class(M, "moonforge.models", Base, "GaussianNB", {"var_smoothing", "priors"},
                   {var_smoothing = 1e-9}, "classifier")

function NB:_check()
    local vs = self.var_smoothing
    if type(vs) ~= "number" or not (vs >= 0) or vs == math.huge then
        opt_error(self, "var_smoothing must be a finite number >= 0, got " .. tostring(vs))
    end
    local p = self.priors
    if p ~= nil and not is_array(p) and not (is_tensor(p) and p:dim() == 1) then
        opt_error(self, "priors must be nil, an array or a 1-D tensor of probabilities, got " .. typename(p))
    end
end

--- fit(X, y) → self: per-class means `theta` and variances `var` [K x d]
-- (plus var_smoothing times the largest column variance), `class_count`,
-- `class_prior` (the priors option, or the class frequencies).
function NB:fit(X, y)
    local Xm, names = as_matrix(X, self, "fit")
    local enc = encode_y(self, y, Xm:size(1))
    check_two_classes(self, enc)
    local prior
    if self.priors ~= nil then
        local p = is_tensor(self.priors) and self.priors:to("float64"):totable() or self.priors
        if #p ~= enc.K then
            argerror(1, self._cls, ("priors has %d entries, y has %d classes"):format(#p, enc.K), 2)
        end
        local s = 0
        for i = 1, #p do
            if type(p[i]) ~= "number" or not (p[i] >= 0) then
                argerror(1, self._cls, ("priors[%d] must be a number >= 0"):format(i), 2)
            end
            s = s + p[i]
        end
        if math.abs(s - 1) > 1e-8 then
            argerror(1, self._cls, ("priors must sum to 1, sum is %.17g"):format(s), 2)
        end
        prior = mf.tensor(p, "float64")
    end
    local theta, var, count = core._nbr_nb_fit(Xm, enc.codes, enc.K, self.var_smoothing)
    self.classes, self._strings = enc.classes, enc.strings
    self.theta, self.var, self.class_count = theta, var, count
    self.class_prior = prior or count / Xm:size(1)
    self._log_prior = self.class_prior:log():contiguous()
    set_inputs(self, Xm, names)
    self.n_samples_fit = nil
    self._fitted = true
    return self
end

--- predict_log_proba(X) → [m x K] float64, by log-sum-exp of the joint log-likelihoods.
function NB:predict_log_proba(X)
    local Xm = predict_input(self, X, "predict_log_proba")
    return core._nbr_nb_predict(Xm, self.theta, self.var, self._log_prior, "log_proba")
end

--- predict_proba(X) → [m x K] float64, columns in `classes` order.
function NB:predict_proba(X)
    local Xm = predict_input(self, X, "predict_proba")
    return core._nbr_nb_predict(Xm, self.theta, self.var, self._log_prior, "proba")
end

--- predict(X) → labels of the largest joint log-likelihood.
function NB:predict(X)
    local Xm = predict_input(self, X, "predict")
    return labels_of(self, core._nbr_nb_predict(Xm, self.theta, self.var, self._log_prior, "index"))
end

--- score(X, y) → accuracy.
function NB:score(X, y)
    local Xm = predict_input(self, X, "score")
    local pred = labels_of(self, core._nbr_nb_predict(Xm, self.theta, self.var, self._log_prior, "index"))
    return accuracy(self, pred, y, Xm:size(1))
end

end
