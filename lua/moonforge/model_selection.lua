-- moonforge.model_selection (mf.model_selection): cross-validation splitters.
local M = {}
return M
