-- clean_sensors.lua — cleans a dirty sensor log with mf.data: read it (junk
-- cells become missing and are reported), normalise the line names, drop
-- duplicated and incomplete readings, fill the missing vibration values,
-- clip the spikes, describe the result and write the cleaned CSV.
--
--     build/moonforge examples/clean_sensors.lua [OUT.csv]
--
-- The input, examples/data/sensors_dirty.csv, is made by
-- examples/make_dirty_sensors.lua (which lists its defects). Each cleaning
-- step prints its change record; see docs/cleaning.md.
local mf = require "moonforge"

local here = arg[0]:gsub("[^/]*$", "")
local path = here .. "data/sensors_dirty.csv"
local out = arg[1] or "sensors_clean.csv"

-- read_csv warns (through mf.warn) about the junk cells it coerced to
-- missing; collect the warning to print it with the report.
local warnings, tbl = mf.capture_warnings(mf.data.read_csv, path)
for _, w in ipairs(warnings) do print("warning: " .. w:gsub("^.-: cells", "cells")) end
print(tbl:report())
print()

-- Each method returns the new table and its change record.
local function step(t, changes)
    print(changes)
    return t
end
tbl = step(tbl:str_strip{"line"})                 -- " l2 " -> "l2"
tbl = step(tbl:str_upper{"line"})                 -- "l2" -> "L2"
tbl = step(tbl:drop_duplicates())                 -- rows logged twice
tbl = step(tbl:dropna{subset = {"temp", "pressure"}})
tbl = step(tbl:fillna{strategy = "median", subset = {"vibration"}})
tbl = step(tbl:clip_outliers{cols = {"temp", "pressure", "vibration"}, k = 3})
print()

print(tbl:describe():select{"name", "dtype", "count", "missing", "mean", "min", "max", "unique", "top"})
print()
print(tbl:value_counts("line"))

tbl:write_csv(out)
print(("\ncleaned: %d rows x %d columns written to %s"):format(#tbl, tbl:shape()[2], out))
