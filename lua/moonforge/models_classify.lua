-- moonforge.models_classify: part of mf.models (see models.lua): the linear
-- classifiers LogisticRegression and LinearSVC.
--
-- Labels may be any values: a 1-D tensor (int64, float, bool) or a Lua array
-- of strings (or numbers, read as a tensor). `classes` holds them sorted;
-- predict gives labels of the same kind (a tensor of y's dtype, or a Lua
-- array of strings). All numeric work of fit and predict runs in core/
-- (mf_classify.h): this file checks arguments, encodes labels and keeps state.
local mf = require "moonforge"
local core = require "moonforge.core"
local E = require "moonforge.estimator"

local argerror, fname, opt_error = E.argerror, E.fname, E.opt_error

return function(M)

local Base = E.base()

local function class(name, allowed, defaults)
    return E.class(M, "moonforge.models", Base, name, allowed, defaults, "classifier")
end

---------------------------------------------------------------- inputs
local MC = require "moonforge.models_common"
local as_matrix, predict_input = MC.as_matrix, MC.predict_input
local encode_y, labels_of, accuracy = MC.encode_y, MC.labels_of, MC.accuracy

local function check_two_classes(self, enc)
    if enc.K < 2 then
        argerror(2, fname(self, "fit"), ("at least 2 classes needed, y has %d"):format(enc.K), 3)
    end
end

local sample_weights, check_class_weight = MC.sample_weights, MC.check_class_weight

local function check_common(self, name, sgd)
    if not sgd and (type(self.C) ~= "number" or not (self.C > 0) or self.C == math.huge) then
        opt_error(self, "C must be a finite number > 0, got " .. tostring(self.C))
    end
    if math.type(self.max_iter) ~= "integer" or self.max_iter < 1 then
        opt_error(self, "max_iter must be an integer >= 1, got " .. tostring(self.max_iter))
    end
    if not (sgd and self.tol == false) and (type(self.tol) ~= "number" or not (self.tol > 0)) then
        opt_error(self, "tol must be a number > 0" .. (sgd and " or false" or "") .. ", got "
                  .. tostring(self.tol))
    end
    if type(self.fit_intercept) ~= "boolean" then
        opt_error(self, "fit_intercept must be a boolean, got " .. type(self.fit_intercept))
    end
    check_class_weight(self)
    return name
end

-- Fields set by every fit.
local function set_fitted(self, Xm, names, enc, coef, icpt, info)
    self.classes = enc.classes
    self._strings = enc.strings
    self.coef = coef
    self.intercept = icpt
    self.n_iter = info.n_iter
    self.n_features_in = Xm:size(2)
    self.feature_names_in = names
    self._fitted = true
end

-- Methods shared by the classifiers.
local function add_methods(cls)
    function cls:decision_function(X)
        local Xm = predict_input(self, X, "decision_function")
        local S = core._cls_predict(Xm, self.coef, self.intercept, "decision")
        if S:size(2) == 1 then return S:view(-1) end
        return S
    end
    function cls:predict(X)
        local Xm = predict_input(self, X, "predict")
        return labels_of(self, core._cls_predict(Xm, self.coef, self.intercept, "index"))
    end
    function cls:score(X, y)
        local Xm = predict_input(self, X, "score")
        local pred = labels_of(self, core._cls_predict(Xm, self.coef, self.intercept, "index"))
        return accuracy(self, pred, y, Xm:size(1))
    end
end

---------------------------------------------------------------- LogisticRegression
local LR = class("LogisticRegression",
                 {"C", "penalty", "class_weight", "max_iter", "tol", "fit_intercept"},
                 {C = 1.0, penalty = "l2", max_iter = 100, tol = 1e-4, fit_intercept = true})

function LR:_check(name)
    check_common(self, name)
    if self.penalty ~= "l2" and self.penalty ~= "none" then
        opt_error(self, "penalty must be \"l2\" or \"none\", got " .. tostring(self.penalty))
    end
end

--- fit(X, y) → self: L-BFGS on C·Σ w_i loss_i + ½‖W‖² (binary: logistic;
-- more classes: multinomial). Warns when max_iter is reached.
function LR:fit(X, y)
    local Xm, names = as_matrix(X, self, "fit")
    local enc = encode_y(self, y, Xm:size(1), "fit")
    check_two_classes(self, enc)
    local sw = sample_weights(self, enc)
    local coef, icpt, info = core._cls_logreg_fit(Xm, enc.codes, enc.K, sw, {
        C = self.C, penalize = self.penalty == "l2", fit_intercept = self.fit_intercept,
        max_iter = self.max_iter, tol = self.tol})
    if not info.converged then
        mf.warn("LogisticRegression: lbfgs did not converge in %d iterations (max |gradient| %.3g > "
                .. "tol %g): increase max_iter or scale the data", info.n_iter, info.grad_max, self.tol)
    end
    set_fitted(self, Xm, names, enc, coef, icpt, info)
    return self
