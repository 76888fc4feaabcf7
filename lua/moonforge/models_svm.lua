-- moonforge.models_svm: part of mf.models (see models.lua): SVC, the kernel
-- support vector classifier (scikit-learn's SVC, libsvm's C-SVC).
--
-- The numeric work of fit and predict runs in core/ (mf_svm.h): SMO with
-- second-order working-set selection per pair of classes (one-vs-one),
-- Platt sigmoids by 5-fold cross-validation when probability = true. This
-- file checks arguments, encodes labels and keeps state.
local mf = require "moonforge"
local core = require "moonforge.core"
local E = require "moonforge.estimator"
local MC = require "moonforge.models_common"

local is_tensor = mf.is_tensor
local argerror, fname, opt_error, typename = E.argerror, E.fname, E.opt_error, E.typename
local as_matrix, predict_input = MC.as_matrix, MC.predict_input
local encode_y, labels_of, accuracy = MC.encode_y, MC.labels_of, MC.accuracy

return function(M)

local Base = E.base()

local KERNELS = {linear = true, poly = true, rbf = true, sigmoid = true}

local SVC = E.class(M, "moonforge.models", Base, "SVC",
                    {"C", "kernel", "degree", "gamma", "coef0", "probability", "tol", "cache_size",
                     "class_weight", "max_iter", "decision_function_shape", "break_ties", "seed"},
                    {C = 1.0, kernel = "rbf", degree = 3, gamma = "scale", coef0 = 0.0,
                     probability = false, tol = 1e-3, cache_size = 200, max_iter = -1,
                     decision_function_shape = "ovr", break_ties = false, seed = 0},
                    "classifier")

local function finite(v) return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge end

function SVC:_check()
    if not KERNELS[self.kernel] then
        opt_error(self, "kernel must be \"rbf\", \"linear\", \"poly\" or \"sigmoid\", got "
                  .. tostring(self.kernel))
    end
    if not finite(self.C) or not (self.C > 0) then
        opt_error(self, "C must be a finite number > 0, got " .. tostring(self.C))
    end
    if math.type(self.degree) ~= "integer" or self.degree < 0 then
        opt_error(self, "degree must be an integer >= 0, got " .. tostring(self.degree))
    end
    local g = self.gamma
    if g ~= "scale" and g ~= "auto" and not (finite(g) and g > 0) then
        opt_error(self, "gamma must be \"scale\", \"auto\" or a finite number > 0, got " .. tostring(g))
    end
    if not finite(self.coef0) then opt_error(self, "coef0 must be a finite number, got " .. tostring(self.coef0)) end
    if not finite(self.tol) or not (self.tol > 0) then
        opt_error(self, "tol must be a finite number > 0, got " .. tostring(self.tol))
    end
    if not finite(self.cache_size) or not (self.cache_size > 0) then
        opt_error(self, "cache_size must be a number of megabytes > 0, got " .. tostring(self.cache_size))
    end
    if math.type(self.max_iter) ~= "integer" or (self.max_iter < 1 and self.max_iter ~= -1) then
        opt_error(self, "max_iter must be an integer >= 1 or -1 (no limit), got " .. tostring(self.max_iter))
    end
    for _, k in ipairs{"probability", "break_ties"} do
        if type(self[k]) ~= "boolean" then opt_error(self, k .. " must be a boolean, got " .. typename(self[k])) end
    end
    if self.decision_function_shape ~= "ovr" and self.decision_function_shape ~= "ovo" then
        opt_error(self, "decision_function_shape must be \"ovr\" or \"ovo\", got "
                  .. tostring(self.decision_function_shape))
    end
    if self.break_ties and self.decision_function_shape == "ovo" then
        opt_error(self, "break_ties needs decision_function_shape = \"ovr\"")
    end
    if math.type(self.seed) ~= "integer" or self.seed < 0 then
        opt_error(self, "seed must be an integer >= 0, got " .. tostring(self.seed))
    end
    MC.check_class_weight(self)
end

-- The per-row multipliers of C: class weights times sample_weight (nil: all 1).
local function row_weights(self, enc, sample_weight, n)
    local w = MC.sample_weights(self, enc)
    if sample_weight == nil then return w end
    local fn = fname(self, "fit")
    if not is_tensor(sample_weight) or sample_weight:dim() ~= 1 or sample_weight:size(1) ~= n then
        argerror(3, fn, ("sample_weight: 1-D tensor of %d weights expected, got %s"):format(n,
                 is_tensor(sample_weight) and ("shape [" .. table.concat(sample_weight:shape(), "x") .. "]")
                 or typename(sample_weight)), 3)
    end
    local sw = sample_weight:to("float64"):contiguous()
    local bad = sw:isfinite():logical_not():logical_or(sw:lt(0))
    if bad:any():item() then
        local i = bad:to("int64"):argmax():item()
        argerror(3, fn, ("sample_weight: weight %s at %d is not a finite number >= 0")
                 :format(tostring(sw:get(i)), i), 3)
    end
    return w and (w * sw):contiguous() or sw
end

local function gamma_of(self, Xm)
    if self.gamma == "scale" then return core._svm_gamma_scale(Xm) end
    if self.gamma == "auto" then return 1.0 / Xm:size(2) end
    return self.gamma
end

