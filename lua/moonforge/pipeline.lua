--- moonforge.pipeline: mf.Pipeline.
local M = {}
return M