end

add_methods(LR)

--- predict_proba(X) → [n x K] float64, columns in `classes` order.
function LR:predict_proba(X)
    local Xm = predict_input(self, X, "predict_proba")
    return core._cls_predict(Xm, self.coef, self.intercept, "proba")
end

--- predict_log_proba(X) → log of predict_proba.
function LR:predict_log_proba(X)
    return self:predict_proba(X):log()
end

---------------------------------------------------------------- LinearSVC
local SVC = class("LinearSVC",
                  {"C", "loss", "class_weight", "max_iter", "tol", "dual", "fit_intercept"},
                  {C = 1.0, loss = "squared_hinge", max_iter = 1000, tol = 1e-4, dual = "auto",
                   fit_intercept = true})

function SVC:_check(name)
    check_common(self, name)
    if self.loss ~= "hinge" and self.loss ~= "squared_hinge" then
        opt_error(self, "loss must be \"hinge\" or \"squared_hinge\", got " .. tostring(self.loss))
    end
    if self.dual ~= "auto" and type(self.dual) ~= "boolean" then
        opt_error(self, "dual must be \"auto\", true or false, got " .. tostring(self.dual))
    end
    if self.dual == false and self.loss == "hinge" then
        opt_error(self, "loss \"hinge\" needs dual = true (or \"auto\")")
    end
end

--- fit(X, y) → self. dual: liblinear's dual coordinate descent; primal
-- (squared hinge only): L-BFGS. "auto" picks the primal when rows > columns
-- (as scikit-learn). The intercept is penalized like a weight (liblinear).
function SVC:fit(X, y)
    local Xm, names = as_matrix(X, self, "fit")
    local enc = encode_y(self, y, Xm:size(1), "fit")
    check_two_classes(self, enc)
    local sw = sample_weights(self, enc)
    local dual = self.dual
    if dual == "auto" then
        dual = self.loss == "hinge" or Xm:size(1) < Xm:size(2)
    end
    local coef, icpt, info = core._cls_svc_fit(Xm, enc.codes, enc.K, sw, {
        C = self.C, fit_intercept = self.fit_intercept, max_iter = self.max_iter, tol = self.tol},
        self.loss == "squared_hinge", dual)
    if not info.converged then
        mf.warn("LinearSVC: %s solver did not converge in %d iterations: increase max_iter or "
                .. "scale the data", dual and "dual" or "primal", info.n_iter)
    end
    set_fitted(self, Xm, names, enc, coef, icpt, info)
    self._dual = dual
    return self
end

add_methods(SVC)

---------------------------------------------------------------- SGDClassifier
local SGD_LOSS = {hinge = 0, log_loss = 1, modified_huber = 2}
local SGD_RATE = {optimal = 0, constant = 1, invscaling = 2, adaptive = 3}
local SGD_L1_RATIO = {l2 = 0, l1 = 1} -- elasticnet: the l1_ratio option

local SGD = class("SGDClassifier",
                  {"loss", "penalty", "alpha", "l1_ratio", "max_iter", "tol", "seed", "learning_rate",
                   "eta0", "power_t", "fit_intercept", "shuffle", "n_iter_no_change", "class_weight",
                   "early_stopping", "validation_fraction"},
                  {loss = "hinge", penalty = "l2", alpha = 1e-4, l1_ratio = 0.15, max_iter = 1000, tol = 1e-3,
                   seed = 0, learning_rate = "optimal", eta0 = 0.0, power_t = 0.5, fit_intercept = true,
                   shuffle = true, n_iter_no_change = 5, early_stopping = false, validation_fraction = 0.1})

local function finite(v) return type(v) == "number" and v == v and v > -math.huge and v < math.huge end

