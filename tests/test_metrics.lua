-- mf.metrics: every metric against scikit-learn's results (computed with
-- scikit-learn 1.2 and written down here), against plain-Lua loops on random
-- small inputs, the errors, the scorers, the SVG plots and 1M-element inputs.
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local support = require "support"
local assert_error = support.assert_error
local mf = require "moonforge"
local m = mf.metrics

local function close(a, b, tol, msg) lu.assertAlmostEquals(a, b, tol or 1e-12, msg) end

local function assert_vec(t, expect, tol, msg)
    local got = mf.is_tensor(t) and t:totable() or t
    lu.assertEquals(#got, #expect, msg)
    for i = 1, #expect do
        if expect[i] ~= expect[i] then
            lu.assertTrue(got[i] ~= got[i], msg)
        elseif expect[i] == math.huge then
            lu.assertEquals(got[i], math.huge, msg)
        else
            close(got[i], expect[i], tol or 1e-12, ("%s [%d]"):format(msg or "", i))
        end
    end
end

-- deterministic pseudo-random integers in [0, k)
local function lcg_labels(n, k, seed)
    local s, out = seed, {}
    for i = 1, n do
        s = (s * 1103515245 + 12345) % 2147483648
        out[i] = (s >> 8) % k
    end
    return out
end

-- precision / recall / f1 per class by plain loops
local function lua_prf(yt, yp, classes)
    local P, R, F, S = {}, {}, {}, {}
    for i, c in ipairs(classes) do
        local tp, t, p = 0, 0, 0
        for j = 1, #yt do
            if yt[j] == c then t = t + 1 end
            if yp[j] == c then p = p + 1 end
            if yt[j] == c and yp[j] == c then tp = tp + 1 end
        end
        P[i] = p > 0 and tp / p or 0
        R[i] = t > 0 and tp / t or 0
        F[i] = (t + p) > 0 and 2 * tp / (t + p) or 0
        S[i] = t
    end
    return P, R, F, S
end

local function quiet(f, ...)
    local r
    local args = table.pack(...)
    mf.capture_warnings(function() r = table.pack(f(table.unpack(args, 1, args.n))) end)
    return table.unpack(r, 1, r.n)
end

TestClassification = {}

function TestClassification:test_accuracy()
    close(m.accuracy({ 0, 2, 1, 3 }, { 0, 1, 2, 3 }), 0.5)
    lu.assertEquals(m.accuracy({ 0, 2, 1, 3 }, { 0, 1, 2, 3 }, { normalize = false }), 2)
    close(m.accuracy(mf.tensor({ 1, 2, 3 }, "int64"), mf.tensor({ 1, 2, 4 }, "float32")), 2 / 3)
    close(m.accuracy({ "a", "b", "c" }, { "a", "x", "c" }), 2 / 3)
    -- a Table's string column, and its {codes, levels} form
    local tbl = mf.data.from_columns({ g = { "b", "a", "b" } })
    close(m.accuracy(tbl.g, { "b", "b", "b" }), 2 / 3)
    close(m.accuracy({ codes = mf.tensor({ 2, 1, 2 }, "int64"), levels = { "a", "b" } }, { "b", "b", "b" }), 2 / 3)
    -- n x 1 tensors and bool tensors
    close(m.accuracy(mf.tensor({ { 1 }, { 0 } }), mf.tensor({ true, true })), 0.5)
end

function TestClassification:test_sklearn_doc_example()
    -- scikit-learn's f1_score / precision_score docstring example
    local yt, yp = { 0, 1, 2, 0, 1, 2 }, { 0, 2, 1, 0, 0, 1 }
    close(m.f1(yt, yp, { average = "macro" }), 0.26666666666666666)
    close(m.f1(yt, yp, { average = "micro" }), 0.3333333333333333)
    close(m.f1(yt, yp, { average = "weighted" }), 0.26666666666666666)
    assert_vec(m.f1(yt, yp, { average = "none" }), { 0.8, 0, 0 })
    assert_vec(m.precision(yt, yp, { average = "none", zero_division = 0 }), { 2 / 3, 0, 0 })
    close(m.recall(yt, yp, { average = "macro" }), 0.3333333333333333)
    close(quiet(m.precision, yt, yp, { average = "macro" }), 0.2222222222222222)
end

function TestClassification:test_binary_and_pos_label()
    close(m.precision({ 1, 2, 1, 2 }, { 1, 1, 1, 2 }, { pos_label = 2 }), 1.0)
    close(m.recall({ 1, 2, 1, 2 }, { 1, 1, 1, 2 }, { pos_label = 2 }), 0.5)
    close(m.f1({ 0, 1, 1, 0, 1 }, { 0, 1, 0, 0, 1 }), 0.8)
    close(m.f1({ "no", "yes", "yes" }, { "yes", "yes", "no" }, { pos_label = "yes" }), 0.5)
    -- weighted f1 of strings (scikit-learn: 0.65)
    close(m.f1({ "a", "b", "a", "c" }, { "a", "a", "a", "c" }, { average = "weighted" }), 0.65)
end

function TestClassification:test_random_against_loops()
    for seed = 1, 4 do
        local n, k = 200, 2 + seed
        local yt, yp = lcg_labels(n, k, seed), lcg_labels(n, k, seed + 100)
        local classes = {}
        for c = 0, k - 1 do classes[#classes + 1] = c end
        local P, R, F, S = lua_prf(yt, yp, classes)
        local p, r, f, s = quiet(m.precision_recall_fscore_support, mf.tensor(yt, "int64"), yp)
        assert_vec(p, P); assert_vec(r, R); assert_vec(f, F); assert_vec(s, S)
        local macro, weighted, tot = 0, 0, 0
        for i = 1, k do macro = macro + F[i] / k; weighted = weighted + F[i] * S[i]; tot = tot + S[i] end
        close(quiet(m.f1, yt, yp, { average = "macro" }), macro, 1e-12)
        close(quiet(m.f1, yt, yp, { average = "weighted" }), weighted / tot, 1e-12)
        local hits = 0
        for i = 1, n do if yt[i] == yp[i] then hits = hits + 1 end end
        close(m.f1(yt, yp, { average = "micro" }), hits / n)
        close(m.accuracy(yt, yp), hits / n)
        -- balanced accuracy = mean recall
        local br = 0
        for i = 1, k do br = br + R[i] / k end
        close(m.balanced_accuracy(yt, yp), br)
        -- confusion matrix by loops
        local cm = m.confusion_matrix(yt, yp):totable()
        for a = 0, k - 1 do
            for b = 0, k - 1 do
                local c = 0
                for i = 1, n do if yt[i] == a and yp[i] == b then c = c + 1 end end
                lu.assertEquals(cm[a + 1][b + 1], c)
            end
        end
    end
end

function TestClassification:test_fbeta_and_prfs()
    local yt, yp = { 0, 1, 2, 0, 1, 2 }, { 0, 2, 1, 0, 0, 1 }
    close(m.fbeta(yt, yp, { beta = 0.5, average = "macro" }), 0.23809523809523805)
    assert_vec(m.fbeta(yt, yp, { beta = 0.5, average = "none" }), { 0.7142857142857143, 0, 0 })
    close(m.fbeta({ 0, 1, 1, 0, 1 }, { 0, 1, 0, 0, 1 }, { beta = 2 }), 0.7142857142857142)
    assert_error(function() m.fbeta(yt, yp) end, "bad argument #3 to 'fbeta'", "beta")
    local p, r, f, s = m.precision_recall_fscore_support({ 0, 1, 1, 0, 1 }, { 0, 1, 0, 0, 1 }, { average = "macro" })
    close(p, 0.8333333333333333); close(r, 0.8333333333333333); close(f, 0.8); lu.assertNil(s)
end

function TestClassification:test_zero_division()
    local w = mf.capture_warnings(function()
        close(m.precision({ 0, 1, 1 }, { 0, 0, 0 }), 0.0)
    end)
    lu.assertEquals(#w, 1)
    lu.assertStrContains(w[1], "Precision is ill-defined")
    close(m.f1({ 0, 0, 0 }, { 0, 0, 0 }, { zero_division = 1 }), 1.0)
    lu.assertEquals(#mf.capture_warnings(function()
        close(m.recall({ 0, 0 }, { 1, 0 }, { zero_division = 1 }), 1.0)
        close(m.recall({ 0, 0 }, { 0, 0 }, { zero_division = 0 }), 0.0)
    end), 0)
    local nan = m.precision({ 0, 1 }, { 0, 0 }, { zero_division = 0 / 0 })
    lu.assertTrue(nan ~= nan)
end

function TestClassification:test_labels_option()
    -- a label that never occurs counts as a class with zeros
    local _, _, f = quiet(m.precision_recall_fscore_support, { 0, 1 }, { 0, 1 }, { labels = { 0, 1, 2 } })
    assert_vec(f, { 1, 1, 0 })
    close(quiet(m.f1, { 0, 1 }, { 0, 1 }, { labels = { 0, 1, 2 }, average = "macro" }), 2 / 3)
    -- a subset: micro over labels 1, 2 only (scikit-learn report below)
    close(m.f1({ 1, 2, 3, 2 }, { 1, 2, 2, 3 }, { labels = { 1, 2 }, average = "micro" }), 2 / 3)
end

function TestClassification:test_confusion_matrix()
    local cm, labels = m.confusion_matrix({ 2, 0, 2, 2, 0, 1 }, { 0, 0, 2, 2, 0, 2 })
    lu.assertEquals(cm:dtype(), "int64")
    lu.assertEquals(cm:totable(), { { 2, 0, 0 }, { 0, 0, 1 }, { 1, 0, 2 } })
    lu.assertEquals(labels, { 0, 1, 2 })
    local cm2, l2 = m.confusion_matrix({ "cat", "ant", "cat", "cat", "ant", "bird" },
        { "ant", "ant", "cat", "cat", "ant", "cat" })
    lu.assertEquals(cm2:totable(), { { 2, 0, 0 }, { 0, 0, 1 }, { 1, 0, 2 } })
    lu.assertEquals(l2, { "ant", "bird", "cat" })
    -- labels order given, other samples left out
    local cm3 = m.confusion_matrix({ "cat", "ant", "cat", "dog" }, { "ant", "ant", "cat", "cat" },
        { labels = { "cat", "ant" } })
    lu.assertEquals(cm3:totable(), { { 1, 1 }, { 0, 1 } })
    local cn = m.confusion_matrix({ 0, 1, 0, 1 }, { 1, 1, 1, 0 }, { normalize = "true" })
    lu.assertEquals(cn:totable(), { { 0, 1 }, { 0.5, 0.5 } })
    local cp = m.confusion_matrix({ 0, 1, 0, 1, 2 }, { 1, 1, 1, 0, 2 }, { normalize = "pred" })
    lu.assertEquals(cp:dtype(), "float64")
    lu.assertEquals(cp:totable(), { { 0, 2 / 3, 0 }, { 1, 1 / 3, 0 }, { 0, 0, 1 } })
    local ca = m.confusion_matrix({ 0, 1, 0, 1, 2 }, { 1, 1, 1, 0, 2 }, { normalize = "all" })
    lu.assertEquals(ca:totable(), { { 0, 2 / 5, 0 }, { 1 / 5, 1 / 5, 0 }, { 0, 0, 1 / 5 } })
    assert_error(function() m.confusion_matrix({ 1 }, { 1 }, { normalize = "rows" }) end,
        "bad argument #3 to 'confusion_matrix'", "normalize")
    -- labels that never occur give zero rows and columns
    lu.assertEquals(m.confusion_matrix({ 0, 1 }, { 1, 1 }, { labels = { 0, 1, 2 } }):totable(),
        { { 0, 1, 0 }, { 0, 1, 0 }, { 0, 0, 0 } })
    assert_error(function() m.confusion_matrix({ 1, 2 }, { 1, 2 }, { labels = { 5 } }) end,
        "confusion_matrix", "at least one label")
end

function TestClassification:test_balanced_accuracy()
    close(m.balanced_accuracy({ 0, 1, 0, 0, 1, 0 }, { 0, 1, 0, 0, 0, 1 }), 0.625)
    close(m.balanced_accuracy({ 0, 1, 0, 0, 1, 0 }, { 0, 1, 0, 0, 0, 1 }, { adjusted = true }), 0.25)
    local w = mf.capture_warnings(function() m.balanced_accuracy({ 0, 0 }, { 0, 1 }) end)
    lu.assertStrContains(w[1], "not in y_true")
end

function TestClassification:test_report_layout()
    local rep = m.classification_report({ 0, 1, 2, 2, 2 }, { 0, 0, 2, 2, 1 },
        { target_names = { "class 0", "class 1", "class 2" } })
    lu.assertEquals(rep, table.concat({
        "              precision    recall  f1-score   support",
        "",
        "     class 0       0.50      1.00      0.67         1",
        "     class 1       0.00      0.00      0.00         1",
        "     class 2       1.00      0.67      0.80         3",
        "",
        "    accuracy                           0.60         5",
        "   macro avg       0.50      0.56      0.49         5",
        "weighted avg       0.70      0.60      0.61         5",
        "" }, "\n"))
    rep = m.classification_report({ "cat", "dog", "cat", "bird", "dog" }, { "cat", "cat", "cat", "bird", "dog" },
        { digits = 3 })
    lu.assertEquals(rep, table.concat({
        "              precision    recall  f1-score   support",
        "",
        "        bird      1.000     1.000     1.000         1",
        "         cat      0.667     1.000     0.800         2",
        "         dog      1.000     0.500     0.667         2",
        "",
        "    accuracy                          0.800         5",
        "   macro avg      0.889     0.833     0.822         5",
        "weighted avg      0.867     0.800     0.787         5",
        "" }, "\n"))
    -- labels a subset: a micro avg line instead of accuracy
    rep = m.classification_report({ 1, 2, 3, 2 }, { 1, 2, 2, 3 }, { labels = { 1, 2 } })
    lu.assertEquals(rep, table.concat({
        "              precision    recall  f1-score   support",
        "",
        "           1       1.00      1.00      1.00         1",
        "           2       0.50      0.50      0.50         2",
        "",
        "   micro avg       0.67      0.67      0.67         3",
        "   macro avg       0.75      0.75      0.75         3",
        "weighted avg       0.67      0.67      0.67         3",
        "" }, "\n"))
    local d = m.classification_report({ 0, 1, 1 }, { 0, 1, 0 }, { output_dict = true })
    close(d["1"].recall, 0.5)
    close(d.accuracy, 2 / 3)
    lu.assertEquals(d["weighted avg"].support, 3)
    -- a long label widens the first column
    rep = m.classification_report({ "a_very_long_label", "b" }, { "a_very_long_label", "b" })
    lu.assertStrContains(rep, "\na_very_long_label       1.00")
end

function TestClassification:test_errors()
    assert_error(function() m.accuracy({ 1, 2 }, { 1 }) end, "bad argument #2 to 'accuracy'", "1 elements", "2")
    assert_error(function() m.f1({}, {}) end, "bad argument #1 to 'f1'", "empty")
    assert_error(function() m.f1({ 0, 1, 2 }, { 0, 1, 2 }) end, "bad argument #3 to 'f1'", "multiclass")
    assert_error(function() m.f1({ 0, 1 }, { 0, 1 }, { average = "samples" }) end,
        "bad argument #3 to 'f1'", "average")
    assert_error(function() m.f1({ 0, 1 }, { 0, 1 }, { avg = "macro" }) end, "bad argument #3 to 'f1'", "avg")
    assert_error(function() m.f1({ "a", "b" }, { "a", "b" }) end, "pos_label", "a, b")
    assert_error(function() m.accuracy(mf.tensor({ 1, 0 }), mf.tensor({ 0 / 0, 1 })) end,
        "bad argument #2 to 'accuracy'", "NaN")
    assert_error(function() m.accuracy({ 1, 0 }, { 1, "x" }) end, "bad argument #2 to 'accuracy'", "mix")
    assert_error(function() m.accuracy({ "a", "b" }, { 1, 2 }) end, "accuracy", "mix of string and number")
    assert_error(function() m.accuracy(5, { 1 }) end, "bad argument #1 to 'accuracy'", "number")
    assert_error(function() m.accuracy(mf.zeros(2, 2), mf.zeros(2, 2)) end, "bad argument #1 to 'accuracy'", "1-D")
    assert_error(function() m.f1({ 0, 1 }, { 0, 1 }, { zero_division = 2 }) end, "zero_division")
    assert_error(function() m.accuracy({ "a", mf.data.NA }, { "a", "b" }) end,
        "bad argument #1 to 'accuracy'", "missing value (at [2])")
    assert_error(function() m.classification_report({ 0, 1 }, { 0, 1 }, { digits = -1 }) end, "digits")
end

TestCurves = {}

function TestCurves:test_roc_auc_sklearn()
    close(m.roc_auc({ 0, 0, 1, 1 }, { 0.1, 0.4, 0.35, 0.8 }), 0.75)
    -- ties: scikit-learn gives 0.6666666666666667
    close(m.roc_auc({ 0, 0, 1, 1, 1, 0, 1 }, { 0.5, 0.5, 0.5, 0.9, 0.2, 0.1, 0.5 }), 0.6666666666666667)
    -- the greater label is the positive class
    close(m.roc_auc({ "b", "b", "a", "a" }, { 0.1, 0.4, 0.35, 0.8 }), 0.25)
end

function TestCurves:test_roc_auc_ovr()
    local y = { 0, 1, 2, 2, 1, 0, 2, 1 }
    local P = { { .6, .3, .1 }, { .2, .5, .3 }, { .1, .2, .7 }, { .3, .3, .4 }, { .5, .4, .1 }, { .4, .4, .2 },
        { .2, .6, .2 }, { .3, .3, .4 } }
    close(m.roc_auc(y, P, { multi_class = "ovr" }), 0.7833333333333333)
    -- the same as the mean of the one-vs-rest binary AUCs
    local Pt, mean = mf.tensor(P, "float64"), 0
    for k = 0, 2 do
        local yk = {}
        for i = 1, #y do yk[i] = y[i] == k and 1 or 0 end
        mean = mean + m.roc_auc(yk, Pt:select(2, k + 1)) / 3
    end
    close(m.roc_auc(y, Pt, { multi_class = "ovr" }), mean)
    local y9 = { 0, 1, 2, 2, 1, 0, 2, 1, 1 }
    P[9] = { .2, .5, .3 }
    close(m.roc_auc(y9, P, { multi_class = "ovr", average = "weighted" }), 0.7656084656084656)
    -- labels name the columns
    local ys = { "a", "b", "c", "c", "b", "a", "c", "b", "b" }
    close(m.roc_auc(ys, P, { multi_class = "ovr", average = "weighted", labels = { "a", "b", "c" } }),
        0.7656084656084656)
    assert_error(function() m.roc_auc(y, Pt) end, "bad argument #2 to 'roc_auc'", "multi_class")
    assert_error(function() m.roc_auc(y, Pt * 2, { multi_class = "ovr" }) end, "probabilities")
    assert_error(function() m.roc_auc(y, Pt:narrow(2, 1, 2), { multi_class = "ovr" }) end, "2 columns", "3 classes")
    assert_error(function() m.roc_auc({ 0, 1, 0 }, { .1, .2, .3 }, { average = "weighted" }) end,
        "bad argument #3 to 'roc_auc'", "ovr")
    local est = { classes = mf.tensor({ 0, 1, 2 }, "int64"), predict_proba = function() return Pt end }
    close(m.get_scorer("roc_auc_ovr")(est, nil, y), 0.7833333333333333)
end

function TestCurves:test_roc_auc_pairs()
    -- AUC = P(score_pos > score_neg) + P(equal) / 2, counted over all pairs
    for seed = 1, 3 do
        local n = 150
        local y = lcg_labels(n, 2, seed)
        local s = lcg_labels(n, 20, seed + 7) -- many ties
        local num, den = 0, 0
        for i = 1, n do
            if y[i] == 1 then
                for j = 1, n do
                    if y[j] == 0 then
                        den = den + 1
                        if s[i] > s[j] then num = num + 1 elseif s[i] == s[j] then num = num + 0.5 end
                    end
                end
            end
        end
        close(m.roc_auc(y, s), num / den, 1e-12)
        close(m.roc_auc(y, mf.tensor(s, "float32")), num / den, 1e-12)
        local fpr, tpr = m.roc_curve(y, s)
        close(m.auc(fpr, tpr), num / den, 1e-12)
        local fpr2, tpr2 = m.roc_curve(y, s, { drop_intermediate = false })
        close(m.auc(fpr2, tpr2), num / den, 1e-12)
    end
end

function TestCurves:test_roc_curve_sklearn()
    local y = { 0, 0, 1, 1, 1, 0, 1, 0, 1 }
    local s = { 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9 }
    local fpr, tpr, thr = m.roc_curve(y, s)
    assert_vec(fpr, { 0, 0, 0.25, 0.25, 0.5, 0.5, 1 })
    assert_vec(tpr, { 0, 0.2, 0.2, 0.4, 0.4, 1, 1 })
    assert_vec(thr, { math.huge, 0.9, 0.8, 0.7, 0.6, 0.3, 0.1 })
    fpr, tpr, thr = m.roc_curve(y, s, { drop_intermediate = false })
    assert_vec(fpr, { 0, 0, 0.25, 0.25, 0.5, 0.5, 0.5, 0.5, 0.75, 1 })
    assert_vec(tpr, { 0, 0.2, 0.2, 0.4, 0.4, 0.6, 0.8, 1, 1, 1 })
    lu.assertEquals(thr:numel(), 10)
    -- ties and pos_label
    fpr, tpr, thr = m.roc_curve({ 1, 1, 2, 2, 2, 1, 2 }, { 0.5, 0.5, 0.5, 0.9, 0.2, 0.1, 0.5 }, { pos_label = 2 })
    assert_vec(fpr, { 0, 0, 2 / 3, 2 / 3, 1 })
    assert_vec(tpr, { 0, 0.25, 0.75, 1, 1 })
    assert_vec(thr, { math.huge, 0.9, 0.5, 0.2, 0.1 })
end

function TestCurves:test_precision_recall_curve()
    local p, r, t = m.precision_recall_curve({ 0, 0, 1, 1 }, { 0.1, 0.4, 0.35, 0.8 })
    assert_vec(p, { 0.5, 2 / 3, 0.5, 1, 1 })
    assert_vec(r, { 1, 1, 0.5, 0.5, 0 })
    assert_vec(t, { 0.1, 0.35, 0.4, 0.8 })
    p, r, t = m.precision_recall_curve({ 0, 0, 1, 1, 1, 0, 1 }, { 0.5, 0.5, 0.5, 0.9, 0.2, 0.1, 0.5 })
    assert_vec(p, { 4 / 7, 2 / 3, 0.6, 1, 1 })
    assert_vec(r, { 1, 1, 0.75, 0.25, 0 })
    assert_vec(t, { 0.1, 0.2, 0.5, 0.9 })
    close(m.average_precision({ 0, 0, 1, 1 }, { 0.1, 0.4, 0.35, 0.8 }), 0.8333333333333333)
    close(m.average_precision({ 0, 0, 1, 1, 1, 0, 1 }, { 0.5, 0.5, 0.5, 0.9, 0.2, 0.1, 0.5 }), 0.7166666666666667)
end

function TestCurves:test_errors()
    assert_error(function() m.roc_auc({ 1, 1, 1 }, { 0.1, 0.2, 0.3 }) end,
        "bad argument #1 to 'roc_auc'", "only one class")
    assert_error(function() m.roc_auc({ 0, 1, 2 }, { 0.1, 0.2, 0.3 }) end, "roc_auc", "3 classes", "multi_class")
    assert_error(function() m.roc_auc({ 0, 1 }, { 0.1 }) end, "bad argument #2 to 'roc_auc'")
    assert_error(function() m.roc_auc({}, {}) end, "roc_auc", "empty")
    assert_error(function() m.roc_auc({ 0, 1 }, { 0.1, 0 / 0 }) end, "bad argument #2 to 'roc_auc'", "NaN")
    assert_error(function() m.roc_curve({ "a", "b" }, { 0.1, 0.2 }) end, "roc_curve", "pos_label")
    assert_error(function() m.roc_curve({ 0, 1 }, { 0.1, 0.2 }, { foo = 1 }) end, "bad argument #3 to 'roc_curve'")
    local w = mf.capture_warnings(function()
        local fpr = m.roc_curve({ 1, 1 }, { 0.1, 0.2 })
        lu.assertTrue(fpr[1] ~= fpr[1])
    end)
    lu.assertStrContains(w[1], "no negative samples")
end

function TestCurves:test_log_loss()
    close(m.log_loss({ "spam", "ham", "ham", "spam" }, { { .1, .9 }, { .9, .1 }, { .8, .2 }, { .35, .65 } }),
        0.21616187468057912)
    close(m.log_loss({ 1, 0, 1 }, { 0.9, 0.2, 1.0 }), 0.10950135565734541, 1e-15)
    close(m.log_loss({ "a", "b", "c" }, { { 0.2, 0.7, 0.1 }, { 0.6, 0.2, 0.2 }, { 0.6, 0.1, 0.3 } }),
        1.4742828763980456)
    close(m.log_loss({ 1, 1 }, { { 0.3, 0.7 }, { 0.1, 0.9 } }, { labels = { 0, 1 } }), 0.23101772979827936)
    close(m.log_loss({ 1, 0, 1 }, { 0.9, 0.2, 1.0 }, { normalize = false }), 3 * 0.10950135565734541, 1e-14)
    -- clipping: a probability 0 for the true class costs -log(eps)
    close(m.log_loss({ 0, 1 }, { 1.0, 0.0 }), -math.log(2.0 ^ -52), 1e-9)
    close(m.log_loss({ 0, 1 }, { 1.0, 0.0 }, { eps = 1e-15 }), -math.log(1e-15), 1e-9)
    assert_error(function() m.log_loss({ 1, 1 }, { 0.5, 0.5 }) end, "log_loss", "only one label")
    assert_error(function() m.log_loss({ 0, 1, 2 }, { { 0.5, 0.5 }, { 0.5, 0.5 }, { 0.5, 0.5 } }) end,
        "bad argument #2 to 'log_loss'", "2 columns", "3 classes")
    assert_error(function() m.log_loss({ 0, 1 }, { 0.5 }) end, "bad argument #2 to 'log_loss'", "1 rows")
    local w = mf.capture_warnings(function() m.log_loss({ 0, 1 }, { { 0.5, 0.6 }, { 0.2, 0.3 } }) end)
    lu.assertStrContains(w[1], "do not sum to one")
end

TestRegression = {}

function TestRegression:test_sklearn_values()
    local a, b = { 3, -0.5, 2, 7 }, { 2.5, 0.0, 2, 8 }
    close(m.mse(a, b), 0.375)
    close(m.rmse(a, b), 0.6123724356957945)
    close(m.mae(a, b), 0.5)
    close(m.r2(a, b), 0.9486081370449679)
    close(m.explained_variance(a, b), 0.9571734475374732)
    close(m.mape(a, b), 0.3273809523809524)
    close(m.mape({ 1, 0, 2 }, { 1, 1, 3 }), 1501199875790165.2, 1)
    local A, B = { { 0.5, 1 }, { -1, 1 }, { 7, -6 } }, { { 0, 2 }, { -1, 2 }, { 8, -5 } }
    close(m.r2(A, B), 0.9368005266622779)
    assert_vec(m.explained_variance(A, B, { multioutput = "raw_values" }), { 0.967741935483871, 1.0 })
    close(m.mse(mf.tensor(A), mf.tensor(B, "float64")), 0.7083333333333334, 1e-7)
    close(m.r2({ 1, 1, 1 }, { 1, 1, 1 }), 1.0)
    close(m.r2({ 1, 1, 1 }, { 1, 1, 2 }), 0.0)
end

function TestRegression:test_against_loops()
    local n = 300
    local ya, yb = lcg_labels(n, 1000, 3), lcg_labels(n, 1000, 4)
    local t, p = {}, {}
    for i = 1, n do t[i] = ya[i] / 37; p[i] = t[i] + (yb[i] - 500) / 300 end
    local se, ae, pe, mean = 0, 0, 0, 0
    for i = 1, n do
        se = se + (t[i] - p[i]) ^ 2
        ae = ae + math.abs(t[i] - p[i])
        pe = pe + math.abs(t[i] - p[i]) / math.max(math.abs(t[i]), 2.0 ^ -52)
        mean = mean + t[i] / n
    end
    local ss = 0
    for i = 1, n do ss = ss + (t[i] - mean) ^ 2 end
    close(m.mse(t, p), se / n, 1e-12)
    close(m.rmse(t, p), math.sqrt(se / n), 1e-12)
    close(m.mae(mf.tensor(t, "float64"), p), ae / n, 1e-12)
    close(m.mape(t, p), pe / n, 1e-6)
    close(m.r2(t, p), 1 - se / ss, 1e-12)
end

function TestRegression:test_errors()
    assert_error(function() m.mse({ 1, 2 }, { 1 }) end, "bad argument #2 to 'mse'", "shape")
    assert_error(function() m.mse({}, {}) end, "bad argument #1 to 'mse'")
    assert_error(function() m.r2({ 1, 2 }, { 1, 0 / 0 }) end, "bad argument #2 to 'r2'", "NaN")
    assert_error(function() m.mae({ 1, 2 }, { 1, 2 }, { multioutput = "variance_weighted" }) end,
        "bad argument #3 to 'mae'", "multioutput")
    assert_error(function() m.rmse({ "a" }, { 1 }) end, "bad argument #1 to 'rmse'")
    local w = mf.capture_warnings(function()
        local v = m.r2({ 1 }, { 2 })
        lu.assertTrue(v ~= v)
    end)
    lu.assertStrContains(w[1], "two samples")
end

TestScorers = {}

-- A fake classifier: predicts and gives probabilities from X's first column.
local Fake = {}
Fake.__index = Fake
function Fake:predict(X) return X:select(2, 1):gt(0.5):long() end
function Fake:predict_proba(X)
    local p = X:select(2, 1):double()
    return mf.stack({ 1 - p, p }, 2)
end

function TestScorers:test_get_scorer()
    local est = setmetatable({ classes = { 0, 1 } }, Fake)
    local X = mf.tensor({ { 0.9 }, { 0.2 }, { 0.6 }, { 0.4 } }, "float64")
    local y = mf.tensor({ 1, 0, 0, 1 }, "int64")
    close(m.get_scorer("accuracy")(est, X, y), 0.5)
    close(m.get_scorer("f1")(est, X, y), 0.5)
    close(m.get_scorer("roc_auc")(est, X, y), 0.75) -- pairs: 3 of 4 ordered
    local ll = -(math.log(0.9) + math.log(0.8) + math.log(0.4) + math.log(0.4)) / 4
    close(m.get_scorer("neg_log_loss")(est, X, y), -ll)
    close(m.get_scorer("log_loss")(est, X, y), -ll)
    close(m.get_scorer("neg_mean_squared_error")(est, X, y), -0.5)
    close(m.get_scorer("f1_macro")(est, X, y), 0.5)
    lu.assertEquals(m.get_scorer("r2"), m.SCORERS.r2)
    local f = function() return 1 end
    lu.assertEquals(m.get_scorer(f), f)
    -- decision_function wins over predict_proba for roc_auc
    local est2 = setmetatable({ decision_function = function(_, Z) return Z:select(2, 1) * -1 end }, Fake)
    close(m.get_scorer("roc_auc")(est2, X, y), 0.25)
    local yr = mf.tensor({ 1, 0, 1, 1 }, "float64") -- predictions 1, 0, 1, 0
    close(m.get_scorer("neg_root_mean_squared_error")(est, X, yr), -0.5)
    close(m.get_scorer("neg_mean_absolute_error")(est, X, yr), -0.25)
    close(m.get_scorer("r2")(est, X, yr), 1 - 1 / 0.75)
    for _, name in ipairs({ "accuracy", "f1", "f1_macro", "roc_auc", "neg_mean_squared_error", "r2",
        "neg_mean_absolute_error", "neg_root_mean_squared_error", "balanced_accuracy", "precision",
        "recall", "neg_log_loss", "log_loss" }) do
        lu.assertEquals(type(m.SCORERS[name]), "function", name)
    end
    assert_error(function() m.get_scorer("accurasy") end, "bad argument #1 to 'get_scorer'", "accurasy", "r2")
end

TestPlots = {}

local function check_svg(path)
    local s = support.read_file(path)
    lu.assertStrContains(s, '<svg xmlns="http://www.w3.org/2000/svg"')
    lu.assertEquals(s:sub(-7), "</svg>\n")
    -- well-formed: every element closed, in order
    local stack = {}
    local body = s:gsub("^<%?xml[^>]*%?>", "")
    for close_, name, selfclose in body:gmatch("<(/?)([%w_:]+)[^>]-(/?)>") do
        if close_ == "/" then
            lu.assertEquals(table.remove(stack), name)
        elseif selfclose ~= "/" then
            stack[#stack + 1] = name
        end
    end
    lu.assertEquals(#stack, 0)
    lu.assertNil(s:find("&[^al#q]"))
    return s
end

function TestPlots:test_confusion_matrix_svg()
    local path = os.tmpname()
    local cm = m.confusion_matrix({ "a<b", "c", "c" }, { "a<b", "c", "a<b" })
    lu.assertEquals(m.plot_confusion_matrix(cm, path, { labels = { "a<b", "c" }, title = "Q & A" }), path)
    local s = check_svg(path)
    lu.assertStrContains(s, "a&lt;b")
    lu.assertStrContains(s, "Q &amp; A")
    lu.assertStrContains(s, ">1</text>")
    lu.assertNil(io.open(path .. ".tmp"))
    os.remove(path)
    assert_error(function() m.plot_confusion_matrix(mf.zeros(2, 3), path) end, "bad argument #1 to 'plot_confusion_matrix'")
    assert_error(function() m.plot_confusion_matrix(cm, path, { labels = { "x" } }) end, "labels")
    assert_error(function() m.plot_confusion_matrix(cm, "/nonexistent_dir/x.svg") end, "cannot write")
end

function TestPlots:test_roc_svg()
    local path = os.tmpname()
    local fpr, tpr = m.roc_curve({ 0, 0, 1, 1 }, { 0.1, 0.4, 0.35, 0.8 })
    m.plot_roc_curve(fpr, tpr, path, { auc = m.auc(fpr, tpr), title = "ROC" })
    local s = check_svg(path)
    lu.assertStrContains(s, "AUC = 0.7500")
    lu.assertStrContains(s, "<polyline")
    os.remove(path)
    assert_error(function() m.plot_roc_curve(fpr, tpr, path, { colour = 1 }) end, "bad argument #4 to 'plot_roc_curve'")
    assert_error(function() m.plot_roc_curve(fpr, tpr:narrow(1, 1, 2), path) end, "plot_roc_curve")
end

TestLarge = {}

function TestLarge:test_million()
    local n = 1000000
    mf.manual_seed(11)
    local yt = (mf.rand(n, "float64") * 3):floor():long()
    local yp = mf.where(mf.rand(n):lt(0.7), yt, (mf.rand(n, "float64") * 3):floor():long())
    local cm = m.confusion_matrix(yt, yp)
    lu.assertEquals(cm:sum():item(), n)
    -- counts per true class agree with a tensor count
    for k = 0, 2 do lu.assertEquals(cm[k + 1]:sum():item(), yt:eq(k):sum():item()) end
    local acc = m.accuracy(yt, yp)
    close(acc, (cm[1][1] + cm[2][2] + cm[3][3]) / n, 1e-12)
    close(m.f1(yt, yp, { average = "micro" }), acc, 1e-12)
    lu.assertTrue(m.f1(yt, yp, { average = "macro" }) > 0.7)
    local y = yt:eq(2)
    local s = y:double() * 0.3 + mf.rand(n, "float64")
    local auc = m.roc_auc(y, s)
    -- P(U1 + 0.3 > U2) for independent uniforms = 1 - 0.7^2 / 2
    close(auc, 1 - 0.49 / 2, 5e-3)
    local fpr, tpr = m.roc_curve(y, s)
    close(m.auc(fpr, tpr), auc, 1e-12)
    close(m.r2(s, s), 1.0)
    -- a million string labels
    local names, st = { "low", "mid", "high" }, {}
    local v = yt:totable()
    for i = 1, n do st[i] = names[v[i] + 1] end
    close(m.accuracy(st, st), 1.0)
    local cms, ls = m.confusion_matrix(st, st)
    lu.assertEquals(ls, { "high", "low", "mid" })
    lu.assertEquals(cms[1][1], yt:eq(2):sum():item())
end

os.exit(lu.LuaUnit.run())
