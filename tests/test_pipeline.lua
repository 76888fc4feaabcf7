-- mf.Pipeline and the shared estimator base (get_params, set_params,
-- clone): against the steps applied by hand, with a spy transformer that
-- records the rows each fit sees (no test rows may leak into a fit).
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local support = require "support"
local assert_error = support.assert_error
local mf = require "moonforge"
local E = require "moonforge.estimator"
local P = mf.preprocess
local MS = mf.model_selection

---------------------------------------------------------------- tiny estimators
local T = {}
local Base = E.base()

-- Identity transformer recording the first column of each X it is fitted on.
local Spy = E.class(T, "tests", Base, "Spy", {"log"}, {}, "transformer")
function Spy:fit(X)
    if self.log then self.log[#self.log + 1] = X:select(2, 1):totable() end
    self._fitted = true
    return self
end
function Spy:transform(X)
    E.check_fitted(self, "transform")
    return X
end

-- Predicts the training mean of y; score is R².
local MeanRegressor = E.class(T, "tests", Base, "MeanRegressor", {}, {}, "regressor")
function MeanRegressor:fit(_, y)
    self.mean = y:to("float64"):mean():item()
    self._fitted = true
    return self
end
function MeanRegressor:predict(X) return mf.full({X:size(1)}, self.mean, "float64") end
function MeanRegressor:score(X, y)
    local d, c = y - self:predict(X), y - y:mean():item()
    return 1 - (d * d):sum():item() / (c * c):sum():item()
end

-- 1 where the first column is above threshold; probabilities 0/1.
local Thresh = E.class(T, "tests", Base, "Thresh", {"threshold"}, {threshold = 0}, "classifier")
function Thresh:fit() self._fitted = true return self end
function Thresh:predict(X) return X:select(2, 1):gt(self.threshold):to("int64") end
function Thresh:predict_proba(X)
    local p = X:select(2, 1):gt(self.threshold):to("float64"):view(-1, 1)
    return mf.cat({1 - p, p}, 2)
end
function Thresh:score(X, y) return self:predict(X):eq(y):to("float64"):mean():item() end

local function new_log() return setmetatable({}, {}) end

local function data()
    local rows = {}
    for i = 1, 12 do rows[i] = {i, (i * 7) % 5 + 0.5 * i, (i % 3) - 1} end
    return mf.tensor(rows, "float64")
end

---------------------------------------------------------------- Pipeline
TestPipeline = {}

function TestPipeline:test_names_and_steps()
    local sc, mm = P.StandardScaler(), P.MinMaxScaler()
    local p = mf.Pipeline{sc, mm}
    lu.assertEquals(p.steps[1][1], "standardscaler")
    lu.assertIs(p.steps[1][2], sc)
    lu.assertEquals(p.steps[2][1], "minmaxscaler")
    lu.assertIs(p.named_steps.minmaxscaler, mm)
    lu.assertEquals(tostring(p), "Pipeline(standardscaler, minmaxscaler) (not fitted)")
    local q = mf.Pipeline{P.StandardScaler(), P.StandardScaler(), T.MeanRegressor()}
    lu.assertEquals({q.steps[1][1], q.steps[2][1], q.steps[3][1]},
                    {"standardscaler-1", "standardscaler-2", "meanregressor"})
    local r = mf.Pipeline{{"scale", sc}, {"model", T.MeanRegressor()}}
    lu.assertIs(r.named_steps.scale, sc)
    lu.assertEquals(r.steps[2][1], "model")
end

function TestPipeline:test_transform_and_predict_match_the_steps_by_hand()
    local X = data()
    local p = mf.Pipeline{P.StandardScaler(), P.MinMaxScaler()}
    local Z = p:fit_transform(X)
    local a = P.StandardScaler():fit(X)
    local b = P.MinMaxScaler():fit(a:transform(X))
    lu.assertTrue(mf.allclose(Z, b:transform(a:transform(X)), {rtol = 0, atol = 1e-14}))
    local p2 = mf.Pipeline{P.StandardScaler(), P.MinMaxScaler()}
    lu.assertIs(p2:fit(X), p2)
    lu.assertTrue(mf.allclose(p2:transform(X), Z, {rtol = 0, atol = 1e-14}))
    lu.assertTrue(mf.allclose(p2:inverse_transform(Z), X, {atol = 1e-12}))
    -- a classifier at the end sees the scaled X
    local c = mf.Pipeline{P.StandardScaler(), T.Thresh{threshold = 0.5}}:fit(X, mf.zeros(12, "int64"))
    local S = a:transform(X)
    lu.assertTrue(mf.equal(c:predict(X), S:select(2, 1):gt(0.5):to("int64")))
    lu.assertTrue(mf.equal(c:predict_proba(X):select(2, 2), S:select(2, 1):gt(0.5):to("float64")))
    local y = S:select(2, 1):gt(0.5):to("int64")
    lu.assertEquals(c:score(X, y), 1)
    lu.assertEquals(tostring(c), "Pipeline(standardscaler, thresh) (fitted)")
end

function TestPipeline:test_methods_follow_the_last_step()
    local reg = mf.Pipeline{P.StandardScaler(), T.MeanRegressor()}
    lu.assertNil(reg.predict_proba)
    lu.assertNil(reg.transform)
    lu.assertNotNil(reg.predict)
    lu.assertEquals(E.estimator_type(reg), "regressor")
    local clf = mf.Pipeline{P.StandardScaler(), T.Thresh()}
    lu.assertNotNil(clf.predict_proba)
    lu.assertEquals(E.estimator_type(clf), "classifier")
    local tr = mf.Pipeline{P.StandardScaler()}
    lu.assertNil(tr.predict)
    lu.assertNotNil(tr.transform)
    lu.assertEquals(E.estimator_type(tr), "transformer")
end

function TestPipeline:test_cross_validation_fits_transformers_on_train_rows_only()
    local log = new_log()
    local y = mf.arange(1, 10, "float64")
    local X = y:view(-1, 1)
    local p = mf.Pipeline{T.Spy{log = log}, T.MeanRegressor()}
    local s = MS.cross_val_score(p, X, y, {cv = 3})
    lu.assertEquals(log, {{4, 5, 6, 7, 8, 9}, {1, 2, 3, 7, 8, 9}, {1, 2, 3, 4, 5, 6}})
    -- same scores as the bare regressor (the spy is the identity)
    lu.assertTrue(mf.equal(s, MS.cross_val_score(T.MeanRegressor(), X, y, {cv = 3})))
    lu.assertFalse(rawget(p, "_fitted"))
    -- the scaler inside a fold is fitted on the training rows: compare with by hand
    local q = mf.Pipeline{P.StandardScaler(), T.Thresh{threshold = 0}}
    local yc = mf.tensor({0, 0, 0, 1, 1, 1, 0, 1, 0, 1}, "int64")
    local Xc = mf.tensor({1, 2, 3, 10, 11, 12, 4, 13, 2, 9}, "float64"):view(-1, 1)
    local scores = MS.cross_val_score(q, Xc, yc, {cv = 2})
    local i = 0
    for tr, te in MS.StratifiedKFold{n_splits = 2}:split(Xc, yc) do
        i = i + 1
        local xtr = Xc:index(1, tr):totable()
        local m, v = 0, 0
        for _, r in ipairs(xtr) do m = m + r[1] end
        m = m / #xtr
        for _, r in ipairs(xtr) do v = v + (r[1] - m) ^ 2 end
        local sd = math.sqrt(v / #xtr)
        local right, xte, yte = 0, Xc:index(1, te):totable(), yc:index(1, te):totable()
        for j = 1, #xte do
            if (((xte[j][1] - m) / sd > 0) and 1 or 0) == yte[j] then right = right + 1 end
        end
        lu.assertAlmostEquals(scores[i], right / #xte, 1e-12)
    end
end

function TestPipeline:test_passthrough()
    local X = data()
    local p = mf.Pipeline{"passthrough", P.MinMaxScaler()}
    lu.assertEquals(p.steps[1][1], "passthrough")
    lu.assertTrue(mf.equal(p:fit_transform(X), P.MinMaxScaler():fit_transform(X)))
    local q = mf.Pipeline{{"scale", P.StandardScaler()}, {"last", "passthrough"}}
    lu.assertNil(q.predict)
    lu.assertEquals(E.estimator_type(q), "transformer")
    q:fit(X)
    lu.assertTrue(mf.allclose(q:transform(X), P.StandardScaler():fit_transform(X), {rtol = 0, atol = 1e-14}))
    lu.assertTrue(mf.allclose(q:inverse_transform(q:transform(X)), X, {atol = 1e-12}))
    lu.assertEquals(E.clone(q).steps[2][2], "passthrough")
    -- a grid over a step: with and without scaling
    local Xg = mf.cat({mf.arange(1, 11, "float64"), mf.arange(31, 41, "float64")}):view(-1, 1)
    local y = Xg:select(2, 1):gt(20):to("int64")
    local gs = MS.GridSearchCV{estimator = mf.Pipeline{{"scale", P.MinMaxScaler()}, {"clf", T.Thresh{threshold = 0.5}}},
                               param_grid = {scale = {"passthrough", P.MinMaxScaler()}}, cv = 4}
    gs:fit(Xg, y)
    -- unscaled, every X is above 0.5: half right; scaled, all right
    lu.assertEquals(gs.cv_results.mean_test_score:totable(), {0.5, 1})
    lu.assertEquals(gs.best_index, 2)
    lu.assertNotIs(gs.best_estimator.named_steps.scale, gs.cv_results.params[2].scale)
    lu.assertTrue(gs.best_estimator.named_steps.scale._fitted)
end

function TestPipeline:test_tables_in_cross_validation()
    local X = data()
    local tbl = mf.data.from_tensor(X, {names = {"a", "b", "c"}})
    local y = X:select(2, 2):contiguous()
    local a = MS.cross_val_score(mf.Pipeline{P.StandardScaler(), T.MeanRegressor()}, tbl, y, {cv = 3})
    local b = MS.cross_val_score(mf.Pipeline{P.StandardScaler(), T.MeanRegressor()}, X, y, {cv = 3})
    lu.assertTrue(mf.equal(a, b))
    lu.assertEquals(a:size(1), 3)
end

function TestPipeline:test_params()
    local p = mf.Pipeline{P.StandardScaler{with_std = false}, T.Thresh{threshold = 2}}
    local gp = p:get_params()
    lu.assertIs(gp.steps, p.steps)
    lu.assertIs(gp.standardscaler, p.named_steps.standardscaler)
    lu.assertEquals(gp.standardscaler__with_mean, true)
    lu.assertEquals(gp.standardscaler__with_std, false)
    lu.assertEquals(gp.thresh__threshold, 2)
    local shallow = p:get_params{deep = false}
    lu.assertNil(shallow.thresh__threshold)
    lu.assertIs(p:set_params{thresh__threshold = 5, standardscaler__with_mean = false}, p)
    lu.assertEquals(p.named_steps.thresh.threshold, 5)
    lu.assertFalse(p.named_steps.standardscaler.with_mean)
    -- replacing a step
    local mm = P.MinMaxScaler()
    p:set_params{standardscaler = mm}
    lu.assertIs(p.steps[1][2], mm)
    lu.assertIs(p.named_steps.standardscaler, mm)
    -- grid search over a pipeline parameter
    local X = mf.cat({mf.arange(1, 11, "float64"), mf.arange(31, 41, "float64")}):view(-1, 1)
    local y = X:select(2, 1):gt(20):to("int64")
    local gs = MS.GridSearchCV{estimator = mf.Pipeline{{"scale", P.MinMaxScaler()}, {"clf", T.Thresh()}},
                               param_grid = {clf__threshold = {0.1, 0.5, 0.9}}, cv = 4}
    gs:fit(X, y)
    -- scaled, the classes are below 0.25 and above 0.75 in every fold
    lu.assertEquals(gs.best_params, {clf__threshold = 0.5})
    lu.assertEquals(gs.best_score, 1)
    lu.assertTrue(gs.cv_results.mean_test_score[1] < 1)
    lu.assertTrue(gs.cv_results.mean_test_score[3] < 1)
    lu.assertEquals(gs.best_estimator.named_steps.clf.threshold, 0.5)
    lu.assertEquals(gs.estimator.named_steps.clf.threshold, 0) -- the given pipeline is untouched
    lu.assertEquals(gs:score(X, y), 1)
end

function TestPipeline:test_clone_is_independent_and_unfitted()
    local p = mf.Pipeline{{"s", P.StandardScaler{with_mean = false}}, {"m", T.MeanRegressor()}}
    local X = data()
    p:fit(X, X:select(2, 2))
    local c = E.clone(p)
    lu.assertFalse(rawget(c, "_fitted"))
    lu.assertNotIs(c.named_steps.s, p.named_steps.s)
    lu.assertFalse(c.named_steps.s._fitted)
    lu.assertFalse(c.named_steps.s.with_mean)
    lu.assertEquals(c.steps[1][1], "s")
    assert_error(function() c:predict(X) end, "Pipeline:predict called before fit")
end

function TestPipeline:test_errors()
    assert_error(function() mf.Pipeline{T.MeanRegressor(), P.StandardScaler()} end,
                 "bad argument #1 to 'Pipeline'", "step 1 ('meanregressor', MeanRegressor) is not the last step")
    assert_error(function() mf.Pipeline{P.StandardScaler(), 3} end, "step 2 ('step') must be an estimator with fit")
    assert_error(function() mf.Pipeline{{"a", P.StandardScaler()}, {"a", T.MeanRegressor()}} end,
                 "step name 'a' is used twice")
    assert_error(function() mf.Pipeline{{"a__b", T.MeanRegressor()}} end, "must not contain '__'")
    assert_error(function() mf.Pipeline{} end, "at least one step")
    assert_error(function() mf.Pipeline{T.MeanRegressor(), memory = true} end, "unknown option 'memory'")
    assert_error(function() mf.Pipeline(3) end, "list of steps expected")
    local p = mf.Pipeline{P.StandardScaler(), T.MeanRegressor()}
    assert_error(function() p:set_params{scaler__with_mean = false} end,
                 "bad argument #1 to 'Pipeline:set_params'",
                 "unknown parameter 'scaler' (parameters: steps, standardscaler, meanregressor)")
    assert_error(function() p:set_params{standardscaler__centre = false} end,
                 "bad argument #1 to 'StandardScaler:set_params'", "unknown parameter 'centre'")
    assert_error(function() p:set_params{standardscaler = T.MeanRegressor()} end, "is not the last step")
    lu.assertEquals(p.steps[1][1], "standardscaler")
    lu.assertNotNil(p.named_steps.standardscaler.transform) -- unchanged after the failed call
    assert_error(function() p:predict(data()) end, "Pipeline:predict called before fit")
    assert_error(function() p:get_params{shallow = true} end, "unknown option 'shallow'")
end

---------------------------------------------------------------- the estimator base
TestParams = {}

function TestParams:test_get_set_params()
    local sc = P.StandardScaler{with_mean = false}
    lu.assertEquals(sc:get_params(), {with_mean = false, with_std = true})
    lu.assertIs(sc:set_params{with_std = false}, sc)
    lu.assertFalse(sc.with_std)
    assert_error(function() sc:set_params{with_meen = true} end,
                 "bad argument #1 to 'StandardScaler:set_params'",
                 "unknown parameter 'with_meen' (parameters: with_mean, with_std)")
    assert_error(function() sc:set_params{with_mean = true, with_std = 1} end,
                 "bad argument #1 to 'StandardScaler:set_params'", "option 'with_std' must be a boolean")
    lu.assertFalse(sc.with_mean) -- nothing changed by the failed call
    lu.assertFalse(sc.with_std)
    assert_error(function() sc:set_params(3) end, "parameter table expected")
    assert_error(function() sc:set_params{with_mean__x = 1} end, "parameter 'with_mean' does not hold an estimator")
end

function TestParams:test_clone()
    local mm = P.MinMaxScaler{feature_range = {-1, 1}}
    mm:fit(data())
    local c = E.clone(mm)
    lu.assertFalse(c._fitted)
    lu.assertNil(rawget(c, "data_min"))
    lu.assertEquals(c.feature_range, {-1, 1})
    lu.assertNotIs(c.feature_range, mm.feature_range)
    lu.assertEquals(getmetatable(c), getmetatable(mm))
    assert_error(function() E.clone(3) end, "bad argument #1 to 'clone'", "estimator expected")
end

function TestParams:test_estimator_type()
    lu.assertEquals(E.estimator_type(T.Thresh()), "classifier")
    lu.assertEquals(E.estimator_type(T.MeanRegressor()), "regressor")
    lu.assertEquals(E.estimator_type(P.StandardScaler()), "transformer")
    local ok = pcall(E.class, T, "tests", Base, "Bad", {}, {}, "clusterer")
    lu.assertFalse(ok)
end

---------------------------------------------------------------- Keras wrappers
TestKeras = {}

local nn = mf.nn

local function sigmoid_builder(counter)
    return function()
        counter.n = counter.n + 1
        local m = nn.Sequential{nn.Dense(8, {activation = "relu"}), nn.Dense(1, {activation = "sigmoid"})}
        m:compile{optimizer = "adam", loss = "binary_crossentropy"}
        return m
    end
end

function TestKeras:test_classifier()
    mf.manual_seed(1)
    local X = mf.randn(120, 3)
    local y = X:select(2, 1):gt(0):long() * 3 + 2 -- labels 2 and 5
    local count = {n = 0}
    local clf = mf.models.KerasClassifier{build = sigmoid_builder(count), epochs = 40, batch_size = 16}
    lu.assertIs(clf:fit(X, y), clf)
    lu.assertEquals(count.n, 1)
    lu.assertEquals(clf.classes, {2, 5})
    local pred = clf:predict(X)
    lu.assertTrue(mf.equal(pred, clf.model:predict_classes(X)))
    local right = 0
    local pt, yt = pred:totable(), y:totable()
    for i = 1, #pt do
        lu.assertTrue(pt[i] == 2 or pt[i] == 5)
        if pt[i] == yt[i] then right = right + 1 end
    end
    lu.assertAlmostEquals(clf:score(X, y), right / #pt, 1e-12)
    lu.assertTrue(clf:score(X, y) > 0.9)
    local proba = clf:predict_proba(X)
    lu.assertEquals(proba:shape(), {120, 2})
    lu.assertTrue(mf.allclose(proba:sum(2), mf.ones(120, proba:dtype())))
    lu.assertTrue(mf.allclose(proba:select(2, 2), clf.model:predict(X):reshape(-1)))
    -- the estimator shape: clones, folds and pipelines each build a fresh model
    local first = clf.model
    local scores = MS.cross_val_score(mf.Pipeline{P.StandardScaler(), clf}, X, y, {cv = 3})
    lu.assertEquals(count.n, 4)
    lu.assertEquals(scores:size(1), 3)
    lu.assertIs(clf.model, first)
    clf:fit(X, y)
    lu.assertNotIs(clf.model, first)
    lu.assertEquals(clf:get_params().epochs, 40)
    lu.assertEquals(E.estimator_type(clf), "classifier")
end

function TestKeras:test_string_labels_and_tables()
    mf.manual_seed(3)
    local X = mf.randn(60, 2)
    local y = {}
    for i, v in ipairs(X:select(2, 1):totable()) do y[i] = v > 0 and "bad" or "ok" end
    local clf = mf.models.KerasClassifier{build = function()
        local m = nn.Sequential{nn.Dense(2, {activation = "softmax"})}
        m:compile{optimizer = "adam", loss = "sparse_categorical_crossentropy"}
        return m
    end, epochs = 5}
    local tbl = mf.data.from_tensor(X, {names = {"a", "b"}})
    clf:fit(tbl, y)
    lu.assertEquals(clf.classes, {"bad", "ok"})
    local pred = clf:predict(tbl)
    lu.assertEquals(type(pred), "table")
    local right = 0
    for i = 1, #y do
        lu.assertTrue(pred[i] == "bad" or pred[i] == "ok")
        if pred[i] == y[i] then right = right + 1 end
    end
    lu.assertAlmostEquals(clf:score(X, y), right / #y, 1e-12)
    lu.assertEquals(MS.cross_val_score(clf, tbl, y, {cv = 3}):size(1), 3)
end

function TestKeras:test_regressor()
    mf.manual_seed(2)
    local X = mf.randn(100, 2, "float64")
    local y = X:select(2, 1) * 2 - X:select(2, 2) + 1
    local reg = mf.models.KerasRegressor{build = function()
        local m = nn.Sequential{nn.Dense(1, {dtype = "float64"})}
        m:compile{optimizer = "adam", loss = "mse"}
        return m
    end, epochs = 5}
    reg:fit(X, y)
    local p = reg:predict(X)
    lu.assertEquals(p:shape(), {100})
    local yt, pt = y:totable(), p:totable()
    local m = 0
    for i = 1, #yt do m = m + yt[i] end
    m = m / #yt
    local res, tot = 0, 0
    for i = 1, #yt do
        res = res + (yt[i] - pt[i]) ^ 2
        tot = tot + (yt[i] - m) ^ 2
    end
    lu.assertAlmostEquals(reg:score(X, y), 1 - res / tot, 1e-9)
    lu.assertEquals(E.estimator_type(reg), "regressor")
end

function TestKeras:test_errors()
    local X, y = mf.randn(10, 2), mf.tensor({0, 1, 0, 1, 0, 1, 0, 1, 0, 1}, "int64")
    assert_error(function() mf.models.KerasClassifier{} end,
                 "bad argument #1 to 'KerasClassifier'", "option 'build' must be a function")
    assert_error(function() mf.models.KerasClassifier{build = print, epochs = 0} end, "option 'epochs'")
    assert_error(function() mf.models.KerasRegressor{build = print, epoch = 3} end, "unknown option 'epoch'")
    assert_error(function() mf.models.KerasClassifier{build = function() return 3 end}:fit(X, y) end,
                 "KerasClassifier:fit: build must return an nn model")
    assert_error(function() mf.models.KerasClassifier{build = function() return nn.Sequential{nn.Dense(1)} end}:fit(X, y) end,
                 "is not compiled")
    assert_error(function()
        mf.models.KerasClassifier{build = function()
            local m = nn.Sequential{nn.Dense(1)}
            m:compile{optimizer = "sgd", loss = "mse"}
            return m
        end}:fit(X, y:to("float32"))
    end, "no classification loss")
    assert_error(function() mf.models.KerasClassifier{build = print}:predict(X) end,
                 "KerasClassifier: predict called before fit")
end

os.exit(lu.LuaUnit.run(), true)
