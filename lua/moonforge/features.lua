--- moonforge.features (mf.features): feature extraction and selection.
--
--     local r = tbl:rolling("s01", 5, {by = "machine"}):mean()   -- float64 tensor
--     local sel = mf.features.SelectKBest{score = "f_classif", k = 3}
--     local Z = sel:fit_transform(X, y)
--
-- Sensor helpers are methods of mf.data.Table (rolling, lag, diff,
-- datetime_features); the selectors and PCA follow scikit-learn's
-- transformer shape (fit(X, y) -> self, transform, fit_transform,
-- get_support). The numeric work runs in core/ (mf_feat.h, and LAPACK for
-- PCA): this file checks arguments and keeps state.
local mf = require "moonforge"
local core = require "moonforge.core"
local E = require "moonforge.estimator"

local is_tensor = mf.is_tensor
local check_options = mf.nn.check_options
local Table = mf.data.Table

local M = {}

local argerror, is_table, typename = E.argerror, E.is_table, E.typename

-- The codes and levels of string column `name`, read from the Table's state
-- (data.lua's private helpers) so that a million-row column is never turned
-- into Lua strings.
local function string_column(tbl, name)
    local c = mf.data._private.state(tbl, "features").cols[name]
    if type(c) == "table" and c.codes then return c end
    error("features: column '" .. tostring(name) .. "' is not a string column", 2)
end

-- Checks that `name` is a column of tbl; returns its dtype.
local function check_column(tbl, name, fname, argn, level)
    local dts = tbl:dtypes()
    if type(name) ~= "string" or dts[name] == nil then
        argerror(argn, fname, ("unknown column '%s' (columns: %s)")
                 :format(tostring(name), table.concat(tbl:columns(), ", ")), (level or 2) + 1)
    end
    return dts[name]
end

-- A numeric column as float64 (int64 and bool converted).
local function numeric_column(tbl, name, fname, argn, level)
    level = (level or 2) + 1
    local dt = check_column(tbl, name, fname, argn, level)
    if dt == "string" then
        argerror(argn, fname, ("column '%s' holds strings (a numeric column is needed)"):format(name), level)
    end
    local c = tbl:column(name)
    if dt ~= "float64" then c = c:to("float64") end
    return c
end

-- The group ids (1-based int64) and count of the `by` option (a column name
-- or a list of them), or nil for one group; third, a bool mask of the rows
-- whose key is missing (NaN or NA), or nil when there is none.
local function groups_of(tbl, by, fname, argn, level)
    level = (level or 2) + 1
    if by == nil then return nil, 1, nil end
    local list = type(by) == "table" and by or {by}
    if type(by) ~= "string" and (type(by) ~= "table" or #by == 0) then
        argerror(argn, fname, "option 'by' must be a column name or a list of them, got " .. typename(by), level)
    end
    local cols, missing = {}, nil
    for i, name in ipairs(list) do
        local dt = check_column(tbl, name, fname, argn, level)
        local m
        if dt == "string" then
            cols[i] = string_column(tbl, name).codes
            m = cols[i]:eq(0)
        else
            cols[i] = tbl:column(name)
            if dt == "float64" then m = cols[i]:isnan() end
        end
        if m then missing = missing and missing:logical_or(m) or m end
    end
    if #tbl == 0 then return mf.zeros(0, "int64"), 0, nil end
    local ids, ng = core._rows_factorize(cols)
    if missing and not missing:any():item() then missing = nil end
    return ids, ng, missing
end

-- pandas' groupby drops rows with a missing key: their results are NaN.
local function blank_missing(out, missing)
    if missing then return mf.where(missing, 0 / 0, out) end
    return out
end

local function check_int(v, fname, argn, what, min, level)
    if math.type(v) ~= "integer" or (min and v < min) then
        argerror(argn, fname, ("%s must be an integer%s, got %s")
                 :format(what, min and (" >= " .. min) or "", tostring(v)), (level or 2) + 1)
    end
    return v
end

---------------------------------------------------------------- rolling
local Rolling = {}
Rolling.__index = Rolling
Rolling.__name = "moonforge.features.Rolling"

--- tbl:rolling(col, window [, {by, min_periods}]): a window over the last
-- `window` rows of each group (rows in table order).
function Table.rolling(tbl, col, window, opts)
    local x = numeric_column(tbl, col, "rolling", 2)
    check_int(window, "rolling", 3, "window", 1)
    opts = check_options(opts, "rolling", 4, {"by", "min_periods"})
    local minp = opts.min_periods
    if minp == nil then minp = window end
    if math.type(minp) ~= "integer" or minp < 0 or minp > window then
        argerror(4, "rolling", ("min_periods must be an integer in [0, window = %d], got %s")
                 :format(window, tostring(minp)))
    end
    local ids, ng, missing = groups_of(tbl, opts.by, "rolling", 4)
    return setmetatable({x = x, ids = ids, ngroups = ng, missing = missing, window = window,
                         min_periods = minp, column = col}, Rolling)
end

for _, stat in ipairs({"mean", "std", "min", "max", "sum"}) do
    Rolling[stat] = function(self)
        return blank_missing(core._feat_rolling(self.x, self.ids, self.ngroups, self.window,
                                                self.min_periods, stat), self.missing)
    end
end

function Rolling:__tostring()
    return ("Rolling(%s, window=%d, min_periods=%d)"):format(self.column, self.window, self.min_periods)
end

local function shift(tbl, fname, col, k, opts, diff)
    local x = numeric_column(tbl, col, fname, 2, 3)
    if k == nil then k = 1 end
    check_int(k, fname, 3, "k", nil, 3)
    opts = check_options(opts, fname, 4, {"by"}, 3)
    local ids, ng, missing = groups_of(tbl, opts.by, fname, 4, 3)
    return blank_missing(core._feat_shift(x, ids, ng, k, diff), missing)
end

--- tbl:lag(col [, k = 1] [, {by}]): the value k rows earlier in the group
-- (k < 0: later), NaN where there is none; float64.
function Table.lag(tbl, col, k, opts) return shift(tbl, "lag", col, k, opts, false) end

--- tbl:diff(col [, k = 1] [, {by}]): x minus its lag k; float64.
function Table.diff(tbl, col, k, opts) return shift(tbl, "diff", col, k, opts, true) end

---------------------------------------------------------------- calendar
local FIELDS = {year = 1, month = 2, day = 3, hour = 4, minute = 5, second = 6, weekday = 7,
                dayofyear = 8, quarter = 9}
local FIELD_NAMES = "year, month, day, hour, minute, second, weekday, dayofyear, quarter"

--- tbl:datetime_features(col [, fields = {"hour", "weekday", "month"}] [, {prefix, errors}]):
-- a Table with one more column per field, named prefix .. field (prefix
-- defaults to col .. "_"); int64, or float64 with NaN when col has missing
-- cells. Weekday: Monday = 1 ... Sunday = 7. errors = "raise" (default):
-- an unparseable value is an error; "coerce": it is treated as missing
-- (with a warning counting the rows), as pandas' to_datetime(errors=).
function Table.datetime_features(tbl, col, fields, opts)
    local dt = check_column(tbl, col, "datetime_features", 2)
    if dt ~= "string" then
        argerror(2, "datetime_features", ("column '%s' is %s: timestamps are read as strings "
                 .. "(\"YYYY-MM-DD HH:MM:SS\")"):format(col, dt))
    end
    fields = fields or {"hour", "weekday", "month"}
    if type(fields) ~= "table" or #fields == 0 then
        argerror(3, "datetime_features", "list of fields expected (" .. FIELD_NAMES .. ")")
    end
    for _, f in ipairs(fields) do
        if not FIELDS[f] then
            argerror(3, "datetime_features", ("unknown field '%s' (expected one of: %s)")
                     :format(tostring(f), FIELD_NAMES))
        end
    end
    opts = check_options(opts, "datetime_features", 4, {"prefix", "errors"})
    local prefix = opts.prefix or (col .. "_")
    if type(prefix) ~= "string" then
        argerror(4, "datetime_features", "option 'prefix' must be a string, got " .. type(prefix))
    end
    local errors = opts.errors or "raise"
    if errors ~= "raise" and errors ~= "coerce" then
        argerror(4, "datetime_features", ("option 'errors' must be \"raise\" or \"coerce\", got %s")
                 :format(tostring(errors)))
    end
    local c = string_column(tbl, col)
    local parsed, bad, msg = core._feat_parse_datetimes(c.levels, errors == "coerce")
    if not parsed then
        local row = c.codes:eq(bad):to("int64"):argmax():item()
        argerror(2, "datetime_features", ("column '%s', row %d: %s"):format(col, row, msg))
    end
    local bad_level -- bool mask over the levels (coerce), or nil
    if errors == "coerce" and bad > 0 then
        bad_level = parsed:select(2, 1):eq(-1)
        local nrows = mf.cat({mf.tensor({false}, "bool"), bad_level}, 1):index(1, c.codes + 1)
                        :sum():item()
        if nrows > 0 then
            mf.warn("datetime_features: %d row%s of column '%s' could not be parsed (set to NaN)",
                    nrows, nrows == 1 and "" or "s", col)
        end
    end
    local missing = #tbl > 0 and (bad_level ~= nil or c.codes:eq(0):any():item())
    local out = tbl
    for _, f in ipairs(fields) do
        local v = parsed:select(2, FIELDS[f])
        local values
        if missing then
            local fv = v:to("float64")
            if bad_level then fv = mf.where(bad_level, 0 / 0, fv) end
            values = mf.cat({mf.tensor({0 / 0}, "float64"), fv}, 1):index(1, c.codes + 1)
        elseif #tbl == 0 then
            values = mf.zeros(0, "int64")
        else
            values = v:index(1, c.codes)
        end
        out = out:add_column(prefix .. f, values)
    end
    return out
end

---------------------------------------------------------------- inputs
-- X as a 2-D float64 tensor and its column names (Tables) or nil.
local function as_matrix(X, fname, level)
    level = (level or 2) + 1
    if is_tensor(X) then
        if X:dim() ~= 2 then
            argerror(1, fname, ("2-D tensor expected, got %d-D (use x:view(-1, 1) for a single "
                     .. "feature)"):format(X:dim()), level)
        end
        if X:dtype() ~= "float64" then X = X:to("float64") end
        return X, nil
    elseif is_table(X) then
        local names, dts = X:columns(), X:dtypes()
        if #names == 0 then argerror(1, fname, "Table without columns", level) end
        for _, n in ipairs(names) do
            if dts[n] == "string" then
                argerror(1, fname, ("column '%s' holds strings (encode it first, e.g. with "
                         .. "mf.preprocess.OneHotEncoder)"):format(n), level)
            end
        end
        return X:to_tensor(), names
    end
    argerror(1, fname, "tensor or Table expected, got " .. typename(X), level)
end

-- A with column-major storage (each column contiguous): the score kernels
-- read a column at a time.
local function by_columns(A)
    if A:stride()[1] == 1 then return A end
    return A:t():contiguous():t()
end

local function col_label(names, j)
    if names then return ("'%s'"):format(names[j]) end
    return tostring(j)
end

local function check_no_nan(X, names, fname, level)
    local bad = X:isnan():any(1)
    if bad:any():item() then
        local j = bad:to("int64"):argmax():item()
        argerror(1, fname, ("column %s contains NaN (impute it first, e.g. with "
                 .. "mf.preprocess.SimpleImputer)"):format(col_label(names, j)), (level or 2) + 1)
    end
end

-- y as a 1-D tensor (float64), from a tensor (1-D or [n x 1]) or a Lua array.
local function target_values(y, n, fname, level)
    level = (level or 2) + 1
    if is_tensor(y) then
        if y:dim() == 2 and y:size(2) == 1 then y = y:view(-1) end
        if y:dim() ~= 1 then argerror(2, fname, ("1-D target expected, got %d-D"):format(y:dim()), level) end
    elseif type(y) == "table" and getmetatable(y) == nil then
        for i = 1, #y do
            if type(y[i]) ~= "number" then
                argerror(2, fname, ("target entry %d is %s, a number expected"):format(i, type(y[i])), level)
            end
        end
        y = mf.tensor(y, "float64")
    else
        argerror(2, fname, "target (tensor or array) expected, got " .. typename(y), level)
    end
    if y:size(1) ~= n then
        argerror(2, fname, ("target has %d entries, X has %d rows"):format(y:size(1), n), level)
    end
    if y:dtype() ~= "float64" then y = y:to("float64") end
    if y:isnan():any():item() then argerror(2, fname, "target contains NaN", level) end
    return y
end

-- Class labels as 0-based int64 codes and the class count, from a tensor of
-- numbers or a Lua array of numbers or strings.
local function target_classes(y, n, fname, level)
    level = (level or 2) + 1
    local codes, nclasses
    if type(y) == "table" and getmetatable(y) == nil then
        if #y ~= n then argerror(2, fname, ("target has %d entries, X has %d rows"):format(#y, n), level) end
        local kind = type(y[1])
        if kind == "number" then return target_classes(mf.tensor(y, "float64"), n, fname, level - 1) end
        local seen, list = {}, {}
        for i = 1, n do
            local v = y[i]
            if type(v) ~= "string" then
                argerror(2, fname, ("target entry %d is %s, a string or number expected")
                         :format(i, v == mf.data.NA and "NA" or type(v)), level)
            end
            if not seen[v] then seen[v] = true; list[#list + 1] = v end
        end
        table.sort(list)
        local pos = {}
        for i, v in ipairs(list) do pos[v] = i - 1 end
        local c = {}
        for i = 1, n do c[i] = pos[y[i]] end
        return mf.tensor(c, "int64"), #list
    end
    if not is_tensor(y) then argerror(2, fname, "target (tensor or array) expected, got " .. typename(y), level) end
    if y:dim() == 2 and y:size(2) == 1 then y = y:view(-1) end
    if y:dim() ~= 1 then argerror(2, fname, ("1-D target expected, got %d-D"):format(y:dim()), level) end
    if y:size(1) ~= n then
        argerror(2, fname, ("target has %d entries, X has %d rows"):format(y:size(1), n), level)
    end
    if y:dtype() == "float32" or y:dtype() == "float64" then
        if y:isnan():any():item() then argerror(2, fname, "target contains NaN", level) end
    elseif y:dtype() == "bool" then
        y = y:to("int64")
    end
    local values, inverse = mf.unique(y, {return_inverse = true})
    nclasses = values:size(1)
    codes = inverse:view(-1) - 1
    return codes, nclasses
end

---------------------------------------------------------------- score functions
--- mf.features.f_classif(X, y) -> F, p: one-way ANOVA F of each column across the classes y.
function M.f_classif(X, y)
    local A, names = as_matrix(X, "f_classif")
    check_no_nan(A, names, "f_classif")
    local codes, k = target_classes(y, A:size(1), "f_classif")
    return core._feat_f_classif(by_columns(A), codes, k)
end

--- mf.features.f_regression(X, y) -> F, p: F = r^2 / (1 - r^2) (n - 2) of each column against y.
function M.f_regression(X, y)
    local A, names = as_matrix(X, "f_regression")
    check_no_nan(A, names, "f_regression")
    return core._feat_f_regression(by_columns(A), target_values(y, A:size(1), "f_regression"))
end

--- mf.features.chi2(X, y) -> chi2, p: chi-squared statistics of non-negative features.
function M.chi2(X, y)
    local A, names = as_matrix(X, "chi2")
    check_no_nan(A, names, "chi2")
    local neg = A:lt(0):any(1)
    if neg:any():item() then
        argerror(1, "chi2", ("column %s has negative values (chi2 needs counts or frequencies)")
                 :format(col_label(names, neg:to("int64"):argmax():item())))
    end
    local codes, k = target_classes(y, A:size(1), "chi2")
    return core._feat_chi2(by_columns(A), codes, k)
end

local function mi_opts(opts, fname, level)
    opts = check_options(opts, fname, 3, {"n_neighbors", "seed"}, (level or 2) + 1)
    local k = opts.n_neighbors or 3
    check_int(k, fname, 3, "option 'n_neighbors'", 1, (level or 2) + 1)
    local seed = opts.seed or 0
    check_int(seed, fname, 3, "option 'seed'", 0, (level or 2) + 1)
    return k, seed
end

--- mf.features.mutual_info_classif(X, y [, {n_neighbors = 3, seed = 0}]) -> mi (nats).
function M.mutual_info_classif(X, y, opts)
    local A, names = as_matrix(X, "mutual_info_classif")
    check_no_nan(A, names, "mutual_info_classif")
    local k, seed = mi_opts(opts, "mutual_info_classif")
    local codes, nc = target_classes(y, A:size(1), "mutual_info_classif")
    return core._feat_mutual_info(by_columns(A), codes, nc, k, seed)
end

--- mf.features.mutual_info_regression(X, y [, {n_neighbors = 3, seed = 0}]) -> mi (nats).
function M.mutual_info_regression(X, y, opts)
    local A, names = as_matrix(X, "mutual_info_regression")
    check_no_nan(A, names, "mutual_info_regression")
    local k, seed = mi_opts(opts, "mutual_info_regression")
    local t = target_values(y, A:size(1), "mutual_info_regression")
    return core._feat_mutual_info(by_columns(A), t, 0, k, seed)
end

--- Upper tails of the F and chi-squared distributions (p-values).
function M.f_sf(f, d1, d2) return core._feat_f_sf(f, d1, d2) end
function M.chi2_sf(x, df) return core._feat_chi2_sf(x, df) end

---------------------------------------------------------------- selectors
local Base = E.base()

local function class(name, allowed, defaults)
    return E.class(M, "moonforge.features", Base, name, allowed, defaults)
end

local fname, check_fitted, opt_error = E.fname, E.check_fitted, E.opt_error

local function set_width(self, A, names)
    self.n_features_in = A:size(2)
    self.feature_names_in = names
end

-- X at transform: a Table is first reduced to the columns seen in fit.
local function transform_input(self, X, method, level)
    level = (level or 2) + 1
    if is_table(X) and self.feature_names_in then
        local dts = X:dtypes()
        for _, n in ipairs(self.feature_names_in) do
            if dts[n] == nil then
                argerror(1, fname(self, method), ("column '%s' (seen in fit) missing (columns: %s)")
                         :format(n, table.concat(X:columns(), ", ")), level)
            end
        end
        X = X:select(self.feature_names_in)
    end
    local A, names = as_matrix(X, fname(self, method), level)
    if A:size(2) ~= self.n_features_in then
        argerror(1, fname(self, method), ("expected %d columns (as in fit), got %d")
                 :format(self.n_features_in, A:size(2)), level)
    end
    return A, names, X
end

-- Records the kept columns (1-based, in order) from a Lua array of booleans.
local function set_support(self, keep)
    local idx = {}
    for j = 1, #keep do if keep[j] then idx[#idx + 1] = j end end
    self._support = keep
    self._support_idx = idx
    self._fitted = true
end

--- get_support() -> bool mask tensor over the input columns; get_support(true) -> 1-based indices.
function Base:get_support(indices)
    check_fitted(self, "get_support")
    if indices then return mf.tensor(self._support_idx, "int64") end
    return mf.tensor(self._support, "bool")
end

--- The names of the kept columns (those of the Table seen in fit, else "x1", "x2", ...).
function Base:get_feature_names()
    check_fitted(self, "get_feature_names")
    local out = {}
    for i, j in ipairs(self._support_idx) do
        out[i] = self.feature_names_in and self.feature_names_in[j] or ("x" .. j)
    end
    return out
end

Base.get_feature_names_out = Base.get_feature_names

--- The kept columns: a tensor for a tensor, a Table (of the kept columns) for a Table.
function Base:transform(X)
    check_fitted(self, "transform")
    local A, _, T = transform_input(self, X, "transform")
    if is_table(T) then
        -- fitted on a Table: by name; on a tensor: by position
        local all, names = T:columns(), {}
        for i, j in ipairs(self._support_idx) do names[i] = all[j] end
        return T:select(names)
    end
    if #self._support_idx == 0 then return mf.zeros(A:size(1), 0, A:dtype()) end
    return A:index(2, self._support_idx)
end

local function check_number(self, key, lo, hi)
    local v = self[key]
    if type(v) ~= "number" or v ~= v or (lo and v < lo) or (hi and v > hi) then
        opt_error(self, ("option '%s' must be a number%s, got %s"):format(key,
                  lo and hi and (" in [" .. lo .. ", " .. hi .. "]") or (lo and (" >= " .. lo) or ""),
                  tostring(v)))
    end
end

---------------------------------------------------------------- VarianceThreshold
local VarianceThreshold = class("VarianceThreshold", {"threshold"}, {threshold = 0})

function VarianceThreshold:_check() check_number(self, "threshold", 0) end

--- fit(X): population variances (NaN skipped); keeps the columns with variance > threshold.
function VarianceThreshold:fit(X)
    local A, names = as_matrix(X, fname(self, "fit"))
    set_width(self, A, names)
    local _, var = core._prep_moments(A, true)
    self.variances = var
    local v, keep, any = var:totable(), {}, false
    for j = 1, #v do
        keep[j] = v[j] > self.threshold -- NaN (a column without values) is dropped
        any = any or keep[j]
    end
    if not any then
        argerror(1, fname(self, "fit"), ("no column has a variance above the threshold %g")
                 :format(self.threshold))
    end
    set_support(self, keep)
    return self
end

---------------------------------------------------------------- SelectKBest
local SCORES = {f_classif = true, f_regression = true, chi2 = true,
                mutual_info_classif = true, mutual_info_regression = true}
local SelectKBest = class("SelectKBest", {"score", "k", "n_neighbors", "seed"},
                          {score = "f_classif", k = 10})

function SelectKBest:_check()
    if type(self.score) ~= "function" and not SCORES[self.score] then
        opt_error(self, ("option 'score' must be a function or one of: f_classif, f_regression, "
                  .. "chi2, mutual_info_classif, mutual_info_regression; got %s"):format(tostring(self.score)))
    end
    if self.k ~= "all" and (math.type(self.k) ~= "integer" or self.k < 0) then
        opt_error(self, ("option 'k' must be a non-negative integer or \"all\", got %s"):format(tostring(self.k)))
    end
    if (self.n_neighbors ~= nil or self.seed ~= nil) and type(self.score) == "string"
       and not self.score:find("^mutual_info") then
        opt_error(self, "options 'n_neighbors' and 'seed' apply to the mutual_info scores only")
    end
end

--- fit(X, y): scores (and pvalues, except for mutual information) of each
-- column; keeps the k best (ties: the later column, as scikit-learn).
function SelectKBest:fit(X, y)
    local f = fname(self, "fit")
    local A, names = as_matrix(X, f)
    set_width(self, A, names)
    if y == nil then argerror(2, f, "target y expected") end
    local scores, pvalues
    if type(self.score) == "function" then
        scores, pvalues = self.score(X, y)
        if not is_tensor(scores) or scores:numel() ~= A:size(2) then
            argerror(1, self._cls, ("score function must return a tensor of %d scores"):format(A:size(2)))
        end
        scores = scores:to("float64"):view(-1)
    elseif self.score:find("^mutual_info") then
        scores = M[self.score](X, y, {n_neighbors = self.n_neighbors, seed = self.seed})
    else
        scores, pvalues = M[self.score](X, y)
    end
    self.scores, self.pvalues = scores, pvalues
    local p = A:size(2)
    local k = self.k == "all" and p or self.k
    if k > p then
        mf.warn("SelectKBest: k = %d is greater than the %d columns: all are kept", k, p)
        k = p
    end
    -- stable ascending order of (score, column) with NaN lowest; the last k win
    local s, order = scores:totable(), {}
    for j = 1, p do order[j] = j end
    local function key(j) local v = s[j]; return v ~= v and -math.huge or v end
    table.sort(order, function(a, b)
        local ka, kb = key(a), key(b)
        if ka ~= kb then return ka < kb end
        if (s[a] ~= s[a]) ~= (s[b] ~= s[b]) then return s[a] ~= s[a] end
        return a < b
    end)
    local keep = {}
    for j = 1, p do keep[j] = false end
    for i = p - k + 1, p do keep[order[i]] = true end
    set_support(self, keep)
    return self
end

---------------------------------------------------------------- CorrelationFilter
local CorrelationFilter = class("CorrelationFilter", {"threshold"}, {threshold = 0.95})

function CorrelationFilter:_check() check_number(self, "threshold", 0, 1) end

-- The Pearson correlation matrix of the columns of A (NaN for a constant column).
local function correlation(A)
    local Xc = A - A:mean(1, {keepdim = true})
    local norms = (Xc * Xc):sum(1):sqrt()
    return mf.matmul(Xc:t(), Xc) / mf.outer(norms, norms)
end

--- fit(X): keeps a column unless |r| > threshold with a column kept before
-- it (greedy in column order); `dropped` lists the others.
function CorrelationFilter:fit(X)
    local A, names = as_matrix(X, fname(self, "fit"))
    check_no_nan(A, names, fname(self, "fit"))
    set_width(self, A, names)
    local R = correlation(A)
    self.correlations = R
    local r, p, keep, kept, dropped = R:abs():totable(), A:size(2), {}, {}, {}
    for j = 1, p do
        keep[j] = true
        for _, i in ipairs(kept) do
            if r[i][j] > self.threshold then keep[j] = false break end
        end
        if keep[j] then kept[#kept + 1] = j
        else dropped[#dropped + 1] = names and names[j] or j end
    end
    self.dropped = dropped
    set_support(self, keep)
    return self
end

---------------------------------------------------------------- PCA
local PCA = class("PCA", {"n_components", "variance"}, {})

function PCA:_check()
    if self.n_components ~= nil and self.variance ~= nil then
        opt_error(self, "give either 'n_components' or 'variance', not both")
    end
    if self.n_components ~= nil and (math.type(self.n_components) ~= "integer" or self.n_components < 1) then
        opt_error(self, ("option 'n_components' must be a positive integer, got %s"):format(tostring(self.n_components)))
    end
    if self.variance ~= nil and (type(self.variance) ~= "number" or not (self.variance > 0 and self.variance < 1)) then
        opt_error(self, ("option 'variance' must be a number in (0, 1), got %s"):format(tostring(self.variance)))
    end
end

--- fit(X): centered SVD (LAPACK), or for tall data (rows >= 10 x columns)
-- the eigendecomposition of the centered Gram matrix; components (k x d)
-- with scikit-learn's sign convention (the largest |entry| of each
-- component is positive).
function PCA:fit(X)
    local f = fname(self, "fit")
    local A, names = as_matrix(X, f)
    check_no_nan(A, names, f)
    local n, d = A:size(1), A:size(2)
    if n < 2 then argerror(1, f, ("PCA needs at least 2 rows, got %d"):format(n)) end
    set_width(self, A, names)
    local mean = A:mean(1)
    local Xc = A - mean
    local S, Vh
    if n >= 10 * d and d <= 1000 then
        -- tall data: the eigendecomposition of Xc^T Xc (one BLAS product of
        -- n d^2 flops), as scikit-learn's "covariance_eigh" solver
        local w, V = mf.linalg.eigh(mf.matmul(Xc:t(), Xc))
        local rev = mf.arange(d, 0, -1, "int64")
        S = w:index(1, rev):clamp(0, math.huge):sqrt()
        Vh = V:index(2, rev):t():contiguous()
    else
        local _
        _, S, Vh = mf.linalg.svd(Xc)
    end
    local ev = S * S / (n - 1)
    local ratio = ev / ev:sum()
    local kmax = S:size(1)
    local k = self.n_components or kmax
    if self.variance then
        local cum = ratio:cumsum(1):totable()
        k = 1
        while k < kmax and cum[k] <= self.variance do k = k + 1 end
    elseif k > kmax then
        argerror(1, f, ("n_components = %d is more than min(rows, columns) = %d"):format(k, kmax))
    end
    local V = Vh:narrow(1, 1, k)
    -- svd_flip: the entry of largest magnitude of each component made positive
    local _, at = V:abs():max(2)
    local signs = V:gather(2, at:view(-1, 1)):sign()
    signs = mf.where(signs:eq(0), 1, signs)
    self.components = V * signs
    self.singular_values = S:narrow(1, 1, k):contiguous()
    self.explained_variance = ev:narrow(1, 1, k):contiguous()
    self.explained_variance_ratio = ratio:narrow(1, 1, k):contiguous()
    self.mean = mean
    self.n_components_ = k
    self._fitted = true
    return self
end

--- transform(X) -> (X - mean) components^T, [n x k].
function PCA:transform(X)
    check_fitted(self, "transform")
    local A = transform_input(self, X, "transform")
    check_no_nan(A, self.feature_names_in, fname(self, "transform"))
    return mf.matmul(A - self.mean, self.components:t())
end

--- inverse_transform(Z) -> Z components + mean, [n x d].
function PCA:inverse_transform(Z)
    check_fitted(self, "inverse_transform")
    local f = fname(self, "inverse_transform")
    if not is_tensor(Z) or Z:dim() ~= 2 then
        argerror(1, f, "2-D tensor expected, got " .. (is_tensor(Z) and (Z:dim() .. "-D tensor") or typename(Z)))
    end
    if Z:size(2) ~= self.n_components_ then
        argerror(1, f, ("expected %d columns (the components), got %d"):format(self.n_components_, Z:size(2)))
    end
    return mf.matmul(Z:to("float64"), self.components) + self.mean
end

function PCA:get_support() error("PCA: get_support is not defined (PCA makes new features)", 2) end

--- {"pca1", ..., "pcak"} (scikit-learn's are 0-based: "pca0", ...).
function PCA:get_feature_names()
    check_fitted(self, "get_feature_names")
    local out = {}
    for i = 1, self.n_components_ do out[i] = "pca" .. i end
    return out
end
PCA.get_feature_names_out = PCA.get_feature_names

return M
