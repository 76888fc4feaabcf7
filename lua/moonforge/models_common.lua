-- moonforge.models_common: the input and label helpers that the mf.models
-- families share (models_classify.lua, models_neighbors.lua, models_svm.lua).
--
-- Labels may be any values: a 1-D tensor (int64, float, bool) or a Lua array
-- of strings (or numbers, read as a tensor); encode_y sorts them into
-- `classes` and 0-based codes, labels_of maps predicted class indices back
-- to labels of y's kind.
local mf = require "moonforge"
local core = require "moonforge.core"
local E = require "moonforge.estimator"

local is_tensor = mf.is_tensor
local argerror, is_table, typename = E.argerror, E.is_table, E.typename
local fname, check_fitted, opt_error = E.fname, E.check_fitted, E.opt_error

local C = {}

local function col_label(names, j)
    if names then return ("'%s'"):format(names[j]) end
    return tostring(j)
end

-- X as a contiguous float64 matrix, its column names (Tables) or nil;
-- NaN and infinities are errors naming the row and column.
local function as_matrix(X, self, method, level)
    level = (level or 2) + 1
    local fn = fname(self, method)
    local names
    if is_tensor(X) then
        if X:dim() ~= 2 then
            argerror(1, fn, ("2-D tensor expected, got %d-D (use x:view(-1, 1) for a single "
                     .. "feature)"):format(X:dim()), level)
        end
    elseif is_table(X) then
        names = X:columns()
        local dts = X:dtypes()
        for _, n in ipairs(names) do
            if dts[n] == "string" then
                argerror(1, fn, ("column '%s' holds strings (encode it first, e.g. with "
                         .. "OneHotEncoder)"):format(n), level)
            end
        end
        if #names == 0 then argerror(1, fn, "Table without columns", level) end
        X = X:to_tensor()
    else
        argerror(1, fn, "tensor or Table expected, got " .. typename(X), level)
    end
    if method == "fit" and X:size(1) == 0 then argerror(1, fn, "no rows to fit on", level) end
    if X:dtype() ~= "float64" then X = X:to("float64") end
    X = X:contiguous()
    local r, c = core._cls_find_nonfinite(X)
    if r then
        local v = X:get(r, c)
        argerror(1, fn, ("%s at row %d, column %s (clean or impute it first)")
                 :format(v ~= v and "NaN" or tostring(v):gsub("inf", "infinity"), r,
                         col_label(names, c)), level)
    end
    return X, names
end

-- At predict: X with the columns of fit (a Table is selected by the names seen in fit).
local function predict_input(self, X, method)
    check_fitted(self, method)
    local fn = fname(self, method)
    if is_table(X) and self.feature_names_in then
        local have = {}
        for _, n in ipairs(X:columns()) do have[n] = true end
        for _, n in ipairs(self.feature_names_in) do
            if not have[n] then
                argerror(1, fn, ("column '%s' (seen in fit) missing (columns: %s)")
                         :format(n, table.concat(X:columns(), ", ")), 3)
            end
        end
        X = X:select(self.feature_names_in)
    end
    local Xm = as_matrix(X, self, method, 3)
    if Xm:size(2) ~= self.n_features_in then
        argerror(1, fn, ("expected %d columns (as in fit), got %d")
                 :format(self.n_features_in, Xm:size(2)), 3)
    end
    return Xm
end

local function is_array(x)
    return type(x) == "table" and not is_tensor(x) and not is_table(x) and getmetatable(x) == nil
end

