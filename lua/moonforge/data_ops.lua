-- moonforge.data_ops: Table group_by/agg, concat, join and write_csv.
-- Installed into mf.data (M) and the Table methods by data.lua; I holds
-- data.lua's private helpers.
--
-- The row work is done in C (core/mf_rows.c through core._rows_*): rows are
-- grouped by hashing their key values (_rows_factorize), reductions run per
-- group in one pass (_rows_agg) and join pairs are built from the groups
-- (_rows_join). Lua only loops over columns, groups' levels and options.
return function(M, I) -- luacheck: ignore
local mf = require "moonforge"
local core = require "moonforge.core"

local Table, argerror, state, new_table = I.Table, I.argerror, I.state, I.new_table
local check_column, check_names, check_options = I.check_column, I.check_names, I.check_options
local is_tensor = mf.is_tensor
local nan = 0 / 0

local function empty_i64() return mf.zeros(0, "int64") end

-- t[idx] for a 1-D float64/int64/bool tensor and 1-based int64 row numbers
-- (all in range): a gather in core, much faster than a general index.
local function gather(t, idx) return core._rows_take({t}, idx, {false})[1] end

-- A column (tensor or string column) at the rows idx.
local function gather_col(col, idx)
    if is_tensor(col) then return gather(col, idx) end
    return {codes = gather(col.codes, idx), levels = col.levels}
end

-- The tensor a column is grouped by: itself, or a string column's codes.
local function key_tensor(col)
    if is_tensor(col) then return col end
    return col.codes
end

-- A mask of the missing cells of a column (nil when it cannot miss).
local function missing_mask(col)
    if not is_tensor(col) then return col.codes:eq(0) end
    if col:dtype() == "float64" then return col:isnan() end
    return nil
end

