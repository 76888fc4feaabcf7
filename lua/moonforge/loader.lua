-- moonforge.loader: mf.data.train_test_split and mf.data.DataLoader.
--
-- train_test_split follows scikit-learn (test_size rounding, stratified
-- allocation) with 1-based rows; DataLoader follows PyTorch's (batch_size,
-- shuffle, drop_last), iterated with `for xb, yb in loader:iter() do`.
local mf = require "moonforge"
local ms = require "moonforge.model_selection"

local is_tensor = mf.is_tensor
local check_options = mf.nn.check_options
local argerror, is_table, nrows, take = ms._argerror, ms._is_table, ms._nrows, ms._take
local new_rng, randperm, label_codes, check_seed = ms._new_rng, ms._randperm, ms._label_codes, ms._check_seed
local check_bool = ms._check_bool

local M = mf.data

-- Whether v, the second argument, is really an option table (f(X, opts)
-- without y): a plain table with no array part (an empty one too: as y,
-- it could only be a row-count mismatch).
local function looks_like_opts(v)
    return type(v) == "table" and not is_tensor(v) and not is_table(v) and #v == 0
        and (next(v) == nil or type(next(v)) == "string")
end

---------------------------------------------------------------- train_test_split

-- scikit-learn's _validate_shuffle_split: (n_train, n_test) for n rows.
local function split_sizes(n, test_size, train_size, fname, argn)
    local function check(v, name)
        if v == nil then return end
        if math.type(v) == "integer" then
            if v <= 0 or v >= n then
                argerror(argn, fname, ("option '%s' = %d should be a count in [1, %d] or a fraction in (0, 1)")
                         :format(name, v, n - 1), 4)
            end
        elseif math.type(v) == "float" then
            if not (v > 0 and v < 1) then
                argerror(argn, fname, ("option '%s' = %s should be a fraction in (0, 1) or a count in [1, %d]")
                         :format(name, tostring(v), n - 1), 4)
            end
        else
            argerror(argn, fname, ("option '%s' must be a number, got %s"):format(name, type(v)), 4)
        end
    end
    if test_size == nil and train_size == nil then test_size = 0.25 end
    check(test_size, "test_size")
    check(train_size, "train_size")
    if math.type(test_size) == "float" and math.type(train_size) == "float" and test_size + train_size > 1 then
        argerror(argn, fname, ("test_size + train_size = %s should be at most 1")
                 :format(tostring(test_size + train_size)), 3)
    end
    local n_test, n_train
    if math.type(test_size) == "float" then n_test = math.ceil(test_size * n) else n_test = test_size end
    if math.type(train_size) == "float" then n_train = math.floor(train_size * n) else n_train = train_size end
    if train_size == nil then n_train = n - n_test end
    if test_size == nil then n_test = n - n_train end
    if n_train + n_test > n then
        argerror(argn, fname, ("train_size + test_size = %d rows, more than the %d rows"):format(n_train + n_test, n), 3)
    end
    if n_train == 0 or n_test == 0 then
        argerror(argn, fname, ("with %d rows, test_size = %s and train_size = %s, the %s set would be empty")
                 :format(n, tostring(test_size), tostring(train_size), n_train == 0 and "train" or "test"), 3)
    end
    return n_train, n_test
end

