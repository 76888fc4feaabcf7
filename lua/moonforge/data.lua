--- moonforge.data (mf.data): CSV files into columnar Tables.
--
--     local tbl = mf.data.read_csv("sensors.csv")
--
-- A Table holds named columns of one length: float64 (missing = NaN), int64
-- and bool tensors, and string columns stored as int64 codes into a list of
-- levels (code 0 = missing). String columns read back as Lua arrays of
-- strings, with mf.data.NA for a missing cell (never a hole in the array).
local mf = require "moonforge"
local core = require "moonforge.core"

local check_options = mf.nn.check_options
local is_tensor = mf.is_tensor

local M = {}

--- The missing-string sentinel: a unique value that prints as "NA".
M.NA = setmetatable({}, {__tostring = function() return "NA" end, __name = "moonforge.NA",
                         __newindex = function() error("mf.data.NA is read-only", 2) end})

M._read_csv = core._read_csv

local Table = {}
local S = {} -- private key: rawget(tbl, S) is the table's state

local function argerror(argn, fname, msg, level)
    error(("bad argument #%d to '%s' (%s)"):format(argn, fname, msg), (level or 2) + 1)
end

local function new_table(names, cols, nrows, report)
    return setmetatable({[S] = {names = names, cols = cols, nrows = nrows, report = report}}, Table)
end

local function state(tbl, fname)
    local s = type(tbl) == "table" and rawget(tbl, S)
    if not s then argerror(1, fname, "Table expected, got " .. type(tbl), 2) end
    return s
end

local function dtype_of(col)
    if is_tensor(col) then return col:dtype() end
    return "string"
end

local function check_column(s, name, fname, argn, level)
    if type(name) ~= "string" or s.cols[name] == nil then
        argerror(argn, fname, ("unknown column '%s' (columns: %s)")
                 :format(tostring(name), table.concat(s.names, ", ")), (level or 2) + 1)
    end
    return s.cols[name]
end

