--- moonforge.callbacks (mf.callbacks) — Keras's training callbacks.
--
--     model:fit(X, y, {epochs = 100, validation_split = 0.2, callbacks = {
--         mf.callbacks.EarlyStopping{monitor = "val_loss", patience = 5, restore_best_weights = true},
--         mf.callbacks.ModelCheckpoint{path = "best.mf", save_best_only = true},
--     }})
--
-- A callback is any table with some of the hooks
--   cb:on_train_begin(logs)        cb:on_train_end(logs)
--   cb:on_epoch_begin(epoch, logs) cb:on_epoch_end(epoch, logs)
--   cb:on_batch_end(batch, logs)
-- Epochs and batches count from 1. fit sets cb.model (the model) and
-- cb.params ({epochs, steps, batch_size, samples, verbose}) before
-- on_train_begin; setting cb.model.stop_training = true ends the training
-- after the current epoch. on_batch_end's logs ({loss, size}) is one table
-- reused for every batch: copy what you keep.
local mf = require "moonforge"
local nn = require "moonforge.nn"

local M = {}

local check_options = nn.check_options

local function argerror(argn, fname, msg, level)
    error(("bad argument #%d to '%s' (%s)"):format(argn, fname, msg), (level or 2) + 1)
end

local function class(name)
    local cls = {}
    cls.__index = cls
    cls.__name = name
    cls.__tostring = function() return name .. "()" end
    return cls
end

local function check_string(v, fname, name, default)
    if v == nil then return default end
    if type(v) ~= "string" or v == "" then
        argerror(1, fname, ("option '%s' must be a string, got %s"):format(name, type(v)), 3)
    end
    return v
end

local function check_number(v, fname, name, default, min, int)
    if v == nil then return default end
    if type(v) ~= "number" or v ~= v or (min and v < min) or (int and math.type(v) ~= "integer") then
        argerror(1, fname, ("option '%s' must be %s%s, got %s"):format(name, int and "an integer" or "a number",
                 min and " >= " .. min or "", tostring(v)), 3)
    end
    return v
end

local function check_boolean(v, fname, name, default)
    if v == nil then return default end
    if type(v) ~= "boolean" then
        argerror(1, fname, ("option '%s' must be a boolean, got %s"):format(name, type(v)), 3)
    end
    return v
end

-- "min" or "max" for a monitored quantity: accuracies, AUC, precision and
-- recall grow, everything else (losses, errors) shrinks.
local function resolve_mode(mode, monitor, fname)
    if mode == nil or mode == "auto" then
        local base = monitor:gsub("^val_", "")
        for _, k in ipairs({ "acc", "auc", "precision", "recall" }) do
            if base:find(k, 1, true) then return "max" end
        end
        return "min"
    end
    if mode ~= "min" and mode ~= "max" then
        argerror(1, fname, ("option 'mode' must be 'auto', 'min' or 'max', got %s"):format(tostring(mode)), 3)
    end
    return mode
end

