-- Prints the versions of moonforge and Lua, and the cores and threads in use.
--
--   moonforge info
--
-- Uses the public API only, so it also runs as `lua5.4 scripts/info.lua`
-- where moonforge is installed as a Lua module.
local mf = require "moonforge"

local rows = {
    { "moonforge", mf.version },
    { "lua", (_VERSION:gsub("^Lua ", "")) },
    { "cores", mf.num_cores() },
    { "threads", mf.get_num_threads() },
}
for _, row in ipairs(rows) do
    print(("%-10s %s"):format(row[1], tostring(row[2])))
end
