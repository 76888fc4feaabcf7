-- make_model_data.lua — writes the two small data sets of the model examples:
--
--   examples/data/quality_small.csv  (examples/quality_regression.lua)
--   examples/data/defect_small.csv   (examples/defect_classifiers.lua)
--
--     build/moonforge examples/make_model_data.lua [OUT_DIR]
--
-- Deterministic: a fixed seed gives the same files, byte for byte, and the
-- targets are computed from the values as written (3 decimals, parsed back).
--
-- quality_small.csv: 1,000 production runs, 8 process parameters and the
-- measured quality. Only the first five parameters matter:
--
--   quality = 60 + 0.08 (temp - 180) + 0.9 (pressure - 6) - 0.02 (speed - 300)
--             + 15 (feed_rate - 0.4) - 0.25 (tool_wear - 10) + noise
--
-- with noise ~ N(0, 1) (QUALITY_NOISE below). humidity, ambient_temp and
-- shift_hour have no effect at all. With these spreads the signal has a
-- variance of 5.33 (1.2² + 0.9² + 0.8² + 1.2² + 1²), so the best possible
-- R² is about 5.33 / (5.33 + 1) = 0.84.
--
-- defect_small.csv: 1,000 parts, 6 measurements and defect (0/1):
--
--   z = 1.2 zt - 1.0 zp + 0.8 zv + 1.5 (zt * zv) - 1.0 (zw^2 - 1) + 0.3 N(0, 1)
--   defect = z > 0.3
--
-- where zt, zp, zv, zw are the standardized temp, pressure, vibration and
-- tool_wear; speed and humidity are noise. The interaction and the square
-- are what a linear model cannot draw and a small MLP can.
local mf = require "moonforge"

local SEED = 20261122
local QUALITY_NOISE = 1.0
local dir = arg[1] or (arg[0]:gsub("[^/]*$", "") .. "data")

mf.manual_seed(SEED)

local function cell(v)
    local s = ("%.3f"):format(v)
    if s == "-0.000" then s = "0.000" end
    return s, tonumber(s)
end

local function write(path, lines)
    local tmp = path .. ".tmp"
    local f = assert(io.open(tmp, "wb"))
    f:write(table.concat(lines, "\n"), "\n")
    assert(f:close())
    assert(os.rename(tmp, path))
end

-- Quality: each parameter is mean + sd * N(0, 1).
do
    local ROWS = 1000
    local params = {
        {"temp", 180, 15}, {"pressure", 6, 1}, {"speed", 300, 40}, {"feed_rate", 0.4, 0.08},
        {"tool_wear", 10, 4}, {"humidity", 45, 8}, {"ambient_temp", 22, 3}, {"shift_hour", 12, 6},
    }
    local draws = mf.randn(ROWS, #params + 1, "float64"):totable()
    local header = {}
    for j, p in ipairs(params) do header[j] = p[1] end
    header[#params + 1] = "quality"
    local lines = {table.concat(header, ",")}
    for i = 1, ROWS do
        local cells, x = {}, {}
        for j, p in ipairs(params) do cells[j], x[j] = cell(p[2] + p[3] * draws[i][j]) end
        local q = 60 + 0.08 * (x[1] - 180) + 0.9 * (x[2] - 6) - 0.02 * (x[3] - 300)
                  + 15 * (x[4] - 0.4) - 0.25 * (x[5] - 10) + QUALITY_NOISE * draws[i][#params + 1]
        cells[#params + 1] = cell(q)
        lines[i + 1] = table.concat(cells, ",")
    end
    write(dir .. "/quality_small.csv", lines)
    print(("%s/quality_small.csv: %d rows"):format(dir, ROWS))
end

-- Defects.
do
    local ROWS = 1000
    local params = {
        {"temp", 210, 12}, {"pressure", 4, 0.5}, {"vibration", 2, 0.6}, {"tool_wear", 50, 20},
        {"speed", 1200, 150}, {"humidity", 40, 10},
    }
    local draws = mf.randn(ROWS, #params + 1, "float64"):totable()
    local header = {}
    for j, p in ipairs(params) do header[j] = p[1] end
    header[#params + 1] = "defect"
    local lines = {table.concat(header, ",")}
    local positives = 0
    for i = 1, ROWS do
        local cells, z = {}, {}
        for j, p in ipairs(params) do
            local x
            cells[j], x = cell(p[2] + p[3] * draws[i][j])
            z[j] = (x - p[2]) / p[3]
        end
        local s = 1.2 * z[1] - 1.0 * z[2] + 0.8 * z[3] + 1.5 * z[1] * z[3] - 1.0 * (z[4] * z[4] - 1)
                  + 0.3 * draws[i][#params + 1]
        local defect = s > 0.3 and 1 or 0
        positives = positives + defect
        cells[#params + 1] = tostring(defect)
        lines[i + 1] = table.concat(cells, ",")
    end
    write(dir .. "/defect_small.csv", lines)
    print(("%s/defect_small.csv: %d rows, %d defects"):format(dir, ROWS, positives))
end
