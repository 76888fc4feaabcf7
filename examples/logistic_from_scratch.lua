-- Logistic regression from scratch: raw tensors, autograd and a hand-written
-- SGD step. Two features of 200 parts (e.g. two sensor readings) and a
-- pass/fail label. Run with `build/moonforge examples/logistic_from_scratch.lua`.
local mf = require "moonforge"
local losses = mf.nn.losses

-- A reproducible 2-class data set: two Gaussian blobs of 100 points each.
mf.manual_seed(2024)
local n = 100
local good = mf.randn(n, 2) * 0.8 + mf.tensor({-1, -1})
local bad = mf.randn(n, 2) * 0.8 + mf.tensor({1.5, 1})
local x = mf.cat({good, bad})                                 -- [200 x 2]
local y = mf.cat({mf.zeros(n, 1), mf.ones(n, 1)})             -- [200 x 1]: 1 = fail

-- The model: p(fail | x) = sigmoid(x w + b), parameters as plain tensors.
local w = mf.zeros(2, 1, {requires_grad = true})
local b = mf.zeros(1, {requires_grad = true})

local lr = 0.5
for step = 1, 300 do
    local p = (x:matmul(w) + b):sigmoid()
    local loss = losses.bce(p, y)
    loss:backward()                         -- fills w.grad and b.grad
    mf.no_grad(function()                   -- the update is not part of the graph
        w:sub_(w.grad * lr)
        b:sub_(b.grad * lr)
    end)
    w:zero_grad()
    b:zero_grad()
    if step == 1 or step % 50 == 0 then
        print(("step %3d  loss %.4f"):format(step, loss:item()))
    end
end

-- Accuracy: predict "fail" when p > 0.5, i.e. when the logit is positive.
local predicted = mf.no_grad(function() return (x:matmul(w) + b):gt(0) end)
local accuracy = mf.eq(predicted, y:gt(0.5)):float():mean():item()
print(("w = (%.3f, %.3f), b = %.3f"):format(w:get(1, 1), w:get(2, 1), b[1]))
print(("accuracy: %.3f"):format(accuracy))
