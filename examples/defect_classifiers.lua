-- defect_classifiers.lua — which classifier best predicts defective parts?
-- Logistic regression, a linear SVM, an RBF-kernel SVM and a small neural
-- network (MLP), compared by 5-fold cross-validation.
--
--     build/moonforge examples/defect_classifiers.lua
--
-- The data (examples/data/defect_small.csv, written by
-- examples/make_model_data.lua) are 1,000 parts: 6 process measurements
-- and whether the part was defective (1) or not (0). The defect rule has an
-- interaction and a curved term, which a straight boundary cannot follow:
-- expect the two linear models near 0.78, the kernel SVM and the MLP near
-- or above 0.9.
local mf = require "moonforge"
local models, nn = mf.models, mf.nn

mf.manual_seed(0)            -- the MLP's initial weights: the same run every time

local here = arg[0]:gsub("[^/]*$", "")
local parts = mf.data.read_csv(here .. "data/defect_small.csv")
local X, y = parts:drop({"defect"}), parts.defect
print(("defect_small.csv: %d parts, %d measurements, %d defective"):format(
    #parts, #X:columns(), y:sum():item()))

-- The MLP: 6 inputs -> 32 ReLU -> 16 ReLU -> 1 sigmoid (probability of a
-- defect). KerasClassifier calls `build` for a fresh, compiled model at
-- every fit, so each fold starts from new weights; its other options are
-- those of model:fit.
local function build_mlp()
    local m = nn.Sequential{
        nn.Dense(32, {activation = "relu", dtype = "float64"}),
        nn.Dense(16, {activation = "relu", dtype = "float64"}),
        nn.Dense(1, {activation = "sigmoid", dtype = "float64"}),
    }
    m:compile{optimizer = mf.optim.Adam{lr = 0.01}, loss = "binary_crossentropy"}
    return m
end

-- Every model sits in a Pipeline behind a StandardScaler: in each fold the
-- scaler learns its means and standard deviations from the training rows
-- only, so nothing about the test rows leaks into the model.
local candidates = {
    {"logistic regression", models.LogisticRegression{C = 1}},
    {"linear SVM", models.LinearSVC{C = 1}},
    {"RBF SVM (subsample)", models.SVC{kernel = "rbf", C = 10}, subsample = true},
    {"MLP 32-16-1", models.KerasClassifier{build = build_mlp, epochs = 40, batch_size = 32, seed = 1}},
}

-- A kernel SVM's training time grows with the square of the rows (or
-- worse): past ~20,000 rows, fit it on a stratified subsample. Here the
-- data are small; the subsample (half the parts, the same share of
-- defects) shows the pattern.
local X_sub, _, y_sub = mf.data.train_test_split(X, y, {train_size = 0.5, stratify = true, seed = 7})
print(("subsample for the RBF SVM: %d parts, %d defective"):format(#X_sub, y_sub:sum():item()))

-- cv = 5 with a classifier means stratified folds (as scikit-learn): each
-- fold keeps the share of defective parts of the whole data set. The score
-- is the estimator's own: accuracy, the share of parts classified right.
print()
print(("%-22s %s"):format("model", "5-fold accuracy (mean ± std)"))
for _, c in ipairs(candidates) do
    local pipe = mf.Pipeline{mf.preprocess.StandardScaler(), c[2]}
    local Xc, yc = X, y
    if c.subsample then Xc, yc = X_sub, y_sub end
    local scores = mf.model_selection.cross_val_score(pipe, Xc, yc, {cv = 5}):totable()
    local mean, var = 0, 0
    for _, s in ipairs(scores) do mean = mean + s / #scores end
    for _, s in ipairs(scores) do var = var + (s - mean) ^ 2 / #scores end
    local folds = {}
    for i, s in ipairs(scores) do folds[i] = ("%.3f"):format(s) end
    print(("%-22s %.3f ± %.3f   (folds: %s)"):format(c[1], mean, math.sqrt(var),
                                                  table.concat(folds, " ")))
end
