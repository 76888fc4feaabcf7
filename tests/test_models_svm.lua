-- mf.models.SVC: scikit-learn's values on a small three-class problem
-- (printed by scikit-learn 1.2.1, libsvm inside, with the same data and
-- options; the solver takes the same steps, so support vectors and
-- iteration counts are equal and decisions agree to ~1e-7), the optimality
-- conditions and duality gap recomputed here in plain Lua, decisions
-- recomputed from the support vectors, probabilities, weights, labels of
-- every kind, thread and cache independence, and the errors.
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local support = require "support"
local assert_error = support.assert_error
local mf = require "moonforge"
local SVC = mf.models.SVC

-- 60 rows, 3 features, classes i % 3 (the reference script builds the same).
local function data()
    local X, y = {}, {}
    for i = 1, 60 do
        local c = i % 3
        X[i] = {((i * 37) % 23 - 11) / 4 + (c == 1 and 1.5 or 0),
                ((i * 53) % 29 - 14) / 5 + (c == 2 and 2.0 or 0),
                ((i * 17) % 11 - 5) / 2}
        y[i] = c
    end
    return X, y
end
local XL, YL = data()
local X = mf.tensor(XL, "float64")
local Y = mf.tensor(YL, "int64")
local XQ = mf.tensor({{0.5, -1.0, 2.0}, {-2.0, 3.0, 0.0}, {1.0, 1.0, -1.0}}, "float64")
local YB = Y:eq(1):to("int64")

