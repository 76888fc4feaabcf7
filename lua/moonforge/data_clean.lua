-- moonforge.data_clean: the cleaning functions of mf.data (dropna, fillna,
-- drop_duplicates, clip_outliers, cast, replace, str_strip, str_lower,
-- str_upper) and mf.data.get_dummies.
-- Installed into mf.data (M) and the Table methods by data.lua; I holds
-- data.lua's private helpers.
--
-- Every cleaning method returns a new Table and, as a second value, a
-- record of what it changed (see `changes_mt`); the input is never modified
-- and columns that do not change are shared, not copied. All work on rows
-- is done with tensor ops on whole columns; Lua loops run over columns or
-- over the levels of a string column, never over rows.
return function(M, I)
local mf = require "moonforge"
local core = require "moonforge.core"

local Table, NA = I.Table, I.NA
local argerror, new_table, state = I.argerror, I.new_table, I.state
local check_column, check_options, dtype_of = I.check_column, I.check_options, I.dtype_of
local function copy_names(s) return table.move(s.names, 1, #s.names, 1, {}) end
local is_tensor = mf.is_tensor
local nan = 0 / 0

---------------------------------------------------------------- the change record
-- Every cleaning method returns (new_table, changes). `changes` is a plain
-- table with `op` (the method's name), `rows_before`, `rows_after` and the
-- method's own fields (documented in docs/cleaning.md); tostring() gives a
-- readable summary, one line plus indented details.
local changes_mt = {__name = "moonforge.Changes"}

function changes_mt.__tostring(c)
    local lines = {c.op .. ": " .. c.summary}
    for _, d in ipairs(c.details) do lines[#lines + 1] = "  " .. d end
    return table.concat(lines, "\n")
end

local function changes(op, s_before, nrows_after, fields)
    fields.op = op
    fields.rows_before = s_before.nrows
    fields.rows_after = nrows_after
    fields.details = fields.details or {}
    return setmetatable(fields, changes_mt)
end

local function plural(n, word)
    return ("%d %s%s"):format(n, word, n == 1 and "" or "s")
end

-- "a 3, b 1" for the columns of `names` with a nonzero count in `counts`.
local function count_list(names, counts)
    local parts = {}
    for _, name in ipairs(names) do
        if (counts[name] or 0) > 0 then parts[#parts + 1] = ("%s %d"):format(name, counts[name]) end
    end
    return table.concat(parts, ", ")
end

---------------------------------------------------------------- helpers

-- A new Table with the columns of s, some of them replaced by `repl`.
local function with_columns(s, repl, names)
    names = names or copy_names(s)
    local cols = {}
    for _, name in ipairs(names) do
        local c = repl[name]
        if c == nil then c = s.cols[name] end
        cols[name] = c
    end
    return new_table(names, cols, s.nrows, nil)
end

-- The storage tensor of a column (a string column's codes).
local function data_of(col) return is_tensor(col) and col or col.codes end

-- A Table of the rows idx (an int64 tensor of 1-based rows) of every column,
-- gathered by one C kernel (core/mf_clean.c) in parallel.
local function take_fast(s, idx)
    local data = {}
    for i, name in ipairs(s.names) do data[i] = data_of(s.cols[name]) end
    local outs = core._clean_take(data, s.nrows, idx)
    local cols = {}
    for i, name in ipairs(s.names) do
        local c = s.cols[name]
        cols[name] = is_tensor(c) and outs[i] or {codes = outs[i], levels = c.levels}
    end
    return new_table(copy_names(s), cols, idx:size(1), nil)
end

-- The rows where the bool mask is true.
local function keep_rows(s, mask) return take_fast(s, core._clean_mask_rows(mask)) end

-- The 1-based row of the first true entry of a bool mask (which has one).
local function first_true(mask)
    return mask:argmax():item()
end

-- A column list argument: nil (-> nil), a name, or an array of names, each
-- checked; duplicates are an error.
local function column_list(s, v, fname, argn, what, level)
    level = (level or 2) + 1
    if v == nil then return nil end
    if type(v) == "string" then v = {v} end
    if type(v) ~= "table" or is_tensor(v) then
        argerror(argn, fname, ("%s must be a column name or a list of names, got %s")
                 :format(what, is_tensor(v) and "tensor" or type(v)), level)
    end
    local seen, out = {}, {}
    for i = 1, #v do
        check_column(s, v[i], fname, argn, level)
        if seen[v[i]] then argerror(argn, fname, ("column '%s' listed twice"):format(v[i]), level) end
        seen[v[i]] = true
        out[i] = v[i]
    end
    for k in pairs(v) do
        if math.type(k) ~= "integer" or k < 1 or k > #v then
            argerror(argn, fname, what .. " must be an array of column names", level)
        end
    end
    return out
end

-- The missing mask of a column (nil when its dtype cannot hold missing).
local function missing_mask(col)
    if not is_tensor(col) then return col.codes:eq(0) end
    if col:dtype() == "float64" or col:dtype() == "float32" then return col:isnan() end
    return nil
end

local function is_string_col(col) return not is_tensor(col) end

-- The shortest text that reads back as the same double ("2.0", "0.1", "1e+20").
local function number_text(v)
    if v == math.huge then return "inf" elseif v == -math.huge then return "-inf" end
    local s
    for p = 15, 17 do
        s = ("%." .. p .. "g"):format(v)
        if tonumber(s) == v then break end
    end
    if not s:find("[.eEn]") then s = s .. ".0" end
    return s
end

local function value_text(v)
    if v == NA then return "NA" end
    if type(v) == "string" then return ("%q"):format(v) end
    if math.type(v) == "float" then
        if v ~= v then return "NaN" end
        return number_text(v)
    end
    return tostring(v)
end

-- A string column whose levels are renamed: newtext[k] is the new text of
-- level k (a string, or NA to make those cells missing); nil keeps it.
-- `na_text` (optional) is the text given to missing cells. Levels that
-- become equal are merged (first one's position wins); returns the new
-- column and the number of cells whose value changed.
local function remap_levels(col, newtext, na_text)
    local levels, n = col.levels, #col.levels
    local out_levels, index, lut = {}, {}, {}
    local function code_of(text)
        if text == NA then return 0 end
        local c = index[text]
        if not c then
            out_levels[#out_levels + 1] = text
            c = #out_levels
            index[text] = c
        end
        return c
    end
    if na_text == nil and next(newtext) == nil then return col, 0 end
    local changed_level = {}
    lut[1] = na_text ~= nil and code_of(na_text) or 0
    for k = 1, n do
        local t = newtext[k]
        if t == nil then t = levels[k] end
        lut[k + 1] = code_of(t)
        changed_level[k] = t ~= levels[k]
    end
    local counts = mf.bincount(col.codes, {minlength = n + 1})
    local changed = 0
    if na_text ~= nil then changed = changed + counts[1] end
    for k = 1, n do
        if changed_level[k] then changed = changed + counts[k + 1] end
    end
    if changed == 0 then return col, 0 end
    local codes = core._clean_take({mf.tensor(lut, "int64")}, n + 1, col.codes + 1)[1]
    return {codes = codes, levels = out_levels}, changed
end

---------------------------------------------------------------- dropna
--- Rows without missing values (pandas' DataFrame.dropna): opts.subset
-- (columns to look at, default all), how = "any" (drop a row with any
-- missing) or "all" (only when all are missing), or thresh = n (keep the
-- rows with at least n non-missing values in the subset).
function Table.dropna(tbl, opts)
    local s = state(tbl, "dropna")
    opts = check_options(opts, "dropna", 2, {"subset", "how", "thresh"})
    local names = column_list(s, opts.subset, "dropna", 2, "option 'subset'") or copy_names(s)
    local how, thresh = opts.how, opts.thresh
    if how ~= nil and how ~= "any" and how ~= "all" then
        argerror(2, "dropna", "option 'how' must be \"any\" or \"all\", got " .. value_text(how))
    end
    if thresh ~= nil then
        if how ~= nil then argerror(2, "dropna", "options 'how' and 'thresh' cannot be combined") end
        if math.type(thresh) ~= "integer" or thresh < 0 then
            argerror(2, "dropna", "option 'thresh' must be a non-negative integer, got " .. value_text(thresh))
        end
    end
    how = how or "any"
    -- missing cells per row, over the subset's columns that can miss
    local data, all_can = {}, #names > 0
    for _, name in ipairs(names) do
        local col = s.cols[name]
        if missing_mask(col) ~= nil then data[#data + 1] = data_of(col) else all_can = false end
    end
    local drop -- bool mask of the rows to drop, nil when none can be
    if thresh and thresh > #names then
        drop = mf.ones(s.nrows, "bool")
    elseif #data > 0 then
        local nmiss = core._clean_row_missing(data, s.nrows)
        if thresh then
            drop = nmiss:gt(#names - thresh)
        elseif how == "any" then
            drop = nmiss:gt(0)
        elseif all_can then
            drop = nmiss:eq(#names)
        end
    end
    local out
    local ndrop = drop and drop:sum():item() or 0
    if ndrop == 0 then
        out = with_columns(s, {})
    else
        out = keep_rows(s, drop:logical_not())
    end
    local rule = thresh and ("thresh " .. thresh) or ("how " .. how)
    local scope = opts.subset and ("subset " .. table.concat(names, ", ")) or "all columns"
    return out, changes("dropna", s, #out, {
        dropped = ndrop,
        summary = ("%s of %d dropped (%s, %s)"):format(plural(ndrop, "row"), s.nrows, rule, scope),
    })
end

---------------------------------------------------------------- fillna
local STRATEGIES = {mean = true, median = true, mode = true, ffill = true, bfill = true}

-- Mean and population std (ddof 0) of the non-missing values of column x;
-- NaN when there are none (one C pass pair, core/mf_clean.c).
local function moments(x)
    local _, mean, std = core._clean_moments(x)
    return mean, std
end

-- The most frequent value (ties: the smallest, as pandas' mode()[0]);
-- NaN / NA when the column has no values.
local function mode_of(col)
    if is_string_col(col) then
        local n = #col.levels
        local counts = mf.bincount(col.codes, {minlength = n + 1}):totable()
        local best, bestn = NA, 0
        for k = 1, n do
            local c = counts[k + 1]
            if c > bestn or (c == bestn and c > 0 and col.levels[k] < best) then
                best, bestn = col.levels[k], c
            end
        end
        return best
    end
    -- group equal values by hashing (NaN is one group), count each group
    local n = col:size(1)
    local ids, ng, first = core._rows_factorize({col})
    local values = core._clean_take({col}, n, first)[1]
    local counts = mf.bincount(ids, {minlength = ng + 1}):narrow(1, 2, ng)
    counts = mf.where(values:isnan(), -1, counts)
    local best = counts:amax():item()
    if best < 1 then return nan end
    return values:index(1, counts:eq(best)):amin():item()
end

-- The fill value of one column checked against its dtype.
local function check_fill_value(s, name, v, argn)
    local col = s.cols[name]
    if is_string_col(col) then
        if type(v) ~= "string" then
            argerror(argn, "fillna", ("column '%s' holds strings: fill value %s must be a string")
                     :format(name, value_text(v)), 3)
        end
    elseif type(v) ~= "number" then
        argerror(argn, "fillna", ("column '%s' is %s: fill value %s must be a number")
                 :format(name, dtype_of(col), value_text(v)), 3)
    elseif v ~= v then
        argerror(argn, "fillna", ("column '%s': the fill value is NaN"):format(name), 3)
    end
end

-- The column filled with constant v where missing; returns it and the count.
local function fill_constant(col, v)
    local miss = missing_mask(col)
    if not miss then return col, 0 end
    local n = miss:sum():item()
    if n == 0 then return col, 0 end
    if is_string_col(col) then
        local newcol = remap_levels(col, {}, v)
        return newcol, n
    end
    return mf.where(miss, v, col), n
end

--- Fills missing values (pandas' fillna): `value` is a number (every float
-- column) or a string (every string column), a table {col = value} (each
-- value must match its column), or {strategy = "mean"|"median"|"mode"|
-- "ffill"|"bfill", subset = {...}}.
function Table.fillna(tbl, value)
    local s = state(tbl, "fillna")
    local names = copy_names(s)
    local repl, filled, left = {}, {}, {}
    local what
    local tv = type(value)
    if tv == "number" or tv == "string" then
        if value ~= value then argerror(2, "fillna", "the fill value is NaN") end
        for _, name in ipairs(names) do
            local col = s.cols[name]
            if (tv == "string") == is_string_col(col) then
                local n
                repl[name], n = fill_constant(col, value)
                if n > 0 then filled[name] = n end
            end
        end
        what = "value " .. value_text(value)
    elseif tv == "table" and not is_tensor(value) and value ~= NA
           and type(value.strategy) == "string" and STRATEGIES[value.strategy] then
        local opts = check_options(value, "fillna", 2, {"strategy", "subset"})
        local strategy = opts.strategy
        local numeric_only = strategy == "mean" or strategy == "median"
        local list = column_list(s, opts.subset, "fillna", 2, "option 'subset'")
        if list and numeric_only then
            for _, name in ipairs(list) do
                if is_string_col(s.cols[name]) then
                    argerror(2, "fillna", ("strategy '%s' needs numbers: column '%s' holds strings "
                             .. "(use strategy 'mode', 'ffill' or 'bfill', or a value)"):format(strategy, name))
                end
            end
        end
        list = list or names
        for _, name in ipairs(list) do
            local col = s.cols[name]
            local miss = missing_mask(col)
            if miss and not (numeric_only and is_string_col(col)) then
                local nmiss = miss:sum():item()
                if nmiss > 0 then
                    local newcol
                    if strategy == "ffill" or strategy == "bfill" then
                        local y, still = core._clean_fill(data_of(col), strategy == "bfill")
                        newcol = is_string_col(col) and {codes = y, levels = col.levels} or y
                        if still > 0 then left[name] = still end
                        if nmiss > still then filled[name] = nmiss - still end
                    else
                        local v
                        if strategy == "mean" then
                            v = moments(col)
                        elseif strategy == "median" then
                            v = core._clean_quantiles(col, {0.5})
                        else
                            v = mode_of(col)
                        end
                        if v == v and v ~= NA then
                            newcol, filled[name] = fill_constant(col, v)
                        else
                            left[name] = nmiss -- no value to fill with
                        end
                    end
                    repl[name] = newcol
                end
            end
        end
        what = "strategy " .. strategy
    elseif tv == "table" and not is_tensor(value) and value ~= NA then
        for k, v in pairs(value) do
            check_column(s, k, "fillna", 2)
            check_fill_value(s, k, v, 2)
        end
        for _, name in ipairs(names) do
            if value[name] ~= nil then
                local n
                repl[name], n = fill_constant(s.cols[name], value[name])
                if n > 0 then filled[name] = n end
            end
        end
        what = "per-column values"
    else
        argerror(2, "fillna", "a number, a string, a table {col = value} or {strategy = ...} expected, got "
                 .. (is_tensor(value) and "tensor" or value == NA and "mf.data.NA" or tv))
    end
    local total = 0
    for _, n in pairs(filled) do total = total + n end
    local details = {}
    if total > 0 then details[1] = "filled: " .. count_list(names, filled) end
    local nleft = 0
    for _, n in pairs(left) do nleft = nleft + n end
    if nleft > 0 then
        local why = (what == "strategy ffill" or what == "strategy bfill") and "nothing to copy from"
                    or "no value to compute"
        details[#details + 1] = ("still missing (%s): %s"):format(why, count_list(names, left))
    end
    return with_columns(s, repl), changes("fillna", s, s.nrows, {
        filled = filled, total = total, left = left, details = details,
        summary = ("%s filled (%s)"):format(plural(total, "cell"), what),
    })
end

---------------------------------------------------------------- drop_duplicates
--- The rows that are not repeats of an earlier (keep = "first", default)
-- or later (keep = "last") row; keep = false drops every row that has a
-- duplicate. opts.subset: the columns compared (default all). NaN equals
-- NaN and missing equals missing, as in pandas. The row order is kept.
function Table.drop_duplicates(tbl, opts)
    local s = state(tbl, "drop_duplicates")
    opts = check_options(opts, "drop_duplicates", 2, {"subset", "keep"})
    local names = column_list(s, opts.subset, "drop_duplicates", 2, "option 'subset'") or copy_names(s)
    local keep = opts.keep
    if keep == nil then keep = "first" end
    if keep ~= "first" and keep ~= "last" and keep ~= false then
        argerror(2, "drop_duplicates", "option 'keep' must be \"first\", \"last\" or false, got "
                 .. value_text(keep))
    end
    local out, ndrop
    if s.nrows == 0 or #names == 0 then
        out, ndrop = with_columns(s, {}), 0
        if #names == 0 and s.nrows > 1 then -- every row equals every other on no columns
            if keep == false then
                out = take_fast(s, mf.zeros(0, "int64"))
            else
                out = take_fast(s, mf.tensor({keep == "first" and 1 or s.nrows}, "int64"))
            end
            ndrop = s.nrows - #out
        end
    else
        local cols = {}
        for i, name in ipairs(names) do
            local c = s.cols[name]
            cols[i] = is_string_col(c) and c.codes or c
        end
        local _, _, first, last = core._rows_factorize(cols)
        local idx -- the rows kept, ascending
        if keep == "first" then
            idx = first -- groups are numbered in order of first appearance
        elseif keep == "last" then
            idx = core._clean_mask_rows(core._clean_mark_rows(s.nrows, last))
        else -- rows that are both the first and the last of their group
            idx = core._clean_mask_rows(mf.logical_and(core._clean_mark_rows(s.nrows, first),
                                                       core._clean_mark_rows(s.nrows, last)))
        end
        ndrop = s.nrows - idx:size(1)
        out = ndrop == 0 and with_columns(s, {}) or take_fast(s, idx)
    end
    local scope = opts.subset and ("subset " .. table.concat(names, ", ")) or "all columns"
    return out, changes("drop_duplicates", s, #out, {
        dropped = ndrop,
        summary = ("%s of %d dropped (keep %s, %s)"):format(plural(ndrop, "duplicate row"), s.nrows,
                                                            tostring(keep), scope),
    })
end

---------------------------------------------------------------- clip_outliers
--- Winsorizes numeric columns: values outside [q1 - k*IQR, q3 + k*IQR]
-- (method "iqr", k = 1.5) or mean -+ k*std (method "zscore", population
-- std, k = 3) are set to the nearest bound (action = "clip"), or the rows
-- holding one are dropped (action = "drop"). Missing values are ignored.
-- opts.cols defaults to the float64 columns; an int64 column named there
-- becomes float64 (as pandas' clip with float bounds).
function Table.clip_outliers(tbl, opts)
    local s = state(tbl, "clip_outliers")
    opts = check_options(opts, "clip_outliers", 2, {"cols", "method", "k", "action"})
    local method = opts.method or "iqr"
    if method ~= "iqr" and method ~= "zscore" then
        argerror(2, "clip_outliers", "option 'method' must be \"iqr\" or \"zscore\", got " .. value_text(method))
    end
    local k = opts.k
    if k == nil then k = method == "iqr" and 1.5 or 3 end
    if type(k) ~= "number" or not (k >= 0) or k == math.huge then
        argerror(2, "clip_outliers", "option 'k' must be a finite number >= 0, got " .. value_text(k))
    end
    local action = opts.action or "clip"
    if action ~= "clip" and action ~= "drop" then
        argerror(2, "clip_outliers", "option 'action' must be \"clip\" or \"drop\", got " .. value_text(action))
    end
    local list = column_list(s, opts.cols, "clip_outliers", 2, "option 'cols'")
    if list then
        for _, name in ipairs(list) do
            local dt = dtype_of(s.cols[name])
            if dt ~= "float64" and dt ~= "int64" then
                argerror(2, "clip_outliers", ("column '%s' is %s, not numeric"):format(name, dt))
            end
        end
    else
        list = {}
        for _, name in ipairs(s.names) do
            if dtype_of(s.cols[name]) == "float64" then list[#list + 1] = name end
        end
    end
    local repl, columns, details, total = {}, {}, {}, 0
    local outlier -- rows with an outlier (action "drop")
    for _, name in ipairs(list) do
        local x = s.cols[name]:to("float64")
        local lo, hi
        if method == "iqr" then
            local q1, q3 = core._clean_quantiles(x, {0.25, 0.75})
            lo, hi = q1 - k * (q3 - q1), q3 + k * (q3 - q1)
        else
            local mean, std = moments(x)
            lo, hi = mean - k * std, mean + k * std
        end
        local n = 0
        if lo == lo then
            local out = mf.logical_or(x:lt(lo), x:gt(hi))
            n = out:sum():item()
            if action == "drop" then
                if n > 0 then outlier = outlier and mf.logical_or(outlier, out) or out end
            else
                repl[name] = n > 0 and x:clamp(lo, hi) or x
            end
        elseif action == "clip" then
            repl[name] = x
        end
        columns[name] = {count = n, lower = lo, upper = hi}
        total = total + n
        details[#details + 1] = ("%s: %d outside [%.6g, %.6g]"):format(name, n, lo, hi)
    end
    local out, ndrop = nil, 0
    if action == "drop" then
        ndrop = outlier and outlier:sum():item() or 0
        out = ndrop > 0 and keep_rows(s, outlier:logical_not())
              or with_columns(s, {})
    else
        out = with_columns(s, repl)
    end
    local summary = action == "drop"
        and ("%s dropped (%d outlying values, %s, k %s)"):format(plural(ndrop, "row"), total, method, value_text(k))
        or ("%s clipped (%s, k %s)"):format(plural(total, "value"), method, value_text(k))
    return out, changes("clip_outliers", s, #out, {
        columns = columns, total = total, dropped = ndrop, method = method, k = k,
        summary = summary, details = details,
    })
end

---------------------------------------------------------------- cast
local CAST_DTYPES = {float64 = true, int64 = true, bool = true, string = true}
local BOOL_TEXT = {["true"] = true, ["True"] = true, TRUE = true,
                   ["false"] = false, ["False"] = false, FALSE = false}

-- A level parsed as the CSV reader parses numbers: [+-]digits[.digits]
-- [e[+-]digits], ".5", "5.", or inf/infinity in any case (no spaces, no hex).
local function parse_number(text)
    local body = text:match("^[+-]?(.*)$")
    local lower = body:lower()
    if lower == "inf" or lower == "infinity" then
        return text:sub(1, 1) == "-" and -math.huge or math.huge
    end
    local mant, exp = body:match("^([%d.]+)(.*)$")
    if not mant or not (mant:match("^%d+%.?%d*$") or mant:match("^%.%d+$")) then return nil end
    if exp ~= "" and not exp:match("^[eE][+-]?%d+$") then return nil end
    return tonumber(text)
end

local INT_LIMIT = 2.0 ^ 63

local function cast_error(name, to, row, why)
    argerror(2, "cast", ("cannot cast column '%s' to %s: row %d %s"):format(name, to, row, why), 4)
end

-- Checks that every value of numeric tensor x fits dtype `to` exactly.
local function check_numeric_cast(name, x, to)
    local from = x:dtype()
    local bad
    if to == "bool" then
        bad = mf.logical_and(x:ne(0), x:ne(1))
        if from == "float64" then bad = mf.logical_or(bad, x:isnan()) end
    elseif to == "int64" and from == "float64" then
        bad = mf.logical_or(x:isfinite():logical_not(), x:ne(x:floor()))
        bad = mf.logical_or(bad, mf.logical_or(x:ge(INT_LIMIT), x:lt(-INT_LIMIT)))
    elseif to == "float64" and from == "int64" then
        -- beyond 2^53 not every integer is a double: check those few exactly
        local big = mf.logical_or(x:gt(1 << 53), x:lt(-(1 << 53)))
        if big:any():item() then
            local rows = core._clean_mask_rows(big):totable()
            for _, r in ipairs(rows) do
                local v = x[r]
                local f = v + 0.0
                if f >= INT_LIMIT or math.tointeger(f) ~= v then
                    cast_error(name, to, r, ("holds %d, which float64 cannot represent exactly"):format(v))
                end
            end
        end
    end
    if bad and bad:any():item() then
        local r = first_true(bad)
        local v = x[r]
        if math.type(v) == "float" and v ~= v then
            cast_error(name, to, r, "is missing (NaN): fill or drop missing values first")
        end
        cast_error(name, to, r, ("holds %s, which %s cannot hold"):format(value_text(v), to))
    end
end

-- A string column whose levels are the texts of x's distinct values.
local function numeric_to_string(x)
    local dt = x:dtype()
    local miss = missing_mask(x)
    local present = miss and miss:logical_not()
    local vals = present and x:index(1, present) or x
    local codes = mf.zeros(x:size(1), "int64")
    local levels = {}
    if vals:numel() > 0 then
        local uniq, inverse = mf.unique(dt == "bool" and vals:to("int64") or vals, {return_inverse = true})
        for i, v in ipairs(uniq:totable()) do
            if dt == "bool" then levels[i] = v == 1 and "true" or "false"
            elseif dt == "int64" then levels[i] = ("%d"):format(v)
            else levels[i] = number_text(v) end
        end
        if present then -- missing rows keep code 0
            local rows = core._clean_mask_rows(present)
            codes = codes:scatter_add(1, rows, inverse)
        else
            codes = inverse
        end
    end
    return {codes = codes, levels = levels}
end

-- A string column parsed into dtype `to` (float64, int64 or bool).
local function string_to_numeric(name, col, to)
    local n = #col.levels
    local counts = mf.bincount(col.codes, {minlength = n + 1}):totable()
    local lut = {to == "float64" and nan or 0}
    local function first_row_of(code)
        return first_true(col.codes:eq(code))
    end
    if counts[1] > 0 and to ~= "float64" then
        cast_error(name, to, first_row_of(0), "is missing: fill or drop missing values first")
    end
    for k = 1, n do
        local text = col.levels[k]
        local v
        if to == "bool" then
            v = BOOL_TEXT[text]
            if v ~= nil then v = v and 1 or 0 end
        else
            v = parse_number(text)
            if v and to == "int64" then
                local iv = math.tointeger(v)
                if not iv and v == math.floor(v) and v > -INT_LIMIT and v < INT_LIMIT then
                    iv = math.tointeger(math.floor(v))
                end
                v = iv
            elseif v then
                v = v + 0.0
            end
        end
        if v == nil then
            if counts[k + 1] > 0 then
                cast_error(name, to, first_row_of(k), ("holds %s, which is not %s"):format(value_text(text),
                           to == "bool" and "true or false" or to == "int64" and "an integer" or "a number"))
            end
            v = 0
        end
        lut[k + 1] = v
    end
    local t = mf.tensor(lut, to == "bool" and "int64" or to):index(1, col.codes + 1)
    if to == "bool" then t = t:eq(1) end
    return t
end

--- Converts columns: {col = "float64"|"int64"|"bool"|"string"}. A value that
-- the new dtype cannot hold exactly (1.5 or NaN to int64, 2 to bool, "abc"
-- to float64) is an error naming the column, the row and the value.
function Table.cast(tbl, spec)
    local s = state(tbl, "cast")
    if type(spec) ~= "table" or is_tensor(spec) then
        argerror(2, "cast", "table {col = dtype} expected, got " .. (is_tensor(spec) and "tensor" or type(spec)))
    end
    for name, to in pairs(spec) do
        check_column(s, name, "cast", 2)
        if not CAST_DTYPES[to] then
            argerror(2, "cast", ("column '%s': unknown dtype %s (float64, int64, bool or string)")
                     :format(name, value_text(to)))
        end
    end
    local repl, done = {}, {}
    for _, name in ipairs(s.names) do
        local to = spec[name]
        if to then
            local col = s.cols[name]
            local from = dtype_of(col)
            if from ~= to then
                if from == "string" then
                    repl[name] = string_to_numeric(name, col, to)
                elseif to == "string" then
                    repl[name] = numeric_to_string(col)
                else
                    check_numeric_cast(name, col, to)
                    repl[name] = to == "bool" and col:ne(0) or col:to(to)
                end
                done[#done + 1] = ("%s %s -> %s"):format(name, from, to)
            end
        end
    end
    return with_columns(s, repl), changes("cast", s, s.nrows, {
        summary = #done > 0 and table.concat(done, ", ") or "nothing to convert",
        columns = #done,
    })
end

---------------------------------------------------------------- replace
-- The replacement of one numeric column by the pairs of `map`.
local function replace_numeric(name, col, map)
    local dt = col:dtype()
    local pairs_list = {}
    for from, to in pairs(map) do
        if dt == "bool" then
            if type(from) ~= "boolean" or type(to) ~= "boolean" then
                argerror(2, "replace", ("column '%s' is bool: %s = %s must map booleans to booleans")
                         :format(name, value_text(from), value_text(to)), 4)
            end
            from, to = from and 1 or 0, to and 1 or 0
        else
            if type(from) ~= "number" then
                argerror(2, "replace", ("column '%s' is %s: key %s must be a number (missing values: "
                         .. "use fillna)"):format(name, dt, value_text(from)), 4)
            end
            if to == NA then to = nan end
            if type(to) ~= "number" then
                argerror(2, "replace", ("column '%s' is %s: replacement %s for %s must be a number")
                         :format(name, dt, value_text(to), value_text(from)), 4)
            end
            if dt == "int64" and (to ~= to or to ~= math.floor(to) or to >= INT_LIMIT or to < -INT_LIMIT) then
                argerror(2, "replace", ("column '%s' is int64: replacement %s does not fit (cast the column "
                         .. "to float64 first)"):format(name, value_text(to)), 4)
            end
            if dt == "int64" then to = math.tointeger(to) end
        end
        pairs_list[#pairs_list + 1] = {from, to}
    end
    table.sort(pairs_list, function(a, b) return a[1] < b[1] end)
    local x = dt == "bool" and col:to("int64") or col
    local out, n = x, 0
    for _, p in ipairs(pairs_list) do
        local mask = x:eq(p[1]) -- matched on the original values: no chaining
        local c = mask:sum():item()
        if c > 0 then
            n = n + c
            out = mf.where(mask, p[2], out)
        end
    end
    if n == 0 then return col, 0 end
    if dt == "bool" then out = out:ne(0) end
    return out, n
end

--- Replaces values: {col = {from = to, ...}}. Numbers in numeric columns
-- (to = mf.data.NA or NaN makes a float64 cell missing), booleans in bool
-- columns, strings in string columns, where [mf.data.NA] = "text" fills the
-- missing cells and from = mf.data.NA makes cells missing. All pairs apply
-- to the original values (no chaining: {a = "b", b = "c"} swaps nothing twice).
function Table.replace(tbl, spec)
    local s = state(tbl, "replace")
    if type(spec) ~= "table" or is_tensor(spec) then
        argerror(2, "replace", "table {col = {from = to}} expected, got " .. (is_tensor(spec) and "tensor" or type(spec)))
    end
    for name, map in pairs(spec) do
        check_column(s, name, "replace", 2)
        if type(map) ~= "table" or is_tensor(map) or map == NA then
            argerror(2, "replace", ("column '%s': table {from = to} expected, got %s"):format(name, type(map)))
        end
    end
    local repl, counts, total = {}, {}, 0
    for _, name in ipairs(s.names) do
        local map = spec[name]
        if map then
            local col = s.cols[name]
            local out, n
            if is_string_col(col) then
                local index = {}
                for k, lv in ipairs(col.levels) do if not index[lv] then index[lv] = k end end
                local newtext, na_text = {}, nil
                for from, to in pairs(map) do
                    if (type(from) ~= "string" and from ~= NA) or (type(to) ~= "string" and to ~= NA) then
                        argerror(2, "replace", ("column '%s' holds strings: %s = %s must map strings "
                                 .. "(or mf.data.NA) to strings (or mf.data.NA)")
                                 :format(name, value_text(from), value_text(to)))
                    end
                    if from == NA then
                        if to ~= NA then na_text = to end
                    elseif index[from] then
                        for k, lv in ipairs(col.levels) do if lv == from then newtext[k] = to end end
                    end
                end
                out, n = remap_levels(col, newtext, na_text)
            else
                out, n = replace_numeric(name, col, map)
            end
            repl[name], counts[name] = out, n
            total = total + n
        end
    end
    local details = {}
    if total > 0 then details[1] = "replaced: " .. count_list(s.names, counts) end
    return with_columns(s, repl), changes("replace", s, s.nrows, {
        replaced = counts, total = total, details = details,
        summary = plural(total, "cell") .. " replaced",
    })
end

---------------------------------------------------------------- string methods
local function string_method(fname, op)
    return function(tbl, cols)
        local s = state(tbl, fname)
        local list = column_list(s, cols, fname, 2, "columns")
        if list then
            for _, name in ipairs(list) do
                if not is_string_col(s.cols[name]) then
                    argerror(2, fname, ("column '%s' is %s, not a string column")
                             :format(name, dtype_of(s.cols[name])))
                end
            end
        else
            list = {}
            for _, name in ipairs(s.names) do
                if is_string_col(s.cols[name]) then list[#list + 1] = name end
            end
        end
        local repl, counts, total = {}, {}, 0
        for _, name in ipairs(list) do
            local col = s.cols[name]
            local newtext = core._clean_str_map(col.levels, op) -- only the changed levels
            repl[name], counts[name] = remap_levels(col, newtext)
            total = total + counts[name]
        end
        local details = {}
        if total > 0 then details[1] = "changed: " .. count_list(s.names, counts) end
        return with_columns(s, repl), changes(fname, s, s.nrows, {
            changed = counts, total = total, details = details,
            summary = plural(total, "cell") .. " changed",
        })
    end
end

--- Leading and trailing whitespace removed from string columns (default:
-- all of them); values that become equal are merged.
Table.str_strip = string_method("str_strip", "strip")
--- Lower / upper case (ASCII letters only) of string columns.
Table.str_lower = string_method("str_lower", "lower")
Table.str_upper = string_method("str_upper", "upper")

---------------------------------------------------------------- get_dummies
--- One-hot encoding of string columns (pandas' get_dummies): each column
-- of opts.columns (default: every string column) is replaced by one bool
-- column per distinct value, named "<col>_<value>", in sorted value order,
-- appended after the other columns. A missing cell is false in all of them.
function M.get_dummies(tbl, opts)
    local s = state(tbl, "get_dummies")
    if getmetatable(opts) == changes_mt then
        argerror(2, "get_dummies", "option table expected, got the change record of a cleaning method "
                 .. "(keep only the table: get_dummies((tbl:dropna()), opts))")
    end
    opts = check_options(opts, "get_dummies", 2, {"columns", "prefix_sep"})
    local sep = opts.prefix_sep or "_"
    if type(sep) ~= "string" then
        argerror(2, "get_dummies", "option 'prefix_sep' must be a string, got " .. type(sep))
    end
    local list = column_list(s, opts.columns, "get_dummies", 2, "option 'columns'")
    if list then
        for _, name in ipairs(list) do
            if not is_string_col(s.cols[name]) then
                argerror(2, "get_dummies", ("column '%s' is %s: get_dummies encodes string columns (cast it "
                         .. "to string first)"):format(name, dtype_of(s.cols[name])))
            end
        end
    else
        list = {}
        for _, name in ipairs(s.names) do
            if is_string_col(s.cols[name]) then list[#list + 1] = name end
        end
    end
    local encoded = {}
    for _, name in ipairs(list) do encoded[name] = true end
    local names, cols = {}, {}
    for _, name in ipairs(s.names) do
        if not encoded[name] then
            names[#names + 1] = name
            cols[name] = s.cols[name]
        end
    end
    for _, name in ipairs(list) do
        local col = s.cols[name]
        local counts = mf.bincount(col.codes, {minlength = #col.levels + 1}):totable()
        local present = {}
        for k, lv in ipairs(col.levels) do
            if counts[k + 1] > 0 then present[#present + 1] = {lv, k} end
        end
        table.sort(present, function(a, b) return a[1] < b[1] end)
        for _, p in ipairs(present) do
            local cname = name .. sep .. p[1]
            if cols[cname] ~= nil then
                argerror(1, "get_dummies", ("column '%s' already exists"):format(cname))
            end
            names[#names + 1] = cname
            cols[cname] = col.codes:eq(p[2])
        end
    end
    return new_table(names, cols, s.nrows, nil)
end

M._changes_mt = changes_mt
end
