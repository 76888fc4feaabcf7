-- bench/train.lua — moonforge's side of the MLP training workloads of
-- ../shared/bench/WORKLOADS.md, through model:fit (which runs the C fast
-- path of core/mf_plan.h for these models):
--
--   W2_mlp_tabular  tabular_defect.csv, 80/20 split; 30 -> 64 -> 64 -> 1
--                   ReLU/ReLU/sigmoid, binary cross-entropy, Adam lr 1e-3,
--                   batch 32, shuffled, 3 epochs
--   W3_mlp_wide     wide_cls.csv, 80/20 split; 784 -> 256 -> 128 -> 10,
--                   softmax cross-entropy, Adam lr 1e-3, batch 128, 1 epoch
--
--   build/moonforge bench/train.lua [quick] [--data DIR] [--cache DIR]
--
-- The split is the first 80% of mf.randperm(N) after mf.manual_seed(42);
-- fit shuffles with seed 7. Timed: the fit call (all epochs, no metric or
-- validation pass), median of REPS runs from the same initial weights after
-- one warm-up run; throughput = training samples x epochs / seconds. The
-- metric is the test accuracy of the last run (predict on the 20%). At 1
-- and 2 threads (mf.set_num_threads). Extra fields: the fit's core
-- allocations per step (mf.mem_allocations), peak RSS, and the generic
-- autograd path (nn.fast_path = false) for one epoch, tool
-- "moonforge_generic", for the ratio.
--
-- The CSV files are read by a plain Lua loop (moonforge has no CSV reader
-- yet), once: the tensors are cached as moonforge tensor files in --cache
-- (bench/run.sh passes build/bench). Without the data directory, the
-- workloads are skipped with a message. `quick` uses synthetic data made in
-- memory (no files) at small sizes, under a few seconds, with workload names
-- ending in _quick.
local mf = require "moonforge"
local nn = mf.nn

local quick, data_dir, cache_dir = false, "bench/data", nil
do
    local i = 1
    while arg and arg[i] do
        local a = arg[i]
        if a == "quick" then quick = true
        elseif a == "--data" then data_dir, i = arg[i + 1], i + 1
        elseif a == "--cache" then cache_dir, i = arg[i + 1], i + 1
        else
            io.stderr:write("usage: moonforge bench/train.lua [quick] [--data DIR] [--cache DIR]\n")
            os.exit(2)
        end
        i = i + 1
    end
end

local REPS = quick and 3 or 5
local SPLIT_SEED, FIT_SEED, INIT_SEED = 42, 7, 1

local function note(fmt, ...) io.stderr:write("bench: ", fmt:format(...), "\n") end

