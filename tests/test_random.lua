-- mf.manual_seed and the random constructors: fixed values for a fixed seed
-- (checked against an independent Python implementation of the documented
-- algorithm), ranges, 1-based permutations.
local lu = require "luaunit"
local mf = require "moonforge"

TestRandom = {}

function TestRandom:test_fixed_values_after_seed_42()
    mf.manual_seed(42)
    local u = mf.rand(4)
    local want = {0.08386296033859253, 0.37898021936416626, 0.6800433993339539, 0.9246929287910461}
    for i = 1, 4 do lu.assertEquals(u[i], want[i]) end
    mf.manual_seed(42)
    local n = mf.randn(2, "float64")
    lu.assertAlmostEquals(n[1], -0.303263064678738, 1e-14)
    lu.assertAlmostEquals(n[2], 0.28846173882942383, 1e-14)
    lu.assertEquals(mf.initial_seed(), 42)
end

function TestRandom:test_same_seed_same_numbers()
    mf.manual_seed(7)
    local a = mf.randn(3, 3):totable()
    local p = mf.randperm(5):totable()
    mf.manual_seed(7)
    lu.assertEquals(mf.randn(3, 3):totable(), a)
    lu.assertEquals(mf.randperm(5):totable(), p)
    mf.manual_seed(8)
    lu.assertNotEquals(mf.randn(3, 3):totable(), a)
end

function TestRandom:test_ranges_and_dtypes()
    mf.manual_seed(1)
    local r = mf.rand(1000, "float64")
    lu.assertEquals(r:dtype(), "float64")
    for i = 1, 1000 do lu.assertTrue(r[i] >= 0 and r[i] < 1) end
    local k = mf.randint(3, 6, {500})
    lu.assertEquals(k:dtype(), "int64")
    local seen = {}
    for i = 1, 500 do
        lu.assertTrue(k[i] >= 3 and k[i] < 6)
        seen[k[i]] = true
    end
    lu.assertEquals(seen, {[3] = true, [4] = true, [5] = true})
    lu.assertEquals(mf.randint(2, {2, 2}):shape(), {2, 2})
end

function TestRandom:test_randperm_is_one_based()
    mf.manual_seed(3)
    local p = mf.randperm(50)
    local seen = {}
    for i = 1, 50 do
        lu.assertTrue(p[i] >= 1 and p[i] <= 50)
        lu.assertNil(seen[p[i]])
        seen[p[i]] = true
    end
    lu.assertEquals(mf.randperm(0):numel(), 0)
    lu.assertEquals(mf.randperm(3, "float64"):dtype(), "float64")
end

function TestRandom:test_bad_input()
    lu.assertErrorMsgContains("empty range [5, 5)", mf.randint, 5, 5, {2})
    lu.assertErrorMsgContains("needs a float dtype", mf.rand, 2, "int64")
    lu.assertErrorMsgContains("n must be >= 0", mf.randperm, -1)
    lu.assertErrorMsgContains("unknown option 'seed'", mf.rand, 2, {seed = 1})
end

os.exit(lu.LuaUnit.run(), true)
