-- The tensor object from Lua: construction, dtypes, views, indexing,
-- conversion, printing and errors.
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local assert_error = require("support").assert_error
local mf = require "moonforge"

-- Independent reference: element at 1-based (i, j, ...) via :get must equal
-- f(i, j, ...) over the whole shape.
local function check_all(t, f)
    local shape = t:shape()
    local idx = {}
    local function walk(d)
        if d > #shape then
            lu.assertEquals(t:get(table.unpack(idx)), f(table.unpack(idx)),
                            "at " .. table.concat(idx, ","))
            return
        end
        for i = 1, shape[d] do
            idx[d] = i
            walk(d + 1)
        end
    end
    walk(1)
end

TestConstruction = {}

function TestConstruction:test_from_nested_tables()
    local t = mf.tensor({{1, 2, 3}, {4, 5, 6}})
    lu.assertEquals(t:shape(), {2, 3})
    lu.assertEquals(t:dtype(), "float32")
    lu.assertEquals(t:dim(), 2)
    lu.assertEquals(t:numel(), 6)
    lu.assertEquals(#t, 2)
    lu.assertEquals(t:size(2), 3)
    lu.assertEquals(t:size(-1), 3)
    lu.assertEquals(t:size(), {2, 3})
    check_all(t, function(i, j) return 3 * (i - 1) + j end)
    lu.assertEquals(t:totable(), {{1, 2, 3}, {4, 5, 6}})
end

function TestConstruction:test_dtypes()
    local d = mf.tensor({0.1, 0.2}, "float64")
    lu.assertEquals(d:dtype(), "float64")
    lu.assertEquals(d[1], 0.1) -- exact in float64
    local f = mf.tensor({0.1})
    lu.assertNotEquals(f[1], 0.1) -- rounded to float32
    lu.assertAlmostEquals(f[1], 0.1, 1e-7)
    local i = mf.tensor({2^62 + 1, -3}, {dtype = "int64"})
    lu.assertEquals(i[1], 2^62 + 1)
    lu.assertEquals(math.type(i[1]), "integer")
    lu.assertEquals(i:dtype(), "int64")
end

function TestConstruction:test_bool_masks()
    local m = mf.tensor({true, false, true})
    lu.assertEquals(m:dtype(), "bool")
    lu.assertEquals(m:totable(), {true, false, true})
    lu.assertIs(m[2], false)
    lu.assertEquals(m:float():totable(), {1, 0, 1})
    lu.assertEquals(mf.tensor({0, 2, -1}):to("bool"):totable(), {false, true, true})
    lu.assertEquals(mf.tensor({1, true}):totable(), {1, 1}) -- mixed: booleans count 1/0
    lu.assertEquals(mf.zeros(2, "bool"):fill_(true):totable(), {true, true})
    lu.assertEquals(tostring(m), "tensor([ true, false,  true], shape=[3], dtype=bool)")
    m[2] = true
    lu.assertIs(m[2], true)
end

function TestConstruction:test_scalar_and_empty()
    local s = mf.tensor(2.5)
    lu.assertEquals(s:dim(), 0)
    lu.assertEquals(s:shape(), {})
    lu.assertEquals(s:item(), 2.5)
    lu.assertEquals(s:totable(), 2.5)
    local e = mf.tensor({})
    lu.assertEquals(e:shape(), {0})
    lu.assertEquals(mf.zeros(0, 3):numel(), 0)
    lu.assertEquals(mf.zeros(0, 3):totable(), {})
end

function TestConstruction:test_filled()
    lu.assertEquals(mf.zeros(2, 2):totable(), {{0, 0}, {0, 0}})
    lu.assertEquals(mf.ones({2}):totable(), {1, 1})
    lu.assertEquals(mf.ones(3, "int64"):dtype(), "int64")
    lu.assertEquals(mf.full({2}, 7, "int64"):totable(), {7, 7})
    lu.assertEquals(mf.full({1, 2}, -1.5):totable(), {{-1.5, -1.5}})
    lu.assertEquals(mf.empty(4, 5):shape(), {4, 5})
    lu.assertEquals(mf.zeros_like(mf.ones(2, 3, "float64")):dtype(), "float64")
    lu.assertEquals(mf.ones_like(mf.zeros(2)):totable(), {1, 1})
    lu.assertEquals(mf.eye(2, 3):totable(), {{1, 0, 0}, {0, 1, 0}})
    lu.assertEquals(mf.eye(2):totable(), {{1, 0}, {0, 1}})
end

function TestConstruction:test_ranges()
    local a = mf.arange(5)
    lu.assertEquals(a:dtype(), "int64") -- integer bounds, as in PyTorch
    lu.assertEquals(a:totable(), {0, 1, 2, 3, 4})
    lu.assertEquals(mf.arange(2, 5):totable(), {2, 3, 4})
    lu.assertEquals(mf.arange(5, 0, -2):totable(), {5, 3, 1})
    local f = mf.arange(0, 1, 0.25)
    lu.assertEquals(f:dtype(), "float32")
    lu.assertEquals(f:totable(), {0, 0.25, 0.5, 0.75})
    lu.assertEquals(mf.arange(3, "float64"):dtype(), "float64")
    local l = mf.linspace(0, 1, 5, "float64")
    lu.assertEquals(l:totable(), {0, 0.25, 0.5, 0.75, 1})
    lu.assertEquals(mf.linspace(1, 1, 1):totable(), {1})
    lu.assertEquals(mf.linspace(0, 1, 0):numel(), 0)
end

function TestConstruction:test_copy_of_tensor()
    local a = mf.tensor({1, 2})
    local b = mf.tensor(a)
    b[1] = 9
    lu.assertEquals(a[1], 1)
    lu.assertEquals(mf.tensor(a, "int64"):dtype(), "int64")
end

function TestConstruction:test_bad_input()
    assert_error(function() mf.tensor({{1, 2}, {3}}) end,
                 "bad argument #1 to", "ragged", "expected 2 elements at [2], got 1")
    assert_error(function() mf.tensor({{1, 2}, 3}) end, "ragged", "at [2]")
    assert_error(function() mf.tensor({1, "x"}) end, "expected a number at [2], got string")
    assert_error(function() mf.tensor({1, print}) end, "expected a number at [2], got function")
    assert_error(function() mf.tensor("abc") end, "number or table expected, got string")
    assert_error(function() mf.tensor({2, 1.5}, "int64") end, "1.5 at [2] is not an integer")
    assert_error(function() mf.tensor({1}, "float16") end, "unknown dtype 'float16'")
    assert_error(function() mf.zeros(2, {dtyp = "float32"}) end,
                 "bad argument #2 to 'zeros'", "unknown option 'dtyp'")
    assert_error(function() mf.zeros(2, -1) end, "size must be >= 0, got -1")
    assert_error(function() mf.zeros(2.5) end, "integer expected")
    assert_error(function() mf.zeros(1, 1, 1, 1, 1, 1, 1, 1, 1) end, "more than 8 dims")
    assert_error(function() mf.zeros(0, 2^49, 2^56) end, "tensor too large") -- even when empty
    assert_error(function() mf.full({2}, 1.5, "int64") end, "not an integer")
    assert_error(function() mf.arange(0, 1, 0) end, "step must be finite and nonzero")
    assert_error(function() mf.linspace(0, 1, -2) end, "steps must be >= 0")
    assert_error(function() mf.ones(2, {dtype = "int64", requires_grad = true}) end,
                 "only float tensors can require grad")
    assert_error(function() mf.zeros(2, 3, "float32", "extra") end, "unexpected argument")
    -- nesting deeper than 8 dims
    local deep = 1
    for _ = 1, 9 do deep = {deep} end
    assert_error(function() mf.tensor(deep) end, "deeper than 8 dims")
end

TestIndexing = {}

function TestIndexing:setUp()
    self.t = mf.tensor({{1, 2, 3}, {4, 5, 6}})
end

function TestIndexing:test_get_set()
    local t = self.t
    lu.assertEquals(t:get(2, 3), 6)
    lu.assertEquals(t:get(-1, -3), 4)
    lu.assertIs(t:set(1, 1, 10), t)
    lu.assertEquals(t:get(1, 1), 10)
    lu.assertEquals(t[1][1], 10)
    lu.assertEquals(mf.tensor(5):get(), 5)
end

function TestIndexing:test_brackets()
    local t = self.t
    local row = t[2] -- a view
    lu.assertEquals(row:totable(), {4, 5, 6})
    row[1] = 40
    lu.assertEquals(t:get(2, 1), 40)
    lu.assertEquals(t[-1][-1], 6)
    t[1] = 0 -- fills the row
    lu.assertEquals(t:totable(), {{0, 0, 0}, {40, 5, 6}})
    t[1] = mf.tensor({7, 8, 9}) -- copies into the row
    lu.assertEquals(t[1]:totable(), {7, 8, 9})
end

function TestIndexing:test_index_errors()
    local t = self.t
    assert_error(function() return t:get(3, 1) end, "index 3 out of range for size 2")
    assert_error(function() return t:get(0, 1) end, "index 0 out of range")
    assert_error(function() return t:get(1) end, "1 indices given for a 2-D tensor")
    assert_error(function() return t[3] end, "index 3 out of range")
    assert_error(function() return t[1.5] end, "integer expected")
    assert_error(function() t.foo = 1 end, "cannot set field 'foo'")
    assert_error(function() return mf.tensor(1)[1] end, "0-D tensor")
    assert_error(function() return #mf.tensor(1) end, "0-D tensor")
    assert_error(function() return t:item() end, "exactly one element", "[2x3]")
    assert_error(function() mf.tensor({1}, "int64"):set(1, 0.5) end, "not an integer")
    assert_error(function() t:set(1, 1, "x") end, "number expected, got string")
end

TestViews = {}

function TestViews:test_transpose_permute()
    local t = mf.arange(24, "float64"):view(2, 3, 4)
    local p = t:permute(3, 1, 2)
    lu.assertEquals(p:shape(), {4, 2, 3})
    check_all(p, function(k, i, j) return (i - 1) * 12 + (j - 1) * 4 + (k - 1) end)
    lu.assertEquals(t:permute({3, 1, 2}):shape(), {4, 2, 3})
    local tt = t:transpose(1, 3)
    lu.assertEquals(tt:shape(), {4, 3, 2})
    lu.assertFalse(tt:is_contiguous())
    check_all(tt, function(k, j, i) return (i - 1) * 12 + (j - 1) * 4 + (k - 1) end)
    local m = mf.tensor({{1, 2}, {3, 4}, {5, 6}})
    lu.assertEquals(m:t():totable(), {{1, 3, 5}, {2, 4, 6}})
    lu.assertEquals(m:t():stride(), {1, 2})
    assert_error(function() t:t() end, "at most 2 dims")
    assert_error(function() t:permute(1, 1, 2) end, "repeated")
    assert_error(function() t:permute(1, 2) end, "2 dims given for a 3-D tensor")
    assert_error(function() t:transpose(1, 4) end, "dim 4 out of range")
end

function TestViews:test_view_reshape()
    local t = mf.arange(6):view(2, 3)
    lu.assertEquals(t:totable(), {{0, 1, 2}, {3, 4, 5}})
    lu.assertEquals(t:view(-1):shape(), {6})
    lu.assertEquals(t:view({3, -1}):shape(), {3, 2})
    local tr = t:t()
    assert_error(function() tr:view(6) end, "non-contiguous", "use reshape")
    local r = tr:reshape(6)
    lu.assertEquals(r:totable(), {0, 3, 1, 4, 2, 5})
    r[1] = 100 -- a copy: t unchanged
    lu.assertEquals(t:get(1, 1), 0)
    local v = t:view(3, 2) -- a view: shares memory
    v:set(1, 1, 100)
    lu.assertEquals(t:get(1, 1), 100)
    assert_error(function() t:view(4, 2) end, "shape [4x2] is invalid for input of size 6")
    assert_error(function() t:view(-1, -1) end, "only one size can be inferred")
    assert_error(function() t:view(-2, 3) end, "size must be >= 0")
end

function TestViews:test_narrow_select()
    local t = mf.arange(12):view(3, 4)
    lu.assertEquals(t:narrow(2, 2, 2):totable(), {{1, 2}, {5, 6}, {9, 10}})
    lu.assertEquals(t:narrow(1, 3, 1):totable(), {{8, 9, 10, 11}})
    lu.assertEquals(t:narrow(1, 4, 0):shape(), {0, 4})
    lu.assertEquals(t:select(2, 4):totable(), {3, 7, 11})
    lu.assertEquals(t:select(1, -1):totable(), {8, 9, 10, 11})
    local n = t:narrow(2, 2, 2)
    n:fill_(0)
    lu.assertEquals(t[2]:totable(), {4, 0, 0, 7})
    assert_error(function() t:narrow(2, 4, 2) end, "length 2 from start 4 exceeds size 4")
    assert_error(function() t:narrow(2, 6, 0) end, "start 6 out of range")
    assert_error(function() t:select(3, 1) end, "dim 3 out of range (expected 1..2")
end

function TestViews:test_squeeze_unsqueeze_expand()
    local t = mf.tensor({1, 2, 3})
    local c = t:unsqueeze(2)
    lu.assertEquals(c:shape(), {3, 1})
    lu.assertEquals(t:unsqueeze(1):shape(), {1, 3})
    lu.assertEquals(t:unsqueeze(-1):shape(), {3, 1})
    lu.assertEquals(c:squeeze():shape(), {3})
    lu.assertEquals(c:squeeze(1):shape(), {3, 1}) -- size 3: kept
    lu.assertEquals(mf.zeros(1, 2, 1):squeeze():shape(), {2})
    local e = c:expand(3, 4)
    lu.assertEquals(e:totable(), {{1, 1, 1, 1}, {2, 2, 2, 2}, {3, 3, 3, 3}})
    lu.assertEquals(e:stride(), {1, 0})
    lu.assertEquals(c:expand(2, -1, 2):shape(), {2, 3, 2})
    lu.assertEquals(c:expand_as(mf.zeros(3, 5)):shape(), {3, 5})
    assert_error(function() c:expand(4, 4) end, "cannot expand [3x1] to [4x4]")
    assert_error(function() t:unsqueeze(3) end, "dim 3 out of range (expected 1..2")
end

function TestViews:test_index()
    local t = mf.arange(12):view(3, 4)
    lu.assertEquals(t:index(1, {3, 1}):totable(), {{8, 9, 10, 11}, {0, 1, 2, 3}})
    lu.assertEquals(t:index(2, mf.tensor({4, -4, 4}, "int64")):totable(),
                    {{3, 0, 3}, {7, 4, 7}, {11, 8, 11}})
    lu.assertEquals(t:index(1, {}):shape(), {0, 4})
    assert_error(function() t:index(1, {4}) end, "index 4 out of range for size 3")
    assert_error(function() t:index(1, {0}) end, "index 0 out of range")
    assert_error(function() t:index(1, mf.tensor({1})) end, "indices must be an int64 tensor, got float32")
    assert_error(function() t:index(1, {1.5}) end, "expected an integer")
    assert_error(function() t:index(1, "x") end, "int64 tensor or table of integers expected")
end

function TestViews:test_copy_fill_contiguous_clone()
    local t = mf.zeros(2, 3)
    t:copy_(mf.tensor({1, 2, 3})) -- broadcast
    lu.assertEquals(t:totable(), {{1, 2, 3}, {1, 2, 3}})
    assert_error(function() t:copy_(mf.zeros(4)) end, "shape [4] cannot be broadcast to [2x3]")
    lu.assertIs(t:fill_(2), t)
    lu.assertEquals(t:totable(), {{2, 2, 2}, {2, 2, 2}})
    lu.assertIs(t:zero_(), t)
    lu.assertEquals(t:totable(), {{0, 0, 0}, {0, 0, 0}})
    lu.assertIs(t:contiguous(), t) -- already contiguous: itself
    local tc = t:t():contiguous()
    lu.assertTrue(tc:is_contiguous())
    lu.assertEquals(tc:shape(), {3, 2})
    local c = t:clone()
    c:fill_(5)
    lu.assertEquals(t:get(1, 1), 0)
    local e = mf.zeros(3, 1):expand(3, 4)
    assert_error(function() e:fill_(1) end, "cannot write into an expanded [3x4] tensor")
    assert_error(function() e:copy_(mf.ones(3, 4)) end, "several elements share one memory location")
    assert_error(function() e:add_(1) end, "cannot write into an expanded")
    local big = mf.zeros(2, "int64"):fill_(2^62 + 3)
    lu.assertEquals(big[2], 2^62 + 3)
end

function TestViews:test_large_transposing_copies()
    -- big enough for the tiled copy (sizes not multiples of the tile)
    local m = mf.arange(70 * 45, "float64"):view(70, 45)
    local c = m:t():contiguous()
    lu.assertTrue(c:is_contiguous())
    check_all(c, function(j, i) return (i - 1) * 45 + (j - 1) end)
    local b = mf.arange(3 * 40 * 50):view(3, 40, 50):transpose(2, 3):contiguous()
    check_all(b, function(k, j, i) return (k - 1) * 2000 + (i - 1) * 50 + (j - 1) end)
    local f = m:t():float() -- transposing and converting at once
    lu.assertEquals(f:dtype(), "float32")
    check_all(f, function(j, i) return (i - 1) * 45 + (j - 1) end)
    local bad = mf.full({40, 40}, 0 / 0, "float64"):t()
    assert_error(function() bad:long() end, "cannot be converted to int64")
end

function TestViews:test_conversions()
    local t = mf.tensor({1.7, -1.7, 2})
    lu.assertEquals(t:long():totable(), {1, -1, 2}) -- toward zero
    lu.assertEquals(t:double():dtype(), "float64")
    lu.assertEquals(t:to("int64"):dtype(), "int64")
    lu.assertIs(t:float(), t) -- same dtype: itself, as in PyTorch
    lu.assertIs(t:to("float32"), t)
    local bad = mf.tensor({0 / 0})
    assert_error(function() bad:long() end, "cannot be converted to int64")
    assert_error(function() t:to("int32") end, "unknown dtype 'int32'")
end

TestMisc = {}

function TestMisc:test_functions_are_methods()
    local t = mf.arange(6):view(2, 3)
    lu.assertEquals(mf.transpose(t, 1, 2):shape(), t:transpose(1, 2):shape())
    lu.assertEquals(mf.numel(t), 6)
    lu.assertIs(mf.Tensor.reshape, mf.reshape)
    lu.assertTrue(mf.is_tensor(t))
    lu.assertFalse(mf.is_tensor({}))
end

function TestMisc:test_wrong_types_name_function_and_argument()
    assert_error(function() mf.transpose({}, 1, 2) end, "bad argument #1 to 'transpose'", "tensor expected, got table")
    assert_error(function() mf.reshape(mf.zeros(4), "x") end, "bad argument #2 to 'reshape'")
    assert_error(function() mf.zeros(2):select("a", 1) end, "integer expected, got string")
end

function TestMisc:test_tostring()
    lu.assertEquals(tostring(mf.tensor({{1, 2}, {3, 4}})),
                    "tensor([[1., 2.],\n        [3., 4.]], shape=[2x2], dtype=float32)")
    lu.assertEquals(tostring(mf.tensor({0.5, -2}, "float64")),
                    "tensor([ 0.5000, -2.0000], shape=[2], dtype=float64)")
    lu.assertEquals(tostring(mf.arange(3)), "tensor([0, 1, 2], shape=[3], dtype=int64)")
    local big = tostring(mf.zeros(100, 100))
    lu.assertStrContains(big, "...")
    lu.assertStrContains(big, "shape=[100x100]")
    lu.assertTrue(#big < 1000)
    -- 3-D blocks are separated by a blank line
    lu.assertEquals(tostring(mf.arange(4):view(2, 1, 2)),
                    "tensor([[[0, 1]],\n\n        [[2, 3]]], shape=[2x1x2], dtype=int64)")
end

function TestMisc:test_free_and_close()
    local t = mf.zeros(10)
    local v = t:view(2, 5)
    t:free()
    lu.assertTrue(t:is_freed())
    t:free() -- idempotent
    assert_error(function() return t:numel() end, "tensor has been freed")
    lu.assertEquals(tostring(t), "tensor(freed)")
    lu.assertEquals(v:get(2, 5), 0) -- the view keeps the storage
    local outer
    do
        local c <close> = mf.ones(3)
        outer = c
        lu.assertEquals(c[1], 1)
    end
    lu.assertTrue(outer:is_freed())
end

function TestMisc:test_op_table_is_exposed()
    local ops = mf.ops()
    for _, name in ipairs {"clone", "cast", "view", "permute", "narrow", "expand", "index_select"} do
        lu.assertNotNil(ops[name], name)
        lu.assertIsBoolean(ops[name].differentiable)
    end
    lu.assertTrue(ops.permute.view)
    lu.assertFalse(ops.clone.view)
end

os.exit(lu.LuaUnit.run(), true)
