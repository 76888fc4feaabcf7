-- mf.models KNeighborsClassifier, KNeighborsRegressor and GaussianNB:
-- neighbours, votes and means against a plain-Lua brute force on small
-- random data (ties to the lower training row), distance weighting with an
-- exact match, naive Bayes against the hand formulas, labels of every kind,
-- thread independence and the errors.
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local support = require "support"
local assert_error = support.assert_error
local mf = require "moonforge"
local Mo = mf.models

-- Deterministic pseudo-random numbers.
local function lcg(seed)
    local s = seed
    return function()
        s = (s * 1103515245 + 12345) % 2147483648
        return s / 2147483648
    end
end

-- n rows of p features; integer-valued grid points when grid (many ties).
local function make_X(n, p, seed, grid)
    local rnd, X = lcg(seed), {}
    for i = 1, n do
        X[i] = {}
        for j = 1, p do
            X[i][j] = grid and math.floor(rnd() * 4) or rnd() * 4 - 2
        end
    end
    return X
end

-- Brute force: the k nearest rows of Xt for x, sorted by (distance, row).
local function brute(Xt, x, k)
    local c = {}
    for i = 1, #Xt do
        local s = 0
        for j = 1, #x do s = s + (x[j] - Xt[i][j]) ^ 2 end
        c[i] = {math.sqrt(s), i}
    end
    table.sort(c, function(a, b) return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2]) end)
    local out = {}
    for a = 1, k do out[a] = c[a] end
    return out
end

local function weights_of(nb, distance)
    local w, zero = {}, false
    for a = 1, #nb do if nb[a][1] == 0 then zero = true end end
    for a = 1, #nb do
        if not distance then w[a] = 1
        elseif zero then w[a] = nb[a][1] == 0 and 1 or 0
        else w[a] = 1 / nb[a][1] end
    end
    return w
end

local function T(rows) return mf.tensor(rows, "float64") end

TestKNeighbors = {}

function TestKNeighbors:test_kneighbors_matches_brute_force()
    for _, case in ipairs{{60, 3, 5, false}, {50, 2, 7, true}, {30, 4, 1, false}} do
        local n, p, k, grid = case[1], case[2], case[3], case[4]
        local Xt, Xq = make_X(n, p, 7 + n, grid), make_X(17, p, 99 + n, grid)
        local m = Mo.KNeighborsRegressor{n_neighbors = k}:fit(T(Xt), mf.zeros(n, "float64"))
        local D, I = m:kneighbors(T(Xq))
        lu.assertEquals(D:size(2), k)
        lu.assertEquals(I:dtype(), "int64")
        for q = 1, #Xq do
            local ref = brute(Xt, Xq[q], k)
            for a = 1, k do
                lu.assertEquals(I:get(q, a), ref[a][2])
                lu.assertAlmostEquals(D:get(q, a), ref[a][1], 1e-12)
            end
        end
    end
end

function TestKNeighbors:test_kneighbors_option_and_exact_zero()
    local Xt = make_X(20, 3, 5)
    local m = Mo.KNeighborsClassifier{n_neighbors = 3}:fit(T(Xt), {0, 1, 0, 1, 0, 1, 0, 1, 0, 1,
                                                                0, 1, 0, 1, 0, 1, 0, 1, 0, 1})
    local D, I = m:kneighbors(T(Xt), {n_neighbors = 20})
    lu.assertEquals(D:size(2), 20)
    for i = 1, 20 do
        lu.assertEquals(D:get(i, 1), 0.0) -- an identical row is at exactly 0
        lu.assertEquals(I:get(i, 1), i)
        local ref = brute(Xt, Xt[i], 20)
        for a = 1, 20 do lu.assertEquals(I:get(i, a), ref[a][2]) end
    end
end

