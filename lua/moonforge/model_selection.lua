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
-- Then cross_val_score / cross_validate (error_score, several scorings) and
-- the searches GridSearchCV and RandomizedSearchCV (one engine, two candidate
-- generators) with the distributions uniform, loguniform and randint.
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

local NAN = 0 / 0

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

local function strip_pos(msg) return (tostring(msg):gsub("^.-:%d+: ", "")) end

local function fmt_score(v) return v ~= v and "nan" or tostring(v) end

-- The scorer function(est, X, y) of a metric name, or nil, message.
local function named_scorer(name)
    local get = mf.metrics and mf.metrics.get_scorer
    if type(get) ~= "function" then
        return nil, ("option 'scoring' = '%s': mf.metrics has no scorers"):format(name)
    end
    local ok, scorer = pcall(get, name)
    if not ok then return nil, "option 'scoring': " .. strip_pos(scorer) end
    return scorer
end

local SCORING_KINDS = "a metric name, a list of metric names, a table {name = scorer} "
                      .. "or a function(estimator, X, y)"

-- The scorers of option scoring, as {names = {...}, fns = {name → scorer},
-- multi = bool, name = the metric name of a single string scoring}, or nil,
-- message. One scoring (nil → est:score(X, y), a metric name through
-- mf.metrics.get_scorer, a function(est, X, y) → number) is named "score";
-- several (a list of metric names, in their order, or a table name →
-- scorer function or metric name, names sorted) keep their names.
local function scorers_of(scoring)
    if scoring == nil then
        return {names = {"score"}, fns = {score = function(est, X, y) return est:score(X, y) end}, multi = false}
    end
    if type(scoring) == "function" then return {names = {"score"}, fns = {score = scoring}, multi = false} end
    if type(scoring) == "string" then
        local s, err = named_scorer(scoring)
        if not s then return nil, err end
        return {names = {"score"}, fns = {score = s}, multi = false, name = scoring}
    end
    if type(scoring) ~= "table" or is_tensor(scoring) or getmetatable(scoring) ~= nil then
        return nil, ("option 'scoring' must be %s, got %s"):format(SCORING_KINDS, E.typename(scoring))
    end
    local names, fns, n = {}, {}, #scoring
    if n > 0 then
        for k in pairs(scoring) do
            if math.type(k) ~= "integer" or k < 1 or k > n then
                return nil, "option 'scoring' mixes a list of metric names with named scorers"
            end
        end
        for i, name in ipairs(scoring) do
            if type(name) ~= "string" then
                return nil, ("option 'scoring': entry %d must be a metric name, got %s"):format(i, E.typename(name))
            end
            if fns[name] then return nil, ("option 'scoring': '%s' is listed twice"):format(name) end
            local s, err = named_scorer(name)
            if not s then return nil, err end
            names[i], fns[name] = name, s
        end
    else
        for k, v in pairs(scoring) do
            if type(k) ~= "string" then
                return nil, "option 'scoring': scorer names must be strings, got " .. type(k)
            end
            local s = v
            if type(v) == "string" then
                local err
                s, err = named_scorer(v)
                if not s then return nil, err end
            elseif type(v) ~= "function" then
                return nil, ("option 'scoring': scorer '%s' must be a function(estimator, X, y) or a metric name, got %s")
                            :format(k, E.typename(v))
            end
            names[#names + 1], fns[k] = k, s
        end
        if #names == 0 then return nil, "option 'scoring' is an empty table: give metric names" end
        table.sort(names)
    end
    return {names = names, fns = fns, multi = true}
end

-- Option error_score: "raise" or a number (default NaN); or nil, message.
local function error_score_of(v)
    if v == nil then return NAN end
    if v == "raise" or type(v) == "number" then return v end
    return nil, "option 'error_score' must be a number or \"raise\", got " .. tostring(v)
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

local function fill(sc, v)
    local t = {}
    for _, name in ipairs(sc.names) do t[name] = v end
    return t
end

-- Every scorer of sc on (X, y) → {name → score}. A scorer that raises an
-- error gives error_score (and a warning naming `where`) unless error_score
-- is "raise"; one that returns something else than a number is a bug, always
-- an error.
local function score_all(sc, e, X, y, error_score, where, part)
    local out = {}
    for _, name in ipairs(sc.names) do
        local ok, s = pcall(sc.fns[name], e, X, y)
        if not ok then
            if error_score == "raise" then error(s, 0) end
            mf.warn("%s: scoring%s on the %s rows failed, its score is set to %s: %s", where,
                    sc.multi and (" '" .. name .. "'") or "", part, fmt_score(error_score), strip_pos(s))
            s = error_score
        elseif type(s) ~= "number" then
            error(("cross-validation: a score must be a number, got %s"):format(E.typename(s)), 0)
        end
        out[name] = s
    end
    return out
end

-- Fits a clone of est (params set) on one fold → {est, test = {name →
-- score}, train (when asked), fit_time, score_time, fit_error}. A fit that
-- raises an error re-raises it when error_score is "raise", else scores
-- error_score, with a warning naming `where` and the error.
local function fit_and_score(est, params, X, y, fold, sc, want_train, error_score, where)
    local e = E.clone(est)
    if params then e:set_params(params) end
    local Xtr, Xte = take(X, fold[1]), take(X, fold[2])
    local ytr = y ~= nil and take(y, fold[1]) or nil
    local yte = y ~= nil and take(y, fold[2]) or nil
    local t0 = mf.clock()
    local ok, err = pcall(e.fit, e, Xtr, ytr)
    local t1 = mf.clock()
    local r = {est = e, fit_time = t1 - t0, score_time = 0}
    if not ok then
        if error_score == "raise" then error(err, 0) end
        r.fit_error = strip_pos(err)
        mf.warn("%s: fit failed, its score is set to %s: %s", where, fmt_score(error_score), r.fit_error)
        r.test = fill(sc, error_score)
        if want_train then r.train = fill(sc, error_score) end
        return r
    end
    r.test = score_all(sc, e, Xte, yte, error_score, where, "test")
    r.score_time = mf.clock() - t1
    if want_train then r.train = score_all(sc, e, Xtr, ytr, error_score, where, "train") end
    return r
end

-- An error when every fit failed (scikit-learn: error_score only covers
-- some failures).
local function check_all_failed(results, fname, level)
    for _, r in ipairs(results) do
        if not r.fit_error then return end
    end
    error(("%s: all %d fits failed; the first error: %s"):format(fname, #results, results[1].fit_error), level + 1)
end

local function check_xy(X, y, fname)
    local n = nrows(X, fname, 2, "X")
    if y ~= nil then
        local ny = nrows(y, fname, 3, "y")
        if ny ~= n then argerror(3, fname, ("y has %d rows, X has %d"):format(ny, n), 3) end
    end
    return n
end

-- The shared work of cross_validate and cross_val_score: options checked,
-- one fit per fold → the list of fold results, the scorers.
local function run_cv(fname, estimator, X, y, opts, allowed, multi_ok)
    check_estimator(estimator, fname, 1)
    opts = check_options(opts, fname, 4, allowed)
    check_xy(X, y, fname)
    local splitter = resolve_cv(opts.cv, opts.seed, estimator, y, fname, 4)
    local sc, err = scorers_of(opts.scoring)
    if not sc then argerror(4, fname, err, 3) end
    if sc.multi and not multi_ok then
        argerror(4, fname, "option 'scoring': cross_val_score takes one metric (use cross_validate for several)", 3)
    end
    local error_score, eerr = error_score_of(opts.error_score)
    if eerr then argerror(4, fname, eerr, 3) end
    local want_train = check_bool(opts.return_train_score, false, "return_train_score", fname, 4)
    check_bool(opts.return_estimator, false, "return_estimator", fname, 4)
    local folds = collect_folds(splitter, X, y, opts.groups)
    local results = {}
    for i, fold in ipairs(folds) do
        results[i] = fit_and_score(estimator, nil, X, y, fold, sc, want_train, error_score,
                                   ("%s: fold %d of %d"):format(fname, i, #folds))
    end
    check_all_failed(results, fname, 3) -- the caller of cross_validate / cross_val_score
    return results, sc, opts
end

-- The field `part[name]` (or `part` itself when name is nil) of every result,
-- as a float64 tensor.
local function gather(results, part, name)
    local v = {}
    for i, r in ipairs(results) do
        if name then v[i] = r[part][name] else v[i] = r[part] end
    end
    return mf.tensor(v, "float64")
end

--- cross_validate(estimator, X, y, {cv = 5, scoring, seed, groups,
-- error_score = nan, return_train_score = false, return_estimator = false})
-- → {test_score, fit_time, score_time [, train_score] [, estimator]}: per
-- fold (float64 tensors), each fold fitting a clone of the estimator. With
-- several scorings (a list of names or a table name → scorer) the scores are
-- test_<name> (and train_<name>).
function M.cross_validate(estimator, X, y, opts)
    local results, sc
    results, sc, opts = run_cv("cross_validate", estimator, X, y, opts,
                               {"cv", "scoring", "seed", "groups", "error_score",
                                "return_train_score", "return_estimator"}, true)
    local want_est = check_bool(opts.return_estimator, false, "return_estimator", "cross_validate", 4)
    local out = {fit_time = gather(results, "fit_time"), score_time = gather(results, "score_time")}
    for _, name in ipairs(sc.names) do
        out["test_" .. name] = gather(results, "test", name)
        if opts.return_train_score then out["train_" .. name] = gather(results, "train", name) end
    end
    if want_est then
        local ests = {}
        for i, r in ipairs(results) do ests[i] = r.est end
        out.estimator = ests
    end
    return out
end

--- cross_val_score(estimator, X, y, {cv = 5, scoring, seed, groups,
-- error_score = nan}) → the test score of each fold (float64 tensor).
function M.cross_val_score(estimator, X, y, opts)
    local results = run_cv("cross_val_score", estimator, X, y, opts,
                           {"cv", "scoring", "seed", "groups", "error_score"}, false)
    return gather(results, "test", "score")
end

---------------------------------------------------------------- searches
-- GridSearchCV and RandomizedSearchCV share one engine (SearchBase: option
-- checks, fit, cv_results, the best estimator's methods); each class only
-- generates its candidates (_candidates) and checks its own options.
local SearchBase = E.base()

-- The random stream of RandomizedSearchCV's sampling: an mf.Generator
-- (rng:random() → [0, 1), rng:random(lo, hi) → an integer in [lo, hi]),
-- seeded by `seed` or, without it, from the global stream.
local function search_rng(seed)
    if seed == nil then seed = mf.randint(0, 0x7fffffff, {1}):item() end
    return mf.Generator(seed)
end

---------------------------------------------------------------- parameter spaces
-- The grids of a param_grid / param_distributions option: a map name →
-- values, or a list of maps.
local function grids_of(pg)
    if type(pg) ~= "table" or is_tensor(pg) or getmetatable(pg) ~= nil then return nil end
    if #pg > 0 then return pg end
    return {pg}
end

local function sorted_names(grid)
    local names = {}
    for k in pairs(grid) do names[#names + 1] = k end
    table.sort(names)
    return names
end

local function is_list(v)
    return type(v) == "table" and not is_tensor(v) and getmetatable(v) == nil and #v > 0
end

local function is_distribution(v)
    return type(v) == "table" and not is_tensor(v) and not is_table(v) and type(v.rvs) == "function"
end

-- The number of combinations of a list of grids (every value a list).
local function grid_size(grids)
    local total = 0
    for _, grid in ipairs(grids) do
        local size = 1
        for _, v in pairs(grid) do size = size * #v end
        total = total + size
    end
    return total
end

-- Combination i (1-based) of a list of grids, in scikit-learn's ParameterGrid
-- order (the grids in turn; in each, names sorted, the last varying fastest).
local function grid_point(grids, i)
    for _, grid in ipairs(grids) do
        local names = sorted_names(grid)
        local size = 1
        for _, name in ipairs(names) do size = size * #grid[name] end
        if i <= size then
            local p, r = {}, i - 1
            for j = #names, 1, -1 do
                local values = grid[names[j]]
                p[names[j]] = values[r % #values + 1]
                r = r // #values
            end
            return p
        end
        i = i - size
    end
end

-- Checks a parameter space (option `what`): a non-empty map name → values
-- (a non-empty list, or with allow_dist a distribution with rvs) or a list
-- of such maps; every name and a trial value are set on a throwaway clone,
-- so that unknown names and bad values are reported by the constructor.
local function check_space(self, what, allow_dist)
    local grids = grids_of(self[what])
    local kinds = allow_dist and "a non-empty list or a distribution (an object with rvs)" or "a non-empty list"
    if not grids then
        E.opt_error(self, ("option '%s' must be a table {name = {values...}} or a list of them, got %s")
                    :format(what, E.typename(self[what])))
    end
    for gi, grid in ipairs(grids) do
        if type(grid) ~= "table" or getmetatable(grid) ~= nil or next(grid) == nil then
            E.opt_error(self, ("option '%s': grid %d must be a non-empty table {name = {values...}}")
                        :format(what, gi))
        end
        local trial = {}
        for k, v in pairs(grid) do
            if type(k) ~= "string" then
                E.opt_error(self, ("option '%s': parameter names must be strings, got %s"):format(what, type(k)))
            end
            if is_list(v) then
                trial[k] = v[1]
            elseif allow_dist and is_distribution(v) then
                local ok, x = pcall(v.rvs, v, search_rng(0))
                if not ok or x == nil then
                    E.opt_error(self, ("option '%s': sampling '%s' failed: %s")
                                :format(what, k, ok and "rvs returned nil" or strip_pos(x)))
                end
                trial[k] = x
            else
                E.opt_error(self, ("option '%s': the values of '%s' must be %s"):format(what, k, kinds))
            end
        end
        local ok, err = pcall(function() E.clone(self.estimator):set_params(trial) end)
        if not ok then
            local msg = tostring(err):gsub("^.-:%d+: ", "")
            msg = msg:match("^bad argument #%d+ to '[^']+' %((.*)%)$") or msg
            E.opt_error(self, ("option '%s': %s"):format(what, msg))
        end
    end
    return grids
end

-- The option checks shared by the searches: estimator, cv, scoring, refit
-- (a boolean, or with several scorings false or the name of one of them),
-- error_score, return_train_score.
local function check_search(self)
    if not E.is_estimator(self.estimator) or type(self.estimator.fit) ~= "function" then
        E.opt_error(self, "option 'estimator' must be an estimator (with fit and get_params), got "
                    .. E.typename(self.estimator))
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
    local sc, err = scorers_of(self.scoring)
    if not sc then E.opt_error(self, err) end
    local refit = self.refit
    if type(refit) ~= "boolean" and type(refit) ~= "string" then
        E.opt_error(self, "option 'refit' must be a boolean or a metric name, got " .. type(refit))
    end
    if sc.multi then
        local list = table.concat(sc.names, ", ")
        if refit == true then
            E.opt_error(self, ("option 'refit' must be false or the metric that picks the best candidate "
                        .. "when there are several scorings (one of: %s)"):format(list))
        end
        if type(refit) == "string" and not sc.fns[refit] then
            E.opt_error(self, ("option 'refit': unknown metric '%s' (scorings: %s)"):format(refit, list))
        end
    elseif type(refit) == "string" and refit ~= sc.name then
        E.opt_error(self, ("option 'refit' = '%s' names a metric that is not the scoring: "
                    .. "with one scoring, give refit = true or false"):format(refit))
    end
    local _, eerr = error_score_of(self.error_score)
    if eerr then E.opt_error(self, eerr) end
    if self.return_train_score ~= nil and type(self.return_train_score) ~= "boolean" then
        E.opt_error(self, "option 'return_train_score' must be a boolean, got " .. tostring(self.return_train_score))
    end
    rawset(self, "_estimator_type", E.estimator_type(self.estimator))
end

-- Candidate values that are estimators are cloned (each fit gets its own).
local function fresh(params)
    local p = {}
    for k, v in pairs(params) do
        p[k] = (E.is_estimator(v) or E.is_column_transformer(v)) and E.clone(v) or v
    end
    return p
end

-- Ranks as scipy's rankdata(-scores, "min"): ties share the lower rank, NaN
-- scores rank last.
local function ranks_of(means)
    local ranks = {}
    for c = 1, #means do
        local r, mc = 1, means[c]
        for d = 1, #means do
            local md = means[d]
            if md == md and (mc ~= mc or md > mc) then r = r + 1 end
        end
        ranks[c] = r
    end
    return ranks
end

-- Population mean and std of the values v[1..k].
local function mean_std(v, k)
    local sum = 0
    for f = 1, k do sum = sum + v[f] end
    local m = sum / k
    local ss = 0
    for f = 1, k do ss = ss + (v[f] - m) ^ 2 end
    return m, math.sqrt(ss / k)
end

--- search:fit(X, y) → search: every candidate scored by cross-validation
-- (the same folds for all), the best (highest mean test score of the refit
-- metric; the first on ties) refitted on all the data when refit is true
-- (or a metric name).
function SearchBase:fit(X, y)
    local fn = E.fname(self, "fit")
    check_xy(X, y, fn)
    local splitter = resolve_cv(self.cv, self:_fold_seed(), self.estimator, y, fn, 1)
    local sc = assert(scorers_of(self.scoring))
    local error_score = assert(error_score_of(self.error_score))
    local want_train = self.return_train_score == true
    local folds = collect_folds(splitter, X, y, nil)
    local cands = self:_candidates()
    local k, nc = #folds, #cands
    local all = {}
    for c, params in ipairs(cands) do
        for f, fold in ipairs(folds) do
            all[(c - 1) * k + f] = fit_and_score(self.estimator, fresh(params), X, y, fold, sc, want_train,
                                                 error_score, ("%s: candidate %d of %d, fold %d of %d")
                                                 :format(fn, c, nc, f, k))
        end
    end
    check_all_failed(all, fn, 2)
    local res = {params = cands}
    local function column(part, name)
        local split, means, stds = {}, {}, {}
        for f = 1, k do split[f] = {} end
        for c = 1, nc do
            local v = {}
            for f = 1, k do
                local r = all[(c - 1) * k + f]
                v[f] = name and r[part][name] or r[part]
                split[f][c] = v[f]
            end
            means[c], stds[c] = mean_std(v, k)
        end
        return split, means, stds
    end
    for _, part in ipairs(want_train and {"test", "train"} or {"test"}) do
        for _, name in ipairs(sc.names) do
            local split, means, stds = column(part, name)
            res[("mean_%s_%s"):format(part, name)] = mf.tensor(means, "float64")
            res[("std_%s_%s"):format(part, name)] = mf.tensor(stds, "float64")
            if part == "test" then res["rank_test_" .. name] = mf.tensor(ranks_of(means), "int64") end
            for f = 1, k do
                res[("split%d_%s_%s"):format(f, part, name)] = mf.tensor(split[f], "float64")
            end
        end
    end
    for _, t in ipairs({"fit_time", "score_time"}) do
        local _, means, stds = column(t)
        res["mean_" .. t], res["std_" .. t] = mf.tensor(means, "float64"), mf.tensor(stds, "float64")
    end
    self.cv_results = res
    self.n_splits = k
    self.best_index, self.best_params, self.best_score, self.best_estimator = nil, nil, nil, nil
    self.multimetric = sc.multi
    -- the metric that picks the best: "score" with one scoring, else refit's
    local metric = "score"
    if sc.multi then metric = type(self.refit) == "string" and self.refit or nil end
    if metric then
        local ranks = res["rank_test_" .. metric]:totable()
        local best = 1
        for c = 1, nc do
            if ranks[c] == 1 then best = c break end
        end
        self.best_index = best
        self.best_params = cands[best]
        self.best_score = res["mean_test_" .. metric][best]
        if self.refit then
            local e = E.clone(self.estimator):set_params(fresh(cands[best]))
            local t0 = mf.clock()
            e:fit(X, y)
            self.refit_time = mf.clock() - t0
            self.best_estimator = e
        end
    end
    self._scorer = sc.fns[metric or sc.names[1]]
    self._fitted = true
    return self
end

local function best(self, method)
    E.check_fitted(self, method)
    local e = rawget(self, "best_estimator")
    if not e then
        error(("%s: %s needs the best estimator: fit with refit = true (or a metric name)")
              :format(self._cls, method), 3)
    end
    if type(e[method]) ~= "function" then
        error(("%s: %s: the best estimator (%s) has no %s"):format(self._cls, method, tostring(e), method), 3)
    end
    return e
end

function SearchBase:predict(X, ...) return best(self, "predict"):predict(X, ...) end
function SearchBase:predict_proba(X, ...) return best(self, "predict_proba"):predict_proba(X, ...) end
function SearchBase:decision_function(X, ...)
    return best(self, "decision_function"):decision_function(X, ...)
end
function SearchBase:transform(X) return best(self, "transform"):transform(X) end

--- search:score(X, y): the scoring of the search (the refit metric with
-- several; or the best estimator's own score) of the refitted best estimator.
function SearchBase:score(X, y)
    local e = best(self, "fit")
    return self._scorer(e, X, y)
end

---------------------------------------------------------------- GridSearchCV
local SEARCH_OPTS = {"estimator", "cv", "scoring", "refit", "seed", "error_score", "return_train_score"}

local function search_opts(extra)
    local t = table.move(SEARCH_OPTS, 1, #SEARCH_OPTS, 1, {})
    return table.move(extra, 1, #extra, #t + 1, t)
end

local GridSearchCV = E.class(M, "moonforge.model_selection", SearchBase, "GridSearchCV",
                             search_opts({"param_grid"}), {refit = true})

function GridSearchCV:_check()
    check_search(self)
    check_space(self, "param_grid", false)
    if self.seed ~= nil and type(self.cv) == "table" then
        E.opt_error(self, "option 'seed' applies to an integer cv: give the splitter its own seed")
    end
end

-- seed shuffles the folds of an integer cv
function GridSearchCV:_fold_seed() return self.seed end

-- Every combination of param_grid, in ParameterGrid order.
function GridSearchCV:_candidates()
    local grids = grids_of(self.param_grid)
    local cands = {}
    for i = 1, grid_size(grids) do cands[i] = grid_point(grids, i) end
    return cands
end

---------------------------------------------------------------- RandomizedSearchCV
local RandomizedSearchCV = E.class(M, "moonforge.model_selection", SearchBase, "RandomizedSearchCV",
                                   search_opts({"param_distributions", "n_iter"}), {refit = true, n_iter = 10})

function RandomizedSearchCV:_check()
    check_search(self)
    check_space(self, "param_distributions", true)
    if math.type(self.n_iter) ~= "integer" or self.n_iter < 1 then
        E.opt_error(self, "option 'n_iter' must be an integer >= 1, got " .. tostring(self.n_iter))
    end
end

-- seed is the sampling's (scikit-learn's random_state): the folds of an
-- integer cv are not shuffled
function RandomizedSearchCV:_fold_seed() return nil end

-- n_iter candidates sampled as scikit-learn's ParameterSampler: when every
-- value is a list, distinct points of the grid (without replacement; at most
-- the grid size, with a warning); else, per candidate, a grid chosen
-- uniformly, then each name (sorted) drawn uniformly from its list or by
-- its distribution's rvs(rng).
function RandomizedSearchCV:_candidates()
    local grids = grids_of(self.param_distributions)
    local rng = search_rng(self.seed)
    local all_lists = true
    for _, grid in ipairs(grids) do
        for _, v in pairs(grid) do
            if not is_list(v) then all_lists = false end
        end
    end
    local n, cands = self.n_iter, {}
    if all_lists then
        local size = grid_size(grids)
        if n > size then
            mf.warn("RandomizedSearchCV: the grid has only %d candidates, fewer than n_iter = %d: "
                    .. "running %d", size, n, size)
            n = size
        end
        local moved = {} -- a partial Fisher-Yates shuffle of 1..size, sparse
        for i = 1, n do
            local j = rng:random(i, size)
            local vi, vj = moved[i] or i, moved[j] or j
            moved[j] = vi
            cands[i] = grid_point(grids, vj)
        end
        return cands
    end
    for i = 1, n do
        local grid = grids[#grids == 1 and 1 or rng:random(1, #grids)]
        local p = {}
        for _, name in ipairs(sorted_names(grid)) do
            local v = grid[name]
            if is_list(v) then p[name] = v[rng:random(1, #v)] else p[name] = v:rvs(rng) end
        end
        cands[i] = p
    end
    return cands
end

---------------------------------------------------------------- distributions
-- For RandomizedSearchCV's param_distributions, as scipy.stats (what
-- scikit-learn users pass): any object with rvs(self, rng) works, rng an
-- mf.Generator (random() → [0, 1), random(lo, hi) → an integer in [lo, hi]).
local Dist = {__name = "moonforge.model_selection.distribution"}
Dist.__index = Dist
Dist.__tostring = function(d) return d.text end

function Dist:rvs(rng)
    local u = rng:random()
    if self.kind == "uniform" then return self.loc + self.scale * u end
    if self.kind == "loguniform" then return math.exp(self.la + (self.lb - self.la) * u) end
    return rng:random(self.low, self.high - 1)
end

local function finite(v) return type(v) == "number" and v == v and v > -math.huge and v < math.huge end

--- uniform(loc = 0, scale = 1): uniform on [loc, loc + scale], as
-- scipy.stats.uniform (the second number is the width, not the end).
function M.uniform(loc, scale)
    loc, scale = loc == nil and 0 or loc, scale == nil and 1 or scale
    if not finite(loc) then argerror(1, "uniform", "loc must be a finite number, got " .. tostring(loc)) end
    if not finite(scale) or scale <= 0 then
        argerror(2, "uniform", "scale must be a finite number > 0 (the width: values in [loc, loc + scale]), got "
                 .. tostring(scale))
    end
    return setmetatable({kind = "uniform", loc = loc, scale = scale,
                         text = ("uniform(loc=%s, scale=%s)"):format(loc, scale)}, Dist)
end

--- loguniform(a, b): log-uniform on [a, b], 0 < a < b, as
-- scipy.stats.loguniform (for C, alpha, gamma...).
function M.loguniform(a, b)
    if not finite(a) or a <= 0 then argerror(1, "loguniform", "a must be a finite number > 0, got " .. tostring(a)) end
    if not finite(b) or b <= a then
        argerror(2, "loguniform", ("b must be a finite number > a = %s, got %s"):format(a, tostring(b)))
    end
    return setmetatable({kind = "loguniform", a = a, b = b, la = math.log(a), lb = math.log(b),
                         text = ("loguniform(a=%s, b=%s)"):format(a, b)}, Dist)
end

--- randint(low, high): integers low, ..., high - 1 (high excluded), as
-- scipy.stats.randint, numpy and mf.randint.
function M.randint(low, high)
    if math.type(low) ~= "integer" then argerror(1, "randint", "low must be an integer, got " .. tostring(low)) end
    if math.type(high) ~= "integer" or high <= low then
        argerror(2, "randint", ("high must be an integer > low = %d (high is excluded), got %s")
                 :format(low, tostring(high)))
    end
    return setmetatable({kind = "randint", low = low, high = high,
                         text = ("randint(low=%d, high=%d)"):format(low, high)}, Dist)
end

---------------------------------------------------------------- shared helpers
M._argerror, M._is_table, M._nrows, M._take = argerror, is_table, nrows, take
M._new_rng, M._randperm, M._label_codes, M._check_seed = new_rng, randperm, label_codes, check_seed
M._check_bool = check_bool

return M
