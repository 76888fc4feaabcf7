-- mf.clone, and the scikit-learn options of cross_validate / cross_val_score
-- / GridSearchCV (error_score, several scorings, refit by metric name,
-- return_train_score) and RandomizedSearchCV with its distributions. Tiny
-- estimators defined here; expected scores are computed by hand or by plain
-- Lua loops over the same folds.
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

-- Predicts the training mean of y (plus `shift`); score is R². Its fit
-- fails ("boom") when the training rows hold a value <= `fail_on` in X.
local MeanRegressor = E.class(T, "tests", Base, "MeanRegressor", {"shift", "fail_on"}, {shift = 0}, "regressor")
function MeanRegressor:_check()
    if type(self.shift) ~= "number" then E.opt_error(self, "option 'shift' must be a number") end
end
function MeanRegressor:fit(X, y)
    if self.fail_on and X:le(self.fail_on):any():item() then error("boom: cannot fit") end
    self.mean = y:to("float64"):mean():item()
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

-- Predicts 1 where the first column is above `threshold`, else 0.
local Thresh = E.class(T, "tests", Base, "Thresh", {"threshold", "k"}, {threshold = 0}, "classifier")
function Thresh:_check()
    if type(self.threshold) ~= "number" then E.opt_error(self, "option 'threshold' must be a number") end
    if self.k ~= nil and math.type(self.k) ~= "integer" then E.opt_error(self, "option 'k' must be an integer") end
end
function Thresh:fit(X)
    self.n_fit = X:size(1)
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

local function column(values) return mf.tensor(values, "float64"):view(-1, 1) end