-- A column's values as a Lua array (strings with NA for missing).
local function string_values(col, first, last)
    local out, levels, codes = {}, col.levels, col.codes
    for i = first, last do
        local c = codes[i]
        out[#out + 1] = c == 0 and M.NA or levels[c]
    end
    return out
end

---------------------------------------------------------------- reading
local read_opts = {"sep", "header", "na_values", "skip_rows", "max_rows", "on_bad_lines", "usecols", "dtypes"}
local chunk_opts = {"sep", "header", "na_values", "skip_rows", "on_bad_lines", "usecols", "dtypes"}
local csv_types = {float64 = true, int64 = true, bool = true, string = true}

local report_mt = {}
report_mt.__index = report_mt

function report_mt.__tostring(r)
    local lines = {("%d rows, %d bad lines skipped"):format(r.rows, r.bad_lines)}
    if r.bad_lines > 0 then
        lines[1] = lines[1] .. " (lines " .. table.concat(r.bad_line_numbers, ", ")
                   .. (r.bad_lines > #r.bad_line_numbers and ", ..." or "") .. ")"
    end
    for _, name in ipairs(r.names) do
        local c = r.columns[name]
        local line = ("  %s (%s): %d missing"):format(name, c.dtype, c.missing)
        if c.coerced > 0 then
            line = line .. (", %d coerced to missing (lines %s%s)")
                :format(c.coerced, table.concat(c.coerced_lines, ", "),
                        c.coerced > #c.coerced_lines and ", ..." or "")
        end
        lines[#lines + 1] = line
    end
    return table.concat(lines, "\n")
end

-- A core error as the error of `fname` (argument errors keep their number).
local function csv_error(fname, err, level)
    local msg = tostring(err)
    if msg:find("^bad argument") then
        msg = msg:gsub("^(bad argument #%d+ to )'[^']*'", "%1'" .. fname .. "'")
    else
        msg = fname .. ": " .. msg
    end
    error(msg, level + 1)
end

-- usecols and dtypes against the file's column names: keep[j] and types[j]
-- by 1-based file position (nil when not given).
local function resolve_columns(fname, argn, names, opts)
    local index = {}
    for j, name in ipairs(names) do index[name] = j end
    local listing = table.concat(names, ", ")
    local keep, types
    if opts.usecols ~= nil then
        if type(opts.usecols) ~= "table" then
            argerror(argn, fname, "option 'usecols' must be an array of column names or positions", 3)
        end
        keep = {}
        for _, u in ipairs(opts.usecols) do
            local j
            if math.type(u) == "integer" then
                if u < 1 or u > #names then
                    argerror(argn, fname, ("usecols: no column %d (the file has %d columns: %s)")
                             :format(u, #names, listing), 3)
                end
                j = u
            elseif type(u) == "string" then
                j = index[u]
                if not j then
                    argerror(argn, fname, ("usecols: unknown column '%s' (columns: %s)"):format(u, listing), 3)
                end
            else
                argerror(argn, fname, "usecols: column names or positions expected, got " .. type(u), 3)
            end
            keep[j] = true
        end
    end
    if opts.dtypes ~= nil then
        if type(opts.dtypes) ~= "table" then
            argerror(argn, fname, "option 'dtypes' must be a table {column = type}", 3)
        end
        types = {}
        for name, ty in pairs(opts.dtypes) do
            local j = type(name) == "string" and index[name] or nil
            if not j then
                argerror(argn, fname, ("dtypes: unknown column '%s' (columns: %s)"):format(tostring(name), listing), 3)
            end
            if not csv_types[ty] then
                argerror(argn, fname, ("dtypes: column '%s': unknown type '%s' (float64, int64, bool or string)")
                         :format(name, tostring(ty)), 3)
            end
            types[j] = ty
        end
    end
    return keep, types
end

-- Opens the reader of read_csv / csv_chunks with usecols and dtypes applied.
local function open_csv(fname, argn, path, opts)
    local ok, rd = pcall(core._csv_open, path, opts)
    if not ok then csv_error(fname, rd, 3) end
    local ok2, err = pcall(function()
        local keep, types = resolve_columns(fname, argn, rd:names(), opts)
        rd:configure(keep, types)
    end)
    if not ok2 then
        rd:close()
        error(err, 3)
    end
    return rd
end

-- A Table from a raw core result; warns about coerced cells and bad lines.
local function csv_table(fname, path, opts, raw)
    local cols = {}
    for j, name in ipairs(raw.names) do cols[name] = raw.columns[j] end
    local report = raw.report
    report.names = raw.names
    setmetatable(report, report_mt)
    local parts = {}
    for _, name in ipairs(raw.names) do
        local c = report.columns[name]
        if c.coerced > 0 then parts[#parts + 1] = ("%s %d"):format(name, c.coerced) end
    end
    local msg = {}
    if #parts > 0 then
        msg[#msg + 1] = "cells coerced to missing: " .. table.concat(parts, ", ")
    end
    if report.bad_lines > 0 and opts.on_bad_lines == "warn" then
        msg[#msg + 1] = ("%d bad lines skipped (lines %s)")
            :format(report.bad_lines, table.concat(report.bad_line_numbers, ", "))
    end
    if #msg > 0 then
        mf.warn("%s: %s: %s (see tbl:report())", fname, path, table.concat(msg, "; "))
    end
    return new_table(raw.names, cols, raw.nrows, report)
end

--- Reads a CSV file into a Table (see docs/data.md for the options).
function M.read_csv(path, opts)
    if type(path) ~= "string" then argerror(1, "read_csv", "path must be a string, got " .. type(path)) end
    opts = check_options(opts, "read_csv", 2, read_opts)
    local rd = open_csv("read_csv", 2, path, opts)
    local ok, raw = pcall(rd.read_all, rd)
    rd:close()
    if not ok then csv_error("read_csv", raw, 2) end
    for _, col in ipairs(raw.columns) do
        if not is_tensor(col) then col.level_base = nil end
    end
    return csv_table("read_csv", path, opts, raw)
end

--- Iterates over a CSV file in Tables of at most `rows` rows:
--     for chunk in mf.data.csv_chunks(path, 100000) do ... end
-- The first chunk's inference (or opts.dtypes) fixes the column types; the
-- levels of a string column grow from chunk to chunk (codes stay valid).
function M.csv_chunks(path, rows, opts)
    if type(path) ~= "string" then argerror(1, "csv_chunks", "path must be a string, got " .. type(path)) end
    if math.type(rows) ~= "integer" or rows < 1 then
        argerror(2, "csv_chunks", "rows must be an integer >= 1, got " .. tostring(rows))
    end
    opts = check_options(opts, "csv_chunks", 3, chunk_opts)
    local rd = open_csv("csv_chunks", 3, path, opts)
    local levels = {} -- column name -> all levels so far
    local done = false
    local function next_chunk()
        if done then return nil end
        local ok, raw = pcall(rd.next, rd, rows)
        if not ok or raw == nil then
            done = true
            rd:close()
            if not ok then csv_error("csv_chunks", raw, 2) end
            return nil
        end
        for j, name in ipairs(raw.names) do
            local col = raw.columns[j]
            if not is_tensor(col) then
                local all = levels[name] or {}
                levels[name] = all
                table.move(col.levels, 1, #col.levels, col.level_base + 1, all)
                col.levels = table.move(all, 1, #all, 1, {})
                col.level_base = nil
            end
        end
        return csv_table("csv_chunks", path, opts, raw)
    end
    -- the reader is the loop's closing value: a loop left early closes the file
    return next_chunk, nil, nil, rd
end

---------------------------------------------------------------- construction
local function column_from_value(v, name, fname, argn)
    argn = argn or 1
    if is_tensor(v) then
        if v:dim() ~= 1 then
            argerror(argn, fname, ("column '%s' must be a 1-D tensor, got %d dims"):format(name, v:dim()), 3)
        end
        local dt = v:dtype()
        if dt ~= "float64" and dt ~= "int64" and dt ~= "bool" then v = v:to("float64") end
        return v, v:size(1)
    end
    if type(v) ~= "table" then
        argerror(argn, fname, ("column '%s' must be a tensor or an array, got %s"):format(name, type(v)), 3)
    end
    local n = #v
    local kind -- "string", "number", "boolean"
    for i = 1, n do
        local x = v[i]
        local k = x == M.NA and "string" or type(x)
        if k ~= "string" and k ~= "number" and k ~= "boolean" then
            argerror(argn, fname, ("column '%s': element %d is a %s"):format(name, i, k), 3)
        end
        if kind and kind ~= k then
            argerror(argn, fname, ("column '%s' mixes %ss and %ss"):format(name, kind, k), 3)
        end
        kind = k
    end
    if kind == "string" then
        local codes, levels, index = {}, {}, {}
        for i = 1, n do
            local x = v[i]
            if x == M.NA then
                codes[i] = 0
            else
                if not index[x] then levels[#levels + 1] = x; index[x] = #levels end
                codes[i] = index[x]
            end
        end
        return {codes = mf.tensor(n > 0 and codes or {}, "int64"), levels = levels}, n
    elseif kind == "boolean" then
        return mf.tensor(v, "bool"), n
    end
    local all_int = true
    for i = 1, n do if math.type(v[i]) ~= "integer" then all_int = false break end end
    if n == 0 then return mf.zeros(0, "float64"), 0 end
    return mf.tensor(v, all_int and "int64" or "float64"), n
end

local function check_names(names, argn, fname)
    local seen = {}
    for i, name in ipairs(names) do
        if type(name) ~= "string" then
            argerror(argn, fname, ("column name %d must be a string, got %s"):format(i, type(name)), 3)
        end
        if seen[name] then argerror(argn, fname, ("duplicate column name '%s'"):format(name), 3) end
        seen[name] = true
    end
end

--- A Table from {name = tensor_or_array, ...}; columns sorted by name
-- unless opts.order lists them.
function M.from_columns(columns, opts)
    if type(columns) ~= "table" or is_tensor(columns) then
        argerror(1, "from_columns", "table of columns expected, got " .. type(columns))
    end
    opts = check_options(opts, "from_columns", 2, {"order"})
    local names = {}
    if opts.order then
        for _, name in ipairs(opts.order) do names[#names + 1] = name end
        check_names(names, 2, "from_columns")
        local listed = {}
        for _, name in ipairs(names) do
            if columns[name] == nil then
                argerror(2, "from_columns", ("order names column '%s', which is not given"):format(tostring(name)))
            end
            listed[name] = true
        end
        for name in pairs(columns) do
            if not listed[name] then
                argerror(2, "from_columns", ("column '%s' is missing from order"):format(tostring(name)))
            end
        end
    else
        for name in pairs(columns) do
            if type(name) ~= "string" then
                argerror(1, "from_columns", "column names must be strings, got " .. type(name))
            end
            names[#names + 1] = name
        end
        table.sort(names)
    end
    local cols, nrows = {}, nil
    for _, name in ipairs(names) do
        local col, n = column_from_value(columns[name], name, "from_columns")
        if nrows and n ~= nrows then
            argerror(1, "from_columns", ("column '%s' has %d rows, column '%s' has %d")
                     :format(name, n, names[1], nrows))
        end
        nrows = n
        cols[name] = col
    end
    return new_table(names, cols, nrows or 0, nil)
end

--- A Table from the columns of a 2-D tensor (float32 becomes float64).
function M.from_tensor(t, opts)
    if not is_tensor(t) or t:dim() ~= 2 then
        argerror(1, "from_tensor", "2-D tensor expected")
    end
    opts = check_options(opts, "from_tensor", 2, {"names"})
    local ncols = t:size(2)
    local names = {}
    if opts.names then
        for i, name in ipairs(opts.names) do names[i] = name end
        if #names ~= ncols then
            argerror(2, "from_tensor", ("%d names for %d columns"):format(#names, ncols))
        end
        check_names(names, 2, "from_tensor")
    else
        for j = 1, ncols do names[j] = "column_" .. j end
    end
    local cols = {}
    for j, name in ipairs(names) do
        cols[name] = column_from_value(t:select(2, j):contiguous():clone(), name, "from_tensor")
    end
    return new_table(names, cols, t:size(1), nil)
end

---------------------------------------------------------------- Table
Table.__name = "moonforge.Table"

function Table.__index(tbl, key)
    local m = Table[key]
    if m ~= nil and key ~= "__index" then return m end
    local s = rawget(tbl, S)
    if type(key) == "string" and s.cols[key] ~= nil then return Table.column(tbl, key) end
    return nil
end

function Table.__newindex(_, key)
    error(("cannot assign field '%s' of a Table"):format(tostring(key)), 2)
end

function Table.__len(tbl) return rawget(tbl, S).nrows end

--- {rows, cols}
function Table.shape(tbl)
    local s = state(tbl, "shape")
    return {s.nrows, #s.names}
end

--- Column names in order.
function Table.columns(tbl)
    local s = state(tbl, "columns")
    return table.move(s.names, 1, #s.names, 1, {})
end

--- name -> "float64" | "int64" | "bool" | "string"
function Table.dtypes(tbl)
    local s = state(tbl, "dtypes")
    local out = {}
    for _, name in ipairs(s.names) do out[name] = dtype_of(s.cols[name]) end
    return out
end

--- The column `name`: its tensor (shared, not copied), or for a string
-- column a new Lua array of strings (mf.data.NA for missing).
function Table.column(tbl, name)
    local s = state(tbl, "column")
    local col = check_column(s, name, "column", 2)
    if is_tensor(col) then return col end
    return string_values(col, 1, s.nrows)
end

--- What read_csv found (rows, bad lines, per column missing/coerced); prints
-- as text. nil for a Table not read from a file.
function Table.report(tbl)
    return state(tbl, "report").report
end

local function narrow_col(col, start, n)
    if is_tensor(col) then return col:narrow(1, start, n) end
    return {codes = col.codes:narrow(1, start, n), levels = col.levels}
end

--- The first n rows (default 5), as views of this table's columns.
function Table.head(tbl, n)
    local s = state(tbl, "head")
    n = n or 5
    if math.type(n) ~= "integer" or n < 0 then
        argerror(2, "head", "n must be a non-negative integer, got " .. tostring(n))
    end
    if n > s.nrows then n = s.nrows end
    local cols = {}
    for _, name in ipairs(s.names) do cols[name] = narrow_col(s.cols[name], 1, n) end
    return new_table(table.move(s.names, 1, #s.names, 1, {}), cols, n, nil)
end

local function subset(tbl, names)
    local s = rawget(tbl, S)
    local cols = {}
    for _, name in ipairs(names) do cols[name] = s.cols[name] end
    return new_table(names, cols, s.nrows, nil)
end

local function check_list(s, list, fname)
    if type(list) ~= "table" then argerror(2, fname, "list of column names expected, got " .. type(list), 3) end
    local seen = {}
    for _, name in ipairs(list) do
        check_column(s, name, fname, 2, 3)
        if seen[name] then argerror(2, fname, ("column '%s' listed twice"):format(name), 3) end
        seen[name] = true
    end
    return seen
end

--- A Table of the listed columns, in that order (columns shared, not copied).
function Table.select(tbl, list)
    local s = state(tbl, "select")
    check_list(s, list, "select")
    return subset(tbl, table.move(list, 1, #list, 1, {}))
end

--- A Table without the listed columns.
function Table.drop(tbl, list)
    local s = state(tbl, "drop")
    local gone = check_list(s, list, "drop")
    local names = {}
    for _, name in ipairs(s.names) do if not gone[name] then names[#names + 1] = name end end
    return subset(tbl, names)
end

--- The numeric columns (default: all) as a [rows x cols] tensor.
function Table.to_tensor(tbl, opts)
    local s = state(tbl, "to_tensor")
    opts = check_options(opts, "to_tensor", 2, {"columns", "dtype"})
    local names = opts.columns or s.names
    local dtype = opts.dtype or "float64"
    local parts = {}
    for _, name in ipairs(names) do
        local col = check_column(s, name, "to_tensor", 2)
        if not is_tensor(col) then
            argerror(2, "to_tensor", ("column '%s' holds strings (encode it to numbers first, "
                     .. "e.g. with a one-hot or ordinal encoder, or drop it)"):format(name))
        end
        parts[#parts + 1] = col:to(dtype)
    end
    if #parts == 0 then argerror(2, "to_tensor", "no columns") end
    return mf.stack(parts, 2)
end

local function fmt_cell(col, i)
    if not is_tensor(col) then
        local c = col.codes[i]
        return c == 0 and "NA" or col.levels[c]
    end
    local v = col[i]
    local dt = col:dtype()
    if dt == "float64" or dt == "float32" then
        if v ~= v then return "NaN" end
        return ("%.6g"):format(v)
    end
    return tostring(v)
end

local SHOW = 10 -- rows printed by tostring

--- An aligned text table: header, the first rows, "..." and the shape.
function Table.__tostring(tbl)
    local s = rawget(tbl, S)
    if #s.names == 0 then return ("[%d rows x 0 columns]"):format(s.nrows) end
    local n = math.min(s.nrows, SHOW)
    local cells, widths = {}, {}
    for j, name in ipairs(s.names) do
        local col = {name}
        widths[j] = utf8.len(name) or #name
        for i = 1, n do
            col[i + 1] = fmt_cell(s.cols[name], i)
            widths[j] = math.max(widths[j], utf8.len(col[i + 1]) or #col[i + 1])
        end
        cells[j] = col
    end
    local lines = {}
    for i = 1, n + 1 do
        local row = {}
        for j = 1, #s.names do
            local v = cells[j][i]
            row[j] = string.rep(" ", widths[j] - (utf8.len(v) or #v)) .. v
        end
        lines[i] = table.concat(row, "  ")
    end
    if s.nrows > n then lines[#lines + 1] = "..." end
    lines[#lines + 1] = ("[%d rows x %d columns]"):format(s.nrows, #s.names)
    return table.concat(lines, "\n")
end

---------------------------------------------------------------- row operations
local function take_col(col, idx)
    if is_tensor(col) then return col:index(1, idx) end
    return {codes = col.codes:index(1, idx), levels = col.levels}
end

-- A Table of the rows idx (an int64 tensor of 1-based row numbers).
local function take_rows(s, idx)
    local cols = {}
    for _, name in ipairs(s.names) do cols[name] = take_col(s.cols[name], idx) end
    return new_table(table.move(s.names, 1, #s.names, 1, {}), cols, idx:size(1), nil)
end

local function row_numbers(n) return mf.arange(1, n + 1, "int64") end

--- A Table with columns renamed by {old = new}.
function Table.rename(tbl, map)
    local s = state(tbl, "rename")
    if type(map) ~= "table" then argerror(2, "rename", "table {old = new} expected, got " .. type(map)) end
    for old, new in pairs(map) do
        check_column(s, old, "rename", 2)
        if type(new) ~= "string" then
            argerror(2, "rename", ("new name for '%s' must be a string, got %s"):format(old, type(new)))
        end
    end
    local names, cols = {}, {}
    for i, name in ipairs(s.names) do
        names[i] = map[name] or name
        cols[names[i]] = s.cols[name]
    end
    check_names(names, 2, "rename")
    return new_table(names, cols, s.nrows, nil)
end

--- The rows at the 1-based `indices` (an int64 tensor or a Lua array), in that order.
function Table.take(tbl, indices)
    local s = state(tbl, "take")
    local idx = indices
    if type(indices) == "table" and not is_tensor(indices) then
        for i = 1, #indices do
            if math.type(indices[i]) ~= "integer" then
                argerror(2, "take", ("index %d must be an integer, got %s"):format(i, tostring(indices[i])))
            end
        end
        idx = #indices > 0 and mf.tensor(indices, "int64") or mf.zeros(0, "int64")
    elseif not is_tensor(indices) or indices:dtype() ~= "int64" or indices:dim() ~= 1 then
        argerror(2, "take", "1-D int64 tensor or array of row numbers expected")
    end
    if idx:numel() > 0 then
        local lo, hi = idx:amin():item(), idx:amax():item()
        if lo < 1 or hi > s.nrows then
            argerror(2, "take", ("row %d out of range 1..%d"):format(lo < 1 and lo or hi, s.nrows))
        end
    end
    return take_rows(s, idx)
end

--- The rows where `pred` holds: a bool tensor of the table's length, or a
-- function called with a row {name = value} that returns true to keep it.
function Table.filter(tbl, pred)
    local s = state(tbl, "filter")
    if is_tensor(pred) then
        if pred:dtype() ~= "bool" or pred:dim() ~= 1 or pred:size(1) ~= s.nrows then
            argerror(2, "filter", ("mask must be a 1-D bool tensor of %d rows"):format(s.nrows))
        end
        return take_rows(s, row_numbers(s.nrows):index(1, pred))
    end
    if type(pred) ~= "function" then
        argerror(2, "filter", "bool tensor or function expected, got " .. type(pred))
    end
    local values = {}
    for _, name in ipairs(s.names) do
        local col = s.cols[name]
        values[name] = is_tensor(col) and col:totable() or string_values(col, 1, s.nrows)
    end
    local keep = {}
    for i = 1, s.nrows do
        local row = {}
        for _, name in ipairs(s.names) do row[name] = values[name][i] end
        if pred(row) then keep[#keep + 1] = i end
    end
    return take_rows(s, #keep > 0 and mf.tensor(keep, "int64") or mf.zeros(0, "int64"))
end

-- Sort keys of a column and its missing mask (nil if it cannot miss). String
-- keys are the ranks of the levels' texts.
local function sort_keys(col)
    if not is_tensor(col) then
        local n = #col.levels
        local order = {}
        for i = 1, n do order[i] = i end
        table.sort(order, function(a, b) return col.levels[a] < col.levels[b] end)
        local rank = {0}
        for pos, lv in ipairs(order) do rank[lv + 1] = pos end
        return mf.tensor(rank, "int64"):index(1, col.codes + 1), col.codes:eq(0)
    end
    local dt = col:dtype()
    if dt == "bool" then return col:to("int64"), nil end
    if dt == "int64" then return col, nil end
    return col, col:isnan()
end

--- The rows ordered by column `col` (stable; missing values last).
function Table.sort_by(tbl, col, opts)
    local s = state(tbl, "sort_by")
    local c = check_column(s, col, "sort_by", 2)
    opts = check_options(opts, "sort_by", 3, {"descending"})
    local desc = opts.descending and true or false
    local keys, missing = sort_keys(c)
    local rows = row_numbers(s.nrows)
    local idx
    if missing and missing:any():item() then
        local present = missing:logical_not()
        local prows = rows:index(1, present)
        idx = mf.cat({prows:index(1, keys:index(1, present):argsort{descending = desc}),
                      rows:index(1, missing)}, 1)
    else
        idx = rows:index(1, keys:argsort{descending = desc})
    end
    return take_rows(s, idx)
end

--- A Table with one more column `name` (a tensor or an array of the table's length).
function Table.add_column(tbl, name, values)
    local s = state(tbl, "add_column")
    if type(name) ~= "string" then argerror(2, "add_column", "name must be a string, got " .. type(name)) end
    if s.cols[name] ~= nil then argerror(2, "add_column", ("column '%s' already exists"):format(name)) end
    local col, n = column_from_value(values, name, "add_column", 3)
    if n ~= s.nrows then
        argerror(3, "add_column", ("column '%s' has %d rows, the table has %d"):format(name, n, s.nrows))
    end
    local names = table.move(s.names, 1, #s.names, 1, {})
    names[#names + 1] = name
    local cols = {}
    for k, v in pairs(s.cols) do cols[k] = v end
    cols[name] = col
    return new_table(names, cols, s.nrows, nil)
end

--- A Table of the distinct non-missing values of `col` and their counts,
-- sorted by count (descending), then by value.
function Table.value_counts(tbl, col)
    local s = state(tbl, "value_counts")
    local c = check_column(s, col, "value_counts", 2)
    local values, counts
    if is_tensor(c) then
        local x = c
        if x:dtype() == "float64" then x = x:index(1, x:isnan():logical_not()) end
        values, counts = mf.unique(x, {return_counts = true})
    else
        local codes, cnt = mf.unique(c.codes:index(1, c.codes:ne(0)), {return_counts = true})
        local levels = {}
        for i, code in ipairs(codes:totable()) do levels[i] = c.levels[code] end
        values = {codes = row_numbers(#levels), levels = levels}
        counts = cnt
    end
    local names = {col, col == "count" and "n" or "count"}
    local vc = new_table(names, {[names[1]] = values, [names[2]] = counts:to("int64")}, counts:size(1), nil)
    return vc:sort_by(col):sort_by(names[2], {descending = true})
end

-- The q-quantile of sorted values v (n of them), interpolated linearly
-- between the two nearest ranks as pandas and numpy do.
local function quantile(v, n, q)
    if n == 0 then return 0 / 0 end
    local pos = q * (n - 1)
    local lo = math.floor(pos)
    local a = v[lo + 1]
    if lo + 1 >= n then return a end
    return a + (pos - lo) * (v[lo + 2] - a)
end

local NUMERIC_STATS = {"mean", "std", "min", "25%", "50%", "75%", "max"}
local STRING_STATS = {"unique", "top", "freq"}

--- One row per column: name, dtype, count, missing, then for numeric
-- (and bool) columns mean, std, min, 25%, 50%, 75%, max, and for string
-- columns unique, top, freq. Statistics that do not apply are missing.
function Table.describe(tbl)
    local s = state(tbl, "describe")
    if #s.names == 0 then argerror(1, "describe", "the table has no columns") end
    local any_num, any_str = false, false
    local out = {name = {}, dtype = {}, count = {}, missing = {}}
    for _, k in ipairs(NUMERIC_STATS) do out[k] = {} end
    for _, k in ipairs(STRING_STATS) do out[k] = {} end
    local nan = 0 / 0
    for j, name in ipairs(s.names) do
        local col = s.cols[name]
        out.name[j], out.dtype[j] = name, dtype_of(col)
        if is_tensor(col) then
            any_num = true
            local x = col:to("float64")
            x = x:index(1, x:isnan():logical_not())
            local n = x:size(1)
            out.count[j], out.missing[j] = n, s.nrows - n
            local v = x:sort()
            local row = {mean = nan, std = nan, min = nan, max = nan}
            if n > 0 then
                row.mean, row.std = x:mean():item(), x:std():item()
                row.min, row.max = v[1], v[n]
            end
            row["25%"], row["50%"], row["75%"] = quantile(v, n, 0.25), quantile(v, n, 0.5), quantile(v, n, 0.75)
            for _, k in ipairs(NUMERIC_STATS) do out[k][j] = row[k] end
            out.unique[j], out.top[j], out.freq[j] = nan, M.NA, nan
        else
            any_str = true
            local present = col.codes:ne(0)
            local n = present:sum():item()
            out.count[j], out.missing[j] = n, s.nrows - n
            for _, k in ipairs(NUMERIC_STATS) do out[k][j] = nan end
            local vc = Table.value_counts(tbl, name)
            local k = #vc
            out.unique[j] = k + 0.0
            out.top[j] = k > 0 and vc:column(name)[1] or M.NA
            out.freq[j] = k > 0 and vc:column(rawget(vc, S).names[2])[1] + 0.0 or nan
        end
    end
    local order = {"name", "dtype", "count", "missing"}
    if any_num then table.move(NUMERIC_STATS, 1, #NUMERIC_STATS, #order + 1, order) end
    if any_str then table.move(STRING_STATS, 1, #STRING_STATS, #order + 1, order) end
    local cols = {}
    for _, k in ipairs(order) do
        if k == "name" or k == "dtype" or k == "top" or k == "count" or k == "missing" then
            cols[k] = out[k]
        else
            cols[k] = mf.tensor(out[k], "float64")
        end
    end
    return M.from_columns(cols, {order = order})
end

M.Table = Table

-- The other parts of mf.data (cleaning in data_clean.lua; group_by, concat,
-- join and write_csv in data_ops.lua) add their functions to M and Table
-- through these private helpers.
local internal = {
    S = S, Table = Table, NA = M.NA, argerror = argerror, new_table = new_table,
    state = state, dtype_of = dtype_of, check_column = check_column,
    string_values = string_values, column_from_value = column_from_value,
    check_names = check_names, check_list = check_list, take_col = take_col,
    take_rows = take_rows, subset = subset, narrow_col = narrow_col,
    check_options = check_options,
}
-- Also for the other moonforge modules that work on Tables (preprocess):
-- private, not part of the API.
M._private = internal
require("moonforge.data_clean")(M, internal)
require("moonforge.data_ops")(M, internal)

return M
