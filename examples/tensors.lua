-- A first look at moonforge tensors: construction, views, indexing and
-- reproducible random numbers. Run with `make demo` or `build/moonforge examples/tensors.lua`.
local mf = require "moonforge"

print(("moonforge %s, %d threads"):format(mf.version, mf.get_num_threads()))

-- A small table of sensor readings: 4 machines x 3 sensors.
local readings = mf.tensor({
    {20.5, 1.02, 300},
    {21.0, 0.98, 310},
    {19.8, 1.10, 295},
    {22.3, 0.95, 320},
}, "float64")
print(readings)

-- Views share memory: the transpose has sensors as rows, no copy made.
local by_sensor = readings:t()
print("sensor 3 over machines:", by_sensor[3])

-- Positions are 1-based; negative ones count from the end.
print("machine 2, sensor 1:", readings:get(2, 1))
print("last machine:", readings[-1])

-- Reproducible random numbers: the same seed gives the same values everywhere.
mf.manual_seed(42)
local noise = mf.randn(4, 3, "float64")
print("noise after manual_seed(42):", noise)

-- A random 1-based permutation, e.g. to shuffle rows.
mf.manual_seed(42)
local order = mf.randperm(4)
print("shuffled rows:", readings:index(1, order))
