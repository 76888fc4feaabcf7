-- bench/csv.lua — moonforge's side of W7_csv_read and W0 (../shared/bench/WORKLOADS.md):
--
--   build/moonforge bench/csv.lua [--data DIR] [--reps N]
--
-- W7_csv_read           mf.data.read_csv("sensors_raw.csv"), types inferred
-- W0_load_quality_reg   mf.data.read_csv("quality_reg.csv"):to_tensor(), the
--                       file as a float64 matrix (what a user writes)
--
-- At 1 and 2 threads (mf.set_num_threads). Every measurement runs in a fresh
-- process (this script again, with --child), so that the peak RSS of one read
-- does not hide the next: the child reports its RSS before the read (VmRSS)
-- and its peak (VmHWM) from /proc/self/status. One warm-up run (page cache),
-- then N timed runs (default 3): "seconds" is their median, "best_seconds"
-- the fastest, the RSS figures those of the median run; "read_csv_seconds"
-- is the read_csv part of the median run (all of it for W7).
local mf = require "moonforge"

local function status_kb(field)
    for line in io.lines("/proc/self/status") do
        local v = line:match("^" .. field .. ":%s+(%d+)")
        if v then return tonumber(v) end
    end
    return 0
end

if arg[1] == "--child" then
    local kind, path, threads = arg[2], arg[3], tonumber(arg[4])
    mf.set_num_threads(threads)
    collectgarbage()
    local base = status_kb("VmRSS")
    local t0 = mf.clock()
    local tbl
    mf.capture_warnings(function() tbl = mf.data.read_csv(path) end)
    local rows = #tbl
    local t_read = mf.clock() - t0
    if kind == "W0" then
        local x = tbl:to_tensor()
        assert(x:size(1) == rows)
    end
    local dt = mf.clock() - t0
    print(("%.6f %d %d %d %.6f"):format(dt, base, status_kb("VmHWM"), rows, t_read))
    return
end

local data_dir, reps = "bench/data", 3
do
    local i = 1
    while arg[i] do
        if arg[i] == "--data" then data_dir, i = arg[i + 1], i + 1
        elseif arg[i] == "--reps" then reps, i = tonumber(arg[i + 1]), i + 1
        else error("bench/csv.lua: unknown argument " .. arg[i]) end
        i = i + 1
    end
end

local exe = io.popen("readlink -f /proc/" .. (io.open("/proc/self/stat"):read("n") or "self") .. "/exe"):read("l")
local script = arg[0]

local function child(kind, path, threads)
    local p = assert(io.popen(("%q %q --child %s %q %d"):format(exe, script, kind, path, threads)))
    local out = p:read("a")
    p:close()
    local sec, base, hwm, rows, read = out:match("([%d.]+) (%d+) (%d+) (%d+) ([%d.]+)")
    assert(sec, "bench/csv.lua: child failed: " .. out)
    return {seconds = tonumber(sec), base = tonumber(base), hwm = tonumber(hwm), rows = tonumber(rows),
            read = tonumber(read)}
end

local function measure(workload, kind, file, threads)
    local path = data_dir .. "/" .. file
    local f = io.open(path, "rb")
    if not f then
        io.stderr:write(("bench/csv.lua: %s missing, %s skipped\n"):format(path, workload))
        return
    end
    local mb = f:seek("end") / 1e6
    f:close()
    child(kind, path, threads) -- warm-up
    local runs = {}
    for r = 1, reps do runs[r] = child(kind, path, threads) end
    table.sort(runs, function(a, b) return a.seconds < b.seconds end)
    local med = runs[(#runs + 1) // 2]
    print(string.format('{"workload": "%s", "tool": "moonforge", "threads": %d, "seconds": %.6g, '
        .. '"throughput": %.1f, "unit": "rows/s", "stat": "median of %d after a warm-up, each in a fresh process", '
        .. '"best_seconds": %.6g, "read_csv_seconds": %.6g, "rows": %d, "mb_per_s": %.1f, '
        .. '"peak_rss_mb": %.1f, "rss_read_delta_mb": %.1f}',
        workload, threads, med.seconds, med.rows / med.seconds, reps, runs[1].seconds, med.read, med.rows,
        mb / med.seconds, med.hwm / 1024, (med.hwm - med.base) / 1024))
    io.stdout:flush()
end

for _, th in ipairs({1, 2}) do measure("W7_csv_read", "W7", "sensors_raw.csv", th) end
for _, th in ipairs({1, 2}) do measure("W0_load_quality_reg", "W0", "quality_reg.csv", th) end