function TestKNeighbors:test_classifier_against_brute_force()
    local n, p = 80, 3
    local Xt, Xq = make_X(n, p, 21, true), make_X(25, p, 22, false)
    local rnd, labels = lcg(3), {"x", "y", "z"}
    local y = {}
    for i = 1, n do y[i] = labels[1 + math.floor(rnd() * 3)] end
    for _, weights in ipairs{"uniform", "distance"} do
        for _, k in ipairs{1, 4, 6} do
            local m = Mo.KNeighborsClassifier{n_neighbors = k, weights = weights}:fit(T(Xt), y)
            lu.assertEquals(m.classes, {"x", "y", "z"})
            local P, pred = m:predict_proba(T(Xq)), m:predict(T(Xq))
            local hits = 0
            for q = 1, #Xq do
                local nb = brute(Xt, Xq[q], k)
                local w, votes, total = weights_of(nb, weights == "distance"), {x = 0, y = 0, z = 0}, 0
                for a = 1, k do
                    votes[y[nb[a][2]]] = votes[y[nb[a][2]]] + w[a]
                    total = total + w[a]
                end
                local best = "x"
                for c, lab in ipairs(labels) do
                    lu.assertAlmostEquals(P:get(q, c), votes[lab] / total, 1e-12)
                    if votes[lab] > votes[best] then best = lab end
                end
                lu.assertEquals(pred[q], best)
                if best == "y" then hits = hits + 1 end
            end
            local ytrue = {}
            for q = 1, #Xq do ytrue[q] = "y" end
            lu.assertAlmostEquals(m:score(T(Xq), ytrue), hits / #Xq, 1e-15)
        end
    end
end

function TestKNeighbors:test_distance_weights_exact_match()
    -- the query equals training row 2: it takes all the weight (scikit-learn)
    local Xt = T{{0, 0}, {1, 1}, {1.5, 1}, {1, 1.5}}
    local c = Mo.KNeighborsClassifier{n_neighbors = 3, weights = "distance"}:fit(Xt, mf.tensor({7, 9, 7, 7}, "int64"))
    local P = c:predict_proba(T{{1, 1}, {1.2, 1.2}})
    lu.assertEquals(P:get(1, 1), 0.0)
    lu.assertEquals(P:get(1, 2), 1.0)
    lu.assertEquals(c:predict(T{{1, 1}}):totable(), {9})
    lu.assertEquals(c:predict(T{{1, 1}}):dtype(), "int64")
    -- no exact match: 1/d weights
    local d1, d2, d3 = math.sqrt(0.08), math.sqrt(0.09 + 0.04), math.sqrt(0.04 + 0.09)
    lu.assertAlmostEquals(P:get(2, 2), (1 / d1) / (1 / d1 + 1 / d2 + 1 / d3), 1e-12)
    -- uniform: the vote share
    local u = Mo.KNeighborsClassifier{n_neighbors = 3}:fit(Xt, mf.tensor({7, 9, 7, 7}, "int64"))
    lu.assertAlmostEquals(u:predict_proba(T{{1, 1}}):get(1, 2), 1 / 3, 1e-15)
    lu.assertEquals(u:predict(T{{1, 1}}):totable(), {7})
    -- regressor: the exact match's target, two at distance 0 share it
    local r = Mo.KNeighborsRegressor{n_neighbors = 3, weights = "distance"}
        :fit(T{{0, 0}, {1, 1}, {1, 1}, {3, 3}}, {10, 20, 40, 80})
    lu.assertEquals(r:predict(T{{1, 1}}):get(1), 30.0)
end

function TestKNeighbors:test_regressor_against_brute_force()
    local n, p = 70, 2
    local Xt, Xq = make_X(n, p, 31), make_X(20, p, 32)
    local rnd, y = lcg(8), {}
    for i = 1, n do y[i] = Xt[i][1] * 3 - Xt[i][2] + rnd() end
    for _, weights in ipairs{"uniform", "distance"} do
        local m = Mo.KNeighborsRegressor{n_neighbors = 5, weights = weights}:fit(T(Xt), y)
        local pred = m:predict(T(Xq))
        local yq, ss, mean = {}, 0, 0
        for q = 1, #Xq do
            local nb = brute(Xt, Xq[q], 5)
            local w, s, tw = weights_of(nb, weights == "distance"), 0, 0
            for a = 1, 5 do s, tw = s + w[a] * y[nb[a][2]], tw + w[a] end
            lu.assertAlmostEquals(pred:get(q), s / tw, 1e-12)
            yq[q] = Xq[q][1] * 3 - Xq[q][2]
            mean = mean + yq[q] / #Xq
        end
        local res, tot = 0, 0
        for q = 1, #Xq do
            res = res + (yq[q] - pred:get(q)) ^ 2
            tot = tot + (yq[q] - mean) ^ 2
        end
        lu.assertAlmostEquals(m:score(T(Xq), yq), 1 - res / tot, 1e-12)
    end
end

function TestKNeighbors:test_table_input_and_threads()
    local t = mf.data.from_columns({a = {0, 1, 5, 6}, b = {0, 0, 5, 5}}, {order = {"a", "b"}})
    local m = Mo.KNeighborsClassifier{n_neighbors = 1}:fit(t, {"lo", "lo", "hi", "hi"})
    local q = mf.data.from_columns({b = {4.0, 0.5}, a = {6.0, 0.2}})
    lu.assertEquals(m:predict(q), {"hi", "lo"})
    lu.assertEquals(m.feature_names_in, {"a", "b"})
    local Xt, Xq = T(make_X(300, 4, 41)), T(make_X(200, 4, 42))
    local y = (Xt:narrow(2, 1, 1):view(-1) * 10):to("int64")
    local old = mf.get_num_threads()
    mf.set_num_threads(1)
    local c1 = Mo.KNeighborsClassifier{n_neighbors = 7, weights = "distance"}:fit(Xt, y)
    local P1, D1, I1 = c1:predict_proba(Xq), c1:kneighbors(Xq)
    mf.set_num_threads(2)
    local P2, D2, I2 = c1:predict_proba(Xq), c1:kneighbors(Xq)
    mf.set_num_threads(old)
    lu.assertEquals(P1:totable(), P2:totable())
    lu.assertEquals(D1:totable(), D2:totable())
    lu.assertEquals(I1:totable(), I2:totable())
end

function TestKNeighbors:test_errors()
    local X = T{{0, 0}, {1, 1}, {2, 2}}
    for _, name in ipairs{"KNeighborsClassifier", "KNeighborsRegressor"} do
        assert_error(function() Mo[name]{foo = 1} end, "bad argument #1 to '" .. name .. "' (unknown option 'foo'")
        assert_error(function() Mo[name]{n_neighbors = 0} end, "n_neighbors must be an integer >= 1")
        assert_error(function() Mo[name]{n_neighbors = 2.5} end, "n_neighbors must be an integer >= 1")
        assert_error(function() Mo[name]{weights = "rank"} end, "weights must be \"uniform\" or \"distance\"")
        assert_error(function() Mo[name]():predict(X) end, name .. ": predict called before fit")
        assert_error(function() Mo[name]{n_neighbors = 4}:fit(X, {1, 2, 1}) end,
                     "bad argument #1 to '" .. name .. ":fit' (n_neighbors = 4 but only 3 rows)")
        assert_error(function() Mo[name]{n_neighbors = 1}:fit(X, {1, 2}) end, "y has 2")
        assert_error(function() Mo[name]{n_neighbors = 1}:fit(T{{0, 0 / 0}, {1, 1}}, {1, 2}) end,
                     "NaN at row 1, column 2")
        local m = Mo[name]{n_neighbors = 2}:fit(X, {1, 2, 1})
        assert_error(function() m:predict(T{{1, 2, 3}}) end, "expected 2 columns (as in fit), got 3")
        assert_error(function() m:predict(T{{1, math.huge}}) end, "infinity at row 1, column 2")
        assert_error(function() m:kneighbors(X, {n_neighbors = 4}) end,
                     "bad argument #2 to '" .. name .. ":kneighbors' (n_neighbors must be an integer in [1, 3]")
        assert_error(function() m:kneighbors(X, {k = 1}) end, "unknown option 'k'")
    end
    assert_error(function() Mo.KNeighborsClassifier{n_neighbors = 1}:fit(X, {"a", "a", "a"}) end,
                 "at least 2 classes needed, y has 1")
    assert_error(function() Mo.KNeighborsRegressor{n_neighbors = 1}:fit(X, {1, 0 / 0, 2}) end,
                 "y contains NaN or infinity")
    assert_error(function() Mo.KNeighborsRegressor{n_neighbors = 1}:fit(X, {1, "a", 2}) end,
                 "numbers expected, y[2] is a string")
end

function TestKNeighbors:test_fit_keeps_a_copy()
    local X = T{{0, 0}, {10, 10}}
    local m = Mo.KNeighborsRegressor{n_neighbors = 1}:fit(X, {1, 2})
    X:narrow(1, 1, 1):fill_(100) -- the caller's tensor changes after fit
    lu.assertEquals(m:predict(T{{1, 1}}):totable(), {1.0})
end

-- Other Minkowski metrics: scikit-learn 1.2.1's values on the same data
-- (KNeighborsClassifier/Regressor(n_neighbors=4, metric=..., p=...)).
function TestKNeighbors:test_metrics_match_scikit_learn()
    local X, yc, yr = {}, {}, {}
    for i = 1, 40 do
        X[i] = {(i * 37) % 23 / 4, (i * 53) % 29 / 5, (i * 17) % 11 / 2}
        yc[i], yr[i] = i % 3, (i * 7) % 13 / 3
    end
    X = mf.tensor(X, "float64")
    yc, yr = mf.tensor(yc, "int64"), mf.tensor(yr, "float64")
    local Q = mf.tensor({{2, 3, 1}, {5, 1, 4}}, "float64")
    local cases = {
        {{metric = "manhattan"}, {{1.6, 1.7, 1.85, 2.05}, {1.15, 2.2, 2.55, 2.75}},
         {{37, 4, 15, 2}, {16, 34, 3, 29}}, {{0.25, 0.5, 0.25}, {0.25, 0.5, 0.25}}, {4 / 3, 7 / 3}},
        {{metric = "chebyshev"}, {{0.8, 1.0, 1.2, 1.25}, {0.75, 1.0, 1.25, 1.5}},
         {{2, 37, 4, 15}, {16, 34, 29, 21}}, {{0.25, 0.5, 0.25}, {0.25, 0.5, 0.25}}, {4 / 3, 2}},
        {{p = 3}, {{1.0192519827, 1.0673606595, 1.228264236, 1.2944785545},
                   {0.7861550066, 1.2615987097, 1.4546619669, 1.7355822223}},
         {{2, 37, 4, 15}, {16, 34, 29, 21}}, {{0.25, 0.5, 0.25}, {0.25, 0.5, 0.25}}, {4 / 3, 2}},
        {{metric = "manhattan", weights = "distance"}, {{1.6, 1.7, 1.85, 2.05}, {1.15, 2.2, 2.55, 2.75}},
         {{37, 4, 15, 2}, {16, 34, 3, 29}},
         {{0.241142573, 0.5412409588, 0.2176164683}, {0.1885456646, 0.6366210828, 0.1748332526}},
         {1.4431506528, 2.3752779123}},
    }
    for _, c in ipairs(cases) do
        local o = {n_neighbors = 4}
        for k, v in pairs(c[1]) do o[k] = v end
        local m = Mo.KNeighborsClassifier(o):fit(X, yc)
        local d, i = m:kneighbors(Q)
        lu.assertEquals(i:totable(), c[3])
        for r = 1, 2 do
            for a = 1, 4 do lu.assertAlmostEquals(d:get(r, a), c[2][r][a], 1e-9) end
            for k = 1, 3 do lu.assertAlmostEquals(m:predict_proba(Q):get(r, k), c[4][r][k], 1e-9) end
            lu.assertAlmostEquals(Mo.KNeighborsRegressor(o):fit(X, yr):predict(Q):get(r), c[5][r], 1e-9)
        end
    end
    -- p = 1 and p = math.huge are the named metrics; euclidean is the default
    local function idx(o) return Mo.KNeighborsClassifier(o):fit(X, yc):kneighbors(Q):totable() end
    lu.assertEquals(idx{metric = "minkowski", p = 1}, idx{metric = "manhattan"})
    lu.assertEquals(idx{p = math.huge}, idx{metric = "chebyshev"})
    lu.assertEquals(idx{metric = "euclidean"}, idx{})
    assert_error(function() Mo.KNeighborsClassifier{metric = "cosine"} end, "metric must be \"minkowski\"")
    assert_error(function() Mo.KNeighborsRegressor{p = 0.5} end, "p must be a number >= 1")
end

function TestKNeighbors:test_params_and_clone()
    local m = Mo.KNeighborsClassifier{n_neighbors = 3}
    lu.assertEquals(m:get_params(), {n_neighbors = 3, weights = "uniform", metric = "minkowski", p = 2})
    m:set_params{weights = "distance"}
    lu.assertEquals(m.weights, "distance")
    assert_error(function() m:set_params{n_neighbors = -1} end, "n_neighbors must be an integer >= 1")
    lu.assertEquals(m._estimator_type, "classifier")
    lu.assertEquals(Mo.KNeighborsRegressor()._estimator_type, "regressor")
    local c = require("moonforge.estimator").clone(m)
    lu.assertEquals(c:get_params(), {n_neighbors = 3, weights = "distance", metric = "minkowski", p = 2})
end

---------------------------------------------------------------- GaussianNB
TestGaussianNB = {}

-- Hand formulas: means, population variances + eps, log-sum-exp probabilities.
local function nb_ref(X, y, K, vs, priors)
    local n, p = #X, #X[1]
    local cnt, mu, var, colm, colv = {}, {}, {}, {}, {}
    for k = 1, K do cnt[k], mu[k], var[k] = 0, {}, {} for j = 1, p do mu[k][j], var[k][j] = 0, 0 end end
    for j = 1, p do colm[j], colv[j] = 0, 0 end
    for i = 1, n do
        local k = y[i] + 1
        cnt[k] = cnt[k] + 1
        for j = 1, p do mu[k][j] = mu[k][j] + X[i][j] colm[j] = colm[j] + X[i][j] / n end
    end
    for k = 1, K do for j = 1, p do mu[k][j] = mu[k][j] / cnt[k] end end
    for i = 1, n do
        local k = y[i] + 1
        for j = 1, p do
            var[k][j] = var[k][j] + (X[i][j] - mu[k][j]) ^ 2
            colv[j] = colv[j] + (X[i][j] - colm[j]) ^ 2 / n
        end
    end
    local vmax = 0
    for j = 1, p do vmax = math.max(vmax, colv[j]) end
    for k = 1, K do for j = 1, p do var[k][j] = var[k][j] / cnt[k] + vs * vmax end end
    local prior = {}
    for k = 1, K do prior[k] = priors and priors[k] or cnt[k] / n end
    local function proba(x)
        local jll, mx = {}, -math.huge
        for k = 1, K do
            local s = math.log(prior[k])
            for j = 1, p do
                s = s - 0.5 * math.log(2 * math.pi * var[k][j]) - 0.5 * (x[j] - mu[k][j]) ^ 2 / var[k][j]
            end
            jll[k] = s
            mx = math.max(mx, s)
        end
        local z = 0
        for k = 1, K do z = z + math.exp(jll[k] - mx) end
        local out = {}
        for k = 1, K do out[k] = math.exp(jll[k] - mx) / z end
        return out, jll
    end
    return {count = cnt, theta = mu, var = var, prior = prior, proba = proba}
end

function TestGaussianNB:test_fit_and_predict_against_formulas()
    local X = make_X(40, 3, 51)
    local rnd, y = lcg(52), {}
    for i = 1, 40 do
        y[i] = (X[i][1] + rnd() > 0.5) and 2 or (X[i][2] > 0 and 1 or 0)
        X[i][3] = X[i][3] * 100 + 1000 -- a large offset and scale
    end
    for _, vs in ipairs{1e-9, 0.5} do
        local m = Mo.GaussianNB{var_smoothing = vs}:fit(T(X), mf.tensor(y, "int64"))
        local ref = nb_ref(X, y, 3, vs)
        lu.assertEquals(m.classes:totable(), {0, 1, 2})
        for k = 1, 3 do
            lu.assertEquals(m.class_count:get(k), ref.count[k])
            lu.assertAlmostEquals(m.class_prior:get(k), ref.prior[k], 1e-15)
            for j = 1, 3 do
                lu.assertAlmostEquals(m.theta:get(k, j), ref.theta[k][j], 1e-12 * math.abs(ref.theta[k][j]) + 1e-13)
                lu.assertAlmostEquals(m.var:get(k, j), ref.var[k][j], 1e-10 * ref.var[k][j])
            end
        end
        local Xq = make_X(15, 3, 53)
        for i = 1, 15 do Xq[i][3] = Xq[i][3] * 100 + 1000 end
        local P, LP, pred = m:predict_proba(T(Xq)), m:predict_log_proba(T(Xq)), m:predict(T(Xq))
        local hits = 0
        for q = 1, 15 do
            local pr = ref.proba(Xq[q])
            local best = 1
            for k = 1, 3 do
                lu.assertAlmostEquals(P:get(q, k), pr[k], 1e-10)
                if pr[k] > 1e-300 then lu.assertAlmostEquals(LP:get(q, k), math.log(pr[k]), 1e-9) end
                if pr[k] > pr[best] then best = k end
            end
            lu.assertEquals(pred:get(q), best - 1)
            if best - 1 == 2 then hits = hits + 1 end
        end
        lu.assertAlmostEquals(m:score(T(Xq), mf.full({15}, 2, "int64")), hits / 15, 1e-15)
    end
end

function TestGaussianNB:test_hand_values_priors_and_strings()
    -- class "a": x = 1, 3 (mean 2, var 1); class "b": x = 10 (var 0); column
    -- variance of {1, 3, 10}: mean 14/3, var = (121 + 25 + 256) / 27 = 402/27
    local m = Mo.GaussianNB{var_smoothing = 0.1, priors = {0.25, 0.75}}:fit(T{{1}, {3}, {10}}, {"a", "a", "b"})
    local eps = 0.1 * 402 / 27
    lu.assertEquals(m.classes, {"a", "b"})
    lu.assertAlmostEquals(m.theta:get(1, 1), 2, 1e-15)
    lu.assertAlmostEquals(m.theta:get(2, 1), 10, 1e-15)
    lu.assertAlmostEquals(m.var:get(1, 1), 1 + eps, 1e-14)
    lu.assertAlmostEquals(m.var:get(2, 1), eps, 1e-14)
    lu.assertEquals(m.class_prior:totable(), {0.25, 0.75})
    lu.assertEquals(m.class_count:totable(), {2, 1})
    local function g(x, mu, v) return math.exp(-(x - mu) ^ 2 / (2 * v)) / math.sqrt(2 * math.pi * v) end
    local a, b = 0.25 * g(6, 2, 1 + eps), 0.75 * g(6, 10, eps)
    lu.assertAlmostEquals(m:predict_proba(T{{6}}):get(1, 1), a / (a + b), 1e-12)
    lu.assertEquals(m:predict(T{{6}, {2}}), {a > b and "a" or "b", "a"})
    lu.assertEquals(m:score(T{{2}, {10}}, {"a", "b"}), 1.0)
    -- far from both classes: log-sum-exp keeps the probabilities finite
    local P = m:predict_proba(T{{1e4}})
    lu.assertAlmostEquals(P:get(1, 1) + P:get(1, 2), 1.0, 1e-15)
end

function TestGaussianNB:test_errors()
    local X = T{{0, 1}, {1, 1}, {2, 0}}
    assert_error(function() Mo.GaussianNB{alpha = 1} end, "bad argument #1 to 'GaussianNB' (unknown option 'alpha'")
    assert_error(function() Mo.GaussianNB{var_smoothing = -1} end, "var_smoothing must be a finite number >= 0")
    assert_error(function() Mo.GaussianNB{priors = "flat"} end, "priors must be nil, an array or a 1-D tensor")
    assert_error(function() Mo.GaussianNB():predict(X) end, "GaussianNB: predict called before fit")
    assert_error(function() Mo.GaussianNB():fit(X, {1, 1, 1}) end, "at least 2 classes needed, y has 1")
    assert_error(function() Mo.GaussianNB{priors = {1}}:fit(X, {1, 2, 1}) end, "priors has 1 entries, y has 2 classes")
    assert_error(function() Mo.GaussianNB{priors = {0.5, 0.6}}:fit(X, {1, 2, 1}) end, "priors must sum to 1")
    assert_error(function() Mo.GaussianNB{priors = {-0.5, 1.5}}:fit(X, {1, 2, 1}) end, "priors[1] must be a number >= 0")
    assert_error(function() Mo.GaussianNB():fit(T{{0 / 0, 1}}, {1}) end, "NaN at row 1, column 1")
    assert_error(function() Mo.GaussianNB():fit(X, mf.tensor({1, 0 / 0, 2}, "float64")) end, "y contains NaN")
    local m = Mo.GaussianNB():fit(X, {1, 2, 1})
    assert_error(function() m:predict_proba(T{{1}}) end, "expected 2 columns (as in fit), got 1")
    lu.assertEquals(m._estimator_type, "classifier")
end

os.exit(lu.LuaUnit.run())