-- The monitored value of logs, or nil after one warning per training.
local function monitored(cb, logs, fname)
    local v = logs[cb.monitor]
    if type(v) == "number" then return v end
    if not cb._warned then
        cb._warned = true
        local keys = {}
        for k in pairs(logs) do keys[#keys + 1] = k end
        table.sort(keys)
        mf.warn("%s: '%s' is not in the logs (available: %s)%s", fname, cb.monitor, table.concat(keys, ", "),
                cb.monitor:sub(1, 4) == "val_" and ": give fit validation_data or validation_split" or "")
    end
    return nil
end

local function say(cb, fmt, ...)
    if cb.verbose and cb.verbose > 0 then
        io.write(fmt:format(...), "\n")
        io.output():flush()
    end
end

-- A copy of the model's parameters and buffers.
local function snapshot(model)
    local copy = {}
    mf.no_grad(function()
        for k, t in pairs(model:state_dict()) do copy[k] = t:clone() end
    end)
    return copy
end

---------------------------------------------------------------- EarlyStopping

local EarlyStopping = class("EarlyStopping")

--- EarlyStopping{monitor = "val_loss", patience = 0, min_delta = 0, mode =
-- "auto", restore_best_weights = false, verbose = 0}: stops training when
-- `monitor` has not improved by more than min_delta for `patience` epochs.
-- With restore_best_weights the model gets the weights of its best epoch
-- back when training ends, whether this callback stopped it or not.
-- After training: stopped_epoch (0 when it did not stop), best, best_epoch.
function M.EarlyStopping(opts)
    local fname = "EarlyStopping"
    opts = check_options(opts, fname, 1, { "monitor", "patience", "min_delta", "mode", "restore_best_weights",
                                           "verbose" })
    local self = setmetatable({}, EarlyStopping)
    self.monitor = check_string(opts.monitor, fname, "monitor", "val_loss")
    self.patience = check_number(opts.patience, fname, "patience", 0, 0, true)
    self.min_delta = math.abs(check_number(opts.min_delta, fname, "min_delta", 0))
    self.mode = resolve_mode(opts.mode, self.monitor, fname)
    self.restore_best_weights = check_boolean(opts.restore_best_weights, fname, "restore_best_weights", false)
    self.verbose = check_number(opts.verbose, fname, "verbose", 0, 0, true)
    return self
end

function EarlyStopping:is_better(v, best)
    if self.mode == "min" then return v < best - self.min_delta end
    return v > best + self.min_delta
end

function EarlyStopping:on_train_begin()
    self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
    self.best = self.mode == "min" and math.huge or -math.huge
    self.best_weights, self._warned, self._last_epoch = nil, nil, 0
end

function EarlyStopping:on_epoch_end(epoch, logs)
    self._last_epoch = epoch
    local v = monitored(self, logs, "EarlyStopping")
    if v == nil then return end
    if self.restore_best_weights and self.best_weights == nil then
        self.best_weights, self.best_epoch = snapshot(self.model), epoch
    end
    self.wait = self.wait + 1
    if self:is_better(v, self.best) then
        self.best, self.best_epoch, self.wait = v, epoch, 0
        if self.restore_best_weights then self.best_weights = snapshot(self.model) end
        return
    end
    if self.wait >= self.patience and self.wait > 0 then
        self.stopped_epoch = epoch
        self.model.stop_training = true
    end
end

function EarlyStopping:on_train_end()
    if self.stopped_epoch > 0 then say(self, "Epoch %d: early stopping", self.stopped_epoch) end
    if self.restore_best_weights and self.best_weights and self.best_epoch ~= self._last_epoch then
        say(self, "Restoring model weights from the end of the best epoch: %d.", self.best_epoch)
        self.model:load_state_dict(self.best_weights)
    end
    self.best_weights = nil
end

---------------------------------------------------------------- ModelCheckpoint

local ModelCheckpoint = class("ModelCheckpoint")

-- path with {name} and {name:fmt} (a string.format spec without the %, e.g.
-- {epoch:03d}, {val_loss:.4f}) replaced from the epoch's logs.
local function expand_path(path, epoch, logs)
    return (path:gsub("{([%w_]+):?([^}]*)}", function(name, spec)
        local v = name == "epoch" and epoch or logs[name]
        if v == nil then
            local keys = { "epoch" }
            for k in pairs(logs) do keys[#keys + 1] = k end
            table.sort(keys)
            error(("ModelCheckpoint: the path names {%s}, which is not in the logs (available: %s)")
                  :format(name, table.concat(keys, ", ")), 0)
        end
        if spec == "" then return tostring(v) end
        return ("%" .. spec):format(v)
    end))
end

--- ModelCheckpoint{path, monitor = "val_loss", save_best_only = false,
-- mode = "auto", verbose = 0}: saves the model's state dict (mf.save, an
-- atomic write) after each epoch, or only when `monitor` improved. `path`
-- may name log values: "ckpt-{epoch:03d}-{val_loss:.3f}.mf". Load with
-- model:load_state_dict(mf.load(path)). After training: best, last_path.
function M.ModelCheckpoint(opts)
    local fname = "ModelCheckpoint"
    opts = check_options(opts, fname, 1, { "path", "monitor", "save_best_only", "mode", "verbose" })
    if type(opts.path) ~= "string" or opts.path == "" then
        argerror(1, fname, ("option 'path' (a file path) is required, got %s"):format(type(opts.path)))
    end
    local self = setmetatable({}, ModelCheckpoint)
    self.path = opts.path
    self.monitor = check_string(opts.monitor, fname, "monitor", "val_loss")
    self.save_best_only = check_boolean(opts.save_best_only, fname, "save_best_only", false)
    self.mode = resolve_mode(opts.mode, self.monitor, fname)
    self.verbose = check_number(opts.verbose, fname, "verbose", 0, 0, true)
    return self
end

function ModelCheckpoint:on_train_begin()
    self.best = self.mode == "min" and math.huge or -math.huge
    self._warned = nil
end

function ModelCheckpoint:on_epoch_end(epoch, logs)
    if self.save_best_only then
        local v = monitored(self, logs, "ModelCheckpoint")
        if v == nil then return end
        local better = self.mode == "min" and v < self.best or self.mode == "max" and v > self.best
        if not better then return end
        say(self, "Epoch %d: %s improved from %.5g to %.5g, saving the model", epoch, self.monitor, self.best, v)
        self.best = v
    end
    local path = expand_path(self.path, epoch, logs)
    mf.save(self.model:state_dict(), path)
    self.last_path = path
end

---------------------------------------------------------------- ReduceLROnPlateau

local ReduceLROnPlateau = class("ReduceLROnPlateau")

local function current_lr(model)
    local opt = model.optimizer
    return opt and opt.param_groups[1].lr
end

--- ReduceLROnPlateau{monitor = "val_loss", factor = 0.1, patience = 10,
-- mode = "auto", min_delta = 1e-4, cooldown = 0, min_lr = 0, verbose = 0}:
-- multiplies the learning rate of every param group by factor when
-- `monitor` has not improved by more than min_delta for `patience` epochs,
-- then waits `cooldown` epochs. Adds `lr` (of the first group, during the
-- epoch) to the logs, hence to the history.
function M.ReduceLROnPlateau(opts)
    local fname = "ReduceLROnPlateau"
    opts = check_options(opts, fname, 1, { "monitor", "factor", "patience", "mode", "min_delta", "cooldown",
                                           "min_lr", "verbose" })
    local self = setmetatable({}, ReduceLROnPlateau)
    self.monitor = check_string(opts.monitor, fname, "monitor", "val_loss")
    self.factor = check_number(opts.factor, fname, "factor", 0.1, 0)
    if self.factor >= 1 then argerror(1, fname, ("option 'factor' must be < 1, got %s"):format(self.factor)) end
    self.patience = check_number(opts.patience, fname, "patience", 10, 0, true)
    self.mode = resolve_mode(opts.mode, self.monitor, fname)
    self.min_delta = math.abs(check_number(opts.min_delta, fname, "min_delta", 1e-4))
    self.cooldown = check_number(opts.cooldown, fname, "cooldown", 0, 0, true)
    self.min_lr = check_number(opts.min_lr, fname, "min_lr", 0, 0)
    self.verbose = check_number(opts.verbose, fname, "verbose", 0, 0, true)
    return self
end

function ReduceLROnPlateau:on_train_begin()
    self.wait, self.cooldown_counter, self._warned = 0, 0, nil
    self.best = self.mode == "min" and math.huge or -math.huge
end

function ReduceLROnPlateau:on_epoch_end(epoch, logs)
    logs.lr = current_lr(self.model)
    local v = monitored(self, logs, "ReduceLROnPlateau")
    if v == nil then return end
    if self.cooldown_counter > 0 then
        self.cooldown_counter = self.cooldown_counter - 1
        self.wait = 0
    end
    local better = self.mode == "min" and v < self.best - self.min_delta
        or self.mode == "max" and v > self.best + self.min_delta
    if better then
        self.best, self.wait = v, 0
    elseif self.cooldown_counter == 0 then
        self.wait = self.wait + 1
        if self.wait >= self.patience then
            for _, g in ipairs(self.model.optimizer.param_groups) do
                if g.lr > self.min_lr then
                    local new = math.max(g.lr * self.factor, self.min_lr)
                    say(self, "Epoch %d: ReduceLROnPlateau reducing the learning rate to %.4g.", epoch, new)
                    g.lr = new
                end
            end
            self.cooldown_counter, self.wait = self.cooldown, 0
        end
    end
end

---------------------------------------------------------------- LearningRateScheduler

local LearningRateScheduler = class("LearningRateScheduler")

--- LearningRateScheduler(schedule) or LearningRateScheduler{schedule,
-- verbose = 0}: before each epoch, sets every group's lr to
-- schedule(epoch, lr) (epoch from 1, lr: the current one). Adds `lr` to the
-- logs.
function M.LearningRateScheduler(opts)
    local fname = "LearningRateScheduler"
    if type(opts) == "function" then opts = { schedule = opts } end
    opts = check_options(opts, fname, 1, { "schedule", "verbose" })
    if type(opts.schedule) ~= "function" then
        argerror(1, fname, ("option 'schedule' (a function(epoch, lr)) is required, got %s")
                 :format(type(opts.schedule)))
    end
    local self = setmetatable({}, LearningRateScheduler)
    self.schedule = opts.schedule
    self.verbose = check_number(opts.verbose, fname, "verbose", 0, 0, true)
    return self
end

function LearningRateScheduler:on_epoch_begin(epoch)
    local lr = self.schedule(epoch, current_lr(self.model))
    if type(lr) ~= "number" or lr ~= lr or lr < 0 then
        error(("LearningRateScheduler: the schedule returned %s at epoch %d, expected a number >= 0")
              :format(tostring(lr), epoch), 0)
    end
    for _, g in ipairs(self.model.optimizer.param_groups) do g.lr = lr end
    say(self, "Epoch %d: LearningRateScheduler setting the learning rate to %.4g.", epoch, lr)
end

function LearningRateScheduler:on_epoch_end(_, logs) logs.lr = current_lr(self.model) end

---------------------------------------------------------------- CSVLogger

local CSVLogger = class("CSVLogger")

--- CSVLogger{path, separator = ",", append = false}: one row per epoch
-- (epoch, then the logs' names sorted), written and flushed at each epoch's
-- end, so the file is complete up to the last finished epoch. With append,
-- rows go after those of an existing file (its header is kept).
function M.CSVLogger(opts)
    local fname = "CSVLogger"
    opts = check_options(opts, fname, 1, { "path", "separator", "append" })
    if type(opts.path) ~= "string" or opts.path == "" then
        argerror(1, fname, ("option 'path' (a file path) is required, got %s"):format(type(opts.path)))
    end
    local self = setmetatable({}, CSVLogger)
    self.path = opts.path
    self.separator = check_string(opts.separator, fname, "separator", ",")
    self.append = check_boolean(opts.append, fname, "append", false)
    return self
end

local function fmt_cell(v)
    if v == nil then return "NA" end
    if math.type(v) == "integer" then return tostring(v) end
    if type(v) == "number" then return ("%.10g"):format(v) end
    return tostring(v)
end

function CSVLogger:on_train_begin()
    local existed = false
    if self.append then
        local f = io.open(self.path, "rb")
        if f then
            existed = f:read(1) ~= nil
            f:close()
        end
    end
    local f, err = io.open(self.path, self.append and "ab" or "wb")
    if not f then error(("CSVLogger: cannot open %s"):format(err), 0) end
    self._file, self._keys, self._header_done = f, nil, existed
end

function CSVLogger:on_epoch_end(epoch, logs)
    local f = self._file
    if not f then return end
    local sep = self.separator
    if not self._keys then
        local keys = {}
        for k, v in pairs(logs) do
            if type(v) == "number" then keys[#keys + 1] = k end
        end
        table.sort(keys)
        self._keys = keys
        if not self._header_done then
            f:write("epoch", sep, table.concat(keys, sep), "\n")
            self._header_done = true
        end
    end
    local cells = { tostring(epoch) }
    for i, k in ipairs(self._keys) do cells[i + 1] = fmt_cell(logs[k]) end
    f:write(table.concat(cells, sep), "\n")
    f:flush()
end

function CSVLogger:on_train_end()
    if self._file then
        self._file:close()
        self._file = nil
    end
end

---------------------------------------------------------------- LambdaCallback

local LAMBDA_HOOKS = { "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_batch_end" }

--- LambdaCallback{on_epoch_end = function(epoch, logs) ... end, ...}: a
-- callback from plain functions (any of on_train_begin(logs),
-- on_train_end(logs), on_epoch_begin(epoch, logs), on_epoch_end(epoch, logs),
-- on_batch_end(batch, logs)); they get no self.
function M.LambdaCallback(opts)
    local fname = "LambdaCallback"
    opts = check_options(opts, fname, 1, LAMBDA_HOOKS)
    local self = {}
    for _, h in ipairs(LAMBDA_HOOKS) do
        local f = opts[h]
        if f ~= nil then
            if type(f) ~= "function" then
                argerror(1, fname, ("option '%s' must be a function, got %s"):format(h, type(f)))
            end
            self[h] = function(_, ...) return f(...) end
        end
    end
    if next(self) == nil then
        argerror(1, fname, "give at least one of: " .. table.concat(LAMBDA_HOOKS, ", "))
    end
    return setmetatable(self, { __name = "LambdaCallback", __tostring = function() return "LambdaCallback()" end })
end

return M
