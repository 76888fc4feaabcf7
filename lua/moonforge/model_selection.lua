-- moonforge.model_selection (mf.model_selection): cross-validation splitters,
-- with scikit-learn's names, fold sizes and allocation rules; positions are
-- 1-based int64 row numbers.
--
--     local cv = mf.model_selection.KFold{n_splits = 5, shuffle = true, seed = 0}
--     for train_idx, test_idx in cv:split(X, y) do ... end
--
-- Every splitter: KFold, StratifiedKFold, TimeSeriesSplit, GroupKFold.
-- split(X [, y [, groups]]) returns an iterator of (train_idx, test_idx), both
-- sorted ascending; get_n_splits() the number of folds. The fold work is
-- tensor ops (argsort, scatter, eq, nonzero): no Lua loop over rows, only over
-- classes, groups and folds.
--
-- The private helpers at the end (M._rows, M._take, M._label_codes, ...) are
-- shared with mf.data.train_test_split and mf.data.DataLoader (loader.lua).
local mf = require "moonforge"

local is_tensor = mf.is_tensor
local check_options = mf.nn.check_options

local M = {}

local function argerror(argn, fname, msg, level)
    error(("bad argument #%d to '%s' (%s)"):format(argn, fname, msg), (level or 2) + 1)
end

local function is_table(x) return mf.data and getmetatable(x) == mf.data.Table end
local function is_array(x) return type(x) == "table" and not is_tensor(x) and not is_table(x) end

-- The number of rows of x: a tensor (rows = dim 1), a Table or a Lua array.
local function nrows(x, fname, argn, what)
    if is_tensor(x) then
        if x:dim() == 0 then argerror(argn, fname, what .. " is a 0-d tensor: it has no rows", 3) end
        return x:size(1)
    end
    if is_table(x) then return #x end
    if is_array(x) then return #x end
    argerror(argn, fname, ("%s must be a tensor, a Table or a Lua array, got %s"):format(what, type(x)), 3)
end

-- The rows idx (1-based int64 tensor) of x, x of the same kinds as nrows.
local function take(x, idx)
    if is_tensor(x) then return x:index(1, idx) end
    if is_table(x) then return x:take(idx) end
    local out, ids = {}, idx:totable()
    for i = 1, #ids do out[i] = x[ids[i]] end
    return out
end

local function check_seed(seed, fname, argn)
    if seed ~= nil and math.type(seed) ~= "integer" then
        argerror(argn, fname, "option 'seed' must be an integer, got " .. tostring(seed), 3)
    end
    return seed
end

local function check_bool(v, default, name, fname, argn)
    if v == nil then return default end
    if type(v) ~= "boolean" then
        argerror(argn, fname, ("option '%s' must be a boolean, got %s"):format(name, tostring(v)), 3)
    end
    return v
end

-- A generator for one split: its own when seeded (the same folds on every
-- call, as scikit-learn's integer random_state), else the global one (set by
-- mf.manual_seed).
local function new_rng(seed)
    if seed == nil then return nil end
    return mf.Generator(seed)
end

local function randperm(rng, n)
    if rng then return rng:randperm(n) end
    return mf.randperm(n)
end

