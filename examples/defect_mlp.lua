-- defect_mlp.lua — predicts product defects from 30 process measurements
-- with a 64-64-1 network (ReLU, ReLU, sigmoid), Adam and binary
-- cross-entropy, batch 32; 80% of the rows train it, the other 20% are its
-- validation data and give the test accuracy.
--
--     build/moonforge examples/defect_mlp.lua [curves.svg]
--
-- With a path, the learning curves are written there as SVG.
local mf = require "moonforge"
local nn = mf.nn

-- A minimal CSV reader (numbers only, a header line) until moonforge reads
-- CSV itself: returns the column names and the rows as Lua arrays.
local function read_csv(path)
    local f = assert(io.open(path, "r"))
    local names, rows = nil, {}
    local lineno = 0
    for line in f:lines() do
        lineno = lineno + 1
        local cells = {}
        for cell in (line .. ","):gmatch("([^,]*),") do cells[#cells + 1] = cell end
        if not names then
            names = cells
        elseif line ~= "" then
            if #cells ~= #names then
                error(("%s:%d: %d cells, the header has %d"):format(path, lineno, #cells, #names))
            end
            for j, cell in ipairs(cells) do
                cells[j] = tonumber(cell) or error(("%s:%d: column %s: not a number: '%s'")
                                                   :format(path, lineno, names[j], cell))
            end
            rows[#rows + 1] = cells
        end
    end
    f:close()
    return names, rows
end

local here = arg[0]:gsub("[^/]*$", "")
local names, rows = read_csv(here .. "data/defects.csv")
local data = mf.tensor(rows)                              -- [3000 x 31], float32
local X, y = data:narrow(2, 1, #names - 1), data:select(2, #names)

mf.manual_seed(7)
local perm = mf.randperm(X:size(1))                       -- shuffled 80/20 split
local n_train = math.floor(0.8 * X:size(1))
local train, test = perm:narrow(1, 1, n_train), perm:narrow(1, n_train + 1, X:size(1) - n_train)
local X_train, y_train = X:index(1, train), y:index(1, train)
local X_test, y_test = X:index(1, test), y:index(1, test)
local mean, std = X_train:mean(1), X_train:std(1)         -- standardize with the training rows
X_train, X_test = (X_train - mean) / std, (X_test - mean) / std

local model = nn.Sequential{
    nn.Dense(64, {activation = "relu", input_dim = X:size(2)}),
    nn.Dense(64, {activation = "relu"}),
    nn.Dense(1, {activation = "sigmoid"}),
}
model:compile{optimizer = mf.optim.Adam{lr = 1e-3}, loss = "binary_crossentropy", metrics = {"accuracy"}}
local history = model:fit(X_train, y_train, {epochs = 30, batch_size = 32, seed = 1,
                                             validation_data = {X_test, y_test}, verbose = 2})

print(("test accuracy: %.3f"):format(model:evaluate(X_test, y_test).accuracy))
if arg[1] then print("learning curves: " .. history:plot(arg[1])) end
