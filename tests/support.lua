-- support.lua — small helpers shared by the test runner, the doc checker
-- and the tests that drive child processes. Loaded with
--     package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
--     local support = require "support"
local M = {}

--- s quoted for the shell.
function M.quote(s)
    return "'" .. s:gsub("'", "'\\''") .. "'"
end

--- The whole file, or nil when it cannot be opened.
function M.read_file(path)
    local f = io.open(path, "rb")
    if not f then return nil end
    local s = f:read("a")
    f:close()
    return s
end

function M.write_file(path, s)
    local f = assert(io.open(path, "wb"))
    f:write(s)
    f:close()
end

--- Runs a shell command and returns its stdout without the final newline.
function M.capture(cmd)
    local p = assert(io.popen(cmd, "r"))
    local s = p:read("a")
    p:close()
    return (s:gsub("\n$", ""))
end

--- Asserts that fn() raises an error whose message contains every one of
-- the given strings (plain text); returns the message.
function M.assert_error(fn, ...)
    local lu = require "luaunit"
    local patterns = table.pack(...)
    local ok, err = pcall(fn)
    lu.assertFalse(ok, "expected an error")
    err = tostring(err)
    for i = 1, patterns.n do lu.assertStrContains(err, patterns[i]) end
    return err
end

return M
