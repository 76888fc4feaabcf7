-- moonforge against scikit-learn on the data sets scikit-learn ships
-- (examples/data/sklearn/, see its LICENSE.md): every score of
-- tests/fixtures/sklearn_reference.csv (written by
-- tests/reference/sklearn_datasets.py with scikit-learn 1.2.1) is matched
-- within 0.01 by the same model with the same settings on the same test rows
-- (the exact least-squares fits to 1e-6), and moonforge's StratifiedKFold
-- deals the rows to the same folds as scikit-learn's. The data files are
-- checked against the figures their documentation gives.
local lu = require "luaunit"
local mf = require "moonforge"
local models, P, MS = mf.models, mf.preprocess, mf.model_selection

local ROOT = arg[0]:gsub("[^/]*$", "") .. "../"
local DATA = ROOT .. "examples/data/sklearn/"
local FIXTURES = ROOT .. "tests/fixtures/"

local CLASSIFICATION = {"iris", "wine", "breast_cancer", "digits"}

---------------------------------------------------------------- helpers
local function strings(tbl, name)
    local v = tbl:column(name)
    for i = 1, #v do if v[i] == mf.data.NA then v[i] = "" end end
    return v
end

-- The rows (int64 tensor) of a long fixture whose "dataset" column is name.
local function rows_of(tbl, name, col)
    local names, mask = strings(tbl, "dataset"), {}
    for i = 1, #names do mask[i] = names[i] == name end
    return tbl:column(col):index(1, mf.tensor(mask, "bool"):nonzero():reshape(-1))
end

