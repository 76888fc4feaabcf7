-- moonforge.models_neighbors: part of mf.models (see models.lua): the
-- neighbour models KNeighborsClassifier and KNeighborsRegressor (brute
-- force, Euclidean) and GaussianNB.
--
-- Labels follow models_classify.lua: any values (a 1-D tensor, or a Lua
-- array of strings or numbers); `classes` holds them sorted and predict
-- gives labels of y's kind (the helpers of models_common.lua). All numeric
-- work runs in core/ (mf_neighbors.h).
local mf = require "moonforge"
local core = require "moonforge.core"
local E = require "moonforge.estimator"

local is_tensor = mf.is_tensor
local argerror, typename = E.argerror, E.typename
local fname, check_fitted, opt_error = E.fname, E.check_fitted, E.opt_error

return function(M)

local Base = E.base()

---------------------------------------------------------------- inputs
local MC = require "moonforge.models_common"
local as_matrix, predict_input, is_array = MC.as_matrix, MC.predict_input, MC.is_array
local encode_y, labels_of, accuracy = MC.encode_y, MC.labels_of, MC.accuracy

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
-- The exponent of each metric name (scikit-learn's names; "minkowski"
-- takes the option p).
local METRIC_P = {euclidean = 2, l2 = 2, manhattan = 1, cityblock = 1, l1 = 1,
                  chebyshev = math.huge, infinity = math.huge}

local function check_knn(self)
    if math.type(self.n_neighbors) ~= "integer" or self.n_neighbors < 1 then
        opt_error(self, "n_neighbors must be an integer >= 1, got " .. tostring(self.n_neighbors))
    end
    if self.weights ~= "uniform" and self.weights ~= "distance" then
        opt_error(self, "weights must be \"uniform\" or \"distance\", got " .. tostring(self.weights))
    end
    if self.metric ~= "minkowski" and not METRIC_P[self.metric] then
        opt_error(self, "metric must be \"minkowski\", \"euclidean\", \"manhattan\" or \"chebyshev\" "
                  .. "(or l1, l2, cityblock, infinity), got " .. tostring(self.metric))
    end
    if type(self.p) ~= "number" or not (self.p >= 1) then
        opt_error(self, "p must be a number >= 1 (math.huge: chebyshev), got " .. tostring(self.p))
    end
end

-- The Minkowski exponent of the model's metric.
local function metric_p(self)
    return self.metric == "minkowski" and self.p or METRIC_P[self.metric]
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
        local dist, idx = core._nbr_kneighbors(self._X, Xm, k, metric_p(self))
        return dist, idx + 1
    end
    function cls:_neighbours(X, method)
        local Xm = predict_input(self, X, method)
        return core._nbr_kneighbors(self._X, Xm, self.n_neighbors, metric_p(self))
    end
end

local KNC = E.class(M, "moonforge.models", Base, "KNeighborsClassifier", {"n_neighbors", "weights", "metric", "p"},
                    {n_neighbors = 5, weights = "uniform", metric = "minkowski", p = 2}, "classifier")
KNC._check = check_knn
add_knn(KNC)

--- fit(X, y) → self: keeps the training rows and the encoded labels.
function KNC:fit(X, y)
    knn_fit_X(self, X)
    local enc = encode_y(self, y, self._X:size(1), "fit")
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

local KNR = E.class(M, "moonforge.models", Base, "KNeighborsRegressor", {"n_neighbors", "weights", "metric", "p"},
                    {n_neighbors = 5, weights = "uniform", metric = "minkowski", p = 2}, "regressor")
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
    local enc = encode_y(self, y, Xm:size(1), "fit")
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
