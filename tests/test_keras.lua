-- Keras-style training (moonforge.keras): nn.Dense, compile, fit, evaluate,
-- predict, predict_classes, progress output, bad input. The generic
-- autograd path is tested with the fast path off (nn.fast_path = false);
-- TestFastPath compares both when the fast path exists.
local lu = require "luaunit"
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local support = require "support"
local assert_error = support.assert_error
local mf = require "moonforge"
local nn = mf.nn

nn.fast_path = false

-- Two features; the label is whether x1 + x2 > 0 (linearly separable).
local function blobs(n, seed)
    mf.manual_seed(seed or 0)
    local X = mf.randn(n, 2)
    local y = (X:narrow(2, 1, 1) + X:narrow(2, 2, 1)):gt(0):view(-1):float()
    return X, y
end

local function mlp(opts)
    opts = opts or {}
    return nn.Sequential{
        nn.Dense(8, {activation = "relu", input_dim = opts.input_dim}),
        nn.Dense(opts.out or 1, {activation = opts.head or "sigmoid"}),
    }
end

local function same_tensor(a, b) return mf.equal(a:detach(), b:detach()) end

-- Runs fn with io.output redirected to a temporary file; returns what it wrote.
local function capture_output(fn)
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    local old = io.output()
    io.output(f)
    local ok, err = pcall(fn)
    io.output(old)
    f:close()
    local s = support.read_file(path)
    os.remove(path)
    if not ok then error(err, 0) end
    return s
end

---------------------------------------------------------------- Dense

TestDense = {}

function TestDense:test_glorot_init_and_zero_bias()
    mf.manual_seed(3)
    local d = nn.Dense(50, {input_dim = 30})
    lu.assertEquals(d.weight:shape(), {50, 30})      -- PyTorch layout: [units x in]
    lu.assertEquals(d.bias:shape(), {50})
    local limit = math.sqrt(6 / 80)
    lu.assertTrue(d.weight:amax():item() < limit and d.weight:amin():item() >= -limit)
    lu.assertTrue(d.weight:abs():amax():item() > 0.9 * limit)
    lu.assertEquals(d.bias:abs():sum():item(), 0)
    lu.assertTrue(d.weight.requires_grad and d.weight.is_leaf and d.bias.requires_grad)
    -- the draw is mf.rand's, so a seed reproduces it
    mf.manual_seed(3)
    local again = nn.Dense(50, {input_dim = 30})
    lu.assertTrue(same_tensor(d.weight, again.weight))
    lu.assertNil(nn.Dense(4, {input_dim = 3, use_bias = false}).bias)
end

