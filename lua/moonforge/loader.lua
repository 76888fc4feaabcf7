-- moonforge.loader: mf.data.train_test_split and mf.data.DataLoader.
local mf = require "moonforge"
local M = mf.data
return M
