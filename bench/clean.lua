-- bench/clean.lua — W7_clean_total of ../shared/bench/WORKLOADS.md through
-- the public mf.data API: read sensors_raw.csv, then the cleaning chain
--
--   dropna → drop_duplicates → z-score s01..s20 → one-hot `line`
--
--   build/moonforge bench/clean.lua [DATA_DIR]     (default bench/data)
--
-- pandas reads the junk cells (`err`, `?`, `#VALUE!`, `1.2.3`) as strings,
-- so its chain has a "coerce_numeric" step (to_numeric + dropna on those
-- columns) after drop_duplicates. Our reader already turned them into
-- missing values, so the first dropna drops those rows too and there is no
-- coerce step (its record says so, with 0 seconds); the intermediate row
-- counts differ from pandas', the final one must not (774,571, asserted).
--
-- One JSON line per step and one for the total on stdout, at 1 and 2 threads
-- (mf.set_num_threads; the file is read once at each): the chain runs REPS
-- times on that table and each step reports its median. pandas runs on one
-- thread: compare the 1-thread records with it.
local mf = require "moonforge"

local dir = arg and arg[1] or "bench/data"
local path = dir .. "/sensors_raw.csv"
local REPS = 3
local EXPECTED_ROWS = 774571

local function median(v)
    local c = table.move(v, 1, #v, 1, {})
    table.sort(c)
    local n = #c
    return n % 2 == 1 and c[(n + 1) // 2] or (c[n // 2] + c[n // 2 + 1]) / 2
end

local function emit(workload, seconds, fields)
    local parts = {('"workload": "%s"'):format(workload), '"tool": "moonforge"',
                   ('"threads": %d'):format(mf.get_num_threads()), ('"seconds": %.6g'):format(seconds)}
    for _, kv in ipairs(fields) do
        local v = kv[2]
        parts[#parts + 1] = ('"%s": %s'):format(kv[1], type(v) == "string" and ('"' .. v .. '"')
                                                  or math.type(v) == "float" and ("%.6g"):format(v) or tostring(v))
    end
    print("{" .. table.concat(parts, ", ") .. "}")
    io.stdout:flush()
end

-- Peak resident set size of this process so far (Linux), in MB; nil elsewhere.
local function peak_rss_mb()
    local f = io.open("/proc/self/status", "r")
    if not f then return nil end
    local s = f:read("a")
    f:close()
    local kb = s:match("VmHWM:%s*(%d+)")
    return kb and tonumber(kb) / 1024 or nil
end

local f = io.open(path, "rb")
if not f then
    io.stderr:write("bench/clean.lua: ", path, " not found (sh bench/run.sh full generates bench/data)\n")
    os.exit(1)
end
f:close()

mf.set_warnings(false) -- read_csv warns about the coerced junk cells

local sensors -- s01..s20

-- z-score with the population std (ddof = 0, as peers.py): the sensor
-- columns are replaced by their standardized values (moved to the end).
local function zscore(tbl)
    local out = tbl:drop(sensors)
    for _, name in ipairs(sensors) do
        local x = tbl:column(name)
        out = out:add_column(name, (x - x:mean()) / x:std({unbiased = false}))
    end
    return out
end

local STEPS = {
    {"dropna", function(tbl) return (tbl:dropna()) end},
    {"drop_duplicates", function(tbl) return (tbl:drop_duplicates()) end},
    {"zscore", zscore},
    {"onehot_line", function(tbl) return mf.data.get_dummies(tbl, {columns = {"line"}}) end},
}

local function run(threads)
    mf.set_num_threads(threads)
    collectgarbage()
    local t0 = mf.clock()
    local raw = mf.data.read_csv(path)
    local read_seconds = mf.clock() - t0
    local rows_read = #raw
    sensors = {}
    for _, name in ipairs(raw:columns()) do
        if name:match("^s%d+$") then sensors[#sensors + 1] = name end
    end
    assert(#sensors == 20, "expected 20 sensor columns s01..s20")

    local times, rows, totals, final = {}, {}, {}, nil
    for _, st in ipairs(STEPS) do times[st[1]] = {} end
    for r = 1, REPS do
        local tbl, total = raw, 0
        for _, st in ipairs(STEPS) do
            local t = mf.clock()
            tbl = st[2](tbl)
            local dt = mf.clock() - t
            times[st[1]][r] = dt
            rows[st[1]] = #tbl
            total = total + dt
        end
        totals[r] = total
        final = tbl
        collectgarbage()
    end
    assert(#final == EXPECTED_ROWS, ("final row count %d, expected %d"):format(#final, EXPECTED_ROWS))

    local rows_in = rows_read
    for _, st in ipairs(STEPS) do
        local name = st[1]
        local sec = median(times[name])
        emit("W7_clean_" .. name, sec, {{"rows_in", rows_in}, {"rows_left", rows[name]},
             {"rows_per_s", rows_in / sec}, {"stat", "median"}, {"reps", REPS}})
        rows_in = rows[name]
        if name == "drop_duplicates" then
            emit("W7_clean_coerce_numeric", 0, {{"rows_left", rows_in}, {"stat", "not_needed"},
                 {"note", "read_csv already coerced the junk cells to missing; the first dropna dropped those rows"}})
        end
    end
    local clean = median(totals)
    emit("W7_clean_total", clean, {{"rows_read", rows_read}, {"rows_left", #final},
         {"final_columns", final:shape()[2]}, {"read_seconds", read_seconds},
         {"read_plus_clean_seconds", read_seconds + clean}, {"peak_rss_mb", peak_rss_mb() or -1},
         {"stat", "median"}, {"reps", REPS}})
end

local saved = mf.get_num_threads()
for threads = 1, math.min(2, mf.num_cores()) do run(threads) end
mf.set_num_threads(saved)
