-- moonforge against scikit-learn on the small data sets scikit-learn ships
-- (iris, wine, breast cancer, diabetes, digits; examples/data/sklearn/).
--
--     build/moonforge examples/sklearn_datasets.lua
--
-- The scikit-learn side is tests/reference/sklearn_datasets.py: it drew the
-- train/test split of each data set (train_test_split, test_size = 0.25,
-- random_state = 0, stratified for the classifiers), wrote the test rows to
-- tests/fixtures/sklearn_test_rows.csv and its scores to
-- tests/fixtures/sklearn_reference.csv. Here the same models, with the same
-- settings, run through moonforge's public API on exactly those rows, and
-- the two scores are printed side by side: accuracy for the classifiers, R²
-- for the regressors; "cv5" rows are the mean of 5-fold cross_val_score
-- (StratifiedKFold / KFold without shuffling, on all rows).
local mf = require "moonforge"
local models, P, MS = mf.models, mf.preprocess, mf.model_selection

-- (the directory of this file, also when it is run by dofile)
local HERE = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
local DATA = HERE .. "/data/sklearn/"
local FIXTURES = HERE .. "/../tests/fixtures/"

-- The moonforge estimator of each reference row, by model and params (the
-- texts the reference script writes).
local function scaled(est) return mf.Pipeline{P.StandardScaler{}, est} end
local function svc(opts) return scaled(models.SVC(opts)) end
local BUILD = {
    ["LinearRegression "] = function() return models.LinearRegression{} end,
    ["Ridge alpha=1"] = function() return models.Ridge{alpha = 1} end,
    ["Lasso alpha=0.1"] = function() return models.Lasso{alpha = 0.1, max_iter = 100000} end,
    ["ElasticNet alpha=0.1 l1_ratio=0.5"] = function()
        return models.ElasticNet{alpha = 0.1, l1_ratio = 0.5, max_iter = 100000}
    end,
    ["LogisticRegression C=1"] = function() return scaled(models.LogisticRegression{C = 1, max_iter = 10000}) end,
    ["LinearSVC C=1 dual=false"] = function()
        return scaled(models.LinearSVC{C = 1, dual = false, max_iter = 10000})
    end,
    ["KNeighborsClassifier n_neighbors=5"] = function()
        return scaled(models.KNeighborsClassifier{n_neighbors = 5})
    end,
    ["GaussianNB "] = function() return models.GaussianNB{} end,
    ["SVC kernel=rbf C=1 gamma=scale"] = function() return svc{kernel = "rbf", C = 1, gamma = "scale"} end,
    ["SVC kernel=linear C=1"] = function() return svc{kernel = "linear", C = 1} end,
    ["SVC kernel=poly degree=3 C=1"] = function() return svc{kernel = "poly", degree = 3, C = 1} end,
}

-- A string column as a Lua array, missing (an empty params field) as "".
local function strings(tbl, name)
    local v = tbl:column(name)
    for i = 1, #v do if v[i] == mf.data.NA then v[i] = "" end end
    return v
end

-- Each data set: X (float64 tensor), y (int64 labels or float64 target) and
-- the train and test rows of the reference split.
local split_rows = mf.data.read_csv(FIXTURES .. "sklearn_test_rows.csv")
local split_names, split_row = strings(split_rows, "dataset"), split_rows:column("row")
local cache = {}
local function dataset(name)
    if cache[name] then return cache[name] end
    local tbl = mf.data.read_csv(DATA .. name .. ".csv")
    local n = #tbl
    local mine = {}
    for i = 1, #split_names do mine[#mine + 1] = split_names[i] == name end
    local test = split_row:index(1, mf.tensor(mine, "bool"):nonzero():reshape(-1))
    local in_test = mf.zeros(n, "int64"):scatter_add_(1, test, mf.ones(test:size(1), "int64"))
    local train = in_test:eq(0):nonzero():reshape(-1)
    local d = {X = tbl:drop{"target"}:to_tensor(), y = tbl:column("target"), train = train, test = test}
    if d.y:dtype() ~= "int64" then d.y = d.y:to("float64") end
    cache[name] = d
    return d
end

-- The moonforge score of one reference row.
local function score(row)
    local est = BUILD[row.model .. " " .. row.params]
    assert(est, "no moonforge model for " .. row.model .. " " .. row.params)
    est = est()
    local d = dataset(row.dataset)
    if row.eval == "test" then
        est:fit(d.X:index(1, d.train), d.y:index(1, d.train))
        return est:score(d.X:index(1, d.test), d.y:index(1, d.test))
    end
    local cv = row.metric == "accuracy" and MS.StratifiedKFold{n_splits = 5} or MS.KFold{n_splits = 5}
    return MS.cross_val_score(est, d.X, d.y, {cv = cv}):mean():item()
end

local ref = mf.data.read_csv(FIXTURES .. "sklearn_reference.csv")
local cols = {}
for _, name in ipairs({"dataset", "model", "params", "scaled", "eval", "metric"}) do
    cols[name] = strings(ref, name)
end
local sk = ref:column("sklearn"):totable()

print(("%-14s %-21s %-34s %-5s %-8s %9s %9s %8s"):format("dataset", "model", "params", "eval",
      "metric", "moonforge", "sklearn", "diff"))
local within, worst = 0, 0
for i = 1, #ref do
    local row = {}
    for name, v in pairs(cols) do row[name] = v[i] end
    local mine = score(row)
    local params = row.params .. (row.scaled == "yes" and " +scaler" or "")
    local head = ("%-14s %-21s %-34s %-5s %-8s"):format(row.dataset, row.model, params, row.eval, row.metric)
    local diff = mine - sk[i]
    if math.abs(diff) <= 0.01 then within = within + 1 end
    worst = math.max(worst, math.abs(diff))
    print(("%s %9.4f %9.4f %+8.4f"):format(head, mine, sk[i], diff))
end
print(("\n%d of %d rows within 0.01 of scikit-learn (largest difference %.4f)"):format(within, #ref, worst))