local function assert_vector(t, expect, tol)
    local got = mf.is_tensor(t) and t:totable() or t
    lu.assertEquals(#got, #expect)
    for j = 1, #expect do
        if expect[j] ~= expect[j] then
            lu.assertTrue(got[j] ~= got[j], ("entry %d: NaN expected, got %s"):format(j, tostring(got[j])))
        else
            lu.assertAlmostEquals(got[j], expect[j], tol or 1e-12)
        end
    end
end

local function neg_mse(est, X, y)
    local d = est:predict(X) - y
    return -(d * d):mean():item()
end

-- X = 1..20, y = X > 10.5
local function threshold_data()
    local x, y = {}, {}
    for i = 1, 20 do x[i], y[i] = i, i > 10.5 and 1 or 0 end
    return column(x), mf.tensor(y, "int64"), x, y
end

-- The accuracy of threshold t on rows lo..hi, by a Lua loop.
local function accuracy(x, y, t, rows)
    local right = 0
    for _, i in ipairs(rows) do
        if ((x[i] > t) and 1 or 0) == y[i] then right = right + 1 end
    end
    return right / #rows
end

local function range(lo, hi, skip_lo, skip_hi)
    local r = {}
    for i = lo, hi do
        if not (skip_lo and i >= skip_lo and i <= skip_hi) then r[#r + 1] = i end
    end
    return r
end

---------------------------------------------------------------- mf.clone
TestClone = {}

function TestClone:test_unfitted_equal_and_independent()
    local X = mf.randn(30, 3, "float64")
    local y = X:select(2, 1) * 2 + 1
    local r = mf.models.Ridge{alpha = 2}:fit(X, y)
    local c = mf.clone(r)
    lu.assertIs(getmetatable(c), getmetatable(r))
    lu.assertNotIs(c, r)
    lu.assertFalse(c._fitted)
    lu.assertNil(rawget(c, "coef"))
    lu.assertNotNil(rawget(r, "coef"))
    lu.assertEquals(c:get_params(), r:get_params())
    lu.assertEquals(c.alpha, 2)
    c:set_params{alpha = 5}
    lu.assertEquals(r.alpha, 2)
    lu.assertEquals(c.alpha, 5)
    assert_error(function() c:predict(X) end, "before fit")
    -- the clone fits to the same model
    c:set_params{alpha = 2}
    lu.assertTrue(mf.allclose(c:fit(X, y).coef, r.coef))
    lu.assertIs(mf.clone, E.clone)
end

function TestClone:test_deep_for_pipelines_and_column_transformers()
    local ct = mf.preprocess.ColumnTransformer{{"sc", mf.preprocess.StandardScaler{with_mean = false}, {1, 2}},
                                               remainder = "passthrough"}
    local pipe = mf.Pipeline{{"prep", ct}, {"reg", mf.models.Ridge{alpha = 3}}}
    local X = mf.randn(40, 3, "float64")
    local y = X:select(2, 2) - X:select(2, 3)
    pipe:fit(X, y)
    local c = mf.clone(pipe)
    local cct = c.named_steps.prep
    lu.assertNotIs(cct, ct)
    lu.assertEquals(cct.remainder, "passthrough")
    lu.assertEquals(#cct.transformers, 1)
    lu.assertEquals(cct.transformers[1].name, "sc")
    lu.assertEquals(cct.transformers[1].columns, {1, 2})
    local sc, csc = ct.named_transformers.sc, cct.named_transformers.sc
    lu.assertNotIs(csc, sc)
    lu.assertTrue(sc._fitted)
    lu.assertFalse(csc._fitted)
    lu.assertFalse(c.named_steps.reg._fitted)
    lu.assertEquals(csc.with_mean, false)
    c:set_params{reg__alpha = 9}
    csc:set_params{with_std = false}
    lu.assertEquals(pipe.named_steps.reg.alpha, 3)
    lu.assertEquals(sc.with_std, true)
    -- fitting the clone leaves the original's fitted state alone
    local before = pipe:predict(X)
    c:fit(X * 2, y)
    lu.assertTrue(mf.equal(pipe:predict(X), before))
    -- cross-validation of a pipeline holding a ColumnTransformer
    local scores = MS.cross_val_score(pipe, X, y, {cv = 4})
    lu.assertEquals(scores:size(1), 4)
    lu.assertTrue(scores:gt(0.9):all():item())
end

function TestClone:test_grid_values_that_are_column_transformers_are_cloned()
    local X = mf.randn(40, 3, "float64")
    local y = X:select(2, 1) * 2 + X:select(2, 3)
    local function ct(cols)
        return mf.preprocess.ColumnTransformer{{"sc", mf.preprocess.StandardScaler(), cols}, remainder = "drop"}
    end
    local a, b = ct({1, 3}), ct({2})
    local gs = MS.GridSearchCV{estimator = mf.Pipeline{{"prep", ct({1})}, {"reg", mf.models.Ridge{alpha = 0.1}}},
                               param_grid = {prep = {a, b}}, cv = 3}:fit(X, y)
    local best = gs.best_estimator.named_steps.prep
    lu.assertEquals(best.transformers[1].columns, {1, 3}) -- the columns that explain y
    lu.assertNotIs(best, a)
    lu.assertTrue(best.named_transformers.sc._fitted)
    lu.assertFalse(a.named_transformers.sc._fitted)     -- the grid's own values are never fitted
    lu.assertFalse(b.named_transformers.sc._fitted)
end

function TestClone:test_searches_and_errors()
    local X, y = threshold_data()
    local gs = MS.GridSearchCV{estimator = T.Thresh(), param_grid = {threshold = {5, 10}}, cv = 4}:fit(X, y)
    local c = mf.clone(gs)
    lu.assertFalse(c._fitted)
    lu.assertNil(rawget(c, "cv_results"))
    lu.assertNil(rawget(c, "best_estimator"))
    lu.assertNotIs(c.estimator, gs.estimator)
    lu.assertEquals(c.param_grid, gs.param_grid)
    c:set_params{estimator__threshold = 3}
    lu.assertEquals(gs.estimator.threshold, 0)
    lu.assertEquals(c:fit(X, y).best_params, gs.best_params)
    local rs = MS.RandomizedSearchCV{estimator = T.Thresh(), param_distributions = {threshold = MS.uniform(0, 20)},
                                     n_iter = 3, seed = 1}
    local rc = mf.clone(rs)
    lu.assertEquals(rc.n_iter, 3)
    lu.assertEquals(rc.seed, 1)
    lu.assertIs(rc.param_distributions.threshold, rs.param_distributions.threshold) -- distributions are shared
    assert_error(function() mf.clone(3) end, "bad argument #1 to 'clone'", "estimator expected")
    assert_error(function() mf.clone({}) end, "bad argument #1 to 'clone'", "got table")
end

---------------------------------------------------------------- error_score
TestErrorScore = {}

function TestErrorScore:test_failed_fits_score_nan_with_a_warning()
    -- KFold(3) on 1..6; the fit fails when row 1 is in the training rows:
    -- folds 2 and 3
    local X, y = column({1, 2, 3, 4, 5, 6}), mf.tensor({1, 2, 3, 4, 5, 6}, "float64")
    local est = T.MeanRegressor{fail_on = 1}
    local warnings, s = mf.capture_warnings(MS.cross_val_score, est, X, y, {cv = 3})
    assert_vector(s, {-36, 0 / 0, 0 / 0})
    lu.assertEquals(#warnings, 2)
    lu.assertStrContains(warnings[1], "cross_val_score: fold 2 of 3: fit failed, its score is set to nan")
    lu.assertStrContains(warnings[1], "boom: cannot fit")
    lu.assertStrContains(warnings[2], "fold 3 of 3")
    -- a number instead of NaN; cross_validate, train scores too
    local w2, r = mf.capture_warnings(MS.cross_validate, est, X, y,
                                      {cv = 3, error_score = -1, return_train_score = true})
    assert_vector(r.test_score, {-36, -1, -1})
    assert_vector(r.train_score, {0, -1, -1})
    lu.assertStrContains(w2[1], "cross_validate: fold 2 of 3: fit failed, its score is set to -1")
    -- "raise": the fit's own error
    assert_error(function() MS.cross_val_score(est, X, y, {cv = 3, error_score = "raise"}) end,
                 "boom: cannot fit")
    -- every fit failing is an error, as scikit-learn
    assert_error(function()
        mf.capture_warnings(MS.cross_val_score, T.MeanRegressor{fail_on = 6}, X, y, {cv = 2, seed = 1})
    end, "all 2 fits failed", "boom")
    assert_error(function() MS.cross_val_score(est, X, y, {error_score = "nan"}) end,
                 "bad argument #4 to 'cross_val_score'", "option 'error_score' must be a number or \"raise\"")
end

function TestErrorScore:test_failed_scoring()
    local X, y = column({1, 2, 3, 4, 5, 6}), mf.tensor({1, 2, 3, 4, 5, 6}, "float64")
    local calls = 0
    local flaky = function(est, Xt, yt)
        calls = calls + 1
        if calls == 2 then error("scorer broke") end
        return neg_mse(est, Xt, yt)
    end
    local warnings, s = mf.capture_warnings(MS.cross_val_score, T.MeanRegressor(), X, y, {cv = 3, scoring = flaky})
    assert_vector(s, {-9.25, 0 / 0, -9.25})
    lu.assertEquals(#warnings, 1)
    lu.assertStrContains(warnings[1], "fold 2 of 3: scoring on the test rows failed")
    lu.assertStrContains(warnings[1], "scorer broke")
    calls = 0
    assert_error(function()
        MS.cross_val_score(T.MeanRegressor(), X, y, {cv = 3, scoring = flaky, error_score = "raise"})
    end, "scorer broke")
    -- a scorer returning a non-number is a bug: always an error
    assert_error(function()
        MS.cross_val_score(T.MeanRegressor(), X, y, {cv = 3, scoring = function() return "x" end})
    end, "a score must be a number, got string")
end

function TestErrorScore:test_grid_search()
    -- candidate 1 never fails, candidate 2 fails on the folds whose
    -- training rows hold 1 (folds 2 and 3)
    local X, y = column({1, 2, 3, 4, 5, 6}), mf.tensor({1, 2, 3, 4, 5, 6}, "float64")
    local gs = MS.GridSearchCV{estimator = T.MeanRegressor(), param_grid = {{shift = {0}}, {fail_on = {1}}},
                               cv = 3}
    local warnings = mf.capture_warnings(gs.fit, gs, X, y)
    lu.assertEquals(#warnings, 2)
    lu.assertStrContains(warnings[1], "GridSearchCV:fit: candidate 2 of 2, fold 2 of 3: fit failed")
    local r = gs.cv_results
    assert_vector(r.mean_test_score, {-24, 0 / 0})
    assert_vector(r.split1_test_score, {-36, -36})
    assert_vector(r.split2_test_score, {0, 0 / 0})
    lu.assertEquals(r.rank_test_score:totable(), {1, 2}) -- NaN last
    lu.assertEquals(gs.best_index, 1)
    local gs2 = MS.GridSearchCV{estimator = T.MeanRegressor(), param_grid = {fail_on = {1}}, cv = 3,
                                error_score = "raise"}
    assert_error(function() gs2:fit(X, y) end, "boom")
    assert_error(function() MS.GridSearchCV{estimator = T.MeanRegressor(), param_grid = {shift = {1}},
                                            error_score = {}} end,
                 "bad argument #1 to 'GridSearchCV'", "option 'error_score'")
end

---------------------------------------------------------------- several scorings
TestMultiMetric = {}

function TestMultiMetric:test_cross_validate()
    -- KFold(3) on y = 1..6: train means 4.5, 3.5, 2.5 (see test_model_selection2)
    local X, y = column({1, 2, 3, 4, 5, 6}), mf.tensor({1, 2, 3, 4, 5, 6}, "float64")
    local r = MS.cross_validate(T.MeanRegressor(), X, y, {cv = 3, scoring = {"r2", "neg_mean_squared_error"}})
    assert_vector(r.test_r2, {-36, 0, -36})
    assert_vector(r.test_neg_mean_squared_error, {-9.25, -0.25, -9.25})
    lu.assertNil(r.test_score)
    lu.assertEquals(r.fit_time:size(1), 3)
    -- a table name → scorer (a function or a metric name), with train scores
    local t = MS.cross_validate(T.MeanRegressor(), X, y, {cv = 3, return_train_score = true,
                                                          scoring = {mine = neg_mse, det = "r2"}})
    assert_vector(t.test_mine, {-9.25, -0.25, -9.25})
    assert_vector(t.test_det, {-36, 0, -36})
    -- train rows 3..6 (mean 4.5): MSE (2.25 + 0.25) * 2 / 4; rows 1, 2, 5, 6
    -- (mean 3.5): (6.25 + 2.25) * 2 / 4
    assert_vector(t.train_mine, {-1.25, -4.25, -1.25})
    assert_vector(t.train_det, {0, 0, 0})
    -- cross_val_score takes one metric
    assert_error(function() MS.cross_val_score(T.MeanRegressor(), X, y, {scoring = {"r2"}}) end,
                 "bad argument #4 to 'cross_val_score'", "takes one metric")
end

function TestMultiMetric:test_bad_scorings()
    local X, y = column({1, 2, 3, 4, 5, 6}), mf.tensor({1, 2, 3, 4, 5, 6}, "float64")
    local function cv(scoring) return function() MS.cross_validate(T.MeanRegressor(), X, y, {scoring = scoring}) end end
    assert_error(cv({}), "bad argument #4 to 'cross_validate'", "option 'scoring' is an empty table")
    assert_error(cv({"r2", "r2"}), "'r2' is listed twice")
    assert_error(cv({"r2", "nope"}), "unknown scoring 'nope'")
    assert_error(cv({"r2", 3}), "entry 2 must be a metric name, got number")
    assert_error(cv({mse = 3}), "scorer 'mse' must be a function(estimator, X, y) or a metric name")
    assert_error(cv({mse = "nope"}), "unknown scoring 'nope'")
    assert_error(cv({"r2", extra = neg_mse}), "mixes a list of metric names with named scorers")
    assert_error(cv(mf.zeros(2)), "option 'scoring' must be a metric name, a list of metric names")
end

function TestMultiMetric:test_grid_search_refit_by_metric()
    local X, y, x, yl = threshold_data()
    local ts = {0, 5, 10, 15}
    -- "small": prefers the smallest threshold, whatever the data
    local small = function(est) return -est.threshold end
    local function search(refit, train)
        return MS.GridSearchCV{estimator = T.Thresh(), param_grid = {threshold = ts}, cv = MS.KFold{n_splits = 4},
                               scoring = {acc = "accuracy", small = small}, refit = refit,
                               return_train_score = train}:fit(X, y)
    end
    local gs = search("acc", true)
    local r = gs.cv_results
    for c, t in ipairs(ts) do
        local sum, tsum = 0, 0
        for f = 1, 4 do
            local test_rows = range((f - 1) * 5 + 1, f * 5)
            local train_rows = range(1, 20, (f - 1) * 5 + 1, f * 5)
            local a, b = accuracy(x, yl, t, test_rows), accuracy(x, yl, t, train_rows)
            lu.assertAlmostEquals(r[("split%d_test_acc"):format(f)][c], a, 1e-12)
            lu.assertAlmostEquals(r[("split%d_train_acc"):format(f)][c], b, 1e-12)
            lu.assertEquals(r[("split%d_test_small"):format(f)][c], -t)
            sum, tsum = sum + a, tsum + b
        end
        lu.assertAlmostEquals(r.mean_test_acc[c], sum / 4, 1e-12)
        lu.assertAlmostEquals(r.mean_train_acc[c], tsum / 4, 1e-12)
        lu.assertEquals(r.mean_test_small[c], -t)
        lu.assertEquals(r.std_test_small[c], 0)
    end
    lu.assertEquals(r.rank_test_acc:totable(), {4, 2, 1, 2})
    lu.assertEquals(r.rank_test_small:totable(), {1, 2, 3, 4})
    lu.assertNil(r.mean_test_score)
    lu.assertNil(r.rank_train_acc)
    lu.assertEquals(gs.best_params, {threshold = 10})
    lu.assertEquals(gs.best_score, 1)
    lu.assertTrue(gs.multimetric)
    lu.assertEquals(gs.best_estimator.threshold, 10)
    lu.assertEquals(gs:score(X, y), 1) -- the refit metric
    -- refit by the other metric
    local gs2 = search("small", false)
    lu.assertEquals(gs2.best_params, {threshold = 0})
    lu.assertEquals(gs2.best_score, 0)
    lu.assertEquals(gs2:score(X, y), 0)
    lu.assertNil(gs2.cv_results.mean_train_acc)
    -- refit = false: results only
    local gs3 = search(false, false)
    lu.assertNil(gs3.best_params)
    lu.assertNil(gs3.best_estimator)
    lu.assertEquals(gs3.cv_results.rank_test_acc:totable(), {4, 2, 1, 2})
    assert_error(function() gs3:predict(X) end, "needs the best estimator")
end

function TestMultiMetric:test_single_metric_train_scores_and_refit_name()
    local X, y, x, yl = threshold_data()
    local gs = MS.GridSearchCV{estimator = T.Thresh(), param_grid = {threshold = {5, 15}}, cv = MS.KFold{n_splits = 4},
                               scoring = "accuracy", refit = "accuracy", return_train_score = true}:fit(X, y)
    local r = gs.cv_results
    for c, t in ipairs({5, 15}) do
        local tsum = 0
        for f = 1, 4 do
            local b = accuracy(x, yl, t, range(1, 20, (f - 1) * 5 + 1, f * 5))
            lu.assertAlmostEquals(r[("split%d_train_score"):format(f)][c], b, 1e-12)
            tsum = tsum + b
        end
        lu.assertAlmostEquals(r.mean_train_score[c], tsum / 4, 1e-12)
    end
    lu.assertEquals(r.std_train_score:size(1), 2)
    lu.assertEquals(r.std_fit_time:size(1), 2)
    lu.assertEquals(gs.best_params, {threshold = 5})
    lu.assertFalse(gs.multimetric)
end

function TestMultiMetric:test_refit_errors()
    local function gs(opts)
        return function()
            local o = {estimator = T.Thresh(), param_grid = {threshold = {1}}}
            for k, v in pairs(opts) do o[k] = v end
            return MS.GridSearchCV(o)
        end
    end
    assert_error(gs{scoring = {"accuracy", "balanced_accuracy"}}, "bad argument #1 to 'GridSearchCV'",
                 "option 'refit' must be false or the metric that picks the best candidate",
                 "(one of: accuracy, balanced_accuracy)")
    assert_error(gs{scoring = {"accuracy", "balanced_accuracy"}, refit = "f1"},
                 "option 'refit': unknown metric 'f1' (scorings: accuracy, balanced_accuracy)")
    assert_error(gs{scoring = "accuracy", refit = "f1"}, "option 'refit' = 'f1' names a metric that is not the scoring")
    assert_error(gs{refit = 1}, "option 'refit' must be a boolean or a metric name, got number")
    assert_error(gs{return_train_score = "yes"}, "option 'return_train_score' must be a boolean")
    assert_error(gs{scoring = {"accuracy", "nope"}, refit = "accuracy"}, "unknown scoring 'nope'")
    -- set_params goes through the same checks
    local ok = MS.GridSearchCV{estimator = T.Thresh(), param_grid = {threshold = {1}}}
    assert_error(function() ok:set_params{scoring = {"accuracy", "f1"}} end,
                 "bad argument #1 to 'GridSearchCV:set_params'", "option 'refit' must be false")
    lu.assertNil(ok.scoring)
    ok:set_params{scoring = {"accuracy", "f1"}, refit = "f1"}
    lu.assertEquals(ok.refit, "f1")
end

---------------------------------------------------------------- RandomizedSearchCV
TestRandomizedSearchCV = {}

local function thresholds(search)
    local t = {}
    for i, p in ipairs(search.cv_results.params) do t[i] = p.threshold end
    return t
end

function TestRandomizedSearchCV:test_lists_sample_the_grid_without_replacement()
    local X, y = threshold_data()
    local function run(n_iter, seed)
        return MS.RandomizedSearchCV{estimator = T.Thresh(), param_distributions = {threshold = {0, 5, 10, 15}},
                                     n_iter = n_iter, seed = seed, cv = MS.KFold{n_splits = 4}}:fit(X, y)
    end
    local a = run(4, 7)
    local got = thresholds(a)
    lu.assertEquals(#got, 4)
    local sorted = table.move(got, 1, 4, 1, {})
    table.sort(sorted)
    lu.assertEquals(sorted, {0, 5, 10, 15}) -- every point once
    lu.assertEquals(thresholds(run(4, 7)), got) -- deterministic for a seed
    lu.assertEquals(a.best_params, {threshold = 10})
    lu.assertEquals(a.best_score, 1)
    lu.assertEquals(a.best_estimator.threshold, 10)
    -- different seeds give different orders (at least one of 8 differs)
    local differ = false
    for seed = 1, 8 do
        local o = thresholds(run(4, seed))
        for i = 1, 4 do if o[i] ~= got[i] then differ = true end end
    end
    lu.assertTrue(differ)
    -- fewer: distinct points
    local two = thresholds(run(2, 3))
    lu.assertEquals(#two, 2)
    lu.assertNotEquals(two[1], two[2])
    -- more than the grid: the whole grid, with a warning
    local warnings, b = mf.capture_warnings(run, 10, 7)
    lu.assertEquals(#thresholds(b), 4)
    lu.assertEquals(warnings, {"RandomizedSearchCV: the grid has only 4 candidates, fewer than n_iter = 10: running 4"})
    -- two lists: distinct pairs, within the grid
    local rs = MS.RandomizedSearchCV{estimator = T.Thresh(), param_distributions = {threshold = {1, 2, 3}, k = {1, 2}},
                                     n_iter = 6, seed = 0, cv = 2}:fit(X, y)
    local seen = {}
    for _, p in ipairs(rs.cv_results.params) do
        local key = p.threshold .. "/" .. p.k
        lu.assertNil(seen[key])
        seen[key] = true
    end
end

function TestRandomizedSearchCV:test_same_scores_as_grid_search_of_the_samples()
    local X, y = threshold_data()
    local rs = MS.RandomizedSearchCV{estimator = T.Thresh(), param_distributions = {threshold = MS.uniform(0, 20)},
                                     n_iter = 6, seed = 11, cv = 4, return_train_score = true}:fit(X, y)
    local grids = {}
    for i, t in ipairs(thresholds(rs)) do grids[i] = {threshold = {t}} end
    local gs = MS.GridSearchCV{estimator = T.Thresh(), param_grid = grids, cv = 4,
                               return_train_score = true}:fit(X, y)
    for _, key in ipairs({"mean_test_score", "std_test_score", "rank_test_score", "split3_test_score",
                          "mean_train_score"}) do
        lu.assertTrue(mf.equal(rs.cv_results[key], gs.cv_results[key]), key)
    end
    lu.assertEquals(rs.best_params, gs.best_params)
    lu.assertEquals(rs.best_index, gs.best_index)
    lu.assertEquals(rs:predict(X):totable(), gs:predict(X):totable())
end

function TestRandomizedSearchCV:test_distributions()
    local X, y = threshold_data()
    local function samples(dist, n, seed)
        local rs = MS.RandomizedSearchCV{estimator = T.Thresh(), param_distributions = {threshold = dist},
                                         n_iter = n, seed = seed, cv = 2, refit = false}:fit(X, y)
        return thresholds(rs)
    end
    -- uniform(loc, scale) is [loc, loc + scale], as scipy.stats.uniform
    local u = samples(MS.uniform(2, 3), 200, 1)
    local lo, hi, sum = math.huge, -math.huge, 0
    for _, v in ipairs(u) do lo, hi, sum = math.min(lo, v), math.max(hi, v), sum + v end
    lu.assertTrue(lo >= 2 and hi <= 5, ("range [%g, %g]"):format(lo, hi))
    lu.assertTrue(lo < 2.2 and hi > 4.8)
    lu.assertAlmostEquals(sum / 200, 3.5, 0.2)
    -- loguniform(a, b): log10 uniform on [-3, 3]
    local l = samples(MS.loguniform(1e-3, 1e3), 200, 2)
    local lsum, below = 0, 0
    for _, v in ipairs(l) do
        lu.assertTrue(v >= 1e-3 and v <= 1e3)
        lsum = lsum + math.log(v, 10)
        if v < 1 then below = below + 1 end
    end
    lu.assertAlmostEquals(lsum / 200, 0, 0.4)
    lu.assertTrue(below > 70 and below < 130)
    -- randint(low, high): low .. high - 1, integers
    local counts = {}
    local rs = MS.RandomizedSearchCV{estimator = T.Thresh(), param_distributions = {k = MS.randint(1, 4)},
                                     n_iter = 60, seed = 3, cv = 2, refit = false}:fit(X, y)
    for _, p in ipairs(rs.cv_results.params) do
        lu.assertEquals(math.type(p.k), "integer")
        counts[p.k] = (counts[p.k] or 0) + 1
    end
    lu.assertEquals(#counts, 3)
    lu.assertNil(counts[0])
    lu.assertNil(counts[4])
    for k = 1, 3 do lu.assertTrue(counts[k] >= 10, "k = " .. k .. " drawn " .. counts[k] .. " times") end
    -- deterministic for a seed; mf.manual_seed when no seed
    lu.assertEquals(samples(MS.uniform(0, 20), 5, 4), samples(MS.uniform(0, 20), 5, 4))
    mf.manual_seed(9)
    local g1 = samples(MS.uniform(0, 20), 5)
    mf.manual_seed(9)
    lu.assertEquals(samples(MS.uniform(0, 20), 5), g1)
    lu.assertEquals(tostring(MS.uniform(1, 2)), "uniform(loc=1, scale=2)")
    lu.assertEquals(tostring(MS.randint(1, 4)), "randint(low=1, high=4)")
end

function TestRandomizedSearchCV:test_mixed_lists_custom_distributions_and_list_of_spaces()
    local X, y = threshold_data()
    -- an object with rvs(self, rng): rng is an mf.Generator: rng:random() and rng:random(lo, hi)
    local odd = {rvs = function(_, rng) return 2 * rng:random(0, 4) + 1 end} -- 1, 3, ..., 9
    local rs = MS.RandomizedSearchCV{estimator = T.Thresh(), param_distributions = {threshold = odd, k = {7, 8}},
                                     n_iter = 40, seed = 5, cv = 2, refit = false}:fit(X, y)
    local ks, ts = {}, {}
    for _, p in ipairs(rs.cv_results.params) do
        ks[p.k], ts[p.threshold] = true, true
        lu.assertEquals(p.threshold % 2, 1)
    end
    lu.assertEquals(ks, {[7] = true, [8] = true})
    for t = 1, 9, 2 do lu.assertTrue(ts[t], "threshold " .. t .. " never drawn") end
    -- a list of spaces: each candidate from one of them
    local rs2 = MS.RandomizedSearchCV{estimator = T.Thresh(),
                                      param_distributions = {{threshold = {100}}, {threshold = MS.uniform(0, 1)}},
                                      n_iter = 40, seed = 6, cv = 2, refit = false}:fit(X, y)
    local big, small = 0, 0
    for _, p in ipairs(rs2.cv_results.params) do
        if p.threshold == 100 then big = big + 1 else
            lu.assertTrue(p.threshold >= 0 and p.threshold <= 1)
            small = small + 1
        end
    end
    lu.assertTrue(big >= 8 and small >= 8, big .. " / " .. small)
    -- multi-metric and refit by name, as GridSearchCV
    local rs3 = MS.RandomizedSearchCV{estimator = T.Thresh(), param_distributions = {threshold = {0, 10}},
                                      n_iter = 2, seed = 1, scoring = {"accuracy", "balanced_accuracy"},
                                      refit = "balanced_accuracy", cv = 4}:fit(X, y)
    lu.assertEquals(rs3.best_params, {threshold = 10})
    lu.assertNotNil(rs3.cv_results.rank_test_balanced_accuracy)
    lu.assertEquals(E.estimator_type(rs3), "classifier")
end

function TestRandomizedSearchCV:test_errors()
    local function rs(opts)
        return function()
            local o = {estimator = T.Thresh(), param_distributions = {threshold = {1, 2}}}
            for k, v in pairs(opts) do o[k] = v end
            return MS.RandomizedSearchCV(o)
        end
    end
    assert_error(rs{n_iter = 0}, "bad argument #1 to 'RandomizedSearchCV'", "option 'n_iter' must be an integer >= 1, got 0")
    assert_error(rs{n_iter = 2.5}, "option 'n_iter' must be an integer >= 1, got 2.5")
    assert_error(rs{param_distributions = {threshold = {}}},
                 "option 'param_distributions': the values of 'threshold' must be a non-empty list or a distribution")
    assert_error(rs{param_distributions = {threshold = 3}}, "the values of 'threshold' must be")
    assert_error(rs{param_distributions = {}}, "option 'param_distributions': grid 1 must be a non-empty table")
    assert_error(rs{param_distributions = 3}, "option 'param_distributions' must be a table")
    assert_error(rs{param_distributions = {tresh = MS.uniform()}},
                 "option 'param_distributions': unknown parameter 'tresh' (parameters: threshold, k)")
    assert_error(rs{param_distributions = {k = MS.uniform()}}, "option 'k' must be an integer")
    assert_error(rs{param_distributions = {k = {rvs = function() error("no luck") end}}},
                 "option 'param_distributions': sampling 'k' failed: no luck")
    assert_error(rs{param_grid = {threshold = {1}}}, "unknown option 'param_grid'")
    assert_error(rs{seed = "x"}, "option 'seed' must be an integer")
    assert_error(rs{scoring = {"accuracy", "f1"}}, "option 'refit' must be false or the metric")
    assert_error(rs{estimator = 1}, "option 'estimator'")
    assert_error(function() MS.uniform(0, -1) end, "bad argument #2 to 'uniform'", "scale must be a finite number > 0")
    assert_error(function() MS.uniform(0 / 0) end, "bad argument #1 to 'uniform'", "loc must be a finite number")
    assert_error(function() MS.loguniform(0, 1) end, "bad argument #1 to 'loguniform'", "a must be a finite number > 0")
    assert_error(function() MS.loguniform(2, 1) end, "bad argument #2 to 'loguniform'", "b must be a finite number > a")
    assert_error(function() MS.randint(3, 3) end, "bad argument #2 to 'randint'", "high must be an integer > low = 3")
    assert_error(function() MS.randint(1.5, 3) end, "bad argument #1 to 'randint'", "low must be an integer")
    -- seed with a splitter is fine here (it seeds the sampling)
    local ok = MS.RandomizedSearchCV{estimator = T.Thresh(), param_distributions = {threshold = {1}},
                                     seed = 1, cv = MS.KFold{n_splits = 2}}
    lu.assertEquals(ok.n_iter, 10)
end

os.exit(lu.LuaUnit.run(), true)