-- The labels y: {classes (tensor of y's dtype, or a sorted Lua array of
-- strings), codes (int64, 0-based), K, strings = bool}.
local function encode_y(self, y, n, method, argn)
    local fn = fname(self, method)
    argn = argn or 2
    if is_array(y) then
        local all_num, all_str = true, true
        for i = 1, #y do
            local t = type(y[i])
            all_num = all_num and t == "number"
            all_str = all_str and t == "string"
        end
        if #y > 0 and all_num then
            local int = true
            for i = 1, #y do int = int and math.type(y[i]) == "integer" end
            y = mf.tensor(y, int and "int64" or "float64")
        elseif all_str then
            if #y ~= n then
                argerror(argn, fn, ("y has %d labels, X has %d rows"):format(#y, n), 3)
            end
            local seen, levels = {}, {}
            for i = 1, #y do
                if y[i] == mf.data.NA then argerror(argn, fn, ("missing label at %d"):format(i), 3) end
                if not seen[y[i]] then seen[y[i]] = true levels[#levels + 1] = y[i] end
            end
            table.sort(levels)
            local pos = {}
            for k, v in ipairs(levels) do pos[v] = k - 1 end
            local codes = {}
            for i = 1, #y do codes[i] = pos[y[i]] end
            return {classes = levels, codes = mf.tensor(codes, "int64"), K = #levels,
                    strings = true, pos = pos}
        else
            argerror(argn, fn, "labels expected (a 1-D tensor or an array of strings or numbers)", 3)
        end
    end
    if not is_tensor(y) then
        argerror(argn, fn, "labels expected (a 1-D tensor or an array of strings), got "
                 .. typename(y), 3)
    end
    if y:dim() ~= 1 then argerror(argn, fn, ("1-D tensor expected, got %d-D"):format(y:dim()), 3) end
    if y:size(1) ~= n then
        argerror(argn, fn, ("y has %d labels, X has %d rows"):format(y:size(1), n), 3)
    end
    if y:dtype() == "float32" or y:dtype() == "float64" then
        local bad = y:isnan():any():item()
        if bad then argerror(argn, fn, "y contains NaN", 3) end
    end
    local classes, codes = core._cls_encode(y)
    return {classes = classes:to(y:dtype()), codes = codes, K = classes:size(1), strings = false}
end

-- The predicted labels for 0-based class indices idx.
local function labels_of(self, idx)
    if self._strings then
        local t, out, cl = idx:totable(), {}, self.classes
        for i = 1, #t do out[i] = cl[t[i] + 1] end
        return out
    end
    return self.classes:index(1, idx + 1)
end

local function accuracy(self, pred, y, n)
    local fn = fname(self, "score")
    if self._strings then
        if not is_array(y) or #y ~= n then
            argerror(2, fn, ("an array of %d string labels expected"):format(n), 3)
        end
        local hit = 0
        for i = 1, n do if pred[i] == y[i] then hit = hit + 1 end end
        return hit / n
    end
    if is_array(y) then y = mf.tensor(y, "float64") end
    if not is_tensor(y) or y:dim() ~= 1 or y:size(1) ~= n then
        argerror(2, fn, ("1-D tensor of %d labels expected"):format(n), 3)
    end
    return pred:to("float64"):eq(y:to("float64")):to("float64"):mean():item()
end

local function label_str(v)
    if type(v) == "string" then return "'" .. v .. "'" end
    return tostring(v)
end

-- Sample weights from class_weight (nil when all are 1).
local function sample_weights(self, enc)
    local cw = self.class_weight
    if cw == nil then return nil end
    local n = enc.codes:size(1)
    local w
    if cw == "balanced" then
        local counts = core._prep_bincount(enc.codes, enc.K):to("float64")
        w = (counts * enc.K):pow(-1) * n
    else
        local vals = {}
        for k = 1, enc.K do vals[k] = 1.0 end
        local lab = enc.strings and enc.classes or enc.classes:totable()
        local index = {}
        for k, v in ipairs(lab) do index[v] = k end
        for key, v in pairs(cw) do
            local k = index[key]
            if not k and type(key) == "number" then
                for kk, lv in ipairs(lab) do if lv == key then k = kk end end
            end
            if not k then
                argerror(1, self._cls, ("class_weight: label %s is not a class of y (classes: %s)")
                         :format(label_str(key), table.concat(lab, ", ", 1, math.min(#lab, 20))), 4)
            end
            vals[k] = v
        end
        w = mf.tensor(vals, "float64")
    end
    return w:index(1, enc.codes + 1):contiguous()
end

-- Checks the class_weight option: nil, "balanced" or {label = weight >= 0}.
local function check_class_weight(self)
    local cw = self.class_weight
    if cw ~= nil and cw ~= "balanced" then
        if type(cw) ~= "table" or is_tensor(cw) then
            opt_error(self, "class_weight must be nil, \"balanced\" or a table {label = weight}, got "
                      .. typename(cw))
        end
        for k, v in pairs(cw) do
            if type(v) ~= "number" or not (v >= 0) or v == math.huge then
                opt_error(self, ("class_weight: weight of %s must be a finite number >= 0")
                          :format(label_str(k)))
            end
        end
    end
end

C.col_label, C.as_matrix, C.predict_input, C.is_array = col_label, as_matrix, predict_input, is_array
C.encode_y, C.labels_of, C.accuracy = encode_y, labels_of, accuracy
C.sample_weights, C.check_class_weight = sample_weights, check_class_weight

return C
