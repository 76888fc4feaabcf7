-- bench/classify.lua — W5_logreg and W6_linear_svm of ../shared/bench/WORKLOADS.md:
-- tabular_defect.csv, an 80/20 split by a seeded permutation
-- (mf.data.train_test_split, seed 0), then
--   W5  LogisticRegression{C = 1} (L2, lbfgs, max_iter = 200 as the peer) to convergence
--   W6  LinearSVC{C = 1} (squared hinge; "auto" picks the primal solver as the
--       peer's dual=False)
-- fit seconds (median of REPS fits) and test accuracy, at 1 and 2 threads.
-- The features are used as read (float32 in the peer, float64 here), with no
-- scaling: peers.py's w5_w6_linear does none either.
--
--   build/moonforge bench/classify.lua [DATA_DIR]     (default bench/data)
local mf = require "moonforge"

local dir = arg and arg[1] or "bench/data"
local path = dir .. "/tabular_defect.csv"
local REPS = 5

local function median(v)
    local c = table.move(v, 1, #v, 1, {})
    table.sort(c)
    local n = #c
    return n % 2 == 1 and c[(n + 1) // 2] or (c[n // 2] + c[n // 2 + 1]) / 2
end

local function emit(workload, tool, seconds, ntrain, acc, n_iter)
    print(('{"workload": "%s", "tool": "%s", "threads": %d, "seconds": %.6g, "throughput": %.6g, '
           .. '"unit": "samples/s", "metric": %.6g, "metric_name": "test_acc", "n_iter": %d}')
          :format(workload, tool, mf.get_num_threads(), seconds, ntrain / seconds, acc, n_iter))
    io.stdout:flush()
end

local f = io.open(path, "rb")
if not f then
    io.stderr:write("bench/classify.lua: ", path, " not found (sh bench/run.sh full generates bench/data)\n")
    os.exit(1)
end
f:close()

local tbl = mf.data.read_csv(path)
local all = tbl:to_tensor():to("float64")
local d = all:size(2) - 1
local X = all:narrow(2, 1, d):contiguous()
local y = all:select(2, d + 1):to("int64")
local Xtr, Xte, ytr, yte = mf.data.train_test_split(X, y, {test_size = 0.2, seed = 0})

local cases = {
    {"W5_logreg", "moonforge.LogisticRegression(lbfgs,max_iter=200)",
     function() return mf.models.LogisticRegression{C = 1, max_iter = 200} end},
    {"W6_linear_svm", "moonforge.LinearSVC(squared_hinge,auto)",
     function() return mf.models.LinearSVC{C = 1} end},
}
for _, th in ipairs({1, 2}) do
    mf.set_num_threads(th)
    for _, c in ipairs(cases) do
        local times, m = {}, nil
        for r = 1, REPS do
            m = c[3]()
            local t0 = mf.clock()
            m:fit(Xtr, ytr)
            times[r] = mf.clock() - t0
        end
        emit(c[1], c[2], median(times), Xtr:size(1), m:score(Xte, yte), m.n_iter)
    end
end