local function close(actual, expected, tol, what)
    if type(expected) == "number" then
        lu.assertTrue(math.abs(actual - expected) <= tol,
                      ("%s: %.12g vs %.12g"):format(what or "value", actual, expected))
        return
    end
    lu.assertEquals(#actual, #expected, what)
    for i = 1, #expected do close(actual[i], expected[i], tol, (what or "") .. "[" .. i .. "]") end
end

local function ints(t) return t:totable() end

---------------------------------------------------------------- scikit-learn's values
local REF = {
    {opts = {kernel = "rbf"}, n_support = {20, 19, 18}, n_iter = {57, 58, 36},
     intercept = {-0.032494542102428636, -0.06435469094011312, -0.051360132606213214},
     ovr = {{2.202724292750847, 1.1293913952918035, -0.22872857103416536},
            {0.9775182507970095, -0.23481076852134986, 2.236872745823884},
            {-0.037616094273485584, 2.0463405816553917, 0.9889562304484173}},
     ovo = {{0.35803561179087573, 1.194110333441887, 0.9924877334798194},
            {0.9182996916945318, -0.9906227884736162, -1.4650199972463045},
            {-0.09550101142140602, -0.03170190171641338, 0.06596850787639869}},
     predict = {0, 2, 1}, score = 0.7},
    {opts = {kernel = "linear", C = 0.5}, n_support = {20, 14, 15}, n_iter = {49, 87, 64},
     intercept = {0.39670578162763215, 0.3307951783267751, 0.6371904409100971},
     ovo = {{0.020691058553850783, 1.7564140888271516, 2.4407584768638753},
            {2.858700012981356, -1.9690332529579393, -3.472576410741497},
            {0.1575493753788647, -0.11817806668542852, 0.3584547147909499}},
     predict = {0, 2, 0}, score = 0.6166666666666667},
    {opts = {kernel = "poly", degree = 2, gamma = 0.3, coef0 = 1.0}, n_support = {20, 16, 13},
     n_iter = {425, 278, 1344},
     intercept = {0.580744603581521, 0.8230818307543095, 1.0459060779633607},
     ovo = {{0.3300847685631013, 1.8387372168253937, 1.456250284093481},
            {2.3985845225205074, -1.8088599970858499, -5.011789577153757},
            {0.3816709439784072, 0.1458937333180903, 0.4325036860070077}},
     predict = {0, 2, 0}, score = 0.65},
    {opts = {kernel = "sigmoid", gamma = 0.05, coef0 = 0.1}, n_support = {20, 17, 17},
     n_iter = {27, 29, 34},
     intercept = {0.23531459784680542, 0.3552538206112288, 0.2631899347660627},
     ovo = {{0.06018107907556536, 1.3371745000306001, 1.3232791390383571},
            {1.9390552172601356, -1.3525992811921745, -2.079844765085171},
            {-0.020701558429280842, -0.10809065571226689, -0.1610818882866532}},
     predict = {0, 2, 2}, score = 0.6},
}

TestSVCReference = {}

function TestSVCReference:test_kernels_match_scikit_learn()
    for _, r in ipairs(REF) do
        local m = SVC(r.opts):fit(X, Y)
        local what = r.opts.kernel
        lu.assertEquals(ints(m.n_support), r.n_support, what)
        lu.assertEquals(ints(m.n_iter), r.n_iter, what)
        close(m.intercept:totable(), r.intercept, 1e-6, what .. " intercept")
        local ovo = SVC(r.opts):set_params{decision_function_shape = "ovo"}:fit(X, Y)
        close(ovo:decision_function(XQ):totable(), r.ovo, 1e-6, what .. " ovo")
        if r.ovr then close(m:decision_function(XQ):totable(), r.ovr, 1e-6, what .. " ovr") end
        lu.assertEquals(ints(m:predict(XQ)), r.predict, what)
        close(m:score(X, Y), r.score, 1e-12, what .. " score")
    end
end

function TestSVCReference:test_support_indices_grouped_by_class()
    local m = SVC{}:fit(X, Y)
    local want = {3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45, 48, 51, 54, 57, 60,
                  1, 4, 7, 10, 13, 16, 19, 22, 25, 28, 31, 37, 40, 43, 46, 49, 52, 55, 58,
                  2, 5, 8, 11, 14, 17, 20, 23, 26, 29, 32, 35, 41, 44, 47, 50, 53, 56}
    lu.assertEquals(ints(m.support), want)
    lu.assertEquals(m.support_vectors:shape(), {57, 3})
    for s, row in ipairs(want) do
        for j = 1, 3 do lu.assertEquals(m.support_vectors:get(s, j), XL[row][j]) end
    end
    lu.assertEquals(m.dual_coef:shape(), {2, 57})
    close(m.gamma_value, 0.1057976240841434, 1e-15, "gamma scale")
end

function TestSVCReference:test_binary_signs_and_linear_coef()
    local m = SVC{C = 2.0}:fit(X, YB)
    lu.assertEquals(ints(m.n_support), {26, 20})
    lu.assertEquals(ints(m.n_iter), {96})
    close(m.intercept:totable(), {-0.12403917065421186}, 1e-6, "intercept")
    local d = m:decision_function(XQ)
    lu.assertEquals(d:shape(), {3})
    close(d:totable(), {-0.8336966542753133, -1.120161274029417, -0.8290018733236308}, 1e-6, "dec")
    -- positive decisions mean classes[2]
    local dall, pred = m:decision_function(X), m:predict(X)
    for i = 1, 60 do lu.assertEquals(pred:get(i), dall:get(i) > 0 and 1 or 0) end
    local lin = SVC{kernel = "linear"}:fit(X, YB)
    close(lin.coef:totable(), {{0.5143318891534938, -0.548506202544472, -0.11474416239795282}}, 1e-6, "coef")
    close(lin.intercept:totable(), {-0.6784903780943315}, 1e-6, "linear intercept")
    -- X · coefᵀ + intercept is the decision
    close((X:matmul(lin.coef:t()):view(-1) + lin.intercept:get(1)):totable(),
          lin:decision_function(X):totable(), 1e-9, "linear decision")
    lu.assertNil(m.coef)
end

function TestSVCReference:test_balanced_class_weight()
    local m = SVC{class_weight = "balanced"}:fit(X, YB)
    lu.assertEquals(ints(m.n_support), {31, 18})
    close(m.intercept:totable(), {-0.09656920863250028}, 1e-6, "intercept")
end

---------------------------------------------------------------- optimality, in plain Lua
local function kernel(opts, a, b)
    local dot, sq = 0, 0
    for j = 1, #a do
        dot = dot + a[j] * b[j]
        sq = sq + (a[j] - b[j]) ^ 2
    end
    if opts.kernel == "linear" then return dot end
    if opts.kernel == "poly" then return (opts.gamma * dot + opts.coef0) ^ opts.degree end
    if opts.kernel == "sigmoid" then
        local z = opts.gamma * dot + opts.coef0
        return (math.exp(z) - math.exp(-z)) / (math.exp(z) + math.exp(-z))
    end
    return math.exp(-opts.gamma * sq)
end

-- Binary problem: the dual variables a_i y_i from dual_coef (classes[2]
-- positive), the decision f, and the primal / dual objectives.
local function gap_of(m, opts, y01, C, weights)
    local coef = m.dual_coef:totable()[1]
    local sup = ints(m.support)
    local b = m.intercept:get(1)
    local ay = {}
    for i = 1, 60 do ay[i] = 0 end
    for s, row in ipairs(sup) do ay[row] = coef[s] end
    local f, quad, sum_a, sum_ay, hinge = {}, 0, 0, 0, 0
    for i = 1, 60 do
        local v = b
        for j = 1, 60 do
            if ay[j] ~= 0 then v = v + ay[j] * kernel(opts, XL[j], XL[i]) end
        end
        f[i] = v
        quad = quad + ay[i] * (v - b)
        sum_a = sum_a + math.abs(ay[i])
        sum_ay = sum_ay + ay[i]
    end
    local bounds_ok = true
    for i = 1, 60 do
        local yi = y01[i] == 1 and 1 or -1
        local Ci = C * (weights and weights[i] or 1)
        hinge = hinge + Ci * math.max(0, 1 - yi * f[i])
        -- a_i y_i has the sign of y_i and 0 <= a_i <= C_i
        if ay[i] * yi < -1e-12 or math.abs(ay[i]) > Ci + 1e-9 then bounds_ok = false end
    end
    local primal = 0.5 * quad + hinge
    local dual = sum_a - 0.5 * quad
    return primal, dual, sum_ay, bounds_ok, f, ay
end

TestSVCOptimality = {}

function TestSVCOptimality:test_duality_gap_below_tolerance()
    local yb = ints(YB)
    for _, opts in ipairs{{kernel = "rbf", gamma = 0.5}, {kernel = "linear"},
                          {kernel = "poly", gamma = 0.3, coef0 = 1, degree = 2}} do
        for _, tol in ipairs{1e-3, 1e-7} do
            local o = {C = 1.5, tol = tol}
            for k, v in pairs(opts) do o[k] = v end
            local m = SVC(o):fit(X, YB)
            local primal, dual, sum_ay, bounds_ok = gap_of(m, o, yb, 1.5)
            lu.assertTrue(bounds_ok, opts.kernel .. ": 0 <= a <= C")
            close(sum_ay, 0, 1e-10, opts.kernel .. ": sum a y")
            lu.assertTrue(primal >= dual - 1e-9, opts.kernel .. ": weak duality")
            -- the gap shrinks with tol: SMO stops when the largest KKT violation is below it
            local rel = (primal - dual) / math.abs(primal)
            lu.assertTrue(rel < (tol < 1e-6 and 1e-6 or 0.02),
                          ("%s tol %g: relative gap %g"):format(opts.kernel, tol, rel))
        end
    end
end

function TestSVCOptimality:test_kkt_conditions_at_tight_tolerance()
    local o = {kernel = "rbf", gamma = 0.5, C = 1.5, tol = 1e-9}
    local m = SVC(o):fit(X, YB)
    local _, _, _, _, f, ay = gap_of(m, o, ints(YB), 1.5)
    local yb = ints(YB)
    for i = 1, 60 do
        local yi = yb[i] == 1 and 1 or -1
        local a, margin = math.abs(ay[i]), yi * f[i]
        if a == 0 then lu.assertTrue(margin >= 1 - 1e-6, "a = 0 needs y f >= 1")
        elseif a >= 1.5 - 1e-12 then lu.assertTrue(margin <= 1 + 1e-6, "a = C needs y f <= 1")
        else close(margin, 1, 1e-6, "free a needs y f = 1") end
    end
end

function TestSVCOptimality:test_decisions_recomputed_from_support_vectors()
    for _, opts in ipairs{{kernel = "rbf", gamma = 0.2}, {kernel = "sigmoid", gamma = 0.05, coef0 = 0.1},
                          {kernel = "poly", gamma = 0.3, coef0 = 1, degree = 3}} do
        local o = {decision_function_shape = "ovo"}
        for k, v in pairs(opts) do o[k] = v end
        local m = SVC(o):fit(X, Y)
        local sv, coef, ns = m.support_vectors:totable(), m.dual_coef:totable(), ints(m.n_support)
        local start = {1, 1 + ns[1], 1 + ns[1] + ns[2]}
        local dec = m:decision_function(XQ):totable()
        local q = 0
        for a = 1, 3 do
            for b = a + 1, 3 do
                q = q + 1
                for r, x in ipairs(XQ:totable()) do
                    local s = m.intercept:get(q)
                    for t = start[a], start[a] + ns[a] - 1 do s = s + coef[b - 1][t] * kernel(opts, sv[t], x) end
                    for t = start[b], start[b] + ns[b] - 1 do s = s + coef[a][t] * kernel(opts, sv[t], x) end
                    close(dec[r][q], s, 1e-9, opts.kernel .. " pair " .. q)
                end
            end
        end
    end
end

function TestSVCOptimality:test_ovr_shape_from_votes_and_confidences()
    local m = SVC{}:fit(X, Y)
    local ovo = SVC{decision_function_shape = "ovo"}:fit(X, Y):decision_function(X):totable()
    local ovr = m:decision_function(X):totable()
    local pred = ints(m:predict(X))
    for i = 1, 60 do
        local d = ovo[i]
        local votes, conf = {0, 0, 0}, {0, 0, 0}
        local pairs_ = {{1, 2}, {1, 3}, {2, 3}}
        for q, p in ipairs(pairs_) do
            if d[q] < 0 then votes[p[2]] = votes[p[2]] + 1 else votes[p[1]] = votes[p[1]] + 1 end
            conf[p[1]] = conf[p[1]] + d[q]
            conf[p[2]] = conf[p[2]] - d[q]
        end
        local best = 1
        for k = 1, 3 do
            close(ovr[i][k], votes[k] + conf[k] / (3 * (math.abs(conf[k]) + 1)), 1e-12, "ovr")
            if votes[k] > votes[best] then best = k end
        end
        lu.assertEquals(pred[i], best - 1)
    end
    -- break_ties: the largest ovr decision
    local bt = SVC{break_ties = true}:fit(X, Y)
    local p2 = ints(bt:predict(X))
    for i = 1, 60 do
        local best = 1
        for k = 2, 3 do if ovr[i][k] > ovr[i][best] then best = k end end
        lu.assertEquals(p2[i], best - 1)
    end
end

---------------------------------------------------------------- probabilities
TestSVCProba = {}

function TestSVCProba:test_binary_is_the_platt_sigmoid()
    local m = SVC{probability = true, seed = 3}:fit(X, YB)
    local P = m:predict_proba(X):totable()
    local d = m:decision_function(X):totable()
    local A, B = m.prob_a:get(1), m.prob_b:get(1)
    lu.assertTrue(A < 0, "libsvm's orientation: P(classes[1]) grows with -d")
    for i = 1, 60 do
        -- libsvm's pair decision is -d (positive for classes[1])
        local p1 = 1 / (1 + math.exp(-d[i] * A + B))
        p1 = math.min(math.max(p1, 1e-7), 1 - 1e-7)
        close(P[i][1], p1, 1e-12, "p(classes[1])")
        close(P[i][1] + P[i][2], 1, 1e-12, "sum")
    end
    close(m:predict_log_proba(XQ):totable(), m:predict_proba(XQ):log():totable(), 1e-12, "log")
end

function TestSVCProba:test_multiclass_coupled_probabilities()
    local m = SVC{probability = true}:fit(X, Y)
    local P = m:predict_proba(X)
    lu.assertEquals(P:shape(), {60, 3})
    close(P:sum(2):totable(), mf.ones({60}, "float64"):totable(), 1e-9, "rows sum to 1")
    lu.assertTrue(P:min():item() >= 0 and P:max():item() <= 1)
    -- probabilities agree with the votes on most rows, and beat chance
    local agree = P:argmax(2):view(-1):sub(1):eq(m:predict(X)):to("float64"):mean():item()
    lu.assertTrue(agree > 0.85, "agreement " .. agree)
    -- deterministic for a seed, different folds for another
    local again = SVC{probability = true}:fit(X, Y)
    lu.assertEquals(again.prob_a:totable(), m.prob_a:totable())
    local other = SVC{probability = true, seed = 9}:fit(X, Y)
    lu.assertNotEquals(other.prob_a:totable(), m.prob_a:totable())
    -- the decision is the same with or without probabilities
    close(other:decision_function(XQ):totable(), SVC{}:fit(X, Y):decision_function(XQ):totable(), 1e-12)
end

---------------------------------------------------------------- weights, labels, determinism
TestSVCMisc = {}

function TestSVCMisc:test_string_labels_and_classes()
    local names = {"low", "mid", "high"}
    local ys = {}
    for i = 1, 60 do ys[i] = names[YL[i] + 1] end
    local m = SVC{}:fit(X, ys)
    lu.assertEquals(m.classes, {"high", "low", "mid"})
    local p = m:predict(XQ)
    local pn = ints(SVC{}:fit(X, Y):predict(XQ))
    for i = 1, 3 do lu.assertEquals(p[i], names[pn[i] + 1]) end
    close(m:score(X, ys), 0.7, 1e-12)
end

function TestSVCMisc:test_table_input_selects_columns_by_name()
    local t = mf.data.from_columns({a = X:select(2, 1):contiguous(), b = X:select(2, 2):contiguous(),
                                    c = X:select(2, 3):contiguous()}, {order = {"a", "b", "c"}})
    local m = SVC{}:fit(t, Y)
    lu.assertEquals(m.feature_names_in, {"a", "b", "c"})
    local swapped = t:select{"c", "a", "b"}
    lu.assertEquals(ints(m:predict(swapped)), ints(SVC{}:fit(X, Y):predict(X)))
end

function TestSVCMisc:test_zero_sample_weight_drops_rows()
    local w = mf.ones({60}, "float64")
    local keep = {}
    for i = 1, 60 do
        if i % 7 == 0 then w:set(i, 0) else keep[#keep + 1] = i end
    end
    local a = SVC{}:fit(X, Y, w)
    local b = SVC{gamma = a.gamma_value}:fit(X:index(1, keep), Y:index(1, keep))
    close(a:decision_function(XQ):totable(), b:decision_function(XQ):totable(), 1e-12, "dec")
    for _, r in ipairs(ints(a.support)) do lu.assertNotEquals(r % 7, 0) end
end

function TestSVCMisc:test_sample_weight_scales_c()
    local w = mf.full({60}, 2.0, "float64")
    local a = SVC{C = 0.5}:fit(X, Y, w)
    local b = SVC{C = 1.0}:fit(X, Y)
    close(a:decision_function(XQ):totable(), b:decision_function(XQ):totable(), 1e-12, "dec")
end

function TestSVCMisc:test_cache_and_threads_do_not_change_results()
    local base = SVC{tol = 1e-6}:fit(X, Y)
    local tiny = SVC{tol = 1e-6, cache_size = 1e-4}:fit(X, Y) -- two rows: constant eviction
    lu.assertEquals(tiny.dual_coef:totable(), base.dual_coef:totable())
    lu.assertEquals(tiny.intercept:totable(), base.intercept:totable())
    local old = mf.get_num_threads()
    mf.set_num_threads(1)
    local one = SVC{tol = 1e-6, probability = true}:fit(X, Y)
    local p1 = one:predict_proba(X)
    mf.set_num_threads(old)
    local many = SVC{tol = 1e-6, probability = true}:fit(X, Y)
    lu.assertEquals(many.dual_coef:totable(), one.dual_coef:totable())
    lu.assertEquals(many:predict_proba(X):totable(), p1:totable())
end

function TestSVCMisc:test_gamma_auto_and_number()
    local m = SVC{gamma = "auto"}:fit(X, Y)
    close(m.gamma_value, 1 / 3, 1e-15)
    local n = SVC{gamma = 1 / 3}:fit(X, Y)
    lu.assertEquals(n.dual_coef:totable(), m.dual_coef:totable())
end

function TestSVCMisc:test_max_iter_warns()
    local warnings = mf.capture_warnings(function() SVC{max_iter = 3}:fit(X, Y) end)
    lu.assertEquals(#warnings, 1)
    lu.assertStrContains(warnings[1], "SVC: solver terminated early (max_iter = 3)")
    lu.assertEquals(#mf.capture_warnings(function() SVC{}:fit(X, Y) end), 0)
end

function TestSVCMisc:test_pipeline_and_cross_validation()
    local pipe = mf.Pipeline{mf.preprocess.StandardScaler{}, SVC{}}
    local scores = mf.model_selection.cross_val_score(pipe, X, Y, {cv = 3})
    lu.assertEquals(scores:size(1), 3)
    for _, s in ipairs(scores:totable()) do lu.assertTrue(s > 0.4 and s <= 1) end
    local gs = mf.model_selection.GridSearchCV{estimator = SVC{}, param_grid = {C = {0.5, 5}, gamma = {0.1, 1}},
                                               cv = 3}:fit(X, Y)
    lu.assertNotNil(gs.best_params.C)
    local c = mf.clone(SVC{C = 3, kernel = "poly"})
    lu.assertEquals(c:get_params().C, 3)
    lu.assertEquals(c:get_params().kernel, "poly")
end

---------------------------------------------------------------- bad input
TestSVCErrors = {}

function TestSVCErrors:test_options()
    assert_error(function() SVC{kernal = "rbf"} end, "unknown option 'kernal'")
    assert_error(function() SVC{kernel = "precomputed"} end, "kernel must be \"rbf\", \"linear\", \"poly\" or \"sigmoid\", got precomputed")
    assert_error(function() SVC{C = 0} end, "C must be a finite number > 0, got 0")
    assert_error(function() SVC{gamma = -1} end, "gamma must be \"scale\", \"auto\" or a finite number > 0, got -1")
    assert_error(function() SVC{degree = 2.5} end, "degree must be an integer >= 0, got 2.5")
    assert_error(function() SVC{max_iter = 0} end, "max_iter must be an integer >= 1 or -1 (no limit), got 0")
    assert_error(function() SVC{break_ties = true, decision_function_shape = "ovo"} end, "break_ties needs decision_function_shape = \"ovr\"")
    assert_error(function() SVC{probability = "yes"} end, "probability must be a boolean, got string")
    assert_error(function() SVC{}:set_params{tol = -1} end, "bad argument #1 to 'SVC:set_params' (tol must be a finite number > 0, got -1)")
end

function TestSVCErrors:test_fit_and_predict_input()
    assert_error(function() SVC{}:fit(X, Y:narrow(1, 1, 59)) end, "bad argument #2 to 'SVC:fit' (y has 59 labels, X has 60 rows)")
    assert_error(function() SVC{}:fit(X, mf.zeros({60}, "int64")) end, "bad argument #2 to 'SVC:fit' (at least 2 classes needed, y has 1)")
    local bad = X:clone()
    bad:set(4, 2, 0 / 0)
    assert_error(function() SVC{}:fit(bad, Y) end, "bad argument #1 to 'SVC:fit' (NaN at row 4, column 2")
    bad:set(4, 2, math.huge)
    assert_error(function() SVC{}:fit(bad, Y) end, "infinity at row 4, column 2")
    assert_error(function() SVC{}:predict(X) end, "SVC: predict called before fit")
    assert_error(function() SVC{}:predict_proba(X) end, "SVC: predict_proba called before fit")
    local m = SVC{}:fit(X, Y)
    assert_error(function() m:predict(X:narrow(2, 1, 2)) end, "bad argument #1 to 'SVC:predict' (expected 3 columns (as in fit), got 2)")
    assert_error(function() m:predict_proba(X) end, "SVC:predict_proba: probabilities need probability = true at fit")
    assert_error(function() SVC{}:fit(X, Y, mf.ones({3})) end, "bad argument #3 to 'SVC:fit' (sample_weight: 1-D tensor of 60 weights expected, got shape [3])")
    local w = mf.ones({60}, "float64")
    w:set(5, -1)
    assert_error(function() SVC{}:fit(X, Y, w) end, "sample_weight: weight -1.0 at 5 is not a finite number >= 0")
    assert_error(function() SVC{class_weight = {[7] = 2}}:fit(X, Y) end, "class_weight: label 7 is not a class of y")
    local w0 = mf.ones({60}, "float64")
    for i = 1, 60 do if i % 3 == 1 then w0:set(i, 0) end end
    assert_error(function() SVC{}:fit(X, Y, w0) end, "class 1 has no rows of weight > 0")
end

os.exit(lu.LuaUnit.run())
