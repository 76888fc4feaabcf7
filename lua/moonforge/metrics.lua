--- moonforge.metrics (mf.metrics): classification and regression metrics,
-- with scikit-learn's names and semantics.
--
--     local m = mf.metrics
--     print(m.accuracy(y_true, y_pred), m.f1(y_true, y_pred, {average = "macro"}))
--     print(m.classification_report(y_true, y_pred))
--     local scorer = m.get_scorer("neg_mean_squared_error")  -- scorer(est, X, y)
--
-- Labels are tensors (any dtype; 1-D or n x 1), Lua arrays of numbers or of
-- strings, or string columns of a Table ({codes, levels}). Numeric work runs
-- in tensor ops; a Lua array of strings takes one Lua pass to code it.
local mf = require "moonforge"

local M = {}

local is_tensor = mf.is_tensor
local huge = math.huge

local function argerror(argn, fname, msg, level)
    error(("bad argument #%d to '%s' (%s)"):format(argn, fname, msg), (level or 2) + 1)
end

local function check_options(opts, fname, argn, allowed)
    return mf.nn.check_options(opts, fname, argn, allowed)
end

local function value_text(v)
    if type(v) == "string" then return ("%q"):format(v) end
    return tostring(v)
end

---------------------------------------------------------------- label input

-- A label input as {kind = "tensor", t = 1-D tensor} or {kind = "string",
-- s = Lua array of strings}; n = its length.
local function label_input(y, fname, argn)
    if is_tensor(y) then
        if y:dim() == 2 and y:size(2) == 1 then y = y:reshape(-1) end
        if y:dim() ~= 1 then
            argerror(argn, fname, ("1-D tensor expected, got %d-D"):format(y:dim()), 3)
        end
        if y:dtype() == "bool" then y = y:long() end
        if (y:dtype() == "float32" or y:dtype() == "float64") and y:numel() > 0
           and y:isnan():any():item() then
            argerror(argn, fname, "labels contain NaN", 3)
        end
        return { kind = "tensor", t = y, n = y:numel() }
    end
    if type(y) == "table" and y.codes ~= nil and y.levels ~= nil and is_tensor(y.codes) then
        -- a string column of a Table
        local codes = y.codes
        if codes:numel() > 0 and codes:eq(0):any():item() then
            argerror(argn, fname, "labels contain missing values", 3)
        end
        local levels = y.levels
        local s, lv = {}, codes:totable()
        for i = 1, #lv do s[i] = levels[lv[i]] end
        return { kind = "string", s = s, n = #s }
    end
    if type(y) ~= "table" then
        argerror(argn, fname, ("tensor or Lua array expected, got %s"):format(type(y)), 3)
    end
    local n = #y
    if n == 0 then return { kind = "tensor", t = mf.zeros(0, "float64"), n = 0 } end
    local first = type(y[1])
    if first == "string" then
        for i = 1, n do
            if type(y[i]) ~= "string" then
                if y[i] == mf.data.NA then
                    argerror(argn, fname, ("labels contain a missing value (at [%d])"):format(i), 3)
                end
                argerror(argn, fname, ("mix of string and %s labels (at [%d])"):format(type(y[i]), i), 3)
            end
        end
        return { kind = "string", s = y, n = n }
    elseif first == "number" or first == "boolean" then
        local ok, t = pcall(mf.tensor, y, "float64")
        if not ok then
            for i = 1, n do
                if type(y[i]) ~= first then
                    argerror(argn, fname, ("mix of %s and %s labels (at [%d])"):format(first, type(y[i]), i), 3)
                end
            end
            argerror(argn, fname, (tostring(t):gsub("^.-:%d+: ", "")), 3)
        end
        if t:isnan():any():item() then argerror(argn, fname, "labels contain NaN", 3) end
        return { kind = "tensor", t = t, n = n }
    end
    argerror(argn, fname, ("labels must be numbers or strings, got %s at [1]"):format(first), 3)
end

-- Lua number keys: floats with an integer value become integers, so that
-- 1 and 1.0 are one label (as in numpy).
local function norm_num(v)
    if math.type(v) == "float" and v == math.floor(v) and v > -2^63 and v < 2^63 then
        return math.tointeger(v)
    end
    return v
end

--- Codes the label inputs over their sorted union (and `extra`, a Lua
-- array of labels that must be classes too). Returns the list of int64
-- code tensors (1-based), the classes (Lua array, sorted) and the kind.
local function encode(inputs, extra, fname, extra_argn)
    local kind
    for _, inp in ipairs(inputs) do
        if inp.n > 0 then
            if kind and kind ~= inp.kind then
                argerror(inp.argn, fname, "mix of string and number labels", 3)
            end
            kind = inp.kind
        end
    end
    if extra then
        for i, v in ipairs(extra) do
            local k = type(v) == "string" and "string" or (type(v) == "number" and "tensor") or nil
            if not k or (kind and kind ~= k) then
                argerror(extra_argn, fname, ("label %s at labels[%d] does not match the type of the labels")
                    :format(value_text(v), i), 3)
            end
            kind = k
        end
    end
    kind = kind or "tensor"
    local codes, classes = {}, {}
    if kind == "string" then
        local map, seen = {}, {}
        local function add(v)
            local c = map[v]
            if not c then
                seen[#seen + 1] = v
                c = #seen
                map[v] = c
            end
            return c
        end
        for _, v in ipairs(extra or {}) do add(v) end
        local raw = {}
        for j, inp in ipairs(inputs) do
            local s, c = inp.s or {}, {}
            for i = 1, inp.n do c[i] = add(s[i]) end
            raw[j] = c
        end
        local order = {}
        for i = 1, #seen do order[i] = i end
        table.sort(order, function(a, b) return seen[a] < seen[b] end)
        local rank = {}
        for r, i in ipairs(order) do rank[i] = r; classes[r] = seen[i] end
        local rank_t = mf.tensor(rank, "int64")
        for j, c in ipairs(raw) do
            if #c == 0 then
                codes[j] = mf.zeros(0, "int64")
            else
                codes[j] = rank_t:index(1, mf.tensor(c, "int64"))
            end
        end
        return codes, classes, kind
    end
    local parts = {}
    for _, inp in ipairs(inputs) do parts[#parts + 1] = inp.t end
    if extra and #extra > 0 then parts[#parts + 1] = mf.tensor(extra, "float64") end
    local all = mf.cat(parts)
    if all:numel() == 0 then
        for j = 1, #inputs do codes[j] = mf.zeros(0, "int64") end
        return codes, classes, kind
    end
    local inverse
    local lo, hi = all:min():item(), all:max():item()
    if hi - lo < 2 ^ 20 and (all:dtype() == "int64" or all:eq(all:floor()):all():item()) then
        -- integer labels in a small range: counting instead of sorting
        lo = norm_num(lo)
        local shifted = all:dtype() == "int64" and all - lo or (all - lo):long()
        local present = mf.bincount(shifted, { minlength = 1 }):gt(0)
        local rank = present:long():cumsum(1)
        inverse = rank:index(1, shifted + 1)
        local at = present:nonzero({ as_tuple = true })[1]:totable()
        for i = 1, #at do classes[i] = norm_num(lo + at[i] - 1) end
    else
        local values
        values, inverse = mf.unique(all, { return_inverse = true })
        classes = values:totable()
        for i = 1, #classes do classes[i] = norm_num(classes[i]) end
    end
    local pos = 1
    for j, inp in ipairs(inputs) do
        codes[j] = inverse:narrow(1, pos, inp.n)
        pos = pos + inp.n
    end
    return codes, classes, kind
end

-- y_true, y_pred of one length, not empty.
local function pair(y_true, y_pred, fname)
    local a = label_input(y_true, fname, 1)
    local b = label_input(y_pred, fname, 2)
    a.argn, b.argn = 1, 2
    if a.n ~= b.n then
        argerror(2, fname, ("y_pred has %d elements, y_true has %d"):format(b.n, a.n), 3)
    end
    if a.n == 0 then argerror(1, fname, "empty input", 3) end
    return a, b
end

local function label_list(labels, fname, argn)
    if labels == nil then return nil end
    if is_tensor(labels) then labels = labels:reshape(-1):totable() end
    if type(labels) ~= "table" or #labels == 0 then
        argerror(argn, fname, "option 'labels' must be a non-empty array of labels", 3)
    end
    local out, seen = {}, {}
    for i, v in ipairs(labels) do
        if type(v) == "number" then v = norm_num(v) end
        if v ~= v then argerror(argn, fname, "option 'labels' contains NaN", 3) end
        if seen[v] then argerror(argn, fname, ("option 'labels' repeats %s"):format(value_text(v)), 3) end
        seen[v] = true
        out[i] = v
    end
    return out
end

-- A label as text (integer-valued numbers without ".0").
local function label_text(v)
    if type(v) == "number" then
        v = norm_num(v)
        if math.type(v) == "integer" then return tostring(v) end
        local short = ("%.15g"):format(v)
        if tonumber(short) == v then return short end
        return ("%.17g"):format(v)
    end
    return tostring(v)
end
M._label_text = label_text

-- Per-class counts over the classes (K of them): true_sum, pred_sum, tp_sum
-- as Lua arrays.
local function class_counts(ct, cp, K)
    local ts = mf.bincount(ct, { minlength = K + 1 }):totable()
    local ps = mf.bincount(cp, { minlength = K + 1 }):totable()
    local same = ct:eq(cp)
    local tpc = ct:masked_select(same)
    local tp = mf.bincount(tpc, { minlength = K + 1 }):totable()
    local T, P, TP = {}, {}, {}
    for k = 1, K do T[k], P[k], TP[k] = ts[k + 1], ps[k + 1], tp[k + 1] end
    return T, P, TP
end

---------------------------------------------------------------- classification

local function accuracy_impl(y_true, y_pred, fname)
    local a, b = pair(y_true, y_pred, fname)
    if a.kind == "tensor" and b.kind == "tensor" then
        return a.t:eq(b.t):sum():item(), a.n
    end
    local codes = encode({ a, b }, nil, fname)
    return codes[1]:eq(codes[2]):sum():item(), a.n
end

--- accuracy(y_true, y_pred [, {normalize = true}]): the fraction (or with
-- normalize = false the count) of exact matches.
function M.accuracy(y_true, y_pred, opts)
    opts = check_options(opts, "accuracy", 3, { "normalize" })
    local hits, n = accuracy_impl(y_true, y_pred, "accuracy")
    if opts.normalize == false then return hits end
    return hits / n
end

local function zd_value(zd)
    if zd == "warn" then return 0.0 end
    return zd
end

local function check_zd(zd, fname, argn)
    if zd == nil then return "warn" end
    if zd == "warn" or zd == 0 or zd == 1 or (type(zd) == "number" and zd ~= zd) then return zd end
    argerror(argn, fname, ("option 'zero_division' must be \"warn\", 0, 1 or NaN, got %s"):format(value_text(zd)), 3)
end

local AVERAGES = { binary = true, micro = true, macro = true, weighted = true, none = true }

-- precision, recall, f-score (Lua arrays per label or numbers), support.
local function prf(y_true, y_pred, opts, fname, warn_for, cache)
    opts = check_options(opts, fname, 3, { "average", "pos_label", "labels", "zero_division", "beta" })
    local average = opts.average
    if average == nil then average = "binary" end
    if average == false then average = "none" end
    if not AVERAGES[average] then
        argerror(3, fname, ("option 'average' must be one of \"binary\", \"micro\", \"macro\", "
            .. "\"weighted\", \"none\", got %s"):format(value_text(average)), 3)
    end
    local zd = check_zd(opts.zero_division, fname, 3)
    local beta = opts.beta or 1
    local pos_label = opts.pos_label
    if pos_label == nil then pos_label = 1 end
    if type(pos_label) == "number" then pos_label = norm_num(pos_label) end
    local labels = label_list(opts.labels, fname, 3)
    local classes, T, P, TP
    if cache then
        classes, T, P, TP = cache.classes, cache.T, cache.P, cache.TP
    else
        local a, b = pair(y_true, y_pred, fname)
        local codes
        codes, classes = encode({ a, b }, labels, fname, 3)
        T, P, TP = class_counts(codes[1], codes[2], #classes)
    end
    local K = #classes
    local index = {}
    for k, c in ipairs(classes) do index[c] = k end
    local present = {}
    if labels then
        -- classes present in the data only
        local tsum = {}
        for k = 1, K do if T[k] + P[k] > 0 then tsum[#tsum + 1] = classes[k] end end
        present = tsum
    else
        present = classes
    end
    local sel
    if average == "binary" then
        if #present > 2 then
            argerror(3, fname, "target is multiclass but average = \"binary\"; choose average = "
                .. "\"micro\", \"macro\", \"weighted\" or \"none\"", 3)
        end
        if not index[pos_label] or (#present >= 2 and T[index[pos_label]] + P[index[pos_label]] == 0) then
            if #present >= 2 then
                local names = {}
                for i, c in ipairs(present) do names[i] = label_text(c) end
                argerror(3, fname, ("pos_label = %s is not a valid label: it should be one of %s")
                    :format(value_text(pos_label), table.concat(names, ", ")), 3)
            end
        end
        sel = { pos_label }
    else
        sel = labels or classes
    end
    local tp, ts, ps = {}, {}, {}
    for i, c in ipairs(sel) do
        local k = index[c]
        tp[i], ts[i], ps[i] = k and TP[k] or 0, k and T[k] or 0, k and P[k] or 0
    end
    if average == "micro" then
        local s1, s2, s3 = 0, 0, 0
        for i = 1, #sel do s1, s2, s3 = s1 + tp[i], s2 + ts[i], s3 + ps[i] end
        tp, ts, ps = { s1 }, { s2 }, { s3 }
    end
    local per_label = (average == "macro" or average == "weighted" or average == "none")
    local b2 = beta * beta
    local prec, rec, f = {}, {}, {}
    local warned = {}
    local zv = zd_value(zd)
    for i = 1, #tp do
        if ps[i] == 0 then prec[i] = zv; warned.precision = true else prec[i] = tp[i] / ps[i] end
        if ts[i] == 0 then rec[i] = zv; warned.recall = true else rec[i] = tp[i] / ts[i] end
        local den = b2 * ts[i] + ps[i]
        if den == 0 then f[i] = zv; warned.f = true else f[i] = (1 + b2) * tp[i] / den end
    end
    if zd == "warn" then
        local where = per_label and "in labels with no %s samples" or "due to no %s samples"
        local msgs = {
            { "precision", "Precision", "predicted" },
            { "recall", "Recall", "true" },
            { "f", "F-score", "true nor predicted" },
        }
        for _, m in ipairs(msgs) do
            if warned[m[1]] and warn_for[m[1]] then
                mf.warn("%s: %s is ill-defined and being set to 0.0 " .. where
                    .. "; use the zero_division option to control this", fname, m[2], m[3])
            end
        end
    end
    if average == "none" then return prec, rec, f, ts end
    local function avg(v)
        local w
        if average == "weighted" then w = ts end
        local num, den, n, plain = 0, 0, 0, 0
        for i = 1, #v do
            if v[i] == v[i] then
                n = n + 1
                plain = plain + v[i]
                if w then num, den = num + v[i] * w[i], den + w[i] end
            end
        end
        if n == 0 then return 0 / 0 end
        if w and den > 0 then return num / den end
        return plain / n
    end
    local support = 0
    for i = 1, #ts do support = support + ts[i] end
    return avg(prec), avg(rec), avg(f), support
end

--- precision(y_true, y_pred [, {average = "binary", pos_label = 1, labels,
-- zero_division = "warn"}]): tp / (tp + fp).
function M.precision(y_true, y_pred, opts)
    local p = prf(y_true, y_pred, opts, "precision", { precision = true })
    return p
end

--- recall(y_true, y_pred [, opts]): tp / (tp + fn); options as precision.
function M.recall(y_true, y_pred, opts)
    local _, r = prf(y_true, y_pred, opts, "recall", { recall = true })
    return r
end

--- f1(y_true, y_pred [, opts]): 2 tp / (2 tp + fp + fn); options as precision.
function M.f1(y_true, y_pred, opts)
    if opts ~= nil and type(opts) == "table" and opts.beta ~= nil then
        argerror(3, "f1", "unknown option 'beta' (use fbeta)")
    end
    local _, _, f = prf(y_true, y_pred, opts, "f1", { f = true })
    return f
end

--- fbeta(y_true, y_pred, {beta = b, ...}): the F-beta score.
function M.fbeta(y_true, y_pred, opts)
    if type(opts) ~= "table" or type(opts.beta) ~= "number" or not (opts.beta >= 0) then
        argerror(3, "fbeta", "option 'beta' (a number >= 0) is required")
    end
    local _, _, f = prf(y_true, y_pred, opts, "fbeta", { f = true })
    return f
end

--- precision_recall_fscore_support(y_true, y_pred [, opts]): all four
-- (per label with average = "none", the default here as in scikit-learn).
function M.precision_recall_fscore_support(y_true, y_pred, opts)
    opts = check_options(opts, "precision_recall_fscore_support", 3,
        { "average", "pos_label", "labels", "zero_division", "beta" })
    local o = {}
    for k, v in pairs(opts) do o[k] = v end
    if o.average == nil then o.average = "none" end
    local p, r, f, s = prf(y_true, y_pred, o, "precision_recall_fscore_support",
        { precision = true, recall = true, f = true })
    if o.average ~= "none" and o.average ~= false then s = nil end
    return p, r, f, s
end

--- confusion_matrix(y_true, y_pred [, {labels, normalize}]): int64 K x K
-- tensor, rows = true labels, columns = predicted, labels sorted (or in the
-- order of `labels`; samples with other labels are left out). Returns the
-- matrix and the labels (Lua array). normalize = "true" | "pred" | "all"
-- gives float64 fractions.
function M.confusion_matrix(y_true, y_pred, opts)
    local fname = "confusion_matrix"
    opts = check_options(opts, fname, 3, { "labels", "normalize" })
    local norm = opts.normalize
    if norm ~= nil and norm ~= "true" and norm ~= "pred" and norm ~= "all" then
        argerror(3, fname, ("option 'normalize' must be \"true\", \"pred\" or \"all\", got %s")
            :format(value_text(norm)))
    end
    local labels = label_list(opts.labels, fname, 3)
    local a, b = pair(y_true, y_pred, fname)
    local codes, classes = encode({ a, b }, labels, fname, 3)
    local ct, cp = codes[1], codes[2]
    local L = classes
    if labels then
        -- map class k to its position in labels (0: left out)
        local pos = {}
        for i, v in ipairs(labels) do pos[v] = i end
        local map = {}
        for k, c in ipairs(classes) do map[k] = pos[c] or 0 end
        local map_t = mf.tensor(map, "int64")
        ct, cp = map_t:index(1, ct), map_t:index(1, cp)
        local keep = mf.logical_and(ct:gt(0), cp:gt(0))
        if not ct:gt(0):any():item() then
            argerror(3, fname, "at least one label in 'labels' must be in y_true")
        end
        if not keep:all():item() then
            ct, cp = ct:masked_select(keep), cp:masked_select(keep)
        end
        L = labels
    end
    local K = #L
    local flat = (ct - 1) * K + cp
    local cm = mf.bincount(flat, { minlength = K * K + 1 }):narrow(1, 2, K * K):view(K, K):contiguous()
    if norm then
        local d = cm:double()
        local den
        if norm == "true" then den = d:sum(2, { keepdim = true })
        elseif norm == "pred" then den = d:sum(1, { keepdim = true })
        else den = d:sum() end
        cm = mf.nan_to_num(d / den, { nan = 0 })
    end
    local out = {}
    for i, v in ipairs(L) do out[i] = v end
    return cm, out
end

--- balanced_accuracy(y_true, y_pred [, {adjusted = false}]): the mean recall
-- of the classes present in y_true.
function M.balanced_accuracy(y_true, y_pred, opts)
    local fname = "balanced_accuracy"
    opts = check_options(opts, fname, 3, { "adjusted" })
    local a, b = pair(y_true, y_pred, fname)
    local codes, classes = encode({ a, b }, nil, fname)
    local T, _, TP = class_counts(codes[1], codes[2], #classes)
    local s, n, missing = 0, 0, false
    for k = 1, #classes do
        if T[k] > 0 then s, n = s + TP[k] / T[k], n + 1 else missing = true end
    end
    if missing then mf.warn("balanced_accuracy: y_pred contains classes not in y_true") end
    local score = s / n
    if opts.adjusted then
        local chance = 1 / n
        score = (score - chance) / (1 - chance)
    end
    return score
end

---------------------------------------------------------------- scores and curves

local function score_input(y, fname, argn)
    if type(y) == "table" and not is_tensor(y) then
        local ok, t = pcall(mf.tensor, y, "float64")
        if not ok then argerror(argn, fname, "scores must be numbers", 3) end
        y = t
    end
    if not is_tensor(y) then
        argerror(argn, fname, ("tensor or Lua array expected, got %s"):format(type(y)), 3)
    end
    if y:dim() == 2 and y:size(2) == 1 then y = y:reshape(-1) end
    if y:dim() ~= 1 then argerror(argn, fname, ("1-D scores expected, got %d-D"):format(y:dim()), 3) end
    y = y:double()
    if y:numel() > 0 and not y:isfinite():all():item() then
        argerror(argn, fname, "scores contain NaN or infinity", 3)
    end
    return y
end

-- The positive class of a curve: pos_label, or 1 when the classes are
-- among {-1, 0, 1}.
local function positives(y_true, fname, pos_label)
    local a = label_input(y_true, fname, 1)
    a.argn = 1
    if a.n == 0 then argerror(1, fname, "empty input", 3) end
    local codes, classes = encode({ a }, nil, fname)
    if pos_label == nil then
        local ok = true
        for _, c in ipairs(classes) do
            if c ~= 0 and c ~= 1 and c ~= -1 then ok = false end
        end
        if not ok then
            local names = {}
            for i, c in ipairs(classes) do names[i] = label_text(c) end
            argerror(3, fname, ("y_true takes the values {%s}: give option 'pos_label'")
                :format(table.concat(names, ", ")), 3)
        end
        pos_label = 1
    end
    if type(pos_label) == "number" then pos_label = norm_num(pos_label) end
    local k
    for i, c in ipairs(classes) do if c == pos_label then k = i end end
    if not k then return mf.zeros(a.n, "float64"), #classes end
    return codes[1]:eq(k):double(), #classes
end

-- scikit-learn's _binary_clf_curve: fps, tps (float64) and thresholds
-- (decreasing) at each distinct score.
local function clf_curve(pos, score)
    local n = score:numel()
    local s, order = score:sort({ descending = true, stable = true })
    local y = pos:index(1, order)
    local last
    if n > 1 then
        local change = s:narrow(1, 2, n - 1):ne(s:narrow(1, 1, n - 1))
        last = mf.cat({ change, mf.tensor({ true }) })
    else
        last = mf.tensor({ true })
    end
    local idx = last:nonzero({ as_tuple = true })[1]
    local tps = y:cumsum(1):index(1, idx)
    local fps = idx:double() - tps
    return fps, tps, s:index(1, idx)
end

--- roc_curve(y_true, y_score [, {pos_label, drop_intermediate = true}]):
-- fpr, tpr, thresholds (float64 tensors) as scikit-learn (thresholds[1] is
-- +inf, as scikit-learn >= 1.3).
function M.roc_curve(y_true, y_score, opts)
    local fname = "roc_curve"
    opts = check_options(opts, fname, 3, { "pos_label", "drop_intermediate" })
    local score = score_input(y_score, fname, 2)
    local pos = positives(y_true, fname, opts.pos_label)
    if pos:numel() ~= score:numel() then
        argerror(2, fname, ("y_score has %d elements, y_true has %d"):format(score:numel(), pos:numel()))
    end
    local fps, tps, thr = clf_curve(pos, score)
    local m = fps:numel()
    if opts.drop_intermediate ~= false and m > 2 then
        local function d2(t)
            return t:narrow(1, 3, m - 2) - t:narrow(1, 2, m - 2) * 2 + t:narrow(1, 1, m - 2)
        end
        local mid = mf.logical_or(d2(fps):ne(0), d2(tps):ne(0))
        local keep = mf.cat({ mf.tensor({ true }), mid, mf.tensor({ true }) })
        local idx = keep:nonzero({ as_tuple = true })[1]
        fps, tps, thr = fps:index(1, idx), tps:index(1, idx), thr:index(1, idx)
    end
    local zero = mf.zeros(1, "float64")
    fps, tps = mf.cat({ zero, fps }), mf.cat({ zero, tps })
    thr = mf.cat({ mf.tensor({ huge }, "float64"), thr })
    local fmax, tmax = fps[fps:numel()], tps[tps:numel()]
    local fpr, tpr
    if fmax <= 0 then
        mf.warn("roc_curve: no negative samples in y_true, false positive value should be meaningless")
        fpr = mf.full({ fps:numel() }, 0 / 0, "float64")
    else
        fpr = fps / fmax
    end
    if tmax <= 0 then
        mf.warn("roc_curve: no positive samples in y_true, true positive value should be meaningless")
        tpr = mf.full({ tps:numel() }, 0 / 0, "float64")
    else
        tpr = tps / tmax
    end
    return fpr, tpr, thr
end

--- auc(x, y): the area under a curve by the trapezoidal rule (x monotonic).
function M.auc(x, y)
    x, y = score_input(x, "auc", 1), score_input(y, "auc", 2)
    local n = x:numel()
    if n < 2 then argerror(1, "auc", ("at least 2 points are needed, got %d"):format(n)) end
    if y:numel() ~= n then argerror(2, "auc", ("y has %d elements, x has %d"):format(y:numel(), n)) end
    local dx = x:narrow(1, 2, n - 1) - x:narrow(1, 1, n - 1)
    local direction = 1
    if dx:lt(0):any():item() then
        if dx:le(0):all():item() then direction = -1
        else argerror(1, "auc", "x is neither increasing nor decreasing") end
    end
    local area = (dx * (y:narrow(1, 2, n - 1) + y:narrow(1, 1, n - 1))):sum():item() / 2
    return direction * area
end

-- The area under the ROC curve of the 0/1 float64 `pos` against `score`.
local function binary_auc(pos, score)
    local fps, tps = clf_curve(pos, score)
    local zero = mf.zeros(1, "float64")
    fps, tps = mf.cat({ zero, fps }), mf.cat({ zero, tps })
    local n = fps:numel()
    local area = ((fps:narrow(1, 2, n - 1) - fps:narrow(1, 1, n - 1))
        * (tps:narrow(1, 2, n - 1) + tps:narrow(1, 1, n - 1))):sum():item() / 2
    return area / (fps[n] * tps[n])
end

--- roc_auc(y_true, y_score [, {multi_class, average = "macro", labels}]):
-- the area under the ROC curve. Binary: y_score 1-D, the greater label is
-- the positive class (as scikit-learn). Multiclass: multi_class = "ovr" and
-- y_score n x K probabilities (columns in the sorted order of the classes,
-- or of `labels`); the one-vs-rest AUCs averaged ("macro") or weighted by
-- the prevalence of each class ("weighted").
function M.roc_auc(y_true, y_score, opts)
    local fname = "roc_auc"
    opts = check_options(opts, fname, 3, { "multi_class", "average", "labels" })
    local a = label_input(y_true, fname, 1)
    a.argn = 1
    local mc = opts.multi_class
    if mc ~= nil and mc ~= "ovr" and mc ~= "raise" then
        argerror(3, fname, ("option 'multi_class' must be \"ovr\" or \"raise\", got %s"):format(value_text(mc)))
    end
    if mc == "ovr" or (is_tensor(y_score) and y_score:dim() == 2 and y_score:size(2) > 1) then
        if mc ~= "ovr" then
            argerror(2, fname, "2-D y_score: give option multi_class = \"ovr\" for a multiclass problem")
        end
        local avg = opts.average or "macro"
        if avg ~= "macro" and avg ~= "weighted" then
            argerror(3, fname, ("option 'average' must be \"macro\" or \"weighted\", got %s"):format(value_text(avg)))
        end
        if type(y_score) == "table" and not is_tensor(y_score) then
            local ok, t = pcall(mf.tensor, y_score, "float64")
            if not ok then argerror(2, fname, "scores must be numbers (an n x K array)") end
            y_score = t
        end
        if not is_tensor(y_score) or y_score:dim() ~= 2 then
            argerror(2, fname, "n x K probabilities expected with multi_class = \"ovr\"")
        end
        local S = y_score:double()
        if S:size(1) ~= a.n then
            argerror(2, fname, ("y_score has %d rows, y_true has %d"):format(S:size(1), a.n))
        end
        if a.n == 0 then argerror(1, fname, "empty input") end
        if not S:isfinite():all():item() then argerror(2, fname, "scores contain NaN or infinity") end
        local labels = label_list(opts.labels, fname, 3)
        local codes, classes = encode({ a }, labels, fname, 3)
        local order = labels or classes
        local index = {}
        for k, c in ipairs(classes) do index[c] = k end
        if #order ~= S:size(2) then
            argerror(2, fname, ("y_score has %d columns but there are %d classes"):format(S:size(2), #order))
        end
        if #order < 3 then
            argerror(1, fname, "multi_class = \"ovr\" needs at least 3 classes")
        end
        local sums = S:sum(2)
        if not mf.isclose(sums, mf.ones_like(sums), { rtol = 1e-5, atol = 1e-8 }):all():item() then
            argerror(2, fname, "target scores need to be probabilities for multiclass roc_auc (rows summing to 1)")
        end
        local ct = codes[1]
        local total, wsum = 0, 0
        for j, c in ipairs(order) do
            local pos = ct:eq(index[c]):double()
            local npos = pos:sum():item()
            if npos == 0 or npos == a.n then
                argerror(1, fname, ("class %s: only one class present in its one-vs-rest problem")
                    :format(label_text(c)))
            end
            local auc = binary_auc(pos, S:select(2, j):contiguous())
            local w = avg == "weighted" and npos or 1
            total, wsum = total + w * auc, wsum + w
        end
        return total / wsum
    end
    if opts.average ~= nil or opts.labels ~= nil then
        argerror(3, fname, "options 'average' and 'labels' apply to multi_class = \"ovr\" only")
    end
    local score = score_input(y_score, fname, 2)
    if a.n ~= score:numel() then
        argerror(2, fname, ("y_score has %d elements, y_true has %d"):format(score:numel(), a.n))
    end
    if a.n == 0 then argerror(1, fname, "empty input") end
    local codes, classes = encode({ a }, nil, fname)
    if #classes == 1 then
        argerror(1, fname, "only one class present in y_true: ROC AUC is not defined in that case")
    elseif #classes > 2 then
        argerror(1, fname, ("%d classes in y_true: give option multi_class = \"ovr\" and n x K probabilities")
            :format(#classes))
    end
    return binary_auc(codes[1]:eq(2):double(), score)
end

--- precision_recall_curve(y_true, y_score [, {pos_label}]): precision,
-- recall (one more entry than thresholds: 1 and 0 at the end) and the
-- thresholds (increasing), as scikit-learn.
function M.precision_recall_curve(y_true, y_score, opts)
    local fname = "precision_recall_curve"
    opts = check_options(opts, fname, 3, { "pos_label" })
    local score = score_input(y_score, fname, 2)
    local pos = positives(y_true, fname, opts.pos_label)
    if pos:numel() ~= score:numel() then
        argerror(2, fname, ("y_score has %d elements, y_true has %d"):format(score:numel(), pos:numel()))
    end
    local fps, tps, thr = clf_curve(pos, score)
    local ps = fps + tps
    local precision = mf.where(ps:eq(0), 0, tps / ps)
    local tmax = tps[tps:numel()]
    local recall
    if tmax == 0 then
        mf.warn("precision_recall_curve: no positive class found in y_true, recall is set to one for all thresholds")
        recall = mf.ones(tps:numel(), "float64")
    else
        recall = tps / tmax
    end
    precision = mf.cat({ precision:flip(1), mf.ones(1, "float64") })
    recall = mf.cat({ recall:flip(1), mf.zeros(1, "float64") })
    return precision, recall, thr:flip(1)
end

--- average_precision(y_true, y_score [, {pos_label}]): sum over thresholds
-- of (R_n - R_{n-1}) P_n, as scikit-learn.
function M.average_precision(y_true, y_score, opts)
    local p, r = M.precision_recall_curve(y_true, y_score, opts)
    local n = r:numel()
    return -((r:narrow(1, 2, n - 1) - r:narrow(1, 1, n - 1)) * p:narrow(1, 1, n - 1)):sum():item()
end

--- log_loss(y_true, y_prob [, {labels, normalize = true, eps = "auto"}]):
-- the cross-entropy of the predicted probabilities (n x K, columns in the
-- sorted order of the labels; or 1-D: the probability of the greater
-- label). Probabilities are clipped to [eps, 1 - eps] (eps "auto": the
-- machine epsilon of y_prob's dtype), as scikit-learn.
function M.log_loss(y_true, y_prob, opts)
    local fname = "log_loss"
    opts = check_options(opts, fname, 3, { "labels", "normalize", "eps" })
    local labels = label_list(opts.labels, fname, 3)
    local a = label_input(y_true, fname, 1)
    a.argn = 1
    if type(y_prob) == "table" and not is_tensor(y_prob) then
        local ok, t = pcall(mf.tensor, y_prob, "float64")
        if not ok then argerror(2, fname, "probabilities must be numbers (a 1-D or n x K array)") end
        y_prob = t
    end
    if not is_tensor(y_prob) then
        argerror(2, fname, ("tensor or Lua array expected, got %s"):format(type(y_prob)))
    end
    if y_prob:dim() ~= 1 and y_prob:dim() ~= 2 then
        argerror(2, fname, ("1-D or 2-D probabilities expected, got %d-D"):format(y_prob:dim()))
    end
    if y_prob:size(1) ~= a.n then
        argerror(2, fname, ("y_prob has %d rows, y_true has %d"):format(y_prob:size(1), a.n))
    end
    if a.n == 0 then argerror(1, fname, "empty input") end
    local eps = opts.eps
    if eps == nil or eps == "auto" then
        eps = y_prob:dtype() == "float32" and 2.0 ^ -23 or 2.0 ^ -52
    elseif type(eps) ~= "number" or not (eps >= 0 and eps < 0.5) then
        argerror(3, fname, ("option 'eps' must be \"auto\" or a number in [0, 0.5), got %s"):format(value_text(eps)))
    end
    local P = y_prob:double()
    if not P:isfinite():all():item() then argerror(2, fname, "probabilities contain NaN or infinity") end
    if P:dim() == 2 and P:size(2) == 1 then P = P:reshape(-1) end
    if P:dim() == 1 then P = mf.stack({ 1 - P, P }, 2) end
    local codes, classes = encode({ a }, labels, fname, 3)
    local ct = codes[1]
    if labels then
        local pos = {}
        for i, v in ipairs(labels) do pos[v] = i end
        local map = {}
        for k, c in ipairs(classes) do
            map[k] = pos[c] or 0
        end
        for k, c in ipairs(classes) do
            if map[k] == 0 then
                argerror(1, fname, ("y_true contains %s, which is not in 'labels'"):format(value_text(c)))
            end
        end
        ct = mf.tensor(map, "int64"):index(1, ct)
        classes = labels
    end
    local K = #classes
    if K == 1 then
        argerror(1, fname, ("y_true contains only one label (%s): give the labels through option 'labels'")
            :format(label_text(classes[1])))
    end
    if P:size(2) ~= K then
        argerror(2, fname, ("y_prob has %d columns but there are %d classes"):format(P:size(2), K))
    end
    P = P:clamp(eps, 1 - eps)
    local sums = P:sum(2)
    if not mf.isclose(sums, mf.ones_like(sums), { rtol = math.sqrt(eps), atol = 0 }):all():item() then
        mf.warn("log_loss: the y_prob values do not sum to one; make sure to pass probabilities")
    end
    local picked = P:gather(2, ct:view(-1, 1)):view(-1)
    local total = -picked:log():sum():item()
    if opts.normalize == false then return total end
    return total / a.n
end

---------------------------------------------------------------- report

--- classification_report(y_true, y_pred [, {labels, target_names, digits =
-- 2, zero_division = "warn", output_dict = false}]): scikit-learn's text
-- table (or, with output_dict, a table keyed by label text, "accuracy",
-- "macro avg", "weighted avg").
function M.classification_report(y_true, y_pred, opts)
    local fname = "classification_report"
    opts = check_options(opts, fname, 3, { "labels", "target_names", "digits", "zero_division", "output_dict" })
    local digits = opts.digits or 2
    if math.type(digits) ~= "integer" or digits < 0 or digits > 15 then
        argerror(3, fname, ("option 'digits' must be an integer in [0, 15], got %s"):format(value_text(digits)))
    end
    local zd = check_zd(opts.zero_division, fname, 3)
    local labels = label_list(opts.labels, fname, 3)
    local a, b = pair(y_true, y_pred, fname)
    local codes, classes = encode({ a, b }, labels, fname, 3)
    local T, P, TP = class_counts(codes[1], codes[2], #classes)
    local cache = { classes = classes, T = T, P = P, TP = TP }
    local present = {}
    for k = 1, #classes do if T[k] + P[k] > 0 then present[#present + 1] = classes[k] end end
    local used = labels or present
    local micro_is_accuracy = true
    if labels then
        local set = {}
        for _, v in ipairs(labels) do set[v] = true end
        for _, v in ipairs(present) do if not set[v] then micro_is_accuracy = false end end
    end
    local names = {}
    if opts.target_names ~= nil then
        if type(opts.target_names) ~= "table" or #opts.target_names ~= #used then
            argerror(3, fname, ("option 'target_names' must be an array of %d names"):format(#used))
        end
        for i, v in ipairs(opts.target_names) do names[i] = tostring(v) end
    else
        for i, v in ipairs(used) do names[i] = label_text(v) end
    end
    local all = { precision = true, recall = true, f = true }
    local p, r, f, s = prf(y_true, y_pred, { average = "none", labels = used, zero_division = zd }, fname, all, cache)
    local rows = {}
    for i = 1, #used do rows[i] = { names[i], p[i], r[i], f[i], s[i] } end
    local avgs = {}
    local kinds = micro_is_accuracy and { "macro", "weighted" } or { "micro", "macro", "weighted" }
    local total = 0
    for i = 1, #s do total = total + s[i] end
    local quiet = function(avg)
        local out
        mf.capture_warnings(function()
            out = { prf(y_true, y_pred, { average = avg, labels = used, zero_division = zd }, fname, {}, cache) }
        end)
        return out
    end
    local acc
    if micro_is_accuracy then acc = quiet("micro")[3] end
    for _, k in ipairs(kinds) do
        local v = quiet(k)
        avgs[#avgs + 1] = { k .. " avg", v[1], v[2], v[3], total }
    end
    if opts.output_dict then
        local d = {}
        for _, row in ipairs(rows) do
            d[row[1]] = { precision = row[2], recall = row[3], ["f1-score"] = row[4], support = row[5] }
        end
        if acc then d.accuracy = acc end
        for _, row in ipairs(avgs) do
            d[row[1]] = { precision = row[2], recall = row[3], ["f1-score"] = row[4], support = row[5] }
        end
        return d
    end
    local width = #"weighted avg"
    for _, n in ipairs(names) do if #n > width then width = #n end end
    if digits > width then width = digits end
    local function rjust(str, w) return (" "):rep(w - #str) .. str end
    local function num(v)
        if v ~= v then return rjust("nan", 9) end
        return rjust(("%." .. digits .. "f"):format(v), 9)
    end
    local out = { rjust("", width), " " }
    for _, h in ipairs({ "precision", "recall", "f1-score", "support" }) do
        out[#out + 1] = " " .. rjust(h, 9)
    end
    out[#out + 1] = "\n\n"
    local function line(row)
        out[#out + 1] = rjust(row[1], width) .. " "
        for j = 2, 4 do out[#out + 1] = " " .. num(row[j]) end
        out[#out + 1] = " " .. rjust(tostring(math.tointeger(row[5]) or row[5]), 9) .. "\n"
    end
    for _, row in ipairs(rows) do line(row) end
    out[#out + 1] = "\n"
    if acc then
        out[#out + 1] = rjust("accuracy", width) .. " " .. " " .. rjust("", 9) .. " " .. rjust("", 9)
            .. " " .. num(acc) .. " " .. rjust(tostring(math.tointeger(total) or total), 9) .. "\n"
    end
    for _, row in ipairs(avgs) do line(row) end
    return table.concat(out)
end

---------------------------------------------------------------- regression

local function reg_pair(y_true, y_pred, fname)
    local function conv(y, argn)
        if type(y) == "table" and not is_tensor(y) then
            local ok, t = pcall(mf.tensor, y, "float64")
            if not ok then argerror(argn, fname, "values must be numbers (a 1-D or n x k array)", 4) end
            y = t
        end
        if not is_tensor(y) then
            argerror(argn, fname, ("tensor or Lua array expected, got %s"):format(type(y)), 4)
        end
        if y:dim() == 0 or y:dim() > 2 then
            argerror(argn, fname, ("1-D or 2-D values expected, got %d-D"):format(y:dim()), 4)
        end
        y = y:double()
        if y:numel() > 0 and not y:isfinite():all():item() then
            argerror(argn, fname, "values contain NaN or infinity", 4)
        end
        if y:dim() == 1 then y = y:view(-1, 1) end
        return y
    end
    local a, b = conv(y_true, 1), conv(y_pred, 2)
    if a:size(1) ~= b:size(1) or a:size(2) ~= b:size(2) then
        argerror(2, fname, ("y_pred has shape %dx%d, y_true has %dx%d")
            :format(b:size(1), b:size(2), a:size(1), a:size(2)), 3)
    end
    if a:size(1) == 0 then argerror(1, fname, "empty input", 3) end
    return a, b
end

local function multi(values, opts, fname)
    local mo = opts.multioutput
    if mo == nil or mo == "uniform_average" then return values:mean():item() end
    if mo == "raw_values" then return values end
    argerror(3, fname, ("option 'multioutput' must be \"uniform_average\" or \"raw_values\", got %s")
        :format(value_text(mo)), 3)
end

--- mse(y_true, y_pred [, {multioutput = "uniform_average" | "raw_values"}]):
-- the mean squared error (per output column of 2-D values).
function M.mse(y_true, y_pred, opts)
    opts = check_options(opts, "mse", 3, { "multioutput" })
    local a, b = reg_pair(y_true, y_pred, "mse")
    local d = a - b
    return multi((d * d):mean(1), opts, "mse")
end

--- rmse(y_true, y_pred [, opts]): the square root of mse.
function M.rmse(y_true, y_pred, opts)
    opts = check_options(opts, "rmse", 3, { "multioutput" })
    local a, b = reg_pair(y_true, y_pred, "rmse")
    local d = a - b
    return multi((d * d):mean(1):sqrt(), opts, "rmse")
end

--- mae(y_true, y_pred [, opts]): the mean absolute error.
function M.mae(y_true, y_pred, opts)
    opts = check_options(opts, "mae", 3, { "multioutput" })
    local a, b = reg_pair(y_true, y_pred, "mae")
    return multi((a - b):abs():mean(1), opts, "mae")
end

--- mape(y_true, y_pred [, opts]): mean(|y - p| / max(|y|, eps)), a
-- fraction (not percent), as scikit-learn.
function M.mape(y_true, y_pred, opts)
    opts = check_options(opts, "mape", 3, { "multioutput" })
    local a, b = reg_pair(y_true, y_pred, "mape")
    return multi(((a - b):abs() / a:abs():clamp(2.0 ^ -52, nil)):mean(1), opts, "mape")
end

-- 1 - num / den per column, with scikit-learn's force_finite rule.
local function ratio_score(num, den)
    local n, d = num:totable(), den:totable()
    local out = {}
    for j = 1, #n do
        if d[j] == 0 then out[j] = n[j] == 0 and 1.0 or 0.0 else out[j] = 1 - n[j] / d[j] end
    end
    return mf.tensor(out, "float64")
end

--- r2(y_true, y_pred [, opts]): the coefficient of determination (1 when
-- y_true is constant and predicted exactly, 0 when constant but not).
function M.r2(y_true, y_pred, opts)
    opts = check_options(opts, "r2", 3, { "multioutput" })
    local a, b = reg_pair(y_true, y_pred, "r2")
    if a:size(1) < 2 then
        mf.warn("r2: R^2 is not well-defined with less than two samples")
        return 0 / 0
    end
    local d = a - b
    local c = a - a:mean(1, { keepdim = true })
    return multi(ratio_score((d * d):sum(1), (c * c):sum(1)), opts, "r2")
end

--- explained_variance(y_true, y_pred [, opts]): 1 - var(y - p) / var(y).
function M.explained_variance(y_true, y_pred, opts)
    opts = check_options(opts, "explained_variance", 3, { "multioutput" })
    local a, b = reg_pair(y_true, y_pred, "explained_variance")
    local d = a - b
    local dc = d - d:mean(1, { keepdim = true })
    local c = a - a:mean(1, { keepdim = true })
    return multi(ratio_score((dc * dc):mean(1), (c * c):mean(1)), opts, "explained_variance")
end

M.mean_squared_error = M.mse
M.root_mean_squared_error = M.rmse
M.mean_absolute_error = M.mae
M.mean_absolute_percentage_error = M.mape
M.r2_score = M.r2
M.explained_variance_score = M.explained_variance
M.accuracy_score = M.accuracy
M.balanced_accuracy_score = M.balanced_accuracy
M.precision_score = M.precision
M.recall_score = M.recall
M.f1_score = M.f1
M.roc_auc_score = M.roc_auc
M.average_precision_score = M.average_precision

---------------------------------------------------------------- scorers

local function has_method(est, name)
    local ok, f = pcall(function() return est[name] end)
    return ok and type(f) == "function"
end

local function classes_of(est)
    local c = est.classes
    if is_tensor(c) then c = c:totable() end
    return c
end

-- A scorer: greater is better (losses are negated), as scikit-learn.
local function make_scorer(metric, method, sign, opts)
    return function(est, X, y)
        local out
        if method == "predict" then
            out = est:predict(X)
        elseif method == "threshold" then
            if has_method(est, "decision_function") then
                out = est:decision_function(X)
            else
                out = est:predict_proba(X)
            end
            if is_tensor(out) and out:dim() == 2 then
                if out:size(2) ~= 2 then
                    error("scorer: roc_auc needs a binary classifier", 2)
                end
                out = out:select(2, 2)
            end
        elseif method == "ovr" then
            local o = {}
            for k, v in pairs(opts) do o[k] = v end
            o.labels = classes_of(est)
            return metric(y, est:predict_proba(X), o)
        else -- proba
            out = est:predict_proba(X)
            local o = {}
            for k, v in pairs(opts or {}) do o[k] = v end
            o.labels = classes_of(est)
            return sign * metric(y, out, o)
        end
        return sign * metric(y, out, opts)
    end
end

M.SCORERS = {
    accuracy = make_scorer(M.accuracy, "predict", 1),
    balanced_accuracy = make_scorer(M.balanced_accuracy, "predict", 1),
    roc_auc = make_scorer(M.roc_auc, "threshold", 1),
    roc_auc_ovr = make_scorer(M.roc_auc, "ovr", 1, { multi_class = "ovr" }),
    roc_auc_ovr_weighted = make_scorer(M.roc_auc, "ovr", 1, { multi_class = "ovr", average = "weighted" }),
    average_precision = make_scorer(M.average_precision, "threshold", 1),
    neg_log_loss = make_scorer(M.log_loss, "proba", -1),
    r2 = make_scorer(M.r2, "predict", 1),
    explained_variance = make_scorer(M.explained_variance, "predict", 1),
    neg_mean_squared_error = make_scorer(M.mse, "predict", -1),
    neg_root_mean_squared_error = make_scorer(M.rmse, "predict", -1),
    neg_mean_absolute_error = make_scorer(M.mae, "predict", -1),
    neg_mean_absolute_percentage_error = make_scorer(M.mape, "predict", -1),
}
for _, m in ipairs({ "precision", "recall", "f1" }) do
    M.SCORERS[m] = make_scorer(M[m], "predict", 1)
    for _, avg in ipairs({ "macro", "micro", "weighted" }) do
        M.SCORERS[m .. "_" .. avg] = make_scorer(M[m], "predict", 1, { average = avg })
    end
end
-- moonforge's own metric names: losses are negated (greater is better)
M.SCORERS.log_loss = M.SCORERS.neg_log_loss
M.SCORERS.mse = M.SCORERS.neg_mean_squared_error
M.SCORERS.rmse = M.SCORERS.neg_root_mean_squared_error
M.SCORERS.mae = M.SCORERS.neg_mean_absolute_error
M.SCORERS.mape = M.SCORERS.neg_mean_absolute_percentage_error

--- get_scorer(name): the scorer function(estimator, X, y) of a scoring
-- string (a function is returned as it is).
function M.get_scorer(name)
    if type(name) == "function" then return name end
    if type(name) ~= "string" then
        argerror(1, "get_scorer", ("scoring name expected, got %s"):format(type(name)))
    end
    local s = M.SCORERS[name]
    if not s then
        local names = {}
        for k in pairs(M.SCORERS) do names[#names + 1] = k end
        table.sort(names)
        argerror(1, "get_scorer", ("unknown scoring '%s' (expected one of: %s)"):format(name, table.concat(names, ", ")))
    end
    return s
end

---------------------------------------------------------------- SVG plots

local function esc(s)
    return (tostring(s):gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;" }))
end

local function write_atomic(path, doc, fname)
    local tmp = path .. ".tmp"
    local f, err = io.open(tmp, "wb")
    if not f then error(("%s: cannot write %s: %s"):format(fname, path, err), 3) end
    local ok, werr = f:write(doc)
    local closed, cerr = f:close()
    if not ok or not closed then
        os.remove(tmp)
        error(("%s: cannot write %s: %s"):format(fname, path, tostring(werr or cerr)), 3)
    end
    local renamed, rerr = os.rename(tmp, path)
    if not renamed then
        os.remove(tmp)
        error(("%s: cannot write %s: %s"):format(fname, path, rerr), 3)
    end
    return path
end

local function check_path(path, fname)
    if type(path) ~= "string" or path == "" then
        argerror(2, fname, ("file path expected, got %s"):format(type(path)), 3)
    end
end

-- The first lines of an SVG image W x H on white, with a centered title at
-- baseline y (none when title is nil); the caller closes it with svg_close.
local function svg_open(W, H, title, title_y)
    local out = {
        '<?xml version="1.0" encoding="UTF-8"?>',
        ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">'):format(W, H, W, H),
        ('<rect width="%d" height="%d" fill="white"/>'):format(W, H),
        '<g font-family="sans-serif" font-size="11">',
    }
    if title then
        out[#out + 1] = ('<text x="%d" y="%d" font-size="16" text-anchor="middle">%s</text>')
            :format(W // 2, title_y, esc(title))
    end
    return out
end

--- plot_confusion_matrix(cm, path [, {labels, title}]): the matrix as an
-- SVG heat map with the counts written in the cells. Returns path.
function M.plot_confusion_matrix(cm, path, opts)
    local fname = "plot_confusion_matrix"
    if not is_tensor(cm) or cm:dim() ~= 2 or cm:size(1) ~= cm:size(2) or cm:size(1) == 0 then
        argerror(1, fname, "square K x K tensor expected")
    end
    check_path(path, fname)
    opts = check_options(opts, fname, 3, { "labels", "title" })
    local K = cm:size(1)
    local labels = opts.labels
    if labels ~= nil and (type(labels) ~= "table" or #labels ~= K) then
        argerror(3, fname, ("option 'labels' must be an array of %d labels"):format(K))
    end
    local vals = cm:double():totable()
    local vmax = cm:double():max():item()
    if not (vmax > 0) then vmax = 1 end
    local integral = cm:dtype() == "int64"
    local cell = math.max(24, math.min(60, 480 // K))
    local left, top = 110, (opts.title and 60 or 36)
    local W, H = left + K * cell + 30, top + K * cell + 70
    local out = svg_open(W, H, opts.title, 22)
    local function name(i) return labels and label_text(labels[i]) or tostring(i) end
    for i = 1, K do
        for j = 1, K do
            local v = vals[i][j]
            local t = v / vmax
            -- white to #1f77b4
            local r = math.floor(255 + (31 - 255) * t + 0.5)
            local g = math.floor(255 + (119 - 255) * t + 0.5)
            local bl = math.floor(255 + (180 - 255) * t + 0.5)
            local x, y = left + (j - 1) * cell, top + (i - 1) * cell
            out[#out + 1] = ('<rect x="%d" y="%d" width="%d" height="%d" fill="#%02x%02x%02x" stroke="#ccc"/>')
                :format(x, y, cell, cell, r, g, bl)
            out[#out + 1] = ('<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s">%s</text>')
                :format(x + cell / 2, y + cell / 2 + 4, t > 0.5 and "white" or "#333",
                    integral and ("%d"):format(math.tointeger(v) or 0) or ("%.2f"):format(v))
        end
        local y = top + (i - 0.5) * cell
        out[#out + 1] = ('<text x="%d" y="%.1f" text-anchor="end">%s</text>'):format(left - 6, y + 4, esc(name(i)))
        out[#out + 1] = ('<text x="%.1f" y="%d" text-anchor="middle">%s</text>')
            :format(left + (i - 0.5) * cell, top + K * cell + 16, esc(name(i)))
    end
    out[#out + 1] = ('<text x="%.1f" y="%d" text-anchor="middle">predicted label</text>')
        :format(left + K * cell / 2, top + K * cell + 40)
    out[#out + 1] = ('<text x="16" y="%.1f" text-anchor="middle" transform="rotate(-90 16 %.1f)">true label</text>')
        :format(top + K * cell / 2, top + K * cell / 2)
    out[#out + 1] = "</g>"
    out[#out + 1] = "</svg>"
    return write_atomic(path, table.concat(out, "\n") .. "\n", fname)
end

--- plot_roc_curve(fpr, tpr, path [, {auc, title}]): the ROC curve as SVG,
-- with the chance diagonal dashed. Returns path.
function M.plot_roc_curve(fpr, tpr, path, opts)
    local fname = "plot_roc_curve"
    fpr, tpr = score_input(fpr, fname, 1), score_input(tpr, fname, 2)
    if fpr:numel() ~= tpr:numel() or fpr:numel() < 2 then
        argerror(2, fname, ("fpr and tpr must have one length >= 2 (got %d and %d)"):format(fpr:numel(), tpr:numel()))
    end
    if type(path) ~= "string" or path == "" then
        argerror(3, fname, ("file path expected, got %s"):format(type(path)))
    end
    opts = check_options(opts, fname, 4, { "auc", "title" })
    if opts.auc ~= nil and type(opts.auc) ~= "number" then
        argerror(4, fname, "option 'auc' must be a number")
    end
    local W, H = 460, 420
    local top = opts.title and 40 or 20
    local x0, x1, y0, y1 = 64, W - 24, top + 10, H - 50
    local function X(v) return x0 + v * (x1 - x0) end
    local function Y(v) return y1 - v * (y1 - y0) end
    local out = svg_open(W, H, opts.title, 24)
    for k = 0, 5 do
        local v = k / 5
        out[#out + 1] = ('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>'):format(x0, Y(v), x1, Y(v))
        out[#out + 1] = ('<text x="%.1f" y="%.1f" text-anchor="end">%.1f</text>'):format(x0 - 6, Y(v) + 4, v)
        out[#out + 1] = ('<text x="%.1f" y="%.1f" text-anchor="middle">%.1f</text>'):format(X(v), y1 + 16, v)
    end
    out[#out + 1] = ('<path d="M%.1f %.1fV%.1fH%.1f" fill="none" stroke="#333"/>'):format(x0, y0, y1, x1)
    out[#out + 1] = ('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999" stroke-dasharray="6,4"/>')
        :format(X(0), Y(0), X(1), Y(1))
    -- at most ~2000 points drawn: a long curve is thinned evenly
    local n = fpr:numel()
    local f, t = fpr, tpr
    if n > 2000 then
        local idx = mf.linspace(1, n, 2000, "float64"):round():long()
        f, t = fpr:index(1, idx), tpr:index(1, idx)
    end
    local fv, tv = f:totable(), t:totable()
    local pts = {}
    for i = 1, #fv do
        if fv[i] == fv[i] and tv[i] == tv[i] then pts[#pts + 1] = ("%.1f,%.1f"):format(X(fv[i]), Y(tv[i])) end
    end
    out[#out + 1] = ('<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="%s"/>'):format(table.concat(pts, " "))
    out[#out + 1] = ('<text x="%.1f" y="%d" text-anchor="middle">false positive rate</text>'):format((x0 + x1) / 2, y1 + 34)
    out[#out + 1] = ('<text x="16" y="%.1f" text-anchor="middle" transform="rotate(-90 16 %.1f)">true positive rate</text>')
        :format((y0 + y1) / 2, (y0 + y1) / 2)
    if opts.auc then
        out[#out + 1] = ('<text x="%.1f" y="%.1f" text-anchor="end">AUC = %.4f</text>'):format(x1 - 8, y1 - 10, opts.auc)
    end
    out[#out + 1] = "</g>"
    out[#out + 1] = "</svg>"
    return write_atomic(path, table.concat(out, "\n") .. "\n", fname)
end

return M