-- scikit-learn's _approximate_mode: n_draws spread over classes in
-- proportion to counts, the floors first, then one more to the classes with
-- the largest remainders (ties broken at random). Integer arithmetic, exact.
local function approximate_mode(counts, total, n_draws, rng)
    local K = #counts
    local out, rem, need = {}, {}, n_draws
    for c = 1, K do
        out[c] = counts[c] * n_draws // total
        rem[c] = counts[c] * n_draws % total
        need = need - out[c]
    end
    if need > 0 then
        local values, seen = {}, {}
        for c = 1, K do
            if not seen[rem[c]] then
                seen[rem[c]] = true
                values[#values + 1] = rem[c]
            end
        end
        table.sort(values, function(a, b) return a > b end)
        for _, v in ipairs(values) do
            local inds = {}
            for c = 1, K do if rem[c] == v then inds[#inds + 1] = c end end
            local add = math.min(#inds, need)
            local pick = randperm(rng, #inds):totable()
            for j = 1, add do
                local c = inds[pick[j]]
                out[c] = out[c] + 1
            end
            need = need - add
            if need == 0 then break end
        end
    end
    return out
end

-- What a stratified split needs: two rows of every class, and room for
-- one row of each in both sets (scikit-learn's checks and messages).
local function check_strata(K, counts, n_train, n_test, fname, argn)
    local min_count = math.huge
    for c = 1, K do min_count = math.min(min_count, counts[c]) end
    if min_count < 2 then
        argerror(argn, fname, "the least populated class in y has only 1 member, which is too few: "
                 .. "the minimum number of members of any class cannot be less than 2", 3)
    end
    if n_train < K then
        argerror(argn, fname, ("the train size = %d should be greater or equal to the number of classes = %d")
                 :format(n_train, K), 3)
    end
    if n_test < K then
        argerror(argn, fname, ("the test size = %d should be greater or equal to the number of classes = %d")
                 :format(n_test, K), 3)
    end
end

-- scikit-learn's StratifiedShuffleSplit (one split): 1-based train and
-- test rows. Call check_strata first.
local function stratified_indices(codes, K, counts, n_train, n_test, rng)
    local n = codes:size(1)
    local n_i = approximate_mode(counts, n, n_train, rng)
    local remaining = {}
    for c = 1, K do remaining[c] = counts[c] - n_i[c] end
    local t_i = approximate_mode(remaining, n - n_train, n_test, rng)
    local order = codes:argsort() -- rows grouped by class, ascending within each
    local train, test, start = {}, {}, 1
    for c = 1, K do
        local rows = order:narrow(1, start, counts[c]):index(1, randperm(rng, counts[c]))
        if n_i[c] > 0 then train[#train + 1] = rows:narrow(1, 1, n_i[c]) end
        if t_i[c] > 0 then test[#test + 1] = rows:narrow(1, n_i[c] + 1, t_i[c]) end
        start = start + counts[c]
    end
    local tr, te = mf.cat(train), mf.cat(test)
    return tr:index(1, randperm(rng, n_train)), te:index(1, randperm(rng, n_test))
end

local TTS_OPTS = {"test_size", "train_size", "seed", "shuffle", "stratify"}

--- X_train, X_test, y_train, y_test = mf.data.train_test_split(X [, y] [, opts])
-- X and y: tensors (rows = dim 1), Tables or Lua arrays. opts: test_size
-- (fraction or count; default 0.25), train_size, seed, shuffle = true,
-- stratify = true (by y) or labels. Without y: X_train, X_test.
function M.train_test_split(X, y, opts)
    local fname = "train_test_split"
    if opts == nil and looks_like_opts(y) then y, opts = nil, y end
    opts = check_options(opts, fname, 3, TTS_OPTS)
    local n = nrows(X, fname, 1, "X")
    if y ~= nil then
        local ny = nrows(y, fname, 2, "y")
        if ny ~= n then argerror(2, fname, ("y has %d rows, X has %d"):format(ny, n)) end
    end
    if n < 2 then argerror(1, fname, ("X has %d rows: at least 2 are needed to split"):format(n)) end
    local n_train, n_test = split_sizes(n, opts.test_size, opts.train_size, fname, 3)
    local seed = check_seed(opts.seed, fname, 3)
    local shuffle = check_bool(opts.shuffle, true, "shuffle", fname, 3)
    local stratify = opts.stratify
    if stratify == false then stratify = nil end
    if stratify == true then
        if y == nil then argerror(3, fname, "stratify = true stratifies by y, but no y was given") end
        stratify = y
    end
    local train_idx, test_idx
    if not shuffle then
        if stratify ~= nil then
            argerror(3, fname, "a stratified split needs shuffle = true (stratify with shuffle = false is not supported)")
        end
        if seed ~= nil then argerror(3, fname, "option 'seed' has no effect when shuffle is false") end
        train_idx = mf.arange(1, n_train + 1, "int64")
        test_idx = mf.arange(n_train + 1, n_train + n_test + 1, "int64")
    elseif stratify ~= nil then
        local ns = nrows(stratify, fname, 3, "stratify")
        if ns ~= n then argerror(3, fname, ("stratify has %d rows, X has %d"):format(ns, n)) end
        local codes, K, counts = label_codes(stratify, fname, 3, "stratify")
        check_strata(K, counts, n_train, n_test, fname, 3)
        train_idx, test_idx = stratified_indices(codes, K, counts, n_train, n_test, new_rng(seed))
    else
        local perm = randperm(new_rng(seed), n)
        test_idx = perm:narrow(1, 1, n_test)
        train_idx = perm:narrow(1, n_test + 1, n_train)
    end
    if y == nil then return take(X, train_idx), take(X, test_idx) end
    return take(X, train_idx), take(X, test_idx), take(y, train_idx), take(y, test_idx)
end

ms.train_test_split = M.train_test_split -- where scikit-learn users look for it too

---------------------------------------------------------------- ShuffleSplit, StratifiedShuffleSplit

-- The checks of a size option that need no row count.
local function check_size_opt(v, name, fname)
    if v == nil then return end
    if math.type(v) == "integer" then
        if v < 1 then argerror(1, fname, ("option '%s' = %d should be a count >= 1 or a fraction in (0, 1)")
                               :format(name, v), 3) end
    elseif math.type(v) == "float" then
        if not (v > 0 and v < 1) then
            argerror(1, fname, ("option '%s' = %s should be a fraction in (0, 1) or a count >= 1")
                     :format(name, tostring(v)), 3)
        end
    else
        argerror(1, fname, ("option '%s' must be a number, got %s"):format(name, type(v)), 3)
    end
end

-- ShuffleSplit{n_splits = 10, test_size, train_size, seed}: n_splits
-- independent random splits (test_size 0.1 by default), each as
-- train_test_split's; StratifiedShuffleSplit the same, stratified by y.
-- split(X [, y]) iterates (train_idx, test_idx), in random order as
-- scikit-learn's. A seed gives the same splits on every call.
local function shuffle_splitter(name, stratified)
    local cls = {__name = "moonforge." .. name}
    cls.__index = cls
    cls.__tostring = function(self)
        return ("%s(n_splits=%d, test_size=%s, train_size=%s, seed=%s)"):format(name, self.n_splits,
               tostring(self.test_size), tostring(self.train_size), tostring(self.seed))
    end
    function cls.get_n_splits(self) return self.n_splits end
    ms[name] = function(opts)
        opts = check_options(opts, name, 1, {"n_splits", "test_size", "train_size", "seed"})
        local n_splits = opts.n_splits or 10
        if math.type(n_splits) ~= "integer" or n_splits < 1 then
            argerror(1, name, "option 'n_splits' must be an integer >= 1, got " .. tostring(n_splits))
        end
        check_size_opt(opts.test_size, "test_size", name)
        check_size_opt(opts.train_size, "train_size", name)
        local test_size = opts.test_size
        if test_size == nil and opts.train_size == nil then test_size = 0.1 end
        return setmetatable({n_splits = n_splits, test_size = test_size, train_size = opts.train_size,
                             seed = check_seed(opts.seed, name, 1)}, cls)
    end
    function cls:split(X, y)
        if getmetatable(self) ~= cls then
            error(("bad argument #1 to 'split' (%s expected: call it as cv:split(...))"):format(name), 2)
        end
        local n = nrows(X, "split", 1, "X")
        local codes, K, counts
        if stratified then
            if y == nil then argerror(2, "split", name .. " needs the labels y") end
            local ny = nrows(y, "split", 2, "y")
            if ny ~= n then argerror(2, "split", ("y has %d rows, X has %d"):format(ny, n)) end
            codes, K, counts = label_codes(y, "split", 2, "y")
        end
        local n_train, n_test = split_sizes(n, self.test_size, self.train_size, "split", 1)
        if stratified then check_strata(K, counts, n_train, n_test, "split", 2) end
        local rng, i, k = new_rng(self.seed), 0, self.n_splits
        return function()
            i = i + 1
            if i > k then return nil end
            if stratified then return stratified_indices(codes, K, counts, n_train, n_test, rng) end
            local perm = randperm(rng, n)
            return perm:narrow(1, n_test + 1, n_train), perm:narrow(1, 1, n_test)
        end
    end
end
shuffle_splitter("ShuffleSplit", false)
shuffle_splitter("StratifiedShuffleSplit", true)

---------------------------------------------------------------- DataLoader
local DataLoader = {__name = "moonforge.DataLoader"}
DataLoader.__index = DataLoader

local function as_tensor(v, fname, argn, what)
    if is_tensor(v) then
        if v:dim() == 0 then argerror(argn, fname, what .. " is a 0-d tensor: it has no rows", 3) end
        return v
    end
    if is_table(v) then
        local cols = v:columns()
        if what == "y" and #cols == 1 then v = v:column(cols[1]) else return v:to_tensor() end
        if is_tensor(v) then return v end
    end
    if type(v) == "table" then
        for i = 1, #v do
            if type(v[i]) ~= "number" then
                argerror(argn, fname, ("%s[%d] is a %s: a DataLoader holds numbers "
                         .. "(encode labels first, e.g. with mf.preprocess.LabelEncoder)")
                         :format(what, i, type(v[i]) == "table" and "table" or type(v[i])), 3)
            end
        end
        if #v == 0 then argerror(argn, fname, what .. " is empty", 3) end
        return mf.tensor(v)
    end
    argerror(argn, fname, ("%s must be a tensor, a Table or a Lua array, got %s"):format(what, type(v)), 3)
end

--- loader = mf.data.DataLoader(X [, y] [, {batch_size = 32, shuffle = false,
-- seed, drop_last = false}]): mini-batches of the rows of X (and y).
-- X, y: tensors (rows = dim 1); a Table X is turned into a tensor once
-- (tbl:to_tensor()), a one-column Table or a Lua array of numbers y too.
-- `for xb, yb in loader:iter() do` runs one epoch; #loader is its number of
-- batches. With shuffle, each iter() draws a new order from the loader's
-- own generator (mf.Generator(seed)) or, without seed, the global one.
function M.DataLoader(X, y, opts)
    local fname = "DataLoader"
    if opts == nil and looks_like_opts(y) then y, opts = nil, y end
    opts = check_options(opts, fname, 3, {"batch_size", "shuffle", "seed", "drop_last"})
    X = as_tensor(X, fname, 1, "X")
    local n = X:size(1)
    if y ~= nil then
        y = as_tensor(y, fname, 2, "y")
        if y:size(1) ~= n then argerror(2, fname, ("y has %d rows, X has %d"):format(y:size(1), n)) end
    end
    local bs = opts.batch_size or 32
    if math.type(bs) ~= "integer" or bs < 1 then
        argerror(3, fname, "option 'batch_size' must be an integer >= 1, got " .. tostring(bs))
    end
    local shuffle = check_bool(opts.shuffle, false, "shuffle", fname, 3)
    local drop_last = check_bool(opts.drop_last, false, "drop_last", fname, 3)
    local seed = check_seed(opts.seed, fname, 3)
    if seed ~= nil and not shuffle then
        argerror(3, fname, "option 'seed' has no effect when shuffle is false: drop it or set shuffle = true")
    end
    return setmetatable({X = X, y = y, n = n, batch_size = bs, shuffle = shuffle, drop_last = drop_last,
                         seed = seed, generator = seed ~= nil and mf.Generator(seed) or nil}, DataLoader)
end

--- Whether v is a DataLoader.
function M.is_loader(v) return getmetatable(v) == DataLoader end

function DataLoader.__len(self)
    if self.drop_last then return self.n // self.batch_size end
    return (self.n + self.batch_size - 1) // self.batch_size
end

function DataLoader.__tostring(self)
    return ("DataLoader(rows=%d, batch_size=%d, batches=%d, shuffle=%s, drop_last=%s)")
           :format(self.n, self.batch_size, #self, tostring(self.shuffle), tostring(self.drop_last))
end

--- The row order of the next epoch: a permutation (1-based int64) when the
-- loader shuffles (drawn now), else nil (rows in order). iter() and
-- model:fit use it.
function DataLoader:epoch_order()
    if getmetatable(self) ~= DataLoader then
        error("bad argument #1 to 'epoch_order' (DataLoader expected: call it as loader:epoch_order())", 2)
    end
    if not self.shuffle then return nil end
    return randperm(self.generator, self.n)
end

--- for xb, yb in loader:iter() do ... end: one epoch of batches (xb only
-- when the loader has no y). In order, batches are views (narrow) of X and
-- y; shuffled, each batch gathers its own rows (index_select) only.
function DataLoader:iter()
    if getmetatable(self) ~= DataLoader then
        error("bad argument #1 to 'iter' (DataLoader expected: call it as loader:iter())", 2)
    end
    local X, y, n, bs = self.X, self.y, self.n, self.batch_size
    local perm = self:epoch_order()
    local nb, b = #self, 0
    return function()
        b = b + 1
        if b > nb then return nil end
        local first = (b - 1) * bs + 1
        local count = math.min(bs, n - first + 1)
        if perm then
            local idx = perm:narrow(1, first, count)
            if y == nil then return X:index(1, idx) end
            return X:index(1, idx), y:index(1, idx)
        end
        if y == nil then return X:narrow(1, first, count) end
        return X:narrow(1, first, count), y:narrow(1, first, count)
    end
end

return M
