-- bench/svm.lua — SVC (not a workload of ../shared/bench/WORKLOADS.md: the
-- kernel SVM of issue 8, "for data up to ~20k rows"): the first N rows of
-- tabular_defect.csv (N = 5,000 and 20,000), standardized, an 80/20 split
-- by a seeded permutation (mf.data.train_test_split, seed 0), then
-- SVC{kernel = "rbf", C = 1, gamma = "scale"} and SVC{kernel = "linear"}
-- (5,000 rows only): fit seconds (median of REPS fits), predict seconds on
-- the test rows, test accuracy, SMO iterations, at 1 and 2 threads.
-- bench/svm_peer.py runs scikit-learn's SVC (libsvm) on the same rows and
-- split (the split's test rows are passed to it through a file).
--
--   build/moonforge bench/svm.lua [DATA_DIR]     (default bench/data)
local mf = require "moonforge"

local dir = arg and arg[1] or "bench/data"
local path = dir .. "/tabular_defect.csv"
local REPS = 3

local function median(v)
    local c = table.move(v, 1, #v, 1, {})
    table.sort(c)
    return c[(#c + 1) // 2]
end

local f = io.open(path, "rb")
if not f then
    io.stderr:write("bench/svm.lua: ", path, " not found (sh bench/run.sh full generates bench/data)\n")
    os.exit(1)
end
f:close()

local all = mf.data.read_csv(path):to_tensor():to("float64")
local d = all:size(2) - 1

for _, n in ipairs{5000, 20000} do
    local X = all:narrow(1, 1, n):narrow(2, 1, d):contiguous()
    local y = all:narrow(1, 1, n):select(2, d + 1):to("int64")
    local Xtr, Xte, ytr, yte = mf.data.train_test_split(X, y, {test_size = 0.2, seed = 0})
    local sc = mf.preprocess.StandardScaler{}:fit(Xtr)
    Xtr, Xte = sc:transform(Xtr), sc:transform(Xte)
    for _, kernel in ipairs{"rbf", "linear"} do
        if kernel == "rbf" or n <= 5000 then
            for _, threads in ipairs{1, 2} do
                mf.set_num_threads(threads)
                local times, m = {}, nil
                for r = 1, (n > 5000 and 1 or REPS) do
                    local t0 = mf.clock()
                    m = mf.models.SVC{kernel = kernel, C = 1}:fit(Xtr, ytr)
                    times[r] = mf.clock() - t0
                end
                local t0 = mf.clock()
                local acc = m:score(Xte, yte)
                local tp = mf.clock() - t0
                local iters = 0
                for _, v in ipairs(m.n_iter:totable()) do iters = iters + v end
                print(('{"workload": "SVC_%s_%dk", "tool": "moonforge.SVC", "threads": %d, "seconds": %.6g, '
                       .. '"predict_seconds": %.6g, "metric": %.6g, "metric_name": "test_acc", "n_iter": %d, '
                       .. '"n_support": %d}'):format(kernel, n // 1000, threads, median(times), tp, acc, iters,
                                                     m.support:size(1)))
                io.stdout:flush()
            end
        end
    end
end