-- Labels (tensor with one value per row, a one-column Table, or a Lua array)
-- as int64 codes 1..K. Returns codes, K, counts (Lua array), classes (the
-- distinct values, sorted; codes follow that order).
local function label_codes(y, fname, argn, what)
    if is_table(y) then
        local cols = y:columns()
        if #cols ~= 1 then
            argerror(argn, fname, ("%s is a Table of %d columns: give one column"):format(what, #cols), 3)
        end
        y = y:column(cols[1])
    end
    if is_tensor(y) then
        if not (y:dim() == 1 or (y:dim() == 2 and y:size(2) == 1)) then
            argerror(argn, fname, ("%s must hold one label per row, got [%s]")
                     :format(what, table.concat(y:shape(), "x")), 3)
        end
        y = y:reshape(-1)
        if y:size(1) == 0 then return mf.zeros(0, "int64"), 0, {}, {} end
        if y:dtype() ~= "int64" and y:dtype() ~= "bool" and y:isnan():any():item() then
            argerror(argn, fname, what .. " holds NaN (a missing label)", 3)
        end
        local values, inverse, counts = mf.unique(y, {return_inverse = true, return_counts = true})
        return inverse, values:size(1), counts:totable(), values:totable()
    end
    if not is_array(y) then
        argerror(argn, fname, ("%s must be a tensor, a Table or a Lua array, got %s"):format(what, type(y)), 3)
    end
    local NA = mf.data.NA
    local seen, classes = {}, {}
    for i = 1, #y do
        local v = y[i]
        if v == nil or v == NA or v ~= v then
            argerror(argn, fname, ("%s[%d] is missing"):format(what, i), 3)
        end
        if not seen[v] then
            seen[v] = true
            classes[#classes + 1] = v
        end
    end
    table.sort(classes, function(a, b)
        local ta, tb = type(a), type(b)
        if ta ~= tb then return ta < tb end
        if ta == "number" or ta == "string" then return a < b end
        return tostring(a) < tostring(b)
    end)
    local code, counts = {}, {}
    for k, v in ipairs(classes) do
        code[v] = k
        counts[k] = 0
    end
    local codes = {}
    for i = 1, #y do
        local k = code[y[i]]
        codes[i] = k
        counts[k] = counts[k] + 1
    end
    return (#codes > 0 and mf.tensor(codes, "int64") or mf.zeros(0, "int64")), #classes, counts, classes
end

-- Codes renumbered so that class 1 is the first to appear in the rows, 2 the
-- next, ... (scikit-learn's StratifiedKFold order). order is codes:argsort().
local function first_appearance(codes, K, counts, order)
    local starts, s = {}, 1
    for k = 1, K do
        starts[k] = s
        s = s + counts[k]
    end
    local first_idx = order:index(1, mf.tensor(starts, "int64"))
    local rank = first_idx:argsort()            -- rank[j]: the old code that appears j-th
    local map = mf.zeros(K, "int64"):scatter_add_(1, rank, mf.arange(1, K + 1, "int64"))
    local new_counts = {}
    local r = rank:totable()
    for j = 1, K do new_counts[j] = counts[r[j]] end
    return map:index(1, codes), new_counts
end

-- The iterator over folds 1..k of fold_of (int64: the test fold of each row).
local function fold_iter(fold_of, k)
    local f = 0
    return function()
        f = f + 1
        if f > k then return nil end
        local mask = fold_of:eq(f)
        return mask:logical_not():nonzero():reshape(-1), mask:nonzero():reshape(-1)
    end
end

-- Fold numbers laid out by fold sizes: sizes[1] ones, then sizes[2] twos, ...
local function repeat_folds(sizes)
    local parts = {}
    for f, size in ipairs(sizes) do
        if size > 0 then parts[#parts + 1] = mf.full({size}, f, "int64") end
    end
    if #parts == 0 then return mf.zeros(0, "int64") end
    return #parts == 1 and parts[1] or mf.cat(parts)
end

local function check_n_splits(v, default, fname)
    if v == nil then return default end
    if math.type(v) ~= "integer" then
        argerror(1, fname, "option 'n_splits' must be an integer, got " .. tostring(v), 3)
    end
    if v < 2 then
        argerror(1, fname, ("k-fold cross-validation needs at least one train/test split: "
                 .. "n_splits must be 2 or more, got %d"):format(v), 3)
    end
    return v
end

local function check_self(self, cls, fname)
    if getmetatable(self) ~= cls then
        error(("bad argument #1 to '%s' (%s expected: call it as cv:%s(...))")
              :format(fname, cls.__name, fname), 3)
    end
end

local function new_class(name)
    local cls = {__name = name}
    cls.__index = cls
    function cls.get_n_splits(self) return self.n_splits end
    return cls
end

local function fmt_opts(self, keys)
    local parts = {}
    for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. tostring(self[k]) end
    return ("%s(%s)"):format(getmetatable(self).__name:gsub("^.*%.", ""), table.concat(parts, ", "))
end

-- The options {n_splits = 5, shuffle = false, seed} of KFold and
-- StratifiedKFold, checked, into a new object of class cls (called as a tail
-- call, so that error levels point at the caller of the constructor).
local function new_kfold(cls, fname, opts)
    opts = check_options(opts, fname, 1, {"n_splits", "shuffle", "seed"})
    local self = setmetatable({}, cls)
    self.n_splits = check_n_splits(opts.n_splits, 5, fname)
    self.shuffle = check_bool(opts.shuffle, false, "shuffle", fname, 1)
    self.seed = check_seed(opts.seed, fname, 1)
    if self.seed ~= nil and not self.shuffle then
        argerror(1, fname, "option 'seed' has no effect when shuffle is false: drop it or set shuffle = true")
    end
    return self
end

---------------------------------------------------------------- KFold
local KFold = new_class("moonforge.KFold")
KFold.__tostring = function(self) return fmt_opts(self, {"n_splits", "shuffle", "seed"}) end

--- KFold{n_splits = 5, shuffle = false, seed}: consecutive folds (of the
-- rows shuffled when shuffle = true); the first n % n_splits folds hold one
-- row more.
function M.KFold(opts) return new_kfold(KFold, "KFold", opts) end

-- The fold sizes of n rows in k folds: the first n % k hold one more.
local function fold_sizes(n, k)
    local sizes = {}
    for f = 1, k do sizes[f] = n // k + (f <= n % k and 1 or 0) end
    return sizes
end

function KFold:split(X)
    check_self(self, KFold, "split")
    local n = nrows(X, "split", 1, "X")
    local k = self.n_splits
    if k > n then
        argerror(1, "split", ("cannot have n_splits = %d greater than the number of rows (%d)"):format(k, n))
    end
    local pos_fold = repeat_folds(fold_sizes(n, k))
    local fold_of
    if self.shuffle then
        local perm = randperm(new_rng(self.seed), n)
        fold_of = mf.zeros(n, "int64"):scatter_add_(1, perm, pos_fold)
    else
        fold_of = pos_fold
    end
    return fold_iter(fold_of, k)
end

---------------------------------------------------------------- StratifiedKFold
local StratifiedKFold = new_class("moonforge.StratifiedKFold")
StratifiedKFold.__tostring = function(self) return fmt_opts(self, {"n_splits", "shuffle", "seed"}) end

--- StratifiedKFold{n_splits = 5, shuffle = false, seed}: folds that keep each
-- class's proportion (scikit-learn's allocation: the rows sorted by class are
-- dealt to the folds in turn, so each class is spread as evenly as possible).
function M.StratifiedKFold(opts) return new_kfold(StratifiedKFold, "StratifiedKFold", opts) end

function StratifiedKFold:split(X, y)
    check_self(self, StratifiedKFold, "split")
    local n = nrows(X, "split", 1, "X")
    if y == nil then argerror(2, "split", "StratifiedKFold needs the labels y") end
    local ny = nrows(y, "split", 2, "y")
    if ny ~= n then argerror(2, "split", ("y has %d rows, X has %d"):format(ny, n)) end
    local k = self.n_splits
    if k > n then
        argerror(1, "split", ("cannot have n_splits = %d greater than the number of rows (%d)"):format(k, n))
    end
    local codes, K, counts = label_codes(y, "split", 2, "y") -- (NaN is an error there)
    if is_tensor(y) and y:dtype() ~= "int64" and y:dtype() ~= "bool" and y:ne(y:floor()):any():item() then
        argerror(2, "split", "y holds non-integer numbers (a continuous target): "
                 .. "StratifiedKFold needs class labels")
    end
    codes, counts = first_appearance(codes, K, counts, codes:argsort())
    local min_count, fits = math.huge, false
    for c = 1, K do
        min_count = math.min(min_count, counts[c])
        if counts[c] >= k then fits = true end
    end
    if not fits then
        argerror(2, "split", ("n_splits = %d cannot be greater than the number of members in each class"):format(k))
    end
    if k > min_count then
        mf.warn("StratifiedKFold: the least populated class in y has only %d members, which is less than n_splits = %d",
                min_count, k)
    end
    -- allocation: the rows sorted by class, position p (0-based) goes to fold
    -- p % k + 1; class c holds positions [start, start + count)
    local function upto(x, r) return math.max(0, (x - r + k - 1) // k) end -- #{p < x : p % k == r}
    local order = codes:argsort()
    local rng = self.shuffle and new_rng(self.seed) or nil
    local parts, start = {}, 0
    for c = 1, K do
        local sizes = {}
        for f = 1, k do
            sizes[f] = upto(start + counts[c], f - 1) - upto(start, f - 1)
        end
        local folds = repeat_folds(sizes)
        if self.shuffle then folds = folds:index(1, randperm(rng, counts[c])) end
        parts[c] = folds
        start = start + counts[c]
    end
    local fold_of = mf.zeros(n, "int64"):scatter_add_(1, order, #parts == 1 and parts[1] or mf.cat(parts))
    return fold_iter(fold_of, k)
end

---------------------------------------------------------------- TimeSeriesSplit
local TimeSeriesSplit = new_class("moonforge.TimeSeriesSplit")
TimeSeriesSplit.__tostring = function(self)
    return fmt_opts(self, {"n_splits", "max_train_size", "test_size", "gap"})
end

--- TimeSeriesSplit{n_splits = 5, max_train_size, test_size, gap = 0}: the
-- rows are in time order; fold i tests the i-th of the last n_splits blocks of
-- test_size rows (default n // (n_splits + 1)) and trains on the rows before
-- it, minus `gap` rows, at most the last max_train_size of them.
function M.TimeSeriesSplit(opts)
    local fname = "TimeSeriesSplit"
    opts = check_options(opts, fname, 1, {"n_splits", "max_train_size", "test_size", "gap"})
    local self = setmetatable({}, TimeSeriesSplit)
    self.n_splits = check_n_splits(opts.n_splits, 5, fname)
    for _, key in ipairs({"max_train_size", "test_size"}) do
        local v = opts[key]
        if v ~= nil and (math.type(v) ~= "integer" or v < 1) then
            argerror(1, fname, ("option '%s' must be an integer >= 1, got %s"):format(key, tostring(v)))
        end
        self[key] = v
    end
    local gap = opts.gap or 0
    if math.type(gap) ~= "integer" or gap < 0 then
        argerror(1, fname, "option 'gap' must be an integer >= 0, got " .. tostring(gap))
    end
    self.gap = gap
    return self
end

function TimeSeriesSplit:split(X)
    check_self(self, TimeSeriesSplit, "split")
    local n = nrows(X, "split", 1, "X")
    local k = self.n_splits
    if k + 1 > n then
        argerror(1, "split", ("cannot have n_splits + 1 = %d folds greater than the number of rows (%d)")
                 :format(k + 1, n))
    end
    local test_size = self.test_size or n // (k + 1)
    local gap = self.gap
    if n - gap - test_size * k <= 0 then
        argerror(1, "split", ("too many splits (n_splits = %d) for %d rows with test_size = %d and gap = %d")
                 :format(k, n, test_size, gap))
    end
    local max_train = self.max_train_size
    local i = 0
    return function()
        i = i + 1
        if i > k then return nil end
        local test_start = n - k * test_size + (i - 1) * test_size -- 0-based
        local train_end = test_start - gap                            -- rows [0, train_end)
        local train_start = 0
        if max_train and max_train < train_end then train_start = train_end - max_train end
        return mf.arange(train_start + 1, train_end + 1, "int64"),
               mf.arange(test_start + 1, test_start + test_size + 1, "int64")
    end
end

---------------------------------------------------------------- GroupKFold
local GroupKFold = new_class("moonforge.GroupKFold")
GroupKFold.__tostring = function(self) return fmt_opts(self, {"n_splits"}) end

--- GroupKFold{n_splits = 5}: no group in two folds; groups (third argument of
-- split) go, largest first, to the fold with the fewest rows so far.
function M.GroupKFold(opts)
    local fname = "GroupKFold"
    opts = check_options(opts, fname, 1, {"n_splits"})
    local self = setmetatable({}, GroupKFold)
    self.n_splits = check_n_splits(opts.n_splits, 5, fname)
    return self
end

function GroupKFold:split(X, _, groups)
    check_self(self, GroupKFold, "split")
    local n = nrows(X, "split", 1, "X")
    if groups == nil then argerror(3, "split", "GroupKFold needs groups: cv:split(X, y, groups)") end
    local ng = nrows(groups, "split", 3, "groups")
    if ng ~= n then argerror(3, "split", ("groups has %d rows, X has %d"):format(ng, n)) end
    local codes, G, counts = label_codes(groups, "split", 3, "groups")
    local k = self.n_splits
    if k > G then
        argerror(3, "split", ("cannot have n_splits = %d greater than the number of groups (%d)"):format(k, G))
    end
    local by_size = {}
    for g = 1, G do by_size[g] = g end
    table.sort(by_size, function(a, b)
        if counts[a] ~= counts[b] then return counts[a] > counts[b] end
        return a < b
    end)
    local load, group_fold = {}, {}
    for f = 1, k do load[f] = 0 end
    for _, g in ipairs(by_size) do
        local best = 1
        for f = 2, k do if load[f] < load[best] then best = f end end
        load[best] = load[best] + counts[g]
        group_fold[g] = best
    end
    local fold_of = mf.tensor(group_fold, "int64"):index(1, codes)
    return fold_iter(fold_of, k)
end

---------------------------------------------------------------- cross-validation
-- (estimator helpers from moonforge.estimator; required lazily there would
-- be a cycle: estimator.lua only needs mf)
local E = require "moonforge.estimator"

-- The splitter of option cv (nil, an integer or an object with split): an
-- integer means StratifiedKFold for a classifier (when y is given) and KFold
-- otherwise, as in scikit-learn; seed shuffles those folds.
local function resolve_cv(cv, seed, estimator, y, fname, argn)
    if seed ~= nil then check_seed(seed, fname, argn) end
    if cv == nil then cv = 5 end
    if math.type(cv) == "integer" then
        if cv < 2 then
            argerror(argn, fname, ("option 'cv' must be 2 folds or more, got %d"):format(cv), 3)
        end
        local opts = {n_splits = cv}
        if seed ~= nil then opts.shuffle, opts.seed = true, seed end
        if y ~= nil and E.estimator_type(estimator) == "classifier" then
            return M.StratifiedKFold(opts)
        end
        return M.KFold(opts)
    end
    if type(cv) == "table" and not is_tensor(cv) and type(cv.split) == "function" then
        if seed ~= nil then
            argerror(argn, fname, "option 'seed' applies to an integer cv: give the splitter its own seed", 3)
        end
        return cv
    end
    argerror(argn, fname, ("option 'cv' must be an integer >= 2 or a splitter (an object with split), got %s")
             :format(type(cv) == "number" and tostring(cv) or type(cv)), 3)
end

-- The scorer of option scoring: nil → est:score(X, y); a string →
-- mf.metrics.get_scorer(name); a function(est, X, y) → number.
local function resolve_scoring(scoring, fname, argn)
    if scoring == nil then
        return function(est, X, y) return est:score(X, y) end
    end
    if type(scoring) == "string" then
        local get = mf.metrics and mf.metrics.get_scorer
        if type(get) ~= "function" then
            argerror(argn, fname, ("option 'scoring' = '%s': mf.metrics has no scorers"):format(scoring), 3)
        end
        local ok, scorer = pcall(get, scoring)
        if not ok then
            argerror(argn, fname, ("option 'scoring': %s"):format((tostring(scorer):gsub("^.-:%d+: ", ""))), 3)
        end
        return scorer
    end
    if type(scoring) == "function" then return scoring end
    argerror(argn, fname, "option 'scoring' must be a metric name or a function(estimator, X, y), got "
             .. type(scoring), 3)
end

local function check_estimator(est, fname, argn)
    if type(est) ~= "table" or is_tensor(est) or type(est.fit) ~= "function" then
        argerror(argn, fname, "estimator expected (an object with fit), got " .. E.typename(est), 3)
    end
    if type(est.get_params) ~= "function" then
        argerror(argn, fname, ("%s cannot be cloned (no get_params)"):format(tostring(est)), 3)
    end
end

-- The folds as a list of {train, test} (1-based int64 row numbers).
local function collect_folds(splitter, X, y, groups)
    local folds = {}
    for tr, te in splitter:split(X, y, groups) do folds[#folds + 1] = {tr, te} end
    return folds
end

-- Fits a clone of est (params set) on one fold; returns the fitted clone, the
-- test score, the train score (when asked), the fit and score seconds.
local function fit_and_score(est, params, X, y, fold, scorer, want_train)
    local e = E.clone(est)
    if params then e:set_params(params) end
    local Xtr, Xte = take(X, fold[1]), take(X, fold[2])
    local ytr = y ~= nil and take(y, fold[1]) or nil
    local yte = y ~= nil and take(y, fold[2]) or nil
    local t0 = mf.clock()
    e:fit(Xtr, ytr)
    local t1 = mf.clock()
    local test = scorer(e, Xte, yte)
    local t2 = mf.clock()
    if type(test) ~= "number" then
        error(("cross-validation: a score must be a number, got %s"):format(E.typename(test)), 0)
    end
    local train = want_train and scorer(e, Xtr, ytr) or nil
    return e, test, train, t1 - t0, t2 - t1
end

local function check_xy(X, y, fname)
    local n = nrows(X, fname, 2, "X")
    if y ~= nil then
        local ny = nrows(y, fname, 3, "y")
        if ny ~= n then argerror(3, fname, ("y has %d rows, X has %d"):format(ny, n), 3) end
    end
    return n
end

local CV_OPTS = {"cv", "scoring", "seed", "groups"}

--- cross_validate(estimator, X, y, {cv = 5, scoring, seed, groups,
-- return_train_score = false, return_estimator = false}) →
-- {test_score, fit_time, score_time [, train_score] [, estimator]}: per fold
-- (float64 tensors), each fold fitting a clone of the estimator.
function M.cross_validate(estimator, X, y, opts)
    local fname = "cross_validate"
    check_estimator(estimator, fname, 1)
    opts = check_options(opts, fname, 4, {"cv", "scoring", "seed", "groups",
                                          "return_train_score", "return_estimator"})
    check_xy(X, y, fname)
    local splitter = resolve_cv(opts.cv, opts.seed, estimator, y, fname, 4)
    local scorer = resolve_scoring(opts.scoring, fname, 4)
    local want_train = check_bool(opts.return_train_score, false, "return_train_score", fname, 4)
    local want_est = check_bool(opts.return_estimator, false, "return_estimator", fname, 4)
    local test, train, fit_t, score_t, ests = {}, {}, {}, {}, {}
    for i, fold in ipairs(collect_folds(splitter, X, y, opts.groups)) do
        local e
        e, test[i], train[i], fit_t[i], score_t[i] = fit_and_score(estimator, nil, X, y, fold, scorer, want_train)
        ests[i] = e
    end
    local out = {test_score = mf.tensor(test, "float64"), fit_time = mf.tensor(fit_t, "float64"),
                 score_time = mf.tensor(score_t, "float64")}
    if want_train then out.train_score = mf.tensor(train, "float64") end
    if want_est then out.estimator = ests end
    return out
end

--- cross_val_score(estimator, X, y, {cv = 5, scoring, seed, groups}) → the
-- test score of each fold (float64 tensor).
function M.cross_val_score(estimator, X, y, opts)
    local fname = "cross_val_score"
    check_estimator(estimator, fname, 1)
    opts = check_options(opts, fname, 4, CV_OPTS)
    check_xy(X, y, fname)
    local splitter = resolve_cv(opts.cv, opts.seed, estimator, y, fname, 4)
    local scorer = resolve_scoring(opts.scoring, fname, 4)
    local test = {}
    for i, fold in ipairs(collect_folds(splitter, X, y, opts.groups)) do
        local _
        _, test[i] = fit_and_score(estimator, nil, X, y, fold, scorer, false)
    end
    return mf.tensor(test, "float64")
end

---------------------------------------------------------------- GridSearchCV
local SearchBase = E.base()

-- The grids of param_grid: a map name → list of values, or a list of maps.
local function grids_of(pg)
    if type(pg) ~= "table" or is_tensor(pg) or getmetatable(pg) ~= nil then return nil end
    if #pg > 0 then return pg end
    return {pg}
end

-- Every combination of a grid, in scikit-learn's ParameterGrid order (names
-- sorted, the last name varying fastest).
local function expand(grid, out)
    local names = {}
    for k in pairs(grid) do names[#names + 1] = k end
    table.sort(names)
    local function rec(i, cur)
        if i > #names then
            local p = {}
            for k, v in pairs(cur) do p[k] = v end
            out[#out + 1] = p
            return
        end
        for _, v in ipairs(grid[names[i]]) do
            cur[names[i]] = v
            rec(i + 1, cur)
        end
        cur[names[i]] = nil
    end
    rec(1, {})
    return out
end

local GridSearchCV = E.class(M, "moonforge.model_selection", SearchBase, "GridSearchCV",
                             {"estimator", "param_grid", "cv", "scoring", "refit", "seed"},
                             {refit = true})

function GridSearchCV:_check()
    if not E.is_estimator(self.estimator) or type(self.estimator.fit) ~= "function" then
        E.opt_error(self, "option 'estimator' must be an estimator (with fit and get_params), got "
                    .. E.typename(self.estimator))
    end
    local grids = grids_of(self.param_grid)
    if not grids then
        E.opt_error(self, "option 'param_grid' must be a table {name = {values...}} or a list of them, got "
                    .. E.typename(self.param_grid))
    end
    for gi, grid in ipairs(grids) do
        if type(grid) ~= "table" or getmetatable(grid) ~= nil or next(grid) == nil then
            E.opt_error(self, ("option 'param_grid': grid %d must be a non-empty table {name = {values...}}")
                        :format(gi))
        end
        local trial = {}
        for k, v in pairs(grid) do
            if type(k) ~= "string" then
                E.opt_error(self, "option 'param_grid': parameter names must be strings, got " .. type(k))
            end
            if type(v) ~= "table" or is_tensor(v) or getmetatable(v) ~= nil or #v == 0 then
                E.opt_error(self, ("option 'param_grid': the values of '%s' must be a non-empty list"):format(k))
            end
            trial[k] = v[1]
        end
        -- unknown names and bad values are found now, on a throwaway clone
        local ok, err = pcall(function() E.clone(self.estimator):set_params(trial) end)
        if not ok then
            local msg = tostring(err):gsub("^.-:%d+: ", "")
            msg = msg:match("^bad argument #%d+ to '[^']+' %((.*)%)$") or msg
            E.opt_error(self, "option 'param_grid': " .. msg)
        end
    end
    if type(self.refit) ~= "boolean" then
        E.opt_error(self, "option 'refit' must be a boolean, got " .. type(self.refit))
    end
    local cv = self.cv
    if not (cv == nil or (math.type(cv) == "integer" and cv >= 2)
            or (type(cv) == "table" and type(cv.split) == "function")) then
        E.opt_error(self, ("option 'cv' must be an integer >= 2 or a splitter (an object with split), got %s")
                    :format(type(cv) == "number" and tostring(cv) or type(cv)))
    end
    if self.seed ~= nil and math.type(self.seed) ~= "integer" then
        E.opt_error(self, "option 'seed' must be an integer, got " .. tostring(self.seed))
    end
    if self.seed ~= nil and type(cv) == "table" then
        E.opt_error(self, "option 'seed' applies to an integer cv: give the splitter its own seed")
    end
    local s = self.scoring
    if not (s == nil or type(s) == "string" or type(s) == "function") then
        E.opt_error(self, "option 'scoring' must be a metric name or a function(estimator, X, y), got " .. type(s))
    end
    rawset(self, "_estimator_type", E.estimator_type(self.estimator))
end

-- Candidate values that are estimators are cloned (each fit gets its own).
local function fresh(params)
    local p = {}
    for k, v in pairs(params) do p[k] = E.is_estimator(v) and E.clone(v) or v end
    return p
end

--- search:fit(X, y) → search: every candidate of param_grid scored by
-- cross-validation (the same folds for all), the best (highest mean test
-- score; the first on ties) refitted on all the data when refit = true.
function GridSearchCV:fit(X, y)
    local fn = E.fname(self, "fit")
    check_xy(X, y, fn)
    local splitter = resolve_cv(self.cv, self.seed, self.estimator, y, fn, 1)
    local scorer = resolve_scoring(self.scoring, fn, 1)
    local folds = collect_folds(splitter, X, y, nil)
    local cands = {}
    for _, grid in ipairs(grids_of(self.param_grid)) do expand(grid, cands) end
    local k = #folds
    local means, stds, fit_m, score_m, split = {}, {}, {}, {}, {}
    for f = 1, k do split[f] = {} end
    for c, params in ipairs(cands) do
        local sum, ft, st, scores = 0, 0, 0, {}
        for f, fold in ipairs(folds) do
            local _, s, _, a, b = fit_and_score(self.estimator, fresh(params), X, y, fold, scorer, false)
            scores[f], split[f][c] = s, s
            sum, ft, st = sum + s, ft + a, st + b
        end
        local m = sum / k
        local v = 0
        for f = 1, k do v = v + (scores[f] - m) ^ 2 end
        means[c], stds[c], fit_m[c], score_m[c] = m, math.sqrt(v / k), ft / k, st / k
    end
    -- ranks as scipy's rankdata(-scores, "min"); NaN scores rank last
    local ranks, best = {}, nil
    for c = 1, #cands do
        local r = 1
        local mc = means[c]
        for d = 1, #cands do
            local md = means[d]
            if md == md and (mc ~= mc or md > mc) then r = r + 1 end
        end
        ranks[c] = r
        if r == 1 and best == nil then best = c end
    end
    best = best or 1
    local res = {params = cands, mean_test_score = mf.tensor(means, "float64"),
                 std_test_score = mf.tensor(stds, "float64"), rank_test_score = mf.tensor(ranks, "int64"),
                 mean_fit_time = mf.tensor(fit_m, "float64"), mean_score_time = mf.tensor(score_m, "float64")}
    for f = 1, k do res[("split%d_test_score"):format(f)] = mf.tensor(split[f], "float64") end
    self.cv_results = res
    self.best_index = best
    self.best_params = cands[best]
    self.best_score = means[best]
    self.n_splits = k
    self.best_estimator = nil
    if self.refit then
        local e = E.clone(self.estimator):set_params(fresh(cands[best]))
        local t0 = mf.clock()
        e:fit(X, y)
        self.refit_time = mf.clock() - t0
        self.best_estimator = e
    end
    self._scorer = scorer
    self._fitted = true
    return self
end

local function best(self, method)
    E.check_fitted(self, method)
    local e = rawget(self, "best_estimator")
    if not e then
        error(("%s: %s needs the best estimator: fit with refit = true"):format(self._cls, method), 3)
    end
    if type(e[method]) ~= "function" then
        error(("%s: %s: the best estimator (%s) has no %s"):format(self._cls, method, tostring(e), method), 3)
    end
    return e
end

function GridSearchCV:predict(X, ...) return best(self, "predict"):predict(X, ...) end
function GridSearchCV:predict_proba(X, ...) return best(self, "predict_proba"):predict_proba(X, ...) end
function GridSearchCV:decision_function(X, ...)
    return best(self, "decision_function"):decision_function(X, ...)
end
function GridSearchCV:transform(X) return best(self, "transform"):transform(X) end

--- search:score(X, y): the scoring of the search (or the best estimator's
-- own score) of the refitted best estimator.
function GridSearchCV:score(X, y)
    local e = best(self, "fit")
    return self._scorer(e, X, y)
end

---------------------------------------------------------------- shared helpers
M._argerror, M._is_table, M._nrows, M._take = argerror, is_table, nrows, take
M._new_rng, M._randperm, M._label_codes, M._check_seed = new_rng, randperm, label_codes, check_seed
M._check_bool = check_bool

return M
