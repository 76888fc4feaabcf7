-- bench/matmul.lua — moonforge's side of the W1 GEMM workload: C = A·B,
-- float32, square n x n, through mf.matmul. bench/gemm_ref.c times raw
-- cblas_sgemm on the same sizes in the same run (tool "cblas_sgemm"), so the
-- two read as a ratio.
--
--   build/moonforge bench/matmul.lua [quick]
--
-- W1_gemm_f32_n256 | n1024 | n2048 (quick: n64, n128), two records each:
--   "moonforge"       mf.matmul(a, b): a new result per call (allocation
--                     included, freed with :free() after the clock stops)
--   "moonforge_out"   mf.matmul(a, b, {out = c}): into an existing tensor,
--                     as gemm_ref.c does
-- At 1 and 2 threads (mf.set_num_threads; a count the machine cannot give is
-- skipped). One warm-up call, then `reps` repetitions of `calls` calls each
-- (a repetition lasts about 0.2 s, 0.02 s in quick mode, as in gemm_ref.c);
-- seconds per call is the median over repetitions; GFLOP/s = 2 n^3 / s.
-- Inputs are uniform in [0, 1) from mf.rand (seed 42); the result is checked on
-- sampled entries against a float64 dot product (metric max_rel_err).
local mf = require "moonforge"

local quick = arg ~= nil and arg[1] == "quick"
local SIZES = quick and { 64, 128 } or { 256, 1024, 2048 }
local REPS = quick and 5 or 7
local TARGET = quick and 0.02 or 0.2

local clock = mf.clock

local function median(v)
    local s = {}
    for i = 1, #v do s[i] = v[i] end
    table.sort(s)
    local n = #s
    if n % 2 == 1 then return s[(n + 1) // 2] end
    return (s[n // 2] + s[n // 2 + 1]) / 2
end

-- Largest |c - a·b| over sampled entries, relative to sum |a||b| of the entry.
local function max_rel_err(a, b, c, n)
    local worst, seed = 0, 7
    for _ = 1, 16 do
        seed = (seed * 1103515245 + 12345) % 2147483648
        local i = seed % n + 1
        seed = (seed * 1103515245 + 12345) % 2147483648
        local j = seed % n + 1
        local ref, mag = 0, 0
        for p = 1, n do
            local x = a:get(i, p) * b:get(p, j)
            ref, mag = ref + x, mag + math.abs(x)
        end
        local e = math.abs(c:get(i, j) - ref) / (mag > 0 and mag or 1)
        if e > worst then worst = e end
    end
    return worst
end

-- fn() performs one product and returns its seconds; measure returns the
-- median seconds per call, the best repetition's, and the calls per repetition.
local function measure(fn)
    local t0 = clock()
    fn()
    local once = clock() - t0
    local calls = once > 0 and math.floor(TARGET / once) or 1000
    calls = math.max(1, math.min(1000, calls))
    local t = {}
    for r = 1, REPS do
        local sum = 0
        for _ = 1, calls do sum = sum + fn() end
        t[r] = sum / calls
    end
    return median(t), math.min(table.unpack(t)), calls
end

local function report(n, tool, threads, med, best, calls, err)
    print(string.format('{"workload": "W1_gemm_f32_n%d", "tool": "%s", "threads": %d, '
        .. '"seconds": %.6g, "throughput": %.2f, "unit": "GFLOP/s", "stat": "median", '
        .. '"best_seconds": %.6g, "reps": %d, "calls_per_rep": %d, "metric": %.3g, '
        .. '"metric_name": "max_rel_err", "blas_env": "OPENBLAS_CORETYPE=%s"}',
        n, tool, threads, med, 2 * n ^ 3 / med / 1e9, best, REPS, calls, err,
        os.getenv("OPENBLAS_CORETYPE") or "unset"))
    io.stdout:flush()
end

local saved = mf.get_num_threads()
mf.manual_seed(42)
for _, n in ipairs(SIZES) do
    local a = mf.rand(n, n)
    local b = mf.rand(n, n)
    local c = mf.zeros(n, n)
    for threads = 1, 2 do
        local got = mf.set_num_threads(threads)
        if got ~= threads then
            io.stderr:write(("bench/matmul.lua: %d threads not available (got %d), skipped\n")
                :format(threads, got))
        else
            -- a new result per call; freed after the clock stopped
            local med, best, calls = measure(function()
                local t0 = clock()
                local r = mf.matmul(a, b)
                local dt = clock() - t0
                r:free()
                return dt
            end)
            local check = mf.matmul(a, b)
            report(n, "moonforge", threads, med, best, calls, max_rel_err(a, b, check, n))
            check:free()
            -- into an existing tensor
            med, best, calls = measure(function()
                local t0 = clock()
                mf.matmul(a, b, { out = c })
                return clock() - t0
            end)
            report(n, "moonforge_out", threads, med, best, calls, max_rel_err(a, b, c, n))
        end
    end
    a:free()
    b:free()
    c:free()
end
mf.set_num_threads(saved)
