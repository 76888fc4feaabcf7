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

local is_tensor = mf.is_tensor
local argerror, typename = E.argerror, E.typename
local fname, check_fitted, opt_error = E.fname, E.check_fitted, E.opt_error

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

local function label_str(v)
    if type(v) == "string" then return "'" .. v .. "'" end
    return tostring(v)
end

-- Sample weights from class_weight (nil when all are 1).
local function sample_weights(self, enc)
    local cw = self.class_weight
    if cw == nil then return nil end
    local n = enc.codes:size(1)
    local w
    if cw == "balanced" then
        local counts = core._prep_bincount(enc.codes, enc.K):to("float64")
        w = (counts * enc.K):pow(-1) * n
    else
        local vals = {}
        for k = 1, enc.K do vals[k] = 1.0 end
        local lab = enc.strings and enc.classes or enc.classes:totable()
        local index = {}
        for k, v in ipairs(lab) do index[v] = k end
        for key, v in pairs(cw) do
            local k = index[key]
            if not k and type(key) == "number" then
                for kk, lv in ipairs(lab) do if lv == key then k = kk end end
            end
            if not k then
                argerror(1, self._cls, ("class_weight: label %s is not a class of y (classes: %s)")
                         :format(label_str(key), table.concat(lab, ", ", 1, math.min(#lab, 20))), 4)
            end
            vals[k] = v
        end
        w = mf.tensor(vals, "float64")
    end
    return w:index(1, enc.codes + 1):contiguous()
end

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
    local cw = self.class_weight
    if cw ~= nil and cw ~= "balanced" then
        if type(cw) ~= "table" or is_tensor(cw) then
            opt_error(self, "class_weight must be nil, \"balanced\" or a table {label = weight}, got "
                      .. typename(cw))
        end
        for k, v in pairs(cw) do
            if type(v) ~= "number" or not (v >= 0) or v == math.huge then
                opt_error(self, ("class_weight: weight of %s must be a finite number >= 0")
                          :format(label_str(k)))
            end
        end
    end
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

local SGD = class("SGDClassifier",
                  {"loss", "penalty", "alpha", "max_iter", "tol", "seed", "learning_rate",
                   "fit_intercept", "shuffle", "n_iter_no_change", "class_weight"},
                  {loss = "hinge", penalty = "l2", alpha = 1e-4, max_iter = 1000, tol = 1e-3,
                   seed = 0, learning_rate = "optimal", fit_intercept = true, shuffle = true,
                   n_iter_no_change = 5})

function SGD:_check(name)
    check_common(self, name, true)
    if not SGD_LOSS[self.loss] then
        opt_error(self, "loss must be \"hinge\", \"log_loss\" or \"modified_huber\", got "
                  .. tostring(self.loss))
    end
    if self.penalty ~= "l2" and self.penalty ~= "none" then
        opt_error(self, "penalty must be \"l2\" or \"none\", got " .. tostring(self.penalty))
    end
    if type(self.alpha) ~= "number" or not (self.alpha > 0) or self.alpha == math.huge then
        opt_error(self, "alpha must be a finite number > 0, got " .. tostring(self.alpha))
    end
    if self.learning_rate ~= "optimal" then
        opt_error(self, "learning_rate must be \"optimal\" (the only schedule so far), got "
                  .. tostring(self.learning_rate))
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
end

--- fit(X, y) → self: epochs of plain SGD (one-vs-rest), scikit-learn's
-- "optimal" learning rate; deterministic for a seed. tol = false runs all
-- max_iter epochs (scikit-learn's tol=None).
function SGD:fit(X, y)
    local Xm, names = as_matrix(X, self, "fit")
    local enc = encode_y(self, y, Xm:size(1), "fit")
    check_two_classes(self, enc)
    local sw = sample_weights(self, enc)
    local coef, icpt, info = core._cls_sgd_fit(Xm, enc.codes, enc.K, sw, {
        loss = SGD_LOSS[self.loss], alpha = self.alpha, penalize = self.penalty == "l2",
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
