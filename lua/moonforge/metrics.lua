--- moonforge.metrics (mf.metrics): classification and regression metrics.
local M = {}
return M
