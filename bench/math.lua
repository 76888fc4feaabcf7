-- bench/math.lua — moonforge's side of the W1 elementwise workloads, through
-- the public Lua API; bench/ref_loops.c times the same loops in plain C.
--
--   build/moonforge bench/math.lua [quick]
--
-- W1_add_f32_10M (quick: _100k)   c = a + b, float32, a new tensor per call
-- W1_exp_f32_10M (quick: _100k)   y = mf.exp(a)
-- W1_small_add_overhead           a + b on 4-element tensors: the per-call
--                                 cost of the Lua API (seconds per call)
--
-- At 1 and 2 threads (mf.set_num_threads). Median over repetitions after a
-- warm-up; the result of each timed call is freed after the clock stops.
local mf = require "moonforge"

local quick = arg ~= nil and arg[1] == "quick"
local REPS = quick and 5 or 7
local TARGET = quick and 0.01 or 0.1

local function median(v)
    table.sort(v)
    local n = #v
    return n % 2 == 1 and v[(n + 1) // 2] or (v[n // 2] + v[n // 2 + 1]) / 2
end

local function one_call(fn, a, b)
    local t0 = mf.clock()
    local r = fn(a, b)
    local dt = mf.clock() - t0
    r:free()
    return dt
end

local function measure(workload, fn, a, b, threads, bytes)
    local once = one_call(fn, a, b)
    local calls = math.max(1, math.min(1000, once > 0 and math.floor(TARGET / once) or 1000))
    local t = {}
    for r = 1, REPS do
        local sum = 0
        for _ = 1, calls do sum = sum + one_call(fn, a, b) end
        t[r] = sum / calls
    end
    local med = median(t)
    print(string.format('{"workload": "%s", "tool": "moonforge", "threads": %d, '
        .. '"seconds": %.6g, "throughput": %.2f, "unit": "GB/s", "stat": "median", '
        .. '"best_seconds": %.6g, "reps": %d, "calls_per_rep": %d, "bytes": %d}',
        workload, threads, med, 2 * bytes / med / 1e9, t[1], REPS, calls, bytes))
    io.stdout:flush()
end

-- Per-call overhead of a + b on tiny tensors: many calls per timing, no
-- explicit free (the collector's cost is part of the real per-call cost).
local function overhead(threads)
    local a, b = mf.ones(4), mf.ones(4)
    local n = quick and 20000 or 200000
    local t = {}
    for r = 1, REPS + 1 do
        local t0 = mf.clock()
        for _ = 1, n do local _ = a + b end
        t[r] = (mf.clock() - t0) / n
    end
    table.remove(t, 1) -- warm-up
    local med = median(t)
    print(string.format('{"workload": "W1_small_add_overhead", "tool": "moonforge", "threads": %d, '
        .. '"seconds": %.6g, "throughput": %.0f, "unit": "calls/s", "stat": "median", '
        .. '"best_seconds": %.6g, "reps": %d, "calls_per_rep": %d}',
        threads, med, 1 / med, t[1], REPS, n))
    io.stdout:flush()
end

local n = quick and 100000 or 10000000
local suffix = quick and "100k" or "10M"
local saved = mf.get_num_threads()
for threads = 1, 2 do
    if mf.set_num_threads(threads) == threads then
        local a = mf.zeros(n)
        measure("W1_add_f32_" .. suffix, function(x, y) return x + y end, a, a, threads, n * 4)
        measure("W1_exp_f32_" .. suffix, function(x) return mf.exp(x) end, a, nil, threads, n * 4)
        a:free()
        overhead(threads)
    end
end
mf.set_num_threads(saved)
