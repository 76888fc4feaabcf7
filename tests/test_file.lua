-- test_file.lua — mf.save / mf.load: round trips of every kind of value,
-- the byte layout read back by an independent reader written from
-- docs/format.md, and every error (bad values, damaged files, paths).
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local assert_error = require("support").assert_error
local mf = require "moonforge"
local support = require "support"
local quote, read_file, write_file = support.quote, support.read_file, support.write_file

local temps = {}
local function tmppath()
    local p = os.tmpname()
    temps[#temps + 1] = p
    return p
end

-- A fresh empty directory; returns its path.
local function tmpdir()
    local p = tmppath()
    os.remove(p)
    assert(os.execute("mkdir " .. quote(p)))
    return p
end

local function entries(dir)
    local list = {}
    local p = io.popen("ls -A " .. quote(dir))
    for l in p:lines() do list[#list + 1] = l end
    p:close()
    return list
end

local function roundtrip(v)
    local p = tmppath()
    mf.save(v, p)
    return mf.load(p), p
end

-- CRC-32/IEEE in Lua: an independent check of the trailer, and the means to
-- patch a file and keep it valid.
local CRC = {}
for i = 0, 255 do
    local c = i
    for _ = 1, 8 do c = (c & 1 ~= 0) and (0xEDB88320 ~ (c >> 1)) or (c >> 1) end
    CRC[i] = c
end
local function crc32(s)
    local c = 0xFFFFFFFF
    for i = 1, #s do c = CRC[(c ~ s:byte(i)) & 0xFF] ~ (c >> 8) end
    return c ~ 0xFFFFFFFF
end
local function fix_crc(s)
    local body = s:sub(1, -9)
    return body .. string.pack("<I4", crc32(body)) .. s:sub(-4)
end
local function patch(s, at, bytes) -- at: 0-based file offset
    return s:sub(1, at) .. bytes .. s:sub(at + #bytes + 1)
end

-- Deep comparison: tensors by dtype, shape and elements (NaN equal to NaN).
local function same(a, b, path)
    path = path or "value"
    if mf.is_tensor(a) then
        lu.assertTrue(mf.is_tensor(b), path .. " is not a tensor")
        lu.assertEquals(b:dtype(), a:dtype(), path)
        lu.assertEquals(b:shape(), a:shape(), path)
        lu.assertTrue(b:is_contiguous(), path)
        lu.assertEquals(b:totable(), a:totable(), path)
        return
    end
    lu.assertEquals(type(b), type(a), path)
    if type(a) == "number" then
        lu.assertEquals(math.type(b), math.type(a), path)
        if a ~= a then lu.assertTrue(b ~= b, path) else lu.assertEquals(b, a, path) end
    elseif type(a) == "table" then
        for k, v in pairs(a) do same(v, b[k], path .. "[" .. tostring(k) .. "]") end
        for k in pairs(b) do lu.assertNotNil(a[k], path .. ": extra key " .. tostring(k)) end
    else
        lu.assertEquals(b, a, path)
    end
end

---------------------------------------------------------------- round trips
TestRoundTrip = {}

function TestRoundTrip:test_state_dict()
    local sd = {
        ["fc1.weight"] = mf.randn(4, 3),
        ["fc1.bias"] = mf.zeros(4, "float64"),
        ["bn.num_batches_tracked"] = mf.tensor(12, "int64"), -- 0-D
        mask = mf.tensor({true, false, true}),
        empty = mf.zeros(0, 7),
        empty3 = mf.zeros({2, 0, 3}, "int64"),
        big = mf.arange(8 ^ 4):view(8, 8, 8, 8):double(),
    }
    local back = roundtrip(sd)
    same(sd, back)
    lu.assertEquals(back.mask:dtype(), "bool")
    lu.assertEquals(back["bn.num_batches_tracked"]:dim(), 0)
    lu.assertEquals(back.empty3:shape(), {2, 0, 3})
    -- new tensors, not the saved ones
    back["fc1.bias"]:fill_(1)
    lu.assertEquals(sd["fc1.bias"]:sum():item(), 0)
end

function TestRoundTrip:test_optimizer_state()
    local state = {
        step = 100, lr = 1e-3, betas = {0.9, 0.999}, amsgrad = false, name = "adam",
        state = { [1] = {exp_avg = mf.ones(3), exp_avg_sq = mf.zeros(3), step = 7},
                  [2] = {exp_avg = mf.ones(2, 2), step = 7} },
        param_groups = { {params = {1, 2}, weight_decay = 0} },
    }
    same(state, (roundtrip(state)))
end

function TestRoundTrip:test_numbers_keep_their_type()
    local v = {1, 1.0, -0, -0.0, 3.5, math.maxinteger, math.mininteger, math.huge, -math.huge,
               0 / 0, 2 ^ 53, 2 ^ 63, 5e-324, math.pi}
    local back = roundtrip(v)
    same(v, back)
    lu.assertEquals(math.type(back[1]), "integer")
    lu.assertEquals(math.type(back[2]), "float")
    lu.assertEquals(1 / back[4], -math.huge) -- -0.0 keeps its sign
    lu.assertEquals(back[6], math.maxinteger)
    for _, x in ipairs({42, -7, 2.25, 0 / 0}) do same(x, (roundtrip(x))) end
end

function TestRoundTrip:test_strings_are_bytes()
    local all = {}
    for i = 0, 255 do all[#all + 1] = string.char(i) end
    all = table.concat(all)
    local v = {all, "", "a\0b", [all] = "key of every byte", [""] = "empty key"}
    same(v, (roundtrip(v)))
    lu.assertEquals(roundtrip("just a string"), "just a string")
    lu.assertEquals(roundtrip(true), true)
    lu.assertEquals(roundtrip(false), false)
end

function TestRoundTrip:test_mixed_tables_round_trip_exactly()
    local v = {10, 20, 30, nil, 50, [0] = "zero", [-1] = "neg", [2.5] = "half", [1e300] = "big",
               [true] = "t", [false] = "f", x = {y = {z = {}}}, [100] = 1}
    local back = roundtrip(v)
    same(v, back)
    lu.assertEquals(#back.x.y.z, 0)
    lu.assertEquals(next(back.x.y.z), nil)
    same({}, (roundtrip({})))
end

function TestRoundTrip:test_strided_tensors_are_saved_in_logical_order()
    local a = mf.arange(24):view(2, 3, 4)
    local v = {
        t = a:transpose(1, 3),                      -- permuted
        n = a:narrow(2, 2, 2),                      -- offset and gaps
        e = mf.tensor({1, 2, 3}):view(3, 1):expand(3, 4), -- stride 0
        s = a:select(3, 2),
    }
    local back = roundtrip(v)
    same(v, back)
    for _, t in pairs(back) do lu.assertTrue(t:is_contiguous()) end
end

function TestRoundTrip:test_shared_storage_is_saved_as_copies()
    local base = mf.zeros(4)
    local v = {a = base, b = base, view = base:narrow(1, 2, 2)}
    local back = roundtrip(v)
    back.a:fill_(1)
    lu.assertEquals(back.b:totable(), {0, 0, 0, 0})
    lu.assertEquals(back.view:totable(), {0, 0})
    -- the same table twice (not a cycle) is fine too, also as copies
    local shared = {1, 2}
    back = roundtrip({shared, shared})
    same({{1, 2}, {1, 2}}, back)
end

function TestRoundTrip:test_metatables_are_not_saved()
    local obj = setmetatable({w = 1}, {__index = function() return "meta" end,
                                        __pairs = function() error("not called") end})
    local back = roundtrip(obj)
    lu.assertNil(getmetatable(back))
    lu.assertEquals(back.w, 1)
    lu.assertNil(back.other)
end

function TestRoundTrip:test_deep_nesting_limit()
    local root = {}
    local t = root
    for _ = 2, 64 do t[1] = {}; t = t[1] end
    t[1] = "leaf" -- 64 tables
    local back = roundtrip(root)
    for _ = 1, 64 do back = back[1] end
    lu.assertEquals(back, "leaf")
    t[1] = {"too deep"}
    assert_error(function() mf.save(root, tmppath()) end,
                 "save: bad value at value" .. ("[1]"):rep(64) .. ": tables nested deeper than 64")
end

function TestRoundTrip:test_same_value_same_bytes()
    local p1, p2 = tmppath(), tmppath()
    local a, b = {}, {}
    for i = 1, 50 do a["k" .. i] = i; a[i + 0.5] = i end
    for i = 50, 1, -1 do b[i + 0.5] = i; b["k" .. i] = i end
    a.t, b.t = mf.ones(3), mf.ones(3)
    mf.save(a, p1)
    mf.save(b, p2)
    lu.assertEquals(read_file(p1), read_file(p2))
end

function TestRoundTrip:test_large_tensor()
    local t = mf.rand(25 * 1024 * 1024) -- 100 MB
    local p = tmppath()
    local t0 = mf.clock()
    mf.save({w = t}, p)
    local back = mf.load(p)
    local dt = mf.clock() - t0
    lu.assertTrue(mf.equal(back.w, t))
    local f = io.open(p, "rb")
    lu.assertTrue(f:seek("end") > 100 * 1024 * 1024)
    f:close()
    -- no per-element Lua work: well under a minute even in sanitizer builds
    lu.assertTrue(dt < 60, ("save+load took %.1f s"):format(dt))
    os.remove(p)
end

---------------------------------------------------------------- the layout
TestLayout = {}

-- A reader written from docs/format.md alone.
local function doc_reader(s)
    lu.assertEquals(s:sub(1, 8), "\x89MFG\r\n\x1a\n")
    local major, minor, flags, hsize, ssize, doff, dsize, ntensors =
        string.unpack("<I4I4I4I4I8I8I8I8", s, 9)
    lu.assertEquals({major, minor, flags, hsize}, {1, 0, 0, 64})
    lu.assertEquals(doff % 64, 0)
    lu.assertEquals(#s, doff + dsize + 8)
    lu.assertEquals(string.unpack("<I4", s, #s - 7), crc32(s:sub(1, -9)))
    lu.assertEquals(s:sub(-4), "MFGE")
    local pos, seen = hsize + 1, 0
    local dtypes = {[1] = {"<f", 4}, [2] = {"<d", 8}, [3] = {"<i8", 8}, [4] = {"B", 1}}
    local function value()
        local tag = s:byte(pos)
        pos = pos + 1
        if tag == 1 or tag == 2 then return tag == 2 end
        if tag == 3 or tag == 4 then
            local v
            v, pos = string.unpack(tag == 3 and "<i8" or "<d", s, pos)
            return v
        end
        if tag == 5 then
            local v
            v, pos = string.unpack("<s8", s, pos)
            return v
        end
        if tag == 6 then
            local code, ndim = s:byte(pos, pos + 1)
            pos = pos + 2
            local shape, n = {}, 1
            for d = 1, ndim do shape[d], pos = string.unpack("<i8", s, pos); n = n * shape[d] end
            local off
            off, pos = string.unpack("<I8", s, pos)
            lu.assertEquals(off % 64, 0)
            seen = seen + 1
            local fmt, size = dtypes[code][1], dtypes[code][2]
            local elems = {}
            for i = 1, n do elems[i] = string.unpack(fmt, s, doff + off + (i - 1) * size + 1) end
            return {shape = shape, elems = elems, dtype = code}
        end
        lu.assertEquals(tag, 7)
        local narr, nhash
        narr, nhash, pos = string.unpack("<I8I8", s, pos)
        local t = {}
        for i = 1, narr do t[i] = value() end
        for _ = 1, nhash do local k = value(); t[k] = value() end
        lu.assertEquals(s:byte(pos), 8)
        pos = pos + 1
        return t
    end
    local root = value()
    lu.assertEquals(pos, hsize + ssize + 1)
    lu.assertEquals(seen, ntensors)
    return root
end

function TestLayout:test_an_independent_reader_agrees()
    local v = {w = mf.tensor({{1.5, -2}, {3, 4}}), n = mf.tensor({-5, 7}, "int64"),
               m = mf.tensor({true, false}), d = mf.tensor(0.1, "float64"), 7, "s", 2.5, true,
               [-3] = false}
    local _, p = roundtrip(v)
    local r = doc_reader(read_file(p))
    lu.assertEquals(r.w.shape, {2, 2})
    lu.assertEquals(r.w.elems, {1.5, -2, 3, 4})
    lu.assertEquals(r.w.dtype, 1)
    lu.assertEquals(r.n.elems, {-5, 7})
    lu.assertEquals(r.n.dtype, 3)
    lu.assertEquals(r.m.elems, {1, 0})
    lu.assertEquals(r.d.shape, {})
    lu.assertEquals(r.d.elems, {0.1})
    lu.assertEquals({r[1], r[2], r[3], r[4], r[-3]}, {7, "s", 2.5, true, false})
    lu.assertEquals(math.type(r[1]), "integer")
end

---------------------------------------------------------------- bad values
TestBadValues = {}

function TestBadValues:test_messages_name_the_path()
    local p = tmppath()
    local function save_err(v) return select(2, pcall(mf.save, v, p)) end
    lu.assertEquals(save_err({layers = {1, {fn = print}}}), "save: bad value at value.layers[2].fn: function")
    lu.assertEquals(save_err(print), "save: bad value at value: function")
    lu.assertEquals(save_err({co = coroutine.create(print)}), "save: bad value at value.co: thread")
    lu.assertEquals(save_err({f = io.stdout}), "save: bad value at value.f: userdata (not a tensor)")
    lu.assertEquals(save_err({["a b"] = {[2.5] = {[true] = print}}}),
                    'save: bad value at value["a b"][2.5][true]: function')
    lu.assertEquals(save_err({["q\"\n"] = print}), 'save: bad value at value["q\\"\\10"]: function')
    lu.assertEquals(save_err({[{}] = 1}),
                    "save: bad key in value: table (keys must be numbers, strings or booleans)")
    lu.assertEquals(save_err({a = {[print] = 1}}),
                    "save: bad key in value.a: function (keys must be numbers, strings or booleans)")
    lu.assertEquals(save_err({[mf.ones(1)] = 1}),
                    "save: bad key in value: userdata (keys must be numbers, strings or booleans)")
end

function TestBadValues:test_cycles_and_freed_tensors()
    local p = tmppath()
    local a = {}
    a.b = {c = {a}}
    lu.assertEquals(select(2, pcall(mf.save, {root = a}, p)),
                    "save: bad value at value.root.b.c[1]: cyclic table (refers back to value.root)")
    local s = {}
    s.self = s
    lu.assertEquals(select(2, pcall(mf.save, s, p)),
                    "save: bad value at value.self: cyclic table (refers back to value)")
    local t = mf.ones(2)
    t:free()
    lu.assertEquals(select(2, pcall(mf.save, {w = {t}}, p)), "save: bad value at value.w[1]: freed tensor")
end

function TestBadValues:test_a_failed_save_leaves_the_old_file()
    local dir = tmpdir()
    local p = dir .. "/model.mf"
    mf.save({w = mf.ones(3)}, p)
    local before = read_file(p)
    assert_error(function() mf.save({w = mf.zeros(3), z = {fn = print}}, p) end, "value.z.fn")
    lu.assertEquals(read_file(p), before)
    lu.assertEquals(entries(dir), {"model.mf"})
    mf.save({w = mf.zeros(3)}, p) -- replaced
    lu.assertEquals(mf.load(p).w:totable(), {0, 0, 0})
    lu.assertEquals(entries(dir), {"model.mf"})
    os.remove(p)
    os.remove(dir)
end

function TestBadValues:test_arguments()
    assert_error(function() mf.save({}) end, "bad argument #2 to 'save'")
    assert_error(function() mf.save() end, "bad argument #1 to 'save'")
    assert_error(function() mf.save({}, "x", 3) end, "unexpected argument")
    assert_error(function() mf.load() end, "bad argument #1 to 'load'")
    lu.assertEquals(select(2, pcall(mf.save, nil, tmppath())), "save: bad value at value: nil")
end

---------------------------------------------------------------- damaged files
TestDamage = {}

local function sample_bytes()
    local _, p = roundtrip({w = mf.arange(10):float(), b = mf.tensor({true, false}), step = 3,
                           name = "net", sub = {1, 2.5}})
    return read_file(p)
end

local function load_bytes(s, name)
    local p = name or tmppath()
    write_file(p, s)
    local ok, err = pcall(mf.load, p)
    return ok, err, p
end

function TestDamage:test_truncated_at_every_length()
    local s = sample_bytes()
    for cut = 0, #s - 1 do
        local ok, err, p = load_bytes(s:sub(1, cut))
        lu.assertFalse(ok, "cut at " .. cut)
        local want = cut == 0 and ("load: " .. p .. ": not a moonforge file")
                     or ("load: " .. p .. ": truncated file: expected ")
        lu.assertStrContains(err, want)
    end
end

function TestDamage:test_truncation_messages()
    local s = sample_bytes()
    local doff, dsize = string.unpack("<I8I8", s, 33)
    local _, err, p = load_bytes(s:sub(1, doff + 10))
    lu.assertEquals(err, ("load: %s: truncated file: expected %d bytes of tensor data at offset %d, got 10")
                    :format(p, dsize, doff))
    _, err, p = load_bytes(s:sub(1, 30))
    lu.assertEquals(err, ("load: %s: truncated file: expected a 64-byte header, got 30 bytes"):format(p))
end

function TestDamage:test_corrupted_bytes()
    local s = sample_bytes()
    for _, at in ipairs({64, 70, 100, #s - 40, #s - 9, #s - 8, #s - 1}) do
        local ok, err, p = load_bytes(patch(s, at, string.char(s:byte(at + 1) ~ 0x10)))
        lu.assertFalse(ok)
        lu.assertEquals(err, ("load: %s: checksum mismatch (file corrupted)"):format(p))
    end
end

function TestDamage:test_wrong_magic_and_newer_version()
    local s = sample_bytes()
    local _, err, p = load_bytes("just some text\n")
    lu.assertEquals(err, ("load: %s: not a moonforge file"):format(p))
    _, err, p = load_bytes((s:gsub("\r\n", "\n", 1))) -- a text-mode transfer
    lu.assertStrContains(err, "not a moonforge file (its first bytes look altered by a text-mode transfer)")
    local dir = tmpdir()
    _, err = load_bytes(fix_crc(patch(s, 8, string.pack("<I4", 2))), dir .. "/model.mf")
    lu.assertEquals(err, "load: " .. dir .. "/model.mf: format version 2 is newer than this moonforge (reads 1)")
    -- a newer minor version loads
    local ok, v = load_bytes(fix_crc(patch(s, 12, string.pack("<I4", 3))))
    lu.assertTrue(ok)
    lu.assertEquals(v.step, 3)
    os.remove(dir .. "/model.mf")
    os.remove(dir)
end

function TestDamage:test_duplicate_keys_are_refused()
    local _, p = roundtrip({aa = 1, ab = 2})
    local s = read_file(p)
    local at = s:find("ab", 65, true)
    local ok, err = load_bytes(fix_crc(patch(s, at - 1, "aa")))
    lu.assertFalse(ok)
    lu.assertStrContains(err, "duplicate key aa in a table")
end

function TestDamage:test_files_and_directories()
    local dir = tmpdir()
    lu.assertEquals(select(2, pcall(mf.load, dir .. "/no.mf")),
                    "load: " .. dir .. "/no.mf: No such file or directory")
    lu.assertEquals(select(2, pcall(mf.load, dir)), "load: " .. dir .. ": Is a directory")
    lu.assertEquals(select(2, pcall(mf.save, {}, dir)), "save: " .. dir .. ": Is a directory")
    lu.assertEquals(select(2, pcall(mf.save, {}, dir .. "/sub/x.mf")),
                    "save: " .. dir .. "/sub/x.mf: No such file or directory")
    write_file(dir .. "/file", "x")
    lu.assertEquals(select(2, pcall(mf.save, {}, dir .. "/file/x.mf")),
                    "save: " .. dir .. "/file/x.mf: Not a directory")
    lu.assertEquals(entries(dir), {"file"})
    os.remove(dir .. "/file")
    os.remove(dir)
end

function TestDamage:test_unwritable_directory()
    local dir = tmpdir()
    local target = dir .. "/ro/x.mf"
    assert(os.execute("mkdir " .. quote(dir .. "/ro") .. " && chmod 555 " .. quote(dir .. "/ro")))
    if support.capture("id -u") == "0" then
        -- root may write into a read-only directory; sysfs refuses new files to anyone
        lu.skipIf(not io.open("/sys/kernel"), "running as root without /sys")
        target = "/sys/kernel/moonforge-test.mf"
    end
    local ok, err = pcall(mf.save, {w = mf.ones(2)}, target)
    os.execute("chmod 755 " .. quote(dir .. "/ro"))
    os.remove(dir .. "/ro")
    os.remove(dir)
    lu.assertFalse(ok)
    lu.assertEquals(err, "save: " .. target .. ": Permission denied")
end

function TestDamage:test_allocation_failures()
    local _, p = roundtrip({w = mf.ones(5), s = "x", t = {1, 2}})
    for n = 1, 30 do
        mf._fail_alloc_after(n)
        local ok, err = pcall(mf.load, p)
        mf._fail_alloc_after(0)
        if ok then break end
        lu.assertStrContains(err, "not enough memory")
    end
    local v = {w = mf.ones(5), s = "x"}
    for n = 1, 30 do
        mf._fail_alloc_after(n)
        local ok, err = pcall(mf.save, v, p)
        mf._fail_alloc_after(0)
        if ok then break end
        lu.assertStrContains(err, "not enough memory")
    end
    lu.assertEquals(mf.load(p).s, "x")
end

local status = lu.LuaUnit.run()
for _, p in ipairs(temps) do os.remove(p) end
os.exit(status, true)
