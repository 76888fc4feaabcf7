-- A user-defined module: a small residual MLP, trained on a synthetic
-- regression task. Run with `build/moonforge examples/custom_module.lua`.
local mf = require "moonforge"
local nn = mf.nn

-- A residual block: x + W2 gelu(W1 x). Fields that hold modules or tensors
-- are found by the module system: no registration needed.
local Residual = nn.Module:extend("Residual")

function Residual:init(width, hidden)
    self.fc1 = nn.Linear(width, hidden)
    self.act = nn.GELU()
    self.fc2 = nn.Linear(hidden, width)
end

function Residual:forward(x)
    return x + self.fc2(self.act(self.fc1(x)))
end

-- The whole model, also a module: an input layer, a list of blocks, a head.
local Net = nn.Module:extend("Net")

function Net:init(n_in, width, depth)
    self.input = nn.Linear(n_in, width)
    self.blocks = {}                      -- a plain Lua array of modules
    for i = 1, depth do self.blocks[i] = Residual(width, 2 * width) end
    self.head = nn.Linear(width, 1)
end

function Net:forward(x)
    local h = self.input(x)
    for _, block in ipairs(self.blocks) do h = block(h) end
    return self.head(h)
end

mf.manual_seed(7)
local model = Net(3, 16, 2)
print(model)
print(model:summary({8, 3}))

-- Data: y = sin(2 x1) + x2 * x3, plus a little noise.
local x = mf.rand(256, 3) * 4 - 2
local y = ((x:select(2, 1) * 2):sin() + x:select(2, 2) * x:select(2, 3)):unsqueeze(2)
y = y + mf.randn(256, 1) * 0.05

-- Adam from mf.optim when it is there; otherwise plain SGD by hand.
local params = model:parameters()
local step_fn
if mf.optim and mf.optim.Adam then
    local opt = mf.optim.Adam(params, {lr = 1e-2})
    step_fn = function(loss)
        opt:zero_grad()
        loss:backward()
        opt:step()
    end
    print("optimizer: Adam")
else
    step_fn = function(loss)
        model:zero_grad()
        loss:backward()
        mf.no_grad(function()
            for _, p in ipairs(params) do p:sub_(p.grad * 0.05) end
        end)
    end
    print("optimizer: SGD (mf.optim.Adam not available)")
end

local loss_fn = nn.MSELoss()
local first, last
for step = 1, 400 do
    local loss = loss_fn(model(x), y)
    step_fn(loss)
    last = loss:item()
    first = first or last
    if step % 100 == 0 then print(("step %3d  loss %.4f"):format(step, last)) end
end
print(("loss decreased from %.4f to %.4f"):format(first, last))
