--- moonforge.preprocess (mf.preprocess): scikit-learn style transformers.
--
--     local sc = mf.preprocess.StandardScaler()
--     local Z = sc:fit_transform(X)      -- X: 2-D tensor or Table
--     print(sc.mean, sc.scale)
--
-- Every transformer has fit(X [, y]) -> self, transform(X), fit_transform(X)
-- and, where it is meaningful, inverse_transform(Z); fitted state is read as
-- fields. The numeric work runs in core/ (mf_prep.h): this file only checks
-- arguments, turns inputs into matrices or category codes and keeps state.
local mf = require "moonforge"
local core = require "moonforge.core"
local E = require "moonforge.estimator"

local is_tensor = mf.is_tensor
local check_options = mf.nn.check_options

local M = {}

local argerror, is_table, typename = E.argerror, E.is_table, E.typename

-- The private state of a Table ({names, cols, nrows}) through data.lua's
-- private helpers (no column is copied; string columns are read as codes
-- and levels).
local function table_state(tbl)
    return mf.data._private.state(tbl, "preprocess")
end

-- A new Table like `tbl` with the given columns (same names and order).
local function table_like(tbl, cols)
    local s = table_state(tbl)
    local names = table.move(s.names, 1, #s.names, 1, {})
    return mf.data._private.new_table(names, cols, s.nrows)
end

local function is_array(x)
    return type(x) == "table" and not is_tensor(x) and not is_table(x) and getmetatable(x) == nil
end

local function fmt_value(v)
    if v == mf.data.NA then return "NA" end
    if type(v) == "string" then return "'" .. v .. "'" end
    return tostring(v)
end

local function col_name(names, j)
    return names and names[j] or ("x" .. (j - 1))
end

local function col_label(names, j)
    if names then return ("'%s'"):format(names[j]) end
    return tostring(j)
end

---------------------------------------------------------------- classes
local Base = E.base()

local function class(name, allowed, defaults)
    return E.class(M, "moonforge.preprocess", Base, name, allowed, defaults)
end

local fname, check_fitted, opt_error = E.fname, E.check_fitted, E.opt_error

---------------------------------------------------------------- inputs
-- X as a 2-D float32/float64 tensor (int64/bool converted to float64) and
-- its column names (Tables) or nil.
local function as_matrix(X, self, method, level)
    level = (level or 2) + 1
    if is_tensor(X) then
        if X:dim() ~= 2 then
            argerror(1, fname(self, method), ("2-D tensor expected, got %d-D (use x:view(-1, 1) "
                     .. "for a single feature)"):format(X:dim()), level)
        end
        if method == "fit" and X:size(1) == 0 then
            argerror(1, fname(self, method), "no rows to fit on", level)
        end
        local dt = X:dtype()
        if dt ~= "float32" and dt ~= "float64" then X = X:to("float64") end
        return X, nil
    elseif is_table(X) then
        local names = X:columns()
        local dts = X:dtypes()
        for _, n in ipairs(names) do
            if dts[n] == "string" then
                argerror(1, fname(self, method), ("column '%s' holds strings (encode it first, "
                         .. "e.g. with OneHotEncoder)"):format(n), level)
            end
        end
        if #names == 0 then argerror(1, fname(self, method), "Table without columns", level) end
        if method == "fit" and #X == 0 then argerror(1, fname(self, method), "no rows to fit on", level) end
        return X:to_tensor(), names
    end
    argerror(1, fname(self, method), "tensor or Table expected, got " .. typename(X), level)
end

-- Records the width (and names) seen by fit.
local function set_width(self, X, names)
    self.n_features_in = X:size(2)
    self.feature_names_in = names
end

-- At transform: X with the columns of fit (a Table is selected by the names
-- seen in fit), checked for its width.
local function transform_input(self, X, method, level)
    level = (level or 2) + 1
    if is_table(X) and self.feature_names_in then
        local s = table_state(X)
        for _, n in ipairs(self.feature_names_in) do
            if s.cols[n] == nil then
                argerror(1, fname(self, method), ("column '%s' (seen in fit) missing (columns: %s)")
                         :format(n, table.concat(s.names, ", ")), level)
            end
        end
        X = X:select(self.feature_names_in)
    end
    local M_, names = as_matrix(X, self, method, level)
    if M_:size(2) ~= self.n_features_in then
        argerror(1, fname(self, method), ("expected %d columns (as in fit), got %d")
                 :format(self.n_features_in, M_:size(2)), level)
    end
    return M_, names or self.feature_names_in
end

local function nan_error(self, method, names, j, level)
    argerror(1, fname(self, method), ("column %s contains NaN (impute it first, e.g. with "
             .. "SimpleImputer)"):format(col_label(names, j)), (level or 2) + 1)
end

-- The first column whose entry in the float64 vector v is NaN, or nil.
local function first_nan(v)
    local t = v:totable()
    for j = 1, #t do if t[j] ~= t[j] then return j end end
    return nil
end

-- sklearn's _handle_zeros_in_scale: a scale below 10 * eps becomes 1.
local function fix_scale(v)
    local t = v:totable()
    local eps = 10 * 2.220446049250313e-16
    for j = 1, #t do if t[j] < eps then t[j] = 1 end end
    return mf.tensor(t, "float64")
end

local function one_to_one_names(self, names)
    check_fitted(self, "get_feature_names")
    local out = {}
    for j = 1, self.n_features_in do
        out[j] = names and names[j] or col_name(self.feature_names_in, j)
    end
    return out
end

local function check_bool(self, key)
    if type(self[key]) ~= "boolean" then
        opt_error(self, ("option '%s' must be a boolean, got %s"):format(key, type(self[key])))
    end
end

local function check_choice(self, key, choices)
    for _, c in ipairs(choices) do if self[key] == c then return end end
    local q = {}
    for i, c in ipairs(choices) do q[i] = '"' .. c .. '"' end
    opt_error(self, ("option '%s' must be %s, got %s"):format(key, table.concat(q, " or "),
              fmt_value(self[key])))
end

local function check_range(self, key, lo_min, hi_max)
    local r = self[key]
    if type(r) ~= "table" or type(r[1]) ~= "number" or type(r[2]) ~= "number" or #r ~= 2
       or not (r[1] < r[2]) or (lo_min and r[1] < lo_min) or (hi_max and r[2] > hi_max) then
        opt_error(self, ("option '%s' must be {low, high} with low < high%s"):format(key,
                  lo_min and (" within [%g, %g]"):format(lo_min, hi_max) or ""))
    end
end

---------------------------------------------------------------- StandardScaler
local StandardScaler = class("StandardScaler", {"with_mean", "with_std"},
                             {with_mean = true, with_std = true})

function StandardScaler:_check()
    check_bool(self, "with_mean")
    check_bool(self, "with_std")
end

function StandardScaler:fit(X)
    local A, names = as_matrix(X, self, "fit")
    local mean, var = core._prep_moments(A, false)
    local j = first_nan(mean)
    if j then nan_error(self, "fit", names, j) end
    set_width(self, A, names)
    self.n_samples_seen = A:size(1)
    self.mean = self.with_mean and mean or nil
    self.var = self.with_std and var or nil
    self.scale = self.with_std and fix_scale(var:sqrt()) or nil
    self._fitted = true
    return self
end

function StandardScaler:transform(X)
    check_fitted(self, "transform")
    local A, names = transform_input(self, X, "transform")
    local Z, nan_col = core._prep_affine(A, "subdiv", self.mean, self.scale)
    if nan_col then nan_error(self, "transform", names, nan_col) end
    return Z
end

function StandardScaler:inverse_transform(Z)
    check_fitted(self, "inverse_transform")
    local A = transform_input(self, Z, "inverse_transform")
    return (core._prep_affine(A, "muladd", self.scale, self.mean))
end

StandardScaler.get_feature_names = one_to_one_names

---------------------------------------------------------------- MinMaxScaler
local MinMaxScaler = class("MinMaxScaler", {"feature_range", "clip"},
                           {feature_range = {0, 1}, clip = false})

function MinMaxScaler:_check()
    check_range(self, "feature_range")
    check_bool(self, "clip")
end

function MinMaxScaler:fit(X)
    local A, names = as_matrix(X, self, "fit")
    local lo, hi = core._prep_minmax(A, false)
    local j = first_nan(lo)
    if j then nan_error(self, "fit", names, j) end
    set_width(self, A, names)
    self.n_samples_seen = A:size(1)
    local a, b = self.feature_range[1], self.feature_range[2]
    self.data_min, self.data_max = lo, hi
    self.data_range = hi - lo
    self.scale = (b - a) / fix_scale(self.data_range)
    self.min = -(lo * self.scale) + a
    self._fitted = true
    return self
end

function MinMaxScaler:transform(X)
    check_fitted(self, "transform")
    local A, names = transform_input(self, X, "transform")
    local lo, hi
    if self.clip then lo, hi = self.feature_range[1], self.feature_range[2] end
    local Z, nan_col = core._prep_affine(A, "muladd", self.scale, self.min, lo, hi)
    if nan_col then nan_error(self, "transform", names, nan_col) end
    return Z
end

function MinMaxScaler:inverse_transform(Z)
    check_fitted(self, "inverse_transform")
    local A = transform_input(self, Z, "inverse_transform")
    return (core._prep_affine(A, "subdiv", self.min, self.scale))
end

MinMaxScaler.get_feature_names = one_to_one_names

---------------------------------------------------------------- RobustScaler
local RobustScaler = class("RobustScaler", {"with_centering", "with_scaling", "quantile_range"},
                           {with_centering = true, with_scaling = true, quantile_range = {25, 75}})

function RobustScaler:_check()
    check_bool(self, "with_centering")
    check_bool(self, "with_scaling")
    check_range(self, "quantile_range", 0, 100)
end

function RobustScaler:fit(X)
    local A, names = as_matrix(X, self, "fit")
    local qr = self.quantile_range
    local Q = core._prep_quantiles(A, false, {qr[1] / 100, 0.5, qr[2] / 100})
    local j = first_nan(Q[2])
    if j then nan_error(self, "fit", names, j) end
    set_width(self, A, names)
    self.center = self.with_centering and Q[2]:clone() or nil
    self.scale = self.with_scaling and fix_scale(Q[3] - Q[1]) or nil
    self._fitted = true
    return self
end

function RobustScaler:transform(X)
    check_fitted(self, "transform")
    local A, names = transform_input(self, X, "transform")
    local Z, nan_col = core._prep_affine(A, "subdiv", self.center, self.scale)
    if nan_col then nan_error(self, "transform", names, nan_col) end
    return Z
end

function RobustScaler:inverse_transform(Z)
    check_fitted(self, "inverse_transform")
    local A = transform_input(self, Z, "inverse_transform")
    return (core._prep_affine(A, "muladd", self.scale, self.center))
end

RobustScaler.get_feature_names = one_to_one_names

---------------------------------------------------------------- Normalizer
local Normalizer = class("Normalizer", {"norm"}, {norm = "l2"})

function Normalizer:_check() check_choice(self, "norm", {"l2", "l1", "max"}) end

function Normalizer:fit(X)
    local A, names = as_matrix(X, self, "fit")
    set_width(self, A, names)
    self._fitted = true
    return self
end

function Normalizer:transform(X)
    check_fitted(self, "transform")
    local A = transform_input(self, X, "transform")
    return core._prep_normalize(A, self.norm)
end

Normalizer.get_feature_names = one_to_one_names

---------------------------------------------------------------- categorical inputs
-- Encoders see their input as a list of columns, each either
--   {kind = "string", codes = int64 tensor (0 = missing), levels = {...}}  or
--   {kind = "number", x = float64 1-D tensor, integral = bool}
-- plus the column names (Tables) or nil.
local function cat_columns(X, self, method, level)
    level = (level or 2) + 1
    local cols = {}
    if is_table(X) then
        local s = table_state(X)
        for j, n in ipairs(s.names) do
            local c = s.cols[n]
            if is_tensor(c) then
                local dt = c:dtype()
                cols[j] = {kind = "number", x = c:to("float64"), integral = dt == "int64" or dt == "bool"}
            else
                cols[j] = {kind = "string", codes = c.codes, levels = c.levels}
            end
        end
        if #cols == 0 then argerror(1, fname(self, method), "Table without columns", level) end
        return cols, table.move(s.names, 1, #s.names, 1, {})
    elseif is_tensor(X) then
        if X:dim() == 1 then X = X:view(-1, 1) end
        if X:dim() ~= 2 then
            argerror(1, fname(self, method), ("1-D or 2-D tensor expected, got %d-D"):format(X:dim()), level)
        end
        local integral = X:dtype() == "int64" or X:dtype() == "bool"
        local F = X:to("float64")
        for j = 1, F:size(2) do
            cols[j] = {kind = "number", x = F:select(2, j), integral = integral}
        end
        return cols, nil
    elseif is_array(X) then
        -- one column given as a Lua array of strings (mf.data.NA = missing) or numbers
        local n = #X
        if n == 0 then argerror(1, fname(self, method), "empty array", level) end
        if type(X[1]) == "number" then
            local t = {}
            local integral = true
            for i = 1, n do
                local v = X[i]
                if type(v) ~= "number" then
                    argerror(1, fname(self, method), ("array mixes numbers and %s (at %d)")
                             :format(type(v), i), level)
                end
                if math.type(v) ~= "integer" then integral = false end
                t[i] = v
            end
            return {{kind = "number", x = mf.tensor(t, "float64"), integral = integral}}, nil
        end
        local index, levels, codes = {}, {}, {}
        for i = 1, n do
            local v = X[i]
            if v == mf.data.NA then
                codes[i] = 0
            else
                if type(v) ~= "string" then
                    argerror(1, fname(self, method), ("array of strings expected, got %s at %d")
                             :format(type(v), i), level)
                end
                local c = index[v]
                if not c then
                    c = #levels + 1
                    levels[c] = v
                    index[v] = c
                end
                codes[i] = c
            end
        end
        return {{kind = "string", codes = mf.tensor(codes, "int64"), levels = levels}}, nil
    end
    argerror(1, fname(self, method), "Table, tensor or array expected, got " .. typename(X), level)
end

-- The sorted categories of one column: {values = {...}, kind, lookup}.
local function fit_categories(self, c, names, j, level)
    level = (level or 2) + 1
    if c.kind == "string" then
        local counts = core._prep_bincount(c.codes, #c.levels + 1):totable()
        if counts[1] > 0 then
            argerror(1, fname(self, "fit"), ("column %s has missing values (impute them first)")
                     :format(col_label(names, j)), level)
        end
        local vals = {}
        for l = 1, #c.levels do if counts[l + 1] > 0 then vals[#vals + 1] = c.levels[l] end end
        table.sort(vals)
        local pos = {}
        for k, v in ipairs(vals) do pos[v] = k - 1 end
        return {kind = "string", values = vals, pos = pos}
    end
    local u, has_nan = core._prep_unique(c.x)
    if has_nan then
        argerror(1, fname(self, "fit"), ("column %s contains NaN (impute it first)")
                 :format(col_label(names, j)), level)
    end
    local vals = u:totable()
    if c.integral then
        for k = 1, #vals do vals[k] = math.tointeger(vals[k]) or vals[k] end
    end
    return {kind = "number", values = vals, cats = u}
end

-- 0-based category codes (-1 = unknown) of column c against fitted cats.
local function encode_column(self, c, cats, method, names, j, level)
    level = (level or 2) + 1
    if cats.kind == "string" then
        if c.kind ~= "string" then
            argerror(1, fname(self, method), ("column %s: strings expected (as in fit), got numbers")
                     :format(col_label(names, j)), level)
        end
        local map = {-1}
        for l = 1, #c.levels do
            local p = cats.pos[c.levels[l]]
            map[l + 1] = p or -1
        end
        return mf.tensor(map, "int64"):index(1, c.codes + 1)
    end
    if c.kind ~= "number" then
        argerror(1, fname(self, method), ("column %s: numbers expected (as in fit), got strings")
                 :format(col_label(names, j)), level)
    end
    return (core._prep_lookup(c.x, cats.cats))
end

-- The value of column c at (1-based) row i, for messages.
local function value_at(c, i)
    if c.kind == "string" then
        local code = c.codes[i]
        return code == 0 and mf.data.NA or c.levels[code]
    end
    local v = c.x[i]
    return c.integral and math.tointeger(v) or v
end

local function check_encoder_width(self, cols, method, level)
    if #cols ~= self.n_features_in then
        argerror(1, fname(self, method), ("expected %d columns (as in fit), got %d")
                 :format(self.n_features_in, #cols), (level or 2) + 1)
    end
end

local function fit_encoder(self, X)
    local cols, names = cat_columns(X, self, "fit", 3)
    self._cats = {}
    self.categories = {}
    for j, c in ipairs(cols) do
        self._cats[j] = fit_categories(self, c, names, j, 3)
        self.categories[j] = self._cats[j].values
    end
    self.n_features_in = #cols
    self.feature_names_in = names
end

-- The [n x k] int64 code matrix of X against the fitted categories.
local function encode(self, X, method, allow_unknown)
    local cols, names = cat_columns(X, self, method, 3)
    if is_table(X) and self.feature_names_in then
        local byname = {}
        for j, n in ipairs(names) do byname[n] = cols[j] end
        local picked = {}
        for j, n in ipairs(self.feature_names_in) do
            picked[j] = byname[n]
            if not picked[j] then
                argerror(1, fname(self, method), ("column '%s' (seen in fit) missing (columns: %s)")
                         :format(n, table.concat(names, ", ")), 3)
            end
        end
        cols, names = picked, self.feature_names_in
    end
    check_encoder_width(self, cols, method, 3)
    names = names or self.feature_names_in
    local parts = {}
    for j, c in ipairs(cols) do parts[j] = encode_column(self, c, self._cats[j], method, names, j, 3) end
    local codes = mf.stack(parts, 2)
    return codes, cols, names
end

local function unknown_error(self, method, cols, names, i, j, level)
    local cats = {}
    for k, v in ipairs(self.categories[j]) do
        if k > 10 then cats[#cats + 1] = "..." break end
        cats[#cats + 1] = tostring(v)
    end
    argerror(1, fname(self, method), ("unknown category %s in column %s (row %d; categories seen "
             .. "in fit: %s)"):format(fmt_value(value_at(cols[j], i)), col_label(names, j), i,
             table.concat(cats, ", ")), (level or 2) + 1)
end

-- The Table of the category columns given by `codes` ([n x k] float64,
-- 1..K per column, 0 = none): numbers as float64 columns (NaN for none),
-- strings as string columns (missing for none), named as in fit.
local function decode_columns(self, codes)
    local names, cols = {}, {}
    local n = codes:size(1)
    for j, cat in ipairs(self._cats) do
        local name = col_name(self.feature_names_in, j)
        names[j] = name
        local cj = codes:select(2, j)
        local none = cj:eq(0)
        local ci = cj:clamp(1, math.max(#cat.values, 1)):to("int64")
        if cat.kind == "number" then
            local v = #cat.values > 0 and cat.cats:index(1, ci) or mf.full({n}, 0 / 0, "float64")
            cols[name] = mf.where(none, 0 / 0, v)
        else
            cols[name] = {codes = mf.where(none, 0, ci), levels = table.move(cat.values, 1, #cat.values, 1, {})}
        end
    end
    return mf.data._private.new_table(names, cols, n)
end

-- Z as a 2-D numeric tensor of `width` columns (for inverse_transform).
local function inverse_input(self, Z, width)
    if not is_tensor(Z) or Z:dim() ~= 2 then
        argerror(1, fname(self, "inverse_transform"), "2-D tensor expected, got " .. typename(Z), 3)
    end
    if Z:size(2) ~= width then
        argerror(1, fname(self, "inverse_transform"), ("expected %d columns, got %d")
                 :format(width, Z:size(2)), 3)
    end
    return Z:to("float64")
end

---------------------------------------------------------------- SimpleImputer
local SimpleImputer = class("SimpleImputer", {"strategy", "fill_value"}, {strategy = "mean"})

function SimpleImputer:_check()
    check_choice(self, "strategy", {"mean", "median", "most_frequent", "constant"})
    if self.fill_value ~= nil and type(self.fill_value) ~= "number" and type(self.fill_value) ~= "string" then
        opt_error(self, "option 'fill_value' must be a number or a string, got " .. type(self.fill_value))
    end
end

-- The per-column statistics of a numeric matrix A (float64 tensor [p]).
local function numeric_statistics(self, A, names, level)
    local stats
    if self.strategy == "mean" then
        stats = core._prep_moments(A, true)
    elseif self.strategy == "median" then
        stats = core._prep_quantiles(A, true, {0.5})[1]:clone()
    elseif self.strategy == "most_frequent" then
        stats = core._prep_mode(A)
    else
        local fill = self.fill_value or 0
        if type(fill) ~= "number" then
            argerror(1, fname(self, "fit"), ("fill_value must be a number for numeric columns, got %s")
                     :format(type(fill)), level + 1)
        end
        stats = mf.full({A:size(2)}, fill, "float64")
    end
    local j = first_nan(stats)
    if j then
        argerror(1, fname(self, "fit"), ("column %s has no values to compute the %s from")
                 :format(col_label(names, j), self.strategy), level + 1)
    end
    return stats
end

-- The fill string of a string column {codes, levels} (name for messages).
local function string_statistic(self, c, name, level)
    if self.strategy == "constant" then
        local fill = self.fill_value or "missing_value" -- scikit-learn's default
        if type(fill) ~= "string" then
            argerror(1, fname(self, "fit"), ("fill_value must be a string for string column %s, got %s")
                     :format(name, type(fill)), level + 1)
        end
        return fill
    elseif self.strategy ~= "most_frequent" then
        argerror(1, fname(self, "fit"), ("strategy \"%s\" needs numbers; column %s holds strings "
                 .. "(use \"most_frequent\" or \"constant\")"):format(self.strategy, name), level + 1)
    end
    local counts = core._prep_bincount(c.codes, #c.levels + 1):totable()
    local best, best_n = nil, 0
    for l = 1, #c.levels do
        local n, v = counts[l + 1], c.levels[l]
        if n > best_n or (n == best_n and n > 0 and v < best) then best, best_n = v, n end
    end
    if not best then
        argerror(1, fname(self, "fit"), ("column %s has no values to compute the most_frequent from")
                 :format(name), level + 1)
    end
    return best
end

-- Codes with 0 (missing) replaced by the code of `fill` (added to the
-- levels when new): tensor ops, no loop over rows.
local function fill_codes(c, fill)
    local levels, code = c.levels, nil
    for l = 1, #levels do if levels[l] == fill then code = l break end end
    if not code then
        levels = table.move(levels, 1, #levels, 1, {})
        levels[#levels + 1] = fill
        code = #levels
    end
    local codes = c.codes + c.codes:eq(0):to("int64") * code
    return {codes = codes, levels = levels}
end

local function has_string_columns(X)
    if not is_table(X) then return false end
    for _, dt in pairs(X:dtypes()) do if dt == "string" then return true end end
    return false
end

function SimpleImputer:fit(X)
    self._mode = nil
    if is_array(X) then
        -- one string column, as a Lua array
        local c = cat_columns(X, self, "fit", 2)[1]
        if c.kind ~= "string" then
            argerror(1, fname(self, "fit"), "array of strings expected (numbers go in a tensor)")
        end
        self.statistics = {string_statistic(self, c, "1", 2)}
        self.n_features_in = 1
        self._mode = "array"
    elseif has_string_columns(X) then
        local s = table_state(X)
        local stats = {}
        local num = {}
        for j, n in ipairs(s.names) do
            local c = s.cols[n]
            if is_tensor(c) then
                num[#num + 1] = j
            else
                stats[j] = string_statistic(self, c, "'" .. n .. "'", 2)
            end
        end
        if #num > 0 then
            local nn = {}
            for k, j in ipairs(num) do nn[k] = s.names[j] end
            local st = numeric_statistics(self, X:select(nn):to_tensor(), nn, 2):totable()
            for k, j in ipairs(num) do stats[j] = st[k] end
        end
        self.statistics = stats
        self.n_features_in = #s.names
        self.feature_names_in = table.move(s.names, 1, #s.names, 1, {})
        self._mode = "table"
    else
        local A, names = as_matrix(X, self, "fit")
        self.statistics = numeric_statistics(self, A, names, 2)
        set_width(self, A, names)
    end
    self._fitted = true
    return self
end

--- A tensor for numeric input; for a Table with string columns a Table
-- (strings filled through their codes), for an array of strings an array.
function SimpleImputer:transform(X)
    check_fitted(self, "transform")
    if self._mode == "array" then
        local c = cat_columns(X, self, "transform", 2)[1]
        if c.kind ~= "string" then argerror(1, fname(self, "transform"), "array of strings expected") end
        local fill = self.statistics[1]
        local out = {}
        for i = 1, #X do out[i] = X[i] == mf.data.NA and fill or X[i] end
        return out
    elseif self._mode == "table" then
        if not is_table(X) then
            argerror(1, fname(self, "transform"), "Table expected (as in fit), got " .. typename(X))
        end
        local s = table_state(X)
        for _, n in ipairs(self.feature_names_in) do
            if s.cols[n] == nil then
                argerror(1, fname(self, "transform"), ("column '%s' (seen in fit) missing (columns: %s)")
                         :format(n, table.concat(s.names, ", ")))
            end
        end
        local sub = X:select(self.feature_names_in)
        local ss = table_state(sub)
        local cols = {}
        for j, n in ipairs(ss.names) do
            local c, fill = ss.cols[n], self.statistics[j]
            if is_tensor(c) ~= (type(fill) == "number") then
                argerror(1, fname(self, "transform"), ("column '%s' changed type since fit"):format(n))
            end
            if not is_tensor(c) then
                cols[n] = fill_codes(c, fill)
            elseif c:dtype() == "float64" then
                cols[n] = core._prep_fillnan(c:unsqueeze(2), mf.tensor({fill}, "float64")):view(-1)
            else
                cols[n] = c -- int64 and bool columns hold no missing values
            end
        end
        return table_like(sub, cols)
    end
    local A = transform_input(self, X, "transform")
    return core._prep_fillnan(A, self.statistics)
end

SimpleImputer.get_feature_names = one_to_one_names

---------------------------------------------------------------- OneHotEncoder
local OneHotEncoder = class("OneHotEncoder", {"handle_unknown", "drop", "sparse_output"},
                            {handle_unknown = "error", sparse_output = false})

function OneHotEncoder:_check()
    check_choice(self, "handle_unknown", {"error", "ignore"})
    if self.drop ~= nil then check_choice(self, "drop", {"first", "if_binary"}) end
    if self.sparse_output ~= false then
        opt_error(self, "option 'sparse_output' must be false (the output is a dense tensor)")
    end
end

function OneHotEncoder:fit(X)
    fit_encoder(self, X)
    local drop = {}
    for j, vals in ipairs(self.categories) do
        local d = -1
        if self.drop == "first" or (self.drop == "if_binary" and #vals == 2) then d = 0 end
        drop[j] = d
    end
    self._drop = drop
    self.drop_idx = nil
    if self.drop then
        self.drop_idx = {}
        for j, d in ipairs(drop) do self.drop_idx[j] = d >= 0 and d + 1 or false end
    end
    self._fitted = true
    return self
end

function OneHotEncoder:transform(X)
    check_fitted(self, "transform")
    local codes, cols, names = encode(self, X, "transform")
    local ncat = {}
    for j, vals in ipairs(self.categories) do ncat[j] = #vals end
    local Z, ur, uc = core._prep_onehot(codes, ncat, self.drop and self._drop or nil)
    if ur and self.handle_unknown == "error" then
        unknown_error(self, "transform", cols, names, ur, uc)
    end
    return Z
end

--- Output column names: "<input>_<category>" (inputs named x0, x1, ...
-- unless the encoder saw a Table or names are given).
function OneHotEncoder:get_feature_names(names)
    check_fitted(self, "get_feature_names")
    local out = {}
    for j, vals in ipairs(self.categories) do
        local base = names and names[j] or col_name(self.feature_names_in, j)
        for k, v in ipairs(vals) do
            if k - 1 ~= self._drop[j] or not self.drop then out[#out + 1] = base .. "_" .. tostring(v) end
        end
    end
    return out
end

--- The categories back from a one-hot matrix: a Table with one column per
-- input column (named as in fit). A block of zeros is the dropped category
-- (drop), else missing (handle_unknown = "ignore"), else an error.
function OneHotEncoder:inverse_transform(Z)
    check_fitted(self, "inverse_transform")
    local width = 0
    for j, vals in ipairs(self.categories) do width = width + #vals - (self._drop[j] >= 0 and 1 or 0) end
    local A = inverse_input(self, Z, width)
    local n, off, parts = A:size(1), 1, {}
    for j, vals in ipairs(self.categories) do
        local d = self._drop[j]
        local w = #vals - (d >= 0 and 1 or 0)
        local code
        if w == 0 then
            code = mf.full({n}, d + 1, "float64")
        else
            local mx, idx = A:narrow(2, off, w):max(2)
            code = idx:to("float64")
            if d >= 0 then code = code + code:ge(d + 1):to("float64") end -- skip the dropped one
            local zero = mx:le(0)
            if zero:any():item() then
                if d >= 0 then
                    code = mf.where(zero, d + 1, code)
                elseif self.handle_unknown == "ignore" then
                    code = mf.where(zero, 0, code)
                else
                    local i = mf.nonzero(zero):view(-1)[1]
                    argerror(1, fname(self, "inverse_transform"), ("row %d has no category for column %s "
                             .. "(all zeros)"):format(i, col_label(self.feature_names_in, j)))
                end
            end
        end
        parts[j] = code
        off = off + w
    end
    return decode_columns(self, mf.stack(parts, 2))
end

---------------------------------------------------------------- OrdinalEncoder
local OrdinalEncoder = class("OrdinalEncoder", {"handle_unknown", "unknown_value"},
                             {handle_unknown = "error"})

function OrdinalEncoder:_check()
    check_choice(self, "handle_unknown", {"error", "use_encoded_value"})
    if self.handle_unknown == "use_encoded_value" and type(self.unknown_value) ~= "number" then
        opt_error(self, "option 'unknown_value' (a number, or 0/0 for NaN) is required with "
                  .. "handle_unknown = \"use_encoded_value\"")
    end
end

function OrdinalEncoder:fit(X)
    fit_encoder(self, X)
    self._fitted = true
    return self
end

--- Codes 1..K per column (float64 [n x k]), in the sorted category order.
function OrdinalEncoder:transform(X)
    check_fitted(self, "transform")
    local codes, cols, names = encode(self, X, "transform")
    local Z, ur, uc = core._prep_ordinal(codes, self.unknown_value or 0 / 0)
    if ur and self.handle_unknown == "error" then
        unknown_error(self, "transform", cols, names, ur, uc)
    end
    return Z
end

OrdinalEncoder.get_feature_names = one_to_one_names

--- The categories back from codes 1..K: a Table with one column per input
-- column (named as in fit); unknown_value (or NaN) gives a missing cell.
function OrdinalEncoder:inverse_transform(Z)
    check_fitted(self, "inverse_transform")
    local A = inverse_input(self, Z, #self.categories)
    local none = A:isnan()
    if self.unknown_value then none = none:logical_or(A:eq(self.unknown_value)) end
    local codes = mf.where(none, 0, A)
    for j, vals in ipairs(self.categories) do
        local c = codes:select(2, j)
        local bad = c:ne(c:round()):logical_or(c:lt(0)):logical_or(c:gt(#vals))
        if bad:any():item() then
            local i = mf.nonzero(bad):view(-1)[1]
            argerror(1, fname(self, "inverse_transform"), ("row %d, column %s: %s is not a code in 1..%d")
                     :format(i, col_label(self.feature_names_in, j), tostring(A[i][j]), #vals))
        end
    end
    return decode_columns(self, codes)
end

---------------------------------------------------------------- LabelEncoder
local LabelEncoder = class("LabelEncoder", {}, {})

local function label_column(self, y, method)
    if is_tensor(y) and y:dim() ~= 1 then
        argerror(1, fname(self, method), ("1-D tensor expected, got %d-D"):format(y:dim()), 3)
    end
    if not is_tensor(y) and not is_array(y) then
        argerror(1, fname(self, method), "1-D tensor or array expected, got " .. typename(y), 3)
    end
    return cat_columns(y, self, method, 3)[1]
end

function LabelEncoder:fit(y)
    local c = label_column(self, y, "fit")
    self._cat = fit_categories(self, c, {"y"}, 1, 2)
    self.classes = self._cat.values
    self._dtype = is_tensor(y) and y:dtype() or nil
    self._fitted = true
    return self
end

--- Codes 1..K (int64 tensor).
function LabelEncoder:transform(y)
    check_fitted(self, "transform")
    local c = label_column(self, y, "transform")
    local codes = encode_column(self, c, self._cat, "transform", {"y"}, 1, 2)
    local bad = codes:lt(0)
    if bad:any():item() then
        local i = mf.nonzero(bad):view(-1)[1]
        argerror(1, fname(self, "transform"), ("y contains a label not seen in fit: %s (at %d)")
                 :format(fmt_value(value_at(c, i)), i))
    end
    return codes + 1
end

function LabelEncoder:fit_transform(y) return self:fit(y):transform(y) end

--- The labels of codes 1..K: a tensor (dtype of fit) for numeric labels, a
-- Lua array for strings.
function LabelEncoder:inverse_transform(codes)
    check_fitted(self, "inverse_transform")
    local K = #self.classes
    if is_array(codes) then codes = mf.tensor(codes, "int64") end
    if not is_tensor(codes) or codes:dim() ~= 1 then
        argerror(1, fname(self, "inverse_transform"), "1-D tensor or array of codes expected")
    end
    local ci = codes:to("int64")
    if codes:numel() > 0 and (ci:min():item() < 1 or ci:max():item() > K) then
        argerror(1, fname(self, "inverse_transform"), ("codes must be in 1..%d"):format(K))
    end
    if self._cat.kind == "number" then
        local out = self._cat.cats:index(1, ci)
        return self._dtype and out:to(self._dtype) or out
    end
    local t, out = ci:totable(), {}
    for i = 1, #t do out[i] = self.classes[t[i]] end
    return out
end

---------------------------------------------------------------- PolynomialFeatures
local PolynomialFeatures = class("PolynomialFeatures", {"degree", "interaction_only", "include_bias"},
                                 {degree = 2, interaction_only = false, include_bias = true})

function PolynomialFeatures:_check()
    if math.type(self.degree) ~= "integer" or self.degree < 0 then
        opt_error(self, "option 'degree' must be a non-negative integer, got " .. tostring(self.degree))
    end
    check_bool(self, "interaction_only")
    check_bool(self, "include_bias")
end

-- sklearn's order: by degree, then combinations (with replacement unless
-- interaction_only) of column indices in lexicographic order.
local function combos(p, degree, interaction_only, include_bias)
    local out = {}
    if include_bias then out[1] = {} end
    local cur = {}
    local function rec(d, start)
        if #cur == d then
            out[#out + 1] = table.move(cur, 1, d, 1, {})
            return
        end
        for j = start, p do
            cur[#cur + 1] = j
            rec(d, interaction_only and j + 1 or j)
            cur[#cur] = nil
        end
    end
    for d = 1, degree do rec(d, 1) end
    return out
end

function PolynomialFeatures:fit(X)
    local A, names = as_matrix(X, self, "fit")
    set_width(self, A, names)
    local p = A:size(2)
    self._combos = combos(p, self.degree, self.interaction_only, self.include_bias)
    local d = math.max(self.degree, 1)
    local flat, powers = {}, {}
    for o, cb in ipairs(self._combos) do
        local row, pw = {}, {}
        for t = 1, d do row[t] = cb[t] and cb[t] - 1 or -1 end
        for j = 1, p do pw[j] = 0 end
        for _, j in ipairs(cb) do pw[j] = pw[j] + 1 end
        flat[o] = row
        powers[o] = pw
    end
    if #flat == 0 then
        argerror(1, fname(self, "fit"), "no output features (degree 0 without include_bias)")
    end
    self._combo_t = mf.tensor(flat, "int64")
    self.powers = powers
    self.n_output_features = #flat
    self._fitted = true
    return self
end

function PolynomialFeatures:transform(X)
    check_fitted(self, "transform")
    local A = transform_input(self, X, "transform")
    return core._prep_poly(A, self._combo_t)
end

--- "1", "x0", "x0^2", "x0 x1" (or the given / Table column names).
function PolynomialFeatures:get_feature_names(names)
    check_fitted(self, "get_feature_names")
    local out = {}
    for o, pw in ipairs(self.powers) do
        local parts = {}
        for j, e in ipairs(pw) do
            if e > 0 then
                local nm = names and names[j] or col_name(self.feature_names_in, j)
                parts[#parts + 1] = e == 1 and nm or (nm .. "^" .. e)
            end
        end
        out[o] = #parts == 0 and "1" or table.concat(parts, " ")
    end
    return out
end

---------------------------------------------------------------- KBinsDiscretizer
local KBinsDiscretizer = class("KBinsDiscretizer", {"n_bins", "encode", "strategy"},
                               {n_bins = 5, encode = "onehot", strategy = "quantile"})

function KBinsDiscretizer:_check()
    if math.type(self.n_bins) ~= "integer" or self.n_bins < 2 then
        opt_error(self, "option 'n_bins' must be an integer >= 2, got " .. tostring(self.n_bins))
    end
    check_choice(self, "encode", {"onehot", "ordinal"})
    check_choice(self, "strategy", {"quantile", "uniform"})
end

function KBinsDiscretizer:fit(X)
    local A, names = as_matrix(X, self, "fit")
    local nb = self.n_bins
    local lo, hi = core._prep_minmax(A, false)
    local j0 = first_nan(lo)
    if j0 then nan_error(self, "fit", names, j0) end
    local lot, hit = lo:totable(), hi:totable()
    local Q
    if self.strategy == "quantile" then
        local q = {}
        for k = 0, nb do q[k + 1] = k / nb end
        Q = core._prep_quantiles(A, false, q):t():totable()
    end
    local edges, nbins, flat, nedges = {}, {}, {}, {}
    for j = 1, A:size(2) do
        local e
        if lot[j] == hit[j] then
            mf.warn("KBinsDiscretizer: feature %s is constant and will be replaced with 0",
                    col_label(names, j))
            e = {-math.huge, math.huge}
        elseif self.strategy == "uniform" then
            e = {}
            local step = (hit[j] - lot[j]) / nb
            for k = 0, nb - 1 do e[k + 1] = lot[j] + k * step end
            e[nb + 1] = hit[j]
        else
            -- quantile edges closer than 1e-8 are merged, as in scikit-learn
            e = {Q[j][1]}
            for k = 2, nb + 1 do
                if Q[j][k] - e[#e] > 1e-8 then e[#e + 1] = Q[j][k] end
            end
            if #e < nb + 1 then
                mf.warn("KBinsDiscretizer: bins whose width is too small (<= 1e-8) in feature %s "
                        .. "are removed; consider fewer bins", col_label(names, j))
            end
            if #e < 2 then e[2] = math.huge end
        end
        edges[j] = mf.tensor(e, "float64")
        nbins[j] = #e - 1
        nedges[j] = #e
        table.move(e, 1, #e, #flat + 1, flat)
    end
    set_width(self, A, names)
    self.bin_edges = edges
    self.n_bins_ = nbins
    self._flat = mf.tensor(flat, "float64")
    self._nedges = nedges
    self._fitted = true
    return self
end

--- Ordinal: bin numbers 1..n_bins (float64); onehot: one column per bin.
function KBinsDiscretizer:transform(X)
    check_fitted(self, "transform")
    local A, names = transform_input(self, X, "transform")
    local codes, nan_col = core._prep_digitize(A, self._flat, self._nedges)
    if nan_col then nan_error(self, "transform", names, nan_col) end
    if self.encode == "ordinal" then return (codes + 1):to("float64") end
    return (core._prep_onehot(codes, self.n_bins_))
end

--- Bin numbers (encode = "ordinal") back to the centers of their bins.
function KBinsDiscretizer:inverse_transform(Z)
    check_fitted(self, "inverse_transform")
    if self.encode ~= "ordinal" then
        argerror(1, fname(self, "inverse_transform"), "only with encode = \"ordinal\"")
    end
    local A = transform_input(self, Z, "inverse_transform")
    local parts = {}
    for j = 1, self.n_features_in do
        local e = self.bin_edges[j]
        local nb = self.n_bins_[j]
        local codes = A:select(2, j):to("float64")
        local ci = codes:to("int64")
        if A:size(1) > 0 and (not codes:eq(ci:to("float64")):all():item() or ci:min():item() < 1
                               or ci:max():item() > nb) then
            argerror(1, fname(self, "inverse_transform"),
                     ("column %d: bin numbers must be integers in 1..%d"):format(j, nb))
        end
        local centers = (e:narrow(1, 1, nb) + e:narrow(1, 2, nb)) * 0.5
        parts[j] = centers:index(1, ci)
    end
    return mf.stack(parts, 2)
end

function KBinsDiscretizer:get_feature_names(names)
    check_fitted(self, "get_feature_names")
    local out = {}
    for j = 1, self.n_features_in do
        local nm = names and names[j] or col_name(self.feature_names_in, j)
        if self.encode == "ordinal" then
            out[#out + 1] = nm
        else
            for k = 1, self.n_bins_[j] do out[#out + 1] = nm .. "_" .. k end
        end
    end
    return out
end

---------------------------------------------------------------- ColumnTransformer
local ColumnTransformer = {}
ColumnTransformer.__index = ColumnTransformer
ColumnTransformer.__name = "moonforge.preprocess.ColumnTransformer"
ColumnTransformer._cls = "ColumnTransformer"

--- ColumnTransformer{ {name, transformer, columns}, ..., remainder = "drop" | "passthrough" }
-- transformer: a transformer object, or "passthrough" / "drop"; columns:
-- names (Tables) or 1-based positions (tensors); one name or a list.
function M.ColumnTransformer(spec)
    if type(spec) ~= "table" or is_tensor(spec) then
        argerror(1, "ColumnTransformer", "table of {name, transformer, columns} expected, got " .. typename(spec))
    end
    local self = setmetatable({_fitted = false, remainder = "drop", transformers = {},
                               named_transformers = {}}, ColumnTransformer)
    for k, v in pairs(spec) do
        if k == "remainder" then
            if v ~= "drop" and v ~= "passthrough" then
                argerror(1, "ColumnTransformer", "remainder must be \"drop\" or \"passthrough\", got "
                         .. fmt_value(v))
            end
            self.remainder = v
        elseif math.type(k) ~= "integer" then
            argerror(1, "ColumnTransformer", ("unknown option '%s' (expected: remainder)"):format(tostring(k)))
        end
    end
    for i, t in ipairs(spec) do
        if type(t) ~= "table" or type(t[1]) ~= "string" or t[2] == nil or t[3] == nil then
            argerror(1, "ColumnTransformer", ("entry %d must be {name, transformer, columns}"):format(i))
        end
        local tr = t[2]
        if tr ~= "passthrough" and tr ~= "drop" and (type(tr) ~= "table" or type(tr.fit) ~= "function"
                                                     or type(tr.transform) ~= "function") then
            argerror(1, "ColumnTransformer", ("entry %d ('%s'): transformer expected, got %s")
                     :format(i, t[1], typename(tr)))
        end
        if self.named_transformers[t[1]] then
            argerror(1, "ColumnTransformer", ("duplicate name '%s'"):format(t[1]))
        end
        local cols = t[3]
        if type(cols) ~= "table" then cols = {cols} end
        for _, c in ipairs(cols) do
            if type(c) ~= "string" and math.type(c) ~= "integer" then
                argerror(1, "ColumnTransformer", ("entry %d ('%s'): columns must be names or positions")
                         :format(i, t[1]))
            end
        end
        self.transformers[i] = {name = t[1], transformer = tr, columns = cols}
        self.named_transformers[t[1]] = tr
    end
    if #self.transformers == 0 then argerror(1, "ColumnTransformer", "no transformers") end
    return self
end

function ColumnTransformer.__tostring(self)
    local n = {}
    for i, t in ipairs(self.transformers) do n[i] = t.name end
    return ("ColumnTransformer(%s)"):format(table.concat(n, ", "))
end

-- The columns of X listed in cols, as a Table or a tensor, plus their names.
local function pick(self, X, cols, method, level)
    level = (level or 2) + 1
    if is_table(X) then
        local s = table_state(X)
        for _, c in ipairs(cols) do
            if type(c) ~= "string" or s.cols[c] == nil then
                argerror(1, fname(self, method), ("unknown column '%s' (columns: %s)")
                         :format(tostring(c), table.concat(s.names, ", ")), level)
            end
        end
        return X:select(cols), cols
    end
    local n = X:size(2)
    local idx, names = {}, {}
    for k, c in ipairs(cols) do
        if math.type(c) ~= "integer" or c < 1 or c > n then
            argerror(1, fname(self, method), ("column %s out of range 1..%d (a tensor's columns are "
                     .. "given by position)"):format(tostring(c), n), level)
        end
        idx[k] = c
        names[k] = "x" .. (c - 1)
    end
    return X:index(2, mf.tensor(idx, "int64")), names
end

local function as_float64(Z)
    return Z:dtype() == "float64" and Z or Z:to("float64")
end

local function check_ct_input(self, X, method)
    if is_table(X) then return X end
    if is_tensor(X) and X:dim() == 2 then return X end
    argerror(1, fname(self, method), "Table or 2-D tensor expected, got " .. typename(X), 3)
end

-- The remainder columns (those no transformer lists).
local function remainder_cols(self, X)
    local used = {}
    for _, t in ipairs(self.transformers) do
        for _, c in ipairs(t.columns) do used[c] = true end
    end
    local rest = {}
    if is_table(X) then
        for _, n in ipairs(X:columns()) do if not used[n] then rest[#rest + 1] = n end end
    else
        for j = 1, X:size(2) do if not used[j] then rest[#rest + 1] = j end end
    end
    return rest
end

local function run(self, X, method, fit)
    X = check_ct_input(self, X, method)
    if not fit then
        check_fitted(self, method)
        local w = is_table(X) and #X:columns() or X:size(2)
        if not is_table(X) and w ~= self.n_features_in then
            argerror(1, fname(self, method), ("expected %d columns (as in fit), got %d")
                     :format(self.n_features_in, w), 3)
        end
    end
    local blocks = {}
    for _, t in ipairs(self.transformers) do
        local sub, names = pick(self, X, t.columns, method, 3)
        t.input_names = names
        local tr = t.transformer
        if tr == "passthrough" then
            blocks[#blocks + 1] = as_float64(as_matrix(sub, self, method, 3))
        elseif tr ~= "drop" then
            local Z = fit and tr:fit_transform(sub) or tr:transform(sub)
            blocks[#blocks + 1] = as_float64(Z)
        end
    end
    if fit then
        self.n_features_in = is_table(X) and #X:columns() or X:size(2)
        self._rest = remainder_cols(self, X)
    end
    if self.remainder == "passthrough" and #self._rest > 0 then
        local sub = pick(self, X, self._rest, method, 3)
        blocks[#blocks + 1] = as_float64(as_matrix(sub, self, method, 3))
    end
    if fit then self._fitted = true end
    return mf.cat(blocks, 2)
end

function ColumnTransformer:fit(X)
    run(self, X, "fit", true)
    return self
end

function ColumnTransformer:fit_transform(X) return run(self, X, "fit_transform", true) end
function ColumnTransformer:transform(X) return run(self, X, "transform", false) end

function ColumnTransformer:get_feature_names_out() return self:get_feature_names() end

--- "name__feature" for every output column (sklearn >= 1.0), with
-- "remainder__<column>" for passed-through columns.
function ColumnTransformer:get_feature_names()
    check_fitted(self, "get_feature_names")
    local out = {}
    for _, t in ipairs(self.transformers) do
        local tr, names = t.transformer, t.input_names
        local fn
        if tr == "passthrough" then fn = names
        elseif tr ~= "drop" then fn = tr:get_feature_names(names) end
        for _, f in ipairs(fn or {}) do out[#out + 1] = t.name .. "__" .. f end
    end
    if self.remainder == "passthrough" then
        for _, c in ipairs(self._rest) do
            out[#out + 1] = "remainder__" .. (type(c) == "string" and c or ("x" .. (c - 1)))
        end
    end
    return out
end

return M
