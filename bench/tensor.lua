-- bench/tensor.lua — moonforge's side of the W1 memory workloads, through
-- the public Lua API. bench/ref_loops.c times the same operations in plain C
-- (tool "c_loop"), so the two can be read as a ratio.
--
--   build/moonforge bench/tensor.lua [quick]
--
-- W1_clone_f32_10M (quick: W1_clone_f32_100k)   t:clone() of mf.zeros(n)
-- W1_transpose_contiguous_f32_2048              x:t():contiguous() of
--                                               mf.zeros(2048, 2048)
--
-- At 1 and 2 threads (mf.set_num_threads; a count the machine cannot give is
-- skipped). One warm-up call, then `reps` repetitions of `calls` calls each;
-- seconds per call is the median over repetitions. Only the call is timed:
-- its result is freed (t:free()) after the clock stops, as ref_loops.c frees
-- outside its timing. Prints one JSON line per result (WORKLOADS.md format).
-- Times are wall-clock (mf.clock, monotonic).
local mf = require "moonforge"

local quick = arg ~= nil and arg[1] == "quick"
local REPS = quick and 5 or 7
local TARGET = quick and 0.01 or 0.1   -- seconds per timed repetition

local clock = mf.clock

local function median(v)
    table.sort(v)
    local n = #v
    if n % 2 == 1 then return v[(n + 1) // 2] end
    return (v[n // 2] + v[n // 2 + 1]) / 2
end

-- Seconds of one call of fn(x); the result is freed once the clock stopped.
local function one_call(fn, x)
    local t0 = clock()
    local r = fn(x)
    local dt = clock() - t0
    if r ~= x then r:free() end
    return dt
end

local function measure(workload, fn, x, nbytes, threads)
    local once = one_call(fn, x)   -- warm-up
    local calls = once > 0 and math.floor(TARGET / once) or 1000
    calls = math.max(1, math.min(1000, calls))
    local t = {}
    for r = 1, REPS do
        local sum = 0
        for _ = 1, calls do sum = sum + one_call(fn, x) end
        t[r] = sum / calls
    end
    local med = median(t)
    print(string.format('{"workload": "%s", "tool": "moonforge", "threads": %d, '
        .. '"seconds": %.6g, "throughput": %.2f, "unit": "GB/s", "stat": "median", '
        .. '"best_seconds": %.6g, "reps": %d, "calls_per_rep": %d, "bytes": %d}',
        workload, threads, med, 2 * nbytes / med / 1e9, t[1], REPS, calls, nbytes))
    io.stdout:flush()
end

local function clone(x) return x:clone() end
local function transpose_contiguous(x) return x:t():contiguous() end

local clone_n = quick and 100000 or 10000000
local clone_name = quick and "W1_clone_f32_100k" or "W1_clone_f32_10M"
local tn = 2048

-- The results must be what the workloads say they are.
do
    local x = mf.zeros(3, 2)
    local y = transpose_contiguous(x)
    assert(y:is_contiguous() and y:size(1) == 2 and y:size(2) == 3,
        "t():contiguous() does not give a contiguous 2x3 tensor")
    assert(clone(x):numel() == 6, "clone() changed the number of elements")
end

local max_threads = 2
local saved = mf.get_num_threads()
for threads = 1, max_threads do
    local got = mf.set_num_threads(threads)
    if got ~= threads then
        io.stderr:write(("bench/tensor.lua: %d threads not available (got %d), skipped\n")
            :format(threads, got))
    else
        local src = mf.zeros(clone_n)
        measure(clone_name, clone, src, clone_n * 4, threads)
        src:free()
        local sq = mf.zeros(tn, tn)
        measure("W1_transpose_contiguous_f32_2048", transpose_contiguous, sq, tn * tn * 4,
            threads)
        sq:free()
    end
end
mf.set_num_threads(saved)
