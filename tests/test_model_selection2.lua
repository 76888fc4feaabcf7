-- mf.model_selection: cross_val_score, cross_validate and GridSearchCV with
-- tiny estimators defined here (a mean regressor, a threshold classifier),
-- whose fold scores are computed by hand or by plain Lua loops over the
-- same folds.
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local support = require "support"
local assert_error = support.assert_error
local mf = require "moonforge"
local E = require "moonforge.estimator"
local MS = mf.model_selection

---------------------------------------------------------------- tiny estimators
local T = {}
local Base = E.base()

-- Predicts the training mean of y (plus `shift`); score is R².
local MeanRegressor = E.class(T, "tests", Base, "MeanRegressor", {"shift", "log"}, {shift = 0}, "regressor")
function MeanRegressor:_check()
    if type(self.shift) ~= "number" then E.opt_error(self, "option 'shift' must be a number") end
end
function MeanRegressor:fit(X, y)
    self.mean = y:to("float64"):mean():item()
    self.n_fit = X:size(1)
    if self.log then self.log[#self.log + 1] = y:totable() end
    self._fitted = true
    return self
end
function MeanRegressor:predict(X)
    E.check_fitted(self, "predict")
    return mf.full({X:size(1)}, self.mean + self.shift, "float64")
end
function MeanRegressor:score(X, y)
    local p = self:predict(X)
    y = y:to("float64")
    local d, c = y - p, y - y:mean():item()
    return 1 - (d * d):sum():item() / (c * c):sum():item()
end

-- Predicts 1 where the first column is above `threshold`, else 0; records
-- the labels it was fitted on in `log` (a table with a metatable, which
-- clone shares instead of copying).
local Thresh = E.class(T, "tests", Base, "Thresh", {"threshold", "log"}, {threshold = 0}, "classifier")
function Thresh:fit(X, y)
    self.n_fit = X:size(1)
    if self.log then self.log[#self.log + 1] = y:totable() end
    self._fitted = true
    return self
end
function Thresh:predict(X)
    E.check_fitted(self, "predict")
    return X:select(2, 1):gt(self.threshold):to("int64")
end
function Thresh:score(X, y)
    return self:predict(X):eq(y):to("float64"):mean():item()
end

local function new_log() return setmetatable({}, {}) end

local function column(values) return mf.tensor(values, "float64"):view(-1, 1) end

local function assert_vector(t, expect, tol)
    local got = mf.is_tensor(t) and t:totable() or t
    lu.assertEquals(#got, #expect)
    for j = 1, #expect do lu.assertAlmostEquals(got[j], expect[j], tol or 1e-12) end
end

---------------------------------------------------------------- cross_val_score
TestCrossValScore = {}

function TestCrossValScore:test_mean_regressor_by_hand()
    -- KFold(3) on y = 1..6: train means 4.5, 3.5, 2.5; R² = 1 - 18.5/0.5, 1 - 0.5/0.5, ...
    local X, y = column({1, 2, 3, 4, 5, 6}), mf.tensor({1, 2, 3, 4, 5, 6}, "float64")
    local scores = MS.cross_val_score(T.MeanRegressor(), X, y, {cv = 3})
    lu.assertEquals(scores:dtype(), "float64")
    assert_vector(scores, {-36, 0, -36})
    -- scoring as a function: minus the mean squared error
    local neg_mse = function(est, Xt, yt)
        local d = est:predict(Xt) - yt
        return -(d * d):mean():item()
    end
    assert_vector(MS.cross_val_score(T.MeanRegressor(), X, y, {cv = 3, scoring = neg_mse}),
                  {-9.25, -0.25, -9.25})
end

function TestCrossValScore:test_each_fold_fits_a_fresh_clone()
    local log = new_log()
    local est = T.MeanRegressor{log = log, shift = 1}
    local y = mf.tensor({1, 2, 3, 4, 5, 6, 7, 8}, "float64")
    MS.cross_val_score(est, column(y:totable()), y, {cv = 4})
    lu.assertFalse(est._fitted)       -- the estimator given is not fitted
    lu.assertEquals(#log, 4)
    lu.assertEquals(log[1], {3, 4, 5, 6, 7, 8})
    lu.assertEquals(log[4], {1, 2, 3, 4, 5, 6})
end

function TestCrossValScore:test_integer_cv_is_stratified_for_classifiers()
    -- sorted labels: plain KFold(2) would train on one class only
    local y = mf.tensor({0, 0, 0, 0, 1, 1, 1, 1}, "int64")
    local X = column({1, 2, 3, 4, 5, 6, 7, 8})
    local log = new_log()
    MS.cross_val_score(T.Thresh{log = log, threshold = 4.5}, X, y, {cv = 2})
    for _, labels in ipairs(log) do
        local n1 = 0
        for _, v in ipairs(labels) do n1 = n1 + v end
        lu.assertEquals(n1, 2) -- two of each class in each training fold
    end
    -- the folds are StratifiedKFold's
    local expect = {}
    for tr in MS.StratifiedKFold{n_splits = 2}:split(X, y) do expect[#expect + 1] = y:index(1, tr):totable() end
    lu.assertEquals(log[1], expect[1])
    lu.assertEquals(log[2], expect[2])
    -- a regressor gets KFold
    local rlog = new_log()
    MS.cross_val_score(T.MeanRegressor{log = rlog}, X, y:to("float64"), {cv = 2})
    lu.assertEquals(rlog[1], {1, 1, 1, 1})
    -- a splitter is used as given
    local klog = new_log()
    MS.cross_val_score(T.Thresh{log = klog}, X, y, {cv = MS.KFold{n_splits = 2}})
    lu.assertEquals(klog[1], {1, 1, 1, 1})
end

function TestCrossValScore:test_seed_shuffles_the_folds()
    local y = mf.arange(1, 21, "float64")
    local X = y:view(-1, 1)
    local a = MS.cross_val_score(T.MeanRegressor(), X, y, {cv = 4, seed = 3})
    local b = MS.cross_val_score(T.MeanRegressor(), X, y, {cv = 4, seed = 3})
    lu.assertTrue(mf.equal(a, b))
    -- the same as the shuffled KFold of that seed, fold by fold
    local i = 0
    for tr, te in MS.KFold{n_splits = 4, shuffle = true, seed = 3}:split(X) do
        i = i + 1
        local e = T.MeanRegressor():fit(X:index(1, tr), y:index(1, tr))
        lu.assertAlmostEquals(a[i], e:score(X:index(1, te), y:index(1, te)), 1e-12)
    end
    lu.assertFalse(mf.equal(a, MS.cross_val_score(T.MeanRegressor(), X, y, {cv = 4})))
end

function TestCrossValScore:test_scoring_name_goes_through_get_scorer()
    local saved = mf.metrics.get_scorer
    local asked
    mf.metrics.get_scorer = function(name)
        asked = name
        if name ~= "fake" then error("get_scorer: unknown scoring '" .. name .. "'") end
        return function(est, X) return est.n_fit * 100 + X:size(1) end
    end
    local ok, err = pcall(function()
        local y = mf.arange(1, 7, "float64")
        local s = MS.cross_val_score(T.MeanRegressor(), y:view(-1, 1), y, {cv = 3, scoring = "fake"})
        lu.assertEquals(asked, "fake")
        assert_vector(s, {402, 402, 402})
        assert_error(function() MS.cross_val_score(T.MeanRegressor(), y:view(-1, 1), y, {scoring = "nope"}) end,
                     "bad argument #4 to 'cross_val_score'", "unknown scoring 'nope'")
    end)
    mf.metrics.get_scorer = saved
    assert(ok, err)
end

function TestCrossValScore:test_errors()
    local y = mf.arange(1, 7, "float64")
    local X = y:view(-1, 1)
    local est = T.MeanRegressor()
    assert_error(function() MS.cross_val_score(est, X, y, {cv = 1}) end,
                 "bad argument #4 to 'cross_val_score'", "2 folds or more")
    assert_error(function() MS.cross_val_score(est, X, y, {cv = "five"}) end,
                 "option 'cv' must be an integer >= 2 or a splitter")
    assert_error(function() MS.cross_val_score(est, X, y, {cv = 2.5}) end, "got 2.5")
    assert_error(function() MS.cross_val_score(est, X, y, {folds = 3}) end,
                 "bad argument #4 to 'cross_val_score'", "unknown option 'folds'")
    assert_error(function() MS.cross_val_score(est, X, y, {cv = MS.KFold(), seed = 1}) end,
                 "option 'seed' applies to an integer cv")
    assert_error(function() MS.cross_val_score(est, X, y, {scoring = 3}) end, "option 'scoring'")
    assert_error(function() MS.cross_val_score({}, X, y) end,
                 "bad argument #1 to 'cross_val_score'", "estimator expected")
    assert_error(function() MS.cross_val_score(est, X, y:narrow(1, 1, 5)) end,
                 "bad argument #3 to 'cross_val_score'", "y has 5 rows, X has 6")
    assert_error(function() MS.cross_val_score(est, X, y, {cv = 7}) end, "n_splits = 7")
end

---------------------------------------------------------------- cross_validate
TestCrossValidate = {}

function TestCrossValidate:test_scores_times_and_estimators()
    local X, y = column({1, 2, 3, 4, 5, 6}), mf.tensor({1, 2, 3, 4, 5, 6}, "float64")
    local r = MS.cross_validate(T.MeanRegressor(), X, y, {cv = 3, return_train_score = true,
                                                           return_estimator = true})
    assert_vector(r.test_score, {-36, 0, -36})
    assert_vector(r.train_score, {0, 0, 0})
    lu.assertEquals(r.fit_time:size(1), 3)
    lu.assertEquals(r.score_time:size(1), 3)
    lu.assertTrue(r.fit_time:ge(0):all():item())
    lu.assertEquals(#r.estimator, 3)
    lu.assertEquals(r.estimator[1].mean, 4.5)
    lu.assertEquals(r.estimator[3].mean, 2.5)
    local plain = MS.cross_validate(T.MeanRegressor(), X, y, {cv = 3})
    lu.assertNil(plain.train_score)
    lu.assertNil(plain.estimator)
    assert_error(function() MS.cross_validate(T.MeanRegressor(), X, y, {return_train_score = 1}) end,
                 "bad argument #4 to 'cross_validate'", "return_train_score")
end

---------------------------------------------------------------- GridSearchCV
TestGridSearchCV = {}

-- X = 1..20, y = X > 10.5
local function threshold_data()
    local x, y = {}, {}
    for i = 1, 20 do x[i], y[i] = i, i > 10.5 and 1 or 0 end
    return column(x), mf.tensor(y, "int64"), x, y
end

-- The fold accuracies of a threshold over KFold(4) folds, by Lua loops.
local function fold_accuracies(x, y, t)
    local out = {}
    for f = 1, 4 do
        local right = 0
        for i = (f - 1) * 5 + 1, f * 5 do
            if ((x[i] > t) and 1 or 0) == y[i] then right = right + 1 end
        end
        out[f] = right / 5
    end
    return out
end

function TestGridSearchCV:test_best_params_scores_and_refit()
    local X, y, x, yl = threshold_data()
    local log = new_log()
    local gs = MS.GridSearchCV{estimator = T.Thresh{log = log}, param_grid = {threshold = {0, 5, 10, 15}},
                               cv = MS.KFold{n_splits = 4}}
    lu.assertIs(gs:fit(X, y), gs)
    lu.assertEquals(gs.best_params, {threshold = 10})
    lu.assertEquals(gs.best_score, 1)
    lu.assertEquals(gs.best_index, 3)
    local r = gs.cv_results
    lu.assertEquals(#r.params, 4)
    local means, stds = {}, {}
    for c, t in ipairs({0, 5, 10, 15}) do
        lu.assertEquals(r.params[c], {threshold = t})
        local acc = fold_accuracies(x, yl, t)
        local m = (acc[1] + acc[2] + acc[3] + acc[4]) / 4
        local v = 0
        for f = 1, 4 do
            v = v + (acc[f] - m) ^ 2
            lu.assertAlmostEquals(r[("split%d_test_score"):format(f)][c], acc[f], 1e-12)
        end
        means[c], stds[c] = m, math.sqrt(v / 4)
    end
    assert_vector(r.mean_test_score, means)
    assert_vector(r.std_test_score, stds)
    lu.assertEquals(means[2], 0.75)
    lu.assertAlmostEquals(stds[2], math.sqrt(0.1875), 1e-12)
    lu.assertEquals(r.rank_test_score:totable(), {4, 2, 1, 2}) -- ties share the best rank
    lu.assertEquals(r.rank_test_score:dtype(), "int64")
    -- 4 candidates x 4 folds, then the refit on all 20 rows
    lu.assertEquals(#log, 17)
    lu.assertEquals(#log[17], 20)
    local best = gs.best_estimator
    lu.assertEquals(best.threshold, 10)
    lu.assertEquals(best.n_fit, 20)
    lu.assertTrue(mf.equal(gs:predict(X), best:predict(X)))
    lu.assertEquals(gs:score(X, y), 1)
    lu.assertEquals(E.estimator_type(gs), "classifier")
end

function TestGridSearchCV:test_grid_order_list_of_grids_and_no_refit()
    local X, y = threshold_data()
    local gs = MS.GridSearchCV{estimator = T.MeanRegressor(),
                               param_grid = {{shift = {0}}, {shift = {2, -1}, log = {new_log()}}},
                               refit = false, cv = 4}
    gs:fit(X, y:to("float64"))
    lu.assertEquals(#gs.cv_results.params, 3)
    lu.assertEquals(gs.cv_results.params[1].shift, 0)
    lu.assertEquals(gs.cv_results.params[2].shift, 2)
    lu.assertEquals(gs.cv_results.params[3].shift, -1)
    lu.assertNil(gs.best_estimator)
    assert_error(function() gs:predict(X) end, "GridSearchCV: predict needs the best estimator", "refit = true")
    -- names sorted, the last varying fastest (scikit-learn's ParameterGrid)
    local gs2 = MS.GridSearchCV{estimator = T.Thresh(), param_grid = {threshold = {1, 2}, log = {new_log(), new_log()}}}
    gs2:fit(X, y)
    local p = gs2.cv_results.params
    lu.assertEquals({p[1].threshold, p[2].threshold, p[3].threshold, p[4].threshold}, {1, 2, 1, 2})
end

function TestGridSearchCV:test_clone_and_params()
    local est = T.Thresh()
    local gs = MS.GridSearchCV{estimator = est, param_grid = {threshold = {1, 2}}, cv = 3}
    local p = gs:get_params()
    lu.assertIs(p.estimator, est)
    lu.assertEquals(p.estimator__threshold, 0)
    lu.assertEquals(p.cv, 3)
    local c = E.clone(gs)
    lu.assertNotIs(c.estimator, est)
    lu.assertNotIs(c.param_grid, gs.param_grid)
    lu.assertEquals(c.param_grid, gs.param_grid)
    gs:set_params{estimator__threshold = 7}
    lu.assertEquals(est.threshold, 7)
end

function TestGridSearchCV:test_errors()
    local X, y = threshold_data()
    assert_error(function() MS.GridSearchCV{estimator = T.Thresh(), param_grid = {tresh = {1}}} end,
                 "bad argument #1 to 'GridSearchCV'", "unknown parameter 'tresh' (parameters: threshold, log)")
    assert_error(function()
        MS.GridSearchCV{estimator = mf.Pipeline{mf.preprocess.StandardScaler(), T.Thresh()},
                        param_grid = {scaler__with_mean = {true}}}
    end, "bad argument #1 to 'GridSearchCV' (option 'param_grid': unknown parameter 'scaler' "
         .. "(parameters: steps, standardscaler, thresh))")
    assert_error(function() MS.GridSearchCV{estimator = T.MeanRegressor(), param_grid = {shift = {"a"}}} end,
                 "option 'shift' must be a number")
    assert_error(function() MS.GridSearchCV{estimator = T.Thresh(), param_grid = {threshold = {}}} end,
                 "the values of 'threshold' must be a non-empty list")
    assert_error(function() MS.GridSearchCV{estimator = T.Thresh(), param_grid = 3} end, "option 'param_grid'")
    assert_error(function() MS.GridSearchCV{estimator = 3, param_grid = {}} end, "option 'estimator'")
    assert_error(function() MS.GridSearchCV{estimator = T.Thresh(), param_grid = {threshold = {1}}, cv = 1} end,
                 "option 'cv' must be an integer >= 2")
    assert_error(function() MS.GridSearchCV{estimator = T.Thresh(), param_grid = {threshold = {1}}, n_jobs = 2} end,
                 "unknown option 'n_jobs'")
    local gs = MS.GridSearchCV{estimator = T.Thresh(), param_grid = {threshold = {1}}}
    assert_error(function() gs:predict(X) end, "GridSearchCV: predict called before fit")
    assert_error(function() gs:fit(X, y:narrow(1, 1, 3)) end, "y has 3 rows, X has 20")
end

os.exit(lu.LuaUnit.run(), true)