local split_tbl = mf.data.read_csv(FIXTURES .. "sklearn_test_rows.csv")
local cache = {}
-- {tbl, X, y, train, test} of a data set.
local function dataset(name)
    if cache[name] then return cache[name] end
    local tbl = mf.data.read_csv(DATA .. name .. ".csv")
    local test = rows_of(split_tbl, name, "row")
    local in_test = mf.zeros(#tbl, "int64"):scatter_add_(1, test, mf.ones(test:size(1), "int64"))
    local d = {tbl = tbl, X = tbl:drop{"target"}:to_tensor(), y = tbl:column("target"),
               test = test, train = in_test:eq(0):nonzero():reshape(-1)}
    cache[name] = d
    return d
end

-- Class counts of an int64 label tensor with labels 0..K-1.
local function counts(y, K)
    local c = {}
    for k = 0, K - 1 do c[#c + 1] = y:eq(k):sum():item() end
    return c
end

---------------------------------------------------------------- data files
TestSklearnData = {}

-- Shapes, names and class counts as the data sets' descriptions (DESCR)
-- state them; the first row of each as in scikit-learn's original file.
function TestSklearnData:test_shapes_and_counts()
    local expect = {
        iris = {150, 4, {50, 50, 50}},
        wine = {178, 13, {59, 71, 48}},
        breast_cancer = {569, 30, {212, 357}},  -- malignant (0), benign (1)
        digits = {1797, 64, {178, 182, 177, 183, 181, 182, 181, 179, 174, 180}},
        diabetes = {442, 10},
    }
    for name, e in pairs(expect) do
        local d = dataset(name)
        lu.assertEquals({#d.tbl, #d.tbl:columns()}, {e[1], e[2] + 1}, name)
        lu.assertEquals(d.tbl:columns()[e[2] + 1], "target", name)
        if e[3] then
            lu.assertEquals(d.y:dtype(), "int64", name)
            lu.assertEquals(counts(d.y, #e[3]), e[3], name)
        end
        for col, dt in pairs(d.tbl:dtypes()) do
            lu.assertTrue(dt == "int64" or dt == "float64", name .. "." .. col .. " is " .. dt)
        end
    end
    local function first_row(name)
        return dataset(name).tbl:to_tensor():narrow(1, 1, 1):reshape(-1):totable()
    end
    lu.assertEquals(dataset("iris").tbl:columns(),
                    {"sepal_length", "sepal_width", "petal_length", "petal_width", "target"})
    lu.assertEquals(first_row("iris"), {5.1, 3.5, 1.4, 0.2, 0})
    lu.assertEquals(dataset("diabetes").tbl:columns(),
                    {"age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6", "target"})
    -- the raw (unscaled) values of diabetes_data_raw.csv.gz and its target
    lu.assertEquals(first_row("diabetes"), {59, 2, 32.1, 101, 157, 93.2, 38, 4, 4.8598, 87, 151})
    local wine = dataset("wine").tbl:columns()
    lu.assertEquals({wine[1], wine[12], wine[13]}, {"alcohol", "od280_od315_of_diluted_wines", "proline"})
    local bc = dataset("breast_cancer").tbl:columns()
    lu.assertEquals({bc[1], bc[30]}, {"mean_radius", "worst_fractal_dimension"})
    local dg = dataset("digits").tbl:columns()
    lu.assertEquals({dg[1], dg[2], dg[9], dg[64]}, {"pixel_0_0", "pixel_0_1", "pixel_1_0", "pixel_7_7"})
    -- digits: 8x8 images of 4-bit counts
    local X = dataset("digits").X
    lu.assertEquals({X:amin():item(), X:amax():item()}, {0, 16})
end

-- The reference split: a quarter of the rows (rounded up, as
-- train_test_split), distinct, in range; stratified for the classifiers
-- (each class's test count within one of a quarter of its count).
function TestSklearnData:test_reference_split()
    for name, n_test in pairs({iris = 38, wine = 45, breast_cancer = 143, diabetes = 111, digits = 450}) do
        local d = dataset(name)
        lu.assertEquals(d.test:size(1), n_test, name)
        lu.assertEquals(mf.unique(d.test):size(1), n_test, name)
        lu.assertTrue(d.test:amin():item() >= 1 and d.test:amax():item() <= #d.tbl, name)
        lu.assertEquals(d.train:size(1) + n_test, #d.tbl, name)
    end
    for _, name in ipairs(CLASSIFICATION) do
        local d = dataset(name)
        local K = d.y:amax():item() + 1
        local all, test = counts(d.y, K), counts(d.y:index(1, d.test), K)
        for k = 1, K do
            lu.assertTrue(math.abs(test[k] - all[k] / 4) <= 1, ("%s class %d: %d of %d"):format(name, k - 1,
                          test[k], all[k]))
        end
    end
end

-- StratifiedKFold{n_splits = 5} (no shuffling) puts every row in the fold
-- scikit-learn's StratifiedKFold(n_splits=5) puts it in.
function TestSklearnData:test_stratified_folds_as_sklearn()
    local folds = mf.data.read_csv(FIXTURES .. "sklearn_folds.csv")
    for _, name in ipairs(CLASSIFICATION) do
        local d = dataset(name)
        local want = rows_of(folds, name, "fold")
        lu.assertEquals(want:size(1), #d.tbl, name)
        local got = mf.zeros(#d.tbl, "int64")
        local f = 0
        for _, test in MS.StratifiedKFold{n_splits = 5}:split(d.X, d.y) do
            f = f + 1
            got:scatter_add_(1, test, mf.full({test:size(1)}, f, "int64"))
        end
        lu.assertEquals(f, 5)
        local differ = got:ne(want):sum():item()
        lu.assertEquals(differ, 0, name .. ": rows in another fold than scikit-learn's")
    end
end

---------------------------------------------------------------- scores
-- The moonforge estimator of each reference row (model .. " " .. params).
local function scaled(est) return mf.Pipeline{P.StandardScaler{}, est} end
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
    ["SVC kernel=rbf C=1 gamma=scale"] = function()
        return scaled(models.SVC{kernel = "rbf", C = 1, gamma = "scale"})
    end,
    ["SVC kernel=linear C=1"] = function() return scaled(models.SVC{kernel = "linear", C = 1}) end,
    ["SVC kernel=poly degree=3 C=1"] = function()
        return scaled(models.SVC{kernel = "poly", degree = 3, C = 1})
    end,
}
-- Deterministic fits: the same least-squares solution on both sides.
local EXACT = {["LinearRegression "] = true, ["Ridge alpha=1"] = true}

local ref = mf.data.read_csv(FIXTURES .. "sklearn_reference.csv")
local REF = {}
do
    local cols = {}
    for _, c in ipairs({"dataset", "model", "params", "scaled", "eval", "metric"}) do cols[c] = strings(ref, c) end
    local sk = ref:column("sklearn"):totable()
    for i = 1, #ref do
        local row = {sklearn = sk[i]}
        for c, v in pairs(cols) do row[c] = v[i] end
        REF[i] = row
    end
end

local function moonforge_score(row)
    local est = BUILD[row.model .. " " .. row.params]()
    lu.assertEquals(est.steps ~= nil, row.scaled == "yes", "scaler as in the reference")
    local d = dataset(row.dataset)
    local y = d.y
    if row.metric == "r2" then y = y:to("float64") end
    if row.eval == "test" then
        local score
        local warnings = mf.capture_warnings(function()
            est:fit(d.X:index(1, d.train), y:index(1, d.train))
            score = est:score(d.X:index(1, d.test), y:index(1, d.test))
        end)
        lu.assertEquals(#warnings, 0, table.concat(warnings, "\n")) -- converged
        return score
    end
    lu.assertEquals(row.eval, "cv5")
    local cv = row.metric == "accuracy" and MS.StratifiedKFold{n_splits = 5} or MS.KFold{n_splits = 5}
    return MS.cross_val_score(est, d.X, y, {cv = cv}):mean():item()
end

TestSklearnScores = {}

function TestSklearnScores:test_reference_complete()
    lu.assertEquals(#REF, 40)
    local seen = {}
    for _, row in ipairs(REF) do
        lu.assertNotNil(BUILD[row.model .. " " .. row.params], row.model .. " " .. row.params)
        lu.assertEquals(row.metric, row.dataset == "diabetes" and "r2" or "accuracy")
        lu.assertTrue(row.sklearn > (row.metric == "r2" and 0.3 or 0.8), row.dataset .. " " .. row.model)
        seen[row.dataset] = (seen[row.dataset] or 0) + 1
    end
    lu.assertEquals(seen, {iris = 9, wine = 8, breast_cancer = 10, diabetes = 6, digits = 7})
end

-- One test per reference row.
for i, row in ipairs(REF) do
    local key = row.model .. " " .. row.params
    local name = ("test_%02d_%s_%s_%s_%s"):format(i, row.dataset, row.eval, row.model,
                                                   (row.params:gsub("[^%w]+", "_")))
    TestSklearnScores[name] = function()
        local mine = moonforge_score(row)
        local tol = EXACT[key] and 1e-6 or 0.01
        lu.assertAlmostEquals(mine, row.sklearn, tol, ("%s %s %s: moonforge %.6f, scikit-learn %.6f")
                              :format(row.dataset, key, row.eval, mine, row.sklearn))
    end
end

os.exit(lu.LuaUnit.run(), true)
