-- mf.callbacks (EarlyStopping, ModelCheckpoint, ReduceLROnPlateau,
-- LearningRateScheduler, CSVLogger, LambdaCallback) and History:plot.
-- Monitored values are scripted: a LambdaCallback listed first writes them
-- into the epoch's logs, which every later callback reads.
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local support = require "support"
local assert_error = support.assert_error
local mf = require "moonforge"
local nn = mf.nn
local cbs = mf.callbacks

nn.fast_path = false

local function data()
    mf.manual_seed(0)
    local X = mf.randn(48, 3)
    return X, X:narrow(2, 1, 1):gt(0):view(-1):float()
end

local function model(lr)
    mf.manual_seed(1)
    local m = nn.Sequential{nn.Dense(4, {activation = "relu", input_dim = 3}), nn.Dense(1, {activation = "sigmoid"})}
    m:compile{optimizer = mf.optim.Adam{lr = lr or 0.01}, loss = "bce", metrics = {"accuracy"}}
    return m
end

-- A callback setting logs[key] to values[epoch].
local function script(key, values)
    return cbs.LambdaCallback{on_epoch_end = function(epoch, logs) logs[key] = values[epoch] end}
end

-- A callback keeping a copy of the weights after each epoch.
local function recorder(m, into)
    return cbs.LambdaCallback{on_epoch_end = function(epoch)
        into[epoch] = mf.no_grad(function() return m[1].weight:clone() end)
    end}
end

local function fit(m, epochs, list, extra)
    local X, y = data()
    local opts = {epochs = epochs, batch_size = 16, verbose = 0, callbacks = list}
    for k, v in pairs(extra or {}) do opts[k] = v end
    return m:fit(X, y, opts)
end

local function tmpdir()
    local d = os.tmpname()
    os.remove(d)
    assert(os.execute("mkdir " .. support.quote(d)))
    return d
end

local function rmdir(d) os.execute("rm -rf " .. support.quote(d)) end

