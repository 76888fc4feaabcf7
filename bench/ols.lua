-- bench/ols.lua — W4 of ../shared/bench/WORKLOADS.md: least-squares fit with
-- intercept on quality_reg.csv (float64, all rows) at 1 and 2 threads; R².
-- The CSV is read once (not timed). Usage: moonforge bench/ols.lua [data dir]
local mf = require "moonforge"
local dir = arg[1] or "bench/data"
local t = mf.data.read_csv(dir .. "/quality_reg.csv")
local y = t:column("quality"):to("float64"):contiguous()
local names = {}
for _, n in ipairs(t:columns()) do if n ~= "quality" then names[#names + 1] = n end end
local X = t:to_tensor{columns = names}
t = nil -- luacheck: ignore
collectgarbage()
local clock = mf.clock
for _, th in ipairs{1, 2} do
    mf.set_num_threads(th)
    local best = math.huge
    local m
    for _ = 1, 3 do
        local t0 = clock()
        m = mf.models.LinearRegression():fit(X, y)
        local dt = clock() - t0
        if dt < best then best = dt end
    end
    print(('{"workload": "W4_ols", "tool": "moonforge.LinearRegression", "threads": %d, '
           .. '"seconds": %.6g, "throughput": %.1f, "unit": "rows/s", "stat": "best of 3", '
           .. '"r2": %.6f, "solver": "%s"}')
          :format(th, best, X:size(1) / best, m:score(X, y), m.solver_used))
    io.stdout:flush()
end