local function median(v)
    local s = {}
    for i = 1, #v do s[i] = v[i] end
    table.sort(s)
    local n = #s
    if n % 2 == 1 then return s[(n + 1) // 2] end
    return (s[n // 2] + s[n // 2 + 1]) / 2
end

local function peak_rss_mb()
    local f = io.open("/proc/self/status")
    if not f then return nil end
    local s = f:read("a")
    f:close()
    local kb = s:match("VmHWM:%s*(%d+)")
    return kb and tonumber(kb) / 1024 or nil
end

local function file_exists(path)
    local f = io.open(path)
    if f then f:close() end
    return f ~= nil
end

---------------------------------------------------------------- data

-- All rows of a numeric CSV with a header as one float32 tensor.
local function read_csv(path)
    local f = assert(io.open(path))
    f:read("l") -- header
    local chunks, rows, n = {}, {}, 0
    for line in f:lines() do
        local row, k = {}, 0
        for v in line:gmatch("[^,]+") do
            k = k + 1
            row[k] = tonumber(v)
        end
        n = n + 1
        rows[#rows + 1] = row
        if #rows == 1000 then
            chunks[#chunks + 1] = mf.tensor(rows, "float32")
            rows = {}
        end
    end
    f:close()
    if #rows > 0 then chunks[#chunks + 1] = mf.tensor(rows, "float32") end
    return mf.cat(chunks, 1)
end

-- X [N x features] and labels [N] (the last column) of a data set, from
-- the cache when it is there.
local function load(name)
    local csv = data_dir .. "/" .. name .. ".csv"
    local cached = cache_dir and (cache_dir .. "/" .. name .. ".mf")
    if cached and file_exists(cached) then
        local d = mf.load(cached)
        return d.X, d.y
    end
    if not file_exists(csv) then return nil end
    local t0 = mf.clock()
    local all = read_csv(csv)
    local ncol = all:size(2)
    local X, y = all:narrow(2, 1, ncol - 1):contiguous(), all:select(2, ncol):contiguous()
    note("read %s (%dx%d) in %.1f s", csv, X:size(1), X:size(2), mf.clock() - t0)
    if cached then mf.save({ X = X, y = y }, cached) end
    return X, y
end

-- Synthetic stand-ins for quick mode: the tabular rule of make_data.py's
-- kind (linear part + interactions + noise) and noisy prototypes.
local function synthetic_tabular(n)
    mf.manual_seed(5)
    local X = mf.randn(n, 30)
    local c = X:narrow(2, 1, 10):sum(2) * 0.5 + X:select(2, 11) * X:select(2, 12) - X:select(2, 13):abs()
        + mf.randn(n) * 0.5
    return X, c:gt(0):float()
end

local function synthetic_wide(n)
    mf.manual_seed(6)
    local protos = mf.rand(10, 784)
    local y = mf.randint(0, 10, { n })
    local X = (protos:index(1, y + 1) + mf.randn(n, 784) * 0.3):clamp(0, 1)
    return X, y:float()
end

-- 80/20 split by a seeded permutation.
local function split(X, y)
    mf.manual_seed(SPLIT_SEED)
    local n = X:size(1)
    local perm = mf.randperm(n)
    local ntr = math.floor(n * 0.8)
    local tr, te = perm:narrow(1, 1, ntr), perm:narrow(1, ntr + 1, n - ntr)
    return X:index(1, tr), y:index(1, tr), X:index(1, te), y:index(1, te)
end

---------------------------------------------------------------- training

local has_fit = nn.Dense ~= nil and nn.Module.fit ~= nil

-- A fresh model with the initial weights of INIT_SEED.
local function build(widths, acts)
    mf.manual_seed(INIT_SEED)
    local mods = {}
    for i = 1, #widths - 1 do
        if has_fit then
            mods[i] = nn.Dense(widths[i + 1], { activation = acts[i], input_dim = widths[i] })
        else
            mods[#mods + 1] = nn.Linear(widths[i], widths[i + 1])
            local a = ({ relu = nn.ReLU, sigmoid = nn.Sigmoid })[acts[i]]
            if a then mods[#mods + 1] = a() elseif acts[i] == "softmax" then mods[#mods + 1] = nn.Softmax(-1) end
        end
    end
    return nn.Sequential(mods)
end

-- Trains a model (through fit, or the plan directly when fit is missing);
-- returns the model, the seconds of training and the number of steps.
local function train(w, Xtr, ytr)
    local model = build(w.widths, w.acts)
    local steps = w.epochs * ((Xtr:size(1) + w.batch - 1) // w.batch)
    if has_fit then
        model:compile { optimizer = mf.optim.Adam { lr = 1e-3 }, loss = w.loss }
        local t0 = mf.clock()
        model:fit(Xtr, ytr, { epochs = w.epochs, batch_size = w.batch, shuffle = true, seed = FIT_SEED,
                              verbose = 0 })
        return model, mf.clock() - t0, steps
    end
    local opt = mf.optim.Adam(model:parameters(), { lr = 1e-3 })
    local target = w.loss == "binary_crossentropy" and ytr:view(-1, 1) or (ytr:long() + 1)
    local plan = assert(nn._fast_plan(model, { loss = w.loss, optimizer = opt, batch_size = w.batch }))
    mf.manual_seed(FIT_SEED)
    local n = Xtr:size(1)
    local t0 = mf.clock()
    for _ = 1, w.epochs do
        local perm = mf.randperm(n)
        for first = 1, n, w.batch do plan:train_batch(Xtr, target, perm, first, math.min(w.batch, n - first + 1)) end
    end
    local dt = mf.clock() - t0
    model._plan = plan
    return model, dt, steps
end

local function accuracy(model, w, Xte, yte)
    local out = model._plan and model._plan:forward(Xte)
        or (has_fit and model:predict(Xte) or mf.no_grad(function() return model(Xte) end))
    local pred
    if w.loss == "binary_crossentropy" then pred = out:reshape(-1):gt(0.5):float()
    else pred = (out:argmax(2) - 1):float():reshape(-1) end
    return mf.eq(pred, yte):float():mean():item()
end

local function run(w, X, y)
    local Xtr, ytr, Xte, yte = split(X, y)
    local ntr = Xtr:size(1)
    for _, threads in ipairs { 1, 2 } do
        if mf.set_num_threads(threads) == threads then
            train(w, Xtr, ytr) -- warm-up
            local times, model, steps = {}, nil, nil
            local allocs0 = mf.mem_allocations()
            for r = 1, REPS do
                local dt
                model, dt, steps = train(w, Xtr, ytr)
                times[r] = dt
            end
            local allocs = (mf.mem_allocations() - allocs0) / (REPS * steps)
            local acc = accuracy(model, w, Xte, yte)
            local sec = median(times)
            local rss = peak_rss_mb()
            print(string.format('{"workload": "%s", "tool": "moonforge", "threads": %d, "seconds": %.6g, '
                .. '"throughput": %.0f, "unit": "samples/s", "metric": %.4f, "metric_name": "test_accuracy", '
                .. '"stat": "median", "reps": %d, "best_seconds": %.6g, "epochs": %d, "batch_size": %d, '
                .. '"train_rows": %d, "engine": "%s", "allocs_per_step": %.3g, "rss_mb": %.0f, '
                .. '"split_seed": %d, "fit_seed": %d, "blas_env": "OPENBLAS_CORETYPE=%s"}',
                w.name, threads, sec, ntr * w.epochs / sec, acc, REPS, math.min(table.unpack(times)), w.epochs,
                w.batch, ntr, has_fit and "fit+plan" or "plan", allocs, rss or 0, SPLIT_SEED, FIT_SEED,
                os.getenv("OPENBLAS_CORETYPE") or "unset"))
            io.stdout:flush()
        end
    end
    -- the generic autograd path, one epoch at 1 thread, for the ratio
    if has_fit then
        mf.set_num_threads(1)
        nn.fast_path = false
        local gw = setmetatable({ epochs = 1 }, { __index = w })
        local nrows = math.min(ntr, quick and ntr or 20000)
        local ok, model, dt = pcall(train, gw, Xtr:narrow(1, 1, nrows), ytr:narrow(1, 1, nrows))
        nn.fast_path = true
        if ok then
            print(string.format('{"workload": "%s", "tool": "moonforge_generic", "threads": 1, "seconds": %.6g, '
                .. '"throughput": %.0f, "unit": "samples/s", "stat": "single", "epochs": 1, "batch_size": %d, '
                .. '"train_rows": %d, "engine": "fit+autograd"}', w.name, dt, nrows / dt, w.batch, nrows))
            io.stdout:flush()
        else
            note("generic path failed: %s", tostring(model))
        end
    end
end

local W2 = { name = "W2_mlp_tabular", widths = { 30, 64, 64, 1 }, acts = { "relu", "relu", "sigmoid" },
             loss = "binary_crossentropy", epochs = 3, batch = 32 }
local W3 = { name = "W3_mlp_wide", widths = { 784, 256, 128, 10 }, acts = { "relu", "relu", "softmax" },
             loss = "sparse_categorical_crossentropy", epochs = 1, batch = 128 }
if not has_fit then
    note("model:fit not found: driving the fast-path plan directly")
end

if quick then
    W2.name, W3.name = W2.name .. "_quick", W3.name .. "_quick"
    local X, y = synthetic_tabular(5000)
    note("W2 quick: synthetic tabular data, 5000 rows")
    run(W2, X, y)
    X, y = synthetic_wide(1500)
    note("W3 quick: synthetic prototypes, 1500 rows")
    run(W3, X, y)
    return
end

local X, y = load("tabular_defect")
if X then
    note("W2: %d rows", X:size(1))
    run(W2, X, y)
else
    note("%s/tabular_defect.csv not found: W2 skipped (make bench generates bench/data)", data_dir)
end
X, y = load("wide_cls")
if X then
    note("W3: %d rows", X:size(1))
    run(W3, X, y)
else
    note("%s/wide_cls.csv not found: W3 skipped (make bench generates bench/data)", data_dir)
end