function TestDense:test_input_size_inferred_at_first_call()
    local d = nn.Dense(3, {activation = "relu"})
    lu.assertFalse(d:is_built())
    lu.assertEquals(tostring(d), "Dense(units=3, activation=relu)")
    lu.assertEquals(#d:parameters(), 0)
    local y = d(mf.randn(5, 7))
    lu.assertEquals(y:shape(), {5, 3})
    lu.assertTrue(d:is_built())
    lu.assertEquals(d.in_features, 7)
    lu.assertEquals(d.weight:shape(), {3, 7})
    lu.assertEquals(tostring(d), "Dense(in_features=7, units=3, activation=relu)")
    lu.assertTrue(y:amin():item() >= 0)
    local m = nn.Sequential{nn.Dense(4), nn.Dense(2, {activation = "softmax"})}
    local p = m(mf.randn(6, 5))
    lu.assertTrue(mf.allclose(p:sum(2), mf.ones(6), {atol = 1e-6}))
    lu.assertEquals(#m:parameters(), 4)
end

function TestDense:test_activations()
    local x = mf.tensor({{-2, 0.5}})
    local function out(act)
        local d = nn.Dense(2, {activation = act, input_dim = 2})
        mf.no_grad(function()
            d.weight:copy_(mf.eye(2))
            d.bias:zero_()
        end)
        return d(x)
    end
    lu.assertTrue(mf.equal(out("linear"), x))
    lu.assertTrue(mf.equal(out(nil), x))
    lu.assertTrue(mf.equal(out("relu"), x:relu()))
    lu.assertTrue(mf.allclose(out("sigmoid"), x:sigmoid()))
    lu.assertTrue(mf.allclose(out("tanh"), x:tanh()))
    lu.assertTrue(mf.allclose(out("swish"), x * x:sigmoid()))
    lu.assertTrue(mf.allclose(out(function(z) return z * 2 end), x * 2))
    lu.assertEquals(nn.Dense(2, {activation = function(z) return z end}).activation, "custom")
end

function TestDense:test_errors()
    assert_error(function() nn.Dense(0) end, "bad argument #1 to 'Dense' (units must be a positive integer, got 0)")
    assert_error(function() nn.Dense(3, {activation = "rel"}) end,
                 "bad argument #2 to 'Dense' (unknown activation 'rel' (expected a function or one of: elu, gelu,",
                 "relu, sigmoid, softmax")
    assert_error(function() nn.Dense(3, {units = 3}) end,
                 "unknown option 'units' (expected one of: activation, input_dim, use_bias, dtype)")
    assert_error(function() nn.Dense(3, {input_dim = 0}) end, "input_dim must be a positive integer, got 0")
    local d = nn.Dense(3, {input_dim = 4})
    assert_error(function() d(mf.randn(2, 5)) end,
                 "Dense(in_features=4, units=3, activation=linear) expects input [N x 4], got [2x5]")
end

---------------------------------------------------------------- compile

TestCompile = {}

function TestCompile:test_optimizer_forms()
    local m = mlp{input_dim = 2}
    m:compile{optimizer = "adam", loss = "binary_crossentropy"}
    lu.assertEquals(m.optimizer.algo, "Adam")
    lu.assertEquals(m.optimizer.param_groups[1].lr, 1e-3)
    lu.assertEquals(#m.optimizer.param_groups[1].params, 4)
    m:compile{optimizer = mf.optim.Adam{lr = 0.05}, loss = "bce"}
    lu.assertEquals(m.optimizer.param_groups[1].lr, 0.05)
    m:compile{optimizer = "sgd", loss = "mse"}                 -- Keras's default lr for SGD
    lu.assertEquals(m.optimizer.param_groups[1].lr, 0.01)
    m:compile{loss = "mse"}                                    -- Keras's default optimizer
    lu.assertEquals(m.optimizer.algo, "RMSprop")
    local bound = mf.optim.SGD(m:parameters(), {lr = 0.3})
    m:compile{optimizer = bound, loss = "mse"}
    lu.assertTrue(rawequal(m.optimizer, bound))
    -- a model whose layers are not built yet is bound by fit
    local lazy = mlp()
    lazy:compile{optimizer = mf.optim.Adam{lr = 0.02}, loss = "bce"}
    lu.assertNil(lazy.optimizer)
    local X, y = blobs(40)
    lazy:fit(X, y, {epochs = 1, verbose = 0})
    lu.assertEquals(lazy.optimizer.param_groups[1].lr, 0.02)
    lu.assertEquals(#lazy.optimizer.param_groups[1].params, 4)
end

function TestCompile:test_unbound_optimizers()
    local u = mf.optim.Adam{lr = 0.01, betas = {0.8, 0.9}}
    lu.assertEquals(tostring(u), "Adam{betas = {0.8, 0.9}, lr = 0.01} (unbound)")
    lu.assertEquals(tostring(mf.optim.RMSprop()), "RMSprop{} (unbound)")
    local p = mf.zeros(2):requires_grad_()
    local opt = u:bind({p})
    lu.assertEquals(opt.param_groups[1].lr, 0.01)
    lu.assertEquals(opt.param_groups[1].betas, {0.8, 0.9})
    lu.assertEquals(opt.param_groups[1].eps, 1e-8)
    -- binding twice gives two independent optimizers
    opt.param_groups[1].betas[1] = 0.5
    lu.assertEquals(u:bind({p}).param_groups[1].betas, {0.8, 0.9})
    -- options are checked when the unbound optimizer is made
    assert_error(function() mf.optim.SGD{momentum = 0.9} end, "bad argument #1 to 'SGD' (option 'lr' is required)")
    assert_error(function() mf.optim.Adam{lr = -1} end, "bad argument #1 to 'Adam' (invalid learning rate -1")
    assert_error(function() mf.optim.Adam{lr = "x"} end, "option 'lr' must be a number, got string")
    -- a list of parameters is still a list of parameters
    assert_error(function() mf.optim.Adam({}) end, "empty list of parameters")
end

function TestCompile:test_unknown_names_list_the_valid_ones()
    local m = mlp{input_dim = 2}
    assert_error(function() m:compile{loss = "bce2"} end,
                 "bad argument #1 to 'compile' (unknown loss 'bce2' (expected a function or one of: "
                 .. "binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy, mse, mae, huber")
    assert_error(function() m:compile{loss = "bce", metrics = {"accuracy", "f1"}} end,
                 "unknown metric 'f1' (expected a function or one of: accuracy, acc, mae, mse, auc, precision, recall)")
    assert_error(function() m:compile{loss = "bce", optimizer = "adamm"} end,
                 "unknown optimizer 'adamm' (expected one of: adam, adamw, sgd, rmsprop, adagrad, or an mf.optim optimizer)")
    assert_error(function() m:compile{loss = "bce", optimiser = "adam"} end,
                 "unknown option 'optimiser' (expected one of: optimizer, loss, metrics)")
    assert_error(function() m:compile{optimizer = "adam"} end, "option 'loss' is required")
    assert_error(function() m:compile{loss = "mse", metrics = {"accuracy"}} end,
                 "metric 'accuracy' needs a classification loss")
    assert_error(function() m:compile{loss = "sparse_categorical_crossentropy", metrics = {"auc"}} end,
                 "metric 'auc' needs the binary_crossentropy loss")
    assert_error(function() m:compile{loss = "bce", metrics = {"acc", "accuracy"}} end, "metric 'accuracy' given twice")
    assert_error(function() m:compile{loss = "bce", optimizer = mf.optim.Adam{lrr = 1}} end,
                 "bad argument #1 to 'Adam' (unknown option 'lrr'")
    -- the error points at the caller's line
    local ok, err = pcall(function() m:compile{loss = 1} end)
    lu.assertFalse(ok)
    lu.assertStrContains(err, "test_keras.lua:")
end

function TestCompile:test_not_compiled()
    local X, y = blobs(10)
    assert_error(function() mlp():fit(X, y) end, "fit: the model is not compiled: call model:compile{")
    assert_error(function() mlp():evaluate(X, y) end, "evaluate: the model is not compiled")
end

---------------------------------------------------------------- fit

TestFit = {}

function TestFit:test_binary_classification_learns()
    local X, y = blobs(400, 1)
    mf.manual_seed(2)
    local m = mlp{input_dim = 2}
    m:compile{optimizer = mf.optim.Adam{lr = 0.02}, loss = "binary_crossentropy",
              metrics = {"accuracy", "auc", "precision", "recall", "mse"}}
    local h = m:fit(X, y, {epochs = 8, batch_size = 32, validation_split = 0.25, verbose = 0})
    lu.assertEquals(h:keys(), {"loss", "accuracy", "auc", "precision", "recall", "mse",
                               "val_loss", "val_accuracy", "val_auc", "val_precision", "val_recall", "val_mse"})
    lu.assertEquals(h.epoch, {1, 2, 3, 4, 5, 6, 7, 8})
    for _, k in ipairs(h:keys()) do lu.assertEquals(#h.history[k], 8, k) end
    lu.assertTrue(h.history.loss[8] < h.history.loss[1])
    lu.assertTrue(h.history.val_accuracy[8] > 0.9, tostring(h.history.val_accuracy[8]))
    lu.assertTrue(h.history.auc[8] > 0.95)
    lu.assertEquals(h.params.steps, 10)                     -- 300 training rows / 32
    lu.assertEquals(h.params.samples, 300)
    lu.assertTrue(rawequal(m.history, h))
    lu.assertEquals(m.classes, {0, 1})
    -- validation_split holds out the last rows: evaluate on them gives the
    -- last epoch's validation numbers
    local Xv, yv = X:narrow(1, 301, 100), y:narrow(1, 301, 100)
    local ev = m:evaluate(Xv, yv)
    lu.assertEquals(ev.loss, h.history.val_loss[8])
    lu.assertEquals(ev.accuracy, h.history.val_accuracy[8])
    lu.assertEquals(ev.auc, h.history.val_auc[8])
    -- and the training metrics are those of the training rows after the epoch
    local et = m:evaluate(X:narrow(1, 1, 300), y:narrow(1, 1, 300))
    lu.assertEquals(et.accuracy, h.history.accuracy[8])
end

function TestFit:test_evaluate_matches_manual_formulas()
    local X, y = blobs(50, 4)
    local m = mlp{input_dim = 2}
    m:compile{optimizer = "adam", loss = "bce", metrics = {"accuracy", "mae"}}
    local p = m:predict(X):view(-1):double()
    local yd = y:double()
    local pc = p:clamp(1e-7, 1 - 1e-7)
    local bce = -(yd * pc:log() + (1 - yd) * (1 - pc):log()):mean():item()
    local ev = m:evaluate(X, y)
    lu.assertAlmostEquals(ev.loss, bce, 1e-5)
    lu.assertAlmostEquals(ev.accuracy, p:gt(0.5):eq(yd:gt(0.5)):sum():item() / 50, 1e-12)
    lu.assertAlmostEquals(ev.mae, (p - yd):abs():mean():item(), 1e-5)
end

function TestFit:test_predict_runs_without_graph_in_eval_mode()
    local X = blobs(30)
    local m = nn.Sequential{nn.Dense(8, {activation = "relu", input_dim = 2}), nn.Dropout(0.5),
                            nn.Dense(1, {activation = "sigmoid"})}
    local p = m:predict(X)
    lu.assertEquals(p:shape(), {30, 1})
    lu.assertFalse(p.requires_grad)
    lu.assertTrue(m.training and m[2].training)          -- modes restored
    lu.assertTrue(mf.equal(p, m:predict(X)))             -- dropout off: deterministic
    lu.assertTrue(mf.equal(p, m:predict(X, {batch_size = 7})))
    lu.assertTrue(p:amin():item() > 0 and p:amax():item() < 1)
    lu.assertTrue(mf.allclose(m:predict({{1, 2}, {3, 4}}), m:predict(mf.tensor({{1, 2}, {3, 4}}))))
    assert_error(function() m:predict(X, {batch_size = 0}) end, "option 'batch_size' must be a positive integer")
    assert_error(function() m:predict(X, {batchsize = 2}) end, "unknown option 'batchsize' (expected one of: batch_size)")
end

function TestFit:test_string_labels_and_predict_classes()
    local X, y = blobs(200, 5)
    local labels = {}
    for i, v in ipairs(y:totable()) do labels[i] = v > 0.5 and "scrap" or "good" end
    mf.manual_seed(1)
    local m = mlp{input_dim = 2}
    m:compile{optimizer = mf.optim.Adam{lr = 0.05}, loss = "binary_crossentropy", metrics = {"accuracy"}}
    local h = m:fit(X, labels, {epochs = 10, verbose = 0})
    lu.assertEquals(m.classes, {"good", "scrap"})           -- sorted; "scrap" is the positive class
    lu.assertTrue(h.history.accuracy[10] > 0.9)
    local pred = m:predict_classes(X)
    lu.assertEquals(type(pred), "table")
    local p = m:predict(X):view(-1):totable()
    local agree = 0
    for i = 1, 200 do
        lu.assertEquals(pred[i], p[i] > 0.5 and "scrap" or "good")
        if pred[i] == labels[i] then agree = agree + 1 end
    end
    lu.assertTrue(agree >= 180)
    -- evaluate maps the same labels; an unknown one is an error naming its row
    lu.assertTrue(m:evaluate(X, labels).accuracy > 0.9)
    labels[7] = "rework"
    assert_error(function() m:evaluate(X, labels) end,
                 "bad argument #2 to 'evaluate' (y row 7 holds the label 'rework', which is not one of "
                 .. "the classes 'good', 'scrap')")
end

function TestFit:test_numeric_labels_map_to_classes()
    local X, y = blobs(100, 6)
    local m = mlp{input_dim = 2}
    m:compile{optimizer = mf.optim.Adam{lr = 0.05}, loss = "bce"}
    m:fit(X, y * 4 + 3, {epochs = 5, verbose = 0})          -- labels 3 and 7
    lu.assertEquals(m.classes, {3, 7})
    local pred = m:predict_classes(X)
    lu.assertEquals(pred:dtype(), "int64")
    local p = m:predict(X):view(-1)
    lu.assertTrue(mf.equal(pred, mf.where(p:gt(0.5), 7, 3):long()))
    -- later fits reuse model.classes
    assert_error(function() m:fit(X, y, {epochs = 1, verbose = 0}) end,
                 "y row 4 holds the label 0, which is not one of the classes 3, 7")
    local one = mlp{input_dim = 2}:compile{loss = "bce"}
    assert_error(function() one:fit(X, mf.full({100}, 5), {verbose = 0}) end,
                 "binary_crossentropy needs 2 classes, y holds 1 (5)")
end

function TestFit:test_sparse_categorical()
    mf.manual_seed(7)
    local X = mf.randn(300, 4)
    local lab = X:narrow(2, 1, 1):gt(0):long():view(-1) + X:narrow(2, 2, 1):gt(0):long():view(-1) -- 0, 1, 2
    mf.manual_seed(8)
    local m = nn.Sequential{nn.Dense(16, {activation = "relu"}), nn.Dense(3, {activation = "softmax"})}
    m:compile{optimizer = mf.optim.Adam{lr = 0.01}, loss = "sparse_categorical_crossentropy",
              metrics = {"accuracy", "precision", "recall"}}
    local h = m:fit(X, lab, {epochs = 10, verbose = 0, validation_split = 0.2})
    lu.assertEquals(m.classes, {0, 1, 2})
    lu.assertTrue(h.history.val_accuracy[10] > 0.85, tostring(h.history.val_accuracy[10]))
    lu.assertTrue(h.history.precision[10] > 0.8 and h.history.recall[10] > 0.8)
    local pred = m:predict_classes(X)
    lu.assertTrue(mf.equal(pred, m:predict(X):argmax(2) - 1))
    -- outputs are probabilities
    lu.assertTrue(mf.allclose(m:predict(X):sum(2), mf.ones(300), {atol = 1e-5}))
end

function TestFit:test_class_labels_naming_output_columns()
    -- labels 0..3 for a 4-unit head, class 2 absent: still columns 0..3
    mf.manual_seed(1)
    local X = mf.randn(40, 3)
    local lab = mf.tensor({0, 1, 3, 0, 1, 3, 0, 1}, "int64"):repeat_(5)
    local m = nn.Sequential{nn.Dense(4, {activation = "softmax", input_dim = 3})}
    m:compile{loss = "sparse_categorical_crossentropy"}
    m:fit(X, lab, {verbose = 0})
    lu.assertEquals(m.classes, {0, 1, 2, 3})
    local m2 = nn.Sequential{nn.Dense(2, {activation = "softmax", input_dim = 3})}
    m2:compile{loss = "sparse_categorical_crossentropy"}
    assert_error(function() m2:fit(X, lab, {verbose = 0}) end, "y holds 3 classes (0, 1, 3) but the model has 2 outputs")
    local m3 = nn.Sequential{nn.Dense(4, {activation = "softmax", input_dim = 3})}
    m3:compile{loss = "sparse_categorical_crossentropy"}
    assert_error(function() m3:fit(X, lab * 10, {verbose = 0}) end,
                 "the model has 4 outputs but y holds 3 classes (0, 10, 30): give a head of 3 units")
end

function TestFit:test_categorical_one_hot_and_linear_head_logits()
    mf.manual_seed(2)
    local X = mf.randn(200, 3)
    local lab = X:argmax(2)                                    -- 1..3
    local onehot = mf.one_hot(lab, 3):float()
    local m = nn.Sequential{nn.Dense(3, {input_dim = 3})}   -- linear head: logits
    m:compile{optimizer = mf.optim.Adam{lr = 0.05}, loss = "categorical_crossentropy", metrics = {"accuracy"}}
    local h = m:fit(X, onehot, {epochs = 10, verbose = 0})
    lu.assertEquals(m.classes, {1, 2, 3})
    lu.assertTrue(h.history.accuracy[10] > 0.9)
    lu.assertTrue(mf.equal(m:predict_classes(X), m:predict(X):argmax(2)))
    -- the loss reads logits: cross-entropy of the logits
    local out = m:predict(X)
    local ce = -(onehot * nn.functional.log_softmax(out, 2)):sum(2):mean():item()
    lu.assertAlmostEquals(m:evaluate(X, onehot).loss, ce, 1e-5)
    assert_error(function() m:fit(X, mf.ones(200, 4), {verbose = 0}) end,
                 "y [200x4] does not match the model's output [N x 3]")
end

function TestFit:test_binary_linear_head_reads_logits()
    local X, y = blobs(100, 3)
    local m = nn.Sequential{nn.Dense(1, {input_dim = 2})}
    m:compile{optimizer = mf.optim.Adam{lr = 0.1}, loss = "bce", metrics = {"accuracy"}}
    local h = m:fit(X, y, {epochs = 10, verbose = 0})
    lu.assertTrue(h.history.accuracy[10] > 0.9)
    local z = m:predict(X)
    lu.assertTrue(z:amax():item() > 1)                         -- logits, not probabilities
    lu.assertTrue(mf.equal(m:predict_classes(X), z:view(-1):gt(0):long()))
    local ref = nn.losses.bce_with_logits(z, y:view(-1, 1)):item()
    lu.assertAlmostEquals(m:evaluate(X, y).loss, ref, 1e-5)
    -- a head that cannot be identified must output probabilities
    local Custom = nn.Module:extend("Custom")
    function Custom:init() self.fc = nn.Linear(2, 1) end
    function Custom:forward(x) return self.fc(x) * 100 end
    local c = Custom()
    c:compile{loss = "bce"}
    assert_error(function() c:fit(X, y, {verbose = 0}) end,
                 "binary_crossentropy reads the model's outputs as probabilities, but they hold values outside [0, 1]")
end

function TestFit:test_regression_losses()
    mf.manual_seed(4)
    local X = mf.randn(200, 3)
    local y = X:narrow(2, 1, 1) * 2 - X:narrow(2, 3, 1) + 0.5
    for _, loss in ipairs({"mse", "mae", "huber", "mean_squared_error"}) do
        mf.manual_seed(5)
        local m = nn.Sequential{nn.Dense(1, {input_dim = 3})}
        m:compile{optimizer = mf.optim.Adam{lr = 0.05}, loss = loss, metrics = {"mae"}}
        local h = m:fit(X, y:view(-1), {epochs = 15, verbose = 0})  -- y [N] for outputs [N x 1]
        lu.assertTrue(h.history.loss[15] < 0.3 * h.history.loss[1], loss)
        lu.assertTrue(h.history.mae[15] < 0.3, loss)
    end
    local m = nn.Sequential{nn.Dense(1, {input_dim = 3})}
    m:compile{loss = "mse"}
    local p = m:predict(X)
    lu.assertAlmostEquals(m:evaluate(X, y).loss, ((p - y) ^ 2):mean():item(), 1e-5)
    assert_error(function() m:fit(X, {"a", "b"}, {verbose = 0}) end, "y has 2 rows, X has 200")
    local s = {}
    for i = 1, 200 do s[i] = "x" end
    assert_error(function() m:fit(X, s, {verbose = 0}) end, "y holds strings: mse needs numbers")
    assert_error(function() m:fit(X, mf.zeros(200, 2), {verbose = 0}) end,
                 "y [200x2] does not match the model's output [Nx1]")
end

function TestFit:test_custom_loss_and_metrics()
    local X, y = blobs(64, 2)
    local m = nn.Sequential{nn.Dense(1, {activation = "sigmoid", input_dim = 2})}
    local calls = 0
    m:compile{
        optimizer = mf.optim.SGD{lr = 0.5},
        loss = function(p, t)
            calls = calls + 1
            return ((p - t) ^ 2):mean()
        end,
        metrics = {function(p, t) return (p - t):abs():amax():item() end,
                   brier = function(p, t) return ((p - t) ^ 2):mean() end},
    }
    local h = m:fit(X, y, {epochs = 3, batch_size = 16, verbose = 0, validation_data = {X, y}})
    lu.assertEquals(h:keys(), {"loss", "metric_1", "brier", "val_loss", "val_metric_1", "val_brier"})
    lu.assertEquals(calls, 3 * 4 + 3)                           -- batches, then the validation loss
    lu.assertAlmostEquals(h.history.val_loss[3], h.history.val_brier[3], 1e-6)
    assert_error(function() m:fit(X, y, {verbose = 0, sample_weight = mf.ones(64)}) end,
                 "class_weight and sample_weight need a built-in loss")
    m:compile{loss = function() return 1 end}
    assert_error(function() m:fit(X, y, {verbose = 0}) end,
                 "fit: epoch 1, step 1: the loss function returned number, expected a one-element tensor")
    m:compile{loss = "bce", metrics = {function() return "x" end}}
    assert_error(function() m:fit(X, y, {verbose = 0}) end, "metric 'metric_1' returned string, expected a number")
    assert_error(function() m:compile{loss = "bce", metrics = {f = 1}} end,
                 "metrics: entry [f] must be a function under a name, got number")
end

function TestFit:test_weights()
    -- lr = 0: the weights never move, so the losses are exact functions of the data
    local X, y = blobs(64, 9)
    local m = mlp{input_dim = 2}
    m:compile{optimizer = mf.optim.SGD{lr = 0}, loss = "bce"}
    local base = m:fit(X, y, {epochs = 1, verbose = 0, shuffle = false}).history.loss[1]
    local twice = m:fit(X, y, {epochs = 1, verbose = 0, shuffle = false, sample_weight = mf.full({64}, 2)})
    lu.assertAlmostEquals(twice.history.loss[1], 2 * base, 1e-6)
    -- class_weight by label: only the positive rows count
    local pos = m:fit(X, y, {epochs = 1, verbose = 0, shuffle = false, batch_size = 64,
                             class_weight = {[0] = 0, [1] = 1}}).history.loss[1]
    local p = m:predict(X):view(-1):clamp(1e-7, 1 - 1e-7)
    local expected = (-(p:log() * y)):sum():item() / 64
    lu.assertAlmostEquals(pos, expected, 1e-5)
    assert_error(function() m:fit(X, y, {verbose = 0, class_weight = {[2] = 1}}) end,
                 "class_weight names the label 2, which is not one of the classes 0, 1")
    assert_error(function() m:fit(X, y, {verbose = 0, sample_weight = mf.ones(3)}) end,
                 "sample_weight has 3 values for 64 rows")
end

function TestFit:test_deterministic_with_seed()
    local X, y = blobs(200, 11)
    local function run(seed)
        mf.manual_seed(42)
        local m = nn.Sequential{nn.Dense(16, {activation = "relu"}), nn.Dropout(0.2),
                                nn.Dense(1, {activation = "sigmoid"})}
        m:compile{optimizer = "adam", loss = "bce", metrics = {"accuracy"}}
        mf.manual_seed(999) -- whatever happens between model and fit: the seed option decides
        local h = m:fit(X, y, {epochs = 3, batch_size = 16, seed = seed, validation_split = 0.2, verbose = 0})
        return m, h
    end
    local m1, h1 = run(5)
    local m2, h2 = run(5)
    local m3, h3 = run(6)
    lu.assertEquals(h1.history, h2.history)                    -- bitwise: same numbers
    for i, p in ipairs(m1:parameters()) do lu.assertTrue(same_tensor(p, m2:parameters()[i])) end
    lu.assertNotEquals(h1.history.loss, h3.history.loss)
end

function TestFit:test_shuffle_and_initial_epoch()
    local X, y = blobs(50, 12)
    local function run(opts)
        mf.manual_seed(1)
        local m = mlp{input_dim = 2}
        m:compile{optimizer = "adam", loss = "bce"}
        mf.manual_seed(os.time() % 1000) -- no seed: shuffle = false is deterministic anyway
        opts.verbose = 0
        return m:fit(X, y, opts)
    end
    lu.assertEquals(run{epochs = 2, shuffle = false}.history, run{epochs = 2, shuffle = false}.history)
    local h = run{epochs = 5, initial_epoch = 3}
    lu.assertEquals(h.epoch, {4, 5})
    lu.assertEquals(#h.history.loss, 2)
    lu.assertEquals(#run{epochs = 2, initial_epoch = 2}.epoch, 0)
end

function TestFit:test_validation_data()
    local X, y = blobs(100, 13)
    local Xv, yv = blobs(40, 14)
    local m = mlp{input_dim = 2}
    m:compile{optimizer = mf.optim.Adam{lr = 0.05}, loss = "bce", metrics = {"accuracy"}}
    local h = m:fit(X, y, {epochs = 2, verbose = 0, validation_data = {Xv, yv}})
    lu.assertEquals(h.history.val_loss[2], m:evaluate(Xv, yv).loss)
    assert_error(function() m:fit(X, y, {verbose = 0, validation_data = {Xv, yv:narrow(1, 1, 3)}}) end,
                 "bad argument #3 to 'fit' (validation y has 3 rows, validation X has 40)")
    assert_error(function() m:fit(X, y, {verbose = 0, validation_data = {Xv, yv * 2}}) end,
                 "validation y row 2 holds the label 2, which is not one of the classes 0, 1")
    assert_error(function() m:fit(X, y, {verbose = 0, validation_data = {Xv}}) end,
                 "option 'validation_data' must be {X, y}")
    assert_error(function() m:fit(X, y, {verbose = 0, validation_data = {Xv, yv}, validation_split = 0.1}) end,
                 "give validation_split or validation_data, not both")
    assert_error(function() m:fit(X, y, {verbose = 0, validation_split = 1}) end,
                 "option 'validation_split' must be a number in [0, 1), got 1")
    assert_error(function() m:fit(X, y, {verbose = 0, validation_data = {Xv:narrow(2, 1, 1), yv}}) end,
                 "validation X is [40x1], X is [100x2]")
end

function TestFit:test_stop_training_from_a_callback()
    local X, y = blobs(40, 15)
    local m = mlp{input_dim = 2}
    m:compile{loss = "bce"}
    local h = m:fit(X, y, {epochs = 10, verbose = 0, callbacks = {mf.callbacks.LambdaCallback{
        on_epoch_end = function(epoch) if epoch == 3 then m.stop_training = true end end}}})
    lu.assertEquals(h.epoch, {1, 2, 3})
end

function TestFit:test_callback_protocol()
    local X, y = blobs(40, 16)
    local m = mlp{input_dim = 2}
    m:compile{loss = "bce", metrics = {"accuracy"}}
    local log = {}
    local cb = {
        on_train_begin = function(self, logs)
            log[#log + 1] = "train_begin"
            lu.assertTrue(rawequal(self.model, m))
            lu.assertEquals(self.params, {epochs = 2, steps = 3, batch_size = 16, samples = 40, verbose = 0})
            lu.assertEquals(logs, {})
        end,
        on_epoch_begin = function(_, epoch) log[#log + 1] = "epoch_begin " .. epoch end,
        on_batch_end = function(_, batch, logs)
            log[#log + 1] = ("batch %d %d"):format(batch, logs.size)
            lu.assertEquals(type(logs.loss), "number")
        end,
        on_epoch_end = function(_, epoch, logs)
            log[#log + 1] = "epoch_end " .. epoch
            lu.assertEquals(type(logs.loss), "number")
            lu.assertEquals(type(logs.accuracy), "number")
            lu.assertEquals(type(logs.val_loss), "number")
        end,
        on_train_end = function(_, logs)
            log[#log + 1] = "train_end"
            lu.assertEquals(type(logs.val_accuracy), "number")
        end,
    }
    m:fit(X, y, {epochs = 2, batch_size = 16, verbose = 0, validation_data = {X, y}, callbacks = {cb}})
    lu.assertEquals(log, {"train_begin", "epoch_begin 1", "batch 1 16", "batch 2 16", "batch 3 8", "epoch_end 1",
                          "epoch_begin 2", "batch 1 16", "batch 2 16", "batch 3 8", "epoch_end 2", "train_end"})
    assert_error(function() m:fit(X, y, {verbose = 0, callbacks = {{on_epoch_ends = print}}}) end,
                 "callback 1: unknown hook 'on_epoch_ends' (expected one of: on_train_begin, on_train_end, "
                 .. "on_epoch_begin, on_epoch_end, on_batch_end)")
    assert_error(function() m:fit(X, y, {verbose = 0, callbacks = {cb, 3}}) end,
                 "callback 2 is a number, expected a table")
    assert_error(function() m:fit(X, y, {verbose = 0, callbacks = {{on_epoch_end = 1}}}) end,
                 "callback 1: on_epoch_end is a number, expected a function")
    assert_error(function() m:fit(X, y, {verbose = 0, callbacks = {{}}}) end, "callback 1 has none of the hooks")
    -- an error in a callback names the epoch and step
    assert_error(function()
        m:fit(X, y, {verbose = 0, callbacks = {{on_batch_end = function(_, b) if b == 2 then error("boom") end end}}})
    end, "fit: epoch 1, step 2: ", "boom")
end

---------------------------------------------------------------- bad input

TestBadInput = {}

function TestBadInput:test_wrong_width_names_layer_and_shapes()
    local X, y = blobs(20)
    local m = nn.Sequential{nn.Dense(4, {input_dim = 3}), nn.Dense(1, {activation = "sigmoid"})}
    m:compile{loss = "bce"}
    assert_error(function() m:fit(X, y, {verbose = 0}) end,
                 "bad argument #1 to 'fit' (X is [20x2]: 2 features, but layer '1' (Dense) expects input [N x 3])")
    assert_error(function() m:predict(X) end,
                 "bad argument #1 to 'predict' (X is [20x2]: 2 features, but layer '1' (Dense) expects input [N x 3])")
    local deep = nn.Sequential{nn.Dense(4), nn.Dense(3, {input_dim = 5}), nn.Dense(1, {activation = "sigmoid"})}
    deep:compile{loss = "bce"}
    assert_error(function() deep:fit(X, y, {verbose = 0}) end,
                 "bad argument #1 to 'fit' (X is [20x2] and the model cannot take it: layer '2' (Dense) "
                 .. "expects input [N x 5], got [2x4])")
    assert_error(function() m:fit(mf.randn(20), y, {verbose = 0}) end,
                 "X must be [N x features], got [20] (X:view(-1, 1) makes one feature column)")
end

function TestBadInput:test_rows_and_nan()
    local X, y = blobs(30)
    local m = mlp{input_dim = 2}
    m:compile{loss = "bce"}
    assert_error(function() m:fit(X, y:narrow(1, 1, 29), {verbose = 0}) end,
                 "bad argument #2 to 'fit' (y has 29 rows, X has 30)")
    assert_error(function() m:evaluate(X, y:narrow(1, 1, 29)) end, "bad argument #2 to 'evaluate' (y has 29 rows, X has 30)")
    local Xn = X:clone()
    Xn:set(17, 2, 0 / 0)
    assert_error(function() m:fit(Xn, y, {verbose = 0}) end, "bad argument #1 to 'fit' (X holds NaN at row 17, column 2)")
    Xn:set(17, 2, 1)
    Xn:set(5, 1, -math.huge)
    assert_error(function() m:fit(Xn, y, {verbose = 0}) end, "X holds -inf at row 5, column 1")
    local yn = y:clone()
    yn:set(12, 0 / 0)
    assert_error(function() m:fit(X, yn, {verbose = 0}) end, "bad argument #2 to 'fit' (y holds NaN at row 12)")
    assert_error(function() m:fit(X, y, {verbose = 0, validation_data = {Xn, y}}) end,
                 "bad argument #3 to 'fit' (validation X holds -inf at row 5, column 1)")
    local mixed = {}
    for i = 1, 30 do mixed[i] = i == 4 and "a" or 1 end
    assert_error(function() m:fit(X, mixed, {verbose = 0}) end, "y[4] is a string, but y[1] is a number")
end

function TestBadInput:test_options()
    local X, y = blobs(10)
    local m = mlp{input_dim = 2}
    m:compile{loss = "bce"}
    assert_error(function() m:fit(X, y, {epoch = 3}) end,
                 "bad argument #3 to 'fit' (unknown option 'epoch' (expected one of: epochs, batch_size, "
                 .. "validation_split, validation_data, shuffle, class_weight, sample_weight, seed, callbacks, "
                 .. "verbose, initial_epoch, on_nan, progress))")
    assert_error(function() m:fit(X, y, {epochs = 0}) end, "option 'epochs' must be an integer >= 1, got 0")
    assert_error(function() m:fit(X, y, {batch_size = 2.5}) end, "option 'batch_size' must be an integer >= 1, got 2.5")
    assert_error(function() m:fit(X, y, {verbose = 3}) end, "option 'verbose' must be one of 0, 1, 2, got 3")
    assert_error(function() m:fit(X, y, {on_nan = "ignore"}) end,
                 "option 'on_nan' must be one of 'stop', 'continue', 'error', got 'ignore'")
    assert_error(function() m:fit(X, y, {progress = "dots"}) end, "option 'progress' must be one of 'bar', 'lines'")
    assert_error(function() m:fit(X, y, {shuffle = 1}) end, "option 'shuffle' must be a boolean, got number")
    assert_error(function() m:fit(X, y, {seed = 1.5}) end, "option 'seed' must be an integer, got 1.5")
    assert_error(function() m:evaluate(X, y, {verbose = 0}) end,
                 "unknown option 'verbose' (expected one of: batch_size, sample_weight)")
end

function TestBadInput:test_nan_loss_stops_with_epoch_and_step()
    mf.manual_seed(0)
    local X = mf.randn(64, 2)
    local y = X:narrow(2, 1, 1) * 1e20
    local function model()
        local m = nn.Sequential{nn.Dense(1, {input_dim = 2})}
        m:compile{loss = "mse", optimizer = mf.optim.SGD{lr = 1e10}}
        return m
    end
    local warnings, h = mf.capture_warnings(function()
        return model():fit(X, y, {epochs = 5, batch_size = 16, verbose = 0, shuffle = false})
    end)
    lu.assertEquals(#warnings, 1)
    lu.assertStrMatches(warnings[1],
                        "fit: loss is [%a-]+ at epoch 1, step %d of 4: training stopped %(on_nan = \"continue\" goes on%)")
    lu.assertEquals(h.epoch, {1})                            -- the epoch is recorded, then training stops
    local w2, h2 = mf.capture_warnings(function()
        return model():fit(X, y, {epochs = 3, batch_size = 16, verbose = 0, on_nan = "continue"})
    end)
    lu.assertEquals(#w2, 0)
    lu.assertEquals(#h2.epoch, 3)
    assert_error(function() model():fit(X, y, {epochs = 3, batch_size = 16, verbose = 0, on_nan = "error"}) end,
                 "fit: loss is ", "at epoch 1, step ")
end

---------------------------------------------------------------- progress

TestProgress = {}

local function progress_run(opts)
    local X, y = blobs(40, 3)
    local m = mlp{input_dim = 2}
    m:compile{loss = "bce", metrics = {"accuracy"}}
    opts.epochs, opts.batch_size = 3, 16
    return capture_output(function() m:fit(X, y, opts) end)
end

function TestProgress:test_lines_one_per_epoch()
    local out = progress_run{verbose = 2, validation_split = 0.25}
    lu.assertNil(out:find("\r", 1, true))
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    lu.assertEquals(#lines, 3)
    for i, l in ipairs(lines) do
        lu.assertStrMatches(l, ("Epoch %d/3 %%- 2/2 %%- %%d+[mu]?s %%- %%d+[mu]?s/step %%- loss: %%d%%.%%d%%d%%d%%d "
                                .. "%%- accuracy: %%d%%.%%d%%d%%d%%d %%- val_loss: %%d%%.%%d%%d%%d%%d %%- "
                                .. "val_accuracy: %%d%%.%%d%%d%%d%%d"):format(i))
    end
    -- verbose = 1 without a terminal (tests run with stdout in a file): lines too
    lu.assertNil(progress_run{verbose = 1, progress = "lines"}:find("\r", 1, true))
    lu.assertEquals(progress_run{verbose = 0}, "")
end

function TestProgress:test_bar()
    local out = progress_run{verbose = 1, progress = "bar"}
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    lu.assertEquals(#lines, 3)
    for i, l in ipairs(lines) do
        lu.assertStrContains(l, "\rEpoch " .. i .. "/3 1/3 [")   -- drawn at the first step
        lu.assertStrContains(l, "- ETA: ")
        -- the final state of the line: a full bar, time per step, logs
        local last = l:match("\r([^\r]*)$")
        lu.assertStrMatches(last, ("Epoch %d/3 3/3 %%[=+%%] %%- .- .-/step %%- loss: [%%d.]+ %%- accuracy: [%%d.]+ *")
                                  :format(i))
    end
    -- verbose = 2 is always one plain line per epoch
    lu.assertNil(progress_run{verbose = 2, progress = "bar"}:find("\r", 1, true))
end

---------------------------------------------------------------- fast path

TestFastPath = {}

-- The fast path (when moonforge.nn offers one) and the generic path give
-- the same history keys, epochs and callback calls, and close numbers.
function TestFastPath:test_same_behaviour_as_generic()
    if not nn._fast_plan then return end
    local X, y = blobs(200, 21)
    local function run(fast)
        nn.fast_path = fast
        mf.manual_seed(3)
        local m = mlp{input_dim = 2}
        m:compile{optimizer = "adam", loss = "bce", metrics = {"accuracy"}}
        local batches = 0
        local h = m:fit(X, y, {epochs = 3, batch_size = 32, seed = 4, validation_split = 0.2, verbose = 0,
                               callbacks = {{on_batch_end = function() batches = batches + 1 end}}})
        nn.fast_path = false
        return h, batches, m
    end
    local hg, bg, mg = run(false)
    local hf, bf, mfast = run(true)
    lu.assertEquals(hf:keys(), hg:keys())
    lu.assertEquals(hf.epoch, hg.epoch)
    lu.assertEquals(bf, bg)
    for _, k in ipairs(hg:keys()) do
        for e = 1, 3 do lu.assertAlmostEquals(hf.history[k][e], hg.history[k][e], 1e-4) end
    end
    for i, p in ipairs(mg:parameters()) do
        lu.assertTrue(mf.allclose(p:detach(), mfast:parameters()[i]:detach(), {atol = 1e-5}))
    end
end

-- Determinism and callbacks on the fast path: the same seed gives the same
-- bits, and EarlyStopping restores the best weights into the model.
function TestFastPath:test_deterministic_and_restores()
    if not nn._fast_plan then return end
    local X, y = blobs(300, 23)
    local function run()
        nn.fast_path = true
        mf.manual_seed(3)
        local m = mlp{input_dim = 2}
        m:compile{optimizer = "adam", loss = "bce", metrics = {"accuracy"}}
        local weights, values = {}, {4, 3, 5, 6, 7}
        local h = m:fit(X, y, {epochs = 5, seed = 9, verbose = 0, callbacks = {
            mf.callbacks.LambdaCallback{on_epoch_end = function(epoch, logs)
                logs.val_loss = values[epoch]
                weights[epoch] = m[1].weight:detach():clone()
            end},
            mf.callbacks.EarlyStopping{patience = 2, restore_best_weights = true}}})
        nn.fast_path = false
        return m, h, weights
    end
    local m1, h1, w1 = run()
    local m2, h2 = run()
    lu.assertEquals(h1.history, h2.history)
    lu.assertEquals(h1.epoch, {1, 2, 3, 4})
    lu.assertTrue(same_tensor(m1[1].weight, m2[1].weight))
    lu.assertTrue(same_tensor(m1[1].weight, w1[2]))
    lu.assertFalse(mf.equal(w1[4], w1[2]))
end

-- No Lua allocation per batch on the fast path: an epoch of 400 steps
-- allocates no more than an epoch of 13.
function TestFastPath:test_no_lua_allocation_per_batch()
    if not nn._fast_plan then return end
    nn.fast_path = true
    local X, y = blobs(400, 22)
    local m = mlp{input_dim = 2}
    m:compile{optimizer = "adam", loss = "bce"}
    local function kb(batch_size)
        m:fit(X, y, {epochs = 1, batch_size = batch_size, verbose = 0}) -- warm up
        collectgarbage()
        collectgarbage("stop")
        local before = collectgarbage("count")
        m:fit(X, y, {epochs = 1, batch_size = batch_size, verbose = 0})
        local used = collectgarbage("count") - before
        collectgarbage("restart")
        return used
    end
    local small, big = kb(1), kb(32)
    nn.fast_path = false
    lu.assertTrue(small - big < 8, ("%.1f KB for 400 steps, %.1f KB for 13"):format(small, big))
end

---------------------------------------------------------------- example

TestExample = {}

local EXE = os.getenv("MOONFORGE_EXE") or arg[-1]
local ROOT = arg[0]:gsub("[^/]*$", "") .. "../"

-- examples/defect_mlp.lua: the reference program, run by `make demo`.
function TestExample:test_defect_mlp()
    local svg = os.tmpname()
    local out = support.capture(("%s %s %s 2>&1 </dev/null; echo \"exit $?\"")
        :format(support.quote(EXE), support.quote(ROOT .. "examples/defect_mlp.lua"), support.quote(svg)))
    lu.assertStrContains(out, "\nexit 0", out)
    lu.assertStrContains(out, "Epoch 30/30 - 75/75 - ")
    lu.assertNil(out:find("\r", 1, true))
    local acc = tonumber(out:match("\ntest accuracy: ([%d.]+)"))
    lu.assertNotNil(acc, out)
    lu.assertTrue(acc >= 0.85, out)
    lu.assertStrContains(support.read_file(svg), "</svg>")
    os.remove(svg)
end

-- examples/data/make_defects.lua regenerates the shipped CSV byte for byte.
function TestExample:test_data_is_reproducible()
    local csv = os.tmpname()
    local out = support.capture(("%s %s %s"):format(support.quote(EXE),
        support.quote(ROOT .. "examples/data/make_defects.lua"), support.quote(csv)))
    lu.assertStrContains(out, "3000 rows")
    local shipped = support.read_file(ROOT .. "examples/data/defects.csv")
    local made = support.read_file(csv)
    os.remove(csv)
    lu.assertTrue(shipped == made, "examples/data/defects.csv differs from what make_defects.lua writes")
    lu.assertEquals(select(2, shipped:gsub("\n", "")), 3001)
    lu.assertTrue(#shipped > 300000 and #shipped < 700000)
end

os.exit(lu.LuaUnit.run(), true)
