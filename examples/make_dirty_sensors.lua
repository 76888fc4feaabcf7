-- make_dirty_sensors.lua — writes examples/data/sensors_dirty.csv, the dirty
-- sensor log cleaned by examples/clean_sensors.lua:
--
--     build/moonforge examples/make_dirty_sensors.lua [OUT.csv]
--
-- 300 readings of three production lines (ts, line, note, temp, pressure,
-- vibration, units) plus 12 rows logged twice, with the usual defects at
-- fixed places, so that every count of the cleaning is known in advance:
--   - a UTF-8 BOM (a spreadsheet export) and quoted notes with commas and
--     doubled quotes; most notes are empty (missing);
--   - line names as " l2 " (15 rows: strip + upper) and "l3" (15 rows: upper);
--   - temp: 6 junk cells (err, ?, #VALUE!, 1.2.3), which the reader coerces
--     to missing, and 5 empty or n/a cells; pressure: 4 n/a cells;
--   - vibration: 8 empty cells (to fill with the median);
--   - spikes: temp 999.9 at two readings, pressure -50 at one;
--   - readings 25, 50, ..., 300 appear twice (12 duplicated rows).
-- Deterministic (a small LCG, no global random state): the same file, byte
-- for byte, on every run.
local out = arg[1] or (arg[0]:gsub("[^/]*$", "") .. "data/sensors_dirty.csv")

local state = 20240301
local function uniform() -- in [-1, 1)
    state = (state * 1103515245 + 12345) % 2147483648
    return state / 1073741824 - 1
end

local JUNK = {"err", "?", "#VALUE!", "1.2.3", "err", "?"}
local NOTES = {'"restarted, ok"', '"operator said ""check valve"", logged"', '"filter changed, 2 units scrapped"'}

local lines = {"ts,line,note,temp,pressure,vibration,units"}
for i = 1, 300 do
    local secs = (i - 1) * 30
    local ts = ("2024-03-01 %02d:%02d:%02d"):format(8 + secs // 3600, secs // 60 % 60, secs % 60)
    local k = i % 3 + 1
    local line = "L" .. k
    if i % 20 == 3 then line = " l" .. k .. " " elseif i % 20 == 11 then line = "l" .. k end
    local note = i % 10 == 4 and NOTES[i // 10 % 3 + 1] or ""
    local temp = ("%.2f"):format(60 + 10 * k + 2 * uniform())
    local pressure = ("%.3f"):format(2 + 0.1 * k + 0.05 * uniform())
    local vibration = ("%.3f"):format(0.3 + 0.05 * uniform())
    local units = tostring(40 + math.floor(5 * (uniform() + 1)))
    if i % 50 == 7 then temp = JUNK[i // 50 + 1] end
    if i % 60 == 13 then temp = i % 120 == 13 and "" or "n/a" end
    if i % 75 == 31 then pressure = "n/a" end
    if i % 40 == 19 then vibration = "" end
    if i == 140 or i == 220 then temp = "999.9" end
    if i == 170 then pressure = "-50" end
    local row = table.concat({ts, line, note, temp, pressure, vibration, units}, ",")
    lines[#lines + 1] = row
    if i % 25 == 0 then lines[#lines + 1] = row end
end

local f = assert(io.open(out, "wb"))
f:write("\239\187\191", table.concat(lines, "\r\n"), "\r\n")
f:close()
print(("wrote %s: %d rows"):format(out, #lines - 1))
