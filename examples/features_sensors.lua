-- features_sensors.lua — from a cleaned sensor log to a model-ready matrix:
-- rolling and lag features per production line, calendar fields, scaling and
-- one-hot encoding with a ColumnTransformer, SelectKBest, a stratified split
-- and a small logistic model.
--
--     build/moonforge examples/features_sensors.lua
--
-- The input is examples/data/sensors_dirty.csv, cleaned as in
-- examples/clean_sensors.lua. See docs/features.md, docs/preprocess.md and
-- docs/splits.md.
local mf = require "moonforge"
local P, F = mf.preprocess, mf.features

local here = arg[0]:gsub("[^/]*$", "")

-- 1. Read and clean (the steps of clean_sensors.lua, without the report).
--    read_csv warns about the junk cells it turns into missing values.
local _, tbl = mf.capture_warnings(mf.data.read_csv, here .. "data/sensors_dirty.csv")
tbl = tbl:str_strip{"line"}:str_upper{"line"}                 -- " l2 " -> "L2"
tbl = tbl:drop_duplicates()
tbl = tbl:dropna{subset = {"temp", "pressure"}}
tbl = tbl:fillna{strategy = "median", subset = {"vibration"}}
tbl = tbl:clip_outliers{cols = {"temp", "pressure", "vibration"}, k = 3}
print(("cleaned: %d rows"):format(#tbl))

-- 2. Order the readings by line, then time: sort_by is stable, so sorting by
--    time first and by line second keeps each line's readings in time order.
tbl = tbl:sort_by("ts"):sort_by("line")

-- 3. The target. The log has no label, so we make one: "an alarm at the
--    line's next reading", i.e. the next temperature of the same line is
--    above the 90th percentile of all temperatures. lag(col, -1, {by})
--    looks one reading ahead within each line (NaN at a line's last row).
local temps = tbl.temp:sort()
local pos = 1 + 0.9 * (#tbl - 1)                              -- linear interpolation,
local lo = math.floor(pos)                                    -- as pandas' quantile(0.9)
local p90 = temps[lo] + (pos - lo) * (temps[math.min(lo + 1, #tbl)] - temps[lo])
print(("alarm threshold: temp > %.2f (90th percentile)"):format(p90))
local next_temp = tbl:lag("temp", -1, {by = "line"})
tbl = tbl:add_column("next_temp", next_temp)

-- 4. Features per line: a 5-reading rolling mean and std of temp and
--    vibration, the previous reading of temp and its change. Rolling windows
--    are NaN until 5 readings of the line are in (min_periods = window).
for _, col in ipairs({"temp", "vibration"}) do
    local r = tbl:rolling(col, 5, {by = "line"})
    tbl = tbl:add_column(col .. "_mean5", r:mean())
    tbl = tbl:add_column(col .. "_std5", r:std())
end
tbl = tbl:add_column("temp_lag1", tbl:lag("temp", 1, {by = "line"}))
tbl = tbl:add_column("temp_diff1", tbl:diff("temp", 1, {by = "line"}))

-- 5. Calendar fields of the timestamp: ts_hour, ts_weekday (Monday = 1).
tbl = tbl:datetime_features("ts", {"hour", "weekday"})

-- 6. Drop the rows whose windows are incomplete (the first 4 of each line)
--    and each line's last row (no next reading, so no target).
local dropped   -- dropna's change record
tbl, dropped = tbl:dropna{subset = {"temp_std5", "vibration_std5", "next_temp"}}
print(("feature rows: %d (%d dropped: incomplete windows, no next reading)")
    :format(#tbl, dropped.dropped))
local y = tbl.next_temp:gt(p90):long()                        -- 1 = alarm next

-- 7. Scale the numeric features, one-hot encode the line.
local numeric = {"temp", "pressure", "vibration", "temp_mean5", "temp_std5", "vibration_mean5",
                 "vibration_std5", "temp_lag1", "temp_diff1", "ts_hour", "ts_weekday"}
local ct = P.ColumnTransformer{
    {"num", P.StandardScaler(), numeric},
    {"cat", P.OneHotEncoder(), {"line"}},
}
local X = ct:fit_transform(tbl)
local names = ct:get_feature_names()
print(("X: %d x %d"):format(X:size(1), X:size(2)))

-- 8. Keep the 6 features whose ANOVA F against the target is highest.
local sel = F.SelectKBest{score = "f_classif", k = 6}:fit(X, y)
X = sel:transform(X)
print("selected features (F score):")
for _, j in ipairs(sel:get_support(true):totable()) do
    print(("  %-22s %8.2f"):format(names[j], sel.scores[j]))
end

-- 9. A stratified 75/25 split: both parts keep the share of alarms.
local X_train, X_test, y_train, y_test = mf.data.train_test_split(X, y,
    {test_size = 0.25, stratify = true, seed = 42})
print(("train: %d rows, %d alarms; test: %d rows, %d alarms"):format(X_train:size(1),
    y_train:sum():item(), X_test:size(1), y_test:sum():item()))

-- 10. A logistic regression (one sigmoid unit) trained Keras-style. Alarms
--     are 1 row in 10, so a model that never raises one is already 90%
--     accurate: class_weight makes a missed alarm cost as much as 9 false
--     ones, and we count the alarms it catches. (The generator's readings
--     are noise around each line's level: knowing which line runs hot is
--     all there is to learn, so the model flags that line's readings and
--     catches the alarms at the price of false ones.)
mf.manual_seed(42)
local model = mf.nn.Sequential{mf.nn.Dense(1, {activation = "sigmoid", input_dim = X:size(2)})}
model:compile{optimizer = mf.optim.Adam{lr = 0.05}, loss = "binary_crossentropy",
              metrics = {"accuracy"}}
model:fit(X_train, y_train, {epochs = 30, batch_size = 16, seed = 42, verbose = 0,
                             class_weight = {[0] = 1, [1] = 9}})
local test = model:evaluate(X_test, y_test)
local pred = model:predict_classes(X_test)
local caught = pred:eq(1):logical_and(y_test:eq(1)):sum():item()
print(("test accuracy: %.3f, alarms caught: %d of %d, false alarms: %d"):format(test.accuracy,
    caught, y_test:sum():item(), pred:sum():item() - caught))
