--- moonforge.history — what model:fit returns: the logs of every epoch, and
-- their learning curves as an SVG file.
--
--     local h = model:fit(X, y, {epochs = 20, validation_split = 0.2})
--     print(h.history.loss[20], h.history.val_accuracy[20], h.epoch[20])
--     h:plot("curves.svg")
--
-- h.history maps each name (loss, accuracy, ..., val_loss, val_accuracy, ...,
-- and anything a callback added to the logs, such as lr) to a Lua array with
-- one value per epoch, aligned with h.epoch (a name missing from an epoch's
-- logs holds NaN there).
local M = {}

local History = {}
History.__index = History
M.History = History

local NAN = 0 / 0

--- A new, empty history. `keys`: the names in display order; `params`: the
-- fit's settings (epochs, steps, batch_size, samples, verbose).
function M.new(keys, params)
    return setmetatable({ history = {}, epoch = {}, params = params or {}, _keys = { table.unpack(keys or {}) } },
                        History)
end

--- Appends one epoch's logs (called by fit after the callbacks' on_epoch_end).
function History:record(epoch, logs)
    local n = #self.epoch + 1
    self.epoch[n] = epoch
    local known = {}
    for _, k in ipairs(self._keys) do known[k] = true end
    local extra = {}
    for k in pairs(logs) do
        if not known[k] and type(k) == "string" and type(logs[k]) == "number" then extra[#extra + 1] = k end
    end
    table.sort(extra)
    for _, k in ipairs(extra) do self._keys[#self._keys + 1] = k end
    for _, k in ipairs(self._keys) do
        local list = self.history[k]
        if not list then
            list = {}
            for i = 1, n - 1 do list[i] = NAN end
            self.history[k] = list
        end
        local v = logs[k]
        list[n] = type(v) == "number" and v or NAN
    end
end

--- The names recorded, in display order (loss, metrics, val_*, then extras).
function History:keys()
    local out = {}
    for _, k in ipairs(self._keys) do
        if self.history[k] then out[#out + 1] = k end
    end
    return out
end

function History:__tostring()
    return ("History(%d epochs: %s)"):format(#self.epoch, table.concat(self:keys(), ", "))
end

---------------------------------------------------------------- SVG

local function esc(s)
    return (tostring(s):gsub("[&<>\"']", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
                                           ['"'] = "&quot;", ["'"] = "&apos;" }))
end

local function finite(v) return v == v and v ~= math.huge and v ~= -math.huge end

-- A round step (1, 2 or 5 times a power of ten) giving about n intervals.
local function nice_step(range, n)
    local raw = range / n
    local mag = 10 ^ math.floor(math.log(raw, 10))
    local f = raw / mag
    local nf = f < 1.5 and 1 or f < 3 and 2 or f < 7 and 5 or 10
    return nf * mag
end

local function axis(lo, hi, n)
    if lo == hi then
        local d = lo == 0 and 1 or math.abs(lo) * 0.1
        lo, hi = lo - d, hi + d
    end
    local step = nice_step(hi - lo, n)
    local a, b = math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step
    local decimals = math.max(0, math.min(8, -math.floor(math.log(step, 10) + 1e-9)))
    local ticks = {}
    local k = 0
    while true do
        local v = a + k * step
        if v > b + step * 1e-6 then break end
        ticks[#ticks + 1] = v
        k = k + 1
    end
    return a, b, ticks, "%." .. decimals .. "f"
end

local TRAIN_COLOR, VAL_COLOR = "#1f77b4", "#ff7f0e"
local PANEL_W, PANEL_H = 460, 300

-- One panel at (px, py): the series of `name` and of "val_" .. name.
local function panel(out, h, name, px, py)
    local train, val = h.history[name], h.history["val_" .. name]
    local epochs = h.epoch
    local x0, x1, y0, y1 = px + 64, px + PANEL_W - 20, py + 36, py + PANEL_H - 46
    local lo, hi = math.huge, -math.huge
    for _, series in ipairs({ train or {}, val or {} }) do
        for _, v in ipairs(series) do
            if finite(v) then
                lo, hi = math.min(lo, v), math.max(hi, v)
            end
        end
    end
    if lo > hi then lo, hi = 0, 1 end
    local ya, yb, yticks, yfmt = axis(lo, hi, 5)
    local ea, eb = epochs[1], epochs[#epochs]
    if ea == eb then ea, eb = ea - 1, eb + 1 end
    local xa, xb, xticks = axis(ea, eb, 8)
    if xb - xa <= 12 then
        xticks = {}
        for e = math.ceil(xa), math.floor(xb) do xticks[#xticks + 1] = e end
    end
    local function X(e) return x0 + (e - xa) / (xb - xa) * (x1 - x0) end
    local function Y(v) return y1 - (v - ya) / (yb - ya) * (y1 - y0) end

    out[#out + 1] = ('<g font-family="sans-serif" font-size="11">')
    out[#out + 1] = ('<text x="%.1f" y="%.1f" font-size="14" font-weight="bold">%s</text>')
        :format(x0, py + 22, esc(name))
    -- grid and ticks
    for _, v in ipairs(yticks) do
        local y = Y(v)
        out[#out + 1] = ('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>'):format(x0, y, x1, y)
        out[#out + 1] = ('<text x="%.1f" y="%.1f" text-anchor="end">%s</text>'):format(x0 - 6, y + 4, yfmt:format(v))
    end
    for _, e in ipairs(xticks) do
        local x = X(e)
        out[#out + 1] = ('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#333"/>'):format(x, y1, x, y1 + 4)
        out[#out + 1] = ('<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>')
            :format(x, y1 + 16, ("%g"):format(e))
    end
    -- axes
    out[#out + 1] = ('<path d="M%.1f %.1fV%.1fH%.1f" fill="none" stroke="#333"/>'):format(x0, y0, y1, x1)
    out[#out + 1] = ('<text x="%.1f" y="%.1f" text-anchor="middle">epoch</text>'):format((x0 + x1) / 2, y1 + 34)
    -- series: polylines broken at non-finite values, with markers
    local function series(values, color, dash)
        if not values then return end
        local seg = {}
        local function flush()
            if #seg > 1 then
                out[#out + 1] = ('<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>')
                    :format(color, dash and ' stroke-dasharray="6,4"' or "", table.concat(seg, " "))
            end
            seg = {}
        end
        for i, v in ipairs(values) do
            if finite(v) then
                local x, y = X(epochs[i]), Y(v)
                seg[#seg + 1] = ("%.1f,%.1f"):format(x, y)
                if #values <= 40 then
                    out[#out + 1] = ('<circle cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>'):format(x, y, color)
                end
            else
                flush()
            end
        end
        flush()
    end
    series(train, TRAIN_COLOR, false)
    series(val, VAL_COLOR, true)
    -- legend: in the header, right-aligned, clear of the curves
    local entries = {}
    if train then entries[#entries + 1] = { "train", TRAIN_COLOR, false } end
    if val then entries[#entries + 1] = { "validation", VAL_COLOR, true } end
    local lx, ly = x1, py + 18
    for i = #entries, 1, -1 do
        local e = entries[i]
        lx = lx - (#e[1] * 6.5 + 36)
        out[#out + 1] = ('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"%s/>')
            :format(lx, ly, lx + 24, ly, e[2], e[3] and ' stroke-dasharray="6,4"' or "")
        out[#out + 1] = ('<text x="%.1f" y="%.1f">%s</text>'):format(lx + 29, ly + 4, e[1])
    end
    out[#out + 1] = "</g>"
end

--- The learning curves as an SVG document (a string): one panel per
-- quantity (loss, then each metric), the training values solid, the
-- validation values dashed. opts.title: a title above the panels.
function History:svg(opts)
    opts = opts or {}
    local names = {}
    local has = self.history
    for _, k in ipairs(self:keys()) do
        if k:sub(1, 4) ~= "val_" and k ~= "lr" then
            names[#names + 1] = k
        elseif k:sub(1, 4) == "val_" and not has[k:sub(5)] then
            names[#names + 1] = k:sub(5) -- validation only
        end
    end
    local cols = math.min(2, #names)
    local rows = math.ceil(#names / cols)
    local top = opts.title and 30 or 0
    local W, H = cols * PANEL_W, rows * PANEL_H + top
    local out = {
        '<?xml version="1.0" encoding="UTF-8"?>',
        ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">'):format(W, H, W, H),
        ('<rect width="%d" height="%d" fill="white"/>'):format(W, H),
    }
    if opts.title then
        out[#out + 1] = ('<text x="%d" y="22" font-family="sans-serif" font-size="16" text-anchor="middle">%s</text>')
            :format(W // 2, esc(opts.title))
    end
    for i, name in ipairs(names) do
        local col, row = (i - 1) % cols, (i - 1) // cols
        panel(out, self, name, col * PANEL_W, top + row * PANEL_H)
    end
    out[#out + 1] = "</svg>"
    return table.concat(out, "\n") .. "\n"
end

--- Writes the learning curves to `path` as SVG (through a temporary file
-- renamed over path, so a reader never sees half a file). opts: {title}.
-- Returns path.
function History:plot(path, opts)
    if type(path) ~= "string" or path == "" then
        error(("bad argument #1 to 'plot' (file path expected, got %s)"):format(type(path)), 2)
    end
    if opts ~= nil then
        if type(opts) ~= "table" then
            error(("bad argument #2 to 'plot' (option table expected, got %s)"):format(type(opts)), 2)
        end
        for k in pairs(opts) do
            if k ~= "title" then
                error(("bad argument #2 to 'plot' (unknown option '%s' (expected one of: title))")
                      :format(tostring(k)), 2)
            end
        end
    end
    if #self.epoch == 0 then error("plot: the history holds no epoch", 2) end
    local doc = self:svg(opts)
    local tmp = path .. ".tmp"
    local f, err = io.open(tmp, "wb")
    if not f then error(("plot: cannot write %s: %s"):format(path, err), 2) end
    local ok, werr = f:write(doc)
    local closed, cerr = f:close()
    if not ok or not closed then
        os.remove(tmp)
        error(("plot: cannot write %s: %s"):format(path, tostring(werr or cerr)), 2)
    end
    local renamed, rerr = os.rename(tmp, path)
    if not renamed then
        os.remove(tmp)
        error(("plot: cannot write %s: %s"):format(path, rerr), 2)
    end
    return path
end

return M
