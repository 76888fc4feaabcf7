-- moonforge.features (mf.features): feature extraction and selection.
local M = {}
return M
