-- moonforge: machine learning for industrial data, in Lua over a C core.
local core = require "moonforge.core"
local mf = {}
for k, v in pairs(core) do mf[k] = v end
return mf