local function ls(d)
    local names = {}
    for l in support.capture("ls -A " .. support.quote(d)):gmatch("[^\n]+") do names[#names + 1] = l end
    return names
end

---------------------------------------------------------------- EarlyStopping

TestEarlyStopping = {}

function TestEarlyStopping:test_stops_after_patience_and_restores_best()
    local m = model()
    local weights = {}
    local es = cbs.EarlyStopping{monitor = "val_loss", patience = 2, restore_best_weights = true}
    local h = fit(m, 20, {script("val_loss", {5, 3, 4, 6, 7, 1}), recorder(m, weights), es})
    lu.assertEquals(h.epoch, {1, 2, 3, 4})             -- best at 2, two epochs without progress
    lu.assertEquals(es.stopped_epoch, 4)
    lu.assertEquals(es.best_epoch, 2)
    lu.assertEquals(es.best, 3)
    lu.assertTrue(mf.equal(m[1].weight:detach(), weights[2]))
    lu.assertFalse(mf.equal(weights[4], weights[2]))
end

function TestEarlyStopping:test_restores_best_when_training_ends_without_stopping()
    local m = model()
    local weights = {}
    local es = cbs.EarlyStopping{patience = 5, restore_best_weights = true}
    fit(m, 3, {script("val_loss", {5, 3, 4}), recorder(m, weights), es})
    lu.assertEquals(es.stopped_epoch, 0)
    lu.assertTrue(mf.equal(m[1].weight:detach(), weights[2]))
    -- without restore_best_weights the last weights stay
    local m2 = model()
    local w2 = {}
    fit(m2, 3, {script("val_loss", {5, 3, 4}), recorder(m2, w2), cbs.EarlyStopping{patience = 5}})
    lu.assertTrue(mf.equal(m2[1].weight:detach(), w2[3]))
end

function TestEarlyStopping:test_mode_and_min_delta()
    -- accuracy grows: mode "auto" is "max"
    local es = cbs.EarlyStopping{monitor = "val_accuracy", patience = 1}
    lu.assertEquals(es.mode, "max")
    local h = fit(model(), 10, {script("val_accuracy", {0.5, 0.6, 0.55, 0.7}), es})
    lu.assertEquals(#h.epoch, 3)
    -- improvements smaller than min_delta do not count
    local es2 = cbs.EarlyStopping{monitor = "val_loss", patience = 2, min_delta = 0.1}
    local h2 = fit(model(), 10, {script("val_loss", {1, 0.95, 0.91, 0.5}), es2})
    lu.assertEquals(#h2.epoch, 3)
    lu.assertEquals(cbs.EarlyStopping{monitor = "loss", mode = "max"}.mode, "max")
    lu.assertEquals(cbs.EarlyStopping{monitor = "val_auc"}.mode, "max")
    lu.assertEquals(cbs.EarlyStopping{monitor = "mae"}.mode, "min")
end

function TestEarlyStopping:test_missing_monitor_warns_once()
    local warnings, h = mf.capture_warnings(function()
        return fit(model(), 3, {cbs.EarlyStopping{monitor = "val_loss"}})
    end)
    lu.assertEquals(#h.epoch, 3)
    lu.assertEquals(warnings, {"EarlyStopping: 'val_loss' is not in the logs (available: accuracy, loss): "
                               .. "give fit validation_data or validation_split"})
end

function TestEarlyStopping:test_option_errors()
    assert_error(function() cbs.EarlyStopping{patience = -1} end,
                 "bad argument #1 to 'EarlyStopping' (option 'patience' must be an integer >= 0, got -1)")
    assert_error(function() cbs.EarlyStopping{monitor = "loss", patince = 3} end,
                 "unknown option 'patince' (expected one of: monitor, patience, min_delta, mode, "
                 .. "restore_best_weights, verbose)")
    assert_error(function() cbs.EarlyStopping{mode = "up"} end, "option 'mode' must be 'auto', 'min' or 'max', got up")
    assert_error(function() cbs.EarlyStopping{restore_best_weights = 1} end,
                 "option 'restore_best_weights' must be a boolean, got number")
end

function TestEarlyStopping:test_verbose_messages()
    local out = os.tmpname()
    local f = assert(io.open(out, "w"))
    local old = io.output()
    io.output(f)
    local ok, err = pcall(fit, model(), 10, {script("val_loss", {5, 3, 4, 6}),
                                            cbs.EarlyStopping{patience = 2, restore_best_weights = true, verbose = 1}})
    io.output(old)
    f:close()
    local text = support.read_file(out)
    os.remove(out)
    lu.assertTrue(ok, err)
    lu.assertEquals(text, "Epoch 4: early stopping\nRestoring model weights from the end of the best epoch: 2.\n")
end

---------------------------------------------------------------- ModelCheckpoint

TestModelCheckpoint = {}

function TestModelCheckpoint:test_save_best_only()
    local d = tmpdir()
    local m = model()
    local weights = {}
    local ck = cbs.ModelCheckpoint{path = d .. "/best.mf", save_best_only = true}
    local saves, last = 0, nil
    local count = cbs.LambdaCallback{on_epoch_end = function()
        local s = support.read_file(d .. "/best.mf")
        if s and s ~= last then saves, last = saves + 1, s end
    end}
    fit(m, 5, {script("val_loss", {3, 2, 2.5, 1, 4}), recorder(m, weights), ck, count})
    lu.assertEquals(saves, 3)                           -- epochs 1, 2 and 4 improved
    lu.assertEquals(ck.best, 1)
    local sd = mf.load(d .. "/best.mf")
    lu.assertTrue(mf.equal(sd["1.weight"], weights[4]))
    local fresh = model()
    fresh:load_state_dict(sd)
    lu.assertTrue(mf.equal(fresh[1].weight:detach(), weights[4]))
    lu.assertEquals(ls(d), {"best.mf"})                 -- atomic writes leave no temporary file
    rmdir(d)
end

function TestModelCheckpoint:test_every_epoch_with_path_template()
    local d = tmpdir()
    local m = model()
    local ck = cbs.ModelCheckpoint{path = d .. "/w-{epoch:02d}-{loss:.2f}.mf", monitor = "loss"}
    local h = fit(m, 3, {ck})
    local names = ls(d)
    lu.assertEquals(#names, 3)
    lu.assertEquals(names[1], ("w-01-%.2f.mf"):format(h.history.loss[1]))
    lu.assertEquals(ck.last_path, d .. "/" .. names[3])
    assert_error(function() fit(model(), 1, {cbs.ModelCheckpoint{path = d .. "/{val_auc}.mf"}}) end,
                 "fit: epoch 1: ModelCheckpoint: the path names {val_auc}, which is not in the logs "
                 .. "(available: accuracy, epoch, loss)")
    rmdir(d)
    assert_error(function() cbs.ModelCheckpoint{} end,
                 "bad argument #1 to 'ModelCheckpoint' (option 'path' (a file path) is required, got nil)")
    assert_error(function() cbs.ModelCheckpoint{path = "x", save_best = true} end,
                 "unknown option 'save_best' (expected one of: path, monitor, save_best_only, mode, verbose)")
end

---------------------------------------------------------------- learning rate

TestLearningRate = {}

function TestLearningRate:test_reduce_on_plateau()
    local m = model(0.1)
    local rl = cbs.ReduceLROnPlateau{factor = 0.5, patience = 2, min_lr = 0.02}
    local h = fit(m, 8, {script("val_loss", {5, 4, 4, 4, 4, 4, 4, 4}), rl})
    -- lr during each epoch: halved after epochs 3 and 4 made no progress,
    -- again after 5 and 6, and after 7 and 8 (held at min_lr)
    lu.assertEquals(h.history.lr, {0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025})
    lu.assertEquals(m.optimizer.param_groups[1].lr, 0.02)
    -- cooldown: no counting for `cooldown` epochs after a reduction
    local m2 = model(0.1)
    local h2 = fit(m2, 6, {script("val_loss", {5, 5, 5, 5, 5, 5}),
                           cbs.ReduceLROnPlateau{factor = 0.5, patience = 1, cooldown = 2}})
    lu.assertEquals(h2.history.lr, {0.1, 0.1, 0.05, 0.05, 0.025, 0.025})
    assert_error(function() cbs.ReduceLROnPlateau{factor = 1} end, "option 'factor' must be < 1, got 1")
end

function TestLearningRate:test_scheduler()
    local m = model(0.1)
    local seen = {}
    local h = fit(m, 4, {cbs.LearningRateScheduler(function(epoch, lr)
        seen[#seen + 1] = lr
        return epoch <= 2 and 0.1 or lr / 10
    end)})
    lu.assertEquals(#h.history.lr, 4)
    for i, v in ipairs({0.1, 0.1, 0.01, 0.001}) do lu.assertAlmostEquals(h.history.lr[i], v, 1e-15) end
    lu.assertEquals(seen[1], 0.1)
    assert_error(function() fit(model(), 1, {cbs.LearningRateScheduler(function() return "x" end)}) end,
                 "LearningRateScheduler: the schedule returned x at epoch 1, expected a number >= 0")
    assert_error(function() cbs.LearningRateScheduler{} end, "option 'schedule' (a function(epoch, lr)) is required")
end

---------------------------------------------------------------- CSVLogger

TestCSVLogger = {}

function TestCSVLogger:test_rows_and_append()
    local path = os.tmpname()
    local h = fit(model(), 3, {cbs.CSVLogger{path = path}}, {validation_split = 0.25})
    local lines = {}
    for l in support.read_file(path):gmatch("[^\n]+") do lines[#lines + 1] = l end
    lu.assertEquals(#lines, 4)
    lu.assertEquals(lines[1], "epoch,accuracy,loss,val_accuracy,val_loss")
    local cells = {}
    for c in lines[3]:gmatch("[^,]+") do cells[#cells + 1] = c end
    lu.assertEquals(cells[1], "2")
    lu.assertAlmostEquals(tonumber(cells[3]), h.history.loss[2], 1e-9)
    lu.assertAlmostEquals(tonumber(cells[5]), h.history.val_loss[2], 1e-9)
    -- append: more rows under the same header
    fit(model(), 2, {cbs.CSVLogger{path = path, append = true, separator = ";"}}, {validation_split = 0.25})
    local n = 0
    for _ in support.read_file(path):gmatch("[^\n]+") do n = n + 1 end
    lu.assertEquals(n, 6)
    os.remove(path)
    assert_error(function() fit(model(), 1, {cbs.CSVLogger{path = "/no/such/dir/log.csv"}}) end,
                 "CSVLogger: cannot open /no/such/dir/log.csv: No such file or directory")
end

---------------------------------------------------------------- LambdaCallback

TestLambda = {}

function TestLambda:test_hooks_get_their_arguments()
    local calls = {}
    local cb = cbs.LambdaCallback{
        on_train_begin = function(logs) calls[#calls + 1] = "begin" .. #logs end,
        on_epoch_begin = function(epoch) calls[#calls + 1] = "e" .. epoch end,
        on_batch_end = function(batch, logs) calls[#calls + 1] = ("b%d:%d"):format(batch, logs.size) end,
        on_epoch_end = function(epoch, logs) calls[#calls + 1] = "E" .. epoch .. (logs.loss and "+" or "-") end,
        on_train_end = function() calls[#calls + 1] = "end" end,
    }
    fit(model(), 2, {cb}, {batch_size = 20})
    lu.assertEquals(calls, {"begin0", "e1", "b1:20", "b2:20", "b3:8", "E1+", "e2", "b1:20", "b2:20", "b3:8", "E2+", "end"})
    assert_error(function() cbs.LambdaCallback{on_epoch_ends = print} end,
                 "unknown option 'on_epoch_ends' (expected one of: on_train_begin, on_train_end, on_epoch_begin, "
                 .. "on_epoch_end, on_batch_end)")
    assert_error(function() cbs.LambdaCallback{on_epoch_end = 1} end, "option 'on_epoch_end' must be a function, got number")
    assert_error(function() cbs.LambdaCallback{} end, "give at least one of: on_train_begin")
end

---------------------------------------------------------------- History

TestHistory = {}

function TestHistory:test_plot_writes_an_svg()
    local h = fit(model(), 4, {}, {validation_split = 0.25})
    local d = tmpdir()
    local path = d .. "/curves.svg"
    lu.assertEquals(h:plot(path, {title = "defects <MLP>"}), path)
    lu.assertEquals(ls(d), {"curves.svg"})
    local svg = support.read_file(path)
    lu.assertStrContains(svg, '<svg xmlns="http://www.w3.org/2000/svg"')
    lu.assertEquals(svg:sub(-7), "</svg>\n")
    lu.assertStrContains(svg, "defects &lt;MLP&gt;")
    lu.assertStrContains(svg, ">loss</text>")
    lu.assertStrContains(svg, ">accuracy</text>")
    lu.assertStrContains(svg, ">validation</text>")
    local _, lines = svg:gsub("<polyline", "")
    lu.assertEquals(lines, 4)                           -- train and validation, loss and accuracy
    local _, dashed = svg:gsub('stroke%-dasharray="6,4" points', "")
    lu.assertEquals(dashed, 2)
    local _, open = svg:gsub("<g[ >]", "")
    local _, close = svg:gsub("</g>", "")
    lu.assertEquals(open, close)
    -- every coordinate is a finite number inside the picture
    for x, y in svg:gmatch("(%-?[%d.]+),(%-?[%d.]+)") do
        lu.assertTrue(tonumber(x) >= 0 and tonumber(x) <= 920 and tonumber(y) >= 0 and tonumber(y) <= 600)
    end
    rmdir(d)
end

function TestHistory:test_plot_edge_cases()
    local History = require "moonforge.history"
    local h = History.new({"loss", "val_loss"})
    assert_error(function() h:plot(os.tmpname()) end, "plot: the history holds no epoch")
    h:record(1, {loss = 0 / 0, val_loss = 1})
    h:record(2, {loss = 2, val_loss = math.huge, lr = 0.1})
    h:record(3, {loss = 1, val_loss = 0.5})
    lu.assertEquals(h:keys(), {"loss", "val_loss", "lr"})
    lu.assertTrue(h.history.lr[1] ~= h.history.lr[1])  -- padded with NaN before it appeared
    lu.assertEquals(h.history.lr[2], 0.1)
    local svg = h:svg()
    lu.assertNil(svg:find("nan") or svg:find("inf"))
    lu.assertNil(svg:find(">lr<"))                      -- the learning rate is not a curve
    local _, circles = svg:gsub("<circle", "")
    lu.assertEquals(circles, 4)                         -- non-finite points are left out
    assert_error(function() h:plot("/no/such/dir/c.svg") end, "plot: cannot write /no/such/dir/c.svg")
    assert_error(function() h:plot(1) end, "bad argument #1 to 'plot' (file path expected, got number)")
    assert_error(function() h:plot("x.svg", {titel = "x"}) end, "unknown option 'titel' (expected one of: title)")
    lu.assertEquals(tostring(h), "History(3 epochs: loss, val_loss, lr)")
end

os.exit(lu.LuaUnit.run(), true)
