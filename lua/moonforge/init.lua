--- moonforge: machine learning for industrial data, in Lua over a C core.
--
--     local mf = require "moonforge"
--
-- Every function of the C core (`moonforge.core`) is here, and every tensor
-- function is also a tensor method: `mf.reshape(t, 2, 3)` is `t:reshape(2, 3)`.
-- The module sets no globals.
local core = require "moonforge.core"

local mf = {}
for name, value in pairs(core) do mf[name] = value end

--- The methods of every tensor. Lua modules add methods here.
mf.Tensor = core.Tensor

---------------------------------------------------------------- comparisons
local function check_close_opts(opts, fname)
    opts = opts or {}
    for k in pairs(opts) do
        if k ~= "rtol" and k ~= "atol" and k ~= "equal_nan" then
            error(("bad argument #3 to '%s' (unknown option '%s' (expected one of: rtol, atol, equal_nan))")
                  :format(fname, tostring(k)), 3)
        end
    end
    return opts.rtol or 1e-5, opts.atol or 1e-8, opts.equal_nan
end

--- Elementwise |a - b| <= atol + rtol * |b| (NumPy/PyTorch isclose), a mask.
function mf.isclose(a, b, opts)
    local rtol, atol, equal_nan = check_close_opts(opts, "isclose")
    local close = mf.le(mf.abs(a - b), atol + rtol * mf.abs(b))
    close = mf.logical_or(close, mf.eq(a, b)) -- equal infinities
    if equal_nan then
        close = mf.logical_or(close, mf.logical_and(mf.isnan(a), mf.isnan(b)))
    end
    return close
end

--- Whether every element of a is close to b (shapes broadcast).
function mf.allclose(a, b, opts)
    local rtol, atol, equal_nan = check_close_opts(opts, "allclose")
    return mf.isclose(a, b, {rtol = rtol, atol = atol, equal_nan = equal_nan}):all():item()
end

--- Whether a and b have the same shape and the same elements (as torch.equal).
function mf.equal(a, b)
    local sa, sb = a:shape(), b:shape()
    if #sa ~= #sb then return false end
    for i = 1, #sa do if sa[i] ~= sb[i] then return false end end
    return mf.eq(a, b):all():item()
end

mf.Tensor.isclose, mf.Tensor.allclose, mf.Tensor.equal = mf.isclose, mf.allclose, mf.equal

---------------------------------------------------------------- warnings
-- Warnings go to stderr as "moonforge: warning: ...", unless silenced with
-- mf.set_warnings(false), or collected by mf.capture_warnings (for tests).
local warnings_on = true
local captures = {} -- stack of lists collecting warnings

--- Emits a warning (formatted like string.format when extra arguments follow).
function mf.warn(msg, ...)
    if select("#", ...) > 0 then msg = string.format(msg, ...) end
    msg = tostring(msg)
    local sink = captures[#captures]
    if sink then
        sink[#sink + 1] = msg
    elseif warnings_on then
        io.stderr:write("moonforge: warning: ", msg, "\n")
    end
end

--- Turns warnings on or off; returns the previous setting.
function mf.set_warnings(on)
    local was = warnings_on
    warnings_on = on and true or false
    return was
end

--- Runs fn(...) and returns the list of warnings it emitted (not printed),
-- followed by fn's results. Errors propagate after the capture is removed.
function mf.capture_warnings(fn, ...)
    local list = {}
    captures[#captures + 1] = list
    local res = table.pack(pcall(fn, ...))
    table.remove(captures)
    if not res[1] then error(res[2], 0) end
    return list, table.unpack(res, 2, res.n)
end

---------------------------------------------------------------- threads
--- Sets the one thread count used by OpenBLAS and every parallel kernel.
-- A request above the number of cores is clamped (with a warning); returns
-- the number in effect.
function mf.set_num_threads(n)
    local got = core.set_num_threads(n)
    if math.type(n) == "integer" and got < n then
        mf.warn("set_num_threads: %d threads requested but only %d cores: using %d",
                n, core.num_cores(), got)
    end
    return got
end

---------------------------------------------------------------- namespaces
-- Loaded after the core functions above exist: these modules use them.
package.loaded["moonforge"] = mf
mf.nn = require "moonforge.nn"
mf.nn.losses = require "moonforge.losses"
mf.optim = require "moonforge.optim"
mf.callbacks = require "moonforge.callbacks"
mf.data = require "moonforge.data"
require "moonforge.loader" -- mf.data.train_test_split, mf.data.DataLoader
mf.model_selection = require "moonforge.model_selection"
mf.preprocess = require "moonforge.preprocess"
mf.features = require "moonforge.features"
mf.metrics = require "moonforge.metrics"
mf.models = require "moonforge.models"
mf.Pipeline = require("moonforge.pipeline").Pipeline
mf.clone = require("moonforge.estimator").clone -- sklearn.base.clone
require "moonforge.keras" -- nn.Dense; compile, fit, evaluate, predict on every module

require "moonforge.fastpath" -- nn._fast_plan: the C training step that fit uses when it can

return mf
