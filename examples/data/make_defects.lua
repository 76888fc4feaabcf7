-- make_defects.lua — writes examples/data/defects.csv, the data set of
-- examples/defect_mlp.lua: 3,000 rows of 30 process measurements f1..f30
-- (standard normal, 3 decimals) and a 0/1 `defect` column.
--
--     build/moonforge examples/data/make_defects.lua [OUT.csv]
--
-- The rule follows tabular_defect of the shared benchmark data, with less
-- noise so that 2,400 training rows are enough:
--   defect = [lin + 0.5 * (f11 * f12 + (f13^2 - 1) / sqrt(2) + sqrt(2) * sin(1.5 * f14))
--             + 0.1 * noise > 0]
-- where lin is a unit-length random linear combination of f1..f10 and
-- f15..f30 are pure noise columns. On an 80/20 split a logistic regression
-- reaches about 0.80 accuracy, the 64-64-1 MLP of the example about 0.88.
-- Deterministic: the same seed gives the same file, byte for byte (the rule
-- reads the values as written, parsed back).
local mf = require "moonforge"

local ROWS, FEATURES, SEED = 3000, 30, 20240601
local out = arg[1] or (arg[0]:gsub("[^/]*$", "") .. "defects.csv")

mf.manual_seed(SEED)
local w = (mf.rand(10, "float64") * 2 - 1):totable()
local norm = 0
for _, v in ipairs(w) do norm = norm + v * v end
norm = math.sqrt(norm)
for i = 1, 10 do w[i] = w[i] / norm end

local draws = mf.randn(ROWS, FEATURES + 1, "float64"):totable()
local r2 = math.sqrt(2)
local lines, header = {}, {}
for j = 1, FEATURES do header[j] = "f" .. j end
lines[1] = table.concat(header, ",") .. ",defect"
local positives = 0
for i = 1, ROWS do
    local row, x = draws[i], {}
    local cells = {}
    for j = 1, FEATURES + 1 do
        local s = ("%.3f"):format(row[j])
        if s == "-0.000" then s = "0.000" end
        cells[j], x[j] = s, tonumber(s)
    end
    local lin = 0
    for j = 1, 10 do lin = lin + w[j] * x[j] end
    local nonlin = x[11] * x[12] + (x[13] * x[13] - 1) / r2 + r2 * math.sin(1.5 * x[14])
    local defect = lin + 0.5 * nonlin + 0.1 * x[FEATURES + 1] > 0 and 1 or 0
    positives = positives + defect
    cells[FEATURES + 1] = tostring(defect)
    lines[i + 1] = table.concat(cells, ",")
end

local tmp = out .. ".tmp"
local f = assert(io.open(tmp, "wb"))
f:write(table.concat(lines, "\n"), "\n")
assert(f:close())
assert(os.rename(tmp, out))
print(("%s: %d rows, %d defects"):format(out, ROWS, positives))
