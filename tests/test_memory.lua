-- Tensor memory is visible to Lua's collector, and released at once by
-- <close> and :free(). Measured with RSS and core's own byte counter; the
-- loops never call collectgarbage().
local lu = require "luaunit"
local mf = require "moonforge"

local function rss_mb()
    local f = assert(io.open("/proc/self/status"))
    local s = f:read("a")
    f:close()
    return tonumber(s:match("VmRSS:%s*(%d+)")) / 1024
end

TestMemory = {}

function TestMemory:test_big_temporaries_are_collected()
    local before = rss_mb()
    for _ = 1, 4000 do
        local t = mf.zeros(262144) -- 1 MB of float32, touched by the fill
        t[1] = 1
    end
    local grown = rss_mb() - before
    lu.assertTrue(grown < 300, ("RSS grew by %.0f MB over 4000 x 1 MB temporaries"):format(grown))
end

function TestMemory:test_views_of_temporaries_do_not_pile_up()
    local before = mf.mem_in_use()
    local base = mf.zeros(1000, 256)
    for i = 1, 20000 do
        local row = base[i % 1000 + 1]:view(16, 16):t()
        row:set(1, 1, i)
    end
    -- headers are small; what is still alive must be far below 20000 views
    local alive = mf.mem_in_use() - before
    lu.assertTrue(alive < 64 * 1024 * 1024, ("%d bytes alive"):format(alive))
end

function TestMemory:test_close_and_free_release_immediately()
    collectgarbage("collect") -- earlier garbage must not be freed in between
    collectgarbage("stop")
    local before = mf.mem_in_use()
    do
        local t <close> = mf.zeros(1024 * 1024) -- 4 MB
        lu.assertTrue(mf.mem_in_use() - before >= 4 * 1024 * 1024)
    end
    lu.assertTrue(mf.mem_in_use() - before < 4096)
    local u = mf.ones(1024 * 1024)
    u:free()
    lu.assertTrue(mf.mem_in_use() - before < 4096)
    collectgarbage("restart")
end

function TestMemory:test_large_blocks_are_reused_and_trimmed()
    -- AddressSanitizer builds free every block at once, to catch use after free
    lu.skipIf(not mf.mem_cache_enabled(), "no block cache in sanitizer builds")
    mf.mem_trim()
    lu.assertEquals(mf.mem_cached(), 0)
    local t = mf.zeros(1000000) -- 4 MB: large enough to be kept when freed
    t:free()
    lu.assertTrue(mf.mem_cached() >= 4000000)
    local before = mf.mem_cached()
    local u = mf.ones(1000000) -- same size: takes the kept block
    lu.assertTrue(mf.mem_cached() < before)
    lu.assertEquals(u[1000000], 1) -- and it holds what it should
    u:free()
    mf.mem_trim()
    lu.assertEquals(mf.mem_cached(), 0)
end

function TestMemory:test_allocation_failure_is_an_error()
    -- the n-th allocation fails: every constructor must raise, never crash
    for k = 1, 3 do
        mf._fail_alloc_after(k)
        local ok, err = pcall(mf.zeros, 1000)
        mf._fail_alloc_after(0)
        if not ok then lu.assertStrContains(err, "not enough memory") end
    end
    mf._fail_alloc_after(1)
    local ok, err = pcall(function() return mf.ones(10):t() end)
    mf._fail_alloc_after(0)
    lu.assertFalse(ok)
    lu.assertStrContains(err, "not enough memory")
end

os.exit(lu.LuaUnit.run(), true)