-- Sort keys of a column (string columns: ranks of the levels' texts) and its
-- missing mask (nil if it cannot miss).
local function sort_keys(col)
    if not is_tensor(col) then
        return gather(core._rows_string_ranks(col.levels), col.codes + 1), col.codes:eq(0)
    end
    local dt = col:dtype()
    if dt == "bool" then return col:to("int64"), nil end
    if dt == "int64" then return col, nil end
    return col, col:isnan()
end

-- The 1-based order of n rows sorted by the columns `cols` (lexicographic,
-- stable, missing values last in each key): stable sorts from the last key
-- to the first.
local function lex_order(cols, n)
    local perm = mf.arange(1, n + 1, "int64")
    if n == 0 then return perm end
    for k = #cols, 1, -1 do
        local keys, miss = sort_keys(cols[k])
        keys = gather(keys, perm)
        if miss then miss = gather(miss, perm) end
        if miss and miss:any():item() then
            local present = miss:logical_not()
            local pp = perm:index(1, present)
            perm = mf.cat({gather(pp, keys:index(1, present):argsort()), perm:index(1, miss)}, 1)
        else
            perm = gather(perm, keys:argsort())
        end
    end
    return perm
end

-- The columns of the array cols at the rows idx (1-based int64, 0 =
-- missing: NaN / NA; an int64 or bool column with missing cells becomes
-- float64), as a new array.
local function take_missing(cols, idx)
    local ts, codes = {}, {}
    for j, col in ipairs(cols) do
        ts[j] = key_tensor(col)
        codes[j] = not is_tensor(col)
    end
    local out = core._rows_take(ts, idx, codes)
    for j, col in ipairs(cols) do
        if codes[j] then out[j] = {codes = out[j], levels = col.levels} end
    end
    return out
end

-- The union of the levels a and b (a's, then b's new ones; a itself when b
-- adds none) and the map of b's codes into it (index it with codes + 1; nil
-- when the codes do not change).
local function merge_levels(a, b)
    if a == b then return a, nil end
    local map, new = core._rows_merge_levels(a, b)
    if new:numel() == 0 then return a, map end
    local levels = table.move(a, 1, #a, 1, {})
    local n = #levels
    for i, k in ipairs(new:totable()) do levels[n + i] = b[k] end
    return levels, map
end

-- Column names given as one name or a non-empty list of names.
local function name_list(s, cols, fname, argn, what)
    if type(cols) == "string" then cols = {cols} end
    if type(cols) ~= "table" or is_tensor(cols) or #cols == 0 then
        argerror(argn, fname, ("%s: a column name or a non-empty list of names expected, got %s")
                 :format(what, is_tensor(cols) and "tensor" or type(cols)), 3)
    end
    local seen = {}
    for _, name in ipairs(cols) do
        check_column(s, name, fname, argn, 3)
        if seen[name] then argerror(argn, fname, ("column '%s' listed twice"):format(name), 3) end
        seen[name] = true
    end
    return cols, seen
end

---------------------------------------------------------------- group_by

local Grouped = {}
Grouped.__index = Grouped
Grouped.__name = "moonforge.GroupBy"

--- Groups the rows by the values of `cols` (a column name or a list of
-- names); returns an object with :agg{...} and :size().
function Table.group_by(tbl, cols)
    local s = state(tbl, "group_by")
    local keys, is_key = name_list(s, cols, "group_by", 2, "keys")
    return setmetatable({s = s, keys = keys, is_key = is_key}, Grouped)
end

-- Groups of the rows (computed once): ids (1-based per row), ngroups, and
-- `order`: the groups to output (missing keys dropped), sorted by key.
local function groups(g)
    if g.ids then return g end
    local s = g.s
    local kcols = {}
    for i, name in ipairs(g.keys) do kcols[i] = key_tensor(s.cols[name]) end
    local ids, ng, first
    if s.nrows == 0 then
        ids, ng, first = empty_i64(), 0, empty_i64()
    else
        ids, ng, first = core._rows_factorize(kcols)
    end
    -- key values of each group (at its first row); drop groups with a missing key
    local gcols, keep = {}, nil
    for i, name in ipairs(g.keys) do
        gcols[i] = gather_col(s.cols[name], first)
        local miss = missing_mask(gcols[i])
        if miss then keep = keep and keep:logical_and(miss:logical_not()) or miss:logical_not() end
    end
    local gidx = mf.arange(1, ng + 1, "int64")
    if keep then
        gidx = gidx:index(1, keep)
        for i in ipairs(gcols) do gcols[i] = gather_col(gcols[i], gidx) end
    end
    local perm = lex_order(gcols, gidx:size(1))
    g.order = gather(gidx, perm)
    g.ids, g.ngroups = ids, ng
    g.key_cols = {}
    for i in ipairs(gcols) do g.key_cols[i] = gather_col(gcols[i], perm) end
    return g
end

local function result_table(g, extra_names, extra_cols)
    local names, cols = {}, {}
    for i, name in ipairs(g.keys) do
        names[i] = name
        cols[name] = g.key_cols[i]
    end
    for i, name in ipairs(extra_names) do
        names[#names + 1] = name
        cols[name] = extra_cols[i]
    end
    check_names(names, 2, "agg")
    return new_table(names, cols, g.order:size(1), nil)
end

local AGG_FUNCS = {count = true, sum = true, mean = true, std = true, min = true, max = true}

--- One row per group (sorted by the keys; groups with a missing key are
-- dropped), the key columns first, then `col_func` for each requested
-- reduction, in the table's column order: spec is {col = "mean" | {"mean",
-- "max"}, ...} with count, sum, mean, std (sample, ddof = 1), min, max.
function Grouped.agg(g, spec)
    if getmetatable(g) ~= Grouped then argerror(1, "agg", "grouped table expected (use tbl:group_by(cols):agg{...})") end
    if type(spec) ~= "table" or is_tensor(spec) then
        argerror(2, "agg", "table {column = function or {functions}} expected, got " .. type(spec))
    end
    local s = g.s
    for col, fns in pairs(spec) do
        check_column(s, col, "agg", 2)
        if g.is_key[col] then argerror(2, "agg", ("column '%s' is a group key"):format(col)) end
        if type(fns) == "string" then fns = {fns} end
        if type(fns) ~= "table" or #fns == 0 then
            argerror(2, "agg", ("column '%s': a function name or a list of them expected"):format(col))
        end
        for _, fn in ipairs(fns) do
            if not AGG_FUNCS[fn] then
                argerror(2, "agg", ("column '%s': unknown function '%s' (expected count, sum, mean, std, min or max)")
                         :format(col, tostring(fn)))
            end
            if fn ~= "count" and not is_tensor(s.cols[col]) then
                argerror(2, "agg", ("column '%s' holds strings: only 'count' applies, not '%s'"):format(col, fn))
            end
        end
    end
    groups(g)
    local names, cols = {}, {}
    for _, col in ipairs(s.names) do
        local fns = spec[col]
        if fns then
            if type(fns) == "string" then fns = {fns} end
            local c = s.cols[col]
            local values = is_tensor(c) and c
                or mf.where(c.codes:eq(0), nan, c.codes:to("float64"))
            local r = core._rows_agg(values, g.ids, g.ngroups, fns)
            for _, fn in ipairs(fns) do
                names[#names + 1] = col .. "_" .. fn
                cols[#cols + 1] = gather(r[fn], g.order)
            end
        end
    end
    return result_table(g, names, cols)
end

--- One row per group (sorted by the keys): the key columns and `size`, the
-- number of rows of the group.
function Grouped.size(g)
    if getmetatable(g) ~= Grouped then argerror(1, "size", "grouped table expected") end
    groups(g)
    local r = core._rows_agg(mf.zeros(g.s.nrows, "float64"), g.ids, g.ngroups, {"count"})
    return result_table(g, {"size"}, {gather(r.count, g.order)})
end

---------------------------------------------------------------- concat

local function concat_tables(list, fname, argn)
    if type(list) ~= "table" or is_tensor(list) or #list == 0 then
        argerror(argn, fname, "a non-empty list of Tables expected", 3)
    end
    local states, names, seen = {}, {}, {}
    for i, t in ipairs(list) do
        local st = type(t) == "table" and rawget(t, I.S)
        if not st then argerror(argn, fname, ("element %d is not a Table (got %s)"):format(i, type(t)), 3) end
        states[i] = st
        for _, name in ipairs(st.names) do
            if not seen[name] then seen[name] = true; names[#names + 1] = name end
        end
    end
    local total = 0
    for _, st in ipairs(states) do total = total + st.nrows end
    local cols = {}
    for _, name in ipairs(names) do
        local kind, dtype, holes = nil, nil, false
        for i, st in ipairs(states) do
            local c = st.cols[name]
            if c == nil then
                holes = holes or st.nrows > 0
            else
                local k = is_tensor(c) and "number" or "string"
                if kind and kind ~= k then
                    argerror(argn, fname, ("column '%s' holds strings in one table and numbers in another (table %d)")
                             :format(name, i), 3)
                end
                kind = k
                if k == "number" then
                    local dt = c:dtype()
                    if dtype and dtype ~= dt then dtype = "float64" else dtype = dt end
                end
            end
        end
        if kind == "string" then
            local levels, parts = nil, {}
            for i, st in ipairs(states) do
                local c = st.cols[name]
                if c == nil then
                    parts[i] = mf.zeros(st.nrows, "int64")
                elseif not levels then
                    levels, parts[i] = c.levels, c.codes
                else
                    local map
                    levels, map = merge_levels(levels, c.levels)
                    parts[i] = map and gather(map, c.codes + 1) or c.codes
                end
            end
            cols[name] = {codes = total > 0 and mf.cat(parts, 1) or mf.zeros(0, "int64"), levels = levels}
        else
            if holes then dtype = "float64" end
            local parts = {}
            for i, st in ipairs(states) do
                local c = st.cols[name]
                parts[i] = c == nil and mf.full({st.nrows}, nan, "float64") or c:to(dtype)
            end
            cols[name] = mf.cat(parts, 1)
        end
    end
    return new_table(names, cols, total, nil)
end

--- The rows of the Tables in `list`, one after the other (pandas' concat
-- along rows): columns in order of first appearance; a column missing from
-- a table is missing (NaN / NA) in its rows.
function M.concat(list)
    return concat_tables(list, "concat", 1)
end

--- The rows of tbl followed by those of `other` (mf.data.concat{tbl, other}).
function Table.concat(tbl, other)
    state(tbl, "concat")
    local st = type(other) == "table" and rawget(other, I.S)
    if not st then argerror(2, "concat", "Table expected, got " .. type(other)) end
    return concat_tables({tbl, other}, "concat", 2)
end

---------------------------------------------------------------- join

local HOWS = {inner = true, left = true, right = true, outer = true}

-- The key `name` of both tables as one column over the left rows then the
-- right rows (string keys: the right codes mapped onto the left levels by
-- text, new texts appended).
local function combined_key(name, lc, rc, fname)
    local ls, rs = is_tensor(lc) and lc:dtype() or "string", is_tensor(rc) and rc:dtype() or "string"
    local function numeric(dt) return dt == "int64" or dt == "float64" end
    if ls ~= rs and not (numeric(ls) and numeric(rs)) then
        argerror(3, fname, ("key '%s' is %s in the left table and %s in the right one"):format(name, ls, rs), 4)
    end
    if ls == "string" then
        local levels, map = merge_levels(lc.levels, rc.levels)
        return {codes = mf.cat({lc.codes, map and gather(map, rc.codes + 1) or rc.codes}, 1), levels = levels}
    end
    local dt = ls == rs and ls or "float64"
    return mf.cat({lc:to(dt), rc:to(dt)}, 1)
end

--- The rows of tbl and other matched on the key columns `on` (pandas merge):
-- opts = {on = name | {names}, how = "inner"|"left"|"right"|"outer",
-- suffixes = {"_x", "_y"}}.
function Table.join(tbl, other, opts)
    local ls = state(tbl, "join")
    local rs = type(other) == "table" and rawget(other, I.S)
    if not rs then argerror(2, "join", "Table expected, got " .. type(other)) end
    opts = check_options(opts, "join", 3, {"on", "how", "suffixes"})
    local on = opts.on
    if on == nil then -- pandas: the columns the two tables share
        on = {}
        for _, name in ipairs(ls.names) do if rs.cols[name] ~= nil then on[#on + 1] = name end end
        if #on == 0 then argerror(3, "join", "no column in common: give option 'on'") end
    end
    if type(on) == "string" then on = {on} end
    if type(on) ~= "table" or #on == 0 then
        argerror(3, "join", "option 'on' must be a column name or a non-empty list of names")
    end
    local is_key = {}
    for _, name in ipairs(on) do
        if type(name) ~= "string" or ls.cols[name] == nil then
            argerror(3, "join", ("unknown key column '%s' in the left table (columns: %s)")
                     :format(tostring(name), table.concat(ls.names, ", ")))
        end
        if rs.cols[name] == nil then
            argerror(3, "join", ("unknown key column '%s' in the right table (columns: %s)")
                     :format(name, table.concat(rs.names, ", ")))
        end
        if is_key[name] then argerror(3, "join", ("key '%s' listed twice"):format(name)) end
        for i, k in ipairs(on) do if k == name then is_key[name] = i end end
    end
    local how = opts.how or "inner"
    if not HOWS[how] then
        argerror(3, "join", ("option 'how' must be \"inner\", \"left\", \"right\" or \"outer\", got %s")
                 :format(tostring(how)))
    end
    local suffixes = opts.suffixes or {"_x", "_y"}
    if type(suffixes) ~= "table" or type(suffixes[1]) ~= "string" or type(suffixes[2]) ~= "string" then
        argerror(3, "join", "option 'suffixes' must be two strings")
    end
    local nl, nr = ls.nrows, rs.nrows
    local keys, kt = {}, {}
    for i, name in ipairs(on) do
        keys[i] = combined_key(name, ls.cols[name], rs.cols[name], "join")
        kt[i] = key_tensor(keys[i])
    end
    local li, ri
    if nl + nr == 0 then
        li, ri = empty_i64(), empty_i64()
    else
        local ids, ng, first = core._rows_factorize(kt)
        local order
        if how == "outer" then
            local gk = {}
            for i, k in ipairs(keys) do gk[i] = gather_col(k, first) end
            order = lex_order(gk, ng)
        end
        li, ri = core._rows_join(ids, nl, ng, how, order)
    end
    -- key values: from the left row, or the right one where there is none
    local pos = mf.where(li:gt(0), li, ri + nl)
    local names, cols = {}, {}
    local lnames, lcols, rnames, rcols = {}, {}, {}, {}
    for _, name in ipairs(ls.names) do
        local out = name
        if is_key[name] then
            cols[out] = gather_col(keys[is_key[name]], pos)
        else
            if rs.cols[name] ~= nil then out = name .. suffixes[1] end
            lnames[#lnames + 1], lcols[#lcols + 1] = out, ls.cols[name]
        end
        names[#names + 1] = out
    end
    for _, name in ipairs(rs.names) do
        if not is_key[name] then
            local out = ls.cols[name] ~= nil and name .. suffixes[2] or name
            rnames[#rnames + 1], rcols[#rcols + 1] = out, rs.cols[name]
            names[#names + 1] = out
        end
    end
    for j, c in ipairs(take_missing(lcols, li)) do cols[lnames[j]] = c end
    for j, c in ipairs(take_missing(rcols, ri)) do cols[rnames[j]] = c end
    check_names(names, 3, "join")
    return new_table(names, cols, li:size(1), nil)
end

---------------------------------------------------------------- write_csv

--- Writes the table to `path` as CSV, atomically (a temporary file renamed
-- over `path`: on failure an existing file is untouched), so that
-- mf.data.read_csv reads it back exactly. opts = {sep = ",", header = true}.
function Table.write_csv(tbl, path, opts)
    local s = state(tbl, "write_csv")
    if type(path) ~= "string" then argerror(2, "write_csv", "path must be a string, got " .. type(path)) end
    opts = check_options(opts, "write_csv", 3, {"sep", "header"})
    local cols = {}
    for j, name in ipairs(s.names) do cols[j] = s.cols[name] end
    local ok, err = pcall(core._write_csv, path, s.names, cols, opts)
    if not ok then
        local msg = tostring(err)
        if msg:find("^bad argument #4") then
            msg = msg:gsub("^bad argument #4 to '[^']*'", "bad argument #3 to 'write_csv'")
        elseif not msg:find("^bad argument") then
            msg = "write_csv: " .. msg
        end
        error(msg, 2)
    end
end

I.lex_order, I.take_missing, I.sort_keys, I.gather, I.gather_col = lex_order, take_missing, sort_keys, gather, gather_col
end
