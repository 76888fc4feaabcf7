-- Splits and batching: mf.Generator, mf.data.train_test_split, the
-- cross-validation splitters of mf.model_selection, mf.data.DataLoader and
-- model:fit on a DataLoader. Fold contents are checked against scikit-learn's
-- output (hard-coded, 1-based) and partition properties against plain-Lua
-- set computations.
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local support = require "support"
local assert_error = support.assert_error
local mf = require "moonforge"
local ms = mf.model_selection
local nn = mf.nn

local function list(t) return t:totable() end

-- Asserts that the folds (a list of {train, test} Lua arrays) partition 1..n:
-- every row in exactly one test fold, train = the other rows, both sorted.
local function assert_partition(folds, n)
    local seen = {}
    for f, fold in ipairs(folds) do
        local train, test = fold[1], fold[2]
        local in_test = {}
        for i, r in ipairs(test) do
            lu.assertTrue(r >= 1 and r <= n, "row out of range")
            lu.assertNil(seen[r], ("row %d in two test folds"):format(r))
            seen[r], in_test[r] = f, true
            if i > 1 then lu.assertTrue(test[i - 1] < r, "test rows not sorted") end
        end
        local expect = {}
        for r = 1, n do if not in_test[r] then expect[#expect + 1] = r end end
        lu.assertEquals(train, expect)
    end
    for r = 1, n do lu.assertNotNil(seen[r], ("row %d in no test fold"):format(r)) end
end

local function collect(iter)
    local folds = {}
    for train, test in iter do folds[#folds + 1] = {list(train), list(test)} end
    return folds
end

local function tests_of(folds)
    local out = {}
    for i, f in ipairs(folds) do out[i] = f[2] end
    return out
end

local function count_by(labels, rows)
    local c = {}
    for _, r in ipairs(rows) do
        local v = labels[r]
        c[v] = (c[v] or 0) + 1
    end
    return c
end

---------------------------------------------------------------- Generator
TestGenerator = {}

function TestGenerator:test_same_stream_as_global_generator()
    local g = mf.Generator(123)
    mf.manual_seed(123)
    lu.assertEquals(list(g:randperm(20)), list(mf.randperm(20)))
    lu.assertEquals(list(g:randperm(7)), list(mf.randperm(7)))
    lu.assertEquals(g:initial_seed(), 123)
    lu.assertIs(g:manual_seed(5), g)
    lu.assertEquals(g:initial_seed(), 5)
    lu.assertEquals(tostring(g), "Generator(seed=5)")
end

function TestGenerator:test_does_not_touch_global_stream()
    mf.manual_seed(9)
    local a = list(mf.randperm(10))
    mf.manual_seed(9)
    mf.Generator(1):randperm(50)
    lu.assertEquals(list(mf.randperm(10)), a)
end

function TestGenerator:test_default_seed_and_errors()
    lu.assertEquals(mf.Generator():initial_seed(), 67280421310721)
    local p = list(mf.Generator(0):randperm(0))
    lu.assertEquals(p, {})
    assert_error(function() mf.Generator(0):randperm(-1) end, "n must be >= 0")
    assert_error(function() mf.Generator(1.5) end, "bad argument #1 to 'Generator'")
end

function TestGenerator:test_random_as_math_random()
    local g = mf.Generator(11)
    local counts, seen_lo, seen_hi = {}, false, false
    for _ = 1, 6000 do
        local v = g:random(-2, 3)
        lu.assertEquals(math.type(v), "integer")
        lu.assertTrue(v >= -2 and v <= 3)
        counts[v] = (counts[v] or 0) + 1
        seen_lo, seen_hi = seen_lo or v == -2, seen_hi or v == 3
    end
    lu.assertTrue(seen_lo and seen_hi)
    for v = -2, 3 do lu.assertTrue(counts[v] > 850 and counts[v] < 1150, "count of " .. v) end
    local sum = 0
    for _ = 1, 4000 do
        local u = g:random()
        lu.assertEquals(math.type(u), "float")
        lu.assertTrue(u >= 0 and u < 1)
        sum = sum + u
    end
    lu.assertAlmostEquals(sum / 4000, 0.5, 0.02)
    local one = g:random(4)
    lu.assertTrue(one >= 1 and one <= 4)
    -- the whole integer range, and a seed gives the same draws
    lu.assertEquals(math.type(g:random(math.mininteger, math.maxinteger)), "integer")
    local a, b = mf.Generator(3), mf.Generator(3)
    for _ = 1, 5 do lu.assertEquals(a:random(1, 1000), b:random(1, 1000)) end
    assert_error(function() g:random(0) end, "bad argument #1 to 'random' (interval is empty)")
    assert_error(function() g:random(5, 1) end, "bad argument #2 to 'random' (interval is empty)")
    assert_error(function() g:random(1, 2, 3) end, "wrong number of arguments to 'random'")
end

---------------------------------------------------------------- train_test_split
TestTrainTestSplit = {}

function TestTrainTestSplit:test_sizes_follow_sklearn_rounding()
    local X = mf.arange(1, 11, "int64")
    local cases = {
        {{}, 7, 3},                              -- default test_size 0.25: ceil(2.5)
        {{test_size = 0.25}, 7, 3},
        {{test_size = 0.31}, 6, 4},              -- ceil(3.1)
        {{test_size = 4}, 6, 4},
        {{train_size = 0.75}, 7, 3},             -- floor(7.5)
        {{train_size = 6}, 6, 4},
        {{train_size = 5, test_size = 2}, 5, 2}, -- a subsample
        {{train_size = 0.5, test_size = 0.2}, 5, 2},
    }
    for _, c in ipairs(cases) do
        local tr, te = mf.data.train_test_split(X, c[1])
        lu.assertEquals({tr:size(1), te:size(1)}, {c[2], c[3]})
    end
end

function TestTrainTestSplit:test_seeded_split_is_fixed()
    local X = mf.arange(1, 13, "int64")
    local tr, te = mf.data.train_test_split(X, {seed = 42})
    lu.assertEquals(list(tr), {4, 10, 11, 6, 8, 9, 7, 5, 2})
    lu.assertEquals(list(te), {1, 3, 12})
    -- the same as the first n_test rows of the seeded permutation (test) and
    -- the rest (train), as scikit-learn's ShuffleSplit
    mf.manual_seed(42)
    local perm = list(mf.randperm(12))
    lu.assertEquals(list(te), {perm[1], perm[2], perm[3]})
    lu.assertEquals(list(tr), {table.unpack(perm, 4, 12)})
    local tr2 = mf.data.train_test_split(X, {seed = 42})
    lu.assertEquals(list(tr2), list(tr))
    local tr3 = mf.data.train_test_split(X, {seed = 43})
    lu.assertNotEquals(list(tr3), list(tr))
end

function TestTrainTestSplit:test_unseeded_uses_global_generator()
    local X = mf.arange(1, 21, "int64")
    mf.manual_seed(5)
    local a = list((mf.data.train_test_split(X)))
    mf.manual_seed(5)
    local b = list((mf.data.train_test_split(X)))
    lu.assertEquals(a, b)
end

function TestTrainTestSplit:test_rows_stay_aligned_and_partition()
    local n = 50
    local X = mf.arange(1, n + 1):reshape(n, 1):expand(n, 3):contiguous()
    local y = mf.arange(1, n + 1) * 10
    local Xtr, Xte, ytr, yte = mf.data.train_test_split(X, y, {test_size = 0.2, seed = 1})
    lu.assertEquals(Xtr:shape(), {40, 3})
    lu.assertEquals(Xte:shape(), {10, 3})
    lu.assertTrue(mf.equal(Xtr:select(2, 3) * 10, ytr))
    lu.assertTrue(mf.equal(Xte:select(2, 1) * 10, yte))
    local seen = {}
    for _, part in ipairs({Xtr, Xte}) do
        for _, v in ipairs(list(part:select(2, 1))) do
            lu.assertNil(seen[v])
            seen[v] = true
        end
    end
    for i = 1, n do lu.assertTrue(seen[i]) end
end

function TestTrainTestSplit:test_tables_and_lua_arrays()
    local tbl = mf.data.from_columns({id = {1, 2, 3, 4, 5, 6, 7, 8}, name = {"a", "b", "c", "d", "e", "f", "g", "h"}},
                                     {order = {"id", "name"}})
    local labels = {10, 20, 30, 40, 50, 60, 70, 80}
    local Ttr, Tte, ltr, lte = mf.data.train_test_split(tbl, labels, {test_size = 3, seed = 7})
    lu.assertEquals(#Ttr, 5)
    lu.assertEquals(#Tte, 3)
    lu.assertEquals(#ltr, 5)
    for i, id in ipairs(list(Ttr.id)) do
        lu.assertEquals(ltr[i], id * 10)
        lu.assertEquals(Ttr.name[i], string.char(96 + id))
    end
    for i, id in ipairs(list(Tte.id)) do lu.assertEquals(lte[i], id * 10) end
end

function TestTrainTestSplit:test_no_shuffle_takes_first_rows_for_train()
    local X = mf.arange(1, 11, "int64")
    local tr, te = mf.data.train_test_split(X, nil, {shuffle = false, test_size = 0.3})
    lu.assertEquals(list(tr), {1, 2, 3, 4, 5, 6, 7})
    lu.assertEquals(list(te), {8, 9, 10})
    tr, te = mf.data.train_test_split(X, nil, {shuffle = false, train_size = 3, test_size = 2})
    lu.assertEquals(list(tr), {1, 2, 3})
    lu.assertEquals(list(te), {4, 5})
end

-- Each class's count in train (and test) is within 1 of its share.
local function check_stratified(labels, n_train, n_test, ytr, yte)
    local n = #labels
    local total = count_by(labels, (function() local r = {} for i = 1, n do r[i] = i end return r end)())
    local ctr, cte = {}, {}
    for _, v in ipairs(ytr) do ctr[v] = (ctr[v] or 0) + 1 end
    for _, v in ipairs(yte) do cte[v] = (cte[v] or 0) + 1 end
    lu.assertEquals(#ytr, n_train)
    lu.assertEquals(#yte, n_test)
    for cls, c in pairs(total) do
        local share_tr = c * n_train / n
        local share_te = c * n_test / n
        lu.assertTrue(math.abs((ctr[cls] or 0) - share_tr) < 1, ("class %s: %d in train, share %.2f")
                      :format(cls, ctr[cls] or 0, share_tr))
        lu.assertTrue(math.abs((cte[cls] or 0) - share_te) < 1, ("class %s: %d in test, share %.2f")
                      :format(cls, cte[cls] or 0, share_te))
    end
end

function TestTrainTestSplit:test_stratified_keeps_proportions()
    -- 3 classes of 50, 30 and 7 rows
    local labels = {}
    for i = 1, 87 do labels[i] = i <= 50 and "ok" or i <= 80 and "scratch" or "dent" end
    local X = mf.arange(1, 88, "int64")
    for seed = 1, 20 do
        for _, ts in ipairs({0.2, 0.25, 0.5, 13}) do
            local Xtr, Xte, ytr, yte = mf.data.train_test_split(X, labels, {test_size = ts, seed = seed, stratify = true})
            local n_test = math.type(ts) == "float" and math.ceil(ts * 87) or ts
            check_stratified(labels, 87 - n_test, n_test, ytr, yte)
            for i, r in ipairs(list(Xtr)) do lu.assertEquals(ytr[i], labels[r]) end
            for i, r in ipairs(list(Xte)) do lu.assertEquals(yte[i], labels[r]) end
        end
    end
end

function TestTrainTestSplit:test_stratified_by_tensor_labels_and_fixed_seed()
    local y = mf.tensor({0, 1, 0, 1, 0, 1, 0, 1, 0, 2, 2, 2}, "int64")
    local X = mf.arange(1, 13, "int64")
    local Xtr, Xte, ytr, yte = mf.data.train_test_split(X, y, {seed = 3, test_size = 6, stratify = true})
    lu.assertEquals(list(Xtr), {5, 9, 8, 3, 6, 11})
    lu.assertEquals(list(Xte), {4, 7, 2, 10, 12, 1})
    lu.assertTrue(mf.equal(y:index(1, Xtr), ytr))
    lu.assertTrue(mf.equal(y:index(1, Xte), yte))
    -- stratify by separate labels, y then just follows
    local yl = y:totable()
    local _, _, ytr2, yte2 = mf.data.train_test_split(X, X * 2, {seed = 3, test_size = 6, stratify = yl})
    lu.assertEquals(list(ytr2), list(Xtr * 2))
    lu.assertEquals(list(yte2), list(Xte * 2))
    -- the float labels of a float tensor work too
    local _, Xte3 = mf.data.train_test_split(X, y:double(), {seed = 3, test_size = 6, stratify = true})
    lu.assertEquals(list(Xte3), list(Xte))
    -- bool labels: two classes
    local yb = mf.tensor({true, false, true, false, true, false, true, false})
    local _, _, ybtr, ybte = mf.data.train_test_split(mf.zeros(8), yb, {seed = 1, test_size = 0.5, stratify = true})
    lu.assertEquals(ybtr:long():sum():item(), 2)
    lu.assertEquals(ybte:long():sum():item(), 2)
end

function TestTrainTestSplit:test_stratify_by_table_column()
    local tbl = mf.data.from_columns({line = {"A", "A", "B", "B", "A", "B", "A", "B"}})
    local X = mf.arange(1, 9, "int64")
    local Xtr, Xte = mf.data.train_test_split(X, nil, {stratify = tbl, test_size = 0.5, seed = 2})
    local line = tbl.line
    local ctr = count_by(line, list(Xtr))
    local cte = count_by(line, list(Xte))
    lu.assertEquals(ctr, {A = 2, B = 2})
    lu.assertEquals(cte, {A = 2, B = 2})
end

function TestTrainTestSplit:test_errors()
    local X = mf.zeros(10, 2)
    local y = mf.zeros(10)
    local tts = mf.data.train_test_split
    assert_error(function() tts(X, mf.zeros(9)) end, "bad argument #2 to 'train_test_split' (y has 9 rows, X has 10)")
    for _, bad in ipairs({0, 10, -1}) do
        assert_error(function() tts(X, y, {test_size = bad}) end, "bad argument #3 to 'train_test_split'",
                     "option 'test_size' = " .. bad)
    end
    for _, bad in ipairs({0.0, 1.0, 1.5}) do
        assert_error(function() tts(X, y, {test_size = bad}) end, "should be a fraction in (0, 1)")
    end
    assert_error(function() tts(X, y, {train_size = 10}) end, "option 'train_size' = 10")
    assert_error(function() tts(X, y, {test_size = "a"}) end, "option 'test_size' must be a number")
    assert_error(function() tts(X, y, {test_size = 0.6, train_size = 0.6}) end, "should be at most 1")
    assert_error(function() tts(X, y, {test_size = 6, train_size = 6}) end, "more than the 10 rows")
    assert_error(function() tts(X, y, {test_size = 0.05, train_size = 0.09}) end, "the train set would be empty")
    assert_error(function() tts(X, y, {tests_size = 0.2}) end, "unknown option 'tests_size'")
    assert_error(function() tts(X, y, {seed = 1.5}) end, "option 'seed' must be an integer")
    assert_error(function() tts(X, y, {shuffle = false, seed = 1}) end, "option 'seed' has no effect")
    assert_error(function() tts(X, y, {shuffle = false, stratify = true}) end, "needs shuffle = true")
    assert_error(function() tts(X, nil, {stratify = true}) end, "no y was given")
    assert_error(function() tts(X, y, {stratify = {1, 2}}) end, "stratify has 2 rows, X has 10")
    local labels = mf.tensor({1, 1, 1, 1, 1, 2, 2, 2, 2, 3})
    assert_error(function() tts(X, labels, {stratify = true}) end,
                 "the least populated class in y has only 1 member, which is too few")
    local two = mf.tensor({1, 1, 1, 1, 1, 2, 2, 2, 2, 2})
    assert_error(function() tts(X, two, {stratify = true, test_size = 1}) end,
                 "the test size = 1 should be greater or equal to the number of classes = 2")
    assert_error(function() tts(X, two, {stratify = true, train_size = 1}) end,
                 "the train size = 1 should be greater or equal to the number of classes = 2")
    assert_error(function() tts(X, mf.tensor({1, 1, 1, 1, 1, 2, 2, 2, 2, 0 / 0}), {stratify = true}) end,
                 "stratify holds NaN")
    assert_error(function() tts(X, {1, 1, 1, 1, 1, 2, 2, 2, 2, mf.data.NA}, {stratify = true}) end,
                 "stratify[10] is missing")
    assert_error(function() tts(5) end, "bad argument #1 to 'train_test_split' (X must be a tensor")
    assert_error(function() tts(mf.zeros(1, 2)) end, "at least 2 are needed")
end

---------------------------------------------------------------- KFold
TestKFold = {}

function TestKFold:test_consecutive_folds_as_sklearn()
    local folds = collect(ms.KFold{n_splits = 5}:split(mf.zeros(12, 2)))
    lu.assertEquals(tests_of(folds), {{1, 2, 3}, {4, 5, 6}, {7, 8}, {9, 10}, {11, 12}})
    assert_partition(folds, 12)
    lu.assertEquals(ms.KFold():get_n_splits(), 5)
    lu.assertEquals(ms.KFold{n_splits = 3}:get_n_splits(), 3)
end

function TestKFold:test_sizes_for_many_n()
    for n = 3, 23 do
        for k = 2, math.min(n, 6) do
            local folds = collect(ms.KFold{n_splits = k}:split(mf.zeros(n)))
            lu.assertEquals(#folds, k)
            for f = 1, k do
                lu.assertEquals(#folds[f][2], n // k + (f <= n % k and 1 or 0))
            end
            assert_partition(folds, n)
        end
    end
end

function TestKFold:test_shuffled_is_seeded_and_a_partition()
    local cv = ms.KFold{n_splits = 4, shuffle = true, seed = 11}
    local a = collect(cv:split({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}))
    local b = collect(cv:split({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}))
    lu.assertEquals(a, b) -- an integer seed gives the same folds on every split
    assert_partition(a, 10)
    lu.assertEquals({#a[1][2], #a[2][2], #a[3][2], #a[4][2]}, {3, 3, 2, 2})
    -- fold f tests positions of the seeded permutation, as sklearn's
    local perm = list(mf.Generator(11):randperm(10))
    local first = {perm[1], perm[2], perm[3]}
    table.sort(first)
    lu.assertEquals(a[1][2], first)
    local plain = collect(ms.KFold{n_splits = 4}:split(mf.zeros(10)))
    lu.assertNotEquals(a, plain)
end

function TestKFold:test_errors()
    assert_error(function() ms.KFold{n_splits = 1} end, "bad argument #1 to 'KFold'", "n_splits must be 2 or more")
    assert_error(function() ms.KFold{n_splits = 2.5} end, "option 'n_splits' must be an integer")
    assert_error(function() ms.KFold{folds = 3} end, "unknown option 'folds'")
    assert_error(function() ms.KFold{seed = 1} end, "option 'seed' has no effect when shuffle is false")
    assert_error(function() ms.KFold{shuffle = 1} end, "option 'shuffle' must be a boolean")
    assert_error(function() ms.KFold{n_splits = 6}:split(mf.zeros(5)) end,
                 "bad argument #1 to 'split' (cannot have n_splits = 6 greater than the number of rows (5))")
    assert_error(function() ms.KFold():split("x") end, "X must be a tensor, a Table or a Lua array")
end

---------------------------------------------------------------- StratifiedKFold
TestStratifiedKFold = {}

function TestStratifiedKFold:test_folds_as_sklearn()
    local y = mf.tensor({0, 0, 0, 0, 0, 0, 1, 1, 1, 1})
    local folds = collect(ms.StratifiedKFold{n_splits = 3}:split(mf.zeros(10), y))
    lu.assertEquals(tests_of(folds), {{1, 2, 7, 8}, {3, 4, 9}, {5, 6, 10}})
    assert_partition(folds, 10)
    -- sklearn 1.2: StratifiedKFold(4).split(X, [2,2,1,0,2,1,1,0,2,2,2,1])
    local y2 = {2, 2, 1, 0, 2, 1, 1, 0, 2, 2, 2, 1}
    local w = mf.capture_warnings(function()
        folds = collect(ms.StratifiedKFold{n_splits = 4}:split(mf.zeros(12), y2))
    end)
    lu.assertEquals(tests_of(folds), {{1, 2, 3}, {5, 6, 9}, {4, 7, 10}, {8, 11, 12}})
    lu.assertEquals(w, {"StratifiedKFold: the least populated class in y has only 2 members, "
                        .. "which is less than n_splits = 4"})
end

function TestStratifiedKFold:test_each_class_spread_evenly()
    local labels = {}
    mf.manual_seed(0)
    local draw = list(mf.randint(1, 5, {103}))
    for i = 1, 103 do labels[i] = ({"a", "b", "c", "d"})[draw[i]] end
    local total = {}
    for _, v in ipairs(labels) do total[v] = (total[v] or 0) + 1 end
    for _, shuffle in ipairs({false, true}) do
        local cv = ms.StratifiedKFold{n_splits = 5, shuffle = shuffle, seed = shuffle and 3 or nil}
        local folds = collect(cv:split(mf.zeros(103), labels))
        assert_partition(folds, 103)
        local sizes = {}
        for f = 1, 5 do
            sizes[f] = #folds[f][2]
            local c = count_by(labels, folds[f][2])
            for cls, t in pairs(total) do
                local got = c[cls] or 0
                lu.assertTrue(got == t // 5 or got == (t + 4) // 5,
                              ("fold %d: %d of class %s (of %d)"):format(f, got, cls, t))
            end
        end
        table.sort(sizes)
        lu.assertTrue(sizes[5] - sizes[1] <= 1)
    end
end

function TestStratifiedKFold:test_shuffle_is_seeded()
    local y = {}
    for i = 1, 40 do y[i] = i % 3 end
    local a = collect(ms.StratifiedKFold{n_splits = 4, shuffle = true, seed = 5}:split(mf.zeros(40), y))
    local b = collect(ms.StratifiedKFold{n_splits = 4, shuffle = true, seed = 5}:split(mf.zeros(40), y))
    local c = collect(ms.StratifiedKFold{n_splits = 4, shuffle = true, seed = 6}:split(mf.zeros(40), y))
    lu.assertEquals(a, b)
    lu.assertNotEquals(a, c)
end

function TestStratifiedKFold:test_errors()
    local skf = ms.StratifiedKFold{n_splits = 3}
    assert_error(function() skf:split(mf.zeros(6)) end, "bad argument #2 to 'split' (StratifiedKFold needs the labels y)")
    assert_error(function() skf:split(mf.zeros(6), {1, 1, 2}) end, "y has 3 rows, X has 6")
    assert_error(function() skf:split(mf.zeros(6), {1, 1, 2, 2, 3, 3}) end,
                 "n_splits = 3 cannot be greater than the number of members in each class")
    assert_error(function() skf:split(mf.zeros(6), mf.tensor({0.5, 1, 2, 2, 3, 3})) end,
                 "StratifiedKFold needs class labels")
    assert_error(function() skf:split(mf.zeros(6), mf.tensor({0 / 0, 1, 2, 2, 3, 3})) end, "y holds NaN")
    assert_error(function() ms.StratifiedKFold{n_splits = 3, shuffle = false, seed = 2} end, "has no effect")
end

---------------------------------------------------------------- TimeSeriesSplit
TestTimeSeriesSplit = {}

function TestTimeSeriesSplit:test_folds_as_sklearn()
    local X = mf.zeros(12)
    local expect = {
        {{n_splits = 3}, {{{1, 2, 3}, {4, 5, 6}}, {{1, 2, 3, 4, 5, 6}, {7, 8, 9}},
                          {{1, 2, 3, 4, 5, 6, 7, 8, 9}, {10, 11, 12}}}},
        {{n_splits = 3, max_train_size = 3}, {{{1, 2, 3}, {4, 5, 6}}, {{4, 5, 6}, {7, 8, 9}},
                                              {{7, 8, 9}, {10, 11, 12}}}},
        {{n_splits = 2, test_size = 2, gap = 1}, {{{1, 2, 3, 4, 5, 6, 7}, {9, 10}},
                                                  {{1, 2, 3, 4, 5, 6, 7, 8, 9}, {11, 12}}}},
        {{n_splits = 4, gap = 2, max_train_size = 2}, {{{1, 2}, {5, 6}}, {{3, 4}, {7, 8}}, {{5, 6}, {9, 10}},
                                                       {{7, 8}, {11, 12}}}},
    }
    for _, c in ipairs(expect) do
        lu.assertEquals(collect(ms.TimeSeriesSplit(c[1]):split(X)), c[2])
    end
    lu.assertEquals(ms.TimeSeriesSplit():get_n_splits(), 5)
end

function TestTimeSeriesSplit:test_no_future_leakage()
    for n = 13, 48, 7 do
        for gap = 0, 2 do
            local cv = ms.TimeSeriesSplit{n_splits = 4, gap = gap}
            local last_test = 0
            for train, test in cv:split(mf.zeros(n)) do
                local tr, te = list(train), list(test)
                lu.assertTrue(#tr > 0)
                lu.assertTrue(tr[#tr] + gap < te[1], "training rows reach into the test block")
                lu.assertEquals(te[1], last_test == 0 and te[1] or last_test + 1) -- test blocks follow each other
                last_test = te[#te]
            end
            lu.assertEquals(last_test, n) -- the last block ends at the last row
        end
    end
end

function TestTimeSeriesSplit:test_errors()
    assert_error(function() ms.TimeSeriesSplit{n_splits = 5}:split(mf.zeros(5)) end,
                 "cannot have n_splits + 1 = 6 folds greater than the number of rows (5)")
    assert_error(function() ms.TimeSeriesSplit{n_splits = 3, test_size = 4}:split(mf.zeros(12)) end,
                 "too many splits (n_splits = 3) for 12 rows with test_size = 4 and gap = 0")
    assert_error(function() ms.TimeSeriesSplit{gap = -1} end, "option 'gap' must be an integer >= 0")
    assert_error(function() ms.TimeSeriesSplit{test_size = 0} end, "option 'test_size' must be an integer >= 1")
    assert_error(function() ms.TimeSeriesSplit{shuffle = true} end, "unknown option 'shuffle'")
end

---------------------------------------------------------------- GroupKFold
TestGroupKFold = {}

function TestGroupKFold:test_folds_as_sklearn()
    local groups = mf.tensor({5, 5, 3, 3, 3, 9, 9, 9, 9, 1, 7, 7}, "int64")
    local folds = collect(ms.GroupKFold{n_splits = 3}:split(mf.zeros(12), nil, groups))
    lu.assertEquals(tests_of(folds), {{6, 7, 8, 9}, {3, 4, 5, 10}, {1, 2, 11, 12}})
    assert_partition(folds, 12)
end

function TestGroupKFold:test_no_group_in_two_folds()
    local groups = {}
    mf.manual_seed(1)
    local draw = list(mf.randint(1, 12, {200}))
    for i = 1, 200 do groups[i] = "machine" .. draw[i] end
    local folds = collect(ms.GroupKFold{n_splits = 4}:split(mf.zeros(200), nil, groups))
    assert_partition(folds, 200)
    local fold_of = {}
    for f, fold in ipairs(folds) do
        for _, r in ipairs(fold[2]) do
            local g = groups[r]
            lu.assertTrue(fold_of[g] == nil or fold_of[g] == f, "group " .. g .. " in two folds")
            fold_of[g] = f
        end
    end
end

function TestGroupKFold:test_errors()
    local cv = ms.GroupKFold{n_splits = 3}
    assert_error(function() cv:split(mf.zeros(4)) end, "bad argument #3 to 'split' (GroupKFold needs groups")
    assert_error(function() cv:split(mf.zeros(4), nil, {1, 1, 2, 2}) end,
                 "cannot have n_splits = 3 greater than the number of groups (2)")
    assert_error(function() cv:split(mf.zeros(4), nil, {1, 2, 3}) end, "groups has 3 rows, X has 4")
    assert_error(function() ms.GroupKFold{shuffle = true} end, "unknown option 'shuffle'")
end

---------------------------------------------------------------- ShuffleSplit
TestShuffleSplit = {}

function TestShuffleSplit:test_splits_follow_the_seeded_generator()
    local cv = ms.ShuffleSplit{n_splits = 3, test_size = 0.25, seed = 5}
    lu.assertEquals(cv:get_n_splits(), 3)
    local a = collect(cv:split(mf.zeros(12)))
    lu.assertEquals(#a, 3)
    local g = mf.Generator(5)
    for i = 1, 3 do
        local perm = list(g:randperm(12))
        lu.assertEquals(a[i][2], {perm[1], perm[2], perm[3]})
        lu.assertEquals(a[i][1], {table.unpack(perm, 4, 12)})
    end
    lu.assertEquals(collect(cv:split(mf.zeros(12))), a) -- the same splits on every call
    local d = collect(ms.ShuffleSplit():split(mf.zeros(20)))
    lu.assertEquals(#d, 10)
    lu.assertEquals({#d[1][1], #d[1][2]}, {18, 2}) -- test_size 0.1 by default
    lu.assertIs(ms.train_test_split, mf.data.train_test_split)
end

function TestShuffleSplit:test_stratified_shuffle_split()
    local labels = {}
    for i = 1, 60 do labels[i] = i <= 36 and "a" or i <= 51 and "b" or "c" end
    local cv = ms.StratifiedShuffleSplit{n_splits = 4, test_size = 0.3, seed = 2}
    local folds = collect(cv:split(mf.zeros(60), labels))
    lu.assertEquals(#folds, 4)
    for _, f in ipairs(folds) do
        local ytr, yte = {}, {}
        for i, r in ipairs(f[1]) do ytr[i] = labels[r] end
        for i, r in ipairs(f[2]) do yte[i] = labels[r] end
        check_stratified(labels, 42, 18, ytr, yte)
        local seen = {}
        for _, r in ipairs(f[1]) do seen[r] = true end
        for _, r in ipairs(f[2]) do lu.assertNil(seen[r], "a row in train and test") end
    end
    lu.assertNotEquals(folds[1], folds[2])
end

function TestShuffleSplit:test_errors()
    assert_error(function() ms.ShuffleSplit{test_size = 1.5} end, "bad argument #1 to 'ShuffleSplit'",
                 "option 'test_size' = 1.5 should be a fraction in (0, 1)")
    assert_error(function() ms.ShuffleSplit{n_splits = 0} end, "option 'n_splits' must be an integer >= 1")
    assert_error(function() ms.ShuffleSplit{shuffle = true} end, "unknown option 'shuffle'")
    assert_error(function() ms.ShuffleSplit{test_size = 12}:split(mf.zeros(10)) end,
                 "bad argument #1 to 'split' (option 'test_size' = 12")
    local sss = ms.StratifiedShuffleSplit{test_size = 0.5}
    assert_error(function() sss:split(mf.zeros(6)) end, "StratifiedShuffleSplit needs the labels y")
    assert_error(function() sss:split(mf.zeros(6), {1, 1, 2, 2, 2, 3}) end,
                 "bad argument #2 to 'split' (the least populated class in y has only 1 member")
end

---------------------------------------------------------------- DataLoader
TestDataLoader = {}

local function epoch_rows(loader)
    local rows = {}
    for xb, yb in loader:iter() do
        local xs, ys = list(xb:select(2, 1)), list(yb)
        for i, v in ipairs(xs) do
            lu.assertEquals(ys[i], v * 10) -- X and y rows stay together
            rows[#rows + 1] = v
        end
    end
    return rows
end

local function data(n)
    local X = mf.arange(1, n + 1):reshape(n, 1):expand(n, 2):contiguous()
    return X, mf.arange(1, n + 1) * 10
end

function TestDataLoader:test_in_order_batches_are_views()
    local X, y = data(10)
    local loader = mf.data.DataLoader(X, y, {batch_size = 4})
    lu.assertEquals(#loader, 3)
    local sizes = {}
    for xb, yb in loader:iter() do sizes[#sizes + 1] = {xb:size(1), yb:size(1)} end
    lu.assertEquals(sizes, {{4, 4}, {4, 4}, {2, 2}})
    lu.assertEquals(epoch_rows(loader), {1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
    -- a batch shares X's memory: writing into it shows in X
    local it = loader:iter()
    it()
    local xb = it()
    xb:set(1, 1, 99)
    lu.assertEquals(X:get(5, 1), 99)
    local dl = mf.data.DataLoader(X, y, {batch_size = 4, drop_last = true})
    lu.assertEquals(#dl, 2)
    local n = 0
    for xb2 in dl:iter() do
        lu.assertEquals(xb2:size(1), 4)
        n = n + 1
    end
    lu.assertEquals(n, 2)
end

function TestDataLoader:test_shuffled_epochs_are_permutations_and_seeded()
    local X, y = data(23)
    local a = mf.data.DataLoader(X, y, {batch_size = 5, shuffle = true, seed = 4})
    local b = mf.data.DataLoader(X, y, {batch_size = 5, shuffle = true, seed = 4})
    local e1, e2 = epoch_rows(a), epoch_rows(a)
    lu.assertNotEquals(e1, e2) -- a new order each epoch
    for _, e in ipairs({e1, e2}) do
        local sorted = table.move(e, 1, #e, 1, {})
        table.sort(sorted)
        local want = {}
        for i = 1, 23 do want[i] = i end
        lu.assertEquals(sorted, want)
    end
    lu.assertEquals(epoch_rows(b), e1) -- reproducible from the seed
    lu.assertEquals(epoch_rows(b), e2)
    -- the orders are the loader's generator's permutations
    local g = mf.Generator(4)
    lu.assertEquals(e1, list(g:randperm(23)))
    lu.assertEquals(e2, list(g:randperm(23)))
    -- without a seed: the global generator
    local c = mf.data.DataLoader(X, y, {batch_size = 5, shuffle = true})
    mf.manual_seed(8)
    local e3 = epoch_rows(c)
    mf.manual_seed(8)
    lu.assertEquals(e3, list(mf.randperm(23)))
    -- drop_last drops the rows of the last, short batch of this epoch's order
    local d = mf.data.DataLoader(X, y, {batch_size = 5, shuffle = true, seed = 4, drop_last = true})
    lu.assertEquals(#d, 4)
    lu.assertEquals(epoch_rows(d), {table.unpack(e1, 1, 20)})
end

function TestDataLoader:test_tables_arrays_and_no_y()
    local tbl = mf.data.from_columns({a = {1, 2, 3}, b = {4, 5, 6}}, {order = {"a", "b"}})
    local loader = mf.data.DataLoader(tbl, {7, 8, 9}, {batch_size = 2})
    local it = loader:iter()
    local xb, yb = it()
    lu.assertEquals(xb:totable(), {{1, 4}, {2, 5}})
    lu.assertEquals(yb:totable(), {7, 8})
    local only = mf.data.DataLoader(mf.zeros(5, 2), {batch_size = 2})
    local n = 0
    for xb2, extra in only:iter() do
        lu.assertNil(extra)
        n = n + xb2:size(1)
    end
    lu.assertEquals(n, 5)
    lu.assertEquals(tostring(only), "DataLoader(rows=5, batch_size=2, batches=3, shuffle=false, drop_last=false)")
    lu.assertTrue(mf.data.is_loader(only))
    lu.assertFalse(mf.data.is_loader(mf.zeros(2)))
end

function TestDataLoader:test_memory_is_flat_over_epochs()
    -- 500 shuffled epochs allocate about 22 MB in all (a permutation and 32
    -- batches each); what is alive at any epoch end must stay far below that
    local X, y = data(2000)
    local loader = mf.data.DataLoader(X, y, {batch_size = 64, shuffle = true, seed = 1})
    local function run(epochs)
        local peak = 0
        for _ = 1, epochs do
            for xb, yb in loader:iter() do
                local _ = xb:sum() + yb:sum()
            end
            peak = math.max(peak, mf.mem_in_use())
        end
        return peak
    end
    run(5)
    collectgarbage("collect")
    local before = mf.mem_in_use()
    local peak = run(500) - before
    lu.assertTrue(peak < 8 * 1024 * 1024, ("%d bytes alive at the peak"):format(peak))
    collectgarbage("collect")
    local grown = mf.mem_in_use() - before
    lu.assertTrue(grown < 64 * 1024, ("%d bytes still in use after 500 epochs"):format(grown))
end

function TestDataLoader:test_errors()
    local X = mf.zeros(6, 2)
    local DL = mf.data.DataLoader
    assert_error(function() DL(X, mf.zeros(5)) end, "bad argument #2 to 'DataLoader' (y has 5 rows, X has 6)")
    assert_error(function() DL(X, nil, {batch_size = 0}) end, "option 'batch_size' must be an integer >= 1")
    assert_error(function() DL(X, nil, {batchsize = 2}) end, "unknown option 'batchsize'")
    assert_error(function() DL(X, nil, {seed = 1}) end, "option 'seed' has no effect")
    assert_error(function() DL(X, nil, {shuffle = "yes"}) end, "option 'shuffle' must be a boolean")
    assert_error(function() DL(X, {"a", "b", "a", "b", "a", "b"}) end, "y[1] is a string",
                 "encode labels first")
    assert_error(function() DL("x") end, "bad argument #1 to 'DataLoader' (X must be a tensor")
    assert_error(function() DL(mf.tensor(1)) end, "X is a 0-d tensor")
end

---------------------------------------------------------------- fit on a DataLoader
TestFitLoader = {}

local function regression(n)
    mf.manual_seed(0)
    local X = mf.randn(n, 3)
    local y = X:matmul(mf.tensor({{1.5}, {-2}, {0.5}})):reshape(-1) + 0.3
    return X, y
end

local function new_model()
    mf.manual_seed(1)
    return nn.Sequential{nn.Dense(1, {input_dim = 3})}
end

local function params_of(model)
    local out = {}
    for _, p in ipairs(model:parameters()) do out[#out + 1] = p:detach():clone() end
    return out
end

local function assert_params_close(a, b)
    lu.assertEquals(#a, #b)
    for i = 1, #a do
        lu.assertTrue(mf.allclose(a[i], b[i], {rtol = 1e-5, atol = 1e-6}),
                      ("parameter %d: %s vs %s"):format(i, tostring(a[i]), tostring(b[i])))
    end
end

function TestFitLoader:test_fit_trains_on_the_loaders_batches()
    local X, y = regression(70)
    local m1 = new_model()
    m1:compile{optimizer = mf.optim.SGD{lr = 0.05}, loss = "mse"}
    local loader = mf.data.DataLoader(X, y, {batch_size = 16, shuffle = true, seed = 7})
    local h = m1:fit(loader, nil, {epochs = 3, verbose = 0})
    lu.assertEquals(#h.history.loss, 3)
    -- the same training by hand over an identical loader
    local m2 = new_model()
    local opt = mf.optim.SGD(m2:parameters(), {lr = 0.05})
    local twin = mf.data.DataLoader(X, y, {batch_size = 16, shuffle = true, seed = 7})
    for _ = 1, 3 do
        for xb, yb in twin:iter() do
            local l = ((m2(xb):reshape(-1) - yb) ^ 2):mean()
            opt:zero_grad()
            l:backward()
            opt:step()
        end
    end
    assert_params_close(params_of(m1), params_of(m2))
    lu.assertTrue(h.history.loss[3] < h.history.loss[1])
end

function TestFitLoader:test_in_order_loader_matches_fit_on_tensors()
    local X, y = regression(50)
    local m1, m2 = new_model(), new_model()
    m1:compile{optimizer = mf.optim.SGD{lr = 0.05}, loss = "mse"}
    m2:compile{optimizer = mf.optim.SGD{lr = 0.05}, loss = "mse"}
    m1:fit(mf.data.DataLoader(X, y, {batch_size = 8}), nil, {epochs = 2, verbose = 0})
    m2:fit(X, y, {batch_size = 8, shuffle = false, epochs = 2, verbose = 0})
    assert_params_close(params_of(m1), params_of(m2))
end

function TestFitLoader:test_drop_last_validation_and_classes()
    mf.manual_seed(3)
    local X = mf.randn(45, 2)
    local y = X:sum(2):gt(0):long()
    local model = nn.Sequential{nn.Dense(1, {input_dim = 2, activation = "sigmoid"})}
    model:compile{optimizer = "adam", loss = "binary_crossentropy", metrics = {"accuracy"}}
    local steps = 0
    local counter = {on_batch_end = function(_, _, logs)
        steps = steps + 1
        lu.assertEquals(logs.size, 10)
    end}
    local loader = mf.data.DataLoader(X, y, {batch_size = 10, shuffle = true, seed = 1, drop_last = true})
    local h = model:fit(loader, nil, {epochs = 2, verbose = 0, callbacks = {counter},
                                      validation_data = {X, y}})
    lu.assertEquals(steps, 8) -- 4 full batches per epoch, the 5 last rows dropped
    lu.assertEquals(#h.history.val_loss, 2)
    lu.assertEquals(#h.history.accuracy, 2)
    lu.assertEquals(model.classes, {0, 1})
end

function TestFitLoader:test_errors()
    local X, y = regression(20)
    local model = new_model()
    model:compile{optimizer = "sgd", loss = "mse"}
    local loader = mf.data.DataLoader(X, y, {batch_size = 4})
    for _, key in ipairs({"batch_size", "shuffle", "seed"}) do
        local opts = {verbose = 0}
        opts[key] = key == "shuffle" and true or 4
        assert_error(function() model:fit(loader, nil, opts) end, "bad argument #3 to 'fit'",
                     ("option '%s' cannot be used when X is a DataLoader (set it on the DataLoader)"):format(key))
    end
    assert_error(function() model:fit(loader, nil, {validation_split = 0.2}) end,
                 "option 'validation_split' cannot be used when X is a DataLoader")
    assert_error(function() model:fit(loader, y) end, "bad argument #2 to 'fit' (y must be nil when X is a DataLoader")
    assert_error(function() model:fit(mf.data.DataLoader(X), nil) end, "the DataLoader has no y")
    assert_error(function() model:fit(mf.data.DataLoader(X, y, {batch_size = 30, drop_last = true}), nil) end,
                 "the DataLoader gives no batch")
end

os.exit(lu.LuaUnit.run(), true)
