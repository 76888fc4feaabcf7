-- moonforge.models_keras: part of mf.models (see models.lua).
--
-- KerasClassifier{build = function() return model end, epochs, batch_size,
-- verbose, ...} and KerasRegressor{...}: an nn model (compiled inside
-- `build`) in the scikit-learn estimator shape, so that MLPs join pipelines,
-- cross-validation and grid searches. Each fit calls build() for a fresh
-- model (clones and cross-validation folds never share weights), then
-- model:fit(X, y, {the fit options}); the trained model is `est.model`, its
-- history `est.history`.
local mf = require "moonforge"
local E = require "moonforge.estimator"

-- model:fit options that are also estimator parameters.
local FIT = {"epochs", "batch_size", "verbose", "shuffle", "seed", "validation_split",
             "class_weight", "callbacks", "on_nan"}

return function(M)
    local Base = E.base()
    local allowed = {"build"}
    for _, k in ipairs(FIT) do allowed[#allowed + 1] = k end

    local function check(self)
        if type(self.build) ~= "function" then
            E.opt_error(self, "option 'build' must be a function returning a compiled model, got "
                        .. E.typename(self.build))
        end
        for _, k in ipairs({"epochs", "batch_size"}) do
            local v = self[k]
            if v ~= nil and (math.type(v) ~= "integer" or v < 1) then
                E.opt_error(self, ("option '%s' must be an integer >= 1, got %s"):format(k, tostring(v)))
            end
        end
    end

    local function as_x(X)
        if E.is_table(X) then return X:to_tensor() end
        return X
    end

    local function as_y(y)
        if E.is_table(y) then
            local cols = y:columns()
            if #cols == 1 then return y:column(cols[1]) end
            return y:to_tensor()
        end
        return y
    end

    local function fit(self, X, y, classifier)
        local fn = E.fname(self, "fit")
        local model = self.build()
        if type(model) ~= "table" or type(model.fit) ~= "function" then
            error(("%s: build must return an nn model, got %s"):format(fn, E.typename(model)), 3)
        end
        if not rawget(model, "_compiled") then
            error(("%s: the model from build is not compiled (call model:compile{...} in build)"):format(fn), 3)
        end
        local opts = {verbose = 0}
        for _, k in ipairs(FIT) do
            if self[k] ~= nil then opts[k] = self[k] end
        end
        X, y = as_x(X), as_y(y)
        self.history = model:fit(X, y, opts)
        if classifier then
            local classes = rawget(model, "classes")
            if not classes then
                error(("%s: the model from build has no classification loss (use KerasRegressor)"):format(fn), 3)
            end
            self.classes = classes
        end
        self.model = model
        self.n_features_in = mf.is_tensor(X) and X:dim() == 2 and X:size(2) or nil
        self._fitted = true
        return self
    end

    ---------------------------------------------------------------- classifier
    local KerasClassifier = E.class(M, "moonforge.models", Base, "KerasClassifier", allowed,
                                    {epochs = 1, verbose = 0}, "classifier")
    KerasClassifier._check = check

    --- clf:fit(X, y) → clf: a fresh model from build(), trained on X, y.
    function KerasClassifier:fit(X, y) return fit(self, X, y, true) end

    --- clf:predict(X) → the labels (the values of y: a tensor, or a Lua
    -- array for string labels).
    function KerasClassifier:predict(X)
        E.check_fitted(self, "predict")
        return self.model:predict_classes(as_x(X))
    end

    --- clf:predict_proba(X) → [N x classes] probabilities (columns in the
    -- order of clf.classes; a sigmoid head gives {1 - p, p}).
    function KerasClassifier:predict_proba(X)
        E.check_fitted(self, "predict_proba")
        local out = self.model:predict(as_x(X))
        local c = rawget(self.model, "_compiled")
        local logits = c and c.out_kind == "logit"
        if out:dim() == 1 or (out:dim() == 2 and out:size(2) == 1) then
            local p = out:reshape(-1, 1)
            if logits then p = p:sigmoid() end
            return mf.cat({1 - p, p}, 2)
        end
        if logits then return mf.nn.functional.softmax(out, 2) end
        return out
    end

    --- clf:score(X, y) → the accuracy of predict(X) against y.
    function KerasClassifier:score(X, y)
        local pred = self:predict(X)
        y = as_y(y)
        if mf.is_tensor(pred) then
            if not mf.is_tensor(y) then y = mf.tensor(y, pred:dtype()) end
            return pred:eq(y:reshape(-1):to(pred:dtype())):to("float64"):mean():item()
        end
        local right = 0
        for i = 1, #pred do if pred[i] == y[i] then right = right + 1 end end
        return right / #pred
    end

    ---------------------------------------------------------------- regressor
    local KerasRegressor = E.class(M, "moonforge.models", Base, "KerasRegressor", allowed,
                                   {epochs = 1, verbose = 0}, "regressor")
    KerasRegressor._check = check

    function KerasRegressor:fit(X, y) return fit(self, X, y, false) end

    --- reg:predict(X) → the outputs ([N] for a single output).
    function KerasRegressor:predict(X)
        E.check_fitted(self, "predict")
        local out = self.model:predict(as_x(X))
        if out:dim() == 2 and out:size(2) == 1 then out = out:reshape(-1) end
        return out
    end

    --- reg:score(X, y) → R² (averaged over outputs, as scikit-learn's
    -- uniform_average).
    function KerasRegressor:score(X, y)
        local p = self:predict(X):to("float64")
        y = as_y(y)
        if not mf.is_tensor(y) then y = mf.tensor(y, "float64") end
        y = y:to("float64"):reshape(table.unpack(p:shape()))
        local d = y - p
        if y:dim() == 1 then
            local c = y - y:mean():item()
            return 1 - (d * d):sum():item() / (c * c):sum():item()
        end
        local c = y - y:mean(1, true)
        local r = 1 - (d * d):sum(1) / (c * c):sum(1)
        return r:mean():item()
    end
end