function SGD:_check(name)
    check_common(self, name, true)
    if not SGD_LOSS[self.loss] then
        opt_error(self, "loss must be \"hinge\", \"log_loss\" or \"modified_huber\", got "
                  .. tostring(self.loss))
    end
    local p = self.penalty
    if p ~= "l2" and p ~= "l1" and p ~= "elasticnet" and p ~= "none" then
        opt_error(self, "penalty must be \"l2\", \"l1\", \"elasticnet\" or \"none\", got " .. tostring(p))
    end
    if not finite(self.l1_ratio) or self.l1_ratio < 0 or self.l1_ratio > 1 then
        opt_error(self, "l1_ratio must be a number in [0, 1], got " .. tostring(self.l1_ratio))
    end
    if not SGD_RATE[self.learning_rate] then
        opt_error(self, "learning_rate must be \"optimal\", \"constant\", \"invscaling\" or \"adaptive\", got "
                  .. tostring(self.learning_rate))
    end
    local optimal = self.learning_rate == "optimal"
    if not finite(self.alpha) or self.alpha < 0 or (optimal and self.alpha == 0) then
        opt_error(self, ("alpha must be a finite number %s, got %s")
                  :format(optimal and "> 0 (with learning_rate = \"optimal\")" or ">= 0", tostring(self.alpha)))
    end
    if not finite(self.eta0) or self.eta0 < 0 or (not optimal and self.eta0 == 0) then
        opt_error(self, ("eta0 must be a finite number %s, got %s")
                  :format(optimal and ">= 0" or ("> 0 with learning_rate = \"" .. self.learning_rate .. "\""),
                          tostring(self.eta0)))
    end
    if not finite(self.power_t) then
        opt_error(self, "power_t must be a finite number, got " .. tostring(self.power_t))
    end
    if math.type(self.seed) ~= "integer" or self.seed < 0 then
        opt_error(self, "seed must be an integer >= 0, got " .. tostring(self.seed))
    end
    if type(self.shuffle) ~= "boolean" then
        opt_error(self, "shuffle must be a boolean, got " .. type(self.shuffle))
    end
    if math.type(self.n_iter_no_change) ~= "integer" or self.n_iter_no_change < 1 then
        opt_error(self, "n_iter_no_change must be an integer >= 1, got " .. tostring(self.n_iter_no_change))
    end
    if type(self.early_stopping) ~= "boolean" then
        opt_error(self, "early_stopping must be a boolean, got " .. type(self.early_stopping))
    end
    local vf = self.validation_fraction
    if type(vf) ~= "number" or not (vf > 0 and vf < 1) then
        opt_error(self, "validation_fraction must be a number in (0, 1), got " .. tostring(vf))
    end
end

-- early_stopping: the rows held out (bool [n]), a stratified split of
-- validation_fraction of them drawn from seed (scikit-learn's
-- StratifiedShuffleSplit; it stratifies each one-vs-rest problem on its own
-- binary labels, we on the classes).
local function validation_mask(self, enc, n)
    local ok, res, te = pcall(function()
        local cv = mf.model_selection.StratifiedShuffleSplit{n_splits = 1, test_size = self.validation_fraction,
                                                            seed = self.seed}
        return cv:split(enc.codes, enc.codes)()
    end)
    if not ok then
        local msg = tostring(res):gsub("^.-:%d+: ", ""):gsub("^bad argument #%d+ to 'split' %((.*)%)$", "%1")
        argerror(2, fname(self, "fit"), ("early_stopping: cannot hold out validation_fraction = %s of %d rows: %s")
                 :format(tostring(self.validation_fraction), n, msg), 4)
    end
    return mf.zeros(n, "int64"):scatter_add_(1, te, mf.ones(te:size(1), "int64")):gt(0)
end

--- fit(X, y) → self: epochs of plain SGD (one-vs-rest) with scikit-learn's
-- learning-rate schedules and penalties (L1 and elastic net by its
-- cumulative L1 penalty, which gives exact zeros); deterministic for a seed.
-- tol = false runs all max_iter epochs (scikit-learn's tol=None).
-- early_stopping holds out validation_fraction of the rows and stops when
-- their accuracy stalls (the coefficients are the last epoch's, as
-- scikit-learn).
function SGD:fit(X, y)
    local Xm, names = as_matrix(X, self, "fit")
    local enc = encode_y(self, y, Xm:size(1), "fit")
    check_two_classes(self, enc)
    local sw = sample_weights(self, enc)
    local val = self.early_stopping and validation_mask(self, enc, Xm:size(1)) or nil
    local coef, icpt, info = core._cls_sgd_fit(Xm, enc.codes, enc.K, sw, {
        validation = val,
        loss = SGD_LOSS[self.loss], alpha = self.alpha, penalize = self.penalty ~= "none",
        l1_ratio = SGD_L1_RATIO[self.penalty] or self.l1_ratio,
        learning_rate = SGD_RATE[self.learning_rate], eta0 = self.eta0, power_t = self.power_t,
        fit_intercept = self.fit_intercept, max_iter = self.max_iter, tol = self.tol or -1,
        n_iter_no_change = self.n_iter_no_change, shuffle = self.shuffle, seed = self.seed})
    if not info.converged then
        mf.warn("SGDClassifier: did not converge in %d epochs: increase max_iter", info.n_iter)
    end
    set_fitted(self, Xm, names, enc, coef, icpt, info)
    return self
end

add_methods(SGD)

--- predict_proba(X) (loss "log_loss" only): the sigmoid of the decision
-- (two classes) or, one-vs-rest, the sigmoids normalized to sum 1.
function SGD:predict_proba(X)
    if self.loss ~= "log_loss" then
        error(("SGDClassifier:predict_proba: probabilities need loss = \"log_loss\" (loss is \"%s\")")
              :format(self.loss), 2)
    end
    local Xm = predict_input(self, X, "predict_proba")
    return core._cls_predict(Xm, self.coef, self.intercept, "proba_ovr")
end

end
