-- quality_regression.lua — predicts the quality of a production run from its
-- process parameters with four linear models, and shows which parameters
-- matter.
--
--     build/moonforge examples/quality_regression.lua
--
-- The data (examples/data/quality_small.csv, written by
-- examples/make_model_data.lua) are 1,000 runs: 8 process parameters and
-- the measured quality. We hold out a quarter of the runs, fit on the rest,
-- and score every model on the held-out runs only. The generator adds
-- noise of variance 1 to a linear rule in five of the parameters, so no
-- model can reach an R² much above 0.84 and the other three parameters
-- should come out as useless.
local mf = require "moonforge"
local models, P = mf.models, mf.preprocess

local here = arg[0]:gsub("[^/]*$", "")
local runs = mf.data.read_csv(here .. "data/quality_small.csv")
print(("quality_small.csv: %d runs x %d columns"):format(#runs, #runs:columns()))

-- X: every column but the target, as a Table (models remember the column
-- names and use them again at predict). y: the target column, a tensor.
local X, y = runs:drop({"quality"}), runs.quality
local names = X:columns()
local X_train, X_test, y_train, y_test = mf.data.train_test_split(X, y, {test_size = 0.25, seed = 42})
print(("train: %d runs, test: %d runs"):format(#X_train, #X_test))

-- 1. Least squares: the exact solution of the normal equations (in C,
--    through LAPACK). Scaling X changes nothing here.
local ols = models.LinearRegression():fit(X_train, y_train)

-- 2. Gradient descent: SGDRegressor takes one small step per run, so it
--    needs inputs of comparable size: a StandardScaler in front of it, in a
--    Pipeline, is fitted on the training runs only and reused at predict.
local sgd = mf.Pipeline{P.StandardScaler(), models.SGDRegressor{penalty = "none", seed = 1}}
sgd:fit(X_train, y_train)

-- 3. Ridge (L2) and Lasso (L1) shrink the coefficients. Their alpha acts on
--    the coefficients' sizes, so we standardize first for these too: then
--    alpha means the same for every parameter whatever its unit.
local ridge = mf.Pipeline{P.StandardScaler(), models.Ridge{alpha = 1}}:fit(X_train, y_train)
local lasso = mf.Pipeline{P.StandardScaler(), models.Lasso{alpha = 0.1}}:fit(X_train, y_train)

-- Held-out R² (1 = perfect, 0 = no better than the mean) and mean absolute
-- error (in quality points), side by side.
print()
print(("%-24s %8s %8s"):format("model", "R2", "MAE"))
for _, row in ipairs({
    {"least squares", ols}, {"gradient descent (SGD)", sgd},
    {"ridge (alpha 1)", ridge}, {"lasso (alpha 0.1)", lasso},
}) do
    local pred = row[2]:predict(X_test)
    print(("%-24s %8.4f %8.4f"):format(row[1], mf.metrics.r2(y_test, pred), mf.metrics.mae(y_test, pred)))
end

-- The coefficients, in quality points per unit of each parameter. The
-- pipelines' models saw standardized inputs: dividing their coefficients
-- by the scaler's scale brings them back to the original units.
local function original_units(pipe, model_name)
    local coef = pipe.named_steps[model_name].coef
    return coef / pipe.named_steps.standardscaler.scale
end
local c_ols, c_sgd = ols.coef, original_units(sgd, "sgdregressor")
local c_lasso = original_units(lasso, "lasso")
print()
print(("%-14s %12s %12s %12s"):format("parameter", "least sq.", "SGD", "lasso"))
for j, name in ipairs(names) do
    print(("%-14s %12.4f %12.4f %12.4f"):format(name, c_ols[j], c_sgd[j], c_lasso[j]))
end

-- Lasso sets the coefficients of parameters that do not help to exactly 0:
-- the ones left are the parameters worth watching.
local kept, dropped = {}, {}
local lasso_coef = lasso.named_steps.lasso.coef
for j, name in ipairs(names) do
    if lasso_coef[j] ~= 0 then kept[#kept + 1] = name else dropped[#dropped + 1] = name end
end
print()
print(("lasso keeps %d of %d parameters: %s"):format(#kept, #names, table.concat(kept, ", ")))
print(("lasso drops: %s"):format(table.concat(dropped, ", ")))