-- coef of the linear kernel: one row per pair (i, j), as scikit-learn's
-- (for two classes the sign of the decision of classes[2]).
local function linear_coef(self)
    local K, sv, dc = self._K, self.support_vectors, self._dual_coef
    local ns = self.n_support:totable()
    local start, rows = {1}, {}
    for k = 2, K do start[k] = start[k - 1] + ns[k - 1] end
    for i = 1, K do
        for j = i + 1, K do
            local c = mf.zeros({1, sv:size(2)}, "float64")
            if ns[i] > 0 then
                c = c + dc:narrow(1, j - 1, 1):narrow(2, start[i], ns[i]):matmul(sv:narrow(1, start[i], ns[i]))
            end
            if ns[j] > 0 then
                c = c + dc:narrow(1, i, 1):narrow(2, start[j], ns[j]):matmul(sv:narrow(1, start[j], ns[j]))
            end
            rows[#rows + 1] = c
        end
    end
    local coef = mf.cat(rows, 1)
    if K == 2 then coef = -coef end
    return coef:contiguous()
end

--- fit(X, y [, sample_weight]) → self. Warns when a pair's SMO reaches
-- max_iter (scikit-learn's "Solver terminated early").
function SVC:fit(X, y, sample_weight)
    local Xm, names = as_matrix(X, self, "fit")
    local n = Xm:size(1)
    local enc = encode_y(self, y, n, "fit")
    if enc.K < 2 then
        argerror(2, fname(self, "fit"), ("at least 2 classes needed, y has %d"):format(enc.K), 2)
    end
    local w = row_weights(self, enc, sample_weight, n)
    local gamma = gamma_of(self, Xm)
    local r = core._svm_fit(Xm, enc.codes, enc.K, w, {
        kernel = self.kernel, gamma = gamma, coef0 = self.coef0, degree = self.degree, C = self.C,
        tol = self.tol, max_iter = self.max_iter, cache_mb = self.cache_size,
        probability = self.probability, seed = self.seed})
    if not r.converged then
        mf.warn("SVC: solver terminated early (max_iter = %d): scale the data (StandardScaler) "
                .. "or raise max_iter", self.max_iter)
    end
    local K = enc.K
    self.classes, self._strings, self._K = enc.classes, enc.strings, K
    self.support = r.support + 1
    self.support_vectors = Xm:index(1, self.support):contiguous()
    self.n_support = r.n_support
    self._dual_coef, self._intercept = r.dual_coef, r.intercept
    -- scikit-learn's public signs: for two classes, those of classes[2]
    self.dual_coef = K == 2 and -r.dual_coef or r.dual_coef
    self.intercept = K == 2 and -r.intercept or r.intercept
    self.prob_a, self.prob_b = r.prob_a, r.prob_b
    self.n_iter = r.n_iter
    self.gamma_value = gamma
    self.n_features_in = Xm:size(2)
    self.feature_names_in = names
    self._model = {kernel = self.kernel, gamma = gamma, coef0 = self.coef0, degree = self.degree,
                   K = K, sv = self.support_vectors, n_support = r.n_support,
                   dual_coef = r.dual_coef, intercept = r.intercept,
                   prob_a = r.prob_a, prob_b = r.prob_b}
    self.coef = nil
    if self.kernel == "linear" then self.coef = linear_coef(self) end
    self._fitted = true
    return self
end

local function run(self, X, method, what)
    local Xm = predict_input(self, X, method)
    return core._svm_predict(Xm, self._model, what)
end

--- decision_function(X): two classes: float64 [n], positive for classes[2];
-- more: [n x K] ("ovr": votes plus confidences in (-1/3, 1/3), as
-- scikit-learn) or [n x K(K-1)/2] ("ovo": the pairwise decisions, positive
-- for the first class of the pair).
function SVC:decision_function(X)
    if self._K == 2 then
        return -run(self, X, "decision_function", "ovo"):view(-1)
    end
    return run(self, X, "decision_function", self.decision_function_shape)
end

local function predict_index(self, X, method)
    if self.break_ties and self._K > 2 then
        return run(self, X, method, "ovr"):argmax(2):view(-1) - 1
    end
    return run(self, X, method, "vote")
end

--- predict(X): the class with most pairwise wins (ties: the first class;
-- break_ties = true: the largest "ovr" decision).
function SVC:predict(X)
    return labels_of(self, predict_index(self, X, "predict"))
end

-- An error (at the caller of the method) when the fit made no sigmoids.
local function need_proba(self, method)
    if not self._model.prob_a then
        error(("SVC:%s: probabilities need probability = true at fit"):format(method), 3)
    end
end

--- predict_proba(X) (probability = true): [n x K], columns in `classes`
-- order; Platt sigmoids of the pairwise decisions, coupled.
function SVC:predict_proba(X)
    E.check_fitted(self, "predict_proba")
    need_proba(self, "predict_proba")
    return run(self, X, "predict_proba", "proba")
end

function SVC:predict_log_proba(X)
    E.check_fitted(self, "predict_log_proba")
    need_proba(self, "predict_log_proba")
    return run(self, X, "predict_log_proba", "proba"):log()
end

--- score(X, y): accuracy.
function SVC:score(X, y)
    local pred = labels_of(self, predict_index(self, X, "score"))
    return accuracy(self, pred, y, self._strings and #pred or pred:size(1))
end

end
